// The field page's service worker: the page and its two files are kept on the phone, so a
// link opens where the network is poor or gone. Each is fetched fresh when the network
// answers and served from the cache when it does not. The API is never cached here: the page
// keeps the incident and queues the answers itself (field.js).

const CACHE = "firewatch-field-v1";
const SHELL = "/field/shell";
const FILES = ["/field/static/field.js", "/field/static/style.css"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

// Network first; what answered is kept, under one key for every link's page (they are one).
async function fresh(request, key) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (event.request.mode === "navigate" && /^\/field\/[^/]+$/.test(url.pathname)) {
    event.respondWith(fresh(event.request, SHELL));
  } else if (url.pathname.startsWith("/field/static/")) {
    event.respondWith(fresh(event.request, url.pathname));
  }
});
