/** A copy without the keys whose value is `undefined`, so optional fields stay absent in rows and logs. */
export function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
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
