"""ioremap, the MMIO accessors, and a device model to map.

Models, for linux-6.18-x86_64 (read in the 6.17-rc3 tree, as in 6.18):

* arch/x86/mm/ioremap.c: ``__ioremap_caller`` (zero size and wrap-around give NULL;
  an address beyond the CPU's physical address bits is "ioremap: invalid physical
  address" and a WARN_ON_ONCE; ``__ioremap_check_mem`` walks the busy memory resources
  and refuses a range holding a System RAM page that is not PageReserved with
  ``WARN_ONCE(1, "ioremap on RAM at %pa - %pa\\n")``; the range is page aligned, its
  memory type reserved, a VM_IOREMAP area taken with ``get_vm_area_caller`` (natural
  alignment) and mapped by ``ioremap_page_range``, with 2 MiB / 1 GiB leaves where
  address and size allow; "caller %pS mapping multiple BARs" after
  ``iomem_map_sanity_check``), ``ioremap`` (UC-), ``ioremap_uc``, ``ioremap_wc``,
  ``ioremap_cache`` (WB) and ``iounmap`` (``WARN_ON_ONCE(!is_ioremap_addr())``,
  "iounmap: bad address %p" with a stack dump, memtype_free, remove_vm_area);
* arch/x86/mm/pat/memtype.c: memtype_reserve / memtype_free reduced to a list of
  reserved ranges with the kernel's conflict rule (memtype_check_conflict: the first
  overlapping reservation's type wins, mixed types fail with "x86/PAT: ...
  conflicting memory types") and is_new_memtype_allowed ("ioremap error for ...,
  requested 0x%x, got 0x%x"); the low ISA range is untracked and always WB;
* arch/x86/include/asm/io.h: ``readb/readw/readl/readq`` and ``writeb..writeq``
  (value first, as in C), one access of that width each;
* arch/x86/lib/iomem.c: ``memcpy_fromio``/``memcpy_toio`` (a byte, then a word, to
  align the I/O side, then ``rep movsl`` and a word/byte tail) and ``memset_io``
  (the kernel's memset: bytes to 8-byte alignment, quadwords, a byte tail);
* lib/iomap.c: ``ioread8/16/32``, ``iowrite8/16/32`` decode the cookie (MMIO from
  PIO_RESERVED up, port I/O from ``ioport_map()``'s PIO_OFFSET, else
  "Bad IO access at port %#lx (%s)" for the first ten), ``ioport_map``.

The kernel's features choose: ``x86_pat`` (2.6.26) the implementation (:class:`Ioremap`
above, :class:`IoremapNoPat` below); ``ioremap_cache``, ``ioremap_wc``, ``ioremap_uc`` and
``ioremap_nocache`` (until 5.6) which functions exist; ``iounmap_is_ioremap_addr`` 6.18's
iounmap() range check (6.6 returns quietly at or below high_memory instead);
``x86_iomem_memcpy`` the memcpy_*io access widths.  readq/writeq, memset_io's memset and
the physical address bits are the architecture's (``k.layout.bits``).

For linux-2.6-i386, the 2.6.24 arch/x86/mm/ioremap_32.c: ``__ioremap`` returns the
direct-map address for the ISA range (0xa0000-0xfffff) without an area, refuses lowmem
RAM that is not PageReserved silently (highmem RAM is not checked, as in 2.6.24),
maps with ``MAKE_GLOBAL(__PAGE_KERNEL | flags)`` and keeps the flags in the area's
``flags << 20``; ``ioremap()`` is ``__ioremap(phys, size, 0)``: *cached* (UC became
the default in 2.6.25); ``ioremap_nocache`` adds PCD|PWT; ``iounmap`` ignores
addresses up to high_memory and says "iounmap: bad address %p" (8 hex digits) for
others it cannot find.  No PAT, no sanity check, no ``ioremap_wc/_cache/_uc`` (later
kernels), ``memcpy_*io`` and ``memset_io`` are i386's ``__memcpy``/``__memset``:
``rep movsl``/``rep stosl`` and a tail.

The device model
----------------
``k.add_device(name, phys, size, registers=[...], bar=None)`` puts a :class:`Device`
at a physical range outside RAM: its resource (named ``bar``, e.g. "0000:00:01.0", or
the device's name) is inserted into iomem as a bus inserts a BAR (not busy, so a
driver's ``request_mem_region`` nests under it, as on the reference host).  Each
:class:`Register` is ``width`` bytes at ``offset`` with optional ``read(reg)`` and
``write(reg, value)`` callbacks; the rest of the device is plain RAM-like storage
(zero at power-on).  Every load or store that reaches the device through any mapping
(ioremap, the 2.6.24 ISA direct map) goes to the device: a register access runs its
callback once per access; an access covering only part of a register reads the
register (callback) and keeps the bytes asked for, or writes the merged value.
Physical addresses that no device and no RAM claim read as all ones and drop writes,
as an unclaimed x86 MMIO or port access does.

``__iomem``: a plain ``k.read``/``k.write`` of an address inside a live ioremap
mapping is the model's rule (sparse's "dereference of noderef expression" at build
time, nothing at run time in C): it is reported through ``k.report.bug`` (kind
"iomem_deref") under the on_bug policy and, if the machine carries on, reaches the
device like a memcpy would.

Simplified, and said so: no MTRRs (a WB request stays WB), no direct-map alias
attribute changes (memtype_kernel_map_sync / change_page_attr), reserved RAM is
tracked in the same memtype list (the kernel keeps its type in page flags),
``ioremap_wt``/``ioremap_prot``/``ioremap_encrypted`` and mmiotrace are not modelled,
I/O ports have no devices (reads give all ones); 2.6.24's bad-cookie report is
printed like 6.18's (the 2.6.24 lib/iomap.c may have BUG()ed instead).
"""
from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ..args import check_addr
from ..errors import InvariantError, UsageError
from ..features import FEATURES
from ..printk import KERN_ERR, KERN_INFO, KERN_WARNING
from ..report import user_frames
from .page import PG
from .pgtable import _PAGE_PCD, _PAGE_PRESENT, _PAGE_PWT, pgprot_nx
from .resource import (
    IORESOURCE_MEM,
    IORESOURCE_SYSTEM_RAM,
    Resource,
    insert_resource_conflict,
    pa,
    pR,
    remove_resource,
)
from .vmalloc import VM_IOREMAP, VmStruct

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

NULL = 0

