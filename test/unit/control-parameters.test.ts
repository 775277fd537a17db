import { describe, expect, it } from 'vitest';
import {
  CONTROL_PARAMETER,
  controlParameterName,
  controlParameterPrefix,
  manualReviewParameterName,
  symbolOfReviewParameter,
} from '../../functions/core/control-parameters';

describe('controlParameterPrefix', () => {
  it('puts a stage under /lean-router/, with the trailing slash', () => {
    expect(controlParameterPrefix('paper')).toBe('/lean-router/paper/');
  });
});

describe('controlParameterName', () => {
  // The names operators type (docs/operations.md: `aws ssm put-parameter --name /lean-router/paper/kill-switch`).
  it.each([
    ['killSwitch', '/lean-router/paper/kill-switch'],
    ['policy', '/lean-router/paper/policy'],
    ['leanHealth', '/lean-router/paper/lean-health'],
    ['manualReview', '/lean-router/paper/manual-review'],
    ['alpacaCredentials', '/lean-router/paper/alpaca-credentials'],
  ] as const)('names the %s value %s', (key, name) => {
    expect(controlParameterName(controlParameterPrefix('paper'), CONTROL_PARAMETER[key])).toBe(name);
  });

  it.each([
    ['without a trailing slash', '/lean-router/paper'],
    ['with one trailing slash', '/lean-router/paper/'],
    ['with several trailing slashes', '/lean-router/paper///'],
  ])('joins a prefix %s with exactly one slash', (_case, prefix) => {
    expect(controlParameterName(prefix, CONTROL_PARAMETER.killSwitch)).toBe('/lean-router/paper/kill-switch');
  });

  it('keeps the slashes inside and at the start of the prefix', () => {
    expect(controlParameterName('//a//b/', CONTROL_PARAMETER.policy)).toBe('//a//b/policy');
  });
});

describe('manualReviewParameterName', () => {
  it('puts a symbol under the manual-review folder', () => {
    expect(manualReviewParameterName('/lean-router/paper/', 'AAPL')).toBe('/lean-router/paper/manual-review/AAPL');
  });

  it('writes every / of a symbol as _, so it opens no sub-folder', () => {
    expect(manualReviewParameterName('/lean-router/paper/', 'A/B/C')).toBe('/lean-router/paper/manual-review/A_B_C');
  });
});

describe('symbolOfReviewParameter', () => {
  it.each([
    ['a plain symbol', 'AAPL'],
    ['a symbol with one slash', 'BTC/USD'],
    ['a symbol with several slashes', 'A/B/C'],
  ])('reads back %s from the name manualReviewParameterName gives', (_case, symbol) => {
    expect(symbolOfReviewParameter(manualReviewParameterName('/lean-router/paper/', symbol))).toBe(symbol);
  });

  it('reads a bare name as the symbol itself', () => {
    expect(symbolOfReviewParameter('MSFT')).toBe('MSFT');
  });

  it('reads a name an operator wrote in lower case as the upper-case symbol orders carry', () => {
    expect(symbolOfReviewParameter('/lean-router/paper/manual-review/aapl')).toBe('AAPL');
  });
});
