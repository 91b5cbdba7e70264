"""vmalloc, vmap, vfree and friends: virtually contiguous kernel memory.

Two implementations, as the kernel had two: the machine gets one of them at boot, chosen
by ``k.features.vmap_area`` (2.6.28) in :func:`vmalloc_init`, as drgn chooses a helper
per kernel.  :class:`Vmalloc` holds what both share (the API and its argument checks,
memory access through the page tables, the pages arrays, the invariants).

* :class:`VmapAreaVmalloc`, vmap areas (2.6.28 on), modelled on mm/vmalloc.c of Linux
  6.18 (read in the 6.17-rc3 tree: __vmalloc_node_range_noprof, __vmalloc_area_node,
  vm_area_alloc_pages, __get_vm_area_node, remove_vm_area, vfree, vfree_atomic, vunmap,
  vmap, vmalloc_info_show) on top of :mod:`kmemsim.mm.vmap_area` (the address allocator,
  with the vmap nodes of 6.9 or the single tree of 6.6: ``vmap_nodes``) and
  :mod:`kmemsim.mm.pgtable` (the kernel page tables);
* :class:`VmlistVmalloc`, the sorted ``vmlist`` before 2.6.28, modelled on mm/vmalloc.c
  of 2.6.24 (immediate unmapping, VM_VPAGES, the 2.6.24 WARN_ON/BUG formats and line
  numbers).  2.6.11's file differs in details this model does not follow (the vm_struct
  comes from kmalloc(GFP_KERNEL), the pages array from kmalloc(gfp & ~__GFP_HIGHMEM), no
  BUG_ON(in_interrupt()) in __get_vm_area, other line numbers, "Badness in" warnings).

What else changed between kernels is a named feature of ``k.features``: vmalloc_node
(2.6.16), vmalloc_user (2.6.18), proc_vmallocinfo (2.6.25), vzalloc (2.6.37), vfree_atomic
(4.10), ptr_hashing (4.15, %p), vm_struct_requested_size (6.15); what differs between
i386 and x86_64 (word size, GFP_VMALLOC32, a separate module area, highmem) is the
architecture's.

One vmalloc of ``size`` bytes, in 6.18::

    __vmalloc_node_range
      size 0 -> WARN_ON_ONCE, NULL;  size > totalram -> warn_alloc("exceeds total pages")
      __get_vm_area_node: vm_struct = kzalloc(72) (kmalloc-96), + 1 guard page unless
                          VM_NO_GUARD, alloc_vmap_area(lowest fit, or a pool hit)
      __vmalloc_area_node:
        pages array: nr * sizeof(struct page *) bytes: kmalloc if <= PAGE_SIZE, else a
                     nested vmalloc with the same caller (the "vpages" of vmallocinfo)
        data pages:  one order-0 page at a time (__GFP_HIGHMEM added unless DMA/DMA32),
                     so with fragmented memory they are physically scattered
        page tables: vmap_pages_range -> PTEs with PAGE_KERNEL
      VM_UNINITIALIZED cleared: the area shows in /proc/vmallocinfo

vfree unmaps at once, frees the pages at once, and parks the address range in the lazy
tree ("unpurged vm_area") until lazy_max_pages() is exceeded.

Python names for kernel names that Python cannot spell: ``__vmalloc(size, gfp)`` is
:meth:`Vmalloc.vmalloc_gfp`, ``__vmalloc_node_range()`` is
:meth:`Vmalloc.vmalloc_node_range`, ``__get_vm_area_node()`` is
:meth:`Vmalloc.get_vm_area_node`.  vm_structs are :class:`VmStruct` objects; their
``caller`` is the Python call site as the kernel prints ``%pS``: ``func+0x0/0x0``.

Simplified, and said so:
  * no huge vmalloc (VM_ALLOW_HUGE_VMAP falls back to PAGE_SIZE mappings, as the kernel
    does when it cannot use PMDs), no vmalloc_huge, no vm_map_ram/vmap_block, no
    vrealloc, no KASAN/kmemleak/memcg hooks;
  * data pages come from the page allocator one by one (the bulk allocator's 100-page
    batches take the same pages from the same per-CPU lists);
  * the vm_struct and vmap_area slab objects are allocated (for slabinfo and kmalloc
    accounting) but their fields live in Python; the pages array is real: the struct
    page pointers are written into its bytes and vfree reads them back from there;
  * might_sleep()/in_interrupt() come from the scheduler (``k.sched``); the purge and
    deferred-vfree work run when scheduled unless in interrupt context, then by
    :meth:`Vmalloc.run_pending_work`;
  * the might_sleep() line numbers are 6.12's (6.18's are 2031, 3415, 3464, 3500);
    the vmap-area implementation serves every kernel from 2.6.28 with 6.18's code,
    except what the features above and in :mod:`kmemsim.mm.vmap_area` select (the
    releases between 2.6.28 and 6.6 are not verified);
  * /proc/vmallocinfo of the vmlist era (2.6.25-2.6.27) is not modelled;
  * %pK addresses print unhashed (as root reads them with kptr_restrict=1); %p in
    warnings prints a per-machine hash, as 6.x does by default (``ptr_hashing``).
"""
from __future__ import annotations

import bisect
import struct
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NoReturn

try:
    from _blake2 import blake2b  # hashlib's BLAKE2 itself, without loading OpenSSL (_hashlib: 3 ms)
except ImportError:  # pragma: no cover - a Python built without _blake2
    from hashlib import blake2b

from ..args import check_addr
from ..errors import UsageError
from ..printk import KERN_ERR, KERN_WARNING
from .page import Page
from .pgtable import PageTables, pgprot_nx
from .vmap_area import VMAP_RAM, VmapAllocator, VmapArea, VmapTreeCorrupt, Vmlist

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

__all__ = [
    "Vmalloc", "VmapAreaVmalloc", "VmlistVmalloc", "VmStruct", "vmalloc_init", "return_address",
    "VM_IOREMAP", "VM_ALLOC", "VM_MAP", "VM_USERMAP", "VM_DMA_COHERENT", "VM_UNINITIALIZED", "VM_NO_GUARD",
    "VM_KASAN", "VM_FLUSH_RESET_PERMS", "VM_MAP_PUT_PAGES", "VM_ALLOW_HUGE_VMAP", "VM_DEFER_KMEMLEAK",
    "VM_SPARSE", "VM_VPAGES_2_6", "NUMA_NO_NODE",
]

NULL = 0
NUMA_NO_NODE = -1

# include/linux/vmalloc.h (6.18): bits in vm_struct->flags
VM_IOREMAP = 0x00000001
VM_ALLOC = 0x00000002
VM_MAP = 0x00000004
VM_USERMAP = 0x00000008
VM_DMA_COHERENT = 0x00000010
VM_UNINITIALIZED = 0x00000020
VM_NO_GUARD = 0x00000040
VM_KASAN = 0x00000080
VM_FLUSH_RESET_PERMS = 0x00000100
VM_MAP_PUT_PAGES = 0x00000200
VM_ALLOW_HUGE_VMAP = 0x00000400
VM_DEFER_KMEMLEAK = 0x00000800  # 0 without CONFIG_KASAN_GENERIC/SW_TAGS+KMEMLEAK; kept as a bit here
VM_SPARSE = 0x00001000
#: 2.6.24's flag for "the pages array was vmalloc'ed" (6.18 tests is_vmalloc_addr(pages))
VM_VPAGES_2_6 = 0x00000010

VM_FLAG_NAMES_6_18 = {
    "VM_IOREMAP": VM_IOREMAP, "VM_ALLOC": VM_ALLOC, "VM_MAP": VM_MAP, "VM_USERMAP": VM_USERMAP,
    "VM_DMA_COHERENT": VM_DMA_COHERENT, "VM_UNINITIALIZED": VM_UNINITIALIZED, "VM_NO_GUARD": VM_NO_GUARD,
    "VM_KASAN": VM_KASAN, "VM_FLUSH_RESET_PERMS": VM_FLUSH_RESET_PERMS, "VM_MAP_PUT_PAGES": VM_MAP_PUT_PAGES,
    "VM_ALLOW_HUGE_VMAP": VM_ALLOW_HUGE_VMAP, "VM_DEFER_KMEMLEAK": VM_DEFER_KMEMLEAK, "VM_SPARSE": VM_SPARSE,
}
VM_FLAG_NAMES_2_6 = {"VM_IOREMAP": 0x1, "VM_ALLOC": 0x2, "VM_MAP": 0x4, "VM_USERMAP": 0x8, "VM_VPAGES": 0x10}

