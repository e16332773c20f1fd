import { createLogger } from "../../../shared/log/logger.ts";
import { readCheckpointFile } from "../../../shared/store/checkpoints/checkpoint-file.ts";
import { openNdjsonStore } from "../../../shared/store/ndjson/open-ndjson-store.ts";
import { isPostgresUrl, redactPostgresUrl } from "../../../shared/store/postgres/postgres-url.ts";
import { type Command, UsageError } from "../command.ts";
import { readKeyFile, storeUrlFrom } from "../store-location.ts";

export const command: Command = {
  usage: "leviathan store copy --from DIR --to URL [--key-file FILE]",
  summary: "Move an NDJSON event store into PostgreSQL, then verify the copy.",
  help:
    "Opens the NDJSON store in DIR (taking its lock: stop the control plane first), creates or\n" +
    "migrates the schema at URL, and copies every record byte for byte with its checkpoints,\n" +
    "5,000 records a transaction. The destination must be empty or hold the start of the same\n" +
    "store (an interrupted copy resumes where it stopped); anything else is refused. Then the\n" +
    "copy is verified as `store verify URL` does, and must end at the source's last seq and hash.\n\n" +
    "  --key-file FILE  the checkpoint secret (LEVIATHAN_STORE_KEY, else CONTROL_PLANE_TOKEN):\n" +
    "                   the copied checkpoints are verified too\n\n" +
    "URL defaults to LEVIATHAN_STORE_URL (or LEVIATHAN_STORE_URL_FILE). Exit 0 when the copy\n" +
    "verifies, 1 when it was refused or does not verify, 2 on a bad invocation.",
  options: {
    from: { type: "string" },
    to: { type: "string" },
    "key-file": { type: "string" },
  },
  async run({ values, positionals, env, stdout, stderr }) {
    if (positionals.length > 0) throw new UsageError("takes --from DIR and --to URL, no arguments");
    const dir = values.from;
    if (typeof dir !== "string" || !dir) throw new UsageError("--from DIR is required");
    const to = typeof values.to === "string" ? values.to : storeUrlFrom(env);
    if (!to || !isPostgresUrl(to)) {
      throw new UsageError("--to must be a postgres:// URL (or set LEVIATHAN_STORE_URL)");
    }
    const keyFile = values["key-file"];
    const key = typeof keyFile === "string" ? await readKeyFile(keyFile) : undefined;
    const shown = redactPostgresUrl(to);
    const { copyToPostgres, CopyRefusedError } = await import(
      "../../../shared/store/postgres/copy-to-postgres.ts"
    );
    const { verifyPostgresStore } = await import(
      "../../../shared/store/postgres/verify-postgres-store.ts"
    );
    const source = await openNdjsonStore({
      dir,
      logger: createLogger("store-copy", { level: "warn" }),
    });
    let copied: Awaited<ReturnType<typeof copyToPostgres>>;
    const { lastSeq, lastHash } = source.stats();
    try {
      const read = await readCheckpointFile(dir);
      const checkpoints = "checkpoints" in read ? read.checkpoints : [];
      copied = await copyToPostgres(
        {
          lastSeq,
          lastHash,
          readAfter: (after, limit) => source.readAfter(after, limit),
          checkpoints,
        },
        to,
      );
    } catch (error) {
      if (!(error instanceof CopyRefusedError)) throw error;
      stderr.write(`leviathan store copy: ${error.message}\n`);
      return 1;
    } finally {
      // Nothing was appended: closing writes no checkpoint, only the snapshot if it was stale.
      await source.close();
    }
    stdout.write(
      `copied ${copied.copied} records${copied.already > 0 ? ` (${copied.already} were already there)` : ""} ` +
        `and ${copied.checkpoints} checkpoints from ${dir} to ${shown}\n`,
    );
    const report = await verifyPostgresStore(to, { ...(key ? { key } : {}), expectSeq: lastSeq });
    if (report.problem) {
      const { file, line, message } = report.problem;
      stdout.write(`${file}:${line}: ${message}\n`);
      return 1;
    }
    if (report.lastSeq !== lastSeq || report.lastHash !== lastHash) {
      stdout.write(
        `${shown}: ends at seq ${report.lastSeq} (${report.lastHash}), the source at seq ${lastSeq} (${lastHash})\n`,
      );
      return 1;
    }
    stdout.write(
      `OK ${shown}: ${report.records} records in PostgreSQL, last seq ${report.lastSeq}, ` +
        `last hash ${report.lastHash ?? "none"}${key ? `, ${report.checkpoints?.checked ?? 0} checkpoints verified` : ""}\n`,
    );
    return 0;
  },
};
