import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlpacaClient, type AlpacaCredentialsProvider } from '../../functions/adapters/alpaca-client';
import { startAlpacaSimulator, type AlpacaSimulator } from '../../lib/local/alpaca-simulator';
import { order } from '../support/fakes';
import { SIM_CREDENTIALS } from '../support/router-harness';

/** The Alpaca client against the Alpaca simulator over loopback: what a call costs in time, what it sends and how it reads the answers. */
let alpaca: AlpacaSimulator;

beforeAll(async () => {
  alpaca = await startAlpacaSimulator(SIM_CREDENTIALS);
});
afterAll(async () => {
  await alpaca?.close();
});
beforeEach(async () => {
  await alpaca.reset();
});

/** Credentials that arrive after `delayMs`, as a cold SecureString read might. */
function slowCredentials(delayMs: number): AlpacaCredentialsProvider {
  return { get: () => new Promise((resolve) => setTimeout(() => resolve(SIM_CREDENTIALS), delayMs)) };
}

function client(credentials: AlpacaCredentialsProvider): AlpacaClient {
  return new AlpacaClient({ baseUrl: alpaca.url, credentials, connectTimeoutMs: 200, submitTimeoutMs: 1_000, lookupTimeoutMs: 500 });
}

describe('AlpacaClient and the time of one call', () => {
  it('sends nothing when reading the credentials used up the time the caller gave the submit', async () => {
    const outcome = await client(slowCredentials(150)).submit(order(), { correlationId: 'c-1', timeoutMs: 100 });

    expect(outcome).toMatchObject({ kind: 'failed', failure: { reason: 'alpaca_submit_credentials_unavailable', certainty: 'definite' } });
    expect(alpaca.requestCount('submit')).toBe(0);
  });

  it('cuts a cold credentials read off when the call\'s time is up, instead of waiting for it', async () => {
    const started = performance.now();

    const outcome = await client(slowCredentials(2_000)).submit(order(), { correlationId: 'c-1b', timeoutMs: 100 });

    expect({ outcome, waitedUnderASecond: performance.now() - started < 1_000 }).toMatchObject({
      outcome: { kind: 'failed', failure: { reason: 'alpaca_submit_credentials_unavailable', certainty: 'definite' } },
      waitedUnderASecond: true,
    });
    expect(alpaca.requestCount('submit')).toBe(0);
  });

  it('sends nothing and says why when the credentials cannot be read', async () => {
    const outcome = await client({ get: () => Promise.reject(new Error('AccessDeniedException')) }).submit(order(), { correlationId: 'c-2' });

    expect(outcome).toMatchObject({ kind: 'failed', failure: { reason: 'alpaca_submit_credentials_unavailable', detail: 'Alpaca credentials could not be read (Error)' } });
    expect(alpaca.requestCount('submit')).toBe(0);
  });

  it('counts a slow credentials read against the submit, so the call ends when the caller said', async () => {
    await alpaca.setFaults({ submit: { mode: 'hang' } });

    const started = performance.now();
    const outcome = await client(slowCredentials(100)).submit(order(), { correlationId: 'c-3', timeoutMs: 300 });
    const elapsedMs = performance.now() - started;

    expect(outcome).toMatchObject({ kind: 'failed', failure: { reason: 'alpaca_submit_timeout' } });
    expect(elapsedMs).toBeLessThan(900);
  });

  it('gives a lookup the caller’s shorter time', async () => {
    await alpaca.setFaults({ lookup: { mode: 'hang' } });

    const started = performance.now();
    const outcome = await client(slowCredentials(0)).findByClientOrderId('ord-1', { correlationId: 'c-4', timeoutMs: 100 });
    const elapsedMs = performance.now() - started;

    expect(outcome.kind).toBe('error');
    expect(elapsedMs).toBeLessThan(450);
  });
});

/** Places `count` orders through the client, one after the other, and returns their Alpaca ids in order. */
async function placeOrders(count: number, overrides: Record<string, unknown> = {}): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 1; index <= count; index += 1) {
    const outcome = await client(slowCredentials(0)).submit(order({ client_order_id: `ord-list-${index}`, ...overrides }), { correlationId: `place-${index}` });
    if (outcome.kind !== 'accepted') throw new Error(`order ${index} was not placed: ${outcome.kind}`);
    ids.push(outcome.order.id);
  }
  return ids;
}

/** The deadline a timeout's detail names (what was left of the caller's time), or NaN for another detail. */
function deadlineMs(detail: string): number {
  return Number(/^timeout: no complete answer within (\d+) ms$/.exec(detail)?.[1] ?? Number.NaN);
}

const EVERYTHING = { status: 'all', after: '2000-01-01T00:00:00Z', direction: 'asc', limit: 500 } as const;

