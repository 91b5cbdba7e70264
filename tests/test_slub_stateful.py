"""Random kmalloc/kfree/kmem_cache operations on several CPUs, with k.check() after each step."""
import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kmemsim
from kmemsim import gfp

F = gfp.FLAGS_6_18
MASKS = [F["GFP_KERNEL"], F["GFP_ATOMIC"], F["GFP_KERNEL"] | F["__GFP_ZERO"], F["GFP_KERNEL"] | F["__GFP_RECLAIMABLE"],
         F["GFP_KERNEL"] | F["__GFP_ACCOUNT"], F["GFP_KERNEL"] | F["GFP_DMA"]]


class SlabMachine(RuleBasedStateMachine):
    @initialize(hardened=st.booleans(), randomize=st.booleans())
    def boot(self, hardened, randomize):
        self.k = kmemsim.boot(ram="256M", slab_freelist_hardened=hardened, slab_freelist_random=randomize)
        self.live = {}  # address -> (cache or None, size, fill byte)
        self.caches = []

    @rule(size=st.one_of(st.integers(0, 300), st.integers(300, 20000)), mask=st.sampled_from(MASKS),
          cpu=st.integers(0, 1), fill=st.integers(0, 255))
    def kmalloc(self, size, mask, cpu, fill):
        with self.k.on_cpu(cpu):
            p = self.k.kmalloc(size, mask)
        if p > kmemsim.ZERO_SIZE_PTR:
            assert p not in self.live
            assert self.k.ksize(p) >= size
            if mask & F["__GFP_ZERO"]:
                assert self.k.read(p, size) == bytes(size)
            self.k.memset(p, fill, size)
            self.live[p] = (None, size, fill)

    @rule(size=st.integers(1, 600), flags=st.sampled_from([0, 0x2000, 0x20000]), ctor=st.booleans())
    def create(self, size, flags, ctor):
        c = self.k.kmem_cache_create(f"c{len(self.caches)}", size, 0, flags,
                                     (lambda a: None) if ctor else None)
        self.caches.append(c)

    @precondition(lambda self: self.caches)
    @rule(i=st.integers(0, 100), cpu=st.integers(0, 1), fill=st.integers(0, 255))
    def cache_alloc(self, i, cpu, fill):
        c = self.caches[i % len(self.caches)]
        with self.k.on_cpu(cpu):
            p = self.k.kmem_cache_alloc(c, F["GFP_KERNEL"])
        assert p and p not in self.live
        self.k.memset(p, fill, c.object_size)
        self.live[p] = (c, c.object_size, fill)

    @precondition(lambda self: self.live)
    @rule(i=st.integers(0, 10_000), cpu=st.integers(0, 1))
    def free(self, i, cpu):
        p = sorted(self.live)[i % len(self.live)]
        c, size, fill = self.live.pop(p)
        assert self.k.read(p, size) == bytes([fill]) * size  # nobody else wrote our object
        with self.k.on_cpu(cpu):
            if c is None:
                self.k.kfree(p)
            else:
                self.k.kmem_cache_free(c, p)

    @precondition(lambda self: self.caches)
    @rule(i=st.integers(0, 100))
    def shrink(self, i):
        self.k.kmem_cache_shrink(self.caches[i % len(self.caches)])

    @invariant()
    def consistent(self):
        if hasattr(self, "k"):
            self.k.check()


TestSlab = SlabMachine.TestCase
TestSlab.settings = settings(max_examples=40, stateful_step_count=40, deadline=None)
