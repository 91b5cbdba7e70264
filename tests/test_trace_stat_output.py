"""kmemsim stat's machine-readable output (--json, --csv: schema kmemsim-stat/1, the same numbers as
the text report), stacks (--folded, leaks and waste per stack) and the progress helper."""
from __future__ import annotations

import csv
import io
import json
import re

import click
from click.testing import CliRunner
from conftest import DATA

from kmemsim.cli.trace_cmd import register
from kmemsim.trace import KmemStat, StatOptions, TraceReader
from kmemsim.trace.parse import sniff_stacks
from kmemsim.trace.progress import reading_progress
from kmemsim.trace.stat_output import SCHEMA, stat_document, to_csv

TRACE = DATA / "trace"
SCRIPT = TRACE / "perf-script.txt.gz"
STACKS_FTRACE = TRACE / "ftrace-tgid-stack.txt.gz"
STACKS_PERF = TRACE / "perf-script-callchain.txt.gz"


@click.group()
def cli() -> None:
    pass


register(cli)


def stat(*args: str) -> str:
    r = CliRunner().invoke(cli, ["stat", *map(str, args)])
    assert r.exit_code == 0, r.output
    return r.output


def text_numbers(text: str) -> dict[str, int]:
    """The SUMMARY figures of perf's text."""
    out = {}
    for label, value in re.findall(r"^(Total bytes \w+|Net total bytes allocated|Total bytes wasted on internal "
                                   r"fragmentation|Internal fragmentation|Cross CPU allocations):\s*(\S+)", text, re.M):
        out[label] = value
    for label, n, kb in re.findall(r"^(Total [\w+ -]+?requests|Total allocation failures)\s*:\s*(\d+)\s+\[\s*(\d+) KB",
                                   text, re.M):  # fmt: skip
        out[label] = (int(n), int(kb))
    return out


def test_json_holds_the_text_reports_numbers():
    args = ("--slab", "--page", "--caller", "-l", "5", "--alloc", "--waste", "--lifetime", "--leaks", SCRIPT)
    text = stat(*args)
    doc = json.loads(stat("--json", *args))
    assert doc["schema"] == SCHEMA == "kmemsim-stat/1"
    nums = text_numbers(text)
    s = doc["slab"]["summary"]
    assert nums["Total bytes requested"] == str(s["total_bytes_requested"])
    assert nums["Total bytes allocated"] == str(s["total_bytes_allocated"])
    assert nums["Total bytes freed"] == str(s["total_bytes_freed"])
    assert nums["Net total bytes allocated"] == str(s["net_total_bytes_allocated"])
    assert nums["Total bytes wasted on internal fragmentation"] == str(s["total_bytes_wasted"])
    assert nums["Internal fragmentation"] == f"{s['internal_fragmentation_percent']:f}%"
    assert nums["Cross CPU allocations"] == f"{s['cross_cpu_allocations']}/{s['allocations']}"
    p = doc["page"]["summary"]
    for label, key in (("Total allocation requests", "total_allocation_requests"),
                       ("Total free requests", "total_free_requests"),
                       ("Total alloc+freed requests", "total_alloc_freed_requests"),
                       ("Total alloc-only requests", "total_alloc_only_requests"),
                       ("Total free-only requests", "total_free_only_requests"),
                       ("Total allocation failures", "total_allocation_failures")):  # fmt: skip
        assert nums[label] == (p[key]["requests"], p[key]["kb"])
    # the caller table: 5 rows then perf's "...", the figures as printed
    rows = doc["slab"]["callers"]["rows"]
    assert len(rows) == 5 and doc["slab"]["callers"]["more"] is True
    first = rows[0]
    assert f" {first['callsite']:<34} | {first['total_alloc']:9d}/{first['per_alloc']:<5d} |" in text
    assert doc["page"]["allocations"]["rows"][0]["kb"] * 1024 <= doc["page"]["allocations"]["rows"][0]["bytes"]
    b = doc["beyond_perf"]
    assert f"Pre-existing frees (allocated before the trace began): {b['slab']['preexisting_frees']}" in text
    assert f"Live at the end (leak candidates): {b['slab']['live_objects']} objects" in text
    assert {"waste", "lifetime", "leaks"} <= set(b)
    assert doc["trace"]["events"]["kmalloc"] == 932 and doc["trace"]["format"] == "perf-script"


