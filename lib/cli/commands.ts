import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParametersByPathCommand, SSMClient, type Parameter } from '@aws-sdk/client-ssm';
import { DynamoDbParityReader } from '../../functions/adapters/dynamodb-parity-reader';
import { DynamoDbProvenanceIndex } from '../../functions/adapters/dynamodb-provenance-index';
import { provenanceTableName } from '../../functions/adapters/provenance-table';
import { SsmControlPlane } from '../../functions/adapters/ssm-control-plane';
import { DEFAULT_GOVERNANCE, loadHealthCheckConfig, loadRouterConfig, type HealthCheckConfig } from '../../functions/core/config';
import { controlParameterPrefix, manualReviewParameterName, strategyParameterName } from '../../functions/core/control-parameters';
import type { ControlSnapshot, KillSwitch } from '../../functions/core/control';
import { errorRateWindowStart } from '../../functions/core/error-rate-window';
import { describeError } from '../../functions/core/objects';
import { readParityReport, type ParityReport } from '../../functions/core/parity';
import { loadParityConfig, type ParityConfig } from '../../functions/core/parity-config';
import type { StrategyEnablement } from '../../functions/core/strategy-enablement';
import type { ProvenanceRow } from '../../functions/core/provenance';
import type { CliCommand, CliEnv, CliIo, CliRequest } from './run-cli';
import { cancelReport } from './cancel-report';
import { OrderApiNotFound, OrderApiTimeout, orderApiTarget, requestCancel, type OrderApiTarget } from './order-api-client';
import { parityReportText } from './parity-report-text';
import { findOrder, findOrders } from './provenance-queries';
import { alarmNamePrefix } from '../stage-names';
import { stageAlarmsInAlarm } from './stage-alarms';
import { decideEnable, decideSetState, strategyListText, strategyStateLine, type StrategyDecisionApplied } from './strategy-decision';
import { listStrategies, readStrategy } from './strategy-parameters';
import { isDeployedStage, LOCAL_STAGE, type CliStage } from './stages';
import { errorRateTripRule, killSwitchWhy, statusJson, statusText, type AlarmsStatus, type ErrorRateStatus } from './status-report';
import { textTable } from './text-table';

/**
 * The operator commands proper, once `runCli` has checked the arguments: each reads (and at most
 * writes once) through the same adapters the functions use, and answers text or one JSON document.
 */

/** What a command prints: text for a person, a JSON value for `--json`. */
interface Answer {
  readonly text: string;
  readonly json: unknown;
}

/** A command that ran into the stage rather than the arguments: one line, exit code 1. */
class CommandFailure extends Error {}

/** How long one call to a stage may take, SDK retries included: an operator's network, not an order's deadline. */
const CALL_TIMEOUT_MS = 10_000;

/** How soon the routers see a change of the control values, unless TRADING_CONTROL_MAX_AGE_MS says otherwise. */
const SEEN_WITHIN = `routers see it within the control values' maximum age, ${DEFAULT_GOVERNANCE.controlMaxAgeMs / 1000} s by default`;

/**
 * How long a cancel may wait for the order API: longer than API Gateway's 29 s integration
 * limit, so the API's own answer (a 504 at worst) arrives before the CLI gives up.
 */
const CANCEL_TIMEOUT_MS = 35_000;

type CancelCommand = Extract<CliCommand, { name: 'cancel' }>;
type ParityCommand = Extract<CliCommand, { name: 'parity' }>;
type StrategyCommand = Extract<CliCommand, { name: `strategy ${string}` }>;
type StageCommand = Exclude<CliCommand, CancelCommand | ParityCommand | StrategyCommand>;

/** Runs one validated command; resolves to the exit code. */
export async function runCommand(request: CliRequest, env: CliEnv, io: CliIo): Promise<number> {
  const { command } = request;
  if (command.name === 'cancel') return runCancel({ ...request, command }, env, io);
  if (command.name === 'parity') return runParity({ ...request, command }, env, io);
  if (isStrategyCommand(command)) return runStrategy({ ...request, command }, env, io);
  return runStageCommand({ ...request, command }, env, io);
}

/**
 * `cancel`: one `DELETE /orders/{client_order_id}` on the stage's order API, never a broker
 * directly, so the route function picks the broker and writes the row. Every answer of the API is
 * reported (with `--json`, its body as is); exit 0 only when a broker took the cancel.
 */
