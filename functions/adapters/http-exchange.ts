// The module objects, not named imports: X-Ray's HTTP capture (the Tracer in observability.ts)
// replaces `request` on them, and an ESM named import of a built-in keeps the original function.
import http, { Agent as HttpAgent, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import https, { Agent as HttpsAgent } from 'node:https';
import type { FailureCertainty } from '../core/execution';
import type { BrokerCallContext } from '../core/ports';
import { withinTimeout } from './call-timeout';

/** A transport-level failure: no HTTP status was received. */
export interface TransportFailure {
  readonly kind: 'timeout' | 'network_error';
  readonly certainty: FailureCertainty;
  readonly detail: string;
}

/** Response headers as Node reads them: lower-case names. */
export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** An HTTP answer with its body read as text, or why there was none. */
export type HttpExchange =
  | { readonly kind: 'response'; readonly status: number; readonly headers: ResponseHeaders; readonly body: string }
  | { readonly kind: 'transport_error'; readonly failure: TransportFailure };

/** One request, bounded by a total deadline that covers connect, headers and body. */
export interface ExchangeRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: URL;
  readonly headers: Record<string, string>;
  readonly body?: unknown;
  readonly timeoutMs: number;
}

/**
 * Joins an API path onto a base URL keeping the base's own path, so a runner published under a
 * prefix (`https://host/prod`) is called at `https://host/prod/v1/...`; `new URL('/v1', base)` drops it.
 */
export function endpointUrl(baseUrl: string, path: string): URL {
  const base = new URL(baseUrl);
  base.pathname = `${base.pathname.replace(/\/+$/, '')}${path}`;
  return base;
}

/** A call's own timeout, shortened to what the caller's deadline leaves when it has one. */
export function callTimeout(ownTimeoutMs: number, context: BrokerCallContext): number {
  return context.timeoutMs === undefined ? ownTimeoutMs : Math.min(ownTimeoutMs, context.timeoutMs);
}

/**
 * Keep-alive connection pools (one per scheme) whose connect attempts give up after
 * `connectTimeoutMs`. Node's own `http` client, not undici: the README's figures section says why.
 */
export interface HttpPool {
  readonly http: HttpAgent;
  readonly https: HttpsAgent;
  readonly connectTimeoutMs: number;
}

/** Lambda freezes between invocations; a short idle life avoids reusing sockets the peer dropped. */
const IDLE_SOCKET_MS = 4_000;

/** The code of a connect that did not complete in time: nothing was sent, so it is definite. */
const CONNECT_TIMEOUT_CODE = 'CONNECT_TIMEOUT';

/** A keep-alive pool whose connect attempts (DNS, TCP and TLS) give up after `connectTimeoutMs`. */
export function createHttpPool(connectTimeoutMs: number): HttpPool {
  // An idle pooled socket times out after IDLE_SOCKET_MS and the agent destroys it.
  const options = { keepAlive: true, timeout: IDLE_SOCKET_MS, scheduling: 'lifo' } as const;
  return { http: new HttpAgent(options), https: new HttpsAgent(options), connectTimeoutMs };
}

/** Sends one request and never throws: every failure comes back classified. */
export async function exchange(pool: HttpPool, req: ExchangeRequest): Promise<HttpExchange> {
  return withinTimeout(req.timeoutMs, async (deadline) => {
    try {
      return await send(pool, req, deadline);
    } catch (error) {
      return { kind: 'transport_error', failure: classifyTransportError(error, deadline.aborted, req.timeoutMs) };
    }
  });
}

/** One request on the pool; rejects with the socket's error, or the abort once `signal` fires. */
function send(pool: HttpPool, req: ExchangeRequest, signal: AbortSignal): Promise<HttpExchange> {
  return new Promise((resolve, reject) => {
    const secure = req.url.protocol === 'https:';
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    // A copy either way: X-Ray's capture adds its trace header to the options' headers object.
    const headers = body === undefined ? { ...req.headers } : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...req.headers };
    const options: RequestOptions = { method: req.method, headers, signal, agent: secure ? pool.https : pool.http };
    const onResponse = (response: IncomingMessage): void => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        text += chunk;
      });
      response.on('end', () => resolve({ kind: 'response', status: response.statusCode ?? 0, headers: response.headers, body: text }));
      response.on('error', reject);
      response.on('close', () => {
        if (!response.complete) reject(Object.assign(new Error('the connection closed before the body was complete'), { code: 'ECONNRESET' }));
      });
    };
    const outgoing: ClientRequest = secure ? https.request(req.url, options, onResponse) : http.request(req.url, options, onResponse);
    outgoing.on('error', reject);
    outgoing.on('socket', (socket) => {
      if (!socket.connecting) return; // a pooled socket, already connected
      const timer = setTimeout(() => {
        outgoing.destroy(Object.assign(new Error(`no connection within ${pool.connectTimeoutMs} ms`), { code: CONNECT_TIMEOUT_CODE }));
      }, pool.connectTimeoutMs);
      const connected = (): void => clearTimeout(timer);
      socket.once(secure ? 'secureConnect' : 'connect', connected);
      socket.once('close', connected);
    });
    outgoing.end(body);
  });
}

// Errors that prove the request never left this process: nothing can have been placed. The
// undici codes stay for callers that still use it (the local LEAN runner simulator).
const DEFINITE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', CONNECT_TIMEOUT_CODE, 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUT_CODES = new Set([CONNECT_TIMEOUT_CODE, 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/**
 * Classifies a transport error. A timeout is always `timeout`, never a network error; it is
 * definite only when the connection itself was never made.
 */
export function classifyTransportError(error: unknown, deadlineExpired: boolean, timeoutMs: number): TransportFailure {
  const code = errorCode(error);
  if (deadlineExpired) {
    return { kind: 'timeout', certainty: 'ambiguous', detail: `no complete answer within ${timeoutMs} ms` };
  }
  const detail = `${code ?? 'error'}: ${error instanceof Error ? error.message : String(error)}`;
  return {
    kind: code !== undefined && TIMEOUT_CODES.has(code) ? 'timeout' : 'network_error',
    certainty: code !== undefined && DEFINITE_CODES.has(code) ? 'definite' : 'ambiguous',
    detail,
  };
}

function errorCode(error: unknown): string | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 4; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    // AggregateError from happy-eyeballs connects carries the codes of its parts.
    const first = (current as { errors?: unknown[] }).errors?.[0];
    current = first ?? current.cause;
  }
  return undefined;
}

/** Parses a JSON body, or says it is not JSON. */
export function parseJson(body: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
}
