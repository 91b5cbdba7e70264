"""The classic profiles (issue 14, part B): linux-2.6.11-i386, linux-2.6.24-i386 (alias
linux-2.6-i386) and linux-6.6-x86_64 -- names, flags and features of each kernel.

Golden values are read from each kernel's source under /work/classic-build (cited per test)."""
from __future__ import annotations

import pytest

import kmemsim
from kmemsim import gfp
from kmemsim.errors import ConfigError, UsageError
from kmemsim.features import Features
from kmemsim.profiles import PROFILE_ALIASES, canonical_name, get_profile, profile_names
from kmemsim.slab_flags import SLAB_FLAG_SETS

CLASSIC = ("linux-2.6.11-i386", "linux-2.6.24-i386", "linux-6.6-x86_64")


def test_profiles_and_the_alias():
    assert set(CLASSIC) <= set(kmemsim.PROFILES)
    assert PROFILE_ALIASES == {"linux-2.6-i386": "linux-2.6.24-i386"}
    assert get_profile("linux-2.6-i386") is kmemsim.PROFILES["linux-2.6.24-i386"]
    assert canonical_name("linux-2.6-i386") == "linux-2.6.24-i386"
    assert "linux-2.6-i386" in profile_names() and "linux-2.6-i386" not in kmemsim.PROFILES
    k = kmemsim.boot("linux-2.6-i386", ram="64M")
    assert k.profile.name == "linux-2.6.24-i386" and k.profile.kernel_version == "2.6.24"
    with pytest.raises(ConfigError, match=r"unknown profile 'linux-2.6'.*linux-2.6-i386 \(= linux-2.6.24-i386\)"):
        kmemsim.boot("linux-2.6")


@pytest.mark.parametrize("name", CLASSIC)
def test_each_classic_profile_boots_clean(name):
    k = kmemsim.boot(name)
    k.check()
    assert k.gfp is gfp.for_kernel(k.profile.kernel_version)
    assert k.slab_flags is SLAB_FLAG_SETS[k.profile.kernel_version]
    assert k.dmesg().splitlines()[0].endswith(f"Linux version {k.profile.release} (kmemsim@kmemsim) "
                                              f"({k.profile.compiler}) {k.profile.uts_version}")


def test_2_6_11_has_what_2_6_11_had():
    """2.6.11: HZ fixed at 1000 (arch/i386 has no HZ option in 2.6.11), PAGE_OFFSET fixed at
    0xC0000000 (include/asm-i386/page.h:125), three zones (include/linux/mmzone.h:65-69)."""
    k = kmemsim.boot("linux-2.6.11-i386", ram="160M")
    assert k.HZ == 1000 and k.layout.page_offset == 0xC0000000
    assert [z.name for z in k.page_alloc.zones] == ["DMA", "Normal", "HighMem"]
    with pytest.raises(ConfigError, match="'vmsplit'.*applies to linux-2.6.24-i386"):
        kmemsim.boot("linux-2.6.11-i386", vmsplit="2G")
    with pytest.raises(ConfigError, match="'fail_page_alloc'"):
        kmemsim.boot("linux-2.6.11-i386", fail_page_alloc="1,100,0,1")
    f = k.features
    assert not f.migratetypes and not f.zone_movable and not f.proc_zoneinfo and f.pcp_cold_list
    assert f.kmem_cache_dtor and not f.sched_bug_prefix and not f.fail_page_alloc


def test_6_6_has_no_zone_device_and_no_autotune():
    """6.6 as the captures' config builds it: zones DMA, DMA32, Normal, Movable (their
    /proc/zoneinfo), lowmem_reserve_ratio 256 256 32 0 (their sys.vm.lowmem_reserve_ratio)."""
    k = kmemsim.boot("linux-6.6-x86_64")
    assert [z.name for z in k.page_alloc.zones] == ["DMA", "DMA32", "Normal", "Movable"]
    assert k.tunables["lowmem_reserve_ratio"] == [256, 256, 32, 0]
    assert not k.features.pcp_high_autotune and not k.features.zoneinfo_promo and k.features.migratetypes
    assert k.tunables["slab_nomerge"] is True  # SLAB_MERGE_DEFAULT off in the captures' config


# ---------------------------------------------------------------------------- GFP flags


