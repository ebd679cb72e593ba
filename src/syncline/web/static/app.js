/* Syncline UI: show <time datetime> elements in the viewer's timezone; UTC stays in the title. */
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
  });
  function localise(root) {
    var items = (root || document).querySelectorAll("time[datetime]:not([data-local])");
    for (var i = 0; i < items.length; i++) {
      var when = new Date(items[i].getAttribute("datetime"));
      if (!isNaN(when.getTime())) {
        items[i].textContent = format.format(when);
        items[i].setAttribute("data-local", "1");
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { localise(document); });
  document.addEventListener("htmx:afterSwap", function (event) { localise(event.target); });
})();

/* The mapping editor's "Remove" button takes its row out of the form. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-remove-row]") : null;
    if (!button) { return; }
    var row = button.closest(".mapping-row");
    if (row) { row.remove(); }
  });
})();
