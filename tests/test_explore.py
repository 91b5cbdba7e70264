"""kmemsim.explore without a browser: the snapshot says what the model holds, the timeline's
patches rebuild every sample, the page and the notebook fragments carry their data safely,
and ``kmemsim explore`` writes pages and refuses bad input with a clear error."""
from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

import kmemsim
from kmemsim.cli.main import main
from kmemsim.explore import jupyter, render, state, timeline
from kmemsim.explore.state import KINDS, snapshot


def _machine(profile: str = "linux-6.18-x86_64", ram: str = "1G"):
    k = kmemsim.boot(profile, ram=ram)
    g = k.gfp
    c = k.kmem_cache_create("my_dev", 72, 0, k.slab_flags.SLAB_RED_ZONE)
    objs = [k.kmem_cache_alloc(c, g.GFP_KERNEL) for _ in range(7)]
    ks = [k.kmalloc(100, g.GFP_KERNEL) for _ in range(40)]
    for p in ks[::3]:
        k.kfree(p)
    v = k.vmalloc(5 * k.page_size)
    blk = k.get_free_pages(g.GFP_KERNEL, 4)
    return k, c, objs, ks, v, blk


def _runs(snap):
    r = snap["pages"]["runs"]
    return [tuple(r[i:i + 4]) for i in range(0, len(r), 4)]


def _run_at(snap, pfn):
    for s, n, kind, det in _runs(snap):
        if s <= pfn < s + n:
            return KINDS[kind], det
    raise AssertionError(pfn)


@pytest.mark.parametrize("profile,ram", [("linux-6.18-x86_64", "1G"), ("linux-2.6-i386", "1G"),
                                         ("linux-2.6-i386", "160M")])
def test_the_snapshot_holds_what_the_model_holds(profile, ram):
    k, c, objs, ks, v, blk = _machine(profile, ram)
    snap = snapshot(k)
    json.dumps(snap)  # JSON-able
    assert snap["schema"] == "kmemsim-explore/1"
    assert snap["machine"]["max_pfn"] == k.max_pfn and snap["machine"]["slab_allocator"] == "SLUB"
    runs = _runs(snap)
    # the runs cover every pfn below max_pfn once, in order
    pos = 0
    for s, n, _kind, _det in runs:
        assert s == pos and n > 0
        pos = s + n
    assert pos == k.max_pfn
    pages = snap["summary"]["pages"]
    assert pages["free"] == sum(z.free_pages for z in k.page_alloc.zones)
    assert pages["unaccounted"] == 0
    assert pages["slab"] == sum(s.nr_slabs << s.order for s in k.slub.caches)
    # each page says who holds it
    shift, po = k.page_shift, k.layout.page_offset
    assert _run_at(snap, (objs[0] - po) >> shift) == ("slab", snap["names"]["cache"].index("my_dev"))
    area = k.find_vm_area(v)
    assert all(_run_at(snap, p)[0] == "vmalloc" for p in area.pfns)
    assert _run_at(snap, (blk - po) >> shift) == ("allocated", 4)
    for pfn, (order, mt) in k.page_alloc.zones[0].buddy.items():
        assert _run_at(snap, pfn) == ("free", order | mt << 4)
    assert all(_run_at(snap, p)[0] == "pagetable" for p in k.vmalloc_impl.pt.tables)
    # zones: free blocks per order and migratetype
    for z, zs in zip(k.page_alloc.zones, snap["zones"], strict=True):
        assert zs["nr_free"] == z.nr_free and [sum(row) for row in zs["free"]] == z.nr_free
        assert zs["watermark"]["min"] == z.watermark[0]
    # vmalloc areas with their pages
    a = next(x for x in snap["vmalloc"]["areas"] if int(x["addr"], 16) == v)
    assert sum(n for _s, n in a["pages"]) == 5 == a["nr_pages"]
    assert [p for s, n in a["pages"] for p in range(s, s + n)] == area.pfns
    # the layout's regions as hex strings
    assert snap["layout"]["fields"]["page_offset"] == hex(k.layout.page_offset)


