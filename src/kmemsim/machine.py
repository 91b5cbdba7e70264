"""The machine core that every subsystem holds: configuration, services, memory access.

A :class:`Machine` is what the kernel's ``mm/internal.h`` and friends give each mm/
file: the profile and its features, the machine's GFP flags, the clock and the log,
the CPUs and the current task, physical memory and struct pages, the address layout,
the reports (BUG/WARN/oops), the registries subsystems fill at boot (invariant checks,
/proc, /sys, debugfs, node counters), the dispatch slots of the hot entry points, the
tracepoints -- and the subsystems themselves, each typed by the interface others may
use (:mod:`kmemsim.interfaces`).  It also does what every piece of kernel code does:
loads and stores through kernel virtual addresses, and the address translations
(``__pa``, ``__va``, ``virt_to_page`` ...).

:class:`~kmemsim.kernel.Kernel` is a ``Machine`` plus the boot sequence and the rest of
the public API.  Layers: this module imports only the core (errors, units, printk,
features, flags/gfp, profiles, registry, report, dispatch) and mm/page; subsystems
import it only for typing.
"""
from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from . import gfp as gfpmod
from . import slab_flags
from .args import check_addr, range_arg
from .dispatch import Dispatch
from .errors import ConfigError, InvariantError, UsageError
from .features import Features, sites_for_kernel, vmstat_items
from .mm.memmap import SECTION_PAGES_SHIFT
from .mm.page import PG, Owner, Page
from .printk import KERN_INFO, Clock, LogBuffer
from .profiles import Profile
from .records import FrozenRecord
from .registry import Checks, NodeStats, PseudoFS
from .report import Reports
from .slab_flags import ZERO_SIZE_PTR

if TYPE_CHECKING:  # pragma: no cover
    from . import interfaces as api
    from .arch.base import Arch
    from .flags import FlagArg
    from .layout import Layout
    from .mm.memmap import MemMap
    from .physmem import PhysMem
    from .sched import Task
    from .tracepoints.kmem import Tracepoints

__all__ = ["Machine", "CPU", "NULL", "ZERO_SIZE_PTR"]

NULL = 0


class CPU(FrozenRecord):
    """One CPU of the machine: its number."""

    __match_args__ = ("id",)
    id: int

    def __init__(self, id: int) -> None:
        vars(self).update(id=id)


class _SlubOnly:
    """``k.slub`` before SLUB set it -- on a machine booted with another slab allocator: a
    ConfigError saying which one runs, not an AttributeError.  A non-data descriptor, so the
    instance attribute SLUB's init sets wins and costs nothing."""

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        impl = obj.__dict__.get("slab_impl")
        which = impl.name if impl is not None else "none yet"
        raise ConfigError(f"k.slub is SLUB's core; this machine runs slab_allocator={which} "
                          "(use k.slab, the common slab API, or k.slab_impl, the allocator)")


