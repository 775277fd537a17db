import { startLocalStack } from '../lib/local/local-stack';

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    console.error(`${name}=${raw} is not a port number`);
    process.exit(2);
  }
  return value;
}

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

try {
  const stack = await startLocalStack({
    apiPort: port('LOCAL_API_PORT', 3000),
    dynamoDbPort: port('LOCAL_DYNAMODB_PORT', 8000),
    ssmPort: port('LOCAL_SSM_PORT', 4583),
    leanRunnerPort: port('LOCAL_LEAN_RUNNER_PORT', 8090),
    alpacaPort: port('LOCAL_ALPACA_PORT', 8091),
    ...(process.env.LOCAL_DATA_DIR ? { dataDir: process.env.LOCAL_DATA_DIR } : {}),
    env: process.env,
  });
  const sampleId = `demo-${Date.now()}`;
  console.log(`
lean-router local stack is up
  order API      ${stack.apiUrl}
  DynamoDB       ${stack.dynamoDbEndpoint} (table ${stack.tableName})
  SSM            ${stack.ssmEndpoint} (control values under ${stack.controlPrefix})
  LEAN runner    ${stack.leanRunnerUrl}${stack.leanSimulator ? ' (simulator)' : ''}
  Alpaca         ${stack.alpacaUrl}${stack.alpacaSimulator ? ' (simulator)' : ''}

Send an order:
  curl -s -X POST ${stack.apiUrl}/orders -H 'content-type: application/json' \\
    -d '{"client_order_id":"${sampleId}","symbol":"AAPL","side":"buy","qty":"1","type":"market","time_in_force":"day"}'
Read its row:
  curl -s ${stack.apiUrl}/orders/${sampleId}
  npx lean-router order ${sampleId}
  npx lean-router orders
${
  stack.leanSimulator
    ? `Make LEAN fail every submit (orders fall back to Alpaca), then heal it:
  curl -s -X POST ${stack.leanRunnerUrl}/_sim/faults -d '{"submit":{"mode":"http_error","status":502,"taxonomy":"upstream_error"}}'
  curl -s -X POST ${stack.leanRunnerUrl}/_sim/faults -d '{}'`
    : ''
}
Ctrl-C stops everything.`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: shutting down`);
    void stack.close().then(() => process.exit(0));
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  console.error(`lean-router local stack failed to start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
