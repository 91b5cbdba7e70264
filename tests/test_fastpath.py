"""The fast paths of mm/fastpath.py leave exactly the state the general paths would.

Two machines booted alike run the same random sequence of calls; one has its fast paths
(the dispatch slots of kmemsim.dispatch), the other has them suspended, so every call
takes the general path (argument checks, the watermark checks, rmqueue_pcplist,
free_frozen_page_commit ...).  Every call must return the same thing, and at the end the
buddy free lists, the pcp lists and their counters, the allocated blocks, the /proc
files and dmesg must be identical and k.check() clean on both.  The sequences mix the
pcp orders (0-3 and the THP order on 6.18; order 0 alone on 2.6.24) with buddy orders,
every kind of GFP mask (zeroing, __GFP_COMP, DMA, movable, reclaimable, symbolic flags),
two CPUs, frees of the wrong order, double frees, extra references, split pages, drains,
the pcp high decay, and memory pressure deep enough to set ZONE_BELOW_HIGH.
"""
from __future__ import annotations

import copy

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings

import kmemsim
from kmemsim import gfp as symbolic
from kmemsim.errors import KmemsimError
from kmemsim.mm.page import Page
from kmemsim.profiles import resolve_tunables

PROCS = ("buddyinfo", "pagetypeinfo", "zoneinfo", "vmstat", "meminfo", "slabinfo")


def masks(k: kmemsim.Kernel) -> list:
    g = k.gfp
    nowarn = g.value("__GFP_NOWARN")
    out = [g.GFP_KERNEL, g.GFP_ATOMIC, g.GFP_USER, g.GFP_HIGHUSER_MOVABLE | nowarn,
           g.GFP_KERNEL | g.value("__GFP_ZERO"), g.GFP_KERNEL | g.value("__GFP_COMP"),
           g.GFP_KERNEL | g.value("__GFP_RECLAIMABLE"), g.GFP_DMA | g.GFP_KERNEL | nowarn,
           symbolic.GFP_KERNEL, symbolic.GFP_KERNEL | symbolic.__GFP_ZERO]
    if k.features.reclaim_flags_split:
        out.append(g.GFP_NOWAIT | nowarn)
    return out


ops = st.lists(
    st.one_of(
        st.tuples(st.just("get"), st.integers(0, 20), st.sampled_from([0, 0, 0, 1, 2, 3, 3, 3, 4, 9]),
                  st.integers(0, 1)),
        st.tuples(st.just("alloc_pages"), st.integers(0, 20), st.sampled_from([0, 1, 3, 9]), st.integers(0, 1)),
        st.tuples(st.just("alloc_pfn"), st.integers(0, 20), st.sampled_from([0, 0, 1, 2, 3, 9]), st.integers(0, 1)),
        st.tuples(st.just("free"), st.integers(0, 1000), st.sampled_from(["right", "right", "right", "wrong", "twice"]),
                  st.integers(0, 1)),
        st.tuples(st.just("get_page"), st.integers(0, 1000)),
        st.tuples(st.just("split"), st.integers(0, 1000)),
        st.tuples(st.just("burst"), st.sampled_from([0, 1, 2, 3]), st.integers(1, 40), st.integers(0, 1)),
        st.tuples(st.just("pairs"), st.integers(0, 20), st.sampled_from([0, 1, 2, 3, 9]), st.integers(1, 8),
                  st.integers(0, 1)),
        st.tuples(st.just("squeeze"), st.integers(0, 3)),
        st.tuples(st.just("release"), st.integers(0, 1)),
        st.tuples(st.just("kmalloc"), st.integers(1, 9000), st.integers(0, 1)),
        st.tuples(st.just("drain"),),
        st.tuples(st.just("decay"),),
    ),
    min_size=1,
    max_size=60,
)


