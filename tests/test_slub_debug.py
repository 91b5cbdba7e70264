"""slab_debug: byte patterns, checks on alloc and free, the 6.15+ report text, tracking,
validate, alloc_traces; and a stateful test of corruptions and repairs."""
import re

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import kmemsim
from kmemsim import SLAB_CONSISTENCY_CHECKS, SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER, SLAB_TRACE, KernelBug, gfp
from kmemsim.gfp import GFP_KERNEL

ZERO = getattr(gfp, "__GFP_ZERO")
FZPU = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER


def boot(**kw):
    kw.setdefault("on_bug", "report")
    kw.setdefault("slab_freelist_random", False)
    return kmemsim.boot(**kw)


def new_lines(k, before):
    return [re.sub(r"^\[\s*[\d.]+\] ", "", line) for line in k.dmesg().splitlines()[before:]]


def mark(k):
    return len(k.dmesg().splitlines())


# --------------------------------------------------------------------------- bytes
def test_allocated_object_bytes_in_a_poisoned_kmalloc_cache():
    """Seen live on 6.12: kmalloc(1020) in kmalloc-1k showed 6b x 1019, a5, cc cc cc cc."""
    k = boot(slab_debug="FZPU,kmalloc-1k")
    p = k.kmalloc(1020, GFP_KERNEL)
    assert k.read(p, 1024) == b"\x6b" * 1019 + b"\xa5" + b"\xcc" * 4
    s = k.find_cache("kmalloc-1k")
    assert k.read(p - s.red_left_pad, s.red_left_pad) == b"\xcc" * s.red_left_pad
    k.kfree(p)
    # free: poison over the whole object, red zones inactive
    assert k.read(p, 1024) == b"\x6b" * 1023 + b"\xa5"
    assert k.read(p + 1024, s.inuse - 1024) == b"\xbb" * (s.inuse - 1024)
    k.check()


def test_kzalloc_zeroes_the_request_and_red_zones_the_rest():
    k = boot(slab_debug="FZPU,kmalloc-64")
    p = k.kzalloc(50, GFP_KERNEL)
    assert k.read(p, 64) == bytes(50) + b"\xcc" * 14
    k.kfree(p)
    assert "BUG" not in k.dmesg()


def test_new_poisoned_slab_padding_is_0x5a():
    k = boot()
    s = k.kmem_cache_create("pad", 100, 0, SLAB_POISON)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    slab, _ = k.slub.object_of(p)
    tail = (k.page_size << slab.order) % s.size
    assert tail and k.read(slab.addr + (k.page_size << slab.order) - tail, tail) == b"\x5a" * tail


def test_debug_caches_never_get_a_cpu_slab_and_bypass_the_fast_path():
    k = boot(slab_debug="F,kmalloc-64")
    s = k.find_cache("kmalloc-64")
    ps = [k.kmalloc(60, GFP_KERNEL) for _ in range(100)]
    assert all(c.slab is None and not c.partial for c in s.cpu_slab)
    for p in ps:
        k.kfree(p)
    assert all(c.slab is None for c in s.cpu_slab)
    k.check()


