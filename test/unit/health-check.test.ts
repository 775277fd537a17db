import { describe, expect, it } from 'vitest';
import { parseKillSwitch, UNAVAILABLE_CONTROL, type ControlSnapshot, type KillSwitch, type SymbolReview } from '../../functions/core/control';
import {
  runHealthCheck,
  type HealthCheckDependencies,
  type HealthCheckReport,
  type HealthCheckSettings,
  type LeanOutcomeCounts,
} from '../../functions/core/health-check';
import type { Clock } from '../../functions/core/ports';
import {
  FakeHealthCheckControl,
  FakeHealthCheckStore,
  FixedClock,
  openControl,
  pendingRow,
  RecordingHealthMetrics,
  RecordingLogger,
  ScriptedProbe,
  type HealthControlOperation,
  type HealthStoreQuery,
  type HealthStoreScript,
  type ProbeAnswer,
} from '../support/fakes';

const NOW = '2025-01-02T14:30:00.000Z';
const SECOND = 1_000;
const MINUTE = 60 * SECOND;

/** The health-check's defaults (config.ts), spelled out so each test can say which one it moves. */
const SETTINGS: HealthCheckSettings = {
  errorRateWindowMs: 5 * MINUTE,
  errorRateMinVolume: 10,
  errorRateThreshold: 0.25,
  runnerHealthStaleMs: 3 * MINUTE,
  manualReviewFallbacks: 3,
  manualReviewWindowMs: 15 * MINUTE,
};

function ago(ms: number): string {
  return new Date(Date.parse(NOW) - ms).toISOString();
}

const PROBE_OK: ProbeAnswer = { ok: true, latencyMs: 12 };
const PROBE_DOWN: ProbeAnswer = { ok: false, latencyMs: 2_000, detail: 'timeout: no complete answer within 2000 ms' };
/** 3 of 10 LEAN submits failed: 30%, over the 25% threshold, at the minimum volume. */
const ERROR_RATE_BREACH: LeanOutcomeCounts = { submitted: 10, failed: 3 };

/** lean-health as a previous run left it: the runner last answered healthy `lastOkAgoMs` ago. */
function healthLastOk(lastOkAgoMs: number): Partial<ControlSnapshot> {
  return { leanHealth: { status: 'down', checked_at: ago(MINUTE), last_ok_at: ago(lastOkAgoMs), latency_ms: 2_000, detail: 'ECONNREFUSED' } };
}

/** Stale by a minute against the 3-minute limit; trips only together with a failed probe. */
const STALE_HEALTH = healthLastOk(4 * MINUTE);
const KILL_ON = { killSwitch: parseKillSwitch('on') };

function reviews(...entries: SymbolReview[]): Partial<ControlSnapshot> {
  return { reviews: new Map(entries.map((review) => [review.symbol, review])) };
}

/** One fallback of `symbol` per age given. */
function fallbacksOf(symbol: string, ...agesMs: number[]): { symbol: string; created_at: string }[] {
  return agesMs.map((age) => ({ symbol, created_at: ago(age) }));
}

const THREE_AAPL_FALLBACKS = fallbacksOf('AAPL', 10 * MINUTE, 5 * MINUTE, 2 * MINUTE);

/** A row a route invocation left `pending` two minutes ago: the lifecycle sync's to reconcile. */
const STUCK_ROW = pendingRow({ client_order_id: 'ord-stuck-1', created_at: ago(2 * MINUTE) });

interface WorldOptions {
  readonly control?: Partial<ControlSnapshot>;
  readonly controlFails?: readonly HealthControlOperation[];
  /** `null`: no runner URL is configured, so there is no probe. */
  readonly probe?: ProbeAnswer | Error | null;
  readonly store?: HealthStoreScript;
  readonly storeFails?: readonly HealthStoreQuery[];
  readonly settings?: Partial<HealthCheckSettings>;
}

interface HealthWorld {
  readonly deps: HealthCheckDependencies;
  readonly control: FakeHealthCheckControl;
  readonly store: FakeHealthCheckStore;
  readonly probe: ScriptedProbe;
  readonly metrics: RecordingHealthMetrics;
  readonly logger: RecordingLogger;
}

/** Every port in memory. By default a quiet minute: switch off, runner healthy, no LEAN traffic, nothing to sweep. */
function healthWorld(options: WorldOptions = {}): HealthWorld {
  const control = new FakeHealthCheckControl(openControl(NOW, options.control)).failOn(...(options.controlFails ?? []));
  const store = new FakeHealthCheckStore(options.store).failOn(...(options.storeFails ?? []));
  const probe = new ScriptedProbe(options.probe ?? PROBE_OK);
  const metrics = new RecordingHealthMetrics();
  const logger = new RecordingLogger();
  const deps: HealthCheckDependencies = {
    settings: { ...SETTINGS, ...options.settings },
    control,
    store,
    ...(options.probe === null ? {} : { runner: probe }),
    metrics,
    logger,
    clock: new FixedClock(NOW),
  };
  return { deps, control, store, probe, metrics, logger };
}

