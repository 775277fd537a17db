import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Helpers for tests that drive a running local stack over HTTP and run its scripts as child processes. */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');

/** Every port of a local stack left to the system, so test files never collide. */
export const FREE_PORTS = { apiPort: 0, dynamoDbPort: 0, ssmPort: 0, leanRunnerPort: 0, alpacaPort: 0 } as const;

/** An HTTP answer of the stack, body parsed. */
export interface Reply {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

/** One HTTP exchange with the running stack; `body` is the parsed JSON answer. */
export async function http(method: 'GET' | 'POST', url: string, body?: unknown): Promise<Reply> {
  const response = await fetch(url, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Loopback ports nothing listens on right now: held together so they differ, then released. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** What a TCP connection attempt to the loopback port meets: `connected` or the error code. */
export function connectOutcome(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** The port of an `http://host:port` URL. */
export function portOf(url: string): number {
  return Number(new URL(url).port);
}

/**
 * Runs a TypeScript entry point as `npm start` / `npm run demo` would, with only `env` added.
 * `direct` runs it in node with tsx's loader rather than under tsx's CLI, so the child is the
 * script's own process: a SIGKILL, which tsx's CLI cannot pass on to its child, then kills it.
 */
export function runScript(
  script: string,
  env: Record<string, string>,
  options: { direct?: boolean } = {},
): { exited: Promise<{ code: number | null; stdout: string; stderr: string }>; stdout: () => string; signal(name: NodeJS.Signals): void } {
  const { LOCAL_DATA_DIR: _data, TRADING_LEAN_RUNNER_URL: _lean, ALPACA_BASE_URL: _alpaca, ...inherited } = process.env;
  const [command, args] = options.direct === true ? [process.execPath, ['--import', 'tsx', script]] : [TSX, [script]];
  const child = spawn(command, args, { cwd: ROOT, env: { ...inherited, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    exited: once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr })),
    stdout: () => stdout,
    signal: (name) => child.kill(name),
  };
}

