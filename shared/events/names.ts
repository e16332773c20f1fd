/**
 * The shapes of names, without the schema library: modules on the control plane's start-up
 * path (tokens, routes) check names with these alone, so loading zod waits for the first
 * request that needs a schema.
 */

/** Unknown event types are stored (forward compatible), but must look like ours. */
export const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;
/** A target name: also a config file's base name and a URL segment. */
export const TARGET_NAME_PATTERN = /^[a-z0-9][a-z0-9-]*$/;
export const MAX_TARGET_NAME_LENGTH = 63;
export const MAX_ID_LENGTH = 256;

/** `target_id` / the `:target` segment, with the message the schema gives. */
export function targetNameProblem(value: unknown): string | null {
  if (typeof value !== "string") return "target must be a string";
  if (value.length > MAX_TARGET_NAME_LENGTH) return "target must be at most 63 characters";
  if (!TARGET_NAME_PATTERN.test(value)) return "target must match [a-z0-9][a-z0-9-]*";
  return null;
}
