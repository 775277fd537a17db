import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../functions/core/breaker';
import type { AlpacaSubmitOutcome, LeanSubmitOutcome, LookupOutcome } from '../../functions/core/execution';
import type { AlpacaBroker, BrokerCallContext, Clock, LeanRunner } from '../../functions/core/ports';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { routeOrder, type RouteDependencies, type RouteResult } from '../../functions/core/route-order';
import {
  accepted,
  brokerOrder,
  fakeWorld,
  leanFailure,
  notFound,
  order,
  routedRow,
  routerConfig,
  type FakeWorld,
} from '../support/fakes';

const ORDER = order();
const ALPACA_ACK = brokerOrder(ORDER, {}, 'alpaca-order-1');
const LEAN_ACK = brokerOrder(ORDER, {}, 'lean-order-1');
const LEAN_502 = leanFailure('lean_submit_http_502', 'definite', 502);
const LEAN_TIMEOUT = leanFailure('lean_submit_timeout', 'ambiguous');
const CONFIG = routerConfig();
const { breakerFailureThreshold, breakerCooldownMs } = CONFIG.governance;

/** A clock the brokers below move forward, as slow calls would. */
class ManualClock implements Clock {
  t = 0;
  now(): Date {
    return new Date('2025-01-02T14:30:00.000Z');
  }
  monotonicMs(): number {
    return this.t;
  }
}

/** One broker call's answer: after `tookMs` on the manual clock, or a throw. */
type Step<T> = { readonly tookMs?: number; readonly answer: T } | { readonly throws: Error };

/** A broker whose every call is scripted, records the time it was given, and can throw. */
class TimedBroker implements LeanRunner, AlpacaBroker {
  readonly submitTimeouts: (number | undefined)[] = [];
  readonly lookupTimeouts: (number | undefined)[] = [];
  /** The row as it stood in the store when each submit was sent. */
  readonly rowAtSubmit: (ProvenanceRow | undefined)[] = [];

  constructor(
    private readonly clock: ManualClock,
    private readonly submits: Step<LeanSubmitOutcome & AlpacaSubmitOutcome>[] | Step<never>[],
    private readonly lookups: Step<LookupOutcome>[] = [],
    private readonly world?: () => FakeWorld,
  ) {}

  async submit(_order: unknown, context: BrokerCallContext): Promise<never> {
    this.submitTimeouts.push(context.timeoutMs);
    this.rowAtSubmit.push(this.world?.().store.rows.get(ORDER.client_order_id));
    return this.play(this.submits.shift() as Step<never> | undefined);
  }

  async findByClientOrderId(_id: string, context: BrokerCallContext): Promise<LookupOutcome> {
    this.lookupTimeouts.push(context.timeoutMs);
    return this.play(this.lookups.shift());
  }

  private play<T>(step: Step<T> | undefined): T {
    if (step === undefined) throw new Error('unscripted call');
    if ('throws' in step) throw step.throws;
    this.clock.t += step.tookMs ?? 0;
    return step.answer;
  }
}

/** A world on the manual clock with timed brokers; `remainingMs` is what the invocation has left. */
function timedWorld(options: {
  lean?: Step<LeanSubmitOutcome>[];
  leanLookups?: Step<LookupOutcome>[];
  alpaca?: Step<AlpacaSubmitOutcome>[];
  alpacaLookups?: Step<LookupOutcome>[];
  breaker?: CircuitBreaker;
}) {
  const clock = new ManualClock();
  let world!: FakeWorld;
  const lean = new TimedBroker(clock, (options.lean ?? []) as Step<never>[], options.leanLookups, () => world);
  const alpaca = new TimedBroker(clock, (options.alpaca ?? []) as Step<never>[], options.alpacaLookups, () => world);
  world = fakeWorld();
  const breaker = options.breaker ?? new CircuitBreaker({ failureThreshold: breakerFailureThreshold, cooldownMs: breakerCooldownMs }, clock);
  const deps: RouteDependencies = { ...world.deps, lean, alpaca, clock, breaker, claimToken: () => 'token-1' };
  return { world, deps, lean, alpaca, clock, breaker };
}

