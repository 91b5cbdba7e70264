"""RCU in the scheduler model (kernel/rcu/tree.c, PREEMPT_RCU), workqueues and irq_work, and
what the slab allocator does with them in 6.18: kfree_rcu() batching (mm/slab_common.c),
SLAB_TYPESAFE_BY_RCU slab freeing, bulk frees, kmalloc_nolock()/kfree_nolock(); the hooks a
replay counts untraced frees with; and a stateful test that keeps calling k.check()."""
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kmemsim
from kmemsim import SLAB_NO_MERGE, SLAB_RED_ZONE, SLAB_TYPESAFE_BY_RCU, KernelBug, UsageError, gfp
from kmemsim.gfp import GFP_KERNEL
from kmemsim.sched import TASK_IDLE, WQ_UNBOUND

ACCOUNT = getattr(gfp, "__GFP_ACCOUNT")


def boot(**kw):
    kw.setdefault("on_bug", "report")
    return kmemsim.boot(**kw)


# --------------------------------------------------------------------------- grace periods
def test_gp_seq_starts_where_the_kernel_starts_it():
    k = boot()
    r = k.sched.rcu
    assert r.gp_seq == ((0 - 300) << 2) & ((1 << 64) - 1)  # (0UL - 300UL) << RCU_SEQ_CTR_SHIFT
    assert r.jiffies_till_first_fqs == 1  # HZ 250, 2 CPUs: RCU_JIFFIES_TILL_FORCE_QS
    cookie = k.get_state_synchronize_rcu()
    assert cookie == (r.gp_seq + 4) & ~3  # rcu_seq_snap(): the end of the next full grace period
    assert not r.gp_in_progress()  # get_state starts nothing
    assert not k.poll_state_synchronize_rcu(cookie)
    k32 = boot(profile="linux-2.6-i386")
    assert k32.sched.rcu.gp_seq == ((0 - 300) << 2) & 0xFFFFFFFF


def test_a_callback_runs_after_the_caller_sleeps_in_softirq_on_its_cpu():
    k = boot(cpus=2)
    seen = []
    k.call_rcu(lambda d: seen.append((d, k.cpu, k.current.comm, k.in_serving_softirq())), "cb")
    r = k.sched.rcu
    assert r.gp_in_progress() and r.qs_pending == {0, 1}
    k.check()
    j = k.jiffies
    k.run()  # nothing else to do: the caller sleeps, both CPUs are idle at the kthread's first look
    # the idle CPU 0 serves the softirq as its idle task
    assert seen == [("cb", 0, "swapper/0", True)]
    assert k.jiffies == j + r.jiffies_till_first_fqs
    # k.run() is a schedule(): CPU 0's quiescent state; CPU 1 was idle
    assert r.stats["gp_completed"] == 1 and r.stats["qs_context_switch"] == 1 and r.stats["qs_idle"] == 1
    k.check()


def test_time_stands_still_while_nobody_sleeps():
    k = boot()
    seen = []
    k.call_rcu(seen.append, 1)
    for _ in range(100):
        k.kfree(k.kmalloc(64, GFP_KERNEL))
    assert seen == [] and k.sched.rcu.gp_in_progress()  # the caller never passed a quiescent state
    k.msleep(1)
    assert seen == [1]


def test_cookies_and_start_poll():
    k = boot()
    c = k.start_poll_synchronize_rcu()
    assert k.sched.rcu.gp_in_progress() and not k.poll_state_synchronize_rcu(c)
    k.run()
    assert k.poll_state_synchronize_rcu(c)
    assert k.poll_state_synchronize_rcu(1)  # RCU_GET_STATE_COMPLETED
    with pytest.raises(UsageError, match="poll_state_synchronize_rcu"):
        k.poll_state_synchronize_rcu("soon")


