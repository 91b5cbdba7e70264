"""SLAB (mm/slab.py) of 2.6.11, 2.6.24 and 6.6, and the allocator choice (mm/slab_common.py).

Golden numbers come from tests/data/classic (REAL captures of those kernels under QEMU); each
test names the capture or the source lines it follows."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import kmemsim
from kmemsim import ConfigError, UsageError
from kmemsim.errors import InvariantError, Oops

DATA = Path(__file__).parent / "data" / "classic"
K11, K24, K66 = "linux-2.6.11-i386", "linux-2.6.24-i386", "linux-6.6-x86_64"
ROW = re.compile(r"(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+) : tunables\s+(\d+)\s+(\d+)\s+(\d+) : "
                 r"slabdata\s+(\d+)\s+(\d+)\s+(\d+)")


def slabinfo_rows(text: str) -> dict[str, tuple[int, ...]]:
    """name -> (active_objs, num_objs, objsize, objperslab, pagesperslab, limit, batchcount,
    sharedfactor, active_slabs, num_slabs, sharedavail)."""
    out = {}
    for line in text.splitlines()[2:]:
        m = ROW.match(line)
        assert m, line
        out[m.group(1)] = tuple(int(x) for x in m.groups()[1:])
    return out


def boot(profile: str, **kw) -> kmemsim.Kernel:
    kw.setdefault("ram", "256M")
    kw.setdefault("slab_allocator", "slab")
    return kmemsim.boot(profile, **kw)


# ============================================================================ the allocator choice
@pytest.mark.parametrize(("profile", "offered", "default"), [
    (K11, {"slab"}, "slab"), (K24, {"slab", "slub", "slob"}, "slub"), (K66, {"slab", "slub"}, "slub"),
    ("linux-6.18-x86_64", {"slub"}, "slub")])
def test_each_kernel_offers_its_own_allocators(profile, offered, default):
    """init/Kconfig "Choose SLAB allocator" of each tree: 2.6.11 mm/slab.c only; 2.6.24 all three,
    default SLUB; 6.6 SLAB_DEPRECATED and SLUB; 6.18 SLUB."""
    assert kmemsim.boot(profile, ram="256M").slab.allocator == default
    for name in ("slab", "slub", "slob"):
        if name in offered:
            k = kmemsim.boot(profile, ram="256M", slab_allocator=name)
            assert k.slab.allocator == name == k.slab_impl.name
            k.check()
        else:
            with pytest.raises(ConfigError, match=f"did not offer CONFIG_{name.upper()}"):
                kmemsim.boot(profile, ram="256M", slab_allocator=name)


def test_the_tunable_is_checked_and_debug_options_belong_to_their_allocator():
    with pytest.raises(ConfigError, match="slab_allocator: expected one of slab, slub, slob"):
        kmemsim.boot(K24, ram="256M", slab_allocator="slub2")
    with pytest.raises(ConfigError, match="debug_slab=True is CONFIG_DEBUG_SLAB.*slab_debug="):
        kmemsim.boot(K24, ram="256M", debug_slab=True)
    with pytest.raises(ConfigError, match="slab_debug= is SLUB's debugging.*debug_slab=True"):
        kmemsim.boot(K24, ram="256M", slab_allocator="slab", slab_debug="FZ")


def test_k_slub_is_slubs_only():
    k = boot(K24)
    with pytest.raises(ConfigError, match="k.slub is SLUB's core; this machine runs slab_allocator=slab"):
        _ = k.slub
    assert kmemsim.boot(K24, ram="256M").slub is not None


def test_slub_keeps_its_fast_paths_and_slab_runs_the_general_ones():
    st = kmemsim.boot(K24, ram="256M").dispatch.state()
    # SLUB's slab fast paths; 2.6's hot and cold page lists always take the general path
    assert {v for e, v in st.items() if e not in ("get_free_pages", "free_pages")} == {"fast"}
    assert st["get_free_pages"] == st["free_pages"] == "general"
    st = boot(K24).dispatch.state()
    assert st["kmalloc"] == st["kfree"] == st["kmem_cache_alloc"] == "general"


# ============================================================================ geometry: the captures
GOLDEN = [(K11, run) for run in ("slab-1g-smp2", "slab-1g-smp1", "slab-160m-smp2", "slab-160m-smp1")] + \
         [(K24, run) for run in ("slab-1g-smp2", "slab-1g-smp1", "slab-160m-smp2", "slab-160m-smp1")] + \
         [(K66, run) for run in ("slab-1g-smp2", "slab-1g-smp1", "slab-160m-smp2")]


@pytest.mark.parametrize(("profile", "run"), GOLDEN)
def test_every_cache_the_model_shares_with_the_capture_has_its_geometry_and_tunables(profile, run):
    """tests/data/classic/<profile>/<run>/slabinfo.txt: objsize, objperslab, pagesperslab,
    limit, batchcount and sharedfactor of every cache both have (the general caches and
    kmem_cache; on 6.6 vmap_area too) are equal."""
    real = slabinfo_rows((DATA / profile / run / "slabinfo.txt").read_text())
    k = kmemsim.boot(profile, ram="1G" if "-1g-" in run else "160M", cpus=2 if "smp2" in run else 1,
                     slab_allocator="slab")
    model = slabinfo_rows(k.proc("slabinfo"))
    common = set(real) & set(model)
    assert len(common) >= 31
    for name in common:
        assert real[name][2:8] == model[name][2:8], name


def test_2_6_24_small_general_caches():
    """2.6.24 SLAB, 2 CPUs (slab-1g-smp2): size-32/64/128 hold 113/59/30 objects per 1-page
    slab with tunables 120 60 8 -- struct slab of 28 bytes and a 4-byte kmem_bufctl_t each."""
    rows = slabinfo_rows(boot(K24, cpus=2).proc("slabinfo"))
    assert [rows[f"size-{n}"][3:8] for n in (32, 64, 128)] == [
        (113, 1, 120, 60, 8), (59, 1, 120, 60, 8), (30, 1, 120, 60, 8)]


SLUB_RUNS = [(K24, run) for run in ("slub-1g-smp2", "slub-1g-smp1", "slub-160m-smp2", "slub-160m-smp1")] + \
            [(K66, run) for run in ("slub-1g-smp2", "slub-1g-smp1", "slub-160m-smp2")]


@pytest.mark.parametrize(("profile", "run"), SLUB_RUNS)
def test_slub_geometry_of_every_cache_of_the_slub_captures(profile, run):
    """tests/data/classic/<profile>/<run>/slabinfo.txt of the SLUB builds: the caches the model
    shares with the capture have its objsize, objperslab and pagesperslab (tunables 0 0 0), and
    every other captured cache, made here with its object size, gets the capture's objects per
    slab and pages per slab.  2.6.24: calculate_order() with DEFAULT_MAX_ORDER 1 and
    DEFAULT_MIN_OBJECTS 4 (feature slub_small_page_orders): kmalloc-512 is 8 objects in one page,
    task_struct (1328) 6 in two, names_cache 2 in two -- 6.18's rule would give 16 in 2, 24 in 8."""
    real = slabinfo_rows((DATA / profile / run / "slabinfo.txt").read_text())
    k = kmemsim.boot(profile, ram="1G" if "-1g-" in run else "160M", cpus=2 if "smp2" in run else 1)
    assert k.slab.allocator == "slub"
    model = slabinfo_rows(k.proc("slabinfo"))
    common = set(real) & set(model)
    assert len(common) >= (11 if profile == K24 else 40)  # 2.6.24: all eleven kmalloc caches
    for name in common:
        assert real[name][2:8] == model[name][2:8], name
    for name, row in real.items():
        c = k.kmem_cache_create("t-" + name, row[2], 0, 0)
        assert (c.size, c.objects, 1 << c.order) == row[2:5], name


