import { ConditionalCheckFailedException, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall, unmarshall, type marshallOptions } from '@aws-sdk/util-dynamodb';
import type { ExecutionAttempt, OrderStatus } from '../core/execution';
import {
  ProvenanceConflictError,
  ProvenanceUnavailableError,
  type BrokerState,
  type BrokerStateWrite,
  type CancelClaim,
  type CancelRecord,
  type CancelStore,
  type ClaimOutcome,
  type ClaimRef,
  type FallbackIntent,
  type OpenOrder,
  type OpenOrderStore,
  type ProvenanceRow,
  type ProvenanceStore,
  type RouteDivergence,
  type RowOutcome,
} from '../core/provenance';
import { withinTimeout } from './call-timeout';
import { OPEN_PARTITION, PROVENANCE_TABLE } from './provenance-table';

/** The one DynamoDB bound for calls that carry none of their own (reads, reconciliation). */
const DEFAULT_CALL_TIMEOUT_MS = 2_000;

/** Which rows an update may touch: by status, and (for the route function) by the claim it holds. */
interface UpdateGuard {
  readonly fromStatuses: readonly OrderStatus[];
  readonly claimToken?: string;
}

const OPEN_ORDERS = PROVENANCE_TABLE.indexes.openOrders;

/** As the Document client marshals: an absent optional field is no attribute. */
const MARSHALL: marshallOptions = { removeUndefinedValues: true };

/**
 * Provenance rows in DynamoDB. Conditional writes make the claim exclusive and the finalize
 * happen once; no transactions, so it runs unchanged against dynalite. Every call is bounded by an
 * abort signal, so the SDK's retries can never outlast the caller's deadline (the route's writes
 * through {@link withinTimeout}, cleared as the call settles).
 */
export class DynamoDbProvenanceStore implements ProvenanceStore, OpenOrderStore, CancelStore {
  private readonly documents: DynamoDBDocumentClient;

  constructor(
    /** The claim and finalize go to it directly, marshalled here: the Document client resolves a second middleware stack per call. */
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
    private readonly callTimeoutMs = DEFAULT_CALL_TIMEOUT_MS,
  ) {
    this.documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  }

