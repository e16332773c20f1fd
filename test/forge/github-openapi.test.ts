import { describe, expect, it } from "vitest";
import {
  assertGitHubExchange,
  assertGitHubResponse,
  gitHubExample,
  matchGitHubPath,
} from "../support/openapi.ts";

const PULL = "/repos/{owner}/{repo}/pulls/{pull_number}";

function pullRequest(): Record<string, unknown> {
  const pull = gitHubExample("get", PULL, 200) as Record<string, unknown>;
  // GitHub's own example lists teams without the `type` its schema requires.
  pull.requested_teams = [];
  return pull;
}

describe("assertGitHubResponse", () => {
  it("accepts GitHub's documented pull request and contents replies", () => {
    expect(() => assertGitHubResponse("GET", PULL, 200, pullRequest())).not.toThrow();
    const file = gitHubExample(
      "get",
      "/repos/{owner}/{repo}/contents/{path}",
      200,
      "response-if-content-is-a-file",
    );
    expect(() =>
      assertGitHubResponse("get", "/repos/{owner}/{repo}/contents/{path}", 200, file),
    ).not.toThrow();
  });

  it("names the field that breaks the schema", () => {
    const pull = pullRequest();
    pull.number = "7";
    delete pull.head;
    expect(() => assertGitHubResponse("GET", PULL, 200, pull)).toThrow(
      /GET \/repos\/\{owner\}\/\{repo\}\/pulls\/\{pull_number\} → 200[\s\S]*\/number: must be integer/,
    );
    expect(() => assertGitHubResponse("GET", PULL, 200, pull)).toThrow(/'head'/);
  });

  it("reads OpenAPI's nullable: null where GitHub allows it, refused where it does not", () => {
    const pull = pullRequest();
    pull.milestone = null;
    pull.merged_at = null;
    pull.body = null;
    expect(() => assertGitHubResponse("GET", PULL, 200, pull)).not.toThrow();
    pull.title = null;
    expect(() => assertGitHubResponse("GET", PULL, 200, pull)).toThrow(/\/title/);
  });

  it("follows replies GitHub documents by reference (404 → basic-error)", () => {
    const body = { message: "Not Found", documentation_url: "https://docs.github.com/rest" };
    expect(() => assertGitHubResponse("GET", PULL, 404, body)).not.toThrow();
    expect(() => assertGitHubResponse("GET", PULL, 404, { message: 3 })).toThrow(/\/message/);
  });

  it("refuses undocumented operations, statuses, media types, and bodies where none belong", () => {
    expect(() => assertGitHubResponse("DELETE", "/repos/{owner}/{repo}/pulls", 200, [])).toThrow(
      /no such operation/,
    );
    expect(() => assertGitHubResponse("GET", "/repos/{owner}/{repo}/pulls", 418, [])).toThrow(
      /no such status/,
    );
    expect(() =>
      assertGitHubResponse("GET", "/repos/{owner}/{repo}/pulls", 200, [], {
        contentType: "text/html",
      }),
    ).toThrow(/text\/html is not documented/);
    expect(() => assertGitHubResponse("GET", "/repos/{owner}/{repo}/pulls", 304, "")).not.toThrow();
    expect(() => assertGitHubResponse("GET", "/repos/{owner}/{repo}/pulls", 304, { a: 1 })).toThrow(
      /no body/,
    );
  });
});

describe("matchGitHubPath and assertGitHubExchange", () => {
  it("maps concrete paths to GitHub's templates, literal segments first", () => {
    expect(matchGitHubPath("GET", "/repos/o/r/pulls/comments")).toBe(
      "/repos/{owner}/{repo}/pulls/comments",
    );
    expect(matchGitHubPath("GET", "/repos/o/r/pulls/12")).toBe(PULL);
    expect(matchGitHubPath("GET", "/repos/o/r/contents/.leviathan/backlog.yaml")).toBe(
      "/repos/{owner}/{repo}/contents/{path}",
    );
    expect(matchGitHubPath("GET", "/nothing/here")).toBeNull();
  });

  it("checks a recorded exchange under a GitHub Enterprise base path, parsing JSON text", () => {
    const list = JSON.stringify([]);
    expect(() =>
      assertGitHubExchange({
        method: "GET",
        path: "/api/v3/repos/o/r/pulls?state=open&per_page=100",
        basePath: "/api/v3",
        status: 200,
        body: list,
        contentType: "application/json; charset=utf-8",
      }),
    ).not.toThrow();
    expect(() =>
      assertGitHubExchange({ method: "GET", path: "/repos/o/r/pulls", status: 200, body: "{}" }),
    ).toThrow(/must be array/);
    expect(() =>
      assertGitHubExchange({
        method: "GET",
        path: "/repos/o/r/pulls",
        basePath: "/api/v3",
        status: 200,
        body: "[]",
      }),
    ).toThrow(/not under the base path/);
  });
});
