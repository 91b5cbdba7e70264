"""Tour chapter: kmalloc versus get_free_pages versus vmalloc -- contiguity, addresses, DMA."""
from __future__ import annotations

from typing import Callable

import kmemsim
from kmemsim.gfp import GFP_KERNEL

Out = Callable[[str], None]


def _runs(pfns: list[int]) -> str:
    """'0x4000-0x4003' runs of consecutive pfns."""
    out, start, prev = [], pfns[0], pfns[0]
    for p in pfns[1:] + [None]:  # type: ignore[list-item]
        if p is not None and p == prev + 1:
            prev = p
            continue
        out.append(f"{start:#x}" if start == prev else f"{start:#x}-{prev:#x}")
        if p is not None:
            start = prev = p
    return " ".join(out)


def comparison(out: Out) -> kmemsim.Kernel:
    k = kmemsim.boot(ram="256M")
    ps = k.page_size
    out("Three ways to get 16 KiB.  kmalloc and __get_free_pages hand out physically contiguous")
    out("memory from the direct map; vmalloc maps scattered pages at contiguous virtual addresses.")
    out("Physical memory is fragmented first: every other free page of a region is taken.")
    holes = [k.get_free_pages(GFP_KERNEL, 0) for _ in range(256)]
    for a in holes[::2]:
        k.free_pages(a, 0)
    size = 16 * 1024
    a = k.kmalloc(size, GFP_KERNEL)
    g = k.get_free_pages(GFP_KERNEL, 2)
    v = k.vmalloc(size)
    out("")
    out(f"   {'call':<28} {'address':<20} {'virt_to_phys / page tables':<28} pfns of its 4 pages")
    for name, addr in (("kmalloc(16384)", a), ("__get_free_pages(KERNEL, 2)", g), ("vmalloc(16384)", v)):
        if k.is_vmalloc_addr(addr):
            pfns = [k.vmalloc_to_pfn(addr + i * ps) for i in range(4)]
            phys = "vmalloc_to_pfn: see pfns"
        else:
            pfns = [k.virt_to_pfn(addr + i * ps) for i in range(4)]
            phys = f"{k.virt_to_phys(addr):#x}"
        out(f"   {name:<28} {addr:#x}   {phys:<28} {_runs(pfns)}")
    out("")
    out("   The vmalloc buffer is one range for the CPU -- a write across its page boundaries")
    out("   reads back whole -- but its pages are wherever the allocator found single pages:")
    k.write(v + ps - 4, b"ABCDEFGH")
    out(f"   write 8 bytes at vmalloc+4092, read back: {k.read(v + ps - 4, 8)!r}")
    vm = k.find_vm_area(v)
    out(f"   its vm_struct: {vm.size} bytes of address space (one guard page), nr_pages={vm.nr_pages}")
    for line in k.proc("vmallocinfo").splitlines():
        if line.startswith(f"{v:#x}"):
            out(f"   /proc/vmallocinfo: {line}")
    out("")
    k.kfree(a)
    k.free_pages(g, 2)
    k.vfree(v)
    for h in holes[1::2]:
        k.free_pages(h, 0)
    k.check()
    return k


def i386_vmalloc(out: Out) -> None:
    m = kmemsim.boot("linux-2.6-i386", ram="160M")
    out("On the 160 MB i386 machine of the driver books, vmalloc space starts 8 MB above the")
    out("end of the direct map (high_memory), and every vmalloc area has its guard page:")
    out(f"   high_memory   = {m.layout.high_memory:#010x}   VMALLOC_START = {m.layout.vmalloc_start:#010x}")
    first = m.vmalloc(4096)
    second = m.vmalloc(4096)
    out(f"   vmalloc(4096) = {first:#010x}, the next = {second:#010x} (4 KiB + a 4 KiB guard page apart)")
    m.vfree(first)
    m.vfree(second)
    m.check()


def chapter(out: Out) -> None:
    comparison(out)
    i386_vmalloc(out)
