import * as z from 'zod/mini';
import './zod-locale';
import { strategyEnablementSchema, type StrategyEnablementMode } from './strategy-enablement';

/** The routing policy: which adapter orders prefer, for which symbols, and what to fall back to. */
export interface RoutingPolicy {
  readonly adapter: 'lean' | 'alpaca';
  readonly policy: 'all' | 'allowlist';
  readonly symbols: ReadonlySet<string>;
  readonly fallback: 'alpaca' | 'none';
  /**
   * `required`: an order whose strategy is not `enabled` (SSM `strategies/<strategy_id>`) is gated
   * `strategy_not_enabled`; `off` (the default): strategies are not consulted.
   */
  readonly strategy_enablement: StrategyEnablementMode;
}

/**
 * Timeouts of every broker and AWS call, in milliseconds. An AWS timeout bounds one operation with
 * all of the SDK's retries, so each value here is the most that call can take.
 */
export interface Timeouts {
  readonly leanConnectMs: number;
  readonly leanSubmitMs: number;
  readonly leanLookupMs: number;
  readonly alpacaConnectMs: number;
  readonly alpacaSubmitMs: number;
  readonly alpacaLookupMs: number;
  /** One DynamoDB operation, retries included (`TRADING_DYNAMODB_TIMEOUT_MS`). */
  readonly dynamoDbMs: number;
  /** One SSM operation, retries included (`TRADING_SSM_TIMEOUT_MS`). */
  readonly ssmMs: number;
}

/** How long one invocation of the route function may run, and what it keeps for its final write. */
export interface RouteBudget {
  /** The route function's timeout (`TRADING_ROUTE_TIMEOUT_MS`); the deadline when no Lambda context says otherwise. */
  readonly routeTimeoutMs: number;
  /** Kept back from the deadline for the final write of the row (`TRADING_FINALIZE_RESERVE_MS`). */
  readonly finalizeReserveMs: number;
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
  readonly budget: RouteBudget;
  /** Relative tolerance between the expected notional and LEAN's acknowledgement (0.01 = 1%). */
  readonly notionalTolerance: number;
  /** The routing values as the environment declares them, before safety rules; the `policy` parameter overrides these. */
  readonly declaredRouting: RoutingPolicy;
  /** Problems with non-routing settings (timeouts, thresholds, URL): these keep LEAN off whatever the runtime policy says. */
  readonly settingsProblems: readonly string[];
  readonly governance: Governance;
}

/** Thresholds of the gates and trips; every one has a safe default. */
export interface Governance {
  /** How long one read of the SSM control values is trusted (`TRADING_CONTROL_CACHE_TTL_MS`). */
  readonly controlCacheTtlMs: number;
  /**
   * The oldest control values an order may use (`TRADING_CONTROL_MAX_AGE_MS`, at least the TTL):
   * between the TTL and this age an order takes the cached values and a background read refreshes
   * them; past it the order waits for the read. An operator's `kill` takes effect within this age at worst.
   */
  readonly controlMaxAgeMs: number;
  /** LEAN is gated when the last healthy probe is older than this (`TRADING_RUNNER_HEALTH_STALE_MS`). */
  readonly runnerHealthStaleMs: number;
  /** Consecutive LEAN failures that open this container's breaker (`TRADING_BREAKER_FAILURE_THRESHOLD`). */
  readonly breakerFailureThreshold: number;
  /** How long an open breaker skips LEAN before one trial (`TRADING_BREAKER_COOLDOWN_MS`). */
  readonly breakerCooldownMs: number;
  /** Fallbacks of one symbol within the window that put it in manual review (`TRADING_MANUAL_REVIEW_FALLBACKS`). */
  readonly manualReviewFallbacks: number;
  /** `TRADING_MANUAL_REVIEW_WINDOW_MS`. */
  readonly manualReviewWindowMs: number;
}

