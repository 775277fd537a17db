import { describe, expect, it } from 'vitest';
import { loadRouterConfig, type RouterConfig } from '../../functions/core/config';
import type { AlpacaSubmitOutcome, LeanSubmitOutcome } from '../../functions/core/execution';
import { systemClock, type LeanRunner } from '../../functions/core/ports';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { routeOrder, type RouteResult } from '../../functions/core/route-order';
import {
  accepted,
  brokerOrder,
  fakeWorld,
  found,
  leanFailure,
  lookupError,
  notFound,
  order,
  RecordingProvenanceStore,
  routedRow,
  routerConfig,
  type BrokerScript,
  type FakeWorld,
} from '../support/fakes';

const ORDER = order();
const CORRELATION_ID = 'corr-123';
const LEAN_ACK = brokerOrder(ORDER, {}, 'lean-order-1');
const ALPACA_ACK = brokerOrder(ORDER, {}, 'alpaca-order-1');

const LEAN_DEFINITE = leanFailure('lean_submit_network_error', 'definite');
const LEAN_AMBIGUOUS = leanFailure('lean_submit_timeout', 'ambiguous');
const LEAN_502 = leanFailure('lean_submit_http_502', 'definite', 502);
const ALPACA_ACCEPTED: AlpacaSubmitOutcome = accepted(ALPACA_ACK);
const ALPACA_REJECTED: AlpacaSubmitOutcome = { kind: 'rejected', httpStatus: 403, detail: 'insufficient buying power' };
const ALPACA_DUPLICATE: AlpacaSubmitOutcome = { kind: 'duplicate', httpStatus: 422, detail: 'client_order_id must be unique' };
const ALPACA_DEFINITE: AlpacaSubmitOutcome = {
  kind: 'failed',
  failure: { reason: 'alpaca_submit_network_error', certainty: 'definite', detail: 'ECONNREFUSED' },
};
const ALPACA_AMBIGUOUS: AlpacaSubmitOutcome = {
  kind: 'failed',
  failure: { reason: 'alpaca_submit_timeout', certainty: 'ambiguous', detail: 'no answer within 500 ms' },
};

const ALPACA_ONLY = routerConfig({ adapter: 'alpaca' });
const FALLBACK_NONE = routerConfig({ fallback: 'none' });

async function route(world: FakeWorld, request = ORDER): Promise<RouteResult> {
  return routeOrder(world.deps, request, { correlationId: CORRELATION_ID });
}

/** Each broker call of a world, as `adapter:operation:outcome`, from the row's attempts. */
function attemptLog(row: ProvenanceRow): string[] {
  return row.execution_attempts.map((attempt) => `${attempt.adapter}:${attempt.operation}:${attempt.outcome}`);
}

function callCounts(world: FakeWorld): { leanSubmits: number; alpacaSubmits: number; lookups: number } {
  return {
    leanSubmits: world.lean.submitCalls.length,
    alpacaSubmits: world.alpaca.submitCalls.length,
    lookups: world.lean.lookupCalls.length + world.alpaca.lookupCalls.length,
  };
}

/** One path through an order's flow (docs/architecture.md): what the brokers answer and what the row must say. */
interface Scenario {
  readonly name: string;
  readonly config?: RouterConfig;
  readonly lean?: BrokerScript<LeanSubmitOutcome>;
  readonly alpaca?: BrokerScript<AlpacaSubmitOutcome>;
  readonly row: Partial<ProvenanceRow>;
  /** Every broker call in order, as `adapter:operation:outcome`. */
  readonly calls: readonly string[];
}

