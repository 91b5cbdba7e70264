"""vmap areas (mm/vmalloc.c 6.18 kva allocator) and the 2.6.24 vmlist, standalone."""
from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from kmemsim.errors import UsageError
from kmemsim.mm.vmap_area import (
    FL_FIT_TYPE,
    LE_FIT_TYPE,
    NE_FIT_TYPE,
    RE_FIT_TYPE,
    RBRoot,
    VmapAllocator,
    VmapArea,
    VmapTreeCorrupt,
    Vmlist,
    inorder,
    rb_erase,
    rb_insert_color,
    rb_link_node,
)

PS = 4096
VSTART = 0xFFFFC90000000000
VEND = VSTART + (32 << 40) - 1  # inclusive, as x86_64 defines VMALLOC_END


def alloc(nr_cpus: int = 1, **kw) -> VmapAllocator:
    return VmapAllocator(vmalloc_start=VSTART, vmalloc_end=VEND, nr_possible_cpus=nr_cpus, **kw)


def free_ranges(a: VmapAllocator) -> list[tuple[int, int]]:
    return [(va.va_start, va.va_end) for va in a.free_areas()]


# ------------------------------------------------------------------ the red-black tree
def test_rbtree_matches_a_sorted_list_and_stays_balanced():
    rnd = random.Random(5)
    root = RBRoot()
    nodes: dict[int, VmapArea] = {}
    for step in range(3000):
        if nodes and rnd.random() < 0.45:
            key = rnd.choice(list(nodes))
            rb_erase(nodes.pop(key), root, False)
        else:
            key = rnd.randrange(1, 1 << 20) * 2
            if key in nodes:
                continue
            n = VmapArea(key, key + 1)
            # find the link like find_va_links()
            parent, side, cur = None, 0, root.rb_node
            while cur is not None:
                parent = cur
                side, cur = (0, cur.rb_left) if key < cur.va_start else (1, cur.rb_right)
            rb_link_node(n, parent, side, root)
            rb_insert_color(n, root, False)
            nodes[key] = n
        if step % 250 == 0:
            assert [n.va_start for n in inorder(root)] == sorted(nodes)
    assert [n.va_start for n in inorder(root)] == sorted(nodes)
    # black height bound: depth <= 2 log2(n + 1)
    def depth(n):
        return 0 if n is None else 1 + max(depth(n.rb_left), depth(n.rb_right))
    import math
    assert depth(root.rb_node) <= 2 * math.log2(len(nodes) + 1)


# ------------------------------------------------------------------ init, fit types, merging
def test_init_is_one_free_block_of_the_whole_space():
    a = alloc()
    assert free_ranges(a) == [(1, (1 << 64) - 1)]
    a.check()


def test_first_allocation_is_a_no_edge_split_at_vmalloc_start():
    a = alloc()
    va = a.alloc_vmap_area(2 * PS, 1, VSTART, VEND)
    assert (va.va_start, va.va_end) == (VSTART, VSTART + 2 * PS)
    assert free_ranges(a) == [(1, VSTART), (VSTART + 2 * PS, (1 << 64) - 1)]
    a.check()


def test_classify_fit_types():
    va = VmapArea(0x10000, 0x20000)
    c = VmapAllocator.classify_va_fit_type
    assert c(va, 0x10000, 0x10000) == FL_FIT_TYPE
    assert c(va, 0x10000, 0x1000) == LE_FIT_TYPE
    assert c(va, 0x1F000, 0x1000) == RE_FIT_TYPE
    assert c(va, 0x15000, 0x1000) == NE_FIT_TYPE


def test_lowest_fit_left_edge_right_edge_and_full_fit():
    a = alloc()
    x = [a.alloc_vmap_area(PS, 1, VSTART, VEND) for _ in range(4)]
    assert [v.va_start for v in x] == [VSTART + i * PS for i in range(4)]
    a.free_vmap_area(x[1])  # hole of 1 page at +1
    y = a.alloc_vmap_area(PS, 1, VSTART, VEND)  # FL fit: the hole disappears
    assert y.va_start == VSTART + PS
    a.free_vmap_area(x[2])
    a.free_vmap_area(y)  # merged: hole of 2 pages at +1
    assert (VSTART + PS, VSTART + 3 * PS) in free_ranges(a)
    z = a.alloc_vmap_area(PS, 1, VSTART, VEND)  # LE fit
    assert z.va_start == VSTART + PS
    assert (VSTART + 2 * PS, VSTART + 3 * PS) in free_ranges(a)
    a.check()


