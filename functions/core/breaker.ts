import type { Clock } from './ports';

/** What the breaker looked like when an order asked; recorded in the policy snapshot. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * An in-process circuit breaker for LEAN, one per container. After `failureThreshold` consecutive
 * LEAN failures it opens and skips LEAN for `cooldownMs`; then it lets exactly one trial through.
 * The trial's success closes it; its failure opens it for another cool-down.
 */
export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt: number | undefined;
  private trialInFlight = false;

  constructor(
    private readonly options: { readonly failureThreshold: number; readonly cooldownMs: number },
    private readonly clock: Pick<Clock, 'monotonicMs'>,
  ) {}

  /** The state an order would see now, without taking the trial slot. */
  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.clock.monotonicMs() - this.openedAt >= this.options.cooldownMs && !this.trialInFlight ? 'half_open' : 'open';
  }

  /**
   * May this order go to LEAN? Closed: yes. Open: no. After the cool-down: yes for exactly one
   * caller (the trial) until it reports back.
   */
  tryAcquire(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open') return false;
    this.trialInFlight = true;
    return true;
  }

  /** Gives back a trial slot taken by an order that then never reached LEAN (a replay, say). */
  release(): void {
    this.trialInFlight = false;
  }

  /** LEAN accepted an order: the streak ends and an open breaker closes. */
  recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.openedAt = undefined;
    this.trialInFlight = false;
  }

  /** LEAN failed an order; a failed trial, or the Nth failure in a row, opens the breaker. */
  recordFailure(): void {
    this.consecutiveFailures += 1;
    if (this.trialInFlight || this.consecutiveFailures >= this.options.failureThreshold) {
      this.openedAt = this.clock.monotonicMs();
    }
    this.trialInFlight = false;
  }
}
