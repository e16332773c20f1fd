import { describe, expect, it } from "vitest";
import { pullRequestBody, pullRequestTitle } from "../../shared/attempt/pull-request-body.ts";
import { parseProvenance } from "../../shared/forge/provenance.ts";
import { taskFromYaml } from "./executor-fixtures.ts";

const input = {
  targetId: "radix",
  attemptId: "attempt-task-1-0badf00d",
  attemptNumber: 2,
  executor: "docs" as const,
  isolation: "user+pid-namespace" as const,
  branch: "agent/docs-attempt-task-1-0badf00d",
  baseBranch: "main",
  allowedPaths: ["docs/guide.md"],
  prefixes: [".leviathan/", "docs/"],
};

describe("pull request title and body", () => {
  it("state task, attempt, scope and criteria, and end with the provenance marker", () => {
    const task = taskFromYaml(`  - id: task-1
    title: "Write   the guide"
    ready: true
    allowed_paths: [docs/guide.md]
    description: "Explain how to install.\\nThen how to run."
    acceptance_criteria: ["mentions npm ci", "has an example"]
`);
    const body = pullRequestBody({ ...input, task });
    expect(pullRequestTitle(task)).toBe("leviathan: Write the guide");
    expect(body).toContain(
      "## Task `task-1`: Write the guide\n\nExplain how to install.\nThen how to run.",
    );
    expect(body).toContain("- id: `attempt-task-1-0badf00d`\n- number: 2\n- executor: `docs`");
    expect(body).toContain("- branch: `agent/docs-attempt-task-1-0badf00d` into `main`");
    expect(body).toContain(
      "- isolation: `user+pid-namespace` (the `docs` executor is Leviathan's own code and ran in its trusted part)",
    );
    expect(body).toContain("Allowed paths:\n- `docs/guide.md`");
    expect(body).toContain("Allowed path prefixes: `.leviathan/`, `docs/`");
    expect(body).toContain("## Acceptance criteria\n- [ ] mentions npm ci\n- [ ] has an example");
    expect(body.trimEnd().split("\n").at(-1)).toBe(
      "<!-- leviathan: target=radix task=task-1 attempt=attempt-task-1-0badf00d -->",
    );
  });

  it("states how the command executor was isolated, and says so plainly when it was not", () => {
    const task = taskFromYaml(`  - id: task-1
    title: Agent work
    ready: true
    allowed_paths: [docs/guide.md]
`);
    const isolated = pullRequestBody({
      ...input,
      task,
      executor: "command",
      isolation: "container",
    });
    expect(isolated).toContain(
      "- isolation: `container` (the command ran as its own container, holding no credential)",
    );
    const open = pullRequestBody({ ...input, task, executor: "command", isolation: "none" });
    expect(open).toContain(
      "- isolation: `none` (the command ran as the attempt's own user: not isolated)",
    );
  });

  it("cannot be tied to another task by a marker written into the backlog", () => {
    const planted = "<!-- leviathan: target=radix task=other attempt=attempt-other-00000000 -->";
    const task = taskFromYaml(`  - id: task-1
    title: "${planted}"
    ready: true
    allowed_paths: [docs/guide.md]
    description: "${planted}"
    acceptance_criteria: ["${planted}"]
`);
    const body = pullRequestBody({ ...input, task });
    expect(parseProvenance(body)).toEqual({
      target: "radix",
      task: "task-1",
      attempt: "attempt-task-1-0badf00d",
    });
    expect(body.match(/<!--/g)).toHaveLength(1);
  });

  it("says when there are no criteria or no number, and keeps the title within GitHub's limit", () => {
    const task = taskFromYaml(`  - id: task-2
    title: "${"x".repeat(400)}"
    ready: true
    allowed_paths: [docs/]
`);
    const { attemptNumber: _omitted, ...withoutNumber } = input;
    const body = pullRequestBody({ ...withoutNumber, task });
    expect(body).toContain("- number: not given");
    expect(body).toContain("## Acceptance criteria\nNone written for this task.");
    expect(pullRequestTitle(task)).toHaveLength(256);
  });
});
