import { SsmSecureString, type SsmSecureStringOptions } from './ssm-secure-string';

/** Supplies the runner's bearer token on demand, so a rotated token is picked up without a redeploy. */
export interface LeanRunnerTokenProvider {
  get(): Promise<string>;
  /** The token when it is at hand without any read (cached and fresh); `undefined` sends the caller to `get`. */
  cachedToken?(): string | undefined;
}

/** Options of the SecureString-backed token provider: the SecureString holds the token as plain text. */
export type SsmLeanRunnerTokenOptions = Omit<SsmSecureStringOptions<string>, 'parse'>;

/** Could not produce the token; the message names the parameter, never its value. */
export class LeanRunnerTokenError extends Error {
  override readonly name = 'LeanRunnerTokenError';
}

// A header value: visible ASCII only, so a pasted trailing newline or a space inside is refused, not sent.
const TOKEN_PATTERN = /^[\x21-\x7e]+$/;

/** The runner token from an SSM SecureString (refused when of another type), cached like the Alpaca keys. */
export class SsmLeanRunnerToken implements LeanRunnerTokenProvider {
  private readonly secret: SsmSecureString<string>;

  constructor(options: SsmLeanRunnerTokenOptions) {
    this.secret = new SsmSecureString({
      ...options,
      parse: (text) => (TOKEN_PATTERN.test(text) ? { ok: true, value: text } : { ok: false, problem: 'must hold the token alone: visible ASCII, no spaces or line breaks' }),
    });
  }

  async get(): Promise<string> {
    try {
      return await this.secret.get();
    } catch (error) {
      throw new LeanRunnerTokenError(error instanceof Error ? error.message : 'could not read the LEAN runner token');
    }
  }

  cachedToken(): string | undefined {
    return this.secret.cachedValue();
  }
}

/** A fixed token, for the local stack and tests. */
export class StaticLeanRunnerToken implements LeanRunnerTokenProvider {
  constructor(private readonly token: string) {}

  async get(): Promise<string> {
    return this.token;
  }

  cachedToken(): string {
    return this.token;
  }
}
