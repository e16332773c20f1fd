import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LeviathanEvent } from "../../shared/events/types.ts";
import {
  attemptEvent,
  bundle,
  call,
  rawPost,
  segments,
  startTestControlPlane,
  type TestControlPlane,
  TOKEN,
} from "./support.ts";

const attempt = { attempt_id: "attempt-task-1-0000abcd", task_id: "task-1", attempt_number: 1 };
const good = (): LeviathanEvent => attemptEvent("attempt.created", attempt);

let cp: TestControlPlane;
let before: Map<string, Buffer>;

beforeAll(async () => {
  cp = await startTestControlPlane();
  // One stored event, so there is a segment file whose bytes must stay exactly as they are.
  const seeded = await call(cp.url, "/v1/events/ingest", { body: bundle([good()]) });
  expect(seeded.json).toMatchObject({ ingested: 1 });
  before = await segments(cp.dir);
  expect(before.size).toBe(1);
});
afterAll(async () => {
  await cp.cleanup();
});

async function expectUnchanged(): Promise<void> {
  expect(await segments(cp.dir)).toEqual(before);
}

function withEvent(change: (event: Record<string, unknown>) => void): unknown {
  const event = { ...good(), event_id: "changed-event" } as unknown as Record<string, unknown>;
  event.payload = { ...(event.payload as object) };
  change(event);
  return bundle([event as unknown as LeviathanEvent]);
}

const artifact = { sha256: "a".repeat(64), kind: "log", uri: "file:///x.log", size: 10 };
const BAD_BUNDLES: Array<[string, string | unknown, string]> = [
  ["invalid JSON", '{"target": "radix",', ""],
  ["empty body", "", ""],
  ["a list instead of an object", [], ""],
  ["a string instead of an object", "just text", ""],
  ["missing target", { bundle_id: "b", events: [] }, "target"],
  ["target with capitals", { target: "Radix!", bundle_id: "b", events: [] }, "target"],
  ["target a number", { target: 7, bundle_id: "b", events: [] }, "target"],
  ["missing bundle_id", { target: "radix", events: [] }, "bundle_id"],
  ["empty bundle_id", { target: "radix", bundle_id: "", events: [] }, "bundle_id"],
  ["missing events", { target: "radix", bundle_id: "b" }, "events"],
  ["events an object", { target: "radix", bundle_id: "b", events: {} }, "events"],
  ["unknown top-level field", { target: "radix", bundle_id: "b", events: [], extra: 1 }, "extra"],
  ["event without event_id", withEvent((e) => delete e.event_id), "events[0].event_id"],
  ["empty event_id", withEvent((e) => (e.event_id = "")), "events[0].event_id"],
  ["event_id with a newline", withEvent((e) => (e.event_id = "a\nb")), "events[0].event_id"],
  [
    "event_type with capitals",
    withEvent((e) => (e.event_type = "Attempt.Created")),
    "events[0].event_type",
  ],
  [
    "event_type without a dot",
    withEvent((e) => (e.event_type = "attempt")),
    "events[0].event_type",
  ],
  ["timestamp not a date", withEvent((e) => (e.timestamp = "yesterday")), "events[0].timestamp"],
  [
    "timestamp month 13",
    withEvent((e) => (e.timestamp = "2024-13-01T00:00:00Z")),
    "events[0].timestamp",
  ],
  ["timestamp a number", withEvent((e) => (e.timestamp = 1714564800)), "events[0].timestamp"],
  ["missing actor_id", withEvent((e) => delete e.actor_id), "events[0].actor_id"],
  ["payload a list", withEvent((e) => (e.payload = [])), "events[0].payload"],
  ["payload a string", withEvent((e) => (e.payload = "x")), "events[0].payload"],
  [
    "attempt payload without attempt_id",
    withEvent((e) => delete (e.payload as Record<string, unknown>).attempt_id),
    "events[0].payload.attempt_id",
  ],
  [
    "attempt_number 0",
    withEvent((e) => ((e.payload as Record<string, unknown>).attempt_number = 0)),
    "events[0].payload.attempt_number",
  ],
  [
    "failure_kind unknown",
    withEvent((e) => {
      e.event_type = "attempt.failed";
      (e.payload as Record<string, unknown>).failure_kind = "cosmic-rays";
    }),
    "events[0].payload.failure_kind",
  ],
  [
    "pr.created without pr_url",
    withEvent((e) => (e.event_type = "pr.created")),
    "events[0].payload.pr_url",
  ],
  [
    "payload.target_id of another target",
    withEvent((e) => ((e.payload as Record<string, unknown>).target_id = "other")),
    "events[0].payload.target_id",
  ],
  ["unknown event field", withEvent((e) => (e.extra = true)), "events[0].extra"],
  [
    "payload nested 40 levels",
    withEvent((e) => {
      let deep: Record<string, unknown> = {};
      const root = deep;
      for (let i = 0; i < 40; i++) deep = deep.next = {} as Record<string, unknown>;
      e.event_type = "custom.deep";
      e.payload = root;
    }),
    "events[0].payload",
  ],
  [
    "artifact sha256 not hex",
    bundle([], { artifacts: [{ ...artifact, sha256: "xyz" }] }),
    "artifacts[0].sha256",
  ],
  [
    "artifact size negative",
    bundle([], { artifacts: [{ ...artifact, size: -1 }] }),
    "artifacts[0].size",
  ],
  [
    "artifact unknown field",
    bundle([], { artifacts: [{ ...artifact, colour: "red" }] }),
    "artifacts[0].colour",
  ],
  ["artifacts an object", bundle([], { artifacts: artifact }), "artifacts"],
];

