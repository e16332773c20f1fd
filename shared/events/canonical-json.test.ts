import stableStringify from "fast-json-stable-stringify";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "./canonical-json.ts";

/** A small seeded generator, so a failure names a value that can be made again. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const KEYS = ["b", "a", "event_id", "Z", "é", "ab", "a b", "\u2028", "😀", "aa", "_", "", "x\ny"];
const STRINGS = ["", "plain", 'quote " and \\', "tab\tnew\nline", "\u0000\u001f", "é😀", "\ud800"];
const NUMBERS = [0, -0, 1, -1, 1.5, 1e21, 1e-7, 2 ** 53, Number.MAX_VALUE, 5e-324];

/** Plain JSON data of the shapes stored events have: unsorted keys, escapes, nesting. */
function plainValue(random: () => number, depth: number): unknown {
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
  const kind = depth > 4 ? Math.floor(random() * 4) : Math.floor(random() * 6);
  switch (kind) {
    case 0:
      return pick(STRINGS);
    case 1:
      return pick(NUMBERS);
    case 2:
      return random() < 0.5 ? null : random() < 0.5;
    case 3:
      return "x".repeat(Math.floor(random() * 50));
    case 4:
      return Array.from({ length: Math.floor(random() * 4) }, () => plainValue(random, depth + 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 6); i > 0; i--) {
        object[pick(KEYS)] = plainValue(random, depth + 1);
      }
      return object;
    }
  }
}

function deep(levels: number): unknown {
  let value: unknown = { leaf: true };
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? { z: value, a: i } : [i, value];
  return value;
}

describe("canonicalJson", () => {
  it("writes exactly the bytes of fast-json-stable-stringify for plain JSON data", () => {
    const random = generator(7);
    for (let i = 0; i < 5_000; i++) {
      const value = plainValue(random, 0);
      expect(canonicalJson(value)).toBe(stableStringify(value));
      // Parsed back, as a request body is: the same text again.
      const parsed = JSON.parse(JSON.stringify(value)) as unknown;
      expect(canonicalJson(parsed)).toBe(stableStringify(parsed));
    }
  });

  it("writes what the reference writes for values outside plain JSON", () => {
    const odd: unknown[] = [
      { b: undefined, a: 1 },
      [1, undefined, () => 0],
      { n: Number.NaN, i: Number.POSITIVE_INFINITY },
      { when: new Date(Date.UTC(2024, 4, 1)) },
      { b: { toJSON: () => ({ z: 1, a: 2 }) }, a: 0 },
      { 10: "ten", 9: "nine", a: "letter" },
      JSON.parse('{"__proto__": {"b": 1, "a": 2}, "z": 0}'),
      Object.assign(Object.create(null), { b: 1, a: 2 }),
      [new Number(5), new String("s"), new Boolean(false)],
      new Map([["a", 1]]),
      { f: () => 1, s: Symbol("s"), a: "kept" },
      deep(70),
      deep(63),
      // biome-ignore lint/suspicious/noSparseArray: a hole is one of the odd values
      [1, , 3],
    ];
    for (const value of odd) expect(canonicalJson(value)).toBe(stableStringify(value));
    expect(canonicalJson(undefined)).toBe(stableStringify(undefined));
  });

  it("refuses a cycle as the reference does", () => {
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = { back: cycle };
    expect(() => stableStringify(cycle)).toThrow(TypeError);
    expect(() => canonicalJson(cycle)).toThrow("Converting circular structure to JSON");
  });
});