const SCENARIOS: readonly Scenario[] = [
  {
    name: 'LEAN accepts',
    lean: { submits: [accepted(LEAN_ACK)] },
    row: { status: 'accepted', execution_route: 'lean', execution_adapter: 'lean', execution_route_reason: 'policy_all', broker_order_id: 'lean-order-1', execution_fallback_count: 0 },
    calls: ['lean:submit:accepted'],
  },
  {
    name: 'the symbol is not allowlisted',
    config: routerConfig({ policy: 'allowlist', symbols: new Set(['MSFT']) }),
    alpaca: { submits: [ALPACA_ACCEPTED] },
    row: { status: 'accepted', execution_expected_adapter: 'alpaca', execution_route: 'alpaca', execution_adapter: 'alpaca', execution_route_reason: 'symbol_not_allowlisted', broker_order_id: 'alpaca-order-1' },
    calls: ['alpaca:submit:accepted'],
  },
  {
    name: 'LEAN fails definitely and Alpaca accepts',
    lean: { submits: [LEAN_DEFINITE] },
    alpaca: { submits: [ALPACA_ACCEPTED] },
    row: { status: 'accepted', execution_expected_adapter: 'lean', execution_route: 'alpaca_fallback', execution_adapter: 'alpaca', execution_route_reason: 'lean_submit_network_error', execution_fallback_reason: 'lean_submit_network_error', execution_fallback_count: 1, broker_order_id: 'alpaca-order-1' },
    calls: ['lean:submit:failed', 'alpaca:submit:accepted'],
  },
  {
    name: 'LEAN is ambiguous and the runner finds the order',
    lean: { submits: [LEAN_AMBIGUOUS], lookups: [found(LEAN_ACK)] },
    row: { status: 'accepted', execution_route: 'lean', execution_adapter: 'lean', execution_note: 'late_ack', broker_order_id: 'lean-order-1', execution_fallback_count: 0 },
    calls: ['lean:submit:failed', 'lean:lookup:found'],
  },
  {
    name: 'LEAN is ambiguous, the runner lookup errors and Alpaca finds the order',
    lean: { submits: [LEAN_AMBIGUOUS], lookups: [lookupError] },
    alpaca: { lookups: [found(LEAN_ACK)] },
    row: { status: 'accepted', execution_route: 'lean', execution_adapter: 'lean', execution_note: 'late_ack', broker_order_id: 'lean-order-1' },
    calls: ['lean:submit:failed', 'lean:lookup:error', 'alpaca:lookup:found'],
  },
  {
    name: 'LEAN is ambiguous and both lookups find nothing',
    lean: { submits: [LEAN_AMBIGUOUS], lookups: [notFound] },
    alpaca: { submits: [ALPACA_ACCEPTED], lookups: [notFound] },
    row: { status: 'accepted', execution_route: 'alpaca_fallback', execution_adapter: 'alpaca', execution_fallback_reason: 'lean_submit_timeout', execution_fallback_count: 1 },
    calls: ['lean:submit:failed', 'lean:lookup:not_found', 'alpaca:lookup:not_found', 'alpaca:submit:accepted'],
  },
  {
    name: 'LEAN is ambiguous, the runner lookup errors and Alpaca finds nothing',
    lean: { submits: [LEAN_AMBIGUOUS], lookups: [lookupError] },
    alpaca: { submits: [ALPACA_ACCEPTED], lookups: [notFound] },
    row: { status: 'accepted', execution_route: 'alpaca_fallback', execution_fallback_reason: 'lean_submit_timeout' },
    calls: ['lean:submit:failed', 'lean:lookup:error', 'alpaca:lookup:not_found', 'alpaca:submit:accepted'],
  },
  {
    name: 'LEAN is ambiguous, the runner finds nothing and the Alpaca lookup errors',
    lean: { submits: [LEAN_AMBIGUOUS], lookups: [notFound] },
    alpaca: { submits: [ALPACA_ACCEPTED], lookups: [lookupError] },
    row: { status: 'accepted', execution_route: 'alpaca_fallback', execution_fallback_reason: 'lean_submit_timeout' },
    calls: ['lean:submit:failed', 'lean:lookup:not_found', 'alpaca:lookup:error', 'alpaca:submit:accepted'],
  },
  {
    name: 'LEAN is ambiguous and neither lookup answers',
    lean: { submits: [LEAN_AMBIGUOUS], lookups: [lookupError] },
    alpaca: { lookups: [lookupError] },
    row: { status: 'unknown', execution_route: 'none', execution_adapter: 'none', execution_route_reason: 'lean_submit_timeout' },
    calls: ['lean:submit:failed', 'lean:lookup:error', 'alpaca:lookup:error'],
  },
  {
    name: 'LEAN fails definitely and the fallback adapter is none',
    config: FALLBACK_NONE,
    lean: { submits: [LEAN_DEFINITE] },
    row: { status: 'failed', execution_route: 'none', execution_adapter: 'none', execution_route_reason: 'lean_submit_network_error', execution_fallback_count: 0 },
    calls: ['lean:submit:failed'],
  },
  {
    name: 'LEAN is ambiguous, nothing is found and the fallback adapter is none',
    config: FALLBACK_NONE,
    lean: { submits: [LEAN_AMBIGUOUS], lookups: [notFound] },
    alpaca: { lookups: [notFound] },
    row: { status: 'unknown', execution_route: 'none', execution_adapter: 'none' },
    calls: ['lean:submit:failed', 'lean:lookup:not_found', 'alpaca:lookup:not_found'],
  },
  {
    name: 'Alpaca rejects a direct order with 403',
    config: ALPACA_ONLY,
    alpaca: { submits: [ALPACA_REJECTED] },
    row: { status: 'rejected', execution_route: 'none', execution_adapter: 'none', execution_route_reason: 'adapter_alpaca' },
    calls: ['alpaca:submit:rejected'],
  },
  {
    name: 'Alpaca rejects the fallback with 403',
    lean: { submits: [LEAN_DEFINITE] },
    alpaca: { submits: [ALPACA_REJECTED] },
    row: { status: 'rejected', execution_route: 'none', execution_fallback_reason: 'lean_submit_network_error', execution_fallback_count: 1 },
    calls: ['lean:submit:failed', 'alpaca:submit:rejected'],
  },
  {
    name: 'Alpaca fails definitely',
    config: ALPACA_ONLY,
    alpaca: { submits: [ALPACA_DEFINITE] },
    row: { status: 'failed', execution_route: 'none', execution_adapter: 'none' },
    calls: ['alpaca:submit:failed'],
  },
  {
    name: 'Alpaca reports a duplicate on a direct order and the lookup finds it',
    config: ALPACA_ONLY,
    alpaca: { submits: [ALPACA_DUPLICATE], lookups: [found(ALPACA_ACK)] },
    row: { status: 'accepted', execution_route: 'alpaca', execution_adapter: 'alpaca', execution_note: 'adopted_existing', broker_order_id: 'alpaca-order-1' },
    calls: ['alpaca:submit:duplicate', 'alpaca:lookup:found'],
  },
  {
    name: 'Alpaca reports a duplicate on the fallback path and the lookup finds it',
    lean: { submits: [LEAN_DEFINITE] },
    alpaca: { submits: [ALPACA_DUPLICATE], lookups: [found(LEAN_ACK)] },
    row: { status: 'accepted', execution_route: 'lean', execution_adapter: 'lean', execution_note: 'late_ack', broker_order_id: 'lean-order-1', route_verified: false },
    calls: ['lean:submit:failed', 'alpaca:submit:duplicate', 'alpaca:lookup:found'],
  },
  {
    name: 'LEAN is ambiguous, nothing is found, and Alpaca reports the fallback a duplicate that the lookup finds',
    lean: { submits: [LEAN_AMBIGUOUS], lookups: [notFound] },
    alpaca: { submits: [ALPACA_DUPLICATE], lookups: [notFound, found(LEAN_ACK)] },
    row: { status: 'accepted', execution_route: 'lean', execution_adapter: 'lean', execution_note: 'late_ack', execution_fallback_count: 1, route_verified: true },
    calls: ['lean:submit:failed', 'lean:lookup:not_found', 'alpaca:lookup:not_found', 'alpaca:submit:duplicate', 'alpaca:lookup:found'],
  },
  {
    name: 'LEAN fails definitely and the fallback submit fails ambiguously but placed the order',
    lean: { submits: [LEAN_502] },
    alpaca: { submits: [ALPACA_AMBIGUOUS], lookups: [found(ALPACA_ACK)] },
    row: {
      status: 'accepted',
      execution_route: 'alpaca_fallback',
      execution_adapter: 'alpaca',
      execution_fallback_reason: 'lean_submit_http_502',
      execution_fallback_count: 1,
      broker_order_id: 'alpaca-order-1',
      route_verified: true,
      raw_payload: expect.objectContaining({ _execution_adapter: 'alpaca_fallback', _execution_fallback_reason: 'lean_submit_http_502' }),
    },
    calls: ['lean:submit:failed', 'alpaca:submit:failed', 'alpaca:lookup:found'],
  },
  {
    name: 'LEAN is ambiguous, nothing is found, and the fallback submit fails ambiguously but the lookup finds the order',
    lean: { submits: [LEAN_AMBIGUOUS], lookups: [notFound] },
    alpaca: { submits: [ALPACA_AMBIGUOUS], lookups: [notFound, found(ALPACA_ACK)] },
    row: { status: 'accepted', execution_route: 'alpaca_fallback', execution_adapter: 'alpaca', execution_fallback_count: 1, route_verified: false },
    calls: ['lean:submit:failed', 'lean:lookup:not_found', 'alpaca:lookup:not_found', 'alpaca:submit:failed', 'alpaca:lookup:found'],
  },
  {
    name: 'LEAN answers 200 with an order id but a foreign client_order_id',
    lean: { submits: [accepted(brokerOrder(ORDER, { client_order_id: 'someone-elses-id' }, 'lean-order-9'))] },
    row: { status: 'accepted', execution_route: 'lean', execution_adapter: 'lean', review_required: true, broker_order_id: 'lean-order-9', execution_fallback_count: 0 },
    calls: ['lean:submit:accepted'],
  },
  {
    name: 'LEAN answers 200 with an order id and a contract violation',
    lean: { submits: [accepted(brokerOrder(ORDER, { status: undefined, problems: ['status: missing'] }, 'lean-order-9'))] },
    row: { status: 'accepted', execution_route: 'lean', review_required: true, status_detail: expect.stringContaining('status: missing') },
    calls: ['lean:submit:accepted'],
  },
  {
    name: 'LEAN relays an order the broker acknowledged as rejected',
    lean: { submits: [accepted(brokerOrder(ORDER, { status: 'rejected' }, 'lean-order-1'))] },
    row: { status: 'rejected', execution_route: 'none', execution_adapter: 'lean', broker_order_id: 'lean-order-1', review_required: false },
    calls: ['lean:submit:accepted'],
  },
  {
    name: 'Alpaca acknowledges the order as rejected',
    config: ALPACA_ONLY,
    alpaca: { submits: [accepted(brokerOrder(ORDER, { status: 'rejected' }, 'alpaca-order-1'))] },
    row: { status: 'rejected', execution_route: 'none', execution_adapter: 'alpaca', broker_order_id: 'alpaca-order-1', status_detail: expect.stringContaining('status rejected') },
    calls: ['alpaca:submit:accepted'],
  },
  {
    name: 'Alpaca acknowledges the order as canceled',
    config: ALPACA_ONLY,
    alpaca: { submits: [accepted(brokerOrder(ORDER, { status: 'canceled' }, 'alpaca-order-1'))] },
    row: { status: 'rejected', execution_route: 'none', broker_order_id: 'alpaca-order-1' },
    calls: ['alpaca:submit:accepted'],
  },
  {
    name: 'Alpaca acknowledges another client_order_id, symbol and qty',
    config: ALPACA_ONLY,
    alpaca: { submits: [accepted(brokerOrder(ORDER, { client_order_id: 'other', symbol: 'MSFT', qty: '1000' }, 'alpaca-order-7'))] },
    row: { status: 'accepted', execution_route: 'alpaca', review_required: true, broker_order_id: 'alpaca-order-7', status_detail: expect.stringContaining('client_order_id_mismatch, symbol_mismatch, qty_mismatch') },
    calls: ['alpaca:submit:accepted'],
  },
  {
    name: 'Alpaca reports a duplicate and the lookup finds nothing',
    config: ALPACA_ONLY,
    alpaca: { submits: [ALPACA_DUPLICATE], lookups: [notFound] },
    row: { status: 'unknown', execution_route: 'none', execution_adapter: 'none' },
    calls: ['alpaca:submit:duplicate', 'alpaca:lookup:not_found'],
  },
  {
    name: 'Alpaca fails ambiguously and the lookup finds nothing',
    config: ALPACA_ONLY,
    alpaca: { submits: [ALPACA_AMBIGUOUS], lookups: [notFound] },
    row: { status: 'unknown', execution_route: 'none', execution_adapter: 'none' },
    calls: ['alpaca:submit:failed', 'alpaca:lookup:not_found'],
  },
  {
    name: 'Alpaca fails ambiguously and the lookup finds the order',
    config: ALPACA_ONLY,
    alpaca: { submits: [ALPACA_AMBIGUOUS], lookups: [found(ALPACA_ACK)] },
    row: { status: 'accepted', execution_route: 'alpaca', broker_order_id: 'alpaca-order-1', route_verified: true },
    calls: ['alpaca:submit:failed', 'alpaca:lookup:found'],
  },
  {
    name: 'every step is ambiguous (the longest path)',
    lean: { submits: [LEAN_AMBIGUOUS], lookups: [notFound] },
    alpaca: { submits: [ALPACA_AMBIGUOUS], lookups: [notFound, notFound] },
    row: { status: 'unknown', execution_route: 'none', execution_fallback_reason: 'lean_submit_timeout', execution_fallback_count: 1 },
    calls: ['lean:submit:failed', 'lean:lookup:not_found', 'alpaca:lookup:not_found', 'alpaca:submit:failed', 'alpaca:lookup:not_found'],
  },
  {
    name: 'LEAN acknowledges a different qty',
    lean: { submits: [accepted(brokerOrder(ORDER, { qty: '100' }, 'lean-order-1'))] },
    row: { status: 'accepted', execution_route: 'lean', execution_adapter: 'lean', review_required: true, broker_order_id: 'lean-order-1' },
    calls: ['lean:submit:accepted'],
  },
];

