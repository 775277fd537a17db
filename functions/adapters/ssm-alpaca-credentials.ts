import * as z from 'zod/mini';
import '../core/zod-locale';
import type { AlpacaCredentials, AlpacaCredentialsProvider } from './alpaca-client';
import { SsmSecureString, type SsmSecureStringOptions } from './ssm-secure-string';

const secretSchema = z.object({ key_id: z.string().check(z.minLength(1)), secret_key: z.string().check(z.minLength(1)) });

/** Options of the SecureString-backed credentials provider: the SecureString holds `{"key_id": "...", "secret_key": "..."}`. */
export type SsmAlpacaCredentialsOptions = Omit<SsmSecureStringOptions<AlpacaCredentials>, 'parse'>;

/** Could not produce credentials; the message names the parameter, never its value. */
export class AlpacaCredentialsError extends Error {
  override readonly name = 'AlpacaCredentialsError';
}

/**
 * Alpaca credentials from an SSM SecureString (refused when the parameter is of another type),
 * cached; on a failed refresh the last good value is kept (see {@link SsmSecureString}).
 */
export class SsmAlpacaCredentials implements AlpacaCredentialsProvider {
  private readonly secret: SsmSecureString<AlpacaCredentials>;

  constructor(options: SsmAlpacaCredentialsOptions) {
    this.secret = new SsmSecureString({ ...options, parse: parseAlpacaCredentials });
  }

  async get(): Promise<AlpacaCredentials> {
    try {
      return await this.secret.get();
    } catch (error) {
      throw new AlpacaCredentialsError(error instanceof Error ? error.message : 'could not read the Alpaca credentials');
    }
  }

  cachedCredentials(): AlpacaCredentials | undefined {
    return this.secret.cachedValue();
  }
}

/** `{"key_id","secret_key"}` as credentials; the problem never quotes the text. */
function parseAlpacaCredentials(text: string): { ok: true; value: AlpacaCredentials } | { ok: false; problem: string } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = secretSchema.safeParse(json);
  if (!parsed.success) return { ok: false, problem: 'must hold JSON {"key_id","secret_key"}' };
  return { ok: true, value: { keyId: parsed.data.key_id, secretKey: parsed.data.secret_key } };
}

/** Fixed credentials, for the local stack and tests. */
export class StaticAlpacaCredentials implements AlpacaCredentialsProvider {
  constructor(private readonly credentials: AlpacaCredentials) {}

  async get(): Promise<AlpacaCredentials> {
    return this.credentials;
  }

  cachedCredentials(): AlpacaCredentials {
    return this.credentials;
  }
}
