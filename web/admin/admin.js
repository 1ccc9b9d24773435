// The operator page: the admin token once; a date range and gate that drive the totals, the
// charts, who came in and the audit log (filters, paging, auto-refresh, CSV download); the
// signing keys and payments (desk.js). The token lives in localStorage, never in a URL.
import { ApiError, REASON_WORDS, api, dateTime, say, shortId, store } from "/common.js";
import { drawDaily, drawHourly, drawReasons, followWidths } from "/admin/charts.js";
import { Entries, Keys, Payments, cell } from "/admin/desk.js";
import { initGates, loadConflicts, loadGates } from "/admin/gates.js";

const TOKEN_KEY = "gymgate.adminToken";
const PAGE_SIZE = 20;
const REFRESH_EVERY_MS = 5000;

const $ = (id) => document.getElementById(id);
const view = {
  loading: $("loading"),
  login: $("login"),
  loginForm: $("login-form"),
  tokenInput: $("admin-token"),
  loginMessage: $("login-message"),
  dashboard: $("dashboard"),
  problem: $("problem"),
  signOut: $("sign-out"),
  totalAll: $("total-all"),
  totalAllow: $("total-allow"),
  totalDeny: $("total-deny"),
  reasons: $("reasons"),
  filters: $("filters"),
  reason: $("f-reason"),
  auto: $("auto-refresh"),
  updated: $("updated"),
  rows: $("audit-rows"),
  empty: $("audit-empty"),
  newer: $("newer"),
  older: $("older"),
  pageLabel: $("page-label"),
  range: $("range"),
  rangeSince: $("r-since"),
  rangeUntil: $("r-until"),
  rangeGate: $("r-gate"),
  rangeToday: $("r-today"),
  rangeMessage: $("range-message"),
  title: $("today-title"),
  totalConflicts: $("total-conflicts"),
  chartDay: $("chart-day"),
  chartMonth: $("chart-month"),
  exportButton: $("export"),
};
const ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const page = { token: () => token, failed: (error) => failed(error), range: () => range() };
const entries = new Entries(page);
const keys = new Keys(page);
const payments = new Payments(page);

let token = null;
let refreshTimer = 0;
// Paging by cursor: `before` is the page being shown, `previous` the cursors of newer pages.
let before = null;
let previous = [];
let nextBefore = null;

// ---- the admin token ---------------------------------------------------------------------

function showLogin(message = "") {
  clearInterval(refreshTimer);
  view.loading.hidden = true;
  view.dashboard.hidden = true;
  view.login.hidden = false;
  say(view.loginMessage, message, "error");
  view.tokenInput.focus();
}

async function onLogin(event) {
  event.preventDefault();
  const candidate = view.tokenInput.value.trim();
  if (!candidate) {
    say(view.loginMessage, "Enter the admin token.", "error");
    return;
  }
  try {
    await api("/keys", { bearer: candidate });
  } catch (error) {
    say(view.loginMessage, tokenProblem(error), "error");
    return;
  }
  token = candidate;
  store.set(TOKEN_KEY, token);
  view.tokenInput.value = "";
  showDashboard();
}

function tokenProblem(error) {
  if (error.status === 401 || (error.status === 403 && !/is off/.test(error.message))) {
    return "That admin token was not accepted. Check the server's GYMGATE_ADMIN_TOKEN.";
  }
  return error.message;
}

/** A failed call on the dashboard: a bad token goes back to sign-in; the rest is a banner. */
function failed(error) {
  if (error.status === 401 || error.status === 403) {
    store.remove(TOKEN_KEY);
    token = null;
    showLogin(tokenProblem(error));
    return;
  }
  say(
    view.problem,
    error.kind === "offline"
      ? "Can't reach the gymgate server. The figures below may be out of date; we'll keep trying."
      : error.message,
    "error",
  );
}

// ---- the dashboard -----------------------------------------------------------------------

function showDashboard() {
  view.loading.hidden = true;
  view.login.hidden = true;
  view.dashboard.hidden = false;
  refreshAll();
  keys.load();
  loadKnownGates();
  loadGates();
  loadConflicts();
  scheduleRefresh();
}

