import { describeMismatches, verifyAck } from './ack-verification';
import { attributeFound, rowStatusOf, type AlpacaRoute, type Attribution } from './attribution';
import type { BreakerLease } from './breaker';
import type { RouterConfig } from './config';
import type { Deadline } from './deadline';
import type {
  Adapter,
  AlpacaSubmitOutcome,
  BrokerOrder,
  ExecutionAttempt,
  LeanFailureReason,
  LeanSubmitOutcome,
  LookupOutcome,
  SubmitFailure,
} from './execution';
import type { GateReason } from './gates';
import { describeError, dropUndefined } from './objects';
import type { OrderRequest } from './order-request';
import type { PolicyDecision } from './policy';
import type { AlpacaBroker, BrokerCallContext, Clock, LeanRunner, RouteLogger, RouteMetrics } from './ports';
import type { ClaimRef, FallbackIntent, ProvenanceStore, RowOutcome } from './provenance';

/** The least time a DynamoDB write is worth starting with. */
const MIN_WRITE_MS = 50;

/** What one order's execution needs: the brokers, the store for the fallback intent, and its deadline. */
export interface ExecutionContext {
  readonly config: RouterConfig;
  readonly store: ProvenanceStore;
  readonly lean?: LeanRunner;
  readonly alpaca: AlpacaBroker;
  readonly metrics: RouteMetrics;
  readonly logger: RouteLogger;
  readonly clock: Clock;
  readonly claim: ClaimRef;
  readonly correlationId: string;
  /** Ends where the final write's reserve begins. */
  readonly deadline: Deadline;
  readonly policy: PolicyDecision;
  readonly fallback: 'alpaca' | 'none';
  /** The gate that keeps LEAN out, if one held; `gates` are all that held, for the log. */
  readonly gate?: GateReason;
  readonly gates: readonly string[];
  readonly killSwitchReason?: string;
  /** This order's permission from the breaker; absent when LEAN is not to be called. */
  readonly lease?: BreakerLease;
}

/** Why the order is going to Alpaca, and what to write if Alpaca takes it. */
interface AlpacaIntent {
  readonly route: AlpacaRoute;
  readonly reason: string;
  /** Set on the fallback route: LEAN's failure. */
  readonly leanFailure?: SubmitFailure<LeanFailureReason>;
}

/**
 * One order's trip through the brokers, within its deadline. Bounds, whatever fails: one LEAN
 * submit, at most two read-only lookups after an ambiguous LEAN failure, one Alpaca submit, and one
 * Alpaca lookup after a duplicate or ambiguous Alpaca answer. No submit is ever retried, every call
 * carries the caller's `client_order_id`, and the fallback submit goes out only after its intent is
 * on the row. The attempt log and what was sent where are kept, so every exit (a throw included)
 * records them.
 */
export class OrderExecution {
  private readonly attempts: ExecutionAttempt[] = [];
  /** Brokers that may hold the order: a submit was started and did not definitely fail. */
  private readonly mayHold = new Set<Adapter>();
  private leanSent = false;
  private intent: FallbackIntent | undefined;
  /** The fallback submit to Alpaca was started: from then on the row counts as fallen back. */
  private fallbackSent = false;

  constructor(
    private readonly context: ExecutionContext,
    private readonly order: OrderRequest,
  ) {}

  /** Runs the order to an outcome; never throws (see {@link afterThrow}). */
  async execute(): Promise<RowOutcome> {
    try {
      return await this.run();
    } catch (error) {
      return this.afterThrow(error);
    }
  }

