// Service worker of the member page: network first, the last good copy when offline, so a
// phone that lost its signal in the gym lobby still opens its pass. Only the member page's
// own files are handled; API calls and the other pages go straight to the network.
const CACHE = "gymgate-member-v2";
const SHELL = [
  "/",
  "/common.css",
  "/member.css",
  "/common.js",
  "/member.js",
  "/wallet.js",
  "/binding.js",
  "/livecode.js",
  "/qrdraw.js",
];
// Loaded only where passes are bound to phones: a copy missing (no `make web-assets`) must
// not keep the rest of the page from working offline.
const OPTIONAL = ["/vendor/qrcode.js"];
const PAGE_FILES = [...SHELL, ...OPTIONAL];

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
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const key = url.pathname === "/index.html" ? "/" : url.pathname;
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