function run(world: HealthWorld, overrides: Partial<HealthCheckDependencies> = {}): Promise<HealthCheckReport> {
  return runHealthCheck({ ...world.deps, ...overrides });
}

function tripReasons(world: HealthWorld): string[] {
  return world.control.killSwitchTrips.map((trip) => trip.reason);
}

function logFields(world: HealthWorld, message: string): Record<string, unknown>[] {
  return world.logger.withMessage(message).map((line) => line.fields);
}


describe('runHealthCheck: the runner probe', () => {
  it('writes lean-health ok with checked_at and last_ok_at at now and the probe’s latency when the probe succeeds', async () => {
    const world = healthWorld({ probe: PROBE_OK });

    await run(world);

    expect(world.control.leanHealthWrites).toStrictEqual([{ status: 'ok', checked_at: NOW, last_ok_at: NOW, latency_ms: 12 }]);
  });

  it('writes lean-health down with the probe’s detail, keeping the previous last_ok_at, when the probe fails', async () => {
    const world = healthWorld({ probe: PROBE_DOWN, control: healthLastOk(2 * MINUTE) });

    await run(world);

    expect(world.control.leanHealthWrites).toEqual([
      { status: 'down', checked_at: NOW, last_ok_at: ago(2 * MINUTE), latency_ms: 2_000, detail: PROBE_DOWN.detail, down_since: ago(MINUTE) },
    ]);
  });

  it('writes last_ok_at null on a failed probe when lean-health was never written', async () => {
    const world = healthWorld({ probe: PROBE_DOWN, control: { leanHealth: undefined } });

    await run(world);

    expect(world.control.leanHealthWrites.map((health) => health.last_ok_at)).toEqual([null]);
  });

  it.each([
    { probe: PROBE_OK, runner: 'ok', ok: true, when: 'answers healthy' },
    { probe: PROBE_DOWN, runner: 'down', ok: false, when: 'fails' },
  ])('reports the runner $runner and emits runnerHealth($ok) when the probe $when', async ({ probe, runner, ok }) => {
    const world = healthWorld({ probe });

    const report = await run(world);

    expect(report.runner).toBe(runner);
    expect(world.metrics.argsOf('runnerHealth')).toEqual([[ok]]);
  });

  it('reports not_configured and writes no lean-health when no runner is configured', async () => {
    const world = healthWorld({ probe: null });

    const report = await run(world);

    expect(report.runner).toBe('not_configured');
    expect(world.control.calls).not.toContain('writeLeanHealth');
  });

  it('emits no runnerHealth gauge when no runner is configured', async () => {
    const world = healthWorld({ probe: null });

    await run(world);

    expect(world.metrics.argsOf('runnerHealth')).toEqual([]);
  });

  it('writes a healthy probe to lean-health even when the control values are unreadable', async () => {
    const world = healthWorld({ probe: PROBE_OK, controlFails: ['readFresh'] });

    await run(world);

    expect(world.control.leanHealthWrites).toEqual([{ status: 'ok', checked_at: NOW, last_ok_at: NOW, latency_ms: 12 }]);
  });

  it('does not write a failed probe when the control values are unreadable, so last_ok_at is not erased', async () => {
    const world = healthWorld({ probe: PROBE_DOWN, controlFails: ['readFresh'] });

    const report = await run(world);

    expect(report.runner).toBe('down');
    expect(world.control.calls).not.toContain('writeLeanHealth');
  });

  it('treats a probe that throws as a down runner and records it in lean-health', async () => {
    const world = healthWorld({ probe: new Error('socket hang up'), control: healthLastOk(MINUTE) });

    const report = await run(world);

    expect(report.runner).toBe('down');
    expect(world.control.leanHealthWrites).toEqual([
      expect.objectContaining({ status: 'down', checked_at: NOW, last_ok_at: ago(MINUTE), detail: expect.stringContaining('socket hang up') }),
    ]);
  });

  it('records how long a probe that throws took', async () => {
    const world = healthWorld({ probe: new Error('socket hang up'), control: healthLastOk(MINUTE) });
    const readings = [5_000, 5_250];
    const clock: Clock = { now: () => new Date(NOW), monotonicMs: () => readings.shift() ?? Number.NaN };

    await run(world, { clock });

    expect(world.control.leanHealthWrites.map((health) => health.latency_ms)).toEqual([250]);
  });

  it('still measures the error rate and emits the gauges when the probe throws', async () => {
    const world = healthWorld({ probe: new Error('socket hang up') });

    await run(world);

    expect(world.store.leanOutcomeQueries).toHaveLength(1);
    expect(world.metrics.argsOf('killSwitchState')).toEqual([[false]]);
  });
});