  async claim(row: ProvenanceRow, timeoutMs: number): Promise<ClaimOutcome> {
    try {
      await withinTimeout(timeoutMs, (abortSignal) =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: marshall(row, MARSHALL),
            ConditionExpression: 'attribute_not_exists(#key)',
            ExpressionAttributeNames: { '#key': PROVENANCE_TABLE.partitionKey },
          }),
          { abortSignal },
        ),
      );
      return { kind: 'claimed' };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw unavailable('claim', error);
    }
    const existing = await this.get(row.client_order_id);
    if (existing === undefined) throw new ProvenanceUnavailableError('claim was refused but no row could be read');
    // The SDK retries a put whose answer was lost; finding our own token on the row means we hold the claim.
    if (row.claim_token !== undefined && existing.claim_token === row.claim_token) return { kind: 'claimed' };
    return { kind: 'exists', row: existing };
  }

  async recordFallbackIntent(claim: ClaimRef, intent: FallbackIntent, attempts: readonly ExecutionAttempt[], timeoutMs: number): Promise<void> {
    try {
      await withinTimeout(timeoutMs, (abortSignal) =>
        this.documents.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [PROVENANCE_TABLE.partitionKey]: claim.clientOrderId },
            UpdateExpression: 'SET #intent = :intent, #attempts = :attempts',
            ConditionExpression: '#status = :pending AND #token = :token',
            ExpressionAttributeNames: { '#intent': 'execution_fallback_intent', '#attempts': 'execution_attempts', '#status': 'status', '#token': 'claim_token' },
            ExpressionAttributeValues: { ':intent': intent, ':attempts': attempts, ':pending': 'pending', ':token': claim.claimToken },
          }),
          { abortSignal },
        ),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new ProvenanceConflictError(`row ${claim.clientOrderId} is no longer this invocation's pending claim`);
      }
      throw unavailable('fallback intent', error);
    }
  }

  async finalize(claim: ClaimRef, outcome: RowOutcome, updatedAt: string, timeoutMs: number): Promise<void> {
    // The hot path's last write asks for nothing back: the route builds the final row itself.
    await this.update(claim.clientOrderId, outcome, updatedAt, { fromStatuses: ['pending'], claimToken: claim.claimToken }, timeoutMs, false);
  }

  /**
   * Reconciliation's write: applies the outcome only while the row is still `pending` or `unknown`,
   * so a route function finishing at the same moment wins and nothing final is ever rewritten.
   */
  async resolve(clientOrderId: string, outcome: RowOutcome, updatedAt: string): Promise<ProvenanceRow> {
    const row = await this.update(clientOrderId, outcome, updatedAt, { fromStatuses: ['pending', 'unknown'] }, this.callTimeoutMs, true);
    if (row === undefined) throw new ProvenanceUnavailableError(`DynamoDB resolve of ${clientOrderId} returned no row`);
    return row;
  }

  /** The guarded write of an outcome; `readBack` asks DynamoDB for the whole row (else undefined on success). */
  private async update(
    clientOrderId: string,
    outcome: RowOutcome,
    updatedAt: string,
    guard: UpdateGuard,
    timeoutMs: number,
    readBack: boolean,
  ): Promise<ProvenanceRow | undefined> {
    const names: Record<string, string> = { '#status': 'status' };
    const values: Record<string, unknown> = {};
    const fromPlaceholders: string[] = [];
    for (let index = 0; index < guard.fromStatuses.length; index += 1) {
      const placeholder = `:from${index}`;
      values[placeholder] = guard.fromStatuses[index];
      fromPlaceholders.push(placeholder);
    }
    // Every defined field of the outcome, then `updated_at`. Plain loops over the outcome itself:
    // this runs once per routed order, and a merged copy with entries/filter cost several times more.
    const assignments: string[] = [];
    const fields = outcome as unknown as Record<string, unknown>;
    for (const name of Object.keys(fields)) {
      const value = fields[name];
      if (value === undefined || name === 'updated_at') continue;
      assignments.push(assign(names, values, assignments.length, name, value));
    }
    assignments.push(assign(names, values, assignments.length, 'updated_at', updatedAt));
    if (outcome.status === 'accepted' && outcome.broker_order_id !== undefined) {
      // The broker order may still fill or be canceled: it enters the open-orders index. The row's
      // creation precedes the broker's submission, so listing Alpaca from it cannot miss the order.
      Object.assign(names, { '#openSince': OPEN_ORDERS.sortKey, '#openPartition': OPEN_ORDERS.partitionKey, '#createdAt': 'created_at' });
      values[':openPartition'] = OPEN_PARTITION;
      assignments.push('#openSince = #createdAt', '#openPartition = :openPartition');
    }
    let condition = `#status IN (${fromPlaceholders.join(', ')})`;
    if (guard.claimToken !== undefined) {
      names['#token'] = 'claim_token';
      values[':token'] = guard.claimToken;
      condition += ' AND #token = :token';
    }
    try {
      const out = await withinTimeout(timeoutMs, (abortSignal) =>
        this.client.send(
          new UpdateItemCommand({
            TableName: this.tableName,
            Key: marshall({ [PROVENANCE_TABLE.partitionKey]: clientOrderId }),
            UpdateExpression: `SET ${assignments.join(', ')}`,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: marshall(values, MARSHALL),
            ReturnValues: readBack ? 'ALL_NEW' : 'NONE',
          }),
          { abortSignal },
        ),
      );
      return out.Attributes === undefined ? undefined : (unmarshall(out.Attributes) as ProvenanceRow);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw unavailable('finalize', error);
    }
    const current = await this.get(clientOrderId);
    // A retried update that had already landed: the stored row is ours.
    if (current !== undefined && current.updated_at === updatedAt && current.status === outcome.status && current.claim_token === (guard.claimToken ?? current.claim_token)) {
      return current;
    }
    throw new ProvenanceConflictError(`row ${clientOrderId} is ${current?.status ?? 'missing'}, not ${guard.fromStatuses.join(' or ')}${guard.claimToken === undefined ? '' : ' under this claim'}`);
  }

  async listOpenOrders(limit: number, timeoutMs = this.callTimeoutMs): Promise<OpenOrder[]> {
    const orders: OpenOrder[] = [];
    let startKey: Record<string, unknown> | undefined;
    const bound = { abortSignal: AbortSignal.timeout(timeoutMs) };
    try {
      while (orders.length < limit) {
        const out = await this.documents.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: OPEN_ORDERS.name,
            KeyConditionExpression: '#partition = :open',
            ExpressionAttributeNames: { '#partition': OPEN_ORDERS.partitionKey },
            ExpressionAttributeValues: { ':open': OPEN_PARTITION },
            ScanIndexForward: true,
            Limit: limit - orders.length,
            ExclusiveStartKey: startKey,
          }),
          bound,
        );
        orders.push(...((out.Items ?? []) as OpenOrder[]));
        startKey = out.LastEvaluatedKey;
        if (startKey === undefined) break;
      }
    } catch (error) {
      throw unavailable('open orders query', error);
    }
    return orders;
  }

  async recordBrokerState(
    clientOrderId: string,
    state: BrokerState,
    divergence: RouteDivergence | undefined,
    updatedAt: string,
    timeoutMs = this.callTimeoutMs,
  ): Promise<BrokerStateWrite> {
    // The condition compares `broker_updated_at` as text, which orders instants only in one fixed-width form.
    if (!CANONICAL_INSTANT.test(state.broker_updated_at)) throw new RangeError(`broker_updated_at is not UTC with nine fraction digits: ${state.broker_updated_at}`);
    const names: Record<string, string> = {
      '#key': PROVENANCE_TABLE.partitionKey,
      '#status': 'broker_status',
      '#filledQty': 'filled_qty',
      '#brokerUpdatedAt': 'broker_updated_at',
      '#updatedAt': 'updated_at',
      '#openSince': OPEN_ORDERS.sortKey,
      '#openPartition': OPEN_ORDERS.partitionKey,
    };
    const values: Record<string, unknown> = {
      ':status': state.broker_status,
      ':filledQty': state.filled_qty,
      ':brokerUpdatedAt': state.broker_updated_at,
      ':updatedAt': updatedAt,
    };
    const assignments = ['#status = :status', '#filledQty = :filledQty', '#brokerUpdatedAt = :brokerUpdatedAt', '#updatedAt = :updatedAt'];
    if (state.filled_avg_price !== undefined) {
      names['#filledAvgPrice'] = 'filled_avg_price';
      values[':filledAvgPrice'] = state.filled_avg_price;
      assignments.push('#filledAvgPrice = :filledAvgPrice');
    }
    if (state.filled_at !== undefined) {
      names['#filledAt'] = 'filled_at';
      values[':filledAt'] = state.filled_at;
      assignments.push('#filledAt = :filledAt');
    }
    if (divergence !== undefined) {
      // The first divergence found is the evidence; a later sync must not rewrite it.
      names['#divergence'] = 'route_divergence';
      values[':divergence'] = divergence;
      assignments.push('#divergence = if_not_exists(#divergence, :divergence)');
    }
    let update: string;
    if (state.open) {
      values[':openPartition'] = OPEN_PARTITION;
      let openSince: string;
      if (state.submitted_at === undefined) {
        // An open order the index does not hold (finalized before it existed) enters it here.
        names['#createdAt'] = 'created_at';
        openSince = '#openSince = if_not_exists(#openSince, #createdAt)';
      } else {
        // The broker's own submission time: later listings start from its clock, not the row's.
        values[':openSince'] = state.submitted_at;
        openSince = '#openSince = :openSince';
      }
      update = `SET ${[...assignments, openSince, '#openPartition = :openPartition'].join(', ')}`;
    } else {
      update = `SET ${assignments.join(', ')} REMOVE #openSince, #openPartition`;
    }
    try {
      await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PROVENANCE_TABLE.partitionKey]: clientOrderId },
          UpdateExpression: update,
          // Never backwards: the broker's own update time orders the states, whatever order the sync sees them in.
          ConditionExpression: 'attribute_exists(#key) AND (attribute_not_exists(#brokerUpdatedAt) OR #brokerUpdatedAt < :brokerUpdatedAt)',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      return 'recorded';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'stale';
      throw unavailable('broker state', error);
    }
  }

  async recordCancelRequest(clientOrderId: string, claim: CancelClaim, timeoutMs: number): Promise<ProvenanceRow> {
    try {
      const out = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PROVENANCE_TABLE.partitionKey]: clientOrderId },
          // The first request's time stands: a repeated cancel is the same cancel.
          UpdateExpression: 'SET #requestedAt = if_not_exists(#requestedAt, :requestedAt), #inFlight = :inFlight',
          // No other cancel asking the brokers; its own value passes, so an SDK retry of a write that landed is no conflict.
          ConditionExpression:
            '#status = :accepted AND attribute_exists(#brokerOrderId) AND (attribute_not_exists(#inFlight) OR #inFlight < :staleBefore OR #inFlight = :inFlight)',
          ExpressionAttributeNames: { '#requestedAt': 'cancel_requested_at', '#inFlight': 'cancel_in_flight', '#status': 'status', '#brokerOrderId': 'broker_order_id' },
          ExpressionAttributeValues: { ':requestedAt': claim.requestedAt, ':inFlight': claim.inFlight, ':staleBefore': claim.staleBefore, ':accepted': 'accepted' },
          ReturnValues: 'ALL_NEW',
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      return out.Attributes as ProvenanceRow;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        throw new ProvenanceConflictError(`row ${clientOrderId} is missing, not accepted, holds no broker order id, or another cancel is asking the brokers`);
      }
      throw unavailable('cancel request', error);
    }
  }

  async recordCancelOutcome(clientOrderId: string, record: CancelRecord, updatedAt: string, timeoutMs: number): Promise<ProvenanceRow> {
    try {
      const out = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [PROVENANCE_TABLE.partitionKey]: clientOrderId },
          UpdateExpression:
            'SET #route = :route, #reason = :reason, #attempts = list_append(if_not_exists(#attempts, :none), :attempts), #updatedAt = :updatedAt REMOVE #inFlight',
          // An SDK retry of an update that already landed finds its own updated_at and appends nothing twice.
          ConditionExpression: 'attribute_exists(#requestedAt) AND #updatedAt <> :updatedAt',
          ExpressionAttributeNames: {
            '#route': 'cancel_route',
            '#reason': 'cancel_route_reason',
            '#attempts': 'cancel_attempts',
            '#updatedAt': 'updated_at',
            '#requestedAt': 'cancel_requested_at',
            '#inFlight': 'cancel_in_flight',
          },
          ExpressionAttributeValues: { ':route': record.cancel_route, ':reason': record.cancel_route_reason, ':attempts': record.attempts, ':none': [], ':updatedAt': updatedAt },
          ReturnValues: 'ALL_NEW',
        }),
        { abortSignal: AbortSignal.timeout(timeoutMs) },
      );
      return out.Attributes as ProvenanceRow;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw unavailable('cancel outcome', error);
    }
    const current = await this.get(clientOrderId);
    if (current?.cancel_requested_at !== undefined && current.updated_at === updatedAt) return current;
    throw new ProvenanceConflictError(`row ${clientOrderId} holds no cancel request`);
  }

  async get(clientOrderId: string): Promise<ProvenanceRow | undefined> {
    try {
      const out = await this.documents.send(
        new GetCommand({
          TableName: this.tableName,
          Key: { [PROVENANCE_TABLE.partitionKey]: clientOrderId },
          ConsistentRead: true,
        }),
        { abortSignal: AbortSignal.timeout(this.callTimeoutMs) },
      );
      return out.Item as ProvenanceRow | undefined;
    } catch (error) {
      throw unavailable('get', error);
    }
  }
}

/** Adds field `name` as the `index`th placeholder pair and answers its `SET` clause. */
function assign(names: Record<string, string>, values: Record<string, unknown>, index: number, name: string, value: unknown): string {
  names[`#f${index}`] = name;
  values[`:v${index}`] = value;
  return `#f${index} = :v${index}`;
}

/** UTC with nine fraction digits: fixed width, so comparing the strings compares the instants. */
const CANONICAL_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z$/;

function unavailable(operation: string, error: unknown): ProvenanceUnavailableError {
  const cause = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return new ProvenanceUnavailableError(`DynamoDB ${operation} failed: ${cause}`, { cause: error });
}