class Driver:
    """One machine and what it holds; every step returns what the calls returned."""

    def __init__(self, k: kmemsim.Kernel):
        self.k = k
        self.masks = masks(k)
        self.held: list[tuple[str, int, int]] = []  # (kind, address or Page pfn, order)
        self.big: list[int] = []  # order-10 blocks of the squeeze
        self.objs: list[int] = []

    def on(self, cpu: int):
        return self.k.on_cpu(cpu % len(self.k.cpus))

    def step(self, op: tuple) -> object:
        k = self.k
        what = op[0]
        if what == "get":
            _, m, order, cpu = op
            with self.on(cpu):
                a = k.get_free_pages(self.masks[m % len(self.masks)], order)
            if a:
                self.held.append(("addr", a, order))
            return a
        if what == "alloc_pages":
            _, m, order, cpu = op
            with self.on(cpu):
                p = k.alloc_pages(self.masks[m % len(self.masks)], order)
            if p is not None:
                self.held.append(("addr", k.page_address(p), order))
            return p.pfn if p is not None else None
        if what == "alloc_pfn":
            # the trace replay's page allocation (trace/replay.py): an int mask, __GFP_HIGHMEM kept;
            # alloc_pfn() while get_free_pages' fast path is in its slot, else the general path
            _, m, order, cpu = op
            ints = [x for x in self.masks if type(x) is int]
            fn = k.pages.alloc_pfn if k.dispatch.active("get_free_pages") == "fast" else k.page_alloc.alloc
            with self.on(cpu):
                pfn = fn(ints[m % len(ints)], order)
            if pfn >= 0:
                self.held.append(("addr", k.page_address(Page(k, pfn)), order))
            return pfn
        if what == "free":
            _, i, how, cpu = op
            if not self.held:
                return None
            kind, a, order = self.held[i % len(self.held)]
            with self.on(cpu):
                if how == "wrong":
                    if k.page_alloc.get_ref(k.virt_to_page(a).pfn) > 1:
                        # ___free_pages() would free the "tail halves" of a block that is not there,
                        # corrupting the lists as the kernel would: not a case for this test
                        return None
                    k.free_pages(a, (order + 1) % 4)  # a bad page report, nothing freed
                    return "wrong"
                self.held.remove((kind, a, order))
                pfn = k.virt_to_page(a).pfn
                # a shared non-compound block: ___free_pages() drops the head's reference and frees
                # the tail halves (6.18 mm/page_alloc.c); a second free would free them again,
                # corrupting the lists as the kernel would: not a case for this test
                shared = order and pfn not in k.page_alloc.compound and k.page_alloc.get_ref(pfn) > 1
                k.free_pages(a, order)
                if how == "twice" and not shared:
                    k.free_pages(a, order)
            return a
        if what == "get_page":
            if self.held:
                _, a, _ = self.held[op[1] % len(self.held)]
                k.get_page(k.virt_to_page(a))  # refcount 2: the next free only drops it
                return a
            return None
        if what == "split":
            if self.held:
                item = self.held[op[1] % len(self.held)]
                _, a, order = item
                if order and k.virt_to_page(a).pfn not in k.page_alloc.compound:
                    self.held.remove(item)
                    k.split_page(k.virt_to_page(a), order)
                    self.held += [("addr", a + (j << 12), 0) for j in range(1 << order)]
                    return a
            return None
        if what == "burst":  # a run of frees without allocations: free_high and the bulk drains
            _, order, n, cpu = op
            g = self.masks[0]
            with self.on(cpu):
                got = [k.get_free_pages(g, order) for _ in range(n)]
                for a in got:
                    if a:
                        k.free_pages(a, order)
            return got
        if what == "pairs":  # get and free at once: the steady state the fast paths serve
            _, m, order, n, cpu = op
            g = self.masks[m % len(self.masks)]
            got = []
            with self.on(cpu):
                for _ in range(n):
                    a = k.get_free_pages(g, order)
                    got.append(a)
                    if a:
                        k.free_pages(a, order)
            return got
        if what == "squeeze":  # order-10 blocks until the zone nears (or passes) its watermarks
            z = k.page_alloc.prepare(k.gfp.mask(self.masks[0], "test")).zonelist[0]
            target = z.watermark[op[1]] + 64 * op[1]
            g = self.masks[0] | k.gfp.value("__GFP_NOWARN")
            got = []
            while z.free_pages > target:
                a = k.get_free_pages(g, 10)
                if not a:
                    break
                got.append(a)
            self.big += got
            return got
        if what == "release":
            with self.on(op[1]):
                for a in self.big:
                    k.free_pages(a, 10)
            self.big.clear()
            return None
        if what == "kmalloc":
            _, size, cpu = op
            with self.on(cpu):
                p = k.kmalloc(size, self.masks[0])
                if len(self.objs) > 8:
                    k.kfree(self.objs.pop(0))
            self.objs.append(p)
            return p
        if what == "drain":
            k.drain_all_pages()
            return None
        if what == "decay":
            k.page_alloc.decay_pcp_high()
            return None
        raise AssertionError(op)


