"""The one-page HTML report of ``kmemsim replay --report`` and ``kmemsim compare --report``.

One self-contained file: the charts are inline SVG (:mod:`kmemsim.trace.svgchart`),
the style sheet and the script are inlined from ``report_assets/``, so the page opens
offline and needs no plotting library.  From the top:

- **headline numbers**: events, trace time, bytes_alloc mismatches, the sampled peak
  of the slab footprint and of the pages the trace's page events hold, events not
  placed, ``k.check()``, the machine (for compare: A, B and B − A);
- a table of contents;
- **charts** (hover for the values at a moment; click a line's legend entry to hide
  it): the slab footprint, the largest caches stacked, on its own axis; the pages of
  page events and large kmallocs on theirs; slab utilisation; fragmentation per zone
  (/sys/kernel/debug/extfrag, mm/vmstat.c) and free blocks per order; waste by call
  site.  A compare draws B − A of each series over time and per cache, and A and B
  side by side only where both are needed to read the difference;
- **tables**, each sortable (click a heading) and searchable (the box above it):
  events by kind, slab caches at the end (from the machine's /proc/slabinfo), free
  blocks per zone and order (/proc/buddyinfo), call sites (perf kmem's table), waste
  per function (trace-cmd mem's), objects live at the end;
- the long lists and the text reports folded into ``<details>``.

Text from the trace (cache names, call sites) is escaped everywhere, in the HTML and
in the JSON the script reads.  Writing: :func:`check_report_path` says before a
replay whether the page can be written (a replay can take minutes); :func:`write_report`
writes it.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from .svgchart import PALETTE, Series, bar_chart, line_chart

if TYPE_CHECKING:  # pragma: no cover
    from .parse import ParseStats
    from .replay import Comparison, Replay, Sample
    from .stat import KmemStat

__all__ = ["html_report", "check_report_path", "write_report", "waste_rows"]

#: stacked caches in the footprint chart (the rest is "other caches")
TOP_CACHES = 10
#: rows of the bar charts
TOP_BARS = 15


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _asset(name: str) -> str:
    return resources.files("kmemsim.trace").joinpath("report_assets", name).read_text(encoding="utf-8")


def _n(v: int | float) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:,.1f}"


def _signed(v: int | float) -> str:
    if isinstance(v, int):
        return f"{v:+,}" if v else "0"
    return f"{v:+,.1f}" if abs(v) >= 0.05 else "0.0"


# ---------------------------------------------------------------------------- writing


def check_report_path(path: str | os.PathLike[str]) -> Path:
    """Raise :class:`~kmemsim.errors.UsageError` naming ``path`` unless a report can be
    written there: its directory exists and takes a new file, and the path is not a
    directory or an unwritable file.  Leaves no file behind."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"--report {path}: is a directory")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"--report {path}: no such directory {parent}")
    existed = p.exists()
    try:
        with open(p, "a", encoding="utf-8"):
            pass
    except OSError as e:
        raise UsageError(f"--report {path}: cannot write: {e.strerror or e}") from None
    if not existed:
        try:
            p.unlink()
        except OSError:
            pass
    return p


def write_report(path: str | os.PathLike[str], text: str) -> None:
    """Write the page; an OSError becomes a UsageError naming the path."""
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as e:
        raise UsageError(f"--report {path}: cannot write: {e.strerror or e}") from None


# ---------------------------------------------------------------------------- the data


def _xs(r: Replay) -> tuple[list[float], str]:
    samples = r.samples
    if r.first_ts >= 0 and all(s.ts >= 0 for s in samples) and r.last_ts > r.first_ts:
        return [(s.ts - r.first_ts) / 1e9 for s in samples], "trace time (s)"
    return [float(s.events) for s in samples], "events replayed"


def _page_kib(r: Replay) -> int:
    return (1 << r.page_shift) >> 10


def _slabinfo(r: Replay) -> dict[str, tuple[int, int, int, int, int]]:
    """name -> (active_objs, num_objs, objsize, pages, slabs) of caches with slabs,
    from the machine's /proc/slabinfo (version 2.1)."""
    out: dict[str, tuple[int, int, int, int, int]] = {}
    for line in r.k.proc("slabinfo").splitlines():
        if not line or line.startswith(("#", "slabinfo")):
            continue
        f = line.split()
        try:
            name, active, num, objsize, pps = f[0], int(f[1]), int(f[2]), int(f[3]), int(f[5])
            slabs = int(f[f.index("slabdata") + 2])
        except (ValueError, IndexError):
            continue
        if slabs:
            out[name] = (active, num, objsize, slabs * pps, slabs)
    return out


def _buddyinfo(r: Replay) -> list[tuple[str, list[int]]]:
    """(zone, free blocks per order) from the machine's /proc/buddyinfo."""
    rows = []
    for line in r.k.proc("buddyinfo").splitlines():
        head, _, rest = line.partition("zone")
        if not rest:
            continue
        f = rest.split()
        rows.append((f"{head.strip().rstrip(',')} {f[0]}", [int(v) for v in f[1:]]))
    return rows


