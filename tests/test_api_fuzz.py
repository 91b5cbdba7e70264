"""A standing fuzz table of bad API calls: every one is a kmemsim error, on both profiles.

Each row is a call the kernel's C types would not let through (a float size, a string
pointer, a negative order, a node that does not exist, a gfp that is no flag word, a
struct page where an address goes ...) or a misuse the kernel itself reports.  For each
row and each profile the test asserts that

* the call raises a :class:`kmemsim.errors.KmemsimError` (a ``UsageError`` for bad
  arguments; the kernel's own report -- ``KernelBug``, ``Oops`` -- for misuse it catches),
  never a Python exception from inside the model;
* ``k.check()`` passes afterwards (nothing was left half-changed);
* the machine still works: a kmalloc/kfree pair, a page and a vmalloc area after it.

Most rows are generated: ``GOOD`` holds one good call per API function, and each
argument of it is replaced in turn by the bad values of its kind (``BAD_INT``,
``BAD_SIZE``, ``BAD_PTR``, ``BAD_GFP``, ``BAD_OBJ`` ...).  ``EXTRA`` adds the
hand-written ones (the pointer rule, a destructor after 2.6.23, a failing constructor).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import kmemsim
from kmemsim.errors import KernelBug, KmemsimError, UsageError

PROFILES = ("linux-6.18-x86_64", "linux-2.6-i386")
#: the classic allocators too (issue 14): "profile:allocator" machines of the bad-call table
#: (SLAB of 2.6.11 and SLOB in the default run; the other SLABs marked slow, to keep it fast)
MACHINES = PROFILES + ("linux-2.6.11-i386", "linux-2.6.24-i386:slob",
                       pytest.param("linux-2.6.24-i386:slab", marks=pytest.mark.slow),
                       pytest.param("linux-6.6-x86_64:slab", marks=pytest.mark.slow))


def boot_spec(spec: str) -> kmemsim.Kernel:
    profile, _, allocator = spec.partition(":")
    return kmemsim.boot(profile, **({"slab_allocator": allocator} if allocator else {}))


class Objs:
    """The good objects of one machine that the rows refer to by name."""

    def __init__(self, k: kmemsim.Kernel) -> None:
        self.k = k
        self.g = k.gfp.GFP_KERNEL
        self.c = k.kmem_cache_create("fuzz_cache", 64)
        self.p = k.kmalloc(64, self.g)
        self.p2 = k.kmalloc(64, self.g)
        self.v = k.vmalloc(8192)
        self.page = k.alloc_pages(self.g, 0)
        self.addr = k.get_free_pages(self.g, 0)
        self.dev = k.dma_device("fuzzdev")
        self.pool = k.mempool_create_kmalloc_pool(2, 64)
        self.lock = k.spinlock("fuzzlock")
        self.mutex = k.mutex("fuzzmutex")
        self.wq = k.waitqueue("fuzzwq")
        self.pa = k.pa(self.p)


@dataclass(frozen=True)
class Good:
    """One good call: ``fn`` on the machine with ``args(o)``; ``kinds`` says the kind of each
    positional argument ("int", "size", "ptr", "gfp", "order", "node", "obj", "str", "" = leave)."""

    fn: str
    args: Callable[[Objs], tuple[Any, ...]]
    kinds: tuple[str, ...]


GOOD: list[Good] = [
    # slab
    Good("kmalloc", lambda o: (64, o.g), ("size", "gfp")),
    Good("kzalloc", lambda o: (64, o.g), ("size", "gfp")),
    Good("kmalloc_node", lambda o: (64, o.g, 0), ("size", "gfp", "node")),
    Good("kmalloc_array", lambda o: (2, 32, o.g), ("size", "size", "gfp")),
    Good("kcalloc", lambda o: (2, 32, o.g), ("size", "size", "gfp")),
    Good("krealloc", lambda o: (o.p, 32, o.g), ("ptr", "size", "gfp")),
    Good("kfree", lambda o: (o.p,), ("ptr",)),
    Good("ksize", lambda o: (o.p,), ("ptr",)),
    Good("kmalloc_size_roundup", lambda o: (64,), ("size",)),
    Good("kmem_cache_alloc", lambda o: (o.c, o.g), ("obj", "gfp")),
    Good("kmem_cache_zalloc", lambda o: (o.c, o.g), ("obj", "gfp")),
    Good("kmem_cache_free", lambda o: (o.c, o.p), ("obj", "ptr")),
    Good("kmem_cache_shrink", lambda o: (o.c,), ("obj",)),
    Good("validate_slab_cache", lambda o: (o.c,), ("obj",)),
    Good("kmem_cache_create", lambda o: ("fuzz2", 32, 8, 0, None), ("str", "size", "int", "", "")),
    Good("kmemdup", lambda o: (o.p, 16, o.g), ("ptr", "size", "gfp")),
    Good("kstrdup", lambda o: ("abc", o.g), ("str", "gfp")),
    Good("kstrndup", lambda o: ("abc", 2, o.g), ("str", "size", "gfp")),
    Good("kfree_sensitive", lambda o: (o.p,), ("ptr",)),
    Good("kvmalloc", lambda o: (64, o.g), ("size", "gfp")),
    Good("kvfree", lambda o: (o.p,), ("ptr",)),
    # pages
    Good("get_free_pages", lambda o: (o.g, 0), ("gfp", "order")),
    Good("get_free_page", lambda o: (o.g,), ("gfp",)),
    Good("get_zeroed_page", lambda o: (o.g,), ("gfp",)),
    Good("get_dma_pages", lambda o: (o.g, 0), ("gfp", "order")),
    Good("alloc_pages", lambda o: (o.g, 0), ("gfp", "order")),
    Good("alloc_page", lambda o: (o.g,), ("gfp",)),
    Good("free_pages", lambda o: (o.addr, 0), ("ptr", "order")),
    Good("free_page", lambda o: (o.addr,), ("ptr",)),
    Good("free_pages_struct", lambda o: (o.page, 0), ("obj", "order")),
    Good("free_page_struct", lambda o: (o.page,), ("obj",)),
    Good("get_page", lambda o: (o.page,), ("obj",)),
    Good("put_page", lambda o: (o.page,), ("obj",)),
    Good("page_zone", lambda o: (o.page,), ("obj",)),
    Good("alloc_pages_exact", lambda o: (8192, o.g), ("size", "gfp")),
    Good("try_to_free_pages", lambda o: (o.g, 0), ("gfp", "")),
    # vmalloc
    Good("vmalloc", lambda o: (4096,), ("size",)),
    Good("vzalloc", lambda o: (4096,), ("size",)),
    Good("vmalloc_user", lambda o: (4096,), ("size",)),
    Good("vmalloc_32", lambda o: (4096,), ("size",)),
    Good("vmalloc_node", lambda o: (4096, 0), ("size", "node")),
    Good("vzalloc_node", lambda o: (4096, 0), ("size", "node")),
    Good("vmalloc_gfp", lambda o: (4096, o.g), ("size", "gfp")),
    Good("vfree", lambda o: (o.v,), ("ptr",)),
    Good("vunmap", lambda o: (o.v,), ("ptr",)),
    Good("find_vm_area", lambda o: (o.v,), ("ptr",)),
    Good("vmalloc_to_page", lambda o: (o.v,), ("ptr",)),
    Good("vmalloc_to_pfn", lambda o: (o.v,), ("ptr",)),
    # memory access (the machine's own methods)
    Good("memset", lambda o: (o.p, 0, 8), ("ptr", "int", "size")),
    Good("memcpy", lambda o: (o.p, o.p2, 8), ("ptr", "ptr", "size")),
    Good("memcmp", lambda o: (o.p, o.p2, 8), ("ptr", "ptr", "size")),
    Good("read", lambda o: (o.p, 8), ("ptr", "size")),
    Good("write", lambda o: (o.p, b"abc"), ("ptr", "bytes")),
    Good("read_u32", lambda o: (o.p,), ("ptr",)),
    Good("write_u32", lambda o: (o.p, 7), ("ptr", "int")),
    Good("pa", lambda o: (o.p,), ("ptr",)),
    Good("va", lambda o: (o.pa,), ("ptr",)),
    Good("virt_addr_valid", lambda o: (o.p,), ("ptr",)),
    # mempool
    Good("mempool_alloc", lambda o: (o.pool, o.g), ("obj", "gfp")),
    Good("mempool_create_kmalloc_pool", lambda o: (2, 64), ("size", "size")),
    Good("mempool_create_page_pool", lambda o: (2, 0), ("int", "order")),
    Good("mempool_resize", lambda o: (o.pool, 3), ("obj", "int")),
    # highmem, DMA
    Good("kmap", lambda o: (o.page,), ("obj",)),
    Good("kmap_local_page", lambda o: (o.page,), ("obj",)),
    Good("dma_map_single", lambda o: (o.dev, o.p, 64, kmemsim.DMA_TO_DEVICE), ("obj", "ptr", "size", "int")),
    Good("dma_alloc_coherent", lambda o: (o.dev, 4096, o.g), ("obj", "size", "gfp")),
    Good("dma_set_mask", lambda o: (o.dev, (1 << 32) - 1), ("obj", "int")),
    # contexts and time
    Good("spin_lock", lambda o: (o.lock,), ("obj",)),
    Good("mutex_lock", lambda o: (o.mutex,), ("obj",)),
    Good("wake_up", lambda o: (o.wq,), ("obj",)),
    Good("msleep", lambda o: (1,), ("int",)),
    Good("mdelay", lambda o: (1,), ("int",)),
    Good("udelay", lambda o: (1,), ("int",)),
    Good("msecs_to_jiffies", lambda o: (10,), ("int",)),
    # reclaim
    Good("shrink_slab", lambda o: (o.g, 0), ("gfp", "int")),
    Good("ioremap", lambda o: (0xFEB00000, 4096), ("int", "size")),
]

#: the bad values of each kind of argument
BAD_INT: list[Any] = [None, 1.5, "7", True, b"\x07", [7], object()]
BAD: dict[str, list[Any]] = {
    "int": BAD_INT,
    "size": [*BAD_INT, -1, 1 << 64],
    "order": [*BAD_INT, -1, 1 << 32],
    "node": [*BAD_INT, -2, 1, 7],
    "ptr": [*BAD_INT, -1, -16, 1 << 64],
    "gfp": [None, 1.5, True, -1, 1 << 32, 1 << 40, "NO_SUCH_FLAG", "GFP_KERNEL|", object(), [0xCC0]],
    "obj": [None, "x", 5, 1.5, object()],
    "str": [None, 5, 1.5, object()],
    "bytes": [None, 5, 1.5, "abc"],
}
#: objects that may be None where the kernel takes NULL (kmem_cache_destroy(NULL) is a no-op)
NONE_OK = {("dma_alloc_coherent", 2)}  # gfp None: the model's default, GFP_KERNEL


@dataclass(frozen=True)
class Row:
    id: str
    call: Callable[[kmemsim.Kernel, Objs], Any]
    expect: type[BaseException] = KmemsimError


def _generated() -> list[Row]:
    rows = []
    for good in GOOD:
        for i, kind in enumerate(good.kinds):
            for bad in BAD.get(kind, []):
                if bad is None and (good.fn, i) in NONE_OK:
                    continue

                def call(k: kmemsim.Kernel, o: Objs, good: Good = good, i: int = i, bad: Any = bad) -> Any:
                    args = list(good.args(o))
                    args[i] = bad
                    return getattr(k, good.fn)(*args)

                shown = repr(bad) if not isinstance(bad, object) or type(bad) is not object else "object()"
                rows.append(Row(f"{good.fn}[{i}]={shown[:24]}", call))
    return rows


def _ctor_raises(k: kmemsim.Kernel, o: Objs) -> Any:
    def ctor(addr: int) -> None:
        raise RuntimeError("the constructor fails")

    c = k.kmem_cache_create("fuzz_badctor", 48, 0, 0, ctor)
    return k.kmem_cache_alloc(c, o.g)


def _ctor_recurses(k: kmemsim.Kernel, o: Objs) -> Any:
    box: list[Any] = []

    def ctor(addr: int) -> None:
        k.kmem_cache_alloc(box[0], o.g)

    box.append(k.kmem_cache_create("fuzz_recctor", 40, 0, 0, ctor))
    return k.kmem_cache_alloc(box[0], o.g)


EXTRA: list[Row] = [
    # the pointer rule: no pointer is negative or wider than the address space
    Row("kfree(-1)", lambda k, o: k.kfree(-1), UsageError),
    Row("kvfree(-1)", lambda k, o: k.kvfree(-1), UsageError),
    Row("vfree(-1)", lambda k, o: k.vfree(-1), UsageError),
    Row("free_pages(-1)", lambda k, o: k.free_pages(-1), UsageError),
    Row("kmem_cache_free(c, -1)", lambda k, o: k.kmem_cache_free(o.c, -1), UsageError),
    Row("kfree(page)", lambda k, o: k.kfree(o.page), UsageError),
    Row("free_pages(page)", lambda k, o: k.free_pages(o.page), UsageError),
    Row("free_pages_struct(addr)", lambda k, o: k.free_pages_struct(o.addr), UsageError),
    Row("free_pages_struct(None)", lambda k, o: k.free_pages_struct(None), UsageError),
    # addresses of the wrong kind: the kernel's own report, naming the function
    Row("kfree(vmalloc address)", lambda k, o: k.kfree(o.v), KernelBug),
    Row("free_pages(vmalloc address)", lambda k, o: k.free_pages(o.v), KernelBug),
    Row("free_pages(unaligned)", lambda k, o: k.free_pages(o.addr + 8), KernelBug),
    # arguments of other kinds
    Row("kmem_cache_create(dtor)", lambda k, o: k.kmem_cache_create("fuzz_dtor", 32, 0, 0, None, lambda a: None),
        UsageError),
    Row("kmem_cache_create(dtor=None)", lambda k, o: k.kmem_cache_create("fuzz_dtor", 32, 0, 0, None, None),
        UsageError),
    Row("kmem_cache_create('')", lambda k, o: k.kmem_cache_create("", 32), UsageError),
    Row("kmem_cache_create(flags=-1)", lambda k, o: k.kmem_cache_create("fuzz3", 32, 0, -1), UsageError),
    Row("kmem_cache_create(flags='NOPE')", lambda k, o: k.kmem_cache_create("fuzz3", 32, 0, "NOPE"), UsageError),
    Row("kmem_cache_create(ctor=5)", lambda k, o: k.kmem_cache_create("fuzz3", 32, 0, 0, 5), UsageError),
    Row("kmem_cache_create(align=-8)", lambda k, o: k.kmem_cache_create("fuzz3", 32, -8), UsageError),
    Row("ctor raises", _ctor_raises, UsageError),
    Row("ctor recurses", _ctor_recurses, UsageError),
    Row("kmalloc(1.5, gfp)", lambda k, o: k.kmalloc(1.5, o.g), UsageError),
    Row("kmalloc(100, None)", lambda k, o: k.kmalloc(100, None), UsageError),
    Row("kmalloc(100, 1.5)", lambda k, o: k.kmalloc(100, 1.5), UsageError),
    Row("kmalloc(100, float of GFP_KERNEL)", lambda k, o: k.kmalloc(100, float(o.g)), UsageError),
    Row("get_free_pages(float of GFP_KERNEL)", lambda k, o: k.get_free_pages(float(o.g), 0), UsageError),
    Row("get_free_pages(order False)", lambda k, o: k.get_free_pages(o.g, False), UsageError),
    Row("kmem_cache_alloc(c, 1<<40)", lambda k, o: k.kmem_cache_alloc(o.c, 1 << 40), UsageError),
    Row("kmem_cache_alloc(destroyed)", lambda k, o: k.kmem_cache_alloc(_destroyed(k), o.g), UsageError),
    Row("kstrdup(5)", lambda k, o: k.kstrdup(5, o.g), UsageError),
    Row("kstrdup(bytes of 5)", lambda k, o: k.kstrdup(None, o.g), UsageError),
    Row("memset(p, 0, None)", lambda k, o: k.memset(o.p, 0, None), UsageError),
    Row("memset(p, None, 8)", lambda k, o: k.memset(o.p, None, 8), UsageError),
    Row("read(p, 1.5)", lambda k, o: k.read(o.p, 1.5), UsageError),
    Row("read(p, -1)", lambda k, o: k.read(o.p, -1), UsageError),
    Row("read(top, 16)", lambda k, o: k.read(o.k.SIZE_MAX - 4, 16), UsageError),
    Row("write(p, 'str')", lambda k, o: k.write(o.p, "abc"), UsageError),
    Row("write_u8(p, 256)", lambda k, o: k.write_u8(o.p, 256), UsageError),
    Row("write_u8(p, -1)", lambda k, o: k.write_u8(o.p, -1), UsageError),
    Row("read(NULL, 8)", lambda k, o: k.read(0, 8), KmemsimError),
    Row("proc('nope')", lambda k, o: k.proc("nope"), UsageError),
    Row("sysfs('kernel/slab/nope/order')", lambda k, o: k.sysfs("kernel/slab/nope/order"), UsageError),
    Row("debugfs('nope/x')", lambda k, o: k.debugfs("nope/x"), UsageError),
    Row("sysfs_write(validate, 2)", lambda k, o: k.sysfs_write("kernel/slab/fuzz_cache/validate", "2"), UsageError),
    Row("debugfs(fail_page_alloc/nope, 1)", lambda k, o: k.debugfs("fail_page_alloc/nope", "1"), UsageError),
    Row("kmalloc_node(64, g, 1)", lambda k, o: k.kmalloc_node(64, o.g, 1), UsageError),
    Row("vmalloc_node(4096, 3)", lambda k, o: k.vmalloc_node(4096, 3), UsageError),
    Row("gfp Flags of another kind", lambda k, o: k.kmalloc(64, kmemsim.SLAB_HWCACHE_ALIGN), UsageError),
]


def _destroyed(k: kmemsim.Kernel) -> Any:
    c = k.kmem_cache_create("fuzz_gone", 24, 0, kmemsim.SLAB_HWCACHE_ALIGN)
    k.kmem_cache_destroy(c)
    return c


ROWS = _generated() + EXTRA


def test_the_table_is_big_enough():
    assert len(ROWS) >= 300, len(ROWS)


_machines: dict[str, tuple[kmemsim.Kernel, Objs]] = {}


def machine(profile: str) -> tuple[kmemsim.Kernel, Objs]:
    """One machine per profile for the whole table (a row that breaks it boots a new one)."""
    if profile not in _machines:
        k = boot_spec(profile)
        _machines[profile] = (k, Objs(k))
    return _machines[profile]


@pytest.mark.parametrize("profile", MACHINES)
@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_bad_call_is_a_kmemsim_error(row: Row, profile: str):
    k, o = machine(profile)
    if row.id.startswith("kmem_cache_create(dtor") and k.features.kmem_cache_dtor:
        pytest.skip("a destructor is an argument before 2.6.23 (test_slab_classic covers 2.6.11's)")
    try:
        with pytest.raises(row.expect) as info:
            row.call(k, o)
        assert str(info.value)
        k.check()
        # the machine still works
        p = k.kmalloc(100, o.g)
        assert p
        k.write(p, b"still works")
        assert k.read(p, 11) == b"still works"
        k.kfree(p)
        a = k.get_free_pages(o.g, 1)
        assert a
        k.free_pages(a, 1)
        v = k.vmalloc(3 * 4096)
        assert v
        k.vfree(v)
        k.check()
    except BaseException:
        _machines.pop(profile, None)  # the next row gets a fresh machine
        raise


def test_a_bad_argument_changes_nothing():
    """The checks run before anything changes: the same counters after 100 refused calls."""
    k = kmemsim.boot()
    o = Objs(k)
    before = (k.proc("slabinfo"), k.proc("buddyinfo"), k.proc("vmallocinfo"), k.nr_free_pages())
    for row in _generated()[:100]:
        with pytest.raises(KmemsimError):
            row.call(k, o)
    assert (k.proc("slabinfo"), k.proc("buddyinfo"), k.proc("vmallocinfo"), k.nr_free_pages()) == before
    k.check()


@pytest.mark.parametrize("profile", PROFILES)
def test_null_and_zero_size_ptr_follow_the_kernel(profile: str):
    """The NULL-like pointers (docs/api-names.md, "The pointer rule"): kfree and kvfree ignore
    NULL and ZERO_SIZE_PTR (ZERO_OR_NULL_PTR), vfree and free_pages ignore NULL; vfree of
    ZERO_SIZE_PTR is the kernel's WARN (6.18 "Trying to vfree() nonexistent vm area", 2.6.24
    __vunmap's "Trying to vfree() bad address": 16 is not page aligned)."""
    k = kmemsim.boot(profile)
    before = k.dmesg()
    for fn in (k.kfree, k.kvfree):
        fn(0)
        fn(kmemsim.ZERO_SIZE_PTR)
    k.vfree(0)
    k.free_pages(0)
    k.free_page(0)
    k.kmem_cache_destroy(None)
    assert k.dmesg() == before
    k.vfree(kmemsim.ZERO_SIZE_PTR)
    assert ("Trying to vfree() nonexistent vm area" if k.features.vmap_area else "Trying to vfree() bad address") \
        in k.dmesg()
    k.check()


