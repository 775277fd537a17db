import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { DeleteParameterCommand, GetParameterCommand, GetParametersByPathCommand, ParameterNotFound, PutParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_FILL_DELAY_MS, startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import { FREE_PORTS, connectOutcome, freePorts, http, portOf, runScript, type Reply } from '../support/local-stack-process';
import { localSsmClient } from '../../lib/local/parameter-store';
import { PortInUseError } from '../../lib/local/port-in-use';

// Short control-value ages too: the demos wait them out, as the /_router view tells them.
const FAST_TIMEOUTS = {
  TRADING_LEAN_RUNNER_TIMEOUT_MS: '1000',
  TRADING_LEAN_RUNNER_LOOKUP_TIMEOUT_MS: '500',
  TRADING_ALPACA_LOOKUP_TIMEOUT_MS: '500',
  TRADING_CONTROL_CACHE_TTL_MS: '1000',
  TRADING_CONTROL_MAX_AGE_MS: '2000',
};

let stack: LocalStack;
let ssm: SSMClient;

beforeAll(async () => {
  stack = await startLocalStack({ ...FREE_PORTS, env: FAST_TIMEOUTS });
  ssm = localSsmClient(stack.ssmEndpoint);
});
afterAll(async () => {
  ssm?.destroy();
  await stack?.close();
});

let sequence = 0;
/** Posts a market order for `symbol` (to the shared stack unless `on` is given) and answers its client_order_id. */
async function placeOrder(symbol: string, on: LocalStack = stack): Promise<{ id: string; reply: Reply }> {
  sequence += 1;
  const id = `local-stack-${Date.now().toString(36)}-${sequence}`;
  const reply = await http('POST', `${on.apiUrl}/orders`, { client_order_id: id, symbol, side: 'buy', qty: '1', type: 'market', time_in_force: 'day' });
  return { id, reply };
}

const readRow = (id: string, on: LocalStack = stack): Promise<Reply> => http('GET', `${on.apiUrl}/orders/${id}`);
const injectLeanFaults = (faults: unknown): Promise<Reply> => http('POST', `${stack.apiUrl}/_sim/lean/faults`, faults);

/** Holds a loopback port as another process would; close it afterwards. */
async function occupyPort(): Promise<Server> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

function heldPort(server: Server): number {
  return (server.address() as { port: number }).port;
}

describe('the local stack, driven over HTTP', () => {
  it('routes an order to LEAN and serves its row with route lean', async () => {
    const { id, reply } = await placeOrder('AAPL');

    const row = await readRow(id);

    expect(reply.status).toBe(201);
    expect(row.status).toBe(200);
    expect(row.body).toMatchObject({ client_order_id: id, status: 'accepted', execution_route: 'lean' });
  });

  it('falls back to Alpaca while a LEAN outage injected through the front door lasts', async () => {
    await injectLeanFaults({ down: true });

    const { id, reply } = await placeOrder('MSFT');
    await injectLeanFaults({});

    expect(reply.status).toBe(201);
    expect((await readRow(id)).body).toMatchObject({ status: 'accepted', execution_route: 'alpaca_fallback', execution_fallback_reason: 'lean_submit_network_error' });
  });

  it('keeps the fault-injection routes reachable while LEAN is down, so the outage can be healed', async () => {
    await injectLeanFaults({ down: true });
    const whileDown = await http('GET', `${stack.apiUrl}/_sim/lean/state`);
    const refused = await connectOutcome(portOf(stack.leanRunnerUrl));

    const healed = await injectLeanFaults({});

    expect(whileDown.body).toMatchObject({ up: false, faults: { down: true } });
    expect(refused).toBe('ECONNREFUSED');
    expect(healed.status).toBe(200);
    expect((await http('GET', `${stack.leanRunnerUrl}/healthz`)).body).toMatchObject({ status: 'ok' });
  });

  it('refuses a misspelled fault with 400 and leaves the faults in force unchanged', async () => {
    const reply = await injectLeanFaults({ submit: { mdoe: 'hang' } });

    expect(reply.status).toBe(400);
    expect(String(reply.body.message)).toContain('mdoe');
    expect((await http('GET', `${stack.apiUrl}/_sim`)).body).toMatchObject({ lean: { faults: {}, up: true }, alpaca: { faults: {}, up: true } });
  });
});

describe('the Parameter Store of the running stack, through the real SSM client', () => {
  const name = (leaf: string): string => `${stack.controlPrefix}local-stack-test/${leaf}`;

  it('stores a parameter and reads it back', async () => {
    await ssm.send(new PutParameterCommand({ Name: name('put'), Value: 'off', Type: 'String' }));

    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: name('put') }));

    expect(Parameter).toMatchObject({ Value: 'off', Version: 1 });
  });

  it('overwrites a parameter with Overwrite and a new version', async () => {
    await ssm.send(new PutParameterCommand({ Name: name('overwrite'), Value: 'off', Type: 'String' }));

    await ssm.send(new PutParameterCommand({ Name: name('overwrite'), Value: 'on', Type: 'String', Overwrite: true }));

    expect((await ssm.send(new GetParameterCommand({ Name: name('overwrite') }))).Parameter).toMatchObject({ Value: 'on', Version: 2 });
  });

  it('answers ParameterNotFound for a name never stored', async () => {
    await expect(ssm.send(new GetParameterCommand({ Name: name('missing') }))).rejects.toBeInstanceOf(ParameterNotFound);
  });

  it('lists the parameters under a path', async () => {
    await ssm.send(new PutParameterCommand({ Name: name('by-path/a'), Value: '1', Type: 'String' }));
    await ssm.send(new PutParameterCommand({ Name: name('by-path/b'), Value: '2', Type: 'String' }));

    const { Parameters } = await ssm.send(new GetParametersByPathCommand({ Path: name('by-path') }));

    expect(Parameters?.map((p) => [p.Name, p.Value])).toEqual([
      [name('by-path/a'), '1'],
      [name('by-path/b'), '2'],
    ]);
  });
});

