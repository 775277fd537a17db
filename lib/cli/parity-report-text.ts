import type { CohortFigures, ParityCheck, ParityReport } from '../../functions/core/parity';
import { textTable } from './text-table';

/**
 * `lean-router parity` as text: the cohorts' figures side by side, one column per cohort and
 * stage, then each check with PASS or FAIL and its numbers. One report, or several stages'
 * (`--compare paper,live`) next to each other.
 */

/** Each figure's label and how it reads; null figures print as `-`. */
const FIGURES: readonly (readonly [string, (figures: CohortFigures) => string])[] = [
  ['orders', (figures) => String(figures.orders)],
  ['accepted', (figures) => String(figures.accepted)],
  ['rejected', (figures) => String(figures.rejected)],
  ['fill rate', (figures) => orDash(figures.fillRate, percent)],
  ['time to fill, median', (figures) => orDash(figures.medianTimeToFillMs, seconds)],
  ['time to fill, p95', (figures) => orDash(figures.p95TimeToFillMs, seconds)],
  ['slippage, median', (figures) => orDash(figures.medianSlippageBps, bps)],
  ['slippage samples', (figures) => String(figures.slippageSamples)],
  ['fills without reference_price', (figures) => String(figures.withoutReferencePrice)],
  ['fallbacks', (figures) => String(figures.fallbacks)],
  ['unknowns', (figures) => String(figures.unknowns)],
  ['reviews', (figures) => String(figures.reviews)],
  ['divergent ids', (figures) => String(figures.divergentIds)],
];

/** One report, or several stages' side by side, as text. */
export function parityReportText(reports: readonly ParityReport[]): string {
  const [first] = reports;
  if (first === undefined) return 'no report';
  const single = reports.length === 1;
  const heading = (report: ParityReport): string => (single ? '' : `${report.stage} `);
  const strategy = first.strategyId === undefined ? 'all strategies' : `strategy ${first.strategyId}`;
  const verdict = (report: ParityReport): string => `${single ? '' : `${report.stage}: `}${report.passed ? 'PASS' : 'FAIL'}`;
  const lines = [
    `parity of ${single ? `stage ${first.stage}` : `stages ${reports.map((report) => report.stage).join(', ')}`}, ${strategy}, created ${first.since} to ${first.until}: ${reports.map(verdict).join(', ')}`,
    'routed: LEAN orders and their fallbacks; non-routed: orders sent to Alpaca (alpaca, alpaca_gated)',
    '',
    textTable(
      ['figure', ...reports.flatMap((report) => [`${heading(report)}routed`, `${heading(report)}non-routed`])],
      FIGURES.map(([label, show]) => [label, ...reports.flatMap((report) => [show(report.routed), show(report.nonRouted)])]),
    ),
    '',
    single
      ? textTable(
          ['check', 'result', 'actual', 'threshold', 'detail'],
          first.checks.map((check) => [check.name, verdictWord(check), actualText(check), thresholdText(check), check.detail]),
        )
      : textTable(
          ['check', ...reports.map((report) => report.stage)],
          first.checks.map((check) => [check.name, ...reports.map((report) => checkCell(report.checks.find((each) => each.name === check.name)))]),
        ),
  ];
  for (const report of reports) {
    const notes: string[] = [];
    if (report.truncated) notes.push(`TRUNCATED: the read stopped at the row cap (TRADING_PARITY_MAX_ROWS) after ${report.rowsRead} rows; the figures cover part of the window and the report does not pass`);
    if (report.pendingExcluded > 0) notes.push(`${report.pendingExcluded} row(s) still pending, in neither cohort`);
    if (notes.length > 0) lines.push('', ...notes.map((note) => `${heading(report)}${note}`));
  }
  return lines.join('\n');
}

function verdictWord(check: ParityCheck): string {
  return check.passed ? 'PASS' : 'FAIL';
}

/** A check in one cell: `PASS 1.2 bps (max 5.0 bps)`. */
function checkCell(check: ParityCheck | undefined): string {
  if (check === undefined) return '-';
  return `${verdictWord(check)} ${actualText(check)} (${thresholdText(check)})`;
}

function actualText(check: ParityCheck): string {
  if (check.actual === null) return 'none';
  return formatFor(check)(check.actual);
}

function thresholdText(check: ParityCheck): string {
  const bound = check.name.startsWith('min_orders') ? 'min' : 'max';
  return `${bound} ${formatFor(check)(check.threshold)}`;
}

function formatFor(check: ParityCheck): (value: number) => string {
  switch (check.name) {
    case 'fill_rate_difference':
      return (value) => `${(value * 100).toFixed(1)} pts`;
    case 'median_slippage_difference':
      return bps;
    case 'divergent_ids':
    case 'min_orders_routed':
    case 'min_orders_non_routed':
      return String;
  }
}

function orDash(value: number | null, show: (value: number) => string): string {
  return value === null ? '-' : show(value);
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function bps(value: number): string {
  return `${value.toFixed(1)} bps`;
}
