import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { z } from 'zod';
import type { AlpacaCredentials, AlpacaCredentialsProvider } from './alpaca-client';

const secretSchema = z.object({ key_id: z.string().min(1), secret_key: z.string().min(1) });

/** Options of the SecureString-backed credentials provider. */
export interface SsmAlpacaCredentialsOptions {
  readonly ssm: SSMClient;
  /** SecureString holding `{"key_id": "...", "secret_key": "..."}`. */
  readonly parameterName: string;
  /** How long a read is trusted; long, because credentials rarely rotate. */
  readonly ttlMs?: number;
  /** The longest one read may take, SDK retries included. */
  readonly callTimeoutMs?: number;
  readonly now?: () => number;
}

/** Could not produce credentials; the message names the parameter, never its value. */
export class AlpacaCredentialsError extends Error {
  override readonly name = 'AlpacaCredentialsError';
}

/**
 * Alpaca credentials from an SSM SecureString, cached. On a failed refresh the last good value
 * is kept, so an SSM throttle never stops trading on credentials that were valid a minute ago.
 */
export class SsmAlpacaCredentials implements AlpacaCredentialsProvider {
  private cached: { value: AlpacaCredentials; readAt: number } | undefined;
  private inFlight: Promise<AlpacaCredentials> | undefined;

  constructor(private readonly options: SsmAlpacaCredentialsOptions) {}

  async get(): Promise<AlpacaCredentials> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && now - this.cached.readAt < (this.options.ttlMs ?? 300_000)) return this.cached.value;
    // Concurrent callers share one read instead of each calling SSM.
    this.inFlight ??= this.read(now).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async read(now: number): Promise<AlpacaCredentials> {
    try {
      const out = await this.options.ssm.send(
        new GetParameterCommand({ Name: this.options.parameterName, WithDecryption: true }),
        { abortSignal: AbortSignal.timeout(this.options.callTimeoutMs ?? 2_000) },
      );
      const parsed = secretSchema.safeParse(JSON.parse(out.Parameter?.Value ?? 'null'));
      if (!parsed.success) {
        throw new AlpacaCredentialsError(`${this.options.parameterName} must hold JSON {"key_id","secret_key"}`);
      }
      const value = { keyId: parsed.data.key_id, secretKey: parsed.data.secret_key };
      this.cached = { value, readAt: now };
      return value;
    } catch (error) {
      if (this.cached) return this.cached.value;
      if (error instanceof AlpacaCredentialsError) throw error;
      throw new AlpacaCredentialsError(
        `could not read ${this.options.parameterName}: ${error instanceof Error ? error.name : 'error'}`,
      );
    }
  }
}

/** Fixed credentials, for the local stack and tests. */
export class StaticAlpacaCredentials implements AlpacaCredentialsProvider {
  constructor(private readonly credentials: AlpacaCredentials) {}

  async get(): Promise<AlpacaCredentials> {
    return this.credentials;
  }
}
