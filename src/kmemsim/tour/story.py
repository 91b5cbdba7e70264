"""The seeds' story on any profile: ``kmemsim tour --profile P``.

The documents this project starts from (the classic driver-book notes on kmalloc, vmalloc,
get_free_pages and GFP flags) tell one story in one order: the 3G/1G address space of a
160 MB i386 machine, kmalloc and its size ladder up to 128 KB, kzalloc and kcalloc, slab
caches with SLAB_* flags and a constructor, __get_free_pages and get_zeroed_page, vmalloc
and vmalloc_32, the GFP flags and the contexts (a tasklet, a timer), mempool, ioremap.
This module runs that story, in that order, on the machine of any profile: every figure is
the booted model's, so on ``linux-2.6.11-i386`` (the seeds' kernel) it shows what 2.6.11
did, and on another profile what that kernel does instead.

The slab parts ask the machine which allocator it booted and which cache holds an object
(``k.slab_impl.cache_of`` where the machine has one, else SLUB's ``object_of``), so they
read the same whichever slab allocator the profile runs.
"""
from __future__ import annotations

from collections.abc import Callable

import kmemsim

Out = Callable[[str], None]

#: the seeds' machine: 160 MB of RAM (seed 000: "the system's physical memory is 160MB")
SEED_RAM = "160M"


def _cache_name(k: kmemsim.Kernel, p: int) -> str | None:
    """The name of the slab cache whose slab holds ``p`` (virt_to_cache()), or None."""
    impl = getattr(k, "slab_impl", None)
    if impl is not None and hasattr(impl, "cache_of"):
        c = impl.cache_of(p)
        return None if c is None else str(c.name)
    slab, _ = k.slub.object_of(p)
    return None if slab is None else str(slab.cache.name)


def _allocator(k: kmemsim.Kernel) -> str:
    return str(k.slab.allocator).upper()  # the machine's (slab_allocator=, or the kernel's default)


def _report(k: kmemsim.Kernel, since: int, needle: str, n: int) -> list[str]:
    """``n`` lines of the log from the first one after ``since`` containing ``needle``."""
    lines = [line.split("] ", 1)[1] for line in k.log.dmesg(since=since).splitlines()]
    hits = [i for i, line in enumerate(lines) if needle in line]
    return lines[hits[0]:hits[0] + n] if hits else []


def _h(k: kmemsim.Kernel, v: int) -> str:
    return f"{v:#0{k.layout.bits // 4 + 2}x}"


def address_space(out: Out, k: kmemsim.Kernel) -> None:
    lay = k.layout
    gib = 1 << 30
    out(f"1. The address space of {k.profile.name} with {k.ram >> 20} MB of RAM.")
    if k.profile.arch == "i386":
        out(f"   0 .. {lay.page_offset:#x} (PAGE_OFFSET, {lay.page_offset // gib} GB) is user space; "
            "the kernel has the last GB.")
    else:
        out(f"   user space ends at {_h(k, lay.task_size)}; the direct map starts at PAGE_OFFSET "
            f"{_h(k, lay.page_offset)}.")
    out(f"   the direct map:  PAGE_OFFSET {_h(k, lay.page_offset)} .. high_memory {_h(k, lay.high_memory)} "
        f"({(lay.high_memory - lay.page_offset) >> 20} MB)")
    gap = lay.vmalloc_start - lay.high_memory
    out(f"   vmalloc:         VMALLOC_START {_h(k, lay.vmalloc_start)} .. VMALLOC_END {_h(k, lay.vmalloc_end)}"
        f"  ({gap >> 20} MB gap after high_memory)")
    p = k.kmalloc(100, k.gfp.GFP_KERNEL)
    out(f"   kmalloc(100) = {_h(k, p)}; virt_to_phys() = {k.pa(p):#x} = p - PAGE_OFFSET; "
        f"phys_to_virt() gives {_h(k, k.va(k.pa(p)))} back")
    k.kfree(p)
    out("")


