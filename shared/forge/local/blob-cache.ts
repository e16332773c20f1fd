import { BoundedLru } from "../../cache/bounded-lru.ts";

/**
 * Blob contents by repository and object id. An id names its bytes for good, so a re-read of an
 * unchanged file (the tick's backlog, every few minutes for every target) starts no
 * `git cat-file`. Bounded by bytes; the least recently read go first; a blob larger than one
 * entry's limit is read every time instead of being kept.
 */
export interface BlobCache {
  read(gitDir: string, sha: string, load: () => Promise<Buffer>): Promise<Buffer>;
}

export const DEFAULT_BLOB_CACHE_BYTES = 32 * 1024 * 1024;
/** GitHub's inline limit for contents: larger files are rare reads, not worth the room. */
const MAX_BLOB_BYTES = 1024 * 1024;

export function createBlobCache(maxBytes = DEFAULT_BLOB_CACHE_BYTES): BlobCache {
  const blobs = new BoundedLru<Buffer>(maxBytes, MAX_BLOB_BYTES);
  return {
    async read(gitDir, sha, load) {
      const key = `${gitDir}\0${sha}`;
      const known = blobs.get(key);
      if (known) return known;
      const bytes = await load();
      blobs.set(key, bytes, bytes.length);
      return bytes;
    },
  };
}