/** The governance values read on their own; the control values' maximum age is read against the TTL. */
type IndependentGovernance = Omit<Governance, 'controlMaxAgeMs'>;

const INDEPENDENT_GOVERNANCE_DEFAULTS: IndependentGovernance = {
  controlCacheTtlMs: 5_000,
  runnerHealthStaleMs: 180_000,
  breakerFailureThreshold: 3,
  breakerCooldownMs: 30_000,
  manualReviewFallbacks: 3,
  manualReviewWindowMs: 900_000,
};

/** The control values' maximum age when `TRADING_CONTROL_MAX_AGE_MS` is not set: three TTLs, so a slow or failed background read still leaves room before orders wait. */
export function defaultControlMaxAgeMs(controlCacheTtlMs: number): number {
  return 3 * controlCacheTtlMs;
}

/** The governance defaults, as docs/configuration.md lists them. */
export const DEFAULT_GOVERNANCE: Governance = {
  ...INDEPENDENT_GOVERNANCE_DEFAULTS,
  controlMaxAgeMs: defaultControlMaxAgeMs(INDEPENDENT_GOVERNANCE_DEFAULTS.controlCacheTtlMs),
};

/** The variable bounding how old the control values an order uses may be. */
const CONTROL_MAX_AGE_VARIABLE = { name: 'TRADING_CONTROL_MAX_AGE_MS', min: 100, max: 180_000 } as const;

const GOVERNANCE_VARIABLES: Record<keyof IndependentGovernance, { name: string; min: number; max: number }> = {
  controlCacheTtlMs: { name: 'TRADING_CONTROL_CACHE_TTL_MS', min: 100, max: 60_000 },
  runnerHealthStaleMs: { name: 'TRADING_RUNNER_HEALTH_STALE_MS', min: 1_000, max: 3_600_000 },
  breakerFailureThreshold: { name: 'TRADING_BREAKER_FAILURE_THRESHOLD', min: 1, max: 100 },
  breakerCooldownMs: { name: 'TRADING_BREAKER_COOLDOWN_MS', min: 100, max: 3_600_000 },
  manualReviewFallbacks: { name: 'TRADING_MANUAL_REVIEW_FALLBACKS', min: 1, max: 1_000 },
  manualReviewWindowMs: { name: 'TRADING_MANUAL_REVIEW_WINDOW_MS', min: 1_000, max: 86_400_000 },
};

/** The safe policy: every order straight to Alpaca. */
export const NON_LEAN_POLICY: RoutingPolicy = {
  adapter: 'alpaca',
  policy: 'allowlist',
  symbols: new Set(),
  fallback: 'alpaca',
  // No order reaches the gates under this policy (it never expects LEAN), so nothing is left to require.
  strategy_enablement: 'off',
};

const DEFAULT_TIMEOUTS: Timeouts = {
  leanConnectMs: 500,
  leanSubmitMs: 3_000,
  leanLookupMs: 1_000,
  alpacaConnectMs: 1_000,
  alpacaSubmitMs: 5_000,
  alpacaLookupMs: 1_500,
  dynamoDbMs: 1_500,
  ssmMs: 1_500,
};

// No single call may take a large share of the function's time.
const MAX_TIMEOUT_MS = 8_000;

/** API Gateway's integration timeout: an answer later than this never reaches the caller. */
export const API_GATEWAY_TIMEOUT_MS = 29_000;
/** Kept back from API Gateway's limit for a cold start's init, which runs before the function's own timer. */
const COLD_START_ALLOWANCE_MS = 3_000;
/** The longest route function timeout whose answer still reaches the caller after a cold start. */
export const MAX_ROUTE_TIMEOUT_MS = API_GATEWAY_TIMEOUT_MS - COLD_START_ALLOWANCE_MS;

