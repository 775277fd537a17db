import { parseArgs } from 'node:util';
import { version } from '../../package.json';
import { provenanceTableName } from '../../functions/adapters/provenance-table';
import type { ExecutionRoute, OrderStatus } from '../../functions/core/execution';
import type { OrderFilter } from './provenance-queries';
import { isKnownStage, KNOWN_STAGES, type CliStage } from './stages';

const USAGE = `lean-router: operator commands for the order router, against the local stack or a deployed stage

usage: lean-router <command> [options]

commands:
  status                    what the routers make of the control values now: kill switch, policy,
                            runner health and whether it is stale, manual reviews, the LEAN error
                            rate the next trip is judged on, and (deployed stages) the stage's
                            CloudWatch alarms in ALARM
  kill --reason TEXT        switch LEAN off for every order (kill switch on)
  unkill [--reason TEXT]    switch LEAN back on (kill switch off); automatic trips wait for this
  review                    symbols in manual review
  review clear SYMBOL       end a symbol's manual review; its fallback count starts again
  orders                    recent orders as a table, newest first
      --symbol SYM  --route lean|alpaca|alpaca_fallback|alpaca_gated|none
      --status pending|accepted|rejected|failed|unknown
      --since 15m|2h|1d|<ISO time> (default 24h)  --limit N (1-10000, default 50)
  order CLIENT_ORDER_ID     one order's whole provenance row
  parity                    the parity report: routed (LEAN) against non-routed (Alpaca) orders,
                            both cohorts' figures side by side and each check PASS or FAIL
      --strategy ID   one strategy's orders (default: all)
      --since 7d|24h|<ISO time> (default 7d; up to now)
      --compare STAGE,STAGE   the stages side by side, e.g. paper,live (each its own table;
                      instead of --stage and --table)
  strategy list             every strategies/<strategy_id> parameter of the stage: state (shadow,
                            enabled, blocked), reason, who set it and when
  strategy show ID          one strategy's state and its parity report on the stage
  strategy enable ID        let the strategy's orders use LEAN (state enabled) if its parity
                            checks pass on the stage; refused, naming each failing check, until
                            they do. --stage live: its paper report (lean-router-paper-provenance)
                            must pass first. The only way to lift a block
  strategy disable ID       back to shadow: LEAN not used, its orders are the control cohort
  strategy block ID --reason TEXT
                            blocked: LEAN refused, latched until an enable passes the checks
      --since 7d|24h|<ISO time>   the window show and enable read (default 7d; up to now)
      --reason TEXT   why (enable, disable: optional; block: required)
  cancel CLIENT_ORDER_ID    cancel an order through the order API (DELETE /orders/{id}), so the
                            router's rules pick the broker and the row records it: LEAN's cancel
                            for a LEAN order, Alpaca's for the others and whenever LEAN is gated
      --api-url URL   the stage's order API (deployed stages: else env LEAN_ROUTER_API_URL, else
                      the ApiUrl output of stack lean-router-<stage>; local: 127.0.0.1, port
                      LOCAL_API_PORT, default 3000); deployed requests are signed (SigV4, IAM)

options:
  --stage NAME    ${KNOWN_STAGES.join(', ')} (default local); env LEAN_ROUTER_STAGE
  --table NAME    provenance table (orders, order, status, parity, strategy show/enable); env
                  PROVENANCE_TABLE_NAME, default lean-router-<stage>-provenance
  --by NAME       who is acting, recorded by kill, unkill and strategy (default $USER)
  --json          one JSON document on stdout instead of text
  -h, --help      this help
  --version       the version

kill when the switch is already on, unkill when it is already off and review clear of a symbol
not in review write nothing and say so. kill, unkill and review first read the stage's
kill-switch parameter: where there is none (the stage is not deployed in this account and
region, or the parameter was deleted) they exit 1 and write nothing. status reports that state
(the routers keep LEAN off) with the alarms and parameters it finds.

parity exits 0 when every check passes in every stage shown, and 1 when a check fails, the read
stopped at TRADING_PARITY_MAX_ROWS (truncated), or a stage could not be read. Thresholds:
TRADING_PARITY_MIN_ORDERS, TRADING_PARITY_MAX_FILL_RATE_DIFF, TRADING_PARITY_MAX_SLIPPAGE_DIFF_BPS.

strategy enable, disable and block read the parameter first: a strategy already in that state
writes nothing and says so. enable exits 1 and writes nothing while a check fails, the report is
truncated, or (live) the paper report fails; a blocked strategy stays blocked until then. Like
kill, the strategy commands refuse a stage without its kill-switch parameter. strategy show exits
0 whatever the verdict (parity's exit code is the verdict).

cancel prints what the order API answered in words (--json: its body as is). It exits 0 when a
broker took the cancel, now (202) or on an earlier call (200, nothing sent again), and 1 when the
order is not canceled by this call: no such order (404), nothing left to cancel or not cancellable
yet (409), no broker took it (502), the table unavailable (503), or no answer (run it again: once
a broker has taken the cancel, a repeat asks no broker again).

exit codes: 0 done, or nothing to change; 1 the stage could not be used (not running, not
deployed in this account and region, a call failed), no such order, the order not canceled, a
parity check failed, or strategy enable refused; 2 usage error.

With --stage local the commands talk to npm start's endpoints (127.0.0.1, ports from
LOCAL_DYNAMODB_PORT / LOCAL_SSM_PORT). Otherwise the standard AWS configuration applies
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SSM ...).`;

