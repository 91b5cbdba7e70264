"""The DMA mapping API: which memory a device may be given, at which bus address.

Models, per profile:

* linux-6.18-x86_64: include/linux/dma-mapping.h (dma_map_single_attrs's refusal of
  vmalloc memory, dma_mapping_error, dma_set_mask_and_coherent, DMA_BIT_MASK,
  DMA_MAPPING_ERROR), kernel/dma/mapping.c (dma_map_page_attrs -> dma_map_phys,
  dma_unmap_phys, dma_alloc_attrs, dma_free_attrs, dma_set_mask, dma_set_coherent_mask,
  dma_supported), kernel/dma/direct.c and direct.h (dma_direct_map_phys with its
  dma_capable() test and "DMA addr ... overflow" warning, dma_direct_alloc and
  __dma_direct_alloc_pages with dma_direct_optimal_gfp_mask's zone choice and the
  DMA32/DMA retries, dma_direct_free, dma_direct_supported) and kernel/dma/debug.c
  (CONFIG_DMA_API_DEBUG: the entry hash with best-fit matching, check_unmap's reports,
  the "failed to check map error" report, the active-cacheline overlap tracking,
  debug_dma_map_single, the leak report when a driver is unbound, err_printk's
  show_num_errors limit and error_count), read in the 6.17-rc3 tree plus the 6.18
  dma_map_phys series (entry type "phy"); the host's 6.18 kallsyms confirm dma_map_phys,
  dma_map_resource and swiotlb_map.
* linux-2.6-i386 (2.6.24): include/asm-x86/dma-mapping_32.h and
  arch/x86/kernel/pci-dma_32.c: dma_map_single is ``virt_to_phys(ptr)`` -- no check for
  vmalloc memory, no mask check, dma_mapping_error() is always 0 -- and
  dma_alloc_coherent takes GFP_DMA for any coherent mask below 32 bits.  2.6.24 had no
  DMA-API debugging (2.6.30), so the model keeps its records but prints no dma-debug
  reports there; dma_set_coherent_mask (2.6.34) is pci_set_consistent_dma_mask's body.

The machine's features choose: ``dma_direct`` the implementation (:class:`DmaMapping`,
dma-direct; :class:`DmaMappingI386`, 2.6.24's); ``dma_map_phys`` (6.18) the streaming
entry type ("phy"; "single" before, as in 6.6) and the dump format; ``dma_api_debug``
(2.6.30) whether dma-debug reports.  6.6's dma-debug otherwise prints as modelled here
(checked: dma_map_page_attrs, dma_map_single_attrs, the overflow warning); 2.6.11's i386
header differs from 2.6.24's in its BUG/WARN sites (see :class:`DmaMappingI386`).

There is no IOMMU on the modelled x86 machines: a bus address is the physical address
(``phys_to_dma`` is the identity).  Devices are coherent (x86): no cache maintenance.

The model runs 6.18 as if built with CONFIG_DMA_API_DEBUG (the reference host is not):
every mapping is a :class:`DmaDebugEntry` on its device; ``debug = False`` on the
:class:`DmaMapping` silences the reports (the records stay, for :meth:`DmaMapping.check`
and :meth:`DmaMapping.entries`).  ``show_num_errors`` (1) and ``show_all_errors`` (0) are
dma-debug's debugfs knobs: by default only the first error is printed, every error is
counted in ``error_count``.  ``k.debugfs("dma-api/dump")`` is the kernel's dump file.

Simplified, and said so:
  * no swiotlb: a mapping the device cannot reach gets the kernel's overflow warning and
    DMA_MAPPING_ERROR, as on a machine where swiotlb is not active (x86_64 activates it
    only with RAM above 4 GiB or iommu=soft, bouncing through a 64 MiB buffer below 4 GiB;
    the reference host boots with swiotlb=noforce and "software IO TLB: No low mem");
  * no CMA, no per-device coherent pools, no atomic DMA pools, no scatterlists, no
    dma_sync_*, no dma_map_resource;
  * dma-debug's check_for_stack and check_for_illegal_area are not modelled (the model
    has no task stacks; on x86_64 the illegal-area test compares the direct-map alias with
    _stext and cannot fire);
  * WARN locations print as ``function+0x0/0x0`` (no file:line), like the rest of kmemsim.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..args import check_addr
from ..errors import InvariantError, UsageError
from ..printk import KERN_WARNING
from ..report import user_frames
from .page import Page

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

# include/linux/dma-direction.h
DMA_BIDIRECTIONAL = 0
DMA_TO_DEVICE = 1
DMA_FROM_DEVICE = 2
DMA_NONE = 3
DIR_NAMES = ("DMA_BIDIRECTIONAL", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_NONE")  # dir2name[]

#: ~(dma_addr_t)0 with the 64-bit dma_addr_t of x86_64
DMA_MAPPING_ERROR = (1 << 64) - 1
ENOMEM = 12
EIO = 5


def DMA_BIT_MASK(n: int) -> int:  # noqa: N802 - kernel name
    """DMA_BIT_MASK(n): the mask of an n-bit bus address."""
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 64:
        raise UsageError(f"DMA_BIT_MASK({n!r}): n must be 0..64")
    return (1 << 64) - 1 if n == 64 else (1 << n) - 1


#: kernel/dma/direct.c zone_dma_limit (x86: DMA_BIT_MASK(24), ZONE_DMA is the first 16 MiB)
ZONE_DMA_LIMIT = DMA_BIT_MASK(24)

# kernel/dma/debug.c
DMA_DEBUG_SINGLE, DMA_DEBUG_SG, DMA_DEBUG_COHERENT, DMA_DEBUG_RESOURCE, DMA_DEBUG_PHY = range(5)
TYPE_NAMES = ("single", "scatter-gather", "coherent", "resource", "phy")  # type2name[]
MAP_ERR_CHECK_NOT_APPLICABLE, MAP_ERR_NOT_CHECKED, MAP_ERR_CHECKED = range(3)
MAPERR_NAMES = ("dma map error check not applicable", "dma map error not checked", "dma map error checked")
HASH_SIZE = 16384
HASH_FN_SHIFT = 13
L1_CACHE_SHIFT = 6
ACTIVE_CACHELINE_MAX_OVERLAP = 7  # (1 << RADIX_TREE_MAX_TAGS) - 1

#: 2.6.24 source lines (include/asm-x86/dma-mapping_32.h seen as include/asm/, pci-dma_32.c)
_LINES_2_6 = {
    "dma_map_single_bug": ("include/asm/dma-mapping_32.h", 24),
    "dma_map_single_warn": ("include/asm/dma-mapping_32.h", 25),
    "dma_unmap_single_bug": ("include/asm/dma-mapping_32.h", 34),
    "dma_map_page_bug": ("include/asm/dma-mapping_32.h", 61),
    "dma_unmap_page_bug": ("include/asm/dma-mapping_32.h", 69),
    "dma_free_coherent_warn": ("arch/x86/kernel/pci-dma_32.c", 66),
}


def min_not_zero(a: int, b: int) -> int:
    if a == 0:
        return b
    if b == 0:
        return a
    return min(a, b)


class DmaDevice:
    """A ``struct device`` as the DMA API sees it: its name, driver, bus and masks.

    ``dma_mask`` is ``*dev->dma_mask`` (``None``: the device has no dma_mask pointer and
    every streaming map fails); ``coherent_dma_mask`` is what dma_alloc_coherent honours;
    ``bus_dma_limit`` is 0 (no bus limit) on the modelled machines.
    """

    __slots__ = ("name", "driver", "bus", "dma_mask", "coherent_dma_mask", "bus_dma_limit", "_dma", "released")

    def __init__(self, dma: DmaMapping, name: str, dma_mask: int | None, coherent_dma_mask: int, driver: str | None,
                 bus: str):
        self._dma = dma  # the DMA layer of the machine the device belongs to
        self.name = name
        self.driver = driver
        self.bus = bus
        self.dma_mask = dma_mask
        self.coherent_dma_mask = coherent_dma_mask
        self.bus_dma_limit = 0
        self.released = False

    def dev_driver_string(self) -> str:
        """dev_driver_string(): the bound driver's name, else the bus name."""
        return self.driver if self.driver else self.bus

    def dev_name(self) -> str:
        return self.name

    @property
    def mappings(self) -> list[DmaDebugEntry]:
        """The device's live DMA mappings and coherent allocations (dma-debug's entries)."""
        return self._dma.entries(self)

    def __repr__(self) -> str:
        mask = "NULL" if self.dma_mask is None else f"{self.dma_mask:#x}"
        return (f"<device {self.dev_driver_string()} {self.name} dma_mask={mask} "
                f"coherent_dma_mask={self.coherent_dma_mask:#x}>")


