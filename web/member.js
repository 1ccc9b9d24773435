// The member page: see the offer, pay (mock demo or hosted checkout), get the QR, keep every
// pass on the phone, open a pass from its emailed link, follow each pass's status. Where the
// gym binds passes to phones, a pass is fetched with this phone's public key and its QR is a
// live code drawn here (livecode.js), loaded only then.
import { ApiError, api, clockOffsetMs, clockTime, dayAndTime, duration, say, shortId, store } from "/common.js";
import { renderWallets } from "/wallet.js";

const PASS_KEY = "gymgate.pass"; // the pass on show
const PASSES_KEY = "gymgate.passes"; // every pass this phone holds
const PENDING_KEY = "gymgate.pendingPayment";
const INFO_KEY = "gymgate.info";
const STATUS_EVERY_MS = 4000;
// Re-checks of a payment the provider has not confirmed yet: quick at first, then calmer.
const PENDING_BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];
// A checkout still unconfirmed after this long was most likely left without paying.
const ABANDONED_AFTER_MS = 20 * 60 * 1000;

const $ = (id) => document.getElementById(id);
const view = {
  loading: $("loading"),
  gymName: $("gym-name"),
  footName: $("foot-name"),
  buy: $("buy"),
  price: $("offer-price"),
  validity: $("offer-validity"),
  form: $("pay-form"),
  demo: $("demo-outcome"),
  email: $("email"),
  name: $("name"),
  pay: $("pay"),
  payMessage: $("pay-message"),
  backToPass: $("back-to-pass"),
  checkPayment: $("check-payment"),
  forgetPayment: $("forget-payment"),
  resendForm: $("resend-form"),
  resendEmail: $("resend-email"),
  resend: $("resend"),
  resendMessage: $("resend-message"),
  pass: $("pass"),
  holder: $("pass-holder"),
  frame: $("qr-frame"),
  qr: $("pass-qr"),
  veil: $("qr-veil"),
  live: $("pass-live"),
  state: $("pass-state"),
  short: $("pass-short"),
  countdown: $("pass-countdown"),
  brightnessHint: $("brightness-hint"),
  refundHint: $("refund-hint"),
  expiry: $("pass-expiry"),
  network: $("pass-network"),
  newPass: $("new-pass"),
  passes: $("passes"),
  passesList: $("passes-list"),
};

let info = store.get(INFO_KEY) || { payment_provider: "mock", dev_mode: false };
let statusTimer = 0;
let countdownTimer = 0;
let pendingTimer = 0;
let pendingAttempt = 0;
let wakeLock = null;
let infoLoaded = Promise.resolve();
let liveCode = null; // Promise of the LiveCode drawing bound passes, once one is shown

// ---- the offer -----------------------------------------------------------------------------

async function loadInfo() {
  try {
    info = await api("/info", { timeoutMs: 5000 });
    store.set(INFO_KEY, info);
  } catch {
    // Offline: the last known offer (or none); paying needs the server anyway.
  }
  renderInfo();
}

function renderInfo() {
  if (info.gym_name) {
    view.gymName.textContent = info.gym_name;
    view.footName.textContent = info.gym_name;
  }
  if (info.price_cents !== undefined) {
    view.price.textContent = new Intl.NumberFormat(navigator.language, {
      style: "currency",
      currency: info.currency,
    }).format(info.price_cents / 100);
  }
  if (info.pass_ttl_seconds) {
    view.validity.textContent = `Valid ${hours(info.pass_ttl_seconds)} from when it is issued.`;
  }
  // The outcome choice is a demo of the mock provider: never shown to paying members.
  view.demo.hidden = !(info.dev_mode && info.payment_provider === "mock");
  if (!view.pass.hidden) renderWallets(store.get(PASS_KEY), info.wallets);
}

function hours(seconds) {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds >= 60) return `${Math.round(seconds / 60)} min`;
  return `${seconds} s`;
}

// ---- buying ------------------------------------------------------------------------------

function showBuy() {
  view.loading.hidden = true;
  view.pass.hidden = true;
  view.buy.hidden = false;
  view.backToPass.hidden = !store.get(PASS_KEY);
  document.title = `${info.gym_name || "gymgate"} · get a day pass`;
  releaseWakeLock();
  renderList();
}

function validEmail(value) {
  return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value);
}

