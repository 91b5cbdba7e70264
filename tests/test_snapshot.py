"""Host snapshots: the captured 6.18 snapshot parses and is self-consistent; errors name file and line.

The checks compare the snapshot's views with each other (and with the kernel's
own relations between them), never with numbers of the capture host.
"""
from __future__ import annotations

import errno
import gzip
import io
import math
import os
import re
import shutil
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA
from hypothesis import given
from hypothesis import strategies as st

from kmemsim import capture as capmod
from kmemsim import snapshot as snapmod
from kmemsim.capture import iter_snapshot_paths, make_tarball, take
from kmemsim.cli.snapshot_cmd import snapshot as snapshot_cmd
from kmemsim.errors import ConfigError
from kmemsim.snapshot import FILES, SLAB_DIR, SYSCTLS, HostSnapshot, load

TARBALL = DATA / "host-6.18" / "snapshot.tar.gz"
FIXED_FILES = [f for f in FILES if not f.endswith("/")]


@pytest.fixture(scope="module")
def snap() -> HostSnapshot:
    return load(TARBALL)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tarball unpacked with only three slab caches (and their aliases): quick to copy.

    Every other file is complete, so the directory is a valid snapshot.
    """
    dest = tmp_path_factory.mktemp("small")
    with tarfile.open(TARBALL) as tf:
        members = tf.getmembers()

        def slab_entry(m: tarfile.TarInfo) -> str | None:
            parts = m.name.split("/")  # "<top>/sys/kernel/slab/<entry>[/<attr>]"
            return parts[4] if len(parts) > 4 and "/".join(parts[1:4]) == SLAB_DIR else None

        dirs = sorted(slab_entry(m) for m in members if m.isdir() and slab_entry(m) and m.name.count("/") == 4)
        keep = {d for d in dirs if d.startswith(":")}
        keep = set(sorted(keep)[:3])
        keep |= {slab_entry(m) for m in members if m.issym() and slab_entry(m) and m.linkname in keep}
        wanted = [m for m in members if slab_entry(m) is None or slab_entry(m) in keep]
        tf.extractall(dest, members=wanted, filter="data")
    (top,) = list(dest.iterdir())
    return top


@pytest.fixture
def snapdir(small: Path, tmp_path: Path) -> Path:
    """A private, writable copy of the (small) snapshot directory."""
    dest = tmp_path / "snap"
    shutil.copytree(small, dest, symlinks=True)
    return dest


def make_fake_root(snapshot_dir: Path, root: Path) -> Path:
    """A fake host root: the snapshot's files at their host paths (a snapshot *is* that layout)."""
    shutil.copytree(snapshot_dir, root, symlinks=True)
    (root / "SNAPSHOT").unlink()
    (root / "proc/sys/kernel").mkdir(parents=True)
    (root / "proc/sys/kernel/osrelease").write_text("6.18.0-fake\n")
    return root


@pytest.fixture
def fake_root(small: Path, tmp_path: Path) -> Path:
    """A fake host root built from the small snapshot."""
    return make_fake_root(small, tmp_path / "root")


def populated(s: HostSnapshot):
    return [z for z in s.zones if z.populated]


# --------------------------------------------------------------------------------------
# The captured snapshot
# --------------------------------------------------------------------------------------


def test_tarball_is_small():
    assert TARBALL.stat().st_size < 300 * 1024


def test_meta(snap):
    assert snap.meta["uname -r"].startswith("6.18")
    assert snap.meta["date"][:4].isdigit()
    assert "back to back" in snap.meta["note"]


def test_zones_of_node_0(snap):
    assert snap.zones and all(z.node == 0 for z in snap.zones)
    assert len({z.name for z in snap.zones}) == len(snap.zones)
    # zoneinfo prints every zone, populated or not: as many as lowmem_reserve[] has entries
    assert all(len(z.protection) == 5 for z in snap.zones)
    assert len(snap.zones) == 5
    assert any(not z.populated for z in snap.zones)
    for z in snap.zones:
        if z.populated:
            assert z.start_pfn is not None and z.stats and z.pagesets
            assert z.managed <= z.present <= z.spanned
        else:
            assert z.start_pfn is None and not z.stats and not z.pagesets and z.managed == 0
    starts = [z.start_pfn for z in populated(snap)]
    assert starts == sorted(starts)
    assert "nr_inactive_anon" in snap.node_stats


def test_watermarks_are_ordered(snap):
    for z in snap.zones:
        assert 0 <= z.min <= z.low <= z.high <= z.promo, z.name
        assert z.boost >= 0


def test_protection_only_for_higher_zones(snap):
    # lowmem_reserve[j] of zone i is 0 for j <= i and non-decreasing above it
    for i, z in enumerate(snap.zones):
        assert all(v == 0 for v in z.protection[: i + 1]), z.name
        assert z.protection[i:] == sorted(z.protection[i:]), z.name


def test_buddyinfo_lists_the_populated_zones(snap):
    assert list(snap.buddyinfo) == [z.name for z in populated(snap)]
    assert len({len(v) for v in snap.buddyinfo.values()}) == 1


def test_buddyinfo_adds_up_to_pages_free(snap):
    """Σ nr_free<<order over buddyinfo == zoneinfo "pages free", within the vmstat drift.

    On this 6.18 host the per-cpu (pcp) pages are *not* part of "pages free":
    NR_FREE_PAGES is adjusted whenever a page leaves or enters the buddy free
    lists (account_freepages() in del_page_from_free_list/__add_to_free_list),
    and a page moved to a pcp list has left them.  So the identity is
    buddy == pages free, not buddy + pcp == pages free.  "pages free" is
    zone_page_state(), which does not include the per-cpu counter deltas not
    yet folded in (each below the zone's "vm stats threshold"), and buddyinfo
    is read after zoneinfo; hence the tolerance of one threshold per CPU.
    """
    for z in populated(snap):
        buddy = sum(n << order for order, n in enumerate(snap.buddyinfo[z.name]))
        tolerance = sum(z.vm_stats_thresholds)
        assert abs(buddy - z.pages_free) <= tolerance, (z.name, buddy, z.pages_free, tolerance)
        if z.pcp_count > 2 * tolerance:
            # adding the pcp pages would break it: they are outside NR_FREE_PAGES
            assert abs(buddy + z.pcp_count - z.pages_free) > tolerance
        assert z.stats["nr_free_pages"] == z.pages_free  # the same counter, printed twice