class DmaDebugEntry:
    """struct dma_debug_entry: one dma_map_* or dma_alloc_coherent."""

    __slots__ = ("dev", "type", "paddr", "dev_addr", "size", "direction", "sg_call_ents", "map_err_type",
                 "stack", "seq")

    def __init__(self, dev: DmaDevice, type_: int, paddr: int, dev_addr: int, size: int, direction: int,
                 map_err_type: int = MAP_ERR_CHECK_NOT_APPLICABLE, stack: list[tuple[str, str]] | None = None):
        self.dev = dev
        self.type = type_
        self.paddr = paddr
        self.dev_addr = dev_addr
        self.size = size
        self.direction = direction
        self.sg_call_ents = 0
        self.map_err_type = map_err_type
        self.stack = stack or []
        self.seq = 0

    @property
    def cln(self) -> int:
        """to_cacheline_number(): the physical cacheline of the start."""
        return self.paddr >> L1_CACHE_SHIFT

    @property
    def bucket(self) -> int:
        """hash_fn(): the dma-debug hash bucket."""
        return (self.dev_addr >> HASH_FN_SHIFT) & (HASH_SIZE - 1)

    def __repr__(self) -> str:
        return (f"<dma {TYPE_NAMES[self.type]} {self.dev.name} P={self.paddr:#x} D={self.dev_addr:#x} "
                f"L={self.size:#x} {_dir_name(self.direction)}>")


def _dir_name(d: int) -> str:
    return DIR_NAMES[d] if 0 <= d < len(DIR_NAMES) else f"dir {d}"


