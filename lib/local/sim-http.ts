import { setMaxListeners } from 'node:events';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { parseJson } from '../../functions/adapters/http-exchange';
import { listen, stopListening } from './port-in-use';

/** One request as a simulator route sees it: body already read, path and query split. */
export interface SimRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  readonly receivedAt: Date;
  /** Aborted by reset, `down` and close, so hung and delayed answers end with them. */
  readonly signal: AbortSignal;
}

/** What a simulator does with a request; `operation` is what `requestCount` counts it as. */
export interface SimRoute<Op extends string> {
  readonly operation?: Op;
  handle(req: SimRequest, res: ServerResponse): Promise<void> | void;
}

/** The parts in which the two simulators differ. */
export interface SimulatorSpec<Op extends string, Faults extends { down?: boolean }> {
  /** Names the simulator in error messages, e.g. "Alpaca simulator". */
  readonly name: string;
  /** Host (default 127.0.0.1) and port (default 0: a free one). */
  readonly listen: { readonly host?: string; readonly port?: number };
  readonly operations: readonly Op[];
  /** Validates `POST /_sim/faults`; `parse({})` must give "no faults". */
  readonly faultsSchema: z.ZodType<Faults>;
  route(req: SimRequest): SimRoute<Op>;
  /** Forgets orders and anything else the simulator holds, on reset. */
  clearState(): void;
  /** Extra fields for `GET /_sim/state`. */
  describeState(): Record<string, unknown>;
  /** Admin routes of this simulator's own beside state, faults and reset, keyed like `"POST /step"`. */
  readonly adminRoutes?: Readonly<Record<string, SimAdminAction>>;
}

/** One admin route of a simulator's own; `body` is the request's JSON, `{}` when it has none. */
export type SimAdminAction = (body: unknown) => SimAdminAnswer | Promise<SimAdminAnswer>;

/** One answer of the admin API. */
export interface SimAdminAnswer {
  readonly status: number;
  readonly body: unknown;
}

/**
 * The admin API without its transport: `GET state`, `POST faults`, `POST reset` and the
 * simulator's own admin routes, the same routes and bodies as its `/_sim/*`. Called from another
 * listener (the local stack's front door), it keeps working while the simulator is `down`, and
 * `{"down": false}` or `{}` brings it back up before answering.
 */
export interface SimAdmin {
  /** `path` is the action relative to the admin root: `/state`, `/faults`, `/reset` or one of the simulator's own. */
  handle(method: string, path: string, body: string): Promise<SimAdminAnswer>;
}