def test_alignment_and_range_restriction():
    a = alloc()
    a.alloc_vmap_area(PS, 1, VSTART, VEND)
    v = a.alloc_vmap_area(5 * PS, 4 * PS, VSTART, VEND)  # a stack: 16K aligned, 20K long
    assert v.va_start % (4 * PS) == 0 and v.va_start == VSTART + 4 * PS
    lo = VSTART + (1 << 30)
    w = a.alloc_vmap_area(PS, 1, lo, lo + 2 * PS)
    assert w.va_start == lo
    assert a.alloc_vmap_area(2 * PS, 1, lo, lo + 2 * PS) is None  # only one page left there
    assert "Address range restricted" not in " ".join(a.warnings)  # no pr_warn hook wired
    a.check()


def test_merge_with_both_neighbours_frees_the_objects():
    objs = []
    a = alloc(obj_alloc=lambda: (objs.append(1) or len(objs)) * 64, obj_free=lambda o: objs.pop())
    v = [a.alloc_vmap_area(PS, 1, VSTART, VEND) for _ in range(3)]
    a.free_vmap_area(v[0])
    a.free_vmap_area(v[2])
    n_before = a.objects
    a.free_vmap_area(v[1])  # joins [start-of-space, ..., rest]: two merges
    assert a.objects == n_before - 2
    assert free_ranges(a) == [(1, (1 << 64) - 1)]
    a.check()


def test_bad_arguments_are_usage_errors():
    a = alloc()
    with pytest.raises(UsageError):
        a.alloc_vmap_area(0, 1, VSTART, VEND)
    with pytest.raises(UsageError):
        a.alloc_vmap_area(100, 1, VSTART, VEND)
    with pytest.raises(UsageError):
        a.alloc_vmap_area(PS, 3 * PS, VSTART, VEND)


def test_overlapping_insert_is_the_kernels_warning():
    a = alloc()
    v = a.alloc_vmap_area(PS, 1, VSTART, VEND)
    bogus = VmapArea(v.va_start, v.va_end)
    a.insert_vmap_area(bogus, a.nodes[0].busy)
    assert a.warnings[-1] == (f"vmalloc bug: 0x{v.va_start:x}-0x{v.va_end:x} overlaps with "
                              f"0x{v.va_start:x}-0x{v.va_end:x}")


# ------------------------------------------------------------------ lazy freeing, pools
@pytest.mark.parametrize("cpus,pages", [(1, 8192), (2, 16384), (3, 16384), (4, 24576), (8, 32768), (15, 32768)])
def test_lazy_max_pages_is_fls_of_online_cpus_times_32mb(cpus, pages):
    assert alloc(cpus).lazy_max_pages() == pages


def test_lazy_areas_wait_for_the_threshold_then_purge_once():
    a = alloc(1)
    areas = [a.alloc_vmap_area(64 * PS, 1, VSTART, VEND) for _ in range(130)]  # 8320 pages
    for va in areas[:128]:
        a.free_vmap_area_noflush(a.find_unlink_vmap_area(va.va_start))
    assert a.vmap_lazy_nr == 8192 and a.nr_purges == 0  # not above lazy_max_pages() yet
    assert len(list(a.lazy_areas())) == 128
    a.free_vmap_area_noflush(a.find_unlink_vmap_area(areas[128].va_start))
    assert a.vmap_lazy_nr == 0 and a.nr_purges == 1 and a.tlb_flushes == 1
    assert free_ranges(a)[0] == (1, areas[129].va_start)  # purged areas merged with the space below
    a.check()


