/** How a request body is to be read, from its Content-Type (anything else is 415). */
export type BodyKind = "json" | "cloudevent" | "cloudevent-batch" | "unsupported";

export const CLOUDEVENT_TYPE = "application/cloudevents+json";
export const CLOUDEVENT_BATCH_TYPE = "application/cloudevents-batch+json";

export function bodyKindOf(contentType: string | undefined): BodyKind {
  if (!contentType) return "unsupported";
  const [essence = "", ...parameters] = contentType.split(";");
  const charset = parameters
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith("charset="))
    ?.slice("charset=".length)
    .replace(/"/g, "");
  // JSON is UTF-8 (RFC 8259); a body declared in another charset would be misread.
  if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") return "unsupported";
  const type = essence.trim().toLowerCase();
  if (type === CLOUDEVENT_BATCH_TYPE) return "cloudevent-batch";
  if (type === CLOUDEVENT_TYPE) return "cloudevent";
  if (type === "application/json" || /^application\/[a-z0-9.+-]+\+json$/.test(type)) return "json";
  return "unsupported";
}
