"""2.6.24 i386: the 3G/1G split, the 896 MB lowmem limit, the 8 MB gap, vmalloc=, highmem=."""
import pytest

import kmemsim
from kmemsim import ConfigError

MB = 1 << 20
I386 = "linux-2.6-i386"


@pytest.mark.parametrize(
    "ram,high_memory,vmalloc_start,lowmem_mb,highmem_mb",
    [
        ("160M", 0xCA000000, 0xCA800000, 160, 0),  # the books' example: 3 GB + 160 MB + 8 MB
        ("100M", 0xC6400000, 0xC7000000, 100, 0),  # not 8 MB aligned: rounded up to 8 MB
        ("512M", 0xE0000000, 0xE0800000, 512, 0),
        ("896M", 0xF8000000, 0xF8800000, 896, 0),
        ("1G", 0xF8000000, 0xF8800000, 896, 128),
        ("2G", 0xF8000000, 0xF8800000, 896, 1152),
        ("4G", 0xF8000000, 0xF8800000, 896, 3200),  # 3 GB below the PCI hole, clamped at 4 GB
    ],
)
def test_lowmem_highmem_split(ram, high_memory, vmalloc_start, lowmem_mb, highmem_mb):
    k = kmemsim.boot(I386, ram=ram)
    lay = k.layout
    assert lay.page_offset == 0xC0000000
    assert lay.high_memory == high_memory
    assert lay.vmalloc_start == vmalloc_start
    assert lay.vmalloc_end == 0xFF7FE000
    assert lay.pkmap_base == 0xFF800000
    assert lay.fixaddr_start == 0xFFF4D000
    assert lay.fixaddr_top == 0xFFFFF000
    assert lay.vmalloc_offset == 8 * MB
    assert lay.task_size == 0xC0000000
    assert k.max_low_pfn == lowmem_mb * 256
    log = k.dmesg()
    assert f"] {highmem_mb}MB HIGHMEM available." in log
    assert f"] {lowmem_mb}MB LOWMEM available." in log
    k.check()


def test_4g_on_non_pae_warns_like_the_kernel():
    log = kmemsim.boot(I386, ram="4G").dmesg()
    assert "Warning only 4GB will be used.\n" in log
    assert "Use a HIGHMEM64G enabled kernel.\n" in log
    assert "Warning only" not in kmemsim.boot(I386, ram="2G").dmesg()


def test_mem_init_layout_table_matches_2_6_24_format():
    log = kmemsim.boot(I386, ram="1G").dmesg()
    for line in [
        "virtual kernel memory layout:",
        "    fixmap  : 0xfff4d000 - 0xfffff000   ( 712 kB)",
        "    pkmap   : 0xff800000 - 0xffc00000   (4096 kB)",
        "    vmalloc : 0xf8800000 - 0xff7fe000   ( 111 MB)",
        "    lowmem  : 0xc0000000 - 0xf8000000   ( 896 MB)",
    ]:
        assert "] " + line + "\n" in log


@pytest.mark.parametrize("reserve,lowmem_mb", [("64M", 960), ("128M", 896), ("256M", 768), ("512M", 512)])
def test_vmalloc_reserve_moves_the_lowmem_limit(reserve, lowmem_mb):
    k = kmemsim.boot(I386, ram="2G", vmalloc=reserve)
    assert k.layout.high_memory == 0xC0000000 + lowmem_mb * MB
    assert k.max_low_pfn == lowmem_mb * 256
    assert k.layout.vmalloc_start == k.layout.high_memory + 8 * MB
    assert k.layout.vmalloc_end == 0xFF7FE000


def test_vmalloc_reserve_has_no_effect_when_ram_fits():
    assert kmemsim.boot(I386, ram="512M", vmalloc="256M").layout.high_memory == 0xE0000000


def test_vmalloc_reserve_too_large_is_an_error():
    with pytest.raises(ConfigError, match=r"vmalloc=.*lowmem"):
        kmemsim.boot(I386, ram="1G", vmalloc="1020M")


def test_highmem_parameter_forces_highmem():
    k = kmemsim.boot(I386, ram="512M", highmem="128M")
    assert k.max_low_pfn == 384 * 256
    assert "128MB HIGHMEM available" in k.dmesg()


def test_highmem_parameter_ignored_when_lowmem_would_be_tiny():
    k = kmemsim.boot(I386, ram="100M", highmem="64M")
    assert k.max_low_pfn == 100 * 256
    assert "highmem size 64MB results in smaller than 64MB lowmem, ignoring it." in k.dmesg()


@pytest.mark.parametrize("split,po", [("3G", 0xC0000000), ("2G", 0x80000000), ("1G", 0x40000000),
                                      ("3G_OPT", 0xB0000000)])
def test_vmsplit_moves_page_offset(split, po):
    k = kmemsim.boot(I386, ram="1G", vmsplit=split)
    assert k.layout.page_offset == po == k.layout.task_size
    assert k.va(0) == po and k.pa(po + 0x1234) == 0x1234


def test_2g_split_puts_all_of_1g_in_lowmem():
    k = kmemsim.boot(I386, ram="1G", vmsplit="2G")
    assert k.max_low_pfn == k.max_pfn == 1 << 18


def test_classic_2_6_e820_format():
    log = kmemsim.boot(I386, ram="160M").dmesg()
    assert "]  BIOS-e820: 0000000000100000 - 000000000a000000 (usable)\n" in log


def test_regions_cover_4g():
    lay = kmemsim.boot(I386, ram="160M").layout
    assert lay.regions[0].start == 0 and lay.regions[-1].end == 1 << 32
    assert lay.region_of(0xCA400000).name == "VMALLOC_OFFSET gap"
    assert lay.mem_map == 0xC1000000
