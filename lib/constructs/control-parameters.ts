import { Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AnyPrincipal, ArnPrincipal, Effect, PolicyStatement, Role, ServicePrincipal, type IRole } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, Logging, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import { leanHealthValue, type LeanHealth } from '../../functions/core/control';
import { CONTROL_PARAMETER, controlParameterName, controlParameterPrefix } from '../../functions/core/control-parameters';
import type { RouterSettings, Stage } from '../router-settings';

/** The value `kill-switch` starts with: LEAN allowed (an operator or a trip turns it on). */
const INITIAL_KILL_SWITCH = 'off';

/** What `lean-health` holds until the health-check's first probe (the functions read it as no healthy probe yet). */
const INITIAL_LEAN_HEALTH: LeanHealth = { status: 'unknown', checked_at: null, last_ok_at: null, latency_ms: null };

/** A deleted paper key can still be restored for this long (the shortest KMS allows). */
const PAPER_KEY_PENDING_WINDOW = Duration.days(7);

/** The alias of a stage's secrets key; operators put the SecureStrings with `--key-id <alias>`. */
export function secretsKeyAlias(stage: Stage): string {
  return `alias/lean-router-${stage}-secrets`;
}

/** A function's role, as {@link ControlParameters.grantRuntimeAccess} needs it (see RouterFunction). */
export interface ControlParameterGrantee {
  addToPolicy(statement: PolicyStatement): void;
  acknowledgeWildcardResource(renderedResource: string, reason: string): void;
}

/** A function that reads a SecureString: its policy for `ssm:GetParameter`, its role for the key policy. */
export interface SecretReader extends Pick<ControlParameterGrantee, 'addToPolicy'> {
  readonly role: IRole;
}

