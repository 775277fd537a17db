import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from 'vitest';
import { CONTROL_PARAMETER, controlParameterName } from '../../functions/core/control-parameters';
import type { HealthCheckReport } from '../../functions/core/health-check';
import type { HealthCheckHandler } from '../../functions/health-check/health-check-handler';
import { marketOrder, startRouterHarness, TEST_CONTROL_PREFIX, type RouterHarness } from '../support/router-harness';

/**
 * An operator's unkill over real parts: rows in dynalite, the kill switch in the local Parameter
 * Store, the real route and health-check handlers. Every order and run happens within seconds, so
 * the failures that tripped the switch stay inside the five-minute error-rate window throughout.
 */

const KILL_SWITCH = controlParameterName(TEST_CONTROL_PREFIX, CONTROL_PARAMETER.killSwitch);
/** Three LEAN submits are enough volume; more than a quarter of them failing trips the switch. */
const RATE_ENV = { TRADING_LEAN_ERROR_RATE_MIN_VOLUME: '3', TRADING_LEAN_ERROR_RATE_THRESHOLD: '0.25', TRADING_LEAN_ERROR_RATE_WINDOW_MS: '300000' };

let harness: RouterHarness;

// A fresh table per test: the error rate reads every LEAN row since its start.
beforeEach(async () => {
  harness = await startRouterHarness();
  return () => harness.close();
});

async function killSwitchValue(): Promise<string | undefined> {
  return (await harness.ssm.send(new GetParameterCommand({ Name: KILL_SWITCH }))).Parameter?.Value;
}

/** Posts `count` orders while every LEAN submit fails (502); answers their ids. */
async function failLeanOrders(count: number): Promise<string[]> {
  // A cold container, so the order reads the switch as it is now rather than from a cache.
  const api = harness.api();
  await harness.lean.setFaults({ submit: { mode: 'http_error', status: 502, taxonomy: 'upstream_error' } });
  const ids: string[] = [];
  for (let i = 0; i < count; i += 1) {
    const order = marketOrder({ symbol: `F${i}` });
    await harness.post(order, { api });
    ids.push(String(order.client_order_id));
  }
  await harness.lean.setFaults({});
  return ids;
}

/** Posts one order LEAN takes; answers the route it got. */
async function routeHealthyOrder(): Promise<unknown> {
  const answer = await harness.post(marketOrder(), { api: harness.api() });
  return answer.body.execution_route;
}

/** LEAN fails three orders, the health-check trips the switch, and the operator turns it off with a plain put-parameter. */
async function tripAndUnkill(check: HealthCheckHandler): Promise<string[]> {
  const failures = await failLeanOrders(3);
  const trip = await check();
  if (trip.tripped !== 'lean_error_rate') throw new Error(`expected the failures to trip the switch, got ${JSON.stringify(trip)}`);
  await harness.putControl(CONTROL_PARAMETER.killSwitch, 'off');
  return failures;
}

describe('an operator’s unkill', () => {
  it('holds over three health-check runs while LEAN is healthy, with the failures that tripped it still in the window', async () => {
    const check = harness.healthCheck(RATE_ENV);
    const oldFailures = await tripAndUnkill(check);

    const runs: HealthCheckReport[] = [];
    const routes: unknown[] = [];
    for (let i = 0; i < 3; i += 1) {
      routes.push(await routeHealthyOrder());
      runs.push(await check());
    }

    expect(routes).toEqual(['lean', 'lean', 'lean']);
    expect(runs.map((run) => [run.tripped, run.killSwitch, run.errorRateWindow.cause])).toEqual([
      [undefined, 'off', 'switch_changed'],
      [undefined, 'off', 'switch_changed'],
      [undefined, 'off', 'switch_changed'],
    ]);
    // The minimum volume applies to the orders since the unkill.
    expect(runs.map((run) => run.errorRate)).toEqual([undefined, undefined, { submitted: 3, failed: 0, percent: 0 }]);
    expect(await killSwitchValue()).toBe('off');
    // The old failures are inside the window and before the count's start: the unkill, not the window, left them out.
    const lastOldFailure = (await harness.readRow(oldFailures.at(-1) ?? ''))?.created_at ?? '';
    expect(Date.parse(lastOldFailure)).toBeGreaterThan(Date.now() - 300_000);
    expect(lastOldFailure < (runs[0]?.errorRateWindow.since ?? '')).toBe(true);
  });

  it('trips again when orders routed after the unkill fail', async () => {
    const check = harness.healthCheck(RATE_ENV);
    await tripAndUnkill(check);
    await routeHealthyOrder();
    const quiet = await check();

    await failLeanOrders(3);
    const retrip = await check();

    expect(quiet.killSwitch).toBe('off');
    expect(retrip).toMatchObject({ tripped: 'lean_error_rate', killSwitch: 'on', errorRate: { submitted: 4, failed: 3, percent: 75 } });
    const written = JSON.parse((await killSwitchValue()) ?? '{}') as Record<string, unknown>;
    expect(written).toMatchObject({ state: 'on', reason: 'lean_error_rate', set_by: 'health-check' });
    expect(written.detail).toBe(`3 of 4 LEAN submits failed since the kill switch was last changed at ${retrip.errorRateWindow.since} (75.0%, threshold 25%)`);
  });
});
