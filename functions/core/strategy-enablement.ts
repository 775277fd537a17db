import * as z from 'zod/mini';
import './zod-locale';
import { dropUndefined, parseJsonOrUndefined } from './objects';

/**
 * Strategy enablement: whether a strategy's orders may use LEAN when the stage requires it. The
 * value lives in SSM `strategies/<strategy_id>`; anything unreadable reads as `blocked`, the side
 * that keeps LEAN off.
 */

/** `shadow`: LEAN not used (the control cohort); `enabled`: LEAN allowed; `blocked`: LEAN refused until an operator acts. */
export type StrategyState = 'shadow' | 'enabled' | 'blocked';

/** The states, as the parameter spells them. */
const STRATEGY_STATES = ['shadow', 'enabled', 'blocked'] as const satisfies readonly StrategyState[];

/** One strategy's `strategies/<strategy_id>` parameter, as read. */
export interface StrategyEnablement {
  readonly strategy_id: string;
  readonly state: StrategyState;
  readonly reason?: string;
  readonly set_by?: string;
  readonly set_at?: string;
}

/** Whether the stage gates orders on their strategy's enablement (`TRADING_STRATEGY_ENABLEMENT`, the policy's `strategy_enablement`). */
export type StrategyEnablementMode = 'required' | 'off';

/** The values `strategy_enablement` takes, in the environment and in the `policy` parameter. */
export const strategyEnablementSchema = z.enum(['required', 'off']);

const strategyJson = z.object({
  state: z.enum(STRATEGY_STATES),
  reason: z.optional(z.string()),
  set_by: z.optional(z.string()),
  set_at: z.optional(z.string()),
});

/**
 * Reads one `strategies/<strategy_id>` value: JSON `{state, reason?, set_by?, set_at?}`, or a bare
 * state (`enabled`, any case) as a hand-typed `put-parameter` might write it. Anything else is
 * `blocked`, with a reason that says why: an unreadable value must never enable LEAN.
 */
export function parseStrategyEnablement(strategyId: string, raw: string): StrategyEnablement {
  const plain = raw.trim().toLowerCase();
  if ((STRATEGY_STATES as readonly string[]).includes(plain)) return { strategy_id: strategyId, state: plain as StrategyState };
  const parsed = strategyJson.safeParse(parseJsonOrUndefined(raw));
  if (parsed.success) return { strategy_id: strategyId, ...dropUndefined(parsed.data) };
  return {
    strategy_id: strategyId,
    state: 'blocked',
    reason: `strategies/${strategyId} value ${JSON.stringify(raw.slice(0, 64))} is not shadow, enabled, blocked or the JSON form`,
  };
}

/** Serializes a state in the JSON form operators read back (`aws ssm get-parameter`, the CLI). */
export function strategyEnablementValue(state: StrategyState, reason: string, setBy: string, at: Date): string {
  return JSON.stringify({ state, reason, set_by: setBy, set_at: at.toISOString() });
}

/** Where the lifecycle sync blocks a strategy (SSM `strategies/<strategy_id>`). */
export interface StrategyControl {
  /** Writes `blocked` with the reason and who, whatever the strategy held; throws when the write is refused. */
  blockStrategy(strategyId: string, reason: string, setBy: string): Promise<void>;
}

/** The reason the lifecycle sync writes when a LEAN acknowledgement names an order Alpaca does not hold. */
export function divergenceBlockReason(clientOrderId: string, leanOrderId: string, alpacaOrderId: string): string {
  return `route_divergence: ${clientOrderId} LEAN ${leanOrderId} vs Alpaca ${alpacaOrderId}`;
}

/**
 * True when an order may use LEAN as far as enablement goes: always when enablement is `off`;
 * when `required`, only for an order with a strategy whose parameter reads `enabled`. No
 * strategy_id, no parameter, `shadow`, `blocked` and unreadable all keep LEAN off.
 */
export function isStrategyEnabled(
  strategies: ReadonlyMap<string, StrategyEnablement>,
  strategyId: string | undefined,
  mode: StrategyEnablementMode,
): boolean {
  if (mode === 'off') return true;
  return strategyId !== undefined && strategies.get(strategyId)?.state === 'enabled';
}
