// Iframe mode: tell the WordPress page that frames us how tall we are, so it
// can size the frame. Only the configured origins receive the message; the
// page works the same without this file.
(function () {
  "use strict";
  if (window.parent === window) { return; }
  var meta = document.querySelector('meta[name="portal-frame-origins"]');
  var origins = meta ? meta.content.split(/\s+/).filter(Boolean) : [];
  if (!origins.length) { return; }
  var last = 0;

  function post() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) { return; }
    last = height;
    origins.forEach(function (origin) {
      // postMessage drops the message unless the parent really is at `origin`.
      window.parent.postMessage({ type: "preference-portal:height", height: height }, origin);
    });
  }

  if (window.ResizeObserver) {
    new ResizeObserver(post).observe(document.documentElement);
  }
  window.addEventListener("load", post);
  post();
})();