/** The scenario named `name`; a typo fails the test instead of silently testing nothing. */
function scenario(name: string): Scenario {
  const match = SCENARIOS.find((candidate) => candidate.name === name);
  if (match === undefined) throw new Error(`no scenario named ${name}`);
  return match;
}

type Setup = Pick<Scenario, 'config' | 'lean' | 'alpaca'>;

async function runScenario(scenario: Setup): Promise<{ world: FakeWorld; row: ProvenanceRow }> {
  const world = fakeWorld({
    ...(scenario.config === undefined ? {} : { config: scenario.config }),
    ...(scenario.lean === undefined ? {} : { lean: scenario.lean }),
    ...(scenario.alpaca === undefined ? {} : { alpaca: scenario.alpaca }),
  });
  return { world, row: routedRow(await route(world)) };
}

describe('routeOrder: every path of the flow', () => {
  it.each(SCENARIOS)('$name: finalizes the row with the route evidence', async (scenario) => {
    const { row } = await runScenario(scenario);

    expect(row).toMatchObject(scenario.row);
  });

  it.each(SCENARIOS)('$name: makes exactly the expected broker calls, each recorded as an attempt', async (scenario) => {
    const { world, row } = await runScenario(scenario);

    expect(attemptLog(row)).toEqual(scenario.calls);
    expect(callCounts(world)).toEqual({
      leanSubmits: scenario.calls.filter((call) => call.startsWith('lean:submit')).length,
      alpacaSubmits: scenario.calls.filter((call) => call.startsWith('alpaca:submit')).length,
      lookups: scenario.calls.filter((call) => call.includes(':lookup:')).length,
    });
  });

  it.each(SCENARIOS)('$name: persists the finalized row in the store', async (scenario) => {
    const { world, row } = await runScenario(scenario);

    expect(world.store.rows.get(ORDER.client_order_id)).toEqual(row);
  });

  it.each(SCENARIOS)('$name: counts one execution request per broker submit', async (scenario) => {
    const { world } = await runScenario(scenario);

    const submitted = world.metrics.argsOf('brokerSubmit').map(([adapter]) => adapter);
    expect(submitted).toEqual(scenario.calls.filter((call) => call.includes(':submit:')).map((call) => call.split(':')[0]));
  });
});

