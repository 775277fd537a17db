import { z } from 'zod';
import {
  adapterSchema,
  fallbackSchema,
  loadHealthCheckConfig,
  loadRouterConfig,
  parseSymbols,
  policySchema,
  timingVariableNames,
  type RoutingPolicy,
} from '../functions/core/config';
import { loadLifecycleSyncSettings } from '../functions/core/lifecycle-sync';
import { controlParameterPrefix } from '../functions/core/control-parameters';
import { ROUTER_STAGE_VARIABLE } from '../functions/adapters/observability';
import { STAGES, type Stage } from './stage-names';
import { leanRunnerTokenEnvironment, tradingEnvironment } from './router-environment';

export { stackName, type Stage } from './stage-names';


/** The default stage when no context says otherwise. Never `live`. */
const DEFAULT_STAGE: Stage = 'paper';

/** Deploy-time settings of one router stack, read from CDK context and validated at synth. */
export interface RouterSettings {
  readonly stage: Stage;
  /** `TRADING_LEAN_RUNNER_URL`; without it LEAN is never used and the runner alarm is not created. */
  readonly leanRunnerUrl?: string;
  readonly executionAdapter: RoutingPolicy['adapter'];
  readonly executionPolicy: RoutingPolicy['policy'];
  /** Normalized (upper case, no blanks, no duplicates). */
  readonly executionSymbols: readonly string[];
  readonly fallbackAdapter: RoutingPolicy['fallback'];
  /** Subscribed to the alarm topic when given. */
  readonly alarmEmail?: string;
  /** `TRADING_*` timing variables (timeouts, the route budget, reconciliation delay) overriding the functions' defaults. */
  readonly timings?: Readonly<Record<string, string>>;
}

/** Context keys (cdk.json or `--context key=value`). */
const CONTEXT_KEY = {
  stage: 'stage',
  leanRunnerUrl: 'leanRunnerUrl',
  executionAdapter: 'executionAdapter',
  executionPolicy: 'executionPolicy',
  executionSymbols: 'executionSymbols',
  fallbackAdapter: 'fallbackAdapter',
  alarmEmail: 'alarmEmail',
  timings: 'timings',
} as const;

/** Thrown at synth when the context cannot describe a deployable router; the message says what to fix. */
export class RouterSettingsError extends Error {
  override readonly name = 'RouterSettingsError';
}

/** Blank strings (e.g. `--context leanRunnerUrl=`) count as "not given". */
const optionalText = z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), z.string().trim().optional());

const settingsSchema = z.object({
  [CONTEXT_KEY.stage]: z.preprocess(
    (value) => value ?? DEFAULT_STAGE,
    z.enum(STAGES, { error: (issue) => `must be "paper" or "live", not ${JSON.stringify(issue.input)}` }),
  ),
  [CONTEXT_KEY.leanRunnerUrl]: optionalText.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://lean-runner.example.com' }).optional()),
  // The functions' own enums (functions/core/config.ts), with their defaults (docs/configuration.md).
  [CONTEXT_KEY.executionAdapter]: optionalText.pipe(adapterSchema.default('alpaca')),
  [CONTEXT_KEY.executionPolicy]: optionalText.pipe(policySchema.default('allowlist')),
  [CONTEXT_KEY.executionSymbols]: z.union([z.string(), z.array(z.string())]).optional(),
  [CONTEXT_KEY.fallbackAdapter]: optionalText.pipe(fallbackSchema.default('alpaca')),
  [CONTEXT_KEY.alarmEmail]: optionalText.pipe(z.email({ error: 'must be an email address' }).optional()),
  // An object in cdk.json, a JSON string on the command line (`--context timings='{"...":8000}'`).
  [CONTEXT_KEY.timings]: z.preprocess(
    (value) => (typeof value === 'string' ? (value.trim() === '' ? undefined : parseJsonOr(value)) : value),
    z
      .record(z.string(), z.union([z.number().int().positive(), z.string().regex(/^\d+$/)]).transform(String), {
        error: (issue) => (issue.code === 'invalid_type' ? 'must be a JSON object of TRADING_*_MS variables and whole milliseconds' : undefined),
      })
      .superRefine((timings, ctx) => {
        const known = timingVariableNames();
        for (const name of Object.keys(timings).filter((key) => !known.includes(key))) {
          ctx.addIssue({ code: 'custom', path: [name], message: `names no timing variable: ${JSON.stringify(name)} (known: ${known.join(', ')})` });
        }
      })
      .optional(),
  ),
});

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Reads and validates the router's context. Unknown stages, unknown adapter values, a runner URL
 * the functions would refuse, and a policy that could never route to LEAN as asked (`lean` without
 * a runner URL, `allowlist` without symbols) fail the synth here, checked by the functions' own
 * config loader, rather than deploy a router that silently sends everything to Alpaca.
 */
export function routerSettingsFromContext(tryGetContext: (key: string) => unknown): RouterSettings {
  const raw = Object.fromEntries(Object.values(CONTEXT_KEY).map((key) => [key, tryGetContext(key)]));
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `context "${issue.path.join('.')}" ${issue.message}`);
    throw new RouterSettingsError(`invalid CDK context: ${problems.join('; ')}`);
  }
  const context = parsed.data;
  const settings: RouterSettings = {
    stage: context.stage,
    executionAdapter: context.executionAdapter,
    executionPolicy: context.executionPolicy,
    executionSymbols: [...parseSymbols(context.executionSymbols)],
    fallbackAdapter: context.fallbackAdapter,
    ...(context.leanRunnerUrl === undefined ? {} : { leanRunnerUrl: context.leanRunnerUrl }),
    ...(context.alarmEmail === undefined ? {} : { alarmEmail: context.alarmEmail }),
    ...(context.timings === undefined ? {} : { timings: context.timings }),
  };
  // The functions' own loaders: whatever they would only run as "misconfigured" (LEAN off, a
  // timing replaced by its default) fails here, timeout budget included, and so does what the
  // stage refuses (`live`: an http runner URL or one carrying credentials).
  const environment = tradingEnvironment(settings);
  const router = loadRouterConfig({
    ...environment,
    [ROUTER_STAGE_VARIABLE]: settings.stage,
    ...leanRunnerTokenEnvironment(settings, controlParameterPrefix(settings.stage)),
  });
  const problems = [...router.misconfiguration, ...loadHealthCheckConfig(environment).problems, ...loadLifecycleSyncSettings(environment).problems];
  if (router.budget.routeTimeoutMs % 1000 !== 0) problems.push(`TRADING_ROUTE_TIMEOUT_MS=${router.budget.routeTimeoutMs} must be whole seconds (it is the route function's Lambda timeout)`);
  if (problems.length > 0) {
    throw new RouterSettingsError(
      `invalid CDK context: ${problems.join('; ')} (context keys: ${CONTEXT_KEY.leanRunnerUrl}, ${CONTEXT_KEY.executionAdapter}, ${CONTEXT_KEY.executionPolicy}, ${CONTEXT_KEY.executionSymbols}, ${CONTEXT_KEY.timings})`,
    );
  }
  return settings;
}


