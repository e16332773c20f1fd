// Checks replies against GitHub's published OpenAPI description (@octokit/openapi), so a fake or
// local forge cannot drift from what real GitHub answers. The document is 13 MB: it is read once
// per process, on first use, and each operation's reply schema is compiled once, when first asked.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import * as ajvFormats from "ajv-formats";

const DOCUMENT_ID = "https://leviathan.invalid/github-openapi.json";
const MAX_ERRORS_SHOWN = 5;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface LoadedDescription {
  document: JsonObject;
  ajv: Ajv;
  validators: Map<string, ValidateFunction>;
  templates: PathTemplate[];
}

interface PathTemplate {
  template: string;
  segments: string[];
}

/** One reply as a client saw it: a concrete path (query and a base path such as /api/v3 allowed). */
export interface RecordedExchange {
  method: string;
  /** e.g. "/api/v3/repos/o/r/pulls?state=open&page=2" or a full URL. */
  path: string;
  status: number;
  /** Parsed JSON, or the raw text (parsed here when the media type is JSON). */
  body: unknown;
  /** Default application/json. */
  contentType?: string;
  /** A prefix in front of GitHub's paths, e.g. "/api/v3" for GitHub Enterprise. */
  basePath?: string;
}

export interface AssertOptions {
  /** The reply's media type; default application/json. */
  contentType?: string;
}

let loaded: LoadedDescription | undefined;

function load(): LoadedDescription {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  const file = require.resolve("@octokit/openapi/generated/api.github.com.json");
  const document = JSON.parse(readFileSync(file, "utf8")) as JsonObject;
  rewriteNullable(document);
  const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
  // ajv-formats is CommonJS: its default export arrives as the module object or the function.
  const addFormats = ((ajvFormats as unknown as { default?: unknown }).default ??
    ajvFormats) as unknown as (ajv: Ajv) => Ajv;
  addFormats(ajv);
  ajv.addSchema(document as object, DOCUMENT_ID);
  const paths = document.paths as JsonObject;
  const templates = Object.keys(paths).map((template) => ({
    template,
    segments: template.split("/").filter(Boolean),
  }));
  loaded = { document, ajv, validators: new Map(), templates };
  return loaded;
}

/**
 * OpenAPI 3.0's `nullable: true` is not JSON Schema; ajv's own support needs a sibling `type`,
 * which GitHub's description often lacks (`nullable` beside `anyOf`/`allOf`). So every nullable
 * schema becomes `anyOf: [{type: "null"}, <the schema>]`, in place, keeping JSON pointers valid.
 */
function rewriteNullable(node: Json, parentKey = ""): void {
  if (Array.isArray(node)) {
    for (const item of node) rewriteNullable(item);
    return;
  }
  if (node === null || typeof node !== "object") return;
  for (const key of Object.keys(node)) {
    // Examples are data, not schemas (a field named "nullable" in one must stay as it is);
    // under `properties` the keys are field names, so a field called "examples" is a schema.
    if ((key === "example" || key === "examples") && parentKey !== "properties") continue;
    rewriteNullable(node[key]!, key);
  }
  if (node.nullable !== true) return;
  const inner: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key !== "nullable") inner[key] = value;
    delete node[key];
  }
  node.anyOf = [{ type: "null" }, inner];
}

function pointerSegment(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

function resolvePointer(document: JsonObject, pointer: string): Json | undefined {
  let node: Json | undefined = document;
  for (const raw of pointer.replace(/^#\//, "").split("/")) {
    const segment = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (node === null || typeof node !== "object" || Array.isArray(node)) return undefined;
    node = node[segment];
  }
  return node;
}

/** Follows `$ref`s until a real object, returning it and the pointer it lives at. */
function follow(
  document: JsonObject,
  pointer: string,
): { node: JsonObject; pointer: string } | undefined {
  let current = pointer;
  for (let hops = 0; hops < 10; hops++) {
    const node = resolvePointer(document, current);
    if (node === null || typeof node !== "object" || Array.isArray(node)) return undefined;
    if (typeof node.$ref !== "string") return { node, pointer: current };
    current = node.$ref;
  }
  return undefined;
}

function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? "application/json").split(";")[0]!.trim().toLowerCase();
}

function isJsonMediaType(mediaType: string): boolean {
  return mediaType === "application/json" || mediaType.endsWith("+json");
}

/** The documented reply for a status: exact, then `4XX`-style ranges, then `default`. */
function findResponse(
  document: JsonObject,
  operationPointer: string,
  status: number,
): { node: JsonObject; pointer: string } | undefined {
  for (const key of [String(status), `${String(status)[0]}XX`, "default"]) {
    const found = follow(document, `${operationPointer}/responses/${pointerSegment(key)}`);
    if (found) return found;
  }
  return undefined;
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  const list = errors ?? [];
  const shown = list.slice(0, MAX_ERRORS_SHOWN).map((error) => {
    const where = error.instancePath || "(root)";
    const params = JSON.stringify(error.params);
    return `  ${where}: ${error.message ?? error.keyword} ${params}`;
  });
  const more =
    list.length > MAX_ERRORS_SHOWN ? `\n  … and ${list.length - MAX_ERRORS_SHOWN} more` : "";
  return shown.join("\n") + more;
}

/**
 * Throws unless `body` is what GitHub documents for `method pathTemplate` answering `status`.
 * `pathTemplate` is GitHub's, e.g. "/repos/{owner}/{repo}/pulls". A reply documented without a
 * body (204, 304) must have none.
 */
