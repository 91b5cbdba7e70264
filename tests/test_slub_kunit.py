"""lib/tests/slub_kunit.c (suite "slub_test", Linux 6.18), ported case by case.

Each kernel case runs inside ``k.slab_errors()``, the model's "slab_errors" kunit
resource: reports are counted instead of printed, exactly where the kernel calls
slab_add_kunit_errors() (check_bytes_and_report, object_err, slab_err, slab_fix,
list_slab_objects), and the expected counts are the kernel's KUNIT_EXPECT_EQs.

All twelve cases: test_kfree_rcu and test_kfree_rcu_wq_destroy (the kernel skips them when
the test is built in; here it is a module) and test_kmalloc_kfree_nolock are the 6.18 source
as lib/tests/slub_kunit.c of the 6.18 development trees has them (linux-mm/linux-mm,
intel-lab-lkp/linux; the /work/classic-build 6.18 subset's copy predates the nolock case):
the perf event's NMI overflow handler of the last one is emulated by
``k.slub.nmi_probe``, which the model calls where an NMI may come in, the per-CPU slab lock
held or not.
"""
import random

import pytest

import kmemsim
from kmemsim import SLAB_KMALLOC, SLAB_NO_MERGE, SLAB_NO_USER_FLAGS, SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER, gfp
from kmemsim.gfp import GFP_KERNEL, GFP_KERNEL_ACCOUNT
from kmemsim.sched import WQ_HIGHPRI, WQ_MEM_RECLAIM, WQ_UNBOUND

ZERO = getattr(gfp, "__GFP_ZERO")
ACCOUNT = getattr(gfp, "__GFP_ACCOUNT")
SLUB_RED_ACTIVE = 0xCC


@pytest.fixture
def k():
    # kunit reports never raise; on_bug="raise" checks that nothing else does either
    return kmemsim.boot(on_bug="raise")


def create(k, name, size, flags):
    """test_kmem_cache_create(): SLAB_NO_USER_FLAGS keeps slab_debug= out of it."""
    return k.kmem_cache_create(name, size, 0, flags | SLAB_NO_USER_FLAGS)


def test_clobber_zone(k):
    s = create(k, "TestSlub_RZ_alloc", 64, SLAB_RED_ZONE)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    with k.slab_errors() as errs:
        k.write_u8(p + 64, 0x12)
        k.validate_slab_cache(s)
    assert errs.count == 2
    k.kmem_cache_free(s, p)
    k.kmem_cache_destroy(s)
    k.check()


def test_next_pointer(k):
    s = create(k, "TestSlub_next_ptr_free", 64, SLAB_POISON)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    ptr_addr = p + s.offset
    tmp = k.read_u64(ptr_addr)
    with k.slab_errors() as errs:
        k.write_u8(ptr_addr, ~k.read_u8(ptr_addr) & 0xFF)
        # the corrupted freechain, the wrong count of objects in use, its fix
        k.validate_slab_cache(s)
    assert errs.count == 3
    with k.slab_errors() as errs:
        k.write_u64(ptr_addr, tmp)
        # the count is wrong again (the chain is whole), and fixed
        k.validate_slab_cache(s)
    assert errs.count == 2
    with k.slab_errors() as errs:
        k.validate_slab_cache(s)
    assert errs.count == 0
    k.kmem_cache_destroy(s)
    k.check()


def test_first_word(k):
    s = create(k, "TestSlub_1th_word_free", 64, SLAB_POISON)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    with k.slab_errors() as errs:
        k.write_u8(p, 0x78)
        k.validate_slab_cache(s)
    assert errs.count == 2
    k.kmem_cache_destroy(s)


def test_clobber_50th_byte(k):
    s = create(k, "TestSlub_50th_word_free", 64, SLAB_POISON)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    with k.slab_errors() as errs:
        k.write_u8(p + 50, 0x9A)
        k.validate_slab_cache(s)
    assert errs.count == 2
    k.kmem_cache_destroy(s)


def test_clobber_redzone_free(k):
    s = create(k, "TestSlub_RZ_free", 64, SLAB_RED_ZONE)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    with k.slab_errors() as errs:
        k.write_u8(p + 64, 0xAB)
        k.validate_slab_cache(s)
    assert errs.count == 2
    k.kmem_cache_destroy(s)


def test_kmalloc_redzone_access(k):
    s = create(k, "TestSlub_RZ_kmalloc", 32, SLAB_KMALLOC | SLAB_STORE_USER | SLAB_RED_ZONE)
    p = k.kmalloc_cache(s, GFP_KERNEL, 18)
    with k.slab_errors() as errs:
        k.write_u8(p + 18, 0xAB)
        k.write_u8(p + 19, 0xAB)
        k.validate_slab_cache(s)
    assert errs.count == 2
    k.kmem_cache_free(s, p)
    k.kmem_cache_destroy(s)
    k.check()


