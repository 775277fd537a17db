import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { SSMClient } from '@aws-sdk/client-ssm';
import { listen, stopListening } from './port-in-use';

/** One stored parameter, as SSM describes it. */
interface StoredParameter {
  readonly Name: string;
  readonly Type: 'String' | 'StringList' | 'SecureString';
  readonly Value: string;
  readonly Version: number;
  readonly LastModifiedDate: number;
}

/** A local Parameter Store endpoint. */
export interface LocalParameterStore {
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Raised as SSM's error shape: HTTP 400 with `__type` and `message`. */
class SsmError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const MAX_VALUE_LENGTH = 4096;
const NAME_PATTERN = /^\/?[A-Za-z0-9_.\-/]{1,2048}$/;

/**
 * A minimal Parameter Store speaking SSM's JSON 1.1 protocol (GetParameter, GetParameters,
 * GetParametersByPath, PutParameter, DeleteParameter), so the AWS SDK and
 * `aws ssm ... --endpoint-url` work unchanged against it. Credentials and signatures are not
 * checked. With `file`, parameters survive restarts.
 */
export async function startLocalParameterStore(options: { host?: string; port?: number; file?: string } = {}): Promise<LocalParameterStore> {
  const host = options.host ?? '127.0.0.1';
  const parameters = new Map<string, StoredParameter>();
  if (options.file) {
    try {
      for (const parameter of JSON.parse(await readFile(options.file, 'utf8')) as StoredParameter[]) parameters.set(parameter.Name, parameter);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const persist = async (): Promise<void> => {
    if (options.file) await writeFile(options.file, JSON.stringify([...parameters.values()], null, 2));
  };

  const actions: Record<string, (input: Record<string, unknown>) => Promise<unknown>> = {
    GetParameter: async (input) => ({ Parameter: present(required(parameters, nameOf(input)), input.WithDecryption === true) }),
    GetParameters: async (input) => {
      const names = Array.isArray(input.Names) ? input.Names.map(String) : [];
      if (names.length === 0 || names.length > 10) throw new SsmError('ValidationException', 'Names must hold 1 to 10 names');
      return {
        Parameters: names.flatMap((name) => {
          const found = parameters.get(name);
          return found ? [present(found, input.WithDecryption === true)] : [];
        }),
        InvalidParameters: names.filter((name) => !parameters.has(name)),
      };
    },
    GetParametersByPath: async (input) => {
      const path = String(input.Path ?? '');
      if (!path.startsWith('/')) throw new SsmError('ValidationException', 'Path must start with /');
      const prefix = path.endsWith('/') ? path : `${path}/`;
      const matches = [...parameters.values()]
        .filter((p) => p.Name.startsWith(prefix) && (input.Recursive === true || !p.Name.slice(prefix.length).includes('/')))
        .sort((a, b) => a.Name.localeCompare(b.Name));
      const start = Number(input.NextToken ?? 0);
      const size = Math.min(Number(input.MaxResults ?? 10), 10);
      const page = matches.slice(start, start + size);
      return {
        Parameters: page.map((p) => present(p, input.WithDecryption === true)),
        ...(start + size < matches.length ? { NextToken: String(start + size) } : {}),
      };
    },
    PutParameter: async (input) => {
      const name = nameOf(input);
      const value = input.Value;
      if (typeof value !== 'string' || value.length === 0 || value.length > MAX_VALUE_LENGTH) {
        throw new SsmError('ValidationException', `Value must be 1 to ${MAX_VALUE_LENGTH} characters`);
      }
      const existing = parameters.get(name);
      if (existing && input.Overwrite !== true) {
        throw new SsmError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
      }
      const type = input.Type ?? existing?.Type ?? 'String';
      if (type !== 'String' && type !== 'StringList' && type !== 'SecureString') {
        throw new SsmError('ValidationException', `Type must be String, StringList or SecureString`);
      }
      const stored: StoredParameter = { Name: name, Type: type, Value: value, Version: (existing?.Version ?? 0) + 1, LastModifiedDate: Date.now() / 1000 };
      parameters.set(name, stored);
      await persist();
      return { Version: stored.Version, Tier: 'Standard' };
    },
    DeleteParameter: async (input) => {
      const name = nameOf(input);
      required(parameters, name);
      parameters.delete(name);
      await persist();
      return {};
    },
  };

  const server = createServer((req, res) => {
    void handle(req, res, actions);
  });
  const port = await listen(server, 'Parameter Store', host, options.port ?? 0);
  return { endpoint: `http://${host}:${port}`, close: () => stopListening(server) };
}

/** An SSM client for a local Parameter Store endpoint; it checks no credentials, so dummy ones do. */
export function localSsmClient(endpoint: string, options: { maxAttempts?: number } = {}): SSMClient {
  return new SSMClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  });
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  actions: Record<string, (input: Record<string, unknown>) => Promise<unknown>>,
): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const target = String(req.headers['x-amz-target'] ?? '');
  const action = actions[target.replace(/^AmazonSSM\./, '')];
  let status = 200;
  let body: unknown;
  try {
    if (req.method !== 'POST' || !action) throw new SsmError('InvalidAction', `unsupported action ${target || '(none)'}`);
    const text = Buffer.concat(chunks).toString('utf8');
    body = await action((text ? JSON.parse(text) : {}) as Record<string, unknown>);
  } catch (error) {
    status = 400;
    body = error instanceof SsmError ? { __type: error.type, message: error.message } : { __type: 'ValidationException', message: String(error) };
  }
  res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': crypto.randomUUID() });
  res.end(JSON.stringify(body));
}

function nameOf(input: Record<string, unknown>): string {
  const name = input.Name;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) throw new SsmError('ValidationException', 'Name is missing or invalid');
  return name;
}

function required(parameters: Map<string, StoredParameter>, name: string): StoredParameter {
  const found = parameters.get(name);
  if (!found) throw new SsmError('ParameterNotFound', `Parameter ${name} not found.`);
  return found;
}

function present(parameter: StoredParameter, withDecryption: boolean): Record<string, unknown> {
  const value = parameter.Type === 'SecureString' && !withDecryption ? Buffer.from(parameter.Value).toString('base64') : parameter.Value;
  return {
    ...parameter,
    Value: value,
    ARN: `arn:aws:ssm:us-east-1:000000000000:parameter${parameter.Name.startsWith('/') ? '' : '/'}${parameter.Name}`,
    DataType: 'text',
  };
}
