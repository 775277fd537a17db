/**
 * The lifecycle sync's broker calls: Alpaca list calls per run and per open order, for backlogs of
 * several sizes (goal: at most one `GET /v2/orders` per 500 open orders per run).
 *
 * dynalite and the Alpaca simulator on loopback, the real lifecycle sync handler. For each backlog
 * size: that many market orders placed at the simulator (they stay open until the market steps)
 * and their rows finalized `accepted` in a fresh table, then one run while nothing moved, one step
 * of the market (every order fills), and runs until no row is open. Each run's list calls are
 * counted at the simulator. Options (environment): BENCH_LIFECYCLE_SIZES (default 100,500,1200).
 */
import { StaticAlpacaCredentials } from '../functions/adapters/ssm-alpaca-credentials';
import { AlpacaClient } from '../functions/adapters/alpaca-client';
import { DynamoDbProvenanceStore } from '../functions/adapters/dynamodb-provenance-store';
import { parseOrderRequest, type OrderRequest } from '../functions/core/order-request';
import { createLifecycleSyncHandler } from '../functions/lifecycle-sync/lifecycle-sync-handler';
import { startAlpacaSimulator } from '../lib/local/alpaca-simulator';
import { ensureProvenanceTable, startLocalDynamoDb } from '../lib/local/dynamodb-local';
import { pendingRow } from '../test/support/fakes';
import { fmt, median } from './bench-stats';

const CREDENTIALS = { keyId: 'bench-key', secretKey: 'bench-secret' };
const SIZES = (process.env.BENCH_LIFECYCLE_SIZES ?? '100,500,1200').split(',').map(Number);
/** Orders placed and rows written at once while seeding. */
const SEED_CONCURRENCY = 16;
/** More runs than this for one backlog means the sync is not draining it. */
const MAX_RUNS = 20;

/** One run of the sync as the bench saw it. */
interface RunFigures {
  readonly listCalls: number;
  readonly changes: number;
  readonly elapsedMs: number;
}

/** Runs the lifecycle sync bench and prints its figures. */
export async function runLifecycleBench(): Promise<void> {
  const dynamo = await startLocalDynamoDb();
  const client = dynamo.client();
  const alpaca = await startAlpacaSimulator(CREDENTIALS);
  const credentials = new StaticAlpacaCredentials(CREDENTIALS);
  const broker = new AlpacaClient({ baseUrl: alpaca.url, credentials, connectTimeoutMs: 1_000, submitTimeoutMs: 5_000, lookupTimeoutMs: 5_000 });
  console.log(`\nlifecycle sync: Alpaca list calls per run (goal: at most one per 500 open orders per run), node ${process.version}`);
  console.log('  open orders | first run: list calls, per open order, time | runs to drain after the fills | list calls per run (max) | per 500 orders');
  try {
    for (const size of SIZES) {
      await alpaca.reset();
      const table = `bench-lifecycle-${size}`;
      await ensureProvenanceTable(client, table);
      const store = new DynamoDbProvenanceStore(client, table);
      await seed(size, broker, store);
      const sync = createLifecycleSyncHandler(
        { PROVENANCE_TABLE_NAME: table, ALPACA_BASE_URL: alpaca.url, CONTROL_PARAMETER_PREFIX: '/lean-router/bench/' },
        { dynamoDb: client, alpacaCredentials: credentials },
      );
      const run = async (): Promise<RunFigures & { open: number }> => {
        const before = alpaca.requestCount('list');
        const started = performance.now();
        const report = await sync();
        return { listCalls: alpaca.requestCount('list') - before, changes: report.changes, elapsedMs: performance.now() - started, open: report.openOrders };
      };
      const idle = await run();
      alpaca.step();
      const draining: RunFigures[] = [];
      let filled = 0;
      while (filled < size && draining.length < MAX_RUNS) {
        const figures = await run();
        if (process.env.BENCH_DEBUG) console.log(figures);
        draining.push(figures);
        filled += figures.changes;
      }
      if (filled < size) throw new Error(`${size - filled} of ${size} rows not seen filled after ${MAX_RUNS} runs`);
      const maxCalls = Math.max(...draining.map((figures) => figures.listCalls));
      const perRunOrders = Math.min(size, 500);
      console.log(
        `  ${String(size).padStart(11)} | ${idle.listCalls} list, ${(idle.listCalls / size).toFixed(4)} per order, ${fmt(idle.elapsedMs)} | ` +
          `${draining.length} runs (median ${fmt(median(draining.map((figures) => figures.elapsedMs)))}) | ${maxCalls} | ${((maxCalls / perRunOrders) * 500).toFixed(2)}`,
      );
    }
  } finally {
    client.destroy();
    await alpaca.close();
    await dynamo.close();
  }
}

/** Places `count` market orders at the simulator and writes each one's accepted row, as the router would. */
async function seed(count: number, broker: AlpacaClient, store: DynamoDbProvenanceStore): Promise<void> {
  const runId = Date.now().toString(36);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const id = `bench-sync-${runId}-${next}`;
      const order = asOrder({ client_order_id: id, symbol: 'AAPL', side: 'buy', qty: '1', type: 'market', time_in_force: 'day' });
      // As the router does: the row is written before the broker is asked, so it predates the submission.
      const createdAt = new Date().toISOString();
      await store.claim(pendingRow({ ...order, client_order_id: id, claim_token: id, created_at: createdAt, updated_at: createdAt }), 5_000);
      const placed = await broker.submit(order, { correlationId: 'bench' });
      if (placed.kind !== 'accepted') throw new Error(`the simulator did not accept ${id}: ${placed.kind}`);
      const now = new Date().toISOString();
      await store.finalize(
        { clientOrderId: id, claimToken: id },
        { status: 'accepted', execution_adapter: 'alpaca', execution_route: 'alpaca', broker_order_id: placed.order.id, execution_fallback_count: 0, execution_attempts: [], review_required: false },
        now,
        5_000,
      );
    }
  };
  await Promise.all(Array.from({ length: SEED_CONCURRENCY }, worker));
}

function asOrder(value: Record<string, unknown>): OrderRequest {
  const parsed = parseOrderRequest(value);
  if (!parsed.ok) throw new Error('bench order is invalid');
  return parsed.order;
}