def _peak(r: Replay, field: str) -> tuple[int, Sample | None]:
    best: tuple[int, Sample | None] = (0, None)
    for s in r.samples:
        v = getattr(s, field)
        if best[1] is None or v > best[0]:
            best = (v, s)
    return best


def _when(r: Replay, s: Sample | None) -> str:
    if s is None:
        return ""
    if r.first_ts >= 0 and s.ts >= 0:
        return f"at {(s.ts - r.first_ts) / 1e9:.3f} s"
    return f"after {s.events:,} events"


def _machine(r: Replay) -> str:
    k = r.k
    src = f"host snapshot {r.host.source}" if r.host is not None else "a fresh boot"
    return f"{k.profile.name}, {k.ram >> 20:,} MiB, {len(k.cpus)} CPUs ({src})"


def _check(r: Replay) -> tuple[str, str]:
    if not r.checked:
        return "not run", "warn"
    return ("clean", "good") if r.check_error is None else ("FAILED", "bad")


def waste_rows(stat: KmemStat, top: int = 15) -> list[tuple[str, int, int]]:
    """(function, total waste, peak live waste) per function, the most wasteful first."""
    rows = [(fn, v[2] - v[3], v[6]) for fn, v in stat.waste.items()]
    rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
    return [r for r in rows if r[1] > 0 or r[2] > 0][: top if top >= 0 else None]


# ---------------------------------------------------------------------------- page pieces


class _Page:
    """The page being built: sections with ids for the table of contents."""

    def __init__(self, counter: list[int] | None = None) -> None:
        self.parts: list[str] = []
        self.toc: list[tuple[str, str]] = []
        self._counter = counter if counter is not None else [0]  # shared with sub-pages: unique table ids

    def sub(self) -> _Page:
        """A page for a part folded into ``<details>``: same table numbering."""
        return _Page(self._counter)

    def section(self, sid: str, title: str) -> None:
        if self.toc:
            self.parts.append("</section>")
        self.toc.append((sid, title))
        self.parts.append(f'<section id="{sid}"><h2>{_esc(title)}</h2>')

    def add(self, text: str) -> None:
        self.parts.append(text)

    def table(
        self,
        caption: str,
        head: Sequence[str],
        rows: Sequence[Sequence[Any]],
        *,
        numeric: Sequence[bool] | None = None,
        signed: Sequence[bool] | None = None,
        search: bool = True,
        note: str = "",
        tid: str | None = None,
    ) -> None:
        """A sortable table; a cell is a value or (value, class).  Numbers carry their
        value in data-v for sorting and are printed with separators."""
        self._counter[0] += 1
        tid = tid or f"t{self._counter[0]}"
        numeric = numeric or [False] * len(head)
        signed = signed or [False] * len(head)
        out = [f'<div class="tbl" id="{tid}">']
        if search and len(rows) > 5:
            out.append(
                f'<input type="search" class="filter" placeholder="Filter {len(rows)} rows…" '
                f'aria-label="Filter the rows of {_esc(caption)}"> <span class="count"></span>'
            )
        out.append('<div class="scroll"><table class="sortable">')
        out.append(f"<caption>{_esc(caption)}</caption><thead><tr>")
        for h, num in zip(head, numeric, strict=True):
            out.append(f'<th scope="col" class="{"num" if num else "txt"}" tabindex="0">{_esc(h)}</th>')
        out.append("</tr></thead><tbody>")
        for row in rows:
            out.append("<tr>")
            for cell, num, sg in zip(row, numeric, signed, strict=True):
                cls = ""
                if isinstance(cell, tuple):
                    cell, cls = cell
                if num and isinstance(cell, (int, float)):
                    text = _signed(cell) if sg else _n(cell)
                    if sg and cell:
                        cls = (cls + " " + ("up" if cell > 0 else "down")).strip()
                    out.append(f'<td class="num {cls}" data-v="{cell}">{text}</td>')
                else:
                    out.append(f'<td class="{cls}">{_esc(cell)}</td>' if cls else f"<td>{_esc(cell)}</td>")
            out.append("</tr>")
        out.append("</tbody></table></div>")
        if note:
            out.append(f'<p class="note">{note}</p>')
        out.append("</div>")
        self.parts.append("".join(out))

    def details(self, summary: str, body: str, *, pre: bool = False) -> None:
        inner = f"<pre>{_esc(body)}</pre>" if pre else body
        self.parts.append(f"<details><summary>{_esc(summary)}</summary>{inner}</details>")

    def render(self, title: str, subtitle: str, headline: str) -> str:
        if self.toc:
            self.parts.append("</section>")
        toc = "".join(f'<li><a href="#{sid}">{_esc(t)}</a></li>' for sid, t in self.toc)
        return "\n".join(
            [
                '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
                '<meta name="viewport" content="width=device-width, initial-scale=1">',
                f"<title>{_esc(title)}</title><style>{_asset('report.css')}</style></head><body>",
                f'<header><h1>{_esc(title)}</h1><p class="sub">{subtitle}</p></header>',
                headline,
                f'<nav id="toc" aria-label="Contents"><h2>Contents</h2><ol>{toc}</ol></nav>',
                "<main>",
                *self.parts,
                "</main>",
                "<footer><p>Made by kmemsim; everything is in this file (no network needed to view it). "
                "Charts: hover for values, click a line's legend entry to hide it. Tables: click a heading to "
                "sort, type in the box to filter.</p></footer>",
                f"<script>{_asset('report.js')}</script>",
                "</body></html>\n",
            ]
        )


