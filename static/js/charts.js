// Draws every chart of a page from the figure its <div data-figure> carries (apps/showback/charts.py),
// so the pages run no inline script.
(function () {
  "use strict";
  var config = { displayModeBar: false, responsive: true };

  function draw() {
    if (!window.Plotly) return;
    document.querySelectorAll("[data-figure]").forEach(function (el) {
      var figure = JSON.parse(el.getAttribute("data-figure"));
      Plotly.newPlot(el, figure.data, figure.layout, config).then(function () {
        // A bar whose trace carries meta.links (apps/showback/charts.py) opens the view it summarises.
        el.on("plotly_click", function (event) {
          var point = event.points[0];
          var links = point.data.meta && point.data.meta.links;
          var index = point.pointIndex !== undefined ? point.pointIndex : point.pointNumber;  // pies number their slices
          if (links && links[index]) window.location.href = links[index];
        });
      });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
  // Charts are drawn as the page streams in; size them again once the layout has settled.
  window.addEventListener("load", function () {
    if (window.Plotly) document.querySelectorAll(".js-plotly-plot").forEach(function (el) { Plotly.Plots.resize(el); });
  });
})();
