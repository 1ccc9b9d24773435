// The pages' service worker: network first, the last good copy when offline. A phone that lost
// its signal in the gym lobby still opens its pass; a scanner reloaded during an outage still
// starts and decides from the gate's own data. Registered once per page, as
// `/sw.js?page=member` (scope `/`) and `/sw.js?page=scan` (scope `/scan`): each registration
// handles only its own page's files and cache; API calls go straight to the network.
const PAGES = {
  member: {
    files: [
      "/",
      "/common.css",
      "/member.css",
      "/common.js",
      "/member.js",
      "/wallet.js",
      "/binding.js",
      "/livecode.js",
      "/qrdraw.js",
    ],
    // Loaded only where passes are bound to phones: a copy missing (no `make web-assets`)
    // must not keep the rest of the page from working offline.
    optional: ["/vendor/qrcode.js"],
  },
  scan: {
    files: [
      "/scan",
      "/common.css",
      "/common.js",
      "/scan/scan.css",
      "/scan/scan.js",
      "/scan/decoder.js",
      "/scan/enroll.js",
      "/scan/feedback.js",
      "/scan/gatelink.js",
      "/scan/gatestate.js",
      "/scan/proof.js",
      "/scan/verify.js",
      "/scan/words.js",
      "/vendor/jsQR.js",
    ],
    optional: [],
  },
};
const PAGE = new URL(self.location.href).searchParams.get("page") === "scan" ? "scan" : "member";
const { files: SHELL, optional: OPTIONAL } = PAGES[PAGE];
const PAGE_FILES = [...SHELL, ...OPTIONAL];
const PREFIX = `gymgate-${PAGE}-`;
const CACHE = `${PREFIX}v3`;
// One key per file: "/index.html" is "/", "/scan/" and "/scan/index.html" are "/scan".
const ALIASES = { "/index.html": "/", "/scan/": "/scan", "/scan/index.html": "/scan" };

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) =>
        cache.addAll(SHELL).then(() => Promise.all(OPTIONAL.map((file) => cache.add(file).catch(() => {})))),
      )
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  const stale = (name) => name !== CACHE && name.startsWith(PREFIX); // never the other page's
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter(stale).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const key = ALIASES[url.pathname] || url.pathname;
  if (!PAGE_FILES.includes(key)) return;
  event.respondWith(
    fetch(event.request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(key, copy));
        }
        return response;
      })
      .catch(() => caches.match(key).then((hit) => hit || Response.error())),
  );
});
