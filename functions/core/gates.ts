import type { ControlSnapshot } from './control';
import { isStrategyEnabled, type StrategyEnablementMode } from './strategy-enablement';

/** The gates, in precedence order (docs/architecture.md); each turns an expected `lean` into `alpaca_gated`. */
export const GATE_PRECEDENCE = ['kill_switch', 'runner_health_stale', 'strategy_not_enabled', 'symbol_manual_review', 'breaker_open'] as const;

/** Why LEAN was skipped for an order that policy sent to LEAN; a bounded metric dimension. */
export type GateReason = (typeof GATE_PRECEDENCE)[number];

/** The order's strategy and whether the effective policy requires it to be enabled. */
export interface StrategyGateInput {
  readonly strategyId: string | undefined;
  readonly enablement: StrategyEnablementMode;
}

/** Enablement not required: the strategy gate never holds. */
const ENABLEMENT_OFF: StrategyGateInput = { strategyId: undefined, enablement: 'off' };

/**
 * The control-plane gates that hold for one order, highest precedence first. The breaker is not
 * here: asking it may take its single trial slot, so the caller asks only when these are clear.
 * `strategy_not_enabled` holds only when enablement is required and the order's strategy does not
 * read `enabled` (no strategy_id, no parameter, `shadow`, `blocked`, unreadable).
 */
export function controlGates(
  control: ControlSnapshot,
  symbol: string,
  now: Date,
  runnerHealthStaleMs: number,
  strategy: StrategyGateInput = ENABLEMENT_OFF,
): GateReason[] {
  const gates: GateReason[] = [];
  if (control.killSwitch.state === 'on') gates.push('kill_switch');
  if (isRunnerHealthStale(control, now, runnerHealthStaleMs)) gates.push('runner_health_stale');
  if (!isStrategyEnabled(control.strategies, strategy.strategyId, strategy.enablement)) gates.push('strategy_not_enabled');
  if (control.reviews.get(symbol)?.state === 'review') gates.push('symbol_manual_review');
  return gates;
}

/**
 * How far ahead of this clock a recorded probe may be and still count: the health-check's and the
 * routers' clocks differ by little. A probe further ahead was never made (a hand-written or
 * corrupt value), and it must not keep LEAN open until that date comes.
 */
export const PROBE_CLOCK_SKEW_MS = 60_000;

/**
 * True when no healthy probe is recorded within the staleness limit, including when none is
 * recorded at all, or when the one recorded is dated in the future beyond {@link PROBE_CLOCK_SKEW_MS}.
 */
export function isRunnerHealthStale(control: Pick<ControlSnapshot, 'leanHealth'>, now: Date, staleMs: number): boolean {
  const lastOk = control.leanHealth?.last_ok_at;
  // Stryker disable next-line ConditionalExpression,LogicalOperator: Date.parse of null or undefined is NaN, which the line below also reads as stale
  if (lastOk === undefined || lastOk === null) return true;
  const at = Date.parse(lastOk);
  const age = now.getTime() - at;
  return Number.isNaN(at) || age > staleMs || -age > PROBE_CLOCK_SKEW_MS;
}