describe('starting and stopping the local stack', () => {
  it('fails with a PortInUseError naming the port when a port is taken, and closes what it had started', async () => {
    const taken = await occupyPort();
    const [dynamoDbPort, ssmPort, leanRunnerPort, alpacaPort] = await freePorts(4);
    try {
      const start = startLocalStack({ apiPort: heldPort(taken), dynamoDbPort, ssmPort, leanRunnerPort, alpacaPort });

      await expect(start).rejects.toThrow(PortInUseError);
      await expect(start).rejects.toThrow(`port ${heldPort(taken)} is already in use`);
      for (const port of [dynamoDbPort, ssmPort, leanRunnerPort, alpacaPort]) expect(await connectOutcome(port!)).toBe('ECONNREFUSED');
    } finally {
      taken.close();
    }
  });

  it('refuses to start against a real Alpaca without both keys, naming the variables, and leaves no port listening', async () => {
    const [apiPort, dynamoDbPort, ssmPort, leanRunnerPort] = await freePorts(4);

    const start = startLocalStack({ apiPort, dynamoDbPort, ssmPort, leanRunnerPort, env: { ALPACA_BASE_URL: 'https://paper-api.alpaca.markets', APCA_API_KEY_ID: 'PK123' } });

    await expect(start).rejects.toThrow('APCA_API_KEY_ID and APCA_API_SECRET_KEY are not both set');
    for (const port of [apiPort, dynamoDbPort, ssmPort, leanRunnerPort]) expect(await connectOutcome(port!)).toBe('ECONNREFUSED');
  });

  it('keeps rows and control values across a restart on the same data directory (LOCAL_DATA_DIR)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lean-router-data-'));
    const id = `persisted-${Date.now().toString(36)}`;
    const first = await startLocalStack({ ...FREE_PORTS, dataDir, healthCheckIntervalMs: 0 });
    try {
      await http('POST', `${first.apiUrl}/orders`, { client_order_id: id, symbol: 'AAPL', side: 'buy', qty: '1', type: 'market', time_in_force: 'day' });
      const firstSsm = localSsmClient(first.ssmEndpoint);
      await firstSsm.send(new PutParameterCommand({ Name: '/lean-router/local/kill-switch', Value: 'on', Type: 'String', Overwrite: true }));
      firstSsm.destroy();
    } finally {
      await first.close();
    }

    const second = await startLocalStack({ ...FREE_PORTS, dataDir, healthCheckIntervalMs: 0 });
    try {
      const row = await http('GET', `${second.apiUrl}/orders/${id}`);
      const secondSsm = localSsmClient(second.ssmEndpoint);
      const killSwitch = await secondSsm.send(new GetParameterCommand({ Name: '/lean-router/local/kill-switch' }));
      secondSsm.destroy();

      expect(row.body).toMatchObject({ client_order_id: id, execution_route: 'lean' });
      expect(killSwitch.Parameter?.Value).toBe('on');
    } finally {
      await second.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('leaves no listening socket once closed', async () => {
    const other = await startLocalStack(FREE_PORTS);
    const ports = [other.apiUrl, other.dynamoDbEndpoint, other.ssmEndpoint, other.leanRunnerUrl, other.alpacaUrl].map(portOf);

    await other.close();

    for (const port of ports) expect(await connectOutcome(port)).toBe('ECONNREFUSED');
  });

  it('npm start: a port in use is one line on stderr and exit code 1', async () => {
    const taken = await occupyPort();
    const [dynamoDbPort, ssmPort, leanRunnerPort, alpacaPort] = await freePorts(4);
    try {
      const run = runScript('bin/local.ts', {
        LOCAL_API_PORT: String(heldPort(taken)),
        LOCAL_DYNAMODB_PORT: String(dynamoDbPort),
        LOCAL_SSM_PORT: String(ssmPort),
        LOCAL_LEAN_RUNNER_PORT: String(leanRunnerPort),
        LOCAL_ALPACA_PORT: String(alpacaPort),
      });

      const { code, stderr } = await run.exited;

      expect(code).toBe(1);
      expect(stderr).toBe(`lean-router: port ${heldPort(taken)} (LOCAL_API_PORT) is already in use; stop the other process or set LOCAL_API_PORT\n`);
    } finally {
      taken.close();
    }
  });

  it("npm start: a stand-in's port in use is one line on stderr and exit code 1, the stand-ins process gone", async () => {
    const taken = await occupyPort();
    const [api, ssmPort, leanRunnerPort, alpacaPort] = await freePorts(4);
    try {
      const run = runScript('bin/local.ts', {
        LOCAL_API_PORT: String(api),
        LOCAL_DYNAMODB_PORT: String(heldPort(taken)),
        LOCAL_SSM_PORT: String(ssmPort),
        LOCAL_LEAN_RUNNER_PORT: String(leanRunnerPort),
        LOCAL_ALPACA_PORT: String(alpacaPort),
      });

      const { code, stderr } = await run.exited;

      expect(code).toBe(1);
      expect(stderr).toBe(`lean-router: port ${heldPort(taken)} (LOCAL_DYNAMODB_PORT) is already in use; stop the other process or set LOCAL_DYNAMODB_PORT\n`);
      for (const port of [api, ssmPort, leanRunnerPort, alpacaPort]) expect(await connectOutcome(port!)).toBe('ECONNREFUSED');
    } finally {
      taken.close();
    }
  });

  // Two processes start under tsx (the stack and its stand-ins): slow on a busy machine.
  it('npm start: SIGTERM shuts everything down, exit code 0, no port left listening', { timeout: 45_000 }, async () => {
    const ports = await freePorts(5);
    const [api, dynamoDb, ssmPort, lean, alpaca] = ports.map(String);
    const run = runScript('bin/local.ts', { LOCAL_API_PORT: api!, LOCAL_DYNAMODB_PORT: dynamoDb!, LOCAL_SSM_PORT: ssmPort!, LOCAL_LEAN_RUNNER_PORT: lean!, LOCAL_ALPACA_PORT: alpaca! });
    await expect.poll(run.stdout, { timeout: 30_000, interval: 100 }).toContain('local stack is up');

    run.signal('SIGTERM');
    const { code } = await run.exited;

    expect(code).toBe(0);
    for (const port of ports) expect(await connectOutcome(port)).toBe('ECONNREFUSED');
  });
});

