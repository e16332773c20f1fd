import type { BacklogParse } from "../../backlog/types.ts";
import type { Skip } from "../types.ts";

/** Rule 4: an unreadable or invalid backlog schedules nothing; the lines say why. */
export function checkBacklogValid(backlog: BacklogParse): Skip | null {
  if (backlog.ok) return null;
  return {
    reason: "backlog_invalid",
    details: {
      ...(backlog.file === undefined ? {} : { file: backlog.file }),
      problems: backlog.problems,
    },
  };
}
