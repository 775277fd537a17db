import * as z from 'zod/mini';
import './zod-locale';
import { readIntegers, type Env } from './config';
import { DEFAULT_PARITY_THRESHOLDS, type ParityThresholds } from './parity';

// Apart from parity.ts so that the table definition, which imports the report's fields, does not bring zod.

/** The most rows one report reads by default (`TRADING_PARITY_MAX_ROWS`): past it the report is truncated. */
export const DEFAULT_PARITY_MAX_ROWS = 200_000;

/** The report's settings from the environment. */
export interface ParityConfig {
  readonly thresholds: ParityThresholds;
  readonly maxRows: number;
  /** Invalid values, each replaced by its default. */
  readonly problems: readonly string[];
}

const INTEGER_VARIABLES = {
  minOrdersPerCohort: { name: 'TRADING_PARITY_MIN_ORDERS', min: 1, max: 1_000_000 },
  maxRows: { name: 'TRADING_PARITY_MAX_ROWS', min: 1, max: 10_000_000 },
};

const DECIMAL_VARIABLES = {
  maxFillRateDifference: { name: 'TRADING_PARITY_MAX_FILL_RATE_DIFF', min: 0, max: 1 },
  maxMedianSlippageDifferenceBps: { name: 'TRADING_PARITY_MAX_SLIPPAGE_DIFF_BPS', min: 0, max: 10_000 },
};

/** Reads the `TRADING_PARITY_*` settings; an invalid one keeps its default and is named in `problems`. */
export function loadParityConfig(env: Env): ParityConfig {
  const problems: string[] = [];
  const integers = readIntegers(env, { minOrdersPerCohort: DEFAULT_PARITY_THRESHOLDS.minOrdersPerCohort, maxRows: DEFAULT_PARITY_MAX_ROWS }, INTEGER_VARIABLES, problems);
  const decimals = { ...DEFAULT_PARITY_THRESHOLDS };
  for (const key of ['maxFillRateDifference', 'maxMedianSlippageDifferenceBps'] as const) {
    const { name, min, max } = DECIMAL_VARIABLES[key];
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    const parsed = z.coerce.number().check(z.minimum(min), z.maximum(max)).safeParse(raw);
    if (parsed.success) decimals[key] = parsed.data;
    else problems.push(`${name}=${JSON.stringify(raw)} is invalid (${parsed.error.issues[0]?.message ?? 'invalid'})`);
  }
  return {
    thresholds: { minOrdersPerCohort: integers.minOrdersPerCohort, maxFillRateDifference: decimals.maxFillRateDifference, maxMedianSlippageDifferenceBps: decimals.maxMedianSlippageDifferenceBps },
    maxRows: integers.maxRows,
    problems,
  };
}