  private async run(): Promise<RowOutcome> {
    const { lean, policy, gate } = this.context;
    if (policy.expected !== 'lean' || lean === undefined) return this.submitToAlpaca({ route: 'alpaca', reason: policy.reason });
    if (gate !== undefined) return this.gated(gate);

    const { leanSubmitMs, leanConnectMs } = this.context.config.timeouts;
    const allowedMs = this.context.deadline.allow(leanSubmitMs, leanConnectMs);
    if (allowedMs === undefined) return this.notExecuted('failed', 'deadline_exceeded', 'no time was left to call LEAN; nothing was sent to any broker');
    this.leanSent = true;
    this.mayHold.add('lean');
    const submitted = await this.call('lean', 'submit', allowedMs, (context) => lean.submit(this.order, context), leanSubmitRecord);
    if (submitted.kind === 'accepted') {
      this.context.lease?.succeeded();
      return this.acknowledged('lean', submitted.order, 'submit', { route: 'lean', verified: true });
    }

    const failure = submitted.failure;
    // An order's own 4xx is LEAN answering well; only what says LEAN is unwell counts against it.
    if (saysLeanIsUnwell(failure)) this.context.lease?.failed();
    else this.context.lease?.release();
    if (failure.certainty === 'definite') this.mayHold.delete('lean');

    if (failure.certainty === 'ambiguous') {
      const found = await this.lookUpAfterAmbiguousLeanFailure(lean);
      if (found.kind === 'found') {
        // Stryker disable next-line ObjectLiteral,BooleanLiteral: with no Alpaca route in the record, attributeFound answers LEAN's late ack whatever leanSent says
        const attribution = attributeFound({ leanSent: true });
        return this.acknowledged(
          'lean',
          found.order,
          // Stryker disable next-line StringLiteral: rowStatusOf reads every `via` other than 'submit' as a lookup, so no value here can differ from 'lookup'
          'lookup',
          attribution,
        );
      }
      if (found.kind === 'unverifiable') {
        return this.unknown(failure.reason, `LEAN submit was ambiguous (${failure.detail}) and neither the runner nor Alpaca answered the lookup`);
      }
    }

    if (this.context.fallback === 'none') {
      // Not found is no proof after an ambiguous submit: the runner may still place it, and with no
      // Alpaca submit there is no shared client_order_id to refuse a resend. Reconciliation ends it.
      if (failure.certainty === 'ambiguous') {
        return this.unknown(
          failure.reason,
          `LEAN submit was ambiguous (${failure.detail}) and not found by the lookups; the fallback adapter is none, so nothing else was sent, and LEAN may still place it: do not resend`,
        );
      }
      return this.notExecuted('failed', failure.reason, `LEAN submit failed (${failure.detail}) and the fallback adapter is none`);
    }
    return this.fallBack(failure);
  }

  /** Policy chose LEAN but a gate holds: Alpaca without any LEAN call, or a refusal with fallback `none`. */
  private async gated(gate: GateReason): Promise<RowOutcome> {
    this.context.metrics.gated(gate);
    this.context.logger.warn('execution_gated', {
      client_order_id: this.order.client_order_id,
      symbol: this.order.symbol,
      gate,
      gates: this.context.gates,
      kill_switch_reason: this.context.killSwitchReason,
    });
    if (this.context.fallback === 'none') {
      return this.notExecuted('rejected', gate, `LEAN is gated (${gate}) and the fallback adapter is none; nothing was sent to any broker`);
    }
    return this.submitToAlpaca({ route: 'alpaca_gated', reason: gate });
  }

