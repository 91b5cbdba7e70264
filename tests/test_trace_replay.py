"""Replay of kmem traces into the model (kmemsim.trace.replay) and the replay command.

The issue's "Done when": the project's real ftrace capture of the reference host
(tests/data/host-6.18/kmem-trace.txt.gz), replayed on the snapshot of the same host
and boot (tests/data/host-6.18/snapshot.tar.gz), gives ``bytes_alloc mismatches: 0``
and a clean ``k.check()``.
"""
from __future__ import annotations

import gzip
import io
import random
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import DATA

import kmemsim
from kmemsim.cli.trace_cmd import register_replay
from kmemsim.trace import TraceFormatError, TraceReader
from kmemsim.trace.replay import Replay, ReplayOptions, boot_machine, parse_sets, replay

HOST = DATA / "host-6.18"
TRACE = HOST / "kmem-trace.txt.gz"
SNAP = HOST / "snapshot.tar.gz"
PERF = DATA / "trace" / "perf-script.txt.gz"
HANDMADE = DATA / "trace" / "handmade"

HEAD = "{comm:>16}-{pid:<6} [{cpu:03d}] ..... {t}: "


def line(event: str, fields: str, cpu: int = 0, t: str = "100.000001", comm: str = "sh", pid: int = 7) -> str:
    return HEAD.format(comm=comm, pid=pid, cpu=cpu, t=t) + f"{event}: {fields}"


def kmalloc(ptr: int, req: int, alloc: int, gfp: str = "GFP_KERNEL", cpu: int = 0, site: str = "f+0x1/0x10") -> str:
    return line("kmalloc", f"call_site={site} ptr={ptr:016x} bytes_req={req} bytes_alloc={alloc} "
                f"gfp_flags={gfp} node=-1 accounted=false", cpu)  # fmt: skip


def cache_alloc(ptr: int, name: str | None, req: int, alloc: int, cpu: int = 0, gfp: str = "GFP_KERNEL") -> str:
    nm = f" name={name}" if name else ""
    return line("kmem_cache_alloc", f"call_site=g+0x1/0x10 ptr={ptr:016x}{nm} bytes_req={req} bytes_alloc={alloc} "
                f"gfp_flags={gfp} node=-1 accounted=false", cpu)  # fmt: skip


def kfree(ptr: int, cpu: int = 0, event: str = "kfree", name: str | None = None) -> str:
    nm = f" name={name}" if name else ""
    return line(event, f"call_site=h+0x1/0x10 ptr={ptr:016x}{nm}", cpu)


def page_alloc(pfn: int, order: int, gfp: str = "GFP_KERNEL", mt: int = 0, cpu: int = 0) -> str:
    return line("mm_page_alloc", f"page={0xffffea0000000000 + pfn * 64:016x} pfn=0x{pfn:x} order={order} "
                f"migratetype={mt} gfp_flags={gfp}", cpu)  # fmt: skip


def page_free(pfn: int, order: int, cpu: int = 0) -> str:
    return line("mm_page_free", f"page={0xffffea0000000000 + pfn * 64:016x} pfn=0x{pfn:x} order={order}", cpu)


@pytest.fixture(scope="module")
def host_replay() -> Replay:
    return replay(TRACE, host=SNAP)


# ---------------------------------------------------------------------------- the real capture


def test_real_capture_on_its_hosts_snapshot_has_no_mismatch_and_checks_clean(host_replay):
    r = host_replay
    assert r.mismatches == 0 and r.mismatch_examples == []
    assert r.check_error is None
    r.k.check()
    text = r.summary()
    assert "\nbytes_alloc mismatches: 0\n" in text
    assert "k.check(): clean" in text
    # every event of the capture was seen; allocations all replayed
    assert r.n == 35576 == sum(r.events.values())
    assert r.placed["kmem_cache_alloc"] == r.events["kmem_cache_alloc"] == 5885
    assert r.placed["kmalloc"] + r.duplicates == r.events["kmalloc"]
    assert not r.unplaced and not r.model_failed and not r.bugs


