"""mempool: a reserve of preallocated elements so that process-context allocations cannot fail.

Models mm/mempool.c and include/linux/mempool.h of Linux 6.18 (the algorithm is
the same as 6.12's; 2.6.24's differs only in details the model does not show:
it had no NOMEMALLOC/NORETRY on the first pass and woke on a 5 s timeout too).
Every profile gets 6.17's handling of a pool with ``min_nr`` 0 (one element kept
anyway); 6.6 and 2.6.24 kept none, which the model does not follow yet.

::

    mempool_alloc(pool, gfp)
      might_alloc(gfp); gfp |= __GFP_NOMEMALLOC | __GFP_NORETRY | __GFP_NOWARN
      gfp_temp = gfp & ~(__GFP_DIRECT_RECLAIM | __GFP_IO)
      repeat:  e = pool->alloc(gfp_temp)          1. the underlying allocator, no direct reclaim
               e or the reserve's top element     2. LIFO stack elements[--curr_nr]
               gfp_temp != gfp: gfp_temp = gfp    3. once more with direct reclaim allowed
               no __GFP_DIRECT_RECLAIM: NULL      4. atomic callers get NULL
               prepare_to_wait(pool->wait, D); io_schedule_timeout(5 * HZ); goto repeat
    mempool_free(e, pool)
      curr_nr < min_nr: elements[curr_nr++] = e; wake_up(&pool->wait)   (refill first)
      else pool->free(e)

Invariants (``k.check()``): 0 <= curr_nr <= min_nr; the elements array (kmalloc'd,
``min_nr`` pointers) holds exactly the reserve, in stack order; a waiter sleeps only
on a pool whose reserve was empty when it went to sleep (so a free wakes it).

Simplified, and said so: no CONFIG_SLUB_DEBUG_ON element poisoning and no KASAN
hooks; the pool's own struct is a 72-byte kzalloc (kmalloc-96) whose fields are
kept in Python, the elements array is real memory holding the element pointers
(for page pools, the page's pfn); the model counts elements handed out, and
``mempool_destroy`` of a pool with elements still out prints a warning (the kernel
does not track them: a later mempool_free would touch freed memory).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import InvariantError, UsageError
from ..records import Record
from ..sched import TASK_UNINTERRUPTIBLE, SpinLock, WaitQueueHead
from .page import Page

if TYPE_CHECKING:  # pragma: no cover
    from ..flags import FlagArg
    from ..machine import Machine as Kernel
    from .slub import KmemCache

__all__ = ["Mempool", "MempoolSubsys", "mempool_init_subsys"]

#: alloc_fn(gfp, pool_data) -> an element (falsy: none); free_fn(element, pool_data)
AllocFn = Callable[[int, Any], Any]
FreeFn = Callable[[Any, Any], None]

ENOMEM = 12
MEMPOOL_STRUCT_SIZE = 72  # sizeof(struct mempool) on x86_64 6.18 (kmalloc-96)


class Mempool(Record, eq=False):
    """struct mempool (mempool_t).  ``Mempool()`` is a zeroed, uninitialised pool for
    ``k.mempool_init`` (an embedded pool); ``k.mempool_create`` makes and initialises one."""

    __match_args__ = ("min_nr", "curr_nr", "elements", "elements_addr", "pool_data", "alloc", "free", "lock", "wait",
                       "addr", "out", "waits", "name")

    min_nr: int = 0
    curr_nr: int = 0
    elements: list[Any]
    elements_addr: int = 0  # the kmalloc'd void *elements[min_nr] (0: uninitialised)
    pool_data: Any = None
    alloc: AllocFn | None = None
    free: FreeFn | None = None
    lock: SpinLock
    wait: WaitQueueHead
    addr: int = 0  # the pool struct's own address (mempool_create), 0 when embedded
    out: int = 0  # elements handed out and not yet freed (the model's count)
    waits: int = 0  # times a caller slept on the pool
    name: str = ""

    def __init__(self, min_nr: int = 0, curr_nr: int = 0, elements: list[Any] | None = None, elements_addr: int = 0,
                 pool_data: Any = None, alloc: AllocFn | None = None, free: FreeFn | None = None,
                 lock: SpinLock | None = None, wait: WaitQueueHead | None = None, addr: int = 0, out: int = 0,
                 waits: int = 0, name: str = "") -> None:
        vars(self).update(min_nr=min_nr, curr_nr=curr_nr, elements=[] if elements is None else elements,
                          elements_addr=elements_addr, pool_data=pool_data, alloc=alloc, free=free,
                          lock=SpinLock("mempool") if lock is None else lock,
                          wait=WaitQueueHead("mempool") if wait is None else wait, addr=addr, out=out, waits=waits,
                          name=name)

    def initialized(self) -> bool:
        """mempool_initialized(): elements != NULL."""
        return self.elements_addr != 0

    def is_saturated(self) -> bool:
        """mempool_is_saturated(): curr_nr >= min_nr."""
        return self.curr_nr >= self.min_nr


class MempoolSubsys:
    """The mempools of one machine (``k.mempool_impl``)."""

    def __init__(self, k: Kernel):
        self.k = k
        self.api = k  # k.kmalloc, k.kfree ...: the machine's dispatch slots
        self.bits = k.gfp.bits  # the GFP bits acted on (0 for a flag the kernel lacks)
        self.word = k.layout.bits // 8
        self.pools: list[Mempool] = []

    # ------------------------------------------------------------------ the reserve stack
    def _store(self, pool: Mempool, i: int, e: Any) -> None:
        """elements[i] = e in the kmalloc'd array (a page's pfn for page pools)."""
        v = e.pfn if isinstance(e, Page) else int(e)
        self.k.write(pool.elements_addr + i * self.word, v.to_bytes(self.word, "little"))

    def add_element(self, pool: Mempool, e: Any) -> None:
        if pool.min_nr != 0 and pool.curr_nr >= pool.min_nr:  # 6.17+: a zero-minimum pool holds one
            self.k.report.bug(["kernel BUG at mm/mempool.c:132!"], kind="mempool_add_element", oops=True,
                              oops_str="invalid opcode")  # BUG_ON(pool->curr_nr >= pool->min_nr)
        self._store(pool, pool.curr_nr, e)
        pool.elements.append(e)
        pool.curr_nr += 1

    def remove_element(self, pool: Mempool) -> Any:
        if pool.curr_nr <= 0:
            self.k.report.bug(["kernel BUG at mm/mempool.c:142!"], kind="mempool_remove_element", oops=True,
                              oops_str="invalid opcode")
        pool.curr_nr -= 1
        return pool.elements.pop()

    # ------------------------------------------------------------------ creation
    def _check_fns(self, what: str, min_nr: int, alloc: Any, free: Any) -> None:
        if isinstance(min_nr, bool) or not isinstance(min_nr, int) or min_nr < 0:
            raise UsageError(f"{what}: min_nr {min_nr!r} must be a non-negative int")
        if not callable(alloc) or not callable(free):
            raise UsageError(f"{what}: alloc_fn and free_fn must be callables alloc(gfp, data), free(e, data)")

    def init_node(self, pool: Mempool, min_nr: int, alloc: AllocFn, free: FreeFn, pool_data: Any,
                  gfp: int, nid: int = -1) -> int:
        """mempool_init_node(): 0, or -ENOMEM (and the pool is left exited)."""
        self._check_fns("mempool_init", min_nr, alloc, free)
        if pool.initialized():
            raise UsageError("mempool_init: the pool is already initialised (mempool_exit it first)")
        pool.min_nr, pool.pool_data, pool.alloc, pool.free = min_nr, pool_data, alloc, free
        pool.lock = SpinLock("mempool")
        pool.wait = WaitQueueHead("mempool")
        # 6.17+: a zero-minimum pool still preallocates one element (max(1, min_nr))
        arr = self.k.slab.kmalloc_array(max(1, min_nr), self.word, gfp)
        if not arr:
            return -ENOMEM
        pool.elements_addr = arr
        while pool.curr_nr < max(1, pool.min_nr):
            e = alloc(gfp, pool_data)  # the caller's gfp, unmodified
            if not e:
                self.exit(pool)
                return -ENOMEM
            self.add_element(pool, e)
        if pool not in self.pools:
            self.pools.append(pool)
        return 0

    def create_node(self, min_nr: int, alloc: AllocFn, free: FreeFn, pool_data: Any, gfp: int,
                    nid: int = -1, name: str = "") -> Mempool | None:
        """mempool_create_node(): kzalloc the struct, mempool_init_node; None on failure."""
        self._check_fns("mempool_create", min_nr, alloc, free)
        # kzalloc_node(): the common layer zeroes as the machine's kernel did (before 2.6.23's
        # slab __GFP_ZERO, kmalloc and memset: 2.6.11's cache_grow() BUG()s on __GFP_ZERO)
        if nid not in (-1, 0):
            raise UsageError(f"mempool_create_node: node {nid} does not exist (this machine has node 0)")
        addr = self.k.slab.kzalloc(MEMPOOL_STRUCT_SIZE, gfp)
        if not addr:
            return None
        pool = Mempool(addr=addr, name=name)
        if self.init_node(pool, min_nr, alloc, free, pool_data, gfp, nid):
            self.api.kfree(addr)
            return None
        return pool

    def exit(self, pool: Mempool) -> None:
        """mempool_exit(): free the reserve and the elements array (safe on a zeroed pool)."""
        while pool.curr_nr:
            e = self.remove_element(pool)
            pool.free(e, pool.pool_data)  # type: ignore[misc]
        if pool.elements_addr:
            self.api.kfree(pool.elements_addr)
        pool.elements_addr = 0
        if pool in self.pools:
            self.pools.remove(pool)

    def destroy(self, pool: Mempool | None) -> None:
        """mempool_destroy(): NULL is fine; elements still out are reported (the model's check)."""
        if pool is None:
            return
        if not isinstance(pool, Mempool):
            raise UsageError(f"mempool_destroy: {pool!r} is not a mempool")
        if pool.out:
            self.k.report.warn("mempool_destroy+0x0/0x0",
                               f"kmemsim: mempool_destroy: {pool.out} element(s) still allocated from the pool "
                               "(the kernel does not check; their mempool_free would use a freed pool)")
        self.exit(pool)
        if pool.addr:
            self.api.kfree(pool.addr)
            pool.addr = 0

    # ------------------------------------------------------------------ alloc and free
    def alloc(self, pool: Mempool, gfp: int) -> Any:
        """mempool_alloc(): an element (never NULL when the caller may sleep), or 0."""
        k = self.k
        if not isinstance(pool, Mempool) or not pool.initialized():
            raise UsageError(f"mempool_alloc: {pool!r} is not an initialised mempool")
        b = self.bits
        if gfp & b.zero:
            k.report.warn_once("mempool __GFP_ZERO", "mempool_alloc_noprof+0x0/0x0")  # VM_WARN_ON_ONCE
        sched = k.sched
        sched.might_alloc(gfp, "mempool_alloc")
        gfp |= b.nomemalloc | b.noretry | b.nowarn
        gfp_temp = gfp & ~(b.direct_reclaim | b.io)
        idle = False  # the last wait timed out with nothing else left to run
        while True:
            e = pool.alloc(gfp_temp, pool.pool_data)  # type: ignore[misc]
            if e:
                pool.out += 1
                return e
            flags = sched.spin_lock_irqsave(pool.lock)
            if pool.curr_nr:
                e = self.remove_element(pool)
                sched.spin_unlock_irqrestore(pool.lock, flags)
                pool.out += 1
                return e
            if gfp_temp != gfp:
                sched.spin_unlock_irqrestore(pool.lock, flags)
                gfp_temp = gfp
                continue
            if not gfp & b.direct_reclaim:
                sched.spin_unlock_irqrestore(pool.lock, flags)
                return 0
            if idle:
                # retried after a wait in which nothing else could run: nothing ever will
                sched.spin_unlock_irqrestore(pool.lock, flags)
                sched.stuck()  # the hung-task report, instead of waiting forever
            sched.prepare_to_wait(pool.wait, TASK_UNINTERRUPTIBLE)
            sched.spin_unlock_irqrestore(pool.lock, flags)
            pool.waits += 1
            try:
                left = sched.schedule_timeout(5 * sched.hz, TASK_UNINTERRUPTIBLE)  # io_schedule_timeout(5*HZ)
            finally:
                sched.finish_wait(pool.wait)
            idle = left == 0 and not sched.others_can_progress()

    def alloc_preallocated(self, pool: Mempool) -> Any:
        """mempool_alloc_preallocated(): a reserve element or 0; never the allocator, never sleeps."""
        sched = self.k.sched
        flags = sched.spin_lock_irqsave(pool.lock)
        if pool.curr_nr:
            e = self.remove_element(pool)
            sched.spin_unlock_irqrestore(pool.lock, flags)
            pool.out += 1
            return e
        sched.spin_unlock_irqrestore(pool.lock, flags)
        return 0

    def free(self, e: Any, pool: Mempool) -> None:
        """mempool_free(): refill the reserve below min_nr and wake a waiter, else pool->free."""
        if not e:
            return
        sched = self.k.sched
        if not isinstance(pool, Mempool) or not pool.initialized():
            raise UsageError(f"mempool_free: {pool!r} is not an initialised mempool")
        pool.out -= 1
        if pool.curr_nr < pool.min_nr:
            flags = sched.spin_lock_irqsave(pool.lock)
            if pool.curr_nr < pool.min_nr:
                self.add_element(pool, e)
                sched.spin_unlock_irqrestore(pool.lock, flags)
                sched.wake_up(pool.wait)
                return
            sched.spin_unlock_irqrestore(pool.lock, flags)
        if pool.min_nr == 0 and pool.curr_nr == 0:
            # 6.17+: the min_nr = 0 edge case -- refill the single element and wake waiters
            flags = sched.spin_lock_irqsave(pool.lock)
            if pool.min_nr == 0 and pool.curr_nr == 0:
                self.add_element(pool, e)
                sched.spin_unlock_irqrestore(pool.lock, flags)
                if pool.wait.waiters:
                    sched.wake_up(pool.wait)
                return
            sched.spin_unlock_irqrestore(pool.lock, flags)
        pool.free(e, pool.pool_data)  # type: ignore[misc]

    def resize(self, pool: Mempool, new_min_nr: int) -> int:
        """mempool_resize(): 0 (a partial grow is fine) or -ENOMEM."""
        k = self.k
        if isinstance(new_min_nr, bool) or not isinstance(new_min_nr, int):
            raise UsageError(f"mempool_resize: new_min_nr {new_min_nr!r} must be an int")
        if new_min_nr <= 0:
            k.report.bug(["kernel BUG at mm/mempool.c:318!"], kind="mempool_resize", oops=True,
                         oops_str="invalid opcode")
        k.sched.might_sleep_at("mm/mempool.c", 319)
        if new_min_nr <= pool.min_nr:
            while new_min_nr < pool.curr_nr:
                e = self.remove_element(pool)
                pool.free(e, pool.pool_data)  # type: ignore[misc]
            pool.min_nr = new_min_nr
            return 0
        arr = k.slab.kmalloc_array(new_min_nr, self.word, self.bits.kernel)
        if not arr:
            return -ENOMEM
        old = pool.elements_addr
        k.memcpy(arr, old, pool.curr_nr * self.word)
        self.api.kfree(old)
        pool.elements_addr = arr
        pool.min_nr = new_min_nr
        while pool.curr_nr < pool.min_nr:
            e = pool.alloc(self.bits.kernel, pool.pool_data)  # type: ignore[misc]
            if not e:
                return 0
            self.add_element(pool, e)
        return 0

    # ------------------------------------------------------------------ the API (kernel names)
    def _gfp(self, gfp_mask: FlagArg, what: str) -> int:
        return self.k.gfp.mask(gfp_mask, f"{what}: gfp_mask")

    def mempool_create(self, min_nr: int, alloc_fn: AllocFn, free_fn: FreeFn, pool_data: Any = None) -> Mempool | None:
        """mempool_create(min_nr, alloc_fn, free_fn, pool_data): a pool with min_nr elements
        preallocated with GFP_KERNEL, or None.  alloc_fn(gfp, pool_data) -> element or 0;
        free_fn(element, pool_data)."""
        return self.create_node(min_nr, alloc_fn, free_fn, pool_data, self.bits.kernel)

    def mempool_create_node(self, min_nr: int, alloc_fn: AllocFn, free_fn: FreeFn, pool_data: Any,
                            gfp_mask: FlagArg, node_id: int = -1) -> Mempool | None:
        """mempool_create_node(min_nr, alloc_fn, free_fn, pool_data, gfp, nid)."""
        return self.create_node(min_nr, alloc_fn, free_fn, pool_data, self._gfp(gfp_mask, "mempool_create_node"),
                                node_id)

    def mempool_init(self, pool: Mempool, min_nr: int, alloc_fn: AllocFn, free_fn: FreeFn,
                     pool_data: Any = None) -> int:
        """mempool_init(pool, ...) for an embedded pool (``kmemsim.Mempool()``): 0 or -ENOMEM."""
        return self.init_node(pool, min_nr, alloc_fn, free_fn, pool_data, self.bits.kernel)

    def mempool_exit(self, pool: Mempool) -> None:
        """mempool_exit(pool): free the reserve of an embedded pool."""
        self.exit(pool)

    def mempool_destroy(self, pool: Mempool | None) -> None:
        """mempool_destroy(pool): NULL (None) is fine."""
        self.destroy(pool)

    def mempool_alloc(self, pool: Mempool, gfp_mask: FlagArg) -> Any:
        """mempool_alloc(pool, gfp): the allocator first, then the reserve; with
        __GFP_DIRECT_RECLAIM it sleeps until an element is freed and never returns NULL."""
        return self.alloc(pool, self._gfp(gfp_mask, "mempool_alloc"))

    def mempool_alloc_preallocated(self, pool: Mempool) -> Any:
        """mempool_alloc_preallocated(pool): a reserve element or 0."""
        return self.alloc_preallocated(pool)

    def mempool_free(self, element: Any, pool: Mempool) -> None:
        """mempool_free(element, pool): refills the reserve (waking a waiter) or frees."""
        self.free(element, pool)

    def mempool_resize(self, pool: Mempool, new_min_nr: int) -> int:
        """mempool_resize(pool, new_min_nr): 0 or -ENOMEM."""
        return self.resize(pool, new_min_nr)

    def mempool_alloc_slab(self, gfp_mask: FlagArg, cache: KmemCache) -> int:
        """mempool_alloc_slab(gfp, pool_data): kmem_cache_alloc (VM_BUG_ON a cache with a ctor)."""
        return self.api.kmem_cache_alloc(cache, gfp_mask)

    def mempool_free_slab(self, element: int, cache: KmemCache) -> None:
        """mempool_free_slab(element, pool_data)."""
        self.api.kmem_cache_free(cache, element)

    def mempool_kmalloc(self, gfp_mask: FlagArg, size: int) -> int:
        """mempool_kmalloc(gfp, pool_data): kmalloc(size, gfp)."""
        return self.api.kmalloc(size, gfp_mask)

    def mempool_kfree(self, element: int, size: int) -> None:
        """mempool_kfree(element, pool_data)."""
        self.api.kfree(element)

    def mempool_alloc_pages(self, gfp_mask: FlagArg, order: int) -> Page | None:
        """mempool_alloc_pages(gfp, pool_data): alloc_pages(gfp, order) (a Page, or None)."""
        return self.k.pages.alloc_pages(self._gfp(gfp_mask, "mempool_alloc_pages"), order)

    def mempool_free_pages(self, page: Page, order: int) -> None:
        """mempool_free_pages(element, pool_data): __free_pages(page, order)."""
        if not isinstance(page, Page):
            raise UsageError("mempool_free_pages() takes a Page (an element of a page pool)")
        self.k.page_alloc.free(page.pfn, order)  # what PageAPI.free_pages_struct() does

    def mempool_create_slab_pool(self, min_nr: int, cache: KmemCache) -> Mempool | None:
        """mempool_create_slab_pool(min_nr, kmem_cache)."""
        if getattr(cache, "ctor", None) is not None:
            self.k.report.bug(["kernel BUG at mm/mempool.c:569!"], kind="mempool_slab_ctor", oops=True,
                              oops_str="invalid opcode")  # VM_BUG_ON(mem->ctor) in mempool_alloc_slab
        return self.mempool_create(min_nr, self.mempool_alloc_slab, self.mempool_free_slab, cache)

    def mempool_create_kmalloc_pool(self, min_nr: int, size: int) -> Mempool | None:
        """mempool_create_kmalloc_pool(min_nr, size)."""
        return self.mempool_create(min_nr, self.mempool_kmalloc, self.mempool_kfree, size)

    def mempool_create_kvmalloc_pool(self, min_nr: int, size: int) -> Mempool | None:
        """mempool_create_kvmalloc_pool(min_nr, size)."""
        util = self.k.util
        return self.mempool_create(min_nr, lambda g, n: util.kvmalloc(n, g), lambda e, n: util.kvfree(e), size)

    def mempool_create_page_pool(self, min_nr: int, order: int) -> Mempool | None:
        """mempool_create_page_pool(min_nr, order): elements are Pages."""
        return self.mempool_create(min_nr, self.mempool_alloc_pages, self.mempool_free_pages, order)

    # ------------------------------------------------------------------ invariants
    def check(self) -> None:
        k = self.k
        for pool in self.pools:
            if not 0 <= pool.curr_nr <= max(1, pool.min_nr) or pool.curr_nr != len(pool.elements):
                raise InvariantError("mempool", f"{pool.name or hex(pool.addr)}: curr_nr {pool.curr_nr}, "
                                     f"min_nr {pool.min_nr}, {len(pool.elements)} elements")
            for i, e in enumerate(pool.elements):
                v = e.pfn if isinstance(e, Page) else int(e)
                got = int.from_bytes(k.read(pool.elements_addr + i * self.word, self.word), "little")
                if got != v:
                    raise InvariantError("mempool", f"{pool.name or hex(pool.addr)}: elements[{i}] holds "
                                         f"{got:#x}, the reserve has {v:#x}")
            for t, _ in pool.wait.waiters:
                if t.state != TASK_UNINTERRUPTIBLE and not t.woken and t is not k.current:
                    raise InvariantError("mempool", f"waiter {t!r} is neither asleep nor woken")


def mempool_init_subsys(m: Kernel) -> None:
    """The machine's mempools (mm/mempool.c has no init of its own: pools are made by their users)."""
    m.mempool_impl = MempoolSubsys(m)
    m.checks.register("mempool", m.mempool_impl.check)
