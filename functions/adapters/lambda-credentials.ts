import { ENV_KEY, ENV_SECRET, fromEnv, type FromEnvInit } from '@aws-sdk/credential-provider-env';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles only: the bundler aliases
 * that package to this module (LAMBDA_MODULE_ALIASES in lib/router-bundling.ts); nothing imports it
 * directly, so tests and the local stack keep the SDK's full chain. In AWS Lambda the execution
 * role's credentials are always in the environment, so the chain's other links (SSO, profile files,
 * process, web identity, container and instance metadata) are dead weight in the bundle.
 */

/** Why the provider refuses to run without the variables: this bundle is not for anywhere else. */
const MISSING_LAMBDA_CREDENTIALS =
  `${ENV_KEY} and ${ENV_SECRET} are not set: this bundle is for AWS Lambda, where the role's credentials are in the environment`;

/**
 * What the SDK clients' runtime config imports as `credentialDefaultProvider`: the environment
 * credentials (with `AWS_SESSION_TOKEN`), read at each call, or an error naming the missing variables.
 */
export function defaultProvider(init?: FromEnvInit): ReturnType<typeof fromEnv> {
  const provider = fromEnv(init);
  return async (identityProperties) => {
    if (!process.env[ENV_KEY] || !process.env[ENV_SECRET]) throw new Error(MISSING_LAMBDA_CREDENTIALS);
    return provider(identityProperties);
  };
}
