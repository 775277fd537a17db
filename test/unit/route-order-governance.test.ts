import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../functions/core/breaker';
import { DEFAULT_GOVERNANCE, type RouterConfig } from '../../functions/core/config';
import { UNAVAILABLE_CONTROL, type ControlSnapshot, type SymbolReview } from '../../functions/core/control';
import type { AlpacaSubmitOutcome, LeanSubmitOutcome } from '../../functions/core/execution';
import type { GateReason } from '../../functions/core/gates';
import type { OrderRequest } from '../../functions/core/order-request';
import type { ControlPlane, LeanRunner } from '../../functions/core/ports';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { routeOrder, type RouteDependencies, type RouteResult } from '../../functions/core/route-order';
import {
  accepted,
  brokerOrder,
  fakeWorld,
  leanFailure,
  order,
  pendingRow,
  routedRow,
  routerConfig,
  type BrokerScript,
  type FakeWorld,
} from '../support/fakes';

const NOW = '2025-01-02T14:30:00.000Z';
const ORDER = order();
const CORRELATION_ID = 'corr-gov';
const LEAN_ACK = brokerOrder(ORDER, {}, 'lean-order-1');
const ALPACA_ACCEPTED: AlpacaSubmitOutcome = accepted(brokerOrder(ORDER, {}, 'alpaca-order-1'));
const LEAN_DEFINITE = leanFailure('lean_submit_network_error', 'definite');
/** LEAN placed 11 shares when 10 were asked. */
const LEAN_WRONG_QTY: LeanSubmitOutcome = accepted(brokerOrder(ORDER, { qty: '11' }, 'lean-order-1'));

const KILL_ON: Partial<ControlSnapshot> = { killSwitch: { state: 'on', reason: 'operator', set_by: 'alice', source: 'parameter' } };
const KILL_UNREADABLE: Partial<ControlSnapshot> = { killSwitch: { state: 'on', reason: 'kill-switch value "maybe"', source: 'unreadable' } };
const STALE: Partial<ControlSnapshot> = {
  leanHealth: { status: 'down', checked_at: NOW, last_ok_at: minutesBefore(10), latency_ms: null, detail: 'ECONNREFUSED' },
};

const REVIEW_AFTER_3 = routerConfig({}, { governance: { ...DEFAULT_GOVERNANCE, manualReviewFallbacks: 3 } });

function minutesBefore(minutes: number): string {
  return new Date(Date.parse(NOW) - minutes * 60_000).toISOString();
}

function reviews(...entries: SymbolReview[]): Partial<ControlSnapshot> {
  return { reviews: new Map(entries.map((review) => [review.symbol, review])) };
}

const AAPL_IN_REVIEW = reviews({ symbol: 'AAPL', state: 'review', changed_at: minutesBefore(5), reason: 'repeated_fallback' });

async function route(world: FakeWorld, request: OrderRequest = ORDER, deps: RouteDependencies = world.deps): Promise<RouteResult> {
  return routeOrder(deps, request, { correlationId: CORRELATION_ID });
}

/** A row an earlier order left: a fallback of `symbol` created `minutesAgo` before NOW. */
function pastFallback(id: string, symbol: string, minutesAgo: number): ProvenanceRow {
  const createdAt = minutesBefore(minutesAgo);
  return pendingRow({
    client_order_id: id,
    symbol,
    status: 'accepted',
    execution_adapter: 'alpaca',
    execution_route: 'alpaca_fallback',
    execution_route_reason: 'lean_submit_network_error',
    execution_fallback_reason: 'lean_submit_network_error',
    execution_fallback_count: 1,
    created_at: createdAt,
  });
}

/** Two AAPL fallbacks 10 and 5 minutes ago: the next AAPL fallback is the third in the 15-minute window. */
const TWO_EARLIER_AAPL_FALLBACKS = [pastFallback('old-1', 'AAPL', 10), pastFallback('old-2', 'AAPL', 5)];

