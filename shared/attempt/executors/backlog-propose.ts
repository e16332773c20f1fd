import type { Executor } from "./types.ts";

/** The seed's v1: the write-back is the whole change, a PR that proves the loop. */
export const backlogProposeExecutor: Executor = {
  name: "backlog-propose",
  async run({ task, logger }) {
    logger.info({ task_id: task.id }, "backlog-propose: the write-back is the change");
  },
};
