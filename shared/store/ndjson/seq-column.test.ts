import { describe, expect, it } from "vitest";
import { SeqColumn } from "./seq-column.ts";

describe("seq column", () => {
  it("grows past its first allocation and copies what it holds", () => {
    const column = new SeqColumn();
    for (let i = 0; i < 3_000; i++) column.push(i * 7);
    expect(column.length).toBe(3_000);
    expect(column.get(2_999)).toBe(2_999 * 7);
    expect([...column.copy(3)]).toEqual([0, 7, 14]);
  });

  // A segment offset past 4 GiB would be stored wrapped, and a record read from the wrong place.
  it("refuses a value that does not fit 32 bits instead of wrapping it", () => {
    const column = new SeqColumn();
    column.push(0xffff_ffff);
    expect(() => column.push(2 ** 32)).toThrow(/does not fit a 32-bit column/);
    expect(() => column.push(-1)).toThrow(/does not fit/);
    expect(() => column.push(1.5)).toThrow(/does not fit/);
    expect(column.length).toBe(1);
  });
});
