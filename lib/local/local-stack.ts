import { ParameterAlreadyExists, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { CONTROL_PARAMETER, controlParameterName, controlParameterPrefix } from '../../functions/core/control-parameters';
import { loadRouterConfig } from '../../functions/core/config';
import { DynamoDbProvenanceIndex } from '../../functions/adapters/dynamodb-provenance-index';
import { DynamoDbProvenanceStore } from '../../functions/adapters/dynamodb-provenance-store';
import { provenanceTableName } from '../../functions/adapters/provenance-table';
import { SsmControlPlane } from '../../functions/adapters/ssm-control-plane';
import { createHealthCheckHandler } from '../../functions/health-check/health-check-handler';
import { createLifecycleSyncHandler } from '../../functions/lifecycle-sync/lifecycle-sync-handler';
import { createRouteHandler } from '../../functions/route/route-handler';
import { firstAnswering, startApiFrontDoor } from './api-front-door';
import { ensureProvenanceTable, localDynamoDbClient } from './dynamodb-local';
import { localSsmClient } from './parameter-store';
import { resettableRouter } from './router-state';
import { routerAdminRoutes, simAdminRoutes, type SimAdmins } from './sim-admin-routes';
import { startStandIns } from './stand-ins';

/** Where the local stack listens and what it routes to. */
export interface LocalStackOptions {
  readonly host?: string;
  readonly apiPort?: number;
  readonly dynamoDbPort?: number;
  readonly ssmPort?: number;
  readonly leanRunnerPort?: number;
  readonly alpacaPort?: number;
  /** Keeps dynalite's LevelDB, the parameters and the Alpaca simulator's orders across restarts; in memory when absent. */
  readonly dataDir?: string;
  /** `TRADING_*` and `ALPACA_*` overrides; the defaults route every symbol to LEAN. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** How often the real health-check and lifecycle sync handlers run (LOCAL_HEALTH_CHECK_INTERVAL_MS); 0 runs them once at start only. Default 10 s, shortest 1 s. */
  readonly healthCheckIntervalMs?: number;
}

/** A running local stack. */
export interface LocalStack {
  readonly apiUrl: string;
  readonly dynamoDbEndpoint: string;
  readonly ssmEndpoint: string;
  /** Where the control values live: `/lean-router/local/`. */
  readonly controlPrefix: string;
  readonly tableName: string;
  readonly leanRunnerUrl: string;
  readonly alpacaUrl: string;
  /**
   * The admin APIs of the simulators the stack runs (`lean`, `alpaca`; absent for a real service),
   * as `/_sim/{name}/*` serves them. The simulators run in the stand-ins process, so this is the
   * way to set their faults from this process.
   */
  readonly simulators: SimAdmins;
  close(): Promise<void>;
}

/** Local simulator credentials; a real Alpaca needs APCA_API_KEY_ID / APCA_API_SECRET_KEY. */
const SIMULATOR_CREDENTIALS = { keyId: 'local-key-id', secretKey: 'local-secret-key' };

/** How long after its last change an open order at the local Alpaca simulator takes its next step (fills). */
export const LOCAL_FILL_DELAY_MS = 2_000;

/** How often `npm start` runs the health-check, unless LOCAL_HEALTH_CHECK_INTERVAL_MS says otherwise. */
export const DEFAULT_HEALTH_CHECK_INTERVAL_MS = 10_000;
/** The shortest health-check interval the local stack accepts (AWS runs it every minute). */
export const SHORTEST_HEALTH_CHECK_INTERVAL_MS = 1_000;

/** 0 (run once at start) or a whole number of ms from SHORTEST_HEALTH_CHECK_INTERVAL_MS. */
export function isValidHealthCheckInterval(ms: number): boolean {
  return ms === 0 || (Number.isInteger(ms) && ms >= SHORTEST_HEALTH_CHECK_INTERVAL_MS);
}

/** The stage name of everything `npm start` runs: its table, control prefix and metrics. */
const LOCAL_STAGE = 'local';
const LOCAL_CONTROL_PREFIX = controlParameterPrefix(LOCAL_STAGE);

/**
 * Starts dynalite, the local Parameter Store and the simulators (unless real URLs are configured)
 * in a child process of their own (lib/local/stand-ins.ts), then the real route handler behind a
 * local API Gateway stand-in in this process, all on loopback, so the handler's event loop is its
 * own. The front door also serves the local admin routes: fault injection under `/_sim`
 * (forwarded to the child) and the router's state and reset under `/_router`. The health-check and
 * lifecycle sync run here, as router code. Everything started is closed on failure.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const host = options.host ?? '127.0.0.1';
  const env = { ...options.env };
  const intervalMs = options.healthCheckIntervalMs ?? DEFAULT_HEALTH_CHECK_INTERVAL_MS;
  if (!isValidHealthCheckInterval(intervalMs)) {
    throw new Error(`the health-check interval must be 0 (start only) or a whole number of ms from ${SHORTEST_HEALTH_CHECK_INTERVAL_MS}; got ${intervalMs}`);
  }
  const closers: (() => Promise<void>)[] = [];
  const close = async (): Promise<void> => {
    for (const closeOne of closers.reverse()) await closeOne();
  };
  try {
    const realAlpacaUrl = env.ALPACA_BASE_URL;
    const realLeanUrl = env.TRADING_LEAN_RUNNER_URL;
    const credentials = realAlpacaUrl ? realAlpacaCredentials(env) : SIMULATOR_CREDENTIALS;
    const standIns = await startStandIns({
      host,
      dynamoDbPort: options.dynamoDbPort ?? 8000,
      ssmPort: options.ssmPort ?? 4583,
      ...(options.dataDir ? { dataDir: options.dataDir } : {}),
      // Orders fill by themselves, so `npm start` shows them filling without anyone stepping the market.
      ...(realAlpacaUrl ? {} : { alpaca: { port: options.alpacaPort ?? 8091, ...SIMULATOR_CREDENTIALS, fillDelayMs: LOCAL_FILL_DELAY_MS } }),
      ...(realLeanUrl
        ? {}
        : { lean: { port: options.leanRunnerPort ?? 8090, ...(realAlpacaUrl ? { alpacaUrl: realAlpacaUrl } : {}), alpacaKeyId: credentials.keyId, alpacaSecretKey: credentials.secretKey } }),
    });
    closers.push(() => standIns.close());
    const alpacaUrl = realAlpacaUrl ?? standIns.alpacaUrl!;
    const leanRunnerUrl = realLeanUrl ?? standIns.leanRunnerUrl!;

    const client = localDynamoDbClient(standIns.dynamoDbEndpoint);
    closers.push(async () => client.destroy());
    const tableName = env.PROVENANCE_TABLE_NAME ?? provenanceTableName(LOCAL_STAGE);
    await ensureProvenanceTable(client, tableName);
    const ssm = localSsmClient(standIns.ssmEndpoint);
    closers.push(async () => ssm.destroy());

    // Credentials reach the handler the way they do in AWS: a SecureString it reads itself.
    const credentialsParameter = controlParameterName(LOCAL_CONTROL_PREFIX, CONTROL_PARAMETER.alpacaCredentials);
    await ssm.send(
      new PutParameterCommand({
        Name: credentialsParameter,
        Type: 'SecureString',
        Overwrite: true,
        Value: JSON.stringify({ key_id: credentials.keyId, secret_key: credentials.secretKey }),
      }),
    );

    await seedControlParameters(ssm, LOCAL_CONTROL_PREFIX);

    const routeEnv = {
      TRADING_EXECUTION_ADAPTER: 'lean',
      TRADING_EXECUTION_ADAPTER_POLICY: 'all',
      ...env,
      TRADING_LEAN_RUNNER_URL: leanRunnerUrl,
      ALPACA_BASE_URL: alpacaUrl,
      PROVENANCE_TABLE_NAME: tableName,
      CONTROL_PARAMETER_PREFIX: LOCAL_CONTROL_PREFIX,
      ALPACA_CREDENTIALS_PARAMETER: credentialsParameter,
    };
    // The real health-check and lifecycle sync, as EventBridge would run them: once now, so
    // lean-health is fresh before the first order, then on an interval. Runs never overlap each
    // other, a router reset or a sync asked for through POST /_router/sync.
    const healthCheck = createHealthCheckHandler(routeEnv, { dynamoDb: client, ssm });
    const lifecycleSync = createLifecycleSyncHandler(routeEnv, { dynamoDb: client, ssm });
    const chores = oneAtATime();
    closers.push(() => chores.idle());
    await chores.run(() => healthCheck());
    await chores.run(() => lifecycleSync());
    if (intervalMs > 0) {
      const scheduled = async (): Promise<void> => {
        await healthCheck().catch((error: unknown) => console.error('health-check run failed:', error));
        await lifecycleSync().catch((error: unknown) => console.error('lifecycle sync run failed:', error));
      };
      const timer = setInterval(() => chores.runUnlessBusy(scheduled), intervalMs);
      closers.push(async () => clearInterval(timer));
    }
    const router = resettableRouter({
      build: () => createRouteHandler(routeEnv, { dynamoDb: client, ssm }),
      control: new SsmControlPlane({ ssm, prefix: LOCAL_CONTROL_PREFIX, ttlMs: 0 }),
      fallbacks: new DynamoDbProvenanceIndex(client, tableName, new DynamoDbProvenanceStore(client, tableName)),
      governance: loadRouterConfig(routeEnv).governance,
      healthCheck: () => healthCheck(),
      lifecycleSync: () => lifecycleSync(),
      exclusively: chores.run,
    });
    // Fault injection lives on the front door too, so a `down` simulator can still be healed.
    const localRoutes = firstAnswering(simAdminRoutes(standIns.simulators), routerAdminRoutes(router.admin));
    const frontDoor = await startApiFrontDoor(router.handler, { host, port: options.apiPort ?? 3000, localRoutes });
    closers.push(() => frontDoor.close());

    return {
      apiUrl: frontDoor.url,
      dynamoDbEndpoint: standIns.dynamoDbEndpoint,
      ssmEndpoint: standIns.ssmEndpoint,
      controlPrefix: LOCAL_CONTROL_PREFIX,
      tableName,
      leanRunnerUrl,
      alpacaUrl,
      simulators: standIns.simulators,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Runs chores one after another. `runUnlessBusy` skips a chore while another is under way or
 * waiting, as a scheduled run that finds the last one still going would; `idle` settles once
 * every chore started so far has ended.
 */
function oneAtATime(): { run<T>(work: () => Promise<T>): Promise<T>; runUnlessBusy(work: () => Promise<unknown>): void; idle(): Promise<void> } {
  let queue: Promise<unknown> = Promise.resolve();
  let waiting = 0;
  const run = <T>(work: () => Promise<T>): Promise<T> => {
    waiting += 1;
    const done = queue.then(work).finally(() => {
      waiting -= 1;
    });
    queue = done.catch(() => undefined);
    return done;
  };
  return {
    run,
    runUnlessBusy: (work) => {
      // The chore reports its own failures; this only keeps a rejection from going unhandled.
      if (waiting === 0) run(work).catch(() => undefined);
    },
    idle: async () => {
      await queue;
    },
  };
}

/** Without both keys every order would be refused by Alpaca: say so before anything listens. */
function realAlpacaCredentials(env: Readonly<Record<string, string | undefined>>): { keyId: string; secretKey: string } {
  const keyId = env.APCA_API_KEY_ID?.trim() ?? '';
  const secretKey = env.APCA_API_SECRET_KEY?.trim() ?? '';
  if (keyId === '' || secretKey === '') {
    throw new Error(`ALPACA_BASE_URL is set (${env.ALPACA_BASE_URL}) but APCA_API_KEY_ID and APCA_API_SECRET_KEY are not both set; set them, or unset ALPACA_BASE_URL to use the simulator`);
  }
  return { keyId, secretKey };
}

/**
 * Writes the control values a fresh stage starts with, as the CDK stack does: `kill-switch` off.
 * Values already there (an operator's, kept in LOCAL_DATA_DIR) are left alone.
 */
export async function seedControlParameters(ssm: SSMClient, prefix: string): Promise<void> {
  try {
    await ssm.send(
      new PutParameterCommand({ Name: controlParameterName(prefix, CONTROL_PARAMETER.killSwitch), Type: 'String', Value: 'off', Overwrite: false }),
    );
  } catch (error) {
    if (!(error instanceof ParameterAlreadyExists)) throw error;
  }
}
