import { describe, expect, it, vi } from "vitest";
import { repoPath } from "../../test/support/repo-root.ts";
import { loadConfig } from "../config/load-config.ts";
import type { AutonomyConfig } from "../config/schema.ts";
import { attemptIdFor } from "../events/ids.ts";
import type { AttemptRequest } from "../events/types.ts";
import {
  buildAttemptJob,
  CONTROL_PLANE_TOKEN_SECRET,
  GITHUB_TOKEN_SECRET,
  OPTIONAL_ATTEMPT_ENV,
  REQUIRED_ATTEMPT_ENV,
  TOKEN_ATTEMPT_ENV,
} from "./build-attempt-job.ts";

const { config: SEED } = await loadConfig(repoPath("ops", "autonomy", "dev.yaml"));
const ATTEMPT_TOKEN = "lvat1~radix~attempt-t-00000000~FAKE-attempt-token-value";
const OPTIONS = { attemptToken: ATTEMPT_TOKEN };
const LITERAL_REQUIRED = REQUIRED_ATTEMPT_ENV.filter(
  (name) => !(TOKEN_ATTEMPT_ENV as readonly string[]).includes(name),
);

function requestFor(taskId: string, attemptNumber = 1, config = SEED): AttemptRequest {
  return {
    target_id: config.target_id,
    task_id: taskId,
    attempt_id: attemptIdFor(config.target_id, taskId, attemptNumber),
    attempt_number: attemptNumber,
    config: "dev.yaml",
  };
}

function envOf(config: AutonomyConfig, request: AttemptRequest): Map<string, unknown> {
  return new Map(buildAttemptJob(config, request, OPTIONS).env.map((v) => [v.name, v.value]));
}

