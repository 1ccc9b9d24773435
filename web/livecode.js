// The code a bound pass shows: the pass plus a fresh proof by this phone's key, redrawn
// every 10 s. A gate accepts a proof up to the proof window (30 s by default) either side of
// its clock, so what is on screen always works and a screenshot stops working within a
// minute. Everything it needs is on the phone: the codes keep changing offline.
import { deviceKey, proofText } from "/binding.js";
import { qrImage } from "/qrdraw.js";

export const REDRAW_EVERY_MS = 10_000;

export class LiveCode {
  /** @param {HTMLImageElement} image  where the code is drawn */
  constructor(image) {
    this.image = image;
    this.timer = 0;
    this.showing = 0; // which show() is current: an older one's late drawing is dropped
  }

  /**
   * Start showing `pass` ({token, jkt, offsetMs}), a new code every `everyMs`. Resolves
   * true once the first code is drawn, false if this phone's key is not the one the pass is
   * bound to (nothing drawn).
   */
  async show(pass, everyMs = REDRAW_EVERY_MS) {
    this.stop();
    const showing = this.showing;
    const key = await deviceKey();
    if (showing !== this.showing) return true; // another pass was asked for meanwhile
    if (key.jkt !== pass.jkt) return false;
    const draw = async () => {
      const text = await proofText(key, pass.token, pass.offsetMs || 0);
      if (showing !== this.showing) return;
      const { url, version } = qrImage(text);
      this.image.src = url;
      this.image.dataset.qrVersion = String(version);
    };
    await draw();
    if (showing === this.showing) this.timer = setInterval(draw, everyMs);
    return true;
  }

  /** Stop redrawing (the pass is spent, or another pass is on show). */
  stop() {
    this.showing += 1;
    clearInterval(this.timer);
    this.timer = 0;
  }
}
