import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { PowertoolsRouteMetrics } from '../../functions/adapters/powertools-route-metrics';
import { logger, metrics } from '../../functions/adapters/observability';
import { StaticAlpacaCredentials } from '../../functions/adapters/ssm-alpaca-credentials';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { createOrderApi, type OrderApi } from '../../functions/route/order-api';
import { buildRouteDependencies } from '../../functions/route/route-dependencies';
import { startAlpacaSimulator, type AlpacaSimulator } from '../../lib/local/alpaca-simulator';
import { ensureProvenanceTable, localDynamoDbClient, startLocalDynamoDb, type LocalDynamoDb } from '../../lib/local/dynamodb-local';
import { startLeanRunnerSimulator, type LeanRunnerSimulator } from '../../lib/local/lean-runner-simulator';
import { orderBody } from './fakes';

/** Credentials the Alpaca simulator expects; never real ones. */
export const SIM_CREDENTIALS = { keyId: 'sim-key-id', secretKey: 'sim-secret-key' };

const TABLE_NAME = 'lean-router-provenance-test';

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
  /** Builds a handler with the default test environment plus `env`. */
  api(env?: Record<string, string>): OrderApi;
  post(body: unknown, options?: { env?: Record<string, string>; raw?: string; headers?: Record<string, string> }): Promise<ApiAnswer>;
  get(clientOrderId: string): Promise<ApiAnswer>;
  /** The row as DynamoDB returns it, read independently of the store under test. */
  readRow(clientOrderId: string): Promise<ProvenanceRow | undefined>;
  rowCount(): Promise<number>;
  /** Clears simulator orders, counters and faults. */
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

  const api = (env: Record<string, string> = {}): OrderApi =>
    createOrderApi(
      buildRouteDependencies(
        { ...baseEnv({ lean, alpaca }), ...env },
        {
          logger,
          metrics: routeMetrics,
          alpacaCredentials: new StaticAlpacaCredentials(SIM_CREDENTIALS),
          dynamoDb: env.DYNAMODB_ENDPOINT === undefined ? client : localDynamoDbClient(env.DYNAMODB_ENDPOINT, { maxAttempts: 1 }),
        },
      ),
    );
  const defaultApi = api();

  const call = async (handler: OrderApi, event: APIGatewayProxyEvent): Promise<ApiAnswer> => {
    const result = await handler(event);
    return { status: result.statusCode, headers: result.headers ?? {}, body: JSON.parse(result.body) as Record<string, unknown> };
  };

  return {
    alpaca,
    lean,
    dynamo,
    api,
    post: (body, options = {}) =>
      call(options.env ? api(options.env) : defaultApi, proxyEvent('POST', '/orders', options.raw ?? JSON.stringify(body), options.headers)),
    get: (id) => call(defaultApi, proxyEvent('GET', `/orders/${encodeURIComponent(id)}`, null, {}, { client_order_id: id })),
    readRow: async (id) => {
      const out = await documents.send(new GetCommand({ TableName: TABLE_NAME, Key: { client_order_id: id }, ConsistentRead: true }));
      return out.Item as ProvenanceRow | undefined;
    },
    rowCount: async () => (await client.send(new ScanCommand({ TableName: TABLE_NAME, Select: 'COUNT' }))).Count ?? 0,
    reset: async () => {
      await alpaca.reset();
      await lean.reset();
    },
    close: async () => {
      await lean.close();
      await alpaca.close();
      client.destroy();
      await dynamo.close();
    },
  };
}

/** A REST API (v1) proxy event as API Gateway sends it. */
export function proxyEvent(
  method: string,
  path: string,
  body: string | null,
  headers: Record<string, string> = {},
  pathParameters: Record<string, string> | null = null,
): APIGatewayProxyEvent {
  return {
    httpMethod: method,
    path,
    resource: pathParameters ? '/orders/{client_order_id}' : path,
    body,
    headers,
    multiValueHeaders: {},
    isBase64Encoded: false,
    pathParameters,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    stageVariables: null,
    requestContext: { requestId: `req-${Math.random().toString(36).slice(2)}` } as APIGatewayProxyEvent['requestContext'],
  };
}

let sequence = 0;

/** A valid market order with a fresh `client_order_id`. */
export function marketOrder(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  sequence += 1;
  return orderBody({ client_order_id: `it-${Date.now().toString(36)}-${sequence}`, ...overrides });
}
