import { z } from 'zod';
import {
  adapterSchema,
  fallbackSchema,
  loadHealthCheckConfig,
  loadRouterConfig,
  parseSymbols,
  policySchema,
  STAGE_VARIABLE,
  timingVariableNames,
  type RoutingPolicy,
} from '../functions/core/config';
import { loadLifecycleSyncSettings } from '../functions/core/lifecycle-sync';
import { controlParameterPrefix } from '../functions/core/control-parameters';
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
  /** An existing SNS topic (e.g. the team's paging topic) every alarm also notifies. */
  readonly alarmTopicArn?: string;
  /** `TRADING_*` timing variables (timeouts, the route budget, reconciliation delay) overriding the functions' defaults. */
  readonly timings?: Readonly<Record<string, string>>;
  /** The IAM role (or user) ARN the order scheduler calls as; required on `live` (see {@link orderApiCallers}). */
  readonly schedulerPrincipalArn?: string;
  /** IAM role (or user) ARNs of the operators: they may read and cancel orders, never submit one. */
  readonly operatorPrincipalArns?: readonly string[];
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
  alarmTopicArn: 'alarmTopicArn',
  timings: 'timings',
  schedulerPrincipalArn: 'schedulerPrincipalArn',
  operatorPrincipalArns: 'operatorPrincipalArns',
} as const;

/** Thrown at synth when the context cannot describe a deployable router; the message says what to fix. */
export class RouterSettingsError extends Error {
  override readonly name = 'RouterSettingsError';
}

/** Blank strings (e.g. `--context leanRunnerUrl=`) count as "not given". */
const optionalText = z.preprocess((value) => (typeof value === 'string' && value.trim() === '' ? undefined : value), z.string().trim().optional());

/**
 * An IAM role or user ARN, as `aws:PrincipalArn` reads it for a caller (a role's ARN, not its
 * session's `arn:aws:sts::...:assumed-role/...`).
 */
const PRINCIPAL_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/;
const principalArn = z
  .string()
  .trim()
  .regex(PRINCIPAL_ARN_PATTERN, { error: (issue) => `must be an IAM role or user ARN (arn:aws:iam::<account>:role/<name>), not ${JSON.stringify(issue.input)}` });

const settingsSchema = z.object({
  [CONTEXT_KEY.stage]: z.preprocess(
    (value) => value ?? DEFAULT_STAGE,
    z.enum(STAGES, { error: (issue) => `must be "paper" or "live", not ${JSON.stringify(issue.input)}` }),
  ),
  [CONTEXT_KEY.leanRunnerUrl]: optionalText.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://lean-runner.example.com' }).optional()),
  // The functions' own enums (functions/core/config.ts), with their defaults (docs/configuration.md); they are
  // zod/mini schemas, without a `.default()` method, so `z._default` wraps them as that method would.
  [CONTEXT_KEY.executionAdapter]: optionalText.pipe(z._default(adapterSchema, 'alpaca')),
  [CONTEXT_KEY.executionPolicy]: optionalText.pipe(z._default(policySchema, 'allowlist')),
  [CONTEXT_KEY.executionSymbols]: z.union([z.string(), z.array(z.string())]).optional(),
  [CONTEXT_KEY.fallbackAdapter]: optionalText.pipe(z._default(fallbackSchema, 'alpaca')),
  [CONTEXT_KEY.alarmEmail]: optionalText.pipe(z.email({ error: 'must be an email address' }).optional()),
  [CONTEXT_KEY.alarmTopicArn]: optionalText.pipe(
    z.string().regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'must be an SNS topic ARN such as arn:aws:sns:us-east-1:123456789012:oncall').optional(),
  ),
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
  [CONTEXT_KEY.schedulerPrincipalArn]: optionalText.pipe(principalArn.optional()),
  // A comma list on the command line, an array in cdk.json.
  [CONTEXT_KEY.operatorPrincipalArns]: z.preprocess(listOfText, z.array(principalArn).optional()),
});

/** A comma list or an array as distinct trimmed items, blanks dropped; anything else as given (for zod to refuse). */
function listOfText(value: unknown): unknown {
  const items: unknown = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(items)) return items;
  return [...new Set(items.map((item: unknown) => (typeof item === 'string' ? item.trim() : item)).filter((item) => item !== ''))];
}

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
    ...(context.alarmTopicArn === undefined ? {} : { alarmTopicArn: context.alarmTopicArn }),
    ...(context.timings === undefined ? {} : { timings: context.timings }),
    ...(context.schedulerPrincipalArn === undefined ? {} : { schedulerPrincipalArn: context.schedulerPrincipalArn }),
    ...(context.operatorPrincipalArns === undefined || context.operatorPrincipalArns.length === 0 ? {} : { operatorPrincipalArns: context.operatorPrincipalArns }),
  };
  // The functions' own loaders: whatever they would only run as "misconfigured" (LEAN off, a
  // timing replaced by its default) fails here, timeout budget included, and so does what the
  // stage refuses (`live`: an http runner URL or one carrying credentials).
  const environment = tradingEnvironment(settings);
  const router = loadRouterConfig({
    ...environment,
    [STAGE_VARIABLE]: settings.stage,
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

/** Who may call the order API: its resource policy names exactly these principals. */
export interface OrderApiCallers {
  readonly scheduler: string;
  readonly operators: readonly string[];
}

/**
 * The order API's callers from the settings, or `undefined` on a paper stage that names none (any
 * IAM principal of the account its own policies allow may call it). A `live` stage refuses to
 * synthesize without the scheduler: real money is only routed for a named caller. Operators
 * without a scheduler name no one who may submit, so they are refused too.
 */
export function orderApiCallers(settings: RouterSettings): OrderApiCallers | undefined {
  const operators = settings.operatorPrincipalArns ?? [];
  if (settings.schedulerPrincipalArn !== undefined) return { scheduler: settings.schedulerPrincipalArn, operators };
  if (settings.stage === 'live') {
    throw new RouterSettingsError(
      `invalid CDK context: live needs context "${CONTEXT_KEY.schedulerPrincipalArn}" (the order scheduler's IAM role ARN): the order API's resource policy admits only named callers (and "${CONTEXT_KEY.operatorPrincipalArns}" for the operators)`,
    );
  }
  if (operators.length > 0) {
    throw new RouterSettingsError(`invalid CDK context: "${CONTEXT_KEY.operatorPrincipalArns}" needs "${CONTEXT_KEY.schedulerPrincipalArn}" too: the resource policy would admit no one who may submit`);
  }
  return undefined;
}

/**
 * `live` pages someone: its stack refuses to synthesize unless the alarms reach a subscriber, an
 * email (`alarmEmail`) or an existing topic (`alarmTopicArn`). Paper may run unwatched.
 */
export function requireAlarmSubscriber(settings: RouterSettings): void {
  if (settings.stage !== 'live' || settings.alarmEmail !== undefined || settings.alarmTopicArn !== undefined) return;
  throw new RouterSettingsError(
    `invalid CDK context: live needs an alarm subscriber: give context "${CONTEXT_KEY.alarmEmail}" (an email address) or "${CONTEXT_KEY.alarmTopicArn}" (an SNS topic ARN), or both`,
  );
}
