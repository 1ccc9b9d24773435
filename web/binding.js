// This phone's pass key and what it signs. A bound pass names the key's public half (RFC
// 7800 `cnf`); the QR shows the pass plus a fresh signature by the private half, which
// WebCrypto made non-extractable and IndexedDB keeps as such: no script, ours included, can
// read it out, so a screenshot or a copied token is no use on another phone.
//
//   deviceKey()            → {privateKey, publicKey, jwk, jkt}, made once per browser profile
//   proofText(key, token, offsetMs) → "<JWS>~<ts>~<sig>", what the QR shows

const DB_NAME = "gymgate-device";
const STORE = "keys";
const ENTRY = "device";
const ED25519 = { name: "Ed25519" };
const P256 = { name: "ECDSA", namedCurve: "P-256" };
const USAGES = ["sign", "verify"];

const done = (request) =>
  new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

function openDb() {
  const request = indexedDB.open(DB_NAME, 1);
  request.onupgradeneeded = () => request.result.createObjectStore(STORE);
  return done(request);
}

async function stored(db) {
  return done(db.transaction(STORE).objectStore(STORE).get(ENTRY));
}

async function keep(db, pair) {
  const transaction = db.transaction(STORE, "readwrite");
  transaction.objectStore(STORE).put(pair, ENTRY);
  await new Promise((resolve, reject) => {
    transaction.oncomplete = resolve;
    transaction.onabort = () => reject(transaction.error);
  });
}

/**
 * A new non-extractable key pair: Ed25519, or ECDSA P-256 where the browser has no Ed25519.
 * Any other failure is thrown: a JavaScript fallback could not keep the key unreadable.
 */
export async function generatePair() {
  try {
    return await crypto.subtle.generateKey(ED25519, false, USAGES);
  } catch (error) {
    if (error.name !== "NotSupportedError") throw error;
    return crypto.subtle.generateKey(P256, false, USAGES);
  }
}

/** Only the members RFC 7638 hashes: what the server binds, nothing else of the export. */
export function publicMembers(jwk) {
  return jwk.kty === "OKP"
    ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
    : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
}

export function base64url(bytes) {
  let binary = "";
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/** The key's RFC 7638 thumbprint (`jkt`): SHA-256 of its members in name order. */
export async function thumbprint(jwk) {
  const canonical = JSON.stringify(publicMembers(jwk)); // members already in name order
  return base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical)));
}

async function describe(pair) {
  const jwk = publicMembers(await crypto.subtle.exportKey("jwk", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, jwk, jkt: await thumbprint(jwk) };
}

async function loadOrMake() {
  const db = await openDb();
  try {
    let pair = await stored(db);
    if (!pair) {
      pair = await generatePair();
      await keep(db, pair);
    }
    return describe(pair);
  } finally {
    db.close();
  }
}

let loading = null;

/** This profile's key, made on first use; one key even with the page open in two tabs. */
export function deviceKey() {
  if (!loading) {
    const locked = navigator.locks
      ? navigator.locks.request("gymgate-device-key", loadOrMake)
      : loadOrMake();
    loading = locked.catch((error) => {
      loading = null; // a later call may try again (say, storage was briefly unavailable)
      throw error;
    });
  }
  return loading;
}

/** The pass id (`jti`) of a compact JWS, read without checking: the server signed it. */
export function passIdOf(token) {
  const payload = token.split(".")[1].replaceAll("-", "+").replaceAll("_", "/");
  return JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, "="))).jti;
}

/**
 * What the QR shows for a bound pass: the token, the time by the server's clock (this
 * clock plus `offsetMs`) and this key's signature over `gymgate-proof.<jti>.<ts>`.
 */
export async function proofText(key, token, offsetMs, nowMs = Date.now()) {
  const ts = Math.floor((nowMs + offsetMs) / 1000);
  const message = new TextEncoder().encode(`gymgate-proof.${passIdOf(token)}.${ts}`);
  const algorithm = key.privateKey.algorithm.name === "Ed25519" ? ED25519 : { name: "ECDSA", hash: "SHA-256" };
  const signature = await crypto.subtle.sign(algorithm, key.privateKey, message);
  return `${token}~${ts}~${base64url(signature)}`;
}