def test_each_slab_lists_its_free_objects_in_the_order_allocation_takes_them():
    k, c, *_ = _machine()
    g = k.gfp
    cache = k.kmalloc_cache_for(100, g.GFP_KERNEL) if hasattr(k, "kmalloc_cache_for") else \
        k.slab.kmalloc_cache_for(100, g.GFP_KERNEL)
    names = state.Names()
    cs = state.cache_state(k, cache, names)
    cpu = next(li for li in cs["lists"] if li["kind"] == "cpu")["slabs"][0]
    free = cpu["cfree"] + cpu["free"]
    assert len(free) == cpu["n"] - (cpu["n"] - len(free))
    base = int(cpu["addr"], 16) + cache.red_left_pad
    # the next allocations take the CPU freelist from its head
    for idx in cpu["cfree"][:5]:
        assert k.kmalloc(100, g.GFP_KERNEL) == base + idx * cache.size
    # objects in use + free = objects per slab, for every slab
    cs = state.cache_state(k, cache, names)
    for li in cs["lists"]:
        for sl in li["slabs"]:
            nfree = len(sl["free"]) + len(sl.get("cfree", []))
            assert sl["n"] - nfree == (sl["inuse"] if li["kind"] != "cpu" else sl["n"] - nfree)
    assert cs["active_objects"] + sum(len(sl["free"]) + len(sl.get("cfree", [])) for li in cs["lists"]
                                      for sl in li["slabs"]) == cs["total_objects"]


