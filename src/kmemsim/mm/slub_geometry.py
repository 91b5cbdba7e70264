"""SLUB cache geometry: flags, alignment, object layout, slab order, kmalloc size classes.

Pure functions, no machine state: the numbers a ``struct kmem_cache`` gets when
it is created, and the kmalloc size-class ladder.  The SLUB allocator builds
its caches from :func:`calculate_geometry`; views print its fields.

Models Linux 6.18 on x86_64 with the reference host's config (CONFIG_SLUB_DEBUG,
CONFIG_SLUB_CPU_PARTIAL, CONFIG_MEMCG, CONFIG_ZONE_DMA, CONFIG_SLAB_OBJ_EXT,
CONFIG_STACKDEPOT, CONFIG_HARDENED_USERCOPY; no KASAN, KFENCE, FAILSLAB,
DEBUG_OBJECTS, SLUB_TINY or RANDOM_KMALLOC_CACHES):

* ``include/linux/slab.h`` -- ``enum _slab_flag_bits`` and the ``SLAB_*`` flags,
  the ``KMALLOC_*`` constants, ``enum kmalloc_cache_type``, ``__kmalloc_index()``;
* ``mm/slab.h`` -- ``SLAB_DEBUG_FLAGS``, ``kmalloc_slab()``'s size_index lookup;
* ``mm/slab_common.c`` -- ``calculate_alignment()``, ``SLAB_NEVER_MERGE``,
  ``SLAB_MERGE_SAME``, ``create_boot_cache()``'s kmalloc alignment,
  ``new_kmalloc_cache()``, ``create_kmalloc_caches()``, ``kmalloc_info[]``,
  ``kmalloc_size_roundup()``;
* ``mm/slub.c`` -- ``calculate_sizes()``, ``calculate_order()``,
  ``calc_slab_order()``, ``do_kmem_cache_create()`` (min_partial,
  ``disable_higher_order_debug``, sheaf capacity), ``set_cpu_partial()``,
  ``slub_set_cpu_partial()``, ``setup_slub_debug()``,
  ``parse_slub_debug_flags()``, ``kmem_cache_flags()``, ``create_unique_id()``.

The linux-2.6-i386 profile uses the same algorithms with 32-bit sizes: pass
``word=4`` (``sizeof(void *)``); the track record and every pointer-sized word
of the layout shrink accordingly.

Validated against every cache of the reference 6.18 host (``tests/data/host-6.18``,
2 CPUs): slab_size, order, objs_per_slab, cpu_partial, min_partial and the flag
attributes, see ``tests/test_slub_geometry.py``.

Simplified, and said so:

* KASAN/KMSAN metadata is not modelled (the host has neither): no
  ``kasan_cache_create()`` growth;
* ``SLAB_FLAG`` values depend on the kernel config (``enum _slab_flag_bits`` has
  ``#ifdef`` members); the module constants are the reference host's, and
  :func:`slab_flag_bits` gives them for another config;
* ``SLAB_MEM_SPREAD`` no longer exists in 6.18 (made a no-op in 6.9, removed in
  6.10), so it is not defined here;
* the ``kmalloc-no-objext-*`` caches of later kernels (memory profiling) are not
  created at boot and are not listed.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..errors import ConfigError
from ..records import FrozenRecord
from ..slab_flags import SLAB_FLAGS_6_18 as SLAB_FLAGS
from ..slab_flags import slab_flag_bits

__all__ = [
    # flags
    "SLAB_FLAG_NAMES",
    "SLAB_FLAGS",
    "slab_flag_bits",
    "slab_flag_names",
    "SLAB_CONSISTENCY_CHECKS",
    "SLAB_RED_ZONE",
    "SLAB_POISON",
    "SLAB_KMALLOC",
    "SLAB_HWCACHE_ALIGN",
    "SLAB_CACHE_DMA",
    "SLAB_CACHE_DMA32",
    "SLAB_STORE_USER",
    "SLAB_PANIC",
    "SLAB_TYPESAFE_BY_RCU",
    "SLAB_TRACE",
    "SLAB_DEBUG_OBJECTS",
    "SLAB_NOLEAKTRACE",
    "SLAB_NO_MERGE",
    "SLAB_FAILSLAB",
    "SLAB_ACCOUNT",
    "SLAB_KASAN",
    "SLAB_NO_USER_FLAGS",
    "SLAB_SKIP_KFENCE",
    "SLAB_RECLAIM_ACCOUNT",
    "SLAB_TEMPORARY",
    "SLAB_OBJECT_POISON",
    "__OBJECT_POISON",
    "SLAB_CMPXCHG_DOUBLE",
    "SLAB_NO_OBJ_EXT",
    "SLAB_DEBUG_FLAGS",
    "DEBUG_DEFAULT_FLAGS",
    "DEBUG_METADATA_FLAGS",
    "SLAB_NEVER_MERGE",
    "SLAB_MERGE_SAME",
    # geometry constants
    "PAGE_ALLOC_COSTLY_ORDER",
    "MAX_PAGE_ORDER",
    "MAX_OBJS_PER_PAGE",
    "OO_SHIFT",
    "MIN_PARTIAL",
    "MAX_PARTIAL",
    "ARCH_SLAB_MINALIGN",
    "ARCH_KMALLOC_MINALIGN",
    # geometry
    "fls",
    "ffs",
    "ilog2",
    "get_order",
    "order_objects",
    "track_size",
    "calculate_alignment",
    "calc_slab_order",
    "calculate_order",
    "set_min_partial",
    "set_cpu_partial",
    "slub_set_cpu_partial",
    "CacheGeometry",
    "calculate_geometry",
    "create_unique_id",
    # kmalloc
    "KMALLOC_SHIFT_LOW",
    "KMALLOC_SHIFT_HIGH",
    "KMALLOC_SHIFT_MAX",
    "KMALLOC_MIN_SIZE",
    "KMALLOC_MAX_CACHE_SIZE",
    "KMALLOC_MAX_SIZE",
    "KMALLOC_MAX_ORDER",
    "RANDOM_KMALLOC_CACHES_NR",
    "KMALLOC_SIZE_CLASSES",
    "KMALLOC_SIZES",
    "KMALLOC_SIZE_INDEX",
    "kmalloc_index",
    "kmalloc_slab_index",
    "kmalloc_size_roundup",
    "kmalloc_index_size",
    "kmalloc_short_name",
    "KmallocType",
    "kmalloc_cache_types",
    "KmallocCache",
    "kmalloc_caches",
    "kmalloc_cache_align",
    "kmalloc_cache_geometry",
    # slab_debug=
    "SlabDebug",
    "parse_slab_debug",
]

# --------------------------------------------------------------------------------------
# SLAB_* flags (include/linux/slab.h, 6.18)
# --------------------------------------------------------------------------------------
#
# enum _slab_flag_bits numbers the flags in this order; members inside #ifdef are
# absent when their option is off, which shifts every later bit, and the flag is
# then __SLAB_FLAG_UNUSED (0).  SLAB_MEM_SPREAD is gone since 6.10.

SLAB_CONSISTENCY_CHECKS = SLAB_FLAGS["SLAB_CONSISTENCY_CHECKS"]  # 0x1      DEBUG: F
SLAB_RED_ZONE = SLAB_FLAGS["SLAB_RED_ZONE"]  # 0x2                          DEBUG: Z
SLAB_POISON = SLAB_FLAGS["SLAB_POISON"]  # 0x4                              DEBUG: P
SLAB_KMALLOC = SLAB_FLAGS["SLAB_KMALLOC"]  # 0x8
SLAB_HWCACHE_ALIGN = SLAB_FLAGS["SLAB_HWCACHE_ALIGN"]  # 0x10
SLAB_CACHE_DMA = SLAB_FLAGS["SLAB_CACHE_DMA"]  # 0x20
SLAB_CACHE_DMA32 = SLAB_FLAGS["SLAB_CACHE_DMA32"]  # 0x40
SLAB_STORE_USER = SLAB_FLAGS["SLAB_STORE_USER"]  # 0x80                     DEBUG: U
SLAB_PANIC = SLAB_FLAGS["SLAB_PANIC"]  # 0x100
SLAB_TYPESAFE_BY_RCU = SLAB_FLAGS["SLAB_TYPESAFE_BY_RCU"]  # 0x200
SLAB_TRACE = SLAB_FLAGS["SLAB_TRACE"]  # 0x400                              DEBUG: T
SLAB_DEBUG_OBJECTS = SLAB_FLAGS["SLAB_DEBUG_OBJECTS"]  # 0 (CONFIG_DEBUG_OBJECTS off)
SLAB_NOLEAKTRACE = SLAB_FLAGS["SLAB_NOLEAKTRACE"]  # 0x800
SLAB_NO_MERGE = SLAB_FLAGS["SLAB_NO_MERGE"]  # 0x1000
SLAB_FAILSLAB = SLAB_FLAGS["SLAB_FAILSLAB"]  # 0 (CONFIG_FAILSLAB off)      A
SLAB_ACCOUNT = SLAB_FLAGS["SLAB_ACCOUNT"]  # 0x2000
SLAB_KASAN = SLAB_FLAGS["SLAB_KASAN"]  # 0 (CONFIG_KASAN_GENERIC off)
SLAB_NO_USER_FLAGS = SLAB_FLAGS["SLAB_NO_USER_FLAGS"]  # 0x4000
SLAB_SKIP_KFENCE = SLAB_FLAGS["SLAB_SKIP_KFENCE"]  # 0 (CONFIG_KFENCE off)
SLAB_RECLAIM_ACCOUNT = SLAB_FLAGS["SLAB_RECLAIM_ACCOUNT"]  # 0x8000
SLAB_TEMPORARY = SLAB_RECLAIM_ACCOUNT
SLAB_OBJECT_POISON = SLAB_FLAGS["SLAB_OBJECT_POISON"]  # 0x10000
__OBJECT_POISON = SLAB_OBJECT_POISON
SLAB_CMPXCHG_DOUBLE = SLAB_FLAGS["SLAB_CMPXCHG_DOUBLE"]  # 0x20000
SLAB_NO_OBJ_EXT = SLAB_FLAGS["SLAB_NO_OBJ_EXT"]  # 0x40000

#: mm/slab.h (CONFIG_SLUB_DEBUG): a cache with any of these is a "debug" cache
#: (no cpu partial lists, no sheaves, the slow paths check objects).
SLAB_DEBUG_FLAGS = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE | SLAB_CONSISTENCY_CHECKS
#: mm/slub.c: what bare ``slab_debug`` (or CONFIG_SLUB_DEBUG_ON) turns on: F Z P U.
DEBUG_DEFAULT_FLAGS = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER
#: mm/slub.c: the debug flags that add per-object metadata (cleared by ``slab_debug=O``).
DEBUG_METADATA_FLAGS = SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER
#: mm/slab_common.c (6.6-6.18): a cache with any of these is never merged.
SLAB_NEVER_MERGE = (
    SLAB_RED_ZONE
    | SLAB_POISON
    | SLAB_STORE_USER
    | SLAB_TRACE
    | SLAB_TYPESAFE_BY_RCU
    | SLAB_NOLEAKTRACE
    | SLAB_FAILSLAB
    | SLAB_NO_MERGE
)
#: mm/slab_common.c: merged caches must agree on these.
SLAB_MERGE_SAME = SLAB_RECLAIM_ACCOUNT | SLAB_CACHE_DMA | SLAB_CACHE_DMA32 | SLAB_ACCOUNT

#: Every defined (non-zero) flag of the host config, by value, for printing.
SLAB_FLAG_NAMES: dict[int, str] = {v: k for k, v in SLAB_FLAGS.items() if v}


def slab_flag_names(flags: int) -> list[str]:
    """The names of the ``SLAB_*`` bits set in ``flags`` (low bit first); unknown bits as hex."""
    out = [SLAB_FLAG_NAMES[1 << b] for b in range(flags.bit_length()) if flags >> b & 1 and (1 << b) in SLAB_FLAG_NAMES]
    rest = flags & ~sum(SLAB_FLAG_NAMES)
    if rest:
        out.append(hex(rest))
    return out


# --------------------------------------------------------------------------------------
# Geometry constants (x86_64, 4K pages)
# --------------------------------------------------------------------------------------

PAGE_ALLOC_COSTLY_ORDER = 3  # default slub_max_order (1 with SLUB_TINY)
MAX_PAGE_ORDER = 10
MAX_OBJS_PER_PAGE = 32767  # slab->objects is 15 bits
OO_SHIFT = 16  # s->oo = order << OO_SHIFT | objects
MIN_PARTIAL = 5
MAX_PARTIAL = 10
#: ``__alignof__(unsigned long long)``: 8 on x86_64 and (GCC's preferred alignment) on i386.
ARCH_SLAB_MINALIGN = 8
ARCH_KMALLOC_MINALIGN = 8


# --------------------------------------------------------------------------------------
# Bit helpers (include/asm-generic/bitops, include/asm-generic/getorder.h)
# --------------------------------------------------------------------------------------


def fls(x: int) -> int:
    """``fls()``: 1-based index of the most significant set bit; ``fls(0) == 0``."""
    return x.bit_length()


def ffs(x: int) -> int:
    """``ffs()``: 1-based index of the least significant set bit; ``ffs(0) == 0``."""
    return (x & -x).bit_length()


def ilog2(x: int) -> int:
    """``ilog2()`` of a positive integer (floor)."""
    if x <= 0:
        raise ConfigError(f"ilog2({x}): not a positive integer")
    return x.bit_length() - 1


def get_order(size: int, page_size: int = 4096) -> int:
    """``get_order()``: the smallest order whose block (``page_size << order``) holds ``size`` bytes."""
    if size <= 0:
        raise ConfigError(f"get_order({size}): size must be positive")
    return max(0, ((size - 1) // page_size).bit_length())


def order_objects(order: int, size: int, page_size: int = 4096) -> int:
    """mm/slub.c ``order_objects()``: objects of stride ``size`` in an order-``order`` slab."""
    return (page_size << order) // size


def _align(x: int, a: int) -> int:
    return (x + a - 1) // a * a


def track_size(word: int = 8, stackdepot: bool = True) -> int:
    """``sizeof(struct track)`` (mm/slub.c): addr, [handle,] cpu, pid, when.

    32 bytes on x86_64 with CONFIG_STACKDEPOT (which SLUB_DEBUG selects on x86),
    20 on i386.
    """
    ints = 12 if stackdepot else 8  # handle (u32) + cpu + pid
    return _align(word + ints, word) + word


# --------------------------------------------------------------------------------------
# calculate_alignment() -- mm/slab_common.c (the same in 6.6 through 7.x)
# --------------------------------------------------------------------------------------
#
#   if flags & SLAB_HWCACHE_ALIGN:
#       ralign = cache_line_size()              # 64
#       while size <= ralign / 2: ralign /= 2   # small objects are not padded to a line
#       align = max(align, ralign)
#   align = max(align, arch_slab_minalign())    # 8
#   return ALIGN(align, sizeof(void *))
#
# Called by __kmem_cache_create_args() with the raw object_size; the result is
# s->align (sysfs "align").  Idempotent on its own output.


def calculate_alignment(
    flags: int, align: int, size: int, cache_line: int = 64, *, word: int = 8, min_align: int = ARCH_SLAB_MINALIGN
) -> int:
    """mm/slab_common.c ``calculate_alignment()``: the cache's object alignment ``s->align``."""
    if align < 0 or size <= 0:
        raise ConfigError(f"calculate_alignment: bad align {align} or size {size}")
    if flags & SLAB_HWCACHE_ALIGN:
        ralign = cache_line
        while size <= ralign // 2:
            ralign //= 2
        align = max(align, ralign)
    align = max(align, min_align)
    return _align(align, word)