def test_2_6_11_small_general_caches_and_sharedfactor_with_one_cpu():
    """2.6.11 (slab-1g-smp1): 119/61/31 per slab -- unsigned short bufctls, a 24-byte struct
    slab -- and sharedfactor 8 with one CPU (#ifdef CONFIG_SMP); 2.6.24 prints 0 there
    (num_possible_cpus() > 1, slab-1g-smp1)."""
    r11 = slabinfo_rows(boot(K11, cpus=1).proc("slabinfo"))
    assert [r11[f"size-{n}"][3] for n in (32, 64, 128)] == [119, 61, 31]
    assert r11["size-32"][7] == 8 and r11["kmem_cache"][2:5] == (160, 25, 1)
    r24 = slabinfo_rows(boot(K24, cpus=1).proc("slabinfo"))
    assert r24["size-32"][7] == 0 and r24["kmem_cache"][2:5] == (128, 30, 1)


def test_the_general_caches_end_where_each_kernel_ends_them():
    """2.6.11 stops at size-131072 and lists ... size-64(DMA) size-64 size-32(DMA) size-32 kmem_cache;
    2.6.24 goes to size-4194304 and makes size-32, size-64 first (INDEX_AC, INDEX_L3): ... size-96
    size-64(DMA) size-32(DMA) size-64 size-32 kmem_cache; 6.6 kmalloc-32 ... kmalloc-8k with
    kmalloc-rcl- and dma-kmalloc- twins, kmalloc-128 first (kmem_cache_node)."""
    def names(k):
        return list(slabinfo_rows(k.proc("slabinfo")))

    n11 = names(boot(K11))
    assert n11[:2] == ["size-131072(DMA)", "size-131072"]
    assert n11[-5:] == ["size-64(DMA)", "size-64", "size-32(DMA)", "size-32", "kmem_cache"]
    n24 = names(boot(K24))
    assert n24[:2] == ["size-4194304(DMA)", "size-4194304"]
    assert n24[-6:] == ["size-96", "size-64(DMA)", "size-32(DMA)", "size-64", "size-32", "kmem_cache"]
    n66 = names(boot(K66))
    assert n66[-4:] == ["kmalloc-64", "kmalloc-32", "kmalloc-128", "kmem_cache"]
    assert "kmalloc-rcl-8k" in n66 and "dma-kmalloc-96" in n66 and "kmalloc-16k" not in n66


