import { mkdir, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ControlPlaneClient } from "../../shared/control-plane/client/control-plane-client.ts";
import {
  ControlPlaneConfigError,
  ControlPlaneRejectedError,
  ControlPlaneUnavailableError,
} from "../../shared/control-plane/client/control-plane-errors.ts";
import { resolveControlPlane } from "../../shared/control-plane/client/resolve-control-plane.ts";
import { errorMessage } from "../../shared/errors/error-message.ts";
import {
  attemptEvent,
  startTestControlPlane,
  type TestControlPlane,
  TOKEN,
  tempDir,
} from "./support.ts";

describe("resolveControlPlane: the environment, then LEVIATHAN_HOME, then the config", () => {
  let home: string;
  beforeAll(async () => {
    home = await tempDir();
    await writeFile(join(home, "control-plane.url"), "http://from-file:8000/\n");
    await writeFile(join(home, "control-plane.token"), "token-from-file\n", { mode: 0o600 });
  });

  it("the environment first", async () => {
    const found = await resolveControlPlane(
      {
        LEVIATHAN_HOME: home,
        CONTROL_PLANE_URL: "http://from-env:1/",
        CONTROL_PLANE_TOKEN: "token-from-env",
      },
      "http://from-config:8000",
    );
    expect(found).toEqual({
      url: "http://from-env:1",
      token: "token-from-env",
      urlFrom: "CONTROL_PLANE_URL",
      tokenFrom: "CONTROL_PLANE_TOKEN",
    });
  });

  it("then the files in LEVIATHAN_HOME", async () => {
    const found = await resolveControlPlane({ LEVIATHAN_HOME: home }, "http://from-config:8000");
    expect(found).toMatchObject({ url: "http://from-file:8000", token: "token-from-file" });
  });

  it("the token: CONTROL_PLANE_TOKEN, then CONTROL_PLANE_TOKEN_FILE, then the home's file", async () => {
    const secret = join(await tempDir(), "mounted-token");
    await writeFile(secret, "  token-from-secret-file\n", { mode: 0o600 });
    const fromSecret = await resolveControlPlane({
      LEVIATHAN_HOME: home,
      CONTROL_PLANE_TOKEN_FILE: secret,
    });
    expect(fromSecret).toMatchObject({
      token: "token-from-secret-file",
      tokenFrom: "CONTROL_PLANE_TOKEN_FILE",
    });
    const plainWins = await resolveControlPlane({
      LEVIATHAN_HOME: home,
      CONTROL_PLANE_TOKEN: "token-from-env",
      CONTROL_PLANE_TOKEN_FILE: secret,
    });
    expect(plainWins).toMatchObject({ token: "token-from-env", tokenFrom: "CONTROL_PLANE_TOKEN" });
  });

  it.each([
    [
      "a missing file",
      async () => join(await tempDir(), "absent"),
      /cannot read .*absent \(ENOENT\)/,
    ],
    [
      "an empty file",
      async () => {
        const path = join(await tempDir(), "empty");
        await writeFile(path, " \n");
        return path;
      },
      /empty is empty/,
    ],
    ["a folder", async () => tempDir(), /\(EISDIR\)/],
  ])(
    "CONTROL_PLANE_TOKEN_FILE naming %s: an error naming the variable and path, no fallback",
    async (_what, make, reason) => {
      const path = await make();
      // The home's token file is there, but the operator named another file: that is the mistake.
      const error = await resolveControlPlane({
        LEVIATHAN_HOME: home,
        CONTROL_PLANE_TOKEN_FILE: path,
      }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ControlPlaneConfigError);
      const message = errorMessage(error);
      expect(message).toContain(`CONTROL_PLANE_TOKEN_FILE: `);
      expect(message).toContain(path);
      expect(message).toMatch(reason);
      expect(message).not.toContain("token-from-file");
    },
  );

  it("then the config's control_plane_url (the token has no config fallback)", async () => {
    const empty = await tempDir();
    const found = await resolveControlPlane(
      { LEVIATHAN_HOME: empty, CONTROL_PLANE_TOKEN: "t0ken" },
      "http://leviathan-control-plane:8000",
    );
    expect(found).toMatchObject({
      url: "http://leviathan-control-plane:8000",
      urlFrom: "the config's control_plane_url",
    });
  });

  it("nothing anywhere: one error naming every place", async () => {
    const empty = await tempDir();
    const error = await resolveControlPlane({ LEVIATHAN_HOME: empty }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneConfigError);
    const message = errorMessage(error);
    for (const place of [
      "CONTROL_PLANE_URL",
      join(empty, "control-plane.url"),
      "control_plane_url",
      "CONTROL_PLANE_TOKEN",
      "CONTROL_PLANE_TOKEN_FILE",
      join(empty, "control-plane.token"),
    ]) {
      expect(message).toContain(place);
    }
  });

  it("LEVIATHAN_HOME defaults to ./.data of the working directory (each test has its own)", async () => {
    const error = await resolveControlPlane({}).catch((e: unknown) => e);
    expect(errorMessage(error)).toContain(
      `no control-plane URL: set CONTROL_PLANE_URL, or write it to ${join(".data", "control-plane.url")}`,
    );
    await mkdir(".data");
    await writeFile(join(".data", "control-plane.url"), "http://from-cwd:8000/\n");
    await writeFile(join(".data", "control-plane.token"), "token-from-cwd\n", { mode: 0o600 });
    expect(await resolveControlPlane({})).toMatchObject({
      url: "http://from-cwd:8000",
      token: "token-from-cwd",
    });
  });

  it("a URL that is not http(s), or carries a password, is refused", async () => {
    for (const url of ["ftp://x", "not a url", "http://user:pw@host:1"]) {
      await expect(
        resolveControlPlane({ CONTROL_PLANE_URL: url, CONTROL_PLANE_TOKEN: "t0ken" }),
      ).rejects.toThrow(/not an http\(s\) URL/);
    }
  });
});

