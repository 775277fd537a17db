import { describe, expect, it } from 'vitest';
import type { BreakerLease } from '../../functions/core/breaker';
import { Deadline } from '../../functions/core/deadline';
import type {
  AlpacaSubmitOutcome,
  BrokerOrder,
  ExecutionAttempt,
  ExecutionRoute,
  LeanFailureReason,
  LeanSubmitOutcome,
  LookupOutcome,
} from '../../functions/core/execution';
import type { GateReason } from '../../functions/core/gates';
import { OrderExecution, saysLeanIsUnwell, type ExecutionContext } from '../../functions/core/order-execution';
import type { OrderRequest } from '../../functions/core/order-request';
import type { PolicyDecision } from '../../functions/core/policy';
import type { BrokerCallContext, Clock } from '../../functions/core/ports';
import type { ClaimRef, FallbackIntent, RowOutcome } from '../../functions/core/provenance';
import {
  accepted,
  brokerOrder,
  FakeAlpacaBroker,
  FakeLeanRunner,
  found,
  leanFailure,
  lookupError,
  notFound,
  order,
  pendingRow,
  RecordingLogger,
  RecordingProvenanceStore,
  RecordingRouteMetrics,
  routerConfig,
  type BrokerScript,
} from '../support/fakes';

const ORDER = order();
const NOW_ISO = '2025-01-02T14:30:00.000Z';
const CORRELATION_ID = 'corr-42';
const CLAIM: ClaimRef = { clientOrderId: ORDER.client_order_id, claimToken: 'claim-1' };
/** Every timeout distinct, so a test can tell which one a call was given. */
const CONFIG = routerConfig(
  {},
  {
    timeouts: { leanConnectMs: 100, leanSubmitMs: 500, leanLookupMs: 210, alpacaConnectMs: 110, alpacaSubmitMs: 520, alpacaLookupMs: 230, dynamoDbMs: 300, ssmMs: 320 },
  },
);
const LEAN_POLICY: PolicyDecision = { expected: 'lean', reason: 'policy_all' };

const LEAN_ACK = brokerOrder(ORDER, {}, 'lean-order-1');
const ALPACA_ACK = brokerOrder(ORDER, {}, 'alpaca-order-1');
const LEAN_DEFINITE = leanFailure('lean_submit_network_error', 'definite');
const LEAN_AMBIGUOUS = leanFailure('lean_submit_timeout', 'ambiguous');
const LEAN_502 = leanFailure('lean_submit_http_502', 'definite', 502);
const ALPACA_REJECTED: AlpacaSubmitOutcome = { kind: 'rejected', httpStatus: 403, detail: 'insufficient buying power' };
const ALPACA_DUPLICATE: AlpacaSubmitOutcome = { kind: 'duplicate', httpStatus: 422, detail: 'client_order_id must be unique' };
const ALPACA_DEFINITE: AlpacaSubmitOutcome = {
  kind: 'failed',
  failure: { reason: 'alpaca_submit_network_error', certainty: 'definite', detail: 'ECONNREFUSED' },
};
const ALPACA_AMBIGUOUS: AlpacaSubmitOutcome = {
  kind: 'failed',
  failure: { reason: 'alpaca_submit_timeout', certainty: 'ambiguous', detail: 'no answer within 520 ms', httpStatus: 504 },
};

/** Wall-clock time frozen at NOW_ISO; monotonic time moved by hand (and by the brokers' calls). */
class ManualClock implements Clock {
  t = 1_000;

  now(): Date {
    return new Date(NOW_ISO);
  }

  monotonicMs(): number {
    return this.t;
  }
}

/** A broker's script, how long each of its calls takes, and what its calls throw instead of answering. */
interface BrokerSetup<S> extends BrokerScript<S> {
  readonly submitMs?: number;
  readonly lookupMs?: number;
  readonly submitThrows?: Error;
  readonly lookupThrows?: Error;
}

class TimedLeanRunner extends FakeLeanRunner {
  constructor(
    private readonly setup: BrokerSetup<LeanSubmitOutcome>,
    private readonly clock: ManualClock,
  ) {
    super(setup);
  }

  override async submit(request: OrderRequest, context: BrokerCallContext): Promise<LeanSubmitOutcome> {
    this.clock.t += this.setup.submitMs ?? 0;
    if (this.setup.submitThrows !== undefined) throw this.setup.submitThrows;
    return super.submit(request, context);
  }

  override async findByClientOrderId(clientOrderId: string, context: BrokerCallContext): Promise<LookupOutcome> {
    this.clock.t += this.setup.lookupMs ?? 0;
    if (this.setup.lookupThrows !== undefined) throw this.setup.lookupThrows;
    return super.findByClientOrderId(clientOrderId, context);
  }
}

class TimedAlpacaBroker extends FakeAlpacaBroker {
  constructor(
    private readonly setup: BrokerSetup<AlpacaSubmitOutcome>,
    private readonly clock: ManualClock,
  ) {
    super(setup);
  }

  override async submit(request: OrderRequest, context: BrokerCallContext): Promise<AlpacaSubmitOutcome> {
    this.clock.t += this.setup.submitMs ?? 0;
    if (this.setup.submitThrows !== undefined) throw this.setup.submitThrows;
    return super.submit(request, context);
  }

  override async findByClientOrderId(clientOrderId: string, context: BrokerCallContext): Promise<LookupOutcome> {
    this.clock.t += this.setup.lookupMs ?? 0;
    if (this.setup.lookupThrows !== undefined) throw this.setup.lookupThrows;
    return super.findByClientOrderId(clientOrderId, context);
  }
}

/** The provenance store, whose fallback-intent write takes `intentWriteMs` of the clock. */
class TimedStore extends RecordingProvenanceStore {
  constructor(
    private readonly clock: ManualClock,
    private readonly intentWriteMs: number,
  ) {
    super();
  }

  override async recordFallbackIntent(claim: ClaimRef, intent: FallbackIntent, attempts: readonly ExecutionAttempt[], timeoutMs: number): Promise<void> {
    this.clock.t += this.intentWriteMs;
    return super.recordFallbackIntent(claim, intent, attempts, timeoutMs);
  }
}

/** Route metrics whose `method` throws, as a broken metrics sink would. */
class ThrowingMetrics extends RecordingRouteMetrics {
  constructor(private readonly method: 'gated' | 'fallback') {
    super();
  }

  override gated(reason: string): void {
    if (this.method === 'gated') throw new Error('metrics sink closed');
    super.gated(reason);
  }

  override fallback(reason: string): void {
    if (this.method === 'fallback') throw new Error('metrics sink closed');
    super.fallback(reason);
  }
}

