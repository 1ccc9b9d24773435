// The member page: pay (mock provider), get the QR, keep it on the phone, follow its status.
import { api, clockTime, dayAndTime, duration, say, sentence, shortId, store } from "/common.js";

const PASS_KEY = "gymgate.pass";
const PENDING_KEY = "gymgate.pendingPayment";
const STATUS_EVERY_MS = 4000;

const $ = (id) => document.getElementById(id);
const view = {
  loading: $("loading"),
  buy: $("buy"),
  form: $("pay-form"),
  email: $("email"),
  name: $("name"),
  pay: $("pay"),
  payMessage: $("pay-message"),
  backToPass: $("back-to-pass"),
  checkPayment: $("check-payment"),
  pass: $("pass"),
  holder: $("pass-holder"),
  frame: $("qr-frame"),
  qr: $("pass-qr"),
  veil: $("qr-veil"),
  state: $("pass-state"),
  short: $("pass-short"),
  countdown: $("pass-countdown"),
  expiry: $("pass-expiry"),
  network: $("pass-network"),
  newPass: $("new-pass"),
};

let statusTimer = 0;
let countdownTimer = 0;
let pendingTimer = 0;

// ---- buying ------------------------------------------------------------------------------

function showBuy() {
  view.loading.hidden = true;
  view.pass.hidden = true;
  view.buy.hidden = false;
  view.backToPass.hidden = !store.get(PASS_KEY);
  document.title = "gymgate · get a day pass";
}

function validEmail(value) {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
}

async function onPay(event) {
  event.preventDefault();
  const email = view.email.value.trim();
  const name = view.name.value.trim();
  const simulate = new FormData(view.form).get("simulate") || "completed";
  if (!validEmail(email)) {
    say(view.payMessage, "Enter your email address, for example ana@example.com.", "error");
    view.email.setAttribute("aria-invalid", "true");
    view.email.focus();
    return;
  }
  view.email.removeAttribute("aria-invalid");
  busy(true, "Paying…");
  say(view.payMessage, "");
  try {
    const payment = await api("/create_payment", {
      method: "POST",
      body: { email, ...(name ? { name } : {}), simulate },
    });
    await afterPayment(payment, name || email);
  } catch (error) {
    say(view.payMessage, paymentFailure(error), "error");
  } finally {
    busy(false);
  }
}

function busy(on, label = "") {
  view.pay.disabled = on;
  view.pay.textContent = on ? label : "Pay and get my pass";
}

function paymentFailure(error) {
  if (error.kind === "offline") {
    return "We can't reach the gymgate server, so nothing was charged. Check your connection and try again.";
  }
  if (error.kind === "server") {
    return "Payments aren't working right now and nothing was charged. Please try again in a minute.";
  }
  return error.message;
}

async function afterPayment(payment, holder) {
  if (payment.status === "completed") {
    // Remembered until the pass is in hand: a paid pass is never lost to a dropped connection.
    store.set(PENDING_KEY, { payment_id: payment.payment_id, holder });
    try {
      await issuePass(payment.payment_id, holder);
    } catch (error) {
      const why = error.kind === "client" ? ` (${error.message})` : "";
      say(
        view.payMessage,
        `Your payment went through, but we couldn't make your pass yet${why}. We'll keep trying; you won't be charged twice.`,
        "warn",
      );
      view.checkPayment.hidden = false;
      startPendingChecks();
      return;
    }
    store.remove(PENDING_KEY);
    stopPendingChecks();
  } else if (payment.status === "failed") {
    store.remove(PENDING_KEY);
    stopPendingChecks();
    say(
      view.payMessage,
      "Your payment didn't go through, so no pass was made and nothing was charged. Try again, or use another card.",
      "error",
    );
  } else if (payment.status === "pending") {
    store.set(PENDING_KEY, { payment_id: payment.payment_id, holder });
    say(
      view.payMessage,
      "Your payment is still pending: the bank hasn't confirmed it yet. Keep this page open; your pass appears here as soon as it's confirmed.",
      "warn",
    );
    view.checkPayment.hidden = false;
    startPendingChecks();
  } else {
    store.remove(PENDING_KEY);
    say(view.payMessage, "This payment was refunded, so it has no pass.", "error");
  }
}

async function issuePass(paymentId, holder) {
  const issued = await api("/generate_qr", { method: "POST", body: { payment_id: paymentId } });
  const pass = { ...issued, holder, payment_id: paymentId, status: "unused" };
  store.set(PASS_KEY, pass);
  showPass(pass);
  view.state.focus();
}

