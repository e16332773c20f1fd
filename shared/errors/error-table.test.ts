import { describe, expect, it } from "vitest";
import { UsageError } from "../../functions/cli/command.ts";
import { EXIT, exitCodeOf } from "../../functions/cli/exit-codes.ts";
import { type ErrorTable, lookUpError } from "./error-table.ts";

class Parent extends Error {}
class Child extends Parent {}

describe("lookUpError", () => {
  const table: ErrorTable<string> = [
    [Child, "child"],
    [Parent, "parent"],
  ];

  it("the first class that matches wins: a subclass listed first answers for itself", () => {
    expect(lookUpError(table, new Child("x"))).toBe("child");
    expect(lookUpError(table, new Parent("x"))).toBe("parent");
  });

  it("an error of no listed class, or a thrown non-Error, is in no table", () => {
    for (const thrown of [
      new Error("x"),
      new TypeError("x"),
      "a string",
      undefined,
      { message: "x" },
    ]) {
      expect(lookUpError(table, thrown)).toBeUndefined();
    }
  });
});

describe("the command line's exit codes", () => {
  it("a UsageError is 2, anything else a command throws is 1", () => {
    expect(exitCodeOf(new UsageError("bad"))).toBe(EXIT.usage);
    expect(EXIT.usage).toBe(2);
    for (const thrown of [new Error("x"), "a string", null]) expect(exitCodeOf(thrown)).toBe(1);
  });

  it("no two meanings share a code", () => {
    const codes = Object.values(EXIT);
    expect(new Set(codes).size).toBe(codes.length);
    expect(EXIT).toMatchObject({
      ok: 0,
      failed: 1,
      usage: 2,
      checkpointsContradicted: 3,
      belowExpectedSeq: 4,
    });
  });
});
