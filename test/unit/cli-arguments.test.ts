import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../lib/cli/cli';

/**
 * What `lean-router` answers before it talks to any stage: help, the version and usage errors.
 * None of these reaches a stage, so no stack runs here: one would be an error in itself.
 */

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

async function cli(argv: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, env, { out: (text) => (out += `${text}\n`), err: (text) => (err += `${text}\n`) });
  return { code, out, err };
}

describe('lean-router help and version', () => {
  it.each([['-h'], ['--help'], ['help'], ['kill', '--help'], ['status', '--no-such-option', '-h']])('prints the help with exit 0 for %s', async (...argv) => {
    const answer = await cli(argv);

    expect(answer).toMatchObject({ code: 0, err: '' });
    expect(answer.out).toContain('usage: lean-router <command> [options]');
  });

  it('prints the version from package.json', async () => {
    expect(await cli(['--version'])).toEqual({ code: 0, out: `${VERSION}\n`, err: '' });
  });

  it('prints the version as JSON with --json', async () => {
    const answer = await cli(['--version', '--json']);

    expect(JSON.parse(answer.out)).toEqual({ version: VERSION });
  });
});

describe('lean-router usage errors', () => {
  it.each([
    [[], 'no command given'],
    [['stauts'], 'unknown command stauts'],
    [['status', '--frobnicate'], 'unknown option --frobnicate'],
    [['status', '--stage'], '--stage needs a value'],
    [['status', '--json=yes'], '--json takes no value'],
    [['orders', '--reason', 'x'], 'orders does not take --reason'],
    [['status', 'now'], 'status takes no argument, got now'],
    [['order'], 'order needs a client_order_id'],
    [['order', 'a', 'b'], 'order takes one client_order_id, got a b'],
    [['kill'], 'kill needs --reason "why LEAN is being switched off"'],
    [['kill', '--reason', '  '], 'kill needs --reason "why LEAN is being switched off"'],
    [['unkill', '--reason', ''], 'unkill needs --reason "why LEAN is being switched back on"'],
    [['review', 'purge'], 'unknown review command purge (review, or review clear SYMBOL)'],
    [['review', 'clear'], 'review clear needs a SYMBOL'],
    [['orders', '--route', 'leen'], '--route leen: use lean, alpaca, alpaca_fallback, alpaca_gated, none'],
    [['orders', '--status', 'done'], '--status done: use pending, accepted, rejected, failed, unknown'],
    [['orders', '--since', 'yesterday'], '--since yesterday: use 15m, 2h, 1d or an ISO time'],
    [['orders', '--limit', '0'], '--limit 0: use a whole number from 1 to 10000'],
    [['cancel'], 'cancel needs a client_order_id'],
    [['cancel', 'a', 'b'], 'cancel takes one client_order_id, got a b'],
    [['cancel', 'bad id!'], 'cancel bad id!: a client_order_id is 1-128 characters of A-Z a-z 0-9 . _ : -'],
    [['cancel', 'x'.repeat(129)], `cancel ${'x'.repeat(129)}: a client_order_id is 1-128 characters of A-Z a-z 0-9 . _ : -`],
    [['cancel', 'a', '--table', 't'], 'cancel does not take --table'],
    [['cancel', 'a', '--api-url'], '--api-url needs a value'],
    [['cancel', 'a', '--api-url', 'ftp://example.com'], "--api-url ftp://example.com: use the order API's http(s) URL, e.g. the stack's ApiUrl output"],
    [['order', 'a', '--api-url', 'http://127.0.0.1:3000'], 'order does not take --api-url'],
    [['parity', 'now'], 'parity takes no argument, got now'],
    [['parity', '--since', 'last week'], '--since last week: use 15m, 2h, 1d or an ISO time'],
    [['parity', '--strategy', ' '], '--strategy needs a strategy_id of 1-128 characters'],
    [['parity', '--compare', 'paper'], '--compare paper: name two or more different stages, e.g. paper,live'],
    [['parity', '--compare', 'paper,paper'], '--compare paper,paper: name two or more different stages, e.g. paper,live'],
    [['parity', '--compare', 'paper,prod'], '--compare paper,prod: prod is not a stage (known: local, paper, live)'],
    [['parity', '--compare', 'paper,live', '--stage', 'paper'], "--compare names the stages and reads each one's table: drop --stage"],
    [['parity', '--compare', 'paper,live', '--table', 't'], "--compare names the stages and reads each one's table: drop --table"],
    [['parity', '--symbol', 'AAPL'], 'parity does not take --symbol'],
    [['orders', '--strategy', 's'], 'orders does not take --strategy'],
    [['strategy'], 'strategy needs a subcommand: list, show, enable, disable, block'],
    [['strategy', 'allow', 'm1'], 'unknown strategy command allow (list, show, enable, disable, block)'],
    [['strategy', 'list', 'm1'], 'strategy list takes no argument, got m1'],
    [['strategy', 'list', '--since', '1d'], 'strategy list does not take --since'],
    [['strategy', 'show'], 'strategy show needs a strategy_id of 1-128 characters'],
    [['strategy', 'enable', 'x'.repeat(129)], 'strategy enable needs a strategy_id of 1-128 characters'],
    [['strategy', 'enable', 'm1', 'm2'], 'strategy enable takes one strategy_id, got m1 m2'],
    [['strategy', 'show', 'm1', '--reason', 'x'], 'strategy show does not take --reason'],
    [['strategy', 'disable', 'm1', '--since', '1d'], 'strategy disable does not take --since'],
    [['strategy', 'block', 'm1'], 'strategy block needs --reason "why LEAN is refused to this strategy"'],
    [['strategy', 'block', 'm1', '--reason', ' '], '--reason needs a text'],
    [['strategy', 'enable', 'm1', '--by', ''], '--by needs a name'],
    [['strategy', 'enable', 'm1', '--since', 'soon'], '--since soon: use 15m, 2h, 1d or an ISO time'],
    [['strategy', 'show', 'm1', '--strategy', 'm1'], 'strategy does not take --strategy'],
  ])('%j: one line "%s", exit 2', async (argv, problem) => {
    const answer = await cli(argv);

    expect(answer).toEqual({ code: 2, out: '', err: `lean-router: ${problem} (see lean-router --help)\n` });
  });

  it('refuses an unknown stage with exit 2 naming the known ones', async () => {
    const answer = await cli(['kill', '--stage', 'papr', '--reason', 'typo']);

    expect(answer).toEqual({ code: 2, out: '', err: 'lean-router: --stage papr is not a stage (known: local, paper, live) (see lean-router --help)\n' });
  });

  it('refuses an unknown stage from LEAN_ROUTER_STAGE, naming the variable', async () => {
    const answer = await cli(['status'], { LEAN_ROUTER_STAGE: 'prod' });

    expect(answer).toEqual({ code: 2, out: '', err: 'lean-router: LEAN_ROUTER_STAGE=prod is not a stage (known: local, paper, live) (see lean-router --help)\n' });
  });
});

