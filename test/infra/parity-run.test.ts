import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../functions/core/metric-names';
import { PARITY_FILL_RATE_TITLE, PARITY_SLIPPAGE_TITLE, PARITY_STRATEGIES_TITLE } from '../../lib/constructs/router-dashboard';
import { logicalId, removeSynthOutputs, render, renderedParameterArn, statementsOfRole, synthRouter, type SynthResult } from './synth';

const run = promisify(execFile);

/** Paper with a runner, so the shared environment names the runner token the parity run must not get. */
const PAPER_CONTEXT = { stage: 'paper', leanRunnerUrl: 'https://lean-runner.example.com', executionAdapter: 'lean', executionPolicy: 'all', alarmEmail: 'oncall@example.com' };
const P = '/lean-router/paper/';

let paper: SynthResult;

beforeAll(() => {
  paper = synthRouter(PAPER_CONTEXT);
}, 120_000);

afterAll(removeSynthOutputs);

type Resource = { Properties: Record<string, any> };

function resources(type: string): Resource[] {
  return Object.values(paper.template.findResources(type) as Record<string, Resource>);
}

function parityFunction(): Resource {
  const resource = (paper.template.findResources('AWS::Lambda::Function') as Record<string, Resource>)[logicalId(paper.stack, paper.stack.parityRun.function)];
  if (!resource) throw new Error('no parity run function');
  return resource;
}

function alarm(name: string): Resource {
  const found = resources('AWS::CloudWatch::Alarm').filter((candidate) => candidate.Properties.AlarmName === `lean-router-paper-${name}`);
  expect(found, name).toHaveLength(1);
  return found[0]!;
}

const functionArn = () => ({ 'Fn::GetAtt': [logicalId(paper.stack, paper.stack.parityRun.function), 'Arn'] });
const functionRef = () => ({ Ref: logicalId(paper.stack, paper.stack.parityRun.function) });
const topic = () => ({ Ref: logicalId(paper.stack, paper.stack.alarms.topic) });

