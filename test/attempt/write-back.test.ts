import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { AttemptFailure } from "../../shared/attempt/attempt-failure.ts";
import {
  applyWriteBack,
  executorMayEditBacklog,
  type WriteBackFields,
} from "../../shared/attempt/write-back.ts";
import { parseBacklog } from "../../shared/backlog/parse-backlog.ts";
import { removeTempDirs } from "./git-fixtures.ts";

afterAll(removeTempDirs);

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures", name), "utf8");

function fieldsFor(taskId: string): WriteBackFields {
  return {
    status: "completed",
    last_attempt_id: `attempt-${taskId}-0a1b2c3d`,
    branch_name: `agent/docs-attempt-${taskId}-0a1b2c3d`,
    completed_at: "2025-01-02T03:04:05.678Z",
  };
}

function failureOf(call: () => unknown): AttemptFailure {
  try {
    call();
  } catch (error) {
    if (error instanceof AttemptFailure) return error;
    throw error;
  }
  throw new Error("expected an AttemptFailure");
}

describe("applyWriteBack", () => {
  it("replaces an existing status in its own quoting and adds the rest after the task's last field", () => {
    const result = applyWriteBack(fixture("backlog.yaml"), "target-task", fieldsFor("target-task"));
    expect(result.method).toBe("splice");
    expect(result.text).toBe(fixture("backlog.target-task.expected.yaml"));
  });

  it("adds every field to a task at the end of the file that ends in a folded block", () => {
    const result = applyWriteBack(fixture("backlog.yaml"), "last-task", fieldsFor("last-task"));
    expect(result.text).toBe(fixture("backlog.last-task.expected.yaml"));
    // The block scalar above the new lines still reads the same.
    const task = parse(result.text).tasks.at(-1);
    expect(task.description).toBe("folded text");
  });

  it("handles a file without a final newline and one with CRLF line ends", () => {
    const bare = "tasks:\n  - id: t\n    title: T\n    status: pending";
    expect(applyWriteBack(bare, "t", fieldsFor("t")).text).toBe(
      "tasks:\n  - id: t\n    title: T\n    status: completed\n" +
        "    last_attempt_id: attempt-t-0a1b2c3d\n" +
        "    branch_name: agent/docs-attempt-t-0a1b2c3d\n" +
        '    completed_at: "2025-01-02T03:04:05.678Z"\n',
    );
    const crlf = "# c\r\ntasks:\r\n  - id: t\r\n    title: T\r\n";
    const out = applyWriteBack(crlf, "t", fieldsFor("t")).text;
    expect(
      out.startsWith("# c\r\ntasks:\r\n  - id: t\r\n    title: T\r\n    status: completed\r\n"),
    ).toBe(true);
    expect(out.replace(/\r\n/g, "")).not.toContain("\n");
  });

  it("changes only the task's record in the demo target's backlog, which stays valid", () => {
    const text = readFileSync(
      join(import.meta.dirname, "../../ops/demo-target/.leviathan/backlog.yaml"),
      "utf8",
    );
    const result = applyWriteBack(text, "propose-backlog", fieldsFor("propose-backlog"));
    expect(result.method).toBe("splice");
    // Exactly two edits: the status line in place, three new lines after the last criterion.
    const expected = text.split("\n");
    expected[expected.indexOf("    status: pending")] = "    status: completed";
    const lastCriterion = expected.findIndex((line) => line.includes("changes only .leviathan"));
    expected.splice(
      lastCriterion + 1,
      0,
      "    last_attempt_id: attempt-propose-backlog-0a1b2c3d",
      "    branch_name: agent/docs-attempt-propose-backlog-0a1b2c3d",
      '    completed_at: "2025-01-02T03:04:05.678Z"',
    );
    expect(result.text).toBe(expected.join("\n"));
    const parsed = parseBacklog(result.text);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    const task = parsed.tasks.find((entry) => entry.id === "propose-backlog");
    expect(task?.status).toBe("completed");
    expect(task?.warnings).toEqual([]);
    expect(task?.raw.completed_at).toBe("2025-01-02T03:04:05.678Z");
  });

  it("falls back to the Document API's own output for a flow-style task, keeping comments", () => {
    const result = applyWriteBack(fixture("backlog.yaml"), "flow-task", fieldsFor("flow-task"));
    expect(result.method).toBe("document");
    expect(result.text).toContain("# first: untouched, odd spacing and quoting on purpose");
    expect(result.text).toContain("# quoted status keeps its quotes");
    const tasks = parse(result.text).tasks;
    expect(tasks[2]).toEqual({
      id: "flow-task",
      title: "Flow",
      ready: false,
      allowed_paths: ["docs/"],
      ...fieldsFor("flow-task"),
    });
    expect(tasks[0]).toEqual(parse(fixture("backlog.yaml")).tasks[0]);
  });

  it("fails with task_not_found for a missing or duplicated task, or a file that does not parse", () => {
    const missing = failureOf(() =>
      applyWriteBack(fixture("backlog.yaml"), "nope", fieldsFor("nope")),
    );
    expect(missing.reason).toBe("task_not_found");
    expect(missing.failureKind).toBe("task");
    expect(missing.summary).toBe("task nope is not in .leviathan/backlog.yaml");

    const twice = "tasks:\n  - id: a\n  - id: a\n";
    expect(failureOf(() => applyWriteBack(twice, "a", fieldsFor("a"))).summary).toMatch(
      /more than once/,
    );
    expect(failureOf(() => applyWriteBack("tasks: [", "a", fieldsFor("a"))).reason).toBe(
      "task_not_found",
    );
    expect(failureOf(() => applyWriteBack("other: 1\n", "a", fieldsFor("a"))).reason).toBe(
      "task_not_found",
    );
  });
});

describe("executorMayEditBacklog", () => {
  it("is true only when both the task's paths and the prefixes cover the backlog", () => {
    expect(executorMayEditBacklog([".leviathan/backlog.yaml"], [".leviathan/", "docs/"])).toBe(
      true,
    );
    expect(executorMayEditBacklog([".leviathan/"], [".leviathan/"])).toBe(true);
    expect(executorMayEditBacklog(["docs/"], [".leviathan/", "docs/"])).toBe(false);
    expect(executorMayEditBacklog([".leviathan/backlog.yaml"], ["docs/"])).toBe(false);
    expect(executorMayEditBacklog([".leviathan"], [".leviathan/"])).toBe(false);
  });
});
