import { describe, expect, it } from "vitest";
import {
  attemptEvent,
  type EventSpec,
  recordsOf,
  savedParts,
  stateAfter,
} from "../../../test/support/state-helpers.ts";
import { createControlPlaneState } from "./create-control-plane-state.ts";

const SHA = "ab".repeat(32);

function artifact(attemptId: string | undefined, target = "radix"): EventSpec {
  return {
    type: "artifact.created",
    target,
    payload: {
      ...(attemptId === undefined ? {} : { attempt_id: attemptId }),
      sha256: SHA,
      artifact_id: "artifact-1",
      artifact_type: "log",
      size_bytes: 1,
      storage_path: "logs/1",
    },
  };
}

describe("an attempt's artifacts are among its records", () => {
  it("an artifact.created naming the attempt is one of its seqs, in order", () => {
    const state = stateAfter([
      attemptEvent("requested", "a"),
      attemptEvent("started", "a"),
      artifact("a"),
      attemptEvent("succeeded", "a"),
    ]);
    expect(state.attempt("a")?.seqs).toEqual([1, 2, 3, 4]);
  });

  it("one recorded before the attempt's first event counts once the attempt is known", () => {
    const early = stateAfter([artifact("a")]);
    expect(early.attempt("a")).toBeUndefined();
    const state = stateAfter([artifact("a"), attemptEvent("created", "a")]);
    expect(state.attempt("a")?.seqs).toEqual([1, 2]);
  });

  it("a bundle's artifact (no attempt_id) and another target's are no attempt's", () => {
    const state = stateAfter([
      attemptEvent("requested", "a"),
      artifact(undefined),
      artifact("a", "other"),
    ]);
    expect(state.attempt("a")?.seqs).toEqual([1]);
    expect(state.summary().nodes_by_type).toEqual({ Target: 2, Task: 1, Attempt: 1 });
  });

  it("survive a snapshot round trip", () => {
    const records = recordsOf([attemptEvent("requested", "a"), artifact("a")]);
    const live = createControlPlaneState();
    for (const record of records) live.apply(record);
    const restored = createControlPlaneState();
    restored.restore(savedParts(live));
    expect(restored.attempt("a")?.seqs).toEqual([1, 2]);
  });
});

describe("platform_failure", () => {
  it("is true for a platform failure and false for a task failure", () => {
    const state = stateAfter([
      attemptEvent("failed", "a", { reason: "clone_failed" }),
      attemptEvent("failed", "b", { reason: "timeout" }),
    ]);
    expect(state.attempt("a")?.platform_failure).toBe(true);
    expect(state.attempt("b")?.platform_failure).toBe(false);
  });
});
