"""The records written by hand (:class:`kmemsim.records.Record`, :class:`~kmemsim.records.FrozenRecord`)
behave as the ``@dataclass`` each replaced: the same constructor, ``repr``, ``==``, ``hash`` and
(frozen) refusals, checked against a dataclass made from the record's own fields and defaults."""
from __future__ import annotations

import dataclasses
import inspect

import pytest

import kmemsim
from kmemsim.arch.e820 import E820Entry
from kmemsim.features import FEATURES, Feature
from kmemsim.gfp import GFP_2_6, GFP_6_18, GfpBits
from kmemsim.kernel import BOOT, InitStep
from kmemsim.layout import Layout, Region
from kmemsim.machine import CPU
from kmemsim.mm.slub_debug import Track
from kmemsim.mm.slub_geometry import (
    CacheGeometry,
    KmallocCache,
    KmallocType,
    SlabDebug,
    calculate_geometry,
    kmalloc_cache_types,
    kmalloc_caches,
)
from kmemsim.printk import Record
from kmemsim.profiles import PROFILES, TUNABLES, Profile, Tunable
from kmemsim.records import FrozenRecord


def _fields(obj: FrozenRecord) -> tuple:
    return tuple(getattr(obj, n) for n in obj.__match_args__)


def _samples() -> dict[type, list[tuple]]:
    k = kmemsim.boot()
    i386 = kmemsim.boot("linux-2.6-i386")
    return {
        GfpBits: [_fields(GFP_6_18.bits), _fields(GFP_2_6.bits)],
        Layout: [_fields(k.layout), _fields(i386.layout)],
        Profile: [_fields(p) for p in PROFILES.values()],
        CacheGeometry: [_fields(calculate_geometry(64, 8, 0, nr_cpus=2)),
                        _fields(calculate_geometry(192, 0, 0, nr_cpus=4))],
        E820Entry: [(0, 0x9FC00, "usable"), (0x100000, 0x200000, "reserved")],
        Feature: [_fields(f) for f in FEATURES[:3]],
        InitStep: [_fields(s) for s in BOOT[:3]],
        Region: [_fields(r) for r in k.layout.regions[:3]],
        CPU: [(0,), (1,)],
        Track: [(0xFFFFFFFF81234567, 0, 1, 4242, 1000)],
        KmallocType: [_fields(t) for t in kmalloc_cache_types()],
        KmallocCache: [_fields(c) for c in kmalloc_caches()[:3]],
        SlabDebug: [(), (0x100, "FZ", False, ("x",), ((0x100, ("kmalloc-*",)),))],
        Record: [(1_000, 6, "Linux version")],
    }


def _as_dataclass(cls: type) -> type:
    """The frozen dataclass of ``cls``'s fields, annotations and defaults, named as it is."""
    sig = inspect.signature(cls)
    spec = []
    for name in cls.__match_args__:
        p = sig.parameters[name]
        shown = name not in cls._no_repr
        spec.append((name, cls.__annotations__[name], dataclasses.field(repr=shown)) if p.default is p.empty else
                    (name, cls.__annotations__[name], dataclasses.field(default=p.default, repr=shown)))
    dc = dataclasses.make_dataclass(cls.__name__, spec, frozen=True)
    dc.__qualname__ = cls.__qualname__
    return dc


SAMPLES = _samples()


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_a_record_behaves_as_the_frozen_dataclass_it_replaced(cls):
    assert issubclass(cls, FrozenRecord)
    dc = _as_dataclass(cls)
    assert list(inspect.signature(cls).parameters) == list(inspect.signature(dc).parameters)
    assert cls.__match_args__ == dc.__match_args__
    assert [getattr(cls, n, None) for n in cls.__match_args__] == [getattr(dc, n, None) for n in dc.__match_args__]
    for args in SAMPLES[cls]:
        r, d = cls(*args), dc(*args)
        assert repr(r) == repr(d)
        assert r == cls(*args) and not (r != cls(*args)) and hash(r) == hash(d) == hash(cls(*args))
        assert r != d and (r == args) is False  # another class, a tuple: never equal
        assert vars(r) == vars(d) == dict(zip(cls.__match_args__, args, strict=False)) or not args
        for name in (*cls.__match_args__, "other"):
            for obj in (r, d):
                with pytest.raises(dataclasses.FrozenInstanceError, match=f"^cannot assign to field '{name}'$"):
                    setattr(obj, name, 1)
                with pytest.raises(dataclasses.FrozenInstanceError, match=f"^cannot delete field '{name}'$"):
                    delattr(obj, name)
        # by keyword too, and a missing or unknown argument is a TypeError as before
        assert cls(**dict(zip(cls.__match_args__, args, strict=False))) == r
        with pytest.raises(TypeError):
            cls(*args, *range(len(cls.__match_args__) + 1 - len(args)))
    if cls is not SlabDebug:
        with pytest.raises(TypeError):
            cls()


