"""The HTML report of ``kmemsim replay --report`` and ``kmemsim compare --report``
(kmemsim.trace.report, kmemsim.trace.svgchart), read as HTML; tests/test_report_browser.py
opens it in a browser.  Also ``--example`` and ``kmemsim example``."""
from __future__ import annotations

import gzip
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA

import kmemsim
from kmemsim.cli.main import main
from kmemsim.errors import UsageError
from kmemsim.examples import EXAMPLES, example_path
from kmemsim.trace import KmemStat, StatOptions, TraceReader
from kmemsim.trace.replay import Replay, ReplayOptions, compare, replay
from kmemsim.trace.report import check_report_path, html_report, write_report
from kmemsim.trace.svgchart import Series, bar_chart, json_for_script, line_chart, nice_ticks

HOST = DATA / "host-6.18"
TRACE = HOST / "kmem-trace.txt.gz"
SNAP = HOST / "snapshot.tar.gz"


def stat_of(events) -> KmemStat:
    st = KmemStat(StatOptions(slab=True, page=True, caller=True, waste=True, leaks=True))
    return st.process(events)


@pytest.fixture(scope="module")
def replay_page() -> tuple[Replay, str]:
    reader = TraceReader(TRACE)
    events = list(reader)
    r = replay(events, host=SNAP, options=ReplayOptions(seed=False))  # the trace's own footprint
    page = html_report([("replay", r)], stat=stat_of(events), title="kmemsim replay of sample",
                       summaries=[("Replay", r.summary())], parse_stats=reader.stats)  # fmt: skip
    return r, page


@pytest.fixture(scope="module")
def compare_page(tmp_path_factory) -> tuple[object, str]:
    lines = gzip.open(TRACE, "rt").readlines()[:6000]
    events = list(TraceReader(lines))
    c = compare(events, {"tunables": {"slab_nomerge": "0"}}, {"tunables": {"slab_nomerge": "1"}})
    page = html_report([("A", c.a), ("B", c.b)], stat=stat_of(events), comparison=c,
                       summaries=[("Compare", c.report())])  # fmt: skip
    return c, page


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of every element by id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(page: str) -> Tags:
    t = Tags()
    t.feed(page)
    t.close()
    return t


def chart_data(page: str, cid: str) -> dict:
    fig = page[page.index(f'<figure class="chart" id="{cid}"') :]
    fig = fig[: fig.index("</figure>")]
    m = re.search(r'<script type="application/json" class="chart-data">(.*?)</script>', fig, re.S)
    assert m, cid
    return json.loads(m.group(1))


def ticks(page: str, cid: str) -> list[float]:
    fig = page[page.index(f'<figure class="chart" id="{cid}"') :]
    fig = fig[: fig.index("</figure>")]
    labels = re.findall(r'<text class="tick" x="[0-9.]+" y="[0-9.]+" text-anchor="end">([^<]+)</text>', fig)
    return [float(v.replace(",", "")) for v in labels]


# ---------------------------------------------------------------------------- one replay


def test_page_is_one_file_that_needs_no_network(replay_page):
    _r, page = replay_page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for needle in ("http://", "https://", "<link", "@import", "url(", " src=", "<img"):
        assert needle not in page, needle
    tags = parse(page).tags
    scripts = [a for t, a in tags if t == "script"]
    assert all("src" not in a for a in scripts)
    assert sum(1 for t, _ in tags if t == "svg") >= 6  # the charts are inline SVG


def test_headline_numbers_come_first(replay_page):
    r, page = replay_page
    head = page[page.index('<section id="headline"') : page.index('<nav id="toc"')]
    assert page.index('<section id="headline"') < page.index("<figure")
    assert "35,576" in head and "events in the trace" in head
    assert re.search(r'card good"><div class="v">0</div><div class="k">bytes_alloc mismatches', head)
    peak = max(s.slab_pages for s in r.samples)
    assert f"{peak:,} pages</div><div class=\"k\">peak slab footprint" in head
    assert "0.076862 s" in head and "linux-6.18-x86_64, 24,576 MiB, 2 CPUs" in head
    assert '<div class="v">clean</div><div class="k">k.check() at the end' in head


def test_table_of_contents_links_every_section(replay_page):
    _r, page = replay_page
    toc = page[page.index('<nav id="toc"') : page.index("</nav>")]
    ids = re.findall(r'href="#([a-z-]+)"', toc)
    assert ids[:3] == ["footprint", "fragmentation", "events"] and "callsites" in ids
    for i in ids:
        assert f'<section id="{i}">' in page


