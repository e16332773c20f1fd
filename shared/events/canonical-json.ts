import stableStringify from "fast-json-stable-stringify";

/**
 * Canonical JSON for hashing: keys sorted at every level in JavaScript's default
 * string order, no whitespace, numbers as JSON.stringify writes them.
 */
export function canonicalJson(value: unknown): string {
  return stableStringify(value);
}
