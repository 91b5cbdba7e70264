"""SLAB: Mark Hemment's and Manfred Spraul's slab allocator, as 2.6.11, 2.6.24 and 6.6 had it.

Models mm/slab.c (and, for 6.6, the parts of mm/slab_common.c that SLAB used) of
Linux 2.6.11, 2.6.24 and 6.6, chosen with ``slab_allocator=slab``; each difference
between the three is a named feature (``kmemsim.features``), never a version test.

The structures of one cache (one node: no NUMA in the model, so no alien caches --
the kernel gives them only to NUMA machines, ``use_alien_caches = 0`` on one node)::

    kmem_cache (SlabCache)
      array[cpu] ──> array_cache     avail, limit, batchcount, touched, entry[limit]
      batchcount, limit, shared      the tunables (/proc/slabinfo "tunables")
      buffer_size, num, gfporder     the geometry (objsize, objperslab, 2^order pages)
      colour, colour_off             colouring: slab n starts colour_off * (n mod colour)
      slabp_cache                    off-slab management comes from this general cache
      node: kmem_list3 (2.6.24: kmem_list3, 6.6: kmem_cache_node; 2.6.11: inside kmem_cache)
        slabs_partial ─> slab ─> slab      at least one object free, one in use
        slabs_full    ─> slab              every object in use
        slabs_free    ─> slab              no object in use
        free_objects, free_limit           free objects on the lists; above the limit
                                           free_block() gives empty slabs back
        shared ──> array_cache             objects passed between CPUs (sharedfactor)
        colour_next, next_reap, free_touched

    a slab (2^gfporder pages), 2.6 (on-slab management; off-slab: struct slab and bufctl
    are an object of slabp_cache and the slab starts with the colour)::

      page_address ─> | colour | struct slab | bufctl[num] | pad | obj 0 | obj 1 | ... |
                               s_mem = page + colouroff ─────────────> ^
      bufctl[i] is the index of the next free object after i; slab->free the first

    6.6: the slab descriptor is struct page (struct slab); the freelist is an index array
    (freelist_idx_t, one byte) at the end of the slab, off the slab (kmalloc'd), or --
    OBJFREELIST_SLAB -- inside an object that is itself free; slab->active counts the
    objects in use and freelist[active..num-1] are the free ones.

The paths::

    kmem_cache_alloc ─> __cache_alloc: this CPU's array_cache has an object? pop it (LIFO)
                         else cache_alloc_refill: batchcount objects from the shared array,
                         else from slabs_partial, then slabs_free, else cache_grow()
    kmem_cache_free  ─> __cache_free: room in this CPU's array? push, else
                         cache_flusharray: batchcount oldest objects to the shared array,
                         else free_block() to their slabs (lists fixed up, empty slabs
                         beyond free_limit destroyed)
    cache_reap (every 2 s per CPU, a deferrable timer here): drains a fifth of an untouched
       CPU array; every 4 s per cache the shared array, and some of slabs_free

Invariants (checked by ``k.check()``, "slab"):

* every slab of a cache is on exactly one of its lists, the one its inuse count says
  (0: free, num: full, else partial); ``nr pages`` = slabs << gfporder, each allocated;
* each slab's free chain (bufctl / freelist index) visits exactly num - inuse distinct
  objects, none of them in use;
* ``free_objects`` equals the free objects on the lists; an object in a CPU or shared
  array is in use on its slab (the arrays hold allocated objects), and appears once;
* arrays hold at most their limit; a cache's tunables satisfy 1 <= batchcount <= limit.

What is not modelled, said here: NUMA (one node, no alien caches, no mempolicy spread),
CPU hotplug, the kmem_cache_node lock and interrupt disabling (the model runs one CPU at a
time), CONFIG_DEBUG_PAGEALLOC, SLAB_DESTROY_BY_RCU's call_rcu delay (slabs are freed at
once), pfmemalloc slabs, memcg accounting, KASAN/KFENCE.  The management bytes (struct
slab, bufctl, the freelist index) and the array entries live in the model's structures,
not in the bytes of the slab or of the kmalloc'd array: their memory is taken (the
objects start where the kernel's did, the arrays are real kmalloc objects) but a stray
write into it does not change the free chains.  The per-CPU arrays of 6.6 come from the
percpu allocator there, which is not modelled (they take no memory here).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

from ..errors import ConfigError, InvariantError, UsageError
from ..sched import TimerList
from ..slab_flags import ZERO_SIZE_PTR
from .slab_util import (
    SLABINFO_HEADER,
    cache_line_size,
    ctor_caller,
    krealloc_ksize,
    reraise_ctor_error,
    soft_lockup,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

__all__ = ["SlabAllocator", "SlabCache", "ClassicSlab", "ArrayCache", "KmemList3", "slab_init", "cache_line_size"]

BATCHREFILL_LIMIT = 16
#: cache_reap's periods: REAPTIMEOUT_CPUC / REAPTIMEOUT_AC (2 s) and REAPTIMEOUT_LIST3 / _NODE (4 s)
REAPTIMEOUT_CPUC_S = 2
REAPTIMEOUT_LIST3_S = 4
BREAK_GFP_ORDER_HI = 1  # slab_break_gfp_order / slab_max_order on machines above 32 MiB
BREAK_GFP_ORDER_LO = 0
#: 2.6.11 (no KMALLOC_MAX_SIZE): MAX_OBJ_ORDER = MAX_GFP_ORDER = 5 with an MMU
MAX_GFP_ORDER_2_6_11 = 5
CFLGS_OFF_SLAB = 0x80000000
CFLGS_OBJFREELIST_SLAB = 0x40000000


def _struct_size(fields: list[tuple[int, int]]) -> int:
    """sizeof() of a C struct of (size, alignment) members, as gcc lays it out."""
    off = 0
    top = 1
    for size, align in fields:
        off = -(-off // align) * align + size
        top = max(top, align)
    return -(-off // top) * top


class SlabList:
    """A struct list_head of slabs: O(1) add at the head or tail, delete, first and last."""

    __slots__ = ("_d",)

    def __init__(self) -> None:
        self._d: OrderedDict[ClassicSlab, None] = OrderedDict()

    def add(self, s: ClassicSlab) -> None:  # list_add: at the head
        self._d[s] = None
        self._d.move_to_end(s, last=False)

    def add_tail(self, s: ClassicSlab) -> None:  # list_add_tail
        self._d[s] = None
        self._d.move_to_end(s)

    def remove(self, s: ClassicSlab) -> None:  # list_del
        del self._d[s]

    def first(self) -> ClassicSlab | None:
        return next(iter(self._d), None)

    def last(self) -> ClassicSlab | None:
        return next(reversed(self._d), None)

    def __contains__(self, s: object) -> bool:
        return s in self._d

    def __len__(self) -> int:
        return len(self._d)

    def __iter__(self) -> Iterator[ClassicSlab]:
        return iter(list(self._d))


class ArrayCache:
    """struct array_cache: a LIFO of object pointers (``entry``; ``avail`` is its length)."""

    __slots__ = ("limit", "batchcount", "touched", "entry", "addr")

    def __init__(self, limit: int, batchcount: int, addr: int = 0) -> None:
        self.limit = limit
        self.batchcount = batchcount
        self.touched = 0
        self.entry: list[int] = []
        self.addr = addr  # the kmalloc'd array, 0 for a static (boot) or percpu one

    @property
    def avail(self) -> int:
        return len(self.entry)

    def __repr__(self) -> str:
        return f"<array_cache {self.avail}/{self.limit} batch {self.batchcount}>"


class KmemList3:
    """struct kmem_list3 (2.6) / kmem_cache_node (6.6): one node's slab lists."""

    __slots__ = ("slabs_partial", "slabs_full", "slabs_free", "free_objects", "free_limit", "colour_next",
                 "shared", "next_reap", "free_touched", "addr", "total_slabs", "free_slabs")

    def __init__(self, addr: int = 0) -> None:
        self.slabs_partial = SlabList()
        self.slabs_full = SlabList()
        self.slabs_free = SlabList()
        self.free_objects = 0
        self.free_limit = 0
        self.colour_next = 0
        self.shared: ArrayCache | None = None
        self.next_reap = 0
        self.free_touched = 0
        self.addr = addr  # the kmalloc'd structure (2.6.24, 6.6), 0 when static or inside kmem_cache
        self.total_slabs = 0  # 6.6
        self.free_slabs = 0  # 6.6


class ClassicSlab:
    """struct slab (2.6) / the slab fields of struct page (6.6): one slab of a cache."""

    __slots__ = ("cache", "pfn", "addr", "colouroff", "s_mem", "inuse", "free", "bufctl", "mgmt", "objfreelist")

    def __init__(self, cache: SlabCache, pfn: int, addr: int) -> None:
        self.cache = cache
        self.pfn = pfn
        self.addr = addr  # page_address
        self.colouroff = 0
        self.s_mem = addr  # the first object
        self.inuse = 0  # 6.6: active
        self.free = 0  # 2.6: first free index (BUFCTL_END when none)
        #: 2.6: kmem_bufctl_t per object (next free index, BUFCTL_END, BUFCTL_FREE);
        #: 6.6: freelist_idx_t array, freelist[active..num-1] are free
        self.bufctl: list[int] = []
        self.mgmt = 0  # the off-slab struct slab / freelist object (0: on slab)
        self.objfreelist = 0  # 6.6 OBJFREELIST_SLAB: the free object holding the freelist (0: none)

    def __repr__(self) -> str:
        return f"<slab {self.cache.name} pfn={self.pfn:#x} inuse={self.inuse}/{self.cache.num}>"


