import { Agent, request, type Dispatcher } from 'undici';
import type { FailureCertainty } from '../core/execution';
import type { BrokerCallContext } from '../core/ports';

/** A transport-level failure: no HTTP status was received. */
export interface TransportFailure {
  readonly kind: 'timeout' | 'network_error';
  readonly certainty: FailureCertainty;
  readonly detail: string;
}

/** Response headers as undici reads them: lower-case names. */
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

/** A keep-alive connection pool whose connect attempts give up after `connectTimeoutMs`. */
export function createDispatcher(connectTimeoutMs: number): Dispatcher {
  // Lambda freezes between invocations; a short keep-alive avoids reusing sockets the peer dropped.
  return new Agent({ connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 4_000, keepAliveMaxTimeout: 10_000 });
}

/** Sends one request and never throws: every failure comes back classified. */
export async function exchange(dispatcher: Dispatcher, req: ExchangeRequest): Promise<HttpExchange> {
  const deadline = AbortSignal.timeout(req.timeoutMs);
  try {
    const response = await request(req.url, {
      dispatcher,
      method: req.method,
      headers: req.body === undefined ? req.headers : { 'content-type': 'application/json', ...req.headers },
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: deadline,
    });
    const body = await response.body.text();
    return { kind: 'response', status: response.statusCode, headers: response.headers, body };
  } catch (error) {
    return { kind: 'transport_error', failure: classifyTransportError(error, deadline.aborted, req.timeoutMs) };
  }
}

// Errors that prove the request never left this process: nothing can have been placed.
const DEFINITE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

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
