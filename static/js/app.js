// Keyboard shortcuts for the analyst workspace, and focus on form errors.
// Served as a file (no inline script) so the Content Security Policy can forbid inline code.
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  function inField(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  function toggleShortcuts() {
    var dialog = byId("shortcuts");
    if (!dialog) { return; }
    if (dialog.open) { dialog.close(); } else { dialog.showModal(); }
  }

  function override() {
    var reason = byId("id_reason");
    var button = byId("override-button");
    if (!button) { return; }
    if (reason && !reason.value) {
      reason.focus();
      return;
    }
    button.click();
  }

  function press(id) {
    return function () { var b = byId(id); if (b) { b.click(); } };
  }

  // c and o on a sighted item, f and l on a blind one: each page has only its own buttons.
  var actions = {
    c: press("confirm-button"),
    o: override,
    f: press("fraud-button"),
    l: press("legit-button"),
    n: function () { var f = byId("next-form"); if (f) { f.requestSubmit(); } },
    r: function () { var f = byId("release-form"); if (f) { f.requestSubmit(); } },
    "?": toggleShortcuts,
  };

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (inField(event.target)) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    var action = actions[event.key];
    if (action) {
      event.preventDefault();
      action();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-shortcuts-toggle]").forEach(function (link) {
      link.addEventListener("click", function (event) { event.preventDefault(); toggleShortcuts(); });
    });
    // Put the keyboard where the problem is.
    if (byId("reason-error")) {
      byId("id_reason").focus();
    } else if (byId("form-errors")) {
      byId("form-errors").setAttribute("tabindex", "-1");
      byId("form-errors").focus();
    }
  });
})();
