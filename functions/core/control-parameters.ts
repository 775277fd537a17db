/**
 * Names of the runtime control values in SSM Parameter Store, relative to the stage prefix
 * (`/lean-router/<stage>/`). The CDK stack, the route and health-check functions, the CLI and
 * the local stack all build names from here.
 */
export const CONTROL_PARAMETER = {
  /** `on`/`off`, or JSON `{state, reason, set_by, set_at}`; unreadable counts as `on`. */
  killSwitch: 'kill-switch',
  /** JSON `{adapter, policy, symbols, fallback, strategy_enablement}` overriding the environment. */
  policy: 'policy',
  /** JSON written by the health-check: `{status, checked_at, last_ok_at, latency_ms, detail?, down_since?}`. */
  leanHealth: 'lean-health',
  /** A folder: one parameter per symbol in manual review, `manual-review/<SYMBOL>`. */
  manualReview: 'manual-review',
  /** A folder: one JSON `{state, reason, set_by, set_at}` per strategy, `strategies/<strategy_id>` (see {@link strategyParameterName}). */
  strategies: 'strategies',
  /** A folder: the parity run's last report per strategy, compact JSON, `parity/<strategy_id>` (see functions/core/parity-run.ts). */
  parity: 'parity',
  /** SecureString JSON `{key_id, secret_key}`, created out of band. */
  alpacaCredentials: 'alpaca-credentials',
  /** SecureString, the LEAN runner's bearer token as plain text, created out of band. */
  leanRunnerToken: 'lean-runner-token',
} as const;

/** One control value's name relative to the prefix. */
export type ControlParameterKey = (typeof CONTROL_PARAMETER)[keyof typeof CONTROL_PARAMETER];

/** The prefix every control value of a stage lives under, with its trailing slash. */
export function controlParameterPrefix(stage: string): string {
  return `/lean-router/${stage}/`;
}

/** The full name of one control value under a prefix such as `/lean-router/paper/`. */
export function controlParameterName(prefix: string, key: ControlParameterKey): string {
  return `${prefix.replace(/\/+$/, '')}/${key}`;
}

/**
 * The parameter that holds one symbol's manual review. A `/` in a symbol (BTC/USD) would open a
 * sub-folder, so it is written `_`, which symbols never contain.
 */
export function manualReviewParameterName(prefix: string, symbol: string): string {
  return `${controlParameterName(prefix, CONTROL_PARAMETER.manualReview)}/${symbol.replaceAll('/', '_')}`;
}

/**
 * The symbol a `manual-review/<name>` parameter is about, upper-cased as orders' symbols are: an
 * operator's `manual-review/aapl` holds AAPL's orders back too.
 */
export function symbolOfReviewParameter(parameterName: string): string {
  return parameterName.slice(parameterName.lastIndexOf('/') + 1).replaceAll('_', '/').toUpperCase();
}

/** Strategy ids written as they are: the characters SSM parameter names allow, in one path segment. */
const PLAIN_STRATEGY_ID = /^[A-Za-z0-9_.-]+$/;
/** Marks a strategy id written as base64url; a plain id that starts with it is written so too, so the names never collide. */
const ENCODED_STRATEGY_ID = '_b64_';

/**
 * The last segment of a strategy's parameter name. An id of letters, digits, `_`, `.` and `-` is
 * the segment itself, so operators type it as they know it; any other id (a `/`, a space, non-ASCII)
 * is written `_b64_` + its UTF-8 in base64url, whose characters SSM names allow. Unlike
 * manual-review's `/` → `_`, this is one-to-one: two strategies never share a parameter, so enabling
 * one can never enable another.
 */
export function strategyParameterSegment(strategyId: string): string {
  if (PLAIN_STRATEGY_ID.test(strategyId) && !strategyId.startsWith(ENCODED_STRATEGY_ID)) return strategyId;
  return `${ENCODED_STRATEGY_ID}${Buffer.from(strategyId, 'utf8').toString('base64url')}`;
}

/** The parameter that holds one strategy's enablement, `strategies/<segment>`. */
export function strategyParameterName(prefix: string, strategyId: string): string {
  return `${controlParameterName(prefix, CONTROL_PARAMETER.strategies)}/${strategyParameterSegment(strategyId)}`;
}

/**
 * The strategy a `strategies/<segment>` parameter is about (the inverse of
 * {@link strategyParameterSegment}); undefined for a name that function never writes (a hand-made
 * `_b64_` segment that is not the canonical form of its id), which then enables nothing.
 */
export function strategyOfParameter(parameterName: string): string | undefined {
  const segment = parameterName.slice(parameterName.lastIndexOf('/') + 1);
  const strategyId = segment.startsWith(ENCODED_STRATEGY_ID) ? Buffer.from(segment.slice(ENCODED_STRATEGY_ID.length), 'base64url').toString('utf8') : segment;
  return strategyId !== '' && strategyParameterSegment(strategyId) === segment ? strategyId : undefined;
}
