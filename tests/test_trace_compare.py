"""What-if: one trace replayed on two machines (kmemsim.trace.replay.compare and
``kmemsim compare``)."""
from __future__ import annotations

import gzip
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import DATA

import kmemsim
from kmemsim.cli.trace_cmd import register_replay
from kmemsim.trace import TraceReader
from kmemsim.trace.replay import Comparison, ReplayOptions, compare, describe, slab_usage

TRACE = DATA / "host-6.18" / "kmem-trace.txt.gz"
SNAP = DATA / "host-6.18" / "snapshot.tar.gz"


@pytest.fixture(scope="module")
def events() -> list:
    return list(TraceReader(TRACE))


@pytest.fixture(scope="module")
def merge_vs_nomerge(events) -> Comparison:
    # no host snapshot: caches are inferred from bytes_req/bytes_alloc, and the model
    # merges the compatible ones unless slab_nomerge
    return compare(events, {"tunables": {}}, {"tunables": {"slab_nomerge": True}})


def test_slab_merging_off_uses_more_caches_and_pages(merge_vs_nomerge):
    c = merge_vs_nomerge
    a, b = c.a.final, c.b.final
    assert len(b.caches) > len(a.caches)
    assert b.slab_pages > a.slab_pages
    assert c.a.mismatches == c.b.mismatches == 0
    assert c.a.check_error is None and c.b.check_error is None
    # the same trace: the same events replayed, the same pages held for page events
    assert c.a.placed == c.b.placed and a.replay_pages == b.replay_pages
    merged = [n for n, how in c.a.caches_made.items() if "merged into" in how]
    assert merged and not any("merged" in how for how in c.b.caches_made.values())


def test_report_shows_both_machines_and_the_differences(merge_vs_nomerge):
    text = merge_vs_nomerge.report(top=5)
    assert "  A: linux-6.18-x86_64\n  B: linux-6.18-x86_64, slab_nomerge=True\n" in text
    for label in ("slab pages", "slab caches in use", "slab utilisation %", "Free blocks per order",
                  "Fragmentation", "Pages per cache"):  # fmt: skip
        assert label in text
    d = merge_vs_nomerge.differences()
    assert "B uses" in d and "more slab pages" in d and "slab caches in use" in d
    assert "Differences: B uses" in text
    assert "A: k.check() clean\nB: k.check() clean\n" in text


def test_another_kernel_and_another_cpu_count(events):
    c = compare(events[:6000], {"profile": "linux-6.18-x86_64", "cpus": 4}, {"profile": "linux-2.6-i386", "ram": "1G"})
    assert len(c.a.k.cpus) == 4 and c.b.k.profile.name == "linux-2.6.24-i386"
    text = c.report()
    assert "HighMem: only on B" in text and "DMA32: only on A" in text
    assert c.b.check_error is None


def test_min_free_kbytes_changes_the_watermarks_not_the_footprint(events):
    c = compare(events[:3000], {"ram": "512M"}, {"ram": "512M", "tunables": {"min_free_kbytes": 65536}},
                options=ReplayOptions(sample_every=500))  # fmt: skip
    assert c.b.k.page_alloc.min_free_kbytes == 65536 != c.a.k.page_alloc.min_free_kbytes
    assert c.a.final.slab_pages == c.b.final.slab_pages
    assert [s.events for s in c.a.samples] == [s.events for s in c.b.samples] == [500, 1000, 1500, 2000, 2500, 3000]


def test_given_machines_and_labels():
    a, b = kmemsim.boot(on_bug="report"), kmemsim.boot(cpus=3, on_bug="report")
    c = compare([], {"k": a}, {"k": b})
    assert c.a.k is a and c.b.k is b and c.a.n == 0
    assert describe({"k": b}) == "linux-6.18-x86_64, 3 CPUs, 1024 MiB"
    assert describe({"host": "snap.tar.gz", "tunables": {"x": 1}}) == "host snapshot snap.tar.gz, x=1"
    assert "Differences: none" in c.report()


# ---------------------------------------------------------------------------- the command


@click.group()
def cli() -> None:
    pass


register_replay(cli)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_compare_command_two_profiles(tmp_path: Path):
    small = tmp_path / "small.txt"
    small.write_text("".join(gzip.open(TRACE, "rt").readlines()[:3000]))
    out = tmp_path / "c.html"
    res = run("compare", str(small), "--profile", "linux-6.18-x86_64", "--profile", "linux-2.6-i386",
              "--set", "ram=512M", "--report", str(out))  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "A: linux-6.18-x86_64, ram=512M" in res.output and "B: linux-2.6-i386, ram=512M" in res.output
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Machine A" in page and "Machine B" in page


def test_compare_command_per_side_sets(tmp_path: Path):
    small = tmp_path / "small.txt"
    small.write_text("".join(gzip.open(TRACE, "rt").readlines()[:2000]))
    res = run("compare", str(small), "--a-set", "cpus=1", "--b-set", "cpus=4", "--b-set", "slab_nomerge=1")
    assert res.exit_code == 0, res.output
    assert "A: linux-6.18-x86_64, cpus=1\n  B: linux-6.18-x86_64, cpus=4, slab_nomerge=1" in res.output
    assert "CPUs                                            1            4           +3" in res.output