async function checkPending() {
  const pending = store.get(PENDING_KEY);
  if (!pending) return stopPendingChecks();
  try {
    const payment = await api(`/payments/${encodeURIComponent(pending.payment_id)}`);
    if (payment.status !== "pending") await afterPayment(payment, pending.holder);
  } catch (error) {
    say(view.payMessage, paymentFailure(error), error.status === 404 ? "error" : "warn");
    if (error.status === 404) {
      store.remove(PENDING_KEY);
      stopPendingChecks();
    }
  }
}

function startPendingChecks() {
  stopPendingChecks();
  pendingTimer = setInterval(checkPending, 5000);
}

function stopPendingChecks() {
  clearInterval(pendingTimer);
  view.checkPayment.hidden = true;
}

// ---- the pass ----------------------------------------------------------------------------

function showPass(pass) {
  view.loading.hidden = true;
  view.buy.hidden = true;
  view.pass.hidden = false;
  document.title = "gymgate · your day pass";
  view.holder.textContent = pass.holder || "";
  view.qr.src = pass.qr;
  view.short.textContent = shortId(pass.pass_id);
  view.short.title = pass.pass_id;
  view.expiry.textContent = dayAndTime(pass.expires_at);
  renderState(pass);
  clearInterval(countdownTimer);
  countdownTimer = setInterval(tick, 1000);
  tick();
  clearInterval(statusTimer);
  statusTimer = setInterval(refreshStatus, STATUS_EVERY_MS);
  refreshStatus();
}

function tick() {
  const pass = store.get(PASS_KEY);
  if (!pass) return;
  const left = Date.parse(pass.expires_at) - Date.now();
  view.countdown.textContent = duration(left);
  if (left <= 0 && pass.status === "unused") {
    pass.status = "expired";
    store.set(PASS_KEY, pass);
    renderState(pass);
  }
}

function renderState(pass) {
  const words = {
    unused: "Ready: show this code at the turnstile",
    used: pass.used_at
      ? `Used at ${clockTime(pass.used_at)}${pass.used_gate ? `, ${pass.used_gate}` : ""}`
      : "Used",
    revoked: "Revoked: this pass was refunded and no longer opens the gate",
    expired: `Expired at ${clockTime(pass.expires_at)}: buy a new pass to get in`,
    unknown: "The server doesn't know this pass any more",
  };
  view.state.textContent = words[pass.status] || words.unknown;
  view.state.className = `state ${pass.status}`;
  view.state.tabIndex = -1;
  const spent = pass.status !== "unused";
  view.frame.classList.toggle("spent", spent);
  view.veil.hidden = !spent;
  view.veil.textContent = { used: "Used", revoked: "Revoked", expired: "Expired" }[pass.status] || "Not valid";
  view.qr.alt = spent
    ? `QR code of a pass that is ${pass.status}: it will not open the gate`
    : "QR code of your pass: hold it under the scanner at the turnstile";
  view.newPass.classList.toggle("primary", spent);
  if (spent) clearInterval(statusTimer);
}

async function refreshStatus() {
  const pass = store.get(PASS_KEY);
  if (!pass || document.hidden) return;
  try {
    const found = await api(`/passes/${encodeURIComponent(pass.pass_id)}`, { timeoutMs: 5000 });
    say(view.network, "");
    // The phone's clock may run ahead of the server's: an expiry seen here stays seen.
    const expiredHere = pass.status === "expired" && found.status === "unused";
    Object.assign(pass, {
      status: expiredHere ? "expired" : found.status,
      expires_at: found.expires_at,
      used_at: found.used_at,
      used_gate: found.used_gate,
    });
  } catch (error) {
    if (error.status === 404) {
      pass.status = "unknown";
    } else {
      say(
        view.network,
        "You're offline. Your pass still works at the gate; its status will update when you're back online.",
        "warn",
      );
      return;
    }
  }
  store.set(PASS_KEY, pass);
  renderState(pass);
}

// ---- start -------------------------------------------------------------------------------

function start() {
  view.form.addEventListener("submit", onPay);
  view.newPass.addEventListener("click", () => {
    showBuy();
    view.email.focus();
  });
  view.backToPass.addEventListener("click", () => {
    const pass = store.get(PASS_KEY);
    if (pass) showPass(pass);
  });
  view.checkPayment.addEventListener("click", checkPending);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !view.pass.hidden) refreshStatus();
  });
  window.addEventListener("online", () => !view.pass.hidden && refreshStatus());

  const pass = store.get(PASS_KEY);
  const pending = store.get(PENDING_KEY);
  if (pass && !pending) {
    showPass(pass);
  } else {
    showBuy();
    if (pending) {
      say(view.payMessage, "Checking your pending payment…", "warn");
      view.checkPayment.hidden = false;
      checkPending();
      startPendingChecks();
    }
  }
  if ("serviceWorker" in navigator) {
    // Keeps the page itself loadable offline; the pass is already in localStorage.
    navigator.serviceWorker.register("/sw.js").catch(() => {});
  }
}

start();
