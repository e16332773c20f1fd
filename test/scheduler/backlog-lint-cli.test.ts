import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const BIN = fileURLToPath(new URL("../../bin/leviathan.js", import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function lint(args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, "backlog", "lint", ...args],
      { cwd, timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

const VALID = "tasks:\n  - id: a\n    title: A\n    ready: true\n    allowed_paths: [docs/]\n";

describe("leviathan backlog lint", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "leviathan-lint-"));
    await writeFile(join(dir, "valid.yaml"), VALID);
    await writeFile(join(dir, "warn.yaml"), `${VALID}    colour: blue\n`);
    await writeFile(join(dir, "task-error.yaml"), VALID.replace("ready: true", "ready: maybe"));
    await writeFile(join(dir, "dup.yaml"), `${VALID}  - id: a\n`);
    await mkdir(join(dir, ".leviathan"));
    await writeFile(join(dir, ".leviathan", "backlog.yaml"), VALID);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("exits 0 with a one-line OK summary for a valid file", async () => {
    const run = await lint(["valid.yaml"], dir);
    expect(run).toMatchObject({
      code: 0,
      stdout: "valid.yaml: OK, 1 task (1 ready), 0 warnings\n",
    });
  });

  it("exits 0 when there are only warnings, and prints them", async () => {
    const run = await lint(["warn.yaml"], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      "warn.yaml:6: task a: colour: unknown field, kept and ignored\n" +
        "warn.yaml: OK, 1 task (1 ready), 1 warning\n",
    );
  });

  it("exits 1 on a task's problem", async () => {
    const run = await lint(["task-error.yaml"], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      "task-error.yaml:4: task a: ready: must be true or false\n" +
        "task-error.yaml: 1 error, 0 warnings\n",
    );
  });

  it("exits 1 when the whole backlog is invalid", async () => {
    const run = await lint(["dup.yaml"], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('dup.yaml:6: tasks[1].id: duplicate id "a" (first on line 2)\n');
  });

  it("exits 1 for a missing file", async () => {
    const run = await lint(["nope.yaml"], dir);
    expect(run).toMatchObject({ code: 1, stdout: "nope.yaml: cannot read (file not found)\n" });
  });

  it("reads .leviathan/backlog.yaml by default", async () => {
    const run = await lint([], dir);
    expect(run).toMatchObject({
      code: 0,
      stdout: ".leviathan/backlog.yaml: OK, 1 task (1 ready), 0 warnings\n",
    });
  });

  it("refuses two files as a usage error", async () => {
    const run = await lint(["a.yaml", "b.yaml"], dir);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Usage: leviathan backlog lint [file]");
  });
});
