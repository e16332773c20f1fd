// biome-ignore lint/suspicious/noExplicitAny: any error class, whatever its constructor takes
export type ErrorClass = abstract new (...args: any[]) => Error;

/**
 * An entry point's one table from the errors it knows to what it answers (an HTTP status, an
 * exit code, a reply), first match wins: a subclass must come before its parent.
 */
export type ErrorTable<T> = ReadonlyArray<readonly [ErrorClass, T]>;

/** What `table` says for `error`; undefined when it is none of the table's classes. */
export function lookUpError<T>(table: ErrorTable<T>, error: unknown): T | undefined {
  for (const [type, value] of table) if (error instanceof type) return value;
  return undefined;
}