async function onPay(event) {
  event.preventDefault();
  const email = view.email.value.trim();
  const name = view.name.value.trim();
  if (!validEmail(email)) {
    say(view.payMessage, "Enter your email address, for example ana@example.com.", "error");
    view.email.setAttribute("aria-invalid", "true");
    view.email.focus();
    return;
  }
  view.email.removeAttribute("aria-invalid");
  const body = { email, ...(name ? { name } : {}) };
  const checkout = info.payment_provider === "stripe";
  if (!checkout && !view.demo.hidden) body.simulate = new FormData(view.form).get("simulate") || "completed";
  busy(true, checkout ? "Opening the checkout…" : "Paying…");
  say(view.payMessage, "");
  try {
    const payment = await api("/create_payment", { method: "POST", body });
    if (checkout && payment.status === "pending" && payment.checkout_url) {
      store.set(PENDING_KEY, { payment_id: payment.payment_id, holder: name || email, since: Date.now() });
      location.assign(payment.checkout_url);
      return;
    }
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
      startPendingChecks();
      return;
    }
    forgetPending();
  } else if (payment.status === "failed") {
    forgetPending();
    say(
      view.payMessage,
      "Your payment didn't go through (it failed, or the checkout was left before paying), so no pass was made and nothing was charged. Try again, or use another card.",
      "error",
    );
  } else if (payment.status === "pending") {
    const pending = store.get(PENDING_KEY) || {};
    store.set(PENDING_KEY, { since: Date.now(), ...pending, payment_id: payment.payment_id, holder });
    sayPending(store.get(PENDING_KEY));
    startPendingChecks();
  } else {
    forgetPending();
    say(view.payMessage, "This payment was refunded, so it has no pass.", "error");
  }
}

function sayPending(pending) {
  const checkout = info.payment_provider === "stripe";
  if (checkout && Date.now() - (pending.since || Date.now()) > ABANDONED_AFTER_MS) {
    say(
      view.payMessage,
      "We still haven't heard that this payment was made. If you left the checkout without paying, nothing was charged: choose Start again. If you did pay, your pass appears here (and in your email) as soon as it's confirmed.",
      "warn",
    );
  } else if (checkout) {
    say(
      view.payMessage,
      "Confirming your payment… Keep this page open; your pass appears here as soon as the payment is confirmed.",
      "warn",
    );
  } else {
    say(
      view.payMessage,
      "Your payment is still pending: the bank hasn't confirmed it yet. Keep this page open; your pass appears here as soon as it's confirmed.",
      "warn",
    );
  }
}

async function issuePass(paymentId, holder) {
  const issued = await fetchPass("/generate_qr", { payment_id: paymentId });
  const pass = { ...issued, holder, payment_id: paymentId, status: "unused" };
  keep(pass, true);
  showPass(pass);
  view.state.focus();
}

async function checkPending() {
  const pending = store.get(PENDING_KEY);
  if (!pending) return stopPendingChecks();
  try {
    const payment = await api(`/payments/${encodeURIComponent(pending.payment_id)}`);
    if (payment.status !== "pending") return await afterPayment(payment, pending.holder);
    sayPending(pending);
  } catch (error) {
    say(view.payMessage, paymentFailure(error), error.status === 404 ? "error" : "warn");
    if (error.status === 404) return forgetPending();
  }
  scheduleNextCheck();
}

function startPendingChecks() {
  clearTimeout(pendingTimer);
  pendingAttempt = 0;
  view.checkPayment.hidden = false;
  view.forgetPayment.hidden = false;
  scheduleNextCheck();
}

function scheduleNextCheck() {
  clearTimeout(pendingTimer);
  if (!store.get(PENDING_KEY)) return;
  const wait = PENDING_BACKOFF_MS[Math.min(pendingAttempt, PENDING_BACKOFF_MS.length - 1)];
  pendingAttempt += 1;
  pendingTimer = setTimeout(checkPending, wait);
}

function stopPendingChecks() {
  clearTimeout(pendingTimer);
  view.checkPayment.hidden = true;
  view.forgetPayment.hidden = true;
}

function forgetPending() {
  store.remove(PENDING_KEY);
  stopPendingChecks();
}

// ---- lost passes ---------------------------------------------------------------------------

