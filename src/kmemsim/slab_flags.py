"""SLAB_* flags of each kernel: the values ``kmem_cache_create()`` takes, by name.

As with GFP flags (:mod:`kmemsim.gfp`, :mod:`kmemsim.flags`), ``k.slab_flags`` is the
machine's own :class:`SlabFlagSet` (``k.slab_flags.SLAB_HWCACHE_ALIGN`` is that kernel's
bit), and the module constants ``kmemsim.SLAB_*`` are symbolic names every machine
resolves with its own values.

6.18: include/linux/slab.h ``enum _slab_flag_bits`` -- the flags are numbered densely,
and a flag whose config option is off is 0 (``__SLAB_FLAG_UNUSED``).

6.6, 2.6.24 and 2.6.11: include/linux/slab.h of each, sparse values (SLAB_RED_ZONE 0x400,
SLAB_HWCACHE_ALIGN 0x2000 ...), so ``k.slab_flags`` is always the kernel's own bits.  The
SLUB model works in 6.18's bits: ``kmem_cache_create()`` turns a kernel's flags into them
(:meth:`SlabFlagSet.translate`), so a cache's ``flags`` are 6.18's on every profile that
runs SLUB.
"""
from __future__ import annotations

from .errors import UsageError
from .flags import Flags, FlagSet

__all__ = ["SlabFlagSet", "SLAB_FLAGS_6_18", "SLAB_FLAGS_6_6", "SLAB_FLAGS_2_6_24", "SLAB_FLAGS_2_6_11",
           "SLAB_FLAG_SETS", "SAME_FLAG", "ENGINE", "slab_flag_bits", "for_kernel", "SYMBOLS", "ZERO_SIZE_PTR"]

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
SLAB_FLAGS_6_18: dict[str, int] = slab_flag_bits()


#: include/linux/slab.h of 6.6 (lines 30-165): sparse values, a flag whose option is off is 0;
#: the captures' config (allnoconfig + SMP) has DEBUG_OBJECTS, FAILSLAB, MEMCG, KASAN and
#: KFENCE off and SLUB_TINY off (so SLAB_RECLAIM_ACCOUNT is set).
SLAB_FLAGS_6_6: dict[str, int] = {
    "SLAB_CONSISTENCY_CHECKS": 0x00000100,
    "SLAB_RED_ZONE": 0x00000400,
    "SLAB_POISON": 0x00000800,
    "SLAB_KMALLOC": 0x00001000,
    "SLAB_HWCACHE_ALIGN": 0x00002000,
    "SLAB_CACHE_DMA": 0x00004000,
    "SLAB_CACHE_DMA32": 0x00008000,
    "SLAB_STORE_USER": 0x00010000,
    "SLAB_RECLAIM_ACCOUNT": 0x00020000,
    "SLAB_PANIC": 0x00040000,
    "SLAB_TYPESAFE_BY_RCU": 0x00080000,
    "SLAB_MEM_SPREAD": 0x00100000,
    "SLAB_TRACE": 0x00200000,
    "SLAB_DEBUG_OBJECTS": 0,  # CONFIG_DEBUG_OBJECTS=n (0x00400000)
    "SLAB_NOLEAKTRACE": 0x00800000,
    "SLAB_NO_MERGE": 0x01000000,
    "SLAB_FAILSLAB": 0,  # CONFIG_FAILSLAB=n (0x02000000)
    "SLAB_ACCOUNT": 0,  # CONFIG_MEMCG_KMEM=n (0x04000000)
    "SLAB_KASAN": 0,  # CONFIG_KASAN_GENERIC=n (0x08000000)
    "SLAB_NO_USER_FLAGS": 0x10000000,
    "SLAB_SKIP_KFENCE": 0,  # CONFIG_KFENCE=n (0x20000000)
}

