"""GFP flags: values (6.18 and 2.6.24), %pGg / show_gfp_flags printing, parsing, gfp_zone, migratetype.

The real strings come from tests/data/host-6.18/gfp-strings.txt, captured from the
reference host's tracepoints by tools/capture_gfp_strings.py.
"""
from __future__ import annotations

import random

import pytest
from conftest import DATA
from hypothesis import given
from hypothesis import strategies as st

from kmemsim import gfp
from kmemsim.errors import ConfigError, UsageError
from kmemsim.gfp import FLAGS_2_6, FLAGS_6_18, GFP_2_6, GFP_6_18

# The 6.18 values by their kernel names, as plain ints: this file tests the 6.18 set's
# printer, parser and zone table with the kernel's own bits (kmemsim.gfp's module names
# are symbolic flags; tests/test_flags.py tests those).
_F = FLAGS_6_18
__GFP_BITS_SHIFT = gfp.__GFP_BITS_SHIFT  # noqa: F811 - the int from kmemsim.gfp
__GFP_COMP = _F["__GFP_COMP"]
__GFP_DMA = _F["__GFP_DMA"]
__GFP_HIGHMEM = _F["__GFP_HIGHMEM"]
__GFP_MOVABLE = _F["__GFP_MOVABLE"]
__GFP_NO_OBJ_EXT = _F["__GFP_NO_OBJ_EXT"]
__GFP_RECLAIM = _F["__GFP_RECLAIM"]
__GFP_RECLAIMABLE = _F["__GFP_RECLAIMABLE"]
__GFP_ZERO = _F["__GFP_ZERO"]
GFP_ATOMIC = _F["GFP_ATOMIC"]
GFP_DMA = _F["GFP_DMA"]
GFP_DMA32 = _F["GFP_DMA32"]
GFP_HIGHUSER = _F["GFP_HIGHUSER"]
GFP_HIGHUSER_MOVABLE = _F["GFP_HIGHUSER_MOVABLE"]
GFP_KERNEL = _F["GFP_KERNEL"]
GFP_KERNEL_ACCOUNT = _F["GFP_KERNEL_ACCOUNT"]
GFP_NOFS = _F["GFP_NOFS"]
GFP_NOIO = _F["GFP_NOIO"]
GFP_NOWAIT = _F["GFP_NOWAIT"]
GFP_TRANSHUGE = _F["GFP_TRANSHUGE"]
GFP_TRANSHUGE_LIGHT = _F["GFP_TRANSHUGE_LIGHT"]
GFP_USER = _F["GFP_USER"]
GFP_ZONEMASK = _F["GFP_ZONEMASK"]

GFP_STRINGS = DATA / "host-6.18" / "gfp-strings.txt"

# ----------------------------------------------------------------------------- 6.18 values

BITS_6_18 = {
    "__GFP_DMA": 0x1,
    "__GFP_HIGHMEM": 0x2,
    "__GFP_DMA32": 0x4,
    "__GFP_MOVABLE": 0x8,
    "__GFP_RECLAIMABLE": 0x10,
    "__GFP_HIGH": 0x20,
    "__GFP_IO": 0x40,
    "__GFP_FS": 0x80,
    "__GFP_ZERO": 0x100,
    "__GFP_DIRECT_RECLAIM": 0x400,
    "__GFP_KSWAPD_RECLAIM": 0x800,
    "__GFP_WRITE": 0x1000,
    "__GFP_NOWARN": 0x2000,
    "__GFP_RETRY_MAYFAIL": 0x4000,
    "__GFP_NOFAIL": 0x8000,
    "__GFP_NORETRY": 0x10000,
    "__GFP_MEMALLOC": 0x20000,
    "__GFP_COMP": 0x40000,
    "__GFP_NOMEMALLOC": 0x80000,
    "__GFP_HARDWALL": 0x100000,
    "__GFP_THISNODE": 0x200000,
    "__GFP_ACCOUNT": 0x400000,
    "__GFP_ZEROTAGS": 0x800000,
    "__GFP_SKIP_ZERO": 0,
    "__GFP_SKIP_KASAN": 0,
    "__GFP_NOLOCKDEP": 0,
    "__GFP_NO_OBJ_EXT": 0x1000000,
}

