"""Tour chapter: address spaces, __pa/__va, the 3G/1G split, vmalloc gap and highmem."""
from __future__ import annotations

from collections.abc import Callable

import kmemsim
from kmemsim.layout import draw

Out = Callable[[str], None]


def _hex(k: kmemsim.Kernel, v: int) -> str:
    return f"{v:#0{k.layout.bits // 4 + 2}x}"


def chapter(out: Out) -> None:
    k = kmemsim.boot()  # the default machine
    out(f"Boot the default machine: {k!r}")
    out("")
    out("Its kernel virtual address space, top first ([D] direct map, [V] vmalloc,")
    out("[K] kernel, [U] user, [g] guard). Every address below is an int you can use:")
    out("")
    for line in draw(k.layout).splitlines():
        out("  " + line)
    out("")

    out("1. The kernel image is mapped twice: at __START_KERNEL_map for the code,")
    out("   and in the direct map like all RAM. __pa() undoes either mapping:")
    text = k.layout.kernel_text
    phys = k.pa(text)
    alias = k.va(phys)
    out(f"   _text                    = {_hex(k, text)}")
    out(f"   __pa(_text)              = {phys:#x}   (CONFIG_PHYSICAL_START, 16 MiB)")
    out(f"   __va(__pa(_text))        = {_hex(k, alias)}   (PAGE_OFFSET + 16 MiB)")
    k.write(alias, b"hello, kernel")
    out("   write 'hello, kernel' through the direct-map alias, read it through _text:")
    out(f"   k.read(_text, 13)        = {k.read(text, 13)!r}")
    page = k.virt_to_page(text)
    out(f"   virt_to_page(_text)      = {page!r} at {_hex(k, page.ptr)} (vmemmap + pfn * 64)")
    out(f"   its flags                = {page.flags.format()}: memblock reserved it for the image")
    out("")

    out("2. Free memory holds whatever it held before: RAM is never clean.")
    pfn = k.max_pfn // 2
    addr = k.page_address(k.pfn_to_page(pfn))
    out(f"   page_address(pfn {pfn:#x}) = {_hex(k, addr)}")
    out(f"   its first 16 bytes       = {k.read(addr, 16).hex(' ')}")
    out("   (kmalloc hands such bytes out as they are; kzalloc and __GFP_ZERO clear them)")
    out("")

    out("3. Which addresses may be given to virt_to_page()? virt_addr_valid() says:")
    samples = [
        ("a direct-map address", alias),
        ("the kernel text", text),
        ("a vmalloc address", k.layout.vmalloc_start + 0x1000),
        ("a user address", 0x400000),
        ("past the end of RAM", k.layout.high_memory + 0x1000),
    ]
    for label, a in samples:
        out(
            f"   {label:<22} {_hex(k, a)}  virt_addr_valid={k.virt_addr_valid(a)!s:<5}  "
            f"is_vmalloc_addr={k.is_vmalloc_addr(a)}"
        )
    out("")

    out("4. Touching an address nothing maps is an oops. The kernel kills the task that")
    out("   faulted (here: raises kmemsim.Oops) and carries on, tainted:")
    mark = len(k.log)
    bad = k.layout.vmalloc_start + 0x1000
    try:
        k.read_u32(bad)
    except kmemsim.Oops as e:
        out(f"   caught {type(e).__name__}: {e}")
    for line in k.log.dmesg(since=mark).splitlines():
        out("   " + line)
    out("")

    out("5. The classic i386 machine of the driver books: 160 MB of RAM, 3G/1G split.")
    old = kmemsim.boot("linux-2.6-i386", ram="160M")
    lay = old.layout
    out(f"   PAGE_OFFSET   = {lay.page_offset:#010x}   (3 GB: user space below, kernel above)")
    out(f"   high_memory   = {lay.high_memory:#010x}   (PAGE_OFFSET + 160 MB of lowmem)")
    out(f"   VMALLOC_START = {lay.vmalloc_start:#010x}   (high_memory + the 8 MB VMALLOC_OFFSET gap)")
    out(f"   VMALLOC_END   = {lay.vmalloc_end:#010x}   (PKMAP_BASE - 2 pages)")
    out(f"   PKMAP_BASE    = {lay.pkmap_base:#010x}   FIXADDR_START = {lay.fixaddr_start:#010x}")
    out(f"   __pa(0xc0100000) = {old.pa(0xC0100000):#x}, __va(0x100000) = {old.va(0x100000):#x}")
    out("")

    out("6. With 1 GB the direct map cannot hold all RAM: 896 MB is lowmem, the rest HIGHMEM.")
    big = kmemsim.boot("linux-2.6-i386", ram="1G")
    for line in big.dmesg().splitlines():
        if "MB HIGHMEM" in line or "MB LOWMEM" in line or "Memory:" in line:
            out("   " + line)
    hp = big.pfn_to_page(big.max_low_pfn + 16)
    lp = big.pfn_to_page(16)
    out(f"   page_address(lowmem {lp!r})  = {big.page_address(lp):#010x}")
    out(f"   page_address(highmem {hp!r}) = {big.page_address(hp):#x}  (NULL: map it with kmap() first)")
    out(f"   PageHighMem: {big.PageHighMem(lp)} and {big.PageHighMem(hp)}")
    out("")

    out("7. vmalloc=SIZE trades lowmem for vmalloc space (arch/x86/kernel/setup_32.c):")
    for v in ("64M", "128M", "256M"):
        m = kmemsim.boot("linux-2.6-i386", ram="1G", vmalloc=v)
        ml = m.layout
        out(
            f"   vmalloc={v:<5} lowmem {(ml.high_memory - ml.page_offset) >> 20:4d} MB   "
            f"vmalloc area {ml.vmalloc_start:#010x}-{ml.vmalloc_end:#010x} "
            f"({(ml.vmalloc_end - ml.vmalloc_start) >> 20} MB)"
        )
