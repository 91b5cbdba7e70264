"""The model's own kmem tracepoints (kmemsim.tracepoints.kmem): the events, their
fields in 6.18's text, nothing on the fast paths when off, and the round trip:
a workload's own trace replayed on a fresh machine gives the same /proc/slabinfo
and /proc/buddyinfo."""
from __future__ import annotations

import io
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kmemsim
from kmemsim.errors import UsageError
from kmemsim.gfp import (
    __GFP_COMP,
    __GFP_NOWARN,
    __GFP_ZERO,
    GFP_ATOMIC,
    GFP_DMA,
    GFP_HIGHUSER,
    GFP_HIGHUSER_MOVABLE,
    GFP_KERNEL,
    GFP_KERNEL_ACCOUNT,
    GFP_NOWAIT,
)
from kmemsim.trace import KmemStat, StatOptions, TraceReader
from kmemsim.trace.replay import replay
from kmemsim.tracepoints.emit import ftrace_line
from kmemsim.tracepoints.events import PageAlloc, SlabAlloc
from kmemsim.tracepoints.kmem import EMITTED_EVENTS, Tracepoints


def records(k, fn, events=None):
    recs: list = []
    with k.tracing(recs, events):
        fn()
    return recs


def test_kmalloc_and_kfree_lines_parse_back_with_the_kernels_fields(k):
    out = io.StringIO()
    with k.tracing(out, ["kmalloc", "kfree"]) as tr:
        p = k.kmalloc(100, GFP_KERNEL)
        k.kfree(p)
    lines = out.getvalue().splitlines()
    assert [ln.split(": ")[1] for ln in lines] == ["kmalloc", "kfree"]
    evs = list(TraceReader(lines))
    a, f = evs
    assert a.kind == "kmalloc" and a.ptr == p and a.bytes_req == 100 and a.bytes_alloc == 128
    assert a.gfp_flags == "GFP_KERNEL" and a.node == -1 and a.accounted is False
    # the call site is this test function, printed as the model prints %pS
    assert a.call_site == "test_kmalloc_and_kfree_lines_parse_back_with_the_kernels_fields+0x0/0x0"
    assert (a.cpu, a.pid, a.comm) == (0, k.current.pid, k.current.comm)
    assert f.kind == "kfree" and f.ptr == p
    assert tr.counts == {"kmalloc": 1, "kfree": 1}
    assert "kfree: call_site=" in lines[1] and f"ptr={p:016x}" in lines[1]


def test_kmem_cache_events_name_the_cache_and_its_sizes(k):
    c = k.kmem_cache_create("tp_cache", 72, 0, kmemsim.SLAB_HWCACHE_ALIGN | kmemsim.SLAB_ACCOUNT)

    def work():
        o = k.kmem_cache_alloc(c, GFP_KERNEL)
        z = k.kmem_cache_zalloc(c, GFP_KERNEL)
        k.kmem_cache_free(c, o)
        k.kmem_cache_free(c, z)

    evs = [e for e in records(k, work) if e.kind.startswith("kmem_cache")]
    assert [e.kind for e in evs] == ["kmem_cache_alloc", "kmem_cache_alloc", "kmem_cache_free", "kmem_cache_free"]
    a, z = evs[0], evs[1]
    assert (a.name, a.bytes_req, a.bytes_alloc) == ("tp_cache", 72, c.size) and c.size == 128
    assert a.accounted is True  # SLAB_ACCOUNT cache (6.18: gfp & __GFP_ACCOUNT or s->flags & SLAB_ACCOUNT)
    assert z.gfp_flags == "GFP_KERNEL|__GFP_ZERO"  # kmem_cache_zalloc = kmem_cache_alloc(gfp | __GFP_ZERO)
    assert evs[2].name == "tp_cache"



def test_kmem_cache_alloc_prints_the_name_only_where_the_kernel_does(k):
    """name= on kmem_cache_alloc is 6.18's (feature trace_kmem_cache_alloc_name): a 6.6 kernel's
    event has none, so the record's name is None and the ftrace line prints no name=."""
    from kmemsim.features import Features

    c = k.kmem_cache_create("tp_named", 72, 0, 0)
    k.features = Features("6.6")
    k.tp = Tracepoints(k)  # the tracepoints read the features when made, as at boot
    out = io.StringIO()
    with k.tracing(out, ["kmem_cache_alloc", "kmem_cache_free"]):
        o = k.kmem_cache_alloc(c, GFP_KERNEL)
        k.kmem_cache_free(c, o)
    alloc, free = out.getvalue().splitlines()
    assert "kmem_cache_alloc: call_site=" in alloc and " name=" not in alloc and " bytes_req=72 " in alloc
    assert free.endswith(f" name={c.name}")  # kmem_cache_free has printed it since 5.12 (merged: vmap_area)
    assert next(iter(TraceReader([alloc]))).name is None

