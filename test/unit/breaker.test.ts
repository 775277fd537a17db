import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../functions/core/breaker';

const THRESHOLD = 3;
const COOLDOWN_MS = 30_000;

/** A breaker on a hand-driven monotonic clock. */
function breaker(threshold = THRESHOLD) {
  const clock = { t: 1_000, monotonicMs: () => clock.t };
  return { breaker: new CircuitBreaker({ failureThreshold: threshold, cooldownMs: COOLDOWN_MS }, clock), clock };
}

/** Whether an order would get a lease now (the lease is taken, as an order would take it). */
function admits(subject: CircuitBreaker): boolean {
  return subject.acquire() !== undefined;
}

function fail(subject: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i += 1) subject.recordFailure();
}

/** A breaker that opened at `clock.t`, with the clock moved `elapsedMs` later. */
function openedBreaker(elapsedMs = 0) {
  const world = breaker();
  fail(world.breaker, THRESHOLD);
  world.clock.t += elapsedMs;
  return world;
}

describe('CircuitBreaker', () => {
  it('starts closed and lets every order through', () => {
    const { breaker: subject } = breaker();

    expect(subject.state).toBe('closed');
    expect([admits(subject), admits(subject), admits(subject)]).toEqual([true, true, true]);
  });

  it('stays closed below the failure threshold', () => {
    const { breaker: subject } = breaker();

    fail(subject, THRESHOLD - 1);

    expect(subject.state).toBe('closed');
    expect(admits(subject)).toBe(true);
  });

  it('opens after N consecutive failures', () => {
    const { breaker: subject } = breaker();

    fail(subject, THRESHOLD);

    expect(subject.state).toBe('open');
    expect(admits(subject)).toBe(false);
  });

  it('opens on the first failure with a threshold of 1', () => {
    const { breaker: subject } = breaker(1);

    subject.recordFailure();

    expect(admits(subject)).toBe(false);
  });

  it('starts the streak again after a success', () => {
    const { breaker: subject } = breaker();

    fail(subject, THRESHOLD - 1);
    subject.recordSuccess();
    fail(subject, THRESHOLD - 1);

    expect(subject.state).toBe('closed');
    expect(admits(subject)).toBe(true);
  });

  it('rejects during the cool-down, up to its last millisecond', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS - 1);

    expect(subject.state).toBe('open');
    expect(admits(subject)).toBe(false);
  });

  it('offers a trial once the cool-down has passed', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);

    expect(subject.state).toBe('half_open');
    expect(admits(subject)).toBe(true);
  });

  it('lets exactly one trial through while it is in flight', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);

    const first = subject.acquire();
    const second = subject.acquire();

    expect([first?.trial, second]).toEqual([true, undefined]);
    expect(subject.state).toBe('open');
  });

  it('hands out ordinary leases, not trials, while closed', () => {
    const { breaker: subject } = breaker();

    expect(subject.acquire()?.trial).toBe(false);
  });

  it('closes when the trial succeeds', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);
    subject.acquire()?.succeeded();

    expect(subject.state).toBe('closed');
    expect([admits(subject), admits(subject)]).toEqual([true, true]);
  });

  it('needs N new failures to open again after a successful trial', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);
    subject.acquire()?.succeeded();

    fail(subject, THRESHOLD - 1);
    expect(subject.state).toBe('closed');

    fail(subject, 1);
    expect(subject.state).toBe('open');
  });

  it('reopens for a whole new cool-down when the trial fails', () => {
    const { breaker: subject, clock } = openedBreaker(COOLDOWN_MS);
    subject.acquire()?.failed();

    clock.t += COOLDOWN_MS - 1;

    expect(subject.state).toBe('open');
    expect(admits(subject)).toBe(false);
  });

  it('reopens when the trial fails even with a threshold above one', () => {
    const world = breaker(5);
    fail(world.breaker, 5);
    world.clock.t += COOLDOWN_MS;

    world.breaker.acquire()?.failed();

    expect(world.breaker.state).toBe('open');
  });

  it('offers one new trial after the cool-down that follows a failed trial', () => {
    const { breaker: subject, clock } = openedBreaker(COOLDOWN_MS);
    subject.acquire()?.failed();

    clock.t += COOLDOWN_MS;

    expect([admits(subject), admits(subject)]).toEqual([true, false]);
  });

  it('gives the trial slot back on release', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);
    subject.acquire()?.release();

    expect(subject.state).toBe('half_open');
    expect(admits(subject)).toBe(true);
  });

  it('does not close on release', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);
    subject.acquire()?.release();

    subject.acquire();

    expect(admits(subject)).toBe(false);
  });

  it('ignores a verdict after the lease was released', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);
    const lease = subject.acquire();
    lease?.release();

    lease?.succeeded();

    expect(subject.state).toBe('half_open');
  });

  it('ignores a release after the verdict', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);
    const lease = subject.acquire();
    lease?.failed();

    lease?.release();

    expect(subject.state).toBe('open');
  });

  it('keeps a newer trial when an older lease is released late', () => {
    const { breaker: subject, clock } = openedBreaker(COOLDOWN_MS);
    const older = subject.acquire();
    older?.failed();
    clock.t += COOLDOWN_MS;
    const newer = subject.acquire();

    older?.release();

    expect(newer?.trial).toBe(true);
    expect(admits(subject)).toBe(false);
  });

  it('offers the trial after the cool-down while an ordinary lease from before it is still out', () => {
    const { breaker: subject, clock } = breaker();
    subject.acquire();
    fail(subject, THRESHOLD);

    clock.t += COOLDOWN_MS;

    expect(subject.state).toBe('half_open');
    expect(subject.acquire()?.trial).toBe(true);
  });

  it('keeps the trial slot taken when an ordinary lease from before the trial ends', () => {
    const { breaker: subject, clock } = breaker();
    const ordinary = subject.acquire();
    fail(subject, THRESHOLD);
    clock.t += COOLDOWN_MS;
    subject.acquire();

    ordinary?.release();

    expect(subject.state).toBe('open');
    expect(admits(subject)).toBe(false);
  });

  it('does not change state when only reading it', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);

    expect([subject.state, subject.state]).toEqual(['half_open', 'half_open']);
    expect(admits(subject)).toBe(true);
  });
});
