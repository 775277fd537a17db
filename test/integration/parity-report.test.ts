import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbParityReader } from '../../functions/adapters/dynamodb-parity-reader';
import { DEFAULT_PARITY_THRESHOLDS, readParityReport, type ParityQuery } from '../../functions/core/parity';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { ensureProvenanceTable, startLocalDynamoDb, type LocalDynamoDb } from '../../lib/local/dynamodb-local';
import { pendingRow } from '../support/fakes';

/**
 * The parity report read from dynalite through the indexes: one strategy from by-strategy, every
 * strategy from by-route, and nothing but Query sent.
 */

const TABLE = 'parity-report-test';
const WINDOW = { since: '2026-11-25T00:00:00.000Z', until: '2026-11-26T00:00:00.000Z' };
const NOW = new Date('2026-11-26T00:00:00.000Z');
let dynamo: LocalDynamoDb;
let client: ReturnType<LocalDynamoDb['client']>;
const commands: string[] = [];

/** A final, filled row as the route and the lifecycle sync leave it, payloads included. */
function filledRow(id: string, overrides: Partial<ProvenanceRow>): ProvenanceRow {
  return pendingRow({
    client_order_id: id,
    created_at: '2026-11-25T10:00:00.000Z',
    status: 'accepted',
    strategy_id: 'momentum-1',
    reference_price: '100',
    broker_status: 'filled',
    filled_qty: '1',
    filled_avg_price: '100',
    filled_at: '2026-11-25T10:00:01.000Z',
    raw_payload: { id: `b-${id}` },
    ...overrides,
  });
}

beforeAll(async () => {
  dynamo = await startLocalDynamoDb();
  client = dynamo.client();
  await ensureProvenanceTable(client, TABLE);
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const rows = [
    // Routed: two LEAN fills 10 and 20 bps worse than the reference, one fallback.
    filledRow('lean-1', { execution_route: 'lean', filled_avg_price: '100.10', filled_at: '2026-11-25T10:00:02.000Z' }),
    filledRow('lean-2', { execution_route: 'lean', filled_avg_price: '100.20', filled_at: '2026-11-25T10:00:04.000Z' }),
    filledRow('lean-3', { execution_route: 'alpaca_fallback', execution_fallback_count: 1, execution_fallback_reason: 'lean_submit_timeout' }),
    // Non-routed: one sell 5 bps better, one without a reference price, one not filled.
    filledRow('alpaca-1', { execution_route: 'alpaca', execution_expected_adapter: 'alpaca', side: 'sell', filled_avg_price: '100.05' }),
    filledRow('alpaca-2', { execution_route: 'alpaca_gated', reference_price: undefined }),
    filledRow('alpaca-3', { execution_route: 'alpaca', execution_expected_adapter: 'alpaca', broker_status: 'new', filled_qty: '0', filled_avg_price: undefined, filled_at: undefined }),
    // Another strategy, and one order outside the window.
    filledRow('other-1', { execution_route: 'lean', strategy_id: 'carry-2', route_divergence: { lean_order_id: 'l-9', alpaca_order_id: 'a-9', detected_at: '2026-11-25T10:00:05.000Z' } }),
    filledRow('old-1', { execution_route: 'lean', created_at: '2026-11-24T10:00:00.000Z' }),
  ];
  for (const row of rows) await documents.send(new PutCommand({ TableName: TABLE, Item: row }));
  client.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName ?? '');
      return next(args);
    },
    { step: 'initialize', name: 'parityCommandCounter' },
  );
});
afterEach(() => {
  commands.length = 0;
});
afterAll(async () => {
  client.destroy();
  await dynamo.close();
});

function report(query: Omit<ParityQuery, 'stage' | 'since' | 'until'>, maxRows?: number) {
  const reader = new DynamoDbParityReader(client, TABLE, maxRows === undefined ? {} : { maxRows });
  return readParityReport(reader, { stage: 'local', ...WINDOW, ...query }, DEFAULT_PARITY_THRESHOLDS, NOW);
}

describe('the parity report over dynalite', () => {
  it("reads one strategy's cohorts from by-strategy with their fills, times and slippage", async () => {
    const result = await report({ strategyId: 'momentum-1' });

    expect(result.routed).toMatchObject({ orders: 3, accepted: 3, fallbacks: 1, fillRate: 1, medianTimeToFillMs: 2_000, p95TimeToFillMs: 4_000, slippageSamples: 2 });
    expect(result.routed.medianSlippageBps).toBeCloseTo(10, 6);
    expect(result.nonRouted).toMatchObject({ orders: 3, fillRate: 2 / 3, slippageSamples: 1, withoutReferencePrice: 1, divergentIds: 0 });
    expect(result.nonRouted.medianSlippageBps).toBeCloseTo(-5, 6);
  });

  it('sends only Query commands on the by-strategy index', async () => {
    await report({ strategyId: 'momentum-1' });

    expect(commands).toEqual(['QueryCommand']);
  });

  it('reads every strategy from by-route, one Query per route, and fails on the divergent id it finds', async () => {
    const result = await report({});

    expect(result.routed).toMatchObject({ orders: 4, slippageSamples: 3, medianTimeToFillMs: 2_000, p95TimeToFillMs: 4_000 });
    expect(result.checks.find((check) => check.name === 'divergent_ids')).toMatchObject({ passed: false, actual: 1 });
    expect([...new Set(commands)]).toEqual(['QueryCommand']);
    expect(commands).toHaveLength(5);
  });

  it('says it is truncated when the window holds more rows than the cap', async () => {
    const result = await report({ strategyId: 'momentum-1' }, 4);

    expect(result).toMatchObject({ truncated: true, rowsRead: 4, passed: false });
  });
});
