// The gate's offline verifier: the server's token rules (src/gymgate/tokens.py), step for
// step, so a pass gets the same deny reason here as from POST /verify. Pure: no DOM, no
// storage; the caller hands in keys, parameters, the time and the revoked/used lookups.
//
//   parse     → malformed      (length, compact shape, canonical base64url, header JSON
//                                object, kid not a string, crit/b64 headers)
//   header    → bad_signature  (alg other than EdDSA)
//             → unknown_key    (kid missing or not one of ours)
//   signature → malformed      (not 64 canonical bytes) / bad_signature (no match)
//             → malformed      (duplicate JSON names or NaN, read strictly once signed)
//   time      → expired / not_yet_valid / invalid_claims
//   claims    → invalid_claims (iss, jti, sub)
//   state     → revoked, already_used (from the gate's last sync and its own decisions)
// A bound pass's proof (token~ts~sig) is checked after this, by proof.js.

export const MAX_TOKEN_LENGTH = 2048;
export const MAX_ID_LENGTH = 64;
export const MAX_TIMESTAMP = 253_402_300_799;

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
// 64 bytes = 86 characters; only A, Q, g or w leave the 2 unused bits zero (one spelling).
const ED25519_SIGNATURE = /^[A-Za-z0-9_-]{85}[AQgw]$/;
const FORBIDDEN_HEADERS = ["crit", "b64"];
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

class Rejected extends Error {
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

const reject = (reason) => {
  throw new Rejected(reason);
};

// ---- base64url, canonical only (PyJWT re-encodes each segment and compares) -------------

function base64urlDecode(segment) {
  if (segment.length % 4 === 1) reject("malformed");
  const bytes = new Uint8Array(Math.floor((segment.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const character of segment) {
    const index = ALPHABET.indexOf(character);
    if (index < 0) reject("malformed");
    value = (value << 6) | index;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[at++] = (value >> bits) & 0xff;
    }
  }
  if (value & ((1 << bits) - 1)) reject("malformed"); // unused bits set: a second spelling
  return bytes;
}

// ---- JSON as Python's json.loads reads it -----------------------------------------------

/** A JSON number written with a fraction or exponent: Python reads it as a float. */
export class JsonFloat {
  constructor(value) {
    this.value = value;
  }
}

function decodeText(bytes) {
  // json.loads(bytes): a UTF-8 BOM is dropped; UTF-16/32 are detected by their zero bytes.
  let encoding = "utf-8";
  let start = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) start = 3;
  else if ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe)) {
    reject("malformed"); // UTF-16/32 with a BOM: never written by our signer
  } else if ((bytes.length >= 4 || bytes.length === 2) && (bytes[0] === 0 || bytes[1] === 0)) {
    encoding = bytes[0] === 0 ? "utf-16be" : "utf-16le";
    if (bytes.length >= 4 && (bytes[0] === 0 ? !bytes[1] : !(bytes[2] || bytes[3]))) {
      reject("malformed"); // UTF-32: not decodable here; our signer never writes it
    }
  }
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(bytes.subarray(start));
  } catch {
    return reject("malformed");
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
const WHITESPACE = /[ \t\n\r]*/y;
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/**
 * Parse JSON text as Python's json.loads does: NaN/Infinity accepted unless `strict`,
 * duplicate names last-wins unless `strict` (then malformed), integers told from floats.
 */
export function parseJson(text, { strict = false } = {}) {
  let at = 0;
  const fail = () => reject("malformed");
  const space = () => {
    WHITESPACE.lastIndex = at;
    WHITESPACE.exec(text);
    at = WHITESPACE.lastIndex;
  };
  const constant = (word, value) => {
    if (!text.startsWith(word, at)) return undefined;
    at += word.length;
    return { value };
  };
  const string = () => {
    at += 1; // the opening quote
    let out = "";
    for (;;) {
      const character = text[at];
      if (character === undefined || character.charCodeAt(0) < 0x20) fail();
      at += 1;
      if (character === '"') return out;
      if (character !== "\\") {
        out += character;
        continue;
      }
      const escape = text[at];
      at += 1;
      if (escape === "u") {
        const hex = text.slice(at, at + 4);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail();
        out += String.fromCharCode(parseInt(hex, 16));
        at += 4;
      } else if (escape in ESCAPES) {
        out += ESCAPES[escape];
      } else {
        fail();
      }
    }
  };
  const value = (depth) => {
    if (depth > 900) fail(); // Python gives up (RecursionError) about here too
    space();
    const character = text[at];
    if (character === "{") return object(depth);
    if (character === "[") return array(depth);
    if (character === '"') return string();
    const word =
      constant("null", null) || constant("true", true) || constant("false", false) ||
      (!strict && (constant("NaN", new JsonFloat(NaN)) || constant("Infinity", new JsonFloat(Infinity)) ||
        constant("-Infinity", new JsonFloat(-Infinity))));
    if (word) return word.value;
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(text);
    if (!number) return fail();
    at = NUMBER.lastIndex;
    const parsed = Number(number[0]);
    return number[1] || number[2] ? new JsonFloat(parsed) : parsed;
  };
  const object = (depth) => {
    at += 1;
    const out = Object.create(null);
    space();
    if (text[at] === "}") {
      at += 1;
      return out;
    }
    for (;;) {
      space();
      if (text[at] !== '"') fail();
      const name = string();
      space();
      if (text[at] !== ":") fail();
      at += 1;
      const item = value(depth + 1);
      if (strict && Object.prototype.hasOwnProperty.call(out, name)) fail();
      out[name] = item;
      space();
      if (text[at] === ",") at += 1;
      else if (text[at] === "}") return (at += 1), out;
      else fail();
    }
  };
  const array = (depth) => {
    at += 1;
    const out = [];
    space();
    if (text[at] === "]") return (at += 1), out;
    for (;;) {
      out.push(value(depth + 1));
      space();
      if (text[at] === ",") at += 1;
      else if (text[at] === "]") return (at += 1), out;
      else fail();
    }
  };
  const result = value(0);
  space();
  if (at !== text.length) fail();
  return result;
}

// Python counts code points, not UTF-16 units; a far longer string is over the limit anyway.
export const codePoints = (text) => (text.length > 2 * MAX_TOKEN_LENGTH ? text.length : [...text].length);

const isObject = (value) =>
  value !== null && typeof value === "object" && !Array.isArray(value) && !(value instanceof JsonFloat);
const has = (object, name) => Object.prototype.hasOwnProperty.call(object, name);

// ---- the checks, in the server's order ---------------------------------------------------

function parse(token) {
  if (typeof token !== "string" || codePoints(token) > MAX_TOKEN_LENGTH) reject("malformed");
  if (!COMPACT_JWS.test(token)) reject("malformed");
  const [headerSegment, payloadSegment, signatureSegment] = token.split(".");
  const headerBytes = base64urlDecode(headerSegment);
  const header = parseJson(decodeText(headerBytes));
  if (!isObject(header)) reject("malformed");
  const payloadBytes = base64urlDecode(payloadSegment);
  base64urlDecode(signatureSegment);
  if (has(header, "kid") && typeof header.kid !== "string") reject("malformed");
  if (FORBIDDEN_HEADERS.some((name) => has(header, name))) reject("malformed");
  return { header, headerBytes, payloadBytes, signatureSegment };
}

async function verifiedClaims(token, parts, key) {
  if (!ED25519_SIGNATURE.test(parts.signatureSegment)) reject("malformed");
  const signingInput = token.slice(0, token.lastIndexOf("."));
  const ok = await crypto.subtle.verify(
    { name: "Ed25519" },
    key,
    base64urlDecode(parts.signatureSegment),
    new TextEncoder().encode(signingInput),
  );
  if (!ok) reject("bad_signature");
  parseJson(decodeText(parts.headerBytes), { strict: true });
  const claims = parseJson(decodeText(parts.payloadBytes), { strict: true });
  if (!isObject(claims)) reject("malformed");
  return claims;
}

function timestamp(claims, name) {
  const value = claims[name];
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_TIMESTAMP) {
    reject("invalid_claims");
  }
  return value;
}