class SlabCache:
    """struct kmem_cache of SLAB."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.array: list[ArrayCache] = []
        self.batchcount = 1
        self.limit = 1
        self.shared = 0
        self.buffer_size = 0  # 6.6: size
        self.object_size = 0  # obj_size(): what the caller sees (buffer_size without DEBUG)
        self.obj_offset = 0  # DEBUG: the red zone word before the object
        self.align = 0
        self.flags = 0
        self.num = 0
        self.gfporder = 0
        self.gfpflags = 0  # 6.6: allocflags
        self.colour = 0
        self.colour_off = 0
        self.slabp_cache: SlabCache | None = None
        self.slab_size = 0  # 2.6: the management size; 6.6: freelist_size
        self.ctor: Callable[..., None] | None = None
        self.dtor: Callable[..., None] | None = None
        self.node = KmemList3()
        self.addr = 0  # the descriptor, an object of kmem_cache (0: cache_cache itself)
        self.refcount = 1
        self.kmalloc = False
        self.random_seq: list[int] | None = None
        # STATS (CONFIG_DEBUG_SLAB)
        self.num_active = 0
        self.num_allocations = 0
        self.high_mark = 0
        self.grown = 0
        self.reaped = 0
        self.errors = 0
        self.max_freeable = 0
        self.node_allocs = 0
        self.node_frees = 0
        self.node_overflow = 0
        self.allochit = 0
        self.allocmiss = 0
        self.freehit = 0
        self.freemiss = 0

    @property
    def size(self) -> int:
        return self.buffer_size

    @property
    def off_slab(self) -> bool:
        return bool(self.flags & CFLGS_OFF_SLAB)

    @property
    def objfreelist(self) -> bool:
        return bool(self.flags & CFLGS_OBJFREELIST_SLAB)

    def __repr__(self) -> str:
        return (f"<kmem_cache {self.name} size={self.buffer_size} objs/slab={self.num} "
                f"order={self.gfporder} (SLAB)>")


class SlabAllocator:
    """SLAB of one machine (``k.slab_impl`` with slab_allocator=slab)."""

    name = "slab"

    def __init__(self, k: Kernel) -> None:
        from .slab_debug import SlabDebug

        self.k = k
        f = k.features
        self.bits = k.gfp.bits
        self.word = k.layout.bits // 8  # BYTES_PER_WORD
        self.page_size = k.page_size
        self.page_shift = k.page_shift
        self.cache_line = cache_line_size(k)
        # ---- the era, by features
        self.numa = f.slab_numa_lists  # kmem_list3 per node, cachep->shared, nodeid
        self.idx = f.slab_freelist_index  # 6.6: struct page slabs, freelist_idx_t, objfreelist
        self.common = f.slab_common_kmalloc  # 6.6: slab_common.c's kmalloc caches
        self.kmalloc_large_pages = f.slab_kmalloc_large
        self.zero_size_ptr = f.zero_size_ptr
        self.gfp_zero = f.slab_gfp_zero
        self.shared_possible = f.slab_shared_possible_cpus
        self.lenient_write = f.slabinfo_write_lenient
        self.dup_null = f.slab_duplicate_name_null
        self.max_order_general = f.kmalloc_max_order
        self.dtor_ok = f.kmem_cache_dtor
        #: sizeof(kmem_bufctl_t): unsigned short on 2.6.11 i386, unsigned int later
        self.bufctl_size = 4 if f.slab_bufctl_uint else 2
        self.BUFCTL_END = (1 << (8 * self.bufctl_size)) - 1
        self.BUFCTL_FREE = self.BUFCTL_END - 1
        self.BUFCTL_ACTIVE = self.BUFCTL_END - 2
        self.SLAB_LIMIT = self.BUFCTL_END - (3 if self.numa else 2)
        w = self.word
        #: sizeof(struct slab): list_head, colouroff, s_mem, inuse, free (kmem_bufctl_t), nodeid
        raw = 4 * w + 4 + self.bufctl_size + (2 if self.numa else 0)
        self.sizeof_slab = -(-raw // w) * w
        #: sizeof(struct array_cache): avail, limit, batchcount, touched (+ the spinlock of 2.6.18+)
        self.sizeof_ac = 16 + (4 if self.numa and not self.idx else 0)
        self.sizeof_ac = -(-self.sizeof_ac // w) * w
        #: sizeof(struct kmem_list3) (2.6.24: 56 on i386) / kmem_cache_node (6.6 x86_64: 120); 2.6.11
        #: has the lists inside kmem_cache_t
        if self.idx:  # list_lock, 3 list_heads, total/free slabs, free_objects, free_limit, colour_next,
            #           shared, alien, next_reap, free_touched
            fields = [(4, 4)] + [(2 * w, w)] * 3 + [(w, w)] * 3 + [(4, 4), (4, 4)] + [(w, w)] * 3 + [(4, 4)]
        else:  # 3 list_heads, free_objects, free_limit, colour_next, list_lock, shared, alien, next_reap,
            #    free_touched
            fields = [(2 * w, w)] * 3 + [(w, w), (4, 4), (4, 4), (4, 4)] + [(w, w)] * 3 + [(4, 4)]
        self.sizeof_l3 = _struct_size(fields) if self.numa else 0
        #: sizeof(struct kmem_cache): 2.6.11 kmem_cache_t (152 on i386), 2.6.24 up to nodelists[1]
        #: (108), 6.6 up to node[1] (120 on x86_64) -- cache_cache's buffer_size is this, aligned to a line
        self.sizeof_cache = 120 if self.idx else (108 if self.numa else 152)
        if w == 8 and not self.idx:
            self.sizeof_cache = 2 * self.sizeof_cache  # the 64-bit 2.6 structures: every field a word (unverified)
        # ---- boot parameters and config
        self.break_order = BREAK_GFP_ORDER_HI if k.ram > (32 << 20) else BREAK_GFP_ORDER_LO
        self.slab_early_init = True
        self.state = "none"
        self.debug = bool(k.tunables.get("debug_slab"))
        self.hardened = bool(k.tunables.get("slab_freelist_hardened")) and self.idx
        self.randomize = bool(k.tunables.get("slab_freelist_random")) and self.idx
        if not self.idx:
            for t in ("slab_freelist_hardened", "slab_freelist_random"):
                if k.tunables.get(t):
                    raise ConfigError(f"{t}=True: the SLAB of Linux {k.profile.kernel_version} has no "
                                      f"CONFIG_{t.upper()} (SLAB gained it in 4.x); boot with {t}=False")
        self.rng = __import__("random").Random(k.seed ^ 0x51AB0)
        self.dbg = SlabDebug(self)
        # ---- flags, by name: whatever values the machine's SLAB_* set gives them
        sf = k.slab_flags

        def flag(name: str) -> int:
            return sf.value_or_zero(name)

        self.F_HWCACHE = flag("SLAB_HWCACHE_ALIGN")
        self.F_DMA = flag("SLAB_CACHE_DMA")
        self.F_RECLAIM = flag("SLAB_RECLAIM_ACCOUNT")
        self.F_PANIC = flag("SLAB_PANIC")
        self.F_RCU = flag("SLAB_DESTROY_BY_RCU") or flag("SLAB_TYPESAFE_BY_RCU")
        self.F_RED_ZONE = flag("SLAB_RED_ZONE")
        self.F_POISON = flag("SLAB_POISON")
        self.F_STORE_USER = flag("SLAB_STORE_USER")
        self.F_NOLEAKTRACE = flag("SLAB_NOLEAKTRACE")
        create = ["SLAB_HWCACHE_ALIGN", "SLAB_CACHE_DMA", "SLAB_RECLAIM_ACCOUNT", "SLAB_PANIC",
                  "SLAB_DESTROY_BY_RCU", "SLAB_TYPESAFE_BY_RCU", "SLAB_MEM_SPREAD"]
        if not self.numa:
            create += ["SLAB_NO_REAP", "SLAB_MUST_HWCACHE_ALIGN"]
        if self.debug:
            create += ["SLAB_RED_ZONE", "SLAB_POISON", "SLAB_STORE_USER"] + ([] if self.numa else
                                                                              ["SLAB_DEBUG_INITIAL"])
        if self.idx:  # 6.6 SLAB_FLAGS_PERMITTED = CACHE_CREATE_MASK (mm/slab.h, CONFIG_SLAB)
            create = ["SLAB_CORE_FLAGS", "SLAB_RED_ZONE", "SLAB_POISON", "SLAB_STORE_USER", "SLAB_HWCACHE_ALIGN",
                      "SLAB_CACHE_DMA", "SLAB_CACHE_DMA32", "SLAB_PANIC", "SLAB_TYPESAFE_BY_RCU",
                      "SLAB_DEBUG_OBJECTS", "SLAB_NOLEAKTRACE", "SLAB_RECLAIM_ACCOUNT", "SLAB_TEMPORARY",
                      "SLAB_ACCOUNT", "SLAB_NO_USER_FLAGS", "SLAB_KMALLOC", "SLAB_NO_MERGE"]
        self.create_mask = 0
        for n in create:
            self.create_mask |= flag(n)
        # ---- state
        self.cache_chain: list[SlabCache] = []  # cache_chain / slab_caches, newest first
        self.slab_of: dict[int, ClassicSlab] = {}  # pfn -> slab, for every page of every slab
        self.large: dict[int, int] = {}  # 6.6 kmalloc above 8k: address -> order (compound)
        self.kmalloc_caches: dict[str, list[Any]] = {}
        self.malloc_sizes: list[tuple[int, SlabCache | None, SlabCache | None]] = []  # 2.6: (size, cache, dma)
        self.should_failslab: Callable[[Any, int], bool] | None = None
        self._failslab_caches: set[Any] = set()
        self.call_ctor = ctor_caller(k)
        self.reap_timers: list[TimerList] = []
        self.cache_cache: SlabCache = SlabCache("kmem_cache")
        self.offslab_limit = 0  # 2.6.11's global limit for off-slab caches
        gb = k.gfp
        if self.idx:
            self.bug_mask = self.bits.dma32 | self.bits.highmem | (~self.bits.valid & 0xFFFFFFFF)
        elif self.numa:
            self.bug_mask = gb.value_or_zero("__GFP_DMA32") | self.bits.highmem | (~self.bits.valid & 0xFFFFFFFF)
        else:  # 2.6.11 cache_grow(): BUG unless flags are SLAB_DMA | SLAB_LEVEL_MASK | SLAB_NO_GROW
            ok = 0
            for n in ("__GFP_DMA", "__GFP_WAIT", "__GFP_HIGH", "__GFP_IO", "__GFP_FS", "__GFP_COLD", "__GFP_NOWARN",
                      "__GFP_REPEAT", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_NO_GROW", "__GFP_COMP"):
                ok |= gb.value_or_zero(n)
            self.bug_mask = ~ok & 0xFFFFFFFF
        self.no_grow = gb.value_or_zero("__GFP_NO_GROW") if not self.numa else 0

    # ================================================================ what slab_common reads
    @property
    def caches(self) -> list[SlabCache]:
        return self.cache_chain

    @property
    def by_name(self) -> dict[str, SlabCache]:
        out: dict[str, SlabCache] = {}
        for c in reversed(self.cache_chain):  # a later cache of the same name (6.6 allows it) wins
            out[c.name] = c
        return out

    @property
    def failslab_caches(self) -> set[Any]:
        return self._failslab_caches

    def check_cache(self, cache: object, what: str) -> None:
        if not isinstance(cache, SlabCache):
            raise UsageError(f"{what}: {cache!r} is not a cache made by kmem_cache_create()")
        if cache not in self.cache_chain:
            raise UsageError(f"{what}: cache {cache.name} was destroyed")

    def cache_of(self, addr: int) -> SlabCache | None:
        slab = self.slab_of.get((addr - self.k.layout.page_offset) >> self.page_shift)
        return None if slab is None else slab.cache

    def object_start(self, addr: int) -> int | None:
        slab = self.slab_of.get((addr - self.k.layout.page_offset) >> self.page_shift)
        if slab is None:
            return None
        c = slab.cache
        i = (addr - slab.s_mem) // c.buffer_size
        if not 0 <= i < c.num:
            return None
        return slab.s_mem + i * c.buffer_size + c.obj_offset

    def cache_usage(self, c: SlabCache) -> tuple[int, int, int]:
        active_objs, num_objs = self._counts(c)[:2]
        return active_objs, num_objs, c.buffer_size

    def cache_size(self, c: SlabCache) -> int:
        return c.object_size

    # ================================================================ memory (slabs are in the direct map)
    def _read(self, addr: int, n: int) -> bytes:
        return self.k.phys.read(addr - self.k.layout.page_offset, n)

    def _write(self, addr: int, data: bytes) -> None:
        self.k.phys.write(addr - self.k.layout.page_offset, data)

    def _fill(self, addr: int, value: int, n: int) -> None:
        self.k.phys.fill(addr - self.k.layout.page_offset, value, n)

    # ================================================================ pages
    def _page_address(self, pfn: int) -> int:
        return self.k.layout.page_offset + (pfn << self.page_shift)

    def kmem_getpages(self, c: SlabCache, flags: int) -> int:
        """kmem_getpages(): 2^gfporder pages with the cache's gfpflags; the pfn or -1."""
        flags |= c.gfpflags
        if self.numa and c.flags & self.F_RECLAIM:
            flags |= self.bits.reclaimable  # 2.6.24 adds __GFP_RECLAIMABLE itself; 6.6 has it in allocflags
        pfn = self.k.page_alloc.alloc(flags, c.gfporder)
        if pfn < 0 and self.idx and self.debug:
            self.dbg.slab_out_of_memory(c, flags)
        return pfn

    def kmem_freepages(self, c: SlabCache, slab: ClassicSlab) -> None:
        """kmem_freepages(): the pages back to the page allocator."""
        for p in range(slab.pfn, slab.pfn + (1 << c.gfporder)):
            self.slab_of.pop(p, None)
        self.k.page_alloc.free(slab.pfn, c.gfporder)

    # ================================================================ geometry
    def cache_estimate(self, order: int, buffer_size: int, align: int, flags: int) -> tuple[int, int]:
        """cache_estimate(): (num, left_over) for a slab of ``order``."""
        slab_size = self.page_size << order
        if self.idx:  # 6.6: the freelist index at the slab's end, or off/obj
            if flags & (CFLGS_OBJFREELIST_SLAB | CFLGS_OFF_SLAB):
                return slab_size // buffer_size, slab_size % buffer_size
            return slab_size // (buffer_size + 1), slab_size % (buffer_size + 1)
        if flags & CFLGS_OFF_SLAB:
            num = min(slab_size // buffer_size, self.SLAB_LIMIT)
            return num, slab_size - num * buffer_size
        # 2.6.24's closed form; 2.6.11's loop (the largest i with i*size + ALIGN(base + i*extra)
        # <= slab) gives the same numbers
        num = (slab_size - self.sizeof_slab) // (buffer_size + self.bufctl_size)
        if self._mgmt(num, align) + num * buffer_size > slab_size:
            num -= 1
        num = min(num, self.SLAB_LIMIT)
        return num, slab_size - num * buffer_size - self._mgmt(num, align)

    def _mgmt(self, num: int, align: int) -> int:
        """slab_mgmt_size(): ALIGN(sizeof(struct slab) + num * sizeof(kmem_bufctl_t), align)."""
        return -(-(self.sizeof_slab + num * self.bufctl_size) // align) * align

    def _calculate_slab_order_2611(self, size: int, align: int, flags: int) -> tuple[int, int, int]:
        """2.6.11 kmem_cache_create()'s loop: (order, num, left_over)."""
        if flags & self.F_RECLAIM and size <= self.page_size:
            num, left = self.cache_estimate(0, size, align, flags)
            return 0, num, left
        order = 0
        while True:
            break_flag = False
            while True:  # cal_wastage
                num, left = self.cache_estimate(order, size, align, flags)
                if break_flag:
                    return order, num, left
                if order >= MAX_GFP_ORDER_2_6_11:
                    return order, num, left
                if not num:
                    break  # goto next
                if flags & CFLGS_OFF_SLAB and num > self.offslab_limit:
                    order -= 1
                    break_flag = True
                    continue
                if order >= self.break_order:
                    return order, num, left
                if left * 8 <= self.page_size << order:
                    return order, num, left
                break
            order += 1

    def _kmalloc_max_order(self) -> int:
        """KMALLOC_MAX_ORDER = KMALLOC_SHIFT_MAX - PAGE_SHIFT: MAX_ORDER - 1 (10 on x86)."""
        return self.k.page_alloc.max_order

    def calculate_slab_order(self, c: SlabCache, size: int, align: int, flags: int) -> int:
        """calculate_slab_order() (2.6.24, 6.6): sets c.num and c.gfporder, returns left_over."""
        left_over = 0
        c.num = 0
        for order in range(self._kmalloc_max_order() + 1):
            num, remainder = self.cache_estimate(order, size, align, flags)
            if not num:
                continue
            if self.idx:
                if num > 255:  # SLAB_OBJ_MAX_NUM (freelist_idx_t is a byte)
                    break
                if flags & CFLGS_OFF_SLAB:
                    fsize = num  # freelist_size = num * sizeof(freelist_idx_t)
                    fc = self._kmalloc_slab_6_6(fsize) if fsize <= self._max_cache_size() else None
                    if fc is None:
                        fc_size = self.page_size << max(0, ((fsize - 1) >> self.page_shift).bit_length())
                    else:
                        if fc.off_slab:
                            continue
                        fc_size = fc.buffer_size
                    if fc_size > c.buffer_size // 2:
                        continue
            elif flags & CFLGS_OFF_SLAB:
                offslab_limit = (size - self.sizeof_slab) // self.bufctl_size
                if num > offslab_limit:
                    break
            c.num = num
            c.gfporder = order
            left_over = remainder
            if flags & self.F_RECLAIM:
                break
            if order >= self.break_order:
                break
            if left_over * 8 <= self.page_size << order:
                break
        return left_over

    # ================================================================ cache creation
    def _bug(self, line: int, kind: str = "slab_bug", before: list[str] | None = None) -> None:
        """BUG() in mm/slab.c at ``line`` (of the machine's version): the oops."""
        k = self.k
        if before:
            k.printk("\n".join(before), 3)
        k.report.bug(["------------[ cut here ]------------", f"kernel BUG at mm/slab.c:{line}!"],
                     kind=kind, oops=True, oops_str="invalid opcode")

    def _line(self, v2611: int, v2624: int, v66: int) -> int:
        return v66 if self.idx else (v2624 if self.numa else v2611)

    def create_cache(self, name: str, size: int, align: int = 0, flags: int = 0,
                     ctor: Callable[..., None] | None = None, *, dtor: Callable[..., None] | None = None,
                     _kmalloc: bool = False) -> SlabCache | None:
        """kmem_cache_create(): a new cache, or NULL (SLAB never merges caches in the model)."""
        if self.idx:
            return self._create_cache_6_6(name, size, align, flags, ctor, _kmalloc=_kmalloc)
        return self._create_cache_2_6(name, size, align, flags, ctor, dtor)

    def _create_cache_2_6(self, name: str, size: int, align: int, flags: int,
                          ctor: Callable[..., None] | None, dtor: Callable[..., None] | None) -> SlabCache | None:
        """kmem_cache_create() of 2.6.11 and 2.6.24 (mm/slab.c), step by step."""
        k = self.k
        w = self.word
        max_size = ((1 << (self._kmalloc_max_order() + self.page_shift)) if self.max_order_general
                    else (1 << MAX_GFP_ORDER_2_6_11) * self.page_size)
        if k.sched.in_interrupt() or size < w or size > max_size or (dtor is not None and ctor is None):
            self._bug(self._line(1204, 2166, 0), before=[f"kmem_cache_create: Early error in slab {name}"])
        if self.numa and self._duplicate(name):
            return self._create_failed(name, flags)
        if self.debug:
            flags = self.dbg.forced_debug_flags(size, flags)
        if flags & ~self.create_mask:
            self._bug(self._line(1239, 2222, 0))
        if size & (w - 1):
            size = (size + w - 1) & ~(w - 1)
        # the final buffer alignment
        if flags & self.F_HWCACHE:
            ralign = self.cache_line
            while size <= ralign // 2:
                ralign //= 2
        else:
            ralign = w
        if self.debug:
            ralign, size, flags = self.dbg.debug_ralign(ralign, size, flags, align)
        elif ralign < align:
            ralign = align
        align = ralign
        c = self._alloc_descriptor(name)
        if c is None:
            return self._create_failed(name, flags)
        if self.debug:
            size, align = self.dbg.debug_layout(c, size, align, flags)
        if size >= self.page_size >> 3 and not (self.numa and self.slab_early_init):
            flags |= CFLGS_OFF_SLAB
        size = -(-size // align) * align
        if self.numa:
            left_over = self.calculate_slab_order(c, size, align, flags)
        else:
            c.gfporder, c.num, left_over = self._calculate_slab_order_2611(size, align, flags)
        if not c.num:
            k.printk(f"kmem_cache_create: couldn't create cache {name}.", 3 if self.numa else 4)
            self._free_descriptor(c)
            return self._create_failed(name, flags)
        slab_size = -(-(c.num * self.bufctl_size + self.sizeof_slab) // align) * align
        if flags & CFLGS_OFF_SLAB and left_over >= slab_size:
            flags &= ~CFLGS_OFF_SLAB
            left_over -= slab_size
        if flags & CFLGS_OFF_SLAB:
            slab_size = c.num * self.bufctl_size + self.sizeof_slab
        c.colour_off = max(self.cache_line, align)
        c.colour = left_over // c.colour_off
        c.slab_size = slab_size
        c.flags = flags
        c.align = align
        c.gfpflags = self.bits.dma if flags & self.F_DMA else 0
        c.buffer_size = size
        if not self.debug:
            c.object_size = size
        if flags & CFLGS_OFF_SLAB:
            c.slabp_cache = self._find_general_cachep(slab_size, 0)
        c.ctor = ctor
        c.dtor = dtor
        self._setup_cpu_cache(c)
        if not self.numa and self._duplicate(name):
            # 2.6.11: the check comes last, with the descriptor already taken: BUG()
            k.printk(f"kmem_cache_create: duplicate cache {name}", 4)
            self._bug(1472)
        self.cache_chain.insert(0, c)
        return c

    def _duplicate(self, name: str) -> bool:
        if not any(c.name == name for c in self.cache_chain):
            return False
        if self.numa:
            k = self.k
            k.printk("\n".join([f"kmem_cache_create: duplicate cache {name}"] + k.report.dump_stack_lines()), 3)
        return True

    def _create_failed(self, name: str, flags: int) -> SlabCache | None:
        if flags & self.F_PANIC:
            if self.idx:
                self.k.report.panic(f"kmem_cache_create: Failed to create slab '{name}'. Error -22")
            self.k.report.panic(f"kmem_cache_create(): failed to create slab `{name}'")
        return None

    def _alloc_descriptor(self, name: str) -> SlabCache | None:
        """kmem_cache_alloc(&cache_cache) (zeroed from 2.6.24): the new cache's descriptor."""
        c = SlabCache(name)
        cc = self.cache_cache
        addr = self._cache_alloc(cc, self.bits.kernel)
        if not addr:
            return None
        if self.numa:
            self._fill(addr, 0, cc.object_size)
        c.addr = addr
        return c

    def _free_descriptor(self, c: SlabCache) -> None:
        if c.addr:
            self._cache_free(self.cache_cache, c.addr)

    def _create_cache_6_6(self, name: str, size: int, align: int, flags: int, ctor: Callable[..., None] | None,
                          *, _kmalloc: bool = False) -> SlabCache | None:
        """kmem_cache_create_usercopy() -> create_cache() -> __kmem_cache_create() of 6.6."""
        k = self.k
        if flags & ~self.create_mask:
            return self._create_failed_6_6(name, flags, -22)
        if _kmalloc:
            # create_boot_cache(): natural alignment for power-of-two kmalloc sizes
            a = 8  # ARCH_KMALLOC_MINALIGN = __alignof__(unsigned long long)
            if size & (size - 1) == 0:
                a = max(a, size)
            align = self.calculate_alignment(flags, a, size)
        else:
            align = self.calculate_alignment(flags, align, size)
        c = self._alloc_descriptor(name)
        if c is None:
            return self._create_failed_6_6(name, flags, -12)
        c.object_size = size
        c.ctor = ctor
        err = self._kmem_cache_create_6_6(c, size, align, flags)
        if err:
            self._free_descriptor(c)
            if _kmalloc:
                k.report.panic(f"Creation of kmalloc slab {name} size={size} failed. Reason {err}")
            return self._create_failed_6_6(name, flags, err)
        c.kmalloc = _kmalloc
        c.refcount = -1 if _kmalloc else 1
        self.cache_chain.insert(0, c)
        return c

    def _create_failed_6_6(self, name: str, flags: int, err: int) -> SlabCache | None:
        k = self.k
        if flags & self.F_PANIC:
            k.report.panic(f"kmem_cache_create_usercopy: Failed to create slab '{name}'. Error {err}")
        k.printk("\n".join([f"kmem_cache_create_usercopy({name}) failed with error {err}"]
                           + k.report.dump_stack_lines()), 4)
        return None

    def calculate_alignment(self, flags: int, align: int, size: int) -> int:
        """mm/slab_common.c calculate_alignment() (6.6)."""
        if flags & self.F_HWCACHE:
            ralign = self.cache_line
            while size <= ralign // 2:
                ralign //= 2
            align = max(align, ralign)
        align = max(align, 8)  # arch_slab_minalign() = ARCH_SLAB_MINALIGN = __alignof__(unsigned long long)
        return -(-align // self.word) * self.word

    def _kmem_cache_create_6_6(self, c: SlabCache, size: int, align: int, flags: int) -> int:
        """__kmem_cache_create() of 6.6: 0, or -E2BIG."""
        w = self.word
        ralign = w
        if self.debug:
            flags = self.dbg.forced_debug_flags(size, flags)
        size = -(-size // w) * w
        if self.debug and flags & self.F_RED_ZONE:
            ralign = max(w, 8)  # REDZONE_ALIGN
            size = -(-size // ralign) * ralign
        if ralign < align:
            ralign = align
        if ralign > 8:  # disable debug if necessary
            flags &= ~(self.F_RED_ZONE | self.F_STORE_USER)
        c.align = ralign
        c.colour_off = max(self.cache_line, c.align)
        if self.debug:
            size, _ = self.dbg.debug_layout(c, size, c.align, flags)
        size = -(-size // c.align) * c.align
        if size < 16:  # FREELIST_BYTE_INDEX && size < SLAB_OBJ_MIN_SIZE
            size = -(-16 // c.align) * c.align
        c.buffer_size = size
        if self._set_objfreelist(c, size, flags):
            flags |= CFLGS_OBJFREELIST_SLAB
        elif self._set_off_slab(c, size, flags):
            flags |= CFLGS_OFF_SLAB
        elif not self._set_on_slab(c, size, flags):
            return -7  # -E2BIG
        c.slab_size = c.num  # freelist_size = num * sizeof(freelist_idx_t)
        c.flags = flags
        c.gfpflags = self.bits.comp
        if flags & self.F_DMA:
            c.gfpflags |= self.bits.dma
        if flags & self.k.slab_flags.value_or_zero("SLAB_CACHE_DMA32"):
            c.gfpflags |= self.bits.dma32
        if flags & self.F_RECLAIM:
            c.gfpflags |= self.bits.reclaimable
        if not self.debug:
            c.object_size = c.object_size  # set by create_cache()
        self._setup_cpu_cache(c)
        return 0

    def _set_objfreelist(self, c: SlabCache, size: int, flags: int) -> bool:
        c.num = 0
        if c.ctor is not None or flags & self.F_RCU:
            return False
        left = self.calculate_slab_order(c, size, 0, flags | CFLGS_OBJFREELIST_SLAB)
        if not c.num or c.num > c.object_size:  # num * sizeof(freelist_idx_t) > object_size
            return False
        c.colour = left // c.colour_off
        return True

    def _set_off_slab(self, c: SlabCache, size: int, flags: int) -> bool:
        c.num = 0
        if flags & self.F_NOLEAKTRACE:
            return False
        left = self.calculate_slab_order(c, size, 0, flags | CFLGS_OFF_SLAB)
        if not c.num or left >= c.num:  # enough space left: on slab instead
            return False
        c.colour = left // c.colour_off
        return True

    def _set_on_slab(self, c: SlabCache, size: int, flags: int) -> bool:
        c.num = 0
        left = self.calculate_slab_order(c, size, 0, flags)
        if not c.num:
            return False
        c.colour = left // c.colour_off
        return True

    # ---- the per-CPU arrays and the lists
    def _reap_base(self, c: SlabCache) -> int:
        """next_reap = jiffies + REAPTIMEOUT_LIST3 + (unsigned long)cachep % REAPTIMEOUT_LIST3."""
        t = REAPTIMEOUT_LIST3_S * self.k.profile.hz
        return self.k.jiffies + t + (c.addr or id(c)) % t

    def _setup_cpu_cache(self, c: SlabCache) -> None:
        """setup_cpu_cache(): the tuned arrays once the general caches exist; before, boot
        arrays of one entry and the lists (static for the first caches, kmalloc'd later)."""
        if self.state == "full":
            if self.numa:
                # alloc_kmemlist() (2.6.24) / init_cache_node() (6.6): a kmalloc'd node
                c.node = KmemList3(self._kmalloc_raw(self.sizeof_l3, self.bits.kernel))
            c.node.next_reap = self._reap_base(c)
            self.enable_cpucache(c)
            return
        k = self.k
        boot_addr = 0
        if self.state != "none" and not self.idx:
            boot_addr = self._kmalloc_raw(self.sizeof_ac + self.word, self.bits.kernel)
        c.array = [ArrayCache(1, 1, boot_addr if cpu == 0 else 0) for cpu in range(len(k.cpus))]
        c.batchcount = 1
        c.limit = 1
        if self.numa:
            if self.state in ("none", "partial_ac") or (self.idx and self.state in ("none", "partial")):
                c.node = KmemList3()  # the static initkmem_list3 / init_kmem_cache_node
            else:
                c.node = KmemList3(self._kmalloc_raw(self.sizeof_l3, self.bits.kernel))
        c.node.next_reap = self._reap_base(c)
        c.node.free_limit = (1 + len(k.cpus)) * c.batchcount + c.num
        if self.idx:
            self.state = {"none": "partial", "partial": "partial_node"}.get(self.state, self.state)
        elif self.numa:
            self.state = {"none": "partial_ac", "partial_ac": "partial_l3"}.get(self.state, self.state)
        else:
            self.state = {"none": "partial"}.get(self.state, self.state)

    def alloc_arraycache(self, entries: int, batchcount: int, kmalloced: bool = True) -> ArrayCache | None:
        """alloc_arraycache(): kmalloc(sizeof(void *) * entries + sizeof(struct array_cache))."""
        addr = 0
        if kmalloced:
            addr = self._kmalloc_raw(self.word * entries + self.sizeof_ac, self.bits.kernel)
            if not addr:
                return None
        return ArrayCache(entries, batchcount, addr)

    def _free_array(self, ac: ArrayCache | None) -> None:
        if ac is not None and ac.addr:
            self._kfree_raw(ac.addr)
            ac.addr = 0

    def enable_cpucache(self, c: SlabCache) -> int:
        """enable_cpucache(): limit by object size, batchcount (limit + 1) / 2, shared 8 on SMP."""
        size = c.buffer_size
        if size > 131072:
            limit = 1
        elif size > self.page_size:
            limit = 8
        elif size > 1024:
            limit = 24
        elif size > 256:
            limit = 54
        else:
            limit = 120
        shared = 0
        smp = len(self.k.cpus) > 1 if self.shared_possible else True  # CONFIG_SMP: the profiles are SMP
        if size <= self.page_size and smp:
            shared = 8
        if self.debug and limit > 32:
            limit = 32
        if self.randomize and c.random_seq is None and c.num > 1:
            c.random_seq = self._random_seq(c.num - (1 if c.objfreelist else 0))
        err = self.do_tune_cpucache(c, limit, (limit + 1) // 2, shared)
        if err:
            self.k.printk(f"enable_cpucache failed for {c.name}, error {-err}.", 3)
        return err

    def do_tune_cpucache(self, c: SlabCache, limit: int, batchcount: int, shared: int) -> int:
        """do_tune_cpucache(): new per-CPU arrays (their objects freed back), the new limits,
        and the node's shared array (alloc_kmemlist / setup_kmem_cache_nodes)."""
        k = self.k
        new: list[ArrayCache] = []
        for _ in k.cpus:
            ac = self.alloc_arraycache(limit, batchcount, kmalloced=not self.idx)
            if ac is None:
                for a in new:
                    self._free_array(a)
                return -12
            new.append(ac)
        old, c.array = c.array, new
        c.batchcount = batchcount
        c.limit = limit
        c.shared = shared
        for ac in old:
            if ac.entry:
                self.free_block(c, list(ac.entry))
                ac.entry.clear()
            self._free_array(ac)
        n = c.node
        if not self.numa:
            # 2.6.11: free_limit, then a shared array of batchcount * shared entries, always
            n.free_limit = (1 + len(k.cpus)) * c.batchcount + c.num
            sh = self.alloc_arraycache(batchcount * shared, 0xBAADF00D)
            if sh is not None:
                prev = n.shared
                n.shared = sh
                if prev is not None:
                    self.free_block(c, list(prev.entry))
                    prev.entry.clear()
                    self._free_array(prev)
            return 0
        new_shared = None
        if c.shared:
            new_shared = self.alloc_arraycache(c.shared * c.batchcount, 0xBAADF00D)
            if new_shared is None:
                return -12
        prev = n.shared
        if prev is not None:
            self.free_block(c, list(prev.entry))
            prev.entry.clear()
        n.shared = new_shared
        n.free_limit = (1 + len(k.cpus)) * c.batchcount + c.num
        self._free_array(prev)
        return 0

    # ================================================================ slabs
    def cache_grow(self, c: SlabCache, flags: int) -> ClassicSlab | None:
        """cache_grow() (2.6) / cache_grow_begin() (6.6): a new slab, its objects initialised
        (constructors run), linked on slabs_free (2.6; 6.6 links it in cache_grow_end())."""
        if flags & self.bug_mask:
            if self.idx:
                flags = self.dbg.kmalloc_fix_flags(flags, self.bug_mask)
            else:
                self._bug(self._line(1792, 2772, 0))
        if self.no_grow and flags & self.no_grow:
            return None  # 2.6.11 SLAB_NO_GROW
        n = c.node
        if self.idx:
            local = flags & (self.bits.constraint_mask | self.bits.reclaim_mask)
        elif self.numa:
            local = flags & (self.bits.constraint_mask | self.bits.reclaim_mask)
        else:
            local = flags  # 2.6.11 hands kmem_getpages() the caller's flags
        saved_colour = n.colour_next
        if not self.idx:
            # the colour for this slab, and the next
            offset = n.colour_next
            n.colour_next += 1
            if n.colour_next >= c.colour:
                n.colour_next = 0
            offset *= c.colour_off
        if self.debug or not self.idx:
            self._kmem_flagcheck(c, flags)
        pfn = self.kmem_getpages(c, local)
        if pfn < 0:
            n.colour_next = saved_colour if self.idx else n.colour_next
            return None
        if self.idx:
            n.colour_next += 1
            if n.colour_next >= c.colour:
                n.colour_next = 0
            offset = n.colour_next
            if offset >= c.colour:
                offset = 0
            offset *= c.colour_off
        addr = self._page_address(pfn)
        slab = ClassicSlab(c, pfn, addr)
        if not self._alloc_slabmgmt(c, slab, offset, local):
            self.k.page_alloc.free(pfn, c.gfporder)
            return None
        for p in range(pfn, pfn + (1 << c.gfporder)):
            self.slab_of[p] = slab  # slab_map_pages() / set_slab_attr()
        try:
            self.cache_init_objs(c, slab, flags)
        except BaseException as e:
            # a constructor raised: the new slab goes back (pages, management, colour), so the
            # machine is as before the allocation; the error goes on (slab_util.reraise_ctor_error)
            self._unmap_and_free(c, slab)
            n.colour_next = saved_colour
            reraise_ctor_error(c.name, c.ctor, e, "the new slab was freed")
        c.grown += 1
        if not self.idx:
            n.slabs_free.add_tail(slab)
            n.free_objects += c.num
        return slab

    def _unmap_and_free(self, c: SlabCache, slab: ClassicSlab) -> None:
        self.kmem_freepages(c, slab)
        if slab.mgmt:
            self._free_mgmt(c, slab)

    def _kmem_flagcheck(self, c: SlabCache, flags: int) -> None:
        """kmem_flagcheck(): BUG when GFP_DMA and the cache's DMA-ness disagree."""
        if bool(flags & self.bits.dma) != bool(c.gfpflags & self.bits.dma):
            if self.numa and not self.idx:
                self._bug(2689 if flags & self.bits.dma else 2691)
            elif not self.numa:
                self._bug(1754 if flags & self.bits.dma else 1757)

    def _alloc_slabmgmt(self, c: SlabCache, slab: ClassicSlab, colour_off: int, local: int) -> bool:
        """alloc_slabmgmt(): off-slab from slabp_cache (or kmalloc in 6.6), else inside the slab."""
        if self.idx:
            slab.s_mem = slab.addr + colour_off
            if c.off_slab:
                slab.mgmt = self._kmalloc_raw(c.slab_size, local & ~self.bits.constraint_mask)
                if not slab.mgmt:
                    return False
            return True
        if c.off_slab:
            assert c.slabp_cache is not None
            if self.numa:
                mflags = local & ~self.bits.constraint_mask
            else:
                # 2.6.11 cache_grow(): alloc_slabmgmt(..., local_flags) with local_flags =
                # flags & SLAB_LEVEL_MASK: no __GFP_DMA for the descriptor's size-N cache
                mflags = local & self.k.gfp.flags.get("GFP_LEVEL_MASK", ~self.bits.zonemask)
            slab.mgmt = self._cache_alloc(c.slabp_cache, mflags)
            if not slab.mgmt:
                return False
        else:
            colour_off += c.slab_size
        slab.colouroff = colour_off
        slab.s_mem = slab.addr + colour_off
        return True

    def _free_mgmt(self, c: SlabCache, slab: ClassicSlab) -> None:
        if self.idx:
            self._kfree_raw(slab.mgmt)
        else:
            assert c.slabp_cache is not None
            self._cache_free(c.slabp_cache, slab.mgmt)
        slab.mgmt = 0

    def cache_init_objs(self, c: SlabCache, slab: ClassicSlab, gfp: int) -> None:
        """cache_init_objs(): constructors (and the debug patterns), and the free chain."""
        num = c.num
        if self.debug:
            self.dbg.init_objs(c, slab, gfp)
        elif c.ctor is not None:
            for i in range(num):
                self.call_ctor(c.ctor, c, slab.s_mem + i * c.buffer_size, gfp)
        if self.idx:
            order = list(range(num))
            if self.randomize and num > 1:
                order = self._shuffle(c, slab)
            elif c.objfreelist:
                slab.objfreelist = slab.s_mem + (num - 1) * c.buffer_size + c.obj_offset
            slab.bufctl = order
            slab.inuse = 0
            return
        slab.bufctl = list(range(1, num)) + [self.BUFCTL_END]
        slab.free = 0
        slab.inuse = 0

    def _random_seq(self, count: int) -> list[int]:
        """cache_random_seq_create(): a Fisher-Yates permutation of 0..count-1."""
        seq = list(range(count))
        for i in range(count - 1, 0, -1):
            j = self.rng.randrange(i + 1)
            seq[i], seq[j] = seq[j], seq[i]
        return seq

    def _shuffle(self, c: SlabCache, slab: ClassicSlab) -> list[int]:
        """shuffle_freelist() (CONFIG_SLAB_FREELIST_RANDOM) from the cache's precomputed list."""
        seq = c.random_seq or list(range(c.num))
        count = len(seq)
        pos = self.rng.randrange(count)
        out: list[int] = []
        objfl = c.num - 1
        if c.objfreelist:
            objfl = seq[pos % count]
            pos += 1
            slab.objfreelist = slab.s_mem + objfl * c.buffer_size + c.obj_offset
        while len(out) < (c.num - 1 if c.objfreelist else c.num):
            out.append(seq[pos % count])
            pos += 1
        if c.objfreelist:
            out.append(objfl)
        return out

    def slab_destroy(self, c: SlabCache, slab: ClassicSlab) -> None:
        """slab_destroy(): the debug checks and the destructors, then the pages (and the
        off-slab management) go back."""
        if self.debug:
            self.dbg.destroy_objs(c, slab)
        elif c.dtor is not None:
            for i in range(c.num):
                self.call_dtor(c, slab.s_mem + i * c.buffer_size)
        self._unmap_and_free(c, slab)

    def call_dtor(self, c: SlabCache, obj: int) -> None:
        """2.6.11: dtor(obj, cache, 0)."""
        assert c.dtor is not None
        c.dtor(obj, c, 0)

    # ---- the free chain of one slab
    def slab_get_obj(self, c: SlabCache, slab: ClassicSlab) -> int:
        """slab_get_obj(): the slab's first free object."""
        if self.idx:
            i = slab.bufctl[slab.inuse]
            slab.inuse += 1
            return slab.s_mem + i * c.buffer_size
        i = slab.free
        obj = slab.s_mem + i * c.buffer_size
        slab.inuse += 1
        nxt = slab.bufctl[i] if 0 <= i < len(slab.bufctl) else self.BUFCTL_END
        if self.debug:
            slab.bufctl[i] = self.BUFCTL_FREE
        slab.free = nxt
        return obj

    def slab_put_obj(self, c: SlabCache, slab: ClassicSlab, obj: int) -> None:
        """slab_put_obj(): the object back at the head of the free chain."""
        objnr = (obj - slab.s_mem) // c.buffer_size
        if self.idx:
            if self.debug:
                self.dbg.double_free_6_6(c, slab, obj, objnr)
            slab.inuse -= 1
            if not slab.objfreelist and c.objfreelist:
                slab.objfreelist = obj + c.obj_offset
            if slab.inuse >= 0:
                slab.bufctl[slab.inuse] = objnr
            return
        if self.debug:
            self.dbg.double_free_2_6(c, slab, obj, objnr)
        slab.bufctl[objnr] = slab.free
        slab.free = objnr
        slab.inuse -= 1

    # ================================================================ alloc
    def _cache_alloc(self, c: SlabCache, gfp: int) -> int:
        """__cache_alloc(): an object (DEBUG: checked and marked), without the tracepoint."""
        if self.should_failslab is not None and c is not self.cache_cache and self.should_failslab(c, gfp):
            return 0
        self.k.sched.might_alloc(gfp, "slab_alloc_slab")  # SLAB checks on every allocation
        if self.debug:
            self._kmem_flagcheck(c, gfp)
        ac = c.array[self.k.cpu]
        if ac.entry:
            c.allochit += 1
            ac.touched = 1
            obj = ac.entry.pop()
        else:
            c.allocmiss += 1
            obj = self.cache_alloc_refill(c, gfp)
        if self.debug:
            obj = self.dbg.alloc_debugcheck_after(c, gfp, obj)
        if obj and gfp & self.bits.zero and self.gfp_zero:
            self._fill(obj, 0, c.object_size)
        return obj

    def cache_alloc_refill(self, c: SlabCache, flags: int) -> int:
        """cache_alloc_refill(): up to batchcount objects into this CPU's array -- from the
        shared array, else from slabs_partial then slabs_free, else a new slab -- and the
        last of them returned."""
        while True:  # retry
            ac = c.array[self.k.cpu]
            batchcount = ac.batchcount
            if not ac.touched and batchcount > BATCHREFILL_LIMIT:
                batchcount = BATCHREFILL_LIMIT  # little recent activity: a partial refill
            n = c.node
            sh = n.shared
            if self.idx and not n.free_objects and (sh is None or not sh.entry):
                pass  # direct_grow
            elif sh is not None and sh.entry and self._transfer(ac, sh, batchcount):
                if self.idx or not self.numa:
                    sh.touched = 1  # (2.6.24's transfer_objects() marks the CPU array instead)
                ac.touched = 1
                return ac.entry.pop()
            else:
                self._refill_from_lists(c, ac, batchcount)
            if ac.entry:
                break
            slab = self.cache_grow(c, flags)
            ac = c.array[self.k.cpu]
            if self.idx:  # 6.6: take from the new slab at once, then link it
                if not ac.entry and slab is not None:
                    self._alloc_block(c, ac, slab, batchcount)
                if slab is not None:
                    self.cache_grow_end(c, slab)
                if not ac.entry:
                    return 0
                break
            if slab is None and not ac.entry:
                return 0  # no objects in sight
            if ac.entry:
                break
            # 2.6: the new slab is on slabs_free: retry
        ac.touched = 1
        return ac.entry.pop()

    def _transfer(self, ac: ArrayCache, sh: ArrayCache, batchcount: int) -> int:
        """The shared array's top objects onto the CPU array (2.6.11's memcpy, transfer_objects())."""
        nr = min(len(sh.entry), batchcount)
        if self.numa:
            nr = min(nr, ac.limit - len(ac.entry))
            if self.numa and not self.idx and nr:
                ac.touched = 1
        if nr:
            ac.entry.extend(sh.entry[-nr:])
            del sh.entry[-nr:]
        return nr

    def _refill_from_lists(self, c: SlabCache, ac: ArrayCache, batchcount: int) -> None:
        n = c.node
        while batchcount > 0:
            slab = n.slabs_partial.first()
            lst = n.slabs_partial
            if slab is None:
                n.free_touched = 1
                slab = n.slabs_free.first()
                lst = n.slabs_free
                if slab is None:
                    break  # must_grow
                if self.idx:
                    n.free_slabs -= 1
            if self.debug and not self.idx:
                self.dbg.check_slabp(c, slab)
            before = batchcount
            batchcount = self._alloc_block(c, ac, slab, batchcount)
            if self.debug and not self.idx:
                self.dbg.check_slabp(c, slab)
            lst.remove(slab)
            self._fixup_slab_list(c, slab)
            if batchcount == before:
                # a slab on slabs_partial with nothing to give (its counts corrupted by a double
                # free): 2.6.11 has no BUG_ON there and would spin in this loop for ever
                soft_lockup(self.k)
                break
        n.free_objects -= len(ac.entry)

    def _alloc_block(self, c: SlabCache, ac: ArrayCache, slab: ClassicSlab, batchcount: int) -> int:
        """The inner loop of cache_alloc_refill (alloc_block in 6.6)."""
        if (slab.inuse >= c.num or slab.inuse < 0) and self.numa:
            self._bug(self._line(0, 3008, 2844))  # BUG_ON(inuse < 0 || inuse >= num) / (active >= num)
        while slab.inuse < c.num and batchcount > 0:
            batchcount -= 1
            c.num_allocations += 1
            c.num_active += 1
            c.high_mark = max(c.high_mark, c.num_active)
            ac.entry.append(self.slab_get_obj(c, slab))
        return batchcount

    def _fixup_slab_list(self, c: SlabCache, slab: ClassicSlab) -> None:
        """Move a slab to slabs_full or slabs_partial (at the head), after objects left it."""
        n = c.node
        full = slab.inuse == c.num if self.idx else (slab.free == self.BUFCTL_END or slab.inuse >= c.num)
        if full:
            n.slabs_full.add(slab)
            if self.idx and c.objfreelist:
                slab.objfreelist = 0  # the freelist object was handed out
        else:
            n.slabs_partial.add(slab)

    def cache_grow_end(self, c: SlabCache, slab: ClassicSlab) -> None:
        """cache_grow_end() (6.6): link the new slab and count its free objects."""
        n = c.node
        n.total_slabs += 1
        if not slab.inuse:
            n.slabs_free.add_tail(slab)
            n.free_slabs += 1
        else:
            self._fixup_slab_list(c, slab)
        n.free_objects += c.num - slab.inuse

    def cache_alloc(self, c: SlabCache, gfp: int) -> int:
        """kmem_cache_alloc(cache, gfp): an object's address, or 0 (NULL)."""
        p = self._cache_alloc(c, gfp)
        if self.k.tp.kmem_cache_alloc:
            self.k.tp.trace_kmem_cache_alloc(p, cast(Any, c), gfp, False)
        return p

    # ================================================================ free
    def free_block(self, c: SlabCache, objs: list[int]) -> None:
        """free_block(): objects back to their slabs, the slab lists fixed up, empty slabs
        beyond free_limit destroyed (2.6: as they empty; 6.6: after the loop).  free_objects
        grows by the whole batch first in 2.6.11 and 6.6, object by object in 2.6.24."""
        n = c.node
        if not self.numa or self.idx:
            n.free_objects += len(objs)
        for obj in objs:
            slab = self._virt_to_slab(obj)
            if slab is None:
                continue
            if slab.cache is not c:
                # an object kmem_cache_free() was given for the wrong cache (no DEBUG to catch
                # it): the kernel would now run slab_put_obj() with this cache's geometry on
                # another cache's slab, corrupting both.  kmemsim puts it back on its own slab
                # instead (k.check() has flagged it while it sat in the wrong array)
                if not self.numa or self.idx:
                    n.free_objects -= 1
                self.free_block(slab.cache, [obj])
                continue
            self._list_of(c, slab).remove(slab)
            if self.debug and not self.idx:
                self.dbg.check_slabp(c, slab)
            self.slab_put_obj(c, slab, obj)
            c.num_active -= 1
            if self.numa and not self.idx:
                n.free_objects += 1
            if self.debug and not self.idx:
                self.dbg.check_slabp(c, slab)
            if slab.inuse == 0:
                if self.idx:
                    n.slabs_free.add(slab)
                    n.free_slabs += 1
                elif n.free_objects > n.free_limit:
                    n.free_objects -= c.num
                    self.slab_destroy(c, slab)
                else:
                    n.slabs_free.add(slab)
            else:
                n.slabs_partial.add_tail(slab)
        if self.idx:
            destroy: list[ClassicSlab] = []
            while n.free_objects > n.free_limit and len(n.slabs_free):
                n.free_objects -= c.num
                slab = n.slabs_free.last()
                assert slab is not None
                n.slabs_free.remove(slab)
                n.free_slabs -= 1
                n.total_slabs -= 1
                destroy.append(slab)
            for slab in destroy:
                self.slab_destroy(c, slab)

    def _list_of(self, c: SlabCache, slab: ClassicSlab) -> SlabList:
        n = c.node
        for lst in (n.slabs_partial, n.slabs_full, n.slabs_free):
            if slab in lst:
                return lst
        raise InvariantError("slab", f"{c.name}: {slab} is on none of its lists")

    def _virt_to_slab(self, obj: int) -> ClassicSlab | None:
        return self.slab_of.get((obj - self.k.layout.page_offset) >> self.page_shift)

    def cache_flusharray(self, c: SlabCache, ac: ArrayCache) -> None:
        """cache_flusharray(): batchcount objects from the array's bottom to the shared
        array if it has room, else back to their slabs."""
        batchcount = ac.batchcount
        if self.debug and (not batchcount or batchcount > ac.avail):
            self._bug(self._line(2220, 3535, 0))
        sh = c.node.shared
        done = False
        if sh is not None:
            room = sh.limit - sh.avail
            if room:
                batchcount = min(batchcount, room)
                sh.entry.extend(ac.entry[:batchcount])
                done = True
        if not done:
            self.free_block(c, ac.entry[:batchcount])
        if self.debug:
            c.max_freeable = max(c.max_freeable, len(c.node.slabs_free))
        del ac.entry[:batchcount]

    def _cache_free(self, c: SlabCache, obj: int) -> None:
        """__cache_free(): onto this CPU's array, flushing it first when full."""
        if self.debug:
            obj = self.dbg.free_debugcheck(c, obj)
        ac = c.array[self.k.cpu]
        if ac.avail < ac.limit:
            c.freehit += 1
        else:
            c.freemiss += 1
            self.cache_flusharray(c, ac)
        if self.hardened and ac.entry and ac.entry[-1] == obj:
            # __free_one(): WARN_ON_ONCE of the trivial double free (CONFIG_SLAB_FREELIST_HARDENED)
            self.k.report.warn_once("slab __free_one", "___cache_free+0x0/0x0")
            return
        ac.entry.append(obj)

    def cache_free(self, c: SlabCache, obj: int) -> None:
        """kmem_cache_free(cache, obj).  Without DEBUG, 2.6 SLAB takes the caller's word for
        the cache (a wrong one gets another cache's object in its array); 6.6 checks with
        FREELIST_HARDENED (cache_from_obj)."""
        if not obj:
            return
        k = self.k
        if self.idx:
            real = self.cache_of(obj)
            if k.tp.kmem_cache_free:
                k.tp.trace_kmem_cache_free(obj, (real or c).name)
            if self.hardened and real is not None and real is not c:
                k.report.warn("cache_from_obj+0x0/0x0",
                              f"cache_from_obj: Wrong slab cache. {c.name} but object is from {real.name}")
                c = real
        if self._virt_to_slab(obj) is None:
            self._not_a_slab_object(obj)
            return
        self._cache_free(c, obj)

    def _not_a_slab_object(self, obj: int) -> None:
        """virt_to_cache()/virt_to_slab() of an address no slab owns: 2.6.24's page_get_cache()
        BUG_ON(!PageSlab(page)); 2.6.11's kfree takes the page's lru pointer as the cache
        (kmemsim reports it as the same BUG); 6.6 kfree hands it to free_large_kmalloc()."""
        k = self.k
        if self.idx:
            k.pages.free_pages(obj & ~(self.page_size - 1), 0)
            return
        if self.debug and not self.numa:
            k.printk(f"kfree_debugcheck: bad ptr {obj:x}h.", 3)
            self._bug(1757)
        self._bug(self._line(1757, 591, 0), kind="slab_bad_free")

    # ================================================================ kmalloc
    def _max_cache_size(self) -> int:
        return self.page_size * 2  # KMALLOC_MAX_CACHE_SIZE = 1 << (PAGE_SHIFT + 1) (6.6 SLAB)

    def _find_general_cachep(self, size: int, gfp: int) -> SlabCache | None:
        """__find_general_cachep() / kmalloc_slab(): the general cache for ``size`` (None above)."""
        if self.common:
            return self._kmalloc_slab_6_6(size, gfp)
        dma = bool(gfp & self.bits.dma)
        for cs_size, cache, dmacache in self.malloc_sizes:
            if size <= cs_size:
                return dmacache if dma else cache
        return None

    def _kmalloc_index(self, size: int) -> int:
        """kmalloc_slab()'s index (6.6): size_index up to 192 (1..32 -> 5 with KMALLOC_MIN_SIZE 32),
        else fls(size - 1)."""
        if size <= 192:
            if size <= 32:
                return 5
            if size <= 64:
                return 6
            if size <= 96:
                return 1
            if size <= 128:
                return 7
            return 2
        return (size - 1).bit_length()

    def _kmalloc_slab_6_6(self, size: int, gfp: int = 0) -> SlabCache | None:
        kind = self._kmalloc_kind(gfp)
        table = self.kmalloc_caches.get(kind) or self.kmalloc_caches.get("", [])
        i = self._kmalloc_index(size)
        return table[i] if i < len(table) else None

    def _kmalloc_kind(self, gfp: int) -> str:
        """kmalloc_type() (6.6, no MEMCG_KMEM): DMA, then RECLAIM for __GFP_RECLAIMABLE *or*
        __GFP_ACCOUNT (without kmem accounting an accounted request lands in kmalloc-rcl)."""
        b = self.bits
        if not gfp & (b.dma | b.reclaimable | b.account):
            return ""
        if gfp & b.dma:
            return "dma"
        return "rcl" if "rcl" in self.kmalloc_caches else ""

    def kmalloc_cache_for(self, size: int, gfp: int) -> SlabCache | None:
        if size == 0:
            return None if self.zero_size_ptr else self._find_general_cachep(0, gfp)
        if self.common and size > self._max_cache_size():
            return None
        return self._find_general_cachep(size, gfp)

    def _kmalloc_raw(self, size: int, gfp: int) -> int:
        """kmalloc() for SLAB's own structures: no tracepoint."""
        c = self._find_general_cachep(size, gfp)
        if c is None:
            return 0
        return self._cache_alloc(c, gfp)

    def _kfree_raw(self, obj: int) -> None:
        c = self.cache_of(obj)
        if c is not None:
            self._cache_free(c, obj)

    def kmalloc(self, size: int, mask: int) -> int:
        """kmalloc(): the general cache's object; 2.6: NULL above the largest general cache
        (and kmalloc(0) an object of the smallest before ZERO_SIZE_PTR); 6.6: pages above 8 KiB."""
        k = self.k
        if size == 0 and self.zero_size_ptr:
            return ZERO_SIZE_PTR
        if self.kmalloc_large_pages and size > self._max_cache_size():
            p = self.kmalloc_large(size, mask)
            if k.tp.kmalloc:
                k.tp.trace_kmalloc(p, size, self.page_size << max(0, ((size - 1) >> self.page_shift).bit_length()),
                                   mask)
            return p
        c = self._find_general_cachep(size, mask)
        if c is None:
            return 0
        p = self._cache_alloc(c, mask)
        if k.tp.kmalloc:
            k.tp.trace_kmalloc(p, size, c.buffer_size, mask)
        return p

    def kmalloc_large(self, size: int, gfp: int) -> int:
        """__kmalloc_large_node() (6.6): a compound block of get_order(size)."""
        k = self.k
        if gfp & self.bug_mask:
            gfp = self.dbg.kmalloc_fix_flags(gfp, self.bug_mask)
        order = max(0, ((size - 1) >> self.page_shift).bit_length())
        pfn = k.page_alloc.alloc(gfp | self.bits.comp, order)
        if pfn < 0:
            return 0
        addr = self._page_address(pfn)
        self.large[addr] = order
        return addr

    def kfree(self, obj: int) -> None:
        """kfree(): NULL (and ZERO_SIZE_PTR) ignored; the object back to its cache."""
        k = self.k
        if k.tp.kfree:
            k.tp.trace_kfree(obj)
        if obj == 0 or (self.zero_size_ptr and obj <= ZERO_SIZE_PTR):
            return
        c = self.cache_of(obj)
        if c is None:
            order = self.large.pop(obj, None)
            if order is not None:
                k.page_alloc.free((obj - k.layout.page_offset) >> self.page_shift, order)
                return
            self._not_a_slab_object(obj)
            return
        self._cache_free(c, obj)

    def ksize(self, obj: int) -> int:
        """ksize(): obj_size of the object's cache (2.6.24 BUG_ON(!objp); 2.6.11 returns 0)."""
        if obj == 0:
            if self.numa:
                self._bug(self._line(0, 4472, 0) or 4472)
            return 0
        if self.zero_size_ptr and obj == ZERO_SIZE_PTR:
            return 0
        c = self.cache_of(obj)
        if c is None:
            order = self.large.get(obj)
            if order is not None:
                return self.page_size << order
            self._not_a_slab_object(obj)
            return 0
        return c.object_size

    def krealloc(self, obj: int, new_size: int, gfp: int) -> int:
        return krealloc_ksize(self, self.k, obj, new_size, gfp)

    def kmalloc_size_roundup(self, size: int) -> int:
        """The bytes kmalloc(size) would give: the general cache's size, pages above (6.6)."""
        if size == 0:
            return 0
        c = self.kmalloc_cache_for(size, 0)
        if c is not None:
            return c.object_size
        if self.kmalloc_large_pages:
            return self.page_size << max(0, ((size - 1) >> self.page_shift).bit_length())
        return size

    def slab_pages(self, reclaimable: bool) -> int:
        n = sum(self._counts(c)[3] << c.gfporder for c in self.cache_chain
                if bool(c.flags & self.F_RECLAIM) == reclaimable)
        if not reclaimable:
            n += sum(1 << o for o in self.large.values())
        return n

    # ================================================================ shrink, destroy
    def drain_cpu_caches(self, c: SlabCache) -> None:
        """drain_cpu_caches(): every CPU's array, then the shared array, back to the slabs."""
        for ac in c.array:
            if ac.entry:
                self.free_block(c, list(ac.entry))
                ac.entry.clear()
        sh = c.node.shared
        if sh is not None and sh.entry:
            self.free_block(c, list(sh.entry))
            sh.entry.clear()

    def drain_freelist(self, c: SlabCache, tofree: int) -> int:
        """drain_freelist(): destroy up to ``tofree`` slabs from the tail of slabs_free."""
        n = c.node
        freed = 0
        while freed < tofree and len(n.slabs_free):
            slab = n.slabs_free.last()
            assert slab is not None
            if self.debug and slab.inuse:
                self._bug(self._line(1580, 2500, 0))
            n.slabs_free.remove(slab)
            if self.idx:
                n.free_slabs -= 1
                n.total_slabs -= 1
            n.free_objects -= c.num
            self.slab_destroy(c, slab)
            freed += 1
        return freed

    def __cache_shrink(self, c: SlabCache) -> int:
        self.drain_cpu_caches(c)
        self.drain_freelist(c, 1 << 62)
        n = c.node
        return 1 if len(n.slabs_full) or len(n.slabs_partial) else 0

    def shrink_cache(self, c: SlabCache) -> int:
        """kmem_cache_shrink(): 0 when every slab could be freed."""
        if self.k.sched.in_interrupt():
            self._bug(self._line(1605, 2548, 0))
        return self.__cache_shrink(c)

    def destroy_cache(self, c: SlabCache) -> None:
        """kmem_cache_destroy(): the cache goes unless objects remain -- then 2.6's
        "slab error in kmem_cache_destroy(): cache `x': Can't free all objects" and the cache
        back at the head of the chain, or 6.6's WARN, the cache kept."""
        k = self.k
        if c is self.cache_cache:
            raise UsageError("kmem_cache_destroy: kmem_cache (the cache of caches) is never destroyed")
        if self.idx:
            c.refcount -= 1
            if c.refcount:
                return
            if self.__cache_shrink(c):
                from ..report import user_frames_top

                k.report.warn("kmem_cache_destroy+0x0/0x0",
                              f"kmem_cache_destroy {c.name}: Slab cache still has objects when called from "
                              f"{(user_frames_top() or 'kmem_cache_destroy')}+0x0/0x0")
                return
            self._release(c)
            return
        if k.sched.in_interrupt():
            self._bug(self._line(1634, 2575, 0))
        self.cache_chain.remove(c)
        if self.__cache_shrink(c):
            self.dbg.slab_error(c, "kmem_cache_destroy", "Can't free all objects")
            self.cache_chain.insert(0, c)
            return
        self._release(c, unlinked=True)

    def _release(self, c: SlabCache, unlinked: bool = False) -> None:
        """__kmem_cache_destroy() / __kmem_cache_release(): arrays, lists, descriptor."""
        if not unlinked:
            self.cache_chain.remove(c)
        for ac in c.array:
            self._free_array(ac)
        n = c.node
        self._free_array(n.shared)
        n.shared = None
        if n.addr:
            self._kfree_raw(n.addr)
            n.addr = 0
        self._free_descriptor(c)
        c.addr = 0

    # ================================================================ cache_reap
    def cache_reap(self, cpu: int) -> None:
        """cache_reap(): on ``cpu``, drain untouched arrays a fifth at a time; every 4 s per
        cache the shared array and some empty slabs."""
        k = self.k
        with k.on_cpu(cpu):
            for c in list(self.cache_chain):
                if c.flags & k.slab_flags.value_or_zero("SLAB_NO_REAP"):
                    continue
                n = c.node
                self._drain_array(c, c.array[cpu], False)
                if self._time_after(n.next_reap, k.jiffies):
                    continue
                n.next_reap = k.jiffies + REAPTIMEOUT_LIST3_S * k.profile.hz
                if n.shared is not None:
                    self._drain_array(c, n.shared, False)
                if n.free_touched:
                    n.free_touched = 0
                    continue
                freed = self.drain_freelist(c, (n.free_limit + 5 * c.num - 1) // (5 * c.num))
                c.reaped += freed

    def _time_after(self, a: int, b: int) -> bool:
        """time_after(a, b): b - a wrapped negative (jiffies are unsigned long)."""
        bits = self.k.layout.bits
        d = (b - a) & ((1 << bits) - 1)
        return d >= 1 << (bits - 1)

    def _drain_array(self, c: SlabCache, ac: ArrayCache, force: bool) -> None:
        """drain_array(): an array untouched since the last pass gives back a fifth of its limit."""
        if not ac.entry:
            return
        if ac.touched and not force:
            ac.touched = 0
            return
        tofree = ac.avail if force else (ac.limit + 4) // 5
        if tofree > ac.avail:
            tofree = (ac.avail + 1) // 2
        objs = ac.entry[:tofree]
        del ac.entry[:tofree]
        self.free_block(c, objs)

    def round_jiffies_relative(self, j: int, cpu: int) -> int:
        """__round_jiffies_relative(): a delay rounded to a whole second, skewed 3 jiffies per CPU."""
        hz = self.k.profile.hz
        now = self.k.jiffies
        a = j + now + cpu * 3
        rem = a % hz
        a = a - rem if rem < hz // 4 else a - rem + hz
        a -= cpu * 3
        return (a - now) if a > now else j

    def start_reap_timers(self) -> None:
        """start_cpu_timer(): each CPU's reap work, first after about a second; it then
        re-arms itself every REAPTIMEOUT_CPUC (a deferrable timer: it never wakes the machine)."""
        k = self.k
        hz = k.profile.hz
        for cpu in range(len(k.cpus)):
            t = k.sched.timer_setup(self._reap_timer, cpu)
            t.deferrable = True
            first = (hz + 3 * cpu) if not self.numa else self.round_jiffies_relative(hz, cpu)
            k.sched.mod_timer(t, k.jiffies + first)
            self.reap_timers.append(t)

    def _reap_timer(self, t: TimerList) -> None:
        cpu = int(t.data)
        self.cache_reap(cpu)
        k = self.k
        hz = k.profile.hz
        delay = (REAPTIMEOUT_CPUC_S * hz + cpu) if not self.numa else self.round_jiffies_relative(
            REAPTIMEOUT_CPUC_S * hz, cpu)
        k.sched.mod_timer(t, k.jiffies + delay)

    # ================================================================ /proc/slabinfo
    def slab_counts(self, c: SlabCache) -> tuple[int, int, int, int]:
        """(active_objs, num_objs, active_slabs, num_slabs) as /proc/slabinfo counts them."""
        return self._counts(c)[:4]

    def _counts(self, c: SlabCache) -> tuple[int, int, int, int, int, str | None]:
        """s_show()'s walk: (active_objs, num_objs, active_slabs, num_slabs, shared_avail, error)."""
        n = c.node
        error = None
        if self.idx:
            num_objs = n.total_slabs * c.num
            return (num_objs - n.free_objects, num_objs, n.total_slabs - n.free_slabs, n.total_slabs,
                    n.shared.avail if n.shared else 0, None)
        active_objs = active_slabs = num_slabs = 0
        for s in n.slabs_full:
            if s.inuse != c.num and not error:
                error = "slabs_full accounting error"
            active_objs += c.num
            active_slabs += 1
        for s in n.slabs_partial:
            if s.inuse == c.num and not error:
                error = "slabs_partial inuse accounting error"
            if not s.inuse and not error:
                error = "slabs_partial/inuse accounting error"
            active_objs += s.inuse
            active_slabs += 1
        for s in n.slabs_free:
            if s.inuse and not error:
                error = "slabs_free/inuse accounting error"
            num_slabs += 1
        num_slabs += active_slabs
        num_objs = num_slabs * c.num
        if num_objs - active_objs != n.free_objects and not error:
            error = "free_objects accounting error"
        return active_objs, num_objs, active_slabs, num_slabs, n.shared.avail if n.shared else 0, error

    def slabinfo(self) -> str:
        """/proc/slabinfo "version: 2.1" (with DEBUG: "(statistics)" and the globalstat and
        cpustat columns of the machine's version)."""
        out = [self.dbg.slabinfo_header() if self.debug else SLABINFO_HEADER]
        for c in self.cache_chain:
            active_objs, num_objs, active_slabs, num_slabs, shared_avail, error = self._counts(c)
            if error:
                self.k.printk(f"slab: cache {c.name} error: {error}", 3)
            if self.numa:
                shared = c.shared
            else:  # 2.6.11: the shared array's limit over batchcount
                shared = (c.node.shared.limit if c.node.shared else 0) // c.batchcount
            line = (f"{c.name:<17} {active_objs:6d} {num_objs:6d} {c.buffer_size:6d} {c.num:4d} "
                    f"{1 << c.gfporder:4d} : tunables {c.limit:4d} {c.batchcount:4d} {shared:4d} : slabdata "
                    f"{active_slabs:6d} {num_slabs:6d} {shared_avail:6d}")
            if self.debug:
                line += self.dbg.slabinfo_stats(c)
            out.append(line + "\n")
        return "".join(out)

    def slabinfo_write(self, text: str) -> None:
        """slabinfo_write(): "name limit batchcount shared" retunes a cache; the kernel's
        errors are a UsageError carrying the errno (-EINVAL)."""
        if not isinstance(text, str):
            raise UsageError(f"/proc/slabinfo: write a string, not {text!r}")
        if len(text.encode()) > 128:  # MAX_SLABINFO_WRITE
            raise UsageError("/proc/slabinfo: write failed: -EINVAL (Invalid argument): more than 128 bytes")
        name, sep, rest = text.partition(" ")
        if not sep:
            raise UsageError(f"/proc/slabinfo: write {text!r} failed: -EINVAL (Invalid argument): expected "
                             "'<cache> <limit> <batchcount> <shared>'")
        vals = _sscanf_3d(rest)
        if vals is None:
            raise UsageError(f"/proc/slabinfo: write {text!r} failed: -EINVAL (Invalid argument): expected "
                             "three numbers after the cache name")
        limit, batchcount, shared = vals
        for c in self.cache_chain:
            if c.name == name:
                if limit < 1 or batchcount < 1 or batchcount > limit or shared < 0:
                    if self.lenient_write:
                        return  # res = 0: the write "succeeds" and changes nothing
                    raise UsageError(f"/proc/slabinfo: write {text!r} failed: -EINVAL (Invalid argument): "
                                     "limit >= 1, 1 <= batchcount <= limit, shared >= 0")
                err = self.do_tune_cpucache(c, limit, batchcount, shared)
                if err:
                    raise UsageError(f"/proc/slabinfo: write {text!r} failed: -ENOMEM (Cannot allocate memory)")
                return
        raise UsageError(f"/proc/slabinfo: write {text!r} failed: -EINVAL (Invalid argument): no cache {name!r}")

    # ================================================================ invariants
    def check(self) -> None:
        errs = self.problems()
        if errs:
            raise InvariantError("slab", "; ".join(errs[:5]))

    def problems(self) -> list[str]:
        """Every broken invariant, as text (empty: consistent)."""
        errs: list[str] = []
        pa = self.k.page_alloc
        owned: dict[int, ClassicSlab] = {}
        for c in self.cache_chain:
            n = c.node
            if not 1 <= c.batchcount <= c.limit:
                errs.append(f"{c.name}: batchcount {c.batchcount} outside 1..limit {c.limit}")
            lists = {"partial": n.slabs_partial, "full": n.slabs_full, "free": n.slabs_free}
            free = 0
            in_arrays: set[int] = set()
            for ac in [*c.array, *([n.shared] if n.shared else [])]:
                if ac.avail > ac.limit:
                    errs.append(f"{c.name}: {ac} holds more than its limit")
                for obj in ac.entry:
                    if obj in in_arrays:
                        errs.append(f"{c.name}: object {obj:#x} is twice in the arrays")
                    in_arrays.add(obj)
            nslabs = 0
            for what, lst in lists.items():
                for s in lst:
                    nslabs += 1
                    if id(s) in {id(x) for x in owned.values()} and owned.get(s.pfn) is not s:
                        errs.append(f"{c.name}: {s} is on two lists")
                    owned[s.pfn] = s
                    if s.cache is not c:
                        errs.append(f"{c.name}: {s} of cache {s.cache.name} on its {what} list")
                    want = "free" if s.inuse == 0 else ("full" if s.inuse == c.num else "partial")
                    if want != what:
                        errs.append(f"{c.name}: {s} on slabs_{what}")
                    free += c.num - s.inuse
                    errs += self._check_chain(c, s, in_arrays)
                    for p in range(s.pfn, s.pfn + (1 << c.gfporder)):
                        if self.slab_of.get(p) is not s:
                            errs.append(f"{c.name}: page {p:#x} of {s} is not mapped to it")
                            break
                    if pa.head_of(s.pfn) != s.pfn:
                        errs.append(f"{c.name}: {s} is not a block allocated to it")
            if free != n.free_objects:
                errs.append(f"{c.name}: free_objects {n.free_objects} but {free} free on the lists")
            if self.idx and (nslabs != n.total_slabs or len(n.slabs_free) != n.free_slabs):
                errs.append(f"{c.name}: total_slabs {n.total_slabs}/free_slabs {n.free_slabs} but {nslabs} slabs, "
                            f"{len(n.slabs_free)} free")
            for obj in in_arrays:
                holder = self._virt_to_slab(obj)
                if holder is None or holder.cache is not c:
                    errs.append(f"{c.name}: array object {obj:#x} is not on a slab of the cache")
        seen = {id(x) for x in owned.values()}
        for pfn, x in self.slab_of.items():
            if id(x) not in seen:
                errs.append(f"page {pfn:#x} belongs to {x}, which is on no list")
                break
        return errs

    def _check_chain(self, c: SlabCache, s: ClassicSlab, in_arrays: set[int]) -> list[str]:
        """The slab's free chain visits num - inuse distinct objects, none of them in an array."""
        errs = []
        if self.idx:
            if not 0 <= s.inuse <= c.num:
                return [f"{c.name}: {s} inuse out of range"]
            free = s.bufctl[s.inuse:c.num]
            if len(set(free)) != len(free) or any(not 0 <= i < c.num for i in free):
                errs.append(f"{c.name}: {s} freelist {free} is not distinct object indexes")
            idxs = free
        else:
            idxs = []
            i = s.free
            while i != self.BUFCTL_END:
                if not 0 <= i < c.num or i in idxs or len(idxs) > c.num:
                    errs.append(f"{c.name}: {s} bufctl chain broken at {i}")
                    break
                idxs.append(i)
                i = s.bufctl[i]
            if len(idxs) != c.num - s.inuse:
                errs.append(f"{c.name}: {s} has {len(idxs)} objects on its chain, inuse {s.inuse}")
        for i in idxs:
            if s.s_mem + i * c.buffer_size in in_arrays:
                errs.append(f"{c.name}: free object {i} of {s} is in an array")
                break
        return errs

    # ================================================================ boot
    def kmem_cache_init(self) -> None:
        """kmem_cache_init() (+ 6.6's create_kmalloc_caches and kmem_cache_init_late):
        the cache of caches, the general caches, the bootstrap arrays and lists replaced by
        kmalloc'd ones, every cache tuned."""
        cc = self.cache_cache
        cc.colour_off = self.cache_line
        cc.node = KmemList3()
        if self.idx:
            # create_boot_cache(kmem_cache, "kmem_cache", offsetof(node) + nr_node_ids * ptr, HWCACHE_ALIGN)
            cc.object_size = self.sizeof_cache
            align = self.calculate_alignment(self.F_HWCACHE, 8, self.sizeof_cache)
            self._kmem_cache_create_6_6(cc, self.sizeof_cache, align, self.F_HWCACHE)
            cc.refcount = -1
            self.cache_chain.insert(0, cc)
            self.state = "partial"
            self._create_kmalloc_caches_6_6()
            for c in list(self.cache_chain):  # kmem_cache_init_late(): resize the head arrays
                self.enable_cpucache(c)
            self.state = "full"
            return
        cc.buffer_size = cc.object_size = -(-self.sizeof_cache // self.cache_line) * self.cache_line
        order = 0
        while True:
            cc.num, left = self.cache_estimate(order, cc.buffer_size, self.cache_line, 0)
            if cc.num:
                break
            order += 1
        cc.gfporder = order
        cc.colour = left // cc.colour_off
        cc.slab_size = -(-(cc.num * self.bufctl_size + self.sizeof_slab) // self.cache_line) * self.cache_line
        cc.array = [ArrayCache(1, 1) for _ in self.k.cpus]  # initarray_cache
        cc.node.next_reap = self._reap_base(cc)
        self.cache_chain.insert(0, cc)
        sizes = [32, 64] + ([96] if self.cache_line < 64 else []) + [128] + ([192] if self.cache_line < 128 else [])
        top = (1 << (self._kmalloc_max_order() + self.page_shift)) if self.max_order_general else 131072
        s = 256
        while s <= top:
            sizes.append(s)
            s *= 2
        flags = self.F_HWCACHE | self.F_PANIC  # ARCH_KMALLOC_FLAGS | SLAB_PANIC
        kalign = 8 if self.numa else 0  # ARCH_KMALLOC_MINALIGN (2.6.11: 0)
        self.malloc_sizes = [(sz, None, None) for sz in sizes]
        if self.numa:
            # INDEX_AC and INDEX_L3 first: the caches kmalloc(sizeof(arraycache_init)) and
            # kmalloc(sizeof(struct kmem_list3)) come from
            first = [self._index_of(self.sizeof_ac + self.word), self._index_of(self.sizeof_l3)]
            for i in dict.fromkeys(first):
                boot = self.create_cache(f"size-{sizes[i]}", sizes[i], kalign, flags)
                self.malloc_sizes[i] = (sizes[i], boot, None)
            self.slab_early_init = False
        for i, sz in enumerate(sizes):
            cs = self.malloc_sizes[i][1]
            if cs is None:
                cs = self.create_cache(f"size-{sz}", sz, kalign, flags)
                self.malloc_sizes[i] = (sz, cs, None)
            assert cs is not None
            if not self.numa and not cs.off_slab:
                self.offslab_limit = (sz - self.sizeof_slab) // self.bufctl_size
            dma = self.create_cache(f"size-{sz}(DMA)", sz, kalign, flags | self.F_DMA)
            self.malloc_sizes[i] = (sz, cs, dma)
        # 4) replace the bootstrap head arrays of cache_cache and the first general cache
        first_cache = self.malloc_sizes[self._index_of(self.sizeof_ac + self.word) if self.numa else 0][1]
        assert first_cache is not None
        for c in (cc, first_cache):
            ptr = self._kmalloc_raw(self.sizeof_ac + self.word, self.bits.kernel)
            c.array[0].addr = ptr
        # 5) the bootstrap lists (2.6.24): kmalloc'd copies
        if self.numa:
            for c in self.cache_chain:
                if not c.node.addr:
                    c.node.addr = self._kmalloc_raw(self.sizeof_l3, self.bits.kernel)
        # 6) resize the head arrays to their final sizes
        self.state = "full"
        for c in list(self.cache_chain):
            self.enable_cpucache(c)

    def _index_of(self, size: int) -> int:
        for i, (cs_size, _c, _d) in enumerate(self.malloc_sizes):
            if size <= cs_size:
                return i
        raise ConfigError(f"index_of({size}): no general cache that large")

    def _create_kmalloc_caches_6_6(self) -> None:
        """6.6 kmem_cache_init(): kmalloc-128 (for kmem_cache_node) first, the static nodes
        replaced, then create_kmalloc_caches(SLAB_HWCACHE_ALIGN) for NORMAL, RECLAIM and DMA."""
        shift_low, shift_high = 5, self.page_shift + 1
        kinds = [("", "kmalloc-", 0)]
        if self.k.features.kmalloc_short_names:
            kinds.append(("rcl", "kmalloc-rcl-", self.F_RECLAIM))
        kinds.append(("dma", "dma-kmalloc-", self.F_DMA))
        for kind, _p, _f in kinds:
            self.kmalloc_caches[kind] = [None] * (shift_high + 1)
        node_idx = self._kmalloc_index(self.sizeof_l3)
        self._new_kmalloc_cache(node_idx, kinds[0])
        self.state = "partial_node"
        for c in self.cache_chain:  # init_list(): the static kmem_cache_node of the first two
            if not c.node.addr:
                c.node.addr = self._kmalloc_raw(self.sizeof_l3, self.bits.kernel)
        for kt in kinds:
            for i in range(shift_low, shift_high + 1):
                if self.kmalloc_caches[kt[0]][i] is None:
                    self._new_kmalloc_cache(i, kt)
                if i == 6 and self.kmalloc_caches[kt[0]][1] is None:
                    self._new_kmalloc_cache(1, kt)
                if i == 7 and self.kmalloc_caches[kt[0]][2] is None:
                    self._new_kmalloc_cache(2, kt)

    def _new_kmalloc_cache(self, idx: int, kt: tuple[str, str, int]) -> None:
        kind, prefix, extra = kt
        size = {1: 96, 2: 192}.get(idx, 1 << idx)
        short = f"{size >> 10}k" if size >= 1024 and self.k.features.kmalloc_short_names else str(size)
        flags = self.F_HWCACHE | extra | self.k.slab_flags.value_or_zero("SLAB_KMALLOC")
        c = self.create_cache(prefix + short, size, 0, flags, _kmalloc=True)
        self.kmalloc_caches[kind][idx] = c


def _sscanf_3d(text: str) -> tuple[int, int, int] | None:
    """sscanf(tmp, " %d %d %d"): three decimal ints (leading '+'/'-' allowed), else None."""
    parts = text.split()
    if len(parts) < 3:
        return None
    out = []
    for p in parts[:3]:
        digits = p[1:] if p[:1] in "+-" else p
        lead = ""
        for ch in digits:
            if not ch.isdigit():
                break
            lead += ch
        if not lead:
            return None
        v = int(lead)
        out.append(-v if p.startswith("-") else v)
        if len(lead) != len(digits):
            break
    if len(out) != 3:
        return None
    return out[0], out[1], out[2]


def slab_init(k: Kernel) -> SlabAllocator:
    """kmem_cache_init() of SLAB: the caches, the check, /proc/slabinfo (read and tune),
    the slab counters, and the reap timers (cpucache_init)."""
    impl = SlabAllocator(k)
    impl.kmem_cache_init()
    k.checks.register("slab", impl.check)
    k.node_stats.register("nr_slab_reclaimable", lambda: impl.slab_pages(True))
    k.node_stats.register("nr_slab_unreclaimable", lambda: impl.slab_pages(False))
    k.procfs.create("slabinfo", impl.slabinfo, lambda v: impl.slabinfo_write(str(v).rstrip("\n")))
    impl.start_reap_timers()
    return impl
