import {
  GetParametersByPathCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
  type GetParametersByPathCommandOutput,
  type GetParametersCommandOutput,
  type Parameter,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { SsmControlPlane } from '../../functions/adapters/ssm-control-plane';
import type { LeanHealth } from '../../functions/core/control';
import { RecordingLogger } from '../support/fakes';

const PREFIX = '/lean-router/test/';
const TTL_MS = 5_000;
/** The default maximum age: three TTLs. */
const MAX_AGE_MS = 15_000;
const NAMES = {
  killSwitch: '/lean-router/test/kill-switch',
  policy: '/lean-router/test/policy',
  leanHealth: '/lean-router/test/lean-health',
  manualReview: '/lean-router/test/manual-review',
  strategies: '/lean-router/test/strategies',
} as const;
const WALL = '2025-01-02T14:30:00.000Z';
const HEALTH: LeanHealth = { status: 'ok', checked_at: '2025-01-02T14:29:30.000Z', last_ok_at: '2025-01-02T14:29:30.000Z', latency_ms: 4 };

const ssm = mockClient(SSMClient);

/** A control plane on a hand-driven clock: `clock.ms` is monotonic time, `clock.wall` the wall clock. */
function controlPlane(options: { maxAgeMs?: number } = {}) {
  const clock = { ms: 10_000, wall: WALL };
  const logger = new RecordingLogger();
  const plane = new SsmControlPlane({
    ssm: new SSMClient({ region: 'us-east-1' }),
    prefix: PREFIX,
    ttlMs: TTL_MS,
    ...options,
    clock: { now: () => new Date(clock.wall), monotonicMs: () => clock.ms },
    logger,
  });
  return { plane, clock, logger };
}

/** `modifiedAt` gives each parameter present that LastModifiedDate; without it SSM's answer carries none. */
function batch(values: { killSwitch?: string; policy?: string; leanHealth?: string }, modifiedAt?: string): GetParametersCommandOutput {
  const parameters: Parameter[] = [];
  const invalid: string[] = [];
  for (const key of ['killSwitch', 'policy', 'leanHealth'] as const) {
    const value = values[key];
    if (value === undefined) invalid.push(NAMES[key]);
    else parameters.push({ Name: NAMES[key], Value: value, Type: 'String', ...(modifiedAt === undefined ? {} : { LastModifiedDate: new Date(modifiedAt) }) });
  }
  return { Parameters: parameters, InvalidParameters: invalid, $metadata: {} };
}

function reviewPage(entries: readonly { name: string; value: string; at: string }[], nextToken?: string): GetParametersByPathCommandOutput {
  return {
    Parameters: entries.map(({ name, value, at }) => ({ Name: `${NAMES.manualReview}/${name}`, Value: value, Type: 'String', LastModifiedDate: new Date(at) })),
    ...(nextToken === undefined ? {} : { NextToken: nextToken }),
    $metadata: {},
  };
}

/** SSM's next batched read stays unanswered until the returned function answers it. */
function batchAnsweredLater(): (values: Parameters<typeof batch>[0]) => void {
  let answer: (output: GetParametersCommandOutput) => void = () => undefined;
  ssm.on(GetParametersCommand).callsFake(() => new Promise<GetParametersCommandOutput>((resolve) => (answer = resolve)));
  return (values) => answer(batch(values));
}

/** Lets a background refresh run to its end. */
async function settle(): Promise<void> {
  for (let turn = 0; turn < 10; turn += 1) await new Promise((resolve) => setImmediate(resolve));
}

function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
}

/** SSM answers the kill switch `off` and a healthy runner, with no symbol in review. */
function ssmAnswersOff(): void {
  ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off', leanHealth: JSON.stringify(HEALTH) }));
  ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
}

/** The GetParametersByPath calls of one folder. */
function folderReads(path: string) {
  return ssm.commandCalls(GetParametersByPathCommand).filter((call) => call.args[0].input.Path === path);
}

function batchReads(): number {
  return ssm.commandCalls(GetParametersCommand).length;
}

function putInputs() {
  return ssm.commandCalls(PutParameterCommand).map((call) => call.args[0].input);
}

