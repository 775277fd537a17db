import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteParameterCommand, GetParametersByPathCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { alpacaOrderBody } from '../../functions/adapters/alpaca-client';
import { PowertoolsRouteMetrics } from '../../functions/adapters/powertools-route-metrics';
import { logger, metrics } from '../../functions/adapters/observability';
import { StaticAlpacaCredentials } from '../../functions/adapters/ssm-alpaca-credentials';
import type { OrderRequest } from '../../functions/core/order-request';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { createOrderApi, type OrderApi } from '../../functions/route/order-api';
import { SsmControlPlane } from '../../functions/adapters/ssm-control-plane';
import { CONTROL_PARAMETER, controlParameterName, strategyParameterName, type ControlParameterKey } from '../../functions/core/control-parameters';
import { createHealthCheckHandler, type HealthCheckHandler } from '../../functions/health-check/health-check-handler';
import { createLifecycleSyncHandler, type LifecycleSyncHandler } from '../../functions/lifecycle-sync/lifecycle-sync-handler';
import { buildRouteDependencies } from '../../functions/route/route-dependencies';
import { startAlpacaSimulator, type AlpacaSimulator } from '../../lib/local/alpaca-simulator';
import { ensureProvenanceTable, localDynamoDbClient, startLocalDynamoDb, type LocalDynamoDb } from '../../lib/local/dynamodb-local';
import { startLeanRunnerSimulator, type LeanRunnerSimulator } from '../../lib/local/lean-runner-simulator';
import { seedControlParameters } from '../../lib/local/local-stack';
import { localSsmClient, startLocalParameterStore, type LocalParameterStore } from '../../lib/local/parameter-store';
import { proxyEvent } from './api-gateway';
import { orderBody } from './fakes';

export { proxyEvent };

/** Credentials the Alpaca simulator expects; never real ones. */
export const SIM_CREDENTIALS = { keyId: 'sim-key-id', secretKey: 'sim-secret-key' };

/** The provenance table every harness creates. */
export const TEST_TABLE_NAME = 'lean-router-provenance-test';
const TABLE_NAME = TEST_TABLE_NAME;

/** The control prefix of the harness's own Parameter Store. */
export const TEST_CONTROL_PREFIX = '/lean-router/test/';

/** An answer from the order API, body parsed. */
export interface ApiAnswer {
  readonly status: number;
  readonly headers: Record<string, string | number | boolean>;
  readonly body: Record<string, unknown>;
}

/**
 * dynalite, both simulators on loopback and the real route handler wired to them through the
 * production dependency builder. Tests drive it with API Gateway proxy events.
 */
