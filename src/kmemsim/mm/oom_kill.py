"""The OOM killer, the simulated user processes it chooses from, and __show_mem.

Models mm/oom_kill.c (``oom_badness``, ``select_bad_process``, ``dump_header``,
``dump_tasks``/``dump_task``, ``dump_oom_victim``, ``__oom_kill_process``,
``oom_kill_process``, ``out_of_memory``, ``check_panic_on_oom``, the oom_reaper's
message), mm/show_mem.c (``__show_mem``/``show_free_areas``: the "Mem-Info:"
block), mm/swap_state.c (``show_swap_cache_info``), mm/slab_common.c
(``dump_unreclaimable_slab``) and mm/hugetlb.c (``hugetlb_show_meminfo_node``) of
Linux 6.18 (read in the 6.17-rc3 tree; the message formats were checked against
a real 6.18 memcg OOM report, tests/data/host-6.18/oom-memcg.txt).

Three parts, each its own object that :class:`~kmemsim.mm.vmscan.Reclaim` holds:

* :class:`Processes` (``k.vmscan.procs``): the simulated user space -- the task list,
  page faults, exit, and ``current`` while a process faults;
* the OOM killer (``k.vmscan.oom``), one of two implementations chosen once per
  machine by the ``oom_score_adj`` feature (``k.features``):
  :class:`OomKillerScoreAdj` -- 2.6.36's rewrite as 6.18 has it: ``oom_badness()``
  (rss + swap entries + page tables, plus ``oom_score_adj`` -1000..1000 thousandths of
  memory) and 6.18's report; :class:`OomKillerBadness` -- 2.6.24's ``badness()``
  (total_vm, /4 for root, ``oomkilladj`` -16..15 as a shift, -17 OOM_DISABLE, without
  its CPU-time terms) and 2.6.24's messages (``"%s invoked oom-killer: gfp_mask=0x%x,
  order=%d, oomkilladj=%d"``, ``"Out of memory: kill process %d (%s) score %li or a
  child"``, ``"Killed process %d (%s)"``);
* :func:`show_mem_lines`, which reads only what the machine publishes (node counters,
  zones, ``k.vmscan.zone_stats``).

A simulated process (:class:`Process`, ``k.spawn_process``) has anonymous pages
(from the page allocator with GFP_HIGHUSER_MOVABLE|__GFP_ZERO, plus __GFP_COMP by the
``anon_folios`` feature, on the anon LRU, swappable), file pages it maps (page cache of a file named after it),
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
  checks are not modelled; page table pages are a count (pgtables_bytes), not pages;
* every profile prints 6.18's "Mem-Info:" block (2.6.24's show_mem() and 6.6's
  __show_mem() have other fields) and 6.18's task table (6.6's has no rss_anon,
  rss_file, rss_shmem columns).
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..printk import KERN_ERR, KERN_INFO, KERN_WARNING
from .filemap import PG_swapbacked, PG_uptodate
from .mmzone import WMARK_HIGH, WMARK_LOW, WMARK_MIN
from .page import PG
from .swap import size_to_pages

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel
    from ..sched import Task
    from .filemap import AddressSpace, Folio, PageCache
    from .swap import Swap
    from .vmscan import Lruvec

OOM_SCORE_ADJ_MIN = -1000
OOM_SCORE_ADJ_MAX = 1000
OOM_DISABLE = -17  # 2.6.24 oomkilladj
OOM_ADJUST_MIN, OOM_ADJUST_MAX = -16, 15
LONG_MIN = -(1 << 63)
DEFAULT_RATELIMIT_BURST = 10  # oom_kill_process's oom_rs: DEFAULT_RATELIMIT_INTERVAL (5 s), burst 10


class Process:
    """A simulated user process: a task_struct with its mm_struct."""

    def __init__(self, pid: int, comm: str, uid: int, oom_score_adj: int, task: Task):
        self.pid = pid
        self.tgid = pid
        self.comm = comm[:15]  # TASK_COMM_LEN - 1
        self.uid = uid
        self.oom_score_adj = oom_score_adj  # signal->oom_score_adj (2.6.24: oomkilladj)
        self.task: Task = task  # a kmemsim.sched.Task with this pid/comm/uid, for the reports
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


class Processes:
    """The simulated user space (``k.vmscan.procs``): the processes in creation order
    (``tasks``), their page faults and exits, and ``current`` while one of them faults."""

    def __init__(self, k: Kernel, lru: Lruvec, pagecache: PageCache, swap: Swap, gfp_anon: int):
        self.k = k
        self.pa = k.page_alloc
        self.lru = lru
        self.pagecache = pagecache
        self.swap = swap
        #: the gfp of an anonymous fault (GFP_HIGHUSER_MOVABLE|__GFP_ZERO, plus __GFP_COMP for folios)
        self.gfp_anon = gfp_anon
        #: oom_score_adj -1000..1000 (2.6.36+), or 2.6's oomkilladj -16..15 and -17
        self.score_adj = k.features.oom_score_adj
        self.ev = self.pa.vm_events
        self.tasks: list[Process] = []
        self.next_pid = 1000
        #: a process was ever spawned: the OOM killer has a user space to choose from
        self.userspace = False
        self.fault_stack: list[Process] = []

    def pages(self, size: Any, what: str) -> int:
        return size_to_pages(size, what, self.k.page_size)

    def check_oom_score_adj(self, adj: int) -> None:
        if isinstance(adj, bool) or not isinstance(adj, int):
            raise UsageError(f"spawn_process: oom_score_adj {adj!r} must be an int")
        if not self.score_adj:
            if not (OOM_ADJUST_MIN <= adj <= OOM_ADJUST_MAX or adj == OOM_DISABLE):
                raise UsageError(f"oom_score_adj {adj}: 2.6.24's oomkilladj is -16..15, or -17 (OOM_DISABLE)")
        elif not OOM_SCORE_ADJ_MIN <= adj <= OOM_SCORE_ADJ_MAX:
            raise UsageError(f"oom_score_adj {adj}: must be -1000..1000")

    # ================================================================ processes
    def spawn(self, name: str, rss: Any = 0, *, file: Any = 0, shmem: Any = 0, swap: Any = 0, vm: Any = None,
              oom_score_adj: int = 0, uid: int = 0, d_state: bool = False) -> Process:
        """A new user process (see :meth:`kmemsim.mm.vmscan.Reclaim.spawn_process`)."""
        if not isinstance(name, str) or not name:
            raise UsageError(f"spawn_process: name {name!r} must be a non-empty string")
        anon = self.pages(rss, "rss")
        nfile = self.pages(file, "file")
        nshmem = self.pages(shmem, "shmem")
        nswap = self.pages(swap, "swap")
        total = self.pages(vm, "vm") if vm is not None else 0
        if isinstance(uid, bool) or not isinstance(uid, int) or uid < 0:
            raise UsageError(f"spawn_process: uid {uid!r} must be an int >= 0")
        self.check_oom_score_adj(oom_score_adj)
        if nswap and self.swap.nr_free < nswap:
            raise UsageError(f"spawn_process: swap={swap!r} needs {nswap} free swap slots, the machine has "
                             f"{self.swap.nr_free} (k.swapon(size) first)")
        from ..sched import Task

        self.next_pid += 1
        pid = self.next_pid
        p = Process(pid, name, uid, oom_score_adj, Task(pid=pid, comm=name[:15], uid=uid))
        p.d_state = bool(d_state)
        self.tasks.append(p)
        self.userspace = True
        p.vm_extra = max(0, total - (anon + nfile + nshmem + nswap))
        p.anon_vm = anon + nswap  # mmap()ed at once, then faulted in page by page
        for _ in range(nswap):  # memory that was swapped out before we look
            slot = self.swap.alloc()
            assert slot is not None  # checked above
            p.swapents[p.anon_next] = slot
            p.anon_next += 1
        with self.faulting(p):
            if nfile:
                self.map_file(p, self.pagecache.file(name), nfile)
            if nshmem and p.alive:
                p.shmem = self.pagecache.file(f"/dev/shm/{name}.{pid}", shmem=True)
                self.map_shmem(p, p.shmem, nshmem)
            if anon and p.alive:
                self.fault_anon(p, anon)
        return p

    def process(self, pid_or_proc: Any) -> Process:
        """The Process itself, or the one with this pid."""
        if isinstance(pid_or_proc, Process):
            return pid_or_proc
        for p in self.tasks:
            if p.pid == pid_or_proc:
                return p
        raise UsageError(f"no process with pid {pid_or_proc!r}")

    def fault(self, proc: Any, size: Any) -> int:
        """The process touches ``size`` more of anonymous memory; the pages faulted in."""
        p = self.process(proc)
        if not p.alive:
            raise UsageError(f"{p!r} has exited")
        n = self.pages(size, "size")
        p.anon_vm += n  # the heap grows (brk) by what it touches
        with self.faulting(p):
            return self.fault_anon(p, n)

    def swapin(self, proc: Any, nr_pages: int | None = None) -> int:
        """do_swap_page() for the process's swapped-out pages; how many came back."""
        p = self.process(proc)
        if not p.alive:
            raise UsageError(f"{p!r} has exited")
        n = 0
        k = self.k
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
                data = self.swap.read(slot)
                if data is not None:
                    k.phys.write(pfn << k.page_shift, data)
                self.swap.free_slot(slot)
                self.ev["pswpin"] += 1
                self.ev["pgmajfault"] += 1
                self.ev["pgfault"] += 1
                self.add_anon(p, pfn, index)
                n += 1
        return n

    def touch(self, proc: Any) -> int:
        """Every pte of the process becomes young; the pages it maps."""
        p = self.process(proc)
        n = 0
        for folio in [*p.anon.values(), *p.file_maps, *p.shmem_maps]:
            folio.young = True
            n += 1
        return n

    def kill(self, proc: Any) -> int:
        """kill -9: exit_mmap(); the pages freed."""
        p = self.process(proc)
        if not p.alive:
            raise UsageError(f"{p!r} has already exited")
        return self.exit_mmap(p)

    def fault_anon(self, p: Process, n: int) -> int:
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
            self.add_anon(p, pfn, p.anon_next)
            p.anon_next += 1
            done += 1
        return done

    def add_anon(self, p: Process, pfn: int, index: int) -> None:
        """folio_add_new_anon_rmap + folio_add_lru_vma: a new anonymous page, mapped, young."""
        lru = self.lru
        folio = lru.new_folio(pfn, p, index, int(PG_uptodate | PG_swapbacked))
        folio.mappers.append(p)
        folio.young = True
        p.anon[index] = folio
        lru.stat["nr_anon_pages"] += 1
        lru.add(folio)

    def map_file(self, p: Process, f: AddressSpace, n: int) -> None:
        """mmap of the file's first ``n`` pages, all faulted in (read from the page cache)."""
        p.file_vm += n
        for index in range(n):
            if not p.alive:
                return
            folio = f.pages.get(index)
            if folio is None:
                folio = self.pagecache.filemap_alloc_folio(f, self.pagecache.gfp, index)
                if folio is None or not p.alive:
                    return
            self.map_folio(p, folio, p.file_maps)

    def map_shmem(self, p: Process, f: AddressSpace, n: int) -> None:
        p.shmem_vm += n
        for index in range(n):
            if not p.alive:
                return
            folio = self.pagecache.filemap_alloc_folio(f, self.pagecache.gfp, index)
            if folio is None or not p.alive:
                return
            self.map_folio(p, folio, p.shmem_maps)

    def map_folio(self, p: Process, folio: Folio, into: dict[Folio, None]) -> None:
        if p in folio.mappers:
            return
        folio.mappers.append(p)
        folio.young = True
        into[folio] = None
        if len(folio.mappers) == 1:
            self.lru.stat["nr_mapped"] += 1
        self.ev["pgfault"] += 1

    def exit_mmap(self, p: Process) -> int:
        """exit_mmap(): unmap and free everything the process owns."""
        freed = self.free_anon(p)
        for slot in p.swapents.values():
            self.swap.free_slot(slot)
        p.swapents.clear()
        lru = self.lru
        for folio in list(p.file_maps):
            lru.unmap_one(folio, p)
        for folio in list(p.shmem_maps):
            lru.unmap_one(folio, p)
        if p.shmem is not None and not p.shmem.deleted:
            freed += self.pagecache.unlink(p.shmem)
        p.alive = False
        if p in self.tasks:
            self.tasks.remove(p)
        return freed

    def free_anon(self, p: Process) -> int:
        """Unmap and free the process's resident anonymous pages (exit, the oom reaper)."""
        lru = self.lru
        freed = 0
        for folio in list(p.anon.values()):
            lru.unmap_folio(folio)
            if folio.lru >= 0:
                lru.delete(folio)
            lru.free_folio(folio)
            freed += 1
        p.anon.clear()
        return freed

    # ================================================================ current
    def current(self) -> Process | None:
        """``current``: the faulting process while its page faults allocate, else None
        (the machine's current task, which is no user process)."""
        return self.fault_stack[-1] if self.fault_stack else None

    def current_task(self) -> Task:
        p = self.current()
        return p.task if p is not None else self.k.current

    @contextlib.contextmanager
    def faulting(self, p: Process) -> Iterator[None]:
        """The body runs as a page fault of ``p``: ``current`` is ``p``."""
        self.fault_stack.append(p)
        try:
            yield
        finally:
            self.fault_stack.pop()

    @contextlib.contextmanager
    def as_current(self) -> Iterator[None]:
        """Print as the faulting process (the CPU line of dump_stack names current)."""
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

    # ================================================================ checks
    def swap_owners(self) -> Iterator[tuple[int, str]]:
        """(slot, owner) of every swap entry a process's page tables hold."""
        for p in self.tasks:
            for slot in p.swapents.values():
                yield slot, f"{p.comm}:{p.pid}"

    def problems(self) -> list[str]:
        errs: list[str] = []
        folios = self.lru.folios
        for p in self.tasks:
            if not p.alive:
                errs.append(f"{p!r} has exited but is in the task list")
            for index, folio in p.anon.items():
                if folios.get(folio.pfn) is not folio or folio.mapping is not p or folio.index != index:
                    errs.append(f"{p!r} anon[{index}] is {folio!r}")
            for folio in (*p.file_maps, *p.shmem_maps):
                if p not in folio.mappers or folios.get(folio.pfn) is not folio:
                    errs.append(f"{p!r} maps {folio!r}, which does not list it")
            if p.rss != len(p.anon) + len(p.file_maps) + len(p.shmem_maps):
                errs.append(f"{p!r}: rss does not equal its pages")
            for index in p.swapents:
                if index in p.anon:
                    errs.append(f"{p!r} page {index} is both resident and swapped")
        return errs


