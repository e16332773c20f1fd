import type { IncomingHttpHeaders } from "node:http";
import { HTTP } from "cloudevents";
import { type CloudEventLike, fromCloudEvent, TARGET_EXTENSION } from "../../events/cloudevents.ts";
import type { ValidationDetail } from "../../events/schema.ts";
import type { AppendItem } from "../../store/types.ts";
import { decodeHeaderValue } from "./decode-header-value.ts";
import { HttpError, unprocessable } from "./http-reply.ts";
import type { BodyKind } from "./media-type.ts";
import { parseJsonBody } from "./read-body.ts";
import { withoutNullAttributes } from "./without-null-attributes.ts";

/** Attributes the CloudEvents spec defines; every other member of an event is an extension. */
const CONTEXT_ATTRIBUTES = new Set([
  "specversion",
  "id",
  "source",
  "type",
  "datacontenttype",
  "dataschema",
  "subject",
  "time",
  "data",
  "data_base64",
]);
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
const MAX_BATCH = 100_000;

/**
 * `POST /v1/events`: CloudEvents in binary mode (`ce-*` headers, JSON body),
 * structured mode or a batch, as the items to append. All-or-nothing: one bad event anywhere
 * rejects the request with every problem found (422).
 */
export function itemsFromCloudEvents(
  kind: Exclude<BodyKind, "unsupported">,
  headers: IncomingHttpHeaders,
  body: Buffer,
  receivedAt: string,
): AppendItem[] {
  const events = kind === "json" ? [binaryEvent(headers, body)] : structuredEvents(kind, body);
  const details: ValidationDetail[] = [];
  const items: AppendItem[] = [];
  events.forEach((ce, i) => {
    const prefix = kind === "cloudevent-batch" ? `[${i}]` : "";
    if (ce === null || typeof ce !== "object" || Array.isArray(ce)) {
      details.push({ path: prefix, message: "a CloudEvent must be a JSON object" });
      return;
    }
    // Headers cannot be null; in JSON a null attribute is an unset one.
    const event = kind === "json" ? ce : withoutNullAttributes(ce as Record<string, unknown>);
    const problems = attributeProblems(event, prefix);
    const mapped = fromCloudEvent(event, receivedAt, prefix);
    if (mapped.ok && problems.length === 0) {
      items.push({ target: mapped.target, event: mapped.event });
      return;
    }
    // Every problem of the event, each attribute named once.
    const named = new Set(problems.map((p) => p.path));
    details.push(
      ...problems,
      ...(mapped.ok ? [] : mapped.details.filter((d) => !named.has(d.path))),
    );
  });
  if (details.length > 0) throw unprocessable(details);
  return items;
}