beforeEach(() => {
  ssm.reset();
});

describe('SsmControlPlane reads', () => {
  it('reads kill-switch, policy and lean-health under the prefix in one GetParameters call', async () => {
    ssmAnswersOff();
    const { plane } = controlPlane();

    await plane.read();

    expect(ssm.commandCalls(GetParametersCommand).map((call) => call.args[0].input)).toEqual([
      { Names: [NAMES.killSwitch, NAMES.policy, NAMES.leanHealth] },
    ]);
  });

  it('reads the manual-review folder in one GetParametersByPath call per page', async () => {
    ssmAnswersOff();
    const { plane } = controlPlane();

    await plane.read();

    expect(folderReads(NAMES.manualReview)).toHaveLength(1);
  });

  it('maps the parameters into a fresh snapshot', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off', policy: '{"symbols":"aapl"}', leanHealth: JSON.stringify(HEALTH) }));
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    const { plane } = controlPlane();

    const snapshot = await plane.read();

    expect(snapshot).toEqual({
      killSwitch: { state: 'off', source: 'parameter' },
      policy: { kind: 'valid', value: { symbols: new Set(['AAPL']) } },
      leanHealth: HEALTH,
      reviews: new Map(),
      strategies: new Map(),
      source: 'fresh',
      readAt: WALL,
    });
  });

  it('makes no SSM call for many reads within the TTL (no call per order at steady state)', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    ssm.resetHistory();

    for (let order = 0; order < 50; order += 1) {
      clock.ms += 90;
      await plane.read();
    }

    expect(ssm.calls()).toHaveLength(0);
  });

  it('marks reads served from the cache as cached, with the same values', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    const first = await plane.read();

    clock.ms += TTL_MS - 1;
    const second = await plane.read();

    expect(second).toEqual({ ...first, source: 'cached' });
  });

  it('shares one refresh among concurrent reads at cold start, and all see its values', async () => {
    let answer: (value: GetParametersCommandOutput) => void = () => undefined;
    ssm.on(GetParametersCommand).callsFake(() => new Promise<GetParametersCommandOutput>((resolve) => (answer = resolve)));
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    const { plane } = controlPlane();

    const reads = Promise.all([plane.read(), plane.read(), plane.read(), plane.read(), plane.read()]);
    await new Promise((resolve) => setImmediate(resolve));
    answer(batch({ killSwitch: 'off' }));
    const snapshots = await reads;

    expect(batchReads()).toBe(1);
    expect(folderReads(NAMES.manualReview)).toHaveLength(1);
    expect(snapshots.map((snapshot) => snapshot.killSwitch.state)).toEqual(['off', 'off', 'off', 'off', 'off']);
  });

  it('refreshes once when the TTL has passed', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();

    clock.ms += TTL_MS;
    await plane.read();
    await plane.read();

    expect(batchReads()).toBe(2);
  });

  it('sees a changed kill switch after the maximum age', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'on' }));

    clock.ms += MAX_AGE_MS;
    const snapshot = await plane.read();

    expect(snapshot.killSwitch.state).toBe('on');
    expect(snapshot.source).toBe('fresh');
  });

  it.each([
    ['the batched read', () => ssm.on(GetParametersCommand).rejects(throttled())],
    ['the manual-review read', () => ssm.on(GetParametersByPathCommand).rejects(throttled())],
  ])('keeps the last known good values when SSM throttles %s', async (_read, throttle) => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    throttle();

    clock.ms += MAX_AGE_MS;
    const snapshot = await plane.read();

    expect(snapshot.killSwitch).toEqual({ state: 'off', source: 'parameter' });
    expect(snapshot.leanHealth).toEqual(HEALTH);
    expect(snapshot.source).toBe('last_known_good');
  });

  it('does not retry a failed refresh before the TTL passes again', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    ssm.on(GetParametersCommand).rejects(throttled());
    clock.ms += MAX_AGE_MS;
    await plane.read();

    clock.ms += TTL_MS - 1;
    const snapshot = await plane.read();

    expect(batchReads()).toBe(2);
    expect(snapshot.source).toBe('last_known_good');
  });

  it('retries once the TTL has passed after a failed refresh, and is fresh again', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    ssm.on(GetParametersCommand).rejects(throttled());
    clock.ms += MAX_AGE_MS;
    const failed = await plane.read();
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off' }));

    clock.ms += TTL_MS;
    const snapshot = await plane.read();

    expect(failed.source).toBe('last_known_good');
    expect(batchReads()).toBe(3);
    expect(snapshot.source).toBe('fresh');
  });

  it('logs the failed refresh with the values it falls back on', async () => {
    ssm.on(GetParametersCommand).rejects(throttled());
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    const { plane, logger } = controlPlane();

    await plane.read();

    expect(logger.withMessage('control_read_failed')).toEqual([
      expect.objectContaining({ level: 'error', fields: expect.objectContaining({ error: 'ThrottlingException: Rate exceeded' }) }),
    ]);
  });

  it.each([
    ['the review is written in upper case and the clearing in lower case', [{ name: 'AAPL', value: 'review' }, { name: 'aapl', value: 'cleared' }]],
    ['the review is written in lower case and the clearing in upper case', [{ name: 'AAPL', value: 'cleared' }, { name: 'aapl', value: 'review' }]],
  ])('keeps a symbol in review when two names hold it and %s', async (_case, entries) => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off', leanHealth: JSON.stringify(HEALTH) }));
    ssm.on(GetParametersByPathCommand, { Path: NAMES.manualReview }).resolves(reviewPage(entries.map((entry) => ({ ...entry, at: '2025-01-01T00:00:00.000Z' }))));
    const { plane } = controlPlane();

    expect((await plane.read()).reviews.get('AAPL')?.state).toBe('review');
  });

  it('clears a symbol under every name that reads as it, so no review is left holding it', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off', leanHealth: JSON.stringify(HEALTH) }));
    ssm.on(GetParametersByPathCommand, { Path: NAMES.manualReview }).resolves(
      reviewPage([{ name: 'aapl', value: 'review', at: '2025-01-01T00:00:00.000Z' }, { name: 'MSFT', value: 'review', at: '2025-01-01T00:00:00.000Z' }]),
    );
    ssm.on(PutParameterCommand).resolves({});
    const { plane } = controlPlane();

    await plane.clearSymbolReview('AAPL');

    expect(putInputs().map((input) => [input.Name, input.Value]).sort()).toEqual([
      [`${NAMES.manualReview}/AAPL`, 'cleared'],
      [`${NAMES.manualReview}/aapl`, 'cleared'],
    ]);
  });

  it('keeps the later of two clearings of one symbol, where its fallback count starts', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off', leanHealth: JSON.stringify(HEALTH) }));
    ssm.on(GetParametersByPathCommand, { Path: NAMES.manualReview }).resolves(
      reviewPage([{ name: 'AAPL', value: 'cleared', at: '2025-06-01T00:00:00.000Z' }, { name: 'aapl', value: 'cleared', at: '2020-01-01T00:00:00.000Z' }]),
    );
    const { plane } = controlPlane();

    expect((await plane.read()).reviews.get('AAPL')?.changed_at).toBe('2025-06-01T00:00:00.000Z');
  });

  it('behaves as if the kill switch were on, and says why, when the review folder holds more than one read covers', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off', leanHealth: JSON.stringify(HEALTH) }));
    // Every page says there is another: past the 20th, a review would go unseen.
    ssm.on(GetParametersByPathCommand, { Path: NAMES.manualReview }).resolves(reviewPage([{ name: 'OLD', value: 'cleared', at: '2025-01-01T00:00:00.000Z' }], 'more'));
    const { plane, logger } = controlPlane();

    const snapshot = await plane.read();

    expect({ source: snapshot.source, killSwitch: snapshot.killSwitch.state, pages: folderReads(NAMES.manualReview).length }).toEqual({ source: 'unavailable', killSwitch: 'on', pages: 20 });
    expect(JSON.stringify(logger.withMessage('control_read_failed'))).toContain('holds more parameters than 20 pages of one read cover (20 read)');
  });

  it('behaves as if the kill switch were on when SSM never answered', async () => {
    ssm.on(GetParametersCommand).rejects(throttled());
    ssm.on(GetParametersByPathCommand).rejects(throttled());
    const { plane } = controlPlane();

    const snapshot = await plane.read();

    expect(snapshot.killSwitch.state).toBe('on');
    expect(snapshot.killSwitch.source).toBe('unavailable');
    expect(snapshot.source).toBe('unavailable');
  });

  it('does not retry at cold start before the TTL either', async () => {
    ssm.on(GetParametersCommand).rejects(throttled());
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    const { plane, clock } = controlPlane();
    await plane.read();

    clock.ms += TTL_MS - 1;
    const snapshot = await plane.read();

    expect(batchReads()).toBe(1);
    expect(snapshot.killSwitch.state).toBe('on');
  });

  it('takes the kill switch’s changed_at from the parameter’s LastModifiedDate', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off' }, '2025-01-02T14:12:05.250Z'));
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    const { plane } = controlPlane();

    const snapshot = await plane.readFresh();

    expect(snapshot.killSwitch).toEqual({ state: 'off', changed_at: '2025-01-02T14:12:05.250Z', source: 'parameter' });
  });

  it('keeps the JSON form’s own set_at apart from the LastModifiedDate it gives as changed_at', async () => {
    const value = JSON.stringify({ state: 'off', reason: 'runner fixed', set_by: 'alice', set_at: '2025-01-02T14:00:00.000Z' });
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: value }, '2025-01-02T14:12:05.000Z'));
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    const { plane } = controlPlane();

    const { killSwitch } = await plane.readFresh();

    expect(killSwitch).toMatchObject({ set_at: '2025-01-02T14:00:00.000Z', changed_at: '2025-01-02T14:12:05.000Z' });
  });

  it('counts a missing kill-switch parameter as on, with source missing', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ leanHealth: JSON.stringify(HEALTH) }));
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    const { plane } = controlPlane();

    const snapshot = await plane.read();

    expect(snapshot.killSwitch.state).toBe('on');
    expect(snapshot.killSwitch.source).toBe('missing');
  });

  it('reads a missing policy as absent and missing lean-health as none', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off' }));
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    const { plane } = controlPlane();

    const snapshot = await plane.read();

    expect(snapshot.policy).toEqual({ kind: 'absent' });
    expect(snapshot.leanHealth).toBeUndefined();
  });

  it('keys reviews by symbol, decoding _ in the parameter name to /', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off' }));
    ssm.on(GetParametersByPathCommand).resolves(
      reviewPage([
        { name: 'BTC_USD', value: '{"state":"review","reason":"repeated_fallback: 3"}', at: '2025-01-02T14:10:00.000Z' },
        { name: 'AAPL', value: 'cleared', at: '2025-01-02T14:20:00.000Z' },
      ]),
    );
    const { plane } = controlPlane();

    const { reviews } = await plane.read();

    expect(reviews).toEqual(
      new Map([
        ['BTC/USD', { symbol: 'BTC/USD', state: 'review', changed_at: '2025-01-02T14:10:00.000Z', reason: 'repeated_fallback: 3' }],
        ['AAPL', { symbol: 'AAPL', state: 'cleared', changed_at: '2025-01-02T14:20:00.000Z' }],
      ]),
    );
  });

  it('follows NextToken through every page of reviews', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off' }));
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    ssm
      .on(GetParametersByPathCommand, { Path: NAMES.manualReview })
      .resolvesOnce(reviewPage([{ name: 'AAPL', value: 'review', at: WALL }], 'page-2'))
      .resolvesOnce(reviewPage([{ name: 'MSFT', value: 'review', at: WALL }], 'page-3'))
      .resolvesOnce(reviewPage([{ name: 'TSLA', value: 'review', at: WALL }]));
    const { plane } = controlPlane();

    const { reviews } = await plane.read();

    expect([...reviews.keys()]).toEqual(['AAPL', 'MSFT', 'TSLA']);
    expect(folderReads(NAMES.manualReview).map((call) => call.args[0].input.NextToken)).toEqual([undefined, 'page-2', 'page-3']);
    expect(batchReads()).toBe(1);
  });

  it('reads fresh from SSM even within the TTL', async () => {
    ssmAnswersOff();
    const { plane } = controlPlane();
    await plane.read();

    const snapshot = await plane.readFresh();

    expect(batchReads()).toBe(2);
    expect(snapshot.source).toBe('fresh');
  });

  it('throws from readFresh when SSM does not answer', async () => {
    ssm.on(GetParametersCommand).rejects(throttled());
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    const { plane } = controlPlane();

    await expect(plane.readFresh()).rejects.toThrow('Rate exceeded');
  });
});

