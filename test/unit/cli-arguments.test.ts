import { readFileSync } from 'node:fs';
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
