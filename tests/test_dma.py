"""The DMA mapping API (kmemsim.mm.dma): dma-direct without an IOMMU, dma-debug, both profiles.

The combined stateful test of kmaps and DMA is in test_highmem.py.
"""
from __future__ import annotations

import pytest

import kmemsim
from kmemsim import DMA_BIDIRECTIONAL, DMA_BIT_MASK, DMA_FROM_DEVICE, DMA_MAPPING_ERROR, DMA_NONE, DMA_TO_DEVICE
from kmemsim.errors import InvariantError, Oops, UsageError
from kmemsim.gfp import __GFP_COMP, GFP_ATOMIC, GFP_KERNEL
from kmemsim.mm.vmalloc import VM_IOREMAP

PS = 4096


@pytest.fixture
def k():
    m = kmemsim.boot()
    yield m
    m.shutdown()


@pytest.fixture
def k32():
    m = kmemsim.boot("linux-2.6-i386", ram="1G")
    yield m
    m.shutdown()


def zone_of(k, phys):
    return k.page_zone(k.phys_to_page(phys))


def test_constants_are_the_kernels():
    assert (DMA_BIDIRECTIONAL, DMA_TO_DEVICE, DMA_FROM_DEVICE, DMA_NONE) == (0, 1, 2, 3)
    assert DMA_MAPPING_ERROR == 0xFFFF_FFFF_FFFF_FFFF
    assert DMA_BIT_MASK(24) == 0xFFFFFF and DMA_BIT_MASK(32) == 0xFFFFFFFF and DMA_BIT_MASK(64) == 2**64 - 1


# ------------------------------------------------------------------ streaming mappings, 6.18
def test_kmalloc_and_get_free_pages_memory_map_to_their_physical_address(k):
    dev = k.dma_device("eth0", DMA_BIT_MASK(64), driver="e1000")
    buf = k.kmalloc(1500, GFP_KERNEL)
    h = k.dma_map_single(dev, buf, 1500, DMA_TO_DEVICE)
    assert h == k.pa(buf) and k.dma_mapping_error(dev, h) == 0
    pages = k.get_free_pages(GFP_KERNEL, 2)
    h2 = k.dma_map_single(dev, pages, 4 * PS, DMA_FROM_DEVICE)
    assert h2 == k.virt_to_phys(pages) and k.dma_mapping_error(dev, h2) == 0
    assert [e.dev_addr for e in dev.mappings] == sorted([h, h2], key=lambda a: (a >> 13) & 16383)
    k.dma_unmap_single(dev, h, 1500, DMA_TO_DEVICE)
    k.dma_unmap_single(dev, h2, 4 * PS, DMA_FROM_DEVICE)
    assert dev.mappings == [] and k.dma_impl.error_count == 0
    assert "DMA-API" not in k.dmesg()
    k.check()


def test_vmalloc_memory_is_refused_with_the_kernels_warning(k):
    dev = k.dma_device("0000:00:1f.2", driver="ahci")
    v = k.vmalloc(3 * PS)
    h = k.dma_map_single(dev, v, 512, DMA_FROM_DEVICE)
    assert h == DMA_MAPPING_ERROR and k.dma_mapping_error(dev, h) == -12  # -ENOMEM
    log = k.dmesg()
    assert ("------------[ cut here ]------------\n"
            in log and "ahci 0000:00:1f.2: rejecting DMA map of vmalloc memory\n" in log)
    assert "WARNING: CPU: 0 PID: 1000 at test_vmalloc_memory_is_refused_with_the_kernels_warning+0x0/0x0" in log
    assert "W" in k.taint and dev.mappings == []
    # dev_WARN_ONCE: once per call site (this file); the refusal stays
    assert k.dma_map_single(dev, v + PS, 16, DMA_TO_DEVICE) == DMA_MAPPING_ERROR
    assert k.dmesg().count("rejecting DMA map of vmalloc memory") == 1
    k.check()


def test_an_ioremap_address_is_vmalloc_space_and_refused_too(k):
    dev = k.dma_device("dev")
    area = k.vmalloc_impl.get_vm_area(PS, VM_IOREMAP)
    assert k.dma_map_single(dev, area.addr, 4, DMA_TO_DEVICE) == DMA_MAPPING_ERROR
    assert "platform dev: rejecting DMA map of vmalloc memory" in k.dmesg()


