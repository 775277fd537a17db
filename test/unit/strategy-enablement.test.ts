import { describe, expect, it } from 'vitest';
import { loadRouterConfig, NON_LEAN_POLICY } from '../../functions/core/config';
import { effectiveRouting, parsePolicyOverride, type PolicyOverride } from '../../functions/core/control';
import { strategyOfParameter, strategyParameterName, strategyParameterSegment } from '../../functions/core/control-parameters';
import {
  divergenceBlockReason,
  isStrategyEnabled,
  parseStrategyEnablement,
  strategyEnablementValue,
  type StrategyEnablement,
} from '../../functions/core/strategy-enablement';
import { LEAN_ENV } from '../support/fakes';

const PREFIX = '/lean-router/test/';

describe('parseStrategyEnablement', () => {
  it('reads the JSON form with its reason, who and when', () => {
    const raw = '{"state":"enabled","reason":"parity passed","set_by":"ops","set_at":"2025-01-02T14:30:00.000Z"}';

    expect(parseStrategyEnablement('alpha', raw)).toEqual({
      strategy_id: 'alpha',
      state: 'enabled',
      reason: 'parity passed',
      set_by: 'ops',
      set_at: '2025-01-02T14:30:00.000Z',
    });
  });

  it.each(['shadow', 'enabled', 'blocked'] as const)('reads the JSON form with state %s alone', (state) => {
    expect(parseStrategyEnablement('alpha', JSON.stringify({ state }))).toEqual({ strategy_id: 'alpha', state });
  });

  it.each([
    ['enabled', 'enabled'],
    [' Shadow\n', 'shadow'],
    ['BLOCKED', 'blocked'],
  ] as const)('reads a bare state %j as %s', (raw, state) => {
    expect(parseStrategyEnablement('alpha', raw)).toEqual({ strategy_id: 'alpha', state });
  });

  it.each(['on', 'yes', '', '{"state":"on"}', '{"state":"enabled","reason":7}', '[1]', 'null', '{not json'])(
    'reads the unreadable value %j as blocked',
    (raw) => {
      expect(parseStrategyEnablement('alpha', raw).state).toBe('blocked');
    },
  );

  it('says why an unreadable value counts as blocked, quoting it', () => {
    expect(parseStrategyEnablement('alpha', 'yes please').reason).toBe(
      'strategies/alpha value "yes please" is not shadow, enabled, blocked or the JSON form',
    );
  });
});

describe('strategyEnablementValue', () => {
  it('writes the JSON form the parser reads back', () => {
    const value = strategyEnablementValue('blocked', 'route_divergence', 'lifecycle-sync', new Date('2025-01-02T14:30:00.000Z'));

    expect(parseStrategyEnablement('alpha', value)).toEqual({
      strategy_id: 'alpha',
      state: 'blocked',
      reason: 'route_divergence',
      set_by: 'lifecycle-sync',
      set_at: '2025-01-02T14:30:00.000Z',
    });
  });
});

describe('divergenceBlockReason', () => {
  it('names the order and both ids', () => {
    expect(divergenceBlockReason('ord-1', 'lean-9', 'alp-3')).toBe('route_divergence: ord-1 LEAN lean-9 vs Alpaca alp-3');
  });
});

describe('isStrategyEnabled', () => {
  const strategies = new Map<string, StrategyEnablement>([
    ['alpha', { strategy_id: 'alpha', state: 'enabled' }],
    ['beta', { strategy_id: 'beta', state: 'shadow' }],
  ]);

  it('lets every order through when enablement is off, with or without a strategy', () => {
    expect([isStrategyEnabled(strategies, undefined, 'off'), isStrategyEnabled(strategies, 'beta', 'off'), isStrategyEnabled(strategies, 'zeta', 'off')]).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('lets only an enabled strategy through when enablement is required', () => {
    expect([isStrategyEnabled(strategies, 'alpha', 'required'), isStrategyEnabled(strategies, 'beta', 'required'), isStrategyEnabled(strategies, 'zeta', 'required')]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('refuses an order without a strategy_id when enablement is required', () => {
    expect(isStrategyEnabled(strategies, undefined, 'required')).toBe(false);
  });
});

describe('strategy parameter names', () => {
  it.each(['alpha', 'mean_reversion-v2.1', 'A'])('writes the plain id %j as it is', (strategyId) => {
    expect(strategyParameterName(PREFIX, strategyId)).toBe(`/lean-router/test/strategies/${strategyId}`);
  });

  it.each(['pairs/AAPL', 'with space', 'café', '_b64_alpha', 'a:b'])('writes %j in characters SSM names allow, and reads it back', (strategyId) => {
    const name = strategyParameterName(PREFIX, strategyId);

    expect(name).toMatch(/^\/lean-router\/test\/strategies\/_b64_[A-Za-z0-9_-]+$/);
    expect(strategyOfParameter(name)).toBe(strategyId);
  });

  it('never gives two ids one parameter, as a `/` written `_` would', () => {
    expect(strategyParameterSegment('pairs/AAPL')).not.toBe(strategyParameterSegment('pairs_AAPL'));
  });

  it('reads a plain parameter name back as its id', () => {
    expect(strategyOfParameter('/lean-router/test/strategies/alpha')).toBe('alpha');
  });

  it('ignores a hand-made encoded name that is not the form the router writes', () => {
    // `_b64_YWxwaGE` decodes to "alpha", whose own parameter is strategies/alpha.
    expect(strategyOfParameter('/lean-router/test/strategies/_b64_YWxwaGE')).toBeUndefined();
  });
});

describe('strategy_enablement in the routing policy', () => {
  it('is off by default, so routing is unchanged', () => {
    expect(loadRouterConfig(LEAN_ENV).routing.strategy_enablement).toBe('off');
  });

  it.each(['required', ' off '])('reads TRADING_STRATEGY_ENABLEMENT=%j', (value) => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_STRATEGY_ENABLEMENT: value });

    expect([config.routing.strategy_enablement, config.misconfiguration]).toEqual([value.trim(), []]);
  });

  it('keeps LEAN off and names the variable when TRADING_STRATEGY_ENABLEMENT is not required or off', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_STRATEGY_ENABLEMENT: 'yes' });

    expect(config.routing).toEqual(NON_LEAN_POLICY);
    expect(config.misconfiguration.join(' ')).toContain('TRADING_STRATEGY_ENABLEMENT="yes" is invalid');
  });

  it('takes strategy_enablement from the policy parameter over the environment', () => {
    const override = parsePolicyOverride('{"strategy_enablement":"required"}');

    expect(effectiveRouting(loadRouterConfig(LEAN_ENV), override).routing.strategy_enablement).toBe('required');
  });

  it('keeps the environment value when the policy parameter leaves it out', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_STRATEGY_ENABLEMENT: 'required' });

    expect(effectiveRouting(config, parsePolicyOverride('{"fallback":"none"}')).routing.strategy_enablement).toBe('required');
  });

  it('refuses a policy parameter whose strategy_enablement is neither required nor off', () => {
    const override: PolicyOverride = parsePolicyOverride('{"strategy_enablement":"on"}');

    expect(override).toMatchObject({ kind: 'invalid', problem: expect.stringContaining('strategy_enablement') });
  });
});