/** The route budget's defaults: a 20 s function keeping 2 s for the final write. */
export const DEFAULT_BUDGET: RouteBudget = { routeTimeoutMs: 20_000, finalizeReserveMs: 2_000 };
const BUDGET_VARIABLES: Record<keyof RouteBudget, { name: string; min: number; max: number }> = {
  routeTimeoutMs: { name: 'TRADING_ROUTE_TIMEOUT_MS', min: 1_000, max: MAX_ROUTE_TIMEOUT_MS },
  finalizeReserveMs: { name: 'TRADING_FINALIZE_RESERVE_MS', min: 100, max: 10_000 },
};

const timeoutVariable = (name: string) => ({ name, min: 50, max: MAX_TIMEOUT_MS });
const TIMEOUT_VARIABLES: Record<keyof Timeouts, { name: string; min: number; max: number }> = {
  leanConnectMs: timeoutVariable('TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS'),
  leanSubmitMs: timeoutVariable('TRADING_LEAN_RUNNER_TIMEOUT_MS'),
  leanLookupMs: timeoutVariable('TRADING_LEAN_RUNNER_LOOKUP_TIMEOUT_MS'),
  alpacaConnectMs: timeoutVariable('TRADING_ALPACA_CONNECT_TIMEOUT_MS'),
  alpacaSubmitMs: timeoutVariable('TRADING_ALPACA_TIMEOUT_MS'),
  alpacaLookupMs: timeoutVariable('TRADING_ALPACA_LOOKUP_TIMEOUT_MS'),
  dynamoDbMs: timeoutVariable('TRADING_DYNAMODB_TIMEOUT_MS'),
  ssmMs: timeoutVariable('TRADING_SSM_TIMEOUT_MS'),
};

/**
 * Every call the slowest order can make before its final write, each at its full timeout: the
 * control values and the Alpaca keys (both cached, but a cold container reads them), the claim,
 * one LEAN submit, two lookups, the fallback intent, one Alpaca submit and one lookup.
 */
export function worstCaseRoutePath(timeouts: Timeouts): { readonly step: string; readonly ms: number }[] {
  return [
    { step: 'control values (SSM)', ms: timeouts.ssmMs },
    { step: 'Alpaca keys (SSM)', ms: timeouts.ssmMs },
    { step: 'claim (DynamoDB)', ms: timeouts.dynamoDbMs },
    { step: 'LEAN submit', ms: timeouts.leanSubmitMs },
    { step: 'LEAN lookup', ms: timeouts.leanLookupMs },
    { step: 'Alpaca lookup', ms: timeouts.alpacaLookupMs },
    { step: 'fallback intent (DynamoDB)', ms: timeouts.dynamoDbMs },
    { step: 'Alpaca submit', ms: timeouts.alpacaSubmitMs },
    { step: 'Alpaca lookup', ms: timeouts.alpacaLookupMs },
  ];
}

/**
 * Why these timeouts cannot fit one invocation: the worst-case path must end before the final
 * write's reserve, and the reserve must hold one DynamoDB write. Empty when they fit.
 */
export function budgetProblems(timeouts: Timeouts, budget: RouteBudget): string[] {
  const problems: string[] = [];
  const path = worstCaseRoutePath(timeouts);
  const worstMs = path.reduce((sum, step) => sum + step.ms, 0);
  const availableMs = budget.routeTimeoutMs - budget.finalizeReserveMs;
  if (worstMs > availableMs) {
    problems.push(
      `the slowest order path takes ${worstMs} ms (${path.map((step) => `${step.step} ${step.ms}`).join(' + ')}), ` +
        `more than TRADING_ROUTE_TIMEOUT_MS ${budget.routeTimeoutMs} less TRADING_FINALIZE_RESERVE_MS ${budget.finalizeReserveMs}`,
    );
  }
  if (budget.finalizeReserveMs < timeouts.dynamoDbMs) {
    problems.push(`TRADING_FINALIZE_RESERVE_MS ${budget.finalizeReserveMs} cannot hold one DynamoDB write (TRADING_DYNAMODB_TIMEOUT_MS ${timeouts.dynamoDbMs})`);
  }
  return problems;
}

