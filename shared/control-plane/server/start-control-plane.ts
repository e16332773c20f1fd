import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger, type Logger } from "../../log/logger.ts";
import { deriveCheckpointKey } from "../../store/checkpoints/checkpoint-key.ts";
import {
  type FsyncMode,
  type NdjsonStoreOptions,
  openNdjsonStore,
} from "../../store/ndjson/open-ndjson-store.ts";
import { redactPostgresUrl } from "../../store/postgres/postgres-url.ts";
import { type EventStore, StoreFailedError } from "../../store/types.ts";
import { createControlPlaneState } from "../state/create-control-plane-state.ts";
import { authorizeRoute, createAuthenticator, type Principal } from "./authorize-request.ts";
import { createControlPlaneMetrics } from "./control-plane-metrics.ts";
import {
  CONTROL_PLANE_ROUTES,
  type ControlPlaneServices,
  type Handler,
  type Health,
} from "./control-plane-routes.ts";
import { errorReplyOf } from "./error-reply.ts";
import { HttpError, sendJson } from "./http-reply.ts";
import { loadCron } from "./judge-stalled.ts";
import { type Method, matchRoute } from "./match-route.ts";
import { DEFAULT_MAX_BODY_BYTES, readBody } from "./read-body.ts";
import { createConsoleServer, isConsolePath } from "./serve-console.ts";

export interface ControlPlaneOptions {
  /** The event store's directory (segment files directly inside it). */
  dataDir: string;
  /** A postgres:// URL: the PostgreSQL event store instead of the directory. */
  storeUrl?: string;
  /** The bearer token every route but health requires. */
  token: string;
  /** HMAC key of the store's checkpoints; default: derived from `token` under a fixed label. */
  checkpointKey?: Buffer;
  /** 0 picks a free port (tests); default 8000. */
  port?: number;
  /** Default: every interface. */
  host?: string;
  logger?: Logger;
  fsyncMode?: FsyncMode;
  /** Default 10 MiB. */
  maxBodyBytes?: number;
  /** Called once the port is bound, before the store is open (health answers 503 meanwhile). */
  onListening?: (url: string) => void;
  /** How long close() lets in-flight requests finish before cutting connections; default 10 s. */
  shutdownGraceMs?: number;
  /** The console's folder; default: found beside the server's code (see `findConsoleDir`). */
  consoleDir?: string;
  /** Test seam: the clock (default: the system's); judges `stalled` and stamps resets. */
  now?: () => Date;
  /** Test seam: how the store is opened (default: the NDJSON store). */
  openStore?: (options: NdjsonStoreOptions) => Promise<EventStore>;
}

export interface RunningControlPlane {
  url: string;
  port: number;
  /** Stops accepting, lets in-flight requests finish, closes the store. */
  close(): Promise<void>;
}

export const DEFAULT_PORT = 8000;
/** A refused body may still be arriving; the connection is cut this long after the reply. */
const LINGER_AFTER_REFUSAL_MS = 1_000;

/**
 * The control plane: a plain node:http server, listening at once, answering health
 * with 503 until the event store is open and recovered. Rejects (after releasing the port)
 * when the store cannot be opened: locked by another process, or corrupt.
 */
