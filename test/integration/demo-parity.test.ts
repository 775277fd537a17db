import { GetParameterCommand, ParameterNotFound, type SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../lib/local/local-stack';
import { localSsmClient } from '../../lib/local/parameter-store';
import { FREE_PORTS, http, portOf, runScript } from '../support/local-stack-process';

/** `npm run demo:parity` against a stack of its own, so it runs beside the other local-stack tests. */
let stack: LocalStack;
let ssm: SSMClient;

beforeAll(async () => {
  // Short control-value ages: the demo waits them out after each policy switch, as the /_router view tells it.
  stack = await startLocalStack({
    ...FREE_PORTS,
    env: { TRADING_CONTROL_CACHE_TTL_MS: '1000', TRADING_CONTROL_MAX_AGE_MS: '2000' },
  });
  ssm = localSsmClient(stack.ssmEndpoint);
});
afterAll(async () => {
  ssm?.destroy();
  await stack?.close();
});

describe('npm run demo:parity', () => {
  // 15 orders per cohort and phase (60 in all) keep it short; the CLI it runs checks that minimum.
  const demoEnv = (): Record<string, string> => ({
    LOCAL_API_PORT: String(portOf(stack.apiUrl)),
    LOCAL_SSM_PORT: String(portOf(stack.ssmEndpoint)),
    LOCAL_DYNAMODB_PORT: String(portOf(stack.dynamoDbEndpoint)),
    DEMO_PAUSE_MS: '0',
    TRADING_PARITY_MIN_ORDERS: '15',
  });

  it(
    'fails the slippage check and refuses enable while LEAN slips, then passes and enables after the heal, leaving policy and market as found',
    { timeout: 90_000 },
    async () => {
      const marketBefore = (await http('GET', `${stack.apiUrl}/_sim/alpaca/state`)).body.market;

      const { code, stdout, stderr } = await runScript('scripts/demo-parity.ts', demoEnv()).exited;
      const strategy = /strategy (parity-demo-\d+)/.exec(stdout)?.[1] ?? '';
      const { Parameter } = await ssm.send(new GetParameterCommand({ Name: `${stack.controlPrefix}strategies/${strategy}` }));

      expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
      expect(stdout).toMatch(/^ +median_slippage_difference +FAIL +20\.0 bps +max 5\.0 bps/m);
      expect(stdout).toMatch(/^ +lean-router strategy enable: refused: parity-demo-\d+ stays without a parameter \(not enabled\) on stage local; nothing was written$/m);
      expect(stdout).toMatch(/^ +median_slippage_difference +PASS +0\.0 bps +max 5\.0 bps/m);
      expect(stdout).toMatch(/^ +\/lean-router\/local\/strategies\/parity-demo-\d+: \(no parameter\) -> enabled /m);
      expect(stdout).toMatch(/^All \d+ checks held\./m);
      expect(JSON.parse(Parameter?.Value ?? '{}')).toMatchObject({ state: 'enabled', set_by: 'demo' });
      await expect(ssm.send(new GetParameterCommand({ Name: `${stack.controlPrefix}policy` }))).rejects.toBeInstanceOf(ParameterNotFound);
      expect((await http('GET', `${stack.apiUrl}/_sim/alpaca/state`)).body.market).toEqual(marketBefore);
    },
  );
});
