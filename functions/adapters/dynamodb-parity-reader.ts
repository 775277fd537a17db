import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ExecutionRoute } from '../core/execution';
import { DEFAULT_PARITY_MAX_ROWS } from '../core/parity-config';
import type { ParityQuery, ParityRow, ParityRowSource } from '../core/parity';
import { PROVENANCE_TABLE, type ProvenanceIndex } from './provenance-table';

/** Every route a decided row can carry: a report over all strategies reads each one's partition of by-route. */
const ROUTES: readonly ExecutionRoute[] = ['lean', 'alpaca', 'alpaca_gated', 'alpaca_fallback', 'none'];

/** One partition of one index, over the query's window. */
interface Range {
  readonly index: ProvenanceIndex;
  readonly partition: string;
}

/**
 * Reads a parity report's rows: one strategy's from the by-strategy index, all strategies' from
 * by-route, one partition per route. Always a Query over `created_at` BETWEEN since AND until,
 * never a scan, in the pages DynamoDB gives (1 MB at most), each page handed on before the next is
 * read, and at most `maxRows` rows: past that the read stops and says it was truncated.
 */
export class DynamoDbParityReader implements ParityRowSource {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
    private readonly options: {
      /** `TRADING_PARITY_MAX_ROWS`. */
      readonly maxRows?: number;
      /** The longest one page may take, SDK retries included. */
      readonly pageTimeoutMs?: number;
    } = {},
  ) {
    this.documents = DynamoDBDocumentClient.from(client);
  }

  async read(query: ParityQuery, sink: (row: ParityRow) => void): Promise<{ truncated: boolean }> {
    const { indexes } = PROVENANCE_TABLE;
    const ranges: Range[] =
      query.strategyId === undefined
        ? ROUTES.map((route) => ({ index: indexes.byRoute, partition: route }))
        : [{ index: indexes.byStrategy, partition: query.strategyId }];
    const budget = { left: this.options.maxRows ?? DEFAULT_PARITY_MAX_ROWS, truncated: false };
    // The routes' partitions are read side by side; the row cap is shared.
    await Promise.all(ranges.map((range) => this.readRange(range, query, sink, budget)));
    return { truncated: budget.truncated };
  }

  private async readRange(range: Range, query: ParityQuery, sink: (row: ParityRow) => void, budget: { left: number; truncated: boolean }): Promise<void> {
    let startKey: Record<string, unknown> | undefined;
    do {
      if (budget.truncated) return;
      const out = await this.documents.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: range.index.name,
          KeyConditionExpression: '#pk = :pk AND #sk BETWEEN :since AND :until',
          ExpressionAttributeNames: { '#pk': range.index.partitionKey, '#sk': range.index.sortKey },
          ExpressionAttributeValues: { ':pk': range.partition, ':since': query.since, ':until': query.until },
          ExclusiveStartKey: startKey,
        }),
        { abortSignal: AbortSignal.timeout(this.options.pageTimeoutMs ?? 10_000) },
      );
      for (const item of out.Items ?? []) {
        if (budget.left === 0) {
          budget.truncated = true;
          return;
        }
        budget.left -= 1;
        sink(item as ParityRow);
      }
      startKey = out.LastEvaluatedKey;
    } while (startKey !== undefined);
  }
}
