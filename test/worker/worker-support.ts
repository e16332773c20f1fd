import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CloudEvent, HTTP, type Message } from "cloudevents";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import { attemptEventId } from "../../shared/events/ids.ts";
import type { AttemptRequest } from "../../shared/events/types.ts";
import type { ProcessJobState } from "../../shared/jobs/process/job-state-file.ts";
import { attemptRequestedEvent } from "../../shared/scheduler/scheduler-events.ts";
import { startTestControlPlane, type TestControlPlane } from "../control-plane/support.ts";
import { waitFor } from "../support/wait-for.ts";

export const TOKEN = "cp-worker-test-token-0123456789";
export const GITHUB_TOKEN = "test-token-worker_test_0123456789abcdef";
const BIN = fileURLToPath(new URL("../../bin/leviathan.js", import.meta.url));
const SEED = fileURLToPath(new URL("../../ops/autonomy/dev.yaml", import.meta.url));

/** A real control plane on loopback whose token is the worker's: it answers the worker's lookups. */
export function startWorkerControlPlane(): Promise<TestControlPlane> {
  return startTestControlPlane({ token: TOKEN });
}

function operator(url: string): ControlPlaneClient {
  return new ControlPlaneClient({ url, token: TOKEN, attempts: 1 });
}

/**
 * Records `attempt.requested` as the tick does before it dispatches, the payload being the
 * request; `recorded` overrides fields of the record only (to make it differ from a request).
 */
export async function recordRequested(
  url: string,
  request: AttemptRequest,
  recorded: Partial<AttemptRequest> = {},
): Promise<void> {
  const event = attemptRequestedEvent({ ...request, ...recorded }, new Date());
  const reply = await operator(url).postEvents(recorded.target_id ?? request.target_id, [event]);
  // A duplicate is fine: two tests may share an attempt, as a redelivery does.
  if (reply.ingested + reply.duplicates !== 1) {
    throw new Error(`attempt.requested of ${request.attempt_id} not stored`);
  }
}

/** Records the attempt's end, as the attempt (or the tick, for a lost one) does. */
export async function recordFinished(
  url: string,
  request: AttemptRequest,
  type: "attempt.succeeded" | "attempt.failed",
): Promise<void> {
  const { target_id, task_id, attempt_id, attempt_number } = request;
  await operator(url).postEvents(target_id, [
    {
      event_id: attemptEventId(attempt_id, type),
      event_type: type,
      timestamp: new Date().toISOString(),
      actor_id: "attempt",
      payload: {
        target_id,
        task_id,
        attempt_id,
        attempt_number,
        ...(type === "attempt.failed" ? { reason: "executor_failed" } : {}),
      },
    },
  ]);
}

/** A loopback port nothing listens on: connections to it are refused at once. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * `<dir>/config/dev.yaml` (the seed for target radix) and `other.yaml` (target other), with every
 * URL on a dead loopback port, so an attempt started for real touches no network.
 */
export async function writeConfigs(dir: string): Promise<string> {
  const port = await deadPort();
  const seed = (await readFile(SEED, "utf8"))
    .replace(
      /^target_repo_url: .*$/m,
      `target_repo_url: http://127.0.0.1:${port}/iangreen74/radix.git`,
    )
    .replace(/^control_plane_url: .*$/m, `control_plane_url: http://127.0.0.1:${port}`)
    .replace(/^attempt_timeout_seconds: .*$/m, "attempt_timeout_seconds: 60")
    .replace(/^workspace_dir: .*$/m, `workspace_dir: ${join(dir, "workspace")}`);
  const configDir = join(dir, "config");
  await mkdir(configDir, { recursive: true });
  await writeFile(join(configDir, "dev.yaml"), `${seed}github_api_url: http://127.0.0.1:${port}\n`);
  await writeFile(
    join(configDir, "other.yaml"),
    seed
      .replace(/^target_id: radix$/m, "target_id: other")
      .replace(/^worker_namespace: .*$/m, "worker_namespace: elsewhere"),
  );
  return join(configDir, "dev.yaml");
}

export async function send(
  url: string,
  message: Message,
  /** null: no Authorization header at all. */
  authorization: string | null = `Bearer ${TOKEN}`,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) headers[name] = String(value);
  if (authorization !== null) headers.authorization = authorization;
  const response = await fetch(url, {
    method: "POST",
    headers,
    body: typeof message.body === "string" ? message.body : JSON.stringify(message.body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  if (!text) return { status: response.status, body: {} };
  try {
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: response.status, body: { raw: text } };
  }
}

export function binary(event: CloudEvent<unknown>): Message {
  return HTTP.binary(event);
}

export function structured(event: CloudEvent<unknown>): Message {
  return HTTP.structured(event);
}

export interface Served {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

/** `leviathan serve <name>` as a real process on a free port; resolves once it listens. */
export async function serve(name: string, env: NodeJS.ProcessEnv): Promise<Served> {
  const child = spawn(process.execPath, [BIN, "serve", name], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: "0", LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr!.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  const port = await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`serve ${name} exited ${child.exitCode}: ${out}`);
    return /listening on http:\/\/localhost:(\d+)\//.exec(out)?.[1];
  }, `serve ${name} to listen`);
  return {
    url: `http://127.0.0.1:${port}/`,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const [code] = (await once(child, "exit")) as [number | null];
      return code;
    },
  };
}

/** Ends every attempt process a test's runner left running under `<home>/jobs`. */
export async function killJobs(home: string): Promise<void> {
  const dir = join(home, "jobs");
  for (const file of await readdir(dir).catch(() => [] as string[])) {
    if (!file.endsWith(".json")) continue;
    const state = JSON.parse(await readFile(join(dir, file), "utf8")) as ProcessJobState;
    if (!state.pid || state.finished_at) continue;
    try {
      process.kill(-state.pid, "SIGKILL");
    } catch {}
  }
}