def test_gfp_2_6_11_values():
    """2.6.11 include/linux/gfp.h lines 14-59."""
    g = gfp.GFP_2_6_11
    assert (g.GFP_KERNEL, g.GFP_ATOMIC, g.GFP_NOIO, g.GFP_NOFS, g.GFP_USER, g.GFP_HIGHUSER) == (
        0xD0, 0x20, 0x10, 0x50, 0xD0, 0xD2)
    assert (g.value("__GFP_COLD"), g.value("__GFP_REPEAT"), g.value("__GFP_NOFAIL"), g.value("__GFP_NORETRY"),
            g.value("__GFP_NO_GROW"), g.value("__GFP_COMP"), g.value("__GFP_ZERO")) == (
        0x100, 0x400, 0x800, 0x1000, 0x2000, 0x4000, 0x8000)
    assert g.bits_shift == 16 and g.bits.cold == 0x100 and g.bits.direct_reclaim == 0x10
    # the OOM report of tests/data/classic/linux-2.6.11-i386/slab-1g-smp2-oom: gfp_mask=0x80d2
    assert g.format(0x80D2) == "GFP_HIGHUSER|__GFP_ZERO"
    assert g.zone_name(g.GFP_KERNEL) == "Normal" and g.zone_name(0x03) == "DMA"
    assert g.zone_name(g.GFP_HIGHUSER) == "HighMem"


def test_gfp_translations_into_2_6_11():
    g = gfp.GFP_2_6_11
    assert g.mask(gfp.GFP_KERNEL | gfp.__GFP_RETRY_MAYFAIL) == 0xD0 | 0x400
    assert g.mask(gfp.GFP_NOWAIT) == 0 and g.mask(gfp.__GFP_KSWAPD_RECLAIM) == 0
    assert g.mask(gfp.GFP_HIGHUSER_MOVABLE) == 0xD2 and g.mask(gfp.GFP_TEMPORARY) == 0xD0
    with pytest.raises(UsageError, match="__GFP_NOMEMALLOC is not a Linux 2.6.11 GFP flag"):
        g.mask(gfp.__GFP_NOMEMALLOC)
    with pytest.raises(UsageError, match="__GFP_ACCOUNT is not a Linux 2.6.11 GFP flag: added after 2.6.24"):
        g.mask(gfp.__GFP_ACCOUNT)
    with pytest.raises(UsageError, match="__GFP_NO_GROW is not a Linux 6.18 GFP flag: a slab-internal flag"):
        gfp.GFP_6_18.mask(gfp.__GFP_NO_GROW)
    with pytest.raises(UsageError, match="not GFP flags|0x10000: unknown"):
        kmemsim.boot("linux-2.6.11-i386", ram="64M").get_free_pages(0x10000)


def test_gfp_6_6_differs_from_6_18():
    """6.6 include/linux/gfp_types.h: GFP_NOWAIT is __GFP_KSWAPD_RECLAIM alone (line 330),
    __GFP_BITS_SHIFT 26 (line 254), no __GFP_NO_OBJ_EXT; mmflags.h prints in its own order."""
    g, new = gfp.GFP_6_6, gfp.GFP_6_18
    assert g.GFP_NOWAIT == 0x800 and new.GFP_NOWAIT == 0x2800
    assert g.bits_shift == 26 and g.bits.no_obj_ext == 0
    assert g.GFP_KERNEL == new.GFP_KERNEL == 0xCC0
    # the OOM report of tests/data/classic/linux-6.6-x86_64/slub-1g-smp2-oom
    assert g.format(0x140DCA) == "GFP_HIGHUSER_MOVABLE|__GFP_COMP|__GFP_ZERO"
    with pytest.raises(UsageError, match="__GFP_NO_OBJ_EXT is not a Linux 6.6 GFP flag: added in 6.10"):
        g.mask(gfp.__GFP_NO_OBJ_EXT)
    # 6.6's table has __GFP_HIGH before __GFP_NOWARN and __GFP_RECLAIM after __GFP_WRITE
    assert g.format(0x1000 | 0x20) == "__GFP_HIGH|__GFP_WRITE"


# ---------------------------------------------------------------------------- SLAB_* flags


def test_slab_flags_have_each_kernels_values():
    """include/linux/slab.h: 2.6.11 lines 36-49, 2.6.24 lines 21-34, 6.6 lines 30-165."""
    s11, s24, s66 = (SLAB_FLAG_SETS[v] for v in ("2.6.11", "2.6.24", "6.6"))
    assert s11.SLAB_HWCACHE_ALIGN == s24.SLAB_HWCACHE_ALIGN == s66.SLAB_HWCACHE_ALIGN == 0x2000
    assert s11.SLAB_MUST_HWCACHE_ALIGN == 0x8000 and s11.SLAB_NO_REAP == 0x1000
    assert s24.SLAB_DESTROY_BY_RCU == 0x80000 and s66.SLAB_TYPESAFE_BY_RCU == 0x80000
    assert s24.mask(kmemsim.SLAB_TYPESAFE_BY_RCU) == 0x80000
    with pytest.raises(UsageError, match="SLAB_ACCOUNT is not a Linux 2.6.24 SLAB flag"):
        s24.mask(kmemsim.SLAB_ACCOUNT)


