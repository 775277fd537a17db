/**
 * `npm run demo`: a scripted LEAN outage to watch, against a local stack that is already running
 * (`npm start` in another terminal). It talks to the stack the way a person would: the order API
 * and the fault-injection routes on the front door, and the Parameter Store for the kill switch.
 *
 * Environment: LOCAL_API_PORT (3000) and LOCAL_SSM_PORT (4583), as for `npm start`;
 * DEMO_PAUSE_MS (default 1200) between steps, 0 for none.
 */
import { GetParameterCommand, ParameterNotFound, PutParameterCommand } from '@aws-sdk/client-ssm';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseJson } from '../functions/adapters/http-exchange';
import { SsmControlPlane } from '../functions/adapters/ssm-control-plane';
import { parseKillSwitch, symbolsInReview } from '../functions/core/control';
import { CONTROL_PARAMETER, controlParameterName, controlParameterPrefix } from '../functions/core/control-parameters';
import type { ProvenanceRow } from '../functions/core/provenance';
import { textTable } from '../lib/cli/text-table';
import { localSsmClient } from '../lib/local/parameter-store';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const apiUrl = `http://127.0.0.1:${process.env.LOCAL_API_PORT || 3000}`;
const ssmEndpoint = `http://127.0.0.1:${process.env.LOCAL_SSM_PORT || 4583}`;
const pauseMs = Number(process.env.DEMO_PAUSE_MS ?? 1200);
const PREFIX = controlParameterPrefix('local');
const KILL_SWITCH = controlParameterName(PREFIX, CONTROL_PARAMETER.killSwitch);
/** The operator command that turns LEAN back on (kill switch off). */
const LEAN_BACK_ON = `  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --region us-east-1 --endpoint-url ${ssmEndpoint} ssm put-parameter --name ${KILL_SWITCH} --value off --type String --overwrite`;
/** Symbols for the orders that fall back; two are used, skipping any already in manual review. */
const FALLBACK_SYMBOLS = ['NVDA', 'AMZN', 'AMD', 'INTC', 'ORCL', 'CSCO', 'ADBE', 'CRM', 'NFLX', 'QCOM'];
const ssm = localSsmClient(ssmEndpoint, { maxAttempts: 1 });

/** One exchange with the stack, body parsed. */
interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

class StackNotRunning extends Error {}

