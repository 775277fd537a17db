import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { PROVENANCE_TABLE, type ProvenanceIndex } from '../../functions/adapters/provenance-table';
import type { ProvenanceRow } from '../../functions/core/provenance';

/** Filters of `lean-router orders`. */
export interface OrderFilter {
  readonly symbol?: string;
  readonly route?: string;
  readonly status?: string;
  /** ISO-8601 lower bound on `created_at`. */
  readonly since?: string;
  readonly limit: number;
}

/**
 * Reads rows for operators. A filter on symbol, route or status queries that index (newest
 * first); the other filters apply on top. With no indexed filter it scans, which is fine for a
 * person at a terminal and never done on the order path.
 */
export async function findOrders(client: DynamoDBClient, tableName: string, filter: OrderFilter): Promise<ProvenanceRow[]> {
  const documents = DynamoDBDocumentClient.from(client);
  const { indexes } = PROVENANCE_TABLE;
  const keyed: [ProvenanceIndex, string] | undefined =
    filter.symbol !== undefined
      ? [indexes.bySymbol, filter.symbol.toUpperCase()]
      : filter.route !== undefined
        ? [indexes.byRoute, filter.route]
        : filter.status !== undefined
          ? [indexes.byStatus, filter.status]
          : undefined;

  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const conditions: string[] = [];
  const residual = {
    symbol: filter.symbol?.toUpperCase(),
    execution_route: filter.route,
    status: filter.status,
  };
  for (const [attribute, value] of Object.entries(residual)) {
    if (value === undefined || attribute === keyed?.[0].partitionKey) continue;
    names[`#${attribute}`] = attribute;
    values[`:${attribute}`] = value;
    conditions.push(`#${attribute} = :${attribute}`);
  }

  const rows: ProvenanceRow[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    if (keyed) {
      const [index, value] = keyed;
      const out = await documents.send(
        new QueryCommand({
          TableName: tableName,
          IndexName: index.name,
          KeyConditionExpression: filter.since === undefined ? '#pk = :pk' : '#pk = :pk AND #sk >= :since',
          ExpressionAttributeNames: { ...names, '#pk': index.partitionKey, ...(filter.since === undefined ? {} : { '#sk': index.sortKey }) },
          ExpressionAttributeValues: { ...values, ':pk': value, ...(filter.since === undefined ? {} : { ':since': filter.since }) },
          ...(conditions.length > 0 ? { FilterExpression: conditions.join(' AND ') } : {}),
          ScanIndexForward: false,
          ExclusiveStartKey: startKey,
        }),
      );
      rows.push(...((out.Items ?? []) as ProvenanceRow[]));
      startKey = out.LastEvaluatedKey;
    } else {
      if (filter.since !== undefined) {
        names['#created_at'] = 'created_at';
        values[':since'] = filter.since;
      }
      const scanConditions = filter.since === undefined ? conditions : [...conditions, '#created_at >= :since'];
      const out = await documents.send(
        new ScanCommand({
          TableName: tableName,
          ...(scanConditions.length > 0
            ? { FilterExpression: scanConditions.join(' AND '), ExpressionAttributeNames: names, ExpressionAttributeValues: values }
            : {}),
          ExclusiveStartKey: startKey,
        }),
      );
      rows.push(...((out.Items ?? []) as ProvenanceRow[]));
      startKey = out.LastEvaluatedKey;
    }
  } while (startKey !== undefined && rows.length < filter.limit);
  return rows.sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, filter.limit);
}

/** One row by `client_order_id`, read consistently. */
export async function findOrder(client: DynamoDBClient, tableName: string, clientOrderId: string): Promise<ProvenanceRow | undefined> {
  const out = await DynamoDBDocumentClient.from(client).send(
    new GetCommand({ TableName: tableName, Key: { [PROVENANCE_TABLE.partitionKey]: clientOrderId }, ConsistentRead: true }),
  );
  return out.Item as ProvenanceRow | undefined;
}
