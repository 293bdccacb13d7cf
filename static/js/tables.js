// Gives every cell its column's heading as data-label: on a phone the stylesheet (static/css/site.css)
// shows each table row as a card, every value beside its label. Cells spanning columns keep none.
(function () {
  "use strict";

  function label(table) {
    var labels = [];
    table.querySelectorAll("thead tr:first-child th").forEach(function (th) {
      for (var i = 0; i < th.colSpan; i += 1) labels.push(th.textContent.trim());
    });
    if (!labels.length) return;
    table.classList.add("labelled");
    table.querySelectorAll("tbody tr, tfoot tr").forEach(function (tr) {
      var column = 0;
      Array.prototype.forEach.call(tr.children, function (cell) {
        if (cell.colSpan === 1 && labels[column]) cell.setAttribute("data-label", labels[column]);
        column += cell.colSpan;
      });
    });
  }

  function labelAll() {
    document.querySelectorAll("table").forEach(label);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", labelAll);
  else labelAll();
})();
