import { describe, expect, it } from 'vitest';
import { buildParityReport, type ParityReport, type ParityRow, type ParityThresholds } from '../../functions/core/parity';
import type { StrategyEnablement } from '../../functions/core/strategy-enablement';
import { decideEnable, decideSetState, strategyListText, strategyStateLine, type StrategyChange } from '../../lib/cli/strategy-decision';
import { parityRow } from '../support/parity-rows';

/**
 * What the strategy commands decide before anything is written: given the parameter as read and
 * the parity reports, a value to write, nothing to change, or a refusal naming each failing check.
 */

const NOW = new Date('2026-12-02T06:00:00.000Z');
const WINDOW = { since: '2026-11-25T06:00:00.000Z', until: '2026-12-02T06:00:00.000Z' };
const THRESHOLDS: ParityThresholds = { minOrdersPerCohort: 2, maxFillRateDifference: 0.05, maxMedianSlippageDifferenceBps: 5 };
const PARAMETER = '/lean-router/paper/strategies/momentum-1';
const CHANGE: StrategyChange = { strategyId: 'momentum-1', parameter: PARAMETER, current: undefined, by: 'alice' };

/** Two LEAN and two Alpaca buys filled at `lean` and `alpaca` against a reference of 100. */
function parity(stage: string, lean: string, alpaca: string, options: { truncated?: boolean } = {}): ParityReport {
  const row = (id: string, route: 'lean' | 'alpaca', fill: string): ParityRow => parityRow({ client_order_id: id, execution_route: route, filled_avg_price: fill });
  const rows = [row('l1', 'lean', lean), row('l2', 'lean', lean), row('a1', 'alpaca', alpaca), row('a2', 'alpaca', alpaca)];
  return buildParityReport(rows, { stage, strategyId: 'momentum-1', ...WINDOW }, THRESHOLDS, NOW, options);
}

const PASSING = parity('paper', '100.01', '100.01');
const SLIPPING = parity('paper', '100.20', '100.01');

function state(value: Partial<StrategyEnablement> & Pick<StrategyEnablement, 'state'>): StrategyEnablement {
  return { strategy_id: 'momentum-1', ...value };
}

describe('strategy enable', () => {
  it('writes enabled with a reason saying the checks passed, and over which window, when every check passes', () => {
    const decision = decideEnable(CHANGE, { stage: PASSING });

    expect(decision).toMatchObject({ kind: 'write', state: 'enabled', reason: `parity checks passed on paper, ${WINDOW.since} to ${WINDOW.until}` });
  });

  it("keeps the operator's --reason when one is given", () => {
    const decision = decideEnable({ ...CHANGE, reason: 'reviewed with risk' }, { stage: PASSING });

    expect(decision).toMatchObject({ kind: 'write', reason: 'reviewed with risk' });
  });

  it('says what changed: from shadow to enabled', () => {
    const decision = decideEnable({ ...CHANGE, current: state({ state: 'shadow' }) }, { stage: PASSING });

    expect(decision.text).toMatch(/^\/lean-router\/paper\/strategies\/momentum-1: shadow -> enabled \(parity checks passed on paper, .*, by alice\)/);
  });

  it('refuses, writing nothing, and names the failing check with its numbers when LEAN slips beyond the tolerance', () => {
    const decision = decideEnable({ ...CHANGE, current: state({ state: 'shadow' }) }, { stage: SLIPPING });

    expect(decision.kind).toBe('refused');
    expect(decision.text).toContain('refused: momentum-1 stays shadow on stage paper; nothing was written');
    expect(decision.text).toContain(`  FAIL median_slippage_difference (${WINDOW.since} to ${WINDOW.until}): routed 20.0 bps vs non-routed 1.0 bps: 19.0 bps apart, at most 5.0 bps`);
    expect(decision.kind === 'refused' && decision.failing.map((check) => `${check.stage} ${check.name}`)).toEqual(['paper median_slippage_difference']);
  });

  it('names every failing check, not only the first', () => {
    const thin = buildParityReport([], { stage: 'paper', strategyId: 'momentum-1', ...WINDOW }, THRESHOLDS, NOW);

    const decision = decideEnable(CHANGE, { stage: thin });

    expect(decision.kind === 'refused' && decision.failing.map((check) => check.name)).toEqual([
      'min_orders_routed',
      'min_orders_non_routed',
      'fill_rate_difference',
      'median_slippage_difference',
    ]);
  });

  it('refuses a truncated report even when its checks pass, and says to narrow the window', () => {
    const decision = decideEnable(CHANGE, { stage: parity('paper', '100.01', '100.01', { truncated: true }) });

    expect(decision.kind).toBe('refused');
    expect(decision.text).toMatch(/TRUNCATED .*narrow the window with --since/);
  });

  it('refuses a blocked strategy whose checks fail, explaining the block and how it is lifted', () => {
    const blocked = state({ state: 'blocked', reason: 'route_divergence: ord-9 LEAN a vs Alpaca b', set_by: 'lifecycle-sync', set_at: '2026-12-01T10:00:00.000Z' });

    const decision = decideEnable({ ...CHANGE, current: blocked }, { stage: SLIPPING });

    expect(decision.kind).toBe('refused');
    expect(decision.text).toContain(
      'momentum-1 is blocked (route_divergence: ord-9 LEAN a vs Alpaca b, by lifecycle-sync, at 2026-12-01T10:00:00.000Z): a block is latched; enabling lifts it, once every parity check passes',
    );
  });

  it('lifts a block once the checks pass, and says so', () => {
    const blocked = state({ state: 'blocked', reason: 'route_divergence: ord-9 LEAN a vs Alpaca b' });

    const decision = decideEnable({ ...CHANGE, current: blocked }, { stage: PASSING });

    expect(decision.kind).toBe('write');
    expect(decision.text).toContain('blocked -> enabled');
    expect(decision.text).toContain('the block (route_divergence: ord-9 LEAN a vs Alpaca b) is lifted');
  });

  it('writes nothing for a strategy already enabled', () => {
    const decision = decideEnable({ ...CHANGE, current: state({ state: 'enabled', reason: 'ok', set_by: 'bob' }) }, { stage: PASSING });

    expect(decision).toEqual({ kind: 'unchanged', text: 'momentum-1 is already enabled (ok, by bob): nothing changed' });
  });

  it('notes the checks that fail now for a strategy already enabled, still writing nothing', () => {
    const decision = decideEnable({ ...CHANGE, current: state({ state: 'enabled' }) }, { stage: SLIPPING });

    expect(decision.kind).toBe('unchanged');
    expect(decision.text).toContain('note: its parity checks do not pass now (paper median_slippage_difference): disable or block it to take LEAN away');
  });
});