function identifier(claims, name) {
  const value = claims[name];
  if (typeof value !== "string" || value.length === 0 || codePoints(value) > MAX_ID_LENGTH) {
    reject("invalid_claims");
  }
  return value;
}

function checkTime(claims, rules, now) {
  const expiresAt = timestamp(claims, "exp");
  const issuedAt = timestamp(claims, "iat");
  if (now > expiresAt + rules.leeway) reject("expired");
  if (issuedAt > now + rules.leeway) reject("not_yet_valid");
  if (has(claims, "nbf") && timestamp(claims, "nbf") > now + rules.leeway) reject("not_yet_valid");
  if (issuedAt > expiresAt) reject("invalid_claims");
  if (rules.maxLifetime != null && expiresAt - issuedAt > rules.maxLifetime) {
    reject("invalid_claims");
  }
  return { expiresAt, issuedAt };
}

/**
 * Import a JWKS's Ed25519 public keys for verifying: a Map kid → CryptoKey (a Map, so no
 * kid can name something inherited). Keys that are not OKP/Ed25519 are left out.
 */
export async function importKeys(jwks) {
  const keys = new Map();
  for (const jwk of (jwks && jwks.keys) || []) {
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.kid !== "string") continue;
    const key = await crypto.subtle.importKey(
      "jwk",
      { kty: "OKP", crv: "Ed25519", x: jwk.x },
      { name: "Ed25519" },
      false,
      ["verify"],
    );
    keys.set(jwk.kid, key);
  }
  return keys;
}

/**
 * Signature, time and claims, as the server's TokenVerifier.verify.
 * @param {string} token
 * @param {{keys: Map<string, CryptoKey>, issuer: string, leeway: number, maxLifetime: number|null}} rules
 * @param {number} now  seconds since the epoch (the server's clock, as best known)
 * @returns {Promise<{ok: true, claims: {passId, userId, issuedAt, expiresAt, kid}} | {ok: false, reason: string}>}
 */
export async function checkToken(token, rules, now) {
  try {
    const parts = parse(token);
    if (parts.header.alg !== "EdDSA") reject("bad_signature");
    const kid = parts.header.kid;
    const key = typeof kid === "string" ? rules.keys.get(kid) : undefined;
    if (!key) reject("unknown_key");
    const claims = await verifiedClaims(token, parts, key);
    const { expiresAt, issuedAt } = checkTime(claims, rules, now);
    if (claims.iss !== rules.issuer) reject("invalid_claims");
    const passId = identifier(claims, "jti");
    const userId = identifier(claims, "sub");
    const cnf = has(claims, "cnf") ? claims.cnf : undefined; // a bound pass: for proof.js
    return { ok: true, claims: { passId, userId, issuedAt, expiresAt, kid, cnf } };
  } catch (error) {
    if (error instanceof Rejected) return { ok: false, reason: error.reason };
    throw error;
  }
}

/**
 * A JWT-looking string (three base64url segments, a JSON header), bare or with a bound
 * pass's ~ts~sig: a pass, never a secret.
 */
export function looksLikeToken(text) {
  return /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*(~[0-9]+~[A-Za-z0-9_-]+)?$/.test(
    String(text).trim(),
  );
}
