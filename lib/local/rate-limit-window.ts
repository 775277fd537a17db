import { ALPACA_REQUESTS_PER_MINUTE } from '../../functions/core/alpaca-endpoints';

export { ALPACA_REQUESTS_PER_MINUTE };

/**
 * Alpaca's `X-RateLimit-Limit`, `-Remaining` and `-Reset` (epoch seconds) over one-minute windows
 * on the wall clock. It reports the count and never refuses on its own: a 429 is a fault to inject,
 * so a test that sends many requests is not throttled by accident.
 */
export interface RateLimitWindow {
  /** Counts one request and returns the headers its answer carries. */
  count(): Record<string, string>;
  /** The headers of a 429: nothing remaining, quota back `resetInSeconds` from now. */
  exhausted(resetInSeconds: number): Record<string, string>;
  /** Forgets the requests counted. */
  clear(): void;
}

/** A window for one account of `limit` requests a minute. */
export function rateLimitWindow(limit: number = ALPACA_REQUESTS_PER_MINUTE): RateLimitWindow {
  let windowStart = 0;
  let used = 0;
  const headers = (remaining: number, reset: number): Record<string, string> => ({
    'x-ratelimit-limit': String(limit),
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-reset': String(reset),
  });
  return {
    count: () => {
      const minute = Math.floor(Date.now() / 60_000) * 60;
      if (minute !== windowStart) {
        windowStart = minute;
        used = 0;
      }
      used += 1;
      return headers(Math.max(0, limit - used), windowStart + 60);
    },
    exhausted: (resetInSeconds) => headers(0, Math.ceil(Date.now() / 1000) + resetInSeconds),
    clear: () => {
      used = 0;
    },
  };
}
