/* Rapport console: "Copy the link" buttons (data-copy = the id of the input holding it).
   Loaded with src (the CSP allows no inline script). */
(function () {
  "use strict";
  function said(id, text) {
    var status = document.querySelector('[data-copied-for="' + id + '"]');
    if (status) { status.textContent = text; }
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) { return; }
    var id = button.getAttribute("data-copy");
    var input = document.getElementById(id);
    if (!input) { return; }
    input.focus();
    input.select();
    var copied = function () { said(id, "Copied."); };
    var fallback = function () {
      try {
        said(id, document.execCommand("copy") ? "Copied." : "Selected: press Ctrl+C to copy.");
      } catch (e) {
        said(id, "Selected: press Ctrl+C to copy.");
      }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(copied, fallback);
    } else {
      fallback();
    }
  });
}());
