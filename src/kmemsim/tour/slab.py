"""Tour chapter: kmalloc and kmem_cache -- size classes, stale bytes, constructors, the freelist."""
from __future__ import annotations

from collections.abc import Callable

import kmemsim

Out = Callable[[str], None]


def chapter(out: Out) -> None:
    k = kmemsim.boot()
    out("kmalloc() serves small requests from caches of fixed-size objects (SLUB slabs).")
    out("Each request is rounded up to a size class; the rest of the object is waste:")
    out(f"   {'request':>8} {'cache':>12} {'ksize':>6} {'waste':>6}")
    for size in (1, 20, 64, 65, 100, 129, 200, 1000, 3000, 5000):
        p = k.kmalloc(size, k.gfp.GFP_KERNEL)
        slab, _ = k.slub.object_of(p)
        assert slab is not None
        ks = k.ksize(p)
        out(f"   {size:>8} {slab.cache.name:>12} {ks:>6} {ks - size:>5}  ({100 * (ks - size) // ks}%)")
        k.kfree(p)
    big = k.kmalloc(10000, k.gfp.GFP_KERNEL)
    out(f"   {10000:>8} {'(pages)':>12} {k.ksize(big):>6} {k.ksize(big) - 10000:>5}  "
        "above 8 KiB kmalloc asks the page allocator")
    k.kfree(big)
    out("")

    out("1. kmalloc memory holds whatever was there; kzalloc clears it:")
    a = k.kmalloc(32, k.gfp.GFP_KERNEL)
    k.write(a, b"secret data from a previous user")
    k.kfree(a)
    b = k.kmalloc(32, k.gfp.GFP_KERNEL)
    out(f"   kmalloc(32) = {b:#x} (the object just freed comes back first: LIFO)")
    out(f"   its bytes:  {k.read(b, 32)!r}")
    out("   (bytes 16..23 changed: while the object was free they held the free pointer)")
    c = k.kzalloc(32, k.gfp.GFP_KERNEL)
    out(f"   kzalloc(32) = {c:#x}, bytes: {k.read(c, 32)!r}")
    out("")

    out("2. A cache of your own objects, with a constructor that runs once per slab:")
    made = []

    def ctor(addr: int) -> None:
        made.append(addr)
        k.write_u32(addr, 0x1234)

    cache = k.kmem_cache_create("my_device", 72, 0, 0, ctor)
    assert cache is not None
    obj = k.kmem_cache_alloc(cache, k.gfp.GFP_KERNEL)
    out(f"   kmem_cache_create(\"my_device\", 72, 0, 0, ctor): object size {cache.object_size}, "
        f"stride {cache.size}, {cache.objects} per order-{cache.order} slab")
    out(f"   the first kmem_cache_alloc made a slab: the constructor ran {len(made)} times")
    out(f"   object {obj:#x} starts with {k.read_u32(obj):#x}")
    for line in k.proc("slabinfo").splitlines()[:3]:
        out("   " + line)
    out("")

    out("3. The free pointer lives inside the free object, so writing to an object after kfree")
    out("   corrupts the allocator -- exactly as in the kernel. k.check() finds the damage:")
    x = k.kmalloc(64, k.gfp.GFP_KERNEL)
    y = k.kmalloc(64, k.gfp.GFP_KERNEL)
    k.kfree(x)
    k.kfree(y)
    kmalloc64 = k.find_cache("kmalloc-64")
    assert kmalloc64 is not None
    off = kmalloc64.offset
    out(f"   kfree(x); kfree(y); then a stale write to y + {off} (the free pointer's place)")
    k.write_u64(y + off, 0xDEADBEEF)
    try:
        k.check()
    except kmemsim.InvariantError as e:
        out(f"   InvariantError: {str(e)[:110]}...")
    out("")

    out("4. A double free: CONFIG_SLAB_FREELIST_HARDENED notices the object is already the head")
    out("   of the free list and stops the kernel:")
    fresh = kmemsim.boot()
    z = fresh.kmalloc(128, fresh.gfp.GFP_KERNEL)
    fresh.kfree(z)
    mark = len(fresh.log)
    try:
        fresh.kfree(z)
    except kmemsim.Oops:
        pass
    for line in fresh.log.dmesg(since=mark).splitlines()[:3]:
        out("   " + line)
    out("")

    out("5. With slab_debug (the boot option; here \"FZPU,kmalloc-64\") the cache keeps red zones")
    out("   around each object and checks them on kfree.  One byte written past the end:")
    dbg = kmemsim.boot(slab_debug="FZPU,kmalloc-64", on_bug="report")
    d = dbg.kmalloc(60, dbg.gfp.GFP_KERNEL)
    out(f"   kmalloc(60) = {d:#x}; bytes 60..63 are the kmalloc red zone: {dbg.read(d + 56, 8).hex(' ')}")
    dbg.write_u8(d + 60, 0x41)
    mark = len(dbg.log)
    dbg.kfree(d)
    report = dbg.log.dmesg(since=mark).splitlines()
    keep = [line for line in report if not line.split("] ", 1)[-1].startswith(("Redzone ", "Object  ", "Padding "))]
    for line in keep[:8]:
        out("   " + line)
    out("   ... (hex dumps of the red zones, the object and the padding, then a WARNING) ...")
    for line in keep:
        if "FIX kmalloc-64" in line:
            out("   " + line)
    out("   The kernel repaired the red zone and kept the object out of circulation.")
