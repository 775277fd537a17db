import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PROVENANCE_INDEXES, PROVENANCE_TABLE } from '../../functions/adapters/provenance-table';
import { LeanRouterStack, type Stage } from '../../lib/lean-router-stack';

function synth(stage: Stage): Template {
  return Template.fromStack(new LeanRouterStack(new App(), `test-${stage}`, { stage }));
}

describe('LeanRouterStack', () => {
  it('builds the provenance table from the shared definition, keyed by client_order_id, with every index', () => {
    const template = synth('paper');

    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [{ AttributeName: PROVENANCE_TABLE.partitionKey, KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      GlobalSecondaryIndexes: PROVENANCE_INDEXES.map((index) =>
        Match.objectLike({
          IndexName: index.name,
          KeySchema: [
            { AttributeName: index.partitionKey, KeyType: 'HASH' },
            { AttributeName: index.sortKey, KeyType: 'RANGE' },
          ],
        }),
      ),
    });
  });

  it('enables point-in-time recovery on every stage', () => {
    const replicas = synth('paper').findResources('AWS::DynamoDB::GlobalTable');

    expect(JSON.stringify(replicas)).toContain('"PointInTimeRecoveryEnabled":true');
  });

  it('protects the live table from deletion and retains it', () => {
    const template = synth('live');

    template.hasResource('AWS::DynamoDB::GlobalTable', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ Replicas: [Match.objectLike({ DeletionProtectionEnabled: true })] }),
    });
  });
});
