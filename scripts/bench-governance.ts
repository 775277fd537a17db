/**
 * Governance figures for `npm run bench`, on real parts in one process: the local Parameter Store
 * (SSM JSON 1.1), dynalite, both simulators and the real route and health-check handlers.
 *
 * - kill propagation: from `put-parameter kill-switch on` returning to the last order routed to
 *   LEAN, at the default cache TTL, the put landing at a random point of the cache cycle;
 * - fallback latency with the breaker open against the router's direct Alpaca route and a bare
 *   Alpaca submit, interleaved in one loop;
 * - from a LEAN outage (connections refused) to the global trip, with orders flowing and the
 *   health-check at the local stack's shortest interval.
 * Options (environment): BENCH_KILL_RUNS (5), BENCH_BREAKER_ORDERS (300), BENCH_TRIP_RUNS (3).
 */
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { AlpacaClient } from '../functions/adapters/alpaca-client';
import { logger, metrics } from '../functions/adapters/observability';
import { PowertoolsRouteMetrics } from '../functions/adapters/powertools-route-metrics';
import { StaticAlpacaCredentials } from '../functions/adapters/ssm-alpaca-credentials';
import { SsmControlPlane } from '../functions/adapters/ssm-control-plane';
import { DEFAULT_GOVERNANCE } from '../functions/core/config';
import { parseKillSwitch } from '../functions/core/control';
import { CONTROL_PARAMETER, controlParameterName, controlParameterPrefix } from '../functions/core/control-parameters';
import { parseOrderRequest } from '../functions/core/order-request';
import { createOrderApi, type OrderApi } from '../functions/route/order-api';
import { buildRouteDependencies } from '../functions/route/route-dependencies';
import { startAlpacaSimulator } from '../lib/local/alpaca-simulator';
import { ensureProvenanceTable, startLocalDynamoDb } from '../lib/local/dynamodb-local';
import { startLeanRunnerSimulator } from '../lib/local/lean-runner-simulator';
import { SHORTEST_HEALTH_CHECK_INTERVAL_MS, startLocalStack } from '../lib/local/local-stack';
import { localSsmClient, startLocalParameterStore } from '../lib/local/parameter-store';
import { proxyEvent } from '../test/support/router-harness';
import { fmt, median, percentile, sleep } from './bench-stats';

const PREFIX = controlParameterPrefix('bench');
const TABLE = 'bench-governance-provenance';
const CREDENTIALS = { keyId: 'bench-key', secretKey: 'bench-secret' };

let sequence = 0;
function orderBody(symbol = 'AAPL'): string {
  sequence += 1;
  return JSON.stringify({ client_order_id: `gov-${process.pid}-${sequence}`, symbol, side: 'buy', qty: '1', type: 'market', time_in_force: 'day' });
}

/** Posts one order; answers its route, reason and latency. */
async function post(api: OrderApi, symbol?: string): Promise<{ route: string; reason: string; ms: number; startedAt: number; endedAt: number }> {
  const startedAt = performance.now();
  const result = await api(proxyEvent('POST', '/orders', orderBody(symbol)));
  const endedAt = performance.now();
  const body = JSON.parse(result.body) as { execution_route?: string; execution_route_reason?: string; details?: { execution_route?: string } };
  return { route: body.execution_route ?? body.details?.execution_route ?? `http_${result.statusCode}`, reason: body.execution_route_reason ?? '', ms: endedAt - startedAt, startedAt, endedAt };
}

