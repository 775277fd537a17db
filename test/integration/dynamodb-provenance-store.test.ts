import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbProvenanceIndex } from '../../functions/adapters/dynamodb-provenance-index';
import { DynamoDbProvenanceStore } from '../../functions/adapters/dynamodb-provenance-store';
import { PROVENANCE_INDEXES } from '../../functions/adapters/provenance-table';
import {
  ProvenanceConflictError,
  ProvenanceUnavailableError,
  type ClaimRef,
  type FallbackIntent,
  type ProvenanceRow,
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

  it('finalizes a pending row and returns it as stored', async () => {
    const row = pendingRow();
    await store.claim(row, TIMEOUT_MS);

    const stored = await store.finalize(claimOf(row), accepted, '2026-11-25T10:00:02.000Z', TIMEOUT_MS);

    expect(stored).toMatchObject({ status: 'accepted', execution_route: 'lean', broker_order_id: 'b-1', symbol: 'AAPL', updated_at: '2026-11-25T10:00:02.000Z' });
    expect(await store.get(row.client_order_id)).toEqual(stored);
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
