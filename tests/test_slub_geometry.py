"""SLUB geometry (kmemsim.mm.slub_geometry) against the real 6.18 host's slab caches.

Every real cache directory of the captured ``/sys/kernel/slab`` is recomputed
from its object_size, align and flags (rebuilt from the sysfs booleans and the
``ctor`` file) with the snapshot's CPU count, and must give the host's
slab_size, order, objs_per_slab, cpu_partial, min_partial (and the other
geometry attributes).  The kmalloc caches are recomputed from nothing but the
CPU count.  Debug layouts come from slub.md section 1.6 (measured on a real
6.12 kernel under QEMU with ``slab_debug=`` variants; calculate_sizes() is the
same code in 6.18).
"""
from __future__ import annotations

import dataclasses

import pytest
import slabhost
from conftest import DATA
from slabhost import CREATE_ARGS, SYSFS_FLAG_ATTRS, host_flags

from kmemsim.errors import ConfigError
from kmemsim.mm import slub_geometry as g
from kmemsim.mm.slub_geometry import (
    DEBUG_DEFAULT_FLAGS,
    KMALLOC_MAX_CACHE_SIZE,
    KMALLOC_MAX_SIZE,
    KMALLOC_SIZES,
    SLAB_ACCOUNT,
    SLAB_CACHE_DMA,
    SLAB_CONSISTENCY_CHECKS,
    SLAB_FAILSLAB,
    SLAB_HWCACHE_ALIGN,
    SLAB_KMALLOC,
    SLAB_NO_MERGE,
    SLAB_NO_USER_FLAGS,
    SLAB_NOLEAKTRACE,
    SLAB_POISON,
    SLAB_RECLAIM_ACCOUNT,
    SLAB_RED_ZONE,
    SLAB_STORE_USER,
    SLAB_TRACE,
    SLAB_TYPESAFE_BY_RCU,
    calculate_geometry,
    kmalloc_cache_geometry,
    kmalloc_caches,
    kmalloc_index,
    kmalloc_size_roundup,
    parse_slab_debug,
)
from kmemsim.snapshot import load

TARBALL = DATA / "host-6.18" / "snapshot.tar.gz"
HOST = load(TARBALL)
CACHES = HOST.slab_caches()
NR_CPUS = len(HOST.cpus_online)

#: Real caches that cannot be matched from sysfs plus CREATE_ARGS: none on this host.
#: (filp, bfilp and io_kiocb also use freeptr_offset in 6.18, but their hwcache
#: alignment absorbs the outside word, so the stride is the same either way; see
#: test_freeptr_offset_users_hidden_by_alignment.)
EXCEPTIONS: dict[str, str] = {}

#: The attributes compared: everything CacheGeometry.sysfs() renders.
GEOMETRY_ATTRS = (
    "slab_size", "order", "objs_per_slab", "cpu_partial", "min_partial",
    "object_size", "align", "sheaf_capacity",
    *SYSFS_FLAG_ATTRS,
)  # fmt: skip


def host_geometry(name: str, *, create_args: bool = True, blind_align: bool = False) -> g.CacheGeometry:
    return slabhost.host_geometry(name, CACHES[name], NR_CPUS, create_args=create_args, blind_align=blind_align)


def mismatches(geo: g.CacheGeometry, attrs: dict[str, str]) -> dict[str, tuple[str, str]]:
    model = geo.sysfs()
    return {a: (model[a].strip(), attrs[a].strip()) for a in GEOMETRY_ATTRS if model[a] != attrs[a]}


# --------------------------------------------------------------------------------------
# Every real cache of the host
# --------------------------------------------------------------------------------------


def test_snapshot_has_the_caches():
    assert HOST.meta["uname -r"].startswith("6.18.")
    assert NR_CPUS == 2
    assert len(CACHES) == 235
    assert not set(HOST.slab_aliases()) & set(CACHES)


@pytest.mark.parametrize("name", sorted(set(CACHES) - set(EXCEPTIONS)))
def test_host_cache_geometry(name):
    attrs = CACHES[name]
    assert mismatches(host_geometry(name), attrs) == {}


def test_every_host_cache_matches():
    matched = [n for n in CACHES if not mismatches(host_geometry(n), CACHES[n])]
    assert len(matched) == len(CACHES) - len(EXCEPTIONS) == 235
    for name in EXCEPTIONS:  # keep the exception list honest: each one really fails
        assert mismatches(host_geometry(name), CACHES[name])


