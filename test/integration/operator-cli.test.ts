import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { DeleteParameterCommand, GetParameterCommand, GetParametersByPathCommand, ParameterNotFound, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbProvenanceStore } from '../../functions/adapters/dynamodb-provenance-store';
import { runCli } from '../../lib/cli/cli';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import { ensureProvenanceTable, localDynamoDbClient } from '../../lib/local/dynamodb-local';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { pendingRow } from '../support/fakes';
import { FREE_PORTS } from '../support/local-stack-process';
import { localSsmClient, startLocalParameterStore } from '../../lib/local/parameter-store';

/**
 * The operator CLI against a running local stack, as an operator at a terminal would use it:
 * commands in, text or JSON out, effects observed over HTTP on the order API and in the local
 * Parameter Store.
 */

let stack: LocalStack;
let ssm: SSMClient;
let cliEnv: Record<string, string>;
const TTL_MS = 200;
const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; bin: Record<string, string> };

beforeAll(async () => {
  stack = await startLocalStack({
    ...FREE_PORTS,
    healthCheckIntervalMs: 0,
    env: { TRADING_CONTROL_CACHE_TTL_MS: String(TTL_MS) },
  });
  ssm = localSsmClient(stack.ssmEndpoint);
  cliEnv = { LOCAL_DYNAMODB_PORT: new URL(stack.dynamoDbEndpoint).port, LOCAL_SSM_PORT: new URL(stack.ssmEndpoint).port, USER: 'on-call' };
});

afterAll(async () => {
  ssm?.destroy();
  await stack?.close();
});

/** Runs one CLI command; answers its exit code and what it printed. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  return cliWith(cliEnv, ...argv);
}

async function cliWith(env: Record<string, string>, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, env, { out: (text) => (out += `${text}\n`), err: (text) => (err += `${text}\n`) });
  return { code, out, err };
}

/** Runs a command with `--json`; answers the one document it printed. */
async function cliJson(...argv: string[]): Promise<Record<string, unknown>> {
  const answer = await cli(...argv, '--json');
  if (answer.code !== 0) throw new Error(`${argv.join(' ')} failed: ${answer.err}`);
  return JSON.parse(answer.out) as Record<string, unknown>;
}

/**
 * Runs `body` with the AWS SDK's standard configuration pointing Parameter Store at the local
 * stack's, so a deployed stage's commands run against real parts.
 */
