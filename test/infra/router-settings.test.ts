import { describe, expect, it } from 'vitest';
import { loadRouterConfig } from '../../functions/core/config';
import { createRouterApp } from '../../lib/router-app';
import { tradingEnvironment } from '../../lib/router-environment';
import { provenanceTableName } from '../../functions/adapters/provenance-table';
import { routerSettingsFromContext, RouterSettingsError, stackName } from '../../lib/router-settings';

const fromContext = (context: Record<string, unknown>) => routerSettingsFromContext((key) => context[key]);

describe('router settings from CDK context', () => {
  it('defaults to paper, Alpaca only, never live', () => {
    expect(fromContext({})).toEqual({
      stage: 'paper',
      executionAdapter: 'alpaca',
      executionPolicy: 'allowlist',
      executionSymbols: [],
      fallbackAdapter: 'alpaca',
    });
  });

  it('reads every key, normalizing symbols given as a comma list or an array, ignoring blanks', () => {
    const expected = {
      stage: 'live',
      leanRunnerUrl: 'https://lean.example.com',
      executionAdapter: 'lean',
      executionPolicy: 'allowlist',
      executionSymbols: ['AAPL', 'BRK.B'],
      fallbackAdapter: 'none',
      alarmEmail: 'oncall@example.com',
    };
    const base = { ...expected, alarmEmail: ' oncall@example.com ' };
    expect(fromContext({ ...base, executionSymbols: ' aapl, brk.b ,,AAPL' })).toEqual(expected);
    expect(fromContext({ ...base, executionSymbols: ['aapl', 'BRK.B'] })).toEqual(expected);
    expect(fromContext({ leanRunnerUrl: '', alarmEmail: ' ' })).not.toHaveProperty('leanRunnerUrl');
  });

  it.each([
    [{ stage: 'prod' }, 'context "stage" must be "paper" or "live", not "prod"'],
    [{ stage: 'Live' }, 'context "stage" must be "paper" or "live"'],
    [{ executionAdapter: 'LEAN' }, 'context "executionAdapter"'],
    [{ executionPolicy: 'some' }, 'context "executionPolicy"'],
    [{ fallbackAdapter: 'lean' }, 'context "fallbackAdapter"'],
    [{ leanRunnerUrl: 'lean-runner:8080' }, 'context "leanRunnerUrl" must be an http(s) URL'],
    // A URL the functions' own loader refuses (they would run with LEAN off and the runner alarm firing).
    [{ leanRunnerUrl: 'http://lean_runner:8080' }, 'TRADING_LEAN_RUNNER_URL="http://lean_runner:8080" is invalid'],
    [{ alarmEmail: 'oncall' }, 'context "alarmEmail" must be an email address'],
    [{ executionAdapter: 'lean', executionPolicy: 'all' }, 'TRADING_LEAN_RUNNER_URL is required when the adapter is lean'],
    [{ executionAdapter: 'lean', leanRunnerUrl: 'https://lean.example.com' }, 'TRADING_EXECUTION_ADAPTER_SYMBOLS is empty while the policy is allowlist'],
    // The slowest order path must fit the route function's timeout less the final write's reserve.
    [{ timings: { TRADING_ALPACA_TIMEOUT_MS: 8_000, TRADING_LEAN_RUNNER_TIMEOUT_MS: 8_000 } }, 'the slowest order path takes 26000 ms'],
    [{ timings: '{"TRADING_ROUTE_TIMEOUT_MS": 15000}' }, 'the slowest order path takes 18000 ms'],
    [{ timings: { TRADING_ROUTE_TIMEOUT_MS: 27_000 } }, 'TRADING_ROUTE_TIMEOUT_MS="27000" is invalid'],
    [{ timings: { TRADING_ROUTE_TIMEOUT_MS: 20_500 } }, 'TRADING_ROUTE_TIMEOUT_MS=20500 must be whole seconds'],
    [{ timings: { TRADING_FINALIZE_RESERVE_MS: 1_000 } }, 'TRADING_FINALIZE_RESERVE_MS 1000 cannot hold one DynamoDB write'],
    [{ timings: { TRADING_RECONCILE_AFTER_MS: 20_000 } }, 'TRADING_RECONCILE_AFTER_MS=20000 must exceed the route function\'s timeout'],
    [{ timings: { TRADING_LEAN_TIMEOUT: 1 } }, 'names no timing variable: "TRADING_LEAN_TIMEOUT"'],
    [{ timings: { TRADING_ALPACA_TIMEOUT_MS: 'soon' } }, 'context "timings.TRADING_ALPACA_TIMEOUT_MS"'],
    [{ timings: 'not json' }, 'context "timings" must be a JSON object'],
  ])('refuses %j with a clear error', (context, message) => {
    expect(() => fromContext(context)).toThrow(RouterSettingsError);
    expect(() => fromContext(context)).toThrow(message);
  });

  it('hands the functions the routing it read: their own loader finds the same values, sound', () => {
    const settings = fromContext({ executionAdapter: 'lean', leanRunnerUrl: 'https://lean.example.com', executionSymbols: 'aapl,msft', fallbackAdapter: 'none' });
    const config = loadRouterConfig(tradingEnvironment(settings));
    expect(config.misconfiguration).toEqual([]);
    expect(config.leanRunnerUrl).toBe('https://lean.example.com');
    expect(config.declaredRouting).toEqual({ adapter: 'lean', policy: 'allowlist', symbols: new Set(['AAPL', 'MSFT']), fallback: 'none', strategy_enablement: 'off' });
  });

  it('hands the functions the timings it read, with the route timeout always set', () => {
    const settings = fromContext({ timings: { TRADING_LEAN_RUNNER_TIMEOUT_MS: '2500' } });

    expect(tradingEnvironment(settings)).toMatchObject({ TRADING_LEAN_RUNNER_TIMEOUT_MS: '2500', TRADING_ROUTE_TIMEOUT_MS: '20000' });
    expect(loadRouterConfig(tradingEnvironment(settings)).timeouts.leanSubmitMs).toBe(2500);
  });

  it('fails the app before building anything on an unknown stage', () => {
    expect(() => createRouterApp({ context: { stage: 'staging' } })).toThrow(/context "stage" must be "paper" or "live"/);
  });

  it('names the stack and the table after the stage, as the CLI expects', () => {
    expect(stackName('paper')).toBe('lean-router-paper');
    expect(provenanceTableName('live')).toBe('lean-router-live-provenance');
  });
});

