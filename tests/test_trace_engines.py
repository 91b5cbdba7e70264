"""The compiled scanner and slab core (kmemsim.trace._kmemscan, built when a C compiler is there)
give exactly what the pure-Python parser and statistics give: on the real captures, and as
hypothesis properties over generated and mutated lines of every format and random event streams.
The fast path of each engine must also agree with the general path (every line read the slow way).
Without the compiled module the comparisons with it are skipped; the Python ones still run."""
from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from conftest import DATA
from hypothesis import given
from hypothesis import strategies as hs

from kmemsim.trace import KmemStat, PageAlloc, PageFree, SlabAlloc, SlabFree, StatOptions, TraceReader
from kmemsim.trace.parse import compiled_scanner
from kmemsim.trace.stat import _compiled
from kmemsim.tracepoints.emit import FTRACE_HEADER, ftrace_line, perf_script_line, trace_cmd_line

TRACE = DATA / "trace"
CAPTURES = [
    TRACE / "perf-script.txt.gz",
    TRACE / "perf-script-callchain.txt.gz",
    TRACE / "trace-cmd-report.txt.gz",
    TRACE / "trace-cmd-report-l.txt.gz",
    TRACE / "ftrace-tgid-stack.txt.gz",
    TRACE / "handmade" / "events-6.18.txt",
    TRACE / "handmade" / "pre-6.1-2.6.txt",
    TRACE / "handmade" / "pre-6.1-5.x.txt",
    DATA / "host-6.18" / "kmem-trace.txt.gz",
]
COMPILED = compiled_scanner() is not None and _compiled() is not None
ENGINES = ["python", "general", *(["compiled"] if COMPILED else [])]
needs_compiled = pytest.mark.skipif(not COMPILED, reason="the compiled scanner was not built")


def read_all(source, engine, **kw):
    r = TraceReader(io.BytesIO(source) if isinstance(source, bytes) else source, engine=engine, **kw)
    events = list(r)
    st = r.stats
    return events, (dict(st.events), st.lines, st.callchain_lines, dict(st.unknown), st.malformed, st.format)


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_every_engine_reads_the_captures_alike(path):
    want = read_all(path, "python")
    for engine in ENGINES:
        assert read_all(path, engine) == want, engine


def test_the_compiled_engine_is_used_when_built():
    r = TraceReader(TRACE / "perf-script.txt.gz")
    list(r)
    assert r.stats.engine == ("compiled" if COMPILED else "python")
    assert KmemStat().engine == ("compiled" if COMPILED else "python")


@needs_compiled
def test_the_compiled_types_take_no_keyword_arguments():
    from kmemsim.trace import _kmemscan

    with pytest.raises(TypeError, match=r"Scanner\(\) takes no keyword arguments"):
        _kmemscan.Scanner({}, (), None, None, {}, fmt=1)
    with pytest.raises(TypeError, match=r"SlabCore\(\) takes no keyword arguments"):
        _kmemscan.SlabCore(True, True, True, 0, 0, {}, (), (), pages=True)


@needs_compiled
def test_compiled_records_share_their_strs_and_are_not_tracked_by_the_collector():
    """The scanner's front cache of interned strs gives the same objects the intern dict does
    (one str per call site, gfp string, name), and its records, of ints, strs, None and bools
    only, are untracked by the collector (no cycle can pass through them)."""
    import gc

    events = list(TraceReader(DATA / "host-6.18" / "kmem-trace.txt.gz", engine="compiled"))
    slab = [e for e in events if isinstance(e, SlabAlloc) and not gc.is_tracked(e)]  # the scanner's own
    by_site: dict[str, object] = {}
    for e in slab:
        assert by_site.setdefault(e.call_site, e.call_site) is e.call_site
    # the first line of each kind is read by the general path (it learns the layout): those few
    # are Python's records
    assert sum(gc.is_tracked(e) for e in events) <= 10 < len(events)
    assert len(by_site) > 10 and len({id(e.gfp_flags) for e in slab}) == len({e.gfp_flags for e in slab})
    assert events == list(TraceReader(DATA / "host-6.18" / "kmem-trace.txt.gz", engine="python"))


OPTION_SETS = [
    {"slab": True, "page": True},
    {"slab": True, "page": True, "live": True},
    {"slab": True, "page": True, "caller": True, "alloc": True, "waste": True, "lifetime": True, "leaks": True,
     "top": -1},
    {"slab": True, "page": True, "live": True, "alloc": True},
    {"slab": True, "caller": True, "cpu_nodes": {1: 1}},
    {"slab": True, "page": True, "time": (11001_798127000, 11001_806305000)},
]


