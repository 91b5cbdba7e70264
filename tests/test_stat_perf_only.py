"""``kmemsim stat --perf-only`` is exactly ``perf kmem stat``: the slab report alone unless
``--page`` is given (perf's default, kmem.default = slab), and perf's warning on standard error
when events come out of order (perf_session__warn_order(): "Warning:" then "N out of order events
recorded.").  Goldens: the real perf 6.1 on the reference host (tests/data/corpus, and the crafted
recording of tests/data/trace/out-of-order, see its README)."""
from __future__ import annotations

import lzma
import shutil
import subprocess

import click
import pytest
from click.testing import CliRunner
from conftest import DATA

from kmemsim.cli.trace_cmd import register
from kmemsim.trace import KmemStat, StatOptions, TraceReader
from kmemsim.trace.parse import compiled_scanner

OOO = DATA / "trace" / "out-of-order"
CORPUS = DATA / "corpus"
ENGINES = ["python", "general"] + (["compiled"] if compiled_scanner() is not None else [])


@click.group()
def cli() -> None:
    pass


register(cli)


def stat(*args: str):
    r = CliRunner().invoke(cli, ["stat", *args])
    assert r.exit_code == 0, r.output
    return r


@pytest.mark.parametrize("name,options", [("stat", []), ("stat-caller", ["--slab", "--caller", "-l", "10"]),
                                          ("stat-alloc", ["--slab", "--alloc", "-l", "10"])])
@pytest.mark.parametrize("engine", ["auto", "python"])
def test_out_of_order_events_warn_as_perf_does(name, options, engine):
    r = stat(*options, "--perf-only", "--engine", engine, str(OOO / "perf-script.txt.gz"))
    assert r.stdout == (OOO / f"perf-{name}.txt").read_text()
    assert r.stderr == (OOO / f"perf-{name}.stderr.txt").read_text() == "Warning:\n3 out of order events recorded.\n"


@pytest.mark.parametrize("engine", ENGINES)
def test_every_engine_counts_the_out_of_order_events(engine):
    reader = TraceReader(OOO / "perf-script.txt.gz", engine=engine)
    st = KmemStat(StatOptions(slab=True)).process(reader)
    assert reader.stats.unordered == 3
    assert "out of order events: 3" in reader.stats.summary()
    assert st.nr_allocs == 323 + 743


def test_unordered_is_counted_against_the_latest_time_so_far():
    """perf's queue has flushed up to the latest time it saw: every event before that time is out
    of order, not only the first one after a step back."""
    lines = [
        "a 1 [000] 10.000100: kmem:kfree: call_site=f+0x1 ptr=0x0",
        "a 1 [000] 10.000300: kmem:kfree: call_site=f+0x1 ptr=0x0",
        "a 1 [000] 10.000100: kmem:kfree: call_site=f+0x1 ptr=0x0",  # before 300
        "a 1 [000] 10.000200: kmem:kfree: call_site=f+0x1 ptr=0x0",  # still before 300
        "a 1 [000] 10.000300: kmem:kfree: call_site=f+0x1 ptr=0x0",  # equal: in order
        "a 1 [000] 10.000400: kmem:kfree: call_site=f+0x1 ptr=0x0",
    ]
    for engine in ("python", "general"):
        reader = TraceReader(lines, engine=engine)
        assert len(list(reader)) == 6
        assert reader.stats.unordered == 2


def test_in_order_traces_print_no_warning():
    r = stat("--perf-only", str(DATA / "trace" / "perf-script.txt.gz"))
    assert r.stderr == ""


@pytest.mark.parametrize("trace", ["sqlite", "git", "mmap-churn"])
def test_perf_only_is_the_slab_report_unless_page_is_given(trace):
    d = CORPUS / trace
    assert stat("--perf-only", str(d / "perf-script.txt.gz")).stdout == (d / "perf-stat-slab.txt").read_text()
    both = stat("--slab", "--page", "--perf-only", str(d / "perf-script.txt.gz")).stdout
    assert both == (d / "perf-stat.txt").read_text()


def test_perf_only_on_a_trace_without_slab_events_is_perfs_error():
    lines = "x 1 [000] 10.000100: kmem:mm_page_free: page=0xffffea0000040000 pfn=0x1000 order=0\n"
    r = CliRunner().invoke(cli, ["stat", "--perf-only", "-"], input=lines)
    assert r.exit_code != 0
    assert "No slab allocation events found.  Have you run 'perf kmem record --slab'?" in r.output
    # without --perf-only kmemsim reports what the trace has
    r = CliRunner().invoke(cli, ["stat", "-"], input=lines)
    assert r.exit_code == 0 and "SUMMARY (page allocator)" in r.stdout


@pytest.mark.host
@pytest.mark.skipif(shutil.which("perf") is None, reason="no perf here")
def test_the_goldens_are_what_this_hosts_perf_prints(tmp_path):
    data = tmp_path / "perf.data"
    data.write_bytes(lzma.decompress((OOO / "perf-kmem.data.xz").read_bytes()))
    for name, options in (("stat", []), ("stat-caller", ["--slab", "--caller", "-l", "10"])):
        p = subprocess.run(["perf", "kmem", "-i", str(data), *options, "stat"], capture_output=True, text=True,
                           env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"}, check=True)
        assert p.stdout == (OOO / f"perf-{name}.txt").read_text()
        assert p.stderr == (OOO / f"perf-{name}.stderr.txt").read_text()