def test_slab_and_page_event_footprints_have_their_own_axes(replay_page):
    r, page = replay_page
    slab = chart_data(page, "chart-slab")
    pages = chart_data(page, "chart-pages")
    peak_slab = max(s.slab_pages for s in r.samples)
    peak_held = max(s.replay_pages for s in r.samples)
    assert peak_held > 5 * peak_slab  # the page events would crush the caches on one axis
    assert max(ticks(page, "chart-slab")) < 1.5 * peak_slab
    assert max(ticks(page, "chart-pages")) >= peak_held
    names = [s["n"] for s in slab["s"]]
    assert names[-1] == "slab pages, all caches" and "other caches" in names and "maple_node" in names
    assert all(s["k"] == "area" for s in slab["s"][:-1])
    assert [s["n"] for s in pages["s"]] == ["pages held for the trace's page events"]
    assert slab["x"] == pages["x"] and len(slab["x"]) == len(r.samples)
    stacked = [sum(s["v"][i] for s in slab["s"][:-1]) for i in range(len(slab["x"]))]
    assert stacked == slab["s"][-1]["v"] == [s.slab_pages for s in r.samples]


def test_tables_are_sortable_and_searchable(replay_page):
    _r, page = replay_page
    tables = re.findall(r'<div class="tbl" id="(t\d+)">(.*?)</table>', page, re.S)
    assert len(tables) >= 6
    assert len({t for t, _ in tables}) == len(tables)  # unique ids
    caches = next(body for _t, body in tables if "Slab caches with slabs at the end" in body)
    assert '<input type="search" class="filter"' in caches
    assert '<th scope="col" class="num" tabindex="0">pages</th>' in caches
    assert '<td class="num " data-v="24">24</td>' in caches  # maple_node: 24 pages
    callers = next(body for _t, body in tables if "per call site (perf kmem stat --caller)" in body)
    assert "ext4_htree_store_dirent+34" in callers


def test_long_text_is_folded(replay_page):
    _r, page = replay_page
    details = re.findall(r"<details><summary>(.*?)</summary>", page)
    assert "Replay" in details and any(d.startswith("Statistics") for d in details)
    assert any(d.startswith("Caches made for the trace: ") for d in details)
    assert "<details open" not in page
    # every <pre> is inside a <details>
    for m in re.finditer("<pre>", page):
        assert page.rfind("<details>", 0, m.start()) > page.rfind("</details>", 0, m.start())


def test_waste_chart_and_stat_tables(replay_page):
    _r, page = replay_page
    waste = page[page.index('id="chart-waste"') :]
    waste = waste[: waste.index("</figure>")]
    assert "ext4_htree_store_dirent" in waste and "<title>ext4_htree_store_dirent: peak of live waste" in waste
    assert "Objects live at the end of the trace, per call site" in page


def text_of(page: str) -> str:
    return "".join(parse(page).text)


def nasty_trace() -> list[str]:
    tail = "gfp_flags=GFP_KERNEL node=-1 accounted=false"
    site_a = "</script><script>alert(1)</script>+0x1/0x10"
    site_b = r"$\bar$_<b>x</b>+0x2/0x20"
    out = []
    for i in range(40):
        head = f"              sh-7      [000] ..... 100.{2 * i + 1:06d}: "
        out.append(head + f"kmem_cache_alloc: call_site={site_a} ptr={0x1000 + 64 * i:016x} "
                   rf"name=$\foo$ bytes_req=40 bytes_alloc=64 {tail}")  # fmt: skip
        head = f"              sh-7      [000] ..... 100.{2 * i + 2:06d}: "
        ptr = 0x9000 + 128 * i
        out.append(head + f"kmalloc: call_site={site_b} ptr={ptr:016x} bytes_req=100 bytes_alloc=128 {tail}")
    return out


def test_names_from_the_trace_are_text_never_markup():
    """A cache or call site named `$\\foo$` crashed the matplotlib report (mathtext); one
    named `</script>...` must not end the page's script or add markup."""
    lines = nasty_trace()
    events = list(TraceReader(lines))
    k = kmemsim.boot(on_bug="report")
    r = Replay(k).feed(events).finish()
    assert r"$\foo$" in r.final.caches
    page = html_report([("replay", r)], stat=stat_of(events), summaries=[("Replay", r.summary())])
    assert "<script>alert" not in page and "</script><script>" not in page
    assert "<b>x</b>" not in page
    text = text_of(page)
    assert r"$\foo$" in text and "</script><script>alert(1)</script>+1" in text and r"$\bar$_<b>x</b>" in text
    data = chart_data(page, "chart-slab")
    assert r"$\foo$" in [s["n"] for s in data["s"]]
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, re.S)
    assert len(scripts) == sum(1 for _ in re.finditer("<script", page))  # no script ended early


