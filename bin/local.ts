import type { LocalStack } from '../lib/local/local-stack';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// EMF lines every health-check run would bury the banner and the order logs; opt in with
// POWERTOOLS_METRICS_DISABLED=false. Set before the handlers load: Powertools reads it once.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
const { DEFAULT_HEALTH_CHECK_INTERVAL_MS, LOCAL_FILL_DELAY_MS, SHORTEST_HEALTH_CHECK_INTERVAL_MS, isValidHealthCheckInterval, startLocalStack } = await import('../lib/local/local-stack');
const { PortInUseError } = await import('../lib/local/port-in-use');
const { SIM_ADMIN_ROOT } = await import('../lib/local/sim-admin-routes');

/** The ports `npm start` listens on, by the variable that sets each, with their defaults. */
const PORT_VARIABLES = {
  LOCAL_API_PORT: 3000,
  LOCAL_DYNAMODB_PORT: 8000,
  LOCAL_SSM_PORT: 4583,
  LOCAL_LEAN_RUNNER_PORT: 8090,
  LOCAL_ALPACA_PORT: 8091,
} as const;
type PortVariable = keyof typeof PORT_VARIABLES;

/** Prints one line and exits: no stack trace for a person who only needs to free a port. */
function fail(message: string, code = 1): never {
  console.error(`lean-router: ${message}`);
  process.exit(code);
}

function port(name: PortVariable): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return PORT_VARIABLES[name];
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) fail(`${name}=${raw} is not a port number (1-65535)`, 2);
  return value;
}

const ports = Object.fromEntries(Object.keys(PORT_VARIABLES).map((name) => [name, port(name as PortVariable)])) as Record<PortVariable, number>;
// A simulator replaced by a real service does not listen, so its port cannot clash.
const listening = (Object.keys(ports) as PortVariable[]).filter(
  (name) => !(name === 'LOCAL_LEAN_RUNNER_PORT' && process.env.TRADING_LEAN_RUNNER_URL) && !(name === 'LOCAL_ALPACA_PORT' && process.env.ALPACA_BASE_URL),
);
for (const [index, name] of listening.entries()) {
  const clash = listening.slice(index + 1).find((other) => ports[other] === ports[name]);
  if (clash) fail(`${name} and ${clash} are both ${ports[name]}; give each its own port`, 2);
}

function healthCheckInterval(): number {
  const raw = process.env.LOCAL_HEALTH_CHECK_INTERVAL_MS;
  if (raw === undefined || raw === '') return DEFAULT_HEALTH_CHECK_INTERVAL_MS;
  const value = Number(raw);
  if (!isValidHealthCheckInterval(value)) {
    fail(`LOCAL_HEALTH_CHECK_INTERVAL_MS=${raw}: use 0 (once at start) or a whole number of ms from ${SHORTEST_HEALTH_CHECK_INTERVAL_MS}`, 2);
  }
  return value;
}
const healthCheckIntervalMs = healthCheckInterval();

let stack: LocalStack;
try {
  stack = await startLocalStack({
    apiPort: ports.LOCAL_API_PORT,
    dynamoDbPort: ports.LOCAL_DYNAMODB_PORT,
    ssmPort: ports.LOCAL_SSM_PORT,
    leanRunnerPort: ports.LOCAL_LEAN_RUNNER_PORT,
    alpacaPort: ports.LOCAL_ALPACA_PORT,
    ...(process.env.LOCAL_DATA_DIR ? { dataDir: process.env.LOCAL_DATA_DIR } : {}),
    healthCheckIntervalMs,
    env: process.env,
  });
} catch (error) {
  if (error instanceof PortInUseError) {
    const name = listening.find((candidate) => ports[candidate] === error.port);
    if (name) fail(`port ${error.port} (${name}) is already in use; stop the other process or set ${name}`);
    fail(`port ${error.port} (${error.service}) is already in use; stop the other process`);
  }
  fail(`the local stack failed to start: ${error instanceof Error ? error.message : String(error)}`);
}