/** The shared machinery: listener, counters, faults, down, admin routes. */
export interface SimulatorCore<Op extends string, Faults> {
  readonly url: string;
  /** The admin API for callers in this process that do not go through the simulator's listener. */
  readonly admin: SimAdmin;
  faults(): Faults;
  requestCount(op: Op): number;
  setFaults(faults: Faults): Promise<void>;
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** A fault that delays, hangs or replaces an answer; each simulator narrows `mode`. */
export interface SimpleFault {
  readonly mode: string;
  readonly latencyMs?: number;
  readonly status?: number;
  readonly message?: string;
}

const DOWN_SETTLE_MS = 20;

/** An admin request, read and validated. */
type AdminAction<Faults> =
  | { readonly kind: 'state' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'faults'; readonly faults: Faults }
  | { readonly kind: 'own'; readonly action: SimAdminAction; readonly body: unknown }
  | { readonly kind: 'refused'; readonly status: number; readonly message: string };

/** Zod fields shared by every fault schema. */
export const faultTiming = {
  latencyMs: z.number().int().nonnegative().optional(),
  status: z.number().int().min(100).max(599).optional(),
};

/** A `superRefine` that refuses `fields` on a fault whose mode is not one of `modes`: there they would mean nothing, or something ambiguous. */
export function onlyWithModes(modes: readonly string[], ...fields: string[]) {
  return (fault: { readonly mode: string }, ctx: z.RefinementCtx): void => {
    for (const field of fields) {
      if ((fault as Record<string, unknown>)[field] !== undefined && !modes.includes(fault.mode)) {
        ctx.addIssue({ code: 'custom', path: [field], message: `${field} applies only to modes ${modes.join(', ')}` });
      }
    }
  };
}

/**
 * Starts a loopback simulator. `down` closes the listener (connections refused) and re-listens
 * on the same port, so `url` never changes. Admin routes under `/_sim/` are neither counted nor
 * authenticated.
 */
export async function startSimulator<Op extends string, Faults extends { down?: boolean }>(
  spec: SimulatorSpec<Op, Faults>,
): Promise<SimulatorCore<Op, Faults>> {
  const host = spec.listen.host ?? '127.0.0.1';
  const counts = new Map<Op, number>();
  let faults = spec.faultsSchema.parse({});
  let inFlight = newGeneration();
  let listening = false;
  let closed = false;

  const server = createServer((req, res) => {
    void dispatch(req, res);
  });
  const port = await listen(server, spec.name, host, spec.listen.port ?? 0);
  listening = true;

  /** Ends every hung or delayed answer: their sockets are destroyed, as a crashed peer would. */
  const interrupt = (): void => {
    inFlight.abort(new Error(`${spec.name} interrupted`));
    inFlight = newGeneration();
  };

  // One listener transition at a time: two overlapping "up"s would otherwise both call listen().
  let transition: Promise<void> = Promise.resolve();
  const setDown = (down: boolean): Promise<void> => {
    const next = transition.then(() => applyDown(down));
    transition = next.catch(() => undefined);
    return next;
  };

  const applyDown = async (down: boolean): Promise<void> => {
    if (closed || down !== listening) return;
    if (down) {
      interrupt();
      listening = false;
      await stopListening(server);
      // Let clients in this process read the FIN first: a pooled socket they still think is open
      // would fail as a reset mid-request, not as the refused connection that `down` stands for.
      await sleep(DOWN_SETTLE_MS);
    } else {
      await listen(server, spec.name, host, port);
      listening = true;
    }
  };

  const reset = async (): Promise<void> => {
    counts.clear();
    faults = spec.faultsSchema.parse({});
    spec.clearState();
    interrupt();
    await setDown(false);
  };

  const state = (): Record<string, unknown> => ({
    url: `http://${host}:${port}`,
    up: listening,
    requests: Object.fromEntries(spec.operations.map((op) => [op, counts.get(op) ?? 0])),
    faults,
    ...spec.describeState(),
  });

  const adminRouteNames = ['GET state', 'POST faults', 'POST reset', ...Object.keys(spec.adminRoutes ?? {}).map((route) => route.replace(' /', ' '))];

  /** Reads one admin request; `faults` are validated but not yet applied. */
  const adminAction = (method: string, path: string, body: string): AdminAction<Faults> => {
    const route = `${method} ${path}`;
    if (route === 'GET /state') return { kind: 'state' };
    if (route === 'POST /reset') return { kind: 'reset' };
    const own = spec.adminRoutes?.[route];
    if (route !== 'POST /faults' && own === undefined) return { kind: 'refused', status: 404, message: `no admin route ${method} ${path}: use ${adminRouteNames.join(', ')}` };
    const json = parseJson(body.trim() === '' ? '{}' : body);
    if (own !== undefined) return json.ok ? { kind: 'own', action: own, body: json.value } : { kind: 'refused', status: 400, message: 'body is not JSON' };
    const parsed = json.ok ? spec.faultsSchema.safeParse(json.value) : undefined;
    if (!parsed?.success) return { kind: 'refused', status: 400, message: parsed ? z.prettifyError(parsed.error) : 'body is not JSON' };
    return { kind: 'faults', faults: parsed.data };
  };

  const setFaults = async (next: Faults): Promise<void> => {
    faults = next;
    await setDown(next.down === true);
  };

  const admin: SimAdmin = {
    handle: async (method, path, body) => {
      const action = adminAction(method, path, body);
      switch (action.kind) {
        case 'state':
          return { status: 200, body: state() };
        case 'reset':
          await reset();
          return { status: 200, body: state() };
        case 'faults':
          await setFaults(action.faults);
          return { status: 200, body: action.faults };
        case 'own':
          return action.action(action.body);
        case 'refused':
          return { status: action.status, body: { message: action.message } };
      }
    },
  };

  /** The simulator's own `/_sim/*` routes. */
  const ownAdmin = async (req: SimRequest, res: ServerResponse): Promise<void> => {
    const path = req.path.slice('/_sim'.length);
    const action = adminAction(req.method, path, req.body);
    if (action.kind === 'faults' && action.faults.down === true) {
      faults = action.faults;
      // Close only once the answer is out, or the caller would see its own request reset.
      res.once('finish', () => void setDown(true));
      return sendJson(res, 200, faults, { connection: 'close' });
    }
    const answer = await admin.handle(req.method, path, req.body);
    sendJson(res, answer.status, answer.body);
  };

  async function dispatch(incoming: IncomingMessage, res: ServerResponse): Promise<void> {
    const signal = inFlight.signal;
    try {
      const body = await readBody(incoming);
      const url = new URL(incoming.url ?? '/', 'http://simulator');
      const req: SimRequest = {
        method: incoming.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: incoming.headers,
        body,
        receivedAt: new Date(),
        signal,
      };
      if (req.path.startsWith('/_sim/')) return await ownAdmin(req, res);
      const route = spec.route(req);
      if (route.operation !== undefined) counts.set(route.operation, (counts.get(route.operation) ?? 0) + 1);
      await route.handle(req, res);
    } catch (error) {
      if (signal.aborted || res.headersSent) res.destroy();
      else sendJson(res, 500, { message: `${spec.name} failed: ${error instanceof Error ? error.message : String(error)}` });
    }
  }

  return {
    url: `http://${host}:${port}`,
    admin,
    faults: () => faults,
    requestCount: (op) => counts.get(op) ?? 0,
    setFaults,
    reset,
    close: async () => {
      if (closed) return;
      closed = true;
      interrupt();
      // A listener coming back up right now must be up before it can be closed.
      await transition;
      if (listening) {
        listening = false;
        await stopListening(server);
      }
    },
  };
}

/** An admin route whose body `schema` validates first: a refused body answers 400 naming the problem. */
export function validatedAdminAction<Body>(schema: z.ZodType<Body>, run: (body: Body) => SimAdminAnswer | Promise<SimAdminAnswer>): SimAdminAction {
  return (body) => {
    const parsed = schema.safeParse(body);
    return parsed.success ? run(parsed.data) : { status: 400, body: { message: z.prettifyError(parsed.error) } };
  };
}

/** Writes a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** A 200 that claims JSON but is cut off mid-object, as a proxy dying mid-body would leave it. */
function sendInvalidJson(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end('{"id": "4a1c0e5e-unterminated');
}

/** One header's value; repeated headers are joined as HTTP allows. */
export function header(req: SimRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** Never settles normally: rejects only when `signal` aborts (reset, down, close). */
export function hang(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/** Waits `ms`, or rejects early when `signal` aborts, so no timer outlives the simulator. */
async function pause(ms: number | undefined, signal: AbortSignal): Promise<void> {
  if (ms !== undefined && ms > 0) await sleep(ms, undefined, { signal });
}

/**
 * Plays a fault: `hang` never answers, `latencyMs` delays, `http_error` and `invalid_json` answer
 * in place of the real thing. Returns whether the request has been answered.
 */
export async function playFault(
  fault: SimpleFault | undefined,
  req: SimRequest,
  res: ServerResponse,
  errorAnswer: { status: number; body: (status: number, message: string) => unknown },
): Promise<boolean> {
  if (fault === undefined) return false;
  if (fault.mode === 'hang') await hang(req.signal);
  await pause(fault.latencyMs, req.signal);
  if (fault.mode === 'http_error') {
    const status = fault.status ?? errorAnswer.status;
    sendJson(res, status, errorAnswer.body(status, fault.message ?? 'simulated failure'));
    return true;
  }
  if (fault.mode === 'invalid_json') {
    sendInvalidJson(res);
    return true;
  }
  return false;
}

function newGeneration(): AbortController {
  const controller = new AbortController();
  // Every hung request listens on this signal; dozens are normal, not a leak.
  setMaxListeners(0, controller.signal);
  return controller;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