COMPOSITES_6_18 = {
    "__GFP_RECLAIM": 0xC00,
    "GFP_ZONEMASK": 0xF,
    "GFP_ATOMIC": 0x820,
    "GFP_KERNEL": 0xCC0,
    "GFP_KERNEL_ACCOUNT": 0x400CC0,
    "GFP_NOWAIT": 0x2800,
    "GFP_NOIO": 0xC00,
    "GFP_NOFS": 0xC40,
    "GFP_USER": 0x100CC0,
    "GFP_DMA": 0x1,
    "GFP_DMA32": 0x4,
    "GFP_HIGHUSER": 0x100CC2,
    "GFP_HIGHUSER_MOVABLE": 0x100CCA,
    "GFP_TRANSHUGE_LIGHT": 0x1C20CA,
    "GFP_TRANSHUGE": 0x1C24CA,
}


@pytest.mark.parametrize("name,value", sorted({**BITS_6_18, **COMPOSITES_6_18}.items()))
def test_6_18_values(name: str, value: int) -> None:
    assert GFP_6_18.mask(getattr(gfp, name)) == value  # the symbolic name resolves to it
    assert FLAGS_6_18[name] == value
    assert GFP_6_18.value(name) == value


def test_6_18_dict_is_exactly_the_kernel_names() -> None:
    assert set(FLAGS_6_18) == set(BITS_6_18) | set(COMPOSITES_6_18)


def test_imported_names() -> None:
    assert (GFP_KERNEL, GFP_ATOMIC, GFP_NOWAIT, GFP_HIGHUSER_MOVABLE) == (0xCC0, 0x820, 0x2800, 0x100CCA)
    assert GFP_KERNEL == __GFP_RECLAIM | 0x40 | 0x80
    assert GFP_KERNEL_ACCOUNT == GFP_KERNEL | 0x400000
    assert GFP_TRANSHUGE == GFP_TRANSHUGE_LIGHT | 0x400
    assert (GFP_NOIO, GFP_NOFS, GFP_USER, GFP_HIGHUSER) == (0xC00, 0xC40, 0x100CC0, 0x100CC2)
    assert (GFP_DMA, GFP_DMA32, GFP_ZONEMASK) == (0x1, 0x4, 0xF)
    assert __GFP_BITS_SHIFT == 25 and __GFP_NO_OBJ_EXT == 1 << 24


def test_single_bits_are_distinct_powers_of_two() -> None:
    bits = [v for v in BITS_6_18.values() if v]
    assert all(v & (v - 1) == 0 for v in bits)
    assert len(set(bits)) == len(bits)
    assert max(bits) < 1 << __GFP_BITS_SHIFT
    assert not any(v & 0x200 for v in bits)  # bit 9 unused since __GFP_ATOMIC went in 6.3


# ----------------------------------------------------------------------------- printing


@pytest.mark.parametrize(
    "mask,text",
    [
        (0xDC0, "GFP_KERNEL|__GFP_ZERO"),
        (0x2820, "GFP_ATOMIC|__GFP_NOWARN"),
        (0x140CCA, "GFP_HIGHUSER_MOVABLE|__GFP_COMP"),
        (0xCC0, "GFP_KERNEL"),
        (0x400CC0, "GFP_KERNEL_ACCOUNT"),
        (0xC00, "GFP_NOIO"),  # __GFP_RECLAIM is never printed: GFP_NOIO comes first
        (0x400, "__GFP_DIRECT_RECLAIM"),
        (0x1, "GFP_DMA"),
        (0x4, "GFP_DMA32"),
        (0x1C24CA, "GFP_TRANSHUGE"),
        (0x1D24CA, "GFP_TRANSHUGE|__GFP_NORETRY"),
        (0x1000000, "__GFP_NO_OBJ_EXT"),
        (0x200, "0x200"),  # the unused bit 9 is left over
        (0xCC0 | 0x200, "GFP_KERNEL|0x200"),
        (0x2000000, "0x2000000"),  # above __GFP_BITS_SHIFT
        (0xDC0 | 0x6000000, "GFP_KERNEL|__GFP_ZERO|0x6000000"),
        (
            0x152C4A,  # buddy.md 6.3: page cache of a filesystem that forbids FS recursion
            "GFP_NOFS|__GFP_HIGHMEM|__GFP_MOVABLE|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP|__GFP_HARDWALL",
        ),
        (0x92880, "GFP_NOWAIT|__GFP_FS|__GFP_NORETRY|__GFP_NOMEMALLOC"),
        (0x140DCA, "GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP"),
    ],
)
def test_format_examples(mask: int, text: str) -> None:
    assert GFP_6_18.format(mask) == text
    assert GFP_6_18.format(mask) == text
    assert GFP_6_18.format_trace(mask) == text
    assert GFP_6_18.parse(text) == mask


