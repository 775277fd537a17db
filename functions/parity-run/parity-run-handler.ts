import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { DynamoDbParityReader } from '../adapters/dynamodb-parity-reader';
import { defaultDynamoDbClient, defaultSsmClient, parseInfrastructure } from '../adapters/infrastructure';
import { logger, metrics, traceInvocation } from '../adapters/observability';
import { PowertoolsParityMetrics } from '../adapters/powertools-parity-metrics';
import { SsmParityStore } from '../adapters/ssm-parity-store';
import { STAGE_VARIABLE } from '../core/config';
import { loadParityConfig } from '../core/parity-config';
import { loadParityRunSettings, runParity, type ParityRunReport } from '../core/parity-run';
import { systemClock, type Clock } from '../core/ports';

/** The scheduled parity run as a Lambda handler. */
export type ParityRunHandler = (event?: ScheduledEvent, context?: Context) => Promise<ParityRunReport>;

/** Clients the caller may supply (tests and the local stack point them at loopback); the rest come from the environment. */
export interface ParityRunClients {
  readonly dynamoDb?: DynamoDBClient;
  readonly ssm?: SSMClient;
  readonly clock?: Clock;
}

/** A run that could not read its rows or read or write a stored report: failed, so Lambda sends it to the failure destination. */
export class ParityRunFailedError extends Error {
  override readonly name = 'ParityRunFailedError';
}

/** Left of the function's own time when the run's budget ends: the metrics still have to go out. */
const FLUSH_RESERVE_MS = 1_000;
/** Failures named in the error the failure destination records; the log lines name every one. */
const MAX_NAMED_FAILURES = 3;
/** One page of the rows may take this long, SDK retries included. */
const PAGE_TIMEOUT_MS = 10_000;

/**
 * Builds the run once per container from the table, the control prefix, the stage, the report's
 * `TRADING_PARITY_*` thresholds and row cap, and the run's own `TRADING_PARITY_*` bounds. A run
 * with a failed step throws after its metrics are out, so the failure is recorded and alarmed.
 */
export function createParityRunHandler(env: Readonly<Record<string, string | undefined>>, clients: ParityRunClients = {}): ParityRunHandler {
  const infra = parseInfrastructure(env);
  const stage = env[STAGE_VARIABLE]?.trim() || 'local';
  const config = loadParityConfig(env);
  const run = loadParityRunSettings(env);
  const problems = [...config.problems, ...run.problems];
  if (problems.length > 0) logger.warn('parity_run_misconfigured', { problems, using: 'defaults for those values' });

  const rows = new DynamoDbParityReader(clients.dynamoDb ?? defaultDynamoDbClient(), infra.PROVENANCE_TABLE_NAME, { maxRows: config.maxRows, pageTimeoutMs: PAGE_TIMEOUT_MS });
  const store = new SsmParityStore(clients.ssm ?? defaultSsmClient(), infra.CONTROL_PARAMETER_PREFIX);
  const parityMetrics = new PowertoolsParityMetrics(metrics);

  return async (_event, context) => {
    if (context) logger.addContext(context);
    const budgetMs = context ? Math.min(run.settings.budgetMs, context.getRemainingTimeInMillis() - FLUSH_RESERVE_MS) : run.settings.budgetMs;
    let report: ParityRunReport;
    try {
      report = await traceInvocation(() =>
        runParity({
          stage,
          settings: { ...run.settings, budgetMs },
          thresholds: config.thresholds,
          rows,
          store,
          metrics: parityMetrics,
          logger,
          clock: clients.clock ?? systemClock,
        }),
      );
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
    if (report.failures.length > 0) {
      const named = report.failures.slice(0, MAX_NAMED_FAILURES).map((failure) => `${failure.step}${failure.strategy_id === undefined ? '' : ` ${failure.strategy_id}`}: ${failure.error}`);
      const more = report.failures.length > MAX_NAMED_FAILURES ? `; and ${report.failures.length - MAX_NAMED_FAILURES} more (see the parity_run_failed log lines)` : '';
      throw new ParityRunFailedError(`parity run ${report.stopped}: ${named.join('; ')}${more}`);
    }
    return report;
  };
}