# --------------------------------------------------------------------------------------
# calc_slab_order() / calculate_order() -- mm/slub.c, the v6.8+ form (unchanged to 7.x)
# --------------------------------------------------------------------------------------
#
# calc_slab_order(size, min_order, max_order, fract_leftover):
#     the first order in [min_order, max_order] whose leftover (slab % size)
#     is at most 1/fract_leftover of the slab; max_order + 1 if none.
#
# calculate_order(size):
#     min_objects = slub_min_objects or 4 * (fls(nr_cpus) + 1)   # 2 CPUs -> 12
#     max_objects = max(order_objects(slub_max_order, size), 1)
#     min_objects = min(min_objects, max_objects)
#     min_order   = max(slub_min_order, get_order(min_objects * size))
#     if order_objects(min_order, size) > MAX_OBJS_PER_PAGE:
#         return get_order(size * MAX_OBJS_PER_PAGE) - 1
#     for fraction in 16, 8, 4, 2:
#         order = calc_slab_order(size, min_order, slub_max_order, fraction)
#         if order <= slub_max_order: return order
#     order = get_order(size)                   # one object per slab, above max order
#     return order if order <= MAX_PAGE_ORDER else -ENOSYS


def calc_slab_order(size: int, min_order: int, max_order: int, fract_leftover: int, page_size: int = 4096) -> int:
    """mm/slub.c ``calc_slab_order()``: ``max_order + 1`` means no order in range wastes little enough."""
    order = min_order
    while order <= max_order:
        slab_size = page_size << order
        if slab_size % size <= slab_size // fract_leftover:
            break
        order += 1
    return order


