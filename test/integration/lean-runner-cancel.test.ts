import { describe, expect, it } from 'vitest';
import { LeanRunnerClient } from '../../functions/adapters/lean-runner-client';
import type { AlpacaSimulator } from '../../lib/local/alpaca-simulator';
import type { LeanRunnerSimulator } from '../../lib/local/lean-runner-simulator';
import { useSimulatorPair } from '../support/simulator-pair';
import { order } from '../support/fakes';
import { SIM_CREDENTIALS } from '../support/router-harness';

/** The LEAN runner client's cancel against the runner simulator, which cancels at the Alpaca simulator, both over loopback. */
let alpaca: AlpacaSimulator;
let lean: LeanRunnerSimulator;

useSimulatorPair({ credentials: SIM_CREDENTIALS, alpacaTimeoutMs: 1_000 }, (pair) => {
  ({ alpaca, lean } = pair);
});

function client(): LeanRunnerClient {
  return new LeanRunnerClient({ baseUrl: lean.url, connectTimeoutMs: 200, submitTimeoutMs: 1_000, lookupTimeoutMs: 500 });
}

/** Places a resting limit order through the runner and returns its Alpaca id. */
async function placeThroughLean(clientOrderId = 'ord-lean-1'): Promise<string> {
  const outcome = await client().submit(order({ client_order_id: clientOrderId, type: 'limit', limit_price: '90' }), { correlationId: 'place' });
  if (outcome.kind !== 'accepted') throw new Error(`the runner did not place the order: ${outcome.kind}`);
  return outcome.order.id;
}

describe('LeanRunnerClient.cancel', () => {
  it('cancels the Alpaca order LEAN placed, answering it as it now stands', async () => {
    const id = await placeThroughLean();

    const outcome = await client().cancel(id, { correlationId: 'cancel-1' });

    expect(outcome).toMatchObject({ kind: 'requested', httpStatus: 200, order: { id, status: 'canceled' } });
    expect(alpaca.orders.get(id)?.status).toBe('canceled');
  });

  it('cancels an order the router placed at Alpaca directly, since the runner trades the same account', async () => {
    const direct = await fetch(`${alpaca.url}/v2/orders`, {
      method: 'POST',
      headers: { 'apca-api-key-id': SIM_CREDENTIALS.keyId, 'apca-api-secret-key': SIM_CREDENTIALS.secretKey, 'content-type': 'application/json' },
      body: JSON.stringify({ symbol: 'AAPL', side: 'buy', type: 'limit', limit_price: '90', qty: '1', time_in_force: 'day', client_order_id: 'ord-direct' }),
    });
    const { id } = (await direct.json()) as { id: string };

    const outcome = await client().cancel(id, { correlationId: 'cancel-2' });

    expect(outcome).toMatchObject({ kind: 'requested', order: { id, status: 'canceled' } });
  });

  it('calls a cancel of a filled order final, with the reason Alpaca gave the runner', async () => {
    const id = await placeThroughLean();
    alpaca.fill(id);

    const outcome = await client().cancel(id, { correlationId: 'cancel-3' });

    expect(outcome).toEqual({ kind: 'final', httpStatus: 422, detail: 'lean_cancel_failed:upstream_error:order is already in "filled" state' });
  });

  it('says not found for an id Alpaca does not hold', async () => {
    const outcome = await client().cancel('0b0b0b0b-0000-4000-8000-000000000000', { correlationId: 'cancel-4' });

    expect(outcome).toEqual({ kind: 'not_found', httpStatus: 404 });
  });

  it('calls a cancel the order was filled just before final, and the order stays filled', async () => {
    const id = await placeThroughLean();
    await lean.setFaults({ cancel: { mode: 'already_filled' } });

    const outcome = await client().cancel(id, { correlationId: 'cancel-5' });

    expect(outcome.kind).toBe('final');
    expect(alpaca.orders.get(id)?.status).toBe('filled');
  });

  it('calls a 502 with taxonomy upstream_auth a definite failure', async () => {
    const id = await placeThroughLean();
    await lean.setFaults({ cancel: { mode: 'http_error', taxonomy: 'upstream_auth' } });

    const outcome = await client().cancel(id, { correlationId: 'cancel-6' });

    expect(outcome).toMatchObject({ kind: 'failed', certainty: 'definite', httpStatus: 502, detail: expect.stringMatching(/^lean_cancel_failed:upstream_auth:/) });
  });

  it('calls a 502 with taxonomy network_timeout an ambiguous failure, since the cancel may have landed', async () => {
    const id = await placeThroughLean();
    await lean.setFaults({ cancel: { mode: 'http_error', taxonomy: 'network_timeout', cancelOrder: true } });

    const outcome = await client().cancel(id, { correlationId: 'cancel-7' });

    expect(outcome).toMatchObject({ kind: 'failed', certainty: 'ambiguous', httpStatus: 502 });
  });

  it('calls a hanging cancel an ambiguous failure once the caller’s time is up', async () => {
    const id = await placeThroughLean();
    await lean.setFaults({ cancel: { mode: 'hang' } });

    const outcome = await client().cancel(id, { correlationId: 'cancel-8', timeoutMs: 100 });

    expect(outcome).toEqual({ kind: 'failed', certainty: 'ambiguous', detail: 'timeout: no complete answer within 100 ms' });
  });

  it('calls a runner that refuses connections a definite failure', async () => {
    await lean.setFaults({ down: true });

    const outcome = await client().cancel('any-id', { correlationId: 'cancel-9' });

    expect(outcome).toMatchObject({ kind: 'failed', certainty: 'definite', detail: expect.stringContaining('ECONNREFUSED') });
  });

  it('calls Alpaca down behind the runner an ambiguous failure, as the runner reports network_timeout', async () => {
    const id = await placeThroughLean();
    await alpaca.setFaults({ down: true });

    const outcome = await client().cancel(id, { correlationId: 'cancel-10' });

    expect(outcome).toMatchObject({ kind: 'failed', certainty: 'ambiguous', httpStatus: 502, detail: expect.stringMatching(/^lean_cancel_failed:network_timeout:/) });
  });
});
