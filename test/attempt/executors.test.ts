import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { AttemptFailure } from "../../shared/attempt/attempt-failure.ts";
import { backlogProposeExecutor } from "../../shared/attempt/executors/backlog-propose.ts";
import {
  createCommandExecutor,
  parseExecutorCommand,
} from "../../shared/attempt/executors/command.ts";
import { docsExecutor, documentPath } from "../../shared/attempt/executors/docs.ts";
import { executorNameFor, selectExecutor } from "../../shared/attempt/executors/select-executor.ts";
import type { Executor, ExecutorTask } from "../../shared/attempt/executors/types.ts";
import { eventually, processEnded, shellScript, taskFromYaml } from "./executor-fixtures.ts";
import { quietLogger, removeTempDirs, tempDir } from "./git-fixtures.ts";

afterAll(removeTempDirs);

const DOC_TASK = taskFromYaml(`
  - id: getting-started-doc
    title: "Write the getting-started guide"
    ready: true
    allowed_paths: [docs/getting-started.md]
    description: "A short guide for new contributors."
    acceptance_criteria:
      - "docs/getting-started.md exists"
      - "Nothing outside docs/getting-started.md changes"
`);

function inAnHour(): Date {
  return new Date(Date.now() + 3_600_000);
}

async function run(executor: Executor, dir: string, task: ExecutorTask, deadline = inAnHour()) {
  return executor.run({ dir, task, deadline, logger: quietLogger });
}

async function failureOf(promise: Promise<unknown>): Promise<AttemptFailure> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (error instanceof AttemptFailure) return error;
  throw new Error(`expected an AttemptFailure, got ${String(error)}`);
}

function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

describe("backlog-propose", () => {
  it("changes nothing: the write-back is the whole change", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "README.md"), "r\n");
    await run(backlogProposeExecutor, dir, DOC_TASK);
    expect(listTree(dir)).toEqual(["README.md"]);
  });
});

describe("docs", () => {
  it("writes the first allowed markdown file from title, description and criteria", async () => {
    const dir = tempDir();
    await run(docsExecutor, dir, DOC_TASK);
    expect(listTree(dir)).toEqual(["docs", "docs/getting-started.md"]);
    expect(readFileSync(join(dir, "docs/getting-started.md"), "utf8")).toBe(
      [
        "# Write the getting-started guide",
        "",
        "A short guide for new contributors.",
        "",
        "## Acceptance criteria",
        "",
        "- docs/getting-started.md exists",
        "- Nothing outside docs/getting-started.md changes",
        "",
      ].join("\n"),
    );
  });

  it("picks a .md file before a folder, else <first folder>/<task id>.md, else fails", () => {
    const withPaths = (paths: string[]) => ({ ...DOC_TASK, allowed_paths: paths });
    expect(documentPath(withPaths(["docs/guides/", "docs/x.md"]))).toBe("docs/x.md");
    expect(documentPath(withPaths(["src/app.ts", "docs/guides/"]))).toBe(
      "docs/guides/getting-started-doc.md",
    );
    expect(documentPath(withPaths(["./docs/../docs/a.MD"]))).toBe("docs/a.MD");
    expect(() => documentPath(withPaths(["../outside.md", ".leviathan/backlog.yaml"]))).toThrow(
      AttemptFailure,
    );
  });

  it("appends to an existing document once, keeping what was there", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "docs"));
    writeFileSync(join(dir, "docs/getting-started.md"), "# Existing\n\nKeep me.\n");
    await run(docsExecutor, dir, DOC_TASK);
    await run(docsExecutor, dir, DOC_TASK);
    const text = readFileSync(join(dir, "docs/getting-started.md"), "utf8");
    expect(text.startsWith("# Existing\n\nKeep me.\n\n## Write the getting-started guide\n")).toBe(
      true,
    );
    expect(text.split("## Write the getting-started guide").length).toBe(2);
    expect(text).toContain("### Acceptance criteria");
  });

  it("refuses to write through a symlinked folder, and writes nothing outside", async () => {
    const dir = tempDir();
    const outside = tempDir();
    symlinkSync(outside, join(dir, "docs"));
    const failure = await failureOf(run(docsExecutor, dir, DOC_TASK));
    expect(failure.reason).toBe("scope_violation");
    expect(failure.violations).toEqual([
      { path: "docs/getting-started.md", reason: "lies under the symbolic link docs" },
    ]);
    expect(listTree(outside)).toEqual([]);
  });
});

