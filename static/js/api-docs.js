// The API reference (/api/v1/docs): Swagger UI, vendored, reading the document from this site.
// No call leaves the site (no validator badge), and "Try it out" is off: a key is never typed
// into a browser page.
(function () {
  var root = document.getElementById("swagger-ui");
  if (!root || typeof window.SwaggerUIBundle !== "function") {
    return;
  }
  window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    validatorUrl: null,
    supportedSubmitMethods: [],
    deepLinking: true,
  });
})();
