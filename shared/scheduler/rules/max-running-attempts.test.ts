import { describe, expect, it } from "vitest";
import { emptyTarget, seedConfig } from "../../../test/scheduler/fixtures.ts";
import { checkMaxRunningAttempts } from "./max-running-attempts.ts";

describe("checkMaxRunningAttempts", () => {
  const config = seedConfig({ max_running_attempts: 2 });

  it.each([
    [[], null],
    [["a1"], null],
    [["a1", "a2"], "max_running_attempts"],
    [["a1", "a2", "a3"], "max_running_attempts"],
  ])("running %j of 2 → %s", (running, reason) => {
    const skip = checkMaxRunningAttempts(config, emptyTarget({ running_attempts: running }));
    expect(skip?.reason ?? null).toBe(reason);
    if (skip) expect(skip.details).toEqual({ running_attempts: running, max_running_attempts: 2 });
  });
});
