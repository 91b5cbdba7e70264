"""The guided tour: the classic driver-book story, run live on model machines.

Each chapter is a function ``chapter(out)`` that boots the machines it needs and
writes what the kernel would show through ``out`` (a callable taking one
line).  The output is deterministic -- tests/golden/tour.txt holds it and a test
compares -- so every figure printed here is checked on every run.

Chapters are added by the parts of kmemsim they show; ``CHAPTERS`` is the order.
"""
from __future__ import annotations

from collections.abc import Callable

from .addresses import chapter as addresses
from .contexts import chapter as contexts
from .pages import chapter as pages
from .slab import chapter as slab
from .traces import chapter as traces
from .vmalloc import chapter as vmalloc

Out = Callable[[str], None]

CHAPTERS: list[tuple[str, str, Callable[[Out], None]]] = [
    ("addresses", "Address spaces: the direct map, __pa/__va, vmalloc and highmem", addresses),
    ("pages", "The page allocator: orders, split and merge, zones, watermarks", pages),
    ("slab", "kmalloc and kmem_cache: size classes, stale bytes, constructors, the freelist", slab),
    ("vmalloc", "kmalloc, get_free_pages, vmalloc: contiguous or not, which addresses", vmalloc),
    ("contexts", "Calling contexts: who may sleep, GFP_KERNEL versus GFP_ATOMIC, mempool", contexts),
    ("traces", "Traces: the model's kmem tracepoints, perf kmem stat's report, replay", traces),
]


def run(out: Out, only: list[str] | None = None) -> None:
    """Run the tour (or the named chapters) and write it through ``out``."""
    names = [n for n, _, _ in CHAPTERS]
    for name in only or []:
        if name not in names:
            raise ValueError(f"no tour chapter {name!r}; chapters: {', '.join(names)}")
    n = 0
    for name, title, fn in CHAPTERS:
        if only and name not in only:
            continue
        n += 1
        out("=" * 78)
        out(f"Chapter {n}. {title}")
        out("=" * 78)
        fn(out)
        out("")