function structuredEvents(kind: "cloudevent" | "cloudevent-batch", body: Buffer): CloudEventLike[] {
  const parsed = parseJsonBody(body);
  if (kind === "cloudevent") return [parsed as CloudEventLike];
  if (!Array.isArray(parsed)) {
    throw unprocessable([{ path: "", message: "a batch must be a JSON array of CloudEvents" }]);
  }
  if (parsed.length > MAX_BATCH) {
    throw unprocessable([{ path: "", message: `a batch holds at most ${MAX_BATCH} events` }]);
  }
  return parsed as CloudEventLike[];
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/**
 * Binary mode, decoded by the SDK (`HTTP.toEvent`) for the header mapping and extensions, from
 * `ce-*` values already percent-decoded (the SDK does not decode them). The required attributes
 * are checked first because the SDK would invent a missing `id`, and `time` is taken as sent
 * because the SDK silently replaces an unparsable one with the current time.
 */
function binaryEvent(headers: IncomingHttpHeaders, body: Buffer): CloudEventLike {
  const { decoded: plainHeaders, problems } = decodedHeaders(headers);
  for (const name of ["specversion", "id", "source", "type"]) {
    if (!plainHeaders[`ce-${name}`] && !problems.some((p) => p.path === name)) {
      problems.push({ path: name, message: `the ce-${name} header is missing` });
    }
  }
  if (problems.length > 0) throw unprocessable(problems);
  let data: unknown;
  if (body.length > 0) {
    try {
      data = parseJsonBody(body);
    } catch (error) {
      if (!(error instanceof HttpError) || typeof error.detail === "string") throw error;
      throw unprocessable(error.detail.map((d) => ({ path: "data", message: d.message })));
    }
  }
  let decoded: CloudEventLike;
  try {
    const event = HTTP.toEvent({ headers: plainHeaders, body: data ?? null });
    if (Array.isArray(event)) {
      throw unprocessable([{ path: "", message: "expected one CloudEvent in binary mode" }]);
    }
    decoded = { ...event };
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw unprocessable([{ path: "", message: `not a CloudEvent: ${firstLine(error)}` }]);
  }
  return { ...decoded, data, time: plainHeaders["ce-time"] };
}

/** Every header as one string; each `ce-*` value decoded, with a problem per one that fails. */
function decodedHeaders(headers: IncomingHttpHeaders): {
  decoded: Record<string, string>;
  problems: ValidationDetail[];
} {
  const decoded: Record<string, string> = {};
  const problems: ValidationDetail[] = [];
  for (const name of Object.keys(headers)) {
    const value = header(headers, name);
    if (value === undefined) continue;
    if (!name.startsWith("ce-")) {
      decoded[name] = value;
      continue;
    }
    const result = decodeHeaderValue(value);
    if (result.ok) decoded[name] = result.value;
    else problems.push({ path: name.slice(3), message: `the ${name} header ${result.problem}` });
  }
  return { decoded, problems };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}

/** What the spec requires of the envelope, beyond what our mapping (fromCloudEvent) checks. */
function attributeProblems(event: Record<string, unknown>, prefix: string): ValidationDetail[] {
  const at = (path: string) => (prefix ? `${prefix}.${path}` : path);
  const problems: ValidationDetail[] = [];
  if (event.specversion !== "1.0") {
    problems.push({ path: at("specversion"), message: 'specversion must be "1.0"' });
  }
  for (const name of ["id", "source", "type"]) {
    const value = event[name];
    if (typeof value !== "string" || value === "") {
      problems.push({ path: at(name), message: `${name} must be a non-empty string` });
    }
  }
  // The spec's optional string attributes: present means a non-empty string (fuzzing found
  // `"subject": 7` stored as if it were absent).
  for (const name of ["subject", "dataschema"]) {
    const value = event[name];
    if (value !== undefined && (typeof value !== "string" || value === "")) {
      problems.push({ path: at(name), message: `${name} must be a non-empty string` });
    }
  }
  if (event.data_base64 !== undefined) {
    problems.push({
      path: at("data_base64"),
      message: "binary data is not accepted; data must be a JSON object",
    });
  }
  const contentType = event.datacontenttype;
  if (
    contentType !== undefined &&
    (typeof contentType !== "string" ||
      !/^application\/([a-z0-9.+-]+\+)?json(\s*;.*)?$/i.test(contentType))
  ) {
    problems.push({ path: at("datacontenttype"), message: "datacontenttype must be JSON" });
  }
  for (const [name, value] of Object.entries(event)) {
    if (CONTEXT_ATTRIBUTES.has(name) || value === undefined) continue;
    if (!EXTENSION_NAME.test(name)) {
      problems.push({
        path: at(name),
        message: "an extension name must be 1-20 lowercase letters or digits",
      });
    } else if (!["string", "number", "boolean"].includes(typeof value)) {
      problems.push({
        path: at(name),
        message: "an extension value must be a string, number or boolean",
      });
    }
  }
  const data = event.data;
  const payload =
    data !== null && typeof data === "object" && !Array.isArray(data)
      ? (data as Record<string, unknown>)
      : undefined;
  const extension = event[TARGET_EXTENSION];
  if (
    payload &&
    extension !== undefined &&
    payload.target_id !== undefined &&
    payload.target_id !== extension
  ) {
    problems.push({
      path: at("data.target_id"),
      message: `data.target_id differs from the ${TARGET_EXTENSION} extension`,
    });
  }
  if (
    payload &&
    typeof event.subject === "string" &&
    typeof payload.attempt_id === "string" &&
    event.subject !== payload.attempt_id
  ) {
    problems.push({ path: at("subject"), message: "subject must be the event's attempt_id" });
  }
  return problems;
}
