// Binary mode's `ce-*` header values, decoded as the CloudEvents HTTP binding says
// (cloudevents/spec bindings/http-protocol-binding.md §3.1.3.2): a value MUST first be unescaped
// with respect to double-quoted strings, then a single round of percent-decoding MUST be done;
// lower-case hex and needless escapes MUST be accepted, bytes invalid in UTF-8 MUST be rejected.
import { HTTP } from "cloudevents";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toCloudEvent } from "../../shared/events/cloudevents.ts";
import type { LeviathanEvent, StoredRecord } from "../../shared/events/types.ts";
import { call, segments, startTestControlPlane, type TestControlPlane } from "./support.ts";

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
});
afterAll(async () => {
  await cp.cleanup();
});

/** The binding's encoding: space, `"`, `%` and all outside U+0021–U+007E as UTF-8 `%XY`. */
function percentEncode(value: string): string {
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0)!;
    if (code >= 0x21 && code <= 0x7e && char !== '"' && char !== "%") {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, "utf8")) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
}

function headers(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    "content-type": "application/json",
    "ce-specversion": "1.0",
    "ce-id": "binary-header-default",
    "ce-type": "dev.leviathan.custom.noted",
    "ce-source": "/leviathan/radix/cron",
    "ce-time": "2024-05-01T12:00:00Z",
    "ce-leviathantarget": "radix",
    ...overrides,
  };
}

async function storedById(eventId: string): Promise<StoredRecord | undefined> {
  const records: StoredRecord[] = (await call(cp.url, "/v1/events?limit=10000")).json.records;
  return records.find((r) => r.event.event_id === eventId);
}

describe("ce-* header values are percent-decoded", () => {
  it("the spec's own example, in the source: Euro%20%E2%82%AC%20%F0%9F%98%80", async () => {
    const reply = await call(cp.url, "/v1/events", {
      raw: "{}",
      headers: headers({
        "ce-id": "binary-euro",
        "ce-source": "/leviathan/radix/Euro%20%E2%82%AC%20%F0%9F%98%80",
      }),
    });
    expect(reply.status, reply.text).toBe(200);
    expect((await storedById("binary-euro"))?.event.actor_id).toBe("Euro € 😀");
  });

  it("every attribute and extension: id, type, time, subject, the target; lower-case hex too", async () => {
    const reply = await call(cp.url, "/v1/events", {
      raw: JSON.stringify({ attempt_id: "attempt-x-1", task_id: "task-1" }),
      headers: headers({
        "ce-id": "binary%2Fall%25",
        "ce-type": "dev.leviathan.attempt%2estarted",
        "ce-time": "2024-05-01T12%3A00%3A00Z",
        "ce-subject": "%61ttempt-x-1",
        "ce-leviathantarget": "r%61dix",
      }),
    });
    expect(reply.status, reply.text).toBe(200);
    const record = await storedById("binary/all%");
    expect(record?.target).toBe("radix");
    expect(record?.event).toEqual({
      event_id: "binary/all%",
      event_type: "attempt.started",
      timestamp: "2024-05-01T12:00:00Z",
      actor_id: "cron",
      payload: { attempt_id: "attempt-x-1", task_id: "task-1" },
    });
  });

  it("an SDK event whose headers were encoded as the binding says is stored as the event", async () => {
    // The SDK writes header values as they are; `source` must be a URI reference, so the
    // characters that need encoding go in the id and the subject.
    const attemptId = 'attempt-ü 🤖 "1" 100%';
    const event: LeviathanEvent = {
      event_id: `${attemptId}.attempt.started`,
      event_type: "attempt.started",
      timestamp: "2024-05-01T12:00:00.000Z",
      actor_id: "worker",
      payload: { attempt_id: attemptId, task_id: "task-1", target_id: "radix" },
    };
    const message = HTTP.binary(toCloudEvent("radix", event));
    expect(message.headers["ce-subject"]).toBe(attemptId);
    const encoded: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers)) {
      encoded[name] = name.startsWith("ce-") ? percentEncode(String(value)) : String(value);
    }
    const reply = await call(cp.url, "/v1/events", {
      raw: message.body as string,
      headers: encoded,
    });
    expect(reply.status, reply.text).toBe(200);
    expect((await storedById(event.event_id))?.event).toEqual(event);
  });

  it("a double-quoted value, as older senders wrote it, is unquoted first", async () => {
    const reply = await call(cp.url, "/v1/events", {
      raw: "{}",
      headers: headers({
        "ce-id": '"binary quoted \\"id\\""',
        "ce-source": '"/leviathan/radix/old sender"',
      }),
    });
    expect(reply.status, reply.text).toBe(200);
    expect((await storedById('binary quoted "id"'))?.event.actor_id).toBe("old sender");
  });

  it("UTF-8 bytes sent without encoding are read as UTF-8", async () => {
    // fetch writes a header's chars as latin1 bytes: these are the UTF-8 bytes of "Grüße".
    const reply = await call(cp.url, "/v1/events", {
      raw: "{}",
      headers: headers({
        "ce-id": "binary-raw-utf8",
        "ce-source": Buffer.from("/leviathan/radix/Grüße", "utf8").toString("latin1"),
      }),
    });
    expect(reply.status, reply.text).toBe(200);
    expect((await storedById("binary-raw-utf8"))?.event.actor_id).toBe("Grüße");
  });
});

describe("a header that does not decode is a 422 naming it, and nothing is stored", () => {
  it.each([
    ["an overlong space in ce-source (the spec's example)", { "ce-source": "%C0%A0" }, "source"],
    ["a lone continuation byte in ce-id", { "ce-id": "id-%80" }, "id"],
    ["a truncated sequence in ce-subject", { "ce-subject": "x%E2%82" }, "subject"],
    ["an encoded surrogate in an extension", { "ce-comexample": "%ED%A0%80" }, "comexample"],
    ["a % that starts no escape in ce-type", { "ce-type": "dev.leviathan.x.y%" }, "type"],
    [
      "an unterminated quote in ce-leviathantarget",
      { "ce-leviathantarget": '"radix' },
      "leviathantarget",
    ],
  ])("%s", async (_name, overrides, path) => {
    const before = await segments(cp.dir);
    const reply = await call(cp.url, "/v1/events", {
      raw: "{}",
      headers: headers({ "ce-id": `binary-bad-${path}`, ...overrides }),
    });
    expect(reply.status, reply.text).toBe(422);
    expect(reply.json.detail).toHaveLength(1);
    expect(reply.json.detail[0].path).toBe(path);
    expect(reply.json.detail[0].message).toContain(`the ce-${path} header`);
    expect(await segments(cp.dir)).toEqual(before);
  });

  it("invalid UTF-8 after decoding says so", async () => {
    const reply = await call(cp.url, "/v1/events", {
      raw: "{}",
      headers: headers({ "ce-source": "/leviathan/radix/%C0%A0" }),
    });
    expect(reply.json.detail).toEqual([
      { path: "source", message: "the ce-source header is not UTF-8 once percent-decoded" },
    ]);
  });

  it("every header that does not decode is named, beside a missing one", async () => {
    const before = await segments(cp.dir);
    const all = headers({ "ce-id": "%FF", "ce-source": "%C0%A0" });
    delete all["ce-type"];
    const reply = await call(cp.url, "/v1/events", { raw: "{}", headers: all });
    expect(reply.status).toBe(422);
    expect(reply.json.detail.map((d: { path: string }) => d.path).sort()).toEqual([
      "id",
      "source",
      "type",
    ]);
    expect(await segments(cp.dir)).toEqual(before);
  });
});