def test_pagetypeinfo_sums_to_buddyinfo(snap):
    pti = snap.pagetypeinfo
    assert pti.pages_per_block == 1 << pti.pageblock_order
    assert list(pti.free) == list(snap.buddyinfo) == list(pti.blocks)
    assert pti.nr_orders == len(next(iter(snap.buddyinfo.values())))
    for zone, counts in snap.buddyinfo.items():
        assert list(pti.free[zone]) == pti.migratetypes
        if any(z == zone for z, _, _ in pti.free_capped):
            continue  # ">100000": a lower bound only
        assert pti.free_by_order(zone) == counts, zone


def test_pageblock_counts_cover_the_zone(snap):
    pti = snap.pagetypeinfo
    ppb = pti.pages_per_block
    for z in populated(snap):
        nblocks = sum(pti.blocks[z.name].values())
        # every managed page lies in a counted (initialised) pageblock ...
        assert nblocks * ppb >= z.managed, z.name
        # ... and no more blocks than the zone spans
        assert nblocks <= math.ceil((z.start_pfn % ppb + z.spanned) / ppb), z.name
    assert pti.mixed_blocks is None or list(pti.mixed_blocks) == list(pti.blocks)


def test_pagesets_are_the_online_cpus(snap):
    assert snap.cpus_online and snap.cpus_online == sorted(set(snap.cpus_online))
    for z in populated(snap):
        assert [p.cpu for p in z.pagesets] == snap.cpus_online, z.name
        assert len(z.vm_stats_thresholds) == len(snap.cpus_online)
        assert z.vm_stats_threshold == max(z.vm_stats_thresholds) > 0
        for p in z.pagesets:
            assert p.batch >= 1 and 0 <= p.count and p.high_min <= p.high_max, (z.name, p)
            assert p.high_min >= 4 * p.batch  # zone_highsize(): max(.., batch << 2)
    # one batch/high_min/high_max per zone (set for all CPUs by zone_set_pageset_high_and_batch)
    for z in populated(snap):
        assert len({(p.batch, p.high_min, p.high_max) for p in z.pagesets}) == 1


def test_sysctls_parse(snap):
    sc = snap.sysctl
    assert set(SYSCTLS) <= set(sc)
    for name in ("min_free_kbytes", "watermark_scale_factor", "percpu_pagelist_high_fraction"):
        assert isinstance(sc[name], int), name
    ratio = sc["lowmem_reserve_ratio"]
    assert isinstance(ratio, list) and all(isinstance(v, int) for v in ratio)
    assert len(ratio) == len(snap.zones)  # sysctl_lowmem_reserve_ratio[MAX_NR_ZONES]
    assert sc["min_free_kbytes"] >= 128
    # pages_min is split over the lowmem zones in proportion to managed pages (__setup_per_zone_wmarks)
    lowmem = [z for z in snap.zones if z.name not in ("HighMem", "Movable")]
    assert sum(z.min - z.boost for z in lowmem) <= sc["min_free_kbytes"] >> 2


def test_meminfo_and_vmstat(snap):
    mi, vm = snap.meminfo, snap.vmstat
    assert mi["MemTotal"] >= mi["MemFree"] > 0
    assert "HugePages_Total" in mi and "Hugepagesize" in mi
    assert vm["nr_free_pages"] > 0 and "pgfault" in vm
    numa = {"numa_hit", "numa_miss", "numa_foreign", "numa_interleave", "numa_local", "numa_other"}
    assert set(snap.zones[0].stats) <= set(vm) | numa


def test_raw_files(snap):
    for rel in FIXED_FILES:
        assert snap.raw(rel) and snap.raw("/" + rel) == snap.raw(rel)
    assert snap.raw("proc/slabinfo").startswith("slabinfo - version: 2.1\n")
    assert "proc/zoneinfo" in snap.files()
    with pytest.raises(ConfigError, match="proc/nosuch"):
        snap.raw("proc/nosuch")


def test_slab_tree(snap):
    caches, aliases = snap.slab_caches(), snap.slab_aliases()
    assert len(caches) > 50 and aliases
    for name, attrs in caches.items():
        obj, size, order = int(attrs["object_size"]), int(attrs["slab_size"]), int(attrs["order"])
        assert 0 < obj <= size, name
        assert int(attrs["objs_per_slab"]) * size <= 4096 << order, name
    for alias, cache in aliases.items():
        assert cache in caches and alias not in caches
        assert snap.raw(f"{SLAB_DIR}/{alias}/object_size") == caches[cache]["object_size"]
    # merged caches carry ":"-names; their aliases point at them
    assert any(c.startswith(":") for c in aliases.values())


def test_slabinfo_agrees_with_sysfs(snap):
    """/proc/slabinfo (mm/slab_common.c cache_show) vs the sysfs attributes of the same cache."""
    caches, aliases = snap.slab_caches(), snap.slab_aliases()
    lines = snap.raw("proc/slabinfo").splitlines()
    assert lines[1].startswith("# name")
    for line in lines[2:]:
        name, _active, _num, objsize, objperslab, pagesperslab = line.split()[:6]
        attrs = caches[name] if name in caches else caches[aliases[name]]
        assert int(objsize) == int(attrs["slab_size"]), name
        assert int(objperslab) == int(attrs["objs_per_slab"]), name
        assert int(pagesperslab) == 1 << int(attrs["order"]), name