def _headline(machine: str, cards: list[str]) -> str:
    body = f'{machine}<div class="cards">{"".join(cards)}</div>'
    return f'<section id="headline" aria-label="Headline numbers">{body}</section>'


def _card(value: str, label: str, sub: str = "", cls: str = "") -> str:
    sub_html = f'<div class="sub">{sub}</div>' if sub else ""
    return f'<div class="card {cls}"><div class="v">{value}</div><div class="k">{_esc(label)}</div>{sub_html}</div>'


def _duration(r: Replay) -> str:
    if r.first_ts >= 0 and r.last_ts >= r.first_ts:
        return f"{(r.last_ts - r.first_ts) / 1e9:.6f} s"
    return "unknown"


def _unplaced(r: Replay) -> int:
    return sum(r.unplaced.values())


def _headline_replay(r: Replay, ps: ParseStats | None) -> str:
    kib = _page_kib(r)
    peak, ps_ = _peak(r, "slab_pages")
    hold, hs = _peak(r, "replay_pages")
    chk, chk_cls = _check(r)
    lines = f"{ps.lines:,} lines, format {_esc(ps.format or 'unknown')}; " if ps is not None else ""
    lost = ps.lost_events if ps is not None else r.lost_events
    cards = [
        _card(_n(r.n), "events in the trace", f"{lines}{sum(r.placed.values()):,} carried out by the machine"),
        _card(_esc(_duration(r)), "trace time", f"{len(r.samples):,} samples"),
        _card(
            _n(r.mismatches),
            "bytes_alloc mismatches",
            "traced size ≠ the model's",
            "good" if r.mismatches == 0 else "bad",
        ),
        _card(f"{peak:,} pages", "peak slab footprint", f"{peak * kib:,} KiB, {_when(r, ps_)} (sampled)"),
        _card(f"{hold:,} pages", "peak held for page events", f"{hold * kib:,} KiB, {_when(r, hs)} (sampled)"),
        _card(
            _n(_unplaced(r)),
            "events not placed",
            f"{_n(lost)} lost in the trace",
            "good" if not _unplaced(r) else "warn",
        ),
        _card(chk, "k.check() at the end", "", chk_cls),
    ]
    machine = f'<p class="machine"><b>Machine:</b> {_esc(_machine(r))}</p>'
    return _headline(machine, cards)


def _headline_compare(c: Comparison | None, a: Replay, b: Replay, ps: ParseStats | None) -> str:
    la, lb = c.labels if c is not None else (_machine(a), _machine(b))
    sa, sb = a.final, b.final
    pa_, _ = _peak(a, "slab_pages")
    pb_, _ = _peak(b, "slab_pages")

    def cmp_card(
        label: str, va: int | float, vb: int | float, unit: str = "", better: str = "", dunit: str | None = None
    ) -> str:
        """B - A; green when B is better (``better``: "lower", "higher" or "zero"), red when worse."""
        d = vb - va
        pct = f" ({100 * d / va:+.1f}%)" if va and isinstance(va, int) and d else ""
        if better == "zero":
            cls = "good" if va == vb == 0 else "bad"
        elif not d or not better:
            cls = ""
        else:
            cls = "good" if (d < 0) == (better == "lower") else "bad"
        du = unit if dunit is None else dunit
        return _card(f"{_signed(d)}{du}", f"{label}, B − A", f"A {_n(va)}{unit}, B {_n(vb)}{unit}{pct}", cls)

    chk_a, _ = _check(a)
    chk_b, _ = _check(b)
    ok = a.check_error is None and b.check_error is None
    lines = f"{ps.lines:,} lines, format {_esc(ps.format or 'unknown')}" if ps is not None else ""
    hi_a = sum(sa.free_blocks[a.pa.pageblock_order :])
    hi_b = sum(sb.free_blocks[b.pa.pageblock_order :])
    cards = [
        _card(_n(a.n), "events, on each machine", lines),
        _card(_esc(_duration(a)), "trace time", f"{len(a.samples):,} samples"),
        cmp_card("slab pages at the end", sa.slab_pages, sb.slab_pages, better="lower"),
        cmp_card("peak slab pages (sampled)", pa_, pb_, better="lower"),
        cmp_card("slab utilisation", 100 * sa.utilisation, 100 * sb.utilisation, " %", "higher", " pts"),
        cmp_card("free blocks ≥ pageblock order", hi_a, hi_b, better="higher"),
        cmp_card("bytes_alloc mismatches", a.mismatches, b.mismatches, better="zero"),
        _card("clean" if ok else "FAILED", "k.check() at the end", f"A {chk_a}, B {chk_b}", "good" if ok else "bad"),
    ]
    diff = _esc(c.differences()) if c is not None else ""
    machine = f'<p class="machine"><b>A:</b> {_esc(la)}<br><b>B:</b> {_esc(lb)}</p>' + (
        f'<p class="diffs"><b>Differences:</b> {diff}</p>' if diff else ""
    )
    return _headline(machine, cards)