/** The SecureStrings the operator puts out of band under the stage's secrets key. */
export type SecretValue = 'alpacaCredentials' | 'leanRunnerToken';

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
 * - `policy` is the operator's runtime override and nothing else: the stack never creates, writes or
 *   deletes it. The deploy-time policy is the functions' `TRADING_EXECUTION_*` environment; while
 *   `policy` is absent the environment rules, so no deploy can revert or drift an override.
 * - `kill-switch` and `lean-health` belong to the running system (operators, the route's trips, the
 *   health-check). They are created once, `off` and `unknown`, and a deploy never writes them again:
 *   a CloudFormation-managed value would be reset whenever its resource changed, silently
 *   un-latching an automatic kill-switch trip. They are created with `Overwrite: false` and kept if
 *   they already exist. A live stack's deletion keeps the kill switch (and its reason); a paper
 *   stack deletes both.
 * - `manual-review/<SYMBOL>` parameters are created and deleted at runtime, never here.
 * - `alpaca-credentials` and `lean-runner-token` (SecureStrings) are put out of band by the operator
 *   under {@link secretsKey}, whose key policy lets only the functions that read them decrypt them.
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
  /**
   * The customer managed key of the SecureStrings (alias {@link secretsKeyAlias}): only the roles
   * granted a secret may decrypt, only through SSM, only that secret's parameter.
   */
  readonly secretsKey: Key;
  readonly secretsKeyAlias: string;
  /** The roles granted a secret; every other principal is denied `kms:Decrypt` on the key. */
  private readonly secretReaders: IRole[] = [];

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

    const live = stage === 'live';
    this.secretsKeyAlias = secretsKeyAlias(stage);
    // A sibling in the stack, not a child: the functions depend on this construct (its parameters
    // exist first) while the key's policy names their roles; as a child that would be a cycle.
    this.secretsKey = new Key(Stack.of(this), 'SecretsKey', {
      alias: this.secretsKeyAlias,
      description: `lean-router ${stage}: encrypts the secret parameters alpaca-credentials and lean-runner-token`,
      enableKeyRotation: true,
      removalPolicy: live ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      ...(live ? {} : { pendingWindow: PAPER_KEY_PENDING_WINDOW }),
    });
    // The default statement lets the account's IAM policies administer the key and encrypt with it
    // (the operator's put-parameter); decryption is denied to everyone but the granted roles.
    this.secretsKey.addToResourcePolicy(
      new PolicyStatement({
        sid: 'DecryptOnlyByTheFunctionsThatReadTheSecrets',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: {
          ArnNotEquals: { 'aws:PrincipalArn': Lazy.list({ produce: () => this.secretReaders.map((role) => role.roleArn) }, { omitEmpty: false }) },
        },
      }),
    );

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

    const runtime = { role: initializerRole, logGroup: initializerLogGroup };
    // A deleted live stack leaves its kill switch (and who set it, and why) for the next one.
    this.createOnce('KillSwitch', stage, this.killSwitchName, INITIAL_KILL_SWITCH, 'kill switch: on/off or JSON {state, reason, set_by, set_at}; on disables LEAN', {
      ...runtime,
      keepOnDelete: live,
    });
    this.createOnce('LeanHealth', stage, this.leanHealthName, leanHealthValue(INITIAL_LEAN_HEALTH), 'last LEAN runner probe, written by the health-check', {
      ...runtime,
      keepOnDelete: false,
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
      // The manual reviews and the strategies' enablement are folders, each read with one paged call.
      ['ReadControlFolders', 'ssm:GetParametersByPath', [this.manualReviewPath, controlParameterName(this.prefix, CONTROL_PARAMETER.strategies)]],
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
   * `GetParameter` with decryption on the Alpaca SecureString, and nothing else: the IAM statement
   * on the parameter, and the key policy's decrypt for that parameter ({@link grantSecretDecrypt}).
   */
  grantAlpacaCredentialsRead(grantee: SecretReader): void {
    grantee.addToPolicy(
      new PolicyStatement({ sid: 'ReadAlpacaCredentials', actions: ['ssm:GetParameter'], resources: [this.arn(this.alpacaCredentialsName)] }),
    );
    this.grantSecretDecrypt(grantee.role, 'alpacaCredentials');
  }

  /**
   * Lets one role decrypt one SecureString with {@link secretsKey}: a key policy statement naming
   * the role, only through SSM in this region (`kms:ViaService`) and only for that parameter (SSM's
   * encryption context `PARAMETER_ARN`). The role needs no kms statement of its own: the key policy
   * names it. (The `ssm:GetParameter` statement is the caller's; RouterFunction adds the token's.)
   */
  grantSecretDecrypt(role: IRole, secret: SecretValue): void {
    const names: Record<SecretValue, string> = { alpacaCredentials: this.alpacaCredentialsName, leanRunnerToken: this.leanRunnerTokenName };
    const stack = Stack.of(this);
    this.secretsKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ArnPrincipal(role.roleArn)],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'kms:ViaService': `ssm.${stack.region}.${stack.urlSuffix}`,
            'kms:EncryptionContext:PARAMETER_ARN': this.arn(names[secret]),
          },
        },
      }),
    );
    if (!this.secretReaders.includes(role)) this.secretReaders.push(role);
  }

  private arn(name: string): string {
    return ssmParameterArn(this, name);
  }

  private createOnce(id: string, stage: Stage, name: string, value: string, what: string, runtime: { role: Role; logGroup: LogGroup; keepOnDelete: boolean }): void {
    const deleteWithStack = {
      service: 'SSM',
      action: 'DeleteParameter',
      parameters: { Name: name },
      ignoreErrorCodesMatching: 'ParameterNotFound',
      logging: Logging.withDataHidden(),
    };
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
      ...(runtime.keepOnDelete ? { removalPolicy: RemovalPolicy.RETAIN } : { onDelete: deleteWithStack }),
      policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: [this.arn(name)] }),
    });
  }
}

/** `arn:<partition>:ssm:<region>:<account>:parameter/<name without its leading slash>`, in the stack of `scope`. */
export function ssmParameterArn(scope: IConstruct, name: string): string {
  return Stack.of(scope).formatArn({ service: 'ssm', resource: 'parameter', resourceName: name.replace(/^\/+/, '') });
}

/** A parameter ARN as cdk-nag renders it in finding ids (pseudo parameters in angle brackets), for acknowledging a wildcard folder. */
export function nagParameterArn(name: string): string {
  return `arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/${name.replace(/^\/+/, '')}`;
}
