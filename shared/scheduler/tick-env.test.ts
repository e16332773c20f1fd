import { describe, expect, it } from "vitest";
import { parseTickEnv, TickEnvError } from "./tick-env.ts";

describe("parseTickEnv", () => {
  it("reads the config path, sink, job runner and gate token", () => {
    const env = parseTickEnv({
      LEVIATHAN_CONFIG: "/etc/leviathan/dev.yaml",
      K_SINK: "http://worker.local",
      LEVIATHAN_JOB_RUNNER: "process",
      CONTROL_PLANE_TOKEN: "gate",
    });
    expect(env).toMatchObject({
      configPath: "/etc/leviathan/dev.yaml",
      sink: "http://worker.local",
      jobRunner: "process",
      gateToken: "gate",
    });
  });

  it("defaults the config and the job runner", () => {
    expect(parseTickEnv({}, { defaultConfig: "ops/autonomy/local.yaml" })).toMatchObject({
      configPath: "ops/autonomy/local.yaml",
      jobRunner: "kubernetes",
    });
  });

  it("names every bad variable at once and quotes no value", () => {
    const secretish = "http://user:hunter2@worker.local";
    let caught: unknown;
    try {
      parseTickEnv(
        { K_SINK: secretish, LEVIATHAN_JOB_RUNNER: "docker", GITHUB_TOKEN_FILE: "/nope/token" },
        { requireGateToken: true },
      );
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TickEnvError);
    const message = (caught as Error).message;
    expect(message).toContain("CONTROL_PLANE_TOKEN is not set");
    expect(message).toContain("LEVIATHAN_JOB_RUNNER must be one of kubernetes, process");
    expect(message).toContain("K_SINK must be an http:// or https:// URL");
    expect(message).toContain("GITHUB_TOKEN_FILE: cannot read /nope/token");
    expect(message).not.toContain("hunter2");
    expect(message).not.toContain("docker");
  });

  it("needs no gate token for the command line", () => {
    expect(parseTickEnv({}).gateToken).toBeUndefined();
  });
});
