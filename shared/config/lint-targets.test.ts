import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { repoPath } from "../../test/support/repo-root.ts";
import { formatProblem, lintTargets, type TargetFileText } from "./lint-targets.ts";

const SEED = readFileSync(repoPath("ops", "autonomy", "dev.yaml"), "utf8");

function file(target: string, edits: Record<string, string> = {}, name = `${target}.yaml`) {
  let text = SEED.replace("target_id: radix", `target_id: ${target}`).replace(
    "iangreen74/radix.git",
    `acme/${target}.git`,
  );
  for (const [from, to] of Object.entries(edits)) text = text.replace(from, to);
  return { name, text } satisfies TargetFileText;
}

const lint = (files: TargetFileText[]) => lintTargets(files, "configs").problems.map(formatProblem);

describe("lintTargets", () => {
  it("accepts files named for their targets, sorted", () => {
    const result = lintTargets([file("docs"), file("api")], "configs");
    expect(result.problems).toEqual([]);
    expect(result.targets.map((t) => t.target)).toEqual(["api", "docs"]);
  });

  it("refuses a file whose target_id is another target's, naming file and line", () => {
    expect(lint([file("docs", { "target_id: docs": "target_id: api" })])).toEqual([
      "configs/docs.yaml:1: target_id is api, but the file is named for docs: a ping for docs would read it",
    ]);
  });

  it("refuses two targets on one repository, however the URL is spelled", () => {
    const twin = file("docs-copy", { "acme/docs-copy.git": "ACME/Docs" });
    expect(lint([file("docs"), twin])).toEqual([
      "configs/docs.yaml:2: target_repo_url names the same repository as configs/docs-copy.yaml:2 (two targets would race on one repository's PRs)",
    ]);
  });

  it("refuses shared fields that disagree, naming both places", () => {
    const other = file("docs", {
      "control_plane_url: http://leviathan-control-plane:8000":
        "control_plane_url: http://elsewhere:8000",
    });
    const problems = lint([file("api"), other]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^configs\/docs\.yaml:11: control_plane_url is "http:\/\/elsewhere:8000", but configs\/api\.yaml:11 has "http:\/\/leviathan-control-plane:8000"/,
    );
    const namespace = file("web", { "worker_namespace: leviathan": "worker_namespace: other" });
    expect(lint([file("api"), namespace])[0]).toMatch(/^configs\/web\.yaml:13: worker_namespace/);
  });

  it("names each invalid field with its line, and a YAML error with its line", () => {
    const bad = file("docs", { "max_open_prs: 1": "max_open_prs: many" });
    expect(lint([bad])).toEqual([expect.stringMatching(/^configs\/docs\.yaml:5: max_open_prs: /)]);
    const broken = { name: "web.yaml", text: "target_id: web\n  bad: [indent\n" };
    expect(lint([broken])[0]).toMatch(/^configs\/web\.yaml:\d+: /);
  });

  it("refuses file names the tick would never read or that are no target name", () => {
    const problems = lint([
      file("docs", {}, "docs.yml"),
      file("Docs", {}, "Docs.yaml"),
      file("x".repeat(49)),
    ]);
    expect(problems).toHaveLength(3);
    expect(problems.find((p) => p.includes("docs.yml"))).toMatch(/never reads/);
    expect(problems.find((p) => p.includes("Docs.yaml"))).toMatch(/\[a-z0-9\]/);
    expect(problems.find((p) => p.includes("xxxx"))).toMatch(/at most 48 characters/);
  });

  it("refuses an empty directory", () => {
    expect(lint([])).toEqual(["configs/: holds no <target>.yaml file"]);
  });
});
