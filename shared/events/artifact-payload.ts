import { z } from "zod";

/** A missing field says so; one of another type says what it must be. */
function typeError(what: string, type: string) {
  return (issue: { input: unknown }) =>
    issue.input === undefined ? `${what} is missing` : `${what} must be ${type}`;
}

const sha256 = z
  .string({ error: typeError("sha256", "a string") })
  .regex(/^[0-9a-f]{64}$/, "sha256 must be 64 lowercase hex digits");
const text = (what: string) =>
  z.string({ error: typeError(what, "a string") }).min(1, `${what} must not be empty`);
const size = (what: string) =>
  z
    .number({ error: typeError(what, "a number") })
    .int(`${what} must be a whole number`)
    .nonnegative(`${what} must not be negative`);

/** What the control plane records for a bundle's artifact. */
const bundleArtifact = z.looseObject({
  sha256,
  kind: text("kind"),
  uri: text("uri"),
  size: size("size"),
});

/** What the reference implementation's workers send for an artifact they stored. */
const workerArtifact = z.looseObject({
  artifact_id: text("artifact_id"),
  sha256,
  artifact_type: text("artifact_type"),
  size_bytes: size("size_bytes"),
  storage_path: text("storage_path"),
});

/** Fields only the workers' shape has: one of them present means that shape was meant. */
const WORKER_ONLY = ["artifact_id", "artifact_type", "size_bytes", "storage_path"];

/**
 * `artifact.created` data in either shape, `sha256` required in both. The shape is picked by
 * its fields rather than tried in turn, so a 422 names the fields of the shape that was sent.
 */
export const artifactPayloadSchema = z.looseObject({}).superRefine((payload, ctx) => {
  const worker = WORKER_ONLY.some((name) => Object.hasOwn(payload, name));
  const result = (worker ? workerArtifact : bundleArtifact).safeParse(payload);
  if (result.success) return;
  for (const issue of result.error.issues) {
    ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
  }
});