/** A world whose next order falls back from LEAN to Alpaca. */
function fallingBackWorld(options: { control?: Partial<ControlSnapshot>; seed?: readonly ProvenanceRow[]; config?: RouterConfig } = {}): FakeWorld {
  const world = fakeWorld({
    config: options.config ?? REVIEW_AFTER_3,
    lean: { submits: [LEAN_DEFINITE] },
    alpaca: { submits: [ALPACA_ACCEPTED] },
    ...(options.control === undefined ? {} : { control: options.control }),
  });
  for (const row of options.seed ?? []) world.store.seed(row);
  return world;
}

/** A breaker on a hand-driven clock, put in `state` before the order arrives. */
function breakerIn(state: 'open' | 'half_open', config: RouterConfig = routerConfig()) {
  const clock = { t: 0, monotonicMs: () => clock.t };
  const { breakerFailureThreshold, breakerCooldownMs } = config.governance;
  const breaker = new CircuitBreaker({ failureThreshold: breakerFailureThreshold, cooldownMs: breakerCooldownMs }, clock);
  for (let i = 0; i < breakerFailureThreshold; i += 1) breaker.recordFailure();
  if (state === 'half_open') clock.t += breakerCooldownMs;
  return breaker;
}

interface GateCase {
  readonly name: string;
  readonly control: Partial<ControlSnapshot>;
  readonly reason: GateReason;
  readonly gates: readonly GateReason[];
}

const GATE_CASES: readonly GateCase[] = [
  { name: 'the kill switch is on', control: KILL_ON, reason: 'kill_switch', gates: ['kill_switch'] },
  { name: 'the kill switch is unreadable', control: KILL_UNREADABLE, reason: 'kill_switch', gates: ['kill_switch'] },
  { name: 'runner health is stale', control: STALE, reason: 'runner_health_stale', gates: ['runner_health_stale'] },
  { name: 'the symbol is in manual review', control: AAPL_IN_REVIEW, reason: 'symbol_manual_review', gates: ['symbol_manual_review'] },
  { name: 'kill switch and stale health hold', control: { ...KILL_ON, ...STALE }, reason: 'kill_switch', gates: ['kill_switch', 'runner_health_stale'] },
  {
    name: 'stale health and manual review hold',
    control: { ...STALE, ...AAPL_IN_REVIEW },
    reason: 'runner_health_stale',
    gates: ['runner_health_stale', 'symbol_manual_review'],
  },
  {
    name: 'all three control gates hold',
    control: { ...KILL_ON, ...STALE, ...AAPL_IN_REVIEW },
    reason: 'kill_switch',
    gates: ['kill_switch', 'runner_health_stale', 'symbol_manual_review'],
  },
];

describe.each(GATE_CASES)('routeOrder when $name', ({ control, reason, gates }) => {
  function gatedWorld(): FakeWorld {
    return fakeWorld({ alpaca: { submits: [ALPACA_ACCEPTED] }, control });
  }

  it('routes the order to Alpaca as alpaca_gated with the first gate as its reason', async () => {
    const world = gatedWorld();

    const row = routedRow(await route(world));

    expect(row).toMatchObject({
      status: 'accepted',
      execution_expected_adapter: 'lean',
      execution_adapter: 'alpaca',
      execution_route: 'alpaca_gated',
      execution_route_reason: reason,
      broker_order_id: 'alpaca-order-1',
      execution_fallback_count: 0,
    });
  });

  it('lists every gate that holds, in precedence order, in the policy snapshot', async () => {
    const world = gatedWorld();

    const row = routedRow(await route(world));

    expect(row.policy_snapshot.gates).toEqual(gates);
  });

  it('claims the row with the first gate as its route reason', async () => {
    const world = gatedWorld();

    await route(world);

    expect(world.store.claims.map((claim) => claim.execution_route_reason)).toEqual([reason]);
  });

  it('counts the order as gated with the first gate', async () => {
    const world = gatedWorld();

    await route(world);

    expect(world.metrics.argsOf('gated')).toEqual([[reason]]);
  });

  it('sends LEAN nothing', async () => {
    const world = gatedWorld();

    await route(world);

    expect(world.lean.submitCalls).toHaveLength(0);
    expect(world.lean.lookupCalls).toHaveLength(0);
  });

  it('marks the Alpaca payload as alpaca_gated', async () => {
    const world = gatedWorld();

    const row = routedRow(await route(world));

    expect(row.raw_payload?._execution_adapter).toBe('alpaca_gated');
  });

  it('logs execution_gated with the gate and every gate that held', async () => {
    const world = gatedWorld();

    await route(world);

    expect(world.logger.withMessage('execution_gated').map((line) => line.fields)).toEqual([
      expect.objectContaining({ client_order_id: ORDER.client_order_id, gate: reason, gates }),
    ]);
  });
});

