// The front desk's tools on the operator page: who came in (searchable), the signing keys
// (rotate, retire) and payments (find, refund), each change confirmed in a dialog first.
import { api, dateTime, dayAndTime, say, shortId } from "/common.js";

const ENTRY_PAGE = 20;
const $ = (id) => document.getElementById(id);

/** A table cell with text; `label` names it on phones, where rows become cards. */
export function cell(text, className = "", label = "") {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  if (label) td.dataset.label = label;
  return td;
}

// ---- asking first --------------------------------------------------------------------------

/** Show the confirmation dialog; resolves true when the operator says yes. */
export function confirmFirst(title, text, yes) {
  const dialog = $("confirm");
  $("confirm-title").textContent = title;
  $("confirm-text").textContent = text;
  $("confirm-yes").textContent = yes;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

// ---- who came in -------------------------------------------------------------------------

export class Entries {
  /** @param {{token: () => string, failed: (e: any) => void, range: () => any}} page */
  constructor(page) {
    this.page = page;
    this.rows = $("entry-rows");
    this.empty = $("entries-empty");
    this.more = $("entries-more");
    this.search = $("entry-search");
    this.next = null;
    this.calls = 0;
    this.search.addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
    this.search.addEventListener("input", () => {
      clearTimeout(this.typing);
      this.typing = setTimeout(() => this.load(), 300); // as the operator types, not per key
    });
    this.more.addEventListener("click", () => this.load(this.next));
  }

  query(before) {
    const range = this.page.range();
    const query = new URLSearchParams({ since: range.since, until: range.until, limit: String(ENTRY_PAGE) });
    if (range.gate) query.set("gate", range.gate);
    const q = $("e-q").value.trim();
    if (q) query.set("q", q);
    if (before) query.set("before", String(before));
    return query;
  }

  /** The newest entries (or, with a cursor, the next older ones after those shown). */
  async load(before = null) {
    const call = ++this.calls;
    try {
      const page = await api(`/audit/entries?${this.query(before)}`, { bearer: this.page.token() });
      if (call !== this.calls) return;
      const rows = page.items.map((entry) => this.row(entry));
      if (before) this.rows.append(...rows);
      else this.rows.replaceChildren(...rows);
      this.next = page.next_before;
      this.more.hidden = !this.next;
      this.empty.hidden = this.rows.children.length > 0;
    } catch (error) {
      this.page.failed(error);
    }
  }

  /** Auto-refresh: only while the newest page is what is shown. */
  refresh() {
    if (this.rows.children.length <= ENTRY_PAGE) this.load();
  }

  row(entry) {
    const row = document.createElement("tr");
    const name = cell(entry.name || (entry.email ? "(no name)" : "Unknown pass"), "name", "");
    if (entry.conflict) {
      const mark = document.createElement("span");
      mark.className = "badge";
      mark.textContent = "double entry";
      name.append(" ", mark);
    }
    row.append(
      name,
      cell(entry.email || shortId(entry.user_id), "email", ""),
      cell(dateTime(entry.at), "when", ""),
      cell(entry.gate, "gate", "gate"),
    );
    return row;
  }
}

// ---- signing keys --------------------------------------------------------------------------

const ROTATE_TEXT =
  "A new key will sign every QR shown from now on. QR codes already on members' phones keep " +
  "opening the gates: the current key turns verify-only and goes on checking them until you " +
  "retire it. Offline gates accept QR codes signed by the new key after their next sync.";

function retireText(kid) {
  return (
    `QR codes signed by ${kid} stop opening the gates at once: they are denied as "unknown ` +
    "signing key\" here now, on other servers within a few seconds, and on offline gates at " +
    "their next sync. A member holding one needs a new QR of the same pass (it is signed by " +
    "the active key and still admits only once). This cannot be undone."
  );
}

export class Keys {
  constructor(page) {
    this.page = page;
    this.rows = $("key-rows");
    this.message = $("keys-message");
    $("rotate").addEventListener("click", () => this.rotate());
  }

  async load() {
    try {
      const keys = await api("/keys", { bearer: this.page.token() });
      this.rows.replaceChildren(...keys.items.map((key) => this.row(key)));
    } catch (error) {
      this.page.failed(error);
    }
  }

  row(key) {
    const row = document.createElement("tr");
    row.dataset.kid = key.kid;
    const action = cell(key.status === "active" ? "Signs new QR codes" : "—", "hint");
    if (key.status === "verify-only") {
      const retire = document.createElement("button");
      retire.type = "button";
      retire.className = "danger";
      retire.textContent = "Retire";
      retire.setAttribute("aria-label", `Retire key ${key.kid}`);
      retire.addEventListener("click", () => this.retire(key.kid));
      action.replaceChildren(retire);
    }
    row.append(
      cell(key.kid, "mono"),
      cell(key.status, `status-${key.status}`),
      cell(dateTime(key.created_at)),
      action,
    );
    return row;
  }

  async rotate() {
    if (!(await confirmFirst("Make a new signing key?", ROTATE_TEXT, "Rotate"))) return;
    await this.act("/keys/rotate", (key) => `New signing key ${key.kid} is active.`);
  }

  async retire(kid) {
    if (!(await confirmFirst(`Retire key ${kid}?`, retireText(kid), "Retire"))) return;
    await this.act(`/keys/${encodeURIComponent(kid)}/retire`, () => `Key ${kid} is retired.`);
  }

  async act(path, done) {
    try {
      const key = await api(path, { method: "POST", bearer: this.page.token() });
      say(this.message, done(key), "ok");
    } catch (error) {
      if (error.status === 401 || error.status === 403) return this.page.failed(error);
      say(this.message, error.message, "error");
    }
    await this.load();
  }
}

// ---- payments and refunds ------------------------------------------------------------------

const PASS_WORDS = {
  unused: "Not used yet",
  used: "Used",
  revoked: "Revoked",
  expired: "Expired",
};

function money(cents, currency) {
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(cents / 100);
  } catch {
    return `${(cents / 100).toFixed(2)} ${currency}`;
  }
}

