// The task force decision form: highlight what the chosen decision will do, and show only the fields it reads.
// Progressive enhancement: without this script every description and field is shown (the CSP forbids inline
// scripts, hence a file).
(function () {
  "use strict";
  var select = document.getElementById("decision");
  if (!select) {
    return;
  }
  function update() {
    var chosen = select.value;
    document.querySelectorAll("#decision-effects [data-decision]").forEach(function (node) {
      node.hidden = node.getAttribute("data-decision") !== chosen;
    });
    document.querySelectorAll("[data-for-decision]").forEach(function (node) {
      node.hidden = node.getAttribute("data-for-decision") !== chosen;
    });
  }
  select.addEventListener("change", update);
  update();
})();
