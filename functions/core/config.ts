import { z } from 'zod';

/** The routing policy: which adapter orders prefer, for which symbols, and what to fall back to. */
export interface RoutingPolicy {
  readonly adapter: 'lean' | 'alpaca';
  readonly policy: 'all' | 'allowlist';
  readonly symbols: ReadonlySet<string>;
  readonly fallback: 'alpaca' | 'none';
}

/** Timeouts of every broker call, in milliseconds. */
export interface Timeouts {
  readonly leanConnectMs: number;
  readonly leanSubmitMs: number;
  readonly leanLookupMs: number;
  readonly alpacaConnectMs: number;
  readonly alpacaSubmitMs: number;
  readonly alpacaLookupMs: number;
}

/** Everything the route function needs from its deploy-time environment. */
export interface RouterConfig {
  readonly routing: RoutingPolicy;
  /**
   * Why LEAN is disabled by configuration; empty when the configuration is sound.
   * Never thrown: a misconfigured router keeps serving orders, away from LEAN.
   */
  readonly misconfiguration: readonly string[];
  readonly leanRunnerUrl?: string;
  readonly timeouts: Timeouts;
  /** Relative tolerance between the expected notional and LEAN's acknowledgement (0.01 = 1%). */
  readonly notionalTolerance: number;
}

/** The safe policy: every order straight to Alpaca. */
export const NON_LEAN_POLICY: RoutingPolicy = {
  adapter: 'alpaca',
  policy: 'allowlist',
  symbols: new Set(),
  fallback: 'alpaca',
};

const DEFAULT_TIMEOUTS: Timeouts = {
  leanConnectMs: 500,
  leanSubmitMs: 3_000,
  leanLookupMs: 1_000,
  alpacaConnectMs: 1_000,
  alpacaSubmitMs: 5_000,
  alpacaLookupMs: 1_500,
};

const TIMEOUT_VARIABLES: Record<keyof Timeouts, string> = {
  leanConnectMs: 'TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS',
  leanSubmitMs: 'TRADING_LEAN_RUNNER_TIMEOUT_MS',
  leanLookupMs: 'TRADING_LEAN_RUNNER_LOOKUP_TIMEOUT_MS',
  alpacaConnectMs: 'TRADING_ALPACA_CONNECT_TIMEOUT_MS',
  alpacaSubmitMs: 'TRADING_ALPACA_TIMEOUT_MS',
  alpacaLookupMs: 'TRADING_ALPACA_LOOKUP_TIMEOUT_MS',
};

// The sum of the worst-case path (LEAN submit, two lookups, Alpaca submit, one lookup) must stay
// well inside API Gateway's 29 s, so no single timeout may exceed this.
const MAX_TIMEOUT_MS = 8_000;

/** Normalizes a symbol list: upper case, blanks and empties dropped. */
export function parseSymbols(raw: string | readonly string[] | undefined): Set<string> {
  const items = typeof raw === 'string' ? raw.split(',') : (raw ?? []);
  return new Set(items.map((symbol) => symbol.trim().toUpperCase()).filter((symbol) => symbol !== ''));
}

const adapterSchema = z.enum(['lean', 'alpaca']);
const policySchema = z.enum(['all', 'allowlist']);
const fallbackSchema = z.enum(['alpaca', 'none']);
const runnerUrlSchema = z.url({ protocol: /^https?$/, hostname: z.regexes.hostname });
const timeoutSchema = z.coerce.number().int().min(50).max(MAX_TIMEOUT_MS);
const toleranceSchema = z.coerce.number().min(0).max(0.5);

type Env = Readonly<Record<string, string | undefined>>;

function readValue<T>(
  env: Env,
  name: string,
  schema: z.ZodType<T>,
  fallback: T,
  problems: string[],
): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  problems.push(`${name}=${JSON.stringify(raw)} is invalid (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  return fallback;
}

/**
 * Reads and validates the deploy-time `TRADING_*` environment once, at init.
 * Any invalid value falls back to its default and disables LEAN with the reason recorded.
 */
export function loadRouterConfig(env: Env): RouterConfig {
  const problems: string[] = [];
  const adapter = readValue(env, 'TRADING_EXECUTION_ADAPTER', adapterSchema, 'alpaca', problems);
  const policy = readValue(env, 'TRADING_EXECUTION_ADAPTER_POLICY', policySchema, 'allowlist', problems);
  const fallback = readValue(env, 'TRADING_EXECUTION_FALLBACK_ADAPTER', fallbackSchema, 'alpaca', problems);
  const symbols = parseSymbols(env.TRADING_EXECUTION_ADAPTER_SYMBOLS);
  const leanRunnerUrl = readValue<string | undefined>(env, 'TRADING_LEAN_RUNNER_URL', runnerUrlSchema, undefined, problems);

  const timeouts = Object.fromEntries(
    (Object.keys(DEFAULT_TIMEOUTS) as (keyof Timeouts)[]).map((key) => [
      key,
      readValue(env, TIMEOUT_VARIABLES[key], timeoutSchema, DEFAULT_TIMEOUTS[key], problems),
    ]),
  ) as unknown as Timeouts;
  if (timeouts.leanConnectMs >= timeouts.leanSubmitMs) {
    problems.push('TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS must be below TRADING_LEAN_RUNNER_TIMEOUT_MS');
  }
  const notionalTolerance = readValue(env, 'TRADING_NOTIONAL_TOLERANCE', toleranceSchema, 0.01, problems);

  const routing: RoutingPolicy = { adapter, policy, symbols, fallback };
  problems.push(...routingProblems(routing, leanRunnerUrl));
  return {
    routing: problems.length === 0 ? routing : NON_LEAN_POLICY,
    misconfiguration: problems,
    ...(leanRunnerUrl === undefined ? {} : { leanRunnerUrl }),
    timeouts,
    notionalTolerance,
  };
}

/** Problems that make a well-typed policy unsafe to route to LEAN. */
export function routingProblems(routing: RoutingPolicy, leanRunnerUrl: string | undefined): string[] {
  if (routing.adapter !== 'lean') return [];
  const problems: string[] = [];
  if (leanRunnerUrl === undefined) problems.push('TRADING_LEAN_RUNNER_URL is required when the adapter is lean');
  if (routing.policy === 'allowlist' && routing.symbols.size === 0) {
    problems.push('TRADING_EXECUTION_ADAPTER_SYMBOLS is empty while the policy is allowlist');
  }
  return problems;
}
