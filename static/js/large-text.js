// "大字" (large text) on the phone pages, for older eyes: a class on <html> that enlarges text and
// controls and raises contrast (static/css/app.css), remembered on this device. Loaded in <head>
// without defer, so a page opens already large and never jumps (no inline script: the CSP forbids it).
(function () {
  "use strict";
  var KEY = "legalaid.largeText";
  var CLASS = "large-text";
  var root = document.documentElement;

  function remembered() {
    try { return window.localStorage.getItem(KEY) === "1"; } catch (e) { return false; }
  }

  function remember(on) {
    try {
      if (on) { window.localStorage.setItem(KEY, "1"); } else { window.localStorage.removeItem(KEY); }
    } catch (e) { /* storage refused (a private window): the choice lasts for this page only */ }
  }

  function show(on) {
    root.classList.toggle(CLASS, on);
    document.querySelectorAll("[data-large-text]").forEach(function (button) {
      button.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  root.classList.toggle(CLASS, remembered());
  document.addEventListener("DOMContentLoaded", function () {
    show(root.classList.contains(CLASS));
    document.querySelectorAll("[data-large-text]").forEach(function (button) {
      button.addEventListener("click", function () {
        var on = !root.classList.contains(CLASS);
        remember(on);
        show(on);
      });
    });
  });
  // Back to a page kept in the back/forward cache: show the choice made since on another page.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { show(remembered()); } });
})();