describe('SsmControlPlane between the TTL and the maximum age', () => {
  it('answers the cached values at once after the TTL, before SSM answers', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    const first = await plane.read();
    batchAnsweredLater();

    clock.ms += TTL_MS;
    const snapshot = await plane.read();

    expect(snapshot).toEqual({ ...first, source: 'cached' });
  });

  it('keeps its own kill-switch trip in force when a refresh that started before the trip lands after it', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    const answer = batchAnsweredLater();
    clock.ms += TTL_MS;
    await plane.read(); // starts the background refresh, which SSM answers only after the trip
    ssm.on(PutParameterCommand).resolves({});

    await plane.tripKillSwitch({ reason: 'notional_mismatch', set_by: 'router', detail: 'LEAN placed another order' });
    answer({ killSwitch: 'off', leanHealth: JSON.stringify(HEALTH) });
    await settle();

    expect((await plane.read()).killSwitch).toMatchObject({ state: 'on', reason: 'notional_mismatch' });
  });

  it('keeps a symbol it put in review when a refresh that started before lands after it', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    const answer = batchAnsweredLater();
    clock.ms += TTL_MS;
    await plane.read();
    ssm.on(PutParameterCommand).resolves({});

    await plane.putSymbolInReview('AAPL', 'repeated_fallback', 'router');
    answer({ killSwitch: 'off', leanHealth: JSON.stringify(HEALTH) });
    await settle();

    expect((await plane.read()).reviews.get('AAPL')?.state).toBe('review');
  });

  it('keeps the values of a newer read when an older one lands after it', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    const answers: ((output: GetParametersCommandOutput) => void)[] = [];
    ssm.on(GetParametersCommand).callsFake(() => new Promise<GetParametersCommandOutput>((resolve) => answers.push(resolve)));
    clock.ms += TTL_MS;
    await plane.read(); // the older read: a background refresh, answered last
    clock.ms += 1;
    const fresh = plane.readFresh(); // the newer read, answered first

    answers[1]?.(batch({ killSwitch: JSON.stringify({ state: 'on', reason: 'operator' }), leanHealth: JSON.stringify(HEALTH) }));
    await fresh;
    answers[0]?.(batch({ killSwitch: 'off', leanHealth: JSON.stringify(HEALTH) }));
    await settle();

    expect((await plane.read()).killSwitch.state).toBe('on');
  });

  it('refreshes once in the background after the TTL', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    batchAnsweredLater();

    clock.ms += TTL_MS;
    await plane.read();

    expect(batchReads()).toBe(2);
  });

  it('shares one background refresh among concurrent readers', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    batchAnsweredLater();

    clock.ms += TTL_MS;
    const snapshots = await Promise.all([plane.read(), plane.read(), plane.read(), plane.read(), plane.read()]);

    expect(batchReads()).toBe(2);
    expect(snapshots.map((snapshot) => snapshot.source)).toEqual(['cached', 'cached', 'cached', 'cached', 'cached']);
  });

  it('answers the background refresh’s values to the next read', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'on' }));
    clock.ms += TTL_MS;
    await plane.read();
    await settle();

    const snapshot = await plane.read();

    expect(snapshot.killSwitch.state).toBe('on');
    expect(batchReads()).toBe(2);
  });

  it('makes the order wait for the refresh past the maximum age', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    const answer = batchAnsweredLater();
    clock.ms += MAX_AGE_MS;
    let settled = false;
    const reading = plane.read().finally(() => (settled = true));
    await settle();
    const waited = !settled;

    answer({ killSwitch: 'on' });
    const snapshot = await reading;

    expect(waited).toBe(true);
    expect(snapshot).toMatchObject({ killSwitch: { state: 'on' }, source: 'fresh' });
  });

  it('waits after the TTL when the maximum age is the TTL', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane({ maxAgeMs: TTL_MS });
    await plane.read();
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'on' }));

    clock.ms += TTL_MS;
    const snapshot = await plane.read();

    expect(snapshot).toMatchObject({ killSwitch: { state: 'on' }, source: 'fresh' });
  });

  it('keeps the cached values, as last known good, when the background refresh fails', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    const first = await plane.read();
    ssm.on(GetParametersCommand).rejects(throttled());
    clock.ms += TTL_MS;
    await plane.read();
    await settle();

    const snapshot = await plane.read();

    expect(snapshot).toEqual({ ...first, source: 'last_known_good' });
  });

  it('logs a failed background refresh with the values it keeps', async () => {
    ssmAnswersOff();
    const { plane, clock, logger } = controlPlane();
    await plane.read();
    ssm.on(GetParametersCommand).rejects(throttled());
    clock.ms += TTL_MS;

    await plane.read();

    await vi.waitFor(() =>
      expect(logger.withMessage('control_read_failed')).toEqual([
        expect.objectContaining({ fields: expect.objectContaining({ error: 'ThrottlingException: Rate exceeded', using: 'last known good values', last_good_read_at: WALL }) }),
      ]),
    );
  });

  it('records in readAt when the values were read from SSM, and keeps it on cached answers', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    batchAnsweredLater();

    clock.ms += TTL_MS;
    clock.wall = '2025-01-02T14:30:05.000Z';
    const snapshot = await plane.read();

    expect(snapshot.readAt).toBe(WALL);
  });

  it('records the time of the background refresh in readAt once it lands', async () => {
    ssmAnswersOff();
    const { plane, clock } = controlPlane();
    await plane.read();
    clock.ms += TTL_MS;
    clock.wall = '2025-01-02T14:30:05.000Z';
    await plane.read();
    await settle();

    const snapshot = await plane.read();

    expect(snapshot.readAt).toBe('2025-01-02T14:30:05.000Z');
  });
});

