import type { KillSwitch } from './control';

/** The start of the orders one error rate counts (ISO-8601 UTC), and why it starts there. */
export interface ErrorRateWindow {
  readonly since: string;
  /** `window`: the configured window; `switch_changed`: the kill switch's last change, later than that. */
  readonly cause: 'window' | 'switch_changed';
}

/**
 * Where the LEAN error rate's window starts: `windowMs` before `now`, or, when an operator has
 * turned LEAN back on since then, the kill switch's last change. The failures that tripped the
 * switch are then not counted again, so an unkill holds until new orders fail.
 */
export function errorRateWindowStart(
  now: Date,
  windowMs: number,
  killSwitch: Pick<KillSwitch, 'state' | 'changed_at'>,
): ErrorRateWindow {
  const windowStart = now.getTime() - windowMs;
  // Only an unkill restarts the count: while the switch is on, the gauge keeps showing the failures
  // that tripped it. An unknown or unreadable change time is NaN, later than no window start.
  const changedAt = killSwitch.state === 'off' ? new Date(killSwitch.changed_at ?? Number.NaN).getTime() : Number.NaN;
  if (changedAt > windowStart) return { since: new Date(changedAt).toISOString(), cause: 'switch_changed' };
  return { since: new Date(windowStart).toISOString(), cause: 'window' };
}
