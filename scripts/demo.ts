/**
 * `npm run demo`: a scripted LEAN outage to watch, then fills and cancels, against a local stack
 * that is already running (`npm start` in another terminal). It talks to the stack the way a person
 * would: the order API, the admin routes on the front door (`/_router/reset`, `/_router/sync`,
 * `/_sim/*`), and the Parameter Store for the kill switch. It starts from a reset of the router's
 * state, so an earlier trip does not spoil it, and leaves the kill switch as it found it.
 *
 * Every step is checked before the next one starts: the rows are read back (status, route,
 * reason), the simulators' counters are compared, and each check is printed. The first step that
 * did not do what it says ends the demo with exit code 1 and a one-line reason on stderr.
 *
 * Environment: LOCAL_API_PORT (3000) and LOCAL_SSM_PORT (4583), as for `npm start`;
 * DEMO_PAUSE_MS (default 1200) between steps, 0 for none.
 */
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseKillSwitch } from '../functions/core/control';
import { CONTROL_PARAMETER, controlParameterName, controlParameterPrefix } from '../functions/core/control-parameters';
import type { ExecutionRoute } from '../functions/core/execution';
import type { ProvenanceRow } from '../functions/core/provenance';
import { textTable } from '../lib/cli/text-table';
import { localSsmClient } from '../lib/local/parameter-store';
import { ROUTER_ADMIN_ROOT, SIM_ADMIN_ROOT } from '../lib/local/sim-admin-routes';
import { demoRunId, demoSession, demoSettings, receiptOf, routeReasonOf, say, StepFailed, type DemoSession, type Reply, type SimMarket } from './demo-support';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { apiUrl, ssmEndpoint, pauseMs } = demoSettings();
const KILL_SWITCH = controlParameterName(controlParameterPrefix('local'), CONTROL_PARAMETER.killSwitch);
/** The operator command that writes the kill switch in the local Parameter Store. */
const putKillSwitch = (value: 'on' | 'off'): string =>
  `  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --region us-east-1 --endpoint-url ${ssmEndpoint} ssm put-parameter --name ${KILL_SWITCH} --value ${value} --type String --overwrite`;
/** The operator command that turns LEAN back on (kill switch off). */
const LEAN_BACK_ON = putKillSwitch('off');
/** Leeway past the moment the simulator's fill is due, before the sync asks for it. */
const FILL_WAIT_MARGIN_MS = 300;
/** How far below the market the resting buy limits are: far enough that they never fill. */
const RESTING_LIMIT_SHARE = 0.9;
const ssm = localSsmClient(ssmEndpoint, { maxAttempts: 1 });

/** The steps, numbered as printed; a failure names its step. */
const STEPS = {
  reset: '0. A fresh start: the simulators healed, the router state reset',
  healthy: '1. LEAN is healthy: orders take the LEAN route',
  down: '2. LEAN goes down: its listener closes, so connections are refused',
  fallback: '3. Orders during the outage fall back to Alpaca with the same client_order_id',
  back: '4. LEAN comes back',
  recovered: '5. Orders after recovery take LEAN again',
  rows: '6. The provenance rows (GET /orders/{client_order_id}) and the broker orders',
  fills: '7. Orders fill at the broker, and the lifecycle sync writes the fills on the rows',
  cancel: '8. Cancel a resting order through the route that placed it',
  killed: '9. With LEAN killed, the cancel goes to Alpaca directly',
  final: '10. A filled order cannot be canceled: 409, and no broker is asked',
  totals: '11. What the simulators received over the whole demo',
} as const;
const demo = demoSession({ apiUrl, pauseMs, steps: STEPS, first: 'reset' });
const { call, pause, checked, step, simStates, healSimulators, resetRouter, readRow, syncNow, waitForControlCache } = demo;
// Annotated: TypeScript calls an assertion function only through a name declared with its type.
const mustHold: DemoSession<keyof typeof STEPS>['mustHold'] = demo.mustHold;

