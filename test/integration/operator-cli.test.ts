import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/cli';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import { localSsmClient } from '../../lib/local/parameter-store';

/**
 * The operator CLI against a running local stack, as an operator at a terminal would use it:
 * commands in, text out, effects observed over HTTP on the order API.
 */

let stack: LocalStack;
let cliEnv: Record<string, string>;
const TTL_MS = 200;

beforeAll(async () => {
  stack = await startLocalStack({
    apiPort: 0,
    dynamoDbPort: 0,
    ssmPort: 0,
    leanRunnerPort: 0,
    alpacaPort: 0,
    healthCheckIntervalMs: 0,
    env: { TRADING_CONTROL_CACHE_TTL_MS: String(TTL_MS) },
  });
  cliEnv = { LOCAL_DYNAMODB_PORT: new URL(stack.dynamoDbEndpoint).port, LOCAL_SSM_PORT: new URL(stack.ssmEndpoint).port, USER: 'on-call' };
});

afterAll(async () => {
  await stack?.close();
});

/** Runs one CLI command; answers its exit code and what it printed. */
async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, cliEnv, { out: (text) => (out += `${text}\n`), err: (text) => (err += `${text}\n`) });
  return { code, out, err };
}

let sequence = 0;
async function placeOrder(symbol = 'AAPL'): Promise<Record<string, unknown>> {
  sequence += 1;
  const response = await fetch(`${stack.apiUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_order_id: `cli-${Date.now().toString(36)}-${sequence}`, symbol, side: 'buy', qty: '1', type: 'market', time_in_force: 'day' }),
  });
  return (await response.json()) as Record<string, unknown>;
}

const afterTtl = () => new Promise((resolve) => setTimeout(resolve, TTL_MS + 60));

describe('lean-router kill / unkill', () => {
  it('switches LEAN off for the next orders with kill --reason, and back on with unkill', async () => {
    const killed = await cli('kill', '--reason', 'runner upgrade');
    await afterTtl();
    const gated = await placeOrder();
    const unkilled = await cli('unkill');
    await afterTtl();
    const back = await placeOrder();

    expect(killed).toMatchObject({ code: 0 });
    expect(killed.out).toContain('/lean-router/local/kill-switch is on');
    expect(gated).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'kill_switch' });
    expect(unkilled.code).toBe(0);
    expect(back).toMatchObject({ execution_route: 'lean' });
  });

  it('records who switched it and why, as status shows', async () => {
    await cli('kill', '--reason', 'drill');

    const status = await cli('status', '--json');

    const values = JSON.parse(status.out) as Record<string, string>;
    expect(JSON.parse(values['/lean-router/local/kill-switch'] ?? '{}')).toMatchObject({ state: 'on', reason: 'drill', set_by: 'on-call' });
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
    const before = await cli('status', '--json');

    const answer = await cli('kill');

    expect(answer.code).toBe(2);
    expect(answer.err).toContain('kill needs --reason');
    expect((await cli('status', '--json')).out).toBe(before.out);
  });
});

describe('lean-router review', () => {
  it('lists no symbol in review on a fresh stack', async () => {
    const answer = await cli('review');

    expect(answer).toMatchObject({ code: 0, out: 'no symbol is in manual review\n' });
  });

  it('clears a symbol in review so LEAN takes its orders again', async () => {
    // A trip as the router writes it.
    const ssm = localSsmClient(stack.ssmEndpoint);
    await ssm.send(new PutParameterCommand({ Name: '/lean-router/local/manual-review/TSLA', Value: '{"state":"review","reason":"repeated_fallback"}', Type: 'String', Overwrite: true }));
    ssm.destroy();
    await afterTtl();
    const gated = await placeOrder('TSLA');
    const listed = await cli('review');

    const cleared = await cli('review', 'clear', 'tsla');
    await afterTtl();
    const back = await placeOrder('TSLA');

    expect(gated).toMatchObject({ execution_route: 'alpaca_gated', execution_route_reason: 'symbol_manual_review' });
    expect(listed.out).toContain('TSLA');
    expect(cleared).toMatchObject({ code: 0, out: 'TSLA: manual review cleared; LEAN may take its orders again\n' });
    expect(back).toMatchObject({ execution_route: 'lean' });
  });

  it('refuses review clear without a symbol with exit code 2', async () => {
    const answer = await cli('review', 'clear');

    expect(answer.code).toBe(2);
    expect(answer.err).toContain('review clear needs a SYMBOL');
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

  it('prints the whole row of one order', async () => {
    const placed = await placeOrder();

    const answer = await cli('order', String(placed.client_order_id));

    expect(answer.code).toBe(0);
    expect(JSON.parse(answer.out)).toMatchObject({ client_order_id: placed.client_order_id, execution_route: 'lean', status: 'accepted' });
  });

  it('exits 1 with a clear message for an order that does not exist', async () => {
    const answer = await cli('order', 'no-such-order');

    expect(answer.code).toBe(1);
    expect(answer.err).toContain('no order with client_order_id no-such-order');
  });
});