def test_a_record_with_one_field_hashes_as_a_tuple_of_it():
    assert hash(CPU(3)) == hash((3,)) and CPU(3) == CPU(3) != CPU(4)
    assert {CPU(1): "a"}[CPU(1)] == "a"


def test_every_record_is_checked_here():
    frozen = {c for c in FrozenRecord.__subclasses__() if c.__module__.startswith("kmemsim.")}
    assert set(SAMPLES) == frozen - {Tunable}  # Tunable's factories: with the mutable ones below


def test_a_record_whose_match_args_are_not_its_init_parameters_is_refused():
    with pytest.raises(TypeError, match="are not __init__'s parameters"):
        class Bad(FrozenRecord):
            __match_args__ = ("a", "b")

            def __init__(self, b: int, a: int) -> None:
                vars(self).update(a=a, b=b)


# ---------------------------------------------------------------------------- mutable records
def _mutable_samples() -> dict[type, tuple]:
    """Each mutable record and the arguments its constructor needs (the rest: defaults)."""
    from kmemsim.arch.base import ArchSetup, MemblockRegion
    from kmemsim.examples import example_path
    from kmemsim.mm.fault_inject import FailPageAlloc, FailSlab, FaultAttr, RateLimitState
    from kmemsim.mm.mempool import Mempool
    from kmemsim.mm.mmzone import PcpList, PerCpuPages, Zone
    from kmemsim.mm.page_alloc import GfpContext
    from kmemsim.mm.slub import Bnode, KfreeRcuCpu, KfreeRcuCpuWork, KmemCache, KmemCacheCpu
    from kmemsim.mm.slub_debug import _Location
    from kmemsim.mm.vmscan import ReclaimStat, ShrinkControl, Shrinker
    from kmemsim.registry import DirHandler, _File
    from kmemsim.sched import (
        DelayedWork,
        Mutex,
        RcuHead,
        RcuWork,
        SpinLock,
        Task,
        Tasklet,
        TimerList,
        WaitQueueHead,
        Workqueue,
        WorkStruct,
    )
    from kmemsim.snapshot import HostSnapshot, PageTypeInfo, ZoneInfo, load
    from kmemsim.trace.parse import ParseStats
    from kmemsim.trace.replay import Comparison, ReplayOptions

    snap = load(example_path("snapshot"))
    k = kmemsim.boot()
    return {
        Task: (1, "init"), TimerList: (print,), Tasklet: (print,), WaitQueueHead: (), SpinLock: (), Mutex: (),
        WorkStruct: (print,), DelayedWork: (WorkStruct(print),), RcuWork: (WorkStruct(print),),
        Workqueue: ("events",), RcuHead: (print, None, 4),
        RateLimitState: (), FaultAttr: ("failslab", 2**64 - 1), FailSlab: ("failslab", 2**64 - 1),
        FailPageAlloc: ("fail_page_alloc", 2**32 - 1), Mempool: (), Shrinker: ("dcache", len, len),
        ShrinkControl: (0xCC0,), ReclaimStat: (), PcpList: (), PerCpuPages: (0, [[], []]),
        Zone: (2, "Normal", 0x100000, 0x40000),
        GfpContext: (0xCC0, 2, k.page_alloc.zones[:3], 0, 0x40, False, False, True, k.page_alloc.zones[2]),
        KmemCacheCpu: (), KmemCache: _fields(next(c for c in k.slub.caches if c.name == "kmalloc-64")),
        Bnode: (0x1000,), KfreeRcuCpuWork: (None,), KfreeRcuCpu: (0,),
        ReplayOptions: (), Comparison: (None, None, ("A", "B")),
        ZoneInfo: _fields(snap.zones[0]), PageTypeInfo: _fields(snap.pagetypeinfo), HostSnapshot: _fields(snap),
        MemblockRegion: (0, 0x1000, "reserved"), ArchSetup: (1, 1, k.layout, [], [], [], {}),
        DirHandler: (list, str), _File: (str,),
        _Location: (1, 2, 3, 4, 5, 6, 7, 8, 9, {0}), ParseStats: (),
        Tunable: _fields(TUNABLES["slab_nomerge"]),
    }


