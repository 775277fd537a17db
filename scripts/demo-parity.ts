/**
 * `npm run demo:parity`: a parity check failing and `strategy enable` refused, then both passing,
 * against a local stack that is already running (`npm start` in another terminal). One strategy
 * sends orders with a `reference_price` through LEAN and straight to Alpaca (the `policy` override
 * switched between the two, as an operator would); the Alpaca simulator makes LEAN's fills slip
 * more; the lifecycle sync writes the fills; the operator CLI (`dist/lean-router.mjs`, what
 * `npx lean-router` runs) reports parity and is asked to enable the strategy. Then the market is
 * healed and the same strategy, over a window starting after the heal, passes and is enabled.
 *
 * Every claim is a `checked:` line backed by a read (rows, the simulator, the CLI's exit code and
 * output, the parameter). The first that does not hold ends the demo with exit code 1 and a
 * one-line reason on stderr. The policy override and the simulator's market are put back as found.
 *
 * Environment: LOCAL_API_PORT (3000), LOCAL_SSM_PORT (4583) and LOCAL_DYNAMODB_PORT (8000), as for
 * `npm start`; TRADING_PARITY_MIN_ORDERS (30): the orders sent per cohort and phase, and the
 * threshold the CLI checks; DEMO_PAUSE_MS (default 1200) between steps, 0 for none.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteParameterCommand, GetParameterCommand, ParameterNotFound, PutParameterCommand } from '@aws-sdk/client-ssm';
import { CONTROL_PARAMETER, controlParameterName, controlParameterPrefix, strategyParameterName } from '../functions/core/control-parameters';
import { slippageBps, type ParityReport } from '../functions/core/parity';
import { loadParityConfig } from '../functions/core/parity-config';
import type { ProvenanceRow } from '../functions/core/provenance';
import { parseStrategyEnablement } from '../functions/core/strategy-enablement';
import { localSsmClient } from '../lib/local/parameter-store';
import { SIM_ADMIN_ROOT } from '../lib/local/sim-admin-routes';
import { demoRunId, demoSession, demoSettings, receiptOf, routeReasonOf, say, type DemoSession, type SimMarket } from './demo-support';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { apiUrl, ssmPort, ssmEndpoint, pauseMs } = demoSettings();
const PREFIX = controlParameterPrefix('local');
const POLICY = controlParameterName(PREFIX, CONTROL_PARAMETER.policy);
/** The CLI as `npx lean-router` runs it: the checked-in build. */
const CLI = fileURLToPath(new URL('../dist/lean-router.mjs', import.meta.url));
/** The CLI reads its thresholds from its environment: the demo's, passed on. */
const cliEnv = { ...process.env, LOCAL_SSM_PORT: ssmPort, LOCAL_DYNAMODB_PORT: process.env.LOCAL_DYNAMODB_PORT || '8000' };
const { thresholds } = loadParityConfig(process.env);
/** Orders per cohort and phase: exactly the minimum the check asks, so it passes on count alone. */
const ORDERS_PER_COHORT = thresholds.minOrdersPerCohort;
/** How much worse LEAN's fills are made in the first phase: well past the tolerance. */
const LEAN_SLIPPAGE_BPS = Math.max(20, Math.ceil(thresholds.maxMedianSlippageDifferenceBps * 4));
/** The simulator's fill delay when its market has none, so orders fill by themselves. */
const DEFAULT_FILL_DELAY_MS = 2_000;
const ROUTE_TO_LEAN = { adapter: 'lean', policy: 'all', strategy_enablement: 'off' } as const;
const ROUTE_TO_ALPACA = { adapter: 'alpaca' } as const;
const SYMBOLS = ['AAPL', 'MSFT', 'NVDA'] as const;
/** Leeway past the last fill's due time. */
const FILL_WAIT_MARGIN_MS = 500;
const ssm = localSsmClient(ssmEndpoint, { maxAttempts: 1 });

