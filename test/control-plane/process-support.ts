// Runs `node bin/leviathan.js …` as a real child process and watches its output.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const BIN = join(ROOT, "bin", "leviathan.js");

export interface Child {
  process: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (signals as 128 + n are not expected here). */
  exited: Promise<number | null>;
}

export function runLeviathan(args: string[], env: Record<string, string>, cwd = ROOT): Child {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => resolve(code)),
  );
  // A test that fails half-way must not leave a server running.
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  timer.unref();
  exited.then(() => clearTimeout(timer));
  return { process: child, stdout: () => out, stderr: () => err, exited };
}

/** Bounded polling until the child prints what we wait for, or exits. */
export async function waitForOutput(
  child: Child,
  pattern: RegExp,
  stream: "stdout" | "stderr" = "stdout",
): Promise<RegExpMatchArray> {
  const deadline = Date.now() + 30_000;
  let exited = false;
  void child.exited.then(() => {
    exited = true;
  });
  for (;;) {
    const match = (stream === "stdout" ? child.stdout() : child.stderr()).match(pattern);
    if (match) return match;
    if (exited || Date.now() > deadline) {
      throw new Error(
        `no ${pattern} in ${stream} (${exited ? "exited" : "timed out"})\nstdout: ${child.stdout()}\nstderr: ${child.stderr()}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
