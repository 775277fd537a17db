import { describe, expect, it } from 'vitest';
import { loadRouterConfig, NON_LEAN_POLICY } from '../../functions/core/config';
import { LEAN_ENV } from '../support/fakes';
import {
  effectiveRouting,
  killSwitchValue,
  parseKillSwitch,
  parseLeanHealth,
  parsePolicyOverride,
  parseSymbolReview,
  symbolReviewValue,
  symbolsInReview,
  UNAVAILABLE_CONTROL,
  type PolicyOverride,
  type SymbolReview,
} from '../../functions/core/control';

const CHANGED_AT = '2025-01-02T14:00:00.000Z';

function valid(raw: string): Extract<PolicyOverride, { kind: 'valid' }> {
  const parsed = parsePolicyOverride(raw);
  if (parsed.kind !== 'valid') throw new Error(`expected a valid override, got ${JSON.stringify(parsed)}`);
  return parsed;
}

function invalidProblem(raw: string): string {
  const parsed = parsePolicyOverride(raw);
  if (parsed.kind !== 'invalid') throw new Error(`expected an invalid override, got ${JSON.stringify(parsed)}`);
  return parsed.problem;
}

describe('parseKillSwitch', () => {
  it.each([
    ['on', 'on'],
    ['off', 'off'],
    ['ON', 'on'],
    ['Off', 'off'],
    ['  on\n', 'on'],
    ['\toFF  ', 'off'],
  ] as const)('reads the plain value %j as %s from the parameter', (raw, state) => {
    expect(parseKillSwitch(raw)).toEqual({ state, source: 'parameter' });
  });

  it('reads the JSON form with who, when and why', () => {
    const raw = JSON.stringify({ state: 'off', reason: 'runner fixed', set_by: 'alice', set_at: '2025-01-02T09:00:00.000Z' });

    expect(parseKillSwitch(raw)).toEqual({
      state: 'off',
      reason: 'runner fixed',
      set_by: 'alice',
      set_at: '2025-01-02T09:00:00.000Z',
      source: 'parameter',
    });
  });

  it('takes no changed_at from the value: only the parameter’s modification time says when it changed', () => {
    const raw = JSON.stringify({ state: 'off', changed_at: '2025-01-02T09:00:00.000Z' });

    expect(parseKillSwitch(raw)).toEqual({ state: 'off', source: 'parameter' });
  });

  it('reads the JSON form with only a state', () => {
    expect(parseKillSwitch('{"state":"on"}')).toEqual({ state: 'on', source: 'parameter' });
  });

  it('counts a missing parameter as on, with source missing, and says so', () => {
    expect(parseKillSwitch(undefined)).toEqual({ state: 'on', reason: 'kill-switch parameter is missing', source: 'missing' });
  });

  it.each(['', '   ', 'enabled', 'true', '0', 'o n', 'null', '[]', '{"state":"off"', '"off"'])(
    'counts the unreadable value %j as on, with source unreadable',
    (raw) => {
      const killSwitch = parseKillSwitch(raw);

      expect(killSwitch.state).toBe('on');
      expect(killSwitch.source).toBe('unreadable');
    },
  );

  it.each(['{"state":"paused"}', '{"state":"OFF"}', '{"state":null}', '{"reason":"no state"}', '{"state":"off","set_by":42}'])(
    'counts JSON %s, whose fields do not fit the form, as on',
    (raw) => {
      const killSwitch = parseKillSwitch(raw);

      expect(killSwitch.state).toBe('on');
      expect(killSwitch.source).toBe('unreadable');
    },
  );

  it('says in its reason what the unreadable value was', () => {
    expect(parseKillSwitch('maybe').reason).toBe('kill-switch value "maybe" is not on, off or the JSON form');
  });

  it('quotes only the first 64 characters of a long unreadable value', () => {
    const raw = `${'x'.repeat(64)}TAIL`;

    expect(parseKillSwitch(raw).reason).toBe(`kill-switch value "${'x'.repeat(64)}" is not on, off or the JSON form`);
  });
});

