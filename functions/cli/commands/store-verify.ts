import { isPostgresUrl, redactPostgresUrl } from "../../../shared/store/postgres/postgres-url.ts";
import {
  type VerifyProblemKind,
  type VerifyReport,
  verifyStore,
} from "../../../shared/store/verify-store.ts";
import { type Command, UsageError } from "../command.ts";
import { EXIT } from "../exit-codes.ts";
import { readKeyFile, storeLocationFrom } from "../store-location.ts";

/** A script can tell damage from tampering from a cut tail without parsing the message. */
const EXIT_CODES: Record<VerifyProblemKind, number> = {
  records: EXIT.failed,
  checkpoints: EXIT.checkpointsContradicted,
  "expect-seq": EXIT.belowExpectedSeq,
};

export const command: Command = {
  usage: "leviathan store verify [dir|URL] [--key-file FILE] [--expect-seq N]",
  summary: "Check an event store's lines, sequence numbers and hash chain, and its checkpoints.",
  help:
    "Reads every segment file in order and recomputes every record's hash. Prints one OK line\n" +
    "(records, segments, last seq, last hash) and exits 0, or prints <file>:<line>: <problem>\n" +
    "for the first problem. Safe to run while the control plane is writing.\n\n" +
    "A chain alone does not stop someone who can write the volume from rewriting history and\n" +
    "re-chaining it, or from cutting its tail:\n" +
    "  --key-file FILE  the secret the control plane keys its checkpoints from (the content of\n" +
    "                   LEVIATHAN_STORE_KEY, or CONTROL_PLANE_TOKEN when that is not set):\n" +
    "                   every checkpoint's MAC is checked, and every record a checkpoint names\n" +
    "                   must have the hash it authenticates and still be in the store\n" +
    "  --expect-seq N   the store must reach seq N (a seq seen before, from GET /v1/store/head\n" +
    "                   or the leviathan_store_head_seq metric)\n\n" +
    "Exit codes: 0 sound; 1 a damaged record (opening the store refuses it); 3 the records\n" +
    "contradict the checkpoints, or a checkpoint does not verify; 4 the store ends below\n" +
    "--expect-seq; 2 a bad invocation.\n\n" +
    "A postgres:// URL checks a PostgreSQL store the same way (every row, the head row, the\n" +
    "checkpoints table), in one read-only transaction; problems name the table and the seq.\n\n" +
    "The store defaults to LEVIATHAN_STORE_URL (or LEVIATHAN_STORE_URL_FILE) when set, else\n" +
    "LEVIATHAN_DATA_DIR, else <LEVIATHAN_HOME>/events (LEVIATHAN_HOME: ./.data).",
  options: {
    "key-file": { type: "string" },
    "expect-seq": { type: "string" },
  },
  async run({ values, positionals, env, stdout, stderr }) {
    if (positionals.length > 1) throw new UsageError("takes at most one directory or URL");
    const location = storeLocationFrom(positionals[0], env);
    const expectSeq = parseExpectSeq(values["expect-seq"]);
    const keyFile = values["key-file"];
    const key = typeof keyFile === "string" ? await readKeyFile(keyFile) : undefined;
    const options = {
      ...(key ? { key } : {}),
      ...(expectSeq !== undefined ? { expectSeq } : {}),
    };
    const postgres = isPostgresUrl(location);
    const report = postgres
      ? await (
          await import("../../../shared/store/postgres/verify-postgres-store.ts")
        ).verifyPostgresStore(location, options)
      : await verifyStore(location, options);
    const shown = postgres ? redactPostgresUrl(location) : location;
    if (report.problem) {
      const { kind, file, line, message } = report.problem;
      stdout.write(`${line > 0 ? `${file}:${line}` : file}: ${message}\n`);
      return EXIT_CODES[kind];
    }
    const where = postgres ? "PostgreSQL" : `${report.segments} segments`;
    stdout.write(
      `OK ${shown}: ${report.records} records in ${where}, ` +
        `last seq ${report.lastSeq}, last hash ${report.lastHash ?? "none"}\n`,
    );
    writeCheckpointLine(report, stdout, stderr);
    if (report.torn) {
      const { kind, file, line, bytes, reason } = report.torn;
      const what = kind === "torn-line" ? "an unfinished append" : "a group never acknowledged";
      stderr.write(
        `note: ${file}:${line}: ${reason}; ${bytes} bytes of ${what}, ` +
          "cut off when the store is next opened\n",
      );
    }
    return 0;
  },
};

function writeCheckpointLine(
  report: VerifyReport,
  stdout: NodeJS.WritableStream,
  stderr: NodeJS.WritableStream,
): void {
  if (!report.checkpoints) {
    stderr.write("note: checkpoints were not checked (no --key-file)\n");
    return;
  }
  const { checked, latest } = report.checkpoints;
  stdout.write(
    latest
      ? `checkpoints: ${checked} verified, the latest at seq ${latest.seq} (mac ${latest.mac})\n`
      : "checkpoints: none written yet\n",
  );
}

function parseExpectSeq(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const seq = Number(value);
  if (typeof value !== "string" || !/^\d+$/.test(value) || !Number.isSafeInteger(seq)) {
    throw new UsageError("--expect-seq takes a whole number ≥ 0");
  }
  return seq;
}
