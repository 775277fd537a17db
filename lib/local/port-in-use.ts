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
export function listenFailure(error: NodeJS.ErrnoException, service: string, host: string, port: number): Error {
  return error.code === 'EADDRINUSE' ? new PortInUseError(service, host, port) : error;
}
