"""SLUB and the kmalloc family: caches, slabs, freelists in object memory, views."""
import pytest
from conftest import DATA

import kmemsim
from kmemsim import ZERO_SIZE_PTR, InvariantError, KernelBug, Oops, UsageError, gfp
from kmemsim import snapshot as snapmod
from kmemsim.gfp import GFP_DMA, GFP_KERNEL
from kmemsim.mm import slub_geometry as geo

ZERO = getattr(gfp, "__GFP_ZERO")
RECL = getattr(gfp, "__GFP_RECLAIMABLE")
ACCT = getattr(gfp, "__GFP_ACCOUNT")


@pytest.fixture
def k():
    return kmemsim.boot()


def test_kmalloc_caches_exist_with_the_hosts_geometry(k):
    snap = snapmod.load(DATA / "host-6.18" / "snapshot.tar.gz")
    host = snap.slab_caches()
    names = [s.name for s in k.slub.caches]
    assert "vmap_area" in names  # vmalloc_init's own cache: unmerged on the host too (72 bytes)
    names = [n for n in names if "kmalloc" in n]
    assert len(names) == 52 and "kmalloc-96" in names and "dma-kmalloc-8k" in names
    for name, hname in [(n, n) for n in names] + [("vmap_area", ":0000072")]:  # sysfs: vmap_area -> :0000072
        for attr in ("object_size", "slab_size", "align", "order", "objs_per_slab", "cpu_partial", "min_partial"):
            assert k.sysfs(f"kernel/slab/{name}/{attr}") == host[hname][attr], (name, attr)


@pytest.mark.parametrize("size,cache", [(1, "kmalloc-8"), (8, "kmalloc-8"), (9, "kmalloc-16"), (65, "kmalloc-96"),
                                        (97, "kmalloc-128"), (129, "kmalloc-192"), (193, "kmalloc-256"),
                                        (4097, "kmalloc-8k")])
def test_kmalloc_size_classes(k, size, cache):
    p = k.kmalloc(size, GFP_KERNEL)
    slab, _ = k.slub.object_of(p)
    assert slab.cache.name == cache
    assert k.ksize(p) == k.kmalloc_size_roundup(size) == geo.kmalloc_size_roundup(size)
    k.kfree(p)
    k.check()


@pytest.mark.parametrize("mask,prefix", [(GFP_KERNEL | RECL, "kmalloc-rcl-"), (GFP_KERNEL | ACCT, "kmalloc-cg-"),
                                         (GFP_KERNEL | GFP_DMA, "dma-kmalloc-"),
                                         (GFP_KERNEL | GFP_DMA | RECL, "dma-kmalloc-")])
def test_kmalloc_kinds(k, mask, prefix):
    p = k.kmalloc(100, mask)
    assert k.slub.object_of(p)[0].cache.name == prefix + "128"
    if k.gfp.mask(mask) & k.gfp.GFP_DMA:
        assert k.page_zone(k.virt_to_page(p)) == "DMA"


def test_zero_size_null_and_large(k):
    assert k.kmalloc(0, GFP_KERNEL) == ZERO_SIZE_PTR
    k.kfree(0)
    k.kfree(ZERO_SIZE_PTR)
    big = k.kmalloc(10000, GFP_KERNEL)
    assert big % 4096 == 0 and k.ksize(big) == 16384
    assert k.page_alloc.allocated[k.virt_to_pfn(big)] == 2
    k.kfree(big)
    assert k.kmalloc(5 << 20, GFP_KERNEL | getattr(gfp, "__GFP_NOWARN")) == 0  # > KMALLOC_MAX_SIZE
    k.check()


def test_kmalloc_keeps_stale_bytes_kzalloc_zeroes(k):
    a = k.kmalloc(256, GFP_KERNEL)
    k.memset(a, 0xAB, 256)
    k.kfree(a)
    b = k.kmalloc(256, GFP_KERNEL)
    assert b == a  # LIFO: the hot object comes back
    data = k.read(b, 256)
    assert data != bytes(256) and data.count(0xAB) >= 248  # only the free pointer changed
    k.kfree(b)
    c = k.kzalloc(256, GFP_KERNEL)
    assert k.read(c, 256) == bytes(256)


def test_free_pointer_lives_in_the_object_and_is_hardened(k):
    s = k.find_cache("kmalloc-64")
    a = k.kmalloc(64, GFP_KERNEL)
    b = k.kmalloc(64, GFP_KERNEL)
    k.kfree(a)
    k.kfree(b)  # b -> a on the CPU freelist
    raw = k.read_u64(b + s.offset)
    assert raw != a  # encoded: a ^ s->random ^ swab(&ptr)
    assert k.slub.get_freepointer(s, b) == a
    assert s.offset == 32  # ALIGN_DOWN(object_size / 2, 8): in the middle of the object


