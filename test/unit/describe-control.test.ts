import { describe, expect, it } from 'vitest';
import { describeControl } from '../../lib/cli/cli';
import { openControl } from '../support/fakes';

const NOW = new Date('2026-11-25T10:00:00.000Z');

describe('describeControl (lean-router status summary)', () => {
  it('says LEAN is allowed when the kill switch reads off', () => {
    const text = describeControl(openControl(NOW.toISOString()), NOW);

    expect(text).toContain('LEAN: allowed (kill switch off)');
  });

  it('says LEAN is off with the reason, who and when of a trip', () => {
    const control = openControl(NOW.toISOString(), {
      killSwitch: { state: 'on', reason: 'lean_error_rate', set_by: 'health-check', set_at: '2026-11-25T09:58:00.000Z', source: 'parameter' },
    });

    const text = describeControl(control, NOW);

    expect(text).toContain('LEAN: OFF for every order (kill switch on: lean_error_rate, by health-check, at 2026-11-25T09:58:00.000Z)');
  });

  it('says LEAN is off when the kill switch value is unreadable, and why', () => {
    const control = openControl(NOW.toISOString(), { killSwitch: { state: 'on', reason: 'kill-switch value "maybe" is not on, off or the JSON form', source: 'unreadable' } });

    const text = describeControl(control, NOW);

    expect(text).toContain('LEAN: OFF for every order (kill switch on, unreadable: kill-switch value "maybe"');
  });

  it('names an invalid policy parameter and its consequence', () => {
    const control = openControl(NOW.toISOString(), { policy: { kind: 'invalid', problem: 'policy: expected all or allowlist' } });

    const text = describeControl(control, NOW);

    expect(text).toContain('policy: INVALID parameter, orders route away from LEAN: policy: expected all or allowlist');
  });

  it('shows a valid policy override as it will be applied', () => {
    const control = openControl(NOW.toISOString(), { policy: { kind: 'valid', value: { policy: 'allowlist', symbols: new Set(['AAPL']) } } });

    const text = describeControl(control, NOW);

    expect(text).toContain('policy: parameter overrides the environment: {"policy":"allowlist","symbols":["AAPL"]}');
  });

  it('gives the age of the last runner probe in seconds', () => {
    const control = openControl(NOW.toISOString(), {
      leanHealth: { status: 'down', checked_at: '2026-11-25T09:59:30.000Z', last_ok_at: null, latency_ms: null, detail: 'connection refused' },
    });

    const text = describeControl(control, NOW);

    expect(text).toContain('runner health: down, checked 30 s ago (connection refused)');
  });

  it('says when the runner health was never written', () => {
    const text = describeControl(openControl(NOW.toISOString(), { leanHealth: undefined }), NOW);

    expect(text).toContain('runner health: never written');
  });

  it('lists the symbols in review and leaves out cleared ones', () => {
    const reviews = new Map([
      ['AAPL', { symbol: 'AAPL', state: 'review' as const, changed_at: NOW.toISOString() }],
      ['MSFT', { symbol: 'MSFT', state: 'cleared' as const, changed_at: NOW.toISOString() }],
    ]);

    const text = describeControl(openControl(NOW.toISOString(), { reviews }), NOW);

    expect(text).toContain('manual review: AAPL');
    expect(text).not.toContain('MSFT');
  });
});
