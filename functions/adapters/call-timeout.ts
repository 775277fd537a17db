/**
 * A per-call abort signal that fires after `timeoutMs`, as `AbortSignal.timeout` does (same
 * `TimeoutError` reason), but disarmed once the call is over. `AbortSignal.timeout` leaves a weak
 * timer behind for its whole duration and costs several times more to create; the hot path makes
 * three of these per order.
 */
export class CallTimeout {
  readonly signal: AbortSignal;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;

  constructor(timeoutMs: number) {
    this.signal = this.controller.signal;
    // Unref'd like AbortSignal.timeout's own timer: a pending call bound never keeps the process alive.
    this.timer = setTimeout(abortForTimeout, timeoutMs, this.controller).unref();
  }

  /** The call settled: the timer is cleared, and the signal never fires. */
  settle(): void {
    clearTimeout(this.timer);
  }
}

function abortForTimeout(controller: AbortController): void {
  controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
}
