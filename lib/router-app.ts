import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { LeanRouterStack } from './lean-router-stack';
import { routerSettingsFromContext, stackName, type RouterSettings } from './router-settings';

/** The CDK app, its one router stack and the settings it was built from. */
export interface RouterApp {
  readonly app: App;
  readonly stack: LeanRouterStack;
  readonly settings: RouterSettings;
}

/**
 * Builds the app from its context (cdk.json, `--context`, or `props.context` in tests) with the
 * cdk-nag AwsSolutions checks registered, so every synth is checked: an unacknowledged error fails
 * the synth, and `policy-validation-report.json` in the cloud assembly lists every finding.
 */
export function createRouterApp(props: AppProps = {}): RouterApp {
  const app = new App(props);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const settings = routerSettingsFromContext((key) => app.node.tryGetContext(key));
  const stack = new LeanRouterStack(app, stackName(settings.stage), { settings });
  return { app, stack, settings };
}
