/**
 * The hot-path part of `npm run bench`: the router's overhead over a direct broker submit and over
 * the floor, and its AWS calls per order.
 *
 * One process, loopback only: dynalite, the Alpaca and LEAN simulators answering at once, the real
 * route handler. Direct submits, the floors and routed orders alternate within each round, so all
 * see the same machine load; figures are per-round medians and p99s, then the median over rounds.
 * The floor of a route is its broker submit plus one PutItem and one UpdateItem of the same row.
 *
 * Powertools reads its settings when the logger and metrics are built, so each setting (logs and
 * metrics off, or as deployed) needs its own process: scripts/bench.ts forks this module with the
 * environment of each, its standard output (the router's log and EMF lines, as Lambda would ship
 * them) sent nowhere. The report goes to standard error, the figures back over IPC.
 * Options (environment): BENCH_ROUNDS (default 5), BENCH_ORDERS per round and path (default 300).
 */
import { GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, GetParametersByPathCommand, GetParametersCommand, SSMClient } from '@aws-sdk/client-ssm';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { AlpacaClient } from '../functions/adapters/alpaca-client';
import { LeanRunnerClient } from '../functions/adapters/lean-runner-client';
import { logger, metrics } from '../functions/adapters/observability';
import { PowertoolsRouteMetrics } from '../functions/adapters/powertools-route-metrics';
import { SsmAlpacaCredentials } from '../functions/adapters/ssm-alpaca-credentials';
import { CONTROL_PARAMETER, controlParameterName, controlParameterPrefix } from '../functions/core/control-parameters';
import { parseOrderRequest, type OrderRequest } from '../functions/core/order-request';
import { createOrderApi, type OrderApi } from '../functions/route/order-api';
import { buildRouteDependencies } from '../functions/route/route-dependencies';
import { startAlpacaSimulator } from '../lib/local/alpaca-simulator';
import { ensureProvenanceTable, startLocalDynamoDb } from '../lib/local/dynamodb-local';
import { startLeanRunnerSimulator } from '../lib/local/lean-runner-simulator';
import { proxyEvent } from '../test/support/router-harness';
import { fmt, median, percentile } from './bench-stats';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ORDERS = Number(process.env.BENCH_ORDERS ?? 300);
const WARMUP = 30;
const TABLE = 'bench-provenance';
const CREDENTIALS = { keyId: 'bench-key', secretKey: 'bench-secret' };
const PREFIX = controlParameterPrefix('bench');

/** p50 and p99 of one path, medians over rounds, in ms. */
interface Latency {
  readonly p50: number;
  readonly p99: number;
}

/** The floor and the router on each route. */
export interface HotPathFigures {
  readonly floor: { readonly alpaca: Latency; readonly lean: Latency };
  readonly router: { readonly alpaca: Latency; readonly lean: Latency };
}

