import { notFound } from "./forge-errors.ts";
import { type ForgeServices, gitTarget, requireRepository } from "./forge-services.ts";
import { type ContentEntry, contentObject, wrapBase64 } from "./github-objects.ts";
import {
  commitRevision,
  type GitTarget,
  listTree,
  readBlob,
  type TreeEntry,
} from "./read-repository.ts";
import { refsGeneration } from "./ref-generations.ts";
import type { RestContext, RestReply } from "./rest-context.ts";

const SYMLINK_MODE = "120000";
/** GitHub inlines content up to 1 MB; a larger file has `encoding: "none"` and empty content. */
export const INLINE_CONTENT_LIMIT = 1024 * 1024;

/**
 * `GET /repos/{owner}/{repo}/contents/{path}?ref=`: a file as base64 `content`, a directory as
 * the list of its entries, a symlink with its `target`; `ref` is a branch, tag or sha (default:
 * the default branch). Read from the bare repository with `ls-tree` and `cat-file`, never a
 * checkout; listings are kept until the repository's refs change and blobs by id, so an
 * unchanged file is answered without git. With `Accept: application/vnd.github.raw` a file comes
 * back as its bytes (the only way to read one over 1 MB, as on GitHub).
 */
export async function readContents(context: RestContext): Promise<RestReply> {
  const { owner = "", repo = "" } = context.params;
  const path = normalisePath(context.params.path ?? "");
  const state = await requireRepository(context.services, owner, repo);
  const ref = context.query.get("ref") || state.default_branch;
  const target = gitTarget(context.services, owner, repo);
  const revision = commitRevision(ref);
  if (!revision) throw notFound();
  const urls = context.services.urls;

  const list = (treeish: string, at: string, inside: boolean) =>
    listTreeKept(context.services, target, treeish, at, inside);
  if (path === "") return directory(await list(revision, "", true));
  const [entry] = (await list(revision, path, false)) ?? [];
  if (!entry || entry.path !== path) throw notFound();
  // By the folder's tree id, not the ref again: a branch moved meanwhile cannot mix two commits
  // into one answer. A tree's own listing names its entries without the folder.
  if (entry.type === "tree") {
    const inside = (await list(entry.sha, "", true)) ?? [];
    return directory(inside.map((child) => ({ ...child, path: `${path}/${child.path}` })));
  }
  // A submodule has no content to give; GitHub's shape for it needs its remote URL.
  if (entry.type !== "blob") throw notFound();

  const bytes = await context.services.blobs.read(target.gitDir, entry.sha, () =>
    readBlob(target, entry.sha),
  );
  if (entry.mode === SYMLINK_MODE) {
    const object = contentObject(urls, state, ref, describe(entry));
    return { status: 200, body: { ...object, target: bytes.toString("utf8") } };
  }
  if (wantsRaw(context.headers.accept)) {
    return {
      status: 200,
      body: undefined,
      raw: { bytes, contentType: "application/vnd.github.raw; charset=utf-8" },
    };
  }
  const object = contentObject(urls, state, ref, describe(entry));
  const inline = bytes.length <= INLINE_CONTENT_LIMIT;
  return {
    status: 200,
    body: {
      ...object,
      content: inline ? wrapBase64(bytes) : "",
      encoding: inline ? "base64" : "none",
    },
  };

  /** Undefined entries: the ref names no commit. */
  function directory(entries: TreeEntry[] | undefined): RestReply {
    if (!entries) throw notFound();
    return {
      status: 200,
      body: entries.map((child) => contentObject(urls, state, ref, describe(child))),
    };
  }
}

/**
 * `listTree`, kept under the repository's refs generation: while nothing has changed its refs,
 * a re-read (the tick's backlog, every few minutes) starts no git process at all.
 */
function listTreeKept(
  services: ForgeServices,
  target: GitTarget,
  treeish: string,
  path: string,
  inside: boolean,
): Promise<TreeEntry[] | undefined> {
  const generation = refsGeneration(target.gitDir);
  const key = `${target.gitDir}\0tree\0${generation}\0${treeish}\0${path}\0${inside}`;
  return services.memo.remember(key, () => listTree(target, treeish, path, inside));
}

function describe(entry: TreeEntry): ContentEntry {
  const type =
    entry.type === "tree"
      ? "dir"
      : entry.type === "commit"
        ? "submodule"
        : entry.mode === SYMLINK_MODE
          ? "symlink"
          : "file";
  return { type, path: entry.path, sha: entry.sha, size: entry.size };
}

/** A repository path from the URL: no `.`/`..` or empty segments, no leading or trailing `/`. */
function normalisePath(raw: string): string {
  const trimmed = raw.replace(/^\/+|\/+$/g, "");
  if (trimmed === "") return "";
  const segments = trimmed.split("/");
  if (
    segments.some((part) => part === "" || part === "." || part === ".." || part.includes("\0"))
  ) {
    throw notFound();
  }
  return segments.join("/");
}

function wantsRaw(accept: string | undefined): boolean {
  return /application\/vnd\.github(?:\.v3)?\.raw/i.test(accept ?? "");
}