def test_create_args_are_needed_exactly_where_listed():
    failing = {n for n in CACHES if mismatches(host_geometry(n, create_args=False), CACHES[n])}
    assert failing == set(CREATE_ARGS)
    # vm_area_struct: the outside free pointer would change the stride (192 -> 256).
    assert host_geometry("vm_area_struct", create_args=False).size == 256
    assert host_geometry("vm_area_struct").offset == 0


def test_freeptr_offset_users_hidden_by_alignment():
    # fs/file_table.c (filp, bfilp) and io_uring (io_kiocb) pass freeptr_offset in 6.18;
    # the exact offsets are not visible, but any word inside gives the host's stride, and
    # so does the outside word, because SLAB_HWCACHE_ALIGN rounds it away.
    for name in ("filp", "bfilp", "io_kiocb"):
        attrs = CACHES[name]
        assert attrs["destroy_by_rcu"] == "1\n"
        for off in (None, 0, 8):
            geo = calculate_geometry(
                int(attrs["object_size"]), int(attrs["align"]), host_flags(name, attrs),
                nr_cpus=NR_CPUS, freeptr_offset=off,
            )  # fmt: skip
            assert mismatches(geo, attrs) == {}, (name, off)


#: With requested align 0 (plain kmem_cache_create) instead of the host's align, only
#: the caches whose creator asks for an explicit alignment differ (slub.md section 8).
BLIND_ALIGN_DIFFERS = {
    ":0000512": "pool_workqueue: align 1 << WORK_STRUCT_PWQ_SHIFT = 256",
    ":0000704": "a ____cacheline_aligned struct (task_group): align 64",
    ":A-0004288": "net_namespace: SMP_CACHE_BYTES",
    "kvm_vcpu": "KMEM_CACHE-style __alignof__(struct kvm_vcpu) = 16",
    "x86_emulator": "__alignof__(struct x86_emulate_ctxt) = 16",
    "maple_node": "sizeof(struct maple_node) = 256 as the align",
    "task_struct": "fork_init(): ARCH_MIN_TASKALIGN / L1_CACHE_BYTES = 64 (changes the stride too)",
}


def test_blind_alignment():
    differs = {}
    for name, attrs in CACHES.items():
        if name.startswith(("kmalloc-", "dma-kmalloc-")):
            continue  # their align comes from the kmalloc rule, tested below
        bad = mismatches(host_geometry(name, blind_align=True), attrs)
        bad.pop("sheaf_capacity", None)
        if bad:
            differs[name] = bad
    assert set(differs) == set(BLIND_ALIGN_DIFFERS)
    assert {n for n, d in differs.items() if set(d) != {"align"}} == {"task_struct"}
    assert differs["task_struct"]["slab_size"] == ("5840", "5888")


def test_merged_cache_ids_encode_the_model_size():
    # mm/slub.c create_unique_id(): the ':' directory names hold the flags and s->size.
    ids = [n for n in CACHES if n.startswith(":")]
    assert len(ids) == 96
    for name in ids:
        geo = host_geometry(name)
        assert g.create_unique_id(geo.size, host_flags(name, CACHES[name])) == name


# --------------------------------------------------------------------------------------
# kmalloc: size classes and the boot caches
# --------------------------------------------------------------------------------------


def test_kmalloc_size_classes_every_size():
    for size in range(1, KMALLOC_MAX_CACHE_SIZE + 1):
        cls = min(s for s in KMALLOC_SIZES if s >= size)
        assert kmalloc_size_roundup(size) == cls, size
        idx = kmalloc_index(size)
        assert idx == g.kmalloc_slab_index(size), size  # compile-time == run-time lookup
        assert g.kmalloc_index_size(idx) == cls, size


@pytest.mark.parametrize(
    "size, roundup, index",
    [
        (0, 0, 0), (1, 8, 3), (8, 8, 3), (9, 16, 4), (16, 16, 4), (17, 32, 5), (33, 64, 6),
        (64, 64, 6), (65, 96, 1), (96, 96, 1), (97, 128, 7), (128, 128, 7), (129, 192, 2),
        (192, 192, 2), (193, 256, 8), (257, 512, 9), (1025, 2048, 11), (4096, 4096, 12),
        (4097, 8192, 13), (8192, 8192, 13), (8193, 16384, 14), (12288, 16384, 14),
        (16385, 32768, 15), (2 << 20, 2 << 20, 21),
    ],
)  # fmt: skip
def test_kmalloc_boundaries(size, roundup, index):
    assert kmalloc_size_roundup(size) == roundup
    assert kmalloc_index(size) == index


