// Starts Swagger UI (served by payport from the swagger-ui-py package) on this origin's /openapi.json.
// Loaded as a file of our own, so the page's CSP allows no inline script at all.
"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  validatorUrl: null,          // never ask the public validator (no request leaves this origin)
  deepLinking: true,
  docExpansion: "list",        // every operation listed, each folded
  filter: true,
  displayRequestDuration: true,
  defaultModelsExpandDepth: 0,
  persistAuthorization: false, // the token lives in this tab's memory only
  withCredentials: false,      // the API takes a bearer token, never a cookie
});