@pytest.mark.parametrize("profile", [K11, K24, K66])
def test_the_captures_other_caches_are_reproduced_by_their_size_and_flags(profile):
    """Every other cache of slab-1g-smp2 (task_struct, dentry, biovec-256 ...) gets its captured
    geometry and tunables from kmem_cache_create(name, objsize, 0, flags) for one of
    SLAB_HWCACHE_ALIGN / SLAB_RECLAIM_ACCOUNT or neither: cache_estimate, the on/off-slab and
    OBJFREELIST choices and calculate_slab_order over 40-odd sizes.  (6.6 fs_cache is created
    with its real object size, 56: a 64-byte request would take OBJFREELIST's 64.)"""
    real = slabinfo_rows((DATA / profile / "slab-1g-smp2" / "slabinfo.txt").read_text())
    k = boot(profile, ram="1G", cpus=2)
    sf = k.slab_flags
    have = set(slabinfo_rows(k.proc("slabinfo")))
    done = 0
    for name, row in real.items():
        if name in have:
            continue
        size = 56 if (profile, name) == (K66, "fs_cache") else row[2]
        got = []
        hw, rcl = sf.SLAB_HWCACHE_ALIGN, sf.SLAB_RECLAIM_ACCOUNT
        for flags in (0, hw, rcl, hw | rcl):
            c = k.kmem_cache_create("t-" + name, size, 0, flags)
            got.append((c.buffer_size, c.num, 1 << c.gfporder, c.limit, c.batchcount, c.shared))
            k.kmem_cache_destroy(c)
        assert row[2:8] in got, (name, row[2:8], got)
        done += 1
    assert done >= 40
    k.check()