describe.each(GATE_CASES)('routeOrder with fallback none when $name', ({ control, reason, gates }) => {
  function refusingWorld(): FakeWorld {
    return fakeWorld({ config: routerConfig({ fallback: 'none' }), control });
  }

  it('refuses the order and records it as rejected with route none', async () => {
    const world = refusingWorld();

    const row = routedRow(await route(world));

    expect(row).toMatchObject({
      status: 'rejected',
      execution_adapter: 'none',
      execution_route: 'none',
      execution_route_reason: reason,
      review_required: false,
    });
    expect(row.policy_snapshot.gates).toEqual(gates);
    expect(world.store.rows.get(ORDER.client_order_id)?.status).toBe('rejected');
  });

  it('sends nothing to any broker', async () => {
    const world = refusingWorld();

    const row = routedRow(await route(world));

    expect(world.lean.submitCalls).toHaveLength(0);
    expect(world.alpaca.submitCalls).toHaveLength(0);
    expect(row.execution_attempts).toEqual([]);
  });

  it('still counts the order as gated', async () => {
    const world = refusingWorld();

    await route(world);

    expect(world.metrics.argsOf('gated')).toEqual([[reason]]);
  });
});

describe('routeOrder when SSM never answered (UNAVAILABLE_CONTROL)', () => {
  function unavailableWorld(): FakeWorld {
    const world = fakeWorld({ alpaca: { submits: [ALPACA_ACCEPTED] } });
    world.control.snapshot = UNAVAILABLE_CONTROL;
    return world;
  }

  it('gates LEAN with the kill switch', async () => {
    const world = unavailableWorld();

    const row = routedRow(await route(world));

    expect(row).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'kill_switch' });
    expect(world.lean.submitCalls).toHaveLength(0);
  });

  it('says in the snapshot that the control values were unavailable and the switch counted as on', async () => {
    const world = unavailableWorld();

    const row = routedRow(await route(world));

    expect(row.policy_snapshot).toMatchObject({ kill_switch: 'on', control_source: 'unavailable', gates: ['kill_switch', 'runner_health_stale'] });
  });

  it('records no control_read_at, as no values were ever read', async () => {
    const world = unavailableWorld();

    const row = routedRow(await route(world));

    expect(row.policy_snapshot).not.toHaveProperty('control_read_at');
  });
});

describe('routeOrder and the age of the control values', () => {
  it('records in the snapshot when the control values it used were read, with their source', async () => {
    const readAt = '2025-01-02T14:29:52.000Z';
    const world = fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] }, control: { source: 'cached', readAt } });

    const row = routedRow(await route(world));

    expect(row.policy_snapshot).toMatchObject({ control_source: 'cached', control_read_at: readAt });
  });
});

