import { Duration, Validations, type RemovalPolicy } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { LogLevel, NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LEAN_RUNNER_TOKEN_VARIABLE } from '../../functions/core/config';
import { LAMBDA_MODULE_ALIASES, PROJECT_ROOT, ROUTER_BUNDLING, ROUTER_NODE_OPTIONS } from '../router-bundling';
import type { Stage } from '../router-settings';
import { ssmParameterArn, type ControlParameters } from './control-parameters';
import type { ProvenanceTable } from './provenance-table';

/**
 * {@link ROUTER_BUNDLING} and {@link LAMBDA_MODULE_ALIASES} as `NodejsFunction` bundling options:
 * the locally installed esbuild (run in the project root, where the aliases resolve), never Docker,
 * writing `index.mjs`.
 */
const ROUTER_FUNCTION_BUNDLING: BundlingOptions = {
  ...ROUTER_BUNDLING,
  mainFields: [...ROUTER_BUNDLING.mainFields],
  externalModules: [...ROUTER_BUNDLING.externalModules],
  forceDockerBundling: false,
  format: OutputFormat.ESM,
  logLevel: LogLevel.ERROR,
  esbuildArgs: { '--alias': Object.entries(LAMBDA_MODULE_ALIASES).map(([name, replacement]) => `${name}=${replacement}`) },
};

/** When a scheduled function runs, and how late a queued run may still start. */
export interface RunSchedule {
  /** The rule's rate; the function's timeout stays below it, so runs never overlap. */
  readonly period: Duration;
  /** The oldest an event may be when it starts a run (Lambda accepts 60 s at the least). */
  readonly maxEventAge: Duration;
}

/**
 * The health-check's and the lifecycle sync's: each minute, and an event a period old has been
 * superseded by the next one.
 */
export const EVERY_MINUTE_SCHEDULE: RunSchedule = { period: Duration.minutes(1), maxEventAge: Duration.minutes(1) };

/** What differs between the router's functions; everything else is a fixed default. */
export interface RouterFunctionProps {
  /** Physical name, `lean-router-<stage>-<role>`; its log group is `/aws/lambda/<name>`. */
  readonly functionName: string;
  /** Absolute path of the handler module (it exports `handler`). */
  readonly entry: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly memorySize: number;
  /**
   * Instances reserved for (and the most allowed to) this function: a burst of orders can neither
   * take the scheduled functions' capacity nor run more routes than the broker's quota can serve.
   * Reserved concurrency comes out of the account's unreserved pool (docs/operations.md).
   */
  readonly reservedConcurrentExecutions: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly logRetention: RetentionDays;
  /** `RETAIN` on live stages, so the logs outlive a deleted stack. */
  readonly logRemovalPolicy: RemovalPolicy;
}

/** What the stack hands each router function: its stage, environment, data, control values and log policy. */
export interface RouterFunctionContext extends Pick<RouterFunctionProps, 'environment' | 'logRetention' | 'logRemovalPolicy'> {
  readonly stage: Stage;
  readonly provenance: ProvenanceTable;
  readonly parameters: ControlParameters;
}

/**
 * One router Lambda function with the project's fixed defaults: nodejs22.x on arm64, bundled by the
 * locally installed esbuild (never Docker), minified ESM with source maps, the AWS SDK bundled, an
 * explicit log group with retention, and a role that holds nothing but the right to write to that
 * log group: callers add exactly the statements the function needs with {@link addToPolicy}. The
 * one exception is the runner token: every function that calls the runner (route, health-check
 * probe, lifecycle lookups) gets the same environment, so a function whose environment names the
 * token's SecureString may read that one parameter.
 */
export class RouterFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;
  /** `/aws/lambda/<function name>`, as a literal (for runbook commands and outputs). */
  readonly logGroupName: string;
  readonly role: Role;

  constructor(scope: Construct, id: string, props: RouterFunctionProps) {
    super(scope, id);
    this.logGroupName = `/aws/lambda/${props.functionName}`;
    this.logGroup = new LogGroup(this, 'LogGroup', {
      logGroupName: this.logGroupName,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    // No AWSLambdaBasicExecutionRole: it grants logs:CreateLogGroup and writes to every log group.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      functionName: props.functionName,
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      // X-Ray traces of each invocation (CDK grants the role xray:PutTraceSegments/PutTelemetryRecords).
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: `${PROJECT_ROOT}package-lock.json`,
      environment: { ...props.environment, NODE_OPTIONS: ROUTER_NODE_OPTIONS },
      bundling: ROUTER_FUNCTION_BUNDLING,
    });
    this.grantLeanRunnerTokenRead(props.environment[LEAN_RUNNER_TOKEN_VARIABLE]);
    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose: the bundle targets node22 and the code is tested on Node 20/22; moving to a newer runtime is a deliberate, tested change, not a side effect of a CDK upgrade.',
    });
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the statement CDK adds for active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permission, so their resource is always "*".',
    });
  }

  /**
   * Runs the function on an EventBridge rule at `schedule.period` (construct id `Schedule`). A missed
   * run is not retried, neither by EventBridge nor by Lambda's asynchronous invocation: the next one
   * reads fresher state. An event still queued after `schedule.maxEventAge` (the previous run holds
   * the one reserved instance) is dropped; a failed or dropped run goes to `failures`, which is
   * alarmed.
   */
  protected runOnSchedule(description: string, schedule: RunSchedule, failures: IQueue): Rule {
    const rule = new Rule(this, 'Schedule', { description, schedule: Schedule.rate(schedule.period) });
    rule.addTarget(new LambdaFunction(this.function, { retryAttempts: 0, maxEventAge: schedule.maxEventAge }));
    this.function.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: schedule.maxEventAge, onFailure: new SqsDestination(failures) });
    return rule;
  }

  /** `GetParameter` with decryption on the named token; decrypting it is granted by the secrets key's policy (ControlParameters.grantSecretDecrypt). */
  private grantLeanRunnerTokenRead(parameterName: string | undefined): void {
    if (parameterName === undefined) return;
    this.addToPolicy(new PolicyStatement({ sid: 'ReadLeanRunnerToken', actions: ['ssm:GetParameter'], resources: [ssmParameterArn(this, parameterName)] }));
  }

  /** Adds one least-privilege statement to the function's role. */
  addToPolicy(statement: PolicyStatement): void {
    this.role.addToPolicy(statement);
  }

  /**
   * Acknowledges one wildcard resource of this function's policy (cdk-nag AwsSolutions-IAM5), as
   * cdk-nag renders it, e.g. `arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/x/*`.
   */
  acknowledgeWildcardResource(renderedResource: string, reason: string): void {
    Validations.of(this.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${renderedResource}]`, reason });
  }
}