  /**
   * Writes the fallback intent on the row, then submits to Alpaca. Without the intent on the row
   * (the store refused, or no time was left) nothing is sent: after a definite LEAN failure the
   * order is `failed`, after an ambiguous one `unknown` (LEAN may still have placed it).
   */
  private async fallBack(failure: SubmitFailure<LeanFailureReason>): Promise<RowOutcome> {
    const { store, claim, deadline, config, logger } = this.context;
    const notSent = (why: string): RowOutcome =>
      failure.certainty === 'definite'
        ? this.notExecuted('failed', failure.reason, `LEAN submit failed (${failure.detail}); the fallback to Alpaca was not sent: ${why}`)
        : this.unknown(failure.reason, `LEAN submit was ambiguous (${failure.detail}) and not found by the lookups; the fallback to Alpaca was not sent: ${why}`);

    // The intent is written only when the submit can still start after it, within the deadline.
    const { dynamoDbMs, alpacaSubmitMs, alpacaConnectMs } = config.timeouts;
    const spareMs = deadline.remainingMs() - alpacaConnectMs;
    if (spareMs < MIN_WRITE_MS) return notSent('no time was left for it');
    const intent: FallbackIntent = { reason: failure.reason, lean_failure: failure.certainty, recorded_at: this.context.clock.now().toISOString() };
    try {
      await store.recordFallbackIntent(claim, intent, this.attempts, Math.min(dynamoDbMs, spareMs));
    } catch (error) {
      logger.error('fallback_intent_not_recorded', { client_order_id: this.order.client_order_id, reason: failure.reason, error: describeError(error) });
      return notSent(`its intent could not be recorded on the row (${describeError(error)})`);
    }
    this.intent = intent;
    if (deadline.allow(alpacaSubmitMs, alpacaConnectMs) === undefined) return notSent('no time was left for it');

    this.context.metrics.fallback(failure.reason);
    logger.warn('execution_fallback', { client_order_id: this.order.client_order_id, reason: failure.reason, certainty: failure.certainty, detail: failure.detail });
    return this.submitToAlpaca({ route: 'alpaca_fallback', reason: failure.reason, leanFailure: failure });
  }

  /**
   * After an ambiguous LEAN failure the order may exist. Ask the runner, then Alpaca (where the
   * runner places orders). Only when at least one of them answers "not found" may Alpaca be tried;
   * the shared `client_order_id` makes Alpaca refuse a true duplicate even then.
   */
  private async lookUpAfterAmbiguousLeanFailure(
    lean: LeanRunner,
  ): Promise<{ kind: 'found'; order: BrokerOrder } | { kind: 'not_found' } | { kind: 'unverifiable' }> {
    const { leanLookupMs, leanConnectMs, alpacaLookupMs, alpacaConnectMs } = this.context.config.timeouts;
    const id = this.order.client_order_id;
    const atRunner = await this.lookUp('lean', leanLookupMs, leanConnectMs, (context) => lean.findByClientOrderId(id, context));
    if (atRunner.kind === 'found') return atRunner;
    const atAlpaca = await this.lookUp('alpaca', alpacaLookupMs, alpacaConnectMs, (context) => this.context.alpaca.findByClientOrderId(id, context));
    if (atAlpaca.kind === 'found') return atAlpaca;
    if (atRunner.kind === 'error' && atAlpaca.kind === 'error') return { kind: 'unverifiable' };
    // Stryker disable next-line ObjectLiteral,StringLiteral: the caller tells only 'found' and 'unverifiable' apart; any other answer means not found
    return { kind: 'not_found' };
  }

  /** One lookup within the deadline; one that cannot start answers like a lookup that got no answer. */
  private async lookUp(adapter: Adapter, ownMs: number, minimumMs: number, invoke: (context: BrokerCallContext) => Promise<LookupOutcome>): Promise<LookupOutcome> {
    const allowedMs = this.context.deadline.allow(ownMs, minimumMs);
    if (allowedMs === undefined) {
      return {
        kind: 'error',
        // Stryker disable next-line StringLiteral: a lookup's detail is read only into its attempt record, and a lookup not started has none
        detail: 'not started: no time was left before the deadline',
      };
    }
    return this.call(adapter, 'lookup', allowedMs, invoke, lookupRecord);
  }

