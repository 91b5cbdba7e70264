"""kmemsim's on-disk cache (kmemsim.snapshot.cache_dir ...) and the parsed snapshot archives kept in it.

A cache is never required: a hit gives exactly what parsing gives, and a missing, stale,
corrupt, unwritable or disabled cache only means parsing again -- with the same result and
the same errors.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from conftest import DATA

import kmemsim
from kmemsim import snapshot as snapmod
from kmemsim.errors import ConfigError

TARBALL = DATA / "host-6.18" / "snapshot.tar.gz"
CORPUS = sorted((DATA / "corpus").glob("*/snapshot.tar.gz"))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh cache directory for one test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("KMEMSIM_CACHE", raising=False)
    return tmp_path / "xdg" / "kmemsim"


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """The archives _read_tar parsed (a hit parses none)."""
    seen: list[Path] = []
    real = snapmod._read_tar

    def spy(path, data=None):
        seen.append(path)
        return real(path, data)

    monkeypatch.setattr(snapmod, "_read_tar", spy)
    return seen


def _uncached(path: Path):
    files, links, dirs = snapmod._read_tar(path)
    for rel, body in files.items():
        snapmod._check_file_numbers(str(path), rel, body)
    return files, links, dirs


def _entries(home: Path) -> list[Path]:
    d = home / "snapshots"
    return sorted(p for p in d.iterdir() if not p.name.startswith(".")) if d.exists() else []


def _same(a: snapmod.HostSnapshot, b: snapmod.HostSnapshot) -> None:
    assert a == b
    assert list(a._files.items()) == list(b._files.items())
    assert a._links == b._links and a._dirs == b._dirs


# ---------------------------------------------------------------------------- the store
def test_where_the_cache_lives(monkeypatch, tmp_path):
    monkeypatch.delenv("KMEMSIM_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert snapmod.cache_dir("snapshots") == tmp_path / "kmemsim" / "snapshots"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # not absolute: ignored, as the XDG spec says
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert snapmod.cache_dir("snapshots") == tmp_path / "h" / ".cache" / "kmemsim" / "snapshots"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert snapmod.cache_dir("x") == tmp_path / "h" / ".cache" / "kmemsim" / "x"
    for off in ("0", "off", "no", "false", " FALSE "):
        monkeypatch.setenv("KMEMSIM_CACHE", off)
        assert not snapmod.cache_enabled() and snapmod.cache_dir("x") is None
    monkeypatch.setenv("KMEMSIM_CACHE", "1")
    assert snapmod.cache_enabled()


def test_put_and_get(home):
    value = ({"a": b"1"}, {"l": "t"}, ["d"])
    assert snapmod._cache_get("t", "k") is None
    assert snapmod._cache_put("t", "k", value)
    assert snapmod._cache_get("t", "k") == value
    assert [p.name for p in (home / "t").iterdir()] == ["k"]  # no temporary file left
    assert not snapmod._cache_put("t", "bad", object())  # not marshal's: not stored, no error


def test_the_least_recently_used_entries_go_beyond_the_bound(home, monkeypatch):
    monkeypatch.setattr(snapmod, "CACHE_MAX_ENTRIES", 3)
    for i in range(3):
        assert snapmod._cache_put("t", f"k{i}", i)
        os.utime(home / "t" / f"k{i}", (1000 + i, 1000 + i))
    assert snapmod._cache_get("t", "k0") == 0  # a hit: k0 is now the most recently used
    assert snapmod._cache_put("t", "k3", 3)
    assert sorted(p.name for p in (home / "t").iterdir()) == ["k0", "k2", "k3"]  # k1 went


def test_keys_depend_on_every_part_and_its_bounds():
    key = snapmod._cache_key
    assert key("a", b"b") == key("a", b"b")
    assert len({key("a", b"b"), key("ab", b""), key("a", b"c"), key("a")}) == 4


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[:-1],  # truncated
        lambda b: b[:40],  # cut inside the digest
        lambda b: b"",  # empty
        lambda b: b[:-5] + bytes([b[-5] ^ 1]) + b[-4:],  # a payload bit
        lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:],  # a digest bit
        lambda b: b"kmemsim-cache 0\n" + b[16:],  # another magic
    ],
)
def test_a_damaged_entry_is_a_miss(home, damage):
    assert snapmod._cache_put("t", "k", {"x": b"y" * 1000})
    p = home / "t" / "k"
    p.write_bytes(damage(p.read_bytes()))
    assert snapmod._cache_get("t", "k") is None


def test_an_unwritable_cache_is_no_error(home):
    home.parent.mkdir(parents=True)
    home.write_text("a file where the cache directory should be")
    assert not snapmod._cache_put("t", "k", 1)
    assert snapmod._cache_get("t", "k") is None


# ---------------------------------------------------------------------------- snapshot archives
def test_a_snapshot_is_parsed_once_then_read_from_the_cache(home, reads):
    first = snapmod.load(TARBALL)
    assert reads == [TARBALL] and len(_entries(home)) == 1
    second = snapmod.load(TARBALL)
    assert reads == [TARBALL]  # the hit parsed nothing
    _same(first, second)
    assert second.source == str(TARBALL)


def test_a_copy_elsewhere_hits_the_same_entry_under_its_own_name(home, reads, tmp_path):
    snapmod.load(TARBALL)
    copy = tmp_path / "elsewhere.tar.gz"
    copy.write_bytes(TARBALL.read_bytes())
    snap = snapmod.load(copy)
    assert reads == [TARBALL] and snap.source == str(copy)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.parent.name)
def test_every_corpus_snapshot_reads_the_same_from_the_cache(home, path, monkeypatch):
    monkeypatch.setenv("KMEMSIM_CACHE", "0")
    plain = snapmod.load(path)
    monkeypatch.delenv("KMEMSIM_CACHE")
    miss = snapmod.load(path)
    hit = snapmod.load(path)
    _same(plain, miss)
    _same(plain, hit)
    assert _uncached(path) == (hit._files, hit._links, hit._dirs)


def test_a_changed_archive_is_parsed_again(home, reads, tmp_path):
    p = tmp_path / "s.tar.gz"
    p.write_bytes(TARBALL.read_bytes())
    snapmod.load(p)
    p.write_bytes(gzip.compress(gzip.decompress(TARBALL.read_bytes()), compresslevel=1))  # same tar
    snapmod.load(p)
    assert reads == [p, p] and len(_entries(home)) == 2


def test_another_kmemsim_version_or_reader_is_a_miss(home, reads, monkeypatch):
    snapmod.load(TARBALL)
    version = kmemsim.__version__
    monkeypatch.setattr(kmemsim, "__version__", "0.0.0-other")
    snapmod.load(TARBALL)
    monkeypatch.setattr(kmemsim, "__version__", version)
    monkeypatch.setattr(snapmod, "_reader_stamp", lambda: b"another reader")
    snapmod.load(TARBALL)
    monkeypatch.setattr(snapmod, "_CACHE_FORMAT", "snapshot-files 999")
    snapmod.load(TARBALL)
    assert len(reads) == 4 and len(_entries(home)) == 4


def test_a_corrupt_entry_is_parsed_again_and_replaced(home, reads):
    first = snapmod.load(TARBALL)
    (entry,) = _entries(home)
    blob = entry.read_bytes()
    entry.write_bytes(blob[: len(blob) // 2])
    again = snapmod.load(TARBALL)
    assert reads == [TARBALL, TARBALL]
    _same(first, again)
    assert entry.read_bytes() == blob  # stored again
    snapmod.load(TARBALL)
    assert len(reads) == 2


def test_an_entry_of_the_wrong_shape_is_a_miss(home, reads):
    snapmod.load(TARBALL)
    (entry,) = _entries(home)
    wrong = [{"a": 1}, ({}, {}, set(), None, None), ({"a": "text"}, {}, [], None, None),
             ({}, {"l": b"x"}, [], None, None), ({}, {}, [1], None, None), None, ({}, {}, []), ({}, {}, [], None),
             ({}, {}, [], [], None), ({}, {}, [], {"c": "text"}, None), ({}, {}, [], {"c": {"order": b"1"}}, None),
             ({}, {}, [], {"c": {1: "1"}}, None), ({}, {}, [], {2: {}}, None), ({}, {}, [], None, [])]
    for w in wrong:
        assert snapmod._cache_put("snapshots", entry.name, w)
        snapmod.load(TARBALL)
    assert len(reads) == 1 + len(wrong)


def test_views_that_do_not_make_a_snapshot_are_parsed_again(home, reads):
    first = snapmod.load(TARBALL)
    (entry,) = _entries(home)
    files, links, dirs, tree, views = snapmod._cache_get("snapshots", entry.name)
    for wrong in [(), ("x",) * len(views), (*views[:3], [(1, 2)], *views[4:]), (*views[:6], ("order",), *views[7:])]:
        assert snapmod._cache_put("snapshots", entry.name, (files, links, dirs, tree, wrong))
        _same(first, snapmod.load(TARBALL))
    assert reads == [TARBALL]


def test_an_unwritable_cache_still_loads(home, reads):
    home.parent.mkdir(parents=True)
    home.write_text("not a directory")
    a = snapmod.load(TARBALL)
    b = snapmod.load(TARBALL)
    _same(a, b)
    assert reads == [TARBALL, TARBALL]


def test_the_cache_turned_off(home, reads, monkeypatch):
    monkeypatch.setenv("KMEMSIM_CACHE", "0")
    snapmod.load(TARBALL)
    snapmod.load(TARBALL)
    assert reads == [TARBALL, TARBALL] and not home.exists()


def test_a_damaged_archive_gives_the_same_error_and_is_never_cached(home, tmp_path, monkeypatch):
    raw = gzip.decompress(TARBALL.read_bytes())
    damaged = {
        "truncated": gzip.compress(raw[: len(raw) // 2]),
        "bad checksum": gzip.compress(raw[:148] + b"9" + raw[149:]),
        "not gzip": b"\x1f\x8b" + os.urandom(300),
        "long number": None,
    }
    for what, data in damaged.items():
        p = tmp_path / f"{what}.tar.gz"
        if data is None:  # a valid archive whose meminfo holds a 21-digit number
            import io
            import tarfile

            with tarfile.open(TARBALL) as src, tarfile.open(p, "w:gz", format=tarfile.GNU_FORMAT) as dst:
                for m in src:
                    body = src.extractfile(m).read() if m.isfile() else None
                    if m.name.endswith("proc/meminfo"):
                        body = body.replace(b"MemTotal:", b"MemTotal: 123456789012345678901", 1)
                        m.size = len(body)
                    dst.addfile(m, io.BytesIO(body) if body is not None else None)
        else:
            p.write_bytes(data)
        errors = []
        for setting in ("0", "1", "1"):
            monkeypatch.setenv("KMEMSIM_CACHE", setting)
            with pytest.raises(ConfigError) as e:
                snapmod.load(p)
            errors.append(str(e.value))
        assert len(set(errors)) == 1, what
        assert str(p) in errors[0], what
    assert _entries(home) == []


def test_a_machine_booted_from_a_cached_snapshot_is_the_same(home):
    a = kmemsim.boot(host=str(TARBALL))
    b = kmemsim.boot(host=str(TARBALL))
    assert len(_entries(home)) == 1
    for view in ("zoneinfo", "buddyinfo", "slabinfo", "meminfo", "vmstat"):
        assert a.proc(view) == b.proc(view)
    assert a.dmesg() == b.dmesg()


# ---------------------------------------------------------------------------- the slab tree, read once
def _slab_caches_as_before(snap):
    prefix = snapmod.SLAB_DIR + "/"
    caches: dict = {}
    for d in sorted(snap._dirs):
        if d.startswith(prefix) and "/" not in d[len(prefix):]:
            caches[d[len(prefix):]] = {}
    for rel in sorted(snap._files):
        if not rel.startswith(prefix):
            continue
        parts = rel[len(prefix):].split("/")
        if len(parts) != 2:
            raise ConfigError(f"{snap.source}/{rel}: unexpected file in the slab tree")
        caches.setdefault(parts[0], {})[parts[1]] = snap._files[rel].decode("utf-8", errors="replace")
    return dict(sorted(caches.items()))


@pytest.mark.parametrize("path", [TARBALL, *CORPUS[:3]], ids=lambda p: p.parent.name)
def test_the_slab_tree_reads_as_it_did(path):
    snap = snapmod.load(path)
    want = _slab_caches_as_before(snap)
    got = snap.slab_caches()
    assert got == want and list(got) == list(want) and all(list(got[c]) == list(want[c]) for c in got)
    assert set(snap.slab_aliases().values()) <= set(got)
    got["kmalloc-64"]["order"] = "changed"  # the caller's copy
    assert snap.slab_caches() == want


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.parent.name)
def test_the_slab_tree_kept_with_an_entry_is_the_one_its_files_give(home, reads, path):
    miss = snapmod.load(path)
    hit = snapmod.load(path)
    assert reads == [path]
    for snap in (miss, hit):
        want = _slab_caches_as_before(snap)
        got = snap.slab_caches()
        assert got == want and list(got) == list(want) and all(list(got[c]) == list(want[c]) for c in got)
        assert snap.slab_aliases() == snapmod.HostSnapshot.slab_aliases(_fresh_copy(snap))


def _fresh_copy(snap):
    """The snapshot with no slab tree kept: slab_caches() and slab_aliases() read its files."""
    copy = snapmod.HostSnapshot(**{f: getattr(snap, f) for f in snapmod.HostSnapshot.__match_args__})
    assert "_slab_memo" not in vars(copy)
    return copy


def test_an_archive_with_a_bad_slab_tree_is_cached_and_still_reports_it(home, reads, tmp_path):
    import io
    import tarfile

    p = tmp_path / "bad-slab.tar.gz"
    with tarfile.open(TARBALL) as src, tarfile.open(p, "w:gz", format=tarfile.GNU_FORMAT) as dst:
        for m in src:
            dst.addfile(m, src.extractfile(m) if m.isfile() else None)
        extra = tarfile.TarInfo("snapshot/sys/kernel/slab/kmalloc-64/deeper/order")
        extra.size = 2
        dst.addfile(extra, io.BytesIO(b"1\n"))
    for _ in range(2):  # a miss, then a hit
        snap = snapmod.load(p)
        for fn in (snap.slab_caches, snap.slab_aliases):
            with pytest.raises(ConfigError, match=r"/sys/kernel/slab/kmalloc-64/deeper/order: unexpected file"):
                fn()
    assert reads == [p] and len(_entries(home)) == 1


def test_the_slab_tree_follows_changes_and_names_the_first_bad_file():
    snap = snapmod.load(TARBALL)
    snap.slab_caches()
    snap._files["sys/kernel/slab/zz-new/order"] = b"1\n"
    assert snap.slab_caches()["zz-new"] == {"order": "1\n"}
    snap._files["sys/kernel/slab/zz/x/y"] = b""
    snap._files["sys/kernel/slab/aa/b/c"] = b""
    for fn in (snap.slab_caches, snap.slab_aliases, lambda: _slab_caches_as_before(snap)):
        with pytest.raises(ConfigError, match=r"/sys/kernel/slab/aa/b/c: unexpected file in the slab tree"):
            fn()