def calculate_order_2_6_24(size: int, *, page_size: int = 4096, slub_min_order: int = 0,
                           slub_max_order: int = 1, slub_min_objects: int = 4,
                           max_page_order: int = MAX_PAGE_ORDER) -> int:
    """2.6.24 mm/slub.c ``calculate_order()`` with its ``slab_order()``: min_objects from
    slub_min_objects (DEFAULT_MIN_OBJECTS 4 with 4 KiB pages) halved down to 2, waste
    fractions 1/8 and 1/4, then one object at slub_max_order (DEFAULT_MAX_ORDER 1), then
    one object at any order up to MAX_ORDER (feature ``slub_small_page_orders``)."""
    if size <= 0:
        raise ConfigError(f"calculate_order: size {size} must be positive")

    def slab_order(min_objects: int, max_order: int, fract_leftover: int) -> int:
        order = max(slub_min_order, fls(min_objects * size - 1) - (page_size.bit_length() - 1))
        while order <= max_order:
            slab_size = page_size << order
            if slab_size >= min_objects * size and slab_size % size <= slab_size // fract_leftover:
                break
            order += 1
        return order

    min_objects = slub_min_objects
    while min_objects > 1:
        fraction = 8
        while fraction >= 4:
            order = slab_order(min_objects, slub_max_order, fraction)
            if order <= slub_max_order:
                return order
            fraction //= 2
        min_objects //= 2
    order = slab_order(1, slub_max_order, 1)
    if order <= slub_max_order:
        return order
    order = slab_order(1, max_page_order, 1)
    if order <= max_page_order:
        return order
    raise ConfigError(f"calculate_order: objects of {size} bytes need order {order} > MAX_ORDER {max_page_order}")


def calculate_order(
    size: int,
    *,
    nr_cpus: int,
    page_size: int = 4096,
    slub_min_order: int = 0,
    slub_max_order: int = PAGE_ALLOC_COSTLY_ORDER,
    slub_min_objects: int = 0,
    nr_cpu_ids: int | None = None,
    max_page_order: int = MAX_PAGE_ORDER,
) -> int:
    """mm/slub.c ``calculate_order()``: the slab order for objects of stride ``size``.

    ``nr_cpus`` is ``num_present_cpus()``; when it is 1 or less the kernel uses
    ``nr_cpu_ids`` (defaults to ``nr_cpus``).  If ``slub_min_order`` exceeds
    ``slub_max_order`` the maximum is raised to it, as ``setup_slub_min_order()``
    does.  Raises :class:`ConfigError` where the kernel returns ``-ENOSYS``.
    """
    if size <= 0:
        raise ConfigError(f"calculate_order: size {size} must be positive")
    slub_max_order = min(slub_max_order, max_page_order)
    if slub_min_order > slub_max_order:
        slub_max_order = slub_min_order
    min_objects = slub_min_objects
    if not min_objects:
        cpus = nr_cpus
        if cpus <= 1:
            cpus = nr_cpu_ids if nr_cpu_ids is not None else nr_cpus
        min_objects = 4 * (fls(cpus) + 1)
    max_objects = max(order_objects(slub_max_order, size, page_size), 1)
    min_objects = min(min_objects, max_objects)

    min_order = max(slub_min_order, get_order(min_objects * size, page_size))
    if order_objects(min_order, size, page_size) > MAX_OBJS_PER_PAGE:
        return get_order(size * MAX_OBJS_PER_PAGE, page_size) - 1

    fraction = 16
    while fraction > 1:
        order = calc_slab_order(size, min_order, slub_max_order, fraction, page_size)
        if order <= slub_max_order:
            return order
        fraction //= 2

    order = get_order(size, page_size)
    if order <= max_page_order:
        return order
    raise ConfigError(f"calculate_order: objects of {size} bytes need order {order} > MAX_PAGE_ORDER {max_page_order}")


# --------------------------------------------------------------------------------------
# min_partial and cpu_partial -- mm/slub.c do_kmem_cache_create(), set_cpu_partial()
# --------------------------------------------------------------------------------------
#
#   s->min_partial = clamp(ilog2(s->size) / 2, MIN_PARTIAL, MAX_PARTIAL)
#
#   set_cpu_partial(s):                          # CONFIG_SLUB_CPU_PARTIAL
#       if kmem_cache_debug(s):  nr_objects = 0  # any SLAB_DEBUG_FLAGS
#       elif s->size >= PAGE_SIZE: 6
#       elif s->size >= 1024:      24
#       elif s->size >= 256:       52
#       else:                      120
#       slub_set_cpu_partial(s, nr_objects):
#           s->cpu_partial = nr_objects          # sysfs cpu_partial prints this
#           s->cpu_partial_slabs = DIV_ROUND_UP(nr_objects * 2, oo_objects(s->oo))