def test_directory_and_tarball_load_the_same(snap, small):
    d = load(small)
    for f in ("meta", "cpus_online", "sysctl", "zones", "node_stats", "buddyinfo", "pagetypeinfo", "meminfo", "vmstat"):
        assert getattr(d, f) == getattr(snap, f), f
    not_slab = [f for f in snap.files() if not f.startswith(SLAB_DIR)]
    assert not_slab == [f for f in d.files() if not f.startswith(SLAB_DIR)]
    assert all(d.raw(f) == snap.raw(f) for f in d.files())
    full_caches, full_aliases = snap.slab_caches(), snap.slab_aliases()
    assert len(d.slab_caches()) == 3
    assert all(full_caches[name] == attrs for name, attrs in d.slab_caches().items())
    assert d.slab_aliases() == {a: c for a, c in full_aliases.items() if c in d.slab_caches()}


# --------------------------------------------------------------------------------------
# Errors: missing, truncated and garbled files
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rel", ["proc/buddyinfo", "proc/zoneinfo", "proc/sys/vm/lowmem_reserve_ratio", "proc/iomem", "SNAPSHOT"]
)
def test_missing_file(snapdir, rel):
    (snapdir / rel).unlink()
    with pytest.raises(ConfigError, match=rf"{rel}: missing"):
        load(snapdir)


def test_missing_slab_tree(snapdir):
    shutil.rmtree(snapdir / SLAB_DIR)
    with pytest.raises(ConfigError, match="sys/kernel/slab: missing"):
        load(snapdir)


def test_no_such_snapshot(tmp_path):
    with pytest.raises(ConfigError, match="nosuch"):
        load(tmp_path / "nosuch")


def test_corrupt_tarball(tmp_path):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(TARBALL.read_bytes()[:5000])
    with pytest.raises(ConfigError, match="bad.tar.gz"):
        load(bad)


def test_tarball_without_snapshot_file(tmp_path):
    t = tmp_path / "x.tar.gz"
    with tarfile.open(t, "w:gz") as tf:
        tf.add(__file__, arcname="x/proc/zoneinfo")
    with pytest.raises(ConfigError, match="no SNAPSHOT"):
        load(t)


def _zoneinfo_lines(snapdir: Path) -> list[str]:
    return (snapdir / "proc/zoneinfo").read_text().splitlines(keepends=True)


def test_truncated_zoneinfo_mid_zone(snapdir):
    lines = _zoneinfo_lines(snapdir)
    normal = next(i for i, ln in enumerate(lines) if ln.startswith("Node 0, zone") and "Normal" in ln)
    (snapdir / "proc/zoneinfo").write_text("".join(lines[: normal + 4]))
    with pytest.raises(ConfigError, match=rf"proc/zoneinfo:{normal + 5}: unexpected end of file"):
        load(snapdir)


def test_truncated_zoneinfo_mid_line(snapdir):
    text = (snapdir / "proc/zoneinfo").read_text()
    (snapdir / "proc/zoneinfo").write_text(text[:-3])
    n = text.count("\n")
    with pytest.raises(ConfigError, match=rf"proc/zoneinfo:{n}: last line has no newline"):
        load(snapdir)


def test_truncated_zoneinfo_at_a_zone_boundary(snapdir):
    lines = _zoneinfo_lines(snapdir)
    last = max(i for i, ln in enumerate(lines) if ln.startswith("Node 0, zone"))
    (snapdir / "proc/zoneinfo").write_text("".join(lines[:last]))
    with pytest.raises(ConfigError, match=rf"proc/zoneinfo:{last}: node 0 lists 4 zones but protection has 5"):
        load(snapdir)