describe('routeOrder: the bound on broker calls', () => {
  // Brokers that would answer failure forever: anything beyond the bound would be counted, not thrown.
  const forever = <T>(outcome: T): T[] => Array.from({ length: 10 }, () => outcome);
  const hostile: [string, BrokerScript<LeanSubmitOutcome>, BrokerScript<AlpacaSubmitOutcome>][] = [
    ['ambiguous everywhere, nothing found', { submits: forever(LEAN_AMBIGUOUS), lookups: forever(notFound) }, { submits: forever(ALPACA_AMBIGUOUS), lookups: forever(notFound) }],
    ['ambiguous everywhere, lookups erroring', { submits: forever(LEAN_AMBIGUOUS), lookups: forever(lookupError) }, { submits: forever(ALPACA_AMBIGUOUS), lookups: forever(lookupError) }],
    ['definite LEAN failure, Alpaca duplicate not found', { submits: forever(LEAN_DEFINITE), lookups: forever(notFound) }, { submits: forever(ALPACA_DUPLICATE), lookups: forever(notFound) }],
    ['definite failures everywhere', { submits: forever(LEAN_DEFINITE), lookups: forever(lookupError) }, { submits: forever(ALPACA_DEFINITE), lookups: forever(lookupError) }],
    ['runner lookup erroring, Alpaca duplicate', { submits: forever(LEAN_AMBIGUOUS), lookups: forever(lookupError) }, { submits: forever(ALPACA_DUPLICATE), lookups: [notFound, lookupError, lookupError] }],
  ];

  it.each(hostile)('never exceeds one LEAN submit, one Alpaca submit and three lookups when %s', async (_case, lean, alpaca) => {
    const world = fakeWorld({ lean, alpaca });

    await route(world);

    const counts = callCounts(world);
    expect(counts.leanSubmits).toBeLessThanOrEqual(1);
    expect(counts.alpacaSubmits).toBeLessThanOrEqual(1);
    expect(counts.lookups).toBeLessThanOrEqual(3);
  });

  it('sends every broker call with the caller’s client_order_id and correlation id', async () => {
    const { world } = await runScenario(scenario('every step is ambiguous (the longest path)'));

    const submits = [...world.lean.submitCalls, ...world.alpaca.submitCalls];
    const looked = [...world.lean.lookupCalls, ...world.alpaca.lookupCalls];
    expect(submits.map((call) => call.order.client_order_id)).toEqual([ORDER.client_order_id, ORDER.client_order_id]);
    expect(looked.map((call) => call.clientOrderId)).toEqual([ORDER.client_order_id, ORDER.client_order_id, ORDER.client_order_id]);
    expect([...submits, ...looked].map((call) => call.context.correlationId)).toEqual(Array(5).fill(CORRELATION_ID));
  });
});