/** Output sinks, injectable for tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** One operator command, validated: everything a usage error can be about is settled here. */
export type CliCommand =
  | { readonly name: 'status' }
  | { readonly name: 'kill' | 'unkill'; readonly reason: string; readonly by: string }
  | { readonly name: 'review' }
  | { readonly name: 'review clear'; readonly symbol: string }
  | { readonly name: 'orders'; readonly filter: OrderFilter }
  | { readonly name: 'order'; readonly clientOrderId: string }
  | {
      readonly name: 'parity';
      readonly strategyId?: string;
      /** ISO-8601 UTC bounds of `created_at`, both inclusive. */
      readonly since: string;
      readonly until: string;
      /** `--compare`: the stages side by side, each read from its own table; absent, the request's stage alone. */
      readonly compare?: readonly CliStage[];
    }
  | { readonly name: 'strategy list' }
  | {
      readonly name: 'strategy show';
      readonly strategyId: string;
      /** ISO-8601 UTC bounds of the parity report's window, both inclusive. */
      readonly since: string;
      readonly until: string;
    }
  | {
      readonly name: 'strategy enable';
      readonly strategyId: string;
      /** Absent: the CLI says the checks passed. */
      readonly reason?: string;
      readonly by: string;
      readonly since: string;
      readonly until: string;
    }
  | { readonly name: 'strategy disable' | 'strategy block'; readonly strategyId: string; readonly reason: string; readonly by: string }
  | { readonly name: 'cancel'; readonly clientOrderId: string; readonly apiUrl?: string };

/** A command and where it runs. */
export interface CliRequest {
  readonly command: CliCommand;
  readonly stage: CliStage;
  readonly tableName: string;
  readonly json: boolean;
}

/** Environment variables, as `process.env` gives them. */
export type CliEnv = Readonly<Record<string, string | undefined>>;