# ---------------------------------------------------------------------------- charts


def _top_caches(samples: Sequence[Sample], top: int) -> list[str]:
    peak: dict[str, int] = {}
    for s in samples:
        for n, v in s.caches.items():
            if v > peak.get(n, 0):
                peak[n] = v
    return sorted(peak, key=lambda n: (-peak[n], n))[:top]


def _footprint_charts(r: Replay, page: _Page) -> None:
    xs, xl = _xs(r)
    ss = r.samples
    names = _top_caches(ss, TOP_CACHES)
    series = [
        Series(n, [s.caches.get(n, 0) for s in ss], PALETTE[i % len(PALETTE)], kind="area") for i, n in enumerate(names)
    ]
    rest = [s.slab_pages - sum(s.caches.get(n, 0) for n in names) for s in ss]
    if any(rest):
        series.append(Series("other caches", rest, "#c8c8c8", kind="area"))
    series.append(Series("slab pages, all caches", [s.slab_pages for s in ss], "#222", width=1.4))
    kib = _page_kib(r)
    page.add(
        line_chart(
            "chart-slab",
            "Slab footprint: pages of slabs, the largest caches stacked",
            xs,
            series,
            x_label=xl,
            y_label="pages",
            unit="pages",
            note=f"One page is {kib} KiB. The {len(names)} caches with the highest sampled peak are "
            "stacked; the black line is the total.",
        )
    )
    pseries = [Series("pages held for the trace's page events", [s.replay_pages for s in ss], PALETTE[5])]
    if any(s.large_pages for s in ss):
        pseries.append(Series("large kmalloc pages", [s.large_pages for s in ss], PALETTE[3]))
    page.add(
        line_chart(
            "chart-pages",
            "Page allocations: pages the trace's page events hold",
            xs,
            pseries,
            x_label=xl,
            y_label="pages",
            unit="pages",
            note="mm_page_alloc events that are not a slab's own page, less their frees; "
            "on its own axis (slab pages are above).",
        )
    )
    page.add(
        line_chart(
            "chart-util",
            "Slab utilisation: bytes of objects in use / bytes of slab pages",
            xs,
            [Series("utilisation", [round(100 * s.utilisation, 2) for s in ss], PALETTE[2])],
            x_label=xl,
            y_label="%",
            unit="%",
            y_max=100,
            height=200,
            note="Objects on the CPU freelists count as in use, as /proc/slabinfo counts them.",
        )
    )


def _frag_series(
    ss: Sequence[Sample], pb: int, label: str = "", dash: str = "", order3: bool = True, extfrag: bool = True
) -> list[Series]:
    out = []
    zones = sorted(ss[-1].unusable) if ss else []
    for j, z in enumerate(zones):
        col = PALETTE[j % len(PALETTE)]
        out.append(
            Series(
                f"{label}{z}: unusable free index, order {pb}",
                [s.unusable.get(z, (0,) * (pb + 1))[pb] / 1000 for s in ss],
                col,
                dash=dash,
            )
        )
        if order3:
            out.append(
                Series(
                    f"{label}{z}: unusable free index, order 3",
                    [s.unusable.get(z, (0,) * 4)[3] / 1000 for s in ss],
                    col,
                    dash=dash or "2 3",
                    width=1.2,
                )
            )
        ext = [s.extfrag.get(z, (0,) * (pb + 1))[pb] / 1000 for s in ss]
        if extfrag and any(v > 0 for v in ext):
            out.append(
                Series(
                    f"{label}{z}: fragmentation index, order {pb}",
                    [max(0.0, v) for v in ext],
                    col,
                    dash="8 3 2 3",
                    width=1.2,
                )
            )
    return out


def _blocks_series(r: Replay) -> list[Series]:
    ss = r.samples
    pb = r.pa.pageblock_order
    out = [Series(f"order ≥ {pb} (pageblock)", [sum(s.free_blocks[pb:]) for s in ss], "#222")]
    for i, o in enumerate(sorted({0, 3, pb - 1})):
        out.append(Series(f"order {o}", [s.free_blocks[o] for s in ss], PALETTE[(i + 1) % len(PALETTE)]))
    return out


def _frag_charts(r: Replay, page: _Page) -> None:
    xs, xl = _xs(r)
    page.add(
        line_chart(
            "chart-frag",
            "Fragmentation per zone (/sys/kernel/debug/extfrag)",
            xs,
            _frag_series(r.samples, r.pa.pageblock_order),
            x_label=xl,
            y_label="index (0..1)",
            note="Unusable free index: the share of free memory in blocks too small for the order "
            "(0 none, 1 all). Fragmentation index: drawn where above 0, i.e. where an allocation of "
            "the order would fail for fragmentation rather than lack of memory.",
        )
    )
    page.add(
        line_chart(
            "chart-blocks",
            "Free blocks per order, all zones (/proc/buddyinfo summed)",
            xs,
            _blocks_series(r),
            x_label=xl,
            y_label="free blocks",
            log=True,
            unit="blocks",
        )
    )


