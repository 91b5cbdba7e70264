"""perf kmem stat's figures: golden outputs of the real perf 6.1 on a recording of the reference
host (tests/data/trace/golden/, made by tools/capture_perf_kmem.py), and perf's definitions and
kmemsim's own figures on small hand-computed inputs."""
from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner
from conftest import DATA

from kmemsim.cli.trace_cmd import register
from kmemsim.trace import KmemStat, StatOptions, TraceReader, parse
from kmemsim.trace.stat import load_kallsyms, parse_sort_keys, parse_time_range

TRACE = DATA / "trace"
SCRIPT = TRACE / "perf-script.txt.gz"
FTRACE = DATA / "host-6.18" / "kmem-trace.txt.gz"
GOLDENS = [ln.split("\t") for ln in (TRACE / "golden" / "COMMANDS").read_text().splitlines()]


@click.group()
def cli() -> None:
    pass


register(cli)


def kmemsim_stat(*args: str) -> str:
    r = CliRunner().invoke(cli, ["stat", *args])
    assert r.exit_code == 0, r.output
    return r.output


def without_callsite_column(text: str) -> str:
    """perf 6.1 cannot resolve page call sites on 6.18 (one bogus address); the perf script
    text has no callchain, so kmemsim prints [unknown]: compare everything else."""
    return re.sub(r" \| [^|\n]*$", "", text, flags=re.M)


# --------------------------------------------------------------------------- real perf


@pytest.mark.parametrize("name,options", GOLDENS, ids=[g[0] for g in GOLDENS])
def test_same_report_as_perf_kmem_stat(name, options):
    golden = (TRACE / "golden" / f"{name}.txt").read_text()
    ours = kmemsim_stat(*options.split(), "--perf-only", "--kallsyms", str(TRACE / "kallsyms.txt"), str(SCRIPT))
    if "--page" in options.split() and ("--caller" in options or "--alloc" in options):
        assert without_callsite_column(ours) == without_callsite_column(golden)
    else:
        assert ours == golden


def test_summary_lines_without_kallsyms_and_the_perf_numbers():
    ours = kmemsim_stat("--slab", "--page", "--perf-only", str(SCRIPT))
    assert ours == (TRACE / "golden" / "slab-page.txt").read_text()
    summary = dict(re.findall(r"^(Total bytes \w+|Cross CPU allocations):\s*(\S+)", ours, re.M))
    assert summary["Cross CPU allocations"].startswith("0/")  # one node: node=-1 everywhere


def test_caller_table_without_kallsyms_has_perfs_rows_and_order_of_keys():
    golden = (TRACE / "golden" / "slab-caller.txt").read_text()
    ours = kmemsim_stat("--slab", "--caller", "--perf-only", str(SCRIPT))
    rows = lambda t: [ln for ln in t.splitlines() if "|" in ln and "Callsite" not in ln]  # noqa: E731
    assert sorted(rows(ours)) == sorted(rows(golden))
    # the sort keys (frag, hit, bytes) in the same order; rows equal in them may come in another
    # order (perf orders those by call-site address, which the text does not have)
    keys = lambda t: [(c[1], c[3], c[5]) for c in (ln.split("|") for ln in rows(t))]  # noqa: E731
    assert keys(ours) == keys(golden)


def test_kernel_migratetype_names_by_default():
    perf = kmemsim_stat("--page", "--alloc", "-l", "5", "--perf-only", str(SCRIPT))
    ours = kmemsim_stat("--page", "--alloc", "-l", "5", str(SCRIPT))
    assert "  Unmovable   Reclaimable       Movable      Reserved  CMA/Isolated" in perf
    assert "  Unmovable       Movable   Reclaimable    HighAtomic   CMA/Isolate" in ours
    # same counts, the labels of 1 and 2 swapped back to 6.18's enum
    assert ours.split("\nSUMMARY (kmemsim")[0] == (
        perf.replace("Reclaimable       Movable      Reserved  CMA/Isolated",
                     "    Movable   Reclaimable    HighAtomic   CMA/Isolate")
        .replace(" RECLAIM |", "\0").replace(" MOVABLE |", " RECLAIM |").replace("\0", " MOVABLE |")
    )  # fmt: skip
    old = kmemsim_stat("--page", "--old-migratetypes", str(SCRIPT))
    assert "Reserved  CMA/Isolated" in old


# --------------------------------------------------------------------------- perf's definitions


