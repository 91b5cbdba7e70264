"""A stateful test of vmalloc/vfree/vmap/vunmap mixed with ioremap/iounmap and MMIO
readl/writel on devices, on both profiles: ``k.check()`` (vmap trees, page tables,
iomem tree, every ioremap mapping exactly its physical pages, memtypes) after every
step, and every MMIO value checked against a shadow of the device."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kmemsim
from kmemsim.errors import KernelBug
from kmemsim.gfp import GFP_KERNEL
from kmemsim.mm.ioremap import Register
from kmemsim.mm.vmalloc import VM_MAP

PS = 4096
#: (phys, size) of the devices: a register block and a 4 MiB, 2 MiB-aligned buffer
#: (PMD leaves on x86_64); a hole with no device in between
REGS, BUF, HOLE = (0xD0000000, 0x4000), (0xD0400000, 0x400000), 0xD0010000
RAM_PAGE = 0x8000000  # 128 MiB: ordinary RAM on both 256 MiB machines


class IoVmallocMachine(RuleBasedStateMachine):
    @initialize(profile=st.sampled_from(["linux-6.18-x86_64", "linux-2.6-i386"]))
    def boot(self, profile):
        self.k = k = kmemsim.boot(profile, ram="256M")
        self.v = k.vmalloc_impl
        self.ctrl_writes = 0
        regs = [Register("CTRL", 0x0, 4, write=self._ctrl_write),
                Register("ID", 0x4, 4, 0x1AF41045, write=lambda r, v: None)]
        self.regdev = k.add_device("regs", REGS[0], REGS[1], regs, bar="0000:00:06.0")
        self.bufdev = k.add_device("buf", BUF[0], BUF[1], bar="0000:00:07.0")
        self.shadow: dict[int, int] = {}  # physical address -> the byte last written there (plain memory)
        self.maps: list[tuple[int, int, int]] = []  # (cookie, phys, size)
        self.allocs: list[int] = []
        self.vmaps: list[tuple[int, list]] = []

    def _ctrl_write(self, reg, value):
        self.ctrl_writes += 1
        reg.value = value ^ 0xFFFF  # a register that changes what it is given

    # ---------------------------------------------------------------- vmalloc side
    @rule(pages=st.integers(0, 24), extra=st.integers(0, PS - 1))
    def vmalloc(self, pages, extra):
        size = pages * PS + extra
        a = self.v.vmalloc(size)
        if size == 0:
            assert a == 0
        elif a:
            self.allocs.append(a)
            self.k.write(a + size - 1, b"\x5a")

    @precondition(lambda self: self.allocs)
    @rule(data=st.data())
    def vfree(self, data):
        self.v.vfree(self.allocs.pop(data.draw(st.integers(0, len(self.allocs) - 1))))

    @rule(n=st.integers(1, 4))
    def vmap(self, n):
        pages = [self.k.alloc_page(GFP_KERNEL) for _ in range(n)]
        a = self.v.vmap(pages, n, VM_MAP)
        assert a
        self.vmaps.append((a, pages))

    @precondition(lambda self: self.vmaps)
    @rule()
    def vunmap(self):
        a, pages = self.vmaps.pop()
        self.v.vunmap(a)
        for p in pages:
            self.k.free_page_struct(p)

    @rule()
    def purge(self):
        self.v.purge_vmap_area_lazy()

    # ---------------------------------------------------------------- ioremap side
    @rule(which=st.sampled_from(["regs", "buf", "hole"]), start=st.integers(0, 1023), pages=st.integers(1, 1024),
          off=st.integers(0, PS - 1), fn=st.sampled_from(["ioremap", "other"]))
    def ioremap(self, which, start, pages, off, fn):
        base, size = {"regs": REGS, "buf": BUF, "hole": (HOLE, 0x10000)}[which]
        start = (start * PS) % size
        length = min(pages * PS, size - start)
        length = max(1, length - off)
        phys = base + start + off if off < size - start else base + start
        if fn == "other":
            fn = "ioremap_nocache" if self.k.profile.arch == "i386" else "ioremap_wc"
        a = getattr(self.k, fn)(phys, length)
        if a == 0:  # 6.18 only: a PAT conflict with earlier mappings of other types
            last = self.k.dmesg().splitlines()[-1]
            assert self.k.profile.name == "linux-6.18-x86_64"
            assert "ioremap error for" in last or "memtype_reserve failed -16" in last
            return
        assert a & (PS - 1) == phys & (PS - 1)
        self.maps.append((a, phys, length))

    @rule()
    def ioremap_ram(self):
        assert self.k.ioremap(RAM_PAGE, PS) == 0

    @precondition(lambda self: self.maps)
    @rule(data=st.data())
    def iounmap(self, data):
        a, phys, _ = self.maps.pop(data.draw(st.integers(0, len(self.maps) - 1)))
        self.k.iounmap(a + data.draw(st.integers(0, PS - 1 - (a & (PS - 1)))))  # anywhere in its first page

    @precondition(lambda self: self.maps)
    @rule(data=st.data(), value=st.integers(0, 0xFFFFFFFF))
    def writel(self, data, value):
        a, phys, length = data.draw(st.sampled_from(self.maps))
        if length < 4:
            return
        o = data.draw(st.integers(0, length - 4))
        p = phys + o
        before = self.ctrl_writes
        self.k.writel(value, a + o)
        assert self.ctrl_writes == before + (p < REGS[0] + 4 and REGS[0] < p + 4)
        for i, b in enumerate(value.to_bytes(4, "little")):
            if not REGS[0] <= p + i < REGS[0] + 8:
                self.shadow[p + i] = b

    @precondition(lambda self: self.maps)
    @rule(data=st.data())
    def readl(self, data):
        a, phys, length = data.draw(st.sampled_from(self.maps))
        if length < 4:
            return
        o = data.draw(st.integers(0, length - 4))
        p = phys + o
        regs = self.regdev.reg("CTRL").value.to_bytes(4, "little") + (0x1AF41045).to_bytes(4, "little")
        want = bytes(regs[q - REGS[0]] if REGS[0] <= q < REGS[0] + 8 else
                     0xFF if HOLE <= q < HOLE + 0x10000 else self.shadow.get(q, 0) for q in range(p, p + 4))
        assert self.k.readl(a + o) == int.from_bytes(want, "little"), hex(p)

    @precondition(lambda self: self.maps)
    @rule(data=st.data())
    def plain_read_is_flagged(self, data):
        a, _, _ = data.draw(st.sampled_from(self.maps))
        with pytest.raises(KernelBug, match="__iomem"):
            self.k.read(a, 1)  # the model's __iomem rule, under on_bug="raise"

    @invariant()
    def consistent(self):
        if hasattr(self, "k"):
            self.k.check()


TestIoVmallocStateful = IoVmallocMachine.TestCase
TestIoVmallocStateful.settings = settings(max_examples=15, stateful_step_count=25, deadline=None,
                                          suppress_health_check=[HealthCheck.too_slow])
