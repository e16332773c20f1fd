// An attempt token on a real control plane: what it may record and read, and that everything
// else is refused with nothing stored.
import { HTTP } from "cloudevents";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toCloudEvent } from "../../shared/events/cloudevents.ts";
import { attemptIdFor } from "../../shared/events/ids.ts";
import type { LeviathanEvent } from "../../shared/events/types.ts";
import { deriveAttemptToken } from "../../shared/tokens/attempt-token.ts";
import {
  attemptEvent,
  bundle,
  type CallOptions,
  call,
  type Reply,
  rawPost,
  segments,
  startTestControlPlane,
  type TestControlPlane,
  TOKEN,
} from "./support.ts";

const OWN = {
  attempt_id: attemptIdFor("radix", "task-1", 1),
  task_id: "task-1",
  attempt_number: 1,
};
const OTHER = {
  attempt_id: attemptIdFor("radix", "task-2", 1),
  task_id: "task-2",
  attempt_number: 1,
};
const OWN_TOKEN = deriveAttemptToken(TOKEN, { targetId: "radix", attemptId: OWN.attempt_id });
const AS_ATTEMPT = `Bearer ${OWN_TOKEN}`;
const SHA = "a".repeat(64);
const PR = "https://github.com/iangreen74/radix/pull/9";

let cp: TestControlPlane;
beforeEach(async () => {
  // A store of its own per test, so "nothing stored" is a comparison of whole files.
  cp = await startTestControlPlane();
  const requested = [OWN, OTHER].map((a) =>
    attemptEvent("attempt.requested", a, { config: "dev.yaml" }),
  );
  expect((await call(cp.url, "/v1/events/ingest", { body: bundle(requested) })).status).toBe(200);
});
afterEach(async () => {
  await cp.cleanup();
});

function asAttempt(path: string, options: CallOptions = {}): Promise<Reply> {
  return call(cp.url, path, { auth: AS_ATTEMPT, ...options });
}

function cloudEvents(path: "binary" | "structured", event: LeviathanEvent, target = "radix") {
  const message = HTTP[path](toCloudEvent(target, event));
  return { raw: message.body as string, headers: message.headers as Record<string, string> };
}

function batch(events: Array<{ target: string; event: LeviathanEvent }>): CallOptions {
  return {
    raw: JSON.stringify(events.map(({ target, event }) => toCloudEvent(target, event))),
    headers: { "content-type": "application/cloudevents-batch+json" },
  };
}

/** Runs the request and proves it was refused with `status` and left every segment as it was. */
async function expectRefused(request: () => Promise<Reply>, status: 401 | 403): Promise<Reply> {
  const before = await segments(cp.dir);
  expect(before.size).toBeGreaterThan(0);
  const reply = await request();
  expect(reply.status, reply.text).toBe(status);
  expect(reply.json.detail).toBeTypeOf("string");
  expect(reply.text).not.toContain(TOKEN);
  expect(await segments(cp.dir)).toEqual(before);
  return reply;
}

async function statusOf(attemptId: string): Promise<string> {
  return (await call(cp.url, `/v1/attempts/${attemptId}`)).json.status;
}