def test_memory_beyond_the_mask_is_refused_as_dma_direct_does():
    k = kmemsim.boot(ram="8G")
    dev = k.dma_device("isa", DMA_BIT_MASK(24), driver="floppy")
    buf = k.kmalloc(64, GFP_KERNEL)
    assert k.pa(buf) >= 1 << 24
    assert k.dma_map_single(dev, buf, 64, DMA_TO_DEVICE) == DMA_MAPPING_ERROR
    log = k.dmesg()
    assert f"] floppy isa: DMA addr 0x{k.pa(buf):016x}+64 overflow (mask ffffff, bus limit 0).\n" in log
    assert "WARNING: CPU: 0 PID: 1000 at dma_map_phys+0x0/0x0" in log
    dma_buf = k.kmalloc(64, GFP_KERNEL | kmemsim.gfp.__GFP_DMA)  # kmalloc-dma-64: below 16 MB
    assert k.dma_map_single(dev, dma_buf, 64, DMA_TO_DEVICE) == k.pa(dma_buf) < 1 << 24
    k.check()


def test_a_device_without_a_dma_mask_cannot_map(k):
    dev = k.dma_device("nomask", dma_mask=None)
    assert k.dma_map_single(dev, k.kmalloc(8, GFP_KERNEL), 8, DMA_TO_DEVICE) == DMA_MAPPING_ERROR
    assert "WARNING: CPU: 0 PID: 1000 at dma_map_phys+0x0/0x0" in k.dmesg()
    assert k.dma_set_mask(dev, DMA_BIT_MASK(32)) == -5  # -EIO


def test_dma_map_page_and_an_invalid_direction(k):
    dev = k.dma_device("dev")
    p = k.alloc_page(GFP_KERNEL)
    h = k.dma_map_page(dev, p, 256, 128, DMA_BIDIRECTIONAL)
    assert h == (p.pfn << 12) + 256
    k.dma_mapping_error(dev, h)
    k.dma_unmap_page(dev, h, 128, DMA_BIDIRECTIONAL)
    with pytest.raises(Oops):
        k.dma_map_page(dev, p, 0, 8, DMA_NONE)  # BUG_ON(!valid_dma_direction(dir))
    assert "invalid opcode" in k.dmesg()
    with pytest.raises(UsageError):
        k.dma_map_single("dev", 0, 8, DMA_TO_DEVICE)
    with pytest.raises(UsageError):
        k.dma_map_single(dev, k.kmalloc(8, GFP_KERNEL), -1, DMA_TO_DEVICE)


def test_masks_as_dma_set_mask_and_dma_supported_decide(k):
    dev = k.dma_device("dev")
    assert k.dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)) == 0
    assert dev.dma_mask == dev.coherent_dma_mask == 2**64 - 1
    assert k.dma_set_mask(dev, DMA_BIT_MASK(24)) == 0  # covers ZONE_DMA: supported
    assert k.dma_set_mask_and_coherent(dev, DMA_BIT_MASK(20)) == -5  # below ZONE_DMA: -EIO, nothing changes
    assert (dev.dma_mask, dev.coherent_dma_mask) == (DMA_BIT_MASK(24), 2**64 - 1)
    assert k.dma_set_coherent_mask(dev, DMA_BIT_MASK(32)) == 0 and dev.coherent_dma_mask == DMA_BIT_MASK(32)


# ------------------------------------------------------------------ coherent allocations, 6.18
def test_dma_alloc_coherent_for_a_24_bit_device_lands_in_zone_dma_zeroed(k):
    dev = k.dma_device("isa", DMA_BIT_MASK(24))
    cpu, h = k.dma_alloc_coherent(dev, 5000)
    assert cpu == k.phys_to_virt(h) and h + 8192 <= 1 << 24
    assert zone_of(k, h) == "DMA"
    assert k.read(cpu, 8192) == bytes(8192)  # stale memory was zeroed (the page-aligned size)
    assert [(e.size, e.direction) for e in dev.mappings] == [(5000, DMA_BIDIRECTIONAL)]
    k.write(cpu, b"ring")
    k.check()
    k.dma_free_coherent(dev, 5000, cpu, h)
    assert dev.mappings == [] and k.dma_impl.error_count == 0
    k.check()


