import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../functions/adapters/observability';
import { METRIC } from '../../functions/adapters/powertools-route-metrics';
import { PROVENANCE_INDEXES, PROVENANCE_TABLE, provenanceIndexProjection } from '../../functions/adapters/provenance-table';
import { loadRouterConfig } from '../../functions/core/config';
import { OPEN_ORDER_FIELDS } from '../../functions/core/provenance';
import { parseKillSwitch, parseLeanHealth } from '../../functions/core/control';
import { orderRequestJsonSchema } from '../../lib/order-request-model';
import {
  BROKER_STATE_CHANGES_TITLE,
  OPEN_ORDERS_TITLE,
  PARITY_FILL_RATE_TITLE,
  PARITY_SLIPPAGE_TITLE,
  PARITY_STRATEGIES_TITLE,
  ROUTE_DIVERGENCES_TITLE,
} from '../../lib/constructs/router-dashboard';
import { ESM_REQUIRE_BANNER } from '../../lib/router-bundling';
import { logicalId, removeSynthOutputs, renderedParameterArn, render, statementsOfRole, synthRouter, type SynthResult } from './synth';

const run = promisify(execFile);

/** The paper stack as an operator would deploy it with LEAN: real esbuild bundles of both functions. */
const PAPER_CONTEXT = {
  stage: 'paper',
  leanRunnerUrl: 'https://lean-runner.example.com',
  executionAdapter: 'lean',
  executionPolicy: 'allowlist',
  executionSymbols: 'aapl, MSFT',
  fallbackAdapter: 'alpaca',
  alarmEmail: 'oncall@example.com',
};
/** The live stack with defaults (Alpaca only, no runner), paging an existing topic; assets are not under test here. */
const LIVE_CONTEXT = {
  stage: 'live',
  alarmTopicArn: 'arn:aws:sns:us-east-1:123456789012:oncall',
  schedulerPrincipalArn: 'arn:aws:iam::123456789012:role/order-scheduler',
};

const P = '/lean-router/paper/';

let paper: SynthResult;
let live: SynthResult;

beforeAll(() => {
  paper = synthRouter(PAPER_CONTEXT, { cfnValidation: true });
  live = synthRouter(LIVE_CONTEXT, { bundle: false, cfnValidation: true });
}, 60_000);

afterAll(removeSynthOutputs);

type Resource = { Properties: Record<string, any>; DeletionPolicy?: string; DependsOn?: string[] };

function only(result: SynthResult, type: string, filter: (resource: Resource) => boolean = () => true): Resource {
  const found = Object.values(result.template.findResources(type) as Record<string, Resource>).filter(filter);
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return found[0]!;
}

/** The router's functions, by their property on the stack. */
type RouterFunctionName = 'route' | 'healthCheck' | 'lifecycleSync';

function lambdaFunction(result: SynthResult, which: RouterFunctionName): Resource {
  const id = logicalId(result.stack, result.stack[which].function);
  const resource = (result.template.findResources('AWS::Lambda::Function') as Record<string, Resource>)[id];
  if (!resource) throw new Error(`no function ${id}`);
  return resource;
}

describe('cdk-nag (AwsSolutions) and CloudFormation template validation', () => {
  it('leave no unacknowledged finding, error or warning, on the paper and live stacks', () => {
    // An unacknowledged error already fails app.synth(); warnings only show in the report.
    expect(paper.violations).toEqual([]);
    expect(live.violations).toEqual([]);
  });
});