async function asIfDeployed<T>(body: () => Promise<T>): Promise<T> {
  return withEnv({ AWS_ENDPOINT_URL_SSM: stack.ssmEndpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' }, body);
}

/** Runs `body` with `env` added to `process.env`, where the AWS SDK reads its endpoints. */
async function withEnv<T>(env: Record<string, string>, body: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await body();
  } finally {
    for (const key of Object.keys(env)) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
}

async function parametersUnder(path: string): Promise<string[]> {
  const out = await ssm.send(new GetParametersByPathCommand({ Path: path, Recursive: true }));
  return (out.Parameters ?? []).map((parameter) => parameter.Name ?? '');
}

async function parameter(name: string): Promise<{ value?: string; version?: number } | undefined> {
  try {
    const out = await ssm.send(new GetParameterCommand({ Name: name }));
    return { ...(out.Parameter?.Value === undefined ? {} : { value: out.Parameter.Value }), ...(out.Parameter?.Version === undefined ? {} : { version: out.Parameter.Version }) };
  } catch (error) {
    if (error instanceof ParameterNotFound) return undefined;
    throw error;
  }
}

let sequence = 0;
async function placeOrder(symbol = 'AAPL'): Promise<Record<string, unknown>> {
  return placeOrderWith({ symbol });
}

/** Places a market buy of 1 AAPL with `fields` changed; answers the API's body. */
async function placeOrderWith(fields: Record<string, string>): Promise<Record<string, unknown>> {
  sequence += 1;
  const response = await fetch(`${stack.apiUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_order_id: `cli-${Date.now().toString(36)}-${sequence}`, symbol: 'AAPL', side: 'buy', qty: '1', type: 'market', time_in_force: 'day', ...fields }),
  });
  return (await response.json()) as Record<string, unknown>;
}

/**
 * Reads one row of an `orders` table as cells keyed by column: each cell spans from its header's
 * first character to the next header's, so empty cells read as ''.
 */
function tableRow(table: string, clientOrderId: string): Record<string, string> {
  const [header = '', , ...lines] = table.trimEnd().split('\n');
  const starts = [...header.matchAll(/\S+/g)].map((match) => ({ column: match[0], at: match.index }));
  const line = lines.find((candidate) => candidate.includes(clientOrderId));
  if (line === undefined) throw new Error(`no row for ${clientOrderId} in:\n${table}`);
  return Object.fromEntries(starts.map(({ column, at }, index) => [column, line.slice(at, starts[index + 1]?.at).trim()]));
}

/** Past the control values' maximum age (three TTLs by default), so the next order waits for a new read of SSM. */
const afterMaxAge = () => new Promise((resolve) => setTimeout(resolve, 3 * TTL_MS + 60));
const KILL_SWITCH = '/lean-router/local/kill-switch';

describe('lean-router kill / unkill', () => {
  it('switches LEAN off for the next orders with kill --reason, and back on with unkill', async () => {
    const killed = await cli('kill', '--reason', 'runner upgrade');
    await afterMaxAge();
    const gated = await placeOrder();
    const unkilled = await cli('unkill');
    await afterMaxAge();
    const back = await placeOrder();

    expect(killed).toMatchObject({ code: 0 });
    expect(killed.out).toContain('/lean-router/local/kill-switch is on');
    expect(gated).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'kill_switch' });
    expect(unkilled.code).toBe(0);
    expect(back).toMatchObject({ execution_route: 'lean' });
  });

  it('records who switched it and why, as status --json shows', async () => {
    await cli('kill', '--reason', 'drill');

    const status = await cliJson('status');

    expect(status.kill_switch).toMatchObject({ state: 'on', reason: 'drill', set_by: 'on-call', source: 'parameter' });
    await cli('unkill');
  });

  it('status says in words that LEAN is off, why and by whom', async () => {
    await cli('kill', '--reason', 'drill');

    const status = await cli('status');

    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^LEAN: OFF for every order \(kill switch on: drill, by on-call, at \S+\)$/m);
    expect(status.out).toContain('/lean-router/local/kill-switch');
    await cli('unkill');
  });

  it('refuses kill without a reason with exit code 2 and changes nothing', async () => {
    const before = await parameter(KILL_SWITCH);

    const answer = await cli('kill');

    expect(answer).toMatchObject({ code: 2, err: 'lean-router: kill needs --reason "why LEAN is being switched off" (see lean-router --help)\n' });
    expect(await parameter(KILL_SWITCH)).toEqual(before);
  });

  it('says the switch is already on and writes nothing when kill finds it on', async () => {
    await cli('kill', '--reason', 'first');
    const before = await parameter(KILL_SWITCH);

    const answer = await cli('kill', '--reason', 'second');

    expect(answer.code).toBe(0);
    expect(answer.out).toMatch(/^\/lean-router\/local\/kill-switch is already on \(first, by on-call, at \S+\): nothing changed/);
    expect(await parameter(KILL_SWITCH)).toEqual(before);
    await cli('unkill');
  });

  it('says the switch is already off and writes nothing when unkill finds it off', async () => {
    await cli('unkill');
    const before = await parameter(KILL_SWITCH);

    const answer = await cli('unkill');

    expect(answer.code).toBe(0);
    expect(answer.out).toMatch(/^\/lean-router\/local\/kill-switch is already off.*: nothing changed; LEAN is allowed$/m);
    expect(await parameter(KILL_SWITCH)).toEqual(before);
  });

  it('prints kill and unkill with --json as one document: the parameter, whether it changed, the switch as now read', async () => {
    const killed = await cliJson('kill', '--reason', 'json drill');
    const again = await cliJson('kill', '--reason', 'json drill');
    const unkilled = await cliJson('unkill');

    expect(killed).toMatchObject({ parameter: KILL_SWITCH, changed: true, kill_switch: { state: 'on', reason: 'json drill', set_by: 'on-call' } });
    expect(again).toMatchObject({ parameter: KILL_SWITCH, changed: false, kill_switch: { state: 'on', reason: 'json drill' } });
    expect(unkilled).toMatchObject({ parameter: KILL_SWITCH, changed: true, kill_switch: { state: 'off', reason: 'operator re-enabled LEAN' } });
  });
});

describe('lean-router status', () => {
  it('prints --json as one document with the summary and every control value parsed', async () => {
    const status = await cliJson('status');

    expect(status).toMatchObject({
      stage: 'local',
      prefix: '/lean-router/local/',
      kill_switch: { state: 'off', source: 'parameter' },
      policy: { kind: 'absent' },
      lean_health: { status: 'ok' },
      reviews: expect.any(Array),
      alarms: { checked: false, why: 'the local stack has no CloudWatch alarms' },
    });
    expect(status.summary).toEqual(expect.arrayContaining(['LEAN: allowed (kill switch off)', 'alarms: the local stack has no CloudWatch alarms']));
    const parameters = status.parameters as { name: string; value: unknown }[];
    expect(parameters.find((p) => p.name === KILL_SWITCH)?.value).toMatchObject({ state: 'off' });
  });

  it('says after an unkill that the error rate counts only orders since the switch was turned off', async () => {
    await cli('kill', '--reason', 'drill');
    await cli('unkill');
    await afterMaxAge();
    await placeOrder();

    const status = await cli('status');
    const json = await cliJson('status');

    expect(status.out).toMatch(/^LEAN error rate since \d\d:\d\d:\d\dZ \(kill switch turned off then\): 0 of 1 failed; a trip needs more than 25% of at least 10$/m);
    expect(json.error_rate).toMatchObject({ checked: true, cause: 'switch_changed', submitted: 1, failed: 0, threshold: 0.25, min_volume: 10 });
  });

  it('says while the kill switch is on that an unkill starts the error count from zero orders', async () => {
    await cli('kill', '--reason', 'drill');

    try {
      const status = await cli('status');

      expect(status.out).toContain(
        'LEAN error rate: not judged while the kill switch is on; after an unkill the count starts from zero orders (failures before it do not count), so only new failures can trip it: more than 25% of at least 10',
      );
    } finally {
      await cli('unkill');
    }
  });

  it('says while the kill switch is on whether an unkill would trip again on runner health, in text and JSON', async () => {
    await cli('kill', '--reason', 'drill');

    try {
      const status = await cli('status');
      const json = await cliJson('status');

      expect(status.out).toMatch(/^runner health staleness: last healthy probe at \d\d:\d\d:\d\dZ \(limit 180 s\): within the limit$/m);
      expect(json.lean_health_judgement).toEqual({ stale: false, since: (json.lean_health as { last_ok_at: string }).last_ok_at, since_from: 'last_ok_at', limit_ms: 180_000 });
    } finally {
      await cli('unkill');
    }
  });

  it('says locally that there are no CloudWatch alarms rather than failing', async () => {
    const status = await cli('status');

    expect(status).toMatchObject({ code: 0 });
    expect(status.out).toContain('alarms: the local stack has no CloudWatch alarms');
  });
});

describe('lean-router review', () => {
  it('lists no symbol in review on a fresh stack', async () => {
    const answer = await cli('review');

    expect(answer).toMatchObject({ code: 0, out: 'no symbol is in manual review\n' });
  });

  it('clears a symbol in review so LEAN takes its orders again', async () => {
    // A trip as the router writes it.
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/manual-review/TSLA', Value: '{"state":"review","reason":"repeated_fallback"}', Type: 'String', Overwrite: true }));
    await afterMaxAge();
    const gated = await placeOrder('TSLA');
    const listed = await cli('review');

    const cleared = await cli('review', 'clear', 'tsla');
    await afterMaxAge();
    const back = await placeOrder('TSLA');

    expect(gated).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'symbol_manual_review' });
    expect(listed.out).toContain('TSLA');
    expect(cleared).toMatchObject({ code: 0, out: 'TSLA: manual review cleared; LEAN may take its orders again\n' });
    expect(back).toMatchObject({ execution_route: 'lean' });
  });

  it('says a symbol never in review is not in review and writes no parameter', async () => {
    const answer = await cli('review', 'clear', 'NVDA');

    expect(answer).toMatchObject({ code: 0, out: 'NVDA is not in manual review: nothing changed\n' });
    expect(await parameter('/lean-router/local/manual-review/NVDA')).toBeUndefined();
  });

  it('prints review clear with --json as one document saying whether anything changed', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/manual-review/AMZN', Value: '{"state":"review"}', Type: 'String', Overwrite: true }));

    const cleared = await cliJson('review', 'clear', 'AMZN');
    const again = await cliJson('review', 'clear', 'AMZN');

    expect(cleared).toEqual({ symbol: 'AMZN', parameter: '/lean-router/local/manual-review/AMZN', changed: true, in_review: false });
    expect(again).toEqual({ symbol: 'AMZN', parameter: '/lean-router/local/manual-review/AMZN', changed: false, in_review: false });
  });

  it('refuses review clear without a symbol with exit code 2', async () => {
    const answer = await cli('review', 'clear');

    expect(answer).toMatchObject({ code: 2, err: 'lean-router: review clear needs a SYMBOL (see lean-router --help)\n' });
  });
});

describe('lean-router orders / order', () => {
  it('lists recent orders with their routes and reasons', async () => {
    const placed = await placeOrder('AMD');

    const answer = await cli('orders', '--symbol', 'AMD');

    expect(answer.code).toBe(0);
    expect(answer.out).toContain(String(placed.client_order_id));
    expect(answer.out).toContain('policy_all');
  });

  it("shows the broker's status, filled quantity and average price the lifecycle sync wrote, after the router's status", async () => {
    const placed = await placeOrder('NVDA');
    const client = localDynamoDbClient(stack.dynamoDbEndpoint);
    try {
      await new DynamoDbProvenanceStore(client, stack.tableName).recordBrokerState(
        String(placed.client_order_id),
        { broker_status: 'partially_filled', filled_qty: '0.5', filled_avg_price: '187.25', broker_updated_at: '2026-01-02T15:04:05.000000000Z', open: true },
        undefined,
        new Date().toISOString(),
      );
    } finally {
      client.destroy();
    }

    const answer = await cli('orders', '--symbol', 'NVDA');

    expect(answer.code).toBe(0);
    expect(answer.out.split('\n')[0]).toMatch(/\bstatus +broker +filled +avg_price +expected\b/);
    expect(tableRow(answer.out, String(placed.client_order_id))).toMatchObject({ status: 'accepted', broker: 'partially_filled', filled: '0.5', avg_price: '187.25', expected: 'lean' });
  });

  it('leaves the broker, filled and avg_price cells empty for an order the lifecycle sync has not read', async () => {
    const placed = await placeOrder('AMZN');

    const answer = await cli('orders', '--symbol', 'AMZN');

    expect(answer.code).toBe(0);
    expect(tableRow(answer.out, String(placed.client_order_id))).toMatchObject({ status: 'accepted', broker: '', filled: '', avg_price: '', expected: 'lean' });
  });

  it('prints orders --json as one array of rows', async () => {
    const placed = await placeOrder('INTC');

    const answer = await cli('orders', '--symbol', 'INTC', '--json');

    expect(JSON.parse(answer.out)).toEqual([expect.objectContaining({ client_order_id: placed.client_order_id, symbol: 'INTC' })]);
  });

  it('prints the whole row of one order', async () => {
    const placed = await placeOrder();

    const answer = await cli('order', String(placed.client_order_id));

    expect(answer.code).toBe(0);
    expect(JSON.parse(answer.out)).toMatchObject({ client_order_id: placed.client_order_id, execution_route: 'lean', status: 'accepted' });
  });

  it('names the table and what to check when it does not exist, with exit 1', async () => {
    const answer = await cli('orders', '--table', 'no-such-table');

    expect(answer).toMatchObject({ code: 1, out: '' });
    expect(answer.err).toMatch(/^lean-router orders: no table no-such-table \(ResourceNotFoundException: .*\): check --table \/ PROVENANCE_TABLE_NAME\n$/);
  });

  it('exits 1 with a clear message for an order that does not exist', async () => {
    const answer = await cli('order', 'no-such-order');

    expect(answer).toMatchObject({ code: 1, out: '' });
    expect(answer.err).toContain('no order with client_order_id no-such-order');
  });
});

/** A buy limit below the local market's price, so it rests at the broker; routed by the default policy (LEAN first). */
async function placeRestingOrder(): Promise<string> {
  const placed = await placeOrderWith({ type: 'limit', limit_price: '90' });
  expect(placed).toMatchObject({ status: 'accepted', execution_route: 'lean' });
  return String(placed.client_order_id);
}

/** The CLI's environment with npm start's order API port, as `npm start` prints it when not the default. */
const cancelEnv = (): Record<string, string> => ({ ...cliEnv, LOCAL_API_PORT: new URL(stack.apiUrl).port });

describe('lean-router cancel', () => {
  it('cancels a resting LEAN order through the order API with exit 0, and the row shows cancel_route lean', async () => {
    const id = await placeRestingOrder();

    const answer = await cliWith(cancelEnv(), 'cancel', id);

    expect(answer).toMatchObject({ code: 0, err: '' });
    expect(answer.out).toBe(`${id}: cancel requested through LEAN (placed_by_lean); the broker is working on it: watch \`lean-router order ${id}\` for the broker's status\n`);
    expect(await cliJson('order', id)).toMatchObject({ cancel_route: 'lean', cancel_route_reason: 'placed_by_lean' });
  });

  it('says a repeated cancel was already requested, asks no broker again, and exits 0', async () => {
    const id = await placeRestingOrder();
    await cliWith(cancelEnv(), 'cancel', id);

    const repeat = await cliWith(cancelEnv(), 'cancel', id);

    expect(repeat.code).toBe(0);
    expect(repeat.out).toMatch(new RegExp(`^${id}: cancel already requested earlier, at \\S+Z, through LEAN \\(placed_by_lean\\); no broker was asked again`));
  });

  it('cancels at Alpaca directly while the kill switch is on, and says so', async () => {
    const id = await placeRestingOrder();
    await cli('kill', '--reason', 'cancel drill');
    await afterMaxAge();
    try {
      const answer = await cliWith(cancelEnv(), 'cancel', id);

      expect(answer.code).toBe(0);
      expect(answer.out).toContain(`${id}: cancel requested at Alpaca directly, LEAN skipped (kill_switch)`);
      expect(await cliJson('order', id)).toMatchObject({ cancel_route: 'alpaca_gated', cancel_route_reason: 'kill_switch' });
    } finally {
      await cli('unkill');
      await afterMaxAge();
    }
  });

  it('exits 1 with a clear line for an order that does not exist', async () => {
    const answer = await cliWith(cancelEnv(), 'cancel', 'no-such-order');

    expect(answer).toEqual({
      code: 1,
      out: '',
      err: 'lean-router cancel: no-such-order: no such order in the local stage (404 order_not_found): check the id and --stage; nothing was sent to a broker\n',
    });
  });

  it('prints the order API body as is with --json', async () => {
    const id = await placeRestingOrder();

    const answer = await cliWith(cancelEnv(), 'cancel', id, '--json');
    // A repeat answers the same receipt from the row, so it shows what the API said.
    const repeat = await fetch(`${stack.apiUrl}/orders/${id}`, { method: 'DELETE' });

    expect(answer.code).toBe(0);
    expect(JSON.parse(answer.out)).toEqual(await repeat.json());
    expect(JSON.parse(answer.out)).toMatchObject({ client_order_id: id, cancel_route: 'lean', cancel_attempts: [expect.objectContaining({ adapter: 'lean', outcome: 'requested' })] });
  });

  it('prints the error body with --json for an order that does not exist, exit 1', async () => {
    const answer = await cliWith(cancelEnv(), 'cancel', 'no-such-order', '--json');

    expect(answer.code).toBe(1);
    expect(JSON.parse(answer.out)).toMatchObject({ error: 'order_not_found' });
  });
});

