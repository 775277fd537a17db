import { describe, expect, it } from 'vitest';
import { marketOrder, useRouterHarness, type RouterHarness } from '../support/router-harness';

let harness: RouterHarness;

useRouterHarness((started) => {
  harness = started;
});

describe('Alpaca answers a submit with 429', () => {
  it('records the order failed with alpaca_submit_http_429 on the row, and submits it once', async () => {
    await harness.alpaca.setFaults({ submit: { mode: 'http_error', status: 429, message: 'rate limit exceeded' } });
    const order = marketOrder();

    const answer = await harness.post(order, { env: { TRADING_EXECUTION_ADAPTER: 'alpaca' } });

    expect(answer.status).toBe(502);
    const row = await harness.readRow(String(order.client_order_id));
    expect(row).toMatchObject({ status: 'failed', execution_route: 'none', execution_adapter: 'none' });
    expect(row?.execution_attempts).toEqual([
      expect.objectContaining({ adapter: 'alpaca', operation: 'submit', outcome: 'failed', reason: 'alpaca_submit_http_429', http_status: 429 }),
    ]);
    expect(harness.alpaca.requestCount('submit')).toBe(1);
  });

  it('neither resubmits nor looks the order up: a 429 refused the request, so nothing was placed', async () => {
    await harness.alpaca.setFaults({ submit: { mode: 'http_error', status: 429 } });
    const order = marketOrder();

    await harness.post(order, { env: { TRADING_EXECUTION_ADAPTER: 'alpaca' } });
    await harness.post(order, { env: { TRADING_EXECUTION_ADAPTER: 'alpaca' } });

    expect(harness.alpaca.requestCount('submit')).toBe(1);
    expect(harness.alpaca.requestCount('lookup')).toBe(0);
  });
});
