// A GitHub App for tests: an RSA key pair as GitHub hands it out (PKCS#1 PEM), registered on a
// local forge and installed on an account, plus JWTs made by hand for the refusals.
import { createSign, generateKeyPairSync } from "node:crypto";
import type { AppPermissions } from "../../shared/forge/local/app-registry.ts";
import type { LocalForge } from "../../shared/forge/local/types.ts";

export interface TestApp {
  appId: number;
  installationId: number;
  /** PEM, `-----BEGIN RSA PRIVATE KEY-----`, as GitHub's download is. */
  privateKey: string;
  publicKey: string;
}

export const ATTEMPT_PERMISSIONS: AppPermissions = {
  contents: "write",
  pull_requests: "write",
  metadata: "read",
};

/** One RSA key pair (2048 bits); PKCS#1 as GitHub's `.pem` downloads are. */
export function appKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs1", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return { privateKey, publicKey };
}

/** Registers an App and installs it on `account` (all its repositories unless `repositories`). */
export function installTestApp(
  forge: LocalForge,
  account: string,
  options: { repositories?: string[]; permissions?: AppPermissions } = {},
): TestApp {
  const keys = appKeyPair();
  const app = forge.registerApp({ publicKey: keys.publicKey });
  const installation = forge.installApp(app.id, {
    account,
    ...(options.repositories ? { repositories: options.repositories } : {}),
    permissions: options.permissions ?? ATTEMPT_PERMISSIONS,
  });
  return { appId: app.id, installationId: installation.id, ...keys };
}

/** A JWT with whatever header and claims a test wants, signed RS256 with `privateKey`. */
export function signJwt(
  privateKey: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: "RS256", typ: "JWT" },
): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part(header)}.${part(claims)}`;
  const signature = createSign("RSA-SHA256").update(input).sign(privateKey).toString("base64url");
  return `${input}.${signature}`;
}

/** Claims as a well-behaved client makes them: issued a little in the past, ten minutes long. */
export function goodClaims(appId: number, nowMs = Date.now()): Record<string, number> {
  const iat = Math.floor(nowMs / 1000) - 30;
  return { iat, exp: iat + 600, iss: appId };
}
