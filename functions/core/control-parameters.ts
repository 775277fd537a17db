/**
 * Names of the runtime control values in SSM Parameter Store, relative to the stage prefix
 * (`/lean-router/<stage>/`). The CDK stack, the route and health-check functions, the CLI and
 * the local stack all build names from here.
 */
export const CONTROL_PARAMETER = {
  /** `on`/`off`, or JSON `{state, reason, set_by, set_at}`; unreadable counts as `on`. */
  killSwitch: 'kill-switch',
  /** JSON `{adapter, policy, symbols, fallback}` overriding the environment. */
  policy: 'policy',
  /** JSON written by the health-check: `{status, checked_at, last_ok_at, latency_ms, detail?, down_since?}`. */
  leanHealth: 'lean-health',
  /** A folder: one parameter per symbol in manual review, `manual-review/<SYMBOL>`. */
  manualReview: 'manual-review',
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

/** The symbol a `manual-review/<name>` parameter is about. */
export function symbolOfReviewParameter(parameterName: string): string {
  return parameterName.slice(parameterName.lastIndexOf('/') + 1).replaceAll('_', '/');
}