/** The kill switch as the routers read it (anything unreadable or missing is `on`), and its raw value. */
async function killSwitch(): Promise<{ state: 'on' | 'off'; value: string }> {
  try {
    const { Parameter } = await ssm.send(new GetParameterCommand({ Name: KILL_SWITCH }));
    const value = Parameter?.Value ?? '';
    return { state: parseKillSwitch(value).state, value };
  } catch (error) {
    throw new StepFailed(`cannot read ${KILL_SWITCH} at ${ssmEndpoint}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Turns the kill switch on or off in the Parameter Store, as an operator would, and reads it back. */
async function setKillSwitch(value: 'on' | 'off'): Promise<void> {
  await ssm.send(new PutParameterCommand({ Name: KILL_SWITCH, Value: value, Type: 'String', Overwrite: true }));
  const after = await killSwitch();
  mustHold(after.state === value, `${KILL_SWITCH} reads ${after.value} after the demo wrote ${value}`);
  checked(`${KILL_SWITCH} reads ${value}`);
}

const runId = demoRunId();
let sequence = 0;
const placed: string[] = [];
let leanTakenDown = false;
let killSwitchTurnedOn = false;
/** When the last market order was sent: its fill at the simulator is due a fill delay later. */
let lastMarketOrderAt = 0;

/** Sends one buy of 1, a market order or a day limit at `limitPrice`, and prints what the router answered; the row is checked afterwards. */
async function order(symbol: string, limitPrice?: string): Promise<string> {
  sequence += 1;
  const id = `demo-${runId}-${sequence}`;
  placed.push(id);
  const type = limitPrice === undefined ? { type: 'market' } : { type: 'limit', limit_price: limitPrice };
  if (limitPrice === undefined) lastMarketOrderAt = Date.now();
  const reply = await call('POST', '/orders', { client_order_id: id, symbol, side: 'buy', qty: '1', ...type, time_in_force: 'day', strategy_id: 'npm-run-demo' });
  const receipt = receiptOf(reply);
  const reason = routeReasonOf(reply, receipt);
  const limit = limitPrice === undefined ? '' : ` limit ${limitPrice}`;
  say(`  POST /orders ${id} ${symbol.padEnd(5)}${limit} -> ${reply.status} route ${String(receipt.execution_route ?? '-')} (${String(reason)})`);
  await pause(0.4);
  return id;
}

/** Sends `DELETE /orders/{id}` and prints the answer: status, error or cancel route and reason. */
async function cancel(id: string): Promise<Reply> {
  say(`  curl -s -X DELETE ${apiUrl}/orders/${id}`);
  const reply = await call('DELETE', `/orders/${encodeURIComponent(id)}`);
  const receipt = receiptOf(reply);
  const outcome = reply.status >= 400 ? `${String(reply.body.error)}: ${String(reply.body.message)}` : `cancel_route ${String(receipt.cancel_route)} (${String(receipt.cancel_route_reason)})`;
  say(`  -> ${reply.status} ${outcome}`);
  return reply;
}

/** A buy limit price the market is well above, as the simulator prices `symbol`. */
function restingLimit(market: SimMarket, symbol: string): string {
  const price = Number(market.prices?.[symbol] ?? market.defaultPrice ?? 100);
  return (Math.floor(price * RESTING_LIMIT_SHARE * 100) / 100).toFixed(2);
}

/** The simulators' cancel counters now. */
async function cancelCounts(): Promise<{ lean: number; alpaca: number }> {
  const sims = await simStates();
  return { lean: sims.lean?.requests?.cancel ?? 0, alpaca: sims.alpaca?.requests?.cancel ?? 0 };
}

/** Syncs, then checks the row's broker status is `canceled`. */
async function checkCanceledAfterSync(id: string): Promise<void> {
  await syncNow();
  const row = await readRow(id);
  mustHold(row.broker_status === 'canceled', `${id}: broker_status ${row.broker_status ?? '(none)'} after the sync, expected canceled`);
  checked(`${id} shows broker_status canceled after the sync (GET /orders/{id})`);
}

const reasonOf = (row: ProvenanceRow): string => row.execution_fallback_reason ?? row.execution_route_reason ?? '-';
const describeRow = (row: ProvenanceRow): string => `${row.client_order_id} ${row.symbol} is ${row.status} on route ${row.execution_route ?? '-'} (${reasonOf(row)})`;

/** Reads the rows back and checks each is accepted on `route`, for `reason` when given. */
async function checkRows(ids: readonly string[], route: ExecutionRoute, reason?: string): Promise<ProvenanceRow[]> {
  const rows = await Promise.all(ids.map(readRow));
  for (const row of rows) {
    const wanted = `accepted on route ${route}${reason === undefined ? '' : ` (${reason})`}`;
    mustHold(row.status === 'accepted' && row.execution_route === route && (reason === undefined || reasonOf(row) === reason), `${describeRow(row)}, expected ${wanted}`);
  }
  const reasons = [...new Set(rows.map(reasonOf))].join(', ');
  checked(`${rows.length} rows read back (GET /orders/{id}): accepted, route ${route} (${reasons})`);
  return rows;
}

async function main(): Promise<void> {
  const sims = await simStates();
  if (sims.lean === null) throw new Error('this stack uses a real LEAN runner (TRADING_LEAN_RUNNER_URL is set); the demo needs the simulator');
  if (sims.alpaca === null) throw new Error('this stack uses a real Alpaca (ALPACA_BASE_URL is set); the demo places orders, so it runs against the simulator only');
  say(`lean-router demo against ${apiUrl}: orders through LEAN, a LEAN outage, fallbacks to Alpaca, recovery, fills and cancels.`);
  say('Each step is checked against the rows the router wrote; the demo stops at the first that does not hold.');

  say(`\n== ${STEPS.reset}`);
  // Healed first, so the health-check the reset runs finds LEAN up and records it healthy.
  await healSimulators(sims);
  const start = await simStates();
  mustHold(start.lean?.up === true && Object.keys(start.lean.faults ?? {}).length === 0, `the LEAN simulator is not up without faults: ${JSON.stringify(start.lean)}`);
  mustHold(start.alpaca?.up === true && Object.keys(start.alpaca.faults ?? {}).length === 0, `the Alpaca simulator is not up without faults: ${JSON.stringify(start.alpaca)}`);
  checked('both simulators up, no faults in force');
  const askedAt = Date.now();
  const reset = await resetRouter();
  const cleared = [...reset.reset.reviews_cleared, ...reset.reset.fallback_counts_restarted];
  say(`  -> kill switch ${reset.kill_switch.state} (was ${reset.reset.kill_switch_was}); ${cleared.length === 0 ? 'no review or fallback count to clear' : `reviews and fallback counts cleared: ${cleared.join(', ')}`}`);
  mustHold(reset.kill_switch.state === 'off', `the kill switch is on again after the reset: ${reset.kill_switch.reason ?? 'no reason given'}`);
  mustHold(reset.symbols_in_review.length === 0, `symbols still in review after the reset: ${reset.symbols_in_review.join(', ')}`);
  checked(`kill switch off and no symbol in review (read back by the reset from ${KILL_SWITCH} and manual-review/)`);
  mustHold(Date.parse(reset.route_handler_since) >= askedAt, `the route handler in service dates from ${reset.route_handler_since}, before the reset`);
  checked(`a new route handler since ${reset.route_handler_since}: its breaker closed, its control cache empty`);
  const settings = reset.settings;

  // Five successes before the two failures: the health-check's LEAN error rate (trips the kill
  // switch above 25% of at least 10 submits in 5 minutes, counted from the reset) stays below it.
  await step('healthy');
  const healthy: string[] = [];
  for (const symbol of ['AAPL', 'MSFT', 'GOOGL', 'META', 'JPM']) healthy.push(await order(symbol));
  await checkRows(healthy, 'lean');

  await step('down');
  say(`  curl -s -X POST ${apiUrl}${SIM_ADMIN_ROOT}/lean/faults -d '{"down":true}'`);
  leanTakenDown = true;
  const down = await call('POST', `${SIM_ADMIN_ROOT}/lean/faults`, { down: true });
  say(`  -> ${down.status} ${JSON.stringify(down.body)}`);
  const whileDown = await simStates();
  mustHold(down.status === 200 && whileDown.lean?.up === false, `the LEAN simulator is still up: ${down.status} ${JSON.stringify(down.body)}`);
  checked(`GET ${SIM_ADMIN_ROOT} says the LEAN simulator is down (up: false)`);

  await step('fallback');
  // Fewer failures in a row than open the breaker (LEAN then skipped for its cool-down), each on
  // its own symbol (repeated fallbacks of one symbol put it in manual review); both would hide the
  // recovery this walk shows.
  const outage = ['NVDA', 'AMZN'].slice(0, Math.max(1, settings.breaker_failure_threshold - 1));
  say(`  (${outage.length} order${outage.length === 1 ? '' : 's'} on ${outage.length === 1 ? 'one symbol' : 'two symbols'}: ${settings.breaker_failure_threshold} failures in a row would open the breaker, and`);
  say(`   ${settings.manual_review_fallbacks} fallbacks of one symbol within ${settings.manual_review_window_ms / 60_000} minutes put that symbol into manual review)`);
  const fellBack: string[] = [];
  for (const symbol of outage) fellBack.push(await order(symbol));
  const fallbackRows = await checkRows(fellBack, 'alpaca_fallback', 'lean_submit_network_error');
  for (const row of fallbackRows) {
    const acked = row.raw_payload?.client_order_id;
    mustHold(acked === row.client_order_id, `${row.client_order_id}: Alpaca's acknowledgement carries client_order_id ${JSON.stringify(acked)}`);
  }
  checked("Alpaca's acknowledgement on each row carries the order's own client_order_id");

  await step('back');
  say(`  curl -s -X POST ${apiUrl}${SIM_ADMIN_ROOT}/lean/faults -d '{}'`);
  const healed = await call('POST', `${SIM_ADMIN_ROOT}/lean/faults`, {});
  leanTakenDown = false;
  say(`  -> ${healed.status} ${JSON.stringify(healed.body)}`);
  const afterOutage = await simStates();
  mustHold(healed.status === 200 && afterOutage.lean?.up === true, `the LEAN simulator did not come back up: ${healed.status} ${JSON.stringify(healed.body)}`);
  checked(`GET ${SIM_ADMIN_ROOT} says the LEAN simulator is up again`);
  const tripped = await killSwitch();
  if (tripped.state === 'on') {
    // Only an automatic trip can have switched it on since the reset; it is latched by design.
    say(`  The kill switch was tripped during the outage (${tripped.value}).`);
    say('  An automatic trip stays on until an operator clears it; doing that now, as an operator would:');
    say(LEAN_BACK_ON);
    await setKillSwitch('off');
    await waitForControlCache(settings.control_max_age_ms);
  } else {
    checked(`the kill switch is still off (${KILL_SWITCH} read back)`);
  }

  await step('recovered');
  const recovered: string[] = [];
  for (const symbol of ['TSLA', 'V', 'WMT']) recovered.push(await order(symbol));
  const recoveredRows = await checkRows(recovered, 'lean');
  for (const row of recoveredRows) {
    mustHold(row.policy_snapshot.kill_switch === 'off', `${row.client_order_id}: the router saw the kill switch ${row.policy_snapshot.kill_switch}`);
  }
  checked(`the router saw the kill switch off on each (policy_snapshot.kill_switch; control values ${[...new Set(recoveredRows.map((row) => row.policy_snapshot.control_source))].join(', ')})`);

  await step('rows');
  const rows = await Promise.all(placed.map(readRow));
  printRows(rows);
  const end = await simStates();
  const leanSubmits = (end.lean?.requests?.submit ?? 0) - (start.lean?.requests?.submit ?? 0);
  const brokerOrders = (end.alpaca?.orders_placed ?? 0) - (start.alpaca?.orders_placed ?? 0);
  const onLean = healthy.length + recovered.length;
  // Another client sending orders to the same stack meanwhile would also change these counts.
  mustHold(
    leanSubmits === onLean,
    `the LEAN simulator received ${leanSubmits} submits during the demo, expected ${onLean} (one per order on the LEAN route; those during the outage were refused)`,
  );
  checked(`the LEAN simulator received ${leanSubmits} submits: one per order on the LEAN route, none during the outage`);
  mustHold(brokerOrders === placed.length, `the Alpaca simulator holds ${brokerOrders} new orders, expected ${placed.length} (one per order)`);
  checked(`the Alpaca simulator holds ${brokerOrders} new orders: exactly one per order (LEAN places its orders there too)`);

  await step('fills');
  const market = end.alpaca?.market ?? {};
  mustHold(
    market.fillDelayMs !== undefined,
    `the Alpaca simulator's market does not fill orders by itself (no fillDelayMs: ${JSON.stringify(market)}); POST ${SIM_ADMIN_ROOT}/alpaca/market with a fillDelayMs, or restart npm start`,
  );
  // A market order fills in one step, or two with partial fills; each step is due a delay after the last.
  const dueAt = lastMarketOrderAt + market.fillDelayMs * (market.partial === true ? 2 : 1) + FILL_WAIT_MARGIN_MS;
  say(`  (the Alpaca simulator fills a market order ${market.fillDelayMs / 1000} s after its last change; waiting until the last one's fill is due)`);
  await sleep(Math.max(0, dueAt - Date.now()));
  await syncNow();
  const marketOrders = [...placed];
  const filledRows = await Promise.all(marketOrders.map(readRow));
  for (const row of filledRows) {
    mustHold(
      row.broker_status === 'filled' && row.filled_qty === row.qty && row.filled_avg_price !== undefined,
      `${row.client_order_id} ${row.symbol}: broker_status ${row.broker_status ?? '(none)'}, filled_qty ${row.filled_qty ?? '(none)'} of ${row.qty ?? '(none)'}, filled_avg_price ${row.filled_avg_price ?? '(none)'}; expected filled in full at a price`,
    );
  }
  say(
    textTable(
      ['symbol', 'route', 'expected', 'fallback reason', 'broker status', 'filled', 'avg price'],
      filledRows.map((row) => [row.symbol, row.execution_route ?? '-', row.execution_expected_adapter, row.execution_fallback_reason ?? '-', row.broker_status ?? '-', row.filled_qty ?? '-', row.filled_avg_price ?? '-']),
    ),
  );
  checked(`${filledRows.length} rows read back: broker_status filled, filled_qty equal to the qty, a filled_avg_price, whichever route placed them`);
  say('  Each change was logged as one `reconciliation` line: in the npm start terminal, JSON lines with "message":"reconciliation",');
  say('  client_order_id, actual and expected adapter, fallback_reason, from_status, to_status, filled_qty and filled_avg_price');
  say('  (a scheduled run may have written a row\'s earlier change, or its fill, before this one).');

  await step('cancel');
  const cancelSymbol = 'DIS';
  const lowLimit = restingLimit(market, cancelSymbol);
  say(`  (a buy limit at ${lowLimit}, below the simulator's ${cancelSymbol} price of ${market.prices?.[cancelSymbol] ?? market.defaultPrice ?? '100'}: it rests, unfilled)`);
  const resting = await order(cancelSymbol, lowLimit);
  await checkRows([resting], 'lean');
  const beforeLeanCancel = await cancelCounts();
  const leanCancel = await cancel(resting);
  mustHold(
    leanCancel.status === 202 && leanCancel.body.cancel_route === 'lean' && leanCancel.body.cancel_route_reason === 'placed_by_lean',
    `DELETE /orders/${resting} answered ${leanCancel.status} ${JSON.stringify(leanCancel.body)}, expected 202 with cancel_route lean (placed_by_lean)`,
  );
  checked('202: the cancel went to LEAN, the route that placed the order (cancel_route lean, placed_by_lean)');
  const afterLeanCancel = await cancelCounts();
  mustHold(afterLeanCancel.lean === beforeLeanCancel.lean + 1, `the LEAN simulator's cancel count went from ${beforeLeanCancel.lean} to ${afterLeanCancel.lean}, expected one more`);
  checked(`the LEAN simulator received one cancel (GET ${SIM_ADMIN_ROOT}: lean requests.cancel ${beforeLeanCancel.lean} -> ${afterLeanCancel.lean}); it cancels at Alpaca, the account both trade`);
  await checkCanceledAfterSync(resting);

  await step('killed');
  const killedSymbol = 'KO';
  const restingToo = await order(killedSymbol, restingLimit(market, killedSymbol));
  await checkRows([restingToo], 'lean');
  say('  Switching LEAN off, as an operator would:');
  say(putKillSwitch('on'));
  killSwitchTurnedOn = true;
  await setKillSwitch('on');
  await waitForControlCache(settings.control_max_age_ms);
  const beforeGatedCancel = await cancelCounts();
  const gatedCancel = await cancel(restingToo);
  mustHold(
    gatedCancel.status === 202 && gatedCancel.body.cancel_route === 'alpaca_gated' && gatedCancel.body.cancel_route_reason === 'kill_switch',
    `DELETE /orders/${restingToo} answered ${gatedCancel.status} ${JSON.stringify(gatedCancel.body)}, expected 202 with cancel_route alpaca_gated (kill_switch)`,
  );
  checked('202: LEAN is off, so the cancel of its order went to Alpaca directly (cancel_route alpaca_gated, kill_switch)');
  const afterGatedCancel = await cancelCounts();
  mustHold(
    afterGatedCancel.lean === beforeGatedCancel.lean && afterGatedCancel.alpaca === beforeGatedCancel.alpaca + 1,
    `cancel counts went from LEAN ${beforeGatedCancel.lean}, Alpaca ${beforeGatedCancel.alpaca} to LEAN ${afterGatedCancel.lean}, Alpaca ${afterGatedCancel.alpaca}; expected LEAN unchanged, Alpaca one more`,
  );
  checked(`the LEAN simulator received no cancel (requests.cancel still ${afterGatedCancel.lean}); the Alpaca simulator one (${beforeGatedCancel.alpaca} -> ${afterGatedCancel.alpaca})`);
  say('  Switching LEAN back on, leaving the stack as the demo found it:');
  say(LEAN_BACK_ON);
  await setKillSwitch('off');
  killSwitchTurnedOn = false;
  await checkCanceledAfterSync(restingToo);

  await step('final');
  const filledId = healthy[0]!;
  const beforeFinal = await cancelCounts();
  const finalCancel = await cancel(filledId);
  mustHold(
    finalCancel.status === 409 && finalCancel.body.error === 'order_final',
    `DELETE /orders/${filledId} answered ${finalCancel.status} ${JSON.stringify(finalCancel.body)}, expected 409 order_final`,
  );
  checked(`409 order_final: ${filledId} is filled, as its row says`);
  const afterFinal = await cancelCounts();
  mustHold(
    afterFinal.lean === beforeFinal.lean && afterFinal.alpaca === beforeFinal.alpaca,
    `cancel counts went from LEAN ${beforeFinal.lean}, Alpaca ${beforeFinal.alpaca} to LEAN ${afterFinal.lean}, Alpaca ${afterFinal.alpaca}; expected no broker asked`,
  );
  checked('no broker was asked: neither simulator\'s cancel count moved');

  await step('totals');
  const total = await simStates();
  const limitOrders = [resting, restingToo];
  const allLeanSubmits = (total.lean?.requests?.submit ?? 0) - (start.lean?.requests?.submit ?? 0);
  const allBrokerOrders = (total.alpaca?.orders_placed ?? 0) - (start.alpaca?.orders_placed ?? 0);
  const onLeanInAll = onLean + limitOrders.length;
  mustHold(allLeanSubmits === onLeanInAll, `the LEAN simulator received ${allLeanSubmits} submits during the demo, expected ${onLeanInAll} (the ${onLean} market orders on the LEAN route and the ${limitOrders.length} limits)`);
  checked(`the LEAN simulator received ${allLeanSubmits} submits: ${onLean} market orders and ${limitOrders.length} limits on the LEAN route`);
  mustHold(allBrokerOrders === placed.length, `the Alpaca simulator holds ${allBrokerOrders} new orders, expected ${placed.length} (one per order)`);
  checked(`the Alpaca simulator holds ${allBrokerOrders} new orders: one per order, the limits included; no cancel placed anything`);

  const finalKill = await killSwitch();
  if (finalKill.state === 'on') {
    say(`\nThe kill switch is now on (${finalKill.value}): LEAN stays off until an operator turns it back on:`);
    say(LEAN_BACK_ON);
  }
  say(`\nAll ${demo.checks()} checks held. Start again from a clean router state with: curl -s -X POST ${apiUrl}${ROUTER_ADMIN_ROOT}/reset`);
  say('More: npx lean-router orders --route alpaca_fallback, npx lean-router order <client_order_id>, npx lean-router cancel <client_order_id>');
}

function printRows(rows: readonly ProvenanceRow[]): void {
  const attempts = (row: ProvenanceRow): string =>
    (row.execution_attempts ?? []).map((a) => `${a.adapter} ${a.operation} ${a.outcome}${a.reason ? ` (${a.reason})` : ''}`).join(' > ');
  say(
    textTable(
      ['client_order_id', 'symbol', 'status', 'expected', 'route', 'reason', 'attempts'],
      rows.map((row) => [row.client_order_id, row.symbol, row.status, row.execution_expected_adapter, row.execution_route ?? '-', reasonOf(row), attempts(row)]),
    ),
  );
}

try {
  await main();
} catch (error) {
  // Leave LEAN up rather than down if the walk stopped half way.
  if (leanTakenDown) await call('POST', `${SIM_ADMIN_ROOT}/lean/faults`, {}).catch(() => undefined);
  // And the kill switch off if the demo had turned it on.
  if (killSwitchTurnedOn) await ssm.send(new PutParameterCommand({ Name: KILL_SWITCH, Value: 'off', Type: 'String', Overwrite: true })).catch(() => undefined);
  console.error(`lean-router demo: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  ssm.destroy();
}