def test_zero() -> None:
    assert GFP_6_18.format(0) == ""
    assert GFP_6_18.format_trace(0) == "none"
    assert GFP_6_18.parse("") == 0
    assert GFP_6_18.parse("none") == 0
    assert GFP_6_18.parse("  ") == 0


def test_parse_forms() -> None:
    assert GFP_6_18.parse("0xcc0") == GFP_KERNEL
    assert GFP_6_18.parse("0xCC0") == GFP_KERNEL
    assert GFP_6_18.parse("GFP_KERNEL | __GFP_ZERO") == 0xDC0
    assert GFP_6_18.parse("GFP_KERNEL|0x1000000") == GFP_KERNEL | __GFP_NO_OBJ_EXT
    assert GFP_6_18.parse("__GFP_RECLAIM|__GFP_IO|__GFP_FS") == GFP_KERNEL
    assert GFP_6_18.parse("GFP_KERNEL|GFP_KERNEL") == GFP_KERNEL
    assert GFP_6_18.parse("GFP_ZONEMASK") == 0xF


def test_print_table_order() -> None:
    names = [n for _, n in GFP_6_18.table]
    assert names[:14] == [
        "GFP_TRANSHUGE", "GFP_TRANSHUGE_LIGHT", "GFP_HIGHUSER_MOVABLE", "GFP_HIGHUSER",
        "GFP_USER", "GFP_KERNEL_ACCOUNT", "GFP_KERNEL", "GFP_NOFS", "GFP_ATOMIC", "GFP_NOIO",
        "GFP_NOWAIT", "GFP_DMA", "GFP_DMA32", "__GFP_RECLAIM",
    ]
    bits = [n for n, v in BITS_6_18.items() if v]
    assert names[14:] == bits


# ----------------------------------------------------------------------------- real strings


def _capture() -> tuple[list[str], dict[str, str]]:
    strings, header = [], {}
    for line in GFP_STRINGS.read_text().splitlines():
        if line.startswith("#"):
            key, _, rest = line[1:].strip().partition(":")
            header[key] = rest.strip()
        elif line:
            strings.append(line)
    return strings, header


def test_capture_file_shape() -> None:
    strings, header = _capture()
    assert len(strings) >= 40
    assert strings == sorted(set(strings))
    assert GFP_STRINGS.read_text().startswith("#")


def test_real_strings_round_trip() -> None:
    strings, _ = _capture()
    for s in strings:
        assert GFP_6_18.format_trace(GFP_6_18.parse(s)) == s, s


def test_real_masks_print_as_the_kernel_printed_them() -> None:
    """The numeric masks of the same events (trace_pipe_raw) format to exactly the text strings."""
    strings, header = _capture()
    masks = [int(m, 16) for m in header["masks"].split()]
    assert len(masks) == len(strings)
    assert sorted(GFP_6_18.format_trace(m) for m in masks) == strings
    assert sorted(GFP_6_18.parse(s) for s in strings) == sorted(masks)


def test_table_matches_the_kernels_print_fmt() -> None:
    _, header = _capture()
    assert [n for _, n in GFP_6_18.table] == header["table"].split()


@given(st.integers(min_value=0, max_value=(1 << 25) - 1))
def test_parse_format_round_trip(mask: int) -> None:
    assert GFP_6_18.parse(GFP_6_18.format(mask)) == mask
    assert GFP_6_18.parse(GFP_6_18.format_trace(mask)) == mask
    assert GFP_2_6.parse(GFP_2_6.format(mask)) == mask
    assert GFP_2_6.parse(GFP_2_6.format_trace(mask)) == mask