MUTABLE = _mutable_samples()


def _as_mutable_dataclass(cls: type) -> type:
    sig = inspect.signature(cls)
    spec = []
    for name in cls.__match_args__:
        p = sig.parameters[name]
        kw = {"repr": name not in cls._no_repr, "compare": name not in cls._no_compare}
        if p.default is not p.empty:
            kw["default"] = p.default
        spec.append((name, cls.__annotations__.get(name, "object"), dataclasses.field(**kw)))
    frozen = issubclass(cls, FrozenRecord)
    dc = dataclasses.make_dataclass(cls.__name__, spec, eq=cls.__eq__ is not object.__eq__, frozen=frozen)
    dc.__qualname__ = cls.__qualname__
    return dc


@pytest.mark.parametrize("cls", list(MUTABLE), ids=lambda c: c.__name__)
def test_a_mutable_record_behaves_as_the_dataclass_it_replaced(cls):
    dc = _as_mutable_dataclass(cls)
    assert cls.__match_args__ == dc.__match_args__
    assert list(inspect.signature(cls).parameters) == list(inspect.signature(dc).parameters)
    values = _fields(cls(*MUTABLE[cls]))
    r, d = cls(*values), dc(*values)
    assert _fields(r) == _fields(d) and ("__slots__" in vars(cls)) is not hasattr(r, "__dict__")
    if "__repr__" not in vars(cls):
        assert repr(r) == repr(d)
    if dc.__eq__ is object.__eq__:  # eq=False: identity, hashable
        assert r != cls(*values) and r == r and hash(r) == id(r) >> 4
    else:
        assert (r == cls(*values)) is (d == dc(*values)) is True and r != d
        assert (cls.__hash__ is None) is (dc.__hash__ is None)
        if cls.__hash__ is None:
            with pytest.raises(TypeError):
                hash(r)
        else:  # frozen: the hash of the fields (an error for a field that has none, as before)
            try:
                expected: object = hash(d)
            except TypeError as e:
                expected = str(e)
            try:
                got: object = hash(r)
            except TypeError as e:
                got = str(e)
            assert got == expected
    # a field made by a default_factory is a new object for each record, as the dataclass's
    a, b = cls(*MUTABLE[cls]), cls(*MUTABLE[cls])
    for name, p in list(inspect.signature(cls).parameters.items())[len(MUTABLE[cls]):]:
        if p.default is None and getattr(a, name) is not None:
            assert getattr(a, name) is not getattr(b, name) and type(getattr(a, name)) is type(getattr(b, name))


def test_a_record_met_again_inside_itself_prints_as_the_dataclass_s():
    from kmemsim.sched import Workqueue, WorkStruct

    wq = Workqueue("events")
    w = WorkStruct(print, wq=wq)
    wq.items.append(w)
    assert "wq=Workqueue(name='events', flags=0, items=[...]" in repr(w)


def test_every_mutable_record_is_checked_here():
    from kmemsim.records import Record

    def subclasses(c):
        for s in c.__subclasses__():
            yield s
            yield from subclasses(s)

    mine = {c for c in subclasses(Record) if c.__module__.startswith("kmemsim.") and c is not FrozenRecord}
    assert mine == set(MUTABLE) | set(SAMPLES)