/** Runs every governance measurement and prints its figures. */
export async function runGovernanceBench(): Promise<void> {
  const dynamo = await startLocalDynamoDb();
  const dynamoDb = dynamo.client();
  await ensureProvenanceTable(dynamoDb, TABLE);
  const alpaca = await startAlpacaSimulator(CREDENTIALS);
  const lean = await startLeanRunnerSimulator({ alpacaUrl: alpaca.url, alpacaKeyId: CREDENTIALS.keyId, alpacaSecretKey: CREDENTIALS.secretKey });
  const parameterStore = await startLocalParameterStore({ port: 0 });
  const ssm = localSsmClient(parameterStore.endpoint);
  const operator = new SsmControlPlane({ ssm, prefix: PREFIX, ttlMs: 0 });
  const now = new Date().toISOString();
  await operator.setKillSwitch('off', 'bench', 'bench');
  await operator.writeLeanHealth({ status: 'ok', checked_at: now, last_ok_at: now, latency_ms: 1 });

  const routeApi = (env: Record<string, string> = {}): OrderApi =>
    createOrderApi(
      buildRouteDependencies(
        {
          PROVENANCE_TABLE_NAME: TABLE,
          CONTROL_PARAMETER_PREFIX: PREFIX,
          ALPACA_BASE_URL: alpaca.url,
          TRADING_EXECUTION_ADAPTER: 'lean',
          TRADING_EXECUTION_ADAPTER_POLICY: 'all',
          TRADING_LEAN_RUNNER_URL: lean.url,
          // Thousands of orders on one symbol; manual review has its own tests.
          TRADING_MANUAL_REVIEW_FALLBACKS: '1000',
          ...env,
        },
        { logger, metrics: new PowertoolsRouteMetrics(metrics), alpacaCredentials: new StaticAlpacaCredentials(CREDENTIALS), dynamoDb, ssm },
      ),
    );

  console.log(`lean-router governance bench, node ${process.version}`);
  try {
    await killPropagation(routeApi(), operator);
    await breakerOpenLatency(routeApi, alpaca.url, lean);
  } finally {
    ssm.destroy();
    dynamoDb.destroy();
    await parameterStore.close();
    await lean.close();
    await alpaca.close();
    await dynamo.close();
  }
  await outageToTrip();
}

async function killPropagation(api: OrderApi, operator: SsmControlPlane): Promise<void> {
  const runs = Number(process.env.BENCH_KILL_RUNS ?? 5);
  const ttl = DEFAULT_GOVERNANCE.controlCacheTtlMs;
  const propagation: number[] = [];
  const ordersAfterPut: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    await operator.setKillSwitch('off', 'bench', 'bench');
    while ((await post(api)).route !== 'lean') await sleep(50);
    // Land the put anywhere in the container's cache cycle.
    await sleep(Math.random() * ttl);
    await operator.setKillSwitch('on', 'bench', 'bench');
    const putAt = performance.now();
    let lastLeanEnd = putAt;
    let count = 0;
    for (;;) {
      const order = await post(api);
      if (order.route !== 'lean') break;
      lastLeanEnd = order.endedAt;
      count += 1;
    }
    propagation.push(lastLeanEnd - putAt);
    ordersAfterPut.push(count);
  }
  await operator.setKillSwitch('off', 'bench', 'bench');
  console.log(`  kill propagation (put-parameter -> last order to LEAN), TTL ${ttl} ms, ${runs} runs`);
  console.log(`    median ${fmt(median(propagation))}  max ${fmt(Math.max(...propagation))}  target <= ${ttl + 1000} ms; orders still to LEAN after the put: median ${median(ordersAfterPut)}`);
}