def test_synchronize_rcu_waits_for_a_reader_blocked_in_its_section():
    k = boot()
    log = []

    def reader():
        k.rcu_read_lock()
        log.append(("enter", k.jiffies))
        k.msleep(40)  # sleeping in a read-side section: WARN, and the task blocks the grace period
        log.append(("exit", k.jiffies))
        k.rcu_read_unlock()

    k.kthread_run(reader, "reader")
    k.schedule()  # the reader runs and goes to sleep inside its section
    assert log and log[-1][0] == "enter"
    k.synchronize_rcu()
    log.append(("synchronized", k.jiffies))
    assert [e for e, _ in log] == ["enter", "exit", "synchronized"]
    assert log[2][1] == log[1][1]  # it ended right after the reader's rcu_read_unlock()
    assert k.sched.rcu.stats["blocked_readers"] == 1
    text = k.dmesg()
    assert "Voluntary context switch within RCU read-side critical section!" in text
    assert "WARNING: CPU: 0 PID: 3 at kernel/rcu/tree_plugin.h:331 rcu_note_context_switch+0x0/0x0" in text
    assert "RCU nest depth: 1, expected: 0" in text  # msleep()'s might_sleep()
    k.check()


def test_a_reader_that_enters_after_the_cpu_reported_does_not_hold_up_the_gp():
    k = boot()
    log = []

    def late_reader():
        k.rcu_read_lock()
        k.msleep(400)
        log.append(k.jiffies)
        k.rcu_read_unlock()

    c = k.start_poll_synchronize_rcu()
    k.msleep(1)  # CPU 0 passed its quiescent state: the grace period ended
    k.kthread_run(late_reader, "late")
    k.schedule()
    assert k.poll_state_synchronize_rcu(c)
    c2 = k.start_poll_synchronize_rcu()  # this one starts while the reader is blocked inside
    k.msleep(10)
    assert not k.poll_state_synchronize_rcu(c2)
    k.run()
    assert k.poll_state_synchronize_rcu(c2) and log
    k.check()


def test_synchronize_rcu_inside_a_read_side_section_hangs():
    k = boot()
    k.rcu_read_lock()
    with pytest.raises(KernelBug) as e:
        k.synchronize_rcu()
    assert e.value.kind == "hung_task"
    text = k.dmesg()
    assert "BUG: sleeping function called from invalid context at kernel/sched/completion.c:116" in text
    assert "INFO: task insmod:1000 blocked for more than" in text


def test_might_sleep_and_gfp_kernel_inside_rcu_read_lock_report():
    k = boot()
    k.rcu_read_lock()
    assert k.dispatch.state()["kmalloc"] != "fast"  # the fast paths step aside: might_alloc() runs
    k.kfree(k.kmalloc(32, GFP_KERNEL))
    k.rcu_read_unlock()
    text = k.dmesg()
    assert "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321" in text
    assert "in_atomic(): 0, irqs_disabled(): 0, non_block: 0, pid: 1000, name: insmod" in text
    assert "preempt_count: 0, expected: 0" in text and "RCU nest depth: 1, expected: 0" in text
    with pytest.raises(UsageError, match="without rcu_read_lock"):
        k.rcu_read_unlock()


def test_the_tick_is_a_quiescent_state_outside_read_side_sections():
    """A timer interrupt (here: the end of a hardirq) finds the running task quiescent when it is
    outside any read-side section with preemption and bottom halves on (PREEMPT_RCU)."""
    k = boot(cpus=1)
    r = k.sched.rcu
    k.rcu_read_lock()
    c = k.start_poll_synchronize_rcu()
    k.udelay(10_000)  # busy: time passes, nobody sleeps
    with k.hardirq():
        pass  # irq_exit() runs the expired kthread step: inside the section, no quiescent state
    assert r.qs_pending == {0} and not k.poll_state_synchronize_rcu(c)
    k.rcu_read_unlock()
    k.udelay(10_000)
    with k.hardirq():
        pass
    assert r.stats["qs_tick"] == 1
    with k.hardirq():
        pass
    assert k.poll_state_synchronize_rcu(c)  # the next step ended it
    k.check()


def test_rcu_barrier_waits_for_every_cpus_callbacks():
    k = boot(cpus=3)
    ran = []

    def queue_on(cpu):
        k.call_rcu(lambda d: ran.append((d, k.cpu)), cpu)

    for cpu in range(3):
        t = k.kthread_create(queue_on, f"q{cpu}", cpu)
        t.cpu = cpu
        k.wake_up_process(t)
    k.schedule()
    k.run()  # the kthreads ran and exited; their callbacks may have run already
    k.call_rcu(lambda d: ran.append((d, k.cpu)), "last")
    k.rcu_barrier()
    assert sorted(x for x in ran if x[0] != "last") == [(0, 0), (1, 1), (2, 2)]  # each on its own CPU
    assert ran[-1] == ("last", 0)
    assert k.sched.rcu.pending_callbacks() == 0
    k.rcu_barrier()  # nothing queued: returns at once
    k.check()


