"""The kmem trace parsers on every format: real captures of the reference host (ftrace text,
perf script, trace-cmd report; tests/data/trace/README.md says how they were made) and
hand-made samples of the formats this host cannot produce (tests/data/trace/handmade/)."""
from __future__ import annotations

import gzip
import io
import re
from collections import Counter

import pytest
from conftest import DATA
from hypothesis import given
from hypothesis import strategies as hs

from kmemsim.trace import (
    ExtFrag,
    Lost,
    PageAlloc,
    PageFree,
    PageMove,
    ParseStats,
    SlabAlloc,
    SlabFree,
    TraceFormatError,
    TraceReader,
    parse,
)
from kmemsim.tracepoints.emit import FTRACE_HEADER, ftrace_line, perf_script_line, trace_cmd_line

TRACE = DATA / "trace"
FTRACE = DATA / "host-6.18" / "kmem-trace.txt.gz"
HAND = TRACE / "handmade"


def read(path):
    r = TraceReader(path)
    return list(r), r.stats


# --------------------------------------------------------------------------- real captures


def test_ftrace_real_trace_counts_match_its_header():
    events, st = read(FTRACE)
    text = gzip.open(FTRACE, "rt").read()
    kept = dict(kv.split("=") for kv in re.search(r"# kmemsim: kept per event: (.*)", text).group(1).split())
    assert st.format == "ftrace" and st.header and st.cpus == 2
    assert dict(st.events) == {k: int(v) for k, v in kept.items()}
    assert not st.unknown and not st.malformed and st.lost_markers == 0
    first = events[0]
    assert first == SlabAlloc(
        "kmem_cache_alloc", 5430231547000, 0, 31488, "sh", "mas_preallocate+0x3ef/0x430", 0xAF27A959, 256, 256,
        "GFP_KERNEL", -1, "maple_node", False,
    )  # fmt: skip
    assert events[1] == PageAlloc(
        "mm_page_alloc", 5430231555000, 0, 31488, "sh", 0x238F11, 0, 0, "GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP", None
    )
    assert all(type(e).__name__ in {"SlabAlloc", "SlabFree", "PageAlloc", "PageFree"} for e in events)
    assert [e.ts for e in events] == sorted(e.ts for e in events)


def test_trace_pipe_text_without_header_gives_the_same_events():
    text = gzip.open(FTRACE, "rt").read()
    body = [ln for ln in text.splitlines(keepends=True) if not ln.startswith("#")]
    r = TraceReader(body[:3000])
    events = list(r)
    assert events == read(FTRACE)[0][:3000] or events == list(TraceReader(text.splitlines(True)))[: len(events)]
    assert r.stats.format == "ftrace" and not r.stats.header


def test_perf_script_real_capture():
    events, st = read(TRACE / "perf-script.txt.gz")
    text = gzip.open(TRACE / "perf-script.txt.gz", "rt").read()
    assert st.format == "perf-script"
    assert dict(st.events) == dict(Counter(re.findall(r" kmem:(\w+): ", text)))
    e = events[0]
    assert isinstance(e, SlabAlloc) and e.comm and e.pid > 0 and e.ptr > 0xFFFF800000000000  # real pointers
    assert re.fullmatch(r"[\w.]+\+0x[0-9a-f]+", e.call_site)
    frees = [x for x in events if isinstance(x, SlabFree)]
    assert any(x.ptr == 0 for x in frees)  # kfree(NULL) prints 0x0


def test_perf_script_callchains_name_the_page_allocation_caller():
    events, st = read(TRACE / "perf-script-callchain.txt.gz")
    assert st.format == "perf-script" and st.callchain_lines > 100
    pages = [e for e in events if isinstance(e, PageAlloc)]
    assert pages and all(e.call_site for e in pages)
    # perf kmem 6.1's pattern misses 6.x's __alloc_frozen_pages_noprof and names every page
    # allocation after it; kmemsim skips the page allocator's own frames
    assert not any(re.match(r"_*(alloc|get_free)", e.call_site) for e in pages)
    # the callchains do not disturb the events around them
    assert [e.kind for e in events] == [e.kind for e in read(TRACE / "perf-script-callchain.txt.gz")[0]]