def test_kmalloc_constants_and_large_sizes():
    assert (g.KMALLOC_MIN_SIZE, g.KMALLOC_SHIFT_HIGH, KMALLOC_MAX_CACHE_SIZE) == (8, 13, 8192)
    assert KMALLOC_MAX_SIZE == 4 << 20 and g.KMALLOC_MAX_ORDER == 10
    assert KMALLOC_SIZES == (8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192)
    assert kmalloc_size_roundup(KMALLOC_MAX_SIZE) == KMALLOC_MAX_SIZE
    assert kmalloc_size_roundup(KMALLOC_MAX_SIZE + 1) == KMALLOC_MAX_SIZE + 1  # kmalloc would fail
    assert kmalloc_size_roundup(3 << 20) == 4 << 20
    with pytest.raises(ConfigError):
        kmalloc_index((2 << 20) + 1)


def test_kmalloc_cache_names_are_the_hosts():
    host = {n for n in CACHES if n.startswith(("kmalloc-", "dma-kmalloc-"))}
    assert not any(n.startswith("kmalloc-rnd-") for n in CACHES)  # no RANDOM_KMALLOC_CACHES
    model = kmalloc_caches()
    assert len(model) == 52
    assert {c.name for c in model} == host
    # creation order: per type 96, 192, then 8 .. 8k
    assert [c.name for c in model[:4]] == ["kmalloc-96", "kmalloc-192", "kmalloc-8", "kmalloc-16"]
    assert [t.kind for t in g.kmalloc_cache_types()] == ["normal", "rcl", "dma", "cg"]


@pytest.mark.parametrize("cache", kmalloc_caches(), ids=lambda c: c.name)
def test_kmalloc_cache_geometry_from_cpu_count_only(cache):
    geo = kmalloc_cache_geometry(cache.size, cache.flags, nr_cpus=NR_CPUS)
    assert mismatches(geo, CACHES[cache.name]) == {}


def test_kmalloc_alignment_rule():
    # create_boot_cache(): at least the largest power of two dividing the size (6.12+)
    aligns = {s: g.kmalloc_cache_align(s) for s in KMALLOC_SIZES}
    assert aligns == {s: (32 if s == 96 else 64 if s == 192 else s) for s in KMALLOC_SIZES}


def test_kmalloc_kinds_flags():
    kinds = {c.name: c.flags for c in kmalloc_caches()}
    assert kinds["kmalloc-64"] == SLAB_KMALLOC | SLAB_NO_MERGE
    assert kinds["kmalloc-rcl-64"] == SLAB_KMALLOC | SLAB_RECLAIM_ACCOUNT
    assert kinds["kmalloc-cg-64"] == SLAB_KMALLOC | SLAB_ACCOUNT
    assert kinds["dma-kmalloc-64"] == SLAB_KMALLOC | SLAB_CACHE_DMA


def test_random_kmalloc_caches():
    types = g.kmalloc_cache_types(random_kmalloc_caches=True)
    assert [t.type for t in types] == list(range(19))
    assert types[1].prefix == "kmalloc-rnd-01-" and types[15].prefix == "kmalloc-rnd-15-"
    assert types[16].kind == "rcl" and types[18].kind == "cg"
    names = {c.name for c in kmalloc_caches(random_kmalloc_caches=True)}
    assert len(names) == 19 * 13
    assert {"kmalloc-rnd-01-8", "kmalloc-rnd-15-8k", "kmalloc-rnd-07-96"} <= names
    assert all(t.flags == SLAB_NO_MERGE for t in types[1:16])


# --------------------------------------------------------------------------------------
# Flags
# --------------------------------------------------------------------------------------


