import { describe, expect, it } from 'vitest';
import { CONTROL_PARAMETER } from '../../functions/core/control-parameters';
import type { LifecycleSyncHandler } from '../../functions/lifecycle-sync/lifecycle-sync-handler';
import { marketOrder, useRouterHarness, type RouterHarness } from '../support/router-harness';

/** `DELETE /orders/{client_order_id}` through the real handler, over dynalite and both simulators on loopback. */
let harness: RouterHarness;
let lifecycleSync: LifecycleSyncHandler;

useRouterHarness(
  (started) => {
    harness = started;
    lifecycleSync = harness.lifecycleSync();
  },
  { syncAfterReset: true },
);

/** Routes a buy limit below the market (it rests) by the default policy (LEAN first); answers its id and Alpaca's. */
async function restingOrder(env?: Record<string, string>): Promise<{ id: string; brokerOrderId: string }> {
  const body = marketOrder({ qty: '10', type: 'limit', limit_price: '90' });
  const answer = await harness.post(body, env === undefined ? {} : { env });
  expect(answer.status).toBe(201);
  return { id: String(body.client_order_id), brokerOrderId: String(answer.body.broker_order_id) };
}

/** Cancel requests each simulator received, since the last reset. */
const cancelCounts = () => ({ lean: harness.lean.requestCount('cancel'), alpaca: harness.alpaca.requestCount('cancel') });

