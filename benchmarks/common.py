"""Shared by the benchmarks: best-of-N rates and the Python free-list floor."""
from __future__ import annotations

import time


def rate(fn, n: int, repeat: int = 5) -> float:
    """Operations per second of ``fn(n)``, the best of ``repeat`` runs: noise only slows a run."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn(n)
        best = min(best, time.perf_counter() - t)
    return n / best


def floor_rate(n: int = 1_000_000) -> float:
    """A minimal Python free list (pop and push on a list): the floor of what Python can do."""
    freelist = list(range(100000))

    def floor(m: int) -> None:
        pop, push = freelist.pop, freelist.append
        for _ in range(m):
            push(pop())

    return rate(floor, n)