/** The kill switch as the health-check writes it when it trips. */
async function tripKillSwitch(): Promise<void> {
  const value = JSON.stringify({ state: 'on', reason: 'lean_error_rate', set_by: 'health-check', set_at: new Date().toISOString() });
  await ssm.send(new PutParameterCommand({ Name: `${stack.controlPrefix}kill-switch`, Value: value, Type: 'String', Overwrite: true }));
}

/** A symbol's review as a trip writes it. */
async function putInReview(symbol: string): Promise<void> {
  const value = JSON.stringify({ state: 'review', reason: 'repeated_fallback', set_by: 'route', set_at: new Date().toISOString() });
  await ssm.send(new PutParameterCommand({ Name: `${stack.controlPrefix}manual-review/${symbol}`, Value: value, Type: 'String', Overwrite: true }));
}

/** Orders on `symbols` while LEAN refuses connections, one symbol each; answers their rows. */
async function ordersWhileLeanDown(symbols: readonly string[]): Promise<Record<string, unknown>[]> {
  await injectLeanFaults({ down: true });
  try {
    const rows: Record<string, unknown>[] = [];
    for (const symbol of symbols) rows.push((await readRow((await placeOrder(symbol)).id)).body);
    return rows;
  } finally {
    await injectLeanFaults({});
  }
}