function route(deps: RouteDependencies, remainingMs?: number): Promise<RouteResult> {
  return routeOrder(deps, ORDER, { correlationId: 'corr-1', ...(remainingMs === undefined ? {} : { remainingMs }) });
}

/** A breaker whose cool-down has passed: the next LEAN order holds its single trial. */
function halfOpenBreaker(): { breaker: CircuitBreaker; clock: { t: number; monotonicMs: () => number } } {
  const clock = { t: 0, monotonicMs: () => clock.t };
  const breaker = new CircuitBreaker({ failureThreshold: breakerFailureThreshold, cooldownMs: breakerCooldownMs }, clock);
  for (let i = 0; i < breakerFailureThreshold; i += 1) breaker.recordFailure();
  clock.t += breakerCooldownMs;
  return { breaker, clock };
}

describe('execution scope: the write-ahead fallback intent', () => {
  it('records the fallback intent on the row before the fallback submit is sent', async () => {
    const { deps, alpaca } = timedWorld({ lean: [{ answer: LEAN_502 }], alpaca: [{ answer: accepted(ALPACA_ACK) }] });

    await route(deps);

    expect(alpaca.rowAtSubmit[0]?.execution_fallback_intent).toEqual({ reason: 'lean_submit_http_502', lean_failure: 'definite', recorded_at: '2025-01-02T14:30:00.000Z' });
  });

  it('records the LEAN attempt with the intent, so a crash during the fallback leaves it on the row', async () => {
    const { deps, alpaca } = timedWorld({ lean: [{ answer: LEAN_502 }], alpaca: [{ answer: accepted(ALPACA_ACK) }] });

    await route(deps);

    expect(alpaca.rowAtSubmit[0]?.execution_attempts.map((attempt) => `${attempt.adapter}:${attempt.outcome}`)).toEqual(['lean:failed']);
  });

  it('writes the intent only under this invocation’s claim token', async () => {
    const { deps, world } = timedWorld({ lean: [{ answer: LEAN_502 }], alpaca: [{ answer: accepted(ALPACA_ACK) }] });

    await route(deps);

    expect(world.store.intents.map((intent) => intent.claim)).toEqual([{ clientOrderId: ORDER.client_order_id, claimToken: 'token-1' }]);
  });

  it('sends nothing to Alpaca and fails the order when the intent cannot be recorded after a definite LEAN failure', async () => {
    const { deps, world, alpaca } = timedWorld({ lean: [{ answer: LEAN_502 }], alpaca: [{ answer: accepted(ALPACA_ACK) }] });
    world.store.failOn('recordFallbackIntent');

    const row = routedRow(await route(deps));

    expect(alpaca.submitTimeouts).toHaveLength(0);
    expect(row).toMatchObject({ status: 'failed', execution_route: 'none', execution_route_reason: 'lean_submit_http_502' });
  });

  it('sends nothing to Alpaca and leaves the order unknown when the intent cannot be recorded after an ambiguous LEAN failure', async () => {
    const { deps, world, alpaca } = timedWorld({
      lean: [{ answer: LEAN_TIMEOUT }],
      leanLookups: [{ answer: notFound }],
      alpacaLookups: [{ answer: notFound }],
      alpaca: [{ answer: accepted(ALPACA_ACK) }],
    });
    world.store.failOn('recordFallbackIntent');

    const row = routedRow(await route(deps));

    expect(alpaca.submitTimeouts).toHaveLength(0);
    expect(row).toMatchObject({ status: 'unknown', route_verified: false });
  });

  it('writes no intent when LEAN accepts', async () => {
    const { deps, world } = timedWorld({ lean: [{ answer: accepted(LEAN_ACK) }] });

    await route(deps);

    expect(world.store.intents).toEqual([]);
  });
});

