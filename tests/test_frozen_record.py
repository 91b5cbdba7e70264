"""The hand-written frozen records (:class:`kmemsim.errors.FrozenRecord`) behave as the ``@dataclass(frozen=True)``
each replaced: the same constructor, ``repr``, ``==``, ``hash`` and refusals, checked against a
dataclass made from the record's own fields and defaults."""
from __future__ import annotations

import dataclasses
import inspect

import pytest

import kmemsim
from kmemsim.arch.e820 import E820Entry
from kmemsim.errors import FrozenRecord
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
from kmemsim.profiles import PROFILES, Profile


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
    assert set(SAMPLES) == {c for c in FrozenRecord.__subclasses__() if c.__module__.startswith("kmemsim.")}


def test_a_record_whose_match_args_are_not_its_init_parameters_is_refused():
    with pytest.raises(TypeError, match="are not __init__'s parameters"):
        class Bad(FrozenRecord):
            __match_args__ = ("a", "b")

            def __init__(self, b: int, a: int) -> None:
                vars(self).update(a=a, b=b)
