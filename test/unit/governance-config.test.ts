import { describe, expect, it } from 'vitest';
import {
  DEFAULT_GOVERNANCE,
  loadHealthCheckConfig,
  loadRouterConfig,
  NON_LEAN_POLICY,
  type Governance,
  type HealthCheckConfig,
} from '../../functions/core/config';
import { LEAN_ENV } from '../support/fakes';

const LEAN_ROUTING = { adapter: 'lean', policy: 'allowlist', symbols: new Set(['AAPL', 'MSFT']), fallback: 'alpaca', strategy_enablement: 'off' };

/** One governance variable: a valid value and what it reads as, the bounds, and values that must be refused. */
interface GovernanceVariable {
  readonly name: string;
  readonly key: keyof Governance;
  readonly valid: readonly [string, number];
  readonly bounds: readonly [number, number];
  readonly invalid: readonly string[];
  /** Other governance values the valid value moves with it. */
  readonly implied?: Partial<Governance>;
}

const GOVERNANCE_VARIABLES: readonly GovernanceVariable[] = [
  {
    name: 'TRADING_CONTROL_CACHE_TTL_MS',
    key: 'controlCacheTtlMs',
    valid: ['2500', 2_500],
    bounds: [100, 60_000],
    invalid: ['soon', '99', '60001', '2500.5', '-1', '0'],
    implied: { controlMaxAgeMs: 7_500 },
  },
  {
    name: 'TRADING_RUNNER_HEALTH_STALE_MS',
    key: 'runnerHealthStaleMs',
    valid: ['120000', 120_000],
    bounds: [1_000, 3_600_000],
    invalid: ['3m', '999', '3600001', '1000.1', '-180000'],
  },
  {
    name: 'TRADING_BREAKER_FAILURE_THRESHOLD',
    key: 'breakerFailureThreshold',
    valid: ['5', 5],
    bounds: [1, 100],
    invalid: ['three', '0', '101', '2.5', '-3'],
  },
  {
    name: 'TRADING_BREAKER_COOLDOWN_MS',
    key: 'breakerCooldownMs',
    valid: ['10000', 10_000],
    bounds: [100, 3_600_000],
    invalid: ['30s', '99', '3600001', '100.5', '-30000'],
  },
  {
    name: 'TRADING_MANUAL_REVIEW_FALLBACKS',
    key: 'manualReviewFallbacks',
    valid: ['5', 5],
    bounds: [1, 1_000],
    invalid: ['many', '0', '1001', '1.5', '-3'],
  },
  {
    name: 'TRADING_MANUAL_REVIEW_WINDOW_MS',
    key: 'manualReviewWindowMs',
    valid: ['600000', 600_000],
    bounds: [1_000, 86_400_000],
    invalid: ['15m', '999', '86400001', '1000.5', '-900000'],
  },
];

const INVALID_CASES = GOVERNANCE_VARIABLES.flatMap((variable) => variable.invalid.map((raw) => ({ ...variable, raw })));

describe('governance defaults', () => {
  const { governance } = loadRouterConfig({});

  it('are the documented ones: 5 s cache, 3 failures and 30 s for the breaker, 3 fallbacks in 15 minutes', () => {
    expect(governance).toEqual({
      controlCacheTtlMs: 5_000,
      controlMaxAgeMs: 15_000,
      runnerHealthStaleMs: 180_000,
      breakerFailureThreshold: 3,
      breakerCooldownMs: 30_000,
      manualReviewFallbacks: 3,
      manualReviewWindowMs: 900_000,
    });
  });

  it('are what DEFAULT_GOVERNANCE exports', () => {
    expect(governance).toEqual(DEFAULT_GOVERNANCE);
  });

  it('keep a sound LEAN configuration on LEAN', () => {
    const config = loadRouterConfig(LEAN_ENV);

    expect(config.governance).toEqual(DEFAULT_GOVERNANCE);
    expect(config.routing).toEqual(LEAN_ROUTING);
    expect(config.misconfiguration).toEqual([]);
  });

  it('are not changed by loading a configuration that overrides them', () => {
    const before = { ...DEFAULT_GOVERNANCE };

    loadRouterConfig({ TRADING_CONTROL_CACHE_TTL_MS: '1000', TRADING_BREAKER_FAILURE_THRESHOLD: '7' });

    expect(DEFAULT_GOVERNANCE.controlCacheTtlMs).toBe(5_000);
    expect(DEFAULT_GOVERNANCE).toEqual(before);
  });
});

