import * as z from 'zod/mini';
import './zod-locale';
import { adapterSchema, fallbackSchema, NON_LEAN_POLICY, parseSymbols, policySchema, routingProblems, type RouterConfig, type RoutingPolicy } from './config';
import { dropUndefined, parseJsonOrUndefined } from './objects';
import { strategyEnablementSchema, type StrategyEnablement } from './strategy-enablement';

/**
 * The runtime control values (SSM Parameter Store) as the router understands them, and the pure
 * rules that turn raw parameter text into decisions. Anything unreadable resolves to the side that
 * keeps LEAN off.
 */

/** Who wrote a kill switch value, when and why; automatic trips always fill these in. */
export interface KillSwitch {
  readonly state: 'on' | 'off';
  readonly reason?: string;
  readonly set_by?: string;
  readonly set_at?: string;
  /** When the parameter was last written (ISO), by anyone: an operator's plain `put-parameter` too. */
  readonly changed_at?: string;
  /** `parameter` when read as written; otherwise why the router assumed `on`. */
  readonly source: 'parameter' | 'unreadable' | 'missing' | 'unavailable';
}

/** The `policy` parameter (`{adapter, policy, symbols, fallback, strategy_enablement}`): absent (environment rules), a valid override, or invalid (non-LEAN). */
export type PolicyOverride =
  | { readonly kind: 'absent' }
  | { readonly kind: 'valid'; readonly value: Partial<RoutingPolicy> }
  | { readonly kind: 'invalid'; readonly problem: string };

/** The last probe result written by the health-check. */
export interface LeanHealth {
  readonly status: 'ok' | 'down' | 'unknown';
  readonly checked_at: string | null;
  readonly last_ok_at: string | null;
  readonly latency_ms: number | null;
  readonly detail?: string;
  /** First failed probe since the runner was last seen healthy (or ever): when a never-healthy runner started failing. */
  readonly down_since?: string;
}

/** One symbol's manual review parameter. `cleared` keeps its modification time as the clear time. */
export interface SymbolReview {
  readonly symbol: string;
  readonly state: 'review' | 'cleared';
  /** When the parameter was last written: the trip time, or the time an operator cleared it. */
  readonly changed_at: string;
  readonly reason?: string;
}

/** Every control value, as of one read. */
export interface ControlSnapshot {
  readonly killSwitch: KillSwitch;
  readonly policy: PolicyOverride;
  readonly leanHealth?: LeanHealth;
  readonly reviews: ReadonlyMap<string, SymbolReview>;
  /** The `strategies/<strategy_id>` parameters, by strategy_id; a strategy without one is absent. */
  readonly strategies: ReadonlyMap<string, StrategyEnablement>;
  /**
   * `fresh` from SSM, `cached` from this container's last read (within the TTL, or up to the maximum
   * age while a background refresh runs), `last_known_good` after a failed refresh, `unavailable` with no good read yet.
   */
  readonly source: 'fresh' | 'cached' | 'last_known_good' | 'unavailable';
  /** When these values were read from SSM (ISO); a cached answer keeps its read's time. Absent when none was ever read. */
  readonly readAt?: string;
}

/** What an automatic trip writes into `kill-switch`. */
export interface KillSwitchTrip {
  readonly reason: string;
  readonly set_by: string;
  readonly detail?: string;
}

/** The snapshot the router uses when SSM has never answered: kill switch on, nothing else known. */
export const UNAVAILABLE_CONTROL: ControlSnapshot = {
  killSwitch: { state: 'on', reason: 'control values unreadable and none known', source: 'unavailable' },
  policy: { kind: 'absent' },
  reviews: new Map(),
  strategies: new Map(),
  source: 'unavailable',
};

const killSwitchJson = z.object({
  state: z.enum(['on', 'off']),
  reason: z.optional(z.string()),
  set_by: z.optional(z.string()),
  set_at: z.optional(z.string()),
});

/**
 * Reads `kill-switch`: `on`/`off` (any case, blanks ignored) or JSON `{state, reason, set_by, set_at}`.
 * A missing parameter or any other value counts as `on`.
 */
export function parseKillSwitch(raw: string | undefined): KillSwitch {
  if (raw === undefined) return { state: 'on', reason: 'kill-switch parameter is missing', source: 'missing' };
  const plain = raw.trim().toLowerCase();
  if (plain === 'on' || plain === 'off') return { state: plain, source: 'parameter' };
  const parsed = killSwitchJson.safeParse(parseJsonOrUndefined(raw));
  if (parsed.success) return { ...dropUndefined(parsed.data), source: 'parameter' };
  return { state: 'on', reason: `kill-switch value ${JSON.stringify(raw.slice(0, 64))} is not on, off or the JSON form`, source: 'unreadable' };
}

/** Serializes an automatic trip in the JSON form operators can read back. */
export function killSwitchValue(trip: KillSwitchTrip, at: Date): string {
  return JSON.stringify({ state: 'on', reason: trip.reason, set_by: trip.set_by, set_at: at.toISOString(), ...(trip.detail ? { detail: trip.detail } : {}) });
}

