import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { toJobManifest } from "../../shared/jobs/kubernetes/job-manifest.ts";
import { type FakeKubernetes, startFakeKubernetes } from "../support/fake-kubernetes.ts";
import { attemptJob } from "./job-fixtures.ts";

/** The fake API server itself: what it accepts and refuses must be what a real one does. */

let fake: FakeKubernetes;
beforeEach(async () => {
  fake = await startFakeKubernetes();
});
afterEach(async () => {
  await fake.close();
});

// biome-ignore lint/suspicious/noExplicitAny: tests reshape manifests freely
type Loose = Record<string, any>;

async function api(method: string, path: string, body?: unknown) {
  const response = await fetch(`${fake.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${fake.token}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Loose };
}

const JOBS = "/apis/batch/v1/namespaces/leviathan/jobs";
const SECRETS = "/api/v1/namespaces/leviathan/secrets";

function manifest(): Loose {
  return structuredClone(toJobManifest(attemptJob().job)) as Loose;
}

function secret(name: string, extra: Loose = {}): Loose {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace: "leviathan" },
    stringData: { "control-plane-token": "s3cret" },
    ...extra,
  };
}

describe("the fake API server's Secrets", () => {
  it("creates a Secret (stringData merged into data), reads it, refuses a second with 409, deletes it", async () => {
    const created = await api("POST", SECRETS, secret("one"));
    expect(created.status).toBe(201);
    expect(created.body.stringData).toBeUndefined();
    expect(created.body).toMatchObject({
      type: "Opaque",
      data: { "control-plane-token": "czNjcmV0" },
    });
    expect(created.body.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect((await api("GET", `${SECRETS}/one`)).body).toEqual(created.body);
    expect(fake.secret("one")).toEqual(created.body);

    const again = await api("POST", SECRETS, secret("one"));
    expect(again).toMatchObject({
      status: 409,
      body: {
        kind: "Status",
        status: "Failure",
        reason: "AlreadyExists",
        code: 409,
        message: 'secrets "one" already exists',
        details: { name: "one", kind: "secrets" },
      },
    });

    const deleted = await api("DELETE", `${SECRETS}/one`);
    expect(deleted).toMatchObject({ status: 200, body: { kind: "Status", status: "Success" } });
    const missing = await api("GET", `${SECRETS}/one`);
    expect(missing).toMatchObject({
      status: 404,
      body: { reason: "NotFound", code: 404, message: 'secrets "one" not found' },
    });
    expect((await api("DELETE", `${SECRETS}/one`)).status).toBe(404);
    expect(fake.secretNames()).toEqual([]);
  });

  it("refuses invalid Secrets with 422, validated by kubernetes-models and the API server's rules", async () => {
    const invalid: Array<[string, Loose]> = [
      ["data", secret("a", { data: { k: "not base64!" } })],
      [
        "ownerReferences",
        secret("b", {
          metadata: {
            name: "b",
            ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: "j" }],
          },
        }),
      ],
      ["stringData", secret("c", { stringData: { "bad key": "x" } })],
      ["metadata.name", secret("Upper_Case")],
      [
        "metadata.ownerReferences",
        secret("d", {
          metadata: {
            name: "d",
            ownerReferences: ["j1", "j2"].map((name, i) => ({
              apiVersion: "batch/v1",
              kind: "Job",
              name,
              uid: `u${i}`,
              controller: true,
            })),
          },
        }),
      ],
    ];
    for (const [field, body] of invalid) {
      const reply = await api("POST", SECRETS, body);
      expect(reply.status, field).toBe(422);
      expect(reply.body, field).toMatchObject({
        kind: "Status",
        reason: "Invalid",
        details: { kind: "Secret" },
      });
      expect(JSON.stringify(reply.body.details.causes), field).toContain(field);
    }
    expect(fake.secretNames()).toEqual([]);
  });

  it("serves Secrets only under /api/v1 and Jobs only under /apis/batch/v1", async () => {
    expect(
      (await api("POST", "/apis/batch/v1/namespaces/leviathan/secrets", secret("x"))).status,
    ).toBe(404);
    expect((await api("POST", "/api/v1/namespaces/leviathan/jobs", manifest())).status).toBe(404);
    expect((await api("POST", SECRETS, manifest())).status).toBe(400);
    expect(fake.secretNames()).toEqual([]);
    expect(fake.jobNames()).toEqual([]);
  });
});

describe("the fake API server's Jobs", () => {
  it("accepts the attempt Job as built", async () => {
    expect((await api("POST", JOBS, manifest())).status).toBe(201);
  });

  it.each<[string, string, (pod: Loose) => void]>([
    [
      "two volumes of one name",
      "spec.template.spec.volumes",
      (pod) => pod.volumes.push({ name: "workspace", emptyDir: {} }),
    ],
    [
      "a mount of a missing volume",
      "volumeMounts[0].name",
      (pod) => {
        pod.initContainers[1].volumeMounts[0].name = "nowhere";
      },
    ],
    [
      "an init container named like a container",
      "spec.template.spec.containers",
      (pod) => {
        pod.initContainers[0].name = "deliver";
      },
    ],
    [
      "two mounts at one path",
      "volumeMounts.mountPath",
      (pod) => {
        pod.containers[0].volumeMounts.push({ name: "execute-tmp", mountPath: "/tmp" });
      },
    ],
    [
      "a request above its limit",
      "resources.requests[memory]",
      (pod) => {
        pod.initContainers[1].resources.requests.memory = "2Gi";
      },
    ],
    [
      "a volume of two kinds",
      "spec.template.spec.volumes[0]",
      (pod) => {
        pod.volumes[0].secret = { secretName: "x" };
      },
    ],
    [
      "a Secret item outside its volume",
      "secret.items[0].path",
      (pod) => {
        pod.volumes.find((v: Loose) => v.secret).secret.items[0].path = "../escape";
      },
    ],
    [
      "restartPolicy Always",
      "spec.template.spec.restartPolicy",
      (pod) => {
        pod.restartPolicy = "Always";
      },
    ],
  ])("refuses %s with 422", async (_what, field, change) => {
    const body = manifest();
    change(body.spec.template.spec);
    const reply = await api("POST", JOBS, body);
    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({
      kind: "Status",
      reason: "Invalid",
      details: { kind: "Job" },
    });
    expect(
      reply.body.details.causes.map((c: Loose) => c.field).join(" "),
      reply.body.message,
    ).toContain(field);
    expect(fake.jobNames()).toEqual([]);
  });
});

describe("the fake's garbage collection", () => {
  async function jobWithSecrets(): Promise<string> {
    const created = await api("POST", JOBS, manifest());
    const { name, uid } = created.body.metadata;
    const owner = {
      apiVersion: "batch/v1",
      kind: "Job",
      name,
      uid,
      blockOwnerDeletion: true,
      controller: false,
    };
    await api(
      "POST",
      SECRETS,
      secret("owned", { metadata: { name: "owned", ownerReferences: [owner] } }),
    );
    await api(
      "POST",
      SECRETS,
      secret("shared", {
        metadata: {
          name: "shared",
          ownerReferences: [owner, { ...owner, name: "other", uid: "0000-other" }],
        },
      }),
    );
    await api("POST", SECRETS, secret("unrelated"));
    return name;
  }

  it.each(["Background", "Foreground"])(
    "a %s delete of a Job deletes the Secrets only it owns",
    async (policy) => {
      const name = await jobWithSecrets();
      expect((await api("DELETE", `${JOBS}/${name}?propagationPolicy=${policy}`)).status).toBe(200);
      expect(fake.secretNames().sort()).toEqual(["shared", "unrelated"]);
      expect(fake.secret("shared")?.metadata).toMatchObject({
        ownerReferences: [{ uid: "0000-other" }],
      });
    },
  );

  it("the policy may come in the DeleteOptions body", async () => {
    const name = await jobWithSecrets();
    const reply = await api("DELETE", `${JOBS}/${name}`, {
      kind: "DeleteOptions",
      apiVersion: "v1",
      propagationPolicy: "Background",
    });
    expect(reply.status).toBe(200);
    expect(fake.secret("owned")).toBeUndefined();
  });

  it("a delete without a policy orphans them, as for any batch/v1 Job", async () => {
    const name = await jobWithSecrets();
    expect((await api("DELETE", `${JOBS}/${name}`)).status).toBe(200);
    expect(fake.secretNames().sort()).toEqual(["owned", "shared", "unrelated"]);
    expect((fake.secret("owned")!.metadata as Loose).ownerReferences).toBeUndefined();
    expect(fake.secret("shared")?.metadata).toMatchObject({
      ownerReferences: [{ uid: "0000-other" }],
    });
    expect((await api("DELETE", `${JOBS}/x?propagationPolicy=Sometimes`)).status).toBe(400);
  });
});
