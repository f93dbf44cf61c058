// legalaid's own script (no inline script anywhere: the CSP forbids it).
// A form is sent once: the submit button is disabled after the first press, so a double tap
// does not send it twice. The server still guards against replays; this only spares the user.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.submitted === "1") {
    event.preventDefault();
    return;
  }
  form.dataset.submitted = "1";
  // Re-enable when the page is shown again from the back/forward cache.
  window.addEventListener("pageshow", function () { form.dataset.submitted = ""; }, { once: true });
});

// A "Print" button on report pages (no inline handlers: the CSP forbids them).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