describe.each(GOVERNANCE_VARIABLES)('$name', ({ name, key, valid: [raw, value], bounds: [min, max], implied }) => {
  it('is read when valid, leaving the other governance values at their defaults', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, [name]: raw });

    expect(config.governance[key]).toBe(value);
    expect(config.governance).toEqual({ ...DEFAULT_GOVERNANCE, ...implied, [key]: value });
  });

  it('keeps a sound configuration on LEAN when valid', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, [name]: raw });

    expect(config.routing).toEqual(LEAN_ROUTING);
    expect(config.misconfiguration).toEqual([]);
  });

  it('accepts its lower and upper bounds', () => {
    expect(loadRouterConfig({ ...LEAN_ENV, [name]: String(min) }).governance[key]).toBe(min);
    expect(loadRouterConfig({ ...LEAN_ENV, [name]: String(max) }).governance[key]).toBe(max);
  });

  it('ignores blanks around the value', () => {
    expect(loadRouterConfig({ ...LEAN_ENV, [name]: ` ${raw}\n` }).governance[key]).toBe(value);
  });

  it('keeps the default, with no problem, when set to an empty string', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, [name]: '' });

    expect(config.governance[key]).toBe(DEFAULT_GOVERNANCE[key]);
    expect(config.misconfiguration).toEqual([]);
  });
});

describe.each(INVALID_CASES)('$name=$raw', ({ name, key, raw }) => {
  const config = loadRouterConfig({ ...LEAN_ENV, [name]: raw });

  it('keeps the default', () => {
    expect(config.governance[key]).toBe(DEFAULT_GOVERNANCE[key]);
  });

  it('records one problem naming the variable and its value', () => {
    expect(config.misconfiguration).toHaveLength(1);
    expect(config.misconfiguration[0]).toContain(name);
    expect(config.misconfiguration[0]).toContain(JSON.stringify(raw));
  });

  it('counts as a settings problem, which a runtime policy cannot override', () => {
    expect(config.settingsProblems).toEqual(config.misconfiguration);
  });

  it('routes away from LEAN', () => {
    expect(config.routing).toEqual(NON_LEAN_POLICY);
  });

  it('keeps the declared routing for the record', () => {
    expect(config.declaredRouting).toEqual(LEAN_ROUTING);
  });
});

describe('loadRouterConfig with every governance variable invalid', () => {
  it('records one problem per variable and never throws', () => {
    const env = Object.fromEntries(GOVERNANCE_VARIABLES.map(({ name }) => [name, 'garbage']));

    const config = loadRouterConfig({ ...LEAN_ENV, ...env });

    expect(config.governance).toEqual(DEFAULT_GOVERNANCE);
    expect(config.misconfiguration).toHaveLength(GOVERNANCE_VARIABLES.length);
    for (const { name } of GOVERNANCE_VARIABLES) expect(config.misconfiguration.join('\n')).toContain(name);
  });
});

describe('TRADING_CONTROL_MAX_AGE_MS', () => {
  it('defaults to three times the TTL', () => {
    expect(loadRouterConfig({ ...LEAN_ENV, TRADING_CONTROL_CACHE_TTL_MS: '2000' }).governance.controlMaxAgeMs).toBe(6_000);
  });

  it('is read when at least the TTL, keeping a sound configuration on LEAN', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_CONTROL_MAX_AGE_MS: '20000' });

    expect(config.governance).toEqual({ ...DEFAULT_GOVERNANCE, controlMaxAgeMs: 20_000 });
    expect(config.routing).toEqual(LEAN_ROUTING);
  });

  it('accepts the TTL itself (every order after the TTL waits, as without a background refresh)', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_CONTROL_CACHE_TTL_MS: '4000', TRADING_CONTROL_MAX_AGE_MS: '4000' });

    expect(config.governance.controlMaxAgeMs).toBe(4_000);
    expect(config.misconfiguration).toEqual([]);
  });

  it('keeps three TTLs and routes away from LEAN, naming both variables, when below the TTL', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_CONTROL_CACHE_TTL_MS: '4000', TRADING_CONTROL_MAX_AGE_MS: '3999' });

    expect(config.governance.controlMaxAgeMs).toBe(12_000);
    expect(config.misconfiguration).toEqual([expect.stringMatching(/TRADING_CONTROL_MAX_AGE_MS=3999 is below TRADING_CONTROL_CACHE_TTL_MS=4000/)]);
    expect(config.routing).toEqual(NON_LEAN_POLICY);
  });

  it.each(['soon', '99', '180001', '15000.5', '-1'])('keeps three TTLs and records a problem for %j', (raw) => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_CONTROL_MAX_AGE_MS: raw });

    expect(config.governance.controlMaxAgeMs).toBe(15_000);
    expect(config.misconfiguration).toEqual([expect.stringContaining(`TRADING_CONTROL_MAX_AGE_MS=${JSON.stringify(raw)}`)]);
  });
});

