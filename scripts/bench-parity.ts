/**
 * The parity report over a large window (goal: seconds, not minutes, for 100k rows).
 *
 * dynalite on loopback, the real reader and report: BENCH_PARITY_ROWS rows (default 100000) of one
 * strategy spread over a day and over every route, written 25 to a BatchWriteItem with several
 * batches in flight, then the report of that window built three times from the by-strategy index
 * and three times from the by-route index (every strategy); the median of each is printed with
 * rows per second.
 */
import { BatchWriteItemCommand, type DynamoDBClient, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoDbParityReader } from '../functions/adapters/dynamodb-parity-reader';
import type { ExecutionRoute } from '../functions/core/execution';
import { DEFAULT_PARITY_THRESHOLDS, readParityReport, type ParityQuery, type ParityReport } from '../functions/core/parity';
import type { ProvenanceRow } from '../functions/core/provenance';
import { ensureProvenanceTable, startLocalDynamoDb } from '../lib/local/dynamodb-local';
import { median } from './bench-stats';

const ROWS = Number(process.env.BENCH_PARITY_ROWS ?? 100_000);
const TABLE = 'bench-parity';
const STRATEGY = 'bench-strategy';
const DAY_START = Date.parse('2026-11-25T00:00:00.000Z');
const DAY_MS = 86_400_000;
/** BatchWriteItem's limit. */
const BATCH = 25;
const SEED_CONCURRENCY = 16;
const RUNS = 3;

/** How the seeded rows spread over the routes, out of 20. */
const ROUTE_MIX: readonly ExecutionRoute[] = [...Array<ExecutionRoute>(9).fill('lean'), ...Array<ExecutionRoute>(8).fill('alpaca'), 'alpaca_gated', 'alpaca_fallback', 'none'];

/** Runs the parity bench and prints its figures. */
export async function runParityBench(): Promise<void> {
  const dynamo = await startLocalDynamoDb();
  const client = dynamo.client();
  try {
    await ensureProvenanceTable(client, TABLE);
    console.log(`\nparity report: ${ROWS} rows in the window (goal: seconds, not minutes), node ${process.version}`);
    const seedStarted = performance.now();
    await seed(client);
    console.log(`  seeded ${ROWS} rows in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s (BatchWriteItem of ${BATCH}, ${SEED_CONCURRENCY} in flight)`);
    const window = { stage: 'bench', since: new Date(DAY_START).toISOString(), until: new Date(DAY_START + DAY_MS).toISOString() };
    for (const [label, query] of [
      ['one strategy (by-strategy)', { ...window, strategyId: STRATEGY }],
      ['all strategies (by-route) ', window],
    ] as const) {
      const timings: number[] = [];
      let last: ParityReport | undefined;
      for (let run = 0; run < RUNS; run += 1) {
        const started = performance.now();
        last = await report(client, query);
        timings.push(performance.now() - started);
      }
      const seconds = median(timings) / 1000;
      const rows = last?.rowsRead ?? 0;
      console.log(
        `  ${label}: median of ${RUNS} ${seconds.toFixed(2)} s, ${Math.round(rows / seconds)} rows/s (${rows} rows read, truncated ${String(last?.truncated)}, ` +
          `routed ${last?.routed.orders} / non-routed ${last?.nonRouted.orders} orders)`,
      );
    }
  } finally {
    client.destroy();
    await dynamo.close();
  }
}

function report(client: DynamoDBClient, query: ParityQuery): Promise<ParityReport> {
  return readParityReport(new DynamoDbParityReader(client, TABLE, { maxRows: ROWS + 1, pageTimeoutMs: 30_000 }), query, DEFAULT_PARITY_THRESHOLDS, new Date());
}

/** A final, filled row as the route and the lifecycle sync leave it, without the payloads (which no index projects). */
function benchRow(index: number): Partial<ProvenanceRow> {
  const route = ROUTE_MIX[index % ROUTE_MIX.length] ?? 'lean';
  const createdMs = DAY_START + Math.floor((index / ROWS) * (DAY_MS - 60_000));
  const filled = route !== 'none' && index % 10 !== 0;
  const fill = (100 + ((index % 41) - 20) / 100).toFixed(2);
  return {
    client_order_id: `bench-parity-${index}`,
    created_at: new Date(createdMs).toISOString(),
    updated_at: new Date(createdMs + 2_000).toISOString(),
    strategy_id: STRATEGY,
    symbol: 'AAPL',
    side: index % 2 === 0 ? 'buy' : 'sell',
    qty: '1',
    type: 'market',
    time_in_force: 'day',
    reference_price: '100',
    execution_expected_adapter: route === 'alpaca' ? 'alpaca' : 'lean',
    execution_route: route,
    execution_route_reason: route === 'alpaca_fallback' ? 'lean_failed' : 'policy_all',
    execution_fallback_count: route === 'alpaca_fallback' ? 1 : 0,
    status: route === 'none' ? 'failed' : 'accepted',
    review_required: false,
    ...(filled ? { broker_status: 'filled', filled_qty: '1', filled_avg_price: fill, filled_at: new Date(createdMs + 200 + (index % 3_000)).toISOString() } : {}),
  };
}

/** Writes ROWS rows, 25 to a batch, SEED_CONCURRENCY batches in flight, retrying what DynamoDB leaves unprocessed. */
async function seed(client: DynamoDBClient): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < ROWS) {
      const start = next;
      next = Math.min(ROWS, next + BATCH);
      let requests: WriteRequest[] = [];
      for (let index = start; index < next; index += 1) requests.push({ PutRequest: { Item: marshall(benchRow(index), { removeUndefinedValues: true }) } });
      while (requests.length > 0) {
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: requests } }));
        requests = out.UnprocessedItems?.[TABLE] ?? [];
      }
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
}
