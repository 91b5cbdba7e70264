/* kmemsim report: inlined into every page by kmemsim.trace.report.
 * Sortable and filterable tables; chart hover read-outs and legend toggles.
 * No network, no library; all text from the data goes in with textContent. */
(function () {
  "use strict";

  function fmt(v, unit) {
    if (typeof v !== "number" || !isFinite(v)) return String(v);
    var s = Number.isInteger(v) ? v.toLocaleString("en-US")
      : Math.abs(v) < 10 ? v.toFixed(3) : v.toLocaleString("en-US", { maximumFractionDigits: 2 });
    return unit ? s + " " + unit : s;
  }

  /* ---------------------------------------------------------------- tables */
  function cellKey(td, numeric) {
    if (!td) return numeric ? -Infinity : "";
    if (numeric) {
      var v = parseFloat(td.getAttribute("data-v"));
      return isNaN(v) ? -Infinity : v;
    }
    return td.textContent.toLowerCase();
  }

  function sortBy(table, th) {
    var ths = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var col = ths.indexOf(th);
    var numeric = th.classList.contains("num");
    var asc = th.getAttribute("aria-sort") === "descending" ||
      (!th.hasAttribute("aria-sort") && !numeric);
    ths.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (r, i) { r._i = i; });
    rows.sort(function (a, b) {
      var ka = cellKey(a.cells[col], numeric), kb = cellKey(b.cells[col], numeric);
      var c = ka < kb ? -1 : ka > kb ? 1 : 0;
      return (asc ? c : -c) || a._i - b._i;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function initTable(box) {
    var table = box.querySelector("table.sortable");
    if (!table || !table.tHead) return;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.addEventListener("click", function () { sortBy(table, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th); }
      });
    });
    var input = box.querySelector("input.filter");
    var count = box.querySelector(".count");
    if (!input) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    function apply() {
      var q = input.value.trim().toLowerCase();
      var shown = 0;
      rows.forEach(function (r) {
        var hit = !q || r.textContent.toLowerCase().indexOf(q) >= 0;
        r.hidden = !hit;
        if (hit) shown++;
      });
      if (count) count.textContent = q ? shown + " of " + rows.length + " rows" : "";
    }
    input.addEventListener("input", apply);
    apply();
  }

  /* ---------------------------------------------------------------- charts */
  function nearest(xs, x) {
    var lo = 0, hi = xs.length - 1;
    if (hi < 0) return -1;
    while (hi - lo > 1) {
      var mid = (lo + hi) >> 1;
      if (xs[mid] < x) lo = mid; else hi = mid;
    }
    return Math.abs(xs[lo] - x) <= Math.abs(xs[hi] - x) ? lo : hi;
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function initChart(fig) {
    var holder = fig.querySelector("script.chart-data");
    var svg = fig.querySelector("svg");
    if (!holder || !svg) return;
    var d = JSON.parse(holder.textContent);
    var hidden = {};
    var tip = fig.querySelector(".tip");
    var cursor = svg.querySelector(".cursor");
    var hit = svg.querySelector(".hit");
    var box = d.box; /* left, top, width, height, viewBox width, viewBox height */

    fig.querySelectorAll("button.lg").forEach(function (b) {
      b.addEventListener("click", function () {
        var i = b.getAttribute("data-s");
        hidden[i] = !hidden[i];
        b.setAttribute("aria-pressed", hidden[i] ? "false" : "true");
        svg.querySelectorAll('[data-s="' + i + '"]').forEach(function (e) {
          e.classList.toggle("off", !!hidden[i]);
        });
      });
    });

    function show(evt) {
      if (!d.x.length) return;
      var pt = svg.createSVGPoint();
      pt.x = evt.clientX; pt.y = evt.clientY;
      var ctm = svg.getScreenCTM();
      if (!ctm) return;
      var p = pt.matrixTransform(ctm.inverse());
      var frac = Math.min(1, Math.max(0, (p.x - box[0]) / box[2]));
      var xv = d.dom[0] + frac * (d.dom[1] - d.dom[0]);
      var i = nearest(d.x, xv);
      var cx = box[0] + (d.x[i] - d.dom[0]) / (d.dom[1] - d.dom[0]) * box[2];
      cursor.setAttribute("x1", cx); cursor.setAttribute("x2", cx);
      cursor.setAttribute("visibility", "visible");
      while (tip.firstChild) tip.removeChild(tip.firstChild);
      tip.appendChild(el("div", "head", d.xl + ": " + Number(d.x[i].toPrecision(7)).toLocaleString("en-US",
        { maximumFractionDigits: 9 })));
      var rows = [];
      d.s.forEach(function (s, j) {
        if (!hidden[j]) rows.push([s, s.v[i]]);
      });
      rows.slice().reverse().forEach(function (sv) {
        var r = el("div", "row");
        var sw = el("i");
        sw.style.background = sv[0].c;
        r.appendChild(sw);
        r.appendChild(el("span", "nm", sv[0].n));
        r.appendChild(el("span", "val", fmt(sv[1], d.unit)));
        tip.appendChild(r);
      });
      tip.hidden = false;
      var plot = fig.querySelector(".plot").getBoundingClientRect();
      var left = evt.clientX - plot.left + 14;
      if (left + tip.offsetWidth > plot.width) left = evt.clientX - plot.left - tip.offsetWidth - 14;
      tip.style.left = Math.max(0, left) + "px";
      tip.style.top = Math.max(0, evt.clientY - plot.top - tip.offsetHeight / 2) + "px";
    }
    function hide() {
      tip.hidden = true;
      cursor.setAttribute("visibility", "hidden");
    }
    hit.addEventListener("mousemove", show);
    hit.addEventListener("mouseleave", hide);
    fig.setAttribute("data-ready", "1");
  }

  function init() {
    document.querySelectorAll(".tbl").forEach(initTable);
    document.querySelectorAll('figure.chart[data-chart="line"]').forEach(initChart);
    document.documentElement.setAttribute("data-report-ready", "1");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
