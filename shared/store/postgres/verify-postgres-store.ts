import pg from "pg";
import { checkRecordLine } from "../check-record.ts";
import { macMatches } from "../checkpoints/checkpoint-mac.ts";
import type { VerifyOptions, VerifyProblem, VerifyReport } from "../verify-store.ts";
import { redactPostgresUrl } from "./postgres-url.ts";

const PAGE_ROWS = 10_000;

interface EventRow {
  seq: string;
  event_id: string;
  target: string;
  event_type: string;
  received_at: string;
  hash: string;
  record: string;
}

/**
 * Checks a PostgreSQL event store as `verifyStore` checks a directory: every record's shape,
 * seq, link and hash (re-canonicalised), that the columns agree with the record, that the head
 * row names the last record; with a key every checkpoint's MAC and the record it names; with
 * `expectSeq`, the length. Problems name the table and use the seq as the line. Reads in one
 * REPEATABLE READ transaction, so it sees one consistent state beside live writers.
 */
export async function verifyPostgresStore(
  url: string,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const location = redactPostgresUrl(url);
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  let records = 0;
  let lastSeq = 0;
  let lastHash: string | null = null;
  let checked = 0;
  let latest: { seq: number; hash: string; mac: string; line: number } | null = null;
  const report = (problem?: VerifyProblem): VerifyReport => ({
    ok: !problem,
    records,
    segments: 0,
    lastSeq,
    lastHash,
    ...(options.key ? { checkpoints: { checked, latest } } : {}),
    ...(problem ? { problem } : {}),
  });
  const at = (table: string, seq: number, kind: VerifyProblem["kind"], message: string) =>
    report({ kind, file: `${location} ${table}`, line: seq, message });
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const schema = await client.query(
      "SELECT to_regclass('leviathan_events') IS NOT NULL AS present",
    );
    if (!schema.rows[0]?.present) {
      throw new Error(
        `no event store at ${location}: the schema is missing (run leviathan store migrate)`,
      );
    }
    const checkpoints = options.key
      ? (
          await client.query<{ seq: string; hash: string; mac: string }>(
            "SELECT seq, hash, mac FROM leviathan_checkpoints ORDER BY seq",
          )
        ).rows.map((row) => ({ seq: Number(row.seq), hash: row.hash, mac: row.mac }))
      : [];
    if (options.key) {
      for (const checkpoint of checkpoints) {
        if (!macMatches(options.key, checkpoint.seq, checkpoint.hash, checkpoint.mac)) {
          return at(
            "leviathan_checkpoints",
            checkpoint.seq,
            "checkpoints",
            `the checkpoint at seq ${checkpoint.seq} does not verify under this key: it was forged or altered, or written under another key`,
          );
        }
        checked++;
        latest = { ...checkpoint, line: checkpoint.seq };
      }
    }
    const bySeq = new Map(checkpoints.map((c) => [c.seq, c]));
    for (;;) {
      const { rows } = await client.query<EventRow>(
        "SELECT seq, event_id, target, event_type, received_at, hash, record FROM leviathan_events WHERE seq > $1 ORDER BY seq LIMIT $2",
        [lastSeq, PAGE_ROWS],
      );
      for (const row of rows) {
        const seq = Number(row.seq);
        const line = checkRecordLine(row.record, lastSeq + 1, lastHash);
        // Named by the seq expected, as opening the store names it: a missing row is seq N's.
        if (!line.ok) return at("leviathan_events", lastSeq + 1, "records", line.problem);
        const { record } = line;
        if (
          record.seq !== seq ||
          record.event.event_id !== row.event_id ||
          record.target !== row.target ||
          record.event.event_type !== row.event_type ||
          record.received_at !== row.received_at ||
          record.hash !== row.hash
        ) {
          return at(
            "leviathan_events",
            seq,
            "records",
            "the row's columns do not match its record (the row was edited)",
          );
        }
        const checkpoint = bySeq.get(seq);
        if (checkpoint && checkpoint.hash !== record.hash) {
          return at(
            "leviathan_events",
            seq,
            "checkpoints",
            `record ${seq} differs from the one the checkpoint at seq ${seq} authenticates: a record up to it was rewritten and the chain recomputed`,
          );
        }
        records++;
        lastSeq = seq;
        lastHash = record.hash;
      }
      if (rows.length < PAGE_ROWS) break;
    }
    const head = await client.query<{ seq: string; hash: string | null }>(
      "SELECT seq, hash FROM leviathan_store_head WHERE id = 1",
    );
    const headRow = head.rows[0];
    if (!headRow || Number(headRow.seq) !== lastSeq || headRow.hash !== lastHash) {
      return at(
        "leviathan_store_head",
        lastSeq,
        "records",
        `the head row says seq ${headRow?.seq ?? "none"}, the records end at seq ${lastSeq} (rows were deleted or the head edited)`,
      );
    }
    const beyond = checkpoints.find((c) => c.seq > lastSeq);
    if (beyond) {
      return at(
        "leviathan_checkpoints",
        beyond.seq,
        "checkpoints",
        `the checkpoint at seq ${beyond.seq} names a record the store no longer has: it ends at seq ${lastSeq}, so records ${lastSeq + 1}..${beyond.seq} were cut off`,
      );
    }
    if (options.expectSeq !== undefined && lastSeq < options.expectSeq) {
      return at(
        "leviathan_events",
        lastSeq + 1,
        "expect-seq",
        `the store ends at seq ${lastSeq}, below the expected seq ${options.expectSeq}: records ${lastSeq + 1}..${options.expectSeq} are missing (the tail was cut, or this copy is older)`,
      );
    }
    return report();
  } finally {
    await client.query("ROLLBACK").catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
