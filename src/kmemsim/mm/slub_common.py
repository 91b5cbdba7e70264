"""SLUB behind the common slab API: what 6.18's mm/slab_common.c does for SLUB, and SLUB's views.

``kmemsim.mm.slab_common.SlabCommon`` (``k.slab``) checks the caller's arguments and
dispatches to the allocator the machine was booted with (``k.slab_impl``).  With
``slab_allocator=slub`` that is the :class:`SlubAllocator` here: cache creation with
merging (find_mergeable), the kmalloc caches and kmalloc_large, kfree, ksize, krealloc
with the tracked request size, validate_slab_cache; and SLUB's own views --
/proc/slabinfo (tunables printed as 0), /sys/kernel/slab and debugfs slab/.  The
allocator proper (slabs, freelists, per-CPU slabs) is ``kmemsim.mm.slub``; the cache
geometry ``kmemsim.mm.slub_geometry``.

Models mm/slab_common.c and the kmalloc parts of mm/slub.c and include/linux/slab.h
of Linux 6.18.

kmalloc size classes (6.18 x86_64)::

    size (bytes)    cache          size (bytes)    cache
    1 .. 8          kmalloc-8      193 .. 256      kmalloc-256
    9 .. 16         kmalloc-16     257 .. 512      kmalloc-512
    17 .. 32        kmalloc-32     513 .. 1024     kmalloc-1k
    33 .. 64        kmalloc-64     1025 .. 2048    kmalloc-2k
    65 .. 96        kmalloc-96     2049 .. 4096    kmalloc-4k
    97 .. 128       kmalloc-128    4097 .. 8192    kmalloc-8k
    129 .. 192      kmalloc-192    above 8192      the page allocator (kmalloc_large)

Each class exists in four kinds chosen by the gfp mask: ``kmalloc-`` (normal),
``kmalloc-rcl-`` (__GFP_RECLAIMABLE), ``kmalloc-cg-`` (__GFP_ACCOUNT) and
``dma-kmalloc-`` (__GFP_DMA), in the priority DMA > RECLAIMABLE > ACCOUNT.

Invariants (checked by ``k.check()``, "slub"): those of ``kmemsim.mm.slub``.
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, UsageError
from ..registry import DirHandler
from ..report import user_frames_top
from ..slab_flags import ZERO_SIZE_PTR
from . import slub_geometry as geo
from .slab_util import SLABINFO_HEADER
from .slub import KmemCache, KmemCacheCpu, Slub
from .slub_debug import SLUB_RED_ACTIVE, KunitErrors

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

__all__ = ["SlubAllocator", "slub_init"]


class SlubAllocator:
    """SLUB as the machine's slab allocator (``k.slab_impl`` when ``k.slub`` is SLUB)."""

    name = "slub"

    def __init__(self, k: Kernel, slub: Slub):
        self.k = k
        self.slub = slub
        self.bits = slub.bits  # the GFP bits acted on (k.gfp.bits)
        self.kmalloc_caches: dict[str, list[KmemCache | None]] = {}
        self.large: dict[int, int] = {}  # address -> order of kmalloc_large allocations
        #: 2.6.24 (feature slub_kmalloc_half_page): kmalloc-8 ... kmalloc-2048, DMA caches on demand
        self.half_page = k.features.slub_kmalloc_half_page
        #: the largest kmalloc a kmalloc cache serves; above it the page allocator
        self.max_cache = k.page_size // 2 if self.half_page else geo.KMALLOC_MAX_CACHE_SIZE
        mask = 0
        for v in geo.SLAB_FLAGS.values():
            mask |= v
        self._flags_mask = mask
        text = k.tunables.get("slab_debug")
        self.debug = geo.parse_slab_debug(text) if text is not None else None
        if self.debug is not None and self.debug.unknown:
            # the kernel prints "slab_debug option 'Q' unknown. skipped" and boots without them;
            # a model's user gets the typo named instead (docs/limits.md)
            bad = ", ".join(f"'{c}'" for c in dict.fromkeys(self.debug.unknown))
            raise ConfigError(f"slab_debug={text!r}: unknown option {bad} (the options are F Z P U T A O and -, "
                              "then ,cache names; the kernel would print \"slab_debug option "
                              f"'{self.debug.unknown[0]}' unknown. skipped\" and ignore it)")

    # ---- what the common layer and other subsystems read
    @property
    def caches(self) -> list[KmemCache]:
        """slab_caches, newest first."""
        return self.slub.caches

    @property
    def by_name(self) -> dict[str, KmemCache]:
        return self.slub.by_name

    @property
    def should_failslab(self) -> Callable[[Any, int], bool] | None:
        """Fault injection's hook (kmemsim.mm.fault_inject sets it while failslab can fire)."""
        return self.slub.should_failslab

    @should_failslab.setter
    def should_failslab(self, fn: Callable[[Any, int], bool] | None) -> None:
        self.slub.should_failslab = fn

    @property
    def failslab_caches(self) -> set[Any]:
        return self.slub.failslab_caches

    def cache_of(self, addr: int) -> KmemCache | None:
        """The cache whose slab holds ``addr`` (virt_to_cache), or None."""
        slab, _ = self.slub.object_of(addr)
        return None if slab is None else slab.cache

    def object_start(self, addr: int) -> int | None:
        """The start of the slab object holding ``addr``, or None."""
        slab, start = self.slub.object_of(addr)
        return None if slab is None else start

    def cache_usage(self, s: KmemCache) -> tuple[int, int, int]:
        """(active objects, total objects, bytes per object) as /proc/slabinfo counts them."""
        num = s.total_objects
        return num - self.slub.free_objects(s), num, s.size

    def check(self) -> None:
        self.slub.check()

    # ================================================================ create / destroy
    def create_cache(self, name: str, size: int, align: int = 0, flags: int = 0,
                     ctor: Callable[[int], None] | None = None, *, freeptr_offset: int | None = None,
                     useroffset: int = 0, usersize: int = 0, _kmalloc: bool = False) -> KmemCache | None:
        """__kmem_cache_create_args(): a new cache, or an existing compatible one (merged, an alias)."""
        k = self.k
        bad = flags & ~self._flags_mask
        if bad:
            raise UsageError(f"kmem_cache_create({name!r}): unknown SLAB flags {bad:#x}")
        if size < 1 or size > geo.KMALLOC_MAX_SIZE:
            self._create_failed(name, flags, f"size {size}")
            return None
        if self.debug is not None:
            flags = self.debug.kmem_cache_flags(flags, name)
        merged = None if _kmalloc else self._find_mergeable(size, align, flags, ctor, usersize)
        if merged is not None:
            merged.refcount += 1
            merged.aliases.append(name)
            # __kmem_cache_alias() (6.18 mm/slub.c:8543): the sizes grow so that kzalloc clears it all
            merged.object_size = max(merged.object_size, size)
            merged.inuse = max(merged.inuse, -(-size // self.slub.word) * self.slub.word)
            self.slub.by_name.setdefault(name, merged)
            return merged
        g = geo.calculate_geometry(
            size, align, flags, nr_cpus=len(k.cpus), word=self.slub.word,
            slub_min_order=self.slub.slub_min_order, slub_max_order=self.slub.slub_max_order,
            slub_min_objects=self.slub.slub_min_objects, freeptr_offset=freeptr_offset,
            has_ctor=ctor is not None, order_2_6_24=self.k.features.slub_small_page_orders,
            disable_higher_order_debug=bool(self.debug and self.debug.disable_higher_order_debug),
        )
        s = KmemCache(
            name=name, object_size=g.object_size, size=g.size, align=g.align, inuse=g.inuse,
            offset=g.offset, order=g.order, objects=g.objects, min_order=g.min_order,
            min_objects=g.min_objects, min_partial=g.min_partial, cpu_partial=g.cpu_partial,
            cpu_partial_slabs=g.cpu_partial_slabs, flags=g.flags, ctor=ctor,
            random=self.slub.rng.getrandbits(self.slub.word * 8) if self.slub.hardened else 0,
            allocflags=self._allocflags(g.flags), useroffset=useroffset, usersize=usersize, kmalloc=_kmalloc,
            geometry=g, red_left_pad=g.red_left_pad, debug=g.debug,
        )
        s.cpu_slab = [KmemCacheCpu() for _ in k.cpus]
        if self.slub.randomize:
            s.random_seq = self.slub.init_cache_random_seq(s.objects)
        self.slub.caches.insert(0, s)
        self.slub.by_name[name] = s
        return s

    def _create_failed(self, name: str, flags: int, why: str) -> None:
        if flags & geo.SLAB_PANIC:
            self.k.report.panic(f"kmem_cache_create: Failed to create slab '{name}'. Error -22")
        self.k.report.warn_once(f"kmem_cache_create {name}", "kmem_cache_create_usercopy+0x0/0x0",
                                f"kmem_cache_create({name}) failed with error -22")

    def _allocflags(self, flags: int) -> int:
        out = 0
        if flags & geo.SLAB_CACHE_DMA:
            out |= self.bits.dma
        if flags & geo.SLAB_RECLAIM_ACCOUNT:
            out |= self.bits.reclaimable
        return out

    def _find_mergeable(self, size: int, align: int, flags: int, ctor: Callable[[int], None] | None,
                        usersize: int) -> KmemCache | None:
        """find_mergeable() (mm/slab_common.c)."""
        if self.slub.nomerge or ctor is not None or usersize or flags & geo.SLAB_NEVER_MERGE:
            return None
        size = -(-size // self.slub.word) * self.slub.word
        align = geo.calculate_alignment(flags, align, size)
        size = -(-size // align) * align
        flags &= geo.SLAB_MERGE_SAME
        for s in reversed(self.slub.caches):  # list_for_each_entry_reverse: oldest first
            if (s.ctor is not None or s.usersize or s.flags & geo.SLAB_NEVER_MERGE or s.refcount < 0
                    or s in self.slub.failslab_caches):  # SLAB_FAILSLAB is in SLAB_NEVER_MERGE
                continue
            if size > s.size:
                continue
            if (flags & geo.SLAB_MERGE_SAME) != (s.flags & geo.SLAB_MERGE_SAME):
                continue
            if s.size - size >= self.slub.word:
                continue
            if s.align % align:  # IS_ENABLED(CONFIG_SLAB) || (s->size & ~(align - 1)) != s->size ...
                continue
            if s.size & (align - 1):
                continue
            return s
        return None

    def destroy_cache(self, s: KmemCache) -> None:
        """kmem_cache_destroy(): refcount down; the last user frees it, unless objects remain."""
        # in-flight kfree_rcu()s may include objects from our cache (6.18 kvfree_rcu_barrier()),
        # then the kfree_nolock() objects waiting for irq_work (defer_free_barrier())
        self.slub.kvfree_rcu_barrier()
        s.refcount -= 1
        if s.refcount:
            return
        self.slub.flush_cpu_slabs(s)
        self.slub.shrink(s)
        if s.nr_slabs:
            # __kmem_cache_shutdown() failed: list_slab_objects() for every partial slab
            # left, then kmem_cache_destroy()'s WARN (not inside a kunit test); the cache
            # stays (6.18 mm/slub.c free_partial, mm/slab_common.c)
            k = self.k
            d = self.slub.dbg
            for sl in list(s.partial):
                d.list_slab_objects(s, sl)
            s.refcount = 1  # the cache is kept
            if d.kunit_errors is None:
                k.report.warn("mm/slab_common.c:531 kmem_cache_destroy+0x0/0x0",
                              f"kmem_cache_destroy {s.name}: Slab cache still has objects when called from "
                              f"{(user_frames_top() or 'kmem_cache_destroy')}+0x0/0x0")
                d.pending.append(f"kmem_cache_destroy {s.name}: Slab cache still has objects")
            d.finish()
            return
        if s.flags & geo.SLAB_TYPESAFE_BY_RCU:
            self.k.sched.rcu.rcu_barrier()  # its slabs' pages wait for rcu_free_slab()
        self.slub.caches.remove(s)
        for n in [s.name, *s.aliases]:
            if self.slub.by_name.get(n) is s:
                del self.slub.by_name[n]

    # ================================================================ alloc / free
    def check_cache(self, cache: object, what: str) -> None:
        """A UsageError unless ``cache`` is a live cache of this machine."""
        if not isinstance(cache, KmemCache):
            raise UsageError(f"{what}: {cache!r} is not a cache made by kmem_cache_create()")
        if cache not in self.slub.caches:
            raise UsageError(f"{what}: cache {cache.name} was destroyed")

    def cache_alloc(self, cache: KmemCache, gfp: int) -> int:
        """kmem_cache_alloc(cache, gfp): an object's address, or 0 (NULL)."""
        p = self.slub.slab_alloc(cache, gfp, cache.object_size)
        if self.k.tp.kmem_cache_alloc:
            accounted = bool(gfp & self.bits.account or cache.flags & geo.SLAB_ACCOUNT)
            self.k.tp.trace_kmem_cache_alloc(p, cache, gfp, accounted)
        return p

    def cache_free(self, s: KmemCache, obj: int) -> None:
        """kmem_cache_free(cache, obj): the cache is checked with FREELIST_HARDENED (cache_from_obj)."""
        if not obj:
            return
        slab, start = self.slub.object_of(obj)
        if slab is None:
            # cache_from_obj() -> virt_to_cache() (6.18 mm/slub.c:6717, inlined into kmem_cache_free):
            # WARN_ONCE(!slab, "%s: Object is not a Slab page!\n", __func__), then no free and no
            # trace event.  (Without FREELIST_HARDENED or consistency checks the kernel skips the
            # check and goes on to free through a NULL slab; the model always warns.)
            self.k.report.warn_once("virt_to_cache", "mm/slub.c:6717 kmem_cache_free+0x0/0x0",
                                    "virt_to_cache: Object is not a Slab page!")
            return
        if slab.cache is not s and (self.slub.hardened or s.flags & geo.SLAB_CONSISTENCY_CHECKS):
            # cache_from_obj() (mm/slub.c:6731): WARN, the real cache's tracking, and the free goes there
            self.k.report.warn("mm/slub.c:6731 kmem_cache_free+0x0/0x0",
                               f"cache_from_obj: Wrong slab cache. {s.name} but object is from {slab.cache.name}")
            lines = self.slub.dbg.print_tracking(slab.cache, obj)
            if lines:
                self.k.printk("\n".join(lines), 3)
        if self.k.tp.kmem_cache_free:
            self.k.tp.trace_kmem_cache_free(obj, slab.cache.name)  # the cache cache_from_obj() returned
        self.slub.slab_free(slab.cache, slab, obj)

    def shrink_cache(self, cache: KmemCache) -> int:
        """kmem_cache_shrink(cache): give empty slabs back to the page allocator."""
        self.slub.shrink(cache)
        return 0

    def cache_size(self, cache: KmemCache) -> int:
        """kmem_cache_size(): the object size."""
        return cache.object_size

    def kmalloc_size_roundup(self, size: int) -> int:
        """kmalloc_size_roundup(size): what kmalloc(size) would really give."""
        if self.half_page:
            if size > self.max_cache:
                return geo.kmalloc_size_roundup(size)
            return self.kmalloc_caches[""][geo.kmalloc_index(size)].size if size else 0  # type: ignore[union-attr]
        return geo.kmalloc_size_roundup(size)

    def krealloc(self, obj: int, new_size: int, gfp: int) -> int:
        """krealloc(p, new_size, gfp) (6.18 __do_krealloc): keep p while new_size fits the
        object (zeroing the spare bytes with __GFP_ZERO, moving the kmalloc red zone when
        the request size is tracked), else a new allocation with the old contents;
        new_size 0 frees p and gives ZERO_SIZE_PTR."""
        if new_size == 0:
            self.kfree(obj)
            return ZERO_SIZE_PTR
        if obj <= ZERO_SIZE_PTR:
            return self.kmalloc(new_size, gfp)
        slab, _ = self.slub.object_of(obj)
        s = None
        orig = 0
        if slab is None:
            order = self.large.get(obj)
            ks = 0 if order is None else self.k.page_size << order
        else:
            s = slab.cache
            orig = self.slub.dbg.get_orig_size(s, obj)
            ks = s.object_size
        if new_size <= ks:
            if gfp & self.bits.zero:
                if orig and orig < new_size:
                    self.k.memset(obj + orig, 0, new_size - orig)
                else:
                    self.k.memset(obj + new_size, 0, ks - new_size)
            if s is not None and self.slub.dbg.orig_size_kept(s):
                self.slub.dbg.set_orig_size(s, obj, new_size)
                if s.flags & geo.SLAB_RED_ZONE and new_size < ks:
                    self.k.memset(obj + new_size, SLUB_RED_ACTIVE, ks - new_size)
            return obj
        new = self.kmalloc(new_size, gfp)
        if new:
            self.k.memcpy(new, obj, orig or ks)
            self.kfree(obj)
        return new

    def kmalloc_cache(self, cache: KmemCache, gfp: int, size: int) -> int:
        """__kmalloc_cache_noprof(cache, gfp, size): kmalloc from a given kmalloc-type
        cache with request size ``size`` (what kmalloc() of a constant size compiles to;
        lib/tests/slub_kunit.c calls it on its own SLAB_KMALLOC caches)."""
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= cache.object_size:
            raise UsageError(f"kmalloc_cache: size {size!r} must be 1..{cache.object_size}")
        p = self.slub.slab_alloc(cache, gfp, size)
        if self.k.tp.kmalloc:
            self.k.tp.trace_kmalloc(p, size, cache.size, gfp)
        return p

    def validate_slab_cache(self, cache: KmemCache) -> int:
        """validate_slab_cache(cache) (what writing 1 to /sys/kernel/slab/<c>/validate does):
        check every slab and object, report and repair what is wrong; returns the number
        of slabs checked."""
        n = self.slub.dbg.validate_slab_cache(cache)
        self.slub.dbg.finish()
        return n

    def slab_errors(self) -> AbstractContextManager[KunitErrors]:
        """``with k.slab_errors() as errs:`` -- SLUB reports counted in ``errs.count`` instead
        of printed (and never raised), as under lib/tests/slub_kunit.c's "slab_errors"."""
        return self.slub.dbg.kunit()

    def slab_pages(self, reclaimable: bool) -> int:
        """NR_SLAB_RECLAIMABLE_B / NR_SLAB_UNRECLAIMABLE_B in pages (large kmalloc counts as
        unreclaimable, as 6.18's __kmalloc_large_node_noprof accounts it)."""
        n = sum(s.nr_slabs << s.order for s in self.slub.caches
                if bool(s.flags & geo.SLAB_RECLAIM_ACCOUNT) == reclaimable)
        n += self.slub.rcu_free_pages(reclaimable)  # discarded, their pages wait for an RCU grace period
        if not reclaimable:
            n += sum(1 << o for o in self.large.values())
        return n

    # ================================================================ kmalloc
    def create_kmalloc_caches(self) -> None:
        """create_kmalloc_caches(): per kind, index 1 (96), 2 (192), then 3 .. 13."""
        kinds = {"normal": "", "reclaim": "rcl", "cgroup": "cg", "dma": "dma"}
        for kc in geo.kmalloc_caches():
            kind = kinds.get(kc.kind, kc.kind)
            name = kc.name
            if self.half_page:
                # 2.6.24 create_kmalloc_caches(): 96, 192, then 8 .. PAGE_SIZE / 2, "kmalloc-%d"
                if kind or kc.size > self.max_cache:
                    continue
                name = f"kmalloc-{kc.size}"
            table = self.kmalloc_caches.setdefault(kind, [None] * (geo.KMALLOC_SHIFT_HIGH + 1))
            align = geo.kmalloc_cache_align(kc.size, kc.flags, word=self.slub.word)
            table[kc.index] = self.create_cache(
                name, kc.size, align, kc.flags, useroffset=0, usersize=kc.size, _kmalloc=True,
            )
        if self.half_page:
            self.kmalloc_caches["dma"] = [None] * (geo.KMALLOC_SHIFT_HIGH + 1)

    def kmalloc_cache_for(self, size: int, gfp: int) -> KmemCache:
        """kmalloc_slab(): the kmalloc cache of ``size`` bytes of the kind ``gfp`` selects
        (DMA > RECLAIMABLE > ACCOUNT > normal)."""
        b = self.bits
        if self.half_page:
            if not 0 < size <= self.max_cache:
                return None  # type: ignore[return-value]
            idx = geo.kmalloc_index(size)
            if not gfp & b.dma:
                return self.kmalloc_caches[""][idx]  # type: ignore[return-value]
            table = self.kmalloc_caches["dma"]
            if table[idx] is None:
                # 2.6.24 dma_kmalloc_cache(): made at the first GFP_DMA kmalloc of the size
                realsize = geo.kmalloc_index_size(idx)
                table[idx] = self.create_cache(
                    f"kmalloc_dma-{realsize}", realsize, geo.kmalloc_cache_align(realsize, word=self.slub.word),
                    geo.SLAB_CACHE_DMA | geo.SLAB_KMALLOC, _kmalloc=True)
            return table[idx]  # type: ignore[return-value]
        if gfp & b.dma:
            kind = "dma"
        elif gfp & b.reclaimable:
            kind = "rcl"
        elif gfp & b.account:
            kind = "cg"
        else:
            kind = ""
        return self.kmalloc_caches[kind][geo.kmalloc_index(size)]  # type: ignore[return-value]

    def kmalloc(self, size: int, mask: int) -> int:
        """kmalloc(size, gfp): ZERO_SIZE_PTR for 0, a slab object up to 8 KiB, pages above."""
        if size == 0:
            return ZERO_SIZE_PTR  # no tracepoint (__do_kmalloc_node returns before it)
        if size > self.max_cache:
            p = self.kmalloc_large(size, mask)
            alloc = self.k.page_size << max(0, (size - 1).bit_length() - self.k.page_shift)
        else:
            s = self.kmalloc_cache_for(size, mask)
            p = self.slub.slab_alloc(s, mask, size)
            alloc = s.size
        if self.k.tp.kmalloc:
            self.k.tp.trace_kmalloc(p, size, alloc, mask)
        return p

    def kmalloc_large(self, size: int, gfp: int) -> int:
        """__kmalloc_large_node(): a compound page block of get_order(size)."""
        k = self.k
        order = max(0, (size - 1).bit_length() - k.page_shift)
        pfn = k.page_alloc.alloc(gfp | self.bits.comp, order)
        if pfn < 0:
            return 0
        addr = k.layout.page_offset + (pfn << k.page_shift)
        self.large[addr] = order
        return addr

    def kfree(self, obj: int) -> None:
        """kfree(p): NULL and ZERO_SIZE_PTR are ignored; a slab object or a large kmalloc."""
        if self.k.tp.kfree:
            self.k.tp.trace_kfree(obj)  # kfree(NULL) traces too (6.18)
        if obj <= ZERO_SIZE_PTR:
            return
        slab, _ = self.slub.object_of(obj)
        if slab is not None:
            self.slub.slab_free(slab.cache, slab, obj)
            return
        order = self.large.pop(obj, None)
        if order is not None:
            self.k.page_alloc.free((obj - self.k.layout.page_offset) >> self.k.page_shift, order)
            return
        k = self.k
        if not 0 <= obj - k.layout.page_offset < k.arch.lowmem_bytes:
            # virt_to_page() of an address outside the direct map is no struct page: the
            # kernel reads garbage (or BUGs with CONFIG_DEBUG_VIRTUAL); say so, naming kfree
            where = " (a vmalloc address: vfree() or kvfree() frees it)" if k.is_vmalloc_addr(obj) else ""
            k.report.bug([f"kfree: {obj:#x} is not a direct-map address: virt_to_page() would be garbage{where}"],
                         kind="bad_free")
            return
        # free_large_kmalloc() of something that is neither: the kernel's page checks catch it
        k.pages.free_pages(obj & ~(k.page_size - 1), 0)

    def ksize(self, obj: int) -> int:
        """ksize(p): the usable size (the cache's object size, or the pages of a large kmalloc)."""
        if obj <= ZERO_SIZE_PTR:
            return 0
        slab, _ = self.slub.object_of(obj)
        if slab is not None:
            # __ksize(): skip_orig_size_check() (the caller may use it all), then slab_ksize()
            s = slab.cache
            self.slub.dbg.set_orig_size(s, obj, s.object_size)
            if s.flags & (geo.SLAB_RED_ZONE | geo.SLAB_POISON):
                return s.object_size
            if s.flags & (geo.SLAB_TYPESAFE_BY_RCU | geo.SLAB_STORE_USER):
                return s.inuse
            return s.size
        order = self.large.get(obj)
        return 0 if order is None else self.k.page_size << order


# ===================================================================== views
# Each view takes the machine's SlubAllocator (``slab.slub`` is its SLUB, ``slab.k`` the machine).

def slabinfo(slab: SlubAllocator) -> str:
    """/proc/slabinfo version 2.1 (mm/slab_common.c cache_show, SLUB get_slabinfo)."""
    sl = slab.slub
    out = [SLABINFO_HEADER]
    for s in sl.caches:
        num = s.total_objects
        active = num - sl.free_objects(s)
        out.append(
            f"{s.name:<17} {active:6d} {num:6d} {s.size:6d} {s.objects:4d} {1 << s.order:4d} : tunables "
            f"{0:4d} {0:4d} {0:4d} : slabdata {s.nr_slabs:6d} {s.nr_slabs:6d} {0:6d}\n"
        )
    return "".join(out)


def slab_sysfs(slab: SlubAllocator, cache: str, attr: str) -> str:
    """/sys/kernel/slab/<cache>/<attr> (mm/slub.c *_show)."""
    k = slab.k
    sl = slab.slub
    s = sl.by_name.get(cache)
    if s is None:
        raise UsageError(f"/sys/kernel/slab/{cache}: no such cache")
    static = s.geometry.sysfs()
    if attr in static:
        return static[attr]

    def per_node(x: int) -> str:
        return f"{x} N0={x}\n"

    if attr == "objects":
        return per_node(s.total_objects - sl.free_objects(s))
    if attr == "total_objects":
        return per_node(s.total_objects)
    if attr == "slabs":
        return per_node(s.nr_slabs)
    if attr == "partial":
        return per_node(len(s.partial))
    if attr == "objects_partial":
        return per_node(sum(x.inuse for x in s.partial))
    if attr == "cpu_slabs":
        return per_node(sum((c.slab is not None) + len(c.partial) for c in s.cpu_slab))
    if attr == "slabs_cpu_partial":
        per = [(cpu, len(c.partial)) for cpu, c in enumerate(s.cpu_slab)]
        tot = sum(n for _, n in per)
        text = f"{tot * s.objects // 2}({tot})" + "".join(f" C{cpu}={n * s.objects // 2}({n})" for cpu, n in per if n)
        return text + "\n"
    if attr == "aliases":
        return f"{s.refcount - 1 if s.refcount > 0 else 0}\n"
    if attr == "ctor":
        return "" if s.ctor is None else f"{getattr(s.ctor, '__name__', 'ctor')}+0x0/0x0\n"
    if attr == "usersize":
        return f"{s.usersize}\n"
    if attr in ("shrink", "validate"):
        return ""  # write-only in effect: k.sysfs_write(path, "1")
    if attr == "failslab" and k.fault_inject.failslab is not None:  # CONFIG_FAILSLAB (6.18 profile)
        return k.fault_inject.failslab_show(s)
    raise UsageError(f"/sys/kernel/slab/{cache}/{attr}: not modelled")


_DYNAMIC_ATTRS = ("objects", "total_objects", "slabs", "partial", "objects_partial", "cpu_slabs",
                  "slabs_cpu_partial", "aliases", "ctor", "usersize", "shrink", "validate")


def _slab_sysfs_list(slab: SlubAllocator, rel: str) -> list[str]:
    sl = slab.slub
    if not rel:
        return sorted(sl.by_name)
    parts = rel.split("/")
    s = sl.by_name.get(parts[0])
    if s is None or len(parts) > 1:
        raise UsageError(f"/sys/kernel/slab/{rel}: no such directory")
    names = set(s.geometry.sysfs()) | set(_DYNAMIC_ATTRS)
    if slab.k.fault_inject.failslab is not None:
        names.add("failslab")
    return sorted(names)


def _slab_sysfs_read(slab: SlubAllocator, rel: str) -> str:
    parts = rel.split("/")
    if len(parts) != 2:
        raise UsageError(f"/sys/kernel/slab/{rel}: is a directory" if len(parts) == 1
                         else f"/sys/kernel/slab/{rel}: no such file")
    return slab_sysfs(slab, parts[0], parts[1])


def _slab_sysfs_write(slab: SlubAllocator, rel: str, value: str) -> None:
    """``kernel/slab/<c>/validate`` (1 runs validate_slab_cache), ``shrink`` (1 runs
    kmem_cache_shrink), ``failslab`` (CONFIG_FAILSLAB, kmemsim.mm.fault_inject)."""
    parts = rel.split("/")
    cache = slab.slub.by_name.get(parts[0]) if len(parts) == 2 else None
    if cache is None:
        raise UsageError(f"/sys/kernel/slab/{rel}: no such cache attribute")
    attr = parts[1]
    if attr in ("validate", "shrink"):
        if str(value).strip() != "1":
            raise UsageError(f"/sys/kernel/slab/{rel}: write 1 (-EINVAL for {value!r})")
        if attr == "validate":
            slab.validate_slab_cache(cache)
        else:
            slab.shrink_cache(cache)
        return
    fi = slab.k.fault_inject
    if attr == "failslab" and fi.failslab is not None:
        fi.failslab_store(cache, value)
        return
    raise UsageError(f"/sys/kernel/slab/{rel}: not writable in the model")


def _debugfs_slab_list(slab: SlubAllocator, rel: str) -> list[str]:
    """6.18 debugfs_slab_add(): alloc_traces and free_traces, for caches with SLAB_STORE_USER."""
    users = sorted(n for n, s in slab.slub.by_name.items() if s.flags & geo.SLAB_STORE_USER and n == s.name)
    if not rel:
        return users
    if rel in users:
        return ["alloc_traces", "free_traces"]
    raise UsageError(f"debugfs slab/{rel}: no such directory (only caches with SLAB_STORE_USER have one)")


def _debugfs_slab_read(slab: SlubAllocator, rel: str) -> str:
    parts = rel.split("/")
    s = slab.slub.by_name.get(parts[0]) if len(parts) == 2 else None
    if s is None or parts[1] not in ("alloc_traces", "free_traces") or not s.flags & geo.SLAB_STORE_USER:
        raise UsageError(f"debugfs slab/{rel}: no such file (only caches with SLAB_STORE_USER have it)")
    return slab.slub.dbg.traces(s, 0 if parts[1] == "alloc_traces" else 1)


def slub_init(k: Kernel) -> SlubAllocator:
    """kmem_cache_init() + create_kmalloc_caches() of SLUB: ``k.slub``, its kmalloc caches,
    its check, /proc/slabinfo, /sys/kernel/slab and debugfs slab/, the slab node counters.
    The fast paths are installed by the common layer once ``k.slab`` exists."""
    t = k.tunables
    slub = Slub(
        k, hardened=t.get("slab_freelist_hardened", False), randomize=t.get("slab_freelist_random", False),
        nomerge=t.get("slab_nomerge", False), min_order=t.get("slub_min_order", 0),
        max_order=t.get("slub_max_order", 3), min_objects=t.get("slub_min_objects", 0),
        word=k.layout.bits // 8,
    )
    impl = SlubAllocator(k, slub)
    k.slub = slub
    impl.create_kmalloc_caches()
    k.checks.register("slub", slub.check)
    k.node_stats.register("nr_slab_reclaimable", lambda: impl.slab_pages(True))
    k.node_stats.register("nr_slab_unreclaimable", lambda: impl.slab_pages(False))
    k.procfs.create("slabinfo", lambda: slabinfo(impl))
    k.sysfs_fs.create_dir("kernel/slab", DirHandler(lambda rel: _slab_sysfs_list(impl, rel),
                                                    lambda rel: _slab_sysfs_read(impl, rel),
                                                    lambda rel, v: _slab_sysfs_write(impl, rel, v)))
    k.debugfs_fs.create_dir("slab", DirHandler(lambda rel: _debugfs_slab_list(impl, rel),
                                               lambda rel: _debugfs_slab_read(impl, rel)))
    return impl