describe('AlpacaClient.listOrders', () => {
  it('reads every order in pages, oldest first, by moving after to the last submitted_at read', async () => {
    const placed = await placeOrders(3);
    const alpacaClient = client(slowCredentials(0));

    const first = await alpacaClient.listOrders({ ...EVERYTHING, limit: 2 }, { correlationId: 'list-1' });
    const last = first.kind === 'page' ? first.orders.at(-1)?.submitted_at : undefined;
    const second = await alpacaClient.listOrders({ ...EVERYTHING, limit: 2, after: last ?? 'none' }, { correlationId: 'list-2' });

    const read = [first, second].flatMap((outcome) => (outcome.kind === 'page' ? outcome.orders.map((listed) => listed.id) : [outcome.kind]));
    expect(read).toEqual(placed);
  });

  it('leaves out orders submitted at or after until', async () => {
    const [firstId] = await placeOrders(1);
    const [secondId] = await placeOrders(1, { client_order_id: 'ord-later' });
    const second = alpaca.orders.get(secondId ?? '');

    const outcome = await client(slowCredentials(0)).listOrders({ ...EVERYTHING, until: second?.submitted_at ?? 'none' }, { correlationId: 'list-3' });

    expect(outcome.kind === 'page' && outcome.orders.map((listed) => listed.id)).toEqual([firstId]);
  });

  it('lists only the open orders when asked for status open', async () => {
    const [filledId, openId] = await placeOrders(2);
    alpaca.fill(filledId ?? '');

    const outcome = await client(slowCredentials(0)).listOrders({ ...EVERYTHING, status: 'open' }, { correlationId: 'list-4' });

    expect(outcome.kind === 'page' && outcome.orders.map((listed) => listed.id)).toEqual([openId]);
  });

  it('reads the fill of a filled order: quantity, average price and when', async () => {
    const [id] = await placeOrders(1, { qty: '10' });
    alpaca.fill(id ?? '');

    const outcome = await client(slowCredentials(0)).listOrders(EVERYTHING, { correlationId: 'list-5' });

    expect(outcome).toMatchObject({ kind: 'page', orders: [{ id, status: 'filled', filled_qty: '10', filled_avg_price: expect.any(String), filled_at: expect.any(String) }] });
  });

  it('answers rate_limited at the instant X-RateLimit-Reset gives', async () => {
    await alpaca.setFaults({ list: { mode: 'rate_limited', resetInSeconds: 30 } });
    const earliest = (Math.ceil(Date.now() / 1000) + 30) * 1000;

    const outcome = await client(slowCredentials(0)).listOrders(EVERYTHING, { correlationId: 'list-6' });
    const latest = (Math.ceil(Date.now() / 1000) + 30) * 1000;

    expect(outcome.kind).toBe('rate_limited');
    expect(outcome.kind === 'rate_limited' && Date.parse(outcome.retryAt)).toBeGreaterThanOrEqual(earliest);
    expect(outcome.kind === 'rate_limited' && Date.parse(outcome.retryAt)).toBeLessThanOrEqual(latest);
  });

  it('asks Alpaca once on a 429, never again at once', async () => {
    await alpaca.setFaults({ list: { mode: 'rate_limited', calls: 3 } });

    await client(slowCredentials(0)).listOrders(EVERYTHING, { correlationId: 'list-7' });

    expect(alpaca.requestCount('list')).toBe(1);
  });

  it('gives up on a hanging list within the caller’s time', async () => {
    await alpaca.setFaults({ list: { mode: 'hang' } });

    const outcome = await client(slowCredentials(0)).listOrders(EVERYTHING, { correlationId: 'list-8', timeoutMs: 100 });

    expect(outcome.kind === 'error' && deadlineMs(outcome.detail)).toBeLessThanOrEqual(100);
  });

  it('calls a 500 an error with its status and Alpaca’s message', async () => {
    await alpaca.setFaults({ list: { mode: 'http_error', message: 'internal failure' } });

    const outcome = await client(slowCredentials(0)).listOrders(EVERYTHING, { correlationId: 'list-9' });

    expect(outcome).toEqual({ kind: 'error', httpStatus: 500, detail: 'internal failure' });
  });

  it('calls a list Alpaca refuses (a limit over 500) an error with its status', async () => {
    const outcome = await client(slowCredentials(0)).listOrders({ ...EVERYTHING, limit: 501 }, { correlationId: 'list-10' });

    expect(outcome).toMatchObject({ kind: 'error', httpStatus: 422 });
  });
});

