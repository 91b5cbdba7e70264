"""kmemsim sweep: the grid, the rows, and the Dask clusters they are computed on.

The cluster tests start real Dask clusters of worker processes (a local cluster of two
workers; a cluster started here whose scheduler address the sweep is given) and check
that the rows they send back are exactly those of the same replays run in this process.
"""
from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import kmemsim
from kmemsim.cli.main import main
from kmemsim.errors import ConfigError
from kmemsim.trace.replay import replay
from kmemsim.trace.sweep import (
    COLUMNS,
    SCHEMA,
    Axis,
    SweepResult,
    Task,
    check_grid,
    parse_grid,
    run_task,
    settings,
    sweep,
)

DATA = Path(__file__).parent / "data"
TRACE = DATA / "trace" / "perf-script.txt.gz"  # 5739 events of a real 6.18 host
TRACE2 = DATA / "corpus" / "compile" / "perf-script.txt.gz"


def cli(*args: str):
    return CliRunner().invoke(main, ["sweep", *args])


def comparable(row: dict) -> dict:
    """A row less its timing."""
    return {k: v for k, v in row.items() if k != "seconds"}


# ---------------------------------------------------------------------------- the grid


def test_grid_axes_values_and_the_order_of_the_settings():
    axes = parse_grid(["slab_nomerge=0,1", "cpus= 2, 8", 'failslab="1,100,0,2",0', "slub_debug=F"])
    assert axes == [Axis("slab_nomerge", ("0", "1")), Axis("cpus", ("2", "8")),
                    Axis("failslab", ("1,100,0,2", "0")), Axis("slab_debug", ("F",))]  # an alias: its tunable
    s = settings(axes)
    assert len(s) == 8 and s[0] == (("slab_nomerge", "0"), ("cpus", "2"), ("failslab", "1,100,0,2"),
                                    ("slab_debug", "F"))
    assert [dict(x)["slab_nomerge"] for x in s] == ["0"] * 4 + ["1"] * 4  # the first axis varies slowest
    assert [dict(x)["failslab"] for x in s[:2]] == ["1,100,0,2", "0"]  # the last fastest
    assert settings([]) == [()]  # no axis: each trace once, on the default machine


@pytest.mark.parametrize("spec, message", [
    ("slab_nomerge", "expected NAME=V1,V2"),
    ("=0,1", "expected NAME=V1,V2"),
    ("nosuch=1,2", "unknown name 'nosuch'"),
    ("slab_nomerge=", "every value must be non-empty"),
    ("slab_nomerge=0,,1", "every value must be non-empty"),
    ("slab_nomerge=1,1", "1 listed twice"),
])
def test_bad_grid_syntax_is_an_error_naming_the_axis(spec, message):
    with pytest.raises(ConfigError, match=message) as e:
        parse_grid([spec])
    assert repr(spec) in str(e.value)


def test_an_axis_given_twice_is_an_error():
    with pytest.raises(ConfigError, match="slab_nomerge is already an axis"):
        parse_grid(["slab_nomerge=0", "slab_nomerge=1"])
    with pytest.raises(ConfigError, match="slab_debug is already an axis"):
        parse_grid(["slab_debug=F", "slub_debug=Z"])


@pytest.mark.parametrize("specs, message", [
    (["slab_nomerge=0,maybe"], "the setting slab_nomerge=maybe: tunable slab_nomerge: expected a boolean"),
    (["percpu_pagelist_high_fraction=8", "profile=linux-6.18-x86_64,linux-2.6-i386"],
     "profile=linux-2.6-i386: unknown tunable 'percpu_pagelist_high_fraction' for profile linux-2.6.24-i386"),
    (["profile=linux-9.9"], "unknown profile"),
    (["cpus=two"], "cpus=two: expected a number of CPUs"),
    (["cpus=0"], "cpus=0: expected a number of CPUs"),
    (["ram=lots"], "malformed size 'lots'"),
])
def test_every_setting_is_checked_before_any_replay(specs, message):
    with pytest.raises(ConfigError, match=message):
        check_grid(parse_grid(specs))


def test_a_host_snapshot_boots_its_own_kernel_only():
    with pytest.raises(ConfigError, match="--host boots linux-6.18-x86_64"):
        check_grid(parse_grid(["profile=linux-2.6-i386"]), host="snapshot.tar.gz")


# ---------------------------------------------------------------------------- one row


def test_a_row_is_the_replay_of_its_setting():
    row = run_task(Task(str(TRACE), "t.gz", (("slab_nomerge", "1"), ("cpus", "2"))))
    r = replay(TRACE, tunables={"slab_nomerge": "1"}, cpus=2)
    s = r.final
    assert list(row) == ["trace", "slab_nomerge", "cpus", *(c for c in COLUMNS if c != "cpus")]
    assert row["trace"] == "t.gz" and row["slab_nomerge"] == "1" and row["cpus"] == "2"  # as given
    assert row["status"] == "ok" and row["error"] is None and row["check"] == "clean"
    assert row["events"] == r.n == 5739 and row["replayed"] == sum(r.placed.values())
    assert row["bytes_alloc_mismatches"] == r.mismatches
    assert row["slab_pages_allocated_trace"] == sum(r.trace_slab_pages.values()) > 0
    assert row["slab_pages_allocated_model"] == sum(r.model_slab_pages().values()) > 0
    assert (row["slab_pages"], row["large_kmalloc_pages"], row["replay_pages"]) == (s.slab_pages, s.large_pages,
                                                                                    s.replay_pages)
    assert row["footprint_pages"] == s.slab_pages + s.large_pages + s.replay_pages
    assert row["footprint_kib"] == row["footprint_pages"] * 4
    assert row["slab_utilisation_percent"] == round(100 * s.utilisation, 2)
    assert row["profile"] == "linux-6.18-x86_64" and row["free_pages"] == r.k.nr_free_pages()
    assert 0 <= row["unusable_index_3"] <= 1 and row["free_blocks_pageblock_plus"] == sum(s.free_blocks[9:])


