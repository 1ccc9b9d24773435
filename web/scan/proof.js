// A bound pass at the gate, offline: the server's rules (src/gymgate/binding.py) step for
// step, on top of the token's (verify.js), so a code gets the same deny reason here as from
// POST /verify. Pure: the caller hands in the rules and the time.
//
//   length      → malformed       (longer than a token plus a proof)
//   split       → malformed       (a code is a token, or token~ts~sig)
//   the token   → verify.js's reasons
//   cnf         → invalid_claims  (not exactly {"jwk": an Ed25519 or P-256 public key})
//   proof       → invalid_claims  (bound pass without a proof, proof on a plain pass)
//               → malformed       (ts not 1-12 digits, sig not 64 canonical bytes)
//               → bad_signature   (not signed by the pass's key over gymgate-proof.<jti>.<ts>)
//               → expired / not_yet_valid (ts outside the proof window)
// Whether the key is still the pass's current one (a pass moved to another phone) is state:
// gatestate.js checks it with the revocations.
import { thumbprint } from "/binding.js";
import { MAX_TOKEN_LENGTH, checkToken, codePoints } from "/scan/verify.js";

export const MAX_PROOF_LENGTH = 100; // "~" + 12 digits + "~" + 86 characters
export const DEFAULT_PROOF_WINDOW_SECONDS = 30;

const TIMESTAMP = /^[0-9]{1,12}$/;
// 64 bytes: the last of 86 characters carries 2 unused bits, zero only for A, Q, g or w.
const SIGNATURE = /^[A-Za-z0-9_-]{85}[AQgw]$/;
// 32 bytes: the last of 43 characters carries 2 unused bits; one spelling, one thumbprint.
const COORDINATE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const CURVES = {
  Ed25519: { kty: "OKP", members: ["crv", "kty", "x"], algorithm: { name: "Ed25519" } },
  "P-256": {
    kty: "EC",
    members: ["crv", "kty", "x", "y"],
    algorithm: { name: "ECDSA", namedCurve: "P-256" },
  },
};

const deny = (reason) => ({ ok: false, reason });
const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

function decode(base64url) {
  const base64 = base64url.replaceAll("-", "+").replaceAll("_", "/");
  return Uint8Array.from(atob(base64.padEnd(Math.ceil(base64.length / 4) * 4, "=")), (c) =>
    c.charCodeAt(0),
  );
}

/** The device key a token's `cnf` names, or null if it is not exactly one we accept. */
async function deviceKey(cnf) {
  if (!isObject(cnf) || Object.keys(cnf).join() !== "jwk") return null;
  const jwk = cnf.jwk;
  if (!isObject(jwk) || !Object.values(jwk).every((value) => typeof value === "string")) return null;
  const name = Object.keys(CURVES).find((curve) => jwk.crv === curve && jwk.kty === CURVES[curve].kty);
  if (!name) return null;
  const curve = CURVES[name];
  if (Object.keys(jwk).sort().join() !== curve.members.join()) return null;
  if (!["x", "y"].filter((m) => m in jwk).every((m) => COORDINATE.test(jwk[m]))) return null;
  const members = Object.fromEntries(curve.members.map((m) => [m, jwk[m]]));
  try {
    const key = await crypto.subtle.importKey("jwk", members, curve.algorithm, false, ["verify"]);
    return { key, name, jkt: await thumbprint(members) };
  } catch {
    return null; // not a point on its curve
  }
}

/** The reason the proof fails, or null when it holds (or neither cnf nor proof is there). */
async function proofProblem(device, proof, passId, now, window) {
  if (!device && !proof) return null;
  if (!device || !proof) return "invalid_claims";
  if (!TIMESTAMP.test(proof.timestamp) || !SIGNATURE.test(proof.signature)) return "malformed";
  const algorithm = device.name === "Ed25519" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
  const message = new TextEncoder().encode(`gymgate-proof.${passId}.${proof.timestamp}`);
  if (!(await crypto.subtle.verify(algorithm, device.key, decode(proof.signature), message))) {
    return "bad_signature";
  }
  const signedAt = Number(proof.timestamp);
  if (signedAt < now - window) return "expired";
  if (signedAt > now + window) return "not_yet_valid";
  return null;
}

/**
 * What a gate read (a token, or a bound pass's token~ts~sig), as the server's
 * TokenVerifier.verify_scan: the claims with `jkt` (the bound key's thumbprint, or null),
 * or the deny reason. `rules.proofWindow` comes from the gate state (default 30 s).
 */
export async function checkScan(text, rules, now) {
  if (typeof text !== "string" || codePoints(text) > MAX_TOKEN_LENGTH + MAX_PROOF_LENGTH) {
    return deny("malformed");
  }
  const parts = text.split("~");
  if (parts.length !== 1 && parts.length !== 3) return deny("malformed");
  const checked = await checkToken(parts[0], rules, now);
  if (!checked.ok) return checked;
  const { cnf, ...claims } = checked.claims;
  const device = cnf === undefined ? null : await deviceKey(cnf);
  if (cnf !== undefined && !device) return deny("invalid_claims");
  const proof = parts.length === 3 ? { timestamp: parts[1], signature: parts[2] } : null;
  const window = rules.proofWindow ?? DEFAULT_PROOF_WINDOW_SECONDS;
  const problem = await proofProblem(device, proof, claims.passId, now, window);
  if (problem) return deny(problem);
  return { ok: true, claims: { ...claims, jkt: device ? device.jkt : null } };
}