describe('order API', () => {
  it('authorizes every method with IAM, and has exactly POST /orders, GET and DELETE /orders/{client_order_id}', () => {
    const methods = Object.values(paper.template.findResources('AWS::ApiGateway::Method') as Record<string, Resource>);
    expect(methods.map((method) => method.Properties.HttpMethod).sort()).toEqual(['DELETE', 'GET', 'POST']);
    for (const method of methods) expect(method.Properties.AuthorizationType).toBe('AWS_IAM');

    const resources = Object.values(paper.template.findResources('AWS::ApiGateway::Resource') as Record<string, Resource>);
    expect(resources.map((resource) => resource.Properties.PathPart).sort()).toEqual(['orders', '{client_order_id}']);
  });

  it('validates POST /orders against the model generated from the handler zod schema', () => {
    const validator = only(paper, 'AWS::ApiGateway::RequestValidator');
    expect(validator.Properties).toMatchObject({ ValidateRequestBody: true, ValidateRequestParameters: true });
    const validatorId = logicalId(paper.stack, paper.stack.orderApi.validator);
    const modelId = logicalId(paper.stack, paper.stack.orderApi.orderModel);

    paper.template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'POST',
      RequestValidatorId: { Ref: validatorId },
      RequestModels: { 'application/json': { Ref: modelId } },
    });
    for (const httpMethod of ['GET', 'DELETE']) {
      paper.template.hasResourceProperties('AWS::ApiGateway::Method', {
        HttpMethod: httpMethod,
        RequestValidatorId: { Ref: validatorId },
        RequestParameters: { 'method.request.path.client_order_id': true },
      });
    }

    const model = only(paper, 'AWS::ApiGateway::Model');
    const { schema, ...generated } = orderRequestJsonSchema();
    expect(model.Properties.ContentType).toBe('application/json');
    expect(model.Properties.Schema).toEqual({ $schema: schema, ...generated });
    expect(model.Properties.Schema).toMatchObject({
      $schema: 'http://json-schema.org/draft-04/schema#',
      type: 'object',
      additionalProperties: false,
      required: ['client_order_id', 'symbol', 'side', 'type', 'time_in_force'],
    });
  });

  it('proxies every method to the route function', () => {
    const routeArn = `<${logicalId(paper.stack, paper.stack.route.function)}.Arn>`;
    const methods = Object.values(paper.template.findResources('AWS::ApiGateway::Method') as Record<string, Resource>);
    for (const method of methods) {
      expect(method.Properties.Integration.Type).toBe('AWS_PROXY');
      expect(render(method.Properties.Integration.Uri)).toContain(routeArn);
    }
  });

  it('throttles the stage and writes JSON access logs to a log group with retention', () => {
    const stage = only(paper, 'AWS::ApiGateway::Stage');
    expect(stage.Properties.StageName).toBe('paper');
    expect(stage.Properties.MethodSettings).toEqual([
      expect.objectContaining({
        HttpMethod: '*',
        ResourcePath: '/*',
        ThrottlingRateLimit: 2,
        ThrottlingBurstLimit: 10,
      }),
    ]);
    const accessLogs = logicalId(paper.stack, paper.stack.orderApi.accessLogGroup);
    expect(render(stage.Properties.AccessLogSetting.DestinationArn)).toBe(`<${accessLogs}.Arn>`);
    const format = JSON.parse(stage.Properties.AccessLogSetting.Format);
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', userArn: '$context.identity.userArn' });

    paper.template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/apigateway/lean-router-paper-access',
      RetentionInDays: 30,
    });
  });

  it('answers its own validation refusals in the API error shape', () => {
    paper.template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'BAD_REQUEST_BODY',
      StatusCode: '400',
      ResponseTemplates: { 'application/json': '{"error":"validation_failed","message":$context.error.messageString}' },
    });
  });

  it('does not own the account-wide API Gateway CloudWatch role', () => {
    paper.template.resourceCountIs('AWS::ApiGateway::Account', 0);
  });
});