describe("a bad bundle is a 422 naming the field, and stores nothing", () => {
  it.each(BAD_BUNDLES)("%s → %s", async (_name, body, path) => {
    const raw = typeof body === "string" ? body : JSON.stringify(body);
    const reply = await call(cp.url, "/v1/events/ingest", {
      raw,
      headers: { "content-type": "application/json" },
    });
    expect(reply.status).toBe(422);
    expect(reply.json.detail.map((d: { path: string }) => d.path)).toContain(path);
    for (const detail of reply.json.detail) expect(detail.message).toBeTypeOf("string");
    await expectUnchanged();
  });

  it("a body that is not UTF-8 → 422", async () => {
    const reply = await call(cp.url, "/v1/events/ingest", {
      raw: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
      headers: { "content-type": "application/json" },
    });
    expect(reply.status).toBe(422);
    expect(reply.json.detail[0].path).toBe("");
    await expectUnchanged();
  });

  it("one bad event among good ones stores none of them, and names its index", async () => {
    const events = [1, 2, 3, 4].map((n) =>
      attemptEvent("attempt.started", { ...attempt, attempt_id: `attempt-all-or-nothing-${n}` }),
    );
    events[3] = { ...events[3]!, timestamp: "not a time" };
    const reply = await call(cp.url, "/v1/events/ingest", { body: bundle(events) });
    expect(reply.status).toBe(422);
    expect(reply.json.detail).toEqual([
      { path: "events[3].timestamp", message: "timestamp must be an ISO 8601 date-time" },
    ]);
    await expectUnchanged();
    const page = await call(cp.url, "/v1/events");
    expect(page.json.records).toHaveLength(1);
  });
});

function structured(change: (ce: Record<string, unknown>) => void): Record<string, unknown> {
  const ce: Record<string, unknown> = {
    specversion: "1.0",
    id: "ce-changed",
    type: "dev.leviathan.attempt.started",
    source: "/leviathan/radix/worker",
    time: "2024-05-01T12:00:00Z",
    subject: "attempt-ce-1",
    datacontenttype: "application/json",
    leviathantarget: "radix",
    data: { attempt_id: "attempt-ce-1", task_id: "task-1", target_id: "radix" },
  };
  change(ce);
  return ce;
}

const BAD_STRUCTURED: Array<[string, unknown, string]> = [
  ["missing id", structured((c) => delete c.id), "id"],
  ["empty id", structured((c) => (c.id = "")), "id"],
  ["missing source", structured((c) => delete c.source), "source"],
  ["missing type", structured((c) => delete c.type), "type"],
  ["type of another producer", structured((c) => (c.type = "com.example.thing")), "type"],
  ["type with a bad event type", structured((c) => (c.type = "dev.leviathan.Attempt")), "type"],
  ["specversion 0.3", structured((c) => (c.specversion = "0.3")), "specversion"],
  ["missing specversion", structured((c) => delete c.specversion), "specversion"],
  ["time not a date", structured((c) => (c.time = "yesterday")), "time"],
  ["time a number", structured((c) => (c.time = 1714564800)), "time"],
  [
    "no target anywhere",
    structured((c) => {
      delete c.leviathantarget;
      c.data = { attempt_id: "attempt-ce-1", task_id: "task-1" };
    }),
    "leviathantarget",
  ],
  [
    "target extension not a name",
    structured((c) => (c.leviathantarget = "Radix!")),
    "leviathantarget",
  ],
  ["data a list", structured((c) => (c.data = [1, 2])), "data"],
  ["data a string", structured((c) => (c.data = "hello")), "data"],
  [
    "attempt data without attempt_id",
    structured((c) => {
      delete c.subject;
      c.data = { task_id: "task-1" };
    }),
    "data.attempt_id",
  ],
  ["binary data", structured((c) => (c.data_base64 = "aGVsbG8=")), "data_base64"],
  [
    "datacontenttype text",
    structured((c) => (c.datacontenttype = "text/plain")),
    "datacontenttype",
  ],
  ["extension name with capitals", structured((c) => (c.Foo_Bar = "x")), "Foo_Bar"],
  ["extension value an object", structured((c) => (c.meta = { a: 1 })), "meta"],
  [
    "data.target_id differs from the extension",
    structured((c) => ((c.data as Record<string, unknown>).target_id = "other")),
    "data.target_id",
  ],
  ["subject differs from attempt_id", structured((c) => (c.subject = "attempt-other")), "subject"],
  ["a list in structured mode", [structured(() => {})], ""],
  ["null", null, ""],
];

