import { describe, expect, it } from 'vitest';
import { errorRateWindowStart } from '../../functions/core/error-rate-window';

const NOW = new Date('2025-01-02T14:30:00.000Z');
const FIVE_MINUTES = 300_000;
/** Where a five-minute window before NOW starts. */
const WINDOW_START = '2025-01-02T14:25:00.000Z';

describe('errorRateWindowStart', () => {
  it('starts at the kill switch’s change when an operator turned it off inside the window', () => {
    const start = errorRateWindowStart(NOW, FIVE_MINUTES, { state: 'off', changed_at: '2025-01-02T14:28:30.000Z' });

    expect(start).toEqual({ since: '2025-01-02T14:28:30.000Z', cause: 'switch_changed' });
  });

  it('starts at the window when the switch was turned off before the window began', () => {
    const start = errorRateWindowStart(NOW, FIVE_MINUTES, { state: 'off', changed_at: '2025-01-02T14:10:00.000Z' });

    expect(start).toEqual({ since: WINDOW_START, cause: 'window' });
  });

  it('starts at the window when the switch changed exactly as the window began', () => {
    const start = errorRateWindowStart(NOW, FIVE_MINUTES, { state: 'off', changed_at: WINDOW_START });

    expect(start).toEqual({ since: WINDOW_START, cause: 'window' });
  });

  it('starts at the window while the switch is on, however recently it changed', () => {
    const start = errorRateWindowStart(NOW, FIVE_MINUTES, { state: 'on', changed_at: '2025-01-02T14:29:00.000Z' });

    expect(start).toEqual({ since: WINDOW_START, cause: 'window' });
  });

  it('starts at the window when the switch is off but its change time is unknown', () => {
    const start = errorRateWindowStart(NOW, FIVE_MINUTES, { state: 'off' });

    expect(start).toEqual({ since: WINDOW_START, cause: 'window' });
  });

  it('starts at the window when the switch’s change time is not a time', () => {
    const start = errorRateWindowStart(NOW, FIVE_MINUTES, { state: 'off', changed_at: 'yesterday' });

    expect(start).toEqual({ since: WINDOW_START, cause: 'window' });
  });

  it('gives the change time in UTC whatever offset it was written with', () => {
    const start = errorRateWindowStart(NOW, FIVE_MINUTES, { state: 'off', changed_at: '2025-01-02T16:28:30+02:00' });

    expect(start.since).toBe('2025-01-02T14:28:30.000Z');
  });

  it('follows the window length it is given', () => {
    const start = errorRateWindowStart(NOW, 60_000, { state: 'off', changed_at: '2025-01-02T14:28:30.000Z' });

    expect(start).toEqual({ since: '2025-01-02T14:29:00.000Z', cause: 'window' });
  });
});