describe('routeOrder: claiming the row', () => {
  /** A world whose store already holds this order's row, as a first routing left it, then `patch`ed. */
  async function worldWithExistingRow(patch: Partial<ProvenanceRow>): Promise<FakeWorld> {
    const first = routedRow(await route(fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] } })));
    return fakeWorld({ store: new RecordingProvenanceStore().seed({ ...first, ...patch }) });
  }

  const EXISTING_ROWS: readonly [string, Partial<ProvenanceRow>, RouteResult['kind']][] = [
    ['a different request hash', { request_hash: 'another-order' }, 'conflict'],
    ['the same request, accepted', { status: 'accepted' }, 'replay'],
    ['the same request, rejected', { status: 'rejected' }, 'replay'],
    ['the same request, failed', { status: 'failed' }, 'replay'],
    ['the same request, unknown', { status: 'unknown' }, 'replay'],
    ['the same request, still pending', { status: 'pending' }, 'in_flight'],
  ];

  it.each(EXISTING_ROWS)('answers %s with %s and the stored row', async (_case, patch, kind) => {
    const world = await worldWithExistingRow(patch);

    const result = await route(world);

    expect(result.kind).toBe(kind);
    expect(result).toHaveProperty('row', world.store.rows.get(ORDER.client_order_id));
  });

  it.each(EXISTING_ROWS)('calls no broker and writes nothing when the row exists with %s', async (_case, patch) => {
    const world = await worldWithExistingRow(patch);

    await route(world);

    expect(callCounts(world)).toEqual({ leanSubmits: 0, alpacaSubmits: 0, lookups: 0 });
    expect(world.store.finalizations).toEqual([]);
  });

  it('treats a re-spelled but equivalent body as the same request', async () => {
    const world = await worldWithExistingRow({});

    const result = await route(world, order({ symbol: ' aapl ', qty: '010.0' }));

    expect(result.kind).toBe('replay');
  });

  it('claims a pending row holding the request hash, expected adapter and correlation id', async () => {
    const world = fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] } });

    await route(world);

    expect(world.store.claims).toHaveLength(1);
    expect(world.store.claims[0]).toMatchObject({
      client_order_id: ORDER.client_order_id,
      status: 'pending',
      execution_expected_adapter: 'lean',
      correlation_id: CORRELATION_ID,
      execution_attempts: [],
    });
    expect(world.store.claims[0]?.request_hash).toMatch(/^[0-9a-f]{64}$/);
  });

  describe('when the store cannot be reached', () => {
    async function unreachable() {
      const world = fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] }, alpaca: { submits: [ALPACA_ACCEPTED] } });
      world.store.failOn('claim');
      return { world, result: await route(world) };
    }

    it('answers provenance_unavailable', async () => {
      const { result } = await unreachable();

      expect(result.kind).toBe('provenance_unavailable');
    });

    it('calls no broker', async () => {
      const { world } = await unreachable();

      expect(callCounts(world)).toEqual({ leanSubmits: 0, alpacaSubmits: 0, lookups: 0 });
    });

    it('counts a provenance write failure', async () => {
      const { world } = await unreachable();

      expect(world.metrics.count('provenanceWriteFailure')).toBe(1);
    });
  });
});