/**
 * Writes filled rows of one strategy: a LEAN buy filled at each of `leanFills` and an Alpaca buy at
 * each of `alpacaFills`, against a reference of 100. `batch` keeps a later call's rows apart from an
 * earlier one's.
 */
async function seedParity(tableName: string, strategyId: string, leanFills: readonly string[], alpacaFills: readonly string[], batch = ''): Promise<void> {
  const client = localDynamoDbClient(stack.dynamoDbEndpoint);
  const documents = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const createdAt = new Date(Date.now() - 60_000).toISOString();
  const row = (id: string, route: 'lean' | 'alpaca', fill: string): ProvenanceRow =>
    pendingRow({
      client_order_id: `${strategyId}-${batch}${id}`,
      strategy_id: strategyId,
      status: 'accepted',
      execution_route: route,
      execution_expected_adapter: route,
      reference_price: '100',
      broker_status: 'filled',
      filled_qty: '1',
      filled_avg_price: fill,
      filled_at: new Date(Date.parse(createdAt) + 1_500).toISOString(),
      created_at: createdAt,
      updated_at: createdAt,
    });
  try {
    await ensureProvenanceTable(client, tableName);
    const rows = [...leanFills.map((fill, index) => row(`lean-${index}`, 'lean', fill)), ...alpacaFills.map((fill, index) => row(`alpaca-${index}`, 'alpaca', fill))];
    for (const item of rows) await documents.send(new PutCommand({ TableName: tableName, Item: item }));
  } finally {
    client.destroy();
  }
}

