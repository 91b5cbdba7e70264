"""The slab API every allocator shares, dispatched to the allocator the machine was booted with.

As the kernel splits its slab code into mm/slab_common.c and one allocator (mm/slab.c,
mm/slub.c or mm/slob.c, chosen by Kconfig), a machine has:

* ``k.slab`` -- :class:`SlabCommon`, the common API: kmem_cache_create/alloc/zalloc/free/
  destroy/shrink and the kmalloc family (kmalloc, kzalloc, kcalloc, kmalloc_array,
  kmalloc_node, krealloc, kfree, ksize).  It checks the caller's arguments (a kmemsim
  UsageError naming the bad one), turns gfp and SLAB_* flags into the machine's bits,
  applies what the kernel's own API did per release (a destructor is refused after
  2.6.22), and hands the call to the allocator;
* ``k.slab_impl`` -- the allocator chosen at boot by the ``slab_allocator`` tunable
  (CONFIG_SLAB / CONFIG_SLUB / CONFIG_SLOB; unset: the kernel's default, SLUB from
  2.6.23, SLAB before), one of

  ==========  ==========================================  =========================
  allocator   ``k.slab_impl``                             its core
  ==========  ==========================================  =========================
  slub        ``kmemsim.mm.slub_common.SlubAllocator``     ``k.slub`` (mm/slub.py)
  slab        ``kmemsim.mm.slab.SlabAllocator``            itself (mm/slab.py)
  slob        ``kmemsim.mm.slob.SlobAllocator``            itself (mm/slob.py)
  ==========  ==========================================  =========================

  Each allocator's init function (``slub_init``, ``slab_init``, ``slob_init``) builds
  it, creates its general caches and registers its own invariant check, views
  (/proc/slabinfo in its version's format -- SLOB has none -- and sysfs) and node
  counters.  ``k.slub`` is SLUB's core only: on a SLAB or SLOB machine reading it is a
  ConfigError saying which allocator runs.

Which allocators a kernel offered is a set of named features (``slab_allocator_slab``,
``_slub``, ``_slob``, ``slub_default``); asking for one the kernel did not have is a
ConfigError at boot naming the kernel and what it had.

SLUB keeps its fast paths in the dispatch slots (``kmemsim.mm.fastpath.install_slab``);
SLAB and SLOB run the general paths (the ``Kernel`` methods, which forward here).
"""
from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, UsageError
from ..flags import FlagArg
from ..slab_flags import ENGINE as SLAB_FLAGS_ENGINE
from ..slab_flags import ZERO_SIZE_PTR

if TYPE_CHECKING:  # pragma: no cover
    from ..interfaces import SlabAllocator
    from ..machine import Machine as Kernel

__all__ = ["SlabCommon", "kmem_cache_init", "allocators_offered", "NO_DTOR"]


class _NoDtor:
    """The default of kmem_cache_create()'s destructor argument: none was passed."""

    def __repr__(self) -> str:
        return "NO_DTOR"


#: kmem_cache_create() was called without a sixth argument (a destructor, before 2.6.23)
NO_DTOR = _NoDtor()


def allocators_offered(k: Kernel) -> list[str]:
    """The slab allocators the machine's kernel could be built with, by its features."""
    f = k.features
    return [n for n, on in (("slab", f.slab_allocator_slab), ("slub", f.slab_allocator_slub),
                            ("slob", f.slab_allocator_slob)) if on]


def _choose_allocator(k: Kernel) -> str:
    offered = allocators_offered(k)
    want = k.tunables.get("slab_allocator")
    if want is None:
        return "slub" if k.features.slub_default and "slub" in offered else "slab"
    if want not in offered:
        raise ConfigError(
            f"slab_allocator={want}: {k.profile.name} (Linux {k.profile.kernel_version}) did not offer "
            f"CONFIG_{want.upper()}; its allocators: {', '.join(offered)}")
    return want


