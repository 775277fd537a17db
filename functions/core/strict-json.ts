/**
 * Strict reading of a request body: bytes that are not UTF-8 and JSON objects that carry a key
 * twice are refused instead of being silently "repaired" (U+FFFD, or JSON.parse keeping the last
 * value, so `{"qty":"1","qty":"1000"}` would be read as 1000).
 */

// fatal: an invalid sequence throws instead of becoming U+FFFD.
// Stryker disable next-line StringLiteral: a static mutant Stryker's vitest runner never activates (the decoder is built once, at import); an empty label throws at import
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes` if they are valid UTF-8, `undefined` otherwise. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  }
  // Stryker disable next-line BlockStatement: an empty catch block returns undefined too
  catch {
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
  // Stryker disable next-line ArrayDeclaration: JSON.parse accepted the text, so it holds one value, which opens its own container before any key
  const open: (Set<string> | undefined)[] = [];
  // Stryker disable next-line BooleanLiteral: the first string of a text is a key only inside an object, whose '{' sets this
  let atKey = false;
  // Stryker disable next-line EqualityOperator: text[text.length] is undefined, which no branch of the loop acts on
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (char === '"') {
      const end = closingQuote(text, index);
      const keys = open.at(-1);
      if (atKey && keys !== undefined) {
        // Only a key with an escape needs decoding; any other is its text (JSON.parse accepted it).
        const raw = text.slice(index + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(index, end + 1)) as string) : raw;
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
      // Stryker disable next-line BooleanLiteral: a closing bracket is followed by ',', another closing bracket or the end, and ',' sets this again
      atKey = false;
    } else if (char === ',') {
      // A string after a comma is a key only inside an object; the string branch checks that.
      atKey = true;
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