class DmaMapping:
    """The DMA layer of one machine (``k.dma_impl``): devices, dma-direct, dma-debug.

    This class is the kernel with ``dma_direct`` (kernel/dma/mapping.c, direct.c, debug.c);
    :class:`DmaMappingI386` is 2.6.24's i386 one.  :func:`dma_init` builds the one the
    machine's kernel has and registers its "dma" invariant check."""

    def __init__(self, k: Kernel):
        self.k = k
        f = k.features
        self.page_shift = k.page_shift
        self.page_size = k.page_size
        #: dma_addr_t of a streaming map: the phys_addr_t width on the modelled x86 machines
        self.dma_addr_mask = (1 << k.layout.bits) - 1
        #: CONFIG_DMA_API_DEBUG reports (dma_api_debug); the records are kept either way
        self.debug = f.dma_api_debug
        #: streaming maps go through dma_map_phys() (6.18) and dma-debug records them as
        #: "phy" entries; before, dma_map_page_attrs() and "single" entries
        self.map_phys = f.dma_map_phys
        self.stream_type = DMA_DEBUG_PHY if self.map_phys else DMA_DEBUG_SINGLE
        self.map_fn = "dma_map_phys" if self.map_phys else "dma_map_page_attrs"
        self.unmap_fn = "dma_unmap_phys" if self.map_phys else "dma_unmap_page_attrs"
        self.show_all_errors: int = 0
        self.show_num_errors: int = 1
        self.error_count: int = 0
        self.devices: list[DmaDevice] = []
        self._entries: dict[int, list[DmaDebugEntry]] = {}  # dev_addr -> entries (the hash, finer)
        self._seq = 0
        self.active_cacheline: dict[int, int] = {}  # cacheline -> overlap count (0: one mapping)
        #: cachelines whose count saturated (the kernel stops counting above the maximum, so
        #: the stored count lags behind the entries until the cacheline is free again)
        self.saturated: set[int] = set()
        #: head pfn -> (dev, order, the coherent limit it was allocated for, bytes asked)
        self.coherent: dict[int, tuple[DmaDevice, int, int, int]] = {}
        self._warned: set[str] = set()
        #: the GFP bits this layer acts on (0 for a flag the kernel lacks: __GFP_DMA32 on i386)
        self.gfp_bits = k.gfp.bits

    # ================================================================ reports
    def _warn_once(self, key: str, where: str, message: str = "") -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        self.k.report.warn(where, message)

    def _caller(self) -> tuple[str, str]:
        f = user_frames(1)
        return f[0] if f else ("kmemsim_entry", "kmemsim:0")

    def _dev_warn_once(self, key: str, where: str, dev: DmaDevice, fmt: str) -> None:
        """dev_WARN_ONCE(dev, 1, fmt): "<driver> <device>: <fmt>" in a WARNING."""
        self._warn_once(key, where, f"{dev.dev_driver_string()} {dev.dev_name()}: {fmt}")

    def _bug(self, site: str, func: str) -> None:
        """BUG_ON(!valid_dma_direction(dir)) and friends: the oops (always raises); ``site``
        names the BUG_ON for kernels whose source lines the model knows."""
        self._oops(f"Kernel BUG at {func}+0x0/0x0 [verbose debug info unavailable]")

    def _oops(self, first: str) -> None:
        self.k.report.bug(["------------[ cut here ]------------", first], kind="dma_bug", oops=True,
                          oops_str="invalid opcode", err=0)

    def err_printk(self, dev: DmaDevice, entry: DmaDebugEntry | None, where: str, text: str) -> None:
        """dma-debug's err_printk(): count, and within show_num_errors WARN(1, "DMA-API: %s %s: " fmt)
        followed by the entry's "Mapped at:" trace."""
        self.error_count += 1
        if self.show_all_errors or self.show_num_errors > 0:
            self.k.report.warn(f"{where}+0x0/0x0", f"DMA-API: {dev.dev_driver_string()} {dev.dev_name()}: {text}")
            if entry is not None:
                lines = ["DMA-API: Mapped at:"] + [f" {fn} {loc}" for fn, loc in entry.stack]
                self.k.printk("\n".join(lines), KERN_WARNING)
        if not self.show_all_errors and self.show_num_errors > 0:
            self.show_num_errors -= 1

    # ================================================================ arguments
    def _dev(self, dev: DmaDevice, what: str) -> DmaDevice:
        if not isinstance(dev, DmaDevice):
            raise UsageError(f"{what}: {dev!r} is not a device; make one with k.dma_device(name, dma_mask=...)")
        if dev._dma is not self:
            raise UsageError(f"{what}: {dev!r} belongs to another machine")
        return dev

    @staticmethod
    def _uint(v: int, what: str, name: str) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise UsageError(f"{what}: {name} {v!r} must be a non-negative integer")
        return v

    def _dir(self, d: int, what: str) -> int:
        if isinstance(d, bool) or not isinstance(d, int):
            raise UsageError(f"{what}: direction {d!r} must be DMA_TO_DEVICE, DMA_FROM_DEVICE or DMA_BIDIRECTIONAL")
        return d

    @staticmethod
    def valid_dma_direction(d: int) -> bool:
        return d in (DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE)

    def _mask(self, mask: int, what: str) -> int:
        if isinstance(mask, bool) or not isinstance(mask, int) or mask < 0:
            raise UsageError(f"{what}: mask {mask!r} must be a non-negative integer such as DMA_BIT_MASK(32)")
        return mask & ((1 << 64) - 1)  # mask = (dma_addr_t)mask

    def get_order(self, size: int) -> int:
        """get_order(size); get_order(0) is BITS_PER_LONG - PAGE_SHIFT, as in the kernel."""
        if size == 0:
            return self.k.layout.bits - self.page_shift
        return max(0, ((size - 1) >> self.page_shift).bit_length())

    # ================================================================ devices and masks
    def dma_device(self, name: str, dma_mask: int | None = (1 << 32) - 1, coherent_dma_mask: int | None = None,
                   *, driver: str | None = None, bus: str = "platform") -> DmaDevice:
        """A device for the DMA API.  ``dma_mask`` defaults to DMA_BIT_MASK(32), what platform
        and PCI devices start with (``None``: no dma_mask pointer, every streaming map fails);
        ``coherent_dma_mask`` defaults to ``dma_mask`` (DMA_BIT_MASK(32) without one).
        ``driver`` and ``bus`` make dev_driver_string() (the driver's name, else the bus's)."""
        if not isinstance(name, str) or not name:
            raise UsageError(f"dma_device: name {name!r} must be a non-empty string")
        if driver is not None and (not isinstance(driver, str) or not driver):
            raise UsageError(f"dma_device: driver {driver!r} must be a non-empty string or None")
        if not isinstance(bus, str):
            raise UsageError(f"dma_device: bus {bus!r} must be a string")
        dm = None if dma_mask is None else self._mask(dma_mask, "dma_device")
        if coherent_dma_mask is None:
            cm = DMA_BIT_MASK(32) if dm is None else dm
        else:
            cm = self._mask(coherent_dma_mask, "dma_device")
        dev = DmaDevice(self, name, dm, cm, driver, bus)
        self.devices.append(dev)
        return dev

    def dma_supported(self, dev: DmaDevice, mask: int) -> bool:
        """dma_direct_supported(): masks of 32 bits and more always; below, the mask must
        cover ZONE_DMA (or all of memory)."""
        if mask >= DMA_BIT_MASK(32):
            return True
        min_mask = min((self.k.max_pfn - 1) << self.page_shift, ZONE_DMA_LIMIT)
        return mask >= min_mask

    def dma_set_mask(self, dev: DmaDevice, mask: int) -> int:
        """dma_set_mask(dev, mask): 0, or -EIO when the device has no dma_mask or the mask is
        not supported."""
        dev = self._dev(dev, "dma_set_mask")
        mask = self._mask(mask, "dma_set_mask")
        if dev.dma_mask is None or not self.dma_supported(dev, mask):
            return -EIO
        dev.dma_mask = mask
        return 0

    def dma_set_coherent_mask(self, dev: DmaDevice, mask: int) -> int:
        """dma_set_coherent_mask(dev, mask): 0 or -EIO."""
        dev = self._dev(dev, "dma_set_coherent_mask")
        mask = self._mask(mask, "dma_set_coherent_mask")
        if not self.dma_supported(dev, mask):
            return -EIO
        dev.coherent_dma_mask = mask
        return 0

    def dma_set_mask_and_coherent(self, dev: DmaDevice, mask: int) -> int:
        """dma_set_mask_and_coherent(): both masks, or -EIO and neither."""
        rc = self.dma_set_mask(dev, mask)
        if rc == 0:
            self.dma_set_coherent_mask(dev, mask)
        return rc

    def dma_get_mask(self, dev: DmaDevice) -> int:
        """dma_get_mask(): *dev->dma_mask, or DMA_BIT_MASK(32) without one."""
        dev = self._dev(dev, "dma_get_mask")
        return dev.dma_mask if dev.dma_mask else DMA_BIT_MASK(32)

    # ================================================================ streaming mappings
    def dma_map_single(self, dev: DmaDevice, addr: int, size: int, direction: int) -> int:
        """dma_map_single(dev, ptr, size, dir): the bus address of a buffer of kmalloc or
        page-allocator memory, or DMA_MAPPING_ERROR (vmalloc/ioremap memory, beyond the mask)."""
        dev = self._dev(dev, "dma_map_single")
        check_addr(addr, "dma_map_single", self.k.layout.bits)
        size = self._uint(size, "dma_map_single", "size")
        direction = self._dir(direction, "dma_map_single")
        # DMA must never operate on areas that might be remapped.
        if self.k.is_vmalloc_addr(addr):
            fn, loc = self._caller()
            self._dev_warn_once(f"vmalloc {loc.rsplit(':', 1)[0]}", f"{fn}+0x0/0x0", dev,
                                "rejecting DMA map of vmalloc memory")
            return DMA_MAPPING_ERROR
        if self.debug and not self.k.virt_addr_valid(addr):
            self.err_printk(dev, None, "debug_dma_map_single",
                            f"device driver maps memory from invalid area [addr={self._ptr(addr)}] [len={size}]")
        return self._map_phys(dev, self.k.pa(addr), size, direction)

    def dma_map_page(self, dev: DmaDevice, page: Page, offset: int, size: int, direction: int) -> int:
        """dma_map_page(dev, page, offset, size, dir): page_to_phys(page) + offset, mapped."""
        dev, phys, size, direction = self._page_args(dev, page, offset, size, direction)
        return self._map_phys(dev, phys, size, direction)

    def _page_args(self, dev: DmaDevice, page: Page, offset: int, size: int,
                   direction: int) -> tuple[DmaDevice, int, int, int]:
        dev = self._dev(dev, "dma_map_page")
        if not isinstance(page, Page) or page._k is not self.k:
            raise UsageError(f"dma_map_page: {page!r} is not a struct page of this machine")
        offset = self._uint(offset, "dma_map_page", "offset")
        size = self._uint(size, "dma_map_page", "size")
        direction = self._dir(direction, "dma_map_page")
        return dev, (page.pfn << self.page_shift) + offset, size, direction

    def _map_phys(self, dev: DmaDevice, phys: int, size: int, direction: int) -> int:
        """dma_map_phys() (dma_map_page_attrs() before 6.18) -> dma_direct_map_phys(), then
        dma-debug's record."""
        fn = self.map_fn
        if not self.valid_dma_direction(direction):
            self._bug(f"{fn}_bug", fn)
        if dev.dma_mask is None:
            self._warn_once(f"{fn} no mask", f"{fn}+0x0/0x0")  # WARN_ON_ONCE(!dev->dma_mask)
            return DMA_MAPPING_ERROR
        dma_addr = phys  # phys_to_dma(): no offset, no IOMMU
        if not self.dma_capable(dev, dma_addr, size):
            # no swiotlb in the model (see the module doc): err_overflow
            self._dev_warn_once("dma_direct_map overflow", f"{fn}+0x0/0x0", dev,
                                f"DMA addr 0x{dma_addr:016x}+{size} overflow (mask {dev.dma_mask:x}, "
                                f"bus limit {dev.bus_dma_limit:x}).")
            return DMA_MAPPING_ERROR
        self._add_entry(dev, self.stream_type, phys, dma_addr, size, direction, MAP_ERR_NOT_CHECKED)
        return dma_addr

    def dma_capable(self, dev: DmaDevice, addr: int, size: int) -> bool:
        """dma_capable(): addr .. addr + size - 1 under min_not_zero(mask, bus limit)."""
        if addr == DMA_MAPPING_ERROR:
            return False
        end = addr + size - 1
        return end <= min_not_zero(dev.dma_mask or 0, dev.bus_dma_limit)

    def dma_mapping_error(self, dev: DmaDevice, dma_addr: int) -> int:
        """dma_mapping_error(dev, addr): -ENOMEM for DMA_MAPPING_ERROR, else 0 (and dma-debug
        notes that the driver checked).  2.6.24: always 0."""
        dev = self._dev(dev, "dma_mapping_error")
        self._uint(dma_addr, "dma_mapping_error", "dma_addr")
        for e in self._entries.get(dma_addr, ()):  # debug_dma_mapping_error()
            if e.dev is dev and e.map_err_type == MAP_ERR_NOT_CHECKED:
                e.map_err_type = MAP_ERR_CHECKED
                break
        return -ENOMEM if dma_addr == DMA_MAPPING_ERROR else 0

    def dma_unmap_single(self, dev: DmaDevice, dma_addr: int, size: int, direction: int) -> None:
        """dma_unmap_single(dev, addr, size, dir)."""
        self._unmap(dev, dma_addr, size, direction, "dma_unmap_single")

    def dma_unmap_page(self, dev: DmaDevice, dma_addr: int, size: int, direction: int) -> None:
        """dma_unmap_page(dev, addr, size, dir)."""
        self._unmap(dev, dma_addr, size, direction, "dma_unmap_page")

    def _unmap_args(self, dev: DmaDevice, dma_addr: int, size: int, direction: int,
                    what: str) -> tuple[DmaDevice, int, int, int]:
        dev = self._dev(dev, what)
        dma_addr = self._uint(dma_addr, what, "dma_addr")
        size = self._uint(size, what, "size")
        direction = self._dir(direction, what)
        if not self.valid_dma_direction(direction):
            self._bug(f"{what}_bug", self.unmap_fn)
        return dev, dma_addr, size, direction

    def _unmap(self, dev: DmaDevice, dma_addr: int, size: int, direction: int, what: str) -> None:
        dev, dma_addr, size, direction = self._unmap_args(dev, dma_addr, size, direction, what)
        self.check_unmap(DmaDebugEntry(dev, self.stream_type, 0, dma_addr, size, direction))

    # ================================================================ coherent allocations
    def dma_alloc_coherent(self, dev: DmaDevice, size: int, gfp: int | None = None) -> tuple[int, int]:
        """dma_alloc_coherent(dev, size, &handle, gfp): ``(cpu_addr, dma_handle)`` of zeroed,
        physically contiguous memory the device reaches with its coherent mask, or ``(0, 0)``."""
        dev, size, gfp = self._alloc_args(dev, size, gfp)
        k = self.k
        b = self.gfp_bits
        if not dev.coherent_dma_mask:
            self._warn_once("dma_alloc_attrs no mask", "dma_alloc_attrs+0x0/0x0")
        if gfp & b.comp:
            self._warn_once("dma_alloc_attrs comp", "dma_alloc_attrs+0x0/0x0")
            return 0, 0
        # let the implementation decide on the zone to allocate from
        gfp &= ~(b.dma | b.dma32 | b.highmem)
        aligned = (size + self.page_size - 1) & -self.page_size
        order = self.get_order(aligned)
        if order > k.page_alloc.max_order:
            if not gfp & b.nowarn:  # WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER, gfp)
                self._warn_once("order > MAX_PAGE_ORDER", "__alloc_frozen_pages_noprof+0x0/0x0")
            return 0, 0
        limit = min_not_zero(dev.coherent_dma_mask, dev.bus_dma_limit)
        gfp &= ~b.zero  # "we always manually zero the memory once we are done"
        if limit <= ZONE_DMA_LIMIT:  # dma_direct_optimal_gfp_mask()
            gfp |= b.dma
        elif limit <= DMA_BIT_MASK(32):
            gfp |= b.dma32
        while True:  # __dma_direct_alloc_pages(): again:
            page = k.pages.alloc_pages(gfp, order)
            if page is None:
                return 0, 0
            phys = page.pfn << self.page_shift
            if self._coherent_ok(dev, phys, aligned):
                break
            k.page_alloc.free(page.pfn, order)  # __free_pages()
            if limit < DMA_BIT_MASK(64) and not gfp & (b.dma32 | b.dma):
                gfp |= b.dma32
                continue
            if not gfp & b.dma:
                gfp = (gfp & ~b.dma32) | b.dma
                continue
            return 0, 0
        cpu_addr = k.page_address(page)
        k.phys.fill(phys, 0, aligned)  # memset(ret, 0, size)
        self.coherent[page.pfn] = (dev, order, limit, size)
        # debug_dma_alloc_coherent(): the size as the driver asked
        self._add_entry(dev, DMA_DEBUG_COHERENT, phys, phys, size, DMA_BIDIRECTIONAL, MAP_ERR_CHECK_NOT_APPLICABLE)
        return cpu_addr, phys

    def _coherent_ok(self, dev: DmaDevice, phys: int, size: int) -> bool:
        """dma_coherent_ok()."""
        return phys + size - 1 <= min_not_zero(dev.coherent_dma_mask, dev.bus_dma_limit)

    def _alloc_args(self, dev: DmaDevice, size: int, gfp: object) -> tuple[DmaDevice, int, int]:
        dev = self._dev(dev, "dma_alloc_coherent")
        size = self._uint(size, "dma_alloc_coherent", "size")
        mask = self.gfp_bits.kernel if gfp is None else self.k.gfp.mask(gfp, "dma_alloc_coherent: gfp")
        return dev, size, mask

    def dma_free_coherent(self, dev: DmaDevice, size: int, cpu_addr: int, dma_handle: int) -> None:
        """dma_free_coherent(dev, size, cpu_addr, dma_handle): the pages behind dma_handle
        go back (6.18 frees by the handle; 2.6.24 by cpu_addr)."""
        dev, size, order = self._free_args(dev, size, cpu_addr, dma_handle)
        k = self.k
        if k.sched.irqs_off[k.cpu]:
            k.report.warn("dma_free_attrs+0x0/0x0")  # WARN_ON(irqs_disabled())
        if not cpu_addr:
            return
        if order < 0 or order > k.page_alloc.max_order:
            raise UsageError(f"dma_free_coherent: size {size} is not the size of an allocation "
                             f"(get_order() = {self.get_order(size)})")
        pfn = dma_handle >> self.page_shift  # dma_direct_to_page(dev, dma_addr)
        if not k.memmap.pfn_valid(pfn):
            raise UsageError(f"dma_free_coherent: dma_handle {dma_handle:#x} is not a RAM page "
                             "(the kernel would free a random struct page)")
        if k.is_vmalloc_addr(cpu_addr) or k.virt_addr_valid(cpu_addr):  # debug_dma_free_coherent()
            paddr = self._virt_to_paddr(cpu_addr)
            self.check_unmap(DmaDebugEntry(dev, DMA_DEBUG_COHERENT, paddr, dma_handle, size, DMA_BIDIRECTIONAL))
        if k.is_vmalloc_addr(cpu_addr):
            k.vmalloc_impl.vunmap(cpu_addr)
        k.page_alloc.free(pfn, order)  # __dma_direct_free_pages -> __free_pages
        self.coherent.pop(pfn, None)

    def _free_args(self, dev: DmaDevice, size: int, cpu_addr: int, dma_handle: int) -> tuple[DmaDevice, int, int]:
        """The checked arguments of dma_free_coherent() and get_order() of the page-aligned
        size (-1 for 0)."""
        dev = self._dev(dev, "dma_free_coherent")
        size = self._uint(size, "dma_free_coherent", "size")
        check_addr(cpu_addr, "dma_free_coherent", self.k.layout.bits)
        self._uint(dma_handle, "dma_free_coherent", "dma_handle")
        order = self.get_order((size + self.page_size - 1) & -self.page_size) if size else -1
        return dev, size, order

    def _virt_to_paddr(self, virt: int) -> int:
        """debug_dma_free_coherent()'s physical address of the CPU address: vmalloc_to_pfn()
        for a remapped buffer, __pa() otherwise."""
        k = self.k
        if k.is_vmalloc_addr(virt):
            phys = k.vmalloc_impl.translate(virt, False)  # vmalloc_to_page() + offset_in_page()
            return 0 if phys is None else phys
        return k.pa(virt)

    # ================================================================ dma-debug entries
    def _add_entry(self, dev: DmaDevice, type_: int, paddr: int, dev_addr: int, size: int, direction: int,
                   map_err: int) -> DmaDebugEntry:
        """add_dma_entry(): into the hash, and the cacheline tracking for device-writable memory."""
        e = DmaDebugEntry(dev, type_, paddr, dev_addr, size, direction, map_err, user_frames(5))
        self._seq += 1
        e.seq = self._seq
        self._entries.setdefault(dev_addr, []).append(e)
        if direction != DMA_TO_DEVICE:  # active_cacheline_insert()
            cln = e.cln
            if cln in self.active_cacheline:
                overlap = self.active_cacheline[cln] + 1
                if overlap > ACTIVE_CACHELINE_MAX_OVERLAP:
                    self.saturated.add(cln)
                    if self.debug:
                        self._warn_once("cacheline overlap", "add_dma_entry+0x0/0x0",
                                        f"DMA-API: exceeded {ACTIVE_CACHELINE_MAX_OVERLAP} overlapping mappings "
                                        f"of cacheline 0x{cln:016x}")
                else:
                    self.active_cacheline[cln] = overlap
                if self.debug:
                    self.err_printk(dev, e, "add_dma_entry",
                                    "cacheline tracking EEXIST, overlapping mappings aren't supported")
            else:
                self.active_cacheline[cln] = 0
        return e

    def _del_entry(self, e: DmaDebugEntry) -> None:
        """hash_bucket_del() + dma_entry_free() -> active_cacheline_remove()."""
        lst = self._entries[e.dev_addr]
        lst.remove(e)
        if not lst:
            del self._entries[e.dev_addr]
        if e.direction != DMA_TO_DEVICE:
            cln = e.cln
            if cln in self.active_cacheline:
                overlap = self.active_cacheline[cln] - 1
                if overlap < 0:
                    del self.active_cacheline[cln]
                    self.saturated.discard(cln)
                else:
                    self.active_cacheline[cln] = overlap

    def _find_exact(self, ref: DmaDebugEntry) -> DmaDebugEntry | None:
        """bucket_find_exact(): same device and address; the perfect fit (size, type,
        direction, sg count) or the only match; several imperfect matches: none."""
        best, best_lvl, matches = None, -1, 0
        for e in self._entries.get(ref.dev_addr, ()):
            if e.dev is not ref.dev:
                continue
            matches += 1
            lvl = (e.size == ref.size) + (e.type == ref.type) + (e.direction == ref.direction) \
                + (e.sg_call_ents == ref.sg_call_ents)
            if lvl == 4:
                return e
            if lvl > best_lvl:
                best, best_lvl = e, lvl
        return best if matches == 1 else None

    def check_unmap(self, ref: DmaDebugEntry) -> None:
        """check_unmap(): find the mapping, report every way the unmap differs, drop it."""
        e = self._find_exact(ref)
        dev = ref.dev
        if e is None:
            if self.debug:
                if ref.dev_addr == DMA_MAPPING_ERROR:
                    self.err_printk(dev, None, "check_unmap",
                                    "device driver tries to free an invalid DMA memory address")
                else:
                    self.err_printk(dev, None, "check_unmap",
                                    f"device driver tries to free DMA memory it has not allocated "
                                    f"[device address=0x{ref.dev_addr:016x}] [size={ref.size} bytes]")
            return
        if self.debug:
            if ref.size != e.size:
                self.err_printk(dev, e, "check_unmap",
                                f"device driver frees DMA memory with different size [device address="
                                f"0x{ref.dev_addr:016x}] [map size={e.size} bytes] [unmap size={ref.size} bytes]")
            if ref.type != e.type:
                self.err_printk(dev, e, "check_unmap",
                                f"device driver frees DMA memory with wrong function [device address="
                                f"0x{ref.dev_addr:016x}] [size={ref.size} bytes] [mapped as {TYPE_NAMES[e.type]}] "
                                f"[unmapped as {TYPE_NAMES[ref.type]}]")
            elif e.type == DMA_DEBUG_COHERENT and ref.paddr != e.paddr:
                self.err_printk(dev, e, "check_unmap",
                                f"device driver frees DMA memory with different CPU address [device address="
                                f"0x{ref.dev_addr:016x}] [size={ref.size} bytes] [cpu alloc address=0x0x"
                                f"{e.paddr:016x}] [cpu free address=0x0x{ref.paddr:016x}]")
            if ref.direction != e.direction:
                self.err_printk(dev, e, "check_unmap",
                                f"device driver frees DMA memory with different direction [device address="
                                f"0x{ref.dev_addr:016x}] [size={ref.size} bytes] [mapped with "
                                f"{_dir_name(e.direction)}] [unmapped with {_dir_name(ref.direction)}]")
            if e.map_err_type == MAP_ERR_NOT_CHECKED:
                self.err_printk(dev, e, "check_unmap",
                                f"device driver failed to check map error[device address=0x{ref.dev_addr:016x}] "
                                f"[size={ref.size} bytes] [mapped as {TYPE_NAMES[e.type]}]")
        self._del_entry(e)

    def entries(self, dev: DmaDevice | None = None) -> list[DmaDebugEntry]:
        """Live entries (all, or one device's), in dma-debug's hash order."""
        out = [e for lst in self._entries.values() for e in lst if dev is None or e.dev is dev]
        out.sort(key=lambda e: (e.bucket, e.seq))
        return out

    def device_release_driver(self, dev: DmaDevice) -> None:
        """device_release_driver(dev): the driver lets go of the device; dma-debug's
        BUS_NOTIFY_UNBOUND_DRIVER check reports mappings and allocations left behind."""
        dev = self._dev(dev, "device_release_driver")
        mine = self.entries(dev)
        if mine and self.debug:
            e = mine[-1]  # device_dma_allocations(): the last one in hash order
            self.err_printk(dev, e, "dma_debug_device_change",
                            f"device driver has pending DMA allocations while released from device "
                            f"[count={len(mine)}]\nOne of leaked entries details: [device address="
                            f"0x{e.dev_addr:016x}] [size={e.size} bytes] [mapped with {_dir_name(e.direction)}] "
                            f"[mapped as {TYPE_NAMES[e.type]}]")
        dev.driver = None
        dev.released = True

    def dump(self) -> str:
        """/sys/kernel/debug/dma-api/dump (dump_show): 6.18 prints the physical address;
        before dma_map_phys, the address and the pfn ("P=%llx N=%lx")."""
        out = []
        for e in self.entries():
            if self.map_phys:
                where = f"P=0x{e.paddr:016x}"
            else:
                where = f"P={e.paddr:x} N={e.paddr >> self.page_shift:x}"
            out.append(f"{e.dev.dev_driver_string()} {e.dev.dev_name()} {TYPE_NAMES[e.type]} idx {e.bucket} "
                       f"{where} D={e.dev_addr:x} L={e.size:x} cln=0x{e.cln:016x} "
                       f"{_dir_name(e.direction)} {MAPERR_NAMES[e.map_err_type]}\n")
        return "".join(out)

    def _ptr(self, addr: int) -> str:
        """%p: hashed on 6.x (the vmalloc layer's per-machine hash)."""
        return self.k.vmalloc_impl.hashed_ptr(addr)

    # ================================================================ invariants
    def check(self) -> None:
        """Every entry on a known device, in its bucket, streaming ones at bus = physical
        address; the cacheline overlap counts agree with the entries (when none saturated);
        every coherent allocation an allocated block of its order inside its device's limit."""
        k = self.k
        known = {id(d) for d in self.devices}
        per_cln: dict[int, int] = {}
        for addr, lst in self._entries.items():
            if not lst:
                raise InvariantError("dma", f"empty hash list for {addr:#x}")
            for e in lst:
                if e.dev_addr != addr:
                    raise InvariantError("dma", f"{e!r} filed under {addr:#x}")
                if id(e.dev) not in known:
                    raise InvariantError("dma", f"{e!r} belongs to an unknown device")
                if e.dev_addr == DMA_MAPPING_ERROR:
                    raise InvariantError("dma", f"{e!r}: a failed mapping was recorded")
                if e.paddr != e.dev_addr:
                    raise InvariantError("dma", f"{e!r}: bus address differs from the physical address "
                                                "(no IOMMU, no swiotlb on this machine)")
                if e.direction != DMA_TO_DEVICE:
                    per_cln[e.cln] = per_cln.get(e.cln, 0) + 1
        if all(n - 1 <= ACTIVE_CACHELINE_MAX_OVERLAP or c in self.saturated for c, n in per_cln.items()):
            want = {c: n - 1 for c, n in per_cln.items() if c not in self.saturated}
            have = {c: n for c, n in self.active_cacheline.items() if c not in self.saturated}
            if want != have:
                bad = sorted(set(want.items()) ^ set(have.items()))[:3]
                raise InvariantError("dma", f"active cacheline overlaps disagree with the entries: {bad}")
        pa = k.page_alloc
        for pfn, (dev, order, limit, size) in self.coherent.items():
            if pa.allocated.get(pfn) != order:
                raise InvariantError("dma", f"coherent allocation at pfn {pfn:#x} (order {order}) of {dev!r} "
                                            "is not an allocated block of that order")
            if self._coherent_misplaced(pfn << self.page_shift, order, limit, size):
                raise InvariantError("dma", f"coherent allocation at pfn {pfn:#x} lies beyond its mask {limit:#x}")
        if self.error_count < 0 or self.show_num_errors < 0:
            raise InvariantError("dma", "negative error counters")

    def _coherent_misplaced(self, phys: int, order: int, limit: int, size: int) -> bool:
        """dma_coherent_ok() failed for the page-aligned size."""
        return phys + ((size + self.page_size - 1) & -self.page_size) - 1 > limit