def test_flag_values_host_config():
    f = g.SLAB_FLAGS
    assert (f["SLAB_CONSISTENCY_CHECKS"], f["SLAB_RED_ZONE"], f["SLAB_POISON"], f["SLAB_KMALLOC"]) == (1, 2, 4, 8)
    assert f["SLAB_HWCACHE_ALIGN"] == 0x10 and f["SLAB_STORE_USER"] == 0x80
    assert f["SLAB_TYPESAFE_BY_RCU"] == 0x200 and f["SLAB_TRACE"] == 0x400
    assert f["SLAB_NOLEAKTRACE"] == 0x800 and f["SLAB_NO_MERGE"] == 0x1000
    assert f["SLAB_ACCOUNT"] == 0x2000 and f["SLAB_NO_USER_FLAGS"] == 0x4000
    assert f["SLAB_RECLAIM_ACCOUNT"] == 0x8000 and f["SLAB_NO_OBJ_EXT"] == 0x40000
    # options off on the host: __SLAB_FLAG_UNUSED
    assert f["SLAB_FAILSLAB"] == f["SLAB_DEBUG_OBJECTS"] == f["SLAB_KASAN"] == f["SLAB_SKIP_KFENCE"] == 0
    assert "SLAB_MEM_SPREAD" not in f
    values = [v for v in f.values() if v]
    assert len(values) == len(set(values))


def test_flag_values_other_config():
    f = g.slab_flag_bits(failslab=True, kfence=True)
    assert f["SLAB_FAILSLAB"] == 0x2000 and f["SLAB_ACCOUNT"] == 0x4000
    assert f["SLAB_SKIP_KFENCE"] == 0x10000 and f["SLAB_RECLAIM_ACCOUNT"] == 0x20000
    assert g.slab_flag_bits(slub_tiny=True)["SLAB_RECLAIM_ACCOUNT"] == 0


def test_flag_masks():
    assert g.SLAB_DEBUG_FLAGS == SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER | SLAB_TRACE | SLAB_CONSISTENCY_CHECKS
    assert DEBUG_DEFAULT_FLAGS == SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER
    assert g.SLAB_NEVER_MERGE & SLAB_TYPESAFE_BY_RCU and g.SLAB_NEVER_MERGE & SLAB_NO_MERGE
    assert not g.SLAB_NEVER_MERGE & SLAB_CONSISTENCY_CHECKS  # F alone still merges (6.18)
    assert g.SLAB_MERGE_SAME == SLAB_RECLAIM_ACCOUNT | SLAB_CACHE_DMA | g.SLAB_CACHE_DMA32 | SLAB_ACCOUNT
    assert g.slab_flag_names(SLAB_HWCACHE_ALIGN | SLAB_ACCOUNT) == ["SLAB_HWCACHE_ALIGN", "SLAB_ACCOUNT"]


# --------------------------------------------------------------------------------------
# Order selection, partial lists
# --------------------------------------------------------------------------------------


def test_min_objects_from_cpu_count():
    # 4 * (fls(nr_cpus) + 1): 1 CPU 8, 2-3 CPUs 12, 4-7 CPUs 16; 32-byte objects never need more
    # than an order-0 slab, 1000-byte ones do: 8 * 1000 -> order 1, 12 * 1000 -> order 2.
    assert g.calculate_order(1000, nr_cpus=1) == 1
    assert g.calculate_order(1000, nr_cpus=2) == g.calculate_order(1000, nr_cpus=3) == 2
    assert g.calculate_order(1000, nr_cpus=4) == 2
    assert g.calculate_order(1000, nr_cpus=2, slub_min_objects=4) == 0
    assert g.calculate_order(32, nr_cpus=64) == 0


def test_calculate_order_v68_form():
    # 6.8+: sizes 10928..12280 get order 3 with 2 objects (6.6 gave order 2, 1 object).
    for size in (10928, 11000, 12280):
        assert g.calculate_order(size, nr_cpus=2) == 3
    # above an order-3 slab: one object, order get_order(size)
    assert g.calculate_order(51472, nr_cpus=2) == 4
    assert g.calculate_order(8, nr_cpus=2, slub_min_order=1) == 1
    assert g.calculate_order(4096, nr_cpus=2, slub_max_order=0) == 0


