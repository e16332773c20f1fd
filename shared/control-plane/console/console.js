// The operator's console: plain DOM, no framework, no network but the control plane's own API.
// Everything shown comes from data, so it is written with textContent and DOM calls only:
// a `<script>` in a title or an error summary is shown as text, never parsed.
// The token lives in sessionStorage (this tab only) and goes out as the bearer of each request.

const TOKEN_KEY = "leviathan.console.token";
const LOG_PAGE = 50;
const LOG_POLL_MS = 2000;
const REFRESH_MS = 10000;
const EVENT_TYPES = [
  "attempt.requested",
  "attempt.created",
  "attempt.started",
  "attempt.succeeded",
  "attempt.failed",
  "pr.created",
  "pr.merged",
  "pr.closed",
  "scheduler.decided",
  "scheduler.skipped",
  "task.blocked",
  "circuit.reset",
  "artifact.created",
];

const view = document.getElementById("view");
const statusLine = document.getElementById("status");
const signIn = document.getElementById("sign-in");
const signInForm = document.getElementById("sign-in-form");
const signInError = document.getElementById("sign-in-error");
const tokenInput = document.getElementById("token");
const nav = document.getElementById("nav");
const signOutButton = document.getElementById("sign-out");

/** Timers of the view on screen; a new route clears them. */
let timers = [];
/** Bumped on every route change, so a late answer for an old view draws nothing. */
let generation = 0;

class Unauthorized extends Error {}

// ---- DOM helpers --------------------------------------------------------------------------

/** An element with attributes (set as properties or attributes, never as HTML) and children. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = String(value);
    else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** A link for a URL from an event, only if it is http(s); anything else is shown as text. */
function externalLink(url, label = url) {
  let parsed;
  try {
    parsed = new URL(url);
  } catch {
    return h("span", { class: "mono" }, label);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    return h("span", { class: "mono" }, label);
  }
  return h("a", { href: parsed.href, rel: "noreferrer noopener", target: "_blank" }, label);
}

function route(...parts) {
  return `#/${parts.map((p) => encodeURIComponent(p)).join("/")}`;
}

function badge(text, kind) {
  return h("span", { class: `badge badge-${kind}` }, text);
}

function say(text) {
  statusLine.textContent = text;
}

function ago(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return "";
  const s = Math.round((now - t) / 1000);
  if (s < 0) return "in the future";
  if (s < 90) return `${s} s ago`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} min ago`;
  const hrs = Math.round(m / 60);
  if (hrs < 48) return `${hrs} h ago`;
  return `${Math.round(hrs / 24)} days ago`;
}

function time(iso) {
  if (!iso) return h("span", { class: "muted" }, "never");
  return h(
    "time",
    { datetime: iso, title: iso },
    `${iso.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC")}`,
  );
}

function table(caption, headers, rows, empty) {
  if (rows.length === 0) return h("p", { class: "muted" }, empty);
  return h(
    "table",
    { class: "cards" },
    h("caption", {}, caption),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((text) => h("th", { scope: "col" }, text)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((cells) =>
        h(
          "tr",
          {},
          cells.map((cell, i) => h("td", { "data-label": headers[i] }, cell)),
        ),
      ),
    ),
  );
}

// ---- the API --------------------------------------------------------------------------------

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function api(path, { method = "GET", withToken = token() } = {}) {
  const reply = await fetch(path, {
    method,
    headers: { authorization: `Bearer ${withToken ?? ""}`, accept: "application/json" },
    cache: "no-store",
    credentials: "omit",
    referrerPolicy: "no-referrer",
  });
  if (reply.status === 401) throw new Unauthorized("the control plane refused the token (401)");
  const text = await reply.text();
  let body;
  try {
    body = text === "" ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!reply.ok) {
    const detail = typeof body?.detail === "string" ? body.detail : JSON.stringify(body?.detail);
    throw new Error(`${method} ${path}: ${reply.status} ${detail ?? ""}`.trim());
  }
  return body;
}

