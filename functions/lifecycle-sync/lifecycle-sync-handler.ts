import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { AlpacaCredentialsProvider } from '../adapters/alpaca-client';
import { DynamoDbProvenanceIndex } from '../adapters/dynamodb-provenance-index';
import { DynamoDbProvenanceStore } from '../adapters/dynamodb-provenance-store';
import { alpacaClient, defaultDynamoDbClient, defaultSsmClient, leanRunnerClient, parseInfrastructure, ssmAlpacaCredentials } from '../adapters/infrastructure';
import { logger, metrics, traceInvocation } from '../adapters/observability';
import { PowertoolsLifecycleMetrics } from '../adapters/powertools-lifecycle-metrics';
import { SsmControlPlane } from '../adapters/ssm-control-plane';
import { loadRouterConfig } from '../core/config';
import { loadLifecycleSyncSettings, runLifecycleSync, type LifecycleSyncReport } from '../core/lifecycle-sync';
import { systemClock, type Clock } from '../core/ports';

/** The scheduled lifecycle sync as a Lambda handler. */
export type LifecycleSyncHandler = (event?: ScheduledEvent, context?: Context) => Promise<LifecycleSyncReport>;

/** Clients the caller may supply (the local stack points them at loopback); the rest come from the environment. */
export interface LifecycleSyncClients {
  readonly dynamoDb?: DynamoDBClient;
  readonly ssm?: SSMClient;
  readonly alpacaCredentials?: AlpacaCredentialsProvider;
  /** The system clock unless given; the open rows' batches take turns by its minute. */
  readonly clock?: Clock;
}

/** Left of the function's own time when the run's budget ends: the metrics still have to go out. */
const FLUSH_RESERVE_MS = 1_000;

/**
 * Builds the sync once per container, from the route function's variables (table, Alpaca URL and
 * credentials, runner URL, timeouts, notional tolerance) plus its own `TRADING_LIFECYCLE_SYNC_*`
 * bounds and reconciliation's `TRADING_RECONCILE_*` values. A divergent id blocks its strategy in
 * `strategies/<strategy_id>` under `CONTROL_PARAMETER_PREFIX` (the sync writes nothing else there).
 */
export function createLifecycleSyncHandler(env: Readonly<Record<string, string | undefined>>, clients: LifecycleSyncClients = {}): LifecycleSyncHandler {
  const infra = parseInfrastructure(env);
  const router = loadRouterConfig(env);
  const loaded = loadLifecycleSyncSettings(env);
  if (loaded.problems.length > 0) logger.warn('lifecycle_sync_misconfigured', { problems: loaded.problems, using: 'defaults for those values' });

  const dynamoDb = clients.dynamoDb ?? defaultDynamoDbClient();
  // Reconciliation starts a resolve only with room for the store's calls at this timeout.
  const store = new DynamoDbProvenanceStore(dynamoDb, infra.PROVENANCE_TABLE_NAME, loaded.settings.storeTimeoutMs);
  const unresolved = new DynamoDbProvenanceIndex(dynamoDb, infra.PROVENANCE_TABLE_NAME, store, loaded.settings.storeTimeoutMs);
  const ssm = clients.ssm ?? defaultSsmClient();
  const credentials = clients.alpacaCredentials ?? ssmAlpacaCredentials(infra, ssm);
  const alpaca = alpacaClient(infra, router, credentials);
  const runnerLookup = leanRunnerClient(router, undefined, { infra, ssm });
  const lifecycleMetrics = new PowertoolsLifecycleMetrics(metrics);
  // Only its strategy write is used: the sync reads no control value.
  const strategies = new SsmControlPlane({ ssm, prefix: infra.CONTROL_PARAMETER_PREFIX, ttlMs: 0, callTimeoutMs: router.timeouts.ssmMs, logger });

  return async (_event, context) => {
    if (context) logger.addContext(context);
    const budgetMs = context ? Math.min(loaded.settings.budgetMs, context.getRemainingTimeInMillis() - FLUSH_RESERVE_MS) : loaded.settings.budgetMs;
    try {
      return await traceInvocation(() =>
        runLifecycleSync({
          settings: { ...loaded.settings, budgetMs },
          store,
          unresolved,
          alpaca,
          alpacaLookup: alpaca,
          ...(runnerLookup === undefined ? {} : { runnerLookup }),
          strategies,
          metrics: lifecycleMetrics,
          logger,
          clock: clients.clock ?? systemClock,
        }),
      );
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
