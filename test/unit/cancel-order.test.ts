import { describe, expect, it } from 'vitest';
import { cancelOrder, type CancelResult } from '../../functions/core/cancel-order';
import type { CancelOutcome } from '../../functions/core/ports';
import { ProvenanceConflictError, type ProvenanceRow } from '../../functions/core/provenance';
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

describe('cancelOrder: time budgets', () => {
  it('gives the broker call what the invocation has left less the finalize reserve', async () => {
    // 2.4 s left less the 2 s reserve: 400 ms, of which two 7 ms clock reads are spent before LEAN is asked.
    const w = world(acceptedRow(), { lean: [REQUESTED] });

    await cancelOrder(w.deps, ID, { correlationId: 'corr-cancel', remainingMs: 2_400 });

    expect(w.lean.cancelCalls[0]?.context.timeoutMs).toBe(386);
  });

  it('gives LEAN and Alpaca each their own call timeout', async () => {
    const base = routerConfig();
    const w = world(acceptedRow(), { lean: [TIMED_OUT], alpaca: [REQUESTED] }, { config: routerConfig({}, { timeouts: { ...base.timeouts, leanSubmitMs: 400, alpacaSubmitMs: 700 } }) });

    await cancel(w);

    expect([w.lean.cancelCalls[0]?.context.timeoutMs, w.alpaca.cancelCalls[0]?.context.timeoutMs]).toEqual([400, 700]);
  });

  it('records no cancel request and asks no broker when no time is left for the write', async () => {
    const w = world(acceptedRow(), { lean: [REQUESTED] });

    const result = await cancelOrder(w.deps, ID, { correlationId: 'corr-cancel', remainingMs: w.deps.config.budget.finalizeReserveMs });

    expect(result).toEqual({ kind: 'provenance_unavailable', detail: 'Error: no time was left to record the cancel request' });
    expect({ writes: w.store.cancelWrites, calls: cancelCalls(w) }).toEqual({ writes: [], calls: { lean: [], alpaca: [] } });
  });

  it('records each call it had no time left to send as a failed attempt, asking no broker', async () => {
    // 50 ms after the reserve: enough for the request write, less than either broker's 100 ms connect time.
    const w = world(acceptedRow(), {});

    const result = await cancelOrder(w.deps, ID, { correlationId: 'corr-cancel', remainingMs: w.deps.config.budget.finalizeReserveMs + 50 });

    const notSent = { outcome: 'failed', broker_order_id: 'alpaca-order-1', detail: 'not sent: no time was left in the invocation', latency_ms: 7, started_at: '2025-01-02T14:30:00.000Z' };
    expect(result).toMatchObject({ kind: 'failed', detail: "Alpaca's cancel failed: not sent: no time was left in the invocation" });
    expect(result.kind === 'failed' ? result.row.cancel_attempts : []).toStrictEqual([{ adapter: 'lean', ...notSent }, { adapter: 'alpaca', ...notSent }]);
  });
});

