import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbProvenanceIndex } from '../../functions/adapters/dynamodb-provenance-index';
import { DynamoDbProvenanceStore } from '../../functions/adapters/dynamodb-provenance-store';
import { PROVENANCE_INDEXES } from '../../functions/adapters/provenance-table';
import {
  ProvenanceConflictError,
  ProvenanceUnavailableError,
  type BrokerState,
  type CancelClaim,
  type CancelRecord,
  type ClaimRef,
  type FallbackIntent,
  type ProvenanceRow,
  type RouteDivergence,
  type RowOutcome,
} from '../../functions/core/provenance';
import { pendingRow as claimedRow } from '../support/fakes';
import { ensureProvenanceTable, startLocalDynamoDb, type LocalDynamoDb } from '../../lib/local/dynamodb-local';

const TABLE = 'provenance-store-test';
const TIMEOUT_MS = 5_000;
const INTENT: FallbackIntent = { reason: 'lean_submit_http_502', lean_failure: 'definite', recorded_at: '2026-11-25T10:00:01.000Z' };
let dynamo: LocalDynamoDb;
let store: DynamoDbProvenanceStore;
let client: ReturnType<LocalDynamoDb['client']>;

beforeAll(async () => {
  dynamo = await startLocalDynamoDb();
  client = dynamo.client();
  await ensureProvenanceTable(client, TABLE);
  store = new DynamoDbProvenanceStore(client, TABLE);
});
afterAll(async () => {
  client.destroy();
  await dynamo.close();
});

let counter = 0;
/** A fresh client_order_id for each row, so tests on one table never collide. */
function pendingRow(overrides: Partial<ProvenanceRow> = {}): ProvenanceRow {
  counter += 1;
  return claimedRow({ client_order_id: `store-${counter}`, claim_token: `token-${counter}`, correlation_id: 'corr-1', created_at: '2026-11-25T10:00:00.000Z', ...overrides });
}

/** The claim a row was written with. */
function claimOf(row: ProvenanceRow): ClaimRef {
  return { clientOrderId: row.client_order_id, claimToken: row.claim_token ?? '' };
}

const accepted: RowOutcome = {
  status: 'accepted',
  execution_adapter: 'lean',
  execution_route: 'lean',
  execution_route_reason: 'policy_all',
  execution_fallback_count: 0,
  execution_attempts: [{ adapter: 'lean', operation: 'submit', outcome: 'accepted', http_status: 200, latency_ms: 5, started_at: '2026-11-25T10:00:00.000Z' }],
  broker_order_id: 'b-1',
  raw_payload: { id: 'b-1', _execution_adapter: 'lean' },
  review_required: false,
};

