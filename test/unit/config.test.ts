import { describe, expect, it } from 'vitest';
import {
  budgetProblems,
  loadHealthCheckConfig,
  loadRouterConfig,
  MAX_ROUTE_TIMEOUT_MS,
  NON_LEAN_POLICY,
  parseSymbols,
  timingVariableNames,
  worstCaseRoutePath,
} from '../../functions/core/config';
import { loadLifecycleSyncSettings } from '../../functions/core/lifecycle-sync';
import { LEAN_ENV as SOUND_LEAN_ENV } from '../support/fakes';

/** A sound LEAN configuration with no fallback; each misconfiguration case breaks exactly one thing in it. */
const LEAN_ENV = { ...SOUND_LEAN_ENV, TRADING_EXECUTION_FALLBACK_ADAPTER: 'none' };

describe('loadRouterConfig defaults', () => {
  const config = loadRouterConfig({});

  it('routes to Alpaca with an empty allowlist and Alpaca as fallback', () => {
    expect(config.routing).toEqual({ adapter: 'alpaca', policy: 'allowlist', symbols: new Set(), fallback: 'alpaca', strategy_enablement: 'off' });
  });

  it('reports no misconfiguration', () => {
    expect(config.misconfiguration).toEqual([]);
  });

  it('has no runner URL, not even an undefined one', () => {
    expect(config).not.toHaveProperty('leanRunnerUrl');
  });

  it('keeps every timeout within bounds and the LEAN connect timeout below the submit timeout', () => {
    const { timeouts } = config;

    for (const value of Object.values(timeouts)) expect(value).toBeGreaterThanOrEqual(50);
    for (const value of Object.values(timeouts)) expect(value).toBeLessThanOrEqual(8_000);
    expect(timeouts.leanConnectMs).toBeLessThan(timeouts.leanSubmitMs);
  });

  it('uses a 1% notional tolerance', () => {
    expect(config.notionalTolerance).toBe(0.01);
  });
});

describe('loadRouterConfig with a valid LEAN configuration', () => {
  const config = loadRouterConfig({
    ...LEAN_ENV,
    TRADING_LEAN_RUNNER_TIMEOUT_MS: '2500',
    TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS: '300',
    TRADING_NOTIONAL_TOLERANCE: '0.02',
  });

  it('keeps the configured routing policy', () => {
    expect(config.routing).toEqual({ adapter: 'lean', policy: 'allowlist', symbols: new Set(['AAPL', 'MSFT']), fallback: 'none', strategy_enablement: 'off' });
  });

  it('reports no misconfiguration', () => {
    expect(config.misconfiguration).toEqual([]);
  });

  it('keeps the runner URL', () => {
    expect(config.leanRunnerUrl).toBe('https://lean.internal:8443');
  });

  it('reads the timeouts and the tolerance', () => {
    expect(config.timeouts).toMatchObject({ leanSubmitMs: 2500, leanConnectMs: 300 });
    expect(config.notionalTolerance).toBe(0.02);
  });

  it.each(['http://127.0.0.1:8080', 'http://localhost:3000', 'https://lean-runner.svc.cluster.local'])(
    'accepts the runner URL %s',
    (url) => {
      const withUrl = loadRouterConfig({ ...LEAN_ENV, TRADING_LEAN_RUNNER_URL: url });

      expect(withUrl.misconfiguration).toEqual([]);
      expect(withUrl.leanRunnerUrl).toBe(url);
    },
  );

  it.each([
    ['a protocol that only ends in https', 'git+https://lean.internal'],
    ['a protocol that only starts with http', 'httpx://lean.internal'],
  ])('refuses a runner URL with %s', (_case, url) => {
    const withUrl = loadRouterConfig({ ...LEAN_ENV, TRADING_LEAN_RUNNER_URL: url });

    expect(withUrl.misconfiguration).toEqual([
      expect.stringContaining(`TRADING_LEAN_RUNNER_URL=${JSON.stringify(url)} is invalid`),
      'TRADING_LEAN_RUNNER_URL is required when the adapter is lean',
    ]);
    expect(withUrl.routing).toEqual(NON_LEAN_POLICY);
  });

  it('ignores blanks around the routing values', () => {
    const padded = loadRouterConfig({
      TRADING_EXECUTION_ADAPTER: ' lean\n',
      TRADING_EXECUTION_ADAPTER_POLICY: ' all ',
      TRADING_EXECUTION_FALLBACK_ADAPTER: '\tnone',
      TRADING_LEAN_RUNNER_URL: ' https://lean.internal:8443 ',
    });

    expect(padded.misconfiguration).toEqual([]);
    expect(padded.routing).toEqual({ adapter: 'lean', policy: 'all', symbols: new Set(), fallback: 'none', strategy_enablement: 'off' });
    expect(padded.leanRunnerUrl).toBe('https://lean.internal:8443');
  });

  it('accepts policy all without symbols', () => {
    const all = loadRouterConfig({ ...LEAN_ENV, TRADING_EXECUTION_ADAPTER_POLICY: 'all', TRADING_EXECUTION_ADAPTER_SYMBOLS: '' });

    expect(all.misconfiguration).toEqual([]);
    expect(all.routing.policy).toBe('all');
  });
});

