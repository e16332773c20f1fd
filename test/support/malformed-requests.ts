// Seeded malformed requests for the control plane's ingest routes, for the fuzz suite: random
// bytes, truncated JSON, a wrong value at every field of a bundle and of a CloudEvent (binary
// headers too), deep nesting, huge strings and bodies, wrong content types, and valid JSON that
// breaks the schema. Each request says which statuses are right for it; none may be stored.
import { HTTP } from "cloudevents";
import { toCloudEvent } from "../../shared/events/cloudevents.ts";
import type { LeviathanEvent } from "../../shared/events/types.ts";

export type Random = () => number;

export interface MalformedRequest {
  /** What kind of damage, and where: `bundle wrong-type events[1].timestamp`. */
  label: string;
  /** The family it belongs to, for the coverage count. */
  family: Family;
  path: "/v1/events/ingest" | "/v1/events";
  headers: Record<string, string | number>;
  /** Several pieces are sent chunked, without a Content-Length. */
  body: string | Buffer | Buffer[];
  /** The statuses that are right for this request. */
  expect: readonly number[];
  /**
   * Over the size limit: the server may close the connection right after its 413, and a
   * client still sending its body can then see the connection cut before it reads the reply.
   */
  mayCutConnection?: boolean;
}

export type Family =
  | "random-bytes"
  | "truncated-json"
  | "bundle-field"
  | "cloudevent-field"
  | "batch-field"
  | "binary-header"
  | "binary-data"
  | "deep-nesting"
  | "huge"
  | "content-type"
  | "schema-breaking-json";

const MiB = 1024 * 1024;
export const MAX_BODY_BYTES = 10 * MiB;
const INGEST = "/v1/events/ingest";
const EVENTS = "/v1/events";
const JSON_TYPE = "application/json";
const CE_TYPE = "application/cloudevents+json";
const BATCH_TYPE = "application/cloudevents-batch+json";

export const FUZZ_TARGET = "fuzz";

// ---- valid templates: every field in them is constrained, so any wrong value must be refused --

let serial = 0;

function validEvent(random: Random): LeviathanEvent {
  serial++;
  const attempt = { attempt_id: `fuzz-attempt-${serial}`, task_id: `task-${serial % 5}` };
  const timestamp = new Date(Date.UTC(2024, 4, 1, 12, 0, serial % 3600)).toISOString();
  const base = { event_id: `fuzz-${serial}`, timestamp, actor_id: "fuzzer" };
  const roll = random();
  if (roll < 0.2) {
    return {
      ...base,
      event_type: "pr.created",
      payload: { ...attempt, pr_url: `https://forge.example/pr/${serial}`, pr_number: serial },
    };
  }
  if (roll < 0.4) {
    return {
      ...base,
      event_type: "attempt.failed",
      payload: { ...attempt, target_id: FUZZ_TARGET, reason: "timeout", failure_kind: "task" },
    };
  }
  return {
    ...base,
    event_type: "attempt.started",
    payload: { ...attempt, target_id: FUZZ_TARGET, attempt_number: 1 + (serial % 3) },
  };
}

function validBundle(random: Random): Record<string, unknown> {
  return {
    target: FUZZ_TARGET,
    bundle_id: `fuzz-bundle-${++serial}`,
    events: Array.from({ length: 1 + Math.floor(random() * 3) }, () => validEvent(random)),
    artifacts: [
      {
        sha256: "ab".repeat(32),
        kind: "log",
        uri: `file:///logs/${serial}.log`,
        size: 10 + serial,
      },
    ],
  };
}

/** A structured-mode CloudEvent as plain JSON, exactly as the SDK serialises it. */
function validCloudEvent(random: Random): Record<string, unknown> {
  return JSON.parse(JSON.stringify(toCloudEvent(FUZZ_TARGET, validEvent(random)))) as Record<
    string,
    unknown
  >;
}

function validBinary(random: Random): { headers: Record<string, string>; body: string } {
  const message = HTTP.binary(toCloudEvent(FUZZ_TARGET, validEvent(random)));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers)) headers[name] = String(value);
  return { headers, body: String(message.body) };
}

// ---- wrong values --------------------------------------------------------------------------

type JsonKind = "null" | "boolean" | "number" | "string" | "array" | "object";