@pytest.mark.parametrize(
    "rel",
    [
        "proc/zoneinfo",
        "proc/buddyinfo",
        "proc/pagetypeinfo",
        "proc/meminfo",
        "proc/vmstat",
        "proc/sys/vm/min_free_kbytes",
        "sys/devices/system/cpu/online",
        "SNAPSHOT",
    ],
)
def test_garbage_line(snapdir, rel):
    lines = (snapdir / rel).read_text().splitlines(keepends=True)
    at = max(1, len(lines) // 2)  # 0-based index of the inserted line
    lines.insert(at, "this is not a kernel line\n")
    (snapdir / rel).write_text("".join(lines))
    with pytest.raises(ConfigError, match=rf"{rel}:{at + 1}:"):
        load(snapdir)


@pytest.mark.parametrize(
    "old, new",
    [
        ("        low ", "        lo  "),  # a renamed field
        ("              batch:    ", "              batch:    x"),  # not a number
        ("        protection: (0, ", "        protection: [0, "),
    ],
)
def test_malformed_zoneinfo_field(snapdir, old, new):
    lines = _zoneinfo_lines(snapdir)
    i = next(i for i, ln in enumerate(lines) if ln.startswith(old))
    lines[i] = lines[i].replace(old, new, 1)
    (snapdir / "proc/zoneinfo").write_text("".join(lines))
    with pytest.raises(ConfigError, match=rf"proc/zoneinfo:{i + 1}: expected"):
        load(snapdir)


def test_buddyinfo_with_a_missing_order(snapdir):
    lines = (snapdir / "proc/buddyinfo").read_text().splitlines(keepends=True)
    lines[-1] = re.sub(r" +\d+ $", " ", lines[-1].rstrip("\n")) + "\n"
    (snapdir / "proc/buddyinfo").write_text("".join(lines))
    with pytest.raises(ConfigError, match=rf"proc/buddyinfo:{len(lines)}: .* orders"):
        load(snapdir)


def test_buddyinfo_and_zoneinfo_disagree(snapdir):
    lines = (snapdir / "proc/buddyinfo").read_text().splitlines(keepends=True)
    (snapdir / "proc/buddyinfo").write_text("".join(lines[:-1]))
    with pytest.raises(ConfigError, match="proc/buddyinfo: zones .* differ from zoneinfo"):
        load(snapdir)


def test_dangling_slab_alias(snapdir):
    os.symlink(":nosuch", snapdir / SLAB_DIR / "dangling")
    s = load(snapdir)
    with pytest.raises(ConfigError, match="sys/kernel/slab/dangling"):
        s.slab_aliases()


def test_pagetypeinfo_capped_count():
    text = (
        "Page block order: 9\nPages per block:  512\n\n"
        "Free pages count per migrate type at order       0      1 \n"
        "Node    0, zone   Normal, type    Unmovable >100000      3 \n"
        "Node    0, zone   Normal, type      Movable      1      2 \n"
        "\nNumber of blocks type     Unmovable      Movable \n"
        "Node 0, zone   Normal          400          100 \n"
    )
    pti = snapmod.parse_pagetypeinfo(text)[0]
    assert pti.free["Normal"]["Unmovable"] == [100000, 3]
    assert pti.free_capped == {("Normal", "Unmovable", 0)}
    assert pti.blocks == {"Normal": {"Unmovable": 400, "Movable": 100}}


@pytest.mark.parametrize(
    "text, cpus", [("0\n", [0]), ("0-1\n", [0, 1]), ("0-1,4\n", [0, 1, 4]), ("0,2-3,7\n", [0, 2, 3, 7])]
)
def test_cpulist(text, cpus):
    assert snapmod.parse_cpulist(text) == cpus


@pytest.mark.parametrize("text", ["", "0-\n", "1-0\n", "2,1\n", "0 1\n", "0-1"])
def test_cpulist_rejects(text):
    with pytest.raises(ConfigError, match="sys/devices/system/cpu/online"):
        snapmod.parse_cpulist(text)


# --------------------------------------------------------------------------------------
# Limits: untrusted snapshots (see the module docstring of kmemsim.snapshot)
# --------------------------------------------------------------------------------------


def _members(snapshot_dir: Path, top: str = "snap") -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """The members of an archive of ``snapshot_dir`` as make_tarball would write them."""
    out: list[tuple[tarfile.TarInfo, bytes | None]] = []
    for dirpath, dirnames, filenames in os.walk(snapshot_dir):
        dirnames.sort()
        base = Path(dirpath)
        rel = base.relative_to(snapshot_dir).as_posix()
        name = top if rel == "." else f"{top}/{rel}"
        ti = tarfile.TarInfo(name)
        ti.type, ti.mode = tarfile.DIRTYPE, 0o755
        out.append((ti, None))
        for fn in sorted(filenames) + [d for d in dirnames if (base / d).is_symlink()]:
            ti = tarfile.TarInfo(f"{name}/{fn}")
            if (base / fn).is_symlink():
                ti.type, ti.linkname = tarfile.SYMTYPE, os.readlink(base / fn)
                out.append((ti, None))
            else:
                data = (base / fn).read_bytes()
                ti.size = len(data)
                out.append((ti, data))
    return out


def _write_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], gz: bool = True) -> Path:
    """Write members by hand: a header's size need not match its data (a header-only member)."""
    buf = io.BytesIO()
    for ti, data in members:
        buf.write(ti.tobuf(format=tarfile.PAX_FORMAT))
        if data:
            buf.write(data + b"\0" * (-len(data) % 512))
    buf.write(b"\0" * 1024)
    path.write_bytes(gzip.compress(buf.getvalue(), compresslevel=1) if gz else buf.getvalue())
    return path


@pytest.fixture(scope="module")
def small_members(small: Path) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    return _members(small)


def _with(members, *extra):
    return list(members) + list(extra)