const OPTIONS = {
  stage: { type: 'string' },
  table: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  symbol: { type: 'string' },
  route: { type: 'string' },
  status: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
  reason: { type: 'string' },
  by: { type: 'string' },
  'api-url': { type: 'string' },
  strategy: { type: 'string' },
  compare: { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;

/** Options every command takes. */
const GLOBAL_OPTIONS: readonly OptionName[] = ['stage', 'json', 'help', 'version'];

/** Each command's own options; any other is a usage error rather than silently ignored. */
const COMMAND_OPTIONS = {
  status: ['table'],
  kill: ['reason', 'by'],
  unkill: ['reason', 'by'],
  review: [],
  orders: ['table', 'symbol', 'route', 'status', 'since', 'limit'],
  order: ['table'],
  cancel: ['api-url'],
  parity: ['table', 'strategy', 'since', 'compare'],
  strategy: ['table', 'since', 'reason', 'by'],
} as const satisfies Record<string, readonly OptionName[]>;

type CommandWord = keyof typeof COMMAND_OPTIONS;

/** `strategy`'s subcommands and the options each takes, out of `COMMAND_OPTIONS.strategy`. */
const STRATEGY_SUBCOMMANDS = {
  list: [],
  show: ['table', 'since'],
  enable: ['table', 'since', 'reason', 'by'],
  disable: ['reason', 'by'],
  block: ['reason', 'by'],
} as const satisfies Record<string, readonly (typeof COMMAND_OPTIONS.strategy)[number][]>;

type StrategySubcommand = keyof typeof STRATEGY_SUBCOMMANDS;

// Keyed by the provenance types, so a new route or status fails the typecheck until `--route`/`--status` accept it.
const ROUTES = { lean: true, alpaca: true, alpaca_fallback: true, alpaca_gated: true, none: true } as const satisfies Record<ExecutionRoute, true>;
const STATUSES = { pending: true, accepted: true, rejected: true, failed: true, unknown: true } as const satisfies Record<OrderStatus, true>;

/** A usage mistake: one line, exit code 2. */
class UsageError extends Error {}

/**
 * Runs the CLI; resolves to the process exit code. Arguments are checked here, before anything
 * talks to a stage; the commands and the AWS SDK load only once there is one to run, so help,
 * the version and usage errors answer at once.
 */
export async function runCli(argv: readonly string[], env: CliEnv, io: CliIo): Promise<number> {
  let request: CliRequest | 'help' | 'version';
  let json = false;
  try {
    const parsed = parse(argv);
    json = parsed.values.json === true;
    request = toRequest(parsed, env, new Date());
    if (typeof request === 'object' && request.command.name === 'cancel') await refuseMalformedClientOrderId(request.command.clientOrderId);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`lean-router: ${error.message} (see lean-router --help)`);
    return 2;
  }
  if (request === 'help') {
    io.out(USAGE);
    return 0;
  }
  if (request === 'version') {
    io.out(json ? JSON.stringify({ version }) : version);
    return 0;
  }
  const { runCommand } = await import('./commands');
  return runCommand(request, env, io);
}

type Parsed = { values: Partial<Record<OptionName, string | boolean>>; positionals: string[] };

function parse(argv: readonly string[]): Parsed {
  // Help wins over anything else on the line, as in most CLIs.
  const beforeDashes = argv.indexOf('--') === -1 ? argv : argv.slice(0, argv.indexOf('--'));
  if (beforeDashes.includes('-h') || beforeDashes.includes('--help')) return { values: { help: true }, positionals: [] };
  try {
    return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError(parseErrorMessage(error));
  }
}

/** node:util's parse errors, in one short line. */
function parseErrorMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const option = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option !== undefined) return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option !== undefined) {
    return OPTIONS[option.replace(/^-+/, '') as OptionName]?.type === 'boolean' ? `${option} takes no value` : `${option} needs a value`;
  }
  return message.split('. ')[0] ?? message;
}

function toRequest({ values, positionals }: Parsed, env: CliEnv, now: Date): CliRequest | 'help' | 'version' {
  const [word, ...args] = positionals;
  if (values.help === true || word === 'help') return 'help';
  if (values.version === true) return 'version';
  if (word === undefined) throw new UsageError('no command given');
  if (!isCommandWord(word)) throw new UsageError(`unknown command ${word}`);
  const allowed: readonly OptionName[] = [...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[word]];
  const stray = (Object.keys(values) as OptionName[]).find((option) => !allowed.includes(option));
  if (stray !== undefined) throw new UsageError(`${word} does not take --${stray}`);
  const text = (name: OptionName): string | undefined => {
    const value = values[name];
    return typeof value === 'string' ? value : undefined;
  };

  const command = toCommand(word, args, text, env, now);
  if (command.name === 'parity' && command.compare !== undefined) {
    const extra = (['stage', 'table'] as const).find((option) => text(option) !== undefined);
    if (extra !== undefined) throw new UsageError(`--compare names the stages and reads each one's table: drop --${extra}`);
  }
  const stage = command.name === 'parity' && command.compare?.[0] !== undefined ? command.compare[0] : toStage(text('stage'), env);
  return {
    command,
    stage,
    tableName: text('table') ?? env.PROVENANCE_TABLE_NAME ?? provenanceTableName(stage),
    json: values.json === true,
  };
}

function isCommandWord(word: string): word is CommandWord {
  return Object.hasOwn(COMMAND_OPTIONS, word);
}