function kindOf(value: unknown): JsonKind {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value as JsonKind;
}

const OTHER_TYPES: unknown[] = [
  null,
  true,
  false,
  0,
  7,
  -1,
  1.5,
  1e308,
  "",
  "x",
  [],
  [1, "a"],
  {},
  { a: 1 },
];

/**
 * A value this field must refuse: another JSON type, or (same type) empty, far too long,
 * negative or fractional. `nullable` fields (artifacts, optional CloudEvent attributes) never
 * get null: null is allowed there.
 */
function wrongValue(random: Random, current: unknown, nullable = false): unknown {
  const kind = kindOf(current);
  const candidates: unknown[] = OTHER_TYPES.filter(
    (v) => kindOf(v) !== kind && !(nullable && v === null),
  );
  if (kind === "string") candidates.push("", "z".repeat(5_000));
  if (kind === "number") candidates.push(-1, 1.5, -0.25);
  if (kind === "object" || kind === "array") candidates.push("[object Object]");
  return candidates[Math.floor(random() * candidates.length)];
}

type Path = Array<string | number>;

/** Every path in a JSON value (objects and arrays included), depth first. */
function pathsOf(value: unknown, prefix: Path = []): Path[] {
  const paths: Path[] = prefix.length > 0 ? [prefix] : [];
  if (value !== null && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      paths.push(...pathsOf(child, [...prefix, Array.isArray(value) ? Number(key) : key]));
    }
  }
  return paths;
}

function getAt(root: unknown, path: Path): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string | number, unknown>)[key], root);
}

function setAt(root: unknown, path: Path, value: unknown): void {
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  parent[path.at(-1)!] = value;
}

