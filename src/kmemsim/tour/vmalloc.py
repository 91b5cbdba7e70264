"""Tour chapter: kmalloc versus get_free_pages versus vmalloc -- contiguity, addresses, DMA."""
from __future__ import annotations

from collections.abc import Callable

import kmemsim

Out = Callable[[str], None]


def _runs(pfns: list[int]) -> str:
    """'0x4000-0x4003' runs of consecutive pfns."""
    out, start, prev = [], pfns[0], pfns[0]
    for p in [*pfns[1:], None]:
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
    holes = [k.get_free_pages(k.gfp.GFP_KERNEL, 0) for _ in range(256)]
    for a in holes[::2]:
        k.free_pages(a, 0)
    size = 16 * 1024
    a = k.kmalloc(size, k.gfp.GFP_KERNEL)
    g = k.get_free_pages(k.gfp.GFP_KERNEL, 2)
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
    assert vm is not None
    out(f"   its vm_struct: {vm.size} bytes of address space (one guard page), nr_pages={vm.nr_pages}")
    for line in k.proc("vmallocinfo").splitlines():
        if line.startswith(f"{v:#x}"):
            out(f"   /proc/vmallocinfo: {line}")
    out("")
    out("   A device can only DMA to physically contiguous memory at an address it can reach:")
    dev = k.dma_device("my_nic", dma_mask=kmemsim.DMA_BIT_MASK(32))
    ha = k.dma_map_single(dev, a, size, kmemsim.DMA_TO_DEVICE)
    out(f"   dma_map_single(kmalloc buffer)  = {ha:#x}  (the bus address: physical, no IOMMU)")
    hv = k.dma_map_single(dev, v, size, kmemsim.DMA_TO_DEVICE)
    out(f"   dma_map_single(vmalloc buffer)  = {hv:#x}  (DMA_MAPPING_ERROR), and in dmesg:")
    warn = [line.split("] ", 1)[1] for line in k.dmesg().splitlines() if "rejecting DMA map" in line]
    out(f"      {warn[-1]}")
    k.dma_unmap_single(dev, ha, size, kmemsim.DMA_TO_DEVICE)
    cpu, handle = k.dma_alloc_coherent(dev, 8192, k.gfp.GFP_KERNEL)
    out(f"   dma_alloc_coherent(8192) = cpu {cpu:#x}, bus {handle:#x}: zeroed, contiguous, below the mask")
    k.dma_free_coherent(dev, 8192, cpu, handle)
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
    out("")
    h = kmemsim.boot("linux-2.6-i386", ram="1G")
    out("With 1 GB, RAM above 896 MB is HighMem: it has no permanent kernel address, and")
    out("page_address() of such a page is NULL until kmap() maps it into the pkmap window:")
    page = h.alloc_pages(h.gfp.GFP_HIGHUSER, 0)
    assert page is not None
    out(f"   alloc_pages(GFP_HIGHUSER) = {page!r} in {h.page_zone(page)}, page_address = {h.page_address(page):#x}")
    addr = h.kmap(page)
    h.write(addr, b"through kmap")
    out(f"   kmap(page) = {addr:#010x} (PKMAP_BASE {h.highmem_impl.PKMAP_BASE:#010x} + slot * 4096); "
        f"page_address now {h.page_address(page):#010x}")
    h.kunmap(page)
    at = h.kmap_atomic(page, "KM_USER0")
    out(f"   kmap_atomic(page, KM_USER0) = {at:#010x} (a per-CPU fixmap slot), reads {h.read(at, 12)!r}")
    h.kunmap_atomic(at, "KM_USER0")
    h.free_pages_struct(page, 0)
    h.check()


def device_registers(out: Out) -> None:
    from kmemsim.mm.ioremap import Register

    k = kmemsim.boot()
    out("ioremap maps device memory -- not RAM -- into the vmalloc area.  A device with two")
    out("registers sits at physical 0xfebf0000 (a PCI BAR); its status register sets bit 31 on every write:")
    fifo = list(b"hi")
    k.add_device("my_uart", 0xFEBF0000, 0x1000, [
        Register("STATUS", 0x0, 4, write=lambda r, v: setattr(r, "value", v | 0x80000000)),
        Register("RXFIFO", 0x4, 1, read=lambda r: fifo.pop(0) if fifo else 0),
    ])
    region = k.request_mem_region(0xFEBF0000, 0x1000, "my_uart")
    regs = k.ioremap(0xFEBF0000, 0x1000)
    out(f"   request_mem_region(0xfebf0000, 0x1000, \"my_uart\") -> {'ok' if region else 'busy'}; "
        f"ioremap = {regs:#x}")
    k.writel(0x1, regs)
    out(f"   writel(0x1, regs); readl(regs) = {k.readl(regs):#010x}")
    out(f"   readb(regs + 4) twice = {chr(k.readb(regs + 4))!r}, {chr(k.readb(regs + 4))!r}  (the FIFO drains)")
    for line in k.proc("iomem").splitlines():
        if "febf0000" in line:
            out(f"   /proc/iomem: {line}")
    ram = k.ioremap(0x100000, 4096)
    warn = [line.split("] ", 1)[1] for line in k.dmesg().splitlines() if "ioremap on RAM" in line]
    out(f"   ioremap of RAM at 0x100000 = {ram:#x}: {warn[-1]}")
    k.iounmap(regs)
    k.release_mem_region(0xFEBF0000, 0x1000)
    k.check()


def chapter(out: Out) -> None:
    comparison(out)
    i386_vmalloc(out)
    out("")
    device_registers(out)