class DmaMappingI386(DmaMapping):
    """The DMA layer of 2.6.24 i386 (before ``dma_direct``): include/asm-x86/dma-mapping_32.h's
    inline functions and arch/x86/kernel/pci-dma_32.c.

    dma_map_single() is ``virt_to_phys(ptr)`` (no check for vmalloc memory, no mask check,
    WARN_ON(size == 0)), dma_map_page() is ``page_to_phys(page) + offset`` in a 32-bit
    dma_addr_t, the unmaps only BUG on a bad direction, dma_mapping_error() is always 0;
    dma_alloc_coherent() takes GFP_DMA for any coherent mask below 32 bits and
    dma_free_coherent() frees by ``cpu_addr``; dma_supported() wants a mask of at least
    0x00ffffff.  The model keeps dma-debug's records of the mappings (without its reports
    unless ``debug`` is set), for :meth:`check` and :meth:`entries`.  The BUG and WARN
    lines are 2.6.24's (2.6.11's header, include/asm-i386/dma-mapping.h, BUGs only on
    DMA_NONE and has neither WARN_ON: not modelled)."""

    def _bug(self, site: str, func: str) -> None:
        if site in _LINES_2_6:
            file, line = _LINES_2_6[site]
            self._oops(f"kernel BUG at {file}:{line}!")
        super()._bug(site, func)

    def _warn_26(self, site: str, func: str) -> None:
        """2.6.24 WARN_ON(): "WARNING: at file:line func()" and a stack dump."""
        file, line = _LINES_2_6[site]
        lines = [f"WARNING: at {file}:{line} {func}()"] + self.k.report.dump_stack_lines()
        self.k.printk("\n".join(lines), KERN_WARNING)

    def dma_supported(self, dev: DmaDevice, mask: int) -> bool:
        """2.6.24 dma_supported(): any mask of at least 0x00ffffff (forbid_dac is 0)."""
        return mask >= 0x00FFFFFF

    def dma_map_single(self, dev: DmaDevice, addr: int, size: int, direction: int) -> int:
        dev = self._dev(dev, "dma_map_single")
        check_addr(addr, "dma_map_single", self.k.layout.bits)
        size = self._uint(size, "dma_map_single", "size")
        direction = self._dir(direction, "dma_map_single")
        if not self.valid_dma_direction(direction):
            self._bug("dma_map_single_bug", "dma_map_single")
        if size == 0:
            self._warn_26("dma_map_single_warn", "dma_map_single")
        dma_addr = self.k.pa(addr)  # virt_to_phys(ptr): whatever __pa gives, vmalloc or not
        self._add_entry(dev, DMA_DEBUG_SINGLE, dma_addr, dma_addr, size, direction, MAP_ERR_CHECK_NOT_APPLICABLE)
        return dma_addr

    def dma_map_page(self, dev: DmaDevice, page: Page, offset: int, size: int, direction: int) -> int:
        dev, phys, size, direction = self._page_args(dev, page, offset, size, direction)
        if not self.valid_dma_direction(direction):
            self._bug("dma_map_page_bug", "dma_map_page")
        phys &= self.dma_addr_mask  # dma_addr_t is u32 without HIGHMEM64G
        self._add_entry(dev, DMA_DEBUG_SINGLE, phys, phys, size, direction, MAP_ERR_CHECK_NOT_APPLICABLE)
        return phys

    def dma_mapping_error(self, dev: DmaDevice, dma_addr: int) -> int:
        dev = self._dev(dev, "dma_mapping_error")
        self._uint(dma_addr, "dma_mapping_error", "dma_addr")
        return 0

    def _unmap(self, dev: DmaDevice, dma_addr: int, size: int, direction: int, what: str) -> None:
        dev, dma_addr, size, direction = self._unmap_args(dev, dma_addr, size, direction, what)
        # nothing to undo in 2.6.24; the model's record goes if it matches
        e = self._find_exact(DmaDebugEntry(dev, DMA_DEBUG_SINGLE, 0, dma_addr, size, direction))
        if e is not None:
            self._del_entry(e)

    def dma_alloc_coherent(self, dev: DmaDevice, size: int, gfp: int | None = None) -> tuple[int, int]:
        """2.6.24 arch/x86/kernel/pci-dma_32.c dma_alloc_coherent()."""
        dev, size, gfp = self._alloc_args(dev, size, gfp)
        k = self.k
        b = self.gfp_bits
        order = self.get_order(size) if size else 20  # 2.6.24 get_order(0) loops to 20
        gfp &= ~(b.dma | b.highmem)  # ignore region specifiers
        if dev.coherent_dma_mask < 0xFFFFFFFF:
            gfp |= b.dma
        if order > k.page_alloc.max_order:
            return 0, 0  # __alloc_pages(): order >= MAX_ORDER gives NULL
        ret = k.pages.get_free_pages(gfp, order)
        if not ret:
            return 0, 0
        phys = k.pa(ret)
        k.phys.fill(phys, 0, size)
        self.coherent[phys >> self.page_shift] = (dev, order, dev.coherent_dma_mask, size)
        self._add_entry(dev, DMA_DEBUG_COHERENT, phys, phys, size, DMA_BIDIRECTIONAL, MAP_ERR_CHECK_NOT_APPLICABLE)
        return ret, phys

    def dma_free_coherent(self, dev: DmaDevice, size: int, cpu_addr: int, dma_handle: int) -> None:
        """2.6.24 dma_free_coherent(): free_pages(cpu_addr, get_order(size))."""
        dev, size, order = self._free_args(dev, size, cpu_addr, dma_handle)
        k = self.k
        if k.sched.irqs_off[k.cpu]:
            self._warn_26("dma_free_coherent_warn", "dma_free_coherent")
        if order < 0 or order > k.page_alloc.max_order:
            raise UsageError(f"dma_free_coherent: size {size} is not the size of an allocation")
        if not cpu_addr:
            raise UsageError("dma_free_coherent: cpu_addr is NULL (2.6.24 free_pages(0) would oops)")
        e = self._find_exact(DmaDebugEntry(dev, DMA_DEBUG_COHERENT, 0, dma_handle, size, DMA_BIDIRECTIONAL))
        k.pages.free_pages(cpu_addr, order)
        if e is not None:
            self._del_entry(e)
        self.coherent.pop(k.pa(cpu_addr) >> self.page_shift, None)

    def _coherent_misplaced(self, phys: int, order: int, limit: int, size: int) -> bool:
        """GFP_DMA below a 32-bit mask: ZONE_DMA, the first 16 MB."""
        return limit < 0xFFFFFFFF and phys + (self.page_size << order) > ZONE_DMA_LIMIT + 1


