/* Rapport console charts: every element with data-chart-spec names a <script
   type="application/json"> holding a Vega-Lite spec built on the server; vega-embed draws it.
   Expressions run through vega-interpreter (ast: true), so the CSP needs no 'unsafe-eval'. */
(function () {
  "use strict";

  function draw(element) {
    var source = document.getElementById(element.getAttribute("data-chart-spec"));
    if (!source || element.getAttribute("data-chart-drawn")) return;
    element.setAttribute("data-chart-drawn", "1");
    var spec = JSON.parse(source.textContent);
    window
      .vegaEmbed(element, spec, {
        ast: true,
        expr: window.vegaInterpreter.expressionInterpreter,
        renderer: "svg",
        actions: false,
        defaultStyle: false,
      })
      .then(function () {
        // the element (role img) carries the chart's name and description, the table its
        // numbers: the drawing itself is hidden from assistive technology
        var svg = element.querySelector("svg");
        if (svg) svg.setAttribute("aria-hidden", "true");
        element.setAttribute("data-chart-ready", "1");
      })
      .catch(function (error) {
        element.setAttribute("data-chart-error", String(error && error.message));
        element.textContent = "This chart could not be drawn; the table beside it has its numbers.";
      });
  }

  function drawAll(root) {
    var found = root.querySelectorAll("[data-chart-spec]");
    for (var i = 0; i < found.length; i += 1) draw(found[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawAll(document); });
  } else {
    drawAll(document);
  }
  // htmx swaps (filters) bring new charts: draw them too
  document.addEventListener("htmx:afterSwap", function (event) { drawAll(event.target); });
  document.addEventListener("htmx:after:swap", function (event) { drawAll(event.target || document); });
})();
