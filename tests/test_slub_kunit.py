"""lib/tests/slub_kunit.c (suite "slub_test", Linux 6.17/6.18), ported case by case.

Each kernel case runs inside ``k.slab_errors()``, the model's "slab_errors" kunit
resource: reports are counted instead of printed, exactly where the kernel calls
slab_add_kunit_errors() (check_bytes_and_report, object_err, slab_err, slab_fix,
list_slab_objects), and the expected counts are the kernel's KUNIT_EXPECT_EQs.

test_kfree_rcu, test_kfree_rcu_wq_destroy (RCU and workqueues arrive with the
contexts issue) and test_kmalloc_kfree_nolock (perf NMI handlers) have no model
counterpart yet; the kernel skips the first two when built in.
"""
import pytest

import kmemsim
from kmemsim import SLAB_KMALLOC, SLAB_NO_MERGE, SLAB_NO_USER_FLAGS, SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER, gfp
from kmemsim.gfp import GFP_KERNEL

ZERO = getattr(gfp, "__GFP_ZERO")
SLUB_RED_ACTIVE = 0xCC


@pytest.fixture
def k():
    # kunit reports never raise; on_bug="raise" checks that nothing else does either
    return kmemsim.boot(on_bug="raise")


def create(k, name, size, flags):
    """test_kmem_cache_create(): SLAB_NO_USER_FLAGS keeps slab_debug= out of it."""
    return k.kmem_cache_create(name, size, 0, flags | SLAB_NO_USER_FLAGS)


def test_clobber_zone(k):
    s = create(k, "TestSlub_RZ_alloc", 64, SLAB_RED_ZONE)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    with k.slab_errors() as errs:
        k.write_u8(p + 64, 0x12)
        k.validate_slab_cache(s)
    assert errs.count == 2
    k.kmem_cache_free(s, p)
    k.kmem_cache_destroy(s)
    k.check()


def test_next_pointer(k):
    s = create(k, "TestSlub_next_ptr_free", 64, SLAB_POISON)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    ptr_addr = p + s.offset
    tmp = k.read_u64(ptr_addr)
    with k.slab_errors() as errs:
        k.write_u8(ptr_addr, ~k.read_u8(ptr_addr) & 0xFF)
        # the corrupted freechain, the wrong count of objects in use, its fix
        k.validate_slab_cache(s)
    assert errs.count == 3
    with k.slab_errors() as errs:
        k.write_u64(ptr_addr, tmp)
        # the count is wrong again (the chain is whole), and fixed
        k.validate_slab_cache(s)
    assert errs.count == 2
    with k.slab_errors() as errs:
        k.validate_slab_cache(s)
    assert errs.count == 0
    k.kmem_cache_destroy(s)
    k.check()


def test_first_word(k):
    s = create(k, "TestSlub_1th_word_free", 64, SLAB_POISON)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    with k.slab_errors() as errs:
        k.write_u8(p, 0x78)
        k.validate_slab_cache(s)
    assert errs.count == 2
    k.kmem_cache_destroy(s)


def test_clobber_50th_byte(k):
    s = create(k, "TestSlub_50th_word_free", 64, SLAB_POISON)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    with k.slab_errors() as errs:
        k.write_u8(p + 50, 0x9A)
        k.validate_slab_cache(s)
    assert errs.count == 2
    k.kmem_cache_destroy(s)


def test_clobber_redzone_free(k):
    s = create(k, "TestSlub_RZ_free", 64, SLAB_RED_ZONE)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    with k.slab_errors() as errs:
        k.write_u8(p + 64, 0xAB)
        k.validate_slab_cache(s)
    assert errs.count == 2
    k.kmem_cache_destroy(s)


def test_kmalloc_redzone_access(k):
    s = create(k, "TestSlub_RZ_kmalloc", 32, SLAB_KMALLOC | SLAB_STORE_USER | SLAB_RED_ZONE)
    p = k.kmalloc_cache(s, GFP_KERNEL, 18)
    with k.slab_errors() as errs:
        k.write_u8(p + 18, 0xAB)
        k.write_u8(p + 19, 0xAB)
        k.validate_slab_cache(s)
    assert errs.count == 2
    k.kmem_cache_free(s, p)
    k.kmem_cache_destroy(s)
    k.check()


def test_leak_destroy(k):
    s = create(k, "TestSlub_leak_destroy", 64, SLAB_NO_MERGE)
    k.kmem_cache_alloc(s, GFP_KERNEL)
    with k.slab_errors() as errs:
        k.kmem_cache_destroy(s)
    # one for the "Objects remaining" header, one per leaked object; no WARN in kunit
    assert errs.count == 2
    assert "Slab cache still has objects" not in k.dmesg()


def test_krealloc_redzone_zeroing(k):
    s = create(k, "TestSlub_krealloc", 64, SLAB_KMALLOC | SLAB_STORE_USER | SLAB_RED_ZONE)
    with k.slab_errors() as errs:
        p = k.kmalloc_cache(s, GFP_KERNEL, 48)
        k.memset(p, 0xFF, 48)
        # shrink
        p = k.krealloc(p, 40, GFP_KERNEL | ZERO)
        assert k.read(p + 40, 24) == bytes([SLUB_RED_ACTIVE]) * 24
        # grow within the same 64-byte object
        p = k.krealloc(p, 56, GFP_KERNEL | ZERO)
        assert k.read(p + 40, 16) == bytes(16)
        assert k.read(p + 56, 8) == bytes([SLUB_RED_ACTIVE]) * 8
        k.validate_slab_cache(s)
        assert errs.count == 0
        k.memset(p, 0xFF, 56)
        # grow into a bigger kmalloc object
        p = k.krealloc(p, 112, GFP_KERNEL | ZERO)
        assert k.read(p, 56) == b"\xff" * 56
        assert k.read(p + 56, 56) == bytes(56)
        k.kfree(p)
        k.kmem_cache_destroy(s)
    assert errs.count == 0
    k.check()


def test_kunit_cache_layouts_match_the_kernel(k):
    """The layouts of the kunit caches, worked by hand from calculate_alignment() and
    calculate_sizes().  Reference slub.md §6.1 gives the KMALLOC one align 32 and
    red_left_pad 32; that is create_boot_cache()'s power-of-two rule for the boot
    kmalloc caches, which kmem_cache_create() does not apply: align is 8, and
    32 -> red zone word 40 (inuse) -> free pointer 48 -> 2 tracks 112 -> orig_size
    116 -> pad word 124 -> red_left_pad 8 -> 132 -> ALIGN(8) = 136."""
    rz = create(k, "RZ", 64, SLAB_RED_ZONE)
    assert (rz.inuse, rz.offset, rz.red_left_pad, rz.size) == (72, 32, 8, 88)
    po = create(k, "PO", 64, SLAB_POISON)
    assert (po.inuse, po.offset, po.size) == (64, 64, 72)
    km = create(k, "KM", 32, SLAB_KMALLOC | SLAB_STORE_USER | SLAB_RED_ZONE)
    assert (km.align, km.inuse, km.offset, km.red_left_pad, km.size) == (8, 40, 40, 8, 136)
