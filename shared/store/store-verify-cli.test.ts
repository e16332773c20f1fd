import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CliRun, runLeviathan } from "../../test/support/run-leviathan.ts";
import {
  filesOf,
  items,
  makeTempDir,
  silentLogger,
} from "../../test/support/store/store-helpers.ts";
import { openNdjsonStore } from "./ndjson/open-ndjson-store.ts";

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir: home, cleanup } = await makeTempDir());
});
afterEach(async () => {
  await cleanup();
});

function leviathan(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runLeviathan(args, { env, unset: ["LEVIATHAN_DATA_DIR", "LEVIATHAN_HOME"] });
}

async function seed(dir: string): Promise<string> {
  const store = await openNdjsonStore({ dir, logger: silentLogger, segmentBytes: 2_000 });
  for (let i = 0; i < 4; i++) await store.append(items(i * 4 + 1, 4));
  const { lastHash } = store.stats();
  await store.close();
  return lastHash!;
}

describe("leviathan store verify", () => {
  it("prints one OK line for a sound store, found under LEVIATHAN_HOME by default", async () => {
    const events = join(home, "events");
    const lastHash = await seed(events);
    const segments = (await filesOf(events)).size;
    const run = await leviathan(["store", "verify"], { LEVIATHAN_HOME: home });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      `OK ${events}: 16 records in ${segments} segments, last seq 16, last hash ${lastHash}\n`,
    );
  });

  it("names the first bad line as file:line and exits 1", async () => {
    const events = join(home, "custom");
    await seed(events);
    const [, second] = [...(await filesOf(events)).keys()];
    const path = join(events, second!);
    const lines = (await readFile(path, "utf8")).split("\n");
    lines[1] = lines[1]!.replace('"task_id":"task-1"', '"task_id":"task-X"');
    await writeFile(path, lines.join("\n"));
    // LEVIATHAN_DATA_DIR wins over LEVIATHAN_HOME; an argument wins over both.
    const byEnv = await leviathan(["store", "verify"], {
      LEVIATHAN_DATA_DIR: events,
      LEVIATHAN_HOME: "/nonexistent",
    });
    expect(byEnv.code).toBe(1);
    expect(byEnv.stdout).toBe(
      `${path}:2: hash does not match the record's content (the record was edited)\n`,
    );
    const byArg = await leviathan(["store", "verify", events], {
      LEVIATHAN_DATA_DIR: "/nonexistent",
    });
    expect(byArg.code).toBe(1);
    expect(byArg.stdout).toBe(byEnv.stdout);
  });

  it("says clearly that a directory is missing, and exits 1", async () => {
    const missing = join(home, "nope");
    const run = await leviathan(["store", "verify", missing]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`no event store at ${missing}: the directory does not exist`);
  });
});
