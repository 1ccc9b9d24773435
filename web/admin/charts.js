// The operator page's charts, drawn by uPlot (vendored from npm into /vendor/): entries per
// hour of a day, entries per day of a month, and denies by reason. Each chart has a sentence
// under it saying what it shows, for people who do not read charts (and for screen readers).
import uPlot from "/vendor/uPlot.esm.js";
import { REASON_WORDS } from "/common.js";

const HEIGHT = 220;
const ALLOW = "#0a6b2c";
const DENY = "#b01e17";
const INK = "#4a5260";
const GRID = "#e3e6eb";

const dayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric", month: "short" });
const charts = new Map(); // element id → { plot, key }

function axes(xValues) {
  const x = { stroke: INK, grid: { stroke: GRID } };
  if (xValues) Object.assign(x, xValues);
  return [x, { stroke: INK, grid: { stroke: GRID }, size: 40 }];
}

function bars(label, colour) {
  return {
    label,
    stroke: colour,
    fill: `${colour}99`,
    width: 1,
    paths: uPlot.paths.bars({ size: [0.7, 48] }),
    points: { show: false },
  };
}

function draw(element, key, options, data) {
  const known = charts.get(element.id);
  if (known && known.key === key) return; // same figures: leave the chart alone
  if (known) known.plot.destroy();
  const width = Math.max(240, element.clientWidth);
  const plot = new uPlot({ width, height: HEIGHT, legend: { show: false }, ...options }, data, element);
  charts.set(element.id, { plot, key });
  element.dataset.points = String(data[0].length);
}

function totals(buckets) {
  return buckets.reduce((sum, b) => ({ allow: sum.allow + b.allow, deny: sum.deny + b.deny }), {
    allow: 0,
    deny: 0,
  });
}

function busiest(buckets) {
  return buckets.reduce((best, b) => (b.allow > best.allow ? b : best), buckets[0]);
}

function timeSeries(element, buckets, span) {
  const data = [
    buckets.map((b) => Date.parse(b.start) / 1000),
    buckets.map((b) => b.allow),
    buckets.map((b) => b.deny),
  ];
  const x = span === "hour" ? { values: "{HH}:00" } : { values: "{D}" };
  draw(
    element,
    JSON.stringify(data),
    {
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(4, max)] } },
      axes: axes(x),
      series: [{}, bars("Entries", ALLOW), { label: "Denied", stroke: DENY, width: 2, points: { show: false } }],
    },
    data,
  );
}

/** Entries (bars) and denies (line) per hour of one day; the note names the busiest hour. */
export function drawHourly(element, note, buckets, dayWords) {
  timeSeries(element, buckets, "hour");
  const sum = totals(buckets);
  if (sum.allow === 0) {
    note.textContent = `No entries on ${dayWords} (${sum.deny} denied).`;
    return;
  }
  const top = busiest(buckets);
  const hour = new Date(top.start).getHours();
  note.textContent =
    `${sum.allow} entries and ${sum.deny} denied on ${dayWords}; ` +
    `busiest hour ${String(hour).padStart(2, "0")}:00 with ${top.allow}.`;
}

/** Entries (bars) and denies (line) per day of one month; the note names the busiest day. */
export function drawDaily(element, note, buckets, monthWords) {
  timeSeries(element, buckets, "day");
  const sum = totals(buckets);
  if (sum.allow === 0) {
    note.textContent = `No entries in ${monthWords} (${sum.deny} denied).`;
    return;
  }
  const top = busiest(buckets);
  note.textContent =
    `${sum.allow} entries and ${sum.deny} denied in ${monthWords}; ` +
    `busiest day ${dayFormat.format(new Date(top.start))} with ${top.allow}.`;
}

/** One bar per deny reason that happened, most frequent first. */
export function drawReasons(element, note, byReason) {
  const entries = Object.entries(byReason).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const labels = entries.map(([reason]) => reason.replace("_", " "));
  const data = [entries.map((_, i) => i), entries.map(([, count]) => count)];
  draw(
    element,
    JSON.stringify(entries),
    {
      scales: {
        x: { time: false, range: () => [-0.5, Math.max(1, entries.length) - 0.5] },
        y: { range: (u, min, max) => [0, Math.max(4, max)] },
      },
      axes: axes({ splits: () => data[0], values: (u, splits) => splits.map((i) => labels[i] ?? "") }),
      series: [{}, bars("Denied", DENY)],
    },
    data,
  );
  note.textContent = entries.length
    ? entries.map(([reason, count]) => `${REASON_WORDS[reason] || reason}: ${count}`).join(", ") + "."
    : "No denies on these dates.";
}

/** Keep every chart as wide as its box (phones turn, windows resize). */
export function followWidths() {
  const observer = new ResizeObserver((changes) => {
    for (const change of changes) {
      const known = charts.get(change.target.id);
      const width = Math.max(240, Math.floor(change.contentRect.width));
      if (known && Math.abs(known.plot.width - width) > 1) known.plot.setSize({ width, height: HEIGHT });
    }
  });
  for (const element of document.querySelectorAll(".plot")) observer.observe(element);
}
