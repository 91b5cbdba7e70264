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


def _freelists(k):
    """(cache, slab, head) of every freelist SLUB's check walks."""
    slub = k.slub
    for c in slub.caches:
        for cpu in c.cpu_slab:
            if cpu.slab is not None:
                yield c, cpu.slab, cpu.freelist
        for slab in slub.slabs(c):
            yield c, slab, slab.freelist


def _walks_agree(k) -> int:
    """Slub._walk() (the set-free common case) and Slub._walk_checked() give the same count and
    the same messages for every freelist of ``k``; the number of lists walked."""
    n = 0
    for c, slab, head in _freelists(k):
        fast: list[str] = []
        checked: list[str] = []
        assert k.slub._walk(c, slab, head, fast, "list") == k.slub._walk_checked(c, slab, head, checked, "list")
        assert fast == checked
        n += 1
    return n


@pytest.mark.parametrize("profile", ["linux-6.18-x86_64", "linux-2.6.24-i386"])
@pytest.mark.parametrize("hardened", [False, True])
def test_the_freelist_walk_agrees_with_the_checked_walk(profile, hardened, monkeypatch):
    k = kmemsim.boot(profile, slab_freelist_hardened=hardened)
    gfp = kmemsim.gfp.GFP_KERNEL
    ptrs = [k.kmalloc(16 + 24 * (i % 50), gfp) for i in range(400)]
    for p in ptrs[::3]:
        k.kfree(p)
    assert _walks_agree(k) > 20
    with monkeypatch.context() as m:  # a sound list never needs the checked walk
        m.setattr(k.slub, "_walk_checked", None)
        k.check()
    c, slab, head = _cpu_freelist(k)
    nxt = k.slub.get_freepointer(c, head)
    other = next(s for cc in k.slub.caches for s in k.slub.slabs(cc) if s is not slab)
    for bad in (slab.addr + 3, slab.addr - c.size, other.addr, 0xFFFF_F000 if k.slub.word == 4 else 1 << 60,
                head):  # not an object's start, before the slab, another slab, outside lowmem, a cycle
        k.slub.set_freepointer(c, nxt, bad)
        errs: list[str] = []
        n = k.slub._walk(c, slab, head, errs, "cpu0 freelist")
        assert len(errs) == 1 and (n, errs) == (k.slub._walk_checked(c, slab, head, [], "cpu0 freelist"), errs)
        assert ("has a cycle" if bad == head else "points outside its objects") in errs[0]
    with pytest.raises(InvariantError):
        k.check()


@pytest.mark.slow
def test_the_freelist_walk_agrees_on_a_replay_from_every_corpus_host():
    from conftest import DATA

    from kmemsim.trace.replay import replay

    for snap in sorted((DATA / "corpus").glob("*/snapshot.tar.gz")):
        r = replay(snap.parent / "trace.txt.gz", host=snap)
        assert _walks_agree(r.k) > 50, snap