#: sizeof(struct vm_struct) on 2.6.24 i386: next, addr, size, flags, pages, nr_pages, phys_addr
VM_STRUCT_SIZE_2_6_I386 = 28
#: sizeof(struct vm_struct) on x86_64 before vm_struct_requested_size (6.6: 64, kmalloc-64)
#: and after (6.18: 72, BTF of the host, kmalloc-96); 32-bit x86 (no page_order: no
#: HAVE_ARCH_HUGE_VMALLOC) is 32 and 36, not verified
VM_STRUCT_SIZE = {(64, False): 64, (64, True): 72, (32, False): 32, (32, True): 36}
#: sizeof(struct vmap_area): va_start, va_end, rb_node (3 words), list (2), the
#: subtree_max_size/vm union, flags: 72 on x86_64 (slabinfo "vmap_area ... 72 56 1", 6.6 and 6.18)
VMAP_AREA_WORDS = 9
VMAP_AREA_SIZE = VMAP_AREA_WORDS * 8

# 2.6.24 mm/vmalloc.c line numbers of its WARN_ON/BUG_ON sites ("counted in a 2.6.24 copy";
# the 2.6.24 tree has vunmap_pte_range 37 and vmap_pte_range 105 as here, but the WARN_ON(1)s
# of __vunmap at 331 and 339, BUG_ON(!area->pages[i]) at 349, vfree's BUG_ON at 375,
# vunmap's at 391, __get_vm_area_node's at 177 and free_vm_area's at 822)
_LINES_2_6 = {"vunmap_pte_range": 37, "vmap_pte_range": 105, "bad_address": 373,
              "nonexistent": 381, "no_page": 393, "vfree": 419}


class VmStruct:
    """``struct vm_struct``: one vmalloc/vmap/ioremap area.

    ``size`` includes the guard page (as /proc/vmallocinfo prints it); ``pfns`` are
    the page frames of ``pages`` (``pages`` gives them as :class:`Page` handles);
    ``pages_addr`` is the kernel address of the pages array (kmalloc or vmalloc memory,
    0 for none); ``caller`` is the %pS text of the allocation site.
    """

    __slots__ = ("addr", "size", "flags", "pfns", "nr_pages", "phys_addr", "caller", "requested_size",
                 "page_order", "pages_addr", "obj", "va", "_k")

    def __init__(self, k: Kernel, flags: int, caller: str | None, requested_size: int):
        self._k = k
        self.addr = 0
        self.size = 0
        self.flags = flags
        self.pfns: list[int] = []
        self.nr_pages = 0
        self.phys_addr = 0
        self.caller = caller
        self.requested_size = requested_size
        self.page_order = 0
        self.pages_addr = 0
        self.obj = 0
        self.va: VmapArea | None = None

    @property
    def pages(self) -> list[Page]:
        return [Page(self._k, p) for p in self.pfns]

    def get_vm_area_size(self) -> int:
        """get_vm_area_size(): the size without the guard page."""
        return self.size if self.flags & VM_NO_GUARD else self.size - self._k.page_size

    def __repr__(self) -> str:
        return (f"<vm_struct {self.addr:#x}-{self.addr + self.size:#x} size={self.size} flags={self.flags:#x} "
                f"nr_pages={self.nr_pages} caller={self.caller}>")

    def _repr_html_(self) -> str | None:
        """Jupyter's rich display, drawn by kmemsim.explore (a tool above this layer: imported by name)."""
        import importlib

        return importlib.import_module("kmemsim.explore.jupyter").repr_html(self)


def return_address() -> str | None:
    """%pS of __builtin_return_address(0): the innermost Python caller outside kmemsim
    (``func+0x0/0x0``), or None when only kmemsim's own code is on the stack."""
    from ..report import user_frames

    f = user_frames(1)
    return f"{f[0][0]}+0x0/0x0" if f else None



