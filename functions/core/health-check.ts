import type { ControlSnapshot, KillSwitchTrip, LeanHealth } from './control';
import { symbolsInReview, UNAVAILABLE_CONTROL } from './control';
import { errorRateWindowStart, type ErrorRateWindow } from './error-rate-window';
import { isRunnerHealthStale } from './gates';
import { describeError } from './objects';
import type { Clock, RouteLogger } from './ports';

/** The runner's `GET /healthz`, probed with a short timeout. */
export interface RunnerProbe {
  probe(): Promise<{ readonly ok: boolean; readonly latencyMs: number; readonly detail?: string }>;
}

/** What the health-check reads and writes in SSM. */
export interface HealthCheckControl {
  readFresh(): Promise<ControlSnapshot>;
  tripKillSwitch(trip: KillSwitchTrip): Promise<void>;
  writeLeanHealth(health: LeanHealth): Promise<void>;
  putSymbolInReview(symbol: string, reason: string, setBy: string): Promise<void>;
}

/** LEAN's record in a window, from the by-route index. */
export interface LeanOutcomeCounts {
  /** Orders LEAN took, failed, or was skipped for by an open breaker. */
  readonly submitted: number;
  /** Of those, the ones LEAN failed or was skipped for by an open breaker. */
  readonly failed: number;
}

/** The index reads the health-check needs; it writes no row (the lifecycle sync reconciles them). */
export interface HealthCheckStore {
  countLeanOutcomes(since: string): Promise<LeanOutcomeCounts>;
  /** Every order since `since` that fell back from LEAN, as symbol and creation time. */
  listFallbacks(since: string): Promise<{ readonly symbol: string; readonly created_at: string }[]>;
}

/** The health-check's gauges and counters. */
export interface HealthMetrics {
  killSwitchState(on: boolean): void;
  runnerHealth(ok: boolean): void;
  leanErrorRate(percent: number): void;
  symbolsInManualReview(count: number): void;
  killSwitchTrip(reason: string): void;
}

/** Thresholds of one run; all have defaults in the health-check's configuration. */
export interface HealthCheckSettings {
  readonly errorRateWindowMs: number;
  /** Below this many LEAN submits in the window, no error rate is computed. */
  readonly errorRateMinVolume: number;
  /** A fraction: 0.25 trips above 25% failures. */
  readonly errorRateThreshold: number;
  readonly runnerHealthStaleMs: number;
  readonly manualReviewFallbacks: number;
  readonly manualReviewWindowMs: number;
}

/** Everything one run needs. `runner` is absent when no runner URL is configured. */
export interface HealthCheckDependencies {
  readonly settings: HealthCheckSettings;
  readonly control: HealthCheckControl;
  readonly store: HealthCheckStore;
  readonly runner?: RunnerProbe;
  readonly metrics: HealthMetrics;
  readonly logger: RouteLogger;
  readonly clock: Clock;
}

/** What one run saw and did; the handler logs it and the tests read it. */
export interface HealthCheckReport {
  readonly runner: 'ok' | 'down' | 'not_configured';
  readonly errorRate?: { readonly submitted: number; readonly failed: number; readonly percent: number };
  /**
   * Where the error rate counted from: `window` (the configured window) or `switch_changed` (the
   * kill switch's last change, when an operator has turned LEAN back on since the window began).
   */
  readonly errorRateWindow: ErrorRateWindow;
  /** The reason the switch was tripped by this run, if it was. */
  readonly tripped?: string;
  readonly killSwitch: 'on' | 'off';
  readonly symbolsInReview: readonly string[];
  readonly reviewsTripped: readonly string[];
}

const SET_BY = 'health-check';

/**
 * One scheduled run: probe the runner and record `lean-health`; trip the kill switch on a LEAN
 * error rate over the threshold or on stale health (never rewriting a switch that is already on,
 * and never turning it off: trips are latched); put symbols with repeated fallbacks in review;
 * emit the gauges. Each step runs even if another failed. Rows left `pending` or `unknown` are the
 * lifecycle sync's to reconcile, not this run's.
 */
