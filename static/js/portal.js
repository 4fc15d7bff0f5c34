// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  // "Select all" ticks the group's boxes here instead of a round trip.
  document.querySelectorAll("button.select-all").forEach(function (button) {
    button.addEventListener("click", function (event) {
      var group = button.closest("fieldset");
      if (!group) { return; }
      event.preventDefault();
      group.querySelectorAll('input[type="checkbox"]').forEach(function (box) { box.checked = true; });
    });
  });

  // Bring the error summary into view and focus, so it is read out first.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