const resetRouter = (): Promise<Reply> => http('POST', `${stack.apiUrl}/_router/reset`);
const symbolsInReview = async (): Promise<unknown> => (await http('GET', `${stack.apiUrl}/_router`)).body.symbols_in_review;

describe('resetting the router state (POST /_router/reset)', () => {
  beforeEach(async () => {
    await resetRouter();
  });

  it('turns a tripped kill switch off in the Parameter Store, and the next order takes LEAN', async () => {
    await tripKillSwitch();

    const reply = await resetRouter();
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: `${stack.controlPrefix}kill-switch` }));
    const { id } = await placeOrder('AAPL');

    expect(reply.body).toMatchObject({ reset: { kill_switch_was: 'on' }, kill_switch: { state: 'off', set_by: 'local-stack' } });
    expect(JSON.parse(Parameter?.Value ?? '')).toMatchObject({ state: 'off' });
    expect((await readRow(id)).body).toMatchObject({ execution_route: 'lean', policy_snapshot: { kill_switch: 'off' } });
  });

  it('closes an open breaker: the next order takes LEAN', async () => {
    const [, , , skipped] = await ordersWhileLeanDown(['BRKA', 'BRKB', 'BRKC', 'BRKD']);

    await resetRouter();
    const { id } = await placeOrder('BRKD');

    expect(skipped).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'breaker_open' });
    expect((await readRow(id)).body).toMatchObject({ execution_route: 'lean', policy_snapshot: { breaker: 'closed' } });
  });

  it("clears a symbol's review, and the symbol's next order takes LEAN", async () => {
    await putInReview('NFLX');

    const reply = await resetRouter();
    const { id } = await placeOrder('NFLX');

    expect(reply.body).toMatchObject({ reset: { reviews_cleared: ['NFLX'] }, symbols_in_review: [] });
    expect((await readRow(id)).body).toMatchObject({ execution_route: 'lean' });
  });

  it('restarts fallback counts: fallbacks from before the reset do not count towards a review after it', async () => {
    await ordersWhileLeanDown(['ORCL', 'ORCL']);

    await resetRouter();
    await ordersWhileLeanDown(['ORCL']);

    expect(await symbolsInReview()).toEqual([]);
  });

  it('keeps the provenance rows', async () => {
    const { id } = await placeOrder('IBM');

    await resetRouter();

    expect((await readRow(id)).body).toMatchObject({ client_order_id: id, status: 'accepted', execution_route: 'lean' });
  });
});

describe('running the lifecycle sync now (POST /_router/sync)', () => {
  // A stack whose chores run once, at start: on the shared one, the sync that runs every 10 s could
  // write the fill first, and this run would find no open order.
  let quiet: LocalStack;
  beforeAll(async () => {
    quiet = await startLocalStack({ ...FREE_PORTS, env: FAST_TIMEOUTS, healthCheckIntervalMs: 0 });
  });
  afterAll(async () => {
    await quiet?.close();
  });

  it('writes the fill of an order whose fill is due on its row: broker_status filled', async () => {
    const { id } = await placeOrder('AMD', quiet);
    // The simulator fills it on the first request after the delay; the sync's list call is one.
    await sleep(LOCAL_FILL_DELAY_MS + 300);

    const reply = await http('POST', `${quiet.apiUrl}/_router/sync`);

    expect(reply).toMatchObject({ status: 200, body: { stopped: 'complete' } });
    expect((await readRow(id, quiet)).body).toMatchObject({ broker_status: 'filled', filled_qty: '1', filled_avg_price: expect.any(String) });
  });
});

