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
import { LIFECYCLE_SYNC_DEFAULTS } from '../functions/core/lifecycle-sync';
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
  console.log(`\nlifecycle sync: Alpaca list calls (goal: at most one per 500 open orders per run; a run reads ${LIFECYCLE_SYNC_DEFAULTS.maxOrdersPerRun} open rows), node ${process.version}`);
  console.log('  open orders | every row seen at the broker once | every fill written on its row');
  try {
    for (const size of SIZES) {
      await alpaca.reset();
      const table = `bench-lifecycle-${size}`;
      await ensureProvenanceTable(client, table);
      const store = new DynamoDbProvenanceStore(client, table);
      await seed(size, broker, store);
      const sync = createLifecycleSyncHandler(
        { PROVENANCE_TABLE_NAME: table, ALPACA_BASE_URL: alpaca.url, CONTROL_PARAMETER_PREFIX: '/lean-router/bench/' },
        // A minute per run, as the schedule runs it: the open rows' batches take turns by the minute.
        { dynamoDb: client, alpacaCredentials: credentials, clock: { now: () => new Date(Date.now() + runs * 60_000), monotonicMs: () => performance.now() } },
      );
      let runs = 0;
      const run = async (): Promise<RunFigures> => {
        const before = alpaca.requestCount('list');
        const started = performance.now();
        const report = await sync();
        runs += 1;
        return { listCalls: alpaca.requestCount('list') - before, changes: report.changes, elapsedMs: performance.now() - started };
      };
      // Until every row was seen at the broker, then the market steps (every order fills), then until every fill is on its row.
      const seeing = await runsUntil(run, size);
      alpaca.step();
      const draining = await runsUntil(run, size);
      const phase = (runs: readonly RunFigures[]): string => {
        const calls = runs.reduce((sum, figures) => sum + figures.listCalls, 0);
        const perRun = Math.max(...runs.map((figures) => figures.listCalls));
        return `${String(runs.length).padStart(4)} runs, ${String(calls).padStart(3)} list calls (at most ${perRun} a run), ${(calls / size).toFixed(4)} per order, run median ${fmt(median(runs.map((figures) => figures.elapsedMs)))}`;
      };
      console.log(`  ${String(size).padStart(11)} | first sight: ${phase(seeing)} | after the fills: ${phase(draining)}`);
    }
  } finally {
    client.destroy();
    await alpaca.close();
    await dynamo.close();
  }
}

/** Runs the sync until its runs have written `count` changes; throws when that takes more than MAX_RUNS runs. */
async function runsUntil(run: () => Promise<RunFigures>, count: number): Promise<RunFigures[]> {
  const runs: RunFigures[] = [];
  let changes = 0;
  while (changes < count) {
    if (runs.length === MAX_RUNS) throw new Error(`${count - changes} of ${count} rows unchanged after ${MAX_RUNS} runs`);
    const figures = await run();
    runs.push(figures);
    changes += figures.changes;
  }
  return runs;
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
