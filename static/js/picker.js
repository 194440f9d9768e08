// The segment picker (segments/picker/). Works by event delegation, so pickers swapped in by
// htmx need no set-up. Without this script the picker is a plain form: every mark is a checkbox
// and "Search" re-posts the form.
(function () {
  "use strict";

  function pickerOf(el) { return el.closest("[data-picker]"); }

  function ids(picker, mark) {
    var name = picker.getAttribute("data-picker-name") + "-" + mark;
    return Array.prototype.map.call(
      picker.querySelectorAll('input[type=checkbox][name="' + name + '"]:checked'),
      function (box) { return Number(box.value); }
    );
  }

  function refresh(picker) {
    var include = ids(picker, "include");
    var exclude = ids(picker, "exclude");
    picker.querySelectorAll("[data-picker-count]").forEach(function (el) {
      el.textContent = el.getAttribute("data-picker-count") === "include" ? include.length : exclude.length;
    });
    var selected = picker.querySelector("[data-picker-selected]");
    var none = picker.querySelector("[data-picker-none]");
    if (none && selected) none.hidden = selected.children.length > 0;
    picker.dispatchEvent(new CustomEvent("picker:change", {
      bubbles: true,
      detail: { name: picker.getAttribute("data-picker-name"), include: include, exclude: exclude }
    }));
  }

  // A pre-filled row (data-picker-base) says whether it is kept, moved to the other mark, or
  // removed for this form; a removed one is struck through and offers "Restore".
  function updateBaseRow(picker, row) {
    var base = row.getAttribute("data-picker-base");
    if (!base) return;
    var checked = row.querySelector("[data-picker-mark]:checked");
    var state = checked ? checked.getAttribute("data-picker-mark") : "";
    row.classList.toggle("picker-base", state === base);
    row.classList.toggle("picker-added", !!state && state !== base);
    row.classList.toggle("picker-removed", !state);
    var label = row.querySelector("[data-picker-base-label]");
    var text = !state ? "removed" : (state === base ? "base" : "added");
    if (label) label.textContent = picker.getAttribute("data-picker-label-" + text) || label.textContent;
    var restore = row.querySelector("[data-picker-restore]");
    if (restore) restore.hidden = !!state;
    var removedList = picker.querySelector("[data-picker-removed]");
    var section = picker.querySelector("[data-picker-removed-section]");
    if (section && removedList) section.hidden = removedList.children.length === 0;
  }

  // "Restore" puts a removed pre-filled segment back with its mark, without a round trip.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-picker-restore]");
    if (!button) return;
    var row = button.closest("[data-picker-row]");
    var box = row && row.querySelector('[data-picker-mark="' + button.getAttribute("data-picker-restore") + '"]');
    if (!box) return;
    event.preventDefault();
    box.checked = true;
    box.dispatchEvent(new Event("change", { bubbles: true }));
    box.focus();
  });

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!box.matches || !box.matches("[data-picker-mark]")) return;
    var picker = pickerOf(box);
    var row = box.closest("[data-picker-row]");
    if (!picker || !row) return;
    if (box.checked) {
      // Include and Exclude are exclusive: marking one clears the other.
      row.querySelectorAll("[data-picker-mark]").forEach(function (other) {
        if (other !== box) other.checked = false;
      });
      var selected = picker.querySelector("[data-picker-selected]");
      if (selected && !selected.contains(row)) {
        // Selected segments float to the top; drop a stale copy left there by an earlier un-mark.
        var id = row.getAttribute("data-segment-id");
        selected.querySelectorAll('[data-segment-id="' + id + '"]').forEach(function (old) { old.remove(); });
        // Keep the keyboard where the user was: on the same choice of the row that moves up
        // into this place in the results (or the moved row itself when it was the last one).
        var next = row.nextElementSibling || row.previousElementSibling;
        var mark = box.getAttribute("data-picker-mark");
        var nextBox = next && next.matches("[data-picker-row]") ?
          next.querySelector('[data-picker-mark="' + mark + '"]') : null;
        selected.appendChild(row);
        (nextBox || box).focus();
      }
    }
    updateBaseRow(picker, row);
    refresh(picker);
  });

  // Enter in the search box searches (htmx) instead of submitting the surrounding form.
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !input.matches || !input.matches("[data-picker-query]")) return;
    event.preventDefault();
    if (window.htmx) {
      window.htmx.trigger(input, "search");
    } else {
      var picker = pickerOf(input);
      var button = picker && picker.querySelector("[data-picker-search]");
      if (button && input.form) input.form.requestSubmit(button);
    }
  });

  // After "Show more", keep keyboard focus in the list (on the first new row), not on nothing.
  var pendingFocus = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.closest || !elt.closest(".picker-more")) return;
    var list = elt.closest(".picker-results");
    pendingFocus = { list: list, index: list.querySelectorAll("[data-picker-row]").length };
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!pendingFocus) return;
    var rows = pendingFocus.list.querySelectorAll("[data-picker-row]");
    var row = rows[pendingFocus.index];
    pendingFocus = null;
    if (row) row.querySelector("[data-picker-mark]").focus();
  });
})();