describe('DynamoDbProvenanceStore on dynalite', () => {
  it('creates the table with every index of the shared definition', async () => {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: TABLE }));

    expect(Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(PROVENANCE_INDEXES.map((index) => index.name).sort());
  });

  it('claims a new client_order_id', async () => {
    expect(await store.claim(pendingRow(), TIMEOUT_MS)).toEqual({ kind: 'claimed' });
  });

  it('returns the existing row when another request claimed the client_order_id first', async () => {
    const first = pendingRow();
    await store.claim(first, TIMEOUT_MS);

    const second = await store.claim({ ...first, claim_token: 'another-invocation', correlation_id: 'corr-2' }, TIMEOUT_MS);

    expect(second).toMatchObject({ kind: 'exists', row: { client_order_id: first.client_order_id, correlation_id: 'corr-1' } });
  });

  it('treats its own pending row, as left by a retried put, as claimed', async () => {
    const row = pendingRow();
    await store.claim(row, TIMEOUT_MS);

    expect(await store.claim(row, TIMEOUT_MS)).toEqual({ kind: 'claimed' });
  });

  it('does not take another invocation’s claim made with the same request, correlation id and time', async () => {
    const row = pendingRow();
    await store.claim(row, TIMEOUT_MS);

    expect(await store.claim({ ...row, claim_token: 'another-invocation' }, TIMEOUT_MS)).toMatchObject({ kind: 'exists' });
  });

  it('finalizes a pending row into exactly the pending row, the outcome and updated_at, plus the open-order keys', async () => {
    const row = pendingRow();
    await store.claim(row, TIMEOUT_MS);

    await store.finalize(claimOf(row), accepted, '2026-11-25T10:00:02.000Z', TIMEOUT_MS);

    // The route builds its answer from these three instead of reading the row back.
    expect(await store.get(row.client_order_id)).toEqual({
      ...row,
      ...accepted,
      updated_at: '2026-11-25T10:00:02.000Z',
      open_since: row.created_at,
      open_partition: 'open',
    });
  });

  it('refuses to finalize a row that is no longer pending', async () => {
    const row = pendingRow();
    await store.claim(row, TIMEOUT_MS);
    await store.finalize(claimOf(row), accepted, '2026-11-25T10:00:02.000Z', TIMEOUT_MS);

    await expect(store.finalize(claimOf(row), { ...accepted, status: 'failed' }, '2026-11-25T10:00:03.000Z', TIMEOUT_MS)).rejects.toBeInstanceOf(ProvenanceConflictError);
  });

  it('refuses to finalize a pending row under another claim token', async () => {
    const row = pendingRow();
    await store.claim(row, TIMEOUT_MS);

    await expect(store.finalize({ ...claimOf(row), claimToken: 'not-mine' }, accepted, '2026-11-25T10:00:02.000Z', TIMEOUT_MS)).rejects.toBeInstanceOf(ProvenanceConflictError);
    expect((await store.get(row.client_order_id))?.status).toBe('pending');
  });

  it('records the fallback intent and the attempts so far on the pending row', async () => {
    const row = pendingRow();
    await store.claim(row, TIMEOUT_MS);

    await store.recordFallbackIntent(claimOf(row), INTENT, accepted.execution_attempts, TIMEOUT_MS);

    expect(await store.get(row.client_order_id)).toMatchObject({ status: 'pending', execution_fallback_intent: INTENT, execution_attempts: accepted.execution_attempts });
  });

  it('refuses the fallback intent of a row that is no longer pending', async () => {
    const row = pendingRow();
    await store.claim(row, TIMEOUT_MS);
    await store.finalize(claimOf(row), accepted, '2026-11-25T10:00:02.000Z', TIMEOUT_MS);

    await expect(store.recordFallbackIntent(claimOf(row), INTENT, [], TIMEOUT_MS)).rejects.toBeInstanceOf(ProvenanceConflictError);
  });

  it('refuses the fallback intent under another claim token', async () => {
    const row = pendingRow();
    await store.claim(row, TIMEOUT_MS);

    await expect(store.recordFallbackIntent({ ...claimOf(row), claimToken: 'not-mine' }, INTENT, [], TIMEOUT_MS)).rejects.toBeInstanceOf(ProvenanceConflictError);
  });

  it('gives up on a write once its timeout passes, as unavailable', async () => {
    const row = pendingRow();

    await expect(store.claim(row, 0)).rejects.toBeInstanceOf(ProvenanceUnavailableError);
  });

  it('returns undefined for a client_order_id it has never seen', async () => {
    expect(await store.get('never-seen')).toBeUndefined();
  });
});

describe('DynamoDbProvenanceIndex.listUnresolved on dynalite', () => {
  const UNRESOLVED_TABLE = 'provenance-unresolved-test';
  let index: DynamoDbProvenanceIndex;

  beforeAll(async () => {
    await ensureProvenanceTable(client, UNRESOLVED_TABLE);
    const unresolvedStore = new DynamoDbProvenanceStore(client, UNRESOLVED_TABLE);
    index = new DynamoDbProvenanceIndex(client, UNRESOLVED_TABLE, unresolvedStore);
    const rows = [
      pendingRow({ client_order_id: 'pending-late', created_at: '2026-11-25T10:03:00.000Z' }),
      pendingRow({ client_order_id: 'unknown-early', status: 'unknown', created_at: '2026-11-25T10:01:00.000Z' }),
      pendingRow({ client_order_id: 'pending-early', created_at: '2026-11-25T10:02:00.000Z' }),
      pendingRow({ client_order_id: 'unknown-too-recent', status: 'unknown', created_at: '2026-11-25T10:09:00.000Z' }),
    ];
    for (const row of rows) await unresolvedStore.claim(row, TIMEOUT_MS);
  });

  it('lists pending and unknown rows created before the cut-off, oldest first across both statuses', async () => {
    const rows = await index.listUnresolved('2026-11-25T10:05:00.000Z', 10);

    expect(rows.map((row) => row.client_order_id)).toEqual(['unknown-early', 'pending-early', 'pending-late']);
  });

  it('returns at most the limit, keeping the oldest', async () => {
    const rows = await index.listUnresolved('2026-11-25T10:05:00.000Z', 2);

    expect(rows.map((row) => row.client_order_id)).toEqual(['unknown-early', 'pending-early']);
  });
});