def test_dma_alloc_coherent_zone_follows_the_coherent_mask():
    k = kmemsim.boot(ram="8G")
    z32 = k.dma_device("d32", DMA_BIT_MASK(32))
    z64 = k.dma_device("d64", DMA_BIT_MASK(64))
    cpu32, h32 = k.dma_alloc_coherent(z32, PS)
    cpu64, h64 = k.dma_alloc_coherent(z64, 3 * PS)
    assert zone_of(k, h32) == "DMA32" and h32 < 1 << 32
    assert zone_of(k, h64) == "Normal"  # no zone modifier for a 64-bit mask
    assert k.read(cpu64, 3 * PS) == bytes(3 * PS)
    # a coherent mask of 0: WARN_ON_ONCE and nothing is addressable
    z0 = k.dma_device("d0", DMA_BIT_MASK(32), coherent_dma_mask=0)
    assert k.dma_alloc_coherent(z0, PS) == (0, 0)
    assert "WARNING: CPU: 0 PID: 1000 at dma_alloc_attrs+0x0/0x0" in k.dmesg()
    assert k.dma_alloc_coherent(z32, PS, GFP_KERNEL | __GFP_COMP) == (0, 0)
    assert k.dma_alloc_coherent(z32, 0) == (0, 0)  # get_order(0): beyond MAX_PAGE_ORDER
    k.dma_free_coherent(z32, PS, cpu32, h32)
    k.dma_free_coherent(z64, 3 * PS, cpu64, h64)
    k.check()


def test_dma_alloc_coherent_in_atomic_context_needs_an_atomic_gfp(k):
    dev = k.dma_device("dev")
    with k.atomic():
        cpu, h = k.dma_alloc_coherent(dev, PS, GFP_ATOMIC)
        assert cpu
        with pytest.raises(kmemsim.KernelBug):
            k.dma_alloc_coherent(dev, PS)  # GFP_KERNEL may sleep
    k.dma_free_coherent(dev, PS, cpu, h)


# ------------------------------------------------------------------ dma-debug
def test_dma_debug_reports_unmaps_that_do_not_match(k):
    d = k.dma_impl
    d.show_all_errors = 1
    dev = k.dma_device("0000:03:00.0", driver="nvme")
    buf = k.kmalloc(512, GFP_KERNEL)
    h = k.dma_map_single(dev, buf, 512, DMA_FROM_DEVICE)
    k.dma_unmap_single(dev, h, 256, DMA_TO_DEVICE)
    log = k.dmesg()
    pre = "DMA-API: nvme 0000:03:00.0: device driver "
    assert (pre + f"frees DMA memory with different size [device address=0x{h:016x}] [map size=512 bytes] "
            "[unmap size=256 bytes]") in log
    assert (pre + f"frees DMA memory with different direction [device address=0x{h:016x}] [size=256 bytes] "
            "[mapped with DMA_FROM_DEVICE] [unmapped with DMA_TO_DEVICE]") in log
    assert (pre + f"failed to check map error[device address=0x{h:016x}] [size=256 bytes] "
            "[mapped as phy]") in log
    assert "WARNING: CPU: 0 PID: 1000 at check_unmap+0x0/0x0" in log
    assert "DMA-API: Mapped at:\n" in log and "test_dma_debug_reports_unmaps_that_do_not_match test_dma.py:" in log
    k.dma_unmap_single(dev, h, 512, DMA_FROM_DEVICE)  # already gone
    assert (pre + f"tries to free DMA memory it has not allocated [device address=0x{h:016x}] "
            "[size=512 bytes]") in k.dmesg()
    k.dma_unmap_single(dev, DMA_MAPPING_ERROR, 512, DMA_FROM_DEVICE)
    assert pre + "tries to free an invalid DMA memory address" in k.dmesg()
    assert d.error_count == 5
    assert k.debugfs("dma-api/error_count") == "5\n"
    k.check()


def test_dma_debug_shows_only_the_first_error_by_default(k):
    dev = k.dma_device("dev")
    for _ in range(3):
        k.dma_unmap_single(dev, 0x1000, 8, DMA_TO_DEVICE)
    assert k.dmesg().count("tries to free DMA memory it has not allocated") == 1
    assert k.dma_impl.error_count == 3 and k.debugfs("dma-api/num_errors") == "0\n"


def test_overlapping_device_writable_mappings_are_reported(k):
    k.dma_impl.show_all_errors = 1
    dev = k.dma_device("dev")
    buf = k.kmalloc(64, GFP_KERNEL)
    h1 = k.dma_map_single(dev, buf, 64, DMA_TO_DEVICE)
    h2 = k.dma_map_single(dev, buf, 64, DMA_TO_DEVICE)  # the device only reads: fine
    assert "EEXIST" not in k.dmesg()
    h3 = k.dma_map_single(dev, buf, 64, DMA_FROM_DEVICE)
    h4 = k.dma_map_single(dev, buf, 64, DMA_FROM_DEVICE)
    assert "DMA-API: platform dev: cacheline tracking EEXIST, overlapping mappings aren't supported" in k.dmesg()
    for h, d in ((h1, DMA_TO_DEVICE), (h2, DMA_TO_DEVICE), (h3, DMA_FROM_DEVICE), (h4, DMA_FROM_DEVICE)):
        k.dma_mapping_error(dev, h)
        k.dma_unmap_single(dev, h, 64, d)
    assert k.dma_impl.active_cacheline == {} and dev.mappings == []
    k.check()