# ---------------------------------------------------------------------------- compare


def test_compare_shows_b_minus_a(compare_page):
    c, page = compare_page
    head = page[page.index('<section id="headline"') : page.index('<nav id="toc"')]
    d = c.b.final.slab_pages - c.a.final.slab_pages
    assert d > 0
    assert f'<div class="v">+{d}</div><div class="k">slab pages at the end, B − A' in head
    assert "slab_nomerge=0" in head and "slab_nomerge=1" in head and "Differences:" in head
    toc = page[page.index('<nav id="toc"') : page.index("</nav>")]
    assert re.findall(r'href="#([a-z-]+)"', toc)[:3] == ["difference", "side-by-side", "caches"]
    diff = chart_data(page, "chart-diff")
    slab = next(s for s in diff["s"] if s["n"] == "slab pages, B − A")
    assert slab["v"] == [y.slab_pages - x.slab_pages for x, y in zip(c.a.samples, c.b.samples, strict=True)]
    assert slab["v"][-1] == d
    per = chart_data(page, "chart-diff-caches")
    assert per["s"] and all(any(s["v"]) for s in per["s"])  # only caches that differ
    assert '<figure class="chart" id="chart-cache-diff"' in page
    table = page[page.index("Slab pages and objects in use per cache at the end") :]
    assert '<th scope="col" class="num" tabindex="0">B − A pages</th>' in table


def test_a_difference_that_is_zero_throughout_is_said_not_drawn(compare_page):
    c, page = compare_page
    pb = c.a.pa.pageblock_order
    if all(sum(x.free_blocks[pb:]) == sum(y.free_blocks[pb:]) for x, y in zip(c.a.samples, c.b.samples, strict=True)):
        assert '<p class="note same" id="chart-diff-blocks">' in page
        assert '<figure class="chart" id="chart-diff-blocks"' not in page
    else:  # pragma: no cover - depends on the model
        assert '<figure class="chart" id="chart-diff-blocks"' in page


def test_machines_side_by_side(compare_page):
    c, page = compare_page
    assert "Machine A: events and slab caches" in page and "Machine B: events and slab caches" in page
    assert '<section id="machines">' in page
    row = re.search(r"<td>slab pages</td><td class=\"num \" data-v=\"(\d+)\">[\d,]+</td>"
                    r"<td class=\"num \" data-v=\"(\d+)\">[\d,]+</td><td class=\"num ([a-z ]*)\" data-v=\"(-?\d+)\"",
                    page)  # fmt: skip
    assert row is not None
    a, b, cls, d = int(row[1]), int(row[2]), row[3], int(row[4])
    assert (a, b, d) == (c.a.final.slab_pages, c.b.final.slab_pages, b - a) and "up" in cls


# ---------------------------------------------------------------------------- the charts


def test_nice_ticks():
    assert nice_ticks(0, 227) == [0, 50, 100, 150, 200, 250]
    assert nice_ticks(0, 2097) == [0, 500, 1000, 1500, 2000, 2500]
    assert nice_ticks(-2, 3) == [-2, -1, 0, 1, 2, 3]
    assert nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 0.066) == [0, 0.02, 0.04, 0.06, 0.08]


