import { type Command, UsageError } from "../command.ts";
import { storeUrlFrom } from "../store-location.ts";

export const command: Command = {
  usage: "leviathan store migrate [URL]",
  summary: "Create or upgrade the PostgreSQL event store's schema, and nothing else.",
  help:
    "The control plane does the same on start; run it alone to prepare a database before\n" +
    "the first control plane, or to upgrade while none runs. Safe to run again, and beside\n" +
    "other control planes (migrations take turns on an advisory lock). Prints the schema\n" +
    "version before and after.\n\n" +
    "URL defaults to LEVIATHAN_STORE_URL, or the content of the file LEVIATHAN_STORE_URL_FILE names.",
  async run({ positionals, env, stdout }) {
    if (positionals.length > 1) throw new UsageError("takes at most one URL");
    const url = positionals[0] ?? storeUrlFrom(env);
    if (!url) throw new UsageError("give a postgres:// URL, or set LEVIATHAN_STORE_URL");
    const { isPostgresUrl, redactPostgresUrl } = await import(
      "../../../shared/store/postgres/postgres-url.ts"
    );
    if (!isPostgresUrl(url)) throw new UsageError("the URL must start with postgres://");
    const { default: pg } = await import("pg");
    const { migrateStoreSchema } = await import("../../../shared/store/postgres/store-schema.ts");
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      const { from, to } = await migrateStoreSchema(client);
      stdout.write(
        from === to
          ? `${redactPostgresUrl(url)}: schema version ${to}, up to date\n`
          : `${redactPostgresUrl(url)}: schema version ${from} → ${to}\n`,
      );
      return 0;
    } finally {
      await client.end().catch(() => undefined);
    }
  },
};
