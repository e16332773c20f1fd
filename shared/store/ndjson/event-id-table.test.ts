import { describe, expect, it } from "vitest";
import { EventIdTable, eventIdHash } from "./event-id-table.ts";

describe("event id table", () => {
  it("keeps every seq of a hash, in order, across growth", () => {
    const table = new EventIdTable();
    const collision = eventIdHash("a");
    table.add(collision, 7);
    for (let seq = 1; seq <= 5_000; seq++) table.add(eventIdHash(`id-${seq}`), seq + 10);
    table.add(collision, 3);
    expect(table.candidates(collision)).toEqual([3, 7]);
    expect(table.candidates(eventIdHash("id-4321"))).toContain(4331);
    expect(table.candidates(eventIdHash("never stored"))).toEqual([]);
    expect(table.size).toBe(5_002);
  });

  it("hashes to a stable, non-zero 53-bit integer (snapshots depend on it)", () => {
    const hash = eventIdHash("attempt-task-1-0badf00d.attempt.started");
    expect(Number.isSafeInteger(hash)).toBe(true);
    expect(hash).toBeGreaterThan(0);
    expect(eventIdHash("attempt-task-1-0badf00d.attempt.started")).toBe(hash);
    expect(eventIdHash("")).toBeGreaterThan(0);
    expect(eventIdHash("abc")).toBe(5059922895146125);
  });
});