async function runCancel(request: CliRequest & { readonly command: CancelCommand }, env: CliEnv, io: CliIo): Promise<number> {
  const { command, stage } = request;
  let target: OrderApiTarget | undefined;
  try {
    target = await orderApiTarget(stage, command.apiUrl, env, { timeoutMs: CALL_TIMEOUT_MS });
    const answer = await requestCancel(target, command.clientOrderId, CANCEL_TIMEOUT_MS);
    const report = cancelReport(answer, { clientOrderId: command.clientOrderId, stage, apiUrl: target.url });
    if (request.json && 'json' in answer.body) io.out(JSON.stringify(answer.body.json, null, 2));
    else if (report.exitCode === 0) io.out(report.text);
    else io.err(`lean-router cancel: ${report.text}`);
    return report.exitCode;
  } catch (error) {
    io.err(`lean-router cancel: ${explainCancelFailure(error, request, command.clientOrderId, target)}`);
    return 1;
  }
}

/**
 * `parity`: the report of one stage, or of each `--compare` stage from its own table, read through
 * the indexes. The report is printed whatever its verdict; exit 0 only when every report passed.
 */
async function runParity(request: CliRequest & { readonly command: ParityCommand }, env: CliEnv, io: CliIo): Promise<number> {
  const { command } = request;
  const config = loadParityConfig(env);
  if (config.problems.length > 0) {
    io.err(`lean-router parity: ${config.problems.join('; ')}`);
    return 2;
  }
  const targets = (command.compare ?? [request.stage]).map((stage) => ({ stage, tableName: command.compare === undefined ? request.tableName : provenanceTableName(stage) }));
  const now = new Date();
  const reports: ParityReport[] = [];
  for (const target of targets) {
    const clients = stageClients(target.stage, env);
    try {
      const reader = new DynamoDbParityReader(clients.dynamoDb(), target.tableName, { maxRows: config.maxRows, pageTimeoutMs: CALL_TIMEOUT_MS });
      const query = { stage: target.stage, ...(command.strategyId === undefined ? {} : { strategyId: command.strategyId }), since: command.since, until: command.until };
      reports.push(await readParityReport(reader, query, config.thresholds, now));
    } catch (error) {
      io.err(`lean-router parity: ${target.stage}: ${explainFailure(error, target)}`);
      return 1;
    } finally {
      clients.destroy();
    }
  }
  const json = reports.length === 1 ? reports[0] : { passed: reports.every((report) => report.passed), reports };
  io.out(request.json ? JSON.stringify(json, null, 2) : parityReportText(reports));
  return reports.every((report) => report.passed) ? 0 : 1;
}

function isStrategyCommand(command: CliCommand): command is StrategyCommand {
  return command.name.startsWith('strategy ');
}

/** What a strategy command prints, and whether it was refused (exit 1, nothing written). */
interface StrategyAnswer extends Answer {
  readonly refused: boolean;
}

/**
 * `strategy list|show|enable|disable|block`: the stage's `strategies/<strategy_id>` parameters.
 * Like kill, each first reads the stage's control values and refuses a stage without its
 * kill-switch parameter. A refused enable prints why on stderr (with `--json`, its document on
 * stdout) and exits 1.
 */
async function runStrategy(request: CliRequest & { readonly command: StrategyCommand }, env: CliEnv, io: CliIo): Promise<number> {
  const { command } = request;
  const config = loadParityConfig(env);
  if ((command.name === 'strategy show' || command.name === 'strategy enable') && config.problems.length > 0) {
    io.err(`lean-router ${command.name}: ${config.problems.join('; ')}`);
    return 2;
  }
  const clients = stageClients(request.stage, env);
  try {
    const answer = await executeStrategy(request, clients, env, config, new Date());
    if (request.json) io.out(JSON.stringify(answer.json, null, 2));
    else if (answer.refused) io.err(`lean-router ${command.name}: ${answer.text}`);
    else io.out(answer.text);
    return answer.refused ? 1 : 0;
  } catch (error) {
    io.err(`lean-router ${command.name}: ${error instanceof CommandFailure ? error.message : explainFailure(error, request)}`);
    return 1;
  } finally {
    clients.destroy();
  }
}

