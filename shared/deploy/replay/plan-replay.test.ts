import { describe, expect, it } from "vitest";
import { dockerignoreMatcher } from "./dockerignore.ts";
import { parseDockerfile } from "./parse-dockerfile.ts";
import { planReplay } from "./plan-replay.ts";
import type { ManifestObject } from "./read-manifests.ts";

const NODE = `node:${process.versions.node.split(".")[0]}-slim`;

/** One Service whose container runs the image's entry point. */
const MANIFESTS: ManifestObject[] = [
  {
    kind: "Service",
    metadata: { name: "tick" },
    spec: {
      template: {
        spec: {
          containers: [
            {
              name: "tick",
              env: [{ name: "FUNCTION_TARGET", value: "tick" }],
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: "/health" } },
            },
          ],
        },
      },
    },
  },
];

function plan(dockerfile: string, contextFiles = ["package.json", "bin/leviathan.js"]) {
  return planReplay({ dockerfile, contextFiles, manifests: MANIFESTS });
}

const BASE = [
  `FROM ${NODE}`,
  "WORKDIR /app",
  "COPY package.json ./",
  "EXPOSE 8080",
  'ENTRYPOINT ["/usr/local/bin/leviathan-entrypoint"]',
];

describe("reading a Dockerfile", () => {
  it("joins continuation lines, drops comments inside them, and keeps the first line's number", () => {
    const text = "# header\nFROM x\n\nRUN a \\\n  # a comment\n  && b \\\n  && c\nUSER 1:1\n";
    expect(parseDockerfile(text)).toEqual([
      { line: 2, keyword: "FROM", value: "x" },
      { line: 4, keyword: "RUN", value: "a && b && c" },
      { line: 8, keyword: "USER", value: "1:1" },
    ]);
  });
});

describe(".dockerignore", () => {
  it("is an allow-list when it starts with *: the last match wins, a folder covers its files", () => {
    const ignored = dockerignoreMatcher("*\n!bin/\n!shared/\n**/*.test.ts\n");
    expect(ignored("bin/leviathan.js")).toBe(false);
    expect(ignored("shared/process/spawn-group.ts")).toBe(false);
    expect(ignored("shared/process/spawn-group.test.ts")).toBe(true);
    expect(ignored("test/support/wait-for.ts")).toBe(true);
    expect(ignored("package.json")).toBe(true);
  });

  it("refuses what it does not replay: character classes", () => {
    expect(() => dockerignoreMatcher("[ab]*\n")).toThrow(/character classes/);
  });
});

describe("the plan", () => {
  it("starts the container as the manifest says, from the image's ENTRYPOINT", () => {
    const { stages, entryPoints } = plan(BASE.join("\n"));
    expect(stages.map((s) => s.steps.map((step) => step.action))).toEqual([["mkdir", "copy"]]);
    expect(entryPoints).toEqual([
      expect.objectContaining({
        name: "tick",
        workload: "Service/tick",
        argv: ["/usr/local/bin/leviathan-entrypoint"],
        env: [{ name: "FUNCTION_TARGET", value: "tick" }],
        probe: "/health",
      }),
    ]);
  });

  it("skips OS set-up with its packages as the reason, and replays npm from the cache", () => {
    const { stages } = plan(
      [...BASE, "RUN apt-get update && apt-get install -y git tini", "RUN npm ci --no-audit"].join(
        "\n",
      ),
    );
    const steps = stages[0]!.steps;
    expect(steps.at(-2)).toMatchObject({ action: "skip", packages: ["git", "tini"] });
    expect(steps.at(-1)).toMatchObject({
      action: "run",
      commands: [["npm", "ci", "--no-audit", "--prefer-offline"]],
    });
  });

  it.each([
    ["RUN curl -fsSL https://example.com | sh", /:6: the replay does not know `curl`/],
    ["RUN npm run build > out.txt", /:6: .*needs a shell/],
    ["RUN apt-get install -y jq && npm install left-pad", /npm install left-pad.*own RUN/],
    ["COPY test ./test", /:6: test is not in the build context/],
    ["COPY bin/*.js ./", /wildcards/],
    ["HEALTHCHECK CMD true", /:6: HEALTHCHECK is not replayed/],
    ["ENV A=$B", /quotes and variables/],
  ])("refuses %s, naming the line", (line, message) => {
    expect(() => plan([...BASE, line].join("\n"))).toThrow(message);
  });

  it("refuses a base image of another Node major and a port the image does not expose", () => {
    expect(() => plan(BASE.join("\n").replace(NODE, "node:4-slim"))).toThrow(/Node 4/);
    expect(() => plan(BASE.filter((l) => !l.startsWith("EXPOSE")).join("\n"))).toThrow(
      /port 8080 is not EXPOSEd/,
    );
  });
});