@given(st.integers(min_value=0, max_value=(1 << 25) - 1))
def test_format_is_canonical(mask: int) -> None:
    text = GFP_6_18.format(mask)
    assert GFP_6_18.format(GFP_6_18.parse(text)) == text
    if text:
        names = text.split("|")
        assert len(names) == len(set(names))
        assert all(not n.startswith("0x") for n in names[:-1])  # leftover hex only last


# ----------------------------------------------------------------------------- errors


def test_unknown_flag() -> None:
    with pytest.raises(UsageError, match="GFP_KERNAL"):
        GFP_6_18.parse("GFP_KERNAL|__GFP_ZERO")
    with pytest.raises(UsageError, match="did you mean GFP_KERNEL"):
        GFP_6_18.value("GFP_KERNAL")
    with pytest.raises(UsageError, match="__GFP_BOGUS"):
        GFP_6_18.value("__GFP_BOGUS")
    with pytest.raises(UsageError, match="empty"):
        GFP_6_18.parse("GFP_KERNEL||__GFP_ZERO")
    with pytest.raises(UsageError, match="none"):
        GFP_6_18.parse("none|GFP_KERNEL")
    with pytest.raises(UsageError, match="0x100000000"):
        GFP_6_18.parse("0x100000000")
    with pytest.raises(UsageError):
        GFP_6_18.parse("123")
    with pytest.raises(UsageError):
        GFP_6_18.format(-1)
    with pytest.raises(UsageError):
        GFP_6_18.format("0xcc0")  # type: ignore[arg-type]
    assert issubclass(UsageError, ValueError)


@pytest.mark.parametrize(
    "name,replacement",
    [
        ("__GFP_WAIT", "__GFP_DIRECT_RECLAIM|__GFP_KSWAPD_RECLAIM (__GFP_RECLAIM), split in 4.4"),
        ("__GFP_REPEAT", "__GFP_RETRY_MAYFAIL (4.13)"),
        ("__GFP_COLD", "removed in 4.15 with no replacement"),
        ("GFP_TEMPORARY", "removed in 4.14; use GFP_KERNEL|__GFP_RECLAIMABLE"),
        ("__GFP_ATOMIC", "removed in 6.3"),
        ("GFP_THISNODE", "__GFP_THISNODE"),
        ("GFP_HIGHUSER_PAGECACHE", "GFP_HIGHUSER_MOVABLE"),
    ],
)
def test_old_flags_in_6_18_name_their_replacement(name: str, replacement: str) -> None:
    for call in (lambda: GFP_6_18.value(name), lambda: GFP_6_18.parse(f"GFP_KERNEL|{name}")):
        with pytest.raises(UsageError) as exc:
            call()
        assert name in str(exc.value)
        assert replacement in str(exc.value)


def test_every_2_6_only_name_has_a_story_in_6_18() -> None:
    for name in set(FLAGS_2_6) - set(FLAGS_6_18):
        with pytest.raises(UsageError, match="is not a Linux 6.18 GFP flag"):
            GFP_6_18.value(name)


def test_new_flags_in_2_6() -> None:
    with pytest.raises(UsageError, match="added in 4.4.*__GFP_WAIT"):
        GFP_2_6.value("__GFP_DIRECT_RECLAIM")
    with pytest.raises(UsageError, match="__GFP_REPEAT"):
        GFP_2_6.value("__GFP_RETRY_MAYFAIL")
    with pytest.raises(UsageError, match="__GFP_ACCOUNT.*added after 2.6.24"):
        GFP_2_6.parse("GFP_KERNEL|__GFP_ACCOUNT")


# ----------------------------------------------------------------------------- gfp_zone


