// The CloudEvents conformance cases (github.com/cloudevents/conformance) for the HTTP binding,
// sent as its tool writes them (pkg/http/http.go: header values raw and trimmed, structured
// bodies as `application/cloudevents+json; charset=UTF-8`). Each case is sent verbatim, where
// its `com.example`/`io.cloudevents` type must be refused (our types start with
// `dev.leviathan.`), and adapted — our type prefix and a `leviathantarget` — where it must be
// stored as the mapped event.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StoredRecord } from "../../shared/events/types.ts";
import { call, segments, startTestControlPlane, type TestControlPlane } from "./support.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp.cleanup();
});

interface Request {
  headers: Record<string, string>;
  body: string;
}

async function storedById(eventId: string): Promise<StoredRecord | undefined> {
  const records: StoredRecord[] = (await call(cp.url, "/v1/events?limit=10000")).json.records;
  return records.find((r) => r.event.event_id === eventId);
}

async function expectRefused(request: Request, status: number, path?: string): Promise<void> {
  const before = await segments(cp.dir);
  const reply = await call(cp.url, "/v1/events", { raw: request.body, headers: request.headers });
  expect(reply.status, reply.text).toBe(status);
  if (path !== undefined) {
    expect(reply.json.detail.map((d: { path: string }) => d.path)).toContain(path);
  }
  expect(await segments(cp.dir)).toEqual(before);
}

async function expectStored(request: Request): Promise<void> {
  const reply = await call(cp.url, "/v1/events", { raw: request.body, headers: request.headers });
  expect(reply.status, reply.text).toBe(200);
  expect(reply.json).toMatchObject({ ingested: 1, duplicates: 0, bundle_id: null });
}

/** Ours: the type under our prefix, and the target. */
function adaptBinary(request: Request, id: string): Request {
  const type = String(request.headers["ce-type"]).split(".").slice(-2).join(".");
  return {
    ...request,
    headers: {
      ...request.headers,
      "ce-id": id,
      "ce-type": `dev.leviathan.${type}`,
      "ce-leviathantarget": "radix",
    },
  };
}

function adaptStructured(request: Request, id: string): Request {
  const envelope = JSON.parse(request.body) as Record<string, unknown>;
  const type = String(envelope.type).split(".").slice(-2).join(".");
  return {
    ...request,
    body: JSON.stringify({
      ...envelope,
      id,
      type: `dev.leviathan.${type}`,
      leviathantarget: "radix",
    }),
  };
}

describe("features/http-protocol-binding.feature", () => {
  const binary = (contentType: string): Request => ({
    headers: {
      "ce-specversion": "1.0",
      "ce-type": "com.example.someevent",
      "ce-time": "2018-04-05T03:56:24Z",
      "ce-id": "1234-1234-1234",
      "ce-source": "/mycontext/subcontext",
      "content-type": contentType,
    },
    body: '{\n    "message": "Hello World!"\n}',
  });
  const structured = (contentType: string): Request => ({
    headers: { "content-type": contentType },
    body: JSON.stringify({
      specversion: "1.0",
      type: "com.example.someevent",
      time: "2018-04-05T03:56:24Z",
      id: "1234-1234-1234",
      source: "/mycontext/subcontext",
      datacontenttype: "application/json",
      data: { message: "Hello World!" },
    }),
  });
  const expected = (id: string) => ({
    event_id: id,
    event_type: "example.someevent",
    timestamp: "2018-04-05T03:56:24Z",
    // Not under /leviathan/<target>/: the whole source is the actor.
    actor_id: "/mycontext/subcontext",
    payload: { message: "Hello World!" },
  });

  it.each([
    ["application/json", "binary-1"],
    ["application/json; charset=utf-8", "binary-2"],
  ])("Binary content mode (%s)", async (contentType, n) => {
    await expectRefused(binary(contentType), 422, "type");
    const id = `1234-1234-1234-${n}`;
    await expectStored(adaptBinary(binary(contentType), id));
    expect((await storedById(id))?.event).toEqual(expected(id));
  });

  it.each([
    ["application/cloudevents+json", "structured-1"],
    ["application/cloudevents+json; charset=utf-8", "structured-2"],
  ])("Structured content mode (%s)", async (contentType, n) => {
    await expectRefused(structured(contentType), 422, "type");
    const id = `1234-1234-1234-${n}`;
    await expectStored(adaptStructured(structured(contentType), id));
    expect((await storedById(id))?.event).toEqual(expected(id));
  });
});

