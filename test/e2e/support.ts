// End-to-end support: `leviathan start --once` as a real child process over a real home folder,
// and short-lived access to what it leaves behind (the forge's repositories, the event store).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import { startControlPlane } from "../../shared/control-plane/server/start-control-plane.ts";
import { startLocalForge } from "../../shared/forge/local/start-local-forge.ts";
import type { LocalForge } from "../../shared/forge/local/types.ts";
import { REPO_ROOT, repoPath } from "../support/repo-root.ts";
import { silentLogger } from "../support/store/store-helpers.ts";

export const BIN = repoPath("bin", "leviathan.js");

/**
 * Where `leviathan start` runs: the clone, as a newcomer runs `npm start` (its default config,
 * `ops/autonomy/local.yaml`, is relative to it), but always with a LEVIATHAN_HOME of the test's
 * own, so the clone's `.data/` is never read.
 */
export const START_CWD = REPO_ROOT;

/** Several real processes per test on a 2-core machine shared with the rest of the suite. */
export const E2E_TIMEOUT_MS = 240_000;

export interface StartRun {
  code: number | null;
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

export async function tempHome(): Promise<string> {
  return mkdtemp(join(tmpdir(), "leviathan-e2e-"));
}

/** A port free right now (the control plane must keep one across its restarts). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export function spawnStart(
  home: string,
  env: NodeJS.ProcessEnv = {},
): {
  child: ChildProcess;
  done: Promise<StartRun>;
  onLine(listener: (line: Record<string, unknown>) => void): void;
} {
  const child = spawn(process.execPath, [BIN, "start", "--once", "--json"], {
    cwd: START_CWD,
    env: { ...process.env, LEVIATHAN_HOME: home, PORT: "0", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Array<Record<string, unknown>> = [];
  const listeners: Array<(line: Record<string, unknown>) => void> = [];
  let buffer = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    buffer += chunk.toString("utf8");
    for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
      const text = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (!text.trim()) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      lines.push(line);
      for (const listener of listeners) listener(line);
    }
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const done = new Promise<StartRun>((resolve) => {
    child.once("exit", (code) => resolve({ code, lines, stderr }));
  });
  return { child, done, onLine: (listener) => listeners.push(listener) };
}

export function runStart(home: string, env: NodeJS.ProcessEnv = {}): Promise<StartRun> {
  return spawnStart(home, env).done;
}

export function decisionOf(run: StartRun): Record<string, unknown> | undefined {
  return run.lines.find((l) => l.kind === "tick")?.decision as Record<string, unknown> | undefined;
}

export async function forgeToken(home: string): Promise<string> {
  return (await readFile(join(home, "forge.token"), "utf8")).trim();
}

/** The home's forge, started on its folder for as long as `use` runs (no `start` may be running). */
export async function withForge<T>(
  home: string,
  use: (forge: LocalForge, token: string) => Promise<T>,
): Promise<T> {
  const token = await forgeToken(home);
  const forge = await startLocalForge({ root: join(home, "forge"), token, logger: silentLogger });
  try {
    return await use(forge, token);
  } finally {
    await forge.close();
  }
}

/** The home's control plane, in this process, for as long as `use` runs. */
export async function withControlPlane<T>(
  home: string,
  use: (client: ControlPlaneClient, url: string, token: string) => Promise<T>,
): Promise<T> {
  const token = (await readFile(join(home, "control-plane.token"), "utf8")).trim();
  const running = await startControlPlane({
    dataDir: join(home, "events"),
    token,
    port: 0,
    host: "127.0.0.1",
    logger: silentLogger,
  });
  try {
    return await use(new ControlPlaneClient({ url: running.url, token }), running.url, token);
  } finally {
    await running.close();
  }
}
