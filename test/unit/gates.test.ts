import { describe, expect, it } from 'vitest';
import type { ControlSnapshot, LeanHealth, SymbolReview } from '../../functions/core/control';
import { UNAVAILABLE_CONTROL } from '../../functions/core/control';
import { controlGates, GATE_PRECEDENCE, isRunnerHealthStale, PROBE_CLOCK_SKEW_MS, type GateReason, type StrategyGateInput } from '../../functions/core/gates';
import type { StrategyState } from '../../functions/core/strategy-enablement';
import { openControl } from '../support/fakes';

const NOW_ISO = '2025-01-02T14:30:00.000Z';
const NOW = new Date(NOW_ISO);
const STALE_MS = 180_000;

function isoBefore(ms: number): string {
  return new Date(NOW.getTime() - ms).toISOString();
}

function review(symbol: string, state: SymbolReview['state']): ReadonlyMap<string, SymbolReview> {
  return new Map([[symbol, { symbol, state, changed_at: isoBefore(60_000) }]]);
}

const KILL_ON: Partial<ControlSnapshot> = { killSwitch: { state: 'on', reason: 'operator', source: 'parameter' } };
const STALE: Partial<ControlSnapshot> = {
  leanHealth: { status: 'down', checked_at: NOW_ISO, last_ok_at: isoBefore(STALE_MS + 1), latency_ms: null },
};
const AAPL_IN_REVIEW: Partial<ControlSnapshot> = { reviews: review('AAPL', 'review') };

describe('GATE_PRECEDENCE', () => {
  it('is kill switch, stale runner health, strategy not enabled, manual review, breaker, in that order', () => {
    expect(GATE_PRECEDENCE).toEqual(['kill_switch', 'runner_health_stale', 'strategy_not_enabled', 'symbol_manual_review', 'breaker_open']);
  });
});

describe('controlGates', () => {
  const CASES: readonly { name: string; control: Partial<ControlSnapshot>; gates: GateReason[] }[] = [
    { name: 'nothing holds', control: {}, gates: [] },
    { name: 'the kill switch is on', control: KILL_ON, gates: ['kill_switch'] },
    { name: 'runner health is stale', control: STALE, gates: ['runner_health_stale'] },
    { name: 'the symbol is in manual review', control: AAPL_IN_REVIEW, gates: ['symbol_manual_review'] },
    { name: 'kill switch and stale health hold', control: { ...KILL_ON, ...STALE }, gates: ['kill_switch', 'runner_health_stale'] },
    { name: 'kill switch and review hold', control: { ...KILL_ON, ...AAPL_IN_REVIEW }, gates: ['kill_switch', 'symbol_manual_review'] },
    { name: 'stale health and review hold', control: { ...STALE, ...AAPL_IN_REVIEW }, gates: ['runner_health_stale', 'symbol_manual_review'] },
    {
      name: 'all three hold',
      control: { ...KILL_ON, ...STALE, ...AAPL_IN_REVIEW },
      gates: ['kill_switch', 'runner_health_stale', 'symbol_manual_review'],
    },
  ];

  it.each(CASES)('lists, highest precedence first, what holds when $name', ({ control, gates }) => {
    expect(controlGates(openControl(NOW_ISO, control), 'AAPL', NOW, STALE_MS)).toEqual(gates);
  });

  it('gates on a kill switch assumed on because it was unreadable', () => {
    const control = openControl(NOW_ISO, { killSwitch: { state: 'on', source: 'unreadable' } });

    expect(controlGates(control, 'AAPL', NOW, STALE_MS)).toEqual(['kill_switch']);
  });

  it('gates with the kill switch and stale health when SSM never answered', () => {
    expect(controlGates(UNAVAILABLE_CONTROL, 'AAPL', NOW, STALE_MS)).toEqual(['kill_switch', 'runner_health_stale']);
  });

  it('does not gate a symbol whose review was cleared', () => {
    expect(controlGates(openControl(NOW_ISO, { reviews: review('AAPL', 'cleared') }), 'AAPL', NOW, STALE_MS)).toEqual([]);
  });

  it('does not gate other symbols when one is in review', () => {
    expect(controlGates(openControl(NOW_ISO, AAPL_IN_REVIEW), 'MSFT', NOW, STALE_MS)).toEqual([]);
  });

  it('never answers breaker_open: the caller asks the breaker itself', () => {
    const gates = controlGates(openControl(NOW_ISO, { ...KILL_ON, ...STALE, ...AAPL_IN_REVIEW }), 'AAPL', NOW, STALE_MS);

    expect(gates).not.toContain('breaker_open');
  });
});

