import type { Parameter } from '@aws-sdk/client-ssm';
import { symbolsInReview, type ControlSnapshot, type KillSwitch, type LeanHealth, type PolicyOverride } from '../../functions/core/control';
import { isRunnerHealthStale } from '../../functions/core/gates';
import type { StageAlarm } from './stage-alarms';
import { isDeployedStage, type CliStage } from './stages';
import { textTable } from './text-table';

/**
 * What `lean-router status` reports, gathered once and rendered either as text for a person or
 * as one JSON document for scripts, so both always say the same thing.
 */

/** The LEAN error rate the health-check judges its next trip on, or why there is none to show. */
export type ErrorRateStatus =
  | {
      readonly checked: true;
      /** Where the window starts: `windowMs` ago, or the kill switch's last change if later. */
      readonly since: string;
      readonly cause: 'window' | 'switch_changed';
      readonly submitted: number;
      readonly failed: number;
      /** A fraction: a trip needs more than this share of failures... */
      readonly threshold: number;
      /** ...among at least this many LEAN submits. */
      readonly minVolume: number;
      readonly windowMs: number;
    }
  | { readonly checked: false; readonly why: string };

/** The stage's CloudWatch alarms in ALARM, or why they were not read. */
export type AlarmsStatus =
  | { readonly checked: true; readonly namePrefix: string; readonly inAlarm: readonly StageAlarm[] }
  | { readonly checked: false; readonly why: string };

/** Everything `status` shows. */
export interface StatusReport {
  readonly stage: CliStage;
  readonly prefix: string;
  readonly tableName: string;
  readonly control: ControlSnapshot;
  /** Every parameter under the prefix, as Parameter Store lists it. */
  readonly parameters: readonly Parameter[];
  readonly errorRate: ErrorRateStatus;
  readonly alarms: AlarmsStatus;
  /** The health-check's staleness limit (`TRADING_RUNNER_HEALTH_STALE_MS`). */
  readonly runnerHealthStaleMs: number;
  readonly now: Date;
}

/** Whether the health-check would trip `runner_health_stale` on the recorded probes, and what it counts from. */
interface RunnerHealthJudgement {
  /** True when the next health-check trips (or, kill switch on, would trip after an unkill) unless its own probe is healthy. */
  readonly stale: boolean;
  /** What the limit is counted from: the last healthy probe, else the first failed one; null with neither recorded. */
  readonly since: string | null;
  readonly sinceFrom: 'last_ok_at' | 'down_since' | null;
  readonly limitMs: number;
}

/** The status as text: the summary lines, then every parameter under the prefix. */
export function statusText(report: StatusReport): string {
  const parameters =
    report.parameters.length === 0
      ? `no control values under ${report.prefix}`
      : textTable(
          ['parameter', 'value', 'version', 'modified'],
          report.parameters.map((p) => [p.Name ?? '', p.Type === 'SecureString' ? SECURE : (p.Value ?? ''), String(p.Version ?? ''), p.LastModifiedDate?.toISOString() ?? '']),
        );
  return [...summaryLines(report), '', parameters].join('\n');
}

/** The status as one JSON-ready object: the summary lines, and every value parsed rather than left as JSON text. */
export function statusJson(report: StatusReport): Record<string, unknown> {
  const { control, errorRate, alarms } = report;
  const judgement = judgeRunnerHealth(control.leanHealth, report.now, report.runnerHealthStaleMs);
  return {
    stage: report.stage,
    prefix: report.prefix,
    table: report.tableName,
    summary: summaryLines(report),
    kill_switch: control.killSwitch,
    policy: policyJson(control.policy),
    lean_health: control.leanHealth ?? null,
    lean_health_judgement: { stale: judgement.stale, since: judgement.since, since_from: judgement.sinceFrom, limit_ms: judgement.limitMs },
    reviews: [...control.reviews.values()],
    error_rate: errorRate.checked
      ? {
          checked: true,
          since: errorRate.since,
          cause: errorRate.cause,
          submitted: errorRate.submitted,
          failed: errorRate.failed,
          threshold: errorRate.threshold,
          min_volume: errorRate.minVolume,
          window_ms: errorRate.windowMs,
        }
      : errorRate,
    alarms: alarms.checked ? { checked: true, name_prefix: alarms.namePrefix, in_alarm: alarms.inAlarm } : alarms,
    parameters: report.parameters.map((p) => ({
      name: p.Name ?? null,
      value: p.Type === 'SecureString' ? SECURE : parseIfJson(p.Value),
      version: p.Version ?? null,
      modified: p.LastModifiedDate?.toISOString() ?? null,
    })),
  };
}

