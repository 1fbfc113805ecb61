// Copy buttons for the calendar addresses. Without script the address field stays selectable
// (read-only) and the buttons stay hidden.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy"));
    if (!field || !navigator.clipboard) { return; }
    button.hidden = false;
    var label = button.querySelector(".kern-label");
    var original = label.textContent;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        label.textContent = document.documentElement.lang === "en" ? "Copied" : "Kopiert";
        setTimeout(function () { label.textContent = original; }, 2000);
      }, function () { field.select(); });
    });
  });
  document.querySelectorAll("[data-copy-source]").forEach(function (field) {
    field.addEventListener("focus", function () { field.select(); });
  });
})();