def test_the_layout_of_an_object_slot_and_a_damaged_red_zone():
    k, c, objs, *_ = _machine()
    segs = state.cache_layout(k, c)
    assert sum(n for _o, n, _k in segs) == c.size
    assert [kind for _o, _n, kind in segs][:3] == ["redzone", "object", "redzone"]
    k.write(objs[2] + c.object_size, b"\x41")  # one byte past the object: its right red zone
    cs = state.cache_state(k, c, state.Names())
    slab = next(sl for li in cs["lists"] for sl in li["slabs"])
    base = int(slab["addr"], 16) + c.red_left_pad
    assert slab["rz_bad"] == [(objs[2] - base) // c.size]


def test_a_corrupted_freelist_is_drawn_not_raised():
    k = kmemsim.boot(on_bug="report")
    g = k.gfp
    x = k.kmalloc(64, g.GFP_KERNEL)
    y = k.kmalloc(64, g.GFP_KERNEL)
    k.kfree(x)
    k.kfree(y)
    k.write(y + 32, b"\xff" * 8)  # a use after free over the free pointer
    snap = snapshot(k)
    cache = next(c for c in snap["slab"]["caches"] if c["name"] == "kmalloc-64")
    assert any("bad" in sl for li in cache["lists"] for sl in li["slabs"])


def test_timeline_patches_rebuild_every_sample():
    k = kmemsim.boot(on_bug="report")
    g = k.gfp
    events = []
    with k.tracing(events):
        held = []
        for i in range(300):
            held.append(k.kmalloc(32 + i % 200, g.GFP_KERNEL))
            if i % 3 == 0:
                k.kfree(held.pop(0))
        held.append(k.get_free_pages(g.GFP_KERNEL, 2))
    fresh = kmemsim.boot(on_bug="report")
    r, tl = timeline.record(fresh, events, every=50)
    assert r.n == len(events) and r.check_error is None
    assert [s[0] for s in tl.samples][:3] == [0, 50, 100] and tl.samples[-1][0] == len(events)
    data = tl.to_json(r, source="made here")
    st = data["samples"][0]["state"]
    for i, item in enumerate(data["samples"][1:], 1):
        assert "state" not in item and item["events"]
        st = timeline.apply(st, item["patch"])
        want = tl.samples[i][3]
        for key in ("zones", "pages", "slab", "vmalloc", "summary"):
            assert st[key] == want[key], (i, key)
    assert len(json.dumps(data)) < 20 * len(json.dumps(data["samples"][0]))  # patches are small
    assert data["samples"][1]["events"][-1].split(": ", 2)[1] in ("kmalloc", "kfree", "mm_page_alloc")


def test_names_from_the_model_cannot_break_out_of_the_page():
    k = kmemsim.boot()
    k.kmem_cache_create("</script><script>alert(1)</script>", 40)
    text = render.page(snapshot(k), "t</title><b>x</b>")
    assert "<script>alert(1)" not in text and "</title><b>" not in text
    data = re.search(r'<script type="application/json" id="kx-app-data">(.*?)</script>', text, re.S).group(1)
    assert json.loads(data)["data"]["slab"]["caches"]
    frag = jupyter.repr_html(k)
    assert frag.count("<script") == 2 and "<script>alert(1)" not in frag


def test_every_model_object_draws_itself_in_jupyter():
    k, c, objs, ks, v, blk = _machine()
    po, shift = k.layout.page_offset, k.page_shift
    slab = k.slub.slab_of[(objs[0] - po) >> shift]
    cases = {
        "all": k, "zone": k.page_alloc.zones[1], "cache": c, "slab": slab, "page": k.virt_to_page(objs[0]),
        "vmarea": k.find_vm_area(v), "layout": k.layout,
    }
    for view, obj in cases.items():
        html = obj._repr_html_()
        assert html and f'"view":"{view}"' in html, view
        assert 'class="kx"' in html and "KX.mountScript" in html
    fa = kmemsim.explore.free_area(k, "DMA32", 3)
    assert '"view":"freearea"' in fa._repr_html_() and "free_area[3] of zone DMA32" in repr(fa)
    with pytest.raises(kmemsim.UsageError, match="no zone 'HighMem'"):
        kmemsim.explore.free_area(k, "HighMem", 3)
    # a cache whose machine is gone from the registry is still found (gc), and a display never raises
    state._MACHINES.clear()
    assert '"view":"cache"' in c._repr_html_()
    assert jupyter.repr_html(object()) is None


# ---------------------------------------------------------------------------- the command


def run(*args, **kw):
    return CliRunner().invoke(main, list(args), **kw)


def test_explore_writes_a_page_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "k.html"
    res = run("explore", "-o", str(out), "--profile", "linux-2.6-i386", "--ram", "160M")
    assert res.exit_code == 0, res.output
    text = out.read_text()
    # the title names the profile by its own name (linux-2.6-i386 is its alias)
    assert "<title>kmemsim explore: linux-2.6.24-i386, 160 MiB</title>" in text and "KX.mountScript" in text
    res = run("explore", "-o", str(out))
    assert res.exit_code == 1 and "already exists (use --force" in res.output
    assert run("explore", "-o", str(out), "--force").exit_code == 0
    assert "linux-6.18-x86_64" in out.read_text()


def test_explore_with_a_trace_has_a_timeline(tmp_path):
    trace = tmp_path / "t.txt"
    k = kmemsim.boot()
    lines: list[str] = []
    with k.tracing(lines.append):
        ps = [k.kmalloc(64 + i, k.gfp.GFP_KERNEL) for i in range(120)]
        for p in ps[::2]:
            k.kfree(p)
    trace.write_text("\n".join(lines) + "\n")
    out = tmp_path / "t.html"
    res = run("explore", "--trace", str(trace), "-o", str(out), "--every", "40")
    assert res.exit_code == 0, res.output
    payload = json.loads(re.search(r'id="kx-app-data">(.*?)</script>', out.read_text(), re.S).group(1))
    tl = payload["data"]["timeline"]
    n = len(lines)
    assert tl["source"] == "t.txt" and tl["events"] == n > 160
    assert [s["n"] for s in tl["samples"]] == [0, 40, 80, 120, 160, n]


@pytest.mark.parametrize("args,message", [
    (["--trace", "/nonexistent/trace.txt"], "/nonexistent/trace.txt"),
    (["--host", "x.tar.gz"], "--host needs --trace"),
    (["--trace", "{trace}", "--host", "/nonexistent/snap.tar.gz"], "/nonexistent/snap.tar.gz"),
    (["--every", "0", "--trace", "{trace}"], "--every"),
    (["--ram", "12Q"], "12Q"),
    (["--set", "nonsense_tunable=1"], "nonsense_tunable"),
    (["-o", "{dir}"], "is a directory"),
    (["--trace", "{bad}"], "bad.txt"),
])
def test_explore_bad_input_is_a_clear_error(tmp_path, args, message):
    trace = tmp_path / "t.txt"
    trace.write_text("")
    bad = tmp_path / "bad.txt"
    bad.write_text("this is not a trace line at all\n")
    args = [a.format(trace=trace, dir=tmp_path, bad=bad) for a in args]
    if "-o" not in args:
        args += ["-o", str(tmp_path / "out.html")]
    res = run("explore", *args)
    assert res.exit_code in (1, 2), res.output
    assert message in res.output and "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_page_cache_and_anonymous_pages_are_told_apart():
    k = kmemsim.boot(ram="256M")
    k.page_cache_add("/var/log/syslog", 64 * k.page_size)
    proc = k.spawn_process("postgres", "2M")
    snap = snapshot(k)
    pages = snap["summary"]["pages"]
    assert pages["pagecache"] == k.find_file("/var/log/syslog").nrpages > 0
    assert pages["anon"] == 512 and pages["unaccounted"] == 0
    assert proc in k.processes


def test_a_zone_without_its_machine_still_draws_its_free_blocks():
    from kmemsim.mm.mmzone import Zone

    z = Zone(0, "DMA", 0, 4096)
    z.add_to_free_list(1024, 10, 1, tail=True)
    z.add_to_free_list(512, 9, 1, tail=True)
    html = z._repr_html_()
    assert '"view":"zone"' in html and '"runs":[512,512,2,25,1024,1024,2,26]' in html
