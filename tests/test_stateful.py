"""Random sequences of memory operations against a reference model, check() after each."""
import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import kmemsim
from kmemsim import Oops


class MemoryMachine(RuleBasedStateMachine):
    """Writes, reads, memsets and faults; a dict of bytes is the reference."""

    profile = "linux-6.18-x86_64"
    ram = "256M"

    @initialize(seed=st.integers(0, 3))
    def boot(self, seed):
        self.k = kmemsim.boot(self.profile, ram=self.ram, seed=seed, on_bug="report")
        self.ref: dict[int, int] = {}  # physical byte -> value written
        self.pfns = [
            p
            for s, e in self.k.arch.setup.memory
            for p in (s >> 12, (s >> 12) + 1, (e >> 12) - 2, (e >> 12) - 1)
            if p < self.k.max_low_pfn
        ]

    def addr(self, data):
        pfn = data.draw(st.sampled_from(self.pfns))
        return self.k.va(pfn << 12) + data.draw(st.integers(0, 4095))

    @rule(data=st.data(), payload=st.binary(min_size=1, max_size=9000))
    def write(self, data, payload):
        a = self.addr(data)
        phys = self.k.pa(a)
        try:
            self.k.write(a, payload)
        except Oops:
            return  # ran off the end of memory: nothing must have changed (checked on reads)
        for i, b in enumerate(payload):
            self.ref[phys + i] = b

    @rule(data=st.data(), n=st.integers(0, 9000))
    def read(self, data, n):
        a = self.addr(data)
        phys = self.k.pa(a)
        try:
            got = self.k.read(a, n)
        except Oops:
            return
        for i, b in enumerate(got):
            if phys + i in self.ref:
                assert b == self.ref[phys + i], hex(phys + i)

    @rule(data=st.data(), c=st.integers(0, 255), n=st.integers(1, 5000))
    def memset(self, data, c, n):
        a = self.addr(data)
        phys = self.k.pa(a)
        try:
            self.k.memset(a, c, n)
        except Oops:
            return
        for i in range(n):
            self.ref[phys + i] = c

    @rule(off=st.integers(0, 1 << 20))
    def fault(self, off):
        try:
            self.k.read(self.k.layout.vmalloc_start + off, 1)
        except Oops:
            pass
        else:
            raise AssertionError("vmalloc space read without a mapping")

    @precondition(lambda self: hasattr(self, "k"))
    @rule(cpu=st.integers(0, 1))
    def switch_cpu(self, cpu):
        with self.k.on_cpu(cpu):
            assert self.k.cpu == cpu

    @invariant()
    def consistent(self):
        if hasattr(self, "k"):
            self.k.check()


class MemoryMachine32(MemoryMachine):
    profile = "linux-2.6-i386"
    ram = "1G"


TestMemory64 = MemoryMachine.TestCase
TestMemory64.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
TestMemory32 = MemoryMachine32.TestCase
TestMemory32.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
