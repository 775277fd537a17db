import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { ExecutionRoute, OrderStatus } from '../core/execution';
import type { HealthCheckStore, LeanOutcomeCounts } from '../core/health-check';
import type { ReconciliationStore } from '../core/order-reconciliation';
import type { FallbackHistory } from '../core/ports';
import type { ProvenanceRow, RowOutcome } from '../core/provenance';
import type { DynamoDbProvenanceStore } from './dynamodb-provenance-store';
import { PROVENANCE_TABLE, type ProvenanceIndex } from './provenance-table';

/** A key condition on one index: partition value, and `created_at` from or up to a bound. */
interface IndexRange {
  readonly index: ProvenanceIndex;
  readonly partition: string;
  readonly from?: string;
  readonly upTo?: string;
}

/** A filter on the items of a range, with its own names and values. */
interface Filter {
  readonly expression: string;
  readonly names: Record<string, string>;
  readonly values: Record<string, unknown>;
}

/** Rows that fell back from LEAN: routed to Alpaca after a LEAN failure, whether or not Alpaca took them. */
const FELL_BACK: Filter = { expression: '#fallbacks > :zero', names: { '#fallbacks': 'execution_fallback_count' }, values: { ':zero': 0 } };

/** Rows with no broker order where LEAN was the one that failed (fallback `none`, ambiguous `unknown`, failed fallbacks). */
const LEAN_FAILED_WITHOUT_ORDER: Filter = {
  expression: 'begins_with(#reason, :lean) OR #fallbacks > :zero',
  names: { '#reason': 'execution_route_reason', '#fallbacks': 'execution_fallback_count' },
  values: { ':lean': 'lean_', ':zero': 0 },
};

/** Orders a container's open breaker kept from LEAN: failures LEAN caused, though not a call each. */
const BREAKER_OPEN: Filter = { expression: '#reason = :breaker', names: { '#reason': 'execution_route_reason' }, values: { ':breaker': 'breaker_open' } };

/**
 * Reads over the provenance table's indexes: the route function's fallback count per symbol, the
 * health-check's error rate and fallback sweep, and the lifecycle sync's reconciliation. Always a
 * Query on an index, never a scan.
 */
export class DynamoDbProvenanceIndex implements FallbackHistory, HealthCheckStore, ReconciliationStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly store: Pick<DynamoDbProvenanceStore, 'resolve'>,
    /** The longest one query may take, all its pages and SDK retries included. */
    private readonly callTimeoutMs = 2_000,
  ) {
    this.documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async countFallbacks(symbol: string, since: string): Promise<number> {
    return this.count({ index: PROVENANCE_TABLE.indexes.bySymbol, partition: symbol, from: since }, FELL_BACK);
  }

  async countLeanOutcomes(since: string): Promise<LeanOutcomeCounts> {
    const byRoute = (route: ExecutionRoute): IndexRange => ({ index: PROVENANCE_TABLE.indexes.byRoute, partition: route, from: since });
    // A breaker skipping LEAN counts as a failure: otherwise each container's breaker would cap
    // the failures the window sees and hide an outage from the error rate.
    const [accepted, fellBack, failedWithoutOrder, skippedByBreaker] = await Promise.all([
      this.count(byRoute('lean')),
      this.count(byRoute('alpaca_fallback')),
      this.count(byRoute('none'), LEAN_FAILED_WITHOUT_ORDER),
      this.count(byRoute('alpaca_gated'), BREAKER_OPEN),
    ]);
    const failed = fellBack + failedWithoutOrder + skippedByBreaker;
    return { submitted: accepted + failed, failed };
  }

  async listFallbacks(since: string): Promise<{ symbol: string; created_at: string }[]> {
    const byRoute = (route: ExecutionRoute): IndexRange => ({ index: PROVENANCE_TABLE.indexes.byRoute, partition: route, from: since });
    const [taken, notTaken] = await Promise.all([this.items(byRoute('alpaca_fallback')), this.items(byRoute('none'), FELL_BACK)]);
    return [...taken, ...notTaken].map((row) => ({ symbol: row.symbol, created_at: row.created_at }));
  }

  async listUnresolved(createdBefore: string, limit: number, timeoutMs = this.callTimeoutMs): Promise<ProvenanceRow[]> {
    const byStatus = (status: OrderStatus): IndexRange => ({ index: PROVENANCE_TABLE.indexes.byStatus, partition: status, upTo: createdBefore });
    // Oldest first across both statuses, so a backlog of one cannot starve the other.
    const [pending, unknown] = await Promise.all([
      this.items(byStatus('pending'), undefined, limit, timeoutMs),
      this.items(byStatus('unknown'), undefined, limit, timeoutMs),
    ]);
    return [...pending, ...unknown].sort((a, b) => a.created_at.localeCompare(b.created_at)).slice(0, limit);
  }

  resolve(clientOrderId: string, outcome: RowOutcome, updatedAt: string): Promise<ProvenanceRow> {
    return this.store.resolve(clientOrderId, outcome, updatedAt);
  }

  private async count(range: IndexRange, filter?: Filter): Promise<number> {
    let total = 0;
    let startKey: Record<string, unknown> | undefined;
    const bound = { abortSignal: AbortSignal.timeout(this.callTimeoutMs) };
    do {
      const out = await this.documents.send(new QueryCommand({ ...this.query(range, filter), Select: 'COUNT', ExclusiveStartKey: startKey }), bound);
      total += out.Count ?? 0;
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
    return total;
  }

  private async items(range: IndexRange, filter?: Filter, limit = Infinity, timeoutMs = this.callTimeoutMs): Promise<ProvenanceRow[]> {
    const rows: ProvenanceRow[] = [];
    let startKey: Record<string, unknown> | undefined;
    const bound = { abortSignal: AbortSignal.timeout(timeoutMs) };
    do {
      const out = await this.documents.send(new QueryCommand({ ...this.query(range, filter), ExclusiveStartKey: startKey }), bound);
      rows.push(...((out.Items ?? []) as ProvenanceRow[]));
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined && rows.length < limit);
    return rows.slice(0, limit);
  }

  /** Oldest first, so reconciliation works through the backlog in order. */
  private query(range: IndexRange, filter?: Filter): QueryCommandInput {
    const bound = range.from !== undefined ? { op: '>=', value: range.from } : range.upTo !== undefined ? { op: '<=', value: range.upTo } : undefined;
    return {
      TableName: this.tableName,
      IndexName: range.index.name,
      KeyConditionExpression: bound === undefined ? '#pk = :pk' : `#pk = :pk AND #sk ${bound.op} :bound`,
      ExpressionAttributeNames: { '#pk': range.index.partitionKey, ...(bound === undefined ? {} : { '#sk': range.index.sortKey }), ...filter?.names },
      ExpressionAttributeValues: { ':pk': range.partition, ...(bound === undefined ? {} : { ':bound': bound.value }), ...filter?.values },
      ...(filter === undefined ? {} : { FilterExpression: filter.expression }),
      ScanIndexForward: true,
    };
  }
}