describe('execution scope: a throw after the claim', () => {
  const boom = new Error('port exploded');

  it('finalizes the row as unknown when the LEAN submit throws, since LEAN may hold the order', async () => {
    const { deps, world } = timedWorld({ lean: [{ throws: boom }] });

    const result = await route(deps);

    expect(routedRow(result)).toMatchObject({ status: 'unknown', route_verified: false });
    expect(world.store.rows.get(ORDER.client_order_id)?.status).toBe('unknown');
  });

  it('records the throwing call as an attempt', async () => {
    const { deps } = timedWorld({ lean: [{ throws: boom }] });

    const row = routedRow(await route(deps));

    expect(row.execution_attempts).toEqual([expect.objectContaining({ adapter: 'lean', operation: 'submit', outcome: 'error', reason: 'threw: Error: port exploded' })]);
  });

  it('finalizes the row as failed when the throw comes before any submit', async () => {
    const gatedByKillSwitch = fakeWorld({ control: { killSwitch: { state: 'on', source: 'parameter' } } }).deps;
    const throwingMetrics = { ...gatedByKillSwitch.metrics, gated: (): never => { throw boom; } };

    const row = routedRow(await route({ ...gatedByKillSwitch, metrics: throwingMetrics }));

    expect(row).toMatchObject({ status: 'failed', execution_route: 'none', execution_route_reason: 'execution_error' });
  });

  it('frees the breaker’s trial when the LEAN submit throws', async () => {
    const { breaker } = halfOpenBreaker();
    const { deps } = timedWorld({ lean: [{ throws: boom }], breaker });

    await route(deps);

    expect(breaker.state).toBe('half_open');
  });

  it('finalizes the row as unknown when the Alpaca fallback submit throws after the intent', async () => {
    const { deps } = timedWorld({ lean: [{ answer: LEAN_502 }], alpaca: [{ throws: boom }] });

    const row = routedRow(await route(deps));

    expect(row).toMatchObject({ status: 'unknown', execution_fallback_reason: 'lean_submit_http_502', execution_fallback_count: 1 });
  });
});

describe('execution scope: the breaker lease', () => {
  it('frees the trial when the order is a replay', async () => {
    const { breaker } = halfOpenBreaker();
    const { deps, world } = timedWorld({ breaker });
    world.store.seed({ ...routedRow(await route(timedWorld({ lean: [{ answer: accepted(LEAN_ACK) }] }).deps)) });

    const result = await route(deps);

    expect(result.kind).toBe('replay');
    expect(breaker.state).toBe('half_open');
  });

  it('frees the trial when the claim fails', async () => {
    const { breaker } = halfOpenBreaker();
    const { deps, world } = timedWorld({ breaker });
    world.store.failOn('claim');

    const result = await route(deps);

    expect(result.kind).toBe('provenance_unavailable');
    expect(breaker.state).toBe('half_open');
  });

  it('frees the trial without a verdict when LEAN refuses the order with a 4xx', async () => {
    const { breaker } = halfOpenBreaker();
    const { deps } = timedWorld({ lean: [{ answer: leanFailure('lean_submit_http_422', 'definite', 422) }], alpaca: [{ answer: accepted(ALPACA_ACK) }], breaker });

    await route(deps);

    expect(breaker.state).toBe('half_open');
  });

  it.each([
    ['a 4xx rejection', leanFailure('lean_submit_http_400', 'definite', 400), 'closed'],
    ['a 5xx', leanFailure('lean_submit_http_503', 'ambiguous', 503), 'open'],
    ['a timeout', LEAN_TIMEOUT, 'open'],
    ['a network error', leanFailure('lean_submit_network_error', 'definite'), 'open'],
    ['an invalid answer', leanFailure('lean_submit_invalid_json', 'ambiguous', 200), 'open'],
  ] as const)('leaves the breaker %s after as many of %s as the threshold', async (_case, failure, state) => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ failureThreshold: breakerFailureThreshold, cooldownMs: breakerCooldownMs }, clock);
    for (let i = 0; i < breakerFailureThreshold; i += 1) {
      const ambiguous = failure.kind === 'failed' && failure.failure.certainty === 'ambiguous';
      const { deps } = timedWorld({
        lean: [{ answer: failure }],
        ...(ambiguous ? { leanLookups: [{ answer: notFound }], alpacaLookups: [{ answer: notFound }] } : {}),
        alpaca: [{ answer: accepted(ALPACA_ACK) }],
        breaker,
      });
      await route(deps);
    }

    expect(breaker.state).toBe(state);
  });
});

