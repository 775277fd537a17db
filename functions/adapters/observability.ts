import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
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

/**
 * The process-wide X-Ray tracer. Its default HTTP(S) capture patches `http.request` and
 * `https.request`, so each broker call (functions/adapters/http-exchange.ts calls them through the
 * module object) is a `remote` subsegment named for the host, holding the method, the URL without
 * its query, and the status; no header is recorded. Outside Lambda, or with
 * `POWERTOOLS_TRACE_ENABLED=false`, it disables itself and patches nothing.
 */
export const tracer = new Tracer({ serviceName: SERVICE_NAME });

/** Bounded values that identify no order, symbol, account, key or token: the route taken, a status. */
export type TraceAnnotations = Readonly<Record<string, string | number | boolean>>;

/**
 * Runs one invocation in a `## <handler>` subsegment annotated with the cold start, the service
 * and what `annotate` picks from the result. Unlike Tracer's `captureLambdaHandler`, it records
 * neither the result nor an error's message as metadata: both can carry order ids.
 */
export async function traceInvocation<T>(run: () => Promise<T>, annotate?: (result: T) => TraceAnnotations): Promise<T> {
  const traced = async (subsegment?: { addFaultFlag(): void; close(): void }): Promise<T> => {
    // No-ops while tracing is disabled; called anyway so the calls are the same everywhere.
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    try {
      const result = await run();
      // Only a traced invocation pays for its annotations (the route's reads the answer's body).
      if (subsegment !== undefined) for (const [key, value] of Object.entries(annotate?.(result) ?? {})) tracer.putAnnotation(key, value);
      return result;
    } catch (error) {
      subsegment?.addFaultFlag();
      throw error;
    } finally {
      subsegment?.close();
    }
  };
  if (!tracer.isTracingEnabled()) return traced();
  // The X-Ray SDK returns what `traced` returns, typed `unknown`.
  return tracer.provider.captureAsyncFunc(`## ${process.env._HANDLER ?? 'handler'}`, traced) as Promise<T>;
}
