import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { GetParametersByPathCommand, GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/cli';
import { stageAlarmsInAlarm } from '../../lib/cli/stage-alarms';

/** `status` on a deployed stage: the stage's CloudWatch alarms in ALARM, read with DescribeAlarms only. */

const cloudWatch = mockClient(CloudWatchClient);
const ssm = mockClient(SSMClient);

const KILL_SWITCH_ON = JSON.stringify({ state: 'on', reason: 'lean_error_rate', set_by: 'health-check', set_at: '2026-11-25T09:40:00.000Z' });
const ENGAGED = {
  AlarmName: 'lean-router-paper-kill-switch-engaged',
  StateValue: 'ALARM' as const,
  StateReason: 'Threshold Crossed: 1 out of the last 1 datapoints [1.0 (25/11/26 09:40:00)] was greater than or equal to the threshold (1.0)',
  StateUpdatedTimestamp: new Date('2026-11-25T09:41:00.000Z'),
};
const FALLBACKS = {
  AlarmName: 'lean-router-paper-lean-fallback-rate',
  StateValue: 'ALARM' as const,
  StateReason: 'Threshold Crossed: 1 datapoint [40.0 (25/11/26 09:30:00)] was greater than the threshold (15.0)',
  StateUpdatedTimestamp: new Date('2026-11-25T09:31:00.000Z'),
};

beforeEach(() => {
  cloudWatch.reset();
  ssm.reset();
  ssm.on(GetParametersCommand).resolves({ Parameters: [{ Name: '/lean-router/paper/kill-switch', Type: 'String', Value: KILL_SWITCH_ON, Version: 4 }] });
  ssm.on(GetParametersByPathCommand).resolves({ Parameters: [] });
});

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliWith({}, ...argv);
}

async function cliWith(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, env, { out: (text) => (out += `${text}\n`), err: (text) => (err += `${text}\n`) });
  return { code, out, err };
}

describe('stageAlarmsInAlarm', () => {
  it("asks CloudWatch only for the stage's alarms in ALARM", async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [ENGAGED] });

    await stageAlarmsInAlarm(new CloudWatchClient({}), 'paper');

    expect(cloudWatch.commandCalls(DescribeAlarmsCommand).map((call) => call.args[0].input)).toEqual([
      { AlarmNamePrefix: 'lean-router-paper-', StateValue: 'ALARM', AlarmTypes: ['MetricAlarm', 'CompositeAlarm'], NextToken: undefined },
    ]);
  });

  it('reads every page and lists the alarms oldest first, with their reasons', async () => {
    cloudWatch
      .on(DescribeAlarmsCommand)
      .resolvesOnce({ MetricAlarms: [ENGAGED], NextToken: 'page-2' })
      .resolvesOnce({ MetricAlarms: [FALLBACKS] });

    const alarms = await stageAlarmsInAlarm(new CloudWatchClient({}), 'paper');

    expect(alarms).toEqual([
      { name: FALLBACKS.AlarmName, since: '2026-11-25T09:31:00.000Z', reason: FALLBACKS.StateReason },
      { name: ENGAGED.AlarmName, since: '2026-11-25T09:41:00.000Z', reason: ENGAGED.StateReason },
    ]);
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand)[1]?.args[0].input.NextToken).toBe('page-2');
  });
});

describe('lean-router status --stage paper', () => {
  it('lists the alarms in ALARM with when and why', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [ENGAGED, FALLBACKS] });

    const answer = await cli('status', '--stage', 'paper');

    expect(answer.code).toBe(0);
    expect(answer.out).toContain(
      [
        'alarms in ALARM (CloudWatch, lean-router-paper-*): 2',
        `  lean-router-paper-lean-fallback-rate since 2026-11-25T09:31:00.000Z: ${FALLBACKS.StateReason}`,
        `  lean-router-paper-kill-switch-engaged since 2026-11-25T09:41:00.000Z: ${ENGAGED.StateReason}`,
      ].join('\n'),
    );
  });

  it('gives them in --json with the name prefix it looked under', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [ENGAGED] });

    const answer = await cli('status', '--stage', 'paper', '--json');

    expect(JSON.parse(answer.out).alarms).toEqual({
      checked: true,
      name_prefix: 'lean-router-paper-',
      in_alarm: [{ name: ENGAGED.AlarmName, since: '2026-11-25T09:41:00.000Z', reason: ENGAGED.StateReason }],
    });
  });

  it('still reports the rest, and says why, when the alarms cannot be read', async () => {
    cloudWatch.on(DescribeAlarmsCommand).rejects(Object.assign(new Error('User is not authorized to perform: cloudwatch:DescribeAlarms'), { name: 'AccessDenied' }));

    const answer = await cli('status', '--stage', 'paper');

    expect(answer.code).toBe(0);
    expect(answer.out).toContain('LEAN: OFF for every order (kill switch on: lean_error_rate, by health-check, at 2026-11-25T09:40:00.000Z)');
    expect(answer.out).toContain('alarms: CloudWatch DescribeAlarms failed: AccessDenied: User is not authorized to perform: cloudwatch:DescribeAlarms');
  });

  it('writes nothing', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({});

    await cli('status', '--stage', 'paper');

    expect(ssm.commandCalls(PutParameterCommand)).toEqual([]);
  });
});