def test_real_capture_what_the_kernel_did_that_the_trace_does_not_show(host_replay):
    r = host_replay
    # objects and pages allocated before tracing began
    assert r.preexisting == {"kfree": 12, "kmem_cache_free": 10, "mm_page_free": 28}
    assert r.null_frees == 902
    # 6.18 traces a variable-size kmalloc above 8 KiB twice (__kmalloc_large_node_noprof, __do_kmalloc_node)
    assert r.duplicates == 2
    # maple nodes freed without a kmem_cache_free event (kfree_rcu / bulk frees): the address comes back
    assert r.implied_by["maple_node"] > 50
    # slab pages and large kmallocs in the trace are the model's SLUB's own business
    assert r.slab_pages_skipped == 12 and r.slab_page_frees == 2


def test_page_events_take_the_pcp_fast_path_and_end_as_the_general_path_does(host_replay):
    """Replay allocates the trace's pages with k.pages.alloc_pfn (mm/fastpath.py) while
    get_free_pages' fast path is in its slot: the same machine as with every fast path
    suspended (the general __alloc_pages() for every page event)."""
    k = boot_machine(host=SNAP)
    k.dispatch.suspend("test")
    slow = Replay(k)
    assert slow.k.dispatch.active("get_free_pages") == "general"
    slow.feed(TraceReader(TRACE)).finish()
    fast = host_replay
    assert fast.k.pages.alloc_pfn is not None and fast.k.dispatch.active("get_free_pages") == "fast"
    assert slow.summary(top=-1) == fast.summary(top=-1)
    assert slow.samples == fast.samples
    for name in ("buddyinfo", "pagetypeinfo", "zoneinfo", "vmstat"):
        assert slow.k.proc(name) == fast.k.proc(name), name


def test_real_capture_caches_come_from_the_snapshot(host_replay):
    made = host_replay.caches_made
    assert made["maple_node"] == "from the host's /sys/kernel/slab/maple_node"
    assert made["anon_vma_chain"] == "from the host's /sys/kernel/slab/:A-0000064"
    assert made["vm_area_struct"] == "from the host's /sys/kernel/slab/vm_area_struct"
    # caches the host did not merge are not merged in the model either (sheaves, usercopy)
    assert not any("merged" in how for how in made.values())
    c = host_replay.k.find_cache("vm_area_struct")
    assert c.size == 192  # freeptr_offset=0 (mm/vma_init.c), which sysfs does not show


def test_real_capture_samples(host_replay):
    s = host_replay.samples
    assert len(s) == 36  # every 1000 events and the end
    assert [x.events for x in s[:3]] == [1000, 2000, 3000] and s[-1].events == 35576
    assert all(a.ts <= b.ts for a, b in zip(s, s[1:], strict=False))
    last = s[-1]
    assert last.slab_pages == sum(last.caches.values()) > 100
    assert 0 < last.utilisation <= 1 and last.slab_active <= last.slab_objects
    assert set(last.extfrag) == {"DMA", "DMA32", "Normal"} and len(last.free_blocks) == 11
    assert all(-1000 <= v <= 1000 for z in last.extfrag.values() for v in z)


def test_perf_script_of_the_same_boot():
    # perf script prints real pointers: slab pages are told by the object inside them
    r = replay(PERF, host=SNAP)
    assert r.mismatches == 0 and r.check_error is None
    assert r.preexisting["kmem_cache_free"] > 300
    assert not r.unplaced


@pytest.mark.parametrize("name", ["events-6.18.txt", "pre-6.1-5.x.txt", "pre-6.1-2.6.txt"])
def test_handmade_traces_of_every_era(name):
    r = replay(HANDMADE / name)
    assert r.check_error is None and r.mismatches == 0
    assert r.n == sum(r.events.values()) > 5


# ---------------------------------------------------------------------------- mapping and counting


