import type { Parameter } from '@aws-sdk/client-ssm';
import { symbolsInReview, type ControlSnapshot, type KillSwitch, type PolicyOverride } from '../../functions/core/control';
import type { StageAlarm } from './stage-alarms';
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
  readonly stage: string;
  readonly prefix: string;
  readonly tableName: string;
  readonly control: ControlSnapshot;
  /** Every parameter under the prefix, as Parameter Store lists it. */
  readonly parameters: readonly Parameter[];
  readonly errorRate: ErrorRateStatus;
  readonly alarms: AlarmsStatus;
  readonly now: Date;
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
  return {
    stage: report.stage,
    prefix: report.prefix,
    table: report.tableName,
    summary: summaryLines(report),
    kill_switch: control.killSwitch,
    policy: policyJson(control.policy),
    lean_health: control.leanHealth ?? null,
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
  return [
    `stage ${report.stage}: control values under ${report.prefix}, orders in ${report.tableName}`,
    ...describeControl(report.control, report.now).split('\n'),
    errorRateLine(report.errorRate, report.now),
    ...alarmLines(report.alarms),
  ];
}

/** What the routers make of the control values, in the words an operator needs at 3 a.m. */
export function describeControl(control: ControlSnapshot, now: Date): string {
  const { killSwitch, policy, leanHealth } = control;
  const why = killSwitchWhy(killSwitch);
  const lean =
    killSwitch.state === 'on'
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
  return [lean, policyLine, health, reviews].join('\n');
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
  const percent = Math.round(errorRate.threshold * 10_000) / 100;
  return `LEAN error rate ${window}: ${errorRate.failed} of ${errorRate.submitted} failed; a trip needs more than ${percent}% of at least ${errorRate.minVolume}`;
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
