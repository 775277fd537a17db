import { describe, expect, it } from 'vitest';
import type { ControlSnapshot } from '../../functions/core/control';
import type { AlpacaSubmitOutcome, LeanSubmitOutcome } from '../../functions/core/execution';
import type { StrategyState } from '../../functions/core/strategy-enablement';
import { routeOrder, type RouteResult } from '../../functions/core/route-order';
import { accepted, brokerOrder, fakeWorld, order, routedRow, routerConfig, type FakeWorld } from '../support/fakes';

const ORDER = order({ strategy_id: 'alpha' });
const LEAN_ACCEPTED: LeanSubmitOutcome = accepted(brokerOrder(ORDER, {}, 'lean-order-1'));
const ALPACA_ACCEPTED: AlpacaSubmitOutcome = accepted(brokerOrder(ORDER, {}, 'alpaca-order-1'));
const REQUIRED = routerConfig({ strategy_enablement: 'required' });

function alpha(state: StrategyState): Partial<ControlSnapshot> {
  return { strategies: new Map([['alpha', { strategy_id: 'alpha', state }]]) };
}

function world(options: { required: boolean; control?: Partial<ControlSnapshot> }): FakeWorld {
  return fakeWorld({
    ...(options.required ? { config: REQUIRED } : {}),
    lean: { submits: [LEAN_ACCEPTED] },
    alpaca: { submits: [ALPACA_ACCEPTED] },
    ...(options.control === undefined ? {} : { control: options.control }),
  });
}

async function route(target: FakeWorld, request = ORDER): Promise<RouteResult> {
  return routeOrder(target.deps, request, { correlationId: 'corr-strategy' });
}

describe('routeOrder with strategy enablement required', () => {
  it('sends an enabled strategy to LEAN and records the state it read', async () => {
    const row = routedRow(await route(world({ required: true, control: alpha('enabled') })));

    expect(row).toMatchObject({ execution_route: 'lean', policy_snapshot: { strategy_enablement: 'required', strategy_state: 'enabled', gates: [] } });
  });

  it.each(['shadow', 'blocked'] as const)('gates a %s strategy to Alpaca as alpaca_gated strategy_not_enabled, counted as gated', async (state) => {
    const target = world({ required: true, control: alpha(state) });

    const row = routedRow(await route(target));

    expect(row).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'strategy_not_enabled', policy_snapshot: { strategy_state: state } });
    expect([target.lean.submitCalls.length, target.metrics.argsOf('gated')]).toEqual([0, [['strategy_not_enabled']]]);
  });

  it('gates a strategy with no parameter, recording it missing', async () => {
    const row = routedRow(await route(world({ required: true })));

    expect(row).toMatchObject({ execution_route_reason: 'strategy_not_enabled', policy_snapshot: { strategy_state: 'missing' } });
  });

  it('gates an order without a strategy_id', async () => {
    const row = routedRow(await route(world({ required: true, control: alpha('enabled') }), order()));

    expect([row.execution_route_reason, row.policy_snapshot.strategy_state]).toEqual(['strategy_not_enabled', undefined]);
  });

  it('decides with the kill switch over strategy_not_enabled, listing both', async () => {
    const control = { ...alpha('shadow'), killSwitch: { state: 'on', source: 'parameter' } } as const;

    const row = routedRow(await route(world({ required: true, control })));

    expect([row.execution_route_reason, row.policy_snapshot.gates]).toEqual(['kill_switch', ['kill_switch', 'strategy_not_enabled']]);
  });
});

describe('routeOrder with strategy enablement off', () => {
  it('sends a blocked strategy to LEAN as before, recording enablement off and no state', async () => {
    const row = routedRow(await route(world({ required: false, control: alpha('blocked') })));

    expect([row.execution_route, row.policy_snapshot.strategy_enablement, row.policy_snapshot.strategy_state]).toEqual(['lean', 'off', undefined]);
  });
});