def test_one_event_per_call_however_the_paths_nest(k):
    def work():
        k.kzalloc(50, GFP_KERNEL)  # kzalloc -> slab.kmalloc, not k.kmalloc
        ps = [k.kmalloc(64, GFP_KERNEL) for _ in range(200)]  # fast paths and slow paths (new slabs)
        for p in ps:
            k.kfree(p)

    evs = records(k, work, {"kmalloc", "kfree"})
    assert sum(e.kind == "kmalloc" for e in evs) == 201
    assert sum(e.kind == "kfree" for e in evs) == 200
    assert evs[0].gfp_flags == "GFP_KERNEL|__GFP_ZERO"


def test_special_cases_follow_618(k):
    def work():
        assert k.kmalloc(0, GFP_KERNEL) == kmemsim.ZERO_SIZE_PTR  # no event: __do_kmalloc_node returns first
        k.kfree(0)  # kfree(NULL) traces (trace_kfree comes before the NULL check)
        big = k.kmalloc(20000, GFP_KERNEL_ACCOUNT)  # kmalloc_large: a page event, then the kmalloc
        k.kfree(big)

    evs = records(k, work, {"kmalloc", "kfree", "mm_page_alloc", "mm_page_free"})
    assert [e.kind for e in evs] == ["kfree", "mm_page_alloc", "kmalloc", "kfree", "mm_page_free"]
    assert evs[0].ptr == 0
    assert evs[1].order == 3 and "__GFP_COMP" in evs[1].gfp_flags
    assert evs[2].bytes_alloc == 32768 and evs[2].accounted is True
    assert evs[4].pfn == evs[1].pfn and evs[4].order == 3


def test_page_events(k):
    def work():
        pg = k.alloc_pages(GFP_HIGHUSER_MOVABLE | __GFP_COMP, 2)
        a = k.get_free_pages(GFP_HIGHUSER, 0)  # __get_free_pages strips __GFP_HIGHMEM
        k.free_pages(a, 0)
        k.free_pages_struct(pg, 2)
        got = []
        while True:  # ZONE_DMA runs out of order-10 blocks: a traced failure
            p = k.alloc_pages(GFP_DMA | __GFP_NOWARN, 10)
            if p is None:
                break
            got.append(p)
        for p in got:
            k.free_pages_struct(p, 10)

    evs = records(k, work, {"mm_page_alloc", "mm_page_free"})
    a0, a1, f1, f0 = evs[:4]
    assert isinstance(a0, PageAlloc) and a0.order == 2 and a0.migratetype == 1  # MIGRATE_MOVABLE
    assert a0.gfp_flags == "GFP_HIGHUSER_MOVABLE|__GFP_COMP"
    assert a1.gfp_flags == "GFP_USER" and a1.migratetype == 0
    assert (f1.kind, f1.pfn, f1.order) == ("mm_page_free", a1.pfn, 0)
    assert (f0.pfn, f0.order) == (a0.pfn, 2)
    fails = [e for e in evs if e.kind == "mm_page_alloc" and e.pfn == -1]
    assert len(fails) == 1 and fails[0].order == 10


def test_buddy_moves_drains_and_fallbacks_are_traced(k):
    def work():
        pages = [k.alloc_pages(GFP_KERNEL, 0) for _ in range(300)]
        for p in pages:
            k.free_pages_struct(p, 0)
        k.drain_all_pages()
        big = [k.alloc_pages(GFP_KERNEL | __GFP_NOWARN, 9) for _ in range(40)]  # unmovable from movable blocks
        for p in big:
            if p is not None:
                k.free_pages_struct(p, 9)

    evs = records(k, work)
    kinds = {e.kind for e in evs}
    assert {"mm_page_alloc_zone_locked", "mm_page_pcpu_drain", "mm_page_alloc_extfrag"} <= kinds
    zl = next(e for e in evs if e.kind == "mm_page_alloc_zone_locked")
    assert zl.percpu_refill == 1 and zl.order == 0
    ef = next(e for e in evs if e.kind == "mm_page_alloc_extfrag")
    assert ef.alloc_migratetype == 0 and ef.fallback_migratetype == 1 and ef.pageblock_order == 9
    # the text of each parses back to the same record
    text = [ftrace_line(e) for e in evs]
    assert list(TraceReader(text)) == evs


