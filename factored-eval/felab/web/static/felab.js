// felab's own script (no inline scripts: the pages' Content-Security-Policy allows only files from this site).
// - live updates: one EventSource per room page; 'update' replaces the live part, 'move' reloads the page when
//   the move due for this participant changes (to show or drop its form);
// - experts: "Quote the selection" inserts <<begin-end>>, the selection's character offsets in the document;
// - judges: the two percentages follow each other so they add up to 100.
(function () {
  "use strict";
  function onReady(f) { if (document.readyState !== "loading") f(); else document.addEventListener("DOMContentLoaded", f); }
  onReady(function () {
    var live = document.getElementById("live");
    if (live && window.EventSource) {
      var src = new EventSource(live.dataset.events);
      src.addEventListener("move", function (e) {
        if (e.data !== live.dataset.move) { src.close(); window.location.reload(); }
      });
      src.addEventListener("update", function (e) {
        live.innerHTML = e.data;
        if (window.htmx) window.htmx.process(live);
      });
    }
    var doc = document.getElementById("document");
    var button = document.getElementById("insert-quote");
    var area = document.getElementById("speech-text");
    if (doc && button && area) {
      button.addEventListener("mousedown", function (e) { e.preventDefault(); });  // keep the selection
      button.addEventListener("click", function () {
        var sel = window.getSelection();
        if (!sel.rangeCount || sel.isCollapsed) return;
        var r = sel.getRangeAt(0);
        if (!doc.contains(r.startContainer) || !doc.contains(r.endContainer)) return;
        var before = document.createRange();
        before.selectNodeContents(doc);
        before.setEnd(r.startContainer, r.startOffset);
        var b = Array.from(before.toString()).length;       // code points, as Python counts
        var e = b + Array.from(r.toString()).length;
        var token = "<<" + b + "-" + e + ">>";
        var at = area.selectionStart || area.value.length;
        area.value = area.value.slice(0, at) + token + area.value.slice(at);
        area.dispatchEvent(new Event("input", { bubbles: true }));
        area.focus();
      });
    }
    var pa = document.getElementById("p_a"), pb = document.getElementById("p_b");
    if (pa && pb) {
      pa.addEventListener("input", function () { if (pa.value !== "") pb.value = String(Math.round((100 - Number(pa.value)) * 100) / 100); });
      pb.addEventListener("input", function () { if (pb.value !== "") pa.value = String(Math.round((100 - Number(pb.value)) * 100) / 100); });
    }
  });
})();
