import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALPACA_REQUESTS_PER_MINUTE, ORDER_API_THROTTLING } from '../../lib/constructs/broker-quota';
import { RouterSettingsError } from '../../lib/router-settings';
import { logicalId, removeSynthOutputs, render, synthRouter, type SynthResult } from './synth';

const SCHEDULER = 'arn:aws:iam::123456789012:role/order-scheduler';
const OPERATORS = ['arn:aws:iam::123456789012:role/trading-operators', 'arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/oncall'];

/** Paper naming its callers, as an operator would deploy it before live. */
const PAPER_WITH_CALLERS = { stage: 'paper', schedulerPrincipalArn: SCHEDULER, operatorPrincipalArns: OPERATORS.join(', ') };
/** Live as it must be deployed: a named scheduler and someone who hears the alarms. */
const LIVE = { stage: 'live', schedulerPrincipalArn: SCHEDULER, operatorPrincipalArns: OPERATORS, alarmEmail: 'oncall@example.com' };

let paper: SynthResult;
let live: SynthResult;
let paperWithoutCallers: SynthResult;

beforeAll(() => {
  paper = synthRouter(PAPER_WITH_CALLERS, { bundle: false, cfnValidation: true });
  live = synthRouter(LIVE, { bundle: false, cfnValidation: true });
  paperWithoutCallers = synthRouter({ stage: 'paper' }, { bundle: false });
}, 60_000);

afterAll(removeSynthOutputs);

type Resource = { Properties: Record<string, any> };
type RouterFunctionName = 'route' | 'healthCheck' | 'lifecycleSync';
type Statement = { Sid: string; Effect: string; Principal: unknown; Action: string; Resource: string | string[]; Condition?: unknown };

function resources(result: SynthResult, type: string): Resource[] {
  return Object.values(result.template.findResources(type) as Record<string, Resource>);
}

function lambdaFunction(result: SynthResult, which: RouterFunctionName): Resource {
  const resource = (result.template.findResources('AWS::Lambda::Function') as Record<string, Resource>)[logicalId(result.stack, result.stack[which].function)];
  if (!resource) throw new Error(`no function ${which}`);
  return resource;
}

function resourcePolicy(result: SynthResult): Statement[] {
  const [api] = resources(result, 'AWS::ApiGateway::RestApi');
  return (api?.Properties.Policy?.Statement ?? []) as Statement[];
}

describe('stage throttling sized to the broker quota', () => {
  it('admits 2 requests/s with bursts of 10 on every method of the stage', () => {
    const [stage] = resources(paper, 'AWS::ApiGateway::Stage');

    expect(stage?.Properties.MethodSettings).toEqual([
      expect.objectContaining({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 2, ThrottlingBurstLimit: 10 }),
    ]);
  });

  it('leaves part of Alpaca’s 200 requests a minute to the runner and the lifecycle sync at the steady rate', () => {
    expect(ORDER_API_THROTTLING.rateLimit * 60).toBeLessThan(ALPACA_REQUESTS_PER_MINUTE);
    // A whole burst at three Alpaca calls an order (LEAN submit, lookup, fallback submit) fits one minute's quota.
    expect(ORDER_API_THROTTLING.burstLimit * 3).toBeLessThan(ALPACA_REQUESTS_PER_MINUTE);
  });
});

describe('reserved concurrency', () => {
  it.each([
    ['route', 10],
    ['healthCheck', 1],
    ['lifecycleSync', 1],
  ] as const)('%s: %i reserved instance(s)', (which, reserved) => {
    expect(lambdaFunction(paper, which).Properties.ReservedConcurrentExecutions).toBe(reserved);
  });

  it('runs no more routes at once than the stage admits in one burst', () => {
    expect(lambdaFunction(paper, 'route').Properties.ReservedConcurrentExecutions).toBe(ORDER_API_THROTTLING.burstLimit);
  });
});