describe('loadRouterConfig misconfiguration', () => {
  it.each([
    ['an unknown adapter', { TRADING_EXECUTION_ADAPTER: 'LEAN2' }, 'TRADING_EXECUTION_ADAPTER'],
    ['an unknown policy', { TRADING_EXECUTION_ADAPTER_POLICY: 'some' }, 'TRADING_EXECUTION_ADAPTER_POLICY'],
    ['an unknown fallback', { TRADING_EXECUTION_FALLBACK_ADAPTER: 'lean' }, 'TRADING_EXECUTION_FALLBACK_ADAPTER'],
    ['lean without a runner URL', { TRADING_LEAN_RUNNER_URL: undefined }, 'TRADING_LEAN_RUNNER_URL'],
    ['lean with a blank runner URL', { TRADING_LEAN_RUNNER_URL: '   ' }, 'TRADING_LEAN_RUNNER_URL'],
    ['an invalid runner URL', { TRADING_LEAN_RUNNER_URL: 'not a url' }, 'TRADING_LEAN_RUNNER_URL'],
    ['a non-http runner URL', { TRADING_LEAN_RUNNER_URL: 'ftp://lean.internal' }, 'TRADING_LEAN_RUNNER_URL'],
    ['a file runner URL', { TRADING_LEAN_RUNNER_URL: 'file:///etc/passwd' }, 'TRADING_LEAN_RUNNER_URL'],
    ['allowlist with no symbols', { TRADING_EXECUTION_ADAPTER_SYMBOLS: undefined }, 'TRADING_EXECUTION_ADAPTER_SYMBOLS'],
    ['allowlist with only blank symbols', { TRADING_EXECUTION_ADAPTER_SYMBOLS: ' , ,, ' }, 'TRADING_EXECUTION_ADAPTER_SYMBOLS'],
    ['a non-numeric LEAN timeout', { TRADING_LEAN_RUNNER_TIMEOUT_MS: 'fast' }, 'TRADING_LEAN_RUNNER_TIMEOUT_MS'],
    ['a fractional LEAN timeout', { TRADING_LEAN_RUNNER_TIMEOUT_MS: '1500.5' }, 'TRADING_LEAN_RUNNER_TIMEOUT_MS'],
    ['a too small LEAN lookup timeout', { TRADING_LEAN_RUNNER_LOOKUP_TIMEOUT_MS: '10' }, 'TRADING_LEAN_RUNNER_LOOKUP_TIMEOUT_MS'],
    ['a too large Alpaca timeout', { TRADING_ALPACA_TIMEOUT_MS: '30000' }, 'TRADING_ALPACA_TIMEOUT_MS'],
    ['a negative Alpaca connect timeout', { TRADING_ALPACA_CONNECT_TIMEOUT_MS: '-1' }, 'TRADING_ALPACA_CONNECT_TIMEOUT_MS'],
    ['a non-numeric Alpaca lookup timeout', { TRADING_ALPACA_LOOKUP_TIMEOUT_MS: '1s' }, 'TRADING_ALPACA_LOOKUP_TIMEOUT_MS'],
    ['a LEAN connect timeout equal to the submit timeout', { TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS: '3000', TRADING_LEAN_RUNNER_TIMEOUT_MS: '3000' }, 'TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS'],
    ['a LEAN connect timeout above the submit timeout', { TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS: '4000', TRADING_LEAN_RUNNER_TIMEOUT_MS: '1000' }, 'TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS'],
    ['a notional tolerance above range', { TRADING_NOTIONAL_TOLERANCE: '0.9' }, 'TRADING_NOTIONAL_TOLERANCE'],
    ['a negative notional tolerance', { TRADING_NOTIONAL_TOLERANCE: '-0.01' }, 'TRADING_NOTIONAL_TOLERANCE'],
    ['a non-numeric notional tolerance', { TRADING_NOTIONAL_TOLERANCE: 'one percent' }, 'TRADING_NOTIONAL_TOLERANCE'],
  ])('routes %s to the non-LEAN policy and names %s', (_case, override, variable) => {
    const config = loadRouterConfig({ ...LEAN_ENV, ...override });

    expect(config.routing).toEqual(NON_LEAN_POLICY);
    expect(config.misconfiguration.some((problem) => problem.includes(variable))).toBe(true);
  });

  it('routes a misconfigured router straight to Alpaca: adapter alpaca, an empty allowlist, Alpaca as fallback', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_LEAN_RUNNER_URL: undefined });

    expect(config.routing).toEqual({ adapter: 'alpaca', policy: 'allowlist', symbols: new Set(), fallback: 'alpaca', strategy_enablement: 'off' });
  });

  it('says in the problem which limit the value broke', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_ALPACA_TIMEOUT_MS: '8001' });

    expect(config.misconfiguration).toEqual([expect.stringMatching(/^TRADING_ALPACA_TIMEOUT_MS="8001" is invalid \(.*8000.*\)$/)]);
  });

  it('reports every problem, not only the first', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_EXECUTION_FALLBACK_ADAPTER: 'bogus', TRADING_ALPACA_TIMEOUT_MS: 'x' });

    expect(config.misconfiguration).toHaveLength(2);
  });

  it('never routes to LEAN when any timeout is misconfigured, even if the policy itself is sound', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_ALPACA_TIMEOUT_MS: '0' });

    expect(config.routing.adapter).toBe('alpaca');
  });
});

