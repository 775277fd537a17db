import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { STAGE_VARIABLE } from '../core/config';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../core/metric-names';

// Names live in side-effect-free core modules (the CDK app imports them); re-exported for the functions.
export { METRICS_NAMESPACE, SERVICE_NAME };

/** The process-wide structured logger; created once so every module shares its context. */
export const logger = new Logger({ serviceName: SERVICE_NAME });

/** The variable naming the deployment stage (`paper`, `live`); `local` when unset. */
export const ROUTER_STAGE_VARIABLE = STAGE_VARIABLE;

/**
 * The process-wide EMF metrics; each handler flushes it once per invocation. Every metric carries
 * the stage as a dimension, so a paper stack in the same account never sets off live's alarms.
 */
export const metrics = new Metrics({
  namespace: METRICS_NAMESPACE,
  serviceName: SERVICE_NAME,
  defaultDimensions: { stage: process.env[ROUTER_STAGE_VARIABLE] || 'local' },
});