describe('lean-router parity', () => {
  const parityEnv = (): Record<string, string> => ({ ...cliEnv, TRADING_PARITY_MIN_ORDERS: '2' });

  it('prints both cohorts and every check PASS with exit 0 for a strategy whose LEAN fills match Alpaca', async () => {
    await seedParity(stack.tableName, 'cli-parity-even', ['100.01', '100.02'], ['100.01', '100.03']);

    const answer = await cliWith(parityEnv(), 'parity', '--strategy', 'cli-parity-even');

    expect(answer).toMatchObject({ code: 0, err: '' });
    expect(answer.out).toMatch(/^parity of stage local, strategy cli-parity-even, created .* to .*: PASS$/m);
    expect(answer.out).toMatch(/^figure +routed +non-routed$/m);
    expect(answer.out).toMatch(/^fill rate +100\.0% +100\.0%$/m);
    expect(answer.out).toMatch(/^time to fill, median +1\.50 s +1\.50 s$/m);
    for (const name of ['divergent_ids', 'min_orders_routed', 'min_orders_non_routed', 'fill_rate_difference', 'median_slippage_difference']) {
      expect(answer.out).toMatch(new RegExp(`^${name} +PASS `, 'm'));
    }
  });

  it('says FAIL with the numbers and exits 1 when LEAN slips more than the tolerance', async () => {
    await seedParity(stack.tableName, 'cli-parity-slips', ['100.20', '100.20'], ['100.01', '100.01']);

    const answer = await cliWith(parityEnv(), 'parity', '--strategy', 'cli-parity-slips');

    expect(answer.code).toBe(1);
    expect(answer.out).toMatch(/^median_slippage_difference +FAIL +19\.0 bps +max 5\.0 bps +routed 20\.0 bps vs non-routed 1\.0 bps/m);
  });

  it('prints the report with --json as one document', async () => {
    await seedParity(stack.tableName, 'cli-parity-json', ['100.01', '100.01'], ['100.01', '100.01']);

    const answer = await cliWith(parityEnv(), 'parity', '--strategy', 'cli-parity-json', '--json');

    expect(JSON.parse(answer.out)).toMatchObject({ stage: 'local', strategyId: 'cli-parity-json', passed: true, routed: { orders: 2, slippageSamples: 2 }, nonRouted: { orders: 2 } });
  });

  it('puts two stages side by side with --compare, each read from its own table', async () => {
    await seedParity(stack.tableName, 'cli-parity-stages', ['100.01', '100.01'], ['100.01', '100.01']);
    await seedParity('lean-router-paper-provenance', 'cli-parity-stages', ['100.30', '100.30'], ['100.01', '100.01']);
    const env = { ...parityEnv(), AWS_ENDPOINT_URL_DYNAMODB: stack.dynamoDbEndpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };

    const answer = await withEnv(env, () => cliWith(env, 'parity', '--compare', 'local,paper', '--strategy', 'cli-parity-stages'));

    expect(answer.code).toBe(1);
    expect(answer.out).toMatch(/^figure +local routed +local non-routed +paper routed +paper non-routed$/m);
    expect(answer.out).toMatch(/^median_slippage_difference +PASS 0\.0 bps \(max 5\.0 bps\) +FAIL 29\.0 bps \(max 5\.0 bps\)$/m);
  });
});

