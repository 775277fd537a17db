import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { PARITY_ROW_FIELDS } from '../core/parity';
import { OPEN_ORDER_FIELDS, type ProvenanceRow } from '../core/provenance';

/** A secondary index of the provenance table: string partition key, ISO-8601 sort key. */
export interface ProvenanceIndex {
  readonly name: string;
  readonly partitionKey: string;
  readonly sortKey: string;
  /** The non-key attributes the index carries; absent, it projects every attribute. */
  readonly nonKeyAttributes?: readonly string[];
}

/**
 * What a listing of rows reads besides the keys: the filters of the route's fallback count and the
 * health-check's LEAN outcomes and fallback sweep (`execution_route_reason`,
 * `execution_fallback_count`, `symbol`), and the columns of `lean-router orders`. The whole row
 * (payloads, attempts, policy snapshot) is one GetItem away (`lean-router order <id>`).
 */
export const ORDER_SUMMARY_FIELDS = [
  'symbol',
  'side',
  'qty',
  'notional',
  'status',
  'broker_status',
  'filled_qty',
  'filled_avg_price',
  'execution_expected_adapter',
  'execution_route',
  'execution_route_reason',
  'execution_fallback_reason',
  'execution_fallback_count',
  'review_required',
  'updated_at',
] as const satisfies readonly (keyof ProvenanceRow)[];

/** {@link ORDER_SUMMARY_FIELDS} less an index's own keys, which every index projects anyway. */
function summaryOf(...keys: readonly string[]): readonly string[] {
  return ORDER_SUMMARY_FIELDS.filter((field) => !keys.includes(field));
}

/** The table's partition key, projected on every index anyway. */
const PROVENANCE_KEY = 'client_order_id';

/**
 * What by-route carries: the summary, and what the parity report reads across strategies (the
 * reference price, the fill time, divergent ids, the strategy), less the index's own keys.
 */
function routeFieldsOf(...keys: readonly string[]): readonly string[] {
  const fields = new Set<string>([...ORDER_SUMMARY_FIELDS, ...PARITY_ROW_FIELDS]);
  return [...fields].filter((field) => field !== PROVENANCE_KEY && !keys.includes(field));
}

/** The value of `open_partition` on every open row: one partition, so one Query lists them all. */
export const OPEN_PARTITION = 'open';

/**
 * The one definition of the provenance table, used by the CDK stack, the local stack and the
 * integration tests, so all three always agree on keys and indexes.
 */
export const PROVENANCE_TABLE = {
  partitionKey: PROVENANCE_KEY,
  indexes: {
    /** A symbol's rows over `created_at`: the route's fallback count, `orders --symbol`. Summary only. */
    bySymbol: { name: 'by-symbol', partitionKey: 'symbol', sortKey: 'created_at', nonKeyAttributes: summaryOf('symbol', 'created_at') },
    /**
     * Route evidence over time; the health-check reads LEAN outcomes here, not by scanning, and the
     * parity report of all strategies reads each route. The summary and the parity fields.
     */
    byRoute: { name: 'by-route', partitionKey: 'execution_route', sortKey: 'created_at', nonKeyAttributes: routeFieldsOf('execution_route', 'created_at') },
    /**
     * Sparse: one strategy's rows over `created_at` (rows without `strategy_id` are not in it), for
     * its parity report. Exactly the fields the report reads.
     */
    byStrategy: {
      name: 'by-strategy',
      partitionKey: 'strategy_id',
      sortKey: 'created_at',
      nonKeyAttributes: PARITY_ROW_FIELDS.filter((field) => !['client_order_id', 'strategy_id', 'created_at'].includes(field)),
    },
    /**
     * Rows still `pending` or `unknown`, for reconciliation. Every attribute: the lifecycle sync
     * resolves each row from all of it (request, attempts, fallback intent, broker ids).
     */
    byStatus: { name: 'by-status', partitionKey: 'status', sortKey: 'created_at' },
    /**
     * Sparse: only rows whose broker order may still change carry `open_partition` and
     * `open_since`, so the lifecycle sync lists open orders oldest first without a scan. It
     * projects what the sync reads; a projection cannot change without rebuilding the index.
     */
    openOrders: {
      name: 'open-orders',
      partitionKey: 'open_partition',
      sortKey: 'open_since',
      nonKeyAttributes: OPEN_ORDER_FIELDS,
    },
  },
} as const satisfies { partitionKey: string; indexes: Record<string, ProvenanceIndex> };

/** The table's name in a stage (`local`, `paper`, `live`): `lean-router-<stage>-provenance`. */
export function provenanceTableName(stage: string): string {
  return `lean-router-${stage}-provenance`;
}

/** Every index of the table, in a stable order. */
export const PROVENANCE_INDEXES: readonly ProvenanceIndex[] = Object.values(PROVENANCE_TABLE.indexes);

/** An index's projection as DynamoDB and CloudFormation spell it: `ALL`, or `INCLUDE` with its attributes. */
export function provenanceIndexProjection(index: ProvenanceIndex): { ProjectionType: 'ALL' | 'INCLUDE'; NonKeyAttributes?: string[] } {
  return index.nonKeyAttributes === undefined ? { ProjectionType: 'ALL' } : { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.nonKeyAttributes] };
}

/** CreateTable input for dynalite and the local stack (on demand, each index with its projection). */
export function provenanceCreateTableInput(tableName: string): CreateTableCommandInput {
  const attributeNames = new Set<string>([PROVENANCE_TABLE.partitionKey]);
  for (const index of PROVENANCE_INDEXES) {
    attributeNames.add(index.partitionKey);
    attributeNames.add(index.sortKey);
  }
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributeNames].map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
    KeySchema: [{ AttributeName: PROVENANCE_TABLE.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: PROVENANCE_INDEXES.map((index) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: index.partitionKey, KeyType: 'HASH' },
        { AttributeName: index.sortKey, KeyType: 'RANGE' },
      ],
      Projection: provenanceIndexProjection(index),
    })),
  };
}
