import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParametersByPathCommand, SSMClient, type Parameter } from '@aws-sdk/client-ssm';
import { SsmControlPlane } from '../../functions/adapters/ssm-control-plane';
import { controlParameterPrefix } from '../../functions/core/control-parameters';
import { symbolsInReview, type ControlSnapshot } from '../../functions/core/control';
import { describeError } from '../../functions/core/objects';
import { provenanceTableName } from '../../functions/adapters/provenance-table';
import type { ProvenanceRow } from '../../functions/core/provenance';
import { findOrder, findOrders } from './provenance-queries';
import { textTable } from './text-table';

const USAGE = `lean-router: operator commands, against the local stack or AWS

usage: lean-router <command> [options]

commands:
  orders                 recent orders as a table (newest first)
      --symbol SYM  --route lean|alpaca|alpaca_fallback|alpaca_gated|none
      --status pending|accepted|rejected|failed|unknown
      --since 15m|2h|1d|<ISO time> (default 24h)  --limit N (default 50)
  order <client_order_id> the whole row
  status                 control values under /lean-router/<stage>/ as they stand
  kill --reason TEXT     switch LEAN off for every order (kill switch on), now
  unkill [--reason TEXT] switch LEAN back on (kill switch off); automatic trips wait for this
  review                 symbols in manual review
  review clear SYMBOL    end a symbol's manual review; its fallback count starts again

options:
  --stage NAME           local (default), paper or live; env LEAN_ROUTER_STAGE
  --table NAME           provenance table; env PROVENANCE_TABLE_NAME, default lean-router-<stage>-provenance
  --json                 machine-readable output
  --by NAME              who is acting, recorded with kill/unkill (default $USER)
  --help

With --stage local the commands talk to npm start's endpoints (127.0.0.1, ports from
LOCAL_DYNAMODB_PORT / LOCAL_SSM_PORT). Otherwise the standard AWS configuration applies
(AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL_SSM ...).`;

/** Output sinks, injectable for tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** A usage mistake: exit code 2 and the usage line. */
class UsageError extends Error {}