describe('symbol normalization', () => {
  it.each([
    ['aapl,msft', ['AAPL', 'MSFT']],
    [' aapl , Msft ', ['AAPL', 'MSFT']],
    ['AAPL,,MSFT,', ['AAPL', 'MSFT']],
    ['aapl,AAPL', ['AAPL']],
    ['', []],
  ])('reads %j as %j', (raw, expected) => {
    expect([...parseSymbols(raw)]).toEqual(expected);
  });

  it('stores normalized symbols in the routing policy', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_EXECUTION_ADAPTER_SYMBOLS: ' spy ,, qqq ' });

    expect(config.routing.symbols).toEqual(new Set(['SPY', 'QQQ']));
  });
});

describe('loadRouterConfig on garbage', () => {
  const garbage = ['', ' ', '\u0000', '💥', 'null', 'undefined', '{"adapter":"lean"}', '-1e309', 'NaN', 'lean,alpaca', 'x'.repeat(10_000)];
  const variables = [
    'TRADING_EXECUTION_ADAPTER',
    'TRADING_EXECUTION_ADAPTER_POLICY',
    'TRADING_EXECUTION_ADAPTER_SYMBOLS',
    'TRADING_EXECUTION_FALLBACK_ADAPTER',
    'TRADING_LEAN_RUNNER_URL',
    'TRADING_LEAN_RUNNER_TIMEOUT_MS',
    'TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS',
    'TRADING_NOTIONAL_TOLERANCE',
  ];

  it.each(garbage)('never throws and never routes to LEAN when every variable is %j', (value) => {
    const env = Object.fromEntries(variables.map((name) => [name, value]));

    const config = loadRouterConfig(env);

    expect(config.routing.adapter).toBe('alpaca');
  });

  it.each(garbage)('never throws when one variable of a LEAN configuration is %j', (value) => {
    for (const name of variables) {
      expect(() => loadRouterConfig({ ...LEAN_ENV, [name]: value })).not.toThrow();
    }
  });
});