describe('cancelOrder: the attempt records and log lines', () => {
  it("records a taken cancel with the broker's status and no detail", async () => {
    const w = world(acceptedRow(), { lean: [REQUESTED] });

    const result = await cancel(w);

    expect(result.kind === 'requested' ? result.row.cancel_attempts : []).toStrictEqual([
      { adapter: 'lean', outcome: 'requested', broker_order_id: 'alpaca-order-1', http_status: 204, latency_ms: 7, started_at: '2025-01-02T14:30:00.000Z' },
    ]);
  });

  it("records LEAN's final answer with its detail on the route lean", async () => {
    const w = world(acceptedRow(), { lean: [FINAL] });

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'final', row: { cancel_route: 'lean', cancel_route_reason: 'placed_by_lean' } });
    expect(result.kind === 'final' ? result.row.cancel_attempts : []).toStrictEqual([
      { adapter: 'lean', outcome: 'final', broker_order_id: 'alpaca-order-1', http_status: 422, detail: 'order is already in "filled" state', latency_ms: 7, started_at: '2025-01-02T14:30:00.000Z' },
    ]);
  });

  it('records the route none when Alpaca does not know the order', async () => {
    const w = world(acceptedRow({ execution_route: 'alpaca', execution_adapter: 'alpaca' }), { alpaca: [NOT_FOUND] });

    expect(await cancel(w)).toMatchObject({ row: { cancel_route: 'none', cancel_route_reason: 'placed_at_alpaca' } });
  });

  it("counts only Alpaca's 429 as Alpaca rate limiting, not LEAN's nor Alpaca's success", async () => {
    const w = world(acceptedRow(), { lean: [{ kind: 'failed', detail: 'HTTP 429', httpStatus: 429, certainty: 'definite' }], alpaca: [REQUESTED] });

    await cancel(w);

    expect(w.metrics.count('alpacaRateLimited')).toBe(0);
  });

  it('logs cancel_row_unreadable with the order id and the error when the row cannot be read', async () => {
    const w = world(acceptedRow());
    w.store.failOn('get');

    await cancel(w);

    expect(w.logger.withMessage('cancel_row_unreadable').map((line) => [line.level, line.fields])).toEqual([
      ['error', { client_order_id: ID, error: 'ProvenanceUnavailableError: provenance table unreachable (get)' }],
    ]);
  });

  it('logs cancel_request_write_failed with the order id and the error when the request cannot be written', async () => {
    const w = world(acceptedRow());
    w.store.failOn('recordCancelRequest');

    const result = await cancel(w);

    expect(result).toEqual({ kind: 'provenance_unavailable', detail: 'ProvenanceUnavailableError: provenance table unreachable (recordCancelRequest)' });
    expect(w.logger.withMessage('cancel_request_write_failed').map((line) => line.fields)).toEqual([
      { client_order_id: ID, error: 'ProvenanceUnavailableError: provenance table unreachable (recordCancelRequest)' },
    ]);
  });

  it('logs cancel_outcome_write_failed with the record it could not write', async () => {
    const w = world(acceptedRow(), { lean: [REQUESTED] });
    w.store.failOn('recordCancelOutcome');

    await cancel(w);

    expect(w.logger.withMessage('cancel_outcome_write_failed').map((line) => line.fields)).toEqual([
      {
        client_order_id: ID,
        record: { cancel_route: 'lean', cancel_route_reason: 'placed_by_lean', attempts: [expect.objectContaining({ adapter: 'lean', outcome: 'requested' })] },
        error: 'ProvenanceUnavailableError: provenance table unreachable (recordCancelOutcome)',
      },
    ]);
  });

  it("answers exactly this cancel's attempts when its outcome cannot be written", async () => {
    const w = world(acceptedRow(), { lean: [REQUESTED] });
    w.store.failOn('recordCancelOutcome');

    const result = await cancel(w);

    expect(result.kind === 'requested' ? result.row.cancel_attempts?.map((a) => `${a.adapter}:${a.outcome}`) : []).toEqual(['lean:requested']);
  });

  it('keeps the earlier attempts on the answered row when the outcome cannot be written', async () => {
    const earlier = { adapter: 'alpaca' as const, outcome: 'not_found' as const, broker_order_id: 'alpaca-order-1', http_status: 404, latency_ms: 3, started_at: '2025-01-02T14:26:00.000Z' };
    const w = world(acceptedRow({ cancel_attempts: [earlier] }), { lean: [REQUESTED] });
    w.store.failOn('recordCancelOutcome');

    const result = await cancel(w);

    expect(result.kind === 'requested' ? result.row.cancel_attempts?.map((a) => `${a.adapter}:${a.outcome}`) : []).toEqual(['alpaca:not_found', 'lean:requested']);
  });
});

