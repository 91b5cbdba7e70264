"""k.check() still finds what it found before it was made faster: each corruption below gives
the same first message as the straightforward checks did (page allocator spans, SLUB
freelists, page tables, the memory map)."""
from __future__ import annotations

import pytest

import kmemsim
from kmemsim import InvariantError
from kmemsim.mm.page import Owner


def _busy() -> kmemsim.Kernel:
    k = kmemsim.boot()
    gfp = kmemsim.gfp.GFP_KERNEL
    for i in range(400):
        k.kmalloc(16 + 24 * (i % 50), gfp)
    for o in (0, 1, 3):
        k.get_free_pages(gfp, o)
    k.check()
    return k


def _reference_spans(pa) -> list[str]:
    """The span checks of page_alloc.problems() as they were: every span, fully sorted."""
    errs = []
    spans = []
    for z in pa.zones:
        for pfn, (o, _) in z.buddy.items():
            spans.append((pfn, pfn + (1 << o), "buddy"))
        for pcp in z.pcp:
            for pi, lst in enumerate(pcp.lists):
                o = pa._pindex_order[pi]
                spans += [(pfn, pfn + (1 << o), f"pcp cpu{pcp.cpu}") for pfn in lst]
    for pfn, o in pa.allocated.items():
        spans.append((pfn, pfn + (1 << o), "allocated"))
    spans.sort()
    for (a0, a1, w1), (b0, _, w2) in zip(spans, spans[1:], strict=False):
        if b0 < a1:
            errs.append(f"pfns {b0:#x}.. are both {w1} (from {a0:#x}) and {w2}")
            break
    covered = sum(b - a for a, b, _ in spans)
    managed = sum(z.managed_pages for z in pa.zones)
    if covered != managed:
        errs.append(f"{covered} pages are free, on pcp lists or allocated, but {managed} are managed")
    return errs


def _span_errors(pa) -> list[str]:
    return [e for e in pa.problems() if e.startswith("pfns ") or "are managed" in e]


@pytest.mark.parametrize("how", ["same start", "inside", "pcp twice", "past the end"])
def test_overlapping_spans_are_named_as_before(how):
    k = _busy()
    pa = k.page_alloc
    z = next(z for z in pa.zones if any(o >= 2 for o, _ in z.buddy.values()))
    pfn, (order, _) = next((p, v) for p, v in z.buddy.items() if v[0] >= 2)
    if how == "same start":
        pa.allocated[pfn] = 0
    elif how == "inside":
        pa.allocated[pfn + 1] = 0
    elif how == "pcp twice":
        pcp = next(p for zz in pa.zones for p in zz.pcp if any(p.lists))
        lst = next(lst for lst in pcp.lists if lst)
        lst.append(lst[0])
    else:
        a = next(iter(pa.allocated))
        pa.allocated[a - 1] = 1
    want = _reference_spans(pa)
    assert want and want[0].startswith(("pfns ", ""))
    assert _span_errors(pa) == want
    with pytest.raises(InvariantError):
        k.check()


def test_a_consistent_machine_has_no_span_errors():
    pa = _busy().page_alloc
    assert _reference_spans(pa) == [] == _span_errors(pa)


def _cpu_freelist(k):
    """A cache whose CPU 0 slab has at least two free objects, and the first of them."""
    slub = k.slub
    for c in slub.caches:
        cc = c.cpu_slab[0]
        if cc.slab is not None and cc.freelist and slub.get_freepointer(c, cc.freelist):
            return c, cc.slab, cc.freelist
    pytest.skip("no CPU slab with two free objects")


def test_a_corrupt_free_pointer_is_found():
    k = _busy()
    c, slab, head = _cpu_freelist(k)
    k.slub.set_freepointer(c, head, slab.addr + 3)  # not an object's start
    with pytest.raises(InvariantError, match=f"cpu0 freelist of .* points outside its objects: {slab.addr + 3:#x}"):
        k.check()


def test_a_freelist_cycle_is_found():
    k = _busy()
    c, slab, head = _cpu_freelist(k)
    nxt = k.slub.get_freepointer(c, head)
    k.slub.set_freepointer(c, nxt, head)
    with pytest.raises(InvariantError, match=f"cpu0 freelist of .* has a cycle at {head:#x}"):
        k.check()


def test_an_entry_in_an_empty_page_table_is_found():
    k = kmemsim.boot()
    pt = k.vmalloc_impl.pt
    empty = next(pfn for pfn in pt.tables if k.phys.frames.get(pfn) == bytes(k.page_size))
    k.phys.frames[empty][8:16] = (0x1234 << 12).to_bytes(8, "little")  # not present, not none
    with pytest.raises(Exception, match="not present, not none"):
        k.check()


def test_a_negative_refcount_run_is_found():
    k = _busy()
    pfn = next(iter(k.page_alloc.allocated))
    k.memmap.set(pfn, "refcount", -1)
    with pytest.raises(InvariantError, match=f"pfns {pfn:#x}-{pfn + 1:#x} have negative refcount -1"):
        k.check_memmap()


def test_an_owner_out_of_memory_is_found():
    k = kmemsim.boot()
    hole = next(start for start, end, o in k.memmap.runs("owner", 0, 1 << 62) if o == Owner.HOLE)
    k.memmap.set(hole, "owner", Owner.MANAGED)
    with pytest.raises(InvariantError, match=f"pfns {hole:#x}-{hole + 1:#x} are not memory but owned by MANAGED"):
        k.check_memmap()