def _waste_chart(stat: KmemStat, page: _Page) -> None:
    rows = waste_rows(stat, TOP_BARS)
    if not rows:
        return
    page.add(
        bar_chart(
            "chart-waste",
            "Waste by call site (trace-cmd mem's table), the largest first",
            [r[0] for r in rows],
            [
                ("bytes wasted, all allocations (alloc − req)", [r[1] for r in rows], PALETTE[0]),
                ("peak of live waste", [r[2] for r in rows], PALETTE[1]),
            ],
            x_label="bytes",
        )
    )


# ---------------------------------------------------------------------------- tables


def _events_table(r: Replay, page: _Page) -> None:
    kinds = sorted(r.events, key=lambda k: (-r.events[k], k))
    rows = [
        [
            k,
            r.events[k],
            r.placed.get(k, 0),
            r.preexisting.get(k, 0),
            r.trace_failed.get(k, 0),
            r.model_failed.get(k, 0),
            sum(v for (kk, _), v in r.unplaced.items() if kk == k),
        ]
        for k in kinds
    ]
    page.table(
        "Events by kind",
        [
            "event",
            "in the trace",
            "replayed",
            "pre-existing frees",
            "failed in the trace",
            "failed in the model",
            "not placed",
        ],
        rows,
        numeric=[False] + [True] * 6,
        search=False,
        note=f"kfree(NULL): {r.null_frees:,}; duplicate kmalloc events: {r.duplicates:,}; implied frees "
        f"(an allocation over a live pointer): {r.implied_frees:,}; slab and large-kmalloc pages the "
        f"model's SLUB makes itself: {r.slab_pages_skipped:,} allocations, {r.slab_page_frees:,} frees.",
    )
    if r.unplaced:
        rows2 = [[k, why, v] for (k, why), v in sorted(r.unplaced.items(), key=lambda kv: (-kv[1], kv[0]))]
        sub = page.sub()
        sub.table("Events not placed, by reason", ["event", "reason", "count"], rows2, numeric=[False, False, True])
        page.details(f"Events not placed: {sum(r.unplaced.values()):,}, by reason", "".join(sub.parts))
    if r.mismatch_examples:
        rows3 = [
            [
                m.kind,
                m.name or "",
                m.bytes_req,
                m.gfp_flags,
                m.traced,
                m.model,
                m.call_site,
                m.cpu,
                round(m.ts / 1e9, 6),
            ]
            for m in r.mismatch_examples
        ]
        page.table(
            "bytes_alloc mismatches, the first examples",
            [
                "event",
                "cache",
                "bytes_req",
                "gfp_flags",
                "traced bytes_alloc",
                "the model's",
                "call site",
                "CPU",
                "time (s)",
            ],
            rows3,
            numeric=[False, False, True, False, True, True, False, True, True],
        )


def _cache_rows(r: Replay) -> list[list[Any]]:
    info = _slabinfo(r)
    peak: dict[str, int] = {}
    for s in r.samples:
        for n, v in s.caches.items():
            peak[n] = max(peak.get(n, 0), v)
    kib = _page_kib(r)
    rows = []
    for name, (active, num, objsize, pages, slabs) in sorted(info.items(), key=lambda kv: (-kv[1][3], kv[0])):
        util = round(100 * active * objsize / (pages * kib * 1024), 1) if pages else 0.0
        rows.append(
            [
                name,
                slabs,
                pages,
                pages * kib,
                num,
                active,
                objsize,
                util,
                peak.get(name, pages),
                r.caches_made.get(name, ""),
            ]
        )
    return rows


def _caches_table(r: Replay, page: _Page) -> None:
    page.table(
        "Slab caches with slabs at the end (/proc/slabinfo)",
        [
            "cache",
            "slabs",
            "pages",
            "KiB",
            "objects",
            "active objects",
            "object size",
            "utilisation %",
            "peak pages (sampled)",
            "made for the trace from",
        ],
        _cache_rows(r),
        numeric=[False] + [True] * 8 + [False],
    )


def _buddy_table(r: Replay, page: _Page) -> None:
    rows = _buddyinfo(r)
    if not rows:
        return
    n = max(len(v) for _, v in rows)
    page.table(
        "Free blocks per zone and order at the end (/proc/buddyinfo)",
        ["zone"] + [f"order {o}" for o in range(n)],
        [[z] + v + [0] * (n - len(v)) for z, v in rows],
        numeric=[False] + [True] * n,
        search=False,
    )


