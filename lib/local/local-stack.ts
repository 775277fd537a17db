import { PowertoolsRouteMetrics } from '../../functions/adapters/powertools-route-metrics';
import { logger, metrics } from '../../functions/adapters/observability';
import { StaticAlpacaCredentials } from '../../functions/adapters/ssm-alpaca-credentials';
import { createOrderApi } from '../../functions/route/order-api';
import { buildRouteDependencies } from '../../functions/route/route-dependencies';
import { startAlpacaSimulator, type AlpacaSimulator } from './alpaca-simulator';
import { startApiFrontDoor } from './api-front-door';
import { ensureProvenanceTable, startLocalDynamoDb } from './dynamodb-local';
import { startLeanRunnerSimulator, type LeanRunnerSimulator } from './lean-runner-simulator';

/** Where the local stack listens and what it routes to. */
export interface LocalStackOptions {
  readonly host?: string;
  readonly apiPort?: number;
  readonly dynamoDbPort?: number;
  readonly leanRunnerPort?: number;
  readonly alpacaPort?: number;
  /** LevelDB directory for dynalite; in memory when absent. */
  readonly dataDir?: string;
  /** `TRADING_*` and `ALPACA_*` overrides; the defaults route every symbol to LEAN. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A running local stack. */
export interface LocalStack {
  readonly apiUrl: string;
  readonly dynamoDbEndpoint: string;
  readonly tableName: string;
  readonly leanRunnerUrl: string;
  readonly alpacaUrl: string;
  /** Present when the stack runs the simulator rather than a real service. */
  readonly leanSimulator?: LeanRunnerSimulator;
  readonly alpacaSimulator?: AlpacaSimulator;
  close(): Promise<void>;
}

/** Local simulator credentials; a real Alpaca needs APCA_API_KEY_ID / APCA_API_SECRET_KEY. */
const SIMULATOR_CREDENTIALS = { keyId: 'local-key-id', secretKey: 'local-secret-key' };

/**
 * Starts dynalite, the simulators (unless real URLs are configured), and the real route handler
 * behind a local API Gateway stand-in, all on loopback. Everything started is closed on failure.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const env = { ...options.env };
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const closeOne of closers.reverse()) await closeOne();
  };
  try {
    const dynamo = await startLocalDynamoDb({ host, port: options.dynamoDbPort ?? 8000, ...(options.dataDir ? { path: options.dataDir } : {}) });
    closers.push(() => dynamo.close());
    const client = dynamo.client();
    closers.push(async () => client.destroy());
    const tableName = env.PROVENANCE_TABLE_NAME ?? 'lean-router-local-provenance';
    await ensureProvenanceTable(client, tableName);

    const realAlpacaUrl = env.ALPACA_BASE_URL;
    const credentials = realAlpacaUrl
      ? { keyId: env.APCA_API_KEY_ID ?? '', secretKey: env.APCA_API_SECRET_KEY ?? '' }
      : SIMULATOR_CREDENTIALS;
    let alpacaSimulator: AlpacaSimulator | undefined;
    if (!realAlpacaUrl) {
      alpacaSimulator = await startAlpacaSimulator({ host, port: options.alpacaPort ?? 8091, ...SIMULATOR_CREDENTIALS });
      closers.push(() => alpacaSimulator!.close());
    }
    const alpacaUrl = realAlpacaUrl ?? alpacaSimulator!.url;

    const realLeanUrl = env.TRADING_LEAN_RUNNER_URL;
    let leanSimulator: LeanRunnerSimulator | undefined;
    if (!realLeanUrl) {
      leanSimulator = await startLeanRunnerSimulator({
        host,
        port: options.leanRunnerPort ?? 8090,
        alpacaUrl,
        alpacaKeyId: credentials.keyId,
        alpacaSecretKey: credentials.secretKey,
      });
      closers.push(() => leanSimulator!.close());
    }
    const leanRunnerUrl = realLeanUrl ?? leanSimulator!.url;

    const routeEnv = {
      TRADING_EXECUTION_ADAPTER: 'lean',
      TRADING_EXECUTION_ADAPTER_POLICY: 'all',
      ...env,
      TRADING_LEAN_RUNNER_URL: leanRunnerUrl,
      ALPACA_BASE_URL: alpacaUrl,
      PROVENANCE_TABLE_NAME: tableName,
    };
    const api = createOrderApi(
      buildRouteDependencies(routeEnv, {
        logger,
        metrics: new PowertoolsRouteMetrics(metrics),
        alpacaCredentials: new StaticAlpacaCredentials(credentials),
        dynamoDb: client,
      }),
    );
    const frontDoor = await startApiFrontDoor(
      async (event) => {
        try {
          return await api(event);
        } finally {
          metrics.publishStoredMetrics();
        }
      },
      { host, port: options.apiPort ?? 3000 },
    );
    closers.push(() => frontDoor.close());

    return {
      apiUrl: frontDoor.url,
      dynamoDbEndpoint: dynamo.endpoint,
      tableName,
      leanRunnerUrl,
      alpacaUrl,
      ...(leanSimulator ? { leanSimulator } : {}),
      ...(alpacaSimulator ? { alpacaSimulator } : {}),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