/** A breaker lease that records how it was ended. */
function recordingLease(): BreakerLease & { readonly endings: string[] } {
  const endings: string[] = [];
  return {
    trial: false,
    endings,
    succeeded: () => endings.push('succeeded'),
    failed: () => endings.push('failed'),
    release: () => endings.push('release'),
  };
}

interface Setup {
  readonly policy?: PolicyDecision;
  /** `null` leaves the runner out, as when no runner URL is configured. */
  readonly lean?: BrokerSetup<LeanSubmitOutcome> | null;
  readonly alpaca?: BrokerSetup<AlpacaSubmitOutcome>;
  readonly fallback?: 'alpaca' | 'none';
  readonly gate?: GateReason;
  readonly gates?: readonly string[];
  readonly killSwitchReason?: string;
  /** The execution deadline, from the start. */
  readonly budgetMs?: number;
  readonly intentWriteMs?: number;
  readonly intentRefused?: boolean;
  readonly metrics?: RecordingRouteMetrics;
  readonly order?: OrderRequest;
  /** `false` runs without a breaker lease. */
  readonly lease?: false;
}

/** One order's execution over fakes, with its claimed `pending` row in the store. */
function prepare(setup: Setup = {}) {
  const clock = new ManualClock();
  const lean = new TimedLeanRunner(setup.lean ?? {}, clock);
  const alpaca = new TimedAlpacaBroker(setup.alpaca ?? {}, clock);
  const store = new TimedStore(clock, setup.intentWriteMs ?? 0).seed(pendingRow({ claim_token: CLAIM.claimToken }));
  if (setup.intentRefused === true) store.failOn('recordFallbackIntent');
  const metrics = setup.metrics ?? new RecordingRouteMetrics();
  const logger = new RecordingLogger();
  const lease = recordingLease();
  const context: ExecutionContext = {
    config: CONFIG,
    store,
    ...(setup.lean === null ? {} : { lean }),
    alpaca,
    metrics,
    logger,
    clock,
    claim: CLAIM,
    correlationId: CORRELATION_ID,
    deadline: Deadline.after(clock, setup.budgetMs ?? 10_000),
    policy: setup.policy ?? LEAN_POLICY,
    fallback: setup.fallback ?? 'alpaca',
    ...(setup.gate === undefined ? {} : { gate: setup.gate }),
    gates: setup.gates ?? (setup.gate === undefined ? [] : [setup.gate]),
    ...(setup.killSwitchReason === undefined ? {} : { killSwitchReason: setup.killSwitchReason }),
    ...(setup.lease === false ? {} : { lease }),
  };
  return { execution: new OrderExecution(context, setup.order ?? ORDER), clock, lean, alpaca, store, metrics, logger, lease };
}

async function execute(setup: Setup = {}) {
  const world = prepare(setup);
  const row = await world.execution.execute();
  return { ...world, row };
}

/** One attempt record, started at NOW_ISO. */
function attempt(fields: Omit<ExecutionAttempt, 'started_at' | 'latency_ms'> & { latency_ms?: number }): ExecutionAttempt {
  return { latency_ms: 0, ...fields, started_at: NOW_ISO };
}

/** Each call of a row's attempt log, as `adapter:operation:outcome`. */
function attemptLog(row: RowOutcome): string[] {
  return row.execution_attempts.map((entry) => `${entry.adapter}:${entry.operation}:${entry.outcome}`);
}

/** The raw payload the row keeps of an acknowledgement, marked with the route that placed it. */
function payload(ack: BrokerOrder, route: ExecutionRoute, fallbackReason?: string): Record<string, unknown> {
  return { ...ack.raw, _execution_adapter: route, ...(fallbackReason === undefined ? {} : { _execution_fallback_reason: fallbackReason }) };
}

const LEAN_SUBMIT_ACCEPTED = attempt({ adapter: 'lean', operation: 'submit', outcome: 'accepted', http_status: 200 });
const LEAN_SUBMIT_NETWORK_ERROR = attempt({ adapter: 'lean', operation: 'submit', outcome: 'failed', reason: 'lean_submit_network_error', certainty: 'definite' });
const LEAN_SUBMIT_TIMEOUT = attempt({ adapter: 'lean', operation: 'submit', outcome: 'failed', reason: 'lean_submit_timeout', certainty: 'ambiguous' });
const ALPACA_SUBMIT_ACCEPTED = attempt({ adapter: 'alpaca', operation: 'submit', outcome: 'accepted', http_status: 200 });

