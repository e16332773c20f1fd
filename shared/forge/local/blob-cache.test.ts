import { describe, expect, it } from "vitest";
import { createBlobCache } from "./blob-cache.ts";

/** A cache read that says whether it had to load. */
function reader(cache: ReturnType<typeof createBlobCache>) {
  return async (gitDir: string, sha: string, bytes: number) => {
    let loaded = false;
    await cache.read(gitDir, sha, async () => {
      loaded = true;
      return Buffer.alloc(bytes);
    });
    return loaded;
  };
}

describe("blob cache", () => {
  it("loads a blob once per repository, and drops the least recently read past its bytes", async () => {
    const read = reader(createBlobCache(10));
    expect(await read("a.git", "1", 4)).toBe(true);
    expect(await read("a.git", "1", 4)).toBe(false);
    // The same id in another repository is that repository's read.
    expect(await read("b.git", "1", 4)).toBe(true);
    expect(await read("a.git", "1", 4)).toBe(false);
    // 12 bytes > 10: b's blob, read longest ago, goes; a's stays.
    expect(await read("a.git", "2", 4)).toBe(true);
    expect(await read("a.git", "1", 4)).toBe(false);
    expect(await read("b.git", "1", 4)).toBe(true);
  });

  it("never keeps a blob over 1 MB", async () => {
    const read = reader(createBlobCache());
    expect(await read("a.git", "big", 1024 * 1024 + 1)).toBe(true);
    expect(await read("a.git", "big", 1024 * 1024 + 1)).toBe(true);
  });
});
