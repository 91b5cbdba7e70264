"""Plots of a replay and the one-page HTML report of ``kmemsim replay --report``.

Plots need matplotlib, an optional extra (``pip install kmemsim[plot]``); without it
:func:`have_matplotlib` is False, :func:`figures` returns nothing and the HTML page
says how to get them, with every table still there.  Figures are drawn with
matplotlib's object API on the Agg canvas (no pyplot, no global state, no display)
and embedded as base64 PNG, so the page is one self-contained file that needs no
network to open.

- **footprint over time**: slab pages in all, the largest caches stacked, pages of
  large kmallocs and of the trace's page allocations, against trace time;
- **fragmentation over time**: per zone, the unusable free index at order 3 and at
  the pageblock order and the fragmentation index at the pageblock order
  (/sys/kernel/debug/extfrag, mm/vmstat.c), and free blocks of pageblock order and up;
- **waste by call site**: trace-cmd mem's per-function table (``kmemsim stat
  --waste``): total bytes wasted (allocated minus requested) and the peak of live
  waste, the largest first.

Two replays (``kmemsim compare``) are drawn on the same axes, A solid and B dashed.
"""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from .replay import Replay
    from .stat import KmemStat

__all__ = ["have_matplotlib", "figures", "html_report"]


def have_matplotlib() -> bool:
    """True when matplotlib can be imported (the ``plot`` extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _new_figure(w: float = 9.0, h: float = 4.2) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=96)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _xs(r: Replay) -> tuple[list[float], str]:
    samples = r.samples
    if r.first_ts >= 0 and all(s.ts >= 0 for s in samples) and r.last_ts > r.first_ts:
        return [(s.ts - r.first_ts) / 1e9 for s in samples], "trace time (s)"
    return [float(s.events) for s in samples], "events replayed"


def footprint_figure(replays: Sequence[tuple[str, Replay]], top: int = 6) -> bytes:
    fig = _new_figure()
    ax = fig.add_subplot(1, 1, 1)
    styles = ["-", "--"]
    label_x = "events replayed"
    for i, (label, r) in enumerate(replays):
        if not r.samples:
            continue
        xs, label_x = _xs(r)
        ls = styles[i % 2]
        pre = f"{label}: " if len(replays) > 1 else ""
        last = r.samples[-1].caches
        names = sorted(last, key=lambda n: -max(s.caches.get(n, 0) for s in r.samples))[:top]
        if len(replays) == 1 and names:
            ys = [[s.caches.get(n, 0) for s in r.samples] for n in names]
            rest = [s.slab_pages - sum(col) for s, col in zip(r.samples, zip(*ys))]
            ax.stackplot(xs, ys + [rest], labels=names + ["other caches"], alpha=0.55)
        ax.plot(xs, [s.slab_pages for s in r.samples], ls, color="black", label=f"{pre}slab pages (all caches)")
        if any(s.large_pages for s in r.samples):
            ax.plot(xs, [s.large_pages for s in r.samples], ls, color="tab:purple", label=f"{pre}large kmalloc pages")
        ax.plot(xs, [s.replay_pages for s in r.samples], ls, color="tab:gray", label=f"{pre}pages of page events")
    ax.set_xlabel(label_x)
    ax.set_ylabel("pages")
    ax.set_title("Footprint over time")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    ax.grid(alpha=0.3)
    return _png(fig)


def fragmentation_figure(replays: Sequence[tuple[str, Replay]]) -> bytes:
    fig = _new_figure(9.0, 6.0)
    ax = fig.add_subplot(2, 1, 1)
    ax2 = fig.add_subplot(2, 1, 2)
    styles = ["-", "--"]
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:brown", "tab:cyan"]
    label_x = "events replayed"
    for i, (label, r) in enumerate(replays):
        if not r.samples:
            continue
        xs, label_x = _xs(r)
        ls = styles[i % 2]
        pre = f"{label}: " if len(replays) > 1 else ""
        pb = r.pa.pageblock_order
        zones = sorted(r.samples[-1].unusable)
        for j, z in enumerate(zones):
            col = colors[j % len(colors)]
            ax.plot(xs, [s.unusable.get(z, (0,) * (pb + 1))[pb] / 1000 for s in r.samples], ls, color=col,
                    label=f"{pre}{z} unusable index, order {pb}")  # fmt: skip
            ax.plot(xs, [s.unusable.get(z, (0,) * 4)[3] / 1000 for s in r.samples], ls, color=col, alpha=0.45,
                    label=f"{pre}{z} unusable index, order 3")  # fmt: skip
            ext = [s.extfrag.get(z, (0,) * (pb + 1))[pb] / 1000 for s in r.samples]
            if any(v > 0 for v in ext):
                ax.plot(xs, ext, ":", color=col, label=f"{pre}{z} fragmentation index, order {pb}")
        ax2.plot(xs, [sum(s.free_blocks[pb:]) for s in r.samples], ls, color="black",
                 label=f"{pre}order >= {pb}")  # fmt: skip
        for o, col in ((0, "tab:gray"), (3, "tab:olive"), (pb - 1, "tab:pink")):
            ax2.plot(xs, [s.free_blocks[o] for s in r.samples], ls, color=col, label=f"{pre}order {o}")
    ax.set_ylabel("index (0..1)")
    ax.set_title("Fragmentation over time (/sys/kernel/debug/extfrag)")
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    ax.grid(alpha=0.3)
    ax2.set_xlabel(label_x)
    ax2.set_ylabel("free blocks (all zones)")
    ax2.set_yscale("symlog", linthresh=10)
    ax2.legend(fontsize=7, loc="upper left")
    ax2.grid(alpha=0.3)
    return _png(fig)


def waste_rows(stat: KmemStat, top: int = 15) -> list[tuple[str, int, int]]:
    """(function, total waste, peak live waste) per function, the most wasteful first."""
    rows = [(fn, v[2] - v[3], v[6]) for fn, v in stat.waste.items()]
    rows.sort(key=lambda r: (-r[1], -r[2], r[0]))
    return [r for r in rows if r[1] > 0 or r[2] > 0][:top]


def waste_figure(stat: KmemStat, top: int = 15) -> bytes | None:
    rows = waste_rows(stat, top)
    if not rows:
        return None
    fig = _new_figure(9.0, max(2.5, 0.32 * len(rows) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    names = [r[0][-40:] for r in rows][::-1]
    total = [r[1] for r in rows][::-1]
    peak = [r[2] for r in rows][::-1]
    ys = list(range(len(rows)))
    ax.barh([y + 0.2 for y in ys], total, height=0.4, label="bytes wasted, all allocations (alloc - req)")
    ax.barh([y - 0.2 for y in ys], peak, height=0.4, label="peak of live waste")
    ax.set_yticks(ys)
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlabel("bytes")
    ax.set_title("Waste by call site (trace-cmd mem's table)")
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    return _png(fig)


def figures(replays: Sequence[tuple[str, Replay]], stat: KmemStat | None = None) -> dict[str, bytes]:
    """title -> PNG bytes; empty without matplotlib."""
    if not have_matplotlib():
        return {}
    out = {
        "Footprint over time": footprint_figure(replays),
        "Fragmentation over time": fragmentation_figure(replays),
    }
    if stat is not None:
        w = waste_figure(stat)
        if w is not None:
            out["Waste by call site"] = w
    return out


_CSS = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; border-bottom: 1px solid #ccc; margin-top: 1.6em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; font-size: 0.8em; line-height: 1.25; }
img { max-width: 100%; border: 1px solid #ddd; margin: 0.4em 0; }
.note { color: #a33; }
table { border-collapse: collapse; font-size: 0.85em; } td, th { padding: 2px 8px; border: 1px solid #ddd; }
"""


