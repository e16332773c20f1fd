import type { StoredRecord } from "../../events/types.ts";
import { sha256Hex } from "../encode-record.ts";

/** `,"hash":"<64 hex>"}`: the store writes the hash as the canonical text's last key. */
const SUFFIX_LENGTH = 75;
const SUFFIX_HEAD = ',"hash":"';

export type StoredTextCheck = { ok: true; record: StoredRecord } | { ok: false; problem: string };

/**
 * The check a control plane makes on every row it loads: the text is what the store writes (the
 * canonical JSON of the record without `hash`, then `hash` as the last key), its digest is that
 * hash, and it links to the previous record. One SHA-256 per row and no re-serialisation;
 * `store verify` goes further and re-canonicalises every record.
 */
export function checkStoredText(
  text: string,
  expectedSeq: number,
  prevHash: string | null,
): StoredTextCheck {
  const suffix = text.slice(-SUFFIX_LENGTH);
  if (!suffix.startsWith(SUFFIX_HEAD) || !suffix.endsWith('"}')) {
    return { ok: false, problem: "the record does not end with its hash" };
  }
  const hash = suffix.slice(SUFFIX_HEAD.length, -2);
  if (sha256Hex(`${text.slice(0, -SUFFIX_LENGTH)}}`) !== hash) {
    return {
      ok: false,
      problem: "hash does not match the record's content (the record was edited)",
    };
  }
  let record: StoredRecord;
  try {
    record = JSON.parse(text) as StoredRecord;
  } catch {
    return { ok: false, problem: "the record is not valid JSON" };
  }
  if (record.seq !== expectedSeq) {
    return {
      ok: false,
      problem: `seq ${record.seq} where ${expectedSeq} was expected (a record is missing, repeated or out of order)`,
    };
  }
  if (record.prev_hash !== prevHash) {
    return {
      ok: false,
      problem: "prev_hash does not match the previous record's hash (the chain is broken)",
    };
  }
  return { ok: true, record };
}
