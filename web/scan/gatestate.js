// The scanner's offline memory in IndexedDB, one database per gate: what the last sync said
// (keys, issuer, leeway, lifetime, proof window, revoked, used and re-bound passes, cursor,
// clock offset) and the decisions made offline that still wait to be uploaded. An offline admission is written
// (used + pending, one transaction) before the page shows it.

const VERSION = 2; // 2: "rebound", passes moved to another phone (their current key)
const STORES = ["meta", "revoked", "used", "pending", "rebound"];
// Entries for passes expired this long ago can go: any token of theirs is expired anyway.
const PRUNE_AFTER_S = 3600;

const done = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

const finished = (transaction) =>
  new Promise((resolve, reject) => {
    transaction.oncomplete = () => resolve();
    transaction.onabort = () => reject(transaction.error || new Error("transaction aborted"));
    transaction.onerror = () => reject(transaction.error);
  });

function open(name) {
  const request = indexedDB.open(name, VERSION);
  request.onupgradeneeded = (event) => {
    const db = request.result;
    if (event.oldVersion < 1) {
      db.createObjectStore("meta");
      db.createObjectStore("revoked", { keyPath: "pass_id" });
      db.createObjectStore("used", { keyPath: "pass_id" });
      db.createObjectStore("pending", { keyPath: "id" });
    }
    if (event.oldVersion < 2) db.createObjectStore("rebound", { keyPath: "pass_id" });
  };
  return done(request);
}

/** A random decision id the server accepts (8..64 of [A-Za-z0-9_-]). */
export function decisionId() {
  return crypto.randomUUID().replaceAll("-", "");
}

export class GateState {
  /** @param {IDBDatabase} db */
  constructor(db) {
    this.db = db;
  }

  /** The store of gate `name` (created on first use). */
  static async open(name) {
    return new GateState(await open(`gymgate-gate:${name}`));
  }

  close() {
    this.db.close();
  }

  /** What the last sync said, or null if this gate never synced. */
  async sync() {
    const transaction = this.db.transaction("meta");
    return (await done(transaction.objectStore("meta").get("sync"))) || null;
  }

  /**
   * Keep a `/gate/state` answer: the parameters replace the old ones, revoked and used
   * passes are added to what we have (the answer holds only what changed since the cursor);
   * the re-bound passes come whole each time (each with its current key) and replace ours.
   */
  async saveSync(state, syncedAtMs, offsetMs) {
    const transaction = this.db.transaction(STORES, "readwrite");
    const meta = {
      gate: state.gate,
      issuer: state.issuer,
      leeway: state.leeway_seconds,
      maxLifetime: state.max_token_lifetime_seconds,
      proofWindow: state.proof_window_seconds,
      jwks: state.jwks,
      cursor: state.cursor,
      syncedAtMs,
      offsetMs,
    };
    transaction.objectStore("meta").put(meta, "sync");
    for (const row of state.revoked || []) transaction.objectStore("revoked").put(row);
    if (Array.isArray(state.rebound)) {
      const rebound = transaction.objectStore("rebound");
      rebound.clear();
      for (const row of state.rebound) rebound.put(row);
    }
    for (const row of state.used || []) {
      const used = transaction.objectStore("used");
      // Our own earlier admission of the pass stays the one we remember.
      const request = used.get(row.pass_id);
      request.onsuccess = () => request.result || used.put(row);
    }
    const cutoff = (syncedAtMs + offsetMs) / 1000 - PRUNE_AFTER_S;
    for (const name of ["revoked", "used"]) prune(transaction.objectStore(name), cutoff);
    await finished(transaction);
    return meta;
  }

  /**
   * Record one offline decision atomically: a token the verifier passed is denied `revoked`
   * (refunded, or a pass that moved to another phone since this code's key) or
   * `already_used` from what this gate knows, else admitted and remembered as used; the
   * decision (allow or deny) is queued for upload. Resolves once it is on disk.
   * @param {{id: string, token: string, at: string, gate: string}} scan
   * @param {{ok: boolean, reason?: string, claims?: any}} checked
   */
  async record(scan, checked) {
    const transaction = this.db.transaction(["revoked", "used", "pending", "rebound"], "readwrite");
    const stores = {
      revoked: transaction.objectStore("revoked"),
      used: transaction.objectStore("used"),
      pending: transaction.objectStore("pending"),
      rebound: transaction.objectStore("rebound"),
    };
    let decision = checked.ok ? { result: "allow", reason: null } : { result: "deny", reason: checked.reason };
    if (checked.ok) {
      const passId = checked.claims.passId;
      const [revoked, used, rebound] = await Promise.all([
        done(stores.revoked.get(passId)),
        done(stores.used.get(passId)),
        done(stores.rebound.get(passId)),
      ]);
      // A bound code whose key is no longer the pass's (a plain code is never "moved").
      const moved = Boolean(rebound && checked.claims.jkt) && rebound.jkt !== checked.claims.jkt;
      if (revoked || moved) decision = { result: "deny", reason: "revoked" };
      else if (used) decision = { result: "deny", reason: "already_used", used };
      else {
        stores.used.put({
          pass_id: passId,
          at: scan.at,
          gate: scan.gate,
          expires_at: new Date(checked.claims.expiresAt * 1000).toISOString(),
        });
      }
    }
    stores.pending.put({
      id: scan.id,
      token: scan.token,
      at: scan.at,
      result: decision.result,
      reason: decision.reason,
    });
    await finished(transaction);
    return decision;
  }

  /** Up to `limit` decisions waiting for upload, oldest first (ids are random: sort by at). */
  async pending(limit = 100) {
    const transaction = this.db.transaction("pending");
    const rows = await done(transaction.objectStore("pending").getAll());
    rows.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    return rows.slice(0, limit);
  }

  async pendingCount() {
    const transaction = this.db.transaction("pending");
    return done(transaction.objectStore("pending").count());
  }

  /** The server has these decisions: forget them. */
  async acknowledge(ids) {
    const transaction = this.db.transaction("pending", "readwrite");
    for (const id of ids) transaction.objectStore("pending").delete(id);
    await finished(transaction);
  }
}

function prune(store, cutoffSeconds) {
  const request = store.openCursor();
  request.onsuccess = () => {
    const cursor = request.result;
    if (!cursor) return;
    const expires = Date.parse(cursor.value.expires_at) / 1000;
    if (expires < cutoffSeconds) cursor.delete();
    cursor.continue();
  };
}