describe('routeOrder gates and orders that do not expect LEAN', () => {
  it('routes an Alpaca-policy order as alpaca, not gated, when the kill switch is on', async () => {
    const world = fakeWorld({ config: routerConfig({ adapter: 'alpaca' }), alpaca: { submits: [ALPACA_ACCEPTED] }, control: KILL_ON });

    const row = routedRow(await route(world));

    expect(row).toMatchObject({ execution_route: 'alpaca', execution_route_reason: 'adapter_alpaca' });
    expect(row.policy_snapshot.gates).toEqual([]);
    expect(world.metrics.count('gated')).toBe(0);
  });

  it('routes another symbol to LEAN while one symbol is in review', async () => {
    const world = fakeWorld({ lean: { submits: [accepted(brokerOrder(order({ symbol: 'MSFT' }), {}, 'lean-order-2'))] }, control: AAPL_IN_REVIEW });

    const row = routedRow(await route(world, order({ symbol: 'MSFT' })));

    expect(row).toMatchObject({ execution_route: 'lean', execution_route_reason: 'policy_all' });
    expect(row.policy_snapshot.gates).toEqual([]);
  });

  it('routes to LEAN when the symbol’s review was cleared', async () => {
    const world = fakeWorld({
      lean: { submits: [accepted(LEAN_ACK)] },
      control: reviews({ symbol: 'AAPL', state: 'cleared', changed_at: minutesBefore(1) }),
    });

    const row = routedRow(await route(world));

    expect(row.execution_route).toBe('lean');
  });
});

describe('routeOrder and the runtime policy parameter', () => {
  it('follows a valid override and says so in the snapshot', async () => {
    const world = fakeWorld({ alpaca: { submits: [ALPACA_ACCEPTED] }, control: { policy: { kind: 'valid', value: { adapter: 'alpaca' } } } });

    const row = routedRow(await route(world));

    expect(row).toMatchObject({ execution_route: 'alpaca', execution_route_reason: 'adapter_alpaca' });
    expect(row.policy_snapshot.policy_source).toBe('parameter');
    expect(world.lean.submitCalls).toHaveLength(0);
  });

  it('stops sending a symbol removed from the allowlist to LEAN', async () => {
    const world = fakeWorld({
      alpaca: { submits: [ALPACA_ACCEPTED] },
      control: { policy: { kind: 'valid', value: { policy: 'allowlist', symbols: new Set(['MSFT']) } } },
    });

    const row = routedRow(await route(world));

    expect(row).toMatchObject({ execution_route: 'alpaca', execution_route_reason: 'symbol_not_allowlisted' });
  });

  it('routes away from LEAN as policy_misconfigured when the parameter is invalid', async () => {
    const world = fakeWorld({
      alpaca: { submits: [ALPACA_ACCEPTED] },
      control: { policy: { kind: 'invalid', problem: 'policy parameter is not valid JSON' } },
    });

    const row = routedRow(await route(world));

    expect(row).toMatchObject({ execution_route: 'alpaca', execution_route_reason: 'policy_misconfigured' });
    expect(row.policy_snapshot.misconfiguration).toEqual(['policy parameter is not valid JSON']);
    expect(world.lean.submitCalls).toHaveLength(0);
  });
});

