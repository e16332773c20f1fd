import { describe, expect, it } from "vitest";
import { storedEvent } from "../store/encode-record.ts";
import { bundleSchema, plainValidBundle } from "./schema.ts";
import type { LeviathanEvent } from "./types.ts";

type Json = Record<string, unknown>;

/** A small seeded generator, so a failing bundle can be made again. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function nested(levels: number): unknown {
  let value: unknown = "leaf";
  for (let i = 0; i < levels; i++) value = { next: value };
  return value;
}

const PAYLOADS: Array<[string, Json]> = [
  [
    "attempt.requested",
    { attempt_id: "a-1", task_id: "t-1", target_id: "radix", attempt_number: 1 },
  ],
  ["attempt.started", { task_id: "t-1", attempt_id: "a-1" }],
  ["attempt.succeeded", { attempt_id: "a-1", task_id: "t-1", note: "x".repeat(700) }],
  ["pr.created", { attempt_id: "a-1", pr_url: "https://forge.example/pull/1", pr_number: 7 }],
  ["attempt.failed", { attempt_id: "a-1", task_id: "t-1", reason: "boom", failure_kind: "task" }],
  ["scheduler.skipped", { reason: "busy" }],
  ["custom.thing", { anything: [1, { deep: true }] }],
];

function validBundle(random: () => number): Json {
  const events = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) => {
    const [type, payload] = PAYLOADS[Math.floor(random() * PAYLOADS.length)]!;
    return {
      event_id: `e-${i}`,
      event_type: type,
      timestamp: "2024-05-01T00:00:00Z",
      actor_id: "worker",
      payload: structuredClone(payload),
    };
  });
  return { target: "radix", bundle_id: "b-1", events };
}

function isPlainJson(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** One way of breaking (or not quite breaking) a bundle, applied in place. */
type Mutation = (bundle: Json, event: Json, payload: Json) => void;

const set =
  (where: "bundle" | "event" | "payload", key: string, value: unknown): Mutation =>
  (bundle, event, payload) => {
    ({ bundle, event, payload })[where][key] = value;
  };
const drop =
  (where: "bundle" | "event" | "payload", key: string): Mutation =>
  (bundle, event, payload) => {
    delete { bundle, event, payload }[where][key];
  };

const MUTATIONS: Mutation[] = [
  drop("bundle", "target"),
  drop("bundle", "bundle_id"),
  drop("bundle", "events"),
  set("bundle", "target", "Radix"),
  set("bundle", "target", "a".repeat(63)),
  set("bundle", "target", "a".repeat(64)),
  set("bundle", "target", 5),
  set("bundle", "bundle_id", ""),
  set("bundle", "bundle_id", "b".repeat(256)),
  set("bundle", "bundle_id", "b".repeat(257)),
  set("bundle", "bundle_id", "b\u0001"),
  set("bundle", "events", {}),
  set("bundle", "events", []),
  set("bundle", "artifacts", null),
  set("bundle", "artifacts", []),
  set("bundle", "extra", 1),
  drop("event", "event_id"),
  drop("event", "payload"),
  set("event", "extra", true),
  set("event", "event_id", ""),
  set("event", "event_id", "e\u007f"),
  set("event", "event_type", "Attempt"),
  set("event", "event_type", `a.${"b".repeat(199)}`),
  set("event", "event_type", `a.${"b".repeat(198)}`),
  set("event", "event_type", "custom.other"),
  set("event", "event_type", "scheduler.skipped"),
  set("event", "event_type", "pr.merged"),
  set("event", "event_type", "pr.created"),
  set("event", "event_type", "attempt.failed"),
  set("event", "timestamp", "2024-02-30T00:00:00Z"),
  set("event", "timestamp", "2024-02-29T23:59:59.123456+01:00"),
  set("event", "timestamp", "2024-05-01"),
  set("event", "timestamp", 0),
  set("event", "actor_id", ""),
  set("event", "actor_id", 7),
  set("event", "payload", []),
  set("event", "payload", null),
  set("event", "payload", "text"),
  set("event", "payload", {}),
  set("payload", "deep", nested(31)),
  set("payload", "deep", nested(32)),
  set("payload", "target_id", "radix"),
  set("payload", "target_id", "other"),
  set("payload", "target_id", ""),
  set("payload", "target_id", 5),
  drop("payload", "attempt_id"),
  drop("payload", "task_id"),
  set("payload", "task_id", ""),
  set("payload", "task_id", "t".repeat(2049)),
  set("payload", "attempt_id", "a".repeat(257)),
  set("payload", "attempt_number", 0),
  set("payload", "attempt_number", 1.5),
  set("payload", "attempt_number", 2 ** 53),
  set("payload", "attempt_number", "1"),
  set("payload", "attempt_number", 3),
  set("payload", "pr_number", -1),
  set("payload", "pr_number", 12),
  set("payload", "pr_url", ""),
  set("payload", "pr_url", "u".repeat(2048)),
  set("payload", "pr_url", "u".repeat(2049)),
  set("payload", "reason", "r".repeat(201)),
  set("payload", "failure_kind", "other"),
];