# --------------------------------------------------------------------------- workqueues, irq_work
def test_workqueue_works_run_in_order_in_a_kthread_that_may_sleep():
    k = boot()
    wq = k.alloc_workqueue("test_wq", WQ_UNBOUND)
    log = []

    def fn(work):
        log.append((work.data, k.current.comm, k.in_task()))
        k.msleep(5)

    works = [k.init_work(fn, i) for i in range(3)]
    assert all(k.queue_work(wq, w) for w in works)
    assert not k.queue_work(wq, works[0])  # already pending
    assert k.flush_work(works[2])
    assert [x[0] for x in log] == [0, 1, 2]
    assert log[0][1] == "kworker/u4:1" and log[0][2]
    assert not k.flush_work(works[0])  # neither pending nor running
    worker = wq.worker
    assert worker.state == TASK_IDLE  # an idle worker is no hung task
    k.destroy_workqueue(wq)
    assert worker.exited
    with pytest.raises(UsageError, match="destroyed"):
        k.queue_work(wq, works[0])
    with pytest.raises(UsageError, match="WQ_"):
        k.alloc_workqueue("bad", 1 << 20)
    k.check()


def test_delayed_work_and_cancel():
    k = boot()
    wq = k.alloc_workqueue("dw", 0)
    fired = []
    dw = k.init_delayed_work(lambda w: fired.append(k.jiffies))
    j = k.jiffies
    assert k.queue_delayed_work(wq, dw, 10)
    assert k.delayed_work_pending(dw)
    k.run()
    assert fired == [j + 10] and not k.delayed_work_pending(dw)
    k.queue_delayed_work(wq, dw, 10)
    assert k.cancel_delayed_work_sync(dw)
    k.run()
    assert fired == [j + 10]
    k.destroy_workqueue(wq)


def test_irq_work_runs_when_interrupts_come_back_on():
    k = boot()
    ran = []
    flags = k.local_irq_save()
    k.irq_work_queue(lambda: ran.append(k.in_hardirq()))
    assert ran == []
    k.local_irq_restore(flags)
    assert ran == [True]
    with k.nmi():
        k.irq_work_queue(lambda: ran.append("nmi"))
        assert ran == [True]
    assert ran == [True, "nmi"]  # the self-IPI after the NMI


# --------------------------------------------------------------------------- kfree_rcu
def test_kfree_rcu_is_batched_for_five_seconds_then_freed():
    k = boot(cpus=1)
    s = k.kmem_cache_create("krcu", 64, 0, SLAB_NO_MERGE)
    kr = k.slub.kfree_rcu_impl
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.write_u64(p + 8, 0x1234)
    k.kfree_rcu(p, 8)
    # no cached page yet: the object goes on the rcu_head list (channel 3), its head written into
    # it (next, func = the object), and the page cache work fills five pages
    assert k.read_u64(p + 8) == 0 and k.read_u64(p + 16) == p
    assert kr.pending() == 1
    events = []
    with k.tracing(events):
        k.run(ms=1000)
        assert kr.pending() == 1 and len(kr.krc[0].bkvcache) == 5
        k.run(ms=4200)  # KFREE_DRAIN_JIFFIES (5 s), then a grace period and the work
    assert kr.pending() == 0 and kr.stats["list_freed"] == 1
    slab_events = ("kfree", "kmem_cache_free", "kmalloc", "kmem_cache_alloc")
    assert [e[0] for e in events if e[0] in slab_events] == ["kfree"]  # kvfree_rcu_list(): kvfree() traces
    # with cached pages, kfree_rcu() uses the page of pointers; kfree_bulk() traces nothing
    objs = [k.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(3)]
    for o in objs:
        k.kfree_rcu(o)
    events.clear()
    with k.tracing(events):
        k.run()
    assert kr.stats["bulk_freed"] == 3 and k.slub.untraced_frees["kfree_rcu"] == 3
    assert not [e for e in events if e[0] in slab_events]
    k.kmem_cache_destroy(s)
    k.check()