const indent = (text: string): string => text.trimEnd().replace(/^/gm, '    ');
const STEPS = {
  reset: '0. A fresh start: simulators healed, LEAN allowed for every order, the router state reset',
  slip: '1. The Alpaca simulator makes fills of orders placed through LEAN slip more',
  lean: '2. The strategy sends orders through LEAN',
  alpaca: '3. The same strategy sends orders straight to Alpaca',
  fills: '4. The orders fill; the lifecycle sync writes the fills on the rows',
  fails: '5. The parity report fails its slippage check',
  refused: '6. strategy enable is refused, naming the failing check',
  heal: '7. The market is healed: LEAN fills as Alpaca does',
  again: '8. The strategy sends new orders, to Alpaca and through LEAN',
  refills: '9. The new orders fill',
  passes: '10. Over the window since the heal, every parity check passes',
  accepted: '11. strategy enable is accepted',
} as const;
const demo = demoSession({ apiUrl, pauseMs, steps: STEPS, first: 'reset' });
const { call, checked, step, simStates, healSimulators, resetRouter, readRow, syncNow, waitForControlCache } = demo;
// Annotated: TypeScript calls an assertion function only through a name declared with its type.
const mustHold: DemoSession<keyof typeof STEPS>['mustHold'] = demo.mustHold;

async function readParameter(name: string): Promise<string | undefined> {
  try {
    return (await ssm.send(new GetParameterCommand({ Name: name }))).Parameter?.Value;
  } catch (error) {
    if (error instanceof ParameterNotFound) return undefined;
    throw error;
  }
}

/** Puts the `policy` override as an operator would (`aws ssm put-parameter`), and reads it back. */
async function setPolicy(value: object): Promise<void> {
  const text = JSON.stringify(value);
  say(`  aws ssm put-parameter --name ${POLICY} --type String --overwrite --value '${text}'   (--endpoint-url ${ssmEndpoint})`);
  await ssm.send(new PutParameterCommand({ Name: POLICY, Value: text, Type: 'String', Overwrite: true }));
  const after = await readParameter(POLICY);
  mustHold(after === text, `${POLICY} reads ${after ?? '(none)'} after the demo wrote ${text}`);
  checked(`${POLICY} reads ${text}`);
}