describe('who may call the order API', () => {
  const stageArn = (method: string, path: string) => `execute-api:/paper/${method}/${path}`;

  it('lets the scheduler submit, read and cancel', () => {
    expect(resourcePolicy(paper).find((statement) => statement.Sid === 'SchedulerSubmitsReadsCancels')).toEqual({
      Sid: 'SchedulerSubmitsReadsCancels',
      Effect: 'Allow',
      Principal: { AWS: SCHEDULER },
      Action: 'execute-api:Invoke',
      Resource: [stageArn('POST', 'orders'), stageArn('GET', 'orders/*'), stageArn('DELETE', 'orders/*')],
    });
  });

  it('lets the operators read and cancel, never submit', () => {
    expect(resourcePolicy(paper).find((statement) => statement.Sid === 'OperatorsReadAndCancel')).toEqual({
      Sid: 'OperatorsReadAndCancel',
      Effect: 'Allow',
      Principal: { AWS: OPERATORS },
      Action: 'execute-api:Invoke',
      Resource: [stageArn('GET', 'orders/*'), stageArn('DELETE', 'orders/*')],
    });
  });

  it('denies every other principal, whatever its own IAM policies allow', () => {
    expect(resourcePolicy(paper).find((statement) => statement.Sid === 'DenyUnnamedCallers')).toEqual({
      Sid: 'DenyUnnamedCallers',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*',
      Condition: { StringNotEquals: { 'aws:PrincipalArn': [SCHEDULER, ...OPERATORS] } },
    });
  });

  it('denies a submit to anyone but the scheduler', () => {
    expect(resourcePolicy(paper).find((statement) => statement.Sid === 'DenySubmitButScheduler')).toEqual({
      Sid: 'DenySubmitButScheduler',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'execute-api:Invoke',
      Resource: stageArn('POST', 'orders'),
      Condition: { StringNotEquals: { 'aws:PrincipalArn': [SCHEDULER] } },
    });
  });

  it('names the live stage in the live policy', () => {
    const scheduler = resourcePolicy(live).find((statement) => statement.Sid === 'SchedulerSubmitsReadsCancels');
    expect(scheduler?.Resource).toEqual(['execute-api:/live/POST/orders', 'execute-api:/live/GET/orders/*', 'execute-api:/live/DELETE/orders/*']);
  });

  it('deploys the stage again when the callers change, since API Gateway applies a policy only with a deployment', () => {
    const deploymentIds = (result: SynthResult) => Object.keys(result.template.findResources('AWS::ApiGateway::Deployment'));
    const fewerOperators = synthRouter({ ...PAPER_WITH_CALLERS, operatorPrincipalArns: OPERATORS[0] }, { bundle: false });

    expect(deploymentIds(fewerOperators)).not.toEqual(deploymentIds(paper));
  });

  it('has no resource policy on a paper stage that names no caller', () => {
    const apis = resources(paperWithoutCallers, 'AWS::ApiGateway::RestApi');

    expect(apis).toHaveLength(1);
    expect(apis[0]?.Properties.Policy).toBeUndefined();
  });

  it('refuses to synthesize live without the scheduler principal', () => {
    const { schedulerPrincipalArn: _omitted, ...withoutScheduler } = LIVE;
    expect(() => synthRouter(withoutScheduler, { bundle: false })).toThrow(RouterSettingsError);
    expect(() => synthRouter(withoutScheduler, { bundle: false })).toThrow('live needs context "schedulerPrincipalArn"');
  });

  it('refuses operators without a scheduler', () => {
    expect(() => synthRouter({ stage: 'paper', operatorPrincipalArns: OPERATORS }, { bundle: false })).toThrow('"operatorPrincipalArns" needs "schedulerPrincipalArn" too');
  });

  it.each([
    ['a session ARN', 'arn:aws:sts::123456789012:assumed-role/order-scheduler/session'],
    ['an account id', '123456789012'],
    ['a wildcard', 'arn:aws:iam::123456789012:role/*'],
  ])('refuses %s as a principal', (_what, arn) => {
    expect(() => synthRouter({ stage: 'paper', schedulerPrincipalArn: arn }, { bundle: false })).toThrow('must be an IAM role or user ARN');
  });
});