async function onResend(event) {
  event.preventDefault();
  const email = view.resendEmail.value.trim();
  if (!validEmail(email)) {
    say(view.resendMessage, "Enter the email address you paid with, for example ana@example.com.", "error");
    view.resendEmail.focus();
    return;
  }
  view.resend.disabled = true;
  try {
    await api("/passes/resend", { method: "POST", body: { email } });
    say(
      view.resendMessage,
      `If ${email} has a pass that's still valid, we've emailed a link to it. Check your inbox (and spam folder); the link shows the pass on any phone.`,
      "ok",
    );
  } catch (error) {
    say(view.resendMessage, error.kind === "client" ? error.message : paymentFailure(error).replace(", so nothing was charged", ""), "error");
  } finally {
    view.resend.disabled = false;
  }
}

// ---- a pass from its emailed link ----------------------------------------------------------

async function openLink(secret) {
  // Out of the address bar at once: the link is a key to the pass.
  history.replaceState(null, "", "/");
  view.loading.textContent = "Opening your pass…";
  try {
    const found = await fetchPass("/passes/by-link", { link: secret });
    const pass = { ...found, holder: found.holder || "" };
    keep(pass, true);
    showPass(pass);
  } catch (error) {
    showBuy();
    const words =
      error.status === 404
        ? "This pass link doesn't work: it may be incomplete, or a newer email replaced it. Ask for a fresh one under “Lost your pass?”."
        : error.kind === "client"
          ? error.message
          : "We couldn't open your pass right now. Check your connection and open the link again.";
    say(view.payMessage, words, "error");
  }
}

// ---- passes bound to this phone -------------------------------------------------------------

/** What a request for a pass adds where passes are bound: this phone's public key. */
async function deviceKeyBody() {
  await infoLoaded;
  if (info.pass_binding !== "device") return {};
  try {
    const { deviceKey } = await import("/binding.js");
    return { device_key: (await deviceKey()).jwk };
  } catch {
    throw new ApiError(
      "This browser can't keep your pass's key (private browsing, or site storage turned off?). Open this page in a normal window and try again.",
      "client",
    );
  }
}

/** POST for a pass; a bound pass keeps the offset to the server's clock its codes need. */
async function fetchPass(path, body) {
  const request = { ...body, ...(await deviceKeyBody()) };
  const sentAt = Date.now();
  const found = await api(path, { method: "POST", body: request });
  const offsetMs = typeof found.server_time === "number" ? clockOffsetMs(found.server_time, sentAt, Date.now()) : 0;
  return { ...found, offsetMs };
}

/** The QR: the server's picture of a plain pass, or a bound pass's live code (none if spent). */
function drawCode(pass) {
  const live = Boolean(pass.jkt) && pass.status === "unused";
  view.live.hidden = !live;
  if (!live && liveCode) liveCode.then((code) => code.stop());
  if (live) showLive(pass);
  else if (!pass.jkt) view.qr.src = pass.qr;
  else view.qr.removeAttribute("src");
  view.qr.hidden = Boolean(pass.jkt) && !live;
}

async function showLive(pass) {
  // A proof stays good for the window either side: redraw well within it.
  const everyMs = Math.min(10_000, (info.proof_window_seconds || 30) * 500);
  try {
    liveCode ??= import("/livecode.js").then(({ LiveCode }) => new LiveCode(view.qr));
    if (!(await (await liveCode).show(pass, everyMs))) movedAway(pass);
  } catch {
    say(view.network, "This phone can't draw your pass's code right now. Reload the page to try again.", "error");
  }
}

/** This phone's key is no longer the pass's: it was opened (and bound) on another phone. */
function movedAway(pass) {
  const moved = { ...pass, status: "moved" };
  keep(moved);
  if (store.get(PASS_KEY)?.pass_id === pass.pass_id) {
    renderState(moved);
    tick();
  }
  renderList();
}

// ---- the passes on this phone ----------------------------------------------------------------

function allPasses() {
  const list = store.get(PASSES_KEY) || [];
  const current = store.get(PASS_KEY);
  if (current && !list.some((p) => p.pass_id === current.pass_id)) list.push(current);
  return list;
}

/** Remember a pass (replacing an older copy of it); `show` makes it the pass on show. */
function keep(pass, show = false) {
  const list = allPasses().filter((p) => p.pass_id !== pass.pass_id);
  list.push(pass);
  store.set(PASSES_KEY, list);
  const current = store.get(PASS_KEY);
  if (show || (current && current.pass_id === pass.pass_id)) store.set(PASS_KEY, pass);
}

