"""Calling contexts, tasks, time: preempt_count, might_sleep, a deterministic scheduler.

Models (Linux 6.18 unless a line says 2.6.24):

* include/linux/preempt.h -- the preempt_count fields and the context predicates::

      bits  0- 7  PREEMPT  preempt_disable(), spin_lock()          PREEMPT_OFFSET  0x1
      bits  8-15  SOFTIRQ  serving a softirq (0x100), BH disabled  SOFTIRQ_OFFSET  0x100
                           (local_bh_disable adds 0x200)
      bits 16-19  HARDIRQ  irq_enter()                             HARDIRQ_OFFSET  0x10000
      bits 20-23  NMI      nmi_enter() (also adds HARDIRQ_OFFSET)  NMI_OFFSET      0x100000

  in_interrupt() = pc & (NMI|HARDIRQ|SOFTIRQ masks); in_atomic() = pc != 0;
  in_task() = !(pc & (NMI_MASK|HARDIRQ_MASK|SOFTIRQ_OFFSET)).  preempt_count is
  per CPU (x86 keeps it in the per-CPU ``__preempt_count``); IRQs-off is a per-CPU
  flag.  CONFIG_PREEMPT_COUNT is on (the reference host runs PREEMPT_DYNAMIC), so
  spin_lock() adds 1.
* kernel/sched/core.c ``__might_sleep``/``__might_resched`` -- the "BUG: sleeping
  function called from invalid context" report, at most once per HZ jiffies
  (``prev_jiffy``), taint W; ``__schedule_bug`` -- "BUG: scheduling while atomic".
  The text follows the machine's kernel (``k.features``): ``sched_bug_prefix`` (2.6.16,
  "BUG: " instead of 2.6.11's "Debug: "), ``might_resched`` (5.16, the preempt_count and
  RCU lines; 2.6.24's two-line form before);
  Reports need CONFIG_DEBUG_ATOMIC_SLEEP, which the ``debug_atomic_sleep`` tunable
  is (on by default: a teaching tool wants the report; the reference host has it off).
* kernel/kthread.c, kernel/sched/wait.c, kernel/time/timer.c (timer_list, jiffies,
  schedule_timeout, msleep), kernel/softirq.c (tasklets, irq_exit running softirqs),
  kernel/hung_task.c (the report of a task blocked in state D).

The scheduler
-------------
Tasks are real Python threads that never run at the same time: exactly one task
holds the CPU token, and a switch hands it over (the next task's semaphore is
released, the previous one waits on its own).  So kernel code in a task is plain
Python -- ``k.msleep(10)`` or a blocking ``mempool_alloc`` simply return later --
and every run is deterministic: the order is the run queue's FIFO order, time is the
machine clock, which only moves when every task is asleep (it jumps to the next
timer).  The caller of the Python API is itself a task (``insmod``, pid 1000), so a
top-level blocking call runs the other tasks until something wakes it.

A task that sleeps with nothing left that could wake it (no runnable task, no
timer) would hang the kernel forever: the model reports it as khungtaskd does after
``hung_task_timeout_secs`` and raises :class:`~kmemsim.errors.KernelBug` ("hung_task")
in the blocked caller instead of hanging Python.  The report's task line is
``sched_show_task()``'s of the machine's kernel (features ``sched_show_task_labels``,
5.9, and ``sched_show_task_tgid``, 6.7); 2.6.24 had no hung-task detector (2.6.25 brought
it), so there the model prints the early 2.6 form rather than hang.

Simplified, and said so: one run queue for the machine (tasks run on the CPU they
were created on, no load balancing, no priorities, no preemption of a running task
-- the PREEMPT(none) model: a task runs until it sleeps or calls ``cond_resched``/
``schedule``); softirqs (tasklets, timers) run at irq_exit, at local_bh_enable and
when the clock moves; no RCU grace periods yet.
"""
from __future__ import annotations

import contextlib
import heapq
import itertools
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .dispatch import ALLOC_ENTRY_POINTS
from .errors import KernelBug, UsageError
from .printk import KERN_ERR
from .records import Record
from .report import user_frames

if TYPE_CHECKING:  # pragma: no cover
    from .machine import Machine as Kernel

PREEMPT_OFFSET = 0x1
SOFTIRQ_OFFSET = 0x100
SOFTIRQ_DISABLE_OFFSET = 0x200
HARDIRQ_OFFSET = 0x10000
NMI_OFFSET = 0x100000
PREEMPT_MASK = 0xFF
SOFTIRQ_MASK = 0xFF00
HARDIRQ_MASK = 0xF0000
NMI_MASK = 0xF00000

# task states (include/linux/sched.h)
TASK_RUNNING = 0x0
TASK_INTERRUPTIBLE = 0x1
TASK_UNINTERRUPTIBLE = 0x2
TASK_DEAD = 0x80
TASK_NOLOAD = 0x400
TASK_IDLE = TASK_UNINTERRUPTIBLE | TASK_NOLOAD
MAX_SCHEDULE_TIMEOUT = (1 << 63) - 1

_STATE_LETTER = {TASK_RUNNING: "R", TASK_INTERRUPTIBLE: "S", TASK_UNINTERRUPTIBLE: "D", TASK_IDLE: "I",
                 TASK_DEAD: "X"}


class TaskExit(BaseException):
    """Unwinds a task's thread when the machine is torn down (never seen by users)."""


class Task(Record, eq=False):
    """A task_struct: ``current`` is one.  ``state`` is the kernel's __state."""

    __match_args__ = ("pid", "comm", "uid", "state", "fn", "args", "cpu", "flags", "kthread", "should_stop", "exited",
                       "result", "exc", "woken", "last_switch", "work", "_go", "_thread", "saved_pc", "saved_irqs",
                       "killed", "exit_wq", "atomic_sleep_reported", "rcu_read_lock_nesting", "rcu_blocked")
    _no_repr = ("_go", "_thread", "exit_wq")

    pid: int
    comm: str
    uid: int = 0
    state: int = TASK_RUNNING
    fn: Callable[..., Any] | None = None
    args: tuple = ()
    cpu: int = 0
    flags: int = 0x00004000  # task->flags as sched_show_task prints them
    kthread: bool = False
    should_stop: bool = False
    exited: bool = False
    result: Any = None
    exc: BaseException | None = None
    woken: bool = False  # a wake-up arrived (the kernel's TASK_RUNNING set by try_to_wake_up)
    last_switch: int = 0  # jiffies of the last switch (hung-task detector)
    work: Callable[[], None] | None = None  # a thread-less task: its body runs to completion when picked
    _go: threading.Semaphore
    _thread: threading.Thread | None = None
    saved_pc: int = 0
    saved_irqs: bool = False
    killed: bool = False  # the machine was shut down: unwind the thread
    exit_wq: WaitQueueHead
    atomic_sleep_reported: bool = False  # slept with preempt_count != 0 after "scheduling while atomic"
    #: PREEMPT_RCU: current->rcu_read_lock_nesting, and rcu_read_unlock_special.b.blocked (the task
    #: gave up the CPU inside a read-side critical section: it is on the blocked-tasks list)
    rcu_read_lock_nesting: int = 0
    rcu_blocked: bool = False

    def __init__(self, pid: int, comm: str, uid: int = 0, state: int = TASK_RUNNING,
                 fn: Callable[..., Any] | None = None, args: tuple = (), cpu: int = 0, flags: int = 0x00004000,
                 kthread: bool = False, should_stop: bool = False, exited: bool = False, result: Any = None,
                 exc: BaseException | None = None, woken: bool = False,
                 last_switch: int = 0, work: Callable[[], None] | None = None, _go: threading.Semaphore | None = None,
                 _thread: threading.Thread | None = None, saved_pc: int = 0, saved_irqs: bool = False,
                 killed: bool = False, exit_wq: WaitQueueHead | None = None, atomic_sleep_reported: bool = False,
                 rcu_read_lock_nesting: int = 0, rcu_blocked: bool = False) -> None:
        vars(self).update(pid=pid, comm=comm, uid=uid, state=state, fn=fn, args=args, cpu=cpu, flags=flags,
                          kthread=kthread, should_stop=should_stop, exited=exited, result=result, exc=exc, woken=woken,
                          last_switch=last_switch, work=work, _go=threading.Semaphore(0) if _go is None else _go,
                          _thread=_thread, saved_pc=saved_pc, saved_irqs=saved_irqs, killed=killed,
                          exit_wq=WaitQueueHead("kthread_exit") if exit_wq is None else exit_wq,
                          atomic_sleep_reported=atomic_sleep_reported, rcu_read_lock_nesting=rcu_read_lock_nesting,
                          rcu_blocked=rcu_blocked)

    def __repr__(self) -> str:
        return f"<task {self.comm}:{self.pid} {_STATE_LETTER.get(self.state, hex(self.state))}>"


class TimerList(Record, eq=False):
    """struct timer_list: ``function(timer)`` runs in softirq context at ``expires``."""

    __match_args__ = ("function", "expires", "pending", "data", "_seq", "deferrable")

    function: Callable[[TimerList], object]  # its return value is ignored
    expires: int = 0
    pending: bool = False
    data: Any = None
    _seq: int = 0
    #: TIMER_DEFERRABLE: it never wakes an idle machine -- the clock does not jump to it, and it
    #: neither keeps k.run() going nor counts as something that could still happen; it runs when
    #: the clock passes it for another reason (SLAB's cache_reap)
    deferrable: bool = False

    def __init__(self, function: Callable[[TimerList], object], expires: int = 0, pending: bool = False,
                 data: Any = None, _seq: int = 0, deferrable: bool = False) -> None:
        vars(self).update(function=function, expires=expires, pending=pending, data=data, _seq=_seq,
                          deferrable=deferrable)


class Tasklet(Record, eq=False):
    """struct tasklet_struct: ``func(data)`` runs once per schedule, in softirq context."""

    __match_args__ = ("func", "data", "scheduled", "count")

    func: Callable[[Any], None]
    data: Any = None
    scheduled: bool = False
    count: int = 0  # tasklet_disable() depth

    def __init__(self, func: Callable[[Any], None], data: Any = None, scheduled: bool = False, count: int = 0) -> None:
        vars(self).update(func=func, data=data, scheduled=scheduled, count=count)


class WaitQueueHead(Record, eq=False):
    """wait_queue_head_t: the tasks waiting on it, FIFO (exclusive waiters at the tail)."""

    __match_args__ = ("name", "waiters")

    name: str = "wq"
    waiters: list[tuple[Task, bool]]  # (task, exclusive)

    def __init__(self, name: str = "wq", waiters: list[tuple[Task, bool]] | None = None) -> None:
        vars(self).update(name=name, waiters=[] if waiters is None else waiters)

    def __len__(self) -> int:
        return len(self.waiters)


class SpinLock(Record, eq=False):
    """spinlock_t with CONFIG_DEBUG_SPINLOCK's owner fields."""

    __match_args__ = ("name", "owner", "owner_cpu", "magic")

    name: str = "lock"
    owner: Task | None = None
    owner_cpu: int = -1
    magic: int = 0xDEAD4EAD  # SPINLOCK_MAGIC

    def __init__(self, name: str = "lock", owner: Task | None = None, owner_cpu: int = -1,
                 magic: int = 0xDEAD4EAD) -> None:
        vars(self).update(name=name, owner=owner, owner_cpu=owner_cpu, magic=magic)


