import { appendFile, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  filesOf,
  items,
  makeTempDir,
  memoryLogger,
  silentLogger,
} from "../../test/support/store/store-helpers.ts";
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

/** 30 records over several segments; returns the segment names, oldest first. */
async function seedStore(): Promise<string[]> {
  const store = await openNdjsonStore({ dir, logger: silentLogger, segmentBytes: 2_500 });
  for (let i = 0; i < 6; i++) await store.append(items(i * 5 + 1, 5));
  await store.close();
  return [...(await filesOf(dir)).keys()];
}

async function editLines(name: string, edit: (lines: string[]) => string[]): Promise<void> {
  const path = join(dir, name);
  const lines = (await readFile(path, "utf8")).split("\n");
  await writeFile(path, edit(lines).join("\n"));
}

async function openError(): Promise<StoreCorruptError> {
  try {
    const store = await openNdjsonStore({ dir, logger: silentLogger, segmentBytes: 2_500 });
    await store.close();
  } catch (error) {
    expect(error).toBeInstanceOf(StoreCorruptError);
    return error as StoreCorruptError;
  }
  throw new Error("the store opened");
}

/** Opening fails naming file and line, and verifyStore names the same first bad line. */
async function expectCorruptAt(name: string, line: number, message: RegExp): Promise<void> {
  const error = await openError();
  expect(error.file).toBe(join(dir, name));
  expect(error.line).toBe(line);
  expect(error.problem).toMatch(message);
  expect(error.message).toBe(`${join(dir, name)}:${line}: ${error.problem}`);
  const report = await verifyStore(dir);
  expect(report.ok).toBe(false);
  expect(report.problem).toEqual({
    kind: "records",
    file: error.file,
    line: error.line,
    message: error.problem,
  });
}

describe("torn last line", () => {
  it("is truncated on open (with a warning) and appends continue the chain", async () => {
    const names = await seedStore();
    const last = join(dir, names.at(-1)!);
    const goodSize = (await stat(last)).size;
    await appendFile(last, '{"event":{"actor_id":"worker","event_id":"event-31"');

    const before = await verifyStore(dir);
    expect(before).toMatchObject({ ok: true, lastSeq: 30 });
    expect(before.torn?.file).toBe(last);

    const { logger, lines } = memoryLogger();
    const store = await openNdjsonStore({ dir, logger, segmentBytes: 2_500 });
    expect((await stat(last)).size).toBe(goodSize);
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes("torn"))).toBe(true);
    expect(store.stats().lastSeq).toBe(30);
    const tail = (await store.readAfter(29, 1))[0]!;
    const { records } = await store.append(items(31, 2));
    expect(records[0]).toMatchObject({ seq: 31, prev_hash: tail.hash });
    await store.close();
    expect(await verifyStore(dir)).toMatchObject({ ok: true, lastSeq: 32 });
    expect((await verifyStore(dir)).torn).toBeUndefined();
  });

  it("also covers an unparseable final line that has its newline", async () => {
    const names = await seedStore();
    const last = join(dir, names.at(-1)!);
    const goodSize = (await stat(last)).size;
    await appendFile(last, '{"event":{"act\u0000\u0000\n');
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    expect((await stat(last)).size).toBe(goodSize);
    expect(store.stats().lastSeq).toBe(30);
    await store.close();
  });

  it("empties a last segment whose only line was torn, and reuses it", async () => {
    await seedStore();
    const next = join(dir, "segment-00000000000000000031.ndjson");
    await writeFile(next, '{"event":');
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    expect((await stat(next)).size).toBe(0);
    const { records } = await store.append(items(31, 1));
    expect(records[0]!.seq).toBe(31);
    await store.close();
    expect((await stat(next)).size).toBeGreaterThan(0);
    expect(await verifyStore(dir)).toMatchObject({ ok: true, lastSeq: 31 });
  });
});

describe("corruption before the end", () => {
  it("names file and line for a flipped byte", async () => {
    const names = await seedStore();
    const name = names[1]!;
    const path = join(dir, name);
    const bytes = await readFile(path);
    const lineStarts = [0, ...[...bytes.entries()].filter(([, b]) => b === 10).map(([i]) => i + 1)];
    // Inside the payload's note ("xxxx…") of line 3: still valid JSON, different content.
    const at = bytes.indexOf("xxxxx", lineStarts[2]!);
    bytes[at] = bytes[at]! ^ 0x01;
    await writeFile(path, bytes);
    await expectCorruptAt(name, 3, /hash does not match/);
  });

  it("names file and line for a flipped byte that breaks the JSON", async () => {
    const names = await seedStore();
    const name = names[1]!;
    await editLines(name, (lines) =>
      lines.map((line, i) => (i === 1 ? line.replace('"seq":', '"seq"!') : line)),
    );
    await expectCorruptAt(name, 2, /not valid JSON/);
  });

  it("names file and line for a deleted line", async () => {
    const names = await seedStore();
    const name = names[2]!;
    await editLines(name, (lines) => lines.filter((_, i) => i !== 1));
    await expectCorruptAt(name, 2, /seq \d+ where \d+ was expected/);
  });

  it("names file and line for an edited payload with intact JSON, even in the last record", async () => {
    const names = await seedStore();
    const name = names.at(-1)!;
    await editLines(name, (lines) => {
      const last = lines.length - 2; // the final element is the empty string after the last newline
      lines[last] = lines[last]!.replace('"task_id":"task-1"', '"task_id":"task-2"');
      return lines;
    });
    const count = (await readFile(join(dir, name), "utf8")).trimEnd().split("\n").length;
    await expectCorruptAt(name, count, /hash does not match/);
  });

  it("names the broken link when a record is replaced by a self-consistent one", async () => {
    const names = await seedStore();
    const name = names[0]!;
    await editLines(name, (lines) => {
      const record = JSON.parse(lines[1]!);
      record.prev_hash = "0".repeat(64);
      return lines.map((line, i) => (i === 1 ? JSON.stringify(record) : line));
    });
    await expectCorruptAt(name, 2, /prev_hash does not match/);
  });

  it("names the segment after a missing one", async () => {
    const names = await seedStore();
    await rm(join(dir, names[1]!));
    await expectCorruptAt(names[2]!, 1, /a segment is missing/);
  });

  it("names a first segment that does not start at seq 1", async () => {
    const names = await seedStore();
    await rm(join(dir, names[0]!));
    await expectCorruptAt(names[1]!, 1, /a segment is missing/);
  });

  it("releases the lock when opening fails, so a repaired store opens", async () => {
    const names = await seedStore();
    const path = join(dir, names[1]!);
    const original = await readFile(path);
    await writeFile(path, original.toString("utf8").replace('"seq":', '"seq"!'));
    await openError();
    await writeFile(path, original);
    const store = await openNdjsonStore({ dir, logger: silentLogger });
    expect(store.stats().lastSeq).toBe(30);
    await store.close();
  });
});
