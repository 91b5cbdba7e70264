"""x86_64 4-level layout (Documentation/arch/x86/x86_64/mm.rst, 6.18 headers)."""
import pytest
from conftest import DATA

import kmemsim
from kmemsim.layout import draw


@pytest.mark.parametrize("ram", ["128M", "1G", "3G", "4G", "24G", "64G", "1T"])
def test_fixed_constants(ram):
    lay = kmemsim.boot(ram=ram).layout
    assert lay.page_offset == 0xFFFF888000000000
    assert lay.vmalloc_start == 0xFFFFC90000000000
    assert lay.vmalloc_end == 0xFFFFE8FFFFFFFFFF
    assert lay.vmalloc_end - lay.vmalloc_start + 1 == 32 << 40
    assert lay.vmemmap_base == 0xFFFFEA0000000000
    assert lay.kernel_map == 0xFFFFFFFF80000000
    assert lay.kernel_text == 0xFFFFFFFF81000000
    assert lay.modules == 0xFFFFFFFFC0000000
    assert lay.modules_end == 0xFFFFFFFFFF000000
    assert lay.fixaddr_top == 0xFFFFFFFFFF7FF000
    assert lay.fixaddr_start == 0xFFFFFFFFFF57A000
    assert lay.cpu_entry_area_base == 0xFFFFFE0000000000
    assert lay.espfix_base == 0xFFFFFF0000000000
    assert lay.efi_va_start == 0xFFFFFFFF00000000
    assert lay.efi_va_end == 0xFFFFFFEF00000000
    assert lay.vsyscall == 0xFFFFFFFFFF600000
    assert lay.task_size == 0x7FFFFFFFF000
    assert lay.pkmap_base is None and lay.vmalloc_offset is None


@pytest.mark.parametrize(
    "ram,max_pfn",
    [("1G", 0x40000), ("3G", 0xC0000), ("4G", 0x140000), ("24G", 0x640000), ("64G", 0x1040000)],
)
def test_ram_above_3g_is_remapped_above_4g(ram, max_pfn):
    k = kmemsim.boot(ram=ram)
    assert k.max_pfn == max_pfn
    assert k.layout.high_memory == 0xFFFF888000000000 + (max_pfn << 12)
    # the PCI hole has no struct pages and no mapping
    if max_pfn > 0xC0000:
        assert not k.pfn_valid(0xC0000 + 0x8000)
        assert k.pfn_valid(0x100000)


def test_e820_and_present_pages_match_the_reference_host():
    """ram=24G reproduces the reference host's e820 and its present page count."""
    host = (DATA / "host-6.18" / "dmesg-memory.txt").read_text().splitlines()
    k = kmemsim.boot(ram="24G")
    model = [line.split("] ", 1)[1] for line in k.dmesg().splitlines()]
    host_e820 = [line for line in host if line.startswith(("BIOS-e820", "e820:", "last_pfn"))]
    model_e820 = [line for line in model if line.startswith(("BIOS-e820", "e820:", "last_pfn"))]
    # the host prints one early extra "last_pfn" (from MTRR code before the e820 update)
    assert model_e820 == host_e820[0:5] + host_e820[6:]
    host_mem = next(line for line in host if line.startswith("Memory:"))
    model_mem = next(line for line in model if line.startswith("Memory:"))
    # present pages (the figure after the slash) and the kernel image sizes are the host's
    assert host_mem.split("/")[1].split("K")[0] == model_mem.split("/")[1].split("K")[0] == "25165432"
    assert (host_mem.split("(", 1)[1].split(", 0K")[0].rsplit(",", 1)[0]
            == model_mem.split("(", 1)[1].split(", 0K")[0].rsplit(",", 1)[0])


def test_kernel_image_matches_host_iomem():
    iomem = (DATA / "host-6.18" / "iomem-ram.txt").read_text()
    k = kmemsim.boot()
    for name, (start, end) in k.arch.setup.kernel_image.items():
        assert f"{start:08x}-{end - 1:08x} : {name}" in iomem


def test_regions_cover_the_whole_space_in_order():
    k = kmemsim.boot(ram="64G")
    regs = k.layout.regions
    assert regs[0].start == 0 and regs[-1].end == 1 << 64
    assert all(a.end == b.start for a, b in zip(regs, regs[1:], strict=False))
    assert k.layout.region_of(k.layout.vmalloc_start).kind == "vmalloc"
    assert k.layout.region_of(k.va(0x1000)).kind == "direct"
    assert k.layout.region_of(0x1000).kind == "user"


def test_draw_lists_regions_top_first():
    text = draw(kmemsim.boot().layout)
    lines = text.splitlines()
    assert "fixmap" in lines[3] and "user space" in lines[-1]
    assert "ffffe8ffffffffff - ffffc90000000000      32 TiB  [V] vmalloc/ioremap" in text


def test_fields_are_named_boundaries():
    f = kmemsim.boot().layout.fields()
    assert f["page_offset"] == 0xFFFF888000000000
    assert "pkmap_base" not in f
