// The gate scanner: camera (jsQR in a worker) and keyboard-wedge input → POST /verify, or an
// offline decision from the gate's own data when the server does not answer → a full-screen
// decision for two seconds, the last ten decisions, and an ONLINE/OFFLINE indicator.
import { clockTime, dateTime, say, store } from "/common.js";
import { fullScreenButton, keepAwake, primeAudio, signal } from "/scan/feedback.js";
import { GateLink, PROBE_EVERY_MS, SYNC_EVERY_MS } from "/scan/gatelink.js";
import { enroll, parseEnrollmentCode, checkSecret } from "/scan/enroll.js";
import { looksLikeToken } from "/scan/verify.js";
import { allowWords, denyGuidance } from "/scan/words.js";

const SETUP_KEY = "gymgate.scanner";
const HISTORY_KEY = "gymgate.scanner.history";
const DECISION_MS = 2000;
// A code seen again within this long of its last sighting is the same attempt held up.
const HOLD_MS = 3000;
const FRAME_EVERY_MS = 100;
const INDICATOR_EVERY_MS = 10_000;
// Keys typed with longer gaps than this are a person, not a wedge: start a new code.
const WEDGE_GAP_MS = 3000;

const $ = (id) => document.getElementById(id);
const view = {
  loading: $("loading"),
  setup: $("setup"),
  enrollForm: $("enroll-form"),
  enrollCode: $("enroll-code"),
  setupForm: $("setup-form"),
  gateName: $("gate-name"),
  gateSecret: $("gate-secret"),
  setupMessage: $("setup-message"),
  scanner: $("scanner"),
  gateLabel: $("gate-label"),
  connection: $("connection"),
  video: $("camera"),
  cameraStatus: $("camera-status"),
  manualForm: $("manual-form"),
  manual: $("manual"),
  history: $("history"),
  historyEmpty: $("history-empty"),
  changeGate: $("change-gate"),
  fullScreen: $("full-screen"),
  decision: $("decision"),
  verdict: $("verdict"),
  mark: $("decision-mark"),
  detail: $("decision-detail"),
};

let gate = null; // {name, secret}
let link = null; // GateLink of the gate
let decisionTimer = 0;
let syncTimer = 0;
let indicatorTimer = 0;

// ---- setup: an enrollment code, or a gate name and secret --------------------------------

function showSetup(message = "", tone = "error") {
  stopLink();
  view.loading.hidden = true;
  view.scanner.hidden = true;
  view.setup.hidden = false;
  view.gateLabel.textContent = "Gate scanner";
  say(view.setupMessage, message, tone);
  view.gateName.value = gate?.name || view.gateName.value;
  view.enrollCode.focus();
  startCamera();
}

function setupBusy(busy) {
  for (const form of [view.enrollForm, view.setupForm]) {
    for (const control of form.elements) control.disabled = busy;
  }
}

/** An enrollment code (pasted, typed by a wedge, or seen by the camera): exchange it. */
async function useEnrollmentCode(text) {
  if (looksLikeToken(text)) {
    say(view.setupMessage, "That is a member's pass, not an enrollment code. Scan the code the operator page shows for this gate.", "error");
    return;
  }
  const code = parseEnrollmentCode(text);
  if (!code) {
    say(view.setupMessage, "That is not an enrollment code. It starts with gymgate-gate: and comes from the operator page.", "error");
    return;
  }
  setupBusy(true);
  say(view.setupMessage, `Enrolling this scanner as ${code.name}…`, "info");
  try {
    const enrolled = await enroll(code);
    gate = enrolled;
    store.set(SETUP_KEY, gate); // the code is used up: keep the new secret whatever follows
    await begin();
  } catch (error) {
    say(view.setupMessage, error.message, "error");
  } finally {
    setupBusy(false);
  }
}

async function onEnroll(event) {
  event.preventDefault();
  const text = view.enrollCode.value.trim();
  view.enrollCode.value = "";
  if (!text) {
    say(view.setupMessage, "Paste or scan the enrollment code from the operator page.", "error");
    view.enrollCode.focus();
    return;
  }
  await useEnrollmentCode(text);
}

