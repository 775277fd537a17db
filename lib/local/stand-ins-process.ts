/**
 * The stand-ins process of the local stack: dynalite, the local Parameter Store and the LEAN and
 * Alpaca simulators, on an event loop (and a core) of their own, so `npm start` measures the route
 * handler rather than its stand-ins. Forked by lib/local/stand-ins.ts, which sends `start` and
 * forwards the `/_sim` admin calls; see lib/local/stand-ins-protocol.ts for the messages. It exits
 * on `close`, and by itself when its parent goes (the IPC channel disconnects).
 */
import { join } from 'node:path';
import { startAlpacaSimulator } from './alpaca-simulator';
import { startLocalDynamoDb } from './dynamodb-local';
import { startLeanRunnerSimulator } from './lean-runner-simulator';
import { startLocalParameterStore } from './parameter-store';
import { PortInUseError } from './port-in-use';
import type { SimAdmin } from './sim-http';
import type { FromStandIns, SimulatorName, StandInsEndpoints, StandInsSettings, ToStandIns } from './stand-ins-protocol';

/** How long closing may take before the process exits regardless: a parent that went is not waiting. */
const CLOSE_TIMEOUT_MS = 5_000;

const send = process.send?.bind(process);
if (send === undefined) {
  console.error('lib/local/stand-ins-process.ts is started by the local stack (lib/local/stand-ins.ts), not on its own');
  process.exit(2);
}
const reply = (message: FromStandIns): void => {
  if (process.connected) send(message);
};

const closers: (() => Promise<void>)[] = [];
const admins: Partial<Record<SimulatorName, SimAdmin>> = {};
let exiting = false;

/** Closes what is running, newest first, then exits: the parent waits for the exit, not for a message. */
async function closeAndExit(code: number): Promise<void> {
  if (exiting) return;
  exiting = true;
  setTimeout(() => process.exit(code), CLOSE_TIMEOUT_MS).unref();
  for (const closeOne of closers.reverse()) await closeOne().catch(() => undefined);
  process.exit(code);
}

async function start(settings: StandInsSettings): Promise<StandInsEndpoints> {
  const { host, dataDir } = settings;
  const dynamo = await startLocalDynamoDb({ host, port: settings.dynamoDbPort, ...(dataDir ? { path: dataDir } : {}) });
  closers.push(() => dynamo.close());
  const parameterStore = await startLocalParameterStore({ host, port: settings.ssmPort, ...(dataDir ? { file: join(dataDir, 'parameters.json') } : {}) });
  closers.push(() => parameterStore.close());
  let alpacaUrl: string | undefined;
  if (settings.alpaca) {
    const { port, keyId, secretKey, fillDelayMs } = settings.alpaca;
    // Its orders are kept beside the rows: reconciling a row after a crash needs the order it names.
    const alpaca = await startAlpacaSimulator({ host, port, keyId, secretKey, market: { fillDelayMs }, ...(dataDir ? { file: join(dataDir, 'alpaca-orders.json') } : {}) });
    closers.push(() => alpaca.close());
    admins.alpaca = alpaca.admin;
    alpacaUrl = alpaca.url;
  }
  let leanRunnerUrl: string | undefined;
  if (settings.lean) {
    const { port, alpacaKeyId, alpacaSecretKey } = settings.lean;
    const placesAt = settings.lean.alpacaUrl ?? alpacaUrl;
    if (placesAt === undefined) throw new Error('the LEAN simulator needs an Alpaca: the simulator or a real ALPACA_BASE_URL');
    const lean = await startLeanRunnerSimulator({ host, port, alpacaUrl: placesAt, alpacaKeyId, alpacaSecretKey });
    closers.push(() => lean.close());
    admins.lean = lean.admin;
    leanRunnerUrl = lean.url;
  }
  return {
    dynamoDbEndpoint: dynamo.endpoint,
    ssmEndpoint: parameterStore.endpoint,
    ...(alpacaUrl ? { alpacaUrl } : {}),
    ...(leanRunnerUrl ? { leanRunnerUrl } : {}),
  };
}

async function answerAdmin(message: Extract<ToStandIns, { type: 'admin' }>): Promise<void> {
  const admin = admins[message.simulator];
  if (admin === undefined) {
    reply({ type: 'admin-failed', id: message.id, message: `no ${message.simulator} simulator runs in the stand-ins process` });
    return;
  }
  try {
    reply({ type: 'admin-answer', id: message.id, answer: await admin.handle(message.method, message.path, message.body) });
  } catch (error) {
    reply({ type: 'admin-failed', id: message.id, message: error instanceof Error ? error.message : String(error) });
  }
}

process.on('message', (message: ToStandIns) => {
  if (message.type === 'start') {
    start(message.settings).then(
      (endpoints) => reply({ type: 'ready', endpoints }),
      async (error: unknown) => {
        const portInUse = error instanceof PortInUseError ? { service: error.service, host: error.host, port: error.port } : undefined;
        reply({ type: 'failed', failure: { message: error instanceof Error ? error.message : String(error), ...(portInUse ? { portInUse } : {}) } });
        await closeAndExit(1);
      },
    );
  } else if (message.type === 'admin') {
    void answerAdmin(message);
  } else {
    void closeAndExit(0);
  }
});
// The parent ended, however it ended: nobody is left to use the stand-ins or to close them.
process.on('disconnect', () => void closeAndExit(0));
// Ctrl-C reaches every process of the terminal's group; the parent closes this one in its turn.
process.on('SIGINT', () => undefined);