class Mutex(Record, eq=False):
    """struct mutex: an owner and a wait list."""

    __match_args__ = ("name", "owner", "wait")

    name: str = "mutex"
    owner: Task | None = None
    wait: WaitQueueHead

    def __init__(self, name: str = "mutex", owner: Task | None = None, wait: WaitQueueHead | None = None) -> None:
        vars(self).update(name=name, owner=owner, wait=WaitQueueHead() if wait is None else wait)


class WorkStruct(Record, eq=False):
    """struct work_struct (INIT_WORK): ``func(work)`` runs in a worker of the workqueue it was
    queued on (process context: it may sleep); ``data`` is yours (container_of's object)."""

    __match_args__ = ("func", "data", "pending", "running", "wq", "done")
    _no_repr = ("done",)

    func: Callable[[WorkStruct], object]
    data: Any = None
    pending: bool = False  # WORK_STRUCT_PENDING: queued, or a delayed work's timer armed
    running: bool = False
    wq: Workqueue | None = None
    done: WaitQueueHead

    def __init__(self, func: Callable[[WorkStruct], object], data: Any = None, pending: bool = False,
                 running: bool = False, wq: Workqueue | None = None, done: WaitQueueHead | None = None) -> None:
        vars(self).update(func=func, data=data, pending=pending, running=running, wq=wq,
                          done=WaitQueueHead("work_done") if done is None else done)


class DelayedWork(Record, eq=False):
    """struct delayed_work: a work queued when its timer expires."""

    __match_args__ = ("work", "timer")

    work: WorkStruct
    timer: TimerList | None = None

    def __init__(self, work: WorkStruct, timer: TimerList | None = None) -> None:
        vars(self).update(work=work, timer=timer)


class RcuWork(Record, eq=False):
    """struct rcu_work: a work queued after an RCU grace period (queue_rcu_work())."""

    __match_args__ = ("work", "wq")

    work: WorkStruct
    wq: Workqueue | None = None

    def __init__(self, work: WorkStruct, wq: Workqueue | None = None) -> None:
        vars(self).update(work=work, wq=wq)


class Workqueue(Record, eq=False):
    """struct workqueue_struct: alloc_workqueue(name, flags) -- its works run in order in one
    worker kthread (``kworker/uN:M`` for WQ_UNBOUND), which sleeps idle (TASK_IDLE) when there
    is nothing to do."""

    __match_args__ = ("name", "flags", "items", "worker", "more", "current", "dying", "destroyed")
    _no_repr = ("more",)

    name: str
    flags: int = 0
    items: list[WorkStruct]
    worker: Task | None = None
    more: WaitQueueHead
    current: WorkStruct | None = None  # the work its worker runs now
    dying: bool = False
    destroyed: bool = False

    def __init__(self, name: str, flags: int = 0, items: list[WorkStruct] | None = None, worker: Task | None = None,
                 more: WaitQueueHead | None = None, current: WorkStruct | None = None, dying: bool = False,
                 destroyed: bool = False) -> None:
        vars(self).update(name=name, flags=flags, items=[] if items is None else items, worker=worker,
                          more=WaitQueueHead("worker") if more is None else more, current=current, dying=dying,
                          destroyed=destroyed)


# include/linux/workqueue.h (6.18)
WQ_UNBOUND = 1 << 1
WQ_FREEZABLE = 1 << 2
WQ_MEM_RECLAIM = 1 << 3
WQ_HIGHPRI = 1 << 4
WQ_CPU_INTENSIVE = 1 << 5
WQ_SYSFS = 1 << 6
WQ_POWER_EFFICIENT = 1 << 7
WQ_BH = 1 << 8
WQ_PERCPU = 1 << 9
_WQ_KNOWN = (1 << 10) - 2


