import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AlpacaCredentialsError, SsmAlpacaCredentials } from '../../functions/adapters/ssm-alpaca-credentials';

const PARAMETER = '/lean-router/test/alpaca-credentials';
const TTL_MS = 60_000;
const SECRET = 'sEcReT-value-9f8e7d';
const GOOD = { key_id: 'AKTEST123', secret_key: SECRET };
const ROTATED = { key_id: 'AKROTATED', secret_key: 'rotated-secret-1a2b' };

const ssm = mockClient(SSMClient);

function parameter(value: unknown) {
  return { Parameter: { Name: PARAMETER, Type: 'SecureString' as const, Value: typeof value === 'string' ? value : JSON.stringify(value) } };
}

function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
}

/** A provider on a hand-driven clock. */
function provider() {
  const clock = { now: 1_000_000 };
  const credentials = new SsmAlpacaCredentials({ ssm: new SSMClient({ region: 'us-east-1' }), parameterName: PARAMETER, ttlMs: TTL_MS, now: () => clock.now });
  return { credentials, clock };
}

/** The AlpacaCredentialsError a failing `get` throws; fails the test if it resolves or throws anything else. */
async function credentialsError(get: Promise<unknown>): Promise<AlpacaCredentialsError> {
  const error = await get.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(AlpacaCredentialsError);
  return error as AlpacaCredentialsError;
}

beforeEach(() => {
  ssm.reset();
});

describe('SsmAlpacaCredentials', () => {
  it('has the credentials at hand once they were read and while fresh, and not before or after the TTL', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(GOOD));
    const { credentials, clock } = provider();
    const beforeRead = credentials.cachedCredentials();

    await credentials.get();
    const afterRead = credentials.cachedCredentials();
    clock.now += TTL_MS;

    expect({ beforeRead, afterRead, afterTtl: credentials.cachedCredentials() }).toEqual({
      beforeRead: undefined,
      afterRead: { keyId: GOOD.key_id, secretKey: SECRET },
      afterTtl: undefined,
    });
  });

  it('reads the SecureString with decryption and maps its JSON', async () => {
    ssm.on(GetParameterCommand, { Name: PARAMETER, WithDecryption: true }).resolves(parameter(GOOD));
    const { credentials } = provider();

    await expect(credentials.get()).resolves.toEqual({ keyId: 'AKTEST123', secretKey: SECRET });
    expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({ Name: PARAMETER, WithDecryption: true });
  });

  it('calls SSM once for many reads within the TTL', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(GOOD));
    const { credentials, clock } = provider();

    await credentials.get();
    clock.now += TTL_MS - 1;
    await credentials.get();
    await credentials.get();

    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it('calls SSM once for concurrent first reads', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(GOOD));
    const { credentials } = provider();

    const all = await Promise.all(Array.from({ length: 10 }, () => credentials.get()));

    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
    expect(new Set(all.map((value) => value.keyId))).toEqual(new Set(['AKTEST123']));
  });

  it('calls SSM once for concurrent reads after the TTL', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(GOOD));
    const { credentials, clock } = provider();
    await credentials.get();
    clock.now += TTL_MS;

    await Promise.all(Array.from({ length: 5 }, () => credentials.get()));

    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('refreshes after the TTL and returns the rotated value', async () => {
    ssm.on(GetParameterCommand).resolvesOnce(parameter(GOOD)).resolves(parameter(ROTATED));
    const { credentials, clock } = provider();
    await credentials.get();
    clock.now += TTL_MS;

    await expect(credentials.get()).resolves.toEqual({ keyId: 'AKROTATED', secretKey: 'rotated-secret-1a2b' });
  });

  it.each([
    ['SSM throttles', () => ssm.on(GetParameterCommand).rejects(throttled())],
    ['the parameter holds invalid JSON', () => ssm.on(GetParameterCommand).resolves(parameter('{not json'))],
    ['the parameter lost a field', () => ssm.on(GetParameterCommand).resolves(parameter({ key_id: 'AKTEST123' }))],
  ])('keeps the last good value when %s after the TTL', async (_case, breakSsm) => {
    ssm.on(GetParameterCommand).resolvesOnce(parameter(GOOD));
    const { credentials, clock } = provider();
    await credentials.get();
    breakSsm();
    clock.now += TTL_MS * 2;

    await expect(credentials.get()).resolves.toEqual({ keyId: 'AKTEST123', secretKey: SECRET });
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('throws AlpacaCredentialsError naming the parameter when SSM fails with no good value', async () => {
    ssm.on(GetParameterCommand).rejects(throttled());
    const { credentials } = provider();

    const error = await credentialsError(credentials.get());

    expect(error.message).toContain(PARAMETER);
  });

  it('throws again on the next read rather than caching a failure', async () => {
    ssm.on(GetParameterCommand).rejectsOnce(new Error('down')).resolves(parameter(GOOD));
    const { credentials } = provider();
    await credentialsError(credentials.get());

    await expect(credentials.get()).resolves.toMatchObject({ keyId: 'AKTEST123' });
  });

  it.each([
    ['JSON that is not an object', `"${SECRET}"`],
    ['text that is not JSON', `key=${SECRET}`],
    ['the wrong field names', JSON.stringify({ keyId: 'AKTEST123', secretKey: SECRET })],
    ['an empty secret', JSON.stringify({ key_id: 'AKTEST123', secret_key: '' })],
    ['a missing key id', JSON.stringify({ secret_key: SECRET })],
  ])('throws AlpacaCredentialsError naming the parameter, never the secret, for %s', async (_case, value) => {
    ssm.on(GetParameterCommand).resolves(parameter(value));
    const { credentials } = provider();

    const error = await credentialsError(credentials.get());

    expect(error.message).toContain(PARAMETER);
    expect(`${error.message} ${String(error.stack)} ${JSON.stringify(error)}`).not.toContain(SECRET);
  });

  it('throws AlpacaCredentialsError when the parameter has no value', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: PARAMETER } });
    const { credentials } = provider();

    expect((await credentialsError(credentials.get())).message).toContain(PARAMETER);
  });

  it('refuses a String parameter with AlpacaCredentialsError asking for a SecureString', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Name: PARAMETER, Type: 'String', Value: JSON.stringify(GOOD) } });
    const { credentials } = provider();

    const error = await credentialsError(credentials.get());

    expect(error.message).toBe(`${PARAMETER} is a String, not a SecureString; store the secret with --type SecureString`);
    expect(error.message).not.toContain(SECRET);
  });
});
