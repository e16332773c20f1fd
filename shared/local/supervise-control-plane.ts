import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { projectRoot } from "../fs/project-root.ts";
import type { Logger } from "../log/logger.ts";

export interface SupervisorOptions {
  eventsDir: string;
  token: string;
  /** 0 picks a free port (tests); local mode uses `PORT`, default 8000. */
  port: number;
  logger: Logger;
  /** Each time a (re)started child is listening. */
  onListening: (url: string) => void | Promise<void>;
  /** Gives up after this many restarts within `windowMs`: a crash loop is an error, not a state. */
  maxRestarts?: number;
  windowMs?: number;
  startTimeoutMs?: number;
}

export interface SupervisedControlPlane {
  readonly url: string;
  readonly restarts: number;
  /** Resolves when the supervisor gave up (crash loop); never resolves otherwise. */
  readonly failed: Promise<Error>;
  stop(): Promise<void>;
}

const BIN = join(projectRoot(), "bin", "leviathan.js");
const LISTENING = /control plane listening on (\S+)/;

/**
 * Runs `leviathan control-plane` as a child process and restarts it when it dies:
 * the store is the single writer's, so the child owns it and a crash costs nothing acknowledged.
 * With a fixed port the URL survives restarts; with port 0 the new URL is reported again.
 */
export async function superviseControlPlane(
  options: SupervisorOptions,
): Promise<SupervisedControlPlane> {
  const maxRestarts = options.maxRestarts ?? 5;
  const windowMs = options.windowMs ?? 60_000;
  const restartsAt: number[] = [];
  let child: ChildProcess | undefined;
  let url = "";
  let restarts = 0;
  let stopping = false;
  let giveUp: (error: Error) => void = () => {};
  const failed = new Promise<Error>((resolve) => {
    giveUp = resolve;
  });

  const start = async (): Promise<void> => {
    const started = spawnChild(options);
    child = started.child;
    url = await started.listening;
    await options.onListening(url);
    started.child.once("exit", (code, signal) => {
      // Exit 0 is a requested shutdown (Ctrl-C reaches the whole process group): not a crash.
      if (stopping || code === 0) return;
      options.logger.warn({ code, signal }, "control plane exited; restarting it");
      const now = Date.now();
      restartsAt.push(now);
      while (restartsAt.length > 0 && restartsAt[0]! < now - windowMs) restartsAt.shift();
      if (restartsAt.length > maxRestarts) {
        giveUp(
          new Error(
            `the control plane died ${restartsAt.length} times within ${windowMs / 1000} s; giving up`,
          ),
        );
        return;
      }
      restarts++;
      start().catch((error: Error) => giveUp(error));
    });
  };
  await start();

  return {
    get url() {
      return url;
    },
    get restarts() {
      return restarts;
    },
    failed,
    async stop() {
      stopping = true;
      const current = child;
      if (!current || current.exitCode !== null || current.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => current.once("exit", () => resolve()));
      current.kill("SIGTERM");
      const timer = setTimeout(() => current.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function spawnChild(options: SupervisorOptions): {
  child: ChildProcess;
  listening: Promise<string>;
} {
  const child = spawn(process.execPath, [BIN, "control-plane"], {
    env: {
      ...process.env,
      PORT: String(options.port),
      LEVIATHAN_DATA_DIR: options.eventsDir,
      CONTROL_PLANE_TOKEN: options.token,
      LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4000);
  });
  const listening = new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new Error(
          `the control plane did not start within ${(options.startTimeoutMs ?? 30_000) / 1000} s`,
        ),
      );
    }, options.startTimeoutMs ?? 30_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const match = LISTENING.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!.replace(/\/$/, ""));
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      const last =
        stderr
          .trim()
          .split("\n")
          .filter((l) => !l.startsWith("{"))
          .at(-1) ?? "";
      reject(
        new Error(
          `the control plane exited with code ${code} before it listened${last ? `: ${last}` : ""}`,
        ),
      );
    });
  });
  return { child, listening };
}
