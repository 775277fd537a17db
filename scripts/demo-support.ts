/**
 * What `npm run demo` and `npm run demo:parity` share: talking to the local stack's front door,
 * printing `checked:` lines, and numbered steps whose first failed check ends the demo with a
 * one-line reason. Importing it runs nothing; each demo makes its own session with `demoSession`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { parseJson } from '../functions/adapters/http-exchange';
import type { LifecycleSyncReport } from '../functions/core/lifecycle-sync';
import type { ProvenanceRow } from '../functions/core/provenance';
import type { RouterResetReport } from '../lib/local/router-state';
import { ROUTER_ADMIN_ROOT, SIM_ADMIN_ROOT } from '../lib/local/sim-admin-routes';

/** One exchange with the stack, body parsed. */
export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** Nothing answers at the API URL, or what answers is not a lean-router local stack. */
class StackNotRunning extends Error {}

/** A step that did not do what it says; the message is the one-line reason. */
export class StepFailed extends Error {}

/** The Alpaca simulator's market as `GET /_sim` answers it (`POST /_sim/alpaca/market` takes the same). */
export interface SimMarket {
  readonly prices?: Record<string, string>;
  readonly defaultPrice?: string;
  readonly slippageBps?: number;
  readonly partial?: boolean;
  /** Absent: orders step only when told, so nothing fills by itself. */
  readonly fillDelayMs?: number;
  readonly leanSlippageBps?: number;
  readonly leanFillRate?: number;
}

/** The simulators' state as `GET /_sim` answers it; `null` for a real service. */
export interface SimStates {
  readonly lean: { up?: boolean; faults?: Record<string, unknown>; requests?: { submit?: number; cancel?: number } } | null;
  readonly alpaca: { up?: boolean; faults?: Record<string, unknown>; orders_placed?: number; requests?: { cancel?: number }; market?: SimMarket } | null;
}

/** Where the local stack answers and how long a demo pauses between steps, from the environment `npm start` reads. */
export interface DemoSettings {
  readonly apiUrl: string;
  readonly ssmPort: string;
  readonly ssmEndpoint: string;
  /** DEMO_PAUSE_MS (default 1200); 0 for none. */
  readonly pauseMs: number;
}

/** The settings of a demo run: LOCAL_API_PORT (3000), LOCAL_SSM_PORT (4583), DEMO_PAUSE_MS (1200). */
export function demoSettings(env: NodeJS.ProcessEnv = process.env): DemoSettings {
  const ssmPort = env.LOCAL_SSM_PORT || '4583';
  return {
    apiUrl: `http://127.0.0.1:${env.LOCAL_API_PORT || 3000}`,
    ssmPort,
    ssmEndpoint: `http://127.0.0.1:${ssmPort}`,
    pauseMs: Number(env.DEMO_PAUSE_MS ?? 1200),
  };
}

/** A run's id, to the millisecond: the client_order_ids of one run share it, and no two runs do. */
export const demoRunId = (): string => new Date().toISOString().replace(/\D/g, '').slice(0, 17);

/** Leeway past the control cache's TTL, for the read that refills it. */
const CONTROL_CACHE_WAIT_MARGIN_MS = 500;

/** Prints a line of the demo. */
export const say = (text = ''): void => console.log(text);

/** The receipt in a reply to `POST` or `DELETE /orders`: the body, or the `details` of an error. */
export const receiptOf = (reply: Reply): Record<string, unknown> =>
  (reply.status >= 400 ? (reply.body.details as Record<string, unknown> | undefined) : reply.body) ?? reply.body;

/** Why the router took the route it did, as a receipt says: the fallback reason, the route reason, or the error. */
export const routeReasonOf = (reply: Reply, receipt: Record<string, unknown>): unknown =>
  receipt.execution_fallback_reason ?? receipt.execution_route_reason ?? reply.body.error ?? '';

/** A demo under way: its exchanges with the stack, its checks, and the step it is at. */
export interface DemoSession<S extends string> {
  /** Sends one request to the stack; a connection refused is `StackNotRunning`. */
  readonly call: (method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown) => Promise<Reply>;
  /** Waits `factor` pauses between steps (none when DEMO_PAUSE_MS is 0). */
  readonly pause: (factor?: number) => Promise<void>;
  /** Prints a check that held; every claim a demo makes is one of these. */
  readonly checked: (text: string) => void;
  /** How many checks have held. */
  readonly checks: () => number;
  /** Pauses, then starts step `name` and prints its heading. */
  readonly step: (name: S) => Promise<void>;
  /** Fails the step under way with `reason` unless `holds`. */
  readonly mustHold: (holds: boolean, reason: string) => asserts holds;
  /** The simulators' state; `StackNotRunning` when what answers is not a local stack. */
  readonly simStates: () => Promise<SimStates>;
  /** Clears the faults of each simulator `sims` shows down or faulty, saying so. */
  readonly healSimulators: (sims: SimStates) => Promise<void>;
  /** Resets the router's state (`POST /_router/reset`), printing the command; the step fails on anything but 200. */
  readonly resetRouter: () => Promise<RouterResetReport>;
  /** The row as `GET /orders/{id}` answers it; the step fails on anything but 200. */
  readonly readRow: (id: string) => Promise<ProvenanceRow>;
  /** Runs one lifecycle sync now, as the schedule would, and prints what it changed. */
  readonly syncNow: () => Promise<LifecycleSyncReport>;
  /**
   * Waits out the route handler's maximum age of the control values (`settings.control_max_age_ms`),
   * so its next order uses what was just written: past the TTL alone an order may still use the
   * cached values while a background read refreshes them.
   */
  readonly waitForControlCache: (maxAgeMs: number | undefined) => Promise<void>;
}