describe('strategy enable on live', () => {
  const LIVE_PASSING = parity('live', '100.01', '100.01');

  it('refuses while the paper report fails, saying paper must pass first, even though live passes', () => {
    const decision = decideEnable(CHANGE, { stage: LIVE_PASSING, paper: SLIPPING });

    expect(decision.kind).toBe('refused');
    expect(decision.text).toContain("the strategy's paper report must pass before live, and it does not:");
    expect(decision.kind === 'refused' && decision.failing.map((check) => `${check.stage} ${check.name}`)).toEqual(['paper median_slippage_difference']);
  });

  it("enables live on the strength of paper, whatever live's own cohorts show: a strategy not yet enabled sends LEAN nothing there", () => {
    const decision = decideEnable(CHANGE, { stage: parity('live', '100.30', '100.01'), paper: PASSING });

    expect(decision).toMatchObject({ kind: 'write', state: 'enabled' });
  });

  it('refuses live when paper passes but live holds a divergent id, saying which passed', () => {
    const live = parity('live', '100.01', '100.01');
    const divergent: ParityReport = { ...live, passed: false, checks: live.checks.map((check) => (check.name === 'divergent_ids' ? { ...check, passed: false, detail: '1 divergent id' } : check)) };

    const decision = decideEnable(CHANGE, { stage: divergent, paper: PASSING });

    expect(decision).toMatchObject({ kind: 'refused', failing: [expect.objectContaining({ stage: 'live', name: 'divergent_ids' })] });
    expect(decision.text).toContain('its paper report passes');
    expect(decision.text).toContain('its live report holds it back:');
    expect(decision.text).toContain('lean-router strategy show momentum-1 --stage live');
  });

  it('enables when both reports pass, naming both stages in the reason', () => {
    const decision = decideEnable(CHANGE, { stage: LIVE_PASSING, paper: PASSING });

    expect(decision).toMatchObject({ kind: 'write', state: 'enabled', reason: expect.stringMatching(/^parity checks passed on paper and live, /) });
  });
});

describe('strategy disable and block', () => {
  it('disable writes shadow, the control cohort, with the reason', () => {
    const decision = decideSetState({ ...CHANGE, current: state({ state: 'enabled' }), reason: 'drawdown review' }, 'shadow');

    expect(decision).toMatchObject({ kind: 'write', state: 'shadow', reason: 'drawdown review' });
    expect(decision.text).toContain('enabled -> shadow (drawdown review, by alice): where the stage requires enablement, LEAN is not used for its orders, which form the control cohort');
  });

  it('block writes blocked for a strategy without a parameter', () => {
    const decision = decideSetState({ ...CHANGE, reason: 'desk request' }, 'blocked');

    expect(decision.kind).toBe('write');
    expect(decision.text).toContain('(no parameter) -> blocked (desk request, by alice)');
  });

  it('writes nothing when the strategy is already in that state, keeping its reason', () => {
    const decision = decideSetState({ ...CHANGE, current: state({ state: 'blocked', reason: 'first' }), reason: 'second' }, 'blocked');

    expect(decision).toEqual({ kind: 'unchanged', text: 'momentum-1 is already blocked (first): nothing changed' });
  });
});

describe('strategy list and show text', () => {
  it('lists each strategy with its state, reason, who and when, falling back to the modification time', () => {
    const text = strategyListText('/lean-router/paper/', [
      { ...state({ state: 'enabled', reason: 'passed', set_by: 'alice', set_at: '2026-12-01T00:00:00.000Z' }), parameter: PARAMETER },
      { strategy_id: 'typed-by-hand', state: 'shadow', parameter: '/lean-router/paper/strategies/typed-by-hand', modifiedAt: '2026-11-30T00:00:00.000Z' },
    ], []);

    expect(text).toMatch(/^momentum-1 +enabled +passed +alice +2026-12-01T00:00:00\.000Z$/m);
    expect(text).toMatch(/^typed-by-hand +shadow +2026-11-30T00:00:00\.000Z$/m);
  });

  it('says no strategy is enabled when there is no parameter', () => {
    expect(strategyListText('/lean-router/paper/', [], [])).toMatch(/^no strategy parameter under \/lean-router\/paper\/strategies\/: no strategy is enabled/);
  });

  it('shows a strategy without a parameter as not enabled', () => {
    expect(strategyStateLine('momentum-1', 'paper', PARAMETER, undefined)).toBe(
      `strategy momentum-1 on stage paper: no parameter ${PARAMETER}, so not enabled (when the stage requires enablement, LEAN takes none of its orders)`,
    );
  });
});