const SECURE = '(secure)';

function summaryLines(report: StatusReport): string[] {
  const { control, now } = report;
  return [
    `stage ${report.stage}: control values under ${report.prefix}, orders in ${report.tableName}`,
    ...controlLines(control, now, report),
    runnerStalenessLine(control, judgeRunnerHealth(control.leanHealth, now, report.runnerHealthStaleMs), now),
    errorRateLine(report.errorRate, now),
    ...alarmLines(report.alarms),
  ];
}

/** What the routers make of the control values, in the words an operator needs at 3 a.m. */
export function describeControl(control: ControlSnapshot, now: Date): string {
  return controlLines(control, now).join('\n');
}

/** describeControl's lines; with the stage, a missing kill switch is named by where it was looked for. */
function controlLines(control: ControlSnapshot, now: Date, where?: Pick<StatusReport, 'stage' | 'prefix'>): string[] {
  const { killSwitch, policy, leanHealth } = control;
  const why = killSwitchWhy(killSwitch);
  const lean =
    killSwitch.source === 'missing' && where !== undefined
      ? `LEAN: OFF for every order (no kill-switch parameter under ${where.prefix}: the routers keep LEAN off; ${isDeployedStage(where.stage) ? 'deployed in this account and region?' : 'npm start writes it when it starts'})`
      : killSwitch.state === 'on'
        ? `LEAN: OFF for every order (kill switch on${killSwitch.source === 'parameter' ? '' : `, ${killSwitch.source}`}${why === '' ? '' : `: ${why}`})`
        : 'LEAN: allowed (kill switch off)';
  const policyLine =
    policy.kind === 'absent'
      ? 'policy: from the functions\' environment (no policy parameter)'
      : policy.kind === 'valid'
        ? `policy: parameter overrides the environment: ${JSON.stringify(policyJson(policy).value)}`
        : `policy: INVALID parameter, orders route away from LEAN: ${policy.problem}`;
  const age = leanHealth?.checked_at ? `, checked ${Math.round((now.getTime() - Date.parse(leanHealth.checked_at)) / 1000)} s ago` : '';
  const health = `runner health: ${leanHealth?.status ?? 'never written'}${age}${leanHealth?.detail ? ` (${leanHealth.detail})` : ''}`;
  const inReview = symbolsInReview(control);
  const reviews = `manual review: ${inReview.length === 0 ? 'none' : inReview.join(', ')}`;
  return [lean, policyLine, health, reviews];
}

/**
 * The health-check's staleness rule on the recorded probes (core `tripReason`): stale when no
 * healthy probe is within the limit, a runner never seen healthy being counted from its first
 * failed probe. With neither recorded, its next failed probe starts the count: not stale.
 */
function judgeRunnerHealth(leanHealth: LeanHealth | undefined, now: Date, limitMs: number): RunnerHealthJudgement {
  const lastOk = leanHealth?.last_ok_at ?? null;
  const since = lastOk ?? leanHealth?.down_since ?? null;
  if (leanHealth === undefined || since === null) return { stale: false, since: null, sinceFrom: null, limitMs };
  const stale = isRunnerHealthStale({ leanHealth: { ...leanHealth, last_ok_at: since } }, now, limitMs);
  return { stale, since, sinceFrom: lastOk === null ? 'down_since' : 'last_ok_at', limitMs };
}

