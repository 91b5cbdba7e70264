"""Small SVG charts for the HTML report, drawn without a plotting library.

Every chart is a ``<figure>`` holding an inline ``<svg>`` (readable with scripts off,
printable, no network), an HTML legend and, for time series, the data as JSON in a
``<script type="application/json">`` that the report's script reads to draw the
hover read-out.  All text goes through :func:`html.escape` and the JSON through
:func:`json_for_script`, so a cache name or call site such as ``$\\foo$`` or
``</script>`` is shown as it is, never interpreted.

- :func:`line_chart`: lines and stacked areas over a numeric x axis, linear or
  log (``log10(1 + y)``) y axis, a zero line when the values cross zero;
- :func:`bar_chart`: horizontal bars, one or two per label, negative values
  drawn left of zero (differences).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Series", "line_chart", "bar_chart", "nice_ticks", "json_for_script", "PALETTE"]

#: Okabe-Ito's colour-blind safe set, then Tableau's, for long stacks.
PALETTE = (
    "#0072b2",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#f0e442",
    "#7f7f7f",
    "#8c564b",
    "#17becf",
    "#bcbd22",
    "#9467bd",
)

W = 900  # viewBox width; the page scales it to the column
LEFT, RIGHT, TOP, BOTTOM = 70, 18, 14, 42


@dataclass
class Series:
    """One line or stacked area of a :func:`line_chart`."""

    name: str
    values: Sequence[float]
    color: str
    #: "line" or "area" (areas are stacked, in the order given, under the lines)
    kind: str = "line"
    #: SVG stroke-dasharray ("" solid)
    dash: str = ""
    width: float = 1.8


def json_for_script(obj: object) -> str:
    """JSON that is safe inside ``<script>``: no ``<``, ``>``, ``&`` or line separators."""
    text = json.dumps(obj, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten)."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        hi = lo + 1 if lo == 0 else lo + abs(lo) * 0.1
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.floor(lo / step) * step
    out = []
    v = first
    while v < hi + step * 1e-9:
        out.append(round(v, 10))
        v += step
    if out[-1] < hi - step * 1e-9:
        out.append(round(out[-1] + step, 10))
    return out


def _fmt(v: float) -> str:
    """A tick label: integers with thousands separators, else up to 3 significant decimals."""
    if abs(v) >= 1e6 and float(v).is_integer():
        return f"{v / 1e6:g}M"
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:.3g}" if abs(v) < 1 else f"{v:,.2f}".rstrip("0").rstrip(".")


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _legend(series: Sequence[Series], toggles: bool) -> str:
    items = []
    for i, s in enumerate(series):
        sw = (
            f'<svg class="sw" viewBox="0 0 22 10" aria-hidden="true"><line x1="1" y1="5" x2="21" y2="5" '
            f'stroke="{s.color}" stroke-width="3" stroke-dasharray="{s.dash}"/></svg>'
            if s.kind == "line"
            else f'<span class="sw box" style="background:{s.color}"></span>'
        )
        if toggles:
            items.append(
                f'<li><button type="button" class="lg" data-s="{i}" aria-pressed="true">{sw}{_esc(s.name)}'
                "</button></li>"
            )
        else:
            items.append(f'<li><span class="lg" data-s="{i}">{sw}{_esc(s.name)}</span></li>')
    return '<ul class="legend">' + "".join(items) + "</ul>"


def line_chart(
    cid: str,
    title: str,
    xs: Sequence[float],
    series: Sequence[Series],
    *,
    x_label: str,
    y_label: str,
    log: bool = False,
    y_max: float | None = None,
    height: int = 280,
    note: str = "",
    unit: str = "",
) -> str:
    """A figure: ``series`` over ``xs``.  Areas are stacked (their sum is the top);
    lines are drawn on top.  The y axis starts at 0 (or below, for negative values);
    ``y_max`` fixes its top (an index that runs 0..1); ``log`` draws log10(1 + y)."""
    h = height
    pw, ph = W - LEFT - RIGHT, h - TOP - BOTTOM
    n = len(xs)
    areas = [s for s in series if s.kind == "area"]
    lines = [s for s in series if s.kind != "area"]
    stacked: list[list[float]] = []
    acc = [0.0] * n
    for s in areas:
        acc = [a + float(v) for a, v in zip(acc, s.values, strict=True)]
        stacked.append(acc)
    vals = [v for s in lines for v in s.values] + (stacked[-1] if stacked else [])
    vmin = min([0.0, *vals]) if vals else 0.0
    vmax = max([0.0, *vals]) if vals else 1.0
    if y_max is not None:
        vmax = max(vmax, y_max)

    def tr(v: float) -> float:
        return math.log10(1 + max(0.0, v)) if log else v

    if log:
        top = max(1, math.ceil(tr(vmax)))
        yticks = [float(10**e - (1 if e == 0 else 0)) for e in range(0, top + 1)]
        yticks[0] = 0.0
        ylo, yhi = 0.0, float(top)
    else:
        yticks = nice_ticks(vmin, vmax)
        ylo, yhi = yticks[0], yticks[-1]
    x0 = float(xs[0]) if n else 0.0
    x1 = float(xs[-1]) if n else 1.0
    if x1 <= x0:
        x1 = x0 + 1.0
    xticks = [t for t in nice_ticks(x0, x1, 8) if x0 - 1e-12 <= t <= x1 + 1e-12]

    def px(x: float) -> float:
        return LEFT + (float(x) - x0) / (x1 - x0) * pw

    def py(v: float) -> float:
        return TOP + ph - (tr(v) - ylo) / (yhi - ylo) * ph

    out = [
        f'<figure class="chart" id="{_esc(cid)}" data-chart="line">',
        f"<figcaption>{_esc(title)}</figcaption>",
        f'<div class="plot"><svg viewBox="0 0 {W} {h}" role="img" aria-label="{_esc(title)}" '
        f'preserveAspectRatio="xMidYMid meet">',
        f'<rect class="bg" x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}"/>',
    ]
    for t in yticks:
        y = py(t)
        out.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + pw}" y1="{y:.1f}" y2="{y:.1f}"/>')
        out.append(f'<text class="tick" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(t)}</text>')
    for t in xticks:
        x = px(t)
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + ph}"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{TOP + ph + 16}" text-anchor="middle">{_fmt(t)}</text>')
    out.append(f'<text class="axis" x="{LEFT + pw / 2:.0f}" y="{h - 6}" text-anchor="middle">{_esc(x_label)}</text>')
    out.append(
        f'<text class="axis" transform="translate(14 {TOP + ph / 2:.0f}) rotate(-90)" text-anchor="middle">'
        f"{_esc(y_label)}{' (log scale)' if log else ''}</text>"
    )
    if n:
        prev = [0.0] * n
        for s, top_ in zip(areas, stacked, strict=True):
            upper = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in zip(xs, top_, strict=True))
            lower = " ".join(f"{px(x):.1f},{py(v):.1f}" for x, v in zip(reversed(xs), reversed(prev), strict=True))
            idx = list(series).index(s)
            out.append(
                f'<polygon class="area" data-s="{idx}" fill="{s.color}" points="{upper} {lower}">'
                f"<title>{_esc(s.name)}</title></polygon>"
            )
            prev = top_
        for s in lines:
            idx = list(series).index(s)
            pts = " ".join(f"{px(x):.1f},{py(float(v)):.1f}" for x, v in zip(xs, s.values, strict=True))
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            out.append(
                f'<polyline class="line" data-s="{idx}" stroke="{s.color}" stroke-width="{s.width}"{dash} '
                f'points="{pts}"><title>{_esc(s.name)}</title></polyline>'
            )
        if vmin < 0 < vmax and not log:
            out.append(f'<line class="zero" x1="{LEFT}" x2="{LEFT + pw}" y1="{py(0):.1f}" y2="{py(0):.1f}"/>')
    else:
        out.append(f'<text class="empty" x="{W / 2}" y="{h / 2}" text-anchor="middle">no samples</text>')
    out.append(f'<line class="cursor" x1="0" x2="0" y1="{TOP}" y2="{TOP + ph}" visibility="hidden"/>')
    out.append(f'<rect class="hit" x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}"/>')
    out.append('</svg><div class="tip" hidden></div></div>')
    out.append(_legend(series, toggles=not areas))
    if note:
        out.append(f'<p class="note">{note}</p>')
    data = {
        "x": [float(x) for x in xs],
        "xl": x_label,
        "unit": unit,
        "stacked": bool(areas),
        "box": [LEFT, TOP, pw, ph, W, h],
        "dom": [x0, x1],
        "s": [{"n": s.name, "c": s.color, "k": s.kind, "v": [float(v) for v in s.values]} for s in series],
    }
    out.append(f'<script type="application/json" class="chart-data">{json_for_script(data)}</script>')
    out.append("</figure>")
    return "\n".join(out)


def bar_chart(
    cid: str,
    title: str,
    labels: Sequence[str],
    groups: Sequence[tuple[str, Sequence[float], str]],
    *,
    x_label: str,
    note: str = "",
    label_width: int = 250,
) -> str:
    """Horizontal bars: for each label one bar per group (name, values, colour).
    Negative values go left of zero.  Each bar has a ``<title>`` (the hover text)."""
    n = len(labels)
    ng = max(1, len(groups))
    row = 8 + 12 * ng
    h = TOP + BOTTOM + max(1, n) * row
    left = label_width + 44  # room for the value of a bar that reaches the left end
    pw = W - left - RIGHT - 60
    vals = [float(v) for _, vs, _ in groups for v in vs]
    ticks = nice_ticks(min([0.0, *vals]), max([0.0, *vals]), 6)
    lo, hi = ticks[0], ticks[-1]

    def px(v: float) -> float:
        return left + (v - lo) / (hi - lo) * pw

    out = [
        f'<figure class="chart" id="{_esc(cid)}" data-chart="bar">',
        f"<figcaption>{_esc(title)}</figcaption>",
        f'<div class="plot"><svg viewBox="0 0 {W} {h}" role="img" aria-label="{_esc(title)}">',
    ]
    for t in ticks:
        x = px(t)
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{h - BOTTOM}"/>')
        out.append(f'<text class="tick" x="{x:.1f}" y="{h - BOTTOM + 16}" text-anchor="middle">{_fmt(t)}</text>')
    out.append(f'<text class="axis" x="{left + pw / 2:.0f}" y="{h - 6}" text-anchor="middle">{_esc(x_label)}</text>')
    for i, lab in enumerate(labels):
        y0 = TOP + i * row + 4
        short = lab if len(lab) <= 38 else "…" + lab[-37:]
        out.append(
            f'<text class="blabel" x="{label_width - 6}" y="{y0 + row / 2:.1f}" text-anchor="end">{_esc(short)}'
            f"<title>{_esc(lab)}</title></text>"
        )
        for j, (gname, vs, color) in enumerate(groups):
            v = float(vs[i])
            xa, xb = sorted((px(0.0), px(v)))
            y = y0 + j * 12
            out.append(
                f'<rect class="bar" x="{xa:.1f}" y="{y}" width="{max(0.5, xb - xa):.1f}" height="10" '
                f'fill="{color}"><title>{_esc(lab)}: {_esc(gname)} {_fmt(v)}</title></rect>'
            )
            out.append(
                f'<text class="bval" x="{xb + 4 if v >= 0 else xa - 4:.1f}" y="{y + 9}" '
                f'text-anchor="{"start" if v >= 0 else "end"}">{_fmt(v)}</text>'
            )
    if lo < 0 < hi:
        out.append(f'<line class="zero" x1="{px(0):.1f}" x2="{px(0):.1f}" y1="{TOP}" y2="{h - BOTTOM}"/>')
    if not n:
        out.append(f'<text class="empty" x="{W / 2}" y="{h / 2}" text-anchor="middle">nothing to show</text>')
    out.append("</svg></div>")
    if len(groups) > 1:
        out.append(_legend([Series(g, [], c, kind="area") for g, _, c in groups], toggles=False))
    if note:
        out.append(f'<p class="note">{note}</p>')
    out.append("</figure>")
    return "\n".join(out)
