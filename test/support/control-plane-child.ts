// A real `node bin/leviathan.js control-plane` child process on a real directory, for the crash
// suite, the fuzz suite and the benchmarks: started with PORT=0, reached at the URL it prints.
import { type ChildProcess, spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");
export const LEVIATHAN_BIN = join(ROOT, "bin", "leviathan.js");

export interface ChildExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ControlPlaneChildOptions {
  dataDir: string;
  token: string;
  /** Default `warn`: one log line per request would slow a loaded child down. */
  logLevel?: string;
  /** Extra environment (PORT is 0 unless given here). */
  env?: Record<string, string>;
  /** The child is SIGKILLed after this long whatever happens, so no test leaves one behind. */
  lifetimeMs?: number;
  /** How long to wait for the "listening on" line; default 30 s. */
  readyTimeoutMs?: number;
  /** What to run instead of `bin/leviathan.js control-plane` (node arguments). */
  args?: string[];
}

export interface SpawnedChild {
  readonly process: ChildProcess;
  readonly pid: number;
  /** performance.now() when spawn() returned. */
  readonly spawnedAt: number;
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<ChildExit>;
  /** Sends the signal (default SIGKILL) unless the child is gone, and waits for its exit. */
  kill(signal?: NodeJS.Signals): Promise<ChildExit>;
}

export interface ControlPlaneChild extends SpawnedChild {
  /** The URL the child printed once its event store was open and recovered. */
  readonly url: string;
  /** performance.now() when that line arrived. */
  readonly readyAt: number;
}

const LISTENING = /listening on (http:\/\/\S+)/;

/** Starts the child and returns at once; nothing is awaited. */
export function spawnControlPlane(options: ControlPlaneChildOptions): SpawnedChild {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    CONTROL_PLANE_TOKEN: options.token,
    LEVIATHAN_DATA_DIR: options.dataDir,
    PORT: "0",
    LOG_LEVEL: options.logLevel ?? "warn",
    ...options.env,
  };
  const child = spawn(process.execPath, options.args ?? [LEVIATHAN_BIN, "control-plane"], {
    cwd: ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const spawnedAt = performance.now();
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    // Keep the tail only: a long-lived child can log a lot, and only the end explains a failure.
    err = (err + chunk).slice(-1_000_000);
  });
  const exited = new Promise<ChildExit>((resolve) => {
    child.on("close", (code, signal) => resolve({ code, signal }));
  });
  const guard = setTimeout(() => child.kill("SIGKILL"), options.lifetimeMs ?? 120_000);
  guard.unref();
  void exited.then(() => clearTimeout(guard));
  if (child.pid === undefined) throw new Error("could not spawn the control plane child");
  const pid = child.pid;
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  return {
    process: child,
    pid,
    spawnedAt,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill(signal: NodeJS.Signals = "SIGKILL") {
      if (!gone) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Starts the child and waits (bounded) for the line it prints once the store is recovered.
 * Rejects with the child's output if it exits first or does not get there in time.
 */
export async function startControlPlaneChild(
  options: ControlPlaneChildOptions,
): Promise<ControlPlaneChild> {
  const child = spawnControlPlane(options);
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  const url = await new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = child.stdout().match(LISTENING);
      if (!match) return false;
      finish();
      resolve(match[1]!);
      return true;
    };
    const onExit = (exit: ChildExit) => {
      if (check()) return;
      finish();
      reject(
        new Error(
          `the control plane exited before it was ready (${exitText(exit)})${outputOf(child)}`,
        ),
      );
    };
    const timer = setTimeout(() => {
      finish();
      void child.kill("SIGKILL");
      reject(new Error(`the control plane was not ready after ${timeoutMs} ms${outputOf(child)}`));
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      child.process.stdout?.off("data", check);
    };
    child.process.stdout?.on("data", check);
    void child.exited.then(onExit);
  });
  return Object.assign(child, { url, readyAt: performance.now() });
}

/** Runs the child until it exits by itself (a start-up that must fail), bounded. */
export async function runControlPlaneToExit(
  options: ControlPlaneChildOptions,
  timeoutMs = 30_000,
): Promise<ChildExit & { stdout: string; stderr: string }> {
  const child = spawnControlPlane(options);
  const timer = setTimeout(() => void child.kill("SIGKILL"), timeoutMs);
  const exit = await child.exited;
  clearTimeout(timer);
  return { ...exit, stdout: child.stdout(), stderr: child.stderr() };
}

/** VmRSS of a live process in bytes (Linux), undefined if it is gone or /proc is missing. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => undefined);
  const kb = status?.match(/^VmRSS:\s+(\d+)\s+kB/m)?.[1];
  return kb === undefined ? undefined : Number(kb) * 1024;
}

function exitText(exit: ChildExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`;
}

function outputOf(child: SpawnedChild): string {
  return `\nstdout: ${child.stdout().slice(-4_000)}\nstderr: ${child.stderr().slice(-4_000)}`;
}