# ============================================================================ kmalloc
def test_2_6_11_kmalloc_limits():
    """2.6.11 __kmalloc(): the first general cache that fits, NULL above size-131072 (the README of
    linux-2.6.11-i386: select()'s 732 KiB kmalloc fails there without a page allocation); no
    ZERO_SIZE_PTR: kmalloc(0) and kmalloc(1) are size-32 objects."""
    k = boot(K11)
    g = k.gfp.GFP_KERNEL
    assert k.kmalloc(131073, g) == 0
    big = k.kmalloc(131072, g)
    assert big and k.slab_impl.cache_of(big).name == "size-131072"
    for n in (0, 1, 32):
        p = k.kmalloc(n, g)
        assert p > 16 and k.slab_impl.cache_of(p).name == "size-32" and k.ksize(p) == 32
    assert k.slab_impl.cache_of(k.kmalloc(33, g | k.gfp.GFP_DMA)).name == "size-64(DMA)"
    k.kfree(0)
    k.kfree(big)
    k.check()


def test_2_6_24_and_6_6_kmalloc_limits():
    """2.6.24: ZERO_SIZE_PTR for 0, general caches to size-4194304 then NULL; 6.6: kmalloc-8k, then
    the page allocator (__kmalloc_large_node, __GFP_COMP)."""
    k = boot(K24, ram="1G")
    g = k.gfp.GFP_KERNEL
    assert k.kmalloc(0, g) == 16 and k.ksize(16) == 0
    assert k.kmalloc(4194305, g) == 0
    p = k.kmalloc(4194304, g)
    assert p and k.slab_impl.cache_of(p).name == "size-4194304"
    k.kfree(p)
    k6 = boot(K66)
    g6 = k6.gfp.GFP_KERNEL
    q = k6.kmalloc(8192, g6)
    assert k6.slab_impl.cache_of(q).name == "kmalloc-8k"
    r = k6.kmalloc(8193, g6)
    assert k6.slab_impl.cache_of(r) is None and k6.slab.large[r] == 2 and k6.ksize(r) == 16384
    assert k6.ksize(k6.kmalloc(96, g6)) == 96  # kmalloc-96's objects are 128 bytes, ksize is object_size
    k6.kfree(r)
    k6.check()


def test_6_6_kmalloc_kinds():
    """6.6 kmalloc_type() without MEMCG_KMEM: __GFP_DMA -> dma-kmalloc, __GFP_RECLAIMABLE or
    __GFP_ACCOUNT -> kmalloc-rcl (the 6.6 captures have no kmalloc-cg caches)."""
    k = boot(K66)
    b = k.gfp.bits
    name = k.slab_impl.cache_of
    assert name(k.kmalloc(20, k.gfp.GFP_KERNEL | b.dma)).name == "dma-kmalloc-32"
    assert name(k.kmalloc(20, k.gfp.GFP_KERNEL | b.reclaimable)).name == "kmalloc-rcl-32"
    assert name(k.kmalloc(100, k.gfp.GFP_KERNEL | b.account)).name == "kmalloc-rcl-128"


def test_gfp_zero_and_kzalloc():
    """2.6.24 and 6.6 honour __GFP_ZERO in __cache_alloc; 2.6.11 did not (kcalloc memsets), and its
    cache_grow() BUG()s on a flag outside SLAB_LEVEL_MASK such as __GFP_ZERO."""
    for prof in (K24, K66):
        k = boot(prof)
        p = k.kmalloc(100, k.gfp.GFP_KERNEL)
        k.memset(p, 0xEE, 100)
        k.kfree(p)
        assert k.kzalloc(100, k.gfp.GFP_KERNEL) == p and k.read(p, 100) == bytes(100)
    k = boot(K11, on_bug="report")
    p = k.kcalloc(10, 10, k.gfp.GFP_KERNEL)
    assert k.read(p, 100) == bytes(100)
    c = k.kmem_cache_create("z", 40, 0, 0)
    with pytest.raises(Oops):
        k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL | k.gfp.value("__GFP_ZERO"))
    assert "kernel BUG at mm/slab.c:1792!" in k.dmesg()