def read(k: kmemsim.Kernel, name: str) -> str:
    try:
        return k.proc(name)
    except KmemsimError as e:  # a file whose layout for this kernel is not modelled
        return str(e)


def quick(k: kmemsim.Kernel) -> list:
    """The counters a fast path moves, compared after every step (a difference can heal later:
    free_count halves to 0 whatever it was)."""
    return [(z.free_pages, z.pgalloc, z.pgfree, z.below_high, tuple(z.nr_free),
             [(p.count, p.high, p.free_count, p.alloc_factor, p.free_high, [len(x) for x in p.lists]) for p in z.pcp])
            for z in k.page_alloc.zones]


def state(k: kmemsim.Kernel) -> dict:
    """Everything the page allocator keeps, and what the machine shows."""
    pa = k.page_alloc
    zones = [{name: copy.deepcopy(getattr(z, name)) for name in z.__match_args__} for z in pa.zones]
    for z in zones:  # the free lists in list order (OrderedDict == is order-sensitive, keep it so)
        z["buddy"] = sorted(z["buddy"].items())
    return {
        "zones": zones,
        "allocated": sorted(pa.allocated.items()),
        "refcounts": {p: pa.get_ref(p) for p in pa.allocated},
        "compound": sorted(pa.compound),
        "head flags": {p: k.memmap.get(p, "flags") for p in pa.compound},
        "vm_events": dict(pa.vm_events),
        "procs": {n: read(k, n) for n in PROCS},
        "dmesg": k.dmesg(),
        "taint": sorted(k.taint),
    }


def twins(profile: str, ram: str, cpus: int, sets: dict) -> tuple[Driver, Driver]:
    fast = kmemsim.boot(profile, ram=ram, cpus=cpus, seed=3, on_bug="report", **sets)
    slow = kmemsim.boot(profile, ram=ram, cpus=cpus, seed=3, on_bug="report", **sets)
    slow.dispatch.suspend("test")
    assert fast.dispatch.active("get_free_pages") == "fast" and slow.dispatch.active("get_free_pages") == "general"
    return Driver(fast), Driver(slow)


def run_both(profile: str, ram: str, cpus: int, sets: dict, sequence: list) -> tuple[Driver, Driver]:
    a, b = twins(profile, ram, cpus, sets)
    for i, op in enumerate(sequence):
        ra, rb = a.step(op), b.step(op)
        assert ra == rb, f"step {i} {op}: fast path gave {ra!r}, general path {rb!r}"
        assert quick(a.k) == quick(b.k), f"step {i} {op}: the counters differ"
    sa, sb = state(a.k), state(b.k)
    for key in sa:
        assert sa[key] == sb[key], f"{key} differs after {sequence}"
    a.k.check()
    b.k.check()
    return a, b


