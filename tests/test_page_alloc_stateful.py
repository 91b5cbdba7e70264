"""Random allocations and frees of every GFP zone/mobility kind and order, on both profiles,
with k.check() after every step; freeing everything and draining gives back boot's buddyinfo."""
import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kmemsim
from kmemsim import gfp


def masks_6_18():
    f = gfp.FLAGS_6_18
    base = [f["GFP_KERNEL"], f["GFP_ATOMIC"], f["GFP_NOWAIT"], f["GFP_USER"], f["GFP_HIGHUSER_MOVABLE"],
            f["GFP_KERNEL"] | f["__GFP_RECLAIMABLE"], f["GFP_DMA"] | f["GFP_KERNEL"], f["GFP_DMA32"] | f["GFP_KERNEL"],
            f["GFP_KERNEL"] | f["__GFP_COMP"], f["GFP_KERNEL"] | f["__GFP_ZERO"], f["GFP_ATOMIC"] | f["__GFP_DMA"]]
    return [m | f["__GFP_NOWARN"] for m in base]


def masks_2_6():
    f = gfp.FLAGS_2_6
    base = [f["GFP_KERNEL"], f["GFP_ATOMIC"], f["GFP_USER"], f["GFP_HIGHUSER"], f["GFP_HIGHUSER_MOVABLE"],
            f["GFP_KERNEL"] | f["__GFP_RECLAIMABLE"], f["GFP_DMA"] | f["GFP_KERNEL"], f["GFP_KERNEL"] | f["__GFP_COMP"]]
    return [m | f["__GFP_NOWARN"] for m in base]


class PageMachine(RuleBasedStateMachine):
    profile = "linux-6.18-x86_64"
    ram = "256M"
    masks = masks_6_18()

    @initialize()
    def boot(self):
        self.k = kmemsim.boot(self.profile, ram=self.ram)
        self.k.drain_all_pages()  # the pcp batch left over from boot's own allocations
        self.boot_buddy = self.buddyinfo()
        self.held = []  # (Page, order)

    def buddyinfo(self):
        return [(z.name, list(z.nr_free)) for z in self.k.page_alloc.zones]

    @rule(mask=st.sampled_from(masks), order=st.integers(0, 10), cpu=st.integers(0, 1))
    def alloc(self, mask, order, cpu):
        with self.k.on_cpu(cpu):
            p = self.k.alloc_pages(mask, order)
        if p is not None:
            self.held.append((p, order))

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0, 10_000), cpu=st.integers(0, 1))
    def free(self, i, cpu):
        p, order = self.held.pop(i % len(self.held))
        with self.k.on_cpu(cpu):
            self.k.free_pages_struct(p, order)

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0, 10_000))
    def split(self, i):
        p, order = self.held[i % len(self.held)]
        if p.pfn in self.k.page_alloc.compound:
            return
        self.held.remove((p, order))
        self.k.split_page(p, order)
        self.held += [(p + j, 0) for j in range(1 << order)]

    @precondition(lambda self: self.held)
    @rule(i=st.integers(0, 10_000))
    def ref_get_put(self, i):
        p, _ = self.held[i % len(self.held)]
        self.k.get_page(p)
        self.k.put_page(p)

    @rule()
    def drain(self):
        self.k.drain_all_pages()

    @invariant()
    def consistent(self):
        self.k.check()

    def teardown(self):
        for p, order in self.held:
            self.k.free_pages_struct(p, order)
        self.held = []
        self.k.drain_all_pages()
        self.k.check()
        assert self.buddyinfo() == self.boot_buddy


class PageMachine32(PageMachine):
    profile = "linux-2.6-i386"
    ram = "1G"
    masks = masks_2_6()


TestPages64 = PageMachine.TestCase
TestPages64.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)
TestPages32 = PageMachine32.TestCase
TestPages32.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)



def _masks(gs, names):
    return [gs.mask("|".join(n)) | gs.value("__GFP_NOWARN") for n in names]


MASKS_2_6_11 = _masks(gfp.GFP_2_6_11, [
    ("GFP_KERNEL",), ("GFP_ATOMIC",), ("GFP_USER",), ("GFP_HIGHUSER",), ("GFP_DMA", "GFP_KERNEL"),
    ("GFP_KERNEL", "__GFP_COMP"), ("GFP_KERNEL", "__GFP_COLD"), ("GFP_HIGHUSER", "__GFP_COLD"),
    ("GFP_KERNEL", "__GFP_ZERO")])
MASKS_6_6 = _masks(gfp.GFP_6_6, [
    ("GFP_KERNEL",), ("GFP_ATOMIC",), ("GFP_NOWAIT",), ("GFP_USER",), ("GFP_HIGHUSER_MOVABLE",),
    ("GFP_KERNEL", "__GFP_RECLAIMABLE"), ("GFP_DMA", "GFP_KERNEL"), ("GFP_DMA32", "GFP_KERNEL"),
    ("GFP_KERNEL", "__GFP_COMP")])


class PageMachine2611(PageMachine):
    """2.6.11: no migratetypes, hot and cold per-CPU lists with 2.6.11's low mark; __GFP_COLD
    picks the cold list (include/linux/gfp.h of 2.6.11: no GFP_NOWAIT, no mobility bits)."""

    profile = "linux-2.6.11-i386"
    ram = "160M"

    @rule(mask=st.sampled_from(MASKS_2_6_11), order=st.integers(0, 10), cpu=st.integers(0, 1))
    def alloc(self, mask, order, cpu):
        PageMachine.alloc(self, mask, order, cpu)


class PageMachine66(PageMachine):
    profile = "linux-6.6-x86_64"
    ram = "160M"

    @rule(mask=st.sampled_from(MASKS_6_6), order=st.integers(0, 10), cpu=st.integers(0, 1))
    def alloc(self, mask, order, cpu):
        PageMachine.alloc(self, mask, order, cpu)


TestPages2611 = PageMachine2611.TestCase
TestPages2611.settings = settings(max_examples=15, stateful_step_count=25, deadline=None)
TestPages66 = pytest.mark.slow(PageMachine66.TestCase)
TestPages66.settings = settings(max_examples=15, stateful_step_count=25, deadline=None)
