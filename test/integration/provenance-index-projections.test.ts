import { DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbProvenanceIndex } from '../../functions/adapters/dynamodb-provenance-index';
import { DynamoDbProvenanceStore } from '../../functions/adapters/dynamodb-provenance-store';
import { ORDER_SUMMARY_FIELDS, PROVENANCE_TABLE } from '../../functions/adapters/provenance-table';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { findOrders } from '../../lib/cli/provenance-queries';
import { ensureProvenanceTable, startLocalDynamoDb, type LocalDynamoDb } from '../../lib/local/dynamodb-local';
import { pendingRow } from '../support/fakes';

const TABLE = 'provenance-projections-test';
const SINCE = '2026-11-25T09:00:00.000Z';
let dynamo: LocalDynamoDb;
let client: ReturnType<LocalDynamoDb['client']>;
let index: DynamoDbProvenanceIndex;

/** A final row as the route writes it, with the large attributes no listing needs. */
function finalRow(clientOrderId: string, overrides: Partial<ProvenanceRow>): ProvenanceRow {
  return pendingRow({
    client_order_id: clientOrderId,
    created_at: '2026-11-25T10:00:00.000Z',
    status: 'accepted',
    execution_attempts: [{ adapter: 'lean', operation: 'submit', outcome: 'accepted', http_status: 200, latency_ms: 5, started_at: '2026-11-25T10:00:00.000Z' }],
    raw_payload: { id: `b-${clientOrderId}`, note: 'the broker answer, kept only on the row' },
    ...overrides,
  });
}

beforeAll(async () => {
  dynamo = await startLocalDynamoDb();
  client = dynamo.client();
  await ensureProvenanceTable(client, TABLE);
  index = new DynamoDbProvenanceIndex(client, TABLE, new DynamoDbProvenanceStore(client, TABLE));
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const rows = [
    finalRow('lean-ok', { execution_route: 'lean', execution_route_reason: 'policy_all' }),
    finalRow('fell-back', { execution_route: 'alpaca_fallback', execution_route_reason: 'lean_failed', execution_fallback_reason: 'lean_submit_timeout', execution_fallback_count: 1 }),
    finalRow('lean-failed', { status: 'failed', execution_route: 'none', execution_route_reason: 'lean_submit_http_500' }),
    finalRow('breaker', { execution_route: 'alpaca_gated', execution_route_reason: 'breaker_open', symbol: 'MSFT' }),
  ];
  for (const row of rows) await documents.send(new PutCommand({ TableName: TABLE, Item: row }));
});
afterAll(async () => {
  client.destroy();
  await dynamo.close();
});

describe('the summary-projected indexes on dynalite', () => {
  it("count a symbol's fallbacks from the by-symbol projection", async () => {
    expect(await index.countFallbacks('AAPL', SINCE)).toBe(1);
  });

  it("count LEAN's outcomes from the by-route projection, filters included", async () => {
    expect(await index.countLeanOutcomes(SINCE)).toEqual({ submitted: 4, failed: 3 });
  });

  it('list the fallbacks with their symbol and time from the by-route projection', async () => {
    expect(await index.listFallbacks(SINCE)).toEqual([{ symbol: 'AAPL', created_at: '2026-11-25T10:00:00.000Z' }]);
  });

  it("list orders for the operator's table from the projection, without the payloads", async () => {
    const [row, ...others] = await findOrders(client, TABLE, { symbol: 'msft', limit: 10 });

    expect(others).toEqual([]);
    expect(row).toMatchObject({ client_order_id: 'breaker', symbol: 'MSFT', status: 'accepted', execution_route: 'alpaca_gated', execution_expected_adapter: 'lean' });
    expect(row).not.toHaveProperty('raw_payload');
  });

  it('carry only the keys and the summary fields', async () => {
    const out = await DynamoDBDocumentClient.from(client).send(
      new QueryCommand({
        TableName: TABLE,
        IndexName: PROVENANCE_TABLE.indexes.byRoute.name,
        KeyConditionExpression: '#pk = :pk',
        ExpressionAttributeNames: { '#pk': 'execution_route' },
        ExpressionAttributeValues: { ':pk': 'alpaca_fallback' },
      }),
    );
    const allowed = new Set<string>([PROVENANCE_TABLE.partitionKey, 'created_at', ...ORDER_SUMMARY_FIELDS]);

    expect(Object.keys(out.Items?.[0] ?? {}).filter((attribute) => !allowed.has(attribute))).toEqual([]);
  });
});
