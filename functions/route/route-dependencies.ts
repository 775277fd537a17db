import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import { CircuitBreaker } from '../core/breaker';
import { loadRouterConfig } from '../core/config';
import { CONTROL_PARAMETER, controlParameterName } from '../core/control-parameters';
import { systemClock, type RouteLogger, type RouteMetrics } from '../core/ports';
import type { RouteDependencies } from '../core/route-order';
import { ALPACA_PAPER_URL, AlpacaClient, type AlpacaCredentialsProvider } from '../adapters/alpaca-client';
import { DynamoDbProvenanceIndex } from '../adapters/dynamodb-provenance-index';
import { DynamoDbProvenanceStore } from '../adapters/dynamodb-provenance-store';
import { LeanRunnerClient } from '../adapters/lean-runner-client';
import { SsmAlpacaCredentials } from '../adapters/ssm-alpaca-credentials';
import { SsmControlPlane } from '../adapters/ssm-control-plane';

/** Where the route function's infrastructure is; unlike routing values, these fail fast. */
const infrastructureSchema = z.object({
  PROVENANCE_TABLE_NAME: z.string().min(1, 'PROVENANCE_TABLE_NAME is required'),
  ALPACA_BASE_URL: z.url({ protocol: /^https?$/ }).default(ALPACA_PAPER_URL),
  CONTROL_PARAMETER_PREFIX: z
    .string({ error: 'CONTROL_PARAMETER_PREFIX is required (the SSM folder of the control values, such as /lean-router/paper/)' })
    .regex(/^\/[A-Za-z0-9_.\-/]*\/$/, 'CONTROL_PARAMETER_PREFIX must start and end with / (such as /lean-router/paper/)'),
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
  /** Used for the control values and the credentials SecureString; defaults to a client from the standard AWS configuration. */
  readonly ssm?: SSMClient;
}

/** The route function's dependencies plus the infrastructure settings they were built from. */
export interface BuiltRouteDependencies extends RouteDependencies {
  readonly controlPlane: SsmControlPlane;
}

/**
 * Builds the route function's dependencies once, at init. Endpoints come from the standard AWS
 * variables (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SSM`), so the same code runs locally.
 */
export function buildRouteDependencies(
  env: Readonly<Record<string, string | undefined>>,
  overrides: RouteDependencyOverrides,
): BuiltRouteDependencies {
  const infra = parseInfrastructure(env);
  const config = loadRouterConfig(env);
  const { timeouts, governance } = config;

  const ssm = overrides.ssm ?? defaultSsmClient();
  const credentials = overrides.alpacaCredentials ?? ssmAlpacaCredentials(infra, ssm);
  const dynamoDb = overrides.dynamoDb ?? defaultDynamoDbClient();
  const store = new DynamoDbProvenanceStore(dynamoDb, infra.PROVENANCE_TABLE_NAME);
  const controlPlane = new SsmControlPlane({ ssm, prefix: infra.CONTROL_PARAMETER_PREFIX, ttlMs: governance.controlCacheTtlMs, logger: overrides.logger });
  return {
    config,
    store,
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
    control: controlPlane,
    controlPlane,
    breaker: new CircuitBreaker({ failureThreshold: governance.breakerFailureThreshold, cooldownMs: governance.breakerCooldownMs }, systemClock),
    fallbackHistory: new DynamoDbProvenanceIndex(dynamoDb, infra.PROVENANCE_TABLE_NAME, store),
    metrics: overrides.metrics,
    logger: overrides.logger,
    clock: systemClock,
  };
}

/** The infrastructure variables, validated; throws InfrastructureConfigError naming each bad one. */
export function parseInfrastructure(env: Readonly<Record<string, string | undefined>>): z.output<typeof infrastructureSchema> {
  const parsed = infrastructureSchema.safeParse(env);
  if (!parsed.success) {
    throw new InfrastructureConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  }
  return parsed.data;
}

/** The Alpaca SecureString: ALPACA_CREDENTIALS_PARAMETER, or `alpaca-credentials` under the control prefix. */
export function ssmAlpacaCredentials(infra: z.output<typeof infrastructureSchema>, ssm: SSMClient): SsmAlpacaCredentials {
  return new SsmAlpacaCredentials({
    ssm,
    parameterName: infra.ALPACA_CREDENTIALS_PARAMETER ?? controlParameterName(infra.CONTROL_PARAMETER_PREFIX, CONTROL_PARAMETER.alpacaCredentials),
  });
}

// Short timeouts and few attempts: a slow AWS endpoint must not eat the order's time budget.
/** The DynamoDB client both functions use, from the standard AWS configuration. */
export function defaultDynamoDbClient(): DynamoDBClient {
  return new DynamoDBClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 } });
}

/** The SSM client both functions use, from the standard AWS configuration. */
export function defaultSsmClient(): SSMClient {
  return new SSMClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 1_000, requestTimeout: 1_500 } });
}
