import { describe, expect, it } from 'vitest';
import { cancelOrder, type CancelResult } from '../../functions/core/cancel-order';
import type { CancelOutcome } from '../../functions/core/ports';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { fakeWorld, pendingRow, routerConfig, type FakeWorld } from '../support/fakes';

const ID = 'ord-0001';
const REQUESTED: CancelOutcome = { kind: 'requested', httpStatus: 204 };
const FINAL: CancelOutcome = { kind: 'final', httpStatus: 422, detail: 'order is already in "filled" state' };
const NOT_FOUND: CancelOutcome = { kind: 'not_found', httpStatus: 404 };
const TIMED_OUT: CancelOutcome = { kind: 'failed', detail: 'lean_cancel_failed: timeout', certainty: 'ambiguous' };

/** An order a broker accepted, by default through LEAN, still open at the broker. */
function acceptedRow(overrides: Partial<ProvenanceRow> = {}): ProvenanceRow {
  return pendingRow({
    client_order_id: ID,
    status: 'accepted',
    execution_adapter: 'lean',
    execution_route: 'lean',
    broker_order_id: 'alpaca-order-1',
    ...overrides,
  });
}

function world(row: ProvenanceRow | undefined, script: { lean?: CancelOutcome[]; alpaca?: CancelOutcome[] } = {}, options: Parameters<typeof fakeWorld>[0] = {}): FakeWorld {
  const built = fakeWorld({ ...options, lean: { cancels: script.lean ?? [] }, alpaca: { cancels: script.alpaca ?? [] } });
  if (row !== undefined) built.store.seed(row);
  return built;
}

const cancel = (w: FakeWorld): Promise<CancelResult> => cancelOrder(w.deps, ID, { correlationId: 'corr-cancel' });
const cancelCalls = (w: FakeWorld) => ({ lean: w.lean.cancelCalls.map((c) => c.brokerOrderId), alpaca: w.alpaca.cancelCalls.map((c) => c.brokerOrderId) });

describe('cancelOrder: the route that placed the order', () => {
  it('cancels a LEAN order through LEAN and records the route lean', async () => {
    const w = world(acceptedRow(), { lean: [REQUESTED] });

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'requested', repeat: false, row: { cancel_route: 'lean', cancel_route_reason: 'placed_by_lean' } });
    expect(cancelCalls(w)).toEqual({ lean: ['alpaca-order-1'], alpaca: [] });
  });

  it('cancels an order placed at Alpaca through Alpaca, never asking LEAN', async () => {
    const w = world(acceptedRow({ execution_adapter: 'alpaca', execution_route: 'alpaca_fallback' }), { alpaca: [REQUESTED] });

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'requested', row: { cancel_route: 'alpaca', cancel_route_reason: 'placed_at_alpaca' } });
    expect(cancelCalls(w)).toEqual({ lean: [], alpaca: ['alpaca-order-1'] });
  });

  it('cancels a LEAN order at Alpaca when the kill switch is on', async () => {
    const w = world(acceptedRow(), { alpaca: [REQUESTED] }, { control: { killSwitch: { state: 'on', reason: 'operator', source: 'parameter' } } });

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'requested', row: { cancel_route: 'alpaca_gated', cancel_route_reason: 'kill_switch' } });
    expect(cancelCalls(w)).toEqual({ lean: [], alpaca: ['alpaca-order-1'] });
  });

  it('cancels a LEAN order at Alpaca when the runner health is stale', async () => {
    const w = world(acceptedRow(), { alpaca: [REQUESTED] }, {
      control: { leanHealth: { status: 'down', checked_at: '2025-01-02T14:25:00.000Z', last_ok_at: '2020-01-01T00:00:00.000Z', latency_ms: null } },
    });

    const result = await cancel(w);

    expect(result).toMatchObject({ row: { cancel_route: 'alpaca_gated', cancel_route_reason: 'runner_health_stale' } });
  });

  it('cancels a LEAN order through LEAN even while its symbol is in manual review', async () => {
    const reviews = new Map([['AAPL', { symbol: 'AAPL', state: 'review' as const, changed_at: '2025-01-02T14:00:00.000Z', reason: 'repeated_fallback' }]]);
    const w = world(acceptedRow(), { lean: [REQUESTED] }, { control: { reviews } });

    await cancel(w);

    expect(cancelCalls(w).lean).toEqual(['alpaca-order-1']);
  });

  it('cancels a LEAN order at Alpaca when no runner is configured', async () => {
    const built = fakeWorld({ lean: null, alpaca: { cancels: [REQUESTED] } });
    built.store.seed(acceptedRow());

    const result = await cancel(built);

    expect(result).toMatchObject({ row: { cancel_route: 'alpaca_gated', cancel_route_reason: 'lean_not_configured' } });
  });

  it('cancels a LEAN order at Alpaca when the router settings are unsound', async () => {
    const w = world(acceptedRow(), { alpaca: [REQUESTED] }, { config: routerConfig({}, { settingsProblems: ['TRADING_LEAN_SUBMIT_TIMEOUT_MS is not a number'] }) });

    const result = await cancel(w);

    expect(result).toMatchObject({ row: { cancel_route: 'alpaca_gated', cancel_route_reason: 'policy_misconfigured' } });
  });

  it("cancels a LEAN order at Alpaca when this container's breaker is open", async () => {
    const w = world(acceptedRow(), { alpaca: [REQUESTED] });
    for (let failure = 0; failure < w.deps.config.governance.breakerFailureThreshold; failure += 1) w.breaker.acquire()?.failed();

    const result = await cancel(w);

    expect(result).toMatchObject({ row: { cancel_route: 'alpaca_gated', cancel_route_reason: 'breaker_open' } });
  });

  it("falls back to Alpaca's cancel when LEAN's cancel times out", async () => {
    const w = world(acceptedRow(), { lean: [TIMED_OUT], alpaca: [REQUESTED] });

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'requested', row: { cancel_route: 'alpaca_fallback', cancel_route_reason: 'lean_cancel_failed' } });
    expect(cancelCalls(w)).toEqual({ lean: ['alpaca-order-1'], alpaca: ['alpaca-order-1'] });
  });

  it('falls back to Alpaca when LEAN does not know the order', async () => {
    const w = world(acceptedRow(), { lean: [NOT_FOUND], alpaca: [REQUESTED] });

    const result = await cancel(w);

    expect(result).toMatchObject({ row: { cancel_route: 'alpaca_fallback', cancel_route_reason: 'lean_cancel_not_found' } });
  });

  it("asks Alpaca with Alpaca's own id when the sync found LEAN's id divergent", async () => {
    const divergence = { lean_order_id: 'alpaca-order-1', alpaca_order_id: 'alpaca-real-9', detected_at: '2025-01-02T14:30:00.000Z' };
    const w = world(acceptedRow({ route_divergence: divergence }), { lean: [TIMED_OUT], alpaca: [REQUESTED] });

    await cancel(w);

    expect(cancelCalls(w)).toEqual({ lean: ['alpaca-order-1'], alpaca: ['alpaca-real-9'] });
  });

  it('passes the correlation id and a timeout within the route budget to the broker', async () => {
    const w = world(acceptedRow(), { lean: [REQUESTED] });

    await cancel(w);

    const context = w.lean.cancelCalls[0]?.context;
    expect(context?.correlationId).toBe('corr-cancel');
    expect(context?.timeoutMs).toBe(w.deps.config.timeouts.leanSubmitMs);
  });
});

