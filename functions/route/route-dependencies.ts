import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { CircuitBreaker } from '../core/breaker';
import { loadRouterConfig } from '../core/config';
import { systemClock, type RouteLogger, type RouteMetrics } from '../core/ports';
import type { OrderApiDependencies } from './order-api';
import type { AlpacaCredentialsProvider } from '../adapters/alpaca-client';
import { DynamoDbProvenanceIndex } from '../adapters/dynamodb-provenance-index';
import { DynamoDbProvenanceStore } from '../adapters/dynamodb-provenance-store';
import {
  alpacaClient,
  defaultDynamoDbClient,
  defaultSsmClient,
  leanRunnerClient,
  parseInfrastructure,
  ssmAlpacaCredentials,
} from '../adapters/infrastructure';
import { SsmControlPlane } from '../adapters/ssm-control-plane';

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

/**
 * Builds the route function's dependencies once, at init: the same clients serve routing and cancelling. Endpoints come from the standard AWS
 * variables (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SSM`), so the same code runs locally.
 */
export function buildRouteDependencies(
  env: Readonly<Record<string, string | undefined>>,
  overrides: RouteDependencyOverrides,
): OrderApiDependencies {
  const infra = parseInfrastructure(env);
  const config = loadRouterConfig(env);
  const { governance, timeouts } = config;

  const ssm = overrides.ssm ?? defaultSsmClient();
  const dynamoDb = overrides.dynamoDb ?? defaultDynamoDbClient();
  const store = new DynamoDbProvenanceStore(dynamoDb, infra.PROVENANCE_TABLE_NAME, timeouts.dynamoDbMs);
  const lean = leanRunnerClient(config, timeouts.leanConnectMs, { infra, ssm });
  return {
    config,
    store,
    ...(lean === undefined ? {} : { lean }),
    alpaca: alpacaClient(infra, config, overrides.alpacaCredentials ?? ssmAlpacaCredentials(infra, ssm, timeouts.ssmMs)),
    control: new SsmControlPlane({ ssm, prefix: infra.CONTROL_PARAMETER_PREFIX, ttlMs: governance.controlCacheTtlMs, maxAgeMs: governance.controlMaxAgeMs, callTimeoutMs: timeouts.ssmMs, logger: overrides.logger }),
    breaker: new CircuitBreaker({ failureThreshold: governance.breakerFailureThreshold, cooldownMs: governance.breakerCooldownMs }, systemClock),
    fallbackHistory: new DynamoDbProvenanceIndex(dynamoDb, infra.PROVENANCE_TABLE_NAME, store, timeouts.dynamoDbMs),
    metrics: overrides.metrics,
    logger: overrides.logger,
    clock: systemClock,
  };
}
