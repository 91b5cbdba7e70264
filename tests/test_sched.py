"""Calling contexts, might_sleep, tasks, wait queues, timers, tasklets (kmemsim.sched)."""
import pytest

import kmemsim
from kmemsim.errors import KernelBug, UsageError
from kmemsim.gfp import GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT
from kmemsim.sched import HARDIRQ_OFFSET, SOFTIRQ_DISABLE_OFFSET, SOFTIRQ_OFFSET, TASK_INTERRUPTIBLE

BUG = "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:321"


@pytest.fixture
def k():
    m = kmemsim.boot(on_bug="report")
    yield m
    m.shutdown()


def test_preempt_count_fields_and_predicates(k):
    assert (k.preempt_count(), k.in_interrupt(), k.in_atomic(), k.in_task()) == (0, False, False, True)
    with k.hardirq():
        assert k.preempt_count() == HARDIRQ_OFFSET and k.in_hardirq() and k.irqs_disabled()
        assert k.in_interrupt() and not k.in_task()
    with k.softirq():
        assert k.preempt_count() == SOFTIRQ_OFFSET and k.in_serving_softirq() and not k.irqs_disabled()
    k.local_bh_disable()
    assert k.preempt_count() == SOFTIRQ_DISABLE_OFFSET and k.in_interrupt() and k.in_softirq()
    assert k.in_task() and not k.in_serving_softirq()  # BH disabled is still task context
    k.local_bh_enable()
    with k.nmi():
        assert k.in_nmi() and k.preempt_count() == 0x110000
    lock = k.spinlock("dev_lock")
    flags = k.spin_lock_irqsave(lock)
    assert k.in_atomic() and k.irqs_disabled() and not k.in_interrupt() and k.preempt_count() == 1
    k.spin_unlock_irqrestore(lock, flags)
    assert (k.preempt_count(), k.irqs_disabled()) == (0, False)
    with pytest.raises(UsageError):
        k.preempt_enable()  # unbalanced
    k.check()


def test_gfp_kernel_in_hardirq_is_the_kernels_report_and_atomic_is_not(k):
    with k.hardirq():
        a = k.kmalloc(64, GFP_ATOMIC)
        b = k.kmalloc(64, GFP_NOWAIT)
        assert BUG not in k.dmesg()
        p = k.kmalloc(64, GFP_KERNEL)  # the report, then the allocation goes on (on_bug="report")
    lines = k.dmesg().splitlines()
    i = next(i for i, line in enumerate(lines) if BUG in line)
    assert lines[i + 1].endswith("in_atomic(): 1, irqs_disabled(): 1, non_block: 0, pid: 1000, name: insmod")
    assert lines[i + 2].endswith("preempt_count: 10000, expected: 0")
    assert lines[i + 3].endswith("RCU nest depth: 0, expected: 0")
    assert "Not tainted" in lines[i + 4] and "W" in k.taint  # tainted after the dump
    assert p and a and b
    for x in (a, b, p):
        k.kfree(x)
    k.check()


def test_might_sleep_is_rate_limited_to_once_per_second(k):
    lock = k.spinlock()
    k.spin_lock(lock)
    for _ in range(3):
        k.kmalloc(128, GFP_KERNEL)
        k.get_free_pages(GFP_KERNEL, 0)
    assert k.dmesg().count("BUG: sleeping function") == 1
    k.mdelay(1000)  # a second later (busy-waiting is fine under a spinlock)
    k.kzalloc(32, GFP_KERNEL)
    assert k.dmesg().count("BUG: sleeping function") == 2
    assert "in_atomic(): 1, irqs_disabled(): 0" in k.dmesg()
    k.spin_unlock(lock)


def test_raise_policy_and_the_fast_paths_come_back():
    k = kmemsim.boot()
    assert k.dispatch.active("kmalloc") == "fast"
    with k.atomic():
        assert k.dispatch.state()["kmalloc"] == "general (atomic)"  # every allocation passes might_alloc()
        assert k.dispatch.active("kfree") == "fast"  # frees need no might_alloc()
        with pytest.raises(KernelBug) as e:
            k.kmalloc(8, GFP_KERNEL)
        assert e.value.kind == "sleeping_in_atomic"
        assert k.kmalloc(8, GFP_ATOMIC)
    assert k.dispatch.active("kmalloc") == "fast" and not k.dispatch.reasons
    assert k.kmalloc(8, GFP_KERNEL)