export interface RouterHarness {
  readonly alpaca: AlpacaSimulator;
  readonly lean: LeanRunnerSimulator;
  readonly dynamo: LocalDynamoDb;
  readonly parameterStore: LocalParameterStore;
  /** A real SDK client on the harness's Parameter Store, for tests that play the operator. */
  readonly ssm: SSMClient;
  /** The control plane as an operator's tool would use it (no cache). */
  readonly control: SsmControlPlane;
  /** Builds a handler with the default test environment plus `env`. */
  api(env?: Record<string, string>): OrderApi;
  /** Builds the real health-check handler with the default test environment plus `env`. */
  healthCheck(env?: Record<string, string>): HealthCheckHandler;
  /** Builds the real lifecycle sync handler with the default test environment, on the harness's clients unless `dynamoDb` is given. */
  lifecycleSync(clients?: { dynamoDb?: DynamoDBClient }): LifecycleSyncHandler;
  /** Writes one control value under the test prefix, e.g. `putControl('kill-switch', 'on')`. */
  putControl(key: ControlParameterKey, value: string): Promise<void>;
  /** Writes one strategy's `strategies/<strategy_id>` under the test prefix, as an operator's put-parameter would. */
  putStrategy(strategyId: string, value: string): Promise<void>;
  /** Posts an order to the default handler, a fresh one built with `env`, or a given `api` (one container across calls). */
  post(body: unknown, options?: { env?: Record<string, string>; api?: OrderApi; raw?: string; headers?: Record<string, string> }): Promise<ApiAnswer>;
  get(clientOrderId: string): Promise<ApiAnswer>;
  /** `DELETE /orders/{client_order_id}` on the default handler, a fresh one built with `env`, or a given `api`. */
  cancel(clientOrderId: string, options?: { env?: Record<string, string>; api?: OrderApi }): Promise<ApiAnswer>;
  /** The row as DynamoDB returns it, read independently of the store under test. */
  readRow(clientOrderId: string): Promise<ProvenanceRow | undefined>;
  rowCount(): Promise<number>;
  /** Clears simulator orders, counters and faults, puts the control values back (switch off, runner healthy, no policy, no reviews, no strategies) and starts a cold container. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** The environment every test starts from: LEAN first for all symbols, short timeouts. */
export function baseEnv(harness: { lean: LeanRunnerSimulator; alpaca: AlpacaSimulator }): Record<string, string> {
  return {
    PROVENANCE_TABLE_NAME: TABLE_NAME,
    ALPACA_BASE_URL: harness.alpaca.url,
    TRADING_EXECUTION_ADAPTER: 'lean',
    TRADING_EXECUTION_ADAPTER_POLICY: 'all',
    TRADING_EXECUTION_FALLBACK_ADAPTER: 'alpaca',
    TRADING_LEAN_RUNNER_URL: harness.lean.url,
    TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS: '200',
    TRADING_LEAN_RUNNER_TIMEOUT_MS: '400',
    TRADING_LEAN_RUNNER_LOOKUP_TIMEOUT_MS: '300',
    TRADING_ALPACA_CONNECT_TIMEOUT_MS: '200',
    TRADING_ALPACA_TIMEOUT_MS: '1000',
    TRADING_ALPACA_LOOKUP_TIMEOUT_MS: '300',
    CONTROL_PARAMETER_PREFIX: TEST_CONTROL_PREFIX,
    TRADING_CONTROL_CACHE_TTL_MS: '200',
    TRADING_RUNNER_HEALTH_STALE_MS: '3600000',
    // Routing scenarios fail LEAN on one symbol many times in a row; the breaker and the review
    // trip have their own tests with their real thresholds.
    TRADING_MANUAL_REVIEW_FALLBACKS: '1000',
    TRADING_BREAKER_FAILURE_THRESHOLD: '100',
  };
}

/** Starts the harness on free loopback ports. */
export async function startRouterHarness(): Promise<RouterHarness> {
  const dynamo = await startLocalDynamoDb();
  const client = dynamo.client();
  await ensureProvenanceTable(client, TABLE_NAME);
  const documents = DynamoDBDocumentClient.from(client);
  const alpaca = await startAlpacaSimulator(SIM_CREDENTIALS);
  const lean = await startLeanRunnerSimulator({ alpacaUrl: alpaca.url, alpacaKeyId: SIM_CREDENTIALS.keyId, alpacaSecretKey: SIM_CREDENTIALS.secretKey });
  const routeMetrics = new PowertoolsRouteMetrics(metrics);
  const parameterStore = await startLocalParameterStore({ port: 0 });
  const ssm = localSsmClient(parameterStore.endpoint, { maxAttempts: 1 });
  const control = new SsmControlPlane({ ssm, prefix: TEST_CONTROL_PREFIX, ttlMs: 0 });
  const putControl = async (key: ControlParameterKey, value: string): Promise<void> => {
    await ssm.send(new PutParameterCommand({ Name: controlParameterName(TEST_CONTROL_PREFIX, key), Value: value, Type: 'String', Overwrite: true }));
  };
  const resetControl = async (): Promise<void> => {
    await putControl(CONTROL_PARAMETER.killSwitch, 'off');
    const now = new Date().toISOString();
    await control.writeLeanHealth({ status: 'ok', checked_at: now, last_ok_at: now, latency_ms: 1 });
    const reviews = await ssm.send(new GetParametersByPathCommand({ Path: controlParameterName(TEST_CONTROL_PREFIX, CONTROL_PARAMETER.manualReview), Recursive: true }));
    const strategies = await ssm.send(new GetParametersByPathCommand({ Path: controlParameterName(TEST_CONTROL_PREFIX, CONTROL_PARAMETER.strategies), Recursive: true }));
    const names = [
      controlParameterName(TEST_CONTROL_PREFIX, CONTROL_PARAMETER.policy),
      ...[...(reviews.Parameters ?? []), ...(strategies.Parameters ?? [])].map((parameter) => parameter.Name ?? ''),
    ];
    for (const name of names) await ssm.send(new DeleteParameterCommand({ Name: name })).catch(() => undefined);
  };
  await seedControlParameters(ssm, TEST_CONTROL_PREFIX);
  await resetControl();
  const clients = (env: Record<string, string>) => ({
    alpacaCredentials: new StaticAlpacaCredentials(SIM_CREDENTIALS),
    dynamoDb: env.DYNAMODB_ENDPOINT === undefined ? client : localDynamoDbClient(env.DYNAMODB_ENDPOINT, { maxAttempts: 1 }),
    ssm: env.SSM_ENDPOINT === undefined ? ssm : localSsmClient(env.SSM_ENDPOINT, { maxAttempts: 1 }),
  });

  const api = (env: Record<string, string> = {}): OrderApi =>
    createOrderApi(
      buildRouteDependencies(
        { ...baseEnv({ lean, alpaca }), ...env },
        { logger, metrics: routeMetrics, ...clients(env) },
      ),
    );
  // Rebuilt on reset: each test starts from a cold container (empty control cache, closed breaker).
  let defaultApi = api();

  const call = async (handler: OrderApi, event: APIGatewayProxyEvent): Promise<ApiAnswer> => {
    const result = await handler(event);
    return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(result.body) as Record<string, unknown> };
  };

