// What the gate screen says: who is let in and what their pass is, or what staff should do
// about a deny. Pure: no DOM; one sentence per deny reason.

const hourMinute = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const dayHourMinute = new Intl.DateTimeFormat(undefined, {
  day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
});

/** "18:04" today, "26 Nov, 18:04" another day; "—" for no time. */
export function shortTime(iso, now = new Date()) {
  const when = new Date(iso);
  if (!iso || Number.isNaN(when.getTime())) return "—";
  return when.toDateString() === now.toDateString()
    ? hourMinute.format(when)
    : dayHourMinute.format(when);
}

/** "Ana · one entry, valid until 18:04"; "Member" when the answer names nobody (offline). */
export function allowWords(answer) {
  const who = typeof answer.holder === "string" && answer.holder.trim() ? answer.holder.trim() : "Member";
  const until = answer.expires_at ? `, valid until ${shortTime(answer.expires_at)}` : "";
  return `${who} · one entry${until}`;
}

/** What staff should do, per deny reason. */
export const DENY_GUIDANCE = {
  already_used: "send to the desk",
  revoked: "Refunded or moved to another phone — send to the desk",
  expired: "Expired — the member needs a new pass",
  not_yet_valid: "Phone clock or pass not valid yet — check the time",
  unknown_key: "Not a gymgate pass — scan again or send to the desk",
  bad_signature: "Not a gymgate pass — scan again or send to the desk",
  malformed: "Not a gymgate pass — scan again or send to the desk",
  invalid_claims: "Not a gymgate pass — scan again or send to the desk",
};

/** "Already used at 09:14 at front-door — send to the desk", "Expired — …", … */
export function denyGuidance(answer) {
  if (answer.reason === "already_used") {
    const when = answer.used_at ? ` at ${shortTime(answer.used_at)}` : "";
    const where = answer.used_gate ? ` at ${answer.used_gate}` : "";
    return `Already used${when}${where} — ${DENY_GUIDANCE.already_used}`;
  }
  return DENY_GUIDANCE[answer.reason] || "Not admitted — send to the desk";
}
