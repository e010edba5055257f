// The API page: Swagger UI (served from this site, never a CDN) over /api/openapi.json.
(function () {
  var holder = document.getElementById("api-viewer");
  window.SwaggerUIBundle({
    url: holder.getAttribute("data-spec"),
    domNode: holder,
    deepLinking: true,
    docExpansion: "list",
    defaultModelsExpandDepth: 0,
    validatorUrl: null
  });
})();
