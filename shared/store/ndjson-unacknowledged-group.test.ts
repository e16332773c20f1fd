import { spawn } from "node:child_process";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TSX_IMPORT } from "../../test/support/repo-root.ts";
import {
  items,
  makeTempDir,
  memoryLogger,
  silentLogger,
} from "../../test/support/store/store-helpers.ts";
import { ACK_WATERMARK_FILE, readAckWatermark } from "./ndjson/ack-watermark.ts";
import { openNdjsonStore } from "./ndjson/open-ndjson-store.ts";
import { StoreCorruptError } from "./types.ts";
import { verifyStore } from "./verify-store.ts";

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await makeTempDir());
});
afterEach(async () => {
  await cleanup();
});

const FIRST = "segment-00000000000000000001.ndjson";
const SECOND = "segment-00000000000000000022.ndjson";

/** Runs the fixture to its own SIGKILL; returns what it printed. */
function crash(mode: string): Promise<string> {
  const fixture = join(
    import.meta.dirname,
    "..",
    "..",
    "test",
    "fixtures",
    "store",
    "crash-mid-group.ts",
  );
  const child = spawn(process.execPath, ["--import", TSX_IMPORT, fixture, dir, mode], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let errors = "";
  child.stdout.on("data", (chunk) => {
    output += String(chunk);
  });
  child.stderr.on("data", (chunk) => {
    errors += String(chunk);
  });
  return new Promise((resolve, reject) => {
    child.once("close", (code, signal) => {
      if (signal === "SIGKILL") resolve(output);
      else reject(new Error(`the fixture exited with ${code ?? signal}: ${errors}`));
    });
  });
}

async function segmentNames(): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith("segment-")).sort();
}

async function openedAfterCrash(): Promise<{
  ids: string[];
  warnings: Array<Record<string, unknown>>;
}> {
  const { logger, lines } = memoryLogger();
  const store = await openNdjsonStore({ dir, logger });
  const ids = (await store.readAfter(0, 100)).map((r) => r.event.event_id);
  // The chain goes on from what was kept.
  const { records } = await store.append(items(100, 1));
  expect(records[0]!.seq).toBe(ids.length + 1);
  await store.close();
  expect(await verifyStore(dir)).toMatchObject({ ok: true, lastSeq: ids.length + 1 });
  return { ids, warnings: lines.filter((l) => l.level === 40) };
}

const acked = Array.from({ length: 20 }, (_, i) => `event-${i + 1}`);

describe("a group that died in its fsync with a damaged line in the middle", () => {
  it("is cut off at the damaged line on open; every acknowledged record stays", async () => {
    expect(await crash("same-segment")).toBe("acked 20\n");
    // Lines 23..25 of the file are whole records after the damaged line 22.
    const lines = (await readFile(join(dir, FIRST), "utf8")).trimEnd().split("\n");
    expect(lines).toHaveLength(25);
    expect(JSON.parse(lines[24]!).seq).toBe(25);

    const before = await verifyStore(dir);
    expect(before).toMatchObject({ ok: true, lastSeq: 21 });
    expect(before.torn).toMatchObject({
      kind: "unacknowledged-group",
      file: join(dir, FIRST),
      line: 22,
    });

    const { ids, warnings } = await openedAfterCrash();
    // Record 21 was never acknowledged either, but it is whole and before the damage: kept.
    expect(ids).toEqual([...acked, "event-21"]);
    expect(warnings.some((w) => String(w.msg).includes("never acknowledged"))).toBe(true);
  });

  it("is cut off inside the segment the group created", async () => {
    expect(await crash("new-segment")).toBe("acked 20\n");
    expect(await segmentNames()).toEqual([FIRST, SECOND]);
    const { ids } = await openedAfterCrash();
    expect(ids).toEqual([...acked, "event-21", "event-22"]);
  });

  it("is cut off in an earlier segment, and the segment it created after that goes whole", async () => {
    expect(await crash("earlier-segment")).toBe("acked 20\n");
    expect(await segmentNames()).toEqual([FIRST, SECOND]);
    const before = await verifyStore(dir);
    expect(before).toMatchObject({ ok: true, lastSeq: 20 });
    expect(before.torn).toMatchObject({
      kind: "unacknowledged-group",
      file: join(dir, FIRST),
      line: 21,
    });
    const { ids } = await openedAfterCrash();
    expect(ids).toEqual(acked);
    expect(await segmentNames()).toEqual([FIRST]);
  });
});

describe("damage in acknowledged records", () => {
  it("is still refused, naming file and line, though the process died right after", async () => {
    expect(await crash("acked")).toBe("acked 20\nacked 25\n");
    const error = await openNdjsonStore({ dir, logger: silentLogger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as StoreCorruptError).file).toBe(join(dir, FIRST));
    expect((error as StoreCorruptError).line).toBe(22);
    expect((error as StoreCorruptError).problem).toMatch(/not valid JSON/);
    expect(await verifyStore(dir)).toMatchObject({
      ok: false,
      problem: { kind: "records", file: join(dir, FIRST), line: 22 },
    });
  });

  it("is refused when the watermark is missing: then nothing can be shown unacknowledged", async () => {
    expect(await crash("same-segment")).toBe("acked 20\n");
    await rm(join(dir, ACK_WATERMARK_FILE));
    const error = await openNdjsonStore({ dir, logger: silentLogger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as StoreCorruptError).line).toBe(22);
  });
});

describe("an acknowledged last line cut short", () => {
  async function closedStoreCutShort(): Promise<{ path: string; whole: number }> {
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    await store.append(items(1, 10));
    await store.close();
    const path = join(dir, FIRST);
    const text = await readFile(path, "utf8");
    const lastStart = text.lastIndexOf("\n", text.length - 2) + 1;
    await writeFile(path, text.slice(0, lastStart + 40));
    return { path, whole: lastStart };
  }

  it("is refused, not cut off: record 10 was acknowledged", async () => {
    const { path } = await closedStoreCutShort();
    // Without the snapshot, which would see the record missing: the watermark alone refuses.
    await rm(join(dir, "snapshot.bin"));
    const error = await openNdjsonStore({ dir, logger: silentLogger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as StoreCorruptError).file).toBe(path);
    expect((error as StoreCorruptError).line).toBe(10);
    expect((error as StoreCorruptError).problem).toMatch(/seq 10 was acknowledged/);
    expect(await verifyStore(dir)).toMatchObject({ ok: false, problem: { line: 10 } });
  });

  it("is cut off as an unfinished append when there is no watermark (a copy, an older store)", async () => {
    const { path, whole } = await closedStoreCutShort();
    // As a restore copies them: segments only, nothing derived.
    await rm(join(dir, "snapshot.bin"));
    await rm(join(dir, ACK_WATERMARK_FILE));
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    expect(store.stats().lastSeq).toBe(9);
    await store.close();
    expect((await readFile(path)).length).toBe(whole);
  });
});

describe("the acknowledgement watermark", () => {
  it("is on disk at or above every seq by the time its append resolves", async () => {
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    expect(await readAckWatermark(dir)).toBe(0);
    for (let round = 0; round < 5; round++) {
      const outcomes = await Promise.all(
        Array.from({ length: 4 }, (_, i) => store.append(items(round * 10 + i * 2 + 1, 2))),
      );
      for (const outcome of outcomes) {
        for (const record of outcome.records) {
          expect(await readAckWatermark(dir)).toBeGreaterThanOrEqual(record.seq);
        }
      }
    }
    await store.close();
    expect(await readAckWatermark(dir)).toBe(40);
  });
});
