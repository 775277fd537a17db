import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlpacaClient, type AlpacaCredentialsProvider } from '../../functions/adapters/alpaca-client';
import { startAlpacaSimulator, type AlpacaSimulator } from '../../lib/local/alpaca-simulator';
import { order } from '../support/fakes';
import { SIM_CREDENTIALS } from '../support/router-harness';

/** The Alpaca client against the Alpaca simulator over loopback: what a call costs in time and what it sends. */
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
