// Issue 6's figure: from `npm start -- --once` on an empty home to the PR's creation, beside the
// time the same change takes as git operations alone (clone --depth 1, commit, push by shell)
// against the same forge, in the same run.
import { execFile, spawn } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import { silentLogger } from "../support/store/store-helpers.ts";
import type { BenchSection } from "./bench-report.ts";
import { quantile } from "./bench-report.ts";

const execFileAsync = promisify(execFile);
const BIN = join(process.cwd(), "bin", "leviathan.js");

/** Milliseconds from spawning `leviathan start --once` to its "pull request opened" line. */
function timeToPullRequest(home: string): Promise<{ toPr: number; total: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let toPr: number | undefined;
    const child = spawn(process.execPath, [BIN, "start", "--once", "--json"], {
      env: { ...process.env, LEVIATHAN_HOME: home, PORT: "0", LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "ignore"],
    });
    let buffer = "";
    child.stdout.on("data", (chunk: Buffer) => {
      buffer += chunk.toString("utf8");
      if (toPr === undefined && buffer.includes('"kind":"pr"')) toPr = performance.now() - t0;
    });
    child.once("exit", (code) => {
      if (code !== 0 || toPr === undefined)
        reject(new Error(`start --once exited ${code} without a PR`));
      else resolve({ toPr, total: performance.now() - t0 });
    });
  });
}

/** The same change by shell: shallow clone, edit the backlog, commit, push a new branch. */
async function gitAlone(home: string, work: string, run: number): Promise<number> {
  const token = (await readFile(join(home, "forge.token"), "utf8")).trim();
  const forge = await startLocalForge({ root: join(home, "forge"), token, logger: silentLogger });
  const header = `http.extraHeader=Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
  const git = (args: string[], cwd: string) =>
    execFileAsync(
      "git",
      ["-c", header, "-c", "user.name=bench", "-c", "user.email=bench@local", ...args],
      {
        cwd,
        timeout: 120_000,
      },
    );
  try {
    const dir = join(work, `shell-${run}`);
    await mkdir(dir, { recursive: true });
    const t0 = performance.now();
    await git(
      [
        "clone",
        "--quiet",
        "--depth",
        "1",
        "--single-branch",
        "--branch",
        "main",
        forge.gitUrl("leviathan", "demo-target"),
        "repo",
      ],
      dir,
    );
    const repo = join(dir, "repo");
    const backlog = join(repo, ".leviathan", "backlog.yaml");
    await writeFile(backlog, `${await readFile(backlog, "utf8")}# shell run ${run}\n`);
    await git(["commit", "--quiet", "-am", "bench"], repo);
    await git(["push", "--quiet", "origin", `HEAD:refs/heads/bench/shell-${run}`], repo);
    return performance.now() - t0;
  } finally {
    await forge.close();
  }
}

export async function benchLocalOnce(context: {
  quick: boolean;
  workDir: string;
}): Promise<BenchSection> {
  const runs = context.quick ? 1 : 3;
  const toPr: number[] = [];
  const totals: number[] = [];
  const shell: number[] = [];
  for (let run = 0; run < runs; run++) {
    const home = await mkdtemp(join(context.workDir, "local-once-"));
    const measured = await timeToPullRequest(home);
    toPr.push(measured.toPr);
    totals.push(measured.total);
    shell.push(await gitAlone(home, context.workDir, run));
    await rm(home, { recursive: true, force: true });
  }
  const median = (xs: number[]) => `${(quantile(xs, 0.5) / 1000).toFixed(2)} s`;
  return {
    title: "local mode: npm start -- --once to a pull request",
    notes: [
      `${runs} run(s) from an empty LEVIATHAN_HOME each; medians. The figure includes starting the control plane,`,
      "the forge, worker and tick, the tick itself, and the attempt as a child process (node + tsx start-up).",
    ],
    rows: [
      {
        measure: "start --once → PR created",
        figure: median(toPr),
        baseline: `${median(shell)} git clone --depth 1 + commit + push by shell`,
        goal: "report",
      },
      {
        measure: "start --once, whole run (exit)",
        figure: median(totals),
        baseline: "",
        goal: "report",
      },
    ],
  };
}