describe('lean-router strategy', () => {
  const strategyEnv = (): Record<string, string> => ({ ...cliEnv, TRADING_PARITY_MIN_ORDERS: '2' });
  const strategyParameter = (stage: string, id: string): string => `/lean-router/${stage}/strategies/${id}`;

  it('refuses enable with exit 1, naming the failing check with its numbers, and writes nothing when LEAN slips beyond the tolerance', async () => {
    await seedParity(stack.tableName, 'cli-strategy-slips', ['100.20', '100.20'], ['100.01', '100.01']);

    const answer = await cliWith(strategyEnv(), 'strategy', 'enable', 'cli-strategy-slips');

    expect(answer).toMatchObject({ code: 1, out: '' });
    expect(answer.err).toMatch(/^lean-router strategy enable: refused: cli-strategy-slips stays without a parameter \(not enabled\) on stage local; nothing was written$/m);
    expect(answer.err).toMatch(/^ {2}FAIL median_slippage_difference \(.* to .*\): routed 20\.0 bps vs non-routed 1\.0 bps: 19\.0 bps apart, at most 5\.0 bps$/m);
    expect(await parameter(strategyParameter('local', 'cli-strategy-slips'))).toBeUndefined();
  });

  it('accepts enable once rows that pass are in the window, writing enabled with who, why and when', async () => {
    await seedParity(stack.tableName, 'cli-strategy-heals', ['100.20', '100.20'], ['100.01', '100.01']);
    const refused = await cliWith(strategyEnv(), 'strategy', 'enable', 'cli-strategy-heals');
    await seedParity(stack.tableName, 'cli-strategy-heals', ['100.01', '100.01', '100.01'], [], 'fixed-');

    const answer = await cliWith(strategyEnv(), 'strategy', 'enable', 'cli-strategy-heals', '--reason', 'slippage fixed');

    expect(refused.code).toBe(1);
    expect(answer).toMatchObject({ code: 0, err: '' });
    expect(answer.out).toMatch(/^\/lean-router\/local\/strategies\/cli-strategy-heals: \(no parameter\) -> enabled \(slippage fixed, by on-call\)/);
    expect(answer.out).toMatch(/^local +median_slippage_difference +PASS /m);
    expect(JSON.parse((await parameter(strategyParameter('local', 'cli-strategy-heals')))?.value ?? '{}')).toMatchObject({ state: 'enabled', reason: 'slippage fixed', set_by: 'on-call', set_at: expect.any(String) });
  });

  it('refuses enable of a blocked strategy explaining the block, and lifts the block once its checks pass', async () => {
    await seedParity(stack.tableName, 'cli-strategy-blocked', ['100.20', '100.20'], ['100.01', '100.01']);
    await cli('strategy', 'block', 'cli-strategy-blocked', '--reason', 'route_divergence: drill');
    const refused = await cliWith(strategyEnv(), 'strategy', 'enable', 'cli-strategy-blocked');
    await seedParity(stack.tableName, 'cli-strategy-blocked', ['100.01', '100.01', '100.01'], [], 'fixed-');

    const lifted = await cliWith(strategyEnv(), 'strategy', 'enable', 'cli-strategy-blocked');

    expect(refused.code).toBe(1);
    expect(refused.err).toContain('cli-strategy-blocked is blocked (route_divergence: drill, by on-call, at ');
    expect(refused.err).toContain('a block is latched; enabling lifts it, once every parity check passes');
    expect(lifted.code).toBe(0);
    expect(lifted.out).toContain('blocked -> enabled');
    expect(lifted.out).toContain('the block (route_divergence: drill) is lifted');
  });

  it('prints a refused enable with --json as one document on stdout naming the failing checks, exit 1', async () => {
    await seedParity(stack.tableName, 'cli-strategy-json', ['100.20', '100.20'], ['100.01', '100.01']);

    const answer = await cliWith(strategyEnv(), 'strategy', 'enable', 'cli-strategy-json', '--json');

    expect(answer.code).toBe(1);
    expect(JSON.parse(answer.out)).toMatchObject({
      strategy_id: 'cli-strategy-json',
      changed: false,
      refused: true,
      failing_checks: [{ stage: 'local', name: 'median_slippage_difference', actual: expect.closeTo(19, 6), threshold: 5 }],
    });
  });

  it('disable writes shadow and block writes blocked; list shows each with its state, reason and who', async () => {
    await cli('strategy', 'disable', 'cli-strategy-listed', '--reason', 'control cohort');
    await cli('strategy', 'block', 'cli-strategy-listed-too', '--reason', 'desk request', '--by', 'alice');

    const list = await cli('strategy', 'list');

    expect(list.code).toBe(0);
    expect(list.out).toMatch(/^cli-strategy-listed +shadow +control cohort +on-call +\S+$/m);
    expect(list.out).toMatch(/^cli-strategy-listed-too +blocked +desk request +alice +\S+$/m);
  });

  it('says a strategy is already in the state asked and writes nothing', async () => {
    await cli('strategy', 'disable', 'cli-strategy-twice');
    const before = await parameter(strategyParameter('local', 'cli-strategy-twice'));

    const answer = await cli('strategy', 'disable', 'cli-strategy-twice', '--reason', 'again');

    expect(answer).toMatchObject({ code: 0, out: expect.stringMatching(/^cli-strategy-twice is already shadow \(operator moved the strategy to shadow, by on-call, at \S+\): nothing changed\n$/) });
    expect(await parameter(strategyParameter('local', 'cli-strategy-twice'))).toEqual(before);
  });

  it('show prints the state and the parity report with its checks, exit 0 whatever the verdict', async () => {
    await seedParity(stack.tableName, 'cli-strategy-shown', ['100.20', '100.20'], ['100.01', '100.01']);
    await cli('strategy', 'disable', 'cli-strategy-shown', '--reason', 'watching');

    const answer = await cliWith(strategyEnv(), 'strategy', 'show', 'cli-strategy-shown');

    expect(answer).toMatchObject({ code: 0, err: '' });
    expect(answer.out).toMatch(/^strategy cli-strategy-shown on stage local: shadow \(watching, by on-call, at \S+\) \(\/lean-router\/local\/strategies\/cli-strategy-shown\)$/m);
    expect(answer.out).toMatch(/^parity of stage local, strategy cli-strategy-shown, created .*: FAIL$/m);
    expect(answer.out).toMatch(/^median_slippage_difference +FAIL +19\.0 bps/m);
  });

  it('lets the next order of the strategy it enables go to LEAN where the stage requires enablement', async () => {
    // 20 filled Alpaca orders keep the fill rates within 5 points once the gated order below (not filled) joins them.
    await seedParity(stack.tableName, 'cli-strategy-routes', ['100.01', '100.01'], Array.from({ length: 20 }, () => '100.01'));
    const policy = '/lean-router/local/policy';
    await ssm.send(new PutParameterCommand({ Name: policy, Value: '{"strategy_enablement":"required"}', Type: 'String', Overwrite: true }));
    try {
      await afterMaxAge();
      const before = await placeOrderWith({ strategy_id: 'cli-strategy-routes' });
      const enabled = await cliWith(strategyEnv(), 'strategy', 'enable', 'cli-strategy-routes');
      await afterMaxAge();

      const after = await placeOrderWith({ strategy_id: 'cli-strategy-routes' });

      expect(before).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'strategy_not_enabled' });
      expect(enabled.code).toBe(0);
      expect(after).toMatchObject({ execution_route: 'lean' });
    } finally {
      await ssm.send(new DeleteParameterCommand({ Name: policy }));
      await afterMaxAge();
    }
  });

  it('refuses a live enable while the paper report fails, though live passes, and writes nothing', async () => {
    await seedParity('lean-router-live-provenance', 'cli-strategy-live', ['100.01', '100.01'], ['100.01', '100.01']);
    await seedParity('lean-router-paper-provenance', 'cli-strategy-live', ['100.30', '100.30'], ['100.01', '100.01']);
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/live/kill-switch', Value: 'off', Type: 'String', Overwrite: true }));
    const env = { ...strategyEnv(), AWS_ENDPOINT_URL_DYNAMODB: stack.dynamoDbEndpoint, AWS_ENDPOINT_URL_SSM: stack.ssmEndpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
    try {
      const answer = await withEnv(env, () => cliWith(env, 'strategy', 'enable', 'cli-strategy-live', '--stage', 'live'));

      expect(answer.code).toBe(1);
      expect(answer.err).toContain("the strategy's paper report must pass before live, and it does not:");
      expect(answer.err).toMatch(/^ {2}FAIL median_slippage_difference .*: routed 30\.0 bps vs non-routed 1\.0 bps/m);
      expect(await parameter(strategyParameter('live', 'cli-strategy-live'))).toBeUndefined();
    } finally {
      // Later tests rely on the live stage having no parameters here.
      await ssm.send(new DeleteParameterCommand({ Name: '/lean-router/live/kill-switch' }));
    }
  });
});