describe("an attempt token records its own attempt's lifecycle", () => {
  it("as a seed bundle", async () => {
    const events = [
      attemptEvent("attempt.created", OWN),
      attemptEvent("attempt.started", OWN),
      attemptEvent("pr.created", OWN, { pr_url: PR, pr_number: 9 }),
      attemptEvent("attempt.succeeded", OWN, { pr_url: PR }),
    ];
    const reply = await asAttempt("/v1/events/ingest", { body: bundle(events) });
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json).toMatchObject({ ingested: 4, duplicates: 0 });
    const view = (await call(cp.url, `/v1/attempts/${OWN.attempt_id}`)).json;
    expect(view.status).toBe("succeeded");
    expect(view.pr_url).toBe(PR);
  });

  it("as CloudEvents in binary mode, structured mode and a batch", async () => {
    const binary = await asAttempt(
      "/v1/events",
      cloudEvents("binary", attemptEvent("attempt.created", OWN)),
    );
    expect(binary.status, binary.text).toBe(200);
    expect(await statusOf(OWN.attempt_id)).toBe("created");

    const structured = await asAttempt(
      "/v1/events",
      cloudEvents("structured", attemptEvent("attempt.started", OWN)),
    );
    expect(structured.status, structured.text).toBe(200);
    expect(await statusOf(OWN.attempt_id)).toBe("running");

    const many = await asAttempt(
      "/v1/events",
      batch([
        { target: "radix", event: attemptEvent("pr.created", OWN, { pr_url: PR }) },
        { target: "radix", event: attemptEvent("attempt.failed", OWN, { reason: "pr_failed" }) },
      ]),
    );
    expect(many.status, many.text).toBe(200);
    expect(many.json).toMatchObject({ ingested: 2, duplicates: 0 });
    expect(await statusOf(OWN.attempt_id)).toBe("failed");
  });

  it("an artifact.created of its own, under its own id, and a resend is a duplicate", async () => {
    const artifact = attemptEvent(
      "artifact.created",
      OWN,
      { sha256: SHA, kind: "log", uri: "file:///attempt.log", size: 12 },
      `${OWN.attempt_id}.artifact.created.${SHA}`,
    );
    const first = await asAttempt("/v1/events/ingest", { body: bundle([artifact]) });
    expect(first.json).toMatchObject({ ingested: 1, duplicates: 0 });
    const again = await asAttempt("/v1/events", cloudEvents("structured", artifact));
    expect(again.json).toMatchObject({ ingested: 0, duplicates: 1 });
  });

  it("reads its own attempt: 200 with its records", async () => {
    const reply = await asAttempt(`/v1/attempts/${OWN.attempt_id}`);
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ attempt_id: OWN.attempt_id, status: "requested" });
    expect(reply.json.records).toHaveLength(1);
  });

  it("its own attempt not recorded yet: 404, as for the operator", async () => {
    const lone = attemptIdFor("radix", "task-9", 1);
    const token = deriveAttemptToken(TOKEN, { targetId: "radix", attemptId: lone });
    const reply = await call(cp.url, `/v1/attempts/${lone}`, { auth: `Bearer ${token}` });
    expect(reply.status).toBe(404);
  });
});