@needs_compiled
@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_compiled_core_reports_what_the_python_one_does(path):
    for opts in OPTION_SETS:
        py = KmemStat(StatOptions(**opts, engine="python")).process(TraceReader(path, engine="python"))
        c = KmemStat(StatOptions(**opts, engine="compiled")).process(TraceReader(path))
        assert c.engine == "compiled"
        assert c.report() == py.report(), opts
        assert state(c) == state(py), opts


def state(st: KmemStat) -> dict:
    """Every figure of a KmemStat, wherever it keeps it."""
    names = (
        "total_requested total_allocated total_freed nr_allocs nr_cross_allocs nr_frees matched_frees remote_frees "
        "preexisting_frees null_frees double_frees realloc_live last_ts nr_page_allocs nr_page_frees nr_page_fails "
        "nr_page_nomatch total_page_alloc_bytes total_page_free_bytes total_page_fail_bytes total_page_nomatch_bytes "
        "page_free_batched frees_by_kind preexisting_by_kind"
    ).split()
    out = {n: getattr(st, n) for n in names}
    out.update(
        caller=st.caller_stat, ptrs=st.ptr_stat(), live=st.live_objects(), totals=st.live_totals(), waste=st.waste,
        hist=st.lifetime_hist, pages=st.page_live_totals(), orders={k: v for k, v in st.order_stats.items() if v},
    )  # fmt: skip
    return out


# --------------------------------------------------------------------------- properties

_name = hs.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)
_site = hs.builds(lambda f, o: f"{f}+0x{o:x}/0x{o + 64:x}", _name, hs.integers(0, 64))
_common = {
    "ts": hs.integers(0, 10**6).map(lambda us: us * 1000),
    "cpu": hs.integers(0, 3),
    "pid": hs.integers(1, 50),
    "comm": hs.sampled_from(["sh", "perf", "kworker/0:1", "a b", "gzip"]),
}
_ptr = hs.sampled_from([0, 0xA0, 0xB0, 0xC0, 0xFFFF888100000000, 0xFFFF888100000040])
_pfn = hs.sampled_from([0x100, 0x101, 0x200, 0x1350E0])
_gfp = hs.sampled_from(["GFP_KERNEL", "GFP_KERNEL|__GFP_ZERO", "GFP_NOWAIT", "", "GFP_HIGHUSER_MOVABLE|__GFP_COMP"])
_slab_alloc = hs.builds(
    SlabAlloc, kind=hs.sampled_from(["kmalloc", "kmem_cache_alloc"]), call_site=_site, ptr=_ptr,
    bytes_req=hs.integers(0, 5000), bytes_alloc=hs.integers(0, 8192), gfp_flags=_gfp, node=hs.sampled_from([-1, 0, 1]),
    name=hs.none(), accounted=hs.booleans(), **_common,
)  # fmt: skip
_slab_free = hs.builds(
    SlabFree, kind=hs.sampled_from(["kfree", "kmem_cache_free"]), call_site=_site, ptr=_ptr, name=hs.none(), **_common
)
_page_alloc = hs.builds(
    PageAlloc, kind=hs.just("mm_page_alloc"), pfn=_pfn, order=hs.integers(0, 3), migratetype=hs.integers(0, 4),
    gfp_flags=_gfp.filter(bool), call_site=hs.none(), **_common,
)  # fmt: skip
_page_free = hs.builds(PageFree, kind=hs.just("mm_page_free"), pfn=_pfn, order=hs.integers(0, 3), **_common)
_event = hs.one_of(_slab_alloc, _slab_alloc, _slab_free, _slab_free, _page_alloc, _page_free)


def _cache_name(e):
    if e.kind in ("kmem_cache_alloc", "kmem_cache_free"):
        return e._replace(name="cache_" + e.kind[-4:])
    return e


def _text(events, fmt):
    if fmt == "ftrace":
        return FTRACE_HEADER.format(n=len(events), cpus=4) + "".join(ftrace_line(e) + "\n" for e in events)
    if fmt == "perf-script":
        return "".join(perf_script_line(e) + "\n" for e in events)
    return "cpus=4\n" + "".join(trace_cmd_line(e) + "\n" for e in events)


_MUTATIONS = ["truncate", "garble", "drop_field", "space", "tab", "crlf", "byte", "dup_field", "empty_value", "value"]
_WEIRD = ["-1", "4000000000", "99999999999999999999", "0x", "0xffffffffffffffffff", "1_0", "+5", "010", "(nil)",
          "NULL", "0x80000000", "GFP_KERNEL|0x1", "0xffffffffff", "", "ab", "16", "15", "9999999999.000001:"]