describe("yaml/v1.yaml: extensions and a transport extension", () => {
  // `comexampleextension2` is the YAML block `{"othervalue": 5}\n`, trimmed by the tool.
  const extensions = { comexampleextension1: "value", comexampleextension2: '{"othervalue": 5}' };
  const expected = (id: string) => ({
    event_id: id,
    event_type: "example.someevent",
    timestamp: "2018-04-05T03:56:24Z",
    actor_id: "/mycontext/subcontext",
    payload: { world: "hello" },
  });

  it("Mode: binary", async () => {
    const request: Request = {
      headers: {
        "ce-specversion": "1.0",
        "ce-type": "com.example.someevent",
        "ce-time": "2018-04-05T03:56:24Z",
        "ce-id": "4321-4321-4321",
        "ce-source": "/mycontext/subcontext",
        "ce-comexampleextension1": extensions.comexampleextension1,
        // Unencoded, as the tool sends it: its quoted part is unquoted, never a 422.
        "ce-comexampleextension2": extensions.comexampleextension2,
        "user-agent": "foo",
      },
      body: '{"world":"hello"}',
    };
    // The case sets no datacontenttype, so no Content-Type: this control plane needs JSON.
    await expectRefused(request, 415);
    const json = {
      ...request,
      headers: { ...request.headers, "content-type": "application/json" },
    };
    await expectRefused(json, 422, "type");
    await expectStored(adaptBinary(json, "4321-4321-4321-binary"));
    expect((await storedById("4321-4321-4321-binary"))?.event).toEqual(
      expected("4321-4321-4321-binary"),
    );
  });

  it("Mode: structured", async () => {
    const request: Request = {
      headers: {
        "content-type": "application/cloudevents+json; charset=UTF-8",
        "user-agent": "foo",
      },
      body: JSON.stringify({
        specversion: "1.0",
        type: "com.example.someevent",
        time: "2018-04-05T03:56:24Z",
        id: "4321-4321-4321",
        source: "/mycontext/subcontext",
        ...extensions,
        data: { world: "hello" },
      }),
    };
    await expectRefused(request, 422, "type");
    await expectStored(adaptStructured(request, "4321-4321-4321-structured"));
    expect((await storedById("4321-4321-4321-structured"))?.event).toEqual(
      expected("4321-4321-4321-structured"),
    );
  });
});

describe("yaml/v1.0/v1_minimum.yaml (no Mode: the tool sends binary)", () => {
  const SOURCE = "//github.com/cloudevents/cloudeventsconformance/yaml/v1.yaml";
  const minimum = (id: string, contentType: string, data: string): Request => ({
    headers: {
      "ce-specversion": "1.0",
      "ce-type": "dev.leviathan.cloudevents.minimum",
      "ce-id": id,
      "ce-source": SOURCE,
      "ce-leviathantarget": "radix",
      "content-type": contentType,
    },
    body: data,
  });

  it.each([
    ["conformance-0001", "text/plain; charset=us-ascii", "Hello, World!"],
    ["conformance-0002", "text/plain; charset=utf-8", "Hello, 🌎!"],
    ["conformance-0006", "application/xml; charset=utf-8", "<msg>Hello, 🌎!</msg>"],
  ])("%s (%s): data that is not JSON → 415", async (id, contentType, data) => {
    await expectRefused(minimum(id, contentType, data), 415);
  });

  it.each([
    ["conformance-0003", '"Hello, 🌎!"'],
    ["conformance-0005", '["Hello","🌎!"]'],
  ])("%s: JSON data that is not an object → 422 naming data", async (id, data) => {
    await expectRefused(minimum(id, "application/json; charset=utf-8", data), 422, "data");
  });

  it("conformance-0004: a JSON object with non-ASCII text is stored, the time that of receipt", async () => {
    const request = minimum(
      "conformance-0004",
      "application/json; charset=utf-8",
      '{"msg":"Hello, 🌎!"}',
    );
    await expectRefused(
      { ...request, headers: { ...request.headers, "ce-type": "io.cloudevents.minimum" } },
      422,
      "type",
    );
    await expectStored(request);
    const record = await storedById("conformance-0004");
    expect(record?.event).toMatchObject({
      event_type: "cloudevents.minimum",
      actor_id: SOURCE,
      payload: { msg: "Hello, 🌎!" },
    });
    expect(Date.parse(record!.event.timestamp)).toBeLessThanOrEqual(
      Date.parse(record!.received_at),
    );
  });
});