class SlabCommon:
    """kmem_cache_* and the kmalloc family of one machine (``k.slab``), dispatched to
    ``k.slab_impl``."""

    def __init__(self, k: Kernel, impl: SlabAllocator):
        self.k = k
        self.impl = impl
        self.bits = k.gfp.bits
        self._dtor = k.features.kmem_cache_dtor
        self._gfp_zero = k.features.slab_gfp_zero

    @property
    def allocator(self) -> str:
        """"slub", "slab" or "slob": the allocator the machine was booted with."""
        return self.impl.name

    @property
    def kmalloc_caches(self) -> dict[str, list[Any]]:
        """The kmalloc caches by kind ("" normal, "rcl", "cg", "dma") and index (SLUB, 6.x SLAB)."""
        return self.impl.kmalloc_caches

    @property
    def large(self) -> dict[int, int]:
        """address -> order of the kmalloc allocations served by the page allocator."""
        return self.impl.large

    def _need(self, what: str) -> Any:
        fn = getattr(self.impl, what, None)
        if fn is None:
            raise UsageError(f"{what}: not available with {self.impl.name.upper()} "
                             f"(this machine runs slab_allocator={self.impl.name})")
        return fn

    # ================================================================ create / destroy
    def kmem_cache_create(self, name: str, size: int, align: int = 0, flags: FlagArg = 0,
                          ctor: Callable[..., None] | None = None, dtor: object = NO_DTOR, *,
                          freeptr_offset: int | None = None, useroffset: int = 0,
                          usersize: int = 0) -> Any | None:
        """kmem_cache_create(name, size, align, flags, ctor[, dtor]): a cache of ``size``-byte objects.

        ``ctor`` runs on each object when a slab is made, called as the machine's kernel
        called constructors: ``ctor(obj, cache, flags)`` on 2.6.11, ``ctor(cache, obj)`` on
        2.6.24, ``ctor(obj)`` on 6.x.  ``dtor`` (2.6.11 only; removed in 2.6.23) runs on
        each object before a slab is freed.  SLUB may merge the cache with a compatible one
        (the result is then that cache, with ``name`` among its aliases).  Returns the
        cache, or None (NULL) on failure; SLAB_PANIC panics instead.  ``flags`` are SLAB_*
        flags (``kmemsim.SLAB_HWCACHE_ALIGN``, or the machine's own bits,
        ``k.slab_flags.SLAB_HWCACHE_ALIGN``).  May sleep.  The 6.12+ kmem_cache_args are
        keywords (SLUB only).  A sixth argument on a kernel without destructors (feature
        ``kmem_cache_dtor``) -- even None, as the C call would not compile -- is a UsageError."""
        k = self.k
        flags = k.slab_flags.mask(flags, f"kmem_cache_create({name!r}): flags")
        if not isinstance(name, str) or not name:
            raise UsageError(f"kmem_cache_create: name {name!r} must be a non-empty string")
        for what, v in (("size", size), ("align", align), ("flags", flags)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise UsageError(f"kmem_cache_create({name!r}): {what} {v!r} must be a non-negative int")
        if ctor is not None and not callable(ctor):
            raise UsageError(f"kmem_cache_create({name!r}): ctor must be callable")
        if dtor is not NO_DTOR and not self._dtor:
            raise UsageError(
                f"kmem_cache_create({name!r}): a destructor (the 6th argument, {dtor!r}) is not an argument "
                f"on Linux {k.profile.kernel_version}: slab destructors went away in 2.6.23 "
                "('mm: Remove slab destructors from kmem_cache_create()'); "
                "kmem_cache_create(name, size, align, flags, ctor) is the call -- free what an object "
                "holds before kmem_cache_free() instead")
        if dtor is NO_DTOR:
            dtor = None
        if dtor is not None and not callable(dtor):
            raise UsageError(f"kmem_cache_create({name!r}): dtor must be callable")
        if self.impl.name != "slub" and (freeptr_offset is not None or useroffset or usersize):
            raise UsageError(f"kmem_cache_create({name!r}): freeptr_offset, useroffset and usersize are "
                             f"kmem_cache_args of later kernels; {self.impl.name.upper()} takes none")
        if self.impl.name == "slub":
            flags = k.slab_flags.translate(flags, SLAB_FLAGS_ENGINE)  # the SLUB model works in 6.18's bits
            return self.impl.create_cache(name, size, align, flags, ctor, freeptr_offset=freeptr_offset,
                                          useroffset=useroffset, usersize=usersize)
        return self.impl.create_cache(name, size, align, flags, ctor, dtor=dtor)

    def kmem_cache_destroy(self, s: Any | None) -> None:
        """kmem_cache_destroy(cache): the cache goes away unless objects remain (then the
        kernel's complaint, and the cache stays); NULL is ignored."""
        if s is None:
            return
        self.impl.check_cache(s, "kmem_cache_destroy")
        self.impl.destroy_cache(s)

    # ================================================================ alloc / free
    def kmem_cache_alloc(self, cache: Any, gfp_mask: FlagArg) -> int:
        """kmem_cache_alloc(cache, gfp): an object's address, or 0 (NULL)."""
        self.impl.check_cache(cache, "kmem_cache_alloc")
        return self.impl.cache_alloc(cache, self.k.gfp.mask(gfp_mask, "kmem_cache_alloc: gfp_mask"))

    def kmem_cache_zalloc(self, cache: Any, gfp_mask: FlagArg) -> int:
        """kmem_cache_zalloc(cache, gfp) = kmem_cache_alloc(cache, gfp | __GFP_ZERO) (before
        2.6.23's __GFP_ZERO support: the allocation, then a memset of the object)."""
        self.impl.check_cache(cache, "kmem_cache_zalloc")
        gfp = self.k.gfp.mask(gfp_mask, "kmem_cache_zalloc: gfp_mask")
        if not self._gfp_zero:
            p = self.impl.cache_alloc(cache, gfp)
            if p:
                self.k.memset(p, 0, self.impl.cache_size(cache))
            return p
        return self.impl.cache_alloc(cache, gfp | self.bits.zero)

    def kmem_cache_free(self, s: Any, obj: int) -> None:
        """kmem_cache_free(cache, obj): an object back to its cache."""
        self.impl.check_cache(s, "kmem_cache_free")
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise UsageError(f"kmem_cache_free: {obj!r} is not an address")
        self.impl.cache_free(s, obj)

    def kmem_cache_shrink(self, cache: Any) -> int:
        """kmem_cache_shrink(cache): give empty slabs back to the page allocator (SLAB: 0 when
        every slab could go, as 2.6's returned; SLUB and SLOB: 0)."""
        self.impl.check_cache(cache, "kmem_cache_shrink")
        return self.impl.shrink_cache(cache)

    def kmem_cache_size(self, cache: Any) -> int:
        """kmem_cache_size(cache): the size of the cache's objects as the caller sees them."""
        self.impl.check_cache(cache, "kmem_cache_size")
        return self.impl.cache_size(cache)

    # ================================================================ the kmalloc family
    def kmalloc(self, size: int, gfp: FlagArg) -> int:
        """kmalloc(size, gfp): an object of the smallest general cache that fits, pages for
        large sizes (SLUB; 6.x SLAB), NULL above the largest (2.6 SLAB); kmalloc(0) is
        ZERO_SIZE_PTR (16) from 2.6.23 on."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise UsageError(f"kmalloc: size {size!r} must be a non-negative int")
        return self.impl.kmalloc(size, self.k.gfp.mask(gfp, "kmalloc: gfp_mask"))

    def kfree(self, obj: int) -> None:
        """kfree(p): NULL (and ZERO_SIZE_PTR, from 2.6.23) are ignored."""
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise UsageError(f"kfree: {obj!r} is not an address")
        self.impl.kfree(obj)

    def ksize(self, obj: int) -> int:
        """ksize(p): the usable size of a kmalloc'd object, as the allocator reports it."""
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise UsageError(f"ksize: {obj!r} is not an address")
        return self.impl.ksize(obj)

    def kzalloc(self, size: int, gfp_mask: FlagArg) -> int:
        """kzalloc(size, gfp) = kmalloc(size, gfp | __GFP_ZERO) (before 2.6.23: kmalloc, then
        memset, as 2.6.18's __kzalloc and 2.6.11's kcalloc did)."""
        gfp = self.k.gfp.mask(gfp_mask, "kzalloc: gfp_mask")
        if not self._gfp_zero:
            p = self.kmalloc(size, gfp)
            if p > ZERO_SIZE_PTR:
                self.k.memset(p, 0, size)
            return p
        return self.kmalloc(size, gfp | self.bits.zero)

    def kmalloc_node(self, size: int, gfp_mask: FlagArg, node: int = -1) -> int:
        """kmalloc_node(size, gfp, node): one node, so node is checked and otherwise ignored."""
        if node not in (-1, 0):
            raise UsageError(f"kmalloc_node: node {node} does not exist (this machine has node 0)")
        return self.kmalloc(size, gfp_mask)

    def kmalloc_array(self, n: int, size: int, gfp_mask: FlagArg) -> int:
        """kmalloc_array(n, size, gfp): NULL when n * size overflows size_t."""
        for what, v in (("n", n), ("size", size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise UsageError(f"kmalloc_array: {what} {v!r} must be a non-negative int")
        if n * size >= 1 << self.k.layout.bits:
            return 0  # NULL: check_mul_overflow()
        return self.kmalloc(n * size, gfp_mask)

    def kcalloc(self, n: int, size: int, gfp_mask: FlagArg) -> int:
        """kcalloc(n, size, gfp) = kmalloc_array(n, size, gfp | __GFP_ZERO) (2.6.11: kmalloc and memset)."""
        gfp = self.k.gfp.mask(gfp_mask, "kcalloc: gfp_mask")
        if not self._gfp_zero:
            p = self.kmalloc_array(n, size, gfp)
            if p > ZERO_SIZE_PTR:
                self.k.memset(p, 0, n * size)
            return p
        return self.kmalloc_array(n, size, gfp | self.bits.zero)

    def kmalloc_size_roundup(self, size: int) -> int:
        """kmalloc_size_roundup(size): what kmalloc(size) would really give."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise UsageError(f"kmalloc_size_roundup: size {size!r} must be a non-negative int")
        return self.impl.kmalloc_size_roundup(size)

    def krealloc(self, obj: int, new_size: int, gfp_mask: FlagArg) -> int:
        """krealloc(p, new_size, gfp): keep p while new_size fits, else a new allocation with
        the old contents (and p freed); new_size 0 frees p and gives ZERO_SIZE_PTR.  SLUB
        follows 6.18's __do_krealloc; SLAB and SLOB the ksize() test of 2.6.24's mm/util.c."""
        gfp = self.k.gfp.mask(gfp_mask, "krealloc: gfp_mask")
        if isinstance(new_size, bool) or not isinstance(new_size, int) or new_size < 0:
            raise UsageError(f"krealloc: new_size {new_size!r} must be a non-negative int")
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise UsageError(f"krealloc: {obj!r} is not an address")
        return self.impl.krealloc(obj, new_size, gfp)

    def kmalloc_cache(self, cache: Any, gfp_mask: FlagArg, size: int) -> int:
        """__kmalloc_cache_noprof(cache, gfp, size): kmalloc from a given kmalloc-type
        cache with request size ``size`` (SLUB; lib/tests/slub_kunit.c calls it)."""
        fn = self._need("kmalloc_cache")
        self.impl.check_cache(cache, "kmalloc_cache")
        return int(fn(cache, self.k.gfp.mask(gfp_mask, "kmalloc_cache: gfp_mask"), size))

    def validate_slab_cache(self, cache: Any) -> int:
        """validate_slab_cache(cache) (SLUB: what writing 1 to /sys/kernel/slab/<c>/validate
        does): check every slab and object, report and repair; returns the slabs checked."""
        fn = self._need("validate_slab_cache")
        self.impl.check_cache(cache, "validate_slab_cache")
        return int(fn(cache))

    def slab_errors(self) -> AbstractContextManager[Any]:
        """``with k.slab_errors() as errs:`` -- SLUB reports counted in ``errs.count`` instead
        of printed (and never raised), as under lib/tests/slub_kunit.c's "slab_errors"."""
        result: AbstractContextManager[Any] = self._need("slab_errors")()
        return result

    def find_cache(self, name: str) -> Any | None:
        """The cache named ``name`` (or whose alias it is), or None."""
        return self.impl.by_name.get(name)

    def kmalloc_cache_for(self, size: int, gfp: int) -> Any:
        """The general cache kmalloc(size, gfp) takes its object from (None above the largest)."""
        return self.impl.kmalloc_cache_for(size, gfp)

    def slab_pages(self, reclaimable: bool) -> int:
        """NR_SLAB_RECLAIMABLE / NR_SLAB_UNRECLAIMABLE in pages."""
        return self.impl.slab_pages(reclaimable)


def kmem_cache_init(k: Kernel) -> None:
    """kmem_cache_init(): the allocator the slab_allocator tunable (or the kernel's default)
    names, built by its own init (caches, checks, views, counters), and ``k.slab`` over it;
    SLUB's fast paths in the dispatch slots."""
    name = _choose_allocator(k)
    if k.tunables.get("debug_slab") and name != "slab":
        raise ConfigError(f"debug_slab=True is CONFIG_DEBUG_SLAB, SLAB's debugging; this machine runs "
                          f"slab_allocator={name}" + (" (SLUB's debugging is slab_debug=)" if name == "slub" else ""))
    if k.tunables.get("slab_debug") is not None and name != "slub":
        raise ConfigError(f"slab_debug= is SLUB's debugging; this machine runs slab_allocator={name}"
                          + (" (SLAB's is debug_slab=True)" if name == "slab" else ""))
    impl: SlabAllocator
    if name == "slub":
        from .fastpath import install_slab
        from .slub_common import slub_init

        impl = slub_init(k)
        k.slab_impl = impl
        k.slab = SlabCommon(k, impl)
        install_slab(k)
        return
    if name == "slab":
        from .slab import slab_init

        impl = slab_init(k)
    else:
        from .slob import slob_init

        impl = slob_init(k)
    k.slab_impl = impl
    k.slab = SlabCommon(k, impl)
