"""mempool (mm/mempool.c 6.18): the reserve, the allocation order, waiting, resize, destroy."""
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import kmemsim
from kmemsim.errors import KernelBug, UsageError
from kmemsim.gfp import GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT


def exhaust(k):
    """Take every page GFP_KERNEL can get without reclaim or warnings."""
    g = k.gfp
    mask = g.GFP_KERNEL | g.value("__GFP_NOWARN") | g.value("__GFP_NORETRY")
    held = []
    while a := k.get_free_pages(mask, 0):
        held.append(a)
    return held


class Spy:
    """An underlying allocator that can be told to fail, recording the gfp of each call."""

    def __init__(self, k):
        self.k, self.fail, self.calls, self.live = k, False, [], set()

    def alloc(self, gfp, data):
        self.calls.append(gfp)
        if self.fail:
            return 0
        p = self.k.kmalloc(data, GFP_ATOMIC)
        self.live.add(p)
        return p

    def free(self, e, data):
        self.live.remove(e)
        self.k.kfree(e)


def test_create_preallocates_min_nr_and_the_elements_array_is_real_memory():
    k = kmemsim.boot()
    pool = k.mempool_create_kmalloc_pool(5, 256)
    assert pool.min_nr == pool.curr_nr == 5 and k.ksize(pool.addr) == 96  # struct mempool: kmalloc-96
    assert [k.read_u64(pool.elements_addr + 8 * i) for i in range(5)] == pool.elements
    assert all(k.ksize(e) == 256 for e in pool.elements)
    k.check()
    k.mempool_destroy(pool)
    k.mempool_destroy(None)
    k.check()


def test_the_allocator_comes_first_then_the_reserve_lifo_then_null_for_atomic():
    k = kmemsim.boot()
    spy = Spy(k)
    pool = k.mempool_create(2, spy.alloc, spy.free, 64)
    g = k.gfp
    e = k.mempool_alloc(pool, GFP_KERNEL)
    assert pool.curr_nr == 2 and e in spy.live  # from the allocator: the reserve untouched
    # first pass: no direct reclaim, no IO; always NOMEMALLOC|NORETRY|NOWARN
    first = spy.calls[-1]
    assert not first & g.value("__GFP_DIRECT_RECLAIM") and not first & g.value("__GFP_IO")
    assert first & g.value("__GFP_NORETRY") and first & g.value("__GFP_NOWARN") and first & g.value("__GFP_NOMEMALLOC")
    spy.fail = True
    top = pool.elements[-1]
    n = len(spy.calls)
    assert k.mempool_alloc(pool, GFP_ATOMIC) == top  # the stack's top
    assert len(spy.calls) == n + 1  # GFP_ATOMIC: one allocator try (gfp_temp == gfp)
    assert k.mempool_alloc(pool, GFP_NOWAIT)
    assert pool.curr_nr == 0
    assert k.mempool_alloc(pool, GFP_ATOMIC) == 0  # reserve empty, may not sleep
    assert k.mempool_alloc_preallocated(pool) == 0
    k.check()


def test_free_refills_the_reserve_before_the_allocator():
    k = kmemsim.boot()
    spy = Spy(k)
    pool = k.mempool_create(2, spy.alloc, spy.free, 64)
    spy.fail = True
    a, b = k.mempool_alloc(pool, GFP_ATOMIC), k.mempool_alloc(pool, GFP_ATOMIC)
    spy.fail = False
    c = k.mempool_alloc(pool, GFP_ATOMIC)
    k.mempool_free(c, pool)  # below min_nr: into the reserve, not freed
    assert pool.elements == [c] and c in spy.live
    k.mempool_free(a, pool)
    k.mempool_free(b, pool)  # reserve full: back to the allocator
    assert pool.elements == [c, a] and b not in spy.live
    k.mempool_free(0, pool)  # NULL is fine
    k.check()


def test_process_context_alloc_sleeps_until_another_task_frees():
    k = kmemsim.boot(ram="128M")
    c = k.kmem_cache_create("my_bio", 512)
    pool = k.mempool_create_slab_pool(2, c)
    held = exhaust(k)
    taken = []
    while e := k.mempool_alloc(pool, GFP_ATOMIC):
        taken.append(e)
    assert pool.curr_nr == 0
    events = []

    def completion():  # an I/O completion returning one element later
        k.msleep(40)
        events.append(("free", k.jiffies))
        k.mempool_free(taken.pop(), pool)

    k.kthread_run(completion, "io_done")
    j = k.jiffies
    e = k.mempool_alloc(pool, GFP_KERNEL)  # sleeps in TASK_UNINTERRUPTIBLE, woken by the free
    assert e and pool.waits == 1 and events and k.jiffies - j == k.msecs_to_jiffies(40) + 1
    assert "BUG" not in k.dmesg()
    k.mempool_free(e, pool)
    for a in held:
        k.free_pages(a, 0)
    k.check()
    k.shutdown()


def test_the_5_second_timeout_retries_the_allocator():
    k = kmemsim.boot()
    spy = Spy(k)
    pool = k.mempool_create(1, spy.alloc, spy.free, 32)
    spy.fail = True
    k.mempool_alloc(pool, GFP_ATOMIC)

    def later():
        k.msleep(7000)  # memory comes back after 7 s, with no mempool_free at all
        spy.fail = False

    k.kthread_run(later, "reclaimer")
    j = k.jiffies
    e = k.mempool_alloc(pool, GFP_KERNEL)
    assert e in spy.live and pool.waits == 2  # two io_schedule_timeout(5 * HZ) rounds
    assert k.jiffies - j == 10 * k.HZ
    k.shutdown()


