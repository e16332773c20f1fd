import { eventsDirFrom } from "../../../shared/store/events-dir.ts";
import { verifyStore } from "../../../shared/store/verify-store.ts";
import { type Command, UsageError } from "../command.ts";

export const command: Command = {
  usage: "leviathan store verify [dir]",
  summary: "Check an event store's lines, sequence numbers and hash chain.",
  help:
    "Reads every segment file in order and recomputes every record's hash. Prints one OK line\n" +
    "(records, segments, last seq, last hash) and exits 0, or prints <file>:<line>: <problem>\n" +
    "for the first bad line and exits 1. Safe to run while the control plane is writing.\n\n" +
    "dir defaults to LEVIATHAN_DATA_DIR, else <LEVIATHAN_HOME>/events (LEVIATHAN_HOME: ./.data).",
  async run({ positionals, env, stdout, stderr }) {
    if (positionals.length > 1) throw new UsageError("takes at most one directory");
    const dir = positionals[0] ?? eventsDirFrom(env);
    const report = await verifyStore(dir);
    if (report.problem) {
      const { file, line, message } = report.problem;
      stdout.write(`${file}:${line}: ${message}\n`);
      return 1;
    }
    stdout.write(
      `OK ${dir}: ${report.records} records in ${report.segments} segments, ` +
        `last seq ${report.lastSeq}, last hash ${report.lastHash ?? "none"}\n`,
    );
    if (report.torn) {
      const { file, line, bytes, reason } = report.torn;
      stderr.write(
        `note: ${file}:${line}: ${reason}; ${bytes} bytes of an unfinished append, ` +
          "truncated when the store is next opened\n",
      );
    }
    return 0;
  },
};
