import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AttemptEnvError, parseAttemptEnv } from "../../shared/attempt/attempt-env.ts";
import { REQUIRED_ATTEMPT_ENV } from "../../shared/jobs/build-attempt-job.ts";

const TOKEN = "test-token-env-5d1c";

const FULL: Record<string, string> = {
  GITHUB_TOKEN: TOKEN,
  TARGET_NAME: "radix",
  TARGET_REPO_URL: "https://github.com/iangreen74/radix.git",
  TARGET_BRANCH: "main",
  TASK_ID: "task-1.a",
  ATTEMPT_ID: "attempt-task-1.a-0badf00d",
  CONTROL_PLANE_URL: "http://leviathan-control-plane:8000",
  CONTROL_PLANE_TOKEN: "cp-token-env-77aa",
  LEVIATHAN_WORKSPACE_DIR: "/workspace",
};

function failure(env: Record<string, string | undefined>): AttemptEnvError {
  try {
    parseAttemptEnv(env);
  } catch (error) {
    if (error instanceof AttemptEnvError) return error;
    throw error;
  }
  throw new Error("parseAttemptEnv accepted the environment");
}

describe("parseAttemptEnv", () => {
  it("reads the seed's nine and gives the documented defaults for the optional ones", () => {
    const env = parseAttemptEnv(FULL);
    expect(env).toEqual({
      githubToken: TOKEN,
      targetName: "radix",
      targetRepoUrl: "https://github.com/iangreen74/radix.git",
      owner: "iangreen74",
      repo: "radix",
      targetBranch: "main",
      taskId: "task-1.a",
      attemptId: "attempt-task-1.a-0badf00d",
      controlPlaneUrl: "http://leviathan-control-plane:8000",
      controlPlaneToken: "cp-token-env-77aa",
      workspaceDir: "/workspace",
      githubApiUrl: "https://api.github.com",
      attemptTimeoutSeconds: 900,
      allowedPathPrefixes: [".leviathan/", "docs/"],
      executorIsolation: "required",
      executorUid: 65534,
    });
    expect(env.attemptNumber).toBeUndefined();
  });

  it("reads the optional ones the worker sets", () => {
    const env = parseAttemptEnv({
      ...FULL,
      TARGET_REPO_URL: "http://127.0.0.1:4567/demo/site",
      GITHUB_API_URL: "http://127.0.0.1:4567/api/v3",
      ATTEMPT_NUMBER: "3",
      ATTEMPT_TIMEOUT_SECONDS: "120",
      LEVIATHAN_ALLOWED_PATH_PREFIXES: " docs/ , site/content/ ",
      LEVIATHAN_DEFAULT_EXECUTOR: "command",
      LEVIATHAN_EXECUTOR_COMMAND: '["/bin/sh","-c","echo hi"]',
      LEVIATHAN_EXECUTOR_ISOLATION: "none",
      LEVIATHAN_EXECUTOR_UID: "10002",
      LEVIATHAN_EXECUTOR_ENV_FILE: "/run/secrets/executor.env",
      LEVIATHAN_MAX_CHANGED_FILES: "7",
      LEVIATHAN_MAX_CHANGE_BYTES: "4096",
    });
    expect(env).toMatchObject({
      executorIsolation: "none",
      executorUid: 10002,
      executorEnvFile: "/run/secrets/executor.env",
      maxChangedFiles: 7,
      maxChangeBytes: 4096,
      owner: "demo",
      repo: "site",
      githubApiUrl: "http://127.0.0.1:4567/api/v3",
      attemptNumber: 3,
      attemptTimeoutSeconds: 120,
      allowedPathPrefixes: ["docs/", "site/content/"],
      defaultExecutor: "command",
      executorCommand: ["/bin/sh", "-c", "echo hi"],
    });
  });

  it("names every missing variable in one error; blank counts as missing", () => {
    const error = failure({ TARGET_NAME: "radix", TASK_ID: "  ", PATH: "/usr/bin" });
    expect(error.missing).toEqual(REQUIRED_ATTEMPT_ENV.filter((name) => name !== "TARGET_NAME"));
    expect(error.message).toBe(
      "missing required environment variables: GITHUB_TOKEN, TARGET_REPO_URL, TARGET_BRANCH, TASK_ID, ATTEMPT_ID, CONTROL_PLANE_URL, CONTROL_PLANE_TOKEN, LEVIATHAN_WORKSPACE_DIR\n" +
        "(a token may also be given as a file: GITHUB_TOKEN_FILE, CONTROL_PLANE_TOKEN_FILE)",
    );
  });

  it("names each bad value without quoting it, together with the missing ones", () => {
    const secretUrl = `https://x-access-token:${TOKEN}@github.com/o/r.git`;
    const error = failure({
      ...FULL,
      GITHUB_TOKEN: undefined,
      TARGET_REPO_URL: secretUrl,
      TARGET_NAME: "Radix_1",
      TARGET_BRANCH: "--upload-pack=x",
      ATTEMPT_ID: "../../etc",
      LEVIATHAN_WORKSPACE_DIR: "workspace",
      GITHUB_API_URL: "http://api.example.com",
      ATTEMPT_NUMBER: "0",
      ATTEMPT_TIMEOUT_SECONDS: "15m",
      LEVIATHAN_ALLOWED_PATH_PREFIXES: "docs/,../up",
      LEVIATHAN_DEFAULT_EXECUTOR: "shell",
      LEVIATHAN_EXECUTOR_COMMAND: "sh -c 'rm -rf /'",
      LEVIATHAN_EXECUTOR_ISOLATION: "off",
      LEVIATHAN_EXECUTOR_UID: "0",
      LEVIATHAN_EXECUTOR_ENV_FILE: "relative.env",
      LEVIATHAN_MAX_CHANGED_FILES: "0",
    });
    expect(error.missing).toEqual(["GITHUB_TOKEN"]);
    expect(error.problems.map((problem) => problem.name)).toEqual([
      "TARGET_REPO_URL",
      "TARGET_NAME",
      "TARGET_BRANCH",
      "ATTEMPT_ID",
      "LEVIATHAN_WORKSPACE_DIR",
      "GITHUB_API_URL",
      "ATTEMPT_NUMBER",
      "ATTEMPT_TIMEOUT_SECONDS",
      "LEVIATHAN_ALLOWED_PATH_PREFIXES",
      "LEVIATHAN_DEFAULT_EXECUTOR",
      "LEVIATHAN_EXECUTOR_COMMAND",
      "LEVIATHAN_EXECUTOR_ISOLATION",
      "LEVIATHAN_EXECUTOR_UID",
      "LEVIATHAN_EXECUTOR_ENV_FILE",
      "LEVIATHAN_MAX_CHANGED_FILES",
    ]);
    expect(error.message).toContain("TARGET_REPO_URL must not carry credentials");
    expect(error.message).toContain("ATTEMPT_NUMBER must be a whole number from 1");
    expect(error.message).toContain("entry 2: path escapes the repository");
    expect(error.message).not.toContain(TOKEN);
    expect(error.message).not.toContain("upload-pack");
  });

  it("reads either token from its *_FILE, the variable winning; an unreadable file is named, its content never", () => {
    const dir = mkdtempSync(join(tmpdir(), "leviathan-token-files-"));
    try {
      writeFileSync(join(dir, "github"), `  ${TOKEN}-from-file\n`, { mode: 0o600 });
      writeFileSync(join(dir, "empty"), "\n");
      const fromFiles = parseAttemptEnv({
        ...FULL,
        GITHUB_TOKEN: undefined,
        GITHUB_TOKEN_FILE: join(dir, "github"),
      });
      expect(fromFiles.githubToken).toBe(`${TOKEN}-from-file`);
      const both = parseAttemptEnv({ ...FULL, GITHUB_TOKEN_FILE: join(dir, "github") });
      expect(both.githubToken).toBe(TOKEN);
      const broken = failure({
        ...FULL,
        GITHUB_TOKEN: undefined,
        GITHUB_TOKEN_FILE: join(dir, "missing"),
        CONTROL_PLANE_TOKEN: undefined,
        CONTROL_PLANE_TOKEN_FILE: join(dir, "empty"),
      });
      expect(broken.missing).toEqual([]);
      expect(broken.message).toBe(
        `GITHUB_TOKEN_FILE cannot read ${join(dir, "missing")} (ENOENT)\n` +
          `CONTROL_PLANE_TOKEN_FILE ${join(dir, "empty")} is empty`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("takes plain http only on a loopback address", () => {
    expect(failure({ ...FULL, TARGET_REPO_URL: "http://github.com/o/r" }).message).toBe(
      "TARGET_REPO_URL must be https:// (plain http:// only for loopback addresses)",
    );
    for (const host of ["127.0.0.1:8080", "localhost", "[::1]:9000"]) {
      expect(parseAttemptEnv({ ...FULL, TARGET_REPO_URL: `http://${host}/o/r.git` }).repo).toBe(
        "r",
      );
    }
  });
});
