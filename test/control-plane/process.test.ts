import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Child, runLeviathan, waitForOutput } from "./process-support.ts";
import { attemptEvent, bundle, call, TOKEN, tempDir } from "./support.ts";

/** Every reply body seen in this file, to prove none of them holds the token. */
const replies: string[] = [];
async function track(reply: Promise<{ text: string; status: number; json: unknown }>) {
  const r = await reply;
  replies.push(r.text);
  return r;
}

function env(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    CONTROL_PLANE_TOKEN: TOKEN,
    PORT: "0",
    LEVIATHAN_DATA_DIR: dir,
    LOG_LEVEL: "info",
    ...extra,
  };
}

async function startChild(dir: string): Promise<{ child: Child; url: string }> {
  const child = runLeviathan(["control-plane"], env(dir));
  const [, url] = await waitForOutput(child, /listening on (http:\/\/\S+)/);
  return { child, url: url! };
}

describe("leviathan control-plane as a process", () => {
  let dir: string;
  let first: { child: Child; url: string };
  beforeAll(async () => {
    dir = await tempDir();
    first = await startChild(dir);
  });
  afterAll(async () => {
    first.child.process.kill("SIGKILL");
    await first.child.exited;
  });

  it("serves, logs one line per request, and never shows the token", async () => {
    const event = attemptEvent("attempt.created", { attempt_id: "attempt-p-1", task_id: "t" });
    expect(
      (await track(call(first.url, "/v1/events/ingest", { body: bundle([event]) }))).status,
    ).toBe(200);
    expect(
      (await track(call(first.url, "/v1/graph/summary", { auth: `Bearer ${TOKEN}-wrong` }))).status,
    ).toBe(401);
    expect(
      (await track(call(first.url, "/v1/events/ingest", { body: { nope: TOKEN } }))).status,
    ).toBe(422);
    expect((await track(call(first.url, "/v1/nope"))).status).toBe(404);
    await waitForOutput(first.child, /"route":"unmatched".*"status":404/, "stderr");
    const lines = first.child
      .stderr()
      .split("\n")
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.method, l.route, l.status])).toEqual([
      ["POST", "/v1/events/ingest", 200],
      ["GET", "/v1/graph/summary", 401],
      ["POST", "/v1/events/ingest", 422],
      ["GET", "unmatched", 404],
    ]);
    for (const line of lines) {
      expect(line.ms).toBeTypeOf("number");
      expect(Object.keys(line)).not.toContain("headers");
    }
  });

  it("a second control plane on the same directory exits with one clear line", async () => {
    const second = runLeviathan(["control-plane"], env(dir));
    expect(await second.exited).not.toBe(0);
    // Besides its JSON log lines, one line for a person: what happened and who holds it.
    const human = second
      .stderr()
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("{"));
    expect(human).toHaveLength(1);
    const message = human[0]!;
    expect(message).toMatch(
      /^leviathan control-plane: cannot start: event store .* is locked by pid/,
    );
    expect(message).toContain(dir);
    expect(message).toContain(`pid ${first.child.process.pid}`);
    expect(second.stdout()).toBe("");
    expect(`${second.stdout()}${second.stderr()}`).not.toContain(TOKEN);
    // The first one is unharmed.
    expect((await track(call(first.url, "/health", { auth: null }))).status).toBe(200);
  });

  it("SIGTERM: drains, closes the store, exits 0; the next start sees everything", async () => {
    first.child.process.kill("SIGTERM");
    expect(await first.child.exited).toBe(0);
    expect(first.child.stderr()).toContain("closing the event store");
    expect(`${first.child.stdout()}${first.child.stderr()}`).not.toContain(TOKEN);
    const again = await startChild(dir);
    try {
      const page = await track(call(again.url, "/v1/events"));
      expect((page.json as { records: unknown[] }).records).toHaveLength(1);
    } finally {
      again.child.process.kill("SIGINT");
      expect(await again.child.exited).toBe(0);
    }
    expect(`${again.child.stdout()}${again.child.stderr()}`).not.toContain(TOKEN);
    for (const text of replies) expect(text).not.toContain(TOKEN);
  });
});