async function setMarket(market: SimMarket): Promise<SimMarket> {
  say(`  curl -s -X POST ${apiUrl}${SIM_ADMIN_ROOT}/alpaca/market -d '${JSON.stringify(market)}'`);
  const reply = await call('POST', `${SIM_ADMIN_ROOT}/alpaca/market`, market);
  mustHold(reply.status === 200, `POST ${SIM_ADMIN_ROOT}/alpaca/market answered ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as SimMarket;
}

const runId = demoRunId();
const STRATEGY = `parity-demo-${runId}`;
let sequence = 0;
/** When the last order was sent: its fill is due a fill delay later. */
let lastOrderAt = 0;

/** Sends `count` market orders of the strategy, buys and sells of 1 across a few symbols, each with the simulator's price as `reference_price`; checks each lands on `route`. */
async function sendOrders(count: number, route: 'lean' | 'alpaca', market: SimMarket): Promise<string[]> {
  const ids: string[] = [];
  const routes = new Map<string, number>();
  for (let index = 0; index < count; index += 1) {
    sequence += 1;
    const id = `parity-${runId}-${sequence}`;
    const symbol = SYMBOLS[index % SYMBOLS.length]!;
    const side = index % 2 === 0 ? 'buy' : 'sell';
    const reference = market.prices?.[symbol] ?? market.defaultPrice ?? '100';
    lastOrderAt = Date.now();
    const reply = await call('POST', '/orders', { client_order_id: id, symbol, side, qty: '1', type: 'market', time_in_force: 'day', strategy_id: STRATEGY, reference_price: reference });
    const receipt = receiptOf(reply);
    const took = `${reply.status} ${String(receipt.execution_route ?? '-')} (${String(routeReasonOf(reply, receipt))})`;
    routes.set(took, (routes.get(took) ?? 0) + 1);
    ids.push(id);
  }
  const first = ids[0] ?? '-';
  say(`  POST /orders x${count}: ${first} .. ${ids.at(-1) ?? '-'}, strategy_id ${STRATEGY}, ${SYMBOLS.join('/')} buys and sells of 1, reference_price the simulator's price`);
  say(`  -> ${[...routes].map(([took, times]) => `${times} x ${took}`).join(', ')}`);
  const rows = await Promise.all(ids.map(readRow));
  for (const row of rows) {
    mustHold(
      row.status === 'accepted' && row.execution_route === route,
      `${row.client_order_id} is ${row.status} on route ${row.execution_route ?? '-'} (${row.execution_fallback_reason ?? row.execution_route_reason ?? '-'}), expected accepted on route ${route}`,
    );
  }
  checked(`${rows.length} rows read back (GET /orders/{id}): accepted, route ${route}, strategy_id ${STRATEGY}`);
  return ids;
}

/** Waits until the last order's fill is due, syncs, and checks every row filled; answers the rows. */
async function syncFills(ids: readonly string[], market: SimMarket): Promise<ProvenanceRow[]> {
  const delay = market.fillDelayMs ?? DEFAULT_FILL_DELAY_MS;
  const dueAt = lastOrderAt + delay * (market.partial === true ? 2 : 1) + FILL_WAIT_MARGIN_MS;
  say(`  (the Alpaca simulator fills a market order ${delay / 1000} s after its last change; waiting until the last one's fill is due)`);
  await sleep(Math.max(0, dueAt - Date.now()));
  await syncNow();
  const rows = await Promise.all(ids.map(readRow));
  for (const row of rows) {
    mustHold(
      row.broker_status === 'filled' && row.filled_avg_price !== undefined && row.filled_at !== undefined,
      `${row.client_order_id}: broker_status ${row.broker_status ?? '(none)'}, filled_avg_price ${row.filled_avg_price ?? '(none)'}; expected filled at a price`,
    );
  }
  checked(`${rows.length} rows read back: broker_status filled, with filled_avg_price and filled_at`);
  return rows;
}

/** Each row's slippage in bps against its reference, positive = worse for the trader, by route. */
function slippages(rows: readonly ProvenanceRow[]): { lean: number[]; alpaca: number[] } {
  const of = (route: string): number[] =>
    rows.filter((row) => row.execution_route === route).map((row) => slippageBps(row.side, row.filled_avg_price ?? '', row.reference_price ?? '') ?? Number.NaN);
  return { lean: of('lean'), alpaca: of('alpaca') };
}

const bps = (value: number): string => `${value.toFixed(1)} bps`;

/** Runs the operator CLI as `npx lean-router` would, printing the command; answers its exit code and output. */
async function leanRouter(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  say(`  $ npx lean-router ${args.map((arg) => (/^[\w:.,/-]+$/.test(arg) ? arg : `'${arg}'`)).join(' ')}`);
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

/** The report as `parity --json` prints it. */
async function parityJson(...window: string[]): Promise<ParityReport> {
  const answer = await leanRouter('parity', '--strategy', STRATEGY, ...window, '--json');
  mustHold(answer.stdout.trim().startsWith('{'), `parity --json printed no report (exit ${answer.code}): ${answer.stderr.trim()}`);
  return JSON.parse(answer.stdout) as ParityReport;
}

let policyBefore: string | undefined;
let policyTouched = false;
let marketBefore: SimMarket | undefined;

async function main(): Promise<void> {
  const sims = await simStates();
  if (sims.lean === null || sims.alpaca === null) throw new Error('this stack uses a real LEAN runner or Alpaca; the parity demo needs both simulators');
  say(`lean-router parity demo against ${apiUrl}: strategy ${STRATEGY}, ${ORDERS_PER_COHORT} orders per cohort and phase (TRADING_PARITY_MIN_ORDERS).`);
  say('Routed (LEAN) and non-routed (Alpaca) orders of one strategy, compared by `npx lean-router parity`; `strategy enable` refused, then accepted.');

  say(`\n== ${STEPS.reset}`);
  await healSimulators(sims);
  marketBefore = sims.alpaca.market ?? {};
  policyBefore = await readParameter(POLICY);
  // Written before the reset, whose new route handler then reads it at its first order: no cache to wait out.
  say('  LEAN for every order, strategies not consulted (strategy_enablement off: the strategy is measured before it is enabled):');
  policyTouched = true;
  await setPolicy(ROUTE_TO_LEAN);
  const reset = await resetRouter();
  mustHold(reset.kill_switch.state === 'off' && reset.symbols_in_review.length === 0, `after the reset the kill switch is ${reset.kill_switch.state}, symbols in review: ${reset.symbols_in_review.join(', ') || 'none'}`);
  checked('kill switch off, no symbol in review, a new route handler with an empty control cache');
  const maxAgeMs = reset.settings.control_max_age_ms;

  await step('slip');
  const fillDelayMs = marketBefore.fillDelayMs ?? DEFAULT_FILL_DELAY_MS;
  const slipping = await setMarket({ ...marketBefore, fillDelayMs, leanSlippageBps: LEAN_SLIPPAGE_BPS, leanFillRate: 1 });
  mustHold(slipping.leanSlippageBps === LEAN_SLIPPAGE_BPS, `the market in force has leanSlippageBps ${String(slipping.leanSlippageBps)}`);
  checked(`the simulator's market adds ${LEAN_SLIPPAGE_BPS} bps against the trader to orders placed through LEAN (tolerance: ${thresholds.maxMedianSlippageDifferenceBps} bps)`);

  await step('lean');
  const firstLean = await sendOrders(ORDERS_PER_COHORT, 'lean', slipping);

  await step('alpaca');
  await setPolicy(ROUTE_TO_ALPACA);
  await waitForControlCache(maxAgeMs);
  const firstAlpaca = await sendOrders(ORDERS_PER_COHORT, 'alpaca', slipping);

  await step('fills');
  const firstRows = await syncFills([...firstLean, ...firstAlpaca], slipping);
  const first = slippages(firstRows);
  const gap = Math.min(...first.lean) - Math.max(...first.alpaca);
  mustHold(gap >= LEAN_SLIPPAGE_BPS - 1, `LEAN fills slipped ${bps(Math.min(...first.lean))} at least, Alpaca's ${bps(Math.max(...first.alpaca))} at most: not ${LEAN_SLIPPAGE_BPS} bps apart`);
  checked(`every LEAN fill slipped ${bps(Math.min(...first.lean))} or more against its reference_price, every direct Alpaca fill ${bps(Math.max(...first.alpaca))} or less`);

  await step('fails');
  const failing = await leanRouter('parity', '--stage', 'local', '--strategy', STRATEGY);
  say(indent(failing.stdout || failing.stderr));
  mustHold(failing.code === 1, `parity exited ${failing.code}, expected 1 (a check fails): ${failing.stderr.trim()}`);
  mustHold(/^median_slippage_difference +FAIL /m.test(failing.stdout), 'parity does not print median_slippage_difference FAIL');
  checked('parity exits 1 and prints median_slippage_difference FAIL');
  const failingReport = await parityJson();
  const notSlippage = failingReport.checks.filter((check) => check.name !== 'median_slippage_difference' && !check.passed).map((check) => check.name);
  mustHold(notSlippage.length === 0, `other checks fail too: ${notSlippage.join(', ')}`);
  mustHold(failingReport.routed.orders === ORDERS_PER_COHORT && failingReport.nonRouted.orders === ORDERS_PER_COHORT, `the cohorts hold ${failingReport.routed.orders} and ${failingReport.nonRouted.orders} orders, expected ${ORDERS_PER_COHORT} each`);
  checked(`the slippage check is the only one failing (parity --json): ${ORDERS_PER_COHORT} orders in each cohort, fill rates equal, no divergent id`);

  await step('refused');
  const refused = await leanRouter('strategy', 'enable', STRATEGY, '--stage', 'local');
  say(indent(refused.stderr || refused.stdout));
  mustHold(refused.code === 1, `strategy enable exited ${refused.code}, expected 1 (refused): ${refused.stdout.trim()} ${refused.stderr.trim()}`);
  mustHold(/^ {2}FAIL median_slippage_difference /m.test(refused.stderr), 'the refusal does not name median_slippage_difference');
  checked('strategy enable exits 1, refused, naming median_slippage_difference with its numbers');
  const parameter = strategyParameterName(PREFIX, STRATEGY);
  const unwritten = await readParameter(parameter);
  mustHold(unwritten === undefined, `${parameter} reads ${unwritten ?? ''} after a refused enable`);
  checked(`${parameter} was not written`);

  await step('heal');
  const healedAt = new Date().toISOString();
  const healed = await setMarket({ ...marketBefore, fillDelayMs, leanSlippageBps: 0, leanFillRate: 1 });
  mustHold(healed.leanSlippageBps === 0, `the market in force has leanSlippageBps ${String(healed.leanSlippageBps)}`);
  checked(`orders placed through LEAN fill as direct ones do from ${healedAt}; the window of the next checks starts there (--since)`);

  await step('again');
  const secondAlpaca = await sendOrders(ORDERS_PER_COHORT, 'alpaca', healed);
  await setPolicy(ROUTE_TO_LEAN);
  await waitForControlCache(maxAgeMs);
  const secondLean = await sendOrders(ORDERS_PER_COHORT, 'lean', healed);

  await step('refills');
  const secondRows = await syncFills([...secondAlpaca, ...secondLean], healed);
  const second = slippages(secondRows);
  const spread = Math.max(...second.lean, ...second.alpaca) - Math.min(...second.lean, ...second.alpaca);
  mustHold(spread <= 1, `fills since the heal slipped from ${bps(Math.min(...second.lean, ...second.alpaca))} to ${bps(Math.max(...second.lean, ...second.alpaca))}, whichever the route`);
  checked(`every fill since the heal slipped ${bps(Math.max(...second.lean, ...second.alpaca))} or less, LEAN and Alpaca alike`);

  await step('passes');
  const passing = await leanRouter('parity', '--stage', 'local', '--strategy', STRATEGY, '--since', healedAt);
  say(indent(passing.stdout || passing.stderr));
  mustHold(passing.code === 0, `parity --since ${healedAt} exited ${passing.code}, expected 0: ${passing.stderr.trim()}`);
  const passingReport = await parityJson('--since', healedAt);
  mustHold(passingReport.passed && passingReport.checks.every((check) => check.passed), `checks fail: ${passingReport.checks.filter((check) => !check.passed).map((check) => check.name).join(', ')}`);
  checked(`parity exits 0: all ${passingReport.checks.length} checks PASS over ${passingReport.routed.orders} routed and ${passingReport.nonRouted.orders} non-routed orders`);

  await step('accepted');
  const accepted = await leanRouter('strategy', 'enable', STRATEGY, '--stage', 'local', '--since', healedAt, '--reason', 'npm run demo:parity: checks pass since the market was healed', '--by', 'demo');
  say(indent(accepted.stdout || accepted.stderr));
  mustHold(accepted.code === 0, `strategy enable exited ${accepted.code}, expected 0: ${accepted.stderr.trim()}`);
  const written = await readParameter(parameter);
  const enablement = written === undefined ? undefined : parseStrategyEnablement(STRATEGY, written);
  mustHold(enablement?.state === 'enabled' && enablement.set_by === 'demo', `${parameter} reads ${written ?? '(none)'}, expected enabled by demo`);
  checked(`${parameter} reads enabled, set_by demo, set_at ${enablement.set_at ?? '-'}`);
  const list = await leanRouter('strategy', 'list', '--stage', 'local');
  mustHold(list.code === 0 && new RegExp(`^${STRATEGY} +enabled `, 'm').test(list.stdout), `strategy list does not show ${STRATEGY} enabled: ${list.stdout}${list.stderr}`);
  checked(`strategy list shows ${STRATEGY} enabled`);

  say(`\nAll ${demo.checks()} checks held. Both phases' orders in one report: npx lean-router parity --strategy ${STRATEGY}; the healed window only: add --since ${healedAt}.`);
  say(`Take LEAN away again with: npx lean-router strategy disable ${STRATEGY}`);
}

/** Puts the policy override and the simulator's market back as the demo found them. */
async function restore(): Promise<void> {
  if (policyTouched) {
    if (policyBefore === undefined) await ssm.send(new DeleteParameterCommand({ Name: POLICY })).catch(() => undefined);
    else await ssm.send(new PutParameterCommand({ Name: POLICY, Value: policyBefore, Type: 'String', Overwrite: true })).catch(() => undefined);
  }
  if (marketBefore !== undefined) await call('POST', `${SIM_ADMIN_ROOT}/alpaca/market`, marketBefore).catch(() => undefined);
}

try {
  await main();
  await restore();
  say(`(${POLICY} ${policyBefore === undefined ? 'deleted again' : 'put back'} and the simulator's market restored, as the demo found them)`);
} catch (error) {
  await restore();
  console.error(`lean-router demo:parity: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  ssm.destroy();
}