/**
 * Every timing variable the functions read (call timeouts, the route budget, the health-check's
 * probe, reconciliation's delay): the ones a deploy may set, and that the synth checks with the functions' own loaders.
 */
export function timingVariableNames(): string[] {
  return [
    ...Object.values(TIMEOUT_VARIABLES).map((variable) => variable.name),
    ...Object.values(BUDGET_VARIABLES).map((variable) => variable.name),
    HEALTH_CHECK_VARIABLES.probeTimeoutMs.name,
    RECONCILE_VARIABLES.reconcileAfterMs.name,
  ];
}

/** Normalizes a symbol list: upper case, blanks and empties dropped. */
export function parseSymbols(raw: string | readonly string[] | undefined): Set<string> {
  const items = typeof raw === 'string' ? raw.split(',') : (raw ?? []);
  return new Set(items.map((symbol) => symbol.trim().toUpperCase()).filter((symbol) => symbol !== ''));
}

/** The routing values, as the environment and the `policy` parameter both spell them. */
export const adapterSchema = z.enum(['lean', 'alpaca']);
export const policySchema = z.enum(['all', 'allowlist']);
export const fallbackSchema = z.enum(['alpaca', 'none']);
const runnerUrlSchema = z.url({ protocol: /^https?$/, hostname: z.regexes.hostname });
const toleranceSchema = z.coerce.number().check(z.minimum(0), z.maximum(0.5));

/** An environment: `process.env` or a test's plain object. */
export type Env = Readonly<Record<string, string | undefined>>;

function readValue<T>(
  env: Env,
  name: string,
  schema: z.ZodMiniType<T>,
  fallback: T,
  problems: string[],
): T {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  // Stryker disable next-line OptionalChaining,StringLiteral: zod reports at least one issue on every failure, so the fallback is never used
  const why = parsed.error.issues[0]?.message ?? 'invalid';
  problems.push(`${name}=${JSON.stringify(raw)} is invalid (${why})`);
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
  // Default off, so a stage that never set it routes as before strategies existed.
  const strategyEnablement = readValue(env, 'TRADING_STRATEGY_ENABLEMENT', strategyEnablementSchema, 'off', problems);
  const leanRunnerUrl = refuseOnLive(env, readValue<string | undefined>(env, 'TRADING_LEAN_RUNNER_URL', runnerUrlSchema, undefined, problems), problems);

  const timeouts = readIntegers(env, DEFAULT_TIMEOUTS, TIMEOUT_VARIABLES, problems);
  if (timeouts.leanConnectMs >= timeouts.leanSubmitMs) {
    problems.push('TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS must be below TRADING_LEAN_RUNNER_TIMEOUT_MS');
  }
  const budget = readRouteBudget(env, problems);
  problems.push(...budgetProblems(timeouts, budget));
  const notionalTolerance = readValue(env, 'TRADING_NOTIONAL_TOLERANCE', toleranceSchema, 0.01, problems);
  const governance = readGovernance(env, problems);

  const settingsProblems = [...problems];
  const declaredRouting: RoutingPolicy = { adapter, policy, symbols, fallback, strategy_enablement: strategyEnablement };
  problems.push(...routingProblems(declaredRouting, leanRunnerUrl));
  return {
    routing: problems.length === 0 ? declaredRouting : NON_LEAN_POLICY,
    misconfiguration: problems,
    ...(leanRunnerUrl === undefined ? {} : { leanRunnerUrl }),
    timeouts,
    budget,
    notionalTolerance,
    declaredRouting,
    settingsProblems,
    governance,
  };
}

/** The variable holding the function's stage (`paper`, `live`); the stack sets it, as the metrics' `stage` dimension. */
export const STAGE_VARIABLE = 'ROUTER_STAGE';
/** The variable naming the runner token's SecureString (its name, never its value). */
export const LEAN_RUNNER_TOKEN_VARIABLE = 'LEAN_RUNNER_TOKEN_PARAMETER';