# enum page_cache_mode (arch/x86/include/asm/pgtable_types.h)
_PAGE_CACHE_MODE_WB = 0
_PAGE_CACHE_MODE_WC = 1
_PAGE_CACHE_MODE_UC_MINUS = 2
_PAGE_CACHE_MODE_UC = 3
_PAGE_CACHE_MODE_WT = 4
_PAGE_CACHE_MODE_WP = 5
#: cachemode2protval() with the kernel's PAT table "WB WC UC- UC WB WP UC- WT" (the host's)
CACHEMODE_PROT = {
    _PAGE_CACHE_MODE_WB: 0,
    _PAGE_CACHE_MODE_WC: _PAGE_PWT,
    _PAGE_CACHE_MODE_UC_MINUS: _PAGE_PCD,
    _PAGE_CACHE_MODE_UC: _PAGE_PCD | _PAGE_PWT,
}
CATTR_NAME = {
    _PAGE_CACHE_MODE_UC: "uncached", _PAGE_CACHE_MODE_UC_MINUS: "uncached-minus", _PAGE_CACHE_MODE_WB: "write-back",
    _PAGE_CACHE_MODE_WC: "write-combining", _PAGE_CACHE_MODE_WT: "write-through",
    _PAGE_CACHE_MODE_WP: "write-protected",
}

ISA_START_ADDRESS = 0xA0000
ISA_END_ADDRESS = 0x100000
# lib/iomap.c
PIO_OFFSET = 0x10000
PIO_MASK = 0x0FFFF
PIO_RESERVED = 0x40000
#: boot_cpu_data.x86_phys_bits of the reference host (phys_addr_valid())
X86_PHYS_BITS = 48
#: the release that brought each optional ioremap function (for the error of a kernel without it)
_SINCE = {f.name: f.since for f in FEATURES}
_UNTIL = {f.name: f.until for f in FEATURES if f.until}


def _caller() -> str | None:
    """%pS of __builtin_return_address(0): the innermost Python caller outside kmemsim."""
    f = user_frames(1)
    return f"{f[0][0]}+0x0/0x0" if f else None


# ================================================================== devices
class Register:
    """One device register: ``width`` bytes (1, 2, 4 or 8) at ``offset`` in the device.

    ``read(reg) -> int`` runs for every load that touches the register (default: the
    stored ``reg.value``); ``write(reg, value)`` for every store (default: store it).
    ``reg.device`` is the :class:`Device`; values are little-endian, as x86 sees them.
    """

    __slots__ = ("name", "offset", "width", "value", "read_fn", "write_fn", "device")

    def __init__(self, name: str, offset: int, width: int = 4, value: int = 0, *,
                 read: Callable[[Register], int] | None = None,
                 write: Callable[[Register, int], None] | None = None):
        if not isinstance(name, str) or not name:
            raise UsageError(f"Register: name {name!r} must be a non-empty string")
        if width not in (1, 2, 4, 8) or isinstance(width, bool):
            raise UsageError(f"Register {name}: width {width!r} must be 1, 2, 4 or 8 bytes")
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise UsageError(f"Register {name}: offset {offset!r} must be a non-negative integer")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << (8 * width):
            raise UsageError(f"Register {name}: value {value!r} does not fit in {width} bytes")
        for fn, what in ((read, "read"), (write, "write")):
            if fn is not None and not callable(fn):
                raise UsageError(f"Register {name}: {what} must be callable")
        self.name = name
        self.offset = offset
        self.width = width
        self.value = value
        self.read_fn = read
        self.write_fn = write
        self.device: Device | None = None

    def _load(self) -> int:
        v = self.read_fn(self) if self.read_fn is not None else self.value
        if isinstance(v, bool) or not isinstance(v, int):
            raise UsageError(f"register {self.name}: the read callback returned {v!r}, not an int")
        return v & ((1 << (8 * self.width)) - 1)

    def _store(self, value: int) -> None:
        if self.write_fn is not None:
            self.write_fn(self, value)
        else:
            self.value = value

    def __repr__(self) -> str:
        return f"<Register {self.name} +{self.offset:#x} u{8 * self.width} = {self.value:#x}>"


class Device:
    """A memory-mapped device: ``size`` bytes of device memory at physical ``phys``.

    ``resource`` is its entry in iomem; ``regs`` its registers by name; ``log`` the last
    4096 accesses that reached it, as (``"r"`` or ``"w"``, offset, width, value)."""

    def __init__(self, name: str, phys: int, size: int, registers: Iterable[Register], resource: Resource):
        self.name = name
        self.phys = phys
        self.size = size
        self.end = phys + size
        self.resource = resource
        self.regs: dict[str, Register] = {}
        self._regs: list[Register] = sorted(registers, key=lambda r: r.offset)
        self._starts = [r.offset for r in self._regs]
        for r in self._regs:
            r.device = self
            self.regs[r.name] = r
        self._pages: dict[int, bytearray] = {}
        self.log: deque[tuple[str, int, int, int]] = deque(maxlen=4096)

    def reg(self, name: str) -> Register:
        try:
            return self.regs[name]
        except KeyError:
            raise UsageError(f"device {self.name} has no register {name!r} (it has {', '.join(self.regs)})") from None

    # plain storage, sparse by 4 KiB page
    def peek(self, offset: int, n: int) -> bytes:
        """The device's plain storage bytes (no register callbacks, no log)."""
        out = bytearray()
        while n > 0:
            pg, o = divmod(offset, 4096)
            c = min(n, 4096 - o)
            f = self._pages.get(pg)
            out += f[o:o + c] if f is not None else bytes(c)
            offset += c
            n -= c
        return bytes(out)

    def poke(self, offset: int, data: bytes) -> None:
        """Set plain storage bytes (no callbacks, no log)."""
        pos = 0
        while pos < len(data):
            pg, o = divmod(offset + pos, 4096)
            c = min(len(data) - pos, 4096 - o)
            f = self._pages.get(pg)
            if f is None:
                f = self._pages[pg] = bytearray(4096)
            f[o:o + c] = data[pos:pos + c]
            pos += c

    def _overlapping(self, off: int, n: int) -> list[Register]:
        i = max(0, bisect.bisect_right(self._starts, off) - 1)
        out = []
        while i < len(self._regs):
            r = self._regs[i]
            if r.offset >= off + n:
                break
            if r.offset + r.width > off:
                out.append(r)
            i += 1
        return out

    def bus_read(self, off: int, n: int) -> bytes:
        """A load of ``n`` bytes at ``off`` arriving from the bus."""
        buf = bytearray(self.peek(off, n))
        for r in self._overlapping(off, n):
            b = r._load().to_bytes(r.width, "little")
            lo, hi = max(off, r.offset), min(off + n, r.offset + r.width)
            buf[lo - off:hi - off] = b[lo - r.offset:hi - r.offset]
        data = bytes(buf)
        self.log.append(("r", off, n, int.from_bytes(data, "little")))
        return data

    def bus_write(self, off: int, data: bytes) -> None:
        """A store of ``data`` at ``off`` arriving from the bus."""
        n = len(data)
        self.log.append(("w", off, n, int.from_bytes(data, "little")))
        regs = self._overlapping(off, n)
        if not regs:
            self.poke(off, data)
            return
        pos = off
        for r in regs:  # plain bytes between registers
            if r.offset > pos:
                self.poke(pos, data[pos - off:r.offset - off])
            pos = max(pos, r.offset + r.width)
        if pos < off + n:
            self.poke(pos, data[pos - off:])
        for r in regs:
            cur = bytearray(r.value.to_bytes(r.width, "little"))
            lo, hi = max(off, r.offset), min(off + n, r.offset + r.width)
            cur[lo - r.offset:hi - r.offset] = data[lo - off:hi - off]
            r._store(int.from_bytes(cur, "little"))

    def __repr__(self) -> str:
        return f"<Device {self.name} [mem {self.phys:#x}-{self.end - 1:#x}] {len(self.regs)} registers>"


