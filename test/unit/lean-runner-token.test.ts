import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ssmLeanRunnerToken, parseInfrastructure } from '../../functions/adapters/infrastructure';
import { LeanRunnerTokenError, SsmLeanRunnerToken } from '../../functions/adapters/lean-runner-token';
import { CONTROL_PARAMETER, controlParameterName } from '../../functions/core/control-parameters';

const PARAMETER = '/lean-router/test/lean-runner-token';
const TOKEN = 'rUnNeR-token-7e6d5c';

const ssm = mockClient(SSMClient);

function parameter(value: string, type: 'String' | 'SecureString' = 'SecureString') {
  return { Parameter: { Name: PARAMETER, Type: type, Value: value } };
}

function provider(): SsmLeanRunnerToken {
  return new SsmLeanRunnerToken({ ssm: new SSMClient({ region: 'us-east-1' }), parameterName: PARAMETER });
}

/** The LeanRunnerTokenError a failing `get` throws; fails the test if it resolves or throws anything else. */
async function tokenError(get: Promise<unknown>): Promise<LeanRunnerTokenError> {
  const error = await get.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(LeanRunnerTokenError);
  return error as LeanRunnerTokenError;
}

beforeEach(() => {
  ssm.reset();
});

describe('SsmLeanRunnerToken', () => {
  it('reads the token from the SecureString with decryption', async () => {
    ssm.on(GetParameterCommand, { Name: PARAMETER, WithDecryption: true }).resolves(parameter(TOKEN));

    await expect(provider().get()).resolves.toBe(TOKEN);
  });

  it('caches the token: one SSM call for many reads', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(TOKEN));
    const token = provider();

    await Promise.all([token.get(), token.get()]);
    await token.get();

    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it('has the token at hand once it was read, and not before', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(TOKEN));
    const token = provider();
    const beforeRead = token.cachedToken();

    await token.get();

    expect({ beforeRead, afterRead: token.cachedToken() }).toEqual({ beforeRead: undefined, afterRead: TOKEN });
  });

  it('refuses a String parameter with LeanRunnerTokenError naming it, never the token', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(TOKEN, 'String'));

    const error = await tokenError(provider().get());

    expect(error.message).toBe(`${PARAMETER} is a String, not a SecureString; store the secret with --type SecureString`);
    expect(`${error.message} ${String(error.stack)}`).not.toContain(TOKEN);
  });

  it.each([
    ['a trailing line break', `${TOKEN}\n`],
    ['a space inside', 'two words'],
    ['a non-ASCII character', 'tökén'],
  ])('refuses a token with %s, which could not be sent as a header, without quoting it', async (_case, value) => {
    ssm.on(GetParameterCommand).resolves(parameter(value));

    const error = await tokenError(provider().get());

    expect(error.message).toBe(`${PARAMETER} must hold the token alone: visible ASCII, no spaces or line breaks`);
  });

  it('throws LeanRunnerTokenError naming the parameter when it does not exist', async () => {
    ssm.on(GetParameterCommand).rejects(Object.assign(new Error('not found'), { name: 'ParameterNotFound' }));

    expect((await tokenError(provider().get())).message).toBe(`could not read ${PARAMETER}: ParameterNotFound`);
  });
});

describe('the runner token parameter', () => {
  it('is lean-runner-token under the control prefix', () => {
    expect(controlParameterName('/lean-router/live/', CONTROL_PARAMETER.leanRunnerToken)).toBe('/lean-router/live/lean-runner-token');
  });

  it('is read only when LEAN_RUNNER_TOKEN_PARAMETER names it', () => {
    const base = { PROVENANCE_TABLE_NAME: 'table', CONTROL_PARAMETER_PREFIX: '/lean-router/test/' };
    const client = new SSMClient({ region: 'us-east-1' });

    expect(ssmLeanRunnerToken(parseInfrastructure(base), client)).toBeUndefined();
    expect(ssmLeanRunnerToken(parseInfrastructure({ ...base, LEAN_RUNNER_TOKEN_PARAMETER: PARAMETER }), client)).toBeInstanceOf(SsmLeanRunnerToken);
  });

  it('must be an SSM parameter name, not a token pasted into the environment', () => {
    const env = { PROVENANCE_TABLE_NAME: 'table', CONTROL_PARAMETER_PREFIX: '/lean-router/test/', LEAN_RUNNER_TOKEN_PARAMETER: TOKEN };

    expect(() => parseInfrastructure(env)).toThrow('LEAN_RUNNER_TOKEN_PARAMETER must be an SSM parameter name');
  });
});
