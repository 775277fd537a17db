import type { LocalRoutes } from './api-front-door';
import type { RouterAdmin } from './router-state';
import type { SimAdmin } from './sim-http';

/** The simulators the local stack runs; an absent one is a real service (its URL was configured). */
export interface SimAdmins {
  readonly lean?: SimAdmin | undefined;
  readonly alpaca?: SimAdmin | undefined;
}

/** Where the fault-injection API lives on the front door. */
export const SIM_ADMIN_ROOT = '/_sim';

const NAMES = ['lean', 'alpaca'] as const;
const REAL_SERVICE = { lean: 'TRADING_LEAN_RUNNER_URL', alpaca: 'ALPACA_BASE_URL' } as const;

/**
 * The simulators' admin API served by the local front door beside `/orders`, so faults can be
 * injected and healed even while a simulator is `down` (its own listener is closed then):
 *
 *   GET  /_sim                          both simulators' state (`null`: a real service is used)
 *   GET  /_sim/{lean|alpaca}/state      counters, faults in force, `up`
 *   POST /_sim/{lean|alpaca}/faults     body: the faults, replacing those in force; `{}` heals
 *   POST /_sim/{lean|alpaca}/reset      clears faults, counters and state, and comes back up
 *   POST /_sim/alpaca/{market|step|fill|end-of-day}   the Alpaca simulator's order life
 *
 * Bodies and answers are the simulators' own `/_sim/*` ones. Other paths are not answered here.
 */
export function simAdminRoutes(admins: SimAdmins): LocalRoutes {
  return async ({ method, path, body }) => {
    if (path !== SIM_ADMIN_ROOT && !path.startsWith(`${SIM_ADMIN_ROOT}/`)) return undefined;
    if (path === SIM_ADMIN_ROOT || path === `${SIM_ADMIN_ROOT}/`) {
      if (method !== 'GET') return { status: 405, body: { message: `use GET ${SIM_ADMIN_ROOT}` } };
      const states = await Promise.all(NAMES.map(async (name) => [name, admins[name] ? (await admins[name].handle('GET', '/state', '')).body : null] as const));
      return { status: 200, body: Object.fromEntries(states) };
    }
    const match = /^\/_sim\/([^/]+)(\/.*)?$/.exec(path);
    const name = match?.[1] as (typeof NAMES)[number] | undefined;
    if (name === undefined || !NAMES.includes(name)) {
      return { status: 404, body: { message: `no simulator ${match?.[1] ?? ''}: use ${NAMES.map((n) => `${SIM_ADMIN_ROOT}/${n}/...`).join(' or ')}` } };
    }
    const admin = admins[name];
    if (admin === undefined) {
      return { status: 409, body: { message: `no ${name} simulator is running: ${REAL_SERVICE[name]} points at a real service, which cannot be faulted from here` } };
    }
    return admin.handle(method, match?.[2] ?? '/', body);
  };
}

/** Where the router's local admin API lives on the front door. */
export const ROUTER_ADMIN_ROOT = '/_router';

/**
 * The route handler's local admin API, served by the front door beside `/_sim`:
 *
 *   GET  /_router         the kill switch and reviews in the Parameter Store, when the route
 *                         handler in service was built, and the settings it was built with
 *   POST /_router/reset   kill switch off, reviews cleared, fallback counts restarted, one
 *                         health-check run, a new route handler (breaker closed, control cache
 *                         empty); provenance rows and the simulators are left as they are
 *   POST /_router/sync    one lifecycle sync run now (after any chore under way), answering its
 *                         report: broker status and fills written on the rows, as on schedule
 *
 * Other paths are not answered here.
 */
export function routerAdminRoutes(admin: RouterAdmin): LocalRoutes {
  const routes: Record<string, { method: string; answer: () => Promise<unknown> }> = {
    [ROUTER_ADMIN_ROOT]: { method: 'GET', answer: () => admin.view() },
    [`${ROUTER_ADMIN_ROOT}/reset`]: { method: 'POST', answer: () => admin.reset() },
    [`${ROUTER_ADMIN_ROOT}/sync`]: { method: 'POST', answer: () => admin.sync() },
  };
  const named = Object.entries(routes).map(([name, route]) => `${route.method} ${name}`);
  const choices = `${named.slice(0, -1).join(', ')} or ${named.at(-1)}`;
  return async ({ method, path }) => {
    if (path !== ROUTER_ADMIN_ROOT && !path.startsWith(`${ROUTER_ADMIN_ROOT}/`)) return undefined;
    const name = path.replace(/\/+$/, '');
    const route = routes[name];
    if (route === undefined) return { status: 404, body: { message: `no route ${path}: use ${choices}` } };
    if (method !== route.method) return { status: 405, body: { message: `use ${route.method} ${name}` } };
    return { status: 200, body: await route.answer() };
  };
}
