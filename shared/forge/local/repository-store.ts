import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomically } from "../../fs/write-file-atomically.ts";
import { assertSafeBranchName } from "../../git/check-branch-name.ts";
import type { Logger } from "../../log/logger.ts";
import { refsChanged } from "./ref-generations.ts";
import { forgeGit, forgeGitText } from "./run-forge-git.ts";
import type { CreateRepositoryOptions, RepositoryState } from "./types.ts";

/**
 * The forge's disk: bare repositories under `<root>/repos/<owner>/<repo>.git` (the
 * GIT_PROJECT_ROOT of `git http-backend`) and one JSON state file per repository under
 * `<root>/state/<owner>/<repo>.json`. A repository exists once its state file does; the
 * state file is written last, so a half-created repository is never served.
 */
export interface RepositoryStore {
  readonly reposDir: string;
  gitDir(owner: string, repo: string): string;
  /** The repository's state, or undefined when there is no such repository. */
  read(owner: string, repo: string): Promise<RepositoryState | undefined>;
  /**
   * Runs `change` on a copy of the state, one change per repository at a time, and persists
   * the copy when `change` returns; a throw leaves the state as it was.
   */
  update<T>(
    owner: string,
    repo: string,
    change: (state: RepositoryState) => Promise<T>,
  ): Promise<T>;
  create(
    owner: string,
    repo: string,
    options: CreateRepositoryOptions,
  ): Promise<{ created: boolean }>;
}

export interface RepositoryStoreOptions {
  root: string;
  timeoutMs?: number;
  logger?: Logger;
  now?: () => Date;
}

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

/** GitHub's rules for owner and repository names, minus what a path could abuse. */
export function isValidName(owner: string, repo: string): boolean {
  return (
    OWNER.test(owner) && REPO.test(repo) && repo !== "." && repo !== ".." && !repo.endsWith(".git")
  );
}

export function createRepositoryStore(options: RepositoryStoreOptions): RepositoryStore {
  const reposDir = join(options.root, "repos");
  const stateDir = join(options.root, "state");
  const tmpDir = join(options.root, "tmp");
  const now = options.now ?? (() => new Date());
  const cache = new Map<string, RepositoryState>();
  const queues = new Map<string, Promise<unknown>>();
  const git = (gitDir: string) => ({
    gitDir,
    timeoutMs: options.timeoutMs,
    logger: options.logger,
  });
  const gitDir = (owner: string, repo: string) => join(reposDir, owner, `${repo}.git`);
  const statePath = (owner: string, repo: string) => join(stateDir, owner, `${repo}.json`);

  async function read(owner: string, repo: string): Promise<RepositoryState | undefined> {
    if (!isValidName(owner, repo)) return undefined;
    const key = `${owner}/${repo}`;
    const cached = cache.get(key);
    if (cached) return cached;
    let text: string;
    try {
      text = await readFile(statePath(owner, repo), "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
    const state = JSON.parse(text) as RepositoryState;
    cache.set(key, state);
    return state;
  }

  /** One change at a time per repository: numbering and merges must not interleave. */
  function serialise<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = queues.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const settled = next.catch(() => undefined);
    queues.set(key, settled);
    void settled.then(() => {
      if (queues.get(key) === settled) queues.delete(key);
    });
    return next;
  }

  async function update<T>(
    owner: string,
    repo: string,
    change: (state: RepositoryState) => Promise<T>,
  ): Promise<T> {
    return serialise(`${owner}/${repo}`, async () => {
      const current = await read(owner, repo);
      if (!current) throw new Error(`no repository ${owner}/${repo}`);
      const draft = structuredClone(current);
      const result = await change(draft);
      await writeFileAtomically(statePath(owner, repo), `${JSON.stringify(draft, null, 2)}\n`);
      cache.set(`${owner}/${repo}`, draft);
      return result;
    });
  }

  async function create(
    owner: string,
    repo: string,
    createOptions: CreateRepositoryOptions,
  ): Promise<{ created: boolean }> {
    if (!isValidName(owner, repo)) throw new Error(`not a valid repository name: ${owner}/${repo}`);
    const defaultBranch = createOptions.defaultBranch ?? "main";
    assertSafeBranchName(defaultBranch);
    return serialise(`${owner}/${repo}`, async () => {
      if (await read(owner, repo)) return { created: false };
      await mkdir(tmpDir, { recursive: true });
      const work = await mkdtemp(join(tmpDir, "create-"));
      try {
        const building = join(work, "repo.git");
        await initBare(building, defaultBranch);
        if (createOptions.fromDir) {
          await commitFolder(building, work, createOptions.fromDir, defaultBranch);
        }
        const target = gitDir(owner, repo);
        await mkdir(join(reposDir, owner), { recursive: true });
        // A folder without a state file is a creation that never finished: nothing was served
        // from it, so it is replaced.
        await rm(target, { recursive: true, force: true });
        await rename(building, target);
        refsChanged(target);
        const state: RepositoryState = {
          version: 1,
          id: repositoryId(owner, repo),
          owner,
          name: repo,
          default_branch: defaultBranch,
          created_at: now().toISOString(),
          next_number: 1,
          pulls: [],
        };
        await mkdir(join(stateDir, owner), { recursive: true });
        await writeFileAtomically(statePath(owner, repo), `${JSON.stringify(state, null, 2)}\n`);
        cache.set(`${owner}/${repo}`, state);
        options.logger?.info({ owner, repo, fromDir: createOptions.fromDir }, "repository created");
        return { created: true };
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    });
  }

  async function initBare(dir: string, defaultBranch: string): Promise<void> {
    // An empty template: no sample hooks, nothing the machine's git installation adds.
    await forgeGit(
      ["init", "--bare", "--template=", `--initial-branch=${defaultBranch}`],
      git(dir),
    );
    // Pushes over smart HTTP need receive-pack switched on; fsck keeps corrupt objects out.
    await forgeGit(["config", "http.receivepack", "true"], git(dir));
    await forgeGit(["config", "receive.fsckObjects", "true"], git(dir));
    await forgeGit(["config", "uploadpack.allowFilter", "true"], git(dir));
  }

  async function commitFolder(
    dir: string,
    work: string,
    fromDir: string,
    branch: string,
  ): Promise<void> {
    if (!(await stat(fromDir)).isDirectory()) throw new Error(`not a folder: ${fromDir}`);
    const target = {
      ...git(dir),
      env: { GIT_INDEX_FILE: join(work, "index"), GIT_WORK_TREE: fromDir },
    };
    await forgeGit(["add", "--all", "--", "."], target);
    const tree = await forgeGitText(["write-tree"], target);
    const commit = await forgeGitText(["commit-tree", tree, "-m", "Initial commit"], target);
    await forgeGit(["update-ref", `refs/heads/${branch}`, commit, ""], target);
  }

  return { reposDir, gitDir, read, update, create };
}

/** A stable id per repository name, small enough that PR ids built from it stay exact. */
function repositoryId(owner: string, repo: string): number {
  return createHash("sha256").update(`${owner}/${repo}`).digest().readUInt32BE(0) >>> 1;
}