# ============================================================================ kmem_cache_create
def test_constructor_signatures_follow_the_kernel():
    """2.6.11 ctor(obj, cache, flags) with SLAB_CTOR_CONSTRUCTOR (| SLAB_CTOR_ATOMIC without
    __GFP_WAIT); 2.6.24 ctor(cache, obj); 6.6 ctor(obj).  The constructor runs once per object
    when the slab is made."""
    seen = []
    k = boot(K11)
    c = k.kmem_cache_create("c11", 64, 0, 0, lambda obj, cache, flags: seen.append((cache, flags)))
    k.kmem_cache_alloc(c, k.gfp.GFP_ATOMIC)
    assert len(seen) == c.num and seen[0] == (c, 0x001 | 0x002)
    seen.clear()
    k = boot(K24)
    c = k.kmem_cache_create("c24", 64, 0, 0, lambda cache, obj: seen.append((cache, obj)))
    p = k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    assert len(seen) == c.num and seen[0][0] is c and p in [o for _, o in seen]
    seen.clear()
    k = boot(K66)
    c = k.kmem_cache_create("c66", 64, 0, 0, seen.append)
    p = k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    assert len(seen) == c.num and p in seen


def test_destructors_exist_only_before_2_6_23():
    """2.6.11 kmem_cache_create(name, size, align, flags, ctor, dtor): the dtor runs on each object
    before its slab is freed, and a dtor without a ctor is the "Early error" BUG; later kernels
    have no dtor argument."""
    gone = []
    k = boot(K11, on_bug="report")
    c = k.kmem_cache_create("d11", 64, 0, 0, lambda o, c, f: None, lambda o, c, f: gone.append(o))
    p = k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    k.kmem_cache_free(c, p)
    assert k.kmem_cache_shrink(c) == 0
    assert len(gone) == c.num
    k.kmem_cache_destroy(c)
    with pytest.raises(Oops):
        k.kmem_cache_create("d11b", 64, 0, 0, None, lambda o, c, f: None)
    assert "kmem_cache_create: Early error in slab d11b" in k.dmesg()
    for prof in (K24, K66):
        with pytest.raises(UsageError, match="slab destructors went away in 2.6.23"):
            boot(prof).kmem_cache_create("d", 64, 0, 0, None, lambda o: None)


@pytest.mark.parametrize("profile", [K11, K24, K66])
def test_a_constructor_that_raises_leaves_the_machine_as_it_was(profile):
    """Chosen and documented (mm/slab.py cache_grow): the new slab's pages, management and colour
    go back, and the caller gets a UsageError naming the cache, chained to the exception (as SLUB,
    docs/api-names.md "Constructors"); k.check() is clean, free pages unchanged."""
    k = boot(profile)
    calls = []
    fail = [True]

    def ctor(*args):
        calls.append(args)
        if len(calls) == 3 and fail[0]:
            raise RuntimeError("ctor failed")

    c = k.kmem_cache_create("raiser", 100, 0, 0, ctor)
    before = k.nr_free_pages()
    with pytest.raises(UsageError, match=r"kmem_cache_alloc\(raiser\): the constructor ctor raised "
                                         r"RuntimeError\('ctor failed'\); the new slab was freed") as info:
        k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    assert isinstance(info.value.__cause__, RuntimeError)
    assert k.nr_free_pages() == before and c.node.colour_next == 0
    k.check()
    fail[0] = False
    assert k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    k.check()


def test_duplicate_names():
    """2.6.11: "kmem_cache_create: duplicate cache x" then BUG(); 2.6.24: the line, a stack dump,
    NULL; 6.6 (without DEBUG_VM) allows it."""
    k = boot(K11, on_bug="report")
    k.kmem_cache_create("dup", 40, 0, 0)
    with pytest.raises(Oops):
        k.kmem_cache_create("dup", 40, 0, 0)
    assert "kmem_cache_create: duplicate cache dup" in k.dmesg() and "kernel BUG at mm/slab.c:1472!" in k.dmesg()
    k = boot(K24)
    k.kmem_cache_create("dup", 40, 0, 0)
    assert k.kmem_cache_create("dup", 40, 0, 0) is None
    assert "kmem_cache_create: duplicate cache dup" in k.dmesg()
    k = boot(K66)
    assert k.kmem_cache_create("dup", 40, 0, 0) is not k.kmem_cache_create("dup", 40, 0, 0)


