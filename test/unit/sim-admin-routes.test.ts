import { describe, expect, it } from 'vitest';
import { firstAnswering, type LocalRoutes } from '../../lib/local/api-front-door';
import type { LifecycleSyncReport } from '../../functions/core/lifecycle-sync';
import type { RouterAdmin, RouterResetReport, RouterView } from '../../lib/local/router-state';
import { routerAdminRoutes, simAdminRoutes } from '../../lib/local/sim-admin-routes';
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

/** A router admin that counts resets and answers fixed views. */
function countingRouterAdmin(): RouterAdmin & { resets: number; syncs: number } {
  const view = { symbols_in_review: [], route_handler_since: '2026-01-02T03:04:05.000Z' } as unknown as RouterView;
  const admin = {
    resets: 0,
    syncs: 0,
    view: async () => view,
    reset: async () => {
      admin.resets += 1;
      return { ...view, reset: { reviews_cleared: ['NVDA'] } } as unknown as RouterResetReport;
    },
    sync: async () => {
      admin.syncs += 1;
      return { openOrders: 2, changes: 1, stopped: 'complete' } as unknown as LifecycleSyncReport;
    },
  };
  return admin;
}

describe("the router's admin routes on the local front door", () => {
  it('resets the router on POST /_router/reset and answers what the reset did', async () => {
    const admin = countingRouterAdmin();

    const answer = await routerAdminRoutes(admin)({ method: 'POST', path: '/_router/reset', body: '' });

    expect(admin.resets).toBe(1);
    expect(answer).toMatchObject({ status: 200, body: { reset: { reviews_cleared: ['NVDA'] } } });
  });

  it('answers the view on GET /_router without resetting anything', async () => {
    const admin = countingRouterAdmin();

    const answer = await routerAdminRoutes(admin)({ method: 'GET', path: '/_router', body: '' });

    expect(answer).toMatchObject({ status: 200, body: { route_handler_since: '2026-01-02T03:04:05.000Z' } });
    expect(admin.resets).toBe(0);
  });

  it('refuses GET /_router/reset with 405 naming the method to use, and resets nothing', async () => {
    const admin = countingRouterAdmin();

    const answer = await routerAdminRoutes(admin)({ method: 'GET', path: '/_router/reset', body: '' });

    expect(answer).toEqual({ status: 405, body: { message: 'use POST /_router/reset' } });
    expect(admin.resets).toBe(0);
  });

  it('runs one lifecycle sync on POST /_router/sync and answers its report', async () => {
    const admin = countingRouterAdmin();

    const answer = await routerAdminRoutes(admin)({ method: 'POST', path: '/_router/sync', body: '' });

    expect(admin.syncs).toBe(1);
    expect(answer).toEqual({ status: 200, body: { openOrders: 2, changes: 1, stopped: 'complete' } });
  });

  it('refuses GET /_router/sync with 405, and syncs nothing', async () => {
    const admin = countingRouterAdmin();

    const answer = await routerAdminRoutes(admin)({ method: 'GET', path: '/_router/sync', body: '' });

    expect(answer).toEqual({ status: 405, body: { message: 'use POST /_router/sync' } });
    expect(admin.syncs).toBe(0);
  });

  it('answers 404 naming every route for another path under /_router', async () => {
    const answer = await routerAdminRoutes(countingRouterAdmin())({ method: 'POST', path: '/_router/breaker', body: '' });

    expect(answer).toEqual({ status: 404, body: { message: 'no route /_router/breaker: use GET /_router, POST /_router/reset or POST /_router/sync' } });
  });

  it('leaves every other path, /_sim included, to the next routes', async () => {
    const routes = routerAdminRoutes(countingRouterAdmin());

    const answers = await Promise.all(['/orders', '/_sim/lean/reset', '/_routerx'].map((path) => routes({ method: 'POST', path, body: '' })));

    expect(answers).toEqual([undefined, undefined, undefined]);
  });
});

describe('local routes combined on the front door', () => {
  const answering =
    (status: number): LocalRoutes =>
    async () => ({ status, body: {} });
  const silent: LocalRoutes = async () => undefined;

  it('answers with the first routes that answer, in order', async () => {
    const answer = await firstAnswering(silent, answering(201), answering(202))({ method: 'GET', path: '/x', body: '' });

    expect(answer?.status).toBe(201);
  });

  it('hands the request on to the handler when none answers', async () => {
    const answer = await firstAnswering(silent, silent)({ method: 'GET', path: '/orders', body: '' });

    expect(answer).toBeUndefined();
  });
});