describe('runHealthCheck: LEAN error rate', () => {
  it('counts LEAN outcomes since the start of the window', async () => {
    const world = healthWorld({ settings: { errorRateWindowMs: 2 * MINUTE } });

    await run(world);

    expect(world.store.leanOutcomeQueries).toEqual([ago(2 * MINUTE)]);
  });

  it.each([
    { name: 'trips the kill switch with lean_error_rate when 3 of 10 LEAN submits failed', counts: { submitted: 10, failed: 3 }, trips: true },
    { name: 'trips when every one of 10 LEAN submits failed', counts: { submitted: 10, failed: 10 }, trips: true },
    { name: 'trips when 26 of 100 LEAN submits failed, just over the threshold', counts: { submitted: 100, failed: 26 }, trips: true },
    { name: 'does not trip when 25 of 100 failed: exactly the threshold, and the rule is strictly above', counts: { submitted: 100, failed: 25 }, trips: false },
    { name: 'does not trip when 2 of 10 LEAN submits failed', counts: { submitted: 10, failed: 2 }, trips: false },
    { name: 'does not trip when no LEAN submit failed', counts: { submitted: 50, failed: 0 }, trips: false },
    { name: 'does not trip when all 9 LEAN submits failed: below the minimum volume of 10', counts: { submitted: 9, failed: 9 }, trips: false },
    { name: 'does not trip when LEAN had no traffic', counts: { submitted: 0, failed: 0 }, trips: false },
  ])('$name', async ({ counts, trips }) => {
    const world = healthWorld({ store: { leanOutcomes: counts } });

    const report = await run(world);

    expect(tripReasons(world)).toEqual(trips ? ['lean_error_rate'] : []);
    expect(report.tripped).toBe(trips ? 'lean_error_rate' : undefined);
  });

  // Thresholds that binary floating point does not hold exactly: 0.29 * 100 is 28.999999999999996.
  it.each([
    { threshold: 0.25, failed: 25 },
    { threshold: 0.29, failed: 29 },
    { threshold: 0.57, failed: 57 },
    { threshold: 0.07, failed: 7 },
  ])('does not trip at exactly a threshold of $threshold ($failed of 100 LEAN submits failed)', async ({ threshold, failed }) => {
    const world = healthWorld({ store: { leanOutcomes: { submitted: 100, failed } }, settings: { errorRateThreshold: threshold } });

    await run(world);

    expect(tripReasons(world)).toEqual([]);
  });

  it('follows the configured threshold and minimum volume', async () => {
    const world = healthWorld({ store: { leanOutcomes: { submitted: 4, failed: 3 } }, settings: { errorRateMinVolume: 4, errorRateThreshold: 0.5 } });

    await run(world);

    expect(tripReasons(world)).toEqual(['lean_error_rate']);
  });

  it('reports the counts and the rate as a percent', async () => {
    const world = healthWorld({ store: { leanOutcomes: { submitted: 40, failed: 5 } } });

    const report = await run(world);

    expect(report.errorRate).toEqual({ submitted: 40, failed: 5, percent: 12.5 });
  });

  it('emits leanErrorRate as a percent', async () => {
    const world = healthWorld({ store: { leanOutcomes: ERROR_RATE_BREACH } });

    await run(world);

    expect(world.metrics.argsOf('leanErrorRate')).toEqual([[30]]);
  });

  it('computes the rate at exactly the minimum volume', async () => {
    const world = healthWorld({ store: { leanOutcomes: { submitted: 10, failed: 1 } } });

    const report = await run(world);

    expect(report.errorRate?.percent).toBe(10);
  });

  it('reports no error rate and emits no leanErrorRate gauge below the minimum volume', async () => {
    const world = healthWorld({ store: { leanOutcomes: { submitted: 9, failed: 1 } } });

    const report = await run(world);

    expect(report).not.toHaveProperty('errorRate');
    expect(world.metrics.argsOf('leanErrorRate')).toEqual([]);
  });

  it('writes the trip set by health-check, with the counts, window and threshold in its detail', async () => {
    const world = healthWorld({ store: { leanOutcomes: ERROR_RATE_BREACH } });

    await run(world);

    expect(world.control.killSwitchTrips).toEqual([
      { reason: 'lean_error_rate', set_by: 'health-check', detail: '3 of 10 LEAN submits failed in the last 300 s (30.0%, threshold 25%)' },
    ]);
  });

  it('counts the trip with killSwitchTrip(lean_error_rate)', async () => {
    const world = healthWorld({ store: { leanOutcomes: ERROR_RATE_BREACH } });

    await run(world);

    expect(world.metrics.argsOf('killSwitchTrip')).toEqual([['lean_error_rate']]);
  });

  it('logs kill_switch_tripped at error with the reason and who set it', async () => {
    const world = healthWorld({ store: { leanOutcomes: ERROR_RATE_BREACH } });

    await run(world);

    expect(world.logger.withMessage('kill_switch_tripped')).toEqual([
      expect.objectContaining({ level: 'error', fields: expect.objectContaining({ reason: 'lean_error_rate', set_by: 'health-check' }) }),
    ]);
  });
});

/** The switch as an operator's unkill left it `agoMs` before now: off, changed then. */
function unkilled(agoMs: number): Partial<ControlSnapshot> {
  return { killSwitch: { state: 'off', changed_at: ago(agoMs), source: 'parameter' } };
}

