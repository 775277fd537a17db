import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { newOrder, parseOrder, type AlpacaOrder } from '../../lib/local/alpaca-order';
import { fillOrder, marketSchema, stepOrder, type MarketSettings } from '../../lib/local/order-life';

const AT = '2026-01-02T15:00:00.000001Z';

/** An accepted order as the Alpaca simulator stores it; `overrides` are submit body fields. */
function accepted(overrides: Record<string, unknown> = {}): AlpacaOrder {
  const request = parseOrder({ symbol: 'AAPL', qty: '10', side: 'buy', type: 'market', time_in_force: 'day', client_order_id: 'life-1', ...overrides });
  if (typeof request === 'string') throw new Error(`invalid fixture: ${request}`);
  return newOrder(request, AT, 'accepted');
}

/** The message a refused market gives, as the admin route answers it. */
function refusal(settings: unknown): string {
  const parsed = marketSchema.safeParse(settings);
  if (parsed.success) throw new Error(`accepted ${JSON.stringify(settings)}`);
  return z.prettifyError(parsed.error);
}

const market = (settings: MarketSettings) => marketSchema.parse(settings);

describe('the market settings for orders placed through LEAN', () => {
  it('defaults to no difference: no extra slippage and every LEAN order filling', () => {
    expect(marketSchema.parse({})).toMatchObject({ leanSlippageBps: 0, leanFillRate: 1 });
  });

  it.each([
    ['a fill rate above 1', { leanFillRate: 1.5 }, 'leanFillRate'],
    ['a negative fill rate', { leanFillRate: -0.1 }, 'leanFillRate'],
    ['a fill rate given as text', { leanFillRate: '0.5' }, 'leanFillRate'],
    ['an extra slippage given as text', { leanSlippageBps: '20' }, 'leanSlippageBps'],
    ['an extra slippage of 100% or more', { leanSlippageBps: 10_000 }, 'leanSlippageBps'],
    ['slippages that add up past 100%', { slippageBps: 6_000, leanSlippageBps: 5_000 }, 'slippageBps + leanSlippageBps'],
  ])('refuses %s, naming the field', (_name, settings, named) => {
    expect(refusal(settings)).toContain(named);
  });
});

describe("a LEAN-placed order's life", () => {
  it('fills a LEAN buy above the price by slippageBps plus leanSlippageBps', () => {
    const filled = stepOrder(accepted(), market({ prices: { AAPL: '200' }, slippageBps: 5, leanSlippageBps: 20 }), AT, { leanOrdinal: 1 });

    expect(filled).toMatchObject({ status: 'filled', filled_avg_price: '200.5' });
  });

  it('fills a LEAN sell below the price by slippageBps plus leanSlippageBps', () => {
    const filled = stepOrder(accepted({ side: 'sell' }), market({ prices: { AAPL: '200' }, slippageBps: 5, leanSlippageBps: 20 }), AT, { leanOrdinal: 1 });

    expect(filled).toMatchObject({ status: 'filled', filled_avg_price: '199.5' });
  });

  it('fills a direct order with slippageBps alone', () => {
    const filled = stepOrder(accepted(), market({ prices: { AAPL: '200' }, slippageBps: 5, leanSlippageBps: 20 }), AT);

    expect(filled).toMatchObject({ status: 'filled', filled_avg_price: '200.1' });
  });

  it('never fills a LEAN limit order past its limit, extra slippage or not', () => {
    const filled = stepOrder(accepted({ type: 'limit', limit_price: '200.2' }), market({ prices: { AAPL: '200' }, leanSlippageBps: 50 }), AT, { leanOrdinal: 1 });

    expect(filled).toMatchObject({ status: 'filled', filled_avg_price: '200.2' });
  });

  it('fills the LEAN orders ranked 1, 2 and 4 of 5 at a fill rate of 0.6 and holds back the others', () => {
    const rates = market({ leanFillRate: 0.6 });

    const statuses = [1, 2, 3, 4, 5].map((leanOrdinal) => stepOrder(accepted(), rates, AT, { leanOrdinal })?.status);

    expect(statuses).toEqual(['filled', 'filled', 'new', 'filled', 'new']);
  });

  it('fills exactly 7 of 10 LEAN orders at a fill rate of 0.7, float noise notwithstanding', () => {
    const rates = market({ leanFillRate: 0.7 });

    const filled = Array.from({ length: 10 }, (_, index) => stepOrder(accepted(), rates, AT, { leanOrdinal: index + 1 })).filter((order) => order?.status === 'filled');

    expect(filled).toHaveLength(7);
  });

  it('never holds back a direct order, whatever the fill rate', () => {
    expect(stepOrder(accepted(), market({ leanFillRate: 0 }), AT)?.status).toBe('filled');
  });

  it('leaves a held-back order resting once it is new', () => {
    const held = stepOrder(accepted(), market({ leanFillRate: 0 }), AT, { leanOrdinal: 1 });

    expect(held && stepOrder(held, market({ leanFillRate: 0 }), AT, { leanOrdinal: 1 })).toBeUndefined();
  });

  it('fills a held-back order when forced, at the LEAN slippage', () => {
    const filled = fillOrder(accepted(), market({ prices: { AAPL: '200' }, leanSlippageBps: 20, leanFillRate: 0 }), AT, { leanOrdinal: 1 });

    expect(filled).toMatchObject({ status: 'filled', filled_avg_price: '200.4' });
  });
});
