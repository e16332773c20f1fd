// The control plane as the throughput benchmarks run it, in a child process of its own:
// `node --import tsx test/bench/bench-server.ts` with LEVIATHAN_DATA_DIR, CONTROL_PLANE_TOKEN and
// BENCH_FSYNC_MODE (group | per-append). The same startControlPlane() as `leviathan
// control-plane`, plus the one option the CLI does not expose: the fsync mode.
import { startControlPlane } from "../../shared/control-plane/server/start-control-plane.ts";
import { createLogger } from "../../shared/log/logger.ts";
import type { FsyncMode } from "../../shared/store/ndjson/open-ndjson-store.ts";

const dataDir = process.env.LEVIATHAN_DATA_DIR;
const token = process.env.CONTROL_PLANE_TOKEN;
const mode = process.env.BENCH_FSYNC_MODE ?? "group";
if (!dataDir || !token || (mode !== "group" && mode !== "per-append")) {
  process.stderr.write(
    "bench-server: needs LEVIATHAN_DATA_DIR, CONTROL_PLANE_TOKEN, BENCH_FSYNC_MODE\n",
  );
  process.exit(2);
}
const running = await startControlPlane({
  dataDir,
  token,
  port: 0,
  host: "127.0.0.1",
  fsyncMode: mode satisfies FsyncMode,
  logger: createLogger("bench-control-plane", { level: process.env.LOG_LEVEL ?? "warn" }),
});
process.stdout.write(`control plane listening on ${running.url} (fsync ${mode})\n`);
process.once("SIGTERM", () => {
  void running.close().then(() => process.exit(0));
});