describe('routeOrder and the breaker', () => {
  it('gates with breaker_open when no control gate holds and the breaker is open', async () => {
    const world = fakeWorld({ alpaca: { submits: [ALPACA_ACCEPTED] } });
    const deps = { ...world.deps, breaker: breakerIn('open') };

    const row = routedRow(await route(world, ORDER, deps));

    expect(row).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'breaker_open' });
    expect(row.policy_snapshot).toMatchObject({ gates: ['breaker_open'], breaker: 'open' });
    expect(world.metrics.argsOf('gated')).toEqual([['breaker_open']]);
    expect(world.lean.submitCalls).toHaveLength(0);
  });

  it('does not ask the breaker when a control gate holds, so a kill-switched order leaves its trial slot free', async () => {
    const world = fakeWorld({ alpaca: { submits: [ALPACA_ACCEPTED] }, control: KILL_ON });
    const breaker = breakerIn('half_open');
    const deps = { ...world.deps, breaker };

    const row = routedRow(await route(world, ORDER, deps));

    expect(row.execution_route_reason).toBe('kill_switch');
    expect(breaker.state).toBe('half_open');
    expect(breaker.acquire()?.trial).toBe(true);
  });

  it('lists only the control gates, not the breaker, when both would hold', async () => {
    const world = fakeWorld({ alpaca: { submits: [ALPACA_ACCEPTED] }, control: STALE });
    const deps = { ...world.deps, breaker: breakerIn('open') };

    const row = routedRow(await route(world, ORDER, deps));

    expect(row.policy_snapshot.gates).toEqual(['runner_health_stale']);
  });

  it('sends the half-open trial to LEAN and closes the breaker when LEAN accepts', async () => {
    const world = fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] } });
    const breaker = breakerIn('half_open');

    const row = routedRow(await route(world, ORDER, { ...world.deps, breaker }));

    expect(row.execution_route).toBe('lean');
    expect(breaker.state).toBe('closed');
  });

  it('gates a second order while the trial is in flight', async () => {
    const breaker = breakerIn('half_open');
    breaker.acquire();
    const world = fakeWorld({ alpaca: { submits: [ALPACA_ACCEPTED] } });

    const row = routedRow(await route(world, ORDER, { ...world.deps, breaker }));

    expect(row.execution_route_reason).toBe('breaker_open');
  });

  it('opens after N consecutive LEAN failures and gates the next order', async () => {
    const failures = DEFAULT_GOVERNANCE.breakerFailureThreshold;
    const world = fakeWorld({
      lean: { submits: Array.from({ length: failures }, () => LEAN_DEFINITE) },
      alpaca: { submits: Array.from({ length: failures + 1 }, () => ALPACA_ACCEPTED) },
    });
    // One symbol each, so that no symbol reaches manual review (which gates before the breaker).
    const symbols = ['AAPL', 'MSFT', 'TSLA', 'NVDA', 'AMZN'];
    for (let i = 0; i < failures; i += 1) await route(world, order({ client_order_id: `ord-fail-${i}`, symbol: symbols[i % symbols.length] }));

    const row = routedRow(await route(world, order({ client_order_id: 'ord-next', symbol: 'IBM' })));

    expect(row).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'breaker_open' });
    expect(world.lean.submitCalls).toHaveLength(failures);
  });
});

describe('routeOrder: a LEAN acknowledgement that differs from the order', () => {
  function mismatchWorld(lean: BrokerScript<LeanSubmitOutcome> = { submits: [LEAN_WRONG_QTY] }): FakeWorld {
    return fakeWorld({ lean });
  }

  it('trips the kill switch once with reason notional_mismatch, set by route', async () => {
    const world = mismatchWorld();

    await route(world);

    expect(world.control.killSwitchTrips).toEqual([
      { reason: 'notional_mismatch', set_by: 'route', detail: expect.stringContaining(ORDER.client_order_id) },
    ]);
  });

  it('counts the trip', async () => {
    const world = mismatchWorld();

    await route(world);

    expect(world.metrics.argsOf('killSwitchTrip')).toEqual([['notional_mismatch']]);
  });

  it('keeps the order as LEAN’s, flagged for review, and does not fall back', async () => {
    const world = mismatchWorld();

    const row = routedRow(await route(world));

    expect(row).toMatchObject({ status: 'accepted', execution_route: 'lean', review_required: true, broker_order_id: 'lean-order-1' });
    expect(world.alpaca.submitCalls).toHaveLength(0);
  });

  it('trips on a notional off by more than the tolerance', async () => {
    const limit = order({ type: 'limit', limit_price: '100' });
    const world = fakeWorld({ lean: { submits: [accepted(brokerOrder(limit, { raw: { limit_price: '102' } }))] } });

    await route(world, limit);

    expect(world.control.killSwitchTrips.map((trip) => trip.reason)).toEqual(['notional_mismatch']);
  });

  it('does not trip on a notional within the tolerance', async () => {
    const limit = order({ type: 'limit', limit_price: '100' });
    const world = fakeWorld({ lean: { submits: [accepted(brokerOrder(limit, { raw: { limit_price: '100.5' } }))] } });

    const row = routedRow(await route(world, limit));

    expect(row.review_required).toBe(false);
    expect(world.control.killSwitchTrips).toEqual([]);
  });

  it('does not trip on a matching acknowledgement', async () => {
    const world = mismatchWorld({ submits: [accepted(LEAN_ACK)] });

    await route(world);

    expect(world.control.killSwitchTrips).toEqual([]);
  });

  it('does not trip when the switch is already on: the order is gated and never reaches LEAN', async () => {
    const world = fakeWorld({ lean: { submits: [LEAN_WRONG_QTY] }, alpaca: { submits: [ALPACA_ACCEPTED] }, control: KILL_ON });

    await route(world);

    expect(world.lean.submitCalls).toHaveLength(0);
    expect(world.control.killSwitchTrips).toEqual([]);
  });

  it('does not rewrite a kill switch another writer turned on while the order was at LEAN', async () => {
    const world = mismatchWorld();
    const healthCheckTrip = { state: 'on', reason: 'lean_error_rate', set_by: 'health-check', source: 'parameter' } as const;
    const lean: LeanRunner = {
      submit: async (request, context) => {
        world.control.snapshot = { ...world.control.snapshot, killSwitch: healthCheckTrip };
        return world.lean.submit(request, context);
      },
      findByClientOrderId: (id, context) => world.lean.findByClientOrderId(id, context),
    };

    await route(world, ORDER, { ...world.deps, lean });

    expect(world.control.killSwitchTrips).toEqual([]);
    expect(world.control.snapshot.killSwitch.reason).toBe('lean_error_rate');
  });

  it('logs a trip it could not write and still answers the routed order', async () => {
    const world = mismatchWorld();
    world.control.failWrites = true;

    const result = await route(world);

    expect(result.kind).toBe('routed');
    expect(routedRow(result)).toMatchObject({ execution_route: 'lean', review_required: true });
    expect(world.logger.withMessage('kill_switch_trip_failed')).toEqual([
      expect.objectContaining({ level: 'error', fields: expect.objectContaining({ reason: 'notional_mismatch', client_order_id: ORDER.client_order_id }) }),
    ]);
  });

  it('does not count a trip it could not write', async () => {
    const world = mismatchWorld();
    world.control.failWrites = true;

    await route(world);

    expect(world.metrics.count('killSwitchTrip')).toBe(0);
  });
});