describe("a bad CloudEvent is a 422 naming the attribute, and stores nothing", () => {
  it.each(BAD_STRUCTURED)("structured: %s → %s", async (_name, ce, path) => {
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify(ce),
      headers: { "content-type": "application/cloudevents+json" },
    });
    expect(reply.status).toBe(422);
    expect(reply.json.detail.map((d: { path: string }) => d.path)).toContain(path);
    await expectUnchanged();
  });

  it.each([
    ["invalid JSON", "{", ""],
    ["empty body", "", ""],
  ])("structured: %s → %s", async (_name, raw, path) => {
    const reply = await call(cp.url, "/v1/events", {
      raw,
      headers: { "content-type": "application/cloudevents+json" },
    });
    expect(reply.status).toBe(422);
    expect(reply.json.detail[0].path).toBe(path);
    await expectUnchanged();
  });

  it.each([
    ["an object instead of a list", structured(() => {}), ""],
    [
      "a bad third event among good ones",
      [
        structured((c) => (c.id = "batch-ok-1")),
        structured((c) => (c.id = "batch-ok-2")),
        structured((c) => {
          c.id = "batch-bad-3";
          c.time = "soon";
        }),
      ],
      "[2].time",
    ],
    ["an element that is not an object", [structured((c) => (c.id = "batch-ok-4")), 42], "[1]"],
    [
      "a bad type at index 1",
      [structured((c) => (c.id = "b-5")), structured((c) => (c.type = "x"))],
      "[1].type",
    ],
  ])("batch: %s → %s", async (_name, body, path) => {
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify(body),
      headers: { "content-type": "application/cloudevents-batch+json" },
    });
    expect(reply.status).toBe(422);
    expect(reply.json.detail.map((d: { path: string }) => d.path)).toContain(path);
    await expectUnchanged();
  });

  const binaryHeaders = (): Record<string, string> => ({
    "content-type": "application/json",
    "ce-specversion": "1.0",
    "ce-id": "binary-changed",
    "ce-type": "dev.leviathan.attempt.started",
    "ce-source": "/leviathan/radix/worker",
    "ce-time": "2024-05-01T12:00:00Z",
    "ce-leviathantarget": "radix",
  });
  const data = JSON.stringify({ attempt_id: "attempt-b-1", task_id: "task-1" });
  it.each([
    ["missing ce-id", (h: Record<string, string>) => delete h["ce-id"], data, "id"],
    ["missing ce-source", (h: Record<string, string>) => delete h["ce-source"], data, "source"],
    ["missing ce-type", (h: Record<string, string>) => delete h["ce-type"], data, "type"],
    [
      "ce-type of another producer",
      (h: Record<string, string>) => (h["ce-type"] = "org.other.x"),
      data,
      "type",
    ],
    [
      "ce-time not a date",
      (h: Record<string, string>) => (h["ce-time"] = "tomorrow"),
      data,
      "time",
    ],
    [
      "ce-specversion 0.3",
      (h: Record<string, string>) => (h["ce-specversion"] = "0.3"),
      data,
      "specversion",
    ],
    [
      "no target",
      (h: Record<string, string>) => delete h["ce-leviathantarget"],
      data,
      "leviathantarget",
    ],
    ["body not JSON", () => {}, "{not json", "data"],
    ["body a list", () => {}, "[1,2]", "data"],
    ["body without attempt_id", () => {}, JSON.stringify({ task_id: "t" }), "data.attempt_id"],
    [
      "extension with an underscore",
      (h: Record<string, string>) => (h["ce-my_ext"] = "1"),
      data,
      "my_ext",
    ],
  ])("binary: %s → %s", async (_name, change, raw, path) => {
    const headers = binaryHeaders();
    change(headers);
    const reply = await call(cp.url, "/v1/events", { raw, headers });
    expect(reply.status).toBe(422);
    expect(reply.json.detail.map((d: { path: string }) => d.path)).toContain(path);
    await expectUnchanged();
  });
});