async function executeStrategy(
  request: CliRequest & { readonly command: StrategyCommand },
  clients: StageClients,
  env: CliEnv,
  config: ParityConfig,
  now: Date,
): Promise<StrategyAnswer> {
  const { command, stage } = request;
  const { plane } = await readStageControl(clients, stage);
  const prefix = controlParameterPrefix(stage);
  if (command.name === 'strategy list') {
    const { strategies, ignored } = await listStrategies(clients.ssm(), prefix, CALL_TIMEOUT_MS);
    const json = { stage, strategies: strategies.map(({ modifiedAt: _modified, ...strategy }) => strategy), ignored };
    return { refused: false, text: strategyListText(prefix, strategies, ignored), json };
  }
  const { strategyId } = command;
  const parameter = strategyParameterName(prefix, strategyId);
  const current = await readStrategy(clients.ssm(), prefix, strategyId, CALL_TIMEOUT_MS);
  const base = { strategy_id: strategyId, stage, parameter };
  switch (command.name) {
    case 'strategy show': {
      const report = await strategyReport(clients, { stage, tableName: request.tableName }, strategyId, command, config, now);
      return {
        refused: false,
        text: `${strategyStateLine(strategyId, stage, parameter, current)}\n\n${parityReportText([report])}`,
        json: { ...base, enablement: current ?? null, report },
      };
    }
    case 'strategy enable': {
      const stageReport = await strategyReport(clients, { stage, tableName: request.tableName }, strategyId, command, config, now);
      const paper = stage === 'live' ? await paperReport(env, strategyId, command, config, now) : undefined;
      const reports = { stage: stageReport, ...(paper === undefined ? {} : { paper }) };
      const decision = decideEnable({ strategyId, parameter, current, by: command.by, ...(command.reason === undefined ? {} : { reason: command.reason }) }, reports);
      const reportList = paper === undefined ? [stageReport] : [paper, stageReport];
      if (decision.kind === 'refused') {
        return { refused: true, text: decision.text, json: { ...base, changed: false, refused: true, why: decision.text, failing_checks: decision.failing, strategy: current ?? null, reports: reportList } };
      }
      const answer = await applyDecision(plane, { clients, prefix, strategyId, by: command.by }, current, decision);
      return { refused: false, text: `${answer.text}\n${checksText(reportList)}`, json: { ...base, ...answer.json, reports: reportList } };
    }
    case 'strategy disable':
    case 'strategy block': {
      const decision = decideSetState({ strategyId, parameter, current, by: command.by, reason: command.reason }, command.name === 'strategy block' ? 'blocked' : 'shadow');
      const answer = await applyDecision(plane, { clients, prefix, strategyId, by: command.by }, current, decision);
      return { refused: false, text: answer.text, json: { ...base, ...answer.json } };
    }
  }
}

/** Writes what a decision says (at most once, through the control plane, as kill does) and reads the parameter back; a refusal never gets here. */
async function applyDecision(
  plane: SsmControlPlane,
  target: { readonly clients: StageClients; readonly prefix: string; readonly strategyId: string; readonly by: string },
  current: StrategyEnablement | undefined,
  decision: StrategyDecisionApplied,
): Promise<{ text: string; json: { changed: boolean; previous: StrategyEnablement | null; strategy: StrategyEnablement | null } }> {
  if (decision.kind === 'unchanged') return { text: decision.text, json: { changed: false, previous: current ?? null, strategy: current ?? null } };
  const { clients, prefix, strategyId, by } = target;
  await plane.setStrategyState(strategyId, decision.state, decision.reason, by);
  // The write stands even if the read-back fails: then say what was written.
  const asWritten: StrategyEnablement = { strategy_id: strategyId, state: decision.state, reason: decision.reason, set_by: by };
  const written = await readStrategy(clients.ssm(), prefix, strategyId, CALL_TIMEOUT_MS).then(
    (after) => after ?? asWritten,
    () => asWritten,
  );
  return { text: `${decision.text} (${SEEN_WITHIN})`, json: { changed: true, previous: current ?? null, strategy: written } };
}

