import { ALPACA_LIVE_URL, ALPACA_PAPER_URL } from '../functions/core/alpaca-endpoints';
import type { Infrastructure } from '../functions/adapters/infrastructure';
import { DEFAULT_BUDGET, loadRouterConfig, STAGE_VARIABLE } from '../functions/core/config';
import { CONTROL_PARAMETER, controlParameterName } from '../functions/core/control-parameters';
import type { RouterSettings, Stage } from './router-settings';

const ROUTE_TIMEOUT_VARIABLE = 'TRADING_ROUTE_TIMEOUT_MS';
const DEFAULT_ROUTE_TIMEOUT_MS = DEFAULT_BUDGET.routeTimeoutMs;

/** The Alpaca endpoint of each stage: paper trades on paper, live on live, never crossed. */
const ALPACA_BASE_URL_BY_STAGE: Readonly<Record<Stage, string>> = {
  paper: ALPACA_PAPER_URL,
  live: ALPACA_LIVE_URL,
};

/** Where the functions find their infrastructure, by name. */
export interface RouterInfrastructureNames {
  readonly tableName: string;
  readonly controlParameterPrefix: string;
  readonly alpacaCredentialsParameter: string;
}

/**
 * The deploy-time environment shared by the route and health-check functions: infrastructure names
 * (exactly the variables functions/adapters/infrastructure.ts parses) and the `TRADING_*` routing values.
 */
export function routerEnvironment(settings: RouterSettings, names: RouterInfrastructureNames): Record<string, string> {
  const infrastructure = {
    PROVENANCE_TABLE_NAME: names.tableName,
    CONTROL_PARAMETER_PREFIX: names.controlParameterPrefix,
    ALPACA_BASE_URL: ALPACA_BASE_URL_BY_STAGE[settings.stage],
    ALPACA_CREDENTIALS_PARAMETER: names.alpacaCredentialsParameter,
    ...leanRunnerTokenEnvironment(settings, names.controlParameterPrefix),
  } satisfies Record<Exclude<keyof Infrastructure, 'LEAN_RUNNER_TOKEN_PARAMETER'>, string> & Partial<Record<keyof Infrastructure, string>>;
  return { [STAGE_VARIABLE]: settings.stage, ...infrastructure, ...tradingEnvironment(settings) };
}

/**
 * `LEAN_RUNNER_TOKEN_PARAMETER`, the name of the runner token's SecureString (`lean-runner-token`
 * under the control prefix, created out of band), whenever a runner URL is configured: every stage
 * calls its runner with the token, so paper exercises what live requires. Nothing without a runner.
 */
export function leanRunnerTokenEnvironment(settings: RouterSettings, controlParameterPrefix: string): Record<string, string> {
  return settings.leanRunnerUrl === undefined ? {} : { LEAN_RUNNER_TOKEN_PARAMETER: controlParameterName(controlParameterPrefix, CONTROL_PARAMETER.leanRunnerToken) };
}

/**
 * The `TRADING_*` variables of the settings, exactly as the functions receive them (and as the
 * synth validates them with the functions' own loaders): routing, the timings given in context, and
 * always the route timeout, which is also the route function's Lambda timeout.
 * `TRADING_LEAN_RUNNER_URL` is set only when the context gives one.
 */
export function tradingEnvironment(settings: RouterSettings): Record<string, string> {
  return {
    TRADING_EXECUTION_ADAPTER: settings.executionAdapter,
    TRADING_EXECUTION_ADAPTER_POLICY: settings.executionPolicy,
    TRADING_EXECUTION_ADAPTER_SYMBOLS: settings.executionSymbols.join(','),
    TRADING_EXECUTION_FALLBACK_ADAPTER: settings.fallbackAdapter,
    ...(settings.leanRunnerUrl === undefined ? {} : { TRADING_LEAN_RUNNER_URL: settings.leanRunnerUrl }),
    [ROUTE_TIMEOUT_VARIABLE]: String(DEFAULT_ROUTE_TIMEOUT_MS),
    ...settings.timings,
  };
}

/** The route function's timeout as the functions read it: the variable the stack sets, or its default. */
export function routeTimeoutMs(environment: Readonly<Record<string, string>>): number {
  return loadRouterConfig(environment).budget.routeTimeoutMs;
}