class Machine:
    """The state and services of one booted machine (see the module docstring)."""

    # ---- set up by the boot sequence (kernel.BOOT), in its order
    e820: list[Any]
    arch: Arch
    layout: Layout
    max_pfn: int
    max_low_pfn: int
    phys: PhysMem
    memmap: MemMap
    host: Any
    current: Task
    sched: api.Sched
    page_alloc: api.PageAllocator
    pages: api.PageAPI
    slub: api.Slub  # SLUB's core: only on a machine whose slab allocator is SLUB (see _SlubOnly)
    slab: api.SlabCommon  # the common slab API (mm/slab_common.py)
    slab_impl: api.SlabAllocator  # the slab allocator chosen at boot (slab_allocator=)
    util: api.MmUtil
    vmalloc_impl: api.Vmalloc
    vmscan: api.Reclaim
    resources: api.Resources
    ioremap_impl: api.Ioremap
    highmem_impl: api.Highmem
    dma_impl: api.DmaMapping
    mempool_impl: api.Mempools
    fault_inject: api.FaultInject
    tp: Tracepoints

    if TYPE_CHECKING:
        # The hot entry points (kmemsim.dispatch.HOT_ENTRY_POINTS): dispatch slots of the
        # machine's class, installed by kmemsim.kernel.Kernel -- the fast path when it may run,
        # the subsystem's method otherwise.  Subsystems that call them as kernel code does
        # (mm/util.c's kmemdup, mm/mempool.c, vmalloc's area bookkeeping) call them on the
        # machine, so they are as fast as any caller and see what every caller sees.
        def kmalloc(self, size: int, gfp: FlagArg) -> int: ...
        def kfree(self, obj: int) -> None: ...
        def kmem_cache_alloc(self, cache: Any, gfp_mask: FlagArg) -> int: ...
        def kmem_cache_free(self, s: Any, obj: int) -> None: ...
        def get_free_pages(self, gfp_mask: int, order: int = 0) -> int: ...
        def free_pages(self, addr: int, order: int = 0) -> None: ...
    else:
        slub = _SlubOnly()

    def __init__(self, profile: Profile, tunables: dict[str, Any], ram: int, ncpu: int, *, seed: int,
                 on_bug: str) -> None:
        self.profile = profile
        #: SIZE_MAX: the largest size_t (2^BITS_PER_LONG - 1); the API's size arguments stop here
        self.SIZE_MAX = (1 << profile.bits) - 1
        self.features = Features(profile.kernel_version)
        self.gfp: gfpmod.GfpSet = gfpmod.for_kernel(profile.kernel_version)
        self.slab_flags: slab_flags.SlabFlagSet = slab_flags.for_kernel(profile.kernel_version)
        #: where this kernel's might_sleep() checks say they are (kmemsim.features.SITES)
        self.sites: dict[str, tuple[str, int] | None] = sites_for_kernel(profile.kernel_version)
        #: the vm counter names of this kernel's /proc/vmstat and zoneinfo (None: 6.18's)
        self.vmstat_items: dict[str, tuple[str, ...]] | None = vmstat_items(profile.kernel_version)
        self.tunables = tunables
        self.ram = ram
        self.seed = seed
        self.on_bug = on_bug
        self.page_shift = profile.page_shift
        self.page_size = profile.page_size
        self.clock = Clock()
        self.log = LogBuffer(self.clock)
        self.cpus: tuple[CPU, ...] = tuple(CPU(i) for i in range(ncpu))
        #: smp_processor_id(): the CPU the running code is on (changed only by the scheduler
        #: and on_cpu())
        self.cpu = 0
        self.report = Reports(self)
        self.taint = self.report.taint  # the taint flags (print_tainted), shared with the reports
        self.checks = Checks()
        self.procfs = PseudoFS("procfs", "/proc")
        self.sysfs_fs = PseudoFS("sysfs", "/sys")
        self.debugfs_fs = PseudoFS("debugfs", "/sys/kernel/debug")
        self.node_stats = NodeStats()
        self.dispatch = Dispatch(type(self))

    # ================================================================ log
    def printk(self, text: str, level: int = KERN_INFO) -> None:
        """Append to the kernel log (each line one record at the current time)."""
        self.log.printk(text, level)

    def dmesg(self, level: int | None = None) -> str:
        """The kernel log with ``[    0.000000]`` timestamps, as dmesg prints it."""
        return self.log.dmesg(level=level)

    # ================================================================ CPUs and time
    def smp_processor_id(self) -> int:
        """smp_processor_id(): the CPU the caller runs on (also ``k.cpu``)."""
        return self.cpu

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
        prev, self.cpu = self.cpu, n
        try:
            yield self.cpus[n]
        finally:
            self.cpu = prev

    # ================================================================ address translation
    def pa(self, vaddr: int) -> int:
        """``__pa(vaddr)``: physical address of a direct-map or kernel-image address.

        Like the kernel it is arithmetic and checks nothing: a vmalloc address
        gives a meaningless result.  With ``debug_virtual=True``
        (CONFIG_DEBUG_VIRTUAL) a bad address is a kernel BUG instead.
        """
        check_addr(vaddr, "vaddr", self.layout.bits)
        line = self.arch.pa_debug_bug_line(vaddr) if self.tunables.get("debug_virtual") else None
        if line is not None:
            self.report.bug(
                ["------------[ cut here ]------------", f"kernel BUG at arch/x86/mm/physaddr.c:{line}!"],
                kind="debug_virtual", oops=True, oops_str="invalid opcode", err=0,
            )
        return self.arch.pa(vaddr)

    def va(self, paddr: int) -> int:
        """``__va(paddr)``: the direct-map address of a physical address (arithmetic only)."""
        check_addr(paddr, "paddr", self.layout.bits)
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
            return self.highmem_impl.page_address(page.pfn)
        return self.arch.va(page.pfn << self.page_shift)

    def PageHighMem(self, page: Page) -> bool:  # noqa: N802 - kernel name
        return self.arch.is_highmem_pfn(page.pfn) and self.memmap.pfn_valid(page.pfn)

    def virt_addr_valid(self, vaddr: int) -> bool:
        """Is ``vaddr`` a direct-map (or kernel image) address backed by a struct page?"""
        check_addr(vaddr, "vaddr", self.layout.bits)
        return self.arch.virt_addr_valid(vaddr, self.memmap.pfn_valid)

    def is_vmalloc_addr(self, vaddr: int) -> bool:
        """``VMALLOC_START <= vaddr < VMALLOC_END`` (mm/vmalloc.c)."""
        return self.layout.vmalloc_start <= vaddr < self.layout.vmalloc_end

    # ================================================================ memory access
    def _phys(self, vaddr: int, write: bool) -> int:
        """Physical address behind a mapped kernel virtual address, or an oops."""
        phys = self.arch.direct_phys(vaddr)
        if phys is None:
            phys = self.vmalloc_impl.translate(vaddr, write)  # through the kernel page tables
        if phys is None or not self.phys.backed(phys >> self.page_shift):
            self.report.page_fault(vaddr, write=write)
        return phys

    def read(self, addr: int, n: int) -> bytes:
        """Read ``n`` bytes at kernel virtual address ``addr`` (a load in the caller's code)."""
        try:
            off = addr - self.layout.page_offset
            fast = (type(n) is int and 0 <= off < self.arch.lowmem_bytes and 0 < n
                    and (off & (self.page_size - 1)) + n <= self.page_size)
        except TypeError:
            fast = False
        if fast:
            f = self.phys.frames.get(off >> self.page_shift)
            if f is not None:
                o = off & (self.page_size - 1)
                return bytes(f[o : o + n])
        return self._slow_access(addr, n, None, "read")  # type: ignore[return-value]

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
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UsageError(f"write: data={data!r:.60}: expected bytes, got {type(data).__name__}")
        self._slow_access(addr, n, data, "write")

    def _slow_access(self, addr: int, n: int, data: bytes | bytearray | None, who: str) -> bytes | None:
        check_addr(addr, f"{who}: addr", self.layout.bits)
        if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
            raise UsageError(f"{who}: data={data!r:.60}: expected bytes, got {type(data).__name__}")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise UsageError(f"{who}: n={n!r}: expected a non-negative integer")
        if addr + n > (1 << self.layout.bits):
            raise UsageError(f"{who}: {addr:#x}+{n}: runs past the top of the address space")
        write = data is not None
        bad = self.arch.noncanonical(addr, n)
        if bad is not None:
            self.report.general_protection(bad)
        io = self.ioremap_impl
        if io.claims(addr, n):  # __iomem memory (mm/ioremap.py)
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
            raise UsageError(f"memset: c={c!r}: expected an int")
        range_arg(n, "memset: n", 0, self.SIZE_MAX, "size_t")
        check_addr(addr, "memset: addr", self.layout.bits)
        self.write(addr, bytes([c & 0xFF]) * n)
        return addr

    def memcpy(self, dst: int, src: int, n: int) -> int:
        """memcpy(dst, src, n); returns dst.  Overlap is undefined in C; here it copies as memmove."""
        range_arg(n, "memcpy: n", 0, self.SIZE_MAX, "size_t")
        check_addr(dst, "memcpy: dst", self.layout.bits)
        check_addr(src, "memcpy: src", self.layout.bits)
        self.write(dst, self.read(src, n))
        return dst

    def memcmp(self, a: int, b: int, n: int) -> int:
        range_arg(n, "memcmp: n", 0, self.SIZE_MAX, "size_t")
        x, y = self.read(a, n), self.read(b, n)
        for p, q in zip(x, y, strict=False):
            if p != q:
                return p - q
        return 0

    # ================================================================ invariants
    def check(self) -> None:
        """Verify every invariant of every subsystem; raises :class:`InvariantError`."""
        self.checks.run()

    def check_memmap(self) -> None:
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
        owners = list(mm.runs("owner", 0, 1 << 62))
        for start, end, owner in owners:
            inside = any(a <= start and end <= b for a, b in mem)
            if owner == Owner.HOLE and any(start < b and a < end for a, b in mem):
                raise InvariantError("memmap", f"pfns {start:#x}-{end:#x} are memory but marked as a hole")
            if owner != Owner.HOLE and not inside:
                raise InvariantError("memmap",
                                     f"pfns {start:#x}-{end:#x} are not memory but owned by {Owner(owner).name}")
        res = [(start, end) for start, end, o in owners if o in (Owner.RESERVED, Owner.HOLE)]
        for start, end in res:
            for a, b, f in mm.runs("flags", start, end):
                if not f & PG.reserved:
                    raise InvariantError("memmap", f"reserved pfns {a:#x}-{b:#x} lack PG_reserved")
        for start, end, rc in mm.runs("refcount", 0, 1 << 62):
            if rc < 0:
                raise InvariantError("memmap", f"pfns {start:#x}-{end:#x} have negative refcount {rc}")

    def check_physmem(self) -> None:
        for pfn, frame in self.phys.frames.items():
            if len(frame) != self.page_size:
                raise InvariantError("physmem", f"frame {pfn:#x} is {len(frame)} bytes")
            if not self.phys.backed(pfn):
                raise InvariantError("physmem", f"frame {pfn:#x} holds bytes but is not memory")

    def check_layout(self) -> None:
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