describe('runHealthCheck: LEAN error rate after an operator turns LEAN back on', () => {
  it('counts LEAN outcomes since the kill switch’s change when that was inside the window', async () => {
    const world = healthWorld({ control: unkilled(MINUTE) });

    await run(world);

    expect(world.store.leanOutcomeQueries).toEqual([ago(MINUTE)]);
  });

  it('counts over the whole window when the switch last changed before the window began', async () => {
    const world = healthWorld({ control: unkilled(20 * MINUTE) });

    await run(world);

    expect(world.store.leanOutcomeQueries).toEqual([ago(5 * MINUTE)]);
  });

  it('counts over the whole window while the switch is on, so the gauge still shows what tripped it', async () => {
    const world = healthWorld({ control: { killSwitch: { ...parseKillSwitch('on'), changed_at: ago(MINUTE) } } });

    await run(world);

    expect(world.store.leanOutcomeQueries).toEqual([ago(5 * MINUTE)]);
  });

  it('counts over the whole window when the control values cannot be read', async () => {
    const world = healthWorld({ controlFails: ['readFresh'] });

    const report = await run(world);

    expect(world.store.leanOutcomeQueries).toEqual([ago(5 * MINUTE)]);
    expect(report.errorRateWindow).toEqual({ since: ago(5 * MINUTE), cause: 'window' });
  });

  it('reports where the count started and that the switch’s change set it', async () => {
    const world = healthWorld({ control: unkilled(MINUTE) });

    const report = await run(world);

    expect(report.errorRateWindow).toEqual({ since: ago(MINUTE), cause: 'switch_changed' });
  });

  it('says since when it counted in the trip detail when new failures trip the switch again', async () => {
    const world = healthWorld({ control: unkilled(MINUTE), store: { leanOutcomes: ERROR_RATE_BREACH } });

    await run(world);

    expect(world.control.killSwitchTrips).toEqual([
      {
        reason: 'lean_error_rate',
        set_by: 'health-check',
        detail: `3 of 10 LEAN submits failed since the kill switch was last changed at ${ago(MINUTE)} (30.0%, threshold 25%)`,
      },
    ]);
  });

  it('logs where the count started in the health_check line', async () => {
    const world = healthWorld({ control: unkilled(MINUTE) });

    await run(world);

    expect(logFields(world, 'health_check')).toEqual([expect.objectContaining({ errorRateWindow: { since: ago(MINUTE), cause: 'switch_changed' } })]);
  });
});

