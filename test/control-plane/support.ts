// Shared by the control plane's tests: a real server on 127.0.0.1 port 0 over a real temp dir.

import { rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import {
  type ControlPlaneOptions,
  type RunningControlPlane,
  startControlPlane,
} from "../../shared/control-plane/server/start-control-plane.ts";
import type { LeviathanEvent } from "../../shared/events/types.ts";
import { filesOf, silentLogger } from "../support/store/store-helpers.ts";
import { tempDir as makeTempDir } from "../support/temp-dir.ts";

/** Recognisable, so a test can prove it never shows up anywhere. */
export const TOKEN = "fake-token-DO-NOT-LEAK-7c41e9b2";

export interface TestControlPlane {
  dir: string;
  running: RunningControlPlane;
  url: string;
  /** Stops the server (not the dir): to restart on the same directory. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops and removes the directory. */
  cleanup(): Promise<void>;
}

/** A new folder, removed when the file's tests are done (async for the callers that await it). */
export async function tempDir(prefix = "leviathan-cp-"): Promise<string> {
  return makeTempDir(prefix);
}

export async function startTestControlPlane(
  options: Partial<ControlPlaneOptions> = {},
): Promise<TestControlPlane> {
  const dir = options.dataDir ?? (await tempDir());
  const start = () =>
    startControlPlane({
      dataDir: dir,
      token: TOKEN,
      port: 0,
      host: "127.0.0.1",
      logger: silentLogger,
      ...options,
    });
  const handle: TestControlPlane = {
    dir,
    running: await start(),
    get url() {
      return handle.running.url;
    },
    async stop() {
      await handle.running.close();
    },
    async restart() {
      await handle.running.close();
      handle.running = await start();
    },
    async cleanup() {
      await handle.running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return handle;
}

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: replies are inspected field by field in tests
  json: any;
}

export interface CallOptions {
  method?: string;
  body?: unknown;
  /** Raw body; overrides `body`. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
  /** `null`: no Authorization header. Default: the right token. */
  auth?: string | null;
}

export async function call(base: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...options.headers };
  const auth = options.auth === undefined ? `Bearer ${TOKEN}` : options.auth;
  if (auth !== null) headers.authorization = auth;
  let body: string | Buffer | undefined = options.raw;
  if (body === undefined && options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const response = await fetch(`${base}${path}`, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    ...(body !== undefined ? { body } : {}),
    signal: AbortSignal.timeout(20_000),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** The bytes of every segment file, to prove a rejected request changed nothing. */
export async function segments(dir: string): Promise<Map<string, Buffer>> {
  return filesOf(dir);
}

let counter = 0;
/** A valid seed event of the given type for an attempt. */
export function attemptEvent(
  type: string,
  attempt: { attempt_id: string; task_id: string; attempt_number?: number },
  extra: Record<string, unknown> = {},
  eventId?: string,
): LeviathanEvent {
  counter++;
  return {
    event_id: eventId ?? `${attempt.attempt_id}.${type}`,
    event_type: type,
    timestamp: new Date(Date.UTC(2024, 4, 1, 12, 0, counter)).toISOString(),
    actor_id: "test",
    payload: {
      attempt_id: attempt.attempt_id,
      task_id: attempt.task_id,
      target_id: "radix",
      ...(attempt.attempt_number !== undefined ? { attempt_number: attempt.attempt_number } : {}),
      ...extra,
    },
  };
}

export function bundle(events: LeviathanEvent[], extra: Record<string, unknown> = {}) {
  return { target: "radix", bundle_id: `bundle-${++counter}`, events, ...extra };
}

/** A raw HTTP/1.1 request whose body is written by `write`, for size-limit tests. */
export function rawPost(
  base: string,
  path: string,
  headers: Record<string, string | number>,
  write: (req: ReturnType<typeof httpRequest>) => void,
): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, { method: "POST", headers }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection });
        req.destroy();
      });
      res.on("error", reject);
    });
    // The server may cut the connection while we still write: the reply is what counts.
    req.on("error", (error) => reject(error));
    write(req);
  });
}