export function assertGitHubResponse(
  method: string,
  pathTemplate: string,
  status: number,
  body: unknown,
  options: AssertOptions = {},
): void {
  const description = load();
  const verb = method.toLowerCase();
  const label = `${method.toUpperCase()} ${pathTemplate} → ${status}`;
  const operationPointer = `#/paths/${pointerSegment(pathTemplate)}/${verb}`;
  const operation = resolvePointer(description.document, operationPointer);
  if (operation === undefined) {
    throw new Error(`${label}: GitHub documents no such operation`);
  }
  const response = findResponse(description.document, operationPointer, status);
  if (!response) throw new Error(`${label}: GitHub documents no such status for this operation`);
  const content = response.node.content;
  if (content === undefined || content === null) {
    if (body === undefined || body === null || body === "") return;
    throw new Error(`${label}: GitHub documents no body for this reply, but one was sent`);
  }
  const mediaType = mediaTypeOf(options.contentType);
  const media = (content as JsonObject)[mediaType];
  if (media === undefined) {
    const documented = Object.keys(content as JsonObject).join(", ");
    throw new Error(`${label}: media type ${mediaType} is not documented (only ${documented})`);
  }
  if (typeof media !== "object" || media === null || !("schema" in media)) return;
  const schemaPointer = `${response.pointer}/content/${pointerSegment(mediaType)}/schema`;
  let validate = description.validators.get(schemaPointer);
  if (!validate) {
    const fragment = schemaPointer.slice(1).split("/").map(encodeURIComponent).join("/");
    validate = description.ajv.compile({ $ref: `${DOCUMENT_ID}#${fragment}` });
    description.validators.set(schemaPointer, validate);
  }
  if (!validate(body)) {
    throw new Error(
      `${label}: reply does not match GitHub's schema\n${describeErrors(validate.errors)}`,
    );
  }
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * GitHub's template for a concrete path: literal segments must match; a parameter takes one
 * segment, except a last parameter (`{path}` of the contents API, `{ref}`), which may take the
 * rest. The most literal, non-greedy match wins ("/pulls/comments" beats "/pulls/{pull_number}").
 */
export function matchGitHubPath(method: string, path: string): string | null {
  const description = load();
  const verb = method.toLowerCase();
  const segments = path.split("/").filter(Boolean).map(decodeSegment);
  let best: { template: string; score: number } | null = null;
  for (const candidate of description.templates) {
    const score = scoreMatch(candidate.segments, segments);
    if (score === null) continue;
    const operations = (description.document.paths as JsonObject)[candidate.template] as JsonObject;
    if (!(verb in operations)) continue;
    if (!best || score > best.score) best = { template: candidate.template, score };
  }
  return best?.template ?? null;
}

function scoreMatch(template: string[], path: string[]): number | null {
  if (path.length < template.length) return null;
  let literals = 0;
  for (let index = 0; index < template.length; index++) {
    const part = template[index]!;
    const isParameter = part.startsWith("{") && part.endsWith("}");
    if (!isParameter && part !== path[index]) return null;
    if (!isParameter) literals++;
  }
  const greedy = path.length > template.length;
  if (greedy) {
    const last = template.at(-1) ?? "";
    if (!(last.startsWith("{") && last.endsWith("}"))) return null;
  }
  return literals * 2 + (greedy ? 0 : 1);
}

/** Checks a whole recorded exchange: finds GitHub's template for its path, then its reply. */
export function assertGitHubExchange(exchange: RecordedExchange): void {
  const url = new URL(exchange.path, "http://localhost");
  let pathname = url.pathname;
  const base = (exchange.basePath ?? "").replace(/\/+$/, "");
  if (base) {
    if (pathname !== base && !pathname.startsWith(`${base}/`)) {
      throw new Error(`${exchange.method} ${exchange.path}: not under the base path ${base}`);
    }
    pathname = pathname.slice(base.length) || "/";
  }
  const template = matchGitHubPath(exchange.method, pathname);
  if (!template) {
    throw new Error(`${exchange.method.toUpperCase()} ${pathname}: GitHub documents no such route`);
  }
  let body = exchange.body;
  const mediaType = mediaTypeOf(exchange.contentType);
  if (typeof body === "string" && body !== "" && isJsonMediaType(mediaType)) {
    try {
      body = JSON.parse(body);
    } catch {
      throw new Error(`${exchange.method.toUpperCase()} ${pathname}: the body is not JSON`);
    }
  }
  assertGitHubResponse(exchange.method, template, exchange.status, body, {
    contentType: mediaType,
  });
}

/**
 * A copy of one of GitHub's own documented example replies, for realistic fixtures: e.g.
 * gitHubExample("get", "/repos/{owner}/{repo}/pulls/{pull_number}", 200) is a full pull request.
 * Without a name, the first example is taken.
 */
export function gitHubExample(
  method: string,
  pathTemplate: string,
  status: number,
  name?: string,
): unknown {
  const { document } = load();
  const operationPointer = `#/paths/${pointerSegment(pathTemplate)}/${method.toLowerCase()}`;
  const response = findResponse(document, operationPointer, status);
  const media = (response?.node.content as JsonObject | undefined)?.["application/json"];
  const examples = (media as JsonObject | undefined)?.examples as JsonObject | undefined;
  const key = name ?? Object.keys(examples ?? {})[0];
  const example = key === undefined ? undefined : (examples?.[key] as JsonObject | undefined);
  if (!example) {
    throw new Error(
      `${method.toUpperCase()} ${pathTemplate} → ${status}: no example ${name ?? ""}`,
    );
  }
  const value =
    typeof example.$ref === "string"
      ? (resolvePointer(document, example.$ref) as JsonObject | undefined)?.value
      : example.value;
  return structuredClone(value);
}