describe('cancelOrder: answers without asking a broker', () => {
  it('answers not_found for an unknown client_order_id', async () => {
    const w = world(undefined);

    expect(await cancel(w)).toEqual({ kind: 'not_found' });
    expect(w.store.cancelWrites).toEqual([]);
  });

  it.each(['filled', 'canceled', 'expired'])('answers final for an order %s at the broker, calling nothing that cancels', async (brokerStatus) => {
    const w = world(acceptedRow({ broker_status: brokerStatus }));

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'final', detail: `the order is ${brokerStatus} at the broker` });
    expect(cancelCalls(w)).toEqual({ lean: [], alpaca: [] });
    expect(w.store.cancelWrites).toEqual([]);
  });

  it.each(['rejected', 'failed'] as const)('answers final for a %s order', async (status) => {
    const w = world(acceptedRow({ status, broker_order_id: undefined }));

    expect(await cancel(w)).toMatchObject({ kind: 'final', detail: `the order was ${status}; no broker holds it open` });
    expect(cancelCalls(w)).toEqual({ lean: [], alpaca: [] });
  });

  it.each(['pending', 'unknown'] as const)('answers not_cancellable for a %s order', async (status) => {
    const w = world(acceptedRow({ status, broker_order_id: undefined }));

    expect(await cancel(w)).toMatchObject({ kind: 'not_cancellable' });
    expect(cancelCalls(w)).toEqual({ lean: [], alpaca: [] });
  });

  it('answers a repeated cancel from the row once a broker took the first, asking no broker again', async () => {
    const w = world(acceptedRow(), { lean: [REQUESTED] });
    await cancel(w);

    const repeat = await cancel(w);

    expect(repeat).toMatchObject({ kind: 'requested', repeat: true });
    expect(cancelCalls(w)).toEqual({ lean: ['alpaca-order-1'], alpaca: [] });
  });

  it('answers provenance_unavailable and asks no broker when the cancel request cannot be written', async () => {
    const w = world(acceptedRow());
    w.store.failOn('recordCancelRequest');

    expect(await cancel(w)).toMatchObject({ kind: 'provenance_unavailable' });
    expect(cancelCalls(w)).toEqual({ lean: [], alpaca: [] });
  });

  it('answers provenance_unavailable when the row cannot be read', async () => {
    const w = world(acceptedRow());
    w.store.failOn('get');

    expect(await cancel(w)).toMatchObject({ kind: 'provenance_unavailable' });
  });
});

