"""``kmemsim stat`` (kmemsim.cli.trace_cmd); ``kmemsim record`` is tested in test_record.py."""
from __future__ import annotations

import gzip

import click
from click.testing import CliRunner
from conftest import DATA

from kmemsim.cli.trace_cmd import register

TRACE = DATA / "trace"
SCRIPT = TRACE / "perf-script.txt.gz"


@click.group()
def cli() -> None:
    pass


register(cli)


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_register_adds_both_commands():
    assert set(cli.commands) == {"stat", "record"}


def test_stat_prints_perfs_report_then_kmemsims():
    r = run("stat", "--slab", str(SCRIPT))
    assert r.exit_code == 0, r.output
    out = r.output
    assert out.startswith((TRACE / "golden" / "slab-page.txt").read_text().split("\nSUMMARY (page")[0])
    assert "SUMMARY (kmemsim: beyond perf kmem, SLAB allocator)" in out
    assert "Trace: 5739 lines, format perf-script" in out
    assert "SUMMARY (page allocator)" not in out


def test_stat_without_slab_or_page_reports_what_the_trace_has(tmp_path):
    r = run("stat", str(SCRIPT))
    assert "SUMMARY (SLAB allocator)" in r.output and "SUMMARY (page allocator)" in r.output
    page_only = tmp_path / "pages.txt"
    page_only.write_text("".join(ln for ln in gzip.open(SCRIPT, "rt") if "mm_page" in ln))
    r = run("stat", str(page_only))
    assert "SUMMARY (SLAB allocator)" not in r.output and "SUMMARY (page allocator)" in r.output
    r = run("stat", "--slab", str(page_only))
    assert r.exit_code != 0
    assert "No slab allocation events found.  Have you run 'perf kmem record --slab'?" in r.output


def test_sort_and_lines_go_to_the_table_named_last_as_in_perf():
    a = run("stat", "--slab", "--perf-only", "--caller", "-s", "hit", "-l", "3", "--alloc", str(SCRIPT)).output
    callers, allocs = a.split(" Alloc Ptr ")
    assert callers.count("\n ") >= 3 and "...  " in callers  # 3 lines, then "..."
    assert allocs.count(" 0x") > 100  # the alloc table kept every line
    b = run("stat", "--page", "--perf-only", "--alloc", "-s", "order,migtype", str(SCRIPT))
    assert b.exit_code == 0, b.output
    c = run("stat", "--page", "--alloc", "-s", "frag", str(SCRIPT))  # a slab key given as page key
    assert c.exit_code != 0 and "Unknown page --sort key: 'frag'" in c.output


def test_stat_from_stdin_and_every_format():
    text = gzip.open(SCRIPT, "rt").read()
    r = run("stat", "--slab", "--perf-only", "-", input=text)
    assert r.output == (TRACE / "golden" / "slab-page.txt").read_text().split("\nSUMMARY (page")[0]
    for f in ("trace-cmd-report.txt.gz", "ftrace-tgid-stack.txt.gz", "handmade/pre-6.1-2.6.txt"):
        r = run("stat", "--waste", "--lifetime", "--leaks", str(TRACE / f))
        assert r.exit_code == 0, (f, r.output)


def test_malformed_trace_errors_and_lenient(tmp_path):
    bad = tmp_path / "bad.txt"
    lines = gzip.open(SCRIPT, "rt").readlines()[:50]
    lines[20] = "  garbage\n"
    bad.write_text("".join(lines))
    r = run("stat", str(bad))
    assert r.exit_code != 0 and f"{bad}:21: not a trace event line" in r.output
    r = run("stat", "--lenient", str(bad))
    assert r.exit_code == 0 and "malformed lines skipped: 1" in r.output and "skipped line 21" in r.output


def test_bad_options():
    assert "expected START,STOP" in run("stat", "--time", "12", str(SCRIPT)).output
    assert "expected CPUS:NODE" in run("stat", "--cpu-nodes", "0-1", str(SCRIPT)).output
    assert run("stat", str(TRACE / "nosuch.txt")).exit_code != 0
