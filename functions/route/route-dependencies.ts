import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { loadRouterConfig } from '../core/config';
import { systemClock, type RouteLogger, type RouteMetrics } from '../core/ports';
import type { RouteDependencies } from '../core/route-order';
import { ALPACA_PAPER_URL, AlpacaClient, type AlpacaCredentialsProvider } from '../adapters/alpaca-client';
import { DynamoDbProvenanceStore } from '../adapters/dynamodb-provenance-store';
import { LeanRunnerClient } from '../adapters/lean-runner-client';
import { SsmAlpacaCredentials } from '../adapters/ssm-alpaca-credentials';

/** Where the route function's infrastructure is; unlike routing values, these fail fast. */
const infrastructureSchema = z.object({
  PROVENANCE_TABLE_NAME: z.string().min(1, 'PROVENANCE_TABLE_NAME is required'),
  ALPACA_BASE_URL: z.url({ protocol: /^https?$/ }).default(ALPACA_PAPER_URL),
  ALPACA_CREDENTIALS_PARAMETER: z.string().startsWith('/', 'ALPACA_CREDENTIALS_PARAMETER must be an SSM parameter name such as /lean-router/paper/alpaca-credentials').optional(),
});

/** Thrown at init when the function cannot run at all; the message says which variable to fix. */
export class InfrastructureConfigError extends Error {
  override readonly name = 'InfrastructureConfigError';
}

/** What the caller must supply; everything else is built from the environment. */
export interface RouteDependencyOverrides {
  readonly logger: RouteLogger;
  readonly metrics: RouteMetrics;
  /** Defaults to the SecureString named by ALPACA_CREDENTIALS_PARAMETER. */
  readonly alpacaCredentials?: AlpacaCredentialsProvider;
  readonly dynamoDb?: DynamoDBClient;
  /** Used for the credentials SecureString; defaults to a client from the standard AWS configuration. */
  readonly ssm?: SSMClient;
}

/**
 * Builds the route function's dependencies once, at init. Endpoints come from the standard AWS
 * variables (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SSM`), so the same code runs locally.
 */
export function buildRouteDependencies(
  env: Readonly<Record<string, string | undefined>>,
  overrides: RouteDependencyOverrides,
): RouteDependencies {
  const parsed = infrastructureSchema.safeParse(env);
  if (!parsed.success) {
    throw new InfrastructureConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  }
  const infra = parsed.data;
  const config = loadRouterConfig(env);
  const { timeouts } = config;

  const credentials = overrides.alpacaCredentials ?? ssmCredentials(infra.ALPACA_CREDENTIALS_PARAMETER, overrides.ssm);
  const dynamoDb = overrides.dynamoDb ?? new DynamoDBClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 } });
  return {
    config,
    store: new DynamoDbProvenanceStore(dynamoDb, infra.PROVENANCE_TABLE_NAME),
    ...(config.leanRunnerUrl === undefined
      ? {}
      : {
          lean: new LeanRunnerClient({
            baseUrl: config.leanRunnerUrl,
            connectTimeoutMs: timeouts.leanConnectMs,
            submitTimeoutMs: timeouts.leanSubmitMs,
            lookupTimeoutMs: timeouts.leanLookupMs,
          }),
        }),
    alpaca: new AlpacaClient({
      baseUrl: infra.ALPACA_BASE_URL,
      credentials,
      connectTimeoutMs: timeouts.alpacaConnectMs,
      submitTimeoutMs: timeouts.alpacaSubmitMs,
      lookupTimeoutMs: timeouts.alpacaLookupMs,
    }),
    metrics: overrides.metrics,
    logger: overrides.logger,
    clock: systemClock,
  };
}

function ssmCredentials(parameterName: string | undefined, ssm: SSMClient | undefined): AlpacaCredentialsProvider {
  if (parameterName === undefined) {
    throw new InfrastructureConfigError('ALPACA_CREDENTIALS_PARAMETER is required (the SecureString holding the Alpaca keys)');
  }
  return new SsmAlpacaCredentials({ ssm: ssm ?? new SSMClient({ maxAttempts: 2 }), parameterName });
}
