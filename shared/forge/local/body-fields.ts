import { validationFailed } from "./forge-errors.ts";

/** A string field of a JSON body: absent → undefined, anything but a string → 422. */
export function optionalString(
  body: Record<string, unknown>,
  field: string,
  resource = "PullRequest",
): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw validationFailed({ resource, field, code: "invalid" });
  return value;
}

/** A string field that must be present and not blank. */
export function requiredString(
  body: Record<string, unknown>,
  field: string,
  resource = "PullRequest",
): string {
  const value = optionalString(body, field, resource);
  if (value === undefined || value.trim() === "") {
    throw validationFailed({ resource, field, code: "missing_field" });
  }
  return value;
}

/** A string field that may also be null (a PR's body). */
export function nullableString(
  body: Record<string, unknown>,
  field: string,
  resource = "PullRequest",
): string | null | undefined {
  if (body[field] === null) return null;
  return optionalString(body, field, resource);
}