/** The report's lines go to standard error: standard output carries the router's own log lines. */
function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Runs the hot-path bench in this process, prints its report on stderr and answers the figures. */
async function runHotPathBench(): Promise<HotPathFigures> {
  const dynamo = await startLocalDynamoDb();
  const dynamoClient = dynamo.client();
  await ensureProvenanceTable(dynamoClient, TABLE);
  const alpaca = await startAlpacaSimulator(CREDENTIALS);
  const lean = await startLeanRunnerSimulator({ alpacaUrl: alpaca.url, alpacaKeyId: CREDENTIALS.keyId, alpacaSecretKey: CREDENTIALS.secretKey });

  // Count every AWS call the hot path makes, by command name.
  const awsCalls = new Map<string, number>();
  let floorRunning = false;
  dynamoClient.middlewareStack.add(
    (next, context) => async (args) => {
      if (floorRunning) return next(args);
      awsCalls.set(`dynamodb:${context.commandName}`, (awsCalls.get(`dynamodb:${context.commandName}`) ?? 0) + 1);
      return next(args);
    },
    { step: 'initialize', name: 'benchCallCounter' },
  );
  // Credentials and control values come from SSM as in Lambda; the mock answers and counts, so a
  // per-order read would show.
  const ssm = new SSMClient({ region: 'us-east-1' });
  const ssmMock = mockClient(ssm);
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { Type: 'SecureString', Value: JSON.stringify({ key_id: CREDENTIALS.keyId, secret_key: CREDENTIALS.secretKey }) } });
  const healthyAt = () => new Date().toISOString();
  ssmMock.on(GetParametersCommand).callsFake(() => ({
    Parameters: [
      { Name: controlParameterName(PREFIX, CONTROL_PARAMETER.killSwitch), Value: 'off' },
      { Name: controlParameterName(PREFIX, CONTROL_PARAMETER.leanHealth), Value: JSON.stringify({ status: 'ok', checked_at: healthyAt(), last_ok_at: healthyAt(), latency_ms: 1 }) },
    ],
  }));
  ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
  const credentials = new SsmAlpacaCredentials({ ssm, parameterName: controlParameterName(PREFIX, CONTROL_PARAMETER.alpacaCredentials) });

  function routerApi(adapter: 'alpaca' | 'lean'): OrderApi {
    return createOrderApi(
      buildRouteDependencies(
        {
          PROVENANCE_TABLE_NAME: TABLE,
          ALPACA_BASE_URL: alpaca.url,
          TRADING_EXECUTION_ADAPTER: adapter,
          TRADING_EXECUTION_ADAPTER_POLICY: 'all',
          TRADING_LEAN_RUNNER_URL: lean.url,
          CONTROL_PARAMETER_PREFIX: PREFIX,
        },
        { logger, metrics: new PowertoolsRouteMetrics(metrics), alpacaCredentials: credentials, dynamoDb: dynamoClient, ssm },
      ),
    );
  }
  const viaRouterToAlpaca = routerApi('alpaca');
  const viaRouterToLean = routerApi('lean');
  const direct = new AlpacaClient({ baseUrl: alpaca.url, credentials, connectTimeoutMs: 1000, submitTimeoutMs: 5000, lookupTimeoutMs: 1000 });
  const directLean = new LeanRunnerClient({ baseUrl: lean.url, connectTimeoutMs: 1000, submitTimeoutMs: 5000, lookupTimeoutMs: 1000 });

  let sequence = 0;
  function body(): Record<string, unknown> {
    sequence += 1;
    return { client_order_id: `bench-${process.pid}-${sequence}`, symbol: 'AAPL', side: 'buy', qty: '1', type: 'market', time_in_force: 'day' };
  }
  function asOrder(value: Record<string, unknown>): OrderRequest {
    const parsed = parseOrderRequest(value);
    if (!parsed.ok) throw new Error('bench order is invalid');
    return parsed.order;
  }
  async function timeDirect(): Promise<number> {
    const order = asOrder(body());
    const started = performance.now();
    const outcome = await direct.submit(order, { correlationId: 'bench' });
    const elapsed = performance.now() - started;
    if (outcome.kind !== 'accepted') throw new Error(`direct submit: ${outcome.kind}`);
    return elapsed;
  }
  async function timeRouted(api: OrderApi, order: Record<string, unknown> = body()): Promise<number> {
    // The event is the caller's work (API Gateway's, in AWS): built before the clock starts.
    const event = proxyEvent('POST', '/orders', JSON.stringify(order));
    const started = performance.now();
    const result = await api(event);
    const elapsed = performance.now() - started;
    if (result.statusCode !== 201) throw new Error(`routed order answered ${result.statusCode}: ${result.body}`);
    return elapsed;
  }

  // The floor of each route: its broker submit (Alpaca, or the LEAN runner) plus one PutItem and
  // one UpdateItem of a row like the router's (one it wrote, re-keyed), on the same client: the AWS
  // and broker work no router can skip.
  const template = await (async () => {
    const sample = body();
    await timeRouted(viaRouterToAlpaca, sample);
    const out = await dynamoClient.send(new GetItemCommand({ TableName: TABLE, Key: marshall({ client_order_id: sample.client_order_id }) }));
    if (out.Item === undefined) throw new Error('the router wrote no row');
    return unmarshall(out.Item);
  })();
  async function timeFloor(broker: 'alpaca' | 'lean'): Promise<number> {
    const order = asOrder(body());
    floorRunning = true;
    const started = performance.now();
    const row = { ...template, client_order_id: order.client_order_id, status: 'pending', created_at: new Date().toISOString() };
    await dynamoClient.send(
      new PutItemCommand({ TableName: TABLE, Item: marshall(row, { removeUndefinedValues: true }), ConditionExpression: 'attribute_not_exists(client_order_id)' }),
    );
    const outcome = await (broker === 'alpaca' ? direct : directLean).submit(order, { correlationId: 'bench' });
    if (outcome.kind !== 'accepted') throw new Error(`floor submit to ${broker}: ${outcome.kind}`);
    await dynamoClient.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: marshall({ client_order_id: order.client_order_id }),
        UpdateExpression: 'SET #status = :status, #broker = :broker, #raw = :raw, #updated = :updated',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status', '#broker': 'broker_order_id', '#raw': 'raw_payload', '#updated': 'updated_at' },
        ExpressionAttributeValues: marshall(
          { ':status': 'accepted', ':broker': outcome.order.id, ':raw': outcome.order, ':updated': new Date().toISOString(), ':pending': 'pending' },
          { removeUndefinedValues: true },
        ),
      }),
    );
    const elapsed = performance.now() - started;
    floorRunning = false;
    return elapsed;
  }

  for (let i = 0; i < WARMUP; i += 1) {
    await timeDirect();
    await timeFloor('alpaca');
    await timeFloor('lean');
    await timeRouted(viaRouterToAlpaca);
    await timeRouted(viaRouterToLean);
  }
  awsCalls.clear();
  ssmMock.resetHistory();

  interface Round { direct: number[]; floor: number[]; floorLean: number[]; routed: number[]; lean: number[] }
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    const round: Round = { direct: [], floor: [], floorLean: [], routed: [], lean: [] };
    for (let i = 0; i < ORDERS; i += 1) {
      round.direct.push(await timeDirect());
      round.floor.push(await timeFloor('alpaca'));
      round.floorLean.push(await timeFloor('lean'));
      round.routed.push(await timeRouted(viaRouterToAlpaca));
      round.lean.push(await timeRouted(viaRouterToLean));
    }
    rounds.push(round);
  }

  const summary = (key: keyof Round, p: number): number => median(rounds.map((round) => percentile([...round[key]].sort((a, b) => a - b), p)));
  const routedOrders = ROUNDS * ORDERS * 2;
  say(`lean-router bench: ${ROUNDS} rounds x ${ORDERS} orders per path, node ${process.version}`);
  say(`  direct Alpaca-simulator submit    median ${fmt(summary('direct', 50))}  p99 ${fmt(summary('direct', 99))}`);
  say(`  floor, Alpaca submit + Put + Update median ${fmt(summary('floor', 50))}  p99 ${fmt(summary('floor', 99))}`);
  say(`  floor, LEAN submit + Put + Update   median ${fmt(summary('floorLean', 50))}  p99 ${fmt(summary('floorLean', 99))}`);
  say(`  router -> Alpaca (route alpaca)   median ${fmt(summary('routed', 50))}  p99 ${fmt(summary('routed', 99))}`);
  say(`  router -> LEAN -> Alpaca          median ${fmt(summary('lean', 50))}  p99 ${fmt(summary('lean', 99))}`);
  say(`  ratio router/direct (medians)     ${(summary('routed', 50) / summary('direct', 50)).toFixed(2)}x  (p99 ${(summary('routed', 99) / summary('direct', 99)).toFixed(2)}x)`);
  const ratio = (key: 'routed' | 'lean', p: number): string => (summary(key, p) / summary(key === 'routed' ? 'floor' : 'floorLean', p)).toFixed(2);
  say(`  ratio router/floor, Alpaca route  p50 ${ratio('routed', 50)}x  p99 ${ratio('routed', 99)}x`);
  say(`  ratio router/floor, LEAN route    p50 ${ratio('lean', 50)}x  p99 ${ratio('lean', 99)}x`);
  say(`  AWS calls per routed order:`);
  for (const [name, count] of [...awsCalls.entries()].sort()) say(`    ${name.padEnd(28)} ${(count / routedOrders).toFixed(2)}`);
  const ssmCalls = {
    'ssm:GetParameter': ssmMock.commandCalls(GetParameterCommand).length,
    'ssm:GetParameters': ssmMock.commandCalls(GetParametersCommand).length,
    'ssm:GetParametersByPath': ssmMock.commandCalls(GetParametersByPathCommand).length,
  };
  for (const [name, count] of Object.entries(ssmCalls)) say(`    ${name.padEnd(28)} ${(count / routedOrders).toFixed(4)}`);

  dynamoClient.destroy();
  await lean.close();
  await alpaca.close();
  await dynamo.close();
  const latency = (key: keyof Round): Latency => ({ p50: summary(key, 50), p99: summary(key, 99) });
  return { floor: { alpaca: latency('floor'), lean: latency('floorLean') }, router: { alpaca: latency('routed'), lean: latency('lean') } };
}

// Forked by scripts/bench.ts: run once, hand the figures back, and end.
if (process.send !== undefined) {
  const figures = await runHotPathBench();
  process.send(figures, () => process.disconnect());
}
