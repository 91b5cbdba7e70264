"""The compiled replay core (kmemsim.trace._kmemreplay, built when a C compiler is there) gives
exactly the replay the pure-Python loop gives: the whole summary, the JSON document, the slab
pages table, the model's state and k.check(), on the corpus' traces (a few by default, every one
of them in the slow run, with and without a host snapshot, on other profiles, with the early
frees and samples by time), and as a hypothesis property over random event sequences.  Without
the compiled module the comparisons are skipped; the engine selection tests still run."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import kmemsim
from kmemsim.errors import UsageError
from kmemsim.trace.replay import Replay, ReplayOptions, compiled_core, replay
from kmemsim.trace.replay_output import replay_document
from kmemsim.tracepoints.events import Lost, PageAlloc, PageFree, SlabAlloc, SlabFree

CORPUS = DATA / "corpus"
DIRS = sorted(p for p in CORPUS.iterdir() if (p / "snapshot.tar.gz").exists())
BIG = Path("/work/corpus-big")
needs_core = pytest.mark.skipif(not compiled_core(), reason="the compiled replay core was not built")


def state(r: Replay) -> str:
    """Everything a replay shows, and the model state behind it."""
    try:
        r.k.check()
        chk = "clean"
    except kmemsim.KmemsimError as e:
        chk = f"FAILED {e}"
    r.checked = True
    counters = {name: sorted(getattr(r, name).items(), key=repr) for name in (
        "events", "placed", "preexisting", "unplaced", "trace_failed", "model_failed", "ignored", "implied_by",
        "trace_slab_pages", "bugs")}
    return "\n".join([
        r.summary(parse_stats=r.parse_stats),
        json.dumps(replay_document(r, r.parse_stats), default=str),
        repr(r.slab_pages_table(-1)),
        repr(list(r.events)), repr(list(r.placed)),  # the Counters' key order too
        repr(counters),
        repr((r.n, r.first_ts, r.last_ts, r.null_frees, r.duplicates, r.implied_frees, r.mismatches, r._held,
              r.slab_pages_skipped, r.slab_page_frees, r.lost_events, r.early_frees, r.preexisting_freed)),
        repr(sorted(r.objs.items())), repr(sorted(r.pages.items())), repr(r._last_alloc_ptr),
        r.k.proc("slabinfo"), r.k.proc("buddyinfo"), repr(r.samples), chk, slub_lists(r.k),
    ])


def slub_lists(k) -> str:
    """Every SLUB slab's state and list, and each cache's CPU slabs and partial lists, in order."""
    if k.slab_impl.name != "slub":
        return ""
    out = [repr(sorted((pfn, sl.cache.name, sl.where, bool(sl.frozen), sl.inuse, sl.freelist)
                       for pfn, sl in k.slub.slab_of.items()))]
    for c in k.slub.caches:
        out.append(repr((c.name, [sl.pfn for sl in c.partial],
                         [(cc.freelist, cc.slab.pfn if cc.slab else None, [sl.pfn for sl in cc.partial])
                          for cc in c.cpu_slab])))
    return "\n".join(out)


def both(trace, **kw) -> tuple[str, Replay]:
    opts = kw.pop("options", None)
    out = {}
    reps = {}
    for engine in ("python", "auto"):  # auto: the core where it runs (not on SLAB: the loop there)
        o = ReplayOptions(**vars(opts)) if opts is not None else None
        r = replay(trace, options=o, engine=engine, check=False, **kw)
        out[engine] = state(r)
        reps[engine] = r
    assert out["auto"] == out["python"]
    return out["python"], reps["auto"]


# ---------------------------------------------------------------------------- the corpus
QUICK = [("git", "perf-script.txt.gz"), ("find-du", "trace.txt.gz")]


@needs_core
@pytest.mark.parametrize("name,trace", QUICK)
def test_the_engines_replay_corpus_traces_alike(name, trace):
    d = CORPUS / name
    _, r = both(d / trace, host=d / "snapshot.tar.gz")
    st = r.core_stats()
    assert st is not None and st["c"] > st["py"]  # the core did most of it


@needs_core
def test_the_engines_agree_without_a_host_and_with_early_frees_and_time_samples():
    d = CORPUS / "tar-gzip"
    both(d / "perf-script.txt.gz", profile="linux-6.18-x86_64")
    both(d / "trace.txt.gz", host=d / "snapshot.tar.gz",
         options=ReplayOptions(early_untraced_frees=True, sample_interval=0.01))


@needs_core
@pytest.mark.slow
@pytest.mark.parametrize("d", DIRS, ids=[d.name for d in DIRS])
def test_the_engines_replay_every_corpus_trace_alike(d):
    for trace in ("trace.txt.gz", "perf-script.txt.gz"):
        if not (d / trace).exists():
            continue
        both(d / trace, host=d / "snapshot.tar.gz")
        both(d / trace, host=d / "snapshot.tar.gz", options=ReplayOptions(early_untraced_frees=True))
        both(d / trace, host=d / "snapshot.tar.gz", options=ReplayOptions(sample_every=0, sample_interval=0.02))
        both(d / trace, profile="linux-6.18-x86_64")
        both(d / trace, profile="linux-2.6.24-i386")
        both(d / trace, profile="linux-6.6-x86_64", tunables={"slab_allocator": "slab"})


BIG_TRACES = [BIG / "big-137k", BIG / "big-mixed"]


@needs_core
@pytest.mark.slow
@pytest.mark.parametrize("d", BIG_TRACES, ids=[d.name for d in BIG_TRACES])
def test_the_engines_replay_the_big_recordings_alike(d):
    if not (d / "trace.txt.gz").exists():
        pytest.skip(f"{d} is not on this machine")
    both(d / "trace.txt.gz", host=d / "snapshot.tar.gz")


# ---------------------------------------------------------------------------- the engine switch
def test_the_python_engine_runs_no_core():
    r = replay(CORPUS / "threads" / "trace.txt.gz", host=CORPUS / "threads" / "snapshot.tar.gz", engine="python")
    assert r.core_stats() is None


def test_a_core_built_from_another_kmemsim_is_refused(monkeypatch):
    """An extension of another interface version is not used: a warning, then the Python loop."""
    import types

    from kmemsim.trace import replay as rmod
    from kmemsim.trace.parse import StaleScannerWarning

    old = types.ModuleType("kmemsim.trace._kmemreplay")
    old.REPLAY_CORE_API = rmod.REPLAY_CORE_API - 1  # type: ignore[attr-defined]
    monkeypatch.setattr(rmod.importlib, "import_module", lambda name: old)
    monkeypatch.delenv("KMEMSIM_NO_EXT", raising=False)
    with pytest.warns(StaleScannerWarning, match="replay core"):
        assert rmod._load_core() is None


def test_an_unknown_engine_is_refused():
    with pytest.raises(UsageError, match="engine"):
        replay([], engine="fast")


@needs_core
def test_no_core_on_slab_or_slob_and_compiled_then_refuses():
    k = kmemsim.boot("linux-6.6-x86_64", ram="128M", on_bug="report", slab_allocator="slab")
    r = Replay(k)
    r.engine = "compiled"
    with pytest.raises(UsageError, match="compiled replay core models SLUB's fast paths; this machine runs SLAB"):
        r.feed([])
    r.engine = "auto"
    r.feed([]).finish()
    assert r.core_stats() is None


@needs_core
def test_the_cli_chooses_the_engine():
    """kmemsim replay --engine: the same text from each; a clear error where the core cannot run."""
    from click.testing import CliRunner

    from kmemsim.cli.main import main

    outs = {e: CliRunner().invoke(main, ["replay", "--example", "--engine", e]) for e in ("python", "compiled")}
    assert all(o.exit_code == 0 for o in outs.values()), {e: o.output[-300:] for e, o in outs.items()}
    assert outs["python"].output == outs["compiled"].output and "bytes_alloc mismatches: 0" in outs["python"].output
    bad = CliRunner().invoke(main, ["replay", "--example", "--profile", "linux-6.6-x86_64", "--set",
                                    "slab_allocator=slab", "--engine", "compiled"])  # fmt: skip
    assert bad.exit_code == 1 and "this machine runs SLAB" in bad.output and "Traceback" not in bad.output


@needs_core
def test_suspended_kmalloc_fast_path_goes_to_python():
    """With kmalloc's fast path out of its slot (here: atomic context's reason) the core hands
    kmalloc events to Python; the replay is the same."""
    evs = _events(40)
    out = {}
    for engine in ("python", "compiled"):
        k = kmemsim.boot(ram="128M", on_bug="report")
        k.dispatch.suspend("test", ("kmalloc",))
        r = Replay(k, options=ReplayOptions(sample_every=7))
        r.engine = engine
        r.feed(evs).finish(check=False)
        out[engine] = state(r)
    assert out["compiled"] == out["python"]


@needs_core
def test_an_error_in_the_core_is_a_kmemsim_error_and_python_errors_pass_through():
    from kmemsim.trace.replay import ReplayCoreError, ReplayInputError

    k = kmemsim.boot(ram="128M", on_bug="report")
    r = Replay(k)
    r.n = 1 << 70  # a count the core cannot hold
    with pytest.raises(ReplayCoreError):
        r.feed(_events(3))
    assert issubclass(ReplayCoreError, kmemsim.KmemsimError)
    evs = _events(5)
    evs.insert(4, evs[0]._replace(gfp_flags="0x80000000"))  # bits no gfp flag has: Python raises
    out = {}
    for engine in ("python", "compiled"):
        r = Replay(kmemsim.boot(ram="128M", on_bug="report"))
        r.engine = engine
        with pytest.raises(ReplayInputError) as e:
            r.feed(evs)
        out[engine] = (str(e.value), dict(r.events), dict(r.placed), sorted(r.objs.items()))
    assert out["compiled"] == out["python"]


def _events(n):
    out = []
    for i in range(n):
        ptr = 0xFFFF888001000000 + 64 * (i % 13)
        out.append(SlabAlloc("kmalloc", 1000 + i, i % 3, 1, "t", "f+0x1", ptr, 50, 64, "GFP_KERNEL", None, None, None))
        out.append(SlabFree("kfree", 1000 + i, (i + 1) % 3, 1, "t", "f+0x2", ptr if i % 5 else ptr + 1, None))
    return out


# ---------------------------------------------------------------------------- properties
PTRS = [0, 16, *(0xFFFF888002000000 + 64 * i for i in range(60)), 0x1234, 0xFFFFFFFF,
        *(0xC2000000 + 64 * i for i in range(8))]  # (real pointers on i386, pfn 0x2000 on both profiles)
GFPS = ["GFP_KERNEL", "GFP_KERNEL|__GFP_ZERO", "GFP_ATOMIC", "GFP_NOWAIT|__GFP_ACCOUNT", "GFP_KERNEL_ACCOUNT",
        "GFP_DMA", "__GFP_RECLAIMABLE|GFP_KERNEL", "NOT_A_FLAG", "0x0", "GFP_NOFS", "__GFP_HIGHMEM|GFP_KERNEL",
        "0xfffffffff0", "0x80000000"]
NAMES = ["kmalloc-64", "kmalloc-192", "dentry", "vmap_area", "no_such_cache", None]
SIZES = [0, 1, 8, 50, 64, 100, 192, 1000, 4096, 8192, 9000, 20000]
PFNS = [-1, *(0x10000 + 8 * i for i in range(10)), 0x10003]
#: the pages the slab allocations' pointers lie in (a slab page when a page allocation is one)
SLAB_PFNS = [0x2000, 0x1FFF, 0x2000, 0x1FF8]
ORDERS = [0, 0, 0, 1, 2, 3, 4, 10, 11, 16]
SITES = ["f+0x1", "f+0x1", "alloc_slab_obj_exts+0x4a"]

cpus = hs.sampled_from([-1, 0, 1, 2, 5])
ptrs = hs.sampled_from(PTRS)
gfps = hs.one_of(hs.just("GFP_KERNEL"), hs.just("GFP_KERNEL"), hs.just("GFP_KERNEL"), hs.sampled_from(GFPS))
sizes = hs.sampled_from(SIZES)

#: (bytes_req, bytes_alloc) as 6.18 traces them (most kmallocs), and any pair (mismatches)
RIGHT = [(1, 8), (8, 8), (50, 64), (64, 64), (100, 128), (192, 192), (1000, 1024), (4096, 4096), (8192, 8192),
         (9000, 16384), (20000, 32768)]
req_alloc = hs.one_of(hs.sampled_from(RIGHT), hs.sampled_from(RIGHT), hs.tuples(sizes, sizes))
ev_kmalloc = hs.builds(lambda cpu, p, ra, g, kind, site: SlabAlloc(kind, 0, cpu, 1, "t", site, p, ra[0], ra[1], g,
                                                                   None, None, None),
                       cpus, ptrs, req_alloc, gfps, hs.sampled_from(["kmalloc", "kmalloc_node"]),
                       hs.sampled_from(SITES))
ev_cache_alloc = hs.builds(lambda cpu, p, name, ra, g, kind: SlabAlloc(kind, 0, cpu, 1, "t", "f+0x1", p, ra[0], ra[1],
                                                                      g, None, name, None),
                           cpus, ptrs, hs.sampled_from(NAMES), hs.one_of(hs.just((64, 64)), req_alloc), gfps,
                           hs.sampled_from(["kmem_cache_alloc", "kmem_cache_alloc_node"]))
ev_free = hs.builds(lambda cpu, p, kind, name: SlabFree(kind, 0, cpu, 1, "t", "f+0x2", p, name),
                    cpus, ptrs, hs.sampled_from(["kfree", "kmem_cache_free"]), hs.sampled_from(NAMES))
pfns = hs.one_of(hs.sampled_from(PFNS), hs.sampled_from(PFNS), hs.sampled_from(SLAB_PFNS))
ev_page_alloc = hs.builds(lambda cpu, pfn, order, g: PageAlloc("mm_page_alloc", 0, cpu, 1, "t", pfn, order, 0, g,
                                                               None),
                          cpus, pfns, hs.one_of(hs.integers(0, 3), hs.sampled_from(ORDERS)), gfps)
ev_page_free = hs.builds(lambda cpu, pfn, order, kind: PageFree(kind, 0, cpu, 1, "t", pfn, order),
                         cpus, pfns, hs.one_of(hs.integers(0, 3), hs.sampled_from(ORDERS)),
                         hs.sampled_from(["mm_page_free"] * 5 + ["mm_page_free_batched"]))
ev_lost = hs.builds(lambda cpu, n: Lost("lost", 0, cpu, 0, "", n), cpus, hs.integers(0, 5))
event = hs.one_of(ev_kmalloc, ev_kmalloc, ev_cache_alloc, ev_free, ev_free, ev_free, ev_page_alloc, ev_page_free,
                  ev_lost)
#: mostly page events, between slab allocations that may take from them (fewer CPUs, gfp texts
#: and pfns, so that a page is freed or taken from)
few_cpus = hs.sampled_from([0, 0, 1, -1])
page_gfps = hs.one_of(hs.just("GFP_KERNEL"), hs.just("GFP_KERNEL"), hs.just("GFP_KERNEL|__GFP_COMP"), gfps)
page_pfns = hs.one_of(hs.sampled_from(PFNS[:5]), hs.sampled_from(SLAB_PFNS))
page_orders = hs.one_of(hs.integers(0, 2), hs.sampled_from(ORDERS))
page_event = hs.one_of(
    hs.builds(lambda cpu, pfn, order, g: PageAlloc("mm_page_alloc", 0, cpu, 1, "t", pfn, order, 0, g, None),
              few_cpus, page_pfns, page_orders, page_gfps),
    hs.builds(lambda cpu, pfn, order: PageFree("mm_page_free", 0, cpu, 1, "t", pfn, order),
              few_cpus, page_pfns, page_orders),
    hs.builds(lambda cpu, p, site: SlabAlloc("kmalloc", 0, cpu, 1, "t", site, p, 50, 64, "GFP_KERNEL", None, None,
                                             None),
              few_cpus, ptrs, hs.sampled_from(SITES)),
    ev_page_alloc, ev_page_free, ev_kmalloc, ev_cache_alloc, ev_free, ev_lost)


def _with_times(evs, ts_mode):
    out = []
    t = 5_000_000
    for i, e in enumerate(evs):
        if ts_mode == "none" or (ts_mode == "some" and i % 4 == 0):
            ts = -1
        else:
            t += 1_000_000
            ts = t
        out.append(e._replace(ts=ts))
    return out


CORE_EVENTS = [0, 0]  # events the core did itself, and handed to Python, over the property's examples


def _replay_state(evs, engine, opts, profile):
    k = kmemsim.boot(profile, ram="128M", on_bug="report")
    r = Replay(k, options=opts)
    r.engine = engine
    try:
        r.feed(evs)
    except kmemsim.KmemsimError as e:
        return f"raised {type(e).__name__}: {e}"
    r.finish(check=False)
    st = r.core_stats()
    if st is not None:
        CORE_EVENTS[0] += st["c"]
        CORE_EVENTS[1] += st["py"]
    return state(r)


@needs_core
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hs.lists(event, min_size=5, max_size=150), hs.sampled_from(["all", "some", "none"]),
       hs.sampled_from([0, 1, 7, 50, 0]), hs.booleans(), hs.booleans(),
       hs.sampled_from(["linux-6.18-x86_64", "linux-2.6.24-i386"]))
def test_the_engines_agree_on_random_events(evs, ts_mode, every, by_time, early, profile):
    evs = _with_times(evs, ts_mode)
    opts = {"sample_every": every, "early_untraced_frees": early, "max_samples": 8}
    if by_time:
        opts["sample_interval"] = 0.003
    want = _replay_state(evs, "python", ReplayOptions(**opts), profile)
    got = _replay_state(evs, "compiled", ReplayOptions(**opts), profile)
    assert got == want


@needs_core
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hs.lists(page_event, min_size=5, max_size=150), hs.sampled_from(["all", "some", "none"]),
       hs.sampled_from([0, 1, 7, 50, 0]), hs.booleans(),
       hs.sampled_from(["linux-6.18-x86_64", "linux-2.6.24-i386"]))
def test_the_engines_agree_on_random_page_events(evs, ts_mode, every, early, profile):
    """Page allocations and frees (the core does the common ones): slab pages and not, real and
    hashed pointers, orders up to and past MAX_ORDER, failed ones, frees of unknown blocks and at
    other orders, lost markers."""
    evs = _with_times(evs, ts_mode)
    opts = {"sample_every": every, "early_untraced_frees": early, "max_samples": 8}  # (a replay changes its options)
    want = _replay_state(evs, "python", ReplayOptions(**opts), profile)
    got = _replay_state(evs, "compiled", ReplayOptions(**opts), profile)
    assert got == want


@needs_core
def test_the_property_exercises_the_core():
    """The random events above reach the core's own paths, not only Python's."""
    test_the_engines_agree_on_random_events()
    test_the_engines_agree_on_random_page_events()
    assert CORE_EVENTS[0] > 40 and CORE_EVENTS[1] > 40, CORE_EVENTS


def _page_events(n, ptr_base=0xFFFF888002000000):
    """Page allocations and frees of orders 0-3 on three CPUs, a slab allocation after some (its
    pointer outside the page), and one inside a page (a slab page: Python's)."""
    out = []
    for i in range(n):
        pfn, order = 0x10000 + 16 * (i % 9), i % 4
        out.append(PageAlloc("mm_page_alloc", -1, i % 3, 1, "t", pfn, order, 0, "GFP_KERNEL", None))
        if i % 4 == 1:
            out.append(SlabAlloc("kmalloc", -1, i % 3, 1, "t", "f+0x1", ptr_base + 64 * i, 50, 64, "GFP_KERNEL", None,
                                 None, None))
        out.append(PageFree("mm_page_free", -1, (i + 1) % 3, 1, "t", pfn, order))
    out.append(PageAlloc("mm_page_alloc", -1, 0, 1, "t", 0x2000, 0, 0, "GFP_KERNEL", None))
    out.append(SlabAlloc("kmalloc", -1, 0, 1, "t", "f+0x1", ptr_base + 8, 50, 64, "GFP_KERNEL", None, None, None))
    return out


def _on_both_engines(evs: list) -> tuple[dict, dict, Replay]:
    """evs replayed by each engine on a 128M machine: {engine: state}, the compiled core's
    stats, and its Replay."""
    out = {}
    for engine in ("python", "compiled"):
        r = Replay(kmemsim.boot(ram="128M", on_bug="report"), options=ReplayOptions(sample_every=0))
        r.engine = engine
        r.feed(evs).finish(check=False)
        out[engine] = state(r)
    return out, r.core_stats(), r


@needs_core
def test_the_core_does_the_page_events():
    """The common page events are the core's: of 300 page events only a few go to Python (the
    first, which tells the pointers real, and the slab page); the replay is the same."""
    evs = _page_events(150)
    out, st, _ = _on_both_engines(evs)
    assert st["c"] + st["py"] == len(evs) and st["py"] <= 4, st
    assert out["compiled"] == out["python"]
    assert "mm_page_alloc" in out["python"] and "slab pages" in out["python"]


@needs_core
def test_page_events_with_hashed_pointers_go_to_python_when_a_slab_allocation_follows():
    evs = _page_events(60, ptr_base=0x1234000)  # not a kernel pointer: hashed
    out, st, r = _on_both_engines(evs)
    assert r._real_ptrs is False and 15 <= st["py"] < 40, st  # the allocations before a kmalloc
    assert out["compiled"] == out["python"]


def _flaky(fn, exc, calls):
    """fn, raising exc at every third call counted in calls[0]"""
    from kmemsim.errors import KernelBug

    def call(*a):
        calls[0] += 1
        if calls[0] % 3 == 0:
            raise exc("page_bug", "BUG: a test") if exc is KernelBug else exc("oops", "")
        return fn(*a)

    return call


@needs_core
def test_a_kernel_bug_in_the_page_allocator_is_counted_alike():
    """pa_alloc, pa.free and free_pages raising KernelBug / Oops (every third call) end the event
    as _run()'s except clause does, in the core too."""
    from kmemsim.errors import KernelBug, Oops

    evs = _page_events(90)
    out = {}
    for engine in ("python", "compiled"):
        k = kmemsim.boot(ram="128M", on_bug="report")
        calls = [0]
        pa = k.page_alloc
        pa.alloc = _flaky(pa.alloc, KernelBug, calls)
        pa.free = _flaky(pa.free, Oops, calls)
        if k.pages.alloc_pfn is not None:
            k.pages.alloc_pfn = _flaky(k.pages.alloc_pfn, KernelBug, calls)
        free_pages = _flaky(type(k).free_pages, Oops, calls)
        type(k).free_pages = lambda self, addr, order=0, _f=free_pages: _f(self, addr, order)  # this machine's class
        r = Replay(k, options=ReplayOptions(sample_every=0))
        r.engine = engine
        r.feed(evs).finish(check=False)
        out[engine] = state(r)
        assert r.bugs, engine
        if engine == "compiled":
            assert r.core_stats()["c"] > 2 * r.core_stats()["py"]  # the core met the bugs too
    assert out["compiled"] == out["python"]


def _lookahead_events(po, shift):
    """_slab_page_of()'s look-ahead, case by case: the page allocation at pfn P (each case its own)
    and what follows it on its CPU (0) and others (1)."""
    evs = []
    filler_pfn = [0x30000]

    def pa(pfn, cpu=0, order=0):
        evs.append(PageAlloc("mm_page_alloc", -1, cpu, 1, "t", pfn, order, 0, "GFP_KERNEL", None))

    def other_pa(cpu=0):
        filler_pfn[0] += 1
        pa(filler_pfn[0], cpu)

    def km(pfn, cpu=0, site="f+0x1", off=64):
        ptr = po + (pfn << shift) + off
        evs.append(SlabAlloc("kmalloc", -1, cpu, 1, "t", site, ptr, 50, 64, "GFP_KERNEL", None, None, None))

    exts = "alloc_slab_obj_exts+0x4a"
    outside = 0x3F000
    km(outside)  # a real pointer first: _ptrs_real() knows
    p = 0x20000
    for case in range(16):
        p += 0x100
        pa(p, order=case % 3)
        if case == 0:  # two page allocations in between: still the slab's
            other_pa(), other_pa(), km(p)
        elif case == 1:  # three: not
            other_pa(), other_pa(), other_pa(), km(p)
        elif case == 2:  # the same pfn again
            pa(p), km(p)
        elif case == 3:  # freed first (on another CPU)
            evs.append(PageFree("mm_page_free", -1, 1, 1, "t", p, 0)), km(p)
        elif case == 4:  # a lost marker of this CPU, and of another
            evs.append(Lost("lost", -1, 0, 0, "", 3)), km(p)
        elif case == 5:
            evs.append(Lost("lost", -1, 1, 0, "", 3)), km(p)
        elif case == 6:  # an obj_exts kmalloc, then the object
            km(outside, site=exts), km(p)
        elif case == 7:  # two obj_exts kmallocs: the candidates end there
            km(outside, site=exts), km(outside, site=exts), km(p)
        elif case == 8:  # another CPU's allocation in the page
            km(p, cpu=1), km(outside)
        elif case == 9:  # an allocation claimed by the page before: None for this one
            pa(p + 0x80), km(p)
        elif case == 10:  # a claimed obj_exts kmalloc is passed over
            pa(p + 0x80), km(p, site=exts), km(p + 0x80)
        elif case == 11:  # kmalloc_node is no obj_exts kmalloc
            evs.append(SlabAlloc("kmalloc_node", -1, 0, 1, "t", exts, po + 64, 50, 64, "GFP_KERNEL", None, None,
                                 None))
            km(p)
        elif case == 12:  # the object the look-ahead's last event (window[63]), and past it (window[64])
            for _ in range(63):
                other_pa(cpu=1)
            km(p)
        elif case == 13:
            for _ in range(64):
                other_pa(cpu=1)
            km(p)
        elif case == 14:  # an obj_exts kmalloc that failed (NULL), then an object in the block's last page
            km(p, site=exts, off=0 - po - (p << shift)), km(p + (1 << (case % 3)) - 1)
        else:  # the page past the block
            km(p + (1 << (case % 3)))
    for e in list(evs):  # free them all (the slab pages' frees too)
        if e.kind == "mm_page_alloc":
            evs.append(PageFree("mm_page_free", -1, 2, 1, "t", e.pfn, e.order))
    return evs


@needs_core
@pytest.mark.parametrize("chunk_at", [None, 4096 - 70, 4096 - 3])
def test_the_look_ahead_for_a_slab_page_is_the_loops(chunk_at):
    """Each case of _slab_page_of() (in C unless a candidate may be served), also across the
    chunk boundary (the look-ahead reads on in the next chunk)."""
    out = {}
    for engine in ("python", "compiled"):
        k = kmemsim.boot(ram="128M", on_bug="report")
        evs = _lookahead_events(k.layout.page_offset, k.page_shift)
        if chunk_at is not None:  # filler slab frees (pre-existing) until the case starts near the chunk's end
            evs = [SlabFree("kfree", -1, 3, 1, "t", "f", 0x99, None)] * chunk_at + evs
        r = Replay(k, options=ReplayOptions(sample_every=0))
        r.engine = engine
        r.feed(evs).finish(check=False)
        out[engine] = state(r)
        skipped = r.slab_pages_skipped
        if engine == "compiled":
            st = r.core_stats()
            # Python's: the 9 slab pages and their 9 frees, case 3's page freed twice, the 2 lost
            # markers, the first kmalloc (its gfp text): every other page event is the core's
            assert st["py"] == 22, st
    assert out["compiled"] == out["python"]
    assert skipped == 9, skipped  # cases 0, 2, 5, 6, 9, 10 (two), 12 and 14


def _pcp_detail(k) -> str:
    """The pcp fast paths' state: each zone's counters and every CPU's lists and fields, the
    allocated blocks, the refcounts of the pages on the lists."""
    out = []
    pa = k.page_alloc
    for z in pa.zones:
        out.append(repr((z.name, z.free_pages, z.pgalloc, z.pgfree, z.below_high)))
        for p in z.pcp:
            out.append(repr((p.lists, p.count, p.high, p.free_count, p.alloc_factor, p.free_high)))
            out.append(repr([k.memmap.get(pfn, "refcount") for lst in p.lists for pfn in lst]))
    out.append(repr(list(pa.allocated.items())))
    out.append(repr(sorted(pa.compound)))
    return "\n".join(out)


def _pcp_on_both_engines(evs: list, prepare=None) -> tuple[dict, dict]:
    """evs replayed by each engine on a 6.18 machine (prepare(k) first): {engine: state and pcp
    detail}, and the compiled core's stats."""
    out = {}
    st = None
    for engine in ("python", "compiled"):
        k = kmemsim.boot("linux-6.18-x86_64", ram="128M", on_bug="report")
        if prepare is not None:
            prepare(k)
        r = Replay(k, options=ReplayOptions(sample_every=0))
        r.engine = engine
        r.feed(evs).finish(check=False)
        out[engine] = _pcp_detail(k) + "\n" + state(r)
        st = r.core_stats()
    return out, st


@needs_core
def test_the_core_does_the_pcp_fast_paths_in_c():
    """The page events' allocations and order-0 frees through the pcp fast paths are done in C
    (pcp_c), not by calls of the closures; the pcp lists, counters and refcounts end the same."""
    evs = _page_events(150)
    out, st = _pcp_on_both_engines(evs)
    assert out["compiled"] == out["python"]
    assert st["pcp_c"] > 150, st  # the 150 allocations (orders 0-3) and the order-0 frees
    assert st["model_calls"] < 125, st  # the 112 frees of orders 1-3 (pa.free) and a few of the slab


def _pcp_fallback_events():
    """Allocations the C pcp path leaves to the closures (__GFP_ZERO, __GFP_COMP above order 0, an
    order the lists do not hold) between plain ones, then 900 order-0 frees in a row (a drain when
    count reaches high)."""
    out = []
    gfps = ["GFP_KERNEL", "GFP_KERNEL|__GFP_ZERO", "GFP_KERNEL|__GFP_COMP", "GFP_KERNEL|__GFP_COMP|__GFP_ZERO"]
    pfn = 0x10000
    for i in range(120):
        order = (0, 1, 2, 3, 5, 9)[i % 6]
        out.append(PageAlloc("mm_page_alloc", -1, i % 2, 1, "t", pfn, order, 0, gfps[i % 4], None))
        if i % 3:
            out.append(PageFree("mm_page_free", -1, i % 2, 1, "t", pfn, order))
        pfn += 1 << 10
    for i in range(900):
        out.append(PageAlloc("mm_page_alloc", -1, 0, 1, "t", pfn + i, 0, 0, "GFP_KERNEL", None))
    for i in range(900):
        out.append(PageFree("mm_page_free", -1, 0, 1, "t", pfn + i, 0))
    return out


@needs_core
def test_the_pcp_cases_c_does_not_do_fall_back_alike():
    """__GFP_ZERO, __GFP_COMP, orders above the lists', drains, a zone below its high watermark:
    the closures do them (called from the core) and both engines end in the same state."""
    evs = _pcp_fallback_events()
    out, st = _pcp_on_both_engines(evs)
    assert out["compiled"] == out["python"]
    assert st["pcp_c"] > 500 and st["model_calls"] > 100, st

    def below_high(k):  # until a drain finds the zone above its high watermark again
        for z in k.page_alloc.zones:
            z.below_high = True
            z.refresh_fast_marks()

    out, _ = _pcp_on_both_engines(evs, below_high)
    assert out["compiled"] == out["python"]
    # 100 order-0 blocks freed with no drain: every free is the closure's while below_high holds
    few = evs[-1800:-1700] + evs[-900:-800]
    out, st = _pcp_on_both_engines(few)
    assert out["compiled"] == out["python"] and st["pcp_c"] >= 150, st
    out, st2 = _pcp_on_both_engines(few, below_high)
    assert out["compiled"] == out["python"]
    assert st2["model_calls"] >= st["model_calls"] + 100, (st, st2)


# ---------------------------------------------------------------------------- samples
def _python_sums(k) -> tuple:
    from kmemsim.trace.replay import slab_usage

    rows = slab_usage(k)
    return (sum(r[2] for r in rows), sum(r[3] for r in rows), sum(r[4] for r in rows), sum(r[6] for r in rows),
            {r[0]: r[2] for r in rows})


@needs_core
@pytest.mark.parametrize("name", ["git", "threads", "net-loopback"])
def test_the_cores_slab_sample_is_slab_usage_summed(name):
    """Core.slab_sample() (each sample's slab figures) equals slab_usage() summed, dict order too,
    at every thousandth event of a replay, partial lists and CPU partial slabs included."""
    d = CORPUS / name
    trace = next(p for p in d.iterdir() if p.name.endswith(".txt.gz"))
    r = Replay(kmemsim.boot(host=d / "snapshot.tar.gz"), options=ReplayOptions(sample_every=0))
    from kmemsim.trace import TraceReader

    events = [e for b in TraceReader(trace).batches() for e in b]
    core = r._core()
    assert core is not None
    seen = 0
    for i in range(0, len(events), 1000):
        r.feed(events[i : i + 1000])
        got = core.slab_sample(r.k.slub.caches)
        want = _python_sums(r.k)
        assert got == want and list(got[4]) == list(want[4])
        seen += any(cc.partial for c in r.k.slub.caches for cc in c.cpu_slab)
    assert seen  # CPU partial slabs were counted at some point


@needs_core
def test_the_cores_slab_sample_leaves_other_caches_to_python():
    """A cache the core does not read (a subclass of KmemCache, a list that is not a list) gives
    None, and Replay.sample() then sums slab_usage() itself: the same sample."""
    from kmemsim.mm.slub import KmemCache

    d = CORPUS / "git"
    r = Replay(kmemsim.boot(host=d / "snapshot.tar.gz"), options=ReplayOptions(sample_every=0))
    core = r._core()
    caches = r.k.slub.caches
    assert core.slab_sample(tuple(caches)) is None
    before = r.sample()

    class Other(KmemCache):
        __slots__ = ()

    c = next(c for c in caches if c.nr_slabs)
    odd = object.__new__(Other)
    for name in KmemCache.__slots__:
        setattr(odd, name, getattr(c, name))
    assert core.slab_sample([odd]) is None
    i = caches.index(c)
    caches[i] = odd
    try:
        assert r.sample() == before
    finally:
        caches[i] = c


# ---------------------------------------------------------------------------- SLUB's slow paths in C
SLOW_KINDS = [("kmalloc", 700, 1024, None), ("kmalloc", 2048, 2048, None), ("kmalloc", 96, 96, None),
              ("kmem_cache_alloc", 256, 256, "filp")]  # fmt: skip
SLOW_TOTALS = [0, 0]  # SLUB slow paths the core did itself, and the model calls left, over the examples


def _churn(ops) -> list:
    """Slab events from (alloc?, cpu, kind, pick): allocations at new pointers, frees of a live one
    (pick-th), on two CPUs: slabs fill, go full, come back as CPU partial slabs and are refilled."""
    evs: list = []
    live: list = []
    nxt = 0
    for alloc, cpu, kind, pick in ops:
        if alloc or not live:
            name, req, size, cache = SLOW_KINDS[kind]
            nxt += 1
            p = 0xFFFF888004000000 + nxt * 0x1000
            evs.append(SlabAlloc(name, -1, cpu, 1, "t", "f+0x1", p, req, size, "GFP_KERNEL", None, cache, None))
            live.append((p, name, cache))
        else:
            p, name, cache = live.pop(pick % len(live))
            kind_ = "kmem_cache_free" if name == "kmem_cache_alloc" else "kfree"
            evs.append(SlabFree(kind_, -1, cpu, 1, "t", "f+0x2", p, cache))
    return evs


def _churn_state(evs, engine, profile, probe=None):
    k = kmemsim.boot(profile, ram="128M", on_bug="report")
    calls: list[str] = []
    if probe:
        k.slub.nmi_probe = calls.append
    r = Replay(k, options=ReplayOptions(sample_every=97))
    r.engine = engine
    r.feed(evs)
    r.finish(check=False)
    st = r.core_stats()
    if st is not None and not probe:
        SLOW_TOTALS[0] += st["slow_c"]
        SLOW_TOTALS[1] += st["model_calls"]
    return state(r) + repr(calls), st


@needs_core
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(hs.lists(hs.tuples(hs.sampled_from([True, True, False]), hs.sampled_from([0, 1, 1, 0, 3]),
                          hs.sampled_from([0, 0, 1, 2, 2, 3]), hs.integers(0, 1 << 16)), min_size=300, max_size=900),
       hs.sampled_from(["linux-6.18-x86_64", "linux-6.6-x86_64", "linux-2.6.24-i386"]), hs.booleans())
def test_the_engines_agree_on_slab_churn(ops, profile, probe):
    """Enough churn on few caches that CPU freelists run dry and full slabs are freed into: the
    core's refill_pop() and its frees onto the CPU partial list end where the model's
    _slab_alloc_slow() and _slab_free_slow() end, counts and slab lists alike; with an NMI probe
    set the core leaves them to Python, and the probe sees the same calls."""
    evs = _churn(ops)
    want, _ = _churn_state(evs, "python", profile, probe)
    got, st = _churn_state(evs, "compiled", profile, probe)
    assert got == want
    if probe:
        assert st["slow_c"] == 0


@needs_core
def test_the_churn_reaches_the_cores_slow_paths():
    test_the_engines_agree_on_slab_churn()
    assert SLOW_TOTALS[0] > 100, SLOW_TOTALS


@needs_core
def test_a_corpus_replay_does_the_common_slow_paths_in_c():
    d = CORPUS / "threads"
    _, r = both(next(p for p in d.iterdir() if p.name.endswith(".txt.gz")), host=d / "snapshot.tar.gz")
    st = r.core_stats()
    assert st["slow_c"] > st["model_calls"], st


@needs_core
def test_sample_points_stay_in_the_core():
    """A sample point is taken from the core (Replay._sample() after the event), not by handing
    the event to the Python loop: sampling every event hands over no more events than none."""
    d = CORPUS / "git"
    trace = d / "perf-script.txt.gz"
    st = {}
    for every in (0, 1):
        _, r = both(trace, host=d / "snapshot.tar.gz", options=ReplayOptions(sample_every=every, max_samples=10**6))
        st[every] = r.core_stats()
        if every:
            assert len(r.samples) >= r.n  # (one after every event, and the last)
    assert st[1]["py"] == st[0]["py"], st


# ---------------------------------------------------------------------------- packed events
def _eventbufs(sizes, events):
    from kmemsim.trace.parse import _RECORD_CLASSES, compiled_scanner

    it = iter(events)
    out = []
    for n in sizes:
        b = compiled_scanner().EventBuf(_RECORD_CLASSES)
        for _ in range(n):
            b.append(next(it))
        out.append(b)
    return out


@needs_core
def test_packed_reads_replay_as_lists_do(monkeypatch):
    """The core reads a TraceReader's events packed (no records); a list of the same records,
    replayed by the same core, ends in the same state -- and the packed path was taken."""
    from kmemsim.trace import TraceReader

    seen = []
    batches = TraceReader.batches

    def spy(self, packed=False):
        seen.append(packed)
        return batches(self, packed)

    monkeypatch.setattr(TraceReader, "batches", spy)
    for name in ("git", "find-du", "threads"):
        d = CORPUS / name
        trace = next(p for p in sorted(d.iterdir()) if p.name.endswith(".txt.gz"))
        states = []
        for src in (TraceReader(trace), list(TraceReader(trace))):
            r = replay(src, host=d / "snapshot.tar.gz", engine="compiled", check=False)
            states.append(state(r))
        assert states[0] == states[1], name
    assert True in seen


@needs_core
def test_rebuf_merges_small_eventbufs_for_the_look_ahead():
    from kmemsim.trace import TraceReader
    from kmemsim.trace.replay import _LOOKAHEAD, _rebuf

    recs = list(TraceReader(CORPUS / "git" / "perf-script.txt.gz"))[:6000]
    sizes = [1, 3, 0, 5000, 2, 70, 1, 40]
    bufs = _eventbufs(sizes, recs)
    tail = recs[sum(sizes): sum(sizes) + 5]
    out = list(_rebuf(bufs + [tail]))
    assert [e for b in out for e in b[:]] == recs[: sum(sizes) + 5]
    assert all(len(b) >= _LOOKAHEAD for b in out[:-1]) and len(out) == 3
    assert list(_rebuf([recs[:10], recs[10:5000]])) == [recs[:4096], recs[4096:5000]]  # lists: _rechunk's


@needs_core
def test_an_eventbuf_cannot_change_while_the_core_reads_it(monkeypatch):
    """Python that runs inside Core.run() (a handed-over event) cannot append to the EventBuf the
    core is reading (its entries would move); afterwards it can."""
    d = CORPUS / "git"
    tried = []
    run_at = Replay._run_at

    def meddle(self, cur, i, j, nxt):
        if hasattr(cur, "extend") and not tried:
            with pytest.raises(RuntimeError, match="reading it"):
                cur.append(cur[i])
            tried.append(cur)
        return run_at(self, cur, i, j, nxt)

    monkeypatch.setattr(Replay, "_run_at", meddle)
    replay(d / "perf-script.txt.gz", host=d / "snapshot.tar.gz", engine="compiled", check=False)
    assert tried
    n = len(tried[0])
    tried[0].append(tried[0][0])
    assert len(tried[0]) == n + 1


@needs_core
def test_a_frame_replaced_between_events_is_read_anew():
    """The core keeps recent frame and slab look-ups while their dicts are unchanged (their
    version); a frame replaced by a new bytearray (as fill() replaces whole frames) is looked up
    again: the free pointers written and read after it are the model's, as the Python loop has them."""
    def ev_alloc(p, cpu=0):
        return SlabAlloc("kmalloc", -1, cpu, 1, "t", "f+0x1", p, 64, 64, "GFP_KERNEL", None, None, None)

    def ev_free(p, cpu=0):
        return SlabFree("kfree", -1, cpu, 1, "t", "f+0x2", p, None)

    base = 0xFFFF888006000000
    out = {}
    for engine in ("python", "compiled"):
        k = kmemsim.boot("linux-6.18-x86_64", ram="256M", on_bug="report")
        r = Replay(k, options=ReplayOptions(sample_every=0))
        r.engine = engine
        r.feed([ev_alloc(base + i * 64) for i in range(8)] + [ev_free(base), ev_free(base + 64)])
        po = k.layout.page_offset
        pfns = {(p - po) >> 12 for p in r.objs.values()}
        kept = [k.phys.frames[pfn] for pfn in pfns]  # (alive: a stale look-up would write them)
        for pfn in pfns:  # the objects' frames replaced by copies: the bytes are the same
            k.phys.frames[pfn] = bytearray(k.phys.frames[pfn])
        r.feed([ev_free(base + 128), ev_free(base + 192), ev_free(base + 256)] + [ev_alloc(base + 4096)])
        r.finish(check=False)
        out[engine] = state(r) + repr(sorted((pfn, bytes(k.phys.frames[pfn])) for pfn in pfns)) + repr(kept)
        if engine == "compiled":
            assert r.core_stats()["c"] >= 10
    assert out["compiled"] == out["python"]