def test_vmalloc_internals_are_traced(k):
    evs = records(k, lambda: k.vfree(k.vmalloc(40000)))
    kinds = [e.kind for e in evs]
    assert "kmem_cache_alloc" in kinds and any(e.kind == "kmem_cache_alloc" and e.name == "vmap_area" for e in evs)
    assert kinds.count("mm_page_alloc") >= 10  # the 10 pages (and any page table)
    assert "kmalloc" in kinds  # the vm_struct


def test_tracing_switches_the_dispatch_slots_and_writes_nothing_into_the_machine(k):
    before = k.dispatch.state()
    assert set(before.values()) == {"fast"}
    pa_before = dict(vars(k.page_alloc))
    slab_before = dict(vars(k.slab))
    vm_before = (k.vmalloc_impl._kmalloc, k.vmalloc_impl._kfree)
    out = io.StringIO()
    tr = k.trace_start(out)
    assert set(k.dispatch.state().values()) == {"general (tracing)"}
    assert tr.kmalloc and tr.mm_page_alloc and not any(callable(v) for v in vars(k).values())
    assert k.trace_stop() is tr and not tr.active and not tr.kmalloc
    assert k.dispatch.state() == before
    assert dict(vars(k.page_alloc)) == pa_before and dict(vars(k.slab)) == slab_before
    assert (k.vmalloc_impl._kmalloc, k.vmalloc_impl._kfree) == vm_before
    k.kfree(k.kmalloc(10, GFP_KERNEL))
    assert out.getvalue() == ""
    assert k.trace_stop() is None  # off already: nothing to do
    k.check()


def test_sinks_and_event_filter(k):
    lines: list[str] = []
    with k.tracing(lines.append, ["kmem:kmalloc"]) as tr:
        k.kfree(k.kmalloc(10, GFP_KERNEL))
    assert len(lines) == 1 and ": kmalloc: " in lines[0] and tr.events == {"kmalloc"}
    assert EMITTED_EVENTS == {
        "kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "mm_page_alloc", "mm_page_free",
        "mm_page_alloc_zone_locked", "mm_page_pcpu_drain", "mm_page_alloc_extfrag",
    }  # fmt: skip
    with pytest.raises(UsageError, match="not a kmem event"):
        k.trace_start([], ["sched_switch"])
    with pytest.raises(UsageError, match="expected a text stream"):
        k.trace_start(42)
    with k.tracing([]):
        with pytest.raises(UsageError, match="already on"):
            k.trace_start([])
    assert not k.tp.active and not k.dispatch.reasons


def test_the_26_profile_has_no_kmem_tracepoints(k32):
    with pytest.raises(UsageError, match="2.6.32"):
        k32.trace_start([])
    assert not k32.tp.active and not k32.dispatch.reasons


def test_tracing_context_manager_stops_on_error(k):
    with pytest.raises(RuntimeError):
        with k.tracing([]):
            raise RuntimeError("boom")
    assert not k.tp.active and k.dispatch.active("kmalloc") == "fast"


def test_the_models_trace_goes_through_stat(k):
    out = io.StringIO()
    with k.tracing(out):
        ps = [k.kmalloc(100, GFP_KERNEL) for _ in range(10)]
        for p in ps[:6]:
            k.kfree(p)
    st = KmemStat(StatOptions(slab=True)).process(TraceReader(io.StringIO(out.getvalue())))
    assert st.total_requested == 1000 and st.total_allocated == 1280 and st.total_freed == 6 * 128


# ---------------------------------------------------------------------------- the round trip


def setup(k: kmemsim.Kernel) -> tuple:
    """The caches of the workload: made before tracing, on both machines, because cache
    creation is no kmem event (a replay makes a cache it does not know at its first
    allocation, which changes /proc/slabinfo's order and the random freelist draws)."""
    return (k.kmem_cache_create("rt_cache", 72, 0, kmemsim.SLAB_HWCACHE_ALIGN),
            k.kmem_cache_create("rt_cache2", 200, 0, 0))  # fmt: skip


