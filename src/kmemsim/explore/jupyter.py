"""Jupyter's rich display of the model's objects, drawn by the explorer's own renderers.

The model's classes (``Kernel``, ``Zone``, ``KmemCache``, ``Slab``, ``Page``, ``VmStruct``,
``Layout``) each have a one-line ``_repr_html_`` that imports this module by name and
calls :func:`repr_html`; the explorer is a tool above the model's layer, so the model
never imports it statically.  Each display is a fragment (:func:`kmemsim.explore.render.fragment`)
holding the data it draws and the script that draws it, with a static table for viewers
that run no script.  A display never raises: an object it cannot draw returns None, and
Jupyter falls back to the plain ``repr``.
"""
from __future__ import annotations

from typing import Any

from . import state
from .render import fragment

__all__ = ["repr_html", "free_area_html"]


def _base(k: Any, names: state.Names) -> dict[str, Any]:
    """The sections every view may look at, empty where the view does not need them."""
    return {
        "schema": state.SCHEMA, "machine": state.machine_state(k), "layout": state.layout_state(k.layout),
        "zones": [], "pages": {"kinds": list(state.KINDS), "runs": [], "fields": {}, "flag_names": [], "reserved": []},
        "slab": {"allocator": state.slab_allocator(k), "caches": []}, "vmalloc": {"start": "0x0", "end": "0x0",
                                                                                 "areas": [], "page_tables": 0},
        "summary": {"pages": dict.fromkeys(state.KINDS, 0)}, "dmesg": [],
    }


def _kernel(k: Any) -> str:
    return fragment(state.snapshot(k), "all", map={"width": 640, "height": 240})


def _zone(z: Any) -> str:
    k = state.machine_of(z)
    if k is None:  # a zone on its own: its free blocks are all it knows
        data = state.lone_zone(z)
        start, end = data["zones"][0]["start_pfn"], data["machine"]["max_pfn"]
        return fragment(data, "zone", zone=z.name, window=[start, end])
    snap = state.snapshot(k, objects=False, dmesg_lines=0)
    zs = next(x for x in snap["zones"] if x["name"] == z.name)
    return fragment(snap, "zone", zone=z.name, window=[zs["start_pfn"], zs["start_pfn"] + zs["spanned"]])


def free_area_html(k: Any, z: Any, order: int) -> tuple[str, str]:
    """The display of zone ``z``'s free_area[order], and its text form."""
    names = state.Names()
    data = _base(k, names)
    mt = state.migratetype_names(k)
    data["zones"] = [state.zone_state(z, mt)]
    data["pages"]["runs"] = state.page_runs(k, names)
    fa = state.free_area_state(z, order, mt)
    text = f"<free_area[{order}] of zone {z.name}: nr_free {z.nr_free[order]}: " + ", ".join(
        f"{li['migratetype']} {li['count']}" for li in fa["lists"]) + ">"
    return fragment(data, "freearea", free_area=fa), text


def _cache(s: Any, pfn: int | None = None) -> str | None:
    k = state.machine_of(s)
    if k is None:
        return None
    names = state.Names()
    data = _base(k, names)
    data["slab"]["caches"] = [state.cache_state(k, s, names)]
    if pfn is None:
        return fragment(data, "cache", cache=s.name)
    return fragment(data, "slab", cache=s.name, pfn=pfn)


def _page(p: Any) -> str | None:
    k = state.machine_of(p)
    if k is None:
        return None
    pfn = p.pfn
    snap = state.snapshot(k, objects=False, dmesg_lines=0)
    lo = max(0, pfn - 32)
    return fragment(snap, "page", pfn=pfn, window=[lo, min(k.max_pfn, lo + 64)])


def _vm_area(vm: Any) -> str | None:
    k = state.machine_of(vm)
    if k is None:
        return None
    names = state.Names()
    data = _base(k, names)
    data["vmalloc"] = state.vmalloc_section(k, names)
    area = state.vm_area_state(k, vm, names)
    if not any(a["id"] == area["id"] for a in data["vmalloc"]["areas"]):
        data["vmalloc"]["areas"].append(area)  # an area not (or no longer) in the tree
    return fragment(data, "vmarea", area=area["id"])


def _layout(layout: Any) -> str:
    data = {"schema": state.SCHEMA, "layout": state.layout_state(layout), "machine": {}, "zones": [],
            "pages": {"kinds": [], "runs": [], "fields": {}}, "slab": {"caches": []}, "vmalloc": {"areas": []},
            "summary": {"pages": {}}}
    return fragment(data, "layout")


def repr_html(obj: Any) -> str | None:
    """The HTML that draws ``obj`` (None if it is nothing the explorer draws)."""
    from ..machine import Machine

    try:
        if isinstance(obj, Machine):
            state.remember(obj)  # type: ignore[arg-type]
            return _kernel(obj)
        name = type(obj).__name__
        if name == "Zone" and hasattr(obj, "free_list"):
            return _zone(obj)
        if name == "KmemCache" and hasattr(obj, "cpu_slab"):
            return _cache(obj)
        if name == "Slab" and hasattr(obj, "cache"):
            return _cache(obj.cache, obj.pfn)
        if name == "Page" and hasattr(obj, "pfn"):
            return _page(obj)
        if name == "VmStruct" and hasattr(obj, "pfns"):
            return _vm_area(obj)
        if name == "Layout" and hasattr(obj, "regions"):
            return _layout(obj)
    except Exception:  # noqa: BLE001 - a display must never break the notebook: fall back to repr
        return None
    return None