describe("an attempt token may not record anything else: 403, nothing stored", () => {
  const scheduler = (type: string, payload: Record<string, unknown>, id: string) => ({
    event_id: id,
    event_type: type,
    timestamp: "2024-05-02T00:00:00Z",
    actor_id: "scheduler",
    payload,
  });
  const refusedBundles: Array<[string, () => Record<string, unknown>]> = [
    [
      "another attempt's event",
      () => bundle([attemptEvent("attempt.failed", OTHER, { reason: "lost" })]),
    ],
    [
      "attempt.requested, even for itself",
      () =>
        bundle([
          attemptEvent(
            "attempt.requested",
            OWN,
            { config: "dev.yaml" },
            `${OWN.attempt_id}.attempt.requested.2`,
          ),
        ]),
    ],
    [
      "scheduler.skipped",
      () => bundle([scheduler("scheduler.skipped", { reason: "no_ready_task" }, "skip-1")]),
    ],
    [
      "task.blocked",
      () => bundle([scheduler("task.blocked", { task_id: "task-1", attempts: 3 }, "blocked-1")]),
    ],
    [
      "circuit.reset",
      () => bundle([scheduler("circuit.reset", { target_id: "radix" }, "reset-1")]),
    ],
    ["pr.merged", () => bundle([scheduler("pr.merged", { pr_url: PR }, "merged-1")])],
    ["an event type of its own invention", () => bundle([attemptEvent("attempt.noted", OWN)])],
    [
      "its own event for another target",
      () => ({
        ...bundle([attemptEvent("attempt.started", OWN, { target_id: "other" })]),
        target: "other",
      }),
    ],
    [
      "a bundle with artifacts (their events carry no attempt id)",
      () =>
        bundle([attemptEvent("attempt.started", OWN)], {
          artifacts: [{ sha256: SHA, kind: "log", uri: "file:///x", size: 1 }],
        }),
    ],
    [
      "one own event and one foreign",
      () => bundle([attemptEvent("attempt.started", OWN), attemptEvent("attempt.started", OTHER)]),
    ],
    [
      "one own event and one scheduler event",
      () =>
        bundle([
          attemptEvent("attempt.started", OWN),
          scheduler("scheduler.skipped", { reason: "no_ready_task" }, "skip-2"),
        ]),
    ],
    // Ids are deduplicated first write wins: taking another attempt's would drop its event.
    [
      "its own event under another attempt's event id",
      () =>
        bundle([
          attemptEvent(
            "attempt.failed",
            OWN,
            { reason: "lost" },
            `${OTHER.attempt_id}.attempt.failed`,
          ),
        ]),
    ],
    [
      "its own event under the next attempt's attempt.requested id",
      () =>
        bundle([
          attemptEvent(
            "attempt.started",
            OWN,
            {},
            `${attemptIdFor("radix", "task-1", 2)}.attempt.requested`,
          ),
        ]),
    ],
    [
      "its own event under an id of its choosing",
      () => bundle([attemptEvent("attempt.started", OWN, {}, "whatever-1")]),
    ],
    [
      "its own event under another type's id",
      () =>
        bundle([attemptEvent("attempt.succeeded", OWN, {}, `${OWN.attempt_id}.attempt.started`)]),
    ],
    [
      "an artifact under an id without its digest",
      () =>
        bundle([
          attemptEvent("artifact.created", OWN, {
            sha256: SHA,
            kind: "log",
            uri: "file:///x",
            size: 1,
          }),
        ]),
    ],
  ];
  it.each(refusedBundles)("POST /v1/events/ingest: %s", async (_what, body) => {
    await expectRefused(() => asAttempt("/v1/events/ingest", { body: body() }), 403);
  });

  it.each<[string, () => CallOptions]>([
    [
      "binary: another attempt's event",
      () => cloudEvents("binary", attemptEvent("attempt.started", OTHER)),
    ],
    [
      "binary: its own event for another target",
      () =>
        cloudEvents(
          "binary",
          attemptEvent("attempt.started", OWN, { target_id: "other" }),
          "other",
        ),
    ],
    [
      "structured: scheduler.skipped",
      () =>
        cloudEvents(
          "structured",
          scheduler("scheduler.skipped", { reason: "no_ready_task" }, "skip-3"),
        ),
    ],
    [
      "structured: circuit.reset",
      () =>
        cloudEvents("structured", scheduler("circuit.reset", { target_id: "radix" }, "reset-2")),
    ],
    [
      "batch: one own event and one foreign",
      () =>
        batch([
          { target: "radix", event: attemptEvent("attempt.started", OWN) },
          { target: "radix", event: attemptEvent("attempt.started", OTHER) },
        ]),
    ],
    [
      "batch: one own event and one for another target",
      () =>
        batch([
          { target: "radix", event: attemptEvent("attempt.started", OWN) },
          { target: "other", event: attemptEvent("attempt.created", OWN, { target_id: "other" }) },
        ]),
    ],
  ])("POST /v1/events, %s", async (_what, options) => {
    await expectRefused(() => asAttempt("/v1/events", options()), 403);
  });

  it("the refusal names the event and why", async () => {
    const body = bundle([
      attemptEvent("attempt.started", OWN),
      attemptEvent("attempt.started", OTHER),
    ]);
    const reply = await expectRefused(() => asAttempt("/v1/events/ingest", { body }), 403);
    expect(reply.json.detail).toContain(`the token of attempt ${OWN.attempt_id}`);
    expect(reply.json.detail).toMatch(/event 1 .*payload\.attempt_id/);
  });

  it("after a refused mixed request its own events alone are still accepted", async () => {
    const own = attemptEvent("attempt.started", OWN);
    await expectRefused(
      () =>
        asAttempt("/v1/events/ingest", {
          body: bundle([own, attemptEvent("attempt.started", OTHER)]),
        }),
      403,
    );
    expect((await asAttempt("/v1/events/ingest", { body: bundle([own]) })).json.ingested).toBe(1);
    expect(await statusOf(OTHER.attempt_id)).toBe("requested");
  });
});