def html_report(
    replays: Sequence[tuple[str, Replay]],
    *,
    stat: KmemStat | None = None,
    title: str = "kmemsim replay",
    summaries: Sequence[tuple[str, str]] = (),
) -> str:
    """One self-contained HTML page: the figures (base64 PNG), then ``summaries``
    (heading, preformatted text: the replay summary, the compare table) and the
    stat report."""
    imgs = figures(replays, stat)
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    if stat is not None and stat.waste:
        rows = waste_rows(stat, 10)
        if rows:
            parts.append("<h2>Most wasteful call sites</h2><table><tr><th>function</th><th>bytes wasted</th>"
                         "<th>peak live waste</th></tr>")  # fmt: skip
            for fn, tot, peak in rows:
                parts.append(f"<tr><td>{html.escape(fn)}</td><td>{tot}</td><td>{peak}</td></tr>")
            parts.append("</table>")
    if imgs:
        for name, png in imgs.items():
            b64 = base64.b64encode(png).decode("ascii")
            parts.append(f"<h2>{html.escape(name)}</h2><img alt=\"{html.escape(name)}\" src=\"data:image/png;base64,{b64}\">")
    else:
        parts.append("<p class=\"note\">No plots: matplotlib is not installed (<code>pip install "
                     "kmemsim[plot]</code>).</p>")  # fmt: skip
    for heading, text in summaries:
        parts.append(f"<h2>{html.escape(heading)}</h2><pre>{html.escape(text)}</pre>")
    if stat is not None:
        parts.append(f"<h2>Statistics (kmemsim stat)</h2><pre>{html.escape(stat.report())}</pre>")
    parts.append("<p><small>Made by kmemsim; the figures are embedded, the page needs no network.</small></p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
