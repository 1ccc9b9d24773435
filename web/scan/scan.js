// The gate scanner: camera (jsQR in a worker) and keyboard-wedge input → POST /verify →
// a full-screen decision for two seconds, the last ten decisions, and a clear offline state.
import { api, clockTime, denyWords, say, shortId, store } from "/common.js";

const SETUP_KEY = "gymgate.scanner";
const HISTORY_KEY = "gymgate.scanner.history";
const DECISION_MS = 2000;
// A code seen again within this long of its last sighting is the same attempt held up.
const HOLD_MS = 3000;
const FRAME_EVERY_MS = 100;
const HEALTH_EVERY_MS = 5000;
// Keys typed with longer gaps than this are a person, not a wedge: start a new code.
const WEDGE_GAP_MS = 3000;

const $ = (id) => document.getElementById(id);
const view = {
  loading: $("loading"),
  setup: $("setup"),
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
  decision: $("decision"),
  verdict: $("verdict"),
  detail: $("decision-detail"),
};

let gate = null; // {name, secret}
let decisionTimer = 0;
let healthTimer = 0;

// ---- setup -------------------------------------------------------------------------------

function showSetup(message = "") {
  stopCamera();
  clearInterval(healthTimer);
  view.loading.hidden = true;
  view.scanner.hidden = true;
  view.setup.hidden = false;
  view.gateLabel.textContent = "Gate scanner";
  say(view.setupMessage, message, "error");
  view.gateName.value = gate?.name || view.gateName.value;
  (view.gateName.value ? view.gateSecret : view.gateName).focus();
}

function onSetup(event) {
  event.preventDefault();
  const name = view.gateName.value.trim();
  const secret = view.gateSecret.value.trim();
  if (!name || !secret) {
    say(view.setupMessage, "Enter both the gate name and its secret.", "error");
    (name ? view.gateSecret : view.gateName).focus();
    return;
  }
  gate = { name, secret };
  store.set(SETUP_KEY, gate);
  view.gateSecret.value = "";
  showScanner();
}

function showScanner() {
  view.loading.hidden = true;
  view.setup.hidden = true;
  view.scanner.hidden = false;
  view.gateLabel.textContent = `Gate: ${gate.name}`;
  renderHistory();
  startCamera();
  clearInterval(healthTimer);
  healthTimer = setInterval(checkHealth, HEALTH_EVERY_MS);
  checkHealth();
}

// ---- checking a code ---------------------------------------------------------------------

let checking = 0; // answers awaited

async function check(token) {
  checking += 1;
  try {
    const answer = await api("/verify", {
      method: "POST",
      body: { token, gate: gate.name },
      bearer: gate.secret,
      timeoutMs: 5000,
    });
    connected(true);
    if (answer.status === "allow") {
      decide("allow", "ALLOW", `Member ${shortId(answer.user_id)} · welcome in`);
    } else {
      decide("deny", "DENY", denyWords(answer));
    }
  } catch (error) {
    if (error.status === 401) {
      store.remove(SETUP_KEY);
      showSetup("The server did not accept this gate's secret. Enter it again.");
    } else if (error.kind === "client") {
      decide("deny", "DENY", "Not a gymgate pass");
    } else {
      if (error.kind === "offline") connected(false);
      const why = error.kind === "offline"
        ? "The server can't be reached, so this pass can't be checked."
        : "The server has a problem and couldn't check this pass.";
      const summary = error.kind === "offline"
        ? "Not checked: server unreachable"
        : "Not checked: server problem";
      decide("offline", "OFFLINE", `${why} Don't let them in yet; try again.`, summary);
    }
  } finally {
    checking -= 1;
  }
}

/** Fill the screen with a decision for two seconds and add it to the history. */
function decide(result, verdict, detail, summary = detail) {
  view.decision.className = `decision ${result}`;
  view.decision.dataset.result = result;
  view.verdict.textContent = verdict;
  view.detail.textContent = detail;
  view.decision.hidden = false;
  clearTimeout(decisionTimer);
  decisionTimer = setTimeout(() => (view.decision.hidden = true), DECISION_MS);
  const entry = { at: new Date().toISOString(), result, verdict, detail: summary };
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

// ---- the server's reachability -----------------------------------------------------------

function connected(ok) {
  say(
    view.connection,
    ok ? "" : "Offline: the gymgate server can't be reached. Passes can't be checked until it's back.",
    "error",
  );
}

async function checkHealth() {
  try {
    await api("/health", { timeoutMs: 3000 });
    connected(true);
  } catch {
    connected(false);
  }
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

function onCameraCode(code) {
  decodedFrames += 1;
  document.body.dataset.decodedFrames = String(decodedFrames);
  const now = performance.now();
  if (code === held.code && now - held.seenAt < HOLD_MS) {
    held.seenAt = now; // still the same pass in front of the camera: not a new attempt
    return;
  }
  if (checking > 0) return; // seen again on a later frame, once the answer is in
  held = { code, seenAt: now };
  check(code);
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
  view.setupForm.addEventListener("submit", onSetup);
  view.manualForm.addEventListener("submit", onManual);
  view.changeGate.addEventListener("click", () => {
    store.remove(SETUP_KEY);
    showSetup();
  });
  view.decision.addEventListener("click", () => (view.decision.hidden = true));
  document.addEventListener("keydown", onKey);
  window.addEventListener("offline", () => connected(false));
  window.addEventListener("online", checkHealth);
  const saved = store.get(SETUP_KEY);
  gate = saved && saved.name && saved.secret ? saved : null;
  if (gate) showScanner();
  else showSetup();
}

start();
