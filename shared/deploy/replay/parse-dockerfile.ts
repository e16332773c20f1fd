import type { Instruction } from "./replay-types.ts";

/** Instructions with their 1-based line numbers, continuation lines joined, comments dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split("\n");
  const instructions: Instruction[] = [];
  for (let i = 0; i < lines.length; i++) {
    const first = (lines[i] ?? "").trim();
    if (first === "" || first.startsWith("#")) continue;
    const line = i + 1;
    let value = first;
    while (value.endsWith("\\") && i + 1 < lines.length) {
      const next = (lines[++i] ?? "").trim();
      // A comment inside a continued instruction is dropped; the instruction goes on.
      if (next.startsWith("#")) continue;
      value = `${value.slice(0, -1).trimEnd()} ${next}`;
    }
    const match = /^(\S+)\s*(.*)$/.exec(value);
    if (!match) continue;
    instructions.push({ line, keyword: match[1]!.toUpperCase(), value: match[2]!.trim() });
  }
  return instructions;
}