@pytest.mark.parametrize("name", ["linux-2.6.11-i386", "linux-2.6.24-i386", "linux-6.6-x86_64"])
def test_a_kernels_slab_flags_mean_the_same_in_the_slub_model(name):
    """kmem_cache_create() takes the kernel's own bits; the SLUB model works in 6.18's."""
    k = kmemsim.boot(name, ram="256M")
    c = k.kmem_cache_create("kern_c", 72, 0, k.slab_flags.SLAB_HWCACHE_ALIGN | k.slab_flags.SLAB_PANIC)
    d = k.kmem_cache_create("kern_d", 72, 0)
    e = k.kmem_cache_create("kern_e", 72, 0, kmemsim.SLAB_HWCACHE_ALIGN)
    assert c is not None and d is not None and e is not None
    assert c.size > d.size and c.size == e.size  # aligned to the cache line, as the symbolic flag does


def test_2_6_11_runs_slab():
    """2.6.11 had only SLAB (mm/slab.c), whose general caches are size-32 ... size-131072."""
    k = kmemsim.boot("linux-2.6.11-i386")
    assert k.slab.allocator == "slab"
    assert "\nsize-131072 " in k.proc("slabinfo") and "size-262144" not in k.proc("slabinfo")


def test_features_of_the_classic_kernels():
    f11, f24, f66 = Features("2.6.11"), Features("2.6.24"), Features("6.6")
    assert f11.gfp_cold and f24.gfp_cold and not f66.gfp_cold
    assert not f11.zone_batch_pow2 and f24.zone_batch_pow2
    assert not f11.watermark_share_gaps and f24.watermark_share_gaps
    assert f66.pcp_high_from_wmark and not f66.pcp_high_autotune and not f66.zoneinfo_promo


# ---------------------------------------------------------------------------- misuse: what each kernel did
def _log(k, mark):
    return k.log.dmesg(since=mark)


def test_kmalloc_with_gfp_highmem_on_each_kernel():
    """kmalloc(size, GFP_KERNEL|__GFP_HIGHMEM) when the cache must grow: 2.6.11's cache_grow()
    BUG()s (mm/slab.c:1791-1792: flags outside SLAB_DMA|SLAB_LEVEL_MASK|SLAB_NO_GROW), 'invalid
    operand' (arch/i386/kernel/traps.c:285-286, 449); 2.6.24's SLUB new_slab() BUG_ON(flags &
    GFP_SLAB_BUG_MASK) (mm/slub.c:1086, include/linux/gfp.h:97), 'invalid opcode'; 6.6 and 6.18
    fix the flags up with kmalloc_fix_flags()'s 'Unexpected gfp' and go on."""
    from kmemsim.errors import Oops

    # 2.6.11: size-8192 grows; 2.6.24 SLUB: kmalloc-2048 (above PAGE_SIZE / 2 kmalloc goes to
    # __get_free_pages(), which has no such check) until its slabs are full and it grows
    for name, size, where, die in (("linux-2.6.11-i386", 5000, "mm/slab.c:1792", "invalid operand"),
                                   ("linux-2.6.24-i386", 2048, "mm/slub.c:1086", "invalid opcode")):
        k = kmemsim.boot(name, ram="160M", on_bug="report")
        mark = len(k.log)
        with pytest.raises(Oops):
            for _ in range(64):
                k.kmalloc(size, k.gfp.GFP_KERNEL | k.gfp.__GFP_HIGHMEM)
        text = _log(k, mark)
        assert f"------------[ cut here ]------------\n[    1.000000] kernel BUG at {where}!" in text
        assert f"{die}: 0000 [#1] SMP" in text
    k = kmemsim.boot("linux-6.6-x86_64", ram="160M", on_bug="report")
    p = k.kmalloc(5000, k.gfp.GFP_KERNEL | k.gfp.__GFP_HIGHMEM)
    fixed = "Unexpected gfp: 0x2 (__GFP_HIGHMEM). Fixing up to gfp: 0xcc0 (GFP_KERNEL). Fix your code!"
    assert p and fixed in k.dmesg()
    k.kfree(p)
    k.check()


