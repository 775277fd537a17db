import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortInUseError } from '../../lib/local/port-in-use';
import { startStandIns, type StandIns, type StandInsSettings } from '../../lib/local/stand-ins';
import { connectOutcome, freePorts, http, portOf, runScript } from '../support/local-stack-process';

/** Every stand-in on a port the system picks, as the local stack starts them. */
const ALL_ON_FREE_PORTS: StandInsSettings = {
  host: '127.0.0.1',
  dynamoDbPort: 0,
  ssmPort: 0,
  alpaca: { port: 0, keyId: 'test-key', secretKey: 'test-secret', fillDelayMs: 2_000 },
  lean: { port: 0, alpacaKeyId: 'test-key', alpacaSecretKey: 'test-secret' },
};

let standIns: StandIns;

beforeAll(async () => {
  standIns = await startStandIns(ALL_ON_FREE_PORTS);
});
afterAll(async () => {
  await standIns?.close();
});

describe('the stand-ins process, through its admin proxy', () => {
  it("takes LEAN down when a fault is set through the proxy, and answers the simulator's own state", async () => {
    const lean = standIns.simulators.lean!;

    const set = await lean.handle('POST', '/faults', JSON.stringify({ down: true }));
    const state = await lean.handle('GET', '/state', '');
    const refused = await connectOutcome(portOf(standIns.leanRunnerUrl!));
    await lean.handle('POST', '/faults', '{}');

    expect(set.status).toBe(200);
    expect(state).toMatchObject({ status: 200, body: { up: false, faults: { down: true } } });
    expect(refused).toBe('ECONNREFUSED');
  });

  it('brings a down simulator back up when `{}` is sent through the proxy', async () => {
    const lean = standIns.simulators.lean!;
    await lean.handle('POST', '/faults', JSON.stringify({ down: true }));

    const healed = await lean.handle('POST', '/faults', '{}');

    expect(healed.status).toBe(200);
    expect((await http('GET', `${standIns.leanRunnerUrl!}/healthz`)).body).toMatchObject({ status: 'ok' });
  });

  it("answers a misspelled fault with the simulator's 400", async () => {
    const answer = await standIns.simulators.alpaca!.handle('POST', '/faults', JSON.stringify({ submit: { mdoe: 'hang' } }));

    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('mdoe');
  });

  it('answers calls made at once each with its own answer', async () => {
    const [lean, alpaca] = await Promise.all([standIns.simulators.lean!.handle('GET', '/state', ''), standIns.simulators.alpaca!.handle('GET', '/state', '')]);

    expect(lean.body).toMatchObject({ url: standIns.leanRunnerUrl });
    expect(alpaca.body).toMatchObject({ url: standIns.alpacaUrl });
  });

  it('leaves out the simulator of a service the settings do not name', async () => {
    const { lean: _lean, ...withoutLean } = ALL_ON_FREE_PORTS;
    const other = await startStandIns(withoutLean);
    try {
      expect(other.simulators.lean).toBeUndefined();
      expect(other.leanRunnerUrl).toBeUndefined();
      expect(other.simulators.alpaca).toBeDefined();
    } finally {
      await other.close();
    }
  });
});

/** Holds a loopback port as another process would; close it afterwards. */
async function occupyPort(): Promise<Server> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

describe('starting and ending the stand-ins process', () => {
  it("rejects with a PortInUseError naming a stand-in's port in use, and leaves nothing listening", async () => {
    const taken = await occupyPort();
    const takenPort = (taken.address() as { port: number }).port;
    const [dynamoDbPort, ssmPort, leanPort] = await freePorts(3);
    try {
      const start = startStandIns({ ...ALL_ON_FREE_PORTS, dynamoDbPort: dynamoDbPort!, ssmPort: ssmPort!, alpaca: { ...ALL_ON_FREE_PORTS.alpaca!, port: takenPort }, lean: { ...ALL_ON_FREE_PORTS.lean!, port: leanPort! } });

      await expect(start).rejects.toThrow(PortInUseError);
      await expect(start).rejects.toMatchObject({ service: 'Alpaca simulator', port: takenPort });
      for (const port of [dynamoDbPort, ssmPort, leanPort]) expect(await connectOutcome(port!)).toBe('ECONNREFUSED');
    } finally {
      taken.close();
    }
  });

  it('leaves nothing listening once closed, and refuses admin calls after', async () => {
    const other = await startStandIns(ALL_ON_FREE_PORTS);
    const ports = [other.dynamoDbEndpoint, other.ssmEndpoint, other.alpacaUrl!, other.leanRunnerUrl!].map(portOf);

    await other.close();

    for (const port of ports) expect(await connectOutcome(port)).toBe('ECONNREFUSED');
    await expect(other.simulators.lean!.handle('GET', '/state', '')).rejects.toThrow('the stand-ins process has exited');
  });

  it('npm start: the stand-ins stop listening by themselves when the stack process is killed', { timeout: 40_000 }, async () => {
    const ports = await freePorts(5);
    const [api, dynamoDb, ssm, lean, alpaca] = ports.map(String);
    const run = runScript('bin/local.ts', { LOCAL_API_PORT: api!, LOCAL_DYNAMODB_PORT: dynamoDb!, LOCAL_SSM_PORT: ssm!, LOCAL_LEAN_RUNNER_PORT: lean!, LOCAL_ALPACA_PORT: alpaca! }, { direct: true });
    try {
      await expect.poll(run.stdout, { timeout: 30_000, interval: 100 }).toContain('local stack is up');

      run.signal('SIGKILL');
      await run.exited;

      for (const port of ports.slice(1)) await expect.poll(() => connectOutcome(port), { timeout: 10_000, interval: 100 }).toBe('ECONNREFUSED');
    } finally {
      run.signal('SIGKILL');
    }
  });
});
