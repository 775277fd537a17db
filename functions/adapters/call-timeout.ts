/**
 * Runs `call` with a signal that aborts after `timeoutMs` with the same `TimeoutError` reason as
 * `AbortSignal.timeout`, but disarmed as soon as the call settles, whichever way.
 * `AbortSignal.timeout` leaves a timer behind for its whole duration and costs several times more
 * to create; the route makes three of these per order (claim, broker call, finalize).
 */
export async function withinTimeout<T>(timeoutMs: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  // Unref'd like AbortSignal.timeout's own timer: a pending call's bound never keeps the process alive.
  const timer = setTimeout(abortForTimeout, timeoutMs, controller).unref();
  try {
    return await call(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}

function abortForTimeout(controller: AbortController): void {
  controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
}

/**
 * `read`'s value, or `undefined` when `timeoutMs` passes first (a rejection passes through): for a
 * cold read of a secret that counts against a broker call and must not outlast it. The read itself
 * goes on to fill its cache; only the wait is cut off. The timer is cleared either way.
 */
export async function settledWithin<T>(read: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<undefined>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, undefined);
  });
  try {
    return await Promise.race([read, outOfTime]);
  } finally {
    clearTimeout(timer);
  }
}

/** A secret one broker call needs, with what is left of the call's time once it is at hand. */
export type SecretForCall<T> = { readonly kind: 'ready'; readonly value: T; readonly timeoutMs: number } | { readonly kind: 'out_of_time' };

/**
 * The secret a broker call sends (the runner's token, Alpaca's keys): at once when `cached` holds
 * it, with no timer armed and nothing raced; otherwise `read`, whose wait counts against the call
 * and is cut off at its end, so a slow SSM never makes the call longer than its own timeout. A
 * failed read rejects.
 */
export async function secretForCall<T>(cached: T | undefined, read: () => Promise<T>, timeoutMs: number): Promise<SecretForCall<T>> {
  if (cached !== undefined) return { kind: 'ready', value: cached, timeoutMs };
  const endsAt = performance.now() + timeoutMs;
  const value = await settledWithin(read(), timeoutMs);
  const left = Math.floor(endsAt - performance.now());
  return value === undefined || left <= 0 ? { kind: 'out_of_time' } : { kind: 'ready', value, timeoutMs: left };
}