describe("an attempt token may not use any other route: 403, whatever the body", () => {
  it.each([
    ["POST", "/v1/targets/radix/circuit/reset"],
    ["POST", "/v1/targets/other/circuit/reset"],
    ["GET", "/v1/graph/summary"],
    ["GET", "/v1/targets/radix"],
    ["GET", "/v1/targets/radix/ticks/ping-1"],
    ["GET", "/v1/events"],
    ["GET", "/v1/events?after=0&limit=1"],
    ["GET", "/metrics"],
    ["GET", "/v1/store/head"],
    ["GET", `/v1/attempts/${OTHER.attempt_id}`],
    ["GET", `/v1/attempts/${OWN.attempt_id}x`],
  ])("%s %s", async (method, path) => {
    const reply = await expectRefused(() => asAttempt(path, { method }), 403);
    expect(reply.json.detail).toContain(`may not ${method}`);
  });

  it("the circuit reset is refused alike with no body, a JSON body or garbage", async () => {
    const path = "/v1/targets/radix/circuit/reset";
    for (const options of [{}, { body: { target: "radix" } }, { raw: "\u0000not json" }]) {
      await expectRefused(() => asAttempt(path, { method: "POST", ...options }), 403);
    }
  });

  it("refuses before reading the body: a declared 1 GiB body of which one byte is sent", async () => {
    // A server that read the body before deciding would wait for the rest instead of answering.
    const reply = await rawPost(
      cp.url,
      "/v1/targets/radix/circuit/reset",
      {
        authorization: AS_ATTEMPT,
        "content-type": "application/json",
        "content-length": 1024 ** 3,
      },
      (req) => {
        req.write("{");
      },
    );
    expect(reply.status).toBe(403);
    expect(reply.connection).toBe("close");
  });

  it("reads no attempt of another target, even one with its own id", async () => {
    // Recorded under `other` by the operator: a radix token for that id is not its attempt.
    const lone = attemptIdFor("other", "task-1", 1);
    await call(cp.url, "/v1/events/ingest", {
      body: {
        ...bundle([
          attemptEvent(
            "attempt.requested",
            { ...OWN, attempt_id: lone },
            { target_id: "other", config: "x.yaml" },
          ),
        ]),
        target: "other",
      },
    });
    const token = deriveAttemptToken(TOKEN, { targetId: "radix", attemptId: lone });
    const reply = await expectRefused(
      () => call(cp.url, `/v1/attempts/${lone}`, { auth: `Bearer ${token}` }),
      403,
    );
    expect(reply.json.detail).toContain("may not read an attempt of other");
    expect((await call(cp.url, `/v1/attempts/${lone}`)).json.target_id).toBe("other");
  });
});

describe("a tampered attempt token is no token: 401", () => {
  const [prefix, target, attemptId, mac] = OWN_TOKEN.split("~") as [string, string, string, string];
  const flipped = (mac[0] === "A" ? "B" : "A") + mac.slice(1);
  const tampered: Array<[string, string]> = [
    ["a changed MAC", [prefix, target, attemptId, flipped].join("~")],
    ["a changed attempt id", [prefix, target, OTHER.attempt_id, mac].join("~")],
    ["a changed target", [prefix, "other", attemptId, mac].join("~")],
    [
      "derived under another key",
      deriveAttemptToken(`${TOKEN}-other`, { targetId: "radix", attemptId }),
    ],
    ["cut short", OWN_TOKEN.slice(0, -2)],
  ];
  it.each(tampered)("%s", async (_what, token) => {
    const auth = `Bearer ${token}`;
    const own = bundle([attemptEvent("attempt.started", OWN)]);
    for (const request of [
      () => call(cp.url, "/v1/events/ingest", { auth, body: own }),
      () =>
        call(cp.url, "/v1/events", {
          auth,
          ...cloudEvents("binary", attemptEvent("attempt.created", OWN)),
        }),
      () => call(cp.url, `/v1/attempts/${OWN.attempt_id}`, { auth }),
      () => call(cp.url, "/v1/graph/summary", { auth }),
    ]) {
      const reply = await expectRefused(request, 401);
      expect(reply.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
  });
});

describe("the operator's token still does everything", () => {
  it("records scheduler events and other attempts', resets, and reads every route", async () => {
    const events = [
      attemptEvent("attempt.failed", OTHER, { reason: "lost" }),
      {
        event_id: "skip-op",
        event_type: "scheduler.skipped",
        timestamp: "2024-05-02T00:00:00Z",
        actor_id: "tick",
        payload: { reason: "no_ready_task" },
      },
    ];
    expect((await call(cp.url, "/v1/events/ingest", { body: bundle(events) })).json.ingested).toBe(
      2,
    );
    const reset = await call(cp.url, "/v1/targets/radix/circuit/reset", { method: "POST" });
    expect(reset.status).toBe(200);
    for (const path of [
      "/v1/graph/summary",
      "/v1/targets/radix",
      "/v1/events",
      "/metrics",
      "/v1/store/head",
      `/v1/attempts/${OWN.attempt_id}`,
      `/v1/attempts/${OTHER.attempt_id}`,
    ]) {
      expect((await call(cp.url, path)).status, path).toBe(200);
    }
  });
});