/** Runs the CLI; resolves to the process exit code. */
export async function runCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        stage: { type: 'string' },
        table: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
        symbol: { type: 'string' },
        route: { type: 'string' },
        status: { type: 'string' },
        since: { type: 'string' },
        limit: { type: 'string' },
        reason: { type: 'string' },
        by: { type: 'string' },
      },
    });
  } catch (error) {
    io.err(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    io.out(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const stage = values.stage ?? env.LEAN_ROUTER_STAGE ?? 'local';
  const tableName = values.table ?? env.PROVENANCE_TABLE_NAME ?? provenanceTableName(stage);
  const clients = awsClients(stage, env);
  try {
    switch (command) {
      case 'orders': {
        const rows = await findOrders(clients.dynamoDb(), tableName, {
          ...(values.symbol === undefined ? {} : { symbol: values.symbol }),
          ...(values.route === undefined ? {} : { route: values.route }),
          ...(values.status === undefined ? {} : { status: values.status }),
          since: parseSince(values.since ?? '24h', new Date()),
          limit: parseLimit(values.limit),
        });
        io.out(values.json ? JSON.stringify(rows, null, 2) : ordersTable(rows));
        return 0;
      }
      case 'order': {
        const id = rest[0];
        if (id === undefined) throw new UsageError('order needs a client_order_id');
        const row = await findOrder(clients.dynamoDb(), tableName, id);
        if (row === undefined) {
          io.err(`no order with client_order_id ${id} in ${tableName}`);
          return 1;
        }
        io.out(JSON.stringify(row, null, 2));
        return 0;
      }
      case 'kill':
      case 'unkill': {
        const reason = values.reason ?? (command === 'unkill' ? 'operator re-enabled LEAN' : undefined);
        if (reason === undefined || reason.trim() === '') throw new UsageError('kill needs --reason "why LEAN is being switched off"');
        const plane = controlPlane(clients.ssm(), stage);
        const state = command === 'kill' ? 'on' : 'off';
        await plane.setKillSwitch(state, reason, values.by ?? env.USER ?? 'operator');
        io.out(`${plane.parameterNames.killSwitch} is ${state}: LEAN is ${state === 'on' ? 'off for every order' : 'allowed again'} (routers see it within their cache TTL, 5 s by default)`);
        return 0;
      }
      case 'review': {
        const plane = controlPlane(clients.ssm(), stage);
        if (rest[0] === 'clear') {
          const symbol = rest[1]?.trim().toUpperCase();
          if (symbol === undefined || symbol === '') throw new UsageError('review clear needs a SYMBOL');
          await plane.clearSymbolReview(symbol);
          io.out(`${symbol}: manual review cleared; LEAN may take its orders again`);
          return 0;
        }
        if (rest[0] !== undefined) throw new UsageError(`unknown review command ${rest[0]}`);
        const reviews = [...(await plane.readFresh()).reviews.values()].filter((review) => review.state === 'review');
        io.out(
          values.json
            ? JSON.stringify(reviews, null, 2)
            : reviews.length === 0
              ? 'no symbol is in manual review'
              : textTable(['symbol', 'since', 'reason'], reviews.map((review) => [review.symbol, review.changed_at, review.reason ?? ''])),
        );
        return 0;
      }
      case 'status': {
        const prefix = controlParameterPrefix(stage);
        const parameters = await readControlValues(clients.ssm(), prefix);
        if (values.json) {
          io.out(JSON.stringify(Object.fromEntries(parameters.map((p) => [p.Name, p.Type === 'SecureString' ? '(secure)' : p.Value])), null, 2));
        } else {
          io.out(describeControl(await controlPlane(clients.ssm(), stage).readFresh(), new Date()));
          io.out('');
          io.out(
            parameters.length === 0
              ? `no control values under ${prefix}`
              : textTable(
                  ['parameter', 'value', 'version', 'modified'],
                  parameters.map((p) => [
                    p.Name ?? '',
                    p.Type === 'SecureString' ? '(secure)' : (p.Value ?? ''),
                    String(p.Version ?? ''),
                    p.LastModifiedDate?.toISOString() ?? '',
                  ]),
                ),
          );
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    io.err(`lean-router ${command}: ${describeError(error)}`);
    return 1;
  } finally {
    clients.destroy();
  }
}

/** What the routers make of the control values, in the words an operator needs at 3 a.m. */
export function describeControl(control: ControlSnapshot, now: Date): string {
  const { killSwitch, policy, leanHealth } = control;
  const why = [killSwitch.reason, killSwitch.set_by && `by ${killSwitch.set_by}`, killSwitch.set_at && `at ${killSwitch.set_at}`].filter(Boolean).join(', ');
  const lean =
    killSwitch.state === 'on'
      ? `LEAN: OFF for every order (kill switch on${killSwitch.source === 'parameter' ? '' : `, ${killSwitch.source}`}${why === '' ? '' : `: ${why}`})`
      : 'LEAN: allowed (kill switch off)';
  const policyLine =
    policy.kind === 'absent'
      ? 'policy: from the functions\' environment (no policy parameter)'
      : policy.kind === 'valid'
        ? `policy: parameter overrides the environment: ${JSON.stringify(policy.value, (_key, value: unknown) => (value instanceof Set ? [...value] : value))}`
        : `policy: INVALID parameter, orders route away from LEAN: ${policy.problem}`;
  const age = leanHealth?.checked_at ? `, checked ${Math.round((now.getTime() - Date.parse(leanHealth.checked_at)) / 1000)} s ago` : '';
  const health = `runner health: ${leanHealth?.status ?? 'never written'}${age}${leanHealth?.detail ? ` (${leanHealth.detail})` : ''}`;
  const inReview = symbolsInReview(control);
  const reviews = `manual review: ${inReview.length === 0 ? 'none' : inReview.join(', ')}`;
  return [lean, policyLine, health, reviews].join('\n');
}

/** AWS clients, each built on first use and shared by the command; local stage means npm start's loopback endpoints and dummy keys. */
function awsClients(stage: string, env: Readonly<Record<string, string | undefined>>) {
  const local = stage === 'local';
  const base = local ? { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {};
  let dynamoDb: DynamoDBClient | undefined;
  let ssm: SSMClient | undefined;
  return {
    dynamoDb: (): DynamoDBClient =>
      (dynamoDb ??= new DynamoDBClient({
        ...base,
        ...(local ? { endpoint: env.AWS_ENDPOINT_URL_DYNAMODB ?? `http://127.0.0.1:${env.LOCAL_DYNAMODB_PORT ?? 8000}` } : {}),
      })),
    ssm: (): SSMClient => (ssm ??= new SSMClient({ ...base, ...(local ? { endpoint: env.AWS_ENDPOINT_URL_SSM ?? `http://127.0.0.1:${env.LOCAL_SSM_PORT ?? 4583}` } : {}) })),
    destroy: (): void => {
      dynamoDb?.destroy();
      ssm?.destroy();
    },
  };
}

function controlPlane(ssm: SSMClient, stage: string): SsmControlPlane {
  return new SsmControlPlane({ ssm, prefix: controlParameterPrefix(stage), ttlMs: 0 });
}

async function readControlValues(ssm: SSMClient, prefix: string): Promise<Parameter[]> {
  const parameters: Parameter[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ssm.send(new GetParametersByPathCommand({ Path: prefix, Recursive: true, WithDecryption: false, NextToken: nextToken }));
    parameters.push(...(out.Parameters ?? []));
    nextToken = out.NextToken;
  } while (nextToken !== undefined);
  return parameters;
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

function parseLimit(value: string | undefined): number {
  if (value === undefined) return 50;
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new UsageError(`--limit ${value}: use a whole number from 1 to 10000`);
  return limit;
}

function ordersTable(rows: readonly ProvenanceRow[]): string {
  if (rows.length === 0) return 'no orders match';
  return textTable(
    ['created_at', 'client_order_id', 'symbol', 'side', 'qty', 'status', 'expected', 'route', 'reason', 'review'],
    rows.map((row) => [
      row.created_at,
      row.client_order_id,
      row.symbol,
      row.side,
      row.qty ?? `$${row.notional ?? ''}`,
      row.status,
      row.execution_expected_adapter,
      row.execution_route ?? '-',
      row.execution_fallback_reason ?? row.execution_route_reason ?? '-',
      row.review_required ? 'YES' : '',
    ]),
  );
}