def test_waiting_with_nothing_that_could_free_is_the_hung_task_report():
    k = kmemsim.boot(on_bug="report")
    spy = Spy(k)
    pool = k.mempool_create(1, spy.alloc, spy.free, 32)
    spy.fail = True
    k.mempool_alloc(pool, GFP_ATOMIC)
    with pytest.raises(KernelBug) as e:
        k.mempool_alloc(pool, GFP_KERNEL)
    assert e.value.kind == "hung_task" and "INFO: task insmod:1000 blocked" in k.dmesg()


def test_gfp_kernel_mempool_alloc_in_interrupt_is_reported():
    k = kmemsim.boot(on_bug="report")
    pool = k.mempool_create_kmalloc_pool(2, 64)
    with k.hardirq():
        e = k.mempool_alloc(pool, GFP_KERNEL)
    assert e and "BUG: sleeping function called from invalid context" in k.dmesg()


def test_resize_grows_and_shrinks():
    k = kmemsim.boot()
    pool = k.mempool_create_page_pool(2, 1)
    assert all(k.page_zone(p) for p in pool.elements)
    assert k.mempool_resize(pool, 5) == 0 and pool.curr_nr == pool.min_nr == 5
    k.check()
    assert k.mempool_resize(pool, 1) == 0 and pool.curr_nr == pool.min_nr == 1
    k.check()
    with pytest.raises(kmemsim.Oops):
        k.mempool_resize(pool, 0)  # BUG_ON(new_min_nr <= 0)
    k.mempool_destroy(pool)


def test_destroy_with_elements_out_warns_and_embedded_init_exit():
    k = kmemsim.boot()
    pool = k.mempool_create_kmalloc_pool(1, 100)
    e = k.mempool_alloc(pool, GFP_KERNEL)
    k.mempool_destroy(pool)
    assert "1 element(s) still allocated" in k.dmesg()
    k.kfree(e)
    emb = kmemsim.Mempool()
    assert not emb.initialized()
    k.mempool_exit(emb)  # safe on a zeroed pool
    assert k.mempool_init(emb, 3, k.mempool_kmalloc, k.mempool_kfree, 16) == 0 and emb.is_saturated()
    with pytest.raises(UsageError):
        k.mempool_init(emb, 3, k.mempool_kmalloc, k.mempool_kfree, 16)
    k.mempool_exit(emb)
    assert not emb.initialized()
    k.check()


def test_create_fails_cleanly_when_the_allocator_fails():
    k = kmemsim.boot()
    p96, p32 = k.kmalloc(96, GFP_KERNEL), k.kmalloc(24, GFP_KERNEL)
    k.kfree(p96)
    k.kfree(p32)
    assert k.mempool_create(3, lambda g, d: 0, lambda e, d: None) is None
    # the struct (kmalloc-96) and the 3-pointer array (kmalloc-32) were freed again: LIFO gives them back
    assert (k.kmalloc(96, GFP_KERNEL), k.kmalloc(24, GFP_KERNEL)) == (p96, p32)
    with pytest.raises(UsageError):
        k.mempool_create(-1, k.mempool_kmalloc, k.mempool_kfree, 8)


class MempoolMachine(RuleBasedStateMachine):
    """Random alloc/free/resize across atomic and process contexts; k.check() always holds."""

    def __init__(self):
        super().__init__()
        self.k = kmemsim.boot(ram="128M")
        self.spy = Spy(self.k)
        self.pool = self.k.mempool_create(3, self.spy.alloc, self.spy.free, 48)
        self.out = []

    @rule(atomic=st.booleans(), fail=st.booleans())
    def alloc(self, atomic, fail):
        self.spy.fail = fail
        if not atomic and fail and self.pool.curr_nr == 0:
            return  # would wait for a free nothing will do
        e = self.k.mempool_alloc(self.pool, GFP_ATOMIC if atomic else GFP_KERNEL)
        if e:
            self.out.append(e)
        else:
            assert atomic and fail and self.pool.curr_nr == 0

    @precondition(lambda self: self.out)
    @rule(i=st.integers(0, 100))
    def free(self, i):
        self.k.mempool_free(self.out.pop(i % len(self.out)), self.pool)

    @rule(n=st.integers(1, 6))
    def resize(self, n):
        self.spy.fail = False
        assert self.k.mempool_resize(self.pool, n) == 0

    @invariant()
    def consistent(self):
        self.k.check()
        assert self.pool.out == len(self.out)
        assert set(self.pool.elements) | set(self.out) <= self.spy.live


TestMempoolMachine = MempoolMachine.TestCase
TestMempoolMachine.settings = settings(max_examples=30, stateful_step_count=30, deadline=None)


def test_check_finds_a_corrupted_elements_array():
    from kmemsim.errors import InvariantError

    k = kmemsim.boot()
    pool = k.mempool_create_kmalloc_pool(3, 64)
    k.write_u64(pool.elements_addr + 8, 0xDEAD)  # a stray write into the pool's array
    with pytest.raises(InvariantError, match=r"elements\[1\]"):
        k.check()


def test_a_zero_minimum_pool_keeps_one_element_as_6_17_does():
    k = kmemsim.boot()
    spy = Spy(k)
    pool = k.mempool_create(0, spy.alloc, spy.free, 32)
    assert pool.curr_nr == 1  # max(1, min_nr) preallocated
    spy.fail = True
    e = k.mempool_alloc(pool, GFP_ATOMIC)
    assert e and pool.curr_nr == 0
    k.mempool_free(e, pool)  # the min_nr == 0 edge case refills it
    assert pool.curr_nr == 1 and e in spy.live
    k.check()
