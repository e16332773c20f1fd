import { describe, expect, it } from "vitest";
import { parseBacklog, unreadableBacklog } from "../../backlog/parse-backlog.ts";
import { checkBacklogValid } from "./backlog-valid.ts";

describe("checkBacklogValid", () => {
  it("passes a valid backlog, even one whose tasks have problems", () => {
    expect(checkBacklogValid(parseBacklog("tasks:\n  - id: a\n"))).toBeNull();
  });

  it("skips backlog_invalid with the file and every problem's line", () => {
    const backlog = parseBacklog("tasks:\n  - id: a\n  - id: a\n", ".leviathan/backlog.yaml");
    expect(checkBacklogValid(backlog)).toEqual({
      reason: "backlog_invalid",
      details: {
        file: ".leviathan/backlog.yaml",
        problems: [{ path: "tasks[1].id", line: 3, message: 'duplicate id "a" (first on line 2)' }],
      },
    });
  });

  it("skips backlog_invalid when the backlog could not be read", () => {
    expect(checkBacklogValid(unreadableBacklog("not found on main"))).toEqual({
      reason: "backlog_invalid",
      details: { problems: [{ path: "", message: "not found on main" }] },
    });
  });
});