def _mutate(lines, data):
    for _ in range(data.draw(hs.integers(0, 3))):
        if not lines:
            break
        i = data.draw(hs.integers(0, len(lines) - 1))
        op = data.draw(hs.sampled_from(_MUTATIONS))
        ln = lines[i]
        k = data.draw(hs.integers(0, max(0, len(ln) - 1)))
        if op == "truncate":
            lines[i] = ln[:k]
        elif op == "garble":
            lines[i] = ln[:k] + data.draw(hs.text(min_size=1, max_size=3)) + ln[k + 1 :]
        elif op == "drop_field":
            parts = ln.split(" ")
            del parts[data.draw(hs.integers(0, len(parts) - 1))]
            lines[i] = " ".join(parts)
        elif op == "space":
            lines[i] = ln[:k] + " " + ln[k:]
        elif op == "tab":
            lines[i] = ln[:k] + "\t" + ln[k + 1 :]
        elif op == "crlf":
            lines[i] = ln + "\r"
        elif op == "byte":
            lines[i] = ln[:k] + chr(data.draw(hs.sampled_from([0, 1, 0x0B, 0x1C, 0x7F, 0xA0, 0xE9, 0x3000]))) + ln[k:]
        elif op == "dup_field":
            parts = ln.split(" ")
            parts.append(parts[-1])
            lines[i] = " ".join(parts)
        elif op == "value":
            fields = list(re.finditer(r"(?<==)[^ ]*|\[\d+\]|\d+\.\d+:", ln))
            if fields:
                m = fields[k % len(fields)]
                new = data.draw(hs.sampled_from(_WEIRD))
                if m.group().startswith("["):
                    new = f"[{data.draw(hs.sampled_from(['9999', '256', '0001', '-1']))}]"
                lines[i] = ln[: m.start()] + new + ln[m.end() :]
        else:
            lines[i] = re.sub(r"=(\S+)", "=", ln, count=1 + k % 3)
    return lines


_FORMATS = hs.sampled_from(["ftrace", "perf-script", "trace-cmd"])


@given(hs.lists(_event.map(_cache_name), min_size=1, max_size=25), _FORMATS, hs.data())
def test_engines_agree_on_generated_and_mutated_lines(events, fmt, data):
    """Whatever the lines, every engine gives the same events, counts and skips (lenient)."""
    lines = _mutate(_text(events, fmt).split("\n"), data)
    raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    want = read_all(raw, "general", lenient=True)
    for engine in ENGINES:
        if engine != "general":
            assert read_all(raw, engine, lenient=True) == want, engine