#: include/linux/slab.h of 2.6.24 (lines 21-34).
SLAB_FLAGS_2_6_24: dict[str, int] = {
    "SLAB_DEBUG_FREE": 0x00000100,
    "SLAB_RED_ZONE": 0x00000400,
    "SLAB_POISON": 0x00000800,
    "SLAB_HWCACHE_ALIGN": 0x00002000,
    "SLAB_CACHE_DMA": 0x00004000,
    "SLAB_STORE_USER": 0x00010000,
    "SLAB_RECLAIM_ACCOUNT": 0x00020000,
    "SLAB_PANIC": 0x00040000,
    "SLAB_DESTROY_BY_RCU": 0x00080000,
    "SLAB_MEM_SPREAD": 0x00100000,
    "SLAB_TRACE": 0x00200000,
}

#: include/linux/slab.h of 2.6.11 (lines 36-49); SLAB_DEBUG_FREE, SLAB_DEBUG_INITIAL,
#: SLAB_RED_ZONE and SLAB_POISON act only with CONFIG_DEBUG_SLAB.
SLAB_FLAGS_2_6_11: dict[str, int] = {
    "SLAB_DEBUG_FREE": 0x00000100,
    "SLAB_DEBUG_INITIAL": 0x00000200,
    "SLAB_RED_ZONE": 0x00000400,
    "SLAB_POISON": 0x00000800,
    "SLAB_NO_REAP": 0x00001000,
    "SLAB_HWCACHE_ALIGN": 0x00002000,
    "SLAB_CACHE_DMA": 0x00004000,
    "SLAB_MUST_HWCACHE_ALIGN": 0x00008000,
    "SLAB_STORE_USER": 0x00010000,
    "SLAB_RECLAIM_ACCOUNT": 0x00020000,
    "SLAB_PANIC": 0x00040000,
    "SLAB_DESTROY_BY_RCU": 0x00080000,
}


class SlabFlagSet(FlagSet):
    """The SLAB_* flags of one kernel (``k.slab_flags``)."""

    kind = "slab"

    def __repr__(self) -> str:
        return f"<SlabFlagSet Linux {self.kernel_version} ({len(self.flags)} names)>"

    def translate(self, bits: int, to: SlabFlagSet) -> int:
        """The bits of ``to``'s kernel with the same meaning as ``bits`` of this one, flag by flag
        (by name, through the renames in :data:`SAME_FLAG`); a flag ``to`` has no counterpart of
        is dropped when :data:`SAME_FLAG` maps it to ``""`` (no behaviour there) and refused
        otherwise.  The SLUB model works in 6.18's bits: a kernel's flags enter it this way."""
        if to is self:
            return bits
        out = 0
        left = bits
        for name, v in self.flags.items():
            if not v or v & (v - 1) or not left & v:
                continue
            left &= ~v
            target = SAME_FLAG.get(name, name)
            if target:
                out |= to.mask(target, f"{name}")
        if left:
            raise UsageError(f"SLAB flags {left:#x}: unknown SLAB flags of Linux {self.kernel_version}")
        return out


#: A flag's name in the other kernels (renames), or "" for a flag with nothing to do there.
SAME_FLAG: dict[str, str] = {
    "SLAB_DEBUG_FREE": "SLAB_CONSISTENCY_CHECKS",  # renamed in 4.6
    "SLAB_DESTROY_BY_RCU": "SLAB_TYPESAFE_BY_RCU",  # renamed in 4.12
    "SLAB_MUST_HWCACHE_ALIGN": "SLAB_HWCACHE_ALIGN",  # folded into it in 2.6.22
    "SLAB_DEBUG_INITIAL": "",  # 2.6.11: call the constructor as a verifier (DEBUG_SLAB); gone by 2.6.24
    "SLAB_NO_REAP": "",  # 2.6.11: never reap the cache (a hint); gone by 2.6.24
    "SLAB_MEM_SPREAD": "",  # cpusets' memory spreading; removed in 6.8
}