console.log(banner(stack));

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) {
    console.error(`${signal} again: exiting without waiting`);
    process.exit(1);
  }
  stopping = true;
  console.log(`\n${signal}: shutting down`);
  stack.close().then(
    () => {
      console.log('stopped: nothing is listening any more');
      process.exit(0);
    },
    (error: unknown) => fail(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`),
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

/** Endpoints and commands that work as printed against this stack. */
function banner(stack: LocalStack): string {
  const api = stack.apiUrl;
  const admin = `${api}${SIM_ADMIN_ROOT}`;
  const sampleId = `first-${Date.now()}`;
  // Commands run from another shell only see the ports if they are not the defaults.
  const envPrefix = (...names: string[]): string =>
    names
      .filter((name) => process.env[name] !== undefined && process.env[name] !== '' && (name === 'PROVENANCE_TABLE_NAME' || process.env[name] !== String(PORT_VARIABLES[name as PortVariable])))
      .map((name) => `${name}=${process.env[name]} `)
      .join('');
  const cli = envPrefix('LOCAL_DYNAMODB_PORT', 'LOCAL_SSM_PORT', 'PROVENANCE_TABLE_NAME');
  const demo = envPrefix('LOCAL_API_PORT', 'LOCAL_SSM_PORT');
  const aws = `AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws --region us-east-1 --endpoint-url ${stack.ssmEndpoint}`;
  const killSwitch = `${stack.controlPrefix}kill-switch`;
  const sim = (present: boolean): string => (present ? 'simulator' : 'real service');

  const lines = [
    'lean-router local stack is up (Ctrl-C stops it)',
    '',
    `  order API        ${api}  POST /orders, GET and DELETE /orders/{client_order_id}`,
    ...(stack.simulators.lean || stack.simulators.alpaca ? [`  fault injection  ${admin}  GET ${SIM_ADMIN_ROOT}, POST ${SIM_ADMIN_ROOT}/{lean|alpaca}/faults|reset`] : []),
    `  DynamoDB         ${stack.dynamoDbEndpoint}  table ${stack.tableName}`,
    `  Parameter Store  ${stack.ssmEndpoint}  control values under ${stack.controlPrefix}`,
    `  LEAN runner      ${stack.leanRunnerUrl}  ${sim(stack.simulators.lean !== undefined)}`,
    `  Alpaca           ${stack.alpacaUrl}  ${sim(stack.simulators.alpaca !== undefined)}`,
    '',
    'Send an order, then read its row:',
    `  curl -s -X POST ${api}/orders -H 'content-type: application/json' \\`,
    `    -d '{"client_order_id":"${sampleId}","symbol":"AAPL","side":"buy","qty":"1","type":"market","time_in_force":"day"}'`,
    `  curl -s ${api}/orders/${sampleId}`,
    `  ${cli}npx lean-router order ${sampleId}`,
    `  ${cli}npx lean-router orders`,
    `  ${cli}npx lean-router status`,
    `  (the lifecycle sync writes broker status and fills on the rows ${healthCheckIntervalMs === 0 ? 'once, at start' : `every ${healthCheckIntervalMs / 1000} s`}${stack.simulators.alpaca ? `; the Alpaca simulator fills an order about ${LOCAL_FILL_DELAY_MS / 1000} s after its last change` : ''})`,
    '',
    'Cancel an order that rests (a limit below the market) through the route that placed it:',
    `  curl -s -X POST ${api}/orders -H 'content-type: application/json' \\`,
    `    -d '{"client_order_id":"${sampleId}-limit","symbol":"AAPL","side":"buy","qty":"1","type":"limit","limit_price":"90","time_in_force":"day"}'`,
    `  curl -s -X DELETE ${api}/orders/${sampleId}-limit`,
    `  ${cli}npx lean-router cancel ${sampleId}-limit`,
    '',
    ...(stack.simulators.lean
      ? [
          'Take LEAN down (connections refused: orders fall back to Alpaca), look at it, heal it:',
          `  curl -s -X POST ${admin}/lean/faults -d '{"down":true}'`,
          `  curl -s ${admin}/lean/state`,
          `  curl -s -X POST ${admin}/lean/faults -d '{}'`,
          '  (every fault mode: docs/operations.md, "Fault injection")',
          '',
        ]
      : []),
    'Switch LEAN off and on again (the kill switch in the local Parameter Store):',
    `  ${aws} ssm put-parameter --name ${killSwitch} --value on --type String --overwrite`,
    `  ${aws} ssm put-parameter --name ${killSwitch} --value off --type String --overwrite`,
    `  ${aws} ssm get-parameter --name ${killSwitch}`,
    `  ${cli}npx lean-router kill --reason "runner upgrade"`,
    `  ${cli}npx lean-router unkill`,
    `  (the router sees a change within TRADING_CONTROL_MAX_AGE_MS at worst, 15 s by default; the health-check runs ${healthCheckIntervalMs === 0 ? 'once, at start' : `every ${healthCheckIntervalMs / 1000} s`})`,
    '',
    'Reset the router between experiments (kill switch off, reviews cleared, breaker closed, control cache empty; rows kept):',
    `  curl -s -X POST ${api}/_router/reset`,
    `  curl -s ${api}/_router`,
    `  curl -s -X POST ${api}/_router/sync   # one lifecycle sync now: broker status and fills on the rows`,
    '',
    ...(stack.simulators.lean ? ['A scripted outage to watch, from another terminal:', `  ${demo}npm run demo`, ''] : []),
  ];
  return lines.join('\n');
}
