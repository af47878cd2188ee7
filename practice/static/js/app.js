// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // Ask before a destructive action (forms marked data-confirm).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // Sign-up: preselect the browser's own time zone when the field is untouched.
  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("time_zone");
    if (location.pathname !== "/signup" || !select || select.value !== "UTC" || !window.Intl) return;
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && select.querySelector('option[value="' + zone + '"]')) select.value = zone;
  });
})();
