// `leviathan token attempt` as a child process, and its token on a real control plane.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { attemptIdFor } from "../../shared/events/ids.ts";
import { deriveAttemptToken } from "../../shared/tokens/attempt-token.ts";
import { runLeviathan } from "./process-support.ts";
import {
  attemptEvent,
  bundle,
  call,
  segments,
  startTestControlPlane,
  type TestControlPlane,
  TOKEN,
  tempDir,
} from "./support.ts";

const OWN = {
  attempt_id: attemptIdFor("radix", "task-1", 1),
  task_id: "task-1",
  attempt_number: 1,
};
const OTHER = {
  attempt_id: attemptIdFor("radix", "task-2", 1),
  task_id: "task-2",
  attempt_number: 1,
};

let cp: TestControlPlane;
beforeAll(async () => {
  cp = await startTestControlPlane();
  const requested = [OWN, OTHER].map((a) =>
    attemptEvent("attempt.requested", a, { config: "dev.yaml" }),
  );
  expect((await call(cp.url, "/v1/events/ingest", { body: bundle(requested) })).status).toBe(200);
});
afterAll(async () => {
  await cp.cleanup();
});

/** A home of its own, so no token is found there unless a test writes one. */
async function run(args: string[], env: Record<string, string> = {}) {
  const home = await tempDir();
  const child = runLeviathan(["token", "attempt", ...args], { LEVIATHAN_HOME: home, ...env });
  const code = await child.exited;
  // Only the derived token may ever be printed, never the key it comes from.
  expect(`${child.stdout()}${child.stderr()}`).not.toContain(TOKEN);
  return { code, stdout: child.stdout(), stderr: child.stderr(), home };
}