@pytest.mark.parametrize("profile", PROFILES)
def test_kfree_of_a_vmalloc_address_names_kfree(profile: str):
    k = kmemsim.boot(profile, on_bug="report")
    v = k.vmalloc(4096)
    k.kfree(v)  # reported, and the area is untouched
    assert f"kfree: {v:#x} is not a direct-map address" in k.dmesg()
    assert "vfree() or kvfree()" in k.dmesg()
    k.vfree(v)
    k.check()


def test_int_subclasses_pass_and_bools_do_not():
    import enum

    class Size(enum.IntEnum):
        SMALL = 64

    k = kmemsim.boot()
    p = k.kmalloc(Size.SMALL, k.gfp.GFP_KERNEL)
    assert k.ksize(p) == 64
    k.kfree(p)
    with pytest.raises(UsageError, match=r"kmalloc: size=True: expected an integer, got bool"):
        k.kmalloc(True, k.gfp.GFP_KERNEL)
    with pytest.raises(UsageError, match=r"get_free_pages: order=-1: out of range for unsigned int"):
        k.get_free_pages(k.gfp.GFP_KERNEL, -1)
    with pytest.raises(UsageError, match=r"kmalloc_node: node=1: out of range for a node id"):
        k.kmalloc_node(64, k.gfp.GFP_KERNEL, 1)


