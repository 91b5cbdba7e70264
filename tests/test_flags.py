"""Flags belong to a kernel: k.gfp and k.slab_flags, symbolic names, plain ints as the machine's bits."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import kmemsim
from kmemsim import gfp
from kmemsim.errors import KernelBug, UsageError
from kmemsim.flags import Flags

KERNEL_REPORT = "BUG: sleeping function called from invalid context"


@pytest.fixture(scope="module")
def k618():
    return kmemsim.boot()


@pytest.fixture(scope="module")
def k26():
    return kmemsim.boot("linux-2.6-i386", ram="160M")


def test_every_machine_has_its_kernels_flags(k618, k26):
    assert k618.gfp is gfp.GFP_6_18 and k26.gfp is gfp.GFP_2_6
    assert (k618.gfp.GFP_KERNEL, k26.gfp.GFP_KERNEL) == (0xCC0, 0xD0)
    assert (k618.gfp.__GFP_ZERO, k26.gfp.__GFP_ZERO) == (0x100, 0x8000)
    assert k26.gfp.bits.direct_reclaim == k26.gfp.value("__GFP_WAIT") == 0x10
    assert k26.gfp.bits.kswapd_reclaim == 0  # 2.6.24 woke kswapd for every allocation
    assert k618.gfp.format(k618.gfp.GFP_KERNEL | k618.gfp.__GFP_ZERO) == "GFP_KERNEL|__GFP_ZERO"
    assert k26.gfp.format(k26.gfp.GFP_KERNEL | k26.gfp.__GFP_ZERO) == "GFP_KERNEL|__GFP_ZERO"


def test_a_symbolic_flag_means_the_same_on_every_kernel(k618, k26):
    f = gfp.GFP_KERNEL | gfp.__GFP_ZERO
    assert isinstance(f, Flags) and repr(f) == "GFP_KERNEL|__GFP_ZERO"
    assert k618.gfp.mask(f) == 0xDC0 and k26.gfp.mask(f) == 0x80D0
    assert k26.gfp.mask(gfp.GFP_KERNEL & ~gfp.__GFP_IO) == k26.gfp.GFP_KERNEL & ~k26.gfp.__GFP_IO
    # 6.18 names that 2.6.24 spelled otherwise, translated by the kernel's own renames
    assert k26.gfp.mask(gfp.__GFP_RECLAIM | gfp.__GFP_IO | gfp.__GFP_FS) == k26.gfp.GFP_KERNEL
    assert k26.gfp.mask(gfp.__GFP_RETRY_MAYFAIL) == k26.gfp.value("__GFP_REPEAT")
    assert k26.gfp.mask(gfp.__GFP_KSWAPD_RECLAIM) == 0
    # and the other way round
    assert k618.gfp.mask(gfp.__GFP_WAIT | gfp.__GFP_IO | gfp.__GFP_FS) == k618.gfp.GFP_KERNEL
    assert k618.gfp.mask(gfp.GFP_TEMPORARY) == k618.gfp.GFP_KERNEL | k618.gfp.__GFP_RECLAIMABLE


def test_a_name_with_no_counterpart_is_refused_naming_the_kernel(k618, k26):
    with pytest.raises(UsageError, match=r"__GFP_ACCOUNT is not a Linux 2\.6\.24 GFP flag"):
        k26.kmalloc(64, gfp.GFP_KERNEL | gfp.__GFP_ACCOUNT)
    with pytest.raises(UsageError, match=r"__GFP_COLD is not a Linux 6\.18 GFP flag: removed in 4\.15"):
        k618.get_free_pages(gfp.GFP_KERNEL | gfp.__GFP_COLD, 0)
    k618.check()
    k26.check()


@pytest.mark.parametrize("spelling", ["machine int", "symbolic", "string", "symbolic parts"])
def test_gfp_kernel_in_a_hardirq_is_reported_on_2_6_whichever_way_it_is_spelled(spelling):
    k = kmemsim.boot("linux-2.6-i386", ram="64M")
    mask = {
        "machine int": k.gfp.GFP_KERNEL,
        "symbolic": gfp.GFP_KERNEL,
        "string": "GFP_KERNEL",
        "symbolic parts": gfp.__GFP_DIRECT_RECLAIM | gfp.__GFP_KSWAPD_RECLAIM | gfp.__GFP_IO | gfp.__GFP_FS,
    }[spelling]
    with k.hardirq():
        with pytest.raises(KernelBug) as e:
            k.kmalloc(32, mask)
    assert e.value.kind == "sleeping_in_atomic" and KERNEL_REPORT in k.dmesg()
    k.check()


def test_a_plain_int_is_the_machines_own_bits(k26):
    """0xcc0 is 6.18's GFP_KERNEL; on 2.6.24 those bits are __GFP_IO|__GFP_FS|__GFP_REPEAT|__GFP_NOFAIL:
    no __GFP_WAIT, so nothing may sleep and a hardirq does not object.  An int is never translated."""
    assert k26.gfp.format(0xCC0) == "__GFP_IO|__GFP_FS|__GFP_REPEAT|__GFP_NOFAIL"
    with k26.hardirq():
        p = k26.kmalloc(32, 0xCC0)
    assert p and KERNEL_REPORT not in k26.dmesg()
    k26.kfree(p)


def test_symbolic_flags_cannot_be_mixed_with_ints_or_used_as_numbers():
    with pytest.raises(UsageError, match="cannot be combined with a plain int"):
        _ = gfp.GFP_KERNEL | 0x100
    with pytest.raises(UsageError, match="cannot be combined with a plain int"):
        _ = 0xCC0 & ~gfp.__GFP_IO
    with pytest.raises(UsageError, match="no truth value"):
        bool(gfp.GFP_KERNEL & gfp.__GFP_ZERO)
    with pytest.raises(UsageError, match="is a name, not a number"):
        hex(gfp.GFP_KERNEL)
    with pytest.raises(UsageError, match="slab flag, not a gfp flag"):
        gfp.GFP_6_18.mask(kmemsim.SLAB_PANIC)


@pytest.mark.parametrize("bad", [None, 1.5, -1, 1 << 32, b"GFP_KERNEL", "GFP_KERNAL", True])
def test_bad_gfp_values_are_clear_errors_naming_the_call(k618, bad):
    with pytest.raises(UsageError, match="kmalloc"):
        k618.kmalloc(64, bad)
    k618.check()


def test_slab_flags_belong_to_the_machine_too(k618, k26):
    assert isinstance(kmemsim.SLAB_HWCACHE_ALIGN, Flags)
    c = k618.kmem_cache_create("flags_test", 72, 0, kmemsim.SLAB_HWCACHE_ALIGN)
    assert c is not None and c.flags & k618.slab_flags.SLAB_HWCACHE_ALIGN and c.size == 128
    assert k618.slab_flags.mask(kmemsim.SLAB_DESTROY_BY_RCU) == k618.slab_flags.SLAB_TYPESAFE_BY_RCU
    with pytest.raises(UsageError, match="SLAB_MUST_HWCACHE_ALIGN is not a Linux 6.18 SLAB flag"):
        k618.kmem_cache_create("old", 64, 0, kmemsim.SLAB_MUST_HWCACHE_ALIGN)
    k618.kmem_cache_destroy(c)
    k618.check()


@given(st.lists(st.sampled_from(sorted(n for n in gfp.SYMBOLS if n in gfp.FLAGS_6_18)), min_size=1, max_size=6))
def test_a_symbolic_or_resolves_to_the_or_of_the_kernels_values(names):
    f = gfp.SYMBOLS[names[0]]
    want = gfp.FLAGS_6_18[names[0]]
    for n in names[1:]:
        f = f | gfp.SYMBOLS[n]
        want |= gfp.FLAGS_6_18[n]
    assert gfp.GFP_6_18.mask(f) == want
    assert gfp.GFP_6_18.parse(gfp.GFP_6_18.format(want)) == want