describe('routeOrder: fallback evidence', () => {
  const definiteFallback = () => runScenario({ lean: { submits: [LEAN_DEFINITE] }, alpaca: { submits: [ALPACA_ACCEPTED] } });

  it('marks the raw payload as alpaca_fallback with the fallback reason', async () => {
    const { row } = await definiteFallback();

    expect(row.raw_payload).toEqual({ ...ALPACA_ACK.raw, _execution_adapter: 'alpaca_fallback', _execution_fallback_reason: 'lean_submit_network_error' });
  });

  it('counts one fallback with its reason', async () => {
    const { world } = await definiteFallback();

    expect(world.metrics.argsOf('fallback')).toEqual([['lean_submit_network_error']]);
  });

  it('counts the fallback with the timeout reason after an ambiguous failure found nowhere', async () => {
    const { world } = await runScenario(scenario('LEAN is ambiguous and both lookups find nothing'));

    expect(world.metrics.argsOf('fallback')).toEqual([['lean_submit_timeout']]);
  });

  it('marks the raw payload of a LEAN order as lean', async () => {
    const { row } = await runScenario(scenario('LEAN accepts'));

    expect(row.raw_payload).toEqual({ ...LEAN_ACK.raw, _execution_adapter: 'lean' });
  });

  it.each(SCENARIOS)('$name: counts a fallback exactly when LEAN failed and Alpaca was tried', async (scenario) => {
    const { world } = await runScenario(scenario);

    const fellBack = scenario.calls.includes('lean:submit:failed') && scenario.calls.some((call) => call.startsWith('alpaca:submit'));
    expect(world.metrics.count('fallback')).toBe(fellBack ? 1 : 0);
  });
});

describe('routeOrder: unknown outcomes', () => {
  const unknownScenarios = SCENARIOS.filter((scenario) => scenario.row.status === 'unknown');

  it.each(unknownScenarios)('$name: counts one unknown outcome', async (scenario) => {
    const { world } = await runScenario(scenario);

    expect(world.metrics.count('outcomeUnknown')).toBe(1);
  });

  it.each(SCENARIOS.filter((scenario) => scenario.row.status !== 'unknown'))('$name: counts no unknown outcome', async (scenario) => {
    const { world } = await runScenario(scenario);

    expect(world.metrics.count('outcomeUnknown')).toBe(0);
  });
});

describe('routeOrder: a LEAN acknowledgement that differs from the order', () => {
  const mismatch = () => runScenario(scenario('LEAN acknowledges a different qty'));

  it('counts a LEAN ack mismatch', async () => {
    const { world } = await mismatch();

    expect(world.metrics.count('leanAckMismatch')).toBe(1);
  });

  it('says what differs in the status detail', async () => {
    const { row } = await mismatch();

    expect(row.status_detail).toContain('qty_mismatch');
  });

  it('flags review on a late ack that differs too', async () => {
    const { row } = await runScenario({ lean: { submits: [LEAN_AMBIGUOUS], lookups: [found(brokerOrder(ORDER, { side: 'sell' }))] } });

    expect(row).toMatchObject({ execution_route: 'lean', execution_note: 'late_ack', review_required: true });
  });

  it.each(SCENARIOS.filter((scenario) => scenario.row.review_required !== true))('$name: does not flag review', async (scenario) => {
    const { row } = await runScenario(scenario);

    expect(row.review_required).toBe(false);
  });
});

describe('routeOrder: attempts', () => {
  it('records adapter, operation, outcome, reason, certainty, status, latency and start time of a failed LEAN submit', async () => {
    const { world, row } = await runScenario({ lean: { submits: [leanFailure('lean_submit_http_400', 'definite', 400)] },
      alpaca: { submits: [ALPACA_ACCEPTED] } });

    expect(row.execution_attempts[0]).toEqual({
      adapter: 'lean',
      operation: 'submit',
      outcome: 'failed',
      reason: 'lean_submit_http_400',
      certainty: 'definite',
      http_status: 400,
      latency_ms: 7,
      started_at: world.clock.iso,
    });
  });
});

describe('routeOrder: when the final write fails', () => {
  async function finalizeFails() {
    const world = fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] } });
    world.store.failOn('finalize');
    return { world, result: await route(world) };
  }

  it('still answers the broker outcome, marked as not persisted', async () => {
    const { result } = await finalizeFails();

    expect(result).toMatchObject({ kind: 'routed', persisted: false, row: { status: 'accepted', execution_route: 'lean', broker_order_id: 'lean-order-1' } });
  });

  it('counts a provenance write failure', async () => {
    const { world } = await finalizeFails();

    expect(world.metrics.count('provenanceWriteFailure')).toBe(1);
  });

  it('logs the outcome in full so reconciliation has the evidence', async () => {
    const { world } = await finalizeFails();

    const [line] = world.logger.withMessage('provenance_finalize_failed');
    expect(line?.fields).toMatchObject({ client_order_id: ORDER.client_order_id, outcome: { status: 'accepted', broker_order_id: 'lean-order-1' } });
  });

  it('does not submit anywhere else', async () => {
    const { world } = await finalizeFails();

    expect(callCounts(world)).toEqual({ leanSubmits: 1, alpacaSubmits: 0, lookups: 0 });
  });
});