def test_json_of_perf_only_and_of_the_order_table():
    doc = json.loads(stat("--page", "--perf-only", "--json", SCRIPT))
    assert "beyond_perf" not in doc and "slab" not in doc
    table = doc["page"]["summary"]["order_table"]
    assert table["columns"][:3] == ["Unmovable", "Reclaimable", "Movable"]  # perf's labels with --perf-only
    assert [r[0] for r in table["rows"]] == list(range(11))
    assert sum(sum(r[1:]) for r in table["rows"]) == 459  # every successful allocation


def test_csv_is_the_json_flattened():
    args = ("--slab", "--page", "--caller", "-l", "3", SCRIPT)
    doc = json.loads(stat("--json", *args))
    rows = list(csv.DictReader(io.StringIO(stat("--csv", *args))))
    assert set(rows[0]) == {"section", "row", "field", "value"}
    got = {(r["section"], r["row"], r["field"]): r["value"] for r in rows}
    assert got[("slab.summary", "", "total_bytes_freed")] == str(doc["slab"]["summary"]["total_bytes_freed"])
    assert got[("slab.callers", "2", "hit")] == str(doc["slab"]["callers"]["rows"][2]["hit"])
    assert got[("slab.callers", "", "more")] == "true"
    order0 = doc["page"]["summary"]["order_table"]["rows"][0]
    assert got[("page.summary.order_table", "0", "Unmovable")] == str(order0[1])
    assert got[("", "", "schema")] == SCHEMA


def test_folded_stacks_of_ftrace_and_perf_callchains(tmp_path):
    for path, comm in ((STACKS_FTRACE, "python3"), (STACKS_PERF, "perf-exec")):
        assert sniff_stacks(path)
        out = tmp_path / "out.folded"
        stat("--folded", out, path)
        lines = out.read_text().splitlines()
        assert lines and all(re.fullmatch(r"[^ ;][^;]*(;[^;]+)+ \d+", ln) for ln in lines)
        assert any(ln.startswith(comm + ";") for ln in lines)
        assert not any("trace_event_raw_event" in ln for ln in lines)  # the tracer's own frames are left out
    assert not sniff_stacks(SCRIPT)
    r = CliRunner().invoke(cli, ["stat", "--folded", str(tmp_path / "x"), str(SCRIPT)])
    assert r.exit_code == 1 and "no stacks in the trace for --folded" in r.output


def test_folded_bytes_add_up_to_the_allocations_with_stacks():
    r = TraceReader(STACKS_FTRACE, stacks=True)
    with_stack = 0
    for batch in r.batches():
        for ev, stk in zip(batch, r.batch_stacks, strict=True):
            if ev.kind in ("kmalloc", "kmem_cache_alloc") and stk:
                with_stack += ev.bytes_alloc
    st = KmemStat(StatOptions(slab=True, page=True, stacks=True)).process(TraceReader(STACKS_FTRACE))
    assert st.has_stacks
    total = sum(int(ln.rsplit(" ", 1)[1]) for ln in st.folded_stacks())
    assert total == with_stack and 0.8 * st.total_allocated < total <= st.total_allocated  # (the capture's last
    # allocation lost its frames: the file was cut)


def test_leaks_and_waste_per_stack_as_memleak_prints_them():
    out = stat("--leaks", "--waste", "--top", "3", STACKS_FTRACE)
    assert "Live at the end of the trace, per stack (leak candidates)" in out
    block = r"^\t\d+ bytes in \d+ allocations \(\d+ requested, the oldest [\d.]+ s\) from stack\n\t\t\w"
    assert re.search(block, out, re.M)
    assert "Waste per stack" in out
    doc = json.loads(stat("--leaks", "--json", STACKS_FTRACE))
    leaks = doc["beyond_perf"]["leaks"]
    assert all(r.get("stack") or r.get("callsite") for r in leaks) and any(r.get("stack") for r in leaks)


def test_the_progress_helper_is_silent_off_a_terminal():
    calls = []
    with reading_progress(SCRIPT, stream=io.StringIO()) as cb:  # not a terminal: nothing
        cb(1, 2)
        calls.append(cb.__name__)
    assert calls == ["_noop"]
    buf = io.StringIO()
    with reading_progress(SCRIPT, stream=buf, enabled=True, min_bytes=0) as cb:
        r = TraceReader(SCRIPT, progress=cb)
        assert len(list(r)) == 5739
    assert r.source is not None and r.source.raw_bytes == SCRIPT.stat().st_size


def test_stat_document_api():
    r = TraceReader(SCRIPT)
    st = KmemStat(StatOptions(slab=True, page=False)).process(r)
    doc = stat_document(st, r.stats, source=str(SCRIPT))
    assert "page" not in doc and doc["trace"]["lines"] == 5739
    assert to_csv(doc).startswith("section,row,field,value\n")