describe('cancelOrder: what the brokers said', () => {
  it('answers final when LEAN says the order is past canceling, without asking Alpaca', async () => {
    const w = world(acceptedRow(), { lean: [FINAL] });

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'final', detail: 'order is already in "filled" state' });
    expect(cancelCalls(w).alpaca).toEqual([]);
  });

  it('answers final when Alpaca says the order is past canceling', async () => {
    const w = world(acceptedRow({ execution_route: 'alpaca', execution_adapter: 'alpaca' }), { alpaca: [FINAL] });

    expect(await cancel(w)).toMatchObject({ kind: 'final', row: { cancel_route: 'alpaca' } });
  });

  it('answers failed with route none when neither broker took the cancel, and records both attempts', async () => {
    const w = world(acceptedRow(), { lean: [TIMED_OUT], alpaca: [{ kind: 'failed', detail: 'HTTP 503', httpStatus: 503, certainty: 'ambiguous' }] });

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'failed', detail: "Alpaca's cancel failed: HTTP 503", row: { cancel_route: 'none', cancel_route_reason: 'lean_cancel_failed' } });
    expect(result.kind === 'failed' ? result.row.cancel_attempts?.map((a) => [a.adapter, a.outcome, a.http_status]) : []).toEqual([
      ['lean', 'failed', undefined],
      ['alpaca', 'failed', 503],
    ]);
  });

  it("counts a 429 from Alpaca's cancel as rate limited and does not retry it", async () => {
    const w = world(acceptedRow({ execution_route: 'alpaca', execution_adapter: 'alpaca' }), { alpaca: [{ kind: 'failed', detail: 'HTTP 429', httpStatus: 429, certainty: 'definite' }] });

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'failed' });
    expect({ rateLimited: w.metrics.count('alpacaRateLimited'), calls: w.alpaca.cancelCalls.length }).toEqual({ rateLimited: 1, calls: 1 });
  });

  it('answers failed when Alpaca does not know the order', async () => {
    const w = world(acceptedRow({ execution_route: 'alpaca', execution_adapter: 'alpaca' }), { alpaca: [NOT_FOUND] });

    expect(await cancel(w)).toMatchObject({ kind: 'failed', detail: 'Alpaca holds no order alpaca-order-1' });
  });

  it('tries again on a repeated cancel when no broker took the first', async () => {
    const w = world(acceptedRow({ execution_route: 'alpaca', execution_adapter: 'alpaca' }), { alpaca: [NOT_FOUND, REQUESTED] });
    await cancel(w);

    const second = await cancel(w);

    expect(second).toMatchObject({ kind: 'requested', repeat: false });
    expect(w.store.rows.get(ID)?.cancel_attempts?.map((a) => a.outcome)).toEqual(['not_found', 'requested']);
  });

  it('writes the cancel request before asking any broker', async () => {
    const w = world(acceptedRow(), { lean: [REQUESTED] });
    let writesWhenAsked = -1;
    const original = w.lean.cancel.bind(w.lean);
    w.lean.cancel = async (id, context) => {
      writesWhenAsked = w.store.cancelWrites.length;
      return original(id, context);
    };

    await cancel(w);

    expect(writesWhenAsked).toBe(1);
    expect(w.store.cancelWrites.map((write) => write.operation)).toEqual(['request', 'outcome']);
  });

  it('keeps the first cancel_requested_at on a repeated request', async () => {
    const w = world(acceptedRow({ cancel_requested_at: '2025-01-02T14:26:00.000Z' }), { lean: [REQUESTED] });

    const result = await cancel(w);

    expect(result).toMatchObject({ row: { cancel_requested_at: '2025-01-02T14:26:00.000Z' } });
  });

  it('still answers what the broker did when the outcome cannot be written, and counts the write failure', async () => {
    const w = world(acceptedRow(), { lean: [REQUESTED] });
    w.store.failOn('recordCancelOutcome');

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'requested', row: { cancel_route: 'lean' } });
    expect(w.metrics.count('provenanceWriteFailure')).toBe(1);
  });

  it('emits cancel_requests_total by route and logs one order_cancel line', async () => {
    const w = world(acceptedRow(), { lean: [TIMED_OUT], alpaca: [REQUESTED] });

    await cancel(w);

    expect(w.metrics.argsOf('cancelRequested')).toEqual([['alpaca_fallback']]);
    expect(w.logger.withMessage('order_cancel')[0]?.fields).toMatchObject({ client_order_id: ID, cancel_route: 'alpaca_fallback', outcome: 'requested', attempts: ['lean:failed', 'alpaca:requested'] });
  });
});
