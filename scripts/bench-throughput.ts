/**
 * `npm run bench:throughput`: orders per second of `npm start` at concurrency 1, 8, 32 and 64.
 *
 * Starts `npm start` as a user would (its own node process, `bin/local.ts` under tsx) on free
 * ports, waits until it answers, then for each concurrency keeps that many valid `POST /orders` in
 * flight over keep-alive connections for a fixed time per round, every order with its own
 * client_order_id. Figures are the median orders/s over rounds; non-2xx answers and failed
 * requests are counted as errors, not as orders. The stack's per-order log lines go nowhere; its
 * stderr is shown only when it fails. Its POWERTOOLS_* settings are its defaults whatever the
 * caller's environment holds, so `npm run bench` and `npm run bench:throughput` measure the same
 * stack. Options (environment): BENCH_THROUGHPUT_ROUNDS (default 3), BENCH_THROUGHPUT_SECONDS
 * per round and concurrency (default 5), BENCH_THROUGHPUT_NODE_ARGS (space-separated node options
 * for the stack's processes, such as `--cpu-prof --cpu-prof-dir=<dir>` to see where a
 * figure's time goes).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { freePorts } from '../test/support/local-stack-process';
import { median } from './bench-stats';

/** The concurrencies measured, in order. */
export const THROUGHPUT_CONCURRENCIES = [1, 8, 32, 64] as const;

/** One concurrency's figures. */
export interface ConcurrencyFigures {
  readonly concurrency: number;
  /** Median over rounds of 2xx answers per second. */
  readonly ordersPerSecond: number;
  /** Each round's 2xx answers per second. */
  readonly roundsOrdersPerSecond: readonly number[];
  /** Non-2xx answers and failed requests, summed over rounds. */
  readonly errors: number;
}

/** What `runThroughputBench` measured. */
export interface ThroughputFigures {
  readonly rounds: number;
  readonly secondsPerRound: number;
  readonly byConcurrency: readonly ConcurrencyFigures[];
}

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Long enough that the health-check and lifecycle sync (the AWS cadence is a minute) run at most once in a bench. */
const HEALTH_CHECK_INTERVAL_MS = 60_000;
const WARMUP_SECONDS = 2;
const STARTUP_TIMEOUT_MS = 60_000;

/** Runs the bench against a fresh `npm start`, prints one line per concurrency and answers the figures. */
export async function runThroughputBench(): Promise<ThroughputFigures> {
  const rounds = positiveNumber('BENCH_THROUGHPUT_ROUNDS', 3);
  const secondsPerRound = positiveNumber('BENCH_THROUGHPUT_SECONDS', 5);
  const stack = await startNpmStart();
  const agent = new Agent({ keepAlive: true, maxSockets: Math.max(...THROUGHPUT_CONCURRENCIES) });
  try {
    console.log(`  npm start throughput: POST /orders, ${rounds} rounds of ${secondsPerRound} s per concurrency, median orders/s`);
    await drive(stack.apiUrl, agent, 8, WARMUP_SECONDS);
    const byConcurrency: ConcurrencyFigures[] = [];
    for (const concurrency of THROUGHPUT_CONCURRENCIES) {
      const perRound: number[] = [];
      let errors = 0;
      for (let round = 0; round < rounds; round += 1) {
        const result = await drive(stack.apiUrl, agent, concurrency, secondsPerRound);
        perRound.push(result.ok / result.seconds);
        errors += result.errors;
      }
      const figures = { concurrency, ordersPerSecond: median(perRound), roundsOrdersPerSecond: perRound, errors };
      byConcurrency.push(figures);
      console.log(
        `    concurrency ${String(concurrency).padStart(2)}  ${figures.ordersPerSecond.toFixed(0).padStart(5)} orders/s  ` +
          `(rounds ${perRound.map((value) => value.toFixed(0)).join(', ')})  errors ${errors}`,
      );
    }
    // Errors are counted, not explained: what the stack said about them is on its stderr.
    if (byConcurrency.some((figures) => figures.errors > 0) && stack.stderr() !== '') console.error(`npm start stderr (last 4 KiB):\n${stack.stderr().slice(-4096)}`);
    return { rounds, secondsPerRound, byConcurrency };
  } catch (error) {
    if (stack.stderr() !== '') console.error(`npm start stderr:\n${stack.stderr()}`);
    throw error;
  } finally {
    agent.destroy();
    await stack.stop();
  }
}

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}=${raw} is not a positive number`);
  return value;
}

/** `npm start` running in its own process. */
interface RunningStack {
  readonly apiUrl: string;
  stderr(): string;
  stop(): Promise<void>;
}

/** Starts `bin/local.ts` as `npm start` does, on free ports, and resolves once its API answers. */
async function startNpmStart(): Promise<RunningStack> {
  const [api, dynamoDb, ssm, lean, alpaca] = (await freePorts(5)).map(String);
  // A user's shell would not point the stack at real services or a data directory for a bench.
  const { LOCAL_DATA_DIR: _data, TRADING_LEAN_RUNNER_URL: _lean, ALPACA_BASE_URL: _alpaca, POWERTOOLS_LOG_LEVEL: _level, POWERTOOLS_DEV: _dev, POWERTOOLS_METRICS_DISABLED: _metrics, ...inherited } = process.env;
  const env = {
    ...inherited,
    LOCAL_API_PORT: api!,
    LOCAL_DYNAMODB_PORT: dynamoDb!,
    LOCAL_SSM_PORT: ssm!,
    LOCAL_LEAN_RUNNER_PORT: lean!,
    LOCAL_ALPACA_PORT: alpaca!,
    LOCAL_HEALTH_CHECK_INTERVAL_MS: String(HEALTH_CHECK_INTERVAL_MS),
  };
  // e.g. `--cpu-prof --cpu-prof-dir=<dir>`: node refuses it in NODE_OPTIONS; the stand-ins, forked, inherit it.
  const nodeArgs = (process.env.BENCH_THROUGHPUT_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'bin/local.ts'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  // The tail is enough to say what went wrong; a stack failing every order must not fill memory.
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-65_536)));
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(forced);
  };
  const apiUrl = `http://127.0.0.1:${api}`;
  try {
    await untilAnswering(apiUrl, child);
  } catch (error) {
    await stop();
    throw new Error(`npm start did not come up: ${error instanceof Error ? error.message : String(error)}${stderr === '' ? '' : `\n${stderr}`}`);
  }
  return { apiUrl, stderr: () => stderr, stop };
}

async function untilAnswering(apiUrl: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`it exited (${child.exitCode ?? child.signalCode})`);
    try {
      const response = await fetch(`${apiUrl}/_router`, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`no answer within ${STARTUP_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let sequence = 0;
const RUN_ID = Date.now().toString(36);

/** Keeps `concurrency` orders in flight for `seconds`; answers 2xx and other outcomes. */
async function drive(apiUrl: string, agent: Agent, concurrency: number, seconds: number): Promise<{ ok: number; errors: number; seconds: number }> {
  let ok = 0;
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      sequence += 1;
      const body = JSON.stringify({ client_order_id: `bench-${RUN_ID}-${sequence}`, symbol: 'AAPL', side: 'buy', qty: '1', type: 'market', time_in_force: 'day' });
      const status = await postOrder(apiUrl, agent, body);
      if (status >= 200 && status < 300) ok += 1;
      else errors += 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { ok, errors, seconds: (performance.now() - started) / 1000 };
}

/** One POST /orders; answers the status, 0 when the request failed. */
function postOrder(apiUrl: string, agent: Agent, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${apiUrl}/orders`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.setTimeout(30_000, () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await runThroughputBench();
}