def test_pool_hit_reuses_the_last_freed_area_of_this_cpus_node():
    cpu = [0]
    a = alloc(2, cpu=lambda: cpu[0])
    assert a.nr_vmap_nodes == 2 and a.vmap_zone_size == 16 * PS
    x = [a.alloc_vmap_area(5 * PS, 1, VSTART, VEND) for _ in range(4)]
    for va in (x[0], x[2]):
        a.free_vmap_area_noflush(a.find_unlink_vmap_area(va.va_start))
    a.purge_vmap_area_lazy(a.ulong_max, 0, False)
    assert [va.va_start for va in a.pooled_areas()] == [x[2].va_start, x[0].va_start]  # LIFO
    y = a.alloc_vmap_area(5 * PS, 1, VSTART, VEND)
    assert y.va_start == x[2].va_start  # not the lowest address: the pool's head
    z = a.alloc_vmap_area(4 * PS, 1, VSTART, VEND)  # another size: the free tree
    assert z.va_start == x[3].va_end
    cpu[0] = 1  # the other node's pool is empty
    w = a.alloc_vmap_area(5 * PS, 1, VSTART, VEND)
    assert w.va_start == z.va_end
    a.check()
    a.reclaim_and_purge_vmap_areas()  # full decay: pools empty
    assert not list(a.pooled_areas())
    a.check()


def test_before_vmap_nodes_one_tree_no_pools_and_the_6_6_failure_message():
    msgs: list[str] = []
    a = alloc(4, vmap_nodes=False, range_fail_msg=False, pr_warn=msgs.append)
    assert a.nr_vmap_nodes == 1  # 6.6: one busy tree however many CPUs
    x = [a.alloc_vmap_area(5 * PS, 1, VSTART, VEND) for _ in range(4)]
    for va in (x[0], x[2]):
        a.free_vmap_area_noflush(a.find_unlink_vmap_area(va.va_start))
    a.purge_vmap_area_lazy(a.ulong_max, 0, False)
    assert not list(a.pooled_areas())  # no pools: purged areas go back to the free tree
    assert a.alloc_vmap_area(5 * PS, 1, VSTART, VEND).va_start == x[0].va_start  # the lowest fit
    assert a.alloc_vmap_area(PS, 1, VSTART, VSTART + PS) is None
    assert msgs == [f"vmap allocation for size {PS} failed: use vmalloc=<size> to increase size"]
    a.check()


def test_check_detects_corruption():
    a = alloc()
    vs = [a.alloc_vmap_area(PS, 1, VSTART, VEND) for _ in range(5)]
    a.free_vmap_area(vs[2])
    a.check()
    node = a.free_root.rb_node
    node.subtree_max_size += PS
    with pytest.raises(VmapTreeCorrupt, match="subtree_max_size"):
        a.check()
    node.subtree_max_size -= PS
    a.check()
    vs[0].va_end += PS  # now overlaps vs[1]
    with pytest.raises(VmapTreeCorrupt):
        a.check()
    vs[0].va_end -= PS
    a.vmap_lazy_nr += 1
    with pytest.raises(VmapTreeCorrupt, match="vmap_lazy_nr"):
        a.check()


# ------------------------------------------------------------------ 2.6.24 vmlist
class _Area:
    def __init__(self, addr, size):
        self.addr, self.size = addr, size


def test_vmlist_first_fit_walk_and_end_check():
    vl = Vmlist()
    start, end = 0xF8800000, 0xF8800000 + 16 * PS
    for _ in range(3):
        idx, addr = vl.find_slot(2 * PS, 1, start, end)
        vl.insert(idx, _Area(addr, 2 * PS))
    assert [a.addr for a in vl] == [start, start + 2 * PS, start + 4 * PS]
    vl.remove(start + 2 * PS)
    idx, addr = vl.find_slot(2 * PS, 1, start, end)
    assert (idx, addr) == (1, start + 2 * PS)  # the hole
    assert vl.find_slot(11 * PS, 1, start, end) is None  # addr > end - size after the list
    assert vl.find_slot(10 * PS, 1, start, end) == (2, start + 6 * PS)
    used, chunk = vl.get_vmalloc_info(start, end)
    assert (used, chunk) == (4 * PS, 10 * PS)
    vl.check(start, end)


