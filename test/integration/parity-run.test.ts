import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseStoredParityReport, parityParameterName } from '../../functions/core/parity-run';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { createParityRunHandler, ParityRunFailedError } from '../../functions/parity-run/parity-run-handler';
import { ensureProvenanceTable, startLocalDynamoDb, type LocalDynamoDb } from '../../lib/local/dynamodb-local';
import { localSsmClient, startLocalParameterStore, type LocalParameterStore } from '../../lib/local/parameter-store';
import { FixedClock, pendingRow } from '../support/fakes';

/**
 * The real parity run handler over dynalite and the local Parameter Store: every strategy's rows
 * through by-route, each report stored under parity/<strategy_id> and compared on the next run.
 */

const TABLE = 'parity-run-test';
const PREFIX = '/lean-router/test/';
const NOW = '2026-12-02T00:00:00.000Z';
const ENV = { ROUTER_STAGE: 'paper', PROVENANCE_TABLE_NAME: TABLE, CONTROL_PARAMETER_PREFIX: PREFIX, TRADING_PARITY_MIN_ORDERS: '2' };

let dynamo: LocalDynamoDb;
let dynamoDb: DynamoDBClient;
let parameterStore: LocalParameterStore;
let ssm: SSMClient;
let documents: DynamoDBDocumentClient;
const commands: string[] = [];

/** A filled order of `strategy` on `route`, at `price` against a reference of 100. */
function filledRow(id: string, strategy: string, route: 'lean' | 'alpaca', price = '100'): ProvenanceRow {
  return pendingRow({
    client_order_id: id,
    created_at: '2026-12-01T10:00:00.000Z',
    status: 'accepted',
    strategy_id: strategy,
    execution_route: route,
    execution_expected_adapter: route,
    reference_price: '100',
    broker_status: 'filled',
    filled_qty: '1',
    filled_avg_price: price,
    filled_at: '2026-12-01T10:00:01.000Z',
  });
}

async function put(rows: ProvenanceRow[]): Promise<void> {
  for (const row of rows) await documents.send(new PutCommand({ TableName: TABLE, Item: row }));
}

async function storedReport(strategyId: string) {
  const out = await ssm.send(new GetParameterCommand({ Name: parityParameterName(PREFIX, strategyId) }));
  return parseStoredParityReport(out.Parameter?.Value ?? '');
}

beforeAll(async () => {
  dynamo = await startLocalDynamoDb();
  dynamoDb = dynamo.client();
  await ensureProvenanceTable(dynamoDb, TABLE);
  documents = DynamoDBDocumentClient.from(dynamoDb, { marshallOptions: { removeUndefinedValues: true } });
  parameterStore = await startLocalParameterStore();
  ssm = localSsmClient(parameterStore.endpoint);
  await put([
    filledRow('m-l1', 'momentum-1', 'lean'),
    filledRow('m-l2', 'momentum-1', 'lean'),
    filledRow('m-a1', 'momentum-1', 'alpaca'),
    filledRow('m-a2', 'momentum-1', 'alpaca'),
    filledRow('c-l1', 'carry-2', 'lean'),
  ]);
  dynamoDb.middlewareStack.add(
    (next, context) => async (args) => {
      commands.push(context.commandName ?? '');
      return next(args);
    },
    { step: 'initialize', name: 'parityRunCommandCounter' },
  );
});

afterAll(async () => {
  dynamoDb.destroy();
  ssm.destroy();
  await dynamo.close();
  await parameterStore.close();
});

describe('the parity run over dynalite and the local Parameter Store', () => {
  it("stores each strategy's report under parity/<strategy_id>, reading the rows with Query only", async () => {
    const handler = createParityRunHandler(ENV, { dynamoDb, ssm, clock: new FixedClock(NOW) });

    const result = await handler();

    expect(result).toMatchObject({ strategiesReported: 2, strategiesFailing: 1, regressions: 0, stored: 2, stopped: 'complete' });
    expect(await storedReport('momentum-1')).toMatchObject({ stage: 'paper', strategy_id: 'momentum-1', passed: true, until: NOW, routed: { orders: 2, fill_rate: 1 } });
    expect(await storedReport('carry-2')).toMatchObject({ passed: false, routed: { orders: 1 } });
    expect([...new Set(commands)]).toEqual(['QueryCommand']);
  });

  it('counts a regression on the next run when a stored passing check now fails', async () => {
    // Three LEAN fills 100 bps worse: the routed median moves from 0 to 100 bps.
    await put([filledRow('m-l3', 'momentum-1', 'lean', '101'), filledRow('m-l4', 'momentum-1', 'lean', '101'), filledRow('m-l5', 'momentum-1', 'lean', '101')]);
    const handler = createParityRunHandler(ENV, { dynamoDb, ssm, clock: new FixedClock('2026-12-02T01:00:00.000Z') });

    const result = await handler();

    expect(result.regressions).toBe(1);
    expect(await storedReport('momentum-1')).toMatchObject({
      passed: false,
      generated_at: '2026-12-02T01:00:00.000Z',
      checks: expect.arrayContaining([expect.objectContaining({ name: 'median_slippage_difference', passed: false })]),
    });
  });

  it('stops at TRADING_PARITY_MAX_ROWS and stores every report as truncated, without a regression', async () => {
    const handler = createParityRunHandler({ ...ENV, TRADING_PARITY_MAX_ROWS: '3' }, { dynamoDb, ssm, clock: new FixedClock('2026-12-02T01:30:00.000Z') });

    const result = await handler();

    expect(result).toMatchObject({ rowsRead: 3, truncated: true, regressions: 0 });
    expect(result.stored).toBeGreaterThan(0);
    // Which strategies the first three rows belong to depends on the routes' interleaving.
    const written = (await Promise.all(['momentum-1', 'carry-2'].map(storedReport))).filter((stored) => stored?.generated_at === '2026-12-02T01:30:00.000Z');
    expect(written).toHaveLength(result.stored);
    expect(written.map((stored) => [stored?.truncated, stored?.passed])).toEqual(written.map(() => [true, false]));
  });

  it('fails the invocation, storing nothing, when the Parameter Store cannot be read', async () => {
    const unreachable = localSsmClient('http://127.0.0.1:9', { maxAttempts: 1 });
    const handler = createParityRunHandler(ENV, { dynamoDb, ssm: unreachable, clock: new FixedClock('2026-12-02T02:00:00.000Z') });

    await expect(handler()).rejects.toThrow(ParityRunFailedError);
    expect((await storedReport('momentum-1'))?.generated_at).not.toBe('2026-12-02T02:00:00.000Z');
    unreachable.destroy();
  });
});