def test_kfree_rcu(k):
    """struct test_kfree_rcu_struct { struct rcu_head rcu; }: kfree_rcu(p, rcu), then at once
    kmem_cache_destroy(): its kvfree_rcu_barrier() frees p first, so nothing is left."""
    rcu_head = 2 * k.slub.word  # sizeof(struct rcu_head)
    s = create(k, "TestSlub_kfree_rcu", rcu_head, SLAB_NO_MERGE)
    with k.slab_errors() as errs:
        p = k.kmem_cache_alloc(s, GFP_KERNEL)
        k.kfree_rcu(p, 0)
        assert k.slub.object_of(p)[0] is not None  # not freed yet: it waits for a grace period
        k.kmem_cache_destroy(s)
    assert errs.count == 0
    assert s not in k.slub.caches and "Slab cache still has objects" not in k.dmesg()
    k.check()


KMEM_CACHE_DESTROY_NR = 10


def test_kfree_rcu_wq_destroy(k):
    """kfree_rcu(p, rcu), msleep(get_random_u8()) and the cache destroyed from a work of a
    WQ_HIGHPRI | WQ_UNBOUND | WQ_MEM_RECLAIM workqueue (queue_work() then flush_work()), ten
    times: the destroy in the worker waits in kvfree_rcu_barrier() as in the kernel."""
    rng = random.Random(0)
    wq = k.alloc_workqueue("test_kfree_rcu_destroy_wq", WQ_HIGHPRI | WQ_UNBOUND | WQ_MEM_RECLAIM)
    cdw = k.init_work(lambda work: k.kmem_cache_destroy(work.data))  # cache_destroy_workfn()
    destroyed = []
    with k.slab_errors() as errs:
        for _ in range(KMEM_CACHE_DESTROY_NR):
            s = create(k, "TestSlub_kfree_rcu_wq_destroy", 2 * k.slub.word, SLAB_NO_MERGE)
            delay = rng.randrange(256)  # get_random_u8()
            p = k.kmem_cache_alloc(s, GFP_KERNEL)
            k.kfree_rcu(p, 0)
            cdw.data = s
            k.msleep(delay)
            assert k.queue_work(wq, cdw)
            k.flush_work(cdw)
            destroyed.append(s not in k.slub.caches)
        k.destroy_workqueue(wq)
    assert errs.count == 0
    assert all(destroyed)
    assert "kvfree_rcu_reclaim" in k.sched.workqueues and "test_kfree_rcu_destroy_wq" not in k.sched.workqueues
    k.check()


class PerfOverflow:
    """The perf event of test_kmalloc_kfree_nolock (PERF_COUNT_HW_CPU_CYCLES, sample_freq
    100000): its overflow handler runs in NMI context every ``period`` points where the model
    lets an NMI in (k.slub.nmi_probe): kmalloc_nolock(64) with __GFP_ACCOUNT every other time,
    then kfree_nolock() (overflow_handler_test_kmalloc_kfree_nolock())."""

    def __init__(self, k, period):
        self.k = k
        self.period = period
        self.ticks = 0
        self.callback_count = self.alloc_ok = self.alloc_fail = 0
        self.in_locked = 0  # overflows that came while the interrupted code held a CPU slab lock
        self.busy = False

    def __call__(self, where):
        self.ticks += 1
        if self.busy or self.ticks % self.period:
            return
        self.busy = True  # NMIs do not nest
        k = self.k
        try:
            if any(key[0] == "cpu_slab" and key[2] == k.cpu for key in k.slub.locks_held):
                self.in_locked += 1
            with k.nmi():
                gfp_ = 0 if self.callback_count % 2 else ACCOUNT
                objp = k.kmalloc_nolock(64, gfp_, -1)
                if objp:
                    self.alloc_ok += 1
                else:
                    self.alloc_fail += 1
                k.kfree_nolock(objp)
                self.callback_count += 1
        finally:
            self.busy = False

    def __enter__(self):
        self.k.dispatch.suspend("perf_nmi")  # an NMI may hit the fast paths too
        self.k.slub.nmi_probe = self
        return self

    def __exit__(self, *exc):
        self.k.slub.nmi_probe = None
        self.k.dispatch.resume("perf_nmi")