def test_trace_cmd_report_real_capture_and_latency_format():
    events, st = read(TRACE / "trace-cmd-report.txt.gz")
    assert st.format == "trace-cmd" and st.cpus == 2 and len(events) > 300
    text = gzip.open(TRACE / "trace-cmd-report.txt.gz", "rt").read()
    assert "(nil)" in text
    assert any(isinstance(e, SlabFree) and e.ptr == 0 for e in events)
    # the kmem plugin's "(func+off)" before the fields is not a field
    assert all(not e.call_site.startswith("(") for e in events if isinstance(e, (SlabAlloc, SlabFree)))
    lat, st2 = read(TRACE / "trace-cmd-report-l.txt.gz")
    assert st2.format == "trace-cmd" and lat
    n = len(lat)
    assert [(e.kind, e.ts, e.cpu, e.ptr) for e in lat] == [(e.kind, e.ts, e.cpu, e.ptr) for e in events[:n]]


def test_ftrace_with_tgid_column_and_stack_traces():
    events, st = read(TRACE / "ftrace-tgid-stack.txt.gz")
    assert st.format == "ftrace" and st.callchain_lines > 50 and not st.malformed
    text = gzip.open(TRACE / "ftrace-tgid-stack.txt.gz", "rt").read()
    tasks = set(re.findall(r"^\s*(\S+)-(\d+)\s+\(\s*\2\)", text, re.M))  # comm-pid (tgid)
    assert {(e.comm, str(e.pid)) for e in events} == tasks and len(events) > 20


def test_page_allocation_caller_from_an_ftrace_stack_trace():
    # the shape of options/stacktrace output (see ftrace-tgid-stack.txt.gz), with a page allocation
    lines = [
        "  cat-7 [000] ..... 1.000001: mm_page_alloc: page=000000001 pfn=0x100 order=0 migratetype=0 "
        "gfp_flags=GFP_KERNEL",
        "  cat-7 [000] ..... 1.000002: <stack trace>",
        " => trace_event_raw_event_mm_page_alloc",
        " => __alloc_frozen_pages_noprof",
        " => alloc_pages_mpol",
        " => pte_alloc_one",
        " => __handle_mm_fault",
        "  cat-7 [000] ..... 1.000003: kfree: call_site=x+0x1/0x2 ptr=0000000000000000",
    ]
    events = list(parse(lines))
    assert events[0].call_site == "pte_alloc_one" and events[1].kind == "kfree"


# --------------------------------------------------------------------------- every era's format


def test_pre_6_1_formats_of_2_6_to_4_x():
    events, st = read(HAND / "pre-6.1-2.6.txt")
    kinds = [e.kind for e in events]
    assert kinds == [
        "kmalloc", "kmalloc_node", "kmem_cache_alloc", "kmem_cache_alloc_node", "kfree", "kmem_cache_free", "kfree",
        "mm_page_alloc", "mm_page_alloc", "mm_page_alloc_zone_locked", "mm_page_pcpu_drain", "mm_page_alloc_extfrag",
        "mm_page_free_batched", "mm_page_free",
    ]  # fmt: skip
    km, kmn = events[0], events[1]
    assert km.call_site == "c104deff" and km.ptr == 0xC147DD20 and km.node is None and km.accounted is None
    assert kmn.node == 0 and events[3].node == 1
    assert events[5].name is None and events[6].ptr == 0  # (null)
    assert events[7].pfn == 256346  # pfn=%lu: decimal
    assert events[8].pfn == -1  # page=(null): a failed allocation
    assert events[9] == PageMove("mm_page_alloc_zone_locked", 108311720000, 0, 2314, "bash", 256347, 0, 2, 1)
    assert isinstance(events[11], ExtFrag) and events[11].fallback_order == 9 and events[11].change_ownership == 1
    assert events[12] == PageFree("mm_page_free_batched", 108311800000, 1, 2314, "bash", 256346, 0)  # cold= read
    assert st.format == "ftrace" and not st.unknown


