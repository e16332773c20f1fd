import { join } from "node:path";
import {
  CHECKPOINT_FILE,
  type CheckpointLine,
  readCheckpointFile,
} from "./checkpoints/checkpoint-file.ts";
import { macMatches } from "./checkpoints/checkpoint-mac.ts";
import type { VerifyProblem } from "./verify-store.ts";

export type AuthenticCheckpoints = { checkpoints: CheckpointLine[] } | { problem: VerifyProblem };

/**
 * Every checkpoint, each MAC checked under the key. A missing file is a problem: the key was
 * given to check the records against checkpoints, and a control plane writes one at every close.
 * A torn last line (an append cut by a crash, never published) is left out.
 */
export async function readAuthenticCheckpoints(
  dir: string,
  key: Buffer,
): Promise<AuthenticCheckpoints> {
  const file = join(dir, CHECKPOINT_FILE);
  const read = await readCheckpointFile(dir);
  if ("missing" in read) {
    return {
      problem: {
        kind: "checkpoints",
        file,
        line: 0,
        message: `${CHECKPOINT_FILE} is missing: there is nothing to check the records against`,
      },
    };
  }
  if (read.problem) {
    const { line, message } = read.problem;
    return { problem: { kind: "checkpoints", file, line, message } };
  }
  for (const checkpoint of read.checkpoints) {
    if (!macMatches(key, checkpoint.seq, checkpoint.hash, checkpoint.mac)) {
      return {
        problem: {
          kind: "checkpoints",
          file,
          line: checkpoint.line,
          message:
            `the checkpoint at seq ${checkpoint.seq} does not verify under this key: it was ` +
            "forged or altered, or written under another key",
        },
      };
    }
  }
  return { checkpoints: read.checkpoints };
}

/** A checkpoint naming a seq the store no longer reaches: the tail was cut. */
export function checkpointsProblem(
  dir: string,
  checkpoints: readonly CheckpointLine[],
  lastSeq: number,
): VerifyProblem | undefined {
  const beyond = checkpoints.find((c) => c.seq > lastSeq);
  if (!beyond) return undefined;
  return {
    kind: "checkpoints",
    file: join(dir, CHECKPOINT_FILE),
    line: beyond.line,
    message:
      `the checkpoint at seq ${beyond.seq} names a record the store no longer has: it ends at ` +
      `seq ${lastSeq}, so records ${lastSeq + 1}..${beyond.seq} were cut off`,
  };
}
