import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, Billing, ProjectionType, TableEncryptionV2, TableV2 } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { PROVENANCE_INDEXES, PROVENANCE_TABLE, type ProvenanceIndex } from '../../functions/adapters/provenance-table';

/** Options of the provenance table construct. */
export interface ProvenanceTableProps {
  /** The physical name; the CLI and docs/operations.md assume `lean-router-<stage>-provenance`. */
  readonly tableName: string;
  /** Live stages keep their table: deletion protection on, retained on stack deletion. */
  readonly live: boolean;
}

/** The provenance table, built from the one shared definition of its keys and indexes. */
export class ProvenanceTable extends Construct {
  readonly table: TableV2;

  constructor(scope: Construct, id: string, props: ProvenanceTableProps) {
    super(scope, id);
    this.table = new TableV2(this, 'Table', {
      tableName: props.tableName,
      partitionKey: { name: PROVENANCE_TABLE.partitionKey, type: AttributeType.STRING },
      billing: Billing.onDemand(),
      encryption: TableEncryptionV2.awsManagedKey(),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: props.live,
      removalPolicy: props.live ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      globalSecondaryIndexes: PROVENANCE_INDEXES.map((index) => ({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: AttributeType.STRING },
        sortKey: { name: index.sortKey, type: AttributeType.STRING },
        ...(index.nonKeyAttributes === undefined ? {} : { projectionType: ProjectionType.INCLUDE, nonKeyAttributes: [...index.nonKeyAttributes] }),
      })),
    });
  }

  /** The ARN of one secondary index, for `dynamodb:Query` grants. */
  indexArn(index: ProvenanceIndex): string {
    return `${this.table.tableArn}/index/${index.name}`;
  }
}
