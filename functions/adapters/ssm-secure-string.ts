import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';

/** Options of a cached SecureString read. */
export interface SsmSecureStringOptions<T> {
  readonly ssm: SSMClient;
  /** The SecureString's name; messages name it, never its value. */
  readonly parameterName: string;
  /**
   * Turns the decrypted text into the value callers need; returns a problem (a sentence naming
   * no part of the value) when the text cannot be used. A problem fails the read like an SSM error.
   */
  readonly parse: (text: string) => { ok: true; value: T } | { ok: false; problem: string };
  /** How long a read is trusted; long, because secrets rarely rotate. */
  readonly ttlMs?: number;
  /** The longest one read may take, SDK retries included. */
  readonly callTimeoutMs?: number;
  readonly now?: () => number;
}

/** Why a SecureString produced no value: unreadable, not a SecureString, or holding something unusable. Never holds the value. */
export class SecureStringError extends Error {
  override readonly name = 'SecureStringError';
}

const DEFAULT_TTL_MS = 300_000;
const DEFAULT_CALL_TIMEOUT_MS = 2_000;

/**
 * One SSM SecureString, read with decryption and cached. A parameter of any other type is refused:
 * a secret stored as a plain `String` sits unencrypted and readable by anyone allowed to list
 * parameters, so using it would hide the mistake. On a failed refresh the last good value is kept,
 * so an SSM throttle never stops trading on a secret that was valid a minute ago.
 */
export class SsmSecureString<T> {
  private cached: { value: T; readAt: number } | undefined;
  private inFlight: Promise<T> | undefined;

  constructor(private readonly options: SsmSecureStringOptions<T>) {}

  /** The value, from the cache within the TTL; throws SecureStringError when there is no good value. */
  async get(): Promise<T> {
    const now = (this.options.now ?? Date.now)();
    const fresh = this.fresh(now);
    if (fresh !== undefined) return fresh.value;
    // Concurrent callers share one read instead of each calling SSM.
    this.inFlight ??= this.read(now).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /** The value when the cache holds one within the TTL, at once; `undefined` when `get` would have to read SSM. */
  cachedValue(): T | undefined {
    return this.fresh((this.options.now ?? Date.now)())?.value;
  }

  /** The cached read while it is within the TTL. */
  private fresh(now: number): { value: T; readAt: number } | undefined {
    const cached = this.cached;
    return cached !== undefined && now - cached.readAt < (this.options.ttlMs ?? DEFAULT_TTL_MS) ? cached : undefined;
  }

  private async read(now: number): Promise<T> {
    const name = this.options.parameterName;
    try {
      const out = await this.options.ssm.send(new GetParameterCommand({ Name: name, WithDecryption: true }), {
        abortSignal: AbortSignal.timeout(this.options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS),
      });
      const type = out.Parameter?.Type;
      if (type !== 'SecureString') {
        throw new SecureStringError(`${name} is ${type === undefined ? 'of no known type' : `a ${type}`}, not a SecureString; store the secret with --type SecureString`);
      }
      const text = out.Parameter?.Value;
      if (text === undefined || text === '') throw new SecureStringError(`${name} holds no value`);
      const parsed = this.options.parse(text);
      if (!parsed.ok) throw new SecureStringError(`${name} ${parsed.problem}`);
      this.cached = { value: parsed.value, readAt: now };
      return parsed.value;
    } catch (error) {
      if (this.cached) return this.cached.value;
      if (error instanceof SecureStringError) throw error;
      throw new SecureStringError(`could not read ${name}: ${error instanceof Error ? error.name : 'error'}`);
    }
  }
}
