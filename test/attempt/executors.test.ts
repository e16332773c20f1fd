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
  outcomeFailure,
  parseExecutorCommand,
  runCommand,
} from "../../shared/attempt/executors/command.ts";
import { docsExecutor, documentPath } from "../../shared/attempt/executors/docs.ts";
import {
  builtInExecutor,
  executorNameFor,
} from "../../shared/attempt/executors/select-executor.ts";
import type { Executor, ExecutorTask } from "../../shared/attempt/executors/types.ts";
import type { ExecutorIsolation } from "../../shared/attempt/isolation/executor-isolation.ts";
import {
  createExecutorArea,
  executorAreaAt,
} from "../../shared/attempt/workspace/executor-area.ts";
import { pidAlive, waitFor } from "../support/wait-for.ts";
import { shellScript, taskFromYaml } from "./executor-fixtures.ts";
import { openDir, quietLogger, removeTempDirs, tempDir } from "./git-fixtures.ts";
import { testIsolation } from "./workspace-fixtures.ts";

/** Live processes (not zombies) whose command line contains `needle`. */
async function processesNaming(needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (argv.includes(needle) && pidAlive(Number(pid))) found.push(`${pid}: ${argv}`);
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

/** The executor as the attempt's own user, in its own process group: `executor_isolation: none`. */
const NONE: ExecutorIsolation = {
  isolation: "none",
  wrap: (argv) => [...argv],
  handOver: { kind: "none" },
  sweep: { kind: "process-group" },
};

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
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  /** An executor's area of its own, handed over as the isolation says. */
  async function area(isolation: ExecutorIsolation) {
    const made = executorAreaAt(join(openDir("leviathan-area-"), "area"));
    await createExecutorArea(made, isolation.handOver, {
      id: "cmd-task",
      title: "Command task",
      owner: "kept-as-written",
    });
    return made;
  }

  async function runIn(
    isolation: ExecutorIsolation,
    script: string,
    options: { deadline?: Date; executorEnv?: Record<string, string>; secrets?: string[] } = {},
  ) {
    const where = await area(isolation);
    const outcome = await runCommand({
      command: [script],
      area: where,
      isolation,
      ...(options.executorEnv ? { executorEnv: options.executorEnv } : {}),
      deadline: options.deadline ?? inAnHour(),
      logger: quietLogger,
      secrets: options.secrets ?? [],
      killGraceMs: 200,
    });
    return { where, outcome, failure: outcomeFailure(script, outcome) };
  }

  it("runs in its checkout with only its own environment, HOME, TMPDIR and the task file", async () => {
    process.env.GITHUB_TOKEN = "test-token-shouldNeverReachTheExecutor01";
    process.env.CONTROL_PLANE_TOKEN = "cp-shouldNeverReachTheExecutor02";
    process.env.HARMLESS_SETTING = "not passed either";
    const report = join(openDir(), "report");
    const script = shellScript(
      [
        `env > '${report}.env'`,
        `pwd > '${report}.pwd'`,
        `id -u > '${report}.uid'`,
        `cat "$LEVIATHAN_TASK_FILE" > '${report}.task'`,
        "echo written > docs-output.md",
      ].join("\n"),
    );
    const isolation = await testIsolation();
    const { where, failure } = await runIn(isolation, script, {
      executorEnv: { MODEL_API_KEY: "its-own-key" },
    });
    expect(failure).toBeNull();

    const env = readFileSync(`${report}.env`, "utf8");
    const names = env
      .split("\n")
      .filter((line) => /^[A-Za-z_][A-Za-z0-9_]*=/.test(line))
      .map((line) => line.slice(0, line.indexOf("=")));
    expect(names.filter((name) => /TOKEN/.test(name))).toEqual([]);
    expect(env).not.toContain("shouldNeverReach");
    expect(env).not.toContain("HARMLESS_SETTING");
    expect(env).toContain("MODEL_API_KEY=its-own-key");
    expect(env).toContain(`HOME=${where.home}`);
    expect(env).toContain(`TMPDIR=${where.tmp}`);
    expect(env).toContain(`LEVIATHAN_TASK_FILE=${where.taskFile}`);
    expect(readFileSync(`${report}.pwd`, "utf8").trim()).toBe(where.checkout);
    expect(readFileSync(`${report}.uid`, "utf8").trim()).toBe("65534");
    expect(readFileSync(join(where.checkout, "docs-output.md"), "utf8")).toBe("written\n");
    expect(JSON.parse(readFileSync(`${report}.task`, "utf8"))).toEqual({
      id: "cmd-task",
      title: "Command task",
      owner: "kept-as-written",
    });
  });

  it("fails with executor_failed and the redacted end of the output on a non-zero exit", async () => {
    const script = shellScript(
      [
        'i=0; while [ $i -lt 2000 ]; do echo "noise line $i"; i=$((i+1)); done',
        'echo "leaking tok-printed-by-accident-123456 here"',
        'echo "boom: the real reason" >&2',
        "exit 3",
      ].join("\n"),
    );
    const { failure } = await runIn(await testIsolation(), script, {
      secrets: ["tok-printed-by-accident-123456"],
    });
    expect(failure?.reason).toBe("executor_failed");
    expect(failure?.failureKind).toBe("task");
    expect(failure?.summary).toContain("exited with code 3");
    expect(failure?.summary).toContain("boom: the real reason");
    expect(failure?.summary).toContain("leaking [redacted] here");
    expect(failure?.summary).not.toContain("tok-printed-by-accident-123456");
    expect(failure?.summary).not.toContain("noise line 0\n");
  });

  it.each([
    ["isolated", testIsolation],
    ["not isolated", async () => NONE],
  ] as const)(
    "%s: stops it at the deadline, SIGKILL when SIGTERM is ignored → timeout",
    async (_, isolation) => {
      const pidFile = join(openDir(), "pid");
      const script = shellScript(
        [`trap '' TERM`, `sleep 1000 &`, `echo $! > '${pidFile}'`, "wait", "wait"].join("\n"),
      );
      const { failure } = await runIn(await isolation(), script, {
        deadline: new Date(Date.now() + 3_000),
      });
      expect(failure?.reason).toBe("timeout");
      expect(failure?.failureKind).toBe("task");
      const pid = Number(readFileSync(pidFile, "utf8"));
      // In a PID namespace the number is the namespace's own: it says nothing about this one.
      if (isolation === testIsolation) return;
      await waitFor(() => !pidAlive(pid), "the command's child to end");
    },
  );

  it("not isolated: after a successful exit, stops what the command left running in its group", async () => {
    const pidFile = join(openDir(), "pid");
    const script = shellScript([`sleep 1000 &`, `echo $! > '${pidFile}'`, "exit 0"].join("\n"));
    await runIn(NONE, script);
    const pid = Number(readFileSync(pidFile, "utf8"));
    await waitFor(() => !pidAlive(pid), "the command's child to end");
  });

  it("isolated: nothing it started, setsid included, outlives it", async () => {
    const out = openDir();
    const script = shellScript(
      [
        `setsid sh -c 'while true; do date +%s%N >> ${out}/beat; sleep 0.05; done' &`,
        `setsid sh -c 'trap "" TERM HUP; sleep 1000' &`,
        `while [ ! -s ${out}/beat ]; do sleep 0.01; done`,
        "exit 0",
      ].join("\n"),
    );
    const { failure } = await runIn(await testIsolation(), script);
    expect(failure).toBeNull();
    // No process whose command line names this test's folder is left: nothing can write it.
    expect(await processesNaming(out)).toEqual([]);
  });

  it("does not start after the deadline, and reports a program that cannot start", async () => {
    const marker = join(openDir(), "ran");
    const script = shellScript(`touch '${marker}'`);
    const late = await runIn(await testIsolation(), script, { deadline: new Date(Date.now() - 1) });
    expect(late.failure?.reason).toBe("timeout");
    expect(existsSync(marker)).toBe(false);

    const missing = await runIn(NONE, "/nonexistent/leviathan-agent");
    expect(missing.failure?.reason).toBe("executor_failed");
    expect(missing.failure?.summary).toMatch(/could not start \/nonexistent\/leviathan-agent/);
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
    expect(builtInExecutor("docs").name).toBe("docs");
    expect(builtInExecutor("backlog-propose").name).toBe("backlog-propose");
  });
});
