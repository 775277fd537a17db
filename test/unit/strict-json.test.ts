import { describe, expect, it } from 'vitest';
import { decodeUtf8, parseStrictJson } from '../../functions/core/strict-json';

describe('parseStrictJson', () => {
  it.each([
    ['an object', '{"qty":"1","side":"buy"}'],
    ['nested objects and arrays', '{"a":{"b":[1,{"c":null}]},"d":[[],{}]}'],
    ['a scalar', '"text"'],
    ['an empty object', '{}'],
    ['whitespace around every token', ' { "a" : [ 1 , 2 ] , "b" : { } } '],
  ])('gives the value JSON.parse gives for %s', (_case, text) => {
    const result = parseStrictJson(text);

    expect(result).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it.each([
    ['at the top level', '{"qty":"1","side":"buy","qty":"1000"}', 'qty'],
    ['in a nested object', '{"order":{"qty":"1","qty":"2"}}', 'qty'],
    ['in an object inside an array', '[{"a":1},{"b":1,"b":2}]', 'b'],
    ['spelled with an escape', '{"qty":"1","q\\u0074y":"1000"}', 'qty'],
    ['that contains an escaped quote', '{"a\\"b":1,"a\\"b":2}', 'a"b'],
    ['after a nested object closed', '{"a":{"x":1},"b":2,"a":3}', 'a'],
    ['after a nested array closed', '{"a":[1,2],"a":3}', 'a'],
    ['after an array of strings closed', '{"a":["x","y"],"b":{"c":["z"]},"b":1}', 'b'],
  ])('refuses a key repeated %s and names it', (_case, text, key) => {
    expect(parseStrictJson(text)).toEqual({ ok: false, problem: 'duplicate_key', key });
  });

  it('accepts the same key in different objects', () => {
    const text = '{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":{"b":{"a":3}}}';

    expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it('does not take braces, commas or quotes inside string values for structure', () => {
    const text = '{"a":"{\\"a\\":1,\\"a\\":2}","b":"\\\\","c":"a"}';

    expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it('does not take the strings of an array, nested arrays included, for keys', () => {
    const text = '{"a":[["k","k"],"k",["k"]],"k":1}';

    expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it('does not take a string value for a key', () => {
    const text = '{"a":"a","b":["b","b"]}';

    expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
  });

  it.each([
    ['empty text', ''],
    ['a truncated object', '{"symbol": '],
    ['a trailing comma', '{"a":1,}'],
    ['two values', '{} {}'],
  ])('refuses %s as a syntax error', (_case, text) => {
    expect(parseStrictJson(text)).toEqual({ ok: false, problem: 'syntax' });
  });
});

describe('decodeUtf8', () => {
  it('decodes valid UTF-8, multi-byte characters included', () => {
    expect(decodeUtf8(Buffer.from('{"s":"é€😀"}', 'utf8'))).toBe('{"s":"é€😀"}');
  });

  it.each([
    ['a lone continuation byte', [0x61, 0x80]],
    ['a truncated sequence', [0xe0, 0xa4]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['a byte that never occurs', [0xff]],
  ])('refuses %s instead of replacing it with U+FFFD', (_case, bytes) => {
    expect(decodeUtf8(Uint8Array.from(bytes))).toBeUndefined();
  });
});