def kmalloc_ladder(out: Out, k: kmemsim.Kernel) -> None:
    out(f"2. kmalloc: physically contiguous bytes from the slab allocator ({_allocator(k)} on this machine).")
    out("   Each size is rounded up to a cache of the kmalloc ladder:")
    out(f"   {'kmalloc(size)':>14}  {'cache':<16} {'ksize':>7}")
    kb128 = 128 << 10
    for size in (1, 32, 33, 100, 129, 4096, 4097, kb128 - 16, kb128, kb128 + 1):
        p = k.kmalloc(size, k.gfp.GFP_KERNEL | k.gfp.__GFP_NOWARN)
        if not p:
            out(f"   {size:>14}  NULL: above this kernel's largest kmalloc size")
            continue
        name = _cache_name(k, p)
        where = name if name is not None else f"pages (order {(k.ksize(p) >> k.page_shift).bit_length() - 1})"
        out(f"   {size:>14}  {where:<16} {k.ksize(p):>7}")
        k.kfree(p)
    out("")


def kzalloc_kcalloc(out: Out, k: kmemsim.Kernel) -> None:
    out("3. kmalloc leaves the old bytes; kzalloc (kmalloc | __GFP_ZERO) and kcalloc clear them:")
    a = k.kmalloc(64, k.gfp.GFP_KERNEL)
    k.write(a, b"left behind by the previous user of this object....")
    k.kfree(a)
    b = k.kmalloc(64, k.gfp.GFP_KERNEL)
    out(f"   kmalloc(64) again = {_h(k, b)}: {k.read(b, 24)!r}...")
    k.kfree(b)
    c = k.kzalloc(64, k.gfp.GFP_KERNEL)
    out(f"   kzalloc(64)        = {_h(k, c)}: all 64 bytes zero: {k.read(c, 64) == bytes(64)}")
    k.kfree(c)
    d = k.kcalloc(10, 12, k.gfp.GFP_KERNEL)
    out(f"   kcalloc(10, 12)    = {_h(k, d)}: 120 zeroed bytes, ksize {k.ksize(d)}")
    k.kfree(d)
    big = (1 << (k.layout.bits)) // 8 + 1
    e = k.kcalloc(8, big, k.gfp.GFP_KERNEL | k.gfp.__GFP_NOWARN)
    out(f"   kcalloc(8, {big:#x}) = {e:#x}: n * size overflows ULONG_MAX, so NULL before any allocation")
    out("")


def slab_cache(out: Out, k: kmemsim.Kernel) -> None:
    out("4. A cache of one's own objects (seed 002's xjslab), with SLAB_* flags and a constructor:")
    sf = k.slab_flags
    made: list[int] = []

    def ctor(*args: object) -> None:  # ctor(obj) on 6.x; 2.6 kernels pass (obj, cache, flags) or (cache, obj)
        made.append(1)

    flags = sf.SLAB_HWCACHE_ALIGN | sf.SLAB_CACHE_DMA
    if k.features.kmem_cache_dtor:  # 2.6.11: kmem_cache_create(name, size, align, flags, ctor, dtor)
        cache = k.kmem_cache_create("xjslab", 52, 0, flags, ctor, None)
    else:
        cache = k.kmem_cache_create("xjslab", 52, 0, flags, ctor)
    assert cache is not None
    sig = "name, size, align, flags, ctor, dtor" if k.features.kmem_cache_dtor else "name, size, align, flags, ctor"
    out(f"   kmem_cache_create({sig}) with SLAB_HWCACHE_ALIGN|SLAB_CACHE_DMA = {flags:#x}")
    gfp = k.gfp.GFP_KERNEL
    if k.slab.allocator == "slab":  # mm/slab.c cache_grow() -> kmem_flagcheck(): BUG() otherwise
        gfp = gfp | k.gfp.GFP_DMA
        out("   SLAB wants GFP_DMA in every allocation from a DMA cache: kmem_cache_alloc(cache, GFP_KERNEL|GFP_DMA)")
        out("   (without it, cache_grow()'s kmem_flagcheck() is a kernel BUG)")
    objs = [k.kmem_cache_alloc(cache, gfp) for _ in range(3)]
    zone = k.page_zone(k.virt_to_page(objs[0]))
    stride = getattr(cache, "size", None)  # SLUB's s->size: the object with its alignment and metadata
    each = f"{stride} bytes each with the alignment, " if isinstance(stride, int) else ""
    out(f"   3 objects: {', '.join(_h(k, o) for o in objs)}  ({each}in zone {zone})")
    out(f"   the constructor ran {len(made)} times: once per object of the new slab, not per allocation")
    for o in objs:
        k.kmem_cache_free(cache, o)
    k.kmem_cache_destroy(cache)
    out("")


