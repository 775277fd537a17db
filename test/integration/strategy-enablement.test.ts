import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { CONTROL_PARAMETER, strategyParameterName } from '../../functions/core/control-parameters';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { marketOrder, TEST_CONTROL_PREFIX, useRouterHarness, type RouterHarness } from '../support/router-harness';

/**
 * Strategy enablement over real parts: `strategies/<strategy_id>` in the local Parameter Store,
 * rows in dynalite, both simulators on loopback, the real route handler and the real lifecycle sync.
 */

let harness: RouterHarness;
useRouterHarness(
  (started) => {
    harness = started;
  },
  { syncAfterReset: true },
);

const REQUIRED = { TRADING_STRATEGY_ENABLEMENT: 'required' };
const enabled = (reason = 'parity passed') => JSON.stringify({ state: 'enabled', reason, set_by: 'ops', set_at: new Date().toISOString() });

/** Posts one order of `strategyId` through a fresh container built with `env`; answers its row. */
async function routed(strategyId: string, env: Record<string, string> = {}): Promise<ProvenanceRow | undefined> {
  const body = marketOrder({ strategy_id: strategyId });
  const answer = await harness.post(body, { env });
  expect(answer.status).toBe(201);
  return harness.readRow(String(body.client_order_id));
}

/** The strategy's parameter as SSM holds it, parsed. */
async function strategyParameter(strategyId: string): Promise<Record<string, unknown>> {
  const out = await harness.ssm.send(new GetParameterCommand({ Name: strategyParameterName(TEST_CONTROL_PREFIX, strategyId) }));
  return JSON.parse(out.Parameter?.Value ?? '{}') as Record<string, unknown>;
}

describe('strategy enablement off (the default)', () => {
  it('routes an order of a strategy with no parameter to LEAN, recording enablement off', async () => {
    const row = await routed('no-parameter');

    expect(row).toMatchObject({ execution_route: 'lean', policy_snapshot: { strategy_enablement: 'off', gates: [] } });
  });

  it('routes an order of a blocked strategy to LEAN as before', async () => {
    await harness.putStrategy('held', JSON.stringify({ state: 'blocked', reason: 'operator' }));

    const row = await routed('held');

    expect(row?.execution_route).toBe('lean');
  });
});

describe('strategy enablement required', () => {
  it('routes an order of an enabled strategy to LEAN', async () => {
    await harness.putStrategy('alpha', enabled());

    const row = await routed('alpha', REQUIRED);

    expect(row).toMatchObject({ execution_route: 'lean', policy_snapshot: { strategy_enablement: 'required', strategy_state: 'enabled' } });
  });

  it('gates an order of a shadow strategy to Alpaca with strategy_not_enabled, and LEAN receives nothing', async () => {
    await harness.putStrategy('control-cohort', JSON.stringify({ state: 'shadow', reason: 'control cohort' }));

    const row = await routed('control-cohort', REQUIRED);

    expect(row).toMatchObject({ status: 'accepted', execution_route: 'alpaca_gated', execution_route_reason: 'strategy_not_enabled', policy_snapshot: { strategy_state: 'shadow' } });
    expect(harness.lean.requestCount('submit')).toBe(0);
  });

  it('gates an order of a strategy with no parameter', async () => {
    const row = await routed('unknown-strategy', REQUIRED);

    expect(row).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'strategy_not_enabled', policy_snapshot: { strategy_state: 'missing' } });
  });

  it('takes required from the policy parameter, without a redeploy', async () => {
    await harness.putControl(CONTROL_PARAMETER.policy, JSON.stringify({ strategy_enablement: 'required' }));

    const row = await routed('unknown-strategy');

    expect(row).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'strategy_not_enabled', policy_snapshot: { policy_source: 'parameter' } });
  });
});

describe('a divergent id', () => {
  /** Routes one order of `strategyId` through LEAN answering an id Alpaca does not hold, fills it, and runs the sync. */
  async function divergeOnce(strategyId: string): Promise<void> {
    await harness.lean.setFaults({ submit: { mode: 'divergent_id' } });
    expect((await routed(strategyId, REQUIRED))?.execution_route).toBe('lean');
    await harness.lean.setFaults({});
    harness.alpaca.step();
    await harness.lifecycleSync()();
  }

  it('blocks its strategy at the next lifecycle sync, naming the order and both ids', async () => {
    await harness.putStrategy('diverges', enabled());

    await divergeOnce('diverges');

    expect(await strategyParameter('diverges')).toMatchObject({
      state: 'blocked',
      set_by: 'lifecycle-sync',
      reason: expect.stringMatching(/^route_divergence: \S+ LEAN \S+ vs Alpaca \S+$/),
    });
  });

  it("gates the strategy's next order with strategy_not_enabled", async () => {
    await harness.putStrategy('diverges', enabled());
    await divergeOnce('diverges');

    const next = await routed('diverges', REQUIRED);

    expect(next).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'strategy_not_enabled', policy_snapshot: { strategy_state: 'blocked' } });
  });

  it('keeps the block through later syncs: only an operator lifts it', async () => {
    await harness.putStrategy('diverges', enabled());
    await divergeOnce('diverges');
    const blocked = await strategyParameter('diverges');

    harness.alpaca.step();
    await harness.lifecycleSync()();
    await harness.lifecycleSync()();

    expect(await strategyParameter('diverges')).toEqual(blocked);
  });

  it('lets the strategy route to LEAN again once an operator enables it', async () => {
    await harness.putStrategy('diverges', enabled());
    await divergeOnce('diverges');

    await harness.putStrategy('diverges', enabled('divergence explained'));

    expect((await routed('diverges', REQUIRED))?.execution_route).toBe('lean');
  });
});