function toCommand(word: CommandWord, args: readonly string[], text: (name: OptionName) => string | undefined, env: CliEnv, now: Date): CliCommand {
  const noArguments = (): void => {
    if (args.length > 0) throw new UsageError(`${word} takes no argument, got ${args.join(' ')}`);
  };
  switch (word) {
    case 'status':
      noArguments();
      return { name: 'status' };
    case 'kill':
    case 'unkill': {
      noArguments();
      const reason = text('reason') ?? (word === 'unkill' ? 'operator re-enabled LEAN' : undefined);
      const why = word === 'kill' ? 'why LEAN is being switched off' : 'why LEAN is being switched back on';
      if (reason === undefined || reason.trim() === '') throw new UsageError(`${word} needs --reason "${why}"`);
      const by = text('by') ?? env.USER ?? 'operator';
      if (by.trim() === '') throw new UsageError(`--by needs a name`);
      return { name: word, reason: reason.trim(), by: by.trim() };
    }
    case 'review': {
      const [sub, symbol, ...extra] = args;
      if (sub === undefined) return { name: 'review' };
      if (sub !== 'clear') throw new UsageError(`unknown review command ${sub} (review, or review clear SYMBOL)`);
      const normalized = symbol?.trim().toUpperCase();
      if (normalized === undefined || normalized === '') throw new UsageError('review clear needs a SYMBOL');
      if (extra.length > 0) throw new UsageError(`review clear takes one SYMBOL, got ${args.slice(1).join(' ')}`);
      return { name: 'review clear', symbol: normalized };
    }
    case 'orders': {
      noArguments();
      const route = text('route');
      const status = text('status');
      if (route !== undefined && !Object.hasOwn(ROUTES, route)) throw new UsageError(`--route ${route}: use ${Object.keys(ROUTES).join(', ')}`);
      if (status !== undefined && !Object.hasOwn(STATUSES, status)) throw new UsageError(`--status ${status}: use ${Object.keys(STATUSES).join(', ')}`);
      const symbol = text('symbol');
      return {
        name: 'orders',
        filter: {
          ...(symbol === undefined ? {} : { symbol }),
          ...(route === undefined ? {} : { route }),
          ...(status === undefined ? {} : { status }),
          since: parseSince(text('since') ?? '24h', now),
          limit: parseLimit(text('limit')),
        },
      };
    }
    case 'order': {
      const [id, ...extra] = args;
      if (id === undefined || id.trim() === '') throw new UsageError('order needs a client_order_id');
      if (extra.length > 0) throw new UsageError(`order takes one client_order_id, got ${args.join(' ')}`);
      return { name: 'order', clientOrderId: id };
    }
    case 'parity': {
      noArguments();
      const strategyId = text('strategy')?.trim();
      if (strategyId !== undefined && (strategyId === '' || strategyId.length > 128)) throw new UsageError('--strategy needs a strategy_id of 1-128 characters');
      const compare = text('compare');
      return {
        name: 'parity',
        ...(strategyId === undefined ? {} : { strategyId }),
        since: parseSince(text('since') ?? '7d', now),
        until: now.toISOString(),
        ...(compare === undefined ? {} : { compare: parseCompare(compare) }),
      };
    }
    case 'strategy':
      return toStrategyCommand(args, text, env, now);
    case 'cancel': {
      const [id, ...extra] = args;
      if (id === undefined || id.trim() === '') throw new UsageError('cancel needs a client_order_id');
      if (extra.length > 0) throw new UsageError(`cancel takes one client_order_id, got ${args.join(' ')}`);
      const apiUrl = text('api-url');
      if (apiUrl !== undefined && !isHttpUrl(apiUrl)) throw new UsageError(`--api-url ${apiUrl}: use the order API's http(s) URL, e.g. the stack's ApiUrl output`);
      return { name: 'cancel', clientOrderId: id, ...(apiUrl === undefined ? {} : { apiUrl }) };
    }
  }
}

