import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from '../../functions/core/breaker';

const THRESHOLD = 3;
const COOLDOWN_MS = 30_000;

/** A breaker on a hand-driven monotonic clock. */
function breaker(threshold = THRESHOLD) {
  const clock = { t: 1_000, monotonicMs: () => clock.t };
  return { breaker: new CircuitBreaker({ failureThreshold: threshold, cooldownMs: COOLDOWN_MS }, clock), clock };
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
    expect([subject.tryAcquire(), subject.tryAcquire(), subject.tryAcquire()]).toEqual([true, true, true]);
  });

  it('stays closed below the failure threshold', () => {
    const { breaker: subject } = breaker();

    fail(subject, THRESHOLD - 1);

    expect(subject.state).toBe('closed');
    expect(subject.tryAcquire()).toBe(true);
  });

  it('opens after N consecutive failures', () => {
    const { breaker: subject } = breaker();

    fail(subject, THRESHOLD);

    expect(subject.state).toBe('open');
    expect(subject.tryAcquire()).toBe(false);
  });

  it('opens on the first failure with a threshold of 1', () => {
    const { breaker: subject } = breaker(1);

    subject.recordFailure();

    expect(subject.tryAcquire()).toBe(false);
  });

  it('starts the streak again after a success', () => {
    const { breaker: subject } = breaker();

    fail(subject, THRESHOLD - 1);
    subject.recordSuccess();
    fail(subject, THRESHOLD - 1);

    expect(subject.state).toBe('closed');
    expect(subject.tryAcquire()).toBe(true);
  });

  it('rejects during the cool-down, up to its last millisecond', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS - 1);

    expect(subject.state).toBe('open');
    expect(subject.tryAcquire()).toBe(false);
  });

  it('offers a trial once the cool-down has passed', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);

    expect(subject.state).toBe('half_open');
    expect(subject.tryAcquire()).toBe(true);
  });

  it('lets exactly one trial through while it is in flight', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);

    const first = subject.tryAcquire();
    const second = subject.tryAcquire();

    expect([first, second]).toEqual([true, false]);
    expect(subject.state).toBe('open');
  });

  it('closes when the trial succeeds', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);
    subject.tryAcquire();

    subject.recordSuccess();

    expect(subject.state).toBe('closed');
    expect([subject.tryAcquire(), subject.tryAcquire()]).toEqual([true, true]);
  });

  it('needs N new failures to open again after a successful trial', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);
    subject.tryAcquire();
    subject.recordSuccess();

    fail(subject, THRESHOLD - 1);
    expect(subject.state).toBe('closed');

    fail(subject, 1);
    expect(subject.state).toBe('open');
  });

  it('reopens for a whole new cool-down when the trial fails', () => {
    const { breaker: subject, clock } = openedBreaker(COOLDOWN_MS);
    subject.tryAcquire();

    subject.recordFailure();
    clock.t += COOLDOWN_MS - 1;

    expect(subject.state).toBe('open');
    expect(subject.tryAcquire()).toBe(false);
  });

  it('offers one new trial after the cool-down that follows a failed trial', () => {
    const { breaker: subject, clock } = openedBreaker(COOLDOWN_MS);
    subject.tryAcquire();
    subject.recordFailure();

    clock.t += COOLDOWN_MS;

    expect([subject.tryAcquire(), subject.tryAcquire()]).toEqual([true, false]);
  });

  it('gives the trial slot back on release', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);
    subject.tryAcquire();

    subject.release();

    expect(subject.state).toBe('half_open');
    expect(subject.tryAcquire()).toBe(true);
  });

  it('does not close on release', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);
    subject.tryAcquire();

    subject.release();
    subject.tryAcquire();

    expect(subject.tryAcquire()).toBe(false);
  });

  it('does not change state when only reading it', () => {
    const { breaker: subject } = openedBreaker(COOLDOWN_MS);

    expect([subject.state, subject.state]).toEqual(['half_open', 'half_open']);
    expect(subject.tryAcquire()).toBe(true);
  });
});