/** The rows a demo run printed in its table: client_order_id, symbol, status, expected, route, reason. */
function printedRows(stdout: string): string[][] {
  return stdout
    .split('\n')
    .filter((line) => line.startsWith('demo-'))
    .map((line) => line.split(/ {2,}/).slice(0, 6));
}

describe('npm run demo', () => {
  const demoEnv = (): Record<string, string> => ({ LOCAL_API_PORT: String(portOf(stack.apiUrl)), LOCAL_SSM_PORT: String(portOf(stack.ssmEndpoint)), DEMO_PAUSE_MS: '0' });

  // One run serves both tests below: a demo run waits out the control cache once or twice and a fill
  // delay, about ten seconds, and starting it after a trip shows it recovers what it finds. A run on
  // an untouched stack is not repeated here: its first step resets what a trip leaves, so the
  // tripped start covers it.
  describe('after a trip (kill switch on, a symbol in review, the breaker open)', () => {
    let run: { code: number | null; stdout: string };
    beforeAll(async () => {
      await tripKillSwitch();
      await putInReview('NVDA');
      await ordersWhileLeanDown(['QCOM', 'TXN', 'MU']);
      run = await runScript('scripts/demo.ts', demoEnv()).exited;
    }, 60_000);

    it('walks the outage and recovery, exits 0, and prints the rows as stored', async () => {
      const printed = printedRows(run.stdout);
      const stored = await Promise.all(printed.map(async ([id]) => (await readRow(id!)).body));

      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/All \d+ checks held/);
      expect(printed.map(([, symbol, , , route]) => `${symbol} ${route}`)).toEqual([
        ...['AAPL', 'MSFT', 'GOOGL', 'META', 'JPM'].map((symbol) => `${symbol} lean`),
        'NVDA alpaca_fallback',
        'AMZN alpaca_fallback',
        ...['TSLA', 'V', 'WMT'].map((symbol) => `${symbol} lean`),
      ]);
      expect(stored.map((row) => [row.client_order_id, row.symbol, row.status, row.execution_expected_adapter, row.execution_route, row.execution_fallback_reason ?? row.execution_route_reason])).toEqual(printed);
      expect((await http('GET', `${stack.apiUrl}/_sim/lean/state`)).body).toMatchObject({ up: true, faults: {} });
    });

    it('leaves its market orders filled on their rows and its two limits canceled, through LEAN and then at Alpaca with LEAN killed, and the kill switch off', async () => {
      const marketOrders = await Promise.all(printedRows(run.stdout).map(async ([id]) => (await readRow(id!)).body));
      const limits = [...run.stdout.matchAll(/POST \/orders (demo-\S+) +(DIS|KO) +limit/g)].map(([, id, symbol]) => ({ id: id!, symbol: symbol! }));
      const canceled = await Promise.all(limits.map(async ({ id, symbol }) => ({ symbol, row: (await readRow(id)).body })));
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: `${stack.controlPrefix}kill-switch` }));

      expect(run.code).toBe(0);
      expect(marketOrders).toHaveLength(10);
      for (const row of marketOrders) expect(row).toMatchObject({ broker_status: 'filled', filled_qty: '1', filled_avg_price: expect.any(String) });
      expect(canceled).toMatchObject([
        { symbol: 'DIS', row: { execution_route: 'lean', broker_status: 'canceled', cancel_route: 'lean', cancel_route_reason: 'placed_by_lean' } },
        { symbol: 'KO', row: { execution_route: 'lean', broker_status: 'canceled', cancel_route: 'alpaca_gated', cancel_route_reason: 'kill_switch' } },
      ]);
      expect(Parameter?.Value).toBe('off');
    });
  });

  it('exits 1 with one line naming the step and the row when an order it expects on LEAN takes another route', async () => {
    const policy = `${stack.controlPrefix}policy`;
    await ssm.send(new PutParameterCommand({ Name: policy, Value: '{"adapter":"alpaca"}', Type: 'String', Overwrite: true }));
    try {
      const { code, stderr } = await runScript('scripts/demo.ts', demoEnv()).exited;

      expect(code).toBe(1);
      expect(stderr).toMatch(
        /^lean-router demo: step 1 \(LEAN is healthy: orders take the LEAN route\) did not hold: demo-\d+-1 AAPL is accepted on route alpaca \(adapter_alpaca\), expected accepted on route lean\n$/,
      );
    } finally {
      await ssm.send(new DeleteParameterCommand({ Name: policy }));
      await resetRouter();
    }
  });

  it('says how to start the stack when none is running', async () => {
    const [closed] = await freePorts(1);

    const { code, stderr } = await runScript('scripts/demo.ts', { LOCAL_API_PORT: String(closed) }).exited;

    expect(code).toBe(1);
    expect(stderr).toContain('start it with npm start in another terminal');
  });
});

