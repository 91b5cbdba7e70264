"""struct page storage: uniform sections, materialisation, bulk queries, and check()."""
import pytest

import kmemsim
from kmemsim import PG, InvariantError, Owner
from kmemsim.mm.memmap import SECTION_PAGES, MemMap


def mm():
    return MemMap({0, 1, 3}, {"owner": Owner.MANAGED, "mapcount": -1})


def test_uniform_until_a_page_differs():
    m = mm()
    assert m.materialised_sections() == 0
    assert m.get(5, "owner") == Owner.MANAGED and m.get(5, "mapcount") == -1
    m.set(5, "owner", Owner.MANAGED)  # same value: stays uniform
    assert m.materialised_sections() == 0
    m.set(5, "refcount", 3)
    assert m.materialised_sections() == 1
    assert m.get(5, "refcount") == 3 and m.get(6, "refcount") == 0 and m.get(6, "mapcount") == -1


def test_set_range_whole_section_keeps_it_uniform():
    m = mm()
    m.set_range(SECTION_PAGES, 2 * SECTION_PAGES, owner=Owner.RESERVED, flags=PG.reserved)
    assert m.materialised_sections() == 0
    assert m.get(SECTION_PAGES + 7, "owner") == Owner.RESERVED
    m.set_range(10, 20, owner=Owner.RESERVED)
    assert m.materialised_sections() == 1
    assert [m.get(p, "owner") for p in (9, 10, 19, 20)] == [Owner.MANAGED, Owner.RESERVED, Owner.RESERVED,
                                                            Owner.MANAGED]


def test_set_range_skips_absent_sections_and_counts():
    m = mm()
    m.set_range(0, 4 * SECTION_PAGES, owner=Owner.HOLE)
    assert m.count("owner") == {Owner.HOLE: 3 * SECTION_PAGES}
    m.set_range(100, 200, owner=Owner.MANAGED)
    assert m.count("owner") == {Owner.HOLE: 3 * SECTION_PAGES - 100, Owner.MANAGED: 100}
    assert m.count("owner", 150, 250) == {Owner.MANAGED: 50, Owner.HOLE: 50}


def test_runs_merge_across_sections():
    m = mm()
    m.set_range(SECTION_PAGES - 5, SECTION_PAGES + 5, owner=Owner.RESERVED)
    runs = list(m.runs("owner", 0, 4 * SECTION_PAGES))
    assert runs == [
        (0, SECTION_PAGES - 5, Owner.MANAGED),
        (SECTION_PAGES - 5, SECTION_PAGES + 5, Owner.RESERVED),
        (SECTION_PAGES + 5, 2 * SECTION_PAGES, Owner.MANAGED),
        (3 * SECTION_PAGES, 4 * SECTION_PAGES, Owner.MANAGED),
    ]


def test_pfn_valid_sparse_and_flat():
    assert mm().pfn_valid(SECTION_PAGES * 3 + 1) and not mm().pfn_valid(SECTION_PAGES * 2)
    assert not mm().pfn_valid(-1)
    flat = MemMap({0}, {}, max_mapnr=100)
    assert flat.pfn_valid(99) and not flat.pfn_valid(100)


def test_boot_marks_reserved_holes_and_free():
    k = kmemsim.boot()
    c = k.memmap.count("owner")
    # 1 GiB: pfn 0 is not RAM, the ISA hole 0x9f-0xff neither; the rest is present memory
    assert c[Owner.HOLE] == 1 + (0x100 - 0x9F)
    assert c[Owner.MANAGED] + c[Owner.RESERVED] + c[Owner.HOLE] == 1 << 18
    assert k.pfn_to_page(0x50).owner == Owner.RESERVED  # low 1 MiB
    assert k.pfn_to_page(0xA0).owner == Owner.HOLE
    assert k.pfn_to_page(0x3FFFF).owner == Owner.RESERVED  # the vmemmap, allocated top-down
    assert k.pfn_to_page(0x20000).owner == Owner.MANAGED