@pytest.mark.parametrize("profile", PROFILES)
def test_a_failing_constructor_leaves_the_machine_consistent(profile: str):
    """docs/api-names.md, "Constructors": the new slab is freed and the error propagates, chained."""
    k = kmemsim.boot(profile)
    g = k.gfp.GFP_KERNEL
    calls = []

    def ctor(*args: object) -> None:  # ctor(obj) on 6.x, ctor(cache, obj) on 2.6.24
        calls.append(args)
        if len(calls) == 3:
            raise ValueError("third object")

    c = k.kmem_cache_create("third_fails", 64, 0, 0, ctor)
    with pytest.raises(UsageError, match=r"kmem_cache_alloc\(third_fails\): the constructor ctor raised "
                                         r"ValueError\('third object'\); the new slab was freed") as info:
        k.kmem_cache_alloc(c, g)
    assert isinstance(info.value.__cause__, ValueError)
    assert c.nr_slabs == 0 and c.total_objects == 0
    k.check()
    p = k.kmem_cache_alloc(c, g)  # the fourth call on: the constructor succeeds
    assert p and c.nr_slabs == 1
    k.kmem_cache_free(c, p)
    k.kmem_cache_destroy(c)
    k.check()


@pytest.mark.parametrize("profile", PROFILES)
def test_a_destructor_went_away_in_2_6_23(profile: str):
    k = kmemsim.boot(profile)
    with pytest.raises(UsageError, match=r"slab destructors went away in 2\.6\.23"):
        k.kmem_cache_create("with_dtor", 32, 0, 0, None, lambda addr: None)
    assert k.find_cache("with_dtor") is None
    k.check()