/**
 * Why `live` refuses a runner URL: it must be https, carry no credentials (user:password@), and be
 * called with a token from a SecureString. Empty elsewhere and without a URL. The messages never
 * quote the URL, which may hold a password.
 */
function liveRunnerProblems(env: Env, leanRunnerUrl: string | undefined): string[] {
  if (env[STAGE_VARIABLE]?.trim() !== 'live' || leanRunnerUrl === undefined) return [];
  const url = new URL(leanRunnerUrl);
  const problems: string[] = [];
  if (url.protocol !== 'https:') problems.push('TRADING_LEAN_RUNNER_URL must be https on live: the runner token and the orders never travel in clear');
  if (url.username !== '' || url.password !== '') {
    problems.push(`TRADING_LEAN_RUNNER_URL must not carry credentials (user:password@) on live: the runner is authenticated with the token named by ${LEAN_RUNNER_TOKEN_VARIABLE}`);
  }
  if ((env[LEAN_RUNNER_TOKEN_VARIABLE]?.trim() ?? '') === '') problems.push(`${LEAN_RUNNER_TOKEN_VARIABLE} is required on live when TRADING_LEAN_RUNNER_URL is set`);
  return problems;
}

/** The runner URL, or none when `live` refuses it (so nothing is ever sent to it); the refusals go to `problems`. */
function refuseOnLive(env: Env, leanRunnerUrl: string | undefined, problems: string[]): string | undefined {
  const refused = liveRunnerProblems(env, leanRunnerUrl);
  problems.push(...refused);
  return refused.length === 0 ? leanRunnerUrl : undefined;
}

/** Reads a group of bounded integer settings; an invalid one keeps its default and is reported. */
export function readIntegers<T extends { readonly [K in keyof T]: number }>(
  env: Env,
  defaults: T,
  variables: Record<keyof T, { name: string; min: number; max: number }>,
  problems: string[],
): T {
  const result = {} as Record<keyof T, number>;
  for (const key of Object.keys(defaults) as (keyof T)[]) {
    const { name, min, max } = variables[key];
    result[key] = readValue(env, name, z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max)), defaults[key], problems);
  }
  return result as T;
}

/**
 * The governance values; the control values' maximum age defaults to three TTLs and may not be
 * below the TTL (a value below it keeps that default and is reported).
 */
function readGovernance(env: Env, problems: string[]): Governance {
  const independent = readIntegers(env, INDEPENDENT_GOVERNANCE_DEFAULTS, GOVERNANCE_VARIABLES, problems);
  const ttlMs = independent.controlCacheTtlMs;
  const derived = defaultControlMaxAgeMs(ttlMs);
  const { name, min, max } = CONTROL_MAX_AGE_VARIABLE;
  const maxAgeMs = readValue(env, name, z.coerce.number().check(z.int(), z.minimum(min), z.maximum(max)), derived, problems);
  if (maxAgeMs >= ttlMs) return { ...independent, controlMaxAgeMs: maxAgeMs };
  problems.push(`${name}=${maxAgeMs} is below TRADING_CONTROL_CACHE_TTL_MS=${ttlMs}: the control values cannot be used longer than they are trusted`);
  return { ...independent, controlMaxAgeMs: derived };
}