function pathText(path: Path): string {
  return path
    .map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`))
    .join("")
    .replace(/^\./, "");
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

// ---- families --------------------------------------------------------------------------------

const CONTENT_TYPES_OF_ROUTE = {
  [INGEST]: [JSON_TYPE],
  [EVENTS]: [JSON_TYPE, CE_TYPE, BATCH_TYPE],
} as const;

function randomBytes(random: Random): MalformedRequest {
  const length = 8 + Math.floor(random() * 2_000);
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  // Sometimes mostly printable JSON-ish characters, which get further into a parser.
  if (random() < 0.5) {
    const alphabet = '{}[]":,0123456789.eE+-truefalsn \n\\u"abc';
    for (let i = 0; i < length; i++)
      bytes[i] = alphabet.charCodeAt(Math.floor(random() * alphabet.length));
    bytes[0] = "{[".charCodeAt(Math.floor(random() * 2));
  }
  const path = random() < 0.5 ? INGEST : EVENTS;
  const type = pick(random, CONTENT_TYPES_OF_ROUTE[path]);
  const headers: Record<string, string> =
    path === EVENTS && type === JSON_TYPE ? validBinary(random).headers : { "content-type": type };
  return {
    label: `random bytes as ${type}`,
    family: "random-bytes",
    path,
    headers,
    body: bytes,
    expect: [422],
  };
}

function truncatedJson(random: Random): MalformedRequest {
  const choice = Math.floor(random() * 4);
  let path: MalformedRequest["path"] = EVENTS;
  let headers: Record<string, string> = { "content-type": CE_TYPE };
  let text: string;
  if (choice === 0) {
    path = INGEST;
    headers = { "content-type": JSON_TYPE };
    text = JSON.stringify(validBundle(random));
  } else if (choice === 1) {
    text = JSON.stringify(validCloudEvent(random));
  } else if (choice === 2) {
    headers = { "content-type": BATCH_TYPE };
    text = JSON.stringify([validCloudEvent(random), validCloudEvent(random)]);
  } else {
    ({ headers, body: text } = validBinary(random));
  }
  const cut = Math.floor(random() * text.length);
  return {
    label: `truncated at ${cut} of ${text.length}`,
    family: "truncated-json",
    path,
    headers,
    body: text.slice(0, cut),
    expect: [422],
  };
}

function bundleField(random: Random, coverage: Set<string>): MalformedRequest {
  const bundle = validBundle(random);
  const paths = pathsOf(bundle);
  const path = pick(random, paths);
  const nullable = pathText(path) === "artifacts";
  const roll = random();
  let what: string;
  if (
    roll < 0.1 &&
    path.length > 0 &&
    typeof path.at(-1) === "string" &&
    !pathText(path).includes("payload")
  ) {
    // Strict objects: a field they do not know is refused too.
    const parent = getAt(bundle, path.slice(0, -1)) as Record<string, unknown>;
    parent.unexpected_field = 1;
    what = `unknown field beside ${pathText(path)}`;
  } else if (roll < 0.2 && isRequired(path)) {
    const parent = getAt(bundle, path.slice(0, -1)) as Record<string | number, unknown>;
    delete parent[path.at(-1)!];
    what = `missing ${pathText(path)}`;
  } else {
    setAt(bundle, path, wrongValue(random, getAt(bundle, path), nullable));
    what = `wrong value at ${pathText(path)}`;
  }
  coverage.add(`bundle ${genericPath(path)}`);
  return {
    label: `bundle: ${what}`,
    family: "bundle-field",
    path: INGEST,
    headers: { "content-type": JSON_TYPE },
    body: JSON.stringify(bundle),
    expect: [422],
  };
}

/** Outside payloads every object field is required, except `artifacts`. */
function isRequired(path: Path): boolean {
  const name = path.at(-1);
  return typeof name === "string" && name !== "artifacts" && !path.includes("payload");
}

/** `events[2].payload.x` → `events[].payload.x`, so coverage counts fields, not positions. */
function genericPath(path: Path): string {
  return pathText(path).replace(/\[\d+\]/g, "[]");
}

/** CloudEvent attributes whose wrong values must be refused (`data` is the event's payload). */
const CE_FIELDS = [
  "specversion",
  "id",
  "source",
  "type",
  "time",
  "subject",
  "datacontenttype",
  "leviathantarget",
  "data",
];
/** In JSON a null attribute is an unset one: for these optional ones null is no wrong value. */
const NULLABLE_CE_FIELDS = ["time", "subject", "datacontenttype", "leviathantarget"];

function brokenCloudEvent(
  random: Random,
  coverage: Set<string>,
  where: string,
): { ce: Record<string, unknown>; what: string } {
  const ce = validCloudEvent(random);
  const roll = random();
  let what: string;
  if (roll < 0.08) {
    ce.data_base64 = Buffer.from("{}").toString("base64");
    what = "data_base64";
  } else if (roll < 0.16) {
    const name = pick(random, [
      "Bad-Name",
      "UPPER",
      "with_underscore",
      "waytoolongextensionname42",
    ]);
    ce[name] = "x";
    what = "bad extension name";
  } else if (roll < 0.22) {
    // Not null: a null extension is an unset one.
    ce.fuzzext = pick(random, [{ a: 1 }, [1]]);
    what = "extension value not a scalar";
  } else {
    const dataPaths = pathsOf(ce.data, ["data"]);
    const path = pick(random, [...CE_FIELDS.map((f) => [f] as Path), ...dataPaths.slice(1)]);
    const nullable = path.length === 1 && NULLABLE_CE_FIELDS.includes(String(path[0]));
    const value =
      sameTypeWrong(random, path, getAt(ce, path)) ?? wrongValue(random, getAt(ce, path), nullable);
    setAt(ce, path, value);
    what = genericPath(path);
    coverage.add(`${where} ${what}`);
    return { ce, what: `${what} = ${JSON.stringify(value)?.slice(0, 40)}` };
  }
  coverage.add(`${where} ${what}`);
  return { ce, what };
}

/** Strings of the right type that are still wrong for this attribute. */
function sameTypeWrong(random: Random, path: Path, current: unknown): unknown {
  if (typeof current !== "string" || random() < 0.5) return undefined;
  const options: Record<string, string[]> = {
    specversion: ["0.3", "1", "2.0"],
    type: [
      "com.example.attempt.started",
      "dev.leviathan.",
      "dev.leviathan.Attempt",
      "dev.leviathan.x",
    ],
    time: ["yesterday", "2024-13-01T00:00:00Z", "2024-05-01 12:00"],
    subject: ["another-attempt"],
    datacontenttype: ["text/plain", "application/xml"],
    leviathantarget: ["Bad Target!", "-leading-dash", "UPPER"],
    source: [""],
    id: [""],
  };
  const values = options[String(path[0])];
  return path.length === 1 && values ? pick(random, values) : undefined;
}

function cloudEventField(random: Random, coverage: Set<string>): MalformedRequest {
  const { ce, what } = brokenCloudEvent(random, coverage, "structured");
  return {
    label: `structured CloudEvent, ${what}`,
    family: "cloudevent-field",
    path: EVENTS,
    headers: { "content-type": CE_TYPE },
    body: JSON.stringify(ce),
    expect: [422],
  };
}

function batchField(random: Random, coverage: Set<string>): MalformedRequest {
  const size = 2 + Math.floor(random() * 5);
  const batch: unknown[] = Array.from({ length: size }, () => validCloudEvent(random));
  const at = Math.floor(random() * size);
  const roll = random();
  // One bad event among good ones: all-or-nothing means none of them is stored.
  let what: string;
  if (roll < 0.1) {
    batch[at] = wrongValue(random, {});
    what = `not an object: ${JSON.stringify(batch[at])?.slice(0, 40)}`;
  } else {
    const broken = brokenCloudEvent(random, coverage, "batch");
    batch[at] = broken.ce;
    what = broken.what;
  }
  // Sometimes the whole batch is wrapped in an object instead of being the array.
  const wrapped = random() < 0.05;
  const body = JSON.stringify(wrapped ? { events: batch } : batch);
  return {
    label: `batch of ${size}${wrapped ? " wrapped in an object" : ""}, [${at}] ${what}`,
    family: "batch-field",
    path: EVENTS,
    headers: { "content-type": BATCH_TYPE },
    body,
    expect: [422],
  };
}

const REQUIRED_CE_HEADERS = ["ce-id", "ce-source", "ce-type", "ce-specversion"];

function binaryHeader(random: Random, coverage: Set<string>): MalformedRequest {
  const { headers, body } = validBinary(random);
  const names = Object.keys(headers).filter((n) => n.startsWith("ce-"));
  const name = pick(random, names);
  const roll = random();
  let what: string;
  if (roll < 0.3 && REQUIRED_CE_HEADERS.includes(name)) {
    delete headers[name];
    what = `missing ${name}`;
  } else {
    const attribute = name.slice(3);
    const wrong = (sameTypeWrong(random, [attribute], headers[name]) as string | undefined) ?? "";
    headers[name] = wrong;
    what = `${name}: ${JSON.stringify(wrong)}`;
  }
  coverage.add(`binary ${name}`);
  return {
    label: `binary mode, ${what}`,
    family: "binary-header",
    path: EVENTS,
    headers,
    body,
    expect: [422],
  };
}

function binaryData(random: Random, coverage: Set<string>): MalformedRequest {
  const { headers, body } = validBinary(random);
  const data = JSON.parse(body) as Record<string, unknown>;
  const roll = random();
  let text: string;
  if (roll < 0.3) {
    text = JSON.stringify(wrongValue(random, data));
    coverage.add("binary data itself");
  } else {
    const path = pick(random, pathsOf(data));
    setAt(data, path, wrongValue(random, getAt(data, path)));
    text = JSON.stringify(data);
    coverage.add(`binary data.${genericPath(path)}`);
  }
  return {
    label: "binary mode, bad data",
    family: "binary-data",
    path: EVENTS,
    headers,
    body: text,
    expect: [422],
  };
}

const DEPTH = 100_000;

/** Fixed cases, each once: deep nesting and huge bodies are slow enough that a few suffice. */
export function fixedCases(random: Random): Array<() => MalformedRequest> {
  const deepArray = "[".repeat(DEPTH);
  const balanced = `${"[".repeat(DEPTH)}${"]".repeat(DEPTH)}`;
  const deepObject = `${'{"a":'.repeat(DEPTH)}1${"}".repeat(DEPTH)}`;
  const withPayload = (deep: string) => {
    const bundle = validBundle(random);
    const text = JSON.stringify(bundle);
    return text.replace('"attempt_id":', `"deep":${deep},"attempt_id":`);
  };
  const deep =
    (
      label: string,
      path: MalformedRequest["path"],
      headers: Record<string, string>,
      body: () => string,
    ): (() => MalformedRequest) =>
    () => ({
      label: `deep nesting: ${label}`,
      family: "deep-nesting",
      path,
      headers,
      body: body(),
      expect: [422],
    });
  const binary = () => validBinary(random).headers;
  const huge =
    (
      label: string,
      path: MalformedRequest["path"],
      headers: Record<string, string | number>,
      body: () => string | Buffer | Buffer[],
      expect: readonly number[],
    ): (() => MalformedRequest) =>
    () => ({
      label: `huge: ${label}`,
      family: "huge",
      path,
      headers,
      body: body(),
      expect,
      ...(expect.includes(413) ? { mayCutConnection: true } : {}),
    });
  const json = { "content-type": JSON_TYPE };
  const overLimit = () => Buffer.alloc(MAX_BODY_BYTES + 1, 0x61);
  const pieces = (total: number) =>
    Array.from({ length: Math.ceil(total / MiB) }, (_, i) =>
      Buffer.alloc(Math.min(MiB, total - i * MiB), 0x20),
    );
  return [
    deep("100,000 × [ (unclosed) as a bundle", INGEST, json, () => deepArray),
    deep(
      "100,000 × [ (unclosed) as a batch",
      EVENTS,
      { "content-type": BATCH_TYPE },
      () => deepArray,
    ),
    deep(
      "100,000 × [ (unclosed) as a CloudEvent",
      EVENTS,
      { "content-type": CE_TYPE },
      () => deepArray,
    ),
    deep("100,000 × [ (unclosed) as binary data", EVENTS, binary(), () => deepArray),
    deep("100,000 balanced arrays as a bundle", INGEST, json, () => balanced),
    deep(
      "100,000 balanced arrays as a batch",
      EVENTS,
      { "content-type": BATCH_TYPE },
      () => balanced,
    ),
    deep(
      "100,000 nested objects as a CloudEvent",
      EVENTS,
      { "content-type": CE_TYPE },
      () => deepObject,
    ),
    deep("100,000 nested objects as binary data", EVENTS, binary(), () => deepObject),
    deep("100,000 balanced arrays inside a payload", INGEST, json, () => withPayload(balanced)),
    deep("100,000 nested objects inside a payload", INGEST, json, () => withPayload(deepObject)),
    deep(
      "100,000 nested objects as a CloudEvent's data",
      EVENTS,
      { "content-type": CE_TYPE },
      () => {
        const ce = JSON.stringify(validCloudEvent(random));
        return ce.replace('"data":{', `"data":{"deep":${deepObject},`);
      },
    ),
    huge(
      "a 5 MB event_id",
      INGEST,
      json,
      () => {
        const bundle = validBundle(random);
        (bundle.events as LeviathanEvent[])[0]!.event_id = "i".repeat(5 * MiB);
        return JSON.stringify(bundle);
      },
      [422],
    ),
    huge(
      "a 3 MB target",
      INGEST,
      json,
      () => JSON.stringify({ ...validBundle(random), target: "t".repeat(3 * MiB) }),
      [422],
    ),
    huge(
      "a 9 MB payload string beside a bad event_type",
      INGEST,
      json,
      () => {
        const bundle = validBundle(random);
        const event = (bundle.events as LeviathanEvent[])[0]!;
        event.payload.note = "n".repeat(9 * MiB);
        event.event_type = "Not A Type";
        return JSON.stringify(bundle);
      },
      [422],
    ),
    huge(
      "a 6 MB CloudEvent id",
      EVENTS,
      { "content-type": CE_TYPE },
      () => JSON.stringify({ ...validCloudEvent(random), id: "i".repeat(6 * MiB) }),
      [422],
    ),
    huge(
      "exactly 10 MiB of non-JSON",
      INGEST,
      json,
      () => Buffer.alloc(MAX_BODY_BYTES, 0x7b),
      [422],
    ),
    huge("10 MiB + 1 declared in Content-Length", INGEST, json, overLimit, [413]),
    huge(
      "10 MiB + 1 declared, as a batch",
      EVENTS,
      { "content-type": BATCH_TYPE },
      overLimit,
      [413],
    ),
    huge("12 MiB chunked, no Content-Length", INGEST, json, () => pieces(12 * MiB), [413]),
    huge("11 MiB chunked binary data", EVENTS, binary(), () => pieces(11 * MiB), [413]),
    huge(
      "a 20 KB ce-subject header",
      EVENTS,
      { ...binary(), "ce-subject": "s".repeat(20_000) },
      () => "{}",
      [431],
    ),
  ];
}

function contentType(random: Random): MalformedRequest {
  const path = random() < 0.5 ? INGEST : EVENTS;
  const body =
    path === INGEST ? JSON.stringify(validBundle(random)) : JSON.stringify(validCloudEvent(random));
  const wrong = pick(random, [
    undefined,
    "",
    "text/plain",
    "application/xml",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "application/json; charset=iso-8859-1",
    "application/json; charset=utf-16",
    "text/json",
    "application/cloudevents+xml",
    "application/octet-stream",
    ...(path === INGEST ? [CE_TYPE, BATCH_TYPE] : []),
    "gzip",
  ]);
  const headers: Record<string, string> = {};
  let label: string;
  if (wrong === "gzip") {
    headers["content-type"] = path === INGEST ? JSON_TYPE : CE_TYPE;
    headers["content-encoding"] = "gzip";
    label = "content-encoding gzip (not decoded)";
  } else {
    if (wrong !== undefined) headers["content-type"] = wrong;
    label = `content type ${JSON.stringify(wrong ?? null)}`;
  }
  return { label, family: "content-type", path, headers, body, expect: [415] };
}

function randomJson(random: Random, depth = 0): unknown {
  const roll = random();
  if (depth > 3 || roll < 0.3) {
    return pick(random, [
      null,
      true,
      false,
      0,
      -3,
      2.5,
      1e21,
      "",
      "text",
      "2024-05-01T00:00:00Z",
      "dev.leviathan.attempt.started",
    ]);
  }
  if (roll < 0.6) {
    return Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
      randomJson(random, depth + 1),
    );
  }
  const keys = [
    "target",
    "bundle_id",
    "events",
    "event_id",
    "id",
    "type",
    "specversion",
    "source",
    "data",
    "payload",
    "x",
    "",
  ];
  const object: Record<string, unknown> = {};
  for (let i = 0; i < 1 + Math.floor(random() * 5); i++)
    object[pick(random, keys)] = randomJson(random, depth + 1);
  return object;
}

function schemaBreakingJson(random: Random): MalformedRequest {
  const path = random() < 0.5 ? INGEST : EVENTS;
  const type = pick(random, CONTENT_TYPES_OF_ROUTE[path]);
  let value = randomJson(random);
  // An empty batch is a valid (if idle) request: never send one here.
  if (type === BATCH_TYPE && Array.isArray(value)) value = [...value, 42];
  const headers =
    path === EVENTS && type === JSON_TYPE ? validBinary(random).headers : { "content-type": type };
  return {
    label: `random JSON as ${type}`,
    family: "schema-breaking-json",
    path,
    headers,
    body: JSON.stringify(value),
    expect: [422],
  };
}

/**
 * `count` seeded malformed requests, built one at a time (some are megabytes): the fixed deep
 * and huge cases spread among them, the rest drawn from the families by weight.
 * `coverage` collects every bundle field, CloudEvent attribute and header that was broken.
 */
export function* malformedRequests(
  random: Random,
  count: number,
  coverage: Set<string>,
): Generator<MalformedRequest> {
  const fixed = fixedCases(random);
  const every = Math.max(1, Math.floor(count / (fixed.length + 1)));
  const families: Array<[number, () => MalformedRequest]> = [
    [8, () => randomBytes(random)],
    [10, () => truncatedJson(random)],
    [22, () => bundleField(random, coverage)],
    [14, () => cloudEventField(random, coverage)],
    [10, () => batchField(random, coverage)],
    [10, () => binaryHeader(random, coverage)],
    [8, () => binaryData(random, coverage)],
    [8, () => contentType(random)],
    [10, () => schemaBreakingJson(random)],
  ];
  const total = families.reduce((sum, [weight]) => sum + weight, 0);
  for (let i = 0; i < count; i++) {
    const fixedIndex = (i + 1) % every === 0 ? (i + 1) / every - 1 : -1;
    const next = fixed[fixedIndex];
    if (next) {
      yield next();
      continue;
    }
    let roll = random() * total;
    for (const [weight, make] of families) {
      roll -= weight;
      if (roll < 0) {
        yield make();
        break;
      }
    }
  }
}