describe("command", () => {
  const TASK = taskFromYaml(`
  - id: cmd-task
    title: Command task
    ready: true
    allowed_paths: [docs/]
    owner: kept-as-written
`);
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  it("runs in the checkout with a scrubbed environment and the task as JSON outside the checkout", async () => {
    process.env.GITHUB_TOKEN = "test-token-shouldNeverReachTheExecutor01";
    process.env.CONTROL_PLANE_TOKEN = "cp-shouldNeverReachTheExecutor02";
    process.env.MY_API_SECRET = "secret-shouldNeverReach03";
    process.env.DB_PASSWORD = "password-shouldNeverReach04";
    process.env.npm_config_auth_token = "lowercase-token-shouldNeverReach05";
    process.env.HARMLESS_SETTING = "visible";
    const dir = tempDir();
    const report = join(tempDir(), "report");
    const script = shellScript(
      [
        `env > '${report}.env'`,
        `pwd > '${report}.pwd'`,
        `cat "$LEVIATHAN_TASK_FILE" > '${report}.task'`,
        `echo "$LEVIATHAN_TASK_FILE" > '${report}.taskfile'`,
        "echo written > docs-output.md",
      ].join("\n"),
    );
    const executor = createCommandExecutor({
      command: [script],
      passEnv: ["HARMLESS_SETTING", "MY_API_SECRET", "GITHUB_TOKEN"],
    });
    await run(executor, dir, TASK);

    const env = readFileSync(`${report}.env`, "utf8");
    const names = env
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => line.slice(0, line.indexOf("=")));
    expect(names.filter((name) => /TOKEN|SECRET|PASSWORD/i.test(name))).toEqual([]);
    for (const value of [
      "test-token-shouldNeverReachTheExecutor01",
      "cp-shouldNeverReachTheExecutor02",
      "secret-shouldNeverReach03",
      "password-shouldNeverReach04",
      "lowercase-token-shouldNeverReach05",
    ]) {
      expect(env).not.toContain(value);
    }
    expect(env).toContain("HARMLESS_SETTING=visible");
    expect(env).toContain("GIT_OPTIONAL_LOCKS=0");
    expect(names).toEqual(expect.arrayContaining(["PATH", "HOME", "LANG", "LEVIATHAN_TASK_FILE"]));

    expect(readFileSync(`${report}.pwd`, "utf8").trim()).toBe(dir);
    expect(readFileSync(join(dir, "docs-output.md"), "utf8")).toBe("written\n");
    const taskFile = readFileSync(`${report}.taskfile`, "utf8").trim();
    expect(taskFile.startsWith(dir)).toBe(false);
    expect(JSON.parse(readFileSync(`${report}.task`, "utf8"))).toEqual({
      id: "cmd-task",
      title: "Command task",
      ready: true,
      allowed_paths: ["docs/"],
      owner: "kept-as-written",
    });
    // The task file and the executor's HOME are removed afterwards.
    expect(existsSync(taskFile)).toBe(false);
  });

  it("fails with executor_failed and the redacted end of the output on a non-zero exit", async () => {
    process.env.SOME_SERVICE_TOKEN = "tok-printed-by-accident-123456";
    const script = shellScript(
      [
        'i=0; while [ $i -lt 2000 ]; do echo "noise line $i"; i=$((i+1)); done',
        'echo "leaking tok-printed-by-accident-123456 here"',
        'echo "boom: the real reason" >&2',
        "exit 3",
      ].join("\n"),
    );
    const failure = await failureOf(
      run(createCommandExecutor({ command: [script] }), tempDir(), TASK),
    );
    expect(failure.reason).toBe("executor_failed");
    expect(failure.failureKind).toBe("task");
    expect(failure.summary).toContain("exited with code 3");
    expect(failure.summary).toContain("boom: the real reason");
    expect(failure.summary).toContain("leaking [redacted] here");
    expect(failure.summary).not.toContain("tok-printed-by-accident-123456");
    expect(failure.summary).not.toContain("noise line 0\n");
  });

  it("kills the whole process group at the deadline, SIGKILL when SIGTERM is ignored → timeout", async () => {
    const pidFile = join(tempDir(), "pid");
    const script = shellScript(
      [`trap '' TERM`, `sleep 1000 &`, `echo $! > '${pidFile}'`, "wait", "wait"].join("\n"),
    );
    const executor = createCommandExecutor({ command: [script], killGraceMs: 200 });
    const failure = await failureOf(run(executor, tempDir(), TASK, new Date(Date.now() + 3_000)));
    expect(failure.reason).toBe("timeout");
    expect(failure.failureKind).toBe("task");
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(await eventually(() => processEnded(pid))).toBe(true);
  });

  it("after a successful exit, stops what the command left running in its group", async () => {
    const pidFile = join(tempDir(), "pid");
    const script = shellScript([`sleep 1000 &`, `echo $! > '${pidFile}'`, "exit 0"].join("\n"));
    await run(createCommandExecutor({ command: [script] }), tempDir(), TASK);
    const pid = Number(readFileSync(pidFile, "utf8"));
    expect(await eventually(() => processEnded(pid))).toBe(true);
  });

  it("does not start after the deadline, and reports a program that cannot start", async () => {
    const marker = join(tempDir(), "ran");
    const script = shellScript(`touch '${marker}'`);
    const late = await failureOf(
      run(createCommandExecutor({ command: [script] }), tempDir(), TASK, new Date(Date.now() - 1)),
    );
    expect(late.reason).toBe("timeout");
    expect(existsSync(marker)).toBe(false);

    const missing = await failureOf(
      run(createCommandExecutor({ command: ["/nonexistent/leviathan-agent"] }), tempDir(), TASK),
    );
    expect(missing.reason).toBe("executor_failed");
    expect(missing.summary).toMatch(/could not start \/nonexistent\/leviathan-agent/);
  });

  it("reads LEVIATHAN_EXECUTOR_COMMAND as a JSON array of strings", () => {
    expect(parseExecutorCommand('["agent", "--task", "x y"]')).toEqual(["agent", "--task", "x y"]);
    for (const bad of [undefined, "", "agent --task", "[]", '[""]', "[1]", '{"a":1}']) {
      expect(() => parseExecutorCommand(bad)).toThrow(AttemptFailure);
    }
  });
});

describe("choosing an executor", () => {
  it("takes the task's executor, else the default, else backlog-propose", () => {
    expect(executorNameFor({ raw: {}, executor: "docs" }, "command")).toBe("docs");
    expect(executorNameFor({ raw: {} }, "command")).toBe("command");
    expect(executorNameFor({ raw: {} })).toBe("backlog-propose");
    expect(() => executorNameFor({ raw: {} }, "rm-rf")).toThrow(AttemptFailure);
    expect(selectExecutor("docs").name).toBe("docs");
    expect(selectExecutor("command", { command: ["true"] }).name).toBe("command");
    expect(() => selectExecutor("command")).toThrow(/LEVIATHAN_EXECUTOR_COMMAND/);
  });
});
