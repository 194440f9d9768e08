// Behaviour shared by every page. No inline handlers anywhere: the Content Security Policy
// forbids them, so pages opt in with data- attributes instead.
(function () {
  "use strict";

  function toast(text) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "alert");
    el.textContent = text;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, 8000);
  }
  window.accessAudience = { toast: toast };

  // Forms and buttons that need a second thought: <form data-confirm="Delete …?">.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // Plain forms: one click, one submission. The button is disabled after the first submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || form.hasAttribute("hx-post") || form.hasAttribute("hx-get")) return;
    if (form.method.toLowerCase() !== "post") return;
    if (form.dataset.submitted) { event.preventDefault(); return; }
    form.dataset.submitted = "1";
    form.querySelectorAll("button[type=submit], input[type=submit]").forEach(function (b) {
      b.setAttribute("aria-disabled", "true");
    });
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return;
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      delete form.dataset.submitted;
      form.querySelectorAll("[aria-disabled=true]").forEach(function (b) { b.removeAttribute("aria-disabled"); });
    });
  });

  document.addEventListener("click", function (event) {
    // Dismiss a message.
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var message = dismiss.closest(".message");
      if (message) message.remove();
    }
    // Close open menus when clicking elsewhere.
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // <input type="checkbox" data-check-all="segment"> toggles every checkbox named "segment".
  document.addEventListener("change", function (event) {
    var target = event.target;
    var name = target.getAttribute && target.getAttribute("data-check-all");
    if (name) {
      var scope = target.form || document;
      scope.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) {
        box.checked = target.checked;
        box.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }
    // <select data-autosubmit> submits its form when changed (filters without a button).
    if (target.hasAttribute && target.hasAttribute("data-autosubmit") && target.form) {
      target.form.requestSubmit();
    }
  });

  // A <select data-confirm-change="Question?"> that htmx sends on change asks first; "Cancel"
  // puts the choice back as it was. With data-confirm-if-picked it asks only when the form
  // has segments marked in its picker (nothing would be set aside otherwise).
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    var question = elt.getAttribute && elt.getAttribute("data-confirm-change");
    if (!question) return;
    var scope = elt.form || document;
    if (elt.hasAttribute("data-confirm-if-picked") && !scope.querySelector("[data-picker-mark]:checked")) return;
    event.preventDefault();
    if (window.confirm(question)) {
      event.detail.issueRequest(true);
    } else if (elt.tagName === "SELECT") {
      Array.prototype.forEach.call(elt.options, function (o) { o.selected = o.defaultSelected; });
    }
  });

  // --- Live searches and filters show what the URL says ---------------------------------
  // A GET form that pushes its query to the URL (hx-push-url on it or on one of its fields)
  // is set from the address after htmx restores a history entry and after Back / Forward:
  // htmx's history snapshot keeps the results but not what was typed in the boxes.
  function urlStateForms() {
    return Array.prototype.filter.call(document.querySelectorAll("form"), function (form) {
      if ((form.getAttribute("method") || "get").toLowerCase() !== "get") return false;
      return form.hasAttribute("hx-push-url") || !!form.querySelector("[hx-push-url]");
    });
  }

  function setFromUrl(field, params) {
    var name = field.name;
    var present = params.has(name);
    var value = present ? params.get(name) : (field.getAttribute("data-url-default") || "");
    if (field.type === "checkbox" || field.type === "radio") {
      field.checked = params.getAll(name).indexOf(field.value) !== -1;
    } else if (field.tagName === "SELECT") {
      var match = Array.prototype.find.call(field.options, function (o) { return o.value === value; });
      field.value = match ? value : (field.options.length ? field.options[0].value : "");
    } else {
      field.value = value;
    }
  }

  function syncFormsWithUrl() {
    var params = new URLSearchParams(window.location.search);
    urlStateForms().forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!field.name || field.type === "submit" || field.type === "button" || field.type === "file") return;
        setFromUrl(field, params);
      });
    });
  }
  document.addEventListener("htmx:historyRestore", syncFormsWithUrl);
  window.addEventListener("popstate", function () { setTimeout(syncFormsWithUrl, 0); });
  window.addEventListener("pageshow", syncFormsWithUrl);

  // htmx feedback: a failed request must never fail silently.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 403) {
      toast("You don't have permission to do that.");
    } else if (status === 404) {
      toast("That item no longer exists. Reload the page to see the current list.");
    } else if (status === 409) {
      toast("Someone changed this meanwhile. Reload the page and try again.");
    } else if (status === 503) {
      toast("The service is briefly unavailable and nothing was saved. Try again in a moment.");
    } else {
      toast("Something went wrong (error " + status + "). Reload the page and try again.");
    }
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Could not reach the server. Check your connection and try again.");
  });
  document.addEventListener("htmx:timeout", function () {
    toast("The server took too long to answer. Try again.");
  });
})();

// Reach (audience form): <button data-fill="#id_field" data-fill-value="123"> fills that field
// instead of submitting (without JavaScript the button submits and the server fills it).
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-fill]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-fill"));
    if (!field) return;
    event.preventDefault();
    field.value = button.getAttribute("data-fill-value");
    field.dispatchEvent(new Event("input", { bubbles: true }));
    field.focus();
  });
})();