def test_compare_command_errors(tmp_path: Path):
    small = tmp_path / "small.txt"
    small.write_text("")
    res = run("compare", str(small))
    assert res.exit_code == 2 and "machines A and B are the same" in res.output
    res = run("compare", str(small), "--profile", "linux-6.18-x86_64", "--profile", "linux-2.6-i386",
              "--profile", "linux-6.18-x86_64")  # fmt: skip
    assert res.exit_code == 2 and "at most two profiles" in res.output
    res = run("compare", str(small), "--host", str(SNAP), "--b-set", "cpus=4")
    assert res.exit_code == 1 and "RAM and CPUs come from the snapshot" in res.output
    res = run("compare", str(small), "--b-set", "bogus")
    assert res.exit_code == 2 and "NAME=VALUE" in res.output


def test_compare_command_on_the_host_snapshot():
    res = run("compare", str(TRACE), "--host", str(SNAP), "--b-set", "slab_nomerge=1", "--top", "3")
    assert res.exit_code == 0, res.output
    # the trace names each merged cache by its target: with the host's own merges there is
    # nothing left for slab_nomerge to split (docs/traces.md says so)
    assert "Differences: none in footprint, slab counts or fragmentation" in res.output


# ---------------------------------------------------------------------------- SLAB against SLUB (issue 14)
FORK_EXEC = DATA / "corpus" / "fork-exec" / "trace.txt.gz"  # a real 6.18 trace (tests/data/corpus/README.md)


@pytest.fixture(scope="module")
def slab_vs_slub() -> Comparison:
    ev = list(TraceReader(FORK_EXEC))
    return compare(ev, {"profile": "linux-6.6-x86_64", "tunables": {"slab_allocator": "slab"}},
                   {"profile": "linux-6.6-x86_64", "tunables": {"slab_allocator": "slub"}})


def test_slab_against_slub_on_6_6_replays_a_real_6_18_trace(slab_vs_slub):
    """What SLAB's removal (6.8) cost or saved for a workload: the same trace on 6.6 built with
    SLAB and with SLUB; every event is placed on both, and both machines stay consistent."""
    c = slab_vs_slub
    assert c.a.k.slab.allocator == "slab" and c.b.k.slab.allocator == "slub"
    assert c.a.placed == c.b.placed and c.a.n == c.b.n > 30000
    assert not c.a.model_failed and not c.b.model_failed
    assert c.a.check_error is None and c.b.check_error is None
    a, b = c.a.final, c.b.final
    assert a.slab_pages > 0 and b.slab_pages > 0 and 0 < a.utilisation < 1 and 0 < b.utilisation < 1
    # SLAB's smallest general cache is kmalloc-32 on 6.6 (KMALLOC_SHIFT_LOW 5): the trace's
    # kmalloc-8 and -16 requests cost it more than they did on the traced kernel; SLUB has them
    assert c.a.mismatches > 0 == c.b.mismatches
    assert "kmalloc-8" not in a.caches and "kmalloc-32" in a.caches
    # SLAB's slabs are smaller (slab_break_gfp_order: order 0 or 1 where SLUB takes up to 3)
    assert sum(r[1] for r in slab_usage(c.a.k)) > sum(r[1] for r in slab_usage(c.b.k))


def test_the_compare_command_takes_the_allocator_per_side(tmp_path: Path):
    small = tmp_path / "small.txt"
    small.write_text("".join(gzip.open(FORK_EXEC, "rt").readlines()[:4000]))
    res = run("compare", str(small), "--profile", "linux-6.6-x86_64", "--a-set", "slab_allocator=slab",
              "--b-set", "slab_allocator=slub")
    assert res.exit_code == 0, res.output
    assert "A: linux-6.6-x86_64, slab_allocator=slab\n  B: linux-6.6-x86_64, slab_allocator=slub" in res.output
    assert re.search(r"slab allocator\s+SLAB\s+SLUB *\n", res.output)
    assert "A: k.check() clean\nB: k.check() clean\n" in res.output
    # SLOB on 2.6.24: its pages are one pool, freed by kmem_cache_free() for cache objects
    res = run("compare", str(small), "--profile", "linux-2.6.24-i386", "--a-set", "slab_allocator=slob",
              "--b-set", "slab_allocator=slab")
    assert res.exit_code == 0, res.output
    assert re.search(r"slab allocator\s+SLOB\s+SLAB *\n", res.output)
    assert "A: k.check() clean\nB: k.check() clean\n" in res.output
    res = run("compare", str(small), "--profile", "linux-6.18-x86_64", "--b-set", "slab_allocator=slab")
    assert res.exit_code != 0 and "did not offer CONFIG_SLAB" in res.output and "Traceback" not in res.output
