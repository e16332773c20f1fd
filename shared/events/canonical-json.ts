import stableStringify from "fast-json-stable-stringify";

/** Past this nesting the fast path gives up, so a cycle fails exactly as the reference does. */
const MAX_FAST_DEPTH = 64;
/** What sortedCopy returns for a value the fast path does not handle. */
const NOT_PLAIN = Symbol("not plain");

/**
 * Canonical JSON for hashing: keys sorted at every level in JavaScript's default
 * string order, no whitespace, numbers as JSON.stringify writes them.
 *
 * Plain JSON data (what a request body parses to) is put in key order and handed to the
 * native JSON.stringify, several times faster than building the text in JavaScript; anything
 * else (toJSON, undefined, non-finite numbers, class instances, digit-led keys, deep nesting)
 * takes fast-json-stable-stringify, the reference whose bytes every stored hash depends on.
 */
export function canonicalJson(value: unknown): string {
  const sorted = sortedCopy(value, 0);
  return sorted === NOT_PLAIN ? stableStringify(value) : JSON.stringify(sorted);
}

/** The value with every object's keys in sorted order (unchanged parts are not copied). */
function sortedCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : NOT_PLAIN;
    case "object":
      if (value === null) return value;
      if (depth >= MAX_FAST_DEPTH) return NOT_PLAIN;
      return Array.isArray(value) ? sortedArray(value, depth) : sortedObject(value, depth);
    default:
      return NOT_PLAIN;
  }
}

function sortedArray(array: unknown[], depth: number): unknown {
  if (Object.getPrototypeOf(array) !== Array.prototype) return NOT_PLAIN;
  let copy: unknown[] | undefined;
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    // undefined (or a hole) is written as null by both, but only the reference is trusted here.
    if (item === undefined) return NOT_PLAIN;
    const sorted = sortedCopy(item, depth + 1);
    if (sorted === NOT_PLAIN) return NOT_PLAIN;
    if (sorted !== item) {
      copy ??= array.slice(0, i);
    }
    copy?.push(sorted);
  }
  return copy ?? array;
}

function sortedObject(object: object, depth: number): unknown {
  const prototype = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) return NOT_PLAIN;
  const record = object as Record<string, unknown>;
  if (typeof record.toJSON === "function") return NOT_PLAIN;
  const keys = Object.keys(record);
  let inOrder = true;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    // Index-like keys are ordered numerically by the engine whatever the insertion order.
    const first = key.charCodeAt(0);
    if ((first >= 48 && first <= 57) || key === "__proto__") return NOT_PLAIN;
    if (i > 0 && keys[i - 1]! > key) inOrder = false;
  }
  if (!inOrder) keys.sort();
  let changed = !inOrder;
  const values: unknown[] = new Array(keys.length);
  for (let i = 0; i < keys.length; i++) {
    const value = record[keys[i]!];
    if (value === undefined) return NOT_PLAIN;
    const sorted = sortedCopy(value, depth + 1);
    if (sorted === NOT_PLAIN) return NOT_PLAIN;
    if (sorted !== value) changed = true;
    values[i] = sorted;
  }
  if (!changed) return object;
  const copy: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) copy[keys[i]!] = values[i];
  return copy;
}