def test_use_after_free_write_corrupts_the_freelist(k):
    a = k.kmalloc(64, GFP_KERNEL)
    b = k.kmalloc(64, GFP_KERNEL)
    k.kfree(a)
    k.kfree(b)
    s = k.find_cache("kmalloc-64")
    k.write_u64(b + s.offset, 0x4141414141414141)  # a write after free
    with pytest.raises(InvariantError, match="points outside its objects"):
        k.check()


def test_double_free_is_caught_by_the_hardened_freelist(k):
    a = k.kmalloc(32, GFP_KERNEL)
    k.kfree(a)
    with pytest.raises(Oops) as e:
        k.kfree(a)
    assert "kernel BUG at mm/slub.c" in e.value.report


def test_cache_with_constructor_runs_it_per_slab_not_per_alloc(k):
    calls = []

    def ctor(addr):
        calls.append(addr)
        k.write_u32(addr, 0xC0FFEE)

    c = k.kmem_cache_create("my_ctor_cache", 40, 0, 0, ctor)
    assert c.name == "my_ctor_cache" and c.ctor is ctor
    o = k.kmem_cache_alloc(c, GFP_KERNEL)
    assert len(calls) == c.objects  # the whole slab was constructed at once
    assert k.read_u32(o) == 0xC0FFEE
    k.kmem_cache_free(c, o)
    k.kmem_cache_alloc(c, GFP_KERNEL)
    assert len(calls) == c.objects
    k.check()


def test_merging_and_slab_nomerge():
    k = kmemsim.boot()
    a = k.kmem_cache_create("a_cache", 120, 0, 0)
    b = k.kmem_cache_create("b_cache", 120, 0, 0)
    assert b is a and a.aliases == ["b_cache"] and k.sysfs("kernel/slab/b_cache/aliases") == "1\n"
    n = kmemsim.boot(slab_nomerge=True)
    assert n.kmem_cache_create("a_cache", 120) is not n.kmem_cache_create("b_cache", 120)
    assert kmemsim.boot(slub_debug="F").kmem_cache_create("c", 120).flags & geo.SLAB_CONSISTENCY_CHECKS


def test_slabs_move_between_states_and_empty_ones_are_freed(k):
    c = k.kmem_cache_create("states", 512, 0, geo.SLAB_HWCACHE_ALIGN)
    per = c.objects
    objs = [k.kmem_cache_alloc(c, GFP_KERNEL) for _ in range(per * 12)]
    assert c.nr_slabs == 12
    k.check()
    for o in objs:
        k.kmem_cache_free(c, o)
    k.check()
    # all free: min_partial slabs may stay on the node list, the CPU keeps some, the rest is freed
    k.kmem_cache_shrink(c)
    assert c.nr_slabs == 0
    assert k.proc("slabinfo").count("states ") == 1
    k.kmem_cache_destroy(c)
    assert "states " not in k.proc("slabinfo")
    k.check()


def test_frees_from_another_cpu(k):
    c = k.kmem_cache_create("xcpu", 256)
    objs = [k.kmem_cache_alloc(c, GFP_KERNEL) for _ in range(100)]
    with k.on_cpu(1):
        for o in objs:
            k.kmem_cache_free(c, o)
    k.check()
    with k.on_cpu(1):
        again = [k.kmem_cache_alloc(c, GFP_KERNEL) for _ in range(100)]
    assert set(again) <= set(objs) | set(again)
    k.check()


def test_destroy_with_live_objects_reports_and_keeps_the_cache():
    k = kmemsim.boot(on_bug="report")
    c = k.kmem_cache_create("leaky", 64)
    live = k.kmem_cache_alloc(c, GFP_KERNEL)
    k.kmem_cache_free(c, k.kmem_cache_alloc(c, GFP_KERNEL))

    def my_module_exit():
        k.kmem_cache_destroy(c)

    my_module_exit()
    lines = [ln.split("] ", 1)[1] for ln in k.dmesg().splitlines()]
    i = lines.index("BUG leaky (Not tainted): Objects remaining on __kmem_cache_shutdown()")
    assert lines[i - 1] == "=" * 77 and lines[i + 1] == "-" * 77 and lines[i + 2] == ""
    slab = k.slub.slabs(c)[0]
    assert lines[i + 3] == f"Object {live:#x} @offset={live - slab.addr}"
    assert lines[i + 4].startswith(f"Slab {k.arch.page_struct_addr(slab.pfn):#x} objects={slab.objects} used=1 ")
    # the slab is on the node's partial list: SL_partial, which %pGp prints as PG_workingset (6.18)
    assert lines[i + 4].endswith("flags=0x4000000000000200(workingset|node=0|zone=1)")
    assert ("kmem_cache_destroy leaky: Slab cache still has objects when called from my_module_exit+0x0/0x0"
            in lines)
    assert "leaky " in k.proc("slabinfo") and k.find_cache("leaky") is c
    strict = kmemsim.boot()
    c2 = strict.kmem_cache_create("leaky2", 64)
    strict.kmem_cache_alloc(c2, GFP_KERNEL)
    with pytest.raises(KernelBug, match="Objects remaining"):
        strict.kmem_cache_destroy(c2)


