import { describe, expect, it } from 'vitest';
import { statusJson, statusText, type StatusReport } from '../../lib/cli/status-report';
import { openControl } from '../support/fakes';

const NOW = new Date('2026-11-25T10:00:00.000Z');

function report(overrides: Partial<StatusReport> = {}): StatusReport {
  return {
    stage: 'paper',
    prefix: '/lean-router/paper/',
    tableName: 'lean-router-paper-provenance',
    control: openControl(NOW.toISOString()),
    parameters: [],
    errorRate: { checked: false, why: 'not judged while the kill switch is on; after unkill it counts only orders from then on' },
    alarms: { checked: true, namePrefix: 'lean-router-paper-', inAlarm: [] },
    runnerHealthStaleMs: 180_000,
    now: NOW,
    ...overrides,
  };
}

const RATE = { submitted: 4, failed: 1, threshold: 0.25, minVolume: 10, windowMs: 300_000 } as const;

describe('lean-router status: the LEAN error rate', () => {
  it('counts from the unkill when the kill switch was turned off within the window', () => {
    const text = statusText(report({ errorRate: { checked: true, since: '2026-11-25T09:58:30.000Z', cause: 'switch_changed', ...RATE } }));

    expect(text).toContain('LEAN error rate since 09:58:30Z (kill switch turned off then): 1 of 4 failed; a trip needs more than 25% of at least 10');
  });

  it('counts over the whole window otherwise, and says how long it is', () => {
    const text = statusText(report({ errorRate: { checked: true, since: '2026-11-25T09:55:00.000Z', cause: 'window', ...RATE } }));

    expect(text).toContain('LEAN error rate over the last 5 min (since 09:55:00Z): 1 of 4 failed; a trip needs more than 25% of at least 10');
  });

  it('gives the date of a window start on another day', () => {
    const text = statusText(report({ errorRate: { checked: true, since: '2026-11-24T23:58:00.000Z', cause: 'switch_changed', ...RATE } }));

    expect(text).toContain('LEAN error rate since 2026-11-24 23:58:00Z (kill switch turned off then)');
  });

  it('says why there is no rate to show', () => {
    const text = statusText(report());

    expect(text).toContain('LEAN error rate: not judged while the kill switch is on; after unkill it counts only orders from then on');
  });
});

describe('lean-router status: runner health staleness', () => {
  const KILLED = { state: 'on', reason: 'runner_health_stale', set_by: 'health-check', source: 'parameter' } as const;

  it('says an unkill trips again at the next health-check when no healthy probe is within the limit', () => {
    const control = openControl(NOW.toISOString(), {
      killSwitch: KILLED,
      leanHealth: { status: 'down', checked_at: '2026-11-25T09:59:30.000Z', last_ok_at: '2026-11-25T09:55:00.000Z', latency_ms: null, down_since: '2026-11-25T09:55:30.000Z' },
    });

    const text = statusText(report({ control }));

    expect(text).toContain(
      'runner health staleness: down since 09:55:30Z, no healthy probe since 09:55:00Z (limit 180 s): an unkill now trips again at the next health-check (runner_health_stale) unless its probe finds the runner healthy',
    );
  });

  it('says the next health-check trips the switch when it is off and no healthy probe is within the limit', () => {
    const control = openControl(NOW.toISOString(), {
      leanHealth: { status: 'down', checked_at: '2026-11-25T09:59:30.000Z', last_ok_at: '2026-11-25T09:56:59.000Z', latency_ms: null, down_since: '2026-11-25T09:57:10.000Z' },
    });

    const text = statusText(report({ control }));

    expect(text).toContain('(limit 180 s): the next health-check trips the kill switch (runner_health_stale) unless its probe finds the runner healthy');
  });

  it('says a healthy probe within the limit is within the limit', () => {
    const control = openControl(NOW.toISOString(), { killSwitch: KILLED, leanHealth: { status: 'ok', checked_at: '2026-11-25T09:57:00.000Z', last_ok_at: '2026-11-25T09:57:00.000Z', latency_ms: 4 } });

    const text = statusText(report({ control }));

    expect(text).toContain('runner health staleness: last healthy probe at 09:57:00Z (limit 180 s): within the limit');
  });

  it('judges a runner never seen healthy from its first failed probe, as the health-check does', () => {
    const control = openControl(NOW.toISOString(), {
      killSwitch: KILLED,
      leanHealth: { status: 'down', checked_at: '2026-11-25T09:59:30.000Z', last_ok_at: null, latency_ms: null, down_since: '2026-11-25T09:58:00.000Z' },
    });

    const text = statusText(report({ control }));

    expect(text).toContain('runner health staleness: down since 09:58:00Z and never seen healthy, counted from then (limit 180 s): within the limit');
  });

  it('takes the limit from the report, so TRADING_RUNNER_HEALTH_STALE_MS moves it', () => {
    const control = openControl(NOW.toISOString(), { killSwitch: KILLED, leanHealth: { status: 'ok', checked_at: '2026-11-25T09:59:00.000Z', last_ok_at: '2026-11-25T09:59:00.000Z', latency_ms: 4 } });

    const text = statusText(report({ control, runnerHealthStaleMs: 30_000 }));

    expect(text).toContain('runner health staleness: last healthy probe at 09:59:00Z (limit 30 s): an unkill now trips again at the next health-check (runner_health_stale) unless its probe finds the runner healthy');
  });

  it('says with no probe recorded that the count starts at the first failed probe', () => {
    const text = statusText(report({ control: openControl(NOW.toISOString(), { killSwitch: KILLED, leanHealth: undefined }) }));

    expect(text).toContain('runner health staleness: no probe recorded; a first failed probe starts the count (limit 180 s): within the limit');
  });
});

