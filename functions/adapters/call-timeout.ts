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