def test_pointers_map_to_model_objects_on_the_traced_cpu(k):
    text = [kmalloc(0xA1, 100, 128, cpu=1), cache_alloc(0xB1, "dentry", 192, 192, cpu=0),
            kfree(0xA1, cpu=0), kfree(0xB1, cpu=1, event="kmem_cache_free", name="dentry")]  # fmt: skip
    r = Replay(k)
    seen = []
    real_kmalloc = k.kmalloc
    k.kmalloc = lambda size, gfp: seen.append(k.cpu) or real_kmalloc(size, gfp)  # type: ignore[method-assign]
    r.feed(TraceReader(text))
    del k.kmalloc
    assert seen == [1]
    assert r.placed == {"kmalloc": 1, "kmem_cache_alloc": 1, "kfree": 1, "kmem_cache_free": 1}
    assert r.caches_made == {"dentry": "inferred from bytes_req=192 bytes_alloc=192"}
    assert r.objs == {} and k.cpu == 0
    r.finish()


def test_a_cpu_the_machine_lacks_runs_on_cpu_modulo():
    k = kmemsim.boot(cpus=2)
    r = Replay(k)
    r.feed(TraceReader([kmalloc(0xA1, 8, 8, cpu=5)]))
    sl, _ = k.slub.object_of(r.objs[0xA1])
    assert k.find_cache("kmalloc-8").cpu_slab[1].slab is sl
    r.finish()


def test_mismatches_are_counted_with_examples(k):
    text = [kmalloc(0x10 + i, 100, 96) for i in range(8)] + [cache_alloc(0x99, "kmalloc-64", 64, 72)]
    r = Replay(k, options=ReplayOptions(examples=3)).feed(TraceReader(text)).finish()
    assert r.mismatches == 9 and len(r.mismatch_examples) == 3
    m = r.mismatch_examples[0]
    assert (m.traced, m.model, m.bytes_req) == (96, 128, 100)
    assert "bytes_alloc mismatches: 9\n  kmalloc bytes_req=100 gfp_flags=GFP_KERNEL: traced bytes_alloc=96, " \
           "the model gives 128" in r.summary()


def test_what_cannot_be_placed_is_counted_never_raised(k):
    text = [
        kfree(0x5), kfree(0, event="kfree"),  # allocated before the trace; kfree(NULL)
        page_free(0x1234, 0),  # a page the trace never allocated
        kmalloc(0, 64, 64),  # a failed allocation (NULL)
        page_alloc(0x500, 2, "GFP_KERNEL|__GFP_COMP"), page_free(0x500, 3),  # freed with a larger order
        page_alloc(0x600, 0), page_alloc(0x600, 0),  # allocated twice: a free was lost
        kmalloc(0x77, 64, 64), kmalloc(0x77, 64, 64),  # the same for an object
        line("mm_page_alloc", "page=0000000000000000 pfn=0x0 order=0 migratetype=0 gfp_flags=GFP_KERNEL"),
        kmalloc(0x88, 64, 64, gfp="__GFP_NO_SUCH_FLAG"),
        line("mm_page_free_batched", "page=ffffea0000000000 pfn=0x1 order=0"),
        "CPU:1 [LOST 17 EVENTS]",
    ]
    r = Replay(k).feed(TraceReader(text)).finish()
    assert r.preexisting == {"kfree": 1, "mm_page_free": 1}
    assert r.null_frees == 1
    assert r.trace_failed == {"kmalloc": 1, "mm_page_alloc": 1}
    assert r.unplaced == {("mm_page_free", "order 3 free of a block allocated with order 2"): 1,
                          ("kmalloc", "gfp_flags=__GFP_NO_SUCH_FLAG are not this machine's"): 1}  # fmt: skip
    assert r.implied_frees == 2 and r.implied_by == {"pages": 1, "kmalloc": 1}
    assert r.ignored == {"mm_page_free_batched": 1}
    assert (r.lost_markers, r.lost_events) == (1, 17)
    assert r.check_error is None
    out = r.summary()
    assert "events not placed: 2" in out and "lost events: 17 in 1 markers" in out