describe("buildAttemptJob", () => {
  it("names, places and labels the Job from the request and the config", () => {
    const request = requestFor("task-1", 2);
    const job = buildAttemptJob(SEED, request, OPTIONS);
    expect(job).toMatchObject({
      name: `worker-${request.attempt_id}`,
      namespace: "leviathan",
      image: "leviathan-worker:local",
      deadlineSeconds: 900,
      labels: {
        app: "leviathan-worker",
        "leviathan.dev/target": "radix",
        "leviathan.dev/task": "task-1",
        "leviathan.dev/attempt": request.attempt_id,
      },
    });
  });

  it("sets the attempt's variables with the config's values; the two tokens only as files", () => {
    const request = requestFor("task-1", 3);
    const env = envOf(SEED, request);
    expect([...env.keys()]).toEqual([
      ...LITERAL_REQUIRED,
      ...OPTIONAL_ATTEMPT_ENV.filter((n) => n !== "LEVIATHAN_EXECUTOR_COMMAND"),
    ]);
    expect(Object.fromEntries(env)).toEqual({
      TARGET_NAME: "radix",
      TARGET_REPO_URL: "https://github.com/iangreen74/radix.git",
      TARGET_BRANCH: "main",
      TASK_ID: "task-1",
      ATTEMPT_ID: request.attempt_id,
      CONTROL_PLANE_URL: "http://leviathan-control-plane:8000",
      LEVIATHAN_WORKSPACE_DIR: "/workspace",
      GITHUB_API_URL: "https://api.github.com",
      ATTEMPT_NUMBER: "3",
      ATTEMPT_TIMEOUT_SECONDS: "900",
      LEVIATHAN_ALLOWED_PATH_PREFIXES: ".leviathan/,docs/",
      LEVIATHAN_DEFAULT_EXECUTOR: "backlog-propose",
    });
    const job = buildAttemptJob(SEED, request, OPTIONS);
    expect(job.tokenFiles).toEqual([
      {
        variable: "GITHUB_TOKEN_FILE",
        secret: GITHUB_TOKEN_SECRET,
        volume: "github-token",
        path: "/var/run/secrets/leviathan/github/github-token",
      },
      {
        variable: "CONTROL_PLANE_TOKEN_FILE",
        secret: { name: `${job.name}-token`, key: "control-plane-token" },
        volume: "attempt-token",
        path: "/var/run/secrets/leviathan/attempt/control-plane-token",
      },
    ]);
    expect(job.attemptSecret).toEqual({
      name: `${job.name}-token`,
      data: { "control-plane-token": ATTEMPT_TOKEN },
    });
  });

  it("never refers to the control plane's own token, only the attempt's", () => {
    const text = JSON.stringify(buildAttemptJob(SEED, requestFor("t"), OPTIONS));
    expect(text).not.toContain(CONTROL_PLANE_TOKEN_SECRET.name);
  });

  it("sets LEVIATHAN_EXECUTOR_ISOLATION only when the config turns isolation off", () => {
    expect(envOf(SEED, requestFor("t")).has("LEVIATHAN_EXECUTOR_ISOLATION")).toBe(false);
    const required = envOf({ ...SEED, executor_isolation: "required" }, requestFor("t"));
    expect(required.has("LEVIATHAN_EXECUTOR_ISOLATION")).toBe(false);
    const none = envOf({ ...SEED, executor_isolation: "none" }, requestFor("t"));
    expect(none.get("LEVIATHAN_EXECUTOR_ISOLATION")).toBe("none");
  });

  it("passes the command executor as a JSON array, and GitHub Enterprise's API", () => {
    const config: AutonomyConfig = {
      ...SEED,
      default_executor: "command",
      executor_command: ["claude", "--task-file", "$LEVIATHAN_TASK_FILE", "a, b"],
      github_api_url: "https://ghe.example.com/api/v3",
    };
    const env = envOf(config, requestFor("t"));
    expect(JSON.parse(env.get("LEVIATHAN_EXECUTOR_COMMAND") as string)).toEqual(
      config.executor_command,
    );
    expect(env.get("LEVIATHAN_DEFAULT_EXECUTOR")).toBe("command");
    expect(env.get("GITHUB_API_URL")).toBe("https://ghe.example.com/api/v3");
    expect([...env.keys()]).toEqual([...LITERAL_REQUIRED, ...OPTIONAL_ATTEMPT_ENV]);
  });

  it("carries no token value from its own environment; the attempt token only in its Secret", () => {
    vi.stubEnv("GITHUB_TOKEN", "test-token-FAKE-0123456789abcdef");
    vi.stubEnv("CONTROL_PLANE_TOKEN", "cp-FAKE-TOKEN-fedcba9876543210");
    try {
      const job = buildAttemptJob(SEED, requestFor("t"), OPTIONS);
      const { attemptSecret, ...spec } = job;
      const text = JSON.stringify(job);
      expect(text).not.toContain("test-token-FAKE");
      expect(text).not.toContain("cp-FAKE-TOKEN");
      expect(JSON.stringify(spec)).not.toContain(ATTEMPT_TOKEN);
      expect(attemptSecret.data["control-plane-token"]).toBe(ATTEMPT_TOKEN);
      expect(job.env.filter((v) => /TOKEN/.test(v.name))).toEqual([]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("makes long or odd task ids label-safe and keeps the name within 63 characters", () => {
    const taskId = `Docs.${"very_long.".repeat(9)}End`;
    const request = requestFor(taskId);
    const job = buildAttemptJob(SEED, request, OPTIONS);
    expect(job.name.length).toBeLessThanOrEqual(63);
    expect(job.name.endsWith(request.attempt_id.slice(-8))).toBe(true);
    for (const value of Object.values(job.labels)) {
      expect(value).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(value.length).toBeLessThanOrEqual(63);
    }
    // The environment keeps the real ids: labels are for selection, not for identity.
    expect(envOf(SEED, request).get("TASK_ID")).toBe(taskId);
  });

  it("gives a repeated request the same Job (a redelivered CloudEvent is a no-op)", () => {
    expect(buildAttemptJob(SEED, requestFor("t", 2), OPTIONS)).toEqual(
      buildAttemptJob(SEED, requestFor("t", 2), OPTIONS),
    );
    expect(buildAttemptJob(SEED, requestFor("t", 2), OPTIONS).name).not.toBe(
      buildAttemptJob(SEED, requestFor("t", 3), OPTIONS).name,
    );
  });

  it("refuses a request for another target than the config's", () => {
    const request = { ...requestFor("t"), target_id: "other" };
    expect(() => buildAttemptJob(SEED, request, OPTIONS)).toThrow(
      /target other, config is for radix/,
    );
  });
});