  return {
    alpaca,
    lean,
    dynamo,
    parameterStore,
    ssm,
    control,
    api,
    healthCheck: (env = {}) => createHealthCheckHandler({ ...baseEnv({ lean, alpaca }), ...env }, clients(env)),
    lifecycleSync: (overrides = {}) => createLifecycleSyncHandler(baseEnv({ lean, alpaca }), { ...clients({}), ...overrides }),
    putControl,
    putStrategy: async (strategyId, value) => {
      await ssm.send(new PutParameterCommand({ Name: strategyParameterName(TEST_CONTROL_PREFIX, strategyId), Value: value, Type: 'String', Overwrite: true }));
    },
    post: (body, options = {}) =>
      call(options.api ?? (options.env ? api(options.env) : defaultApi), proxyEvent('POST', '/orders', options.raw ?? JSON.stringify(body), options.headers)),
    get: (id) => call(defaultApi, proxyEvent('GET', `/orders/${encodeURIComponent(id)}`, null, {}, { client_order_id: id })),
    cancel: (id, options = {}) =>
      call(options.api ?? (options.env ? api(options.env) : defaultApi), proxyEvent('DELETE', `/orders/${encodeURIComponent(id)}`, null, {}, { client_order_id: id })),
    readRow: async (id) => {
      const out = await documents.send(new GetCommand({ TableName: TABLE_NAME, Key: { client_order_id: id }, ConsistentRead: true }));
      return out.Item as ProvenanceRow | undefined;
    },
    rowCount: async () => (await client.send(new ScanCommand({ TableName: TABLE_NAME, Select: 'COUNT' }))).Count ?? 0,
    reset: async () => {
      await alpaca.reset();
      await lean.reset();
      await resetControl();
      defaultApi = api();
    },
    close: async () => {
      await lean.close();
      await alpaca.close();
      ssm.destroy();
      await parameterStore.close();
      client.destroy();
      await dynamo.close();
    },
  };
}

/**
 * Starts the harness once for the file, resets it before each test and closes it after the file;
 * `started` hands it to the file's own variables. With `syncAfterReset`, each reset is followed by
 * one lifecycle sync, so rows of earlier tests whose orders the reset simulator no longer holds
 * do not stay open.
 */
export function useRouterHarness(started: (harness: RouterHarness) => void, options: { readonly syncAfterReset?: boolean } = {}): void {
  let harness: RouterHarness | undefined;
  let sync: LifecycleSyncHandler | undefined;
  beforeAll(async () => {
    harness = await startRouterHarness();
    if (options.syncAfterReset === true) sync = harness.lifecycleSync();
    started(harness);
  });
  afterAll(async () => {
    await harness?.close();
  });
  beforeEach(async () => {
    await harness?.reset();
    await sync?.();
  });
}

let sequence = 0;

/** A valid market order with a fresh `client_order_id`. */
export function marketOrder(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  sequence += 1;
  return orderBody({ client_order_id: `it-${Date.now().toString(36)}-${sequence}`, ...overrides });
}

/**
 * Places `order` at the Alpaca simulator with the body the router's own Alpaca submit sends, as a
 * fallback submit would have; answers Alpaca's order id.
 */
export async function placeAtAlpaca(alpaca: AlpacaSimulator, order: OrderRequest): Promise<string> {
  const response = await fetch(`${alpaca.url}/v2/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'apca-api-key-id': SIM_CREDENTIALS.keyId, 'apca-api-secret-key': SIM_CREDENTIALS.secretKey },
    body: JSON.stringify(alpacaOrderBody(order)),
  });
  const body = (await response.json()) as { id?: unknown };
  if (response.status !== 200 || typeof body.id !== 'string') throw new Error(`the Alpaca simulator refused the order: ${response.status} ${JSON.stringify(body)}`);
  return body.id;
}
