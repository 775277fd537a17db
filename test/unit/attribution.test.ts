import { describe, expect, it } from 'vitest';
import { attributeFound, rowStatusOf, sendRecordOfRow, type Attribution, type SendRecord } from '../../functions/core/attribution';
import type { ExecutionAttempt } from '../../functions/core/execution';
import type { FallbackIntent, ProvenanceRow } from '../../functions/core/provenance';
import { pendingRow } from '../support/fakes';

const AT = '2025-01-02T14:30:00.000Z';

function attempt(adapter: ExecutionAttempt['adapter'], operation: ExecutionAttempt['operation'], outcome: ExecutionAttempt['outcome']): ExecutionAttempt {
  return { adapter, operation, outcome, latency_ms: 1, started_at: AT };
}

function intent(leanFailure: FallbackIntent['lean_failure']): FallbackIntent {
  return { reason: leanFailure === 'definite' ? 'lean_submit_network_error' : 'lean_submit_timeout', lean_failure: leanFailure, recorded_at: AT };
}

/** A pending row as routing left it, its policy snapshot's gates replaced by `gates`. */
function row(overrides: Partial<ProvenanceRow> = {}, gates: readonly string[] = []): ProvenanceRow {
  const base = pendingRow(overrides);
  return { ...base, policy_snapshot: { ...base.policy_snapshot, gates } };
}

describe('attributeFound', () => {
  it.each<[string, SendRecord, Attribution]>([
    ['only LEAN was sent the order', { leanSent: true }, { route: 'lean', verified: true, note: 'late_ack' }],
    ['only Alpaca was sent it directly', { leanSent: false, alpacaRoute: 'alpaca' }, { route: 'alpaca', verified: true }],
    ['only Alpaca was sent it past a gate', { leanSent: false, alpacaRoute: 'alpaca_gated' }, { route: 'alpaca_gated', verified: true }],
    [
      'both were sent it, LEAN failed ambiguously and Alpaca said it already held it',
      { leanSent: true, leanFailure: 'ambiguous', alpacaRoute: 'alpaca_fallback', alpacaSaidDuplicate: true },
      { route: 'lean', verified: true, note: 'late_ack' },
    ],
    ['both were sent it and LEAN failed definitely', { leanSent: true, leanFailure: 'definite', alpacaRoute: 'alpaca_fallback' }, { route: 'alpaca_fallback', verified: true }],
  ])('attributes the order, verified, when %s', (_case, record, attribution) => {
    expect(attributeFound(record)).toStrictEqual(attribution);
  });

  it('adopts Alpaca’s existing order, not verified, when only Alpaca was sent it and said it already held it', () => {
    const attribution = attributeFound({ leanSent: false, alpacaRoute: 'alpaca', alpacaSaidDuplicate: true });

    expect(attribution).toStrictEqual({
      route: 'alpaca',
      verified: false,
      note: 'adopted_existing',
      doubt: "Alpaca already held the client_order_id before this router's first submit: another client may have placed it",
    });
  });

  it('attributes the order to LEAN but not verified when Alpaca already held it although LEAN had failed definitely', () => {
    const attribution = attributeFound({ leanSent: true, leanFailure: 'definite', alpacaRoute: 'alpaca_fallback', alpacaSaidDuplicate: true });

    expect(attribution).toStrictEqual({
      route: 'lean',
      verified: false,
      note: 'late_ack',
      doubt: expect.stringContaining('Alpaca already held the client_order_id before the fallback submit'),
    });
  });

  it.each<[string, SendRecord]>([
    ['LEAN failed ambiguously', { leanSent: true, leanFailure: 'ambiguous', alpacaRoute: 'alpaca_fallback' }],
    ['Alpaca’s answer said it was no duplicate', { leanSent: true, leanFailure: 'ambiguous', alpacaRoute: 'alpaca_fallback', alpacaSaidDuplicate: false }],
  ])('attributes the order to the fallback, not verified, when both were sent it and %s', (_case, record) => {
    expect(attributeFound(record)).toStrictEqual({
      route: 'alpaca_fallback',
      verified: false,
      doubt: expect.stringContaining('either may have placed the order'),
    });
  });
});

