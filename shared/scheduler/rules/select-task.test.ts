import { describe, expect, it } from "vitest";
import { emptyTarget, seedConfig, taskState } from "../../../test/scheduler/fixtures.ts";
import { parseBacklog } from "../../backlog/parse-backlog.ts";
import type { TargetState } from "../../control-plane/types.ts";
import { selectTask } from "./select-task.ts";
import { buildEligibilityContext } from "./task-eligibility.ts";

const BACKLOG = parseBacklog(
  [
    "tasks:",
    "  - {id: a, title: A, ready: false, allowed_paths: [docs/]}",
    "  - {id: b, title: B, ready: true, allowed_paths: [docs/]}",
    "  - {id: c, title: C, ready: true, allowed_paths: [docs/]}",
    "  - {id: d, title: D, ready: true, allowed_paths: [docs/]}",
    "",
  ].join("\n"),
);

function select(target: TargetState) {
  if (!BACKLOG.ok) throw new Error("fixture invalid");
  return selectTask(
    BACKLOG.tasks,
    buildEligibilityContext(seedConfig(), target, BACKLOG.tasks, []),
  );
}

describe("selectTask", () => {
  it("takes the first eligible task in file order and lists those before it", () => {
    const selection = select(emptyTarget());
    expect(selection.task?.id).toBe("b");
    expect(selection.ineligible).toEqual([
      { task_id: "a", line: 2, reason: "not_ready", message: "ready is not true" },
    ]);
    expect(selection.newlyBlocked).toEqual([]);
  });

  it("passes over a task out of attempts and asks to block it once", () => {
    const spent = taskState({ attempts: 3, charged_attempts: 2 });
    const first = select(emptyTarget({ tasks: { b: spent } }));
    expect(first.task?.id).toBe("c");
    expect(first.newlyBlocked).toEqual([{ task_id: "b", attempts: 2 }]);
    // Once `task.blocked` is recorded the state says so, and it is not asked again.
    const again = select(emptyTarget({ tasks: { b: { ...spent, blocked: true } } }));
    expect(again.task?.id).toBe("c");
    expect(again.newlyBlocked).toEqual([]);
  });

  it("lists every task with its reason when none is eligible", () => {
    const spent = taskState({ attempts: 2, charged_attempts: 2 });
    const selection = select(emptyTarget({ tasks: { b: spent, c: spent, d: spent } }));
    expect(selection.task).toBeNull();
    expect(selection.ineligible.map((i) => [i.task_id, i.reason])).toEqual([
      ["a", "not_ready"],
      ["b", "attempts_exhausted"],
      ["c", "attempts_exhausted"],
      ["d", "attempts_exhausted"],
    ]);
    expect(selection.newlyBlocked.map((b) => b.task_id)).toEqual(["b", "c", "d"]);
  });
});
