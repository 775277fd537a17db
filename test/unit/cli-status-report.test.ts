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

  it('names the error-rate fields as the other JSON fields are named', () => {
    const json = statusJson(report({ errorRate: { checked: true, since: '2026-11-25T09:58:30.000Z', cause: 'switch_changed', ...RATE } }));

    expect(json.error_rate).toEqual({ checked: true, since: '2026-11-25T09:58:30.000Z', cause: 'switch_changed', submitted: 4, failed: 1, threshold: 0.25, min_volume: 10, window_ms: 300_000 });
  });
});