def _debugfs(fn: Callable[[DmaMapping], str], d: DmaMapping) -> Callable[[], str]:
    """A dma-api/ file of ``d``: its text while dma-debug reports, else an error."""

    def view() -> str:
        if not d.debug:
            raise UsageError("dma-api: this machine has no DMA-API debugging (CONFIG_DMA_API_DEBUG; "
                             "2.6.24 had none; set k.dma_impl.debug = True on 6.18)")
        return fn(d)

    return view


#: /sys/kernel/debug/dma-api/* (dma_debug_fs_init)
_DEBUGFS: dict[str, Callable[[DmaMapping], str]] = {
    "dma-api/dump": lambda d: d.dump(),
    "dma-api/error_count": lambda d: f"{d.error_count}\n",
    "dma-api/num_errors": lambda d: f"{d.show_num_errors}\n",
    "dma-api/all_errors": lambda d: f"{d.show_all_errors}\n",
    "dma-api/disabled": lambda d: "N\n",
    "dma-api/driver_filter": lambda d: "",
}


def dma_init(k: Kernel) -> None:
    """The DMA mapping layer (``k.dma_impl``) of the machine's kernel (dma-direct with
    ``dma_direct``, else 2.6.24 i386's), its "dma" invariant check and debugfs dma-api/."""
    d = DmaMapping(k) if k.features.dma_direct else DmaMappingI386(k)
    k.dma_impl = d
    k.checks.register("dma", d.check)
    for name, fn in _DEBUGFS.items():
        k.debugfs_fs.create(name, _debugfs(fn, d))