describe('DynamoDbProvenanceStore open orders on dynalite', () => {
  const FINALIZED_AT = '2026-11-25T10:00:02.000Z';
  let openStore: DynamoDbProvenanceStore;
  let tables = 0;

  // The open-order index spans the whole table: each test gets a table of its own.
  beforeEach(async () => {
    tables += 1;
    const table = `provenance-open-orders-test-${tables}`;
    await ensureProvenanceTable(client, table);
    openStore = new DynamoDbProvenanceStore(client, table);
  });

  /** Claims a row created at `createdAt` and finalizes it with `outcome`. */
  async function finalizedRow(clientOrderId: string, createdAt: string, outcome: RowOutcome = accepted): Promise<void> {
    const row = pendingRow({ client_order_id: clientOrderId, created_at: createdAt });
    await openStore.claim(row, TIMEOUT_MS);
    await openStore.finalize(claimOf(row), outcome, FINALIZED_AT, TIMEOUT_MS);
  }

  /** The `client_order_id`s the open-order listing returns, in its order. */
  async function openIds(limit = 10): Promise<string[]> {
    return (await openStore.listOpenOrders(limit)).map((order) => order.client_order_id);
  }

  /** The broker's state at `updatedAt`, open unless the status is final. */
  function brokerState(status: string, filledQty: string, updatedAt: string, fill: Partial<BrokerState> = {}): BrokerState {
    return { broker_status: status, filled_qty: filledQty, broker_updated_at: updatedAt, open: !['filled', 'canceled'].includes(status), ...fill };
  }

  it('lists an order finalized as accepted, open since the row was created, with only the projected fields', async () => {
    await finalizedRow('acc-1', '2026-11-25T10:00:00.000Z');

    const [order, ...others] = await openStore.listOpenOrders(10);

    expect(others).toEqual([]);
    expect(order).toEqual({
      client_order_id: 'acc-1',
      open_partition: 'open',
      open_since: '2026-11-25T10:00:00.000Z',
      broker_order_id: 'b-1',
      execution_adapter: 'lean',
      execution_route: 'lean',
      execution_expected_adapter: 'lean',
    });
  });

  it('does not list rejected or failed orders', async () => {
    await finalizedRow('rejected-1', '2026-11-25T10:00:00.000Z', { ...accepted, status: 'rejected', broker_order_id: undefined, execution_route: 'alpaca', status_detail: 'insufficient buying power' });
    await finalizedRow('failed-1', '2026-11-25T10:00:01.000Z', { ...accepted, status: 'failed', broker_order_id: undefined, execution_adapter: 'none', execution_route: 'none' });

    expect(await openIds()).toEqual([]);
  });

  it('lists an unknown order once reconciliation resolves it as accepted', async () => {
    const row = pendingRow({ client_order_id: 'unknown-1', status: 'unknown', created_at: '2026-11-25T10:00:00.000Z' });
    await openStore.claim(row, TIMEOUT_MS);

    await openStore.resolve('unknown-1', { ...accepted, broker_order_id: 'alpaca-b-1' }, FINALIZED_AT);

    expect(await openIds()).toEqual(['unknown-1']);
  });

  it('lists open orders oldest first, whatever order they were finalized in', async () => {
    await finalizedRow('middle', '2026-11-25T10:02:00.000Z');
    await finalizedRow('newest', '2026-11-25T10:03:00.000Z');
    await finalizedRow('oldest', '2026-11-25T10:01:00.000Z');

    expect(await openIds()).toEqual(['oldest', 'middle', 'newest']);
  });

  it('returns at most the limit, keeping the oldest', async () => {
    for (const minute of [4, 1, 3, 2]) await finalizedRow(`at-${minute}`, `2026-11-25T10:0${minute}:00.000Z`);

    expect(await openIds(3)).toEqual(['at-1', 'at-2', 'at-3']);
  });

  it('records a partial fill and keeps the order open, then the fill, which takes it out of the open orders', async () => {
    await finalizedRow('fill-1', '2026-11-25T10:00:00.000Z');

    const partial = await openStore.recordBrokerState('fill-1', brokerState('partially_filled', '4', '2026-11-25T10:00:05.000000000Z', { filled_avg_price: '187.1' }), undefined, '2026-11-25T10:01:00.000Z');
    const listedWhilePartial = await openStore.listOpenOrders(10);
    const filled = await openStore.recordBrokerState(
      'fill-1',
      brokerState('filled', '10', '2026-11-25T10:00:09.123456000Z', { filled_avg_price: '187.15', filled_at: '2026-11-25T10:00:09.123456Z' }),
      undefined,
      '2026-11-25T10:02:00.000Z',
    );

    expect([partial, filled]).toEqual(['recorded', 'recorded']);
    expect(listedWhilePartial).toMatchObject([{ client_order_id: 'fill-1', broker_status: 'partially_filled', filled_qty: '4', filled_avg_price: '187.1' }]);
    expect(await openIds()).toEqual([]);
    const row = await openStore.get('fill-1');
    expect(row).toMatchObject({ status: 'accepted', broker_status: 'filled', filled_qty: '10', filled_avg_price: '187.15', filled_at: '2026-11-25T10:00:09.123456Z', broker_updated_at: '2026-11-25T10:00:09.123456000Z', updated_at: '2026-11-25T10:02:00.000Z' });
    expect(row).not.toHaveProperty('open_since');
    expect(row).not.toHaveProperty('open_partition');
  });

  it("moves an open order's open_since to the broker's own submission time, and lists it by that", async () => {
    await finalizedRow('resting-1', '2026-11-25T10:00:00.000Z');
    await finalizedRow('later-1', '2026-11-25T10:00:00.500Z');

    await openStore.recordBrokerState('resting-1', { ...brokerState('new', '0', '2026-11-25T10:00:02.000000000Z'), submitted_at: '2026-11-25T10:00:01.250Z' }, undefined, '2026-11-25T10:01:00.000Z');

    expect(await openStore.get('resting-1')).toMatchObject({ open_since: '2026-11-25T10:00:01.250Z', open_partition: 'open' });
    expect(await openIds()).toEqual(['later-1', 'resting-1']);
  });

  it('answers stale and keeps the newer state when an older one arrives after it', async () => {
    await finalizedRow('order-1', '2026-11-25T10:00:00.000Z');
    await openStore.recordBrokerState('order-1', brokerState('partially_filled', '6', '2026-11-25T10:00:07.000000000Z'), undefined, '2026-11-25T10:01:00.000Z');

    const older = await openStore.recordBrokerState('order-1', brokerState('partially_filled', '2', '2026-11-25T10:00:03.999999999Z'), undefined, '2026-11-25T10:02:00.000Z');

    expect(older).toBe('stale');
    expect(await openStore.get('order-1')).toMatchObject({ filled_qty: '6', broker_updated_at: '2026-11-25T10:00:07.000000000Z', updated_at: '2026-11-25T10:01:00.000Z' });
  });

  it('answers stale to the same state recorded twice', async () => {
    await finalizedRow('twice-1', '2026-11-25T10:00:00.000Z');
    const state = brokerState('new', '0', '2026-11-25T10:00:01.000000000Z');
    await openStore.recordBrokerState('twice-1', state, undefined, '2026-11-25T10:01:00.000Z');

    expect(await openStore.recordBrokerState('twice-1', state, undefined, '2026-11-25T10:02:00.000Z')).toBe('stale');
  });

  it('keeps the first divergence found and never rewrites it', async () => {
    await finalizedRow('divergent-1', '2026-11-25T10:00:00.000Z');
    const first: RouteDivergence = { lean_order_id: 'b-1', alpaca_order_id: 'alpaca-x', detected_at: '2026-11-25T10:01:00.000Z' };
    const later: RouteDivergence = { lean_order_id: 'b-1', alpaca_order_id: 'alpaca-y', detected_at: '2026-11-25T10:02:00.000Z' };

    await openStore.recordBrokerState('divergent-1', brokerState('new', '0', '2026-11-25T10:00:01.000000000Z'), first, '2026-11-25T10:01:00.000Z');
    await openStore.recordBrokerState('divergent-1', brokerState('partially_filled', '1', '2026-11-25T10:00:02.000000000Z'), later, '2026-11-25T10:02:00.000Z');

    expect(await openStore.get('divergent-1')).toMatchObject({ broker_status: 'partially_filled', route_divergence: first });
  });

  it('answers stale for an order it has no row of, and creates none', async () => {
    expect(await openStore.recordBrokerState('never-seen', brokerState('filled', '1', '2026-11-25T10:00:01.000000000Z'), undefined, '2026-11-25T10:01:00.000Z')).toBe('stale');
    expect(await openStore.get('never-seen')).toBeUndefined();
  });

  it('refuses a broker update time that does not sort as the instant it names', async () => {
    await finalizedRow('format-1', '2026-11-25T10:00:00.000Z');

    await expect(openStore.recordBrokerState('format-1', brokerState('new', '0', '2026-11-25T10:00:01Z'), undefined, '2026-11-25T10:01:00.000Z')).rejects.toBeInstanceOf(RangeError);
  });
});