async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> {
  let response: Response;
  try {
    response = await fetch(`${apiUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code;
    if (code === 'ECONNREFUSED') throw new StackNotRunning(`nothing answers at ${apiUrl}; start it with npm start in another terminal`);
    throw error;
  }
  const text = await response.text();
  const json = parseJson(text);
  return { status: response.status, body: json.ok ? (json.value as Record<string, unknown>) : { text } };
}

const pause = (factor = 1): Promise<void> => (pauseMs > 0 ? sleep(pauseMs * factor) : Promise.resolve());
const say = (text = ''): void => console.log(text);
const step = async (title: string): Promise<void> => {
  await pause();
  say(`\n== ${title}`);
};

/** `on`, `off` (as the routers read the value: anything unreadable is `on`), or `missing`. */
async function killSwitch(): Promise<{ state: 'on' | 'off' | 'missing'; value?: string }> {
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: KILL_SWITCH }));
    const value = Parameter?.Value ?? '';
    return { state: parseKillSwitch(value).state, value };
  } catch (error) {
    if (error instanceof ParameterNotFound) return { state: 'missing' };
    throw error;
  }
}

/** Symbols in manual review (earlier runs' fallbacks count for 15 minutes); none if unreadable. */
async function symbolsInReviewNow(): Promise<Set<string>> {
  try {
    return new Set(symbolsInReview(await new SsmControlPlane({ ssm, prefix: PREFIX, ttlMs: 0 }).readFresh()));
  } catch {
    // The walk still runs; a symbol in review then shows as alpaca_gated in the table.
    return new Set();
  }
}

const runId = new Date().toISOString().replace(/\D/g, '').slice(0, 17);
let sequence = 0;
const placed: string[] = [];
let leanTakenDown = false;

/** Sends one market order and prints what the router answered. */
async function order(symbol: string): Promise<void> {
  sequence += 1;
  const id = `demo-${runId}-${sequence}`;
  placed.push(id);
  const reply = await call('POST', '/orders', { client_order_id: id, symbol, side: 'buy', qty: '1', type: 'market', time_in_force: 'day', strategy_id: 'npm-run-demo' });
  const receipt = (reply.status >= 400 ? (reply.body.details as Record<string, unknown> | undefined) : reply.body) ?? reply.body;
  const reason = receipt.execution_fallback_reason ?? receipt.execution_route_reason ?? reply.body.error ?? '';
  say(`  POST /orders ${id} ${symbol.padEnd(5)} -> ${reply.status} route ${String(receipt.execution_route ?? '-')} (${String(reason)})`);
  await pause(0.4);
}

function attempts(row: ProvenanceRow): string {
  return (row.execution_attempts ?? []).map((a) => `${a.adapter} ${a.operation} ${a.outcome}${a.reason ? ` (${a.reason})` : ''}`).join(' > ');
}

async function main(): Promise<void> {
  const sims = await call('GET', '/_sim');
  const lean = sims.body.lean as { up?: boolean; faults?: Record<string, unknown> } | null | undefined;
  if (sims.status !== 200 || lean === undefined) throw new StackNotRunning(`${apiUrl} is not a lean-router local stack (GET /_sim answered ${sims.status}); start it with npm start in another terminal`);
  if (lean === null) throw new Error('this stack uses a real LEAN runner (TRADING_LEAN_RUNNER_URL is set); the demo needs the simulator');

  let kill: Awaited<ReturnType<typeof killSwitch>> | undefined;
  try {
    kill = await killSwitch();
  } catch (error) {
    say(`(cannot read ${KILL_SWITCH} at ${ssmEndpoint}: ${error instanceof Error ? error.message : String(error)}; carrying on)`);
  }
  if (kill?.state === 'on') {
    throw new Error(
      `LEAN is switched off (${KILL_SWITCH} = ${kill.value}), so every order would be gated. Turn the kill switch off, then run the demo again:\n` +
        LEAN_BACK_ON,
    );
  }

  say(`lean-router demo against ${apiUrl}: orders through LEAN, a LEAN outage, fallbacks to Alpaca, recovery.`);
  if (lean.up === false || Object.keys(lean.faults ?? {}).length > 0) {
    say(`(the LEAN simulator had faults ${JSON.stringify(lean.faults)}; clearing them first)`);
    await call('POST', '/_sim/lean/faults', {});
  }

  // Enough successes around the two failures that the health-check's LEAN error rate (trips the
  // kill switch above 25% of at least 10 submits in 5 minutes) stays below it, even across runs.
  await step('1. LEAN is healthy: orders take the LEAN route');
  for (const symbol of ['AAPL', 'MSFT', 'GOOGL', 'META', 'JPM']) await order(symbol);

  await step('2. LEAN goes down: its listener closes, so connections are refused');
  say(`  curl -s -X POST ${apiUrl}/_sim/lean/faults -d '{"down":true}'`);
  leanTakenDown = true;
  const down = await call('POST', '/_sim/lean/faults', { down: true });
  say(`  -> ${down.status} ${JSON.stringify(down.body)}`);

  await step('3. Orders during the outage fall back to Alpaca with the same client_order_id');
  // Two, each on its own symbol: three LEAN failures in a row open the router's breaker (LEAN then
  // skipped for its cool-down, 30 s by default), and three fallbacks of one symbol within 15
  // minutes put that symbol into manual review. Both would hide the recovery this walk shows.
  say('  (two orders on two symbols: a third failure in a row would open the breaker, and three');
  say('   fallbacks of one symbol within 15 minutes put that symbol into manual review)');
  const inReview = await symbolsInReviewNow();
  const free = FALLBACK_SYMBOLS.filter((symbol) => !inReview.has(symbol));
  // With every one in review (a dozen runs in 15 minutes), the table shows them gated instead.
  const chosen = (free.length >= 2 ? free : FALLBACK_SYMBOLS).slice(0, 2);
  const skipped = FALLBACK_SYMBOLS.slice(0, FALLBACK_SYMBOLS.indexOf(chosen[1] ?? '')).filter((symbol) => inReview.has(symbol));
  if (skipped.length > 0) say(`  (${skipped.join(', ')} in manual review from earlier runs: using ${chosen.join(', ')})`);
  for (const symbol of chosen) await order(symbol);

  await step('4. LEAN comes back');
  say(`  curl -s -X POST ${apiUrl}/_sim/lean/faults -d '{}'`);
  const healed = await call('POST', '/_sim/lean/faults', {});
  leanTakenDown = false;
  say(`  -> ${healed.status} ${JSON.stringify(healed.body)}`);
  if (kill !== undefined) {
    const after = await killSwitch().catch(() => undefined);
    if (after?.state === 'on') {
      // Only an automatic trip can have switched it on since the start; it is latched by design.
      say(`  The kill switch was tripped during the outage (${after.value}).`);
      say('  An automatic trip stays on until an operator clears it; doing that now, as an operator would:');
      say(LEAN_BACK_ON);
      await ssm.send(new PutParameterCommand({ Name: KILL_SWITCH, Value: 'off', Type: 'String', Overwrite: true }));
    }
  }

  await step('5. Orders after recovery take LEAN again');
  for (const symbol of ['TSLA', 'V', 'WMT']) await order(symbol);

  await step('6. The provenance rows (GET /orders/{client_order_id})');
  const rows: ProvenanceRow[] = [];
  for (const id of placed) {
    const reply = await call('GET', `/orders/${encodeURIComponent(id)}`);
    if (reply.status === 200) rows.push(reply.body as unknown as ProvenanceRow);
    else say(`  GET /orders/${id} -> ${reply.status} ${JSON.stringify(reply.body)}`);
  }
  say(
    textTable(
      ['client_order_id', 'symbol', 'status', 'expected', 'route', 'reason', 'attempts'],
      rows.map((row) => [
        row.client_order_id,
        row.symbol,
        row.status,
        row.execution_expected_adapter,
        row.execution_route ?? '-',
        row.execution_fallback_reason ?? row.execution_route_reason ?? '-',
        attempts(row),
      ]),
    ),
  );
  const finalKill = kill === undefined ? undefined : await killSwitch().catch(() => undefined);
  if (finalKill?.state === 'on') {
    say(`\nThe kill switch is now on (${finalKill.value}): LEAN stays off until an operator turns it back on:`);
    say(LEAN_BACK_ON);
  }
  say('\nMore: npx lean-router orders --route alpaca_fallback, npx lean-router order <client_order_id>, README "Run it locally".');
}

try {
  await main();
} catch (error) {
  console.error(`lean-router demo: ${error instanceof Error ? error.message : String(error)}`);
  // Leave LEAN up rather than down if the walk stopped half way.
  if (leanTakenDown) await call('POST', '/_sim/lean/faults', {}).catch(() => undefined);
  process.exitCode = 1;
} finally {
  ssm.destroy();
}
