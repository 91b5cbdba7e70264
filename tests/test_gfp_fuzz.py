"""No gfp mask crashes the model: any combination of the kernel's gfp flags through
every allocation entry point succeeds, returns NULL, or gives the kernel's own WARN or
BUG text under the on_bug policy, and ``k.check()`` holds afterwards.

The known crash this guards: __GFP_MOVABLE and __GFP_RECLAIMABLE both reaching the page
allocator (a buffer_head allocation's GFP_NOFS|__GFP_MOVABLE|... in a SLAB_RECLAIM_ACCOUNT
cache) raised KeyError: 3 in page_alloc._find_suitable_fallback; 6.18 warns there
(gfp_migratetype()'s VM_WARN_ON) and SLUB never passes both (new_slab() masks them)."""
from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kmemsim
from kmemsim.errors import KernelBug, Oops
from kmemsim.trace.replay import replay

PROFILES = {"linux-6.18-x86_64": "512M", "linux-2.6-i386": "256M"}

ENTRY_POINTS = (
    "alloc_pages", "get_free_pages", "kmalloc", "kzalloc", "kmalloc_large", "kcalloc", "krealloc",
    "kvmalloc", "cache_plain", "cache_reclaimable", "cache_dma", "cache_debug", "vmalloc", "mempool",
)


def _bits(profile: str) -> list[int]:
    gs = kmemsim.boot(profile, ram=PROFILES[profile]).gfp
    return sorted({v for n, v in gs.flags.items() if n.startswith("__GFP_") and v and v & (v - 1) == 0})


BITS = {p: _bits(p) for p in PROFILES}


def _machine(profile: str, on_bug: str):
    k = kmemsim.boot(profile, ram=PROFILES[profile], on_bug=on_bug)
    sf = k.slab_flags
    caches = {
        "cache_plain": k.kmem_cache_create("fuzz_plain", 200, 0, 0),
        "cache_reclaimable": k.kmem_cache_create("fuzz_rcl", 104, 0, sf.SLAB_RECLAIM_ACCOUNT),
        "cache_dma": k.kmem_cache_create("fuzz_dma", 96, 0, sf.SLAB_CACHE_DMA),
        "cache_debug": k.kmem_cache_create("fuzz_debug", 64, 0, sf.SLAB_RED_ZONE | sf.SLAB_POISON
                                           | sf.SLAB_STORE_USER),
    }
    pool = k.mempool_create_kmalloc_pool(2, 128)
    return k, caches, pool


def _call(k, caches, pool, entry: str, gfp: int, order: int) -> None:
    """One allocation and, when it succeeded, its free."""
    if entry == "alloc_pages":
        pg = k.alloc_pages(gfp, order)
        if pg is not None:
            k.free_pages_struct(pg, order)
    elif entry == "get_free_pages":
        a = k.get_free_pages(gfp, order)
        if a:
            k.free_pages(a, order)
    elif entry in ("kmalloc", "kzalloc", "kmalloc_large"):
        size = 100 << order if entry != "kmalloc_large" else 9000 << order
        p = getattr(k, "kzalloc" if entry == "kzalloc" else "kmalloc")(size, gfp)
        if p:
            k.kfree(p)
    elif entry == "kcalloc":
        p = k.kcalloc(4, 24 << order, gfp)
        if p:
            k.kfree(p)
    elif entry == "krealloc":
        p = k.kmalloc(32, "GFP_KERNEL")
        q = k.krealloc(p, 300 << order, gfp)
        k.kfree(q if q else p)
    elif entry == "kvmalloc":
        p = k.kvmalloc(3000 << order, gfp)
        if p:
            k.kvfree(p)
    elif entry.startswith("cache_"):
        c = caches[entry]
        objs = [k.kmem_cache_alloc(c, gfp) for _ in range(1 + order)]
        for o in objs:
            if o:
                k.kmem_cache_free(c, o)
    elif entry == "vmalloc":
        p = k.vmalloc_gfp(5000 << order, gfp)
        if p:
            k.vfree(p)
    elif entry == "mempool":
        if pool is not None:
            e = k.mempool_alloc(pool, gfp)
            if e:
                k.mempool_free(e, pool)
    else:  # pragma: no cover
        raise AssertionError(entry)