describe("ControlPlaneClient against the real server", () => {
  let cp: TestControlPlane;
  let client: ControlPlaneClient;
  beforeAll(async () => {
    cp = await startTestControlPlane();
    client = new ControlPlaneClient({ url: `${cp.url}/`, token: TOKEN, baseDelayMs: 1 });
  });
  afterAll(async () => {
    await cp.cleanup();
  });

  const attempt = { attempt_id: "attempt-task-1-c0ffee00", task_id: "task-1", attempt_number: 1 };

  it("posts events as a bundle; a retried post is all duplicates", async () => {
    const events = [
      attemptEvent("attempt.requested", attempt, { config: "dev.yaml" }),
      attemptEvent("attempt.created", attempt),
    ];
    const first = await client.postEvents("radix", events);
    expect(first).toMatchObject({ ingested: 2, duplicates: 0, status: "ok" });
    const again = await client.postEvents("radix", events);
    expect(again).toEqual({ ...first, ingested: 0, duplicates: 2 });
  });

  it("reads target, summary, events and attempts", async () => {
    const target = await client.getTarget("radix");
    expect(target.running_attempts).toEqual([attempt.attempt_id]);
    const summary = await client.getSummary();
    expect(Object.keys(summary.targets)).toEqual(["radix"]);
    const page = await client.getEvents(1, 10);
    expect(page.records.map((r) => r.seq)).toEqual([2]);
    expect(page.next_after).toBe(2);
    expect((await client.getEvents()).records).toHaveLength(2);
    const view = await client.getAttempt(attempt.attempt_id);
    expect(view?.records).toHaveLength(2);
    expect(await client.getAttempt("attempt-unknown-00000000")).toBeUndefined();
  });

  it("resets a circuit and gets the stored record back", async () => {
    const record = await client.resetCircuit("radix");
    expect(record.event.event_type).toBe("circuit.reset");
    expect((await client.getTarget("radix")).last_reset_at).toBe(record.event.timestamp);
  });

  it("health needs no token", async () => {
    const anonymous = new ControlPlaneClient({ url: cp.url, token: "whatever" });
    expect(await anonymous.health()).toEqual({ status: "ok" });
  });

  it("a 4xx is a ControlPlaneRejectedError with status and detail, without the token", async () => {
    const bad = attemptEvent("attempt.created", attempt);
    const error = await client
      .postEvents("radix", [{ ...bad, timestamp: "whenever" }])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneRejectedError);
    expect((error as ControlPlaneRejectedError).status).toBe(422);
    expect((error as ControlPlaneRejectedError).detail).toEqual([
      { path: "events[0].timestamp", message: "timestamp must be an ISO 8601 date-time" },
    ]);
    const wrong = new ControlPlaneClient({ url: cp.url, token: `${TOKEN}-wrong`, baseDelayMs: 1 });
    const denied = await wrong.getSummary().catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ControlPlaneRejectedError);
    expect((denied as ControlPlaneRejectedError).status).toBe(401);
    expect(String(denied)).not.toContain(TOKEN);
  });
});