describe('OrderExecution', () => {
  describe('when policy does not expect LEAN', () => {
    it('sends the order to Alpaca alone and records it on the alpaca route with the policy reason', async () => {
      const { row, lean, alpaca } = await execute({ policy: { expected: 'alpaca', reason: 'symbol_not_allowlisted' }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(row).toStrictEqual({
        status: 'accepted',
        execution_adapter: 'alpaca',
        execution_route: 'alpaca',
        execution_route_reason: 'symbol_not_allowlisted',
        execution_fallback_count: 0,
        execution_attempts: [ALPACA_SUBMIT_ACCEPTED],
        broker_order_id: 'alpaca-order-1',
        raw_payload: payload(ALPACA_ACK, 'alpaca'),
        review_required: false,
        route_verified: true,
      });
      expect(lean.submitCalls).toHaveLength(0);
      expect(alpaca.submitCalls).toEqual([{ order: ORDER, context: { correlationId: CORRELATION_ID, timeoutMs: 520 } }]);
    });

    it('sends the order to Alpaca when policy expects LEAN but no runner is configured', async () => {
      const { row, alpaca } = await execute({ lean: null, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(row).toMatchObject({ status: 'accepted', execution_route: 'alpaca', execution_route_reason: 'policy_all' });
      expect(alpaca.submitCalls).toHaveLength(1);
    });

    it('does not end the breaker lease, which only LEAN can give a verdict on', async () => {
      const { lease } = await execute({ policy: { expected: 'alpaca', reason: 'adapter_alpaca' }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(lease.endings).toEqual([]);
    });
  });

  describe('when LEAN accepts', () => {
    it('records a clean LEAN row without any status detail', async () => {
      const { row } = await execute({ lean: { submits: [accepted(LEAN_ACK)] } });

      expect(row).toStrictEqual({
        status: 'accepted',
        execution_adapter: 'lean',
        execution_route: 'lean',
        execution_route_reason: 'policy_all',
        execution_fallback_count: 0,
        execution_attempts: [LEAN_SUBMIT_ACCEPTED],
        broker_order_id: 'lean-order-1',
        raw_payload: payload(LEAN_ACK, 'lean'),
        review_required: false,
        route_verified: true,
      });
    });

    it('gives the breaker a success and calls neither a lookup nor Alpaca', async () => {
      const { lease, alpaca, lean } = await execute({ lean: { submits: [accepted(LEAN_ACK)] } });

      expect(lease.endings).toEqual(['succeeded']);
      expect(lean.lookupCalls).toHaveLength(0);
      expect(alpaca.submitCalls).toHaveLength(0);
    });

    it('sends the order to LEAN with the correlation id and LEAN’s own submit timeout', async () => {
      const { lean } = await execute({ lean: { submits: [accepted(LEAN_ACK)] } });

      expect(lean.submitCalls).toEqual([{ order: ORDER, context: { correlationId: CORRELATION_ID, timeoutMs: 500 } }]);
    });

    it('times the submit on the monotonic clock, in whole milliseconds, and counts it as a LEAN request', async () => {
      const { row, metrics } = await execute({ lean: { submits: [accepted(LEAN_ACK, 201)], submitMs: 37.4 } });

      expect(row.execution_attempts).toEqual([attempt({ adapter: 'lean', operation: 'submit', outcome: 'accepted', http_status: 201, latency_ms: 37 })]);
      expect(metrics.argsOf('brokerSubmit')).toEqual([['lean', 37]]);
    });
  });

  describe('without a breaker lease', () => {
    it.each<{ answer: string; submitted: LeanSubmitOutcome; route: ExecutionRoute }>([
      { answer: 'an acceptance', submitted: accepted(LEAN_ACK), route: 'lean' },
      { answer: 'an order’s own 4xx', submitted: leanFailure('lean_submit_http_409', 'definite', 409), route: 'alpaca_fallback' },
      { answer: 'a 5xx', submitted: LEAN_502, route: 'alpaca_fallback' },
    ])('routes the order on LEAN’s $answer as with one', async ({ submitted, route }) => {
      const { row } = await execute({ lease: false, lean: { submits: [submitted] }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(row).toMatchObject({ status: 'accepted', execution_route: route });
    });
  });

  describe('within the deadline', () => {
    it('sends nothing and fails the order when no time is left to call LEAN', async () => {
      const { row, lean, alpaca, lease } = await execute({ budgetMs: 99, lean: { submits: [accepted(LEAN_ACK)] } });

      expect(row).toStrictEqual({
        status: 'failed',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'deadline_exceeded',
        execution_fallback_count: 0,
        execution_attempts: [],
        review_required: false,
        route_verified: true,
        status_detail: 'no time was left to call LEAN; nothing was sent to any broker',
      });
      expect([lean.submitCalls.length, alpaca.submitCalls.length]).toEqual([0, 0]);
      expect(lease.endings).toEqual([]);
    });

    it('gives LEAN only the time left when that is shorter than its own timeout', async () => {
      const { lean } = await execute({ budgetMs: 300, lean: { submits: [accepted(LEAN_ACK)] } });

      expect(lean.submitCalls[0]?.context.timeoutMs).toBe(300);
    });

    it('sends nothing and fails the order with its route reason when no time is left to call Alpaca', async () => {
      const { row, alpaca } = await execute({ budgetMs: 109, policy: { expected: 'alpaca', reason: 'adapter_alpaca' }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(row).toStrictEqual({
        status: 'failed',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'adapter_alpaca',
        execution_fallback_count: 0,
        execution_attempts: [],
        review_required: false,
        route_verified: true,
        status_detail: 'no time was left to call Alpaca; nothing was sent to it',
      });
      expect(alpaca.submitCalls).toHaveLength(0);
    });

    it('gives Alpaca only the time left when that is shorter than its own timeout', async () => {
      const { alpaca } = await execute({ budgetMs: 400, policy: { expected: 'alpaca', reason: 'adapter_alpaca' }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(alpaca.submitCalls[0]?.context.timeoutMs).toBe(400);
    });
  });

  describe('the breaker verdict on LEAN’s failure', () => {
    it.each<{ cause: string; failure: LeanSubmitOutcome; ending: string }>([
      { cause: 'an order’s own 404', failure: leanFailure('lean_submit_http_404', 'definite', 404), ending: 'release' },
      { cause: 'an order’s own 422', failure: leanFailure('lean_submit_http_422', 'definite', 422), ending: 'release' },
      { cause: 'a 502', failure: LEAN_502, ending: 'failed' },
      { cause: 'a network error', failure: LEAN_DEFINITE, ending: 'failed' },
      { cause: 'a timeout', failure: LEAN_AMBIGUOUS, ending: 'failed' },
    ])('ends the lease by $ending after $cause', async ({ failure, ending }) => {
      const { lease } = await execute({ fallback: 'none', lean: { submits: [failure], lookups: [notFound] }, alpaca: { lookups: [notFound] } });

      expect(lease.endings).toEqual([ending]);
    });
  });

  describe('saysLeanIsUnwell', () => {
    it.each<[LeanFailureReason, boolean]>([
      ['lean_submit_http_400', false],
      ['lean_submit_http_499', false],
      ['lean_submit_http_500', true],
      ['lean_submit_http_399', true],
      ['lean_submit_http_4000', true],
      ['lean_submit_http_4.5', true],
      ['lean_submit_http_40.5', true],
      ['lean_submit_timeout', true],
      ['lean_submit_invalid_json', true],
      ['lean_submit_contract_violation', true],
    ])('answers for %s: %s', (reason, unwell) => {
      expect(saysLeanIsUnwell({ reason, certainty: 'definite', detail: reason })).toBe(unwell);
    });
  });

  describe('after a definite LEAN failure', () => {
    it('falls back to Alpaca and records the fallback with LEAN’s reason', async () => {
      const { row } = await execute({ lean: { submits: [LEAN_DEFINITE] }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(row).toStrictEqual({
        status: 'accepted',
        execution_adapter: 'alpaca',
        execution_route: 'alpaca_fallback',
        execution_route_reason: 'lean_submit_network_error',
        execution_fallback_reason: 'lean_submit_network_error',
        execution_fallback_count: 1,
        execution_attempts: [LEAN_SUBMIT_NETWORK_ERROR, ALPACA_SUBMIT_ACCEPTED],
        broker_order_id: 'alpaca-order-1',
        raw_payload: payload(ALPACA_ACK, 'alpaca_fallback', 'lean_submit_network_error'),
        review_required: false,
        route_verified: true,
      });
    });

    it('looks nothing up, since LEAN cannot hold the order', async () => {
      const { lean, alpaca } = await execute({ lean: { submits: [LEAN_DEFINITE] }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect([lean.lookupCalls.length, alpaca.lookupCalls.length]).toEqual([0, 0]);
    });

    it('records the fallback intent on the claimed row, with the attempts so far, before submitting', async () => {
      const { store } = await execute({ lean: { submits: [LEAN_502] }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(store.intents).toEqual([
        {
          claim: CLAIM,
          intent: { reason: 'lean_submit_http_502', lean_failure: 'definite', recorded_at: NOW_ISO },
          attempts: [attempt({ adapter: 'lean', operation: 'submit', outcome: 'failed', reason: 'lean_submit_http_502', certainty: 'definite', http_status: 502 })],
          timeoutMs: 300,
        },
      ]);
    });

    it('counts and logs the fallback with its reason', async () => {
      const { metrics, logger } = await execute({ lean: { submits: [LEAN_502] }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(metrics.argsOf('fallback')).toEqual([['lean_submit_http_502']]);
      expect(logger.withMessage('execution_fallback')).toEqual([
        {
          level: 'warn',
          message: 'execution_fallback',
          fields: { client_order_id: ORDER.client_order_id, reason: 'lean_submit_http_502', certainty: 'definite', detail: 'scripted lean_submit_http_502' },
        },
      ]);
    });

    it('fails the order without any Alpaca call when the fallback adapter is none', async () => {
      const { row, alpaca, store } = await execute({ fallback: 'none', lean: { submits: [LEAN_502] } });

      expect(row).toStrictEqual({
        status: 'failed',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'lean_submit_http_502',
        execution_fallback_count: 0,
        execution_attempts: [attempt({ adapter: 'lean', operation: 'submit', outcome: 'failed', reason: 'lean_submit_http_502', certainty: 'definite', http_status: 502 })],
        review_required: false,
        route_verified: true,
        status_detail: 'LEAN submit failed (scripted lean_submit_http_502) and the fallback adapter is none',
      });
      expect(alpaca.submitCalls).toHaveLength(0);
      expect(store.intents).toHaveLength(0);
    });
  });

  describe('the fallback intent', () => {
    // Budget 1 000 ms; LEAN takes `leanMs` of it. The intent is written only when, after Alpaca's
    // connect minimum (110 ms), at least 50 ms are spare for the write.
    it('is written with only the spare time when that is shorter than DynamoDB’s timeout', async () => {
      const { row, store, alpaca } = await execute({ budgetMs: 1_000, lean: { submits: [LEAN_DEFINITE], submitMs: 840 }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(store.intents.map((entry) => entry.timeoutMs)).toEqual([50]);
      expect(alpaca.submitCalls[0]?.context.timeoutMs).toBe(160);
      expect(row.execution_route).toBe('alpaca_fallback');
    });

    it('is not written, and nothing is sent to Alpaca, when less than its minimum is spare after a definite failure', async () => {
      const { row, store, alpaca, metrics } = await execute({ budgetMs: 1_000, lean: { submits: [LEAN_DEFINITE], submitMs: 841 }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(row).toStrictEqual({
        status: 'failed',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'lean_submit_network_error',
        execution_fallback_count: 0,
        execution_attempts: [{ ...LEAN_SUBMIT_NETWORK_ERROR, latency_ms: 841 }],
        review_required: false,
        route_verified: true,
        status_detail: 'LEAN submit failed (scripted lean_submit_network_error); the fallback to Alpaca was not sent: no time was left for it',
      });
      expect(store.intents).toHaveLength(0);
      expect(alpaca.submitCalls).toHaveLength(0);
      expect(metrics.count('fallback')).toBe(0);
    });

    it('is not written after an ambiguous failure either, which leaves the order unknown', async () => {
      const { row, store, alpaca } = await execute({
        budgetMs: 1_000,
        lean: { submits: [LEAN_AMBIGUOUS], submitMs: 841, lookups: [notFound] },
        alpaca: { submits: [accepted(ALPACA_ACK)], lookups: [notFound] },
      });

      expect(row).toMatchObject({
        status: 'unknown',
        execution_route: 'none',
        execution_route_reason: 'lean_submit_timeout',
        execution_fallback_count: 0,
        route_verified: false,
        status_detail: 'LEAN submit was ambiguous (scripted lean_submit_timeout) and not found by the lookups; the fallback to Alpaca was not sent: no time was left for it',
      });
      expect(store.intents).toHaveLength(0);
      expect(alpaca.submitCalls).toHaveLength(0);
    });

    it('stops the fallback when the store refuses it, logging why', async () => {
      const { row, alpaca, logger, metrics } = await execute({ intentRefused: true, lean: { submits: [LEAN_DEFINITE] }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(row).toMatchObject({
        status: 'failed',
        execution_route: 'none',
        execution_route_reason: 'lean_submit_network_error',
        execution_fallback_count: 0,
        status_detail:
          'LEAN submit failed (scripted lean_submit_network_error); the fallback to Alpaca was not sent: its intent could not be recorded on the row (ProvenanceUnavailableError: provenance table unreachable (recordFallbackIntent))',
      });
      expect(row.execution_fallback_reason).toBeUndefined();
      expect(alpaca.submitCalls).toHaveLength(0);
      expect(metrics.count('fallback')).toBe(0);
      expect(logger.withMessage('fallback_intent_not_recorded')).toEqual([
        {
          level: 'error',
          message: 'fallback_intent_not_recorded',
          fields: {
            client_order_id: ORDER.client_order_id,
            reason: 'lean_submit_network_error',
            error: 'ProvenanceUnavailableError: provenance table unreachable (recordFallbackIntent)',
          },
        },
      ]);
    });

    it('does not count a fallback whose submit never started because the write used up the time Alpaca needed', async () => {
      const { row, alpaca, metrics } = await execute({
        budgetMs: 1_000,
        intentWriteMs: 60,
        lean: { submits: [LEAN_DEFINITE], submitMs: 840 },
        alpaca: { submits: [accepted(ALPACA_ACK)] },
      });

      expect(row).toMatchObject({
        status: 'failed',
        execution_route: 'none',
        execution_route_reason: 'lean_submit_network_error',
        execution_fallback_reason: 'lean_submit_network_error',
        execution_fallback_count: 0,
        status_detail: 'LEAN submit failed (scripted lean_submit_network_error); the fallback to Alpaca was not sent: no time was left for it',
      });
      expect(alpaca.submitCalls).toHaveLength(0);
      expect(metrics.count('fallback')).toBe(0);
    });
  });

  describe('after an ambiguous LEAN failure', () => {
    it('adopts the order the runner finds as LEAN’s late acknowledgement, without asking Alpaca', async () => {
      const { row, lean, alpaca } = await execute({ lean: { submits: [LEAN_AMBIGUOUS], lookups: [found(LEAN_ACK)] } });

      expect(row).toStrictEqual({
        status: 'accepted',
        execution_adapter: 'lean',
        execution_route: 'lean',
        execution_route_reason: 'policy_all',
        execution_fallback_count: 0,
        execution_attempts: [LEAN_SUBMIT_TIMEOUT, attempt({ adapter: 'lean', operation: 'lookup', outcome: 'found', http_status: 200 })],
        execution_note: 'late_ack',
        broker_order_id: 'lean-order-1',
        raw_payload: payload(LEAN_ACK, 'lean'),
        review_required: false,
        route_verified: true,
      });
      expect(lean.lookupCalls).toEqual([{ clientOrderId: ORDER.client_order_id, context: { correlationId: CORRELATION_ID, timeoutMs: 210 } }]);
      expect(alpaca.lookupCalls).toHaveLength(0);
      expect(alpaca.submitCalls).toHaveLength(0);
    });

    it.each<[string, LookupOutcome]>([
      ['did not find it', notFound],
      ['did not answer', lookupError],
    ])('adopts the order Alpaca finds as LEAN’s when the runner %s', async (_, atRunner) => {
      const { row, alpaca } = await execute({ lean: { submits: [LEAN_AMBIGUOUS], lookups: [atRunner] }, alpaca: { lookups: [found(LEAN_ACK)] } });

      expect(row).toMatchObject({ status: 'accepted', execution_adapter: 'lean', execution_route: 'lean', execution_note: 'late_ack', route_verified: true });
      expect(alpaca.lookupCalls).toEqual([{ clientOrderId: ORDER.client_order_id, context: { correlationId: CORRELATION_ID, timeoutMs: 230 } }]);
      expect(alpaca.submitCalls).toHaveLength(0);
    });

    it('records each lookup as an attempt, without counting it as a broker request', async () => {
      const { row, metrics } = await execute({
        lean: { submits: [LEAN_AMBIGUOUS], lookups: [lookupError], lookupMs: 12 },
        alpaca: { lookups: [notFound], submits: [accepted(ALPACA_ACK)], lookupMs: 8 },
      });

      expect(row.execution_attempts).toEqual([
        LEAN_SUBMIT_TIMEOUT,
        attempt({ adapter: 'lean', operation: 'lookup', outcome: 'error', reason: 'timeout: no complete answer within 200 ms', latency_ms: 12 }),
        attempt({ adapter: 'alpaca', operation: 'lookup', outcome: 'not_found', http_status: 404, latency_ms: 8 }),
        ALPACA_SUBMIT_ACCEPTED,
      ]);
      expect(metrics.argsOf('brokerSubmit')).toEqual([
        ['lean', 0],
        ['alpaca', 0],
      ]);
    });

    it('leaves the order unknown, sending nothing more, when neither lookup answers', async () => {
      const { row, alpaca, metrics, logger, store } = await execute({ lean: { submits: [LEAN_AMBIGUOUS], lookups: [lookupError] }, alpaca: { lookups: [lookupError] } });

      expect(row).toStrictEqual({
        status: 'unknown',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'lean_submit_timeout',
        execution_fallback_count: 0,
        execution_attempts: [LEAN_SUBMIT_TIMEOUT, attempt({ adapter: 'lean', operation: 'lookup', outcome: 'error', reason: lookupError.kind === 'error' ? lookupError.detail : '' }), attempt({ adapter: 'alpaca', operation: 'lookup', outcome: 'error', reason: lookupError.kind === 'error' ? lookupError.detail : '' })],
        review_required: false,
        route_verified: false,
        status_detail: 'LEAN submit was ambiguous (scripted lean_submit_timeout) and neither the runner nor Alpaca answered the lookup',
      });
      expect(alpaca.submitCalls).toHaveLength(0);
      expect(store.intents).toHaveLength(0);
      expect(metrics.count('outcomeUnknown')).toBe(1);
      expect(logger.withMessage('order_outcome_unknown')).toEqual([
        {
          level: 'error',
          message: 'order_outcome_unknown',
          fields: {
            client_order_id: ORDER.client_order_id,
            reason: 'lean_submit_timeout',
            detail: 'LEAN submit was ambiguous (scripted lean_submit_timeout) and neither the runner nor Alpaca answered the lookup',
          },
        },
      ]);
    });

    it('does not start a lookup without the time for it, and leaves the order unknown', async () => {
      const { row, lean, alpaca } = await execute({
        budgetMs: 1_000,
        lean: { submits: [LEAN_AMBIGUOUS], submitMs: 950, lookups: [notFound] },
        alpaca: { lookups: [notFound] },
      });

      expect([lean.lookupCalls.length, alpaca.lookupCalls.length]).toEqual([0, 0]);
      expect(attemptLog(row)).toEqual(['lean:submit:failed']);
      expect(row).toMatchObject({
        status: 'unknown',
        execution_route_reason: 'lean_submit_timeout',
        status_detail: 'LEAN submit was ambiguous (scripted lean_submit_timeout) and neither the runner nor Alpaca answered the lookup',
      });
    });

    it.each<[string, LookupOutcome, LookupOutcome]>([
      ['neither finds it', notFound, notFound],
      ['only Alpaca answers, not found', lookupError, notFound],
      ['only the runner answers, not found', notFound, lookupError],
    ])('falls back to Alpaca when %s', async (_, atRunner, atAlpaca) => {
      const { row, store } = await execute({ lean: { submits: [LEAN_AMBIGUOUS], lookups: [atRunner] }, alpaca: { lookups: [atAlpaca], submits: [accepted(ALPACA_ACK)] } });

      expect(row).toMatchObject({
        status: 'accepted',
        execution_adapter: 'alpaca',
        execution_route: 'alpaca_fallback',
        execution_route_reason: 'lean_submit_timeout',
        execution_fallback_reason: 'lean_submit_timeout',
        execution_fallback_count: 1,
        route_verified: true,
      });
      expect(row.status_detail).toBeUndefined();
      expect(store.intents.map((entry) => entry.intent.lean_failure)).toEqual(['ambiguous']);
    });

    it.each<[string, AlpacaSubmitOutcome, string]>([
      ['rejects the fallback', ALPACA_REJECTED, 'Alpaca rejected the order (HTTP 403): insufficient buying power'],
      ['fails the fallback definitely', ALPACA_DEFINITE, `Alpaca submit failed: ${ALPACA_DEFINITE.kind === 'failed' ? ALPACA_DEFINITE.failure.detail : ''}`],
    ])('leaves the order unknown, not ended, when Alpaca %s: LEAN may still place it', async (_, atAlpaca, said) => {
      const { row, metrics } = await execute({ lean: { submits: [LEAN_AMBIGUOUS], lookups: [notFound] }, alpaca: { lookups: [notFound], submits: [atAlpaca] } });

      expect(row).toMatchObject({
        status: 'unknown',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'lean_submit_timeout',
        execution_fallback_reason: 'lean_submit_timeout',
        execution_fallback_count: 1,
        route_verified: false,
        status_detail: `${said}; LEAN's ambiguous submit may still have placed the order: do not resend`,
      });
      expect(metrics.count('outcomeUnknown')).toBe(1);
    });

    it('leaves the order unknown, not failed, when nothing is found and the fallback adapter is none: LEAN may still place it', async () => {
      const { row, alpaca, metrics } = await execute({ fallback: 'none', lean: { submits: [LEAN_AMBIGUOUS], lookups: [notFound] }, alpaca: { lookups: [notFound] } });

      expect(row).toMatchObject({
        status: 'unknown',
        execution_route: 'none',
        execution_route_reason: 'lean_submit_timeout',
        route_verified: false,
        status_detail:
          'LEAN submit was ambiguous (scripted lean_submit_timeout) and not found by the lookups; the fallback adapter is none, so nothing else was sent, and LEAN may still place it: do not resend',
      });
      expect({ alpacaSubmits: alpaca.submitCalls.length, unknown: metrics.count('outcomeUnknown') }).toEqual({ alpacaSubmits: 0, unknown: 1 });
    });
  });

  describe('when a gate keeps LEAN out', () => {
    it('sends the order to Alpaca on the gated route, with the gate as its reason, and never calls LEAN', async () => {
      const { row, lean, lease } = await execute({ gate: 'kill_switch', alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(row).toMatchObject({
        status: 'accepted',
        execution_adapter: 'alpaca',
        execution_route: 'alpaca_gated',
        execution_route_reason: 'kill_switch',
        execution_fallback_count: 0,
        raw_payload: payload(ALPACA_ACK, 'alpaca_gated'),
      });
      expect(row.execution_fallback_reason).toBeUndefined();
      expect(lean.submitCalls).toHaveLength(0);
      expect(lease.endings).toEqual([]);
    });

    it('counts and logs the gate with every gate that held and the kill switch reason', async () => {
      const { metrics, logger } = await execute({
        gate: 'kill_switch',
        gates: ['kill_switch', 'symbol_manual_review'],
        killSwitchReason: 'lean_ack_mismatch',
        alpaca: { submits: [accepted(ALPACA_ACK)] },
      });

      expect(metrics.argsOf('gated')).toEqual([['kill_switch']]);
      expect(logger.withMessage('execution_gated')).toEqual([
        {
          level: 'warn',
          message: 'execution_gated',
          fields: {
            client_order_id: ORDER.client_order_id,
            symbol: 'AAPL',
            gate: 'kill_switch',
            gates: ['kill_switch', 'symbol_manual_review'],
            kill_switch_reason: 'lean_ack_mismatch',
          },
        },
      ]);
    });

    it('rejects the order, sending nothing, when the fallback adapter is none', async () => {
      const { row, alpaca, lean } = await execute({ gate: 'breaker_open', fallback: 'none' });

      expect(row).toStrictEqual({
        status: 'rejected',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'breaker_open',
        execution_fallback_count: 0,
        execution_attempts: [],
        review_required: false,
        route_verified: true,
        status_detail: 'LEAN is gated (breaker_open) and the fallback adapter is none; nothing was sent to any broker',
      });
      expect([lean.submitCalls.length, alpaca.submitCalls.length]).toEqual([0, 0]);
    });
  });

  describe('Alpaca’s answer', () => {
    it('rejects the order when Alpaca refuses it, keeping the fallback reason', async () => {
      const { row, alpaca } = await execute({ lean: { submits: [LEAN_DEFINITE] }, alpaca: { submits: [ALPACA_REJECTED] } });

      expect(row).toStrictEqual({
        status: 'rejected',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'lean_submit_network_error',
        execution_fallback_reason: 'lean_submit_network_error',
        execution_fallback_count: 1,
        execution_attempts: [LEAN_SUBMIT_NETWORK_ERROR, attempt({ adapter: 'alpaca', operation: 'submit', outcome: 'rejected', reason: 'alpaca_rejected', http_status: 403 })],
        review_required: false,
        route_verified: true,
        status_detail: 'Alpaca rejected the order (HTTP 403): insufficient buying power',
      });
      expect(alpaca.lookupCalls).toHaveLength(0);
    });

    it('fails the order on a definite Alpaca failure, without looking it up', async () => {
      const { row, alpaca } = await execute({ policy: { expected: 'alpaca', reason: 'adapter_alpaca' }, alpaca: { submits: [ALPACA_DEFINITE] } });

      expect(row).toStrictEqual({
        status: 'failed',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'adapter_alpaca',
        execution_fallback_count: 0,
        execution_attempts: [attempt({ adapter: 'alpaca', operation: 'submit', outcome: 'failed', reason: 'alpaca_submit_network_error', certainty: 'definite' })],
        review_required: false,
        route_verified: true,
        status_detail: 'Alpaca submit failed: ECONNREFUSED',
      });
      expect(alpaca.lookupCalls).toHaveLength(0);
    });

    it('adopts Alpaca’s existing order after a duplicate answer on the alpaca route, unverified: the router had sent it nowhere before', async () => {
      const { row, alpaca } = await execute({ policy: { expected: 'alpaca', reason: 'adapter_alpaca' }, alpaca: { submits: [ALPACA_DUPLICATE], lookups: [found(ALPACA_ACK)] } });

      expect(row).toStrictEqual({
        status: 'accepted',
        execution_adapter: 'alpaca',
        execution_route: 'alpaca',
        execution_route_reason: 'adapter_alpaca',
        execution_fallback_count: 0,
        execution_attempts: [
          attempt({ adapter: 'alpaca', operation: 'submit', outcome: 'duplicate', reason: 'client_order_id_exists', http_status: 422 }),
          attempt({ adapter: 'alpaca', operation: 'lookup', outcome: 'found', http_status: 200 }),
        ],
        execution_note: 'adopted_existing',
        broker_order_id: 'alpaca-order-1',
        raw_payload: payload(ALPACA_ACK, 'alpaca'),
        review_required: false,
        route_verified: false,
        status_detail: "route not verified: Alpaca already held the client_order_id before this router's first submit: another client may have placed it",
      });
      expect(alpaca.submitCalls).toHaveLength(1);
      expect(alpaca.lookupCalls).toEqual([{ clientOrderId: ORDER.client_order_id, context: { correlationId: CORRELATION_ID, timeoutMs: 230 } }]);
    });

    it('adopts Alpaca’s existing order on the gated route after a duplicate answer, unverified', async () => {
      const { row } = await execute({ gate: 'runner_health_stale', alpaca: { submits: [ALPACA_DUPLICATE], lookups: [found(ALPACA_ACK)] } });

      expect(row).toMatchObject({ execution_adapter: 'alpaca', execution_route: 'alpaca_gated', execution_note: 'adopted_existing', route_verified: false });
    });

    it('attributes a duplicate after a definite LEAN failure to LEAN, unverified, with the policy reason', async () => {
      const { row } = await execute({ lean: { submits: [LEAN_DEFINITE] }, alpaca: { submits: [ALPACA_DUPLICATE], lookups: [found(LEAN_ACK)] } });

      expect(row).toStrictEqual({
        status: 'accepted',
        execution_adapter: 'lean',
        execution_route: 'lean',
        execution_route_reason: 'policy_all',
        execution_fallback_count: 1,
        execution_attempts: [
          LEAN_SUBMIT_NETWORK_ERROR,
          attempt({ adapter: 'alpaca', operation: 'submit', outcome: 'duplicate', reason: 'client_order_id_exists', http_status: 422 }),
          attempt({ adapter: 'alpaca', operation: 'lookup', outcome: 'found', http_status: 200 }),
        ],
        execution_note: 'late_ack',
        broker_order_id: 'lean-order-1',
        raw_payload: payload(LEAN_ACK, 'lean'),
        review_required: false,
        route_verified: false,
        status_detail: 'route not verified: Alpaca already held the client_order_id before the fallback submit, although LEAN had failed definitely',
      });
    });

    it('attributes a duplicate after an ambiguous LEAN failure to LEAN’s late acknowledgement', async () => {
      const { row } = await execute({
        lean: { submits: [LEAN_AMBIGUOUS], lookups: [notFound] },
        alpaca: { lookups: [notFound, found(LEAN_ACK)], submits: [ALPACA_DUPLICATE] },
      });

      expect(row).toMatchObject({ execution_adapter: 'lean', execution_route: 'lean', execution_note: 'late_ack', route_verified: true, execution_route_reason: 'policy_all' });
      expect(row.status_detail).toBeUndefined();
    });

    it('attributes an order found after an ambiguous Alpaca failure to the fallback when LEAN failed definitely', async () => {
      const { row } = await execute({ lean: { submits: [LEAN_DEFINITE] }, alpaca: { submits: [ALPACA_AMBIGUOUS], lookups: [found(ALPACA_ACK)] } });

      expect(row).toStrictEqual({
        status: 'accepted',
        execution_adapter: 'alpaca',
        execution_route: 'alpaca_fallback',
        execution_route_reason: 'lean_submit_network_error',
        execution_fallback_reason: 'lean_submit_network_error',
        execution_fallback_count: 1,
        execution_attempts: [
          LEAN_SUBMIT_NETWORK_ERROR,
          attempt({ adapter: 'alpaca', operation: 'submit', outcome: 'failed', reason: 'alpaca_submit_timeout', certainty: 'ambiguous', http_status: 504 }),
          attempt({ adapter: 'alpaca', operation: 'lookup', outcome: 'found', http_status: 200 }),
        ],
        broker_order_id: 'alpaca-order-1',
        raw_payload: payload(ALPACA_ACK, 'alpaca_fallback', 'lean_submit_network_error'),
        review_required: false,
        route_verified: true,
      });
    });

    it.each<[string, AlpacaSubmitOutcome, LookupOutcome, string]>([
      ['a duplicate not found', ALPACA_DUPLICATE, notFound, 'Alpaca reported the client_order_id as taken; the lookup at Alpaca found nothing'],
      ['a duplicate whose lookup got no answer', ALPACA_DUPLICATE, lookupError, 'Alpaca reported the client_order_id as taken; the lookup at Alpaca did not answer'],
      ['an ambiguous failure not found', ALPACA_AMBIGUOUS, notFound, 'no answer within 520 ms; the lookup at Alpaca found nothing'],
      ['an ambiguous failure whose lookup got no answer', ALPACA_AMBIGUOUS, lookupError, 'no answer within 520 ms; the lookup at Alpaca did not answer'],
    ])('leaves the order unknown after %s', async (_, submitted, lookedUp, detail) => {
      const { row, alpaca, metrics } = await execute({ policy: { expected: 'alpaca', reason: 'adapter_alpaca' }, alpaca: { submits: [submitted], lookups: [lookedUp] } });

      expect(row).toMatchObject({
        status: 'unknown',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'adapter_alpaca',
        route_verified: false,
        status_detail: detail,
      });
      expect(alpaca.submitCalls).toHaveLength(1);
      expect(metrics.count('outcomeUnknown')).toBe(1);
    });

    it('keeps the fallback reason on an unknown fallback', async () => {
      const { row } = await execute({ lean: { submits: [LEAN_DEFINITE] }, alpaca: { submits: [ALPACA_DUPLICATE], lookups: [notFound] } });

      expect(row).toMatchObject({ status: 'unknown', execution_route_reason: 'lean_submit_network_error', execution_fallback_reason: 'lean_submit_network_error', execution_fallback_count: 1 });
    });

    it('does not start the lookup without the time for it, and leaves the order unknown', async () => {
      const { row, alpaca } = await execute({
        budgetMs: 1_000,
        policy: { expected: 'alpaca', reason: 'adapter_alpaca' },
        alpaca: { submits: [ALPACA_DUPLICATE], submitMs: 900, lookups: [found(ALPACA_ACK)] },
      });

      expect(alpaca.lookupCalls).toHaveLength(0);
      expect(row).toMatchObject({ status: 'unknown', status_detail: 'Alpaca reported the client_order_id as taken; the lookup at Alpaca did not answer' });
    });
  });

  describe('the acknowledgement', () => {
    it.each<[string, Setup, string]>([
      ['LEAN’s submit answer', { lean: { submits: [accepted(brokerOrder(ORDER, { status: 'expired' }, 'lean-order-1'))] } }, 'LEAN acknowledged the order with status expired: it is not working'],
      [
        'Alpaca’s submit answer',
        { policy: { expected: 'alpaca', reason: 'adapter_alpaca' }, alpaca: { submits: [accepted(brokerOrder(ORDER, { status: 'canceled' }, 'alpaca-order-1'))] } },
        'Alpaca acknowledged the order with status canceled: it is not working',
      ],
    ])('rejects the order, on no route, when %s says it is not working', async (_, setup, detail) => {
      const { row } = await execute(setup);

      expect(row).toMatchObject({ status: 'rejected', execution_route: 'none', review_required: false, status_detail: detail });
      expect(row.broker_order_id).toBeDefined();
    });

    it('flags the row for review, counts and logs it when LEAN placed a different order', async () => {
      const ack = brokerOrder(ORDER, { qty: '100' }, 'lean-order-1');
      const { row, metrics, logger } = await execute({ lean: { submits: [accepted(ack)] } });

      expect(row).toMatchObject({
        status: 'accepted',
        execution_route: 'lean',
        review_required: true,
        status_detail: 'LEAN placed a different order than asked: qty_mismatch',
      });
      expect([metrics.count('leanAckMismatch'), metrics.count('alpacaAckMismatch')]).toEqual([1, 0]);
      expect(logger.withMessage('lean_ack_mismatch')).toEqual([
        {
          level: 'error',
          message: 'lean_ack_mismatch',
          fields: {
            client_order_id: ORDER.client_order_id,
            mismatches: ['qty_mismatch'],
            problems: undefined,
            asked: { client_order_id: ORDER.client_order_id, symbol: 'AAPL', side: 'buy', qty: '10' },
            acknowledged: { client_order_id: ORDER.client_order_id, symbol: 'AAPL', side: 'buy', qty: '100', id: 'lean-order-1', status: 'accepted' },
          },
        },
      ]);
    });

    it('flags the row for review, counts and logs it when Alpaca acknowledged a different order', async () => {
      const ack = brokerOrder(ORDER, { side: 'sell', problems: ['status is not a string'] }, 'alpaca-order-1');
      const { row, metrics, logger } = await execute({ policy: { expected: 'alpaca', reason: 'adapter_alpaca' }, alpaca: { submits: [accepted(ack)] } });

      expect(row).toMatchObject({
        review_required: true,
        status_detail: 'Alpaca placed a different order than asked: side_mismatch, contract_violation (status is not a string)',
      });
      expect([metrics.count('leanAckMismatch'), metrics.count('alpacaAckMismatch')]).toEqual([0, 1]);
      expect(logger.withMessage('alpaca_ack_mismatch').map((line) => line.fields.problems)).toEqual([['status is not a string']]);
    });

    it('neither counts nor logs a mismatch when the acknowledgement matches', async () => {
      const { metrics, logger } = await execute({ lean: { submits: [accepted(LEAN_ACK)] } });

      expect([metrics.count('leanAckMismatch'), metrics.count('alpacaAckMismatch')]).toEqual([0, 0]);
      expect(logger.lines.filter((line) => line.level === 'error')).toEqual([]);
    });

    it('joins every reason for review in the status detail', async () => {
      const ack = brokerOrder(ORDER, { status: 'rejected', qty: '11' }, 'alpaca-order-1');
      const { row } = await execute({
        lean: { submits: [LEAN_AMBIGUOUS], lookups: [notFound] },
        alpaca: { lookups: [notFound, found(ack)], submits: [ALPACA_AMBIGUOUS] },
      });

      expect(row).toMatchObject({
        status: 'rejected',
        execution_adapter: 'alpaca',
        execution_route: 'none',
        review_required: true,
        route_verified: false,
        status_detail:
          'Alpaca acknowledged the order with status rejected: it is not working; Alpaca placed a different order than asked: qty_mismatch; route not verified: LEAN failed ambiguously and the fallback submit got no clear answer: either may have placed the order',
      });
    });
  });

  describe('when something throws', () => {
    it('leaves the order unknown, LEAN possibly holding it, when LEAN’s submit throws', async () => {
      const { row, logger, metrics, alpaca } = await execute({ lean: { submitThrows: new Error('socket hang up'), submitMs: 5 } });

      expect(row).toStrictEqual({
        status: 'unknown',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'execution_error',
        execution_fallback_count: 0,
        execution_attempts: [attempt({ adapter: 'lean', operation: 'submit', outcome: 'error', reason: 'threw: Error: socket hang up', latency_ms: 5 })],
        review_required: false,
        route_verified: false,
        status_detail: 'routing stopped on an unexpected error (Error: socket hang up); lean may hold the order: do not resend',
      });
      expect(metrics.argsOf('brokerSubmit')).toEqual([['lean', 5]]);
      expect(alpaca.submitCalls).toHaveLength(0);
      expect(logger.withMessage('order_execution_threw')).toEqual([
        {
          level: 'error',
          message: 'order_execution_threw',
          fields: { client_order_id: ORDER.client_order_id, error: 'Error: socket hang up', may_hold: ['lean'] },
        },
      ]);
    });

    it('names only Alpaca as a possible holder when LEAN had failed definitely, and keeps the fallback reason', async () => {
      const { row } = await execute({ lean: { submits: [LEAN_DEFINITE] }, alpaca: { submitThrows: new TypeError('fetch failed') } });

      expect(row).toMatchObject({
        status: 'unknown',
        execution_route_reason: 'lean_submit_network_error',
        execution_fallback_reason: 'lean_submit_network_error',
        execution_fallback_count: 1,
        status_detail: 'routing stopped on an unexpected error (TypeError: fetch failed); alpaca may hold the order: do not resend',
      });
    });

    it('names both brokers when LEAN’s failure was ambiguous', async () => {
      const { row } = await execute({ lean: { submits: [LEAN_AMBIGUOUS], lookups: [notFound] }, alpaca: { lookups: [notFound], submitThrows: new Error('boom') } });

      expect(row.status_detail).toBe('routing stopped on an unexpected error (Error: boom); lean and alpaca may hold the order: do not resend');
    });

    it('names Alpaca when its lookup after a duplicate throws', async () => {
      const { row } = await execute({ policy: { expected: 'alpaca', reason: 'adapter_alpaca' }, alpaca: { submits: [ALPACA_DUPLICATE], lookupThrows: new Error('reset') } });

      expect(row).toMatchObject({ status: 'unknown', execution_route_reason: 'execution_error', status_detail: 'routing stopped on an unexpected error (Error: reset); alpaca may hold the order: do not resend' });
      expect(attemptLog(row)).toEqual(['alpaca:submit:duplicate', 'alpaca:lookup:error']);
    });

    it('fails the order when nothing was sent to any broker before the throw', async () => {
      const { row, alpaca } = await execute({ gate: 'kill_switch', metrics: new ThrowingMetrics('gated'), alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(row).toStrictEqual({
        status: 'failed',
        execution_adapter: 'none',
        execution_route: 'none',
        execution_route_reason: 'execution_error',
        execution_fallback_count: 0,
        execution_attempts: [],
        review_required: false,
        route_verified: true,
        status_detail: 'routing stopped on an unexpected error (Error: metrics sink closed); no broker can hold the order',
      });
      expect(alpaca.submitCalls).toHaveLength(0);
    });

    it('fails the order with the fallback reason when the throw came after the intent and before the Alpaca submit', async () => {
      const { row, alpaca } = await execute({ metrics: new ThrowingMetrics('fallback'), lean: { submits: [LEAN_DEFINITE] }, alpaca: { submits: [accepted(ALPACA_ACK)] } });

      expect(row).toMatchObject({
        status: 'failed',
        execution_route_reason: 'lean_submit_network_error',
        execution_fallback_reason: 'lean_submit_network_error',
        execution_fallback_count: 0,
        status_detail: 'routing stopped on an unexpected error (Error: metrics sink closed); no broker can hold the order',
      });
      expect(alpaca.submitCalls).toHaveLength(0);
    });
  });
});
