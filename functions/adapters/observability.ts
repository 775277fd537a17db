import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** The service name on every log line and metric. */
export const SERVICE_NAME = 'lean-router';
/** The one CloudWatch namespace of every router metric; alarms and the dashboard read it. */
export const METRICS_NAMESPACE = 'LeanRouter';

/** The process-wide structured logger; created once so every module shares its context. */
export const logger = new Logger({ serviceName: SERVICE_NAME });

/** The variable naming the deployment stage (`paper`, `live`); `local` when unset. */
export const ROUTER_STAGE_VARIABLE = 'ROUTER_STAGE';

/**
 * The process-wide EMF metrics; each handler flushes it once per invocation. Every metric carries
 * the stage as a dimension, so a paper stack in the same account never sets off live's alarms.
 */
export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAME,
  defaultDimensions: { stage: process.env[ROUTER_STAGE_VARIABLE] || 'local' },
});
