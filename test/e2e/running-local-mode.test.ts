// While `leviathan start` runs, other commands in the same place find its control plane through
// <home>/control-plane.url and control-plane.token; Ctrl-C (SIGINT) stops every part of it.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, expect, it } from "vitest";
import { BIN, E2E_TIMEOUT_MS, START_CWD, tempHome } from "./support.ts";

const execFileAsync = promisify(execFile);
let home: string;
let child: ChildProcess | undefined;

beforeEach(async () => {
  home = await tempHome();
});

afterEach(async () => {
  if (child && child.exitCode === null) child.kill("SIGKILL");
  await rm(home, { recursive: true, force: true });
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

it(
  "serves `leviathan summary` from the files it writes, and leaves nothing running after SIGINT",
  async () => {
    child = spawn(process.execPath, [BIN, "start", "--json"], {
      cwd: START_CWD,
      env: { ...process.env, LEVIATHAN_HOME: home, PORT: "0", LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => child!.once("exit", resolve));
    // Wait for the first PR: the loop has gone round once.
    let out = "";
    await new Promise<void>((resolve, reject) => {
      child!.stdout!.on("data", (chunk: Buffer) => {
        out += chunk.toString("utf8");
        if (out.includes('"kind":"result"')) resolve();
      });
      child!.once("exit", (code) =>
        reject(new Error(`start exited ${code} before its first result`)),
      );
    });

    expect((await stat(join(home, "control-plane.token"))).mode & 0o777).toBe(0o600);
    // It prints the console's address, and the console answers there without a token.
    const consoleLine = out
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { service?: string; url?: string })
      .find((line) => line.service === "console");
    expect(consoleLine?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(consoleLine!.url!, { signal: AbortSignal.timeout(10_000) });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await page.text()).toContain('src="/console/console.js"');
    const { stdout } = await execFileAsync(process.execPath, [BIN, "summary", "--json"], {
      env: { PATH: process.env.PATH, HOME: home, LEVIATHAN_HOME: home },
      timeout: 60_000,
    });
    const summary = JSON.parse(stdout);
    expect(summary.targets.demo.attempts_by_status).toEqual({ succeeded: 1 });
    expect(summary.targets.demo.open_prs).toHaveLength(1);

    const lock = JSON.parse(await readFile(join(home, "events", ".lock"), "utf8")) as {
      pid: number;
    };
    expect(alive(lock.pid)).toBe(true);
    child.kill("SIGINT");
    expect(await exited).toBe(0);
    // The control plane child stopped with it (its lock released), and no attempt is left behind.
    expect(alive(lock.pid)).toBe(false);
    await expect(stat(join(home, "events", ".lock"))).rejects.toMatchObject({ code: "ENOENT" });
    const jobs = (await readdir(join(home, "jobs"))).filter((name) => name.endsWith(".json"));
    expect(jobs.length).toBeGreaterThan(0);
    for (const name of jobs) {
      const state = JSON.parse(await readFile(join(home, "jobs", name), "utf8")) as { pid: number };
      expect(alive(state.pid)).toBe(false);
    }
  },
  E2E_TIMEOUT_MS,
);