describe('routeOrder: manual review after repeated fallbacks', () => {
  it('puts the symbol in review on its Nth fallback in the window', async () => {
    const world = fallingBackWorld({ seed: TWO_EARLIER_AAPL_FALLBACKS });

    const row = routedRow(await route(world));

    expect(row.execution_route).toBe('alpaca_fallback');
    expect(world.control.reviewTrips).toEqual([{ symbol: 'AAPL', reason: expect.stringContaining('3 fallbacks'), setBy: 'route' }]);
  });

  it('logs the trip', async () => {
    const world = fallingBackWorld({ seed: TWO_EARLIER_AAPL_FALLBACKS });

    await route(world);

    expect(world.logger.withMessage('symbol_manual_review_tripped').map((line) => line.fields)).toEqual([
      expect.objectContaining({ symbol: 'AAPL', fallbacks: 3 }),
    ]);
  });

  it('does not put the symbol in review below N fallbacks', async () => {
    const world = fallingBackWorld({ seed: [pastFallback('old-1', 'AAPL', 10)] });

    await route(world);

    expect(world.fallbackHistory.queries).toHaveLength(1);
    expect(world.control.reviewTrips).toEqual([]);
  });

  it('counts from the start of the window', async () => {
    const world = fallingBackWorld();

    await route(world);

    expect(world.fallbackHistory.queries).toEqual([{ symbol: 'AAPL', since: minutesBefore(15) }]);
  });

  it('does not count fallbacks older than the window', async () => {
    const world = fallingBackWorld({ seed: [pastFallback('old-1', 'AAPL', 16), pastFallback('old-2', 'AAPL', 15.01)] });

    await route(world);

    expect(world.control.reviewTrips).toEqual([]);
  });

  it('does not count other symbols’ fallbacks', async () => {
    const world = fallingBackWorld({ seed: [pastFallback('old-1', 'MSFT', 10), pastFallback('old-2', 'MSFT', 5)] });

    await route(world);

    expect(world.control.reviewTrips).toEqual([]);
  });

  it('follows the configured number of fallbacks', async () => {
    const config = routerConfig({}, { governance: { ...DEFAULT_GOVERNANCE, manualReviewFallbacks: 2 } });
    const world = fallingBackWorld({ config, seed: [pastFallback('old-1', 'AAPL', 10)] });

    await route(world);

    expect(world.control.reviewTrips.map((trip) => trip.symbol)).toEqual(['AAPL']);
  });

  it('does not count the symbol again once it is in review: the next order is gated and never falls back', async () => {
    const world = fallingBackWorld({
      control: AAPL_IN_REVIEW,
      seed: [pastFallback('old-1', 'AAPL', 10), pastFallback('old-2', 'AAPL', 5), pastFallback('old-3', 'AAPL', 4)],
    });

    const row = routedRow(await route(world));

    expect(row.execution_route_reason).toBe('symbol_manual_review');
    expect(world.fallbackHistory.queries).toEqual([]);
    expect(world.control.reviewTrips).toEqual([]);
  });

  it.each([
    { when: 'an operator cleared it within the window, only fallbacks since the clear', clearedAgo: 4, since: 4, trips: [] },
    { when: 'the clear is older than the window, from the window start', clearedAgo: 60, since: 15, trips: ['AAPL'] },
  ])('counts a cleared symbol’s fallbacks, when $when', async ({ clearedAgo, since, trips }) => {
    const world = fallingBackWorld({
      control: reviews({ symbol: 'AAPL', state: 'cleared', changed_at: minutesBefore(clearedAgo) }),
      seed: TWO_EARLIER_AAPL_FALLBACKS,
    });

    await route(world);

    expect(world.fallbackHistory.queries).toEqual([{ symbol: 'AAPL', since: minutesBefore(since) }]);
    expect(world.control.reviewTrips.map((trip) => trip.symbol)).toEqual(trips);
  });

  it('counts every one of parallel fallbacks on one symbol', async () => {
    const world = fakeWorld({
      config: REVIEW_AFTER_3,
      lean: { submits: [LEAN_DEFINITE, LEAN_DEFINITE, LEAN_DEFINITE] },
      alpaca: { submits: [ALPACA_ACCEPTED, ALPACA_ACCEPTED, ALPACA_ACCEPTED] },
    });

    await Promise.all(['p-1', 'p-2', 'p-3'].map((id) => route(world, order({ client_order_id: id }))));

    expect(world.control.reviewTrips.map((trip) => trip.symbol)).toContain('AAPL');
  });

  it('does not ask the fallback history for an order that did not fall back', async () => {
    const world = fakeWorld({ config: REVIEW_AFTER_3, lean: { submits: [accepted(LEAN_ACK)] } });

    await route(world);

    expect(world.fallbackHistory.queries).toEqual([]);
  });

  it('logs a review it could not write and still answers the routed order', async () => {
    const world = fallingBackWorld({ seed: TWO_EARLIER_AAPL_FALLBACKS });
    world.control.failWrites = true;

    const result = await route(world);

    expect(routedRow(result).execution_route).toBe('alpaca_fallback');
    expect(world.logger.withMessage('symbol_manual_review_failed')).toHaveLength(1);
  });
});