def _stat_tables(stat: KmemStat, page: _Page) -> None:
    resolve = getattr(getattr(stat, "sites", None), "resolve", None)

    def site(cs: str) -> str:
        return resolve(cs)[0] if resolve is not None else cs

    if stat.caller_stat:
        rows = []
        for cs, (req, alloc, hit, pp) in stat.caller_stat.items():
            frag = round(100 - 100 * req / alloc, 3) if alloc else 0.0
            rows.append([site(cs), alloc, req, hit, pp, frag])
        rows.sort(key=lambda x: (-x[1], x[0]))
        page.table(
            "Slab allocations per call site (perf kmem stat --caller)",
            ["call site", "bytes allocated", "bytes requested", "allocations", "ping-pong", "frag %"],
            rows,
            numeric=[False, True, True, True, True, True],
        )
    if stat.waste:
        rows = [
            [fn, ca - cr, ca, cr, ta, tr, ma, mr, pw] for fn, (ca, cr, ta, tr, ma, mr, pw, _h) in stat.waste.items()
        ]
        rows.sort(key=lambda x: (-(x[4] - x[5]), x[0]))
        page.table(
            "Waste per function (trace-cmd mem's table; MaxWaste is the true peak of live waste)",
            [
                "function",
                "live waste",
                "live alloc",
                "live req",
                "total alloc",
                "total req",
                "MaxAlloc",
                "MaxReq",
                "MaxWaste",
            ],
            rows,
            numeric=[False] + [True] * 8,
        )
    live = stat.live_objects()
    if live:
        per: dict[str, list[int]] = {}
        for cs, alloc, req, ts, _cpu in live.values():
            p = per.setdefault(site(cs), [0, 0, 0, ts])
            p[0] += 1
            p[1] += alloc
            p[2] += req
            p[3] = min(p[3], ts)
        end = stat.last_ts or 0
        rows = [[cs, n, a, q, round((end - ts) / 1e9, 6)] for cs, (n, a, q, ts) in per.items()]
        rows.sort(key=lambda x: (-x[2], x[0]))
        page.table(
            "Objects live at the end of the trace, per call site (leak candidates)",
            ["call site", "objects", "bytes", "bytes requested", "oldest (s)"],
            rows,
            numeric=[False, True, True, True, True],
        )


# ---------------------------------------------------------------------------- compare


def _aligned(a: Replay, b: Replay) -> tuple[list[float], str, list[Sample], list[Sample]]:
    """The samples both replays took at the same event count (the same trace: all of them)."""
    xs, xl = _xs(a)
    bi = {s.events: s for s in b.samples}
    keep = [(x, s, bi[s.events]) for x, s in zip(xs, a.samples, strict=True) if s.events in bi]
    return [k[0] for k in keep], xl, [k[1] for k in keep], [k[2] for k in keep]


def _diff_chart(page: _Page, cid: str, title: str, xs: Sequence[float], series: list[Series], **kw: Any) -> None:
    """A B − A chart, or one line saying there is no difference when every value is 0."""
    if any(v for s in series for v in s.values):
        page.add(line_chart(cid, title, xs, series, **kw))
    else:
        page.add(f'<p class="note same" id="{cid}"><b>{_esc(title)}</b>: no difference at any sample.</p>')


def _compare_charts(a: Replay, b: Replay, page: _Page) -> None:
    xs, xl, sa, sb = _aligned(a, b)
    pairs = list(zip(sa, sb, strict=True))
    pb_a, pb_b = a.pa.pageblock_order, b.pa.pageblock_order

    def diff(f: Callable[[Sample], float]) -> list[float]:
        return [f(y) - f(x) for x, y in pairs]

    page.section("difference", "B − A over time")
    footprint = [
        Series("slab pages, B − A", diff(lambda s: s.slab_pages), "#222", width=2),
        Series("pages held for page events, B − A", diff(lambda s: s.replay_pages), PALETTE[5]),
        Series("large kmalloc pages, B − A", diff(lambda s: s.large_pages), PALETTE[3]),
    ]
    note = (
        "Above zero: B holds more than A at that moment of the trace. Both machines replay the same events "
        "and are sampled after the same events."
    )
    _diff_chart(
        page,
        "chart-diff",
        "Footprint, B − A (pages)",
        xs,
        footprint,
        x_label=xl,
        y_label="pages, B − A",
        unit="pages",
        note=note,
    )
    names = {n for s in sa + sb for n in s.caches}
    per = {n: [y.caches.get(n, 0) - x.caches.get(n, 0) for x, y in pairs] for n in names}
    moved = sorted((n for n, v in per.items() if any(v)), key=lambda n: (-max(map(abs, per[n])), n))[:8]
    caches = [Series(n, per[n], PALETTE[i % len(PALETTE)]) for i, n in enumerate(moved)]
    _diff_chart(
        page,
        "chart-diff-caches",
        "Slab pages per cache, B − A (the caches that differ most)",
        xs,
        caches,
        x_label=xl,
        y_label="pages, B − A",
        unit="pages",
    )
    blocks = [
        Series(
            f"free blocks ≥ pageblock order, B − A (A: order {pb_a}, B: order {pb_b})",
            [sum(y.free_blocks[pb_b:]) - sum(x.free_blocks[pb_a:]) for x, y in pairs],
            "#222",
        )
    ]
    _diff_chart(
        page,
        "chart-diff-blocks",
        "Free blocks of pageblock order and up, B − A",
        xs,
        blocks,
        x_label=xl,
        y_label="blocks, B − A",
        unit="blocks",
        height=220,
    )
    zones = sorted(set(sa[-1].unusable) & set(sb[-1].unusable)) if sa else []
    frag = [
        Series(z, [(y.unusable[z][pb_b] - x.unusable[z][pb_a]) / 1000 for x, y in pairs], PALETTE[i % len(PALETTE)])
        for i, z in enumerate(zones)
    ]
    _diff_chart(
        page,
        "chart-diff-frag",
        "Unusable free index at the pageblock order, B − A, per zone",
        xs,
        frag,
        x_label=xl,
        y_label="index, B − A",
        height=220,
        note="Above zero: more of B's free memory is in blocks too small for a pageblock.",
    )
    util = [Series("slab utilisation, B − A", [round(100 * v, 2) for v in diff(lambda s: s.utilisation)], PALETTE[2])]
    _diff_chart(
        page,
        "chart-diff-util",
        "Slab utilisation, B − A (percentage points)",
        xs,
        util,
        x_label=xl,
        y_label="percentage points",
        unit="points",
        height=200,
    )
    page.section("side-by-side", "A and B")
    ab = [
        Series("A: slab pages", [x.slab_pages for x in sa], PALETTE[0], width=2),
        Series("B: slab pages", [y.slab_pages for y in sb], PALETTE[1], dash="6 4", width=2),
    ]
    page.add(
        line_chart(
            "chart-ab",
            "Slab pages, A and B",
            xs,
            ab,
            x_label=xl,
            y_label="pages",
            unit="pages",
            height=240,
            note="Where the lines overlap the difference is small: the charts above draw it.",
        )
    )


