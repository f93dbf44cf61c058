// The rating form (no inline script: the CSP forbids it). The reasons that go with the chosen level are
// shown (what went well, or what went wrong); the other group is hidden and its ticks cleared, so what
// is sent matches what is seen. Without this script both groups show and the server keeps the right ones.
(function () {
  "use strict";
  var form = document.getElementById("rate-form");
  if (!form) { return; }
  var groups = form.querySelectorAll("[data-reasons]");

  function show() {
    var chosen = form.querySelector("input[name=level]:checked");
    groups.forEach(function (group) {
      var wanted = chosen && group.getAttribute("data-reasons") === (chosen.getAttribute("data-poor") === "yes" ? "poor" : "good");
      group.hidden = !wanted;
      if (!wanted) {
        group.querySelectorAll("input[type=checkbox]").forEach(function (box) { box.checked = false; });
      }
    });
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "level") { show(); }
  });
  show();
})();
