"""vmalloc / vmap / vfree on a booted machine (kmemsim.mm.vmalloc), both profiles."""
from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kmemsim
from kmemsim.errors import Oops, UsageError
from kmemsim.features import Features
from kmemsim.gfp import __GFP_NOWARN, GFP_KERNEL
from kmemsim.mm.pgtable import _PAGE_NX, PAGE_KERNEL_64
from kmemsim.mm.vmalloc import (
    VM_ALLOC,
    VM_IOREMAP,
    VM_MAP,
    VM_NO_GUARD,
    VM_USERMAP,
    Vmalloc,
    VmapAreaVmalloc,
    VmlistVmalloc,
    VmStruct,
)
from kmemsim.mm.vmap_area import VmapTreeCorrupt

PS = 4096
HOST = Path(__file__).parent / "data" / "host-6.18" / "vmallocinfo.txt"

# vmalloc_info_show()'s line: "0x%pK-0x%pK %7ld" [" %pS"] [" pages=%d"] [" phys=%pa"] flag words
# [" vpages"] [" N%u=%u"...]; and the lazy "unpurged vm_area" / "vm_map_ram" lines.
LINE = re.compile(
    r"^0x(?P<start>[0-9a-f]{16})-0x(?P<end>[0-9a-f]{16}) (?P<size> *\d+)"
    r"(?:(?P<lazy> unpurged vm_area)|(?P<ram> vm_map_ram)|"
    r"(?: (?P<caller>[\w.<>$]+\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[\w+\])?))?"
    r"(?: pages=(?P<pages>\d+))?"
    r"(?: phys=0x(?P<phys>[0-9a-f]{16}))?"
    r"(?P<flags>(?: (?:ioremap|sparse|vmalloc|vmap|user|dma-coherent))*)"
    r"(?P<vpages> vpages)?"
    r"(?P<numa>(?: N\d+=\d+)*))$"
)