def test_off_slab_management_and_colouring():
    """2.6.24 size-512 keeps struct slab and its bufctls off the slab (8*4 + 28 = 60 bytes, an
    object of size-64); a cache with left-over space colours successive slabs by colour_off."""
    k = boot(K24)
    s512 = k.find_cache("size-512")
    assert s512.off_slab and s512.slabp_cache.name == "size-64" and s512.slab_size == 60
    c = k.kmem_cache_create("colour", 200, 0, k.slab_flags.SLAB_HWCACHE_ALIGN)
    assert c.colour_off == 32 and c.colour >= 2
    starts = []
    for _ in range(3):
        p = k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
        objs = [p] + [k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL) for _ in range(c.num - 1)]
        slab = k.slab_impl.slab_of[(min(objs) - k.layout.page_offset) >> 12]
        starts.append(slab.colouroff - c.slab_size)
    assert starts[:2] == [0, 32]
    k.check()


# ============================================================================ reports
@pytest.mark.parametrize(("profile", "text"), [
    (K11, "slab error in kmem_cache_destroy(): cache `busy': Can't free all objects"),
    (K24, "slab error in kmem_cache_destroy(): cache `busy': Can't free all objects"),
    (K66, "kmem_cache_destroy busy: Slab cache still has objects when called from")])
def test_destroying_a_cache_with_objects(profile, text):
    """2.6.11/2.6.24 mm/slab.c kmem_cache_destroy(): slab_error and the cache back on the chain;
    6.6 mm/slab_common.c: the WARN, the cache kept.  Either way it still works."""
    k = boot(profile)
    c = k.kmem_cache_create("busy", 40, 0, 0)
    p = k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    k.kmem_cache_destroy(c)
    assert text in k.dmesg()
    assert c in k.slab_impl.caches
    k.kmem_cache_free(c, p)
    k.kmem_cache_destroy(c)
    # 6.6 left the refcount at 0 after the failed destroy, so this one only takes it to -1: the
    # cache is never freed (mm/slab_common.c kmem_cache_destroy(): "if (s->refcount) goto out")
    assert (c in k.slab_impl.caches) == (profile == K66)
    k.check()


def test_debug_red_zone_and_poison_reports():
    """CONFIG_DEBUG_SLAB, 2.6.24: a write past the object is found at free
    ("verify_redzone_free(): ... memory outside object was overwritten" with both red zones), a
    write after free at the next allocation ("Slab corruption: dbg start=..., len=40" and the
    hex line showing the byte); the 2.6.24 RED_ACTIVE/RED_INACTIVE values."""
    k = boot(K24, debug_slab=True, on_bug="report")
    c = k.kmem_cache_create("dbg", 40, 0, 0)
    g = k.gfp.GFP_KERNEL
    p = k.kmem_cache_alloc(c, g)
    assert k.read(p, 40) == b"\x5a" * 39 + b"\xa5"  # POISON_INUSE ... POISON_END
    k.write(p + 40, b"X")
    k.kmem_cache_free(c, p)
    log = k.dmesg()
    assert "slab error in verify_redzone_free(): cache `dbg': memory outside object was overwritten" in log
    assert f"{p - 8:08x}: redzone 1:0xd84156c5635688c0, redzone 2:0xd84156c563568858." in log
    assert k.read(p, 40) == b"\x6b" * 39 + b"\xa5"  # POISON_FREE ... POISON_END
    k.write(p + 5, b"\x00")
    q = k.kmem_cache_alloc(c, g)
    assert q == p
    log = k.dmesg()
    assert f"Slab corruption: dbg start={p:08x}, len=40" in log
    assert "000: 6b 6b 6b 6b 6b 00 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b" in log
    assert "Redzone: 0x9f911029d74e35b/0x9f911029d74e35b." in log
    k.check()