def _ti(name: str, kind: bytes = tarfile.REGTYPE, size: int = 0, linkname: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.size, ti.linkname = kind, size, linkname
    return ti


def test_the_hand_made_archive_loads(small_members, tmp_path, small):
    s = load(_write_tar(tmp_path / "s.tar.gz", small_members))
    assert s.zones == load(small).zones
    assert load(_write_tar(tmp_path / "s.tar", small_members, gz=False)).zones == s.zones


def test_a_4_gib_member_is_refused_from_its_header(small_members, tmp_path):
    path = _write_tar(tmp_path / "big.tar.gz", _with(small_members, (_ti("snap/proc/huge", size=4 << 30), None)))
    with pytest.raises(ConfigError, match=r"big.tar.gz/snap/proc/huge: 4294967296 bytes, more than .* \(32 MiB\)"):
        load(path)


def test_file_and_total_size_limits(small_members, snapdir, tmp_path, monkeypatch):
    tar = _write_tar(tmp_path / "s.tar.gz", small_members)
    monkeypatch.setattr(snapmod, "MAX_FILE_BYTES", 100_000)  # vmallocinfo is 166 KB
    for src in (tar, snapdir):
        with pytest.raises(ConfigError, match=r"proc/vmallocinfo: 166464 bytes, more than a snapshot file may hold"):
            load(src)
    monkeypatch.setattr(snapmod, "MAX_FILE_BYTES", 32 << 20)
    monkeypatch.setattr(snapmod, "MAX_TOTAL_BYTES", 150_000)
    for src in (tar, snapdir):
        with pytest.raises(ConfigError, match=r"more than 0 MiB of files \(at "):
            load(src)


def test_entry_limit(snapdir, tmp_path, monkeypatch):
    monkeypatch.setattr(snapmod, "MAX_ENTRIES", 50)
    with pytest.raises(ConfigError, match="more than 50 files, directories and symlinks"):
        load(snapdir)
    with pytest.raises(ConfigError, match="snapshot.tar.gz: more than 50 files"):
        load(TARBALL)


def test_a_huge_tar_header_is_refused(small_members, tmp_path):
    ti = _ti("snap/x")
    ti.pax_headers = {"comment": "x" * (2 << 20)}
    with pytest.raises(ConfigError, match="an archive header or read of more than 1 MiB"):
        load(_write_tar(tmp_path / "pax.tar.gz", [(ti, None), *small_members]))


@pytest.mark.parametrize(
    "member, message",
    [
        (_ti("/etc/passwd"), r"member '/etc/passwd' has an absolute path"),
        (_ti("snap/../../etc/x"), r"member 'snap/../../etc/x' has a '..' component"),
        (_ti("snap/proc/zoneinfo"), r"member 'snap/proc/zoneinfo' appears twice"),
        (_ti("other/file"), r"member 'other/file' is outside the snapshot's directory 'snap'"),
        (_ti("snap/x", tarfile.SYMTYPE, linkname="/etc/shadow"), r"snap/x: symlink to an absolute path '/etc/shadow'"),
        (_ti("snap/sys/x", tarfile.SYMTYPE, linkname="../../../etc"), r"sys/x: symlink '../../../etc' points outside"),
        (_ti("snap/up", tarfile.SYMTYPE, linkname="../x"), r"snap/up: symlink '../x' points outside"),
        (_ti("snap/x", tarfile.LNKTYPE, linkname="snap/SNAPSHOT"), r"member 'snap/x' is a hard link"),
        (_ti("snap/dev", tarfile.CHRTYPE), r"member 'snap/dev' is a device"),
        (_ti("snap/fifo", tarfile.FIFOTYPE), r"member 'snap/fifo' is a FIFO"),
        (_ti("snap/" + "a" * 5000), r"a path of 5005 characters \(at most 4096\)"),
    ],
)
def test_hostile_members(small_members, tmp_path, member, message):
    with pytest.raises(ConfigError, match=message):
        load(_write_tar(tmp_path / "h.tar.gz", _with(small_members, (member, None))))


def test_hostile_directory_entries(snapdir):
    (snapdir / "proc" / "escape").symlink_to("../../outside")
    with pytest.raises(ConfigError, match=r"proc/escape: symlink '../../outside' points outside the snapshot"):
        load(snapdir)
    (snapdir / "proc" / "escape").unlink()
    (snapdir / "proc" / "abs").symlink_to("/etc/passwd")
    with pytest.raises(ConfigError, match="proc/abs: symlink to an absolute path"):
        load(snapdir)
    (snapdir / "proc" / "abs").unlink()
    os.mkfifo(snapdir / "proc" / "fifo")
    with pytest.raises(ConfigError, match="proc/fifo: not a regular file, directory or symlink"):
        load(snapdir)


@pytest.mark.parametrize("rel, line", [
    ("proc/sys/vm/min_free_kbytes", "9" * 5000),
    ("proc/sys/vm/lowmem_reserve_ratio", "256 256 " + "3" * 30),
    (f"{SLAB_DIR}/ORDER", "1" * 21),
])
def test_numbers_longer_than_20_digits(snapdir, rel, line):
    if rel.endswith("ORDER"):
        cache = next(p for p in sorted((snapdir / SLAB_DIR).iterdir()) if not p.is_symlink())
        rel = f"{SLAB_DIR}/{cache.name}/order"
    (snapdir / rel).write_text(line + "\n")
    with pytest.raises(ConfigError, match=rf"{rel}:1: a number of \d+ digits \(at most 20"):
        load(snapdir)


def test_the_number_check_of_all_files_names_the_first_too_long_number_in_file_order():
    def first_error(files):
        for rel, data in files.items():  # the check of one file at a time
            try:
                snapmod._check_file_numbers("snap", rel, data)
            except ConfigError as e:
                return str(e)
        return None

    ten, twenty, long = b"1" * 10, b"2" * 20, b"3" * 21
    cases = [
        {"a": ten, "b": ten, "c": ten + b"\n" + ten},  # joined they would be 20 or 30 digits
        {"a": twenty, "b": twenty, "c": b""},
        {"a": b"x\n" + twenty, "b": b"1 2\n" + long + b"\n", "c": b"\n\n" + long + long},
        {"z": b"", "a": ten, "m": b"9\n9\n" + long, "b": long},
        {},
    ]
    for files in cases:
        want = first_error(files)
        if want is None:
            snapmod._check_files_numbers("snap", files)
        else:
            with pytest.raises(ConfigError) as e:
                snapmod._check_files_numbers("snap", files)
            assert str(e.value) == want


def test_a_huge_cpu_list_is_refused_before_it_is_expanded(snapdir):
    (snapdir / "sys/devices/system/cpu/online").write_text("0-99999999\n")
    with pytest.raises(ConfigError, match=r"cpu/online:1: CPU 99999999 out of range \(CPU numbers are below 8192"):
        load(snapdir)
    assert snapmod.parse_cpulist("0-8191\n") == list(range(8192))


# -- fuzzing ---------------------------------------------------------------------------

_PARSERS = [
    ("proc/zoneinfo", snapmod.parse_zoneinfo),
    ("proc/buddyinfo", snapmod.parse_buddyinfo),
    ("proc/pagetypeinfo", snapmod.parse_pagetypeinfo),
    ("proc/meminfo", snapmod.parse_meminfo),
    ("proc/vmstat", snapmod.parse_vmstat),
    ("sys/devices/system/cpu/online", snapmod.parse_cpulist),
    ("proc/sys/vm/lowmem_reserve_ratio", lambda t: snapmod.parse_sysctl("lowmem_reserve_ratio", t)),
    ("proc/sys/vm/min_free_kbytes", lambda t: snapmod.parse_sysctl("min_free_kbytes", t)),
]


@given(data=st.data(), which=st.integers(0, len(_PARSERS) - 1))
def test_fuzz_parsers_on_mutated_host_files(snap, data, which):
    """A mutated real file parses or raises ConfigError naming the file: nothing else."""
    rel, parse = _PARSERS[which]
    text = snap.raw(rel)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(text)))
        cut = data.draw(st.integers(0, 20))
        insert = data.draw(st.sampled_from(["", "0", "9" * 25, "\n", " ", "-", ">", ",", "x", "Node 1, zone DMA"])
                           | st.text(max_size=8))  # fmt: skip
        text = text[:at] + insert + text[at + cut:]
    try:
        parse(text)
    except ConfigError:
        pass