describe('routeOrder: the route_attribution log line', () => {
  it.each(SCENARIOS)('$name: writes exactly one', async (scenario) => {
    const { world } = await runScenario(scenario);

    expect(world.logger.withMessage('route_attribution')).toHaveLength(1);
  });

  it('says expected, actual, fallback reason and attempts of a fallback', async () => {
    const { world, row } = await runScenario(scenario('LEAN fails definitely and Alpaca accepts'));

    const [line] = world.logger.withMessage('route_attribution');
    expect(line?.fields).toMatchObject({
      client_order_id: ORDER.client_order_id,
      correlation_id: CORRELATION_ID,
      expected: 'lean',
      actual: 'alpaca_fallback',
      fallback_reason: 'lean_submit_network_error',
      attempts: row.execution_attempts,
    });
  });

  it('says fallback reason none when there was no fallback', async () => {
    const { world } = await runScenario(scenario('LEAN accepts'));

    const [line] = world.logger.withMessage('route_attribution');
    expect(line?.fields).toMatchObject({ expected: 'lean', actual: 'lean', fallback_reason: 'none' });
  });
});

describe('routeOrder: a misconfigured router', () => {
  const misconfigured = loadRouterConfig({ TRADING_EXECUTION_ADAPTER: 'lean', TRADING_EXECUTION_ADAPTER_POLICY: 'all' });
  const run = () =>
    runScenario({ config: misconfigured, lean: { submits: [accepted(LEAN_ACK)] }, alpaca: { submits: [ALPACA_ACCEPTED] } });

  it('routes to Alpaca with the reason policy_misconfigured', async () => {
    const { row } = await run();

    expect(row).toMatchObject({ status: 'accepted', execution_expected_adapter: 'alpaca', execution_route: 'alpaca', execution_route_reason: 'policy_misconfigured' });
  });

  it('never calls LEAN', async () => {
    const { world } = await run();

    expect(world.lean.submitCalls).toEqual([]);
  });

  it('counts a policy misconfiguration', async () => {
    const { world } = await run();

    expect(world.metrics.count('policyMisconfigured')).toBe(1);
  });

  it('records why in the row', async () => {
    const { row } = await run();

    expect(row.policy_snapshot.misconfiguration).toEqual(misconfigured.misconfiguration);
    expect(row.policy_snapshot.misconfiguration.join(' ')).toContain('TRADING_LEAN_RUNNER_URL');
  });

  it.each([
    ['a misconfigured', misconfigured],
    ['an otherwise sound', routerConfig()],
  ])('routes %s router to Alpaca as policy_misconfigured when no LEAN runner is wired at all', async (_case, config) => {
    const world = fakeWorld({ config, lean: null, alpaca: { submits: [ALPACA_ACCEPTED] } });

    const row = routedRow(await route(world));

    expect(row).toMatchObject({ execution_route: 'alpaca', execution_route_reason: 'policy_misconfigured' });
  });

  it('says in the row that no LEAN runner client is wired', async () => {
    const world = fakeWorld({ config: routerConfig(), lean: null, alpaca: { submits: [ALPACA_ACCEPTED] } });

    const row = routedRow(await route(world));

    expect(row.policy_snapshot.misconfiguration).toEqual(['no LEAN runner client']);
  });
});

describe('routeOrder: the claim when no time is left', () => {
  const claimless = async () => {
    const world = fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] } });
    const reserve = world.deps.config.budget.finalizeReserveMs;
    return { world, result: await routeOrder(world.deps, ORDER, { correlationId: CORRELATION_ID, remainingMs: reserve }) };
  };

  it('answers provenance_unavailable, saying no time was left to write the row', async () => {
    const { result } = await claimless();

    expect(result).toEqual({ kind: 'provenance_unavailable', detail: 'Error: no time was left to write the row' });
  });

  it('does not try the claim', async () => {
    const { world } = await claimless();

    expect(world.store.claims).toEqual([]);
    expect(callCounts(world)).toEqual({ leanSubmits: 0, alpacaSubmits: 0, lookups: 0 });
  });
});

describe('routeOrder: a claim the store refuses', () => {
  const refused = async () => {
    const world = fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] } });
    world.store.failOn('claim');
    return { world, result: await route(world) };
  };

  it('answers the store’s error as the detail', async () => {
    const { result } = await refused();

    expect(result).toEqual({ kind: 'provenance_unavailable', detail: 'ProvenanceUnavailableError: provenance table unreachable (claim)' });
  });

  it('logs provenance_claim_failed with the order and the error', async () => {
    const { world } = await refused();

    expect(world.logger.withMessage('provenance_claim_failed')).toEqual([
      {
        level: 'error',
        message: 'provenance_claim_failed',
        fields: { client_order_id: ORDER.client_order_id, error: 'ProvenanceUnavailableError: provenance table unreachable (claim)' },
      },
    ]);
  });
});

describe('routeOrder: the pending row it claims', () => {
  it('is pending under its claim token, with the policy reason, no fallback, no attempts and no review', async () => {
    const world = fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] } });

    await routeOrder({ ...world.deps, claimToken: () => 'token-7' }, ORDER, { correlationId: CORRELATION_ID });

    expect(world.store.claims).toEqual([
      {
        ...ORDER,
        status: 'pending',
        request_hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        claim_token: 'token-7',
        execution_expected_adapter: 'lean',
        execution_route_reason: 'policy_all',
        execution_fallback_count: 0,
        execution_attempts: [],
        policy_snapshot: expect.objectContaining({ gates: [] }),
        correlation_id: CORRELATION_ID,
        review_required: false,
        created_at: world.clock.iso,
        updated_at: world.clock.iso,
      },
    ]);
  });
});