# --------------------------------------------------------------------------- reports
def test_right_redzone_overwrite_report_text():
    k = boot(slab_debug="FZPU,kmalloc-64")
    s = k.find_cache("kmalloc-64")

    def my_driver_init():
        return k.kmalloc(64, GFP_KERNEL)

    p = my_driver_init()
    k.write_u8(p + 64, 0x12)
    m = mark(k)
    k.kfree(p)
    out = new_lines(k, m)
    slab, _ = k.slub.object_of(p)
    assert out[0] == (f"[Right Redzone overwritten] {p + 64:#x}-{p + 64:#x} @offset={p + 64 - slab.addr}. "
                      f"First byte 0x12 instead of 0xcc")
    assert out[1] == "=" * 77
    assert out[2] == "BUG kmalloc-64 (Not tainted): Object corrupt"
    assert out[3] == "-" * 77 and out[4] == ""
    assert out[5].startswith("Allocated in my_driver_init+0x0/0x0 [test_slub_debug.py:")
    assert re.search(r" age=\d+ cpu=0 pid=1000$", out[5])
    i = next(n for n, line in enumerate(out) if line.startswith("Slab 0x"))
    assert re.match(r"Slab 0x[0-9a-f]{16} objects=\d+ used=1 fp=0x[0-9a-f]+ flags=0x[0-9a-f]+\(", out[i])
    assert out[i + 1].startswith(f"Object {p:#x} @offset={p - slab.addr} fp=0x")
    assert out[i + 2] == ""
    # Redzone (left), Object, Redzone (right), Padding; 16 bytes a line, address prefix, ascii column
    assert out[i + 3] == f"Redzone  {p - s.red_left_pad:016x}: " + " ".join(["cc"] * 16) + "  " + "." * 16
    objline = next(line for line in out if line.startswith("Object   "))
    assert objline == f"Object   {p:016x}: " + " ".join(["6b"] * 16) + "  " + "k" * 16
    rz = [line for line in out if line.startswith(f"Redzone  {p + 64:016x}")]
    assert rz == [f"Redzone  {p + 64:016x}: 12 cc cc cc cc cc cc cc" + " " * 26 + "........"]
    assert any(line.startswith("Padding  ") for line in out)
    assert "Disabling lock debugging due to kernel taint" in out
    assert "WARNING: CPU: 0 PID: 1000 at mm/slub.c:1232 object_err+0x0/0x0" in out
    assert f"FIX kmalloc-64: Restoring Right Redzone {p + 64:#x}-{p + 64:#x}=0xcc" in out
    assert out[-1] == f"FIX kmalloc-64: Object at {p:#x} not freed"
    assert "B" in k.taint and "W" in k.taint
    # the object was not freed (the kernel leaks it rather than trust it), the machine is whole
    assert k.slub.object_of(p)[0].inuse == 1
    k.check()
    # the next report says the kernel is tainted
    q = k.kmalloc(64, GFP_KERNEL)
    k.write_u8(q - 1, 0x00)
    m = mark(k)
    k.kfree(q)
    out = new_lines(k, m)
    assert out[0].startswith("[Left Redzone overwritten]")
    assert out[2] == "BUG kmalloc-64 (Tainted: G    B   W" + " " * 10 + "): Object corrupt"


def test_on_bug_raise_raises_after_the_repair():
    k = boot(slab_debug="FZ,kmalloc-128", on_bug="raise")
    p = k.kmalloc(100, GFP_KERNEL)
    k.write(p + 128, b"\xff\xff")
    with pytest.raises(KernelBug, match="Object corrupt"):
        k.kfree(p)
    k.check()
    assert k.read(p + 128, 2) == b"\xcc\xcc"  # restored


def test_double_free_object_already_free():
    k = boot(slab_debug="F,kmalloc-32")
    a = k.kmalloc(32, GFP_KERNEL)
    b = k.kmalloc(32, GFP_KERNEL)
    k.kfree(a)
    m = mark(k)
    k.kfree(a)
    out = new_lines(k, m)
    assert "BUG kmalloc-32 (Not tainted): Object already free" in out
    assert out[-1] == f"FIX kmalloc-32: Object at {a:#x} not freed"
    k.kfree(b)
    k.check()


def test_double_free_of_the_only_object():
    """Seen live on 6.12: a double free on a slab whose only object was already freed."""
    k = boot()
    s = k.kmem_cache_create("lonely", 4000, 0, SLAB_CONSISTENCY_CHECKS)  # one object per slab
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    m = mark(k)
    k.kmem_cache_free(s, p)
    out = new_lines(k, m)
    assert "BUG lonely (Not tainted): Slab has 0 allocated objects but 1 are to be freed" in out
    k.check()


