import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { DynamoDbProvenanceIndex } from '../adapters/dynamodb-provenance-index';
import { DynamoDbProvenanceStore } from '../adapters/dynamodb-provenance-store';
import { defaultDynamoDbClient, defaultSsmClient, leanRunnerClient, parseInfrastructure } from '../adapters/infrastructure';
import { logger, metrics, traceInvocation } from '../adapters/observability';
import { PowertoolsHealthMetrics } from '../adapters/powertools-health-metrics';
import { SsmControlPlane } from '../adapters/ssm-control-plane';
import { loadHealthCheckConfig, loadRouterConfig } from '../core/config';
import { runHealthCheck, type HealthCheckDependencies, type HealthCheckReport } from '../core/health-check';
import { systemClock } from '../core/ports';

/** The scheduled health-check as a Lambda handler. */
export type HealthCheckHandler = (event?: ScheduledEvent, context?: Context) => Promise<HealthCheckReport>;

/** Clients the caller may supply (the local stack points them at loopback); the rest come from the environment. */
export interface HealthCheckClients {
  readonly dynamoDb?: DynamoDBClient;
  readonly ssm?: SSMClient;
}

/**
 * Builds the health-check once per container, from the same variables as the route function
 * (same runner URL, table, control prefix) plus its own thresholds.
 */
export function createHealthCheckHandler(env: Readonly<Record<string, string | undefined>>, clients: HealthCheckClients = {}): HealthCheckHandler {
  const infra = parseInfrastructure(env);
  const router = loadRouterConfig(env);
  const settings = loadHealthCheckConfig(env);
  if (settings.problems.length > 0) logger.warn('health_check_misconfigured', { problems: settings.problems, using: 'defaults for those values' });

  const ssm = clients.ssm ?? defaultSsmClient();
  const dynamoDb = clients.dynamoDb ?? defaultDynamoDbClient();
  const store = new DynamoDbProvenanceStore(dynamoDb, infra.PROVENANCE_TABLE_NAME);
  // The probe must give up within its own timeout, connect included.
  const runner = leanRunnerClient(router, Math.min(router.timeouts.leanConnectMs, settings.probeTimeoutMs), { infra, ssm });
  const dependencies: HealthCheckDependencies = {
    settings: {
      errorRateWindowMs: settings.errorRateWindowMs,
      errorRateMinVolume: settings.errorRateMinVolume,
      errorRateThreshold: settings.errorRateThreshold,
      runnerHealthStaleMs: router.governance.runnerHealthStaleMs,
      manualReviewFallbacks: router.governance.manualReviewFallbacks,
      manualReviewWindowMs: router.governance.manualReviewWindowMs,
    },
    control: new SsmControlPlane({ ssm, prefix: infra.CONTROL_PARAMETER_PREFIX, ttlMs: 0, logger }),
    store: new DynamoDbProvenanceIndex(dynamoDb, infra.PROVENANCE_TABLE_NAME, store),
    ...(runner === undefined ? {} : { runner: { probe: () => runner.probe(settings.probeTimeoutMs) } }),
    metrics: new PowertoolsHealthMetrics(metrics),
    logger,
    clock: systemClock,
  };
  return async (_event, context) => {
    if (context) logger.addContext(context);
    try {
      return await traceInvocation(() => runHealthCheck(dependencies));
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
