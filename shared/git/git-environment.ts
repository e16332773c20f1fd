/** Author and committer of every commit the attempt makes. */
export const LEVIATHAN_GIT_IDENTITY = {
  name: "Leviathan",
  email: "leviathan@users.noreply.local",
} as const;

/**
 * `-c` settings on every command. Hooks and fsmonitor would run programs the checkout (or an
 * executor that tampered with `.git/`) chose; signing and auto-gc would run programs or
 * rewrite `.git/` behind the fingerprint's back. Redirects are not followed because the token
 * travels as a header and must only ever reach the configured host.
 */
export const GIT_SAFETY_CONFIG: readonly string[] = [
  "core.hooksPath=/dev/null",
  "core.fsmonitor=false",
  "commit.gpgSign=false",
  "gc.auto=0",
  "maintenance.auto=false",
  "http.followRedirects=false",
  // Paths that macOS or Windows would read as `.git` are refused, whatever the host is.
  "core.protectHFS=true",
  "core.protectNTFS=true",
];

/** `Authorization: Basic base64(x-access-token:<token>)`, as GitHub and the local forge accept. */
export function authorizationHeader(token: string): string {
  return `Authorization: Basic ${Buffer.from(`x-access-token:${token}`).toString("base64")}`;
}

/** Every form in which a token could show up in git's output, for redaction. */
export function tokenForms(token: string | undefined): string[] {
  if (!token) return [];
  return [
    token,
    Buffer.from(`x-access-token:${token}`).toString("base64"),
    encodeURIComponent(token),
  ];
}

/**
 * The whole environment of a git command; nothing is inherited but PATH. The token, when
 * given, becomes an `http.extraHeader` through git's environment config (git ≥ 2.31), so it
 * is never in argv, a URL or `.git/config`.
 */
export function gitEnvironment(token?: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    // No `~/.gitconfig` or XDG config of the machine takes part: under /dev/null nothing can
    // exist (git ignores the ENOTDIR), and nothing needs creating or cleaning up.
    HOME: "/dev/null",
    LANG: "C",
    LC_ALL: "C",
    GIT_TERMINAL_PROMPT: "0",
    GIT_CONFIG_NOSYSTEM: "1",
    // Paths are data, never pathspec magic or globs.
    GIT_LITERAL_PATHSPECS: "1",
    // `git status` must not refresh `.git/index` between the fingerprint and its comparison.
    GIT_OPTIONAL_LOCKS: "0",
    GIT_AUTHOR_NAME: LEVIATHAN_GIT_IDENTITY.name,
    GIT_AUTHOR_EMAIL: LEVIATHAN_GIT_IDENTITY.email,
    GIT_COMMITTER_NAME: LEVIATHAN_GIT_IDENTITY.name,
    GIT_COMMITTER_EMAIL: LEVIATHAN_GIT_IDENTITY.email,
  };
  if (token) {
    env.GIT_CONFIG_COUNT = "1";
    env.GIT_CONFIG_KEY_0 = "http.extraHeader";
    env.GIT_CONFIG_VALUE_0 = authorizationHeader(token);
  }
  return env;
}