class Sched:
    """Contexts, tasks, timers and softirqs of one machine (``k.sched``)."""

    def __init__(self, k: Kernel):
        self.k = k
        n = len(k.cpus)
        self.pc = [0] * n  # preempt_count per CPU
        self.irqs_off = [False] * n
        self.hz = k.profile.hz
        self.gfp_bits = k.gfp.bits  # might_alloc() acts on gfp_bits.direct_reclaim
        self.features = k.features
        self.prev_jiffy = 0  # __might_resched's rate limit (jiffies64)
        self._atomic = False  # some CPU is in atomic context: the fast paths are suspended
        self.runq: list[Task] = []
        self.timers: list[tuple[int, int, TimerList]] = []  # heap of (expires, seq, timer)
        self._seq = itertools.count()
        self.tasklets: list[Tasklet] = []
        self.tasks: list[Task] = []
        self._pids = itertools.count(2)
        self.init = k.current = Task(pid=1000, comm="insmod")  # the API caller: never created, always exists
        self.init.state = TASK_RUNNING
        self.tasks.append(self.init)
        self.in_softirq_run = False
        self.context_switches = 0
        self.hung_task_timeout_secs = 120
        self.pending_exc: BaseException | None = None
        self.workqueue: list[Callable[[], None]] = []
        self.in_run = False  # the API caller is in k.run() (it only lets the others run)
        #: called as hook(prev, next) at every context switch (kmap_local's per-task slots)
        self.switch_hooks: list[Callable[[Task, Task], None]] = []
        self.waitqueues: weakref.WeakSet[WaitQueueHead] = weakref.WeakSet()  # every queue slept on
        self.kworker: Task | None = None
        #: irq_work queued and not yet run (kernel/irq_work.c), and whether it is running now
        self.irq_work: list[Callable[[], None]] = []
        self._in_irq_work = False
        #: the workqueues alloc_workqueue() made (kernel/workqueue.c), by name
        self.workqueues: dict[str, Workqueue] = {}
        self._unbound_workers = itertools.count(1)
        #: the idle task of each CPU (swapper/N, pid 0): current while a CPU with nothing to run
        #: serves a softirq (RCU callbacks)
        self.idle_tasks = [Task(pid=0, comm=f"swapper/{c}", kthread=True, flags=0x00200042) for c in range(n)]
        self.voluntary_rcu_warned = False
        #: RCU (kernel/rcu/tree.c): grace periods driven by this scheduler's switches and timers
        self.rcu = Rcu(self)
        self.switch_hooks.append(self.rcu.note_context_switch)

    def shutdown(self) -> None:
        """Unwind every task thread (the machine is being thrown away)."""
        for t in self.tasks:
            if t._thread is not None and not t.exited and t is not self.init:
                t.killed = True
                t._go.release()
                t._thread.join(timeout=5)

    # ================================================================ time
    def j64(self) -> int:
        """jiffies_64: the tick count that never wraps (``k.jiffies`` is the wrapping
        unsigned long: 32 bits on i386, where it wraps 5 minutes after boot)."""
        return (1 << 32) - 300 * self.hz + (self.k.clock.ns * self.hz) // 1_000_000_000

    def to_j64(self, expires: int) -> int:
        """A jiffies value as the kernel's time_after() reads it: the nearest jiffies_64."""
        bits = self.k.layout.bits
        delta = (expires - self.k.jiffies) & ((1 << bits) - 1)
        if delta >= 1 << (bits - 1):
            delta -= 1 << bits
        return self.j64() + delta

    # ================================================================ preempt_count
    def _add(self, v: int) -> None:
        self.pc[self.k.cpu] += v
        self._refresh_atomic()

    def _sub(self, v: int, what: str) -> None:
        c = self.k.cpu
        pc = self.pc[c]
        for mask in (PREEMPT_MASK, SOFTIRQ_MASK, HARDIRQ_MASK, NMI_MASK):
            if (pc & mask) < (v & mask):  # each field on its own (6.18 DEBUG_PREEMPT warns)
                raise UsageError(f"{what}: preempt_count {pc:#x} would lose {v & mask:#x} from a field "
                                 f"holding {pc & mask:#x} (unbalanced {what})")
        self.pc[c] = pc - v
        self._refresh_atomic()

    def _set_irqs(self, off: bool) -> None:
        self.irqs_off[self.k.cpu] = off
        self._refresh_atomic()
        if not off and self.irq_work and not self._in_irq_work and not self.pc[self.k.cpu] & NMI_MASK:
            self.run_irq_work()

    def _refresh_atomic(self) -> None:
        """In atomic context -- on any CPU -- or inside an RCU read-side critical section (where
        PREEMPT_RCU may not sleep either), the allocation fast paths step aside, so that every
        allocation passes might_alloc() in the general path; outside them they cost nothing."""
        atomic = any(self.pc) or any(self.irqs_off) or self.k.current.rcu_read_lock_nesting > 0
        if atomic != self._atomic:
            self._atomic = atomic
            if atomic:
                self.k.dispatch.suspend("atomic", ALLOC_ENTRY_POINTS)
            else:
                self.k.dispatch.resume("atomic")

    def in_interrupt(self) -> bool:
        return bool(self.pc[self.k.cpu] & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_MASK))

    def in_atomic(self) -> bool:
        return self.pc[self.k.cpu] != 0

    def in_task(self) -> bool:
        return not self.pc[self.k.cpu] & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET)

    def in_hardirq(self) -> bool:
        return bool(self.pc[self.k.cpu] & HARDIRQ_MASK)

    def in_serving_softirq(self) -> bool:
        return bool(self.pc[self.k.cpu] & SOFTIRQ_OFFSET)

    def in_softirq(self) -> bool:
        return bool(self.pc[self.k.cpu] & SOFTIRQ_MASK)

    def in_nmi(self) -> bool:
        return bool(self.pc[self.k.cpu] & NMI_MASK)

    # ---------------------------------------------------------------- context managers
    @contextlib.contextmanager
    def hardirq(self) -> Iterator[None]:
        """irq_enter() ... irq_exit(): IRQs off, HARDIRQ_OFFSET; pending softirqs run at exit."""
        saved = self.irqs_off[self.k.cpu]
        self._set_irqs(True)
        self._add(HARDIRQ_OFFSET)
        try:
            yield
        finally:
            try:
                self._sub(HARDIRQ_OFFSET, "irq_exit")
            finally:
                self._set_irqs(saved)
        self.irq_exit_softirqs()

    @contextlib.contextmanager
    def softirq(self) -> Iterator[None]:
        """__do_softirq(): SOFTIRQ_OFFSET (serving a softirq), IRQs on."""
        self._add(SOFTIRQ_OFFSET)
        try:
            yield
        finally:
            self._sub(SOFTIRQ_OFFSET, "softirq exit")

    @contextlib.contextmanager
    def nmi(self) -> Iterator[None]:
        """nmi_enter() ... nmi_exit(); irq_work queued in the NMI runs after it (x86 raises a
        self-IPI that is taken as soon as interrupts are on)."""
        self._add(NMI_OFFSET + HARDIRQ_OFFSET)
        try:
            yield
        finally:
            self._sub(NMI_OFFSET + HARDIRQ_OFFSET, "nmi_exit")
        if self.irq_work and not self.irqs_off[self.k.cpu] and not self.pc[self.k.cpu] & NMI_MASK:
            self.run_irq_work()

    @contextlib.contextmanager
    def atomic(self) -> Iterator[None]:
        """preempt_disable() ... preempt_enable()."""
        self._add(PREEMPT_OFFSET)
        try:
            yield
        finally:
            self._sub(PREEMPT_OFFSET, "preempt_enable")

    def local_bh_disable(self) -> None:
        self._add(SOFTIRQ_DISABLE_OFFSET)

    def local_bh_enable(self) -> None:
        self._sub(SOFTIRQ_DISABLE_OFFSET, "local_bh_enable")
        if not self.in_interrupt():
            self.run_softirqs()

    # ---------------------------------------------------------------- spinlocks, mutexes
    def spin_lock(self, lock: SpinLock, *, irq: bool = False, bh: bool = False) -> None:
        if not isinstance(lock, SpinLock):
            raise UsageError(f"spin_lock: {lock!r} is not a spinlock (make one with k.spinlock())")
        cur = self.k.current
        if lock.owner is None:
            if irq:
                self._set_irqs(True)
            if bh:
                self._add(SOFTIRQ_DISABLE_OFFSET)
            self._add(PREEMPT_OFFSET)
        else:
            # kernel/locking/spinlock_debug.c: spin_bug(lock, "recursion") -- on one CPU
            # a held spinlock can never be released while we spin: the machine is stuck.
            o = lock.owner
            what = "recursion" if o is cur else "lockup suspected"
            self.k.report.bug([
                f"BUG: spinlock {what} on CPU#{self.k.cpu}, {cur.comm}/{cur.pid}",
                f" lock: {lock.name}+0x0/0x0, .magic: {lock.magic:08x}, .owner: {o.comm}/{o.pid}, "
                f".owner_cpu: {lock.owner_cpu}",
            ] + self.k.report.dump_stack_lines(), kind="spinlock_" + what.split()[0])
            return
        lock.owner = cur
        lock.owner_cpu = self.k.cpu

    def spin_unlock(self, lock: SpinLock, *, irq: bool = False, bh: bool = False) -> None:
        if lock.owner is None:
            cur = self.k.current
            self.k.report.bug([
                f"BUG: spinlock already unlocked on CPU#{self.k.cpu}, {cur.comm}/{cur.pid}",
                f" lock: {lock.name}+0x0/0x0, .magic: {lock.magic:08x}, .owner: <none>/-1, .owner_cpu: -1",
            ] + self.k.report.dump_stack_lines(), kind="spinlock_unlocked")
            return
        lock.owner = None
        lock.owner_cpu = -1
        self._sub(PREEMPT_OFFSET, "spin_unlock")
        if bh:
            self.local_bh_enable()
        if irq:
            self._set_irqs(False)

    def mutex_lock(self, m: Mutex) -> None:
        """mutex_lock(): might_sleep(); sleeps (TASK_UNINTERRUPTIBLE) while another task owns it."""
        self.might_sleep_at("kernel/locking/mutex.c", 280)
        cur = self.k.current
        if m.owner is cur:
            self.k.report.bug([f"DEBUG_LOCKS_WARN_ON(__mutex_owner(lock) == current): {cur.comm}/{cur.pid} "
                               f"takes {m.name} twice: AA deadlock"] + self.k.report.dump_stack_lines(),
                              kind="mutex_deadlock")
            return
        while m.owner is not None:
            self.wait_on(m.wait, TASK_UNINTERRUPTIBLE, exclusive=True)
        m.owner = cur

    def mutex_unlock(self, m: Mutex) -> None:
        if m.owner is not self.k.current:
            self.k.report.bug([f"DEBUG_LOCKS_WARN_ON(__owner_task(owner) != current): mutex {m.name} "
                               f"unlocked by {self.k.current.comm}/{self.k.current.pid}, owner "
                               f"{m.owner.comm if m.owner else '<none>'}"] + self.k.report.dump_stack_lines(),
                              kind="mutex_owner")
            return
        m.owner = None
        self.wake_up(m.wait, nr_exclusive=1)

    # ================================================================ the API (kernel names)
    def preempt_count(self) -> int:
        """preempt_count(): this CPU's count (see kmemsim.sched for the fields)."""
        return self.pc[self.k.cpu]

    def irqs_disabled(self) -> bool:
        """irqs_disabled(): this CPU's interrupt flag is off."""
        return self.irqs_off[self.k.cpu]

    def preempt_disable(self) -> None:
        """preempt_disable()."""
        self._add(1)

    def preempt_enable(self) -> None:
        """preempt_enable()."""
        self._sub(1, "preempt_enable")

    def local_irq_disable(self) -> None:
        """local_irq_disable()."""
        self._set_irqs(True)

    def local_irq_enable(self) -> None:
        """local_irq_enable()."""
        self._set_irqs(False)

    def local_irq_save(self) -> bool:
        """local_irq_save(flags): returns the flags (were IRQs off?) for local_irq_restore."""
        flags = self.irqs_off[self.k.cpu]
        self._set_irqs(True)
        return flags

    def local_irq_restore(self, flags: bool) -> None:
        """local_irq_restore(flags)."""
        self._set_irqs(bool(flags))

    def spinlock(self, name: str = "lock") -> SpinLock:
        """DEFINE_SPINLOCK(name) / spin_lock_init(): a new unlocked kmemsim.sched.SpinLock."""
        return SpinLock(name)

    def spin_lock_irq(self, lock: SpinLock) -> None:
        """spin_lock_irq(lock)."""
        self.spin_lock(lock, irq=True)

    def spin_unlock_irq(self, lock: SpinLock) -> None:
        """spin_unlock_irq(lock)."""
        self.spin_unlock(lock, irq=True)

    def spin_lock_irqsave(self, lock: SpinLock) -> bool:
        """flags = spin_lock_irqsave(lock) (the macro assigns flags; here it is returned)."""
        flags = self.irqs_off[self.k.cpu]
        self.spin_lock(lock, irq=True)
        return flags

    def spin_unlock_irqrestore(self, lock: SpinLock, flags: bool) -> None:
        """spin_unlock_irqrestore(lock, flags)."""
        self.spin_unlock(lock)
        self._set_irqs(bool(flags))

    def spin_lock_bh(self, lock: SpinLock) -> None:
        """spin_lock_bh(lock)."""
        self.spin_lock(lock, bh=True)

    def spin_unlock_bh(self, lock: SpinLock) -> None:
        """spin_unlock_bh(lock)."""
        self.spin_unlock(lock, bh=True)

    def mutex(self, name: str = "mutex") -> Mutex:
        """DEFINE_MUTEX(name) / mutex_init(): a new kmemsim.sched.Mutex."""
        return Mutex(name)

    def might_sleep(self) -> None:
        """might_sleep(): the "sleeping function called from invalid context" report when
        the caller may not sleep (CONFIG_DEBUG_ATOMIC_SLEEP, the ``debug_atomic_sleep`` tunable)."""
        f = user_frames(1)
        loc = f[0][1].strip("[]") if f else "kmemsim:0"
        file, _, line = loc.rpartition(":")
        self.might_sleep_at(file or loc, int(line) if line.isdigit() else 0)

    def schedule_timeout_uninterruptible(self, timeout: int) -> int:
        """schedule_timeout_uninterruptible(jiffies): the jiffies left."""
        self.set_current_state(2)
        return self.schedule_timeout(timeout)

    def schedule_timeout_interruptible(self, timeout: int) -> int:
        """schedule_timeout_interruptible(jiffies)."""
        self.set_current_state(1)
        return self.schedule_timeout(timeout, 1)

    def mdelay(self, msecs: int) -> None:
        """mdelay(ms): busy-wait (allowed in atomic context): the clock moves, nothing else runs."""
        if isinstance(msecs, bool) or not isinstance(msecs, int) or msecs < 0:
            raise UsageError(f"mdelay: {msecs!r} must be a non-negative int (milliseconds)")
        self.k.clock.advance(msecs * 1_000_000)

    def udelay(self, usecs: int) -> None:
        """udelay(us): busy-wait."""
        if isinstance(usecs, bool) or not isinstance(usecs, int) or usecs < 0:
            raise UsageError(f"udelay: {usecs!r} must be a non-negative int (microseconds)")
        self.k.clock.advance(usecs * 1000)

    def msecs_to_jiffies(self, msecs: int) -> int:
        """msecs_to_jiffies(ms), rounded up."""
        return -(-msecs * self.k.profile.hz // 1000)

    @property
    def HZ(self) -> int:  # noqa: N802 - kernel name
        """CONFIG_HZ of the profile."""
        return self.k.profile.hz

    def kthread_run(self, fn: Callable[..., Any], name: str, *args: Any) -> Task:
        """kthread_run(fn, data, name): create and wake a kernel thread running fn(*args).
        It runs when the caller sleeps, calls ``k.schedule()``/``k.cond_resched()``, or ``k.run()``."""
        t = self.kthread_create(fn, name, *args)
        self.wake_up_process(t)
        return t

    def kthread_should_stop(self) -> bool:
        """kthread_should_stop(): kthread_stop() was called for the current thread."""
        return self.k.current.should_stop

    def waitqueue(self, name: str = "wq") -> WaitQueueHead:
        """DECLARE_WAIT_QUEUE_HEAD(name) / init_waitqueue_head(): a kmemsim.sched.WaitQueueHead."""
        return WaitQueueHead(name)

    def wait_event_timeout(self, wq: WaitQueueHead, condition: Callable[[], bool], timeout: int) -> int:
        """wait_event_timeout(wq, condition, jiffies): 0 if the time ran out, else the jiffies left (>= 1)."""
        return self.wait_event(wq, condition, timeout)

    def prepare_to_wait_exclusive(self, wq: WaitQueueHead, state: int) -> None:
        """prepare_to_wait_exclusive(wq, &wait, state)."""
        self.prepare_to_wait(wq, state, exclusive=True)

    def timer_setup(self, function: Callable[[TimerList], object], data: Any = None) -> TimerList:
        """timer_setup(timer, callback, 0): a kmemsim.sched.TimerList; callback(timer) runs in
        softirq context when it expires (``timer.data`` is yours)."""
        if not callable(function):
            raise UsageError(f"timer_setup: {function!r} is not callable")
        return TimerList(function=function, data=data)

    def add_timer(self, timer: TimerList) -> None:
        """add_timer(timer): arm at ``timer.expires``."""
        self.mod_timer(timer, timer.expires)

    def tasklet_setup(self, func: Callable[[Any], None], data: Any = None) -> Tasklet:
        """tasklet_init(t, func, data): a kmemsim.sched.Tasklet running func(data) in softirq context."""
        if not callable(func):
            raise UsageError(f"tasklet_setup: {func!r} is not callable")
        return Tasklet(func=func, data=data)

    def schedule_work(self, fn: Callable[[], None]) -> None:
        """schedule_work(work): fn() runs later in a kworker (process context, may sleep)."""
        if not callable(fn):
            raise UsageError(f"schedule_work: {fn!r} is not callable")
        self.queue_work(fn)

    # ================================================================ might_sleep
    def might_alloc(self, gfp: int, where: str = "page_alloc") -> None:
        """might_alloc(gfp) (include/linux/sched/mm.h): might_sleep_if(gfpflags_allow_blocking(gfp)),
        reported at the kernel's own site for ``where`` (k.sites: 2.6's checks are in the
        allocators, 6.x's in sched/mm.h; 2.6.24's SLUB had none)."""
        if gfp & self.gfp_bits.direct_reclaim:
            c = self.k.cpu
            if self.pc[c] or self.irqs_off[c] or self.k.current.rcu_read_lock_nesting:
                site = self.k.sites.get(where)
                if site is not None:
                    self.might_resched_bug(site[0], site[1], 0)

    def might_sleep_at(self, file: str = "include/linux/sched/mm.h", line: int = 321) -> None:
        """__might_sleep(file, line): the report when the caller may not sleep."""
        c = self.k.cpu
        if not (self.pc[c] or self.irqs_off[c] or self.k.current.rcu_read_lock_nesting):
            return
        self.might_resched_bug(file, line, 0)

    def might_resched_bug(self, file: str, line: int, offsets: int) -> None:
        """__might_resched(): resched_offsets_ok() counts preempt_count plus the RCU read-side
        nesting (PREEMPT_RCU: rcu_preempt_depth() << MIGHT_RESCHED_RCU_SHIFT, 8)."""
        k = self.k
        c = k.cpu
        depth = k.current.rcu_read_lock_nesting
        if ((self.pc[c] + (depth << 8) == offsets and not self.irqs_off[c])
                or not k.tunables.get("debug_atomic_sleep", True)):
            return
        j = self.j64()
        if self.prev_jiffy and j < self.prev_jiffy + self.hz:  # time_before(jiffies, prev_jiffy + HZ)
            return
        self.prev_jiffy = j
        cur = k.current
        if not self.features.might_resched:
            # 2.6.24 kernel/sched.c __might_sleep() (2.6.11: "Debug: " instead of "BUG: ")
            prefix = "BUG" if self.features.sched_bug_prefix else "Debug"
            lines = [f"{prefix}: sleeping function called from invalid context at {file}:{line}",
                     f"in_atomic():{int(self.pc[c] != 0)}, irqs_disabled():{int(self.irqs_off[c])}"]
        else:
            lines = [
                f"BUG: sleeping function called from invalid context at {file}:{line}",
                f"in_atomic(): {int(self.pc[c] != 0)}, irqs_disabled(): {int(self.irqs_off[c])}, non_block: 0, "
                f"pid: {cur.pid}, name: {cur.comm}",
                f"preempt_count: {self.pc[c]:x}, expected: {offsets & 0xFF:x}",
                f"RCU nest depth: {depth}, expected: {offsets >> 8}",
            ]
        lines += k.report.dump_stack_lines()
        k.taint.add("W")
        k.report.bug(lines, kind="sleeping_in_atomic")

    def cond_resched(self) -> None:
        """cond_resched(): a voluntary preemption point: let runnable tasks run first."""
        self.might_sleep_at("kernel/sched/core.c", 7468)
        if self.runq and not self.pc[self.k.cpu] and self.k.current.work is None:
            self._note_schedule(preempt=True)  # __cond_resched(): preempt_schedule_common()
            self._yield()  # (a thread-less work item runs to completion: no preemption point)

    # ================================================================ tasks
    def kthread_create(self, fn: Callable[..., Any], name: str, *args: Any) -> Task:
        if not callable(fn):
            raise UsageError(f"kthread_create: {fn!r} is not callable")
        if not isinstance(name, str) or not name:
            raise UsageError(f"kthread_create: name {name!r} must be a non-empty string")
        t = Task(pid=next(self._pids), comm=name[:15], fn=fn, args=args, cpu=self.k.cpu, kthread=True,
                 state=TASK_UNINTERRUPTIBLE, flags=0x00208040)  # PF_KTHREAD | PF_NOFREEZE | PF_FORKNOEXEC
        self.tasks.append(t)
        return t

    def kthread_work_task(self, name: str, work: Callable[[], None], pid: int | None = None) -> Task:
        """A thread-less kernel thread (kswapd, a kworker): ``work()`` runs to completion
        each time the task is woken and picked, then it sleeps again."""
        t = Task(pid=pid if pid is not None else next(self._pids), comm=name[:15], work=work, kthread=True,
                 state=TASK_INTERRUPTIBLE, cpu=self.k.cpu, flags=0x00208040)
        self.tasks.append(t)
        return t

    def wake_up_process(self, t: Task) -> bool:
        """try_to_wake_up(): a sleeping task becomes runnable (queued at the tail)."""
        if t.exited:
            return False
        t.woken = True
        if t.state == TASK_RUNNING:
            return False
        t.state = TASK_RUNNING
        if t is not self.k.current and t not in self.runq:
            self.runq.append(t)
        return True

    def kthread_stop(self, t: Task) -> Any:
        """kthread_stop(): set should_stop, wake the thread, wait for it to exit; its return value."""
        if not t.kthread or t.work is not None:
            raise UsageError(f"kthread_stop: {t!r} is not a kthread made by kthread_run")
        t.should_stop = True
        self.wake_up_process(t)
        while not t.exited:
            self.prepare_to_wait(t.exit_wq, TASK_UNINTERRUPTIBLE)
            if t.exited:
                break
            self.schedule()
        self.finish_wait(t.exit_wq)
        if t.exc is not None:
            exc, t.exc = t.exc, None
            raise exc
        return t.result

    def _thread_body(self, t: Task) -> None:
        t._go.acquire()
        if t.killed:
            return
        self._switched_in(t)
        try:
            if t.should_stop:
                t.result = -4  # kthread(): stopped before it ran -- threadfn is skipped, -EINTR
            else:
                t.result = t.fn(*t.args)  # type: ignore[misc]
        except TaskExit:
            return
        except BaseException as e:  # noqa: BLE001 - raised to the caller at k.run() / kthread_stop()
            t.exc = e
        t.exited = True
        t.state = TASK_DEAD
        self.wake_up_all(t.exit_wq)  # kthread_stop() waits here
        try:
            nxt = self._pick_next(t)
        except BaseException as e:  # noqa: BLE001 - a timer, tasklet or work item raised
            self.pending_exc = self.pending_exc or e
            nxt = self.init
            nxt.state = TASK_RUNNING
            if nxt in self.runq:
                self.runq.remove(nxt)
        self._switch_to_from_dead(nxt)

    # ---------------------------------------------------------------- the switch
    def schedule(self) -> None:
        """schedule(): the current task gives up the CPU; it runs again when it is
        TASK_RUNNING and picked.  In atomic context: "BUG: scheduling while atomic"."""
        k = self.k
        if k.current.work is not None:
            k.current.state = TASK_RUNNING
            raise UsageError(f"{k.current.comm}: a work item (kswapd's or schedule_work's) may not sleep in "
                             "the model: run the sleeping part in a kthread (k.kthread_run)")
        c = k.cpu
        self._note_schedule(preempt=False)
        if self.pc[c]:
            cur = k.current
            if self.features.sched_bug_prefix:  # __schedule_bug()
                lines = [f"BUG: scheduling while atomic: {cur.comm}/{cur.pid}/0x{self.pc[c]:08x}"]
            else:  # 2.6.11 schedule()
                lines = [f"scheduling while atomic: {cur.comm}/0x{self.pc[c]:08x}/{cur.pid}"]
            cur.atomic_sleep_reported = True
            k.report.bug(lines + k.report.dump_stack_lines(), kind="scheduling_while_atomic")
        self._yield()

    def _note_schedule(self, preempt: bool) -> None:
        """__schedule() calls rcu_note_context_switch(preempt) first, whether or not another task
        is picked: a voluntary sleep inside an RCU read-side section WARNs once (PREEMPT_RCU:
        WARN_ONCE(!preempt && rcu_preempt_depth() > 0, ...) in kernel/rcu/tree_plugin.h; the line
        is 6.11's, 6.18's was not checked), the task is queued as a blocked reader, and the CPU
        has passed a quiescent state."""
        cur = self.k.current
        if cur.rcu_read_lock_nesting and not preempt and not self.voluntary_rcu_warned:
            self.voluntary_rcu_warned = True
            self.k.report.warn("kernel/rcu/tree_plugin.h:331 rcu_note_context_switch+0x0/0x0",
                               "Voluntary context switch within RCU read-side critical section!")
        self.rcu.note_context_switch(cur, cur)

    def _yield(self) -> None:
        cur = self.k.current
        if cur.state == TASK_RUNNING:  # a voluntary yield: to the tail, behind the runnable tasks
            cur.woken = False
            if not self.runq:
                return
            self.runq.append(cur)
        nxt = self._pick_next(cur)
        if nxt is cur:
            return
        self._switch(cur, nxt)

    def _pick_next(self, cur: Task) -> Task:
        """The next task to run: the run queue's head; when it is empty, thread-less work,
        then the clock jumps to the next timer; nothing left: the hung-task report."""
        while True:
            if cur.state == TASK_RUNNING and not cur.exited and cur.woken:
                # woken while it was preparing to sleep: keeps running (no lost wake-up)
                cur.woken = False
                if cur in self.runq:
                    self.runq.remove(cur)
                return cur
            while self.runq:
                t = self.runq.pop(0)
                if t.exited:
                    continue
                if t.work is not None:
                    self._run_work(t)
                    continue
                t.woken = False
                return t
            if cur.state == TASK_RUNNING and not cur.exited:
                return cur
            if self.run_softirqs():
                continue
            if self._wakeup_pending():
                self._advance_to_next_timer()
                continue
            return self._hung(cur)

    def _run_work(self, t: Task) -> None:
        k = self.k
        prev, prev_cpu = k.current, k.cpu
        for hook in self.switch_hooks:
            hook(prev, t)
        saved = (self.pc[t.cpu], self.irqs_off[t.cpu], self.pc[prev_cpu], self.irqs_off[prev_cpu])
        k.current = t
        k.cpu = t.cpu
        self.pc[t.cpu], self.irqs_off[t.cpu] = 0, False  # a kernel thread starts in process context
        self._refresh_atomic()
        try:
            t.work()  # type: ignore[misc]
        finally:
            for hook in self.switch_hooks:
                hook(t, prev)
            self.pc[t.cpu], self.irqs_off[t.cpu], self.pc[prev_cpu], self.irqs_off[prev_cpu] = saved
            self._refresh_atomic()
            k.current = prev
            k.cpu = prev_cpu
            t.state = TASK_INTERRUPTIBLE
            t.woken = False
            t.last_switch = k.jiffies
            self.context_switches += 2

    def _switch(self, cur: Task, nxt: Task) -> None:
        k = self.k
        self.context_switches += 1
        cur.saved_pc = self.pc[k.cpu]
        cur.saved_irqs = self.irqs_off[k.cpu]
        cur.last_switch = k.jiffies
        for hook in self.switch_hooks:
            hook(cur, nxt)
        k.current = nxt
        k.cpu = nxt.cpu
        self._load_ctx(nxt)
        if nxt._thread is None and nxt is not self.init:
            th = threading.Thread(target=self._thread_body, args=(nxt,), name=f"kmemsim-{nxt.comm}", daemon=True)
            nxt._thread = th
            th.start()
        nxt._go.release()
        cur._go.acquire()
        self._switched_in(cur)
        if cur.killed:
            raise TaskExit()
        if cur is self.init and self.pending_exc is not None:
            exc, self.pending_exc = self.pending_exc, None
            cur.state = TASK_RUNNING  # the caller gets control back
            raise exc

    def _load_ctx(self, nxt: Task) -> None:
        """x86 switch_to() restores the next task's saved preempt_count; its interrupt
        state comes back with it (finish_task_switch)."""
        self.pc[nxt.cpu] = nxt.saved_pc
        self.irqs_off[nxt.cpu] = nxt.saved_irqs
        self._refresh_atomic()

    def _switch_to_from_dead(self, nxt: Task) -> None:
        k = self.k
        self.context_switches += 1
        for hook in self.switch_hooks:
            hook(k.current, nxt)
        k.current = nxt
        k.cpu = nxt.cpu
        self._load_ctx(nxt)
        if nxt._thread is None and nxt is not self.init:
            th = threading.Thread(target=self._thread_body, args=(nxt,), name=f"kmemsim-{nxt.comm}", daemon=True)
            nxt._thread = th
            th.start()
        nxt._go.release()

    def _switched_in(self, t: Task) -> None:
        self.k.current = t
        self.k.cpu = t.cpu
        t.last_switch = self.k.jiffies

    def _raise_task_exceptions(self) -> None:
        if self.pending_exc is not None:
            exc, self.pending_exc = self.pending_exc, None
            raise exc
        for t in self.tasks:
            if t.exc is not None and t.exited and t.kthread:
                exc, t.exc = t.exc, None
                raise exc

    def _hung(self, cur: Task) -> Task:
        """Every task sleeps and nothing can wake one: khungtaskd's report (kernel/hung_task.c
        check_hung_task / sched_show_task), then KernelBug in the blocked caller."""
        k = self.k
        timeout = self.hung_task_timeout_secs
        k.clock.advance(timeout * 1_000_000_000)
        blocked = [t for t in self.tasks if not t.exited and t.state & TASK_UNINTERRUPTIBLE
                   and not t.state & TASK_NOLOAD and t.work is None]
        if not blocked:
            blocked = [cur]
        lines: list[str] = []
        secs = timeout + 2  # the check runs every timeout; the first report says a little more
        features = self.features
        for t in blocked:
            if not features.sched_show_task_labels:
                lines += [f"INFO: task {t.comm}:{t.pid} blocked for more than {timeout} seconds.",
                          '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
                          f"{t.comm:<15} D 00000000     0 {t.pid:5d}      1"]
            else:
                tgid = f"tgid:{t.pid:<5} " if features.sched_show_task_tgid else ""
                lines += [f"INFO: task {t.comm}:{t.pid} blocked for more than {secs} seconds.",
                          f"      {k.report.taint_str()} {k.profile.release} #1",
                          '"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.',
                          f"task:{t.comm:<15} state:D stack:0     pid:{t.pid:<5} {tgid}ppid:2      "
                          f"flags:0x{t.flags:08x}",
                          "Call Trace:"]
                if features.dumpstack_6x:
                    lines.append(" <TASK>")
                lines += [" __schedule+0x0/0x0", " schedule+0x0/0x0"]
                if t is cur:
                    lines += [f" {fn} {loc}" for fn, loc in user_frames()]
                if features.dumpstack_6x:
                    lines.append(" </TASK>")
        k.printk("\n".join(lines), KERN_ERR)
        exc: BaseException = KernelBug("hung_task", "\n".join(lines))
        for t in self.tasks:
            if t.exc is not None and t.exited:  # the kthread that died is why nothing wakes us
                exc, t.exc = t.exc, None
                break
        init = self.init
        if cur is init:
            # the machine is stuck for good: undo the sleep so the caller can go on with Python
            cur.state = TASK_RUNNING
            raise exc
        # a kthread is the last to sleep: the API caller (asleep too) gets the report
        self.pending_exc = exc
        init.state = TASK_RUNNING
        init.woken = False
        return init

    def others_can_progress(self) -> bool:
        """Could anything still happen without the current task: a runnable task, a pending
        timer, a scheduled tasklet?"""
        runq = [t for t in self.runq if not (t is self.init and self.in_run)]  # k.run() only lets others run
        return bool(runq or self.tasklets or self._wakeup_pending())

    def stuck(self) -> None:
        """The current task waits (in a loop with a timeout) for something nothing can do
        any more: report it as khungtaskd would, instead of looping forever."""
        cur = self.k.current
        cur.state = TASK_UNINTERRUPTIBLE
        nxt = self._hung(cur)  # raises in the API caller
        self._switch(cur, nxt)  # a kthread: asleep for good; the API caller gets the report

    # ================================================================ sleeping and waking
    def set_current_state(self, state: int) -> None:
        cur = self.k.current
        cur.state = state
        cur.woken = False

    def schedule_timeout(self, timeout: int, state: int = TASK_UNINTERRUPTIBLE) -> int:
        """schedule_timeout(jiffies): sleep until woken or the timeout; the jiffies left."""
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
            raise UsageError(f"schedule_timeout: timeout {timeout!r} must be a non-negative int (jiffies)")
        cur = self.k.current
        if cur.state == TASK_RUNNING and not cur.woken:
            cur.state = state
        if timeout >= MAX_SCHEDULE_TIMEOUT:
            self.schedule()
            return MAX_SCHEDULE_TIMEOUT
        expire = self.j64() + timeout
        timer = TimerList(function=lambda _t: self.wake_up_process(cur))
        self._arm(timer, expire & ((1 << self.k.layout.bits) - 1), expire)
        try:
            self.schedule()
        finally:
            self.del_timer(timer)
        return max(expire - self.j64(), 0)

    def msleep(self, msecs: int) -> None:
        """msleep(): schedule_timeout_uninterruptible(msecs_to_jiffies(msecs) + 1), looped."""
        if isinstance(msecs, bool) or not isinstance(msecs, int) or msecs < 0:
            raise UsageError(f"msleep: {msecs!r} must be a non-negative int (milliseconds)")
        self.might_sleep_at("kernel/time/sleep_timeout.c", 313)
        timeout = -(-msecs * self.hz // 1000) + 1
        while timeout:
            timeout = self.schedule_timeout(timeout, TASK_UNINTERRUPTIBLE)

    def prepare_to_wait(self, wq: WaitQueueHead, state: int, exclusive: bool = False) -> None:
        cur = self.k.current
        self.waitqueues.add(wq)
        if not any(t is cur for t, _ in wq.waiters):
            if exclusive:
                wq.waiters.append((cur, True))
            else:
                i = next((i for i, (_, ex) in enumerate(wq.waiters) if ex), len(wq.waiters))
                wq.waiters.insert(i, (cur, False))
        cur.state = state
        cur.woken = False

    def finish_wait(self, wq: WaitQueueHead) -> None:
        cur = self.k.current
        cur.state = TASK_RUNNING
        cur.woken = False
        wq.waiters[:] = [(t, ex) for t, ex in wq.waiters if t is not cur]

    def wait_on(self, wq: WaitQueueHead, state: int = TASK_UNINTERRUPTIBLE, exclusive: bool = False,
                timeout: int | None = None) -> int:
        """One prepare_to_wait / schedule(_timeout) / finish_wait round."""
        self.prepare_to_wait(wq, state, exclusive)
        try:
            if timeout is not None:
                return self.schedule_timeout(timeout, state)
            self.schedule()
            return 0
        finally:
            self.finish_wait(wq)

    def wait_event(self, wq: WaitQueueHead, condition: Callable[[], bool], timeout: int | None = None) -> int:
        """wait_event(_timeout)(wq, condition): sleep until condition() holds.  With a timeout:
        the jiffies left (at least 1) when it held, 0 when the time ran out."""
        self.might_sleep_at("include/linux/wait.h", 1)
        if condition():
            return max(timeout or 1, 1)
        left = timeout
        try:
            while True:
                self.prepare_to_wait(wq, TASK_UNINTERRUPTIBLE)
                if condition():
                    break
                if left is None:
                    self.schedule()
                else:
                    left = self.schedule_timeout(left, TASK_UNINTERRUPTIBLE)
                if condition():
                    break
                if left == 0:
                    return 0
        finally:
            self.finish_wait(wq)
        return max(left or 1, 1)

    def wake_up(self, wq: WaitQueueHead, nr_exclusive: int = 1) -> int:
        """__wake_up(): every non-exclusive waiter and up to nr_exclusive exclusive ones."""
        woken = 0
        for entry in list(wq.waiters):
            t, ex = entry
            if not self.wake_up_process(t):
                continue  # already running: try_to_wake_up() fails, the entry stays
            woken += 1
            wq.waiters.remove(entry)  # autoremove_wake_function()
            if ex:
                nr_exclusive -= 1
                if nr_exclusive == 0:
                    break
        return woken

    def wake_up_all(self, wq: WaitQueueHead) -> int:
        return self.wake_up(wq, nr_exclusive=1 << 30)

    # ================================================================ the system workqueue
    def queue_work(self, fn: Callable[[], None]) -> None:
        """schedule_work(): queue fn for the kworker (a process-context task: it may sleep),
        which runs when the current task sleeps or at ``k.run()``."""
        self.workqueue.append(fn)
        if self.kworker is None:
            self.kworker = self.kthread_work_task(f"kworker/{self.k.cpu}:1", self._run_workqueue)
        self.wake_up_process(self.kworker)

    def _run_workqueue(self) -> None:
        while self.workqueue:
            self.workqueue.pop(0)()

    # ================================================================ irq_work (kernel/irq_work.c)
    def irq_work_queue(self, fn: Callable[[], None]) -> None:
        """irq_work_queue(): ``fn`` runs in hardirq context by the self-IPI, at once when interrupts
        are on, else when they come back on (local_irq_enable, the end of an NMI ...)."""
        self.irq_work.append(fn)
        c = self.k.cpu
        if not self.irqs_off[c] and not self.pc[c] & NMI_MASK and not self._in_irq_work:
            self.run_irq_work()

    def run_irq_work(self) -> None:
        """irq_work_run(): the queued irq_work in an interrupt (the IPI)."""
        if self._in_irq_work:
            return
        self._in_irq_work = True
        try:
            with self.hardirq():
                while self.irq_work:
                    self.irq_work.pop(0)()
        finally:
            self._in_irq_work = False

    # ================================================================ workqueues (kernel/workqueue.c)
    def alloc_workqueue(self, name: str, flags: int = 0) -> Workqueue:
        """alloc_workqueue(name, flags, max_active): a workqueue whose works run in its own worker
        kthread (WQ_UNBOUND, WQ_MEM_RECLAIM, WQ_HIGHPRI ... are kept; one worker, in order)."""
        if not isinstance(name, str) or not name:
            raise UsageError(f"alloc_workqueue: name {name!r} must be a non-empty string")
        if isinstance(flags, bool) or not isinstance(flags, int) or flags & ~_WQ_KNOWN:
            raise UsageError(f"alloc_workqueue({name!r}): flags {flags!r} are not WQ_* flags")
        if name in self.workqueues:
            raise UsageError(f"alloc_workqueue: a workqueue {name!r} exists (destroy_workqueue it first)")
        wq = Workqueue(name, flags)
        self.workqueues[name] = wq
        return wq

    def init_work(self, func: Callable[[WorkStruct], object], data: Any = None) -> WorkStruct:
        """INIT_WORK(work, func): a kmemsim.sched.WorkStruct; ``func(work)`` runs when it is queued."""
        if not callable(func):
            raise UsageError(f"INIT_WORK: {func!r} is not callable")
        return WorkStruct(func, data)

    def init_delayed_work(self, func: Callable[[WorkStruct], object], data: Any = None) -> DelayedWork:
        """INIT_DELAYED_WORK(dwork, func)."""
        return DelayedWork(self.init_work(func, data))

    def _check_wq(self, wq: object, what: str) -> Workqueue:
        if not isinstance(wq, Workqueue):
            raise UsageError(f"{what}: {wq!r} is not a workqueue made by alloc_workqueue()")
        if wq.destroyed:
            raise UsageError(f"{what}: workqueue {wq.name} was destroyed")
        return wq

    def _check_work(self, work: object, what: str) -> WorkStruct:
        if not isinstance(work, WorkStruct):
            raise UsageError(f"{what}: {work!r} is not a work made by k.init_work()")
        return work

    def _insert_work(self, wq: Workqueue, work: WorkStruct) -> None:
        """__queue_work(): onto the list, the worker woken (made at the first work)."""
        if wq.dying:
            # __queue_work(): WARN_ONCE on a dying workqueue, and the work is dropped
            self.k.report.warn_once(f"queue_work {wq.name}", "__queue_work+0x0/0x0")
            work.pending = False
            return
        work.wq = wq
        wq.items.append(work)
        if wq.worker is None:
            name = (f"kworker/u{2 * len(self.k.cpus)}:{next(self._unbound_workers)}" if wq.flags & WQ_UNBOUND
                    else f"kworker/{self.k.cpu}:{next(self._unbound_workers)}H")
            wq.worker = self.kthread_create(self._worker_thread, name, wq)
        self.wake_up_process(wq.worker)

    def queue_work_on_wq(self, wq: Workqueue, work: WorkStruct) -> bool:
        """queue_work(wq, work): False if it was already pending."""
        self._check_wq(wq, "queue_work")
        self._check_work(work, "queue_work")
        if work.pending:
            return False
        work.pending = True
        self._insert_work(wq, work)
        return True

    def _worker_thread(self, wq: Workqueue) -> int:
        """worker_thread(): take the works in order; sleep idle (TASK_IDLE) while there is none."""
        while True:
            while not wq.items and not wq.dying:
                self.prepare_to_wait(wq.more, TASK_IDLE)
                if wq.items or wq.dying:
                    break
                self.schedule()
            self.finish_wait(wq.more)
            if not wq.items:
                return 0
            work = wq.items.pop(0)
            work.pending = False
            work.running = True
            wq.current = work
            try:
                work.func(work)
            finally:
                work.running = False
                wq.current = None
                self.wake_up_all(work.done)

    def flush_work(self, work: WorkStruct) -> bool:
        """flush_work(work): wait until it is neither pending nor running; True if it waited."""
        self._check_work(work, "flush_work")
        self.might_sleep_at("kernel/sched/completion.c", 116)  # wait_for_completion(&barr.done)
        if work.wq is not None and work.running and self.k.current is work.wq.worker:
            raise UsageError(f"flush_work: {work.func!r} flushes itself from its own worker: a deadlock")
        if not (work.pending or work.running):
            return False
        while work.pending or work.running:
            self.wait_on(work.done, TASK_UNINTERRUPTIBLE)
        return True

    def flush_workqueue(self, wq: Workqueue) -> None:
        """flush_workqueue(wq): wait for every work queued so far."""
        self._check_wq(wq, "flush_workqueue")
        last = wq.items[-1] if wq.items else wq.current
        if last is not None:
            self.flush_work(last)  # the works run in order: the last one done, all are

    def destroy_workqueue(self, wq: Workqueue) -> None:
        """destroy_workqueue(wq): drain it (drain_workqueue()), then its worker exits."""
        self._check_wq(wq, "destroy_workqueue")
        while wq.items or wq.current is not None:
            self.flush_workqueue(wq)
        wq.dying = True
        if wq.worker is not None:
            self.wake_up_all(wq.more)
            self.kthread_stop(wq.worker)
        wq.destroyed = True
        del self.workqueues[wq.name]

    def queue_delayed_work(self, wq: Workqueue, dwork: DelayedWork, delay: int) -> bool:
        """queue_delayed_work(wq, dwork, delay): the work is queued ``delay`` jiffies from now
        (at once for 0); False if it was pending."""
        self._check_wq(wq, "queue_delayed_work")
        work = dwork.work
        if work.pending:
            return False
        work.pending = True
        self._arm_delayed(wq, dwork, delay)
        return True

    def _arm_delayed(self, wq: Workqueue, dwork: DelayedWork, delay: int) -> None:
        if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
            raise UsageError(f"queue_delayed_work: delay {delay!r} must be a non-negative int (jiffies)")
        work = dwork.work
        work.wq = wq
        if delay == 0:
            self._insert_work(wq, work)
            return
        if dwork.timer is None:
            dwork.timer = TimerList(function=lambda t: self._insert_work(t.data[0], t.data[1].work),
                                    data=(wq, dwork))
        dwork.timer.data = (wq, dwork)
        self.mod_timer(dwork.timer, (self.k.jiffies + delay) & ((1 << self.k.layout.bits) - 1))

    def mod_delayed_work(self, wq: Workqueue, dwork: DelayedWork, delay: int) -> bool:
        """mod_delayed_work(): (re)arm to ``delay`` from now, whether pending or not; True if it was."""
        self._check_wq(wq, "mod_delayed_work")
        work = dwork.work
        was = work.pending
        if dwork.timer is not None:
            self.del_timer(dwork.timer)
        if work in wq.items:
            wq.items.remove(work)
        work.pending = True
        self._arm_delayed(wq, dwork, delay)
        return was

    def delayed_work_pending(self, dwork: DelayedWork) -> bool:
        """delayed_work_pending(dwork)."""
        return dwork.work.pending

    def delayed_work_expires(self, dwork: DelayedWork) -> int | None:
        """The jiffies its timer fires at (monitor_work.timer.expires), None when not armed."""
        t = dwork.timer
        return t.expires if t is not None and t.pending else None

    def cancel_delayed_work_sync(self, dwork: DelayedWork) -> bool:
        """cancel_delayed_work_sync(dwork): not pending any more, and not running when it returns."""
        work = dwork.work
        was = work.pending
        if dwork.timer is not None:
            self.del_timer(dwork.timer)
        if work.wq is not None and work in work.wq.items:
            work.wq.items.remove(work)
        work.pending = False
        if work.running:
            self.flush_work(work)
        return was

    def queue_rcu_work(self, wq: Workqueue, rwork: RcuWork) -> bool:
        """queue_rcu_work(wq, rwork): the work is queued on ``wq`` after an RCU grace period."""
        self._check_wq(wq, "queue_rcu_work")
        work = rwork.work
        if work.pending:
            return False
        work.pending = True
        rwork.wq = wq
        self.rcu.call_rcu(lambda rw: self._insert_work(rw.wq, rw.work), rwork)  # rcu_work_rcufn()
        return True

    def flush_rcu_work(self, rwork: RcuWork) -> bool:
        """flush_rcu_work(rwork): while it waits for its grace period, rcu_barrier() then
        flush_work(); else flush_work()."""
        if rwork.work.pending:
            self.rcu.rcu_barrier()
            self.flush_work(rwork.work)
            return True
        return self.flush_work(rwork.work)

    def on_cpu_softirq(self, cpu: int) -> contextlib.AbstractContextManager[None]:
        """Serve a softirq on ``cpu``: its own CPU's context when the current task is there and
        running, else the idle task's (swapper/N) of an idle CPU; restored afterwards."""
        return self._on_cpu_softirq(cpu)

    @contextlib.contextmanager
    def _on_cpu_softirq(self, cpu: int) -> Iterator[None]:
        k = self.k
        prev, prev_cpu = k.current, k.cpu
        idle = cpu != prev_cpu or prev.state != TASK_RUNNING or prev.exited or (prev is self.init and self.in_run)
        if cpu == prev_cpu and self.pc[cpu] & SOFTIRQ_OFFSET:
            # already serving a softirq here: on an idle CPU, as its idle task
            if idle:
                k.current = self.idle_tasks[cpu]
            try:
                yield
            finally:
                k.current = prev
            return
        saved = self.pc[cpu], self.irqs_off[cpu]
        k.cpu = cpu
        if idle:
            k.current = self.idle_tasks[cpu]
            self.pc[cpu], self.irqs_off[cpu] = 0, False
        self._refresh_atomic()
        try:
            with self.softirq():
                yield
        finally:
            self.pc[cpu], self.irqs_off[cpu] = saved
            k.current, k.cpu = prev, prev_cpu
            self._refresh_atomic()

    # ================================================================ timers and softirqs
    def mod_timer(self, timer: TimerList, expires: int) -> bool:
        """mod_timer(): ``expires`` in jiffies (wrapping as the kernel's do); the heap holds
        jiffies_64 values."""
        return self._arm(timer, expires, self.to_j64(expires))

    def _arm(self, timer: TimerList, expires: int, exp64: int) -> bool:
        was = timer.pending
        timer.expires = expires
        timer.pending = True
        timer._seq = next(self._seq)
        heapq.heappush(self.timers, (exp64, timer._seq, timer))
        return was

    def del_timer(self, timer: TimerList) -> bool:
        was = timer.pending
        timer.pending = False  # the heap entry goes stale (lazy deletion)
        return was

    def _wakeup_pending(self) -> bool:
        """Is a timer that can wake the machine (not deferrable) pending?"""
        return any(t.pending and t._seq == seq and not t.deferrable for _, seq, t in self.timers)

    def _advance_to_next_timer(self) -> None:
        """Move the clock to the next timer that can wake the machine, running the deferrable
        timers that expire before it at their own times on the way (the tick keeps running
        while time passes, so a periodic deferrable timer fires every period)."""
        while self.timers and (not self.timers[0][2].pending or self.timers[0][2]._seq != self.timers[0][1]):
            heapq.heappop(self.timers)
        wake = [e for e, seq, t in self.timers if t.pending and t._seq == seq and not t.deferrable]
        if not wake:
            return
        target = min(wake)
        while True:
            while self.timers and (not self.timers[0][2].pending or self.timers[0][2]._seq != self.timers[0][1]):
                heapq.heappop(self.timers)
            step = self.timers[0][0] if self.timers else target
            if step >= target:
                break
            self.advance_jiffies_to(step)
        self.advance_jiffies_to(target)

    def advance_jiffies_to(self, target: int) -> None:
        """Move the clock to jiffies_64 ``target`` (never back) and run the expired timers."""
        k = self.k
        now = self.j64()
        if target > now:
            hz = self.hz
            # the first nanosecond at which jiffies_64 == target
            ticks_ns = (target - ((1 << 32) - 300 * hz)) * 1_000_000_000
            k.clock.advance(max(0, -(-ticks_ns // hz) - k.clock.ns))
            while self.j64() < target:
                k.clock.advance(1)
        self.run_timers()

    def run_timers(self) -> int:
        """run_timer_softirq(): every pending timer with expires <= jiffies, in softirq context."""
        n = 0
        j = self.j64()
        while self.timers and self.timers[0][0] <= j:
            expires, seq, t = heapq.heappop(self.timers)
            if not t.pending or t._seq != seq:
                continue
            t.pending = False
            with self.softirq():
                t.function(t)
            n += 1
        return n

    def tasklet_schedule(self, t: Tasklet) -> None:
        if not t.scheduled:
            t.scheduled = True
            self.tasklets.append(t)

    def run_softirqs(self) -> int:
        """__do_softirq(): TASKLET_SOFTIRQ (the scheduled tasklets, in order) and expired timers."""
        if self.in_softirq_run or self.pc[self.k.cpu] & (SOFTIRQ_MASK | HARDIRQ_MASK | NMI_MASK):
            return 0
        self.in_softirq_run = True
        n = 0
        try:
            while self.tasklets:
                t = self.tasklets.pop(0)
                t.scheduled = False
                if t.count:
                    self.tasklets.append(t)
                    t.scheduled = True
                    break
                with self.softirq():
                    t.func(t.data)
                n += 1
            n += self.run_timers()
        finally:
            self.in_softirq_run = False
        return n

    def irq_exit_softirqs(self) -> None:
        """irq_exit(): invoke_softirq() when the interrupted context was not itself atomic
        in the softirq sense."""
        if not self.in_interrupt():
            self.run_softirqs()

    # ================================================================ running
    def run(self, until: int | None = None, *, ms: int | None = None) -> None:
        """Let time pass and the other tasks run: until jiffy ``until``, for ``ms`` milliseconds,
        or (neither) until every task sleeps with no timer pending (then return; nothing is
        hung while the caller can go on)."""
        k = self.k
        if ms is not None:
            until = k.jiffies + self.msecs_to_jiffies(ms)
        cur = k.current
        if cur is not self.init:
            raise UsageError("k.run() is for the API caller, not for code inside a task")
        if self.pc[k.cpu] or self.irqs_off[k.cpu]:
            raise UsageError("k.run() in atomic context: the other tasks would run with this "
                             "context's preempt_count (leave the atomic section first)")
        if until is not None:
            timer = TimerList(function=lambda _t: self.wake_up_process(cur))
            self.mod_timer(timer, until)
            cur.state = TASK_INTERRUPTIBLE
            cur.woken = False
            self.schedule()
            self.del_timer(timer)
            return
        # run until idle: the caller yields while anything can still happen
        self._note_schedule(preempt=False)
        self.in_run = True
        try:
            self._run_idle(cur)
        finally:
            self.in_run = False
        self._raise_task_exceptions()

    def _run_idle(self, cur: Task) -> None:
        while True:
            if self.run_softirqs():
                continue
            if self.runq:
                cur.state = TASK_RUNNING
                self._yield()
                continue
            if self._wakeup_pending():
                self._advance_to_next_timer()
                continue
            break

    def check(self) -> None:
        from .errors import InvariantError

        for c, v in enumerate(self.pc):
            if v < 0:
                raise InvariantError("sched", f"cpu{c} preempt_count {v:#x} is negative")
        for t in self.runq:
            if t.state != TASK_RUNNING:
                raise InvariantError("sched", f"{t!r} on the run queue is not TASK_RUNNING")
            if t.exited:
                raise InvariantError("sched", f"{t!r} on the run queue has exited")
        if len({id(t) for t in self.runq}) != len(self.runq):
            raise InvariantError("sched", "a task is queued twice")
        for t in self.tasks:
            if t is not self.k.current and t.state == TASK_RUNNING and not t.exited and t not in self.runq \
                    and t.work is None and t._thread is not None:
                raise InvariantError("sched", f"{t!r} is runnable but not queued")
            if t is not self.k.current and t.state != TASK_RUNNING and t.saved_pc and not t.atomic_sleep_reported:
                raise InvariantError("sched", f"{t!r} sleeps in atomic context (preempt_count {t.saved_pc:#x}) "
                                     "without the scheduling-while-atomic report")
        for wq in list(self.waitqueues):
            for t, _ in wq.waiters:
                if t.exited:
                    raise InvariantError("sched", f"wait queue {wq.name} holds {t!r}, which has exited")
                if t.state == TASK_RUNNING and not t.woken and t is not self.k.current and t not in self.runq \
                        and t.work is None:
                    raise InvariantError("sched", f"{t!r} waits on {wq.name} but is neither asleep nor woken")
        # the heap holds jiffies_64; a timer's expires is jiffies, an unsigned long that wraps (i386:
        # 32 bits, and 2.6's INITIAL_JIFFIES is five minutes before the wrap)
        jmask = (1 << self.k.layout.bits) - 1
        for timer_expires, seq, timer in self.timers:
            if timer.pending and timer._seq == seq and timer.expires & jmask != timer_expires & jmask:
                raise InvariantError("sched", f"a pending timer's heap entry says {timer_expires}, the timer "
                                     f"{timer.expires}")


# ===================================================================== RCU
RCU_SEQ_CTR_SHIFT = 2  # kernel/rcu/rcu.h: the low two bits of a grace-period sequence are its state
RCU_SEQ_STATE_MASK = (1 << RCU_SEQ_CTR_SHIFT) - 1
RCU_GET_STATE_COMPLETED = 0x1  # a cookie poll_state_synchronize_rcu() always finds completed


class RcuHead(Record, eq=False):
    """A queued callback (struct rcu_head): ``func(data)`` after the grace period ``snap`` ends."""

    __match_args__ = ("func", "data", "snap")

    func: Callable[[Any], object]
    data: Any
    snap: int

    def __init__(self, func: Callable[[Any], object], data: Any, snap: int) -> None:
        vars(self).update(func=func, data=data, snap=snap)


class Rcu:
    """Tree RCU of one machine, PREEMPT_RCU as the reference host builds it (CONFIG_TREE_RCU,
    CONFIG_PREEMPT_RCU, HZ=250): kernel/rcu/tree.c, tree_plugin.h, update.c of Linux 6.18,
    as far as a machine whose tasks take turns can show it.

    * Grace periods are numbered as the kernel numbers them (``rcu_state.gp_seq``, starting
      at ``(0UL - 300UL) << RCU_SEQ_CTR_SHIFT``; the low two bits say whether one is running),
      so get_state_synchronize_rcu() cookies and poll_state_synchronize_rcu() behave as the
      kernel's (rcu_seq_snap(), rcu_seq_done_exact()).
    * A grace period starts when a callback needs one (call_rcu(), synchronize_rcu()) and ends
      when every CPU has passed a quiescent state since it started and no task that blocked in
      a read-side critical section before that is still in it.  Quiescent states: a context
      switch on the CPU (rcu_note_context_switch(), the scheduler's switch hook); an idle CPU
      (one whose task sleeps, or which has no task running: the FQS scan finds it in an
      extended quiescent state); a scheduling-clock tick taken outside any read-side critical
      section with preemption and bottom halves enabled (PREEMPT_RCU's
      rcu_flavor_sched_clock_irq(): a user-mode or preemptible kernel context).
    * The grace-period kthread is a timer: it looks at the CPUs jiffies_till_first_fqs after a
      grace period starts (1 + (HZ > 250) + (HZ > 500) + nr_cpu_ids / 256 jiffies, 1 on the
      host) and then every jiffies_till_next_fqs while one still owes a quiescent state; time
      moves in the model only when every task sleeps, so a grace period ends at the first
      such look after the callers slept.  The callbacks whose grace period ended then run in
      RCU_SOFTIRQ on the CPU that queued them (rcutree.use_softirq=1), in the order queued.
    * rcu_read_lock() nests per task (current->rcu_read_lock_nesting); a task that gives up
      the CPU inside is queued as blocked (a voluntary switch first WARNs once, "Voluntary
      context switch within RCU read-side critical section!") and blocks the grace periods
      that start before its rcu_read_unlock(); might_sleep() inside one reports "RCU nest
      depth: N".

    Not modelled: expedited grace periods, the rcu_node tree (one node), callback offloading
    (rcu_nocbs, lazy callbacks) and RCU CPU stall warnings (a reader that never unlocks and
    sleeps makes the khungtaskd report of whoever waits for it instead).
    """

    def __init__(self, sched: Sched):
        self.s = sched
        self.k = sched.k
        bits = sched.k.layout.bits
        self.mask = (1 << bits) - 1
        self.gp_seq = ((0 - 300) << RCU_SEQ_CTR_SHIFT) & self.mask
        ncpu = len(sched.k.cpus)
        hz = sched.hz
        # kernel/rcu/tree.h RCU_JIFFIES_TILL_FORCE_QS + nr_cpu_ids / RCU_JIFFIES_FQS_DIV (256)
        self.jiffies_till_first_fqs = 1 + (hz > 250) + (hz > 500) + ncpu // 256
        self.jiffies_till_next_fqs = self.jiffies_till_first_fqs
        self.cblist: list[list[RcuHead]] = [[] for _ in range(ncpu)]
        self.qs_pending: set[int] = set()  # CPUs that owe the running grace period a quiescent state
        self.gp_blockers: list[Task] = []  # tasks blocked in a read-side section that hold it up
        self.gp_timer = TimerList(function=self._gp_kthread)
        self.gp_start_jiffies = 0
        #: what happened: grace periods ended, callbacks invoked, quiescent states by kind
        self.stats = {"gp_completed": 0, "callbacks_invoked": 0, "qs_context_switch": 0, "qs_idle": 0,
                      "qs_tick": 0, "blocked_readers": 0}

    # ------------------------------------------------------------------ sequence numbers
    def _cmp_ge(self, a: int, b: int) -> bool:
        """ULONG_CMP_GE(a, b)."""
        return ((a - b) & self.mask) <= self.mask >> 1

    def _seq_snap(self) -> int:
        """rcu_seq_snap(&rcu_state.gp_seq): the value gp_seq has once a full grace period that
        starts after now has ended."""
        return (self.gp_seq + 2 * RCU_SEQ_STATE_MASK + 1) & ~RCU_SEQ_STATE_MASK & self.mask

    def gp_in_progress(self) -> bool:
        """rcu_gp_in_progress()."""
        return bool(self.gp_seq & RCU_SEQ_STATE_MASK)

    # ------------------------------------------------------------------ the API
    def rcu_read_lock(self) -> None:
        """rcu_read_lock(): enter a read-side critical section (nests; the task may not sleep)."""
        cur = self.k.current
        cur.rcu_read_lock_nesting += 1
        if cur.rcu_read_lock_nesting == 1:
            self.s._refresh_atomic()

    def rcu_read_unlock(self) -> None:
        """rcu_read_unlock(): leave it; a task that blocked inside it no longer holds up the
        grace period (rcu_read_unlock_special())."""
        cur = self.k.current
        if cur.rcu_read_lock_nesting <= 0:
            raise UsageError("rcu_read_unlock() without rcu_read_lock() (the nesting would go negative)")
        cur.rcu_read_lock_nesting -= 1
        if cur.rcu_read_lock_nesting:
            return
        self.s._refresh_atomic()
        if cur.rcu_blocked:
            cur.rcu_blocked = False
            if cur in self.gp_blockers:
                self.gp_blockers.remove(cur)
                self._maybe_wake_gp_kthread()

    def rcu_read_lock_held(self) -> bool:
        """rcu_read_lock_held() (without lockdep: the current task's nesting)."""
        return self.k.current.rcu_read_lock_nesting > 0

    def call_rcu(self, func: Callable[[Any], object], data: Any = None) -> RcuHead:
        """call_rcu(head, func): ``func(data)`` runs in softirq context on this CPU after a grace
        period (one that starts after now has ended); returns the queued kmemsim.sched.RcuHead."""
        if not callable(func):
            raise UsageError(f"call_rcu: {func!r} is not callable")
        head = RcuHead(func, data, self._seq_snap())
        self.cblist[self.k.cpu].append(head)
        self._start_gp_if_needed()
        return head

    def synchronize_rcu(self) -> None:
        """synchronize_rcu(): wait for a full grace period (wait_rcu_gp(call_rcu_hurry): a
        callback and a completion).  Sleeps; inside a read-side critical section it never
        returns (the model reports the hung task)."""
        s = self.s
        s.might_sleep_at("kernel/sched/completion.c", 116)
        done = WaitQueueHead("rcu_synchronize")
        state = {"done": False}

        def wakeme_after_rcu(_data: Any) -> None:
            state["done"] = True
            s.wake_up_all(done)

        self.call_rcu(wakeme_after_rcu)
        cur = self.k.current
        while not state["done"]:
            s.prepare_to_wait(done, TASK_UNINTERRUPTIBLE)
            if state["done"]:
                break
            s.schedule()
        s.finish_wait(done)
        cur.state = TASK_RUNNING

    def rcu_barrier(self) -> None:
        """rcu_barrier(): wait until every callback queued before it has run (a barrier callback
        entrained at the tail of each CPU's list that has callbacks)."""
        s = self.s
        s.might_sleep_at("kernel/locking/mutex.c", 280)  # mutex_lock(&rcu_state.barrier_mutex)
        waiting = {c for c, cbs in enumerate(self.cblist) if cbs}
        if not waiting:
            return
        done = WaitQueueHead("rcu_barrier")

        def rcu_barrier_callback(cpu: int) -> None:
            waiting.discard(cpu)
            if not waiting:
                s.wake_up_all(done)

        for c in sorted(waiting):
            self.cblist[c].append(RcuHead(rcu_barrier_callback, c, self._seq_snap()))
        self._start_gp_if_needed()
        while waiting:
            s.prepare_to_wait(done, TASK_UNINTERRUPTIBLE)
            if not waiting:
                break
            s.schedule()
        s.finish_wait(done)

    def get_state_synchronize_rcu(self) -> int:
        """get_state_synchronize_rcu(): a cookie for poll_state_synchronize_rcu(); starts nothing."""
        return self._seq_snap()

    def start_poll_synchronize_rcu(self) -> int:
        """start_poll_synchronize_rcu(): the cookie, and a grace period is started if needed."""
        snap = self._seq_snap()
        if not self._cmp_ge(self.gp_seq, snap) and not self.gp_in_progress():
            self._start_gp()
        elif not self._cmp_ge(self.gp_seq, snap):
            self._need_gp = True
        return snap

    def poll_state_synchronize_rcu(self, oldstate: int) -> bool:
        """poll_state_synchronize_rcu(cookie): has a full grace period elapsed since the cookie
        was taken (rcu_seq_done_exact())?"""
        if isinstance(oldstate, bool) or not isinstance(oldstate, int):
            raise UsageError(f"poll_state_synchronize_rcu: {oldstate!r} is not a cookie")
        if oldstate == RCU_GET_STATE_COMPLETED:
            return True
        cur = self.gp_seq
        return self._cmp_ge(cur, oldstate) or not self._cmp_ge(cur, (oldstate - (3 * RCU_SEQ_STATE_MASK + 1))
                                                                & self.mask)

    def pending_callbacks(self) -> int:
        """Callbacks queued and not yet invoked, on every CPU."""
        return sum(len(c) for c in self.cblist)

    # ------------------------------------------------------------------ grace periods
    _need_gp = False

    def _start_gp_if_needed(self) -> None:
        """rcu_accelerate_cbs() + rcu_start_this_gp(): start one now if none runs, else the
        running one's end starts the next."""
        if self.gp_in_progress():
            self._need_gp = True
        else:
            self._start_gp()

    def _start_gp(self) -> None:
        """rcu_gp_init(): gp_seq starts; every CPU owes a quiescent state; the tasks blocked in
        read-side sections now hold it up; the kthread looks again after jiffies_till_first_fqs."""
        s = self.s
        self.gp_seq = (self.gp_seq + 1) & self.mask  # rcu_seq_start()
        self._need_gp = False
        self.qs_pending = set(range(len(self.k.cpus)))
        self.gp_blockers = [t for t in s.tasks if t.rcu_blocked and not t.exited]
        self.stats["blocked_readers"] += len(self.gp_blockers)
        self.gp_start_jiffies = s.j64()
        self._arm(self.jiffies_till_first_fqs)

    def _arm(self, delay: int) -> None:
        s = self.s
        s._arm(self.gp_timer, (self.k.jiffies + delay) & ((1 << self.k.layout.bits) - 1), s.j64() + delay)

    def _maybe_wake_gp_kthread(self) -> None:
        """The last quiescent state came: the kthread ends the grace period when it next runs
        (at the next softirq: the next interrupt exit, bottom-half enable or sleep)."""
        if self.gp_in_progress() and not self.qs_pending and not self.gp_blockers:
            self._arm(0)

    def _report_qs(self, cpu: int, kind: str) -> None:
        if cpu in self.qs_pending:
            self.qs_pending.discard(cpu)
            self.stats[kind] += 1

    def note_context_switch(self, prev: Task, nxt: Task) -> None:
        """rcu_note_context_switch() at every switch (the scheduler's hook): a task leaving the
        CPU inside a read-side section is queued as blocked (it holds up the running grace
        period if its CPU still owed it a quiescent state); then the CPU's quiescent state."""
        if prev.rcu_read_lock_nesting > 0 and not prev.rcu_blocked:
            prev.rcu_blocked = True
            if self.gp_in_progress() and prev.cpu in self.qs_pending:
                self.gp_blockers.append(prev)
                self.stats["blocked_readers"] += 1
        self._report_qs(prev.cpu, "qs_context_switch")
        self._maybe_wake_gp_kthread()

    def _gp_kthread(self, _timer: TimerList) -> None:
        """rcu_gp_kthread(), one step (in the model a timer, in softirq context): force quiescent
        states (idle CPUs; the tick on this one), end the grace period when nothing holds it up,
        run the callbacks it finished, start the next one if callbacks wait."""
        s = self.s
        k = self.k
        if not self.gp_in_progress():
            if self._need_gp or any(self.cblist):
                self._start_gp()
            return
        cur, c = k.current, k.cpu
        idle_here = cur.state != TASK_RUNNING or cur.exited or (cur is s.init and s.in_run)
        for cpu in sorted(self.qs_pending):
            if cpu != c or idle_here:
                self._report_qs(cpu, "qs_idle")  # rcu_watching_snap_save(): an extended quiescent state
            else:
                # rcu_flavor_sched_clock_irq() (PREEMPT_RCU): the interrupted context is quiescent
                # outside read-side sections with preemption and bottom halves on
                pc = s.pc[c] - (SOFTIRQ_OFFSET if s.pc[c] & SOFTIRQ_OFFSET else 0)
                if not cur.rcu_read_lock_nesting and not pc & (PREEMPT_MASK | SOFTIRQ_MASK):
                    self._report_qs(cpu, "qs_tick")
        if self.qs_pending:
            self._arm(self.jiffies_till_next_fqs)
            return
        if self.gp_blockers:
            return  # the last blocked reader's rcu_read_unlock() wakes the kthread
        self._gp_cleanup()

    def _gp_cleanup(self) -> None:
        """rcu_gp_cleanup(): gp_seq ends; the callbacks it finished run (RCU_SOFTIRQ on their
        CPUs, in order); the next grace period starts if callbacks still wait."""
        self.gp_seq = ((self.gp_seq | RCU_SEQ_STATE_MASK) + 1) & self.mask  # rcu_seq_end()
        self.stats["gp_completed"] += 1
        for cpu, cbs in enumerate(self.cblist):
            ready = []
            while cbs and self._cmp_ge(self.gp_seq, cbs[0].snap):
                ready.append(cbs.pop(0))
            if not ready:
                continue
            with self.s.on_cpu_softirq(cpu):  # rcu_core() -> rcu_do_batch()
                for head in ready:
                    self.stats["callbacks_invoked"] += 1
                    head.func(head.data)
        if self._need_gp or any(self.cblist):
            self._start_gp()

    def check(self) -> None:
        from .errors import InvariantError

        for t in self.s.tasks:
            if t.rcu_read_lock_nesting < 0:
                raise InvariantError("rcu", f"{t!r}: rcu_read_lock_nesting {t.rcu_read_lock_nesting}")
            if t.rcu_blocked and not t.rcu_read_lock_nesting:
                raise InvariantError("rcu", f"{t!r} is queued as a blocked reader outside a read-side section")
        for t in self.gp_blockers:
            if not t.rcu_blocked:
                raise InvariantError("rcu", f"{t!r} holds up the grace period but is not blocked")
        if self.gp_in_progress():
            if not (self.gp_timer.pending or not self.qs_pending and self.gp_blockers):
                raise InvariantError("rcu", "a grace period runs with no kthread step armed")
        elif self.qs_pending or self.gp_blockers:
            raise InvariantError("rcu", "no grace period runs but CPUs or tasks owe one")
        for cpu, cbs in enumerate(self.cblist):
            for a, b in zip(cbs, cbs[1:], strict=False):
                if not self._cmp_ge(b.snap, a.snap):
                    raise InvariantError("rcu", f"cpu{cpu}: callbacks out of grace-period order")
            if cbs and not self.gp_in_progress() and not self._cmp_ge(self.gp_seq, cbs[0].snap):
                raise InvariantError("rcu", f"cpu{cpu}: callbacks wait for a grace period and none runs")


def sched_init(m: Kernel) -> None:
    """sched_init(): the calling contexts, the run queue, and the API caller's task
    (``insmod``, pid 1000), which every later step of the boot runs as."""
    m.sched = Sched(m)
    m.checks.register("sched", m.sched.check)
    m.checks.register("rcu", m.sched.rcu.check)
