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
  let out = '';
  let err = '';
  const code = await runCli(argv, {}, { out: (text) => (out += `${text}\n`), err: (text) => (err += `${text}\n`) });
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