def test_pre_6_1_formats_of_5_x():
    events, st = read(HAND / "pre-6.1-5.x.txt")
    assert events[0].accounted is True and events[0].node is None and events[0].comm == "kworker/2:1"
    assert events[1].kind == "kmalloc_node" and events[1].node == 1
    assert events[4].name == "dentry"
    lost = [e for e in events if isinstance(e, Lost)]
    assert lost == [Lost("lost", -1, 1, -1, "", 3)]
    assert st.lost_events == 3 and st.lost_markers == 1 and st.overwritten == 3 and st.cpus == 4
    assert events[-3].pfn == 0x3E8A1


def test_every_6_18_event_and_unknown_events():
    events, st = read(HAND / "events-6.18.txt")
    assert {e.kind for e in events} == {
        "kmem_cache_alloc", "mm_page_alloc", "kmalloc", "kfree", "kmem_cache_free", "mm_page_free",
        "mm_page_free_batched", "mm_page_alloc_zone_locked", "mm_page_pcpu_drain", "mm_page_alloc_extfrag",
    }  # fmt: skip
    assert st.unknown == Counter({"rss_stat": 1, "sched_switch": 1})
    failed = [e for e in events if isinstance(e, PageAlloc) and e.pfn == -1]
    assert len(failed) == 1 and failed[0].order == 2
    drain = [e for e in events if e.kind == "mm_page_pcpu_drain"][0]
    assert drain.percpu_refill is None and drain.migratetype == 1


def test_fields_in_another_order_and_extra_fields():
    lines = [
        "  a-1 [000] ..... 1.000001: kmem_cache_alloc: name=foo call_site=f+0x1/0x2 ptr=00000000000000ab "
        "bytes_req=8 bytes_alloc=16 gfp_flags=GFP_KERNEL node=0 accounted=false newfield=7",
        "  a-1 [000] ..... 1.000002: kmem_cache_free: name=foo call_site=g+0x1/0x2 ptr=00000000000000ab",
    ]
    a, f = list(parse(lines))
    assert (a.name, a.call_site, a.ptr, a.bytes_alloc, a.node) == ("foo", "f+0x1/0x2", 0xAB, 16, 0)
    assert (f.name, f.call_site) == ("foo", "g+0x1/0x2")


def test_lost_markers_of_every_tool():
    lines = [
        "CPU:0 [LOST 12 EVENTS]",
        "CPU:1 [45 EVENTS DROPPED]",
        "CPU:1 [EVENTS DROPPED]",
        "  a-1 [000] ..... 1.000001: kfree: call_site=f+0x1/0x2 ptr=00000000000000ab",
    ]
    r = TraceReader(lines)
    events = list(r)
    assert [e.count for e in events if isinstance(e, Lost)] == [12, 45, -1]
    assert r.stats.lost_markers == 3 and r.stats.lost_events == 57 and r.stats.events["lost"] == 3


# --------------------------------------------------------------------------- errors


