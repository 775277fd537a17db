import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod/mini';
import '../core/zod-locale';
import type { RouterConfig } from '../core/config';
import { CONTROL_PARAMETER, controlParameterName } from '../core/control-parameters';
import { ALPACA_PAPER_URL } from '../core/alpaca-endpoints';
import { AlpacaClient, type AlpacaCredentialsProvider } from './alpaca-client';
import { LeanRunnerClient } from './lean-runner-client';
import { tracer } from './observability';
import { SsmLeanRunnerToken, type LeanRunnerTokenProvider } from './lean-runner-token';
import { SsmAlpacaCredentials } from './ssm-alpaca-credentials';

/** Where both functions' infrastructure is; unlike routing values, these fail fast. */
const infrastructureSchema = z.object({
  PROVENANCE_TABLE_NAME: z.string().check(z.minLength(1, 'PROVENANCE_TABLE_NAME is required')),
  ALPACA_BASE_URL: z._default(z.url({ protocol: /^https?$/ }), ALPACA_PAPER_URL),
  CONTROL_PARAMETER_PREFIX: z
    .string({ error: 'CONTROL_PARAMETER_PREFIX is required (the SSM folder of the control values, such as /lean-router/paper/)' })
    .check(z.regex(/^\/[A-Za-z0-9_.\-/]*\/$/, 'CONTROL_PARAMETER_PREFIX must start and end with / (such as /lean-router/paper/)')),
  ALPACA_CREDENTIALS_PARAMETER: z.optional(
    z.string().check(z.startsWith('/', 'ALPACA_CREDENTIALS_PARAMETER must be an SSM parameter name such as /lean-router/paper/alpaca-credentials')),
  ),
  // The token's name only: its value never reaches the environment.
  LEAN_RUNNER_TOKEN_PARAMETER: z.optional(
    z.string().check(z.startsWith('/', 'LEAN_RUNNER_TOKEN_PARAMETER must be an SSM parameter name such as /lean-router/live/lean-runner-token')),
  ),
});

/** The validated infrastructure variables. */
export type Infrastructure = z.output<typeof infrastructureSchema>;

/** Thrown at init when a function cannot run at all; the message says which variable to fix. */
export class InfrastructureConfigError extends Error {
  override readonly name = 'InfrastructureConfigError';
}

/** The infrastructure variables, validated; throws InfrastructureConfigError naming each bad one. */
export function parseInfrastructure(env: Readonly<Record<string, string | undefined>>): Infrastructure {
  const parsed = infrastructureSchema.safeParse(env);
  if (!parsed.success) {
    throw new InfrastructureConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  }
  return parsed.data;
}

/** The Alpaca SecureString: ALPACA_CREDENTIALS_PARAMETER, or `alpaca-credentials` under the control prefix. */
export function ssmAlpacaCredentials(infra: Infrastructure, ssm: SSMClient, callTimeoutMs?: number): SsmAlpacaCredentials {
  return new SsmAlpacaCredentials({
    ssm,
    ...(callTimeoutMs === undefined ? {} : { callTimeoutMs }),
    parameterName: infra.ALPACA_CREDENTIALS_PARAMETER ?? controlParameterName(infra.CONTROL_PARAMETER_PREFIX, CONTROL_PARAMETER.alpacaCredentials),
  });
}

/** The runner token's SecureString named by LEAN_RUNNER_TOKEN_PARAMETER; absent when none is named (calls then carry no token). */
export function ssmLeanRunnerToken(infra: Infrastructure, ssm: SSMClient, callTimeoutMs?: number): SsmLeanRunnerToken | undefined {
  if (infra.LEAN_RUNNER_TOKEN_PARAMETER === undefined) return undefined;
  return new SsmLeanRunnerToken({ ssm, parameterName: infra.LEAN_RUNNER_TOKEN_PARAMETER, ...(callTimeoutMs === undefined ? {} : { callTimeoutMs }) });
}

// Short timeouts and few attempts: a slow AWS endpoint must not eat the order's time budget (each
// call is also bounded as a whole by an abort signal, retries included).
// Each call of a default client is an X-Ray subsegment (a no-op outside Lambda); clients that
// tests and the local stack pass in are left as they are.
/** The DynamoDB client both functions use, from the standard AWS configuration. */
export function defaultDynamoDbClient(): DynamoDBClient {
  return tracer.captureAWSv3Client(new DynamoDBClient({ maxAttempts: 3, requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 } }));
}

/** The SSM client both functions use, from the standard AWS configuration. */
export function defaultSsmClient(): SSMClient {
  return tracer.captureAWSv3Client(new SSMClient({ maxAttempts: 2, requestHandler: { connectionTimeout: 1_000, requestTimeout: 1_500 } }));
}

/** Where the runner token is read from: the infrastructure naming it and the SSM client to read it with. */
export interface LeanRunnerTokenSource {
  readonly infra: Infrastructure;
  readonly ssm: SSMClient;
}

/**
 * The LEAN runner client with the configured timeouts; absent when no runner URL is configured.
 * With `tokenSource`, every call carries the bearer token of the SecureString named by
 * LEAN_RUNNER_TOKEN_PARAMETER, when one is named (see {@link ssmLeanRunnerToken}).
 */
export function leanRunnerClient(
  config: RouterConfig,
  connectTimeoutMs = config.timeouts.leanConnectMs,
  tokenSource?: LeanRunnerTokenSource,
): LeanRunnerClient | undefined {
  if (config.leanRunnerUrl === undefined) return undefined;
  const token: LeanRunnerTokenProvider | undefined = tokenSource && ssmLeanRunnerToken(tokenSource.infra, tokenSource.ssm, config.timeouts.ssmMs);
  return new LeanRunnerClient({
    baseUrl: config.leanRunnerUrl,
    connectTimeoutMs,
    submitTimeoutMs: config.timeouts.leanSubmitMs,
    lookupTimeoutMs: config.timeouts.leanLookupMs,
    ...(token === undefined ? {} : { token }),
  });
}

/** The Alpaca client with the configured timeouts. */
export function alpacaClient(infra: Infrastructure, config: RouterConfig, credentials: AlpacaCredentialsProvider): AlpacaClient {
  return new AlpacaClient({
    baseUrl: infra.ALPACA_BASE_URL,
    credentials,
    connectTimeoutMs: config.timeouts.alpacaConnectMs,
    submitTimeoutMs: config.timeouts.alpacaSubmitMs,
    lookupTimeoutMs: config.timeouts.alpacaLookupMs,
  });
}