describe('runHealthCheck: stale runner health', () => {
  it.each([
    { name: 'trips runner_health_stale when the probe fails and the last healthy probe was 4 minutes ago (limit 3)', lastOkAgo: 4 * MINUTE, trips: true },
    { name: 'trips when the probe fails and the last healthy probe was 3 minutes and 1 ms ago', lastOkAgo: 3 * MINUTE + 1, trips: true },
    { name: 'does not trip when the last healthy probe was exactly 3 minutes ago: the rule is strictly older', lastOkAgo: 3 * MINUTE, trips: false },
    { name: 'does not trip when the probe fails and the last healthy probe was 2 minutes ago', lastOkAgo: 2 * MINUTE, trips: false },
    { name: 'trips when the probe fails and the last healthy probe is dated a day ahead: it was never made', lastOkAgo: -24 * 60 * MINUTE, trips: true },
  ])('$name', async ({ lastOkAgo, trips }) => {
    const world = healthWorld({ probe: PROBE_DOWN, control: healthLastOk(lastOkAgo) });

    await run(world);

    expect(tripReasons(world)).toEqual(trips ? ['runner_health_stale'] : []);
  });

  it.each([
    { name: 'lean-health was never written', control: { leanHealth: undefined } },
    { name: 'lean-health records no healthy probe yet', control: { leanHealth: { status: 'unknown', checked_at: null, last_ok_at: null, latency_ms: null } } },
  ] satisfies { name: string; control: Partial<ControlSnapshot> }[])(
    'does not trip on the first failed probe of a runner never seen healthy when $name, and records when it started failing',
    async ({ control }) => {
      const world = healthWorld({ probe: PROBE_DOWN, control });

      await run(world);

      expect(tripReasons(world)).toEqual([]);
      expect(world.control.leanHealthWrites.map((health) => health.down_since)).toEqual([NOW]);
    },
  );

  it('trips runner_health_stale when a runner never seen healthy has failed every probe for over 3 minutes', async () => {
    const neverHealthy = { status: 'down', checked_at: ago(MINUTE), last_ok_at: null, latency_ms: 2_000, down_since: ago(4 * MINUTE) } as const;
    const world = healthWorld({ probe: PROBE_DOWN, control: { leanHealth: neverHealthy } });

    await run(world);

    expect(tripReasons(world)).toEqual(['runner_health_stale']);
  });

  it('keeps down_since across consecutive failed probes and drops it on a healthy one', async () => {
    const failing = { status: 'down', checked_at: ago(MINUTE), last_ok_at: null, latency_ms: 2_000, down_since: ago(2 * MINUTE) } as const;
    const stillDown = healthWorld({ probe: PROBE_DOWN, control: { leanHealth: failing } });
    const recovered = healthWorld({ probe: PROBE_OK, control: { leanHealth: failing } });

    await run(stillDown);
    await run(recovered);

    expect(stillDown.control.leanHealthWrites.map((health) => health.down_since)).toEqual([ago(2 * MINUTE)]);
    expect(recovered.control.leanHealthWrites.map((health) => health.down_since)).toEqual([undefined]);
  });

  it('follows the configured staleness limit', async () => {
    const world = healthWorld({ probe: PROBE_DOWN, control: STALE_HEALTH, settings: { runnerHealthStaleMs: 10 * MINUTE } });

    await run(world);

    expect(tripReasons(world)).toEqual([]);
  });

  it('judges staleness after this run’s probe: a healthy probe now clears a stale lean-health', async () => {
    const world = healthWorld({ probe: PROBE_OK, control: healthLastOk(60 * MINUTE) });

    await run(world);

    expect(tripReasons(world)).toEqual([]);
  });

  it('records the failed probe in lean-health before it trips on stale health', async () => {
    const world = healthWorld({ probe: PROBE_DOWN, control: STALE_HEALTH });

    await run(world);

    expect(world.control.calls).toEqual(['readFresh', 'writeLeanHealth', 'tripKillSwitch']);
  });

  it('does not trip on a stale lean-health when no runner is configured', async () => {
    const world = healthWorld({ probe: null, control: STALE_HEALTH });

    await run(world);

    expect(tripReasons(world)).toEqual([]);
  });

  it('says since when no healthy probe was seen, the limit and the last failure in the trip detail', async () => {
    const world = healthWorld({ probe: PROBE_DOWN, control: STALE_HEALTH });

    await run(world);

    expect(world.control.killSwitchTrips).toEqual([
      {
        reason: 'runner_health_stale',
        set_by: 'health-check',
        detail: `no healthy probe since ${ago(4 * MINUTE)} (limit 180 s); last: ${PROBE_DOWN.detail}`,
      },
    ]);
  });

  it('says since when a runner never seen healthy has been failing in the trip detail', async () => {
    const neverHealthy = { status: 'down', checked_at: ago(MINUTE), last_ok_at: null, latency_ms: 2_000, down_since: ago(4 * MINUTE) } as const;
    const world = healthWorld({ probe: PROBE_DOWN, control: { leanHealth: neverHealthy } });

    await run(world);

    expect(world.control.killSwitchTrips.map((trip) => trip.detail)).toEqual([
      `no healthy probe since the first failed probe at ${ago(4 * MINUTE)} (limit 180 s); last: ${PROBE_DOWN.detail}`,
    ]);
  });

  it('gives the last status in the trip detail when the failed probe said nothing more', async () => {
    const world = healthWorld({ probe: { ok: false, latencyMs: 2_000 }, control: STALE_HEALTH });

    await run(world);

    expect(world.control.killSwitchTrips.map((trip) => trip.detail)).toEqual([`no healthy probe since ${ago(4 * MINUTE)} (limit 180 s); last: down`]);
  });

  it('trips once, with lean_error_rate, when the error rate and stale health both breach', async () => {
    const world = healthWorld({ probe: PROBE_DOWN, control: STALE_HEALTH, store: { leanOutcomes: ERROR_RATE_BREACH } });

    const report = await run(world);

    expect(tripReasons(world)).toEqual(['lean_error_rate']);
    expect(world.metrics.argsOf('killSwitchTrip')).toEqual([['lean_error_rate']]);
    expect(report.tripped).toBe('lean_error_rate');
  });
});

/** Both breaches at once, so only the switch's state decides whether anything is written. */
const BOTH_BREACHES: WorldOptions = { probe: PROBE_DOWN, control: STALE_HEALTH, store: { leanOutcomes: ERROR_RATE_BREACH } };

const UNTOUCHABLE_SWITCHES: { name: string; killSwitch: KillSwitch }[] = [
  { name: 'on, set by an operator', killSwitch: parseKillSwitch('on') },
  { name: 'on, tripped earlier by the health-check', killSwitch: parseKillSwitch('{"state":"on","reason":"runner_health_stale","set_by":"health-check"}') },
  { name: 'unreadable', killSwitch: parseKillSwitch('maybe') },
  { name: 'missing', killSwitch: parseKillSwitch(undefined) },
  { name: 'unavailable', killSwitch: UNAVAILABLE_CONTROL.killSwitch },
];

describe.each(UNTOUCHABLE_SWITCHES)('runHealthCheck when the kill switch is $name and both limits are breached', ({ killSwitch }) => {
  function breachedWorld(): HealthWorld {
    return healthWorld({ ...BOTH_BREACHES, control: { ...STALE_HEALTH, killSwitch } });
  }

  it('leaves the kill switch as it is', async () => {
    const world = breachedWorld();

    await run(world);

    expect(world.control.calls).not.toContain('tripKillSwitch');
  });

  it('counts no trip and reports none', async () => {
    const world = breachedWorld();

    const report = await run(world);

    expect(world.metrics.argsOf('killSwitchTrip')).toEqual([]);
    expect(report).not.toHaveProperty('tripped');
  });

  it('reports the switch on and emits killSwitchState(true)', async () => {
    const world = breachedWorld();

    const report = await run(world);

    expect(report.killSwitch).toBe('on');
    expect(world.metrics.argsOf('killSwitchState')).toEqual([[true]]);
  });
});