def test_order_above_max_order_on_each_kernel():
    """2.6.11 and 2.6.24 alloc_pages_node(): 'if (unlikely(order >= MAX_ORDER)) return NULL;'
    silently (include/linux/gfp.h); 6.6 __alloc_pages() WARN_ON_ONCE_GFP(order > MAX_ORDER)
    (mm/page_alloc.c:4410), once, and NULL."""
    for name in ("linux-2.6.11-i386", "linux-2.6.24-i386"):
        k = kmemsim.boot(name, ram="160M", on_bug="report")
        mark = len(k.log)
        assert k.get_free_pages(k.gfp.GFP_KERNEL, 11) == 0 and k.alloc_pages(k.gfp.GFP_KERNEL, 12) is None
        assert _log(k, mark) == ""
        k.check()
    k = kmemsim.boot("linux-6.6-x86_64", ram="160M", on_bug="report")
    assert k.get_free_pages(k.gfp.GFP_KERNEL, 11) == 0
    assert "WARNING: CPU: 0 PID: 1000 at " in k.dmesg()


def test_gfp_kernel_in_atomic_context_on_each_kernel():
    """might_sleep() where each kernel had it: 2.6.11 'Debug: sleeping function called from
    invalid context at mm/slab.c:2082' (kmalloc: cache_alloc_debugcheck_before()) and
    mm/page_alloc.c:709 (__alloc_pages), 'in_atomic():1, irqs_disabled():0', the bare trace;
    2.6.24 'BUG: ...' at mm/page_alloc.c:1467 only (its SLUB's fast path had no check), with
    dump_stack()'s 'Pid:' header; 6.6 at include/linux/sched/mm.h:306 (might_alloc())."""
    k = kmemsim.boot("linux-2.6.11-i386", ram="160M", on_bug="report")
    with k.atomic():
        p = k.kmalloc(64, k.gfp.GFP_KERNEL)
    text = k.dmesg()
    assert "Debug: sleeping function called from invalid context at mm/slab.c:2082\n" in text
    assert "in_atomic():1, irqs_disabled():0" in text and "Pid:" not in text and "WARNING" not in text
    k.kfree(p)
    k = kmemsim.boot("linux-2.6.11-i386", ram="160M", on_bug="report")  # the report is once a second
    with k.atomic():
        q = k.get_free_pages(k.gfp.GFP_KERNEL, 0)
    assert "Debug: sleeping function called from invalid context at mm/page_alloc.c:709\n" in k.dmesg()
    k.free_pages(q, 0)
    k = kmemsim.boot("linux-2.6.24-i386", ram="160M", on_bug="report")
    k.kfree(k.kmalloc(64, k.gfp.GFP_KERNEL))  # the CPU slab of kmalloc-64 now has free objects
    mark = len(k.log)
    with k.atomic():
        p = k.kmalloc(64, k.gfp.GFP_KERNEL)
    assert _log(k, mark) == ""  # 2.6.24 mm/slub.c slab_alloc(): no might_sleep
    with k.atomic():
        q = k.get_free_pages(k.gfp.GFP_KERNEL, 0)
    text = _log(k, mark)
    assert text.startswith("[    1.000000] BUG: sleeping function called from invalid context at "
                           "mm/page_alloc.c:1467\n")
    assert "Pid: 1000, comm: insmod Not tainted 2.6.24-kmemsim #1" in text
    k = kmemsim.boot("linux-6.6-x86_64", ram="160M", on_bug="report")
    with k.atomic():
        k.kmalloc(64, k.gfp.GFP_KERNEL)
    assert "BUG: sleeping function called from invalid context at include/linux/sched/mm.h:306" in k.dmesg()


def test_warn_on_has_each_kernels_form():
    """WARN_ON() (include/asm-generic/bug.h): 2.6.11 'Badness in f at file:line' (line 26),
    2.6.24 'WARNING: at file:line f()' (line 35), both followed by dump_stack() and no taint;
    6.x the '[ cut here ]' report with taint W."""
    forms = {"linux-2.6.11-i386": "Badness in my_func at drivers/my.c:12\n",
             "linux-2.6.24-i386": "WARNING: at drivers/my.c:12 my_func()\n",
             "linux-6.6-x86_64": "WARNING: CPU: 0 PID: 1000 at drivers/my.c:12 my_func+0x0/0x0\n"}
    for name, line in forms.items():
        k = kmemsim.boot(name, ram="160M")
        k.report.warn("drivers/my.c:12 my_func+0x0/0x0")
        assert line in k.dmesg()
        assert ("W" in k.taint) == name.startswith("linux-6")