describe('lean-router parity arguments', () => {
  it('documents parity, its options and its exit codes in the help', async () => {
    const answer = await cli(['--help']);

    expect(answer.out).toMatch(/^ {2}parity +the parity report/m);
    expect(answer.out).toContain('--compare STAGE,STAGE');
    expect(answer.out).toMatch(/parity exits 0 when every check passes in every stage shown, and 1 when a check fails/);
  });

  it('refuses an invalid threshold variable with exit 2 before reading any stage', async () => {
    const answer = await cli(['parity'], { TRADING_PARITY_MIN_ORDERS: 'many', LOCAL_DYNAMODB_PORT: '1' });

    expect(answer).toEqual({ code: 2, out: '', err: 'lean-router parity: TRADING_PARITY_MIN_ORDERS="many" is invalid (Invalid input: expected number, received NaN)\n' });
  });
});

describe('lean-router strategy arguments', () => {
  it('documents each strategy command, that enable is refused until the checks pass, and that it lifts a block', async () => {
    const answer = await cli(['--help']);

    for (const sub of ['list', 'show ID', 'enable ID', 'disable ID', 'block ID --reason TEXT']) expect(answer.out).toMatch(new RegExp(`^ {2}strategy ${sub}`, 'm'));
    expect(answer.out).toContain('refused, naming each failing check');
    expect(answer.out).toContain('must pass first. The only way to lift a block');
  });

  it('refuses an invalid threshold variable with exit 2 before reading any stage', async () => {
    const answer = await cli(['strategy', 'enable', 'm1'], { TRADING_PARITY_MAX_SLIPPAGE_DIFF_BPS: '-1', LOCAL_DYNAMODB_PORT: '1', LOCAL_SSM_PORT: '1' });

    expect(answer.code).toBe(2);
    expect(answer.err).toMatch(/^lean-router strategy enable: TRADING_PARITY_MAX_SLIPPAGE_DIFF_BPS="-1" is invalid/);
  });
});

describe('lean-router cancel arguments', () => {
  it('documents cancel, its --api-url and its exit codes in the help', async () => {
    const answer = await cli(['--help']);

    expect(answer.out).toContain('cancel CLIENT_ORDER_ID');
    expect(answer.out).toContain('--api-url URL');
    expect(answer.out).toMatch(/cancel prints what the order API answered[\s\S]*exits 0 when a\s+broker took the cancel/);
  });

  it('refuses a malformed client_order_id with exit 2 before calling the order API', async () => {
    let requests = 0;
    const server = createServer((_request, response) => {
      requests += 1;
      response.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;

      const answer = await cli(['cancel', 'has/slash', '--api-url', `http://127.0.0.1:${port}`]);

      expect(answer.code).toBe(2);
      expect(requests).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
