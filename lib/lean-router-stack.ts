import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ProvenanceTable } from './constructs/provenance-table';

/** Stages the router deploys to; `live` is never a default. */
export type Stage = 'paper' | 'live';

/** Properties of the router stack. */
export interface LeanRouterStackProps extends StackProps {
  readonly stage: Stage;
}

/** The lean-router stack. This first cut holds the provenance table; functions, API and alarms follow. */
export class LeanRouterStack extends Stack {
  readonly provenance: ProvenanceTable;

  constructor(scope: Construct, id: string, props: LeanRouterStackProps) {
    super(scope, id, props);
    this.provenance = new ProvenanceTable(this, 'Provenance', { live: props.stage === 'live' });
    new CfnOutput(this, 'ProvenanceTableName', { value: this.provenance.table.tableName });
  }
}
