import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { ParameterTier, StringParameter } from 'aws-cdk-lib/aws-ssm';
import { AwsCustomResource, AwsCustomResourcePolicy, Logging, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import { leanHealthValue, type LeanHealth } from '../../functions/core/control';
import { CONTROL_PARAMETER, controlParameterName, controlParameterPrefix } from '../../functions/core/control-parameters';
import type { RouterSettings, Stage } from '../router-settings';

/** The value `kill-switch` starts with: LEAN allowed (an operator or a trip turns it on). */
const INITIAL_KILL_SWITCH = 'off';

/** What `lean-health` holds until the health-check's first probe (the functions read it as no healthy probe yet). */
const INITIAL_LEAN_HEALTH: LeanHealth = { status: 'unknown', checked_at: null, last_ok_at: null, latency_ms: null };

/** The `policy` parameter as the context declares it: `{adapter, policy, symbols, fallback}`. */
function policyParameterValue(settings: RouterSettings): string {
  return JSON.stringify({
    adapter: settings.executionAdapter,
    policy: settings.executionPolicy,
    symbols: settings.executionSymbols,
    fallback: settings.fallbackAdapter,
  });
}

/** A function's role, as {@link ControlParameters.grantRuntimeAccess} needs it (see RouterFunction). */
export interface ControlParameterGrantee {
  addToPolicy(statement: PolicyStatement): void;
  acknowledgeWildcardResource(renderedResource: string, reason: string): void;
}

/** The runtime-owned values a function may write, besides `manual-review/<SYMBOL>`. */
export type WritableControlValue = 'killSwitch' | 'leanHealth';

/** Properties of the control parameters construct. */
export interface ControlParametersProps {
  readonly settings: RouterSettings;
  readonly logRetention: RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
}

/**
 * The runtime control values in SSM Parameter Store under `/lean-router/<stage>/`.
 *
 * - `policy` belongs to the deployment: a CloudFormation parameter, rewritten from context on deploy.
 * - `kill-switch` and `lean-health` belong to the running system (operators, the route's trips, the
 *   health-check). They are created once, `off` and `unknown`, and a deploy never writes them again:
 *   a CloudFormation-managed value would be reset whenever its resource changed, silently
 *   un-latching an automatic kill-switch trip. They are created with `Overwrite: false`, kept if
 *   they already exist, and deleted with the stack.
 * - `manual-review/<SYMBOL>` parameters are created and deleted at runtime, never here.
 * - `alpaca-credentials` (SecureString) is created out of band and only read.
 * - `lean-runner-token` (SecureString), the runner's bearer token, likewise: each function whose
 *   environment names it may read it (see RouterFunction).
 */
export class ControlParameters extends Construct {
  readonly prefix: string;
  readonly killSwitchName: string;
  readonly policyName: string;
  readonly leanHealthName: string;
  /** The folder of per-symbol review parameters (no trailing slash). */
  readonly manualReviewPath: string;
  readonly alpacaCredentialsName: string;
  /** The runner token's SecureString, created out of band; used only when a runner URL is configured. */
  readonly leanRunnerTokenName: string;
  readonly policyParameter: StringParameter;

  constructor(scope: Construct, id: string, props: ControlParametersProps) {
    super(scope, id);
    const { stage } = props.settings;
    this.prefix = controlParameterPrefix(stage);
    this.killSwitchName = controlParameterName(this.prefix, CONTROL_PARAMETER.killSwitch);
    this.policyName = controlParameterName(this.prefix, CONTROL_PARAMETER.policy);
    this.leanHealthName = controlParameterName(this.prefix, CONTROL_PARAMETER.leanHealth);
    this.manualReviewPath = controlParameterName(this.prefix, CONTROL_PARAMETER.manualReview);
    this.alpacaCredentialsName = controlParameterName(this.prefix, CONTROL_PARAMETER.alpacaCredentials);
    this.leanRunnerTokenName = controlParameterName(this.prefix, CONTROL_PARAMETER.leanRunnerToken);

    this.policyParameter = new StringParameter(this, 'Policy', {
      parameterName: this.policyName,
      stringValue: policyParameterValue(props.settings),
      tier: ParameterTier.STANDARD,
      description: `lean-router ${stage}: routing policy {adapter, policy, symbols, fallback}; overrides the environment without a redeploy`,
    });

    const initializerLogGroup = new LogGroup(this, 'InitializerLogGroup', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    // Own role instead of the default one with AWSLambdaBasicExecutionRole.
    const initializerRole = new Role(this, 'InitializerRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `lean-router ${stage}: creates the runtime-owned control parameters once`,
    });
    initializerLogGroup.grantWrite(initializerRole);

    this.createOnce('KillSwitch', stage, this.killSwitchName, INITIAL_KILL_SWITCH, 'kill switch: on/off or JSON {state, reason, set_by, set_at}; on disables LEAN', {
      role: initializerRole,
      logGroup: initializerLogGroup,
    });
    this.createOnce('LeanHealth', stage, this.leanHealthName, leanHealthValue(INITIAL_LEAN_HEALTH), 'last LEAN runner probe, written by the health-check', {
      role: initializerRole,
      logGroup: initializerLogGroup,
    });
  }

  /**
   * Exactly what the route and health-check functions do with the control values (see
   * functions/adapters/ssm-control-plane.ts and ssm-alpaca-credentials.ts): the batched read,
   * `GetParameters` on each of kill-switch, policy and lean-health, plus `GetParametersByPath`, which
   * SSM authorizes on the path itself, not on the parameters it returns (non-recursive here);
   * `PutParameter` on `writes` and on `manual-review/<SYMBOL>` (both functions put symbols in
   * review). The Alpaca keys are a grant of their own ({@link grantAlpacaCredentialsRead}): the
   * health-check does not read them.
   */
  grantRuntimeAccess(grantee: ControlParameterGrantee, writes: readonly WritableControlValue[]): void {
    const writable: Record<WritableControlValue, string> = { killSwitch: this.killSwitchName, leanHealth: this.leanHealthName };
    const reviews = `${this.manualReviewPath}/*`;
    const statements: [string, string, string[]][] = [
      ['ReadControlValues', 'ssm:GetParameters', [this.killSwitchName, this.policyName, this.leanHealthName]],
      ['ReadManualReviews', 'ssm:GetParametersByPath', [this.manualReviewPath]],
      ['WriteControlValues', 'ssm:PutParameter', [...writes.map((value) => writable[value]), reviews]],
    ];
    for (const [sid, action, names] of statements) {
      grantee.addToPolicy(new PolicyStatement({ sid, actions: [action], resources: names.map((name) => this.arn(name)) }));
    }
    grantee.acknowledgeWildcardResource(
      nagParameterArn(reviews),
      'Manual review is one parameter per symbol (manual-review/<SYMBOL>), created at runtime, so the symbols are unknown at deploy time; the wildcard is confined to that folder of this stage and to ssm:PutParameter.',
    );
  }

  /**
   * `GetParameter` with decryption on the Alpaca SecureString, and nothing else. It is encrypted with
   * the AWS managed key aws/ssm, whose key policy lets this account's principals decrypt through
   * SSM, so no kms statement is needed.
   */
  grantAlpacaCredentialsRead(grantee: Pick<ControlParameterGrantee, 'addToPolicy'>): void {
    grantee.addToPolicy(
      new PolicyStatement({ sid: 'ReadAlpacaCredentials', actions: ['ssm:GetParameter'], resources: [this.arn(this.alpacaCredentialsName)] }),
    );
  }

  private arn(name: string): string {
    return ssmParameterArn(this, name);
  }

  private createOnce(id: string, stage: Stage, name: string, value: string, what: string, runtime: { role: Role; logGroup: LogGroup }): void {
    new AwsCustomResource(this, id, {
      resourceType: 'Custom::LeanRouterControlParameter',
      installLatestAwsSdk: false,
      role: runtime.role,
      logGroup: runtime.logGroup,
      onCreate: {
        service: 'SSM',
        action: 'PutParameter',
        parameters: { Name: name, Value: value, Type: 'String', Tier: 'Standard', Overwrite: false, Description: `lean-router ${stage}: ${what}` },
        physicalResourceId: PhysicalResourceId.of(name),
        logging: Logging.withDataHidden(),
        // Already there (e.g. a stack re-created over a kept parameter): keep its value.
        ignoreErrorCodesMatching: 'ParameterAlreadyExists',
      },
      // No onUpdate: a deploy never touches a value the running system owns.
      onDelete: {
        service: 'SSM',
        action: 'DeleteParameter',
        parameters: { Name: name },
        ignoreErrorCodesMatching: 'ParameterNotFound',
        logging: Logging.withDataHidden(),
      },
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: [this.arn(name)] }),
    });
  }
}

/** `arn:<partition>:ssm:<region>:<account>:parameter/<name without its leading slash>`, in the stack of `scope`. */
export function ssmParameterArn(scope: IConstruct, name: string): string {
  return Stack.of(scope).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\/+/, '') });
}

/** A parameter ARN as cdk-nag renders it in finding ids (pseudo parameters in angle brackets). */
function nagParameterArn(name: string): string {
  return `arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/${name.replace(/^\/+/, '')}`;
}
