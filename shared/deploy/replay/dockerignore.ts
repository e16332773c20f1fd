import { posix } from "node:path";
import { ReplayError } from "./replay-types.ts";

/**
 * Docker's .dockerignore rules as a predicate (true: excluded): the last matching pattern
 * wins, `!` re-includes, a pattern that matches a folder matches everything in it, `**` spans
 * folders, `*` and `?` stay within one.
 */
export function dockerignoreMatcher(text: string): (path: string) => boolean {
  const rules: { include: boolean; regex: RegExp }[] = [];
  for (const raw of text.split("\n")) {
    let pattern = raw.trim();
    if (pattern === "" || pattern.startsWith("#")) continue;
    const include = pattern.startsWith("!");
    if (include) pattern = pattern.slice(1).trim();
    pattern = posix.normalize(pattern.replace(/^\/+/, "")).replace(/\/+$/, "");
    if (/[[\]\\]/.test(pattern)) {
      throw new ReplayError(
        `.dockerignore: character classes and escapes are not replayed: ${raw}`,
      );
    }
    rules.push({ include, regex: globRegex(pattern) });
  }
  return (path) => {
    const prefixes = path.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"));
    let excluded = false;
    for (const rule of rules) {
      if (prefixes.some((prefix) => rule.regex.test(prefix))) excluded = !rule.include;
    }
    return excluded;
  };
}

function globRegex(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (pattern.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 2;
    } else if (pattern.startsWith("**", i)) {
      source += ".*";
      i += 1;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}