def _cache_diff(a: Replay, b: Replay, page: _Page) -> None:
    fa, fb = a.final.caches, b.final.caches
    ia, ib = _slabinfo(a), _slabinfo(b)
    names = sorted(set(fa) | set(fb), key=lambda n: (-abs(fb.get(n, 0) - fa.get(n, 0)), n))
    top = [n for n in names if fb.get(n, 0) != fa.get(n, 0)][:TOP_BARS]
    page.section("caches", "Slab caches, A and B")
    if top:
        page.add(
            bar_chart(
                "chart-cache-diff",
                "Slab pages per cache at the end, B − A (the largest differences)",
                top,
                [("B − A pages", [fb.get(n, 0) - fa.get(n, 0) for n in top], PALETTE[0])],
                x_label="pages, B − A",
            )
        )
    else:
        page.add('<p class="note">Every cache has the same number of slab pages on A and B at the end.</p>')
    rows = []
    for n in sorted(set(fa) | set(fb), key=lambda n: (-max(fa.get(n, 0), fb.get(n, 0)), n)):
        rows.append(
            [
                n,
                fa.get(n, 0),
                fb.get(n, 0),
                fb.get(n, 0) - fa.get(n, 0),
                ia.get(n, (0,) * 5)[0],
                ib.get(n, (0,) * 5)[0],
                ib.get(n, (0,) * 5)[0] - ia.get(n, (0,) * 5)[0],
            ]
        )
    page.table(
        "Slab pages and objects in use per cache at the end",
        ["cache", "A pages", "B pages", "B − A pages", "A active objects", "B active objects", "B − A objects"],
        rows,
        numeric=[False] + [True] * 6,
        signed=[False, False, False, True, False, False, True],
        note="A cache merged into another on one machine is counted under the cache it was merged into.",
    )


def _compare_table(a: Replay, b: Replay, page: _Page) -> None:
    sa, sb = a.final, b.final
    ka, kb = a.k, b.k
    kib = _page_kib(a)
    rows: list[list[Any]] = []

    def row(label: str, va: int | float, vb: int | float) -> None:
        rows.append([label, va, vb, vb - va])

    row("CPUs", len(ka.cpus), len(kb.cpus))
    row("RAM (MiB)", ka.ram >> 20, kb.ram >> 20)
    row("slab caches in use", len(sa.caches), len(sb.caches))
    row("slab pages", sa.slab_pages, sb.slab_pages)
    row("slab KiB", sa.slab_pages * kib, sb.slab_pages * _page_kib(b))
    row("slab objects", sa.slab_objects, sb.slab_objects)
    row("slab objects in use", sa.slab_active, sb.slab_active)
    row("slab utilisation %", round(100 * sa.utilisation, 1), round(100 * sb.utilisation, 1))
    row("large kmalloc pages", sa.large_pages, sb.large_pages)
    row("pages held for page events", sa.replay_pages, sb.replay_pages)
    row("free pages", ka.nr_free_pages(), kb.nr_free_pages())
    row("bytes_alloc mismatches", a.mismatches, b.mismatches)
    row("allocations the model failed", sum(a.model_failed.values()), sum(b.model_failed.values()))
    row("events not placed", _unplaced(a), _unplaced(b))
    row("peak slab pages (sampled)", _peak(a, "slab_pages")[0], _peak(b, "slab_pages")[0])
    for o in range(max(len(sa.free_blocks), len(sb.free_blocks))):
        row(
            f"free blocks of order {o}",
            sa.free_blocks[o] if o < len(sa.free_blocks) else 0,
            sb.free_blocks[o] if o < len(sb.free_blocks) else 0,
        )
    for zn in sorted(set(sa.unusable) & set(sb.unusable)):
        pa, pb = a.pa.pageblock_order, b.pa.pageblock_order
        row(f"{zn}: unusable free index ×1000, order 3", sa.unusable[zn][3], sb.unusable[zn][3])
        row(f"{zn}: unusable free index ×1000, pageblock order", sa.unusable[zn][pa], sb.unusable[zn][pb])
    page.table(
        "The machines at the end of the trace",
        ["", "A", "B", "B − A"],
        rows,
        numeric=[False, True, True, True],
        signed=[False, False, False, True],
    )