async function onSetup(event) {
  event.preventDefault();
  const name = view.gateName.value.trim();
  const secret = view.gateSecret.value.trim();
  view.gateSecret.value = "";
  if (parseEnrollmentCode(secret)) {
    await useEnrollmentCode(secret);
    return;
  }
  if (!name || !secret) {
    say(view.setupMessage, "Enter both the gate name and its secret.", "error");
    (name ? view.gateSecret : view.gateName).focus();
    return;
  }
  if (looksLikeToken(secret)) {
    // A wedge scanning a pass while the secret field had focus: never keep it as a secret.
    say(view.setupMessage, "That is a member's pass, not a gate secret. Enter the gate's secret.", "error");
    view.gateSecret.focus();
    return;
  }
  setupBusy(true);
  try {
    await checkSecret({ name, secret });
    gate = { name, secret };
    store.set(SETUP_KEY, gate);
    await begin();
  } catch (error) {
    say(view.setupMessage, error.message, "error");
    view.gateSecret.focus();
  } finally {
    setupBusy(false);
  }
}

/** Open the gate's offline store, sync once, then show the scanner. */
async function begin() {
  stopLink();
  link = new GateLink(gate, renderIndicator);
  await link.open();
  const synced = await syncNow();
  if (!synced && synced !== null) return; // the secret was refused: back at the setup
  showScanner();
  renderIndicator();
}

function showScanner() {
  view.loading.hidden = true;
  view.setup.hidden = true;
  view.scanner.hidden = false;
  view.gateLabel.textContent = `Gate: ${gate.name}`;
  held = { code: "", seenAt: 0 }; // a code seen during the setup is not a scan
  renderHistory();
  startCamera();
  clearInterval(indicatorTimer);
  indicatorTimer = setInterval(renderIndicator, INDICATOR_EVERY_MS);
  scheduleSync();
}

function stopLink() {
  clearTimeout(syncTimer);
  clearInterval(indicatorTimer);
  if (link) link.close();
  link = null;
}

// ---- keeping the offline data fresh --------------------------------------------------------

/** One sync round: true when done, null when the server was out of reach, false on a 401. */
async function syncNow() {
  if (!link) return null;
  try {
    await link.sync();
    return true;
  } catch (error) {
    if (error.status === 401) {
      refused();
      return false;
    }
    return null;
  }
}

let syncDueAt = 0;

function scheduleSync() {
  clearTimeout(syncTimer);
  if (!link) return;
  const wait = link.online ? SYNC_EVERY_MS : PROBE_EVERY_MS;
  syncDueAt = Date.now() + wait;
  syncTimer = setTimeout(async () => {
    await syncNow();
    scheduleSync();
  }, wait);
}

/** Offline: probe for the server within PROBE_EVERY_MS, without pushing a due probe back. */
function probeSoon() {
  if (link && !link.online && syncDueAt - Date.now() > PROBE_EVERY_MS) scheduleSync();
}

function refused() {
  store.remove(SETUP_KEY);
  showSetup("The server did not accept this gate's secret. Enter it again, or enrol with a new code.");
}

