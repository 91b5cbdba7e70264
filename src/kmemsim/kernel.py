"""The machine: one ``Kernel`` object holds all of a booted model's state.

``kmemsim.boot()`` builds one; nothing lives in module globals, so machines
can run side by side.  Boot follows the kernel's order (start_kernel):

    profile + tunables          -> what was built and what was passed on the command line
    e820                        -> the firmware's memory map
    setup_arch()                -> max_pfn, lowmem/highmem split, address layout, memblock
    memmap                      -> struct pages for present sections (uniform, lazy)
    physical memory             -> sparse real bytes
    mem_init()                  -> reserved pages marked, the rest free; "Memory:" line

Each subsystem that a later part adds (page allocator, slab, vmalloc ...) hooks
in here and registers its invariants with :meth:`Kernel.register_check`.

The on_bug policy
-----------------
``on_bug="raise"`` (default): a report the kernel prints as a BUG, oops or
detected corruption goes to dmesg and then raises :class:`KernelBug`.
``on_bug="report"``: the machine carries on as a real kernel does after the
report.  An oops still raises :class:`Oops` in both modes, because the kernel
kills the task that faulted and the Python caller *is* that task; the machine
itself stays usable, tainted ``D`` (the next oops is ``[#2]``).
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from . import units
from .arch import e820 as e820mod
from .arch.base import Arch
from .errors import ConfigError, InvariantError, KernelBug, KmemsimError, Oops, UsageError
from .layout import Layout
from .mm.memmap import SECTION_PAGES_SHIFT, MemMap
from .mm.page import PG, Owner, Page
from .physmem import PhysMem
from .printk import KERN_ALERT, KERN_INFO, KERN_NOTICE, KERN_WARNING, Clock, LogBuffer
from .profiles import DEFAULT_PROFILE, Profile, get_profile, resolve_tunables
from .sched import Task  # noqa: F401 - kmemsim.kernel.Task is the task_struct

NULL = 0
ZERO_SIZE_PTR = 16
_SECTION_MASK = (1 << SECTION_PAGES_SHIFT) - 1

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True)
class CPU:
    id: int


def _boot_arch(profile: Profile, e820: list, ram: int, tun: dict) -> Arch:
    if profile.arch == "x86_64":
        from .arch import x86_64 as mod

        return mod.X86_64(mod.setup(e820, ram, profile.nr_cpus, tun, SECTION_PAGES_SHIFT))
    from .arch import i386 as mod32

    return mod32.I386(mod32.setup(e820, ram, profile.nr_cpus, tun, SECTION_PAGES_SHIFT))


class Kernel:
    """A booted machine.  Make one with :func:`kmemsim.boot`."""

    def __init__(
        self,
        profile: str = DEFAULT_PROFILE,
        ram: str | int | None = None,
        cpus: int | None = None,
        *,
        seed: int = 0,
        on_bug: str = "raise",
        host: str | None = None,
        **tunables: Any,
    ):
        snap = None
        if host is not None:
            snap, ram, cpus, tunables = self._from_snapshot(host, profile, ram, cpus, tunables)
        prof = get_profile(profile)
        tun = resolve_tunables(prof, tunables)
        ram_bytes = units.memparse(prof.default_ram if ram is None else ram, "ram")
        ncpu = prof.default_cpus if cpus is None else cpus
        if isinstance(ncpu, bool) or not isinstance(ncpu, int) or not 1 <= ncpu <= prof.nr_cpus:
            raise ConfigError(f"cpus={ncpu!r}: {prof.name} supports 1 to {prof.nr_cpus} CPUs (NR_CPUS)")
        if on_bug not in ("raise", "report"):
            raise ConfigError(f"on_bug={on_bug!r}: expected 'raise' or 'report'")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed={seed!r}: expected an integer")
        self._check_ram(prof, ram_bytes, ram)

        self.profile = prof
        self.tunables = tun
        self.ram = ram_bytes
        self.seed = seed
        self.on_bug = on_bug
        self.page_shift = prof.page_shift
        self.page_size = prof.page_size

        self.clock = Clock()
        self.log = LogBuffer(self.clock)
        self.cpus: tuple[CPU, ...] = tuple(CPU(i) for i in range(ncpu))
        self._cpu = 0
        self.current = Task(pid=1000, comm="insmod")
        self.die_counter = 0
        self.taint: set[str] = set()
        self._checks: list[tuple[str, Callable[[], None]]] = []
        self._node_stats: dict[str, Callable[[], int]] = {}
        self._fastpaths: dict[str, Callable] = {}  # the fast paths fastpath_suspend() takes away
        self._fast_off: set[str] = set()

        self.e820 = e820mod.build_e820(prof.arch, ram_bytes)
        self._printk_banner()
        for line in e820mod.format_e820(self.e820, prof.kernel_version):
            self.printk(line)
        self.arch = _boot_arch(prof, self.e820, ram_bytes, tun)
        setup = self.arch.setup
        self.host = snap
        if snap is not None:
            self._host_reservations(snap)
        for line in setup.boot_log:
            level = KERN_WARNING if line.startswith(("Warning", "Use a", "only", "highmem size")) else KERN_NOTICE
            self.printk(line, level)
        self.layout: Layout = setup.layout
        self._page_offset = setup.layout.page_offset
        self.max_pfn = setup.max_pfn
        self.max_low_pfn = setup.max_low_pfn

        self.phys = PhysMem(setup.mapped, page_shift=self.page_shift, seed=seed, stale=tun["stale_memory"])
        flatmem = prof.arch == "i386"  # 2.6 i386: FLATMEM mem_map[]; x86_64: SPARSEMEM_VMEMMAP
        self.memmap = MemMap(
            setup.present_sections, {"owner": Owner.MANAGED, "mapcount": -1}, setup.max_pfn if flatmem else None
        )
        self._init_memmap()
        self._boot_page_alloc()
        self._boot_sched()
        self._boot_slab()
        self._boot_vmalloc()
        self._boot_reclaim()
        self._boot_ioremap()
        self._boot_highmem_dma()
        self.clock.advance(250_000_000)
        self._print_mem_init()
        self.register_check("memmap", self._check_memmap)
        self.register_check("physmem", self._check_physmem)
        self.register_check("layout", self._check_layout)
        self.clock.advance(750_000_000)  # the rest of boot: the machine is up at 1.0 s

    # ================================================================ boot
    @staticmethod
    def _check_ram(prof: Profile, ram: int, given: object) -> None:
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

    @staticmethod
    def _from_snapshot(host: str, profile: str, ram: Any, cpus: Any, tunables: dict[str, Any]):
        """boot(host=DIR): CPUs, RAM and vm sysctls of a host snapshot (kmemsim snapshot)."""
        from . import snapshot as snapmod

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

    def _host_reservations(self, snap: Any) -> None:
        """Reserve exactly present - managed pages in each zone, as the snapshot's kernel had
        (early allocations, the kernel image less its freed init sections, and on the
        reference host the not yet initialised pages of lazily deferred memory init).
        The low 1 MiB and the kernel text stay reserved; the rest is placed at the top
        of each zone."""
        from .arch.base import MemblockRegion

        s = self.page_shift
        setup = self.arch.setup
        layout = self.arch.zone_layout()  # type: ignore[attr-defined]
        mem = [(a >> s, b >> s) for a, b in setup.memory]
        new: list[MemblockRegion] = [MemblockRegion(0, 1 << 20, "low 1M (BIOS, real mode trampoline)")]
        text_end = -(-setup.kernel_image["Kernel code"][1] // self.page_size) * self.page_size
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

    def _printk_banner(self) -> None:
        p = self.profile
        if p.kernel_version.startswith("2."):
            self.printk(f"Linux version {p.release} (kmemsim@kmemsim) (gcc version 4.1.2) #1 SMP")
        else:
            self.printk(f"Linux version {p.release} (kmemsim@kmemsim) (kmemsim) #1 SMP PREEMPT_DYNAMIC")
        self.printk(f"Command line: {self.cmdline}")

    @property
    def cmdline(self) -> str:
        """The kernel command line this machine was booted with (boot tunables only)."""
        from .profiles import TUNABLES

        parts = [f"mem={units.human(self.ram)}"]
        for name, value in sorted(self.tunables.items()):
            t = TUNABLES[name]
            if t.kind == "boot" and value is not None and value != t.default_for(self.profile.name):
                if value is True:
                    parts.append(name)
                    continue
                parts.append(f"{name}={units.human(value) if isinstance(value, int) else value}")
        return " ".join(parts)

    def _init_memmap(self) -> None:
        """memmap_init() + reserve_bootmem_region() + memblock_free_all(), without a page allocator.

        Holes inside present sections and memblock-reserved ranges become
        PG_reserved with refcount 1; every other page is free (refcount 0),
        waiting for the page allocator that a later part of kmemsim adds.
        """
        mm = self.memmap
        s = self.page_shift
        # Everything present starts as a hole; memory ranges become free; reserved ranges reserved.
        for nr in mm.sections:
            a = nr << SECTION_PAGES_SHIFT
            mm.set_range(a, a + (1 << SECTION_PAGES_SHIFT), owner=Owner.HOLE, flags=PG.reserved, refcount=1)
        for start, end in self.arch.setup.memory:
            mm.set_range(start >> s, end >> s, owner=Owner.MANAGED, flags=0, refcount=0)
        for r in self.arch.setup.reserved:
            a, b = r.start >> s, (r.end + self.page_size - 1) >> s
            for ms, me in self.arch.setup.memory:  # only the part that is memory
                lo, hi = max(a, ms >> s), min(b, me >> s)
                if lo < hi:
                    mm.set_range(lo, hi, owner=Owner.RESERVED, flags=PG.reserved, refcount=1)

    def _print_mem_init(self) -> None:
        counts = self.memmap.count("owner")
        free = self.nr_free_pages()
        reserved = counts.get(Owner.RESERVED, 0)
        K = self.page_size // 1024
        img = self.arch.setup.kernel_image
        size_k = {name: (b - a) // 1024 for name, (a, b) in img.items()}
        if self.profile.arch == "i386":
            lay = self.layout
            # 2.6.24 arch/x86/mm/init_32.c: mem_init(); reservedpages counts PageReserved lowmem
            high_k = sum(z.managed_pages for z in self.page_alloc.zones if z.name == "HighMem") * K
            self.printk(
                f"Memory: {free * K}k/{self.max_pfn * K}k available ({size_k['Kernel code']}k kernel code, "
                f"{self.memmap.count('flags', 0, self.max_low_pfn).get(PG.reserved, 0) * K}k reserved, "
                f"{size_k['Kernel data']}k data, {size_k['Kernel init']}k init, {high_k}k highmem)"
            )
            tx, dt, it = img["Kernel code"], img["Kernel data"], img["Kernel init"]
            po = lay.page_offset
            self.printk("virtual kernel memory layout:")
            rows = [
                ("fixmap ", lay.fixaddr_start, lay.fixaddr_top, "kB", 10),
                ("pkmap  ", lay.pkmap_base, lay.pkmap_base + lay.last_pkmap * self.page_size, "kB", 10),  # type: ignore[operator]
                ("vmalloc", lay.vmalloc_start, lay.vmalloc_end, "MB", 20),
                ("lowmem ", po, lay.high_memory, "MB", 20),
                ("  .init", po + it[0], po + it[1], "kB", 10),
                ("  .data", po + dt[0], po + dt[1], "kB", 10),
                ("  .text", po + tx[0], po + tx[1], "kB", 10),
            ]
            for name, a, b, unit, shift in rows:
                self.printk(f"  {name:>9} : 0x{a:08x} - 0x{b:08x}   ({(b - a) >> shift:4d} {unit})")
        else:
            # 6.18 mm/mm_init.c: mem_init_print_info()
            present = sum(counts.get(o, 0) for o in (Owner.MANAGED, Owner.RESERVED))
            self.printk(
                f"Memory: {free * K}K/{present * K}K available ({size_k['Kernel code']}K kernel code, "
                f"{size_k['Kernel data']}K rwdata, {size_k['Kernel rodata']}K rodata, 3728K init, "
                f"{size_k['Kernel bss']}K bss, {reserved * K}K reserved, 0K cma-reserved)"
            )


    def _boot_page_alloc(self) -> None:
        """build_all_zonelists + memblock_free_all + init_per_zone_wmark_min."""
        from . import gfp as gfpmod
        from .mm.page_alloc import GfpBits, PageAllocator

        gs = gfpmod.for_profile(self.profile.name)
        classic = self.profile.kernel_version.startswith("2.")
        v = gs.value_or_zero  # 0 for a flag this kernel does not have

        bits = GfpBits(
            dma=v("__GFP_DMA"), highmem=v("__GFP_HIGHMEM"), dma32=v("__GFP_DMA32"),
            movable=v("__GFP_MOVABLE"), reclaimable=v("__GFP_RECLAIMABLE"), high=v("__GFP_HIGH"),
            io=v("__GFP_IO"), fs=v("__GFP_FS"), zero=v("__GFP_ZERO"),
            direct_reclaim=v("__GFP_WAIT") if classic else v("__GFP_DIRECT_RECLAIM"),
            kswapd_reclaim=0 if classic else v("__GFP_KSWAPD_RECLAIM"),
            nowarn=v("__GFP_NOWARN"),
            retry_mayfail=v("__GFP_REPEAT") if classic else v("__GFP_RETRY_MAYFAIL"),
            nofail=v("__GFP_NOFAIL"), noretry=v("__GFP_NORETRY"), memalloc=v("__GFP_MEMALLOC"),
            comp=v("__GFP_COMP"), nomemalloc=v("__GFP_NOMEMALLOC"), hardwall=v("__GFP_HARDWALL"),
            thisnode=v("__GFP_THISNODE"), account=v("__GFP_ACCOUNT"),
            valid=(1 << (gfpmod.GFP_BITS_SHIFT_2_6 if classic else getattr(gfpmod, "__GFP_BITS_SHIFT"))) - 1,
        )
        self.gfp = gs
        pa = PageAllocator(
            self, gs, bits, self.arch.zone_layout(),  # type: ignore[attr-defined]
            max_order=10, pageblock_order=10 if classic else 9,
            pcp_orders=(0,) if classic else (0, 1, 2, 3, 9),
            tunables=self.tunables, classic=classic,
        )
        s = self.page_shift
        pa.set_present([(a >> s, b >> s) for a, b in self.arch.setup.memory])
        free = [(a, b) for a, b, o in self.memmap.runs("owner", 0, self.max_pfn) if o == Owner.MANAGED]
        pa.free_all_bootmem(free)
        pa.init_watermarks()
        pa.build_zone_chunks()
        self.page_alloc = pa
        self._sections = self.memmap.sections
        self._lowmem_bytes = self.arch.lowmem_bytes
        self._fast_get: dict[int, tuple] = {}  # gfp -> the order-0 fast path's context
        from .mm.fastpath import install

        install(self)
        self.register_check("page_alloc", self._check_page_alloc)

    def _check_page_alloc(self) -> None:
        errs = self.page_alloc.check()
        if errs:
            raise InvariantError("page_alloc", "; ".join(errs[:5]))

    # ================================================================ page allocator API
    def nr_free_pages(self) -> int:
        """NR_FREE_PAGES summed over zones (pages on pcp lists are not free to the buddy)."""
        return sum(z.free_pages for z in self.page_alloc.zones)

    def alloc_pages(self, gfp_mask: int, order: int = 0) -> Page | None:
        """alloc_pages(gfp, order): a block of 2^order pages, or None (NULL).

        May sleep when ``gfp_mask`` allows direct reclaim.  The first page has
        refcount 1 (every page of a ``__GFP_COMP`` block belongs to the head).
        """
        pfn = self.page_alloc.alloc(gfp_mask, order)
        return None if pfn < 0 else Page(self, pfn)

    def alloc_page(self, gfp_mask: int) -> Page | None:
        """alloc_page(gfp) = alloc_pages(gfp, 0)."""
        return self.alloc_pages(gfp_mask, 0)

    def get_free_pages(self, gfp_mask: int, order: int = 0) -> int:
        """The kernel's ``__get_free_pages(gfp, order)``: the block's address, or 0 (NULL).

        ``__GFP_HIGHMEM`` is stripped: the memory must have a kernel address.  After boot
        the instance's ``get_free_pages`` is the order-0 fast path of
        ``kmemsim.mm.fastpath``, which falls back to this method.
        """
        pa = self.page_alloc
        if isinstance(gfp_mask, bool) or not isinstance(gfp_mask, int):
            raise UsageError(f"gfp_mask {gfp_mask!r}: expected a GFP mask (an int such as GFP_KERNEL)")
        stripped = gfp_mask & ~pa.bits.highmem
        pfn = pa.alloc(stripped, order)
        if order == 0 and gfp_mask not in self._fast_get and stripped in pa.fast0:
            self._fast_get[gfp_mask] = pa.fast0[stripped]
        if pfn < 0:
            return NULL
        return self._page_offset + (pfn << self.page_shift)

    def get_free_page(self, gfp_mask: int) -> int:
        """The kernel's ``__get_free_page(gfp)``."""
        return self.get_free_pages(gfp_mask, 0)

    def get_zeroed_page(self, gfp_mask: int) -> int:
        """get_zeroed_page(gfp): one page of zeros."""
        return self.get_free_pages(gfp_mask | self.page_alloc.bits.zero, 0)

    def get_dma_pages(self, gfp_mask: int, order: int = 0) -> int:
        """The kernel's ``__get_dma_pages(gfp, order)``: from ZONE_DMA."""
        return self.get_free_pages(gfp_mask | self.page_alloc.bits.dma, order)

    def _addr_to_pfn(self, addr: int, what: str) -> int:
        if isinstance(addr, Page):
            raise UsageError(f"{what}() takes an address; for a struct page use free_pages_struct()")
        self._check_addr(addr, "addr")
        off = addr - self.layout.page_offset
        if not 0 <= off < self.arch.lowmem_bytes:
            # the kernel would compute virt_to_page() of garbage; say so plainly
            self.bug([f"{what}: {addr:#x} is not a direct-map address (virt_to_page() would be garbage)"],
                     kind="bad_free")
            return -1
        if off & (self.page_size - 1):
            self.bug([f"{what}: {addr:#x} is not page aligned"], kind="bad_free")
            return -1
        return off >> self.page_shift

    def free_pages(self, addr: int, order: int = 0) -> None:
        """free_pages(addr, order): NULL (0) is ignored.  After boot the instance's
        ``free_pages`` is the order-0 fast path of ``kmemsim.mm.fastpath``."""
        if addr == 0:
            return
        pfn = self._addr_to_pfn(addr, "free_pages")
        if pfn >= 0:
            self.page_alloc.free(pfn, order)

    def free_page(self, addr: int) -> None:
        """free_page(addr) = free_pages(addr, 0)."""
        self.free_pages(addr, 0)

    def free_pages_struct(self, page: Page, order: int = 0) -> None:
        """The kernel's ``__free_pages(page, order)`` (Python cannot name a method
        ``__free_pages``): drop one reference, free the block if it was the last."""
        if not isinstance(page, Page):
            raise UsageError("free_pages_struct() takes a Page; for an address use free_pages()")
        self.page_alloc.free(page.pfn, order)

    def free_page_struct(self, page: Page) -> None:
        """The kernel's ``__free_page(page)``."""
        self.free_pages_struct(page, 0)

    def get_page(self, page: Page) -> None:
        """get_page(page): one more reference (on the head of a compound page)."""
        self.page_alloc.get_page(page.pfn)

    def put_page(self, page: Page) -> None:
        """put_page(page): drop a reference; the last one frees the page (or compound block)."""
        self.page_alloc.put_page(page.pfn)

    def split_page(self, page: Page, order: int) -> None:
        """split_page(page, order): a non-compound block becomes 2^order separately freed pages."""
        self.page_alloc.split_page(page.pfn, order)

    def alloc_pages_exact(self, size: int, gfp_mask: int) -> int:
        """alloc_pages_exact(size, gfp): exactly ceil(size / PAGE_SIZE) pages; the rest of the
        power-of-two block is given back at once.  Returns the address or 0."""
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0:
            raise UsageError(f"alloc_pages_exact: size {size!r} must be a positive integer")
        pa = self.page_alloc
        order = max(0, (size - 1).bit_length() - self.page_shift)
        if gfp_mask & (pa.bits.comp | pa.bits.highmem):
            self.warn_once("alloc_pages_exact gfp", "make_alloc_exact", "__GFP_COMP or __GFP_HIGHMEM passed to alloc_pages_exact")
            gfp_mask &= ~(pa.bits.comp | pa.bits.highmem)
        addr = self.get_free_pages(gfp_mask, order)
        if not addr:
            return NULL
        pfn = (addr - self.layout.page_offset) >> self.page_shift
        nr = -(-size // self.page_size)
        pa.split_page(pfn, order)
        for p in range(pfn + nr, pfn + (1 << order)):  # make_alloc_exact(): to the buddy tail
            del pa.allocated[p]
            pa._set_ref(p, 0)
            pa.free_to_buddy_tail(p, 0)
        return addr

    def free_pages_exact(self, addr: int, size: int) -> None:
        """free_pages_exact(virt, size): free each page of PAGE_ALIGN(size)."""
        nr = -(-size // self.page_size)
        for i in range(nr):
            self.free_page(addr + i * self.page_size)

    def drain_all_pages(self) -> None:
        """drain_all_pages(NULL): every CPU's pcp lists back to the buddy."""
        self.page_alloc.drain_all_pages()

    def page_zone(self, page: Page) -> str:
        """The name of the zone a page belongs to (page_zone(page)->name)."""
        return self.page_alloc.zone_of(page.pfn).name


    # ================================================================ slab allocator
    def _boot_slab(self) -> None:
        """kmem_cache_init() + create_kmalloc_caches()."""
        from .mm.slab_common import SlabCommon
        from .mm.slub import Slub

        t = self.tunables
        self.slub = Slub(
            self, hardened=t.get("slab_freelist_hardened", False), randomize=t.get("slab_freelist_random", False),
            nomerge=t.get("slab_nomerge", False), min_order=t.get("slub_min_order", 0),
            max_order=t.get("slub_max_order", 3), min_objects=t.get("slub_min_objects", 0),
            word=self.layout.bits // 8,
        )
        self.slab = SlabCommon(self, self.slub)
        self.slab.create_kmalloc_caches()
        from .mm.fastpath import install_slab

        install_slab(self)
        self.register_check("slub", self._check_slub)
        self.register_node_stat("nr_slab_reclaimable", lambda: self._slab_pages(True))
        self.register_node_stat("nr_slab_unreclaimable", lambda: self._slab_pages(False))

    def _slab_pages(self, reclaimable: bool) -> int:
        geo = self.slub.geo
        n = sum(sl_pages for s in self.slub.caches
                if bool(s.flags & geo.SLAB_RECLAIM_ACCOUNT) == reclaimable
                for sl_pages in [s.nr_slabs << s.order])
        if not reclaimable:
            n += sum(1 << o for o in self.slab.large.values())
        return n

    def _check_slub(self) -> None:
        errs = self.slub.check()
        if errs:
            raise InvariantError("slub", "; ".join(errs[:5]))

    def kmem_cache_create(self, name: str, size: int, align: int = 0, flags: int = 0, ctor=None, *,
                          freeptr_offset: int | None = None, useroffset: int = 0, usersize: int = 0):
        """kmem_cache_create(name, size, align, flags, ctor): a cache of ``size``-byte objects.

        May merge with a compatible existing cache (then the result is that cache, with
        ``name`` among its aliases).  ``ctor(addr)`` runs on each object when a slab is
        made.  Returns the cache, or None (NULL) on failure; SLAB_PANIC panics instead.
        May sleep.  The 6.12+ kmem_cache_args are keywords."""
        return self.slab.kmem_cache_create(name, size, align, flags, ctor, freeptr_offset=freeptr_offset,
                                           useroffset=useroffset, usersize=usersize)

    def _check_cache(self, cache, what: str) -> None:
        from .mm.slub import KmemCache

        if not isinstance(cache, KmemCache):
            raise UsageError(f"{what}: {cache!r} is not a cache made by kmem_cache_create()")
        if cache not in self.slub.caches:
            raise UsageError(f"{what}: cache {cache.name} was destroyed")

    def kmem_cache_alloc(self, cache, gfp_mask: int) -> int:
        """kmem_cache_alloc(cache, gfp): an object's address, or 0 (NULL)."""
        self._check_cache(cache, "kmem_cache_alloc")
        if isinstance(gfp_mask, bool) or not isinstance(gfp_mask, int):
            raise UsageError(f"kmem_cache_alloc: gfp_mask {gfp_mask!r} is not a GFP mask")
        return self.slub.slab_alloc(cache, gfp_mask, cache.object_size)

    def kmem_cache_zalloc(self, cache, gfp_mask: int) -> int:
        """kmem_cache_zalloc(cache, gfp) = kmem_cache_alloc(cache, gfp | __GFP_ZERO)."""
        self._check_cache(cache, "kmem_cache_zalloc")
        return self.slub.slab_alloc(cache, gfp_mask | self.slub.GFP_ZERO, cache.object_size)

    def kmem_cache_free(self, cache, obj: int) -> None:
        """kmem_cache_free(cache, obj)."""
        self._check_cache(cache, "kmem_cache_free")
        if isinstance(obj, bool) or not isinstance(obj, int):
            raise UsageError(f"kmem_cache_free: {obj!r} is not an address")
        self.slab.kmem_cache_free(cache, obj)

    def kmem_cache_destroy(self, cache) -> None:
        """kmem_cache_destroy(cache): objects still allocated are reported and the cache kept."""
        self.slab.kmem_cache_destroy(cache)

    def kmem_cache_shrink(self, cache) -> None:
        """kmem_cache_shrink(cache): give empty slabs back to the page allocator."""
        self._check_cache(cache, "kmem_cache_shrink")
        self.slub.shrink(cache)

    def kmalloc(self, size: int, gfp_mask: int) -> int:
        """kmalloc(size, gfp): up to 8 KiB from the kmalloc caches, larger from the page
        allocator; 0 gives ZERO_SIZE_PTR (16), failure 0 (NULL).  The bytes are whatever
        the memory held (kzalloc zeroes)."""
        return self.slab.kmalloc(size, gfp_mask)

    def kzalloc(self, size: int, gfp_mask: int) -> int:
        """kzalloc(size, gfp) = kmalloc(size, gfp | __GFP_ZERO)."""
        return self.slab.kmalloc(size, gfp_mask | self.slub.GFP_ZERO)

    def kmalloc_node(self, size: int, gfp_mask: int, node: int = -1) -> int:
        """kmalloc_node(size, gfp, node): one node, so node is checked and otherwise ignored."""
        if node not in (-1, 0):
            raise UsageError(f"kmalloc_node: node {node} does not exist (this machine has node 0)")
        return self.kmalloc(size, gfp_mask)

    def kmalloc_array(self, n: int, size: int, gfp_mask: int) -> int:
        """kmalloc_array(n, size, gfp): NULL when n * size overflows size_t."""
        for what, v in (("n", n), ("size", size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise UsageError(f"kmalloc_array: {what} {v!r} must be a non-negative int")
        if n * size >= 1 << self.layout.bits:
            return NULL  # check_mul_overflow()
        return self.kmalloc(n * size, gfp_mask)

    def kcalloc(self, n: int, size: int, gfp_mask: int) -> int:
        """kcalloc(n, size, gfp) = kmalloc_array(n, size, gfp | __GFP_ZERO)."""
        return self.kmalloc_array(n, size, gfp_mask | self.slub.GFP_ZERO)

    def kfree(self, obj: int) -> None:
        """kfree(p): NULL and ZERO_SIZE_PTR are ignored."""
        self.slab.kfree(obj)

    def ksize(self, obj: int) -> int:
        """ksize(p): how many bytes the allocation really has."""
        return self.slab.ksize(obj)

    def kmalloc_size_roundup(self, size: int) -> int:
        """kmalloc_size_roundup(size): what kmalloc(size) would really give."""
        return self.slub.geo.kmalloc_size_roundup(size)

    def krealloc(self, obj: int, new_size: int, gfp_mask: int) -> int:
        """krealloc(p, new_size, gfp) (6.18 __do_krealloc): keep p while new_size fits the
        object (zeroing the spare bytes with __GFP_ZERO, moving the kmalloc red zone when
        the request size is tracked), else a new allocation with the old contents;
        new_size 0 frees p and gives ZERO_SIZE_PTR."""
        if isinstance(new_size, bool) or not isinstance(new_size, int) or new_size < 0:
            raise UsageError(f"krealloc: new_size {new_size!r} must be a non-negative int")
        if new_size == 0:
            self.kfree(obj)
            return ZERO_SIZE_PTR
        if obj <= ZERO_SIZE_PTR:
            return self.kmalloc(new_size, gfp_mask)
        slab, _ = self.slub.object_of(obj)
        s = None
        orig = 0
        if slab is None:
            order = self.slab.large.get(obj)
            ks = 0 if order is None else self.page_size << order
        else:
            s = slab.cache
            orig = self.slub.dbg.get_orig_size(s, obj)
            ks = s.object_size
        if new_size <= ks:
            from .mm.slub_debug import SLUB_RED_ACTIVE

            if gfp_mask & self.slub.GFP_ZERO:
                if orig and orig < new_size:
                    self.memset(obj + orig, 0, new_size - orig)
                else:
                    self.memset(obj + new_size, 0, ks - new_size)
            if s is not None and self.slub.dbg.orig_size_kept(s):
                self.slub.dbg.set_orig_size(s, obj, new_size)
                if s.flags & self.slub.geo.SLAB_RED_ZONE and new_size < ks:
                    self.memset(obj + new_size, SLUB_RED_ACTIVE, ks - new_size)
            return obj
        new = self.kmalloc(new_size, gfp_mask)
        if new:
            self.memcpy(new, obj, orig or ks)
            self.kfree(obj)
        return new

    def kmalloc_cache(self, cache, gfp_mask: int, size: int) -> int:
        """__kmalloc_cache_noprof(cache, gfp, size): kmalloc from a given kmalloc-type
        cache with request size ``size`` (what kmalloc() of a constant size compiles to;
        lib/tests/slub_kunit.c calls it on its own SLAB_KMALLOC caches)."""
        self._check_cache(cache, "kmalloc_cache")
        if isinstance(size, bool) or not isinstance(size, int) or not 0 < size <= cache.object_size:
            raise UsageError(f"kmalloc_cache: size {size!r} must be 1..{cache.object_size}")
        return self.slub.slab_alloc(cache, gfp_mask, size)

    def validate_slab_cache(self, cache) -> int:
        """validate_slab_cache(cache) (what writing 1 to /sys/kernel/slab/<c>/validate does):
        check every slab and object, report and repair what is wrong; returns the number
        of slabs checked."""
        self._check_cache(cache, "validate_slab_cache")
        n = self.slub.dbg.validate_slab_cache(cache)
        self.slub.dbg.finish()
        return n

    def slab_errors(self):
        """``with k.slab_errors() as errs:`` -- SLUB reports counted in ``errs.count`` instead
        of printed (and never raised), as under lib/tests/slub_kunit.c's "slab_errors"."""
        return self.slub.dbg.kunit()

    def kmemdup(self, src: int, size: int, gfp_mask: int) -> int:
        """kmemdup(src, len, gfp)."""
        p = self.kmalloc(size, gfp_mask)
        if p and size:
            self.memcpy(p, src, size)
        return p

    def kstrdup(self, s: str | bytes, gfp_mask: int) -> int:
        """kstrdup(s, gfp): a NUL-terminated copy in kmalloc memory (s is Python text here)."""
        data = s.encode() if isinstance(s, str) else bytes(s)
        p = self.kmalloc(len(data) + 1, gfp_mask)
        if p:
            self.write(p, data + b"\0")
        return p

    def kstrndup(self, s: str | bytes, max_len: int, gfp_mask: int) -> int:
        """kstrndup(s, max, gfp)."""
        data = s.encode() if isinstance(s, str) else bytes(s)
        return self.kstrdup(data[:max_len], gfp_mask)

    def kfree_sensitive(self, obj: int) -> None:
        """kfree_sensitive(p): zero ksize(p) bytes, then kfree."""
        n = self.ksize(obj)
        if n:
            self.memset(obj, 0, n)
        self.kfree(obj)

    def kvmalloc(self, size: int, gfp_mask: int) -> int:
        """kvmalloc(size, gfp) (6.18 __kvmalloc_node_noprof): kmalloc first -- above a page
        without direct reclaim (unless __GFP_RETRY_MAYFAIL), without warnings and without
        __GFP_NOFAIL -- then vmalloc for requests above a page that may block."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise UsageError(f"kvmalloc: size {size!r} must be a non-negative int")
        g = self.gfp
        flags = gfp_mask
        if size > self.page_size:
            flags |= g.value("__GFP_NOWARN")
            mayfail = g.flags.get("__GFP_RETRY_MAYFAIL", g.flags.get("__GFP_REPEAT", 0))
            if not flags & mayfail:
                flags &= ~g.value(g.blocking_flag)
            flags &= ~g.value("__GFP_NOFAIL")
        p = self.kmalloc(size, flags)
        if p or size <= self.page_size:
            return p
        if not gfp_mask & g.value(g.blocking_flag):
            return 0  # non-sleeping allocations are not supported by vmalloc
        if size > 0x7FFFFFFF:
            if not gfp_mask & g.value("__GFP_NOWARN"):
                self.warn_once("kvmalloc INT_MAX", "__kvmalloc_node_noprof+0x0/0x0")
            return 0
        vm = self.vmalloc_impl
        return vm.vmalloc_node_range(size, 1, vm.VMALLOC_START, vm.VMALLOC_END, gfp_mask, None, 0, -1, None)

    def kvfree(self, obj: int) -> None:
        """kvfree(p): vfree for a vmalloc address, else kfree."""
        if self.is_vmalloc_addr(obj):
            self.vfree(obj)
        else:
            self.kfree(obj)

    # ================================================================ vmalloc
    def _boot_vmalloc(self) -> None:
        """vmalloc_init(): the vmap_area cache, the free space, the vmalloc page tables."""
        from .mm.vmalloc import Vmalloc

        self.vmalloc_impl = Vmalloc(self)

    def vmalloc(self, size: int) -> int:
        """vmalloc(size): virtually contiguous, physically scattered pages; may sleep.
        Returns the address, or 0 (NULL)."""
        return self.vmalloc_impl.vmalloc(size)

    def vzalloc(self, size: int) -> int:
        """vzalloc(size): vmalloc, zeroed."""
        return self.vmalloc_impl.vzalloc(size)

    def vmalloc_node(self, size: int, node: int) -> int:
        """vmalloc_node(size, node)."""
        return self.vmalloc_impl.vmalloc_node(size, node)

    def vzalloc_node(self, size: int, node: int) -> int:
        """vzalloc_node(size, node)."""
        return self.vmalloc_impl.vzalloc_node(size, node)

    def vmalloc_user(self, size: int) -> int:
        """vmalloc_user(size): zeroed, page aligned, VM_USERMAP (may be mapped to user space)."""
        return self.vmalloc_impl.vmalloc_user(size)

    def vmalloc_32(self, size: int) -> int:
        """vmalloc_32(size): pages addressable with 32 bits (ZONE_DMA32 on x86_64, lowmem on i386)."""
        return self.vmalloc_impl.vmalloc_32(size)

    def vmalloc_32_user(self, size: int) -> int:
        """vmalloc_32_user(size)."""
        return self.vmalloc_impl.vmalloc_32_user(size)

    def vmalloc_gfp(self, size: int, gfp_mask: int) -> int:
        """__vmalloc(size, gfp) -- Python cannot spell the kernel's name in a class."""
        return self.vmalloc_impl.vmalloc_gfp(size, gfp_mask)

    def vmalloc_node_range(self, *args, **kwargs) -> int:
        """__vmalloc_node_range(size, align, start, end, gfp, prot, vm_flags, node, caller)."""
        return self.vmalloc_impl.vmalloc_node_range(*args, **kwargs)

    def vfree(self, addr: int) -> None:
        """vfree(addr): NULL is fine; a double vfree is reported as the kernel does."""
        self.vmalloc_impl.vfree(addr)

    def vfree_atomic(self, addr: int) -> None:
        """vfree_atomic(addr): the free is deferred to a work item."""
        self.vmalloc_impl.vfree_atomic(addr)

    def vmap(self, pages, count: int, flags: int | None = None, prot: int | None = None) -> int:
        """vmap(pages, count, flags, prot): map the given pages contiguously."""
        if flags is None:
            return self.vmalloc_impl.vmap(pages, count, prot=prot)
        return self.vmalloc_impl.vmap(pages, count, flags, prot)

    def vunmap(self, addr: int) -> None:
        """vunmap(addr): undo vmap (the pages are not freed)."""
        self.vmalloc_impl.vunmap(addr)

    def get_vm_area(self, size: int, flags: int):
        """get_vm_area(size, flags): reserve a range of the vmalloc space (a VmStruct, or None)."""
        return self.vmalloc_impl.get_vm_area(size, flags)

    def find_vm_area(self, addr: int):
        """find_vm_area(addr): the vm_struct of a mapped address, or None."""
        return self.vmalloc_impl.find_vm_area(addr)

    def free_vm_area(self, area) -> None:
        """free_vm_area(area)."""
        self.vmalloc_impl.free_vm_area(area)

    def vmalloc_to_page(self, addr: int):
        """vmalloc_to_page(addr): the struct page behind a vmalloc address, or None."""
        return self.vmalloc_impl.vmalloc_to_page(addr)

    def vmalloc_to_pfn(self, addr: int) -> int:
        """vmalloc_to_pfn(addr)."""
        return self.vmalloc_impl.vmalloc_to_pfn(addr)

    def lookup_address(self, addr: int) -> tuple[int | None, int]:
        """lookup_address(addr): (pte value or None, level) from the kernel page tables."""
        return self.vmalloc_impl.lookup_address(addr)

    def purge_vmap_area_lazy(self) -> None:
        """Purge the lazily freed vmap areas now (what the purge threshold does)."""
        self.vmalloc_impl.purge_vmap_area_lazy()

    # ================================================================ contexts, tasks, time (sched.py)
    def _boot_sched(self) -> None:
        """The calling contexts and the scheduler; the API caller is the task insmod/1000."""
        from .sched import Sched

        self.sched = Sched(self)
        self.register_check("sched", self.sched.check)

    def fastpath_suspend(self, reason: str) -> None:
        """Route the allocation fast paths through the general methods while ``reason``
        holds (atomic context: every allocation must pass might_alloc; tracing)."""
        self._fast_off.add(reason)
        for name, fn in self._fastpaths.items():
            if self.__dict__.get(name) is fn:  # a wrapper (the tracer's) stays where it is
                del self.__dict__[name]

    def fastpath_resume(self, reason: str) -> None:
        self._fast_off.discard(reason)
        if not self._fast_off:
            for name, fn in self._fastpaths.items():
                self.__dict__.setdefault(name, fn)

    def preempt_count(self) -> int:
        """preempt_count(): this CPU's count (see kmemsim.sched for the fields)."""
        return self.sched.pc[self._cpu]

    def in_interrupt(self) -> bool:
        """in_interrupt(): hardirq, softirq, NMI, or bottom halves disabled."""
        return self.sched.in_interrupt()

    def in_atomic(self) -> bool:
        """in_atomic(): preempt_count() != 0."""
        return self.sched.in_atomic()

    def in_task(self) -> bool:
        """in_task(): not in NMI, hardirq or a running softirq."""
        return self.sched.in_task()

    def in_hardirq(self) -> bool:
        """in_hardirq() (the old in_irq())."""
        return self.sched.in_hardirq()

    def in_softirq(self) -> bool:
        """in_softirq(): serving a softirq or bottom halves disabled."""
        return self.sched.in_softirq()

    def in_serving_softirq(self) -> bool:
        """in_serving_softirq()."""
        return self.sched.in_serving_softirq()

    def in_nmi(self) -> bool:
        """in_nmi()."""
        return self.sched.in_nmi()

    def irqs_disabled(self) -> bool:
        """irqs_disabled(): this CPU's interrupt flag is off."""
        return self.sched.irqs_off[self._cpu]

    def hardirq(self):
        """``with k.hardirq():`` -- an interrupt handler: irq_enter() ... irq_exit() (IRQs off;
        pending tasklets and timers run at the exit)."""
        return self.sched.hardirq()

    def softirq(self):
        """``with k.softirq():`` -- softirq context (where tasklets and timers run)."""
        return self.sched.softirq()

    def nmi(self):
        """``with k.nmi():`` -- NMI context."""
        return self.sched.nmi()

    def atomic(self):
        """``with k.atomic():`` -- preempt_disable() ... preempt_enable()."""
        return self.sched.atomic()

    def preempt_disable(self) -> None:
        """preempt_disable()."""
        self.sched._add(1)

    def preempt_enable(self) -> None:
        """preempt_enable()."""
        self.sched._sub(1, "preempt_enable")

    def local_irq_disable(self) -> None:
        """local_irq_disable()."""
        self.sched._set_irqs(True)

    def local_irq_enable(self) -> None:
        """local_irq_enable()."""
        self.sched._set_irqs(False)

    def local_irq_save(self) -> bool:
        """local_irq_save(flags): returns the flags (were IRQs off?) for local_irq_restore."""
        flags = self.sched.irqs_off[self._cpu]
        self.sched._set_irqs(True)
        return flags

    def local_irq_restore(self, flags: bool) -> None:
        """local_irq_restore(flags)."""
        self.sched._set_irqs(bool(flags))

    def local_bh_disable(self) -> None:
        """local_bh_disable(): softirqs off (in_interrupt() is true)."""
        self.sched.local_bh_disable()

    def local_bh_enable(self) -> None:
        """local_bh_enable(): runs pending softirqs."""
        self.sched.local_bh_enable()

    def spinlock(self, name: str = "lock"):
        """DEFINE_SPINLOCK(name) / spin_lock_init(): a new unlocked kmemsim.sched.SpinLock."""
        from .sched import SpinLock

        return SpinLock(name)

    def spin_lock(self, lock) -> None:
        """spin_lock(lock): preemption off until spin_unlock."""
        self.sched.spin_lock(lock)

    def spin_unlock(self, lock) -> None:
        """spin_unlock(lock)."""
        self.sched.spin_unlock(lock)

    def spin_lock_irq(self, lock) -> None:
        """spin_lock_irq(lock)."""
        self.sched.spin_lock(lock, irq=True)

    def spin_unlock_irq(self, lock) -> None:
        """spin_unlock_irq(lock)."""
        self.sched.spin_unlock(lock, irq=True)

    def spin_lock_irqsave(self, lock) -> bool:
        """flags = spin_lock_irqsave(lock) (the macro assigns flags; here it is returned)."""
        flags = self.sched.irqs_off[self._cpu]
        self.sched.spin_lock(lock, irq=True)
        return flags

    def spin_unlock_irqrestore(self, lock, flags: bool) -> None:
        """spin_unlock_irqrestore(lock, flags)."""
        self.sched.spin_unlock(lock)
        self.sched._set_irqs(bool(flags))

    def spin_lock_bh(self, lock) -> None:
        """spin_lock_bh(lock)."""
        self.sched.spin_lock(lock, bh=True)

    def spin_unlock_bh(self, lock) -> None:
        """spin_unlock_bh(lock)."""
        self.sched.spin_unlock(lock, bh=True)

    def mutex(self, name: str = "mutex"):
        """DEFINE_MUTEX(name) / mutex_init(): a new kmemsim.sched.Mutex."""
        from .sched import Mutex

        return Mutex(name)

    def mutex_lock(self, m) -> None:
        """mutex_lock(m): may sleep."""
        self.sched.mutex_lock(m)

    def mutex_unlock(self, m) -> None:
        """mutex_unlock(m)."""
        self.sched.mutex_unlock(m)

    def might_sleep(self) -> None:
        """might_sleep(): the "sleeping function called from invalid context" report when
        the caller may not sleep (CONFIG_DEBUG_ATOMIC_SLEEP, the ``debug_atomic_sleep`` tunable)."""
        f = user_frames(1)
        loc = f[0][1].strip("[]") if f else "kmemsim:0"
        file, _, line = loc.rpartition(":")
        self.sched.might_sleep(file or loc, int(line) if line.isdigit() else 0)

    def cond_resched(self) -> None:
        """cond_resched(): a preemption point; runnable tasks run first."""
        self.sched.cond_resched()

    def schedule(self) -> None:
        """schedule(): give up the CPU (sleep if the state set by set_current_state is not
        TASK_RUNNING)."""
        self.sched.schedule()

    def set_current_state(self, state: int) -> None:
        """set_current_state(TASK_INTERRUPTIBLE / TASK_UNINTERRUPTIBLE / TASK_RUNNING)."""
        self.sched.set_current_state(state)

    def schedule_timeout(self, timeout: int) -> int:
        """schedule_timeout(jiffies) in the state set before (TASK_RUNNING: uninterruptible)."""
        return self.sched.schedule_timeout(timeout)

    def schedule_timeout_uninterruptible(self, timeout: int) -> int:
        """schedule_timeout_uninterruptible(jiffies): the jiffies left."""
        self.sched.set_current_state(2)
        return self.sched.schedule_timeout(timeout)

    def schedule_timeout_interruptible(self, timeout: int) -> int:
        """schedule_timeout_interruptible(jiffies)."""
        self.sched.set_current_state(1)
        return self.sched.schedule_timeout(timeout, 1)

    def msleep(self, msecs: int) -> None:
        """msleep(ms): sleep at least ms milliseconds (in jiffies, plus one)."""
        self.sched.msleep(msecs)

    def mdelay(self, msecs: int) -> None:
        """mdelay(ms): busy-wait (allowed in atomic context): the clock moves, nothing else runs."""
        if isinstance(msecs, bool) or not isinstance(msecs, int) or msecs < 0:
            raise UsageError(f"mdelay: {msecs!r} must be a non-negative int (milliseconds)")
        self.clock.advance(msecs * 1_000_000)

    def udelay(self, usecs: int) -> None:
        """udelay(us): busy-wait."""
        if isinstance(usecs, bool) or not isinstance(usecs, int) or usecs < 0:
            raise UsageError(f"udelay: {usecs!r} must be a non-negative int (microseconds)")
        self.clock.advance(usecs * 1000)

    def msecs_to_jiffies(self, msecs: int) -> int:
        """msecs_to_jiffies(ms), rounded up."""
        return -(-msecs * self.profile.hz // 1000)

    @property
    def HZ(self) -> int:  # noqa: N802 - kernel name
        """CONFIG_HZ of the profile."""
        return self.profile.hz

    def kthread_create(self, fn: Callable, name: str, *args: Any):
        """kthread_create(fn, data, name): a new kernel thread, not yet running."""
        return self.sched.kthread_create(fn, name, *args)

    def kthread_run(self, fn: Callable, name: str, *args: Any):
        """kthread_run(fn, data, name): create and wake a kernel thread running fn(*args).
        It runs when the caller sleeps, calls ``k.schedule()``/``k.cond_resched()``, or ``k.run()``."""
        t = self.sched.kthread_create(fn, name, *args)
        self.sched.wake_up_process(t)
        return t

    def kthread_should_stop(self) -> bool:
        """kthread_should_stop(): kthread_stop() was called for the current thread."""
        return self.current.should_stop

    def kthread_stop(self, task) -> Any:
        """kthread_stop(task): make kthread_should_stop() true, wake it, wait for its exit;
        its return value (an exception raised in it is raised here)."""
        return self.sched.kthread_stop(task)

    def wake_up_process(self, task) -> bool:
        """wake_up_process(task)."""
        return self.sched.wake_up_process(task)

    def waitqueue(self, name: str = "wq"):
        """DECLARE_WAIT_QUEUE_HEAD(name) / init_waitqueue_head(): a kmemsim.sched.WaitQueueHead."""
        from .sched import WaitQueueHead

        return WaitQueueHead(name)

    def wait_event(self, wq, condition: Callable[[], bool]) -> None:
        """wait_event(wq, condition): sleep (uninterruptible) until condition() is true."""
        self.sched.wait_event(wq, condition)

    def wait_event_timeout(self, wq, condition: Callable[[], bool], timeout: int) -> int:
        """wait_event_timeout(wq, condition, jiffies): 0 if the time ran out, else the jiffies left (>= 1)."""
        return self.sched.wait_event(wq, condition, timeout)

    def prepare_to_wait(self, wq, state: int) -> None:
        """prepare_to_wait(wq, &wait, state)."""
        self.sched.prepare_to_wait(wq, state)

    def prepare_to_wait_exclusive(self, wq, state: int) -> None:
        """prepare_to_wait_exclusive(wq, &wait, state)."""
        self.sched.prepare_to_wait(wq, state, exclusive=True)

    def finish_wait(self, wq) -> None:
        """finish_wait(wq, &wait)."""
        self.sched.finish_wait(wq)

    def wake_up(self, wq) -> int:
        """wake_up(wq): every non-exclusive waiter and one exclusive waiter."""
        return self.sched.wake_up(wq)

    def wake_up_all(self, wq) -> int:
        """wake_up_all(wq)."""
        return self.sched.wake_up_all(wq)

    def timer_setup(self, function: Callable, data: Any = None):
        """timer_setup(timer, callback, 0): a kmemsim.sched.TimerList; callback(timer) runs in
        softirq context when it expires (``timer.data`` is yours)."""
        from .sched import TimerList

        if not callable(function):
            raise UsageError(f"timer_setup: {function!r} is not callable")
        return TimerList(function=function, data=data)

    def mod_timer(self, timer, expires: int) -> bool:
        """mod_timer(timer, expires): (re)arm at jiffy ``expires``; was it pending?"""
        return self.sched.mod_timer(timer, expires)

    def add_timer(self, timer) -> None:
        """add_timer(timer): arm at ``timer.expires``."""
        self.sched.mod_timer(timer, timer.expires)

    def del_timer(self, timer) -> bool:
        """del_timer(timer) (6.18: timer_delete): was it pending?"""
        return self.sched.del_timer(timer)

    def tasklet_setup(self, func: Callable, data: Any = None):
        """tasklet_init(t, func, data): a kmemsim.sched.Tasklet running func(data) in softirq context."""
        from .sched import Tasklet

        if not callable(func):
            raise UsageError(f"tasklet_setup: {func!r} is not callable")
        return Tasklet(func=func, data=data)

    def tasklet_schedule(self, t) -> None:
        """tasklet_schedule(t): runs at the next irq_exit, local_bh_enable or k.run()."""
        self.sched.tasklet_schedule(t)

    def schedule_work(self, fn: Callable[[], None]) -> None:
        """schedule_work(work): fn() runs later in a kworker (process context, may sleep)."""
        if not callable(fn):
            raise UsageError(f"schedule_work: {fn!r} is not callable")
        self.sched.queue_work(fn)

    def run(self, until: int | None = None, *, ms: int | None = None) -> None:
        """Let time pass and the other tasks run: until jiffy ``until``, for ``ms`` milliseconds,
        or (neither) until nothing is runnable and no timer is pending."""
        if ms is not None:
            until = self.jiffies + self.msecs_to_jiffies(ms)
        self.sched.run(until)

    def shutdown(self) -> None:
        """Stop the machine's task threads (tests that make many machines with kthreads)."""
        self.sched.shutdown()

    # ================================================================ mempool (mm/mempool.py)
    def _mempools(self):
        mp = self.__dict__.get("mempool_impl")
        if mp is None:
            from .mm.mempool import MempoolSubsys

            mp = self.mempool_impl = MempoolSubsys(self)
            self.register_check("mempool", mp.check)
        return mp

    def mempool_create(self, min_nr: int, alloc_fn: Callable, free_fn: Callable, pool_data: Any = None):
        """mempool_create(min_nr, alloc_fn, free_fn, pool_data): a pool with min_nr elements
        preallocated with GFP_KERNEL, or None.  alloc_fn(gfp, pool_data) -> element or 0;
        free_fn(element, pool_data)."""
        mp = self._mempools()
        return mp.create_node(min_nr, alloc_fn, free_fn, pool_data, mp.GFP_KERNEL)

    def mempool_create_node(self, min_nr: int, alloc_fn: Callable, free_fn: Callable, pool_data: Any,
                            gfp_mask: int, node_id: int = -1):
        """mempool_create_node(min_nr, alloc_fn, free_fn, pool_data, gfp, nid)."""
        return self._mempools().create_node(min_nr, alloc_fn, free_fn, pool_data, gfp_mask, node_id)

    def mempool_init(self, pool, min_nr: int, alloc_fn: Callable, free_fn: Callable, pool_data: Any = None) -> int:
        """mempool_init(pool, ...) for an embedded pool (``kmemsim.Mempool()``): 0 or -ENOMEM."""
        mp = self._mempools()
        return mp.init_node(pool, min_nr, alloc_fn, free_fn, pool_data, mp.GFP_KERNEL)

    def mempool_exit(self, pool) -> None:
        """mempool_exit(pool): free the reserve of an embedded pool."""
        self._mempools().exit(pool)

    def mempool_destroy(self, pool) -> None:
        """mempool_destroy(pool): NULL (None) is fine."""
        self._mempools().destroy(pool)

    def mempool_alloc(self, pool, gfp_mask: int) -> Any:
        """mempool_alloc(pool, gfp): the allocator first, then the reserve; with
        __GFP_DIRECT_RECLAIM it sleeps until an element is freed and never returns NULL."""
        return self._mempools().alloc(pool, gfp_mask)

    def mempool_alloc_preallocated(self, pool) -> Any:
        """mempool_alloc_preallocated(pool): a reserve element or 0."""
        return self._mempools().alloc_preallocated(pool)

    def mempool_free(self, element: Any, pool) -> None:
        """mempool_free(element, pool): refills the reserve (waking a waiter) or frees."""
        self._mempools().free(element, pool)

    def mempool_resize(self, pool, new_min_nr: int) -> int:
        """mempool_resize(pool, new_min_nr): 0 or -ENOMEM."""
        return self._mempools().resize(pool, new_min_nr)

    def mempool_alloc_slab(self, gfp_mask: int, cache) -> int:
        """mempool_alloc_slab(gfp, pool_data): kmem_cache_alloc (VM_BUG_ON a cache with a ctor)."""
        return self.kmem_cache_alloc(cache, gfp_mask)

    def mempool_free_slab(self, element: int, cache) -> None:
        """mempool_free_slab(element, pool_data)."""
        self.kmem_cache_free(cache, element)

    def mempool_kmalloc(self, gfp_mask: int, size: int) -> int:
        """mempool_kmalloc(gfp, pool_data): kmalloc(size, gfp)."""
        return self.kmalloc(size, gfp_mask)

    def mempool_kfree(self, element: int, size: int) -> None:
        """mempool_kfree(element, pool_data)."""
        self.kfree(element)

    def mempool_alloc_pages(self, gfp_mask: int, order: int):
        """mempool_alloc_pages(gfp, pool_data): alloc_pages(gfp, order) (a Page, or None)."""
        return self.alloc_pages(gfp_mask, order)

    def mempool_free_pages(self, page, order: int) -> None:
        """mempool_free_pages(element, pool_data): __free_pages(page, order)."""
        self.free_pages_struct(page, order)

    def mempool_create_slab_pool(self, min_nr: int, cache):
        """mempool_create_slab_pool(min_nr, kmem_cache)."""
        if getattr(cache, "ctor", None) is not None:
            self.bug(["kernel BUG at mm/mempool.c:569!"], kind="mempool_slab_ctor", oops=True,
                     oops_str="invalid opcode")  # VM_BUG_ON(mem->ctor) in mempool_alloc_slab
        return self.mempool_create(min_nr, self.mempool_alloc_slab, self.mempool_free_slab, cache)

    def mempool_create_kmalloc_pool(self, min_nr: int, size: int):
        """mempool_create_kmalloc_pool(min_nr, size)."""
        return self.mempool_create(min_nr, self.mempool_kmalloc, self.mempool_kfree, size)

    def mempool_create_kvmalloc_pool(self, min_nr: int, size: int):
        """mempool_create_kvmalloc_pool(min_nr, size)."""
        return self.mempool_create(min_nr, lambda g, n: self.kvmalloc(n, g), lambda e, n: self.kvfree(e), size)

    def mempool_create_page_pool(self, min_nr: int, order: int):
        """mempool_create_page_pool(min_nr, order): elements are Pages."""
        return self.mempool_create(min_nr, self.mempool_alloc_pages, self.mempool_free_pages, order)

    # ================================================================ highmem: kmap (helper section)
    def _boot_highmem_dma(self) -> None:
        """page_address_init()/kmap_init() (mm/highmem.py) and the DMA mapping layer (mm/dma.py)."""
        from .mm.dma import DmaMapping
        from .mm.highmem import Highmem

        self.highmem_impl = Highmem(self)
        self.dma_impl = DmaMapping(self)

    def kmap(self, page: Page) -> int:
        """kmap(page): a kernel address for the page (lowmem: page_address(); highmem: a pkmap
        entry, may sleep until one is free).  Undo with kunmap(page)."""
        return self.highmem_impl.kmap(page)

    def kunmap(self, page: Page) -> None:
        """kunmap(page): takes the page, not the address."""
        self.highmem_impl.kunmap(page)

    def kmap_atomic(self, page: Page, km_type: int | str | None = None) -> int:
        """kmap_atomic(page) on 6.18; kmap_atomic(page, type) on 2.6.24 (type: an int or a
        name such as "KM_USER0").  Preemption is off until kunmap_atomic."""
        return self.highmem_impl.kmap_atomic(page, km_type)

    def kunmap_atomic(self, addr: int, km_type: int | str | None = None) -> None:
        """kunmap_atomic(addr) on 6.18; kunmap_atomic(addr, type) on 2.6.24."""
        self.highmem_impl.kunmap_atomic(addr, km_type)

    def kmap_local_page(self, page: Page) -> int:
        """kmap_local_page(page) (6.x semantics; on the 2.6.24 profile an anachronism, see
        docs/highmem-dma.md): a CPU-local slot; undo with kunmap_local(addr), innermost first."""
        return self.highmem_impl.kmap_local_page(page)

    def kunmap_local(self, addr: int) -> None:
        """kunmap_local(addr)."""
        self.highmem_impl.kunmap_local(addr)

    def kmap_to_page(self, addr: int) -> Page:
        """kmap_to_page(addr) (2.6.24: kmap_atomic_to_page): the page behind a kmap address."""
        return self.highmem_impl.kmap_to_page(addr)

    def kmap_flush_unused(self) -> None:
        """kmap_flush_unused(): unmap the pkmap entries nobody uses."""
        self.highmem_impl.kmap_flush_unused()

    # ================================================================ ioremap, resources, devices (helper section)
    def _boot_ioremap(self) -> None:
        """The iomem resource tree from the e820 map (kmemsim.mm.resource) and ioremap
        with its devices (kmemsim.mm.ioremap)."""
        from .mm.ioremap import Ioremap
        from .mm.resource import IoResources

        self.resources = IoResources(self)
        self.ioremap_impl = Ioremap(self)

    @property
    def iomem_resource(self):
        """iomem_resource: the root of the I/O memory resource tree (a Resource)."""
        return self.resources.iomem_resource

    def request_mem_region(self, start: int, n: int, name: str):
        """request_mem_region(start, n, name): a busy Resource nested under the non-busy ones
        holding it, or None (NULL) when a busy resource is in the way."""
        return self.resources.request_mem_region(start, n, name)

    def request_mem_region_exclusive(self, start: int, n: int, name: str):
        """request_mem_region_exclusive(start, n, name): IORESOURCE_EXCLUSIVE (6.x)."""
        return self.resources.request_mem_region_exclusive(start, n, name)

    def release_mem_region(self, start: int, n: int) -> None:
        """release_mem_region(start, n): the busy region must match exactly, else the kernel's warning."""
        self.resources.release_mem_region(start, n)

    def request_resource(self, root, new) -> int:
        """request_resource(root, new): 0 or -EBUSY."""
        from .mm.resource import request_resource

        return request_resource(root, new)

    def insert_resource(self, parent, new) -> int:
        """insert_resource(parent, new): 0 or -EBUSY; resources inside ``new`` become its children."""
        from .mm.resource import insert_resource

        return insert_resource(parent, new)

    def release_resource(self, old) -> int:
        """release_resource(old): 0 or -EINVAL."""
        from .mm.resource import release_resource

        return release_resource(old)

    def add_device(self, name: str, phys: int, size: int, registers=None, *, bar: str | None = None):
        """Put a device (kmemsim.mm.ioremap.Device) at physical [phys, phys + size), outside RAM,
        with its resource (named ``bar`` or ``name``) in iomem; ``registers`` is a list of
        kmemsim.mm.ioremap.Register (or {offset: Register})."""
        return self.ioremap_impl.add_device(name, phys, size, registers, bar=bar)

    def remove_device(self, dev) -> None:
        """Hot-remove a device that nothing maps or requests."""
        self.ioremap_impl.remove_device(dev)

    def ioremap(self, phys_addr: int, size: int) -> int:
        """ioremap(phys, size): the __iomem address, or 0 (NULL); refuses RAM (6.18 UC-;
        2.6.24 cached)."""
        return self.ioremap_impl.ioremap(phys_addr, size)

    def ioremap_uc(self, phys_addr: int, size: int) -> int:
        """ioremap_uc(phys, size): strong UC (6.x)."""
        return self.ioremap_impl.ioremap_uc(phys_addr, size)

    def ioremap_wc(self, phys_addr: int, size: int) -> int:
        """ioremap_wc(phys, size): write-combining (6.x)."""
        return self.ioremap_impl.ioremap_wc(phys_addr, size)

    def ioremap_cache(self, phys_addr: int, size: int) -> int:
        """ioremap_cache(phys, size): write-back (6.x)."""
        return self.ioremap_impl.ioremap_cache(phys_addr, size)

    def ioremap_nocache(self, phys_addr: int, size: int) -> int:
        """ioremap_nocache(phys, size): 2.6.24 only (removed in 5.6)."""
        return self.ioremap_impl.ioremap_nocache(phys_addr, size)

    def iounmap(self, addr: int) -> None:
        """iounmap(addr): unmap an ioremap; bad addresses are reported as the kernel does."""
        self.ioremap_impl.iounmap(addr)

    def readb(self, addr: int) -> int:
        """readb(addr): one 8-bit MMIO load."""
        return self.ioremap_impl.readX(addr, 1, "readb")

    def readw(self, addr: int) -> int:
        """readw(addr): one 16-bit MMIO load."""
        return self.ioremap_impl.readX(addr, 2, "readw")

    def readl(self, addr: int) -> int:
        """readl(addr): one 32-bit MMIO load."""
        return self.ioremap_impl.readX(addr, 4, "readl")

    def readq(self, addr: int) -> int:
        """readq(addr): one 64-bit MMIO load (64-bit kernels)."""
        return self.ioremap_impl.readX(addr, 8, "readq")

    def writeb(self, value: int, addr: int) -> None:
        """writeb(value, addr): one 8-bit MMIO store (the kernel's argument order)."""
        self.ioremap_impl.writeX(value, addr, 1, "writeb")

    def writew(self, value: int, addr: int) -> None:
        """writew(value, addr)."""
        self.ioremap_impl.writeX(value, addr, 2, "writew")

    def writel(self, value: int, addr: int) -> None:
        """writel(value, addr)."""
        self.ioremap_impl.writeX(value, addr, 4, "writel")

    def writeq(self, value: int, addr: int) -> None:
        """writeq(value, addr) (64-bit kernels)."""
        self.ioremap_impl.writeX(value, addr, 8, "writeq")

    def ioread8(self, addr: int) -> int:
        """ioread8(cookie): MMIO, or port I/O for an ioport_map() cookie."""
        return self.ioremap_impl.ioread(addr, 1)

    def ioread16(self, addr: int) -> int:
        """ioread16(cookie)."""
        return self.ioremap_impl.ioread(addr, 2)

    def ioread32(self, addr: int) -> int:
        """ioread32(cookie)."""
        return self.ioremap_impl.ioread(addr, 4)

    def iowrite8(self, value: int, addr: int) -> None:
        """iowrite8(value, cookie)."""
        self.ioremap_impl.iowrite(value, addr, 1)

    def iowrite16(self, value: int, addr: int) -> None:
        """iowrite16(value, cookie)."""
        self.ioremap_impl.iowrite(value, addr, 2)

    def iowrite32(self, value: int, addr: int) -> None:
        """iowrite32(value, cookie)."""
        self.ioremap_impl.iowrite(value, addr, 4)

    def ioport_map(self, port: int, nr: int) -> int:
        """ioport_map(port, nr): the port I/O cookie for ioread*/iowrite*."""
        return self.ioremap_impl.ioport_map(port, nr)

    def memcpy_fromio(self, to: int, src: int, n: int) -> None:
        """memcpy_fromio(to, from, n): device memory to kernel memory."""
        self.ioremap_impl.memcpy_fromio(to, src, n)

    def memcpy_toio(self, to: int, src: int, n: int) -> None:
        """memcpy_toio(to, from, n): kernel memory to device memory."""
        self.ioremap_impl.memcpy_toio(to, src, n)

    def memset_io(self, addr: int, c: int, n: int) -> None:
        """memset_io(addr, c, n)."""
        self.ioremap_impl.memset_io(addr, c, n)

    # ================================================================ DMA mapping (helper section)
    def dma_device(self, name: str, dma_mask: int | None = (1 << 32) - 1, coherent_dma_mask: int | None = None,
                   *, driver: str | None = None, bus: str = "platform"):
        """A struct device for the DMA API (a kmemsim.mm.dma.DmaDevice); dma_mask defaults to
        DMA_BIT_MASK(32), coherent_dma_mask to dma_mask."""
        return self.dma_impl.dma_device(name, dma_mask, coherent_dma_mask, driver=driver, bus=bus)

    def dma_map_single(self, dev, addr: int, size: int, direction: int) -> int:
        """dma_map_single(dev, ptr, size, dir): the bus address, or DMA_MAPPING_ERROR (vmalloc or
        ioremap memory, or beyond the device's mask)."""
        return self.dma_impl.dma_map_single(dev, addr, size, direction)

    def dma_unmap_single(self, dev, dma_addr: int, size: int, direction: int) -> None:
        """dma_unmap_single(dev, dma_addr, size, dir)."""
        self.dma_impl.dma_unmap_single(dev, dma_addr, size, direction)

    def dma_map_page(self, dev, page: Page, offset: int, size: int, direction: int) -> int:
        """dma_map_page(dev, page, offset, size, dir)."""
        return self.dma_impl.dma_map_page(dev, page, offset, size, direction)

    def dma_unmap_page(self, dev, dma_addr: int, size: int, direction: int) -> None:
        """dma_unmap_page(dev, dma_addr, size, dir)."""
        self.dma_impl.dma_unmap_page(dev, dma_addr, size, direction)

    def dma_mapping_error(self, dev, dma_addr: int) -> int:
        """dma_mapping_error(dev, dma_addr): -ENOMEM for DMA_MAPPING_ERROR, else 0."""
        return self.dma_impl.dma_mapping_error(dev, dma_addr)

    def dma_set_mask(self, dev, mask: int) -> int:
        """dma_set_mask(dev, mask): 0 or -EIO."""
        return self.dma_impl.dma_set_mask(dev, mask)

    def dma_set_coherent_mask(self, dev, mask: int) -> int:
        """dma_set_coherent_mask(dev, mask): 0 or -EIO."""
        return self.dma_impl.dma_set_coherent_mask(dev, mask)

    def dma_set_mask_and_coherent(self, dev, mask: int) -> int:
        """dma_set_mask_and_coherent(dev, mask): 0 or -EIO."""
        return self.dma_impl.dma_set_mask_and_coherent(dev, mask)

    def dma_alloc_coherent(self, dev, size: int, gfp_mask: int | None = None) -> tuple[int, int]:
        """dma_alloc_coherent(dev, size, &dma_handle, gfp): returns (cpu_addr, dma_handle), zeroed
        contiguous memory from the zone the coherent mask needs; (0, 0) on failure."""
        return self.dma_impl.dma_alloc_coherent(dev, size, gfp_mask)

    def dma_free_coherent(self, dev, size: int, cpu_addr: int, dma_handle: int) -> None:
        """dma_free_coherent(dev, size, cpu_addr, dma_handle)."""
        self.dma_impl.dma_free_coherent(dev, size, cpu_addr, dma_handle)

    def device_release_driver(self, dev) -> None:
        """device_release_driver(dev): unbind; DMA-API debugging reports what the driver left mapped."""
        self.dma_impl.device_release_driver(dev)

    # ================================================================ fault injection (helper section)
    @property
    def fault_inject(self):
        """failslab and fail_page_alloc (kmemsim.mm.fault_inject.FaultInject): their fault_attrs
        with the counts of calls and injected failures (``k.fault_inject.failslab.failures``),
        /proc/<pid>/make-it-fail and fail-nth (``read_proc``/``write_proc``).  The knobs are
        read and written with ``k.debugfs("failslab/times")``, ``k.debugfs("failslab/times", 3)``."""
        from .mm.fault_inject import get

        return get(self)

    # ================================================================ reclaim, OOM (helper section)
    def _boot_reclaim(self) -> None:
        """kswapd_init(), the page cache, swap and the OOM killer (kmemsim.mm.vmscan)."""
        from .mm.vmscan import boot

        self.vmscan = boot(self)

    def page_cache_add(self, file, nr_pages: int, dirty: bool = False) -> int:
        """Read (``dirty``: write) ``nr_pages`` new pages of ``file`` (a name or an
        AddressSpace) into the page cache; each is a GFP_HIGHUSER_MOVABLE page on the
        inactive file LRU.  Returns the pages added (fewer if memory ran out)."""
        return self.vmscan.page_cache_add(file, nr_pages, dirty)

    def find_file(self, name: str):
        """The page cache's AddressSpace of ``name`` (``.nrpages``, ``.pages``), or None."""
        return self.vmscan.files.get(name)

    def mark_page_accessed(self, file, index: int | None = None) -> int:
        """A read hits page ``index`` of ``file`` (every cached page when None):
        folio_mark_accessed() -- the second access activates the page."""
        return self.vmscan.mark_page_accessed(file, index)

    def set_page_dirty(self, file, index: int | None = None) -> int:
        """A write dirties page ``index`` of ``file`` (every cached page when None)."""
        return self.vmscan.set_page_dirty(file, index)

    def truncate_file(self, file) -> int:
        """truncate_inode_pages(): drop every page of the file; returns the pages freed."""
        return self.vmscan.truncate(file)

    def unlink_file(self, file) -> int:
        """Delete the file and its page cache; returns the pages freed."""
        return self.vmscan.unlink(file)

    def sync(self) -> int:
        """sync(): write back every dirty page and wait; returns the pages written."""
        return self.vmscan.sync()

    def wakeup_flusher_threads(self) -> int:
        """wakeup_flusher_threads(): start writeback of every dirty page (the writes
        complete at the next reclaim pass or k.run_writeback()); returns writes queued."""
        return self.vmscan.wakeup_flusher_threads("sync")

    def run_writeback(self) -> int:
        """The disk completes the queued writeback now; returns the writes completed."""
        return self.vmscan.run_writeback()

    def drop_caches(self, mode: int) -> None:
        """echo mode > /proc/sys/vm/drop_caches (1 page cache, 2 slab shrinkers, 3 both)."""
        self.vmscan.drop_caches(mode)

    def swapon(self, size, name: str = "/dev/kmemsim-swap"):
        """swapon(): a swap area of ``size`` ("64M"); SwapTotal/SwapFree show it."""
        return self.vmscan.swapon(size, name)

    def swapoff(self) -> int:
        """swapoff(): swapped pages come back; UsageError (-ENOMEM) if they cannot."""
        return self.vmscan.swapoff()

    def spawn_process(self, name: str, rss=0, **kw):
        """A simulated user process that touches ``rss`` of anonymous memory (sizes are
        bytes or "16M"); keywords ``file=``, ``shmem=``, ``swap=``, ``vm=``,
        ``oom_score_adj=``, ``uid=``, ``d_state=`` (see kmemsim.mm.oom_kill).  Its page
        faults allocate GFP_HIGHUSER_MOVABLE pages and may reclaim or OOM-kill."""
        return self.vmscan.spawn_process(name, rss, **kw)

    def process_fault(self, proc, size) -> int:
        """The process touches ``size`` more anonymous memory; returns pages faulted in."""
        return self.vmscan.process_fault(proc, size)

    def process_swapin(self, proc, nr_pages: int | None = None) -> int:
        """The process touches its swapped-out pages (major faults); returns pages read."""
        return self.vmscan.process_swapin(proc, nr_pages)

    def process_touch(self, proc) -> int:
        """The process accesses every page it maps (their ptes become young)."""
        return self.vmscan.process_touch(proc)

    def kill_process(self, proc) -> int:
        """kill -9 (a Process or a pid): it exits and its memory is freed; returns pages freed."""
        return self.vmscan.kill_process(proc)

    @property
    def processes(self) -> list:
        """The simulated user processes, in creation order (for_each_process)."""
        return list(self.vmscan.processes)

    def oom_badness(self, proc) -> int:
        """oom_badness(p, totalpages): the points the OOM killer gives the process."""
        rc = self.vmscan
        return rc.oom_badness(rc.process(proc), rc.totalpages())

    def out_of_memory(self) -> bool:
        """SysRq-f (moom_callback): out_of_memory() with GFP_KERNEL and order -1 -- the report
        and a kill, never a panic; False ("OOM request ignored. No task eligible") if none."""
        rc = self.vmscan
        gfp = self.gfp.value("GFP_KERNEL")
        if not rc.out_of_memory(gfp, -1, min(self.gfp.zone(gfp), len(self.page_alloc.zones) - 1)):
            self.printk("OOM request ignored. No task eligible")
            return False
        return True

    def try_to_free_pages(self, gfp_mask: int, order: int = 0) -> int:
        """try_to_free_pages(): one direct-reclaim call for an allocation of ``gfp_mask``;
        returns the pages reclaimed."""
        ctx = self.page_alloc.prepare(gfp_mask)
        return self.vmscan.try_to_free_pages(ctx.zonelist, order, gfp_mask, ctx.highest_zoneidx)

    def wakeup_kswapd(self, order: int = 0, highest_zoneidx: int | None = None) -> None:
        """wakeup_kswapd(zone, GFP_KERNEL, order, highest_zoneidx): record the request and
        wake kswapd if its node is not balanced."""
        pa = self.page_alloc
        hz = len(pa.zones) - 1 if highest_zoneidx is None else highest_zoneidx
        z = next(z for z in reversed(pa.zones) if z.managed_pages and z.idx <= hz)
        self.vmscan.wakeup_kswapd(z, self.gfp.value("GFP_KERNEL"), order, hz)

    def run_kswapd(self) -> bool:
        """Run kswapd's pending work now (balance_pgdat to the high watermarks, then its
        sleep); False if it had not been woken."""
        return self.vmscan.run_kswapd()

    def balance_pgdat(self, order: int = 0, highest_zoneidx: int | None = None) -> int:
        """balance_pgdat(pgdat, order, highest_zoneidx) as kswapd runs it; the order reached."""
        rc = self.vmscan
        hz = len(self.page_alloc.zones) - 1 if highest_zoneidx is None else highest_zoneidx
        prev = rc.memalloc
        rc.memalloc = True
        try:
            return rc.balance_pgdat(order, hz)
        finally:
            rc.memalloc = prev

    def shrinker_alloc(self, name: str, count_objects, scan_objects, **kw):
        """shrinker_alloc(): a Shrinker with count_objects(shrinker, sc) and
        scan_objects(shrinker, sc) (``sc.nr_to_scan``, ``sc.gfp_mask``); ``seeks=``, ``batch=``."""
        return self.vmscan.shrinker_alloc(name, count_objects, scan_objects, **kw)

    def shrinker_register(self, shrinker) -> None:
        """shrinker_register(): reclaim calls it from now on."""
        self.vmscan.shrinker_register(shrinker)

    def shrinker_free(self, shrinker) -> None:
        """shrinker_free(): unregister and free."""
        self.vmscan.shrinker_free(shrinker)

    def register_shrinker(self, name: str, count_objects, scan_objects, **kw):
        """register_shrinker() (the API before 6.7): shrinker_alloc + shrinker_register."""
        s = self.vmscan.shrinker_alloc(name, count_objects, scan_objects, **kw)
        self.vmscan.shrinker_register(s)
        return s

    def unregister_shrinker(self, shrinker) -> None:
        """unregister_shrinker() (before 6.7): shrinker_free."""
        self.vmscan.shrinker_free(shrinker)

    def shrink_slab(self, gfp_mask: int, priority: int = 0) -> int:
        """shrink_slab(gfp, nid, memcg, priority): the objects the shrinkers freed."""
        return self.vmscan.shrink_slab(gfp_mask, priority)

    # ================================================================ tracepoints (helper section)
    def trace_start(self, sink, events=None):
        """Turn the kmem tracepoints on: every kmalloc, kfree, kmem_cache_alloc/free and
        page allocator event is written to ``sink`` in Linux 6.18's ftrace text (a text
        stream or a callable taking each line) or, for a list, as event records.
        ``events`` limits them to some names.  Returns the KmemTracer (its ``counts``);
        kmemsim.tracepoints.kmem says which moments the model has."""
        from .tracepoints.kmem import trace_start

        return trace_start(self, sink, events)

    def trace_stop(self):
        """Turn the kmem tracepoints off again (nothing to do when they are off)."""
        from .tracepoints.kmem import trace_stop

        return trace_stop(self)

    def tracing(self, sink, events=None):
        """``with k.tracing(sink) as tr:`` -- the kmem tracepoints on inside the block."""
        from .tracepoints.kmem import tracing

        return tracing(self, sink, events)

    # ================================================================ slab helpers
    def find_cache(self, name: str):
        """The cache named ``name`` (or whose alias it is), or None."""
        return self.slub.by_name.get(name)

    def sysfs(self, path: str) -> str:
        """The text of /sys/<path>, e.g. ``k.sysfs("kernel/slab/kmalloc-64/order")``."""
        from .mm.slab_common import slab_sysfs

        p = path.removeprefix("/sys/").strip("/")
        parts = p.split("/")
        if len(parts) == 4 and parts[:2] == ["kernel", "slab"]:
            return slab_sysfs(self, parts[2], parts[3])
        raise UsageError(f"/sys/{p}: not modelled")

    def sysfs_write(self, path: str, value: str) -> None:
        """Write ``value`` to /sys/<path>: ``kernel/slab/<c>/validate`` (1 runs
        validate_slab_cache) and ``kernel/slab/<c>/shrink`` (1 runs kmem_cache_shrink)."""
        p = path.removeprefix("/sys/").strip("/")
        parts = p.split("/")
        if len(parts) == 4 and parts[:2] == ["kernel", "slab"] and parts[3] in ("validate", "shrink"):
            cache = self.slub.by_name.get(parts[2])
            if cache is None:
                raise UsageError(f"/sys/{p}: no such cache")
            if str(value).strip() != "1":
                raise UsageError(f"/sys/{p}: write 1 (-EINVAL for {value!r})")
            if parts[3] == "validate":
                self.validate_slab_cache(cache)
            else:
                self.kmem_cache_shrink(cache)
            return
        cache = self.slub.by_name.get(parts[2]) if len(parts) == 4 and parts[:2] == ["kernel", "slab"] else None
        if cache is not None and parts[3] == "failslab" and self.fault_inject.failslab is not None:
            self.fault_inject.failslab_store(cache, value)  # CONFIG_FAILSLAB (kmemsim.mm.fault_inject)
            return
        raise UsageError(f"/sys/{p}: not writable in the model")

    def panic(self, message: str) -> None:
        """panic(): "Kernel panic - not syncing: ..."; the machine stops (always raises)."""
        lines = [f"Kernel panic - not syncing: {message}"] + self.dump_stack_lines()
        lines.append(f"---[ end Kernel panic - not syncing: {message} ]---")
        text = "\n".join(lines)
        self.printk(text, KERN_ALERT)
        self.halted = True
        raise KernelBug("panic", text)

    # ================================================================ views
    def proc(self, name: str) -> str:
        """The text of /proc/<name> as this machine's kernel prints it (``k.proc("buddyinfo")``)."""
        from .views.procfs import PROC

        if name.removeprefix("/proc/") == "slabinfo":
            from .mm.slab_common import slabinfo

            return slabinfo(self)
        fn = PROC.get(name.removeprefix("/proc/"))
        if fn is None:
            raise UsageError(f"/proc/{name}: not modelled; known: {', '.join(sorted(PROC))}")
        return fn(self)

    def debugfs(self, path: str, value: Any = None) -> str | None:
        """The text of /sys/kernel/debug/<path> (``k.debugfs("extfrag/extfrag_index")``); with
        ``value``, write it as ``echo value >`` would (the fault-injection knobs:
        ``k.debugfs("failslab/probability", 100)``)."""
        from .views.procfs import DEBUGFS

        rel = path.removeprefix("/sys/kernel/debug/").strip("/")
        parts = rel.split("/")
        if parts[0] in ("failslab", "fail_page_alloc"):
            return self.fault_inject.debugfs(rel, value)
        if value is not None:
            raise UsageError(f"debugfs {path}: not writable in the model")
        if len(parts) == 3 and parts[0] == "slab" and parts[2] in ("alloc_traces", "free_traces"):
            # created only for caches with SLAB_STORE_USER (6.18 debugfs_slab_add)
            s = self.slub.by_name.get(parts[1])
            if s is None or not s.flags & self.slub.geo.SLAB_STORE_USER:
                raise UsageError(f"debugfs {path}: no such file (only caches with SLAB_STORE_USER have it)")
            return self.slub.dbg.traces(s, 0 if parts[2] == "alloc_traces" else 1)
        fn = DEBUGFS.get(rel)
        if fn is None:
            raise UsageError(f"debugfs {path}: not modelled; known: {', '.join(sorted(DEBUGFS))}")
        return fn(self)

    def node_stat(self, name: str) -> int:
        """A node_stat_item counter (nr_slab_reclaimable, nr_page_table_pages ...); subsystems
        that keep one register it with :meth:`register_node_stat`; others are 0."""
        fn = self._node_stats.get(name)
        return fn() if fn else 0

    def register_node_stat(self, name: str, fn: Callable[[], int]) -> None:
        self._node_stats[name] = fn

    def memmap_boot_pages(self) -> int:
        """Pages of struct page arrays allocated at boot (NR_MEMMAP_BOOT_PAGES)."""
        s = self.page_shift
        return sum((r.end - r.start) >> s for r in self.arch.setup.reserved if "struct page" in r.name)

    def vmalloc_nr_pages(self) -> int:
        """Pages mapped by vmalloc (meminfo VmallocUsed); 0 until vmalloc exists."""
        fn = self._node_stats.get("_vmalloc_nr_pages")
        return fn() if fn else 0

    def direct_map_sizes(self) -> list[tuple[str, int]]:
        """DirectMap4k/2M/1G (kB): the direct map cut into the largest aligned pages
        (split_mem_range() of arch/x86/mm/init.c, without the later splits for
        text and rodata permissions)."""
        if self.profile.arch != "x86_64":
            return [("4k", 0), ("4M", 0)]
        sizes = {"4k": 0, "2M": 0, "1G": 0}
        M2, G1 = 1 << 21, 1 << 30
        for s, e in self.arch.setup.mapped:
            a = s
            while a < e:
                if a % G1 == 0 and a + G1 <= e:
                    sizes["1G"] += G1
                    a += G1
                elif a % M2 == 0 and a + M2 <= e:
                    sizes["2M"] += M2
                    a += M2
                else:
                    step = min(e, (a // M2 + 1) * M2) - a
                    sizes["4k"] += step
                    a += step
        return [(k, v >> 10) for k, v in sizes.items()]

    # ================================================================ log
    def printk(self, text: str, level: int = KERN_INFO) -> None:
        """Append to the kernel log (each line one record at the current time)."""
        self.log.printk(text, level)

    def dmesg(self, level: int | None = None) -> str:
        """The kernel log with ``[    0.000000]`` timestamps, as dmesg prints it."""
        return self.log.dmesg(level=level)

    # ================================================================ CPUs
    @property
    def cpu(self) -> int:
        """smp_processor_id(): the CPU the caller runs on."""
        return self._cpu

    def smp_processor_id(self) -> int:
        return self._cpu

    @property
    def jiffies(self) -> int:
        """jiffies: HZ ticks of the machine clock from INITIAL_JIFFIES,
        ``(unsigned long)(unsigned int)(-300 * HZ)`` (include/linux/jiffies.h), so the
        32-bit counter wraps five minutes after boot, as in the kernel."""
        hz = self.profile.hz
        return ((1 << 32) - 300 * hz + (self.clock.ns * hz) // 1_000_000_000) % (1 << self.layout.bits)

    @contextlib.contextmanager
    def on_cpu(self, n: int) -> Iterator[CPU]:
        """Run the body on CPU ``n``: ``with k.on_cpu(1): k.kmalloc(...)``."""
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < len(self.cpus):
            raise UsageError(f"on_cpu({n!r}): this machine has CPUs 0..{len(self.cpus) - 1}")
        prev, self._cpu = self._cpu, n
        try:
            yield self.cpus[n]
        finally:
            self._cpu = prev

    # ================================================================ address translation
    def pa(self, vaddr: int) -> int:
        """``__pa(vaddr)``: physical address of a direct-map or kernel-image address.

        Like the kernel it is arithmetic and checks nothing: a vmalloc address
        gives a meaningless result.  With ``debug_virtual=True``
        (CONFIG_DEBUG_VIRTUAL) a bad address is a kernel BUG instead.
        """
        self._check_addr(vaddr, "vaddr")
        line = self.arch.pa_debug_bug_line(vaddr) if self.tunables.get("debug_virtual") else None
        if line is not None:
            self.bug(
                [
                    "------------[ cut here ]------------",
                    f"kernel BUG at arch/x86/mm/physaddr.c:{line}!",
                ],
                kind="debug_virtual",
                oops=True,
                oops_str="invalid opcode",
                err=0,
            )
        return self.arch.pa(vaddr)

    def va(self, paddr: int) -> int:
        """``__va(paddr)``: the direct-map address of a physical address (arithmetic only)."""
        self._check_addr(paddr, "paddr")
        return self.arch.va(paddr)

    virt_to_phys = pa
    phys_to_virt = va

    def pfn_valid(self, pfn: int) -> bool:
        """Has this pfn a struct page?"""
        return self.memmap.pfn_valid(pfn)

    def pfn_to_page(self, pfn: int) -> Page:
        return Page(self, pfn)

    def page_to_pfn(self, page: Page) -> int:
        return page.pfn

    def page_to_phys(self, page: Page) -> int:
        return page.pfn << self.page_shift

    def phys_to_page(self, paddr: int) -> Page:
        return Page(self, paddr >> self.page_shift)

    def virt_to_pfn(self, vaddr: int) -> int:
        return self.pa(vaddr) >> self.page_shift

    def virt_to_page(self, vaddr: int) -> Page:
        """``virt_to_page()``: the struct page of a direct-map address (valid iff virt_addr_valid)."""
        return Page(self, self.pa(vaddr) >> self.page_shift)

    def page_address(self, page: Page) -> int:
        """The kernel virtual address of a page: its direct-map address, or NULL (0)
        for a highmem page that is not kmapped (a kmapped one: its pkmap address)."""
        if self.arch.is_highmem_pfn(page.pfn):
            hm = self.__dict__.get("highmem_impl")
            return NULL if hm is None else hm.page_address(page.pfn)
        return self.arch.va(page.pfn << self.page_shift)

    def PageHighMem(self, page: Page) -> bool:  # noqa: N802 - kernel name
        return self.arch.is_highmem_pfn(page.pfn) and self.memmap.pfn_valid(page.pfn)

    def virt_addr_valid(self, vaddr: int) -> bool:
        """Is ``vaddr`` a direct-map (or kernel image) address backed by a struct page?"""
        self._check_addr(vaddr, "vaddr")
        return self.arch.virt_addr_valid(vaddr, self.memmap.pfn_valid)

    def is_vmalloc_addr(self, vaddr: int) -> bool:
        """``VMALLOC_START <= vaddr < VMALLOC_END`` (mm/vmalloc.c)."""
        return self.layout.vmalloc_start <= vaddr < self.layout.vmalloc_end

    # ================================================================ memory access
    def _check_addr(self, addr: int, what: str) -> None:
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise UsageError(f"{what}={addr!r}: expected an integer address")
        if not 0 <= addr < (1 << self.layout.bits):
            raise UsageError(f"{what}={addr:#x}: outside the {self.layout.bits}-bit address space")

    def _phys(self, vaddr: int, write: bool) -> int:
        """Physical address behind a mapped kernel virtual address, or an oops."""
        phys = self.arch.direct_phys(vaddr)
        if phys is None:
            vm = self.__dict__.get("vmalloc_impl")
            if vm is not None:  # through the kernel page tables
                phys = vm.translate(vaddr, write)
        if phys is None or not self.phys.backed(phys >> self.page_shift):
            self.fault(vaddr, write=write)
        return phys  # type: ignore[return-value]

    def read(self, addr: int, n: int) -> bytes:
        """Read ``n`` bytes at kernel virtual address ``addr`` (a load in the caller's code)."""
        try:
            off = addr - self.layout.page_offset
            fast = 0 <= off < self.arch.lowmem_bytes and 0 < n and (off & (self.page_size - 1)) + n <= self.page_size
        except TypeError:
            fast = False
        if fast:
            f = self.phys.frames.get(off >> self.page_shift)
            if f is not None:
                o = off & (self.page_size - 1)
                return bytes(f[o : o + n])
        return self._slow_access(addr, n, None)  # type: ignore[return-value]

    def write(self, addr: int, data: bytes | bytearray) -> None:
        """Write ``data`` at kernel virtual address ``addr`` (a store in the caller's code)."""
        try:
            off = addr - self.layout.page_offset
            n = len(data)
            fast = 0 <= off < self.arch.lowmem_bytes and 0 < n and (off & (self.page_size - 1)) + n <= self.page_size
        except TypeError:
            fast, n = False, 0
        if fast:
            f = self.phys.frames.get(off >> self.page_shift)
            if f is not None and isinstance(data, (bytes, bytearray)):
                o = off & (self.page_size - 1)
                f[o : o + n] = data
                return
        self._slow_access(addr, n, data)

    def _slow_access(self, addr: int, n: int, data: bytes | bytearray | None) -> bytes | None:
        self._check_addr(addr, "addr")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise UsageError(f"size {n!r}: expected a non-negative integer")
        if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
            raise UsageError(f"data: expected bytes, got {type(data).__name__}")
        if addr + n > (1 << self.layout.bits):
            raise UsageError(f"{addr:#x}+{n}: runs past the top of the address space")
        write = data is not None
        if self.profile.arch == "x86_64":
            from .arch.x86_64 import X86_64

            if not X86_64.canonical(addr) or (n and not X86_64.canonical(addr + n - 1)):
                self.general_protection(addr if not X86_64.canonical(addr) else addr + n - 1)
        io = self.__dict__.get("ioremap_impl")
        if io is not None and io._map_starts and io.claims(addr, n):  # __iomem memory (mm/ioremap.py)
            return io.plain_access(addr, n, data)
        # Check every page first: a fault must leave memory untouched.
        size = self.page_size
        pieces = []
        a, left = addr, n
        while left > 0:
            chunk = min(left, size - (a & (size - 1)))
            pieces.append((self._phys(a, write), chunk))
            a += chunk
            left -= chunk
        if data is None:
            return b"".join(self.phys.read(p, c) for p, c in pieces)
        view = memoryview(bytes(data))
        pos = 0
        for p, c in pieces:
            self.phys.write(p, view[pos : pos + c])
            pos += c
        return None

    # typed helpers: little-endian, like the C types on x86
    def read_u8(self, addr: int) -> int:
        return self.read(addr, 1)[0]

    def read_u16(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 2), "little")

    def read_u32(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 4), "little")

    def read_u64(self, addr: int) -> int:
        return int.from_bytes(self.read(addr, 8), "little")

    def _write_uint(self, addr: int, value: int, size: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < (1 << (8 * size)):
            raise UsageError(f"value {value!r} does not fit in u{8 * size}")
        self.write(addr, value.to_bytes(size, "little"))

    def write_u8(self, addr: int, value: int) -> None:
        self._write_uint(addr, value, 1)

    def write_u16(self, addr: int, value: int) -> None:
        self._write_uint(addr, value, 2)

    def write_u32(self, addr: int, value: int) -> None:
        self._write_uint(addr, value, 4)

    def write_u64(self, addr: int, value: int) -> None:
        self._write_uint(addr, value, 8)

    def memset(self, addr: int, c: int, n: int) -> int:
        """memset(addr, c, n); returns addr."""
        if isinstance(c, bool) or not isinstance(c, int):
            raise UsageError(f"memset value {c!r}: expected an int")
        self.write(addr, bytes([c & 0xFF]) * n)
        return addr

    def memcpy(self, dst: int, src: int, n: int) -> int:
        """memcpy(dst, src, n); returns dst.  Overlap is undefined in C; here it copies as memmove."""
        self.write(dst, self.read(src, n))
        return dst

    def memcmp(self, a: int, b: int, n: int) -> int:
        x, y = self.read(a, n), self.read(b, n)
        for p, q in zip(x, y):
            if p != q:
                return p - q
        return 0

    # ================================================================ reports
    def bug(
        self,
        lines: list[str],
        *,
        kind: str,
        oops: bool = False,
        oops_str: str = "Oops",
        err: int = 0,
        addr: int | None = None,
    ) -> None:
        """Print a kernel report and apply the on_bug policy.

        ``oops=True`` adds the die() header, CPU line, call trace and trailer and
        always raises :class:`Oops`; otherwise the report raises
        :class:`KernelBug` under ``on_bug="raise"`` and returns under "report".
        """
        out = list(lines)
        if oops:
            out += self._die_lines(oops_str, err, addr)
        text = "\n".join(out)
        self.printk(text, KERN_ALERT)
        if oops:
            raise Oops(kind, text)
        if self.on_bug == "raise":
            raise KernelBug(kind, text)

    def _die_lines(self, oops_str: str, err: int, addr: int | None) -> list[str]:
        self.die_counter += 1
        frames = user_frames()
        if self.profile.kernel_version.startswith("2."):
            self.taint.add("D")  # 2.6 die() taints before printing the header
        rip = frames[0][0] if frames else "kmemsim_entry"
        if self.profile.kernel_version.startswith("2."):
            out = [f"{oops_str}: {err & 0xFFFF:04x} [#{self.die_counter}] SMP ", "Modules linked in:"]
            out += self._cpu_lines()
            out.append(f"EIP is at {rip}")
            out.append(f"Process {self.current.comm} (pid: {self.current.pid}, ti=00000000 task=00000000 task.ti=00000000)")
            out.append("Call Trace:")
            out += [f" [<00000000>] {fn} {loc}" for fn, loc in frames]
            out.append("=======================")
            out.append(f"---[ end trace {self.seed & 0xFFFFFFFFFFFFFFFF:016x} ]---")
        else:
            out = [f"Oops: {oops_str}: {err & 0xFFFF:04x} [#{self.die_counter}] SMP NOPTI"]
            out += self._cpu_lines()
            out += [
                f"RIP: 0010:{rip}",
                "Call Trace:",
                " <TASK>",
            ]
            out += [f" {fn} {loc}" for fn, loc in frames]
            out += [" </TASK>", "Modules linked in:"]
            if addr is not None:
                out.append(f"CR2: {addr:016x}")
            out.append("---[ end trace 0000000000000000 ]---")
        self.taint.add("D")  # 6.x oops_end() taints after the dump
        return out

    def _cpu_lines(self) -> list[str]:
        """dump_stack_print_info(): the CPU line (and the taint and hardware lines)."""
        if self.profile.kernel_version.startswith("2."):
            return [f"Pid: {self.current.pid}, comm: {self.current.comm} {self._taint_str()} ({self.profile.release} #1)"]
        out = [
            f"CPU: {self.cpu} UID: {self.current.uid} PID: {self.current.pid} Comm: {self.current.comm[:20]} "
            f"{self._taint_str()} {self.profile.release} #1 PREEMPT(none) "
        ]
        if self.taint:
            names = {"D": "DIE", "B": "BAD_PAGE", "W": "WARN"}
            out.append("Tainted: " + ", ".join(f"[{t}]={names[t]}" for t in "BWD" if t in self.taint))
        out.append(f"Hardware name: kmemsim {self.profile.name}, BIOS kmemsim")
        return out

    def dump_stack_lines(self) -> list[str]:
        """dump_stack(): the CPU line and the call trace of the Python caller."""
        frames = user_frames()
        if self.profile.kernel_version.startswith("2."):
            return self._cpu_lines() + [" [<00000000>] " + f"{fn} {loc}" for fn, loc in frames]
        return self._cpu_lines() + ["Call Trace:", " <TASK>"] + [f" {fn} {loc}" for fn, loc in frames] + [" </TASK>"]

    def warn_once(self, key: str, where: str, message: str = "") -> None:
        """WARN_ON_ONCE(): the first time for ``key``, the kernel's WARNING report; taint W."""
        done = self.__dict__.setdefault("_warned", set())
        if key in done:
            return
        done.add(key)
        self.warn(where, message)

    def user_frames_top(self) -> str | None:
        """The innermost caller frame's function name (the model's %pS of _RET_IP_)."""
        f = user_frames(1)
        return f[0][0] if f else None

    def warn(self, where: str, message: str = "") -> None:
        """WARN() / WARN_ON(): the kernel's WARNING report (__warn); taint W afterwards."""
        lines = ["------------[ cut here ]------------"]
        if message:
            lines.append(message)
        lines.append(f"WARNING: CPU: {self.cpu} PID: {self.current.pid} at {where}")
        lines.append("Modules linked in:")
        lines += self.dump_stack_lines()
        lines.append("---[ end trace 0000000000000000 ]---")
        self.taint.add("W")
        self.printk("\n".join(lines), KERN_WARNING)

    def _taint_str(self) -> str:
        """print_tainted(): "Not tainted", or one column per taint flag."""
        if not self.taint:
            return "Not tainted"
        if self.profile.kernel_version.startswith("2."):
            # 2.6.24 kernel/panic.c: 10 columns, D is the 8th
            cols = ["G"] + [" "] * 9
        else:
            # 6.18 kernel/panic.c: TAINT_FLAGS_COUNT (20) columns, not trimmed
            cols = ["G"] + [" "] * 19
        for letter, bit in (("B", 5), ("D", 7), ("W", 9)):  # TAINT_BAD_PAGE, TAINT_DIE, TAINT_WARN
            if letter in self.taint and bit < len(cols):
                cols[bit] = letter
        return "Tainted: " + "".join(cols)

    def fault(self, addr: int, *, write: bool) -> None:
        """A kernel-mode page fault at ``addr`` that no mapping resolves: the oops.  A write
        to a present read-only page is a protection fault (X86_PF_PROT)."""
        prot = False
        if write and self.arch.direct_phys(addr) is None:
            vm = self.__dict__.get("vmalloc_impl")
            if vm is not None:
                try:
                    e, _level = vm.pt.lookup_address(addr)
                except KmemsimError:
                    e = None
                prot = bool(e and e & 1)  # _PAGE_PRESENT
        err = (0x2 if write else 0x0) | (0x1 if prot else 0x0)  # X86_PF_WRITE, X86_PF_PROT; supervisor
        ps = self.page_size
        if self.profile.kernel_version.startswith("2."):
            what = "NULL pointer dereference" if addr < ps else "paging request"
            lines = [
                f"BUG: unable to handle kernel {what} at virtual address {addr:08x}",
                "printing eip: 00000000 *pde = 00000000 ",
            ]
        else:
            if addr < ps:
                first = f"BUG: kernel NULL pointer dereference, address: {addr:016x}"
            else:
                first = f"BUG: unable to handle page fault for address: {addr:016x}"
            lines = [
                first,
                f"#PF: supervisor {'write' if write else 'read'} access in kernel mode",
                f"#PF: error_code(0x{err:04x}) - {'permissions violation' if prot else 'not-present page'}",
            ]
        self.bug(lines, kind="page_fault", oops=True, oops_str="Oops", err=err, addr=addr)

    def general_protection(self, addr: int) -> None:
        """x86_64: an access to a non-canonical address is a #GP, not a page fault."""
        self.bug(
            [],
            kind="general_protection",
            oops=True,
            oops_str=f"general protection fault, probably for non-canonical address {addr:#x}",
            err=0,
        )

    # ================================================================ invariants
    def register_check(self, name: str, fn: Callable[[], None]) -> None:
        """Add a subsystem's invariant check to :meth:`check`."""
        self._checks.append((name, fn))

    def check(self) -> None:
        """Verify every invariant of every subsystem; raises :class:`InvariantError`."""
        for _name, fn in self._checks:
            fn()

    def _check_memmap(self) -> None:
        mm, s = self.memmap, self.page_shift
        counts = mm.count("owner")
        total = len(mm.sections) << SECTION_PAGES_SHIFT
        if sum(counts.values()) != total:
            raise InvariantError("memmap", f"owners cover {sum(counts.values())} of {total} struct pages")
        for v in counts:
            if v not in Owner.__members__.values():
                raise InvariantError("memmap", f"unknown owner value {v}")
        # every pfn outside memory is a hole; every reserved range inside memory is reserved
        mem = [(a >> s, b >> s) for a, b in self.arch.setup.memory]
        for start, end, owner in mm.runs("owner", 0, 1 << 62):
            inside = any(a <= start and end <= b for a, b in mem)
            if owner == Owner.HOLE and any(start < b and a < end for a, b in mem):
                raise InvariantError("memmap", f"pfns {start:#x}-{end:#x} are memory but marked as a hole")
            if owner != Owner.HOLE and not inside:
                raise InvariantError("memmap", f"pfns {start:#x}-{end:#x} are not memory but owned by {Owner(owner).name}")
        res = [(start, end) for start, end, o in mm.runs("owner", 0, 1 << 62) if o in (Owner.RESERVED, Owner.HOLE)]
        for start, end in res:
            for a, b, f in mm.runs("flags", start, end):
                if not f & PG.reserved:
                    raise InvariantError("memmap", f"reserved pfns {a:#x}-{b:#x} lack PG_reserved")
        for start, end, rc in mm.runs("refcount", 0, 1 << 62):
            if rc < 0:
                raise InvariantError("memmap", f"pfns {start:#x}-{end:#x} have negative refcount {rc}")

    def _check_physmem(self) -> None:
        for pfn, frame in self.phys.frames.items():
            if len(frame) != self.page_size:
                raise InvariantError("physmem", f"frame {pfn:#x} is {len(frame)} bytes")
            if not self.phys.backed(pfn):
                raise InvariantError("physmem", f"frame {pfn:#x} holds bytes but is not memory")

    def _check_layout(self) -> None:
        lay = self.layout
        # the BUG_ONs of mem_init()
        if lay.high_memory > lay.vmalloc_start:
            raise InvariantError("layout", "high_memory > VMALLOC_START")
        if lay.vmalloc_start >= lay.vmalloc_end:
            raise InvariantError("layout", "VMALLOC_START >= VMALLOC_END")
        if lay.pkmap_base is not None:
            if lay.vmalloc_end > lay.pkmap_base:
                raise InvariantError("layout", "VMALLOC_END > PKMAP_BASE")
            if lay.pkmap_base + lay.last_pkmap * self.page_size > lay.fixaddr_start:  # type: ignore[operator]
                raise InvariantError("layout", "PKMAP_BASE + LAST_PKMAP*PAGE_SIZE > FIXADDR_START")
        pos = 0
        for r in lay.regions:
            if r.start != pos or r.end <= r.start:
                raise InvariantError("layout", f"region {r.name} at {r.start:#x} does not follow {pos:#x}")
            pos = r.end
        if pos != lay.top:
            raise InvariantError("layout", "regions do not reach the top of the address space")

    # ================================================================ misc
    def __repr__(self) -> str:
        return (
            f"<Kernel {self.profile.name} ram={units.human(self.ram)} cpus={len(self.cpus)} "
            f"max_pfn={self.max_pfn:#x}>"
        )


_CORE_SKIP = tuple(os.path.join(_PKG_DIR, d) + os.sep for d in ("tour", "cli"))
_LIB_DIRS = tuple(
    {os.path.dirname(os.__file__) + os.sep, *(p + os.sep for p in sys.path if p.endswith(("site-packages", "dist-packages")))}
)


def user_frames(limit: int = 16) -> list[tuple[str, str]]:
    """The caller's Python frames as a call trace, innermost first: (function, file:line).

    kmemsim's own core frames are skipped (they are "the kernel"); the trace
    ends at the first library frame (stdlib, site-packages, pytest, click) once
    a caller frame was seen, so traces do not depend on the test runner.
    """
    out: list[tuple[str, str]] = []
    f = sys._getframe(1)
    kinds = _CODE_KINDS
    while f is not None and len(out) < limit:
        code = f.f_code
        kind = kinds.get(code)
        if kind is None:
            fname = os.path.abspath(code.co_filename)
            core = fname.startswith(_PKG_DIR + os.sep) and not fname.startswith(_CORE_SKIP)
            lib = not fname.startswith(_PKG_DIR + os.sep) and (fname.startswith(_LIB_DIRS) or fname.startswith("<"))
            kind = kinds[code] = ("core" if core else "lib" if lib else "user", os.path.basename(fname))
        if kind[0] == "lib" and out:
            break
        if kind[0] == "user":
            out.append((code.co_name, f"{kind[1]}:{f.f_lineno}"))
        f = f.f_back  # type: ignore[assignment]
    return out


#: code object -> ("core" | "lib" | "user", file name), so that a call trace costs
#: one dict lookup per frame (slab_debug=U takes one per allocation).
_CODE_KINDS: dict[Any, tuple[str, str]] = {}