describe('scheduled functions run once at a time', () => {
  const queueArn = () => ({ 'Fn::GetAtt': [logicalId(paper.stack, paper.stack.scheduledFailures.queue), 'Arn'] });

  it.each(['healthCheck', 'lifecycleSync'] as const)('%s: no Lambda retry, events older than a minute dropped, failures to the queue', (which) => {
    const functionRef = { Ref: logicalId(paper.stack, paper.stack[which].function) };
    const configs = resources(paper, 'AWS::Lambda::EventInvokeConfig').filter((config) => JSON.stringify(config.Properties.FunctionName) === JSON.stringify(functionRef));

    expect(configs).toHaveLength(1);
    expect(configs[0]?.Properties).toEqual({
      FunctionName: functionRef,
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
      DestinationConfig: { OnFailure: { Destination: queueArn() } },
    });
  });

  it.each(['healthCheck', 'lifecycleSync'] as const)('%s: a timeout below the one-minute period', (which) => {
    expect(lambdaFunction(paper, which).Properties.Timeout).toBeLessThan(60);
  });

  it('configures asynchronous invocation only for the scheduled functions', () => {
    expect(resources(paper, 'AWS::Lambda::EventInvokeConfig')).toHaveLength(3);
  });

  it('keeps the failures in an encrypted queue that refuses plain HTTP', () => {
    const [queue] = resources(paper, 'AWS::SQS::Queue');
    expect(queue?.Properties).toMatchObject({ QueueName: 'lean-router-paper-scheduled-failures', SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    const [policy] = resources(paper, 'AWS::SQS::QueuePolicy');
    expect(policy?.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('alarms on any failure record, to the alarm topic, alarm and recovery', () => {
    const topic = { Ref: logicalId(paper.stack, paper.stack.alarms.topic) };
    const alarm = resources(paper, 'AWS::CloudWatch::Alarm').find((candidate) => candidate.Properties.AlarmName === 'lean-router-paper-scheduled-failures');

    expect(alarm?.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(paper.stack, paper.stack.scheduledFailures.queue), 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 60,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
    });
    expect(render(alarm?.Properties.AlarmDescription)).toMatch(/First: .*aws sqs receive-message/);
  });

  it('lets each scheduled function send only to its failure queue', () => {
    const allowed = resources(paper, 'AWS::IAM::Policy')
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[])
      .filter((statement) => [statement.Action].flat().includes('sqs:SendMessage'));

    expect(allowed).toHaveLength(3);
    for (const statement of allowed) expect(statement.Resource).toEqual(queueArn());
  });
});

describe('tracing', () => {
  it.each(['route', 'healthCheck', 'lifecycleSync'] as const)('%s: active X-Ray tracing', (which) => {
    expect(lambdaFunction(paper, which).Properties.TracingConfig).toEqual({ Mode: 'Active' });
  });

  it('traces the API stage', () => {
    const [stage] = resources(paper, 'AWS::ApiGateway::Stage');
    expect(stage?.Properties.TracingEnabled).toBe(true);
  });
});

describe('no console test invocations', () => {
  it('grants API Gateway invoke on the route function for the deployed stage only, never test-invoke-stage', () => {
    const permissions = resources(paper, 'AWS::Lambda::Permission').filter((permission) => permission.Properties.Principal === 'apigateway.amazonaws.com');
    const sources = permissions.map((permission) => render(permission.Properties.SourceArn));

    expect(permissions).toHaveLength(3);
    // Each names the deployed stage (its logical id), never test-invoke-stage.
    for (const source of sources) expect(source).toMatch(/\/<OrderApiDeploymentStagepaper\w+>\/(POST|GET|DELETE)\/orders/);
    expect(sources.join(' ')).not.toContain('test-invoke-stage');
  });
});

describe('cdk-nag (AwsSolutions) and CloudFormation template validation', () => {
  it('find nothing unacknowledged on paper and live with callers named', () => {
    expect(paper.violations).toEqual([]);
    expect(live.violations).toEqual([]);
  });
});
