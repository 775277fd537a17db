import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ORDER_SUMMARY_FIELDS, PROVENANCE_TABLE } from '../../functions/adapters/provenance-table';
import { ACCESS_LOG_METRICS_NAMESPACE, KILL_SWITCH_TRIP_REASONS, METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../functions/core/metric-names';
import { PARITY_ROW_FIELDS } from '../../functions/core/parity';
import { OPEN_ORDER_FIELDS } from '../../functions/core/provenance';
import { PROJECT_ROOT } from '../../lib/router-bundling';
import { RouterSettingsError } from '../../lib/router-settings';
import { logicalId, removeSynthOutputs, render, renderedParameterArn, synthRouter, type SynthResult } from './synth';

/** Paper with a runner: every function reads the runner token, route and lifecycle sync the Alpaca keys too. */
const PAPER_CONTEXT = {
  stage: 'paper',
  leanRunnerUrl: 'https://lean-runner.example.com',
  executionAdapter: 'lean',
  executionPolicy: 'allowlist',
  executionSymbols: 'AAPL',
  alarmEmail: 'oncall@example.com',
};
const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:oncall';
const SCHEDULER = 'arn:aws:iam::123456789012:role/order-scheduler';
/** Live without a runner, paging an existing topic. */
const LIVE_CONTEXT = { stage: 'live', alarmTopicArn: TOPIC_ARN, schedulerPrincipalArn: SCHEDULER };

let paper: SynthResult;
let live: SynthResult;

beforeAll(() => {
  paper = synthRouter(PAPER_CONTEXT, { bundle: false });
  live = synthRouter(LIVE_CONTEXT, { bundle: false });
}, 60_000);

afterAll(removeSynthOutputs);

type Resource = { Properties: Record<string, any>; DeletionPolicy?: string; UpdateReplacePolicy?: string };
type Statement = { Effect: string; Principal?: { AWS?: unknown }; Action: string | string[]; Condition?: Record<string, Record<string, unknown>> };

function resources(result: SynthResult, type: string): Resource[] {
  return Object.values(result.template.findResources(type) as Record<string, Resource>);
}

function only(result: SynthResult, type: string, filter: (resource: Resource) => boolean = () => true): Resource {
  const found = resources(result, type).filter(filter);
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return found[0]!;
}

const roleArn = (result: SynthResult, which: 'route' | 'healthCheck' | 'lifecycleSync') => `<${logicalId(result.stack, result.stack[which].role)}.Arn>`;

/** For each principal the key policy lets decrypt: the parameters it may decrypt, and through which service. */
function decryptGrants(result: SynthResult): Record<string, { parameters: string[]; via: string[] }> {
  const statements = only(result, 'AWS::KMS::Key').Properties.KeyPolicy.Statement as Statement[];
  const grants: Record<string, { parameters: string[]; via: string[] }> = {};
  for (const statement of statements.filter((candidate) => candidate.Effect === 'Allow' && [candidate.Action].flat().includes('kms:Decrypt'))) {
    const principal = render(statement.Principal?.AWS);
    const grant = (grants[principal] ??= { parameters: [], via: [] });
    grant.parameters.push(render(statement.Condition?.StringEquals?.['kms:EncryptionContext:PARAMETER_ARN']));
    grant.via.push(render(statement.Condition?.StringEquals?.['kms:ViaService']));
  }
  for (const grant of Object.values(grants)) grant.parameters.sort();
  return grants;
}

describe('secrets under a key the stack controls', () => {
  it('creates one customer managed key with yearly rotation, aliased alias/lean-router-<stage>-secrets', () => {
    for (const result of [paper, live]) {
      expect(only(result, 'AWS::KMS::Key').Properties).toMatchObject({ EnableKeyRotation: true });
      expect(only(result, 'AWS::KMS::Alias').Properties.AliasName).toBe(`alias/lean-router-${result.stack.settings.stage}-secrets`);
    }
  });

  it('keeps the live key when the stack is deleted, and lets a deleted paper key be restored for 7 days', () => {
    expect(only(live, 'AWS::KMS::Key')).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    expect(only(paper, 'AWS::KMS::Key')).toMatchObject({ DeletionPolicy: 'Delete', Properties: { PendingWindowInDays: 7 } });
  });

  it('lets each function decrypt only the secrets it reads: route and lifecycle sync both, the health-check the runner token', () => {
    const P = '/lean-router/paper/';
    const both = [renderedParameterArn(`${P}alpaca-credentials`), renderedParameterArn(`${P}lean-runner-token`)];

    const grants = decryptGrants(paper);

    expect(Object.fromEntries(Object.entries(grants).map(([principal, grant]) => [principal, grant.parameters]))).toEqual({
      [roleArn(paper, 'route')]: both,
      [roleArn(paper, 'healthCheck')]: [renderedParameterArn(`${P}lean-runner-token`)],
      [roleArn(paper, 'lifecycleSync')]: both,
    });
  });

  it('lets them decrypt only through SSM in the stack region', () => {
    const via = Object.values(decryptGrants(paper)).flatMap((grant) => grant.via);

    expect(new Set(via)).toEqual(new Set(['ssm.<AWS::Region>.<AWS::URLSuffix>']));
  });

  it('without a runner, grants only the Alpaca keys, to the route and the lifecycle sync', () => {
    const alpaca = [renderedParameterArn('/lean-router/live/alpaca-credentials')];

    expect(Object.fromEntries(Object.entries(decryptGrants(live)).map(([principal, grant]) => [principal, grant.parameters]))).toEqual({
      [roleArn(live, 'route')]: alpaca,
      [roleArn(live, 'lifecycleSync')]: alpaca,
    });
  });

  it('denies decryption to every other principal of the account, administrators included', () => {
    const statements = only(paper, 'AWS::KMS::Key').Properties.KeyPolicy.Statement as Statement[];
    const deny = statements.filter((statement) => statement.Effect === 'Deny');

    expect(deny).toHaveLength(1);
    expect(deny[0]).toMatchObject({ Principal: { AWS: '*' }, Action: 'kms:Decrypt' });
    expect(render(deny[0]!.Condition?.ArnNotEquals?.['aws:PrincipalArn']).split(',').sort()).toEqual(
      [roleArn(paper, 'route'), roleArn(paper, 'healthCheck'), roleArn(paper, 'lifecycleSync')].sort(),
    );
  });

  it('puts no kms permission in any IAM policy: the key policy alone decides who decrypts', () => {
    const actions = resources(paper, 'AWS::IAM::Policy').flatMap((policy) =>
      (policy.Properties.PolicyDocument.Statement as Statement[]).flatMap((statement) => [statement.Action].flat()),
    );

    expect(actions.filter((action) => action.startsWith('kms:'))).toEqual([]);
  });

  it('outputs the alias the operator puts the SecureStrings with', () => {
    const outputs = paper.template.toJSON().Outputs as Record<string, { Value: unknown }>;

    expect(render(outputs.SecretsKeyAlias?.Value)).toBe('alias/lean-router-paper-secrets');
  });

  it('documents the put commands with that key', () => {
    const operations = readFileSync(join(PROJECT_ROOT, 'docs/operations.md'), 'utf8');

    expect(operations).toContain('--name /lean-router/paper/alpaca-credentials --type SecureString --key-id alias/lean-router-paper-secrets');
    expect(operations).toContain('--name /lean-router/paper/lean-runner-token --type SecureString --key-id alias/lean-router-paper-secrets');
  });
});

describe('nothing goes silent', () => {
  const alarm = (result: SynthResult, name: string): Resource =>
    only(result, 'AWS::CloudWatch::Alarm', (candidate) => candidate.Properties.AlarmName === `lean-router-${result.stack.settings.stage}-${name}`);
  const routerDimensions = [{ Name: 'service', Value: SERVICE_NAME }, { Name: 'stage', Value: 'paper' }];

  it.each([
    ['health-check', 'healthCheck'],
    ['lifecycle-sync', 'lifecycleSync'],
  ] as const)('%s-not-running: fewer than 3 invocations in 5 minutes (a run a minute), missing data breaching', (name, which) => {
    expect(alarm(paper, `${name}-not-running`).Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(paper.stack, paper.stack[which].function) } }],
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 3,
      TreatMissingData: 'breaching',
    });
  });

  it.each([
    ['health-check', 'healthCheck'],
    ['lifecycle-sync', 'lifecycleSync'],
  ] as const)("%s-schedule-failed: any FailedInvocations of the function's own EventBridge rule", (name, which) => {
    expect(alarm(paper, `${name}-schedule-failed`).Properties).toMatchObject({
      Namespace: 'AWS/Events',
      MetricName: 'FailedInvocations',
      Dimensions: [{ Name: 'RuleName', Value: { Ref: logicalId(paper.stack, paper.stack[which].schedule) } }],
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('api-4xx: at least 5 4xx answers and 20% of requests over 15 minutes, so an occasional 409 does not page', () => {
    const properties = alarm(paper, 'api-4xx').Properties;
    const queries = properties.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string }; Period: number; Stat: string } }[];

    expect(properties).toMatchObject({ ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 20, TreatMissingData: 'notBreaching' });
    expect(queries.find((query) => query.Expression !== undefined)?.Expression).toBe(
      'IF(FILL(errors, 0) >= 5 AND FILL(requests, 0) > 0, 100 * FILL(errors, 0) / FILL(requests, 0), 0)',
    );
    expect(queries.find((query) => query.Id === 'errors')?.MetricStat).toMatchObject({ Metric: { MetricName: '4XXError' }, Period: 900, Stat: 'Sum' });
    expect(queries.find((query) => query.Id === 'requests')?.MetricStat).toMatchObject({ Metric: { MetricName: 'Count' }, Period: 900, Stat: 'Sum' });
  });

  it("api-throttled: any 429 in 5 minutes, counted from the stage's access log", () => {
    const filter = only(paper, 'AWS::Logs::MetricFilter');
    expect(filter.Properties).toMatchObject({
      LogGroupName: '/aws/apigateway/lean-router-paper-access',
      FilterPattern: '{ $.status = "429" }',
      MetricTransformations: [{ MetricNamespace: ACCESS_LOG_METRICS_NAMESPACE, MetricName: 'api_throttled_total_paper', MetricValue: '1' }],
    });

    expect(alarm(paper, 'api-throttled').Properties).toMatchObject({
      Namespace: ACCESS_LOG_METRICS_NAMESPACE,
      MetricName: 'api_throttled_total_paper',
      Statistic: 'Sum',
      Period: 300,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it.each([
    ['lean-ack-mismatch', METRIC.leanAckMismatch, 60],
    ['policy-misconfigured', METRIC.policyMisconfigured, 300],
  ])('%s: any %s', (name, metric, period) => {
    expect(alarm(paper, name).Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: metric,
      Dimensions: routerDimensions,
      Statistic: 'Sum',
      Period: period,
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
      TreatMissingData: 'notBreaching',
    });
  });

  it('kill-switch-tripped: any kill_switch_trips_total, whatever its reason', () => {
    const queries = alarm(paper, 'kill-switch-tripped').Properties.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string; Dimensions: unknown[] } } }[];
    const reasons = queries
      .filter((query) => query.MetricStat !== undefined)
      .map((query) => {
        expect(query.MetricStat?.Metric.MetricName).toBe(METRIC.killSwitchTrips);
        return (query.MetricStat?.Metric.Dimensions as { Name: string; Value: string }[]).find((dimension) => dimension.Name === 'reason')?.Value;
      });

    expect(reasons.sort()).toEqual([...KILL_SWITCH_TRIP_REASONS].sort());
    expect(queries.find((query) => query.Expression !== undefined)?.Expression).toBe('FILL(trip0, 0) + FILL(trip1, 0) + FILL(trip2, 0)');
  });

  it("notifies the topic given in context, besides the stack's own, on alarm and on recovery", () => {
    const own = { Ref: logicalId(live.stack, live.stack.alarms.topic) };
    const alarms = resources(live, 'AWS::CloudWatch::Alarm');

    expect(alarms.length).toBeGreaterThan(20);
    for (const { Properties } of alarms) {
      expect(Properties.AlarmActions).toEqual(expect.arrayContaining([own, TOPIC_ARN]));
      expect(Properties.OKActions).toEqual(expect.arrayContaining([own, TOPIC_ARN]));
    }
  });

  it('refuses to synthesize live without an alarm subscriber', () => {
    expect(() => synthRouter({ stage: 'live', schedulerPrincipalArn: SCHEDULER }, { bundle: false })).toThrow(RouterSettingsError);
    expect(() => synthRouter({ stage: 'live', schedulerPrincipalArn: SCHEDULER }, { bundle: false })).toThrow('live needs an alarm subscriber');
  });

  it('synthesizes live with an email alone', () => {
    const result = synthRouter({ stage: 'live', schedulerPrincipalArn: SCHEDULER, alarmEmail: 'oncall@example.com' }, { bundle: false });

    result.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  it('refuses an alarm topic that is not an SNS topic ARN', () => {
    expect(() => synthRouter({ stage: 'paper', alarmTopicArn: 'oncall' }, { bundle: false })).toThrow('context "alarmTopicArn" must be an SNS topic ARN');
  });

  it('has a runbook entry in docs/operations.md for every alarm', () => {
    const operations = readFileSync(join(PROJECT_ROOT, 'docs/operations.md'), 'utf8');
    const names = resources(paper, 'AWS::CloudWatch::Alarm').map((candidate) => String(candidate.Properties.AlarmName).replace('lean-router-paper-', ''));

    expect(names.filter((name) => !operations.includes(`| [\`${name}\`]`))).toEqual([]);
  });

  it('acknowledges only rules the cdk-nag AwsSolutions pack defines', () => {
    const pack = readFileSync(join(PROJECT_ROOT, 'node_modules/cdk-nag/lib/packs/aws-solutions.js'), 'utf8');
    const rules = new Set([...pack.matchAll(/ruleSuffixOverride: '(\w+)'/g)].map((match) => `AwsSolutions-${match[1]}`));
    const acknowledged = [paper, live].flatMap((result) =>
      result.stack.node
        .findAll()
        .flatMap((construct) => construct.node.metadata.filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
        .flatMap((entry) => Object.keys(entry.data as Record<string, string>)),
    );

    expect(acknowledged.length).toBeGreaterThan(0);
    expect(acknowledged.map((id) => id.replace(/\[.*$/, '')).filter((id) => id.startsWith('AwsSolutions-') && !rules.has(id))).toEqual([]);
  });
});

describe("an operator's runtime policy survives a deploy", () => {
  const created = (result: SynthResult) =>
    resources(result, 'Custom::LeanRouterControlParameter').map((resource) => ({ resource, create: JSON.parse(resource.Properties.Create) }));
  const killSwitch = (result: SynthResult) => {
    const found = created(result).find(({ create }) => create.parameters.Name === `/lean-router/${result.stack.settings.stage}/kill-switch`);
    if (found === undefined) throw new Error('no kill switch');
    return found;
  };

  it('never creates, writes or deletes the policy override: CloudFormation does not own it', () => {
    for (const result of [paper, live]) {
      const policy = `/lean-router/${result.stack.settings.stage}/policy`;
      expect(resources(result, 'AWS::SSM::Parameter').map((parameter) => render(parameter.Properties.Name))).not.toContain(policy);
      expect(created(result).map(({ create }) => create.parameters.Name)).not.toContain(policy);
      const writes = resources(result, 'AWS::IAM::Policy')
        .filter((candidate) => !render(candidate.Properties.Roles).includes('Route') && !render(candidate.Properties.Roles).includes('HealthCheck'))
        .flatMap((candidate) => candidate.Properties.PolicyDocument.Statement as { Resource: unknown }[])
        .map((statement) => render(statement.Resource));
      expect(writes.filter((resource) => resource.endsWith(policy))).toEqual([]);
    }
  });

  it('creates the kill switch only when absent and never writes it on an update', () => {
    const { resource, create } = killSwitch(live);

    expect(create).toMatchObject({ action: 'PutParameter', parameters: { Overwrite: false }, ignoreErrorCodesMatching: 'ParameterAlreadyExists' });
    expect(resource.Properties).not.toHaveProperty('Update');
  });

  it('keeps the live kill switch, and its reason, when the live stack is deleted', () => {
    const { resource } = killSwitch(live);

    expect(resource.Properties).not.toHaveProperty('Delete');
    expect(resource).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('deletes the paper kill switch with the paper stack', () => {
    const { resource } = killSwitch(paper);

    expect(JSON.parse(resource.Properties.Delete)).toMatchObject({ action: 'DeleteParameter' });
  });
});

describe('cost and data hygiene', () => {
  const indexes = (result: SynthResult) =>
    Object.fromEntries(
      (only(result, 'AWS::DynamoDB::GlobalTable').Properties.GlobalSecondaryIndexes as { IndexName: string; Projection: unknown }[]).map((index) => [
        index.IndexName,
        index.Projection,
      ]),
    );
  const summaryWithout = (...keys: string[]) => ORDER_SUMMARY_FIELDS.filter((field) => !keys.includes(field));

  const parityWithout = (...keys: string[]) => PARITY_ROW_FIELDS.filter((field) => !keys.includes(field));

  it('projects on each index only what its queries read; by-status, which reconciliation reads whole, everything', () => {
    expect(indexes(paper)).toEqual({
      [PROVENANCE_TABLE.indexes.bySymbol.name]: { ProjectionType: 'INCLUDE', NonKeyAttributes: summaryWithout('symbol', 'created_at') },
      [PROVENANCE_TABLE.indexes.byRoute.name]: {
        ProjectionType: 'INCLUDE',
        NonKeyAttributes: [...new Set([...summaryWithout('execution_route', 'created_at'), ...parityWithout('client_order_id', 'execution_route', 'created_at')])],
      },
      [PROVENANCE_TABLE.indexes.byStrategy.name]: { ProjectionType: 'INCLUDE', NonKeyAttributes: parityWithout('client_order_id', 'strategy_id', 'created_at') },
      [PROVENANCE_TABLE.indexes.byStatus.name]: { ProjectionType: 'ALL' },
      [PROVENANCE_TABLE.indexes.openOrders.name]: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...OPEN_ORDER_FIELDS] },
    });
  });

  it('never projects the payloads, attempts or policy snapshot on a summary index', () => {
    for (const index of [PROVENANCE_TABLE.indexes.bySymbol, PROVENANCE_TABLE.indexes.byRoute, PROVENANCE_TABLE.indexes.byStrategy]) {
      expect(index.nonKeyAttributes).not.toEqual(expect.arrayContaining(['raw_payload']));
      expect(index.nonKeyAttributes?.filter((field) => ['raw_payload', 'execution_attempts', 'policy_snapshot'].includes(field))).toEqual([]);
    }
  });

  it('keeps rows for the books: no TTL, point-in-time recovery on; live with deletion protection, retained', () => {
    for (const result of [paper, live]) {
      const table = only(result, 'AWS::DynamoDB::GlobalTable');
      expect(table.Properties.TimeToLiveSpecification).toBeUndefined();
      expect(table.Properties.Replicas).toEqual([expect.objectContaining({ PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } })]);
    }
    const liveTable = only(live, 'AWS::DynamoDB::GlobalTable');
    expect(liveTable.DeletionPolicy).toBe('Retain');
    expect(liveTable.Properties.Replicas).toEqual([expect.objectContaining({ DeletionProtectionEnabled: true })]);
  });

  it('documents the retention of rows', () => {
    const operations = readFileSync(join(PROJECT_ROOT, 'docs/operations.md'), 'utf8');

    expect(operations).toMatch(/## Data retention/);
  });
});
