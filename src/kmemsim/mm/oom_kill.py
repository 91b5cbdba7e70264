"""The OOM killer, the simulated user processes it chooses from, and __show_mem.

Models mm/oom_kill.c (``oom_badness``, ``select_bad_process``, ``dump_header``,
``dump_tasks``/``dump_task``, ``dump_oom_victim``, ``__oom_kill_process``,
``oom_kill_process``, ``out_of_memory``, ``check_panic_on_oom``, the oom_reaper's
message), mm/show_mem.c (``__show_mem``/``show_free_areas``: the "Mem-Info:"
block), mm/swap_state.c (``show_swap_cache_info``), mm/slab_common.c
(``dump_unreclaimable_slab``) and mm/hugetlb.c (``hugetlb_show_meminfo_node``) of
Linux 6.18 (read in the 6.17-rc3 tree; the message formats were checked against
a real 6.18 memcg OOM report, tests/data/host-6.18/oom-memcg.txt).  The
linux-2.6-i386 profile prints 2.6.24's messages (``"%s invoked oom-killer:
gfp_mask=0x%x, order=%d, oomkilladj=%d"``, ``"Out of memory: kill process %d (%s)
score %li or a child"``, ``"Killed process %d (%s)"``) and uses 2.6.24's badness()
(total_vm, /4 for root, oomkilladj as a shift) without its CPU-time terms.

A simulated process (:class:`Process`, ``k.spawn_process``) has anonymous pages
(from the page allocator with GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO, on the
anon LRU, swappable), file pages it maps (page cache of a file named after it),
shmem pages (a shmem file of its own), swap entries, page tables (counted in
bytes, not allocated) and an oom_score_adj.  Its pages belong to it until it
exits (``k.kill_process``) or the OOM killer kills it.

Simplified, and said so:

* no threads, no fork/COW sharing of anonymous memory, no memcg (every OOM is
  global: CONSTRAINT_NONE, cpuset=/, mems_allowed=0, task_memcg=/);
* a killed process exits at once and its memory comes back before
  ``out_of_memory`` returns, so no "oom_reaper:" line is printed -- as on the
  reference host, where the victim exits before OOM_REAPER_DELAY (2 s).  A process
  spawned with ``d_state=True`` sleeps uninterruptibly and cannot exit: the oom
  reaper reaps its anonymous memory at once (the model does not wait the 2 s) and
  prints its line; the process stays, MMF_OOM_SKIP set, until ``k.kill_process``;
* a machine on which no process was ever spawned has no user space: the OOM
  killer is not invoked there and the allocation fails as __GFP_RETRY_MAYFAIL
  would (a real kernel always has init and would panic with "Out of memory and no
  killable processes..."; with user space modelled, the model does exactly that);
* the notifier chain (register_oom_notifier) and oom_kill_allocating_task's cpuset
  checks are not modelled; page table pages are a count (pgtables_bytes), not pages.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .. import units
from ..errors import UsageError
from ..printk import KERN_ERR, KERN_INFO, KERN_WARNING
from .filemap import PG_swapbacked, PG_uptodate
from .mmzone import WMARK_HIGH, WMARK_LOW, WMARK_MIN

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel
    from .filemap import AddressSpace, Folio
    from .vmscan import Reclaim

OOM_SCORE_ADJ_MIN = -1000
OOM_SCORE_ADJ_MAX = 1000
OOM_DISABLE = -17  # 2.6.24 oomkilladj
OOM_ADJUST_MIN, OOM_ADJUST_MAX = -16, 15
LONG_MIN = -(1 << 63)
DEFAULT_RATELIMIT_BURST = 10  # oom_kill_process's oom_rs: DEFAULT_RATELIMIT_INTERVAL (5 s), burst 10


class Process:
    """A simulated user process: a task_struct with its mm_struct."""

    def __init__(self, pid: int, comm: str, uid: int, oom_score_adj: int, task: Any):
        self.pid = pid
        self.tgid = pid
        self.comm = comm[:15]  # TASK_COMM_LEN - 1
        self.uid = uid
        self.oom_score_adj = oom_score_adj  # signal->oom_score_adj (2.6.24: oomkilladj)
        self.task = task  # a kmemsim.sched.Task with this pid/comm/uid, for the reports
        self.anon: dict[int, Folio] = {}  # resident anonymous pages: index -> folio
        self.swapents: dict[int, int] = {}  # swapped-out anonymous pages: index -> swap slot
        self.anon_next = 0  # the next anonymous page index to fault
        self.anon_vm = 0  # the anonymous VMA's size in pages
        self.file_maps: dict[Folio, None] = {}  # mapped page cache pages (MM_FILEPAGES), in map order
        self.file_vm = 0  # pages of file mappings
        self.shmem_maps: dict[Folio, None] = {}  # mapped shmem pages (MM_SHMEMPAGES); dicts keep runs deterministic
        self.shmem: AddressSpace | None = None
        self.shmem_vm = 0
        self.vm_extra = 0  # further VM (stack, heap reserve) that was never touched
        self.alive = True
        self.oom_victim = False  # tsk_is_oom_victim(): TIF_MEMDIE / signal->oom_mm
        self.oom_skip = False  # MMF_OOM_SKIP: reaped, no longer a candidate
        self.d_state = False  # sleeping uninterruptibly: cannot exit when killed

    # mm counters (get_mm_counter)
    @property
    def rss_anon(self) -> int:
        return len(self.anon)

    @property
    def rss_file(self) -> int:
        return len(self.file_maps)

    @property
    def rss_shmem(self) -> int:
        return len(self.shmem_maps)

    @property
    def rss(self) -> int:
        """get_mm_rss(): anon + file + shmem pages mapped."""
        return len(self.anon) + len(self.file_maps) + len(self.shmem_maps)

    @property
    def nr_swapents(self) -> int:
        return len(self.swapents)

    @property
    def total_vm(self) -> int:
        return self.anon_vm + self.file_vm + self.shmem_vm + self.vm_extra

    def pgtables_bytes(self, k: Kernel) -> int:
        """mm_pgtables_bytes(): x86_64 one PTE page per 2 MiB of VM plus a PMD and a PUD
        page; i386 (2-level) one page table per 4 MiB."""
        ps = k.page_size
        if k.profile.arch == "i386":
            return -(-self.total_vm // 1024) * ps
        return (-(-self.total_vm // 512) + 2) * ps if self.total_vm else 0

    def __repr__(self) -> str:
        state = "alive" if self.alive else "dead"
        return f"<process {self.comm}:{self.pid} rss={self.rss} swap={len(self.swapents)} {state}>"


class OomMixin:
    """Processes and the OOM killer, part of :class:`~kmemsim.mm.vmscan.Reclaim`."""

    # ================================================================ processes
    def _pages(self: Reclaim, size: Any, what: str) -> int:
        if size is None:
            return 0
        if isinstance(size, bool):
            raise UsageError(f"{what}={size!r}: expected a size in bytes or a string such as '16M'")
        try:
            b = units.memparse(size, what)
        except Exception as e:  # ConfigError from memparse
            raise UsageError(str(e)) from None
        if b < 0:
            raise UsageError(f"{what}={size!r}: must not be negative")
        return -(-b // self.k.page_size)

    def spawn_process(self: Reclaim, name: str, rss: Any = 0, *, file: Any = 0, shmem: Any = 0, swap: Any = 0,
                      vm: Any = None, oom_score_adj: int = 0, uid: int = 0, d_state: bool = False) -> Process:
        """A new user process ``name`` that touches ``rss`` of anonymous memory, maps
        ``file`` of a file named after it (page cache, shared with other processes of
        that name) and ``shmem`` of a shmem segment of its own, with ``swap`` of its
        anonymous memory already on the swap device.  Sizes are bytes or strings
        ("16M").  ``vm`` is the total VM size (at least what it touches).  Its pages
        are allocated as its page faults would (and may reclaim, or OOM-kill -- itself
        included); the Process is returned either way."""
        if not isinstance(name, str) or not name:
            raise UsageError(f"spawn_process: name {name!r} must be a non-empty string")
        anon = self._pages(rss, "rss")
        nfile = self._pages(file, "file")
        nshmem = self._pages(shmem, "shmem")
        nswap = self._pages(swap, "swap")
        total = self._pages(vm, "vm") if vm is not None else 0
        if isinstance(uid, bool) or not isinstance(uid, int) or uid < 0:
            raise UsageError(f"spawn_process: uid {uid!r} must be an int >= 0")
        if isinstance(oom_score_adj, bool) or not isinstance(oom_score_adj, int):
            raise UsageError(f"spawn_process: oom_score_adj {oom_score_adj!r} must be an int")
        if self.classic:
            if not (OOM_ADJUST_MIN <= oom_score_adj <= OOM_ADJUST_MAX or oom_score_adj == OOM_DISABLE):
                raise UsageError(f"oom_score_adj {oom_score_adj}: 2.6.24's oomkilladj is -16..15, or -17 (OOM_DISABLE)")
        elif not OOM_SCORE_ADJ_MIN <= oom_score_adj <= OOM_SCORE_ADJ_MAX:
            raise UsageError(f"oom_score_adj {oom_score_adj}: must be -1000..1000")
        if nswap and (self.swap is None or self.swap.free < nswap):
            have = 0 if self.swap is None else self.swap.free
            raise UsageError(f"spawn_process: swap={swap!r} needs {nswap} free swap slots, the machine has {have} "
                             "(k.swapon(size) first)")
        from ..sched import Task

        self.next_pid += 1
        pid = self.next_pid
        p = Process(pid, name, uid, oom_score_adj, Task(pid=pid, comm=name[:15], uid=uid))
        p.d_state = bool(d_state)
        self.processes.append(p)
        self.userspace = True
        p.vm_extra = max(0, total - (anon + nfile + nshmem + nswap))
        p.anon_vm = anon + nswap  # mmap()ed at once, then faulted in page by page
        for _ in range(nswap):  # memory that was swapped out before we look
            slot = self.swap.alloc()  # type: ignore[union-attr]
            p.swapents[p.anon_next] = slot
            p.anon_next += 1
        with self.faulting(p):
            if nfile:
                self._map_file(p, self.file(name), nfile)
            if nshmem and p.alive:
                p.shmem = self.file(f"/dev/shm/{name}.{pid}", shmem=True)
                self._map_shmem(p, nshmem)
            if anon and p.alive:
                self._fault_anon(p, anon)
        return p

    def process(self: Reclaim, pid_or_proc: Any) -> Process:
        if isinstance(pid_or_proc, Process):
            return pid_or_proc
        for p in self.processes:
            if p.pid == pid_or_proc:
                return p
        raise UsageError(f"no process with pid {pid_or_proc!r}")

    def process_fault(self: Reclaim, proc: Any, size: Any) -> int:
        """The process touches ``size`` more of anonymous memory (page faults: one
        GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO page each, which may reclaim and
        OOM-kill).  Returns the pages faulted in (fewer if the process was killed)."""
        p = self.process(proc)
        if not p.alive:
            raise UsageError(f"{p!r} has exited")
        n = self._pages(size, "size")
        p.anon_vm += n  # the heap grows (brk) by what it touches
        with self.faulting(p):
            return self._fault_anon(p, n)

    def process_swapin(self: Reclaim, proc: Any, nr_pages: int | None = None) -> int:
        """The process touches its swapped-out pages again (do_swap_page: a major fault,
        PSWPIN, the slot freed); returns how many came back."""
        p = self.process(proc)
        if not p.alive:
            raise UsageError(f"{p!r} has exited")
        n = 0
        with self.faulting(p):
            for index in sorted(p.swapents):
                if nr_pages is not None and n >= nr_pages:
                    break
                if not p.alive:
                    break
                pfn = self.pa.alloc(self.gfp_anon, 0)
                if pfn < 0 or not p.alive:
                    if pfn >= 0:
                        self.pa.free(pfn, 0)
                    break
                slot = p.swapents.pop(index)
                data = self.swap.data.get(slot)  # type: ignore[union-attr]
                if data is not None:
                    self.k.phys.write(pfn << self.k.page_shift, data)
                self.swap.free_slot(slot)  # type: ignore[union-attr]
                self.ev["pswpin"] += 1
                self.ev["pgmajfault"] += 1
                self.ev["pgfault"] += 1
                self._add_anon(p, pfn, index)
                n += 1
        return n

    def process_touch(self: Reclaim, proc: Any) -> int:
        """The process accesses every page it maps (the ptes become young, as the CPU sets
        the accessed bit): reclaim's rmap walk will find them referenced."""
        p = self.process(proc)
        n = 0
        for folio in [*p.anon.values(), *p.file_maps, *p.shmem_maps]:
            folio.young = True
            n += 1
        return n

    def kill_process(self: Reclaim, proc: Any) -> int:
        """kill -9: the process exits (exit_mmap) and its memory comes back: anonymous
        pages and swap entries are freed, file pages are unmapped (they stay cached),
        its shmem segment is removed.  Returns the pages freed."""
        p = self.process(proc)
        if not p.alive:
            raise UsageError(f"{p!r} has already exited")
        return self.exit_mmap(p)

    def _fault_anon(self: Reclaim, p: Process, n: int) -> int:
        done = 0
        for _ in range(n):
            if not p.alive:
                break
            pfn = self.pa.alloc(self.gfp_anon, 0)
            if pfn < 0:
                break  # VM_FAULT_OOM: the fault fails (the process would get SIGBUS/retry)
            if not p.alive:  # killed by the OOM killer while we allocated
                self.pa.free(pfn, 0)
                break
            self.ev["pgfault"] += 1
            self._add_anon(p, pfn, p.anon_next)
            p.anon_next += 1
            done += 1
        return done

    def _add_anon(self: Reclaim, p: Process, pfn: int, index: int) -> None:
        """folio_add_new_anon_rmap + folio_add_lru_vma: a new anonymous page, mapped, young."""
        folio = self.new_folio(pfn, p, index, int(PG_uptodate | PG_swapbacked))
        folio.mappers.append(p)
        folio.young = True
        p.anon[index] = folio
        self.stat["nr_anon_pages"] += 1
        self.lru_add(folio)

    def _map_file(self: Reclaim, p: Process, f: AddressSpace, n: int) -> None:
        """mmap of the file's first ``n`` pages, all faulted in (read from the page cache)."""
        p.file_vm += n
        for index in range(n):
            if not p.alive:
                return
            folio = f.pages.get(index)
            if folio is None:
                folio = self.filemap_alloc_folio(f, self.gfp_pagecache, index)
                if folio is None or not p.alive:
                    return
            self._map_folio(p, folio, p.file_maps)

    def _map_shmem(self: Reclaim, p: Process, n: int) -> None:
        p.shmem_vm += n
        f = p.shmem
        for index in range(n):
            if not p.alive:
                return
            folio = self.filemap_alloc_folio(f, self.gfp_pagecache, index)  # type: ignore[arg-type]
            if folio is None or not p.alive:
                return
            self._map_folio(p, folio, p.shmem_maps)

    def _map_folio(self: Reclaim, p: Process, folio: Folio, into: dict) -> None:
        if p in folio.mappers:
            return
        folio.mappers.append(p)
        folio.young = True
        into[folio] = None
        if len(folio.mappers) == 1:
            self.stat["nr_mapped"] += 1
        self.ev["pgfault"] += 1

    def unmap_folio(self: Reclaim, folio: Folio) -> None:
        """try_to_unmap(): remove the page from every page table that maps it; an
        anonymous page in the swap cache leaves a swap entry behind."""
        if not folio.mappers:
            return
        for p in folio.mappers:
            if folio.anon:
                del p.anon[folio.index]
                self.stat["nr_anon_pages"] -= 1
                if folio.swap is not None:
                    p.swapents[folio.index] = folio.swap
            elif folio.mapping.shmem:
                p.shmem_maps.pop(folio, None)
            else:
                p.file_maps.pop(folio, None)
        if not folio.anon:
            self.stat["nr_mapped"] -= 1
        folio.mappers = []
        folio.young = False

    def exit_mmap(self: Reclaim, p: Process) -> int:
        """exit_mmap(): unmap and free everything the process owns."""
        freed = 0
        for folio in list(p.anon.values()):
            self.unmap_folio(folio)
            if folio.lru >= 0:
                self.lru_del(folio)
            self.free_folio(folio)
            freed += 1
        p.anon.clear()
        for slot in p.swapents.values():
            self.swap.free_slot(slot)  # type: ignore[union-attr]
        p.swapents.clear()
        for folio in list(p.file_maps):
            self._unmap_one(folio, p)
        for folio in list(p.shmem_maps):
            self._unmap_one(folio, p)
        if p.shmem is not None and not p.shmem.deleted:
            freed += self.unlink(p.shmem)
        p.alive = False
        if p in self.processes:
            self.processes.remove(p)
        return freed

    def _unmap_one(self: Reclaim, folio: Folio, p: Process) -> None:
        folio.mappers.remove(p)
        if folio.mapping.shmem:
            p.shmem_maps.pop(folio, None)
        else:
            p.file_maps.pop(folio, None)
        if not folio.mappers:
            self.stat["nr_mapped"] -= 1

    # ================================================================ current
    def current(self: Reclaim) -> Any:
        """``current``: the faulting process while its page faults allocate, else the
        machine's current task."""
        return self.fault_stack[-1] if self.fault_stack else None

    def current_task(self: Reclaim) -> Any:
        p = self.current()
        return p.task if p is not None else self.k.current

    def faulting(self: Reclaim, p: Process):
        import contextlib

        @contextlib.contextmanager
        def ctx() -> Iterator[None]:
            self.fault_stack.append(p)
            try:
                yield
            finally:
                self.fault_stack.pop()

        return ctx()

    def as_current(self: Reclaim):
        """Print as the faulting process (the CPU line of dump_stack names current)."""
        import contextlib

        @contextlib.contextmanager
        def ctx() -> Iterator[None]:
            p = self.current()
            if p is None:
                yield
                return
            k = self.k
            prev = k.current
            k.current = p.task
            try:
                yield
            finally:
                k.current = prev

        return ctx()

    # ================================================================ the OOM killer
    def totalpages(self: Reclaim) -> int:
        """constrained_alloc(): totalram_pages() + total_swap_pages."""
        return sum(z.managed_pages for z in self.pa.zones) + (self.swap.pages if self.swap else 0)

    def oom_badness(self: Reclaim, p: Process, totalpages: int) -> int:
        """oom_badness() (6.18): rss + swap entries + page tables in pages, plus
        oom_score_adj thousandths of the memory; LONG_MIN for the unkillable."""
        if not p.alive or p.oom_score_adj == OOM_SCORE_ADJ_MIN or p.oom_skip:
            return LONG_MIN
        points = p.rss + len(p.swapents) + p.pgtables_bytes(self.k) // self.k.page_size
        return points + p.oom_score_adj * (totalpages // 1000)

    def badness_26(self: Reclaim, p: Process) -> int:
        """2.6.24 badness(): total_vm, /4 for root, shifted by oomkilladj (CPU and run
        time are not modelled: their divisors are 1)."""
        points = p.total_vm
        if p.uid == 0:
            points //= 4
        if p.oom_score_adj > 0:
            points = max(points, 1) << p.oom_score_adj
        elif p.oom_score_adj < 0:
            points >>= -p.oom_score_adj
        return points

    def select_bad_process(self: Reclaim, totalpages: int, sysrq: bool = False) -> tuple[Process | None, int, bool]:
        """select_bad_process(): (chosen, points, aborted); the last one wins a tie."""
        chosen, chosen_points = None, LONG_MIN
        for p in self.processes:
            if p.oom_victim and p.alive and not sysrq:
                if p.oom_skip:
                    continue
                return None, chosen_points, True  # a victim is still on its way out: wait
            points = self.oom_badness(p, totalpages)
            if points == LONG_MIN or points < chosen_points:
                continue
            chosen, chosen_points = p, points
        return chosen, chosen_points, False

    def out_of_memory(self: Reclaim, gfp: int, order: int, hz: int) -> bool:
        """out_of_memory(): kill the "best" process; True if memory is on its way back
        (or the caller should retry anyway: a __GFP_FS-less allocation).  ``order`` -1 is
        SysRq-f (is_sysrq_oom): no panic, and a victim still exiting does not stop it."""
        if self.classic:
            return self.out_of_memory_26(gfp, order)
        sysrq = order == -1
        cur = self.current()
        if cur is not None and cur.oom_victim:
            return True  # task_will_free_mem(current)
        if not gfp & self.gfp_fs:
            return True  # "The OOM killer does not compensate for IO-less reclaim"
        if self.sysctl_panic_on_oom and not sysrq:
            self.dump_header(gfp, order, hz, None)
            mode = "compulsory" if self.sysctl_panic_on_oom == 2 else "system-wide"
            self.k.report.panic(f"Out of memory: {mode} panic_on_oom is enabled")
        totalpages = self.totalpages()
        if self.sysctl_oom_kill_allocating_task and cur is not None and cur.alive \
                and cur.oom_score_adj != OOM_SCORE_ADJ_MIN:
            self.oom_kill_process(cur, gfp, order, hz, "Out of memory (oom_kill_allocating_task)")
            return True
        chosen, _, aborted = self.select_bad_process(totalpages, sysrq)
        if aborted:
            return True
        if chosen is None:
            self.dump_header(gfp, order, hz, None)
            self.k.printk("Out of memory and no killable processes...", KERN_WARNING)
            if sysrq:
                return False
            self.k.report.panic("System is deadlocked on memory")
        self.oom_kill_process(chosen, gfp, order, hz, "Out of memory")
        return True

    def _ratelimit_ok(self: Reclaim) -> bool:
        """__ratelimit(&oom_rs): at most 10 reports in 5 seconds."""
        j = self.k.jiffies
        hz = self.k.profile.hz
        if j >= self.oom_rs_begin + 5 * hz:
            self.oom_rs_begin = j
            self.oom_rs_printed = 0
        if self.oom_rs_printed < DEFAULT_RATELIMIT_BURST:
            self.oom_rs_printed += 1
            return True
        return False

    def oom_kill_process(self: Reclaim, victim: Process, gfp: int, order: int, hz: int, message: str) -> None:
        if self._ratelimit_ok():
            self.dump_header(gfp, order, hz, victim)
            self.dump_oom_victim(victim)
        self.__oom_kill_process(victim, message)

    def dump_header(self: Reclaim, gfp: int, order: int, hz: int, victim: Process | None) -> None:
        """dump_header(): who invoked, the stack, Mem-Info, the task table."""
        k = self.k
        cur = self.current_task()
        adj = self.current().oom_score_adj if self.current() is not None else 0
        k.printk(f"{cur.comm} invoked oom-killer: gfp_mask={gfp:#x}({k.gfp.format(gfp)}), order={order}, "
                 f"oom_score_adj={adj}", KERN_WARNING)
        with self.as_current():
            k.printk("\n".join(k.report.dump_stack_lines()), KERN_WARNING)
        k.printk("\n".join(show_mem_lines(k, hz)), KERN_WARNING)
        if self.should_dump_unreclaim_slab():
            k.printk("\n".join(dump_unreclaimable_slab(k)), KERN_INFO)
        if self.sysctl_oom_dump_tasks:
            self.dump_tasks()

    def should_dump_unreclaim_slab(self: Reclaim) -> bool:
        return self.k.node_stats.get("nr_slab_unreclaimable") > sum(self.nr_lru)

    def dump_tasks(self: Reclaim) -> None:
        k = self.k
        rows = ["Tasks state (memory values in pages):",
                "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents "
                "oom_score_adj name"]
        for p in self.processes:
            if not p.alive:
                continue
            rows.append(f"[{p.pid:7d}] {p.uid:5d} {p.tgid:5d} {p.total_vm:8d} {p.rss:8d} {p.rss_anon:8d} "
                        f"{p.rss_file:8d} {p.rss_shmem:9d} {p.pgtables_bytes(k):8d} {len(p.swapents):8d}         "
                        f"{p.oom_score_adj:5d} {p.comm}")
        k.printk("\n".join(rows), KERN_INFO)

    def dump_oom_victim(self: Reclaim, victim: Process) -> None:
        self.k.printk("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
                      f"task_memcg=/,task={victim.comm},pid={victim.pid},uid={victim.uid}", KERN_INFO)

    def __oom_kill_process(self: Reclaim, victim: Process, message: str) -> None:
        """__oom_kill_process(): SIGKILL, mark the victim, the "Killed process" line; the
        victim exits and its memory is freed (or, stuck in D state, the reaper reaps it)."""
        k = self.k
        kb = k.page_size >> 10
        self.ev["oom_kill"] += 1
        victim.oom_victim = True
        k.printk(f"{message}: Killed process {victim.pid} ({victim.comm}) total-vm:{victim.total_vm * kb}kB, "
                 f"anon-rss:{victim.rss_anon * kb}kB, file-rss:{victim.rss_file * kb}kB, "
                 f"shmem-rss:{victim.rss_shmem * kb}kB, UID:{victim.uid} pgtables:{victim.pgtables_bytes(k) >> 10}kB "
                 f"oom_score_adj:{victim.oom_score_adj}", KERN_ERR)
        if victim.d_state:
            self.oom_reap_task(victim)
        else:
            self.exit_mmap(victim)

    def oom_reap_task(self: Reclaim, p: Process) -> None:
        """__oom_reap_task_mm(): unmap and free the anonymous memory of a victim that cannot
        exit; MMF_OOM_SKIP hides it from the next selection."""
        for folio in list(p.anon.values()):
            self.unmap_folio(folio)
            if folio.lru >= 0:
                self.lru_del(folio)
            self.free_folio(folio)
        kb = self.k.page_size >> 10
        self.k.printk(f"oom_reaper: reaped process {p.pid} ({p.comm}), now anon-rss:{p.rss_anon * kb}kB, "
                      f"file-rss:{p.rss_file * kb}kB, shmem-rss:{p.rss_shmem * kb}kB", KERN_INFO)
        p.oom_skip = True

    # ---------------------------------------------------------------- 2.6.24
    def out_of_memory_26(self: Reclaim, gfp: int, order: int) -> bool:
        """2.6.24 out_of_memory(): panic_on_oom, then select_bad_process by badness()."""
        k = self.k
        if self.sysctl_panic_on_oom == 2:
            k.report.panic("out of memory. Compulsory panic_on_oom is selected.")
        if self.sysctl_panic_on_oom:
            k.report.panic("out of memory. panic_on_oom is selected")
        cur = self.current()
        if self.sysctl_oom_kill_allocating_task and cur is not None and cur.alive:
            self._kill_26(cur, gfp, order, 0, "Out of memory (oom_kill_allocating_task)")
            return True
        chosen, points = None, 0
        for p in self.processes:
            if not p.alive:
                continue
            if p.oom_victim and not p.oom_skip:
                return True  # TIF_MEMDIE: somebody is already dying
            if p.oom_score_adj == OOM_DISABLE:
                continue
            pts = self.badness_26(p)
            if pts > points or chosen is None:
                chosen, points = p, pts
        if chosen is None:
            k.report.panic("Out of memory and no killable processes...")
        self._kill_26(chosen, gfp, order, points, "Out of memory")
        return True

    def _kill_26(self: Reclaim, victim: Process, gfp: int, order: int, points: int, message: str) -> None:
        k = self.k
        if self._ratelimit_ok():
            cur = self.current_task()
            adj = self.current().oom_score_adj if self.current() is not None else 0
            k.printk(f"{cur.comm} invoked oom-killer: gfp_mask={gfp:#x}, order={order}, oomkilladj={adj}",
                     KERN_WARNING)
            with self.as_current():
                k.printk("\n".join(k.report.dump_stack_lines()), KERN_WARNING)
            k.printk("\n".join(show_mem_lines(k, len(self.pa.zones) - 1)), KERN_WARNING)
        k.printk(f"{message}: kill process {victim.pid} ({victim.comm}) score {points} or a child", KERN_ERR)
        k.printk(f"Killed process {victim.pid} ({victim.comm})", KERN_ERR)
        self.ev["oom_kill"] += 1
        victim.oom_victim = True
        if victim.d_state:
            self.oom_reap_task(victim)
        else:
            self.exit_mmap(victim)


# ===================================================================== __show_mem
def show_mem_lines(k: Kernel, max_zone_idx: int | None = None) -> list[str]:
    """__show_mem(filter, nodemask, max_zone_idx) (mm/show_mem.c, 6.18): "Mem-Info:",
    the global counters, the node line, a line and lowmem_reserve[] per zone up to
    ``max_zone_idx`` (gfp_zone of the allocation), the free lists, hugetlb, page
    cache, swap and RAM totals."""
    pa = k.page_alloc
    rc = k.vmscan
    kb = k.page_size >> 10
    if max_zone_idx is None:
        max_zone_idx = len(pa.zones) - 1
    ns = k.node_stats.get
    zones = [z for z in pa.zones if z.populated and z.idx <= max_zone_idx]
    free_pcp = sum(z.pcp_count for z in zones)
    free = sum(z.free_pages for z in pa.zones)
    def zl(z: Any) -> list[int]:
        return rc.zone_lru[z.idx]

    def wp(z: Any) -> int:
        return rc.zone_write_pending[z.idx]
    out = [
        "Mem-Info:",
        f"active_anon:{ns('nr_active_anon')} inactive_anon:{ns('nr_inactive_anon')} isolated_anon:0",
        f" active_file:{ns('nr_active_file')} inactive_file:{ns('nr_inactive_file')} isolated_file:0",
        f" unevictable:{ns('nr_unevictable')} dirty:{ns('nr_dirty')} writeback:{ns('nr_writeback')}",
        f" slab_reclaimable:{ns('nr_slab_reclaimable')} slab_unreclaimable:{ns('nr_slab_unreclaimable')}",
        f" mapped:{ns('nr_mapped')} shmem:{ns('nr_shmem')} pagetables:{ns('nr_page_table_pages')}",
        " sec_pagetables:0 bounce:0",
        f" kernel_misc_reclaimable:{ns('nr_kernel_misc_reclaimable')}",
        f" free:{free} free_pcp:{free_pcp} free_cma:0",
    ]
    if any(z.managed_pages for z in pa.zones if z.idx <= max_zone_idx):
        unreclaimable = "yes" if rc.kswapd_failures >= 16 else "no"
        thp = "" if k.profile.arch == "i386" else " shmem_thp:0kB shmem_pmdmapped:0kB anon_thp:0kB"
        out.append(
            f"Node 0 active_anon:{ns('nr_active_anon') * kb}kB inactive_anon:{ns('nr_inactive_anon') * kb}kB "
            f"active_file:{ns('nr_active_file') * kb}kB inactive_file:{ns('nr_inactive_file') * kb}kB "
            f"unevictable:{ns('nr_unevictable') * kb}kB isolated(anon):0kB isolated(file):0kB "
            f"mapped:{ns('nr_mapped') * kb}kB dirty:{ns('nr_dirty') * kb}kB writeback:{ns('nr_writeback') * kb}kB "
            f"shmem:{ns('nr_shmem') * kb}kB{thp} kernel_stack:{ns('nr_kernel_stack')}kB "
            f"pagetables:{ns('nr_page_table_pages') * kb}kB sec_pagetables:0kB "
            f"all_unreclaimable? {unreclaimable} Balloon:0kB")
    for z in zones:
        lru = zl(z)
        out.append(
            f"Node 0 {z.name} free:{z.free_pages * kb}kB boost:{z.watermark_boost * kb}kB "
            f"min:{z.wmark(WMARK_MIN) * kb}kB low:{z.wmark(WMARK_LOW) * kb}kB high:{z.wmark(WMARK_HIGH) * kb}kB "
            f"reserved_highatomic:{z.nr_reserved_highatomic * kb}KB free_highatomic:{z.nr_free_highatomic * kb}KB "
            f"active_anon:{lru[1] * kb}kB inactive_anon:{lru[0] * kb}kB active_file:{lru[3] * kb}kB "
            f"inactive_file:{lru[2] * kb}kB unevictable:{lru[4] * kb}kB writepending:{wp(z) * kb}kB "
            f"present:{z.present_pages * kb}kB managed:{z.managed_pages * kb}kB mlocked:0kB bounce:0kB "
            f"free_pcp:{z.pcp_count * kb}kB local_pcp:{z.pcp[k.cpu].count * kb}kB free_cma:0kB")
        out.append("lowmem_reserve[]: " + " ".join(str(v) for v in z.lowmem_reserve))
    letters = "UMEHI"
    for z in zones:
        parts = []
        total = 0
        for o in range(pa.max_order + 1):
            n = z.nr_free[o]
            total += n << o
            types = "".join(letters[mt] for mt in range(len(letters)) if z.free_list[o][mt])
            parts.append(f"{n}*{kb << o}kB " + (f"({types}) " if n else ""))
        out.append(f"Node 0 {z.name}: " + "".join(parts) + f"= {total * kb}kB")
    if k.profile.arch == "x86_64":  # hugetlb_show_meminfo_node(): 1 GiB and 2 MiB hstates, none reserved
        for size in (1048576, 2048):
            out.append(f"Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size={size}kB")
    out.append(f"{ns('nr_file_pages')} total pagecache pages")
    swap = rc.swap
    out += [
        f"{ns('nr_swapcached')} pages in swap cache",
        f"Free swap  = {(swap.free if swap else 0) * kb}kB",
        f"Total swap = {(swap.pages if swap else 0) * kb}kB",
    ]
    present = sum(z.present_pages for z in pa.zones if z.populated)
    managed = sum(z.managed_pages for z in pa.zones if z.populated)
    highmem = sum(z.present_pages for z in pa.zones if z.idx in pa._highmem_like())
    out += [
        f"{present} pages RAM",
        f"{highmem} pages HighMem/MovableOnly",
        f"{present - managed} pages reserved",
    ]
    return out


def dump_unreclaimable_slab(k: Kernel) -> list[str]:
    """dump_unreclaimable_slab() (mm/slab_common.c): the caches without SLAB_RECLAIM_ACCOUNT."""
    sl = k.slub
    out = ["Unreclaimable slab info:", "Name                      Used          Total"]
    for s in sl.caches:
        if s.flags & sl.geo.SLAB_RECLAIM_ACCOUNT:
            continue
        num = s.total_objects
        if num > 0:
            active = num - sl.free_objects(s)
            out.append(f"{s.name:<17} {active * s.size // 1024:10d}KB {num * s.size // 1024:10d}KB")
    return out