def test_vmalloc_in_interrupt_context_is_refused(k):
    with k.softirq():
        assert k.in_interrupt()
        with pytest.raises(kmemsim.Oops):
            k.vmalloc(4096)  # __get_vm_area_node: BUG_ON(in_interrupt())


def test_spinlock_recursion_and_bad_unlock(k):
    lock = k.spinlock("l")
    k.spin_lock(lock)
    k.spin_lock(lock)
    assert "BUG: spinlock recursion on CPU#0, insmod/1000" in k.dmesg()
    k.spin_unlock(lock)
    k.spin_unlock(lock)
    assert "BUG: spinlock already unlocked on CPU#0" in k.dmesg()


def test_kthread_sleeps_on_a_wait_queue_and_is_woken():
    k = kmemsim.boot()
    wq = k.waitqueue("data")
    box: list[int] = []
    order = []

    def consumer():
        order.append("wait")
        k.wait_event(wq, lambda: box)
        order.append("got")
        return box.pop()

    t = k.kthread_run(consumer, "consumer")
    assert order == []  # created and woken, not run yet: the caller has the CPU
    k.run()
    assert order == ["wait"] and t.state == 2  # TASK_UNINTERRUPTIBLE
    box.append(42)
    k.wake_up(wq)
    assert k.kthread_stop(t) == 42 and order == ["wait", "got"]
    k.check()
    k.shutdown()