describe('runHealthCheck: which kill switch it trips', () => {
  it('leaves alone a switch that reads off but was not read from the parameter', async () => {
    const world = healthWorld({ control: { killSwitch: { state: 'off', source: 'unavailable' } }, store: { leanOutcomes: ERROR_RATE_BREACH } });

    await run(world);

    expect(world.control.calls).not.toContain('tripKillSwitch');
  });

  it.each([
    { name: 'plain off', raw: 'off' },
    { name: 'off in another case, with blanks', raw: ' OFF \n' },
    { name: 'off in the JSON form, with an operator’s reason', raw: '{"state":"off","reason":"runner fixed","set_by":"alice"}' },
  ])('trips a switch read as $name', async ({ raw }) => {
    const world = healthWorld({ control: { killSwitch: parseKillSwitch(raw) }, store: { leanOutcomes: ERROR_RATE_BREACH } });

    const report = await run(world);

    expect(tripReasons(world)).toEqual(['lean_error_rate']);
    expect(report.killSwitch).toBe('on');
  });

  it('emits killSwitchState(true) after tripping the switch', async () => {
    const world = healthWorld({ store: { leanOutcomes: ERROR_RATE_BREACH } });

    await run(world);

    expect(world.metrics.argsOf('killSwitchState')).toEqual([[true]]);
  });

  it('emits killSwitchState(false) while the switch is off and nothing breaches', async () => {
    const world = healthWorld({ store: { leanOutcomes: { submitted: 10, failed: 0 } } });

    const report = await run(world);

    expect(report.killSwitch).toBe('off');
    expect(world.metrics.argsOf('killSwitchState')).toEqual([[false]]);
  });

  it('keeps a tripped switch on once LEAN is healthy again: it only reads the switch and writes lean-health', async () => {
    const world = healthWorld({
      probe: PROBE_OK,
      control: { killSwitch: parseKillSwitch('{"state":"on","reason":"lean_error_rate","set_by":"health-check"}') },
      store: { leanOutcomes: { submitted: 50, failed: 0 } },
    });

    const report = await run(world);

    expect(world.control.calls).toEqual(['readFresh', 'writeLeanHealth']);
    expect(report.killSwitch).toBe('on');
  });

  it('logs kill_switch_trip_failed at error when SSM refuses the trip', async () => {
    const world = healthWorld({ store: { leanOutcomes: ERROR_RATE_BREACH }, controlFails: ['tripKillSwitch'] });

    await run(world);

    expect(world.logger.withMessage('kill_switch_trip_failed')).toEqual([
      expect.objectContaining({ level: 'error', fields: expect.objectContaining({ reason: 'lean_error_rate', error: expect.stringContaining('ThrottlingException') }) }),
    ]);
  });

  it('neither counts nor reports a trip SSM refused, and reports the switch still off', async () => {
    const world = healthWorld({ store: { leanOutcomes: ERROR_RATE_BREACH }, controlFails: ['tripKillSwitch'] });

    const report = await run(world);

    expect(world.metrics.argsOf('killSwitchTrip')).toEqual([]);
    expect(report).not.toHaveProperty('tripped');
    expect(report.killSwitch).toBe('off');
  });
});

describe('runHealthCheck when the control values cannot be read', () => {
  function unreadableWorld(options: WorldOptions = {}): HealthWorld {
    return healthWorld({ ...options, controlFails: ['readFresh'] });
  }

  it('writes no trip even when both limits are breached', async () => {
    const world = unreadableWorld(BOTH_BREACHES);

    await run(world);

    expect(world.control.calls).not.toContain('tripKillSwitch');
  });

  it('reports the kill switch on and emits killSwitchState(true)', async () => {
    const world = unreadableWorld();

    const report = await run(world);

    expect(report.killSwitch).toBe('on');
    expect(world.metrics.argsOf('killSwitchState')).toEqual([[true]]);
  });

  it('does not sweep manual reviews, and emits no symbols-in-review gauge rather than a false zero', async () => {
    const world = unreadableWorld({ store: { fallbacks: THREE_AAPL_FALLBACKS } });

    const report = await run(world);

    expect(world.store.fallbackQueries).toEqual([]);
    expect(report.symbolsInReview).toEqual([]);
    expect(report.reviewsTripped).toEqual([]);
    expect(world.metrics.argsOf('symbolsInManualReview')).toEqual([]);
  });

  it('logs health_check_control_unreadable at error', async () => {
    const world = unreadableWorld();

    await run(world);

    expect(world.logger.withMessage('health_check_control_unreadable')).toEqual([
      expect.objectContaining({
        level: 'error',
        fields: { error: 'Error: ThrottlingException: readFresh refused', effect: 'no trip or review is written this run' },
      }),
    ]);
  });
});

