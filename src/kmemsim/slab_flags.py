"""SLAB_* flags of each kernel: the values ``kmem_cache_create()`` takes, by name.

As with GFP flags (:mod:`kmemsim.gfp`, :mod:`kmemsim.flags`), ``k.slab_flags`` is the
machine's own :class:`SlabFlagSet` (``k.slab_flags.SLAB_HWCACHE_ALIGN`` is that kernel's
bit), and the module constants ``kmemsim.SLAB_*`` are symbolic names every machine
resolves with its own values.

6.18: include/linux/slab.h ``enum _slab_flag_bits`` -- the flags are numbered densely,
and a flag whose config option is off is 0 (``__SLAB_FLAG_UNUSED``).

Simplification, said here: the 2.6.24 profile still runs 6.18's SLUB model, so its
set uses the 6.18 values until the classic allocators arrive (SLAB_* values of 2.6
were sparse: SLAB_RED_ZONE 0x400, SLAB_HWCACHE_ALIGN 0x2000 ...).
"""
from __future__ import annotations

from .flags import Flags, FlagSet

__all__ = ["SlabFlagSet", "SLAB_FLAGS_6_18", "slab_flag_bits", "for_kernel", "SYMBOLS", "ZERO_SIZE_PTR"]

#: include/linux/slab.h: what kmalloc(0) returns, ((void *)16); kfree() ignores it.
ZERO_SIZE_PTR = 16

#: ``enum _slab_flag_bits`` members in order, with the config option each needs
#: (``None``: always present; ``"!SLUB_TINY"``: present unless that option is set).
_SLAB_FLAG_ENUM: tuple[tuple[str, str | None], ...] = (
    ("SLAB_CONSISTENCY_CHECKS", None),
    ("SLAB_RED_ZONE", None),
    ("SLAB_POISON", None),
    ("SLAB_KMALLOC", None),
    ("SLAB_HWCACHE_ALIGN", None),
    ("SLAB_CACHE_DMA", None),
    ("SLAB_CACHE_DMA32", None),
    ("SLAB_STORE_USER", None),
    ("SLAB_PANIC", None),
    ("SLAB_TYPESAFE_BY_RCU", None),
    ("SLAB_TRACE", None),
    ("SLAB_DEBUG_OBJECTS", "DEBUG_OBJECTS"),
    ("SLAB_NOLEAKTRACE", None),
    ("SLAB_NO_MERGE", None),
    ("SLAB_FAILSLAB", "FAILSLAB"),
    ("SLAB_ACCOUNT", "MEMCG"),
    ("SLAB_KASAN", "KASAN_GENERIC"),
    ("SLAB_NO_USER_FLAGS", None),
    ("SLAB_SKIP_KFENCE", "KFENCE"),
    ("SLAB_RECLAIM_ACCOUNT", "!SLUB_TINY"),
    ("SLAB_OBJECT_POISON", None),  # __OBJECT_POISON, internal (set by calculate_sizes)
    ("SLAB_CMPXCHG_DOUBLE", None),  # __CMPXCHG_DOUBLE, internal
    ("SLAB_NO_OBJ_EXT", "SLAB_OBJ_EXT"),
)

#: The reference host's config for the flag enum (``/proc/config.gz`` of 6.18.44).
_HOST_FLAG_CONFIG: dict[str, bool] = {
    "DEBUG_OBJECTS": False,
    "FAILSLAB": False,
    "MEMCG": True,
    "KASAN_GENERIC": False,
    "KFENCE": False,
    "SLUB_TINY": False,
    "SLAB_OBJ_EXT": True,
}


def slab_flag_bits(
    *,
    debug_objects: bool = False,
    failslab: bool = False,
    memcg: bool = True,
    kasan_generic: bool = False,
    kfence: bool = False,
    slub_tiny: bool = False,
    slab_obj_ext: bool = True,
) -> dict[str, int]:
    """The ``SLAB_*`` values for a kernel config (include/linux/slab.h ``enum _slab_flag_bits``).

    Defaults are the reference host's config.  A flag whose option is off is 0
    (``__SLAB_FLAG_UNUSED``), as the kernel defines it.
    """
    config = {
        "DEBUG_OBJECTS": debug_objects,
        "FAILSLAB": failslab,
        "MEMCG": memcg,
        "KASAN_GENERIC": kasan_generic,
        "KFENCE": kfence,
        "SLUB_TINY": slub_tiny,
        "SLAB_OBJ_EXT": slab_obj_ext,
    }
    out: dict[str, int] = {}
    bit = 0
    for name, needs in _SLAB_FLAG_ENUM:
        present = needs is None or (not config[needs[1:]] if needs.startswith("!") else config[needs])
        if present:
            out[name] = 1 << bit
            bit += 1
        else:
            out[name] = 0
    return out


#: Name -> value of every 6.18 ``SLAB_*`` flag with the reference host's config
#: (0 for the ones its config leaves unused).

#: Name -> value of every 6.18 ``SLAB_*`` flag with the reference host's config
#: (0 for the ones its config leaves unused).
SLAB_FLAGS_6_18: dict[str, int] = slab_flag_bits()


class SlabFlagSet(FlagSet):
    """The SLAB_* flags of one kernel (``k.slab_flags``)."""

    kind = "slab"

    def __repr__(self) -> str:
        return f"<SlabFlagSet Linux {self.kernel_version} ({len(self.flags)} names)>"


_6_18 = SlabFlagSet(
    kernel_version="6.18",
    flags={**SLAB_FLAGS_6_18, "SLAB_TEMPORARY": SLAB_FLAGS_6_18["SLAB_RECLAIM_ACCOUNT"]},
    translations={"SLAB_DESTROY_BY_RCU": "SLAB_TYPESAFE_BY_RCU"},  # renamed in 4.12
    history={"SLAB_DEBUG_FREE": "renamed SLAB_CONSISTENCY_CHECKS in 4.6",
             "SLAB_MUST_HWCACHE_ALIGN": "removed in 2.6.22; use SLAB_HWCACHE_ALIGN",
             "SLAB_MEM_SPREAD": "removed in 6.8 (cpusets spread slab pages no more)"},
)
#: Per kernel version.  2.6.24 shares 6.18's values for now (see the module docstring).
SLAB_FLAG_SETS: dict[str, SlabFlagSet] = {
    "6.18": _6_18,
    "2.6.24": SlabFlagSet(kernel_version="2.6.24", flags=_6_18.flags, translations=_6_18.translations,
                          history=_6_18.history),
}


def for_kernel(version: str) -> SlabFlagSet:
    return SLAB_FLAG_SETS[version]


#: Every symbolic SLAB_* name (kmemsim.SLAB_HWCACHE_ALIGN ...).
SYMBOLS: dict[str, Flags] = {
    n: Flags.name("slab", n)
    for n in [*SLAB_FLAGS_6_18, "SLAB_TEMPORARY", "SLAB_DESTROY_BY_RCU", "SLAB_DEBUG_FREE", "SLAB_MUST_HWCACHE_ALIGN",
              "SLAB_MEM_SPREAD"]
    if n.startswith("SLAB_")
}