export async function runHealthCheck(deps: HealthCheckDependencies): Promise<HealthCheckReport> {
  const { clock, logger } = deps;
  const now = clock.now();
  const control = await readControl(deps);

  const health = await probeRunner(deps, control, now);
  // Unreadable control: no trip is written this run, and the gauge counts the whole window.
  const rateWindow = errorRateWindowStart(now, deps.settings.errorRateWindowMs, control?.killSwitch ?? UNAVAILABLE_CONTROL.killSwitch);
  const errorRate = await measureErrorRate(deps, rateWindow.since);

  let tripped: string | undefined;
  // Only a switch read as plainly `off` is written: on, unreadable or unknown stays as it is.
  if (control !== undefined && control.killSwitch.state === 'off' && control.killSwitch.source === 'parameter') {
    const reason = tripReason(deps.settings, health, errorRate, rateWindow, now);
    if (reason !== undefined && (await trip(deps, reason.reason, reason.detail))) tripped = reason.reason;
  }
  const killSwitchOn = tripped !== undefined || control === undefined || control.killSwitch.state === 'on';

  const reviewsTripped = control === undefined ? [] : await sweepManualReviews(deps, control, now);
  const inReview = control === undefined ? [] : [...new Set([...symbolsInReview(control), ...reviewsTripped])];

  deps.metrics.killSwitchState(killSwitchOn);
  // Unread reviews are not zero reviews: no gauge rather than a false all-clear.
  if (control !== undefined) deps.metrics.symbolsInManualReview(inReview.length);
  const report: HealthCheckReport = {
    runner: health === undefined ? 'not_configured' : health.status === 'ok' ? 'ok' : 'down',
    ...(errorRate === undefined ? {} : { errorRate }),
    errorRateWindow: rateWindow,
    ...(tripped === undefined ? {} : { tripped }),
    killSwitch: killSwitchOn ? 'on' : 'off',
    symbolsInReview: inReview,
    reviewsTripped,
  };
  // A quiet run is a debug line: the gauges above already say the check ran.
  // A trip by this run is notable too: it leaves killSwitchOn true.
  const notable = report.runner === 'down' || killSwitchOn || reviewsTripped.length > 0;
  if (notable) logger.warn('health_check', { ...report });
  else logger.debug('health_check', { ...report });
  return report;
}

async function readControl(deps: HealthCheckDependencies): Promise<ControlSnapshot | undefined> {
  try {
    return await deps.control.readFresh();
  } catch (error) {
    deps.logger.error('health_check_control_unreadable', { error: describeError(error), effect: 'no trip or review is written this run' });
    return undefined;
  }
}

async function probeRunner(deps: HealthCheckDependencies, control: ControlSnapshot | undefined, now: Date): Promise<LeanHealth | undefined> {
  if (deps.runner === undefined) return undefined;
  const result = await probeSafely(deps.runner, deps.clock);
  const checkedAt = now.toISOString();
  const previous = control?.leanHealth;
  const downSince = result.ok ? undefined : previous?.status === 'down' ? (previous.down_since ?? previous.checked_at ?? checkedAt) : checkedAt;
  const health: LeanHealth = {
    status: result.ok ? 'ok' : 'down',
    checked_at: checkedAt,
    last_ok_at: result.ok ? checkedAt : (previous?.last_ok_at ?? null),
    latency_ms: result.latencyMs,
    ...(result.detail === undefined ? {} : { detail: result.detail }),
    ...(downSince === undefined ? {} : { down_since: downSince }),
  };
  deps.metrics.runnerHealth(result.ok);
  // Without the previous value, a failed probe would erase last_ok_at and fake a long outage.
  if (control === undefined && !result.ok) return health;
  try {
    await deps.control.writeLeanHealth(health);
  } catch (error) {
    deps.logger.error('lean_health_write_failed', { error: describeError(error) });
  }
  return health;
}

/** A probe that throws is a failed probe: the rest of the run must still happen. */
async function probeSafely(runner: RunnerProbe, clock: Clock): Promise<{ ok: boolean; latencyMs: number; detail?: string }> {
  const started = clock.monotonicMs();
  try {
    return await runner.probe();
  } catch (error) {
    return { ok: false, latencyMs: Math.round(clock.monotonicMs() - started), detail: `probe failed: ${describeError(error)}` };
  }
}