@given(raw=st.binary(max_size=2000), compress=st.booleans())
def test_fuzz_load_random_bytes(tmp_path_factory, raw, compress):
    path = tmp_path_factory.mktemp("fuzz") / "x.tar.gz"
    path.write_bytes(gzip.compress(raw) if compress else raw)
    with pytest.raises(ConfigError):
        load(path)


_NAMES = st.sampled_from([
    "snap/proc/zoneinfo", "snap/SNAPSHOT", "snap", "snap/", ".", "./snap/x", "snap/./x", "/snap/x", "snap/../x",
    "../x", "snap/sys/kernel/slab/a", "snap/sys/kernel/slab/a/order", "other/x", "snap/x/", "snap//y", "",
]) | st.text(min_size=1, max_size=12).map(lambda t: "snap/" + t)  # fmt: skip
_KINDS = st.sampled_from([tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
                          tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE, tarfile.CONTTYPE, b"Z"])  # fmt: skip
_LINKS = st.sampled_from(["", "a", "../a", "../../etc/passwd", "/etc/passwd", ":0000064", "."]) | st.text(max_size=8)


@given(
    extra=st.lists(st.tuples(_NAMES, _KINDS, _LINKS, st.sampled_from([0, 1, 511, 513, 40 << 20, 4 << 30])), max_size=4),
    drop=st.integers(0, 400),
    data=st.binary(max_size=64),
)
def test_fuzz_load_crafted_archives(small_members, tmp_path_factory, extra, drop, data):
    """The small snapshot plus crafted members (huge, symlinks out, devices, absolute, ``..``,
    duplicates, headers whose size lies): it loads or raises ConfigError, quickly."""
    members = [m for i, m in enumerate(small_members) if i != drop]
    for name, kind, link, size in extra:
        ti = _ti(name, kind, size, link)
        members.append((ti, data[:size] if kind in (tarfile.REGTYPE, tarfile.AREGTYPE) else None))
    path = _write_tar(tmp_path_factory.mktemp("fuzz") / "c.tar.gz", members)
    try:
        load(path)
    except ConfigError:
        pass


# --------------------------------------------------------------------------------------
# take
# --------------------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in iter_snapshot_paths(root):
        rel = p.relative_to(root).as_posix()
        out[rel] = ("link", os.readlink(p)) if p.is_symlink() else p.read_bytes()
    return out


def test_take_from_a_fake_root(small, fake_root, tmp_path, snap):
    out = take(tmp_path / "out", root=fake_root)
    got, want = _tree(out), _tree(small)
    got.pop("SNAPSHOT")
    want.pop("SNAPSHOT")
    assert got == want  # every file byte for byte, aliases as the same relative symlinks
    s = load(out)
    assert s.meta["uname -r"] == "6.18.0-fake"
    assert s.meta["root"] == str(fake_root)
    for f in ("cpus_online", "sysctl", "zones", "buddyinfo", "pagetypeinfo", "meminfo", "vmstat"):
        assert getattr(s, f) == getattr(snap, f), f
    assert s.slab_aliases() == load(small).slab_aliases() != {}
    assert "attempt 1" in s.meta["note"]


def test_read_then_write_is_take(small, fake_root, tmp_path):
    """capture.read() writes nothing (tools/capture_corpus.py records a trace between the two);
    capture.write() of it is the snapshot take() makes."""
    before = set(tmp_path.iterdir())
    host = capmod.read(fake_root, note="read first")
    assert set(tmp_path.iterdir()) == before
    out = capmod.write(host, tmp_path / "out")
    got, want = _tree(out), _tree(take(tmp_path / "again", root=fake_root))
    assert "note: read first" in got.pop("SNAPSHOT").decode()  # type: ignore[union-attr]
    want.pop("SNAPSHOT")
    assert got == want
    with pytest.raises(ConfigError):
        capmod.write(host, tmp_path / "out")  # not over a snapshot without force


def test_take_skips_unreadable_slab_attributes(fake_root, tmp_path, monkeypatch):
    cache = next(p for p in sorted((fake_root / SLAB_DIR).iterdir()) if not p.is_symlink())
    (cache / "write_only").write_text("secret\n")
    (cache / "write_only").chmod(0o200)
    (cache / "broken").write_text("x\n")
    (cache / "alloc_calls").write_text("x\n")
    real = capmod._read_bytes

    def fake_read(path: Path) -> bytes:
        if path.name == "broken":
            raise OSError(errno.EIO, "Input/output error")
        if path.name == "alloc_calls":
            raise OSError(errno.ENODEV, "No such device")
        return real(path)

    monkeypatch.setattr(capmod, "_read_bytes", fake_read)
    out = take(tmp_path / "out", root=fake_root)
    attrs = load(out).slab_caches()[cache.name]
    assert "object_size" in attrs
    assert not {"write_only", "broken", "alloc_calls"} & set(attrs)
    meta = (out / "SNAPSHOT").read_text()
    assert f"{cache.name}/broken (EIO)" in meta and f"{cache.name}/alloc_calls (ENODEV)" in meta