def test_write_after_free_detected_at_the_next_allocation():
    k = boot(slab_debug="FZPU,kmalloc-1k")
    p = k.kmalloc(1024, GFP_KERNEL)
    q = k.kmalloc(1024, GFP_KERNEL)
    k.kfree(q)
    k.kfree(p)
    k.write_u8(p + 8, 0xF0)  # use after free
    m = mark(k)
    r = k.kmalloc(1024, GFP_KERNEL)  # the freed p is the slab's freelist head
    out = new_lines(k, m)
    assert out[0].startswith(f"[Poison overwritten] {p + 8:#x}-{p + 8:#x} @offset=")
    assert out[0].endswith("First byte 0xf0 instead of 0x6b")
    assert "FIX kmalloc-1k: Marking all objects used" in out
    assert r and r != p  # the slab was isolated; the allocation came from a new slab
    k.check()


def test_freeing_into_the_wrong_cache():
    k = boot()
    # (F alone does not stop merging; the red zone does)
    a = k.kmem_cache_create("cache-a", 64, 0, SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE)
    b = k.kmem_cache_create("cache-b", 64, 0, SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE)
    p = k.kmem_cache_alloc(a, GFP_KERNEL)
    m = mark(k)
    k.kmem_cache_free(b, p)
    out = new_lines(k, m)
    assert "cache_from_obj: Wrong slab cache. cache-b but object is from cache-a" in out
    assert k.slub.object_of(p)[0].inuse == 0  # freed into its real cache
    k.check()


def test_invalid_pointer_free():
    k = boot(slab_debug="F,kmalloc-64")
    p = k.kmalloc(64, GFP_KERNEL)
    m = mark(k)
    k.kfree(p + 8)
    out = new_lines(k, m)
    assert f"BUG kmalloc-64 (Not tainted): Invalid object pointer {p + 8:#x}" in out
    assert out[-1] == f"FIX kmalloc-64: Object at {p + 8:#x} not freed"
    k.kfree(p)
    k.check()


def test_slab_trace_lines():
    k = boot()
    s = k.kmem_cache_create("traced", 32, 0, SLAB_TRACE)
    m = mark(k)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    out = new_lines(k, m)
    assert out[0] == f"TRACE traced alloc {p:#x} inuse=1 fp={p + s.size:#x}"
    assert any(line.startswith(f"TRACE traced free {p:#x} inuse=1") for line in out)
    assert any(line.startswith(f"Object {p:016x}: ") for line in out)


# --------------------------------------------------------------------------- traces / sysfs
def test_alloc_and_free_traces():
    k = boot(slab_debug="U,kmalloc-96")

    def make_buffers(n):
        out = []
        for _ in range(n):
            out.append(k.kmalloc(70, GFP_KERNEL))
        return out

    bufs = make_buffers(3)
    other = k.kmalloc(96, GFP_KERNEL)
    text = k.debugfs("slab/kmalloc-96/alloc_traces")
    lines = text.splitlines()
    assert re.match(r"^      3 make_buffers\+0x0/0x0 \[test_slub_debug.py:\d+\] waste=78/26 age=0 pid=1000 cpus=0$",
                    lines[0])
    assert lines[1].startswith("        make_buffers+0x0/0x0 [")
    assert any(re.match(r"^      1 test_alloc_and_free_traces\+0x0/0x0 \[test_slub_debug.py:\d+\] age=0 pid=1000", x)
               for x in lines)
    # free_traces lists the free tracks of objects in use: never freed -> <not-available>
    assert k.debugfs("slab/kmalloc-96/free_traces").startswith("      4 <not-available> age=")
    for b in bufs:
        k.kfree(b)
    k.kfree(other)
    assert k.debugfs("slab/kmalloc-96/alloc_traces") == "No data\n"
    with pytest.raises(kmemsim.UsageError, match="SLAB_STORE_USER"):
        k.debugfs("slab/kmalloc-64/alloc_traces")


