import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { EventStore } from "../../store/types.ts";

export interface ControlPlaneMetrics {
  registry: Registry;
  /** Events newly stored, by type. */
  ingested: Counter<"event_type">;
  /** Events acknowledged as already stored. */
  duplicates: Counter;
  requestSeconds: Histogram<"route" | "method" | "status">;
  fsyncSeconds: Histogram;
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
  return { registry, ingested, duplicates, requestSeconds, fsyncSeconds };
}
