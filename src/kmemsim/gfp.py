"""GFP flags of each kernel: values, printing, parsing, and the zone and migratetype they select.

Every machine has ``k.gfp``, the :class:`GfpSet` of its kernel: ``k.gfp.GFP_KERNEL`` is
that kernel's bits (a plain int), ``k.gfp.format(mask)`` prints a mask as its ``%pGg``
does, ``k.gfp.parse(text)`` reads one back.  The module constants of this module
(``kmemsim.gfp.GFP_KERNEL``, ``kmemsim.gfp.__GFP_ZERO`` ...) are *symbolic*
(:class:`kmemsim.flags.Flags`): names that every machine turns into its own bits, so
``k.kmalloc(64, GFP_KERNEL)`` means GFP_KERNEL on 2.6.24 as on 6.18.  A plain int is
always the machine's own bits.  See :mod:`kmemsim.flags` for the rules.

Models, for Linux 6.18 on x86_64 (the config of the reference host):

* ``include/linux/gfp_types.h`` -- the ``___GFP_*_BIT`` enum, the ``__GFP_*``
  bits and the ``GFP_*`` composites;
* ``include/linux/gfp.h`` -- ``gfp_zone()`` with ``GFP_ZONE_TABLE`` /
  ``GFP_ZONE_BAD``, ``gfp_migratetype()``, ``gfpflags_allow_blocking()``;
* ``include/trace/events/mmflags.h`` -- ``__def_gfpflag_names``, the name table
  both printers walk, and ``show_gfp_flags()`` (the tracepoints' ``gfp_flags=``);
* ``lib/vsprintf.c`` -- ``format_flags()``, i.e. ``%pGg``;
* ``mm/internal.h`` -- ``GFP_RECLAIM_MASK``, ``GFP_BOOT_MASK``, ``GFP_CONSTRAINT_MASK``,
  ``GFP_SLAB_BUG_MASK``;

for Linux 6.6 on x86_64, its ``include/linux/gfp_types.h`` and ``mmflags.h`` (the same
bits up to ``__GFP_ZEROTAGS``, no ``__GFP_NO_OBJ_EXT``, ``GFP_NOWAIT`` without
``__GFP_NOWARN``, a 26-bit mask and its own print-table order); for Linux 2.6.24 on i386,
``include/linux/gfp.h`` of that release: its flag values, its ``gfp_zone()`` if-chain and
``allocflags_to_migratetype()``; and for Linux 2.6.11 on i386, its ``include/linux/gfp.h``
(16 bits with ``__GFP_NO_GROW``, no migratetypes, the zonelist indexed by the two zone bits).

The kernel's names for one kernel's bits are module dicts (``FLAGS_6_18``, ``FLAGS_6_6``,
``FLAGS_2_6``, ``FLAGS_2_6_11``) and :class:`GfpSet` objects (``GFP_6_18``, ``GFP_6_6``,
``GFP_2_6`` = ``GFP_2_6_24``, ``GFP_2_6_11``); Python cannot
spell ``self.gfp.__GFP_ZERO`` inside a class body (name mangling), so model code reads
the bits it acts on from the typed record :attr:`GfpSet.bits` (``k.gfp.bits.zero``).

Config-dependent bits: on the reference host only ``CONFIG_SLAB_OBJ_EXT`` is
set, so ``__GFP_NO_OBJ_EXT`` is bit 24 and ``__GFP_BITS_SHIFT`` is 25;
``__GFP_SKIP_ZERO``, ``__GFP_SKIP_KASAN`` (KASAN_HW_TAGS) and
``__GFP_NOLOCKDEP`` (LOCKDEP) are 0, exactly as the kernel defines them when
their option is off.  The print table was checked against the ``print fmt`` of
the host's ``events/kmem/kmalloc/format`` (it ends with ``__GFP_NO_OBJ_EXT``).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

from .errors import UsageError
from .flags import WORD_MASK, Flags, FlagSet
from .records import FrozenRecord

# --------------------------------------------------------------------------- 6.18 bits


def _flags_6_18() -> dict[str, int]:
    """include/linux/gfp_types.h of 6.18: enum { ___GFP_DMA_BIT, ... ___GFP_LAST_BIT }.

    Bit 9 is ___GFP_UNUSED_BIT (it was __GFP_ATOMIC until 6.3)."""
    __GFP_DMA = 0x1
    __GFP_HIGHMEM = 0x2
    __GFP_DMA32 = 0x4
    __GFP_MOVABLE = 0x8
    __GFP_RECLAIMABLE = 0x10
    __GFP_HIGH = 0x20
    __GFP_IO = 0x40
    __GFP_FS = 0x80
    __GFP_ZERO = 0x100
    __GFP_DIRECT_RECLAIM = 0x400
    __GFP_KSWAPD_RECLAIM = 0x800
    __GFP_WRITE = 0x1000
    __GFP_NOWARN = 0x2000
    __GFP_RETRY_MAYFAIL = 0x4000
    __GFP_NOFAIL = 0x8000
    __GFP_NORETRY = 0x10000
    __GFP_MEMALLOC = 0x20000
    __GFP_COMP = 0x40000
    __GFP_NOMEMALLOC = 0x80000
    __GFP_HARDWALL = 0x100000
    __GFP_THISNODE = 0x200000
    __GFP_ACCOUNT = 0x400000
    __GFP_ZEROTAGS = 0x800000
    # Config-dependent bits, in enum order; only SLAB_OBJ_EXT is configured here.
    __GFP_SKIP_ZERO = 0  # CONFIG_KASAN_HW_TAGS=n
    __GFP_SKIP_KASAN = 0  # CONFIG_KASAN_HW_TAGS=n
    __GFP_NOLOCKDEP = 0  # CONFIG_LOCKDEP=n
    __GFP_NO_OBJ_EXT = 0x1000000  # CONFIG_SLAB_OBJ_EXT=y: bit 24
    bits = dict(locals())

    __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM
    GFP_ZONEMASK = __GFP_DMA | __GFP_HIGHMEM | __GFP_DMA32 | __GFP_MOVABLE
    GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM
    GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS
    GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT
    GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN  # __GFP_NOWARN since v6.8
    GFP_NOIO = __GFP_RECLAIM
    GFP_NOFS = __GFP_RECLAIM | __GFP_IO
    GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL
    GFP_DMA = __GFP_DMA
    GFP_DMA32 = __GFP_DMA32
    GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM
    GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE | __GFP_SKIP_KASAN
    GFP_TRANSHUGE_LIGHT = (GFP_HIGHUSER_MOVABLE | __GFP_COMP | __GFP_NOMEMALLOC | __GFP_NOWARN) & ~__GFP_RECLAIM
    GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT | __GFP_DIRECT_RECLAIM
    composites = {n: v for n, v in locals().items() if n not in bits and n not in ("bits",)}
    return {**bits, **composites}


#: Every 6.18 bit and composite by its kernel name (unconfigured bits are 0).
FLAGS_6_18: dict[str, int] = _flags_6_18()
_BITS_6_18: tuple[str, ...] = tuple(n for n in FLAGS_6_18 if n.startswith("__") and n != "__GFP_RECLAIM")

__GFP_BITS_SHIFT = 25  # ___GFP_LAST_BIT on this config
__GFP_BITS_MASK = (1 << __GFP_BITS_SHIFT) - 1

# mmflags.h __def_gfpflag_names: composites with most bits first, then
# TRACE_GFP_FLAGS (every configured bit in bit order; the unused bit 9 is absent).
_TABLE_6_18: tuple[str, ...] = (
    "GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER",
    "GFP_USER", "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC", "GFP_NOIO",
    "GFP_NOWAIT", "GFP_DMA", "GFP_DMA32", "__GFP_RECLAIM",
) + tuple(name for name in _BITS_6_18 if FLAGS_6_18[name])

# --------------------------------------------------------------------------- 6.6 bits
# include/linux/gfp_types.h of 6.6: the same bits as 6.18 up to __GFP_ZEROTAGS, written as
# plain numbers (lines 27-62); __GFP_SKIP_ZERO/__GFP_SKIP_KASAN (KASAN_HW_TAGS) and
# __GFP_NOLOCKDEP (LOCKDEP) keep bits 24-26 even when 0, so __GFP_BITS_SHIFT is
# 26 + IS_ENABLED(CONFIG_LOCKDEP) (line 254); there is no __GFP_NO_OBJ_EXT (6.10), and
# GFP_NOWAIT is __GFP_KSWAPD_RECLAIM alone (line 330; __GFP_NOWARN joined it in 6.8).

FLAGS_6_6: dict[str, int] = {n: v for n, v in FLAGS_6_18.items() if n != "__GFP_NO_OBJ_EXT"}
FLAGS_6_6["GFP_NOWAIT"] = FLAGS_6_6["__GFP_KSWAPD_RECLAIM"]
GFP_BITS_SHIFT_6_6 = 26  # CONFIG_LOCKDEP=n

# include/trace/events/mmflags.h of 6.6, __def_gfpflag_names: the composites, then the bits in
# the table's own order (not bit order, as from 6.10 on); SKIP_ZERO/SKIP_KASAN only with KASAN_HW_TAGS.
_TABLE_6_6: tuple[str, ...] = (
    "GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER",
    "GFP_USER", "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC", "GFP_NOIO",
    "GFP_NOWAIT", "GFP_DMA", "__GFP_HIGHMEM", "GFP_DMA32", "__GFP_HIGH", "__GFP_IO", "__GFP_FS",
    "__GFP_NOWARN", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_COMP", "__GFP_ZERO",
    "__GFP_NOMEMALLOC", "__GFP_MEMALLOC", "__GFP_HARDWALL", "__GFP_THISNODE", "__GFP_RECLAIMABLE",
    "__GFP_MOVABLE", "__GFP_ACCOUNT", "__GFP_WRITE", "__GFP_RECLAIM", "__GFP_DIRECT_RECLAIM",
    "__GFP_KSWAPD_RECLAIM", "__GFP_ZEROTAGS",
)

# --------------------------------------------------------------------------- 2.6.24 flags
# 2.6.24 include/linux/gfp.h (i386, !CONFIG_NUMA).  Kept in a dict only: the
# module-level names above are the 6.18 values.

FLAGS_2_6: dict[str, int] = {
    "__GFP_DMA": 0x01,
    "__GFP_HIGHMEM": 0x02,
    "__GFP_DMA32": 0x04,
    "__GFP_WAIT": 0x10,
    "__GFP_HIGH": 0x20,
    "__GFP_IO": 0x40,
    "__GFP_FS": 0x80,
    "__GFP_COLD": 0x100,
    "__GFP_NOWARN": 0x200,
    "__GFP_REPEAT": 0x400,
    "__GFP_NOFAIL": 0x800,
    "__GFP_NORETRY": 0x1000,
    "__GFP_COMP": 0x4000,
    "__GFP_ZERO": 0x8000,
    "__GFP_NOMEMALLOC": 0x10000,
    "__GFP_HARDWALL": 0x20000,
    "__GFP_THISNODE": 0x40000,
    "__GFP_RECLAIMABLE": 0x80000,
    "__GFP_MOVABLE": 0x100000,
}
FLAGS_2_6.update(
    {
        "GFP_ATOMIC": 0x20,  # __GFP_HIGH
        "GFP_NOWAIT": 0x0,  # GFP_ATOMIC & ~__GFP_HIGH
        "GFP_NOIO": 0x10,  # __GFP_WAIT
        "GFP_NOFS": 0x50,  # __GFP_WAIT | __GFP_IO
        "GFP_KERNEL": 0xD0,  # __GFP_WAIT | __GFP_IO | __GFP_FS
        "GFP_TEMPORARY": 0x800D0,  # GFP_KERNEL | __GFP_RECLAIMABLE
        "GFP_USER": 0x200D0,  # GFP_KERNEL | __GFP_HARDWALL
        "GFP_HIGHUSER": 0x200D2,  # GFP_USER | __GFP_HIGHMEM
        "GFP_HIGHUSER_MOVABLE": 0x1200D2,  # GFP_HIGHUSER | __GFP_MOVABLE
        "GFP_NOFS_PAGECACHE": 0x100050,  # __GFP_WAIT | __GFP_IO | __GFP_MOVABLE
        "GFP_USER_PAGECACHE": 0x1200D0,  # GFP_USER | __GFP_MOVABLE
        "GFP_HIGHUSER_PAGECACHE": 0x1200D2,  # same bits as GFP_HIGHUSER_MOVABLE
        "GFP_THISNODE": 0x0,  # __GFP_THISNODE|__GFP_NOWARN|__GFP_NORETRY with CONFIG_NUMA
        "GFP_DMA": 0x01,
        "GFP_DMA32": 0x04,
    }
)
GFP_BITS_SHIFT_2_6 = 21

# 2.6.24 had no name table at all (see GfpSet docstring).  This one follows the
# first kernel table, the kmem tracepoints' show_gfp_flags of the 2.6.3x
# series, with two changes: single bits keep their macro names (__GFP_HIGH, not
# that table's GFP_HIGH) so parse() accepts every name format() prints, and the
# zone bits are named instead of left as hex.  GFP_ATOMIC == __GFP_HIGH and
# GFP_NOIO == __GFP_WAIT, so those two bits always print as the composites.
_TABLE_2_6: tuple[str, ...] = (
    "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER", "GFP_USER", "GFP_TEMPORARY", "GFP_KERNEL",
    "GFP_NOFS", "GFP_ATOMIC", "GFP_NOIO", "GFP_DMA", "GFP_DMA32",
    "__GFP_DMA", "__GFP_HIGHMEM", "__GFP_DMA32", "__GFP_WAIT", "__GFP_HIGH", "__GFP_IO",
    "__GFP_FS", "__GFP_COLD", "__GFP_NOWARN", "__GFP_REPEAT", "__GFP_NOFAIL",
    "__GFP_NORETRY", "__GFP_COMP", "__GFP_ZERO", "__GFP_NOMEMALLOC", "__GFP_HARDWALL",
    "__GFP_THISNODE", "__GFP_RECLAIMABLE", "__GFP_MOVABLE",
)

# --------------------------------------------------------------------------- 2.6.11 flags
# 2.6.11 include/linux/gfp.h (lines 14-59): two zone bits, no DMA32, no mobility bits;
# __GFP_NO_GROW (slab-internal: do not grow a cache) and a 16-bit __GFP_BITS_SHIFT.
# GFP_USER equals GFP_KERNEL (no __GFP_HARDWALL before cpusets); there is no GFP_NOWAIT.

FLAGS_2_6_11: dict[str, int] = {
    "__GFP_DMA": 0x01,
    "__GFP_HIGHMEM": 0x02,
    "__GFP_WAIT": 0x10,
    "__GFP_HIGH": 0x20,
    "__GFP_IO": 0x40,
    "__GFP_FS": 0x80,
    "__GFP_COLD": 0x100,
    "__GFP_NOWARN": 0x200,
    "__GFP_REPEAT": 0x400,
    "__GFP_NOFAIL": 0x800,
    "__GFP_NORETRY": 0x1000,
    "__GFP_NO_GROW": 0x2000,
    "__GFP_COMP": 0x4000,
    "__GFP_ZERO": 0x8000,
    "GFP_ATOMIC": 0x20,  # __GFP_HIGH
    "GFP_NOIO": 0x10,  # __GFP_WAIT
    "GFP_NOFS": 0x50,  # __GFP_WAIT | __GFP_IO
    "GFP_KERNEL": 0xD0,  # __GFP_WAIT | __GFP_IO | __GFP_FS
    "GFP_USER": 0xD0,  # the same bits as GFP_KERNEL
    "GFP_HIGHUSER": 0xD2,  # __GFP_WAIT | __GFP_IO | __GFP_FS | __GFP_HIGHMEM
    "GFP_DMA": 0x01,
    "GFP_ZONEMASK": 0x03,  # include/linux/mmzone.h: the zonelist index bits
    # every bit but the zone modifiers and __GFP_ZERO: what the slab allocator may be given
    "GFP_LEVEL_MASK": 0x7FF0,  # __GFP_WAIT|HIGH|IO|FS|COLD|NOWARN|REPEAT|NOFAIL|NORETRY|NO_GROW|COMP
}
GFP_BITS_SHIFT_2_6_11 = 16

# Like 2.6.24's, 2.6.11 had no flag printer; this table has its names in the same shape.
# GFP_USER has GFP_KERNEL's bits, so GFP_KERNEL is what prints (both parse).
_TABLE_2_6_11: tuple[str, ...] = (
    "GFP_HIGHUSER", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC", "GFP_NOIO", "GFP_DMA",
    "__GFP_DMA", "__GFP_HIGHMEM", "__GFP_WAIT", "__GFP_HIGH", "__GFP_IO", "__GFP_FS", "__GFP_COLD",
    "__GFP_NOWARN", "__GFP_REPEAT", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_NO_GROW", "__GFP_COMP",
    "__GFP_ZERO",
)

# --------------------------------------------------------------------------- history
# What a name from one era means in the other; used in UsageError messages.

_GONE_BY_6_18: dict[str, str] = {
    "__GFP_WAIT": "replaced by __GFP_DIRECT_RECLAIM|__GFP_KSWAPD_RECLAIM (__GFP_RECLAIM), split in 4.4; "
    "an allocation that may sleep is now one with __GFP_DIRECT_RECLAIM (GFP_KERNEL has it)",
    "__GFP_REPEAT": "replaced by __GFP_RETRY_MAYFAIL (4.13), which has defined semantics for every order",
    "__GFP_COLD": "removed in 4.15 with no replacement (the per-CPU page lists have been LIFO since)",
    "GFP_TEMPORARY": "removed in 4.14; use GFP_KERNEL|__GFP_RECLAIMABLE for the same bits "
    "(the tree-wide removal simply used GFP_KERNEL)",
    "__GFP_ATOMIC": "removed in 6.3 (it was 0x80000 in 4.x, 0x200 in 5.x); an atomic allocation "
    "is now one without __GFP_DIRECT_RECLAIM, e.g. GFP_ATOMIC or GFP_NOWAIT",
    "GFP_THISNODE": "removed in 4.0; use __GFP_THISNODE (with __GFP_NOWARN|__GFP_NORETRY if wanted)",
    "GFP_NOFS_PAGECACHE": "a 2.6.24-era name since removed; use GFP_NOFS|__GFP_MOVABLE",
    "GFP_USER_PAGECACHE": "a 2.6.24-era name since removed; use GFP_USER|__GFP_MOVABLE",
    "GFP_HIGHUSER_PAGECACHE": "a 2.6.24-era name since removed; use GFP_HIGHUSER_MOVABLE",
    "__GFP_NO_GROW": "a slab-internal flag of 2.6.11 (do not grow the cache), gone by 2.6.24",
    "GFP_LEVEL_MASK": "a 2.6.11-era mask (the bits the slab allocator passes on), gone by 2.6.24",
}

_NOT_YET_IN_2_6: dict[str, str] = {
    "__GFP_DIRECT_RECLAIM": "added in 4.4 when __GFP_WAIT was split; 2.6.24 used __GFP_WAIT",
    "__GFP_KSWAPD_RECLAIM": "added in 4.4 when __GFP_WAIT was split; 2.6.24 woke kswapd for every "
    "allocation (there was no flag for it)",
    "__GFP_RECLAIM": "added in 4.4 as __GFP_DIRECT_RECLAIM|__GFP_KSWAPD_RECLAIM; 2.6.24 used __GFP_WAIT",
    "__GFP_RETRY_MAYFAIL": "added in 4.13; 2.6.24 had __GFP_REPEAT",
}

#: What a 6.x or 2.6.24 name is on 2.6.11, for names 2.6.11 has no counterpart of.
_NOT_YET_IN_2_6_11: dict[str, str] = {
    "__GFP_NOMEMALLOC": "not in 2.6.11 (in 2.6.24): 2.6.11 had no way to keep an allocation off the emergency "
    "reserves",
    "__GFP_DMA32": "not in 2.6.11 (in 2.6.24); on i386 every lowmem page is below 4 GiB anyway: use no zone flag",
    "GFP_DMA32": "not in 2.6.11 (in 2.6.24); on i386 every lowmem page is below 4 GiB anyway: use no zone flag",
    "__GFP_NO_OBJ_EXT": "added in 6.10",
}

# --------------------------------------------------------------------------- zones, migratetypes
# x86_64 6.18 (include/linux/mmzone.h enum zone_type with DMA, DMA32, DEVICE; no HIGHMEM).

ZONE_DMA = 0
ZONE_DMA32 = 1
ZONE_NORMAL = 2
ZONE_MOVABLE = 3
ZONE_DEVICE = 4
MAX_NR_ZONES = 5
ZONE_NAMES: tuple[str, ...] = ("DMA", "DMA32", "Normal", "Movable", "Device")
ZONES_6_18: dict[str, int] = {
    "ZONE_DMA": ZONE_DMA,
    "ZONE_DMA32": ZONE_DMA32,
    "ZONE_NORMAL": ZONE_NORMAL,
    "ZONE_MOVABLE": ZONE_MOVABLE,
    "ZONE_DEVICE": ZONE_DEVICE,
}
# x86_64 6.6 as the captures' config builds it: no ZONE_DEVICE (include/linux/mmzone.h enum zone_type).
ZONES_6_6: dict[str, int] = {"ZONE_DMA": 0, "ZONE_DMA32": 1, "ZONE_NORMAL": 2, "ZONE_MOVABLE": 3}
ZONE_NAMES_6_6: tuple[str, ...] = ("DMA", "DMA32", "Normal", "Movable")
# i386 2.6.11 (include/linux/mmzone.h lines 65-69: DMA, NORMAL, HIGHMEM; MAX_NR_ZONES 3).
ZONES_2_6_11: dict[str, int] = {"ZONE_DMA": 0, "ZONE_NORMAL": 1, "ZONE_HIGHMEM": 2}
ZONE_NAMES_2_6_11: tuple[str, ...] = ("DMA", "Normal", "HighMem")
# i386 2.6.24 (HIGHMEM, no DMA32, ZONE_MOVABLE since 2.6.23).
ZONES_2_6: dict[str, int] = {"ZONE_DMA": 0, "ZONE_NORMAL": 1, "ZONE_HIGHMEM": 2, "ZONE_MOVABLE": 3}
ZONE_NAMES_2_6: tuple[str, ...] = ("DMA", "Normal", "HighMem", "Movable")

# include/linux/mmzone.h enum migratetype (6.18, no CMA, MEMORY_ISOLATION=y).
MIGRATE_UNMOVABLE = 0
MIGRATE_MOVABLE = 1
MIGRATE_RECLAIMABLE = 2
MIGRATE_PCPTYPES = 3
MIGRATE_HIGHATOMIC = 3
MIGRATE_ISOLATE = 4
MIGRATE_TYPES = 5
MIGRATETYPE_NAMES: tuple[str, ...] = ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate")
MIGRATETYPES_6_18: dict[str, int] = {
    "MIGRATE_UNMOVABLE": 0,
    "MIGRATE_MOVABLE": 1,
    "MIGRATE_RECLAIMABLE": 2,
    "MIGRATE_HIGHATOMIC": 3,
    "MIGRATE_ISOLATE": 4,
}
# 2.6.24: a different order, and MIGRATE_RESERVE where HIGHATOMIC is now.
MIGRATETYPES_2_6: dict[str, int] = {
    "MIGRATE_UNMOVABLE": 0,
    "MIGRATE_RECLAIMABLE": 1,
    "MIGRATE_MOVABLE": 2,
    "MIGRATE_RESERVE": 3,
    "MIGRATE_ISOLATE": 4,
}
MIGRATETYPE_NAMES_2_6: tuple[str, ...] = ("Unmovable", "Reclaimable", "Movable", "Reserve", "Isolate")

# include/linux/gfp.h: GFP_ZONES_SHIFT is 2 here (ZONE_DEVICE && MAX_NR_ZONES - 1 <= 4).
# OPT_ZONE_HIGHMEM is ZONE_NORMAL because x86_64 has no HIGHMEM.
_D, _H, _D32, _MOV = (FLAGS_6_18[n] for n in ("__GFP_DMA", "__GFP_HIGHMEM", "__GFP_DMA32", "__GFP_MOVABLE"))
GFP_ZONES_SHIFT = 2
GFP_ZONE_TABLE = (
    (ZONE_NORMAL << 0 * GFP_ZONES_SHIFT)
    | (ZONE_DMA << _D * GFP_ZONES_SHIFT)
    | (ZONE_NORMAL << _H * GFP_ZONES_SHIFT)  # OPT_ZONE_HIGHMEM
    | (ZONE_DMA32 << _D32 * GFP_ZONES_SHIFT)
    | (ZONE_NORMAL << _MOV * GFP_ZONES_SHIFT)
    | (ZONE_DMA << (_MOV | _D) * GFP_ZONES_SHIFT)
    | (ZONE_MOVABLE << (_MOV | _H) * GFP_ZONES_SHIFT)
    | (ZONE_DMA32 << (_MOV | _D32) * GFP_ZONES_SHIFT)
)  # == 0x1320122
GFP_ZONE_BAD = (
    1 << (_D | _H)
    | 1 << (_D | _D32)
    | 1 << (_D32 | _H)
    | 1 << (_D | _D32 | _H)
    | 1 << (_MOV | _H | _D)
    | 1 << (_MOV | _D32 | _D)
    | 1 << (_MOV | _D32 | _H)
    | 1 << (_MOV | _D32 | _D | _H)
)  # == 0xe8e8
GFP_ZONEMASK_6_18 = _D | _H | _D32 | _MOV
GFP_MOVABLE_MASK_6_18 = FLAGS_6_18["__GFP_RECLAIMABLE"] | _MOV


def _gfp_zone_6_18(mask: int) -> int:
    """gfp_zone(): look the four zone bits up in GFP_ZONE_TABLE.

    A combination in GFP_ZONE_BAD trips VM_BUG_ON only with CONFIG_DEBUG_VM;
    otherwise the kernel uses whatever the table holds there (ZONE_DMA), and so
    does this function.
    """
    bit = mask & GFP_ZONEMASK_6_18
    return (GFP_ZONE_TABLE >> (bit * GFP_ZONES_SHIFT)) & ((1 << GFP_ZONES_SHIFT) - 1)


def _gfp_zone_2_6_24(mask: int) -> int:
    """2.6.24 gfp_zone() on i386 (!NUMA, ZONE_DMA=y, no ZONE_DMA32, HIGHMEM=y)."""
    if mask & FLAGS_2_6["__GFP_DMA"]:
        return ZONES_2_6["ZONE_DMA"]
    # CONFIG_ZONE_DMA32 is off on i386: the __GFP_DMA32 test is compiled out.
    himov = FLAGS_2_6["__GFP_HIGHMEM"] | FLAGS_2_6["__GFP_MOVABLE"]
    if mask & himov == himov:
        return ZONES_2_6["ZONE_MOVABLE"]
    if mask & FLAGS_2_6["__GFP_HIGHMEM"]:
        return ZONES_2_6["ZONE_HIGHMEM"]
    return ZONES_2_6["ZONE_NORMAL"]


def _gfp_zone_2_6_11(mask: int) -> int:
    """2.6.11: the zonelist is node_zonelists[gfp_mask & GFP_ZONEMASK] (include/linux/gfp.h
    alloc_pages_node()), built by build_zonelists() (mm/page_alloc.c:1423-1427): __GFP_DMA wins
    over __GFP_HIGHMEM, otherwise ZONE_NORMAL."""
    if mask & FLAGS_2_6_11["__GFP_DMA"]:
        return ZONES_2_6_11["ZONE_DMA"]
    if mask & FLAGS_2_6_11["__GFP_HIGHMEM"]:
        return ZONES_2_6_11["ZONE_HIGHMEM"]
    return ZONES_2_6_11["ZONE_NORMAL"]


def _no_migratetype(mask: int) -> int:
    """Before 2.6.24 there are no migratetypes: every free page is on the one list of its order."""
    return 0


def _gfp_migratetype_6_18(mask: int) -> int:
    """gfp_migratetype(): (gfp & GFP_MOVABLE_MASK) >> GFP_MOVABLE_SHIFT."""
    return (mask & GFP_MOVABLE_MASK_6_18) >> 3


def _allocflags_to_migratetype_2_6_24(mask: int) -> int:
    """2.6.24 allocflags_to_migratetype(): MOVABLE is bit 1, RECLAIMABLE bit 0."""
    movable = (mask & FLAGS_2_6["__GFP_MOVABLE"]) != 0
    reclaimable = (mask & FLAGS_2_6["__GFP_RECLAIMABLE"]) != 0
    return (movable << 1) | reclaimable


# --------------------------------------------------------------------------- the printer
#
# lib/vsprintf.c format_flags() (%pGg) and kernel/trace/trace_output.c
# trace_print_flags_seq() (__print_flags, used by show_gfp_flags) are the same
# greedy walk over the name table, in table order:
#
#     for (mask, name) in table, while flags != 0:
#         if flags & mask == mask:          # every bit of the entry is set
#             emit name; flags &= ~mask     # those bits are consumed
#     if flags: emit "0x%lx" % flags        # leftover bits, lowercase hex
#     join the pieces with "|"
#
# Consequences: the composites come first with the most bits first, so a mask
# prints as the largest composite it contains plus single bits; an entry whose
# bits were all consumed by an earlier one can never print (__GFP_RECLAIM
# always loses to GFP_NOIO, __GFP_DMA to GFP_DMA).  The two printers differ only
# for 0: %pGg prints nothing, show_gfp_flags prints "none".  Entries with a 0
# mask (unconfigured bits) are left out of the table: they would match anything.

_HEX_RE = re.compile(r"0[xX][0-9a-fA-F]+")
_GFP_T_MAX = (1 << 32) - 1  # gfp_t is an unsigned int



class GfpBits(FrozenRecord):
    """The bits of one kernel that the model acts on, by role (0 for a flag the kernel lacks).

    ``direct_reclaim`` is the flag that lets an allocation sleep (2.6: ``__GFP_WAIT``;
    4.4+: ``__GFP_DIRECT_RECLAIM``); ``kswapd_reclaim`` is 0 before 4.4, when every
    allocation woke kswapd; ``retry_mayfail`` is 2.6's ``__GFP_REPEAT``.  The masks are
    mm/internal.h's (``GFP_RECLAIM_MASK``, ``GFP_CONSTRAINT_MASK``) and gfp.h's.
    """

    __match_args__ = ("dma", "highmem", "dma32", "movable", "reclaimable", "high", "io", "fs", "zero", "cold",
                       "direct_reclaim", "kswapd_reclaim", "reclaim", "write", "nowarn", "retry_mayfail", "nofail",
                       "noretry", "memalloc", "comp", "nomemalloc", "hardwall", "thisnode", "account", "no_obj_ext",
                       "kernel", "atomic", "nowait", "highuser_movable", "zonemask", "movable_mask", "reclaim_mask",
                       "constraint_mask", "valid")
    dma: int
    highmem: int
    dma32: int
    movable: int
    reclaimable: int
    high: int
    io: int
    fs: int
    zero: int
    cold: int
    direct_reclaim: int
    kswapd_reclaim: int
    reclaim: int
    write: int
    nowarn: int
    retry_mayfail: int
    nofail: int
    noretry: int
    memalloc: int
    comp: int
    nomemalloc: int
    hardwall: int
    thisnode: int
    account: int
    no_obj_ext: int
    kernel: int  # GFP_KERNEL
    atomic: int  # GFP_ATOMIC
    nowait: int  # GFP_NOWAIT
    highuser_movable: int  # GFP_HIGHUSER_MOVABLE
    zonemask: int  # GFP_ZONEMASK
    movable_mask: int  # GFP_MOVABLE_MASK
    reclaim_mask: int  # GFP_RECLAIM_MASK
    constraint_mask: int  # GFP_CONSTRAINT_MASK
    valid: int  # every bit below __GFP_BITS_SHIFT

    def __init__(self, dma: int, highmem: int, dma32: int, movable: int, reclaimable: int, high: int, io: int, fs: int,
                 zero: int, cold: int, direct_reclaim: int, kswapd_reclaim: int, reclaim: int, write: int, nowarn: int,
                 retry_mayfail: int, nofail: int, noretry: int, memalloc: int, comp: int, nomemalloc: int,
                 hardwall: int, thisnode: int, account: int, no_obj_ext: int, kernel: int, atomic: int, nowait: int,
                 highuser_movable: int, zonemask: int, movable_mask: int, reclaim_mask: int, constraint_mask: int,
                 valid: int) -> None:
        vars(self).update(dma=dma, highmem=highmem, dma32=dma32, movable=movable, reclaimable=reclaimable, high=high,
                          io=io, fs=fs, zero=zero, cold=cold, direct_reclaim=direct_reclaim,
                          kswapd_reclaim=kswapd_reclaim, reclaim=reclaim, write=write, nowarn=nowarn,
                          retry_mayfail=retry_mayfail, nofail=nofail, noretry=noretry, memalloc=memalloc, comp=comp,
                          nomemalloc=nomemalloc, hardwall=hardwall, thisnode=thisnode, account=account,
                          no_obj_ext=no_obj_ext, kernel=kernel, atomic=atomic, nowait=nowait,
                          highuser_movable=highuser_movable, zonemask=zonemask, movable_mask=movable_mask,
                          reclaim_mask=reclaim_mask, constraint_mask=constraint_mask, valid=valid)


class GfpSet(FlagSet):
    """The GFP flags of one kernel: names, values, printer, parser, zone and migratetype.

    One instance per kernel: :data:`GFP_6_18` and :data:`GFP_2_6` (2.6.24); a machine's
    is ``k.gfp``.  ``k.gfp.GFP_KERNEL`` is that kernel's value; ``k.gfp.mask(x)`` turns
    any accepted spelling (its ints, symbolic flags, a string of its names) into bits.

    Printing in 2.6.24: the kernel had no symbolic GFP printer (``%pGg``
    arrived in 4.5, the kmem tracepoints' ``show_gfp_flags`` a few releases
    after 2.6.24); its allocation-failure report printed ``mode:0x%x``.  The
    2.6 set's :meth:`format` therefore follows the shape of the first kernel
    table, with 2.6.24 names (see ``_TABLE_2_6``), and its :meth:`format_trace`
    prints 0 as ``GFP_NOWAIT`` as that first tracepoint table did.
    """

    kind = "gfp"

    def __init__(
        self,
        *,
        name: str,
        kernel_version: str,
        flags: Mapping[str, int],
        table: Iterable[str],
        bits_shift: int,
        zero_trace: str,
        zone_fn: Callable[[int], int],
        zones: Mapping[str, int],
        zone_names: tuple[str, ...],
        migratetype_fn: Callable[[int], int],
        migratetypes: Mapping[str, int],
        migratetype_names: tuple[str, ...],
        blocking_flag: str,
        history: Mapping[str, str],
        translations: Mapping[str, str],
        reclaim_mask: tuple[str, ...],
        constraint_mask: tuple[str, ...],
    ) -> None:
        super().__init__(kernel_version=kernel_version, flags=flags, translations=translations, history=history)
        self.name = name
        self.table: tuple[tuple[int, str], ...] = tuple((self.flags[n], n) for n in table if self.flags[n])
        self.bits_shift = bits_shift
        self.bits_mask = (1 << bits_shift) - 1
        self.zero_trace = zero_trace
        self.zones: dict[str, int] = dict(zones)
        self.zone_names = zone_names
        self.migratetypes: dict[str, int] = dict(migratetypes)
        self.migratetype_names = migratetype_names
        self.blocking_flag = blocking_flag
        self._zone_fn = zone_fn
        self._migratetype_fn = migratetype_fn
        v = self.value_or_zero
        direct = v(blocking_flag)
        kswapd = v("__GFP_KSWAPD_RECLAIM")
        self.bits = GfpBits(
            dma=v("__GFP_DMA"), highmem=v("__GFP_HIGHMEM"), dma32=v("__GFP_DMA32"), movable=v("__GFP_MOVABLE"),
            reclaimable=v("__GFP_RECLAIMABLE"), high=v("__GFP_HIGH"), io=v("__GFP_IO"), fs=v("__GFP_FS"),
            zero=v("__GFP_ZERO"), cold=v("__GFP_COLD"), direct_reclaim=direct, kswapd_reclaim=kswapd,
            reclaim=direct | kswapd, write=v("__GFP_WRITE"), nowarn=v("__GFP_NOWARN"),
            retry_mayfail=v("__GFP_RETRY_MAYFAIL") or v("__GFP_REPEAT"), nofail=v("__GFP_NOFAIL"),
            noretry=v("__GFP_NORETRY"), memalloc=v("__GFP_MEMALLOC"), comp=v("__GFP_COMP"),
            nomemalloc=v("__GFP_NOMEMALLOC"), hardwall=v("__GFP_HARDWALL"), thisnode=v("__GFP_THISNODE"),
            account=v("__GFP_ACCOUNT"), no_obj_ext=v("__GFP_NO_OBJ_EXT"),
            kernel=v("GFP_KERNEL"), atomic=v("GFP_ATOMIC"), nowait=v("GFP_NOWAIT"),
            highuser_movable=v("GFP_HIGHUSER_MOVABLE"),
            zonemask=v("__GFP_DMA") | v("__GFP_HIGHMEM") | v("__GFP_DMA32") | v("__GFP_MOVABLE"),
            movable_mask=v("__GFP_RECLAIMABLE") | v("__GFP_MOVABLE"),
            reclaim_mask=self._or(reclaim_mask), constraint_mask=self._or(constraint_mask),
            valid=self.bits_mask,
        )

    def _or(self, names: tuple[str, ...]) -> int:
        out = 0
        for n in names:
            out |= self.value_or_zero(n)
        return out

    def __repr__(self) -> str:
        return f"<GfpSet {self.name} ({len(self.flags)} names)>"

    # ------------------------------------------------------------------ printing

    def format(self, mask: int) -> str:
        """``%pGg``: the names of ``mask`` joined by ``|``, leftover bits in hex; 0 -> ``""``."""
        flags = self._check_mask(mask)
        out: list[str] = []
        for entry_mask, entry_name in self.table:
            if not flags:
                break
            if flags & entry_mask == entry_mask:
                out.append(entry_name)
                flags &= ~entry_mask
        if flags:
            out.append(f"0x{flags:x}")
        return "|".join(out)

    def format_trace(self, mask: int) -> str:
        """``show_gfp_flags()``: as :meth:`format`, but 0 prints as ``none`` (2.6: ``GFP_NOWAIT``)."""
        return self.format(mask) if self._check_mask(mask) else self.zero_trace

    def parse(self, text: str) -> int:
        """The mask a printed flag string stands for: the inverse of :meth:`format`.

        Accepts ``"GFP_KERNEL|__GFP_ZERO"``, ``""``, ``"none"``, hex tokens such
        as ``"0x200"`` (alone or as leftover bits) and any name :meth:`value`
        accepts, with optional spaces around ``|``.  Only this kernel's own names:
        a printed string belongs to one kernel.
        """
        if not isinstance(text, str):
            raise UsageError(f"GFP flag string must be a string, got {text!r}")
        stripped = text.strip()
        if stripped in ("", "none"):
            return 0
        mask = 0
        for raw in stripped.split("|"):
            token = raw.strip()
            if not token:
                raise UsageError(f"empty flag name in GFP flag string {text!r}")
            if _HEX_RE.fullmatch(token):
                number = int(token, 16)
                if number > _GFP_T_MAX:
                    raise UsageError(f"GFP value {token} in {text!r} does not fit gfp_t (32 bits)")
                mask |= number
            elif token == "none":
                raise UsageError(f"'none' stands for an empty mask and cannot be combined: {text!r}")
            else:
                mask |= self.value(token)
        return mask

    def parse_text(self, text: str) -> int:
        return self.parse(text)

    # ------------------------------------------------------------------ semantics

    def zone(self, mask: int) -> int:
        """gfp_zone(): the highest zone index an allocation with ``mask`` may use."""
        return self._zone_fn(self._check_mask(mask))

    def zone_name(self, mask: int) -> str:
        """The name (as in /proc/zoneinfo) of :meth:`zone` of ``mask``."""
        return self.zone_names[self.zone(mask)]

    def migratetype(self, mask: int, *, mobility_disabled: bool = False) -> int:
        """gfp_migratetype() (2.6.24: allocflags_to_migratetype()).

        ``mobility_disabled`` is ``page_group_by_mobility_disabled``: everything
        is then UNMOVABLE.  With both __GFP_RECLAIMABLE and __GFP_MOVABLE set
        the kernel WARNs and uses the arithmetic result (HIGHATOMIC on 6.18,
        RESERVE on 2.6.24); so does this method, without the warning.
        """
        flags = self._check_mask(mask)
        if mobility_disabled:
            return 0
        return self._migratetype_fn(flags)

    def allows_blocking(self, mask: int) -> bool:
        """gfpflags_allow_blocking(): may the allocation sleep (direct reclaim)?"""
        return bool(self._check_mask(mask) & self.bits.direct_reclaim)

    # ------------------------------------------------------------------ helpers

    def _check_mask(self, mask: int | Flags) -> int:
        if isinstance(mask, Flags):
            return self.resolve(mask)
        if isinstance(mask, bool) or not isinstance(mask, int):
            raise UsageError(f"GFP mask must be an int or GFP flags, got {mask!r}")
        if mask < 0:
            raise UsageError(f"GFP mask must not be negative, got {mask}")
        return mask


# mm/internal.h of 6.18
_RECLAIM_MASK_6_18 = ("__GFP_DIRECT_RECLAIM", "__GFP_KSWAPD_RECLAIM", "__GFP_HIGH", "__GFP_IO", "__GFP_FS",
                      "__GFP_NOWARN", "__GFP_RETRY_MAYFAIL", "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_MEMALLOC",
                      "__GFP_NOMEMALLOC", "__GFP_NOLOCKDEP")
_CONSTRAINT_MASK_6_18 = ("__GFP_HARDWALL", "__GFP_THISNODE")
# include/linux/gfp.h of 2.6.24 (GFP_RECLAIM_MASK, GFP_CONSTRAINT_MASK)
_RECLAIM_MASK_2_6 = ("__GFP_WAIT", "__GFP_HIGH", "__GFP_IO", "__GFP_FS", "__GFP_NOWARN", "__GFP_REPEAT",
                     "__GFP_NOFAIL", "__GFP_NORETRY", "__GFP_NOMEMALLOC")
_CONSTRAINT_MASK_2_6 = ("__GFP_HARDWALL", "__GFP_THISNODE")
# 2.6.11 had neither mask; the bits a reclaim decision reads are the same minus __GFP_NOMEMALLOC
_RECLAIM_MASK_2_6_11 = ("__GFP_WAIT", "__GFP_HIGH", "__GFP_IO", "__GFP_FS", "__GFP_NOWARN", "__GFP_REPEAT",
                        "__GFP_NOFAIL", "__GFP_NORETRY")

#: What a symbolic 2.6-era name means on 6.18 (the kernel's own renames).
_TO_6_18: dict[str, str] = {
    "__GFP_WAIT": "__GFP_RECLAIM",  # 4.4, d0164adc89f6: GFP_KERNEL's __GFP_WAIT became __GFP_RECLAIM
    "__GFP_REPEAT": "__GFP_RETRY_MAYFAIL",  # 4.13, dcda9b04713c
    "GFP_TEMPORARY": "GFP_KERNEL|__GFP_RECLAIMABLE",  # 4.14 removal, same bits
    "GFP_THISNODE": "__GFP_THISNODE|__GFP_NOWARN|__GFP_NORETRY",  # its CONFIG_NUMA value until 4.0
    "GFP_NOFS_PAGECACHE": "GFP_NOFS|__GFP_MOVABLE",
    "GFP_USER_PAGECACHE": "GFP_USER|__GFP_MOVABLE",
    "GFP_HIGHUSER_PAGECACHE": "GFP_HIGHUSER_MOVABLE",
}
#: What a symbolic 6.18 name means on 2.6.24.
_TO_2_6: dict[str, str] = {
    "__GFP_DIRECT_RECLAIM": "__GFP_WAIT",
    "__GFP_RECLAIM": "__GFP_WAIT",
    "__GFP_KSWAPD_RECLAIM": "",  # no bit: 2.6.24's __alloc_pages() woke kswapd for every allocation
    "__GFP_RETRY_MAYFAIL": "__GFP_REPEAT",
}

#: What a symbolic 6.x or 2.6.24 name means on 2.6.11 (the renames, and the flags whose bits
#: 2.6.11 does not need for the same behaviour).
_TO_2_6_11: dict[str, str] = {
    **_TO_2_6,
    "GFP_NOWAIT": "",  # 2.6.24's GFP_NOWAIT is GFP_ATOMIC & ~__GFP_HIGH == 0: no bits on 2.6.11 either
    # mobility hints: 2.6.11 groups no pages by mobility (no migratetypes), so they change nothing
    "__GFP_MOVABLE": "",
    "__GFP_RECLAIMABLE": "",
    "GFP_TEMPORARY": "GFP_KERNEL",
    "GFP_HIGHUSER_MOVABLE": "GFP_HIGHUSER",
    "GFP_HIGHUSER_PAGECACHE": "GFP_HIGHUSER",
    "GFP_USER_PAGECACHE": "GFP_USER",
    "GFP_NOFS_PAGECACHE": "GFP_NOFS",
    # no cpusets and one node: GFP_USER's hardwall and GFP_THISNODE change nothing
    "__GFP_HARDWALL": "",
    "__GFP_THISNODE": "",
    "GFP_THISNODE": "",
}

GFP_6_18 = GfpSet(
    name="linux-6.18",
    kernel_version="6.18",
    flags=FLAGS_6_18,
    table=_TABLE_6_18,
    bits_shift=__GFP_BITS_SHIFT,
    zero_trace="none",
    zone_fn=_gfp_zone_6_18,
    zones=ZONES_6_18,
    zone_names=ZONE_NAMES,
    migratetype_fn=_gfp_migratetype_6_18,
    migratetypes=MIGRATETYPES_6_18,
    migratetype_names=MIGRATETYPE_NAMES,
    blocking_flag="__GFP_DIRECT_RECLAIM",
    history=_GONE_BY_6_18,
    translations=_TO_6_18,
    reclaim_mask=_RECLAIM_MASK_6_18,
    constraint_mask=_CONSTRAINT_MASK_6_18,
)

GFP_2_6 = GfpSet(
    name="linux-2.6.24",
    kernel_version="2.6.24",
    flags=FLAGS_2_6,
    table=_TABLE_2_6,
    bits_shift=GFP_BITS_SHIFT_2_6,
    zero_trace="GFP_NOWAIT",
    zone_fn=_gfp_zone_2_6_24,
    zones=ZONES_2_6,
    zone_names=ZONE_NAMES_2_6,
    migratetype_fn=_allocflags_to_migratetype_2_6_24,
    migratetypes=MIGRATETYPES_2_6,
    migratetype_names=MIGRATETYPE_NAMES_2_6,
    blocking_flag="__GFP_WAIT",
    history={
        **_NOT_YET_IN_2_6,
        **{n: "added after 2.6.24" for n in FLAGS_6_18 if n not in FLAGS_2_6 and n not in _NOT_YET_IN_2_6},
        "__GFP_NO_GROW": _GONE_BY_6_18["__GFP_NO_GROW"],
        "GFP_LEVEL_MASK": _GONE_BY_6_18["GFP_LEVEL_MASK"],
    },
    translations=_TO_2_6,
    reclaim_mask=_RECLAIM_MASK_2_6,
    constraint_mask=_CONSTRAINT_MASK_2_6,
)

GFP_6_6 = GfpSet(
    name="linux-6.6",
    kernel_version="6.6",
    flags=FLAGS_6_6,
    table=_TABLE_6_6,
    bits_shift=GFP_BITS_SHIFT_6_6,
    zero_trace="none",
    zone_fn=_gfp_zone_6_18,  # the same GFP_ZONE_TABLE: four zones, GFP_ZONES_SHIFT 2
    zones=ZONES_6_6,
    zone_names=ZONE_NAMES_6_6,
    migratetype_fn=_gfp_migratetype_6_18,
    migratetypes=MIGRATETYPES_6_18,
    migratetype_names=MIGRATETYPE_NAMES,
    blocking_flag="__GFP_DIRECT_RECLAIM",
    history={**_GONE_BY_6_18, "__GFP_NO_OBJ_EXT": "added in 6.10 with CONFIG_SLAB_OBJ_EXT (slab object "
             "extensions); 6.6 has no obj_exts to skip"},
    translations=_TO_6_18,
    reclaim_mask=_RECLAIM_MASK_6_18,
    constraint_mask=_CONSTRAINT_MASK_6_18,
)

GFP_2_6_11 = GfpSet(
    name="linux-2.6.11",
    kernel_version="2.6.11",
    flags=FLAGS_2_6_11,
    table=_TABLE_2_6_11,
    bits_shift=GFP_BITS_SHIFT_2_6_11,
    zero_trace="none",
    zone_fn=_gfp_zone_2_6_11,
    zones=ZONES_2_6_11,
    zone_names=ZONE_NAMES_2_6_11,
    migratetype_fn=_no_migratetype,
    migratetypes={},
    migratetype_names=(),
    blocking_flag="__GFP_WAIT",
    history={
        **{n: "not in 2.6.11 (it is in 2.6.24)" for n in FLAGS_2_6 if n not in FLAGS_2_6_11},
        **{n: "added after 2.6.24" for n in FLAGS_6_18 if n not in FLAGS_2_6 and n not in FLAGS_2_6_11},
        **_NOT_YET_IN_2_6_11,
    },
    translations=_TO_2_6_11,
    reclaim_mask=_RECLAIM_MASK_2_6_11,
    constraint_mask=(),
)

#: 2.6.24's set under its version's name (``GFP_2_6`` is its first name).
GFP_2_6_24 = GFP_2_6

#: The GFP set of each kernel version modelled.
GFP_SETS: dict[str, GfpSet] = {"6.18": GFP_6_18, "6.6": GFP_6_6, "2.6.24": GFP_2_6, "2.6.11": GFP_2_6_11}


def for_kernel(version: str) -> GfpSet:
    """The GFP set of a kernel version (``"6.18"``, ``"6.6"``, ``"2.6.24"``, ``"2.6.11"``)."""
    try:
        return GFP_SETS[version]
    except KeyError:
        raise UsageError(f"no GFP flags for Linux {version!r}; known: {', '.join(GFP_SETS)}") from None


def for_profile(profile: object) -> GfpSet:
    """The GFP set of a profile, given by name (``"linux-2.6.24-i386"``, or an alias such as
    ``"linux-2.6-i386"``) or as a Profile.

    An unknown profile name raises :class:`kmemsim.errors.ConfigError`, like
    every other profile lookup.
    """
    from .profiles import Profile, get_profile

    prof = profile if isinstance(profile, Profile) else get_profile(profile)  # type: ignore[arg-type]
    return GFP_SETS[prof.kernel_version]


# --------------------------------------------------------------------------- symbolic names
# Every GFP name of every kernel modelled, as a symbolic flag each machine resolves with
# its own kernel's values (kmemsim.flags).  Listed one by one so that tools and readers see them.

def _g(name: str) -> Flags:
    return Flags.name("gfp", name)


__GFP_DMA = _g("__GFP_DMA")
__GFP_HIGHMEM = _g("__GFP_HIGHMEM")
__GFP_DMA32 = _g("__GFP_DMA32")
__GFP_MOVABLE = _g("__GFP_MOVABLE")
__GFP_RECLAIMABLE = _g("__GFP_RECLAIMABLE")
__GFP_HIGH = _g("__GFP_HIGH")
__GFP_IO = _g("__GFP_IO")
__GFP_FS = _g("__GFP_FS")
__GFP_ZERO = _g("__GFP_ZERO")
__GFP_DIRECT_RECLAIM = _g("__GFP_DIRECT_RECLAIM")
__GFP_KSWAPD_RECLAIM = _g("__GFP_KSWAPD_RECLAIM")
__GFP_RECLAIM = _g("__GFP_RECLAIM")
__GFP_WRITE = _g("__GFP_WRITE")
__GFP_NOWARN = _g("__GFP_NOWARN")
__GFP_RETRY_MAYFAIL = _g("__GFP_RETRY_MAYFAIL")
__GFP_NOFAIL = _g("__GFP_NOFAIL")
__GFP_NORETRY = _g("__GFP_NORETRY")
__GFP_MEMALLOC = _g("__GFP_MEMALLOC")
__GFP_COMP = _g("__GFP_COMP")
__GFP_NOMEMALLOC = _g("__GFP_NOMEMALLOC")
__GFP_HARDWALL = _g("__GFP_HARDWALL")
__GFP_THISNODE = _g("__GFP_THISNODE")
__GFP_ACCOUNT = _g("__GFP_ACCOUNT")
__GFP_ZEROTAGS = _g("__GFP_ZEROTAGS")
__GFP_SKIP_ZERO = _g("__GFP_SKIP_ZERO")
__GFP_SKIP_KASAN = _g("__GFP_SKIP_KASAN")
__GFP_NOLOCKDEP = _g("__GFP_NOLOCKDEP")
__GFP_NO_OBJ_EXT = _g("__GFP_NO_OBJ_EXT")
# 2.6-era single bits
__GFP_WAIT = _g("__GFP_WAIT")
__GFP_COLD = _g("__GFP_COLD")
__GFP_REPEAT = _g("__GFP_REPEAT")
__GFP_NO_GROW = _g("__GFP_NO_GROW")
# composites
GFP_ZONEMASK = _g("GFP_ZONEMASK")
GFP_ATOMIC = _g("GFP_ATOMIC")
GFP_KERNEL = _g("GFP_KERNEL")
GFP_KERNEL_ACCOUNT = _g("GFP_KERNEL_ACCOUNT")
GFP_NOWAIT = _g("GFP_NOWAIT")
GFP_NOIO = _g("GFP_NOIO")
GFP_NOFS = _g("GFP_NOFS")
GFP_USER = _g("GFP_USER")
GFP_DMA = _g("GFP_DMA")
GFP_DMA32 = _g("GFP_DMA32")
GFP_HIGHUSER = _g("GFP_HIGHUSER")
GFP_HIGHUSER_MOVABLE = _g("GFP_HIGHUSER_MOVABLE")
GFP_TRANSHUGE_LIGHT = _g("GFP_TRANSHUGE_LIGHT")
GFP_TRANSHUGE = _g("GFP_TRANSHUGE")
GFP_TEMPORARY = _g("GFP_TEMPORARY")
GFP_THISNODE = _g("GFP_THISNODE")
GFP_NOFS_PAGECACHE = _g("GFP_NOFS_PAGECACHE")
GFP_USER_PAGECACHE = _g("GFP_USER_PAGECACHE")
GFP_HIGHUSER_PAGECACHE = _g("GFP_HIGHUSER_PAGECACHE")

#: Every symbolic GFP name this module defines.
SYMBOLS: dict[str, Flags] = {n: v for n, v in dict(globals()).items() if isinstance(v, Flags)}

__all__ = [
    *SYMBOLS,
    "FLAGS_6_18", "FLAGS_6_6", "FLAGS_2_6", "FLAGS_2_6_11", "GFP_BITS_SHIFT_2_6", "GFP_BITS_SHIFT_2_6_11",
    "GFP_BITS_SHIFT_6_6", "WORD_MASK",
    "ZONE_DMA", "ZONE_DMA32", "ZONE_NORMAL", "ZONE_MOVABLE", "ZONE_DEVICE", "MAX_NR_ZONES",
    "ZONE_NAMES", "ZONES_6_18", "ZONES_6_6", "ZONE_NAMES_6_6", "ZONES_2_6", "ZONE_NAMES_2_6", "ZONES_2_6_11",
    "ZONE_NAMES_2_6_11",
    "MIGRATE_UNMOVABLE", "MIGRATE_MOVABLE", "MIGRATE_RECLAIMABLE", "MIGRATE_PCPTYPES",
    "MIGRATE_HIGHATOMIC", "MIGRATE_ISOLATE", "MIGRATE_TYPES", "MIGRATETYPE_NAMES",
    "MIGRATETYPES_6_18", "MIGRATETYPES_2_6", "MIGRATETYPE_NAMES_2_6",
    "GFP_ZONES_SHIFT", "GFP_ZONE_TABLE", "GFP_ZONE_BAD",
    "Flags", "GfpBits", "GfpSet", "GFP_6_18", "GFP_6_6", "GFP_2_6", "GFP_2_6_24", "GFP_2_6_11", "GFP_SETS",
    "for_kernel", "for_profile",
]
