import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbProvenanceStore } from '../../functions/adapters/dynamodb-provenance-store';
import type { LifecycleSyncHandler } from '../../functions/lifecycle-sync/lifecycle-sync-handler';
import { order, pendingRow } from '../support/fakes';
import { marketOrder, placeAtAlpaca, TEST_TABLE_NAME, useRouterHarness, type RouterHarness } from '../support/router-harness';

let harness: RouterHarness;
let lifecycleSync: LifecycleSyncHandler;

useRouterHarness(
  (started) => {
    harness = started;
    lifecycleSync = harness.lifecycleSync();
  },
  { syncAfterReset: true },
);

/** Routes a market order for 10 shares through LEAN and answers its client order id once its row is accepted. */
async function routedOrder(): Promise<string> {
  const body = marketOrder({ qty: '10' });
  const answer = await harness.post(body);
  expect(answer.status).toBe(201);
  return String(body.client_order_id);
}

describe('the lifecycle sync over dynalite and the simulators', () => {
  it('writes a fill on a LEAN-routed row and takes it out of the open orders', async () => {
    const id = await routedOrder();
    harness.alpaca.step();

    const report = await lifecycleSync();

    const row = await harness.readRow(id);
    expect(row).toMatchObject({ execution_route: 'lean', broker_status: 'filled', filled_qty: '10', filled_avg_price: '100' });
    expect(row).not.toHaveProperty('open_since');
    expect(report).toMatchObject({ changes: 1, stopped: 'complete' });
  });

  it('moves a partial fill to filled over two runs and never back', async () => {
    harness.alpaca.setMarket({ partial: true });
    const id = await routedOrder();
    harness.alpaca.step();
    await lifecycleSync();
    const afterFirst = await harness.readRow(id);
    harness.alpaca.step();
    await lifecycleSync();
    const afterSecond = await harness.readRow(id);

    await lifecycleSync();

    expect([afterFirst?.broker_status, afterSecond?.broker_status, (await harness.readRow(id))?.broker_status]).toEqual(['partially_filled', 'filled', 'filled']);
    expect([afterFirst?.filled_qty, afterSecond?.filled_qty]).toEqual(['5', '10']);
  });

  it('writes nothing on a 429 from the list and catches up on the next run', async () => {
    const id = await routedOrder();
    harness.alpaca.step();
    await harness.alpaca.setFaults({ list: { mode: 'rate_limited' } });

    const limited = await lifecycleSync();
    const rowWhileLimited = await harness.readRow(id);
    const caughtUp = await lifecycleSync();

    expect({ stopped: limited.stopped, status: rowWhileLimited?.broker_status ?? null }).toEqual({ stopped: 'rate_limited', status: null });
    expect({ stopped: caughtUp.stopped, status: (await harness.readRow(id))?.broker_status }).toEqual({ stopped: 'complete', status: 'filled' });
  });

  it('resumes after a run that died midway: the next run writes the rest, and the rows written stay as they were', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i += 1) ids.push(await routedOrder());
    harness.alpaca.step();
    // A container whose third row write never comes back, as when Lambda's timeout kills the run.
    const dying = harness.dynamo.client();
    let writes = 0;
    dying.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UpdateItemCommand' && ++writes === 3) return new Promise<never>(() => undefined);
        return next(args);
      },
      { step: 'initialize', name: 'dieOnThirdWrite' },
    );
    const dyingSync = harness.lifecycleSync({ dynamoDb: dying });
    void dyingSync();
    await expect.poll(() => writes, { timeout: 5_000 }).toBe(3);
    const writtenBeforeDeath = await Promise.all(ids.map((id) => harness.readRow(id)));

    const resumed = await lifecycleSync();

    const rows = await Promise.all(ids.map((id) => harness.readRow(id)));
    expect(rows.map((row) => row?.broker_status)).toEqual(['filled', 'filled', 'filled', 'filled']);
    expect(resumed.changes).toBe(writtenBeforeDeath.filter((row) => row?.broker_status === undefined).length);
    for (const [index, before] of writtenBeforeDeath.entries()) {
      if (before?.broker_status !== undefined) expect(rows[index]?.updated_at).toBe(before.updated_at);
    }
    dying.destroy();
  });

  it('reads a handful of open orders with one Alpaca list call per run', async () => {
    for (let i = 0; i < 5; i += 1) await routedOrder();
    harness.alpaca.step();
    const before = harness.alpaca.requestCount('list');

    const report = await lifecycleSync();

    expect({ listCalls: harness.alpaca.requestCount('list') - before, changes: report.changes }).toEqual({ listCalls: 1, changes: 5 });
  });

  it('records a LEAN id that is not the id Alpaca holds, once', async () => {
    const id = await routedOrder();
    // LEAN acknowledged an id Alpaca does not hold under this client_order_id.
    await DynamoDBDocumentClient.from(harness.dynamo.client()).send(
      new UpdateCommand({ TableName: TEST_TABLE_NAME, Key: { client_order_id: id }, UpdateExpression: 'SET broker_order_id = :id', ExpressionAttributeValues: { ':id': 'lean-ghost-1' } }),
    );
    harness.alpaca.step();

    const first = await lifecycleSync();
    const second = await lifecycleSync();

    expect([first.divergences, second.divergences]).toEqual([1, 0]);
    expect((await harness.readRow(id))?.route_divergence).toMatchObject({ lean_order_id: 'lean-ghost-1' });
  });
});

describe('the lifecycle sync reconciling rows left unresolved', () => {
  /** A row whose route invocation got no answer two minutes ago, as the route function leaves it. */
  async function unknownRow(symbol: string): Promise<string> {
    const id = String(marketOrder().client_order_id);
    const createdAt = new Date(Date.now() - 120_000).toISOString();
    await new DynamoDbProvenanceStore(harness.dynamo.client(), TEST_TABLE_NAME).claim(
      pendingRow({ client_order_id: id, symbol, status: 'unknown', created_at: createdAt, execution_route_reason: 'lean_submit_timeout' }),
      2_000,
    );
    return id;
  }

  it('reconciles an unknown row to accepted and records its fill in the same run', async () => {
    const id = await unknownRow('IBM');
    const brokerOrderId = await placeAtAlpaca(harness.alpaca, order({ client_order_id: id, symbol: 'IBM' }));
    harness.alpaca.step();

    const report = await lifecycleSync();

    expect(report.reconciled).toEqual([{ client_order_id: id, status: 'accepted' }]);
    expect(await harness.readRow(id)).toMatchObject({ status: 'accepted', execution_note: 'reconciled', broker_order_id: brokerOrderId, broker_status: 'filled', filled_qty: '10' });
  });

  it('keeps a row reconciled to an open order among the open orders until the broker finishes it', async () => {
    const id = await unknownRow('MSFT');
    await placeAtAlpaca(harness.alpaca, order({ client_order_id: id, symbol: 'MSFT' }));

    await lifecycleSync();

    expect(await harness.readRow(id)).toMatchObject({ status: 'accepted', broker_status: 'accepted', open_partition: 'open' });
  });

  it('writes failed on a row neither broker holds, submitting nothing', async () => {
    const id = await unknownRow('ORCL');

    await lifecycleSync();

    expect({ status: (await harness.readRow(id))?.status, placed: harness.alpaca.ordersPlaced() }).toEqual({ status: 'failed', placed: 0 });
  });
});
