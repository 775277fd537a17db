import { afterAll, beforeAll, beforeEach } from 'vitest';
import { startAlpacaSimulator, type AlpacaSimulator } from '../../lib/local/alpaca-simulator';
import { startLeanRunnerSimulator, type LeanRunnerSimulator } from '../../lib/local/lean-runner-simulator';

/** Both simulators on loopback, the runner placing its orders at the Alpaca one. */
export interface SimulatorPair {
  readonly alpaca: AlpacaSimulator;
  readonly lean: LeanRunnerSimulator;
}

/**
 * Starts both simulators once for the file, resets them before each test and closes them after the
 * file; `started` hands the pair to the file's own variables.
 */
export function useSimulatorPair(
  options: { readonly credentials: { readonly keyId: string; readonly secretKey: string }; readonly alpacaTimeoutMs: number },
  started: (pair: SimulatorPair) => void,
): void {
  let pair: SimulatorPair | undefined;
  beforeAll(async () => {
    const { credentials, alpacaTimeoutMs } = options;
    const alpaca = await startAlpacaSimulator(credentials);
    const lean = await startLeanRunnerSimulator({ alpacaUrl: alpaca.url, alpacaKeyId: credentials.keyId, alpacaSecretKey: credentials.secretKey, alpacaTimeoutMs });
    pair = { alpaca, lean };
    started(pair);
  });
  afterAll(async () => {
    await pair?.lean.close();
    await pair?.alpaca.close();
  });
  beforeEach(async () => {
    await pair?.alpaca.reset();
    await pair?.lean.reset();
  });
}
