import { describe, expect, it, vi } from "vitest";
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
} from "./build-attempt-job.ts";

const { config: SEED } = await loadConfig("ops/autonomy/dev.yaml");

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
  return new Map(
    buildAttemptJob(config, request).env.map((v) => [
      v.name,
      "value" in v ? v.value : { secretKeyRef: v.secretKeyRef },
    ]),
  );
}

describe("buildAttemptJob", () => {
  it("names, places and labels the Job from the request and the config", () => {
    const request = requestFor("task-1", 2);
    const job = buildAttemptJob(SEED, request);
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

  it("sets exactly the seed's nine and §5's optional variables, with the config's values", () => {
    const request = requestFor("task-1", 3);
    const env = envOf(SEED, request);
    expect([...env.keys()]).toEqual([
      ...REQUIRED_ATTEMPT_ENV,
      ...OPTIONAL_ATTEMPT_ENV.filter((n) => n !== "LEVIATHAN_EXECUTOR_COMMAND"),
    ]);
    expect(Object.fromEntries(env)).toEqual({
      GITHUB_TOKEN: { secretKeyRef: { name: "leviathan-secrets", key: "github-token" } },
      TARGET_NAME: "radix",
      TARGET_REPO_URL: "https://github.com/iangreen74/radix.git",
      TARGET_BRANCH: "main",
      TASK_ID: "task-1",
      ATTEMPT_ID: request.attempt_id,
      CONTROL_PLANE_URL: "http://leviathan-control-plane:8000",
      CONTROL_PLANE_TOKEN: {
        secretKeyRef: {
          name: "leviathan-control-plane-secret",
          key: "LEVIATHAN_CONTROL_PLANE_TOKEN",
        },
      },
      LEVIATHAN_WORKSPACE_DIR: "/workspace",
      GITHUB_API_URL: "https://api.github.com",
      ATTEMPT_NUMBER: "3",
      ATTEMPT_TIMEOUT_SECONDS: "900",
      LEVIATHAN_ALLOWED_PATH_PREFIXES: ".leviathan/,docs/",
      LEVIATHAN_DEFAULT_EXECUTOR: "backlog-propose",
    });
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
    expect([...env.keys()]).toEqual([...REQUIRED_ATTEMPT_ENV, ...OPTIONAL_ATTEMPT_ENV]);
  });

  it("carries tokens only as Secret references, never a value from its own environment", () => {
    vi.stubEnv("GITHUB_TOKEN", "test-token-FAKE-0123456789abcdef");
    vi.stubEnv("CONTROL_PLANE_TOKEN", "cp-FAKE-TOKEN-fedcba9876543210");
    try {
      const job = buildAttemptJob(SEED, requestFor("t"));
      const text = JSON.stringify(job);
      expect(text).not.toContain("test-token-FAKE");
      expect(text).not.toContain("cp-FAKE-TOKEN");
      const tokens = job.env.filter((v) => v.name.endsWith("_TOKEN"));
      expect(tokens).toEqual([
        { name: "GITHUB_TOKEN", secretKeyRef: GITHUB_TOKEN_SECRET },
        { name: "CONTROL_PLANE_TOKEN", secretKeyRef: CONTROL_PLANE_TOKEN_SECRET },
      ]);
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it("makes long or odd task ids label-safe and keeps the name within 63 characters", () => {
    const taskId = `Docs.${"very_long.".repeat(9)}End`;
    const request = requestFor(taskId);
    const job = buildAttemptJob(SEED, request);
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
    expect(buildAttemptJob(SEED, requestFor("t", 2))).toEqual(
      buildAttemptJob(SEED, requestFor("t", 2)),
    );
    expect(buildAttemptJob(SEED, requestFor("t", 2)).name).not.toBe(
      buildAttemptJob(SEED, requestFor("t", 3)).name,
    );
  });

  it("refuses a request for another target than the config's", () => {
    const request = { ...requestFor("t"), target_id: "other" };
    expect(() => buildAttemptJob(SEED, request)).toThrow(/target other, config is for radix/);
  });
});