  private async submitToAlpaca(intent: AlpacaIntent): Promise<RowOutcome> {
    const { alpaca, deadline, config } = this.context;
    const allowedMs = deadline.allow(config.timeouts.alpacaSubmitMs, config.timeouts.alpacaConnectMs);
    if (allowedMs === undefined) return this.notPlacedByAlpaca('failed', 'no time was left to call Alpaca; nothing was sent to it', intent);
    this.mayHold.add('alpaca');
    if (intent.route === 'alpaca_fallback') this.fallbackSent = true;
    const submitted = await this.call('alpaca', 'submit', allowedMs, (context) => alpaca.submit(this.order, context), alpacaSubmitRecord);
    switch (submitted.kind) {
      case 'accepted':
        return this.acknowledged('alpaca', submitted.order, 'submit', { route: intent.route, verified: true }, intent);
      case 'rejected':
        // Stryker disable next-line StringLiteral: nothing after this can throw and only mayHold's 'lean' is read again, so 'alpaca' left in it changes nothing
        this.mayHold.delete('alpaca');
        return this.notPlacedByAlpaca('rejected', `Alpaca rejected the order (HTTP ${submitted.httpStatus}): ${submitted.detail}`, intent);
      case 'duplicate':
      case 'failed': {
        if (submitted.kind === 'failed' && submitted.failure.certainty === 'definite') {
          // Stryker disable next-line StringLiteral: nothing after this can throw and only mayHold's 'lean' is read again, so 'alpaca' left in it changes nothing
          this.mayHold.delete('alpaca');
          return this.notPlacedByAlpaca('failed', `Alpaca submit failed: ${submitted.failure.detail}`, intent);
        }
        // The order may exist (duplicate id, or a request that may have landed): look, never resubmit.
        const { alpacaLookupMs, alpacaConnectMs } = config.timeouts;
        const found = await this.lookUp('alpaca', alpacaLookupMs, alpacaConnectMs, (context) => alpaca.findByClientOrderId(this.order.client_order_id, context));
        if (found.kind === 'found') {
          const attribution = attributeFound({
            leanSent: this.leanSent,
            ...(intent.leanFailure === undefined ? {} : { leanFailure: intent.leanFailure.certainty }),
            alpacaRoute: intent.route,
            alpacaSaidDuplicate: submitted.kind === 'duplicate',
          });
          return this.acknowledged(
            attribution.route === 'lean' ? 'lean' : 'alpaca',
            found.order,
            // Stryker disable next-line StringLiteral: rowStatusOf reads every `via` other than 'submit' as a lookup, so no value here can differ from 'lookup'
            'lookup',
            attribution,
            intent,
          );
        }
        const cause = submitted.kind === 'duplicate' ? 'Alpaca reported the client_order_id as taken' : submitted.failure.detail;
        return this.unknown(intent.reason, `${cause}; the lookup at Alpaca ${found.kind === 'not_found' ? 'found nothing' : 'did not answer'}`, intent);
      }
    }
  }

