import { startControlPlane } from "../../shared/control-plane/server/start-control-plane.ts";
import { errorMessage } from "../../shared/errors/error-message.ts";
import { createLogger } from "../../shared/log/logger.ts";
import { stopSignal } from "../../shared/process/stop-signal.ts";
import { checkpointKeyFrom } from "../../shared/store/checkpoints/checkpoint-key.ts";
import { eventsDirFrom } from "../../shared/store/events-dir.ts";
import { isPostgresUrl, redactPostgresUrl } from "../../shared/store/postgres/postgres-url.ts";
import { StoreCorruptError, StoreLockedError } from "../../shared/store/types.ts";
import { readTokenVariable, TokenFileError } from "../../shared/tokens/read-token.ts";

export interface ControlPlaneIo {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Resolves when the process is asked to stop; default: the first SIGTERM or SIGINT. */
  stopSignal?: Promise<string>;
}

const NAME = "leviathan control-plane";

/**
 * `leviathan control-plane`: PORT (default 8000), LEVIATHAN_DATA_DIR (default
 * <LEVIATHAN_HOME>/events, as `store verify` and local mode use it), CONTROL_PLANE_TOKEN or
 * CONTROL_PLANE_TOKEN_FILE (required), LEVIATHAN_STORE_KEY or LEVIATHAN_STORE_KEY_FILE (the
 * checkpoints' secret; default: the token, through the same key derivation), LEVIATHAN_STORE_URL
 * or LEVIATHAN_STORE_URL_FILE (a postgres:// URL: the PostgreSQL store instead of the directory). Runs until SIGTERM/SIGINT, then drains and closes the
 * store: exit 0. Any start-up problem is one clear line on stderr and exit 1.
 */
export async function runControlPlane(io: ControlPlaneIo): Promise<number> {
  const { env, stdout, stderr } = io;
  let token: string | undefined;
  try {
    token = readTokenVariable(env, "CONTROL_PLANE_TOKEN");
  } catch (error) {
    if (!(error instanceof TokenFileError)) throw error;
    stderr.write(`${NAME}: ${error.message}; refusing to start without a token\n`);
    return 1;
  }
  if (!token) {
    stderr.write(
      `${NAME}: CONTROL_PLANE_TOKEN is not set (nor CONTROL_PLANE_TOKEN_FILE); refusing to start without a token\n`,
    );
    return 1;
  }
  const port = env.PORT ? Number(env.PORT) : 8000;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    stderr.write(`${NAME}: PORT must be a port number (0-65535)\n`);
    return 1;
  }
  let checkpointKey: Buffer;
  try {
    checkpointKey = checkpointKeyFrom(env, token).key;
  } catch (error) {
    if (!(error instanceof TokenFileError)) throw error;
    stderr.write(`${NAME}: ${error.message}; refusing to start without the store key\n`);
    return 1;
  }
  let storeUrl: string | undefined;
  try {
    storeUrl = readTokenVariable(env, "LEVIATHAN_STORE_URL");
  } catch (error) {
    if (!(error instanceof TokenFileError)) throw error;
    stderr.write(`${NAME}: ${error.message}; refusing to start without the store URL\n`);
    return 1;
  }
  if (storeUrl !== undefined && !isPostgresUrl(storeUrl)) {
    stderr.write(`${NAME}: LEVIATHAN_STORE_URL must be a postgres:// URL\n`);
    return 1;
  }
  const dataDir = eventsDirFrom(env);
  const where = storeUrl ? redactPostgresUrl(storeUrl) : dataDir;
  const stop = io.stopSignal ?? stopSignal();
  let running: Awaited<ReturnType<typeof startControlPlane>>;
  try {
    running = await startControlPlane({
      dataDir,
      ...(storeUrl ? { storeUrl } : {}),
      token,
      checkpointKey,
      port,
      logger: createLogger("control-plane"),
    });
  } catch (error) {
    stderr.write(`${NAME}: ${startFailure(error, where, port)}\n`);
    return 1;
  }
  stdout.write(`control plane listening on ${running.url} (event store ${where})\n`);
  const signal = await stop;
  stderr.write(`${NAME}: ${signal}: finishing in-flight requests and closing the event store\n`);
  await running.close();
  return 0;
}

function startFailure(error: unknown, where: string, port: number): string {
  if (error instanceof StoreLockedError) return `cannot start: ${error.message}`;
  if (error instanceof StoreCorruptError) {
    return `the event store in ${where} is corrupt at ${error.file}:${error.line}: ${error.problem}`;
  }
  const code = (error as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") {
    return `cannot start: port ${port} is already in use; is another control plane running? (event store ${where})`;
  }
  return `could not start: ${errorMessage(error)}`;
}
