"""Hypothesis fuzzing of what kmemsim reads from files: traces (kmemsim.trace.parse and the
byte sources of kmemsim.trace.source) and host snapshots (kmemsim.snapshot.load).

Whatever the bytes, the only exceptions are kmemsim's (a ``KmemsimError``: a
``ConfigError`` or ``TraceInputError`` naming the file and line); with ``lenient=True`` a
malformed line is counted and skipped, never raised.  docs/limits.md lists the limits
these inputs run into.
"""
from __future__ import annotations

import gzip
import io
import tarfile
from collections import Counter
from pathlib import Path

import pytest
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmemsim import snapshot
from kmemsim.errors import KmemsimError
from kmemsim.trace.parse import ParseStats
from kmemsim.trace.parse import parse as trace_parse

TRACE_LINES = gzip.decompress((DATA / "host-6.18" / "kmem-trace.txt.gz").read_bytes()).decode().splitlines()[:400]
EVENT_LINES = [ln for ln in TRACE_LINES if ": mm_" in ln or ": km" in ln][:200]
SNAP = DATA / "host-6.18" / "snapshot.tar.gz"

FUZZ = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.function_scoped_fixture])


def _drain(data: bytes, lenient: bool) -> ParseStats:
    stats = ParseStats()
    for _ in trace_parse(io.BytesIO(data), lenient=lenient, stats=stats):
        pass
    return stats


def _only_kmemsim_errors(data: bytes) -> None:
    try:
        _drain(data, lenient=False)
    except KmemsimError as e:
        assert str(e)
    try:
        _drain(data, lenient=True)
    except KmemsimError as e:  # unreadable bytes (compression, a line over MAX_LINE) even so
        assert str(e)


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_give_kmemsim_errors_only(data: bytes):
    _only_kmemsim_errors(data)