@given(hs.lists(_event.map(_cache_name), min_size=1, max_size=25), _FORMATS)
def test_engines_raise_the_same_error(events, fmt):
    lines = _text(events, fmt).split("\n")
    lines.insert(len(lines) // 2, lines[len(lines) // 2].replace("ptr=", "ptr=zz", 1).replace("pfn=", "pfn=zz", 1))
    raw = "\n".join(lines).encode()
    errors = set()
    for engine in ENGINES:
        try:
            read_all(raw, engine)
            errors.add(None)
        except Exception as e:  # noqa: BLE001 - compared across engines
            errors.add((type(e), str(e)))
    assert len(errors) == 1


@needs_compiled
@given(
    hs.lists(_event, min_size=0, max_size=60),
    hs.fixed_dictionaries({
        "caller": hs.booleans(), "alloc": hs.booleans(), "waste": hs.booleans(), "live": hs.booleans(),
        "page": hs.booleans(), "slab": hs.booleans(), "cpu_nodes": hs.sampled_from([{}, {1: 1, 3: 1}]),
        "time": hs.sampled_from([(None, None), (100_000_000, None), (None, 500_000_000), (200_000_000, 600_000_000)]),
    }),
)  # fmt: skip
def test_compiled_core_agrees_with_python_on_random_event_streams(events, opts):
    py = KmemStat(StatOptions(**opts, engine="python", top=-1, lifetime=True, leaks=True))
    c = KmemStat(StatOptions(**opts, engine="compiled", top=-1, lifetime=True, leaks=True))
    half = len(events) // 2
    for st in (py, c):  # in two calls: the state carries over
        st.process(events[:half])
        st.process(iter(events[half:]))
    assert state(c) == state(py)
    assert c.report() == py.report()


# ------------------------------------------------------------------ packed events (EventBuf)
CORPUS_TRACES = sorted(p for p in (DATA / "corpus").glob("*/*.txt.gz"))


def packed_records(source, **kw):
    """The records of batches(packed=True), read back through EventBuf indexing and slicing."""
    r = TraceReader(io.BytesIO(source) if isinstance(source, bytes) else source, engine="compiled", **kw)
    out = []
    for b in r.batches(packed=True):
        out += b[:] if type(b) is not list else b
    return out, r


@needs_compiled
@pytest.mark.parametrize("path", CAPTURES + CORPUS_TRACES[::3], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_packed_batches_give_the_records_lists_give(path):
    """An EventBuf's [i:j] makes the very records the scanner puts in a list: same classes, same
    fields, for every format (perf script, ftrace's and trace-cmd's task columns) and shape."""
    want = list(TraceReader(path, engine="compiled"))
    got, r = packed_records(path)
    assert got == want
    assert [type(e) for e in got] == [type(e) for e in want]
    batches = list(TraceReader(path, engine="compiled").batches(packed=True))
    assert all(len(b) >= 4096 for b in batches[:-2])  # (the last EventBuf, the final pending event)


@needs_compiled
@given(hs.lists(_event.map(_cache_name), min_size=1, max_size=25), _FORMATS, hs.data())
def test_packed_batches_agree_on_generated_and_mutated_lines(events, fmt, data):
    lines = _mutate(_text(events, fmt).split("\n"), data)
    raw = "\n".join(lines).encode("utf-8", "surrogatepass")
    want = list(TraceReader(io.BytesIO(raw), engine="compiled", lenient=True))
    got, _ = packed_records(raw, lenient=True)
    assert got == want


@needs_compiled
def test_an_eventbuf_is_a_read_only_sequence_of_records():
    from kmemsim.trace.parse import _RECORD_CLASSES

    scan = compiled_scanner()
    path = TRACE / "perf-script.txt.gz"
    b = next(iter(TraceReader(path, engine="compiled").batches(packed=True)))
    recs = list(TraceReader(path, engine="compiled"))[: len(b)]
    n = len(b)
    assert n == len(recs) > 10
    assert b[0] == recs[0] and b[-1] == recs[-1] and b[n - 3] == recs[n - 3]
    assert b[2:9:3] == recs[2:9:3] and b[::-1] == recs[::-1] and b[n:] == [] and b[5:2] == []
    with pytest.raises(IndexError):
        b[n]
    with pytest.raises(IndexError):
        b[-n - 1]
    c = scan.EventBuf(_RECORD_CLASSES)
    c.append(recs[0])
    c.extend(b)
    assert len(c) == n + 1 and c[0] is recs[0] and c[1:] == recs
    assert b[:] == recs  # (extend leaves b as it was)
    with pytest.raises(TypeError):
        scan.EventBuf(classes=_RECORD_CLASSES)
    with pytest.raises(TypeError):
        scan.EventBuf((int, int, int, int))
    with pytest.raises(TypeError):
        c.extend([recs[0]])
    bare = scan.EventBuf.__new__(scan.EventBuf)  # (no record classes: its packed events cannot be made records)
    bare.extend(b)
    assert len(bare) == n
    with pytest.raises(TypeError, match="not initialised"):
        bare[:]


# ------------------------------------------------------------------ a stale compiled build


def test_scanner_api_lists_everything_kmemsim_uses_of_the_compiled_module():
    """SCANNER_API is what a build must have; every use in the source is listed there, so a
    .so built from an older _kmemscan.c is refused instead of failing mid-trace."""
    import importlib

    parse_mod = importlib.import_module("kmemsim.trace.parse")  # (kmemsim.trace.parse is also a function)
    stat_mod = importlib.import_module("kmemsim.trace.stat")

    used_sc = set(re.findall(r"\bsc\.(\w+)", Path(parse_mod.__file__).read_text()))
    used_core = set(re.findall(r"\b_core\.(\w+)", Path(stat_mod.__file__).read_text()))
    assert used_sc and used_core
    assert used_sc <= set(parse_mod.SCANNER_API["Scanner"]), used_sc - set(parse_mod.SCANNER_API["Scanner"])
    assert used_core <= set(parse_mod.SCANNER_API["SlabCore"])
    built = parse_mod.compiled_scanner()
    if built is not None:  # the build in use has all of it
        assert parse_mod._missing_api(built) == []


def test_a_stale_compiled_scanner_is_not_used(monkeypatch):
    import importlib
    import types

    parse_mod = importlib.import_module("kmemsim.trace.parse")

    class Scanner:  # an old build: no note_ts
        def scan(self): ...

    old = types.ModuleType("kmemsim.trace._kmemscan")
    old.Scanner = Scanner
    monkeypatch.setattr(importlib, "import_module", lambda name: old)
    with pytest.warns(parse_mod.StaleScannerWarning, match=r"older kmemsim .*Scanner\.attach.*pip install -e"):
        assert parse_mod._load_compiled() is None
    assert "SlabCore.process" in parse_mod._missing_api(old)
