// Data → Upload: on the mapping step, show the fixed-value box only where "A fixed value…"
// is chosen (without JavaScript every box stays visible and works).
(function () {
  "use strict";

  function sync(root) {
    root.querySelectorAll("[data-static-for]").forEach(function (box) {
      var select = document.getElementById(box.getAttribute("data-static-for"));
      if (!select) return;
      var isStatic = select.value === "static";
      box.hidden = !isStatic;
      if (isStatic && document.activeElement === select) {
        var input = box.querySelector("input");
        if (input) input.focus();
      }
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("#mapping-form")) {
      sync(document);
    }
  });
  document.addEventListener("DOMContentLoaded", function () { sync(document); });
})();