  /**
   * A broker holds an order under this `client_order_id` (it answered a submit or a lookup). It is
   * checked against what was asked: any difference flags the row for review (and, for LEAN, trips
   * the kill switch after the row is final), never a second submit. The broker's own status
   * decides whether the row is `accepted` or `rejected`.
   */
  private acknowledged(adapter: Adapter, ack: BrokerOrder, via: 'submit' | 'lookup', attribution: Attribution, intent?: AlpacaIntent): RowOutcome {
    const mismatches = verifyAck(this.order, ack, this.context.config.notionalTolerance);
    if (mismatches.length > 0) {
      if (adapter === 'lean') this.context.metrics.leanAckMismatch();
      else this.context.metrics.alpacaAckMismatch();
      this.context.logger.error(`${adapter}_ack_mismatch`, {
        client_order_id: this.order.client_order_id,
        mismatches,
        problems: ack.problems,
        asked: { client_order_id: this.order.client_order_id, symbol: this.order.symbol, side: this.order.side, qty: this.order.qty },
        acknowledged: { client_order_id: ack.client_order_id, symbol: ack.symbol, side: ack.side, qty: ack.qty, id: ack.id, status: ack.status },
      });
    }
    // Stryker disable next-line OptionalChaining: only the fallback submit is attributed to alpaca_fallback, and its intent always carries LEAN's failure
    const fallbackReason = attribution.route === 'alpaca_fallback' ? intent?.leanFailure?.reason : undefined;
    // Stryker disable next-line OptionalChaining: every route but lean comes from an Alpaca submit, which always has its intent
    const routeReason = attribution.route === 'lean' ? this.context.policy.reason : (intent?.reason ?? this.context.policy.reason);
    const status = rowStatusOf(ack, via);
    const details = [
      ...(status === 'rejected' ? [`${adapter === 'lean' ? 'LEAN' : 'Alpaca'} acknowledged the order with status ${ack.status}: it is not working`] : []),
      ...(mismatches.length > 0 ? [`${adapter === 'lean' ? 'LEAN' : 'Alpaca'} placed a different order than asked: ${describeMismatches(mismatches, ack)}`] : []),
      ...(attribution.doubt === undefined ? [] : [`route not verified: ${attribution.doubt}`]),
    ];
    return dropUndefined({
      status,
      execution_adapter: adapter,
      execution_route: status === 'rejected' ? 'none' : attribution.route,
      execution_route_reason: routeReason,
      execution_fallback_reason: fallbackReason,
      execution_fallback_count: this.fallbackCount(),
      execution_attempts: this.attempts,
      execution_note: attribution.note,
      broker_order_id: ack.id,
      raw_payload: {
        ...ack.raw,
        _execution_adapter: attribution.route,
        ...(fallbackReason === undefined ? {} : { _execution_fallback_reason: fallbackReason }),
      },
      review_required: mismatches.length > 0,
      route_verified: attribution.verified,
      status_detail: details.length > 0 ? details.join('; ') : undefined,
    });
  }

  /**
   * Alpaca did not take the router's own submit. That ends the order only when LEAN cannot hold it:
   * after an ambiguous LEAN failure the runner may still place it, so the row stays `unknown` for
   * reconciliation instead of a `failed` or `rejected` the books would trust.
   */
  private notPlacedByAlpaca(status: 'rejected' | 'failed', detail: string, intent: AlpacaIntent): RowOutcome {
    if (this.mayHold.has('lean')) {
      return this.unknown(intent.reason, `${detail}; LEAN's ambiguous submit may still have placed the order: do not resend`, intent);
    }
    return this.notExecuted(status, intent.reason, detail, intent);
  }

  private notExecuted(status: 'rejected' | 'failed', reason: string, detail: string, intent?: AlpacaIntent): RowOutcome {
    return dropUndefined({
      status,
      execution_adapter: 'none',
      execution_route: 'none',
      execution_route_reason: reason,
      execution_fallback_reason: intent?.leanFailure?.reason ?? this.intent?.reason,
      execution_fallback_count: this.fallbackCount(),
      execution_attempts: this.attempts,
      review_required: false,
      route_verified: true,
      status_detail: detail,
    });
  }

  private unknown(reason: string, detail: string, intent?: AlpacaIntent): RowOutcome {
    this.context.metrics.outcomeUnknown();
    this.context.logger.error('order_outcome_unknown', { client_order_id: this.order.client_order_id, reason, detail });
    return {
      // Stryker disable next-line StringLiteral: the status is overwritten just below
      ...this.notExecuted('failed', reason, detail, intent),
      status: 'unknown',
      route_verified: false,
    };
  }

  /**
   * Whatever threw (a port, a bug), the row still gets a final status: `unknown` while a broker may
   * hold the order (reconciliation resolves it), `failed` when none can.
   */
  private afterThrow(error: unknown): RowOutcome {
    this.context.logger.error('order_execution_threw', { client_order_id: this.order.client_order_id, error: describeError(error), may_hold: [...this.mayHold] });
    const reason = this.intent?.reason ?? 'execution_error';
    const detail = `routing stopped on an unexpected error (${describeError(error)})`;
    if (this.mayHold.size > 0) return this.unknown(reason, `${detail}; ${[...this.mayHold].join(' and ')} may hold the order: do not resend`);
    return this.notExecuted('failed', reason, `${detail}; no broker can hold the order`);
  }