def test_take_fails_on_other_slab_errors(fake_root, tmp_path, monkeypatch):
    real = capmod._read_bytes

    def fake_read(path: Path) -> bytes:
        if path.name == "order":
            raise OSError(errno.ENOMEM, "Cannot allocate memory")
        return real(path)

    monkeypatch.setattr(capmod, "_read_bytes", fake_read)
    with pytest.raises(ConfigError, match="/order: cannot read"):
        take(tmp_path / "out", root=fake_root)


def test_take_rereads_a_moving_zoneinfo(fake_root, tmp_path, monkeypatch):
    """Lazily deferred init: managed grows between the two zoneinfo reads -> read the pair again."""
    real = capmod._read_bytes
    reads = {"n": 0}

    def fake_read(path: Path) -> bytes:
        data = real(path)
        if path.name == "zoneinfo":
            reads["n"] += 1
            if reads["n"] == 2:  # the check read of the first attempt sees a grown zone
                data = data.replace(b"        managed  ", b"        managed  1", 1)
        return data

    monkeypatch.setattr(capmod, "_read_bytes", fake_read)
    out = take(tmp_path / "out", root=fake_root)
    assert reads["n"] == 4
    assert "attempt 2" in (out / "SNAPSHOT").read_text()


def test_take_missing_required_file(fake_root, tmp_path):
    (fake_root / "proc/pagetypeinfo").unlink()
    with pytest.raises(ConfigError, match="proc/pagetypeinfo: missing"):
        take(tmp_path / "out", root=fake_root)
    assert not (tmp_path / "out").exists()


def test_take_unreadable_required_file(fake_root, tmp_path, monkeypatch):
    real = capmod._read_bytes

    def fake_read(path: Path) -> bytes:
        if path.name == "slabinfo":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(path)

    monkeypatch.setattr(capmod, "_read_bytes", fake_read)
    with pytest.raises(ConfigError, match="proc/slabinfo: not readable .*run as root"):
        take(tmp_path / "out", root=fake_root)


def test_take_refuses_a_non_empty_directory(fake_root, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "file").write_text("x")
    with pytest.raises(ConfigError, match="not an empty directory"):
        take(tmp_path / "out", root=fake_root)


def test_make_tarball_round_trip(fake_root, tmp_path, snap):
    out = take(tmp_path / "snap", root=fake_root)
    tb = make_tarball(out)
    assert tb == (tmp_path / "snap.tar.gz").resolve()
    s, d = load(tb), load(out)
    assert s.zones == d.zones == snap.zones
    assert s.slab_caches() == d.slab_caches() and s.slab_aliases() == d.slab_aliases()
    assert s.files() == d.files()


def test_cli_snapshot(fake_root, tmp_path):
    out = tmp_path / "cli-snap"
    r = CliRunner().invoke(snapshot_cmd, ["-o", str(out), "--tar", "--root", str(fake_root)])
    assert r.exit_code == 0, r.output
    nfiles = sum(1 for p in iter_snapshot_paths(out) if not p.is_symlink())
    assert f"wrote {nfiles} files and " in r.output and str(out) in r.output
    assert "cli-snap.tar.gz" in r.output
    assert load(tmp_path / "cli-snap.tar.gz").zones == load(out).zones
    r = CliRunner().invoke(snapshot_cmd, ["-o", str(out), "--root", str(fake_root)])
    assert r.exit_code != 0 and "not an empty directory" in r.output


# -- writing safely (kmemsim.fileio) ----------------------------------------------------


def _parts(d: Path) -> list[str]:
    return sorted(p.name for p in d.iterdir() if p.name.startswith("."))