class OomKiller:
    """What both OOM killers share: the sysctls, the report rate limit, the kill itself
    and the oom reaper.  :meth:`badness` and :meth:`out_of_memory` are the kernel's."""

    def __init__(self, k: Kernel, lru: Lruvec, swap: Swap, procs: Processes):
        self.k = k
        self.pa = k.page_alloc
        self.lru = lru
        self.swap = swap
        self.procs = procs
        self.ev = self.pa.vm_events
        self.gfp_fs = k.gfp.bits.fs
        self.sysctl_panic_on_oom = 0
        self.sysctl_oom_kill_allocating_task = 0
        self.sysctl_oom_dump_tasks = 1
        self.oom_rs_begin = -(1 << 62)
        self.oom_rs_printed = 0

    def totalpages(self) -> int:
        """constrained_alloc(): totalram_pages() + total_swap_pages."""
        return sum(z.managed_pages for z in self.pa.zones) + self.swap.total

    def badness(self, p: Process, totalpages: int) -> int:
        """The points this kernel's OOM killer gives ``p`` (the highest is killed)."""
        raise NotImplementedError

    def out_of_memory(self, gfp: int, order: int, hz: int) -> bool:
        """out_of_memory(): True if memory is on its way back (or the caller should retry)."""
        raise NotImplementedError

    def ratelimit_ok(self) -> bool:
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

    def current_adj(self) -> int:
        cur = self.procs.current()
        return cur.oom_score_adj if cur is not None else 0

    def dump_stack(self) -> None:
        """dump_stack() as the faulting process."""
        k = self.k
        with self.procs.as_current():
            k.printk("\n".join(k.report.dump_stack_lines()), KERN_WARNING)

    def reap_or_exit(self, victim: Process) -> None:
        """The victim exits and its memory is freed (stuck in D state, the reaper reaps it)."""
        if victim.d_state:
            self.oom_reap_task(victim)
        else:
            self.procs.exit_mmap(victim)

    def oom_reap_task(self, p: Process) -> None:
        """__oom_reap_task_mm(): unmap and free the anonymous memory of a victim that cannot
        exit; MMF_OOM_SKIP hides it from the next selection."""
        self.procs.free_anon(p)
        kb = self.k.page_size >> 10
        self.k.printk(f"oom_reaper: reaped process {p.pid} ({p.comm}), now anon-rss:{p.rss_anon * kb}kB, "
                      f"file-rss:{p.rss_file * kb}kB, shmem-rss:{p.rss_shmem * kb}kB", KERN_INFO)
        p.oom_skip = True


