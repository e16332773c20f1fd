import { describe, expect, it } from "vitest";
import { EventIdTable, eventIdHash } from "./event-id-table.ts";

/** cyrb53("abc") is 5059922895146125; its low 32 bits. */
const HASH_OF_ABC = 5059922895146125 % 2 ** 32;

describe("event id table", () => {
  it("keeps every seq of a hash, in order, across growth", () => {
    const table = new EventIdTable();
    const collision = eventIdHash("a");
    table.push(collision);
    for (let seq = 2; seq <= 5_001; seq++) table.push(eventIdHash(`id-${seq}`));
    table.push(collision);
    expect(table.candidates(collision)).toEqual([1, 5_002]);
    expect(table.candidates(eventIdHash("id-4321"))).toEqual([4_321]);
    expect(table.candidates(eventIdHash("never stored"))).toEqual([]);
    expect(table.size).toBe(5_002);
  });

  it("is rebuilt from its hash column (a snapshot) to answer the same", () => {
    const table = new EventIdTable();
    for (let seq = 1; seq <= 3_000; seq++) table.push(eventIdHash(`id-${seq % 2_000}`));
    const rebuilt = new EventIdTable(table.hashColumn());
    for (const id of ["id-1", "id-1999", "id-0", "nope"]) {
      expect(rebuilt.candidates(eventIdHash(id))).toEqual(table.candidates(eventIdHash(id)));
    }
    expect(rebuilt.candidates(eventIdHash("id-7"))).toEqual([7, 2_007]);
    rebuilt.push(eventIdHash("id-7"));
    expect(rebuilt.candidates(eventIdHash("id-7"))).toEqual([7, 2_007, 3_001]);
  });

  it("hashes to a stable unsigned 32-bit integer (snapshots depend on it)", () => {
    const hash = eventIdHash("attempt-task-1-0badf00d.attempt.started");
    expect(Number.isInteger(hash)).toBe(true);
    expect(hash).toBeGreaterThanOrEqual(0);
    expect(hash).toBeLessThan(2 ** 32);
    expect(eventIdHash("attempt-task-1-0badf00d.attempt.started")).toBe(hash);
    expect(eventIdHash("abc")).toBe(HASH_OF_ABC);
  });
});
