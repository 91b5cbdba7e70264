"""Soak: 10^5 mixed API operations per profile, k.check() every few hundred steps.

Marked slow (CI runs ``python3 dev.py slow``).  A seeded mix of kmalloc/kfree of every
size class, krealloc, caches with and without constructors, pages of orders 0-3,
vmalloc/vfree, atomic context, and one bad call in fifty (each must be a kmemsim error
and change nothing): the machine's invariants hold throughout and everything is given
back at the end.
"""
from __future__ import annotations

import random
import time

import pytest

import kmemsim
from kmemsim.errors import KmemsimError

STEPS = 100_000
CHECK_EVERY = 500


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["linux-6.18-x86_64", "linux-2.6-i386"])
def test_soak(profile: str):
    t0 = time.perf_counter()
    k = kmemsim.boot(profile)
    rng = random.Random(18)
    g, ga = k.gfp.GFP_KERNEL, k.gfp.GFP_ATOMIC
    ctor_calls = [0]

    def ctor(*_args: object) -> None:  # ctor(obj) on 6.x, ctor(cache, obj) on 2.6.24
        ctor_calls[0] += 1

    caches = [k.kmem_cache_create(f"soak{i}", size, 0, 0, ctor if i % 2 else None)
              for i, size in enumerate((24, 72, 200, 1000))]
    held_k: list[int] = []
    held_c: list[tuple[object, int]] = []
    held_p: list[tuple[int, int]] = []
    held_v: list[int] = []
    refused = 0
    free_at_start = k.nr_free_pages()
    for step in range(STEPS):
        r = rng.random()
        if r < 0.30:
            p = k.kmalloc(rng.choice((8, 16, 40, 64, 100, 192, 500, 1024, 3000, 8192, 20000)), g)
            if p:
                held_k.append(p)
        elif r < 0.55 and held_k:
            k.kfree(held_k.pop(rng.randrange(len(held_k))))
        elif r < 0.60 and held_k:
            i = rng.randrange(len(held_k))
            p = k.krealloc(held_k[i], rng.randrange(1, 6000), g)
            if p:
                held_k[i] = p
        elif r < 0.72:
            c = rng.choice(caches)
            p = k.kmem_cache_alloc(c, g)
            if p:
                held_c.append((c, p))
        elif r < 0.82 and held_c:
            c, p = held_c.pop(rng.randrange(len(held_c)))
            k.kmem_cache_free(c, p)
        elif r < 0.87:
            order = rng.choice((0, 0, 0, 1, 2, 3))
            with k.atomic() if rng.random() < 0.2 else _nothing():
                a = k.get_free_pages(ga if k.in_atomic() else g, order)
            if a:
                held_p.append((a, order))
        elif r < 0.92 and held_p:
            a, order = held_p.pop(rng.randrange(len(held_p)))
            k.free_pages(a, order)
        elif r < 0.95:
            v = k.vmalloc(rng.randrange(1, 5) * 4096)
            if v:
                held_v.append(v)
        elif r < 0.98 and held_v:
            k.vfree(held_v.pop(rng.randrange(len(held_v))))
        else:
            bad = rng.choice((lambda: k.kmalloc(1.5, g), lambda: k.kfree(-1), lambda: k.kmalloc(64, None),
                              lambda: k.get_free_pages(g, -1), lambda: k.vmalloc("x"),
                              lambda: k.kmem_cache_alloc(None, g), lambda: k.read(0, 1.5)))
            with pytest.raises(KmemsimError):
                bad()
            refused += 1
        if step % CHECK_EVERY == 0:
            k.check()
    for p in held_k:
        k.kfree(p)
    for c, p in held_c:
        k.kmem_cache_free(c, p)
    for a, order in held_p:
        k.free_pages(a, order)
    for v in held_v:
        k.vfree(v)
    for c in caches:
        k.kmem_cache_destroy(c)
    k.drain_all_pages()
    k.check()
    assert refused > STEPS // 100 and ctor_calls[0] > 0
    assert k.nr_free_pages() >= free_at_start - 2048  # what stays: slabs of the kmalloc caches, vmap nodes
    print(f"{profile}: {STEPS} operations in {time.perf_counter() - t0:.1f} s")


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None
