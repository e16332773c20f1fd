import type { Request, Response } from "@google-cloud/functions-framework";
import { hasBearerToken } from "./check-bearer-token.ts";

/**
 * The routing the tick and worker functions share: `GET /health` (and `/healthz`) answers 200
 * without a token; only `POST /` goes on (404 elsewhere, 405 with `Allow` for other methods).
 * Returns true when it has answered.
 */
export function answeredBeforePostRoot(req: Request, res: Response): boolean {
  if (req.path === "/health" || req.path === "/healthz") {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.status(405).set("allow", "GET, HEAD").json({ error: "method not allowed" });
    } else {
      res.status(200).json({ status: "ok" });
    }
    return true;
  }
  if (req.path !== "/") {
    res.status(404).json({ error: "not found" });
    return true;
  }
  if (req.method !== "POST") {
    res.status(405).set("allow", "POST").json({ error: "method not allowed" });
    return true;
  }
  return false;
}

/** 401 unless `Authorization: Bearer <token>` matches; returns true when it refused. */
export function refusedWithoutToken(req: Request, res: Response, expected: Buffer): boolean {
  if (hasBearerToken(req.get("authorization"), expected)) return false;
  res
    .status(401)
    .set("www-authenticate", "Bearer")
    .json({ error: "missing or wrong bearer token" });
  return true;
}