def test_take_never_writes_through_a_symlink(fake_root, tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir()
    (tmp_path / "out").symlink_to(victim)
    for force in (False, True):
        with pytest.raises(ConfigError, match="out: is a symbolic link"):
            take(tmp_path / "out", root=fake_root, force=force)
    assert list(victim.iterdir()) == []


def test_take_force_replaces_only_an_earlier_snapshot(fake_root, tmp_path):
    out = take(tmp_path / "snap", root=fake_root)
    (out / "mine").write_text("an earlier snapshot's extra file")
    with pytest.raises(ConfigError, match="an earlier snapshot \\(use --force to replace it\\)"):
        take(out, root=fake_root)
    take(out, root=fake_root, force=True)
    assert not (out / "mine").exists() and load(out).zones
    assert _parts(tmp_path) == []  # no temporary or old directory left
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.tex").write_text("precious")
    with pytest.raises(ConfigError, match="not an empty directory \\(nor a snapshot that --force could replace\\)"):
        take(other, root=fake_root, force=True)
    assert (other / "thesis.tex").read_text() == "precious"


def test_take_failing_midway_leaves_nothing(fake_root, tmp_path, monkeypatch):
    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(capmod.os, "symlink", full)
    with pytest.raises(ConfigError, match="out: cannot write the snapshot: No space left on device"):
        take(tmp_path / "out", root=fake_root)
    assert not (tmp_path / "out").exists() and _parts(tmp_path) == []


def test_make_tarball_is_safe(fake_root, tmp_path):
    out = take(tmp_path / "snap", root=fake_root)
    tb = tmp_path / "snap.tar.gz"
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    tb.symlink_to(victim)
    for force in (False, True):
        with pytest.raises(ConfigError, match=r"snap.tar.gz: is a symbolic link"):
            make_tarball(out, force=force)
    assert victim.read_bytes() == b"precious"
    tb.unlink()
    tb.write_bytes(b"old archive")
    with pytest.raises(ConfigError, match=r"snap.tar.gz: already exists \(use --force"):
        make_tarball(out)
    assert tb.read_bytes() == b"old archive"
    assert make_tarball(out, force=True) == tb.resolve()
    assert load(tb).zones == load(out).zones
    assert [p for p in _parts(tmp_path) if p.endswith(".part")] == []


def test_cli_snapshot_checks_the_archive_before_reading_the_host(fake_root, tmp_path):
    out, tb = tmp_path / "s", tmp_path / "s.tar.gz"
    tb.symlink_to(tmp_path / "victim")
    r = CliRunner().invoke(snapshot_cmd, ["-o", str(out), "--tar", "--force", "--root", str(fake_root)])
    assert r.exit_code != 0 and "s.tar.gz: is a symbolic link" in r.output and "Traceback" not in r.output
    assert not out.exists() and not (tmp_path / "victim").exists()
    tb.unlink()
    tb.write_bytes(b"old")
    r = CliRunner().invoke(snapshot_cmd, ["-o", str(out), "--tar", "--root", str(fake_root)])
    assert r.exit_code != 0 and "already exists (use --force" in r.output and not out.exists()
    r = CliRunner().invoke(snapshot_cmd, ["-o", str(out), "--tar", "--force", "--root", str(fake_root)])
    assert r.exit_code == 0, r.output
    assert load(tb).zones == load(out).zones
    r = CliRunner().invoke(snapshot_cmd, ["-o", str(out), "--tar", "--force", "--root", str(fake_root)])
    assert r.exit_code == 0, r.output  # both replaced
    r = CliRunner().invoke(snapshot_cmd, ["--help"])
    assert "kmemsim.snapshot.load()" in r.output and "`load`" not in r.output


# --------------------------------------------------------------------------------------
# The live host
# --------------------------------------------------------------------------------------


@pytest.mark.host
def test_take_on_the_live_host(tmp_path):
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root")
    if not os.access("/proc/pagetypeinfo", os.R_OK) or not os.path.isdir("/" + SLAB_DIR):
        pytest.skip("needs a readable /proc/pagetypeinfo and /sys/kernel/slab")
    out = tmp_path / "live"
    try:
        take(out)
        s = load(out)
        assert s.meta["uname -r"] == os.uname().release
        assert s.cpus_online and populated(s)
        for z in populated(s):
            assert [p.cpu for p in z.pagesets] == s.cpus_online
            assert z.min <= z.low <= z.high <= z.promo
        assert s.slab_caches() and s.slab_aliases() is not None
        assert make_tarball(out).stat().st_size < 1 << 20
    finally:
        shutil.rmtree(out, ignore_errors=True)  # thousands of slab files: don't leave them to pytest


# --------------------------------------------------------------------------------------
# The one-pass archive reader and tarfile's agree
# --------------------------------------------------------------------------------------


def _read_both(path: Path):
    """_read_tar's result (or its error) with the one-pass reader, and with tarfile alone."""

    def run(p):
        try:
            return snapmod._read_tar(p)
        except ConfigError as e:
            return str(e)

    fast = run(path)
    saved = snapmod._fast_tar_members
    snapmod._fast_tar_members = lambda *a: None
    try:
        slow = run(path)
    finally:
        snapmod._fast_tar_members = saved
    return fast, slow


def test_kmemsim_snapshots_take_the_one_pass_reader():
    assert snapmod._fast_tar_members(TARBALL, 1 << 30) is not None


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.USTAR_FORMAT, tarfile.PAX_FORMAT])
@pytest.mark.parametrize(
    "extra",
    [
        [],
        [_ti("snap/sys/kernel/slab/" + "long-name-" * 12, tarfile.REGTYPE)],  # GNU: a ././@LongLink
        [_ti("snap/sys/kernel/slab/l", tarfile.SYMTYPE, linkname=":t-" + "0" * 120)],
        [_ti("snap/sys/kernel/slab/" + "d" * 120 + "/", tarfile.DIRTYPE)],
        [_ti("snap/sys/kernel/slab/é")],
        [_ti("/abs")],
        [_ti("snap/x", tarfile.LNKTYPE, linkname="snap/SNAPSHOT")],
        [_ti("snap/proc/zoneinfo")],
        [_ti("snap/./proc//x/")],
    ],
)
def test_the_one_pass_reader_reads_as_tarfile_does(small_members, tmp_path, fmt, extra):
    path = tmp_path / "s.tar.gz"
    with tarfile.open(path, "w:gz", format=fmt) as tf:
        for ti, data in _with(small_members, *[(ti, None) for ti in extra]):
            try:
                tf.addfile(ti, io.BytesIO(data) if data else None)
            except ValueError:  # a name USTAR cannot hold
                pytest.skip("not representable in this format")
    fast, slow = _read_both(path)
    assert fast == slow
    if not extra:
        assert isinstance(fast, tuple)


def test_the_one_pass_reader_falls_back_on_damage(small_members, tmp_path):
    raw = bytearray(gzip.decompress(_write_tar(tmp_path / "s.tar.gz", small_members).read_bytes()))
    for i, damage in enumerate([raw[: len(raw) // 2], raw[:148] + b"9" + raw[149:], raw[:-1024]]):
        path = tmp_path / f"d{i}.tar.gz"
        path.write_bytes(gzip.compress(bytes(damage)))
        assert snapmod._fast_tar_members(path, 1 << 30) is None
        fast, slow = _read_both(path)
        assert fast == slow


def test_an_archive_over_the_one_pass_reader_s_size_streams_through_tarfile(monkeypatch):
    fast = snapmod._read_tar(TARBALL)
    monkeypatch.setattr(snapmod, "_FAST_TAR_BYTES", 1 << 16)
    assert snapmod._fast_tar_members(TARBALL, snapmod._FAST_TAR_BYTES) is None
    assert snapmod._read_tar(TARBALL) == fast