function passWords(payment) {
  if (!payment.pass_state) return "No QR yet";
  const words = PASS_WORDS[payment.pass_state] || payment.pass_state;
  if (payment.pass_state !== "used" || !payment.used_at) return words;
  return `${words} ${dayAndTime(payment.used_at)}${payment.used_gate ? `, ${payment.used_gate}` : ""}`;
}

export class Payments {
  constructor(page) {
    this.page = page;
    this.rows = $("payment-rows");
    this.message = $("payments-message");
    this.form = $("payment-search");
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.find();
    });
  }

  async find({ keepMessage = false } = {}) {
    const q = $("p-q").value.trim();
    if (!q) {
      say(this.message, "Enter a member's email or name, or a payment id.", "error");
      return;
    }
    try {
      const found = await api(`/payments?${new URLSearchParams({ q })}`, { bearer: this.page.token() });
      this.rows.replaceChildren(...found.items.map((payment) => this.row(payment)));
      if (!keepMessage) {
        say(this.message, found.items.length ? "" : `No payment matches “${q}”.`, "info");
      }
    } catch (error) {
      if (error.status === 401 || error.status === 403) return this.page.failed(error);
      say(this.message, error.message, "error");
    }
  }

  row(payment) {
    const row = document.createElement("tr");
    row.dataset.paymentId = payment.payment_id;
    row.dataset.passState = payment.pass_state || "";
    const member = cell(payment.name ? `${payment.name} · ${payment.email}` : payment.email, "", "");
    const action = cell("—", "hint");
    if (payment.status === "completed" && payment.pass_state !== "used") {
      const refund = document.createElement("button");
      refund.type = "button";
      refund.className = "danger";
      refund.textContent = "Refund";
      refund.setAttribute("aria-label", `Refund ${payment.email}'s payment of ${dayAndTime(payment.created_at)}`);
      refund.addEventListener("click", () => this.refund(payment));
      action.replaceChildren(refund);
    }
    const id = cell(`${payment.status} · ${shortId(payment.payment_id)}`, "mono");
    id.title = payment.payment_id;
    row.append(
      member,
      cell(dayAndTime(payment.created_at)),
      cell(money(payment.amount_cents, payment.currency)),
      id,
      cell(passWords(payment), `pass-${payment.pass_state || "none"}`),
      action,
    );
    return row;
  }

  async refund(payment) {
    const amount = money(payment.amount_cents, payment.currency);
    const text =
      `${amount} goes back to ${payment.email} through the payment provider, and their pass ` +
      "stops opening the gates at once (it is denied as revoked). This cannot be undone.";
    if (!(await confirmFirst(`Refund ${amount} to ${payment.email}?`, text, "Refund"))) return;
    try {
      await api(`/payments/${encodeURIComponent(payment.payment_id)}/refund`, {
        method: "POST",
        bearer: this.page.token(),
      });
      say(this.message, `Refunded ${amount} to ${payment.email}; the pass is revoked.`, "ok");
    } catch (error) {
      if (error.status === 401 || error.status === 403) return this.page.failed(error);
      const why =
        error.status === 409
          ? `Not refunded: ${error.message.charAt(0).toLowerCase()}${error.message.slice(1)}`
          : error.message;
      say(this.message, why, "error");
    }
    await this.find({ keepMessage: true });
  }
}