/** One strategy's parity report on a stage's table, over the command's window. */
async function strategyReport(
  clients: StageClients,
  target: Pick<CliRequest, 'stage' | 'tableName'>,
  strategyId: string,
  window: { readonly since: string; readonly until: string },
  config: ParityConfig,
  now: Date,
): Promise<ParityReport> {
  try {
    const reader = new DynamoDbParityReader(clients.dynamoDb(), target.tableName, { maxRows: config.maxRows, pageTimeoutMs: CALL_TIMEOUT_MS });
    return await readParityReport(reader, { stage: target.stage, strategyId, since: window.since, until: window.until }, config.thresholds, now);
  } catch (error) {
    throw new CommandFailure(`${target.stage} parity report of ${strategyId}: ${explainFailure(error, target)}; nothing was changed`);
  }
}

/** The strategy's paper report, from the paper stage's own table, which a live enable needs passing first. */
async function paperReport(env: CliEnv, strategyId: string, window: { readonly since: string; readonly until: string }, config: ParityConfig, now: Date): Promise<ParityReport> {
  const paper = stageClients('paper', env);
  try {
    return await strategyReport(paper, { stage: 'paper', tableName: provenanceTableName('paper') }, strategyId, window, config, now);
  } finally {
    paper.destroy();
  }
}

/** Each check of each report on one line: the numbers behind an enable. */
function checksText(reports: readonly ParityReport[]): string {
  return textTable(
    ['stage', 'check', 'result', 'detail'],
    reports.flatMap((report) => report.checks.map((check) => [report.stage, check.name, check.passed ? 'PASS' : 'FAIL', check.detail])),
  );
}

/** A cancel that got no answer from the order API, in one line with what to do next. */
function explainCancelFailure(error: unknown, request: CliRequest, clientOrderId: string, target: OrderApiTarget | undefined): string {
  if (error instanceof OrderApiNotFound) return `${error.message}; nothing was sent`;
  const orderCommand = `lean-router order ${clientOrderId}${isDeployedStage(request.stage) ? ` --stage ${request.stage}` : ''}`;
  if (error instanceof OrderApiTimeout) {
    return `${error.message} (${target?.url ?? 'the order API'}): the cancel may or may not have reached a broker; read the row with \`${orderCommand}\`, or run the same cancel again (once a broker has taken it, a repeat asks no broker again)`;
  }
  if (connectionRefused(error) !== undefined && request.stage === LOCAL_STAGE) {
    return `nothing answers at ${target?.url ?? 'the local order API'}: the local stack is not running; start it with npm start (or set LOCAL_API_PORT to its API port); nothing was sent`;
  }
  // fetch says only "fetch failed"; the reason is its cause.
  if (target !== undefined && error instanceof TypeError && error.cause !== undefined) {
    const code = (error.cause as { code?: unknown }).code;
    const unsent = code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
    const effect = unsent ? 'nothing was sent' : `the cancel may or may not have reached the API; read the row with \`${orderCommand}\``;
    return `could not reach the order API at ${target.url} (from ${target.from}): ${describeError(error.cause)}; ${effect}`;
  }
  return explainFailure(error);
}

/** Runs one of the commands that read or write the stage's table and control values. */
async function runStageCommand(request: CliRequest & { readonly command: StageCommand }, env: CliEnv, io: CliIo): Promise<number> {
  const clients = stageClients(request.stage, env);
  try {
    const result = await execute(request, clients, env, new Date());
    io.out(request.json ? JSON.stringify(result.json, null, 2) : result.text);
    return 0;
  } catch (error) {
    io.err(`lean-router ${request.command.name}: ${error instanceof CommandFailure ? error.message : explainFailure(error, request)}`);
    return 1;
  } finally {
    clients.destroy();
  }
}