def test_a_full_page_of_pointers_drains_after_one_jiffy():
    k = boot(cpus=1)
    kr = k.slub.kfree_rcu_impl
    k.kvfree_rcu(k.kmalloc(32, GFP_KERNEL))  # head-less: allocates the page on the spot
    objs = [k.kmalloc(32, GFP_KERNEL) for _ in range(kr.bulk_max_entr - 1)]
    for o in objs:
        k.kfree_rcu(o)
    assert kr.krc[0].count() == kr.bulk_max_entr == 507
    j = k.jiffies
    k.run()
    assert kr.pending() == 0
    assert k.jiffies - j <= 3  # 1 jiffy, a grace period, the work: not the 5 s drain
    k.check()


def test_kvfree_rcu_of_vmalloc_memory_and_the_barrier():
    k = boot()
    v = k.vmalloc(3 * 4096)
    a = k.kmalloc(100, GFP_KERNEL)
    k.kvfree_rcu(v)
    k.kvfree_rcu(a)
    k.kvfree_rcu_barrier()
    assert k.slub.kfree_rcu_impl.pending() == 0
    assert k.find_vm_area(v) is None  # channel 2: vfree()
    assert k.slub.untraced_frees["kfree_rcu"] == 2  # both from pages of pointers
    with pytest.raises(UsageError, match="no object"):
        k.kfree_rcu(0xFFFF888000000123)
    with pytest.raises(UsageError, match="offset"):
        k.kfree_rcu(k.kmalloc(64, GFP_KERNEL), 4096)
    k.kfree_rcu(0)  # kfree_rcu(NULL): nothing
    k.check()


# --------------------------------------------------------------------------- SLAB_TYPESAFE_BY_RCU
def test_typesafe_by_rcu_reuses_objects_at_once_and_frees_slabs_after_a_grace_period():
    k = boot(cpus=1)
    s = k.kmem_cache_create("tsafe", 512, 0, SLAB_TYPESAFE_BY_RCU)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    assert k.kmem_cache_alloc(s, GFP_KERNEL) == p  # the object is reused at once
    k.kmem_cache_free(s, p)
    objs = [k.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(300)]
    for o in objs:
        k.kmem_cache_free(s, o)
    slab_pages = k.node_stat("nr_slab_unreclaimable")
    k.kmem_cache_shrink(s)
    waiting = k.slub.rcu_free_slabs
    pfns = list(waiting)
    assert waiting and s.nr_slabs == 0  # gone from the cache's counts (dec_slabs_node())
    assert "tsafe" in k.proc("slabinfo") and k.sysfs("kernel/slab/tsafe/slabs") == "0 N0=0\n"
    assert k.node_stat("nr_slab_unreclaimable") == slab_pages  # still accounted: __free_slab() is later
    assert all(k.page_alloc.head_of(pfn) == pfn for pfn in pfns)  # the pages are still the slabs'
    k.check()
    k.synchronize_rcu()
    assert not waiting
    assert k.node_stat("nr_slab_unreclaimable") == slab_pages - sum(1 << s.order for _ in pfns)
    assert all(k.page_alloc.head_of(pfn) is None for pfn in pfns)  # back with the page allocator
    k.kmem_cache_destroy(s)
    k.check()


def test_a_double_free_into_a_slab_waiting_for_rcu():
    k = boot()
    s = k.kmem_cache_create("tsafe2", 512, 0, SLAB_TYPESAFE_BY_RCU)
    objs = [k.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(64)]
    for o in objs:
        k.kmem_cache_free(s, o)
    k.kmem_cache_shrink(s)
    stale = [o for o in objs if k.slub.object_of(o)[0].where == "rcu_free"]
    assert stale
    k.kmem_cache_free(s, stale[0])  # the kernel corrupts the dead slab without noticing
    assert k.slub.stale_frees == 1
    k.check()
    d = k.kmem_cache_create("tsafe-dbg", 512, 0, SLAB_TYPESAFE_BY_RCU | SLAB_RED_ZONE | kmemsim.SLAB_CONSISTENCY_CHECKS)
    objs = [k.kmem_cache_alloc(d, GFP_KERNEL) for _ in range(64)]
    for o in objs:
        k.kmem_cache_free(d, o)
    k.kmem_cache_shrink(d)
    dead = next(o for o in objs if k.slub.object_of(o)[0].where == "rcu_free")
    k.kmem_cache_free(d, dead)  # free_debug_processing(): the dead slab has no object in use
    assert "Slab has 0 allocated objects but 1 are to be freed" in k.dmesg()
    assert f"FIX tsafe-dbg: Object at {dead:#x} not freed" in k.dmesg()
    k.synchronize_rcu()
    k.check()


