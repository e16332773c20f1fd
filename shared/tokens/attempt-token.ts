import { createHmac, timingSafeEqual } from "node:crypto";
import { TARGET_NAME_PATTERN } from "../events/names.ts";

/**
 * One attempt's credential for the control plane: the target and attempt id it speaks for and
 * an HMAC-SHA256 of both under the control plane's own token. It is never stored anywhere: the
 * worker derives it for the Job, the control plane derives it again to check it, and
 * `leviathan token attempt` prints it. Whoever holds it can record that one attempt's lifecycle
 * and read that one attempt, nothing else (see `attemptTokenAllows`).
 *
 * Shape: `lvat1~<target>~<attempt id>~<43 base64url characters>`. `~` is outside both
 * identifiers' characters and inside RFC 6750's token characters, so it travels as a bearer
 * token unchanged.
 */
export const ATTEMPT_TOKEN_PREFIX = "lvat1";
const SEPARATOR = "~";
const MAC_CONTEXT = "leviathan attempt token v1";
const ATTEMPT_ID_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

export interface AttemptTokenSubject {
  targetId: string;
  attemptId: string;
}

/** `leviathan token attempt`, and the worker for each Job it creates. */
export function deriveAttemptToken(
  controlPlaneToken: string,
  subject: AttemptTokenSubject,
): string {
  checkSubject(subject);
  const mac = macOf(controlPlaneToken, subject).toString("base64url");
  return [ATTEMPT_TOKEN_PREFIX, subject.targetId, subject.attemptId, mac].join(SEPARATOR);
}

/** Whether a bearer value has an attempt token's shape (its MAC is not checked). */
export function looksLikeAttemptToken(value: string): boolean {
  return value.startsWith(`${ATTEMPT_TOKEN_PREFIX}${SEPARATOR}`);
}

/**
 * The attempt a token speaks for, when its MAC is right under `controlPlaneToken`; null for
 * anything else (another shape, another key, a changed target or id). Constant-time in the MAC.
 */
export function verifyAttemptToken(
  controlPlaneToken: string,
  value: string,
): AttemptTokenSubject | null {
  const parts = value.split(SEPARATOR);
  if (parts.length !== 4 || parts[0] !== ATTEMPT_TOKEN_PREFIX) return null;
  const [, targetId = "", attemptId = "", mac = ""] = parts;
  const subject = { targetId, attemptId };
  if (!isValidSubject(subject)) return null;
  const given = Buffer.from(mac, "base64url");
  // base64url decoding skips stray characters: insist the text is exactly what we would write.
  if (given.length !== 32 || given.toString("base64url") !== mac) return null;
  return timingSafeEqual(given, macOf(controlPlaneToken, subject)) ? subject : null;
}

function macOf(key: string, subject: AttemptTokenSubject): Buffer {
  return createHmac("sha256", key)
    .update(`${MAC_CONTEXT}\n${subject.targetId}\n${subject.attemptId}`)
    .digest();
}

/** Why a subject cannot have a token, in words for a person; undefined when it can. */
export function attemptTokenSubjectProblem(subject: AttemptTokenSubject): string | undefined {
  if (!TARGET_NAME_PATTERN.test(subject.targetId) || subject.targetId.length > 63) {
    return `target ${JSON.stringify(subject.targetId)} must match [a-z0-9][a-z0-9-]* (at most 63 characters)`;
  }
  if (!ATTEMPT_ID_PATTERN.test(subject.attemptId) || subject.attemptId.length > 200) {
    return (
      `attempt id ${JSON.stringify(subject.attemptId)} may hold only letters, digits, '-', '_' ` +
      "and single dots (at most 200 characters)"
    );
  }
  return undefined;
}

function isValidSubject(subject: AttemptTokenSubject): boolean {
  return attemptTokenSubjectProblem(subject) === undefined;
}

function checkSubject(subject: AttemptTokenSubject): void {
  const problem = attemptTokenSubjectProblem(subject);
  if (problem) throw new Error(`cannot make an attempt token: ${problem}`);
}