def reference_slab_summary(events, cpu_node=lambda cpu: 0):
    """perf's evsel__process_alloc_event/evsel__process_free_event, written out plainly."""
    req = alloc = freed = nr = cross = 0
    last: dict[int, list] = {}
    for e in events:
        if e.kind in ("kmalloc", "kmem_cache_alloc", "kmalloc_node", "kmem_cache_alloc_node"):
            req += e.bytes_req
            alloc += e.bytes_alloc
            nr += 1
            if e.node is not None and e.node != -1 and e.node != cpu_node(e.cpu):
                cross += 1
            last[e.ptr] = [e.bytes_alloc, e.cpu]
        elif e.kind in ("kfree", "kmem_cache_free") and e.ptr in last:
            freed += last[e.ptr][0]
            last[e.ptr][1] = -1
    return req, alloc, freed, nr, cross


def test_ftrace_text_summary_by_perfs_definitions():
    events = list(TraceReader(FTRACE))
    st = KmemStat().process(events)
    assert (st.total_requested, st.total_allocated, st.total_freed, st.nr_allocs, st.nr_cross_allocs) == (
        reference_slab_summary(events)
    )
    text = st.perf_report()
    assert f"Total bytes requested: {st.total_requested}\n" in text
    assert f"Internal fragmentation: {100 - 100 * st.total_requested / st.total_allocated:f}%" in text


def ev_lines(*specs: str) -> list[str]:
    """'CPU TS kind fields' -> ftrace lines of task t-1."""
    out = []
    for spec in specs:
        cpu, ts, kind, fields = spec.split(" ", 3)
        out.append(f"  t-1 [{int(cpu):03d}] ..... {ts}: {kind}: {fields}")
    return out


def km(ptr: int, req: int, alloc: int, site: str = "f+0x1/0x10", node: int = -1) -> str:
    return (f"call_site={site} ptr={ptr:016x} bytes_req={req} bytes_alloc={alloc} gfp_flags=GFP_KERNEL node={node}"
            " accounted=false")


def kf(ptr: int, site: str = "g+0x2/0x10") -> str:
    return f"call_site={site} ptr={ptr:016x}"


def test_cross_node_allocations_are_what_perf_calls_cross_cpu():
    lines = ev_lines(
        f"0 1.000001 kmalloc {km(0xA0, 8, 8, node=1)}",  # CPU 0 on node 0, node 1: cross
        f"0 1.000002 kmalloc {km(0xB0, 8, 8, node=0)}",  # same node
        f"0 1.000003 kmalloc {km(0xC0, 8, 8, node=-1)}",  # NUMA_NO_NODE: not cross (6.1 fix)
        f"1 1.000004 kmalloc {km(0xD0, 8, 8, node=0)}",  # CPU 1 on node 1 below: cross
    ) + ["  t-1 [001] ..... 1.000005: kmalloc: call_site=f+0x1/0x10 ptr=00000000000000e0 bytes_req=8 bytes_alloc=8 "
         "gfp_flags=GFP_KERNEL"]  # fmt: skip
    st = KmemStat(StatOptions(cpu_nodes={1: 1})).process(parse(lines))
    assert (st.nr_cross_allocs, st.nr_allocs) == (2, 5)
    assert "Cross CPU allocations: 2/5\n" in st.perf_report()


def test_a_free_counts_the_last_allocation_and_perfs_ping_pong():
    lines = ev_lines(
        f"0 1.000001 kmalloc {km(0xA0, 100, 128, 'a+0x1/0x9')}",
        f"1 1.000002 kfree {kf(0xA0)}",  # another CPU: ping-pong for 0xa0 and a+1
        f"0 1.000003 kmalloc {km(0xA0, 10, 16, 'b+0x1/0x9')}",  # same pointer again
        f"0 1.000004 kfree {kf(0xA0)}",  # freed: 16 (the last allocation)
        f"1 1.000005 kfree {kf(0xA0)}",  # freed again: perf counts it again (16) and a ping-pong
        f"0 1.000006 kfree {kf(0xF0)}",  # never allocated in the trace: ignored by perf
        f"0 1.000007 kfree {kf(0)}",  # kfree(NULL)
    )
    st = KmemStat(StatOptions(caller=True, alloc=True)).process(parse(lines))
    assert (st.total_requested, st.total_allocated, st.total_freed) == (110, 144, 128 + 16 + 16)
    a = st.ptr_stat()[0xA0]
    assert a == ["b+0x1/0x9", 110, 144, 2, 2]  # the last call site, req, alloc, hits, ping-pongs
    assert st.caller_stat["a+0x1/0x9"][3] == 1 and st.caller_stat["b+0x1/0x9"][3] == 1
    report = st.perf_report()
    row = " 0xa0                               |       144/72    |       110/55    |        2 |         2 | 23.611%"
    assert row in report
    assert "Net total bytes allocated" not in report  # allocated 144 < freed 160
    # beyond perf
    assert (st.matched_frees, st.remote_frees, st.double_frees, st.preexisting_frees, st.null_frees) == (2, 1, 1, 1, 1)