def test_sysfs_debug_flags_and_validate_write():
    k = boot(slab_debug="FZPU,kmalloc-64")
    assert [k.sysfs(f"kernel/slab/kmalloc-64/{a}") for a in ("sanity_checks", "red_zone", "poison", "store_user")] \
        == ["1\n"] * 4
    assert k.sysfs("kernel/slab/kmalloc-128/red_zone") == "0\n"
    p = k.kmalloc(64, GFP_KERNEL)
    k.write_u8(p + 64, 0)
    m = mark(k)
    k.sysfs_write("kernel/slab/kmalloc-64/validate", "1")
    assert any("Right Redzone overwritten" in line for line in new_lines(k, m))
    with pytest.raises(kmemsim.UsageError):
        k.sysfs_write("kernel/slab/kmalloc-64/validate", "2")
    k.check()


def test_freepointer_corruption_in_a_non_debug_cache_oopses_like_the_kernel():
    k = boot(on_bug="report")
    s = k.kmem_cache_create("plain", 64, 0, 0)
    p = k.kmem_cache_alloc(s, GFP_KERNEL)
    k.kmem_cache_free(s, p)
    k.write_u64(p + s.offset, 0xdead000000000000)  # a non-canonical next pointer
    assert k.kmem_cache_alloc(s, GFP_KERNEL) == p
    with pytest.raises(kmemsim.Oops):
        k.kmem_cache_alloc(s, GFP_KERNEL)


# --------------------------------------------------------------------------- stateful
class DebugCacheMachine(RuleBasedStateMachine):
    """Random allocs, frees, corruptions of free and allocated objects, and validations in
    debug caches; after each validation every counter and freelist is consistent again."""

    @initialize(flags=st.sampled_from(["FZPU", "FZ", "FP", "ZPU", "FU"]), size=st.sampled_from([24, 64, 200]))
    def setup(self, flags, size):
        self.k = boot(slab_debug=f"{flags},kmalloc-*")
        self.flags = flags
        self.size = size
        self.live: list[int] = []
        self.freed: list[int] = []
        self.dirty = False

    @rule()
    def alloc(self):
        if self.dirty:
            return
        p = self.k.kmalloc(self.size, GFP_KERNEL)
        assert p
        self.live.append(p)
        if p in self.freed:
            self.freed.remove(p)

    @rule(i=st.integers(0, 1000))
    def free(self, i):
        if self.dirty or not self.live:
            return
        p = self.live.pop(i % len(self.live))
        self.k.kfree(p)
        self.freed.append(p)

    @rule(i=st.integers(0, 1000), where=st.sampled_from(["object", "after", "before"]), b=st.integers(0, 255))
    def corrupt_live(self, i, where, b):
        if not self.live:
            return
        p = self.live[i % len(self.live)]
        s = self.k.slub.object_of(p)[0].cache
        at = {"object": p + self.size - 1, "after": p + s.object_size, "before": p - 1}[where]
        slab = self.k.slub.object_of(p)[0]
        if not slab.addr <= at < slab.addr + (self.k.page_size << slab.order):
            return
        self.k.write_u8(at, b)
        self.dirty = True

    @rule(i=st.integers(0, 1000), off=st.integers(0, 300), b=st.integers(0, 255))
    def corrupt_freed(self, i, off, b):
        if not self.freed:
            return
        p = self.freed[i % len(self.freed)]
        slab = self.k.slub.object_of(p)[0]
        if slab is None or slab.cache.flags & self.k.slab_flags.SLAB_CONSISTENCY_CHECKS == 0:
            return
        at = p + off % slab.cache.size
        if at >= slab.addr + (self.k.page_size << slab.order):
            return
        self.k.write_u8(at, b)
        self.dirty = True

    @rule()
    def validate(self):
        for s in list(self.k.slub.caches):
            if s.debug and s.nr_slabs:
                self.k.validate_slab_cache(s)
        self.dirty = False
        # objects cut from a corrupted freelist stay "in use" for good: forget them
        self.freed = [p for p in self.freed if self._is_free(p)]
        self.k.check()

    def _is_free(self, p):
        slab = self.k.slub.object_of(p)[0]
        return slab is not None and p in self.k.slub.dbg._free_set(slab.cache, slab)

    @invariant()
    def consistent_when_clean(self):
        if not self.dirty:
            self.k.check()


DebugCacheMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
test_debug_cache_machine = DebugCacheMachine.TestCase
