// Live character count beside inputs carrying data-counter="<limit>" (the risk title): the person sees the
// limit coming instead of a title cut mid-word. The server checks the limit anyway (riskreg/risks/forms.py).
(function () {
  "use strict";
  document.querySelectorAll("input[data-counter]").forEach(function (input) {
    var limit = parseInt(input.getAttribute("data-counter"), 10);
    var count = document.createElement("p");
    count.className = "hint char-count";
    count.id = input.id + "-count";
    count.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", count);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + count.id);
    function update() {
      var used = input.value.length;
      count.textContent = used + " of " + limit + " characters" + (used > limit ? " — too long by " + (used - limit) : "");
      count.classList.toggle("error-message", used > limit);
    }
    input.addEventListener("input", update);
    update();
  });
})();
