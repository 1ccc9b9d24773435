// The scanner's link to the server: ask /verify first (short timeout), decide offline from
// the gate's IndexedDB state when the server does not answer, keep that state fresh from
// /gate/state, and upload offline decisions to /gate/decisions once the server is back.
import { api, clockOffsetMs } from "/common.js";
import { GateState, decisionId } from "/scan/gatestate.js";
import { MAX_PROOF_LENGTH, checkScan } from "/scan/proof.js";
import { MAX_TOKEN_LENGTH, importKeys } from "/scan/verify.js";

export const ONLINE_TIMEOUT_MS = 1500;
export const SYNC_EVERY_MS = 30_000;
export const PROBE_EVERY_MS = 5000;
// Offline decisions need data at most this old; older (or none) and the gate stays closed.
export const FRESHNESS_MS = 24 * 3600 * 1000;
const UPLOAD_BATCH = 100;
// The server reads at most this much of a code (a token and a bound pass's proof); a longer
// one is malformed whatever follows.
const UPLOAD_TOKEN_CHARS = MAX_TOKEN_LENGTH + MAX_PROOF_LENGTH + 1;

/**
 * Outcomes of `check(token)`:
 *   {kind: "decision", mode: "online"|"offline", answer}  answer as /verify's JSON
 *   {kind: "unavailable", why: "stale"|"busy"|"server"}    not a decision: the gate stays shut
 *   {kind: "unauthorized"}                                  the gate secret was refused
 */
export class GateLink {
  constructor(gate, onChange) {
    this.gate = gate; // {name, secret}
    this.onChange = onChange;
    this.state = null; // GateState
    this.meta = null; // the last sync, as stored
    this.rules = null; // meta with imported keys
    this.online = true; // last call reached the server
    this.pendingCount = 0;
    this.syncing = null;
    this.lastUpload = null; // {acknowledged, conflicts}
    this.uploadProblem = null; // why the last upload failed, if it did
  }

  async open() {
    this.state = await GateState.open(this.gate.name);
    this.meta = await this.state.sync();
    this.rules = this.meta ? await rulesOf(this.meta) : null;
    this.pendingCount = await this.state.pendingCount();
    this.onChange();
  }

  close() {
    if (this.state) this.state.close();
  }

  /** Server time as best known (seconds): our clock plus the offset measured at the last sync. */
  now() {
    return (Date.now() + (this.meta ? this.meta.offsetMs : 0)) / 1000;
  }

  /** The age of the offline data in ms, or null if never synced. */
  dataAge() {
    return this.meta ? Date.now() - this.meta.syncedAtMs : null;
  }

  fresh() {
    const age = this.dataAge();
    return age !== null && age <= FRESHNESS_MS && this.rules !== null;
  }

  setOnline(online) {
    if (this.online === online) return;
    this.online = online;
    this.onChange();
  }

  async check(token) {
    if (this.online && navigator.onLine !== false) {
      try {
        const answer = await api("/verify", {
          method: "POST",
          body: { token, gate: this.gate.name },
          bearer: this.gate.secret,
          timeoutMs: ONLINE_TIMEOUT_MS,
        });
        this.setOnline(true);
        return { kind: "decision", mode: "online", answer };
      } catch (error) {
        if (error.status === 401) return { kind: "unauthorized" };
        if (error.status === 429) return { kind: "unavailable", why: "busy" };
        if (error.kind === "client") {
          return { kind: "decision", mode: "online", answer: { status: "deny", reason: "malformed" } };
        }
        this.setOnline(false); // timeout, no network, 5xx: decide here, probe in the background
      }
    }
    return this.decideOffline(token);
  }

  /** Decide from the gate's own data; stored before it is returned. */
  async decideOffline(token) {
    if (!this.fresh()) return { kind: "unavailable", why: "stale" };
    const now = this.now();
    const checked = await checkScan(token, this.rules, now);
    const scan = {
      id: decisionId(),
      token: token.slice(0, UPLOAD_TOKEN_CHARS),
      at: new Date(now * 1000).toISOString(),
      gate: this.gate.name,
    };
    const decision = await this.state.record(scan, checked);
    this.pendingCount += 1;
    this.onChange();
    return { kind: "decision", mode: "offline", answer: answerOf(decision, checked) };
  }

  /** Upload, then fetch the gate state; one round at a time. Rejects with the ApiError. */
  sync() {
    if (!this.syncing) {
      this.syncing = this.syncRound().finally(() => {
        this.syncing = null;
      });
    }
    return this.syncing;
  }

  async syncRound() {
    try {
      await this.uploadIfPossible();
      const query = new URLSearchParams({ pending: String(this.pendingCount) });
      if (this.meta && this.meta.cursor != null) query.set("since", String(this.meta.cursor));
      const sentAt = Date.now();
      const state = await api(`/gate/state?${query}`, { bearer: this.gate.secret, timeoutMs: 5000 });
      const receivedAt = Date.now();
      const offsetMs = clockOffsetMs(state.server_epoch, sentAt, receivedAt);
      this.meta = await this.state.saveSync(state, receivedAt, offsetMs);
      this.rules = await rulesOf(this.meta);
      this.setOnline(true);
    } catch (error) {
      if (error.kind === "offline" || error.kind === "server" || error.status === 429) {
        this.setOnline(false);
      }
      throw error;
    } finally {
      this.onChange();
    }
  }

  /** Upload; a refused upload (not a refused secret) still lets the state sync go on. */
  async uploadIfPossible() {
    try {
      await this.upload();
      this.uploadProblem = null;
    } catch (error) {
      if (error.status === 401) throw error;
      this.uploadProblem = error.message;
    }
  }

  async upload() {
    for (;;) {
      const batch = await this.state.pending(UPLOAD_BATCH);
      if (batch.length === 0) break;
      const answer = await api("/gate/decisions", {
        method: "POST",
        body: { decisions: batch },
        bearer: this.gate.secret,
        timeoutMs: 10_000,
      });
      const acknowledged = answer.acknowledged || [];
      await this.state.acknowledge(acknowledged);
      this.lastUpload = { acknowledged: acknowledged.length, conflicts: (answer.conflicts || []).length };
      this.pendingCount = await this.state.pendingCount();
      if (acknowledged.length === 0) break; // nothing taken: try again on the next round
    }
    this.pendingCount = await this.state.pendingCount();
  }
}

async function rulesOf(meta) {
  return {
    keys: await importKeys(meta.jwks),
    issuer: meta.issuer,
    leeway: meta.leeway,
    maxLifetime: meta.maxLifetime,
    proofWindow: meta.proofWindow,
  };
}

function answerOf(decision, checked) {
  if (decision.result === "allow") {
    return {
      status: "allow",
      pass_id: checked.claims.passId,
      user_id: checked.claims.userId,
      expires_at: new Date(checked.claims.expiresAt * 1000).toISOString(),
    };
  }
  const answer = { status: "deny", reason: decision.reason };
  if (decision.used) {
    answer.used_at = decision.used.at;
    answer.used_gate = decision.used.gate;
  }
  return answer;
}