def test_leaked_mappings_are_reported_when_the_driver_lets_go(k):
    dev = k.dma_device("0000:00:19.0", driver="e1000e")
    buf = k.kmalloc(2048, GFP_KERNEL)
    h = k.dma_map_single(dev, buf, 2048, DMA_FROM_DEVICE)
    k.dma_mapping_error(dev, h)
    cpu, ch = k.dma_alloc_coherent(dev, PS)
    k.device_release_driver(dev)
    log = k.dmesg()
    assert "DMA-API: e1000e 0000:00:19.0: device driver has pending DMA allocations while released from device " \
           "[count=2]\n" in log
    assert "] One of leaked entries details: [device address=0x" in log
    assert "WARNING: CPU: 0 PID: 1000 at dma_debug_device_change+0x0/0x0" in log
    assert len(dev.mappings) == 2 and dev.driver is None
    dump = k.debugfs("dma-api/dump").splitlines()
    assert len(dump) == 2
    assert f"platform 0000:00:19.0 coherent idx {(ch >> 13) & 16383} P=0x{ch:016x} D={ch:x} L=1000 " \
           f"cln=0x{ch >> 6:016x} DMA_BIDIRECTIONAL dma map error check not applicable" in dump
    assert f"platform 0000:00:19.0 phy idx {(h >> 13) & 16383} P=0x{h:016x} D={h:x} L=800 " \
           f"cln=0x{h >> 6:016x} DMA_FROM_DEVICE dma map error checked" in dump
    k.check()


def test_dma_free_coherent_with_the_wrong_cpu_address_is_reported(k):
    dev = k.dma_device("dev")
    k.dma_impl.show_all_errors = 1
    cpu, h = k.dma_alloc_coherent(dev, PS)
    other = k.kmalloc(64, GFP_KERNEL)
    k.dma_free_coherent(dev, PS, other, h)  # the pages behind the handle go back anyway
    assert (f"frees DMA memory with different CPU address [device address=0x{h:016x}] [size=4096 bytes] "
            f"[cpu alloc address=0x0x{h:016x}] [cpu free address=0x0x{k.pa(other):016x}]") in k.dmesg()
    assert dev.mappings == [] and h >> 12 not in k.page_alloc.allocated
    k.check()


def test_check_notices_coherent_memory_freed_behind_the_dma_layer(k):
    dev = k.dma_device("dev")
    cpu, h = k.dma_alloc_coherent(dev, PS)
    k.free_pages(cpu, 0)
    with pytest.raises(InvariantError, match="coherent allocation"):
        k.check()


def test_without_dma_debug_nothing_is_printed_but_the_records_stay(k):
    k.dma_impl.debug = False
    dev = k.dma_device("dev")
    k.dma_unmap_single(dev, 0x1000, 8, DMA_TO_DEVICE)
    h = k.dma_map_single(dev, k.kmalloc(8, GFP_KERNEL), 8, DMA_TO_DEVICE)
    assert "DMA-API" not in k.dmesg() and len(dev.mappings) == 1 and k.dma_impl.error_count == 0
    with pytest.raises(UsageError, match="CONFIG_DMA_API_DEBUG"):
        k.debugfs("dma-api/dump")
    k.dma_unmap_single(dev, h, 8, DMA_TO_DEVICE)
    assert dev.mappings == []


# ------------------------------------------------------------------ 2.6.24 i386
def test_2_6_24_maps_whatever_virt_to_phys_says_even_vmalloc_memory(k32):
    k = k32
    dev = k.dma_device("eth0", driver="8139too")
    buf = k.kmalloc(100, k.gfp.value("GFP_KERNEL"))
    assert k.dma_map_single(dev, buf, 100, DMA_TO_DEVICE) == k.pa(buf)
    v = k.vmalloc(2 * PS)
    h = k.dma_map_single(dev, v, 100, DMA_TO_DEVICE)
    assert h == (v - 0xC0000000) & 0xFFFFFFFF  # __pa() of a vmalloc address: a bogus bus address
    assert h >> 12 != k.vmalloc_to_pfn(v)
    assert k.dma_mapping_error(dev, h) == 0  # 2.6.24 i386: always 0
    assert "rejecting" not in k.dmesg() and "DMA-API" not in k.dmesg()
    k.dma_map_single(dev, buf, 0, DMA_TO_DEVICE)
    assert "WARNING: at include/asm/dma-mapping_32.h:25 dma_map_single()" in k.dmesg()
    with pytest.raises(Oops):
        k.dma_unmap_single(dev, h, 100, DMA_NONE)
    assert "kernel BUG at include/asm/dma-mapping_32.h:34!" in k.dmesg()
    k.check()