def _page_fast_path(profile: str) -> bool:
    """6.x's pcp lists have the page fast path; 2.6's hot and cold lists (pcp_cold_list, until
    2.6.25) always take the general path (kmemsim.mm.fastpath.install_pages)."""
    from kmemsim.features import Features

    return not Features(kmemsim.profiles.get_profile(profile).kernel_version).pcp_cold_list


#: every kernel with a page fast path: each its own pcp lists
@pytest.mark.parametrize("profile", [p for p in sorted(kmemsim.PROFILES) if _page_fast_path(p)])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sequence=ops, sets=st.sampled_from([{}, {"percpu_pagelist_high_fraction": 8}]), cpus=st.sampled_from([1, 2]))
def test_fast_and_general_paths_end_in_the_same_state(profile, sequence, sets, cpus):
    if "percpu_pagelist_high_fraction" not in resolve_tunables(kmemsim.profiles.get_profile(profile), {}):
        sets = {}
    run_both(profile, "256M", cpus, sets, sequence)


def test_high_orders_take_the_fast_path_on_618_and_never_on_2_6_24():
    """Orders 1-3 and the THP order are served from the pcp lists by the fast path on 6.18
    (pcp_high_order, 5.14+): once a list holds blocks, no call reaches the allocator's general
    __alloc_pages(); 2.6.24 has order-0 lists only, so its high orders always do."""
    for profile, ram, expect_fast in (("linux-6.18-x86_64", "4G", True), ("linux-2.6-i386", "1G", False)):
        k = kmemsim.boot(profile, ram=ram)  # 4G: pcp high leaves room for a THP block
        g = k.gfp.GFP_KERNEL
        pa = k.page_alloc
        assert (set(pa.pcp_orders) == {0, 1, 2, 3, pa.pageblock_order}) is expect_fast
        assert pa.pcp_orders != (0,) or not k.features.pcp_high_order
        calls = []
        general = pa.alloc

        def counting(gfp, order, _general=general, _calls=calls):
            _calls.append(order)
            return _general(gfp, order)

        pa.alloc = counting  # the general path's __alloc_pages(); the fast path never calls it
        for order in (1, 2, 3, pa.pageblock_order):
            k.free_pages(k.get_free_pages(g, order), order)  # the first refills the list
        del calls[:]
        for order in (1, 2, 3, pa.pageblock_order):
            for _ in range(3):
                k.free_pages(k.get_free_pages(g, order), order)
        assert calls == ([] if expect_fast else [o for o in (1, 2, 3, pa.pageblock_order) for _ in range(3)])
        del pa.alloc
        k.check()


def test_symbolic_gfp_flags_take_the_page_fast_path_as_their_bits_do():
    """kmemsim.gfp.GFP_KERNEL (a symbolic expression) is served by the pcp fast path once its
    bits are known, at order 0 and at the high orders, as the int mask is."""
    k = kmemsim.boot(ram="4G")
    pa = k.page_alloc
    calls = []
    general = pa.alloc

    def counting(gfp, order, _general=general, _calls=calls):
        _calls.append(order)
        return _general(gfp, order)

    pa.alloc = counting
    for g in (symbolic.GFP_KERNEL, k.gfp.GFP_KERNEL):
        for order in (0, 3):
            k.free_pages(k.get_free_pages(g, order), order)  # learns the mask, refills the list
        del calls[:]
        for order in (0, 3):
            for _ in range(3):
                k.free_pages(k.get_free_pages(g, order), order)
        assert calls == [], g
    del pa.alloc
    k.check()