def test_a_machine_that_cannot_boot_or_a_trace_that_cannot_be_read_is_an_error_row():
    row = run_task(Task(str(TRACE), "t.gz", (("ram", "16M"),)))
    assert row["status"] == "error" and row["error"].startswith("ConfigError: ram='16M': linux-6.18-x86_64 needs")
    assert row["events"] is None and row["check"] is None and row["ram"] == "16M"
    table = SweepResult(parse_grid(["ram=16M"]), ["t.gz"], None, [row], {"scheduler": None, "workers": 1}).table()
    assert "t.gz   16M  error: ConfigError: ram='16M'" in table and "; 1 could not run" in table
    row = run_task(Task(str(DATA / "trace" / "README.md"), "README.md", ()))
    assert row["status"] == "error" and row["error"].startswith("TraceFormatError: ")
    assert "README.md:3: not a trace event line" in row["error"]


# ---------------------------------------------------------------------------- on Dask


def test_a_local_cluster_of_two_workers_gives_the_rows_of_the_replays_run_here():
    axes = parse_grid(["slab_nomerge=0,1"])
    res = sweep([TRACE, TRACE2], axes, workers=2)
    assert res.cluster.pop("startup_seconds") > 0 and res.cluster == {"scheduler": None, "workers": 2}
    here = [run_task(Task(str(t.resolve()), str(t), s)) for t in (TRACE, TRACE2) for s in settings(axes)]
    assert [comparable(r) for r in res.rows] == [comparable(r) for r in here]
    assert [(r["trace"], r["slab_nomerge"]) for r in res.rows] == [
        (str(TRACE), "0"), (str(TRACE), "1"), (str(TRACE2), "0"), (str(TRACE2), "1")]
    assert all(r["status"] == "ok" and r["check"] == "clean" for r in res.rows)
    table = res.table()
    assert "4 replays (2 traces x 2 settings)" in table and "local cluster of 2 workers" in table


def test_a_sweep_on_an_existing_scheduler_and_the_json_it_prints():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        res = sweep([TRACE], parse_grid(["cpus=1,2"]), scheduler=c.scheduler_address)
        assert res.cluster.pop("startup_seconds") > 0
        assert res.cluster == {"scheduler": c.scheduler_address, "workers": 1}
        assert [comparable(r) for r in res.rows] == [
            comparable(run_task(Task(str(TRACE.resolve()), str(TRACE), s))) for s in settings(parse_grid(["cpus=1,2"]))]
        out = cli(str(TRACE), "--grid", "slab_nomerge=0", "--scheduler", c.scheduler_address, "--json")
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["schema"] == SCHEMA == "kmemsim-sweep/1" and doc["kmemsim_version"] == kmemsim.__version__
    assert doc["grid"] == [{"name": "slab_nomerge", "values": ["0"]}] and doc["traces"] == [str(TRACE)]
    assert doc["columns"] == ["trace", "slab_nomerge", *COLUMNS] and len(doc["rows"]) == 1
    assert list(doc["rows"][0]) == doc["columns"] and doc["rows"][0]["status"] == "ok"


def test_csv_has_a_header_and_a_line_per_row():
    res = sweep([TRACE], parse_grid(["cpus=1,2"]), workers=1)
    lines = res.to_csv().splitlines()
    assert lines[0] == ",".join(["trace", "cpus", *(c for c in COLUMNS if c != "cpus")])
    assert len(lines) == 3 and lines[1].startswith(f"{TRACE},1,ok,,linux-6.18-x86_64,")


def test_an_unreachable_scheduler_is_an_error_after_the_timeout():
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    with pytest.raises(ConfigError, match=f"--scheduler {address}: no Dask scheduler answered within 1 s"):
        sweep([TRACE], [], scheduler=address, timeout=1)
    out = cli(str(TRACE), "--scheduler", address, "--timeout", "1")
    assert out.exit_code == 1 and f"--scheduler {address}: no Dask scheduler answered" in out.output


def test_without_dask_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(ConfigError, match=r"pip install 'kmemsim\[sweep\]'"):
        sweep([TRACE], [], workers=1)


@pytest.mark.parametrize("args, message", [
    (["--grid", "slab_nomerge"], "--grid 'slab_nomerge': expected NAME=V1,V2"),
    (["--grid", "nosuch=1"], "unknown name 'nosuch'"),
    (["--grid", "slab_nomerge=2"], "tunable slab_nomerge: expected a boolean"),
    (["--workers", "0"], "--workers 0: expected 1 or more"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "give one of them"),
    (["--timeout", "0", "--scheduler", "tcp://127.0.0.1:1"], "--timeout 0.0: expected a number of seconds"),
])
def test_the_command_reports_bad_input_before_starting_a_cluster(args, message):
    out = cli(str(TRACE), *args)
    assert out.exit_code == 1 and message in out.output, out.output


def test_the_command_needs_a_trace_that_exists():
    out = cli("no-such-trace.txt.gz", "--grid", "cpus=1")
    assert out.exit_code == 1 and "trace no-such-trace.txt.gz: no such file" in out.output
    assert cli("--grid", "cpus=1").exit_code == 2  # no TRACE at all: click's usage error
    out = cli(str(TRACE), "--json", "--csv")
    assert out.exit_code == 2 and "--json or --csv" in out.output