class OomKillerScoreAdj(OomKiller):
    """The OOM killer since 2.6.36's rewrite, as 6.18 has it: oom_badness(), the
    oom_score_adj scale, select_bad_process, dump_header and its report."""

    def badness(self, p: Process, totalpages: int) -> int:
        """oom_badness() (6.18): rss + swap entries + page tables in pages, plus
        oom_score_adj thousandths of the memory; LONG_MIN for the unkillable."""
        if not p.alive or p.oom_score_adj == OOM_SCORE_ADJ_MIN or p.oom_skip:
            return LONG_MIN
        points = p.rss + len(p.swapents) + p.pgtables_bytes(self.k) // self.k.page_size
        return points + p.oom_score_adj * (totalpages // 1000)

    def select_bad_process(self, totalpages: int, sysrq: bool = False) -> tuple[Process | None, int, bool]:
        """select_bad_process(): (chosen, points, aborted); the last one wins a tie."""
        chosen, chosen_points = None, LONG_MIN
        for p in self.procs.tasks:
            if p.oom_victim and p.alive and not sysrq:
                if p.oom_skip:
                    continue
                return None, chosen_points, True  # a victim is still on its way out: wait
            points = self.badness(p, totalpages)
            if points == LONG_MIN or points < chosen_points:
                continue
            chosen, chosen_points = p, points
        return chosen, chosen_points, False

    def out_of_memory(self, gfp: int, order: int, hz: int) -> bool:
        """out_of_memory(): kill the "best" process; True if memory is on its way back
        (or the caller should retry anyway: a __GFP_FS-less allocation).  ``order`` -1 is
        SysRq-f (is_sysrq_oom): no panic, and a victim still exiting does not stop it."""
        sysrq = order == -1
        cur = self.procs.current()
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
            return False  # not reached: panic() raises
        self.oom_kill_process(chosen, gfp, order, hz, "Out of memory")
        return True

    def oom_kill_process(self, victim: Process, gfp: int, order: int, hz: int, message: str) -> None:
        if self.ratelimit_ok():
            self.dump_header(gfp, order, hz, victim)
            self.dump_oom_victim(victim)
        self.kill(victim, message)

    def dump_header(self, gfp: int, order: int, hz: int, victim: Process | None) -> None:
        """dump_header(): who invoked, the stack, Mem-Info, the task table."""
        k = self.k
        k.printk(f"{self.procs.current_task().comm} invoked oom-killer: gfp_mask={gfp:#x}({k.gfp.format(gfp)}), "
                 f"order={order}, oom_score_adj={self.current_adj()}", KERN_WARNING)
        self.dump_stack()
        k.printk("\n".join(show_mem_lines(k, hz)), KERN_WARNING)
        if self.should_dump_unreclaim_slab():
            k.printk("\n".join(dump_unreclaimable_slab(k)), KERN_INFO)
        if self.sysctl_oom_dump_tasks:
            self.dump_tasks()

    def should_dump_unreclaim_slab(self) -> bool:
        return self.k.node_stats.get("nr_slab_unreclaimable") > sum(self.lru.nr_lru)

    def dump_tasks(self) -> None:
        k = self.k
        rows = ["Tasks state (memory values in pages):",
                "[  pid  ]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes swapents "
                "oom_score_adj name"]
        for p in self.procs.tasks:
            if not p.alive:
                continue
            rows.append(f"[{p.pid:7d}] {p.uid:5d} {p.tgid:5d} {p.total_vm:8d} {p.rss:8d} {p.rss_anon:8d} "
                        f"{p.rss_file:8d} {p.rss_shmem:9d} {p.pgtables_bytes(k):8d} {len(p.swapents):8d}         "
                        f"{p.oom_score_adj:5d} {p.comm}")
        k.printk("\n".join(rows), KERN_INFO)

    def dump_oom_victim(self, victim: Process) -> None:
        self.k.printk("oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed=0,global_oom,"
                      f"task_memcg=/,task={victim.comm},pid={victim.pid},uid={victim.uid}", KERN_INFO)

    def kill(self, victim: Process, message: str) -> None:
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
        self.reap_or_exit(victim)


class OomKillerBadness(OomKiller):
    """The OOM killer before 2.6.36, as 2.6.24 has it: badness() by total_vm with the
    oomkilladj shift, panic_on_oom first, and 2.6.24's messages.  (2.6.11 chose the same
    way but printed its own, shorter report: not modelled.)"""

    def badness(self, p: Process, totalpages: int = 0) -> int:
        """2.6.24 badness(): total_vm, /4 for root, shifted by oomkilladj (CPU and run
        time are not modelled: their divisors are 1).  ``totalpages`` is not used."""
        points = p.total_vm
        if p.uid == 0:
            points //= 4
        if p.oom_score_adj > 0:
            points = max(points, 1) << p.oom_score_adj
        elif p.oom_score_adj < 0:
            points >>= -p.oom_score_adj
        return points

    def out_of_memory(self, gfp: int, order: int, hz: int) -> bool:
        """2.6.24 out_of_memory(): panic_on_oom, then select_bad_process by badness()
        (``hz`` is not used: 2.6.24's show_mem showed every zone)."""
        k = self.k
        if self.sysctl_panic_on_oom == 2:
            k.report.panic("out of memory. Compulsory panic_on_oom is selected.")
        if self.sysctl_panic_on_oom:
            k.report.panic("out of memory. panic_on_oom is selected")
        cur = self.procs.current()
        if self.sysctl_oom_kill_allocating_task and cur is not None and cur.alive:
            self.kill(cur, gfp, order, 0, "Out of memory (oom_kill_allocating_task)")
            return True
        chosen, points = None, 0
        for p in self.procs.tasks:
            if not p.alive:
                continue
            if p.oom_victim and not p.oom_skip:
                return True  # TIF_MEMDIE: somebody is already dying
            if p.oom_score_adj == OOM_DISABLE:
                continue
            pts = self.badness(p)
            if pts > points or chosen is None:
                chosen, points = p, pts
        if chosen is None:
            k.report.panic("Out of memory and no killable processes...")
            return False  # not reached: panic() raises
        self.kill(chosen, gfp, order, points, "Out of memory")
        return True

    def kill(self, victim: Process, gfp: int, order: int, points: int, message: str) -> None:
        """oom_kill_process() of 2.6.24: the report (rate limited), the kill lines, the exit.
        2.6.11 (without ``oom_report_header``): "oom-killer: gfp_mask=0x%x", show_free_areas()
        and "Out of Memory: Killed process %d (%s)." (mm/oom_kill.c:192, 275-276)."""
        k = self.k
        if not k.features.oom_report_header:
            k.printk(f"oom-killer: gfp_mask={gfp:#x}", KERN_WARNING)
            k.printk("\n".join(show_mem_lines(k, len(self.pa.zones) - 1)), KERN_WARNING)
            k.printk(f"Out of Memory: Killed process {victim.pid} ({victim.comm}).", KERN_ERR)
            self.ev["oom_kill"] += 1
            victim.oom_victim = True
            self.reap_or_exit(victim)
            return
        if self.ratelimit_ok():
            k.printk(f"{self.procs.current_task().comm} invoked oom-killer: gfp_mask={gfp:#x}, order={order}, "
                     f"oomkilladj={self.current_adj()}", KERN_WARNING)
            self.dump_stack()
            k.printk("\n".join(show_mem_lines(k, len(self.pa.zones) - 1)), KERN_WARNING)
        k.printk(f"{message}: kill process {victim.pid} ({victim.comm}) score {points} or a child", KERN_ERR)
        k.printk(f"Killed process {victim.pid} ({victim.comm})", KERN_ERR)
        self.ev["oom_kill"] += 1
        victim.oom_victim = True
        self.reap_or_exit(victim)


# ===================================================================== __show_mem
def show_mem_lines(k: Kernel, max_zone_idx: int | None = None) -> list[str]:
    """__show_mem(filter, nodemask, max_zone_idx) (mm/show_mem.c, 6.18): "Mem-Info:",
    the global counters, the node line, a line and lowmem_reserve[] per zone up to
    ``max_zone_idx`` (gfp_zone of the allocation), the free lists, hugetlb, page
    cache, swap and RAM totals."""
    pa = k.page_alloc
    if pa.pcp26:  # 2.6: show_mem() / show_free_areas() (show_mem_lines_26 below)
        return show_mem_lines_26(k)
    kb = k.page_size >> 10
    if max_zone_idx is None:
        max_zone_idx = len(pa.zones) - 1
    ns = k.node_stats.get
    zones = [z for z in pa.zones if z.populated and z.idx <= max_zone_idx]
    free_pcp = sum(z.pcp_count for z in zones)
    free = sum(z.free_pages for z in pa.zones)
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
        unreclaimable = "yes" if ns("_node_unreclaimable") else "no"
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
        zs = k.vmscan.zone_stats(z)
        out.append(
            f"Node 0 {z.name} free:{z.free_pages * kb}kB boost:{z.watermark_boost * kb}kB "
            f"min:{z.wmark(WMARK_MIN) * kb}kB low:{z.wmark(WMARK_LOW) * kb}kB high:{z.wmark(WMARK_HIGH) * kb}kB "
            f"reserved_highatomic:{z.nr_reserved_highatomic * kb}KB free_highatomic:{z.nr_free_highatomic * kb}KB "
            f"active_anon:{zs['nr_zone_active_anon'] * kb}kB inactive_anon:{zs['nr_zone_inactive_anon'] * kb}kB "
            f"active_file:{zs['nr_zone_active_file'] * kb}kB inactive_file:{zs['nr_zone_inactive_file'] * kb}kB "
            f"unevictable:{zs['nr_zone_unevictable'] * kb}kB writepending:{zs['nr_zone_write_pending'] * kb}kB "
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
    out += [
        f"{ns('nr_swapcached')} pages in swap cache",
        f"Free swap  = {ns('_swap_free') * kb}kB",
        f"Total swap = {ns('_swap_total') * kb}kB",
    ]
    present = sum(z.present_pages for z in pa.zones if z.populated)
    managed = sum(z.managed_pages for z in pa.zones if z.populated)
    highmem = sum(z.present_pages for z in pa.zones if z.name in ("HighMem", "Movable"))  # is_highmem()
    out += [
        f"{present} pages RAM",
        f"{highmem} pages HighMem/MovableOnly",
        f"{present - managed} pages reserved",
    ]
    return out


def dump_unreclaimable_slab(k: Kernel) -> list[str]:
    """dump_unreclaimable_slab() (mm/slab_common.c): the caches without SLAB_RECLAIM_ACCOUNT."""
    impl = k.slab_impl
    reclaim = k.slab_flags.value("SLAB_RECLAIM_ACCOUNT")
    out = ["Unreclaimable slab info:", "Name                      Used          Total"]
    for s in impl.caches:
        if s.flags & reclaim:
            continue
        active, num, size = impl.cache_usage(s)
        if num > 0:
            out.append(f"{s.name:<17} {active * size // 1024:10d}KB {num * size // 1024:10d}KB")
    return out


# =========================================================================== 2.6 Mem-info
# The Mem-info block of the 2.6 kernels: show_free_areas() and i386's show_mem().
#
# Models, for the profiles with 2.6's hot and cold per-CPU lists (``features.pcp_cold_list``):
#
# * 2.6.11 mm/page_alloc.c show_free_areas() (lines 1158-1266): the per-CPU lines of every
#   zone with their low, high and batch marks (``pcp_low_mark``), "Free pages:", one Active
#   line, then every zone (populated or not) and its free lists.  2.6.11's page allocation
#   failure printed no Mem-info (``warn_alloc_show_mem``), and its OOM killer printed this
#   block alone after "oom-killer: gfp_mask=0x%x" (mm/oom_kill.c:275-276);
# * 2.6.24 arch/x86/mm/pgtable_32.c show_mem() (lines 27-72): "Mem-info:", show_free_areas()
#   (mm/page_alloc.c:1787-1883, populated zones only, the hot and cold lists' high, batch and
#   count), "Free swap:", and the page counts of the memory map.
#
# The 6.x block is ``show_mem_lines`` (6.18's __show_mem), which hands the
# 2.6 kernels to :func:`show_mem_lines_26`.  Configuration, as the captures' kernels
# (tests/data/classic): no NUMA (no "Node N" prefix), and show_swap_cache_info() only when
# the machine has swap (the captures' kernels had no CONFIG_SWAP).


def _free_lists(k: Kernel, z, kb: int) -> str:  # noqa: ANN001 - a Zone
    total = 0
    parts = []
    for o in range(k.page_alloc.max_order + 1):
        n = z.nr_free[o]
        total += n << o
        parts.append(f"{n}*{kb << o}kB ")
    return f"{z.name}: " + "".join(parts) + f"= {total * kb}kB"


def show_free_areas_26(k: Kernel) -> list[str]:
    """show_free_areas() of 2.6.11 (``pcp_low_mark``) or of 2.6.24."""
    pa = k.page_alloc
    kb = k.page_size >> 10
    ns = k.node_stats.get
    rc = k.vmscan
    out: list[str] = []
    old = k.features.pcp_low_mark
    zones = pa.zones if old else [z for z in pa.zones if z.populated]
    active = inactive = 0
    zlru = {}
    for z in pa.zones:
        s = rc.zone_stats(z)
        a = s["nr_zone_active_anon"] + s["nr_zone_active_file"]
        i = s["nr_zone_inactive_anon"] + s["nr_zone_inactive_file"]
        zlru[z.idx] = (a, i)
        active += a
        inactive += i
    free = sum(z.free_pages for z in pa.zones)
    slab = ns("nr_slab_reclaimable") + ns("nr_slab_unreclaimable")
    for z in zones:
        if old:
            if not z.present_pages:
                out.append(f"{z.name} per-cpu: empty")
                continue
            out.append(f"{z.name} per-cpu:")
            for pcp in z.pcp:
                for temp, t in zip(("hot", "cold"), pcp.temp, strict=True):
                    out.append(f"cpu {pcp.cpu} {temp}: low {t.low}, high {t.high}, batch {t.batch}")
        else:
            out.append(f"{z.name} per-cpu:")
            for pcp in z.pcp:
                hot, cold = pcp.temp
                out.append(f"CPU {pcp.cpu:4d}: Hot: hi:{hot.high:5d}, btch:{hot.batch:4d} usd:{hot.count:4d}   "
                           f"Cold: hi:{cold.high:5d}, btch:{cold.batch:4d} usd:{cold.count:4d}")
    if old:
        high_free = sum(z.free_pages for z in pa.zones if z.idx in pa.highmem_like())
        out.append("")
        out.append(f"Free pages: {free * kb:11d}kB ({high_free * kb}kB HighMem)")
        out.append(f"Active:{active} inactive:{inactive} dirty:{ns('nr_dirty')} writeback:{ns('nr_writeback')} "
                   f"unstable:0 free:{free} slab:{slab} mapped:{ns('nr_mapped')} "
                   f"pagetables:{ns('nr_page_table_pages')}")
    else:
        out.append(f"Active:{active} inactive:{inactive} dirty:{ns('nr_dirty')} writeback:{ns('nr_writeback')} "
                   "unstable:0")
        out.append(f" free:{free} slab:{slab} mapped:{ns('nr_mapped')} pagetables:{ns('nr_page_table_pages')} "
                   "bounce:0")
    unreclaimable = "yes" if ns("_node_unreclaimable") else "no"
    for z in zones:
        a, i = zlru[z.idx]
        out.append(f"{z.name} free:{z.free_pages * kb}kB min:{z.watermark[WMARK_MIN] * kb}kB "
                   f"low:{z.watermark[WMARK_LOW] * kb}kB high:{z.watermark[WMARK_HIGH] * kb}kB active:{a * kb}kB "
                   f"inactive:{i * kb}kB present:{z.present_pages * kb}kB pages_scanned:0 "
                   f"all_unreclaimable? {unreclaimable if z.populated else 'no'}")
        out.append("lowmem_reserve[]: " + " ".join(str(v) for v in z.lowmem_reserve))
    for z in zones:
        out.append(f"{z.name}: empty" if not z.present_pages else _free_lists(k, z, kb))
    if ns("_swap_total"):  # show_swap_cache_info(): CONFIG_SWAP (the captures' kernels had none)
        out.append("Swap cache: add 0, delete 0, find 0/0, race 0+0")
        out.append(f"Free swap  = {ns('_swap_free') * kb}kB")
        out.append(f"Total swap = {ns('_swap_total') * kb}kB")
    return out


def show_mem_lines_26(k: Kernel) -> list[str]:
    """show_mem() of 2.6 i386: 2.6.24's "Mem-info:" block with the memory map's page counts;
    2.6.11's OOM killer and failure report called show_free_areas() alone."""
    if k.features.pcp_low_mark:
        return show_free_areas_26(k)
    pa = k.page_alloc
    kb = k.page_size >> 10
    ns = k.node_stats.get
    out = ["Mem-info:", *show_free_areas_26(k), f"Free swap:       {ns('_swap_free') * kb:6d}kB"]
    mm = k.memmap
    total = k.max_pfn  # node_spanned_pages: FLATMEM, every pfn below max_pfn
    reserved = mm.count("flags", 0, total).get(PG.reserved, 0)
    highmem = sum(z.spanned_pages for z in pa.zones if z.idx in pa.highmem_like())
    shared = sum(max(0, pa.get_ref(pfn) - 1) for pfn in pa.allocated)
    out += [
        f"{total} pages of RAM",
        f"{highmem} pages of HIGHMEM",
        f"{reserved} reserved pages",
        f"{shared} pages shared",
        f"{ns('nr_swapcached')} pages swap cached",
        f"{ns('nr_dirty')} pages dirty",
        f"{ns('nr_writeback')} pages writeback",
        f"{ns('nr_mapped')} pages mapped",
        f"{ns('nr_slab_reclaimable') + ns('nr_slab_unreclaimable')} pages slab",
        f"{ns('nr_page_table_pages')} pages pagetables",
    ]
    return out