def workload(k: kmemsim.Kernel, caches: tuple, seed: int, n: int, vm: bool = True) -> None:
    """Random kmalloc/kmem_cache/page/vmalloc traffic on every CPU (no alloc_pages_exact:
    its tail pages go back through __free_pages_ok(FPI_TO_TAIL), which a trace cannot tell)."""
    rng = random.Random(seed)
    c, d = caches
    live: list[tuple[object, int]] = []
    pages = []
    for _ in range(n):
        with k.on_cpu(rng.randrange(len(k.cpus))):
            r = rng.random()
            if r < 0.35:
                size = rng.choice([8, 30, 100, 200, 500, 1000, 3000, 9000, 20000])
                gfp = rng.choice([GFP_KERNEL, GFP_KERNEL_ACCOUNT, GFP_ATOMIC | __GFP_ZERO])
                live.append((None, k.kmalloc(size, gfp)))
            elif r < 0.5:
                cache = rng.choice([c, d])
                live.append((cache, k.kmem_cache_alloc(cache, GFP_KERNEL)))
            elif r < 0.58:
                gfp = rng.choice([GFP_KERNEL, GFP_HIGHUSER_MOVABLE | __GFP_COMP, GFP_NOWAIT])
                pages.append(k.alloc_pages(gfp, rng.choice([0, 0, 0, 1, 2, 3, 9])))
            elif r < 0.62 and pages:
                p = pages.pop(rng.randrange(len(pages)))
                if p is not None:
                    k.put_page(p)
            elif r < 0.64:
                a = k.get_free_pages(GFP_KERNEL, 0)
                if a:
                    k.free_pages(a, 0)
            elif vm and r < 0.65:
                k.vfree(k.vmalloc(rng.choice([5000, 40000])))
            elif live:
                cache, p = live.pop(rng.randrange(len(live)))
                if cache is None:
                    k.kfree(p)
                else:
                    k.kmem_cache_free(cache, p)


def test_round_trip_same_slabinfo_and_buddyinfo():
    k = kmemsim.boot()
    caches = setup(k)
    out = io.StringIO()
    with k.tracing(out) as tr:
        workload(k, caches, 5, 4000)
    assert tr.counts["mm_page_alloc"] > 300 and tr.counts["kmem_cache_free"] > 100
    fresh = kmemsim.boot()
    setup(fresh)
    r = replay(io.StringIO(out.getvalue()), k=fresh)
    assert fresh.proc("slabinfo") == k.proc("slabinfo")
    assert fresh.proc("buddyinfo") == k.proc("buddyinfo")
    assert r.mismatches == 0 and not r.unplaced and not r.preexisting and not r.model_failed
    assert r.slab_pages_skipped > 0  # the slab pages the trace shows, which the fresh SLUB makes itself
    assert r.check_error is None


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(50, 600), cpus=st.integers(1, 3))
def test_round_trip_property(seed, n, cpus):
    k = kmemsim.boot(cpus=cpus, ram="512M")
    caches = setup(k)
    recs: list = []
    with k.tracing(recs):
        workload(k, caches, seed, n, vm=seed % 2 == 0)
    fresh = kmemsim.boot(cpus=cpus, ram="512M")
    setup(fresh)
    r = replay(recs, k=fresh)  # the records themselves, no text
    assert fresh.proc("slabinfo") == k.proc("slabinfo")
    assert fresh.proc("buddyinfo") == k.proc("buddyinfo")
    assert r.mismatches == 0 and not r.unplaced


def test_tracepoints_are_a_public_class(k):
    recs: list = []
    tr = k.tp
    assert isinstance(tr, Tracepoints) and not tr.active and tr.counts == {}
    tr.start(recs, ["kmalloc"])
    k.kmalloc(8, GFP_KERNEL)
    tr.stop()
    assert len(recs) == 1 and isinstance(recs[0], SlabAlloc) and tr.counts == {"kmalloc": 1}


def test_a_cache_the_fresh_machine_lacks_is_made_at_its_first_allocation():
    # without the setup on the fresh machine the caches are inferred from bytes_req and
    # bytes_alloc: the same geometry, the same slab counts, only listed in another order
    k = kmemsim.boot(slab_freelist_random=False)
    caches = setup(k)
    recs: list = []
    with k.tracing(recs):
        workload(k, caches, 3, 1500, vm=False)
    fresh = kmemsim.boot(slab_freelist_random=False)
    r = replay(recs, k=fresh)
    assert sorted(fresh.proc("slabinfo").splitlines()) == sorted(k.proc("slabinfo").splitlines())
    assert fresh.proc("buddyinfo") == k.proc("buddyinfo")
    assert r.caches_made == {
        "rt_cache": "inferred from bytes_req=72 bytes_alloc=128",
        "rt_cache2": "inferred from bytes_req=200 bytes_alloc=200",
    }