class IoMapping:
    """One live ioremap: the cookie handed out, the area's page-aligned mapping, the
    physical range, the page cache mode, the vm_struct and the caller."""

    __slots__ = ("cookie", "vaddr", "size", "phys", "pcm", "area", "caller", "tracked")

    def __init__(self, cookie: int, vaddr: int, size: int, phys: int, pcm: int, area: VmStruct, caller: str | None,
                 tracked: bool):
        self.cookie, self.vaddr, self.size, self.phys, self.pcm = cookie, vaddr, size, phys, pcm
        self.area, self.caller, self.tracked = area, caller, tracked

    def __repr__(self) -> str:
        return f"<ioremap {self.vaddr:#x}+{self.size:#x} -> phys {self.phys:#x} pcm {self.pcm}>"


# ================================================================== ioremap
class Ioremap:
    """ioremap, iounmap, the MMIO accessors and the devices of one machine (needs
    ``k.vmalloc_impl`` and ``k.resources``).

    This class is the x86 kernel with PAT (``x86_pat``: arch/x86/mm/ioremap.c,
    pat/memtype.c); :class:`IoremapNoPat` is 2.6.24's i386 one.  :func:`ioremap_init`
    builds the one the machine's kernel has and registers its "ioremap" check."""

    def __init__(self, k: Kernel):
        self.k = k
        f = k.features
        self.vm = k.vmalloc_impl
        self.pt = self.vm.pt
        self.res = k.resources
        self.page_shift = k.page_shift
        self.page_size = k.page_size
        self.word = k.layout.bits // 8
        #: the CPU's physical address bits: the reference host's on x86_64, 32 on non-PAE i386
        self.phys_limit = 1 << (X86_PHYS_BITS if k.layout.bits == 64 else 32)
        #: readq()/writeq(): 64-bit kernels only
        self.has_readq = k.layout.bits == 64
        #: memcpy_fromio/memcpy_toio align the I/O side first (arch/x86/lib/iomem.c)
        self.aligned_memcpy = f.x86_iomem_memcpy
        #: memset_io() is the kernel's memset(): x86_64's quadwords, or i386's rep stosl
        self.quad_memset = k.layout.bits == 64
        #: iounmap() checks is_ioremap_addr() (6.18) instead of high_memory (6.6)
        self.iounmap_checks_range = f.iounmap_is_ioremap_addr
        #: which of the optional ioremap functions the kernel has
        self.has = {"ioremap_cache": f.ioremap_cache, "ioremap_wc": f.ioremap_wc, "ioremap_uc": f.ioremap_uc,
                    "ioremap_nocache": f.ioremap_nocache}
        #: "linux-2.6.24": the release, for messages
        self.linux = "linux-" + ".".join(map(str, f.version))
        self.devices: list[Device] = []
        self._dev_starts: list[int] = []
        #: area start -> the live ioremap there
        self.mappings: dict[int, IoMapping] = {}
        self._map_starts: list[int] = []
        #: memtype reservations: [start, end, pcm] (end exclusive)
        self.memtypes: list[list[int]] = []
        self._bad_io_count = 10

    # ---------------------------------------------------------------- helpers
    def _check_int(self, v: int, what: str, limit: int | None = None) -> None:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise UsageError(f"{what} {v!r} must be a non-negative integer")
        if limit is not None and v >= limit:
            raise UsageError(f"{what} {v:#x} is out of range (limit {limit:#x})")

    def _check_addr(self, addr: int, who: str) -> None:
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise UsageError(f"{who}: {addr!r} is not an address")
        check_addr(addr, "addr", self.k.layout.bits)

    def is_ioremap_addr(self, addr: int) -> bool:
        """is_ioremap_addr(): IOREMAP_START <= addr < IOREMAP_END (the vmalloc range)."""
        return self.k.is_vmalloc_addr(addr)

    # ---------------------------------------------------------------- devices
    def add_device(self, name: str, phys: int, size: int, registers: Iterable[Register] | dict | None = None, *,
                   bar: str | None = None, flags: int = IORESOURCE_MEM) -> Device:
        """Place a device at physical [phys, phys + size) and insert its resource into iomem."""
        if not isinstance(name, str) or not name:
            raise UsageError(f"add_device: name {name!r} must be a non-empty string")
        self._check_int(phys, "add_device: phys", self.phys_limit)
        self._check_int(size, "add_device: size")
        if size == 0 or phys + size > self.phys_limit:
            raise UsageError(f"add_device {name}: [{phys:#x}, +{size:#x}) must be non-empty and below "
                             f"{self.phys_limit:#x} (the physical address space)")
        if bar is not None and (not isinstance(bar, str) or not bar):
            raise UsageError(f"add_device {name}: bar {bar!r} must be a non-empty string")
        regs = self._registers(name, size, registers)
        end = phys + size
        for a, b in self.res.system_ram_ranges() + [(s, e) for s, e in self.k.arch.setup.memory]:
            if phys < b and a < end:
                raise UsageError(f"add_device {name}: [mem {phys:#x}-{end - 1:#x}] overlaps System RAM "
                                 f"[mem {a:#x}-{b - 1:#x}]; devices live outside RAM")
        for d in self.devices:
            if phys < d.end and d.phys < end:
                raise UsageError(f"add_device {name}: [mem {phys:#x}-{end - 1:#x}] overlaps device {d.name} "
                                 f"[mem {d.phys:#x}-{d.end - 1:#x}]")
        res = Resource(phys, end - 1, bar or name, flags)
        conflict = insert_resource_conflict(self.res.iomem_resource, res)
        if conflict is not None:
            raise UsageError(f"add_device {name}: {pR(res)} partly overlaps {conflict.name} {pR(conflict)} "
                             "in iomem; the bus cannot place it there")
        dev = Device(name, phys, size, regs, res)
        i = bisect.bisect(self._dev_starts, phys)
        self.devices.insert(i, dev)
        self._dev_starts.insert(i, phys)
        return dev

    @staticmethod
    def _registers(name: str, size: int, registers) -> list[Register]:
        if registers is None:
            return []
        if isinstance(registers, dict):
            items = []
            for off, r in registers.items():
                if not isinstance(r, Register):
                    raise UsageError(f"add_device {name}: registers[{off!r}] must be a Register")
                if r.offset != off:
                    r.offset = off
                items.append(r)
        else:
            items = list(registers)
        names = set()
        items.sort(key=lambda r: getattr(r, "offset", 0))
        prev_end = 0
        for r in items:
            if not isinstance(r, Register):
                raise UsageError(f"add_device {name}: {r!r} is not a Register")
            if r.device is not None:
                raise UsageError(f"add_device {name}: register {r.name} already belongs to {r.device.name}")
            if r.name in names:
                raise UsageError(f"add_device {name}: two registers named {r.name}")
            names.add(r.name)
            if r.offset + r.width > size:
                raise UsageError(f"add_device {name}: register {r.name} at {r.offset:#x} runs past the device "
                                 f"({size:#x} bytes)")
            if r.offset < prev_end:
                raise UsageError(f"add_device {name}: register {r.name} at {r.offset:#x} overlaps the one before")
            prev_end = r.offset + r.width
        return items

    def remove_device(self, dev: Device) -> None:
        """Hot-remove a device: refused while an ioremap maps it or a region is requested in it."""
        if dev not in self.devices:
            raise UsageError(f"remove_device: {dev!r} is not a device of this machine")
        for m in self.mappings.values():
            if m.phys < dev.end and dev.phys < m.phys + m.size:
                raise UsageError(f"remove_device {dev.name}: still mapped at {m.cookie:#x} (iounmap it first)")
        if dev.resource.child is not None:
            raise UsageError(f"remove_device {dev.name}: {dev.resource.child.name} still holds a region in it "
                             "(release_mem_region it first)")
        remove_resource(dev.resource)
        i = self.devices.index(dev)
        del self.devices[i]
        del self._dev_starts[i]

    def device_at(self, phys: int) -> Device | None:
        i = bisect.bisect_right(self._dev_starts, phys) - 1
        if i >= 0 and phys < self.devices[i].end:
            return self.devices[i]
        return None

    # ---------------------------------------------------------------- memtype (PAT)
    def _untracked(self, start: int, end: int) -> bool:
        return start >= ISA_START_ADDRESS and end <= ISA_END_ADDRESS  # is_ISA_range()

    def memtype_reserve(self, start: int, end: int, req: int) -> tuple[int, int]:
        """memtype_reserve(start, end, req, &new): (0 or -errno, the type granted)."""
        if self._untracked(start, end):
            return 0, _PAGE_CACHE_MODE_WB
        if self.res.pagerange_is_ram(start, end) < 0:
            return -22, req
        found = req
        over = sorted((m for m in self.memtypes if m[0] < end and start < m[1]), key=lambda m: m[0])  # tree order
        if over:
            found = over[0][2]
            for m in over[1:]:
                if m[2] != found:
                    c = self.k.current
                    self.k.printk(f"x86/PAT: {c.comm}:{c.pid} conflicting memory types {start:x}-{end:x} "
                                  f"{CATTR_NAME[found]}<->{CATTR_NAME[m[2]]}", KERN_INFO)
                    self.k.printk(f"x86/PAT: memtype_reserve failed [mem {start:#010x}-{end - 1:#010x}], "
                                  f"track {CATTR_NAME[found]}, req {CATTR_NAME[req]}", KERN_INFO)
                    return -16, found
        self.memtypes.append([start, end, found])
        return 0, found

    def memtype_free(self, start: int, end: int) -> int:
        """memtype_free(start, end): 0, or -EINVAL (with "freeing invalid memtype" when the
        range was tracked but never reserved)."""
        if self._untracked(start, end):
            return 0
        if self.res.pagerange_is_ram(start, end) < 0:
            return -22
        for i, m in enumerate(self.memtypes):
            if m[0] == start and m[1] == end:
                del self.memtypes[i]
                return 0
        c = self.k.current
        self.k.printk(f"x86/PAT: {c.comm}:{c.pid} freeing invalid memtype [mem {start:#010x}-{end - 1:#010x}]",
                      KERN_INFO)
        return -22

    @staticmethod
    def is_new_memtype_allowed(pcm: int, new: int) -> bool:
        return not ((pcm in (_PAGE_CACHE_MODE_UC_MINUS, _PAGE_CACHE_MODE_WC, _PAGE_CACHE_MODE_WT)
                     and new == _PAGE_CACHE_MODE_WB) or (pcm == _PAGE_CACHE_MODE_WT and new == _PAGE_CACHE_MODE_WC))

    # ---------------------------------------------------------------- ioremap (6.18)
    def _check_mem_is_ram(self, phys: int, size: int) -> bool:
        """__ioremap_check_mem()'s IORES_MAP_SYSTEM_RAM: a System RAM page, not reserved."""
        s = self.page_shift
        mm = self.k.memmap

        def check_ram(res: Resource) -> int:
            if (res.flags & IORESOURCE_SYSTEM_RAM) != IORESOURCE_SYSTEM_RAM:
                return 0
            start_pfn = (res.start + self.page_size - 1) >> s
            stop_pfn = (res.end + 1) >> s
            if stop_pfn > start_pfn:
                for _a, _b, fl in mm.runs("flags", start_pfn, stop_pfn):
                    if not fl & PG.reserved:
                        return 1
            return 0

        return self.res.walk_mem_res(phys, phys + size - 1, check_ram) == 1

    def ioremap_caller(self, phys: int, size: int, pcm: int, caller: str | None) -> int:
        """__ioremap_caller(phys, size, pcm, caller, false): the __iomem cookie or 0 (NULL)."""
        k = self.k
        self._check_int(phys, "ioremap: phys_addr", 1 << 64)
        self._check_int(size, "ioremap: size", 1 << 64)
        last = phys + size - 1
        if not size or last >= 1 << 64:
            return NULL  # "Don't allow wraparound or zero size"
        if phys >> X86_PHYS_BITS:  # !phys_addr_valid()
            k.printk(f"ioremap: invalid physical address {phys:x}", KERN_WARNING)
            k.report.warn_once("ioremap invalid physical address", "__ioremap_caller+0x0/0x0")
            return NULL
        if self._check_mem_is_ram(phys, size):
            k.report.warn_once("ioremap on RAM", "__ioremap_caller+0x0/0x0",
                               f"ioremap on RAM at {pa(phys)} - {pa(last)}")
            return NULL
        unaligned_phys, unaligned_size = phys, size
        ps = self.page_size
        offset = phys & (ps - 1)
        phys -= offset
        size = ((last + 1 + ps - 1) & -ps) - phys
        err, new = self.memtype_reserve(phys, phys + size, pcm)
        if err:
            k.printk(f"ioremap memtype_reserve failed {err}", KERN_ERR)
            return NULL
        if pcm != new:
            if not self._untracked(phys, phys + size) and not self.is_new_memtype_allowed(pcm, new):
                k.printk(f"ioremap error for 0x{phys:x}-0x{phys + size:x}, requested 0x{pcm:x}, got 0x{new:x}",
                         KERN_ERR)
                self.memtype_free(phys, phys + size)
                return NULL
            pcm = new
        prot = self.pt.page_kernel | CACHEMODE_PROT[pcm]  # PAGE_KERNEL_IO | cachemode2protval(pcm)
        area = self.vm.get_vm_area_caller(size, VM_IOREMAP, caller)
        if area is None:
            self.memtype_free(phys, phys + size)
            return NULL
        area.phys_addr = phys
        vaddr = area.addr
        # ioremap_page_range() -> vmap_page_range(): pgprot_nx(), ioremap_max_page_shift
        if self.pt.vmap_range(vaddr, vaddr + size, phys, pgprot_nx(prot), max_page_shift=63) < 0:
            self.vm.free_vm_area(area)
            self.memtype_free(phys, phys + size)
            return NULL
        ret = vaddr + offset
        self._record(IoMapping(ret, vaddr, size, phys, pcm, area, caller, not self._untracked(phys, phys + size)))
        if self.res.iomem_map_sanity_check(unaligned_phys, unaligned_size):
            k.printk(f"caller {caller or '0x0'} mapping multiple BARs", KERN_WARNING)
        return ret

    def _record(self, m: IoMapping) -> None:
        self._forget(m.vaddr)  # a record left behind by vunmap()/vfree() of an ioremap address
        self.mappings[m.vaddr] = m
        bisect.insort(self._map_starts, m.vaddr)

    def _forget(self, vaddr: int) -> IoMapping | None:
        m = self.mappings.pop(vaddr, None)
        if m is not None:
            self._map_starts.remove(vaddr)
        return m

    #: what a kernel without one of the optional functions has instead
    _instead = ""

    def _require(self, what: str) -> None:
        """UsageError unless the machine's kernel has ``what`` (a feature of the same name)."""
        if self.has[what]:
            return
        linux = self.linux
        if what == "ioremap_nocache":
            raise UsageError(f"ioremap_nocache() was removed in {_UNTIL[what]}: ioremap() is uncached "
                             f"(UC-) in {linux}")
        raise UsageError(f"{what}() was added in {_SINCE[what]}; {linux} {self._instead or 'does not have it'}")

    def ioremap(self, phys: int, size: int, caller: str | None = None) -> int:
        """ioremap(phys, size): UC- (with PAT); on 2.6.24 ``__ioremap(phys, size, 0)``, cached."""
        return self.ioremap_caller(phys, size, _PAGE_CACHE_MODE_UC_MINUS, caller or _caller())

    def ioremap_uc(self, phys: int, size: int) -> int:
        """ioremap_uc(phys, size): strong UC."""
        self._require("ioremap_uc")
        return self.ioremap_caller(phys, size, _PAGE_CACHE_MODE_UC, _caller())

    def ioremap_wc(self, phys: int, size: int) -> int:
        """ioremap_wc(phys, size): write-combining."""
        self._require("ioremap_wc")
        return self.ioremap_caller(phys, size, _PAGE_CACHE_MODE_WC, _caller())

    def ioremap_cache(self, phys: int, size: int) -> int:
        """ioremap_cache(phys, size): write-back."""
        self._require("ioremap_cache")
        return self.ioremap_caller(phys, size, _PAGE_CACHE_MODE_WB, _caller())

    def ioremap_nocache(self, phys: int, size: int) -> int:
        """ioremap_nocache(phys, size) (2.6.24: PCD|PWT; UC- with PAT; removed in 5.6, where
        ioremap() is UC-)."""
        self._require("ioremap_nocache")
        return self.ioremap_caller(phys, size, _PAGE_CACHE_MODE_UC_MINUS, _caller())

    # ---------------------------------------------------------------- iounmap
    def iounmap(self, addr: int) -> None:
        """iounmap(addr): tear down the area holding ``addr``."""
        self._check_addr(addr, "iounmap")
        k = self.k
        vm = self.vm
        if self.iounmap_checks_range:
            if not self.is_ioremap_addr(addr):
                k.report.warn_once("iounmap !is_ioremap_addr", "iounmap+0x0/0x0")
                return
        elif addr <= k.layout.high_memory:
            # 6.6 returns here, and WARNs for the ISA range above it: on x86 the ISA range's
            # direct-map address is always below high_memory, so that WARN cannot fire
            return
        a = addr & -self.page_size
        p = vm.find_vm_area(a)
        if p is None:
            k.printk(f"iounmap: bad address {vm.hashed_ptr(a)}", KERN_ERR)
            k.printk("\n".join(k.report.dump_stack_lines()), KERN_WARNING)
            return
        self.memtype_free(p.phys_addr, p.phys_addr + p.get_vm_area_size())
        self._release(p)

    def _release(self, p: VmStruct) -> None:
        """remove_vm_area(), BUG_ON(p != o), kfree(p): free_vm_area() of the area."""
        self.vm.free_vm_area(p)
        self._forget(p.addr)


    # ---------------------------------------------------------------- access
    def _translate(self, addr: int, n: int, write: bool) -> list[tuple[int, int]]:
        """Every page of [addr, addr + n) translated before any byte moves (a fault first)."""
        k = self.k
        bad = k.arch.noncanonical(addr, n)
        if bad is not None:
            k.report.general_protection(bad)
        if addr + n > 1 << k.layout.bits:
            raise UsageError(f"{addr:#x}+{n}: runs past the top of the address space")
        ps = self.page_size
        out: list[tuple[int, int]] = []
        a, left = addr, n
        translate = self.vm.translate
        while left > 0:
            chunk = min(left, ps - (a & (ps - 1)))
            phys = translate(a, write)
            if phys is None:
                k.report.page_fault(a, write=write)  # the oops: raises
                return out
            out.append((phys, chunk))
            a += chunk
            left -= chunk
        return out

    def _claim(self, phys: int, n: int) -> tuple[Device | None, int]:
        """The device at ``phys`` (or None) and how many of the ``n`` bytes it (or the gap) covers."""
        i = bisect.bisect_right(self._dev_starts, phys) - 1
        if i >= 0 and phys < self.devices[i].end:
            return self.devices[i], min(n, self.devices[i].end - phys)
        if i + 1 < len(self.devices):
            return None, min(n, self.devices[i + 1].phys - phys)
        return None, n

    def phys_read(self, phys: int, n: int) -> bytes:
        """A load of ``n`` bytes at a physical address within one page: device, RAM or all ones."""
        out = b""
        backed = self.k.phys.backed
        while n > 0:
            dev, span = self._claim(phys, n)
            if dev is not None:
                out += dev.bus_read(phys - dev.phys, span)
            elif backed(phys >> self.page_shift):
                out += self.k.phys.read(phys, span)
            else:
                out += b"\xff" * span
            phys += span
            n -= span
        return out

    def phys_write(self, phys: int, data: bytes) -> None:
        backed = self.k.phys.backed
        pos = 0
        while pos < len(data):
            dev, span = self._claim(phys, len(data) - pos)
            if dev is not None:
                dev.bus_write(phys - dev.phys, data[pos:pos + span])
            elif backed(phys >> self.page_shift):
                self.k.phys.write(phys, data[pos:pos + span])
            phys += span
            pos += span

    def io_read(self, addr: int, n: int) -> bytes:
        """One access of ``n`` bytes at a kernel virtual address (a ``mov`` of that width)."""
        return b"".join(self.phys_read(p, c) for p, c in self._translate(addr, n, False))

    def io_write(self, addr: int, data: bytes) -> None:
        pos = 0
        for p, c in self._translate(addr, len(data), True):
            self.phys_write(p, data[pos:pos + c])
            pos += c

    def readX(self, addr: int, width: int, who: str) -> int:  # noqa: N802 - kernel family name
        self._check_addr(addr, who)
        if width == 8 and not self.has_readq:
            raise UsageError(f"{who}: readq/writeq are 64-bit only; {self.linux} "
                             f"{self.k.profile.arch} has no readq()")
        return int.from_bytes(self.io_read(addr, width), "little")

    def writeX(self, value: int, addr: int, width: int, who: str) -> None:  # noqa: N802
        self._check_addr(addr, who)
        if width == 8 and not self.has_readq:
            raise UsageError(f"{who}: readq/writeq are 64-bit only; {self.linux} "
                             f"{self.k.profile.arch} has no writeq()")
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << (8 * width):
            raise UsageError(f"{who}: value {value!r} does not fit in u{8 * width} (the arguments are value, addr)")
        self.io_write(addr, value.to_bytes(width, "little"))

    # lib/iomap.c
    def _bad_io_access(self, port: int, access: str) -> None:
        if self._bad_io_count:
            self._bad_io_count -= 1
            self.k.report.warn("bad_io_access+0x0/0x0", f"Bad IO access at port {port:#x} ({access})")

    def ioread(self, addr: int, width: int) -> int:
        """ioread8/16/32(addr): MMIO from PIO_RESERVED up, a port cookie, or a bad access."""
        who = f"ioread{8 * width}"
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise UsageError(f"{who}: {addr!r} is not an address")
        if addr >= PIO_RESERVED:
            return self.readX(addr, width, who)
        if addr > PIO_OFFSET:
            return (1 << (8 * width)) - 1  # in{b,w,l}(port): no port devices, a floating bus
        self._bad_io_access(addr, f"return in{'bwl'[width.bit_length() - 1]}(port)")
        return (1 << (8 * width)) - 1

    def iowrite(self, value: int, addr: int, width: int) -> None:
        who = f"iowrite{8 * width}"
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise UsageError(f"{who}: {addr!r} is not an address")
        if addr >= PIO_RESERVED:
            self.writeX(value, addr, width, who)
            return
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 1 << (8 * width):
            raise UsageError(f"{who}: value {value!r} does not fit in u{8 * width}")
        if addr > PIO_OFFSET:
            return  # out{b,w,l}(val, port): nobody listens
        self._bad_io_access(addr, f"out{'bwl'[width.bit_length() - 1]}(val,port)")

    def ioport_map(self, port: int, nr: int) -> int:
        """ioport_map(port, nr): the cookie PIO_OFFSET + port, or NULL above 0xffff."""
        self._check_int(port, "ioport_map: port")
        return NULL if port > PIO_MASK else port + PIO_OFFSET

    # arch/x86/lib/iomem.c (6.18); i386 __memcpy/__memset (2.6.24)
    def _io_steps(self, io_addr: int, n: int) -> list[int]:
        """The access widths memcpy_fromio/memcpy_toio use, in order."""
        steps = []
        if not self.aligned_memcpy:  # i386 __memcpy: rep movsl, then rep movsb of n & 3
            return [4] * (n // 4) + [1] * (n & 3)
        if n and io_addr & 1:
            steps.append(1)
            n -= 1
            io_addr += 1
        if n > 1 and io_addr & 2:
            steps.append(2)
            n -= 2
        steps += [4] * (n // 4)
        if n & 2:
            steps.append(2)
        if n & 1:
            steps.append(1)
        return steps

    def _check_n(self, n: int, who: str) -> None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise UsageError(f"{who}: count {n!r} must be a non-negative integer (size_t)")

    def memcpy_fromio(self, to: int, src: int, n: int) -> None:
        """memcpy_fromio(to, from, n): device -> memory, in the kernel's access widths."""
        self._check_addr(to, "memcpy_fromio")
        self._check_addr(src, "memcpy_fromio")
        self._check_n(n, "memcpy_fromio")
        if not n:
            return
        self._translate(src, n, False)  # fault before the device sees anything
        out = bytearray()
        a = src
        for w in self._io_steps(src, n):
            out += self.io_read(a, w)
            a += w
        self.k.write(to, bytes(out))

    def memcpy_toio(self, to: int, src: int, n: int) -> None:
        """memcpy_toio(to, from, n): memory -> device, in the kernel's access widths."""
        self._check_addr(to, "memcpy_toio")
        self._check_addr(src, "memcpy_toio")
        self._check_n(n, "memcpy_toio")
        if not n:
            return
        data = self.k.read(src, n)
        self._translate(to, n, True)
        pos = 0
        for w in self._io_steps(to, n):
            self.io_write(to + pos, data[pos:pos + w])
            pos += w

    def memset_io(self, addr: int, c: int, n: int) -> None:
        """memset_io(addr, c, n): the kernel's memset on the mapping (6.18 x86_64: bytes to
        8-byte alignment, quadwords, a byte tail; 2.6.24 i386: rep stosl, a word, a byte)."""
        self._check_addr(addr, "memset_io")
        self._check_n(n, "memset_io")
        if isinstance(c, bool) or not isinstance(c, int):
            raise UsageError(f"memset_io: value {c!r} must be an int")
        if not n:
            return
        self._translate(addr, n, True)
        b = c & 0xFF
        if self.quad_memset:  # x86_64 memset: bytes to 8-byte alignment, quadwords, bytes
            head = min(n, -addr & 7)
            steps = [1] * head + [8] * ((n - head) // 8) + [1] * ((n - head) & 7)
        else:  # i386 __memset: rep stosl, a word, a byte
            steps = [4] * (n // 4) + ([2] if n & 2 else []) + ([1] if n & 1 else [])
        a = addr
        for w in steps:
            self.io_write(a, bytes([b]) * w)
            a += w

    # ---------------------------------------------------------------- __iomem rule
    def claims(self, addr: int, n: int) -> IoMapping | None:
        """The live ioremap mapping that [addr, addr + n) touches, or None.  Mappings do not
        overlap, so only the last one starting at or below addr + n - 1 can."""
        if n <= 0 or not self._map_starts:
            return None
        i = bisect.bisect_right(self._map_starts, addr + n - 1) - 1
        if i < 0:
            return None
        m = self.mappings[self._map_starts[i]]
        if m.vaddr + m.size <= addr:
            return None
        if self.vm.find_vm_area(m.vaddr) is not m.area:  # unmapped behind iounmap's back
            return None
        return m

    def plain_access(self, addr: int, n: int, data: bytes | bytearray | memoryview | None) -> bytes | None:
        """k.read/k.write of __iomem memory: the model's report, then the access itself."""
        m = self.claims(addr, n)
        assert m is not None
        what = "load from" if data is None else "store to"
        self.k.report.bug([
            f"kmemsim: plain {what} __iomem address {addr:#x} ({n} bytes), which ioremap mapped to "
            f"phys {pa(m.phys + (addr - m.vaddr)) if addr >= m.vaddr else pa(m.phys)}",
            "kmemsim: __iomem memory is reached with readb/readw/readl/readq, writeb..writeq, ioread*/iowrite*, "
            "memcpy_fromio/memcpy_toio/memset_io; sparse reports a dereference at build time "
            "(\"dereference of noderef expression\").  This is the model's rule, not a kernel message.",
        ], kind="iomem_deref")
        if data is None:
            return self.io_read(addr, n)
        self.io_write(addr, bytes(data))
        return None

    # ---------------------------------------------------------------- invariants
    def check(self) -> None:
        """Every ioremap area maps exactly its physical range; every device inside iomem,
        outside RAM and not overlapping another; the memtype list matches the mappings."""
        vm, pt = self.vm, self.pt
        root = self.res.iomem_resource
        for vaddr, m in self.mappings.items():
            if vm.find_vm_area(vaddr) is not m.area or not m.area.flags & VM_IOREMAP:
                raise InvariantError("ioremap", f"{m!r}: its vm area is gone (vunmap/vfree/free_vm_area of an "
                                     "ioremap address leaks its memtype; use iounmap)")
            if m.area.addr != vaddr or m.area.phys_addr != m.phys or m.area.get_vm_area_size() != m.size:
                raise InvariantError("ioremap", f"{m!r} disagrees with its vm_struct {m.area!r}")
            covered = 0
            for va, entry, level in pt.mappings(vaddr, vaddr + m.size):
                span = pt.level_size(level)
                phys = entry & pt.phys_mask & ~(span - 1)
                if va < vaddr or va + span > vaddr + m.size or phys != m.phys + (va - vaddr):
                    raise InvariantError("ioremap", f"{m!r}: {va:#x} maps phys {phys:#x} (entry {entry:#x})")
                if not entry & _PAGE_PRESENT:
                    raise InvariantError("ioremap", f"{m!r}: {va:#x} is not present")
                covered += span
            if covered != m.size:
                raise InvariantError("ioremap", f"{m!r}: {covered:#x} of {m.size:#x} bytes mapped")
        prev = None
        for d in self.devices:
            r = d.resource
            if (r.start, r.end) != (d.phys, d.end - 1):
                raise InvariantError("ioremap", f"{d!r}: its resource is {r!r}")
            p: Resource | None = r
            while p is not None and p is not root:
                p = p.parent
            if p is not root:
                raise InvariantError("ioremap", f"{d!r}: its resource is not in iomem")
            if self.res.region_intersects_ram(d.phys, d.size):
                raise InvariantError("ioremap", f"{d!r} overlaps System RAM")
            if prev is not None and d.phys < prev.end:
                raise InvariantError("ioremap", f"{d!r} overlaps {prev!r}")
            prev = d
        self._check_memtypes()

    def _check_memtypes(self) -> None:
        """The memtype list holds exactly the tracked mappings' ranges."""
        want = sorted((m.phys, m.phys + m.size) for m in self.mappings.values() if m.tracked)
        have = sorted((a, b) for a, b, _ in self.memtypes)
        if want != have:
            raise InvariantError("ioremap", f"memtype reservations {have} do not match the mappings {want}")

    # ------------------------------------------------------------------ MMIO accessors (kernel names)
    def readb(self, addr: int) -> int:
        """readb(addr): one 8-bit MMIO load."""
        return self.readX(addr, 1, "readb")

    def readw(self, addr: int) -> int:
        """readw(addr): one 16-bit MMIO load."""
        return self.readX(addr, 2, "readw")

    def readl(self, addr: int) -> int:
        """readl(addr): one 32-bit MMIO load."""
        return self.readX(addr, 4, "readl")

    def readq(self, addr: int) -> int:
        """readq(addr): one 64-bit MMIO load (64-bit kernels)."""
        return self.readX(addr, 8, "readq")

    def writeb(self, value: int, addr: int) -> None:
        """writeb(value, addr): one 8-bit MMIO store (the kernel's argument order)."""
        self.writeX(value, addr, 1, "writeb")

    def writew(self, value: int, addr: int) -> None:
        """writew(value, addr)."""
        self.writeX(value, addr, 2, "writew")

    def writel(self, value: int, addr: int) -> None:
        """writel(value, addr)."""
        self.writeX(value, addr, 4, "writel")

    def writeq(self, value: int, addr: int) -> None:
        """writeq(value, addr) (64-bit kernels)."""
        self.writeX(value, addr, 8, "writeq")

    def ioread8(self, addr: int) -> int:
        """ioread8(cookie): MMIO, or port I/O for an ioport_map() cookie."""
        return self.ioread(addr, 1)

    def ioread16(self, addr: int) -> int:
        """ioread16(cookie)."""
        return self.ioread(addr, 2)

    def ioread32(self, addr: int) -> int:
        """ioread32(cookie)."""
        return self.ioread(addr, 4)

    def iowrite8(self, value: int, addr: int) -> None:
        """iowrite8(value, cookie)."""
        self.iowrite(value, addr, 1)

    def iowrite16(self, value: int, addr: int) -> None:
        """iowrite16(value, cookie)."""
        self.iowrite(value, addr, 2)

    def iowrite32(self, value: int, addr: int) -> None:
        """iowrite32(value, cookie)."""
        self.iowrite(value, addr, 4)


class IoremapNoPat(Ioremap):
    """ioremap of 2.6.24 i386 (before ``x86_pat``): arch/x86/mm/ioremap_32.c.

    ``__ioremap(phys, size, flags)`` returns the direct-map address for the ISA range
    without an area, refuses lowmem RAM that is not PageReserved (silently), maps with
    ``__PAGE_KERNEL | flags`` and keeps the flags in the area's ``flags << 20``; no memtype
    tracking.  ioremap() is cached, ioremap_nocache() adds PCD|PWT."""

    _instead = "has ioremap() (cached) and ioremap_nocache()"

    def ioremap(self, phys: int, size: int, caller: str | None = None) -> int:
        return self._ioremap_26(phys, size, 0, caller or _caller())

    def ioremap_cache(self, phys: int, size: int) -> int:
        self._require("ioremap_cache")
        return self._ioremap_26(phys, size, 0, _caller())  # write-back: no cache bits

    def ioremap_nocache(self, phys: int, size: int) -> int:
        self._require("ioremap_nocache")
        return self._ioremap_26(phys, size, _PAGE_PCD | _PAGE_PWT, _caller())

    def _ioremap_26(self, phys: int, size: int, flags: int, caller: str | None) -> int:
        """2.6.24 arch/x86/mm/ioremap_32.c __ioremap(phys, size, flags)."""
        k = self.k
        self._check_int(phys, "ioremap: phys_addr", 1 << 32)
        self._check_int(size, "ioremap: size", 1 << 32)
        last = phys + size - 1
        if not size or last >= 1 << 32:
            return NULL
        if phys >= ISA_START_ADDRESS and last < ISA_END_ADDRESS:
            return k.va(phys)  # "Don't remap the low PCI/ISA area, it's always mapped.."
        s = self.page_shift
        high_phys = k.layout.high_memory - 1 - k.layout.page_offset  # virt_to_phys(high_memory - 1)
        if phys <= high_phys:
            mm = k.memmap
            for pfn in range(phys >> s, (last >> s) + 1):  # virt_to_page(t_addr) .. virt_to_page(t_end)
                if mm.pfn_valid(pfn) and not mm.get(pfn, "flags") & PG.reserved:
                    return NULL
        prot = self.pt.page_kernel | flags  # MAKE_GLOBAL(__PAGE_KERNEL | flags)
        ps = self.page_size
        offset = phys & (ps - 1)
        phys -= offset
        size = ((last + 1 + ps - 1) & -ps) - phys
        area = self.vm.get_vm_area_caller(size, VM_IOREMAP | (flags << 20), caller)
        if area is None:
            return NULL
        area.phys_addr = phys
        if self.pt.vmap_range(area.addr, area.addr + size, phys, prot) < 0:
            self.vm.vunmap(area.addr)
            return NULL
        self._record(IoMapping(area.addr + offset, area.addr, size, phys, flags, area, caller, False))
        return area.addr + offset

    def iounmap(self, addr: int) -> None:
        """2.6.24 iounmap(): nothing at or below high_memory (NULL, the ISA direct map);
        "iounmap: bad address" for an address no area starts at."""
        self._check_addr(addr, "iounmap")
        k = self.k
        vm = self.vm
        if addr <= k.layout.high_memory:
            return  # includes NULL and the ISA direct-map cookies
        a = addr & -self.page_size
        p = vm.find_vm_area(a)
        if p is None:
            k.printk(f"iounmap: bad address {vm.hashed_ptr(a)}", KERN_WARNING)
            k.printk("\n".join(k.report.dump_stack_lines()), KERN_WARNING)
            return
        self._release(p)

    def _check_memtypes(self) -> None:
        """No PAT: nothing is tracked."""


def ioremap_init(k: Kernel) -> None:
    """ioremap and its devices (``k.ioremap_impl``), over the vmalloc space and the iomem tree:
    with PAT when the machine's kernel has ``x86_pat``; the "ioremap" invariant check."""
    io = Ioremap(k) if k.features.x86_pat else IoremapNoPat(k)
    k.ioremap_impl = io
    k.checks.register("ioremap", io.check)
