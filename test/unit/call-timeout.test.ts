import { describe, expect, it } from 'vitest';
import { CallTimeout } from '../../functions/adapters/call-timeout';

/** Resolves after `ms` of real time. */
function after(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('CallTimeout', () => {
  it('aborts its signal with a TimeoutError once its time is up, as AbortSignal.timeout does', async () => {
    const timeout = new CallTimeout(10);

    await after(40);

    expect(timeout.signal.aborted).toBe(true);
    expect(timeout.signal.reason).toBeInstanceOf(DOMException);
    expect((timeout.signal.reason as DOMException).name).toBe('TimeoutError');
  });

  it('does not abort before its time is up', () => {
    const timeout = new CallTimeout(1_000);

    expect(timeout.signal.aborted).toBe(false);
    timeout.settle();
  });

  it('never aborts once the call has settled', async () => {
    const timeout = new CallTimeout(10);

    timeout.settle();
    await after(40);

    expect(timeout.signal.aborted).toBe(false);
  });
});