@FUZZ
@given(st.binary(max_size=2048))
def test_random_gzip_gives_kmemsim_errors_only(data: bytes):
    z = gzip.compress(data)
    _only_kmemsim_errors(z)
    _only_kmemsim_errors(z[: max(1, len(z) // 2)])  # truncated


_mutation = st.tuples(
    st.integers(0, len(EVENT_LINES) - 1),  # which line
    st.integers(0, 300),  # where
    st.integers(0, 40),  # how many characters go
    st.text(alphabet=st.sampled_from("0123456789abcdefx=-:|, \t[]().\x00\xff_GFPorder"), max_size=12),
)


@FUZZ
@given(st.lists(_mutation, min_size=1, max_size=8))
def test_mutated_real_lines_error_with_the_line_or_are_skipped(mutations):
    lines = list(EVENT_LINES)
    changed = set()
    for idx, at, cut, ins in mutations:
        s = lines[idx]
        at = min(at, len(s))
        lines[idx] = s[:at] + ins + s[at + cut:]
        changed.add(idx)
    data = "\n".join(lines).encode("utf-8", errors="surrogateescape") + b"\n"
    try:
        _drain(data, lenient=False)
    except KmemsimError as e:
        assert ":" in str(e)  # names the input and the line
    stats = _drain(data, lenient=True)
    assert stats.malformed <= len(changed)


@pytest.mark.parametrize("order", ["-1", "4000000000", "16", "0x3", "1e3", ""])
def test_page_event_orders_outside_any_kernel_name_the_line(order: str):
    line = next(ln for ln in EVENT_LINES if "mm_page_alloc:" in ln)
    bad = line.replace("order=0", f"order={order}", 1)
    assert bad != line
    data = (line + "\n" + bad + "\n").encode()
    with pytest.raises(KmemsimError, match=r":2: mm_page_alloc:"):
        _drain(data, lenient=False)
    assert _drain(data, lenient=True).malformed == 1


# ------------------------------------------------------------------ snapshots
def _members() -> dict[str, bytes]:
    with tarfile.open(SNAP) as tf:
        out = {}
        for m in tf.getmembers():
            if m.isfile() and not m.name.startswith("snapshot/sys/kernel/slab/"):
                f = tf.extractfile(m)
                assert f is not None
                out[m.name] = f.read()
        return out


REAL = _members()


def _tar(path: Path, files: dict[str, bytes], extra=()) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        tf.addfile(_dir("snapshot/sys/kernel/slab"))
        for name, data in files.items():
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
        for ti, data in extra:
            tf.addfile(ti, io.BytesIO(data) if data is not None else None)
    return path


def _dir(name: str) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    return ti


def _load_only_kmemsim_errors(path: Path) -> None:
    try:
        snapshot.load(path)
    except KmemsimError as e:
        assert str(e)


def test_the_rebuilt_real_snapshot_loads(tmp_path):
    snap = snapshot.load(_tar(tmp_path / "s.tar.gz", REAL))
    assert snap.zones


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes_are_no_snapshot(tmp_path_factory, data: bytes):
    p = tmp_path_factory.mktemp("rb") / "x.tar.gz"
    p.write_bytes(data)
    _load_only_kmemsim_errors(p)
    p.write_bytes(gzip.compress(data))
    _load_only_kmemsim_errors(p)


_VIEWS = sorted(n for n in REAL if "/proc/" in n and not n.endswith("iomem"))


@FUZZ
@given(st.sampled_from(_VIEWS), st.lists(_mutation, min_size=1, max_size=6))
def test_mutated_snapshot_views_give_kmemsim_errors_only(tmp_path_factory, name: str, mutations):
    lines = REAL[name].decode().splitlines()
    if not lines:
        return
    for idx, at, cut, ins in mutations:
        i = idx % len(lines)
        s = lines[i]
        lines[i] = s[: min(at, len(s))] + ins + s[min(at, len(s)) + cut:]
    files = dict(REAL)
    files[name] = ("\n".join(lines) + "\n").encode("utf-8", errors="surrogateescape")
    _load_only_kmemsim_errors(_tar(tmp_path_factory.mktemp("mv") / "s.tar.gz", files))


def _link(name: str, target: str, hard: bool = False) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.LNKTYPE if hard else tarfile.SYMTYPE
    ti.linkname = target
    return ti


def _huge(name: str, size: int) -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.size = size
    return ti


CRAFTED = {
    "absolute path": [(tarfile.TarInfo("/etc/passwd"), b"")],
    "absolute member of the snapshot": [(tarfile.TarInfo("/snapshot/proc/meminfo"), b"")],
    "dot-dot member": [(tarfile.TarInfo("snapshot/../../evil"), b"")],
    "symlink out of the snapshot": [(_link("snapshot/proc/evil", "/etc/passwd"), None)],
    "symlink up and out": [(_link("snapshot/proc/evil", "../../../etc/passwd"), None)],
    "symlink loop": [(_link("snapshot/proc/a", "b"), None), (_link("snapshot/proc/b", "a"), None)],
    "hard link out": [(_link("snapshot/proc/evil", "/etc/passwd", hard=True), None)],
    "device file": [(tarfile.TarInfo("snapshot/proc/dev"), b"")],
    "fifo": [(tarfile.TarInfo("snapshot/proc/fifo"), b"")],
}
CRAFTED["device file"][0][0].type = tarfile.CHRTYPE
CRAFTED["fifo"][0][0].type = tarfile.FIFOTYPE


@pytest.mark.parametrize("what", sorted(CRAFTED))
def test_crafted_members_give_kmemsim_errors_only(tmp_path, what: str):
    p = _tar(tmp_path / "s.tar.gz", REAL, CRAFTED[what])
    _load_only_kmemsim_errors(p)


def test_a_huge_member_is_refused_before_it_is_read(tmp_path):
    p = tmp_path / "huge.tar.gz"
    # a header that claims 1 GiB followed by a few bytes: refused by its size, not read
    header = _huge("snapshot/proc/meminfo", 1 << 30).tobuf(format=tarfile.GNU_FORMAT)
    p.write_bytes(gzip.compress(header + b"x" * 512))
    with pytest.raises(KmemsimError, match=r"snapshot/proc/meminfo: 1073741824 bytes, more than a snapshot file"):
        snapshot.load(p)


def test_many_members_are_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(snapshot, "MAX_ENTRIES", 500)
    files = dict(REAL)
    files.update({f"snapshot/proc/junk/{i}": b"" for i in range(600)})
    with pytest.raises(KmemsimError, match="more than 500 files"):
        snapshot.load(_tar(tmp_path / "many.tar.gz", files))


def test_every_crafted_kind_was_refused_or_ignored(tmp_path):
    """None of the crafted members makes the loader read outside the archive: the loaded
    snapshot (when one loads) never holds the host's /etc/passwd."""
    seen = Counter()
    for what, extra in CRAFTED.items():
        try:
            snap = snapshot.load(_tar(tmp_path / f"{what.replace(' ', '_')}.tar.gz", REAL, extra))
        except KmemsimError:
            seen["refused"] += 1
            continue
        seen["loaded"] += 1
        assert all(b"root:" not in snap.raw(n).encode() for n in ("proc/meminfo",))
    assert sum(seen.values()) == len(CRAFTED)
