// Wallet buttons under the pass: "Add to Apple Wallet" downloads the signed .pkpass, "Save to
// Google Wallet" opens Google's save link. Each shows only when the server offers that wallet
// (/info `wallets`) and the pass can still open the gate.
import { api, say } from "/common.js";

const $ = (id) => document.getElementById(id);
const view = {
  box: $("wallets"),
  apple: $("apple-wallet"),
  google: $("google-wallet"),
  message: $("wallet-message"),
};
// Save links already made, by pass id: showing a pass again asks the server only once.
const googleLinks = new Map();
let shown = null; // the pass the buttons are for

/** Show the buttons the pass may use; `offered` is /info's `wallets`. */
export function renderWallets(pass, offered = []) {
  const usable = pass && pass.status === "unused" && pass.payment_id;
  const apple = Boolean(usable && offered.includes("apple"));
  const google = Boolean(usable && offered.includes("google"));
  if (!shown || !pass || shown.pass_id !== pass.pass_id) say(view.message, "");
  shown = pass;
  view.apple.hidden = !apple;
  view.google.hidden = true; // until its link is ready
  view.box.hidden = !apple && !google;
  if (google) prepareGoogle(pass);
}

async function prepareGoogle(pass) {
  let url = googleLinks.get(pass.pass_id);
  if (!url) {
    try {
      ({ url } = await api("/passes/wallet/google", { method: "POST", body: { payment_id: pass.payment_id } }));
    } catch {
      return; // offline or refused: the QR on the page still works; no button
    }
    googleLinks.set(pass.pass_id, url);
  }
  if (!shown || shown.pass_id !== pass.pass_id || shown.status !== "unused") return;
  view.google.href = url;
  view.google.hidden = false;
}

async function addToAppleWallet() {
  const pass = shown;
  if (!pass) return;
  view.apple.disabled = true;
  say(view.message, "");
  try {
    const file = await api("/passes/wallet/apple", {
      method: "POST",
      body: { payment_id: pass.payment_id },
      blob: true,
    });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(file);
    link.download = "day-pass.pkpass";
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  } catch (error) {
    const words = error.kind === "client" ? error.message : "We couldn't make the Wallet pass right now. Your QR code above still works.";
    say(view.message, words, "error");
  } finally {
    view.apple.disabled = false;
  }
}

view.apple.addEventListener("click", addToAppleWallet);