/** The route function's timeout and final-write reserve; reconciliation reads the timeout too. */
function readRouteBudget(env: Env, problems: string[]): RouteBudget {
  return readIntegers(env, DEFAULT_BUDGET, BUDGET_VARIABLES, problems);
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

/** The health-check's own thresholds, on top of the shared governance values. */
export interface HealthCheckConfig {
  readonly probeTimeoutMs: number;
  readonly errorRateWindowMs: number;
  readonly errorRateMinVolume: number;
  readonly errorRateThreshold: number;
  /** Invalid values, each replaced by its default; logged, never thrown: the safety check must run. */
  readonly problems: readonly string[];
}

const HEALTH_CHECK_DEFAULTS = {
  probeTimeoutMs: 2_000,
  errorRateWindowMs: 300_000,
  errorRateMinVolume: 10,
};

const HEALTH_CHECK_VARIABLES: Record<keyof typeof HEALTH_CHECK_DEFAULTS, { name: string; min: number; max: number }> = {
  probeTimeoutMs: { name: 'TRADING_HEALTH_PROBE_TIMEOUT_MS', min: 50, max: 10_000 },
  errorRateWindowMs: { name: 'TRADING_LEAN_ERROR_RATE_WINDOW_MS', min: 10_000, max: 3_600_000 },
  errorRateMinVolume: { name: 'TRADING_LEAN_ERROR_RATE_MIN_VOLUME', min: 1, max: 100_000 },
};

/** Reads the health-check's `TRADING_*` thresholds (window, minimum volume, error-rate threshold). */
export function loadHealthCheckConfig(env: Env): HealthCheckConfig {
  const problems: string[] = [];
  const integers = readIntegers(env, HEALTH_CHECK_DEFAULTS, HEALTH_CHECK_VARIABLES, problems);
  // Below 1: the trip fires above the threshold, and no share of failures is above all of them.
  const errorRateThreshold = readValue(env, 'TRADING_LEAN_ERROR_RATE_THRESHOLD', z.coerce.number().check(z.gt(0), z.lt(1)), 0.25, problems);
  return { ...integers, errorRateThreshold, problems };
}

/** When the lifecycle sync reconciles a row left `pending` or `unknown`, and how many per run. */
export interface ReconcileConfig {
  readonly reconcileAfterMs: number;
  readonly reconcileMaxPerRun: number;
}

/** Reconciliation's defaults: rows older than a minute, 20 a run. */
export const RECONCILE_DEFAULTS: ReconcileConfig = {
  reconcileAfterMs: 60_000,
  reconcileMaxPerRun: 20,
};

const RECONCILE_VARIABLES: Record<keyof ReconcileConfig, { name: string; min: number; max: number }> = {
  reconcileAfterMs: { name: 'TRADING_RECONCILE_AFTER_MS', min: 2_000, max: 86_400_000 },
  reconcileMaxPerRun: { name: 'TRADING_RECONCILE_MAX_PER_RUN', min: 0, max: 500 },
};

/**
 * Reads `TRADING_RECONCILE_AFTER_MS` and `TRADING_RECONCILE_MAX_PER_RUN` (the lifecycle sync's);
 * an invalid value is added to `problems` and its default used.
 */
export function loadReconcileConfig(env: Env, problems: string[]): ReconcileConfig {
  const { reconcileAfterMs, reconcileMaxPerRun } = readIntegers(env, RECONCILE_DEFAULTS, RECONCILE_VARIABLES, problems);
  // A row younger than a live invocation may still be finalized by it: reconciling it then could
  // mark `failed` an order its route invocation is about to record as accepted.
  // The route function reports its own budget's problems; this run only needs the timeout.
  // Stryker disable next-line ArrayDeclaration: the problems written into this array are discarded
  const { routeTimeoutMs } = readRouteBudget(env, []);
  if (reconcileAfterMs <= routeTimeoutMs) {
    problems.push(
      `TRADING_RECONCILE_AFTER_MS=${reconcileAfterMs} must exceed the route function's timeout (TRADING_ROUTE_TIMEOUT_MS ${routeTimeoutMs}); using ${RECONCILE_DEFAULTS.reconcileAfterMs}`,
    );
    return { reconcileAfterMs: RECONCILE_DEFAULTS.reconcileAfterMs, reconcileMaxPerRun };
  }
  return { reconcileAfterMs, reconcileMaxPerRun };
}