describe('runHealthCheck: manual review sweep', () => {
  it('reads the fallbacks since the start of the review window', async () => {
    const world = healthWorld();

    await run(world);

    expect(world.store.fallbackQueries).toEqual([ago(15 * MINUTE)]);
  });

  it('puts a symbol with 3 fallbacks in the window in review, set by health-check', async () => {
    const world = healthWorld({ store: { fallbacks: THREE_AAPL_FALLBACKS } });

    await run(world);

    expect(world.control.reviewTrips).toEqual([
      { symbol: 'AAPL', reason: `repeated_fallback: 3 fallbacks since ${ago(15 * MINUTE)}`, setBy: 'health-check' },
    ]);
  });

  it.each([
    { name: 'a symbol with 2 fallbacks, one short of 3', fallbacks: fallbacksOf('AAPL', 10 * MINUTE, 5 * MINUTE), control: {} },
    {
      name: 'two symbols with 2 fallbacks each',
      fallbacks: [...fallbacksOf('AAPL', 10 * MINUTE, 5 * MINUTE), ...fallbacksOf('MSFT', 9 * MINUTE, 4 * MINUTE)],
      control: {},
    },
    {
      name: 'a symbol already in review',
      fallbacks: THREE_AAPL_FALLBACKS,
      control: reviews({ symbol: 'AAPL', state: 'review', changed_at: ago(20 * MINUTE), reason: 'operator' }),
    },
    {
      name: 'a symbol cleared 6 minutes ago with 2 fallbacks since',
      fallbacks: fallbacksOf('AAPL', 10 * MINUTE, 5 * MINUTE, 2 * MINUTE),
      control: reviews({ symbol: 'AAPL', state: 'cleared', changed_at: ago(6 * MINUTE) }),
    },
  ] satisfies { name: string; fallbacks: { symbol: string; created_at: string }[]; control: Partial<ControlSnapshot> }[])(
    'does not put $name in review',
    async ({ fallbacks, control }) => {
      const world = healthWorld({ store: { fallbacks }, control });

      await run(world);

      expect(world.control.calls).not.toContain('putSymbolInReview');
    },
  );

  it.each([
    { name: 'at or after an operator cleared it (a fallback at the clear itself counts)', clearedAgo: 5 * MINUTE, fallbackAgos: [5 * MINUTE, 3 * MINUTE, MINUTE] },
    { name: 'in the window when the clear is older than the window', clearedAgo: 60 * MINUTE, fallbackAgos: [10 * MINUTE, 5 * MINUTE, 2 * MINUTE] },
  ])('puts a cleared symbol back in review with 3 fallbacks $name', async ({ clearedAgo, fallbackAgos }) => {
    const world = healthWorld({
      store: { fallbacks: fallbacksOf('AAPL', ...fallbackAgos) },
      control: reviews({ symbol: 'AAPL', state: 'cleared', changed_at: ago(clearedAgo) }),
    });

    await run(world);

    expect(world.control.reviewTrips.map((trip) => trip.symbol)).toEqual(['AAPL']);
  });

  it('reports the symbols it put in review', async () => {
    const world = healthWorld({ store: { fallbacks: [...THREE_AAPL_FALLBACKS, ...fallbacksOf('MSFT', MINUTE)] } });

    const report = await run(world);

    expect(report.reviewsTripped).toEqual(['AAPL']);
  });

  it('counts the symbols already in review and the ones it put in review in symbolsInManualReview', async () => {
    const world = healthWorld({
      store: { fallbacks: THREE_AAPL_FALLBACKS },
      control: reviews(
        { symbol: 'MSFT', state: 'review', changed_at: ago(30 * MINUTE) },
        { symbol: 'TSLA', state: 'cleared', changed_at: ago(30 * MINUTE) },
      ),
    });

    const report = await run(world);

    expect(report.symbolsInReview).toEqual(['MSFT', 'AAPL']);
    expect(world.metrics.argsOf('symbolsInManualReview')).toEqual([[2]]);
  });

  it('sweeps even while the kill switch is on', async () => {
    const world = healthWorld({ store: { fallbacks: THREE_AAPL_FALLBACKS }, control: KILL_ON });

    await run(world);

    expect(world.control.reviewTrips.map((trip) => trip.symbol)).toEqual(['AAPL']);
  });

  it('logs symbol_manual_review_tripped at warn with the symbol and its count', async () => {
    const world = healthWorld({ store: { fallbacks: THREE_AAPL_FALLBACKS } });

    await run(world);

    expect(world.logger.withMessage('symbol_manual_review_tripped')).toEqual([
      expect.objectContaining({ level: 'warn', fields: { symbol: 'AAPL', fallbacks: 3, set_by: 'health-check' } }),
    ]);
  });

  it('logs symbol_manual_review_failed for each symbol SSM refused, tries every one, and reports none as put in review', async () => {
    const world = healthWorld({
      store: { fallbacks: [...THREE_AAPL_FALLBACKS, ...fallbacksOf('MSFT', 3 * MINUTE, 2 * MINUTE, MINUTE)] },
      controlFails: ['putSymbolInReview'],
    });

    const report = await run(world);

    expect(logFields(world, 'symbol_manual_review_failed').map((fields) => fields.symbol)).toEqual(['AAPL', 'MSFT']);
    expect(report.reviewsTripped).toEqual([]);
  });

  it('logs fallback_history_unreadable and puts no symbol in review when the fallbacks cannot be read', async () => {
    const world = healthWorld({ storeFails: ['listFallbacks'] });

    const report = await run(world);

    expect(world.logger.withMessage('fallback_history_unreadable')).toEqual([
      expect.objectContaining({ level: 'error', fields: { error: 'ProvenanceUnavailableError: provenance index unreachable (listFallbacks)' } }),
    ]);
    expect(report.reviewsTripped).toEqual([]);
  });
});