class Vmalloc:
    """vmalloc for one booted machine: what both implementations share.

    The machine's ``k.vmalloc_impl`` is a :class:`VmapAreaVmalloc` or a
    :class:`VmlistVmalloc` (see the module docstring); construction builds the state
    (the kernel page tables, the address allocator) and registers nothing --
    :func:`vmalloc_init` registers the invariants, the counters and /proc/vmallocinfo.
    Memory for the vm_structs and the small pages arrays comes from the machine's
    kmalloc/kfree entry points.
    """

    #: the kernel's GFP_VMALLOC32 and vmalloc()'s gfp, set by the implementation
    GFP_VMALLOC32: int
    vmalloc_default_gfp: int

    def __init__(self, k: Kernel) -> None:
        self.k = k
        feat = k.features
        self.page_shift = k.page_shift
        self.page_size = k.page_size
        self.word = k.layout.bits // 8
        #: the machine's entry points, looked up at every call (a dispatch slot may change)
        self.entry = k
        lay = k.layout
        self.VMALLOC_START = lay.vmalloc_start
        self.VMALLOC_END = lay.vmalloc_end
        self.gfp = k.gfp
        b = k.gfp.bits
        self.GFP_KERNEL = b.kernel
        self.GFP_ZERO = b.zero
        self.GFP_HIGHMEM = b.highmem
        self.GFP_NOWARN = b.nowarn
        self.GFP_NOFAIL = b.nofail
        self.GFP_DMA = b.dma
        self.GFP_DMA32 = b.dma32
        self.GFP_RECLAIM_MASK = b.reclaim_mask  # mm/internal.h (6.18), include/linux/gfp.h (2.6.24)
        self.hash_pointers = feat.ptr_hashing
        #: "linux-2.6.24": how messages name this machine's kernel
        self.kernel_name = f"linux-{k.profile.kernel_version}"

        self.in_interrupt: Callable[[], bool] = k.sched.in_interrupt
        self.in_nmi: Callable[[], bool] = k.sched.in_nmi
        self.pending_work: list[Callable[[], None]] = []
        self.vfree_deferred: list[list[int]] = [[] for _ in k.cpus]

        # struct page pointers: vmemmap + pfn * 64 (x86_64), mem_map + pfn * 32 (i386)
        self._page_base = k.arch.page_struct_addr(0)
        self._page_struct = k.arch.page_struct_addr(1) - self._page_base
        #: order-0 pages through the machine's entry points (get_free_pages/free_pages),
        #: or the page allocator itself; chosen by the implementation
        self._fast_pages = False
        self.pt = PageTables(k, warn=self.warn_pt)
        self.page_kernel = self.pt.page_kernel
        self.nr_vmalloc_pages = 0  # atomic_long_t nr_vmalloc_pages (6.18)
        self._hash_key = blake2b(f"kmemsim-ptr-{k.seed}".encode(), digest_size=16).digest()
        self._prl_until = -1  # printk_ratelimit() state: 10 messages per 5 s
        self._prl_count = 0
        self._warned_once: set[str] = set()
        self.vmap_area_cachep: Any = None

    def _kmalloc(self, size: int, gfp: int) -> int:
        return self.entry.kmalloc(size, gfp)

    def _kfree(self, obj: int) -> None:
        self.entry.kfree(obj)

    # ================================================================ small helpers
    @property
    def totalram_pages(self) -> int:
        return sum(z.managed_pages for z in self.k.page_alloc.zones)

    def hashed_ptr(self, addr: int) -> str:
        """%p of a pointer: a hashed id since 4.15 (16 hex digits on 64-bit, upper half
        zero); before, the raw value (8 hex digits on 32-bit)."""
        width = 2 * self.word
        if not self.hash_pointers:
            return f"{addr:0{width}x}"
        h = blake2b(addr.to_bytes(8, "little"), key=self._hash_key, digest_size=4).digest()
        return f"{int.from_bytes(h, 'little'):0{width}x}"

    def _check_size(self, size: int, what: str) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise UsageError(f"{what}: size {size!r} must be a non-negative integer (unsigned long)")
        if size >= 1 << self.k.layout.bits:
            raise UsageError(f"{what}: size {size:#x} does not fit in an unsigned long")

    def _check_gfp(self, gfp: object, what: str) -> int:
        return self.k.gfp.mask(gfp, f"{what}: gfp_mask")

    def _check_node(self, node: int, what: str) -> None:
        if node not in (NUMA_NO_NODE, 0):
            raise UsageError(f"{what}: node {node!r} does not exist (this machine has node 0; -1 is NUMA_NO_NODE)")

    def _check_addr(self, addr: int, what: str) -> None:
        if isinstance(addr, bool) or not isinstance(addr, int):
            raise UsageError(f"{what}: {addr!r} is not an address")
        check_addr(addr, "addr", self.k.layout.bits)

    def _not_in(self, what: str, release: str) -> NoReturn:
        raise UsageError(f"{what} was added in {release}; {self.kernel_name} has no such call")

    def is_vmalloc_addr(self, addr: int) -> bool:
        """is_vmalloc_addr(): VMALLOC_START <= addr < VMALLOC_END."""
        return self.VMALLOC_START <= addr < self.VMALLOC_END

    def is_vmalloc_or_module_addr(self, addr: int) -> bool:
        """is_vmalloc_or_module_addr(): the vmalloc area or the module area (on i386 the
        modules are in the vmalloc area)."""
        lay = self.k.layout
        if lay.modules <= addr < lay.modules_end:
            return True
        return self.is_vmalloc_addr(addr)

    def schedule_work(self, fn: Callable[[], None]) -> None:
        """schedule_work(): run now from task context; queued in interrupt context."""
        if self.in_interrupt():
            self.pending_work.append(fn)
            # the kworker runs it when the CPU is given up
            self.k.sched.queue_work(self._kworker)
        else:
            fn()

    def _kworker(self) -> None:
        self.run_pending_work()

    def run_pending_work(self) -> int:
        """Run the queued work items (the kworker getting the CPU); returns how many ran."""
        n = 0
        while self.pending_work and not self.in_interrupt():
            self.pending_work.pop(0)()
            n += 1
        return n

    # ================================================================ reports
    def _warn_once(self, key: str, where: str, message: str = "") -> None:
        if key in self._warned_once:
            return
        self._warned_once.add(key)
        self.k.report.warn(where, message)

    def warn_pt(self, where: str) -> None:
        """The WARN_ONs of the page-table code (vmap_pages_pte_range, vunmap_pte_range)."""
        raise NotImplementedError

    def bug(self, func: str, site: str | None = None) -> NoReturn:
        """BUG()/BUG_ON() in ``func`` (``site``: the 2.6.24 site, where the kernel printed its
        line): the oops; the caller's task dies (always raises)."""
        raise NotImplementedError

    def _bug(self, func: str, site: str | None = None) -> NoReturn:
        """The former name of :meth:`bug`, which mm/ioremap.py calls (until it calls bug)."""
        self.bug(func, site)

    def _oops(self, first: str) -> NoReturn:
        self.k.report.bug(["------------[ cut here ]------------", first], kind="vmalloc_bug", oops=True,
                          oops_str="invalid opcode", err=0)
        raise AssertionError("an oops returned")  # pragma: no cover - report.bug(oops=True) raises

    def _printk_ratelimit(self) -> bool:
        """printk_ratelimit(): at most 10 messages per 5 seconds."""
        hz = self.k.profile.hz
        jiffies = self.k.clock.ns * hz // 1_000_000_000
        if jiffies >= self._prl_until:
            self._prl_until = jiffies + 5 * hz
            self._prl_count = 0
        self._prl_count += 1
        return self._prl_count <= 10

    def _pr_warn_ratelimited(self, text: str) -> None:
        if self._printk_ratelimit():
            self.k.printk(text, KERN_WARNING)

    # ================================================================ memory access
    def translate(self, addr: int, write: bool = False) -> int | None:
        """The physical address an access at ``addr`` reaches: the direct map by
        arithmetic, anything else through the page tables; None if it would fault."""
        phys = self.k.arch.direct_phys(addr)
        if phys is not None:
            return phys
        return self.pt.translate(addr, write)

    def _pieces(self, addr: int, n: int, write: bool) -> list[tuple[int, int]]:
        ps = self.page_size
        out = []
        a, left = addr, n
        phys_backed = self.k.phys.backed
        while left > 0:
            chunk = min(left, ps - (a & (ps - 1)))
            p = self.translate(a, write)
            if p is None or not phys_backed(p >> self.page_shift):
                self.k.report.page_fault(a, write=write)
            out.append((p, chunk))
            a += chunk
            left -= chunk
        return out  # page_fault() raises for a None

    def read(self, addr: int, n: int) -> bytes:
        """Read ``n`` bytes at a kernel virtual address, through the page tables where the
        address is not in the direct map (an unmapped page is the kernel's oops)."""
        self._check_addr(addr, "read")
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise UsageError(f"read: size {n!r} must be a non-negative integer")
        phys = self.k.phys
        return b"".join(phys.read(p, c) for p, c in self._pieces(addr, n, False))

    def write(self, addr: int, data: bytes | bytearray) -> None:
        """Write ``data`` at a kernel virtual address (through the page tables)."""
        self._check_addr(addr, "write")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise UsageError(f"write: data must be bytes, not {type(data).__name__}")
        view = memoryview(bytes(data))
        pos = 0
        phys = self.k.phys
        for p, c in self._pieces(addr, len(view), True):  # every page checked before any byte is written
            phys.write(p, view[pos:pos + c])
            pos += c

    def memset(self, addr: int, c: int, n: int) -> int:
        self.write(addr, bytes([c & 0xFF]) * n)
        return addr

    # ================================================================ page-table queries
    def lookup_address(self, addr: int) -> tuple[int | None, int]:
        """lookup_address(addr, &level): (entry value or None for NULL, PG_LEVEL_*)."""
        return self.pt.lookup_address(addr)

    def vmalloc_to_page(self, addr: int) -> Page | None:
        """vmalloc_to_page(): the struct page mapped at a vmalloc/module address, or None."""
        self._check_addr(addr, "vmalloc_to_page")
        if self.k.tunables.get("debug_virtual") and not self.is_vmalloc_or_module_addr(addr):
            self.bug("vmalloc_to_page")  # VIRTUAL_BUG_ON(!is_vmalloc_or_module_addr())
        pfn = self.pt.vmalloc_to_pfn_raw(addr)
        return None if pfn is None else Page(self.k, pfn)

    def vmalloc_to_pfn(self, addr: int) -> int:
        """vmalloc_to_pfn() = page_to_pfn(vmalloc_to_page()); an unmapped address gives
        page_to_pfn(NULL), the kernel's garbage: here -1."""
        p = self.vmalloc_to_page(addr)
        return -1 if p is None else p.pfn

    # ================================================================ vm areas
    def get_vm_area_node(self, size: int, align: int, shift: int, flags: int, start: int, end: int,
                         node: int, gfp: int, caller: str | None) -> VmStruct | None:
        """__get_vm_area_node(): a vm_struct and its address range (guard page included)."""
        raise NotImplementedError

    def get_vm_area(self, size: int, flags: int) -> VmStruct | None:
        """get_vm_area(size, flags): reserve address space (guard included), map nothing."""
        self._check_size(size, "get_vm_area")
        return self.get_vm_area_node(size, 1, self.page_shift, flags, self.VMALLOC_START, self.VMALLOC_END,
                                     NUMA_NO_NODE, self.GFP_KERNEL, return_address())

    def get_vm_area_caller(self, size: int, flags: int, caller: str | None = None) -> VmStruct | None:
        self._check_size(size, "get_vm_area_caller")
        return self.get_vm_area_node(size, 1, self.page_shift, flags, self.VMALLOC_START, self.VMALLOC_END,
                                     NUMA_NO_NODE, self.GFP_KERNEL, caller if caller is not None else return_address())

    def find_vm_area(self, addr: int) -> VmStruct | None:
        """find_vm_area(): the vm_struct of the busy area containing ``addr`` (vmap areas),
        or the one starting exactly at ``addr`` (vmlist)."""
        raise NotImplementedError

    def remove_vm_area(self, addr: int) -> VmStruct | None:
        """remove_vm_area(): unlink the area of ``addr`` and clear its PTEs.  Returns the
        vm_struct or None."""
        raise NotImplementedError

    def free_vm_area(self, area: VmStruct) -> None:
        """free_vm_area(): remove_vm_area(area->addr), BUG_ON(ret != area), kfree(area)."""
        if not isinstance(area, VmStruct):
            raise UsageError(f"free_vm_area: {area!r} is not a vm_struct from get_vm_area()")
        ret = self.remove_vm_area(area.addr)
        if ret is not area:
            self.bug("free_vm_area")
        self._kfree(area.obj)
        area.obj = 0

    # ================================================================ vmalloc
    def vmalloc_node_range(self, size: int, align: int, start: int, end: int, gfp_mask: int, prot: int | None,
                           vm_flags: int, node: int, caller: str | None = None) -> int:
        """__vmalloc_node_range(): the address of ``size`` bytes of virtually contiguous
        memory in [start, end), or 0 (NULL)."""
        self._check_size(size, "__vmalloc_node_range")
        gfp_mask = self._check_gfp(gfp_mask, "__vmalloc_node_range")
        self._check_node(node, "__vmalloc_node_range")
        if isinstance(align, bool) or not isinstance(align, int) or align <= 0 or align & (align - 1):
            raise UsageError(f"__vmalloc_node_range: align {align!r} must be a power of two")
        if caller is None:
            caller = return_address()
        if prot is None:
            prot = self.page_kernel
        return self._vmalloc_node_range(size, align, start, end, gfp_mask, prot, vm_flags, node, caller)

    def _vmalloc_node_range(self, size: int, align: int, start: int, end: int, gfp_mask: int, prot: int,
                            vm_flags: int, node: int, caller: str | None) -> int:
        raise NotImplementedError

    def _write_pages_array(self, area: VmStruct) -> None:
        """area->pages[i] = page: the struct page pointers, in the array's own bytes."""
        if not area.pages_addr or not area.pfns:
            return
        base, size = self._page_base, self._page_struct
        fmt = f"<{len(area.pfns)}{'Q' if self.word == 8 else 'I'}"
        self.write(area.pages_addr, struct.pack(fmt, *[base + p * size for p in area.pfns]))

    def _read_pages_array(self, area: VmStruct) -> list[int]:
        """vm->pages[i] as vfree reads them: the struct page pointers from memory."""
        if not area.pages_addr or not area.nr_pages:
            return []
        fmt = f"<{area.nr_pages}{'Q' if self.word == 8 else 'I'}"
        return list(struct.unpack(fmt, self.read(area.pages_addr, area.nr_pages * self.word)))

    def _ptr_to_pfn(self, ptr: int) -> int | None:
        """page_to_pfn() of a pointer read from memory; None if it is not a struct page."""
        off = ptr - self._page_base
        size = self._page_struct
        if off < 0 or off % size:
            return None
        pfn = off // size
        return pfn if self.k.memmap.pfn_valid(pfn) else None

    # ---------------------------------------------------------------- the API
    def vmalloc(self, size: int) -> int:
        """vmalloc(size): GFP_KERNEL, any node, PAGE_KERNEL."""
        return self.vmalloc_node_range(size, 1, self.VMALLOC_START, self.VMALLOC_END, self.vmalloc_default_gfp,
                                       None, 0, NUMA_NO_NODE, return_address())

    def vzalloc(self, size: int) -> int:
        """vzalloc(size): vmalloc with __GFP_ZERO (the page allocator zeroes the pages)."""
        if not self.k.features.vzalloc:
            alt = "vmalloc() + memset()" + (" or vmalloc_user()" if self.k.features.vmalloc_user else "")
            raise UsageError(f"vzalloc() was added in 2.6.37; {self.kernel_name} has {alt}")
        return self.vmalloc_node_range(size, 1, self.VMALLOC_START, self.VMALLOC_END,
                                       self.GFP_KERNEL | self.GFP_ZERO, None, 0, NUMA_NO_NODE, return_address())

    def vmalloc_node(self, size: int, node: int) -> int:
        """vmalloc_node(size, node)."""
        if not self.k.features.vmalloc_node:
            self._not_in("vmalloc_node()", "2.6.16")
        return self.vmalloc_node_range(size, 1, self.VMALLOC_START, self.VMALLOC_END, self.vmalloc_default_gfp,
                                       None, 0, node, return_address())

    def vzalloc_node(self, size: int, node: int) -> int:
        if not self.k.features.vzalloc:
            raise UsageError("vzalloc_node() was added in 2.6.37")
        return self.vmalloc_node_range(size, 1, self.VMALLOC_START, self.VMALLOC_END,
                                       self.GFP_KERNEL | self.GFP_ZERO, None, 0, node, return_address())

    def vmalloc_gfp(self, size: int, gfp_mask: int) -> int:
        """The kernel's ``__vmalloc(size, gfp_mask)`` (6.18; 2.6.24's took a pgprot too, always
        PAGE_KERNEL here)."""
        return self.vmalloc_node_range(size, 1, self.VMALLOC_START, self.VMALLOC_END, gfp_mask, None, 0,
                                       NUMA_NO_NODE, return_address())

    def vmalloc_user(self, size: int) -> int:
        """vmalloc_user(size): zeroed, VM_USERMAP (mmap-able with remap_vmalloc_range), SHMLBA-aligned."""
        if not self.k.features.vmalloc_user:
            self._not_in("vmalloc_user()", "2.6.18")
        return self._vmalloc_user(size, False, return_address())

    def vmalloc_32(self, size: int) -> int:
        """vmalloc_32(size): pages a 32-bit device can address (ZONE_DMA32 on x86_64; lowmem
        on i386, since GFP_VMALLOC32 has no __GFP_HIGHMEM)."""
        return self.vmalloc_node_range(size, 1, self.VMALLOC_START, self.VMALLOC_END, self.GFP_VMALLOC32, None, 0,
                                       NUMA_NO_NODE, return_address())

    def vmalloc_32_user(self, size: int) -> int:
        if not self.k.features.vmalloc_user:
            self._not_in("vmalloc_32_user()", "2.6.18")
        return self._vmalloc_user(size, True, return_address())

    def _vmalloc_user(self, size: int, dma32: bool, caller: str | None) -> int:
        """vmalloc_user() (``dma32`` False) or vmalloc_32_user() (True)."""
        raise NotImplementedError

    def _might_sleep(self, line: int) -> None:
        """might_sleep() in mm/vmalloc.c (line numbers of 6.12's file; 6.18's are not used)."""
        self.k.sched.might_sleep_at("mm/vmalloc.c", line)

    # ---------------------------------------------------------------- vfree
    def vfree(self, addr: int) -> None:
        """vfree(addr): NULL is fine; an address that is no vmalloc area is the kernel's WARN."""
        raise NotImplementedError

    def _free_area_pages(self, vm: VmStruct) -> None:
        """The page loop of vfree/__vunmap: each pointer read from the pages array,
        BUG_ON(!page), __free_page(page)."""
        free: Callable[[int, int], None]
        if self._fast_pages:
            fast_free, po = self.entry.free_pages, self.k.layout.page_offset

            def free(pfn: int, order: int) -> None:
                fast_free(po + (pfn << 12), order)
        else:
            free = self.k.page_alloc.free
        if vm.pages_addr:
            ptrs = self._read_pages_array(vm)
            for ptr in ptrs:
                if not ptr:
                    self.bug("vfree", "no_page")
                pfn = self._ptr_to_pfn(ptr)
                if pfn is None:
                    self.k.report.page_fault(ptr, write=True)  # __free_page() on a pointer that is no struct page
                free(pfn, 0)  # page_fault() raises for a None
        else:
            for pfn in vm.pfns:
                free(pfn, 0)
        vm.pfns = []

    def vfree_atomic(self, addr: int) -> None:
        """vfree_atomic(addr): queue the area on this CPU's vfree_deferred list (whose link
        is the area's own first word) and schedule the work that vfree()s it."""
        if not self.k.features.vfree_atomic:
            raise UsageError(f"vfree_atomic() was added in 4.10; {self.kernel_name} must not vfree() in atomic "
                             "context")
        self._vfree_deferred(addr)

    def _vfree_deferred(self, addr: int) -> None:
        """vfree_atomic()'s body, which vfree() in interrupt context also runs."""
        self._check_addr(addr, "vfree_atomic")
        if self.in_nmi():
            self.bug("vfree_atomic")  # BUG_ON(in_nmi())
        if not addr:
            return
        cpu = self.k.cpu
        lst = self.vfree_deferred[cpu]
        first = not lst
        nxt = lst[-1] if lst else 0
        self.write(addr, nxt.to_bytes(self.word, "little"))  # llist_add(): the node is the area itself
        lst.append(addr)
        if first:
            self.schedule_work(lambda: self.delayed_vfree_work(cpu))

    def delayed_vfree_work(self, cpu: int) -> None:
        """delayed_vfree_work(): llist_del_all() then vfree() each, newest first."""
        lst = self.vfree_deferred[cpu]
        self.vfree_deferred[cpu] = []
        for addr in reversed(lst):
            self.vfree(addr)

    # ---------------------------------------------------------------- vmap / vunmap
    def vmap(self, pages: Iterable[Page | int], count: int, flags: int = VM_MAP, prot: int | None = None) -> int:
        """vmap(pages, count, flags, prot): map existing pages (Page handles or pfns)
        virtually contiguously; NX is forced; the pages stay the caller's unless
        VM_MAP_PUT_PAGES.  Returns the address or 0."""
        self._might_sleep(3503)
        pfns = [p.pfn if isinstance(p, Page) else p for p in pages]
        if any(isinstance(p, bool) or not isinstance(p, int) for p in pfns):
            raise UsageError("vmap: pages must be Page objects or pfns")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise UsageError(f"vmap: count {count!r} must be a non-negative integer")
        if count > len(pfns):
            raise UsageError(f"vmap: count {count} but only {len(pfns)} pages given")
        caller = return_address()
        if prot is None:
            prot = self.page_kernel
        return self._vmap(pfns[:count], count, flags, prot, caller)

    def _vmap(self, pfns: list[int], count: int, flags: int, prot: int, caller: str | None) -> int:
        raise NotImplementedError

    def _pte_mask(self) -> int:
        return (1 << self.k.layout.bits) - 1

    def vunmap(self, addr: int) -> None:
        """vunmap(addr): undo vmap(); the pages are not freed."""
        self._check_addr(addr, "vunmap")
        if self.in_interrupt():
            self.bug("vunmap", "vfree")  # BUG_ON(in_interrupt())
        self._might_sleep(3467)
        self._vunmap(addr)

    def _vunmap(self, addr: int) -> None:
        raise NotImplementedError

    # ---------------------------------------------------------------- purge
    def purge_vmap_area_lazy(self) -> None:
        """drain_vmap_area_work(): purge every lazily freed area now (vmap areas; the
        vmlist unmapped at once, so there is nothing to purge)."""

    def vm_unmap_aliases(self) -> None:
        """vm_unmap_aliases(): no vmap blocks here, so a purge of the lazy areas."""
        self.purge_vmap_area_lazy()

    # ================================================================ views
    def areas(self) -> list[VmStruct]:
        """Every live vm_struct, in the order /proc/vmallocinfo lists them."""
        raise NotImplementedError

    def vmallocinfo(self) -> str:
        """/proc/vmallocinfo."""
        raise NotImplementedError

    def vmalloc_nr_pages(self) -> int:
        """vmalloc_nr_pages(): the pages meminfo's VmallocUsed counts."""
        raise NotImplementedError

    def meminfo(self) -> dict[str, int]:
        """The /proc/meminfo lines vmalloc answers for, in kB: VmallocTotal, VmallocUsed,
        VmallocChunk and PageTables."""
        raise NotImplementedError

    # ================================================================ invariants
    def _check_allocator(self) -> None:
        raise NotImplementedError

    def _check_area(self, vm: VmStruct) -> None:
        """Implementation checks of one live area."""

    def _check_used(self, used: int) -> None:
        """The VmallocUsed counter against the pages the areas hold."""

    def check(self) -> None:
        """The trees (or the vmlist), the page tables, and their agreement: every page of
        every vmalloc area mapped once at its place and allocated, the guard pages and
        lazy ranges unmapped, nothing else mapped in the vmalloc range, the pages arrays
        holding the pages, and the VmallocUsed counter."""
        self._check_allocator()
        self.pt.check()
        ps = self.page_size
        pa = self.k.page_alloc
        expected: dict[int, int] = {}  # vaddr -> pfn that must be mapped there
        owned: dict[int, int] = {}
        used = 0
        for vm in self.areas():
            self._check_area(vm)
            if vm.flags & VM_UNINITIALIZED:
                continue
            if vm.flags & VM_ALLOC and vm.nr_pages:
                if vm.nr_pages != vm.get_vm_area_size() >> self.page_shift or len(vm.pfns) != vm.nr_pages:
                    raise VmapTreeCorrupt(f"{vm!r}: {len(vm.pfns)} pages for {vm.get_vm_area_size()} bytes")
                for i, pfn in enumerate(vm.pfns):
                    expected[vm.addr + i * ps] = pfn
                    if pfn in owned:
                        raise VmapTreeCorrupt(f"pfn {pfn:#x} belongs to two vmalloc areas")
                    owned[pfn] = vm.addr
                    if pa.allocated.get(pfn) != 0:
                        raise VmapTreeCorrupt(f"pfn {pfn:#x} of {vm!r} is not an allocated order-0 page")
                if vm.pages_addr:
                    ptrs = self._read_pages_array(vm)
                    if [self._ptr_to_pfn(p) for p in ptrs] != vm.pfns:
                        raise VmapTreeCorrupt(f"the pages array of {vm!r} at {vm.pages_addr:#x} was overwritten")
                if not vm.flags & VM_MAP_PUT_PAGES:
                    used += vm.nr_pages
        self._check_used(used)
        # the page tables of the vmalloc range hold exactly the mapped pages of live areas
        busy = sorted((vm.addr, vm.addr + vm.get_vm_area_size()) for vm in self.areas())
        starts = [a for a, _ in busy]
        for vaddr, entry, _level in self.pt.mappings(self.VMALLOC_START, self.VMALLOC_END):
            i = bisect.bisect_right(starts, vaddr) - 1
            if i < 0 or vaddr >= busy[i][1]:
                raise VmapTreeCorrupt(f"{vaddr:#x} is mapped (entry {entry:#x}) outside every live area "
                                      "(a guard page, a freed or lazy range)")
            want = expected.pop(vaddr, None)
            if want is not None and self.pt.entry_pfn(entry) != want:
                raise VmapTreeCorrupt(f"{vaddr:#x} maps pfn {self.pt.entry_pfn(entry):#x}, the area has {want:#x}")
        if expected:
            vaddr = next(iter(expected))
            raise VmapTreeCorrupt(f"{vaddr:#x} of a vmalloc area is not mapped")


