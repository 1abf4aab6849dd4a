// Starts the bundled Swagger UI on /openapi.json (a file, not an inline script, for the CSP).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true });
});
