"""new_slab()'s free list, written in one loop (Slub._link_free_objects), is word for word what
set_freepointer() down the list writes: the same frames, bytes, swab cache and order."""
from __future__ import annotations

import pytest

import kmemsim
from kmemsim.mm.slub import Slub


def _by_set_freepointer(self, s, objs, idx=None):
    for a, nxt in zip(objs, objs[1:], strict=False):
        self.set_freepointer(s, a, nxt)
    self.set_freepointer(s, objs[-1], 0)


def _workload(k):
    gfp = kmemsim.gfp.GFP_KERNEL
    made = [k.kmem_cache_create(f"t{n}", n, 0, 0) for n in (8, 24, 72, 200, 1000, 3000)]
    held = []
    for i in range(3000):
        c = made[i % len(made)]
        held.append((c, k.kmem_cache_alloc(c, gfp)))
        held.append((None, k.kmalloc(8 + (i * 37) % 9000, gfp)))
    for i, (c, p) in enumerate(held):
        if i % 3:
            if c is None:
                k.kfree(p)
            else:
                k.kmem_cache_free(c, p)
    return k


def _state(k):
    slub = k.slub
    return (list(k.phys.frames.items()), dict(slub.swab_cache),
            [(c.name, c.nr_slabs, c.alloc_slab_pages) for c in slub.caches],
            k.proc("slabinfo"))


@pytest.mark.parametrize("profile, sets", [
    ("linux-6.18-x86_64", {}),
    ("linux-6.18-x86_64", {"slab_freelist_hardened": 0, "slab_freelist_random": 0}),
    ("linux-6.18-x86_64", {"slab_freelist_random": 0}),
    ("linux-2.6.24-i386", {}),
])
def test_the_one_loop_free_list_is_set_freepointer_s(monkeypatch, profile, sets):
    fast = _workload(kmemsim.boot(profile, **sets))
    monkeypatch.setattr(Slub, "_link_free_objects", _by_set_freepointer)
    slow = _workload(kmemsim.boot(profile, **sets))
    assert _state(fast) == _state(slow)
    fast.check()


def test_kmalloc_index_s_table_is_the_function():
    from kmemsim.mm import slub_geometry as geo

    assert len(geo._KMALLOC_INDEX) == geo._INDEX_TOP + 1
    for n in range(0, 3 * geo._INDEX_TOP):
        assert geo.kmalloc_index(n) == geo._kmalloc_index(n), n
    for bad in (-1, 2 * 1024 * 1024 + 1):
        with pytest.raises(kmemsim.ConfigError):
            geo.kmalloc_index(bad)


def test_the_random_sequence_is_randrange_s_fisher_yates():
    import random

    k = kmemsim.boot()
    slub = k.slub
    for count in (2, 3, 16, 64, 511):
        state = slub.rng.getstate()
        seq = slub.init_cache_random_seq(count)
        rng = random.Random()
        rng.setstate(state)
        ref = list(range(count))
        for i in range(count - 1, 0, -1):
            j = rng.randrange(i + 1)
            ref[i], ref[j] = ref[j], ref[i]
        assert seq == ref and slub.rng.getstate() == rng.getstate()
