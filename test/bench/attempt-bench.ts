// The attempt's benchmark: one attempt on a generated repository of 10,000 files and
// a deep history (clone + execute + commit + push, then the PR), beside plain `git clone
// --depth 1` + the same change + commit + push run by shell, in the same run, against the same
// local forge. Runs alternate, so both see the same machine.
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { parseAttemptEnv } from "../../shared/attempt/attempt-env.ts";
import { runAttempt } from "../../shared/attempt/run-attempt.ts";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import { startControlPlane } from "../../shared/control-plane/server/start-control-plane.ts";
import { errorMessage } from "../../shared/errors/error-message.ts";
import { createGitHubForge } from "../../shared/forge/github/create-github-forge.ts";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import { gitEnvironment } from "../../shared/git/git-environment.ts";
import { type BenchSection, median, ms, printSection } from "./bench-report.ts";

const FILES = 10_000;
const OWNER = "bench";
const REPO = "big";
const TOKEN = "bench-token-0f3a9c";
const CP_TOKEN = "bench-cp-token-51e2";

export interface AttemptBenchOptions {
  quick: boolean;
  /** A folder for the data, removed by the caller; default a temp dir removed here. */
  workDir?: string;
}

/** For `test/bench/run.ts`: prints the section. */
export async function runAttemptBench(options: { quick: boolean }): Promise<void> {
  printSection(await benchAttempt(options));
}

export async function benchAttempt(options: AttemptBenchOptions): Promise<BenchSection> {
  const own = options.workDir === undefined;
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), "leviathan-attempt-bench-")));
  try {
    return await measure(options.quick, workDir);
  } finally {
    if (own) await rm(workDir, { recursive: true, force: true });
  }
}

async function measure(quick: boolean, workDir: string): Promise<BenchSection> {
  const commits = quick ? 300 : 3_000;
  const runs = quick ? 2 : 5;
  const silent = pino({ level: "silent" });
  const forgeRoot = join(workDir, "forge");
  const forge = await startLocalForge({ root: forgeRoot, token: TOKEN });
  const controlPlane = await startControlPlane({
    dataDir: join(workDir, "events"),
    token: CP_TOKEN,
    port: 0,
    host: "127.0.0.1",
    logger: silent,
  });
  try {
    const seed = join(workDir, "seed");
    await mkdir(join(seed, ".leviathan"), { recursive: true });
    await writeFile(join(seed, ".leviathan", "backlog.yaml"), "tasks: []\n");
    await forge.createRepository(OWNER, REPO, { fromDir: seed });
    const bare = join(forgeRoot, "repos", OWNER, `${REPO}.git`);
    const generated = performance.now();
    const { bytes } = await generateHistory(bare, commits, runs * 3);
    const generateMs = performance.now() - generated;

    const env = (attemptId: string, taskId: string) =>
      parseAttemptEnv({
        GITHUB_TOKEN: TOKEN,
        TARGET_NAME: "bench",
        TARGET_REPO_URL: forge.gitUrl(OWNER, REPO),
        TARGET_BRANCH: "main",
        TASK_ID: taskId,
        ATTEMPT_ID: attemptId,
        CONTROL_PLANE_URL: controlPlane.url,
        CONTROL_PLANE_TOKEN: CP_TOKEN,
        LEVIATHAN_WORKSPACE_DIR: join(workDir, "workspace"),
        GITHUB_API_URL: forge.apiUrl,
        ATTEMPT_NUMBER: "1",
        ATTEMPT_TIMEOUT_SECONDS: "900",
      });

    const baseline = await loadBaselineAttempt();
    const baselineGit: number[] = [];
    const attemptTotals: number[] = [];
    const attemptGit: number[] = [];
    const shellTotals: number[] = [];
    const localTotals: number[] = [];
    const stepTotals = new Map<string, number[]>();
    for (let run = 0; run < runs; run++) {
      // Alternate which goes first, so neither always finds the forge's caches warm.
      const order =
        run % 2 === 0 ? ["attempt", "baseline", "shell"] : ["shell", "baseline", "attempt"];
      for (const which of order) {
        const taskId = `task-${which === "attempt" ? run * 3 : which === "shell" ? run * 3 + 1 : run * 3 + 2}`;
        if (which === "shell") {
          shellTotals.push(await plainGitRun(workDir, forge.gitUrl(OWNER, REPO), taskId, run));
          // Context: the same by file://, without HTTP, to show what the transport costs.
          localTotals.push(await plainGitRun(workDir, `file://${bare}`, `${taskId}-local`, run));
          continue;
        }
        const implementation = which === "attempt" ? runAttempt : baseline.run;
        if (!implementation) continue;
        const attemptEnv = env(`attempt-${taskId}-0000${String(run).padStart(4, "0")}`, taskId);
        const lines: string[] = [];
        const logger = pino({ level: "info" }, { write: (line: string) => lines.push(line) });
        const started = performance.now();
        const result = await implementation(attemptEnv, {
          controlPlane: new ControlPlaneClient({ url: controlPlane.url, token: CP_TOKEN }),
          forge: createGitHubForge({
            apiUrl: attemptEnv.githubApiUrl,
            owner: OWNER,
            repo: REPO,
            token: TOKEN,
          }),
          logger,
        });
        if (!result.ok) throw new Error(`the ${which} attempt failed: ${JSON.stringify(result)}`);
        if (which === "baseline") {
          baselineGit.push(cloneToPush(lines, "commit and push"));
          continue;
        }
        attemptTotals.push(performance.now() - started);
        for (const [name, value] of stepsOf(lines)) {
          stepTotals.set(name, [...(stepTotals.get(name) ?? []), value]);
        }
        attemptGit.push(cloneToPush(lines, "check the pushed branch"));
      }
    }
    const shell = median(shellTotals);
    const git = median(attemptGit);
    const overhead = (git / shell - 1) * 100;
    const before = baselineGit.length > 0 ? median(baselineGit) : undefined;
    const copy = median(stepTotals.get("copy the checkout for the executor") ?? [Number.NaN]);
    const clone = median(stepTotals.get("clone") ?? [Number.NaN]);
    const stepText = [...stepTotals]
      .map(([name, values]) => `${name} ${ms(median(values), 0)}`)
      .join(", ");
    return {
      title: `Attempt: ${FILES.toLocaleString("en-US")} files, ${commits.toLocaleString("en-US")} commits of history`,
      notes: [
        `repository generated with git fast-import in ${ms(generateMs, 0)} (${(bytes / 1024 / 1024).toFixed(1)} MiB of file content); served by the local forge over git smart HTTP on loopback`,
        `${runs} runs of each, alternating; medians. Shell: git clone --depth 1 --single-branch, the same backlog edit, git add/commit, git push, token as the same header`,
        `attempt steps (median): ${stepText}`,
        baseline.note,
      ],
      rows: [
        {
          measure: "attempt: start of clone → end of push (all between counted)",
          figure: ms(git, 0),
          baseline: `plain git by shell: ${ms(shell, 0)}`,
          goal: "overhead ≤ 20%",
          met: overhead <= 20,
        },
        {
          measure: "overhead over plain git",
          figure: `${overhead.toFixed(0)}%`,
          baseline:
            before === undefined
              ? "the attempt before isolation: not measured"
              : `the attempt before isolation: ${ms(before, 0)}, ${((before / shell - 1) * 100).toFixed(0)}% over plain git`,
          goal: "",
        },
        {
          measure: `the executor's copy of the checkout (${FILES.toLocaleString("en-US")} files and its .git)`,
          figure: ms(copy, 0),
          baseline: `the attempt's own clone (no work tree): ${ms(clone, 0)}`,
          goal: "not a second clone",
        },
        {
          measure: "plain git by shell over file:// (no HTTP; context)",
          figure: ms(median(localTotals), 0),
          baseline: "",
          goal: "",
        },
        {
          measure: "whole attempt (+ events, PR lookup and creation, cleanup)",
          figure: ms(median(attemptTotals), 0),
          baseline: `plain git by shell: ${ms(shell, 0)}`,
          goal: "",
        },
      ],
    };
  } finally {
    await controlPlane.close();
    await forge.close();
  }
}

