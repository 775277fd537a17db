import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SecureStringError, SsmSecureString } from '../../functions/adapters/ssm-secure-string';

const PARAMETER = '/lean-router/test/some-secret';
const TTL_MS = 60_000;
const SECRET = 'sEcReT-value-4c3b2a';

const ssm = mockClient(SSMClient);

function parameter(type: 'String' | 'StringList' | 'SecureString' | undefined, value = SECRET) {
  return { Parameter: { Name: PARAMETER, ...(type === undefined ? {} : { Type: type }), Value: value } };
}

/** A reader that takes any non-empty text, on a hand-driven clock. */
function reader() {
  const clock = { now: 1_000_000 };
  const secret = new SsmSecureString<string>({
    ssm: new SSMClient({ region: 'us-east-1' }),
    parameterName: PARAMETER,
    ttlMs: TTL_MS,
    now: () => clock.now,
    parse: (text) => (text.startsWith('bad') ? { ok: false, problem: 'must not start with bad' } : { ok: true, value: text }),
  });
  return { secret, clock };
}

/** The SecureStringError a failing `get` throws; fails the test if it resolves or throws anything else. */
async function secureStringError(get: Promise<unknown>): Promise<SecureStringError> {
  const error = await get.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(SecureStringError);
  return error as SecureStringError;
}

beforeEach(() => {
  ssm.reset();
});

describe('SsmSecureString', () => {
  it('reads the parameter with decryption and hands its text to parse', async () => {
    ssm.on(GetParameterCommand, { Name: PARAMETER, WithDecryption: true }).resolves(parameter('SecureString'));
    const { secret } = reader();

    await expect(secret.get()).resolves.toBe(SECRET);
    expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({ Name: PARAMETER, WithDecryption: true });
  });

  it.each(['String', 'StringList'] as const)('refuses a %s parameter, naming it and asking for a SecureString, never quoting the value', async (type) => {
    ssm.on(GetParameterCommand).resolves(parameter(type));
    const { secret } = reader();

    const error = await secureStringError(secret.get());

    expect(error.message).toBe(`${PARAMETER} is a ${type}, not a SecureString; store the secret with --type SecureString`);
    expect(`${error.message} ${String(error.stack)}`).not.toContain(SECRET);
  });

  it('refuses a parameter whose type SSM does not say', async () => {
    ssm.on(GetParameterCommand).resolves(parameter(undefined));
    const { secret } = reader();

    expect((await secureStringError(secret.get())).message).toContain('not a SecureString');
  });

  it('refuses an empty SecureString', async () => {
    ssm.on(GetParameterCommand).resolves(parameter('SecureString', ''));
    const { secret } = reader();

    expect((await secureStringError(secret.get())).message).toBe(`${PARAMETER} holds no value`);
  });

  it("refuses a value parse rejects, with parse's problem after the parameter's name", async () => {
    ssm.on(GetParameterCommand).resolves(parameter('SecureString', 'bad-value'));
    const { secret } = reader();

    expect((await secureStringError(secret.get())).message).toBe(`${PARAMETER} must not start with bad`);
  });

  it('names the parameter and the SDK error when SSM fails', async () => {
    ssm.on(GetParameterCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const { secret } = reader();

    expect((await secureStringError(secret.get())).message).toBe(`could not read ${PARAMETER}: ThrottlingException`);
  });

  it('calls SSM once within the TTL and again after it', async () => {
    ssm.on(GetParameterCommand).resolves(parameter('SecureString'));
    const { secret, clock } = reader();

    await secret.get();
    clock.now += TTL_MS - 1;
    await secret.get();
    clock.now += 1;
    await secret.get();

    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
  });

  it('hands out the cached value at once within the TTL, and nothing before the first read or after the TTL', async () => {
    ssm.on(GetParameterCommand).resolves(parameter('SecureString'));
    const { secret, clock } = reader();
    const beforeRead = secret.cachedValue();

    await secret.get();
    clock.now += TTL_MS - 1;
    const withinTtl = secret.cachedValue();
    clock.now += 1;

    expect({ beforeRead, withinTtl, afterTtl: secret.cachedValue() }).toEqual({ beforeRead: undefined, withinTtl: SECRET, afterTtl: undefined });
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
  });

  it('keeps the last good value when the parameter turns into a String after the TTL', async () => {
    ssm.on(GetParameterCommand).resolvesOnce(parameter('SecureString')).resolves(parameter('String', 'plain'));
    const { secret, clock } = reader();
    await secret.get();
    clock.now += TTL_MS;

    await expect(secret.get()).resolves.toBe(SECRET);
  });
});
