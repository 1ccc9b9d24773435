// gymgate: what the three pages share — calling the API with human error sentences,
// keeping small things in localStorage, and formatting ids and times.

/** An API call that did not succeed; `message` is a sentence a person can act on. */
export class ApiError extends Error {
  /**
   * @param {string} message
   * @param {"offline" | "server" | "client"} kind
   * @param {number} status  0 when the server was not reached
   * @param {any} body
   */
  constructor(message, kind, status = 0, body = null) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.body = body;
  }
}

export const OFFLINE_SENTENCE =
  "Can't reach the gymgate server. Check the connection; we'll keep trying.";

/**
 * Call the gymgate API. Resolves with the JSON body of a 2xx answer; rejects with an ApiError.
 * With `blob: true` a 2xx body is resolved as a Blob (a file to download), not as JSON.
 * @param {string} path
 * @param {{method?: string, body?: any, bearer?: string, timeoutMs?: number, blob?: boolean}} [options]
 */
export async function api(path, { method = "GET", body, bearer, timeoutMs = 8000, blob = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch {
    throw new ApiError(OFFLINE_SENTENCE, "offline");
  }
  if (response.ok && blob) return response.blob();
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    payload = null;
  }
  if (response.ok) return payload;
  const detail = payload && typeof payload.detail === "string" ? payload.detail : "";
  if (response.status >= 500) {
    throw new ApiError(
      "The gymgate server has a problem right now. Please try again in a moment.",
      "server",
      response.status,
      payload,
    );
  }
  throw new ApiError(sentence(detail) || `The server refused that (${response.status}).`, "client", response.status, payload);
}

/** Capitalise a server `detail` and end it with a full stop. */
export function sentence(text) {
  const trimmed = (text || "").trim();
  if (!trimmed) return "";
  const first = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

/** localStorage, tolerant of private mode and corrupt values. */
export const store = {
  get(key) {
    try {
      const raw = localStorage.getItem(key);
      return raw === null ? null : JSON.parse(raw);
    } catch {
      return null;
    }
  },
  set(key, value) {
    try {
      localStorage.setItem(key, JSON.stringify(value));
      return true;
    } catch {
      return false;
    }
  },
  remove(key) {
    try {
      localStorage.removeItem(key);
    } catch {
      /* nothing stored, nothing to forget */
    }
  },
};

/** The short form of an id a person reads out: `usr_3q2Y0lX9c1mZbQ8e` → `3q2Y0l`. */
export function shortId(id) {
  if (!id) return "—";
  return String(id).replace(/^[a-z]+_/, "").slice(0, 6);
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

const dayTimeFormat = new Intl.DateTimeFormat(undefined, {
  day: "numeric",
  month: "short",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
});

/** "18:04" in the viewer's time zone. */
export function clockTime(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? "—" : timeFormat.format(when);
}

/** "25 Nov, 18:04:09" in the viewer's time zone. */
export function dateTime(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? "—" : dateTimeFormat.format(when);
}

/** "25 Nov, 18:04" in the viewer's time zone. */
export function dayAndTime(iso) {
  const when = new Date(iso);
  return Number.isNaN(when.getTime()) ? "—" : dayTimeFormat.format(when);
}

/** A countdown: "23:59:58" (hours:minutes:seconds). */
export function duration(ms) {
  const total = Math.max(0, Math.floor(ms / 1000));
  const two = (n) => String(n).padStart(2, "0");
  return `${Math.floor(total / 3600)}:${two(Math.floor((total % 3600) / 60))}:${two(total % 60)}`;
}

/**
 * The server's clock minus this one, in ms, from the server's time (Unix seconds) in an
 * answer to a call sent at `sentAtMs` and answered at `receivedAtMs` (this clock): the
 * server read its clock about halfway through.
 */
export function clockOffsetMs(serverSeconds, sentAtMs, receivedAtMs) {
  return serverSeconds * 1000 - (sentAtMs + receivedAtMs) / 2;
}

/** Show `text` in a message element with a tone (error, warn, ok, info); empty hides it. */
export function say(element, text, tone = "info") {
  element.textContent = text || "";
  element.className = `message ${tone}`;
  element.hidden = !text;
}

/** Deny reasons as the words a person at the gate reads. */
export const REASON_WORDS = {
  malformed: "Not a gymgate pass",
  bad_signature: "Not a valid gymgate pass (forged or damaged)",
  unknown_key: "Not a valid gymgate pass (unknown signing key)",
  expired: "Expired",
  not_yet_valid: "Not valid yet",
  already_used: "Already used",
  revoked: "Revoked (refunded, or moved to another phone)",
  invalid_claims: "Not a valid gymgate pass",
};

/** The sentence for a deny answer, with the time and gate of the earlier entry if known. */
export function denyWords(answer) {
  const words = REASON_WORDS[answer.reason] || "Not admitted";
  if (answer.reason === "already_used" && answer.used_at) {
    const where = answer.used_gate ? `, ${answer.used_gate}` : "";
    return `${words} at ${clockTime(answer.used_at)}${where}`;
  }
  return words;
}
