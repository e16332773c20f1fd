// Shared by the event store's tests: real temp directories, real files, a logger that keeps lines.
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import type { StoredRecord } from "../../../shared/events/types.ts";
import type { Logger } from "../../../shared/log/logger.ts";
import type { AppendItem, Projection } from "../../../shared/store/types.ts";

export async function makeTempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "leviathan-store-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function item(id: string | number, payload: Record<string, unknown> = {}): AppendItem {
  return {
    target: "radix",
    event: {
      event_id: typeof id === "number" ? `event-${id}` : id,
      event_type: "attempt.started",
      timestamp: "2024-05-01T12:00:00Z",
      actor_id: "worker",
      payload: {
        attempt_id: `attempt-${id}`,
        task_id: "task-1",
        note: "x".repeat(100),
        ...payload,
      },
    },
  };
}

export function items(from: number, count: number): AppendItem[] {
  return Array.from({ length: count }, (_, i) => item(from + i));
}

/** A pino logger whose lines can be inspected. */
export function memoryLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: "debug" }, stream), lines };
}

export const silentLogger: Logger = pino({ level: "silent" });

/** Every file in a directory and its bytes, to prove files did or did not change. */
export async function filesOf(dir: string, filter = /^segment-/): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) {
    if (filter.test(name)) files.set(name, await readFile(join(dir, name)));
  }
  return files;
}

/** Counts records per event type; remembers how many records it was shown. */
export class CountingProjection implements Projection {
  readonly name = "counting";
  applied = 0;
  private state = { byType: {} as Record<string, number>, seqSum: 0, lastSeq: 0 };

  apply(record: StoredRecord): void {
    this.applied++;
    this.state.byType[record.event.event_type] =
      (this.state.byType[record.event.event_type] ?? 0) + 1;
    this.state.seqSum += record.seq;
    this.state.lastSeq = record.seq;
  }

  /** Two parts, so the store's handling of several is exercised by every test that snapshots. */
  snapshot(): Array<Record<string, unknown>> {
    const { byType, ...counts } = this.state;
    return [{ byType }, counts];
  }

  restore(parts: Iterable<unknown>): void {
    const all = [...parts] as Array<Record<string, unknown>>;
    if (all.length !== 2) throw new Error(`expected 2 parts, got ${all.length}`);
    this.state = structuredClone({ ...all[0], ...all[1] }) as typeof this.state;
  }
}

export { waitFor } from "../wait-for.ts";