describe('UNAVAILABLE_CONTROL', () => {
  it('holds the kill switch on, saying why, with source unavailable', () => {
    expect(UNAVAILABLE_CONTROL.killSwitch).toEqual({ state: 'on', reason: 'control values unreadable and none known', source: 'unavailable' });
  });

  it('leaves the routing to the environment: no policy override', () => {
    const config = loadRouterConfig(LEAN_ENV);

    expect(effectiveRouting(config, UNAVAILABLE_CONTROL.policy)).toEqual({ routing: config.routing, misconfiguration: [], source: 'environment' });
  });

  it('knows no runner health and no review', () => {
    expect(UNAVAILABLE_CONTROL.leanHealth).toBeUndefined();
    expect(UNAVAILABLE_CONTROL.reviews.size).toBe(0);
  });
});

describe('killSwitchValue', () => {
  const AT = new Date('2025-01-02T14:30:00.000Z');

  it('writes the JSON form with state on, reason, set_by and set_at', () => {
    const value = killSwitchValue({ reason: 'lean_error_rate', set_by: 'health-check' }, AT);

    expect(JSON.parse(value)).toEqual({ state: 'on', reason: 'lean_error_rate', set_by: 'health-check', set_at: '2025-01-02T14:30:00.000Z' });
  });

  it('adds the detail when one is given', () => {
    const value = killSwitchValue({ reason: 'notional_mismatch', set_by: 'route', detail: 'ord-1: qty_mismatch' }, AT);

    expect(JSON.parse(value)).toMatchObject({ detail: 'ord-1: qty_mismatch' });
  });

  it('reads back through parseKillSwitch as on, from the parameter', () => {
    const value = killSwitchValue({ reason: 'runner_health_stale', set_by: 'health-check', detail: 'no probe' }, AT);

    expect(parseKillSwitch(value)).toEqual({
      state: 'on',
      reason: 'runner_health_stale',
      set_by: 'health-check',
      set_at: '2025-01-02T14:30:00.000Z',
      source: 'parameter',
    });
  });
});

describe('parsePolicyOverride', () => {
  it.each([undefined, '', '   ', '\n'])('treats %j as absent', (raw) => {
    expect(parsePolicyOverride(raw)).toEqual({ kind: 'absent' });
  });

  it('keeps only the fields a partial override gives', () => {
    expect(valid('{"adapter":"lean","fallback":"none"}').value).toEqual({ adapter: 'lean', fallback: 'none' });
  });

  it('accepts an empty object as an override that changes nothing', () => {
    expect(valid('{}').value).toEqual({});
  });

  it('accepts every field at once', () => {
    expect(valid('{"adapter":"alpaca","policy":"all","symbols":"AAPL","fallback":"alpaca"}').value).toEqual({
      adapter: 'alpaca',
      policy: 'all',
      symbols: new Set(['AAPL']),
      fallback: 'alpaca',
    });
  });

  it('normalizes symbols given as a comma-separated string to an upper-case set', () => {
    expect(valid('{"symbols":"aapl, msft ,,brk.b"}').value.symbols).toEqual(new Set(['AAPL', 'MSFT', 'BRK.B']));
  });

  it('normalizes symbols given as an array to an upper-case set without blanks', () => {
    expect(valid('{"symbols":["aapl"," Msft ",""]}').value.symbols).toEqual(new Set(['AAPL', 'MSFT']));
  });

  it('reads an empty symbol list as an empty set', () => {
    expect(valid('{"symbols":[]}').value.symbols).toEqual(new Set());
  });

  it('refuses an unknown field and names it', () => {
    expect(invalidProblem('{"adapter":"lean","symbol":"AAPL"}')).toContain('symbol');
  });

  it('says a problem with the whole value is about the value, with zod’s reason', () => {
    expect(invalidProblem('{"adapter":"lean","symbol":"AAPL"}')).toMatch(/^policy parameter: value: .*"symbol"/);
  });

  it('names the field and gives zod’s reason for a bad field', () => {
    expect(invalidProblem('{"adapter":"ibkr"}')).toMatch(/^policy parameter: adapter: .*"lean".*"alpaca"/);
  });

  it.each([
    ['adapter', '{"adapter":"LEAN"}'],
    ['adapter', '{"adapter":"ibkr"}'],
    ['policy', '{"policy":"some"}'],
    ['fallback', '{"fallback":"lean"}'],
    ['symbols', '{"symbols":42}'],
  ])('refuses a bad %s value and names the field (%s)', (field, raw) => {
    expect(invalidProblem(raw)).toContain(field);
  });

  it.each(['not json', '{adapter: lean}', '{"adapter":"lean"', 'lean'])('refuses non-JSON %j', (raw) => {
    expect(invalidProblem(raw)).toContain('not valid JSON');
  });

  it.each(['null', '"lean"', '[]', '42'])('refuses JSON %s that is not an object', (raw) => {
    expect(parsePolicyOverride(raw).kind).toBe('invalid');
  });
});