// ---- sign-in --------------------------------------------------------------------------------

function showSignIn(error) {
  clearTimers();
  view.replaceChildren();
  nav.hidden = true;
  signOutButton.hidden = true;
  signIn.hidden = false;
  signInError.hidden = !error;
  signInError.textContent = error ?? "";
  tokenInput.focus();
}

signInForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const candidate = tokenInput.value.trim();
  tokenInput.value = "";
  if (candidate === "") {
    showSignIn("Enter the control plane's token.");
    return;
  }
  try {
    await api("/v1/store/head", { withToken: candidate });
  } catch (error) {
    showSignIn(
      error instanceof Unauthorized
        ? "Wrong token: the control plane answered 401. Nothing is shown without a valid token."
        : `Could not reach the control plane: ${error.message}`,
    );
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, candidate);
  signIn.hidden = true;
  signInError.hidden = true;
  render();
});

signOutButton.addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  showSignIn();
});

// ---- routing --------------------------------------------------------------------------------

function clearTimers() {
  for (const timer of timers) clearInterval(timer);
  timers = [];
}

function every(ms, fn) {
  timers.push(setInterval(fn, ms));
}

async function render() {
  clearTimers();
  const mine = ++generation;
  if (!token()) {
    showSignIn();
    return;
  }
  signIn.hidden = true;
  nav.hidden = false;
  signOutButton.hidden = false;
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const [name = "targets", id] = parts;
  for (const link of nav.querySelectorAll("a")) {
    if (link.dataset.view === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  // A redraw of the same view keeps the focus where it is; a new view focuses its heading.
  const draw = async (refresh = false) => {
    try {
      let content;
      if (name === "targets" && id) content = await targetView(id);
      else if (name === "attempts" && id) content = await attemptView(id);
      else if (name === "log") content = await logView(mine);
      else content = await targetsView();
      if (mine !== generation) return;
      view.replaceChildren(content);
      if (!refresh) view.querySelector("h2")?.focus({ preventScroll: true });
      say("");
    } catch (error) {
      if (mine !== generation) return;
      if (error instanceof Unauthorized) {
        sessionStorage.removeItem(TOKEN_KEY);
        showSignIn("The control plane refused the token (401). Sign in again.");
        return;
      }
      view.replaceChildren(h("p", { class: "error", role: "alert" }, error.message));
    }
  };
  await draw();
  // The log keeps itself current; the other views are redrawn now and then.
  if (name !== "log" && mine === generation && token()) {
    every(REFRESH_MS, () => {
      // Not while the operator is on a link or button of the view: it would go from under them.
      const onHeading = document.activeElement === view.querySelector("h2");
      if (view.contains(document.activeElement) && !onHeading) return;
      draw(!onHeading);
    });
  }
}

window.addEventListener("hashchange", render);

// ---- Targets --------------------------------------------------------------------------------

function health(t) {
  const marks = [];
  if (t.stalled) marks.push(badge("stalled", "bad"));
  if (t.circuit_open === true) marks.push(badge("breaker open", "bad"));
  if (!t.last_tick_at) marks.push(badge("no tick yet", "warn"));
  if (marks.length === 0) marks.push(badge("ok", "good"));
  return marks;
}

function breakerText(t) {
  const threshold = t.circuit_breaker_failures ?? "?";
  const state =
    t.circuit_open === null || t.circuit_open === undefined
      ? "unknown"
      : t.circuit_open
        ? "open"
        : "closed";
  return `${state} (${t.consecutive_failures}/${threshold} failures)`;
}

function resetButton(targetId, t) {
  if (t.consecutive_failures === 0 && t.circuit_open !== true) return null;
  return h(
    "button",
    {
      type: "button",
      class: "danger",
      "aria-label": `Reset the breaker of ${targetId}`,
      onclick: async (event) => {
        const ok = window.confirm(
          `Reset the circuit breaker of ${targetId}? Its ${t.consecutive_failures} consecutive failures are forgotten and the next tick may dispatch again.`,
        );
        if (!ok) return;
        event.currentTarget.disabled = true;
        try {
          const record = await api(`/v1/targets/${encodeURIComponent(targetId)}/circuit/reset`, {
            method: "POST",
          });
          say(`Breaker of ${targetId} reset (circuit.reset recorded as seq ${record.seq}).`);
          await render();
        } catch (error) {
          if (error instanceof Unauthorized) return showSignIn("The token was refused (401).");
          say(`Reset failed: ${error.message}`);
        }
      },
    },
    "Reset breaker",
  );
}

function lastTick(t) {
  if (!t.last_tick_at) return h("span", { class: "muted" }, "never");
  return h(
    "span",
    {},
    time(t.last_tick_at),
    h("br"),
    h("span", { class: "muted" }, `${ago(t.last_tick_at)}`),
  );
}

function schedule(t) {
  if (!t.schedule_cron) return h("span", { class: "muted" }, "unknown");
  return h(
    "span",
    {},
    h("code", {}, t.schedule_cron),
    t.stalled_at
      ? h("span", { class: "muted" }, ` stalled ${t.stalled ? "since" : "after"} `)
      : null,
    t.stalled_at ? time(t.stalled_at) : null,
  );
}

async function targetsView() {
  const summary = await api("/v1/graph/summary");
  const entries = Object.entries(summary.targets);
  const running = entries.reduce((n, [, t]) => n + t.running_attempts.length, 0);
  const prs = entries.reduce((n, [, t]) => n + t.open_prs.length, 0);
  const stalled = entries.filter(([, t]) => t.stalled).length;
  const open = entries.filter(([, t]) => t.circuit_open === true).length;
  const totals = h(
    "ul",
    { class: "totals", "aria-label": "Totals" },
    h("li", { "data-count": "targets" }, `${entries.length} targets`),
    h("li", { "data-count": "running" }, `${running} running attempts`),
    h("li", { "data-count": "prs" }, `${prs} open PRs`),
    h("li", { "data-count": "stalled", class: stalled ? "bad" : "" }, `${stalled} stalled`),
    h("li", { "data-count": "open", class: open ? "bad" : "" }, `${open} breakers open`),
  );
  const rows = entries.map(([id, t]) => [
    h("a", { href: route("targets", id), class: "strong" }, id),
    h("span", { class: "marks" }, health(t)),
    lastTick(t),
    schedule(t),
    t.last_skip_reason ? h("code", {}, t.last_skip_reason) : h("span", { class: "muted" }, "none"),
    h("span", {}, breakerText(t), " ", resetButton(id, t)),
    String(t.running_attempts.length),
    t.open_prs.length === 0
      ? "0"
      : h(
          "span",
          {},
          `${t.open_prs.length}: `,
          t.open_prs.map((url) => [externalLink(url, prLabel(url)), " "]),
        ),
  ]);
  return h(
    "section",
    { "aria-labelledby": "view-title", "data-view": "targets" },
    h("h2", { id: "view-title", tabindex: "-1" }, "Targets"),
    totals,
    table(
      "Each target's health",
      ["Target", "Health", "Last tick", "Schedule", "Last skip", "Breaker", "Running", "Open PRs"],
      rows,
      "No target has recorded anything yet.",
    ),
  );
}

function prLabel(url) {
  const match = /\/pull\/(\d+)\/?$/.exec(url);
  return match ? `#${match[1]}` : url;
}

// ---- A target -------------------------------------------------------------------------------

function failureCell(failure) {
  if (!failure) return h("span", { class: "muted" }, "none");
  return h(
    "div",
    { class: "failure" },
    h("code", {}, failure.reason ?? "no reason"),
    " ",
    badge(failure.failure_kind, failure.failure_kind === "platform" ? "warn" : "bad"),
    " ",
    h("a", { href: route("attempts", failure.attempt_id) }, "attempt"),
    failure.error_summary ? h("pre", { class: "summary" }, failure.error_summary) : null,
  );
}

async function targetView(id) {
  const t = await api(`/v1/targets/${encodeURIComponent(id)}`);
  const details = t.task_details ?? {};
  const tasks = Object.entries(t.tasks).sort(
    ([a], [b]) => (details[b]?.last_attempt_order ?? -1) - (details[a]?.last_attempt_order ?? -1),
  );
  const rows = tasks.map(([taskId, task]) => {
    const d = details[taskId] ?? {};
    return [
      h("span", { class: "mono" }, taskId),
      String(task.attempts),
      String(task.charged_attempts),
      h(
        "span",
        {},
        task.last_status ? badge(task.last_status, statusKind(task.last_status)) : "none",
        d.last_attempt_id
          ? [" ", h("a", { href: route("attempts", d.last_attempt_id) }, "last")]
          : null,
      ),
      task.blocked ? badge("blocked", "bad") : "no",
      failureCell(d.last_failure),
      (d.pr_urls ?? []).length === 0
        ? h("span", { class: "muted" }, "none")
        : h(
            "span",
            {},
            d.pr_urls.map((url) => [externalLink(url, prLabel(url)), " "]),
          ),
    ];
  });
  const attempts = (t.recent_attempts ?? []).map((a) => [
    h("a", { href: route("attempts", a.attempt_id), class: "mono" }, a.attempt_id),
    h("span", { class: "mono" }, a.task_id ?? ""),
    a.attempt_number === null ? "?" : String(a.attempt_number),
    h(
      "span",
      {},
      badge(a.status, statusKind(a.status)),
      a.platform_failure ? [" ", badge("platform", "warn")] : null,
    ),
    a.pr_url ? externalLink(a.pr_url, prLabel(a.pr_url)) : h("span", { class: "muted" }, "none"),
  ]);
  return h(
    "section",
    { "aria-labelledby": "view-title", "data-view": "target" },
    h("p", { class: "crumbs" }, h("a", { href: "#/targets" }, "Targets"), " / "),
    h(
      "h2",
      { id: "view-title", tabindex: "-1" },
      id,
      " ",
      h("span", { class: "marks" }, health(t)),
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Last tick"),
      h("dd", {}, lastTick(t)),
      h("dt", {}, "Schedule"),
      h("dd", {}, schedule(t)),
      h("dt", {}, "Last skip"),
      h("dd", {}, t.last_skip_reason ?? "none"),
      h("dt", {}, "Breaker"),
      h("dd", {}, breakerText(t), " ", resetButton(id, t)),
      h("dt", {}, "Running attempts"),
      h(
        "dd",
        {},
        t.running_attempts.length === 0
          ? "none"
          : t.running_attempts.map((a) => [
              h("a", { href: route("attempts", a), class: "mono" }, a),
              " ",
            ]),
      ),
      h("dt", {}, "Open PRs"),
      h(
        "dd",
        {},
        t.open_pull_requests.length === 0
          ? "none"
          : t.open_pull_requests.map((pr) => [externalLink(pr.pr_url, prLabel(pr.pr_url)), " "]),
      ),
      h("dt", {}, "Last reset"),
      h("dd", {}, time(t.last_reset_at)),
    ),
    h("h3", {}, "Tasks"),
    table(
      `Tasks of ${id}, the one with the newest attempt first`,
      ["Task", "Attempts", "Charged", "Last status", "Blocked", "Last failure", "PRs"],
      rows,
      "No task has an attempt yet.",
    ),
    h("h3", {}, "Newest attempts"),
    table(
      `The newest attempts of ${id}, newest first`,
      ["Attempt", "Task", "Number", "Status", "PR"],
      attempts,
      "No attempts yet.",
    ),
  );
}

function statusKind(status) {
  if (status === "succeeded") return "good";
  if (status === "failed") return "bad";
  return "info";
}

// ---- An attempt ----------------------------------------------------------------------------

async function attemptView(id) {
  const a = await api(`/v1/attempts/${encodeURIComponent(id)}`);
  const started = a.records.find((r) => r.event.event_type === "attempt.started");
  const pr = [...a.records].reverse().find((r) => r.event.event_type === "pr.created");
  const failed = [...a.records].reverse().find((r) => r.event.event_type === "attempt.failed");
  const isolation = started?.event.payload?.isolation;
  const items = a.records.map((r) =>
    h(
      "li",
      { class: "record", "data-seq": r.seq },
      h(
        "div",
        { class: "record-head" },
        time(r.event.timestamp),
        " ",
        h("strong", { class: "record-type" }, r.event.event_type),
        " ",
        h("span", { class: "muted" }, "by "),
        h("span", { class: "record-actor" }, r.event.actor_id),
      ),
      h(
        "div",
        { class: "record-meta muted" },
        `seq ${r.seq} · hash `,
        h("code", { class: "record-hash", title: r.hash }, r.hash),
      ),
      h(
        "details",
        {},
        h("summary", {}, "payload"),
        h("pre", { class: "payload" }, JSON.stringify(r.event.payload, null, 2)),
      ),
    ),
  );
  return h(
    "section",
    { "aria-labelledby": "view-title", "data-view": "attempt" },
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: "#/targets" }, "Targets"),
      " / ",
      h("a", { href: route("targets", a.target_id) }, a.target_id),
      " / ",
    ),
    h("h2", { id: "view-title", tabindex: "-1", class: "mono" }, a.attempt_id),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "Status"),
      h(
        "dd",
        {},
        badge(a.status, statusKind(a.status)),
        a.attempt_node?.platform_failure ? [" ", badge("platform failure", "warn")] : null,
      ),
      h("dt", {}, "Task"),
      h("dd", { class: "mono" }, a.task_id),
      h("dt", {}, "Attempt number"),
      h("dd", {}, a.attempt_number ?? "unknown"),
      h("dt", {}, "Isolation"),
      h("dd", {}, isolation ? h("code", {}, String(isolation)) : "not recorded"),
      h("dt", {}, "Pull request"),
      h(
        "dd",
        { class: "pr" },
        a.pr_url ? externalLink(a.pr_url) : "none",
        pr?.event.payload?.title
          ? [" ", h("span", { class: "pr-title" }, String(pr.event.payload.title))]
          : null,
      ),
      failed ? h("dt", {}, "Failure") : null,
      failed
        ? h(
            "dd",
            {},
            h("code", {}, String(failed.event.payload?.reason ?? "no reason")),
            failed.event.payload?.error_summary
              ? h("pre", { class: "summary" }, String(failed.event.payload.error_summary))
              : null,
          )
        : null,
    ),
    h("h3", {}, `Timeline (${a.records.length} records, oldest first)`),
    h("ol", { class: "timeline" }, items),
  );
}

