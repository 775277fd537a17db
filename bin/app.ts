import { App } from 'aws-cdk-lib';
import { LeanRouterStack, type Stage } from '../lib/lean-router-stack';

const app = new App();
const stage = app.node.tryGetContext('stage') ?? 'paper';
if (stage !== 'paper' && stage !== 'live') {
  throw new Error(`context "stage" must be paper or live, not ${JSON.stringify(stage)}`);
}
new LeanRouterStack(app, `lean-router-${stage}`, { stage: stage as Stage });
app.synth();
