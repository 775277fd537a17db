import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PortInUseError } from './port-in-use';
import { TSX_LOADER } from './tsx-loader';
import type { SimAdmin, SimAdminAnswer } from './sim-http';
import type { SimAdmins } from './sim-admin-routes';
import type { FromStandIns, SimulatorName, StandInsEndpoints, StandInsSettings, ToStandIns } from './stand-ins-protocol';

export type { StandInsSettings } from './stand-ins-protocol';

/** The stand-ins running in their own process. */
export interface StandIns extends StandInsEndpoints {
  /** The simulators' admin APIs, answered by the stand-ins process; absent for a real service. */
  readonly simulators: SimAdmins;
  /** Closes every stand-in and resolves once the process has exited. */
  close(): Promise<void>;
}

const ENTRY = fileURLToPath(new URL('./stand-ins-process.ts', import.meta.url));
/** `node --cpu-prof bin/local.ts` profiles the stand-ins process too, into its own file. */
const PROFILING = process.execArgv.filter((flag) => /^--(cpu|heap)-prof/.test(flag));
/** How long the process may take to close before it is killed. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Starts dynalite, the local Parameter Store and the simulators the settings name in a child
 * process, off the caller's event loop, and resolves once all of them listen. A stand-in that
 * cannot start rejects with its error (PortInUseError for a port in use), the process gone.
 */
export async function startStandIns(settings: StandInsSettings): Promise<StandIns> {
  const child = fork(ENTRY, [], { execArgv: ['--import', TSX_LOADER, ...PROFILING], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const pending = new Map<number, { resolve(answer: SimAdminAnswer): void; reject(error: Error): void }>();
  const failPending = (reason: string): void => {
    for (const waiting of pending.values()) waiting.reject(new Error(reason));
    pending.clear();
  };
  child.on('message', (message: FromStandIns) => {
    if (message.type !== 'admin-answer' && message.type !== 'admin-failed') return;
    const waiting = pending.get(message.id);
    pending.delete(message.id);
    if (message.type === 'admin-answer') waiting?.resolve(message.answer);
    else waiting?.reject(new Error(message.message));
  });
  void exited.then(() => failPending('the stand-ins process has exited'));
  let closing = false;

  const close = async (): Promise<void> => {
    closing = true;
    if (child.connected) send(child, { type: 'close' });
    else child.kill();
    const killer = setTimeout(() => child.kill('SIGKILL'), CLOSE_TIMEOUT_MS);
    await exited;
    clearTimeout(killer);
  };

  let endpoints: StandInsEndpoints;
  try {
    endpoints = await started(child, settings);
  } catch (error) {
    await close();
    throw error;
  }

  // Orders would fail from now on with connection errors that do not say why: say it once.
  child.once('exit', (code, signal) => {
    if (!closing) console.error(`lean-router: the stand-ins process (dynalite, Parameter Store, simulators) exited (${signal ?? `code ${code}`}); restart the local stack`);
  });

  let nextId = 0;
  const adminOf = (simulator: SimulatorName): SimAdmin => ({
    handle: (method, path, body) =>
      new Promise((resolve, reject) => {
        if (!child.connected) {
          reject(new Error('the stand-ins process has exited'));
          return;
        }
        nextId += 1;
        const id = nextId;
        pending.set(id, { resolve, reject });
        send(child, { type: 'admin', id, simulator, method, path, body }, (error) => {
          if (error === null) return;
          pending.delete(id);
          reject(new Error(`the stand-ins process did not take the call: ${error.message}`));
        });
      }),
  });
  return {
    ...endpoints,
    simulators: {
      ...(endpoints.leanRunnerUrl ? { lean: adminOf('lean') } : {}),
      ...(endpoints.alpacaUrl ? { alpaca: adminOf('alpaca') } : {}),
    },
    close,
  };
}

/** Sends one message; without `sent`, a failure (the channel closed meanwhile) is dropped, as the exit says it already. */
function send(child: ChildProcess, message: ToStandIns, sent: (error: Error | null) => void = () => undefined): void {
  child.send(message, sent);
}

/** Sends `start` and resolves with the endpoints, or rejects with why the stand-ins could not start. */
function started(child: ChildProcess, settings: StandInsSettings): Promise<StandInsEndpoints> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: FromStandIns): void => {
      if (message.type === 'ready') {
        done();
        resolve(message.endpoints);
      } else if (message.type === 'failed') {
        done();
        const { portInUse } = message.failure;
        reject(portInUse ? new PortInUseError(portInUse.service, portInUse.host, portInUse.port) : new Error(message.failure.message));
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      done();
      reject(new Error(`the stand-ins process (dynalite, Parameter Store, simulators) exited while starting (${signal ?? `code ${code}`})`));
    };
    const onError = (error: Error): void => {
      done();
      reject(new Error(`the stand-ins process (dynalite, Parameter Store, simulators) could not start: ${error.message}`));
    };
    const done = (): void => {
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
    send(child, { type: 'start', settings });
  });
}