describe('cancelOrder: which rows it cancels', () => {
  it.each([
    ['pending', 'the order is still being routed; retry once GET shows it accepted'],
    ['unknown', 'no broker answered when it was routed; the lifecycle sync resolves it, then it can be canceled'],
  ] as const)('tells the caller why a %s order cannot be canceled yet', async (status, detail) => {
    const w = world(acceptedRow({ status, broker_order_id: undefined }));

    expect(await cancel(w)).toMatchObject({ kind: 'not_cancellable', detail });
    expect(w.store.cancelWrites).toEqual([]);
  });

  it('answers not_cancellable for an accepted row that holds no broker order id, writing nothing', async () => {
    const w = world(acceptedRow({ broker_order_id: undefined }));

    expect(await cancel(w)).toMatchObject({ kind: 'not_cancellable', detail: 'the row holds no broker order id' });
    expect(w.store.cancelWrites).toEqual([]);
  });

  it('cancels an order the broker still holds open', async () => {
    const w = world(acceptedRow({ broker_status: 'partially_filled' }), { lean: [REQUESTED] });

    expect(await cancel(w)).toMatchObject({ kind: 'requested', repeat: false });
  });

  it('answers not_cancellable when the row changed while the cancel request was being written', async () => {
    const row = acceptedRow();
    const w = world(row);
    w.store.recordCancelRequest = async () => {
      throw new ProvenanceConflictError(`${ID} is not accepted`);
    };

    const result = await cancel(w);

    expect(result).toEqual({ kind: 'not_cancellable', row, detail: 'another cancel of this order is asking the brokers, or the row changed: read it with GET and retry' });
    expect(cancelCalls(w)).toEqual({ lean: [], alpaca: [] });
  });

  it('answers a repeated cancel from the row when any earlier attempt was taken, even after one that was not', async () => {
    const attempt = { broker_order_id: 'alpaca-order-1', latency_ms: 3, started_at: '2025-01-02T14:26:00.000Z' };
    const w = world(acceptedRow({ cancel_attempts: [{ ...attempt, adapter: 'alpaca', outcome: 'not_found' }, { ...attempt, adapter: 'alpaca', outcome: 'requested' }] }));

    expect(await cancel(w)).toMatchObject({ kind: 'requested', repeat: true });
    expect(cancelCalls(w)).toEqual({ lean: [], alpaca: [] });
  });

  it('cancels at Alpaca as lean_not_configured when no runner is configured, whatever the kill switch says', async () => {
    const built = fakeWorld({ lean: null, alpaca: { cancels: [REQUESTED] }, control: { killSwitch: { state: 'on', reason: 'operator', source: 'parameter' } } });
    built.store.seed(acceptedRow());

    const result = await cancel(built);

    expect(result).toMatchObject({ row: { cancel_route: 'alpaca_gated', cancel_route_reason: 'lean_not_configured' } });
  });
});

describe('cancelOrder: one cancel asks the brokers at a time', () => {
  it('asks LEAN once when two cancels of the same order arrive together, and answers the second not_cancellable', async () => {
    const w = world(acceptedRow(), { lean: [REQUESTED, REQUESTED] });

    const results = await Promise.all([cancel(w), cancel(w)]);

    expect(results.map((result) => result.kind).sort()).toEqual(['not_cancellable', 'requested']);
    expect(cancelCalls(w)).toEqual({ lean: ['alpaca-order-1'], alpaca: [] });
  });

  it('asks no broker while another cancel holds the row', async () => {
    const w = world(acceptedRow(), { lean: [REQUESTED] });
    w.store.seed(acceptedRow({ cancel_in_flight: `${w.deps.clock.now().toISOString()} other-invocation` }));

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'not_cancellable', detail: 'another cancel of this order is asking the brokers, or the row changed: read it with GET and retry' });
    expect(cancelCalls(w)).toEqual({ lean: [], alpaca: [] });
  });

  it('takes over a hold older than the route timeout: the invocation that took it is gone', async () => {
    const w = world(acceptedRow({ cancel_in_flight: '2025-01-01T00:00:00.000Z dead-invocation' }), { lean: [REQUESTED] });

    const result = await cancel(w);

    expect(result).toMatchObject({ kind: 'requested', repeat: false });
    expect(cancelCalls(w)).toEqual({ lean: ['alpaca-order-1'], alpaca: [] });
  });

  it('releases its hold with the outcome, so a cancel after a failed one asks the brokers again', async () => {
    const w = world(acceptedRow(), { lean: [TIMED_OUT, REQUESTED], alpaca: [NOT_FOUND] });
    const failed = await cancel(w);

    const retried = await cancel(w);

    expect({ first: failed.kind, second: retried.kind }).toEqual({ first: 'failed', second: 'requested' });
    expect(w.store.rows.get(ID)?.cancel_in_flight).toBeUndefined();
  });
});
