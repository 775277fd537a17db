/** A copy without the keys whose value is `undefined`, so optional fields stay absent in rows and logs. */
export function dropUndefined<T extends object>(value: T): T {
  // A plain loop: it runs several times per routed order, and entries/filter/fromEntries allocate an array per key.
  const kept: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field: unknown = (value as Record<string, unknown>)[key];
    if (field === undefined) continue;
    // An own `__proto__` key (parsed JSON can hold one) stays a plain field, as fromEntries kept it.
    if (key === '__proto__') Object.defineProperty(kept, key, { value: field, enumerable: true, writable: true, configurable: true });
    else kept[key] = field;
  }
  return kept as T;
}

/** An error as one log-friendly line: `Name: message`. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** `raw` parsed as JSON, or undefined when it is not JSON: for values whose schema decides what an unreadable one means. */
export function parseJsonOrUndefined(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  }
  // Stryker disable next-line BlockStatement: an empty catch block returns undefined too
  catch {
    return undefined;
  }
}