@pytest.mark.parametrize(
    "mask,zone",
    [
        (GFP_KERNEL, gfp.ZONE_NORMAL),
        (GFP_ATOMIC, gfp.ZONE_NORMAL),
        (GFP_KERNEL | GFP_DMA, gfp.ZONE_DMA),
        (GFP_DMA, gfp.ZONE_DMA),
        (GFP_DMA32, gfp.ZONE_DMA32),
        (GFP_KERNEL | GFP_DMA32, gfp.ZONE_DMA32),
        (GFP_HIGHUSER_MOVABLE, gfp.ZONE_MOVABLE),
        (GFP_TRANSHUGE, gfp.ZONE_MOVABLE),
        (GFP_HIGHUSER, gfp.ZONE_NORMAL),  # no HIGHMEM on x86_64
        (__GFP_MOVABLE, gfp.ZONE_NORMAL),  # MOVABLE alone is not enough
        (GFP_KERNEL | __GFP_MOVABLE, gfp.ZONE_NORMAL),
        (__GFP_MOVABLE | __GFP_DMA, gfp.ZONE_DMA),
        (__GFP_MOVABLE | 0x4, gfp.ZONE_DMA32),
    ],
)
def test_gfp_zone_6_18(mask: int, zone: int) -> None:
    assert GFP_6_18.zone(mask) == zone


def test_gfp_zone_table_constants() -> None:
    assert gfp.GFP_ZONE_TABLE == 0x1320122
    assert gfp.GFP_ZONE_BAD == 0xE8E8
    assert (gfp.ZONE_DMA, gfp.ZONE_DMA32, gfp.ZONE_NORMAL, gfp.ZONE_MOVABLE) == (0, 1, 2, 3)
    # the bad combinations fall through to table slot 0 (ZONE_DMA) without DEBUG_VM
    for bit in range(16):
        if gfp.GFP_ZONE_BAD >> bit & 1:
            assert GFP_6_18.zone(bit) == gfp.ZONE_DMA
    assert GFP_6_18.zone_name(GFP_KERNEL) == "Normal"
    assert GFP_6_18.zone_name(GFP_DMA32) == "DMA32"


@pytest.mark.parametrize(
    "name,zone",
    [
        ("GFP_KERNEL", "ZONE_NORMAL"),
        ("GFP_ATOMIC", "ZONE_NORMAL"),
        ("GFP_DMA", "ZONE_DMA"),
        ("__GFP_HIGHMEM", "ZONE_HIGHMEM"),
        ("GFP_HIGHUSER", "ZONE_HIGHMEM"),
        ("GFP_HIGHUSER_MOVABLE", "ZONE_MOVABLE"),
        ("__GFP_MOVABLE", "ZONE_NORMAL"),
        ("__GFP_DMA32", "ZONE_NORMAL"),  # no ZONE_DMA32 on i386: the test is compiled out
    ],
)
def test_gfp_zone_2_6(name: str, zone: str) -> None:
    assert GFP_2_6.zone(FLAGS_2_6[name]) == GFP_2_6.zones[zone]
    assert GFP_2_6.zones == {"ZONE_DMA": 0, "ZONE_NORMAL": 1, "ZONE_HIGHMEM": 2, "ZONE_MOVABLE": 3}
    assert GFP_2_6.zone_name(FLAGS_2_6["__GFP_HIGHMEM"]) == "HighMem"


# ----------------------------------------------------------------------------- migratetype, blocking


def test_migratetype_6_18() -> None:
    assert (gfp.MIGRATE_UNMOVABLE, gfp.MIGRATE_MOVABLE, gfp.MIGRATE_RECLAIMABLE) == (0, 1, 2)
    assert (gfp.MIGRATE_HIGHATOMIC, gfp.MIGRATE_ISOLATE, gfp.MIGRATE_TYPES) == (3, 4, 5)
    assert gfp.MIGRATETYPE_NAMES == ("Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate")
    assert GFP_6_18.migratetype(GFP_KERNEL) == gfp.MIGRATE_UNMOVABLE
    assert GFP_6_18.migratetype(GFP_HIGHUSER_MOVABLE) == gfp.MIGRATE_MOVABLE
    assert GFP_6_18.migratetype(GFP_KERNEL | __GFP_RECLAIMABLE) == gfp.MIGRATE_RECLAIMABLE
    assert GFP_6_18.migratetype(GFP_HIGHUSER_MOVABLE, mobility_disabled=True) == gfp.MIGRATE_UNMOVABLE


def test_migratetype_2_6() -> None:
    f = FLAGS_2_6
    assert GFP_2_6.migratetypes["MIGRATE_RECLAIMABLE"] == 1
    assert GFP_2_6.migratetypes["MIGRATE_MOVABLE"] == 2
    assert GFP_2_6.migratetype(f["GFP_KERNEL"]) == 0
    assert GFP_2_6.migratetype(f["GFP_TEMPORARY"]) == 1
    assert GFP_2_6.migratetype(f["GFP_HIGHUSER_MOVABLE"]) == 2
    assert GFP_2_6.migratetype_names[2] == "Movable"


