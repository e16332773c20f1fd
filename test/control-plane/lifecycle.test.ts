import { request as httpRequest } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { openNdjsonStore } from "../../shared/store/ndjson/open-ndjson-store.ts";
import { StoreFailedError } from "../../shared/store/types.ts";
import { silentLogger } from "../support/store/store-helpers.ts";
import {
  attemptEvent,
  bundle,
  call,
  startTestControlPlane,
  type TestControlPlane,
  TOKEN,
} from "./support.ts";

let cp: TestControlPlane | undefined;
afterEach(async () => {
  await cp?.cleanup();
  cp = undefined;
});

interface Sent {
  continued: boolean;
  status: Promise<{ status: number; body: string }>;
  req: ReturnType<typeof httpRequest>;
}

/** A POST that waits for `100 Continue` before sending its body. */
function postExpectingContinue(url: string, headers: Record<string, string>): Sent {
  const req = httpRequest(`${url}/v1/events/ingest`, {
    method: "POST",
    headers: { "content-type": "application/json", expect: "100-continue", ...headers },
  });
  const sent: Sent = {
    continued: false,
    req,
    status: new Promise((resolve, reject) => {
      req.on("response", (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
    }),
  };
  req.on("continue", () => {
    sent.continued = true;
  });
  req.flushHeaders();
  return sent;
}

describe("Expect: 100-continue", () => {
  it("an unauthenticated client is refused without being asked for its body", async () => {
    cp = await startTestControlPlane();
    const sent = postExpectingContinue(cp.url, { authorization: "Bearer wrong" });
    const reply = await sent.status;
    expect(reply.status).toBe(401);
    expect(sent.continued).toBe(false);
    sent.req.destroy();
  });

  it("an authenticated client is asked for its body and stored", async () => {
    cp = await startTestControlPlane();
    const sent = postExpectingContinue(cp.url, { authorization: `Bearer ${TOKEN}` });
    await new Promise<void>((resolve) => sent.req.once("continue", () => resolve()));
    sent.req.end(
      JSON.stringify(bundle([attemptEvent("custom.noted", { attempt_id: "a-1", task_id: "t" })])),
    );
    const reply = await sent.status;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ ingested: 1 });
  });
});

describe("close()", () => {
  it("lets an in-flight request finish, refuses new connections, then closes the store", async () => {
    cp = await startTestControlPlane();
    const event = attemptEvent("custom.noted", { attempt_id: "a-inflight", task_id: "t" });
    const sent = postExpectingContinue(cp.url, { authorization: `Bearer ${TOKEN}` });
    // Past `100 Continue` the server is inside the handler, reading the body.
    await new Promise<void>((resolve) => sent.req.once("continue", () => resolve()));
    let closed = false;
    const closing = cp.running.close().then(() => {
      closed = true;
    });
    await expect(fetch(`${cp.url}/health`)).rejects.toThrow();
    expect(closed).toBe(false);
    sent.req.end(JSON.stringify(bundle([event])));
    const reply = await sent.status;
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ ingested: 1 });
    await closing;
    // Stored durably: a new server on the directory sees it.
    await cp.restart();
    const page = await call(cp.url, "/v1/events");
    expect(page.json.records.map((r: { event: { event_id: string } }) => r.event.event_id)).toEqual(
      [event.event_id],
    );
  });
});

describe("a store that refuses appends", () => {
  it("answers 503 with the reason, and health turns 503 failed so the pod is restarted", async () => {
    // The real store, with its append failing as it does once it has stopped trusting itself.
    cp = await startTestControlPlane({
      openStore: async (options) => {
        const store = await openNdjsonStore({ ...options, logger: silentLogger });
        store.append = () =>
          Promise.reject(new StoreFailedError(`event store ${options.dir} refuses appends`));
        return store;
      },
    });
    const reply = await call(cp.url, "/v1/events/ingest", {
      body: bundle([attemptEvent("custom.noted", { attempt_id: "a-f", task_id: "t" })]),
    });
    expect(reply.status).toBe(503);
    expect(reply.json.detail).toMatch(/refuses appends/);
    const health = await call(cp.url, "/healthz", { auth: null });
    expect(health.status).toBe(503);
    expect(health.json.status).toBe("failed");
    // Reads still work.
    expect((await call(cp.url, "/v1/graph/summary")).status).toBe(200);
  });
});