/** `strategy list|show|enable|disable|block [ID]`, each with only its own options. */
function toStrategyCommand(args: readonly string[], text: (name: OptionName) => string | undefined, env: CliEnv, now: Date): CliCommand {
  const [sub, id, ...extra] = args;
  const known = Object.keys(STRATEGY_SUBCOMMANDS).join(', ');
  if (sub === undefined) throw new UsageError(`strategy needs a subcommand: ${known}`);
  if (!Object.hasOwn(STRATEGY_SUBCOMMANDS, sub)) throw new UsageError(`unknown strategy command ${sub} (${known})`);
  const subcommand = sub as StrategySubcommand;
  const allowed: readonly OptionName[] = STRATEGY_SUBCOMMANDS[subcommand];
  const stray = COMMAND_OPTIONS.strategy.find((option) => text(option) !== undefined && !allowed.includes(option));
  if (stray !== undefined) throw new UsageError(`strategy ${subcommand} does not take --${stray}`);
  if (subcommand === 'list') {
    if (id !== undefined) throw new UsageError(`strategy list takes no argument, got ${args.slice(1).join(' ')}`);
    return { name: 'strategy list' };
  }
  const strategyId = id?.trim();
  if (strategyId === undefined || strategyId === '' || strategyId.length > 128) throw new UsageError(`strategy ${subcommand} needs a strategy_id of 1-128 characters`);
  if (extra.length > 0) throw new UsageError(`strategy ${subcommand} takes one strategy_id, got ${args.slice(1).join(' ')}`);
  const window = { since: parseSince(text('since') ?? '7d', now), until: now.toISOString() };
  if (subcommand === 'show') return { name: 'strategy show', strategyId, ...window };
  const by = (text('by') ?? env.USER ?? 'operator').trim();
  if (by === '') throw new UsageError('--by needs a name');
  const reason = text('reason')?.trim();
  if (reason === '') throw new UsageError(`--reason needs a text`);
  if (subcommand === 'enable') return { name: 'strategy enable', strategyId, by, ...window, ...(reason === undefined ? {} : { reason }) };
  if (subcommand === 'block') {
    if (reason === undefined) throw new UsageError('strategy block needs --reason "why LEAN is refused to this strategy"');
    return { name: 'strategy block', strategyId, reason, by };
  }
  return { name: 'strategy disable', strategyId, reason: reason ?? 'operator moved the strategy to shadow', by };
}

/**
 * Refuses an id the order API would refuse, before any call, by the API's own rule. That rule's
 * module brings zod, so it loads only for cancel: help and usage errors stay quick.
 */
async function refuseMalformedClientOrderId(id: string): Promise<void> {
  const { CLIENT_ORDER_ID_PATTERN } = await import('../../functions/core/order-request');
  if (!CLIENT_ORDER_ID_PATTERN.test(id)) throw new UsageError(`cancel ${id}: a client_order_id is 1-128 characters of A-Z a-z 0-9 . _ : -`);
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function toStage(option: string | undefined, env: CliEnv): CliStage {
  const stage = option ?? env.LEAN_ROUTER_STAGE ?? 'local';
  if (isKnownStage(stage)) return stage;
  const given = option === undefined ? `LEAN_ROUTER_STAGE=${stage}` : `--stage ${stage}`;
  throw new UsageError(`${given} is not a stage (known: ${KNOWN_STAGES.join(', ')})`);
}

/** `15m`, `2h`, `1d` before `now`, or an ISO-8601 time, as an ISO-8601 UTC string. */
function parseSince(value: string, now: Date): string {
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (relative) {
    const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 's' | 'm' | 'h' | 'd'];
    return new Date(now.getTime() - Number(relative[1]) * unitMs).toISOString();
  }
  const absolute = new Date(value);
  if (Number.isNaN(absolute.getTime())) throw new UsageError(`--since ${value}: use 15m, 2h, 1d or an ISO time`);
  return absolute.toISOString();
}

/** `paper,live`: two or more distinct known stages. */
function parseCompare(value: string): CliStage[] {
  const stages = value.split(',').map((stage) => stage.trim());
  const unknown = stages.find((stage) => !isKnownStage(stage));
  if (unknown !== undefined) throw new UsageError(`--compare ${value}: ${unknown === '' ? 'an empty stage' : `${unknown} is not a stage`} (known: ${KNOWN_STAGES.join(', ')})`);
  if (stages.length < 2 || new Set(stages).size !== stages.length) throw new UsageError(`--compare ${value}: name two or more different stages, e.g. paper,live`);
  return stages as CliStage[];
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return 50;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError(`--limit ${value}: use a whole number from 1 to 10000`);
  return limit;
}