const RANK = { unused: 0, used: 1, expired: 2, revoked: 3, moved: 3, unknown: 4 };

function sortedPasses() {
  return allPasses().sort(
    (a, b) =>
      (RANK[a.status] ?? 4) - (RANK[b.status] ?? 4) ||
      (a.status === "unused"
        ? Date.parse(a.expires_at) - Date.parse(b.expires_at)
        : Date.parse(b.expires_at) - Date.parse(a.expires_at)),
  );
}

function renderList() {
  const passes = sortedPasses();
  const current = store.get(PASS_KEY);
  const onPass = !view.pass.hidden;
  view.passes.hidden = passes.length === 0 || (onPass && passes.length < 2);
  view.passesList.replaceChildren(
    ...passes.map((pass) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = `pass-item ${pass.status}`;
      button.dataset.passId = pass.pass_id;
      if (onPass && current && current.pass_id === pass.pass_id) button.setAttribute("aria-current", "true");
      const title = document.createElement("span");
      title.className = "pass-title";
      title.textContent = `${pass.holder || "Day pass"} · ${shortId(pass.pass_id)}`;
      const state = document.createElement("span");
      state.className = "pass-state";
      state.textContent = stateWords(pass);
      button.append(title, state);
      button.addEventListener("click", () => {
        store.set(PASS_KEY, pass);
        showPass(pass);
        window.scrollTo(0, 0);
      });
      item.append(button);
      return item;
    }),
  );
}

async function refreshAll() {
  for (const pass of allPasses()) {
    if (pass.status !== "unused") continue; // used, revoked and expired are final
    const found = await fetchStatus(pass);
    if (found) keep(found);
  }
  renderList();
}

// ---- the pass ----------------------------------------------------------------------------

function showPass(pass) {
  view.loading.hidden = true;
  view.buy.hidden = true;
  view.pass.hidden = false;
  document.title = `${info.gym_name || "gymgate"} · your day pass`;
  view.holder.textContent = pass.holder || "";
  drawCode(pass);
  view.short.textContent = shortId(pass.pass_id);
  view.short.title = pass.pass_id;
  view.expiry.textContent = dayAndTime(pass.expires_at);
  renderState(pass);
  clearInterval(countdownTimer);
  if (pass.status === "unused") countdownTimer = setInterval(tick, 1000);
  tick();
  clearInterval(statusTimer);
  if (pass.status === "unused") {
    statusTimer = setInterval(refreshStatus, STATUS_EVERY_MS);
    refreshStatus();
  }
  renderList();
}

function tick() {
  const pass = store.get(PASS_KEY);
  if (!pass) return;
  if (pass.status === "used" || pass.status === "revoked" || pass.status === "moved") {
    view.countdown.textContent = "—"; // spent: nothing left to count down
    clearInterval(countdownTimer);
    return;
  }
  const left = Date.parse(pass.expires_at) - Date.now();
  view.countdown.textContent = duration(left);
  if (left <= 0 && pass.status === "unused") {
    pass.status = "expired";
    keep(pass);
    renderState(pass);
    renderList();
  }
  if (pass.status !== "unused") clearInterval(countdownTimer);
}

function stateWords(pass) {
  switch (pass.status) {
    case "unused":
      return `Ready: show this code at the turnstile`;
    case "used":
      return pass.used_at
        ? `Used at ${clockTime(pass.used_at)}${pass.used_gate ? `, ${pass.used_gate}` : ""}`
        : "Used";
    case "revoked":
      return "Revoked: this pass was refunded and no longer opens the gate";
    case "expired":
      return `Expired at ${clockTime(pass.expires_at)}: buy a new pass to get in`;
    case "moved":
      return "This pass moved to another phone";
    default:
      return "The server doesn't know this pass any more";
  }
}

