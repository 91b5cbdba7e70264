"""Shared by the benchmarks: best-of-N rates, interleaved, the Python free-list floor, peak RSS.

Times are this process's CPU time (``time.process_time``): on a shared machine wall time
also counts the other processes' turns, CPU time only ours.  A figure is printed as a
ratio against an anchor measured in the same process, in the same rounds: what the
machine's speed and load do to both cancels out.
"""
from __future__ import annotations

import resource
import time
from collections.abc import Callable


def rate(fn: Callable[[int], object], n: int, repeat: int = 5) -> float:
    """Operations per CPU second of ``fn(n)``, the best of ``repeat`` runs: noise only slows a run."""
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        fn(n)
        best = min(best, time.process_time() - t)
    return n / best


def rates(fns: dict[str, tuple[Callable[[int], object], int]], rounds: int = 7) -> dict[str, float]:
    """Operations per CPU second of each ``fn(n)``, the best of ``rounds`` rounds in which every
    function runs once in turn: a ratio of two of them compares runs made side by side."""
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, (fn, n) in fns.items():
            t = time.process_time()
            fn(n)
            best[name] = min(best[name], time.process_time() - t)
    return {name: fns[name][1] / best[name] for name in fns}


def floor_fn() -> Callable[[int], None]:
    """A minimal Python free list (pop and push on a list): the floor of what Python can do."""
    freelist = list(range(100000))

    def floor(m: int) -> None:
        pop, push = freelist.pop, freelist.append
        for _ in range(m):
            push(pop())

    return floor


def floor_rate(n: int = 1_000_000) -> float:
    """Pairs per CPU second of :func:`floor_fn`."""
    return rate(floor_fn(), n)


def peak_rss_mib() -> float:
    """This process's peak resident set (getrusage's ru_maxrss, KiB on Linux), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