export async function startControlPlane(
  options: ControlPlaneOptions,
): Promise<RunningControlPlane> {
  if (!options.token) throw new Error("the control plane needs a token (CONTROL_PLANE_TOKEN)");
  const logger = options.logger ?? createLogger("control-plane");
  const authenticate = createAuthenticator(options.token);
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const state = createControlPlaneState();
  let store: EventStore | undefined;
  let health: Health = "starting";
  const metrics = createControlPlaneMetrics(() => store);
  const serveConsole = createConsoleServer(options.consoleDir);
  const services: ControlPlaneServices = {
    get store(): EventStore {
      if (!store) throw new HttpError(503, "the control plane is starting");
      return store;
    },
    state,
    metrics,
    health: () => health,
    now: options.now ?? (() => new Date()),
    answers: new Map(),
  };

  const inFlight = new Set<ServerResponse>();
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    let routeLabel = "unmatched";
    inFlight.add(res);
    res.on("close", () => {
      inFlight.delete(res);
      // While stopping, a connection that just finished its last request is let go at once.
      if (health === "stopping") setImmediate(() => server.closeIdleConnections());
      const status = res.writableFinished ? res.statusCode : 499;
      const seconds = (performance.now() - started) / 1000;
      const method = req.method === "GET" || req.method === "POST" ? req.method : "other";
      metrics.requestSeconds.observe({ route: routeLabel, method, status }, seconds);
      logger.info(
        { method: req.method, route: routeLabel, status, ms: Math.round(seconds * 1000) },
        "request",
      );
    });
    dispatch(req, res, (route) => {
      routeLabel = route;
    }).catch((error: unknown) => replyWithError(req, res, error));
  };

  async function dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    setRoute: (template: string) => void,
  ): Promise<void> {
    const url = req.url ?? "/";
    const queryAt = url.indexOf("?");
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    const query = new URLSearchParams(queryAt === -1 ? "" : url.slice(queryAt + 1));
    // The console's files hold no data: no token, and no body is ever read for them.
    if (isConsolePath(path)) {
      setRoute(path === "/" ? "/" : "/console/*");
      serveConsole(req, res, path);
      return;
    }
    const match = matchRoute<Handler>(CONTROL_PLANE_ROUTES, path);
    if (match) setRoute(match.route.template);
    const principal: Principal | null = match?.route.public
      ? { kind: "operator" }
      : authenticate(req);
    if (!principal) {
      throw new HttpError(401, "a valid bearer token is required", {
        "www-authenticate": 'Bearer realm="leviathan"',
      });
    }
    if (!match) throw new HttpError(404, "no such route");
    const handler = match.route.methods[req.method as Method];
    if (!handler) {
      throw new HttpError(405, `method ${req.method} not allowed here`, {
        allow: Object.keys(match.route.methods).join(", "),
      });
    }
    authorizeRoute(principal, req.method ?? "", match.route.template, match.params);
    if (health === "stopping") res.setHeader("connection", "close");
    if (!match.route.public && health === "starting") {
      throw new HttpError(503, "the control plane is starting", { "retry-after": "1" });
    }
    await handler(
      {
        req,
        res,
        params: match.params,
        query,
        principal,
        readBody: () => readBody(req, res, maxBodyBytes),
      },
      services,
    );
  }

  function replyWithError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    if (error instanceof StoreFailedError) health = "failed";
    const reply = errorReplyOf(error);
    if (!reply) logger.error({ err: error, method: req.method }, "request failed");
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const { status, detail, headers, closeConnection } =
      reply ?? new HttpError(500, "internal error");
    // A body we did not read (refused before reading, or cut off) is never drained: the
    // connection goes instead, so unauthenticated or oversized bytes are not taken in.
    if (closeConnection || !req.complete) {
      res.setHeader("connection", "close");
      res.once("finish", () => lingerThenCut(req));
    }
    sendJson(res, status, { detail }, headers);
  }

  const server = createServer({ requestTimeout: 120_000, headersTimeout: 30_000 }, handle);
  // Answering `Expect: 100-continue` ourselves keeps the body unsent until the token is checked.
  server.on("checkContinue", handle);
  await listen(server, options.port ?? DEFAULT_PORT, options.host);
  const port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(options.host)}:${port}`;
  const where = options.storeUrl ? redactPostgresUrl(options.storeUrl) : options.dataDir;
  logger.info({ url, store: where }, "control plane listening; opening the event store");
  options.onListening?.(url);

  try {
    const checkpointKey = options.checkpointKey ?? deriveCheckpointKey(options.token);
    const onFsync = (seconds: number) => metrics.fsyncSeconds.observe(seconds);
    if (options.storeUrl) {
      // Loaded only here: the NDJSON default does not pay for the PostgreSQL client.
      const { openPostgresStore } = await import("../../store/postgres/open-postgres-store.ts");
      store = await openPostgresStore({
        url: options.storeUrl,
        projections: [state],
        logger,
        checkpointKey,
        onFsync,
      });
    } else {
      const open = options.openStore ?? openNdjsonStore;
      store = await open({
        dir: options.dataDir,
        projections: [state],
        logger,
        checkpointKey,
        ...(options.fsyncMode ? { fsyncMode: options.fsyncMode } : {}),
        onFsync,
      });
    }
  } catch (error) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw error;
  }
  health = "ok";
  // Judging `stalled` needs cron-parser; loaded now, off the start-up path.
  void loadCron().catch((error: unknown) => logger.warn({ err: error }, "cron-parser not loaded"));
  logger.info({ url, store: where, records: store.stats().records }, "control plane ready");

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      health = "stopping";
      for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
      const grace = setTimeout(
        () => server.closeAllConnections(),
        options.shutdownGraceMs ?? 10_000,
      );
      grace.unref();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      clearTimeout(grace);
      await store?.close();
      logger.info({ store: where }, "control plane stopped");
    })();
    return closing;
  };
  return { url, port, close };
}

function listen(server: Server, port: number, host: string | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

function urlHost(host: string | undefined): string {
  if (!host || host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/** Half-closes at once, then cuts the connection, so a client still sending reads our reply. */
function lingerThenCut(req: IncomingMessage): void {
  const socket = req.socket;
  socket.end();
  const timer = setTimeout(() => socket.destroy(), LINGER_AFTER_REFUSAL_MS);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
}