describe("leviathan token attempt", () => {
  it("prints the attempt token alone on one line, accepted for that attempt only", async () => {
    const { code, stdout, stderr } = await run(["radix", OWN.attempt_id], {
      CONTROL_PLANE_TOKEN: TOKEN,
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toBe("");
    expect(stdout).toMatch(/^lvat1~radix~\S+\n$/);
    const token = stdout.trim();
    expect(token).toBe(deriveAttemptToken(TOKEN, { targetId: "radix", attemptId: OWN.attempt_id }));

    const auth = `Bearer ${token}`;
    const own = bundle([attemptEvent("attempt.started", OWN)]);
    expect((await call(cp.url, "/v1/events/ingest", { auth, body: own })).status).toBe(200);
    const read = await call(cp.url, `/v1/attempts/${OWN.attempt_id}`, { auth });
    expect(read.status).toBe(200);
    expect(read.json.status).toBe("running");

    const before = await segments(cp.dir);
    const foreign = bundle([attemptEvent("attempt.started", OTHER)]);
    expect((await call(cp.url, "/v1/events/ingest", { auth, body: foreign })).status).toBe(403);
    expect((await call(cp.url, `/v1/attempts/${OTHER.attempt_id}`, { auth })).status).toBe(403);
    expect((await call(cp.url, "/v1/graph/summary", { auth })).status).toBe(403);
    const reset = await call(cp.url, "/v1/targets/radix/circuit/reset", { auth, method: "POST" });
    expect(reset.status).toBe(403);
    expect(await segments(cp.dir)).toEqual(before);
  });

  it("finds the token through CONTROL_PLANE_TOKEN_FILE, and CONTROL_PLANE_TOKEN wins over it", async () => {
    const file = join(await tempDir(), "token");
    await writeFile(file, `${TOKEN}\n`, { mode: 0o600 });
    const expected = deriveAttemptToken(TOKEN, { targetId: "radix", attemptId: OWN.attempt_id });
    const fromFile = await run(["radix", OWN.attempt_id], { CONTROL_PLANE_TOKEN_FILE: file });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect(fromFile.stdout.trim()).toBe(expected);
    const plain = await run(["radix", OWN.attempt_id], {
      CONTROL_PLANE_TOKEN: "another-operator-token",
      CONTROL_PLANE_TOKEN_FILE: file,
    });
    expect(plain.stdout.trim()).toBe(
      deriveAttemptToken("another-operator-token", {
        targetId: "radix",
        attemptId: OWN.attempt_id,
      }),
    );
  });

  it("finds the token in <LEVIATHAN_HOME>/control-plane.token, needing no URL", async () => {
    const home = await tempDir();
    await writeFile(join(home, "control-plane.token"), `${TOKEN}\n`, { mode: 0o600 });
    const child = runLeviathan(["token", "attempt", "radix", OWN.attempt_id], {
      LEVIATHAN_HOME: home,
    });
    expect(await child.exited, child.stderr()).toBe(0);
    expect(child.stdout().trim()).toBe(
      deriveAttemptToken(TOKEN, { targetId: "radix", attemptId: OWN.attempt_id }),
    );
  });

  it("no token anywhere: exit 1 naming every place it looked", async () => {
    const { code, stdout, stderr, home } = await run(["radix", OWN.attempt_id]);
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain("CONTROL_PLANE_TOKEN ");
    expect(stderr).toContain("CONTROL_PLANE_TOKEN_FILE");
    expect(stderr).toContain(join(home, "control-plane.token"));
  });

  it("a CONTROL_PLANE_TOKEN_FILE that cannot be read: exit 1 naming it, no fallback to the home", async () => {
    const missing = join(await tempDir(), "absent");
    const { code, stdout, stderr } = await run(["radix", OWN.attempt_id], {
      CONTROL_PLANE_TOKEN_FILE: missing,
    });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain(`CONTROL_PLANE_TOKEN_FILE: cannot read ${missing} (ENOENT)`);
  });

  it.each<[string, string[], RegExp]>([
    ["no arguments", [], /needs a target and an attempt id/],
    ["a target alone", ["radix"], /needs a target and an attempt id/],
    ["a third argument", ["radix", OWN.attempt_id, "extra"], /takes two arguments, not 3/],
    ["a target in capitals", ["Radix", OWN.attempt_id], /target "Radix" must match \[a-z0-9\]/],
    ["a target starting with '-'", ["--", "-radix", OWN.attempt_id], /target "-radix" must match/],
    ["a target with '~'", ["ra~dix", OWN.attempt_id], /target "ra~dix" must match/],
    ["a 64-character target", ["a".repeat(64), OWN.attempt_id], /at most 63 characters/],
    [
      "an attempt id with '/'",
      ["radix", "attempt/../x"],
      /attempt id "attempt\/\.\.\/x" may hold only/,
    ],
    ["an attempt id with '~'", ["radix", "a~b"], /attempt id "a~b" may hold only/],
    ["an attempt id with '..'", ["radix", "a..b"], /may hold only letters, digits/],
    ["an empty attempt id", ["radix", ""], /attempt id "" may hold only/],
    ["an unknown option", ["radix", OWN.attempt_id, "--json"], /Unknown option '--json'/],
  ])(
    "usage error for %s: exit 2 with the message and usage, nothing printed",
    async (_what, args, message) => {
      // The token is there: the refusal is about the arguments, not the token.
      const { code, stdout, stderr } = await run(args, { CONTROL_PLANE_TOKEN: TOKEN });
      expect(code).toBe(2);
      expect(stdout).toBe("");
      expect(stderr).toMatch(message);
      expect(stderr).toContain("Usage: leviathan token attempt <target> <attempt_id>");
    },
  );

  it("--help says what the token may do, and the overview lists the command", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: leviathan token attempt <target> <attempt_id>");
    expect(help.stdout).toContain("GET /v1/attempts/<attempt_id>");
    expect(help.stdout).toMatch(/attempt\.created, attempt\.started, attempt\.succeeded/);
    expect(help.stdout).toContain("Anything else is refused (403)");
    expect(help.stdout).toContain("CONTROL_PLANE_TOKEN_FILE");
    const overview = runLeviathan(["--help"], {});
    expect(await overview.exited).toBe(0);
    expect(overview.stdout()).toMatch(
      /^ {2}token attempt <target> <id> +print one attempt's token/m,
    );
  });
});
