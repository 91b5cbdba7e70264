"""SLOB of 2.6.24 (mm/slob.py): the heap in real bytes, kmalloc's header, big blocks, its quirks.

Line numbers are 2.6.24's mm/slob.c; the absent views are those of the SLOB captures in
tests/data/classic/linux-2.6.24-i386/slob-*/absent.txt."""
from __future__ import annotations

import struct

import pytest

import kmemsim
from kmemsim.errors import InvariantError


@pytest.fixture
def k() -> kmemsim.Kernel:
    return kmemsim.boot("linux-2.6.24-i386", ram="256M", slab_allocator="slob", on_bug="report")


def units(k, addr):
    return struct.unpack("<h", k.read(addr, 2))[0]


def test_no_slabinfo_no_sysfs_no_slab_pages(k):
    """slob-1g-smp2/absent.txt lists /proc/slabinfo and /sys/kernel/slab; meminfo.txt says Slab: 0 kB."""
    assert "slabinfo" not in k.proc()
    p = k.kmalloc(100, k.gfp.GFP_KERNEL)
    assert p and k.node_stat("nr_slab_unreclaimable") == 0 == k.node_stat("nr_slab_reclaimable")


def test_kmalloc_puts_the_size_in_a_header_word(k):
    """__kmalloc_node(): slob_alloc(size + 4, gfp, 4) and *m = size (mm/slob.c:408-414)."""
    p = k.kmalloc(100, k.gfp.GFP_KERNEL)
    assert p % 4 == 0 and k.read_u32(p - 4) == 100
    sp = k.slab_impl.pages[(p - k.layout.page_offset) >> 12]
    # a fresh page: the block of 52 units from the page's start, the rest one free block
    assert p - 4 == sp.addr and sp.free == sp.addr + 104 and sp.units == 2048 - 52
    assert units(k, sp.free) == 2048 - 52
    k.kfree(p)
    assert not k.slab_impl.pages  # the page's every unit back: straight to the page allocator
    k.check()


def test_first_fit_and_merging(k):
    """slob_page_alloc() is first fit; slob_free() merges a block with the free blocks beside it."""
    g = k.gfp.GFP_KERNEL
    a, b, c = (k.kmalloc(60, g) for _ in range(3))
    assert b - a == c - b == 64
    k.kfree(a)
    k.kfree(b)  # merges with a's block: one free block of 64 units in front
    sp = k.slab_impl.pages[(a - k.layout.page_offset) >> 12]
    assert sp.free == a - 4 and units(k, sp.free) == 64
    assert k.kmalloc(120, g) == a  # first fit: the merged hole
    k.check()


def test_alignment_fragments_the_head(k):
    """A SLAB_HWCACHE_ALIGN cache's objects are SLOB_ALIGN (L1_CACHE_BYTES, 32) aligned: the head
    of the free block is split off (set_slob(cur, delta, aligned))."""
    c = k.kmem_cache_create("aligned", 40, 0, k.slab_flags.SLAB_HWCACHE_ALIGN)
    k.kmalloc(10, k.gfp.GFP_KERNEL)  # 14 bytes: the free block no longer starts aligned
    o = k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    assert o % 32 == 0 and c.align == 32
    k.check()


def test_big_kmalloc_is_a_compound_block_with_its_size(k):
    """kmalloc(size >= PAGE_SIZE - 4): slob_new_page(gfp | __GFP_COMP, get_order(size)), the size
    in page->private for ksize (mm/slob.c:416-425)."""
    p = k.kmalloc(5000, k.gfp.GFP_KERNEL)
    assert p % 4096 == 0 and k.slab.large[p] == 1 and k.ksize(p) == 5000
    free = k.nr_free_pages()
    k.kfree(p)
    assert k.nr_free_pages() == free + 2
    k.check()


def test_ksize_of_a_small_kmalloc_is_2(k):
    """2.6.24's ksize() reads the slob_t before the block -- the high half of the size header --
    and adds SLOB_UNIT (mm/slob.c:456): 2 for anything below 64 KiB; krealloc() (mm/util.c)
    trusts it, so it always moves the object and copies 2 bytes."""
    p = k.kmalloc(100, k.gfp.GFP_KERNEL)
    assert k.ksize(p) == 2
    k.write(p, b"ABCDEFGH")
    q = k.krealloc(p, 50, k.gfp.GFP_KERNEL)
    assert q != p and k.read(q, 2) == b"AB" and k.read(q + 2, 6) != b"CDEFGH"
    assert k.kmalloc(0, k.gfp.GFP_KERNEL) == 16


def test_kmalloc_failure_returns_4(k):
    """__kmalloc_node(): "return (void *)m + align" even when slob_alloc() gave NULL (mm/slob.c:414);
    kfree(4) is ignored (ZERO_OR_NULL_PTR)."""
    k.debugfs("fail_page_alloc/probability", 100)
    k.debugfs("fail_page_alloc/times", -1)
    k.debugfs("fail_page_alloc/min-order", 0)  # SLOB's pages are order 0
    assert k.kmalloc(4000, k.gfp.GFP_ATOMIC) == 4  # ignore-gfp-wait: GFP_KERNEL would be spared
    k.kfree(4)
    k.check()


def test_caches_construct_every_object_and_never_complain(k):
    """SLOB emulates SLAB by calling the constructor on every allocation, ctor(cache, obj)
    (mm/slob.c:531-532); kmem_cache_destroy() frees the descriptor whatever objects remain."""
    seen = []
    c = k.kmem_cache_create("obj", 48, 0, 0, lambda cache, obj: seen.append((cache, obj)))
    a = k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    k.kmem_cache_free(c, a)
    b = k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    assert seen == [(c, a), (c, b)] and a == b
    before = k.dmesg()
    k.kmem_cache_destroy(c)
    assert k.dmesg() == before
    assert k.kmem_cache_shrink(k.kmem_cache_create("x", 8, 0, 0)) == 0
    k.check()


def test_a_raising_constructor_gives_the_object_back(k):
    c = k.kmem_cache_create("bad", 48, 0, 0, lambda cache, obj: 1 / 0)
    pages = dict(k.slab_impl.pages)
    with pytest.raises(kmemsim.UsageError, match=r"the constructor <lambda> raised ZeroDivisionError.*the object "
                                                 "was freed") as info:
        k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert {p: sp.units for p, sp in k.slab_impl.pages.items()} == {p: sp.units for p, sp in pages.items()}
    k.check()


def test_corruption_of_a_free_block_is_found_by_check(k):
    """The free list lives in the free blocks: overwrite one and k.check() sees it."""
    g = k.gfp.GFP_KERNEL
    a = k.kmalloc(60, g)
    k.kmalloc(60, g)
    k.kfree(a)
    k.write(a - 4, struct.pack("<hh", 3000, 5))
    with pytest.raises(InvariantError, match="slob"):
        k.check()


def test_kfree_of_a_bogus_pointer(k):
    """A pointer no slob page and no kmalloc gave: put_page() of a page nobody holds.  2.6.24
    without CONFIG_DEBUG_VM takes its count from 0 to -1 silently (mm/page_alloc.c:1683), and
    prep_new_page() reports the page when it is next handed out."""
    page = k.get_free_page(k.gfp.GFP_KERNEL)
    k.free_page(page)
    k.kfree(page + 8)
    assert "Bad page state" not in k.dmesg()
    again = [k.get_free_page(k.gfp.GFP_KERNEL) for _ in range(4)]
    assert page in again and "Bad page state" in k.dmesg()
