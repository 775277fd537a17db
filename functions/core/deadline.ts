import type { Clock } from './ports';

/**
 * The time one order may still spend before its final write must start. Every broker and AWS call
 * is given the smaller of its own timeout and what is left, and a call that cannot get its minimum
 * is not started at all, so an invocation answers inside the function timeout by construction.
 */
export class Deadline {
  private constructor(
    private readonly clock: Pick<Clock, 'monotonicMs'>,
    private readonly endsAtMs: number,
  ) {}

  /** A deadline `budgetMs` from now (a budget below zero is an already expired deadline). */
  static after(clock: Pick<Clock, 'monotonicMs'>, budgetMs: number): Deadline {
    return new Deadline(clock, clock.monotonicMs() + budgetMs);
  }

  /** Milliseconds left, never below zero. */
  remainingMs(): number {
    return Math.max(0, Math.floor(this.endsAtMs - this.clock.monotonicMs()));
  }

  /**
   * How long a call with timeout `ownTimeoutMs` may take, or `undefined` when less than
   * `minimumMs` is left: such a call is not started.
   */
  allow(ownTimeoutMs: number, minimumMs: number): number | undefined {
    const remaining = this.remainingMs();
    if (remaining < minimumMs || remaining <= 0) return undefined;
    return Math.min(ownTimeoutMs, remaining);
  }
}