@pytest.mark.parametrize(("profile", "line"), [(K24, 2724), (K66, 2507)])
def test_debug_double_free(profile, line):
    """A double free with DEBUG: the second free finds both red zones inactive ("double free
    detected"), and when the array drains free_block()/slab_put_obj() BUG()s with "slab: double
    free detected in cache 'x', objp ..." (2.6.24 mm/slab.c:2724, 6.6 mm/slab.c:2507)."""
    k = boot(profile, debug_slab=True, on_bug="report")
    c = k.kmem_cache_create("df", 40, 0, 0)
    p = k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    k.kmem_cache_free(c, p)
    k.kmem_cache_free(c, p)
    assert "slab error in verify_redzone_free(): cache `df': double free detected" in k.dmesg()
    with pytest.raises(Oops):
        k.kmem_cache_shrink(c)
    assert "slab: double free detected in cache 'df', objp" in k.dmesg()
    assert f"kernel BUG at mm/slab.c:{line}!" in k.dmesg()


def test_double_free_without_debug_hands_the_object_out_twice():
    """Without DEBUG SLAB checks nothing on free (2.6.24 __cache_free): the object sits twice in
    the CPU array and the next two allocations return it both times."""
    k = boot(K24)
    c = k.kmem_cache_create("df", 40, 0, 0)
    p = k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL)
    k.kmem_cache_free(c, p)
    k.kmem_cache_free(c, p)
    with pytest.raises(InvariantError, match="twice in the arrays"):
        k.check()
    assert k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL) == k.kmem_cache_alloc(c, k.gfp.GFP_KERNEL) == p
    assert "" == "".join(line for line in k.dmesg().splitlines() if "slab" in line and "error" in line)


def test_free_into_the_wrong_cache():
    """2.6.24 DEBUG: BUG_ON(virt_to_cache(objp) != cachep) (mm/slab.c:2884); 2.6.11 DEBUG: "mismatch in
    kmem_cache_free" and a WARN, the object kept by the wrong cache (k.check() says so);
    without DEBUG the wrong cache takes it silently."""
    k = boot(K24, debug_slab=True)
    a, b = k.kmem_cache_create("a", 40, 0, 0), k.kmem_cache_create("b", 40, 0, 0)
    with pytest.raises(Oops):
        k.kmem_cache_free(b, k.kmem_cache_alloc(a, k.gfp.GFP_KERNEL))
    assert "kernel BUG at mm/slab.c:2884!" in k.dmesg()
    k = boot(K11, debug_slab=True)
    a, b = k.kmem_cache_create("a", 40, 0, 0), k.kmem_cache_create("b", 40, 0, 0)
    k.kmem_cache_free(b, k.kmem_cache_alloc(a, k.gfp.GFP_KERNEL))
    log = k.dmesg()
    assert "mismatch in kmem_cache_free: expected cache" in log and " is a." in log and " is b." in log
    assert "Badness in cache_free_debugcheck at mm/slab.c:1900" in log
    with pytest.raises(InvariantError, match="b: array object .* is not on a slab of the cache"):
        k.check()
    k = boot(K24)
    a, b = k.kmem_cache_create("a", 40, 0, 0), k.kmem_cache_create("b", 40, 0, 0)
    p = k.kmem_cache_alloc(a, k.gfp.GFP_KERNEL)
    k.kmem_cache_free(b, p)
    assert k.kmem_cache_alloc(b, k.gfp.GFP_KERNEL) == p  # b hands out a's object


def test_kfree_of_something_no_slab_owns():
    """2.6.24 kfree() -> virt_to_cache() -> page_get_cache(): BUG_ON(!PageSlab(page)) (mm/slab.c:591)."""
    k = boot(K24)
    page = k.get_free_page(k.gfp.GFP_KERNEL)
    with pytest.raises(Oops):
        k.kfree(page)
    assert "kernel BUG at mm/slab.c:591!" in k.dmesg()