def test_a_split_block_is_freed_page_by_page(k):
    text = [page_alloc(0x800, 2, "GFP_KERNEL")] + [page_free(0x800 + i, 0) for i in (1, 0, 3, 2)]
    r = Replay(k).feed(TraceReader(text)).finish()
    assert r.placed["mm_page_free"] == 4 and not r.unplaced and r.pages == {}


def test_a_large_kmalloc_traced_twice_is_one_allocation(k):
    text = [
        page_alloc(0x900, 2, "GFP_KERNEL|__GFP_COMP"),
        kmalloc(0xC0, 16384, 16384, site="__kmalloc_node_track_caller_noprof+0x4e9/0x6e0"),
        kmalloc(0xC0, 16384, 16384, site="__alloc_skb+0x80/0x1a0"),
        kfree(0xC0),
        page_free(0x900, 2),
    ]
    r = Replay(k).feed(TraceReader(text)).finish()
    assert r.duplicates == 1 and r.slab_pages_skipped == 1 and r.slab_page_frees == 1
    assert r.placed == {"kmalloc": 1, "kfree": 1} and k.slab.large == {}


def test_slab_pages_are_told_apart_by_their_flags_with_hashed_pointers(k):
    text = [
        # 6.18 new_slab(): __GFP_NOWARN | __GFP_NORETRY, before the kmalloc it serves
        page_alloc(0x1000, 0, "GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP"), kmalloc(0xD1, 59, 64),
        # a page table page (__GFP_ZERO, __GFP_ACCOUNT) before a kmem_cache_alloc: not a slab's
        page_alloc(0x1001, 0, "GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP"), cache_alloc(0xD2, "kmalloc-64", 64, 64),
        # a user page (movable) before a kmalloc: not a slab's
        page_alloc(0x1002, 0, "GFP_HIGHUSER_MOVABLE|__GFP_COMP", mt=1), kmalloc(0xD3, 59, 64),
        # __GFP_NOFAIL never reaches a slab's first try
        page_alloc(0x1003, 0, "GFP_NOFS|__GFP_NOFAIL|__GFP_COMP"), kmalloc(0xD4, 59, 64),
        # the next allocation of *this* CPU decides, not another CPU's
        page_alloc(0x1004, 0, "GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY|__GFP_COMP", cpu=1), kmalloc(0xD5, 59, 64),
        page_alloc(0x1005, 0, "GFP_KERNEL", cpu=1),
    ]
    r = Replay(k).feed(TraceReader(text)).finish()
    assert r.slab_pages_skipped == 1 and set(r.slab_page_pfns) == {0x1000}
    assert set(r.pages) == {0x1001, 0x1002, 0x1003, 0x1004, 0x1005}


def test_slab_pages_are_told_by_the_object_inside_with_real_pointers(k):
    po = k.layout.page_offset
    text = [
        page_alloc(0x2000, 0, "GFP_KERNEL"), kmalloc(po + 0x2000 * 4096 + 64, 59, 64),  # inside: the slab's
        page_alloc(0x3000, 0, "GFP_KERNEL|__GFP_NOWARN|__GFP_NORETRY"), kmalloc(po + 0x4000 * 4096, 59, 64),
    ]
    r = Replay(k).feed(TraceReader(text)).finish()
    assert set(r.slab_page_pfns) == {0x2000} and set(r.pages) == {0x3000}


def test_host_snapshot_geometry_without_booting_from_it(k):
    from kmemsim.snapshot import load

    r = Replay(k, host=load(SNAP))
    r.feed(TraceReader([cache_alloc(0xE1, "anon_vma", 96, 104), cache_alloc(0xE2, "task_struct", 5888, 5888)]))
    assert r.caches_made["anon_vma"] == "from the host's /sys/kernel/slab/anon_vma"
    assert k.find_cache("anon_vma").ctor is not None  # its ctor moves the free pointer out: 96 -> 104
    assert r.mismatches == 0
    r.finish()


