"""ioremap, I/O memory resources (/proc/iomem) and the device model, both profiles.

Golden data: ``tests/data/host-6.18/iomem.txt`` is the reference host's /proc/iomem
read as root (``cat /proc/iomem > iomem.txt`` on the Linux 6.18.44 Firecracker guest with
24 GiB and five virtio-pci devices); ``vmallocinfo.txt`` (see that directory's README)
holds its ioremap lines.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import kmemsim
from kmemsim.arch import e820 as e820mod
from kmemsim.errors import InvariantError, KernelBug, Oops, UsageError
from kmemsim.gfp import GFP_KERNEL
from kmemsim.mm.ioremap import Device, Register
from kmemsim.mm.pgtable import _PAGE_PCD, _PAGE_PSE, _PAGE_PWT, PG_LEVEL_2M, PG_LEVEL_4K
from kmemsim.mm.resource import (
    IORESOURCE_BUSY,
    IORESOURCE_MEM,
    Resource,
    check_tree,
    format_resources,
    parse_resources,
    request_resource,
)
from kmemsim.mm.vmalloc import VM_IOREMAP

PS = 4096
DATA = Path(__file__).parent / "data" / "host-6.18"
HOST_IOMEM = (DATA / "iomem.txt").read_text()
DEV = 0xD0000000  # inside the 32-bit PCI window of the 6.18 machine; above RAM on 2.6.24


@pytest.fixture()
def k64():
    return kmemsim.boot()


@pytest.fixture()
def k32():
    return kmemsim.boot("linux-2.6-i386", ram="256M")


def mkdev(k, phys=DEV, size=0x10000, **kw):
    """A device with a status register that sets bit 31 on every write, a three-byte FIFO and
    a plain 32-bit scratch register."""
    fifo = list(b"ABC")
    regs = [
        Register("STATUS", 0x0, 4, write=lambda r, v: setattr(r, "value", v | 0x80000000)),
        Register("FIFO", 0x8, 1, read=lambda r: fifo.pop(0) if fifo else 0),
        Register("SCRATCH", 0xC, 4, 0x5A5A5A5A),
    ]
    return k.add_device("testdev", phys, size, regs, **kw), fifo


# ------------------------------------------------------------------ /proc/iomem: format
def test_r_show_reproduces_the_host_file_byte_for_byte():
    root = parse_resources(HOST_IOMEM)
    assert format_resources(root) == HOST_IOMEM
    assert check_tree(root) == []
    # the width rule: 8 digits, longer values in full
    assert "100000000-63fffffff : System RAM\n" in HOST_IOMEM
    assert "    4000000000-400007ffff : virtio-pci-modern\n" in HOST_IOMEM


def test_r_show_caps_the_indent_at_max_iores_level():
    root = Resource(0, (1 << 64) - 1, "PCI mem")
    parent = root
    for depth in range(8):
        r = Resource(0x1000 + depth, 0x2000 - depth, f"d{depth}")
        assert request_resource(parent, r) == 0
        parent = r
    lines = format_resources(root).splitlines()
    assert [len(line) - len(line.lstrip()) for line in lines] == [0, 2, 4, 6, 8, 10, 10, 10]
    ioports = Resource(0, 0xFFFF, "PCI IO")
    request_resource(ioports, Resource(0x60, 0x64, "keyboard"))
    assert format_resources(ioports) == "0060-0064 : keyboard\n"  # width 4 below 0x10000
    assert format_resources(ioports, cap_sys_admin=False) == "0000-0000 : keyboard\n"


def test_the_24g_machine_with_the_hosts_devices_is_the_host_file():
    k = kmemsim.boot(ram="24G")
    k.add_device("vmgenid", 0xDE000, 0x1000, bar="AMZNC10C:00")  # Firecracker's VMGenID, under Reserved
    for i in range(5):
        phys = 0x4000000000 + i * 0x80000
        k.add_device(f"virtio{i}", phys, 0x80000, bar=f"0000:00:{i + 1:02x}.0")
        assert k.request_mem_region(phys, 0x80000, "virtio-pci-modern") is not None
    assert k.proc("iomem") == HOST_IOMEM
    k.check()


@pytest.mark.parametrize("profile,ram", [("linux-6.18-x86_64", "1G"), ("linux-6.18-x86_64", "8G"),
                                         ("linux-6.18-x86_64", "300M"), ("linux-2.6-i386", "256M"),
                                         ("linux-2.6-i386", "1G"), ("linux-2.6-i386", "160M")])
def test_system_ram_is_the_e820_usable_ranges(profile, ram):
    k = kmemsim.boot(profile, ram=ram)
    text = k.proc("iomem")
    got = [(int(a, 16), int(b, 16) + 1) for a, b in re.findall(r"^([0-9a-f]+)-([0-9a-f]+) : System RAM$", text, re.M)]
    want = [(s, e) for s, e in e820mod.ram_ranges(k.e820) if e <= 1 << 32 or profile.startswith("linux-6")]
    if profile.startswith("linux-6"):  # 6.18 turns the first page into "Reserved"
        want[0] = (PS, want[0][1])
        assert text.startswith("00000000-00000fff : Reserved\n")
    assert got == want == k.resources.system_ram_ranges()
    # the kernel image is nested in the RAM that holds it
    for name, (a, b) in k.arch.setup.kernel_image.items():
        if name != "Kernel init":
            assert f"\n  {a:08x}-{b - 1:08x} : {name}\n" in text
    for line in text.splitlines():
        m = re.match(r"^( *)([0-9a-f]+)-([0-9a-f]+) : .+$", line)
        assert m and len(m.group(2)) >= 8 and len(m.group(3)) >= 8
    k.check()


def test_the_2_6_24_iomem():
    k = kmemsim.boot("linux-2.6-i386", ram="160M")
    assert k.proc("iomem") == (
        "00000000-0009fbff : System RAM\n"
        "0009fc00-0009ffff : reserved\n"
        "000a0000-000bffff : Video RAM area\n"
        "000f0000-000fffff : System ROM\n"
        "00100000-09ffffff : System RAM\n"
        "  00100000-001d75bb : Kernel code\n"  # the 2.6.24-slub build of tests/data/classic (System.map)
        "  001d75bc-00259bc7 : Kernel data\n"
        "  00282000-0029c28b : Kernel bss\n"
        "fec00000-fec00fff : reserved\n"
        "fee00000-fee00fff : reserved\n"
        "fffc0000-ffffffff : reserved\n")
    assert k.resources.proc_iomem(cap_sys_admin=False) == k.proc("iomem")  # 2.6.24 hid nothing


def test_ram_buffer_pads_unaligned_ram_and_non_root_sees_zeros():
    k = kmemsim.boot(ram="300M")  # RAM ends at 0x12c00000: padded to 64 MiB
    text = k.proc("iomem")
    assert "00100000-12bfffff : System RAM\n" in text and "\n12c00000-13ffffff : RAM buffer\n" in text
    hidden = k.resources.proc_iomem(cap_sys_admin=False)
    assert hidden.splitlines()[0] == "00000000-00000000 : Reserved"
    assert len(hidden.splitlines()) == len(text.splitlines())


# ------------------------------------------------------------------ request_mem_region
def test_request_mem_region_nests_under_the_bar_and_conflicts_when_busy(k64):
    dev, _ = mkdev(k64, bar="0000:00:03.0")
    r = k64.request_mem_region(DEV, 0x1000, "drv")
    assert r is not None and r.parent is dev.resource and r.flags & IORESOURCE_BUSY
    assert k64.ksize(r.obj) == 64  # kzalloc(sizeof(struct resource))
    assert k64.request_mem_region(DEV + 0x800, 0x1000, "other") is None  # busy conflict
    assert k64.request_mem_region(DEV + 0x1000, 0x1000, "second") is not None
    assert k64.request_mem_region(0x8000000, 0x1000, "in RAM") is None  # System RAM is busy
    top = k64.request_mem_region(0xE0000000, 0x100, "no bus")  # inside the PCI window
    assert top is not None and top.parent.name == "PCI Bus 0000:00"
    text = k64.proc("iomem")
    assert ("  d0000000-d000ffff : 0000:00:03.0\n    d0000000-d0000fff : drv\n"
            "    d0001000-d0001fff : second\n  e0000000-e00000ff : no bus\n") in text
    k64.release_mem_region(DEV, 0x1000)
    assert "drv" not in k64.proc("iomem")
    k64.release_mem_region(DEV + 0x1000, 0x800)  # not an exact match
    assert "Trying to free nonexistent resource <0x00000000d0001000-0x00000000d00017ff>" in k64.dmesg()
    k64.check()


def test_request_mem_region_2_6_24(k32):
    mkdev(k32)
    r = k32.request_mem_region(DEV, 0x100, "drv")
    assert r is not None and r.flags == IORESOURCE_BUSY and r.parent.name == "testdev"
    assert k32.ksize(r.obj) == 32  # 28-byte struct resource
    k32.release_mem_region(DEV, 0x10)
    assert "Trying to free nonexistent resource <00000000d0000000-00000000d000000f>" in k32.dmesg()
    with pytest.raises(UsageError, match="2.6.26"):
        k32.request_mem_region_exclusive(DEV, 0x100, "x")


def test_insert_and_release_resource(k64):
    root = k64.iomem_resource
    win = Resource(0xE0000000, 0xE0FFFFFF, "window", IORESOURCE_MEM)
    inner = k64.request_mem_region(0xE0001000, 0x1000, "early")
    assert k64.insert_resource(root, win) == 0  # adopts "early" (which is inside it)
    assert inner.parent is win
    assert k64.request_resource(root, Resource(0xE0800000, 0xE1000FFF, "straddles")) == -16
    assert k64.release_resource(win) == 0
    assert "window" not in k64.proc("iomem") and "early" not in k64.proc("iomem")


# ------------------------------------------------------------------ devices
def test_add_device_refuses_ram_overlap_and_partial_overlap(k64):
    mkdev(k64)
    with pytest.raises(UsageError, match="System RAM"):
        k64.add_device("x", 0x3FFFF000, 0x2000)
    with pytest.raises(UsageError, match="overlaps device testdev"):
        k64.add_device("x", DEV + 0x8000, 0x10000)
    with pytest.raises(UsageError, match="partly overlaps"):
        k64.add_device("x", 0xFEBFF000, 0x2000)  # across the end of the e820 Reserved range
    with pytest.raises(UsageError, match="runs past"):
        k64.add_device("x", 0xE0000000, 0x10, [Register("R", 0xE, 4)])
    with pytest.raises(UsageError, match="overlaps the one before"):
        k64.add_device("x", 0xE0000000, 0x10, [Register("A", 0, 4), Register("B", 2, 2)])
    with pytest.raises(UsageError, match="width"):
        Register("W", 0, 3)
    assert [d.name for d in k64.ioremap_impl.devices] == ["testdev"]  # nothing half-added
    k64.check()


def test_registers_status_fifo_and_plain_memory(k64):
    dev, fifo = mkdev(k64)
    a = k64.ioremap(DEV, 0x10000)
    k64.writel(0x5, a)  # value first, as in C
    assert k64.readl(a) == 0x80000005  # the status register changed on write
    assert [k64.readb(a + 8) for _ in range(4)] == [0x41, 0x42, 0x43, 0]  # the FIFO drains
    assert k64.readl(a + 0xC) == 0x5A5A5A5A
    assert k64.readb(a + 0xD) == 0x5A  # part of a register: its bytes
    k64.writeb(0x11, a + 0xD)  # a partial store merges into the register
    assert dev.reg("SCRATCH").value == 0x5A5A115A
    k64.writeq(0x0102030405060708, a + 0x100)
    assert k64.readq(a + 0x100) == 0x0102030405060708 and dev.peek(0x100, 2) == b"\x08\x07"
    assert k64.readw(a + 0x200) == 0  # device memory is zero at power-on
    assert list(dev.log)[:2] == [("w", 0, 4, 5), ("r", 0, 4, 0x80000005)]
    with pytest.raises(UsageError, match="value, addr"):
        k64.writel(a, 5)
    k64.check()


def test_remove_device_only_when_unused(k64):
    dev, _ = mkdev(k64)
    a = k64.ioremap(DEV, PS)
    with pytest.raises(UsageError, match="still mapped"):
        k64.remove_device(dev)
    k64.iounmap(a)
    k64.request_mem_region(DEV, 16, "drv")
    with pytest.raises(UsageError, match="release_mem_region"):
        k64.remove_device(dev)
    k64.release_mem_region(DEV, 16)
    k64.remove_device(dev)
    assert "testdev" not in k64.proc("iomem")
    k64.check()


# ------------------------------------------------------------------ ioremap (6.18)
def test_ioremap_takes_a_naturally_aligned_vm_area_and_shows_in_vmallocinfo(k64):
    mkdev(k64)
    k64.vmalloc(PS)
    a = k64.ioremap(DEV + 0x123, 3 * PS - 0x200)  # 3 pages once aligned
    assert a & (PS - 1) == 0x123
    vm = k64.find_vm_area(a)
    assert vm.flags == VM_IOREMAP and vm.phys_addr == DEV and vm.size == 4 * PS and vm.nr_pages == 0
    assert vm.addr % (4 * PS) == 0  # natural alignment of 12 KiB: 16 KiB
    line = [x for x in k64.proc("vmallocinfo").splitlines() if x.endswith(" ioremap")][0]
    assert re.fullmatch(rf"0x{vm.addr:016x}-0x{vm.addr + 4 * PS:016x}   16384 "
                        r"test_ioremap_takes_a_naturally_aligned_vm_area_and_shows_in_vmallocinfo\+0x0/0x0 "
                        r"phys=0x00000000d0000000 ioremap", line)
    host = [x for x in (DATA / "vmallocinfo.txt").read_text().splitlines() if x.endswith(" ioremap")]
    shape = re.compile(r"0x[0-9a-f]{16}-0x[0-9a-f]{16} +\d+ \S+\+0x[0-9a-f]+/0x[0-9a-f]+ phys=0x[0-9a-f]{16} ioremap")
    assert host and all(shape.fullmatch(x) for x in host + [line])
    assert k64.vmalloc_impl.vmalloc_nr_pages() == 1  # ioremap allocates no RAM pages
    k64.check()


@pytest.mark.parametrize("fn,bits", [("ioremap", _PAGE_PCD), ("ioremap_uc", _PAGE_PCD | _PAGE_PWT),
                                     ("ioremap_wc", _PAGE_PWT), ("ioremap_cache", 0)])
def test_cache_modes_and_huge_leaves(k64, fn, bits):
    k64.add_device("fb", 0xD0200000, 4 << 20)
    a = getattr(k64, fn)(0xD0200000, 4 << 20)
    e, level = k64.lookup_address(a + (2 << 20) + 0x1234)
    assert level == PG_LEVEL_2M and e & _PAGE_PSE  # 2 MiB aligned on both sides: PMD leaves
    assert e & (_PAGE_PCD | _PAGE_PWT) == bits and e & (1 << 63)  # NX
    small = getattr(k64, fn)(0xD0200000 + 0x1000, 100)  # the same type: the reservation agrees
    assert k64.lookup_address(small)[1] == PG_LEVEL_4K
    k64.writel(0xCAFE, a + 0x1000 + 0x40)
    assert k64.readl(small + 0x40) == 0xCAFE  # two mappings, one device
    k64.check()


def test_ioremap_on_ram_is_refused_once_loudly(k64):
    assert k64.ioremap(0x8000000, PS) == 0
    text = k64.dmesg()
    assert ("------------[ cut here ]------------\n"
            "ioremap on RAM at 0x0000000008000000 - 0x0000000008000fff\n") in re.sub(r"\[ *[\d.]+\] ", "", text)
    assert "WARNING: CPU: 0 PID: 1000 at __ioremap_caller" in text
    assert k64.ioremap(0x9000000, 2 * PS) == 0
    assert k64.dmesg().count("ioremap on RAM") == 1  # WARN_ONCE
    # reserved RAM (the kernel image, the low 1 MiB) is not "RAM in use": allowed, as in the kernel
    assert k64.ioremap(0x2000000, PS) != 0
    # a range that only touches RAM in a partial page is allowed too (__ioremap_check_ram rounds in)
    k64.check()


def test_ioremap_edge_cases(k64):
    assert k64.ioremap(DEV, 0) == 0
    assert k64.ioremap((1 << 64) - PS, 2 * PS) == 0  # wraps
    assert k64.ioremap(1 << 48, PS) == 0
    assert "ioremap: invalid physical address 1000000000000" in k64.dmesg()
    with pytest.raises(UsageError):
        k64.ioremap(-1, PS)
    with pytest.raises(UsageError, match="removed in 5.6"):
        k64.ioremap_nocache(DEV, PS)
    # an address no device claims: mapped, reads all ones, writes vanish
    a = k64.ioremap(0xE8000000, PS)
    assert k64.readl(a) == 0xFFFFFFFF
    k64.writel(1, a)
    assert k64.readq(a) == (1 << 64) - 1
    k64.check()


def test_iounmap_and_its_reports(k64):
    mkdev(k64)
    a = k64.ioremap(DEV, 2 * PS)
    k64.iounmap(a + PS + 5)  # any address inside the area: the whole area goes
    assert k64.find_vm_area(a) is None and not k64.ioremap_impl.mappings
    with pytest.raises(Oops):
        k64.readl(a)
    assert "BUG: unable to handle page fault for address" in k64.dmesg()
    k64.iounmap(a)
    assert re.search(r"iounmap: bad address [0-9a-f]{16}\nCPU: 0 UID: 0 PID: 1000",
                     re.sub(r"\[ *[\d.]+\] ", "", k64.dmesg()), re.S)
    k64.iounmap(k64.va(0x100000))  # not an ioremap address: WARN_ON_ONCE
    assert "WARNING: CPU: 0 PID: 1000 at iounmap" in k64.dmesg()
    assert not k64.ioremap_impl.memtypes
    k64.check()


def test_pat_conflicts(k64):
    k64.add_device("d", DEV, 0x10000)
    wb = k64.ioremap_cache(DEV, PS)
    assert k64.ioremap(DEV, PS) == 0  # UC- requested over a WB reservation
    assert "ioremap error for 0xd0000000-0xd0001000, requested 0x2, got 0x0" in k64.dmesg()
    wc = k64.ioremap_wc(DEV + PS, PS)
    assert k64.ioremap(DEV, 2 * PS) == 0  # two reservations of different types
    assert "x86/PAT: insmod:1000 conflicting memory types d0000000-d0002000 write-back<->write-combining" in k64.dmesg()
    assert "ioremap memtype_reserve failed -16" in k64.dmesg()
    wc2 = k64.ioremap(DEV + PS, PS)  # UC- over WC: allowed, and it becomes WC
    assert k64.lookup_address(wc2)[0] & (_PAGE_PCD | _PAGE_PWT) == _PAGE_PWT
    for a in (wb, wc, wc2):
        k64.iounmap(a)
    assert k64.ioremap_impl.memtypes == []
    k64.check()


def test_sanity_check_warns_about_multiple_bars(k64):
    k64.add_device("a", DEV, PS, bar="0000:00:04.0")
    k64.add_device("b", DEV + PS, PS, bar="0000:00:05.0")
    assert k64.ioremap(DEV, 2 * PS)
    text = k64.dmesg()
    assert ("resource sanity check: requesting [mem 0x00000000d0000000-0x00000000d0001fff], which spans more "
            "than 0000:00:04.0 [mem 0xd0000000-0xd0000fff]") in text
    assert "caller test_sanity_check_warns_about_multiple_bars+0x0/0x0 mapping multiple BARs" in text


# ------------------------------------------------------------------ accessors
def test_plain_access_is_the_models_iomem_report(k64):
    dev, _ = mkdev(k64)
    a = k64.ioremap(DEV, PS)
    with pytest.raises(KernelBug) as e:
        k64.read_u32(a)
    assert e.value.kind == "iomem_deref"
    assert "plain load from __iomem address" in k64.dmesg() and "the model's rule, not a kernel message" in k64.dmesg()
    assert not dev.log  # under on_bug="raise" the access does not happen
    r = kmemsim.boot(on_bug="report")
    dev, fifo = mkdev(r)
    a = r.ioremap(DEV, PS)
    assert r.read(a + 8, 1) == b"A"  # reported, then it reaches the device
    r.write_u32(a, 1)
    assert dev.reg("STATUS").value == 0x80000001
    assert r.dmesg().count("__iomem address") == 2
    r.write(r.kmalloc(8, GFP_KERNEL), b"ordinary")  # other memory is not affected
    r.check()


def test_ioread_iowrite_and_port_cookies(k64):
    mkdev(k64)
    a = k64.ioremap(DEV, PS)
    k64.iowrite32(7, a)
    assert k64.ioread32(a) == 0x80000007 and k64.ioread8(a + 8) == 0x41 and k64.ioread16(a + 0xC) == 0x5A5A
    port = k64.ioport_map(0x60, 1)
    assert port == 0x10060 and k64.ioread8(port) == 0xFF  # no port devices: a floating bus
    k64.iowrite8(1, port)
    assert k64.ioport_map(0x10000, 1) == 0
    for _ in range(12):
        assert k64.ioread16(0x1234) == 0xFFFF
    text = k64.dmesg()
    assert "Bad IO access at port 0x1234 (return inw(port))" in text
    assert text.count("Bad IO access") == 10  # the first ten only


def test_memcpy_io_access_widths(k64):
    dev, _ = mkdev(k64, size=0x4000)
    a = k64.ioremap(DEV, 0x4000)
    buf = k64.kmalloc(64, GFP_KERNEL)
    k64.write(buf, bytes(range(64)))
    dev.log.clear()
    k64.memcpy_toio(a + 0x101, buf, 9)  # odd I/O side: a byte, a word, a dword, a word
    assert [(op, off, w) for op, off, w, _ in dev.log] == [("w", 0x101, 1), ("w", 0x102, 2), ("w", 0x104, 4),
                                                           ("w", 0x108, 2)]
    assert dev.peek(0x101, 9) == bytes(range(9))
    dev.log.clear()
    k64.memcpy_fromio(buf + 32, a + 0x101, 9)
    assert [w for _, _, w, _ in dev.log] == [1, 2, 4, 2]
    assert k64.read(buf + 32, 9) == bytes(range(9))
    dev.log.clear()
    k64.memset_io(a + 0x203, 0xEE, 20)  # bytes to 8-byte alignment, quadwords, bytes
    assert [w for _, _, w, _ in dev.log] == [1] * 5 + [8] + [1] * 7
    assert dev.peek(0x203, 20) == b"\xee" * 20
    k64.memcpy_fromio(buf, a + 8, 2)  # 2 bytes at an even address: one word load
    assert k64.read(buf, 2) == b"A\x00"  # it pops the one-byte FIFO once, plus a plain byte
    k64.check()


def test_readq_and_memcpy_on_2_6_24(k32):
    dev, _ = mkdev(k32)
    a = k32.ioremap(DEV, PS)
    with pytest.raises(UsageError, match="64-bit only"):
        k32.readq(a)
    buf = k32.kmalloc(16, GFP_KERNEL)
    k32.write(buf, bytes(range(16)))
    dev.log.clear()
    k32.memcpy_toio(a + 0x101, buf, 9)  # __memcpy: rep movsl, then bytes; no alignment
    assert [w for _, _, w, _ in dev.log] == [4, 4, 1]
    dev.log.clear()
    k32.memset_io(a + 0x201, 0, 7)  # __memset: rep stosl, a word, a byte
    assert [w for _, _, w, _ in dev.log] == [4, 2, 1]


# ------------------------------------------------------------------ 2.6.24
def test_2_6_24_ioremap_is_cached_and_nocache_is_pcd_pwt(k32):
    mkdev(k32)
    a = k32.ioremap(DEV, PS)
    vm = k32.find_vm_area(a)
    assert vm.flags == VM_IOREMAP and vm.phys_addr == DEV
    assert k32.lookup_address(a)[0] & 0xFFF == 0x163  # MAKE_GLOBAL(__PAGE_KERNEL): cached
    b = k32.ioremap_nocache(DEV + PS, PS)
    assert k32.find_vm_area(b).flags == VM_IOREMAP | (0x18 << 20)
    assert k32.lookup_address(b)[0] & 0xFFF == 0x17B
    assert a % PS == 0 and k32.vmalloc_impl.is_vmalloc_addr(a)
    for fn in ("ioremap_wc", "ioremap_cache", "ioremap_uc"):
        with pytest.raises(UsageError, match="linux-2.6.24"):
            getattr(k32, fn)(DEV, PS)
    k32.iounmap(a)
    k32.iounmap(b)
    k32.iounmap(b)
    assert f"iounmap: bad address {b:08x}" in k32.dmesg()
    k32.check()


def test_2_6_24_isa_range_and_ram(k32):
    vga = k32.add_device("vga", 0xA0000, 0x20000, [Register("CTRL", 0, 2, 0xBEEF)])
    a = k32.ioremap(0xA0000, 0x100)
    assert a == k32.va(0xA0000)  # the ISA range is always mapped: no vm area
    assert k32.readw(a) == 0xBEEF and vga.log
    k32.iounmap(a)  # silently ignored (below high_memory)
    before = k32.dmesg()
    assert k32.ioremap(0x4000000, PS) == 0  # lowmem RAM: NULL without a word
    assert k32.dmesg() == before
    assert k32.ioremap(0x200000, PS) != 0  # the kernel image is PageReserved
    # insert_resource() of the same range: the new resource becomes the parent
    assert "000a0000-000bffff : vga\n  000a0000-000bffff : Video RAM area\n" in k32.proc("iomem")
    k32.check()


# ------------------------------------------------------------------ invariants
def test_check_sees_a_broken_mapping_and_a_broken_tree(k64):
    mkdev(k64)
    a = k64.ioremap(DEV, PS)
    k64.check()
    pt = k64.vmalloc_impl.pt
    tbl = pt.table_for(a, len(pt.levels) - 1, False)
    pt._write(tbl, pt._index(a, len(pt.levels) - 1), (0xD0001000) | pt.page_kernel)  # the wrong page
    with pytest.raises(InvariantError, match="ioremap"):
        k64.check()
    pt._write(tbl, pt._index(a, len(pt.levels) - 1), DEV | pt.page_kernel | _PAGE_PCD)
    k64.check()
    ram = k64.iomem_resource.child.sibling
    ram.sibling, ram.child = ram.child, ram.sibling  # scramble
    with pytest.raises(InvariantError, match="iomem"):
        k64.check()


def test_iounmap_of_a_vmalloc_address_is_the_kernels_silent_teardown(k64):
    v = k64.vmalloc(2 * PS)
    before = k64.dmesg()
    k64.iounmap(v)  # x86 iounmap() does not check VM_IOREMAP: the area goes, its pages leak
    # memtype_free(vm->phys_addr = 0, size) is all the kernel says
    assert k64.dmesg()[len(before):].endswith(
        "] x86/PAT: insmod:1000 freeing invalid memtype [mem 0x00000000-0x00001fff]\n")
    assert k64.find_vm_area(v) is None
    with pytest.raises(InvariantError):
        k64.check()  # nr_vmalloc_pages still counts the leaked pages


def test_device_is_a_device(k64):
    dev, _ = mkdev(k64)
    assert isinstance(dev, Device) and dev.resource.name == "testdev"
    assert repr(dev).startswith("<Device testdev [mem 0xd0000000-0xd000ffff]")
    with pytest.raises(UsageError, match="no register"):
        dev.reg("NOPE")


# ------------------------------------------------------------------ other kernels, by their features
def _as_kernel(k, version):
    """``k`` with the features of another release: a subsystem built on it afterwards takes
    that release's paths (the machine's own subsystems keep theirs)."""
    from kmemsim.features import Features

    k.features = Features(version)
    return k


def test_each_machine_gets_the_ioremap_of_its_kernel(k64, k32):
    from kmemsim.mm.ioremap import Ioremap, IoremapNoPat

    assert type(k64.ioremap_impl) is Ioremap and type(k32.ioremap_impl) is IoremapNoPat


def test_6_6_iounmap_returns_quietly_at_or_below_high_memory(k64):
    from kmemsim.mm.ioremap import Ioremap

    io = Ioremap(_as_kernel(k64, "6.6"))
    io.iounmap(k64.va(0x100000))  # 6.6: addr <= high_memory, nothing said
    assert "WARNING" not in k64.dmesg()
    k64.ioremap_impl.iounmap(k64.va(0x100000))  # the machine's own (6.18): WARN_ON_ONCE(!is_ioremap_addr())
    assert "WARNING: CPU: 0 PID: 1000 at iounmap" in k64.dmesg()


def test_2_6_11_iomem_has_no_kernel_bss_and_warns_in_unsigned_longs(k32):
    from kmemsim.mm.resource import IoResources

    res = IoResources(_as_kernel(k32, "2.6.11"))  # a second tree, built plainly: nothing registered
    text = res.proc_iomem()
    assert "Kernel code" in text and "Kernel data" in text and "Kernel bss" not in text
    assert "Kernel bss" in k32.proc("iomem")  # 2.6.24's own
    res.release_mem_region(DEV, 0x10)
    assert "Trying to free nonexistent resource <d0000000-d000000f>" in k32.dmesg()
    with pytest.raises(UsageError, match="2.6.26"):
        res.request_mem_region_exclusive(DEV, 0x10, "x")