  /** One once the fallback submit started; an intent whose submit never went out is no fallback. */
  private fallbackCount(): number {
    return this.fallbackSent ? 1 : 0;
  }

  /** Runs one broker call within `allowedMs`, timing it and appending its attempt record (a throw is recorded too). */
  private async call<T>(
    adapter: Adapter,
    operation: ExecutionAttempt['operation'],
    allowedMs: number,
    invoke: (context: BrokerCallContext) => Promise<T>,
    record: (result: T) => CallRecord,
  ): Promise<T> {
    const { clock } = this.context;
    const startedAt = clock.now().toISOString();
    const started = clock.monotonicMs();
    let result: T;
    try {
      result = await invoke({ correlationId: this.context.correlationId, timeoutMs: allowedMs });
    } catch (error) {
      this.finishCall(adapter, operation, started, startedAt, { outcome: 'error', reason: `threw: ${describeError(error)}` });
      throw error;
    }
    this.finishCall(adapter, operation, started, startedAt, record(result));
    return result;
  }

  /** Counts and records one finished broker call (a method, not a closure per call). */
  private finishCall(
    adapter: Adapter,
    operation: ExecutionAttempt['operation'],
    started: number,
    startedAt: string,
    fields: CallRecord,
  ): void {
    const { clock, metrics } = this.context;
    const latencyMs = Math.round(clock.monotonicMs() - started);
    if (operation === 'submit') metrics.brokerSubmit(adapter, latencyMs);
    // Alpaca's quota (200/minute) is shared with the runner and the sync: a 429 is counted, never retried.
    if (adapter === 'alpaca' && fields.http_status === 429) metrics.alpacaRateLimited();
    this.attempts.push(dropUndefined({ adapter, operation, ...fields, latency_ms: latencyMs, started_at: startedAt }));
  }
}

/** Timeouts, 5xx, network errors and invalid answers say LEAN is unwell; an order's own 4xx does not. */
export function saysLeanIsUnwell(failure: SubmitFailure<LeanFailureReason>): boolean {
  // Stryker disable next-line Regex: every LEAN failure reason starts with `lean_submit_`, so nothing can match the pattern without its `^`
  return !/^lean_submit_http_4\d\d$/.test(failure.reason);
}

/** What one broker call's answer puts on its attempt record; the execution adds the rest. */
type CallRecord = Pick<ExecutionAttempt, 'outcome' | 'reason' | 'certainty' | 'http_status'>;

function leanSubmitRecord(result: LeanSubmitOutcome): CallRecord {
  if (result.kind === 'accepted') return { outcome: 'accepted', http_status: result.httpStatus };
  return { outcome: 'failed', reason: result.failure.reason, certainty: result.failure.certainty, http_status: result.failure.httpStatus };
}

function alpacaSubmitRecord(result: AlpacaSubmitOutcome): CallRecord {
  switch (result.kind) {
    case 'accepted':
      return { outcome: 'accepted', http_status: result.httpStatus };
    case 'duplicate':
      return { outcome: 'duplicate', reason: 'client_order_id_exists', http_status: result.httpStatus };
    case 'rejected':
      return { outcome: 'rejected', reason: 'alpaca_rejected', http_status: result.httpStatus };
    case 'failed':
      return { outcome: 'failed', reason: result.failure.reason, certainty: result.failure.certainty, http_status: result.failure.httpStatus };
  }
}

function lookupRecord(result: LookupOutcome): CallRecord {
  if (result.kind === 'error') return { outcome: 'error', reason: result.detail, http_status: result.httpStatus };
  return { outcome: result.kind, http_status: result.httpStatus };
}