def test_a_26_machine_replays_618_flags(k32):
    text = [kmalloc(0xF1, 100, 128, gfp="GFP_KERNEL|__GFP_ACCOUNT"), page_alloc(0x100, 0, "GFP_HIGHUSER_MOVABLE", mt=1),
            kfree(0xF1), page_free(0x100, 0)]  # fmt: skip
    r = Replay(k32).feed(TraceReader(text)).finish()
    assert r.placed == {"kmalloc": 1, "kfree": 1, "mm_page_alloc": 1, "mm_page_free": 1}
    assert r.gfp("GFP_KERNEL|__GFP_ACCOUNT") == k32.gfp.value("GFP_KERNEL")  # no __GFP_ACCOUNT in 2.6.24


def test_sampling_by_time_and_thinning():
    k = kmemsim.boot()
    text = [kmalloc(0x100 + i, 64, 64) for i in range(50)]
    text = [t.replace("100.000001", f"100.{i * 1000:06d}") for i, t in enumerate(text)]
    r = Replay(k, options=ReplayOptions(sample_interval=0.005)).feed(TraceReader(text)).finish()
    assert [s.events for s in r.samples][:3] == [6, 11, 16] and r.samples[-1].events == 50
    opts = ReplayOptions(sample_every=1, max_samples=10)
    r2 = Replay(kmemsim.boot(), options=opts).feed(TraceReader(text)).finish()
    assert len(r2.samples) <= 11 and r2.opts.sample_every > 1
    # the replay thinned its own copy: the caller's options sample a second replay as the first
    assert opts.sample_every == 1
    r3 = Replay(kmemsim.boot(), options=opts).feed(TraceReader(text)).finish()
    assert r3.samples == r2.samples


def test_fuzzed_traces_give_counts_or_a_clear_error():
    good = gzip.open(TRACE, "rt").read().splitlines()[12:400]
    rng = random.Random(1)
    for trial in range(12):
        lines = list(good)
        for _ in range(20):
            i = rng.randrange(len(lines))
            op = rng.randrange(4)
            if op == 0:
                lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]  # truncated
            elif op == 1:
                lines.insert(rng.randrange(len(lines)), lines[i])  # duplicated
            elif op == 2:
                j = rng.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]  # reordered
            else:
                s = list(lines[i])
                if s:
                    s[rng.randrange(len(s))] = chr(rng.randrange(32, 127))  # garbled
                lines[i] = "".join(s)
        k = kmemsim.boot()
        r = Replay(k)
        try:
            r.feed(TraceReader(lines, lenient=trial % 2 == 0))
        except TraceFormatError as e:
            assert trial % 2 == 1 and ":" in str(e)
            continue
        r.finish()
        assert r.check_error is None


def test_parse_sets_and_boot_machine():
    assert parse_sets(["slab_nomerge=1", "cpus=4", "ram=2G"]) == ({"slab_nomerge": "1"}, {"cpus": 4, "ram": "2G"})
    with pytest.raises(kmemsim.UsageError, match="NAME=VALUE"):
        parse_sets(["oops"])
    with pytest.raises(kmemsim.UsageError, match="cannot boot"):
        boot_machine(host=SNAP, profile="linux-2.6-i386")
    k = boot_machine(profile="linux-2.6-i386", ram="256M")
    assert k.on_bug == "report" and k.profile.name == "linux-2.6.24-i386"


def test_finish_once_and_no_feed_after(k):
    r = Replay(k).feed([]).finish()
    assert len(r.samples) == 1 and r.samples[0].events == 0
    with pytest.raises(kmemsim.UsageError, match="finished"):
        r.feed([])


# ---------------------------------------------------------------------------- the report
# tests/test_report.py (the page) and tests/test_report_browser.py (the page in a browser)