/**
 * Wall time from the start of the clone to the end of `lastStep` (the push, and for the split
 * attempt the check of the pushed branch), from the log lines' clock: everything between
 * counts, not just the named steps.
 */
function cloneToPush(lines: string[], lastStep: string): number {
  const parsed = lines.map(
    (line) => JSON.parse(line) as { time: number; step?: string; ms?: number },
  );
  const clone = parsed.find((line) => line.step === "clone");
  const push = parsed.find((line) => line.step === lastStep);
  if (!clone || !push || clone.ms === undefined)
    throw new Error("the attempt logged no clone or push");
  return push.time - (clone.time - clone.ms);
}

/** Step durations from the attempt's `<step>: done` log lines. */
function stepsOf(lines: string[]): Map<string, number> {
  const steps = new Map<string, number>();
  for (const line of lines) {
    const parsed = JSON.parse(line) as { step?: string; ms?: number; msg?: string };
    if (parsed.step && typeof parsed.ms === "number" && parsed.msg?.endsWith(": done")) {
      steps.set(parsed.step, parsed.ms);
    }
  }
  return steps;
}

/** The commit before the attempt was split into a trusted part and an isolated executor. */
const BEFORE_ISOLATION = "6a579ae8fda54cc4fdd38db3f07ae69847028cd8";

type RunAttempt = typeof runAttempt;

/**
 * The attempt as it was before the split, for a same-run baseline: its sources taken from git
 * history (`ATTEMPT_BENCH_BASELINE`, default the commit before the split) into `.bench/` inside
 * this repository, so they load this repository's node_modules. Missing history → not measured.
 */