describe('routeOrder: the kill switch trip, as written and logged', () => {
  /** The world's control plane, except that a fresh read answers `fresh` (or throws it). */
  function withFreshRead(world: FakeWorld, fresh: ControlSnapshot | Error): RouteDependencies {
    const control: ControlPlane = {
      read: () => world.control.read(),
      readFresh: async () => {
        if (fresh instanceof Error) throw fresh;
        return fresh;
      },
      tripKillSwitch: (trip) => world.control.tripKillSwitch(trip),
      putSymbolInReview: (symbol, reason, setBy) => world.control.putSymbolInReview(symbol, reason, setBy),
    };
    return { ...world.deps, control };
  }

  it('writes the order and what differs as the trip’s detail', async () => {
    const world = fakeWorld({ lean: { submits: [LEAN_WRONG_QTY] } });

    const row = routedRow(await route(world));

    expect(row.status_detail).toContain('qty_mismatch');
    expect(world.control.killSwitchTrips.map((trip) => trip.detail)).toEqual([`${ORDER.client_order_id}: ${row.status_detail}`]);
  });

  it('logs kill_switch_tripped with the reason, the order and the detail', async () => {
    const world = fakeWorld({ lean: { submits: [LEAN_WRONG_QTY] } });

    const row = routedRow(await route(world));

    expect(world.logger.withMessage('kill_switch_tripped')).toEqual([
      {
        level: 'error',
        message: 'kill_switch_tripped',
        fields: { reason: 'notional_mismatch', client_order_id: ORDER.client_order_id, detail: `${ORDER.client_order_id}: ${row.status_detail}` },
      },
    ]);
  });

  it('trips the switch anyway when its fresh read fails', async () => {
    const world = fakeWorld({ lean: { submits: [LEAN_WRONG_QTY] } });

    await route(world, ORDER, withFreshRead(world, new Error('TimeoutError: SSM did not answer')));

    expect(world.control.killSwitchTrips.map((trip) => trip.reason)).toEqual(['notional_mismatch']);
  });

  it('trips the switch when the fresh read finds it on only because its value is unreadable', async () => {
    const world = fakeWorld({ lean: { submits: [LEAN_WRONG_QTY] } });
    const unreadable = { ...world.control.snapshot, ...KILL_UNREADABLE };

    await route(world, ORDER, withFreshRead(world, unreadable));

    expect(world.control.killSwitchTrips.map((trip) => trip.reason)).toEqual(['notional_mismatch']);
    expect(world.logger.withMessage('kill_switch_already_on')).toEqual([]);
  });

  it('logs kill_switch_already_on with the reason it keeps when another writer turned it on', async () => {
    const world = fakeWorld({ lean: { submits: [LEAN_WRONG_QTY] } });
    const alreadyOn = { ...world.control.snapshot, ...KILL_ON };

    const row = routedRow(await route(world, ORDER, withFreshRead(world, alreadyOn)));

    expect(world.control.killSwitchTrips).toEqual([]);
    expect(world.logger.withMessage('kill_switch_already_on')).toEqual([
      {
        level: 'warn',
        message: 'kill_switch_already_on',
        fields: { reason: 'notional_mismatch', client_order_id: ORDER.client_order_id, detail: `${ORDER.client_order_id}: ${row.status_detail}`, switch_reason: 'operator' },
      },
    ]);
  });

  it('logs a trip it could not write with the error', async () => {
    const world = fakeWorld({ lean: { submits: [LEAN_WRONG_QTY] } });
    world.control.failWrites = true;

    await route(world);

    expect(world.logger.withMessage('kill_switch_trip_failed').map((line) => line.fields)).toEqual([
      { reason: 'notional_mismatch', client_order_id: ORDER.client_order_id, error: 'Error: ThrottlingException: rate exceeded' },
    ]);
  });
});

