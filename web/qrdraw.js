// A QR drawn in the page (a bound pass's code changes every few seconds, so no server can
// draw it): ECC M like the server's PNG, black on white with the 4-module quiet zone, in the
// smallest symbol: digit runs (the proof's timestamp) and upper-case runs of the base64url
// text go in the denser numeric and alphanumeric modes, chosen by a shortest-path search.
import qrcode from "/vendor/qrcode.js";

const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const MODES = ["Numeric", "Alphanumeric", "Byte"];
// Costs in sixths of a bit. Segment headers: 4 mode bits plus the character count, sized for
// versions 10-26 (where a pass lands); character costs: 10 bits per 3 digits, 11 per 2
// alphanumerics, 8 per byte.
const HEADER = [16 * 6, 15 * 6, 20 * 6];
const PER_CHARACTER = [20, 33, 48];
const BORDER = 4;
const MODULE_PX = 8;

const fits = (mode, character) =>
  mode === 2 || (mode === 0 ? character >= "0" && character <= "9" : ALPHANUMERIC.includes(character));

/** The text cut into [mode, run] segments of least total length (ASCII text). */
export function segments(text) {
  let costs = HEADER.slice();
  const chosen = []; // chosen[i][state]: the mode character i is written in
  for (const character of text) {
    const next = [Infinity, Infinity, Infinity];
    const modes = [null, null, null];
    for (let mode = 0; mode < 3; mode += 1) {
      if (fits(mode, character)) {
        next[mode] = costs[mode] + PER_CHARACTER[mode];
        modes[mode] = mode;
      }
    }
    for (let to = 0; to < 3; to += 1) {
      for (let from = 0; from < 3; from += 1) {
        if (modes[from] === null) continue;
        const switched = Math.ceil(next[from] / 6) * 6 + HEADER[to]; // a new segment after it
        if (switched < next[to]) {
          next[to] = switched;
          modes[to] = modes[from];
        }
      }
    }
    chosen.push(modes);
    costs = next;
  }
  let state = costs.indexOf(Math.min(...costs));
  const perCharacter = [];
  for (let at = chosen.length - 1; at >= 0; at -= 1) {
    state = chosen[at][state];
    perCharacter[at] = state;
  }
  const out = [];
  perCharacter.forEach((mode, at) => {
    const last = out[out.length - 1];
    if (last && last[0] === MODES[mode]) last[1] += text[at];
    else out.push([MODES[mode], text[at]]);
  });
  return out;
}

/** The symbol for `text`: {version, size (modules), dark(row, column)}. */
export function encode(text) {
  const code = qrcode(0, "M");
  for (const [mode, run] of segments(text)) code.addData(run, mode);
  code.make();
  const size = code.getModuleCount();
  return { version: (size - 17) / 4, size, dark: (row, column) => code.isDark(row, column) };
}

/** A PNG data: URL of `text`'s QR, MODULE_PX pixels a module, and the symbol's version. */
export function qrImage(text) {
  const symbol = encode(text);
  const side = (symbol.size + 2 * BORDER) * MODULE_PX;
  const canvas = document.createElement("canvas");
  canvas.width = side;
  canvas.height = side;
  const context = canvas.getContext("2d");
  context.fillStyle = "#fff"; // white and black whatever the colour scheme: scanners expect it
  context.fillRect(0, 0, side, side);
  context.fillStyle = "#000";
  for (let row = 0; row < symbol.size; row += 1) {
    for (let column = 0; column < symbol.size; column += 1) {
      if (symbol.dark(row, column)) {
        context.fillRect((column + BORDER) * MODULE_PX, (row + BORDER) * MODULE_PX, MODULE_PX, MODULE_PX);
      }
    }
  }
  return { url: canvas.toDataURL("image/png"), version: symbol.version };
}