describe('lean-router status: a stage without a kill-switch parameter', () => {
  const MISSING = { state: 'on', reason: 'kill-switch parameter is missing', source: 'missing' } as const;

  it('says the routers keep LEAN off and asks whether the stage is deployed here', () => {
    const text = statusText(report({ control: openControl(NOW.toISOString(), { killSwitch: MISSING }) }));

    expect(text).toContain('LEAN: OFF for every order (no kill-switch parameter under /lean-router/paper/: the routers keep LEAN off; deployed in this account and region?)');
  });

  it('says a kill switch written back as off trips again when no healthy probe is within the limit', () => {
    const leanHealth = { status: 'down', checked_at: '2026-11-25T09:59:30.000Z', last_ok_at: '2026-11-25T09:50:00.000Z', latency_ms: null } as const;

    const text = statusText(report({ control: openControl(NOW.toISOString(), { killSwitch: MISSING, leanHealth }) }));

    expect(text).toContain('(limit 180 s): a kill switch written back as off now trips again at the next health-check (runner_health_stale) unless its probe finds the runner healthy');
  });

  it('says locally that npm start writes it', () => {
    const text = statusText(report({ stage: 'local', prefix: '/lean-router/local/', control: openControl(NOW.toISOString(), { killSwitch: MISSING }) }));

    expect(text).toContain('LEAN: OFF for every order (no kill-switch parameter under /lean-router/local/: the routers keep LEAN off; npm start writes it when it starts)');
  });
});

describe('lean-router status: alarms', () => {
  it('lists each alarm in ALARM with when and why', () => {
    const text = statusText(
      report({
        alarms: {
          checked: true,
          namePrefix: 'lean-router-paper-',
          inAlarm: [{ name: 'lean-router-paper-kill-switch-engaged', since: '2026-11-25T09:41:00.000Z', reason: 'Threshold Crossed: 1 datapoint [1.0] was >= 1.0' }],
        },
      }),
    );

    expect(text).toContain(
      ['alarms in ALARM (CloudWatch, lean-router-paper-*): 1', '  lean-router-paper-kill-switch-engaged since 2026-11-25T09:41:00.000Z: Threshold Crossed: 1 datapoint [1.0] was >= 1.0'].join('\n'),
    );
  });

  it('says none are in ALARM, and where it looked', () => {
    expect(statusText(report())).toContain('alarms in ALARM: none (CloudWatch, lean-router-paper-*)');
  });

  it('says why the alarms were not read', () => {
    const text = statusText(report({ alarms: { checked: false, why: 'the local stack has no CloudWatch alarms' } }));

    expect(text).toContain('alarms: the local stack has no CloudWatch alarms');
  });
});

describe('lean-router status --json', () => {
  it('carries the summary lines the text shows', () => {
    const subject = report();

    const json = statusJson(subject);

    expect(statusText(subject).startsWith((json.summary as string[]).join('\n'))).toBe(true);
  });

  it('parses JSON parameter values into objects and hides secure ones', () => {
    const json = statusJson(
      report({
        parameters: [
          { Name: '/lean-router/paper/kill-switch', Type: 'String', Value: '{"state":"off","reason":"fixed"}', Version: 3, LastModifiedDate: NOW },
          { Name: '/lean-router/paper/manual-review/TSLA', Type: 'String', Value: 'cleared', Version: 1 },
          { Name: '/lean-router/paper/alpaca-credentials', Type: 'SecureString', Value: 'AQICAH...', Version: 1 },
        ],
      }),
    );

    expect(json.parameters).toEqual([
      { name: '/lean-router/paper/kill-switch', value: { state: 'off', reason: 'fixed' }, version: 3, modified: NOW.toISOString() },
      { name: '/lean-router/paper/manual-review/TSLA', value: 'cleared', version: 1, modified: null },
      { name: '/lean-router/paper/alpaca-credentials', value: '(secure)', version: 1, modified: null },
    ]);
  });

  it('gives a policy override with its symbols as a list', () => {
    const control = openControl(NOW.toISOString(), { policy: { kind: 'valid', value: { policy: 'allowlist', symbols: new Set(['AAPL', 'MSFT']) } } });

    const json = statusJson(report({ control }));

    expect(JSON.parse(JSON.stringify(json.policy))).toEqual({ kind: 'valid', value: { policy: 'allowlist', symbols: ['AAPL', 'MSFT'] } });
  });

  it('gives the runner health staleness judgement as lean_health_judgement', () => {
    const control = openControl(NOW.toISOString(), {
      leanHealth: { status: 'down', checked_at: '2026-11-25T09:59:30.000Z', last_ok_at: null, latency_ms: null, down_since: '2026-11-25T09:55:00.000Z' },
    });

    const json = statusJson(report({ control }));

    expect(json.lean_health_judgement).toEqual({ stale: true, since: '2026-11-25T09:55:00.000Z', since_from: 'down_since', limit_ms: 180_000 });
  });

  it('names the error-rate fields as the other JSON fields are named', () => {
    const json = statusJson(report({ errorRate: { checked: true, since: '2026-11-25T09:58:30.000Z', cause: 'switch_changed', ...RATE } }));

    expect(json.error_rate).toEqual({ checked: true, since: '2026-11-25T09:58:30.000Z', cause: 'switch_changed', submitted: 4, failed: 1, threshold: 0.25, min_volume: 10, window_ms: 300_000 });
  });
});
