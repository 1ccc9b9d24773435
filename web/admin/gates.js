// The operator page's Gates panel: every scanner credential with its last sync, link state,
// uploads still pending and revocation; add (the one-time enrollment code is shown once),
// rotate and revoke; and the conflicts offline gates reported — both scans side by side.
import { api, dateTime, say, shortId } from "/common.js";

const $ = (id) => document.getElementById(id);
let view = null;
let auth = null; // {token(), failed(error)}

/** Wire the panel to the page; `token()` gives the admin token, `failed` handles errors. */
export function initGates(callbacks) {
  auth = callbacks;
  view = {
    addForm: $("gate-add"),
    newName: $("new-gate"),
    message: $("gates-message"),
    enrollment: $("enrollment"),
    enrollmentTitle: $("enrollment-title"),
    enrollmentCode: $("enrollment-code"),
    copy: $("copy-code"),
    done: $("hide-code"),
    rows: $("gate-rows"),
    empty: $("gates-empty"),
    conflictRows: $("conflict-rows"),
    conflictsEmpty: $("conflicts-empty"),
  };
  view.addForm.addEventListener("submit", onAdd);
  view.rows.addEventListener("click", onRowAction);
  view.copy.addEventListener("click", () => navigator.clipboard?.writeText(view.enrollmentCode.textContent));
  view.done.addEventListener("click", hideCode);
}

function call(path, options = {}) {
  return api(path, { bearer: auth.token(), ...options });
}

function showCode(created, verb) {
  view.enrollmentTitle.textContent = `Enrollment code for ${created.name} (${verb})`;
  view.enrollmentCode.textContent = created.enrollment_code;
  view.enrollment.hidden = false;
  view.done.focus();
}

function hideCode() {
  view.enrollmentCode.textContent = "";
  view.enrollment.hidden = true;
}

async function onAdd(event) {
  event.preventDefault();
  const name = view.newName.value.trim();
  if (!name) {
    say(view.message, "Enter a name for the new gate, e.g. front-door.", "error");
    view.newName.focus();
    return;
  }
  try {
    const created = await call("/gates", { method: "POST", body: { name } });
    view.newName.value = "";
    say(view.message, `Gate ${created.name} added. Enrol its scanner with the code below; it is shown only now.`, "ok");
    showCode(created, "new");
    await loadGates();
  } catch (error) {
    if (error.status === 401 || error.status === 403) auth.failed(error);
    else say(view.message, error.message, "error");
  }
}

async function onRowAction(event) {
  const button = event.target.closest("button[data-action]");
  if (!button) return;
  const { action, gate } = button.dataset;
  const question = action === "revoke"
    ? `Revoke gate ${gate}? Its scanner stops working within seconds and cannot be enrolled again.`
    : `Rotate gate ${gate}'s secret? Its scanner stops working until it is enrolled with the new code.`;
  if (!window.confirm(question)) return;
  try {
    const answer = await call(`/gates/${encodeURIComponent(gate)}/${action}`, { method: "POST" });
    if (action === "rotate") {
      say(view.message, `Gate ${gate} has a new secret. Enrol its scanner again with the code below.`, "ok");
      showCode(answer, "new secret");
    } else {
      hideCode();
      say(view.message, `Gate ${gate} is revoked.`, "ok");
    }
    await loadGates();
  } catch (error) {
    if (error.status === 401 || error.status === 403) auth.failed(error);
    else say(view.message, error.message, "error");
  }
}

function cell(text, className = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function actions(gate) {
  const td = cell("", "actions");
  if (gate.revoked_at) return td;
  for (const [action, label] of [["rotate", "Rotate secret"], ["revoke", "Revoke"]]) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = action === "revoke" ? "danger" : "subtle";
    button.dataset.action = action;
    button.dataset.gate = gate.name;
    button.textContent = label;
    button.setAttribute("aria-label", `${label}: ${gate.name}`);
    td.append(button);
  }
  return td;
}

function status(gate) {
  if (gate.revoked_at) return ["Revoked", "revoked"];
  if (gate.last_sync_at === null || gate.last_sync_at === undefined) return ["Never synced", "never"];
  return gate.online ? ["Online", "online"] : ["Offline", "offline"];
}

/** Refresh the gates table. */
export async function loadGates() {
  try {
    const gates = await call("/gates");
    view.rows.replaceChildren(
      ...gates.items.map((gate) => {
        const row = document.createElement("tr");
        row.dataset.gate = gate.name;
        const [words, state] = status(gate);
        row.dataset.state = state;
        const badge = document.createElement("span");
        badge.className = `gate-state ${state}`;
        badge.textContent = words;
        const statusCell = cell("");
        statusCell.append(badge);
        if (gate.revoked_at) statusCell.append(` ${dateTime(gate.revoked_at)}`);
        row.append(
          cell(gate.name, "mono"),
          statusCell,
          cell(gate.last_sync_at ? dateTime(gate.last_sync_at) : "—"),
          cell(String(gate.pending_uploads ?? 0), "num pending"),
          actions(gate),
        );
        return row;
      }),
    );
    view.empty.hidden = gates.items.length > 0;
  } catch (error) {
    auth.failed(error);
  }
}

function scanCell(scan, conflict) {
  if (!scan) return cell("— (never admitted before: refunded)");
  const td = cell("");
  const when = document.createElement("strong");
  when.textContent = dateTime(scan.at);
  const where = document.createElement("span");
  where.textContent = ` · ${scan.gate} · ${scan.mode}`;
  td.append(when, where);
  if (conflict) {
    const mark = document.createElement("span");
    mark.className = "conflict-mark";
    mark.textContent = conflict === "revoked" ? "admitted after refund" : "second entry";
    td.append(document.createElement("br"), mark);
  }
  return td;
}

/** Refresh the conflicts list (newest first, as the server sends them). */
export async function loadConflicts() {
  try {
    const conflicts = await call("/gates/conflicts");
    view.conflictRows.replaceChildren(
      ...conflicts.items.map((item) => {
        const row = document.createElement("tr");
        row.dataset.pass = item.pass_id;
        const pass = cell(shortId(item.pass_id), "mono ids");
        pass.title = item.pass_id;
        const member = cell(item.user_id ? shortId(item.user_id) : "—", "mono ids");
        if (item.user_id) member.title = item.user_id;
        row.append(pass, member, scanCell(item.first), scanCell(item.second, item.second.conflict));
        return row;
      }),
    );
    view.conflictsEmpty.hidden = conflicts.items.length > 0;
  } catch (error) {
    auth.failed(error);
  }
}