describe('lean-router stages', () => {
  it('refuses an unknown stage with exit 2 naming the known ones, and writes nothing', async () => {
    const answer = await asIfDeployed(() => cli('kill', '--stage', 'papr', '--reason', 'typo'));

    expect(answer).toMatchObject({ code: 2, out: '', err: 'lean-router: --stage papr is not a stage (known: local, paper, live) (see lean-router --help)\n' });
    expect(await parametersUnder('/lean-router/papr/')).toEqual([]);
  });

  it('refuses a write to a stage with no kill-switch parameter with exit 1, and writes nothing', async () => {
    const answer = await asIfDeployed(() => cli('kill', '--stage', 'live', '--reason', 'wrong account'));

    expect(answer.code).toBe(1);
    expect(answer.err).toMatch(/^lean-router kill: no \/lean-router\/live\/kill-switch parameter in us-east-1: the live stage is not deployed in this account and region/);
    expect(await parametersUnder('/lean-router/live/')).toEqual([]);
  });

  it('writes to a deployed stage whose kill-switch parameter exists', async () => {
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/paper/kill-switch', Value: 'off', Type: 'String', Overwrite: true }));

    const answer = await asIfDeployed(() => cli('kill', '--stage', 'paper', '--reason', 'maintenance'));

    expect(answer).toMatchObject({ code: 0 });
    expect(JSON.parse((await parameter('/lean-router/paper/kill-switch'))?.value ?? '{}')).toMatchObject({ state: 'on', reason: 'maintenance' });
  });
});