/** An own `__proto__` key, as JSON.parse makes it from `{"__proto__": {}}`. */
function addProtoKey(sent: Json, random: () => number): void {
  const events = Array.isArray(sent.events) ? (sent.events as unknown[]) : [];
  const event = events[Math.floor(random() * events.length)];
  const payload = isPlainJson(event) ? event.payload : undefined;
  const place = [sent, event, payload][Math.floor(random() * 3)];
  if (!isPlainJson(place)) return;
  Object.defineProperty(place, "__proto__", {
    value: {},
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** Bundles the hand check leaves to zod even when they are valid. */
function leftToZod(bundle: unknown): boolean {
  if (typeof bundle !== "object" || bundle === null) return false;
  const hasProto = (value: unknown) =>
    typeof value === "object" && value !== null && Object.hasOwn(value, "__proto__");
  const events = (bundle as Json).events;
  return (
    Object.hasOwn(bundle, "artifacts") ||
    hasProto(bundle) ||
    (Array.isArray(events) &&
      events.some((event) => hasProto(event) || hasProto((event as Json | null)?.payload)))
  );
}

function storedEvents(events: readonly unknown[]): string {
  return JSON.stringify(events.map((event) => storedEvent(event as LeviathanEvent)));
}

describe("plainValidBundle", () => {
  it("gives the schema's verdict on every bundle it does not leave to the schema", () => {
    const random = generator(11);
    let acceptedByHand = 0;
    for (let i = 0; i < 4_000; i++) {
      const bundle = validBundle(random);
      const events = bundle.events as Json[];
      for (let m = Math.floor(random() * 3); m > 0; m--) {
        const event = events[Math.floor(random() * events.length)]!;
        // A payload already replaced by a non-object takes its mutation on a throwaway object.
        const payload = isPlainJson(event.payload) ? event.payload : {};
        MUTATIONS[Math.floor(random() * MUTATIONS.length)]!(bundle, event, payload);
      }
      const text = JSON.stringify(bundle);
      const sent = JSON.parse(text) as Json;
      if (random() < 0.05) addProtoKey(sent, random);

      const byHand = plainValidBundle(sent);
      const bySchema = bundleSchema.safeParse(sent);
      expect(byHand !== undefined, text).toBe(bySchema.success && !leftToZod(sent));
      if (byHand && bySchema.success) {
        acceptedByHand++;
        expect(storedEvents(byHand.events)).toBe(storedEvents(bySchema.data.events));
      }
    }
    // The mutations must leave enough bundles valid for the comparison to mean something.
    expect(acceptedByHand).toBeGreaterThan(1_000);
  });

  it("takes the bench's bundles of 100 events without the schema", () => {
    const events = Array.from({ length: 100 }, (_, i) => ({
      event_id: `bench-${i}`,
      event_type: ["attempt.requested", "attempt.started", "pr.created", "attempt.succeeded"][
        i % 4
      ],
      timestamp: new Date(Date.UTC(2024, 4, 1) + i * 1000).toISOString(),
      actor_id: "bench",
      payload: { attempt_id: `a-${i >> 2}`, task_id: "task-1", pr_url: "https://x/pull/1" },
    }));
    const bundle = { target: "bench-0", bundle_id: "bundle-0", events };
    expect(plainValidBundle(bundle)).toBe(bundle);
  });
});
