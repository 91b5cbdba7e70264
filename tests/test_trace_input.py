"""Untrusted input: the limits of the trace reader (line length, decompression ratio, field ranges),
corrupt and truncated gzip data (named, and survived with --lenient by stat, replay and compare),
a table of bad `kmemsim stat` invocations (a kmemsim error naming the input, never a traceback),
and fuzzing of the parsers with random bytes (hypothesis)."""
from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import DATA
from hypothesis import given
from hypothesis import strategies as hs

from kmemsim.cli.trace_cmd import register, register_replay
from kmemsim.trace import KmemStat, TraceFormatError, TraceReader
from kmemsim.trace.source import MAX_LINE, TraceInputError, open_source

TRACE = DATA / "trace"
SCRIPT = TRACE / "perf-script.txt.gz"
ENGINES = ["python", "general", "compiled"]


@click.group()
def cli() -> None:
    pass


register(cli)
register_replay(cli)


def run(*args: str, input: str | bytes | None = None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def engines():
    from kmemsim.trace.parse import compiled_scanner

    return [e for e in ENGINES if e != "compiled" or compiled_scanner() is not None]


def real_lines(n: int = 2000) -> bytes:
    data = gzip.open(SCRIPT, "rb").read()
    return b"".join(data.splitlines(keepends=True)[:n])


# --------------------------------------------------------------------------- limits


def test_a_huge_line_is_refused_quickly_naming_file_and_line(tmp_path):
    bomb = tmp_path / "line.txt.gz"
    z = zlib.compressobj(1, wbits=31)
    chunk = b"a" * (1 << 20)
    with open(bomb, "wb") as f:
        f.write(z.compress(real_lines(10)))
        for _ in range(16):  # a 16 MiB line in a few KB of gzip
            f.write(z.compress(chunk))
        f.write(z.compress(b"\n") + z.flush())
    assert bomb.stat().st_size < 1 << 20
    for engine in engines():
        with pytest.raises(TraceInputError, match=rf"line.txt.gz: line 11 is longer than {MAX_LINE} bytes"):
            list(TraceReader(bomb, engine=engine))
    r = run("stat", bomb)
    assert r.exit_code == 1 and "line 11 is longer than" in r.output and "Traceback" not in r.output


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_dev_zero_is_an_endless_line_not_a_memory_error():
    r = run("stat", "/dev/zero")
    assert r.exit_code == 1 and "/dev/zero: line 1 is longer than" in r.output


def test_a_gzip_bomb_of_short_lines_is_refused(tmp_path):
    bomb = tmp_path / "bomb.gz"
    bomb.write_bytes(gzip.compress(b"\n" * (4 << 20), 9))  # 4 MiB of empty lines, ~4 KB of gzip
    for engine in engines():
        with pytest.raises(TraceInputError, match="decompresses to more than 50 times its compressed size"):
            list(TraceReader(bomb, max_ratio=50, ratio_grace=64 << 10, engine=engine))
    # a real trace compresses about 10:1: well within the limit, even without the grace
    assert len(list(TraceReader(SCRIPT, max_ratio=50, ratio_grace=0))) == 5739


def test_the_line_limit_counts_every_line_of_a_block(tmp_path):
    f = tmp_path / "t.txt"
    lines = real_lines(50).splitlines(keepends=True)
    lines[30] = lines[30].rstrip(b"\n") + b" " + b"x" * 500 + b"\n"
    f.write_bytes(b"".join(lines))
    with pytest.raises(TraceInputError, match="line 31 is longer than 300 bytes"):
        list(TraceReader(f, max_line=300))


@pytest.mark.parametrize(
    "field,value,reason",
    [
        ("order", "-1", "order=-1 is outside 0..15"),
        ("order", "4000000000", "order=4000000000 is outside 0..15"),
        ("order", "16", "order=16 is outside 0..15"),
        ("pfn", "0x10000000000000", "pfn=0x10000000000000 is outside 52 bits"),
        ("ptr", "0x1ffffffffffffffff", "outside 64 bits"),
        ("bytes_req", "99999999999999999999", "bytes_req=99999999999999999999 is outside 64 bits"),
        ("gfp_flags", "GFP_KERNEL|0x100000000", "does not fit gfp_t (32 bits)"),
        ("migratetype", "99999999999", "migratetype=99999999999 is outside 32 bits"),
    ],
)
def test_fields_out_of_range_are_malformed_lines(field, value, reason):
    head = "  sh-1 [000] ..... 1.000001: "
    lines = {
        "order": "mm_page_alloc: page=00000001 pfn=0x100 order={} migratetype=0 gfp_flags=GFP_KERNEL",
        "pfn": "mm_page_free: page=00000001 pfn={} order=0",
        "ptr": "kfree: call_site=f+0x1/0x2 ptr={}",
        "bytes_req": "kmalloc: call_site=f+0x1/0x2 ptr=00a0 bytes_req={} bytes_alloc=8 gfp_flags=GFP_KERNEL",
        "gfp_flags": "kmalloc: call_site=f+0x1/0x2 ptr=00a0 bytes_req=8 bytes_alloc=8 gfp_flags={}",
        "migratetype": "mm_page_alloc: page=00000001 pfn=0x100 order=0 migratetype={} gfp_flags=GFP_KERNEL",
    }
    good = head + "kfree: call_site=f+0x1/0x2 ptr=00000000000000ab"
    text = "\n".join([good, good, head + lines[field].format(value), good]) + "\n"
    for engine in engines():
        with pytest.raises(TraceFormatError, match=rf"t.txt:3: .*{re.escape(reason)}"):
            list(TraceReader(io.BytesIO(text.encode()), engine=engine, name="t.txt"))
        r = TraceReader(io.BytesIO(text.encode()), engine=engine, lenient=True)
        assert len(list(r)) == 3 and r.stats.malformed == 1


def test_a_cpu_beyond_nr_cpus_and_a_timestamp_beyond_64_bits():
    lines = ["  sh-1 [9000] ..... 1.000001: kfree: call_site=f+0x1 ptr=00ab",
             "  sh-1 [000] ..... 99999999999.000001: kfree: call_site=f+0x1 ptr=00ab"]  # fmt: skip
    r = TraceReader(lines, lenient=True)
    assert list(r) == [] and r.stats.malformed == 2
    assert "CPU 9000 is outside 0..8191" in r.stats.malformed_examples[0][1]
    assert "beyond 2**63" in r.stats.malformed_examples[1][1]


# --------------------------------------------------------------------------- damaged gzip


def damaged(tmp_path: Path, how: str) -> Path:
    data = gzip.compress(real_lines(), 6)
    if how == "truncated":
        data = data[: len(data) * 2 // 3]
    elif how == "corrupt":
        i = len(data) * 2 // 3
        data = data[:i] + bytes(b ^ 0x5A for b in data[i : i + 64]) + data[i + 64 :]
    else:  # garbage after the member
        data += b"this is not gzip"
    p = tmp_path / f"{how}.txt.gz"
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("how", ["truncated", "corrupt", "garbage"])
def test_damaged_gzip_is_named_and_lenient_keeps_what_came_before(tmp_path, how):
    path = damaged(tmp_path, how)
    for engine in engines():
        # corrupt deflate data may decompress to garbage lines before zlib notices: either error
        with pytest.raises((TraceInputError, TraceFormatError)) as e:
            list(TraceReader(path, engine=engine))
        if how != "corrupt":
            assert re.search(rf"{how}.txt.gz: .*gzip data.* \(after \d+ complete lines", str(e.value))
        r = TraceReader(path, lenient=True, engine=engine)
        events = list(r)
        assert events and r.stats.damage and "DAMAGED INPUT" in r.stats.summary()
        if how == "garbage":
            assert len(events) == len(list(TraceReader(io.BytesIO(real_lines()))))
    r = run("stat", path)
    assert r.exit_code == 1 and f"{how}.txt.gz" in r.output and "Traceback" not in r.output
    r = run("stat", "--lenient", path)
    assert r.exit_code == 0 and "DAMAGED INPUT" in r.output and "SUMMARY (SLAB allocator)" in r.output


def test_replay_and_compare_share_the_reader(tmp_path):
    path = damaged(tmp_path, "truncated")
    for cmd in (["replay", "--every", "0"], ["compare", "--b-set", "slab_nomerge=1", "--every", "0"]):
        r = run(*cmd, path)
        assert r.exit_code == 1 and "truncated gzip data" in r.output and "Traceback" not in r.output, r.output


def test_open_source_counts_bytes_and_closes(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes(b"a\nb\r\nc")
    src = open_source(p)
    blocks = [bytes(b) for b in src.blocks()]
    assert b"".join(blocks) == b"a\nb\nc" and src.text_bytes == 5 and src.compression == "plain"
    assert src.raw.closed


def _read_blocks(path, mapped, **kw):
    """A Source's blocks as bytes, mapped or read (the mapping refused), and the Source."""
    src = open_source(path, **kw)
    if not mapped:
        src._map = lambda: None
    out = [bytes(b) for b in src.blocks()]
    return out, src


@pytest.mark.parametrize("text", [
    b"a\nb\r\nc", b"", b"x" * 100, b"\n\n\n", b"line\r\n" * 3, b"a\r", b"\r\n",
])  # fmt: skip
def test_a_mapped_file_gives_the_text_reads_give(tmp_path, text):
    p = tmp_path / "t.txt"
    p.write_bytes(text)
    got, src = _read_blocks(p, True)
    want, ref = _read_blocks(p, False)
    assert b"".join(got) == b"".join(want)
    assert (src.text_bytes, src.compression, src.raw.closed) == (ref.text_bytes, "plain", True)


def test_a_mapped_trace_cuts_blocks_at_whole_lines_and_reads_as_read(tmp_path):
    """A few MiB of real lines (some with \\r\\n): blocks of about BLOCK bytes, each whole
    lines, the same events and counts from TraceReader either way; progress reaches the size."""
    from kmemsim.trace.source import BLOCK

    lines = gzip.open(SCRIPT, "rb").read().splitlines(keepends=True)
    body = b"".join(lines) * 8
    body = body[: len(body) // 2] + body[len(body) // 2 :].replace(b"\n", b"\r\n", 200) + lines[5].rstrip(b"\n")
    p = tmp_path / "t.txt"
    p.write_bytes(body)
    seen = []
    got, src = _read_blocks(p, True, progress=lambda done, total: seen.append((done, total)))
    assert src.raw_bytes == len(body) and seen[-1] == (len(body), len(body))
    assert all(b.endswith(b"\n") and len(b) <= BLOCK for b in got[:-1])
    want, _ = _read_blocks(p, False)
    assert b"".join(got) == b"".join(want)
    mapped = TraceReader(p)
    events = list(mapped)
    assert len(events) > 5000 and mapped.stats.compression == "plain"
    assert events == list(TraceReader(io.BytesIO(body)))  # (a stream is read)


def test_a_mapped_file_names_a_line_over_the_limit(tmp_path):
    """Past a block's worth of bytes without a newline, the mapped path refuses the line with the
    message the reads give."""
    p = tmp_path / "t.txt"
    p.write_bytes(real_lines(10) + b"a" * (MAX_LINE + 10) + b"\n" + real_lines(3))
    for mapped in (True, False):
        with pytest.raises(TraceInputError, match=rf"t.txt: line 11 is longer than {MAX_LINE} bytes"):
            src = open_source(p)
            if not mapped:
                src._map = lambda: None
            for block in src.blocks():
                src.lines += bytes(block).count(b"\n")
    ok = tmp_path / "ok.txt"  # exactly max_line bytes: allowed either way
    ok.write_bytes(real_lines(2) + b"b" * MAX_LINE + b"\n" + real_lines(2))
    got, _ = _read_blocks(ok, True)
    want, _ = _read_blocks(ok, False)
    assert b"".join(got) == b"".join(want)


def test_what_is_not_mapped(tmp_path):
    """gzip, a file read from the middle, a small line limit: read a block at a time."""
    plain = tmp_path / "t.txt"
    plain.write_bytes(real_lines(20))
    gz = tmp_path / "t.txt.gz"
    gz.write_bytes(gzip.compress(real_lines(20)))
    assert open_source(plain)._map() is not None
    assert open_source(gz)._map() is None
    assert open_source(plain, max_line=300)._map() is None
    with open(plain, "rb") as f:
        f.read(10)
        assert open_source(f)._map() is None


# --------------------------------------------------------------------------- bad invocations


def _files(tmp_path: Path) -> dict[str, Path]:
    binary = tmp_path / "kallsyms.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    empty = tmp_path / "empty"
    empty.write_text("")
    garbage = tmp_path / "garbage.txt"
    garbage.write_text("hello world\n")
    return {"binary": binary, "empty": empty, "garbage": garbage, "dir": tmp_path}


BAD_STAT = [
    # (arguments; FILE, BIN, EMPTY, GARBAGE, DIR stand for files) -> a piece of the message
    (["--cpu-nodes", "0-99999999:0", "FILE"], "0 <= FIRST <= LAST < 8192"),
    (["--cpu-nodes", "5-1:0", "FILE"], "0 <= FIRST <= LAST"),
    (["--cpu-nodes", "0-1", "FILE"], "expected CPUS:NODE"),
    (["--cpu-nodes", "0:5000", "FILE"], "the node must be 0..1023"),
    (["--cpu-nodes", "a-b:c", "FILE"], "expected CPUS:NODE"),
    (["--kallsyms", "BIN", "FILE"], "not a /proc/kallsyms text"),
    (["--kallsyms", "EMPTY", "FILE"], "no 'ADDRESS TYPE SYMBOL' line"),
    (["--kallsyms", "nosuch", "FILE"], "does not exist"),
    (["--page-size", "0", "FILE"], "a page size is a power of two"),
    (["--page-size", "-4096", "FILE"], "a page size is a power of two"),
    (["--page-size", "3000", "FILE"], "a page size is a power of two"),
    (["--time", "12", "FILE"], "expected START,STOP"),
    (["--time", "3,2", "FILE"], "stop is before start"),
    (["--time", "a,b", "FILE"], "is not a time in seconds"),
    (["-s", "order", "FILE"], "Unknown slab --sort key"),
    (["--page", "-s", "frag", "FILE"], "Unknown page --sort key"),
    (["-l", "-3", "FILE"], "must be 0 or more"),
    (["--top", "-5", "FILE"], "must be -1 or more"),
    (["--format", "xml", "FILE"], "'xml' is not one of"),
    (["--json", "--csv", "FILE"], "give --json or --csv"),
    (["nosuch.txt"], "nosuch.txt"),
    (["DIR"], "is a directory"),
    (["GARBAGE"], "garbage.txt:1: not a trace event line"),
    (["--format", "ftrace", "FILE"], "expected ftrace text"),
    (["--slab", "EMPTY"], "No slab allocation events found"),
    (["--folded", "DIR/out.folded", "FILE"], "no stacks in the trace for --folded"),
    (["--folded", "DIR", "FILE"], "is a directory"),
]


@pytest.mark.parametrize("args,message", BAD_STAT, ids=[" ".join(a) for a, _ in BAD_STAT])
def test_bad_stat_invocations_are_kmemsim_errors(tmp_path, args, message):
    files = _files(tmp_path)
    subst = {"FILE": SCRIPT, "BIN": files["binary"], "EMPTY": files["empty"], "GARBAGE": files["garbage"],
             "DIR": files["dir"]}  # fmt: skip
    argv = []
    for a in args:
        for k, v in subst.items():
            if a == k or a.startswith(k + "/"):
                a = str(v) + a[len(k) :]
        argv.append(a)
    r = run("stat", *argv)
    assert r.exit_code != 0, r.output
    assert isinstance(r.exception, SystemExit), r.exception  # click's exit, not a Python exception
    assert "Traceback" not in r.output
    assert message in r.output, r.output


# --------------------------------------------------------------------------- fuzzing


@given(hs.binary(max_size=600))
def test_random_bytes_give_events_or_kmemsim_errors(data):
    for engine in engines():
        for gz in (False, True):
            raw = gzip.compress(data) if gz else data
            try:
                list(TraceReader(io.BytesIO(raw), engine=engine))
            except (TraceFormatError, TraceInputError):
                pass
            r = TraceReader(io.BytesIO(raw), engine=engine, lenient=True)
            list(r)
            assert r.stats.malformed <= r.stats.lines


@given(hs.binary(min_size=1, max_size=40), hs.integers(0, 1999))
def test_damaged_gzip_bytes_never_escape_as_other_errors(junk, at):
    data = gzip.compress(real_lines(400))
    at = at % len(data)
    bad = data[:at] + junk + data[at + len(junk) :]
    try:
        KmemStat().process(TraceReader(io.BytesIO(bad)))
    except (TraceFormatError, TraceInputError):
        pass
    st = KmemStat().process(TraceReader(io.BytesIO(bad), lenient=True))
    assert st.nr_allocs >= 0


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm (Linux)")
def test_a_mapped_file_does_not_grow_the_resident_set(tmp_path):
    """The blocks' pages leave the process as it reads on: a 48 MiB trace is read with the
    resident set growing by a few MiB, not by the file."""
    import mmap as mmap_mod

    p = tmp_path / "big.txt"
    line = gzip.open(SCRIPT, "rb").readline()
    with open(p, "wb") as f:
        chunk = line * ((4 << 20) // len(line))
        for _ in range(12):
            f.write(chunk)

    def rss() -> int:
        return int(open("/proc/self/statm").read().split()[1]) * mmap_mod.PAGESIZE

    src = open_source(p)
    assert src._map() is not None
    src = open_source(p)
    before = rss()
    peak = before
    n = 0
    for block in src.blocks():
        n += len(block)
        peak = max(peak, rss())
    assert n == p.stat().st_size
    assert peak - before < 12 << 20, (before, peak)