/**
 * A session against the stack at `apiUrl`, whose steps are `steps` (titles numbered as printed,
 * `'3. Orders fall back'`: a failure names its step by number and title), starting at `first`.
 */
export function demoSession<S extends string>(options: { readonly apiUrl: string; readonly pauseMs: number; readonly steps: Readonly<Record<S, string>>; readonly first: NoInfer<S> }): DemoSession<S> {
  const { apiUrl, pauseMs, steps } = options;
  let current: S = options.first;
  let checks = 0;

  const call: DemoSession<S>['call'] = async (method, path, body) => {
    let response: Response;
    try {
      response = await fetch(`${apiUrl}${path}`, {
        method,
        ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(15_000),
      });
    } catch (error) {
      const code = (error as { cause?: { code?: string } }).cause?.code;
      if (code === 'ECONNREFUSED') throw new StackNotRunning(`nothing answers at ${apiUrl}; start it with npm start in another terminal`);
      throw error;
    }
    const text = await response.text();
    const json = parseJson(text);
    return { status: response.status, body: json.ok ? (json.value as Record<string, unknown>) : { text } };
  };

  const pause: DemoSession<S>['pause'] = (factor = 1) => (pauseMs > 0 ? sleep(pauseMs * factor) : Promise.resolve());

  const mustHold: DemoSession<S>['mustHold'] = (holds, reason) => {
    if (holds) return;
    const title = steps[current];
    throw new StepFailed(`step ${title.split('.')[0]} (${title.replace(/^\d+\. /, '')}) did not hold: ${reason}`);
  };

  const checked: DemoSession<S>['checked'] = (text) => {
    checks += 1;
    say(`  checked: ${text}`);
  };

  const readRow: DemoSession<S>['readRow'] = async (id) => {
    const reply = await call('GET', `/orders/${encodeURIComponent(id)}`);
    mustHold(reply.status === 200, `GET /orders/${id} answered ${reply.status} ${JSON.stringify(reply.body)}`);
    return reply.body as unknown as ProvenanceRow;
  };

  return {
    call,
    pause,
    checked,
    checks: () => checks,
    step: async (name) => {
      await pause();
      current = name;
      say(`\n== ${steps[name]}`);
    },
    mustHold,
    simStates: async () => {
      const reply = await call('GET', SIM_ADMIN_ROOT);
      const body = reply.body as Partial<SimStates>;
      if (reply.status !== 200 || body.lean === undefined || body.alpaca === undefined) {
        throw new StackNotRunning(`${apiUrl} is not a lean-router local stack (GET ${SIM_ADMIN_ROOT} answered ${reply.status}); start it with npm start in another terminal`);
      }
      return { lean: body.lean, alpaca: body.alpaca };
    },
    healSimulators: async (sims) => {
      for (const name of ['lean', 'alpaca'] as const) {
        const state = sims[name];
        if (state?.up === false || Object.keys(state?.faults ?? {}).length > 0) {
          say(`  (the ${name} simulator had faults ${JSON.stringify(state?.faults)}; clearing them)`);
          await call('POST', `${SIM_ADMIN_ROOT}/${name}/faults`, {});
        }
      }
    },
    resetRouter: async () => {
      say(`  curl -s -X POST ${apiUrl}${ROUTER_ADMIN_ROOT}/reset`);
      const reply = await call('POST', `${ROUTER_ADMIN_ROOT}/reset`);
      mustHold(reply.status === 200, `POST ${ROUTER_ADMIN_ROOT}/reset answered ${reply.status} ${JSON.stringify(reply.body)} (a stack started before this route existed: restart npm start)`);
      return reply.body as unknown as RouterResetReport;
    },
    readRow,
    syncNow: async () => {
      say(`  curl -s -X POST ${apiUrl}${ROUTER_ADMIN_ROOT}/sync`);
      const reply = await call('POST', `${ROUTER_ADMIN_ROOT}/sync`);
      mustHold(reply.status === 200, `POST ${ROUTER_ADMIN_ROOT}/sync answered ${reply.status} ${JSON.stringify(reply.body)} (a stack started before this route existed: restart npm start)`);
      const report = reply.body as unknown as LifecycleSyncReport;
      say(`  -> ${report.changes} row${report.changes === 1 ? '' : 's'} changed, ${report.openOrders} open before the run (stopped: ${report.stopped})`);
      return report;
    },
    waitForControlCache: async (maxAgeMs) => {
      mustHold(maxAgeMs !== undefined, `${ROUTER_ADMIN_ROOT} shows no settings.control_max_age_ms (a stack started before it existed: restart npm start)`);
      const waitMs = maxAgeMs + CONTROL_CACHE_WAIT_MARGIN_MS;
      say(`  (waiting ${waitMs / 1000} s: the router's orders use control values up to ${maxAgeMs / 1000} s old, TRADING_CONTROL_MAX_AGE_MS)`);
      await sleep(waitMs);
    },
  };
}
