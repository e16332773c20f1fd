// Concurrent clients posting bundles with overlapping event ids to one or more control planes,
// keeping a ledger of what was acknowledged: for the PostgreSQL replica and crash suites.
import { Agent } from "node:http";
import { afterAll, beforeAll } from "vitest";
import type { LeviathanEvent } from "../../shared/events/types.ts";
import { type ControlPlaneChild, startControlPlaneChild } from "./control-plane-child.ts";
import { startTestPostgres, type TestPostgres } from "./embedded-postgres.ts";
import { httpRequest, jsonOf } from "./http-request.ts";
import { tempDir } from "./temp-dir.ts";

export interface Ledger {
  /** Event ids in requests that got 200. */
  acked: Set<string>;
  /** Sum of `ingested` over every 200 reply. */
  ingested: number;
  duplicates: number;
  /** Replies other than 200, by status ("none": no reply, the connection died). */
  failures: Map<string, number>;
  requests: number;
}

export function newLedger(): Ledger {
  return { acked: new Set(), ingested: 0, duplicates: 0, failures: new Map(), requests: 0 };
}

export interface LoadOptions {
  urls: () => readonly string[];
  token: string;
  clients: number;
  /** Requests per client. */
  requests: number;
  /** Events per request. */
  batch: number;
  /** Ids are drawn from 0..idPool-1: several clients send the same id at the same time. */
  idPool: number;
  random: () => number;
  ledger: Ledger;
  /** Clients stop early once this returns true. */
  stop?: () => boolean;
  target?: string;
}

/** The event for id number `n`: the same id always carries the same content. */
export function loadEvent(n: number, target = "replicas"): LeviathanEvent {
  const attempt = `att-${target}-${n % 211}`;
  const types = ["attempt.requested", "attempt.created", "attempt.started", "attempt.succeeded"];
  return {
    event_id: `load-${n}`,
    event_type: types[n % types.length]!,
    timestamp: new Date(Date.UTC(2024, 4, 1) + n * 1000).toISOString(),
    actor_id: "load-client",
    payload: {
      attempt_id: attempt,
      task_id: `task-${n % 17}`,
      target_id: target,
      attempt_number: 1,
    },
  };
}

/** Runs every client to completion; each request goes to the next URL in turn. */
export async function runLoad(options: LoadOptions): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.clients });
  const target = options.target ?? "replicas";
  let bundle = 0;
  try {
    await Promise.all(
      Array.from({ length: options.clients }, async (_, client) => {
        for (let r = 0; r < options.requests; r++) {
          if (options.stop?.()) return;
          const urls = options.urls();
          const url = urls[(client + r) % urls.length]!;
          const ids = new Set<number>();
          while (ids.size < Math.min(options.batch, options.idPool)) {
            ids.add(Math.floor(options.random() * options.idPool));
          }
          const events = [...ids].map((n) => loadEvent(n, target));
          const body = JSON.stringify({ target, bundle_id: `b-${++bundle}`, events });
          options.ledger.requests++;
          let status = "none";
          try {
            const reply = await httpRequest(`${url}/v1/events/ingest`, {
              body,
              agent,
              headers: {
                authorization: `Bearer ${options.token}`,
                "content-type": "application/json",
              },
            });
            status = String(reply.status);
            if (reply.status === 200) {
              const json = jsonOf(reply) as { ingested: number; duplicates: number };
              options.ledger.ingested += json.ingested;
              options.ledger.duplicates += json.duplicates;
              for (const event of events) options.ledger.acked.add(event.event_id);
              continue;
            }
          } catch {
            // No reply: the control plane died under the request. Not acknowledged.
          }
          options.ledger.failures.set(status, (options.ledger.failures.get(status) ?? 0) + 1);
        }
      }),
    );
  } finally {
    agent.destroy();
  }
}

/**
 * One embedded PostgreSQL server for the test file and the control-plane processes started on
 * it, SIGKILLed at the end of the file (whatever a test left running).
 */
export function usePostgresReplicas(token: string): {
  server(): TestPostgres;
  startReplica(url: string): Promise<ControlPlaneChild>;
} {
  let server: TestPostgres | undefined;
  const children = new Set<ControlPlaneChild>();
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    for (const child of children) await child.kill("SIGKILL");
    await server?.stop();
  });
  return {
    server: () => {
      if (!server) throw new Error("the PostgreSQL server is not started yet (use it in a test)");
      return server;
    },
    async startReplica(url) {
      const child = await startControlPlaneChild({
        dataDir: tempDir("leviathan-unused-dir-"),
        token,
        env: { LEVIATHAN_STORE_URL: url },
      });
      children.add(child);
      void child.exited.then(() => children.delete(child));
      return child;
    },
  };
}
