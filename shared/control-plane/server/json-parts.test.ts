import { describe, expect, it } from "vitest";
import {
  type JsonParts,
  joinMembers,
  MEMBERS_PER_BLOCK,
  objectParts,
  recordMembers,
} from "./json-parts.ts";

const textOf = (parts: JsonParts) => Buffer.concat(parts).toString();
const withRecords = (key: string, member: unknown) =>
  key.startsWith("big") ? recordMembers(member as object) : undefined;

/** A record of frozen entries, as the state keeps a target's tasks. */
function bigRecord(size: number): Record<string, object> {
  const record: Record<string, object> = {};
  for (let i = 0; i < size; i++) record[`task-${i}`] = Object.freeze({ n: i, s: "é\u2028" });
  return record;
}

describe("JSON in pieces", () => {
  it("writes what JSON.stringify writes, undefined members and empty records included", () => {
    const value = {
      a: 1,
      gone: undefined,
      big: bigRecord(3 * MEMBERS_PER_BLOCK + 5),
      bigEmpty: {},
      list: [undefined, "x"],
      last: null,
    };
    expect(textOf(objectParts("", value, withRecords))).toBe(JSON.stringify(value));
    expect(textOf(objectParts("", {}, withRecords))).toBe("{}");
    expect(textOf(objectParts("", { big: {} }, withRecords))).toBe('{"big":{}}');
  });

  it("joins runs of members that start with a comma, skipping empty ones", () => {
    const runs = [
      objectParts(',"x":', { big: bigRecord(2) }, withRecords),
      [Buffer.alloc(0)],
      objectParts(',"y":', { b: 2 }, withRecords),
    ].flat();
    expect(`{${textOf(joinMembers(runs))}}`).toBe(
      JSON.stringify({ x: { big: bigRecord(2) }, y: { b: 2 } }),
    );
  });

  it("encodes again only the blocks whose members changed, were added or moved", () => {
    const record = bigRecord(3 * MEMBERS_PER_BLOCK);
    const first = recordMembers(record);
    expect(first).toHaveLength(3);
    record["task-300"] = Object.freeze({ n: -1, s: "changed" });
    const second = recordMembers(record);
    expect(second[0]).toBe(first[0]);
    expect(second[1]).not.toBe(first[1]);
    expect(second[2]).toBe(first[2]);
    // An integer-like key goes first in an object, shifting every block after it.
    record["7"] = Object.freeze({ n: 7, s: "" });
    const third = recordMembers(record);
    expect(third).toHaveLength(4);
    expect(third.filter((part) => second.includes(part))).toEqual([]);
    expect(`{${textOf(third)}}`).toBe(JSON.stringify(record));
    delete record["7"];
    expect(`{${textOf(recordMembers(record))}}`).toBe(JSON.stringify(record));
  });
});
