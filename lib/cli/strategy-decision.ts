import type { ParityCheck, ParityReport } from '../../functions/core/parity';
import type { StrategyEnablement, StrategyState } from '../../functions/core/strategy-enablement';
import { textTable } from './text-table';

/**
 * What `strategy enable|disable|block` decide, given the parameter as read and, for enable, the
 * parity reports: a value to write, nothing to change, or a refusal. Pure, so every rule is tested
 * without a stage: the commands read, call this, and write at most once.
 */

/** The outcome of one strategy command, before anything is written. */
export type StrategyDecision =
  | {
      readonly kind: 'write';
      /** What to write: the state and why; who is the change's `by`, when is the write's time. */
      readonly state: StrategyState;
      readonly reason: string;
      /** What changed, in words. */
      readonly text: string;
    }
  | { readonly kind: 'unchanged'; readonly text: string }
  | {
      readonly kind: 'refused';
      /** Why, the failing checks named with their numbers; printed after `lean-router strategy enable: `. */
      readonly text: string;
      readonly failing: readonly FailingCheck[];
    };

/** A decision that writes or leaves the parameter as it is: what disable and block always come to. */
export type StrategyDecisionApplied = Exclude<StrategyDecision, { readonly kind: 'refused' }>;

/** A check that failed, with the stage whose report it belongs to. */
export interface FailingCheck extends ParityCheck {
  readonly stage: string;
}

/** What a strategy command knows when it decides. */
export interface StrategyChange {
  readonly strategyId: string;
  /** The full parameter name, for messages. */
  readonly parameter: string;
  /** The parameter as read; undefined when there is none. */
  readonly current: StrategyEnablement | undefined;
  readonly by: string;
}

/** The reports an enable is judged on. */
export interface EnableReports {
  /** The report of the stage being enabled. */
  readonly stage: ParityReport;
  /**
   * With `--stage live`: the paper report, which must pass first. Live is then judged on paper's
   * figures and only its own divergent ids: where live requires enablement, a strategy not yet
   * enabled sends LEAN nothing there, so its live cohorts cannot reach a sample.
   */
  readonly paper?: ParityReport;
}

/** The checks of the stage's own report that hold an enable back: all of them, or on live (judged on paper) the divergent ids and a truncated read. */
function stageHolds(report: ParityReport, judgedOnPaper: boolean): boolean {
  if (!judgedOnPaper) return !report.passed;
  return report.truncated || report.checks.some((check) => check.name === 'divergent_ids' && !check.passed);
}

/** The failing checks of the stage's own report that count. */
function countingChecks(report: ParityReport, judgedOnPaper: boolean): ParityReport {
  if (!judgedOnPaper) return report;
  const checks = report.checks.filter((check) => check.name === 'divergent_ids');
  return { ...report, checks, passed: !report.truncated && checks.every((check) => check.passed) };
}

/**
 * `strategy enable`: writes `enabled` only when every report passes (the paper one first, for
 * live). A strategy already enabled is left as it is; a blocked one is enabled, lifting its
 * block, under the same condition, and its refusal says what the block was.
 */
export function decideEnable(change: StrategyChange & { readonly reason?: string }, reports: EnableReports): StrategyDecision {
  const { strategyId, current } = change;
  const all = reports.paper === undefined ? [reports.stage] : [reports.paper, countingChecks(reports.stage, true)];
  if (current?.state === 'enabled') {
    const failingNow = failingChecks(all);
    const note =
      failingNow.length === 0 && all.every((report) => report.passed)
        ? ''
        : `; note: its parity checks do not pass now (${[...failingNow.map((check) => `${check.stage} ${check.name}`), ...all.filter((report) => report.truncated).map((report) => `${report.stage} truncated`)].join(', ')}): disable or block it to take LEAN away`;
    return { kind: 'unchanged', text: `${strategyId} is already enabled${describeState(current)}: nothing changed${note}` };
  }
  const refusal = enableRefusal(change, reports);
  if (refusal !== undefined) return refusal;
  const stages = all.map((report) => report.stage).join(' and ');
  const reason = change.reason ?? `parity checks passed on ${stages}, ${reports.stage.since} to ${reports.stage.until}`;
  const lifted = current?.state === 'blocked' ? `; the block (${current.reason ?? 'no reason given'}) is lifted` : '';
  return {
    kind: 'write',
    state: 'enabled',
    reason,
    text: `${change.parameter}: ${stateName(current)} -> enabled (${reason}, by ${change.by})${lifted}; every parity check passed on ${stages}`,
  };
}