async function breakerOpenLatency(
  routeApi: (env?: Record<string, string>) => OrderApi,
  alpacaUrl: string,
  lean: Awaited<ReturnType<typeof startLeanRunnerSimulator>>,
): Promise<void> {
  const orders = Number(process.env.BENCH_BREAKER_ORDERS ?? 300);
  const breakerApi = routeApi({ TRADING_BREAKER_FAILURE_THRESHOLD: '3', TRADING_BREAKER_COOLDOWN_MS: '3600000', TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS: '200', TRADING_LEAN_RUNNER_TIMEOUT_MS: '500' });
  const alpacaRouteApi = routeApi({ TRADING_EXECUTION_ADAPTER: 'alpaca' });
  const direct = new AlpacaClient({ baseUrl: alpacaUrl, credentials: new StaticAlpacaCredentials(CREDENTIALS), connectTimeoutMs: 1000, submitTimeoutMs: 5000, lookupTimeoutMs: 1000 });

  await lean.setFaults({ submit: { mode: 'hang' } });
  const fallbacks: number[] = [];
  for (let i = 0; i < 3; i += 1) fallbacks.push((await post(breakerApi)).ms);
  const probe = await post(breakerApi);
  if (probe.reason !== 'breaker_open') throw new Error(`expected the breaker to be open, got ${probe.route}/${probe.reason}`);

  const gated: number[] = [];
  const viaAlpacaRoute: number[] = [];
  const bare: number[] = [];
  for (let i = 0; i < orders; i += 1) {
    gated.push((await post(breakerApi)).ms);
    viaAlpacaRoute.push((await post(alpacaRouteApi)).ms);
    const parsed = parseOrderRequest(JSON.parse(orderBody()));
    if (!parsed.ok) throw new Error('bench order is invalid');
    const started = performance.now();
    await direct.submit(parsed.order, { correlationId: 'bench' });
    bare.push(performance.now() - started);
  }
  await lean.setFaults({});
  const p99 = (values: number[]) => percentile([...values].sort((a, b) => a - b), 99);
  console.log(`  fallback with the breaker closed (LEAN hangs, 500 ms timeout)  median ${fmt(median(fallbacks))} (3 orders)`);
  console.log(`  breaker open, route alpaca_gated      median ${fmt(median(gated))}  p99 ${fmt(p99(gated))}`);
  console.log(`  router direct Alpaca route            median ${fmt(median(viaAlpacaRoute))}  p99 ${fmt(p99(viaAlpacaRoute))}`);
  console.log(`  bare Alpaca-simulator submit          median ${fmt(median(bare))}  p99 ${fmt(p99(bare))}`);
  console.log(
    `  ratio breaker-open / router direct Alpaca route  ${(median(gated) / median(viaAlpacaRoute)).toFixed(2)}x (target <= 1.1); ` +
      `/ bare submit ${(median(gated) / median(bare)).toFixed(2)}x`,
  );
}

async function outageToTrip(): Promise<void> {
  const runs = Number(process.env.BENCH_TRIP_RUNS ?? 3);
  const times: number[] = [];
  let reason = '';
  for (let run = 0; run < runs; run += 1) {
    const stack = await startLocalStack({
      apiPort: 0,
      dynamoDbPort: 0,
      ssmPort: 0,
      leanRunnerPort: 0,
      alpacaPort: 0,
      healthCheckIntervalMs: SHORTEST_HEALTH_CHECK_INTERVAL_MS,
    });
    const ssm = localSsmClient(stack.ssmEndpoint);
    let streaming = true;
    let index = 0;
    const stream = (async () => {
      while (streaming) {
        index += 1;
        // Rotate symbols so no symbol reaches manual review: this measures the global trip.
        await fetch(`${stack.apiUrl}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: orderBody(`S${index % 50}`) });
      }
    })();
    try {
      await sleep(2_000);
      const outageAt = performance.now();
      await stack.simulators.lean?.handle('POST', '/faults', JSON.stringify({ down: true }));
      for (;;) {
        const out = await ssm.send(new GetParameterCommand({ Name: controlParameterName(stack.controlPrefix, CONTROL_PARAMETER.killSwitch) }));
        const killSwitch = parseKillSwitch(out.Parameter?.Value);
        if (killSwitch.state === 'on') {
          times.push(performance.now() - outageAt);
          reason = killSwitch.reason ?? '';
          break;
        }
        if (performance.now() - outageAt > 60_000) throw new Error('no trip within 60 s');
        await sleep(25);
      }
    } finally {
      streaming = false;
      await stream;
      ssm.destroy();
      await stack.close();
    }
  }
  console.log(`  LEAN outage -> global trip, health-check every ${SHORTEST_HEALTH_CHECK_INTERVAL_MS} ms, orders flowing, ${runs} runs`);
  console.log(`    median ${fmt(median(times))}  max ${fmt(Math.max(...times))}  reason ${reason}`);
}
