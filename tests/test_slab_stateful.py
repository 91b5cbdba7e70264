"""Random kmalloc / kmem_cache / kfree / krealloc / shrink / destroy / time passing under every
slab allocator each classic profile offers (2.6.11: SLAB; 2.6.24: SLAB, SLUB, SLOB; 6.6: SLAB,
SLUB), on two CPUs, with k.check() after every step and the objects' bytes checked on free."""
from __future__ import annotations

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import kmemsim

COMBOS = [("linux-2.6.11-i386", "slab", False), ("linux-2.6.11-i386", "slab", True),
          ("linux-2.6.24-i386", "slab", False), ("linux-2.6.24-i386", "slab", True),
          ("linux-2.6.24-i386", "slub", False), ("linux-2.6.24-i386", "slob", False),
          ("linux-6.6-x86_64", "slab", False), ("linux-6.6-x86_64", "slab", True),
          ("linux-6.6-x86_64", "slub", False)]


def make_machine(profile: str, allocator: str, debug: bool) -> type[RuleBasedStateMachine]:
    class SlabMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            kw = {"debug_slab": True} if debug else {}
            self.k = kmemsim.boot(profile, ram="128M", cpus=2, slab_allocator=allocator, **kw)
            self.g = self.k.gfp
            self.live: dict[int, tuple[object, int, int]] = {}  # address -> (cache or None, size, fill)
            self.caches: list[object] = []
            self.made = 0  # cache names stay unique: 2.6.11 BUG()s on a duplicate (mm/slab.c:1472)

        def _fill(self, p: int, size: int, fill: int, cache: object) -> None:
            assert p > kmemsim.ZERO_SIZE_PTR and p not in self.live
            self.k.memset(p, fill, size)
            self.live[p] = (cache, size, fill)

        @rule(size=st.one_of(st.integers(1, 300), st.integers(300, 20000)), cpu=st.integers(0, 1),
              fill=st.integers(0, 255), zero=st.booleans(), dma=st.booleans())
        def kmalloc(self, size, cpu, fill, zero, dma):
            g = self.g.GFP_KERNEL | (self.g.bits.dma if dma else 0)
            with self.k.on_cpu(cpu):
                p = self.k.kzalloc(size, g) if zero else self.k.kmalloc(size, g)
            if p <= kmemsim.ZERO_SIZE_PTR:
                return
            if zero:
                assert self.k.read(p, size) == bytes(size)
            self._fill(p, size, fill, None)

        @rule(size=st.integers(8, 1500), hw=st.booleans(), ctor=st.booleans())
        def create(self, size, hw, ctor):
            f = self.k.features
            if ctor:
                fn = ((lambda o, c, fl: None) if f.slab_ctor_flags else (lambda c, o: None)
                      if f.slab_ctor_cache_first else (lambda o: None))
            else:
                fn = None
            flags = self.k.slab_flags.SLAB_HWCACHE_ALIGN if hw else 0
            c = self.k.kmem_cache_create(f"st{self.made}", size, 0, flags, fn)
            self.made += 1
            assert c is not None
            self.caches.append(c)

        @precondition(lambda self: self.caches)
        @rule(i=st.integers(0, 100), cpu=st.integers(0, 1), fill=st.integers(0, 255))
        def cache_alloc(self, i, cpu, fill):
            c = self.caches[i % len(self.caches)]
            with self.k.on_cpu(cpu):
                p = self.k.kmem_cache_alloc(c, self.g.GFP_KERNEL)
            self._fill(p, self.k.slab.kmem_cache_size(c), fill, c)

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

        @precondition(lambda self: any(c is None for c, _, _ in self.live.values()))
        @rule(i=st.integers(0, 10_000), new=st.integers(1, 5000))
        def krealloc(self, i, new):
            ps = sorted(p for p, v in self.live.items() if v[0] is None)
            p = ps[i % len(ps)]
            _, size, fill = self.live.pop(p)
            q = self.k.krealloc(p, new, self.g.GFP_KERNEL)
            if q <= kmemsim.ZERO_SIZE_PTR:
                self.live[p] = (None, size, fill)  # failed: the old object stays
                return
            if allocator != "slob":  # 2.6.24 SLOB's ksize() makes krealloc copy 2 bytes (test_slob)
                keep = min(size, new)
                assert self.k.read(q, keep) == bytes([fill]) * keep
            self.k.memset(q, fill, new)
            self.live[q] = (None, new, fill)

        @precondition(lambda self: self.caches)
        @rule(i=st.integers(0, 100))
        def shrink_or_destroy(self, i):
            c = self.caches[i % len(self.caches)]
            if any(v[0] is c for v in self.live.values()):
                self.k.kmem_cache_shrink(c)
                return
            self.k.kmem_cache_destroy(c)
            self.caches.remove(c)

        @rule(ms=st.sampled_from([100, 2500, 9000]))
        def time_passes(self, ms):
            self.k.run(ms=ms)

        @invariant()
        def consistent(self):
            self.k.check()

    SlabMachine.__name__ = f"SlabMachine_{profile}_{allocator}{'_debug' if debug else ''}"
    return SlabMachine


@pytest.mark.parametrize(("profile", "allocator", "debug"), COMBOS)
def test_random_slab_operations_keep_every_allocator_consistent(profile, allocator, debug):
    machine = make_machine(profile, allocator, debug)
    settings(max_examples=10, stateful_step_count=30, deadline=None)(machine)
    machine.TestCase().runTest()


@pytest.mark.slow
@pytest.mark.parametrize(("profile", "allocator", "debug"), COMBOS)
def test_random_slab_operations_longer(profile, allocator, debug):
    machine = make_machine(profile, allocator, debug)
    settings(max_examples=40, stateful_step_count=60, deadline=None)(machine)
    machine.TestCase().runTest()
