// The kiosk and the phone booking pages (no inline script: the CSP forbids it).
(function () {
  "use strict";
  var body = document.body;

  // Print buttons.
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });

  // The on-screen number pad types into its input.
  document.querySelectorAll("[data-keypad-for]").forEach(function (pad) {
    var input = document.getElementById(pad.getAttribute("data-keypad-for"));
    if (!input) { return; }
    pad.addEventListener("click", function (event) {
      var key = event.target.getAttribute("data-key");
      if (!key) { return; }
      if (key === "clear") { input.value = ""; }
      else if (key === "back") { input.value = input.value.slice(0, -1); }
      else if (input.value.length < (input.maxLength > 0 ? input.maxLength : 11)) { input.value += key; }
      input.dispatchEvent(new Event("input"));
    });
  });

  // A form is sent once (a double tap does not send it twice; the server also guards).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.submitted === "1") { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    window.addEventListener("pageshow", function () { form.dataset.submitted = ""; }, { once: true });
  });

  // A page shown in answer to its own form (a step with its messages) turns its history entry into the
  // step's plain address: Back and reload then fetch it again instead of resubmitting the form.
  var historyUrl = body.getAttribute("data-history-url");
  if (historyUrl && window.history.replaceState) { window.history.replaceState(null, "", historyUrl); }

  // Personal data (the steps' answers, a ticket's code and QR) is never shown again from the
  // back/forward cache: the page empties itself as it is left, so a restored copy is blank until the
  // kiosk has started again (or, on a phone, the page has been fetched again). On the kiosk the whole
  // page goes: nothing of a visitor is left behind.
  var isKiosk = body.classList.contains("kiosk");
  var emptied = false;
  window.addEventListener("pagehide", function () {
    var parts = isKiosk ? document.querySelectorAll("main") : document.querySelectorAll("[data-private]");
    parts.forEach(function (part) { part.innerHTML = ""; emptied = true; });
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && emptied && !isKiosk) { window.location.reload(); }
  });

  // Idle reset (kiosk only): after the idle time a countdown appears, then the screen starts again.
  var idleSeconds = parseInt(body.getAttribute("data-idle-seconds") || "0", 10);
  var resetUrl = body.getAttribute("data-reset-url");
  if (!idleSeconds || !resetUrl) { return; }
  var overlay = document.getElementById("kiosk-idle");
  var countEl = document.getElementById("kiosk-idle-count");
  var countdownFrom = Math.min(10, Math.max(3, Math.round(idleSeconds / 6)));
  var idleTimer = null;
  var tick = null;

  function startOver() { window.location.replace(resetUrl); }

  function showCountdown() {
    var left = countdownFrom;
    countEl.textContent = String(left);
    overlay.hidden = false;
    tick = window.setInterval(function () {
      left -= 1;
      countEl.textContent = String(left);
      if (left <= 0) { window.clearInterval(tick); startOver(); }
    }, 1000);
  }

  function activity() {
    if (tick) { window.clearInterval(tick); tick = null; }
    overlay.hidden = true;
    if (idleTimer) { window.clearTimeout(idleTimer); }
    idleTimer = window.setTimeout(showCountdown, Math.max(1, idleSeconds - countdownFrom) * 1000);
  }

  ["pointerdown", "keydown", "touchstart", "input"].forEach(function (name) {
    document.addEventListener(name, activity, { passive: true });
  });
  document.getElementById("kiosk-stay").addEventListener("click", activity);
  // Shown again from the back/forward cache: never show an old page, start again.
  window.addEventListener("pageshow", function (event) { if (event.persisted) { startOver(); } });
  activity();
})();