describe('DynamoDbProvenanceStore cancel claims on dynalite', () => {
  const CANCEL_RECORD: CancelRecord = { cancel_route: 'lean', cancel_route_reason: 'placed_by_lean', attempts: [] };

  /** An accepted row, ready to be canceled. */
  async function acceptedRow(): Promise<string> {
    const row = pendingRow();
    await store.claim(row, TIMEOUT_MS);
    await store.finalize(claimOf(row), accepted, '2026-11-25T10:00:02.000Z', TIMEOUT_MS);
    return row.client_order_id;
  }

  /** A cancel's claim taken at `at` with `token`, stale before a minute earlier. */
  function claimAt(at: string, token: string): CancelClaim {
    return { requestedAt: at, inFlight: `${at} ${token}`, staleBefore: new Date(Date.parse(at) - 60_000).toISOString() };
  }

  it('claims the cancel: cancel_requested_at and cancel_in_flight on the row', async () => {
    const id = await acceptedRow();

    const row = await store.recordCancelRequest(id, claimAt('2026-11-25T10:01:00.000Z', 'first'), TIMEOUT_MS);

    expect({ requested: row.cancel_requested_at, inFlight: row.cancel_in_flight }).toEqual({ requested: '2026-11-25T10:01:00.000Z', inFlight: '2026-11-25T10:01:00.000Z first' });
  });

  it('refuses a second cancel while the first holds the row', async () => {
    const id = await acceptedRow();
    await store.recordCancelRequest(id, claimAt('2026-11-25T10:01:00.000Z', 'first'), TIMEOUT_MS);

    await expect(store.recordCancelRequest(id, claimAt('2026-11-25T10:01:00.500Z', 'second'), TIMEOUT_MS)).rejects.toBeInstanceOf(ProvenanceConflictError);
  });

  it('lets the same claim through again, as an SDK retry of a write that landed', async () => {
    const id = await acceptedRow();
    const claim = claimAt('2026-11-25T10:01:00.000Z', 'first');
    await store.recordCancelRequest(id, claim, TIMEOUT_MS);

    const again = await store.recordCancelRequest(id, claim, TIMEOUT_MS);

    expect(again.cancel_in_flight).toBe('2026-11-25T10:01:00.000Z first');
  });

  it('takes over a claim that started before the stale cut-off, keeping the first request time', async () => {
    const id = await acceptedRow();
    await store.recordCancelRequest(id, claimAt('2026-11-25T10:01:00.000Z', 'dead'), TIMEOUT_MS);

    const row = await store.recordCancelRequest(id, claimAt('2026-11-25T10:05:00.000Z', 'next'), TIMEOUT_MS);

    expect({ requested: row.cancel_requested_at, inFlight: row.cancel_in_flight }).toEqual({ requested: '2026-11-25T10:01:00.000Z', inFlight: '2026-11-25T10:05:00.000Z next' });
  });

  it('releases the claim when it records the outcome, so a later cancel can claim the row', async () => {
    const id = await acceptedRow();
    await store.recordCancelRequest(id, claimAt('2026-11-25T10:01:00.000Z', 'first'), TIMEOUT_MS);

    const outcome = await store.recordCancelOutcome(id, CANCEL_RECORD, '2026-11-25T10:01:01.000Z', TIMEOUT_MS);
    const next = await store.recordCancelRequest(id, claimAt('2026-11-25T10:01:02.000Z', 'second'), TIMEOUT_MS);

    expect({ released: outcome.cancel_in_flight, next: next.cancel_in_flight }).toEqual({ released: undefined, next: '2026-11-25T10:01:02.000Z second' });
  });
});
