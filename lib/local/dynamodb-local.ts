import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { PROVENANCE_INDEXES, provenanceCreateTableInput } from '../../functions/adapters/provenance-table';
import { listen, stopListening } from './port-in-use';

/** A dynalite server speaking DynamoDB's wire protocol on loopback. */
export interface LocalDynamoDb {
  readonly endpoint: string;
  /** A client for this endpoint with dummy credentials, as dynalite accepts any. */
  client(): DynamoDBClient;
  close(): Promise<void>;
}

/** Starts dynalite; in memory unless `path` is given (a LevelDB directory kept across restarts). */
export async function startLocalDynamoDb(options: { host?: string; port?: number; path?: string } = {}): Promise<LocalDynamoDb> {
  const host = options.host ?? '127.0.0.1';
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(options.path ? { path: options.path } : {}) });
  const endpoint = `http://${host}:${await listen(server, 'DynamoDB (dynalite)', host, options.port ?? 0)}`;
  return { endpoint, client: () => localDynamoDbClient(endpoint), close: () => stopListening(server) };
}

/** A DynamoDB client for a local endpoint; dynalite accepts any credentials. */
export function localDynamoDbClient(endpoint: string, options: { maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: options.maxAttempts ?? 3,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000 },
  });
}

/**
 * Creates the provenance table from the shared definition (if absent) and waits until ACTIVE.
 * Refuses a kept table that lacks an index of the definition: dynalite cannot add one later.
 */
export async function ensureProvenanceTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new CreateTableCommand(provenanceCreateTableInput(tableName)));
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  // dynalite answers CREATING first, even with createTableMs 0.
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') {
      const present = new Set(Table.GlobalSecondaryIndexes?.map((index) => index.IndexName));
      const missing = PROVENANCE_INDEXES.filter((index) => !present.has(index.name)).map((index) => index.name);
      if (missing.length > 0) {
        throw new Error(`table ${tableName} predates the index(es) ${missing.join(', ')}; start with an empty data directory to recreate it`);
      }
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}
