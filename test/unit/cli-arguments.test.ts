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