def test_partial_numbers():
    assert [g.set_cpu_partial(s, 0) for s in (8, 255, 256, 1023, 1024, 4095, 4096, 8192)] == [
        120, 120, 52, 52, 24, 24, 6, 6,
    ]  # fmt: skip
    assert g.set_cpu_partial(64, SLAB_RED_ZONE) == 0
    assert [g.set_min_partial(s) for s in (8, 2048, 4096, 8192, 1 << 20, 1 << 22)] == [5, 5, 6, 6, 10, 10]
    geo = kmalloc_cache_geometry(64, nr_cpus=2)
    assert geo.cpu_partial_slabs == 4  # DIV_ROUND_UP(120 * 2, 64)


# --------------------------------------------------------------------------------------
# Debug layouts (slub.md 1.6, measured on a real kernel, 2 CPUs)
# --------------------------------------------------------------------------------------

#: cache -> option -> (slab_size, order, objs_per_slab)
DEBUG_LAYOUTS = {
    "kmalloc-8": {"": (8, 0, 512), "P": (16, 0, 256), "Z": (32, 0, 128), "U": (80, 0, 51), "FZPU": (112, 0, 36)},
    "kmalloc-64": {"": (64, 0, 64), "P": (128, 0, 32), "Z": (192, 0, 21), "U": (192, 0, 21), "FZPU": (256, 0, 16)},
    "kmalloc-96": {"": (96, 0, 42), "P": (128, 0, 32), "Z": (160, 0, 25), "U": (192, 0, 21), "FZPU": (224, 0, 18)},
    "kmalloc-192": {"": (192, 0, 21), "P": (256, 0, 16), "Z": (320, 0, 12), "U": (320, 0, 12), "FZPU": (384, 1, 21)},
    "kmalloc-4k": {"": (4096, 3, 8), "P": (8192, 3, 4), "Z": (12288, 3, 2), "U": (8192, 3, 4), "FZPU": (12288, 3, 2)},
    "kmalloc-8k": {"": (8192, 3, 4), "P": (16384, 3, 2), "Z": (24576, 3, 1), "U": (16384, 3, 2), "FZPU": (24576, 3, 1)},
}
KMALLOC_SIZE_OF = {"kmalloc-8": 8, "kmalloc-64": 64, "kmalloc-96": 96, "kmalloc-192": 192, "kmalloc-4k": 4096,
                   "kmalloc-8k": 8192}


@pytest.mark.parametrize("option", ["", "P", "Z", "U", "FZPU"])
@pytest.mark.parametrize("cache", sorted(DEBUG_LAYOUTS))
def test_debug_layouts_kmalloc(cache, option):
    debug = parse_slab_debug(option) if option else None
    geo = kmalloc_cache_geometry(KMALLOC_SIZE_OF[cache], nr_cpus=2, slab_debug=debug, name=cache)
    assert (geo.size, geo.order, geo.objects) == DEBUG_LAYOUTS[cache][option]
    assert geo.cpu_partial == (0 if option else g.set_cpu_partial(geo.size, 0))


def test_debug_layouts_ctor_cache():
    # anon_vma: 96 bytes with a constructor (free pointer outside), align 8
    expect = {"": 104, "P": 104, "Z": 128, "U": 168, "FZPU": 192}
    for option, size in expect.items():
        debug = parse_slab_debug(option) if option else None
        geo = calculate_geometry(96, 0, 0, nr_cpus=2, has_ctor=True, slab_debug=debug, name="anon_vma")
        assert geo.size == size, option
        assert not geo.flags & g.__OBJECT_POISON  # a ctor cache never poisons the object body


def test_debug_worked_example_kmalloc_64_fzpu():
    # 64 -> red zone word 72 (inuse) -> free pointer outside 80 -> two 32-byte tracks 144
    # -> orig_size 148 -> pad word -> red_left_pad ALIGN(8, 64) = 64 -> ALIGN(.., 64) = 256
    geo = kmalloc_cache_geometry(64, nr_cpus=2, slab_debug=parse_slab_debug("FZPU"), name="kmalloc-64")
    assert (geo.inuse, geo.offset, geo.red_left_pad, geo.size) == (72, 72, 64, 256)
    assert geo.freeptr_outside_object and geo.info_end == 80 and geo.orig_size
    assert geo.flags & g.__OBJECT_POISON
    plain = kmalloc_cache_geometry(64, nr_cpus=2)
    assert (plain.inuse, plain.offset, plain.red_left_pad) == (64, 32, 0)  # free pointer mid-object