describe('execution scope: one deadline per order', () => {
  const reserve = CONFIG.budget.finalizeReserveMs;

  it('gives the LEAN submit what is left of the deadline when that is shorter than its own timeout', async () => {
    const { deps, lean } = timedWorld({ lean: [{ answer: accepted(LEAN_ACK) }] });

    await route(deps, reserve + 300);

    expect(lean.submitTimeouts).toEqual([300]);
  });

  it('gives each call its own timeout when the deadline is far away', async () => {
    const { deps, lean } = timedWorld({ lean: [{ answer: accepted(LEAN_ACK) }] });

    await route(deps);

    expect(lean.submitTimeouts).toEqual([CONFIG.timeouts.leanSubmitMs]);
  });

  it('does not start LEAN when less than its connect timeout is left, and fails the order without any broker call', async () => {
    const { deps, lean, alpaca } = timedWorld({ lean: [{ answer: accepted(LEAN_ACK) }] });

    const row = routedRow(await route(deps, reserve + CONFIG.timeouts.leanConnectMs - 1));

    expect([lean.submitTimeouts, alpaca.submitTimeouts]).toEqual([[], []]);
    expect(row).toMatchObject({ status: 'failed', execution_route_reason: 'deadline_exceeded', execution_attempts: [] });
  });

  it('fails the order without a fallback when a definite LEAN failure used up the deadline', async () => {
    const { deps, alpaca } = timedWorld({ lean: [{ tookMs: 1_000, answer: LEAN_502 }], alpaca: [{ answer: accepted(ALPACA_ACK) }] });

    const row = routedRow(await route(deps, reserve + 1_000));

    expect(alpaca.submitTimeouts).toEqual([]);
    expect(row).toMatchObject({ status: 'failed', execution_route: 'none', execution_route_reason: 'lean_submit_http_502' });
  });

  it('leaves the order unknown without a fallback when an ambiguous LEAN failure and its lookups used up the deadline', async () => {
    const { deps, alpaca } = timedWorld({
      lean: [{ tookMs: 400, answer: LEAN_TIMEOUT }],
      leanLookups: [{ tookMs: 200, answer: notFound }],
      alpacaLookups: [{ tookMs: 200, answer: notFound }],
      alpaca: [{ answer: accepted(ALPACA_ACK) }],
    });

    const row = routedRow(await route(deps, reserve + 850));

    expect(alpaca.submitTimeouts).toEqual([]);
    expect(row).toMatchObject({ status: 'unknown', execution_route: 'none', route_verified: false });
  });

  it('skips a lookup that cannot start and counts it as unanswered', async () => {
    const { deps, alpaca } = timedWorld({ lean: [{ tookMs: 450, answer: LEAN_TIMEOUT }], leanLookups: [{ tookMs: 100, answer: notFound }] });

    const row = routedRow(await route(deps, reserve + 600));

    expect(alpaca.lookupTimeouts).toEqual([]);
    expect(row.execution_attempts.map((attempt) => `${attempt.adapter}:${attempt.operation}`)).toEqual(['lean:submit', 'lean:lookup']);
  });

  it('bounds the claim by the DynamoDB timeout', async () => {
    const { deps, world } = timedWorld({ lean: [{ answer: accepted(LEAN_ACK) }] });

    await route(deps);

    expect(world.store.claimTimeouts).toEqual([CONFIG.timeouts.dynamoDbMs]);
  });

  it('keeps the reserve for the final write even when the brokers used the whole deadline', async () => {
    const { deps, world } = timedWorld({ lean: [{ tookMs: 500, answer: accepted(LEAN_ACK) }] });

    await route(deps, reserve + 500);

    expect(world.store.finalizations.map((write) => write.timeoutMs)).toEqual([Math.min(CONFIG.timeouts.dynamoDbMs, reserve)]);
  });

  it('takes the configured route timeout as the budget when the invocation says nothing', async () => {
    const { deps, lean } = timedWorld({ lean: [{ tookMs: CONFIG.budget.routeTimeoutMs - reserve - 100, answer: LEAN_TIMEOUT }], leanLookups: [{ answer: notFound }] });

    const row = routedRow(await route(deps));

    expect(lean.lookupTimeouts).toEqual([100]);
    expect(row.status).toBe('unknown');
  });
});