function ago(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return "just now";
  if (seconds < 3600) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} days ago`;
}

function renderIndicator() {
  if (!link || view.scanner.hidden) return;
  const age = link.dataAge();
  const data = age === null ? "never synced" : `data from ${dateTime(new Date(Date.now() - age).toISOString())} (${ago(age)})`;
  const waiting = link.pendingCount ? ` · ${link.pendingCount} offline decision${link.pendingCount === 1 ? "" : "s"} to upload` : "";
  const fresh = link.fresh();
  view.connection.dataset.link = link.online ? "online" : "offline";
  view.connection.dataset.fresh = fresh ? "yes" : "no";
  if (link.online) {
    say(view.connection, `ONLINE · ${data}${waiting}`, "ok");
  } else if (fresh) {
    say(view.connection, `OFFLINE · deciding on this device from ${data}${waiting}`, "warn");
  } else {
    say(view.connection, `OFFLINE · ${data}: passes cannot be checked until the server is back`, "error");
  }
}

// ---- checking a code ---------------------------------------------------------------------

let checking = 0; // answers awaited

async function check(token) {
  if (!link) return;
  checking += 1;
  try {
    const outcome = await link.check(token);
    if (outcome.kind === "unauthorized") {
      refused();
    } else if (outcome.kind === "unavailable") {
      unavailable(outcome.why);
    } else {
      show(outcome.answer, outcome.mode);
    }
    probeSoon();
  } finally {
    checking -= 1;
    renderIndicator();
  }
}

function show(answer, mode) {
  if (answer.status === "allow") {
    decide("allow", "ALLOW", allowWords(answer), mode);
  } else {
    decide("deny", "DENY", denyGuidance(answer), mode);
  }
}

function unavailable(why) {
  const age = link.dataAge();
  const detail = {
    busy: "The server is busy. Scan again.",
    server: "The server couldn't check this pass. Scan again.",
    stale: age === null
      ? "Cannot decide offline: this gate has never synced. Scan again when the server is back."
      : `Cannot decide offline: this gate's data is from ${ago(age)}. Scan again when the server is back.`,
  }[why];
  const summary = why === "stale" ? "Not checked: cannot decide offline" : "Not checked: scan again";
  decide("unavailable", "NOT CHECKED", detail, "online", summary);
}

/** Fill the screen with a decision for two seconds and add it to the history. */
function decide(result, verdict, detail, mode = "online", summary = detail) {
  view.decision.className = `decision ${result}`;
  view.decision.dataset.result = result;
  view.decision.dataset.mode = mode;
  view.verdict.textContent = verdict;
  view.mark.hidden = mode !== "offline";
  view.detail.textContent = detail;
  view.decision.hidden = false;
  signal(result);
  clearTimeout(decisionTimer);
  decisionTimer = setTimeout(() => (view.decision.hidden = true), DECISION_MS);
  const entry = { at: new Date().toISOString(), result, verdict, detail: summary, mode };
  const entries = [entry, ...loadHistory()];
  store.set(HISTORY_KEY, entries.slice(0, 10));
  renderHistory();
}

function loadHistory() {
  const entries = store.get(HISTORY_KEY);
  return Array.isArray(entries) ? entries : [];
}

function renderHistory() {
  const entries = loadHistory();
  view.history.replaceChildren(
    ...entries.map((entry) => {
      const item = document.createElement("li");
      item.dataset.result = entry.result;
      const badge = document.createElement("span");
      badge.className = `badge ${entry.result}`;
      badge.textContent = entry.verdict;
      const when = document.createElement("time");
      when.dateTime = entry.at;
      when.textContent = clockTime(entry.at);
      const what = document.createElement("span");
      what.textContent = entry.detail;
      item.append(badge, when, what);
      return item;
    }),
  );
  view.historyEmpty.hidden = entries.length > 0;
}

// ---- keyboard wedge: characters then Enter, anywhere on the page -------------------------

let typed = "";
let typedAt = 0;

function onKey(event) {
  if (event.key === "Escape") view.decision.hidden = true;
  if (view.scanner.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement) return;
  const now = performance.now();
  if (now - typedAt > WEDGE_GAP_MS) typed = "";
  typedAt = now;
  if (event.key === "Enter") {
    const code = typed.trim();
    typed = "";
    if (code) {
      event.preventDefault(); // the code's Enter must not also press a focused button
      check(code);
    }
  } else if (event.key.length === 1) {
    typed += event.key;
    if (event.key === " ") event.preventDefault();
  }
}

function onManual(event) {
  event.preventDefault();
  const code = view.manual.value.trim();
  view.manual.value = "";
  if (code) check(code);
}

// ---- camera: frames to the jsQR worker, one attempt per code held up ----------------------

let stream = null;
let worker = null;
let frameTimer = 0;
let held = { code: "", seenAt: 0 };
let decodedFrames = 0;
const canvas = document.createElement("canvas");
const context2d = canvas.getContext("2d", { willReadFrequently: true });

function cameraSays(text) {
  view.cameraStatus.textContent = text;
}

