import { BoundedLru } from "../cache/bounded-lru.ts";
import { parseBacklog } from "./parse-backlog.ts";
import type { BacklogParse } from "./types.ts";

/** A backlog file as the forge has it: its text and its git blob sha. */
export interface BacklogBlob {
  text: string;
  sha: string;
}

export interface BacklogCache {
  /** The parse of this blob: parsed once, then answered from memory while the process lives. */
  parse(blob: BacklogBlob, file: string): BacklogParse;
  readonly stats: { hits: number; parses: number };
}

/** At most this much backlog text is remembered (its parse takes a few times that in memory). */
export const DEFAULT_BACKLOG_CACHE_BYTES = 32 * 1024 * 1024;

/**
 * Parses of backlogs by blob sha: a blob's content never changes, so an unchanged backlog —
 * the usual case, every few minutes — is not parsed again. Least recently used parses go first
 * beyond `maxBytes` of text. A parse is shared between ticks: nothing may change it.
 */
export function createBacklogCache(maxBytes = DEFAULT_BACKLOG_CACHE_BYTES): BacklogCache {
  const parses = new BoundedLru<BacklogParse>(maxBytes);
  const stats = { hits: 0, parses: 0 };
  return {
    parse(blob, file) {
      const key = `${file}\0${blob.sha}`;
      const found = parses.get(key);
      if (found) {
        stats.hits++;
        return found;
      }
      stats.parses++;
      const parse = parseBacklog(blob.text, file);
      parses.set(key, parse, blob.text.length);
      return parse;
    },
    stats,
  };
}