def test_sort_keys_and_line_limits():
    lines = ev_lines(*(f"0 1.{i:06d} kmalloc {km(0x100 + i * 16, 8 * (i % 3 + 1), 16, f's{i % 4}+0x{i:x}/0x99')}"
                       for i in range(1, 13)))  # fmt: skip
    st = KmemStat(StatOptions(caller=True, alloc=True, slab_alloc_sort="bytes,ptr", alloc_lines=3,
                              slab_caller_sort="hit,callsite", caller_lines=2)).process(parse(lines))  # fmt: skip
    text = st.perf_report()
    alloc_rows = re.findall(r"^ (0x[0-9a-f]+) +\|", text, re.M)
    assert alloc_rows == ["0x1c0", "0x1b0", "0x1a0"]  # all 16 bytes: the highest pointers first
    assert text.count(" ...                                | ...") == 2
    with pytest.raises(ValueError, match="Unknown slab --sort key: 'order'"):
        parse_sort_keys("frag,order", page=False)
    assert parse_sort_keys("order,migtype", page=True) == ["order", "migtype"]


def test_time_window():
    assert parse_time_range("5430.2,5430.25") == (5430_200_000_000, 5430_250_000_000)
    assert parse_time_range(",12") == (None, 12_000_000_000)
    for bad in ("12", "a,b", "3,2"):
        with pytest.raises(ValueError):
            parse_time_range(bad)
    lines = ev_lines(*(f"0 1.{i:06d} kmalloc {km(0x100 + i, 8, 8)}" for i in range(1, 11)))
    st = KmemStat(StatOptions(time=parse_time_range("1.000003,1.000007"))).process(parse(lines))
    assert st.nr_allocs == 5  # 3..7 inclusive, as perf_time__skip_sample


def test_page_summary_and_order_table():
    page = "page=0000000000000001 pfn=0x{:x} order={} migratetype={} gfp_flags={}"
    lines = ev_lines(
        f"0 1.000001 mm_page_alloc {page.format(0x100, 0, 0, 'GFP_KERNEL')}",
        f"0 1.000002 mm_page_alloc {page.format(0x200, 2, 1, 'GFP_HIGHUSER_MOVABLE')}",
        "0 1.000003 mm_page_alloc page=0000000000000000 pfn=0x0 order=3 migratetype=0 gfp_flags=GFP_NOWAIT",
        "0 1.000004 mm_page_free page=0000000000000001 pfn=0x100 order=0",
        "0 1.000005 mm_page_free page=0000000000000001 pfn=0x900 order=1",  # free-only
        "0 1.000006 mm_page_free_batched page=0000000000000001 pfn=0x901 order=0",  # perf ignores it
    )
    st = KmemStat(StatOptions(slab=False, page=True, alloc=True, caller=True)).process(parse(lines))
    text = st.perf_report()
    assert "Total allocation requests     :                3   [               52 KB ]" in text
    assert "Total free requests           :                2   [               12 KB ]" in text
    assert "Total alloc+freed requests    :                1   [                4 KB ]" in text
    assert "Total alloc-only requests     :                2   [               48 KB ]" in text
    assert "Total free-only requests      :                1   [                8 KB ]" in text
    assert "Total allocation failures     :                1   [               32 KB ]" in text
    assert "    0             1             .             .             .             .\n" in text
    assert "    2             .             1             .             .             .\n" in text
    assert "# 00000cc0:   K: GFP_KERNEL\n# 00100cca: HUM: GFP_HIGHUSER_MOVABLE\n" in text
    assert re.search(r"^ +512 \| +16 \| +1 \| +2 \|  MOVABLE \| HUM +\| \[unknown\]$", text, re.M)
    live = KmemStat(StatOptions(slab=False, page=True, live=True, alloc=True)).process(parse(lines)).perf_report()
    assert "Live alloc (KB)" in live and re.search(r"^ +512 \| +16 \| +1 \| +2 \|", live, re.M)
    assert not re.search(r"^ +256 \| +4 \|", live, re.M)  # pfn 0x100 was freed
    beyond = st.beyond_report()
    assert "mm_page_free_batched events (not counted by perf): 1" in beyond
    assert "Live at the end: 1 allocations, 4 pages" in beyond


# --------------------------------------------------------------------------- beyond perf


