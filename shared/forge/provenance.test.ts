import { describe, expect, it } from "vitest";
import { formatProvenance, isAgentBranch, parseProvenance } from "./provenance.ts";

describe("provenance marker", () => {
  it("round-trips and is found at the end of a body", () => {
    const marker = formatProvenance({
      target: "radix",
      task: "task-1.a",
      attempt: "attempt-task-1.a-0badf00d",
    });
    expect(marker).toBe(
      "<!-- leviathan: target=radix task=task-1.a attempt=attempt-task-1.a-0badf00d -->",
    );
    expect(parseProvenance(`## Task\nbody\n\n${marker}\n`)).toEqual({
      target: "radix",
      task: "task-1.a",
      attempt: "attempt-task-1.a-0badf00d",
    });
  });

  it("finds nothing in a PR a person wrote", () => {
    expect(parseProvenance("Fixes the docs")).toBeNull();
    expect(parseProvenance(null)).toBeNull();
  });

  it("treats only agent/ heads as agent PRs", () => {
    expect(isAgentBranch("agent/backlog-propose-attempt-x-00000000")).toBe(true);
    expect(isAgentBranch("feature/agent/x")).toBe(false);
  });
});