async function execute(request: CliRequest & { readonly command: StageCommand }, clients: StageClients, env: CliEnv, now: Date): Promise<Answer> {
  const { command, stage, tableName } = request;
  switch (command.name) {
    case 'orders': {
      const rows = await findOrders(clients.dynamoDb(), tableName, command.filter);
      return { text: ordersTable(rows), json: rows };
    }
    case 'order': {
      const row = await findOrder(clients.dynamoDb(), tableName, command.clientOrderId);
      if (row === undefined) throw new CommandFailure(`no order with client_order_id ${command.clientOrderId} in ${tableName}`);
      return { text: JSON.stringify(row, null, 2), json: row };
    }
    case 'kill':
    case 'unkill': {
      const { plane, control } = await readStageControl(clients, stage);
      const state = command.name === 'kill' ? 'on' : 'off';
      const parameter = plane.parameterNames.killSwitch;
      // Only a value read as written counts as already set: a missing or unreadable switch is made explicit.
      if (control.killSwitch.source === 'parameter' && control.killSwitch.state === state) {
        const why = killSwitchWhy(control.killSwitch);
        return {
          text: `${parameter} is already ${state}${why === '' ? '' : ` (${why})`}: nothing changed; LEAN ${state === 'on' ? 'stays off for every order' : 'is allowed'}`,
          json: { parameter, changed: false, kill_switch: control.killSwitch },
        };
      }
      await plane.setKillSwitch(state, command.reason, command.by);
      // Read back for when it changed; the write stands even if that read fails, so say what was written then.
      const written = await plane.readFresh().then(
        (after) => after.killSwitch,
        () => ({ state, reason: command.reason, set_by: command.by }),
      );
      const effect =
        state === 'on'
          ? `LEAN is off for every order (${SEEN_WITHIN})`
          : `LEAN is allowed again (${SEEN_WITHIN}); the health-check's LEAN error rate counts only orders from now on`;
      return { text: `${parameter} is ${state}: ${effect}`, json: { parameter, changed: true, kill_switch: written } };
    }
    case 'review': {
      const { control } = await readStageControl(clients, stage);
      const reviews = [...control.reviews.values()].filter((review) => review.state === 'review');
      return {
        text:
          reviews.length === 0
            ? 'no symbol is in manual review'
            : textTable(['symbol', 'since', 'reason'], reviews.map((review) => [review.symbol, review.changed_at, review.reason ?? ''])),
        json: reviews,
      };
    }
    case 'review clear': {
      const { plane, control } = await readStageControl(clients, stage);
      const { symbol } = command;
      const parameter = manualReviewParameterName(controlParameterPrefix(stage), symbol);
      if (control.reviews.get(symbol)?.state !== 'review') {
        return { text: `${symbol} is not in manual review: nothing changed`, json: { symbol, parameter, changed: false, in_review: false } };
      }
      await plane.clearSymbolReview(symbol);
      return { text: `${symbol}: manual review cleared; LEAN may take its orders again`, json: { symbol, parameter, changed: true, in_review: false } };
    }
    case 'status': {
      // A missing kill switch is a state to report (the routers keep LEAN off), not a refusal.
      const { plane, control } = await readControl(clients, stage);
      const prefix = controlParameterPrefix(stage);
      const [parameters, errorRate, alarms] = await Promise.all([
        readControlValues(clients.ssm(), prefix),
        errorRateStatus(clients, request, control.killSwitch, loadHealthCheckConfig(env), now),
        alarmsStatus(clients, stage),
      ]);
      if (control.killSwitch.source === 'missing' && !isDeployedStage(stage) && !isNpmStartStore(parameters)) {
        throw new CommandFailure(await missingKillSwitch(clients, stage, plane.parameterNames.killSwitch, parameters));
      }
      // The health-check takes its staleness limit from the router's governance settings.
      const { runnerHealthStaleMs } = loadRouterConfig(env).governance;
      const report = { stage, prefix, tableName, control, parameters, errorRate, alarms, runnerHealthStaleMs, now };
      return { text: statusText(report), json: statusJson(report) };
    }
  }
}

/** The stage's control values, read fresh, whatever they are. */
async function readControl(clients: StageClients, stage: CliStage): Promise<{ plane: SsmControlPlane; control: ControlSnapshot }> {
  const plane = new SsmControlPlane({ ssm: clients.ssm(), prefix: controlParameterPrefix(stage), ttlMs: 0, callTimeoutMs: CALL_TIMEOUT_MS });
  return { plane, control: await plane.readFresh() };
}

/**
 * The stage's control values, read fresh, for a command that acts on them. Without a
 * `kill-switch` parameter the stage is not deployed where the CLI is looking, the parameter was
 * deleted, or the local store is not npm start's: nothing is read further and nothing is written.
 */
async function readStageControl(clients: StageClients, stage: CliStage): Promise<{ plane: SsmControlPlane; control: ControlSnapshot }> {
  const read = await readControl(clients, stage);
  if (read.control.killSwitch.source === 'missing') throw new CommandFailure(await missingKillSwitch(clients, stage, read.plane.parameterNames.killSwitch));
  return read;
}