def test_json_for_script_cannot_close_the_script():
    text = json_for_script({"n": "</script><!-- & \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"n": "</script><!-- & \u2028"}


def test_charts_of_nothing():
    fig = line_chart("c", "t", [], [Series("s", [], "#000")], x_label="x", y_label="y")
    assert "no samples" in fig and "<svg" in fig
    fig = bar_chart("b", "t", [], [("g", [], "#000")], x_label="x")
    assert "nothing to show" in fig
    fig = line_chart("l", "t", [0, 1, 2], [Series("s", [0, 9, 999], "#000")], x_label="x", y_label="y", log=True)
    assert "(log scale)" in fig and ">1,000</text>" in fig
    fig = bar_chart("d", "t", ["a", "b"], [("B − A", [-3, 2], "#000")], x_label="x")
    assert 'class="zero"' in fig and "<title>a: B − A -3</title>" in fig


# ---------------------------------------------------------------------------- writing


def test_check_report_path(tmp_path: Path):
    with pytest.raises(UsageError, match=f"--report {tmp_path}: is a directory"):
        check_report_path(tmp_path)
    with pytest.raises(UsageError, match="no such directory"):
        check_report_path(tmp_path / "nodir" / "r.html")
    ok = tmp_path / "r.html"
    assert check_report_path(ok) == ok and not ok.exists()  # checked, and nothing left behind
    ok.write_text("old")
    check_report_path(ok)
    assert ok.read_text() == "old"
    if Path("/sys/kernel").is_dir():
        with pytest.raises(UsageError, match="/sys/kmemsim-report.html: cannot write"):
            check_report_path("/sys/kmemsim-report.html")
    write_report(ok, "new")
    assert ok.read_text() == "new"
    with pytest.raises(UsageError, match="cannot write"):
        write_report(tmp_path / "nodir" / "r.html", "x")


def run(*args: str, **kw):
    return CliRunner().invoke(main, list(args), **kw)


@pytest.mark.parametrize("cmd", [["replay"], ["compare", "--b-set", "cpus=4"]])
def test_unwritable_report_fails_before_the_replay(cmd, tmp_path, monkeypatch):
    fed = []
    monkeypatch.setattr(Replay, "feed", lambda self, events: fed.append(1) or self)
    for bad, why in ((tmp_path / "no" / "r.html", "no such directory"), (tmp_path, "is a directory")):
        res = run(*cmd, str(TRACE), "--report", str(bad))
        assert res.exit_code == 2 and "--report" in res.output and why in res.output, res.output
        assert str(bad) in res.output
        assert "Traceback" not in res.output
    assert fed == []


def test_replay_command_writes_the_report(tmp_path):
    out = tmp_path / "r.html"
    res = run("replay", "--example", "--report", str(out), "--every", "500")
    assert res.exit_code == 0, res.output
    assert f"report written to {out}" in res.output
    page = out.read_text()
    assert '<figure class="chart" id="chart-slab"' in page and "bytes_alloc mismatches" in page
    assert len(chart_data(page, "chart-slab")["x"]) == 72  # --every 500 on 35,576 events, and the end


def test_compare_command_writes_the_report(tmp_path):
    small = tmp_path / "small.txt"
    small.write_text("".join(gzip.open(TRACE, "rt").readlines()[:3000]))
    out = tmp_path / "c.html"
    res = run("compare", str(small), "--a-set", "cpus=1", "--b-set", "cpus=4", "--report", str(out))
    assert res.exit_code == 0, res.output
    page = out.read_text()
    assert "A:</b> linux-6.18-x86_64, cpus=1" in page and "B:</b> linux-6.18-x86_64, cpus=4" in page
    assert '<section id="difference">' in page


# ---------------------------------------------------------------------------- --example


def test_shipped_samples_are_the_test_data():
    assert set(EXAMPLES) == {"trace", "snapshot"}
    assert example_path("trace").read_bytes() == TRACE.read_bytes()
    assert example_path("snapshot").read_bytes() == SNAP.read_bytes()
    with pytest.raises(UsageError, match="no such sample"):
        example_path("nope")


def test_example_command():
    res = run("example")
    assert res.exit_code == 0 and str(example_path("trace")) in res.output and "snapshot" in res.output
    res = run("example", "snapshot")
    assert res.output == f"{example_path('snapshot')}\n"


def test_replay_example_boots_the_samples_host():
    res = run("replay", "--example", "--top", "3")
    assert res.exit_code == 0, res.output
    assert f"(host snapshot {example_path('snapshot')})" in res.output
    assert "\nbytes_alloc mismatches: 0\n" in res.output
    res = run("replay", "--example", "--profile", "linux-2.6-i386", "--top", "3")
    assert res.exit_code == 0, res.output
    assert "Replay on linux-2.6.24-i386" in res.output and "(a fresh boot)" in res.output


def test_stat_and_compare_example():
    res = run("stat", "--example", "--slab")
    assert res.exit_code == 0 and "SUMMARY (SLAB allocator)" in res.output
    res = run("compare", "--example", "--b-set", "cpus=4", "--top", "3")
    assert res.exit_code == 0, res.output
    assert "A: linux-6.18-x86_64\n  B: linux-6.18-x86_64, cpus=4" in res.output


def test_example_and_a_file_are_one_too_many(tmp_path):
    res = run("replay", "--example", str(TRACE))
    assert res.exit_code == 2 and f"give FILE ({TRACE}) or --example, not both" in res.output
    res = run("stat")
    assert res.exit_code == 2 and "Missing argument 'FILE'" in res.output and "--example" in res.output
