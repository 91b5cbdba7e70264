"""HTML from explorer snapshots: the standalone page of ``kmemsim explore`` and the
fragments Jupyter displays.  Both inline the same style sheet and script
(``assets/explore.css``, ``assets/explore.js``) and the data as JSON, so a page or a saved
notebook needs no network and no server; the script draws every view from the data.

Each fragment also carries a small static picture in plain HTML (a table of the numbers),
which shows where scripts do not run (a notebook viewer that strips them).
"""
from __future__ import annotations

import html
import json
import uuid
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["page", "fragment", "dumps"]


@cache
def asset(name: str) -> str:
    return resources.files("kmemsim.explore").joinpath("assets", name).read_text(encoding="utf-8")


def dumps(data: Any) -> str:
    """JSON safe inside a ``<script>`` element: every ``<`` written ``\\u003c``."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c")
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _esc(s: object) -> str:
    return html.escape(str(s), quote=True)


def _fallback(data: dict[str, Any], view: str) -> str:
    """A static summary for where the script does not run."""
    snap = data.get("timeline", {}).get("samples", [{}])[-1].get("state") if "timeline" in data else data
    if not isinstance(snap, dict) or "machine" not in snap:
        return '<p class="note">Run the notebook cell (or trust the notebook) to draw this view.</p>'
    m = snap.get("machine") or {}
    rows = []
    if "profile" in m:
        rows.append(f"<tr><th>machine</th><td>{_esc(m['profile'])}, {m['ram'] >> 20} MiB, {m['cpus']} CPUs</td></tr>")
    for z in snap.get("zones", []):
        if z.get("present"):
            rows.append(f"<tr><th>zone {_esc(z['name'])}</th><td>free {z['free_pages']} pages; buddyinfo "
                        f"{' '.join(str(n) for n in z['nr_free'])}; min/low/high {z['watermark']['min']}/"
                        f"{z['watermark']['low']}/{z['watermark']['high']}</td></tr>")
    for c in snap.get("slab", {}).get("caches", [])[:12]:
        if c.get("nr_slabs") or view in ("cache", "slab"):
            rows.append(f"<tr><th>{_esc(c['name'])}</th><td>{c['active_objects']}/{c['total_objects']} objects, "
                        f"{c['per_slab']} per slab of order {c['order']}, stride {c['stride']}</td></tr>")
    if view == "layout":
        for start, end, name, note, _kind in reversed(snap.get("layout", {}).get("regions", [])):
            rows.append(f"<tr><th>{_esc(start)}</th><td>{_esc(end)} {_esc(name)} {_esc(note)}</td></tr>")
    return f'<div class="fallback"><table>{"".join(rows)}</table></div>'


def fragment(data: dict[str, Any], view: str = "all", **opts: Any) -> str:
    """An HTML fragment that draws ``view`` of ``data`` (a snapshot, possibly partial) where
    it is inserted: Jupyter's ``_repr_html_``.  ``opts`` go to the script's ``mount``."""
    ident = f"kx-{uuid.uuid4().hex[:16]}"  # unique across kernels and saved outputs
    payload = dumps({"data": data, "opts": {"view": view, **opts}})
    return (
        f'<div class="kx-out"><style>{asset("explore.css")}</style>'
        f'<div class="kx" id="{ident}">{_fallback(data, view)}</div>'
        f'<script type="application/json" id="{ident}-data">{payload}</script>'
        f"<script>{asset('explore.js')}\nKX.mountScript({json.dumps(ident)});</script></div>"
    )


def page(data: dict[str, Any], title: str, subtitle: str = "") -> str:
    """The standalone page of ``kmemsim explore``: every view (and the timeline of a replay)."""
    payload = dumps({"data": data, "opts": {"view": "all"}})
    return "\n".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_esc(title)}</title>",
        "<style>body{margin:0 auto;max-width:1240px;padding:.8em 1.4em 3em;background:#fff}"
        "header h1{font:600 1.4em system-ui,sans-serif;margin:.2em 0}"
        f"header p{{font:14px system-ui,sans-serif;color:#5f6368;margin:0 0 .5em}}{asset('explore.css')}</style>",
        "</head><body>",
        f"<header><h1>{_esc(title)}</h1><p>{_esc(subtitle)}</p></header>",
        '<main class="kx" id="kx-app"><p>Drawing the machine…</p></main>',
        f'<script type="application/json" id="kx-app-data">{payload}</script>',
        f"<script>{asset('explore.js')}\n"
        "try { KX.mountScript('kx-app'); document.documentElement.setAttribute('data-explore-ready', '1'); }"
        " catch (e) { document.documentElement.setAttribute('data-explore-ready', 'error'); throw e; }</script>",
        "<footer class=\"kx\"><p class=\"note\">Made by kmemsim explore; everything is in this file "
        "(no network needed).</p></footer>",
        "</body></html>\n",
    ])
