// Segments tab: keeps the search form in step with the results region, and the bulk bar
// in step with the ticked rows. Everything still works as plain forms without this file.
(function () {
  "use strict";

  function region() {
    return document.getElementById("segment-results");
  }

  // After htmx swaps the results (sort link, Clear search, Back), show the same search in
  // the form, unless the user is typing in it right now.
  function syncSearchForm() {
    var results = region();
    var form = document.querySelector("form.segment-search");
    if (!results || !form) return;
    var q = form.querySelector("input[name=q]");
    var status = form.querySelector("select[name=status]");
    var order = form.querySelector("[data-order-input]");
    if (q && document.activeElement !== q && q.value.trim() !== results.dataset.q) {
      q.value = results.dataset.q || "";
    }
    if (status && results.dataset.status) status.value = results.dataset.status;
    if (order && results.dataset.order) order.value = results.dataset.order;
    updateBulkBar();
  }

  function updateBulkBar() {
    var results = region();
    if (!results) return;
    var bar = results.querySelector("[data-bulk-bar]");
    if (!bar) return;
    var boxes = results.querySelectorAll("input[type=checkbox][name=segment]");
    var ticked = results.querySelectorAll("input[type=checkbox][name=segment]:checked").length;
    var all = results.querySelector("[data-select-all-matching]");
    var label = bar.querySelector("[data-selected-count]");
    var checkAll = results.querySelector("[data-check-all=segment]");
    if (checkAll) checkAll.checked = boxes.length > 0 && ticked === boxes.length;
    if (all && all.checked) {
      label.textContent = "Every matching segment is selected.";
    } else if (ticked) {
      label.textContent = ticked + " selected on this page.";
    } else {
      label.textContent = "Tick segments to act on several at once.";
    }
    bar.classList.toggle("has-selection", ticked > 0 || (all && all.checked));
    results.querySelectorAll("tbody tr").forEach(function (row) {
      var box = row.querySelector("input[type=checkbox][name=segment]");
      row.classList.toggle("is-selected", !!(box && box.checked));
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target.closest || !target.closest("#segment-results")) return;
    if (target.matches("[data-select-all-matching]") && target.checked) {
      // "All N matching" includes this page: tick it so the choice is visible.
      region().querySelectorAll("input[type=checkbox][name=segment]").forEach(function (box) {
        box.checked = true;
      });
    }
    if (target.matches("input[name=segment]") && !target.checked) {
      var all = region().querySelector("[data-select-all-matching]");
      if (all) all.checked = false;
    }
    updateBulkBar();
  });

  document.addEventListener("htmx:afterSettle", syncSearchForm);
  document.addEventListener("htmx:historyRestore", syncSearchForm);
  document.addEventListener("DOMContentLoaded", updateBulkBar);
})();
