import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local listener could not bind because another process holds its port. `npm start` turns it
 * into one line naming the environment variable that sets the port.
 */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';

  constructor(
    /** What failed to listen, e.g. "API front door". */
    readonly service: string,
    readonly host: string,
    readonly port: number,
  ) {
    super(`${service} cannot listen on ${host}:${port}: port ${port} is already in use`);
  }
}

/** The error a failed `listen()` should reject with: PortInUseError for EADDRINUSE, else the original. */
function listenFailure(error: NodeJS.ErrnoException, service: string, host: string, port: number): Error {
  return error.code === 'EADDRINUSE' ? new PortInUseError(service, host, port) : error;
}

/**
 * Listens on `host:port` (0: a free port) and resolves to the port bound. Safe to call again on the
 * same server after `stopListening`: no listener is left behind either way.
 */
export function listen(server: Server, service: string, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(listenFailure(error, service, host, port));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Stops accepting connections and destroys the open ones, so keep-alive and hung requests cannot hold it open. */
export function stopListening(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
