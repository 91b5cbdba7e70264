"""See it and learn it: the machine drawn, in a page, in Jupyter, and as exercises.

    import kmemsim
    from kmemsim import explore

    k = kmemsim.boot()
    k                                        # in Jupyter: every view of the machine (Kernel._repr_html_)
    explore.snapshot(k)                      # the data the views draw (docs/explore.md: kmemsim-explore/1)
    explore.write_page("k.html", explore.page_of(k))      # the page `kmemsim explore` writes
    explore.free_area(k, "DMA32", 3)         # one free_area, drawn (a zone, a cache, a slab, a page,
                                             # a vm area and the layout draw themselves)

Modules: :mod:`.state` (the one reader of the model's internals: machine -> snapshot),
:mod:`.timeline` (a replay sampled into snapshots, stored as patches), :mod:`.render`
(HTML: the page and the notebook fragments; the drawing is ``assets/explore.js``),
:mod:`.jupyter` (the ``_repr_html_`` of the model's objects), :mod:`.exercises`
(predict-then-reveal exercises: the labs' checks and ``kmemsim quiz``).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .render import fragment, page
from .state import SCHEMA, Names, snapshot

if TYPE_CHECKING:  # pragma: no cover
    from ..kernel import Kernel

__all__ = ["SCHEMA", "Names", "snapshot", "page_of", "replay_page", "write_page", "free_area", "show", "fragment",
           "page"]


def page_of(k: Kernel, title: str | None = None) -> str:
    """The standalone explorer page of machine ``k`` as it is now."""
    m = k.profile
    return page(snapshot(k), title or f"kmemsim explore: {m.name}, {k.ram >> 20} MiB",
                f"{m.description}; {len(k.cpus)} CPUs")


def replay_page(k: Kernel, events: list[Any], *, source: str = "a trace", every: int = 1000, max_samples: int = 200,
                host: Any = None) -> tuple[str, Any]:
    """Replay ``events`` into ``k``, sampled every ``every`` events, and return the page with
    its timeline, and the replay (its ``summary()``, ``check_error``)."""
    from .timeline import record

    r, tl = record(k, events, every=every, max_samples=max_samples, host=host)
    summary = r.summary(top=10)
    data = {"timeline": tl.to_json(r, source=source, summary=summary)}
    title = f"kmemsim explore: replay of {source}"
    sub = f"{k.profile.name}, {k.ram >> 20} MiB, {len(k.cpus)} CPUs; {r.n:,} events, {len(tl.samples)} samples"
    return page(data, title, sub), r


def write_page(path: str | Path, text: str, *, force: bool = False) -> Path:
    """Write a page safely (kmemsim.fileio: never through a symlink, no half-written file;
    an existing file only with ``force``)."""
    from .. import fileio

    return fileio.write_text(path, text, force=force)


class Shown:
    """Something drawn by the explorer: displays itself in Jupyter (``_repr_html_``)."""

    def __init__(self, html: str, text: str) -> None:
        self.html = html
        self.text = text

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:
        return self.text


def free_area(k: Kernel, zone: str, order: int) -> Shown:
    """zone->free_area[order] of machine ``k``, drawn: its lists per migratetype, head first,
    and where the blocks are in the zone."""
    from .jupyter import free_area_html

    z = next((z for z in k.page_alloc.zones if z.name == zone), None)
    if z is None:
        from ..errors import UsageError

        raise UsageError(f"free_area: no zone {zone!r}; zones: {', '.join(z.name for z in k.page_alloc.zones)}")
    html, text = free_area_html(k, z, order)
    return Shown(html, text)


def show(obj: Any, view: str | None = None) -> Shown:
    """Any object the explorer can draw (a Kernel, a zone, a kmem_cache, a slab, a page, a vm
    area, a layout), wrapped so that Jupyter displays it."""
    from .jupyter import repr_html

    html = repr_html(obj)
    if html is None:
        from ..errors import UsageError

        raise UsageError(f"show: kmemsim.explore cannot draw {type(obj).__name__}")
    return Shown(html, repr(obj))