def test_disable_higher_order_debug():
    debug = parse_slab_debug("FZPUO")
    assert debug.disable_higher_order_debug and debug.global_flags == DEBUG_DEFAULT_FLAGS
    geo = {s: kmalloc_cache_geometry(s, nr_cpus=2, slab_debug=debug, name="x") for s in (1024, 2048, 4096, 8192)}
    assert geo[1024].size == 3072 and geo[1024].flags & DEBUG_DEFAULT_FLAGS == DEBUG_DEFAULT_FLAGS
    for s in (2048, 4096, 8192):
        assert geo[s].flags & g.SLAB_DEBUG_FLAGS == SLAB_CONSISTENCY_CHECKS  # F stays
        assert (geo[s].size, geo[s].order, geo[s].objects) == DEBUG_LAYOUTS.get(
            f"kmalloc-{s // 1024}k", {"": (s, 3, 32768 // s)}
        )[""]


def test_typesafe_by_rcu_and_freeptr_checks():
    geo = calculate_geometry(184, 0, SLAB_TYPESAFE_BY_RCU, nr_cpus=2)
    assert (geo.inuse, geo.offset, geo.size) == (184, 184, 192)  # outside
    geo = calculate_geometry(184, 0, SLAB_TYPESAFE_BY_RCU, nr_cpus=2, freeptr_offset=16)
    assert (geo.offset, geo.size) == (16, 184)
    for bad in ({"flags": 0, "off": 0}, {"flags": SLAB_TYPESAFE_BY_RCU, "off": 184},
                {"flags": SLAB_TYPESAFE_BY_RCU, "off": 4}):
        with pytest.raises(ConfigError):
            calculate_geometry(184, 0, bad["flags"], nr_cpus=2, freeptr_offset=bad["off"])
    # a red-zoned object smaller than a word has its free pointer outside
    assert calculate_geometry(4, 0, SLAB_RED_ZONE, nr_cpus=2).offset == 8


def test_sheaves_only_without_debug():
    assert calculate_geometry(256, 256, 0, nr_cpus=2, sheaf_capacity=32).sheaf_capacity == 32
    assert calculate_geometry(256, 256, SLAB_POISON, nr_cpus=2, sheaf_capacity=32).sheaf_capacity == 0


def test_geometry_is_frozen():
    geo = kmalloc_cache_geometry(8, nr_cpus=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        geo.size = 16  # type: ignore[misc]
    assert geo.oo == 512 and geo.pages_per_slab == 1 and geo.waste == 0 and geo.slab_bytes == 4096


def test_i386_word_size():
    # the linux-2.6-i386 profile: 4-byte words, 20-byte struct track
    assert g.track_size(4) == 20 and g.track_size(8) == 32 and g.track_size(8, stackdepot=False) == 24
    geo = calculate_geometry(20, 0, SLAB_STORE_USER, nr_cpus=1, word=4)
    assert (geo.align, geo.inuse, geo.offset, geo.size) == (8, 20, 8, 64)  # 20 + 2*20 -> ALIGN(60, 8)
    geo = calculate_geometry(12, 0, SLAB_RED_ZONE, nr_cpus=1, word=4)
    # 12 -> +word (size == object_size) 16 -> +pad word 20 -> red_left_pad ALIGN(4, 8) = 8 -> 28 -> 32
    assert (geo.inuse, geo.red_left_pad, geo.size) == (16, 8, 32)


# --------------------------------------------------------------------------------------
# slab_debug= parsing (mm/slub.c setup_slub_debug / kmem_cache_flags)
# --------------------------------------------------------------------------------------


def test_parse_global_options():
    assert parse_slab_debug(None).global_flags == DEBUG_DEFAULT_FLAGS  # bare "slab_debug"
    assert parse_slab_debug("").global_flags == DEBUG_DEFAULT_FLAGS  # "slab_debug="
    assert parse_slab_debug("FZPU").global_flags == DEBUG_DEFAULT_FLAGS
    assert parse_slab_debug("fzpu").global_flags == DEBUG_DEFAULT_FLAGS
    assert parse_slab_debug("-").global_flags == 0
    assert parse_slab_debug("FZ-P").global_flags == SLAB_POISON  # '-' clears what came before
    o = parse_slab_debug("O")
    assert o.global_flags == 0 and o.disable_higher_order_debug
    assert parse_slab_debug("A").global_flags == SLAB_FAILSLAB == 0  # CONFIG_FAILSLAB off on the host
    assert parse_slab_debug("T").global_flags == SLAB_TRACE
    x = parse_slab_debug("FXq")
    assert x.global_flags == SLAB_CONSISTENCY_CHECKS and x.unknown == ("X", "q")
    assert not parse_slab_debug("-").enabled and parse_slab_debug("U").enabled


def test_parse_cache_lists():
    # the combination checked on a real kernel (slub.md 4.4)
    d = parse_slab_debug("FZ,kmalloc-64,kmalloc-1*;P,dentry")
    fz = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE
    assert d.global_flags == 0 and d.string is not None
    assert d.blocks == ((fz, ("kmalloc-64", "kmalloc-1*")), (SLAB_POISON, ("dentry",)))
    assert d.patterns() == {"kmalloc-64": fz, "kmalloc-1*": fz, "dentry": SLAB_POISON}
    for name in ("kmalloc-64", "kmalloc-16", "kmalloc-128", "kmalloc-192", "kmalloc-1k"):
        assert d.kmem_cache_flags(0, name) == fz, name
    for name in ("kmalloc-rcl-64", "kmalloc-cg-16", "dma-kmalloc-128", "kmalloc-8", "kmalloc-64x", "kmalloc-6"):
        assert d.kmem_cache_flags(0, name) == 0, name
    assert d.kmem_cache_flags(SLAB_HWCACHE_ALIGN, "dentry") == SLAB_HWCACHE_ALIGN | SLAB_POISON


def test_parse_list_without_flags_and_mixed_blocks():
    d = parse_slab_debug(",dentry")
    assert d.kmem_cache_flags(0, "dentry") == DEBUG_DEFAULT_FLAGS and d.kmem_cache_flags(0, "filp") == 0
    d = parse_slab_debug("U;P,dentry")  # a block without a list sets the global flags
    assert d.global_flags == SLAB_STORE_USER
    assert d.kmem_cache_flags(0, "dentry") == SLAB_POISON  # the list's flags replace the global ones
    assert d.kmem_cache_flags(0, "filp") == SLAB_STORE_USER
    d = parse_slab_debug(";;Z,a;P,b")  # empty blocks are skipped
    assert d.blocks == ((SLAB_RED_ZONE, ("a",)), (SLAB_POISON, ("b",)))
    assert d.kmem_cache_flags(0, "a") == SLAB_RED_ZONE and d.kmem_cache_flags(0, "b") == SLAB_POISON
    # kmem_cache_flags() cuts a list's last name at next_block - 1 (or the end of the
    # string), so a run of ';' (or a trailing ';') stays in the name and it never matches:
    # a kernel quirk, kept.
    d = parse_slab_debug("Z,a;;;P,b;")
    assert d.blocks == ((SLAB_RED_ZONE, ("a;;",)), (SLAB_POISON, ("b;",)))
    assert d.kmem_cache_flags(0, "a") == d.kmem_cache_flags(0, "b") == 0
    assert parse_slab_debug("Z,*").kmem_cache_flags(0, "anything") == SLAB_RED_ZONE
    # the compiled-in default (CONFIG_SLUB_DEBUG_ON) stays global when only lists are given
    assert parse_slab_debug("P,dentry", default_flags=DEBUG_DEFAULT_FLAGS).global_flags == DEBUG_DEFAULT_FLAGS


def test_kmem_cache_flags_exemptions():
    d = parse_slab_debug("FZPU")
    assert d.kmem_cache_flags(SLAB_NO_USER_FLAGS, "kunit") == SLAB_NO_USER_FLAGS
    assert d.kmem_cache_flags(SLAB_NOLEAKTRACE, "kmemleak_object") == SLAB_NOLEAKTRACE | (
        DEBUG_DEFAULT_FLAGS & ~SLAB_STORE_USER
    )
    listed = parse_slab_debug("U,kmemleak_object")
    assert listed.kmem_cache_flags(SLAB_NOLEAKTRACE, "kmemleak_object") & SLAB_STORE_USER


@pytest.mark.parametrize("top", [0, 1, 96, 193, 2048, 8192, 8193, 20000])
def test_kmalloc_indexes_are_kmalloc_index_of_every_size(top):
    assert g.kmalloc_indexes(top) == tuple(g.kmalloc_index(n) for n in range(top + 1))