describe('loadRouterConfig: the timeout budget of one invocation', () => {
  it('fits the defaults into the default 20 s route timeout with its 2 s reserve', () => {
    const config = loadRouterConfig(LEAN_ENV);

    expect(config.misconfiguration).toEqual([]);
    expect(config.budget).toEqual({ routeTimeoutMs: 20_000, finalizeReserveMs: 2_000 });
    expect(worstCaseRoutePath(config.timeouts).reduce((sum, step) => sum + step.ms, 0)).toBe(18_000);
  });

  it('counts every call of the slowest path, the AWS ones included', () => {
    const steps = worstCaseRoutePath(loadRouterConfig({}).timeouts).map((step) => step.step);

    expect(steps).toEqual([
      'control values (SSM)',
      'Alpaca keys (SSM)',
      'claim (DynamoDB)',
      'LEAN submit',
      'LEAN lookup',
      'Alpaca lookup',
      'fallback intent (DynamoDB)',
      'Alpaca submit',
      'Alpaca lookup',
    ]);
  });

  it('keeps LEAN off and names each step when the slowest path outlasts the route timeout less the reserve', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_ALPACA_TIMEOUT_MS: '5001' });

    expect(config.routing).toEqual(NON_LEAN_POLICY);
    expect(config.misconfiguration).toEqual([expect.stringMatching(/^the slowest order path takes 18001 ms \(control values \(SSM\) 1500 \+ .* \+ Alpaca lookup 1500\), more than TRADING_ROUTE_TIMEOUT_MS 20000 less TRADING_FINALIZE_RESERVE_MS 2000$/)]);
  });

  it('accepts a path that ends exactly where the reserve begins', () => {
    expect(budgetProblems(loadRouterConfig({}).timeouts, { routeTimeoutMs: 20_000, finalizeReserveMs: 2_000 })).toEqual([]);
  });

  it('accepts a reserve exactly as long as one DynamoDB write', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_FINALIZE_RESERVE_MS: '1500' });

    expect(config.misconfiguration).toEqual([]);
  });

  it('refuses a reserve too small for one DynamoDB write', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_FINALIZE_RESERVE_MS: '1499' });

    expect(config.misconfiguration).toContain('TRADING_FINALIZE_RESERVE_MS 1499 cannot hold one DynamoDB write (TRADING_DYNAMODB_TIMEOUT_MS 1500)');
  });

  it('refuses a route timeout whose answer could miss API Gateway’s 29 s after a cold start', () => {
    const config = loadRouterConfig({ ...LEAN_ENV, TRADING_ROUTE_TIMEOUT_MS: String(MAX_ROUTE_TIMEOUT_MS + 1) });

    expect(MAX_ROUTE_TIMEOUT_MS).toBe(26_000);
    expect(config.misconfiguration).toEqual([expect.stringContaining('TRADING_ROUTE_TIMEOUT_MS="26001" is invalid')]);
  });

  it('reads the AWS call timeouts', () => {
    const { timeouts } = loadRouterConfig({ TRADING_DYNAMODB_TIMEOUT_MS: '900', TRADING_SSM_TIMEOUT_MS: '800' });

    expect([timeouts.dynamoDbMs, timeouts.ssmMs]).toEqual([900, 800]);
  });
});

describe('loadLifecycleSyncSettings: reconciliation never races a live invocation', () => {
  it('refuses a reconciliation delay no longer than the route timeout, and uses the default instead', () => {
    const loaded = loadLifecycleSyncSettings({ TRADING_RECONCILE_AFTER_MS: '20000', TRADING_ROUTE_TIMEOUT_MS: '20000' });

    expect(loaded.settings.reconcileAfterMs).toBe(60_000);
    expect(loaded.problems).toEqual([expect.stringContaining("TRADING_RECONCILE_AFTER_MS=20000 must exceed the route function's timeout")]);
  });

  it('accepts a reconciliation delay just above the route timeout', () => {
    const loaded = loadLifecycleSyncSettings({ TRADING_RECONCILE_AFTER_MS: '5001', TRADING_ROUTE_TIMEOUT_MS: '5000' });

    expect([loaded.settings.reconcileAfterMs, loaded.problems]).toEqual([5_001, []]);
  });
});

describe('timingVariableNames', () => {
  const TIMING_VARIABLES = [
    'TRADING_LEAN_RUNNER_CONNECT_TIMEOUT_MS',
    'TRADING_LEAN_RUNNER_TIMEOUT_MS',
    'TRADING_LEAN_RUNNER_LOOKUP_TIMEOUT_MS',
    'TRADING_ALPACA_CONNECT_TIMEOUT_MS',
    'TRADING_ALPACA_TIMEOUT_MS',
    'TRADING_ALPACA_LOOKUP_TIMEOUT_MS',
    'TRADING_DYNAMODB_TIMEOUT_MS',
    'TRADING_SSM_TIMEOUT_MS',
    'TRADING_ROUTE_TIMEOUT_MS',
    'TRADING_FINALIZE_RESERVE_MS',
    'TRADING_HEALTH_PROBE_TIMEOUT_MS',
    'TRADING_RECONCILE_AFTER_MS',
  ];

  it('lists every call timeout, the route budget, the health-check’s probe and reconciliation’s delay', () => {
    expect(new Set(timingVariableNames())).toEqual(new Set(TIMING_VARIABLES));
  });

  // The list is spelled out, not taken from the function: a test collected from it checks nothing when it breaks.
  it.each(TIMING_VARIABLES)('names %s, a variable one of the functions’ loaders reads and checks', (name) => {
    const problems = [
      ...loadRouterConfig({ [name]: 'garbage' }).misconfiguration,
      ...loadHealthCheckConfig({ [name]: 'garbage' }).problems,
      ...loadLifecycleSyncSettings({ [name]: 'garbage' }).problems,
    ];

    expect(problems).toEqual([expect.stringContaining(`${name}="garbage" is invalid`)]);
  });
});