async function measureErrorRate(deps: HealthCheckDependencies, since: string): Promise<HealthCheckReport['errorRate']> {
  try {
    const counts = await deps.store.countLeanOutcomes(since);
    if (counts.submitted < deps.settings.errorRateMinVolume) return undefined;
    const percent = (100 * counts.failed) / counts.submitted;
    deps.metrics.leanErrorRate(percent);
    return { ...counts, percent };
  } catch (error) {
    deps.logger.error('lean_error_rate_unreadable', { error: describeError(error) });
    return undefined;
  }
}

function tripReason(
  settings: HealthCheckSettings,
  health: LeanHealth | undefined,
  errorRate: HealthCheckReport['errorRate'],
  rateWindow: ErrorRateWindow,
  now: Date,
): { reason: string; detail: string } | undefined {
  // Compared as a ratio: `threshold * 100` is inexact in binary (0.29 * 100 = 28.999…).
  if (errorRate !== undefined && errorRate.failed / errorRate.submitted > settings.errorRateThreshold) {
    const counted = rateWindow.cause === 'window' ? `in the last ${settings.errorRateWindowMs / 1000} s` : `since the kill switch was last changed at ${rateWindow.since}`;
    return {
      reason: 'lean_error_rate',
      detail: `${errorRate.failed} of ${errorRate.submitted} LEAN submits failed ${counted} (${errorRate.percent.toFixed(1)}%, threshold ${settings.errorRateThreshold * 100}%)`,
    };
  }
  // A runner never seen healthy is judged from its first failed probe, so a fresh deploy whose
  // runner is still starting is not latched off in its first minute (routers gate it meanwhile).
  if (health === undefined) return undefined;
  const healthyOrFirstDown = { ...health, last_ok_at: health.last_ok_at ?? health.down_since ?? null };
  if (!isRunnerHealthStale({ leanHealth: healthyOrFirstDown }, now, settings.runnerHealthStaleMs)) return undefined;
  // Stryker disable next-line StringLiteral: probeRunner sets last_ok_at on a healthy probe and down_since on every failed one, so the fallback is never used
  const firstFailure = health.down_since ?? 'an unknown time';
  return {
    reason: 'runner_health_stale',
    detail: `no healthy probe since ${health.last_ok_at ?? `the first failed probe at ${firstFailure}`} (limit ${settings.runnerHealthStaleMs / 1000} s); last: ${health.detail ?? health.status}`,
  };
}

async function trip(deps: HealthCheckDependencies, reason: string, detail: string): Promise<boolean> {
  try {
    await deps.control.tripKillSwitch({ reason, set_by: SET_BY, detail });
    deps.metrics.killSwitchTrip(reason);
    deps.logger.error('kill_switch_tripped', { reason, detail, set_by: SET_BY });
    return true;
  } catch (error) {
    deps.logger.error('kill_switch_trip_failed', { reason, detail, error: describeError(error) });
    return false;
  }
}

/**
 * Recounts every symbol's fallbacks from the rows, so a trip the route function missed (a lost
 * race with the index, a throttled write) happens here within a minute.
 */
async function sweepManualReviews(deps: HealthCheckDependencies, control: ControlSnapshot, now: Date): Promise<string[]> {
  const { manualReviewFallbacks, manualReviewWindowMs } = deps.settings;
  const windowStart = new Date(now.getTime() - manualReviewWindowMs).toISOString();
  let fallbacks;
  try {
    fallbacks = await deps.store.listFallbacks(windowStart);
  } catch (error) {
    deps.logger.error('fallback_history_unreadable', { error: describeError(error) });
    return [];
  }
  const counts = new Map<string, number>();
  for (const fallback of fallbacks) {
    const review = control.reviews.get(fallback.symbol);
    if (review?.state === 'review') continue;
    // Fallbacks before an operator's clear were already reviewed.
    if (review !== undefined && fallback.created_at < review.changed_at) continue;
    counts.set(fallback.symbol, (counts.get(fallback.symbol) ?? 0) + 1);
  }
  const tripped: string[] = [];
  for (const [symbol, count] of counts) {
    if (count < manualReviewFallbacks) continue;
    try {
      await deps.control.putSymbolInReview(symbol, `repeated_fallback: ${count} fallbacks since ${windowStart}`, SET_BY);
      deps.logger.warn('symbol_manual_review_tripped', { symbol, fallbacks: count, set_by: SET_BY });
      tripped.push(symbol);
    } catch (error) {
      deps.logger.error('symbol_manual_review_failed', { symbol, error: describeError(error) });
    }
  }
  return tripped;
}