describe('lean-router on the local stack without its kill-switch parameter', () => {
  it('status says the routers keep LEAN off and lists the parameters it found, with exit 0', async () => {
    await ssm.send(new DeleteParameterCommand({ Name: KILL_SWITCH }));
    try {
      const status = await cli('status');

      expect(status).toMatchObject({ code: 0, err: '' });
      expect(status.out).toContain('LEAN: OFF for every order (no kill-switch parameter under /lean-router/local/: the routers keep LEAN off; npm start writes it when it starts)');
      expect(status.out).toMatch(/^\/lean-router\/local\/lean-health /m);
    } finally {
      await ssm.send(new PutParameterCommand({ Name: KILL_SWITCH, Value: 'off', Type: 'String', Overwrite: true }));
    }
  });

  it('unkill still refuses with exit 1 and writes nothing', async () => {
    await ssm.send(new DeleteParameterCommand({ Name: KILL_SWITCH }));
    try {
      const answer = await cli('unkill');

      expect(answer).toMatchObject({ code: 1, out: '' });
      expect(answer.err).toMatch(/^lean-router unkill: no \/lean-router\/local\/kill-switch parameter at http:\/\/127\.0\.0\.1:\d+: it was deleted \(the routers keep LEAN off\); restart npm start to write it again; nothing was changed\n$/);
      expect(await parameter(KILL_SWITCH)).toBeUndefined();
    } finally {
      await ssm.send(new PutParameterCommand({ Name: KILL_SWITCH, Value: 'off', Type: 'String', Overwrite: true }));
    }
  });

  it("status keeps the hint that a Parameter Store with nothing under the prefix is not npm start's, with exit 1", async () => {
    const empty = await startLocalParameterStore({ port: 0 });
    try {
      const answer = await cliWith({ ...cliEnv, LOCAL_SSM_PORT: new URL(empty.endpoint).port }, 'status');

      expect(answer).toMatchObject({ code: 1, out: '' });
      expect(answer.err).toBe(`lean-router status: no /lean-router/local/kill-switch parameter at ${empty.endpoint}: that Parameter Store is not npm start's; nothing was changed\n`);
    } finally {
      await empty.close();
    }
  });
});

describe('lean-router with the local stack stopped', () => {
  it('says the local stack is not running and how to start it, with exit 1', async () => {
    const closedPort = await freePort();

    const answer = await cliWith({ LOCAL_SSM_PORT: String(closedPort), LOCAL_DYNAMODB_PORT: String(closedPort) }, 'status');

    expect(answer).toMatchObject({
      code: 1,
      out: '',
      err: `lean-router status: nothing answers at 127.0.0.1:${closedPort}: the local stack is not running; start it with npm start\n`,
    });
  });
});

describe('the installed lean-router command', () => {
  it('exits quietly when its reader goes away (status | head -1)', async () => {
    const child = spawn(process.execPath, [PACKAGE.bin['lean-router'] ?? '', 'status'], {
      cwd: new URL('../../', import.meta.url),
      env: { ...process.env, ...cliEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader is gone before the command prints anything: every write meets EPIPE.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));

    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
  });
});

/** A loopback port nothing listens on. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
