import { createHash, createPublicKey, type KeyObject, randomBytes } from "node:crypto";

export type AccessLevel = "read" | "write";
/** GitHub's permission names (`contents`, `pull_requests`, `metadata`, …) and their levels. */
export type AppPermissions = Record<string, AccessLevel>;

/** How long an installation token lives, as on GitHub. */
export const INSTALLATION_TOKEN_TTL_MS = 60 * 60 * 1000;

export interface RegisterAppOptions {
  /** The App's public key (PEM, SPKI or PKCS#1): the JWTs it signs are checked against it. */
  publicKey: string;
  /** Default `leviathan-app-<id>`. */
  slug?: string;
}

export interface RegisteredApp {
  id: number;
  slug: string;
  clientId: string;
  /** ISO 8601. */
  createdAt: string;
  publicKey: KeyObject;
}

export interface InstallAppOptions {
  /** The owner (user or organisation) the App is installed on. */
  account: string;
  /** The repositories it may reach (names within `account`); absent: all of the account's. */
  repositories?: string[];
  permissions: AppPermissions;
}

export interface AppInstallation {
  id: number;
  appId: number;
  account: string;
  /** Lower-cased names; undefined: every repository of the account. */
  repositories?: string[];
  permissions: AppPermissions;
  createdAt: string;
}

/** What one installation token may do: its repositories (lower-cased), permissions, end. */
export interface InstallationGrant {
  installationId: number;
  account: string;
  /** Lower-cased names within `account`; undefined: every repository of the account. */
  repositories?: string[];
  permissions: AppPermissions;
  expiresAt: Date;
}

/**
 * The local forge's Apps, their installations and the installation tokens issued so far. Kept
 * in memory only: a restarted forge forgets them, so local mode and tests register what they
 * use at start. Tokens are found by their digest, never kept in clear.
 */
export interface AppRegistry {
  register(options: RegisterAppOptions): RegisteredApp;
  install(appId: number, options: InstallAppOptions): AppInstallation;
  app(id: number): RegisteredApp | undefined;
  appByClientId(clientId: string): RegisteredApp | undefined;
  installation(id: number): AppInstallation | undefined;
  installationsOf(appId: number): AppInstallation[];
  /** A new `ghs_` token for this grant; the caller has checked the grant is within the installation. */
  issue(grant: Omit<InstallationGrant, "expiresAt">): { token: string; grant: InstallationGrant };
  /** The grant of an installation token that is known and not expired, else undefined. */
  grantOf(token: string): InstallationGrant | undefined;
}

export function createAppRegistry(now: () => Date): AppRegistry {
  const apps = new Map<number, RegisteredApp>();
  const installations = new Map<number, AppInstallation>();
  const tokens = new Map<string, InstallationGrant>();
  let nextAppId = 1001;
  let nextInstallationId = 5_000_001;

  function dropExpired(at: number): void {
    for (const [digest, grant] of tokens) {
      if (grant.expiresAt.getTime() <= at) tokens.delete(digest);
    }
  }

  return {
    register(options) {
      const id = nextAppId++;
      const app: RegisteredApp = {
        id,
        slug: options.slug ?? `leviathan-app-${id}`,
        clientId: `Iv23${randomBytes(8).toString("hex")}`,
        createdAt: now().toISOString(),
        publicKey: createPublicKey(options.publicKey),
      };
      if (app.publicKey.asymmetricKeyType !== "rsa") {
        throw new Error("a GitHub App's key is an RSA key (JWTs are signed with RS256)");
      }
      apps.set(id, app);
      return app;
    },
    install(appId, options) {
      if (!apps.has(appId)) throw new Error(`no App ${appId} on this forge`);
      const installation: AppInstallation = {
        id: nextInstallationId++,
        appId,
        account: options.account,
        ...(options.repositories
          ? { repositories: options.repositories.map((name) => name.toLowerCase()) }
          : {}),
        permissions: { ...options.permissions, metadata: options.permissions.metadata ?? "read" },
        createdAt: now().toISOString(),
      };
      installations.set(installation.id, installation);
      return installation;
    },
    app: (id) => apps.get(id),
    appByClientId: (clientId) => [...apps.values()].find((app) => app.clientId === clientId),
    installation: (id) => installations.get(id),
    installationsOf: (appId) => [...installations.values()].filter((i) => i.appId === appId),
    issue(grant) {
      const at = now().getTime();
      dropExpired(at);
      const token = `ghs_${randomBytes(27).toString("base64url").slice(0, 36)}`;
      const issued: InstallationGrant = {
        ...grant,
        expiresAt: new Date(at + INSTALLATION_TOKEN_TTL_MS),
      };
      tokens.set(digest(token), issued);
      return { token, grant: issued };
    },
    grantOf(token) {
      const grant = tokens.get(digest(token));
      if (!grant) return undefined;
      if (grant.expiresAt.getTime() <= now().getTime()) return undefined;
      return grant;
    },
  };
}

/** Whether a grant (or an installation) reaches `owner/repo`. */
export function reaches(
  scope: { account: string; repositories?: string[] },
  owner: string,
  repo: string,
): boolean {
  if (scope.account.toLowerCase() !== owner.toLowerCase()) return false;
  return scope.repositories === undefined || scope.repositories.includes(repo.toLowerCase());
}

/** Whether `granted` includes `level` of a permission (`write` includes `read`). */
export function allows(granted: AccessLevel | undefined, level: AccessLevel): boolean {
  return granted === "write" || (granted === "read" && level === "read");
}

function digest(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}
