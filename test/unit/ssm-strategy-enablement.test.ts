import {
  GetParametersByPathCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
  type GetParametersByPathCommandOutput,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { SsmControlPlane } from '../../functions/adapters/ssm-control-plane';
import { RecordingLogger } from '../support/fakes';

const PREFIX = '/lean-router/test/';
const STRATEGIES = '/lean-router/test/strategies';
const REVIEWS = '/lean-router/test/manual-review';
const WALL = '2025-01-02T14:30:00.000Z';

const ssm = mockClient(SSMClient);

function controlPlane() {
  const clock = { ms: 10_000 };
  const logger = new RecordingLogger();
  const plane = new SsmControlPlane({
    ssm: new SSMClient({ region: 'us-east-1' }),
    prefix: PREFIX,
    ttlMs: 5_000,
    clock: { now: () => new Date(WALL), monotonicMs: () => clock.ms },
    logger,
  });
  return { plane, clock, logger };
}

function folderPage(folder: string, entries: Readonly<Record<string, string>>, nextToken?: string): GetParametersByPathCommandOutput {
  return {
    Parameters: Object.entries(entries).map(([name, value]) => ({ Name: `${folder}/${name}`, Value: value, Type: 'String' })),
    ...(nextToken === undefined ? {} : { NextToken: nextToken }),
    $metadata: {},
  };
}

function strategyReads() {
  return ssm.commandCalls(GetParametersByPathCommand).filter((call) => call.args[0].input.Path === STRATEGIES);
}

beforeEach(() => {
  ssm.reset();
  ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: `${PREFIX}kill-switch`, Value: 'off' }], $metadata: {} });
  ssm.on(GetParametersByPathCommand).resolves(folderPage(REVIEWS, {}));
});

describe('SsmControlPlane strategies', () => {
  it('reads the strategies/ folder in the same batch, by strategy_id', async () => {
    ssm.on(GetParametersByPathCommand, { Path: STRATEGIES }).resolves(folderPage(STRATEGIES, { alpha: '{"state":"enabled"}', beta: 'shadow' }));
    const { plane } = controlPlane();

    const { strategies } = await plane.read();

    expect([...strategies.values()]).toEqual([
      { strategy_id: 'alpha', state: 'enabled' },
      { strategy_id: 'beta', state: 'shadow' },
    ]);
  });

  it('follows NextToken through the pages of strategies', async () => {
    ssm
      .on(GetParametersByPathCommand, { Path: STRATEGIES })
      .resolvesOnce(folderPage(STRATEGIES, { alpha: 'enabled' }, 'page-2'))
      .resolvesOnce(folderPage(STRATEGIES, { beta: 'enabled' }));
    const { plane } = controlPlane();

    const { strategies } = await plane.read();

    expect([[...strategies.keys()], strategyReads().map((call) => call.args[0].input.NextToken)]).toEqual([
      ['alpha', 'beta'],
      [undefined, 'page-2'],
    ]);
  });

  it('reads a strategy id written in base64url back as the id', async () => {
    ssm.on(GetParametersByPathCommand, { Path: STRATEGIES }).resolves(folderPage(STRATEGIES, { [`_b64_${Buffer.from('pairs/AAPL').toString('base64url')}`]: 'enabled' }));
    const { plane } = controlPlane();

    const { strategies } = await plane.read();

    expect(strategies.get('pairs/AAPL')?.state).toBe('enabled');
  });

  it('reads an unreadable strategy value as blocked', async () => {
    ssm.on(GetParametersByPathCommand, { Path: STRATEGIES }).resolves(folderPage(STRATEGIES, { alpha: 'sure' }));
    const { plane } = controlPlane();

    const { strategies } = await plane.read();

    expect(strategies.get('alpha')?.state).toBe('blocked');
  });

  it('reads no strategy, and keeps the rest of the read, when the strategies folder cannot be read', async () => {
    ssm.on(GetParametersByPathCommand, { Path: STRATEGIES }).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const { plane, logger } = controlPlane();

    const snapshot = await plane.read();

    expect([snapshot.strategies.size, snapshot.killSwitch.state, snapshot.source]).toEqual([0, 'off', 'fresh']);
    expect(logger.withMessage('control_read_failed').map((line) => line.fields.part)).toEqual(['strategies']);
  });

  it('makes no strategies call for reads within the TTL', async () => {
    const { plane, clock } = controlPlane();
    await plane.read();
    ssm.resetHistory();

    clock.ms += 1_000;
    await plane.read();

    expect(strategyReads()).toHaveLength(0);
  });

  it('blocks a strategy with a JSON value naming why, who and when, in force at once', async () => {
    ssm.on(PutParameterCommand).resolves({ $metadata: {} });
    const { plane } = controlPlane();
    await plane.read();

    await plane.blockStrategy('alpha', 'route_divergence: ord-1 LEAN a vs Alpaca b', 'lifecycle-sync');

    const put = ssm.commandCalls(PutParameterCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Name: `${STRATEGIES}/alpha`, Type: 'String', Overwrite: true });
    expect(JSON.parse(put?.Value ?? '{}')).toEqual({ state: 'blocked', reason: 'route_divergence: ord-1 LEAN a vs Alpaca b', set_by: 'lifecycle-sync', set_at: WALL });
    expect((await plane.read()).strategies.get('alpha')?.state).toBe('blocked');
  });
});
