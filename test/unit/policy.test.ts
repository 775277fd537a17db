import { describe, expect, it } from 'vitest';
import type { RoutingPolicy } from '../../functions/core/config';
import { resolveExpectedAdapter, type PolicyDecision } from '../../functions/core/policy';
import { order } from '../support/fakes';

const LEAN_ALL: RoutingPolicy = { adapter: 'lean', policy: 'all', symbols: new Set(), fallback: 'alpaca', strategy_enablement: 'off' };
const LEAN_ALLOWLIST: RoutingPolicy = { adapter: 'lean', policy: 'allowlist', symbols: new Set(['AAPL', 'BRK.B']), fallback: 'alpaca', strategy_enablement: 'off' };

describe('resolveExpectedAdapter', () => {
  it.each<[string, RoutingPolicy, readonly string[], Record<string, unknown>, PolicyDecision]>([
    ['policy all sends any symbol to LEAN', LEAN_ALL, [], { symbol: 'TSLA' }, { expected: 'lean', reason: 'policy_all' }],
    ['an allowlisted symbol goes to LEAN', LEAN_ALLOWLIST, [], { symbol: 'AAPL' }, { expected: 'lean', reason: 'symbol_allowlisted' }],
    ['the allowlist matches without regard to case', LEAN_ALLOWLIST, [], { symbol: 'brk.b' }, { expected: 'lean', reason: 'symbol_allowlisted' }],
    ['a symbol outside the allowlist goes to Alpaca', LEAN_ALLOWLIST, [], { symbol: 'MSFT' }, { expected: 'alpaca', reason: 'symbol_not_allowlisted' }],
    ['adapter alpaca sends even allowlisted symbols to Alpaca', { ...LEAN_ALLOWLIST, adapter: 'alpaca' }, [], { symbol: 'AAPL' }, { expected: 'alpaca', reason: 'adapter_alpaca' }],
    ['a misconfiguration sends everything to Alpaca', LEAN_ALL, ['TRADING_LEAN_RUNNER_URL is required'], { symbol: 'AAPL' }, { expected: 'alpaca', reason: 'policy_misconfigured' }],
    ['a notional order goes to Alpaca even under policy all', LEAN_ALL, [], { qty: undefined, notional: '100' }, { expected: 'alpaca', reason: 'notional_not_supported_by_lean' }],
    ['a notional order on an allowlisted symbol goes to Alpaca', LEAN_ALLOWLIST, [], { qty: undefined, notional: '100' }, { expected: 'alpaca', reason: 'notional_not_supported_by_lean' }],
  ])('%s', (_case, routing, misconfiguration, overrides, expected) => {
    expect(resolveExpectedAdapter(routing, misconfiguration, order(overrides))).toEqual(expected);
  });

  it('matches an allowlist against an untrimmed lower-case symbol', () => {
    expect(resolveExpectedAdapter(LEAN_ALLOWLIST, [], { symbol: ' aapl ' })).toEqual({ expected: 'lean', reason: 'symbol_allowlisted' });
  });
});
