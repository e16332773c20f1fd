import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { AttemptStatus } from "../../events/types.ts";
import type { EventStore } from "../../store/types.ts";
import type { TargetSummary } from "../types.ts";

/** What the per-target series are read from at a scrape: the judged summary and two counts. */
export interface TargetsReading {
  /** The summary's targets with `stalled` judged at the scrape. */
  targets: Record<string, TargetSummary>;
  failuresByReason: ReadonlyMap<string, ReadonlyMap<string, number>>;
  blockedTasks: ReadonlyMap<string, number>;
}

const STATUSES: readonly AttemptStatus[] = [
  "requested",
  "created",
  "running",
  "succeeded",
  "failed",
];

export interface ControlPlaneMetrics {
  registry: Registry;
  /** Events newly stored, by type. */
  ingested: Counter<"event_type">;
  /** Events acknowledged as already stored. */
  duplicates: Counter;
  requestSeconds: Histogram<"route" | "method" | "status">;
  fsyncSeconds: Histogram;
  /** Hands the next scrape its per-target reading (the route sets it just before). */
  setTargets(reading: TargetsReading): void;
}

/**
 * The control plane's Prometheus metrics, in a registry of its own so two servers in one
 * process (tests, local mode) never share counters. Store size, head and checkpoint are read at
 * scrape time (nothing while the store is still opening).
 */
export function createControlPlaneMetrics(
  store: () => EventStore | undefined,
): ControlPlaneMetrics {
  const stats = () => store()?.stats();
  const registry = new Registry();
  const ingested = new Counter({
    name: "leviathan_events_ingested_total",
    help: "Events newly stored, by event type.",
    labelNames: ["event_type"] as const,
    registers: [registry],
  });
  const duplicates = new Counter({
    name: "leviathan_events_duplicates_total",
    help: "Events received whose event_id was already stored (acknowledged, not stored again).",
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: "leviathan_http_request_duration_seconds",
    help: "HTTP request duration, by route template, method and status.",
    labelNames: ["route", "method", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const fsyncSeconds = new Histogram({
    name: "leviathan_store_fsync_duration_seconds",
    help: "Duration of each event store segment fsync.",
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  new Gauge({
    name: "leviathan_store_bytes",
    help: "Bytes in the event store's segment files.",
    registers: [registry],
    collect() {
      this.set(stats()?.bytes ?? 0);
    },
  });
  new Gauge({
    name: "leviathan_store_records",
    help: "Records in the event store.",
    registers: [registry],
    collect() {
      this.set(stats()?.records ?? 0);
    },
  });
  new Gauge({
    name: "leviathan_store_head_seq",
    help: "Seq of the last record in the event store (the head of the hash chain).",
    registers: [registry],
    collect() {
      this.set(stats()?.lastSeq ?? 0);
    },
  });
  new Gauge({
    name: "leviathan_store_checkpoint_seq",
    help: "Seq of the event store's latest durable checkpoint (0: none yet).",
    registers: [registry],
    collect() {
      this.set(store()?.checkpoint()?.seq ?? 0);
    },
  });
  // An info gauge: one series, value 1, whose labels are the latest checkpoint, so a scraper
  // keeps an authenticated seq it can hand to `store verify --expect-seq` after a restore.
  new Gauge({
    name: "leviathan_store_checkpoint_info",
    help: "The event store's latest checkpoint: its seq and HMAC-SHA256 as labels, value 1.",
    labelNames: ["checkpoint_seq", "checkpoint_mac"] as const,
    registers: [registry],
    collect() {
      this.reset();
      const checkpoint = store()?.checkpoint();
      if (!checkpoint) return;
      this.set({ checkpoint_seq: String(checkpoint.seq), checkpoint_mac: checkpoint.mac }, 1);
    },
  });
  let reading: TargetsReading = {
    targets: {},
    failuresByReason: new Map(),
    blockedTasks: new Map(),
  };
  // One series per target (per target and status or failure reason: both fixed, small sets),
  // so the label set grows with the targets configured, never with events.
  const perTarget = (
    name: string,
    help: string,
    value: (target: TargetSummary, id: string) => number | null,
  ) =>
    new Gauge({
      name,
      help,
      labelNames: ["target"] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const [id, target] of Object.entries(reading.targets)) {
          const v = value(target, id);
          if (v !== null) this.set({ target: id }, v);
        }
      },
    });
  perTarget(
    "leviathan_last_tick_timestamp_seconds",
    "Unix time of the target's last tick (its latest scheduler event or attempt request).",
    (t) => (t.last_tick_at === null ? null : Date.parse(t.last_tick_at) / 1000),
  );
  perTarget(
    "leviathan_tick_stalled",
    "1 when the target's last tick is older than two periods of its schedule_cron, else 0 (absent until a tick recorded its schedule).",
    (t) => (t.schedule_cron ? (t.stalled ? 1 : 0) : null),
  );
  perTarget(
    "leviathan_circuit_open",
    "1 when the target's breaker is open (consecutive_failures >= circuit_breaker_failures, as the tick decides), else 0 (absent until a tick recorded its threshold).",
    (t) =>
      t.circuit_open === null || t.circuit_open === undefined ? null : t.circuit_open ? 1 : 0,
  );
  perTarget(
    "leviathan_consecutive_failures",
    "Failed attempts of the target since its last success or circuit.reset.",
    (t) => t.consecutive_failures,
  );
  perTarget(
    "leviathan_running_attempts",
    "Attempts of the target not yet succeeded or failed.",
    (t) => t.running_attempts.length,
  );
  perTarget(
    "leviathan_open_prs",
    "Open pull requests of the target's attempts.",
    (t) => t.open_prs.length,
  );
  perTarget(
    "leviathan_tasks_blocked",
    "Tasks of the target that used all their attempts (task.blocked recorded).",
    (_t, id) => reading.blockedTasks.get(id) ?? 0,
  );
  new Gauge({
    name: "leviathan_attempts",
    help: "Attempts of the target by status (requested, created, running, succeeded, failed).",
    labelNames: ["target", "status"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, target] of Object.entries(reading.targets)) {
        for (const status of STATUSES) {
          this.set({ target: id, status }, target.attempts_by_status[status] ?? 0);
        }
      }
    },
  });
  new Counter({
    name: "leviathan_attempt_failures_total",
    help: "Failed attempts of the target by failure reason (the platform's reasons; other and unknown for the rest).",
    labelNames: ["target", "reason"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [id, reasons] of reading.failuresByReason) {
        for (const [reason, n] of reasons) this.inc({ target: id, reason }, n);
      }
    },
  });
  return {
    registry,
    ingested,
    duplicates,
    requestSeconds,
    fsyncSeconds,
    setTargets(next) {
      reading = next;
    },
  };
}
