// The kiosk's look-up pads (no inline script: the CSP forbids it). The keys themselves type through
// static/js/kiosk.js ([data-keypad-for]); this shows the pads, keeps the touch screen's own keyboard
// away, and takes the visitor through two steps: the code, then the last four digits.
(function () {
  "use strict";
  var form = document.querySelector("[data-pad-steps]");
  if (!form) { return; }
  var code = form.querySelector('[data-pad-input="code"]');
  var last4 = form.querySelector('[data-pad-input="last4"]');
  var next = form.querySelector("[data-pad-next]");
  var prev = form.querySelector("[data-pad-prev]");
  var submit = form.querySelector("[data-pad-submit]");
  var steps = form.querySelectorAll("[data-pad-step]");
  var codeLength = code.maxLength > 0 ? code.maxLength : 6;

  // The pads type; read-only inputs keep the system keyboard from covering them. Without this script
  // the pads stay hidden and the inputs take typing as usual.
  [code, last4].forEach(function (input) {
    input.readOnly = true;
    input.setAttribute("inputmode", "none");
  });
  form.querySelectorAll("[data-pad]").forEach(function (part) { part.hidden = false; });

  function show(name) {
    steps.forEach(function (step) { step.hidden = step.getAttribute("data-pad-step") !== name; });
  }

  function update() {
    next.disabled = code.value.length !== codeLength;
    submit.disabled = last4.value.length !== 4;
  }

  code.addEventListener("input", update);
  last4.addEventListener("input", update);
  next.addEventListener("click", function () { show("last4"); });
  prev.addEventListener("click", function () { show("code"); });
  // The Enter key of a USB keyboard (a member of staff helping) must not send half the answer.
  form.addEventListener("submit", function (event) {
    if (last4.value.length === 4) { return; }
    event.preventDefault();
    event.stopPropagation();  // not a send: kiosk.js must not count it as the form's one submission
    show(code.value.length === codeLength ? "last4" : "code");
  });
  show("code");
  update();
})();