describe('sendRecordOfRow', () => {
  it('records LEAN as the only path of a LEAN row with no gate and no fallback intent', () => {
    expect(sendRecordOfRow(row())).toStrictEqual({ leanSent: true });
  });

  it('records Alpaca as the only path of a row whose policy expected Alpaca', () => {
    expect(sendRecordOfRow(row({ execution_expected_adapter: 'alpaca' }))).toStrictEqual({ leanSent: false, alpacaRoute: 'alpaca' });
  });

  it.each([[['kill_switch']], [['breaker_open']], [['runner_health_stale', 'symbol_manual_review']]])(
    'records a LEAN row gated by %j as sent to Alpaca past the gate, not to LEAN',
    (gates) => {
      expect(sendRecordOfRow(row({}, gates))).toStrictEqual({ leanSent: false, alpacaRoute: 'alpaca_gated' });
    },
  );

  it.each(['definite', 'ambiguous'] as const)('records both paths, with the %s LEAN failure, when a pending row holds a fallback intent', (certainty) => {
    expect(sendRecordOfRow(row({ execution_fallback_intent: intent(certainty) }))).toStrictEqual({
      leanSent: true,
      leanFailure: certainty,
      alpacaRoute: 'alpaca_fallback',
    });
  });

  it('records both paths when a finalized row holds a fallback intent and an Alpaca submit', () => {
    const attempts = [attempt('lean', 'submit', 'failed'), attempt('alpaca', 'submit', 'failed')];

    expect(sendRecordOfRow(row({ status: 'unknown', execution_fallback_intent: intent('ambiguous'), execution_attempts: attempts }))).toStrictEqual({
      leanSent: true,
      leanFailure: 'ambiguous',
      alpacaRoute: 'alpaca_fallback',
    });
  });

  it('records LEAN as the only path when the fallback submit failed definitely (a 429): the fallback placed nothing', () => {
    const refused: ExecutionAttempt = { ...attempt('alpaca', 'submit', 'failed'), reason: 'alpaca_submit_http_429', certainty: 'definite' };
    const attempts = [attempt('lean', 'submit', 'failed'), attempt('lean', 'lookup', 'not_found'), attempt('alpaca', 'lookup', 'not_found'), refused];

    expect(sendRecordOfRow(row({ status: 'unknown', execution_fallback_intent: intent('ambiguous'), execution_attempts: attempts }))).toStrictEqual({
      leanSent: true,
      leanFailure: 'ambiguous',
    });
  });

  it('records both paths when the fallback submit failed ambiguously: it may have placed the order', () => {
    const timedOut: ExecutionAttempt = { ...attempt('alpaca', 'submit', 'failed'), reason: 'alpaca_submit_timeout', certainty: 'ambiguous' };

    expect(sendRecordOfRow(row({ status: 'unknown', execution_fallback_intent: intent('ambiguous'), execution_attempts: [attempt('lean', 'submit', 'failed'), timedOut] }))).toStrictEqual({
      leanSent: true,
      leanFailure: 'ambiguous',
      alpacaRoute: 'alpaca_fallback',
    });
  });

  it('records LEAN as the only path when Alpaca rejected the fallback submit outright: the fallback placed nothing', () => {
    const attempts = [attempt('lean', 'submit', 'failed'), attempt('lean', 'lookup', 'not_found'), attempt('alpaca', 'lookup', 'not_found'), attempt('alpaca', 'submit', 'rejected')];

    expect(sendRecordOfRow(row({ status: 'unknown', execution_fallback_intent: intent('ambiguous'), execution_attempts: attempts }))).toStrictEqual({
      leanSent: true,
      leanFailure: 'ambiguous',
    });
  });

  it('records LEAN as the only path when a finalized row holds a fallback intent but no Alpaca submit: the fallback never started', () => {
    const attempts = [attempt('lean', 'submit', 'failed'), attempt('lean', 'lookup', 'not_found'), attempt('alpaca', 'lookup', 'not_found')];

    expect(sendRecordOfRow(row({ status: 'unknown', execution_fallback_intent: intent('ambiguous'), execution_attempts: attempts }))).toStrictEqual({
      leanSent: true,
      leanFailure: 'ambiguous',
    });
  });

  it('records that Alpaca said duplicate when the row holds an Alpaca submit answered duplicate', () => {
    const attempts = [attempt('lean', 'submit', 'failed'), attempt('alpaca', 'submit', 'duplicate'), attempt('alpaca', 'lookup', 'found')];

    expect(sendRecordOfRow(row({ execution_fallback_intent: intent('definite'), execution_attempts: attempts }))).toStrictEqual({
      leanSent: true,
      leanFailure: 'definite',
      alpacaRoute: 'alpaca_fallback',
      alpacaSaidDuplicate: true,
    });
  });

  it.each([
    ['a LEAN submit answered duplicate', attempt('lean', 'submit', 'duplicate')],
    ['an Alpaca lookup answered duplicate', attempt('alpaca', 'lookup', 'duplicate')],
    ['an Alpaca submit answered otherwise', attempt('alpaca', 'submit', 'accepted')],
  ])('does not take %s for Alpaca saying duplicate', (_case, only) => {
    expect(sendRecordOfRow(row({ execution_fallback_intent: intent('ambiguous'), execution_attempts: [only] }))).not.toHaveProperty('alpacaSaidDuplicate');
  });
});

describe('rowStatusOf', () => {
  it.each([
    ['submit', 'accepted', 'accepted'],
    ['submit', 'new', 'accepted'],
    ['submit', 'rejected', 'rejected'],
    ['submit', 'canceled', 'rejected'],
    ['submit', 'expired', 'rejected'],
    ['submit', 'REJECTED', 'rejected'],
    ['submit', 'Canceled', 'rejected'],
    ['lookup', 'rejected', 'rejected'],
    ['lookup', 'Rejected', 'rejected'],
    ['lookup', 'canceled', 'accepted'],
    ['lookup', 'expired', 'accepted'],
    ['lookup', 'filled', 'accepted'],
  ] as const)('via %s, reads broker status %s as a row %s', (via, status, expected) => {
    expect(rowStatusOf({ status }, via)).toBe(expected);
  });

  it.each(['submit', 'lookup'] as const)('via %s, reads an order without a status as accepted', (via) => {
    expect(rowStatusOf({}, via)).toBe('accepted');
  });
});
