/* kmemsim explore: the views of a machine, drawn from a kmemsim-explore/1 snapshot (or a timeline of them).
   Inlined into every page and notebook output by kmemsim.explore.render; plain DOM, SVG and canvas; no network.
   Every string from the data goes in as text (textContent / createTextNode), never as HTML. */
window.KX = window.KX || (function () {
  "use strict";
  var SVGNS = "http://www.w3.org/2000/svg";
  var KIND_COLORS = {
    hole: "#ffffff", reserved: "#8d939b", free: "#5cb85c", pcp: "#a8dcc0", slab: "#3d7dd8",
    "kmalloc-large": "#e377c2", vmalloc: "#8e5bd0", pagetable: "#8c564b", pagecache: "#17becf",
    anon: "#d62728", allocated: "#f0a030", unaccounted: "#ffe000"
  };
  var KIND_LABELS = {
    hole: "hole (no RAM)", reserved: "reserved (memblock)", free: "free (buddy, by order)", pcp: "per-CPU lists",
    slab: "slab (by cache)", "kmalloc-large": "large kmalloc", vmalloc: "vmalloc", pagetable: "page tables",
    pagecache: "page cache", anon: "anonymous", allocated: "allocated (alloc_pages)", unaccounted: "unaccounted"
  };
  var SEG_COLORS = { redzone: "#e53935", object: "#3d7dd8", freeptr: "#ffb300", track: "#8e5bd0",
    orig_size: "#b39ddb", padding: "#cfd3d8", align: "#e0e3e7" };

  // ------------------------------------------------------------------ small helpers
  function h(tag, attrs) {
    var el = document.createElement(tag), i, k;
    for (k in attrs || {}) {
      if (k === "text") el.textContent = attrs[k];
      else if (k === "cls") el.className = attrs[k];
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== undefined) el.setAttribute(k, attrs[k]);
    }
    for (i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function add(el, c) {
    if (c === null || c === undefined || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { add(el, x); }); return; }
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
  function s(tag, attrs) {
    var el = document.createElementNS(SVGNS, tag), k, i;
    for (k in attrs || {}) {
      if (k === "text") el.textContent = attrs[k];
      else if (k === "cls") el.setAttribute("class", attrs[k]);
      else if (k.slice(0, 2) === "on") el.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== undefined) el.setAttribute(k, attrs[k]);
    }
    for (i = 2; i < arguments.length; i++) add(el, arguments[i]);
    return el;
  }
  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); return el; }
  function fmt(n) { return typeof n === "number" ? n.toLocaleString("en-US") : String(n); }
  function hex(n) { return "0x" + Number(n).toString(16); }
  function bytes(n) {
    var u = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"], i = 0, v = Number(n);
    while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
    return (v >= 100 || i === 0 ? Math.round(v) : Math.round(v * 10) / 10) + " " + u[i];
  }
  function big(x) { return BigInt(x); }
  function bigHex(b, width) { var t = b.toString(16); while (width && t.length < width) t = "0" + t; return "0x" + t; }
  function hue(i) { return "hsl(" + ((i * 137.508) % 360).toFixed(1) + ",62%,52%)"; }
  function cacheColor(name) { // by name, so that a cache has one colour in every view and display
    var x = 2166136261, i;
    name = String(name);
    for (i = 0; i < name.length; i++) { x ^= name.charCodeAt(i); x = Math.imul(x, 16777619) >>> 0; }
    return "hsl(" + (x % 360) + "," + (50 + (x >> 9) % 25) + "%," + (42 + (x >> 17) % 18) + "%)";
  }
  function freeColor(order, maxOrder) {
    var t = maxOrder ? order / maxOrder : 0;
    return "hsl(" + (115 - 25 * t).toFixed(0) + "," + (35 + 30 * t).toFixed(0) + "%," + (80 - 45 * t).toFixed(0) + "%)";
  }
  function kv(rows) {
    return h("table", { cls: "kv" }, rows.filter(Boolean).map(function (r) {
      return h("tr", null, h("td", { text: r[0] }), h("td", { cls: r[2] || null }, r[1]));
    }));
  }
  function bsearch(starts, v) { // index of the last start <= v
    var lo = 0, hi = starts.length - 1, mid;
    if (hi < 0 || starts[0] > v) return -1;
    while (lo < hi) { mid = (lo + hi + 1) >> 1; if (starts[mid] <= v) lo = mid; else hi = mid - 1; }
    return lo;
  }

  // ------------------------------------------------------------------ snapshots and timelines
  function rowsMap(flat, w) { var m = new Map(), i; for (i = 0; i < flat.length; i += w) m.set(flat[i], flat.slice(i, i + w)); return m; }
  function applyRows(flat, p, w) {
    var m = rowsMap(flat, w), i, keys, out = [];
    p.del.forEach(function (k) { m.delete(k); });
    for (i = 0; i < p.put.length; i += w) m.set(p.put[i], p.put.slice(i, i + w));
    keys = Array.from(m.keys()).sort(function (a, b) { return a - b; });
    keys.forEach(function (k) { var r = m.get(k); for (var j = 0; j < r.length; j++) out.push(r[j]); });
    return out;
  }
  function applyKeyed(list, p) {
    var m = new Map(list.map(function (x) { return [x.id, x]; }));
    p.del.forEach(function (k) { m.delete(k); });
    p.put.forEach(function (x) { m.set(x.id, x); });
    return p.order.map(function (k) { return m.get(k); });
  }
  function applyPatch(st, p) {
    var n = Object.assign({}, st);
    ["zones", "summary", "dmesg"].forEach(function (k) { if (k in p) n[k] = p[k]; });
    n.pages = Object.assign({}, st.pages);
    if (p.runs) n.pages.runs = applyRows(st.pages.runs, p.runs, 4);
    if (p.fields) {
      n.pages.fields = Object.assign({}, st.pages.fields);
      Object.keys(p.fields).forEach(function (f) { n.pages.fields[f] = applyRows(st.pages.fields[f] || [], p.fields[f], 3); });
    }
    if (p.caches) n.slab = Object.assign({}, st.slab, { caches: applyKeyed(st.slab.caches, p.caches) });
    if (p.areas || "page_tables" in p) {
      n.vmalloc = Object.assign({}, st.vmalloc);
      if (p.areas) n.vmalloc.areas = applyKeyed(st.vmalloc.areas, p.areas);
      if ("page_tables" in p) n.vmalloc.page_tables = p.page_tables;
    }
    return n;
  }
  function Source(data) {
    this.tl = data.timeline || null;
    this.names = (this.tl && this.tl.names) || data.names || {};
    this.cache = [];
    if (!this.tl) this.cache[0] = data;
  }
  Source.prototype.count = function () { return this.tl ? this.tl.samples.length : 1; };
  Source.prototype.at = function (i) {
    var j, st;
    if (this.cache[i]) return this.cache[i];
    for (j = i; j > 0 && !this.cache[j]; j--);
    st = this.cache[j] || this.tl.samples[0].state;
    this.cache[0] = this.cache[0] || this.tl.samples[0].state;
    for (j = j + 1; j <= i; j++) { st = applyPatch(st, this.tl.samples[j].patch); this.cache[j] = st; }
    return this.cache[i];
  };

  // index of a snapshot's page runs, for lookups by pfn
  function pageIndex(st) {
    if (st._idx) return st._idx;
    var r = st.pages.runs, starts = [], i, f, fi = {};
    for (i = 0; i < r.length; i += 4) starts.push(r[i]);
    Object.keys(st.pages.fields || {}).forEach(function (name) {
      var fl = st.pages.fields[name], ss = [];
      for (var j = 0; j < fl.length; j += 3) ss.push(fl[j]);
      fi[name] = ss;
    });
    f = { starts: starts, fields: fi, caches: new Map(), areas: new Map() };
    (st.slab.caches || []).forEach(function (c) { f.caches.set(c.id, c); });
    (st.vmalloc.areas || []).forEach(function (a) { f.areas.set(a.id, a); });
    Object.defineProperty(st, "_idx", { value: f, enumerable: false });
    return f;
  }
  function runAt(st, pfn) {
    var ix = pageIndex(st), i = bsearch(ix.starts, pfn), r = st.pages.runs;
    if (i < 0) return null;
    i *= 4;
    if (pfn >= r[i] + r[i + 1]) return null;
    return { start: r[i], len: r[i + 1], kind: st.pages.kinds[r[i + 2]], detail: r[i + 3] };
  }
  function fieldAt(st, name, pfn) {
    var ix = pageIndex(st), ss = ix.fields[name], fl = st.pages.fields[name], i;
    if (!ss) return null;
    i = bsearch(ss, pfn);
    if (i < 0 || pfn >= fl[i * 3] + fl[i * 3 + 1]) return null;
    return fl[i * 3 + 2];
  }
  function zoneOf(st, pfn) {
    for (var i = 0; i < st.zones.length; i++) {
      var z = st.zones[i];
      if (z.spanned && pfn >= z.start_pfn && pfn < z.start_pfn + z.spanned) return z;
    }
    return null;
  }
  function cacheName(ctx, st, id) {
    var c = pageIndex(st).caches.get(id);
    if (c) return c.name;
    var t = ctx.src.names.cache;
    return t && t[id] !== undefined ? t[id] : "cache #" + id;
  }
  function runColor(ctx, st, kind, detail) {
    if (kind === "free") return freeColor(detail & 15, st.machine.max_order);
    if (kind === "slab") return cacheColor(cacheName(ctx, st, detail));
    return KIND_COLORS[kind] || "#999";
  }
  function describeRun(ctx, st, r) {
    var mt, z;
    if (!r) return "no struct page";
    switch (r.kind) {
      case "free":
        z = zoneOf(st, r.start); mt = z ? z.migratetypes[r.detail >> 4] : r.detail >> 4;
        return "free block of order " + (r.detail & 15) + " (" + mt + "), head pfn " + hex(r.start);
      case "pcp": return "on cpu " + (r.detail & 255) + "'s per-CPU list (order " + (r.detail >> 8) + ")";
      case "slab": return "slab of " + cacheName(ctx, st, r.detail) + ", " + r.len + " page" + (r.len > 1 ? "s" : "") + " from pfn " + hex(r.start);
      case "kmalloc-large": return "large kmalloc, order " + r.detail + ", from pfn " + hex(r.start);
      case "vmalloc":
        var a = pageIndex(st).areas.get(r.detail);
        return "vmalloc area " + (a ? a.addr + " (" + (a.caller || "?") + ")" : "#" + r.detail);
      case "pagetable": return "kernel page table (level " + r.detail + " below the top)";
      case "allocated": return "allocated block of order " + r.detail + " (alloc_pages), head pfn " + hex(r.start);
      case "reserved":
        var nm = (st.pages.reserved || []).filter(function (x) { return r.start >= x[0] && r.start < x[1]; });
        return "reserved: " + (nm.length ? nm[0][2] : "memblock");
      case "hole": return "hole: no RAM here";
      default: return KIND_LABELS[r.kind] || r.kind;
    }
  }
  function flagNames(st, v) {
    if (typeof v !== "number") return String(v);
    var out = [];
    (st.pages.flag_names || []).forEach(function (f) { if (v & f[0]) out.push(f[1]); });
    return hex(v) + "(" + out.join("|") + ")";
  }
  function pageDetails(ctx, st, pfn) {
    var m = st.machine, r = runAt(st, pfn), z = zoneOf(st, pfn), rows = [], ps = m.page_size;
    var phys = big(pfn) * big(ps), virt = pfn < m.max_low_pfn ? big(m.page_offset) + phys : null;
    var mapc = fieldAt(st, "mapcount", pfn);
    rows.push(["pfn", hex(pfn) + " (" + fmt(pfn) + ")"]);
    rows.push(["physical", bigHex(phys)]);
    rows.push(["virtual", virt === null ? "none (highmem: kmap() it)" : bigHex(virt)]);
    if (m.struct_page) rows.push(["struct page", bigHex(big(m.struct_page) + big(pfn) * big(m.struct_page_size))]);
    rows.push(["zone", z ? z.name : "-"]);
    rows.push(["what", describeRun(ctx, st, r)]);
    if (fieldAt(st, "flags", pfn) !== null) {
      rows.push(["flags", flagNames(st, fieldAt(st, "flags", pfn))]);
      rows.push(["_refcount", String(fieldAt(st, "refcount", pfn))]);
      rows.push(["_mapcount", String(mapc) + (typeof mapc === "number" ? "  (page_mapcount " + (mapc + 1) + ")" : "")]);
      rows.push(["private", String(fieldAt(st, "private", pfn))]);
    }
    return { rows: rows, run: r };
  }

  // ------------------------------------------------------------------ the views
  function section(id, title, note) {
    return h("section", { id: id, cls: "kx-view", "data-view": id.replace("view-", "") },
      h("h2", { text: title }), note ? h("p", { cls: "note", text: note }) : null);
  }
  function card(v, k) { return h("div", { cls: "card" }, h("div", { cls: "v", text: v }), h("div", { cls: "k", text: k })); }

  function viewSummary(ctx) {
    var el = section("view-summary", "The machine");
    var body = h("div");
    el.appendChild(body);
    return { el: el, update: function (st) {
      var m = st.machine, p = st.summary.pages, ps = m.page_size;
      clear(body);
      body.appendChild(h("p", { cls: "sub", text: m.description + " — " + bytes(m.ram) + " RAM, " + m.cpus + " CPUs, " +
        m.slab_allocator + ", max_pfn " + hex(m.max_pfn) + (m.cmdline ? "; " + m.cmdline : "") }));
      body.appendChild(h("div", { cls: "cards" },
        card(bytes(p.free * ps), "free (buddy)"), card(bytes(p.pcp * ps), "per-CPU lists"),
        card(bytes((p.slab + p["kmalloc-large"]) * ps), "slab + large kmalloc"),
        card(bytes(p.vmalloc * ps), "vmalloc pages"), card(bytes(p.pagetable * ps), "page tables"),
        card(bytes((p.pagecache + p.anon) * ps), "page cache + anon"), card(bytes(p.allocated * ps), "alloc_pages"),
        card(bytes(p.reserved * ps), "reserved"), card(String(st.slab.caches.length), "slab caches")));
    } };
  }

  // ---- physical memory map
  function viewMemmap(ctx, opt) {
    opt = opt || {};
    var el = section("view-memmap", "Physical memory", "Every page frame, coloured by its owner; blocks are outlined when " +
      "zoomed in. Hover a page for its struct page, click to pin it, double-click (or +) to zoom in, − to zoom out.");
    var W = opt.width || 768, H = opt.height || 384, dpr = window.devicePixelRatio || 1;
    var canvas = h("canvas", { cls: "map", width: Math.round(W * dpr), height: Math.round(H * dpr),
      style: "width:" + W + "px;height:" + H + "px", "aria-label": "physical memory map" });
    var panel = h("div", { cls: "panel" }, h("h4", { text: "Page" }), h("p", { cls: "note", text: "Hover or click a page." }));
    var tip = h("div", { cls: "tip", hidden: "" });
    var controls = h("div", { cls: "bar" });
    var legend = h("div", { cls: "legend" });
    var wrap = h("div", { cls: "mapwrap" }, canvas, panel, tip);
    el.appendChild(controls); el.appendChild(legend); el.appendChild(wrap);
    var st = null, lo = 0, hi = 1, geo = null, hidden = {}, pinned = null, highlight = null, label = h("span", { cls: "lbl" });

    function setWindow(a, b) {
      var max = st.machine.max_pfn;
      a = Math.max(0, Math.floor(a)); b = Math.min(max, Math.ceil(b));
      if (b <= a) b = Math.min(max, a + 1);
      lo = a; hi = b; draw();
    }
    ctx.zoomTo = function (a, b, hl) { highlight = hl || null; setWindow(a, b); el.scrollIntoView({ block: "nearest" }); };
    function zoom(f, center) {
      var n = hi - lo, c = center === undefined ? (lo + hi) / 2 : center, m = Math.max(1, Math.round(n / f));
      setWindow(c - m / 2, c - m / 2 + m);
    }
    function layout() {
      var n = hi - lo, cell, cols, ppp = 1;
      if (n <= W * H) {
        cell = Math.max(1, Math.floor(Math.sqrt(W * H / n)));
        while (cell > 1 && Math.floor(W / cell) * Math.floor(H / cell) < n) cell--;
        cell = Math.min(cell, Math.min(W, H));
        cols = Math.max(1, Math.floor(W / cell));
      } else { cell = 1; cols = W; ppp = Math.ceil(n / (W * H)); }
      return { cell: cell, cols: cols, ppp: ppp };
    }
    function draw() {
      var g = canvas.getContext("2d"), r = st.pages.runs, kinds = st.pages.kinds, i, L = layout(), c = L.cell;
      geo = L;
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      g.fillStyle = "#fff"; g.fillRect(0, 0, W, H);
      var starts = pageIndex(st).starts, first = Math.max(0, bsearch(starts, lo));
      for (i = first * 4; i < r.length && r[i] < hi; i += 4) {
        var a = Math.max(lo, r[i]), b = Math.min(hi, r[i] + r[i + 1]), kind = kinds[r[i + 2]], det = r[i + 3];
        if (b <= a) continue;
        var col = runColor(ctx, st, kind, det);
        var dim = hidden[kind] || (highlight && !highlight(kind, det, r[i]));
        g.fillStyle = col; g.globalAlpha = dim ? 0.12 : 1;
        fillSpan(g, (a - lo) / L.ppp, (b - lo) / L.ppp, L);
        g.globalAlpha = 1;
        if (c >= 4 && kind !== "hole") { // outline the block
          g.strokeStyle = c >= 12 ? "rgba(0,0,0,.55)" : "rgba(0,0,0,.3)"; g.lineWidth = 1;
          outlineSpan(g, a - lo, b - lo, L);
        }
        if (c >= 56) labelSpan(g, a - lo, b - lo, L, kind, det, a);
      }
      st.zones.forEach(function (z) { // the zone boundaries, as steps through the grid
        if (!z.present || z.start_pfn <= lo || z.start_pfn >= hi) return;
        var idx = Math.floor((z.start_pfn - lo) / L.ppp), p = cellXY(idx, L), right = L.cols * c;
        g.strokeStyle = "#111"; g.lineWidth = 2; g.beginPath();
        g.moveTo(0, p[1] + c); g.lineTo(p[0], p[1] + c); g.lineTo(p[0], p[1]); g.lineTo(right, p[1]); g.stroke();
        g.font = "bold 11px sans-serif"; g.fillStyle = "#111";
        var lbl = "▼ " + z.name + " from pfn " + hex(z.start_pfn), tw = g.measureText(lbl).width;
        var tx = Math.min(Math.max(2, p[0]), W - tw - 4), ty = p[1] > 14 ? p[1] - 3 : p[1] + c + 12;
        g.fillStyle = "rgba(255,255,255,.85)"; g.fillRect(tx - 2, ty - 11, tw + 4, 14);
        g.fillStyle = "#111"; g.fillText(lbl, tx, ty);
      });
      if (pinned !== null && pinned >= lo && pinned < hi) {
        var p = cellXY(Math.floor((pinned - lo) / L.ppp), L);
        g.strokeStyle = "#000"; g.lineWidth = 2; g.strokeRect(p[0] + 1, p[1] + 1, Math.max(2, c - 2), Math.max(2, c - 2));
      }
      label.textContent = "pfn " + hex(lo) + " – " + hex(hi - 1) + " (" + fmt(hi - lo) + " pages" +
        (L.ppp > 1 ? ", " + L.ppp + " a pixel" : c > 1 ? ", " + c + " px a page" : "") + ")";
      canvas.setAttribute("data-lo", lo); canvas.setAttribute("data-hi", hi); canvas.setAttribute("data-drawn", "1");
      if (hi - lo === 1) showPage(lo, true);
    }
    function cellXY(idx, L) { return [(idx % L.cols) * L.cell, Math.floor(idx / L.cols) * L.cell]; }
    function fillSpan(g, a, b, L) {
      a = Math.floor(a); b = Math.max(a + 1, Math.ceil(b));
      var c = L.cell, cols = L.cols;
      while (a < b) {
        var row = Math.floor(a / cols), x0 = a % cols, n = Math.min(b - a, cols - x0);
        g.fillRect(x0 * c, row * c, n * c, c);
        a += n;
      }
    }
    function outlineSpan(g, a, b, L) {
      var c = L.cell, cols = L.cols;
      while (a < b) {
        var row = Math.floor(a / cols), x0 = a % cols, n = Math.min(b - a, cols - x0);
        g.strokeRect(x0 * c + 0.5, row * c + 0.5, n * c - 1, c - 1);
        a += n;
      }
    }
    function labelSpan(g, a, b, L, kind, det, pfn) {
      var c = L.cell;
      for (var i = a; i < b; i++) {
        var p = cellXY(i, L), t = kind === "slab" ? cacheName(ctx, st, det) : kind === "free" ? "free o" + (det & 15) : kind;
        g.fillStyle = kind === "hole" ? "#999" : "#fff";
        g.font = Math.min(14, c / 5) + "px sans-serif";
        g.fillText(hex(pfn + i - a), p[0] + 4, p[1] + Math.min(16, c / 4));
        g.fillText(t.length > 18 ? t.slice(0, 17) + "…" : t, p[0] + 4, p[1] + Math.min(32, c / 2));
      }
    }
    function pfnAt(ev) {
      var rect = canvas.getBoundingClientRect(), x = (ev.clientX - rect.left) * W / rect.width,
        y = (ev.clientY - rect.top) * H / rect.height, col = Math.floor(x / geo.cell), row = Math.floor(y / geo.cell);
      if (col >= geo.cols || col < 0 || row < 0) return null;
      var pfn = lo + (row * geo.cols + col) * geo.ppp;
      return pfn < hi ? pfn : null;
    }
    function showPage(pfn, pin) {
      var d = pageDetails(ctx, st, pfn);
      clear(panel);
      panel.appendChild(h("h4", { text: (pin ? "Page " : "Under the cursor: page ") + hex(pfn) }));
      panel.appendChild(kv(d.rows));
      if (d.run && d.run.len > 1 && pin) {
        panel.appendChild(h("div", { cls: "bar" }, h("button", { text: "zoom to this block", onclick: function () {
          setWindow(d.run.start, d.run.start + d.run.len); } })));
      }
      if (d.run && d.run.kind === "slab" && pin && ctx.showSlab) {
        panel.appendChild(h("div", { cls: "bar" }, h("button", { text: "show this slab", onclick: function () {
          ctx.showSlab(d.run.detail, d.run.start); } })));
      }
      if (d.run && d.run.kind === "vmalloc" && pin && ctx.showArea) {
        panel.appendChild(h("div", { cls: "bar" }, h("button", { text: "show this vmalloc area", onclick: function () {
          ctx.showArea(d.run.detail); } })));
      }
    }
    canvas.addEventListener("mousemove", function (ev) {
      var pfn = pfnAt(ev);
      if (pfn === null) { tip.hidden = true; return; }
      var r = runAt(st, pfn), wr = wrap.getBoundingClientRect();
      tip.textContent = "pfn " + hex(pfn) + (geo.ppp > 1 ? " (+" + (geo.ppp - 1) + ")" : "") + "\n" + describeRun(ctx, st, r);
      tip.hidden = false;
      tip.style.left = Math.min(ev.clientX - wr.left + 14, W - 160) + "px"; tip.style.top = (ev.clientY - wr.top + 14) + "px";
      if (pinned === null) showPage(pfn, false);
    });
    canvas.addEventListener("mouseleave", function () { tip.hidden = true; });
    canvas.addEventListener("click", function (ev) { var p = pfnAt(ev); if (p !== null) { pinned = p; showPage(p, true); draw(); } });
    canvas.addEventListener("dblclick", function (ev) { var p = pfnAt(ev); if (p !== null) zoom(4, p); });
    function drawControls() {
      clear(controls);
      controls.appendChild(h("button", { id: "kx-map-all", text: "whole machine", onclick: function () { highlight = null; setWindow(0, st.machine.max_pfn); } }));
      st.zones.forEach(function (z) {
        if (!z.present) return;
        controls.appendChild(h("button", { text: z.name, "data-zone": z.name, onclick: function () { highlight = null; setWindow(z.start_pfn, z.start_pfn + z.spanned); } }));
      });
      controls.appendChild(h("button", { id: "kx-map-used", text: "in use", title: "zoom to the pages allocated now", onclick: function () {
        var r = st.pages.runs, kinds = st.pages.kinds, a = Infinity, b = -1, i, k;
        for (i = 0; i < r.length; i += 4) {
          k = kinds[r[i + 2]];
          if (k !== "free" && k !== "hole" && k !== "reserved" && k !== "unaccounted") { a = Math.min(a, r[i]); b = Math.max(b, r[i] + r[i + 1]); }
        }
        if (b > a) { highlight = null; setWindow(a, b); }
      } }));
      controls.appendChild(h("button", { id: "kx-map-in", text: "+", title: "zoom in", onclick: function () { zoom(4, pinned !== null && pinned >= lo && pinned < hi ? pinned : undefined); } }));
      controls.appendChild(h("button", { id: "kx-map-out", text: "−", title: "zoom out", onclick: function () { zoom(0.25); } }));
      controls.appendChild(h("button", { id: "kx-map-page", text: "one page", title: "zoom to the pinned page", onclick: function () {
        var p = pinned !== null ? pinned : lo; setWindow(p, p + 1); } }));
      controls.appendChild(label);
    }
    function drawLegend() {
      clear(legend);
      var p = st.summary.pages;
      st.pages.kinds.forEach(function (k) {
        if (!p[k] && k !== "free") return;
        var it = h("span", { cls: "it" + (hidden[k] ? " off" : ""), "data-kind": k, title: "click to dim or show" },
          h("span", { cls: "sw", style: "background:" + (k === "free" ? freeColor(4, 10) : KIND_COLORS[k]) }),
          (KIND_LABELS[k] || k) + " " + fmt(p[k]));
        it.addEventListener("click", function () { hidden[k] = !hidden[k]; drawLegend(); draw(); });
        legend.appendChild(it);
      });
    }
    return { el: el, update: function (next) {
      var first = st === null;
      st = next;
      if (first) {
        if (opt.window) { lo = opt.window[0]; hi = opt.window[1]; } else { lo = 0; hi = st.machine.max_pfn; }
        if (opt.pin !== undefined) pinned = opt.pin;
      }
      drawControls(); drawLegend(); draw();
      if (pinned !== null) showPage(pinned, true);
    } };
  }

  // ---- buddy free lists and watermarks
  function watermarkSvg(z) {
    var w = 460, hgt = 58, wm = z.watermark, top = Math.max(wm.high * 2, 16), free = z.free_pages;
    var x = function (v) { return 8 + Math.min(v, top) / top * (w - 16); };
    var g = s("svg", { width: w, height: hgt, viewBox: "0 0 " + w + " " + hgt, cls: "wm", role: "img",
      "aria-label": "free pages of " + z.name + " against its watermarks" });
    g.appendChild(s("rect", { x: 8, y: 14, width: w - 16, height: 16, fill: "#f1f3f4", stroke: "#d9dce0" }));
    g.appendChild(s("rect", { x: 8, y: 14, width: x(free) - 8, height: 16, fill: free < wm.min ? "#e53935" : free < wm.low ? "#fb8c00" : free < wm.high ? "#fdd835" : "#5cb85c" }));
    [["min", wm.min], ["low", wm.low], ["high", wm.high]].forEach(function (m, i) {
      g.appendChild(s("line", { x1: x(m[1]), x2: x(m[1]), y1: 10, y2: 34, stroke: "#333", "stroke-width": 1.5 }));
      g.appendChild(s("text", { x: x(m[1]), y: 46 + (i % 2) * 10, "text-anchor": "middle", text: m[0] + " " + fmt(m[1]) }));
    });
    g.appendChild(s("text", { x: 10, y: 10, cls: "m", text: "free " + fmt(free) + " pages" + (free > top ? " (bar clipped at 2 × high →)" : "") }));
    return g;
  }
  function zoneStrip(ctx, st, z, order, width) {
    var w = width || 460, hh = 22, g = s("svg", { width: w, height: hh + 12, viewBox: "0 0 " + w + " " + (hh + 12), role: "img",
      "aria-label": "free blocks of " + z.name + " by position" });
    var r = st.pages.runs, kinds = st.pages.kinds, i, a = z.start_pfn, n = z.spanned;
    g.appendChild(s("rect", { x: 0, y: 0, width: w, height: hh, fill: "#eef0f2" }));
    for (i = 0; i < r.length; i += 4) {
      if (kinds[r[i + 2]] !== "free" || r[i] < a || r[i] >= a + n) continue;
      var o = r[i + 3] & 15;
      if (order !== undefined && order !== null && o !== order) continue;
      g.appendChild(s("rect", { x: (r[i] - a) / n * w, y: 0, width: Math.max(0.6, r[i + 1] / n * w), height: hh,
        fill: freeColor(o, st.machine.max_order) }));
    }
    g.appendChild(s("text", { x: 0, y: hh + 11, cls: "m", text: hex(a) }));
    g.appendChild(s("text", { x: w, y: hh + 11, cls: "m", "text-anchor": "end", text: hex(a + n) }));
    return g;
  }
  function zoneCard(ctx, st, z) {
    var mts = z.migratetypes, used = [], o, t;
    for (t = 0; t < mts.length; t++) {
      var any = false;
      for (o = 0; o < z.free.length; o++) if (z.free[o][t]) any = true;
      if (any || t < 3) used.push(t);
    }
    var maxPages = 1;
    for (o = 0; o < z.free.length; o++) used.forEach(function (t) { maxPages = Math.max(maxPages, z.free[o][t] << o); });
    var head = h("tr", null, h("th", { text: "order" }), h("th", { text: "block" }),
      used.map(function (t) { return h("th", { text: mts[t] }); }), h("th", { text: "blocks" }), h("th", { text: "pages" }));
    var body = h("tbody");
    for (o = 0; o < z.free.length; o++) {
      (function (o) {
        var row = h("tr", null, h("td", { text: String(o) }), h("td", { text: bytes(st.machine.page_size << o) }));
        used.forEach(function (t) {
          var n = z.free[o][t], td = h("td", { cls: "cell", "data-order": o, "data-mt": mts[t],
            title: n + " free blocks of order " + o + " on the " + mts[t] + " list — click to see them on the map" },
            h("div", { cls: "fill", style: "width:" + (100 * (n << o) / maxPages).toFixed(1) + "%" }), h("span", { text: fmt(n) }));
          td.addEventListener("click", function () {
            if (ctx.zoomTo) ctx.zoomTo(z.start_pfn, z.start_pfn + z.spanned, function (kind, det) {
              return kind === "free" && (det & 15) === o && (det >> 4) === t; });
          });
          row.appendChild(td);
        });
        row.appendChild(h("td", { text: fmt(z.nr_free[o]) }));
        row.appendChild(h("td", { text: fmt(z.nr_free[o] << o) }));
        body.appendChild(row);
      })(o);
    }
    var info = "pfn " + hex(z.start_pfn) + "–" + hex(z.start_pfn + z.spanned) + " · present " + fmt(z.present) +
      " · managed " + fmt(z.managed) + " · free " + fmt(z.free_pages) + " · per-CPU lists " + fmt(z.pcp_count);
    var bi = "Node 0, zone " + ("        " + z.name).slice(-8) + z.nr_free.map(function (n) { return ("       " + n).slice(-7); }).join("");
    return h("div", { cls: "zone", "data-zone": z.name },
      h("h3", { text: "Zone " + z.name }), h("p", { cls: "sub", text: info }),
      watermarkSvg(z), zoneStrip(ctx, st, z),
      h("table", { cls: "grid" }, h("thead", null, head), body),
      h("pre", { cls: "buddyinfo", text: "/proc/buddyinfo: " + bi }),
      z.pcp.length ? h("p", { cls: "note", text: "per-CPU lists: " + z.pcp.map(function (p) {
        return "cpu " + p.cpu + " " + p.count + " pages (high " + p.high + ", batch " + p.batch + ")"; }).join("; ") }) : null);
  }
  function viewBuddy(ctx, only) {
    var el = section("view-buddy", "Buddy free lists and watermarks", "Free blocks per zone, order and migratetype " +
      "(/proc/pagetypeinfo); the bar is the zone's free pages against its min, low and high watermarks. Click a count " +
      "to see those blocks on the memory map.");
    var body = h("div", { cls: "zones" });
    el.appendChild(body);
    return { el: el, update: function (st) {
      clear(body);
      st.zones.forEach(function (z) { if (z.present && (!only || only === z.name)) body.appendChild(zoneCard(ctx, st, z)); });
    } };
  }

  // ---- free area (one order of one zone)
  function viewFreeArea(ctx, fa) {
    var el = section("view-freearea", "free_area[" + fa.order + "] of zone " + fa.zone, "The free lists of one order, " +
      "head first; each block is 2^" + fa.order + " pages.");
    return { el: el, update: function (st) {
      var z = st.zones.filter(function (x) { return x.name === fa.zone; })[0];
      if (z) el.appendChild(zoneStrip(ctx, st, z, fa.order, 640));
      el.appendChild(h("p", { cls: "sub", text: "nr_free = " + fa.nr_free }));
      fa.lists.forEach(function (l) {
        el.appendChild(h("div", null, h("b", { text: l.migratetype + ": " + l.count + " block" + (l.count === 1 ? "" : "s") }),
          l.count ? h("pre", { text: l.pfns.slice(0, 256).map(function (p) { return hex(p) + "–" + hex(p + (1 << fa.order) - 1); }).join("  →  ") +
            (l.count > 256 ? "  … " + (l.count - 256) + " more" : "") }) : null));
      });
    } };
  }

  // ---- slab caches
  function layoutSvg(c, width) {
    var w = width || 640, hh = 26, stride = c.stride, g = s("svg", { width: w, height: hh + 30,
      viewBox: "0 0 " + w + " " + (hh + 30), role: "img", "aria-label": "object layout of " + c.name });
    var x = function (b) { return b / stride * (w - 2) + 1; };
    (c.layout || []).forEach(function (seg) {
      g.appendChild(s("rect", { x: x(seg[0]), y: 2, width: Math.max(1, x(seg[0] + seg[1]) - x(seg[0])), height: hh,
        fill: SEG_COLORS[seg[2]] || "#ccc", stroke: "#fff" }, s("title", { text: seg[2] + ": bytes " + seg[0] + "–" + (seg[0] + seg[1] - 1) })));
      if (x(seg[0] + seg[1]) - x(seg[0]) > 44) g.appendChild(s("text", { x: x(seg[0]) + 3, y: hh - 6, fill: "#fff",
        style: "fill:#fff", text: seg[2] + " " + seg[1] }));
    });
    if (c.offset < c.inuse) { // the free pointer lives inside the free object
      var fx = x(c.red_left_pad + c.offset);
      g.appendChild(s("rect", { x: fx, y: 2, width: Math.max(2, x(c.red_left_pad + c.offset + 8) - fx), height: 6, fill: SEG_COLORS.freeptr },
        s("title", { text: "free pointer (inside the object while it is free), offset " + c.offset })));
    }
    g.appendChild(s("text", { x: 1, y: hh + 16, cls: "m", text: "0" }));
    g.appendChild(s("text", { x: w - 1, y: hh + 16, cls: "m", "text-anchor": "end", text: "stride " + stride + " bytes" }));
    g.appendChild(s("text", { x: w / 2, y: hh + 28, cls: "m", "text-anchor": "middle",
      text: "object_size " + c.object_size + ", align " + c.align + ", free pointer at +" + c.offset + (c.red_left_pad ? ", left red zone " + c.red_left_pad : "") }));
    return g;
  }
  function slabStrip(ctx, st, c, sl, opts) {
    opts = opts || {};
    var n = sl.n, maxw = opts.width || 620, cell = Math.max(5, Math.min(18, Math.floor(maxw / Math.min(n, 64)))),
      perRow = Math.max(1, Math.floor(maxw / cell)), rows = Math.ceil(n / perRow), w = Math.min(n, perRow) * cell, hgt = rows * cell;
    var pos = {}, cpos = {}, bad = {}, i;
    (sl.free || []).forEach(function (ix, k) { pos[ix] = k; });
    (sl.cfree || []).forEach(function (ix, k) { cpos[ix] = k; });
    (sl.rz_bad || []).forEach(function (ix) { bad[ix] = 1; });
    var allUsed = sl.free === undefined && sl.where === "full";
    var arcs = opts.arrows && rows === 1 ? Math.min(60, 10 + n * cell / 12) : 0, top = arcs;
    var g = s("svg", { width: w + 2, height: hgt + 2 + top, viewBox: "-1 " + (-1 - top) + " " + (w + 2) + " " + (hgt + 2 + top), cls: "slab",
      "data-pfn": sl.pfn, role: "img", "aria-label": "slab at pfn " + hex(sl.pfn) });
    var col = cacheColor(c.name);
    for (i = 0; i < n; i++) {
      var fx = (i % perRow) * cell, fy = Math.floor(i / perRow) * cell, free = i in pos, cf = i in cpos;
      var known = sl.free !== undefined || allUsed;
      var fill = !known ? "#d5d8dc" : cf ? "#bfe3ff" : free ? "#ffffff" : col;
      var title = "object " + i + " at " + bigHex(big(sl.addr) + big(c.red_left_pad + i * c.stride)) + ": " +
        (!known ? "state not recorded" : cf ? "free, on the CPU freelist (position " + cpos[i] + ")" :
          free ? "free, on the slab freelist (position " + pos[i] + ")" : "in use") + (bad[i] ? "; RED ZONE OVERWRITTEN" : "");
      g.appendChild(s("rect", { x: fx + 0.5, y: fy + 0.5, width: cell - 1, height: cell - 1, fill: fill,
        stroke: bad[i] ? "#e53935" : "#9aa0a6", "stroke-width": bad[i] ? 2 : 0.6, "data-i": i, "data-state": cf ? "cpufree" : free ? "free" : "used" },
        s("title", { text: title })));
    }
    if (opts.arrows) {
      [sl.cfree || [], sl.free || []].forEach(function (list, li) {
        if (!list.length) return;
        var color = li ? "#e65100" : "#0b57d0", cx = function (ix) { return (ix % perRow) * cell + cell / 2; },
          cy = function (ix) { return Math.floor(ix / perRow) * cell + cell / 2; }, d = "", k;
        for (k = 1; k < list.length; k++) {
          var a = list[k - 1], b = list[k];
          if (arcs) {
            var x1 = cx(a), x2 = cx(b), lift = Math.min(top - 2, 6 + Math.abs(x2 - x1) / 3);
            d += "M" + x1 + ",0 Q" + ((x1 + x2) / 2) + "," + (-2 * lift) + " " + x2 + ",0 ";
          } else d += (k === 1 ? "M" + cx(a) + "," + cy(a) + " " : "") + "L" + cx(b) + "," + cy(b) + " ";
        }
        if (d) g.appendChild(s("path", { d: d, fill: "none", stroke: color, "stroke-width": 1.2, "stroke-opacity": 0.8, cls: "freelist" }));
        g.appendChild(s("circle", { cx: cx(list[0]), cy: arcs ? 0 : cy(list[0]), r: Math.max(2.5, cell / 4), fill: color },
          s("title", { text: "head of the " + (li ? "slab" : "CPU") + " freelist: object " + list[0] })));
      });
    }
    return g;
  }
  function slabLists(ctx, st, c, box, selPfn) {
    clear(box);
    if (!c.lists || !c.lists.length) { box.appendChild(h("p", { cls: "empty", text: "No slabs: the cache holds no pages now." })); return; }
    var detail = h("div", { cls: "panel slabdetail" });
    function select(sl, row) {
      Array.prototype.forEach.call(box.querySelectorAll(".slabrow.sel"), function (r) { r.classList.remove("sel"); });
      if (row) row.classList.add("sel");
      clear(detail);
      detail.appendChild(h("h4", { text: "Slab at pfn " + hex(sl.pfn) + " (" + sl.where + ")" }));
      detail.appendChild(slabStrip(ctx, st, c, sl, { arrows: true, width: 560 }));
      var free = (sl.cfree || []).concat(sl.free || []);
      detail.appendChild(kv([
        ["address", sl.addr], ["pages", String(1 << sl.order) + " (order " + sl.order + ")"],
        ["objects", sl.n + ", in use " + (sl.n - free.length) + (sl.free === undefined ? " (counts only)" : "")],
        sl.cfree ? ["CPU freelist", sl.cfree.length ? sl.cfree.join(" → ") + " → NULL" : "empty"] : null,
        ["slab freelist", sl.free === undefined ? "not recorded" : sl.free.length ? sl.free.join(" → ") + " → NULL" : "empty (NULL)"],
        sl.bad ? ["freelist", sl.bad, "bad"] : null,
        sl.rz_bad ? ["red zones", "overwritten at object" + (sl.rz_bad.length > 1 ? "s " : " ") + sl.rz_bad.join(", "), "bad"] : null
      ]));
      detail.appendChild(h("p", { cls: "note", text: "Arrows follow the freelist from its head (dot): blue the CPU's lockless freelist, " +
        "orange the slab's own; the next allocation takes the head." }));
    }
    var first = null;
    c.lists.forEach(function (li) {
      var grp = h("div", { cls: "slabs", "data-list": li.kind });
      grp.appendChild(h("h3", { text: li.name + " — " + li.slabs.length + " slab" + (li.slabs.length === 1 ? "" : "s") }));
      li.slabs.slice(0, 40).forEach(function (sl) {
        var used = sl.free === undefined ? sl.inuse : sl.n - sl.free.length - (sl.cfree || []).length;
        var row = h("div", { cls: "slabrow", "data-pfn": sl.pfn, title: "click for the freelist" },
          h("span", { cls: "tag", text: hex(sl.pfn) + " " + used + "/" + sl.n }), slabStrip(ctx, st, c, sl, { width: 520 }));
        row.addEventListener("click", function () { select(sl, row); });
        grp.appendChild(row);
        if ((selPfn !== undefined && sl.pfn === selPfn) || (first === null && selPfn === undefined)) first = [sl, row];
      });
      if (li.slabs.length > 40) grp.appendChild(h("p", { cls: "note", text: "… " + (li.slabs.length - 40) + " more slabs on this list" }));
      box.appendChild(grp);
    });
    box.appendChild(detail);
    if (first) select(first[0], first[1]);
  }
  function cacheDetail(ctx, st, c, box, selPfn) {
    clear(box);
    box.appendChild(h("h3", { text: c.name + (c.aliases && c.aliases.length ? " (also " + c.aliases.join(", ") + ")" : "") }));
    box.appendChild(kv([
      ["object size", c.object_size + " bytes; stride (s->size) " + c.stride + "; align " + c.align],
      ["per slab", c.per_slab + " objects in " + (1 << c.order) + " page" + (c.order ? "s" : "") + " (order " + c.order +
        "), " + (c.slab_bytes - c.per_slab * c.stride) + " bytes left over"],
      ["in use", fmt(c.active_objects) + " of " + fmt(c.total_objects) + " objects in " + fmt(c.nr_slabs) + " slabs"],
      ["flags", c.flags.length ? c.flags.join(" | ") : "none"],
      ["debug", c.debug ? "yes: no CPU slab, every alloc and free checked" : "no"],
      ["free pointer", "offset " + c.offset + (c.offset >= c.inuse ? " (outside the object)" : " (inside the free object)")]
    ]));
    box.appendChild(layoutSvg(c));
    box.appendChild(h("div", { cls: "legend" }, Object.keys(SEG_COLORS).map(function (k) {
      return h("span", { cls: "it" }, h("span", { cls: "sw", style: "background:" + SEG_COLORS[k] }), k); }),
      h("span", { cls: "it" }, h("span", { cls: "sw", style: "background:" + cacheColor(c.name) }), "object in use"),
      h("span", { cls: "it" }, h("span", { cls: "sw", style: "background:#fff" }), "free"),
      h("span", { cls: "it" }, h("span", { cls: "sw", style: "background:#bfe3ff" }), "free on the CPU freelist")));
    var lists = h("div");
    box.appendChild(lists);
    slabLists(ctx, st, c, lists, selPfn);
  }
  function viewSlab(ctx, only) {
    var el = section("view-slab", "Slab caches (" + "SLUB" + ")", "Each cache's slabs on their lists — the CPU slab, the " +
      "per-CPU partial list, the node's partial list, full slabs — and each slab's objects: in use, free in freelist order, " +
      "red zones. Click a cache, then a slab.");
    var top = h("div", { cls: "bar" }), tableBox = h("div", { cls: "scroll" }), detail = h("div", { cls: "cachedetail" });
    var filter = h("input", { cls: "filter", type: "search", placeholder: "filter caches", "aria-label": "filter caches" });
    var showEmpty = false, sortKey = "pages", sortDir = -1, sel = null, selPfn, st = null;
    el.appendChild(top); el.appendChild(tableBox); el.appendChild(detail);
    if (!only) {
      top.appendChild(filter);
      var emptyBtn = h("button", { "aria-pressed": "false", text: "show empty caches" });
      emptyBtn.addEventListener("click", function () { showEmpty = !showEmpty; emptyBtn.setAttribute("aria-pressed", String(showEmpty)); table(); });
      top.appendChild(emptyBtn);
      filter.addEventListener("input", function () { table(); });
    }
    var cols = [["name", "cache", "l"], ["object_size", "objsize"], ["stride", "stride"], ["per_slab", "per slab"],
      ["order", "order"], ["nr_slabs", "slabs"], ["active_objects", "active"], ["total_objects", "objects"], ["pages", "pages"]];
    function table() {
      clear(tableBox);
      var q = filter.value.toLowerCase(), rows = st.slab.caches.filter(function (c) {
        return (showEmpty || c.nr_slabs) && (!q || c.name.toLowerCase().indexOf(q) >= 0); });
      rows.sort(function (a, b) { var x = a[sortKey], y = b[sortKey]; return (x < y ? -1 : x > y ? 1 : 0) * sortDir || (a.name < b.name ? -1 : 1); });
      var thead = h("tr", null, cols.map(function (cdef) {
        var th = h("th", { cls: "sort " + (cdef[2] || ""), text: cdef[1] + (sortKey === cdef[0] ? (sortDir > 0 ? " ▲" : " ▼") : "") });
        th.addEventListener("click", function () { if (sortKey === cdef[0]) sortDir = -sortDir; else { sortKey = cdef[0]; sortDir = cdef[0] === "name" ? 1 : -1; } table(); });
        return th;
      }));
      var tb = h("tbody");
      rows.forEach(function (c) {
        var tr = h("tr", { cls: sel === c.id ? "sel" : null, "data-cache": c.name }, cols.map(function (cdef) {
          return h("td", { cls: cdef[2] || null }, cdef[0] === "name" ? [h("span", { cls: "sw", style: "background:" + cacheColor(c.name) }), " " + c.name] : fmt(c[cdef[0]]));
        }));
        tr.addEventListener("click", function () { sel = c.id; selPfn = undefined; table(); showDetail(); });
        tb.appendChild(tr);
      });
      tableBox.appendChild(h("table", { cls: "grid" }, h("thead", null, thead), tb));
      tableBox.appendChild(h("p", { cls: "note", text: rows.length + " of " + st.slab.caches.length + " caches shown" }));
    }
    function showDetail() {
      var c = pageIndex(st).caches.get(sel);
      if (!c) { clear(detail); detail.appendChild(h("p", { cls: "empty", text: "Pick a cache above." })); return; }
      cacheDetail(ctx, st, c, detail, selPfn);
    }
    ctx.showSlab = function (id, pfn, quiet) { sel = id; selPfn = pfn; if (!only) table(); showDetail(); if (!quiet) el.scrollIntoView(); };
    return { el: el, update: function (next) {
      st = next;
      if (sel === null) {
        var best = null;
        st.slab.caches.forEach(function (c) { if (only ? c.name === only : (!best || c.pages > best.pages || (c.pages === best.pages && c.debug && !best.debug))) best = c; });
        if (best) sel = best.id;
      }
      if (!only) table();
      showDetail();
    } };
  }

  // ---- vmalloc areas
  function areaSvg(st, a) {
    var m = st.machine, w = 680, n = Math.max(1, Math.round(a.size / m.page_size)), cell = Math.max(3, Math.min(28, Math.floor((w - 20) / n)));
    var hgt = 150, g = s("svg", { width: w, height: hgt, viewBox: "0 0 " + w + " " + hgt, role: "img",
      "aria-label": "vmalloc area " + a.addr + " and its physical pages" });
    var pfns = [];
    a.pages.forEach(function (r) { for (var i = 0; i < r[1]; i++) pfns.push(r[0] + i); });
    var shown = Math.min(n, Math.floor((w - 20) / cell));
    g.appendChild(s("text", { x: 10, y: 12, text: "virtual: " + a.addr + " … (" + bytes(a.size) + ", " + a.nr_pages + " pages" + (n > a.nr_pages ? " + guard" : "") + ")" }));
    for (var i = 0; i < shown; i++) {
      var has = i < pfns.length;
      g.appendChild(s("rect", { x: 10 + i * cell, y: 20, width: cell - 1, height: 18, fill: has ? KIND_COLORS.vmalloc : "#fff",
        stroke: "#777", "stroke-dasharray": has ? null : "2 2" }, s("title", { text: has ? "page " + i + " → pfn " + hex(pfns[i]) : "guard page (unmapped)" })));
    }
    var py = 112, lo = Infinity, hi = -1;
    pfns.forEach(function (p) { lo = Math.min(lo, p); hi = Math.max(hi, p + 1); });
    if (hi < 0) { lo = 0; hi = m.max_pfn; }
    var pad = Math.max(8, Math.round((hi - lo) * 0.08));
    lo = Math.max(0, lo - pad); hi = Math.min(m.max_pfn, hi + pad);
    var PX = function (p) { return 10 + (p - lo + 0.5) / (hi - lo) * (w - 20); };
    g.appendChild(s("rect", { x: 10, y: py, width: w - 20, height: 18, fill: "#eef0f2", stroke: "#ccc" }));
    g.appendChild(s("text", { x: 10, y: py + 32, cls: "m", text: "physical memory, pfn " + hex(lo) }));
    g.appendChild(s("text", { x: w - 10, y: py + 32, cls: "m", "text-anchor": "end", text: hex(hi) + " (of " + hex(m.max_pfn) + ")" }));
    for (i = 0; i < Math.min(shown, pfns.length); i++) {
      var px = PX(pfns[i]);
      g.appendChild(s("line", { x1: 10 + i * cell + cell / 2, y1: 38, x2: px, y2: py, stroke: KIND_COLORS.vmalloc, "stroke-opacity": 0.6 }));
      g.appendChild(s("rect", { x: px - 1, y: py, width: Math.max(2, (w - 20) / (hi - lo) - 1), height: 18, fill: KIND_COLORS.vmalloc },
        s("title", { text: "pfn " + hex(pfns[i]) + " = page " + i + " of the area" })));
      if (pfns.length <= 12) g.appendChild(s("text", { x: px, y: py - 4, "text-anchor": "middle", cls: "mono", text: hex(pfns[i]) }));
    }
    if (a.phys_addr) g.appendChild(s("text", { x: 10, y: 60, text: "ioremap of physical " + a.phys_addr + " (device memory, not RAM)" }));
    return g;
  }
  function viewVmalloc(ctx, onlyId) {
    var el = section("view-vmalloc", "vmalloc areas", "Virtually contiguous, physically scattered: each area's pages and " +
      "where they are in physical memory. Click an area.");
    var box = h("div"), detail = h("div"), sel = null, st = null;
    el.appendChild(box); el.appendChild(detail);
    function show() {
      clear(detail);
      var a = pageIndex(st).areas.get(sel);
      if (!a) return;
      detail.appendChild(h("h3", { text: a.addr + " " + (a.caller || "") }));
      detail.appendChild(kv([["size", bytes(a.size) + " (" + fmt(a.size) + " bytes, guard page included)"], ["flags", a.flags.join(" | ")],
        ["pages", String(a.nr_pages)], ["pfns", a.pages.slice(0, 64).map(function (r) { return r[1] > 1 ? hex(r[0]) + "–" + hex(r[0] + r[1] - 1) : hex(r[0]); }).join(" ") +
          (a.pages.length > 64 ? " …" : "")]]));
      detail.appendChild(areaSvg(st, a));
    }
    ctx.showArea = function (id) { sel = id; if (st) { table(); show(); } el.scrollIntoView(); };
    function table() {
      clear(box);
      var v = st.vmalloc, areas = v.areas.filter(function (a) { return onlyId === undefined || a.id === onlyId; });
      box.appendChild(h("p", { cls: "sub", text: "VMALLOC_START " + v.start + ", VMALLOC_END " + v.end + "; " + areas.length +
        " area" + (areas.length === 1 ? "" : "s") + "; " + v.page_tables + " page-table pages" }));
      if (!areas.length) { box.appendChild(h("p", { cls: "empty", text: "No vmalloc areas on this machine now." })); return; }
      var tb = h("tbody");
      areas.forEach(function (a) {
        var tr = h("tr", { cls: sel === a.id ? "sel" : null, "data-area": a.addr }, h("td", { cls: "l mono", text: a.addr }), h("td", { text: bytes(a.size) }),
          h("td", { text: fmt(a.nr_pages) }), h("td", { cls: "l", text: a.flags.join("|") }), h("td", { cls: "l", text: a.caller }));
        tr.addEventListener("click", function () { sel = a.id; table(); show(); });
        tb.appendChild(tr);
      });
      box.appendChild(h("div", { cls: "scroll" }, h("table", { cls: "grid" }, h("thead", null, h("tr", null,
        ["address", "size", "pages", "flags", "caller"].map(function (t, i) { return h("th", { cls: i === 0 || i > 2 ? "l" : null, text: t }); }))), tb)));
    }
    return { el: el, update: function (next) {
      st = next;
      if (sel === null || !pageIndex(st).areas.get(sel)) {
        var a = st.vmalloc.areas.filter(function (x) { return onlyId === undefined || x.id === onlyId; })[0];
        sel = a ? a.id : null;
      }
      table(); show();
    } };
  }

  // ---- the address layout
  function viewLayout(ctx) {
    var el = section("view-layout", "Virtual address layout", "The kernel's view of the virtual address space, top first. " +
      "Box widths grow with the log of the size: the regions span from 4 KiB to exabytes.");
    var box = h("div");
    el.appendChild(box);
    return { el: el, update: function (st) {
      clear(box);
      var L = st.layout, regs = L.regions.slice().reverse(), w = 720, rh = 20, width = L.bits === 64 ? 16 : 8;
      var g = s("svg", { width: w, height: regs.length * rh + 24, viewBox: "0 0 " + w + " " + (regs.length * rh + 24), role: "img",
        "aria-label": "virtual address layout", cls: "layout" });
      var colors = { user: "#9ccc65", hole: "#f1f3f4", direct: "#4fc3f7", vmalloc: "#b39ddb", kernel: "#ffb74d", guard: "#e57373" };
      g.appendChild(s("text", { x: 0, y: 12, cls: "m", text: "start" }));
      g.appendChild(s("text", { x: 150, y: 12, cls: "m", text: "size" }));
      g.appendChild(s("text", { x: 230, y: 12, cls: "m", text: "region" }));
      regs.forEach(function (r, i) {
        var y = 18 + i * rh, size = big(r[1]) - big(r[0]), lg = size.toString(2).length, bw = Math.max(4, lg / L.bits * 200);
        g.appendChild(s("text", { x: 0, y: y + 14, cls: "mono", text: bigHex(big(r[0]), width) }));
        g.appendChild(s("text", { x: 150, y: y + 14, text: bytes(Number(size)) }));
        g.appendChild(s("rect", { x: 230, y: y + 2, width: bw, height: rh - 4, fill: colors[r[4]] || "#ccc", stroke: "#999" },
          s("title", { text: r[2] + (r[3] ? " (" + r[3] + ")" : "") + ": " + r[0] + " – " + r[1] })));
        g.appendChild(s("text", { x: 236 + bw, y: y + 14, text: r[2] + (r[3] ? "  (" + r[3] + ")" : "") }));
      });
      box.appendChild(g);
      var f = L.fields, names = Object.keys(f);
      box.appendChild(h("details", null, h("summary", { text: "named boundaries (" + names.length + ")" }),
        kv(names.map(function (n) { return [n, f[n]]; }))));
    } };
  }

  function viewDmesg() {
    var el = section("view-dmesg", "Kernel log", "The last lines of dmesg.");
    var pre = h("pre");
    el.appendChild(pre);
    return { el: el, update: function (st) { pre.textContent = (st.dmesg || []).join("\n") || "(empty)"; } };
  }

  function viewPage(ctx, pfn) {
    var el = section("view-page", "struct page of pfn " + hex(pfn));
    var box = h("div");
    el.appendChild(box);
    return { el: el, update: function (st) { clear(box); box.appendChild(kv(pageDetails(ctx, st, pfn).rows)); } };
  }

  // ------------------------------------------------------------------ the timeline
  function viewTimeline(ctx, src, onChange) {
    var tl = src.tl, n = tl.samples.length;
    var el = h("section", { id: "timeline", cls: "timeline kx-view", "data-view": "timeline" });
    el.appendChild(h("h2", { text: "Timeline" }));
    var range = h("input", { type: "range", min: 0, max: n - 1, value: n - 1, id: "kx-scrub", "aria-label": "replay position" });
    var pos = h("span", { cls: "lbl", id: "kx-pos" });
    var pre = h("pre", { id: "kx-events" });
    var play = h("button", { id: "kx-play", text: "▶ play" });
    var timer = null;
    var ser = tl.series, keys = [["free", "#5cb85c"], ["slab", "#3d7dd8"], ["allocated", "#f0a030"]], lane = 24;
    var chart = s("svg", { width: 900, height: keys.length * lane + 4, viewBox: "0 0 900 " + (keys.length * lane + 4), id: "kx-chart",
      role: "img", "aria-label": "pages over the replay" });
    var X = function (i) { return 150 + (n > 1 ? i / (n - 1) : 0) * 740; };
    keys.forEach(function (k, li) { // one lane a series, each on its own scale
      var v = ser[k[0]], lo = Math.min.apply(null, v), hi = Math.max.apply(null, v), y0 = li * lane + 2;
      var Y = function (x) { return y0 + lane - 4 - (hi > lo ? (x - lo) / (hi - lo) : 0.5) * (lane - 6); };
      chart.appendChild(s("rect", { x: 150, y: y0, width: 740, height: lane - 2, fill: li % 2 ? "#fafbfc" : "#f3f5f7" }));
      chart.appendChild(s("polyline", { points: v.map(function (x, i) { return X(i) + "," + Y(x); }).join(" "),
        fill: "none", stroke: k[1], "stroke-width": 1.6 }));
      chart.appendChild(s("text", { x: 0, y: y0 + 15, text: k[0] + " " + fmt(lo) + (hi > lo ? "–" + fmt(hi) : "") }));
    });
    var cursor = s("line", { x1: 0, x2: 0, y1: 1, y2: keys.length * lane + 2, stroke: "#333", "stroke-dasharray": "3 3" });
    chart.appendChild(cursor);
    chart.addEventListener("click", function (ev) {
      var r = chart.getBoundingClientRect(), x = (ev.clientX - r.left) * 900 / r.width;
      set(Math.max(0, Math.min(n - 1, Math.round((x - 150) / 740 * (n - 1)))));
    });
    function set(i) {
      range.value = i;
      var smp = tl.samples[i];
      pos.textContent = "event " + fmt(smp.n) + " of " + fmt(tl.events) + " (sample " + (i + 1) + " of " + n + ")" +
        (smp.ts >= 0 && tl.samples[0] ? "" : "");
      pre.textContent = smp.events.length ? smp.events.join("\n") : "(before the first event: the freshly booted machine)";
      cursor.setAttribute("x1", X(i)); cursor.setAttribute("x2", X(i));
      el.setAttribute("data-sample", i);
      onChange(i);
    }
    range.addEventListener("input", function () { set(Number(range.value)); });
    play.addEventListener("click", function () {
      if (timer) { clearInterval(timer); timer = null; play.textContent = "▶ play"; return; }
      if (Number(range.value) >= n - 1) set(0);
      play.textContent = "❚❚ pause";
      timer = setInterval(function () { var i = Number(range.value) + 1; if (i >= n) { clearInterval(timer); timer = null; play.textContent = "▶ play"; return; } set(i); }, 400);
    });
    var bar = h("div", { cls: "bar sticky kx-scrubber" }, h("b", { text: "Replay of " + (tl.source || "a trace") }),
      h("button", { id: "kx-prev", text: "◀", title: "previous sample", onclick: function () { set(Math.max(0, Number(range.value) - 1)); } }),
      range, h("button", { id: "kx-next", text: "▶", title: "next sample", onclick: function () { set(Math.min(n - 1, Number(range.value) + 1)); } }),
      play, pos);
    el.appendChild(h("div", { cls: "legend" }, keys.map(function (k) {
      return h("span", { cls: "it" }, h("span", { cls: "sw", style: "background:" + k[1] }), k[0] + " pages"); })));
    el.appendChild(chart);
    el.appendChild(h("div", { cls: "note", text: "The last events replayed before this point:" }));
    el.appendChild(pre);
    return { el: el, bar: bar, set: set };
  }

  // ------------------------------------------------------------------ mounting
  function mount(root, data, opts) {
    opts = opts || {};
    var src = new Source(data), ctx = { src: src }, views = [], what = opts.view || "all";
    clear(root);
    root.classList.add("kx");
    function addView(v) { views.push(v); return v; }
    if (what === "all") {
      var nav = h("nav", { cls: "jump" });
      [["view-summary", "machine"], ["view-memmap", "physical memory"], ["view-buddy", "free lists"], ["view-slab", "slab caches"],
        ["view-vmalloc", "vmalloc"], ["view-layout", "address layout"], ["view-dmesg", "dmesg"]].forEach(function (x) {
        nav.appendChild(h("a", { href: "#" + x[0], text: x[1] }));
      });
      var tlv = null;
      if (src.tl) {
        tlv = viewTimeline(ctx, src, function (i) { render(src.at(i)); });
        root.appendChild(tlv.bar);
        root.appendChild(tlv.el);
        tlv.el.appendChild(nav);
      } else root.appendChild(nav);
      [viewSummary(ctx), viewMemmap(ctx, opts.map), viewBuddy(ctx), viewSlab(ctx), viewVmalloc(ctx), viewLayout(ctx), viewDmesg()]
        .forEach(function (v) { addView(v); root.appendChild(v.el); });
    } else if (what === "zone") {
      addView(viewBuddy(ctx, opts.zone)); addView(viewMemmap(ctx, { window: opts.window, width: 640, height: 200 }));
      views.forEach(function (v) { root.appendChild(v.el); });
    } else if (what === "freearea") {
      addView(viewFreeArea(ctx, opts.free_area)); root.appendChild(views[0].el);
    } else if (what === "cache") {
      addView(viewSlab(ctx, opts.cache)); root.appendChild(views[0].el);
    } else if (what === "slab") {
      var v = viewSlab(ctx, opts.cache);
      addView(v); root.appendChild(v.el);
      var upd = v.update;
      v.update = function (st) { upd(st); ctx.showSlab(st.slab.caches[0].id, opts.pfn, true); };
    } else if (what === "page") {
      addView(viewPage(ctx, opts.pfn)); addView(viewMemmap(ctx, { window: opts.window, pin: opts.pfn, width: 640, height: 160 }));
      views.forEach(function (v) { root.appendChild(v.el); });
    } else if (what === "vmarea") {
      addView(viewVmalloc(ctx, opts.area)); root.appendChild(views[0].el);
    } else if (what === "layout") {
      addView(viewLayout(ctx)); root.appendChild(views[0].el);
    }
    function render(st) { views.forEach(function (v) { v.update(st); }); }
    if (src.tl) tlv.set(src.count() - 1); else render(src.at(0));
    root.setAttribute("data-kx-ready", "1");
    return ctx;
  }
  function mountScript(id) {
    // next to the calling script first: a notebook may run it before its output is in the document
    var cur = document.currentScript, box = cur && cur.parentNode, root = null, dataEl = null;
    if (box && box.querySelector) { root = box.querySelector("[id='" + id + "']"); dataEl = box.querySelector("[id='" + id + "-data']"); }
    root = root || document.getElementById(id);
    dataEl = dataEl || document.getElementById(id + "-data");
    var payload = JSON.parse(dataEl.textContent);
    return mount(root, payload.data, payload.opts);
  }
  return { mount: mount, mountScript: mountScript, applyPatch: applyPatch, version: 1 };
})();
