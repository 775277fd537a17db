import { describe, expect, it } from 'vitest';
import { cancelReport } from '../../lib/cli/cancel-report';
import type { OrderApiAnswer } from '../../lib/cli/order-api-client';

/** What `lean-router cancel` says about each answer of the order API, and the exit code it gives. */

const PAPER = { clientOrderId: 'ord-1', stage: 'paper', apiUrl: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/' } as const;

const answer = (status: number, json: unknown, headers: Record<string, string> = {}): OrderApiAnswer => ({ status, headers, body: { json } });

describe('lean-router cancel reports', () => {
  it('says a 202 went to Alpaca directly when LEAN was skipped, with the order command of the stage, exit 0', () => {
    const report = cancelReport(answer(202, { client_order_id: 'ord-1', cancel_route: 'alpaca_gated', cancel_route_reason: 'kill_switch' }), PAPER);

    expect(report).toEqual({
      exitCode: 0,
      text: "ord-1: cancel requested at Alpaca directly, LEAN skipped (kill_switch); the broker is working on it: watch `lean-router order ord-1 --stage paper` for the broker's status",
    });
  });

  it('says when an earlier cancel was taken and that no broker was asked again on a 200, exit 0', () => {
    const report = cancelReport(
      answer(200, { client_order_id: 'ord-1', cancel_route: 'lean', cancel_route_reason: 'placed_by_lean', cancel_requested_at: '2026-01-02T03:04:05.000Z' }, { 'idempotent-replay': 'true' }),
      PAPER,
    );

    expect(report.exitCode).toBe(0);
    expect(report.text).toMatch(/^ord-1: cancel already requested earlier, at 2026-01-02T03:04:05.000Z, through LEAN \(placed_by_lean\); no broker was asked again/);
  });

  it('says there is nothing to cancel for a final order, with what filled, exit 1', () => {
    const report = cancelReport(
      answer(409, { error: 'order_final', message: 'the order is filled at the broker', details: { client_order_id: 'ord-1', broker_status: 'filled', filled_qty: '10' } }),
      PAPER,
    );

    expect(report).toEqual({ exitCode: 1, text: 'ord-1: nothing to cancel: the order is filled at the broker (filled so far: 10)' });
  });

  it('says an order not cancellable yet was sent nowhere, with the reason, exit 1', () => {
    const report = cancelReport(answer(409, { error: 'order_not_cancellable', message: 'the order is still being routed; retry once GET shows it accepted' }), PAPER);

    expect(report).toEqual({ exitCode: 1, text: 'ord-1: not canceled, and no broker was asked: the order is still being routed; retry once GET shows it accepted' });
  });

  it('lists each broker attempt when no broker took the cancel (502), exit 1', () => {
    const details = {
      client_order_id: 'ord-1',
      cancel_route: 'none',
      cancel_attempts: [
        { adapter: 'lean', outcome: 'failed', broker_order_id: 'b-1', http_status: 503, detail: 'runner unavailable', latency_ms: 120, started_at: '2026-01-02T03:04:05.000Z' },
        { adapter: 'alpaca', outcome: 'failed', broker_order_id: 'b-1', detail: 'timeout', latency_ms: 2000, started_at: '2026-01-02T03:04:05.120Z' },
      ],
    };

    const report = cancelReport(answer(502, { error: 'cancel_failed', message: "Alpaca's cancel failed: timeout", details }), PAPER);

    expect(report).toEqual({
      exitCode: 1,
      text: [
        "ord-1: NOT canceled: no broker took the cancel: Alpaca's cancel failed: timeout",
        '  lean cancel of b-1: failed (HTTP 503, 120 ms): runner unavailable',
        '  alpaca cancel of b-1: failed (2000 ms): timeout',
        'the order may still be open at the broker: run the same cancel again (it tries the brokers again) and check `lean-router order ord-1 --stage paper`',
      ].join('\n'),
    });
  });

  it('says to retry after Retry-After when the table is unavailable (503), exit 1', () => {
    const report = cancelReport(
      answer(503, { error: 'provenance_unavailable', message: 'the cancel could not be recorded, so no broker was asked; retry later' }, { 'retry-after': '5' }),
      PAPER,
    );

    expect(report).toEqual({ exitCode: 1, text: 'ord-1: not canceled, and no broker was asked: the cancel could not be recorded on the row (503 provenance_unavailable); retry in 5 s' });
  });

  it("names IAM when API Gateway refuses the caller (403), with API Gateway's own message", () => {
    const report = cancelReport(answer(403, { Message: 'User: arn:aws:iam::123456789012:user/op is not authorized to perform: execute-api:Invoke' }), PAPER);

    expect(report.exitCode).toBe(1);
    expect(report.text).toContain('refused the caller (403: User: arn:aws:iam::123456789012:user/op is not authorized to perform: execute-api:Invoke)');
    expect(report.text).toContain('need execute-api:Invoke on the paper stage');
  });

  it('reports a body that is not JSON with its status, exit 1', () => {
    const report = cancelReport({ status: 504, headers: {}, body: { text: '<html>Gateway Timeout</html>' } }, PAPER);

    expect(report).toEqual({ exitCode: 1, text: `the order API at ${PAPER.apiUrl} answered 504 with a body that is not JSON: <html>Gateway Timeout</html>` });
  });
});
