import { describe, expect, it } from 'vitest';
import { Deadline } from '../../functions/core/deadline';

/** A monotonic clock moved by hand, starting away from zero so sums and differences differ. */
function manualClock(startMs = 5_000) {
  const clock = { t: startMs, monotonicMs: () => clock.t };
  return clock;
}

describe('Deadline', () => {
  it('has its whole budget left when it starts', () => {
    const clock = manualClock();

    const deadline = Deadline.after(clock, 1_000);

    expect(deadline.remainingMs()).toBe(1_000);
  });

  it('counts down as the clock moves', () => {
    const clock = manualClock();
    const deadline = Deadline.after(clock, 1_000);

    clock.t += 300;

    expect(deadline.remainingMs()).toBe(700);
  });

  it('counts whole milliseconds left, rounding a fraction down', () => {
    const clock = manualClock();
    const deadline = Deadline.after(clock, 1_000);

    clock.t += 0.6;

    expect(deadline.remainingMs()).toBe(999);
  });

  it.each([
    ['passed', 1_500],
    ['reached exactly', 1_000],
  ])('has nothing left once its end has %s', (_, elapsedMs) => {
    const clock = manualClock();
    const deadline = Deadline.after(clock, 1_000);

    clock.t += elapsedMs;

    expect(deadline.remainingMs()).toBe(0);
  });

  it('is already expired when its budget is below zero', () => {
    const deadline = Deadline.after(manualClock(), -250);

    expect(deadline.remainingMs()).toBe(0);
    expect(deadline.allow(100, 0)).toBeUndefined();
  });

  it('gives a call its own timeout when more time than that is left', () => {
    const deadline = Deadline.after(manualClock(), 1_000);

    expect(deadline.allow(400, 100)).toBe(400);
  });

  it('gives a call only the time left when its own timeout is longer', () => {
    const clock = manualClock();
    const deadline = Deadline.after(clock, 1_000);
    clock.t += 700;

    expect(deadline.allow(400, 100)).toBe(300);
  });

  it('starts a call when exactly its minimum is left', () => {
    const clock = manualClock();
    const deadline = Deadline.after(clock, 1_000);
    clock.t += 900;

    expect(deadline.allow(400, 100)).toBe(100);
  });

  it('does not start a call when less than its minimum is left', () => {
    const clock = manualClock();
    const deadline = Deadline.after(clock, 1_000);
    clock.t += 901;

    expect(deadline.allow(400, 100)).toBeUndefined();
  });

  it('does not start a call without a minimum once nothing is left', () => {
    const clock = manualClock();
    const deadline = Deadline.after(clock, 1_000);
    clock.t += 1_000;

    expect(deadline.allow(400, 0)).toBeUndefined();
  });

  it('starts a call without a minimum while any time is left', () => {
    const clock = manualClock();
    const deadline = Deadline.after(clock, 1_000);
    clock.t += 999;

    expect(deadline.allow(400, 0)).toBe(1);
  });
});
