// KB list: filter the entries as you type. Loads the search data (the app's
// /api/v1/kb or the static site's search.json) and ranks entries by how many of
// the query's words they contain, title words counting most. The app's search
// form also works without this script; the static site needs it.
(function () {
  "use strict";
  var form = document.getElementById("kb-search");
  var list = document.getElementById("kb-all");
  if (!form || !list) { return; }
  var box = document.getElementById("q");
  var status = document.getElementById("search-status");
  var server = document.getElementById("server-results");
  var records = {};
  form.hidden = false;

  var STOP = { "an": 1, "and": 1, "the": 1, "of": 1, "in": 1, "on": 1, "to": 1, "is": 1, "it": 1, "or": 1,
               "for": 1, "not": 1, "with": 1, "my": 1, "at": 1, "by": 1 };
  function words(s) {
    return s.toLowerCase().split(/[^a-z0-9_.]+/).filter(function (w) { return w.length > 1 && !STOP[w]; });
  }
  function score(rec, terms) {
    var title = (rec.title + " " + rec.id).toLowerCase();
    var body = (rec.summary + " " + (rec.labels || []).join(" ") + " " + (rec.text || "")).toLowerCase();
    var total = 0;
    for (var i = 0; i < terms.length; i++) {
      var t = terms[i];
      if (title.indexOf(t) >= 0) { total += 3; }
      else if (body.indexOf(t) >= 0) { total += 1; }
      else if (t.length > 4 && (title + " " + body).indexOf(t.slice(0, t.length - 1)) >= 0) { total += 0.5; }
    }
    return total;
  }
  function apply() {
    var terms = words(box.value);
    var items = Array.prototype.slice.call(list.children);
    if (!terms.length) {
      items.forEach(function (li) { li.hidden = false; });
      status.textContent = "";
      return;
    }
    if (server) { server.hidden = true; }
    var ranked = items.map(function (li) {
      var rec = records[li.getAttribute("data-id")] || { id: li.getAttribute("data-id"), title: li.textContent, summary: "" };
      return { li: li, s: score(rec, terms) };
    });
    ranked.sort(function (a, b) { return b.s - a.s; });
    // An entry must contain at least half of the words (a title word counts three times).
    var needed = Math.max(0.5, terms.length / 2);
    var shown = 0;
    ranked.forEach(function (r) {
      r.li.hidden = r.s < needed;
      if (!r.li.hidden) { shown++; }
      list.appendChild(r.li);
    });
    status.textContent = shown + (shown === 1 ? " entry matches." : " entries match.");
  }
  var url = form.getAttribute("data-index");
  if (url && window.fetch) {
    fetch(url, { headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { entries: [] }; })
      .then(function (data) {
        (data.entries || []).forEach(function (rec) { records[rec.id] = rec; });
        if (box.value && !server) { apply(); }
      })
      .catch(function () { /* the titles in the page still filter */ });
  }
  box.addEventListener("input", apply);
  form.addEventListener("submit", function (e) {
    // The static site has no server to ask; the app's server search is fuzzier, so let it answer.
    if (form.hasAttribute("data-static")) { e.preventDefault(); apply(); }
  });
})();
