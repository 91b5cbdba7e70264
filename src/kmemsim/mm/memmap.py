"""struct page storage: compact per-pfn arrays, materialised one section at a time.

Models the *storage* side of mm/sparse.c (SPARSEMEM_VMEMMAP on x86_64) and of
the FLATMEM ``mem_map[]`` of 2.6 i386; ``kmemsim.mm.page`` gives the fields
their meaning.

Layout
------
Memory is cut into sections of ``1 << SECTION_PAGES_SHIFT`` pages (32768 pages,
128 MiB with 4 KiB pages: x86_64's SECTION_SIZE_BITS = 27).  A section that
holds at least one pfn with a struct page is *present*.  Each present section
is in one of two states::

    uniform --(a field of one page changes)--> materialised
       ^                                            |
       +----(set_range over the whole section)------+ (kept materialised)

* *uniform*: every page of the section has the same field values, stored
  once as a tuple.  Booting a 1 TiB machine leaves almost every section
  uniform ("free, waiting for the page allocator"), which is why boot time
  and RSS do not grow with RAM.
* *materialised*: one ``array.array`` per field, indexed by pfn within the
  section; scalar access is a couple of Python operations.

Fields (one array each; ``FIELDS`` is the table)::

    flags     Q   page->flags (PG_* bits, kmemsim.mm.page.PG)
    refcount  i   page->_refcount
    mapcount  i   page->_mapcount (kernel's -1 based value)
    private   Q   page->private (the buddy order, a slab's cache id, ...)
    owner     B   which subsystem holds the page (kmemsim.mm.page.Owner);
                  the model's bookkeeping for "every page in exactly one place"

Invariant: a pfn has a struct page iff its section is present; the arrays
of a materialised section all have exactly SECTION_PAGES entries.
"""
from __future__ import annotations

import re
import sys
from array import array
from collections.abc import Iterator
from typing import Any

#: count() and runs() read up to this many materialised sections in pure Python before they
#: import numpy (0.1 s to import; booting from a host snapshot materialises two or three)
FEW_SECTIONS = 8

_RUN_RES: dict[int, re.Pattern[bytes]] = {}  # item size -> a run of equal items


def _numpy(done: int) -> Any:
    """numpy, when it is loaded already or the call has read FEW_SECTIONS sections without it."""
    if done >= FEW_SECTIONS or "numpy" in sys.modules:
        import numpy as np

        return np
    return None


#: _py_runs() finds this many runs by comparing memory before it takes the regex for the rest
_LONG_RUNS = 32


def _py_runs(arr: array, a: int, b: int) -> list[tuple[int, int, int]]:
    """(start, end, value) runs of equal items of ``arr[a:b]`` (indices into arr), found in C.

    A memory map's section holds few, long runs (the struct pages of a zone's free blocks, of
    the kernel image): each run's end is found by comparing the bytes with the item repeated,
    doubling the length while it matches and halving it back (a few memcmp()s a run).  After
    :data:`_LONG_RUNS` runs, the rest goes to :func:`_regex_runs` (one match a run), which is
    the faster where runs are short.  Both give the same runs."""
    w = arr.itemsize
    data = memoryview(arr).cast("B")[a * w : b * w].tobytes()
    n = b - a
    out: list[tuple[int, int, int]] = []
    i = 0
    while i < n:
        if len(out) >= _LONG_RUNS:
            return out + _regex_runs(arr, a + i, b)
        p = data[i * w : (i + 1) * w]
        j, step = i + 1, 1  # [i, j) holds p
        hi = n
        while j < n:
            e = min(n, j + step)
            if data[j * w : e * w] != p * (e - j):
                hi = e  # a different item in [j, e)
                break
            j = e
            step <<= 1
        while j < hi:  # the first different item: [i, j) holds p, one in [j, hi) differs
            mid = (j + hi) // 2
            if data[j * w : (mid + 1) * w] == p * (mid + 1 - j):
                j = mid + 1
            else:
                hi = mid
        out.append((a + i, a + j, arr[a + i]))
        i = j
    return out


