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

  // An error summary's link focuses its field and shows the field's label (a
  // group's question for its boxes) above it, not just the input at the top edge.
  document.querySelectorAll('.error-summary a[href^="#"]').forEach(function (link) {
    link.addEventListener("click", function (event) {
      var field = document.getElementById(link.getAttribute("href").slice(1));
      if (!field) { return; }
      event.preventDefault();
      var group = field.closest("fieldset");
      var label = document.querySelector('label[for="' + field.id + '"]');
      var box = field.type === "checkbox" || field.type === "radio";
      var shown = (box && group && group.querySelector("legend")) || label || field;
      shown.scrollIntoView({ block: "start" });
      field.focus({ preventScroll: true });
    });
  });

  // Bring the error summary, else what just happened (a saved page), into
  // focus, so it is read out first.
  var first = document.getElementById("error-summary") || document.getElementById("messages");
  if (first) { first.focus(); }
})();
