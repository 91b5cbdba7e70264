"""What SLUB asks the page allocator for a new slab, as 6.18 does (mm/slub.c new_slab(),
allocate_slab(), calculate_sizes()), checked against the text of a real 6.18 trace."""
from __future__ import annotations

import io

import kmemsim
from kmemsim.trace import TraceReader

#: a real 6.18 trace's buffer_head slab page (the reference host, ext4's journal: GFP_NOFS)
REAL_BH_PAGE = "order=0 migratetype=2 gfp_flags=GFP_NOFS|__GFP_RECLAIMABLE|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP"


def buffer_head_cache(k):
    # fs/buffer.c buffer_init(): SLAB_RECLAIM_ACCOUNT | SLAB_PANIC | SLAB_MEM_SPREAD, 104 bytes on 6.18
    return k.kmem_cache_create("buffer_head", 104, 0, kmemsim.SLAB_RECLAIM_ACCOUNT | kmemsim.SLAB_PANIC)


def page_lines(k, fn):
    out = io.StringIO()
    with k.tracing(out, ["mm_page_alloc"]):
        fn()
    return [ln for ln in out.getvalue().splitlines() if "mm_page_alloc:" in ln]


def test_a_buffer_head_slab_page_is_asked_as_618_asks_it(k):
    bh = buffer_head_cache(k)
    lines = page_lines(k, lambda: k.kmem_cache_alloc(bh, "GFP_NOFS"))
    assert len(lines) == 1
    assert lines[0].endswith(REAL_BH_PAGE), lines[0]


def test_the_callers_movable_zero_nofail_account_bits_never_reach_the_slab_page(k):
    # the gfp of the first buffer_head allocation of blockdev-loop: replay crashed on it
    # (KeyError 3: __GFP_MOVABLE and __GFP_RECLAIMABLE both reached the page allocator)
    bh = buffer_head_cache(k)
    gfp = "GFP_NOFS|__GFP_MOVABLE|__GFP_ZERO|__GFP_NOFAIL|__GFP_HARDWALL|__GFP_ACCOUNT"
    ptrs: list[int] = []
    lines = page_lines(k, lambda: ptrs.append(k.kmem_cache_alloc(bh, gfp)))
    assert ptrs[0]
    (ev,) = TraceReader(lines)
    # new_slab(): gfp & (GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK) keeps __GFP_HARDWALL, drops the rest
    assert ev.gfp_flags == "GFP_NOFS|__GFP_RECLAIMABLE|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP|__GFP_HARDWALL"
    assert ev.migratetype == 2 and ev.order == 0
    assert "WARNING" not in k.dmesg()
    k.check()


def test_comp_is_set_at_order_0_and_the_retry_at_the_minimum_order_keeps_the_flags(k):
    c = k.kmem_cache_create("big_objs", 3000, 0, 0)
    assert c.order > c.min_order
    lines = page_lines(k, lambda: k.kmem_cache_alloc(c, "GFP_KERNEL"))
    (ev,) = TraceReader(lines)
    # above the minimum order with direct reclaim: __GFP_NOMEMALLOC, no reclaim at all
    assert ev.order == c.order
    assert ev.gfp_flags == "__GFP_IO|__GFP_FS|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP|__GFP_NOMEMALLOC"
    # kmalloc-64's order-0 slab page carries __GFP_COMP too (s->allocflags = __GFP_COMP)
    lines = page_lines(k, lambda: [k.kmalloc(64, "GFP_KERNEL") for _ in range(200)])
    assert lines and all("__GFP_COMP" in ln for ln in lines)
    (ev,) = TraceReader(lines[:1])
    assert ev.gfp_flags == "GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP"


def test_slab_bug_mask_bits_are_fixed_with_the_kernels_warning(k):
    c = k.kmem_cache_create("plain", 200, 0, 0)
    p = k.kmem_cache_alloc(c, "GFP_KERNEL|__GFP_HIGHMEM")
    assert p
    log = k.dmesg()
    assert "Unexpected gfp: 0x2 (__GFP_HIGHMEM). Fixing up to gfp: 0xcc0 (GFP_KERNEL). Fix your code!" in log
    k.check()


def test_a_constructor_with_zero_warns_once(k):
    c = k.kmem_cache_create("with_ctor", 100, 0, 0, lambda addr: None)
    assert k.kmem_cache_zalloc(c, "GFP_KERNEL")
    assert "WARNING: CPU: 0 PID" in k.dmesg() and "mm/slub.c:3284 new_slab" in k.dmesg()


def test_a_merged_cache_takes_the_largest_object_size(k):
    a = k.kmem_cache_create("merge_a", 60, 0, 0)
    assert a.size == 64 and a.object_size == 60
    b = k.kmem_cache_create("merge_b", 64, 0, 0)
    assert b is a and a.object_size == 64 and a.inuse == 64
    c = k.kmem_cache_create("merge_c", 57, 0, 0)
    assert c is a and a.object_size == 64
    out = io.StringIO()
    with k.tracing(out, ["kmem_cache_alloc"]):
        k.kmem_cache_alloc(a, "GFP_KERNEL")
    assert "name=merge_a bytes_req=64 bytes_alloc=64" in out.getvalue()