def _regex_runs(arr: array, a: int, b: int) -> list[tuple[int, int, int]]:
    """:func:`_py_runs` by regex over the bytes: each match is one item repeated, so matches
    stay item-aligned."""
    w = arr.itemsize
    pat = _RUN_RES.get(w)
    if pat is None:
        pat = _RUN_RES[w] = re.compile(b"(.{%d})\\1*" % w, re.S)
    data = memoryview(arr).cast("B")[a * w : b * w]
    return [(a + m.start() // w, a + m.end() // w, arr[a + m.start() // w]) for m in pat.finditer(data)]

SECTION_PAGES_SHIFT = 15
SECTION_PAGES = 1 << SECTION_PAGES_SHIFT

#: field name -> (array typecode, numpy dtype)
FIELDS: dict[str, tuple[str, str]] = {
    "flags": ("Q", "<u8"),
    "refcount": ("i", "<i4"),
    "mapcount": ("i", "<i4"),
    "private": ("Q", "<u8"),
    "owner": ("B", "u1"),
}
FIELD_NAMES = tuple(FIELDS)
FIELD_INDEX = {n: i for i, n in enumerate(FIELD_NAMES)}


class Section:
    """One section's struct pages: uniform values or materialised arrays."""

    __slots__ = ("nr", "uniform", "arrays", "_registry")

    def __init__(self, nr: int, values: tuple[int, ...], registry: dict[int, array]):
        self.nr = nr
        self.uniform: tuple[int, ...] | None = values
        self.arrays: list[array] | None = None
        self._registry = registry

    def materialise(self) -> list[array]:
        if self.arrays is None:
            assert self.uniform is not None
            self.arrays = [
                array(FIELDS[name][0], [v]) * SECTION_PAGES for name, v in zip(FIELD_NAMES, self.uniform, strict=True)
            ]
            self.uniform = None
            self._registry[self.nr] = self.arrays[FIELD_INDEX["refcount"]]
        return self.arrays


class MemMap:
    """All struct pages of a machine."""

    def __init__(self, present_sections: set[int], default: dict[str, int], max_mapnr: int | None = None):
        values = tuple(default.get(n, 0) for n in FIELD_NAMES)
        #: section nr -> its refcount array, for materialised sections: the allocator's fast paths
        self.refcount_arrays: dict[int, array] = {}
        self.sections: dict[int, Section] = {
            nr: Section(nr, values, self.refcount_arrays) for nr in sorted(present_sections)
        }
        #: FLATMEM: pfn_valid(pfn) is pfn < max_mapnr; SPARSEMEM (None): the section is present
        self.max_mapnr = max_mapnr

    # ------------------------------------------------------------- queries
    def pfn_valid(self, pfn: int) -> bool:
        """pfn_valid(): include/linux/mmzone.h (SPARSEMEM, early sections) or memory_model.h (FLATMEM)."""
        if self.max_mapnr is not None:
            return 0 <= pfn < self.max_mapnr
        return pfn >= 0 and (pfn >> SECTION_PAGES_SHIFT) in self.sections

    def get(self, pfn: int, field: str) -> int:
        sec = self.sections[pfn >> SECTION_PAGES_SHIFT]
        i = FIELD_INDEX[field]
        if sec.uniform is not None:
            return sec.uniform[i]
        return sec.arrays[i][pfn & (SECTION_PAGES - 1)]  # type: ignore[index]

    def set(self, pfn: int, field: str, value: int) -> None:
        sec = self.sections[pfn >> SECTION_PAGES_SHIFT]
        i = FIELD_INDEX[field]
        if sec.uniform is not None:
            if sec.uniform[i] == value:
                return
            sec.materialise()
        sec.arrays[i][pfn & (SECTION_PAGES - 1)] = value  # type: ignore[index]

    def set_range(self, start: int, end: int, **values: int) -> None:
        """Set fields of every struct page in pfns ``[start, end)`` (present sections only)."""
        idx = [(FIELD_INDEX[k], v) for k, v in values.items()]
        pfn = start
        while pfn < end:
            nr = pfn >> SECTION_PAGES_SHIFT
            sec_start = nr << SECTION_PAGES_SHIFT
            sec_end = sec_start + SECTION_PAGES
            hi = min(end, sec_end)
            sec = self.sections.get(nr)
            if sec is not None:
                if pfn == sec_start and hi == sec_end and sec.uniform is not None:
                    u = list(sec.uniform)
                    for i, v in idx:
                        u[i] = v
                    sec.uniform = tuple(u)
                else:
                    arrays = sec.materialise()
                    a, b = pfn - sec_start, hi - sec_start
                    for i, v in idx:
                        arrays[i][a:b] = array(FIELDS[FIELD_NAMES[i]][0], [v]) * (b - a)
            pfn = hi

    def count(self, field: str, start: int = 0, end: int | None = None) -> dict[int, int]:
        """How many struct pages have each value of ``field`` (bulk, via numpy)."""
        i = FIELD_INDEX[field]
        out: dict[int, int] = {}
        done = 0
        for nr, sec in self.sections.items():
            s0 = nr << SECTION_PAGES_SHIFT
            a, b = max(start, s0), min(end if end is not None else 1 << 62, s0 + SECTION_PAGES)
            if a >= b:
                continue
            if sec.uniform is not None:
                v = sec.uniform[i]
                out[v] = out.get(v, 0) + (b - a)
            else:
                np = _numpy(done)
                done += 1
                if np is None:
                    got: dict[int, int] = {}
                    for x, y, v in _py_runs(sec.arrays[i], a - s0, b - s0):  # type: ignore[index]
                        got[v] = got.get(v, 0) + y - x
                    for v in sorted(got):  # numpy.unique's order
                        out[v] = out.get(v, 0) + got[v]
                    continue
                arr = np.frombuffer(sec.arrays[i], dtype=FIELDS[field][1])[a - s0 : b - s0]  # type: ignore[index]
                vals, counts = np.unique(arr, return_counts=True)
                for v, c in zip(vals.tolist(), counts.tolist(), strict=True):
                    out[v] = out.get(v, 0) + c
        return out

    def runs(self, field: str, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        """(start, end, value) runs of equal ``field`` over present pfns in ``[start, end)``."""
        i = FIELD_INDEX[field]
        cur_s = cur_v = None
        cur_e = start
        done = 0
        for nr in sorted(self.sections):
            s0 = nr << SECTION_PAGES_SHIFT
            a, b = max(start, s0), min(end, s0 + SECTION_PAGES)
            if a >= b:
                continue
            sec = self.sections[nr]
            if sec.uniform is not None:
                pieces = [(a, b, sec.uniform[i])]
            else:
                np = _numpy(done)
                done += 1
                if np is None:
                    pieces = [(s0 + x, s0 + y, v) for x, y, v in _py_runs(sec.arrays[i], a - s0, b - s0)]  # type: ignore[index]
                else:
                    arr = np.frombuffer(sec.arrays[i], dtype=FIELDS[field][1])[a - s0 : b - s0]  # type: ignore[index]
                    cut = np.flatnonzero(np.diff(arr)) + 1
                    bounds = [0, *cut.tolist(), len(arr)]
                    pieces = [(a + x, a + y, int(arr[x])) for x, y in zip(bounds, bounds[1:], strict=False)]
            for ps, pe, v in pieces:
                if cur_s is not None and v == cur_v and ps == cur_e:
                    cur_e = pe
                    continue
                if cur_s is not None:
                    yield cur_s, cur_e, cur_v  # type: ignore[misc]
                cur_s, cur_e, cur_v = ps, pe, v
        if cur_s is not None:
            yield cur_s, cur_e, cur_v  # type: ignore[misc]

    def materialised_sections(self) -> int:
        return sum(1 for s in self.sections.values() if s.arrays is not None)

    def nbytes(self) -> int:
        """Bytes held by materialised arrays (what the memmap costs the host)."""
        return sum(
            sum(a.itemsize * len(a) for a in s.arrays) for s in self.sections.values() if s.arrays is not None
        )
