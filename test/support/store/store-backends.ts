// The event store's backends as its contract tests see them: a fresh location, open, verify.
import { afterAll, beforeAll } from "vitest";
import type { Logger } from "../../../shared/log/logger.ts";
import { openNdjsonStore } from "../../../shared/store/ndjson/open-ndjson-store.ts";
import { openPostgresStore } from "../../../shared/store/postgres/open-postgres-store.ts";
import { verifyPostgresStore } from "../../../shared/store/postgres/verify-postgres-store.ts";
import type { EventStore, FsyncObserver, Projection } from "../../../shared/store/types.ts";
import { type VerifyReport, verifyStore } from "../../../shared/store/verify-store.ts";
import { startTestPostgres, type TestPostgres } from "../embedded-postgres.ts";
import { tempDir } from "../temp-dir.ts";

export interface BackendOpenOptions {
  logger: Logger;
  projections?: Projection[];
  now?: () => Date;
  onFsync?: FsyncObserver;
  checkpointKey?: Buffer;
}

export interface StoreBackend {
  name: "ndjson" | "postgres";
  /** A new empty store: a directory, or a database. */
  fresh(): Promise<string>;
  open(location: string, options: BackendOpenOptions): Promise<EventStore>;
  verify(location: string, key?: Buffer): Promise<VerifyReport>;
}

/**
 * Both backends, for `describe.each`. The PostgreSQL server is started once per test file (in
 * beforeAll, only when a PostgreSQL test runs) and every `fresh()` is a new database on it.
 */
export function storeBackends(): StoreBackend[] {
  let server: TestPostgres | undefined;
  let starting: Promise<TestPostgres> | undefined;
  beforeAll(async () => {
    starting ??= startTestPostgres();
    server = await starting;
  });
  afterAll(async () => {
    await server?.stop();
  });
  return [
    {
      name: "ndjson",
      fresh: async () => tempDir("leviathan-store-"),
      // Small segments: every contract test also crosses segment files (paging, reopen, chain).
      open: (dir, options) => openNdjsonStore({ dir, segmentBytes: 2_000, ...options }),
      verify: (dir, key) => verifyStore(dir, key ? { key } : {}),
    },
    {
      name: "postgres",
      fresh: async () => {
        if (!server) throw new Error("the test PostgreSQL server is not running");
        return server.createDatabase();
      },
      open: (url, options) => openPostgresStore({ url, ...options }),
      verify: (url, key) => verifyPostgresStore(url, key ? { key } : {}),
    },
  ];
}
