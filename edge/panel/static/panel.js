// Time left on the room cards, counted down each second between server pushes.
// The server's clock (data-now on each live fragment) is the reference, not the device's.
(function () {
  "use strict";
  var offset = 0;

  function syncClock() {
    var el = document.querySelector("[data-now]");
    if (el) offset = parseFloat(el.getAttribute("data-now")) - Date.now() / 1000;
  }

  function left(seconds) {
    var total = Math.max(0, Math.floor(seconds));
    var minutes = Math.floor(total / 60), hours = Math.floor(minutes / 60);
    minutes = minutes % 60;
    return hours ? hours + "h " + (minutes < 10 ? "0" : "") + minutes + "m" : minutes + " min";
  }

  function ago(seconds) {
    return seconds < 60 ? "just now" : left(seconds) + " ago";
  }

  function tick() {
    var now = Date.now() / 1000 + offset;
    // How long customers' calls have waited, counted up between pushes.
    document.querySelectorAll("[data-since]").forEach(function (el) {
      el.textContent = ago(now - parseFloat(el.getAttribute("data-since")));
    });
    document.querySelectorAll("[data-ends-at]").forEach(function (el) {
      el.textContent = left(parseFloat(el.getAttribute("data-ends-at")) - now);
    });
  }

  document.addEventListener("DOMContentLoaded", syncClock);
  document.addEventListener("htmx:afterSettle", syncClock);
  document.addEventListener("htmx:sseMessage", function () { syncClock(); tick(); });
  setInterval(tick, 1000);
})();