/** One health-check variable: a valid value, its key, and values that must be refused. */
interface HealthCheckVariable {
  readonly name: string;
  readonly key: Exclude<keyof HealthCheckConfig, 'problems'>;
  readonly valid: readonly [string, number];
  readonly invalid: readonly string[];
}

const HEALTH_CHECK_DEFAULTS = {
  probeTimeoutMs: 2_000,
  errorRateWindowMs: 300_000,
  errorRateMinVolume: 10,
  errorRateThreshold: 0.25,
} as const;

const HEALTH_CHECK_VARIABLES: readonly HealthCheckVariable[] = [
  { name: 'TRADING_HEALTH_PROBE_TIMEOUT_MS', key: 'probeTimeoutMs', valid: ['1500', 1_500], invalid: ['fast', '49', '10001', '1.5', '-1'] },
  { name: 'TRADING_LEAN_ERROR_RATE_WINDOW_MS', key: 'errorRateWindowMs', valid: ['600000', 600_000], invalid: ['5m', '9999', '3600001', '0'] },
  { name: 'TRADING_LEAN_ERROR_RATE_MIN_VOLUME', key: 'errorRateMinVolume', valid: ['5', 5], invalid: ['ten', '0', '100001', '2.5'] },
  { name: 'TRADING_LEAN_ERROR_RATE_THRESHOLD', key: 'errorRateThreshold', valid: ['0.5', 0.5], invalid: ['25%', '0', '-0.1', '1.01', '25'] },
];

describe('loadHealthCheckConfig defaults', () => {
  it('use a 2 s probe, a 5 minute window, a minimum of 10 submits and a 25% threshold', () => {
    expect(loadHealthCheckConfig({})).toEqual({ ...HEALTH_CHECK_DEFAULTS, problems: [] });
  });
});

describe.each(HEALTH_CHECK_VARIABLES)('loadHealthCheckConfig $name', ({ name, key, valid: [raw, value], invalid }) => {
  it('is read when valid, leaving the others at their defaults', () => {
    expect(loadHealthCheckConfig({ [name]: raw })).toEqual({ ...HEALTH_CHECK_DEFAULTS, [key]: value, problems: [] });
  });

  it.each(invalid)('keeps the default and records a problem for %j', (bad) => {
    const config = loadHealthCheckConfig({ [name]: bad });

    expect(config[key]).toBe(HEALTH_CHECK_DEFAULTS[key]);
    expect(config.problems).toHaveLength(1);
    expect(config.problems[0]).toContain(name);
  });
});

describe('loadHealthCheckConfig edge values', () => {
  it('refuses a threshold of 1, which no share of failures is above, so the trip could never fire', () => {
    const config = loadHealthCheckConfig({ TRADING_LEAN_ERROR_RATE_THRESHOLD: '1' });

    expect({ threshold: config.errorRateThreshold, problems: config.problems.length }).toEqual({ threshold: 0.25, problems: 1 });
  });

  it('accepts a threshold just below 1 (trip only when nearly every submit failed)', () => {
    expect(loadHealthCheckConfig({ TRADING_LEAN_ERROR_RATE_THRESHOLD: '0.99' }).errorRateThreshold).toBe(0.99);
  });

  it('never throws, and reports every invalid variable at once', () => {
    const env = Object.fromEntries(HEALTH_CHECK_VARIABLES.map(({ name }) => [name, 'garbage']));

    const config = loadHealthCheckConfig(env);

    expect(config).toEqual({ ...HEALTH_CHECK_DEFAULTS, problems: expect.any(Array) });
    expect(config.problems).toHaveLength(HEALTH_CHECK_VARIABLES.length);
  });
});
