"""Fragmentation indices of a zone's free lists (mm/vmstat.c).

``fill_contig_page_info()``, ``__fragmentation_index()`` and ``unusable_free_index()``
as Linux 2.6.35+ defines them (added with memory compaction, Mel Gorman's
"mm: compaction: export unusable free space index via debugfs" and "... fragmentation index").  Reclaim
(``mm/vmscan.py``, compaction_ready-style decisions) and the debugfs views
(``views/procfs.py``: ``extfrag/extfrag_index``, ``extfrag/unusable_index``) both use them,
so they live here, below both.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .mmzone import Zone


def contig_page_info(z: Zone, order: int) -> tuple[int, int, int]:
    """fill_contig_page_info(): (free_pages, free_blocks_total, free_blocks_suitable)."""
    free_pages = blocks_total = suitable = 0
    for o, n in enumerate(z.nr_free):
        blocks_total += n
        free_pages += n << o
        if o >= order:
            suitable += n << (o - order)
    return free_pages, blocks_total, suitable


def fragmentation_index(z: Zone, order: int) -> int:
    """__fragmentation_index() x 1000: -1000 when a suitable block exists, 0 with no free block;
    otherwise 1000 - (1000 + free_pages * 1000 / 2^order) / free_blocks_total (integer division)."""
    free_pages, total, suitable = contig_page_info(z, order)
    if not total:
        return 0
    if suitable:
        return -1000
    return 1000 - (1000 + (free_pages * 1000 // (1 << order))) // total


def unusable_free_index(z: Zone, order: int) -> int:
    """unusable_free_index() x 1000: the share of free memory in blocks too small for ``order``."""
    free_pages, _, suitable = contig_page_info(z, order)
    if free_pages == 0:
        return 1000
    return (free_pages - (suitable << order)) * 1000 // free_pages


def zone_indices(z: Zone, nr_orders: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(fragmentation_index, unusable_free_index) of every order below ``nr_orders``: the same
    numbers as the two functions above, from one pass over the free lists (a replay samples
    them every thousand events)."""
    nr = z.nr_free
    free_pages = total = 0
    for o, n in enumerate(nr):
        total += n
        free_pages += n << o
    ext: list[int] = []
    unu: list[int] = []
    # contig_page_info()'s suitable blocks, from the top order down:
    # suitable(order) = nr_free[order] + 2 * suitable(order + 1)
    top = len(nr)
    by_order = [0] * nr_orders
    suitable = 0
    for order in range(max(top, nr_orders) - 1, -1, -1):
        suitable = suitable * 2 + (nr[order] if order < top else 0)
        if order < nr_orders:
            by_order[order] = suitable
    for order in range(nr_orders):
        s = by_order[order]
        ext.append(0 if not total else -1000 if s else 1000 - (1000 + (free_pages * 1000 // (1 << order))) // total)
        unu.append(1000 if free_pages == 0 else (free_pages - (s << order)) * 1000 // free_pages)
    return tuple(ext), tuple(unu)
