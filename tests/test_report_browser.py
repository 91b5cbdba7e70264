"""The HTML report in a real browser: Debian's chromium (/usr/bin/chromium, which .ci/run
installs) driven by Playwright, never a browser Playwright downloads itself.

The pages are opened from file:// with every other request refused and recorded, so
the test also proves that a report opens offline.  After the scripts ran, the DOM is
checked (headline, charts ready, sorting, filtering, the hover read-out, legend
toggles, folded text) and the console must have no error.  Screenshots of the pages go
to build/report-screenshots/ (KMEMSIM_SCREENSHOTS to choose) for a person to look at.

Skipped where there is no browser; under CI (CI=true) a missing browser fails instead.
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA

from kmemsim.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("KMEMSIM_SCREENSHOTS", ROOT / "build" / "report-screenshots"))
TRACE = DATA / "host-6.18" / "kmem-trace.txt.gz"


class Opened:
    """A page with its console messages, page errors, dialogs and refused requests."""

    def __init__(self, ctx, path: Path) -> None:
        self.errors: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page = ctx.new_page()
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

        def route(r):
            if r.request.url == path.as_uri():
                r.continue_()
            else:
                self.requests.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.goto(path.as_uri())
        page.wait_for_selector("html[data-report-ready='1']", state="attached", timeout=15000)
        self.page = page

    def clean(self) -> None:
        assert self.errors == [], self.errors
        assert [m for m in self.console if m[0] in ("error", "warning")] == []
        assert self.requests == [], f"the page asked the network for {self.requests}"
        assert self.dialogs == []


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10000
    print(f"screenshot: {path}")
    return path


@pytest.fixture(scope="module")
def replay_html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "replay.html"
    res = CliRunner().invoke(main, ["replay", "--example", "--no-seed", "--report", str(out), "--every", "500"])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def compare_html(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("compare")
    small = d / "small.txt"
    small.write_text("".join(gzip.open(TRACE, "rt").readlines()[:8000]))
    out = d / "compare.html"
    res = CliRunner().invoke(main, ["compare", str(small), "--a-set", "slab_nomerge=0", "--b-set", "slab_nomerge=1",
                                    "--every", "250", "--report", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    return out


def test_replay_report_in_a_browser(browser, replay_html):
    o = Opened(browser, replay_html)
    page = o.page
    assert page.title().startswith("kmemsim replay of ") and page.title().endswith("kmem-trace.txt.gz")
    cards = page.locator("#headline .card")
    assert cards.count() == 7
    assert cards.nth(0).locator(".v").inner_text() == "35,576"
    assert "bytes_alloc mismatches" in cards.nth(2).inner_text() and cards.nth(2).locator(".v").inner_text() == "0"
    charts = page.locator('figure.chart[data-chart="line"]')
    assert charts.count() >= 5
    assert page.locator('figure.chart[data-chart="line"][data-ready="1"]').count() == charts.count()
    assert page.locator("#toc a").count() == 7
    shot(page, "replay.png")
    page.set_viewport_size({"width": 1280, "height": 1000})
    page.screenshot(path=str(SHOTS / "replay-top.png"))
    o.clean()


def test_tables_sort_and_filter(browser, replay_html):
    o = Opened(browser, replay_html)
    page = o.page
    box = page.locator(".tbl", has=page.locator("caption", has_text="Slab caches with slabs at the end"))
    th = box.locator("th", has_text="object size")
    values = "els => els.map(e => Number(e.dataset.v))"
    col = 'tbody tr td:nth-child(7)'  # object size
    th.click()
    assert th.get_attribute("aria-sort") == "descending"
    got = box.locator(col).evaluate_all(values)
    assert got == sorted(got, reverse=True) and len(got) == 50
    th.click()
    assert th.get_attribute("aria-sort") == "ascending"
    got = box.locator(col).evaluate_all(values)
    assert got == sorted(got)
    name = box.locator("th", has_text="cache").first
    name.click()
    names = box.locator("tbody tr td:nth-child(1)").all_inner_texts()
    assert names == sorted(names, key=str.lower)
    box.locator("input.filter").fill("kmalloc")
    visible = box.locator("tbody tr:not([hidden]) td:nth-child(1)").all_inner_texts()
    assert visible and all("kmalloc" in n for n in visible)
    assert box.locator(".count").inner_text() == f"{len(visible)} of 50 rows"
    box.locator("input.filter").fill("")
    assert box.locator("tbody tr:not([hidden])").count() == 50
    o.clean()


def test_chart_hover_and_legend(browser, replay_html):
    o = Opened(browser, replay_html)
    page = o.page
    fig = page.locator("#chart-slab")
    fig.scroll_into_view_if_needed()
    tip = fig.locator(".tip")
    assert tip.is_hidden()
    data = fig.locator("script.chart-data").evaluate("e => JSON.parse(e.textContent)")
    bb = fig.locator("rect.hit").bounding_box()
    i = len(data["x"]) // 2
    x0, x1 = data["dom"]
    page.mouse.move(bb["x"] + (data["x"][i] - x0) / (x1 - x0) * bb["width"], bb["y"] + bb["height"] / 2)
    assert tip.is_visible()
    rows = tip.inner_text().split("\n")
    assert rows[0] == f"trace time (s): {data['x'][i]:.7g}"
    shown = dict(zip(rows[1::2], rows[2::2], strict=True))
    assert [s["n"] for s in data["s"]][::-1] == list(shown)  # the top of the stack first
    for s in data["s"]:
        assert shown[s["n"]] == f"{s['v'][i]:,.0f} pages"
    assert "maple_node" in shown and "slab pages, all caches" in shown
    assert fig.locator("line.cursor").get_attribute("visibility") == "visible"
    page.mouse.move(5, 5)
    assert tip.is_hidden()
    # a line chart's legend hides and shows its line
    frag = page.locator("#chart-blocks")
    frag.scroll_into_view_if_needed()
    button = frag.locator("button.lg").first
    line = frag.locator('polyline[data-s="0"]')
    assert line.is_visible()
    button.click()
    assert button.get_attribute("aria-pressed") == "false" and line.is_hidden()
    hit = frag.locator("rect.hit")
    bb = hit.bounding_box()
    page.mouse.move(bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2)
    assert "order ≥" not in frag.locator(".tip").inner_text()  # a hidden line is not read out
    button.click()
    assert line.is_visible()
    o.clean()


def test_text_is_folded_and_the_contents_link(browser, replay_html):
    o = Opened(browser, replay_html)
    page = o.page
    details = page.locator("details")
    assert details.count() >= 3
    assert all(not d.get_attribute("open") for d in details.all())
    pre = page.locator("details pre").first
    assert pre.is_hidden()
    page.locator("details summary", has_text="Replay").click()
    assert page.locator("details", has_text="Replay").first.get_attribute("open") == ""
    assert "bytes_alloc mismatches: 0" in page.locator("details pre").first.inner_text()
    page.locator("#toc a", has_text="Call sites").click()
    assert page.evaluate("location.hash") == "#callsites"
    o.clean()


def test_compare_report_in_a_browser(browser, compare_html):
    o = Opened(browser, compare_html)
    page = o.page
    cards = page.locator("#headline .card")
    assert cards.count() == 8
    assert "slab pages at the end, B − A" in cards.nth(2).inner_text()
    assert cards.nth(2).locator(".v").inner_text().startswith("+")
    assert page.locator("#chart-diff[data-ready='1']").count() == 1
    assert page.locator("#toc a").first.inner_text() == "B − A over time"
    fig = page.locator("#chart-diff")
    fig.scroll_into_view_if_needed()
    bb = fig.locator("rect.hit").bounding_box()
    page.mouse.move(bb["x"] + bb["width"] - 2, bb["y"] + 10)
    assert "slab pages, B − A" in fig.locator(".tip").inner_text()
    shot(page, "compare.png")
    o.clean()


def test_names_from_the_trace_stay_text_in_the_browser(browser, tmp_path):
    from test_report import nasty_trace

    trace = tmp_path / "nasty.txt"
    trace.write_text("\n".join(nasty_trace()) + "\n")
    out = tmp_path / "nasty.html"
    res = CliRunner().invoke(main, ["replay", str(trace), "--report", str(out), "--every", "10"])
    assert res.exit_code == 0, res.output
    o = Opened(browser, out)
    page = o.page
    body = page.locator("body").inner_text()
    assert "</script><script>alert(1)</script>+1" in body and r"$\foo$" in body
    assert page.locator("b", has_text="x").count() == 0
    fig = page.locator("#chart-slab")
    fig.scroll_into_view_if_needed()
    bb = fig.locator("rect.hit").bounding_box()
    page.mouse.move(bb["x"] + bb["width"] - 2, bb["y"] + 10)
    assert r"$\foo$" in fig.locator(".tip").inner_text()
    o.clean()