describe('functions', () => {
  const sharedEnvironment = {
    ROUTER_STAGE: 'paper',
    CONTROL_PARAMETER_PREFIX: P,
    ALPACA_BASE_URL: 'https://paper-api.alpaca.markets',
    ALPACA_CREDENTIALS_PARAMETER: `${P}alpaca-credentials`,
    LEAN_RUNNER_TOKEN_PARAMETER: `${P}lean-runner-token`,
    TRADING_EXECUTION_ADAPTER: 'lean',
    TRADING_EXECUTION_ADAPTER_POLICY: 'allowlist',
    TRADING_EXECUTION_ADAPTER_SYMBOLS: 'AAPL,MSFT',
    TRADING_EXECUTION_FALLBACK_ADAPTER: 'alpaca',
    TRADING_LEAN_RUNNER_URL: 'https://lean-runner.example.com',
    TRADING_ROUTE_TIMEOUT_MS: '20000',
    NODE_OPTIONS: '--enable-source-maps',
  };

  it.each([
    ['route', 'lean-router-paper-route', 20, 512],
    ['healthCheck', 'lean-router-paper-health-check', 45, 256],
    ['lifecycleSync', 'lean-router-paper-lifecycle-sync', 30, 256],
  ] as const)('%s: nodejs22.x on arm64, %s, its timeout and memory, the shared environment', (which, name, timeout, memory) => {
    const fn = lambdaFunction(paper, which);
    expect(fn.Properties).toMatchObject({
      FunctionName: name,
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: timeout,
      MemorySize: memory,
    });
    const tableRef = { Ref: logicalId(paper.stack, paper.stack.provenance.table) };
    expect(fn.Properties.Environment.Variables).toEqual({ ...sharedEnvironment, PROVENANCE_TABLE_NAME: tableRef });
    expect(fn.Properties.LoggingConfig).toEqual({ LogGroup: { Ref: logicalId(paper.stack, paper.stack[which].logGroup) } });
    paper.template.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/aws/lambda/${name}`, RetentionInDays: 30 });
  });

  it('keeps the route function inside API Gateway\'s 29 s integration timeout', () => {
    expect(lambdaFunction(paper, 'route').Properties.Timeout).toBeLessThan(29);
  });

  it('gives the route function time for its worst case: every call at its full timeout, then the final write', () => {
    const { Timeout, Environment } = lambdaFunction(paper, 'route').Properties;
    // The timeouts the deployed function runs with, read by its own loader.
    const { timeouts, budget } = loadRouterConfig(Environment.Variables);
    const slowestMs = timeouts.ssmMs * 2 + timeouts.dynamoDbMs * 2 + timeouts.leanSubmitMs + timeouts.leanLookupMs + timeouts.alpacaLookupMs * 2 + timeouts.alpacaSubmitMs;
    expect(Timeout * 1000).toBe(budget.routeTimeoutMs);
    expect(slowestMs + budget.finalizeReserveMs).toBeLessThanOrEqual(Timeout * 1000);
  });

  it('sets the route function’s Lambda timeout from the timings in context', () => {
    const app = synthRouter({ stage: 'paper', timings: { TRADING_ROUTE_TIMEOUT_MS: 25_000, TRADING_ALPACA_TIMEOUT_MS: 8_000 } }, { bundle: false });
    const fn = lambdaFunction(app, 'route').Properties;

    expect(fn.Timeout).toBe(25);
    expect(fn.Environment.Variables).toMatchObject({ TRADING_ROUTE_TIMEOUT_MS: '25000', TRADING_ALPACA_TIMEOUT_MS: '8000' });
  });

  it('points live at live Alpaca, without a runner URL when none is given, and keeps its logs a year', () => {
    const variables = lambdaFunction(live, 'route').Properties.Environment.Variables;
    expect(variables).toMatchObject({
      ALPACA_BASE_URL: 'https://api.alpaca.markets',
      CONTROL_PARAMETER_PREFIX: '/lean-router/live/',
      TRADING_EXECUTION_ADAPTER: 'alpaca',
      TRADING_EXECUTION_ADAPTER_POLICY: 'allowlist',
      TRADING_EXECUTION_ADAPTER_SYMBOLS: '',
      TRADING_EXECUTION_FALLBACK_ADAPTER: 'alpaca',
    });
    expect(variables).not.toHaveProperty('TRADING_LEAN_RUNNER_URL');
    live.template.hasResource('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: '/aws/lambda/lean-router-live-route', RetentionInDays: 365 },
      DeletionPolicy: 'Retain',
    });
  });

  describe('esbuild bundles', () => {
    function assetOf(which: RouterFunctionName): string {
      const key = render(lambdaFunction(paper, which).Properties.Code.S3Key);
      return join(paper.assembly.directory, `asset.${key.replace(/\.zip$/, '')}`, 'index.mjs');
    }

    it.each(['route', 'healthCheck', 'lifecycleSync'] as const)('%s: a minified ESM bundle with a source map and the require banner', (which) => {
      const file = assetOf(which);
      expect(existsSync(file)).toBe(true);
      expect(existsSync(`${file}.map`)).toBe(true);
      const code = readFileSync(file, 'utf8');
      expect(code.startsWith(ESM_REQUIRE_BANNER)).toBe(true);
      // The AWS SDK is inside the bundle, not left to the runtime.
      expect(code).not.toMatch(/from\s*"@aws-sdk\//);
      expect(statSync(file).size).toBeGreaterThan(10_000);
    });

    it.each(['route', 'healthCheck', 'lifecycleSync'] as const)('%s: the bundle imports in a fresh node process and exports handler', async (which) => {
      const { stdout } = await run(
        process.execPath,
        ['--input-type=module', '-e', `const m = await import(${JSON.stringify(assetOf(which))}); console.log(typeof m.handler);`],
        {
          env: {
            PATH: process.env.PATH,
            AWS_REGION: 'us-east-1',
            AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
            POWERTOOLS_DEV: 'true',
            ...Object.fromEntries(
              Object.entries(lambdaFunction(paper, which).Properties.Environment.Variables).map(([key, value]) => [
                key,
                typeof value === 'string' ? value : 'lean-router-paper-provenance',
              ]),
            ),
          },
        },
      );
      expect(stdout.trim()).toBe('function');
    });
  });
});

describe('schedules', () => {
  it.each(['healthCheck', 'lifecycleSync'] as const)('runs the %s function every minute, without retries', (which) => {
    const functionArn = { 'Fn::GetAtt': [logicalId(paper.stack, paper.stack[which].function), 'Arn'] };
    const rule = only(paper, 'AWS::Events::Rule', (candidate) =>
      (candidate.Properties.Targets as { Arn: unknown }[]).some((target) => JSON.stringify(target.Arn) === JSON.stringify(functionArn)),
    );
    expect(rule.Properties.ScheduleExpression).toBe('rate(1 minute)');
    expect(rule.Properties.State).toBe('ENABLED');
    expect(rule.Properties.Targets).toEqual([
      expect.objectContaining({ Arn: functionArn, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } }),
    ]);
    paper.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      FunctionName: functionArn,
    });
  });
});

describe('provenance table', () => {
  it('is built from the shared definition: keyed by client_order_id, every index, on demand, AWS-managed encryption', () => {
    paper.template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      TableName: 'lean-router-paper-provenance',
      KeySchema: [{ AttributeName: PROVENANCE_TABLE.partitionKey, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true, SSEType: 'KMS' },
      GlobalSecondaryIndexes: PROVENANCE_INDEXES.map((index) =>
        Match.objectLike({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
          Projection: provenanceIndexProjection(index),
        }),
      ),
    });
  });

  it('lists open orders through the sparse open-orders index, projecting only what the lifecycle sync reads', () => {
    const indexes = only(paper, 'AWS::DynamoDB::GlobalTable').Properties.GlobalSecondaryIndexes as { IndexName: string }[];

    expect(indexes.find((index) => index.IndexName === 'open-orders')).toEqual({
      IndexName: 'open-orders',
      KeySchema: [
        { AttributeName: 'open_partition', KeyType: 'HASH' },
        { AttributeName: 'open_since', KeyType: 'RANGE' },
      ],
      Projection: {
        ProjectionType: 'INCLUDE',
        NonKeyAttributes: [...OPEN_ORDER_FIELDS],
      },
    });
  });

  it.each([
    ['paper', false, 'Delete'],
    ['live', true, 'Retain'],
  ] as const)('%s: point-in-time recovery on, deletion protection %s, %s on stack deletion', (stage, protection, policy) => {
    const table = only(stage === 'paper' ? paper : live, 'AWS::DynamoDB::GlobalTable');
    expect(table.Properties.TableName).toBe(`lean-router-${stage}-provenance`);
    expect(table.DeletionPolicy).toBe(policy);
    expect(table.Properties.Replicas).toEqual([
      expect.objectContaining({
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: protection,
      }),
    ]);
  });
});

describe('control parameters', () => {
  it('hands the policy from context to the functions as their environment, not as a parameter', () => {
    expect(lambdaFunction(paper, 'route').Properties.Environment.Variables).toMatchObject({
      TRADING_EXECUTION_ADAPTER: 'lean',
      TRADING_EXECUTION_ADAPTER_POLICY: 'allowlist',
      TRADING_EXECUTION_ADAPTER_SYMBOLS: 'AAPL,MSFT',
      TRADING_EXECUTION_FALLBACK_ADAPTER: 'alpaca',
    });
  });

  it.each([
    ['kill-switch', 'off'],
    ['lean-health', '{"status":"unknown","checked_at":null,"last_ok_at":null,"latency_ms":null}'],
  ])('creates %s once (%s), never overwrites it, and no deploy writes it again', (name, value) => {
    const resources = Object.values(paper.template.findResources('Custom::LeanRouterControlParameter') as Record<string, Resource>);
    const resource = resources.find((candidate) => JSON.parse(candidate.Properties.Create).parameters.Name === `${P}${name}`);
    expect(resource).toBeDefined();
    const create = JSON.parse(resource!.Properties.Create);
    expect(create).toMatchObject({
      service: 'SSM',
      action: 'PutParameter',
      parameters: { Name: `${P}${name}`, Value: value, Type: 'String', Overwrite: false },
      ignoreErrorCodesMatching: 'ParameterAlreadyExists',
    });
    expect(resource!.Properties).not.toHaveProperty('Update');
    expect(JSON.parse(resource!.Properties.Delete)).toMatchObject({ action: 'DeleteParameter', parameters: { Name: `${P}${name}` } });
  });

  it('holds values the functions read as meant: kill switch off, no healthy probe yet', () => {
    const created = (name: string) =>
      Object.values(paper.template.findResources('Custom::LeanRouterControlParameter') as Record<string, Resource>)
        .map((resource) => JSON.parse(resource.Properties.Create).parameters)
        .find((parameters) => parameters.Name === `${P}${name}`)?.Value as string;
    expect(parseKillSwitch(created('kill-switch'))).toEqual({ state: 'off', source: 'parameter' });
    expect(parseLeanHealth(created('lean-health'))).toEqual({ status: 'unknown', checked_at: null, last_ok_at: null, latency_ms: null });
  });

  it('exists before either function is created', () => {
    const parameterIds = Object.keys(paper.template.findResources('Custom::LeanRouterControlParameter'));
    expect(parameterIds).toHaveLength(2);
    for (const which of ['route', 'healthCheck'] as const) {
      expect(lambdaFunction(paper, which)).toMatchObject({ DependsOn: expect.arrayContaining(parameterIds) });
    }
  });

  it('never creates the Alpaca credentials or a manual review parameter', () => {
    const text = JSON.stringify(paper.template.toJSON().Resources);
    const created = [
      ...Object.values(paper.template.findResources('AWS::SSM::Parameter') as Record<string, Resource>).map((parameter) => parameter.Properties.Name),
      ...Object.values(paper.template.findResources('Custom::LeanRouterControlParameter') as Record<string, Resource>).map(
        (parameter) => JSON.parse(parameter.Properties.Create).parameters.Name,
      ),
    ].sort();
    expect(created).toEqual([`${P}kill-switch`, `${P}lean-health`]);
    expect(text).not.toContain('SecureString');
  });
});

describe('least privilege', () => {
  const table = () => `<${logicalId(paper.stack, paper.stack.provenance.table)}.Arn>`;
  const parameter = (name: string) => renderedParameterArn(`${P}${name}`);
  // Active tracing (CDK's statement: X-Ray has no resource-level permission); the scheduled functions' failure destination.
  const xray = { actions: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], resources: ['*'] };
  const failureQueue = () => ({
    actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
    resources: [`<${logicalId(paper.stack, paper.stack.scheduledFailures.queue)}.Arn>`],
  });

  it('never grants a wildcard action, in any policy of the stack', () => {
    for (const result of [paper, live]) {
      for (const policy of Object.values(result.template.findResources('AWS::IAM::Policy') as Record<string, Resource>)) {
        for (const statement of policy.Properties.PolicyDocument.Statement as { Action: string | string[] }[]) {
          for (const action of [statement.Action].flat()) expect(action).not.toContain('*');
        }
      }
    }
  });

  it('gives the functions roles with no managed policy', () => {
    for (const construct of [paper.stack.route.role, paper.stack.healthCheck.role, paper.stack.lifecycleSync.role]) {
      const role = (paper.template.findResources('AWS::IAM::Role') as Record<string, Resource>)[logicalId(paper.stack, construct)];
      expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('route: its rows, the by-symbol index, the control values, its trips, the Alpaca keys, the runner token; nothing else', () => {
    const logGroup = `<${logicalId(paper.stack, paper.stack.route.logGroup)}.Arn>`;
    expect(statementsOfRole(paper.template, logicalId(paper.stack, paper.stack.route.role))).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup] },
      xray,
      { actions: ['ssm:GetParameter'], resources: [parameter('lean-runner-token')] },
      { actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'], resources: [table()] },
      { actions: ['dynamodb:Query'], resources: [`${table()}/index/by-symbol`] },
      { actions: ['ssm:GetParameters'], resources: [parameter('kill-switch'), parameter('lean-health'), parameter('policy')] },
      { actions: ['ssm:GetParametersByPath'], resources: [parameter('manual-review'), parameter('strategies')] },
      { actions: ['ssm:PutParameter'], resources: [parameter('kill-switch'), parameter('manual-review/*')] },
      { actions: ['ssm:GetParameter'], resources: [parameter('alpaca-credentials')] },
    ]);
  });

  it('health-check: by-route queries, the control values, health and trips, the runner token; no row read or written, no Alpaca keys', () => {
    const logGroup = `<${logicalId(paper.stack, paper.stack.healthCheck.logGroup)}.Arn>`;
    expect(statementsOfRole(paper.template, logicalId(paper.stack, paper.stack.healthCheck.role))).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup] },
      xray,
      { actions: ['ssm:GetParameter'], resources: [parameter('lean-runner-token')] },
      failureQueue(),
      { actions: ['dynamodb:Query'], resources: [`${table()}/index/by-route`] },
      { actions: ['ssm:GetParameters'], resources: [parameter('kill-switch'), parameter('lean-health'), parameter('policy')] },
      { actions: ['ssm:GetParametersByPath'], resources: [parameter('manual-review'), parameter('strategies')] },
      { actions: ['ssm:PutParameter'], resources: [parameter('kill-switch'), parameter('lean-health'), parameter('manual-review/*')] },
    ]);
  });

  it('lifecycle sync: queries the open-orders and by-status indexes, reads and updates rows, reads the Alpaca keys and the runner token, blocks strategies; nothing else', () => {
    const logGroup = `<${logicalId(paper.stack, paper.stack.lifecycleSync.logGroup)}.Arn>`;
    expect(statementsOfRole(paper.template, logicalId(paper.stack, paper.stack.lifecycleSync.role))).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup] },
      xray,
      { actions: ['ssm:GetParameter'], resources: [parameter('lean-runner-token')] },
      failureQueue(),
      { actions: ['dynamodb:Query'], resources: [`${table()}/index/${PROVENANCE_TABLE.indexes.byStatus.name}`, `${table()}/index/${PROVENANCE_TABLE.indexes.openOrders.name}`] },
      { actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'], resources: [table()] },
      { actions: ['ssm:GetParameter'], resources: [parameter('alpaca-credentials')] },
      { actions: ['ssm:PutParameter'], resources: [parameter('strategies/*')] },
    ]);
  });

  it('lifecycle sync: may write no control value but strategies/*', () => {
    const puts = statementsOfRole(paper.template, logicalId(paper.stack, paper.stack.lifecycleSync.role)).filter((statement) => statement.actions.includes('ssm:PutParameter'));
    expect(puts.flatMap((statement) => statement.resources)).toEqual([parameter('strategies/*')]);
  });

  it('lifecycle sync: can neither scan the table nor put a row', () => {
    const actions = statementsOfRole(paper.template, logicalId(paper.stack, paper.stack.lifecycleSync.role)).flatMap((statement) => statement.actions);
    expect(actions).not.toContain('dynamodb:Scan');
    expect(actions).not.toContain('dynamodb:PutItem');
  });

  it('lets the parameter initializer write only the two runtime-owned parameters', () => {
    const statements = Object.values(paper.template.findResources('AWS::IAM::Policy') as Record<string, Resource>)
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as { Action: string; Resource: unknown }[])
      .filter((statement) => [statement.Action].flat().some((action) => action === 'ssm:PutParameter' || action === 'ssm:DeleteParameter'))
      // The runtime folders (manual-review/*, strategies/*, parity/*) are the functions' own writes, asserted per role.
      .filter((statement) => !['manual-review', 'strategies', `${P}parity/`].some((folder) => render(statement.Resource).includes(folder)));
    const resources = new Set(statements.flatMap((statement) => [statement.Resource].flat().map(render)));
    expect([...resources].sort()).toEqual([parameter('kill-switch'), parameter('lean-health')]);

    // The initializer's own role: its log group, and put/delete on exactly those two.
    const initializer = paper.stack.parameters.node.findChild('InitializerRole');
    const logGroup = `<${logicalId(paper.stack, paper.stack.parameters.node.findChild('InitializerLogGroup'))}.Arn>`;
    const statementsOfInitializer = statementsOfRole(paper.template, logicalId(paper.stack, initializer));
    expect(statementsOfInitializer.sort((a, b) => `${a.actions}${a.resources}`.localeCompare(`${b.actions}${b.resources}`))).toEqual([
      { actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup] },
      { actions: ['ssm:DeleteParameter'], resources: [parameter('kill-switch')] },
      { actions: ['ssm:DeleteParameter'], resources: [parameter('lean-health')] },
      { actions: ['ssm:PutParameter'], resources: [parameter('kill-switch')] },
      { actions: ['ssm:PutParameter'], resources: [parameter('lean-health')] },
    ]);
  });
});

describe('alarms', () => {
  type Alarm = Resource;
  const topic = () => ({ Ref: logicalId(paper.stack, paper.stack.alarms.topic) });
  const alarm = (result: SynthResult, name: string): Alarm =>
    only(result, 'AWS::CloudWatch::Alarm', (candidate) => candidate.Properties.AlarmName === `lean-router-${result.stack.settings.stage}-${name}`);
  // Every router metric carries service and stage (functions/adapters/observability.ts).
  const service = [{ Name: 'service', Value: SERVICE_NAME }, { Name: 'stage', Value: 'paper' }];

  it("reads the live stage's own metrics on the live stack, so a paper stack in the same account cannot set it off", () => {
    expect(alarm(live, 'kill-switch-engaged').Properties.Dimensions).toEqual([{ Name: 'service', Value: SERVICE_NAME }, { Name: 'stage', Value: 'live' }]);
  });

  it.each([
    ['kill-switch-engaged', METRIC.killSwitchState, 'Maximum', 'GreaterThanOrEqualToThreshold', 1, 'notBreaching'],
    ['runner-unhealthy', METRIC.runnerHealth, 'Minimum', 'LessThanThreshold', 1, 'breaching'],
    ['order-outcome-unknown', METRIC.outcomeUnknown, 'Sum', 'GreaterThanThreshold', 0, 'notBreaching'],
    ['provenance-write-failures', METRIC.provenanceWriteFailures, 'Sum', 'GreaterThanThreshold', 0, 'notBreaching'],
    ['symbols-in-manual-review', METRIC.symbolsInManualReview, 'Maximum', 'GreaterThanOrEqualToThreshold', 1, 'notBreaching'],
    ['route-divergence', METRIC.routeDivergence, 'Sum', 'GreaterThanThreshold', 0, 'notBreaching'],
  ])('%s: %s (%s) %s %s, missing data %s', (name, metric, statistic, operator, threshold, missing) => {
    expect(alarm(paper, name).Properties).toMatchObject({
      Namespace: METRICS_NAMESPACE,
      MetricName: metric,
      Dimensions: service,
      Statistic: statistic,
      ComparisonOperator: operator,
      Threshold: threshold,
      TreatMissingData: missing,
      AlarmActions: [topic()],
      OKActions: [topic()],
    });
  });

  it('runner-unhealthy: 3 failed minutes in a row, only when a runner is configured', () => {
    expect(alarm(paper, 'runner-unhealthy').Properties).toMatchObject({ Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    const names = Object.values(live.template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).map((a) => a.Properties.AlarmName);
    expect(names).not.toContain('lean-router-live-runner-unhealthy');
    expect(names).toContain('lean-router-live-kill-switch-engaged');
  });

  it('lean-fallback-rate: fallbacks / LEAN submits over 15 minutes above 15%', () => {
    const properties = alarm(paper, 'lean-fallback-rate').Properties;
    expect(properties).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 15, TreatMissingData: 'notBreaching', AlarmActions: [topic()] });
    const queries = properties.Metrics as { Id: string; Expression?: string; MetricStat?: any; ReturnData?: boolean }[];
    const expression = queries.find((query) => query.Expression !== undefined);
    expect(expression?.Expression).toBe('IF(FILL(lean, 0) > 0, 100 * FILL(fallbacks, 0) / FILL(lean, 0), 0)');
    const stat = (id: string) => queries.find((query) => query.Id === id)?.MetricStat;
    expect(stat('fallbacks')).toEqual({
      Metric: { Namespace: METRICS_NAMESPACE, MetricName: METRIC.fallback, Dimensions: service },
      Period: 900,
      Stat: 'Sum',
    });
    expect(stat('lean')).toEqual({
      Metric: { Namespace: METRICS_NAMESPACE, MetricName: METRIC.requests, Dimensions: [{ Name: 'adapter', Value: 'lean' }, ...service] },
      Period: 900,
      Stat: 'Sum',
    });
  });

  it('route-divergence: any divergence within one minute', () => {
    expect(alarm(paper, 'route-divergence').Properties).toMatchObject({ Period: 60, EvaluationPeriods: 1 });
  });

  it('lifecycle-sync-not-running: fewer than 3 invocations of the sync over 5 minutes, missing data breaching', () => {
    expect(alarm(paper, 'lifecycle-sync-not-running').Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(paper.stack, paper.stack.lifecycleSync.function) } }],
      Statistic: 'Sum',
      Period: 300,
      EvaluationPeriods: 1,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 3,
      TreatMissingData: 'breaching',
      AlarmActions: [topic()],
      OKActions: [topic()],
    });
  });

  it('api-5xx: the stage 5XXError count above 0', () => {
    expect(alarm(paper, 'api-5xx').Properties).toMatchObject({
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [topic()],
    });
  });

  it.each([
    ['route', 'route'],
    ['health-check', 'healthCheck'],
    ['lifecycle-sync', 'lifecycleSync'],
  ] as const)('%s: Lambda Errors and Throttles above 0', (name, which) => {
    const functionRef = { Ref: logicalId(paper.stack, paper.stack[which].function) };
    for (const metric of ['Errors', 'Throttles']) {
      expect(alarm(paper, `${name}-${metric.toLowerCase()}`).Properties).toMatchObject({
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [{ Name: 'FunctionName', Value: functionRef }],
        Statistic: 'Sum',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [topic()],
      });
    }
  });

  it('gives every alarm an actionable description (meaning, first step, a command) within the 1024-character limit', () => {
    const alarms = Object.values(paper.template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>);
    expect(alarms).toHaveLength(27);
    for (const { Properties } of alarms) {
      const description = render(Properties.AlarmDescription);
      expect(description).toMatch(/First: /);
      expect(description).toMatch(/\baws \w+ |curl /);
      // Tokens in the description are short logical ids here; the deployed names are literal or short.
      expect(description.length).toBeLessThanOrEqual(1024);
    }
    expect(render(alarm(paper, 'kill-switch-engaged').Properties.AlarmDescription)).toContain(
      `aws ssm put-parameter --name ${P}kill-switch --value off --type String --overwrite`,
    );
  });

  it('notifies one SNS topic, TLS only, with the email from context', () => {
    paper.template.resourceCountIs('AWS::SNS::Topic', 1);
    paper.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com', TopicArn: topic() });
    paper.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: [Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })] },
    });
    live.template.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('dashboard', () => {
  it('shows requests by adapter, fallbacks and gates by reason, latency p50/p99, kill switch, LEAN error rate, runner health', () => {
    const dashboard = only(paper, 'AWS::CloudWatch::Dashboard');
    expect(dashboard.Properties.DashboardName).toBe('lean-router-paper');
    const body = JSON.parse(render(dashboard.Properties.DashboardBody)) as { widgets: { properties: { title?: string; metrics?: unknown[] } }[] };
    const titles = body.widgets.map((widget) => widget.properties.title);
    expect(titles).toEqual([
      'Requests by adapter (broker submits)',
      'Submit latency p50 / p99 by adapter (ms)',
      'LEAN fallbacks by reason',
      'LEAN gated by reason (kill_switch, runner_health_stale, strategy_not_enabled, symbol_manual_review, breaker_open)',
      'Kill switch (1 = on, LEAN disabled)',
      'LEAN error rate (%)',
      'Runner health (1 = /healthz ok)',
      OPEN_ORDERS_TITLE,
      BROKER_STATE_CHANGES_TITLE,
      ROUTE_DIVERGENCES_TITLE,
      PARITY_FILL_RATE_TITLE,
      PARITY_SLIPPAGE_TITLE,
      PARITY_STRATEGIES_TITLE,
      'Outcome unknown, provenance write failures, symbols in manual review',
      'Alarms',
    ]);
    const metricsOf = (title: string) => JSON.stringify(body.widgets.find((widget) => widget.properties.title === title)?.properties.metrics);

    for (const adapter of ['lean', 'alpaca']) {
      expect(metricsOf('Requests by adapter (broker submits)')).toContain(
        JSON.stringify([METRICS_NAMESPACE, METRIC.requests, 'adapter', adapter, 'service', SERVICE_NAME, 'stage', 'paper']).slice(0, -1),
      );
    }
    const latency = metricsOf('Submit latency p50 / p99 by adapter (ms)');
    for (const statistic of ['p50', 'p99']) expect(latency).toContain(`"stat":"${statistic}"`);
    expect(metricsOf('LEAN fallbacks by reason')).toContain(`MetricName=\\"${METRIC.fallbackReason}\\"`);
    expect(metricsOf('LEAN fallbacks by reason')).toContain(`{${METRICS_NAMESPACE},reason,service,stage}`);
    expect(metricsOf('LEAN gated by reason (kill_switch, runner_health_stale, strategy_not_enabled, symbol_manual_review, breaker_open)')).toContain(
      `MetricName=\\"${METRIC.gated}\\"`,
    );
    expect(metricsOf('Kill switch (1 = on, LEAN disabled)')).toContain(METRIC.killSwitchState);
    expect(metricsOf('LEAN error rate (%)')).toContain(METRIC.leanErrorRate);
    expect(metricsOf('Runner health (1 = /healthz ok)')).toContain(METRIC.runnerHealth);
  });

  it("shows the lifecycle sync's open orders, broker state changes by to_status and route divergences", () => {
    const body = JSON.parse(render(only(paper, 'AWS::CloudWatch::Dashboard').Properties.DashboardBody)) as {
      widgets: { properties: { title?: string; metrics?: unknown[] } }[];
    };
    const metricsOf = (title: string) => JSON.stringify(body.widgets.find((widget) => widget.properties.title === title)?.properties.metrics);

    expect(metricsOf(OPEN_ORDERS_TITLE)).toContain(JSON.stringify([METRICS_NAMESPACE, METRIC.openOrders, 'service', SERVICE_NAME, 'stage', 'paper']).slice(0, -1));
    expect(metricsOf(BROKER_STATE_CHANGES_TITLE)).toContain(`{${METRICS_NAMESPACE},to_status,service,stage} MetricName=\\"${METRIC.brokerStateChanges}\\"`);
    expect(metricsOf(ROUTE_DIVERGENCES_TITLE)).toContain(JSON.stringify([METRICS_NAMESPACE, METRIC.routeDivergence, 'service', SERVICE_NAME, 'stage', 'paper']).slice(0, -1));
  });
});

describe('outputs', () => {
  it('gives the API URL, the table name and every parameter name', () => {
    const outputs = paper.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    const value = (key: string) => render(outputs[key]?.Value);
    expect(value('ApiUrl')).toMatch(/^https:\/\/<OrderApi\w+>\.execute-api\.<AWS::Region>\.<AWS::URLSuffix>\/<OrderApiDeploymentStagepaper\w+>\/$/);
    expect(value('ProvenanceTableName')).toBe(`<${logicalId(paper.stack, paper.stack.provenance.table)}>`);
    expect(value('KillSwitchParameter')).toBe(`${P}kill-switch`);
    expect(value('PolicyParameter')).toBe(`${P}policy`);
    expect(value('LeanHealthParameter')).toBe(`${P}lean-health`);
    expect(value('ManualReviewParameterPath')).toBe(`${P}manual-review`);
    expect(value('AlpacaCredentialsParameter')).toBe(`${P}alpaca-credentials`);
    expect(value('RouteLogGroup')).toBe('/aws/lambda/lean-router-paper-route');
    expect(value('LifecycleSyncLogGroup')).toBe('/aws/lambda/lean-router-paper-lifecycle-sync');
    expect(Object.keys(outputs).filter((key) => key.includes('Endpoint'))).toEqual([]);
  });
});

describe('LEAN runner token', () => {
  const TOKEN_PARAMETER = `${P}lean-runner-token`;
  const readToken = { actions: ['ssm:GetParameter'], resources: [renderedParameterArn(TOKEN_PARAMETER)] };
  const functions: RouterFunctionName[] = ['route', 'healthCheck', 'lifecycleSync'];

  it.each(functions)('%s: names the token SecureString in its environment, never a token', (which) => {
    const variables = lambdaFunction(paper, which).Properties.Environment.Variables as Record<string, string>;

    expect(variables.LEAN_RUNNER_TOKEN_PARAMETER).toBe(TOKEN_PARAMETER);
    expect(Object.keys(variables).filter((name) => /token/i.test(name))).toEqual(['LEAN_RUNNER_TOKEN_PARAMETER']);
  });

  it.each(functions)('%s: may read the token SecureString, with decryption, and only that one', (which) => {
    const statements = statementsOfRole(paper.template, logicalId(paper.stack, paper.stack[which].role));

    expect(statements.filter((statement) => statement.resources.some((resource) => resource.endsWith('lean-runner-token')))).toEqual([readToken]);
  });

  it('neither names nor grants a token when no runner is configured', () => {
    for (const which of functions) {
      expect(lambdaFunction(live, which).Properties.Environment.Variables).not.toHaveProperty('LEAN_RUNNER_TOKEN_PARAMETER');
      const resources = statementsOfRole(live.template, logicalId(live.stack, live.stack[which].role)).flatMap((statement) => statement.resources);
      expect(resources.filter((resource) => resource.endsWith('lean-runner-token'))).toEqual([]);
    }
  });

  it('creates no token parameter: it is put out of band, like the Alpaca keys', () => {
    const names = Object.values(paper.template.findResources('AWS::SSM::Parameter') as Record<string, Resource>).map((parameter) => render(parameter.Properties.Name));

    expect(names).not.toContain(TOKEN_PARAMETER);
    expect(paper.stack.parameters.leanRunnerTokenName).toBe(TOKEN_PARAMETER);
  });

  it('refuses to synthesize live with an http runner URL', () => {
    expect(() => synthRouter({ stage: 'live', leanRunnerUrl: 'http://lean-runner.example.com', executionAdapter: 'lean', executionPolicy: 'all' }, { bundle: false })).toThrow(
      'TRADING_LEAN_RUNNER_URL must be https on live',
    );
  });
});