def test_waste_per_function_with_the_true_peak():
    lines = ev_lines(
        f"0 1.000001 kmalloc {km(0xA0, 100, 128, 'f+0x1/0x9')}",  # live waste 28
        f"0 1.000002 kmalloc {km(0xB0, 60, 64, 'f+0x2/0x9')}",  # 32 (the peak); alloc 192, req 160
        f"0 1.000003 kfree {kf(0xA0)}",  # 4
        f"0 1.000004 kmalloc {km(0xC0, 200, 256, 'f+0x1/0x9')}",  # 60: alloc 320 (peak), req 260 (peak)
        f"0 1.000005 kfree {kf(0xC0)}",
        f"0 1.000006 kmalloc {km(0xD0, 1, 8, 'g+0x1/0x9')}",
    )
    st = KmemStat(StatOptions(waste=True, top=-1)).process(parse(lines))
    cur_alloc, cur_req, tot_alloc, tot_req, max_alloc, max_req, peak, hits = st.waste["f"]
    got = (cur_alloc, cur_req, tot_alloc, tot_req, max_alloc, max_req, peak, hits)
    assert got == (64, 60, 448, 360, 320, 260, 60, 3)
    text = st.beyond_report()
    assert re.search(r"^ +f +4 +64 +60 +448 +360 +320 +260 +60$", text, re.M)
    assert text.index("  g ") < text.index("  f ")  # sorted by live waste: g 7, f 4


def test_lifetimes_leaks_and_preexisting_frees():
    lines = ev_lines(
        f"0 1.000000 kmalloc {km(0xA0, 8, 8, 'a+0x1/0x9')}",
        f"0 1.000001 kfree {kf(0xA0)}",  # 1 us
        f"0 1.000010 kmalloc {km(0xB0, 8, 8, 'b+0x1/0x9')}",
        f"1 1.000110 kfree {kf(0xB0)}",  # 100 us, on another CPU
        f"0 1.000200 kmalloc {km(0xC0, 24, 32, 'c+0x1/0x9')}",  # live at the end
        f"0 1.000300 kmalloc {km(0xD0, 24, 32, 'c+0x1/0x9')}",  # live at the end
        f"0 1.000400 kmem_cache_free {kf(0xE0)} name=dentry",  # allocated before the trace
        f"0 1.000500 kmalloc {km(0xC0, 8, 8, 'd+0x1/0x9')}",  # over a live pointer: a free was missed
    )
    st = KmemStat(StatOptions(lifetime=True, leaks=True)).process(parse(lines))
    assert st.lifetime_hist[1] == 1 and st.lifetime_hist[7] == 1 and sum(st.lifetime_hist) == 2  # 1, 64..127 us
    assert (st.matched_frees, st.remote_frees, st.preexisting_frees, st.realloc_live) == (2, 1, 1, 1)
    assert st.preexisting_by_kind == {"kmem_cache_free": 1}
    live = st.live_objects()
    assert sorted(live) == [0xC0, 0xD0] and live[0xC0][0] == "d+0x1/0x9"
    text = st.beyond_report()
    assert "Frees on another CPU than the allocation (ping-pong): 1/2 matched frees (50.0%)" in text
    assert "Pre-existing frees (allocated before the trace began): 1 (kmem_cache_free 1)" in text
    assert "Allocations over a live pointer (a free was missed): 1" in text
    assert "Live at the end (leak candidates): 2 objects, 40 bytes allocated, 32 requested" in text
    assert re.search(r"^c\+1 +1 +32 +24 +0\.000200$", text, re.M)
    assert re.search(r"^ +64 -> 127 +: 1 ", text, re.M)


def test_lost_events_are_reported():
    lines = ["CPU:0 [LOST 5 EVENTS]", *ev_lines(f"0 1.000001 kfree {kf(0xA0)}")]
    st = KmemStat().process(parse(lines))
    assert "Lost events: 5 in 1 markers" in st.beyond_report()


def test_kallsyms_orders_and_resolves_call_sites():
    syms = load_kallsyms("ffffffff81000000 T alpha\nffffffff80000000 t zeta\nffffffff82000000 T mid\n")
    lines = ev_lines(
        f"0 1.000001 kmalloc {km(0xA0, 8, 8, 'alpha+0x10/0x40')}",
        f"0 1.000002 kmalloc {km(0xB0, 8, 8, 'zeta+0x10/0x40')}",
        f"0 1.000003 kmalloc {km(0xC0, 8, 8, 'ffffffff82000004')}",  # a bare address (old %lx)
    )
    st = KmemStat(StatOptions(caller=True, kallsyms=syms)).process(parse(lines))
    rows = re.findall(r"^ (\S+) +\|", st.perf_report(), re.M)
    assert rows[1:] == ["zeta+10", "alpha+10", "mid+4"]  # equal keys: address order, as perf
    raw = KmemStat(StatOptions(caller=True, kallsyms=syms, raw_ip=True)).process(parse(lines)).perf_report()
    assert "0xffffffff80000010" in raw