def test_a_high_order_fast_allocation_counts_pages_as_the_kernel_does():
    """rmqueue_pcplist(): pcp->count falls by 2^order, PGALLOC counts 2^order pages, free_count halves;
    free_frozen_page_commit(): count and PGFREE rise by 2^order, PCPF_PREV_FREE_HIGH_ORDER is set."""
    k = kmemsim.boot(ram="512M")
    g = k.gfp.GFP_KERNEL
    k.free_pages(k.get_free_pages(g, 3), 3)  # fill the order-3 unmovable list
    z = k.page_alloc.fast0[g][0]
    pcp = z.pcp[k.cpu]
    count, pgalloc, pgfree = pcp.count, z.pgalloc, z.pgfree
    pcp.free_count = 40
    a = k.get_free_pages(g, 3)
    assert (pcp.count, z.pgalloc, pcp.free_count) == (count - 8, pgalloc + 8, 20)
    pcp.free_high = False
    k.free_pages(a, 3)
    assert (pcp.count, z.pgfree, pcp.free_count, pcp.free_high) == (count, pgfree + 8, 28, True)
    assert pcp.lists[k.page_alloc.pcp_pindex[3][0]][-1] == (a - k.layout.page_offset) >> 12  # the list head
    k.check()


@pytest.mark.parametrize("cpus, flag", [(2, True), (64, False)])
def test_pcp_free_high_batch_is_the_cpus_share_of_the_last_level_cache(cpus, flag):
    """PCPF_FREE_HIGH_BATCH (zone_pcp_update_cacheinfo, 6.18): set when the CPU's slice of the LLC
    (the reference host's 32 MiB L3 over the machine's CPUs) holds more than 3 * batch pages.
    With it, a run of order-2 frees keeps at least ``batch`` pages on the list before free_high
    drains it; without it, free_high drains at every free once the run is long enough."""
    k = kmemsim.boot(ram="1G", cpus=cpus)
    g = k.gfp.GFP_KERNEL
    held = [k.get_free_pages(g, 2) for _ in range(300)]
    z = k.page_alloc.fast0[g][0]
    assert {p.free_high_batch for p in z.pcp} == {flag}
    pcp = z.pcp[k.cpu]
    counts = []
    for a in held:
        k.free_pages(a, 2)
        counts.append(pcp.count)
    tail = counts[-100:]
    if flag:
        assert min(tail) > 0 and max(tail) >= pcp.batch
    else:
        assert max(tail) < pcp.batch and tail.count(0) > 50
    k.check()


@pytest.mark.parametrize("profile, min_order, steps_aside", [
    ("linux-6.18-x86_64", 1, True),  # orders 1-3 and 9 are on the fast path: it must let them be failed
    ("linux-6.18-x86_64", 10, False),  # above every pcp order: nothing the fast path serves can fail
    ("linux-2.6-i386", 1, True),  # hot and cold lists: no fast path at all
    ("linux-2.6-i386", 0, True),
])
def test_fail_page_alloc_suspends_the_fast_path_for_the_orders_it_serves(profile, min_order, steps_aside):
    k = kmemsim.boot(profile, ram="512M")
    k.debugfs("fail_page_alloc/min-order", min_order)
    k.debugfs("fail_page_alloc/probability", 100)
    k.debugfs("fail_page_alloc/times", -1)
    assert (k.dispatch.active("get_free_pages") == "general") is steps_aside
    atomic = k.gfp.GFP_ATOMIC | k.gfp.value("__GFP_NOWARN")
    for order in sorted(set(k.page_alloc.pcp_orders) | {min_order}):
        assert (k.get_free_pages(atomic, order) == 0) is (order >= min_order), order
    k.check()


@pytest.mark.parametrize("profile", ["linux-6.18-x86_64", "linux-6.6-x86_64", "linux-2.6.24-i386", "linux-2.6-i386"])
def test_the_fast_kmalloc_table_is_the_normal_kmalloc_cache_of_every_size(profile):
    from kmemsim.mm.fastpath import kmalloc_by_size

    k = kmemsim.boot(profile)
    max_cache, by_size = kmalloc_by_size(k)
    assert max_cache == getattr(k.slab_impl, "max_cache", k.slub.geo.KMALLOC_MAX_CACHE_SIZE)
    assert len(by_size) == max_cache + 1 and by_size[0] is None
    for size in range(1, max_cache + 1):
        assert by_size[size] is k.slab.kmalloc_cache_for(size, k.gfp.value("GFP_KERNEL")), size
