// QR decoding off the page's main thread: frames in, the QR's text (or null) out.
// jsQR comes from the npm registry, copied to /vendor by `make web-assets`.
importScripts("/vendor/jsQR.js");

self.onmessage = (event) => {
  const { pixels, width, height } = event.data;
  const found = self.jsQR(new Uint8ClampedArray(pixels), width, height, {
    inversionAttempts: "attemptBoth", // a phone in dark mode may show light-on-dark
  });
  self.postMessage(found ? found.data : null);
};
