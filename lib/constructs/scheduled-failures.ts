import { Duration, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmNamePrefix, type Stage } from '../stage-names';

/** The longest SQS keeps a message: time for an operator to read a failure after a weekend. */
const FAILURE_RETENTION = Duration.days(14);

/** Properties of the scheduled functions' failure destination. */
export interface ScheduledFailuresProps {
  readonly stage: Stage;
}

/**
 * Where Lambda sends the scheduled functions' (health-check, lifecycle sync, parity run) asynchronous
 * invocations that failed or were dropped (an error, a timeout, or an event older than its maximum
 * age because the single reserved instance was still busy), and the alarm on it. Nothing consumes
 * the queue: each message is the failed invocation's record (function ARN, condition, error) for an
 * operator to read. Any message is worth a page: these functions run the control loop.
 */
export class ScheduledFailures extends Construct {
  readonly queue: Queue;
  /** Any visible message; the stack wires it to the alarm topic with {@link notify}. */
  readonly alarm: Alarm;

  constructor(scope: Construct, id: string, props: ScheduledFailuresProps) {
    super(scope, id);
    const queueName = `lean-router-${props.stage}-scheduled-failures`;
    this.queue = new Queue(this, 'Queue', {
      queueName,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: FAILURE_RETENTION,
    });
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the failure destination of the scheduled functions: nothing consumes it (operators read and purge it), so no message can fail processing and need a dead-letter queue of its own.',
    });

    this.alarm = new Alarm(this, 'Alarm', {
      alarmName: `${alarmNamePrefix(props.stage)}scheduled-failures`,
      metric: this.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1) }),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: [
        'A run of the health-check, the lifecycle sync or the parity run failed (error or timeout) or was dropped unrun (older than its maximum event age while the previous run still held the one reserved instance); Lambda does not retry it.',
        'First: read the failure records (function ARN, condition, error message) and the function\'s logs:',
        `aws sqs receive-message --queue-url $(aws sqs get-queue-url --queue-name ${queueName} --query QueueUrl --output text) --max-number-of-messages 10 --visibility-timeout 0.`,
        `Once understood, clear it: aws sqs purge-queue --queue-url <that url>.`,
      ].join(' '),
    });
  }

  /** Sends the alarm and its recovery to the router's alarm topic. */
  notify(topic: ITopic): void {
    this.alarm.addAlarmAction(new SnsAction(topic));
    this.alarm.addOkAction(new SnsAction(topic));
  }
}