async function loadBaselineAttempt(): Promise<{ run?: RunAttempt; note: string }> {
  const ref = process.env.ATTEMPT_BENCH_BASELINE ?? BEFORE_ISOLATION;
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const dir = join(root, ".bench", `baseline-${ref.slice(0, 12)}`);
  try {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    await new Promise<void>((resolve, reject) => {
      execFile(
        "/bin/sh",
        ["-c", `git -C '${root}' archive '${ref}' shared | tar -x -C '${dir}'`],
        { timeout: 60_000 },
        (error, _stdout, stderr) =>
          error ? reject(new Error(stderr || error.message)) : resolve(),
      );
    });
    const module = (await import(join(dir, "shared", "attempt", "run-attempt.ts"))) as {
      runAttempt: RunAttempt;
    };
    return {
      run: module.runAttempt,
      note: `baseline attempt: the sources of ${ref.slice(0, 12)} (before the split), same forge, same run`,
    };
  } catch (error) {
    return { note: `baseline attempt not measured: ${errorMessage(error).split("\n")[0]}` };
  }
}

/**
 * `main` becomes `commits` commits: the first adds FILES files in 100 folders, each later one
 * changes five of them. The backlog holds `tasks` ready backlog-propose tasks.
 */
async function generateHistory(
  bare: string,
  commits: number,
  tasks: number,
): Promise<{ bytes: number }> {
  const chunks: string[] = [];
  let bytes = 0;
  const blob = (path: string, content: string) => {
    bytes += Buffer.byteLength(content);
    chunks.push(`M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
  };
  const fileContent = (i: number, version: number) =>
    `# Page ${i}\n\nVersion ${version}. ${"Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(6)}\n`;
  const backlog = [
    "# generated for the attempt benchmark",
    "tasks:",
    ...Array.from({ length: tasks }, (_, i) =>
      [
        `  - id: task-${i}`,
        `    title: "Benchmark task ${i}"`,
        "    ready: true",
        `    allowed_paths: [docs/bench-${i}.md]`,
      ].join("\n"),
    ),
  ].join("\n");
  const time = 1_700_000_000;
  for (let c = 0; c < commits; c++) {
    const message = c === 0 ? "add the pages" : `edit pages (${c})`;
    chunks.push(
      `commit refs/heads/main\nmark :${c + 1}\ncommitter Bench <bench@example.test> ${time + c} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`,
    );
    if (c > 0) chunks.push(`from :${c}\n`);
    if (c === 0) {
      chunks.push("deleteall\n");
      for (let i = 0; i < FILES - 1; i++) {
        blob(`pages/${String(i % 100).padStart(2, "0")}/page-${i}.md`, fileContent(i, 0));
      }
    }
    if (c > 0) {
      for (let k = 0; k < 5; k++) {
        const i = (c * 5 + k) % (FILES - 1);
        blob(`pages/${String(i % 100).padStart(2, "0")}/page-${i}.md`, fileContent(i, c));
      }
    }
    // The backlog is the 10,000th file.
    if (c === 0) blob(".leviathan/backlog.yaml", `${backlog}\n`);
    chunks.push("\n");
  }
  await pipeInto("git", ["--git-dir", bare, "fast-import", "--force", "--quiet"], chunks.join(""));
  return { bytes };
}

function pipeInto(program: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      stdio: ["pipe", "ignore", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/dev/null" },
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`${program} ${args.join(" ")} exited ${code}: ${stderr}`));
    });
    child.stdin.end(input);
  });
}

/**
 * The baseline: what a person would type. The same write-back text the attempt would make
 * is produced by the shell (`printf >>`), so both push one changed file of the same size.
 */
async function plainGitRun(
  workDir: string,
  url: string,
  taskId: string,
  run: number,
): Promise<number> {
  const dir = join(workDir, `shell-${run}-${taskId}`);
  const branch = `shell/${taskId}`;
  const script = [
    "set -e",
    `git clone -q --depth 1 --single-branch --branch main --no-tags '${url}' '${dir}'`,
    `cd '${dir}'`,
    `printf '    status: completed\\n    last_attempt_id: attempt-x\\n    branch_name: ${branch}\\n    completed_at: "2030-01-01T00:00:00.000Z"\\n' >> .leviathan/backlog.yaml`,
    "git add .leviathan/backlog.yaml",
    `git commit -q -m 'leviathan: ${taskId}'`,
    `git push -q origin '+HEAD:refs/heads/${branch}'`,
  ].join("\n");
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    execFile(
      "/bin/sh",
      ["-c", script],
      { env: gitEnvironment(TOKEN), timeout: 300_000 },
      (error, _stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(),
    );
  });
  const elapsed = performance.now() - started;
  // The edit really happened, so the comparison is like for like.
  if (!(await readFile(join(dir, ".leviathan", "backlog.yaml"), "utf8")).includes(branch)) {
    throw new Error("the shell baseline did not make its change");
  }
  await rm(dir, { recursive: true, force: true });
  return elapsed;
}

// `node --import tsx test/bench/attempt-bench.ts [--quick]` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  await runAttemptBench({ quick: process.argv.includes("--quick") });
}
