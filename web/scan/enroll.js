// Setting a scanner up: an operator's one-time enrollment code (gymgate-gate:1:<name>:<secret>)
// is exchanged for the gate's own new secret, and any secret is tried at once against
// /gate/state, so a wrong one is reported at the setup, not at the first member's scan.
import { ApiError, api } from "/common.js";

const CODE = /^gymgate-gate:1:([^:\s]{1,64}):([A-Za-z0-9_-]{16,256})$/;

/** {name, secret} of an enrollment code, or null if the text is not one. */
export function parseEnrollmentCode(text) {
  const match = CODE.exec(String(text || "").trim());
  return match ? { name: match[1], secret: match[2] } : null;
}

function problem(error, refused) {
  if (error.status === 401) return new ApiError(refused, "client", 401);
  if (error.kind === "offline") {
    return new ApiError(
      "Can't reach the gymgate server, so this can't be checked. Connect the scanner and try again.",
      "offline",
    );
  }
  return error;
}

/** Exchange the code for this gate's own secret: {name, secret}. The code is then used up. */
export async function enroll(code) {
  try {
    const answer = await api("/gate/enroll", { method: "POST", bearer: code.secret, timeoutMs: 8000 });
    return { name: answer.gate, secret: answer.secret };
  } catch (error) {
    throw problem(
      error,
      "This enrollment code was not accepted: it was used already, replaced, or the gate was revoked. Ask an operator for a new code.",
    );
  }
}

/** Resolve if the server accepts the gate's secret; reject with a sentence otherwise. */
export async function checkSecret(gate) {
  try {
    await api("/gate/state?pending=0", { bearer: gate.secret, timeoutMs: 8000 });
  } catch (error) {
    throw problem(error, "The server did not accept this gate's secret. Check it and try again.");
  }
}