def test_check_catches_inconsistent_struct_pages():
    k = kmemsim.boot()
    k.check()
    k.memmap.set(0x1000, "flags", 0)  # a reserved kernel-image page loses PG_reserved
    with pytest.raises(InvariantError, match="lack PG_reserved"):
        k.check()
    k2 = kmemsim.boot()
    k2.memmap.set(0x20000, "refcount", -1)
    with pytest.raises(InvariantError, match="negative refcount"):
        k2.check()
    k3 = kmemsim.boot()
    k3.memmap.set(0xA0, "owner", Owner.MANAGED)  # a hole claimed as free memory
    with pytest.raises(InvariantError, match="not memory"):
        k3.check()


def test_check_catches_bytes_outside_memory():
    k = kmemsim.boot(ram="4G")
    k.phys.frames[0xD0000] = bytearray(4096)
    with pytest.raises(InvariantError, match="not memory"):
        k.check()


def test_check_runs_registered_subsystem_checks():
    k = kmemsim.boot()
    seen = []
    k.checks.register("demo", lambda: seen.append(1))
    k.check()
    assert seen == [1]


def test_count_and_runs_without_numpy_give_numpy_s_answers(monkeypatch):
    """A few materialised sections are read in pure Python (no numpy import); the answers, and
    the order of count()'s dict, are numpy's, for every field type (signed ones too)."""
    import random

    import numpy

    from kmemsim.mm import memmap as mod

    rng = random.Random(3)
    m = mm()
    for _ in range(300):
        a = rng.randrange(4 * SECTION_PAGES)
        b = min(a + rng.randrange(1, 3000), 4 * SECTION_PAGES)
        m.set_range(a, b, owner=rng.choice(list(Owner)), refcount=rng.randrange(-2, 3),
                    mapcount=rng.randrange(-1, 2), flags=rng.choice([0, PG.reserved, 1 << 63]),
                    private=rng.randrange(1 << 64))  # fmt: skip
    assert m.materialised_sections() == 3
    spans = [(0, 1 << 62), (5, SECTION_PAGES + 17), (3 * SECTION_PAGES + 1, 3 * SECTION_PAGES + 2)]

    def answers():
        return [(dict(m.count(f, a, b)), list(m.count(f, a, b).items()), list(m.runs(f, a, b)))
                for f in ("flags", "refcount", "mapcount", "private", "owner") for a, b in spans]  # fmt: skip

    monkeypatch.setattr(mod, "_numpy", lambda done: None)
    pure = answers()
    monkeypatch.setattr(mod, "_numpy", lambda done: numpy)
    assert pure == answers()


@pytest.mark.parametrize("code", ["B", "i", "Q"])
def test_runs_by_comparing_memory_are_the_regex_s(code):
    """_py_runs() (memcmp()s a run, then the regex after _LONG_RUNS runs) finds the runs the
    regex finds: long runs, short ones, single items, both ends, every item size."""
    import random
    from array import array

    from kmemsim.mm import memmap as mod

    rng = random.Random(code)
    top = {"B": 255, "i": 1 << 31, "Q": 1 << 64}[code]
    for trial in range(60):
        vals: list[int] = []
        while len(vals) < 5000:
            run = rng.choice([1, 1, 2, 3, 7, 64, 1000, 4097]) if trial % 3 else rng.choice([1, 2])
            v = rng.choice([0, 1, top - 1, rng.randrange(top)])
            vals += [v - (top // 2 if code == "i" else 0)] * run
        arr = array(code, vals[: rng.randrange(1, 5000)])
        for a, b in [(0, len(arr)), (rng.randrange(len(arr)), len(arr)), (0, 1)]:
            if a < b:
                assert mod._py_runs(arr, a, b) == mod._regex_runs(arr, a, b)
    assert mod._py_runs(array(code, [1] * 32768), 0, 32768) == [(0, 32768, 1)]
