/**
 * The simulator's clock: RFC 3339 timestamps with microseconds, as Alpaca writes them, each one
 * strictly later than the one before. Two orders never share a `submitted_at`, so a caller paging
 * with an exclusive `after` never skips one, and `updated_at` moves on every change even within
 * one millisecond.
 */
export interface OrderClock {
  /** The next timestamp, e.g. `2024-05-01T14:03:07.123456Z`. */
  now(): string;
}

/** A clock on wall time that never answers `notAfterMicros` or earlier (orders kept by an earlier run). */
export function orderClock(notAfterMicros = 0): OrderClock {
  let last = notAfterMicros;
  return {
    now: () => {
      last = Math.max(Date.now() * 1000, last + 1);
      const millis = Math.floor(last / 1000);
      return new Date(millis).toISOString().replace('Z', `${String(last % 1000).padStart(3, '0')}Z`);
    },
  };
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * Microseconds since the epoch of an RFC 3339 timestamp (any number of fractional digits, `Z` or
 * an offset) or of a date (`2024-05-01`, midnight UTC); undefined when `text` is neither.
 */
export function instantMicros(text: string): number | undefined {
  if (DATE_ONLY.test(text)) {
    const millis = Date.parse(`${text}T00:00:00Z`);
    return Number.isNaN(millis) ? undefined : millis * 1000;
  }
  const match = DATE_TIME.exec(text);
  if (!match) return undefined;
  const seconds = Date.parse(`${match[1] ?? ''}${match[3] ?? ''}`);
  if (Number.isNaN(seconds)) return undefined;
  // Precision past the microsecond is dropped, as the simulator's own timestamps carry none.
  const micros = Number((match[2] ?? '').padEnd(6, '0').slice(0, 6));
  return seconds * 1000 + micros;
}
