import type { IncomingMessage, ServerResponse } from "node:http";
import { ForgeHttpError } from "./forge-errors.ts";

/** GitHub refuses bodies much smaller than this; nothing Leviathan sends comes close. */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

/**
 * A REST request's JSON body as an object (`{}` when empty). Only read after the token check.
 * Not JSON, or JSON that is not an object: GitHub's 400 "Problems parsing JSON".
 */
export async function readJsonBody(
  req: IncomingMessage,
  res: ServerResponse,
): Promise<Record<string, unknown>> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > MAX_JSON_BODY_BYTES) throw new ForgeHttpError(413, "Payload Too Large");
  if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > MAX_JSON_BODY_BYTES) throw new ForgeHttpError(413, "Payload Too Large");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks, total).toString("utf8");
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ForgeHttpError(400, "Problems parsing JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ForgeHttpError(400, "Problems parsing JSON");
  }
  return value as Record<string, unknown>;
}
