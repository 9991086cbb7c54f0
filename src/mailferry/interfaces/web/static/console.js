// mailferry console: live refresh, in plain JavaScript (no framework).
// An element with data-live="URL" is replaced by what URL returns, every
// data-live-every milliseconds (default 2000), while the element (as returned)
// still has data-live-active="1", and once more after it says "0" (counters written
// just after a status settles are shown too). The fragment comes from the same
// session (the cookie); a 401 sends the page to sign-in.
(function () {
  "use strict";
  function schedule(el, wasActive) {
    var active = el.getAttribute("data-live-active") === "1";
    if (!active && !wasActive) { return; }
    var every = parseInt(el.getAttribute("data-live-every") || "2000", 10);
    window.setTimeout(function () { refresh(el); }, active ? every : every / 2);
  }
  function refresh(el) {
    var url = el.getAttribute("data-live");
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch",
                                                          "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 401) { window.location.reload(); return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        var box = document.createElement("div");
        box.innerHTML = html;
        var fresh = box.firstElementChild;
        if (!fresh) { return; }
        var wasActive = el.getAttribute("data-live-active") === "1";
        el.replaceWith(fresh);
        schedule(fresh, wasActive);
      })
      .catch(function () {  // a hiccup: try again a little later
        window.setTimeout(function () { refresh(el); }, 5000);
      });
  }
  document.querySelectorAll("[data-live]").forEach(function (el) { schedule(el, false); });
})();