def test_allows_blocking() -> None:
    assert GFP_6_18.allows_blocking(GFP_KERNEL)
    assert GFP_6_18.allows_blocking(GFP_NOIO)
    assert not GFP_6_18.allows_blocking(GFP_ATOMIC)
    assert not GFP_6_18.allows_blocking(GFP_NOWAIT)
    assert not GFP_6_18.allows_blocking(GFP_TRANSHUGE_LIGHT)
    assert GFP_2_6.allows_blocking(FLAGS_2_6["GFP_KERNEL"])
    assert not GFP_2_6.allows_blocking(FLAGS_2_6["GFP_ATOMIC"])


# ----------------------------------------------------------------------------- 2.6.24


@pytest.mark.parametrize(
    "name,value",
    [
        ("GFP_KERNEL", 0xD0),
        ("GFP_ATOMIC", 0x20),
        ("GFP_NOWAIT", 0),
        ("GFP_NOIO", 0x10),
        ("GFP_NOFS", 0x50),
        ("GFP_USER", 0x200D0),
        ("GFP_HIGHUSER", 0x200D2),
        ("GFP_HIGHUSER_MOVABLE", 0x1200D2),
        ("GFP_TEMPORARY", 0x800D0),
        ("__GFP_WAIT", 0x10),
        ("__GFP_COLD", 0x100),
        ("__GFP_REPEAT", 0x400),
        ("__GFP_NOWARN", 0x200),
        ("__GFP_ZERO", 0x8000),
        ("__GFP_MOVABLE", 0x100000),
    ],
)
def test_2_6_values(name: str, value: int) -> None:
    assert FLAGS_2_6[name] == value
    assert GFP_2_6.value(name) == value


def test_2_6_printing() -> None:
    f = FLAGS_2_6
    assert GFP_2_6.format(f["GFP_KERNEL"]) == "GFP_KERNEL"
    assert GFP_2_6.format(f["GFP_KERNEL"] | f["__GFP_ZERO"]) == "GFP_KERNEL|__GFP_ZERO"
    assert GFP_2_6.format(f["GFP_HIGHUSER"] | f["__GFP_COLD"]) == "GFP_HIGHUSER|__GFP_COLD"
    assert GFP_2_6.format(f["GFP_ATOMIC"] | f["__GFP_NOWARN"]) == "GFP_ATOMIC|__GFP_NOWARN"
    assert GFP_2_6.format(0x2000) == "0x2000"  # unused in 2.6.24
    assert GFP_2_6.format(0) == ""
    assert GFP_2_6.format_trace(0) == "GFP_NOWAIT"
    assert GFP_2_6.parse("GFP_NOWAIT") == 0
    assert GFP_2_6.parse("GFP_KERNEL|__GFP_REPEAT") == 0x4D0
    assert GFP_2_6.bits_shift == 21


# ----------------------------------------------------------------------------- profiles


def test_for_profile() -> None:
    assert gfp.for_profile("linux-6.18-x86_64") is GFP_6_18
    assert gfp.for_profile("linux-2.6-i386") is GFP_2_6
    from kmemsim.profiles import get_profile

    assert gfp.for_profile(get_profile("linux-2.6-i386")) is GFP_2_6
    with pytest.raises(ConfigError, match="linux-9"):
        gfp.for_profile("linux-9")


def test_same_name_different_era() -> None:
    rng = random.Random(1)
    for name in set(FLAGS_2_6) & set(FLAGS_6_18):
        assert GFP_2_6.value(name) == FLAGS_2_6[name]
        assert GFP_6_18.value(name) == FLAGS_6_18[name]
    assert GFP_6_18.value("__GFP_ZERO") == __GFP_ZERO == 0x100
    assert GFP_2_6.value("__GFP_ZERO") == 0x8000
    mask = rng.getrandbits(21)
    assert GFP_2_6.parse(GFP_2_6.format(mask)) == mask
    assert __GFP_DMA | __GFP_HIGHMEM | __GFP_COMP == 0x40003
