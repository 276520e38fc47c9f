// authrelay dashboard: small progressive enhancements (every page works without them).
// Served as a file so the Content-Security-Policy needs no 'unsafe-inline'.
(function () {
  "use strict";

  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      button.addEventListener("click", function () {
        var input = document.getElementById(button.getAttribute("data-copy"));
        if (!input) { return; }
        var done = function () {
          button.textContent = "Copied";
          window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
        };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(input.value).then(done, function () {
            input.select(); document.execCommand("copy"); done();
          });
        } else {
          input.select(); document.execCommand("copy"); done();
        }
      });
    });
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
      });
    });
  }

  function lineStart(text, line) {
    var at = 0;
    for (var i = 1; i < line; i++) {
      var next = text.indexOf("\n", at);
      if (next < 0) { return text.length; }
      at = next + 1;
    }
    return at;
  }

  function editors() {
    document.querySelectorAll(".editor").forEach(function (editor) {
      var area = editor.querySelector("textarea");
      var gutter = editor.querySelector(".gutter");
      var marked = (editor.getAttribute("data-error-lines") || "").split(",").filter(Boolean);
      var draw = function () {
        var count = area.value.split("\n").length;
        gutter.textContent = "";
        for (var i = 1; i <= count; i++) {
          var bad = marked.indexOf(String(i)) >= 0;
          var number = document.createElement("span");
          number.textContent = (bad ? "● " + i : String(i)) + (i < count ? "\n" : "");
          if (bad) { number.className = "bad"; }
          gutter.appendChild(number);
        }
        gutter.scrollTop = area.scrollTop;
      };
      area.addEventListener("input", function () { marked = []; draw(); });
      area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
      area.addEventListener("keydown", function (event) {
        // Tab indents inside the editor; Escape then Tab leaves it (keyboard users).
        if (event.key === "Tab" && !event.shiftKey && !area.dataset.escaped) {
          event.preventDefault();
          var start = area.selectionStart;
          area.setRangeText("  ", start, area.selectionEnd, "end");
          draw();
        }
        area.dataset.escaped = event.key === "Escape" ? "1" : "";
      });
      editor.classList.add("enhanced");
      draw();
    });
    document.querySelectorAll("[data-goto-line]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var area = document.getElementById("definition");
        if (!area) { return; }
        event.preventDefault();
        var line = parseInt(link.getAttribute("data-goto-line"), 10);
        var start = lineStart(area.value, line);
        var end = area.value.indexOf("\n", start);
        area.focus();
        area.setSelectionRange(start, end < 0 ? area.value.length : end);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    copyButtons();
    confirmations();
    editors();
  });
})();
