import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { OrderStatus } from '../core/execution';
import {
  ProvenanceConflictError,
  ProvenanceUnavailableError,
  type ClaimOutcome,
  type ProvenanceRow,
  type ProvenanceStore,
  type RowOutcome,
} from '../core/provenance';
import { PROVENANCE_TABLE } from './provenance-table';

/**
 * Provenance rows in DynamoDB. Conditional writes make the claim exclusive and the finalize
 * happen once; no transactions, so it runs unchanged against dynalite.
 */
export class DynamoDbProvenanceStore implements ProvenanceStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    private readonly tableName: string,
  ) {
    this.documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async claim(row: ProvenanceRow): Promise<ClaimOutcome> {
    try {
      await this.documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: row,
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': PROVENANCE_TABLE.partitionKey },
        }),
      );
      return { kind: 'claimed' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw unavailable('claim', error);
    }
    const existing = await this.get(row.client_order_id);
    if (existing === undefined) throw new ProvenanceUnavailableError('claim was refused but no row could be read');
    // The SDK retries a put whose answer was lost; finding our own pending row means we hold the claim.
    if (isSameClaim(existing, row)) return { kind: 'claimed' };
    return { kind: 'exists', row: existing };
  }

  async finalize(clientOrderId: string, outcome: RowOutcome, updatedAt: string): Promise<ProvenanceRow> {
    return this.update(clientOrderId, outcome, updatedAt, ['pending']);
  }

  /**
   * Reconciliation's write: applies the outcome only while the row is still `pending` or `unknown`,
   * so a route function finishing at the same moment wins and nothing final is ever rewritten.
   */
  async resolve(clientOrderId: string, outcome: RowOutcome, updatedAt: string): Promise<ProvenanceRow> {
    return this.update(clientOrderId, outcome, updatedAt, ['pending', 'unknown']);
  }

  private async update(
    clientOrderId: string,
    outcome: RowOutcome,
    updatedAt: string,
    fromStatuses: readonly OrderStatus[],
  ): Promise<ProvenanceRow> {
    const fields: Record<string, unknown> = { ...outcome, updated_at: updatedAt };
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = Object.fromEntries(fromStatuses.map((status, index) => [`:from${index}`, status]));
    const assignments: string[] = [];
    Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .forEach(([name, value], index) => {
        names[`#f${index}`] = name;
        values[`:v${index}`] = value;
        assignments.push(`#f${index} = :v${index}`);
      });
    try {
      const out = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PROVENANCE_TABLE.partitionKey]: clientOrderId },
          UpdateExpression: `SET ${assignments.join(', ')}`,
          ConditionExpression: `#status IN (${fromStatuses.map((_, index) => `:from${index}`).join(', ')})`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes as ProvenanceRow;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw unavailable('finalize', error);
    }
    const current = await this.get(clientOrderId);
    // A retried update that had already landed: the stored row is ours.
    if (current !== undefined && current.updated_at === updatedAt && current.status === outcome.status) return current;
    throw new ProvenanceConflictError(`row ${clientOrderId} is ${current?.status ?? 'missing'}, not ${fromStatuses.join(' or ')}`);
  }

  async get(clientOrderId: string): Promise<ProvenanceRow | undefined> {
    try {
      const out = await this.documents.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [PROVENANCE_TABLE.partitionKey]: clientOrderId },
          ConsistentRead: true,
        }),
      );
      return out.Item as ProvenanceRow | undefined;
    } catch (error) {
      throw unavailable('get', error);
    }
  }
}

function isSameClaim(existing: ProvenanceRow, mine: ProvenanceRow): boolean {
  return (
    existing.status === 'pending' &&
    existing.request_hash === mine.request_hash &&
    existing.correlation_id === mine.correlation_id &&
    existing.created_at === mine.created_at
  );
}

function unavailable(operation: string, error: unknown): ProvenanceUnavailableError {
  const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ProvenanceUnavailableError(`DynamoDB ${operation} failed: ${cause}`, { cause: error });
}
