/**
 * Strict reading of a request body: bytes that are not UTF-8 and JSON objects that carry a key
 * twice are refused instead of being silently "repaired" (U+FFFD, or JSON.parse keeping the last
 * value, so `{"qty":"1","qty":"1000"}` would be read as 1000).
 */

// fatal: an invalid sequence throws instead of becoming U+FFFD.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes` if they are valid UTF-8, `undefined` otherwise. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** The result of parseStrictJson: the value, or why the text was refused. */
export type StrictJsonResult =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: 'syntax' }
  | { readonly ok: false; readonly problem: 'duplicate_key'; readonly key: string };

/** JSON.parse, except that an object with the same key twice, at any depth, is refused. */
export function parseStrictJson(text: string): StrictJsonResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'syntax' };
  }
  const key = firstDuplicateKey(text);
  return key === undefined ? { ok: true, value } : { ok: false, problem: 'duplicate_key', key };
}

/**
 * The first key found twice in one object of `text`. Only called on text JSON.parse accepted, so
 * the scan can trust the grammar: it only has to tell keys from the other strings. Keys are
 * compared decoded, since `"qty"` and `"q\u0074y"` are the same key to JSON.parse.
 */
function firstDuplicateKey(text: string): string | undefined {
  // One entry per open container: the keys of an object so far, or undefined for an array.
  const open: (Set<string> | undefined)[] = [];
  let atKey = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '"') {
      const end = closingQuote(text, index);
      const keys = open.at(-1);
      if (atKey && keys !== undefined) {
        const key = JSON.parse(text.slice(index, end + 1)) as string;
        if (keys.has(key)) return key;
        keys.add(key);
      }
      atKey = false;
      index = end;
    } else if (char === '{') {
      open.push(new Set());
      atKey = true;
    } else if (char === '[') {
      open.push(undefined);
    } else if (char === '}' || char === ']') {
      open.pop();
      atKey = false;
    } else if (char === ',') {
      atKey = open.at(-1) !== undefined;
    }
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `opening`. */
function closingQuote(text: string, opening: number): number {
  let index = opening + 1;
  while (text[index] !== '"') index += text[index] === '\\' ? 2 : 1;
  return index;
}