describe('AlpacaClient.cancel', () => {
  it('has an open order canceled and says the cancel was requested', async () => {
    const [id = ''] = await placeOrders(1, { type: 'limit', limit_price: '90' });

    const outcome = await client(slowCredentials(0)).cancel(id, { correlationId: 'cancel-1' });

    expect(outcome).toEqual({ kind: 'requested', httpStatus: 204 });
    expect(alpaca.orders.get(id)?.status).toBe('canceled');
  });

  it('calls a cancel of a filled order final, with Alpaca’s reason', async () => {
    const [id = ''] = await placeOrders(1);
    alpaca.fill(id);

    const outcome = await client(slowCredentials(0)).cancel(id, { correlationId: 'cancel-2' });

    expect(outcome).toEqual({ kind: 'final', httpStatus: 422, detail: 'order is already in "filled" state' });
  });

  it('says not found for an id Alpaca does not hold', async () => {
    const outcome = await client(slowCredentials(0)).cancel('0b0b0b0b-0000-4000-8000-000000000000', { correlationId: 'cancel-3' });

    expect(outcome).toEqual({ kind: 'not_found', httpStatus: 404 });
  });

  it('encodes the id, so one holding a slash still reaches the cancel route', async () => {
    await client(slowCredentials(0)).cancel('a/b', { correlationId: 'cancel-4' });

    expect(alpaca.requestCount('cancel')).toBe(1);
  });

  it('calls a cancel the order was filled just before final, and the order stays filled', async () => {
    const [id = ''] = await placeOrders(1);
    await alpaca.setFaults({ cancel: { mode: 'already_filled' } });

    const outcome = await client(slowCredentials(0)).cancel(id, { correlationId: 'cancel-5' });

    expect(outcome.kind).toBe('final');
    expect(alpaca.orders.get(id)?.status).toBe('filled');
  });

  it('calls a hanging cancel an ambiguous failure once the caller’s time is up', async () => {
    const [id = ''] = await placeOrders(1);
    await alpaca.setFaults({ cancel: { mode: 'hang' } });

    const outcome = await client(slowCredentials(0)).cancel(id, { correlationId: 'cancel-6', timeoutMs: 100 });

    expect(outcome).toMatchObject({ kind: 'failed', certainty: 'ambiguous', detail: expect.stringMatching(/^timeout: /) });
  });

  it('calls a 500 an ambiguous failure, since the cancel may have landed', async () => {
    const [id = ''] = await placeOrders(1);
    await alpaca.setFaults({ cancel: { mode: 'http_error', cancelOrder: true } });

    const outcome = await client(slowCredentials(0)).cancel(id, { correlationId: 'cancel-7' });

    expect(outcome).toMatchObject({ kind: 'failed', certainty: 'ambiguous', httpStatus: 500 });
  });

  it('calls a 403 a definite failure: the request itself was refused', async () => {
    const [id = ''] = await placeOrders(1);
    await alpaca.setFaults({ cancel: { mode: 'http_error', status: 403, message: 'forbidden' } });

    const outcome = await client(slowCredentials(0)).cancel(id, { correlationId: 'cancel-8' });

    expect(outcome).toEqual({ kind: 'failed', certainty: 'definite', httpStatus: 403, detail: 'forbidden' });
  });

  it('calls a 401 for wrong keys a definite failure', async () => {
    const [id = ''] = await placeOrders(1);
    const wrongKeys = { get: () => Promise.resolve({ keyId: 'wrong', secretKey: 'wrong' }) };

    const outcome = await client(wrongKeys).cancel(id, { correlationId: 'cancel-9' });

    expect(outcome).toMatchObject({ kind: 'failed', certainty: 'definite', httpStatus: 401 });
  });

  it('calls a refused connection a definite failure', async () => {
    await alpaca.setFaults({ down: true });

    const outcome = await client(slowCredentials(0)).cancel('any-id', { correlationId: 'cancel-10' });

    expect(outcome).toMatchObject({ kind: 'failed', certainty: 'definite', detail: expect.stringContaining('ECONNREFUSED') });
  });

  it('sends nothing and calls it definite when the credentials cannot be read', async () => {
    const outcome = await client({ get: () => Promise.reject(new Error('AccessDeniedException')) }).cancel('any-id', { correlationId: 'cancel-11' });

    expect(outcome).toMatchObject({ kind: 'failed', certainty: 'definite' });
    expect(alpaca.requestCount('cancel')).toBe(0);
  });
});

describe('AlpacaClient.cancel against a peer that resets the connection', () => {
  let resetting: Server;
  let resettingUrl: string;

  beforeAll(async () => {
    // Reads the request, then drops the socket: the cancel was sent and its answer lost.
    resetting = createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    const address = resetting.address();
    resettingUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => resetting?.close(resolve));
  });

  it('calls a reset after sending an ambiguous failure', async () => {
    const resetClient = new AlpacaClient({ baseUrl: resettingUrl, credentials: slowCredentials(0), connectTimeoutMs: 200, submitTimeoutMs: 1_000, lookupTimeoutMs: 500 });

    const outcome = await resetClient.cancel('any-id', { correlationId: 'cancel-12' });

    expect(outcome).toMatchObject({ kind: 'failed', certainty: 'ambiguous', detail: expect.stringContaining('ECONNRESET') });
  });
});