describe("CONTROL_PLANE_TOKEN_FILE, as a mounted Secret gives it", () => {
  it("a control plane started with only the file accepts that token and no other", async () => {
    const dir = await tempDir();
    const secret = join(await tempDir(), "token");
    await writeFile(secret, `${TOKEN}\n`, { mode: 0o600 });
    const child = runLeviathan(["control-plane"], {
      PORT: "0",
      LEVIATHAN_DATA_DIR: dir,
      CONTROL_PLANE_TOKEN_FILE: secret,
    });
    try {
      const [, url] = await waitForOutput(child, /listening on (http:\/\/\S+)/);
      expect((await track(call(url!, "/v1/graph/summary"))).status).toBe(200);
      const wrong = await track(call(url!, "/v1/graph/summary", { auth: "Bearer not-it" }));
      expect(wrong.status).toBe(401);
    } finally {
      child.process.kill("SIGTERM");
      expect(await child.exited).toBe(0);
    }
    expect(`${child.stdout()}${child.stderr()}`).not.toContain(TOKEN);
  });

  it.each([
    ["a missing file", "absent", /CONTROL_PLANE_TOKEN_FILE: cannot read \S*absent \(ENOENT\)/],
    ["an empty file", "empty", /CONTROL_PLANE_TOKEN_FILE: \S*empty is empty/],
  ])("refuses to start with %s, naming the variable and the path", async (_what, name, message) => {
    const dir = await tempDir();
    const secret = join(await tempDir(), name);
    if (name === "empty") await writeFile(secret, "\n");
    const child = runLeviathan(["control-plane"], {
      PORT: "0",
      LEVIATHAN_DATA_DIR: dir,
      CONTROL_PLANE_TOKEN_FILE: secret,
    });
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toMatch(message);
    expect(child.stderr()).toContain(secret);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("LEVIATHAN_STORE_KEY_FILE, the checkpoints' secret", () => {
  it("refuses to start when the file cannot be read, naming the variable and the path", async () => {
    const dir = await tempDir();
    const secret = join(await tempDir(), "absent");
    const child = runLeviathan(["control-plane"], {
      PORT: "0",
      LEVIATHAN_DATA_DIR: dir,
      CONTROL_PLANE_TOKEN: TOKEN,
      LEVIATHAN_STORE_KEY_FILE: secret,
    });
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toMatch(/LEVIATHAN_STORE_KEY_FILE: cannot read \S*absent \(ENOENT\)/);
    expect(child.stderr()).toContain("refusing to start without the store key");
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("refusing to start", () => {
  it("without CONTROL_PLANE_TOKEN", async () => {
    const dir = await tempDir();
    const child = runLeviathan(["control-plane"], { PORT: "0", LEVIATHAN_DATA_DIR: dir });
    expect(await child.exited).toBe(1);
    expect(child.stderr()).toMatch(/CONTROL_PLANE_TOKEN is not set/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("on a corrupt store, naming file and line", async () => {
    const dir = await tempDir();
    const { child, url } = await startChild(dir);
    const events = [1, 2, 3].map((n) =>
      attemptEvent("custom.noted", { attempt_id: `a-${n}`, task_id: "t" }),
    );
    await call(url, "/v1/events/ingest", { body: bundle(events) });
    child.process.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    const [segment] = (await readdir(dir)).filter((n) => n.startsWith("segment-"));
    const path = join(dir, segment!);
    const lines = (await readFile(path, "utf8")).split("\n");
    lines[1] = lines[1]!.replace('"custom.noted"', '"custom.edited"');
    await writeFile(path, lines.join("\n"));
    const broken = runLeviathan(["control-plane"], env(dir));
    expect(await broken.exited).toBe(1);
    expect(broken.stderr()).toMatch(new RegExp(`${segment!.replace(".", "\\.")}:2\\b`));
    expect(broken.stderr()).toMatch(/corrupt/);
  });
});