# ---------------------------------------------------------------------------- the command


@click.group()
def cli() -> None:
    pass


register_replay(cli)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_replay_command(tmp_path: Path):
    out = tmp_path / "r.html"
    res = run("replay", str(TRACE), "--host", str(SNAP), "--report", str(out), "--top", "5")
    assert res.exit_code == 0, res.output
    assert "\nbytes_alloc mismatches: 0\n" in res.output
    assert "Trace: 35592 lines, format ftrace" in res.output
    # the caches the trace uses start where the snapshot's were: more caches have slabs
    assert "k.check(): clean" in res.output and "... 56 more caches" in res.output
    assert "\nslab pages allocated: trace 10, model 7 (model/trace 0.70)\n" in res.output
    assert out.read_text().startswith("<!DOCTYPE html>")


def test_replay_command_options_and_errors(tmp_path: Path):
    res = run("replay", str(HANDMADE / "events-6.18.txt"), "--profile", "linux-2.6-i386", "--set", "ram=256M",
              "--every", "2")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Replay on linux-2.6.24-i386, 256 MiB" in res.output
    res = run("replay", str(TRACE), "--host", str(SNAP), "--profile", "linux-2.6-i386")
    assert res.exit_code != 0 and "cannot boot linux-2.6-i386" in res.output
    res = run("replay", str(TRACE), "--set", "nonsense")
    assert res.exit_code != 0 and "NAME=VALUE" in res.output
    res = run("replay", str(TRACE), "--set", "no_such_tunable=1")
    assert res.exit_code != 0
    bad = tmp_path / "bad.txt"
    bad.write_text(kmalloc(0x1, 8, 8) + "\nthis is not a trace line\n")
    res = run("replay", str(bad))
    assert res.exit_code != 0 and "bad.txt:2" in res.output
    res = run("replay", "--lenient", str(bad))
    assert res.exit_code == 0 and "malformed lines skipped: 1" in res.output
    res = run("replay", "--every", "-1", str(bad))
    assert res.exit_code != 0


def test_replay_reads_stdin():
    res = CliRunner().invoke(cli, ["replay", "-"], input="\n".join([kmalloc(0x1, 8, 8), kfree(0x1)]) + "\n")
    assert res.exit_code == 0, res.output
    assert "kmalloc                              1  replayed         1" in res.output


def test_main_has_the_commands():
    from kmemsim.cli.main import main

    assert {"replay", "compare", "stat", "record"} <= set(main.list_commands(None))  # type: ignore[arg-type]


def test_replay_of_records_and_streams(k):
    recs = list(TraceReader([kmalloc(0x1, 8, 8)]))
    r = replay(recs, k=k)
    assert r.placed == {"kmalloc": 1} and r.parse_stats is None
    r2 = replay(io.StringIO(kmalloc(0x2, 8, 8) + "\n"), k=kmemsim.boot())
    assert r2.parse_stats.format == "ftrace"


def test_pages_held_are_counted_as_the_map_changes(k):
    text = [page_alloc(0x800, 2), page_alloc(0x900, 0), page_free(0x801, 0), page_alloc(0x900, 1),
            page_free(0x900, 1), page_alloc(0xA00, 3, "GFP_KERNEL|__GFP_COMP")]  # fmt: skip
    r = Replay(k).feed(TraceReader(text)).finish()
    assert r.final.replay_pages == sum(1 << (v & 15) for v in r.pages.values()) == 3 + 8


def test_no_check_says_nothing_about_the_check(k):
    r = Replay(k).feed([]).finish(check=False)
    assert "k.check()" not in r.summary() and not r.checked


