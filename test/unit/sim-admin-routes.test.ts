import { describe, expect, it } from 'vitest';
import { simAdminRoutes } from '../../lib/local/sim-admin-routes';
import type { SimAdmin } from '../../lib/local/sim-http';

/** A simulator admin that records what it was asked and answers `{asked}`. */
function recordingAdmin(): SimAdmin & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    handle: async (method, path, body) => {
      calls.push(`${method} ${path} ${body}`);
      return { status: 200, body: { asked: `${method} ${path}` } };
    },
  };
}

describe('the fault-injection routes on the local front door', () => {
  it('hands /_sim/lean/faults to the LEAN simulator as its own /faults, body unchanged', async () => {
    const lean = recordingAdmin();
    const routes = simAdminRoutes({ lean, alpaca: recordingAdmin() });

    const answer = await routes({ method: 'POST', path: '/_sim/lean/faults', body: '{"down":true}' });

    expect(answer).toEqual({ status: 200, body: { asked: 'POST /faults' } });
    expect(lean.calls).toEqual(['POST /faults {"down":true}']);
  });

  it('answers both states on GET /_sim, null for a simulator replaced by a real service', async () => {
    const routes = simAdminRoutes({ alpaca: recordingAdmin() });

    const answer = await routes({ method: 'GET', path: '/_sim', body: '' });

    expect(answer).toEqual({ status: 200, body: { lean: null, alpaca: { asked: 'GET /state' } } });
  });

  it('answers 409 naming the variable when the simulator is replaced by a real service', async () => {
    const routes = simAdminRoutes({ alpaca: recordingAdmin() });

    const answer = await routes({ method: 'POST', path: '/_sim/lean/faults', body: '{}' });

    expect(answer?.status).toBe(409);
    expect(JSON.stringify(answer?.body)).toContain('TRADING_LEAN_RUNNER_URL');
  });

  it('answers 404 for a simulator it does not know', async () => {
    const answer = await simAdminRoutes({})({ method: 'POST', path: '/_sim/ib/faults', body: '{}' });

    expect(answer?.status).toBe(404);
  });

  it('leaves every other path to the order API', async () => {
    const answer = await simAdminRoutes({ lean: recordingAdmin() })({ method: 'POST', path: '/orders', body: '{}' });

    expect(answer).toBeUndefined();
  });
});
