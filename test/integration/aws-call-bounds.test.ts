import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbProvenanceStore } from '../../functions/adapters/dynamodb-provenance-store';
import { SsmAlpacaCredentials } from '../../functions/adapters/ssm-alpaca-credentials';
import { SsmControlPlane } from '../../functions/adapters/ssm-control-plane';
import { ProvenanceUnavailableError } from '../../functions/core/provenance';
import { localDynamoDbClient } from '../../lib/local/dynamodb-local';
import { localSsmClient } from '../../lib/local/parameter-store';
import { pendingRow } from '../support/fakes';

/**
 * An AWS endpoint that takes every connection and never answers: with the SDK's own per-attempt
 * timeouts and retries (three attempts of 2 s each for DynamoDB), one call would take 6 s or more.
 * Each call must instead give up within the bound it was given, over real HTTP on loopback.
 */
let silent: Server;
let endpoint: string;
const sockets = new Set<Socket>();

beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const address = silent.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  endpoint = `http://127.0.0.1:${address.port}`;
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

const BOUND_MS = 300;
// Far below what the SDK's retries alone would take, far above the bound: no flake on a slow machine.
const WELL_BEFORE_RETRIES_MS = 2_500;

/** How long `call` took to settle, and how it settled. */
async function timed(call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const started = performance.now();
  const error = await call().then(
    () => undefined,
    (reason: unknown) => reason,
  );
  return { ms: performance.now() - started, error };
}

describe('AWS calls bounded as a whole, SDK retries included', () => {
  it('gives up a DynamoDB claim at its timeout and calls the table unavailable', async () => {
    const client = localDynamoDbClient(endpoint, { maxAttempts: 3 });
    const store = new DynamoDbProvenanceStore(client, 'silent-table');

    const { ms, error } = await timed(() => store.claim(pendingRow(), BOUND_MS));
    client.destroy();

    expect(error).toBeInstanceOf(ProvenanceUnavailableError);
    expect(ms).toBeLessThan(WELL_BEFORE_RETRIES_MS);
  });

  it('gives up a control read at its bound and counts the kill switch as on', async () => {
    const ssm = localSsmClient(endpoint, { maxAttempts: 3 });
    const control = new SsmControlPlane({ ssm, prefix: '/lean-router/silent/', ttlMs: 5_000, callTimeoutMs: BOUND_MS });

    const started = performance.now();
    const snapshot = await control.read();
    const ms = performance.now() - started;
    ssm.destroy();

    expect(snapshot.killSwitch.state).toBe('on');
    expect(ms).toBeLessThan(WELL_BEFORE_RETRIES_MS);
  });

  it('gives up reading the Alpaca keys at its bound', async () => {
    const ssm = localSsmClient(endpoint, { maxAttempts: 3 });
    const credentials = new SsmAlpacaCredentials({ ssm, parameterName: '/lean-router/silent/alpaca-credentials', callTimeoutMs: BOUND_MS });

    const { ms, error } = await timed(() => credentials.get());
    ssm.destroy();

    expect(error).toBeInstanceOf(Error);
    expect(ms).toBeLessThan(WELL_BEFORE_RETRIES_MS);
  });
});