def test_a_replay_from_a_host_snapshot_never_loads_numpy():
    """Boot, replay and check read the few materialised struct page sections in pure Python."""
    import subprocess
    import sys

    host = DATA / "host-6.18"
    code = ("import sys; from kmemsim.trace.replay import replay; "
            f"r = replay({str(host / 'kmem-trace.txt.gz')!r}, host={str(host / 'snapshot.tar.gz')!r}); "
            "print(r.k.memmap.materialised_sections(), 'numpy' in sys.modules)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [out[0], "False"] and 0 < int(out[0]) <= 8


def test_feed_puts_the_collector_s_threshold_back_even_when_the_input_is_bad(tmp_path):
    import gc

    before = gc.get_threshold()
    r = replay(DATA / "host-6.18" / "kmem-trace.txt.gz", profile="linux-6.18-x86_64", ram="1G")
    assert r.n > 0 and gc.get_threshold() == before
    bad = tmp_path / "bad.txt"
    good = gzip.open(DATA / "host-6.18" / "kmem-trace.txt.gz", "rt").read().splitlines(keepends=True)
    bad.write_text("".join(good[:9000]) + "this is not a trace line\n" + "".join(good[9000:]))
    with pytest.raises(TraceFormatError):
        replay(bad, profile="linux-6.18-x86_64", ram="1G")
    assert gc.get_threshold() == before


@pytest.mark.parametrize("profile", ["linux-6.18-x86_64", "linux-6.6-x86_64", "linux-2.6.24-i386",
                                     "linux-2.6.11-i386"])  # fmt: skip
def test_the_kmalloc_tables_are_kmalloc_size_by_size(profile):
    """Replay's per-mask tables (made a kmalloc_index() run at a time): kmalloc_cache_for() of
    every size up to the traced kernel's largest kmalloc cache, and its object size."""
    r = Replay(kmemsim.boot(profile))
    slab = r.k.slab
    for text in ("GFP_KERNEL", "GFP_ATOMIC", "GFP_KERNEL|__GFP_ZERO"):
        mask, table = r._kmalloc_gfp(text)
        assert mask == r.gfp(text) and len(table) == r.max_cache + 1
        for size in range(r.max_cache + 1):
            kc = slab.kmalloc_cache_for(size, mask) if size else None
            assert table[size] == (kc.size if kc is not None else 0), size
            assert r._kmalloc_cache_for(size, mask) is slab.kmalloc_cache_for(size, mask), size


def test_a_samples_zone_indices_follow_the_free_lists():
    """sample() keeps each zone's indices from its last sample while its free counts are the same:
    at every step of a replay they are zone_indices() of the zone now, the counts having moved."""
    from kmemsim.mm.vmstat import zone_indices

    d = DATA / "corpus" / "tmpfs-pagecache"
    r = Replay(kmemsim.boot(host=d / "snapshot.tar.gz"), options=ReplayOptions(sample_every=0))
    events = list(TraceReader(d / "perf-script.txt.gz"))
    nord = r.pa.max_order + 1
    counts = set()
    for i in range(0, len(events), 500):
        r.feed(events[i : i + 500])
        s = r.sample()
        for z in r.pa.zones:
            if z.populated:
                assert (s.extfrag[z.name], s.unusable[z.name]) == zone_indices(z, nord), (i, z.name)
                counts.add((z.name, tuple(z.nr_free)))
    assert len(counts) > 10  # (the free lists moved between samples)


def test_a_samples_zone_indices_change_with_the_free_lists():
    from kmemsim.mm.vmstat import zone_indices

    k = kmemsim.boot("linux-6.18-x86_64", ram="128M")
    r = Replay(k, options=ReplayOptions(sample_every=0))
    first = r.sample()
    held = []
    for order in (10, 9, 8, 7):
        while True:
            pfn = r.pa.alloc(0, order)  # (GFP_NOWAIT-like: fails instead of reclaiming)
            if pfn < 0 or len(held) > 40:
                break
            held.append((pfn, order))
    second = r.sample()
    nord = r.pa.max_order + 1
    for z in r.pa.zones:
        if z.populated:
            assert (second.extfrag[z.name], second.unusable[z.name]) == zone_indices(z, nord)
    assert second.unusable != first.unusable