function cameraOff() {
  view.video.hidden = true;
  view.video.parentElement.classList.add("off");
}

function cameraProblem(error) {
  if (error && error.name === "NotAllowedError") {
    return "The camera is blocked for this page. Allow it in the browser, or use the USB scanner.";
  }
  if (error && (error.name === "NotFoundError" || error.name === "OverconstrainedError")) {
    return "No camera found. Use the USB scanner or type the code.";
  }
  return "The camera could not start. Use the USB scanner or type the code.";
}

async function startCamera() {
  if (stream) return;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    cameraOff();
    cameraSays("The camera needs a secure page (https or localhost). The USB scanner still works.");
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
  } catch (error) {
    cameraOff();
    cameraSays(cameraProblem(error));
    return;
  }
  view.video.hidden = false;
  view.video.parentElement.classList.remove("off");
  view.video.srcObject = stream;
  await view.video.play().catch(() => {});
  worker = new Worker("/scan/decoder.js");
  worker.onmessage = (event) => {
    if (event.data) onCameraCode(event.data);
    frameTimer = setTimeout(grabFrame, FRAME_EVERY_MS);
  };
  worker.onerror = () => {
    cameraSays("The QR decoder did not load (run `make web-assets`). The USB scanner still works.");
  };
  cameraSays("Camera on: hold a pass up to it.");
  grabFrame();
}

function grabFrame() {
  const { videoWidth: w, videoHeight: h } = view.video;
  if (!worker) return;
  if (!w || !h || view.video.readyState < 2) {
    frameTimer = setTimeout(grabFrame, FRAME_EVERY_MS);
    return;
  }
  const scale = Math.min(1, 800 / Math.max(w, h));
  canvas.width = Math.round(w * scale);
  canvas.height = Math.round(h * scale);
  context2d.drawImage(view.video, 0, 0, canvas.width, canvas.height);
  const frame = context2d.getImageData(0, 0, canvas.width, canvas.height);
  worker.postMessage(
    { pixels: frame.data.buffer, width: frame.width, height: frame.height },
    [frame.data.buffer],
  );
}

// A bound pass's code changes every 10 s (token~ts~sig): the pass held up is its token.
const heldPass = (code) => code.split("~")[0];

function onCameraCode(code) {
  decodedFrames += 1;
  document.body.dataset.decodedFrames = String(decodedFrames);
  const now = performance.now();
  if (heldPass(code) === held.code && now - held.seenAt < HOLD_MS) {
    held.seenAt = now; // still the same pass in front of the camera: not a new attempt
    return;
  }
  if (checking > 0) return; // seen again on a later frame, once the answer is in
  held = { code: heldPass(code), seenAt: now };
  if (!view.setup.hidden) useEnrollmentCode(code);
  else check(code);
}

function stopCamera() {
  clearTimeout(frameTimer);
  if (worker) worker.terminate();
  worker = null;
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
}

// ---- start -------------------------------------------------------------------------------

function start() {
  view.enrollForm.addEventListener("submit", onEnroll);
  view.setupForm.addEventListener("submit", onSetup);
  view.manualForm.addEventListener("submit", onManual);
  view.changeGate.addEventListener("click", () => {
    store.remove(SETUP_KEY);
    showSetup();
  });
  view.decision.addEventListener("click", () => (view.decision.hidden = true));
  document.addEventListener("keydown", onKey);
  primeAudio();
  keepAwake();
  fullScreenButton(view.fullScreen);
  window.addEventListener("offline", () => link && link.setOnline(false));
  window.addEventListener("online", async () => {
    await syncNow();
    scheduleSync();
  });
  const saved = store.get(SETUP_KEY);
  gate = saved && saved.name && saved.secret && !looksLikeToken(saved.secret) ? saved : null;
  if (gate) begin();
  else showSetup();
  if ("serviceWorker" in navigator) {
    // Keeps the page loadable through an outage: a reload then still decides offline.
    navigator.serviceWorker.register("/sw.js?page=scan", { scope: "/scan" }).catch(() => {});
  }
}

start();
