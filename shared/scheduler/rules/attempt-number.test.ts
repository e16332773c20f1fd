import { describe, expect, it } from "vitest";
import { emptyTarget, taskState } from "../../../test/scheduler/fixtures.ts";
import { nextAttemptNumber } from "./attempt-number.ts";

describe("nextAttemptNumber", () => {
  it("counts every previous attempt, platform failures included", () => {
    expect(nextAttemptNumber(emptyTarget(), "task-1")).toBe(1);
    // Two attempts, one lost to the platform: charged 1, but the next number is still 3.
    const target = emptyTarget({
      tasks: { "task-1": taskState({ attempts: 2, charged_attempts: 1 }) },
    });
    expect(nextAttemptNumber(target, "task-1")).toBe(3);
  });
});