/** `strategy disable` (to `shadow`) and `strategy block` (to `blocked`): no check, only the state as read. */
export function decideSetState(change: StrategyChange & { readonly reason: string }, state: 'shadow' | 'blocked'): StrategyDecisionApplied {
  const { strategyId, current } = change;
  if (current?.state === state) return { kind: 'unchanged', text: `${strategyId} is already ${state}${describeState(current)}: nothing changed` };
  const effect =
    state === 'shadow'
      ? 'where the stage requires enablement, LEAN is not used for its orders, which form the control cohort'
      : 'where the stage requires enablement, LEAN is refused to its orders until strategy enable passes its parity checks';
  return {
    kind: 'write',
    state,
    reason: change.reason,
    text: `${change.parameter}: ${stateName(current)} -> ${state} (${change.reason}, by ${change.by}): ${effect}`,
  };
}

/** The refusal of an enable, or undefined when every report passes. */
function enableRefusal(change: StrategyChange, reports: EnableReports): StrategyDecision | undefined {
  const { paper } = reports;
  const judgedOnPaper = paper !== undefined;
  const stage = countingChecks(reports.stage, judgedOnPaper);
  const paperFails = paper !== undefined && !paper.passed;
  const stageFails = stageHolds(reports.stage, judgedOnPaper);
  if (!paperFails && !stageFails) return undefined;
  const { strategyId, current } = change;
  const lines = [`refused: ${strategyId} stays ${current?.state ?? 'without a parameter (not enabled)'} on stage ${stage.stage}; nothing was written`];
  if (current?.state === 'blocked') {
    lines.push(`${strategyId} is blocked${describeState(current)}: a block is latched; enabling lifts it, once every parity check passes`);
  }
  if (paper !== undefined && paperFails) lines.push(`the strategy's paper report must pass before live, and it does not:`, ...reportFailures(paper));
  else if (paper !== undefined) lines.push('its paper report passes');
  if (stageFails) lines.push(judgedOnPaper ? `its ${stage.stage} report holds it back:` : `its ${stage.stage} report does not pass:`, ...reportFailures(stage));
  lines.push(`see both cohorts with: lean-router strategy show ${strategyId}${stage.stage === 'local' ? '' : ` --stage ${stage.stage}`}`);
  return { kind: 'refused', text: lines.join('\n'), failing: failingChecks(paper === undefined ? [stage] : [paper, stage]) };
}

/** A report's failures, one line each: every failing check with its numbers, and a truncated read. */
function reportFailures(report: ParityReport): string[] {
  const window = `(${report.since} to ${report.until})`;
  const lines = report.checks.filter((check) => !check.passed).map((check) => `  FAIL ${check.name} ${window}: ${check.detail}`);
  if (report.truncated) lines.push(`  TRUNCATED ${window}: the read stopped at TRADING_PARITY_MAX_ROWS after ${report.rowsRead} rows; narrow the window with --since`);
  return lines;
}

function failingChecks(reports: readonly ParityReport[]): FailingCheck[] {
  return reports.flatMap((report) => report.checks.filter((check) => !check.passed).map((check) => ({ ...check, stage: report.stage })));
}

function stateName(current: StrategyEnablement | undefined): string {
  return current?.state ?? '(no parameter)';
}

/** ` (reason, by who, at when)` of a state as read, or '' when it says none of them. */
function describeState(state: StrategyEnablement): string {
  const parts = [state.reason, state.set_by === undefined ? undefined : `by ${state.set_by}`, state.set_at === undefined ? undefined : `at ${state.set_at}`].filter(
    (part): part is string => part !== undefined && part !== '',
  );
  return parts.length === 0 ? '' : ` (${parts.join(', ')})`;
}

/** One listed strategy: its parameter as read, and when it was last written. */
export interface ListedStrategy extends StrategyEnablement {
  readonly parameter: string;
  /** The parameter's modification time, shown when the value carries no `set_at`. */
  readonly modifiedAt?: string;
}

/** `strategy list` as text. */
export function strategyListText(prefix: string, strategies: readonly ListedStrategy[], ignored: readonly string[]): string {
  const lines =
    strategies.length === 0
      ? [`no strategy parameter under ${prefix}strategies/: no strategy is enabled (when the stage requires enablement, LEAN takes no strategy's orders)`]
      : [
          textTable(
            ['strategy_id', 'state', 'reason', 'set_by', 'set_at'],
            strategies.map((strategy) => [strategy.strategy_id, strategy.state, strategy.reason ?? '', strategy.set_by ?? '', strategy.set_at ?? strategy.modifiedAt ?? '']),
          ),
        ];
  if (ignored.length > 0) lines.push('', `ignored (not a name strategy commands write, so no strategy's): ${ignored.join(', ')}`);
  return lines.join('\n');
}

/** The first line of `strategy show`: the state as read, or that there is no parameter. */
export function strategyStateLine(strategyId: string, stage: string, parameter: string, current: StrategyEnablement | undefined): string {
  if (current === undefined) return `strategy ${strategyId} on stage ${stage}: no parameter ${parameter}, so not enabled (when the stage requires enablement, LEAN takes none of its orders)`;
  return `strategy ${strategyId} on stage ${stage}: ${current.state}${describeState(current)} (${parameter})`;
}