describe('parseLeanHealth', () => {
  const HEALTH = { status: 'ok', checked_at: '2025-01-02T14:29:00.000Z', last_ok_at: '2025-01-02T14:29:00.000Z', latency_ms: 12 } as const;

  it('reads what the health-check writes', () => {
    expect(parseLeanHealth(JSON.stringify(HEALTH))).toEqual(HEALTH);
  });

  it('keeps the detail of a failed probe and a null last_ok_at', () => {
    const down = { status: 'down', checked_at: HEALTH.checked_at, last_ok_at: null, latency_ms: null, detail: 'ECONNREFUSED' };

    expect(parseLeanHealth(JSON.stringify(down))).toEqual(down);
  });

  it('reads the status unknown', () => {
    const unknown = { status: 'unknown', checked_at: null, last_ok_at: null, latency_ms: null } as const;

    expect(parseLeanHealth(JSON.stringify(unknown))).toEqual(unknown);
  });

  it('reads a missing parameter as no health', () => {
    expect(parseLeanHealth(undefined)).toBeUndefined();
  });

  it.each([
    'garbage',
    '',
    'null',
    JSON.stringify({ ...HEALTH, status: 'great' }),
    JSON.stringify({ status: 'ok', checked_at: HEALTH.checked_at, latency_ms: 3 }),
    JSON.stringify({ ...HEALTH, latency_ms: '12' }),
  ])('reads the unreadable value %j as no health', (raw) => {
    expect(parseLeanHealth(raw)).toBeUndefined();
  });
});

describe('parseSymbolReview', () => {
  it.each(['cleared', 'CLEARED', ' Cleared\n', 'off', 'OFF'])('reads %j as cleared at the parameter time', (raw) => {
    expect(parseSymbolReview('AAPL', raw, CHANGED_AT)).toEqual({ symbol: 'AAPL', state: 'cleared', changed_at: CHANGED_AT });
  });

  it('reads the JSON a trip writes as review, with its reason', () => {
    const raw = symbolReviewValue('repeated_fallback: 3 fallbacks', new Date(CHANGED_AT), 'route');

    expect(parseSymbolReview('AAPL', raw, CHANGED_AT)).toEqual({
      symbol: 'AAPL',
      state: 'review',
      changed_at: CHANGED_AT,
      reason: 'repeated_fallback: 3 fallbacks',
    });
  });

  it.each(['review', 'on', '', 'yes', '{"state":"cleared"}', '{"reason":42}', '[1]', 'null', '42', '"text"'])(
    'reads any other value (%j) as review, without a reason',
    (raw) => {
      expect(parseSymbolReview('MSFT', raw, CHANGED_AT)).toStrictEqual({ symbol: 'MSFT', state: 'review', changed_at: CHANGED_AT });
    },
  );
});

describe('symbolsInReview', () => {
  it('lists only the symbols whose review is not cleared', () => {
    const reviews = new Map<string, SymbolReview>([
      ['AAPL', { symbol: 'AAPL', state: 'review', changed_at: CHANGED_AT }],
      ['MSFT', { symbol: 'MSFT', state: 'cleared', changed_at: CHANGED_AT }],
      ['BTC/USD', { symbol: 'BTC/USD', state: 'review', changed_at: CHANGED_AT }],
    ]);

    expect(symbolsInReview({ reviews })).toEqual(['AAPL', 'BTC/USD']);
  });

  it('lists nothing when no symbol has a review parameter', () => {
    expect(symbolsInReview({ reviews: new Map() })).toEqual([]);
  });
});