describe('router settings on live: the runner over TLS, without credentials in its URL', () => {
  const liveLean = { stage: 'live', executionAdapter: 'lean', executionPolicy: 'all' };

  it('refuses an http runner URL at synth', () => {
    const context = { ...liveLean, leanRunnerUrl: 'http://lean-runner.example.com' };

    expect(() => fromContext(context)).toThrow(RouterSettingsError);
    expect(() => fromContext(context)).toThrow('TRADING_LEAN_RUNNER_URL must be https on live');
  });

  it('refuses an http runner URL at synth even when LEAN is not the adapter (the health-check would still call it)', () => {
    expect(() => fromContext({ stage: 'live', leanRunnerUrl: 'http://lean-runner.example.com' })).toThrow('TRADING_LEAN_RUNNER_URL must be https on live');
  });

  it('refuses a runner URL carrying credentials at synth, without repeating them', () => {
    const error = (() => {
      try {
        fromContext({ ...liveLean, leanRunnerUrl: 'https://runner:hunter2@lean-runner.example.com' });
      } catch (thrown) {
        return thrown;
      }
      return undefined;
    })();

    expect(error).toBeInstanceOf(RouterSettingsError);
    expect((error as Error).message).toContain('TRADING_LEAN_RUNNER_URL must not carry credentials (user:password@) on live');
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('accepts an https runner URL on live', () => {
    expect(fromContext({ ...liveLean, leanRunnerUrl: 'https://lean-runner.example.com' }).leanRunnerUrl).toBe('https://lean-runner.example.com');
  });

  it('still accepts an http runner URL on paper', () => {
    expect(fromContext({ stage: 'paper', leanRunnerUrl: 'http://lean-runner.example.com' }).leanRunnerUrl).toBe('http://lean-runner.example.com');
  });
});
