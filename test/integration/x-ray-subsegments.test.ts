import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

// A Lambda environment with active tracing, the X-Ray daemon played by a UDP socket on loopback.
// Set before the tracer (and the X-Ray SDK under it) is first loaded, which reads them once.
const DAEMON_PORT = vi.hoisted(() => 20_000 + Math.floor(Math.random() * 20_000));
vi.hoisted(() => {
  Object.assign(process.env, {
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    LAMBDA_TASK_ROOT: '/var/task',
    _HANDLER: 'index.handler',
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${DAEMON_PORT}`,
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  });
});

const { SERVICE_NAME, traceInvocation, tracer } = await import('../../functions/adapters/observability');
const { createHttpPool, exchange } = await import('../../functions/adapters/http-exchange');

const CLIENT_ORDER_ID = 'momentum-AAPL-0001';
const KEY_ID = 'sim-key-id';
const SECRET = 'sim-secret-key';
const TOKEN = 'sim-runner-token';

interface SubsegmentDocument {
  readonly name: string;
  readonly namespace?: string;
  readonly parent_id?: string;
  readonly id: string;
  readonly annotations?: Record<string, unknown>;
  readonly http?: { request?: { url?: string; method?: string }; response?: { status?: number } };
}

let daemon: Socket;
let broker: Server;
let brokerUrl: string;
const received: string[] = [];

beforeAll(async () => {
  daemon = createSocket('udp4');
  daemon.on('message', (message) => received.push(message.toString()));
  await new Promise<void>((resolve) => daemon.bind(DAEMON_PORT, '127.0.0.1', () => resolve()));
  broker = createServer((_request, response) => response.end('{"id":"b-1"}'));
  await new Promise<void>((resolve) => broker.listen(0, '127.0.0.1', () => resolve()));
  brokerUrl = `http://127.0.0.1:${(broker.address() as AddressInfo).port}`;
});

afterAll(async () => {
  daemon.close();
  await new Promise((resolve) => broker.close(resolve));
});

/** The documents the daemon received, each UDP message being a header line and one segment document. */
async function subsegments(count: number): Promise<SubsegmentDocument[]> {
  await vi.waitFor(() => expect(received.length).toBeGreaterThanOrEqual(count));
  return received.map((message) => JSON.parse(message.split('\n')[1] ?? '{}') as SubsegmentDocument);
}

describe('X-Ray tracing in Lambda', () => {
  it('records a broker call as a remote subsegment of the handler, without its query or any header', async () => {
    const url = new URL(`${brokerUrl}/v2/orders:by_client_order_id?client_order_id=${CLIENT_ORDER_ID}`);
    const headers = { 'apca-api-key-id': KEY_ID, 'apca-api-secret-key': SECRET, authorization: `Bearer ${TOKEN}` };

    await traceInvocation(() => exchange(createHttpPool(500), { method: 'GET', url, headers, timeoutMs: 1_000 }), () => ({ status_code: 200 }));

    const [call, handler] = await subsegments(2);
    expect({ call, handler: { name: handler?.name, annotations: handler?.annotations } }).toEqual({
      call: expect.objectContaining({
        name: '127.0.0.1',
        namespace: 'remote',
        parent_id: handler?.id,
        http: { request: { url: `http://127.0.0.1/v2/orders:by_client_order_id`, method: 'GET' }, response: expect.objectContaining({ status: 200 }) },
      }),
      handler: { name: '## index.handler', annotations: { ColdStart: false, Service: SERVICE_NAME, status_code: 200 } },
    });
    expect(received.join('\n')).not.toMatch(new RegExp([CLIENT_ORDER_ID, KEY_ID, SECRET, TOKEN].join('|')));
  });

  it('is enabled with HTTP capture on, which replaces http.request', async () => {
    const http = await import('node:http');

    expect([tracer.isTracingEnabled(), '__request' in http.default]).toEqual([true, true]);
  });
});
