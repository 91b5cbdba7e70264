"""The machine's own boot steps: start_kernel() up to the page allocator, and mem_init().

The order of the whole boot is :data:`kmemsim.kernel.BOOT`; these are its first and last
steps and their helpers:

    setup_arch()      the firmware map (e820), max_pfn, the lowmem/highmem split, the
                      address layout, memblock reservations (and, booting from a host
                      snapshot, the host's reserved pages per zone)
    mm_core_init()    struct pages for present sections, physical memory, every page
                      free or reserved, waiting for the page allocator
    mem_init()        the "Memory:" line (and on i386 the virtual kernel memory layout)

The machine's kernel log starts with the banner and the command line, as the
kernel's does.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import snapshot as snapmod
from . import units
from .arch import e820 as e820mod
from .arch.base import Arch, MemblockRegion
from .errors import ConfigError
from .mm.memmap import SECTION_PAGES_SHIFT, MemMap
from .mm.page import PG, Owner
from .physmem import PhysMem
from .printk import KERN_NOTICE, KERN_WARNING
from .profiles import DEFAULT_PROFILE, TUNABLES, Profile

if TYPE_CHECKING:  # pragma: no cover
    from .machine import Machine

__all__ = ["setup_arch", "mm_core_init", "mem_init", "check_ram", "from_snapshot", "cmdline"]


def _boot_arch(profile: Profile, e820: list[Any], ram: int, tun: dict[str, Any], zone_movable: bool) -> Arch:
    arch: Arch
    if profile.arch == "x86_64":
        from .arch import x86_64 as mod

        arch = mod.X86_64(mod.setup(e820, ram, profile.nr_cpus, tun, SECTION_PAGES_SHIFT))
    else:
        from .arch import i386 as mod32

        arch = mod32.I386(mod32.setup(e820, ram, profile.nr_cpus, tun, SECTION_PAGES_SHIFT))
    arch.zone_device = profile.zone_device
    arch.zone_movable = zone_movable
    return arch


def setup_arch(m: Machine) -> None:
    """The banner, the firmware map, setup_arch() (max_pfn, lowmem, the layout, memblock)."""
    prof = m.profile
    m.e820 = e820mod.build_e820(prof.arch, m.ram)
    printk_banner(m)
    for line in e820mod.format_e820(m.e820, m.features.e820_mem_format):
        m.printk(line)
    m.arch = _boot_arch(prof, m.e820, m.ram, m.tunables, m.features.zone_movable)
    setup = m.arch.setup
    if m.host is not None:
        host_reservations(m, m.host)
    for line in setup.boot_log:
        level = KERN_WARNING if line.startswith(("Warning", "Use a", "only", "highmem size")) else KERN_NOTICE
        m.printk(line, level)
    m.layout = setup.layout
    m.max_pfn = setup.max_pfn
    m.max_low_pfn = setup.max_low_pfn


def mm_core_init(m: Machine) -> None:
    """Struct pages (memmap_init), physical memory, and every page free or reserved."""
    setup = m.arch.setup
    m.phys = PhysMem(setup.mapped, page_shift=m.page_shift, seed=m.seed, stale=m.tunables["stale_memory"])
    flatmem = m.profile.arch == "i386"  # 2.6 i386: FLATMEM mem_map[]; x86_64: SPARSEMEM_VMEMMAP
    m.memmap = MemMap(setup.present_sections, {"owner": Owner.MANAGED, "mapcount": -1},
                      setup.max_pfn if flatmem else None)
    memmap_free_reserved(m)


def mem_init(m: Machine) -> None:
    """mem_init(): the "Memory:" line; the core invariants; the machine is up at 1.0 s."""
    m.clock.advance(250_000_000)
    print_mem_init(m)
    m.checks.register("memmap", m.check_memmap)
    m.checks.register("physmem", m.check_physmem)
    m.checks.register("layout", m.check_layout)
    m.clock.advance(750_000_000)  # the rest of boot


def check_ram(prof: Profile, ram: int, given: object) -> None:
    if ram < prof.min_ram:
        raise ConfigError(
            f"ram={given!r}: {prof.name} needs at least {units.human(prof.min_ram)} to boot "
            f"(kernel image, struct pages and early allocations)"
        )
    if prof.arch == "x86_64":
        limit = 1 << 46
        if ram > limit - (1 << 30):  # RAM from 4G up must end below MAX_PHYSMEM_BITS
            raise ConfigError(
                f"ram={given!r}: x86_64 with 4-level paging addresses at most 64T of physical "
                f"memory (MAX_PHYSMEM_BITS = 46), less the 1G PCI hole below 4G"
            )
    else:
        if ram > (64 << 30) - (1 << 30):
            raise ConfigError(
                f"ram={given!r}: i386 addresses at most 64G of physical memory (36-bit PAE), "
                f"and this non-PAE profile uses at most 4G of it"
            )
    if ram % prof.page_size:
        raise ConfigError(f"ram={given!r}: RAM size must be a multiple of the page size ({prof.page_size})")


def from_snapshot(host: str, profile: str, ram: Any, cpus: Any,
                  tunables: dict[str, Any]) -> tuple[Any, int, int, dict[str, Any]]:
    """boot(host=DIR): CPUs, RAM and vm sysctls of a host snapshot (kmemsim snapshot)."""
    if profile != DEFAULT_PROFILE:
        raise ConfigError(f"host={host!r}: host snapshots boot {DEFAULT_PROFILE}, not {profile}")
    if ram is not None or cpus is not None:
        raise ConfigError(f"host={host!r}: RAM and CPUs come from the snapshot; do not pass ram= or cpus=")
    snap = snapmod.load(host)
    zones = {z.name: z for z in snap.zones}
    for name in ("DMA", "DMA32", "Normal"):
        if name not in zones:
            raise ConfigError(f"{host}: proc/zoneinfo has no {name} zone; not an x86_64 6.x snapshot")
    normal = zones["Normal"]
    if normal.populated:
        ram_bytes = (3 << 30) + (normal.spanned << 12)
    else:
        d32 = zones["DMA32"]
        ram_bytes = ((d32.start_pfn or 0) + d32.spanned) << 12
    tun = dict(tunables)
    for name in ("min_free_kbytes", "watermark_scale_factor", "lowmem_reserve_ratio", "percpu_pagelist_high_fraction"):
        if name in snap.sysctl:
            tun.setdefault(name, snap.sysctl[name])
    return snap, ram_bytes, len(snap.cpus_online), tun


def host_reservations(m: Machine, snap: Any) -> None:
    """Reserve exactly present - managed pages in each zone, as the snapshot's kernel had
    (early allocations, the kernel image less its freed init sections, and on the
    reference host the not yet initialised pages of lazily deferred memory init).
    The low 1 MiB and the kernel text stay reserved; the rest is placed at the top
    of each zone."""
    s = m.page_shift
    setup = m.arch.setup
    layout = m.arch.zone_layout()
    mem = [(a >> s, b >> s) for a, b in setup.memory]
    new: list[MemblockRegion] = [MemblockRegion(0, 1 << 20, "low 1M (BIOS, real mode trampoline)")]
    text_end = -(-setup.kernel_image["Kernel code"][1] // m.page_size) * m.page_size
    for zi in snap.zones:
        if not zi.populated:
            continue
        z = next((t for t in layout if t[0] == zi.name), None)
        if z is None:
            raise ConfigError(f"{snap.source}: zone {zi.name} has no counterpart in the model")
        _, zs, ze = z
        present = sum(max(0, min(b, ze) - max(a, zs)) for a, b in mem)
        if present != zi.present or ze - zs != zi.spanned:
            raise ConfigError(
                f"{snap.source}: zone {zi.name} spans {zi.spanned} pages with {zi.present} present; "
                f"the model's memory map gives {ze - zs} and {present}"
            )
        need = zi.present - zi.managed
        # already reserved in this zone: the low 1 MiB, then the kernel text
        have = sum(max(0, min(b, ze, 256) - max(a, zs)) for a, b in mem)
        if zi.name == "DMA32" and need - have >= (text_end >> s) - (0x1000000 >> s):
            new.append(MemblockRegion(0x1000000, text_end, "kernel text"))
            have += (text_end - 0x1000000) >> s
        rest = need - have
        if rest < 0:
            raise ConfigError(f"{snap.source}: zone {zi.name} has more managed pages than the model can free")
        # take `rest` pages of memory from the top of the zone
        for a, b in sorted(mem, reverse=True):
            lo, hi = max(a, zs), min(b, ze)
            if rest <= 0 or lo >= hi:
                continue
            take = min(rest, hi - lo)
            new.append(MemblockRegion((hi - take) << s, hi << s, f"host: reserved in {zi.name}"))
            rest -= take
    setup.reserved = new


def printk_banner(m: Machine) -> None:
    p = m.profile
    # init/version.c linux_banner: "Linux version %s (%s@%s) (%s) %s"
    m.printk(f"Linux version {p.release} (kmemsim@kmemsim) ({p.compiler}) {p.uts_version}")
    m.printk(f"Command line: {cmdline(m)}")


def cmdline(m: Machine) -> str:
    """The kernel command line this machine was booted with (boot tunables only)."""
    parts = [f"mem={units.human(m.ram)}"]
    for name, value in sorted(m.tunables.items()):
        t = TUNABLES[name]
        if t.kind == "boot" and value is not None and value != t.default_for(m.profile.name):
            if value is True:
                parts.append(name)
                continue
            parts.append(f"{name}={units.human(value) if isinstance(value, int) else value}")
    return " ".join(parts)


def memmap_free_reserved(m: Machine) -> None:
    """memmap_init() + reserve_bootmem_region() + memblock_free_all(), without a page allocator.

    Holes inside present sections and memblock-reserved ranges become
    PG_reserved with refcount 1; every other page is free (refcount 0),
    waiting for the page allocator that a later part of kmemsim adds.
    """
    mm = m.memmap
    s = m.page_shift
    # Everything present starts as a hole; memory ranges become free; reserved ranges reserved.
    for nr in mm.sections:
        a = nr << SECTION_PAGES_SHIFT
        mm.set_range(a, a + (1 << SECTION_PAGES_SHIFT), owner=Owner.HOLE, flags=PG.reserved, refcount=1)
    for start, end in m.arch.setup.memory:
        mm.set_range(start >> s, end >> s, owner=Owner.MANAGED, flags=0, refcount=0)
    for r in m.arch.setup.reserved:
        a, b = r.start >> s, (r.end + m.page_size - 1) >> s
        for ms, me in m.arch.setup.memory:  # only the part that is memory
            lo, hi = max(a, ms >> s), min(b, me >> s)
            if lo < hi:
                mm.set_range(lo, hi, owner=Owner.RESERVED, flags=PG.reserved, refcount=1)


def print_mem_init(m: Machine) -> None:
    counts = m.memmap.count("owner")
    free = m.pages.nr_free_pages()
    reserved = counts.get(Owner.RESERVED, 0)
    K = m.page_size // 1024
    img = m.arch.setup.kernel_image
    size_k = {name: (b - a) // 1024 for name, (a, b) in img.items()}
    if m.profile.arch == "i386":
        lay = m.layout
        # 2.6.24 arch/x86/mm/init_32.c: mem_init(); reservedpages counts PageReserved lowmem
        high_k = sum(z.managed_pages for z in m.page_alloc.zones if z.name == "HighMem") * K
        m.printk(
            f"Memory: {free * K}k/{m.max_pfn * K}k available ({size_k['Kernel code']}k kernel code, "
            f"{m.memmap.count('flags', 0, m.max_low_pfn).get(PG.reserved, 0) * K}k reserved, "
            f"{size_k['Kernel data']}k data, {size_k['Kernel init']}k init, {high_k}k highmem)"
        )
        tx, dt, it = img["Kernel code"], img["Kernel data"], img["Kernel init"]
        po = lay.page_offset
        assert lay.pkmap_base is not None and lay.last_pkmap is not None  # every i386 layout has pkmap
        pkmap_end = lay.pkmap_base + lay.last_pkmap * m.page_size
        m.printk("virtual kernel memory layout:")
        rows = [
            ("fixmap ", lay.fixaddr_start, lay.fixaddr_top, "kB", 10),
            ("pkmap  ", lay.pkmap_base, pkmap_end, "kB", 10),
            ("vmalloc", lay.vmalloc_start, lay.vmalloc_end, "MB", 20),
            ("lowmem ", po, lay.high_memory, "MB", 20),
            ("  .init", po + it[0], po + it[1], "kB", 10),
            ("  .data", po + dt[0], po + dt[1], "kB", 10),
            ("  .text", po + tx[0], po + tx[1], "kB", 10),
        ]
        for name, a, b, unit, shift in rows:
            m.printk(f"  {name:>9} : 0x{a:08x} - 0x{b:08x}   ({(b - a) >> shift:4d} {unit})")
    else:
        # 6.18 mm/mm_init.c: mem_init_print_info()
        present = sum(counts.get(o, 0) for o in (Owner.MANAGED, Owner.RESERVED))
        m.printk(
            f"Memory: {free * K}K/{present * K}K available ({size_k['Kernel code']}K kernel code, "
            f"{size_k['Kernel data']}K rwdata, {size_k['Kernel rodata']}K rodata, 3728K init, "
            f"{size_k['Kernel bss']}K bss, {reserved * K}K reserved, 0K cma-reserved)"
        )


def memmap_boot_pages(m: Machine) -> int:
    """Pages of struct page arrays allocated at boot (NR_MEMMAP_BOOT_PAGES)."""
    s = m.page_shift
    return sum((r.end - r.start) >> s for r in m.arch.setup.reserved if "struct page" in r.name)