def kmalloc_kfree_nolock(k, iterations, objects, period):
    objs = [0] * objects
    with k.slab_errors() as errs, PerfOverflow(k, period) as ctx:
        for i in range(iterations):
            gfp_ = GFP_KERNEL if i % 2 else GFP_KERNEL_ACCOUNT
            for j in range(objects):
                objs[j] = k.kmalloc(64, gfp_)
                assert objs[j], "kunit_skip: Allocation failed"
            for j in range(objects):
                k.kfree(objs[j])
    return errs, ctx


@pytest.mark.slow
def test_kmalloc_kfree_nolock(k):
    """The kernel's case: 1000 iterations of 1000 kmalloc(64) and kfree(), the overflow handler
    allocating and freeing with the nolock pair; KUNIT_EXPECT_EQ(test, 0, slab_errors)."""
    errs, ctx = kmalloc_kfree_nolock(k, 1000, 1000, 97)
    assert errs.count == 0
    assert ctx.callback_count == ctx.alloc_ok + ctx.alloc_fail > 10000
    assert ctx.in_locked > 0
    k.check()


def test_kmalloc_kfree_nolock_short(k):
    """The same with 20 x 500 objects (the kernel's case is KUNIT_CASE_SLOW)."""
    errs, ctx = kmalloc_kfree_nolock(k, 20, 500, 13)
    assert errs.count == 0
    assert ctx.callback_count == ctx.alloc_ok + ctx.alloc_fail > 1000
    assert ctx.in_locked > 0  # some overflows came inside ___slab_alloc() or put_cpu_partial()
    assert k.slub.nolock_stats["ebusy"] > 0  # ... and found the kmalloc-64 bucket busy: kmalloc-96
    assert k.slub.untraced_allocs["kmalloc_nolock"] == ctx.alloc_ok
    assert not any(k.slub.deferred)
    k.check()


def test_leak_destroy(k):
    s = create(k, "TestSlub_leak_destroy", 64, SLAB_NO_MERGE)
    k.kmem_cache_alloc(s, GFP_KERNEL)
    with k.slab_errors() as errs:
        k.kmem_cache_destroy(s)
    # one for the "Objects remaining" header, one per leaked object; no WARN in kunit
    assert errs.count == 2
    assert "Slab cache still has objects" not in k.dmesg()


def test_krealloc_redzone_zeroing(k):
    s = create(k, "TestSlub_krealloc", 64, SLAB_KMALLOC | SLAB_STORE_USER | SLAB_RED_ZONE)
    with k.slab_errors() as errs:
        p = k.kmalloc_cache(s, GFP_KERNEL, 48)
        k.memset(p, 0xFF, 48)
        # shrink
        p = k.krealloc(p, 40, GFP_KERNEL | ZERO)
        assert k.read(p + 40, 24) == bytes([SLUB_RED_ACTIVE]) * 24
        # grow within the same 64-byte object
        p = k.krealloc(p, 56, GFP_KERNEL | ZERO)
        assert k.read(p + 40, 16) == bytes(16)
        assert k.read(p + 56, 8) == bytes([SLUB_RED_ACTIVE]) * 8
        k.validate_slab_cache(s)
        assert errs.count == 0
        k.memset(p, 0xFF, 56)
        # grow into a bigger kmalloc object
        p = k.krealloc(p, 112, GFP_KERNEL | ZERO)
        assert k.read(p, 56) == b"\xff" * 56
        assert k.read(p + 56, 56) == bytes(56)
        k.kfree(p)
        k.kmem_cache_destroy(s)
    assert errs.count == 0
    k.check()


def test_kunit_cache_layouts_match_the_kernel(k):
    """The layouts of the kunit caches, worked by hand from calculate_alignment() and
    calculate_sizes().  Reference slub.md §6.1 gives the KMALLOC one align 32 and
    red_left_pad 32; that is create_boot_cache()'s power-of-two rule for the boot
    kmalloc caches, which kmem_cache_create() does not apply: align is 8, and
    32 -> red zone word 40 (inuse) -> free pointer 48 -> 2 tracks 112 -> orig_size
    116 -> pad word 124 -> red_left_pad 8 -> 132 -> ALIGN(8) = 136."""
    rz = create(k, "RZ", 64, SLAB_RED_ZONE)
    assert (rz.inuse, rz.offset, rz.red_left_pad, rz.size) == (72, 32, 8, 88)
    po = create(k, "PO", 64, SLAB_POISON)
    assert (po.inuse, po.offset, po.size) == (64, 64, 72)
    km = create(k, "KM", 32, SLAB_KMALLOC | SLAB_STORE_USER | SLAB_RED_ZONE)
    assert (km.align, km.inuse, km.offset, km.red_left_pad, km.size) == (8, 40, 40, 8, 136)