describe('the parity run function', () => {
  it('runs nodejs22.x on arm64 as lean-router-<stage>-parity-run, 90 s and 512 MB, traced', () => {
    expect(parityFunction().Properties).toMatchObject({
      FunctionName: 'lean-router-paper-parity-run',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 90,
      MemorySize: 512,
      TracingConfig: { Mode: 'Active' },
    });
  });

  it('runs one instance at a time', () => {
    expect(parityFunction().Properties.ReservedConcurrentExecutions).toBe(1);
  });

  it('gets only the stage, the table and the control prefix: no broker URL, no policy, no runner token', () => {
    expect(parityFunction().Properties.Environment.Variables).toEqual({
      ROUTER_STAGE: 'paper',
      PROVENANCE_TABLE_NAME: { Ref: logicalId(paper.stack, paper.stack.provenance.table) },
      CONTROL_PARAMETER_PREFIX: P,
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('ships a bundle that imports in a fresh node process and exports handler', async () => {
    const key = render(parityFunction().Properties.Code.S3Key);
    const file = join(paper.assembly.directory, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
    expect(existsSync(file)).toBe(true);

    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(file)}); console.log(typeof m.handler);`], {
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        POWERTOOLS_DEV: 'true',
        ROUTER_STAGE: 'paper',
        PROVENANCE_TABLE_NAME: 'lean-router-paper-provenance',
        CONTROL_PARAMETER_PREFIX: P,
      },
    });
    expect(stdout.trim()).toBe('function');
  });
});

describe('the parity run schedule', () => {
  it('runs the function every hour, without EventBridge retries', () => {
    const rule = resources('AWS::Events::Rule').filter((candidate) =>
      (candidate.Properties.Targets as { Arn: unknown }[]).some((target) => JSON.stringify(target.Arn) === JSON.stringify(functionArn())),
    );

    expect(rule).toHaveLength(1);
    expect(rule[0]?.Properties).toMatchObject({ ScheduleExpression: 'rate(1 hour)', State: 'ENABLED' });
    expect(rule[0]?.Properties.Targets).toEqual([expect.objectContaining({ Arn: functionArn(), RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 900 } })]);
    paper.template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunction', Principal: 'events.amazonaws.com', FunctionName: functionArn() });
  });

  it('has Lambda retry nothing and send a failed or dropped run to the scheduled-failures queue', () => {
    const configs = resources('AWS::Lambda::EventInvokeConfig').filter((config) => JSON.stringify(config.Properties.FunctionName) === JSON.stringify(functionRef()));

    expect(configs.map((config) => config.Properties)).toEqual([
      {
        FunctionName: functionRef(),
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: 900,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [logicalId(paper.stack, paper.stack.scheduledFailures.queue), 'Arn'] } } },
      },
    ]);
  });
});

describe('the parity run grants', () => {
  it('queries the by-route index and reads and puts parity/* parameters; nothing else', () => {
    const table = `<${logicalId(paper.stack, paper.stack.provenance.table)}.Arn>`;

    expect(statementsOfRole(paper.template, logicalId(paper.stack, paper.stack.parityRun.role))).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`<${logicalId(paper.stack, paper.stack.parityRun.logGroup)}.Arn>`] },
      { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resources: ['*'] },
      { actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'], resources: [`<${logicalId(paper.stack, paper.stack.scheduledFailures.queue)}.Arn>`] },
      { actions: ['dynamodb:Query'], resources: [`${table}/index/by-route`] },
      { actions: ['ssm:GetParameters', 'ssm:PutParameter'], resources: [renderedParameterArn(`${P}parity/*`)] },
    ]);
  });

  it('may decrypt no secret: the key policy does not name its role', () => {
    const [key] = resources('AWS::KMS::Key');
    const principals = (key?.Properties.KeyPolicy.Statement as { Principal?: { AWS?: unknown } }[]).map((statement) => render(statement.Principal?.AWS));

    expect(principals.filter((principal) => principal.includes(logicalId(paper.stack, paper.stack.parityRun.role)))).toEqual([]);
  });
});

describe('the parity run alarms', () => {
  it('parity-check-regressed: any parity_check_regressions_total over the hour, to the alarm topic', () => {
    expect(alarm('parity-check-regressed').Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: METRIC.parityCheckRegressions,
      Dimensions: [{ Name: 'service', Value: SERVICE_NAME }, { Name: 'stage', Value: 'paper' }],
      Statistic: 'Sum',
      Period: 3600,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic()],
      OKActions: [topic()],
    });
  });

  it('parity-check-regressed: tells where to find the strategy and its stored report', () => {
    const description = render(alarm('parity-check-regressed').Properties.AlarmDescription);

    expect(description).toContain("aws logs tail /aws/lambda/lean-router-paper-parity-run --since 2h --filter-pattern '\"parity_check_failed\"'");
    expect(description).toContain(`aws ssm get-parameter --name ${P}parity/<strategy_id>`);
  });

  it('parity-run-not-running: no invocation in 2 hours (two runs), missing data breaching', () => {
    expect(alarm('parity-run-not-running').Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: functionRef() }],
      Statistic: 'Sum',
      Period: 7200,
      EvaluationPeriods: 1,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
      AlarmActions: [topic()],
    });
    expect(render(alarm('parity-run-not-running').Properties.AlarmDescription)).toMatch(/^The parity run, scheduled every hour, ran not once in 2 hours: /);
  });

  it("parity-run-schedule-failed: any FailedInvocations of the run's own rule", () => {
    expect(alarm('parity-run-schedule-failed').Properties).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'FailedInvocations',
      Dimensions: [{ Name: 'RuleName', Value: { Ref: logicalId(paper.stack, paper.stack.parityRun.schedule) } }],
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });
});

describe('the parity run on the dashboard', () => {
  const metricsOf = (title: string) => {
    const [dashboard] = resources('AWS::CloudWatch::Dashboard');
    const body = JSON.parse(render(dashboard?.Properties.DashboardBody)) as { widgets: { properties: { title?: string; metrics?: unknown[] } }[] };
    return JSON.stringify(body.widgets.find((widget) => widget.properties.title === title)?.properties.metrics);
  };

  it.each([
    [PARITY_FILL_RATE_TITLE, METRIC.parityFillRateDifference],
    [PARITY_SLIPPAGE_TITLE, METRIC.paritySlippageDifference],
  ])('%s: one line per strategy, hourly', (title, metric) => {
    expect(metricsOf(title)).toContain(`SEARCH('{${METRICS_NAMESPACE},strategy,service,stage} MetricName=\\"${metric}\\" service=\\"${SERVICE_NAME}\\" stage=\\"paper\\"', 'Average', 3600)`);
  });

  it('shows the strategies reported and failing, and the regressions', () => {
    const metrics = metricsOf(PARITY_STRATEGIES_TITLE);

    for (const name of [METRIC.parityStrategiesReported, METRIC.parityStrategiesFailing, METRIC.parityCheckRegressions]) {
      expect(metrics).toContain(JSON.stringify([METRICS_NAMESPACE, name, 'service', SERVICE_NAME, 'stage', 'paper']).slice(0, -1));
    }
  });
});

describe('the parity run outputs', () => {
  it('names its log group and the folder of the stored reports', () => {
    const outputs = paper.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    expect(render(outputs.ParityRunLogGroup?.Value)).toBe('/aws/lambda/lean-router-paper-parity-run');
    expect(render(outputs.ParityReportParameterPath?.Value)).toBe(`${P}parity`);
  });
});