// ---- The log -------------------------------------------------------------------------------

/** The log's place: the seq window shown and the filters; kept across redraws of the view. */
const log = { after: null, target: "", type: "", newest: 0, head: 0 };

function matches(record) {
  return (
    (!log.target || record.target === log.target) &&
    (!log.type || record.event.event_type === log.type)
  );
}

function logRow(r) {
  return h(
    "tr",
    { "data-seq": r.seq },
    h("td", { "data-label": "Seq" }, String(r.seq)),
    h("td", { "data-label": "Time" }, time(r.event.timestamp)),
    h("td", { "data-label": "Target" }, h("a", { href: route("targets", r.target) }, r.target)),
    h("td", { "data-label": "Type" }, h("code", {}, r.event.event_type)),
    h("td", { "data-label": "Actor" }, r.event.actor_id),
    h(
      "td",
      { "data-label": "About" },
      typeof r.event.payload?.attempt_id === "string"
        ? h(
            "a",
            { href: route("attempts", r.event.payload.attempt_id), class: "mono" },
            r.event.payload.attempt_id,
          )
        : typeof r.event.payload?.reason === "string"
          ? h("span", {}, r.event.payload.reason)
          : "",
    ),
  );
}

async function logView(mine) {
  const [head, summary] = await Promise.all([api("/v1/store/head"), api("/v1/graph/summary")]);
  log.head = head.seq;
  // At the newest page unless the operator paged back.
  const atNewest = log.after === null;
  const after = atNewest ? Math.max(0, head.seq - LOG_PAGE) : log.after;
  const page = await api(`/v1/events?after=${after}&limit=${LOG_PAGE}`);
  log.newest = Math.max(log.newest, page.next_after);
  const records = page.records.filter(matches).reverse();
  const body = h("tbody", {}, records.map(logRow));
  const first = page.records[0]?.seq ?? 0;
  const last = page.records.at(-1)?.seq ?? 0;
  const targetSelect = h(
    "select",
    {
      id: "log-target",
      onchange: (e) => {
        log.target = e.currentTarget.value;
        render();
      },
    },
    h("option", { value: "" }, "all targets"),
    Object.keys(summary.targets).map((id) =>
      h("option", { value: id, selected: id === log.target }, id),
    ),
  );
  const typeSelect = h(
    "select",
    {
      id: "log-type",
      onchange: (e) => {
        log.type = e.currentTarget.value;
        render();
      },
    },
    h("option", { value: "" }, "all types"),
    EVENT_TYPES.map((type) => h("option", { value: type, selected: type === log.type }, type)),
  );
  // The next window up; the newest page again once it would reach the head.
  const newer = after + 2 * LOG_PAGE >= head.seq ? null : after + LOG_PAGE;
  const go = (value) => () => {
    log.after = value;
    render();
  };
  const pager = h(
    "nav",
    { class: "pager", "aria-label": "Log pages" },
    h("button", { type: "button", onclick: go(null), disabled: atNewest }, "Newest"),
    h("button", { type: "button", onclick: go(newer), disabled: atNewest }, "Newer"),
    h(
      "button",
      {
        type: "button",
        id: "log-older",
        onclick: go(Math.max(0, after - LOG_PAGE)),
        disabled: after === 0,
      },
      "Older",
    ),
    h("button", { type: "button", onclick: go(0), disabled: after === 0 }, "First"),
  );
  const range = h(
    "p",
    { class: "muted", id: "log-range" },
    page.records.length === 0
      ? "No events stored yet."
      : `Events ${first}–${last} of ${head.seq}, newest first; ${records.length} match the filters.`,
  );
  const section = h(
    "section",
    { "aria-labelledby": "view-title", "data-view": "log" },
    h("h2", { id: "view-title", tabindex: "-1" }, "Log"),
    h(
      "form",
      { class: "filters", onsubmit: (e) => e.preventDefault() },
      h("label", { for: "log-target" }, "Target"),
      targetSelect,
      h("label", { for: "log-type" }, "Type"),
      typeSelect,
    ),
    pager,
    range,
    h(
      "table",
      { class: "cards log" },
      h("caption", {}, "Stored events"),
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          ["Seq", "Time", "Target", "Type", "Actor", "About"].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      body,
    ),
  );
  if (atNewest) {
    // New events appear at the top without a reload: poll for what came after the newest shown.
    let busy = false;
    every(LOG_POLL_MS, async () => {
      if (busy || mine !== generation) return;
      busy = true;
      try {
        const more = await api(`/v1/events?after=${log.newest}&limit=${LOG_PAGE}`);
        if (mine !== generation) return;
        log.newest = more.next_after;
        const fresh = more.records.filter(matches);
        for (const r of fresh) body.prepend(logRow(r));
        if (more.records.length > 0) {
          log.head = Math.max(log.head, more.next_after);
          range.textContent = `Newest events first, up to ${log.head}; ${fresh.length} new matched the filters.`;
          if (fresh.length > 0) say(`${fresh.length} new event${fresh.length === 1 ? "" : "s"}`);
        }
      } catch (error) {
        if (error instanceof Unauthorized) showSignIn("The token was refused (401).");
      } finally {
        busy = false;
      }
    });
  }
  return section;
}

render();
