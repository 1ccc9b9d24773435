// The operator page: the admin token once, today's totals, the audit log (filters, paging,
// auto-refresh), the signing keys, and the gates with their conflicts (gates.js).
// The token lives in localStorage, never in a URL.
import { REASON_WORDS, api, dateTime, say, shortId, store } from "/common.js";
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
  keyRows: $("key-rows"),
};

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
  loadKeys();
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
  if (before === null) refreshAll();
  else loadTotals();
  loadKeys(); // a rotation done with the CLI shows up without a reload
  loadGates();
  loadConflicts();
}

async function refreshAll() {
  await Promise.all([loadTotals(), loadAudit()]);
}

function startOfToday() {
  const midnight = new Date();
  midnight.setHours(0, 0, 0, 0);
  return midnight.toISOString();
}

async function loadTotals() {
  try {
    const totals = await api(`/audit/summary?since=${encodeURIComponent(startOfToday())}`, {
      bearer: token,
    });
    view.totalAll.textContent = totals.total;
    view.totalAllow.textContent = totals.by_result.allow || 0;
    view.totalDeny.textContent = totals.by_result.deny || 0;
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

function filterQuery() {
  const form = new FormData(view.filters);
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const name of ["result", "reason", "gate"]) {
    const value = String(form.get(name) || "").trim();
    if (value) query.set(name, value);
  }
  const since = String(form.get("since") || "");
  if (since) {
    const when = new Date(since); // the operator's local time
    if (!Number.isNaN(when.getTime())) query.set("since", when.toISOString());
  }
  if (before !== null) query.set("before", String(before));
  return query;
}

let auditCalls = 0;

async function loadAudit() {
  const call = ++auditCalls;
  try {
    const page = await api(`/audit?${filterQuery()}`, { bearer: token });
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

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
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

async function loadKeys() {
  try {
    const keys = await api("/keys", { bearer: token });
    view.keyRows.replaceChildren(
      ...keys.items.map((key) => {
        const row = document.createElement("tr");
        row.append(
          cell(key.kid, "mono"),
          cell(key.status, `status-${key.status}`),
          cell(dateTime(key.created_at)),
        );
        return row;
      }),
    );
  } catch (error) {
    failed(error);
  }
}

function firstPage() {
  before = null;
  previous = [];
  loadAudit();
}

// ---- start -------------------------------------------------------------------------------

function start() {
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