const policyJson = z.strictObject({
  adapter: z.optional(adapterSchema),
  policy: z.optional(policySchema),
  symbols: z.optional(z.union([z.string(), z.array(z.string())])),
  fallback: z.optional(fallbackSchema),
  strategy_enablement: z.optional(strategyEnablementSchema),
});

/** Reads the `policy` parameter; fields left out keep their environment values. */
export function parsePolicyOverride(raw: string | undefined): PolicyOverride {
  if (raw === undefined || raw.trim() === '') return { kind: 'absent' };
  const json = parseJsonOrUndefined(raw);
  if (json === undefined) return { kind: 'invalid', problem: 'policy parameter is not valid JSON' };
  const parsed = policyJson.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    // Stryker disable next-line OptionalChaining,StringLiteral: zod reports at least one issue on every failure, so the fallback is never used
    const message = issue?.message ?? 'invalid';
    // Stryker disable next-line OptionalChaining,StringLiteral: zod reports at least one issue on every failure; no field of the parameter nests, so no path has the two segments the separator would show between
    const path = issue?.path.join('.');
    return { kind: 'invalid', problem: `policy parameter: ${path || 'value'}: ${message}` };
  }
  const { symbols, ...rest } = parsed.data;
  return { kind: 'valid', value: { ...dropUndefined(rest), ...(symbols === undefined ? {} : { symbols: parseSymbols(symbols) }) } };
}

const leanHealthJson = z.object({
  status: z.enum(['ok', 'down', 'unknown']),
  checked_at: z.nullable(z.string()),
  last_ok_at: z.nullable(z.string()),
  latency_ms: z.nullable(z.number()),
  detail: z.optional(z.string()),
  down_since: z.optional(z.string()),
});

/** Reads `lean-health`; anything unreadable is no health at all, which the stale gate treats as stale. */
export function parseLeanHealth(raw: string | undefined): LeanHealth | undefined {
  // Stryker disable next-line ConditionalExpression: JSON.parse of undefined throws, which parseJsonOrUndefined also turns into undefined
  const parsed = leanHealthJson.safeParse(raw === undefined ? undefined : parseJsonOrUndefined(raw));
  return parsed.success ? dropUndefined(parsed.data) : undefined;
}

/** Serializes a probe result for `lean-health`. */
export function leanHealthValue(health: LeanHealth): string {
  return JSON.stringify(health);
}

/** The value the router writes into `manual-review/<SYMBOL>` when it trips. */
export function symbolReviewValue(reason: string, at: Date, setBy: string): string {
  return JSON.stringify({ state: 'review', reason, set_by: setBy, set_at: at.toISOString() });
}

/**
 * Reads one `manual-review/<SYMBOL>` parameter. `cleared` (or `off`) ends the review; any other
 * value, including the JSON a trip writes, means the symbol is in review.
 */
export function parseSymbolReview(symbol: string, raw: string, changedAt: string): SymbolReview {
  const plain = raw.trim().toLowerCase();
  if (plain === 'cleared' || plain === 'off') return { symbol, state: 'cleared', changed_at: changedAt };
  const json = parseJsonOrUndefined(raw);
  const reason = typeof json === 'object' && json !== null && 'reason' in json && typeof json.reason === 'string' ? json.reason : undefined;
  return { symbol, state: 'review', changed_at: changedAt, ...(reason === undefined ? {} : { reason }) };
}

/** The symbols currently in manual review. */
export function symbolsInReview(snapshot: Pick<ControlSnapshot, 'reviews'>): string[] {
  return [...snapshot.reviews.values()].filter((review) => review.state === 'review').map((review) => review.symbol);
}

/** The routing policy in force: the environment, overridden by the `policy` parameter. */
export interface EffectiveRouting {
  readonly routing: RoutingPolicy;
  readonly misconfiguration: readonly string[];
  readonly source: 'environment' | 'parameter';
}

/**
 * Merges the `policy` parameter over the environment. Settings the environment got wrong (a bad
 * timeout, say) keep LEAN off whatever the parameter says; an invalid parameter does too.
 */
export function effectiveRouting(config: RouterConfig, override: PolicyOverride): EffectiveRouting {
  if (override.kind === 'absent') return { routing: config.routing, misconfiguration: config.misconfiguration, source: 'environment' };
  if (override.kind === 'invalid') {
    return { routing: NON_LEAN_POLICY, misconfiguration: [...config.settingsProblems, override.problem], source: 'parameter' };
  }
  const merged: RoutingPolicy = { ...config.declaredRouting, ...override.value };
  const problems = [...config.settingsProblems, ...routingProblems(merged, config.leanRunnerUrl)];
  return { routing: problems.length === 0 ? merged : NON_LEAN_POLICY, misconfiguration: problems, source: 'parameter' };
}