describe('DELETE /orders/{client_order_id} over dynalite and the simulators', () => {
  it('cancels a LEAN order through LEAN, which cancels it at Alpaca, and answers 202', async () => {
    const { id, brokerOrderId } = await restingOrder();

    const answer = await harness.cancel(id);

    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ cancel_route: 'lean', cancel_route_reason: 'placed_by_lean' });
    // The one Alpaca cancel is the runner's own relay: the router asked only LEAN.
    expect(cancelCounts()).toEqual({ lean: 1, alpaca: 1 });
    expect(harness.alpaca.orders.get(brokerOrderId)?.status).toBe('canceled');
  });

  it('cancels the same LEAN order at Alpaca directly while the kill switch is on', async () => {
    const { id, brokerOrderId } = await restingOrder();
    await harness.putControl(CONTROL_PARAMETER.killSwitch, 'on');

    const answer = await harness.cancel(id, { api: harness.api() });

    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ cancel_route: 'alpaca_gated', cancel_route_reason: 'kill_switch' });
    expect(cancelCounts()).toEqual({ lean: 0, alpaca: 1 });
    expect(harness.alpaca.orders.get(brokerOrderId)?.status).toBe('canceled');
  });

  it("falls back to Alpaca's cancel when LEAN's cancel hangs, inside the route budget", async () => {
    const { id, brokerOrderId } = await restingOrder();
    await harness.lean.setFaults({ cancel: { mode: 'hang' } });

    const answer = await harness.cancel(id);

    expect(answer.status).toBe(202);
    expect(answer.body).toMatchObject({ cancel_route: 'alpaca_fallback', cancel_route_reason: 'lean_cancel_failed' });
    expect((answer.body.cancel_attempts as { adapter: string; outcome: string }[]).map((a) => `${a.adapter}:${a.outcome}`)).toEqual(['lean:failed', 'alpaca:requested']);
    expect(harness.alpaca.orders.get(brokerOrderId)?.status).toBe('canceled');
  });

  it('cancels an order the policy sent to Alpaca at Alpaca, never asking LEAN', async () => {
    const { id } = await restingOrder({ TRADING_EXECUTION_ADAPTER: 'alpaca' });

    const answer = await harness.cancel(id);

    expect(answer.body).toMatchObject({ cancel_route: 'alpaca', cancel_route_reason: 'placed_at_alpaca' });
    expect(cancelCounts()).toEqual({ lean: 0, alpaca: 1 });
  });

  it('answers a repeated cancel 200 from the row, asking no broker again', async () => {
    const { id } = await restingOrder();
    await harness.cancel(id);

    const repeat = await harness.cancel(id);

    expect(repeat.status).toBe(200);
    expect(repeat.headers['idempotent-replay']).toBe('true');
    expect(cancelCounts()).toEqual({ lean: 1, alpaca: 1 });
  });

  it('asks the brokers once when two cancels of the same order arrive together', async () => {
    const { id } = await restingOrder();

    const answers = await Promise.all([harness.cancel(id), harness.cancel(id)]);

    // One takes the cancel (202); the other finds it held (409) or, if it read the row after, already taken (200).
    expect([[200, 202], [202, 409]]).toContainEqual(answers.map((answer) => answer.status).sort());
    expect(cancelCounts()).toEqual({ lean: 1, alpaca: 1 });
  });

  it('answers 409 for an order the sync saw filled and calls nothing that cancels', async () => {
    const { id, brokerOrderId } = await restingOrder();
    harness.alpaca.fill(brokerOrderId);
    await lifecycleSync();

    const answer = await harness.cancel(id);

    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ error: 'order_final', details: { broker_status: 'filled', filled_qty: '10' } });
    expect(cancelCounts()).toEqual({ lean: 0, alpaca: 0 });
  });

  it('answers 409 when the broker says the order filled before the sync saw it', async () => {
    const { id, brokerOrderId } = await restingOrder();
    harness.alpaca.fill(brokerOrderId);

    const answer = await harness.cancel(id);

    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ error: 'order_final', details: { cancel_route: 'lean' } });
    expect(harness.alpaca.orders.get(brokerOrderId)?.status).toBe('filled');
  });

  it('records the cancel on the row, and the sync then sees the order canceled and closes it', async () => {
    const { id } = await restingOrder();
    await harness.cancel(id);

    await lifecycleSync();

    const row = await harness.readRow(id);
    expect(row).toMatchObject({ broker_status: 'canceled', cancel_route: 'lean', cancel_requested_at: expect.any(String) });
    expect(row).not.toHaveProperty('open_since');
  });

  it('answers 404 for an unknown id and writes no row', async () => {
    const before = await harness.rowCount();

    const answer = await harness.cancel('never-routed-1');

    expect(answer.status).toBe(404);
    expect(await harness.rowCount()).toBe(before);
    expect(cancelCounts()).toEqual({ lean: 0, alpaca: 0 });
  });

  it('answers 400 for an invalid id and changes nothing', async () => {
    const before = await harness.rowCount();

    const answer = await harness.cancel('bad id');

    expect(answer).toMatchObject({ status: 400, body: { error: 'validation_failed', details: [{ field: 'client_order_id' }] } });
    expect(await harness.rowCount()).toBe(before);
    expect(cancelCounts()).toEqual({ lean: 0, alpaca: 0 });
  });

  it('keeps the first cancel_requested_at when a cancel no broker took is asked again', async () => {
    const { id } = await restingOrder();
    await harness.lean.setFaults({ cancel: { mode: 'http_error' } });
    await harness.alpaca.setFaults({ cancel: { mode: 'http_error' } });
    const failed = await harness.cancel(id);
    const firstRequestedAt = (await harness.readRow(id))?.cancel_requested_at;
    await harness.lean.setFaults({});
    await harness.alpaca.setFaults({});

    const retried = await harness.cancel(id);

    expect([failed.status, retried.status]).toEqual([502, 202]);
    expect(firstRequestedAt).toEqual(expect.any(String));
    expect((await harness.readRow(id))?.cancel_requested_at).toBe(firstRequestedAt);
  });

  it('never places an order', async () => {
    const { id } = await restingOrder();
    const submits = () => ({ placed: harness.alpaca.ordersPlaced(), lean: harness.lean.requestCount('submit'), alpaca: harness.alpaca.requestCount('submit') });
    const before = submits();
    await harness.lean.setFaults({ cancel: { mode: 'http_error' } });
    await harness.alpaca.setFaults({ cancel: { mode: 'http_error' } });

    await harness.cancel(id);
    await harness.cancel(id);

    expect(submits()).toEqual(before);
  });
});
