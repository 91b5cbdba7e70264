"""The explorer in a real browser: Debian's chromium (/usr/bin/chromium, which .ci/run installs)
driven by Playwright, as tests/test_report_browser.py does (same flags and skip rules: skipped
where there is no browser, a failure under CI=true).

Pages are opened from file:// with every other request refused and recorded (the page must
work offline).  After the scripts ran: every view is in the DOM, the console has no error,
each view's screenshot is not blank (the PNG is decoded and its pixels must vary), and the
views answer the mouse (zoom, hover, the scrubber, clicks on counts, caches and slabs).
Screenshots go to build/explore-screenshots/ (KMEMSIM_SCREENSHOTS to choose).
"""
from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

import kmemsim
from kmemsim import explore
from kmemsim.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
SHOTS = Path(os.environ.get("KMEMSIM_SCREENSHOTS", ROOT / "build" / "explore-screenshots"))
VIEWS = ["view-summary", "view-memmap", "view-buddy", "view-slab", "view-vmalloc", "view-layout", "view-dmesg"]


def png_pixels(path: Path) -> tuple[int, int, list[int]]:
    """Width, height and the grey level of every pixel of an 8-bit RGB(A) PNG (zlib only)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    grey: list[int] = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        grey.extend((line[i] + line[i + 1] + line[i + 2]) // 3 for i in range(0, stride, bpp * 4))
        prev = line
    return w, h, grey


def shot(locator, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    page = locator.page
    locator.evaluate("el => window.scrollTo(0, el.getBoundingClientRect().top + scrollY - 60)")
    box = locator.bounding_box()
    page.screenshot(path=str(path), full_page=True, clip={"x": box["x"], "y": box["y"] + page.evaluate("scrollY"),
                                                          "width": box["width"], "height": min(box["height"], 1100)})
    w, h, grey = png_pixels(path)
    mean = sum(grey) / len(grey)
    var = sum((g - mean) ** 2 for g in grey) / len(grey)
    distinct = len(set(grey))
    assert w > 200 and h > 60 and var > 50 and distinct > 8, (name, w, h, var, distinct)
    print(f"screenshot: {path} ({w}x{h}, variance {var:.0f})")
    return path


class Opened:
    """A page with its console messages, page errors and refused requests."""

    def __init__(self, ctx, path: Path, ready: str = "html[data-explore-ready='1']") -> None:
        self.errors: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.requests: list[str] = []
        page = ctx.new_page()
        page.on("console", lambda m: self.console.append((m.type, m.text)))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r):
            if r.request.url == path.as_uri():
                r.continue_()
            else:
                self.requests.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        t = time.monotonic()
        page.goto(path.as_uri())
        page.wait_for_selector(ready, state="attached", timeout=30000)
        self.seconds = time.monotonic() - t
        self.page = page

    def clean(self) -> None:
        assert self.errors == [], self.errors
        assert [m for m in self.console if m[0] in ("error", "warning")] == []
        assert self.requests == [], f"the page asked the network for {self.requests}"
        self.page.close()


def _busy_machine() -> kmemsim.Kernel:
    k = kmemsim.boot(on_bug="report")
    g = k.gfp
    c = k.kmem_cache_create("my_dev", 72, 0, k.slab_flags.SLAB_RED_ZONE)
    objs = [k.kmem_cache_alloc(c, g.GFP_KERNEL) for _ in range(9)]
    k.write(objs[3] + 72, b"!")  # a red zone overwritten
    ks = [k.kmalloc(100, g.GFP_KERNEL) for _ in range(80)]
    for p in ks[::3]:
        k.kfree(p)
    k.vmalloc(12 * k.page_size)
    for o in (4, 5, 6):
        k.get_free_pages(g.GFP_KERNEL | g.__GFP_MOVABLE, o)
    return k


@pytest.fixture(scope="module")
def fresh_html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("explore") / "machine.html"
    explore.write_page(out, explore.page_of(_busy_machine()))
    return out


@pytest.fixture(scope="module")
def replay_html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("explore") / "replay.html"
    res = CliRunner().invoke(main, ["explore", "--example", "--ram", "1G", "--every", "1000", "-o", str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_a_machine_page_draws_every_view(browser, fresh_html):
    o = Opened(browser, fresh_html)
    page = o.page
    assert page.locator("#kx-app[data-kx-ready='1']").count() == 1
    for v in VIEWS:
        assert page.locator(f"#{v}").count() == 1, v
        shot(page.locator(f"#{v}"), f"machine-{v}.png")
    assert page.locator("canvas.map[data-drawn='1']").count() == 1
    assert page.locator("#view-buddy .zone").count() == 2  # DMA and DMA32 (Normal is empty)
    assert page.locator("#view-slab tbody tr").count() >= 4
    assert page.locator("#view-layout svg.layout rect").count() == len(kmemsim.boot().layout.regions)
    page.screenshot(path=str(SHOTS / "machine-full.png"), full_page=True)
    o.clean()


def test_the_memory_map_zooms_and_tells_what_a_page_is(browser, fresh_html):
    o = Opened(browser, fresh_html)
    page = o.page
    canvas = page.locator("canvas.map")
    assert (canvas.get_attribute("data-lo"), canvas.get_attribute("data-hi")) == ("0", str(0x40000))
    page.locator("#view-memmap button[data-zone='DMA']").click()
    assert (canvas.get_attribute("data-lo"), canvas.get_attribute("data-hi")) == ("1", str(0x1000))
    page.locator("#kx-map-in").click()
    assert abs(int(canvas.get_attribute("data-hi")) - int(canvas.get_attribute("data-lo")) - 0xFFF // 4) <= 2
    page.locator("#kx-map-used").click()  # the window of the pages in use
    assert int(canvas.get_attribute("data-hi")) - int(canvas.get_attribute("data-lo")) < 0x40000
    shot(page.locator("#view-memmap"), "machine-in-use.png")
    page.locator("#kx-map-all").click()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 2)
    tip = page.locator("#view-memmap .tip")
    assert tip.is_visible() and tip.inner_text().startswith("pfn 0x")
    page.mouse.click(box["x"] + 300, box["y"] + 60)  # pin a page
    panel = page.locator("#view-memmap .panel")
    assert "_refcount" in panel.inner_text() and "struct page" in panel.inner_text()
    page.locator("#kx-map-page").click()
    assert int(canvas.get_attribute("data-hi")) - int(canvas.get_attribute("data-lo")) == 1
    shot(page.locator("#view-memmap"), "machine-one-page.png")
    # a count of the free lists shows those blocks on the map: the window becomes the zone
    page.locator("#view-buddy .zone[data-zone='DMA32'] td.cell[data-order='10'][data-mt='Movable']").click()
    assert (canvas.get_attribute("data-lo"), canvas.get_attribute("data-hi")) == (str(0x1000), str(0x40000))
    o.clean()


def test_slab_caches_show_their_slabs_objects_and_freelists(browser, fresh_html):
    o = Opened(browser, fresh_html)
    page = o.page
    slab = page.locator("#view-slab")
    slab.locator("tbody tr[data-cache='my_dev']").click()
    detail = slab.locator(".cachedetail")
    assert detail.locator("h3").first.inner_text() == "my_dev"
    assert "SLAB_RED_ZONE" in detail.inner_text()
    assert detail.locator("svg[aria-label='object layout of my_dev'] rect").count() >= 4
    assert "red zones" in detail.locator(".slabdetail").inner_text()  # the overwritten red zone
    assert detail.locator(".slabdetail rect[stroke='#e53935']").count() == 1
    shot(slab, "machine-slab-my_dev.png")
    slab.locator("tbody tr[data-cache='kmalloc-128']").click()
    rows = detail.locator(".slabrow")
    assert rows.count() >= 2
    rows.nth(1).click()
    text = detail.locator(".slabdetail").inner_text()
    assert "freelist" in text and "→ NULL" in text
    assert detail.locator(".slabdetail path.freelist").count() >= 1
    slab.locator("input.filter").fill("kmalloc-12")
    assert slab.locator("tbody tr").count() == 1
    o.clean()


def test_a_replayed_trace_has_a_timeline_that_moves_every_view(browser, replay_html):
    o = Opened(browser, replay_html)
    page = o.page
    assert o.seconds < 15, f"the page took {o.seconds:.1f} s to open"
    tl = page.locator("#timeline")
    assert tl.count() == 1
    n = int(page.locator("#kx-scrub").get_attribute("max")) + 1
    assert n >= 30
    assert tl.get_attribute("data-sample") == str(n - 1)
    last_summary = page.locator("#view-summary").inner_text()
    last = page.locator("#kx-events").inner_text().splitlines()
    kinds = ("kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "mm_page_alloc", "mm_page_free")
    assert len(last) == 6 and all(line.split(": ")[1] in kinds for line in last), last
    for v in ["timeline", *VIEWS]:
        shot(page.locator(f"#{v}"), f"replay-{v}.png")
    page.locator("#kx-scrub").fill("0")
    assert tl.get_attribute("data-sample") == "0"
    assert "freshly booted" in page.locator("#kx-events").inner_text()
    assert page.locator("#view-summary").inner_text() != last_summary
    assert page.locator("#kx-pos").inner_text().startswith("event 0 of 35,576")
    page.locator("#kx-next").click()
    assert tl.get_attribute("data-sample") == "1" and "event 1,000 of" in page.locator("#kx-pos").inner_text()
    page.locator("#kx-scrub").fill(str(n // 2))
    shot(page.locator("#view-slab"), "replay-slab-middle.png")
    page.locator("#kx-scrub").fill(str(n - 1))
    assert page.locator("#view-summary").inner_text() == last_summary
    o.clean()


def test_notebook_displays_draw_in_a_browser(browser, tmp_path):
    k = _busy_machine()
    g = k.gfp
    c = k.find_cache("my_dev") if hasattr(k, "find_cache") else None
    c = c or next(s for s in k.slub.caches if s.name == "my_dev")
    obj = k.kmem_cache_alloc(c, g.GFP_KERNEL)
    slab = k.slub.slab_of[(obj - k.layout.page_offset) >> k.page_shift]
    v = k.vmalloc(3 * k.page_size)
    items = {"kernel": k, "zone": k.page_alloc.zones[1], "cache": c, "slab": slab, "page": k.virt_to_page(obj),
             "vmarea": k.find_vm_area(v), "layout": k.layout, "freearea": explore.free_area(k, "DMA32", 4)}
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"]
    for name, obj_ in items.items():
        parts.append(f"<div class='cell' id='out-{name}'>{obj_._repr_html_()}</div>")
    parts.append("<script>document.documentElement.setAttribute('data-explore-ready','1')</script></body></html>")
    path = tmp_path / "notebook.html"
    path.write_text("".join(parts))
    o = Opened(browser, path)
    page = o.page
    for name in items:
        out = page.locator(f"#out-{name}")
        assert out.locator(".kx[data-kx-ready='1']").count() == 1, name
        assert out.locator("svg, canvas").count() >= 1, name
        shot(out, f"notebook-{name}.png")
    assert "struct page of pfn" in page.locator("#out-page").inner_text()
    assert page.locator("#out-slab .slabdetail").count() == 1
    assert "free_area[4] of zone DMA32" in page.locator("#out-freearea").inner_text()
    o.clean()