def free_pages(out: Out, k: kmemsim.Kernel) -> None:
    out("5. __get_free_pages: whole pages from the buddy allocator, in the direct map.")
    g = k.gfp
    a = k.get_free_pages(g.GFP_KERNEL, 2)
    out(f"   __get_free_pages(GFP_KERNEL, 2) = {_h(k, a)} (4 pages, physical {k.pa(a):#x})")
    z = k.get_zeroed_page(g.GFP_KERNEL)
    out(f"   get_zeroed_page(GFP_KERNEL)     = {_h(k, z)}, all zero: {k.read(z, k.page_size) == bytes(k.page_size)}")
    top = k.page_alloc.max_order
    big = k.get_free_pages(g.GFP_KERNEL | g.__GFP_NOWARN, top)
    out(f"   order {top} (the largest, {(k.page_size << top) >> 20} MB) = {_h(k, big)}")
    over = k.get_free_pages(g.GFP_KERNEL | g.__GFP_NOWARN, top + 1)
    out(f"   order {top + 1} (>= MAX_ORDER) = {over:#x}: NULL")
    k.free_pages(a, 2)
    k.free_pages(z, 0)
    if big:
        k.free_pages(big, top)
    out("")


def vmalloc(out: Out, k: kmemsim.Kernel) -> None:
    out("6. vmalloc: virtually contiguous, page by page from the buddy allocator.")
    v = k.vmalloc(5 * k.page_size)
    pfns = [k.vmalloc_to_pfn(v + i * k.page_size) for i in range(5)]
    out(f"   vmalloc(5 pages) = {_h(k, v)}, its pages' frames: {', '.join(hex(p) for p in pfns)}")
    v32 = k.vmalloc_32(2 * k.page_size)
    pf32 = [k.vmalloc_to_pfn(v32 + i * k.page_size) for i in range(2)]
    out(f"   vmalloc_32(2 pages) = {_h(k, v32)}, frames {', '.join(hex(p) for p in pf32)} "
        f"(below 4 GB, in {k.page_zone(k.pfn_to_page(pf32[0]))})")
    out(f"   is_vmalloc_addr: {k.is_vmalloc_addr(v)}; vfree() gives the pages and the area back")
    k.vfree(v)
    k.vfree(v32)
    out("")


def gfp_and_contexts(out: Out, k: kmemsim.Kernel) -> None:
    g = k.gfp
    out(f"7. GFP flags of Linux {k.profile.kernel_version}, and who may sleep.")
    names = ["GFP_ATOMIC", "GFP_KERNEL", "GFP_USER", "GFP_HIGHUSER", "GFP_NOIO", "GFP_NOFS"]
    out("   " + "  ".join(f"{n}={g.value(n):#x}" for n in names))
    low = ["__GFP_DMA", "__GFP_HIGHMEM", "__GFP_COLD", "__GFP_NOWARN", "__GFP_HIGH", "__GFP_REPEAT", "__GFP_NOFAIL",
           "__GFP_NORETRY"]
    have = [n for n in low if n in g.flags]
    out("   " + "  ".join(f"{n}={g.value(n):#x}" for n in have))
    gone = [n for n in low if n not in g.flags]
    if gone:
        out(f"   not in this kernel: {', '.join(gone)}")
    if "__GFP_COLD" in g.flags and k.page_alloc.pcp26:
        p = k.get_free_pages(g.GFP_KERNEL, 0)
        k.free_pages(p, 0)
        hot = k.get_free_pages(g.GFP_KERNEL, 0)
        cold = k.get_free_pages(g.GFP_KERNEL | g.__GFP_COLD, 0)
        out(f"   a page freed and asked for again comes back cache-hot from the per-CPU hot list: "
            f"{hot == p}; with __GFP_COLD it comes from the cold list: {_h(k, cold)}")
        k.free_pages(hot, 0)
        k.free_pages(cold, 0)
    seen: list[str] = []
    mark = len(k.log)

    def in_tasklet(_data: object) -> None:
        q = k.kmalloc(64, g.GFP_ATOMIC)
        seen.append(f"tasklet: kmalloc(64, GFP_ATOMIC) = {_h(k, q)}, silent: it never sleeps")
        k.kfree(q)

    def in_timer(_t: object) -> None:
        q = k.kmalloc(64, g.GFP_KERNEL)
        seen.append(f"timer:   kmalloc(64, GFP_KERNEL) = {_h(k, q)}, and the kernel says:")
        k.kfree(q)

    t = k.tasklet_setup(in_tasklet)
    with k.hardirq():
        k.tasklet_schedule(t)
    timer = k.timer_setup(in_timer)
    k.mod_timer(timer, k.jiffies + 10)
    k.run()
    for line in seen:
        out(f"   {line}")
    report = _report(k, mark, "sleeping function called from invalid context", 3)
    for line in report:
        out(f"      {line}")
    if not report:
        out("      nothing: this kernel's slab allocator has no might_sleep() check of its own; only the page")
        out("      allocator checks, so the report comes the day a kmalloc there must grow its cache")
    out("")