describe('effectiveRouting', () => {
  it('keeps the environment unchanged when the policy parameter is absent', () => {
    const config = loadRouterConfig(LEAN_ENV);

    const effective = effectiveRouting(config, { kind: 'absent' });

    expect(effective).toEqual({ routing: config.routing, misconfiguration: config.misconfiguration, source: 'environment' });
  });

  it('keeps a misconfigured environment away from LEAN when the policy parameter is absent', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_LEAN_RUNNER_URL: undefined });

    const effective = effectiveRouting(config, { kind: 'absent' });

    expect(effective.routing).toEqual(NON_LEAN_POLICY);
    expect(effective.misconfiguration).toEqual(config.misconfiguration);
  });

  it('routes away from LEAN and records the problem when the policy parameter is invalid', () => {
    const config = loadRouterConfig(LEAN_ENV);

    const effective = effectiveRouting(config, { kind: 'invalid', problem: 'policy parameter is not valid JSON' });

    expect(effective).toEqual({ routing: NON_LEAN_POLICY, misconfiguration: ['policy parameter is not valid JSON'], source: 'parameter' });
  });

  it('merges a valid override over the declared environment values', () => {
    const config = loadRouterConfig(LEAN_ENV);

    const effective = effectiveRouting(config, valid('{"symbols":["msft","tsla"],"fallback":"none"}'));

    expect(effective).toEqual({
      routing: { adapter: 'lean', policy: 'allowlist', symbols: new Set(['MSFT', 'TSLA']), fallback: 'none', strategy_enablement: 'off' },
      misconfiguration: [],
      source: 'parameter',
    });
  });

  it('turns LEAN off by override without a redeploy', () => {
    const config = loadRouterConfig(LEAN_ENV);

    const effective = effectiveRouting(config, valid('{"adapter":"alpaca"}'));

    expect(effective.routing.adapter).toBe('alpaca');
    expect(effective.misconfiguration).toEqual([]);
  });

  it('merges over the declared values, so an override can complete an environment whose allowlist is empty', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_EXECUTION_ADAPTER_SYMBOLS: '' });

    const effective = effectiveRouting(config, valid('{"symbols":"AAPL"}'));

    expect(config.routing).toEqual(NON_LEAN_POLICY);
    expect(effective.routing).toEqual({ adapter: 'lean', policy: 'allowlist', symbols: new Set(['AAPL']), fallback: 'alpaca', strategy_enablement: 'off' });
    expect(effective.misconfiguration).toEqual([]);
  });

  it('keeps LEAN off when the environment has a settings problem, even with a valid override', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_LEAN_RUNNER_TIMEOUT_MS: 'soon' });

    const effective = effectiveRouting(config, valid('{"policy":"all"}'));

    expect(effective.routing).toEqual(NON_LEAN_POLICY);
    expect(effective.misconfiguration).toEqual(config.settingsProblems);
    expect(effective.misconfiguration.join(' ')).toContain('TRADING_LEAN_RUNNER_TIMEOUT_MS');
  });

  it('keeps the settings problem alongside the problem of an invalid override', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_BREAKER_COOLDOWN_MS: '-5' });

    const effective = effectiveRouting(config, { kind: 'invalid', problem: 'policy parameter: adapter: bad' });

    expect(effective.misconfiguration).toEqual([...config.settingsProblems, 'policy parameter: adapter: bad']);
    expect(effective.misconfiguration).toHaveLength(2);
    expect(effective.misconfiguration[0]).toContain('TRADING_BREAKER_COOLDOWN_MS');
  });

  it('routes away from LEAN when an override makes an allowlist with no symbols', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_EXECUTION_ADAPTER_POLICY: 'all', TRADING_EXECUTION_ADAPTER_SYMBOLS: '' });

    const effective = effectiveRouting(config, valid('{"policy":"allowlist"}'));

    expect(effective.routing).toEqual(NON_LEAN_POLICY);
    expect(effective.misconfiguration).toEqual(['TRADING_EXECUTION_ADAPTER_SYMBOLS is empty while the policy is allowlist']);
    expect(effective.source).toBe('parameter');
  });

  it('routes away from LEAN when an override asks for LEAN but no runner URL is configured', () => {
    const config = loadRouterConfig({ TRADING_EXECUTION_ADAPTER: 'alpaca' });

    const effective = effectiveRouting(config, valid('{"adapter":"lean","policy":"all"}'));

    expect(effective.routing).toEqual(NON_LEAN_POLICY);
    expect(effective.misconfiguration).toEqual(['TRADING_LEAN_RUNNER_URL is required when the adapter is lean']);
  });
});
