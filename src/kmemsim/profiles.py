"""Machine profiles and the one table of tunables.

A *profile* names a kernel version on an architecture (``linux-6.18-x86_64``,
``linux-6.6-x86_64``, ``linux-2.6.24-i386``, ``linux-2.6.11-i386``); a profile may have
aliases (``linux-2.6-i386`` is ``linux-2.6.24-i386``), which boot the same profile.  It
fixes everything the kernel fixes at build time (page size, NR_CPUS, HZ, the address-space
constants) and gives the defaults of everything the user may change at boot.  Every such knob is a *tunable*,
listed once in :data:`TUNABLES` with its kernel name, its kind and the profiles
it applies to.  ``kmemsim.boot(profile, ram=..., cpus=..., **tunables)`` takes
them as keyword arguments; ``docs/profiles.md`` is generated from this table
(see ``kmemsim profiles``).

Kinds of tunable:

* ``boot``   -- a kernel command-line parameter (``vmalloc=``, ``highmem=``),
* ``sysctl`` -- a /proc/sys value (set at boot here; later issues let them change),
* ``config`` -- a Kconfig choice the profile's kernel could have been built with,
* ``model``  -- a choice of the model itself, with no kernel counterpart.

A tunable is added here by the part of kmemsim that makes it do something; an
unknown name is an error that lists the names the profile accepts.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import ConfigError
from .fault_attr import parse_setup_fault_attr
from .records import FrozenRecord
from .units import memparse


class Profile(FrozenRecord):
    """What a kernel build fixes: version, architecture and its constants."""

    __match_args__ = ("name", "kernel_version", "release", "arch", "page_shift", "nr_cpus", "hz", "default_ram",
                       "default_cpus", "min_ram", "description", "compiler", "uts_version", "aliases", "zone_device",
                       "kernel_image", "kernel_end")
    name: str
    kernel_version: str  # "6.18", "2.6.24"
    release: str  # the `uname -r` string the machine reports
    arch: str  # "x86_64" | "i386"
    page_shift: int
    nr_cpus: int  # CONFIG_NR_CPUS: most CPUs the kernel supports
    hz: int  # CONFIG_HZ
    default_ram: str
    default_cpus: int
    min_ram: int  # less than this cannot hold the kernel and boot
    description: str
    compiler: str = "kmemsim"  # LINUX_COMPILER, in the banner
    uts_version: str = "#1 SMP PREEMPT_DYNAMIC"  # UTS_VERSION: "#1 SMP" and the preemption model
    aliases: tuple[str, ...] = ()  # other names boot() accepts for this profile
    zone_device: bool = True  # CONFIG_ZONE_DEVICE (x86_64): an empty ZONE_DEVICE after Movable
    #: the kernel image's sections (physical [start, end)) and its _end, when the profile has its
    #: own build (the captures' System.map); None: the architecture's typical image
    kernel_image: tuple[tuple[str, int, int], ...] | None = None
    kernel_end: int = 0

    def __init__(self, name: str, kernel_version: str, release: str, arch: str, page_shift: int, nr_cpus: int, hz: int,
                 default_ram: str, default_cpus: int, min_ram: int, description: str, compiler: str = "kmemsim",
                 uts_version: str = "#1 SMP PREEMPT_DYNAMIC", aliases: tuple[str, ...] = (), zone_device: bool = True,
                 kernel_image: tuple[tuple[str, int, int], ...] | None = None, kernel_end: int = 0) -> None:
        vars(self).update(name=name, kernel_version=kernel_version, release=release, arch=arch, page_shift=page_shift,
                          nr_cpus=nr_cpus, hz=hz, default_ram=default_ram, default_cpus=default_cpus, min_ram=min_ram,
                          description=description, compiler=compiler, uts_version=uts_version, aliases=aliases,
                          zone_device=zone_device, kernel_image=kernel_image, kernel_end=kernel_end)

    @property
    def page_size(self) -> int:
        return 1 << self.page_shift

    @property
    def bits(self) -> int:
        return 64 if self.arch == "x86_64" else 32


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="linux-6.18-x86_64",
            kernel_version="6.18",
            release="6.18.0-kmemsim",
            arch="x86_64",
            page_shift=12,
            nr_cpus=256,
            hz=250,
            default_ram="1G",
            default_cpus=2,
            min_ram=128 << 20,
            description="Linux 6.18 on x86_64, 4-level paging, SPARSEMEM_VMEMMAP, no KASLR "
            "(the config of the reference host: NR_CPUS=256, HZ=250)",
        ),
        Profile(
            name="linux-6.6-x86_64",
            kernel_version="6.6",
            release="6.6.57-kmemsim",
            arch="x86_64",
            page_shift=12,
            nr_cpus=64,
            hz=250,
            default_ram="1G",
            default_cpus=2,
            min_ram=128 << 20,
            description="Linux 6.6 (the 6.6.57 stable release) on x86_64, 4-level paging, no KASLR, no "
            "ZONE_DEVICE (the QEMU captures' config, allnoconfig + SMP: NR_CPUS=64, HZ=250); the address "
            "layout is 6.18's SPARSEMEM_VMEMMAP one",
            zone_device=False,
            # the 6.6-slub build of tests/data/classic (System.map, /proc/iomem)
            kernel_image=(("Kernel code", 0x1000000, 0x1600000), ("Kernel rodata", 0x1600000, 0x1696000),
                          ("Kernel data", 0x1800000, 0x18A4700), ("Kernel init", 0x19B7000, 0x1A72000),
                          ("Kernel bss", 0x1A75000, 0x1C00000)),
            kernel_end=0x1C26000,
        ),
        Profile(
            name="linux-2.6.24-i386",
            kernel_version="2.6.24",
            release="2.6.24-kmemsim",
            arch="i386",
            page_shift=12,
            nr_cpus=8,
            hz=250,
            default_ram="1G",
            default_cpus=2,
            min_ram=16 << 20,
            description="Linux 2.6.24 on i386, 3G/1G split, HIGHMEM4G (2-level, non-PAE page "
            "tables), FLATMEM (the QEMU captures' config: NR_CPUS=8, HZ=250)",
            compiler="gcc version 4.1.2",
            uts_version="#1 SMP",
            aliases=("linux-2.6-i386",),
            # the 2.6.24-slub build of tests/data/classic (SLUB is 2.6.24's default; System.map:
            # _text, _etext, _edata, __init_begin, __init_end = __bss_start, _end)
            kernel_image=(("Kernel code", 0x100000, 0x1D75BC), ("Kernel data", 0x1D75BC, 0x259BC8),
                          ("Kernel init", 0x25E000, 0x282000), ("Kernel bss", 0x282000, 0x29C28C)),
            kernel_end=0x29D000,
        ),
        Profile(
            name="linux-2.6.11-i386",
            kernel_version="2.6.11",
            release="2.6.11-kmemsim",
            arch="i386",
            page_shift=12,
            nr_cpus=8,
            hz=1000,
            default_ram="1G",
            default_cpus=2,
            min_ram=16 << 20,
            description="Linux 2.6.11 on i386, 3G/1G split, HIGHMEM4G, FLATMEM: the kernel of the classic "
            "books (NR_CPUS=8; HZ is 1000, fixed on 2.6.11 i386); until SLAB arrives it runs SLUB, "
            "which 2.6.11 did not have",
            compiler="gcc version 3.4.3",
            uts_version="#1 SMP",
            # the 2.6.11-slab build of tests/data/classic (System.map: _text, _etext, _edata,
            # __init_begin, __init_end, __bss_start, _end)
            kernel_image=(("Kernel code", 0x100000, 0x1C831E), ("Kernel data", 0x1C831E, 0x2270E4),
                          ("Kernel init", 0x22A000, 0x251000), ("Kernel bss", 0x251000, 0x26D828)),
            kernel_end=0x26E000,
        ),
    )
}

#: Other names of a profile (kept working; ``kmemsim profiles`` and docs/profiles.md list them):
#: ``linux-2.6-i386`` was the 2.6.24 profile's name before there were two 2.6 kernels.
PROFILE_ALIASES: dict[str, str] = {a: p.name for p in PROFILES.values() for a in p.aliases}

DEFAULT_PROFILE = "linux-6.18-x86_64"


def profile_names() -> list[str]:
    """Every name ``boot()`` accepts: the profiles and their aliases, sorted."""
    return sorted([*PROFILES, *PROFILE_ALIASES])


def canonical_name(name: str) -> str:
    """The profile's own name for ``name`` (an alias resolves to its profile); unknown names
    raise :class:`ConfigError`."""
    return get_profile(name).name


def get_profile(name: str) -> Profile:
    if isinstance(name, str):
        p = PROFILES.get(PROFILE_ALIASES.get(name, name))
        if p is not None:
            return p
    known = ", ".join(f"{n} (= {PROFILE_ALIASES[n]})" if n in PROFILE_ALIASES else n for n in profile_names())
    raise ConfigError(f"unknown profile {name!r}; known profiles: {known}")


# --------------------------------------------------------------------------- tunables


def _bool(name: str) -> Callable[[Any], bool]:
    def parse(v: Any) -> bool:
        if isinstance(v, bool):
            return v
        if isinstance(v, int) and v in (0, 1):
            return bool(v)
        if isinstance(v, str) and v.lower() in {"1", "y", "yes", "on", "true"}:
            return True
        if isinstance(v, str) and v.lower() in {"0", "n", "no", "off", "false"}:
            return False
        raise ConfigError(f"tunable {name}: expected a boolean (1/0, on/off, y/n), got {v!r}")

    return parse


def _size(name: str) -> Callable[[Any], int]:
    return lambda v: memparse(v, f"tunable {name}")


def _opt_size(name: str) -> Callable[[Any], int | None]:
    return lambda v: None if v is None else memparse(v, f"tunable {name}")


def _opt_int(name: str, lo: int, hi: int) -> Callable[[Any], int | None]:
    def parse(v: Any) -> int | None:
        if v is None:
            return None
        return _int(name, lo, hi)(v)

    return parse


def _int(name: str, lo: int, hi: int) -> Callable[[Any], int]:
    def parse(v: Any) -> int:
        if isinstance(v, str) and v.strip().lstrip("-").isdigit():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ConfigError(f"tunable {name}: expected an integer from {lo} to {hi}, got {v!r}")
        return v

    return parse


def _int_list(name: str) -> Callable[[Any], list[int]]:
    def parse(v: Any) -> list[int]:
        items = v.split() if isinstance(v, str) else v
        try:
            out = [int(x) for x in items]
        except (TypeError, ValueError):
            raise ConfigError(f"tunable {name}: expected integers like '256 256 32 0 0', got {v!r}") from None
        if any(x < 0 for x in out):
            raise ConfigError(f"tunable {name}: values must not be negative, got {v!r}")
        return out

    return parse


def _opt_str(name: str) -> Callable[[Any], str | None]:
    def parse(v: Any) -> str | None:
        if v is None or isinstance(v, str):
            return v
        raise ConfigError(f"tunable {name}: expected a string, got {v!r}")

    return parse


def _fault_attr(name: str) -> Callable[[Any], str | None]:
    def parse(v: Any) -> str | None:
        if v is None:
            return None
        return parse_setup_fault_attr(name, v)

    return parse


def _opt_choice(name: str, choices: tuple[str, ...]) -> Callable[[Any], str | None]:
    def parse(v: Any) -> str | None:
        if v is None:
            return None
        return _choice(name, choices)(v)

    return parse


def _choice(name: str, choices: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(v: Any) -> str:
        if isinstance(v, str) and v in choices:
            return v
        raise ConfigError(f"tunable {name}: expected one of {', '.join(choices)}, got {v!r}")

    return parse


class Tunable(FrozenRecord):
    __match_args__ = ("name", "kind", "default", "parse", "doc", "profiles", "follows", "profile_defaults", "aliases")
    name: str
    kind: str  # boot | sysctl | config | model
    default: Any
    parse: Callable[[Any], Any]
    doc: str
    profiles: frozenset[str]
    follows: str = ""  # the kernel source that defines it
    profile_defaults: dict[str, Any]
    aliases: tuple[str, ...] = ()  # other spellings the kernel accepts (slub_debug for slab_debug)

    def __init__(self, name: str, kind: str, default: Any, parse: Callable[[Any], Any], doc: str,
                 profiles: frozenset[str] | None = None, follows: str = "",
                 profile_defaults: dict[str, Any] | None = None, aliases: tuple[str, ...] = ()) -> None:
        vars(self).update(name=name, kind=kind, default=default, parse=parse, doc=doc,
                          profiles=frozenset(PROFILES) if profiles is None else profiles, follows=follows,
                          profile_defaults={} if profile_defaults is None else profile_defaults, aliases=aliases)

    def default_for(self, profile: str) -> Any:
        return self.profile_defaults.get(profile, self.default)


#: Every knob of every profile.  Keep it sorted by name.
TUNABLES: dict[str, Tunable] = {
    t.name: t
    for t in (
        Tunable(
            "debug_atomic_sleep",
            "config",
            True,
            _bool("debug_atomic_sleep"),
            "CONFIG_DEBUG_ATOMIC_SLEEP: might_sleep() in atomic context prints \"BUG: sleeping "
            "function called from invalid context\" (at most once a second). On by default for "
            "teaching; the reference host has it off (then only a real sleep is reported).",
            follows="kernel/sched/core.c: __might_resched()",
        ),
        Tunable(
            "debug_slab",
            "config",
            False,
            _bool("debug_slab"),
            "CONFIG_DEBUG_SLAB: SLAB's debugging (FORCED_DEBUG): red zones (RED_INACTIVE/RED_ACTIVE), poisoning "
            "and the last user on every cache where they fit, the checks on alloc and free and their reports, "
            "limits capped at 32, /proc/slabinfo with statistics.  Only with slab_allocator=slab (SLUB's is "
            "slab_debug=).",
            follows="mm/slab.c: #ifdef CONFIG_DEBUG_SLAB (DEBUG, STATS, FORCED_DEBUG)",
        ),
        Tunable(
            "debug_virtual",
            "config",
            False,
            _bool("debug_virtual"),
            "CONFIG_DEBUG_VIRTUAL: __pa()/virt_to_phys() of an address outside the direct "
            "map or kernel image is a kernel BUG instead of a silent wrong answer.",
            frozenset({"linux-6.18-x86_64"}),
            "arch/x86/mm/physaddr.c",
        ),
        Tunable(
            "dirty_background_bytes",
            "sysctl",
            0,
            _int("dirty_background_bytes", 0, 1 << 62),
            "vm.dirty_background_bytes: when not 0, the background writeback threshold in bytes "
            "(/proc/vmstat nr_dirty_background_threshold), instead of dirty_background_ratio.",
            frozenset({"linux-6.18-x86_64", "linux-6.6-x86_64"}),
            "mm/page-writeback.c: domain_dirty_limits()",
        ),
        Tunable(
            "dirty_background_ratio",
            "sysctl",
            10,
            _int("dirty_background_ratio", 0, 100),
            "vm.dirty_background_ratio: the background writeback threshold in percent of the "
            "dirtyable memory (free pages above the reserves, plus the file LRU pages).",
            frozenset({"linux-6.18-x86_64", "linux-6.6-x86_64"}),
            "mm/page-writeback.c: domain_dirty_limits(), global_dirtyable_memory()",
        ),
        Tunable(
            "dirty_bytes",
            "sysctl",
            0,
            _int("dirty_bytes", 0, 1 << 62),
            "vm.dirty_bytes: when not 0, the dirty throttling threshold in bytes (/proc/vmstat "
            "nr_dirty_threshold), instead of dirty_ratio.",
            frozenset({"linux-6.18-x86_64", "linux-6.6-x86_64"}),
            "mm/page-writeback.c: domain_dirty_limits()",
        ),
        Tunable(
            "dirty_ratio",
            "sysctl",
            20,
            _int("dirty_ratio", 0, 100),
            "vm.dirty_ratio: the dirty throttling threshold in percent of the dirtyable memory.",
            frozenset({"linux-6.18-x86_64", "linux-6.6-x86_64"}),
            "mm/page-writeback.c: domain_dirty_limits(), global_dirtyable_memory()",
        ),
        Tunable(
            "e820",
            "model",
            "default",
            _choice("e820", ("default", "qemu")),
            "The firmware's memory map: `default` is the profile's (a PC BIOS on i386, the reference "
            "host's Firecracker on x86_64); `qemu` is QEMU's pc machine with SeaBIOS, as the classic "
            "kernels were captured (tests/data/classic): the top 128 KiB of low RAM reserved, so 1 GiB "
            "gives 262112 usable pages.",
            follows="arch/x86/kernel/e820.c: the BIOS-provided physical RAM map",
        ),
        Tunable(
            "fail_page_alloc",
            "boot",
            None,
            _fault_attr("fail_page_alloc"),
            "`fail_page_alloc=<interval>,<probability>,<space>,<times>`: fault injection for the page "
            "allocator from boot (the other knobs, min-order 1 and ignore-gfp-wait/highmem Y, stay "
            "at their defaults; /sys/kernel/debug/fail_page_alloc/ changes them later).  2.6.11 had no "
            "fault injection (2.6.20).",
            frozenset({"linux-6.18-x86_64", "linux-6.6-x86_64", "linux-2.6.24-i386"}),
            follows="lib/fault-inject.c: setup_fault_attr(); mm/fail_page_alloc.c",
        ),
        Tunable(
            "failslab",
            "boot",
            None,
            _fault_attr("failslab"),
            "`failslab=<interval>,<probability>,<space>,<times>`: fault injection for slab "
            "allocations from boot (ignore-gfp-wait stays Y: blocking allocations are spared; "
            "/sys/kernel/debug/failslab/ changes it).  2.6.24's SLUB had no failslab.",
            frozenset({"linux-6.18-x86_64", "linux-6.6-x86_64"}),
            "lib/fault-inject.c: setup_fault_attr(); mm/failslab.c",
        ),
        Tunable(
            "highmem",
            "boot",
            None,
            _opt_size("highmem"),
            "highmem=SIZE: force this much of RAM into ZONE_HIGHMEM even when it would fit "
            "in lowmem (ignored with the kernel's message if it leaves < 64 MB lowmem).",
            frozenset({"linux-2.6.24-i386", "linux-2.6.11-i386"}),
            "arch/x86/kernel/setup_32.c: find_max_low_pfn() (2.6.11: arch/i386/kernel/setup.c)",
        ),
        Tunable(
            "lowmem_reserve_ratio",
            "sysctl",
            [256, 256, 32, 0, 0],
            _int_list("lowmem_reserve_ratio"),
            "vm.lowmem_reserve_ratio: per zone, the divisor of the pages of higher zones that a "
            "lower zone keeps back from allocations that could have used the higher zone "
            "(2.6.24: DMA, Normal, HighMem, default 256 32 32, values below 1 count as 1; 2.6.11: DMA, "
            "Normal, 256 32; 6.6 without ZONE_DEVICE: 256 256 32 0).",
            follows="mm/page_alloc.c: setup_per_zone_lowmem_reserve(), sysctl_lowmem_reserve_ratio[] (2.6.24 "
            "line 89, 2.6.11 line 55, 6.6 line 243)",
            profile_defaults={"linux-6.6-x86_64": [256, 256, 32, 0], "linux-2.6.24-i386": [256, 32, 32],
                              "linux-2.6.11-i386": [256, 32]},
        ),
        Tunable(
            "min_free_kbytes",
            "sysctl",
            None,
            _opt_int("min_free_kbytes", 0, 1 << 40),
            "vm.min_free_kbytes: the pages every zone's min watermark is carved from; by default "
            "computed as the kernel does (4*sqrt(lowmem kB), then khugepaged's THP recommendation).",
            follows="mm/page_alloc.c: calculate_min_free_kbytes(); mm/khugepaged.c",
        ),
        Tunable(
            "percpu_pagelist_high_fraction",
            "sysctl",
            0,
            _int("percpu_pagelist_high_fraction", 0, 1 << 30),
            "vm.percpu_pagelist_high_fraction: 0 lets pcp->high float between high_min (the low "
            "watermark / CPUs) and high_max (managed/8/CPUs); N >= 8 pins both to managed/N/CPUs.  6.6 "
            "(before 6.7's auto-tuning): 0 fixes high at the low watermark / CPUs.",
            frozenset({"linux-6.18-x86_64", "linux-6.6-x86_64"}),
            "mm/page_alloc.c: zone_highsize()",
        ),
        Tunable(
            "slab_allocator",
            "config",
            None,
            _opt_choice("slab_allocator", ("slab", "slub", "slob")),
            "The slab allocator the kernel was built with (the Kconfig choice CONFIG_SLAB / CONFIG_SLUB / "
            "CONFIG_SLOB); unset: the kernel's default (SLUB from 2.6.23, SLAB before).  Refused on a kernel "
            "that did not offer it: 2.6.11 has SLAB only, 2.6.24 SLAB, SLUB and SLOB, 6.6 SLAB and SLUB, 6.18 "
            "SLUB only (kmemsim features: slab_allocator_*).",
            follows="init/Kconfig: choice \"Choose SLAB allocator\"; mm/slab.c, mm/slub.c, mm/slob.c",
        ),
        Tunable(
            "slab_debug",
            "boot",
            None,
            _opt_str("slab_debug"),
            "slab_debug=[options][,caches][;...] (also slub_debug=): F sanity checks, Z red zones, "
            "P poisoning, U user tracking, T trace, A failslab, O no debug for higher orders, - off; "
            "\"\" is everything: the debug layouts, the checks on alloc and free, and the kernel's reports.",
            follows="mm/slub.c: setup_slub_debug(), kmem_cache_flags()",
            aliases=("slub_debug",),
        ),
        Tunable(
            "slab_freelist_hardened",
            "config",
            True,
            _bool("slab_freelist_hardened"),
            "CONFIG_SLAB_FREELIST_HARDENED: free pointers stored as ptr ^ s->random ^ swab(&ptr), "
            "and a naive double-free check in set_freepointer().",
            profile_defaults={"linux-6.6-x86_64": False, "linux-2.6.24-i386": False, "linux-2.6.11-i386": False},
            follows="mm/slub.c: freelist_ptr_encode()",
        ),
        Tunable(
            "slab_freelist_random",
            "config",
            True,
            _bool("slab_freelist_random"),
            "CONFIG_SLAB_FREELIST_RANDOM: a new slab's free list is a random permutation of its objects.",
            profile_defaults={"linux-6.6-x86_64": False, "linux-2.6.24-i386": False, "linux-2.6.11-i386": False},
            follows="mm/slub.c: shuffle_freelist()",
        ),
        Tunable(
            "slab_nomerge",
            "boot",
            False,
            _bool("slab_nomerge"),
            "slab_nomerge: never merge compatible caches (each kmem_cache_create gets its own cache).  "
            "On by default on 6.6, whose captures' config has SLAB_MERGE_DEFAULT off.",
            follows="mm/slab_common.c: find_mergeable()",
            profile_defaults={"linux-6.6-x86_64": True},
        ),
        Tunable(
            "slub_max_order",
            "boot",
            3,
            _int("slub_max_order", 0, 10),
            "slub_max_order= (also slab_max_order=): the largest slab order SLUB picks (PAGE_ALLOC_COSTLY_ORDER; "
            "2.6.24: DEFAULT_MAX_ORDER 1 with 4 KiB pages).",
            follows="mm/slub.c: calculate_order()",
            aliases=("slab_max_order",),
            profile_defaults={"linux-2.6.24-i386": 1},
        ),
        Tunable(
            "slub_min_objects",
            "boot",
            0,
            _int("slub_min_objects", 0, 32767),
            "slub_min_objects= (also slab_min_objects=): objects a slab should hold at least; "
            "0 means 4 * (fls(nr_cpus) + 1) (2.6.24: DEFAULT_MIN_OBJECTS 4 with 4 KiB pages).",
            follows="mm/slub.c: calculate_order()",
            aliases=("slab_min_objects",),
            profile_defaults={"linux-2.6.24-i386": 4},
        ),
        Tunable(
            "slub_min_order",
            "boot",
            0,
            _int("slub_min_order", 0, 10),
            "slub_min_order= (also slab_min_order=): the smallest slab order.",
            follows="mm/slub.c: calculate_order()",
            aliases=("slab_min_order",),
        ),
        Tunable(
            "stale_memory",
            "model",
            True,
            _bool("stale_memory"),
            "Untouched physical memory holds deterministic stale bytes (as RAM does after "
            "earlier use), so kmalloc and kzalloc differ visibly; off: it reads as zeros.",
        ),
        Tunable(
            "transparent_hugepage",
            "boot",
            "madvise",
            _choice("transparent_hugepage", ("always", "madvise", "never")),
            "transparent_hugepage=: with THP on, khugepaged raises min_free_kbytes to keep "
            "pageblocks free (the reference host: madvise).",
            frozenset({"linux-6.18-x86_64"}),
            "mm/khugepaged.c: set_recommended_min_free_kbytes()",
        ),
        Tunable(
            "vmalloc",
            "boot",
            None,
            _opt_size("vmalloc"),
            "vmalloc=SIZE: __VMALLOC_RESERVE, the address space kept above lowmem for the "
            "8 MB gap, vmalloc, pkmap and fixmap (default 128M); lowmem = 4G - PAGE_OFFSET - SIZE.",
            frozenset({"linux-2.6.24-i386", "linux-2.6.11-i386"}),
            "arch/x86/kernel/setup_32.c: parse_vmalloc() (2.6.11: arch/i386/kernel/setup.c)",
        ),
        Tunable(
            "watermark_boost_factor",
            "sysctl",
            15000,
            _int("watermark_boost_factor", 0, 1 << 30),
            "vm.watermark_boost_factor: how far (in 1/10000 of the high watermark) a fragmenting "
            "fallback boosts the watermarks; 0 disables boosting.",
            frozenset({"linux-6.18-x86_64", "linux-6.6-x86_64"}),
            "mm/page_alloc.c: boost_watermark()",
        ),
        Tunable(
            "watermark_scale_factor",
            "sysctl",
            10,
            _int("watermark_scale_factor", 1, 3000),
            "vm.watermark_scale_factor: the gap between min, low, high and promo in 1/10000 of "
            "the zone's managed pages (at least a quarter of min).",
            frozenset({"linux-6.18-x86_64", "linux-6.6-x86_64"}),
            "mm/page_alloc.c: __setup_per_zone_wmarks()",
        ),
        Tunable(
            "vmsplit",
            "config",
            "3G",
            _choice("vmsplit", ("3G", "3G_OPT", "2G", "2G_OPT", "1G")),
            "CONFIG_VMSPLIT_*: user/kernel split of the 4 GB address space; PAGE_OFFSET is "
            "0xC0000000 (3G), 0xB0000000 (3G_OPT), 0x80000000 (2G), 0x78000000 (2G_OPT) "
            "or 0x40000000 (1G).  (2.6.11 had no choice: PAGE_OFFSET 0xC0000000, include/asm-i386/page.h:125.)",
            frozenset({"linux-2.6.24-i386"}),
            "arch/x86/Kconfig: PAGE_OFFSET",
        ),
    )
}


def resolve_tunables(profile: Profile, given: dict[str, Any]) -> dict[str, Any]:
    """Defaults of ``profile`` overridden by ``given``, each parsed and checked."""
    known = {n: t for n, t in TUNABLES.items() if profile.name in t.profiles}
    alias = {a: t.name for t in known.values() for a in t.aliases}
    out: dict[str, Any] = {}
    for name, value in given.items():
        name = alias.get(name, name)
        if name not in known:
            hint = ""
            if name in TUNABLES:
                hint = f" (it applies to {', '.join(sorted(TUNABLES[name].profiles))})"
            raise ConfigError(
                f"unknown tunable {name!r} for profile {profile.name}{hint}; known: "
                f"{', '.join(sorted(known)) or 'none'}"
            )
        out[name] = known[name].parse(value)
    for name, t in known.items():
        out.setdefault(name, t.default_for(profile.name))
    return out


def tunable_table() -> str:
    """The tunable table as Markdown (docs/profiles.md embeds it)."""
    rows = ["| tunable | kind | default | profiles | meaning |", "|---|---|---|---|---|"]
    for t in sorted(TUNABLES.values(), key=lambda t: t.name):
        profs = "all" if t.profiles == frozenset(PROFILES) else ", ".join(sorted(t.profiles))
        default = f"`{t.default!r}`" + "".join(f"; {p}: `{v!r}`" for p, v in t.profile_defaults.items())
        rows.append(f"| `{t.name}` | {t.kind} | {default} | {profs} | {t.doc} |")
    return "\n".join(rows)