describe('routeOrder: a clean acknowledgement', () => {
  it.each([
    'LEAN accepts',
    'the symbol is not allowlisted',
    'LEAN fails definitely and Alpaca accepts',
    'LEAN is ambiguous and the runner finds the order',
  ])('%s: leaves status_detail absent', async (name) => {
    const { row } = await runScenario(scenario(name));

    expect(row).not.toHaveProperty('status_detail');
  });
});

describe('routeOrder: a final write that conflicts with another writer', () => {
  it('logs the failed finalize as a conflict, with the conflict error', async () => {
    const world = fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] } });
    const lean: LeanRunner = {
      submit: async (request, context) => {
        const claimed = world.store.rows.get(ORDER.client_order_id);
        if (claimed !== undefined) world.store.seed({ ...claimed, status: 'unknown', claim_token: 'reconciliation' });
        return world.lean.submit(request, context);
      },
      findByClientOrderId: (id, context) => world.lean.findByClientOrderId(id, context),
    };

    const result = await routeOrder({ ...world.deps, lean }, ORDER, { correlationId: CORRELATION_ID });

    expect(result).toMatchObject({ kind: 'routed', persisted: false });
    expect(world.logger.withMessage('provenance_finalize_failed').map((line) => line.fields)).toEqual([
      expect.objectContaining({ conflict: true, error: expect.stringMatching(/^ProvenanceConflictError: /) }),
    ]);
  });

  it('logs a store that cannot be reached as no conflict', async () => {
    const world = fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] } });
    world.store.failOn('finalize');

    await route(world);

    expect(world.logger.withMessage('provenance_finalize_failed').map((line) => line.fields)).toEqual([
      expect.objectContaining({ conflict: false, error: 'ProvenanceUnavailableError: provenance table unreachable (finalize)' }),
    ]);
  });
});

describe('routeOrder: the route_attribution log line, field by field', () => {
  it('says everything the row says about a late LEAN acknowledgement', async () => {
    const { world, row } = await runScenario(scenario('LEAN is ambiguous and the runner finds the order'));

    const [line] = world.logger.withMessage('route_attribution');
    expect(line).toEqual({
      level: 'info',
      message: 'route_attribution',
      fields: {
        client_order_id: ORDER.client_order_id,
        correlation_id: CORRELATION_ID,
        symbol: 'AAPL',
        status: 'accepted',
        expected: 'lean',
        actual: 'lean',
        adapter: 'lean',
        reason: 'policy_all',
        gates: [],
        fallback_reason: 'none',
        note: 'late_ack',
        route_verified: true,
        review_required: false,
        attempts: row.execution_attempts,
        persisted: true,
        latency_ms: expect.any(Number),
      },
    });
  });

  it('says a null note when the row has none', async () => {
    const { world } = await runScenario(scenario('LEAN accepts'));

    const [line] = world.logger.withMessage('route_attribution');
    expect(line?.fields.note).toBeNull();
  });

  it('says route_verified false when the route is not verified', async () => {
    const { world } = await runScenario(scenario('Alpaca reports a duplicate on the fallback path and the lookup finds it'));

    const [line] = world.logger.withMessage('route_attribution');
    expect(line?.fields.route_verified).toBe(false);
  });
});

describe('routeOrder: the log of a misconfigured router', () => {
  it('warns policy_misconfigured with the order and every problem', async () => {
    const misconfigured = loadRouterConfig({ TRADING_EXECUTION_ADAPTER: 'lean', TRADING_EXECUTION_ADAPTER_POLICY: 'all' });
    const { world } = await runScenario({ config: misconfigured, alpaca: { submits: [ALPACA_ACCEPTED] } });

    expect(world.logger.withMessage('policy_misconfigured')).toEqual([
      { level: 'warn', message: 'policy_misconfigured', fields: { client_order_id: ORDER.client_order_id, problems: misconfigured.misconfiguration } },
    ]);
  });

  it('finds nothing misconfigured in an Alpaca router without a LEAN runner client', async () => {
    const world = fakeWorld({ config: ALPACA_ONLY, lean: null, alpaca: { submits: [ALPACA_ACCEPTED] } });

    const row = routedRow(await route(world));

    expect(row).toMatchObject({ execution_route: 'alpaca', execution_route_reason: 'adapter_alpaca' });
    expect(row.policy_snapshot.misconfiguration).toEqual([]);
    expect(world.metrics.count('policyMisconfigured')).toBe(0);
  });
});

describe('routeOrder on the system clock', () => {
  const onSystemClock = async () => {
    const world = fakeWorld({ lean: { submits: [accepted(LEAN_ACK)] } });
    const before = Date.now();
    const row = routedRow(await routeOrder({ ...world.deps, clock: systemClock }, ORDER, { correlationId: CORRELATION_ID }));
    return { world, row, before, after: Date.now() };
  };

  it('stamps the row with the current time', async () => {
    const { row, before, after } = await onSystemClock();

    expect(Date.parse(row.created_at)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(row.created_at)).toBeLessThanOrEqual(after);
  });

  it('gives the claim its own timeout and logs a measured latency', async () => {
    const { world } = await onSystemClock();

    const [line] = world.logger.withMessage('route_attribution');
    expect(world.store.claimTimeouts).toEqual([world.deps.config.timeouts.dynamoDbMs]);
    expect(line?.fields.latency_ms).toBeGreaterThanOrEqual(0);
  });
});
