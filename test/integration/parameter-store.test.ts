import {
  DeleteParameterCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  ParameterAlreadyExists,
  ParameterNotFound,
  PutParameterCommand,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localSsmClient, startLocalParameterStore, type LocalParameterStore } from '../../lib/local/parameter-store';

let store: LocalParameterStore;
let ssm: SSMClient;

beforeAll(async () => {
  store = await startLocalParameterStore();
  ssm = localSsmClient(store.endpoint);
});
afterAll(async () => {
  ssm.destroy();
  await store.close();
});

describe('the local Parameter Store, through the real SSM client', () => {
  it('stores a parameter and reads it back with its version', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/a', Value: 'off', Type: 'String' }));

    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: '/lean-router/local/a' }));

    expect(Parameter).toMatchObject({ Name: '/lean-router/local/a', Value: 'off', Type: 'String', Version: 1 });
  });

  it('refuses to overwrite without Overwrite, with ParameterAlreadyExists', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/b', Value: 'off', Type: 'String' }));

    await expect(ssm.send(new PutParameterCommand({ Name: '/lean-router/local/b', Value: 'on', Type: 'String' }))).rejects.toBeInstanceOf(ParameterAlreadyExists);
  });

  it('overwrites with Overwrite and bumps the version', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/c', Value: 'off', Type: 'String' }));

    const { Version } = await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/c', Value: 'on', Type: 'String', Overwrite: true }));

    expect(Version).toBe(2);
    expect((await ssm.send(new GetParameterCommand({ Name: '/lean-router/local/c' }))).Parameter?.Value).toBe('on');
  });

  it('stamps LastModifiedDate at the time of each put, overwrites included, in every read', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/kill-switch', Value: 'on', Type: 'String' }));
    const before = Date.now();
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/kill-switch', Value: 'off', Type: 'String', Overwrite: true }));
    const after = Date.now();

    const single = (await ssm.send(new GetParameterCommand({ Name: '/lean-router/local/kill-switch' }))).Parameter?.LastModifiedDate;
    const batched = (await ssm.send(new GetParametersCommand({ Names: ['/lean-router/local/kill-switch'] }))).Parameters?.[0]?.LastModifiedDate;

    expect(single?.getTime()).toBeGreaterThanOrEqual(before);
    expect(single?.getTime()).toBeLessThanOrEqual(after);
    expect(batched).toEqual(single);
  });

  it('answers ParameterNotFound for a missing parameter', async () => {
    await expect(ssm.send(new GetParameterCommand({ Name: '/lean-router/local/missing' }))).rejects.toBeInstanceOf(ParameterNotFound);
  });

  it('lists InvalidParameters for the missing names of a batched read', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/d', Value: 'x', Type: 'String' }));

    const out = await ssm.send(new GetParametersCommand({ Names: ['/lean-router/local/d', '/lean-router/local/nope'] }));

    expect(out.Parameters?.map((p) => p.Name)).toEqual(['/lean-router/local/d']);
    expect(out.InvalidParameters).toEqual(['/lean-router/local/nope']);
  });

  it('reads a path one level deep, or recursively, in pages', async () => {
    for (const name of ['/by-path/x', '/by-path/y', '/by-path/deep/z']) {
      await ssm.send(new PutParameterCommand({ Name: name, Value: 'v', Type: 'String' }));
    }

    const shallow = await ssm.send(new GetParametersByPathCommand({ Path: '/by-path' }));
    const deep = await ssm.send(new GetParametersByPathCommand({ Path: '/by-path/', Recursive: true }));

    expect(shallow.Parameters?.map((p) => p.Name)).toEqual(['/by-path/x', '/by-path/y']);
    expect(deep.Parameters?.map((p) => p.Name)).toEqual(['/by-path/deep/z', '/by-path/x', '/by-path/y']);
  });

  it('hides a SecureString value unless decryption is asked for', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/secret', Value: '{"key_id":"k"}', Type: 'SecureString' }));

    const hidden = await ssm.send(new GetParameterCommand({ Name: '/lean-router/local/secret' }));
    const clear = await ssm.send(new GetParameterCommand({ Name: '/lean-router/local/secret', WithDecryption: true }));

    expect(hidden.Parameter?.Value).not.toBe('{"key_id":"k"}');
    expect(clear.Parameter?.Value).toBe('{"key_id":"k"}');
  });

  it('deletes a parameter, after which it is not found', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/e', Value: 'x', Type: 'String' }));

    await ssm.send(new DeleteParameterCommand({ Name: '/lean-router/local/e' }));

    await expect(ssm.send(new GetParameterCommand({ Name: '/lean-router/local/e' }))).rejects.toBeInstanceOf(ParameterNotFound);
  });
});
