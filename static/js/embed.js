// Iframe mode: tell the WordPress page that frames us how tall we are, so it
// can size the frame. Only the configured origins receive the message; the
// page works the same without this file.
(function () {
  "use strict";
  if (window.parent === window) { return; }
  // The WordPress page around us already shows the site's name and logo.
  document.documentElement.classList.add("in-frame");
  var meta = document.querySelector('meta[name="portal-frame-origins"]');
  var origins = meta ? meta.content.split(/\s+/).filter(Boolean) : [];
  if (!origins.length) { return; }
  var last = 0;
  var fresh = true;  // the first message of each page: the parent brings our top into view

  function post() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) { return; }
    last = height;
    var message = { type: "preference-portal:height", height: height, loaded: fresh };
    fresh = false;
    origins.forEach(function (origin) {
      // postMessage drops the message unless the parent really is at `origin`.
      window.parent.postMessage(message, origin);
    });
  }

  if (window.ResizeObserver) {
    new ResizeObserver(post).observe(document.documentElement);
  }
  window.addEventListener("load", post);
  post();
})();
