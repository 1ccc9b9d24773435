// What the gate does besides the screen: a tone and a buzz per decision (Web Audio, so no
// sound files), a screen that stays awake (Wake Lock), and full screen on request.

const TONES = {
  // [frequency Hz, seconds] per beep, with a short gap between beeps
  allow: [[1320, 0.15]],
  deny: [[330, 0.18], [330, 0.18]],
  unavailable: [[660, 0.12]],
};
const BUZZ = { allow: [80], deny: [120, 80, 120], unavailable: [60] };
const GAP_S = 0.08;

let audio = null;

function audioContext() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  if (!audio) audio = new Context();
  if (audio.state === "suspended") audio.resume().catch(() => {});
  return audio;
}

/** Play the decision's tone and vibrate where the device can; silent failures only. */
export function signal(result) {
  const beeps = TONES[result] || TONES.unavailable;
  try {
    const context = audioContext();
    if (context) {
      let at = context.currentTime;
      for (const [frequency, seconds] of beeps) {
        const oscillator = context.createOscillator();
        const gain = context.createGain();
        oscillator.type = "sine";
        oscillator.frequency.value = frequency;
        gain.gain.setValueAtTime(0.25, at);
        gain.gain.exponentialRampToValueAtTime(0.001, at + seconds);
        oscillator.connect(gain).connect(context.destination);
        oscillator.start(at);
        oscillator.stop(at + seconds);
        at += seconds + GAP_S;
      }
    }
  } catch {
    // no audio on this device: the screen still says it
  }
  if (typeof navigator.vibrate === "function") navigator.vibrate(BUZZ[result] || BUZZ.unavailable);
}

/** Unlock audio on the first touch or key (browsers start it suspended). */
export function primeAudio() {
  const prime = () => audioContext();
  document.addEventListener("pointerdown", prime, { once: true });
  document.addEventListener("keydown", prime, { once: true });
}

let wakeLock = null;

async function requestWakeLock() {
  if (!navigator.wakeLock || document.visibilityState !== "visible") return;
  if (wakeLock && !wakeLock.released) return;
  try {
    wakeLock = await navigator.wakeLock.request("screen");
  } catch {
    wakeLock = null; // refused (battery saver, policy): the tablet may dim; nothing to do
  }
}

/** Keep the screen on while the page shows; the lock drops when hidden, so ask again. */
export function keepAwake() {
  requestWakeLock();
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") requestWakeLock();
  });
}

/** A button that toggles full screen; hidden where the browser cannot. */
export function fullScreenButton(button) {
  if (!document.fullscreenEnabled || !document.documentElement.requestFullscreen) {
    button.hidden = true;
    return;
  }
  const label = () => {
    button.textContent = document.fullscreenElement ? "Exit full screen" : "Full screen";
    button.setAttribute("aria-pressed", document.fullscreenElement ? "true" : "false");
  };
  button.addEventListener("click", async () => {
    try {
      if (document.fullscreenElement) await document.exitFullscreen();
      else await document.documentElement.requestFullscreen();
    } catch {
      // refused: stay as we are
    }
  });
  document.addEventListener("fullscreenchange", label);
  label();
  button.hidden = false;
}