def test_malformed_line_names_file_and_line(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_text(
        "# tracer: nop\n"
        "  a-1 [000] ..... 1.000001: kfree: call_site=f+0x1/0x2 ptr=00000000000000ab\n"
        "  a-1 [000] ..... 1.000002: kmalloc: call_site=f+0x1/0x2 ptr=00000000000000ac bytes_req=12\n"
        "this is not a trace line\n"
    )
    with pytest.raises(TraceFormatError) as ei:
        list(TraceReader(p))
    assert str(ei.value).startswith(f"{p}:3: kmalloc: no field bytes_alloc=")
    assert ei.value.lineno == 3
    r = TraceReader(p, lenient=True)
    assert [e.kind for e in r] == ["kfree"]
    assert r.stats.malformed == 2 and [n for n, _ in r.stats.malformed_examples] == [3, 4]
    with pytest.raises(TraceFormatError, match=r":1: not a trace event line"):
        list(TraceReader(["garbage"], name="<x>"))


def test_bad_numbers_are_errors_not_crashes():
    with pytest.raises(TraceFormatError, match="kmalloc"):
        list(parse(["  a-1 [000] ..... 1.0: kmalloc: call_site=f ptr=zz bytes_req=1 bytes_alloc=8 gfp_flags=none"]))
    with pytest.raises(TraceFormatError, match="accounted"):
        list(parse(["  a-1 [000] ..... 1.0: kmalloc: accounted=maybe call_site=f ptr=1 bytes_req=1 bytes_alloc=8"]))


def test_forced_format_that_the_text_contradicts():
    with pytest.raises(TraceFormatError, match="expected perf-script text"):
        list(TraceReader(FTRACE, fmt="perf-script"))
    with pytest.raises(ValueError, match="unknown trace format"):
        TraceReader(FTRACE, fmt="ctf")


@pytest.mark.parametrize("path", [TRACE / "perf-script.txt.gz", FTRACE, TRACE / "trace-cmd-report.txt.gz"])
def test_the_fast_path_reads_every_line_but_the_first_of_each_layout(path):
    """The general path learns each event's layout from its first line; every other line of
    a real capture takes the fast path: mm_page_alloc too, and kfree of NULL."""
    r = TraceReader(path)
    events = list(r)
    assert r.stats.general_path <= len({e.kind for e in events})
    assert any(e.kind == "mm_page_alloc" for e in events)


def test_the_fast_path_reads_frees_of_null_and_page_allocations():
    head = " sh-1 [000] ..... 1.{:06d}: "
    lines = [
        head.format(1) + "kfree: call_site=f+0x1/0x2 ptr=00000000000000ab",
        head.format(2) + "mm_page_alloc: page=00000000c5d6e7f8 pfn=0x1000 order=0 migratetype=0 gfp_flags=GFP_KERNEL",
        *[head.format(3 + i) + "kfree: call_site=f+0x1/0x2 ptr=(null)" for i in range(5)],
        *[head.format(9 + i) + "mm_page_alloc: page=00000000c5d6e7f8 pfn=0x2000 order=1 migratetype=1 "
          "gfp_flags=GFP_KERNEL" for i in range(5)],
    ]  # fmt: skip
    r = TraceReader(lines)
    events = list(r)
    assert [e.ptr for e in events if e.kind == "kfree"] == [0xAB, 0, 0, 0, 0, 0]
    assert [e.pfn for e in events if e.kind == "mm_page_alloc"] == [0x1000] + [0x2000] * 5
    assert r.stats.general_path == 2

# --------------------------------------------------------------------------- input


def test_the_captured_data_stays_small():
    total = sum(p.stat().st_size for p in TRACE.rglob("*") if p.is_file())
    assert total < 300_000


def test_gzip_by_magic_whatever_the_name_and_plain_text(tmp_path):
    data = gzip.open(FTRACE, "rb").read()[:200_000]
    data = data[: data.rfind(b"\n") + 1]
    named_txt = tmp_path / "gzipped.txt"
    named_txt.write_bytes(gzip.compress(data))
    plain_gz = tmp_path / "plain.gz"
    plain_gz.write_bytes(data)
    a, b = list(TraceReader(named_txt)), list(TraceReader(plain_gz))
    assert a == b and len(a) > 500
    assert list(TraceReader(io.BytesIO(gzip.compress(data)))) == a
    assert list(TraceReader(io.StringIO(data.decode()))) == a


def test_stats_are_complete_when_the_iteration_is_abandoned():
    r = TraceReader(FTRACE)
    it = iter(r)
    for _ in range(100):
        next(it)
    it.close()
    assert r.stats.total_events == 100


# --------------------------------------------------------------------------- round trips

_name = hs.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
_site = hs.builds(lambda f, o, n: f"{f}+0x{o:x}/0x{o + n:x}", _name, hs.integers(0, 4095), hs.integers(1, 4096))
_common = {
    "ts": hs.integers(0, 10**7).map(lambda us: us * 1000),
    "cpu": hs.integers(0, 255),
    "pid": hs.integers(0, 4_000_000),
    "comm": hs.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_/:.", min_size=1, max_size=15),
}
_gfp = hs.sampled_from(["GFP_KERNEL", "GFP_KERNEL|__GFP_ZERO", "GFP_NOWAIT", "none", "GFP_ATOMIC|__GFP_NOWARN"])
_slab_alloc = hs.builds(
    SlabAlloc, kind=hs.sampled_from(["kmalloc", "kmem_cache_alloc"]), call_site=_site, ptr=hs.integers(0, 2**64 - 1),
    bytes_req=hs.integers(0, 1 << 22), bytes_alloc=hs.integers(0, 1 << 22), gfp_flags=_gfp,
    node=hs.integers(-1, 7), name=hs.none(), accounted=hs.booleans(), **_common,
)  # fmt: skip
_slab_free = hs.builds(
    SlabFree, kind=hs.sampled_from(["kfree", "kmem_cache_free"]), call_site=_site, ptr=hs.integers(0, 2**64 - 1),
    name=hs.none(), **_common,
)  # fmt: skip
_page_alloc = hs.builds(
    PageAlloc, kind=hs.just("mm_page_alloc"), pfn=hs.integers(1, 1 << 40), order=hs.integers(0, 10),
    migratetype=hs.integers(0, 5), gfp_flags=_gfp, call_site=hs.none(), **_common,
)  # fmt: skip
_page_free = hs.builds(
    PageFree, kind=hs.just("mm_page_free"), pfn=hs.integers(1, 1 << 40), order=hs.integers(0, 10), **_common
)
_event = hs.one_of(_slab_alloc, _slab_free, _page_alloc, _page_free)


def _fix_cache_name(e):
    """kmem_cache_* print the cache's name (6.18); kmalloc/kfree have none."""
    if e.kind in ("kmem_cache_alloc", "kmem_cache_free"):
        return e._replace(name="cache_" + e.kind[-4:])
    return e


@given(hs.lists(_event.map(_fix_cache_name), min_size=1, max_size=20))
def test_round_trip_ftrace_lines(events):
    text = FTRACE_HEADER.format(n=len(events), cpus=2) + "\n".join(ftrace_line(e) for e in events) + "\n"
    assert list(parse(io.StringIO(text))) == events


@given(hs.lists(_event.map(_fix_cache_name), min_size=1, max_size=20))
def test_round_trip_perf_script_lines(events):
    lines = [perf_script_line(e) for e in events]
    assert list(parse(lines)) == events


@given(hs.lists(_event.map(_fix_cache_name), min_size=1, max_size=20))
def test_round_trip_trace_cmd_lines(events):
    lines = ["cpus=2", *(trace_cmd_line(e) for e in events)]
    r = TraceReader(lines)
    assert list(r) == events and r.stats.format == "trace-cmd"


@given(hs.lists(_event, min_size=1, max_size=10))
def test_round_trip_2_6_era_lines(events):
    # 2.6 prints no accounted=, no name=, no node= on kmalloc, pfn in decimal, 32-bit pointers
    events = [e._replace(ptr=e.ptr & 0xFFFFFFFF) if isinstance(e, (SlabAlloc, SlabFree)) else e for e in events]
    want = [
        e._replace(node=None, accounted=None, name=None) if isinstance(e, SlabAlloc)
        else e._replace(name=None) if isinstance(e, SlabFree) else e
        for e in events
    ]  # fmt: skip
    assert list(parse([ftrace_line(e, era="2.6") for e in events])) == want


@given(hs.lists(_event.map(_fix_cache_name), min_size=1, max_size=8), hs.data())
def test_garbled_traces_give_errors_or_counted_skips(events, data):
    """Truncated, duplicated, reordered and garbled lines: a TraceFormatError or, lenient,
    counted skips; never another exception."""
    lines = [ftrace_line(e) for e in events]
    for _ in range(data.draw(hs.integers(1, 4))):
        i = data.draw(hs.integers(0, len(lines) - 1))
        op = data.draw(hs.sampled_from(["truncate", "duplicate", "swap", "garble", "drop_field"]))
        ln = lines[i]
        if op == "truncate":
            lines[i] = ln[: data.draw(hs.integers(0, len(ln)))]
        elif op == "duplicate":
            lines.insert(i, ln)
        elif op == "swap":
            j = data.draw(hs.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "garble":
            k = data.draw(hs.integers(0, max(0, len(ln) - 1)))
            lines[i] = ln[:k] + data.draw(hs.text(min_size=1, max_size=5)) + ln[k + 1 :]
        else:
            parts = ln.split(" ")
            del parts[data.draw(hs.integers(0, len(parts) - 1))]
            lines[i] = " ".join(parts)
    try:
        list(parse(lines))
    except TraceFormatError:
        pass
    st = ParseStats()
    out = list(parse(lines, lenient=True, stats=st))
    assert len(out) + st.malformed + sum(st.unknown.values()) <= len(lines) + 1
