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