# --------------------------------------------------------------------------- bulk frees, hooks
def test_kmem_cache_free_bulk_groups_by_slab_as_build_detached_freelist():
    k = boot(cpus=1, slab_freelist_random=False)
    s = k.kmem_cache_create("bulk", 256, 0, SLAB_NO_MERGE)
    objs = [k.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(40)]  # 16 a slab: 3 slabs
    slab_of = {o: k.slub.object_of(o)[0] for o in objs}
    a, b, c = sorted({id(x): x for x in slab_of.values()}.values(), key=lambda x: x.pfn)
    p = [objs[0], objs[20], objs[1], objs[35], objs[2]]  # slabs a, b, a, c, a
    seen = []
    k.slub.untraced_free_hooks.append(lambda cause, obj, cache: seen.append((cause, obj, cache and cache.name)))
    events = []
    with k.tracing(events):
        k.kmem_cache_free_bulk(s, p)
    assert events == []
    # the last object first (objs[2], slab a), then its slab's objects looking back (objs[1],
    # objs[0]) past objs[35] and objs[20] (two misses of three), swapped to the end of what is
    # left; the rest is [objs[35], objs[20]]: objs[20] (the last) then objs[35]
    assert [o for _, o, _ in seen] == [objs[2], objs[1], objs[0], objs[20], objs[35]]
    assert {x[0] for x in seen} == {"kmem_cache_free_bulk"} and k.slub.untraced_frees["kmem_cache_free_bulk"] == 5
    big = k.kmalloc(20000, GFP_KERNEL)
    small = k.kmalloc(100, GFP_KERNEL)
    k.kfree_bulk([big, small])
    assert k.slub.untraced_frees["kfree_bulk"] == 2 and big not in k.slab.large
    with pytest.raises(UsageError, match="object address"):
        k.kfree_bulk([0])
    with pytest.raises(UsageError, match="kmem_cache_free_bulk"):
        k.kmem_cache_free_bulk("bulk", [objs[3]])
    k.check()


# --------------------------------------------------------------------------- nolock
def test_kmalloc_nolock_tries_the_next_bucket_when_the_interrupted_code_holds_the_lock():
    k = boot(cpus=1)
    got = []

    def nmi_handler(where):
        if where == "___slab_alloc" and not got and not k.in_nmi():  # NMIs do not nest
            with k.nmi():
                got.append(k.kmalloc_nolock(64, 0))

    k.dispatch.suspend("test")
    k.slub.nmi_probe = nmi_handler
    try:
        cache64 = k.find_cache("kmalloc-64")
        while True:  # drain kmalloc-64's CPU freelist until an allocation takes ___slab_alloc()
            p = k.kmalloc(64, GFP_KERNEL)
            if got:
                break
    finally:
        k.slub.nmi_probe = None
        k.dispatch.resume("test")
    assert k.slub.object_of(got[0])[0].cache is k.find_cache("kmalloc-96")  # -EBUSY, then the next bucket
    assert k.slub.nolock_stats["ebusy"] == 1 and p and cache64
    assert k.slub.object_of(p)[0].cache is cache64  # the interrupted kmalloc went on
    k.kfree_nolock(got[0])  # not this CPU's slab of kmalloc-96? then it is deferred to irq_work
    assert not any(k.slub.deferred)
    k.check()


def test_kfree_nolock_in_an_nmi_defers_to_irq_work():
    k = boot(cpus=1)
    objs = [k.kmalloc_nolock(100, 0) for _ in range(200)]  # several slabs: most are not the CPU slab
    s = k.slub.object_of(objs[0])[0].cache
    with k.nmi():
        k.kfree_nolock(objs[0])
        assert k.slub.deferred[0] and k.sched.irq_work
    assert not k.slub.deferred[0]  # the self-IPI after the NMI freed it
    for o in objs[1:]:
        k.kfree_nolock(o)
    assert k.slub.nolock_stats["deferred"] > 0 and s.name == "kmalloc-128"
    k.check()