# ====================================================================================
# vmap areas (2.6.28 on; modelled on 6.18)
# ====================================================================================

class VmapAreaVmalloc(Vmalloc):
    """vmalloc over vmap areas (``k.features.vmap_area``): the vmap_area cache and
    allocator (:class:`~kmemsim.mm.vmap_area.VmapAllocator`), lazy unmapping and
    purging, and on x86_64 the preallocated vmalloc page tables."""

    def __init__(self, k: Kernel) -> None:
        super().__init__(k)
        feat = k.features
        # 64-bit (CONFIG_ZONE_DMA32), and on 32-bit too in 6.6 and 6.18 ("GFP_DMA32 should do
        # the right thing and use the normal zone")
        self.GFP_VMALLOC32 = self.GFP_DMA32 | self.GFP_KERNEL
        # vmalloc() passes GFP_KERNEL; __vmalloc_area_node adds __GFP_HIGHMEM
        self.vmalloc_default_gfp = self.GFP_KERNEL
        self.vm_struct_size = VM_STRUCT_SIZE[(k.layout.bits, feat.vm_struct_requested_size)]
        # order-0 pages: the machine's fast paths where every page has a direct-map
        # address (x86_64: __GFP_HIGHMEM selects ZONE_NORMAL there, so stripping it as
        # __get_free_pages does changes nothing); the page allocator itself with highmem
        self._fast_pages = k.max_low_pfn == k.max_pfn
        entry = self.entry
        # KMEM_CACHE(vmap_area, SLAB_PANIC): align = __alignof__(struct vmap_area) = a word
        cache = k.slab.kmem_cache_create(
            "vmap_area", VMAP_AREA_WORDS * self.word, self.word, k.slab_flags.value("SLAB_PANIC"))
        assert cache is not None  # SLAB_PANIC: a failure panics inside kmem_cache_create
        self.vmap_area_cachep = cache
        gfp = self.GFP_KERNEL & self.GFP_RECLAIM_MASK
        self.va = VmapAllocator(
            page_shift=self.page_shift, bits=k.layout.bits, vmalloc_start=self.VMALLOC_START,
            vmalloc_end=self.VMALLOC_END, nr_possible_cpus=len(k.cpus),
            obj_alloc=lambda: entry.kmem_cache_alloc(cache, gfp),
            obj_free=lambda obj: entry.kmem_cache_free(cache, obj),
            warn=k.report.warn, pr_warn=self._pr_warn_ratelimited, schedule_work=self.schedule_work,
            cpu=lambda: k.cpu, vmap_nodes=feat.vmap_nodes, range_fail_msg=feat.vmap_fail_range_msg,
        )

    # ================================================================ reports
    def warn_pt(self, where: str) -> None:
        self.k.report.warn(where)

    def bug(self, func: str, site: str | None = None) -> NoReturn:
        # without line numbers for 6.18, the report of a kernel without DEBUG_BUGVERBOSE
        self._oops(f"Kernel BUG at {func}+0x0/0x0 [verbose debug info unavailable]")

    def warn_alloc(self, gfp: int, message: str) -> None:
        """warn_alloc() (mm/page_alloc.c, 6.18): "<comm>: <message>, mode:%#x(%pGg), nodemask=(null)"
        with the cpuset line, a stack dump and show_mem; rate limited (one per 10 s);
        nothing with __GFP_NOWARN.  The kernel's nopage_rs is shared with the page
        allocator's reports; here vmalloc keeps its own (the page allocator does not
        offer its state)."""
        if gfp & self.GFP_NOWARN:
            return
        k = self.k
        pa = k.page_alloc
        if gfp & self.GFP_DMA and not any(z.managed_pages for z in pa.zones if z.name == "DMA"):
            return
        if not pa.warn_alloc_ratelimit():  # one rate limit for every warn_alloc() caller
            return
        lines = [f"{k.current.comm}: {message}, mode:{gfp:#x}({self.gfp.format(gfp)}), "
                 "nodemask=(null),cpuset=/,mems_allowed=0"]
        lines += k.report.dump_stack_lines()
        lines += pa.show_mem_lines()
        k.printk("\n".join(lines), KERN_WARNING)

    # ================================================================ vm areas
    def get_vm_area_node(self, size: int, align: int, shift: int, flags: int, start: int, end: int,
                         node: int, gfp: int, caller: str | None) -> VmStruct | None:
        if self.in_interrupt():
            self.bug("__get_vm_area_node")  # BUG_ON(in_interrupt())
        self._might_sleep(2030)  # alloc_vmap_area()
        requested_size = size
        step = 1 << shift
        size = (size + step - 1) & -step
        if not size:
            return None
        if flags & VM_IOREMAP:
            order = max(0, (size - 1).bit_length())  # get_count_order_long()
            align = 1 << max(self.page_shift, min(order, 30))  # clamp(PAGE_SHIFT, IOREMAP_MAX_ORDER = PUD_SHIFT)
        obj = self._kmalloc(self.vm_struct_size, (gfp & self.GFP_RECLAIM_MASK) | self.GFP_ZERO)
        if not obj:
            return None
        if not flags & VM_NO_GUARD:
            size += self.page_size
        vm = VmStruct(self.k, flags, caller, requested_size)
        vm.obj = obj
        va = self.va.alloc_vmap_area(size, align, start, end, vm=vm, nowarn=bool(gfp & self.GFP_NOWARN))
        if va is None:
            self._kfree(obj)
            return None
        vm.addr = va.va_start
        vm.size = va.va_end - va.va_start
        vm.va = va
        return vm

    def find_vm_area(self, addr: int) -> VmStruct | None:
        va = self.va.find_vmap_area(addr)
        return None if va is None else va.vm

    def remove_vm_area(self, addr: int) -> VmStruct | None:
        """remove_vm_area(): unlink the area containing ``addr``, clear its PTEs (no TLB
        flush) and park its range in the lazy tree.  Returns the vm_struct or None."""
        if addr & (self.page_size - 1):
            self.k.report.warn("remove_vm_area+0x0/0x0", f"Trying to vfree() bad address ({self.hashed_ptr(addr)})")
            return None
        va = self.va.find_unlink_vmap_area(addr)
        if va is None or va.vm is None:
            return None
        vm = va.vm
        # free_unmap_vmap_area(): vunmap_range_noflush, then the lazy list
        self.pt.vunmap_range(va.va_start, va.va_end)
        self.va.free_vmap_area_noflush(va)
        vm.va = None
        return vm

    # ================================================================ vmalloc
    def _vmalloc_node_range(self, size: int, align: int, start: int, end: int, gfp_mask: int, prot: int,
                            vm_flags: int, node: int, caller: str | None) -> int:
        if not size:
            self._warn_once("vmalloc size 0", "__vmalloc_node_range_noprof+0x0/0x0")  # WARN_ON_ONCE(!size)
            return NULL
        if (size >> self.page_shift) > self.totalram_pages:
            self.warn_alloc(gfp_mask, f"vmalloc error: size {size}, exceeds total pages")
            return NULL
        # VM_ALLOW_HUGE_VMAP: not modelled; the kernel's fallback (PAGE_SHIFT) is what runs
        shift = self.page_shift
        area = self.get_vm_area_node(size, align, shift, VM_ALLOC | VM_UNINITIALIZED | vm_flags, start, end,
                                     node, gfp_mask, caller)
        if area is None:
            nofail = gfp_mask & self.GFP_NOFAIL
            self.warn_alloc(gfp_mask, f"vmalloc error: size {size}, vm_struct allocation failed"
                            + (". Retrying." if nofail else ""))
            # __GFP_NOFAIL would retry forever (schedule_timeout_uninterruptible(1)); no
            # one frees address space while this single-threaded model waits: give up.
            return NULL
        ret = self._vmalloc_area_node(area, gfp_mask, prot, shift, node)
        if not ret:
            return NULL
        area.flags &= ~VM_UNINITIALIZED  # clear_vm_uninitialized_flag()
        return area.addr

    def _vmalloc_area_node(self, area: VmStruct, gfp_mask: int, prot: int, page_shift: int, node: int) -> int:
        """__vmalloc_area_node(): the pages array, the pages, the page tables."""
        nested_gfp = (gfp_mask & self.GFP_RECLAIM_MASK) | self.GFP_ZERO
        addr = area.addr
        size = area.get_vm_area_size()
        nr_small_pages = size >> self.page_shift
        array_size = nr_small_pages * self.word
        if not gfp_mask & (self.GFP_DMA | self.GFP_DMA32):
            gfp_mask |= self.GFP_HIGHMEM
        # "Please note that the recursion is strictly bounded."
        if array_size > self.page_size:
            pages_addr = self.vmalloc_node_range(array_size, 1, self.VMALLOC_START, self.VMALLOC_END, nested_gfp,
                                                 self.page_kernel, 0, node, area.caller)
        else:
            pages_addr = self._kmalloc(array_size, nested_gfp)
        area.pages_addr = pages_addr
        if not pages_addr:
            self.warn_alloc(gfp_mask, f"vmalloc error: size {nr_small_pages * self.page_size}, "
                            f"failed to allocated page array size {array_size}")
            self.free_vm_area(area)
            return NULL
        area.page_order = 0
        pfns = self._vm_area_alloc_pages(gfp_mask | self.GFP_NOWARN, node, nr_small_pages)
        area.pfns = pfns
        area.nr_pages = len(pfns)
        self._write_pages_array(area)
        self.nr_vmalloc_pages += area.nr_pages
        if area.nr_pages != nr_small_pages:
            self.warn_alloc(gfp_mask, f"vmalloc error: size {area.nr_pages * self.page_size}, failed to allocate pages")
            self.vfree(area.addr)
            return NULL
        ret = self.pt.vmap_pages_range(addr, addr + size, prot, pfns)
        if ret < 0:
            self.warn_alloc(gfp_mask, f"vmalloc error: size {area.nr_pages * self.page_size}, failed to map pages")
            self.vfree(area.addr)
            return NULL
        return addr

    def _vm_area_alloc_pages(self, gfp: int, node: int, nr_pages: int) -> list[int]:
        """vm_area_alloc_pages() for order 0: page after page until one fails."""
        out = []
        if self._fast_pages:
            get = self.entry.get_free_pages
            po = self.k.layout.page_offset
            g = gfp & ~self.GFP_HIGHMEM
            for _ in range(nr_pages):
                addr = get(g, 0)
                if not addr:
                    break
                out.append((addr - po) >> 12)
            return out
        alloc = self.k.page_alloc.alloc
        for _ in range(nr_pages):
            pfn = alloc(gfp, 0)
            if pfn < 0:
                break
            out.append(pfn)
        return out

    def _vmalloc_user(self, size: int, dma32: bool, caller: str | None) -> int:
        gfp = (self.GFP_VMALLOC32 if dma32 else self.GFP_KERNEL) | self.GFP_ZERO
        return self.vmalloc_node_range(size, self.page_size, self.VMALLOC_START, self.VMALLOC_END, gfp, None,
                                       VM_USERMAP, NUMA_NO_NODE, caller)

    # ---------------------------------------------------------------- vfree
    def vfree(self, addr: int) -> None:
        """vfree(addr): NULL is fine; in interrupt context the free is deferred
        (vfree_atomic); an address that is no vmalloc area is the kernel's WARN."""
        self._check_addr(addr, "vfree")
        if self.in_interrupt():
            self._vfree_deferred(addr)  # vfree_atomic()
            return
        if self.in_nmi():
            self.bug("vfree")  # BUG_ON(in_nmi())
        self._might_sleep(3419)
        if not addr:
            return
        vm = self.remove_vm_area(addr)
        if vm is None:
            self.k.report.warn("vfree+0x0/0x0", f"Trying to vfree() nonexistent vm area ({self.hashed_ptr(addr)})")
            return
        self._free_area_pages(vm)
        if not vm.flags & VM_MAP_PUT_PAGES:
            self.nr_vmalloc_pages -= vm.nr_pages
        self._kvfree(vm.pages_addr)
        vm.pages_addr = 0
        self._kfree(vm.obj)
        vm.obj = 0

    def _kvfree(self, addr: int) -> None:
        if not addr:
            return
        if self.is_vmalloc_addr(addr):
            self.vfree(addr)
        else:
            self._kfree(addr)

    # ---------------------------------------------------------------- vmap / vunmap
    def _vmap(self, pfns: list[int], count: int, flags: int, prot: int, caller: str | None) -> int:
        if flags & VM_FLUSH_RESET_PERMS:
            self._warn_once("vmap VM_FLUSH_RESET_PERMS", "vmap+0x0/0x0")
            return NULL
        if flags & VM_NO_GUARD:
            self._warn_once("vmap VM_NO_GUARD", "vmap+0x0/0x0")
            flags &= ~VM_NO_GUARD
        if count > self.totalram_pages:
            return NULL
        size = count << self.page_shift
        area = self.get_vm_area_node(size, 1, self.page_shift, flags, self.VMALLOC_START, self.VMALLOC_END,
                                     NUMA_NO_NODE, self.GFP_KERNEL, caller)
        if area is None:
            return NULL
        if self.pt.vmap_pages_range(area.addr, area.addr + size, pgprot_nx(prot) & self._pte_mask(), pfns) < 0:
            self.vunmap(area.addr)
            return NULL
        if flags & VM_MAP_PUT_PAGES:
            area.pfns = pfns
            area.nr_pages = count
        return area.addr

    def _vunmap(self, addr: int) -> None:
        if not addr:
            return
        vm = self.remove_vm_area(addr)
        if vm is None:
            self.k.report.warn("vunmap+0x0/0x0", f"Trying to vunmap() nonexistent vm area ({self.hashed_ptr(addr)})")
            return
        self._kfree(vm.obj)
        vm.obj = 0

    # ---------------------------------------------------------------- purge
    def purge_vmap_area_lazy(self) -> None:
        """drain_vmap_area_work(): purge every lazily freed area now."""
        self.va.purge_vmap_area_lazy(self.va.ulong_max, 0, False)

    # ================================================================ views
    def areas(self) -> list[VmStruct]:
        return [va.vm for va in self.va.busy_areas() if va.vm is not None]

    def vmallocinfo(self) -> str:
        """/proc/vmallocinfo: vmalloc_info_show() of 6.18 (per vmap node, address order,
        then the "unpurged vm_area" lines; 6.6's s_show() printed those after the last
        busy area, so not at all without one)."""
        out = []
        busy = False
        for va in self.va.busy_areas():
            busy = True
            v = va.vm
            if v is None:
                if va.flags & VMAP_RAM:
                    out.append(f"0x{va.va_start:016x}-0x{va.va_end:016x} {va.va_end - va.va_start:7d} vm_map_ram\n")
                continue
            if v.flags & VM_UNINITIALIZED:
                continue
            parts = [f"0x{v.addr:016x}-0x{v.addr + v.size:016x} {v.size:7d}"]
            if v.caller:
                parts.append(f" {v.caller}")
            if v.nr_pages:
                parts.append(f" pages={v.nr_pages}")
            if v.phys_addr:
                parts.append(f" phys=0x{v.phys_addr:016x}")
            for bit, word in ((VM_IOREMAP, "ioremap"), (VM_SPARSE, "sparse"), (VM_ALLOC, "vmalloc"),
                              (VM_MAP, "vmap"), (VM_USERMAP, "user"), (VM_DMA_COHERENT, "dma-coherent")):
                if v.flags & bit:
                    parts.append(" " + word)
            if self.is_vmalloc_addr(v.pages_addr):
                parts.append(" vpages")
            if v.nr_pages:  # show_numa_info(): one node, N_HIGH_MEMORY
                parts.append(f" N0={v.nr_pages}")
            out.append("".join(parts) + "\n")
        if busy or self.va.vmap_nodes:
            for va in self.va.lazy_areas():
                out.append(f"0x{va.va_start:016x}-0x{va.va_end:016x} {va.va_end - va.va_start:7d} unpurged vm_area\n")
        return "".join(out)

    def vmalloc_nr_pages(self) -> int:
        """vmalloc_nr_pages() (6.18): pages vmalloc holds, VmallocUsed."""
        return self.nr_vmalloc_pages

    def meminfo(self) -> dict[str, int]:
        """VmallocTotal, VmallocUsed (the vmalloc'ed pages), VmallocChunk (0 since 4.4) and
        PageTables, in kB."""
        kb = self.page_size >> 10
        total = (self.VMALLOC_END - self.VMALLOC_START) >> 10
        return {"VmallocTotal": total, "VmallocUsed": self.nr_vmalloc_pages * kb, "VmallocChunk": 0,
                "PageTables": self.pt.nr_page_table_pages() * kb}

    # ================================================================ invariants
    def _check_allocator(self) -> None:
        self.va.check()

    def _check_area(self, vm: VmStruct) -> None:
        va = vm.va
        if va is None or va.vm is not vm or va.va_start != vm.addr or va.va_end - va.va_start != vm.size:
            raise VmapTreeCorrupt(f"{vm!r} does not match its vmap_area {va!r}")

    def _check_used(self, used: int) -> None:
        if used != self.nr_vmalloc_pages:
            raise VmapTreeCorrupt(f"nr_vmalloc_pages is {self.nr_vmalloc_pages} but the areas hold {used}")