describe('routeOrder: the manual review, as logged', () => {
  it('logs symbol_manual_review_tripped with the symbol, the count, the window start and the order', async () => {
    const world = fallingBackWorld({ seed: TWO_EARLIER_AAPL_FALLBACKS });

    await route(world);

    expect(world.logger.withMessage('symbol_manual_review_tripped').map((line) => line.fields)).toEqual([
      { symbol: 'AAPL', fallbacks: 3, since: minutesBefore(15), client_order_id: ORDER.client_order_id },
    ]);
  });

  it('puts the symbol in review with the count and the window start as its reason', async () => {
    const world = fallingBackWorld({ seed: TWO_EARLIER_AAPL_FALLBACKS });

    await route(world);

    expect(world.control.reviewTrips.map((trip) => trip.reason)).toEqual([`repeated_fallback: 3 fallbacks since ${minutesBefore(15)}`]);
  });

  it('logs symbol_manual_review_failed with the symbol, the order and the error', async () => {
    const world = fallingBackWorld({ seed: TWO_EARLIER_AAPL_FALLBACKS });
    world.control.failWrites = true;

    await route(world);

    expect(world.logger.withMessage('symbol_manual_review_failed').map((line) => line.fields)).toEqual([
      { symbol: 'AAPL', client_order_id: ORDER.client_order_id, error: 'Error: ThrottlingException: rate exceeded' },
    ]);
  });
});
