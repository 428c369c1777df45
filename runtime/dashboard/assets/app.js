// The dashboard's only script. It refreshes the element marked
// data-refresh with the server's rendering of it every few seconds, without
// reloading the page; the server escapes everything it renders.
(function () {
  "use strict";
  var box = document.querySelector("[data-refresh]");
  if (!box) return;
  var every = parseInt(box.getAttribute("data-refresh"), 10) || 5000;
  function refresh() {
    var url = new URL(window.location.href);
    url.searchParams.set("partial", "1");
    fetch(url.toString(), { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.querySelector("[data-refresh]");
        if (fresh) {
          box.replaceChildren.apply(box, Array.prototype.slice.call(fresh.childNodes).map(function (n) { return document.importNode(n, true); }));
          box.setAttribute("data-refreshed", String(Date.now()));
        }
      })
      .catch(function () { /* keep the last view; try again */ })
      .finally(function () { setTimeout(refresh, every); });
  }
  setTimeout(refresh, every);
})();