function scheduleRefresh() {
  clearInterval(refreshTimer);
  if (view.auto.checked) refreshTimer = setInterval(autoRefresh, REFRESH_EVERY_MS);
}

function autoRefresh() {
  if (document.hidden || !token) return;
  // Older pages stay put while being read; the newest page and the totals follow live.
  if (before === null) loadAudit();
  loadTotals();
  entries.refresh();
  loadCharts();
  keys.load(); // a rotation done with the CLI shows up without a reload
  loadGates();
  loadConflicts();
}

async function refreshAll() {
  await Promise.all([loadTotals(), loadAudit(), entries.load(), loadCharts()]);
}

// ---- the date range and gate ----------------------------------------------------------------

/** yyyy-mm-dd of a Date in the viewer's zone (what <input type=date> holds). */
function localDay(date) {
  const two = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())}`;
}

/** Local midnight starting the yyyy-mm-dd day, `plusDays` later. */
function midnight(day, plusDays = 0) {
  const [y, m, d] = day.split("-").map(Number);
  return new Date(y, m - 1, d + plusDays);
}

/** The range asked for: ISO instants [since, until) and the gate ("" = all). */
function range() {
  const today = localDay(new Date());
  const sinceDay = view.rangeSince.value || today;
  const untilDay = view.rangeUntil.value || sinceDay;
  return {
    sinceDay,
    untilDay,
    since: midnight(sinceDay).toISOString(),
    until: midnight(untilDay, 1).toISOString(),
    gate: view.rangeGate.value,
  };
}

const dayWords = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const monthWords = new Intl.DateTimeFormat(undefined, { month: "long", year: "numeric" });

function showRangeTitle(r) {
  const today = localDay(new Date());
  let words;
  if (r.sinceDay === today && r.untilDay === today) words = "Today";
  else if (r.sinceDay === r.untilDay) words = dayWords.format(midnight(r.sinceDay));
  else words = `${dayWords.format(midnight(r.sinceDay))} – ${dayWords.format(midnight(r.untilDay))}`;
  view.title.textContent = `${words} at ${r.gate || "the gates"}`;
}

function setToday() {
  const today = localDay(new Date());
  view.rangeSince.value = today;
  view.rangeUntil.value = today;
  view.chartDay.value = today;
  view.chartMonth.value = today.slice(0, 7);
}

function applyRange(event) {
  event?.preventDefault();
  const r = range();
  if (r.untilDay < r.sinceDay) {
    say(view.rangeMessage, "The “To” date must be on or after the “From” date.", "error");
    return;
  }
  say(view.rangeMessage, "");
  // The charts follow the range's first day and month; the operator can pick others.
  view.chartDay.value = r.sinceDay;
  view.chartMonth.value = r.sinceDay.slice(0, 7);
  before = null;
  previous = [];
  refreshAll();
}

/** Gate names the audit log has seen in the last 90 days, for the gate list (more join as
 * the totals of other dates name them). */
function addGates(names) {
  const known = new Set([...view.rangeGate.options].map((o) => o.value));
  for (const name of names.sort()) {
    if (!known.has(name)) view.rangeGate.append(new Option(name, name));
  }
}

async function loadKnownGates() {
  try {
    const since = new Date(Date.now() - 90 * 24 * 3600 * 1000).toISOString();
    const recent = await api(`/audit/summary?since=${encodeURIComponent(since)}`, { bearer: token });
    addGates(Object.keys(recent.by_gate || {}));
  } catch (error) {
    failed(error);
  }
}

function rangeQuery() {
  const r = range();
  const query = new URLSearchParams({ since: r.since, until: r.until });
  if (r.gate) query.set("gate", r.gate);
  return query;
}

// ---- totals and charts -------------------------------------------------------------------

async function loadTotals() {
  try {
    showRangeTitle(range());
    const totals = await api(`/audit/summary?${rangeQuery()}`, { bearer: token });
    view.totalAll.textContent = totals.total;
    view.totalAllow.textContent = totals.by_result.allow || 0;
    view.totalDeny.textContent = totals.by_result.deny || 0;
    view.totalConflicts.textContent = totals.conflicts || 0;
    addGates(Object.keys(totals.by_gate || {}));
    drawReasons($("reasons-chart"), $("reasons-note"), totals.by_reason);
    view.reasons.replaceChildren(
      ...Object.entries(totals.by_reason)
        .sort((a, b) => b[1] - a[1])
        .map(([reason, count]) => {
          const item = document.createElement("li");
          item.textContent = `${REASON_WORDS[reason] || reason}: ${count}`;
          return item;
        }),
    );
  } catch (error) {
    failed(error);
  }
}

async function series(since, until, bucket) {
  const query = new URLSearchParams({ since: since.toISOString(), until: until.toISOString(), bucket, tz: ZONE });
  const gate = view.rangeGate.value;
  if (gate) query.set("gate", gate);
  return (await api(`/audit/series?${query}`, { bearer: token })).items;
}

async function loadCharts() {
  const day = view.chartDay.value || range().sinceDay;
  const month = view.chartMonth.value || day.slice(0, 7);
  const first = `${month}-01`;
  const [y, m] = month.split("-").map(Number);
  try {
    const [hours, days] = await Promise.all([
      series(midnight(day), midnight(day, 1), "hour"),
      series(midnight(first), new Date(y, m, 1), "day"),
    ]);
    drawHourly($("hourly-chart"), $("hourly-note"), hours, dayWords.format(midnight(day)));
    drawDaily($("daily-chart"), $("daily-note"), days, monthWords.format(midnight(first)));
  } catch (error) {
    failed(error);
  }
}

// ---- the audit log ---------------------------------------------------------------------------

/** The audit log's filters within the range: its own since narrows the range's, never widens. */
function filterQuery({ paged = true } = {}) {
  const form = new FormData(view.filters);
  const r = range();
  const query = new URLSearchParams(paged ? { limit: String(PAGE_SIZE) } : {});
  for (const name of ["result", "reason"]) {
    const value = String(form.get(name) || "").trim();
    if (value) query.set(name, value);
  }
  const gate = String(form.get("gate") || "").trim() || r.gate;
  if (gate) query.set("gate", gate);
  let since = new Date(r.since);
  const asked = new Date(String(form.get("since") || "")); // the operator's local time
  if (!Number.isNaN(asked.getTime()) && asked > since) since = asked;
  query.set("since", since.toISOString());
  query.set("until", r.until);
  if (paged && before !== null) query.set("before", String(before));
  return { query, empty: since >= new Date(r.until) };
}

let auditCalls = 0;

async function loadAudit() {
  const call = ++auditCalls;
  try {
    const { query, empty } = filterQuery();
    const page = empty ? { items: [], next_before: null } : await api(`/audit?${query}`, { bearer: token });
    if (call !== auditCalls) return; // a newer filter or page was asked for meanwhile
    say(view.problem, "");
    nextBefore = page.next_before;
    renderRows(page.items);
    view.updated.textContent = `Updated ${dateTime(new Date().toISOString())}`;
  } catch (error) {
    failed(error);
  }
  view.newer.disabled = before === null;
  view.older.disabled = nextBefore === null || nextBefore === undefined;
  view.pageLabel.textContent = `Page ${previous.length + 1}`;
}

function idsClass(id) {
  return id ? "mono ids" : "mono ids none";
}

function renderRows(items) {
  view.rows.replaceChildren(
    ...items.map((item) => {
      const row = document.createElement("tr");
      row.dataset.result = item.result;
      row.dataset.reason = item.reason || "";
      row.dataset.mode = item.mode || "online";
      row.dataset.conflict = item.conflict || "";
      const result = document.createElement("span");
      result.className = `result ${item.result}`;
      result.textContent = item.result === "allow" ? "ALLOW" : "DENY";
      const resultCell = cell("");
      resultCell.append(result);
      const passCell = cell(item.pass_id ? shortId(item.pass_id) : "—", idsClass(item.pass_id));
      passCell.dataset.label = "pass";
      if (item.pass_id) passCell.title = item.pass_id;
      const memberCell = cell(item.user_id ? shortId(item.user_id) : "—", idsClass(item.user_id));
      memberCell.dataset.label = "member";
      row.append(
        resultCell,
        cell(dateTime(item.at)),
        cell(item.gate),
        cell(item.reason ? REASON_WORDS[item.reason] || item.reason : "Admitted", "reason"),
        passCell,
        memberCell,
        howCell(item),
      );
      return row;
    }),
  );
  view.empty.hidden = items.length > 0;
}

/** Online or offline (decided at the gate, uploaded later), and any conflict found then. */
function howCell(item) {
  const td = cell(item.mode === "offline" ? "Offline" : "Online", "how");
  if (item.conflict) {
    const mark = document.createElement("span");
    mark.className = "conflict-mark";
    mark.textContent = item.conflict === "revoked" ? "conflict: refunded pass" : "conflict: second entry";
    td.append(document.createElement("br"), mark);
  }
  return td;
}

/** Download what the filters select as CSV (every row, not one page) with the admin token. */
async function downloadCsv() {
  const { query, empty } = filterQuery({ paged: false });
  if (empty) {
    say(view.problem, "These filters select no attempts, so there is nothing to download.", "error");
    return;
  }
  view.exportButton.disabled = true;
  view.updated.textContent = "Preparing the CSV…";
  try {
    const response = await fetch(`/audit/export.csv?${query}`, {
      headers: { Authorization: `Bearer ${token}` },
      cache: "no-store",
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new ApiError(body.detail || `The server refused the download (${response.status}).`, "client", response.status);
    }
    const blob = await response.blob();
    const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = named ? named[1] : "gymgate-audit.csv";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    view.updated.textContent = `Downloaded ${link.download}`;
  } catch (error) {
    failed(error instanceof ApiError ? error : new ApiError("Can't reach the gymgate server.", "offline"));
  } finally {
    view.exportButton.disabled = false;
  }
}

function firstPage() {
  before = null;
  previous = [];
  loadAudit();
}

// ---- start -------------------------------------------------------------------------------

function start() {
  setToday();
  followWidths();
  view.range.addEventListener("submit", applyRange);
  view.rangeGate.addEventListener("change", applyRange);
  view.rangeToday.addEventListener("click", () => {
    setToday();
    view.rangeGate.value = "";
    applyRange();
  });
  view.chartDay.addEventListener("change", loadCharts);
  view.chartMonth.addEventListener("change", loadCharts);
  view.exportButton.addEventListener("click", downloadCsv);
  initGates({ token: () => token, failed });
  for (const [reason, words] of Object.entries(REASON_WORDS)) {
    view.reason.append(new Option(`${words} (${reason})`, reason));
  }
  view.loginForm.addEventListener("submit", onLogin);
  view.signOut.addEventListener("click", () => {
    store.remove(TOKEN_KEY);
    token = null;
    showLogin();
  });
  view.filters.addEventListener("submit", (event) => {
    event.preventDefault();
    firstPage();
  });
  view.filters.addEventListener("change", (event) => {
    if (event.target instanceof HTMLSelectElement) firstPage();
  });
  view.filters.addEventListener("reset", () => setTimeout(firstPage)); // after the reset lands
  view.older.addEventListener("click", () => {
    if (nextBefore === null || nextBefore === undefined) return;
    previous.push(before);
    before = nextBefore;
    loadAudit();
  });
  view.newer.addEventListener("click", () => {
    if (previous.length === 0) return;
    before = previous.pop();
    loadAudit();
  });
  view.auto.addEventListener("change", scheduleRefresh);
  document.addEventListener("visibilitychange", () => !document.hidden && token && autoRefresh());

  token = store.get(TOKEN_KEY);
  if (token) showDashboard();
  else showLogin();
}

start();