def mempool(out: Out, k: kmemsim.Kernel) -> None:
    g = k.gfp
    out("8. mempool: elements set aside at creation, for when the allocator has none.")
    cache = k.kmem_cache_create("my_request", 192, 0, 0)
    assert cache is not None
    pool = k.mempool_create_slab_pool(4, cache)
    assert pool is not None
    held = []
    while a := k.get_free_pages(g.GFP_ATOMIC | g.__GFP_NOWARN, 0):
        held.append(a)
    free = sum(z.free_pages for z in k.page_alloc.zones)
    out(f"   memory exhausted with GFP_ATOMIC: {len(held)} pages taken, {free} free pages left")
    got = []
    while e := k.mempool_alloc(pool, g.GFP_ATOMIC):
        got.append(e)
    out(f"   mempool_alloc(pool, GFP_ATOMIC) still gives {len(got)} elements (the objects of the slab "
        "it already had and the 4 reserved), then NULL")
    for e in got:
        k.mempool_free(e, pool)
    for a in held:
        k.free_pages(a, 0)
    k.mempool_destroy(pool)
    k.kmem_cache_destroy(cache)
    out("")


def ioremap(out: Out, k: kmemsim.Kernel) -> None:
    out("9. ioremap: device memory (not RAM) mapped into the vmalloc area; no memory is allocated.")
    k.add_device("my_dev", 0xFEBF0000, 0x1000)
    regs = k.ioremap(0xFEBF0000, 0x1000)
    out(f"   ioremap(0xfebf0000, 0x1000) = {_h(k, regs)}: in vmalloc space {k.is_vmalloc_addr(regs)}; "
        f"reached with readl/writel, never by virt_to_phys()")
    k.writel(0x12345678, regs)
    out(f"   writel(0x12345678, regs); readl(regs) = {k.readl(regs):#x}")
    k.iounmap(regs)
    out("")


SECTIONS: tuple[Callable[[Out, kmemsim.Kernel], None], ...] = (
    address_space, kmalloc_ladder, kzalloc_kcalloc, slab_cache, free_pages, vmalloc, gfp_and_contexts, mempool,
    ioremap)


def run(out: Out, profile: str) -> None:
    """The seeds' story on a fresh 160 MB machine of ``profile``, checked clean at the end."""
    k = kmemsim.boot(profile, ram=SEED_RAM, on_bug="report")
    out("=" * 78)
    out(f"The driver books' story on {k.profile.name} (Linux {k.profile.kernel_version}, {k.profile.arch}), "
        f"{k.ram >> 20} MB")
    out("=" * 78)
    for section in SECTIONS:
        section(out, k)
    k.check()
    out(f"k.check(): clean; {sum(z.free_pages for z in k.page_alloc.zones)} pages free at the end.")