# ====================================================================================
# the vmlist (before 2.6.28; modelled on 2.6.24)
# ====================================================================================

class VmlistVmalloc(Vmalloc):
    """vmalloc over the sorted ``vmlist`` (no ``k.features.vmap_area``): first-fit
    search, immediate unmapping, VM_VPAGES, and the 2.6.24 reports."""

    def __init__(self, k: Kernel) -> None:
        super().__init__(k)
        # 2.6.24: GFP_VMALLOC32 is GFP_DMA32 | GFP_KERNEL on 64-bit, GFP_KERNEL on 32-bit:
        # lowmem pages (no __GFP_HIGHMEM)
        self.GFP_VMALLOC32 = self.GFP_KERNEL | (self.GFP_DMA32 if k.layout.bits == 64 else 0)
        # 2.6.24 vmalloc(): GFP_KERNEL | __GFP_HIGHMEM (6.18 adds __GFP_HIGHMEM in __vmalloc_area_node)
        self.vmalloc_default_gfp = self.GFP_KERNEL | self.GFP_HIGHMEM
        self.vm_struct_size = VM_STRUCT_SIZE_2_6_I386
        self.vmlist: Vmlist[VmStruct] = Vmlist(page_shift=self.page_shift, bits=k.layout.bits)

    # ================================================================ reports
    def _warn_26(self, site: str, func: str, message: str | None = None) -> None:
        """2.6.24: printk(KERN_ERR message) then WARN_ON(1): "WARNING: at file:line func()" and a
        stack dump (no taint: TAINT_WARN arrived in 2.6.26)."""
        if message:
            self.k.printk(message, KERN_ERR)
        lines = [f"WARNING: at mm/vmalloc.c:{_LINES_2_6[site]} {func}()"] + self.k.report.dump_stack_lines()
        self.k.printk("\n".join(lines), KERN_WARNING)

    def warn_pt(self, where: str) -> None:
        func = where.split("+", 1)[0]
        self._warn_26(func if func in _LINES_2_6 else "vmap_pte_range", func)

    def bug(self, func: str, site: str | None = None) -> NoReturn:
        line = _LINES_2_6.get(site or func, 0)
        self._oops(f"kernel BUG at mm/vmalloc.c:{line}!")

    # ================================================================ vm areas
    def get_vm_area_node(self, size: int, align: int, shift: int, flags: int, start: int, end: int,
                         node: int, gfp: int, caller: str | None) -> VmStruct | None:
        """2.6.24 __get_vm_area_node(): the vmlist walk; a guard page always."""
        if self.in_interrupt():
            self.bug("__get_vm_area_node", "vfree")
        align = 1
        if flags & VM_IOREMAP:
            bit = size.bit_length()  # fls(size)
            bit = min(bit, 7 + self.page_shift)  # IOREMAP_MAX_ORDER (generic: 128 pages)
            bit = max(bit, self.page_shift)
            align = 1 << bit
        ps = self.page_size
        size = (size + ps - 1) & -ps
        if not size:
            return None
        obj = self._kmalloc(self.vm_struct_size, gfp & self.GFP_RECLAIM_MASK)
        if not obj:
            return None
        size += ps  # "We always allocate a guard page."
        slot = self.vmlist.find_slot(size, align, start, end)
        if slot is None:
            self._kfree(obj)
            if self._printk_ratelimit():
                self.k.printk("allocation failed: out of vmalloc space - use vmalloc=<size> to increase size.",
                              KERN_WARNING)
            return None
        vm = VmStruct(self.k, flags, caller, size - ps)
        vm.obj = obj
        vm.addr, vm.size = slot[1], size
        self.vmlist.insert(slot[0], vm)
        return vm

    def find_vm_area(self, addr: int) -> VmStruct | None:
        return self.vmlist.find(addr)

    def remove_vm_area(self, addr: int) -> VmStruct | None:
        """2.6.24 __remove_vm_area(): exact start match; unmap (guard page included) with a
        TLB flush at once; size loses the guard page."""
        vm = self.vmlist.remove(addr)
        if vm is None:
            return None
        self.pt.vunmap_range(vm.addr, vm.addr + vm.size)
        vm.size -= self.page_size
        return vm

    # ================================================================ vmalloc
    def _vmalloc_node_range(self, size: int, align: int, start: int, end: int, gfp_mask: int, prot: int,
                            vm_flags: int, node: int, caller: str | None) -> int:
        return self._vmalloc_node_26(size, gfp_mask, prot, node, vm_flags, caller)

    def _vmalloc_node_26(self, size: int, gfp: int, prot: int, node: int, vm_flags: int, caller: str | None) -> int:
        """2.6.24 __vmalloc_node(): NULL without a word for 0 or more than num_physpages."""
        ps = self.page_size
        size = (size + ps - 1) & -ps
        if not size or (size >> self.page_shift) > self.k.max_pfn:
            return NULL
        area = self.get_vm_area_node(size, 1, self.page_shift, VM_ALLOC | vm_flags, self.VMALLOC_START,
                                     self.VMALLOC_END, node, gfp, caller)
        if area is None:
            return NULL
        return self._vmalloc_area_node_26(area, gfp, prot, node)

    def _vmalloc_area_node_26(self, area: VmStruct, gfp: int, prot: int, node: int) -> int:
        nr_pages = (area.size - self.page_size) >> self.page_shift
        array_size = nr_pages * self.word
        area.nr_pages = nr_pages
        if array_size > self.page_size:
            pages_addr = self._vmalloc_node_26(array_size, gfp | self.GFP_ZERO, self.page_kernel, node, 0,
                                               area.caller)
            area.flags |= VM_VPAGES_2_6
        else:
            pages_addr = self._kmalloc(array_size, (gfp & self.GFP_RECLAIM_MASK) | self.GFP_ZERO)
        area.pages_addr = pages_addr
        if not pages_addr:
            self.remove_vm_area(area.addr)
            self._kfree(area.obj)
            return NULL
        alloc = self.k.page_alloc.alloc
        pfns = []
        for _ in range(nr_pages):
            pfn = alloc(gfp, 0)
            if pfn < 0:
                break
            pfns.append(pfn)
        area.pfns = pfns
        area.nr_pages = len(pfns)  # "Successfully allocated i pages, free them in __vunmap()"
        self._write_pages_array(area)
        if area.nr_pages != nr_pages or self._map_vm_area_26(area, prot, pfns):
            self.vfree(area.addr)
            return NULL
        return area.addr

    def _map_vm_area_26(self, area: VmStruct, prot: int, pfns: list[int]) -> int:
        """2.6.24 map_vm_area(): WARN_ON(!pte_none) but map anyway; NULL page -> -ENOMEM."""
        addr = area.addr
        end = addr + area.size - self.page_size
        pt = self.pt
        ps = self.page_size
        for i, a in enumerate(range(addr, end, ps)):
            if i >= len(pfns):
                return -12
            e, _lvl = pt.lookup_address(a)
            if e:
                self._warn_26("vmap_pte_range", "vmap_pte_range")
                pt.vunmap_range(a, a + ps)
            if pt.vmap_pages_range(a, a + ps, prot, [pfns[i]]) < 0:
                return -12
        return 0

    def _vmalloc_user(self, size: int, dma32: bool, caller: str | None) -> int:
        """2.6.24 vmalloc_user()/vmalloc_32_user(): __vmalloc, then VM_USERMAP on the area."""
        gfp = (self.GFP_VMALLOC32 if dma32 else self.GFP_KERNEL | self.GFP_HIGHMEM) | self.GFP_ZERO
        addr = self.vmalloc_node_range(size, 1, self.VMALLOC_START, self.VMALLOC_END, gfp, None, 0,
                                       NUMA_NO_NODE, caller)
        if addr:
            area = self.vmlist.find(addr)
            assert area is not None
            area.flags |= VM_USERMAP
        return addr

    # ---------------------------------------------------------------- vfree
    def vfree(self, addr: int) -> None:
        """vfree(addr): BUG_ON(in_interrupt()), then __vunmap()."""
        self._check_addr(addr, "vfree")
        if self.in_interrupt():
            self.bug("vfree")  # BUG_ON(in_interrupt())
        self._vunmap_26(addr, True)

    def _vunmap_26(self, addr: int, deallocate_pages: bool) -> None:
        """2.6.24 __vunmap()."""
        if not addr:
            return
        if addr & (self.page_size - 1):
            self._warn_26("bad_address", "__vunmap", f"Trying to vfree() bad address ({self.hashed_ptr(addr)})")
            return
        area = self.remove_vm_area(addr)
        if area is None:
            self._warn_26("nonexistent", "__vunmap", f"Trying to vfree() nonexistent vm area ({self.hashed_ptr(addr)})")
            return
        if deallocate_pages:
            self._free_area_pages(area)
            if area.flags & VM_VPAGES_2_6:
                self.vfree(area.pages_addr)
            elif area.pages_addr:
                self._kfree(area.pages_addr)
            area.pages_addr = 0
        self._kfree(area.obj)
        area.obj = 0

    # ---------------------------------------------------------------- vmap / vunmap
    def _vmap(self, pfns: list[int], count: int, flags: int, prot: int, caller: str | None) -> int:
        if count > self.k.max_pfn:  # num_physpages
            return NULL
        area = self.get_vm_area_node(count << self.page_shift, 1, self.page_shift, flags, self.VMALLOC_START,
                                     self.VMALLOC_END, NUMA_NO_NODE, self.GFP_KERNEL, caller)
        if area is None:
            return NULL
        if self._map_vm_area_26(area, prot, pfns):
            self.vunmap(area.addr)
            return NULL
        return area.addr

    def _vunmap(self, addr: int) -> None:
        self._vunmap_26(addr, False)

    # ================================================================ views
    def areas(self) -> list[VmStruct]:
        return list(self.vmlist)

    def vmallocinfo(self) -> str:
        if not self.k.features.proc_vmallocinfo:
            raise UsageError(f"/proc/vmallocinfo was added in 2.6.25; {self.kernel_name} has no such file "
                             "(use Vmalloc.areas() or meminfo's VmallocUsed/VmallocChunk)")
        raise UsageError("/proc/vmallocinfo of the vmlist era (2.6.25-2.6.27) is not modelled")

    def vmalloc_nr_pages(self) -> int:
        """The VmallocUsed of 2.6.24's get_vmalloc_info() in pages (every area's size,
        guard included)."""
        used, _ = self.vmlist.get_vmalloc_info(self.VMALLOC_START, self.VMALLOC_END)
        return used >> self.page_shift

    def meminfo(self) -> dict[str, int]:
        """VmallocTotal, VmallocUsed (every area, guard pages included), VmallocChunk (the
        largest free gap) and PageTables, in kB (2.6.24 fs/proc/mmu.c get_vmalloc_info)."""
        kb = self.page_size >> 10
        total = (self.VMALLOC_END - self.VMALLOC_START) >> 10
        used, chunk = self.vmlist.get_vmalloc_info(self.VMALLOC_START, self.VMALLOC_END)
        return {"VmallocTotal": total, "VmallocUsed": used >> 10, "VmallocChunk": chunk >> 10,
                "PageTables": self.pt.nr_page_table_pages() * kb}

    # ================================================================ invariants
    def _check_allocator(self) -> None:
        self.vmlist.check(self.VMALLOC_START, self.VMALLOC_END)


def vmalloc_init(k: Kernel) -> None:
    """vmalloc_init(): the vmap_area cache, the free space, the vmalloc page tables
    (``k.vmalloc_impl``: the vmap-area or the vmlist implementation, by the kernel's
    features), its invariants, the PageTables and VmallocUsed counters, and
    /proc/vmallocinfo (2.6.25+)."""
    vm: Vmalloc = VmapAreaVmalloc(k) if k.features.vmap_area else VmlistVmalloc(k)
    k.vmalloc_impl = vm
    k.checks.register("vmalloc", vm.check)
    k.node_stats.register("nr_page_table_pages", vm.pt.nr_page_table_pages)
    k.node_stats.register("_vmalloc_nr_pages", vm.vmalloc_nr_pages)
    if k.features.proc_vmallocinfo:
        k.procfs.create("vmallocinfo", vm.vmallocinfo)