/** A refusal for a stage without its kill-switch parameter: where the CLI looked and what to check. */
async function missingKillSwitch(clients: StageClients, stage: CliStage, parameter: string, found?: readonly Parameter[]): Promise<string> {
  if (isDeployedStage(stage)) {
    const region = (await clients.ssm().config.region().catch(() => undefined)) ?? 'the configured region';
    return `no ${parameter} parameter in ${region}: the ${stage} stage is not deployed in this account and region (check AWS_PROFILE / AWS_REGION), or its kill-switch was deleted (the routers then keep LEAN off); nothing was changed`;
  }
  const npmStart = isNpmStartStore(found ?? (await readControlValues(clients.ssm(), controlParameterPrefix(stage))));
  const why = npmStart ? 'it was deleted (the routers keep LEAN off); restart npm start to write it again' : "that Parameter Store is not npm start's";
  return `no ${parameter} parameter at ${clients.endpoints.ssm}: ${why}; nothing was changed`;
}

/** Whether a local store is npm start's: it writes the credentials and lean-health under the prefix when it starts. */
function isNpmStartStore(parametersUnderPrefix: readonly Parameter[]): boolean {
  return parametersUnderPrefix.length > 0;
}

/**
 * The LEAN error rate the health-check would judge now: over its window, or since the kill switch
 * was turned off if that is later. While the switch is on the health-check judges nothing.
 */
async function errorRateStatus(clients: StageClients, request: CliRequest, killSwitch: KillSwitch, config: HealthCheckConfig, now: Date): Promise<ErrorRateStatus> {
  const { tableName } = request;
  if (killSwitch.source === 'missing') return { checked: false, why: 'not judged while there is no kill-switch parameter' };
  if (killSwitch.state === 'on' || killSwitch.source !== 'parameter') {
    // An unkill restarts the count at its own write (errorRateWindowStart): the failures that tripped the switch are not counted again.
    const rule = errorRateTripRule(config.errorRateThreshold, config.errorRateMinVolume);
    return {
      checked: false,
      why: `not judged while the kill switch is on; after an unkill the count starts from zero orders (failures before it do not count), so only new failures can trip it: ${rule}`,
    };
  }
  const { since, cause } = errorRateWindowStart(now, config.errorRateWindowMs, killSwitch);
  try {
    const counts = await new DynamoDbProvenanceIndex(clients.dynamoDb(), tableName, READ_ONLY_STORE, CALL_TIMEOUT_MS).countLeanOutcomes(since);
    return { checked: true, since, cause, ...counts, threshold: config.errorRateThreshold, minVolume: config.errorRateMinVolume, windowMs: config.errorRateWindowMs };
  } catch (error) {
    return { checked: false, why: `could not be counted: ${explainFailure(error, request)}` };
  }
}

/** The index only counts here; resolving rows is the health-check's business. */
const READ_ONLY_STORE = {
  resolve: (): Promise<never> => Promise.reject(new Error('the CLI does not resolve rows')),
};

async function alarmsStatus(clients: StageClients, stage: CliStage): Promise<AlarmsStatus> {
  if (!isDeployedStage(stage)) return { checked: false, why: 'the local stack has no CloudWatch alarms' };
  try {
    return { checked: true, namePrefix: alarmNamePrefix(stage), inAlarm: await stageAlarmsInAlarm(clients.cloudWatch(), stage, { timeoutMs: CALL_TIMEOUT_MS }) };
  } catch (error) {
    return { checked: false, why: `CloudWatch DescribeAlarms failed: ${explainFailure(error)}` };
  }
}

async function readControlValues(ssm: SSMClient, prefix: string): Promise<Parameter[]> {
  const parameters: Parameter[] = [];
  const bound = { abortSignal: AbortSignal.timeout(CALL_TIMEOUT_MS) };
  let nextToken: string | undefined;
  do {
    const out = await ssm.send(new GetParametersByPathCommand({ Path: prefix, Recursive: true, WithDecryption: false, NextToken: nextToken }), bound);
    parameters.push(...(out.Parameters ?? []));
    nextToken = out.NextToken;
  } while (nextToken !== undefined);
  return parameters;
}

/** The clients of one stage, each built on first use; the local stage means npm start's loopback endpoints and dummy keys. */
interface StageClients {
  dynamoDb(): DynamoDBClient;
  ssm(): SSMClient;
  cloudWatch(): CloudWatchClient;
  /** The local endpoints, for messages; empty for a deployed stage. */
  readonly endpoints: { readonly ssm?: string; readonly dynamoDb?: string };
  destroy(): void;
}