describe('SsmControlPlane writes', () => {
  it('trips the kill switch with the JSON form, as a String overwriting the parameter', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 2, $metadata: {} });
    const { plane } = controlPlane();

    await plane.tripKillSwitch({ reason: 'lean_error_rate', set_by: 'health-check' });

    expect(putInputs()).toEqual([
      {
        Name: NAMES.killSwitch,
        Value: JSON.stringify({ state: 'on', reason: 'lean_error_rate', set_by: 'health-check', set_at: WALL }),
        Type: 'String',
        Overwrite: true,
      },
    ]);
  });

  it('shows its own trip on the next cached read without calling SSM', async () => {
    ssmAnswersOff();
    ssm.on(PutParameterCommand).resolves({ Version: 2, $metadata: {} });
    const { plane, clock } = controlPlane();
    await plane.read();
    await plane.tripKillSwitch({ reason: 'notional_mismatch', set_by: 'route', detail: 'ord-1' });
    ssm.resetHistory();

    clock.ms += 1;
    const snapshot = await plane.read();

    expect(snapshot.killSwitch).toEqual({ state: 'on', reason: 'notional_mismatch', set_by: 'route', set_at: WALL, changed_at: WALL, source: 'parameter' });
    expect(ssm.calls()).toHaveLength(0);
  });

  it('turns the kill switch off with the JSON form naming who and why', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 3, $metadata: {} });
    const { plane } = controlPlane();

    await plane.setKillSwitch('off', 'runner fixed', 'alice');

    expect(putInputs()).toEqual([
      { Name: NAMES.killSwitch, Value: JSON.stringify({ state: 'off', reason: 'runner fixed', set_by: 'alice', set_at: WALL }), Type: 'String', Overwrite: true },
    ]);
  });

  it('shows its own unkill on the next cached read, changed at the time it wrote it', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'on' }, '2025-01-02T14:00:00.000Z'));
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    ssm.on(PutParameterCommand).resolves({ Version: 3, $metadata: {} });
    const { plane } = controlPlane();
    await plane.read();

    await plane.setKillSwitch('off', 'runner fixed', 'alice');

    expect((await plane.read()).killSwitch).toEqual({ state: 'off', reason: 'runner fixed', set_by: 'alice', set_at: WALL, changed_at: WALL, source: 'parameter' });
  });

  it('throws when SSM refuses the trip, and the cached kill switch stays as it was', async () => {
    ssmAnswersOff();
    ssm.on(PutParameterCommand).rejects(throttled());
    const { plane } = controlPlane();
    await plane.read();

    await expect(plane.tripKillSwitch({ reason: 'lean_error_rate', set_by: 'health-check' })).rejects.toThrow('Rate exceeded');
    expect((await plane.read()).killSwitch.state).toBe('off');
  });

  it('puts a symbol in review under manual-review/<SYMBOL>, with / written as _', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 1, $metadata: {} });
    const { plane } = controlPlane();

    await plane.putSymbolInReview('BTC/USD', 'repeated_fallback: 3 fallbacks', 'route');

    expect(putInputs()).toEqual([
      {
        Name: `${NAMES.manualReview}/BTC_USD`,
        Value: JSON.stringify({ state: 'review', reason: 'repeated_fallback: 3 fallbacks', set_by: 'route', set_at: WALL }),
        Type: 'String',
        Overwrite: true,
      },
    ]);
  });

  it('shows its own review on the next cached read', async () => {
    ssmAnswersOff();
    ssm.on(PutParameterCommand).resolves({ Version: 1, $metadata: {} });
    const { plane } = controlPlane();
    await plane.read();

    await plane.putSymbolInReview('AAPL', 'repeated_fallback', 'route');
    const { reviews } = await plane.read();

    expect(reviews.get('AAPL')).toEqual({ symbol: 'AAPL', state: 'review', changed_at: WALL, reason: 'repeated_fallback' });
    expect(batchReads()).toBe(1);
  });

  it('clears a review by writing the plain word cleared', async () => {
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    ssm.on(PutParameterCommand).resolves({ Version: 3, $metadata: {} });
    const { plane } = controlPlane();

    await plane.clearSymbolReview('AAPL');

    expect(putInputs()).toEqual([{ Name: `${NAMES.manualReview}/AAPL`, Value: 'cleared', Type: 'String', Overwrite: true }]);
  });

  it('shows its own clear on the next cached read, with the clear time', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off' }));
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([{ name: 'AAPL', value: 'review', at: '2025-01-02T14:00:00.000Z' }]));
    ssm.on(PutParameterCommand).resolves({ Version: 3, $metadata: {} });
    const { plane } = controlPlane();
    await plane.read();

    await plane.clearSymbolReview('AAPL');
    const { reviews } = await plane.read();

    expect(reviews.get('AAPL')).toEqual({ symbol: 'AAPL', state: 'cleared', changed_at: WALL });
  });

  it('writes lean-health as the JSON the reader parses', async () => {
    ssm.on(PutParameterCommand).resolves({ Version: 9, $metadata: {} });
    const { plane } = controlPlane();

    await plane.writeLeanHealth(HEALTH);

    expect(putInputs()).toEqual([{ Name: NAMES.leanHealth, Value: JSON.stringify(HEALTH), Type: 'String', Overwrite: true }]);
  });

  it('shows its own lean-health on the next cached read', async () => {
    ssm.on(GetParametersCommand).resolves(batch({ killSwitch: 'off' }));
    ssm.on(GetParametersByPathCommand).resolves(reviewPage([]));
    ssm.on(PutParameterCommand).resolves({ Version: 9, $metadata: {} });
    const { plane } = controlPlane();
    await plane.read();

    await plane.writeLeanHealth(HEALTH);

    expect((await plane.read()).leanHealth).toEqual(HEALTH);
  });

  it.each(['/lean-router/test', '/lean-router/test/'])('names the parameters under the prefix %j, with or without its closing slash', (prefix) => {
    const plane = new SsmControlPlane({ ssm: new SSMClient({ region: 'us-east-1' }), prefix, ttlMs: TTL_MS });

    expect(plane.parameterNames).toEqual(NAMES);
  });
});
