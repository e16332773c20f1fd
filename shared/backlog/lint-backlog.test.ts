import { describe, expect, it } from "vitest";
import { lintBacklog } from "./lint-backlog.ts";

describe("lintBacklog", () => {
  it("prints task problems as file:line: task <id>: <field>: message, warnings apart", () => {
    const text = [
      "tasks:",
      "  - id: task-1",
      "    title: Fix links",
      "    ready: yes",
      "    allowed_paths: [docs/README.md]",
      "    status: Pending",
      "    colour: blue",
      "  - id: task-2",
      "    title: Fine",
      "    ready: true",
      "    allowed_paths: [docs/]",
      "",
    ].join("\n");
    expect(lintBacklog(text, "backlog.yaml")).toEqual({
      errors: [
        "backlog.yaml:4: task task-1: ready: must be true or false",
        'backlog.yaml:6: task task-1: status: "Pending" is not a status (pending, in_progress, completed or blocked)',
      ],
      warnings: ["backlog.yaml:7: task task-1: colour: unknown field, kept and ignored"],
      taskCount: 2,
      readyCount: 1,
    });
  });

  it("prints whole-backlog problems with their field path", () => {
    const text = "tasks:\n  - id: a\n    title: A\n  - id: a\n";
    expect(lintBacklog(text, "b.yaml")).toEqual({
      errors: ['b.yaml:4: tasks[1].id: duplicate id "a" (first on line 2)'],
      warnings: [],
      taskCount: 0,
      readyCount: 0,
    });
  });

  it("prints a YAML error at its line", () => {
    const { errors } = lintBacklog("tasks:\n  - id: a\n   title: x\n", "b.yaml");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^b\.yaml:3: YAML does not parse: /);
  });
});
