import { describe, expect, it } from 'vitest';
import { routeOrder } from '../../functions/core/route-order';
import { fakeWorld, leanFailure, order, routedRow, routerConfig } from '../support/fakes';

const ALPACA_429 = { kind: 'failed', failure: { reason: 'alpaca_submit_http_429', certainty: 'definite', httpStatus: 429, detail: 'rate limit exceeded' } } as const;

describe('an Alpaca 429', () => {
  it('counts alpaca_rate_limited_total once, records the order failed with the reason, and submits once', async () => {
    const world = fakeWorld({ config: routerConfig({ adapter: 'alpaca' }), alpaca: { submits: [ALPACA_429] } });

    const row = routedRow(await routeOrder(world.deps, order(), { correlationId: 'corr-429-1' }));

    expect(world.metrics.count('alpacaRateLimited')).toBe(1);
    expect(row).toMatchObject({ status: 'failed', execution_route: 'none' });
    expect(row.execution_attempts).toEqual([expect.objectContaining({ adapter: 'alpaca', operation: 'submit', reason: 'alpaca_submit_http_429', http_status: 429 })]);
    expect(world.alpaca.submitCalls).toHaveLength(1);
    expect(world.alpaca.lookupCalls).toHaveLength(0);
  });

  it('counts nothing when Alpaca answers and LEAN fails', async () => {
    const world = fakeWorld({ lean: { submits: [leanFailure('lean_submit_http_429', 'definite', 429)] } });

    await routeOrder(world.deps, order(), { correlationId: 'corr-429-2' });

    expect(world.metrics.count('alpacaRateLimited')).toBe(0);
  });
});
