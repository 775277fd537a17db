import { DescribeAlarmsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { alarmNamePrefix, type Stage } from '../stage-names';

/** One alarm in ALARM, as `status` shows it. */
export interface StageAlarm {
  readonly name: string;
  /** CloudWatch's own words for why it is in ALARM (threshold crossed, datapoints). */
  readonly reason: string;
  /** When it went into ALARM, ISO-8601; null when CloudWatch does not say. */
  readonly since: string | null;
}

// DescribeAlarms answers at most 100 per page; a stage has about a dozen alarms.
const MAX_PAGES = 10;

/**
 * The stage's alarms in ALARM, oldest first: a read-only DescribeAlarms filtered by state and by
 * the stage's name prefix, metric and composite alike.
 */
export async function stageAlarmsInAlarm(cloudWatch: CloudWatchClient, stage: Stage, options: { readonly timeoutMs?: number } = {}): Promise<StageAlarm[]> {
  const bound = { abortSignal: AbortSignal.timeout(options.timeoutMs ?? 10_000) };
  const alarms: StageAlarm[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const out = await cloudWatch.send(
      new DescribeAlarmsCommand({
        AlarmNamePrefix: alarmNamePrefix(stage),
        StateValue: 'ALARM',
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        NextToken: nextToken,
      }),
      bound,
    );
    for (const alarm of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
      if (alarm.AlarmName === undefined) continue;
      alarms.push({ name: alarm.AlarmName, reason: alarm.StateReason ?? '(no reason given)', since: alarm.StateUpdatedTimestamp?.toISOString() ?? null });
    }
    nextToken = out.NextToken;
    if (nextToken === undefined) break;
  }
  return alarms.sort((a, b) => (a.since ?? '').localeCompare(b.since ?? '') || a.name.localeCompare(b.name));
}