def test_debug_statistics_columns():
    """STATS with CONFIG_DEBUG_SLAB: the "(statistics)" header; 2.6.24's globalstat format string
    keeps four tabs of its continuation line (mm/slab.c:4230-4231); limits capped at 32."""
    k = boot(K24, debug_slab=True)
    text = k.proc("slabinfo")
    assert text.startswith("slabinfo - version: 2.1 (statistics)\n")
    assert "<remotefrees> <alienoverflow> : cpustat <allochit> <allocmiss> <freehit> <freemiss>\n" in text
    line = next(ln for ln in text.splitlines() if ln.startswith("size-32 "))
    assert " : tunables   32   16    8 : " in line and " \t\t\t\t" in line and " : cpustat " in line
    k11 = boot(K11, debug_slab=True)
    assert "<maxfreeable> <freelimit> <nodeallocs> : cpustat" in k11.proc("slabinfo")


# ============================================================================ /proc/slabinfo writes
def test_tuning_through_proc_slabinfo():
    """slabinfo_write(): "name limit batchcount shared" re-tunes a cache (do_tune_cpucache)."""
    k = boot(K24, cpus=2)
    c = k.kmem_cache_create("tune", 100, 0, 0)
    k.procfs.write("slabinfo", "tune 32 8 2")
    assert (c.limit, c.batchcount, c.shared) == (32, 8, 2)
    row = slabinfo_rows(k.proc("slabinfo"))["tune"]
    assert row[5:8] == (32, 8, 2)
    assert c.node.shared is not None and c.node.shared.limit == 16
    k.check()


def test_proc_slabinfo_write_errors_by_version():
    """2.6.11 returns -EINVAL for bad tunables; 2.6.18+ (2.6.24, 6.6) accept them and change
    nothing (res = 0); an unknown cache or a malformed line is -EINVAL everywhere."""
    k11 = boot(K11)
    c11 = k11.kmem_cache_create("tune", 100, 0, 0)
    with pytest.raises(UsageError, match="-EINVAL"):
        k11.procfs.write("slabinfo", "tune 10 20 0")
    assert c11.limit == 120
    for prof in (K24, K66):
        k = boot(prof)
        c = k.kmem_cache_create("tune", 100, 0, 0)
        k.procfs.write("slabinfo", "tune 10 20 0")
        assert (c.limit, c.batchcount) == (120, 60)
        for bad in ("nosuch 10 5 0", "tune", "tune 10 x 0", "tune 10 5"):
            with pytest.raises(UsageError, match="-EINVAL"):
                k.procfs.write("slabinfo", bad)
    assert "slabinfo" not in kmemsim.boot(K24, ram="256M", slab_allocator="slob").proc()


# ============================================================================ cache_reap
def test_cache_reap_drains_idle_arrays_and_frees_empty_slabs():
    """cache_reap() every 2 s on each CPU (a deferrable timer here): an untouched array gives back
    (limit + 4) / 5 objects a pass; after REAPTIMEOUT_LIST3 the empty slabs beyond what
    free_touched protects go back to the page allocator."""
    k = boot(K24, cpus=2)
    c = k.kmem_cache_create("reap", 200, 0, 0)
    g = k.gfp.GFP_KERNEL
    objs = [k.kmem_cache_alloc(c, g) for _ in range(300)]
    for p in objs:
        k.kmem_cache_free(c, p)
    ac = c.array[0]
    full = ac.avail
    n = c.node
    slabs = len(n.slabs_full) + len(n.slabs_partial) + len(n.slabs_free)
    assert full > 0 and c.node.shared.avail > 0
    k.run(ms=5000)  # the first pass clears "touched", each later one drains a fifth of the limit
    drained = full - ac.avail
    assert drained > 0 and drained % ((ac.limit + 4) // 5) == 0
    k.run(ms=120_000)
    assert ac.avail == 0 and n.shared.avail == 0
    assert len(n.slabs_full) + len(n.slabs_partial) + len(n.slabs_free) < slabs // 2
    k.check()


def test_reap_timers_never_keep_the_machine_awake():
    """The reap timers are deferrable: k.run() returns when nothing else is pending."""
    k = boot(K24)
    t0 = k.jiffies
    k.run()
    assert k.jiffies == t0