describe('runHealthCheck: failure isolation', () => {
  it('logs lean_error_rate_unreadable and still trips on stale health when LEAN outcomes cannot be counted', async () => {
    const world = healthWorld({ probe: PROBE_DOWN, control: STALE_HEALTH, storeFails: ['countLeanOutcomes'] });

    const report = await run(world);

    expect(world.logger.withMessage('lean_error_rate_unreadable')).toEqual([
      expect.objectContaining({ level: 'error', fields: { error: 'ProvenanceUnavailableError: provenance index unreachable (countLeanOutcomes)' } }),
    ]);
    expect(report).not.toHaveProperty('errorRate');
    expect(tripReasons(world)).toEqual(['runner_health_stale']);
  });

  it('logs lean_health_write_failed and still trips on the error rate when lean-health cannot be written', async () => {
    const world = healthWorld({ store: { leanOutcomes: ERROR_RATE_BREACH }, controlFails: ['writeLeanHealth'] });

    await run(world);

    expect(world.logger.withMessage('lean_health_write_failed')).toEqual([
      expect.objectContaining({ level: 'error', fields: { error: 'Error: ThrottlingException: writeLeanHealth refused' } }),
    ]);
    expect(tripReasons(world)).toEqual(['lean_error_rate']);
  });

  it('still sweeps reviews when the trip cannot be written', async () => {
    const world = healthWorld({ store: { leanOutcomes: ERROR_RATE_BREACH, fallbacks: THREE_AAPL_FALLBACKS }, controlFails: ['tripKillSwitch'] });

    const report = await run(world);

    expect(report.reviewsTripped).toEqual(['AAPL']);
  });

  it('still emits the kill switch, runner and review gauges when every store query fails', async () => {
    const world = healthWorld({ storeFails: ['countLeanOutcomes', 'listFallbacks'] });

    await run(world);

    expect(world.metrics.calls.map((call) => call.name).sort()).toEqual(['killSwitchState', 'runnerHealth', 'symbolsInManualReview']);
  });
});

describe('runHealthCheck: the report and its log line', () => {
  it('reports a quiet run: runner ok, switch off, nothing tripped, swept or reconciled', async () => {
    const world = healthWorld();

    const report = await run(world);

    expect(report).toEqual({
      runner: 'ok',
      errorRateWindow: { since: ago(5 * MINUTE), cause: 'window' },
      killSwitch: 'off',
      symbolsInReview: [],
      reviewsTripped: [],
    });
  });

  it('emits each gauge once on a run with enough LEAN volume', async () => {
    const world = healthWorld({ store: { leanOutcomes: { submitted: 20, failed: 1 } } });

    await run(world);

    expect(world.metrics.calls).toEqual(
      expect.arrayContaining([
        { name: 'runnerHealth', args: [true] },
        { name: 'leanErrorRate', args: [5] },
        { name: 'killSwitchState', args: [false] },
        { name: 'symbolsInManualReview', args: [0] },
      ]),
    );
    expect(world.metrics.calls).toHaveLength(4);
  });

  it('logs the summary at debug on a quiet run', async () => {
    const world = healthWorld();

    const report = await run(world);

    expect(world.logger.withMessage('health_check')).toEqual([{ level: 'debug', message: 'health_check', fields: { ...report } }]);
  });

  it.each([
    { name: 'the runner is down', options: { probe: PROBE_DOWN } },
    { name: 'it tripped the kill switch', options: { store: { leanOutcomes: ERROR_RATE_BREACH } } },
    { name: 'the kill switch was already on', options: { control: KILL_ON } },
    { name: 'the control values are unreadable', options: { controlFails: ['readFresh'] } },
    { name: 'it put a symbol in review', options: { store: { fallbacks: THREE_AAPL_FALLBACKS } } },
  ] satisfies { name: string; options: WorldOptions }[])('logs the summary at warn when $name', async ({ options }) => {
    const world = healthWorld(options);

    const report = await run(world);

    expect(world.logger.withMessage('health_check')).toEqual([{ level: 'warn', message: 'health_check', fields: { ...report } }]);
  });
});

describe('runHealthCheck leaves unresolved rows to the lifecycle sync', () => {
  it('neither lists nor resolves a row left pending, however old', async () => {
    const world = healthWorld({ store: { unresolved: [STUCK_ROW, { ...STUCK_ROW, client_order_id: 'ord-stuck-2', status: 'unknown' }] } });

    await run(world);

    expect([world.store.unresolvedQueries, world.store.resolutions]).toEqual([[], []]);
  });
});