def set_min_partial(size: int) -> int:
    """mm/slub.c: ``min_partial`` for a cache of stride ``size`` (``ilog2(size)/2`` in [5, 10])."""
    return min(MAX_PARTIAL, max(MIN_PARTIAL, ilog2(size) // 2))


def set_cpu_partial(size: int, flags: int, page_size: int = 4096) -> int:
    """mm/slub.c ``set_cpu_partial()``: objects kept on a CPU's partial list (sysfs ``cpu_partial``)."""
    if flags & SLAB_DEBUG_FLAGS:
        return 0
    if size >= page_size:
        return 6
    if size >= 1024:
        return 24
    if size >= 256:
        return 52
    return 120


def slub_set_cpu_partial(nr_objects: int, oo_objects: int) -> int:
    """mm/slub.c ``slub_set_cpu_partial()``: ``cpu_partial_slabs`` (slabs, assuming half-full slabs)."""
    return -(-(nr_objects * 2) // oo_objects)


# --------------------------------------------------------------------------------------
# calculate_sizes() -- mm/slub.c (6.12-6.18), run by do_kmem_cache_create()
# --------------------------------------------------------------------------------------
#
#   size = ALIGN(object_size, sizeof(void *))
#   if POISON and not TYPESAFE_BY_RCU and not ctor: flags |= __OBJECT_POISON
#   if RED_ZONE and size == object_size: size += sizeof(void *)  # non-empty right red zone
#   s->inuse = size
#   if (RCU and not use_freeptr_offset) or POISON or ctor
#      or (RED_ZONE and (object_size < sizeof(void *) or kmalloc+STORE_USER)):
#       s->offset = size; size += sizeof(void *)       # free pointer after the object
#   elif RCU and use_freeptr_offset:
#       s->offset = freeptr_offset                     # the caller's word inside
#   else:
#       s->offset = ALIGN_DOWN(object_size / 2, sizeof(void *))   # middle of the object
#   if STORE_USER: size += 2 * sizeof(struct track) (+ sizeof(unsigned int) if kmalloc)
#   (KASAN metadata: not modelled)
#   if RED_ZONE: size += sizeof(void *); s->red_left_pad = ALIGN(sizeof(void *), s->align)
#                size += s->red_left_pad
#   s->size = ALIGN(size, s->align)                    # sysfs slab_size
#   s->oo = (calculate_order(s->size), objects); s->min = (get_order(s->size), objects)
#
# do_kmem_cache_create() then: slab_debug=O (disable_higher_order_debug) drops
# DEBUG_METADATA_FLAGS and recomputes if get_order(s->size) > get_order(object_size);
# min_partial, set_cpu_partial(), and the sheaf capacity (only with
# args->sheaf_capacity and no debug flags).


class CacheGeometry(FrozenRecord):
    """The size fields of a ``struct kmem_cache`` (mm/slab.h) after ``do_kmem_cache_create()``.

    ``size`` is the object stride (sysfs ``slab_size``, slabinfo ``<objsize>``);
    object *i* of a slab starts at ``base + i * size + red_left_pad``.
    ``offset`` is the free pointer's offset from the object start.
    """

    __match_args__ = ("object_size", "size", "align", "inuse", "offset", "red_left_pad", "order", "objects",
                       "min_order", "min_objects", "min_partial", "cpu_partial", "cpu_partial_slabs", "sheaf_capacity",
                       "flags", "word", "page_size", "track_size")
    object_size: int
    size: int
    align: int
    inuse: int
    offset: int
    red_left_pad: int
    order: int  # oo_order(s->oo), sysfs "order"
    objects: int  # oo_objects(s->oo), sysfs "objs_per_slab"
    min_order: int  # oo_order(s->min)
    min_objects: int  # oo_objects(s->min)
    min_partial: int
    cpu_partial: int  # objects, sysfs "cpu_partial"
    cpu_partial_slabs: int
    sheaf_capacity: int
    flags: int  # s->flags, including __OBJECT_POISON
    word: int = 8
    page_size: int = 4096
    track_size: int = 32

    def __init__(self, object_size: int, size: int, align: int, inuse: int, offset: int, red_left_pad: int, order: int,
                 objects: int, min_order: int, min_objects: int, min_partial: int, cpu_partial: int,
                 cpu_partial_slabs: int, sheaf_capacity: int, flags: int, word: int = 8, page_size: int = 4096,
                 track_size: int = 32) -> None:
        vars(self).update(object_size=object_size, size=size, align=align, inuse=inuse, offset=offset,
                          red_left_pad=red_left_pad, order=order, objects=objects, min_order=min_order,
                          min_objects=min_objects, min_partial=min_partial, cpu_partial=cpu_partial,
                          cpu_partial_slabs=cpu_partial_slabs, sheaf_capacity=sheaf_capacity, flags=flags, word=word,
                          page_size=page_size, track_size=track_size)

    # -- derived values, kernel names ---------------------------------------------------

    @property
    def slab_size(self) -> int:
        """sysfs ``slab_size``: ``s->size``."""
        return self.size

    @property
    def objs_per_slab(self) -> int:
        """sysfs ``objs_per_slab``: ``oo_objects(s->oo)``."""
        return self.objects

    @property
    def oo(self) -> int:
        """``s->oo`` packed as the kernel packs it: ``order << 16 | objects``."""
        return self.order << OO_SHIFT | self.objects

    @property
    def pages_per_slab(self) -> int:
        """slabinfo ``<pagesperslab>``: ``1 << order``."""
        return 1 << self.order

    @property
    def slab_bytes(self) -> int:
        """Bytes of one slab: ``PAGE_SIZE << order``."""
        return self.page_size << self.order

    @property
    def waste(self) -> int:
        """Bytes of a slab left over after the last object."""
        return self.slab_bytes - self.objects * self.size

    @property
    def freeptr_outside_object(self) -> bool:
        """mm/slub.c ``freeptr_outside_object()``: ``offset >= inuse``."""
        return self.offset >= self.inuse

    @property
    def info_end(self) -> int:
        """mm/slub.c ``get_info_end()``: where the debug tracks start."""
        return self.inuse + self.word if self.freeptr_outside_object else self.inuse

    @property
    def debug(self) -> bool:
        """mm/slub.c ``kmem_cache_debug()``: any ``SLAB_DEBUG_FLAGS``."""
        return bool(self.flags & SLAB_DEBUG_FLAGS)

    @property
    def orig_size(self) -> bool:
        """mm/slub.c ``slub_debug_orig_size()``: a kmalloc cache with ``SLAB_STORE_USER``."""
        return bool(self.flags & SLAB_STORE_USER) and bool(self.flags & SLAB_KMALLOC)

    def sysfs(self) -> dict[str, str]:
        """The geometry attributes of ``/sys/kernel/slab/<cache>/`` as the kernel prints them."""

        def b(flag: int) -> str:
            return f"{int(bool(self.flags & flag))}\n"

        return {
            "align": f"{self.align}\n",
            "cache_dma": b(SLAB_CACHE_DMA),
            "cpu_partial": f"{self.cpu_partial}\n",
            "destroy_by_rcu": b(SLAB_TYPESAFE_BY_RCU),
            "hwcache_align": b(SLAB_HWCACHE_ALIGN),
            "min_partial": f"{self.min_partial}\n",
            "object_size": f"{self.object_size}\n",
            "objs_per_slab": f"{self.objects}\n",
            "order": f"{self.order}\n",
            "poison": b(SLAB_POISON),
            "reclaim_account": b(SLAB_RECLAIM_ACCOUNT),
            "red_zone": b(SLAB_RED_ZONE),
            "sanity_checks": b(SLAB_CONSISTENCY_CHECKS),
            "sheaf_capacity": f"{self.sheaf_capacity}\n",
            "slab_size": f"{self.size}\n",
            "store_user": b(SLAB_STORE_USER),
            "trace": b(SLAB_TRACE),
        }


def _calculate_sizes(
    object_size: int,
    align: int,
    flags: int,
    *,
    has_ctor: bool,
    freeptr_offset: int | None,
    word: int,
    tsize: int,
) -> tuple[int, int, int, int, int]:
    """mm/slub.c ``calculate_sizes()`` up to ``s->size``: (size, inuse, offset, red_left_pad, flags)."""
    size = _align(object_size, word)
    if (flags & SLAB_POISON) and not (flags & SLAB_TYPESAFE_BY_RCU) and not has_ctor:
        flags |= __OBJECT_POISON
    else:
        flags &= ~__OBJECT_POISON
    if (flags & SLAB_RED_ZONE) and size == object_size:
        size += word
    inuse = size

    orig_size = bool(flags & SLAB_STORE_USER) and bool(flags & SLAB_KMALLOC)
    rcu = bool(flags & SLAB_TYPESAFE_BY_RCU)
    if (
        (rcu and freeptr_offset is None)
        or (flags & SLAB_POISON)
        or has_ctor
        or ((flags & SLAB_RED_ZONE) and (object_size < word or orig_size))
    ):
        offset = size
        size += word
    elif rcu and freeptr_offset is not None:
        offset = freeptr_offset
    else:
        offset = (object_size // 2) // word * word

    if flags & SLAB_STORE_USER:
        size += 2 * tsize
        if flags & SLAB_KMALLOC:
            size += 4  # sizeof(unsigned int) orig_size (8 after the Dec-2025 fix; s->size is the same)

    red_left_pad = 0
    if flags & SLAB_RED_ZONE:
        size += word
        red_left_pad = _align(word, align)
        size += red_left_pad

    return _align(size, align), inuse, offset, red_left_pad, flags


def calculate_geometry(
    object_size: int,
    align: int,
    flags: int,
    *,
    nr_cpus: int,
    page_size: int = 4096,
    word: int = 8,
    slub_min_order: int = 0,
    slub_max_order: int = PAGE_ALLOC_COSTLY_ORDER,
    slub_min_objects: int = 0,
    freeptr_offset: int | None = None,
    has_ctor: bool = False,
    sheaf_capacity: int = 0,
    cache_line: int = 64,
    min_align: int = ARCH_SLAB_MINALIGN,
    disable_higher_order_debug: bool = False,
    slab_debug: SlabDebug | None = None,
    name: str = "",
    nr_cpu_ids: int | None = None,
    stackdepot: bool = True,
    order_2_6_24: bool = False,
) -> CacheGeometry:
    """The geometry ``kmem_cache_create()`` gives a new (unmerged) cache.

    Models mm/slab_common.c ``__kmem_cache_create_args()`` / ``create_cache()``
    (``align = calculate_alignment(flags, align, object_size)``, the
    ``freeptr_offset`` checks) and mm/slub.c ``do_kmem_cache_create()``:
    ``kmem_cache_flags()`` (when ``slab_debug`` is given, for cache ``name``),
    ``calculate_sizes()``, the ``slab_debug=O`` retry, ``min_partial``,
    ``set_cpu_partial()`` and the sheaf capacity.

    ``align`` is the requested alignment (``args->align``, 0 for none); the
    final ``s->align`` is idempotent, so a cache's sysfs ``align`` may be passed
    back in.  ``freeptr_offset`` is ``args->freeptr_offset`` with
    ``use_freeptr_offset`` (6.18 accepts it only with SLAB_TYPESAFE_BY_RCU);
    ``has_ctor`` says whether the cache has a constructor.  Flags are used as
    given: a kmalloc cache must carry ``SLAB_KMALLOC`` (see
    :func:`kmalloc_cache_geometry`).
    """
    if object_size <= 0:
        raise ConfigError(f"calculate_geometry: object_size {object_size} must be positive")
    if nr_cpus <= 0:
        raise ConfigError(f"calculate_geometry: nr_cpus {nr_cpus} must be positive")
    if freeptr_offset is not None and (
        freeptr_offset < 0
        or freeptr_offset >= object_size
        or not (flags & SLAB_TYPESAFE_BY_RCU)
        or freeptr_offset % word
    ):
        # mm/slab_common.c create_cache(): -EINVAL
        raise ConfigError(
            f"calculate_geometry: freeptr_offset {freeptr_offset} needs SLAB_TYPESAFE_BY_RCU and an "
            f"aligned word inside the {object_size}-byte object"
        )
    s_align = calculate_alignment(flags, align, object_size, cache_line, word=word, min_align=min_align)

    if slab_debug is not None:
        flags = slab_debug.kmem_cache_flags(flags, name)
        disable_higher_order_debug = disable_higher_order_debug or slab_debug.disable_higher_order_debug

    tsize = track_size(word, stackdepot)
    size, inuse, offset, red_left_pad, s_flags = _calculate_sizes(
        object_size, s_align, flags, has_ctor=has_ctor, freeptr_offset=freeptr_offset, word=word, tsize=tsize
    )
    if disable_higher_order_debug and get_order(size, page_size) > get_order(object_size, page_size):
        s_flags &= ~DEBUG_METADATA_FLAGS
        size, inuse, offset, red_left_pad, s_flags = _calculate_sizes(
            object_size, s_align, s_flags, has_ctor=has_ctor, freeptr_offset=freeptr_offset, word=word, tsize=tsize
        )

    if order_2_6_24:  # feature slub_small_page_orders
        order = calculate_order_2_6_24(size, page_size=page_size, slub_min_order=slub_min_order,
                                       slub_max_order=slub_max_order, slub_min_objects=slub_min_objects)
    else:
        order = calculate_order(
            size,
            nr_cpus=nr_cpus,
            page_size=page_size,
            slub_min_order=slub_min_order,
            slub_max_order=slub_max_order,
            slub_min_objects=slub_min_objects,
            nr_cpu_ids=nr_cpu_ids,
        )
    objects = order_objects(order, size, page_size)
    if not objects:
        raise ConfigError(f"calculate_geometry: no {size}-byte object fits an order-{order} slab")
    min_order = get_order(size, page_size)
    cpu_partial = set_cpu_partial(size, s_flags, page_size)
    sheaves = sheaf_capacity if sheaf_capacity and not (s_flags & SLAB_DEBUG_FLAGS) else 0
    return CacheGeometry(
        object_size=object_size,
        size=size,
        align=s_align,
        inuse=inuse,
        offset=offset,
        red_left_pad=red_left_pad,
        order=order,
        objects=objects,
        min_order=min_order,
        min_objects=order_objects(min_order, size, page_size),
        min_partial=set_min_partial(size),
        cpu_partial=cpu_partial,
        cpu_partial_slabs=slub_set_cpu_partial(cpu_partial, objects),
        sheaf_capacity=sheaves,
        flags=s_flags,
        word=word,
        page_size=page_size,
        track_size=tsize,
    )


# --------------------------------------------------------------------------------------
# create_unique_id() -- mm/slub.c: the sysfs name of a mergeable cache
# --------------------------------------------------------------------------------------
#
#   ':' + 'd' (DMA) + 'D' (DMA32) + 'a' (RECLAIM_ACCOUNT) + 'F' (CONSISTENCY_CHECKS)
#       + 'A' (ACCOUNT) + ('-' if any letter) + "%07u" % s->size


def create_unique_id(size: int, flags: int) -> str:
    """mm/slub.c ``create_unique_id()``: e.g. ``:0000064``, ``:A-0001024``, ``:aA-0000016``."""
    letters = "".join(
        ch
        for ch, flag in (
            ("d", SLAB_CACHE_DMA),
            ("D", SLAB_CACHE_DMA32),
            ("a", SLAB_RECLAIM_ACCOUNT),
            ("F", SLAB_CONSISTENCY_CHECKS),
            ("A", SLAB_ACCOUNT),
        )
        if flags & flag
    )
    return ":" + (letters + "-" if letters else "") + f"{size:07d}"


# --------------------------------------------------------------------------------------
# kmalloc size classes -- include/linux/slab.h, mm/slab.h, mm/slab_common.c
# --------------------------------------------------------------------------------------

KMALLOC_SHIFT_LOW = 3
KMALLOC_SHIFT_HIGH = 12 + 1  # PAGE_SHIFT + 1
KMALLOC_SHIFT_MAX = MAX_PAGE_ORDER + 12  # MAX_PAGE_ORDER + PAGE_SHIFT
KMALLOC_MIN_SIZE = 1 << KMALLOC_SHIFT_LOW  # 8
KMALLOC_MAX_CACHE_SIZE = 1 << KMALLOC_SHIFT_HIGH  # 8192
KMALLOC_MAX_SIZE = 1 << KMALLOC_SHIFT_MAX  # 4 MiB
KMALLOC_MAX_ORDER = KMALLOC_SHIFT_MAX - 12  # 10
RANDOM_KMALLOC_CACHES_NR = 15  # with CONFIG_RANDOM_KMALLOC_CACHES (off on the host)

#: index -> object size of the kmalloc caches, in ``create_kmalloc_caches()`` order:
#: 1 (96), 2 (192), then 3..KMALLOC_SHIFT_HIGH (8 .. 8192).
KMALLOC_SIZE_CLASSES: tuple[tuple[int, int], ...] = ((1, 96), (2, 192)) + tuple(
    (i, 1 << i) for i in range(KMALLOC_SHIFT_LOW, KMALLOC_SHIFT_HIGH + 1)
)
#: The kmalloc object sizes, ascending: 8 16 32 64 96 128 192 256 512 1k 2k 4k 8k.
KMALLOC_SIZES: tuple[int, ...] = tuple(sorted(s for _, s in KMALLOC_SIZE_CLASSES))

#: mm/slab_common.c ``kmalloc_size_index[24]``: index for sizes 1..192, by ``(size - 1) // 8``.
KMALLOC_SIZE_INDEX: tuple[int, ...] = (
    3, 4, 5, 5, 6, 6, 6, 6,  # 8 16 24 32 40 48 56 64
    1, 1, 1, 1, 7, 7, 7, 7,  # 72 80 88 96 104 112 120 128
    2, 2, 2, 2, 2, 2, 2, 2,  # 136 .. 192
)  # fmt: skip


def kmalloc_index(size: int) -> int:
    """include/linux/slab.h ``__kmalloc_index()``: the kmalloc cache index for ``size`` bytes.

    0 for size 0; 1 is the 96-byte cache, 2 the 192-byte one, n >= 3 the
    ``2**n``-byte one (up to 21, 2 MiB).  Larger sizes are a BUG() in the
    kernel and a :class:`ConfigError` here.
    """
    if type(size) is int and 0 <= size <= _INDEX_TOP:
        return _KMALLOC_INDEX[size]
    return _kmalloc_index(size)


def _kmalloc_index(size: int) -> int:
    """:func:`kmalloc_index` computed (the table below is made from it)."""
    if size < 0:
        raise ConfigError(f"kmalloc_index({size}): negative size")
    if not size:
        return 0
    if size <= KMALLOC_MIN_SIZE:
        return KMALLOC_SHIFT_LOW
    if KMALLOC_MIN_SIZE <= 32 and 64 < size <= 96:
        return 1
    if KMALLOC_MIN_SIZE <= 64 and 128 < size <= 192:
        return 2
    if size > 2 * 1024 * 1024:
        raise ConfigError(f"kmalloc_index({size}): unexpected size (over 2 MiB)")
    return max(KMALLOC_SHIFT_LOW, (size - 1).bit_length())


def _kmalloc_index_table(top: int) -> tuple[int, ...]:
    """:func:`_kmalloc_index` of every size from 0 to ``top``, made a run at a time: the sizes of
    one ``fls(size - 1)``, then the minimum size's class and the 96- and 192-byte caches."""
    t = [0]
    b = 0
    while len(t) <= top:  # sizes n with (n - 1).bit_length() == b: 2^(b-1) + 1 .. 2^b (b = 0: n = 1)
        t += [max(KMALLOC_SHIFT_LOW, b)] * ((1 << b) - (1 << (b - 1)) if b else 1)
        b += 1
    del t[top + 1 :]
    t[1 : KMALLOC_MIN_SIZE + 1] = [KMALLOC_SHIFT_LOW] * KMALLOC_MIN_SIZE
    if KMALLOC_MIN_SIZE <= 32:
        t[65:97] = [1] * 32
    if KMALLOC_MIN_SIZE <= 64:
        t[129:193] = [2] * 64
    return tuple(t)


#: kmalloc_index() of the sizes up to 8 KiB, looked up (the fast paths build their size table
#: from it at every boot: 8,192 calls)
_INDEX_TOP = 8192
_KMALLOC_INDEX = _kmalloc_index_table(_INDEX_TOP)


def kmalloc_indexes(top: int) -> tuple[int, ...]:
    """:func:`kmalloc_index` of every size from 0 to ``top``, in order (the table's slice up to
    8 KiB: a kmalloc table of every size is made without a call a size)."""
    if top <= _INDEX_TOP:
        return _KMALLOC_INDEX[: top + 1]
    return tuple(map(kmalloc_index, range(top + 1)))


def kmalloc_slab_index(size: int) -> int:
    """mm/slab.h ``kmalloc_slab()``'s run-time index: ``size_index`` up to 192, else ``fls(size - 1)``.

    Only for 1 <= size <= KMALLOC_MAX_CACHE_SIZE, as the kernel calls it.
    """
    if not 1 <= size <= KMALLOC_MAX_CACHE_SIZE:
        raise ConfigError(f"kmalloc_slab_index({size}): size must be in 1..{KMALLOC_MAX_CACHE_SIZE}")
    if size <= 192:
        return KMALLOC_SIZE_INDEX[(size - 1) // 8]
    return fls(size - 1)


def kmalloc_index_size(index: int) -> int:
    """The object size of kmalloc cache ``index`` (1 -> 96, 2 -> 192, n -> 2**n)."""
    if index == 1:
        return 96
    if index == 2:
        return 192
    if KMALLOC_SHIFT_LOW <= index <= 21:
        return 1 << index
    raise ConfigError(f"kmalloc_index_size({index}): no kmalloc cache has that index")


def kmalloc_size_roundup(size: int, page_size: int = 4096, max_page_order: int = MAX_PAGE_ORDER) -> int:
    """mm/slab_common.c ``kmalloc_size_roundup()``: the bytes kmalloc(size) really provides.

    1..8192 -> the size class; up to KMALLOC_MAX_SIZE -> whole pages
    (``PAGE_SIZE << get_order(size)``); 0 and larger sizes are returned as is.
    """
    if size < 0:
        raise ConfigError(f"kmalloc_size_roundup({size}): negative size")
    max_cache = page_size * 2  # 1 << KMALLOC_SHIFT_HIGH
    if size and size <= max_cache:
        index = kmalloc_slab_index(size) if size <= KMALLOC_MAX_CACHE_SIZE else kmalloc_index(size)
        return kmalloc_index_size(index)
    if size and size <= page_size << max_page_order:
        return page_size << get_order(size, page_size)
    return size


def kmalloc_short_name(size: int) -> str:
    """The size part of a kmalloc cache name (``kmalloc_info[]``): 96, 192, 8 .. 512, 1k .. 8k, 1M, 2M."""
    if size >= 1 << 20 and size % (1 << 20) == 0:
        return f"{size >> 20}M"
    if size >= 1024 and size % 1024 == 0:
        return f"{size >> 10}k"
    return str(size)


# --------------------------------------------------------------------------------------
# kmalloc cache kinds -- enum kmalloc_cache_type, new_kmalloc_cache(), create_boot_cache()
# --------------------------------------------------------------------------------------
#
# enum kmalloc_cache_type (6.18, not SLUB_TINY):
#   KMALLOC_NORMAL = 0 = KMALLOC_RANDOM_START, [rnd 1..15 with RANDOM_KMALLOC_CACHES],
#   KMALLOC_RECLAIM, KMALLOC_DMA (ZONE_DMA), KMALLOC_CGROUP (MEMCG), NR_KMALLOC_TYPES
# new_kmalloc_cache(idx, type): RECLAIM |= SLAB_RECLAIM_ACCOUNT, CGROUP |= SLAB_ACCOUNT,
#   DMA |= SLAB_CACHE_DMA, random |= SLAB_NO_MERGE, NORMAL |= SLAB_NO_MERGE (MEMCG);
# create_kmalloc_cache(): flags | SLAB_KMALLOC, useroffset 0, usersize = size;
# create_boot_cache(): align = calculate_alignment(flags,
#   max(ARCH_KMALLOC_MINALIGN, 1 << (ffs(size) - 1)), size)   (6.12+: 96 -> 32, 192 -> 64)


class KmallocType(FrozenRecord):
    """One row of ``kmalloc_caches[][]``: ``enum kmalloc_cache_type`` value, kind, name prefix, flags."""

    __match_args__ = ("type", "kind", "prefix", "flags")
    type: int
    kind: str  # "normal", "rnd-01" .. "rnd-15", "rcl", "dma", "cg"
    prefix: str  # "kmalloc-", "kmalloc-rnd-01-", "kmalloc-rcl-", "dma-kmalloc-", "kmalloc-cg-"
    flags: int  # what new_kmalloc_cache() adds (before SLAB_KMALLOC)

    def __init__(self, type: int, kind: str, prefix: str, flags: int) -> None:
        vars(self).update(type=type, kind=kind, prefix=prefix, flags=flags)


def kmalloc_cache_types(
    *,
    random_kmalloc_caches: bool = False,
    zone_dma: bool = True,
    memcg: bool = True,
    slub_tiny: bool = False,
) -> list[KmallocType]:
    """``enum kmalloc_cache_type`` for a config (defaults: the reference host's), in enum order.

    Types that alias NORMAL in the config (KMALLOC_RECLAIM with SLUB_TINY, ...)
    are not listed: they create no caches.
    """
    out = [KmallocType(0, "normal", "kmalloc-", SLAB_NO_MERGE if memcg else 0)]
    t = 1
    if random_kmalloc_caches:
        for n in range(1, RANDOM_KMALLOC_CACHES_NR + 1):
            out.append(KmallocType(t, f"rnd-{n:02d}", f"kmalloc-rnd-{n:02d}-", SLAB_NO_MERGE))
            t += 1
    if not slub_tiny:
        out.append(KmallocType(t, "rcl", "kmalloc-rcl-", SLAB_RECLAIM_ACCOUNT))
        t += 1
    if zone_dma:
        out.append(KmallocType(t, "dma", "dma-kmalloc-", SLAB_CACHE_DMA))
        t += 1
    if memcg:
        out.append(KmallocType(t, "cg", "kmalloc-cg-", SLAB_ACCOUNT))
        t += 1
    return out


class KmallocCache(FrozenRecord):
    """A boot-time kmalloc cache: ``kmalloc_caches[type][index]``."""

    __match_args__ = ("name", "type", "kind", "index", "size", "flags")
    name: str
    type: int
    kind: str
    index: int
    size: int
    flags: int  # the flags create_kmalloc_cache() passes, SLAB_KMALLOC included

    def __init__(self, name: str, type: int, kind: str, index: int, size: int, flags: int) -> None:
        vars(self).update(name=name, type=type, kind=kind, index=index, size=size, flags=flags)


def kmalloc_caches(
    *,
    random_kmalloc_caches: bool = False,
    zone_dma: bool = True,
    memcg: bool = True,
    slub_tiny: bool = False,
) -> list[KmallocCache]:
    """mm/slab_common.c ``create_kmalloc_caches()``: every boot-time kmalloc cache, in creation order.

    For each type: index 1 (96), 2 (192), then 3..13 (8 .. 8k).  The host
    config gives 4 kinds x 13 sizes = 52 caches.
    """
    out = []
    for kt in kmalloc_cache_types(
        random_kmalloc_caches=random_kmalloc_caches, zone_dma=zone_dma, memcg=memcg, slub_tiny=slub_tiny
    ):
        for index, size in KMALLOC_SIZE_CLASSES:
            out.append(
                KmallocCache(
                    name=kt.prefix + kmalloc_short_name(size),
                    type=kt.type,
                    kind=kt.kind,
                    index=index,
                    size=size,
                    flags=kt.flags | SLAB_KMALLOC,
                )
            )
    return out


def kmalloc_cache_align(size: int, flags: int = SLAB_KMALLOC, cache_line: int = 64, *, word: int = 8) -> int:
    """mm/slab_common.c ``create_boot_cache()``: the alignment of a kmalloc cache of ``size`` bytes.

    At least the largest power of two dividing ``size`` (v6.12+): kmalloc-96 is
    32-aligned, kmalloc-192 64-aligned, the power-of-two caches size-aligned.
    """
    align = ARCH_KMALLOC_MINALIGN
    if flags & SLAB_KMALLOC:
        align = max(align, 1 << (ffs(size) - 1))
    return calculate_alignment(flags, align, size, cache_line, word=word)


def kmalloc_cache_geometry(
    size: int, flags: int = 0, *, nr_cpus: int, cache_line: int = 64, word: int = 8, **kwargs: Any
) -> CacheGeometry:
    """The geometry of the boot-time kmalloc cache of ``size`` bytes (``flags`` from its kind).

    ``create_kmalloc_cache()`` -> ``create_boot_cache()`` -> ``do_kmem_cache_create()``;
    ``kwargs`` go to :func:`calculate_geometry` (``slab_debug`` with ``name``,
    ``slub_max_order``, ``page_size``, ...).
    """
    flags |= SLAB_KMALLOC
    align = kmalloc_cache_align(size, flags, cache_line, word=word)
    return calculate_geometry(size, align, flags, nr_cpus=nr_cpus, cache_line=cache_line, word=word, **kwargs)


# --------------------------------------------------------------------------------------
# slab_debug= (alias slub_debug=) -- mm/slub.c setup_slub_debug(), parse_slub_debug_flags(),
# kmem_cache_flags()
# --------------------------------------------------------------------------------------
#
#   slab_debug                -> F Z P U on every cache (also "slab_debug=")
#   slab_debug=<flags>        -> <flags> on every cache ("-" = none, "O" = skip caches whose
#                                minimum order would grow)
#   slab_debug=<flags>,<list> -> only the caches in <list> (comma separated; a '*' makes the
#                                text before it a prefix; otherwise exact names)
#   blocks separated by ';'; a block without a list sets the global flags; ",<list>" with no
#   flags means F Z P U for the list.  Letters: F Z P U T A O (any case), unknown ones are
#   reported ("slab_debug option '%c' unknown. skipped") and skipped.
#   kmem_cache_flags(flags, name): SLAB_NO_USER_FLAGS caches are exempt; the first block
#   whose list matches the name gives flags | block_flags; otherwise flags | global
#   (without U for SLAB_NOLEAKTRACE caches).

_DEBUG_LETTERS: dict[str, int] = {
    "f": SLAB_CONSISTENCY_CHECKS,
    "z": SLAB_RED_ZONE,
    "p": SLAB_POISON,
    "u": SLAB_STORE_USER,
    "t": SLAB_TRACE,
    "a": SLAB_FAILSLAB,
}


def _parse_slub_debug_flags(s: str, i: int) -> tuple[int, int | None, int | None, bool, list[str]]:
    """mm/slub.c ``parse_slub_debug_flags()`` on ``s[i:]``.

    Returns (flags, start of the slab list or None, start of the next block or
    None, 'O' seen, unknown letters).
    """
    n = len(s)
    higher_order_disable = False
    unknown: list[str] = []
    while i < n and s[i] == ";":  # skip completely empty blocks
        i += 1
    if i < n and s[i] == ",":
        flags = DEBUG_DEFAULT_FLAGS  # no options but a list: full debugging for it
    else:
        flags = 0
        while i < n and s[i] not in ",;":
            c = s[i].lower()
            if c == "-":
                flags = 0
            elif c == "o":
                higher_order_disable = True
            elif c in _DEBUG_LETTERS:
                flags |= _DEBUG_LETTERS[c]
            else:
                unknown.append(s[i])
            i += 1
    slabs: int | None = None
    if i < n and s[i] == ",":
        i += 1
        slabs = i
    while i < n and s[i] != ";":  # skip over the slab list
        i += 1
    while i < n and s[i] == ";":
        i += 1
    return flags, slabs, (i if i < n else None), higher_order_disable, unknown


def _list_items(s: str, slabs: int, next_block: int | None) -> list[str]:
    """The cache patterns of one block's list, cut exactly as ``kmem_cache_flags()`` cuts them."""
    items = []
    it = slabs
    n = len(s)
    while it < n:
        end = s.find(",", it)
        if end < 0:
            end = n
        if next_block is not None and next_block < end:
            end = next_block - 1
        items.append(s[it:end])
        if end >= n or s[end] == ";":
            break
        it = end + 1
    return items


def _pattern_matches(pattern: str, name: str) -> bool:
    glob = pattern.find("*")
    if glob >= 0:
        return name.startswith(pattern[:glob])
    return name == pattern


class SlabDebug(FrozenRecord):
    """The parsed ``slab_debug=`` boot parameter: ``slub_debug``, ``slub_debug_string`` and friends.

    ``global_flags`` applies to every cache no list names; ``blocks`` holds
    ``(flags, patterns)`` per block with a cache list, in order (the first
    matching block wins); ``disable_higher_order_debug`` is the ``O`` option;
    ``unknown`` the letters the kernel reported and skipped.
    """

    __match_args__ = ("global_flags", "string", "disable_higher_order_debug", "unknown", "blocks")
    global_flags: int = 0
    string: str | None = None  # slub_debug_string: set only when some block has a list
    disable_higher_order_debug: bool = False
    unknown: tuple[str, ...] = ()
    blocks: tuple[tuple[int, tuple[str, ...]], ...] = ()

    def __init__(self, global_flags: int = 0, string: str | None = None, disable_higher_order_debug: bool = False,
                 unknown: tuple[str, ...] = (), blocks: tuple[tuple[int, tuple[str, ...]], ...] = ()) -> None:
        vars(self).update(global_flags=global_flags, string=string,
                          disable_higher_order_debug=disable_higher_order_debug, unknown=unknown, blocks=blocks)

    @property
    def enabled(self) -> bool:
        """The ``slub_debug_enabled`` static key (from the boot parameter alone)."""
        return bool(self.global_flags) or self.string is not None

    def kmem_cache_flags(self, flags: int, name: str) -> int:
        """mm/slub.c ``kmem_cache_flags()``: ``flags`` plus the debug flags ``slab_debug=`` gives ``name``."""
        if flags & SLAB_NO_USER_FLAGS:
            return flags
        local = self.global_flags
        if flags & SLAB_NOLEAKTRACE:
            local &= ~SLAB_STORE_USER
        for bflags, patterns in self.blocks:
            for pattern in patterns:
                if _pattern_matches(pattern, name):
                    return flags | bflags
        return flags | local

    def patterns(self) -> dict[str, int]:
        """Cache pattern -> flags, for every pattern of every list (the first block naming it wins)."""
        out: dict[str, int] = {}
        for bflags, patterns in self.blocks:
            for p in patterns:
                out.setdefault(p, bflags)
        return out


def _iter_blocks(s: str) -> Iterator[tuple[int, int | None, int | None, bool, list[str]]]:
    i: int | None = 0
    while i is not None:
        flags, slabs, nxt, higher, unknown = _parse_slub_debug_flags(s, i)
        yield flags, slabs, nxt, higher, unknown
        i = nxt


def parse_slab_debug(text: str | None, *, default_flags: int = 0) -> SlabDebug:
    """mm/slub.c ``setup_slub_debug()``: parse the value of ``slab_debug=`` (or ``slub_debug=``).

    ``text`` is what follows ``=``; ``None`` or ``""`` is the bare parameter
    (full debugging, F Z P U, on every cache).  ``default_flags`` is the
    compiled-in ``slub_debug`` (``DEBUG_DEFAULT_FLAGS`` with
    CONFIG_SLUB_DEBUG_ON, else 0): a parameter that only names cache lists
    leaves the global flags at it.  Examples: ``"FZPU"``, ``"-"``, ``"O"``,
    ``"FZ,kmalloc-64,kmalloc-1*;P,dentry"``, ``",dentry"``.
    """
    if not text:
        return SlabDebug(global_flags=DEBUG_DEFAULT_FLAGS)
    global_flags = DEBUG_DEFAULT_FLAGS
    global_changed = False
    list_specified = False
    higher = False
    unknown: list[str] = []
    for flags, slabs, _nxt, h, u in _iter_blocks(text):
        higher = higher or h
        unknown.extend(u)
        if slabs is None:
            global_flags = flags
            global_changed = True
        else:
            list_specified = True
    string = None
    blocks: list[tuple[int, tuple[str, ...]]] = []
    if list_specified:
        if not global_changed:
            global_flags = default_flags
        string = text
        for flags, slabs, nxt, _h, _u in _iter_blocks(text):
            if slabs is not None:
                blocks.append((flags, tuple(_list_items(text, slabs, nxt))))
    return SlabDebug(
        global_flags=global_flags,
        string=string,
        disable_higher_order_debug=higher,
        unknown=tuple(unknown),
        blocks=tuple(blocks),
    )