describe('lean-router status --stage paper: runner health staleness', () => {
  it('judges it against TRADING_RUNNER_HEALTH_STALE_MS, as the health-check does, in --json', async () => {
    const leanHealth = { status: 'down', checked_at: '2020-01-01T00:05:00.000Z', last_ok_at: '2020-01-01T00:00:00.000Z', latency_ms: null, down_since: '2020-01-01T00:01:00.000Z' };
    ssm.on(GetParametersCommand).resolves({
      Parameters: [
        { Name: '/lean-router/paper/kill-switch', Type: 'String', Value: KILL_SWITCH_ON, Version: 4 },
        { Name: '/lean-router/paper/lean-health', Type: 'String', Value: JSON.stringify(leanHealth), Version: 9 },
      ],
    });
    cloudWatch.on(DescribeAlarmsCommand).resolves({});

    const answer = await cliWith({ TRADING_RUNNER_HEALTH_STALE_MS: '60000' }, 'status', '--stage', 'paper', '--json');

    expect(JSON.parse(answer.out).lean_health_judgement).toEqual({ stale: true, since: '2020-01-01T00:00:00.000Z', since_from: 'last_ok_at', limit_ms: 60_000 });
  });
});

describe('lean-router on a deployed stage with no kill-switch parameter', () => {
  const LEAN_HEALTH = { Name: '/lean-router/paper/lean-health', Type: 'String' as const, Value: '{"status":"down","checked_at":"2026-11-25T09:59:00.000Z","last_ok_at":null,"latency_ms":null}', Version: 2 };

  beforeEach(() => {
    ssm.on(GetParametersCommand).resolves({ Parameters: [LEAN_HEALTH] });
    ssm.on(GetParametersByPathCommand, { Path: '/lean-router/paper/' }).resolves({ Parameters: [LEAN_HEALTH] });
  });

  it('status says the routers keep LEAN off, lists the alarms and the parameters it found, and exits 0', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [ENGAGED] });

    const answer = await cli('status', '--stage', 'paper');

    expect(answer).toMatchObject({ code: 0, err: '' });
    expect(answer.out).toContain('LEAN: OFF for every order (no kill-switch parameter under /lean-router/paper/: the routers keep LEAN off; deployed in this account and region?)');
    expect(answer.out).toContain(`  lean-router-paper-kill-switch-engaged since 2026-11-25T09:41:00.000Z: ${ENGAGED.StateReason}`);
    expect(answer.out).toMatch(/^\/lean-router\/paper\/lean-health +\{"status":"down"/m);
  });

  it('status --json gives the switch as missing', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({});

    const answer = await cli('status', '--stage', 'paper', '--json');

    expect(answer.code).toBe(0);
    expect(JSON.parse(answer.out).kill_switch).toEqual({ state: 'on', reason: 'kill-switch parameter is missing', source: 'missing' });
  });

  it.each([
    [['kill', '--reason', 'x']],
    [['unkill']],
    [['review']],
    [['review', 'clear', 'AAPL']],
  ])('%j still refuses with exit 1 and writes nothing', async (argv) => {
    const answer = await cli(...argv, '--stage', 'paper');

    expect(answer).toMatchObject({ code: 1, out: '' });
    expect(answer.err).toContain('no /lean-router/paper/kill-switch parameter');
    expect(ssm.commandCalls(PutParameterCommand)).toEqual([]);
  });
});
