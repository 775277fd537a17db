import type { Clock } from './ports';

/** What the breaker looked like when an order asked; recorded in the policy snapshot. */
export type BreakerState = 'closed' | 'open' | 'half_open';

/**
 * One order's permission to call LEAN. It ends exactly once: with LEAN's verdict, or released
 * without one (the order never reached LEAN, or LEAN's answer said nothing about its health).
 * Whoever acquires a lease ends it in the same scope, so a throw can never keep the trial slot.
 */
export interface BreakerLease {
  /** True when this order holds the breaker's single half-open trial. */
  readonly trial: boolean;
  /** LEAN answered well: the streak ends and an open breaker closes. */
  succeeded(): void;
  /** LEAN showed it is unwell (timeout, 5xx, network error, invalid answer). */
  failed(): void;
  /** Ends the lease without a verdict; a no-op once the lease has ended. */
  release(): void;
}

/**
 * An in-process circuit breaker for LEAN, one per container. After `failureThreshold` consecutive
 * LEAN failures it opens and skips LEAN for `cooldownMs`; then it lets exactly one trial through.
 * The trial's success closes it; its failure opens it for another cool-down.
 */
export class CircuitBreaker {
  private consecutiveFailures = 0;
  private openedAt: number | undefined;
  /** The lease holding the half-open trial, if one is out. */
  private trial: BreakerLease | undefined;

  constructor(
    private readonly options: { readonly failureThreshold: number; readonly cooldownMs: number },
    private readonly clock: Pick<Clock, 'monotonicMs'>,
  ) {}

  /** The state an order would see now, without taking the trial slot. */
  get state(): BreakerState {
    if (this.openedAt === undefined) return 'closed';
    return this.clock.monotonicMs() - this.openedAt >= this.options.cooldownMs && this.trial === undefined ? 'half_open' : 'open';
  }

  /**
   * May this order go to LEAN? Closed: a lease. Open: `undefined`. After the cool-down: the trial
   * lease for exactly one caller, until that lease ends.
   */
  acquire(): BreakerLease | undefined {
    const state = this.state;
    if (state === 'open') return undefined;
    const lease = new Lease(this, state === 'half_open');
    if (lease.trial) this.trial = lease;
    return lease;
  }

  /** Called by a lease as it ends (callers end leases, never call this): it frees the trial slot if it held it. */
  leaseEnded(lease: BreakerLease): void {
    if (this.trial === lease) this.trial = undefined;
  }

  /** LEAN accepted an order: the streak ends and an open breaker closes. */
  recordSuccess(): void {
    this.consecutiveFailures = 0;
    this.openedAt = undefined;
  }

  /** LEAN failed an order; a failed trial, or the Nth failure in a row, opens the breaker. */
  recordFailure(wasTrial = false): void {
    this.consecutiveFailures += 1;
    if (wasTrial || this.consecutiveFailures >= this.options.failureThreshold) {
      this.openedAt = this.clock.monotonicMs();
    }
  }
}

/**
 * A lease as an instance rather than closures: one is taken per LEAN order, and methods on a
 * prototype cost nothing to create.
 */
class Lease implements BreakerLease {
  private ended = false;

  constructor(
    private readonly breaker: CircuitBreaker,
    readonly trial: boolean,
  ) {}

  succeeded(): void {
    if (this.end()) this.breaker.recordSuccess();
  }

  failed(): void {
    if (this.end()) this.breaker.recordFailure(this.trial);
  }

  release(): void {
    this.end();
  }

  /** True only the first time: a lease ends exactly once. */
  private end(): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.breaker.leaseEnded(this);
    return true;
  }
}