describe("415 for a body that is neither JSON nor a CloudEvents type", () => {
  it.each([
    ["/v1/events/ingest", "text/plain"],
    ["/v1/events/ingest", "application/x-www-form-urlencoded"],
    ["/v1/events/ingest", "application/cloudevents+json"],
    ["/v1/events/ingest", "application/json; charset=latin1"],
    ["/v1/events", "text/plain"],
    ["/v1/events", "application/xml"],
    ["/v1/events", "multipart/form-data; boundary=x"],
  ])("POST %s with %s", async (path, type) => {
    const reply = await call(cp.url, path, { raw: "{}", headers: { "content-type": type } });
    expect(reply.status).toBe(415);
    expect(reply.json.detail).toBeTypeOf("string");
    await expectUnchanged();
  });

  it("no content type at all", async () => {
    const reply = await call(cp.url, "/v1/events/ingest", {
      raw: new Uint8Array([123, 125]) as Buffer,
    });
    expect(reply.status).toBe(415);
    await expectUnchanged();
  });

  it("a compressed body", async () => {
    const reply = await call(cp.url, "/v1/events/ingest", {
      raw: "{}",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
    });
    expect(reply.status).toBe(415);
    await expectUnchanged();
  });
});

describe("413 for a body over the limit, without reading it all", () => {
  let small: TestControlPlane;
  beforeAll(async () => {
    small = await startTestControlPlane({ maxBodyBytes: 1024 });
  });
  afterAll(async () => {
    await small.cleanup();
  });

  it("a declared Content-Length over the limit is refused before any byte is sent", async () => {
    // Nothing of the body is ever written: only a server that judged the header can answer.
    const reply = await rawPost(
      small.url,
      "/v1/events/ingest",
      {
        authorization: `Bearer ${TOKEN}`,
        "content-type": "application/json",
        "content-length": 1025,
      },
      (req) => req.flushHeaders(),
    );
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body).detail).toMatch(/larger than 1024 bytes/);
    expect(reply.connection).toBe("close");
    expect(await segments(small.dir)).toEqual(new Map());
  });

  it("a streamed body is cut off as soon as it passes the limit", async () => {
    // Chunked, never ended: the reply can only come from a server that stopped at the limit.
    const reply = await rawPost(
      small.url,
      "/v1/events",
      { authorization: `Bearer ${TOKEN}`, "content-type": "application/cloudevents-batch+json" },
      (req) => {
        req.write(`[${" ".repeat(700)}`);
        req.write(" ".repeat(700));
      },
    );
    expect(reply.status).toBe(413);
    expect(reply.connection).toBe("close");
    expect(await segments(small.dir)).toEqual(new Map());
  });

  it("a body of exactly the limit is accepted", async () => {
    const body = bundle([good()]);
    const text = JSON.stringify(body);
    const padded = `${text.slice(0, -1)}${" ".repeat(1024 - text.length)}}`;
    expect(Buffer.byteLength(padded)).toBe(1024);
    const reply = await call(small.url, "/v1/events/ingest", {
      raw: padded,
      headers: { "content-type": "application/json" },
    });
    expect(reply.status).toBe(200);
    expect(reply.json.ingested).toBe(1);
  });

  it("the default limit is 10 MiB", async () => {
    const reply = await rawPost(
      cp.url,
      "/v1/events/ingest",
      {
        authorization: `Bearer ${TOKEN}`,
        "content-type": "application/json",
        "content-length": 10 * 1024 * 1024 + 1,
      },
      (req) => req.flushHeaders(),
    );
    expect(reply.status).toBe(413);
    await expectUnchanged();
  });
});

describe("query values", () => {
  it.each([
    "limit=abc",
    "limit=0",
    "limit=-5",
    "limit=1.5",
    "limit=",
    "after=-1",
    "after=x",
    "after=1e3",
    "after=1&after=2",
    "after=99999999999999999",
  ])("GET /v1/events?%s → 422 naming the parameter", async (query) => {
    const reply = await call(cp.url, `/v1/events?${query}`);
    expect(reply.status).toBe(422);
    expect(reply.json.detail[0].path).toBe(query.split("=")[0]);
  });

  it("a target name that could never be one → 422", async () => {
    const reply = await call(cp.url, "/v1/targets/Not%20A%20Target");
    expect(reply.status).toBe(422);
    expect(reply.json.detail[0].path).toBe("target");
  });
});
