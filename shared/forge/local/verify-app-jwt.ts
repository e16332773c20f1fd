import { verify } from "node:crypto";
import type { AppRegistry, RegisteredApp } from "./app-registry.ts";

/** GitHub refuses an App JWT that lives longer than this, or expires later than this from now. */
export const MAX_JWT_LIFETIME_SECONDS = 600;
/** How far in the future `iat` may be, for clocks that drift (GitHub advises 60 s back). */
const CLOCK_SKEW_SECONDS = 60;

/** Why a JWT was refused, in GitHub's words; the forge answers 401 with it. */
export class AppJwtError extends Error {
  override readonly name = "AppJwtError";
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whether a bearer credential looks like a JWT at all (three base64url parts). */
export function looksLikeJwt(credential: string): boolean {
  return JWT_SHAPE.test(credential);
}

/**
 * An App's JWT as GitHub checks it: RS256 only, signed by the registered key of the App named by
 * `iss` (its id, or its client id), `iat` not in the future beyond a minute of skew, `exp` in the
 * future and no more than ten minutes after `iat` or after now. Returns the App.
 */
export function verifyAppJwt(jwt: string, apps: AppRegistry, now: Date): RegisteredApp {
  if (!looksLikeJwt(jwt)) throw new AppJwtError("A JSON web token could not be decoded");
  const [headerPart, payloadPart, signaturePart] = jwt.split(".") as [string, string, string];
  const header = decodePart(headerPart);
  const payload = decodePart(payloadPart);
  if (header.alg !== "RS256") throw new AppJwtError("A JSON web token could not be decoded");
  const iss = payload.iss;
  const app =
    typeof iss === "number" || (typeof iss === "string" && /^[0-9]+$/.test(iss))
      ? apps.app(Number(iss))
      : typeof iss === "string"
        ? apps.appByClientId(iss)
        : undefined;
  if (!app) throw new AppJwtError("'Issuer' claim ('iss') must be an Integer");
  const signed = verify(
    "RSA-SHA256",
    Buffer.from(`${headerPart}.${payloadPart}`, "ascii"),
    app.publicKey,
    Buffer.from(signaturePart, "base64url"),
  );
  if (!signed) throw new AppJwtError("A JSON web token could not be decoded");
  const seconds = Math.floor(now.getTime() / 1000);
  const { iat, exp } = payload;
  if (typeof iat !== "number" || !Number.isInteger(iat) || iat > seconds + CLOCK_SKEW_SECONDS) {
    throw new AppJwtError(
      "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued.",
    );
  }
  if (typeof exp !== "number" || !Number.isInteger(exp) || exp <= seconds) {
    throw new AppJwtError(
      "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires.",
    );
  }
  if (exp - iat > MAX_JWT_LIFETIME_SECONDS || exp - seconds > MAX_JWT_LIFETIME_SECONDS) {
    throw new AppJwtError("'Expiration time' claim ('exp') is too far in the future.");
  }
  return app;
}

function decodePart(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      return value as Record<string, unknown>;
    }
  } catch {
    // Falls through to the refusal below.
  }
  throw new AppJwtError("A JSON web token could not be decoded");
}
