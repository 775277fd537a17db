import { describe, expect, it } from 'vitest';
import { dropUndefined } from '../../functions/core/objects';

describe('dropUndefined', () => {
  it('drops the keys whose value is undefined and keeps null, false, zero and empty text', () => {
    const kept = dropUndefined({ a: undefined, b: null, c: false, d: 0, e: '', f: 'x' });

    expect(Object.entries(kept)).toEqual([
      ['b', null],
      ['c', false],
      ['d', 0],
      ['e', ''],
      ['f', 'x'],
    ]);
  });

  it('keeps an own __proto__ key as a plain field, never as the copy’s prototype', () => {
    const parsed = JSON.parse('{"__proto__":{"polluted":true},"a":1}') as Record<string, unknown>;

    const kept = dropUndefined(parsed);

    expect(Object.getPrototypeOf(kept)).toBe(Object.prototype);
    expect(Object.keys(kept)).toEqual(['__proto__', 'a']);
    expect((kept as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
