import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbProvenanceStore } from '../../functions/adapters/dynamodb-provenance-store';
import { PROVENANCE_INDEXES } from '../../functions/adapters/provenance-table';
import { ProvenanceConflictError, type ProvenanceRow, type RowOutcome } from '../../functions/core/provenance';
import { ensureProvenanceTable, startLocalDynamoDb, type LocalDynamoDb } from '../../lib/local/dynamodb-local';

const TABLE = 'provenance-store-test';
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
function pendingRow(overrides: Partial<ProvenanceRow> = {}): ProvenanceRow {
  counter += 1;
  return {
    client_order_id: `store-${counter}`,
    status: 'pending',
    symbol: 'AAPL',
    side: 'buy',
    qty: '1',
    type: 'market',
    time_in_force: 'day',
    request_hash: 'hash-1',
    execution_expected_adapter: 'lean',
    execution_fallback_count: 0,
    execution_attempts: [],
    policy_snapshot: {
      adapter: 'lean',
      policy: 'all',
      fallback: 'alpaca',
      symbols_count: 0,
      policy_source: 'environment',
      kill_switch: 'off',
      control_source: 'fresh',
      breaker: 'closed',
      gates: [],
      misconfiguration: [],
    },
    correlation_id: 'corr-1',
    review_required: false,
    created_at: '2026-11-25T10:00:00.000Z',
    updated_at: '2026-11-25T10:00:00.000Z',
    ...overrides,
  };
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
    expect(await store.claim(pendingRow())).toEqual({ kind: 'claimed' });
  });

  it('returns the existing row when another request claimed the client_order_id first', async () => {
    const first = pendingRow();
    await store.claim(first);

    const second = await store.claim({ ...first, correlation_id: 'corr-2', created_at: '2026-11-25T10:00:01.000Z' });

    expect(second).toMatchObject({ kind: 'exists', row: { client_order_id: first.client_order_id, correlation_id: 'corr-1' } });
  });

  it('treats its own pending row, as left by a retried put, as claimed', async () => {
    const row = pendingRow();
    await store.claim(row);

    expect(await store.claim(row)).toEqual({ kind: 'claimed' });
  });

  it('finalizes a pending row and returns it as stored', async () => {
    const row = pendingRow();
    await store.claim(row);

    const stored = await store.finalize(row.client_order_id, accepted, '2026-11-25T10:00:02.000Z');

    expect(stored).toMatchObject({ status: 'accepted', execution_route: 'lean', broker_order_id: 'b-1', symbol: 'AAPL', updated_at: '2026-11-25T10:00:02.000Z' });
    expect(await store.get(row.client_order_id)).toEqual(stored);
  });

  it('refuses to finalize a row that is no longer pending', async () => {
    const row = pendingRow();
    await store.claim(row);
    await store.finalize(row.client_order_id, accepted, '2026-11-25T10:00:02.000Z');

    await expect(store.finalize(row.client_order_id, { ...accepted, status: 'failed' }, '2026-11-25T10:00:03.000Z')).rejects.toBeInstanceOf(ProvenanceConflictError);
  });

  it('returns undefined for a client_order_id it has never seen', async () => {
    expect(await store.get('never-seen')).toBeUndefined();
  });
});
