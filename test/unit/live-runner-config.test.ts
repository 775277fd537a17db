import { describe, expect, it } from 'vitest';
import { ROUTER_STAGE_VARIABLE } from '../../functions/adapters/observability';
import { loadRouterConfig, NON_LEAN_POLICY, STAGE_VARIABLE } from '../../functions/core/config';

/** A live router routing every symbol to an https runner called with a token. */
const LIVE_LEAN_ENV = {
  ROUTER_STAGE: 'live',
  TRADING_EXECUTION_ADAPTER: 'lean',
  TRADING_EXECUTION_ADAPTER_POLICY: 'all',
  TRADING_LEAN_RUNNER_URL: 'https://lean-runner.example.com',
  LEAN_RUNNER_TOKEN_PARAMETER: '/lean-router/live/lean-runner-token',
};

describe('loadRouterConfig on live: the runner over TLS, with a token', () => {
  it('reads the stage from the variable the stack sets for the metrics', () => {
    expect(STAGE_VARIABLE).toBe(ROUTER_STAGE_VARIABLE);
  });

  it('routes to an https runner called with a token', () => {
    const config = loadRouterConfig(LIVE_LEAN_ENV);

    expect(config.misconfiguration).toEqual([]);
    expect(config.leanRunnerUrl).toBe('https://lean-runner.example.com');
  });

  it('refuses an http runner URL: LEAN off, the URL dropped so nothing is ever sent to it', () => {
    const config = loadRouterConfig({ ...LIVE_LEAN_ENV, TRADING_LEAN_RUNNER_URL: 'http://lean-runner.example.com' });

    expect(config.misconfiguration).toContain('TRADING_LEAN_RUNNER_URL must be https on live: the runner token and the orders never travel in clear');
    expect(config.routing).toBe(NON_LEAN_POLICY);
    expect(config.leanRunnerUrl).toBeUndefined();
  });

  it('refuses a runner URL carrying credentials without quoting them', () => {
    const config = loadRouterConfig({ ...LIVE_LEAN_ENV, TRADING_LEAN_RUNNER_URL: 'https://runner:hunter2@lean-runner.example.com' });

    expect(config.misconfiguration[0]).toMatch(/^TRADING_LEAN_RUNNER_URL must not carry credentials \(user:password@\) on live/);
    expect(config.misconfiguration.join(' ')).not.toContain('hunter2');
    expect(config.routing).toBe(NON_LEAN_POLICY);
    expect(config.leanRunnerUrl).toBeUndefined();
  });

  it('refuses a runner without LEAN_RUNNER_TOKEN_PARAMETER', () => {
    const config = loadRouterConfig({ ...LIVE_LEAN_ENV, LEAN_RUNNER_TOKEN_PARAMETER: undefined });

    expect(config.misconfiguration).toContain('LEAN_RUNNER_TOKEN_PARAMETER is required on live when TRADING_LEAN_RUNNER_URL is set');
    expect(config.routing).toBe(NON_LEAN_POLICY);
  });

  it('keeps the refusals among the settings problems, so a runtime policy cannot turn LEAN back on', () => {
    const config = loadRouterConfig({ ...LIVE_LEAN_ENV, TRADING_LEAN_RUNNER_URL: 'http://lean-runner.example.com' });

    expect(config.settingsProblems).toContain('TRADING_LEAN_RUNNER_URL must be https on live: the runner token and the orders never travel in clear');
  });

  it('asks nothing of a live router without a runner URL', () => {
    expect(loadRouterConfig({ ROUTER_STAGE: 'live' }).misconfiguration).toEqual([]);
  });

  it('still lets paper call an http runner without a token', () => {
    const config = loadRouterConfig({ ...LIVE_LEAN_ENV, ROUTER_STAGE: 'paper', TRADING_LEAN_RUNNER_URL: 'http://lean-runner:8080', LEAN_RUNNER_TOKEN_PARAMETER: undefined });

    expect(config.misconfiguration).toEqual([]);
    expect(config.leanRunnerUrl).toBe('http://lean-runner:8080');
  });
});