def test_kmalloc_nolock_arguments():
    k = boot()
    assert k.kmalloc_nolock(0, 0) == 16  # ZERO_SIZE_PTR
    assert k.kmalloc_nolock(9000, 0) == 0  # above KMALLOC_MAX_CACHE_SIZE
    p = k.kmalloc_nolock(64, ACCOUNT)
    assert k.slub.object_of(p)[0].cache.name == "kmalloc-cg-64"
    with pytest.raises(UsageError, match="__GFP_ACCOUNT, __GFP_ZERO"):
        k.kmalloc_nolock(64, GFP_KERNEL)
    big = k.kmalloc(20000, GFP_KERNEL)
    k.kfree_nolock(big)
    assert "large_kmalloc is not supported by kfree_nolock()" in k.dmesg()
    assert "WARNING: CPU: 0 PID: 1000 at mm/slub.c:6874 kfree_nolock+0x0/0x0" in k.dmesg()
    k.kfree(big)
    k.kfree_nolock(p)
    k.check()


# --------------------------------------------------------------------------- stateful
class RcuMachine(RuleBasedStateMachine):
    """kmalloc/kfree, kfree_rcu, kvfree_rcu, call_rcu, TYPESAFE_BY_RCU caches, bulk frees and the
    nolock pair, with time passing now and then; k.check() after every step."""

    @initialize(cpus=st.integers(1, 3))
    def boot(self, cpus):
        self.k = kmemsim.boot(cpus=cpus, on_bug="raise")
        self.live = []
        self.safe = self.k.kmem_cache_create("rcu-safe", 192, 0, SLAB_TYPESAFE_BY_RCU)
        self.safe_live = []
        self.callbacks = 0
        self.ran = []

    @rule(size=st.integers(8, 4096))
    def kmalloc(self, size):
        p = self.k.kmalloc(size, GFP_KERNEL)
        assert p
        self.live.append(p)

    @precondition(lambda self: self.live)
    @rule(i=st.integers(0, 1000), how=st.sampled_from(["kfree", "kfree_rcu", "kvfree_rcu", "kfree_nolock"]))
    def free(self, i, how):
        p = self.live.pop(i % len(self.live))
        if how in ("kfree_rcu", "kvfree_rcu") and self.k.ksize(p) < 16:
            how = "kfree"  # an rcu_head (two pointers) does not fit in kmalloc-8: refused, as it should be
        if how == "kfree":
            self.k.kfree(p)
        elif how == "kfree_rcu":
            self.k.kfree_rcu(p)
        elif how == "kvfree_rcu":
            self.k.kvfree_rcu(p)
        elif p in self.k.slab.large:
            self.k.kfree(p)
        else:
            self.k.kfree_nolock(p)

    @precondition(lambda self: len(self.live) >= 2)
    @rule(n=st.integers(2, 8))
    def bulk(self, n):
        ps, self.live = self.live[:n], self.live[n:]
        self.k.kfree_bulk(ps)

    @rule(n=st.integers(1, 40))
    def safe_alloc(self, n):
        for _ in range(n):
            self.safe_live.append(self.k.kmem_cache_alloc(self.safe, GFP_KERNEL))

    @precondition(lambda self: self.safe_live)
    @rule(n=st.integers(1, 40), shrink=st.booleans())
    def safe_free(self, n, shrink):
        for _ in range(min(n, len(self.safe_live))):
            self.k.kmem_cache_free(self.safe, self.safe_live.pop())
        if shrink:
            self.k.kmem_cache_shrink(self.safe)

    @rule()
    def call_rcu(self):
        self.callbacks += 1
        self.k.call_rcu(self.ran.append, self.callbacks)

    @rule(ms=st.sampled_from([0, 1, 4, 50, 5100]))
    def time_passes(self, ms):
        if ms:
            self.k.run(ms=ms)
        else:
            self.k.synchronize_rcu()

    @rule()
    def barrier(self):
        self.k.rcu_barrier()
        assert self.ran == list(range(1, self.callbacks + 1))  # every callback, in order (one CPU)
        self.k.kvfree_rcu_barrier()
        assert self.k.slub.kfree_rcu_impl.pending() == 0

    @invariant()
    def consistent(self):
        if hasattr(self, "k"):
            self.k.check()

    def teardown(self):
        if hasattr(self, "k"):
            self.k.rcu_barrier()
            self.k.kvfree_rcu_barrier()
            self.k.check()
            self.k.shutdown()


TestRcuMachine = RcuMachine.TestCase
TestRcuMachine.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