function stageClients(stage: CliStage, env: CliEnv): StageClients {
  const local = !isDeployedStage(stage);
  const endpoints = local
    ? {
        dynamoDb: env.AWS_ENDPOINT_URL_DYNAMODB ?? `http://127.0.0.1:${env.LOCAL_DYNAMODB_PORT ?? 8000}`,
        ssm: env.AWS_ENDPOINT_URL_SSM ?? `http://127.0.0.1:${env.LOCAL_SSM_PORT ?? 4583}`,
      }
    : {};
  const base = local ? { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {};
  let dynamoDb: DynamoDBClient | undefined;
  let ssm: SSMClient | undefined;
  let cloudWatch: CloudWatchClient | undefined;
  return {
    dynamoDb: () => (dynamoDb ??= new DynamoDBClient({ ...base, ...(endpoints.dynamoDb === undefined ? {} : { endpoint: endpoints.dynamoDb }) })),
    ssm: () => (ssm ??= new SSMClient({ ...base, ...(endpoints.ssm === undefined ? {} : { endpoint: endpoints.ssm }) })),
    cloudWatch: () => (cloudWatch ??= new CloudWatchClient({})),
    endpoints,
    destroy: () => {
      dynamoDb?.destroy();
      ssm?.destroy();
      cloudWatch?.destroy();
    },
  };
}

/**
 * An error from a stage in one line with what to do about it: the local stack not running, a
 * table or region that is not there, a call that got no answer.
 */
function explainFailure(error: unknown, where?: Pick<CliRequest, 'stage' | 'tableName'>): string {
  const refused = connectionRefused(error);
  if (refused !== undefined && where?.stage === LOCAL_STAGE) {
    return `nothing answers at ${refused}: the local stack is not running; start it with npm start`;
  }
  const name = error instanceof Error ? error.name : '';
  if (name === 'ResourceNotFoundException' && where !== undefined) {
    const deployed = isDeployedStage(where.stage) ? `, and that the ${where.stage} stage is deployed in this account and region` : '';
    return `no table ${where.tableName} (${describeError(error)}): check --table / PROVENANCE_TABLE_NAME${deployed}`;
  }
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${CALL_TIMEOUT_MS / 1000} s`;
  if (error instanceof Error && /region is missing/i.test(error.message)) return 'no AWS region configured: set AWS_REGION or AWS_PROFILE';
  if (name === 'CredentialsProviderError') return `no AWS credentials: ${error instanceof Error ? error.message : ''} (set AWS_PROFILE, or run aws sso login)`;
  return describeError(error);
}

/** `host:port` of a refused connection, looking through the causes Node and the SDK wrap it in. */
function connectionRefused(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [error];
  while (queue.length > 0) {
    const candidate = queue.shift();
    if (typeof candidate !== 'object' || candidate === null || seen.has(candidate)) continue;
    seen.add(candidate);
    const { code, address, port, cause, errors } = candidate as { code?: unknown; address?: unknown; port?: unknown; cause?: unknown; errors?: unknown };
    if (code === 'ECONNREFUSED') return typeof address === 'string' && port !== undefined ? `${address}:${String(port)}` : 'the local endpoints';
    queue.push(cause, ...(Array.isArray(errors) ? errors : []));
  }
  return undefined;
}

function ordersTable(rows: readonly ProvenanceRow[]): string {
  if (rows.length === 0) return 'no orders match';
  return textTable(
    ['created_at', 'client_order_id', 'symbol', 'side', 'qty', 'status', 'broker', 'filled', 'avg_price', 'expected', 'route', 'reason', 'review'],
    rows.map((row) => [
      row.created_at,
      row.client_order_id,
      row.symbol,
      row.side,
      row.qty ?? `$${row.notional ?? ''}`,
      row.status,
      // Empty until the lifecycle sync has read the order at the broker.
      row.broker_status ?? '',
      row.filled_qty ?? '',
      row.filled_avg_price ?? '',
      row.execution_expected_adapter,
      row.execution_route ?? '-',
      row.execution_fallback_reason ?? row.execution_route_reason ?? '-',
      row.review_required ? 'YES' : '',
    ]),
  );
}