describe('execution scope: the claim token', () => {
  it('writes the claim token on the pending row', async () => {
    const { deps, world } = timedWorld({ lean: [{ answer: accepted(LEAN_ACK) }] });

    await route(deps);

    expect(world.store.claims[0]?.claim_token).toBe('token-1');
  });

  it('makes a fresh random token for each claim by default', async () => {
    const [first, second] = [1, 2].map(() => timedWorld({ lean: [{ answer: accepted(LEAN_ACK) }] }));
    for (const world of [first, second]) {
      const { claimToken: _fixed, ...randomTokens } = world!.deps;
      await route(randomTokens);
    }

    const tokens = [first!.world.store.claims[0]?.claim_token, second!.world.store.claims[0]?.claim_token];
    expect(tokens[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(tokens[0]).not.toBe(tokens[1]);
  });
});

describe('execution scope: the trips after the final write', () => {
  const ssmMs = CONFIG.timeouts.ssmMs;
  const dynamoDbMs = CONFIG.timeouts.dynamoDbMs;
  const invocationMs = 3_000;
  const lean11Shares = accepted(brokerOrder(ORDER, { qty: '11' }, 'lean-order-1'));

  /** LEAN places 11 shares when 10 were asked, leaving the invocation `leftMs` when it answers. */
  async function mismatchLeaving(leftMs: number) {
    const timed = timedWorld({ lean: [{ tookMs: invocationMs - leftMs, answer: lean11Shares }] });
    await route(timed.deps, invocationMs);
    return timed.world;
  }

  /** LEAN fails definitely and the fallback is accepted, leaving the invocation `leftMs`. */
  async function fallbackLeaving(leftMs: number) {
    const timed = timedWorld({ lean: [{ answer: LEAN_502 }], alpaca: [{ tookMs: invocationMs - leftMs, answer: accepted(ALPACA_ACK) }] });
    await route(timed.deps, invocationMs);
    return timed.world;
  }

  it('trips the kill switch when exactly two SSM calls still fit the invocation', async () => {
    const world = await mismatchLeaving(2 * ssmMs);

    expect(world.control.killSwitchTrips.map((trip) => trip.reason)).toEqual(['notional_mismatch']);
    expect(world.logger.withMessage('trip_skipped_for_time')).toEqual([]);
  });

  it('skips the kill switch trip, and logs it, when two SSM calls no longer fit', async () => {
    const world = await mismatchLeaving(2 * ssmMs - 1);

    expect(world.control.killSwitchTrips).toEqual([]);
    expect(world.logger.withMessage('trip_skipped_for_time')).toEqual([
      { level: 'error', message: 'trip_skipped_for_time', fields: { trip: 'kill_switch', client_order_id: ORDER.client_order_id, remaining_ms: 2 * ssmMs - 1 } },
    ]);
  });

  it('counts the symbol’s fallbacks when exactly one DynamoDB and one SSM call still fit', async () => {
    const world = await fallbackLeaving(dynamoDbMs + ssmMs);

    expect(world.fallbackHistory.queries).toHaveLength(1);
    expect(world.logger.withMessage('trip_skipped_for_time')).toEqual([]);
  });

  it('skips the manual-review count, and logs it, when one DynamoDB and one SSM call no longer fit', async () => {
    const world = await fallbackLeaving(dynamoDbMs + ssmMs - 1);

    expect(world.fallbackHistory.queries).toEqual([]);
    expect(world.logger.withMessage('trip_skipped_for_time')).toEqual([
      {
        level: 'error',
        message: 'trip_skipped_for_time',
        fields: { trip: 'symbol_manual_review', client_order_id: ORDER.client_order_id, remaining_ms: dynamoDbMs + ssmMs - 1 },
      },
    ]);
  });
});

describe('execution scope: the latency it logs', () => {
  it('logs the time from the order’s start to its end as latency_ms', async () => {
    const { deps, world, clock } = timedWorld({ lean: [{ tookMs: 250, answer: accepted(LEAN_ACK) }] });
    clock.t = 1_000;

    await route(deps);

    expect(world.logger.withMessage('route_attribution').map((line) => line.fields.latency_ms)).toEqual([250]);
  });
});
