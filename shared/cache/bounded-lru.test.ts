import { describe, expect, it } from "vitest";
import { BoundedLru } from "./bounded-lru.ts";

describe("bounded LRU", () => {
  it("drops the least recently used past its limit, a hit counting as a use", () => {
    const lru = new BoundedLru<string>(10);
    lru.set("a", "A", 4);
    lru.set("b", "B", 4);
    expect(lru.get("a")).toBe("A");
    lru.set("c", "C", 4); // 12 > 10: b, used longest ago, goes
    expect(lru.get("b")).toBeUndefined();
    expect([lru.get("a"), lru.get("c")]).toEqual(["A", "C"]);
    expect(lru.size).toBe(2);
  });

  it("replaces an entry under the same key, counting only the new cost", () => {
    const lru = new BoundedLru<string>(10);
    lru.set("a", "A1", 6);
    lru.set("a", "A2", 6);
    lru.set("b", "B", 4);
    expect([lru.get("a"), lru.get("b")]).toEqual(["A2", "B"]);
  });

  it("keeps nothing that costs more than one entry may, and drops what it replaced", () => {
    const lru = new BoundedLru<string>(100, 5);
    expect(lru.set("a", "A", 5)).toBe(true);
    expect(lru.set("a", "big", 6)).toBe(false);
    expect(lru.get("a")).toBeUndefined();
    expect(lru.size).toBe(0);
  });
});