# ------------------------------------------------------------------ stateful
class VmapMachine(RuleBasedStateMachine):
    """Random alloc/free/lazy free/purge with alignment and range limits; check() after
    every step, and with one node (no pools) the lowest-address oracle for align <= PAGE_SIZE."""

    @initialize(cpus=st.sampled_from([1, 2]))
    def setup(self, cpus):
        self.cpu = 0
        self.a = alloc(cpus, cpu=lambda: self.cpu)
        self.cpus = cpus
        self.live: list[VmapArea] = []
        # a small window so that the space fragments and runs out
        self.lo = VSTART
        self.hi = VSTART + 256 * PS

    @rule(pages=st.integers(1, 24), align_shift=st.integers(0, 5), window=st.booleans(),
          data=st.data())
    def allocate(self, pages, align_shift, window, data):
        align = 1 if align_shift == 0 else PS << (align_shift - 1)
        lo, hi = (self.lo, self.hi) if window else (VSTART, VEND)
        size = pages * PS
        oracle = self.cpus == 1 and align <= PS and not list(self.a.lazy_areas())
        expected = None
        if oracle:
            # find_vmap_lowest_match() for align <= PAGE_SIZE: the lowest free block that
            # holds [ALIGN(max(start, vstart)), +size); then va_alloc() checks vend
            for s, e in free_ranges(self.a):
                start = (max(s, lo) + align - 1) & -align
                if start + size <= e:
                    expected = start if start + size <= hi else None
                    break
        va = self.a.alloc_vmap_area(size, align, lo, hi)
        if va is not None:
            assert va.va_start % align == 0 and lo <= va.va_start and va.va_end <= hi
            self.live.append(va)
        if oracle:
            assert (va.va_start if va is not None else None) == expected

    @precondition(lambda self: self.live)
    @rule(data=st.data(), lazy=st.booleans())
    def free(self, data, lazy):
        va = self.live.pop(data.draw(st.integers(0, len(self.live) - 1)))
        if lazy:
            got = self.a.find_unlink_vmap_area(va.va_start + data.draw(st.integers(0, va.size - 1)))
            assert got is va
            self.a.free_vmap_area_noflush(va)
        else:
            self.a.free_vmap_area(va)

    @rule(full=st.booleans())
    def purge(self, full):
        self.a.purge_vmap_area_lazy(self.a.ulong_max, 0, full)

    @rule(cpu=st.integers(0, 1))
    def switch_cpu(self, cpu):
        self.cpu = cpu % self.cpus

    @invariant()
    def consistent(self):
        if hasattr(self, "a"):
            self.a.check()
            for va in self.live:
                assert self.a.find_vmap_area(va.va_start) is va


TestVmapStateful = VmapMachine.TestCase
TestVmapStateful.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                     suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ the kernel's own answers
def _dump(n) -> str:
    if n is None:
        return "-"
    return (f"({n.va_start:x},{n.va_end:x},{'r' if n.rb_red else 'b'},{n.subtree_max_size:x} "
            f"{_dump(n.rb_left)} {_dump(n.rb_right)})")


def test_free_tree_is_bit_exact_with_the_kernels_code():
    """2000 allocations (alignments up to 64 pages, restricted ranges) and frees, run through
    6.12's mm/vmalloc.c free-tree functions with lib/rbtree.c compiled from the kernel source
    (tools/vmap_tree_crosscheck): every address and, every 250 operations, the whole tree --
    shape, colours and subtree_max_size -- must be the same here."""
    import gzip
    from pathlib import Path

    path = Path(__file__).parent / "data" / "vmap-free-tree-6.12.txt.gz"
    text = gzip.open(path, "rt").read()
    ops_text, out_text = text.split("=== OUT\n")
    ops = [line for line in ops_text.splitlines() if not line.startswith("#")]
    expected = out_text.splitlines()
    a = VmapAllocator(vmalloc_start=VSTART, vmalloc_end=VEND, nr_possible_cpus=1)
    got = []
    for line in ops:
        f = line.split()
        if f[0] == "A":
            size, align, lo, hi = (int(x, 16) for x in f[1:])
            r = a._alloc_range(size, align, lo, hi)
            got.append(f"{r or 0:x}")
        elif f[0] == "F":
            a.objects += 1
            a.merge_or_add_vmap_area_augment(VmapArea(int(f[1], 16), int(f[2], 16)))
        else:
            got.append(_dump(a.free_root.rb_node))
    assert len(got) == len(expected)
    for i, (x, y) in enumerate(zip(got, expected, strict=True)):
        assert x == y, f"output {i} differs from the kernel's"