/** Whether the runner's health trips the switch at the next health-check, or would after an unkill. */
function runnerStalenessLine({ killSwitch, leanHealth }: ControlSnapshot, judgement: RunnerHealthJudgement, now: Date): string {
  const { since } = judgement;
  const downSince = leanHealth?.status === 'down' ? `down${leanHealth.down_since === undefined ? '' : ` since ${clockTime(leanHealth.down_since, now)}`}, ` : '';
  const seen =
    since === null
      ? `${leanHealth === undefined ? 'no probe recorded' : 'no healthy probe or first failure recorded'}; a first failed probe starts the count`
      : judgement.sinceFrom === 'down_since'
        ? `down since ${clockTime(since, now)} and never seen healthy, counted from then`
        : downSince === ''
          ? `last healthy probe at ${clockTime(since, now)}`
          : `${downSince}no healthy probe since ${clockTime(since, now)}`;
  const unless = 'unless its probe finds the runner healthy';
  const verdict = !judgement.stale
    ? 'within the limit'
    : killSwitch.state === 'off' && killSwitch.source === 'parameter'
      ? `the next health-check trips the kill switch (runner_health_stale) ${unless}`
      : `${killSwitch.source === 'missing' ? 'a kill switch written back as off' : 'an unkill'} now trips again at the next health-check (runner_health_stale) ${unless}`;
  return `runner health staleness: ${seen} (limit ${judgement.limitMs / 1000} s): ${verdict}`;
}

/** Why and by whom the switch was last set, e.g. `drill, by on-call, at 2026-11-25T09:58:00.000Z`; empty when the value says nothing. */
export function killSwitchWhy(killSwitch: KillSwitch): string {
  return [killSwitch.reason, killSwitch.set_by && `by ${killSwitch.set_by}`, killSwitch.set_at && `at ${killSwitch.set_at}`].filter(Boolean).join(', ');
}

function errorRateLine(errorRate: ErrorRateStatus, now: Date): string {
  if (!errorRate.checked) return `LEAN error rate: ${errorRate.why}`;
  const window =
    errorRate.cause === 'switch_changed'
      ? `since ${clockTime(errorRate.since, now)} (kill switch turned off then)`
      : `over the last ${duration(errorRate.windowMs)} (since ${clockTime(errorRate.since, now)})`;
  return `LEAN error rate ${window}: ${errorRate.failed} of ${errorRate.submitted} failed; a trip needs ${errorRateTripRule(errorRate.threshold, errorRate.minVolume)}`;
}

/** What an error-rate trip needs, e.g. `more than 25% of at least 10`. */
export function errorRateTripRule(threshold: number, minVolume: number): string {
  return `more than ${Math.round(threshold * 10_000) / 100}% of at least ${minVolume}`;
}

function alarmLines(alarms: AlarmsStatus): string[] {
  if (!alarms.checked) return [`alarms: ${alarms.why}`];
  const scope = `CloudWatch, ${alarms.namePrefix}*`;
  if (alarms.inAlarm.length === 0) return [`alarms in ALARM: none (${scope})`];
  return [
    `alarms in ALARM (${scope}): ${alarms.inAlarm.length}`,
    ...alarms.inAlarm.map((alarm) => `  ${alarm.name}${alarm.since === null ? '' : ` since ${alarm.since}`}: ${alarm.reason}`),
  ];
}

/** The policy override with its symbol set as a list, as JSON can carry it. */
function policyJson(policy: PolicyOverride): { readonly kind: PolicyOverride['kind']; readonly [key: string]: unknown } {
  if (policy.kind !== 'valid') return { ...policy };
  return { kind: 'valid', value: Object.fromEntries(Object.entries(policy.value).map(([key, value]) => [key, value instanceof Set ? [...value] : value])) };
}

/** `01:02:03Z` on the same UTC day as `now`, otherwise the date too. */
function clockTime(iso: string, now: Date): string {
  const time = new Date(iso).toISOString();
  const sameDay = time.slice(0, 10) === now.toISOString().slice(0, 10);
  return sameDay ? `${time.slice(11, 19)}Z` : `${time.slice(0, 10)} ${time.slice(11, 19)}Z`;
}

function duration(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${ms / 1000} s`;
}

function parseIfJson(value: string | undefined): unknown {
  if (value === undefined) return null;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