def _run_masks(profile: str, on_bug: str, data, calls: int) -> None:
    bits = BITS[profile]
    k, caches, pool = _machine(profile, on_bug)
    for _ in range(calls):
        chosen = data.draw(st.lists(st.sampled_from(bits), max_size=8, unique=True), label="bits")
        gfp = 0
        for b in chosen:
            gfp |= b
        entry = data.draw(st.sampled_from(ENTRY_POINTS), label="entry")
        order = data.draw(st.integers(0, 3), label="order")
        before = k.dmesg()
        try:
            _call(k, caches, pool, entry, gfp, order)
        except (KernelBug, Oops):
            assert on_bug == "raise"
            new = k.dmesg()[len(before):]
            assert "------------[ cut here ]------------" in new or "BUG" in new, new
        k.check()


@pytest.mark.parametrize("on_bug", ["report", "raise"])
@pytest.mark.parametrize("profile", list(PROFILES))
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_any_gfp_mask_through_any_entry_point(profile, on_bug, data):
    _run_masks(profile, on_bug, data, 6)


@pytest.mark.slow
@pytest.mark.parametrize("on_bug", ["report", "raise"])
@pytest.mark.parametrize("profile", list(PROFILES))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_gfp_mask_through_any_entry_point_thoroughly(profile, on_bug, data):
    _run_masks(profile, on_bug, data, 10)


def test_movable_and_reclaimable_reaching_the_page_allocator_is_the_kernels_warning():
    k = kmemsim.boot(on_bug="report")
    g = k.gfp
    pg = k.alloc_pages(g.GFP_KERNEL | g.flags["__GFP_MOVABLE"] | g.flags["__GFP_RECLAIMABLE"], 0)
    assert pg is not None
    assert "WARNING: CPU: 0 PID: 1000 at include/linux/gfp.h:22 gfp_migratetype" in k.dmesg()
    k.check()
    k26 = kmemsim.boot("linux-2.6-i386", ram="256M", on_bug="report")
    g = k26.gfp
    assert k26.alloc_pages(g.GFP_KERNEL | g.flags["__GFP_MOVABLE"] | g.flags["__GFP_RECLAIMABLE"], 0) is not None
    assert "at include/linux/gfp.h:110 allocflags_to_migratetype" in k26.dmesg()
    k26.check()


#: the first buffer_head allocation of tests/data/corpus/blockdev-loop (and find-du, big-mixed)
BLOCKDEV_BH = (
    "           mount-20514   [001] .....  2185.688603: kmem_cache_alloc: call_site=alloc_buffer_head+0x1d/0x90 "
    "ptr=000000003578011e name=buffer_head bytes_req=104 bytes_alloc=104 gfp_flags=GFP_NOFS|__GFP_MOVABLE|"
    "__GFP_ZERO|__GFP_NOFAIL|__GFP_HARDWALL|__GFP_ACCOUNT node=-1 accounted=true"
)


def test_the_blockdev_loop_buffer_head_event_replays():
    # a buffer_head cache as the host has it (SLAB_RECLAIM_ACCOUNT), with its first slab to make
    k = kmemsim.boot(on_bug="raise")
    k.kmem_cache_create("buffer_head", 104, 0, k.slab_flags.SLAB_RECLAIM_ACCOUNT)
    out = io.StringIO()
    with k.tracing(out, ["mm_page_alloc"]):
        r = replay([BLOCKDEV_BH], k=k)
    assert r.placed["kmem_cache_alloc"] == 1 and not r.bugs
    assert "WARNING" not in k.dmesg()
    assert "migratetype=2 gfp_flags=GFP_NOFS|__GFP_RECLAIMABLE|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP|__GFP_HARDWALL" \
        in out.getvalue()
    assert r.check_error is None
