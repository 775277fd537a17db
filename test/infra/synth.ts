import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import type { LeanRouterStack } from '../../lib/lean-router-stack';
import { createRouterApp } from '../../lib/router-app';

/** One validation finding as the cloud assembly's validation report lists it. */
export interface NagViolation {
  readonly ruleName: string;
  readonly severity: string;
  readonly constructPaths: readonly string[];
}

/** A synthesized router app: the stack, its template, the assembly, and what cdk-nag reported. */
export interface SynthResult {
  readonly stack: LeanRouterStack;
  readonly template: Template;
  readonly assembly: CloudAssembly;
  /** Every unacknowledged finding of every validation plugin (errors and warnings). */
  readonly violations: readonly NagViolation[];
}

const outdirs: string[] = [];

/** Removes every cloud assembly synthesized so far (call from afterAll). */
export function removeSynthOutputs(): void {
  for (const outdir of outdirs.splice(0)) rmSync(outdir, { recursive: true, force: true });
}

/** What a synth runs besides the app itself. */
export interface SynthOptions {
  /** esbuild for the functions' assets (default true); false skips it (CDK's bundling-stacks context) where the assets are not under test. */
  readonly bundle?: boolean;
  /**
   * aws-cdk-lib's built-in CloudFormation template validation, as `cdk synth` runs it (default
   * false). Its WebAssembly engine costs about 5 s of CPU in each process that first uses it, so
   * only the synths whose findings a test asserts (`violations`) turn it on; cdk-nag runs on every
   * synth.
   */
  readonly cfnValidation?: boolean;
}

/**
 * Synthesizes the real app (cdk-nag registered, as `bin/app.ts` does) with the given context.
 * Validation findings do not throw here (the CLI and `bin/app.ts` do fail on them): they are read
 * back from the report, so one test names them all while the other tests still run.
 */
export function synthRouter(context: Record<string, unknown>, options: SynthOptions = {}): SynthResult {
  const outdir = mkdtempSync(join(tmpdir(), 'lean-router-cdk-'));
  outdirs.push(outdir);
  const { app, stack } = createRouterApp({
    outdir,
    builtinCloudFormationValidation: options.cfnValidation ?? false,
    context: {
      ...context,
      '@aws-cdk/core:failSynthOnValidationErrors': false,
      ...(options.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
    },
  });
  const assembly = app.synth();
  return { stack, template: Template.fromStack(stack), assembly, violations: readViolations(assembly) };
}

function readViolations(assembly: CloudAssembly): NagViolation[] {
  let report: { pluginReports?: { violations?: { ruleName: string; severity: string; violatingConstructs?: { constructPath: string }[] }[] }[] };
  try {
    report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
  } catch {
    return []; // no report: no plugin found anything
  }
  return (report.pluginReports ?? []).flatMap((plugin) =>
    (plugin.violations ?? []).map((violation) => ({
      ruleName: violation.ruleName,
      severity: violation.severity,
      constructPaths: (violation.violatingConstructs ?? []).map((construct) => construct.constructPath),
    })),
  );
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(stack: LeanRouterStack, construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/**
 * Renders a CloudFormation value as text: `{Ref: X}` as `<X>`, `Fn::GetAtt` as `<X.Attr>`,
 * `Fn::Join` concatenated, so ARNs read as `arn:<AWS::Partition>:ssm:...:parameter/lean-router/...`.
 */
export function render(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(render).join(',');
  if (value !== null && typeof value === 'object') {
    const object = value as Record<string, unknown>;
    if ('Ref' in object) return `<${String(object.Ref)}>`;
    if ('Fn::GetAtt' in object) return `<${(object['Fn::GetAtt'] as string[]).join('.')}>`;
    if ('Fn::Join' in object) {
      const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(separator);
    }
  }
  return JSON.stringify(value);
}

/** One IAM statement, rendered: sorted actions, sorted rendered resources. */
export interface RenderedStatement {
  readonly actions: readonly string[];
  readonly resources: readonly string[];
}

/** The statements of every policy attached to a role, in a comparable form. */
export function statementsOfRole(template: Template, roleLogicalId: string): RenderedStatement[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
    ((policy.Properties?.Roles ?? []) as unknown[]).some((role) => render(role) === `<${roleLogicalId}>`),
  );
  return policies.flatMap((policy) =>
    (policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Effect: string }[]).map((statement) => {
      if (statement.Effect !== 'Allow') throw new Error(`unexpected ${statement.Effect} statement`);
      const actions = [statement.Action].flat().sort();
      const resources = (Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource]).map(render).sort();
      return { actions, resources };
    }),
  );
}

/** `arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/<name>` as rendered. */
export function renderedParameterArn(name: string): string {
  return `arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/${name.replace(/^\/+/, '')}`;
}
