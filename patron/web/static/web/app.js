/* Patron web UI behaviour. Loaded as a static file (CSP: script-src 'self').
   Everything works without it; this only adds keyboard shortcuts and feedback. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  var toastTimer = null;
  function toast(message) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { box.hidden = true; }, 5000);
  }

  document.addEventListener("keydown", function (event) {
    // "/" focuses the page's search box.
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey &&
        !isTyping(document.activeElement)) {
      var search = document.querySelector("[data-search-shortcut]");
      if (search) {
        event.preventDefault();
        search.focus();
        search.select();
      } else if (document.body.dataset.searchUrl) {
        // No search box here: go to the contact search.
        event.preventDefault();
        window.location.assign(document.body.dataset.searchUrl + "#search");
      }
      return;
    }
    // Escape leaves the search box, or closes an open menu.
    if (event.key === "Escape") {
      var active = document.activeElement;
      if (active && active.hasAttribute("data-search-shortcut")) {
        active.blur();
      }
      document.querySelectorAll("details.menu[open]").forEach(function (menu) {
        menu.open = false;
        var summary = menu.querySelector("summary");
        if (summary) summary.focus();
      });
      return;
    }
    // Ctrl/Cmd+Enter submits a note.
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var target = event.target;
      if (target && target.hasAttribute && target.hasAttribute("data-submit-shortcut") && target.form) {
        event.preventDefault();
        target.form.requestSubmit();
      }
    }
  });

  document.addEventListener("click", function (event) {
    // Timeline filter: show one kind of item (CSS hides the others).
    var filter = event.target.closest("[data-timeline-filter]");
    if (filter) {
      var list = document.getElementById("timeline-items");
      var kind = filter.getAttribute("data-timeline-filter");
      if (list) {
        if (kind) { list.setAttribute("data-show", kind); } else { list.removeAttribute("data-show"); }
      }
      filter.parentElement.querySelectorAll("[data-timeline-filter]").forEach(function (b) {
        b.setAttribute("aria-pressed", b === filter ? "true" : "false");
      });
      return;
    }
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var flash = dismiss.closest(".flash");
      if (flash) flash.remove();
      return;
    }
    // Clicking outside an open menu closes it.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (window.location.hash === "#search") {
      var search = document.querySelector("[data-search-shortcut]");
      if (search) search.focus();
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail && event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 403) {
      toast("You don't have permission to do this.");
    } else if (status === 404) {
      toast("This record no longer exists or is not visible to you.");
    } else {
      toast("Something went wrong. Please try again.");
    }
  });

  document.addEventListener("htmx:sendError", function () {
    toast("Cannot reach the server. Check your connection and try again.");
  });
})();