describe('controlGates with strategy enablement', () => {
  const REQUIRED_ALPHA: StrategyGateInput = { strategyId: 'alpha', enablement: 'required' };

  function strategies(state: StrategyState): Partial<ControlSnapshot> {
    return { strategies: new Map([['alpha', { strategy_id: 'alpha', state }]]) };
  }

  it('does not gate an enabled strategy when enablement is required', () => {
    expect(controlGates(openControl(NOW_ISO, strategies('enabled')), 'AAPL', NOW, STALE_MS, REQUIRED_ALPHA)).toEqual([]);
  });

  it.each(['shadow', 'blocked'] as const)('gates a %s strategy with strategy_not_enabled when enablement is required', (state) => {
    expect(controlGates(openControl(NOW_ISO, strategies(state)), 'AAPL', NOW, STALE_MS, REQUIRED_ALPHA)).toEqual(['strategy_not_enabled']);
  });

  it('gates a strategy with no parameter when enablement is required', () => {
    expect(controlGates(openControl(NOW_ISO), 'AAPL', NOW, STALE_MS, REQUIRED_ALPHA)).toEqual(['strategy_not_enabled']);
  });

  it('gates an order with no strategy_id when enablement is required', () => {
    const control = openControl(NOW_ISO, strategies('enabled'));

    expect(controlGates(control, 'AAPL', NOW, STALE_MS, { strategyId: undefined, enablement: 'required' })).toEqual(['strategy_not_enabled']);
  });

  it("does not let another strategy's enablement count", () => {
    expect(controlGates(openControl(NOW_ISO, strategies('enabled')), 'AAPL', NOW, STALE_MS, { strategyId: 'beta', enablement: 'required' })).toEqual([
      'strategy_not_enabled',
    ]);
  });

  it.each([undefined, 'alpha'])('never gates on the strategy when enablement is off (strategy_id %s, blocked)', (strategyId) => {
    const control = openControl(NOW_ISO, strategies('blocked'));

    expect(controlGates(control, 'AAPL', NOW, STALE_MS, { strategyId, enablement: 'off' })).toEqual([]);
  });

  it('never gates on the strategy when the caller gives no strategy input', () => {
    expect(controlGates(openControl(NOW_ISO, strategies('blocked')), 'AAPL', NOW, STALE_MS)).toEqual([]);
  });

  it('lists strategy_not_enabled after the kill switch and stale health and before manual review', () => {
    const control = openControl(NOW_ISO, { ...KILL_ON, ...STALE, ...AAPL_IN_REVIEW, ...strategies('shadow') });

    expect(controlGates(control, 'AAPL', NOW, STALE_MS, REQUIRED_ALPHA)).toEqual(['kill_switch', 'runner_health_stale', 'strategy_not_enabled', 'symbol_manual_review']);
  });

  it('decides with strategy_not_enabled over a manual review', () => {
    const control = openControl(NOW_ISO, { ...AAPL_IN_REVIEW, ...strategies('blocked') });

    expect(controlGates(control, 'AAPL', NOW, STALE_MS, REQUIRED_ALPHA)[0]).toBe('strategy_not_enabled');
  });

  it('gates every strategy when SSM never answered', () => {
    expect(controlGates(UNAVAILABLE_CONTROL, 'AAPL', NOW, STALE_MS, REQUIRED_ALPHA)).toEqual(['kill_switch', 'runner_health_stale', 'strategy_not_enabled']);
  });
});

describe('isRunnerHealthStale', () => {
  function health(lastOkAt: string | null): { leanHealth: LeanHealth } {
    return { leanHealth: { status: 'ok', checked_at: NOW_ISO, last_ok_at: lastOkAt, latency_ms: 5 } };
  }

  it('is stale when no health was ever recorded', () => {
    expect(isRunnerHealthStale({}, NOW, STALE_MS)).toBe(true);
  });

  it('is stale when no probe ever succeeded (last_ok_at null)', () => {
    expect(isRunnerHealthStale(health(null), NOW, STALE_MS)).toBe(true);
  });

  it.each(['yesterday', '', 'not-a-date'])('is stale when last_ok_at (%j) cannot be parsed', (lastOkAt) => {
    expect(isRunnerHealthStale(health(lastOkAt), NOW, STALE_MS)).toBe(true);
  });

  it('is fresh right after a healthy probe', () => {
    expect(isRunnerHealthStale(health(NOW_ISO), NOW, STALE_MS)).toBe(false);
  });

  it('is fresh exactly at the staleness limit', () => {
    expect(isRunnerHealthStale(health(isoBefore(STALE_MS)), NOW, STALE_MS)).toBe(false);
  });

  it('is stale one millisecond past the limit', () => {
    expect(isRunnerHealthStale(health(isoBefore(STALE_MS + 1)), NOW, STALE_MS)).toBe(true);
  });

  it('follows the limit it is given', () => {
    expect(isRunnerHealthStale(health(isoBefore(10_000)), NOW, 5_000)).toBe(true);
  });

  it('is fresh for a probe dated up to the clock skew ahead of this clock', () => {
    expect(isRunnerHealthStale(health(isoBefore(-PROBE_CLOCK_SKEW_MS)), NOW, STALE_MS)).toBe(false);
  });

  it('is stale for a probe dated further in the future: it was never made, and must not hold LEAN open until then', () => {
    expect(isRunnerHealthStale(health('2099-01-01T00:00:00.000Z'), NOW, STALE_MS)).toBe(true);
  });
});
