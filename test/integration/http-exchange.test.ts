import { Agent, createServer, type Server } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpPool, exchange, type HttpPool } from '../../functions/adapters/http-exchange';

/** An agent whose sockets never finish their DNS lookup: a connect that cannot complete. */
class NeverConnectingAgent extends Agent {
  override createConnection(options: { port?: number }): Socket {
    return createConnection({ host: 'never-connects.invalid', port: options.port ?? 80, lookup: () => undefined });
  }
}

let server: Server;
let base: URL;
let pool: HttpPool;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    req.on('end', () => {
      if (req.url === '/slow') return void setTimeout(() => res.end('late'), 500);
      res.writeHead(201, { 'content-type': 'application/json', 'x-echo-type': req.headers['content-type'] ?? '' });
      res.end(JSON.stringify({ method: req.method, body, length: req.headers['content-length'] }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = new URL(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
  pool = createHttpPool(1_000);
});

afterAll(async () => {
  pool.http.destroy();
  await new Promise((resolve) => server.close(resolve));
});

describe('exchange over node:http', () => {
  it('sends a JSON body with its content type and length and reads the answer as text', async () => {
    const answer = await exchange(pool, { method: 'POST', url: new URL('/orders', base), headers: {}, body: { qty: '1' }, timeoutMs: 2_000 });

    expect(answer).toMatchObject({
      kind: 'response',
      status: 201,
      headers: { 'x-echo-type': 'application/json' },
      body: JSON.stringify({ method: 'POST', body: '{"qty":"1"}', length: '11' }),
    });
  });

  it('calls an answer that does not complete within the deadline an ambiguous timeout', async () => {
    const answer = await exchange(pool, { method: 'GET', url: new URL('/slow', base), headers: {}, timeoutMs: 100 });

    expect(answer).toMatchObject({ kind: 'transport_error', failure: { kind: 'timeout', certainty: 'ambiguous' } });
  });

  it('calls a connect that does not complete within the connect timeout a definite timeout', async () => {
    const stuck: HttpPool = { ...pool, http: new NeverConnectingAgent(), connectTimeoutMs: 50 };

    const answer = await exchange(stuck, { method: 'POST', url: new URL('/orders', base), headers: {}, body: {}, timeoutMs: 2_000 });

    expect(answer).toMatchObject({ kind: 'transport_error', failure: { kind: 'timeout', certainty: 'definite', detail: expect.stringContaining('CONNECT_TIMEOUT') } });
  });
});