function renderState(pass) {
  view.state.textContent = stateWords(pass);
  view.state.className = `state ${pass.status}`;
  view.state.tabIndex = -1;
  const spent = pass.status !== "unused";
  view.frame.classList.toggle("spent", spent);
  view.veil.hidden = !spent;
  view.veil.textContent =
    { used: "Used", revoked: "Revoked", expired: "Expired", moved: "Moved to another phone" }[pass.status] ||
    "Not valid";
  view.qr.alt = spent
    ? `QR code of a pass that is ${pass.status}: it will not open the gate`
    : "QR code of your pass: hold it under the scanner at the turnstile";
  if (spent && pass.jkt) drawCode(pass); // a bound pass's live code stops
  view.newPass.classList.toggle("primary", spent);
  view.brightnessHint.hidden = spent; // nothing left to show a scanner
  view.refundHint.hidden = spent;
  renderWallets(pass, info.wallets);
  if (spent) {
    clearInterval(statusTimer);
    releaseWakeLock();
  } else {
    holdWakeLock();
  }
}

/** The pass with its server-side state, or null when the server can't be asked. */
async function fetchStatus(pass) {
  try {
    const found = await api(`/passes/${encodeURIComponent(pass.pass_id)}`, { timeoutMs: 5000 });
    // The phone's clock may run ahead of the server's: an expiry seen here stays seen.
    const expiredHere = pass.status === "expired" && found.status === "unused";
    // Bound to another phone's key since: that phone shows it now.
    const moved = Boolean(pass.jkt && found.jkt) && found.jkt !== pass.jkt && found.status === "unused";
    return {
      ...pass,
      status: expiredHere ? "expired" : moved ? "moved" : found.status,
      expires_at: found.expires_at,
      used_at: found.used_at,
      used_gate: found.used_gate,
    };
  } catch (error) {
    return error.status === 404 ? { ...pass, status: "unknown" } : null;
  }
}

async function refreshStatus() {
  const pass = store.get(PASS_KEY);
  if (!pass || document.hidden) return;
  const found = await fetchStatus(pass);
  if (store.get(PASS_KEY)?.pass_id !== pass.pass_id) return; // another pass is on show now
  if (!found) {
    say(
      view.network,
      "You're offline. Your pass still works at the gate; its status will update when you're back online.",
      "warn",
    );
    return;
  }
  say(view.network, "");
  keep(found);
  renderState(found);
  if (found.status !== "unused") tick();
  renderList();
}

// ---- keeping the screen on while the pass shows -------------------------------------------

async function holdWakeLock() {
  if (wakeLock || !("wakeLock" in navigator) || document.hidden) return;
  try {
    wakeLock = await navigator.wakeLock.request("screen");
    wakeLock.addEventListener("release", () => {
      wakeLock = null;
    });
  } catch {
    wakeLock = null; // not allowed (battery saver, no user gesture yet): the pass still shows
  }
}

function releaseWakeLock() {
  if (wakeLock) wakeLock.release().catch(() => {});
  wakeLock = null;
}

// ---- start -------------------------------------------------------------------------------

function start() {
  view.form.addEventListener("submit", onPay);
  view.resendForm.addEventListener("submit", onResend);
  view.newPass.addEventListener("click", () => {
    showBuy();
    view.email.focus();
  });
  view.backToPass.addEventListener("click", () => {
    const pass = store.get(PASS_KEY);
    if (pass) showPass(pass);
  });
  view.checkPayment.addEventListener("click", () => {
    pendingAttempt = 0;
    say(view.payMessage, "Checking your payment…", "warn");
    checkPending();
  });
  view.forgetPayment.addEventListener("click", () => {
    forgetPending();
    say(view.payMessage, "");
    view.email.focus();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.hidden || view.pass.hidden) return;
    refreshStatus();
    const pass = store.get(PASS_KEY);
    if (pass && pass.status === "unused") holdWakeLock();
    if (pass && pass.jkt && pass.status === "unused") drawCode(pass); // timers slept meanwhile
  });
  window.addEventListener("online", () => !view.pass.hidden && refreshStatus());

  renderInfo();
  infoLoaded = loadInfo();
  const link = location.hash.startsWith("#link=") ? location.hash.slice(6) : "";
  const pass = store.get(PASS_KEY);
  const pending = store.get(PENDING_KEY);
  if (link) {
    openLink(link);
  } else if (pass && !pending) {
    showPass(pass);
  } else {
    showBuy();
    if (pending) {
      infoLoaded.then(() => {
        sayPending(pending);
        checkPending();
        startPendingChecks();
      });
    }
  }
  refreshAll();
  if ("serviceWorker" in navigator) {
    // Keeps the page itself loadable offline; the passes are already in localStorage.
    navigator.serviceWorker.register("/sw.js?page=member").catch(() => {});
  }
}

start();