_6_18 = SlabFlagSet(
    kernel_version="6.18",
    flags={**SLAB_FLAGS_6_18, "SLAB_TEMPORARY": SLAB_FLAGS_6_18["SLAB_RECLAIM_ACCOUNT"]},
    translations={"SLAB_DESTROY_BY_RCU": "SLAB_TYPESAFE_BY_RCU"},  # renamed in 4.12
    history={"SLAB_DEBUG_FREE": "renamed SLAB_CONSISTENCY_CHECKS in 4.6",
             "SLAB_MUST_HWCACHE_ALIGN": "removed in 2.6.22; use SLAB_HWCACHE_ALIGN",
             "SLAB_MEM_SPREAD": "removed in 6.8 (cpusets spread slab pages no more)",
             "SLAB_NO_REAP": "a 2.6.11 hint, gone by 2.6.24",
             "SLAB_DEBUG_INITIAL": "a 2.6.11 debug flag, gone by 2.6.24"},
)
_6_6 = SlabFlagSet(
    kernel_version="6.6",
    flags={**SLAB_FLAGS_6_6, "SLAB_TEMPORARY": SLAB_FLAGS_6_6["SLAB_RECLAIM_ACCOUNT"]},
    translations={"SLAB_DESTROY_BY_RCU": "SLAB_TYPESAFE_BY_RCU"},
    history={**{k: v for k, v in _6_18.history.items() if k != "SLAB_MEM_SPREAD"},
             "SLAB_NO_OBJ_EXT": "added in 6.10 (slab object extensions)"},
)
_NEWER = "not in Linux {v}: added later"
_2_6_24 = SlabFlagSet(
    kernel_version="2.6.24",
    flags={**SLAB_FLAGS_2_6_24, "SLAB_TEMPORARY": SLAB_FLAGS_2_6_24["SLAB_RECLAIM_ACCOUNT"]},
    translations={"SLAB_TYPESAFE_BY_RCU": "SLAB_DESTROY_BY_RCU", "SLAB_CONSISTENCY_CHECKS": "SLAB_DEBUG_FREE",
                  "SLAB_MUST_HWCACHE_ALIGN": "SLAB_HWCACHE_ALIGN"},
    history={**{n: _NEWER.format(v="2.6.24") for n in (*SLAB_FLAGS_6_18, *SLAB_FLAGS_6_6)
                if n not in SLAB_FLAGS_2_6_24},
             "SLAB_NO_REAP": "a 2.6.11 hint, gone by 2.6.24",
             "SLAB_DEBUG_INITIAL": "a 2.6.11 debug flag, gone by 2.6.24"},
)
_2_6_11 = SlabFlagSet(
    kernel_version="2.6.11",
    flags=dict(SLAB_FLAGS_2_6_11),
    translations={"SLAB_TYPESAFE_BY_RCU": "SLAB_DESTROY_BY_RCU", "SLAB_CONSISTENCY_CHECKS": "SLAB_DEBUG_FREE",
                  "SLAB_TEMPORARY": "SLAB_RECLAIM_ACCOUNT"},
    history={n: _NEWER.format(v="2.6.11") for n in (*SLAB_FLAGS_6_18, *SLAB_FLAGS_6_6, *SLAB_FLAGS_2_6_24)
             if n not in SLAB_FLAGS_2_6_11},
)
#: The SLAB_* flags of each kernel version modelled, with that kernel's values.
SLAB_FLAG_SETS: dict[str, SlabFlagSet] = {"6.18": _6_18, "6.6": _6_6, "2.6.24": _2_6_24, "2.6.11": _2_6_11}
#: The set whose bits the SLUB model works in (mm/slub_geometry.py): 6.18's.
ENGINE: SlabFlagSet = _6_18


def for_kernel(version: str) -> SlabFlagSet:
    return SLAB_FLAG_SETS[version]


#: Every symbolic SLAB_* name (kmemsim.SLAB_HWCACHE_ALIGN ...).
SYMBOLS: dict[str, Flags] = {
    n: Flags.name("slab", n)
    for n in [*SLAB_FLAGS_6_18, "SLAB_TEMPORARY", "SLAB_DESTROY_BY_RCU", "SLAB_DEBUG_FREE", "SLAB_MUST_HWCACHE_ALIGN",
              "SLAB_MEM_SPREAD", "SLAB_NO_REAP", "SLAB_DEBUG_INITIAL"]
    if n.startswith("SLAB_")
}