def test_slab_panic_panics():
    k = kmemsim.boot()
    with pytest.raises(KernelBug, match="Kernel panic - not syncing: kmem_cache_create: Failed to create slab 'huge'"):
        k.kmem_cache_create("huge", 1 << 30, 0, geo.SLAB_PANIC)


def test_bad_arguments(k):
    with pytest.raises(UsageError):
        k.kmem_cache_create("", 10)
    with pytest.raises(UsageError):
        k.kmem_cache_create("x", -1)
    with pytest.raises(UsageError, match="unknown SLAB flags"):
        k.kmem_cache_create("x", 10, 0, 1 << 40)
    with pytest.raises(UsageError):
        k.kmalloc(-5, GFP_KERNEL)
    assert k.kmalloc_array(1 << 40, 1 << 40, GFP_KERNEL) == 0  # overflow gives NULL


def test_kcalloc_krealloc_kmemdup_kstrdup(k):
    p = k.kcalloc(10, 12, GFP_KERNEL)
    assert k.read(p, 120) == bytes(120)
    k.write(p, b"hello")
    q = k.krealloc(p, 100, GFP_KERNEL)
    assert q == p  # 100 fits in kmalloc-128
    r = k.krealloc(q, 1000, GFP_KERNEL)
    assert r != q and k.read(r, 5) == b"hello"
    assert k.krealloc(r, 0, GFP_KERNEL) == ZERO_SIZE_PTR
    s = k.kstrdup("driver", GFP_KERNEL)
    assert k.read(s, 7) == b"driver\0"
    d = k.kmemdup(s, 7, GFP_KERNEL)
    assert k.read(d, 7) == b"driver\0" and d != s
    k.kfree_sensitive(d)
    assert k.kstrndup("abcdef", 3, GFP_KERNEL)
    k.check()


def test_slabinfo_format_and_slabtop_fields(k):
    c = k.kmem_cache_create("widget", 200)
    for _ in range(50):
        k.kmem_cache_alloc(c, GFP_KERNEL)
    text = k.proc("slabinfo")
    lines = text.splitlines()
    assert lines[0] == "slabinfo - version: 2.1"
    assert lines[2].startswith("widget ")
    f = lines[2].split()
    assert f[3] == str(c.size) and f[4] == str(c.objects) and f[5] == str(1 << c.order)
    assert f[6:10] == [":", "tunables", "0", "0"] and f[12] == "slabdata"
    assert int(f[2]) == c.total_objects and int(f[1]) <= int(f[2])
    assert snapmod.parse_meminfo(k.proc("meminfo"))["Slab"] >= c.nr_slabs * 4


def test_sysfs_counts(k):
    c = k.kmem_cache_create("counted", 1000)
    objs = [k.kmem_cache_alloc(c, GFP_KERNEL) for _ in range(3 * c.objects)]
    assert k.sysfs("kernel/slab/counted/slabs") == "3 N0=3\n"
    assert k.sysfs("kernel/slab/counted/total_objects") == f"{3 * c.objects} N0={3 * c.objects}\n"
    for o in objs[: c.objects]:
        k.kmem_cache_free(c, o)
    assert k.sysfs("kernel/slab/counted/partial").endswith("\n")
    with pytest.raises(UsageError):
        k.sysfs("kernel/slab/nosuch/order")


def test_cache_arguments_are_checked(k):
    c = k.kmem_cache_create("checked", 32)
    with pytest.raises(UsageError, match="not a cache"):
        k.kmem_cache_alloc("checked", GFP_KERNEL)
    with pytest.raises(UsageError, match="not an address"):
        k.kmem_cache_free(c, "0x10")
    k.kmem_cache_destroy(c)
    with pytest.raises(UsageError, match="destroyed"):
        k.kmem_cache_alloc(c, GFP_KERNEL)
    k.check()


def test_fast_free_onto_another_cpus_slab_and_partial_slabs_matches_the_slow_path():
    """The fast kfree onto a non-CPU slab (__slab_free without a list change) leaves the
    same state as the general path: the same objects come back, in the same order."""
    from kmemsim.gfp import GFP_KERNEL

    def run(fast):
        k = kmemsim.boot()
        free = k.kfree if fast else type(k).kfree.__get__(k)
        objs = []
        with k.on_cpu(0):
            objs = [k.kmalloc(192, GFP_KERNEL) for _ in range(100)]  # several slabs
        with k.on_cpu(1):
            for p in objs[::3]:
                free(p)  # CPU 0's slab (frozen) and full slabs becoming partial
            for p in objs[1::3]:
                free(p)
        k.check()
        with k.on_cpu(0):
            again = [k.kmalloc(192, GFP_KERNEL) for _ in range(40)]
        k.check()
        return again, k.proc("slabinfo")

    assert run(True) == run(False)
