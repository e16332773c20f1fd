import { spawnGroup } from "../process/spawn-group.ts";
import { GIT_SAFETY_CONFIG, gitEnvironment } from "./git-environment.ts";
import { GitCommandError, GitTimeoutError } from "./git-errors.ts";
import { DEFAULT_GIT_TIMEOUT_MS } from "./run-git.ts";

export interface ReadBlobsOptions {
  /** A repository (its work tree or its git directory). */
  dir: string;
  timeoutMs?: number;
}

/**
 * Streams the exact bytes of many objects through one `git cat-file --batch` (no filters, no
 * attributes: what is stored is what comes out), calling `onBlob` for each in the order asked.
 * One process however many objects, so a 10,000-file tree costs one fork.
 */
export async function readBlobs(
  shas: readonly string[],
  onBlob: (index: number, bytes: Buffer) => Promise<void> | void,
  options: ReadBlobsOptions,
): Promise<void> {
  if (shas.length === 0) return;
  const timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
  const args = [...GIT_SAFETY_CONFIG.flatMap((setting) => ["-c", setting]), "cat-file", "--batch"];
  const group = spawnGroup(["git", ...args], {
    cwd: options.dir,
    env: gitEnvironment(),
    stdin: "pipe",
    tail: "stderr",
    timeoutMs,
    killGraceMs: 0,
  });
  group.stdin!.on("error", () => undefined);
  group.stdin!.end(`${shas.join("\n")}\n`);
  try {
    await parseBatch(group.stdout!, shas, onBlob);
    const exit = await group.exited;
    if (exit.kind === "not_started") throw exit.error;
    if (exit.code !== 0) {
      const stderr = (await group.done).tail.trim();
      throw new GitCommandError("cat-file", `git cat-file failed: ${stderr}`);
    }
  } catch (error) {
    group.kill("SIGKILL");
    const result = await group.done;
    if (result.timedOut) throw new GitTimeoutError("cat-file", timeoutMs);
    throw error;
  }
}

/** `<sha> <type> <size>\n<bytes>\n` per object, or `<sha> missing\n`. */
async function parseBatch(
  stream: NodeJS.ReadableStream,
  shas: readonly string[],
  onBlob: (index: number, bytes: Buffer) => Promise<void> | void,
): Promise<void> {
  let head = Buffer.alloc(0); // an unfinished header line
  let body: Buffer[] = []; // the current object's content so far
  let bodyBytes = 0;
  let want: number | undefined; // the current object's size, plus its closing newline
  let index = 0;
  for await (const received of stream as AsyncIterable<Buffer>) {
    let chunk = received;
    while (chunk.length > 0) {
      if (want === undefined) {
        const newline = chunk.indexOf(10);
        if (newline === -1) {
          head = Buffer.concat([head, chunk]);
          break;
        }
        const header = Buffer.concat([head, chunk.subarray(0, newline)]).toString("utf8");
        head = Buffer.alloc(0);
        chunk = chunk.subarray(newline + 1);
        const [sha, type, size] = header.split(" ");
        if (type === "missing" || size === undefined || sha !== shas[index]) {
          throw new GitCommandError("cat-file", `git cat-file: object ${shas[index]} is missing`);
        }
        want = Number(size) + 1;
        continue;
      }
      const take = Math.min(chunk.length, want - bodyBytes);
      body.push(chunk.subarray(0, take));
      bodyBytes += take;
      chunk = chunk.subarray(take);
      if (bodyBytes < want) continue;
      const whole = Buffer.concat(body, bodyBytes);
      body = [];
      bodyBytes = 0;
      want = undefined;
      await onBlob(index, whole.subarray(0, whole.length - 1));
      index++;
    }
  }
  if (index !== shas.length) {
    throw new GitCommandError(
      "cat-file",
      `git cat-file ended after ${index} of ${shas.length} objects`,
    );
  }
}