# ---------------------------------------------------------------------------- the page


def html_report(
    replays: Sequence[tuple[str, Replay]],
    *,
    stat: KmemStat | None = None,
    title: str | None = None,
    summaries: Sequence[tuple[str, str]] = (),
    comparison: Comparison | None = None,
    parse_stats: ParseStats | None = None,
) -> str:
    """One self-contained HTML page of one replay, or of two (``kmemsim compare``: A and
    B, with ``comparison`` for its labels and differences).  ``summaries`` are
    (heading, text) pairs shown folded at the end (the command's text report);
    ``stat`` adds the call-site, waste and live-object tables."""
    if not replays:
        raise UsageError("html_report: no replay to report")
    if title is None:
        title = "kmemsim compare" if len(replays) >= 2 else "kmemsim replay"
    page = _Page()
    ps = parse_stats or (comparison.parse_stats if comparison is not None else None)
    ps = ps or getattr(replays[0][1], "parse_stats", None)
    if len(replays) >= 2:
        (la, a), (lb, b) = replays[0], replays[1]
        headline = _headline_compare(comparison, a, b, ps)
        subtitle = "The same trace replayed on two machines, A and B: B − A first"
        _compare_charts(a, b, page)
        _cache_diff(a, b, page)
        page.section("machines", "The machines side by side")
        _compare_table(a, b, page)
        for sid, label, r in (("machine-a", la, a), ("machine-b", lb, b)):
            page.section(sid, f"Machine {label}")
            page.add(f'<p class="machine">{_esc(_machine(r))}; k.check(): {_esc(_check(r)[0])}</p>')
            _footprint_charts_one(r, page, label)
            sub = page.sub()
            _events_table(r, sub)
            _caches_table(r, sub)
            page.details(f"Machine {label}: events and slab caches", "".join(sub.parts))
    else:
        _label, r = replays[0]
        headline = _headline_replay(r, ps)
        subtitle = "The trace replayed in the model, event by event"
        page.section("footprint", "Footprint over time")
        _footprint_charts(r, page)
        page.section("fragmentation", "Fragmentation over time")
        _frag_charts(r, page)
        page.section("events", "Events")
        _events_table(r, page)
        page.section("caches", "Slab caches")
        _caches_table(r, page)
        if r.caches_made:
            sub = page.sub()
            sub.table("Caches made for the trace", ["cache", "how"], sorted(r.caches_made.items()))
            page.details(f"Caches made for the trace: {len(r.caches_made)}", "".join(sub.parts))
        page.section("buddy", "Free memory")
        _buddy_table(r, page)
    if stat is not None:
        page.section("callsites", "Call sites")
        _waste_chart(stat, page)
        _stat_tables(stat, page)
    if summaries or stat is not None or ps is not None:
        page.section("text", "The text reports")
        if ps is not None:
            page.add(f'<p class="note">Trace: {_esc(ps.summary())}</p>')
        for heading, text in summaries:
            page.details(heading, text, pre=True)
        if stat is not None:
            page.details("Statistics (kmemsim stat: perf kmem stat's report, then kmemsim's)", stat.report(), pre=True)
    return page.render(title, subtitle, headline)


def _footprint_charts_one(r: Replay, page: _Page, label: str) -> None:
    """A compare's per-machine footprint chart (ids made unique by the label)."""
    xs, xl = _xs(r)
    ss = r.samples
    names = _top_caches(ss, TOP_CACHES)
    series = [
        Series(n, [s.caches.get(n, 0) for s in ss], PALETTE[i % len(PALETTE)], kind="area") for i, n in enumerate(names)
    ]
    rest = [s.slab_pages - sum(s.caches.get(n, 0) for n in names) for s in ss]
    if any(rest):
        series.append(Series("other caches", rest, "#c8c8c8", kind="area"))
    series.append(Series("slab pages, all caches", [s.slab_pages for s in ss], "#222", width=1.4))
    cid = "".join(ch if ch.isalnum() else "-" for ch in label)
    page.add(
        line_chart(
            f"chart-slab-{cid}",
            f"{label}: slab footprint, the largest caches stacked",
            xs,
            series,
            x_label=xl,
            y_label="pages",
            unit="pages",
            height=240,
        )
    )