describe('a crash during the fallback submit', () => {
  /**
   * TRADING_RECONCILE_AFTER_MS just above the route timeout, which it must exceed; the call
   * timeouts are cut so the slowest path (3.6 s) fits that short route budget less its reserve.
   */
  const RECONCILE_SOON = {
    LOCAL_HEALTH_CHECK_INTERVAL_MS: '1000',
    TRADING_RECONCILE_AFTER_MS: '4500',
    TRADING_ROUTE_TIMEOUT_MS: '4000',
    TRADING_FINALIZE_RESERVE_MS: '300',
    TRADING_SSM_TIMEOUT_MS: '300',
    TRADING_DYNAMODB_TIMEOUT_MS: '300',
    TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS: '200',
    TRADING_LEAN_RUNNER_TIMEOUT_MS: '500',
    TRADING_LEAN_RUNNER_LOOKUP_TIMEOUT_MS: '300',
    TRADING_ALPACA_CONNECT_TIMEOUT_MS: '200',
    TRADING_ALPACA_TIMEOUT_MS: '1000',
    TRADING_ALPACA_LOOKUP_TIMEOUT_MS: '300',
  };

  it('names Alpaca on the row reconciled after a SIGKILL mid-fallback and a restart on the same LOCAL_DATA_DIR, with one broker order', { timeout: 45_000 }, async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'lean-router-crash-'));
    const [api, dynamoDb, ssmPort, lean, alpaca] = (await freePorts(5)).map(String);
    const env = { LOCAL_API_PORT: api!, LOCAL_DYNAMODB_PORT: dynamoDb!, LOCAL_SSM_PORT: ssmPort!, LOCAL_LEAN_RUNNER_PORT: lean!, LOCAL_ALPACA_PORT: alpaca!, LOCAL_DATA_DIR: dataDir, ...RECONCILE_SOON };
    const apiUrl = `http://127.0.0.1:${api}`;
    const alpacaOrdersPlaced = async (): Promise<unknown> => (await http('GET', `${apiUrl}/_sim/alpaca/state`)).body.orders_placed;
    const id = `crash-${Date.now().toString(36)}`;
    const first = runScript('bin/local.ts', env, { direct: true });
    let second: ReturnType<typeof runScript> | undefined;
    try {
      await expect.poll(first.stdout, { timeout: 15_000, interval: 50 }).toContain('local stack is up');
      await http('POST', `${apiUrl}/_sim/lean/faults`, { submit: { mode: 'http_error', taxonomy: 'upstream_error' } });
      await http('POST', `${apiUrl}/_sim/alpaca/faults`, { submit: { mode: 'hang', placeOrder: true } });
      // Never answered: the process dies under it.
      const posted = http('POST', `${apiUrl}/orders`, { client_order_id: id, symbol: 'AAPL', side: 'buy', qty: '1', type: 'market', time_in_force: 'day' }).catch(() => undefined);
      await expect.poll(alpacaOrdersPlaced, { timeout: 10_000, interval: 20 }).toBe(1);
      first.signal('SIGKILL');
      await first.exited;
      await posted;

      second = runScript('bin/local.ts', env, { direct: true });
      await expect.poll(second.stdout, { timeout: 15_000, interval: 50 }).toContain('local stack is up');
      await expect.poll(async () => (await readRowAt(apiUrl, id)).status, { timeout: 20_000, interval: 200 }).not.toBe('pending');

      expect(await readRowAt(apiUrl, id)).toMatchObject({ status: 'accepted', execution_expected_adapter: 'lean', execution_route: 'alpaca_fallback', execution_note: 'reconciled' });
      expect(await alpacaOrdersPlaced()).toBe(1);
    } finally {
      first.signal('SIGKILL');
      second?.signal('SIGKILL');
      await Promise.all([first.exited, second?.exited]);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/** The row as the stack at `apiUrl` serves it. */
async function readRowAt(apiUrl: string, id: string): Promise<Record<string, unknown>> {
  return (await http('GET', `${apiUrl}/orders/${id}`)).body;
}
