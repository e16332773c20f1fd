import { describe, expect, it } from "vitest";
import { parseBacklog, unreadableBacklog } from "./parse-backlog.ts";
import type { BacklogParse, BacklogTask } from "./types.ts";

function tasksOf(result: BacklogParse): BacklogTask[] {
  if (!result.ok) throw new Error(`backlog invalid: ${JSON.stringify(result.problems)}`);
  return result.tasks;
}

function problemsOf(result: BacklogParse) {
  if (result.ok) throw new Error("backlog was accepted");
  return result.problems;
}

const GOOD = `# Radix backlog
tasks:
  - id: task-1
    title: "Fix broken links"
    ready: true
    allowed_paths: [docs/README.md, docs/architecture/design.md]
    status: pending
    description: "Links in the README point at the old wiki."
    scope: docs
    acceptance_criteria: ["every link resolves"]
    dependencies: []
    executor: docs
  - id: task-2.part_b
    title: Second
    ready: false
    allowed_paths:
      - docs/
    last_attempt_id: attempt-task-2.part_b-0badf00d
    branch_name: agent/docs-attempt-task-2.part_b-0badf00d
    completed_at: "2025-01-01T00:00:00Z"
`;

describe("parseBacklog: a valid backlog", () => {
  it("returns every task in file order with typed fields, raw fields and lines", () => {
    const result = parseBacklog(GOOD, ".leviathan/backlog.yaml");
    expect(result.ok).toBe(true);
    expect(result.file).toBe(".leviathan/backlog.yaml");
    const [first, second] = tasksOf(result);
    expect(first).toMatchObject({
      id: "task-1",
      index: 0,
      line: 3,
      title: "Fix broken links",
      ready: true,
      status: "pending",
      allowed_paths: ["docs/README.md", "docs/architecture/design.md"],
      acceptance_criteria: ["every link resolves"],
      dependencies: [],
      executor: "docs",
      problems: [],
      warnings: [],
    });
    // The write-back's fields are known: kept, no warning.
    expect(second).toMatchObject({ id: "task-2.part_b", index: 1, line: 13, ready: false });
    expect(second?.warnings).toEqual([]);
    expect(second?.raw.last_attempt_id).toBe("attempt-task-2.part_b-0badf00d");
    expect(second?.status).toBeUndefined();
  });

  it("accepts an empty task list", () => {
    expect(parseBacklog("tasks: []\n")).toEqual({ ok: true, tasks: [], warnings: [] });
  });

  it("keeps unknown fields and reports them as warnings with their lines", () => {
    const text =
      "version: 2\ntasks:\n  - id: a\n    title: A\n    ready: true\n    allowed_paths: [docs/]\n    owner: ian\n";
    const result = parseBacklog(text);
    expect(result.ok && result.warnings).toEqual([
      { path: "version", line: 1, message: "unknown field, kept and ignored" },
    ]);
    const [task] = tasksOf(result);
    expect(task?.raw.owner).toBe("ian");
    expect(task?.warnings).toEqual([
      { field: "owner", line: 7, message: "unknown field, kept and ignored" },
    ]);
    expect(task?.problems).toEqual([]);
  });
});

describe("parseBacklog: the whole backlog is invalid", () => {
  it.each([
    ["YAML does not parse", "tasks:\n  - id: a\n    title: [unclosed\n", 4, ""],
    ["a duplicate key", "tasks:\n  - id: a\n    id: b\n", 3, ""],
    ["tasks missing", "# nothing here\nitems: []\n", 2, "tasks"],
    ["an empty file", "", 1, "tasks"],
    ["tasks not a list", "tasks:\n  id: a\n", 1, "tasks"],
    ["tasks null", "tasks:\n", 1, "tasks"],
  ])("%s", (_name, text, line, path) => {
    const [problem, ...rest] = problemsOf(parseBacklog(text));
    expect(rest).toEqual([]);
    expect(problem).toMatchObject({ line, path });
  });

  it("names every task without a string id and every duplicate, with lines", () => {
    const text = [
      "tasks:",
      "  - id: a",
      "    title: A",
      "  - title: no id",
      "    ready: true",
      "  - id: a",
      "  - id: 42",
      "  - just a string",
      '  - id: ""',
      "  - id: b",
      "",
    ].join("\n");
    expect(problemsOf(parseBacklog(text, "b.yaml"))).toEqual([
      { path: "tasks[1].id", line: 4, message: "task has no id" },
      { path: "tasks[2].id", line: 6, message: 'duplicate id "a" (first on line 2)' },
      { path: "tasks[3].id", line: 7, message: "id must be a string" },
      { path: "tasks[4]", line: 8, message: "a task must be a mapping of fields with an id" },
      { path: "tasks[5].id", line: 9, message: "task has no id" },
    ]);
  });

  it("an unreadable backlog is invalid without a line", () => {
    expect(unreadableBacklog("file not found on main", "x.yaml")).toEqual({
      ok: false,
      file: "x.yaml",
      problems: [{ path: "", message: "file not found on main" }],
    });
  });

  it("survives an alias bomb", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
      "tasks: [*e, *e, *e, *e, *e, *e, *e, *e, *e]",
      "",
    ].join("\n");
    expect(problemsOf(parseBacklog(bomb))).toEqual([
      {
        path: "",
        line: 1,
        message:
          "YAML does not parse: Excessive alias count indicates a resource exhaustion attack",
      },
    ]);
  });
});