def test_msleep_counts_jiffies_like_the_kernel():
    k = kmemsim.boot()
    hz = k.HZ
    stamps = []

    def sleeper():
        for _ in range(3):
            j = k.jiffies
            k.msleep(100)
            stamps.append(k.jiffies - j)

    k.kthread_run(sleeper, "sleeper")
    k.run()
    assert stamps == [100 * hz // 1000 + 1] * 3  # msecs_to_jiffies(100) + 1 each time
    j = k.jiffies
    k.run(ms=50)
    assert k.jiffies - j == -(-50 * hz // 1000) == 13  # msecs_to_jiffies rounds up


def test_timers_and_tasklets_run_in_softirq_context(k):
    seen = []
    timer = k.timer_setup(lambda t: seen.append(("timer", k.in_serving_softirq(), k.jiffies)))
    k.mod_timer(timer, k.jiffies + 10)
    tl = k.tasklet_setup(lambda d: seen.append(("tasklet", k.in_serving_softirq(), d)), "x")
    with k.hardirq():
        k.tasklet_schedule(tl)
        assert seen == []
    assert seen == [("tasklet", True, "x")]  # irq_exit ran it
    j = k.jiffies
    k.run()
    assert seen[1] == ("timer", True, j + 10)
    t2 = k.timer_setup(lambda t: seen.append("never"))
    k.mod_timer(t2, k.jiffies + 5)
    assert k.del_timer(t2)
    k.run()
    assert "never" not in seen


def test_a_task_that_can_never_be_woken_is_the_hung_task_report(k):
    wq = k.waitqueue()
    with pytest.raises(KernelBug) as e:
        k.wait_event(wq, lambda: False)
    assert e.value.kind == "hung_task"
    assert "INFO: task insmod:1000 blocked for more than 122 seconds." in k.dmesg()
    assert '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.' in k.dmesg()
    k.check()  # the caller goes on


def test_mutex_contention_sleeps_and_hands_over():
    k = kmemsim.boot()
    m = k.mutex("m")
    log = []

    def worker(n):
        k.mutex_lock(m)
        log.append(("in", n))
        k.msleep(10)
        log.append(("out", n))
        k.mutex_unlock(m)

    for n in range(3):
        k.kthread_run(worker, f"w{n}", n)
    k.run()
    assert log == [("in", 0), ("out", 0), ("in", 1), ("out", 1), ("in", 2), ("out", 2)]
    with k.atomic():
        with pytest.raises(KernelBug):
            k.mutex_lock(m)  # might_sleep in atomic context
    k.shutdown()


def test_schedule_in_atomic_context_is_scheduling_while_atomic(k):
    def nap():
        k.set_current_state(TASK_INTERRUPTIBLE)
        k.schedule_timeout(5)

    with k.atomic():
        k.set_current_state(TASK_INTERRUPTIBLE)
        k.schedule_timeout(1)
    assert "BUG: scheduling while atomic: insmod/1000/0x00000001" in k.dmesg()


def test_an_exception_in_a_kthread_reaches_the_caller():
    k = kmemsim.boot()

    def bad():
        k.msleep(1)
        raise ValueError("driver bug")

    k.kthread_run(bad, "bad")
    with pytest.raises(ValueError, match="driver bug"):
        k.run()


def test_vmalloc_under_a_spinlock_is_reported_and_vfree_in_irq_is_deferred(k):
    lock = k.spinlock()
    k.spin_lock(lock)
    a = k.vmalloc(8192)  # alloc_vmap_area(): might_sleep()
    k.spin_unlock(lock)
    assert a and "BUG: sleeping function called from invalid context at mm/vmalloc.c:2030" in k.dmesg()
    with k.hardirq():
        k.vfree(a)  # deferred to a work item, no report
        assert k.find_vm_area(a) is not None
    assert k.dmesg().count("BUG: sleeping function") == 1
    k.run()  # the kworker gets the CPU and runs the deferred vfree
    assert k.find_vm_area(a) is None


def test_schedule_work_runs_in_a_kworker_in_process_context(k):
    seen = []
    with k.hardirq():
        k.schedule_work(lambda: seen.append((k.current.comm, k.in_interrupt())))
    assert seen == []
    k.run()
    assert seen == [("kworker/0:1", False)]


def test_without_debug_atomic_sleep_might_sleep_is_silent():
    k = kmemsim.boot(debug_atomic_sleep=False)
    with k.atomic():
        assert k.kmalloc(8, GFP_KERNEL)
    assert "sleeping function" not in k.dmesg()


# ------------------------------------------------------------------ stateful
from hypothesis import settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule  # noqa: E402

_OFFSETS = {"atomic": 1, "softirq": SOFTIRQ_OFFSET, "hardirq": HARDIRQ_OFFSET, "bh": SOFTIRQ_DISABLE_OFFSET,
            "spin": 1, "spin_irqsave": 1}


class ContextMachine(RuleBasedStateMachine):
    """Random context nesting, allocations in each context, kthreads that sleep, allocate
    and free, time passing: the preempt_count always equals the open contexts' sum,
    GFP_KERNEL in atomic context is always reported, k.check() holds."""

    def __init__(self):
        super().__init__()
        self.k = kmemsim.boot(on_bug="report", ram="256M")
        self.stack = []  # (kind, closer)
        self.objs = []
        self.spawned = 0

    def teardown(self):
        while self.stack:
            self.stack.pop()[1]()
        self.k.run()
        self.k.shutdown()

    @precondition(lambda self: len(self.stack) < 5)
    @rule(kind=st.sampled_from(sorted(_OFFSETS)))
    def enter(self, kind):
        k = self.k
        if kind == "atomic":
            k.preempt_disable()
            closer = k.preempt_enable
        elif kind in ("softirq", "hardirq"):
            cm = k.softirq() if kind == "softirq" else k.hardirq()
            cm.__enter__()
            closer = lambda: cm.__exit__(None, None, None)  # noqa: E731
        elif kind == "bh":
            k.local_bh_disable()
            closer = k.local_bh_enable
        elif kind == "spin":
            lock = k.spinlock()
            k.spin_lock(lock)
            closer = lambda: k.spin_unlock(lock)  # noqa: E731
        else:
            lock = k.spinlock()
            flags = k.spin_lock_irqsave(lock)
            closer = lambda: k.spin_unlock_irqrestore(lock, flags)  # noqa: E731
        self.stack.append((kind, closer))

    @precondition(lambda self: self.stack)
    @rule()
    def leave(self):
        self.stack.pop()[1]()

    @rule(size=st.integers(1, 9000), atomic_gfp=st.booleans())
    def allocate(self, size, atomic_gfp):
        k = self.k
        before = k.dmesg().count("BUG: sleeping function")
        k.mdelay(1001)  # past the once-a-second rate limit
        p = k.kmalloc(size, GFP_ATOMIC if atomic_gfp else GFP_KERNEL)
        reported = k.dmesg().count("BUG: sleeping function") > before
        assert reported == (bool(self.stack) and not atomic_gfp)
        if p:
            self.objs.append(p)

    @precondition(lambda self: self.objs)
    @rule(i=st.integers(0, 1000))
    def free(self, i):
        self.k.kfree(self.objs.pop(i % len(self.objs)))

    @precondition(lambda self: not self.stack and self.spawned < 6)
    @rule(ms=st.integers(0, 50), n=st.integers(1, 5))
    def spawn(self, ms, n):
        k = self.k

        def worker():
            held = []
            for _ in range(n):
                held.append(k.kmalloc(64 * n, GFP_KERNEL))
                k.msleep(ms)
            for p in held:
                k.kfree(p)

        self.spawned += 1
        k.kthread_run(worker, f"worker{self.spawned}")

    @precondition(lambda self: not self.stack)
    @rule(ms=st.integers(0, 100))
    def let_time_pass(self, ms):
        self.k.run(ms=ms)

    @invariant()
    def consistent(self):
        assert self.k.preempt_count() == sum(_OFFSETS[kind] for kind, _ in self.stack)
        assert self.k.irqs_disabled() == any(kind in ("hardirq", "spin_irqsave") for kind, _ in self.stack)
        self.k.check()


TestContextMachine = ContextMachine.TestCase
TestContextMachine.settings = settings(max_examples=15, stateful_step_count=20, deadline=None)


def test_check_finds_a_corrupted_wait_queue_and_a_silent_atomic_sleep():
    from kmemsim.errors import InvariantError

    k = kmemsim.boot()
    wq = k.waitqueue("w")
    done = []
    t = k.kthread_run(lambda: k.wait_event(wq, lambda: done), "waiter")
    k.run()
    k.check()
    t.saved_pc = 1  # as if it had slept under a spinlock with no report
    with pytest.raises(InvariantError, match="sleeps in atomic context"):
        k.check()
    t.saved_pc = 0
    t.exited = True  # as if it had exited without leaving the queue
    with pytest.raises(InvariantError, match="has exited"):
        k.check()
    t.exited = False
    done.append(1)
    k.wake_up(wq)
    k.run()
    k.check()


# ------------------------------------------------------------------ review regressions
def test_fast_paths_stay_off_while_any_cpu_is_atomic():
    k = kmemsim.boot()
    with k.atomic():
        with k.on_cpu(1):
            with k.atomic():
                pass
        assert k.dispatch.active("kmalloc") == "general"
        with pytest.raises(KernelBug):
            k.kmalloc(64, GFP_KERNEL)
    assert k.dispatch.active("kmalloc") == "fast"


def test_timers_survive_the_32_bit_jiffies_wrap():
    k = kmemsim.boot("linux-2.6-i386", ram="256M")
    k.msleep(290_000)
    before = k.jiffies
    k.msleep(20_000)  # crosses the wrap five minutes after boot
    assert k.jiffies < before  # wrapped
    assert (k.jiffies - before) % (1 << 32) == k.msecs_to_jiffies(20_000) + 1


def test_a_timer_armed_across_the_jiffies_wrap_checks_clean():
    """A pending timer whose expires wrapped (32-bit jiffies) while its heap entry is a jiffies_64
    value is consistent: k.check() compares them modulo the word (a hypothesis run on 2.6.11's
    SLAB found the false alarm: 'heap entry says 4294970296, the timer 3000')."""
    k = kmemsim.boot("linux-2.6.11-i386", ram="256M")
    fired = []
    t = k.timer_setup(lambda timer: fired.append(k.jiffies))
    k.run(ms=295_000)
    k.mod_timer(t, (k.jiffies + k.msecs_to_jiffies(10_000)) & 0xFFFFFFFF)
    assert t.expires < k.jiffies  # (wrapped: a small number)
    k.check()
    k.run(ms=11_000)
    assert fired and k.jiffies < 100_000
    k.check()


def test_a_wake_up_between_prepare_to_wait_and_schedule_is_not_lost(k):
    wq = k.waitqueue()
    k.prepare_to_wait(wq, 2)
    with k.hardirq():
        k.wake_up(wq)
    j = k.jiffies
    assert k.schedule_timeout(100) == 100 and k.jiffies == j
    k.finish_wait(wq)


def test_exclusive_wake_ups_each_wake_a_different_waiter():
    k = kmemsim.boot()
    wq = k.waitqueue()
    items, got = [], []

    def consumer(name):
        while True:
            k.prepare_to_wait_exclusive(wq, 2)
            if items:
                break
            k.schedule()
        k.finish_wait(wq)
        got.append((name, items.pop()))

    k.kthread_run(consumer, "A", "A")
    k.kthread_run(consumer, "B", "B")
    k.run()
    for i in range(2):
        items.append(i)
        assert k.wake_up(wq) == 1
        k.run()
    assert sorted(n for n, _ in got) == ["A", "B"] and not items
    k.shutdown()


def test_kthread_stop_before_it_ran_and_of_a_thread_that_never_exits():
    k = kmemsim.boot()
    ran = []
    t = k.kthread_create(lambda: ran.append(1) or 7, "never")
    assert k.kthread_stop(t) == -4 and ran == []  # -EINTR: threadfn is skipped
    wq = k.waitqueue()
    t2 = k.kthread_run(lambda: k.wait_event(wq, lambda: False), "stuck")
    k.run()  # it starts and sleeps
    with pytest.raises(KernelBug) as e:
        k.kthread_stop(t2)  # the thread ignores kthread_should_stop(): the caller hangs
    assert e.value.kind == "hung_task"
    k.shutdown()


def test_a_work_item_that_sleeps_is_refused_clearly():
    k = kmemsim.boot()
    k.schedule_work(lambda: k.msleep(10))
    with pytest.raises(UsageError, match="may not sleep"):
        k.run()


def test_a_kthread_stuck_in_mempool_alloc_is_reported_not_spun_forever():
    k = kmemsim.boot(on_bug="report")
    pool = k.mempool_create(1, lambda g, d: 0 if d["fail"] else k.kmalloc(32, GFP_ATOMIC),
                            lambda e, d: k.kfree(e), {"fail": False})
    pool.pool_data["fail"] = True
    k.mempool_alloc(pool, GFP_ATOMIC)
    k.kthread_run(lambda: k.mempool_alloc(pool, GFP_KERNEL), "waiter")
    with pytest.raises(KernelBug) as e:
        k.run()
    assert e.value.kind == "hung_task" and "INFO: task waiter:" in k.dmesg()


def test_tracing_keeps_its_wrappers_across_atomic_sections_and_fault_injection():
    k = kmemsim.boot()
    lines = []
    with k.tracing(lines.append):
        with k.atomic():
            k.kmalloc(32, GFP_ATOMIC)
        assert k.dispatch.reasons == {"tracing"}
        k.kfree(k.kmalloc(32, GFP_KERNEL))
    assert sum(": kmalloc: " in line for line in lines) == 2
    assert all(v == "fast" for v in k.dispatch.state().values()) and not vars(k).get("kmalloc")


def test_spinlock_recursion_under_raise_leaves_the_context_clean():
    k = kmemsim.boot()
    lock = k.spinlock()
    k.spin_lock_irq(lock)
    with pytest.raises(KernelBug):
        k.spin_lock_irq(lock)
    k.spin_unlock_irq(lock)
    assert (k.preempt_count(), k.irqs_disabled()) == (0, False)


def _hung_report(k):
    wq = k.waitqueue()
    with pytest.raises(KernelBug):
        k.wait_event(wq, lambda: False)
    return k.dmesg()


def test_the_report_forms_follow_the_kernels_features():
    """Each form is the one of the machine's kernel (k.features); a release with no profile yet
    is reached by giving the scheduler that release's features."""

    k26 = kmemsim.boot("linux-2.6-i386", ram="256M", on_bug="report")
    with k26.atomic():
        k26.kmalloc(64, GFP_KERNEL)
        k26.set_current_state(TASK_INTERRUPTIBLE)
        k26.schedule_timeout(1)
    text = k26.dmesg()
    # 2.6.24's SLUB has no might_sleep(): the report is the page allocator's, growing the slab
    # (2.6.24 mm/page_alloc.c:1467 might_sleep_if(wait), kmemsim.features.SITES)
    assert "BUG: sleeping function called from invalid context at mm/page_alloc.c:1467" in text
    assert "in_atomic():1, irqs_disabled():0" in text and "preempt_count:" not in text
    assert "BUG: scheduling while atomic: insmod/1000/0x00000001" in text
    hung = _hung_report(k26)
    assert "blocked for more than 120 seconds." in hung and "task:" not in hung and "<TASK>" not in hung
    k26.shutdown()

    k11 = kmemsim.boot("linux-2.6.11-i386", ram="256M", on_bug="report")
    with k11.atomic():
        k11.kmalloc(64, GFP_KERNEL)
        k11.set_current_state(TASK_INTERRUPTIBLE)
        k11.schedule_timeout(1)
    text = k11.dmesg()
    assert "Debug: sleeping function called from invalid context at mm/slab.c:2082" in text
    assert "BUG: sleeping" not in text
    assert "scheduling while atomic: insmod/0x00000001/1000" in text and "BUG: scheduling" not in text
    k11.shutdown()

    k6 = kmemsim.boot(on_bug="report")
    assert "pid:1000  tgid:1000  ppid:2      flags:" in _hung_report(k6)  # 6.7+: tgid
    k6.shutdown()
    k66 = kmemsim.boot("linux-6.6-x86_64", on_bug="report")
    hung = _hung_report(k66)
    assert "task:insmod          state:D stack:0     pid:1000  ppid:2      flags:" in hung
    assert " <TASK>" in hung and "tgid:" not in hung
    k66.shutdown()
