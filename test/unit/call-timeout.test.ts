import { setTimeout as after } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { secretForCall, settledWithin, withinTimeout } from '../../functions/adapters/call-timeout';


describe('withinTimeout', () => {
  it("aborts the call's signal with a TimeoutError once its time is up, as AbortSignal.timeout does", async () => {
    let seen: AbortSignal | undefined;

    await withinTimeout(10, async (signal) => {
      seen = signal;
      await after(40);
    });

    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(DOMException);
    expect((seen?.reason as DOMException).name).toBe('TimeoutError');
  });

  it('never aborts the signal of a call that settled in time, even after its time has passed', async () => {
    let seen: AbortSignal | undefined;

    await withinTimeout(10, async (signal) => {
      seen = signal;
    });
    await after(40);

    expect(seen?.aborted).toBe(false);
  });

  it('answers what the call answers', async () => {
    const answer = await withinTimeout(1_000, async () => 'placed');

    expect(answer).toBe('placed');
  });

  it("rejects with the call's own error", async () => {
    const failing = withinTimeout(1_000, async () => {
      throw new Error('refused');
    });

    await expect(failing).rejects.toThrow('refused');
  });
});

describe('settledWithin', () => {
  it('answers the value of a read that settles in time', async () => {
    expect(await settledWithin(after(5).then(() => 'secret'), 200)).toBe('secret');
  });

  it('answers undefined once the time is up, without waiting for a slower read', async () => {
    const started = performance.now();

    const value = await settledWithin(after(1_000).then(() => 'late'), 20);

    expect({ value, waitedUnderHalfASecond: performance.now() - started < 500 }).toEqual({ value: undefined, waitedUnderHalfASecond: true });
  });

  it("passes a read's rejection through", async () => {
    await expect(settledWithin(Promise.reject(new Error('AccessDeniedException')), 200)).rejects.toThrow('AccessDeniedException');
  });
});

describe('secretForCall', () => {
  it('answers a cached secret at once with the whole of the call\'s time, without reading', async () => {
    let reads = 0;

    const secret = await secretForCall('cached', async () => `read ${(reads += 1)}`, 500);

    expect({ secret, reads }).toEqual({ secret: { kind: 'ready', value: 'cached', timeoutMs: 500 }, reads: 0 });
  });

  it('reads a secret not at hand and answers what is left of the call\'s time', async () => {
    const secret = await secretForCall(undefined, () => after(30).then(() => 'read'), 1_000);

    expect(secret.kind === 'ready' && secret.value === 'read' && secret.timeoutMs < 1_000 && secret.timeoutMs > 500).toBe(true);
  });

  it('answers out_of_time when the read outlasts the call\'s time', async () => {
    expect(await secretForCall(undefined, () => after(1_000).then(() => 'late'), 20)).toEqual({ kind: 'out_of_time' });
  });
});
