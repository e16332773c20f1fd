import { chmodSync, lchownSync } from "node:fs";

/**
 * How files the trusted part writes for the executor become the executor's to change:
 * `chown` to its user (the attempt runs as root and the executor as another user),
 * `group-writable` (a Job's pod: the executor's container shares the pod's fsGroup, so
 * group write is what lets it edit), or `none` (the executor runs as the attempt's own user).
 */
export type HandOver =
  | { kind: "chown"; uid: number; gid: number }
  | { kind: "group-writable" }
  | { kind: "none" };

/**
 * Applies the hand-over to one entry the trusted part just created. Synchronous: it runs once
 * per file of a checkout, where a thread-pool round trip per call costs more than the call.
 */
export function handOver(
  path: string,
  type: "file" | "dir" | "symlink",
  executable: boolean,
  how: HandOver,
): void {
  if (how.kind === "chown") {
    lchownSync(path, how.uid, how.gid);
    return;
  }
  if (how.kind === "group-writable" && type !== "symlink") {
    // Set explicitly: the process's umask would otherwise take group write away. Folders keep
    // setgid so what the executor creates stays in the pod's group, readable by `deliver`.
    const mode = type === "dir" ? 0o2775 : executable ? 0o775 : 0o664;
    chmodSync(path, mode);
  }
}