def test_2_6_24_dma_alloc_coherent_takes_gfp_dma_below_a_32_bit_mask(k32):
    k = k32
    isa = k.dma_device("isa", DMA_BIT_MASK(24))
    pci = k.dma_device("pci", DMA_BIT_MASK(32))
    cpu, h = k.dma_alloc_coherent(isa, 6000)
    assert zone_of(k, h) == "DMA" and cpu == k.va(h) and k.read(cpu, 6000) == bytes(6000)
    cpu2, h2 = k.dma_alloc_coherent(pci, PS)
    assert zone_of(k, h2) == "Normal"  # lowmem, never HighMem
    assert k.dma_set_mask(pci, 0xFFFFF) == -5 and k.dma_set_mask(pci, DMA_BIT_MASK(24)) == 0
    k.check()
    k.dma_free_coherent(isa, 6000, cpu, h)
    k.dma_free_coherent(pci, PS, cpu2, h2)
    assert isa.mappings == [] and pci.mappings == []
    k.check()


def test_2_6_24_dma_map_page_of_a_highmem_page(k32):
    k = k32
    dev = k.dma_device("dev")
    p = k.alloc_page(k.gfp.value("GFP_HIGHUSER"))
    assert k.PageHighMem(p)
    h = k.dma_map_page(dev, p, 0, PS, DMA_FROM_DEVICE)
    assert h == p.pfn << 12 and k.page_address(p) == 0  # DMA needs no kernel mapping
    k.dma_unmap_page(dev, h, PS, DMA_FROM_DEVICE)
    assert dev.mappings == []


def test_saturated_cacheline_overlap_count_keeps_check_clean():
    """dma-debug stops counting a cacheline's overlaps above the maximum; unmapping one of
    nine mappings of a buffer is legal and k.check() stays clean."""
    from kmemsim.gfp import GFP_KERNEL

    k = kmemsim.boot()
    d = k.dma_device("nic")
    buf = k.kmalloc(64, GFP_KERNEL)
    hs = [k.dma_map_single(d, buf, 64, kmemsim.DMA_FROM_DEVICE) for _ in range(9)]
    for h in hs:
        k.dma_mapping_error(d, h)
    k.dma_unmap_single(d, hs[0], 64, kmemsim.DMA_FROM_DEVICE)
    k.check()
    for h in hs[1:]:
        k.dma_unmap_single(d, h, 64, kmemsim.DMA_FROM_DEVICE)
    k.check()
    assert not k.dma_impl.saturated


# ---------------------------------------------------------------- other kernels, by their features
def test_each_machine_gets_the_dma_layer_of_its_kernel(k, k32):
    from kmemsim.mm.dma import DmaMapping, DmaMappingI386

    assert type(k.dma_impl) is DmaMapping and type(k32.dma_impl) is DmaMappingI386


def test_6_6_records_single_entries_and_dumps_the_pfn(k):
    from kmemsim.features import Features
    from kmemsim.mm.dma import DMA_DEBUG_SINGLE, DmaMapping

    k.features = Features("6.6")  # before dma_map_phys (6.18)
    d = DmaMapping(k)  # built plainly: nothing registered
    dev = d.dma_device("6.6dev", driver="drv")
    buf = k.kmalloc(256, GFP_KERNEL)
    h = d.dma_map_single(dev, buf, 256, DMA_TO_DEVICE)
    (e,) = d.entries(dev)
    assert e.type == DMA_DEBUG_SINGLE and h == k.pa(buf)
    assert f" single idx {e.bucket} P={h:x} N={h >> 12:x} D={h:x} L=100 " in d.dump()
    assert d.dma_mapping_error(dev, h) == 0
    d.dma_unmap_single(dev, h, 256, DMA_TO_DEVICE)  # dma_map_single_attrs + dma_unmap_page_attrs
    assert not d.entries(dev) and d.error_count == 0
    assert " phy idx " not in k.dma_impl.dump()  # the machine's own layer is untouched
