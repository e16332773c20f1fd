import type { StoredRecord } from "../../events/types.ts";
import { applyRecord } from "./apply-record.ts";
import { attemptMetaOf, emptyTargetState, summaryOf, targetViewOf } from "./build-views.ts";
import { createModel } from "./model.ts";
import { modelFromSnapshot, snapshotOf } from "./state-snapshot.ts";
import type { ControlPlaneState } from "./types.ts";

export type { AttemptMeta, ControlPlaneState } from "./types.ts";

export const CONTROL_PLANE_STATE = "control-plane-state";

/**
 * The projection behind every query of the control plane's API. Register it with the event store; it sees
 * each record once, in `seq` order, and answers from counters it keeps, never by rescanning.
 */
export function createControlPlaneState(): ControlPlaneState {
  let model = createModel();
  return {
    name: CONTROL_PLANE_STATE,
    apply(record: StoredRecord): void {
      applyRecord(model, record);
    },
    // Consumed by the store at once; the parts share arrays with the state later applies change.
    snapshot(): Iterable<unknown> {
      return snapshotOf(model);
    },
    restore(parts: Iterable<unknown>): void {
      // Built aside and swapped in, so a snapshot that fails half-way leaves the state as it was.
      model = modelFromSnapshot(parts);
    },
    summary() {
      return summaryOf(model);
    },
    target(targetId: string) {
      const target = model.targets.get(targetId);
      return target ? targetViewOf(target) : emptyTargetState(targetId);
    },
    failuresByReason() {
      const out = new Map<string, ReadonlyMap<string, number>>();
      for (const [id, target] of model.targets) out.set(id, target.failuresByReason);
      return out;
    },
    blockedTasks() {
      const out = new Map<string, number>();
      for (const [id, target] of model.targets) {
        let blocked = 0;
        for (const task of target.tasks.values()) if (task.blocked) blocked += 1;
        out.set(id, blocked);
      }
      return out;
    },
    attempt(attemptId: string) {
      return attemptMetaOf(model.attempts.get(attemptId));
    },
  };
}
