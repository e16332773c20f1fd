import { readdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type AccessLevel,
  type AppInstallation,
  type AppPermissions,
  allows,
  type RegisteredApp,
  reaches,
} from "./app-registry.ts";
import { ForgeHttpError, notFound } from "./forge-errors.ts";
import type { ForgeServices } from "./forge-services.ts";
import { type ForgeUrls, repositoryObject, userObject } from "./github-objects.ts";
import { linkHeader, pageOf, parsePaging } from "./paginate.ts";
import type { RestContext, RestReply, RestRoute } from "./rest-context.ts";
import type { RepositoryState } from "./types.ts";

/**
 * The GitHub App routes: the App itself, its installations, installation tokens (narrowed to
 * repositories and permissions, one hour long) and what an installation token may see.
 */
export const APP_ROUTES: readonly RestRoute[] = [
  { method: "GET", pattern: /^\/app$/, names: [], access: { kind: "app" }, handler: getApp },
  {
    method: "GET",
    pattern: /^\/repos\/([^/]+)\/([^/]+)\/installation$/,
    names: ["owner", "repo"],
    access: { kind: "app" },
    handler: getRepositoryInstallation,
  },
  {
    method: "GET",
    pattern: /^\/app\/installations\/([^/]+)$/,
    names: ["installation_id"],
    access: { kind: "app" },
    handler: getInstallation,
  },
  {
    method: "POST",
    pattern: /^\/app\/installations\/([^/]+)\/access_tokens$/,
    names: ["installation_id"],
    access: { kind: "app" },
    handler: createAccessToken,
  },
  {
    method: "GET",
    pattern: /^\/installation\/repositories$/,
    names: [],
    access: { kind: "installation" },
    handler: listInstallationRepositories,
  },
];

const NOT_REACHABLE =
  "There is at least one repository that does not exist or is not accessible to the parent installation.";
const NOT_GRANTED = "The permissions requested are not granted to this installation.";

function appOf(context: RestContext): RegisteredApp {
  if (context.principal.kind !== "app") throw notFound();
  return context.principal.app;
}

/** The App's own installation with that id; another App's is not found. */
function ownInstallation(context: RestContext): AppInstallation {
  const app = appOf(context);
  const id = context.params.installation_id ?? "";
  const installation = /^[1-9][0-9]{0,15}$/.test(id)
    ? context.services.apps.installation(Number(id))
    : undefined;
  if (!installation || installation.appId !== app.id) throw notFound();
  return installation;
}

async function getApp(context: RestContext): Promise<RestReply> {
  const app = appOf(context);
  const owner = context.services.apps.installationsOf(app.id)[0]?.account ?? "leviathan";
  return { status: 200, body: integrationObject(context.services.urls, app, owner, context) };
}

async function getRepositoryInstallation(context: RestContext): Promise<RestReply> {
  const app = appOf(context);
  const { owner = "", repo = "" } = context.params;
  const state = await context.services.store.read(owner, repo);
  const installation = state
    ? context.services.apps.installationsOf(app.id).find((i) => reaches(i, owner, repo))
    : undefined;
  if (!installation) throw notFound();
  return { status: 200, body: installationObject(context.services.urls, app, installation) };
}

async function getInstallation(context: RestContext): Promise<RestReply> {
  const installation = ownInstallation(context);
  return {
    status: 200,
    body: installationObject(context.services.urls, appOf(context), installation),
  };
}

/**
 * `POST /app/installations/{id}/access_tokens`: a token for the installation, or for fewer
 * repositories (`repositories` names, `repository_ids`) and fewer permissions; asking for more
 * than the installation has is 422, as on GitHub.
 */
async function createAccessToken(context: RestContext): Promise<RestReply> {
  const installation = ownInstallation(context);
  const body = await context.body();
  const names = stringList(body.repositories, "repositories");
  const ids = integerList(body.repository_ids, "repository_ids");
  const permissions = requestedPermissions(body.permissions);
  for (const [name, level] of Object.entries(permissions)) {
    if (!allows(installation.permissions[name], level)) {
      throw new ForgeHttpError(422, NOT_GRANTED);
    }
  }
  const reachable = await accountRepositories(context.services, installation);
  let selected: RepositoryState[] | undefined;
  if (names !== undefined || ids !== undefined) {
    selected = [];
    for (const name of names ?? []) {
      const found = reachable.find((state) => state.name.toLowerCase() === name.toLowerCase());
      if (!found) throw new ForgeHttpError(422, NOT_REACHABLE);
      selected.push(found);
    }
    for (const id of ids ?? []) {
      const found = reachable.find((state) => state.id === id);
      if (!found) throw new ForgeHttpError(422, NOT_REACHABLE);
      selected.push(found);
    }
    selected = [...new Map(selected.map((state) => [state.name, state])).values()];
  }
  const granted = Object.keys(permissions).length > 0 ? permissions : installation.permissions;
  const { token, grant } = context.services.apps.issue({
    installationId: installation.id,
    account: installation.account,
    ...(selected
      ? { repositories: selected.map((state) => state.name.toLowerCase()) }
      : installation.repositories
        ? { repositories: [...installation.repositories] }
        : {}),
    permissions: { ...granted, metadata: granted.metadata ?? "read" },
  });
  const urls = context.services.urls;
  return {
    status: 201,
    body: {
      token,
      expires_at: githubTime(grant.expiresAt),
      permissions: grant.permissions,
      repository_selection: grant.repositories ? "selected" : "all",
      ...(selected ? { repositories: selected.map((state) => repositoryObject(urls, state)) } : {}),
    },
  };
}