def parse(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        m = LINE.match(line)
        assert m, f"not a vmallocinfo line: {line!r}"
        d = m.groupdict()
        start, end, size = int(d["start"], 16), int(d["end"], 16), int(d["size"])
        assert len(d["size"]) >= 7 and d["size"] == f"{size:7d}"  # %7ld
        assert end - start == size
        d["shape"] = ("lazy" if d["lazy"] else "ram" if d["ram"] else
                      ("caller " if d["caller"] else "") + ("pages " if d["pages"] else "")
                      + ("phys " if d["phys"] else "") + d["flags"].strip() + (" vpages" if d["vpages"] else "")
                      + (" N" if d["numa"] else ""))
        out.append(d)
    return out


@pytest.fixture()
def m64():
    k = kmemsim.boot()
    return k, k.vmalloc_impl


@pytest.fixture()
def m32():
    k = kmemsim.boot("linux-2.6-i386", ram="1G")
    return k, k.vmalloc_impl


def pfns_of(v: Vmalloc, addr: int, n: int) -> list[int]:
    return [v.vmalloc_to_pfn(addr + i * PS) for i in range(n)]


# ------------------------------------------------------------------ basics
def test_first_vmalloc_is_at_vmalloc_start_with_a_guard_page(m64):
    k, v = m64
    a = v.vmalloc(10000)
    assert a == k.layout.vmalloc_start == 0xFFFFC90000000000
    vm = v.find_vm_area(a)
    assert isinstance(vm, VmStruct)
    assert vm.size == 3 * PS + PS and vm.nr_pages == 3 and vm.flags == VM_ALLOC
    assert vm.requested_size == 10000
    assert vm.caller == "test_first_vmalloc_is_at_vmalloc_start_with_a_guard_page+0x0/0x0"
    assert v.vmalloc(PS) == a + 4 * PS  # the guard page is not shared
    with pytest.raises(Oops):
        v.read(a + 3 * PS, 1)  # the guard page faults
    assert "BUG: unable to handle page fault for address: ffffc90000003000" in k.dmesg()
    k.check()


def test_virtually_contiguous_physically_scattered(m64):
    k, v = m64
    # fragment memory: take 64 pages and give every other one back
    held = [k.page_alloc.alloc(k.gfp.GFP_KERNEL, 0) for _ in range(64)]
    for p in held[::2]:
        k.page_alloc.free(p, 0)
    a = v.vmalloc(8 * PS)
    pfns = pfns_of(v, a, 8)
    assert len(set(pfns)) == 8
    assert any(b != a_ + 1 for a_, b in zip(pfns, pfns[1:], strict=False))  # not physically contiguous
    assert v.find_vm_area(a).pfns == pfns
    data = bytes(range(256)) * 32
    v.write(a + 100, data)  # crosses seven page boundaries
    assert v.read(a + 100, len(data)) == data
    # the same bytes through the direct map of each physical page
    assert k.read(k.va(pfns[1] << 12), 16) == data[PS - 100:PS - 100 + 16]
    k.check()


def test_vzalloc_zeroes_and_vmalloc_does_not(m64):
    k, v = m64
    a = v.vmalloc(PS)
    pfn = v.vmalloc_to_pfn(a)
    k.write(k.va(pfn << 12), b"\xaa" * 64)
    v.vfree(a)
    z = v.vzalloc(3 * PS)
    assert v.read(z, 3 * PS) == bytes(3 * PS)


def test_vfree_returns_every_page_and_the_arrays(m64):
    k, v = m64
    pa = k.page_alloc
    a = v.vmalloc(700 * PS)  # 700 * 8 bytes of page array: a nested vmalloc
    vm = v.find_vm_area(a)
    inner = v.find_vm_area(vm.pages_addr)
    assert inner is not None and inner.nr_pages == 2 and v.is_vmalloc_addr(vm.pages_addr)
    pages = list(vm.pfns) + list(inner.pfns)
    assert all(pa.allocated.get(p) == 0 for p in pages)
    used = v.vmalloc_nr_pages()
    assert used == 702
    v.vfree(a)
    assert not any(p in pa.allocated for p in pages)
    assert v.vmalloc_nr_pages() == 0
    assert v.areas() == []
    k.check()


def test_pages_array_holds_struct_page_pointers(m64):
    k, v = m64
    a = v.vmalloc(5 * PS)
    vm = v.find_vm_area(a)
    assert not v.is_vmalloc_addr(vm.pages_addr)  # 40 bytes: kmalloc
    assert k.ksize(vm.pages_addr) == 64
    ptrs = struct.unpack("<5Q", k.read(vm.pages_addr, 40))
    assert [k.arch.page_struct_addr(p) for p in vm.pfns] == list(ptrs)
    # overwrite one pointer (a use-after-free elsewhere, say): check() sees it
    k.write(vm.pages_addr + 8, struct.pack("<Q", k.arch.page_struct_addr(vm.pfns[0])))
    with pytest.raises(VmapTreeCorrupt, match="pages array"):
        v.check()


def test_alignment_stack_like_and_user(m64):
    k, v = m64
    v.vmalloc(PS)
    st_ = v.vmalloc_node_range(4 * PS, 4 * PS, v.VMALLOC_START, v.VMALLOC_END, GFP_KERNEL, None, 0, -1)
    assert st_ % (4 * PS) == 0 and v.find_vm_area(st_).size == 20480  # a kernel stack: 16K + guard
    u = v.vmalloc_user(100)
    vm = v.find_vm_area(u)
    assert vm.flags == VM_ALLOC | VM_USERMAP and v.read(u, PS) == bytes(PS)
    with pytest.raises(UsageError):
        v.vmalloc_node_range(PS, 3, v.VMALLOC_START, v.VMALLOC_END, GFP_KERNEL, None, 0, -1)


def test_vmalloc_32_pages_are_below_4g():
    k = kmemsim.boot(ram="8G")
    v = k.vmalloc_impl
    a = v.vmalloc_32(4 * PS)
    assert all(p < (1 << 20) for p in pfns_of(v, a, 4))
    b = v.vmalloc(4 * PS)
    assert all(k.page_zone(k.pfn_to_page(p)) == "Normal" for p in pfns_of(v, b, 4))


def test_ptes_are_page_kernel_and_tables_count_in_pagetables(m64):
    k, v = m64
    before = v.meminfo()["PageTables"]
    assert before == 64 * 4  # the preallocated PUD tables
    a = v.vmalloc(PS)
    e, _ = v.lookup_address(a)
    assert e & ~0xFFFFFFFFFF000 == PAGE_KERNEL_64
    assert v.meminfo()["PageTables"] == before + 8  # a PMD and a PTE table
    assert k.node_stat("nr_page_table_pages") == 66


# ------------------------------------------------------------------ one implementation per era
def test_the_implementation_follows_the_vmap_area_feature(m64, m32):
    assert type(m64[1]) is VmapAreaVmalloc and type(m32[1]) is VmlistVmalloc


def test_6_6_has_a_64_byte_vm_struct_one_vmap_node_and_its_own_vmallocinfo(m64):
    k, _ = m64
    k.features = Features("6.6")
    v = VmapAreaVmalloc(k)  # the vmalloc of a 6.6 kernel on this machine
    assert v.va.nr_vmap_nodes == 1
    a = v.vmalloc(PS)
    vm = v.find_vm_area(a)
    assert vm is not None and k.ksize(vm.obj) == 64  # kmalloc-64 (6.18: 72 bytes, kmalloc-96)
    v.vfree(a)
    assert v.vmallocinfo() == ""  # 6.6 printed the unpurged areas after the last busy one
    b = v.vmalloc(PS)
    assert [d["shape"] for d in parse(v.vmallocinfo())] == ["caller pages vmalloc N", "lazy"]
    v.vfree(b)
    k.features = Features("4.14")
    assert VmapAreaVmalloc(k).hashed_ptr(0xFFFFC90000001000) == "ffffc90000001000"  # %p before 4.15


def test_calls_a_2_6_11_kernel_does_not_have(m32):
    k, v = m32
    k.features = Features("2.6.11")
    with pytest.raises(UsageError, match=r"vmalloc_user\(\) was added in 2.6.18"):
        v.vmalloc_user(PS)
    with pytest.raises(UsageError, match=r"vmalloc_32_user\(\) was added in 2.6.18"):
        v.vmalloc_32_user(PS)
    with pytest.raises(UsageError, match=r"vmalloc_node\(\) was added in 2.6.16"):
        v.vmalloc_node(PS, 0)
    with pytest.raises(UsageError, match=r"has vmalloc\(\) \+ memset\(\)$"):
        v.vzalloc(PS)
    assert v.hashed_ptr(0xF8801000) == "f8801000"


# ------------------------------------------------------------------ failures and reports
def test_size_zero_warns_once_and_returns_null(m64):
    k, v = m64
    assert v.vmalloc(0) == 0
    assert v.vmalloc(0) == 0
    assert k.dmesg().count("WARNING: CPU: 0 PID: 1000 at __vmalloc_node_range_noprof") == 1


def test_too_large_is_warn_alloc_exceeds_total_pages(m64):
    k, v = m64
    assert v.vmalloc(2 << 30) == 0
    log = k.dmesg()
    assert (f"insmod: vmalloc error: size {2 << 30}, exceeds total pages, mode:0xcc0(GFP_KERNEL), "
            "nodemask=(null),cpuset=/,mems_allowed=0") in log
    assert "Mem-Info:" in log
    n = len(k.dmesg())
    assert v.vmalloc_gfp(2 << 30, GFP_KERNEL | __GFP_NOWARN) == 0
    assert len(k.dmesg()) == n


def test_out_of_address_space_is_vm_struct_allocation_failed(m64):
    k, v = m64
    lo = v.VMALLOC_START
    assert v.vmalloc_node_range(PS, 1, lo, lo + 2 * PS, GFP_KERNEL, None, 0, -1)
    assert v.vmalloc_node_range(PS, 1, lo, lo + 2 * PS, GFP_KERNEL, None, 0, -1) == 0
    log = k.dmesg()
    assert f"vmalloc_node_range for size {2 * PS} failed: Address range restricted to {lo:#x} - {lo + 2 * PS:#x}" in log
    assert f"insmod: vmalloc error: size {PS}, vm_struct allocation failed, mode:0xcc0(GFP_KERNEL)" in log


def test_double_vfree_is_the_kernels_warning(m64):
    k, v = m64
    a = v.vmalloc(PS)
    v.vfree(a)
    v.vfree(a)
    log = k.dmesg()
    assert re.search(r"------------\[ cut here \]------------\n.*Trying to vfree\(\) nonexistent vm area "
                     r"\([0-9a-f]{16}\)\n.*WARNING: CPU: 0 PID: 1000 at vfree\+0x0/0x0", log)
    assert "W" in k.taint
    v.vfree(0)  # NULL is fine
    v.vfree(a + 1)
    assert "Trying to vfree() bad address" in k.dmesg()
    k.check()


def test_vfree_of_an_interior_address_frees_the_area(m64):
    # 6.18 finds the area *containing* the address (find_unlink_vmap_area)
    k, v = m64
    a = v.vmalloc(4 * PS)
    v.vfree(a + 2 * PS)
    assert v.areas() == []


def test_vfree_in_interrupt_is_deferred(m64):
    k, v = m64
    irq = [False]
    v.in_interrupt = lambda: irq[0]
    a = v.vmalloc(2 * PS)
    b = v.vmalloc(2 * PS)
    v.write(a, b"\x11" * 16)
    irq[0] = True
    v.vfree(a)
    v.vfree(b)
    assert {vm.addr for vm in v.areas()} == {a, b}  # nothing freed yet
    assert v.read(b, 8) == a.to_bytes(8, "little")  # llist_add(): the link in the area's first word
    assert v.read(a, 8) == bytes(8)
    assert len(v.pending_work) == 1
    irq[0] = False
    assert v.run_pending_work() == 1
    assert v.areas() == []
    k.check()


def test_vfree_atomic_and_nmi(m64):
    k, v = m64
    a = v.vmalloc(PS)
    v.vfree_atomic(a)  # task context: the work runs at once here
    assert v.areas() == []
    v.in_nmi = lambda: True
    with pytest.raises(Oops):
        v.vfree_atomic(v.VMALLOC_START)


# ------------------------------------------------------------------ lazy areas
def test_lazy_ranges_are_unpurged_until_the_threshold(m64):
    k, v = m64
    a = v.vmalloc(4 * PS)
    v.vfree(a)
    text = v.vmallocinfo()
    assert text == f"0x{a:016x}-0x{a + 5 * PS:016x}   20480 unpurged vm_area\n"
    with pytest.raises(Oops):
        v.read(a, 1)  # unmapped at vfree time; only the range waits
    v.purge_vmap_area_lazy()
    assert v.vmallocinfo() == ""
    k.check()


def test_pool_reuse_of_a_purged_area(m64):
    k, v = m64
    a = v.vmalloc(4 * PS)
    b = v.vmalloc(4 * PS)
    v.vfree(a)
    v.purge_vmap_area_lazy()
    c = v.vmalloc(4 * PS)
    assert c == a
    with k.on_cpu(1):
        v.vfree(c)
        v.purge_vmap_area_lazy()
        d = v.vmalloc(4 * PS)
    # the area was tagged with node 0 (CPU 0's): it went back to node 0's pool, so CPU 1
    # (node 1, an empty pool) gets the lowest free range instead
    assert d == b + 5 * PS
    assert v.vmalloc(4 * PS) == a  # CPU 0 again: the pool
    k.check()


# ------------------------------------------------------------------ vmap, get_vm_area
def test_vmap_of_given_pages_and_vunmap(m64):
    k, v = m64
    pages = [k.alloc_page(GFP_KERNEL) for _ in range(4)]
    for i, p in enumerate(pages):
        k.write(k.page_address(p), bytes([i]) * PS)
    a = v.vmap(pages, 4, VM_MAP)
    vm = v.find_vm_area(a)
    assert vm.size == 20480 and vm.nr_pages == 0 and vm.flags == VM_MAP
    assert v.read(a + PS - 1, 2) == b"\x00\x01"
    e, _ = v.lookup_address(a)
    assert e & _PAGE_NX
    assert [v.vmalloc_to_page(a + i * PS) for i in range(4)] == pages
    v.vunmap(a)
    assert all(p.pfn in k.page_alloc.allocated for p in pages)  # the pages stay the caller's
    v.vunmap(a)
    assert "Trying to vunmap() nonexistent vm area" in k.dmesg()
    with pytest.raises(UsageError):
        v.vmap(pages, 5)
    k.check()


def test_vmap_no_guard_is_stripped_with_a_warning(m64):
    k, v = m64
    p = k.alloc_page(GFP_KERNEL)
    a = v.vmap([p], 1, VM_MAP | VM_NO_GUARD)
    assert v.find_vm_area(a).size == 2 * PS
    assert "WARNING: CPU: 0 PID: 1000 at vmap+0x0/0x0" in k.dmesg()


def test_get_vm_area_ioremap_alignment_and_free_vm_area(m64):
    k, v = m64
    v.vmalloc(PS)
    area = v.get_vm_area(3 * PS, VM_IOREMAP)
    assert area.addr % (4 * PS) == 0 and area.size == 4 * PS  # natural alignment of 3 pages: 16K
    area.phys_addr = 0xFEBF0000
    line = v.vmallocinfo().splitlines()[1]
    assert line.endswith(" phys=0x00000000febf0000 ioremap")
    v.free_vm_area(area)
    assert v.find_vm_area(area.addr) is None
    k.check()


def test_is_vmalloc_addr(m64):
    k, v = m64
    assert v.is_vmalloc_addr(v.VMALLOC_START) and not v.is_vmalloc_addr(k.layout.page_offset)
    assert not v.is_vmalloc_addr(v.VMALLOC_END)


# ------------------------------------------------------------------ /proc/vmallocinfo
def test_host_sample_parses():
    lines = parse(HOST.read_text())
    assert len(lines) >= 80
    shapes = {d["shape"] for d in lines}
    assert {"caller pages vmalloc N", "caller vmap", "caller phys ioremap", "caller pages vmalloc vpages N",
            "caller vmalloc", "lazy"} <= shapes


def test_model_lines_have_the_hosts_shapes(m64):
    k, v = m64
    host = {d["shape"] for d in parse(HOST.read_text())}
    v.vmalloc_node_range(4 * PS, 4 * PS, v.VMALLOC_START, v.VMALLOC_END, GFP_KERNEL, None, 0, -1)  # a stack
    v.vmap([k.alloc_page(GFP_KERNEL) for _ in range(4)], 4, VM_MAP)  # an irq stack
    io = v.get_vm_area(PS, VM_IOREMAP)
    io.phys_addr = 0xA0000
    v.vmalloc(641 * PS)  # htab_map_alloc's pages=641 vmalloc vpages, and its pages=2 array
    gone = v.vmalloc(4 * PS)
    v.vfree(gone)
    model = parse(v.vmallocinfo())
    assert {d["shape"] for d in model} <= host
    sizes = {(d["pages"], d["shape"]): int(d["size"]) for d in model}
    assert sizes[("4", "caller pages vmalloc N")] == 20480  # kernel_clone's line
    assert sizes[(None, "caller vmap")] == 20480  # irq_init_percpu_irqstack's line
    assert sizes[(None, "caller phys ioremap")] == 8192  # acpi_os_map_iomem's line
    assert sizes[("641", "caller pages vmalloc vpages N")] == 2629632  # as on the host
    assert sizes[("2", "caller pages vmalloc N")] == 12288
    assert model[-1]["shape"] == "lazy"
    # N0= equals pages=, and the host's VmallocUsed rule: the sum of pages= of vmalloc lines
    assert all(d["numa"] == f" N0={d['pages']}" for d in model if d["pages"])
    used = sum(int(d["pages"]) for d in model if d["pages"] and "vmalloc" in d["flags"])
    assert used == v.vmalloc_nr_pages() == v.meminfo()["VmallocUsed"] // 4


def test_meminfo_numbers(m64):
    k, v = m64
    mi = v.meminfo()
    assert mi["VmallocTotal"] == 34359738367  # as /proc/meminfo on the host
    assert mi["VmallocChunk"] == 0
    host = dict(line.split(":") for line in (HOST.parent / "meminfo-vmalloc.txt").read_text().splitlines())
    assert int(host["VmallocTotal"].split()[0]) == mi["VmallocTotal"]


# ------------------------------------------------------------------ i386, 2.6.24
def test_i386_vmalloc_start_with_the_8mb_gap():
    k = kmemsim.boot("linux-2.6-i386", ram="160M")
    v = k.vmalloc_impl
    assert k.layout.vmalloc_start == 0xCA800000 == k.layout.high_memory + (8 << 20)
    a = v.vmalloc(PS)
    assert a == 0xCA800000
    assert v.find_vm_area(a).size == 2 * PS
    with pytest.raises(Oops):
        v.read(k.layout.high_memory + (4 << 20), 1)  # inside the gap
    k.check()


def test_i386_vmalloc_uses_highmem_and_vmalloc_32_lowmem(m32):
    k, v = m32
    a = v.vmalloc(3 * PS)
    assert all(k.page_zone(k.pfn_to_page(p)) == "HighMem" for p in pfns_of(v, a, 3))
    v.write(a + 4000, b"across a page boundary")
    assert v.read(a + 4000, 22) == b"across a page boundary"
    b = v.vmalloc_32(3 * PS)
    assert all(k.page_zone(k.pfn_to_page(p)) != "HighMem" for p in pfns_of(v, b, 3))
    k.check()


def test_i386_vmlist_vpages_and_meminfo(m32):
    k, v = m32
    a = v.vmalloc(2000 * PS)  # 8000 bytes of page array: vmalloc'ed, VM_VPAGES
    vm = v.find_vm_area(a)
    assert vm.flags == VM_ALLOC | 0x10 and v.is_vmalloc_addr(vm.pages_addr)
    mi = v.meminfo()
    assert mi["VmallocUsed"] == (2001 + 3) * 4  # every area's size, guard pages included
    assert mi["VmallocChunk"] == (v.VMALLOC_END - v.VMALLOC_START) // 1024 - mi["VmallocUsed"]
    assert mi["PageTables"] == 0
    with pytest.raises(UsageError, match="2.6.25"):
        v.vmallocinfo()
    v.vfree(a)
    assert v.areas() == [] and v.meminfo()["VmallocUsed"] == 0
    k.check()


def test_i386_double_vfree_and_no_space_messages(m32):
    k, v = m32
    a = v.vmalloc(PS)
    v.vfree(a)
    v.vfree(a)
    log = k.dmesg()
    assert f"Trying to vfree() nonexistent vm area ({a:08x})\n" in log
    assert "WARNING: at mm/vmalloc.c:381 __vunmap()" in log
    assert not k.taint
    assert v.vmalloc(200 << 20) == 0  # more than the 120 MB area, less than RAM
    assert "allocation failed: out of vmalloc space - use vmalloc=<size> to increase size." in k.dmesg()
    assert v.vmalloc(0) == 0
    with pytest.raises(UsageError, match="4.10"):
        v.vfree_atomic(a)


def test_vfree_in_interrupt_is_a_bug_on_2_6_24(m32):
    k, v = m32
    a = v.vmalloc(PS)
    v.in_interrupt = lambda: True
    with pytest.raises(Oops):
        v.vfree(a)
    assert "kernel BUG at mm/vmalloc.c:419!" in k.dmesg()


# ------------------------------------------------------------------ stateful
class VmallocMachine(RuleBasedStateMachine):
    """Random vmalloc/vfree/vmap/vunmap/get_vm_area/purge; k.check() after every step."""

    @initialize(profile=st.sampled_from(["linux-6.18-x86_64", "linux-2.6-i386"]))
    def boot(self, profile):
        self.k = kmemsim.boot(profile, ram="256M")
        self.v = self.k.vmalloc_impl
        self.allocs: list[int] = []
        self.maps: list[tuple[int, list]] = []
        self.areas: list[VmStruct] = []

    @rule(pages=st.integers(0, 40), extra=st.integers(0, PS - 1),
          kind=st.sampled_from(["vmalloc", "vzalloc", "32", "user"]))
    def vmalloc(self, pages, extra, kind):
        size = pages * PS + extra
        if kind == "vzalloc" and not self.k.features.vzalloc:
            kind = "vmalloc"
        fn = {"vmalloc": self.v.vmalloc, "vzalloc": self.v.vzalloc, "32": self.v.vmalloc_32,
              "user": self.v.vmalloc_user}[kind]
        a = fn(size)
        if size == 0:
            assert a == 0
        elif a:
            self.allocs.append(a)
            self.v.write(a + size - 1, b"\x5a")

    @rule(pages=st.integers(600, 1100))
    def big(self, pages):
        a = self.v.vmalloc(pages * PS)
        if a:
            self.allocs.append(a)

    @precondition(lambda self: self.allocs)
    @rule(data=st.data())
    def vfree(self, data):
        self.v.vfree(self.allocs.pop(data.draw(st.integers(0, len(self.allocs) - 1))))

    @rule(n=st.integers(1, 6))
    def vmap(self, n):
        pages = [self.k.alloc_page(GFP_KERNEL) for _ in range(n)]
        a = self.v.vmap(pages, n, VM_MAP)
        assert a
        self.maps.append((a, pages))

    @precondition(lambda self: self.maps)
    @rule()
    def vunmap(self):
        a, pages = self.maps.pop()
        self.v.vunmap(a)
        for p in pages:
            self.k.free_page_struct(p)

    @rule(size=st.integers(1, 6 * PS), io=st.booleans())
    def get_vm_area(self, size, io):
        area = self.v.get_vm_area(size, VM_IOREMAP if io else VM_ALLOC)
        if area is not None:
            self.areas.append(area)

    @precondition(lambda self: self.areas)
    @rule()
    def free_vm_area(self):
        self.v.free_vm_area(self.areas.pop(0))

    @rule()
    def purge(self):
        self.v.purge_vmap_area_lazy()

    @invariant()
    def consistent(self):
        if hasattr(self, "k"):
            self.k.check()


TestVmallocStateful = VmallocMachine.TestCase
TestVmallocStateful.settings = settings(max_examples=15, stateful_step_count=20, deadline=None,
                                        suppress_health_check=[HealthCheck.too_slow])



def test_write_to_a_read_only_vmap_is_a_protection_fault():
    k = kmemsim.boot()
    pt = k.vmalloc_impl.pt
    p = k.alloc_page(GFP_KERNEL)
    v = k.vmap([p], 1, prot=pt.page_kernel_ro)
    assert len(k.read(v, 8)) == 8  # reading is fine
    with pytest.raises(Oops):
        k.write(v, b"x")
    assert "#PF: error_code(0x0003) - permissions violation" in k.dmesg()
    with pytest.raises(Oops):
        k.read(v + PS, 1)  # the guard page: not present
    assert "#PF: error_code(0x0000) - not-present page" in k.dmesg()