describe("retries: network errors and 5xx, never 4xx", () => {
  let server: Server;
  let url: string;
  let requests = 0;
  let respond: (req: IncomingMessage, res: ServerResponse, n: number) => void = () => {};
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      respond(req, res, requests);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const client = () =>
    new ControlPlaneClient({
      url,
      token: TOKEN,
      baseDelayMs: 1,
      maxDelayMs: 5,
      attempts: 4,
      timeoutMs: 2_000,
    });

  it("503 twice, then the answer", async () => {
    requests = 0;
    respond = (_req, res, n) =>
      n <= 2
        ? json(res, 503, { status: "starting", detail: "starting" })
        : json(res, 200, { records: [], next_after: 0 });
    expect(await client().getEvents()).toEqual({ records: [], next_after: 0 });
    expect(requests).toBe(3);
  });

  it("a 4xx is not retried", async () => {
    requests = 0;
    respond = (_req, res) => json(res, 400, { detail: "no" });
    await expect(client().getSummary()).rejects.toBeInstanceOf(ControlPlaneRejectedError);
    expect(requests).toBe(1);
  });

  it("5xx every time: ControlPlaneUnavailableError after the bounded tries, the token redacted", async () => {
    requests = 0;
    // A hostile or broken server echoing the Authorization header back must not leak it.
    respond = (req, res) => json(res, 500, { detail: `boom ${req.headers.authorization}` });
    const error = await client()
      .getSummary()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneUnavailableError);
    expect((error as ControlPlaneUnavailableError).status).toBe(500);
    expect(requests).toBe(4);
    expect(errorMessage(error)).toContain("[redacted]");
    expect(errorMessage(error)).not.toContain(TOKEN);
  });

  it("no answer within the timeout: retried, then unavailable", async () => {
    requests = 0;
    respond = () => {};
    const slow = new ControlPlaneClient({
      url,
      token: TOKEN,
      baseDelayMs: 1,
      attempts: 2,
      timeoutMs: 100,
    });
    const error = await slow.getSummary().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneUnavailableError);
    expect(errorMessage(error)).toMatch(/timed out/);
    expect(requests).toBe(2);
    server.closeAllConnections();
  });

  it("nothing listening: unavailable", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const nowhere = new ControlPlaneClient({
      url: `http://127.0.0.1:${port}`,
      token: TOKEN,
      baseDelayMs: 1,
      attempts: 2,
    });
    const error = await nowhere.getTarget("radix").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlPlaneUnavailableError);
    expect(errorMessage(error)).toMatch(/ECONNREFUSED|fetch failed/);
    await expect(nowhere.health()).rejects.toBeInstanceOf(ControlPlaneUnavailableError);
  });
});