async function listInstallationRepositories(context: RestContext): Promise<RestReply> {
  if (context.principal.kind !== "installation") throw notFound();
  const { grant } = context.principal;
  const installation = context.services.apps.installation(grant.installationId);
  if (!installation) throw notFound();
  const all = (await accountRepositories(context.services, installation)).filter((state) =>
    reaches(grant, state.owner, state.name),
  );
  const paging = parsePaging(context.query);
  const link = linkHeader(context.url, context.query, paging, all.length);
  return {
    status: 200,
    body: {
      total_count: all.length,
      repository_selection: grant.repositories ? "selected" : "all",
      repositories: pageOf(all, paging).map((state) =>
        repositoryObject(context.services.urls, state),
      ),
    },
    ...(link ? { headers: { link } } : {}),
  };
}

/** The repositories of the installation's account that it reaches, by name. */
async function accountRepositories(
  services: ForgeServices,
  installation: AppInstallation,
): Promise<RepositoryState[]> {
  let entries: string[];
  try {
    entries = await readdir(join(services.store.reposDir, installation.account));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  const states: RepositoryState[] = [];
  for (const entry of entries.sort()) {
    if (!entry.endsWith(".git")) continue;
    const state = await services.store.read(installation.account, entry.slice(0, -4));
    if (state && reaches(installation, state.owner, state.name)) states.push(state);
  }
  return states;
}

function stringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw invalid(field);
  }
  return value;
}

function integerList(value: unknown, field: string): number[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => Number.isInteger(item))) {
    throw invalid(field);
  }
  return value as number[];
}

function requestedPermissions(value: unknown): AppPermissions {
  if (value === undefined) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid("permissions");
  }
  const out: AppPermissions = {};
  for (const [name, level] of Object.entries(value)) {
    if (level !== "read" && level !== "write") throw invalid(`permissions.${name}`);
    out[name] = level satisfies AccessLevel;
  }
  return out;
}

function invalid(field: string): ForgeHttpError {
  return new ForgeHttpError(422, `Invalid request.\n\nInvalid value for "${field}".`);
}

/** GitHub's timestamps: ISO 8601 in UTC, to the second. */
function githubTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

function integrationObject(
  urls: ForgeUrls,
  app: RegisteredApp,
  owner: string,
  context: RestContext,
) {
  const installations = context.services.apps.installationsOf(app.id);
  const permissions: AppPermissions = {};
  for (const installation of installations) Object.assign(permissions, installation.permissions);
  return {
    id: app.id,
    slug: app.slug,
    node_id: `A_${Buffer.from(app.slug).toString("base64url")}`,
    client_id: app.clientId,
    owner: userObject(urls, owner, "Organization"),
    name: app.slug,
    description: null,
    external_url: urls.webUrl,
    html_url: `${urls.webUrl}/apps/${app.slug}`,
    created_at: githubTime(new Date(app.createdAt)),
    updated_at: githubTime(new Date(app.createdAt)),
    permissions,
    events: [],
    installations_count: installations.length,
  };
}

function installationObject(urls: ForgeUrls, app: RegisteredApp, installation: AppInstallation) {
  const account = userObject(urls, installation.account, "Organization");
  return {
    id: installation.id,
    account,
    repository_selection: installation.repositories ? "selected" : "all",
    access_tokens_url: `${urls.apiUrl}/app/installations/${installation.id}/access_tokens`,
    repositories_url: `${urls.apiUrl}/installation/repositories`,
    html_url: `${urls.webUrl}/organizations/${installation.account}/settings/installations/${installation.id}`,
    app_id: app.id,
    app_slug: app.slug,
    target_id: account.id,
    target_type: "Organization",
    permissions: installation.permissions,
    events: [],
    created_at: githubTime(new Date(installation.createdAt)),
    updated_at: githubTime(new Date(installation.createdAt)),
    single_file_name: null,
    has_multiple_single_files: false,
    single_file_paths: [],
    suspended_by: null,
    suspended_at: null,
  };
}