describe("parseBacklog: problems inside one task", () => {
  const base = { title: "T", ready: "true", allowed_paths: "[docs/a.md]" };

  function oneTask(fields: Record<string, string | undefined>): BacklogTask {
    const lines = ["tasks:", "  - id: t1"];
    for (const [key, value] of Object.entries({ ...base, ...fields })) {
      if (value !== undefined) lines.push(`    ${key}: ${value}`);
    }
    const [task] = tasksOf(parseBacklog(`${lines.join("\n")}\n`));
    return task!;
  }

  it.each([
    ["ready missing", { ready: undefined }, "ready", 2, "is required"],
    ["ready a string", { ready: '"yes"' }, "ready", 4, "must be true or false"],
    ["ready a number", { ready: "1" }, "ready", 4, "must be true or false"],
    ["title missing", { title: undefined }, "title", 2, "is required"],
    ["title empty", { title: '""' }, "title", 3, "must not be empty"],
    [
      "status Pending",
      { status: "Pending" },
      "status",
      6,
      '"Pending" is not a status (pending, in_progress, completed or blocked)',
    ],
    ["allowed_paths missing", { allowed_paths: undefined }, "allowed_paths", 2, "is required"],
    [
      "allowed_paths empty",
      { allowed_paths: "[]" },
      "allowed_paths",
      5,
      "must list at least one path",
    ],
    [
      "allowed_paths a string",
      { allowed_paths: "docs/" },
      "allowed_paths",
      5,
      "must be a list of strings",
    ],
    [
      "allowed_paths holding a number",
      { allowed_paths: "[docs/a.md, 7]" },
      "allowed_paths[1]",
      5,
      "must be a string",
    ],
    [
      "allowed_paths absolute",
      { allowed_paths: "[/etc/x]" },
      "allowed_paths[0]",
      5,
      '"/etc/x": absolute path',
    ],
    [
      "allowed_paths escaping",
      { allowed_paths: "[../docs/a]" },
      "allowed_paths[0]",
      5,
      '"../docs/a": path escapes the repository',
    ],
    [
      "allowed_paths glob",
      { allowed_paths: '["docs/*.md"]' },
      "allowed_paths[0]",
      5,
      '"docs/*.md": glob characters are not allowed',
    ],
    [
      "dependencies a string",
      { dependencies: "t0" },
      "dependencies",
      6,
      "must be a list of strings",
    ],
    [
      "executor unknown",
      { executor: "shell" },
      "executor",
      6,
      '"shell" is not an executor (backlog-propose, docs, command)',
    ],
    [
      "acceptance_criteria a mapping",
      { acceptance_criteria: "{a: 1}" },
      "acceptance_criteria",
      6,
      "must be a list of strings",
    ],
  ])("%s", (_name, fields, field, line, message) => {
    const task = oneTask(fields);
    expect(task.problems).toEqual([{ field, line, message }]);
    // A field with a problem is absent from the typed view.
    expect(
      (task as unknown as Record<string, unknown>)[field.replace(/\[\d+\]$/, "")],
    ).toBeUndefined();
  });

  it.each([
    ["task..1", "may hold only letters, digits, '-', '_' and single dots"],
    [".hidden", "may hold only letters, digits, '-', '_' and single dots"],
    ["a/b", "may hold only letters, digits, '-', '_' and single dots"],
    ["x".repeat(101), "must be at most 100 characters"],
  ])("id %j is a task problem, not a backlog one", (id, message) => {
    const text = `tasks:\n  - id: "${id}"\n    title: T\n    ready: true\n    allowed_paths: [docs/]\n`;
    const [task] = tasksOf(parseBacklog(text));
    expect(task?.id).toBe(id);
    expect(task?.problems).toEqual([{ field: "id", line: 2, message }]);
  });

  it.each(["a", "task-1", "task_1.part.2", "A9", "x".repeat(100)])("id %j is fine", (id) => {
    const text = `tasks:\n  - id: "${id}"\n    title: T\n    ready: true\n    allowed_paths: [docs/]\n`;
    expect(tasksOf(parseBacklog(text))[0]?.problems).toEqual([]);
  });

  it("a null optional field counts as missing", () => {
    expect(oneTask({ status: "", dependencies: "~" }).problems).toEqual([]);
  });

  it("lists several problems of one task in line order", () => {
    const task = oneTask({ status: "done", ready: "maybe", title: undefined });
    expect(task.problems.map((p) => [p.line, p.field])).toEqual([
      [2, "title"],
      [3, "ready"],
      [5, "status"],
    ]);
  });
});
