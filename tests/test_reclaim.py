"""Reclaim: the LRU lists, the page cache, swap, shrinkers, direct reclaim, kswapd, and the
6.18 slow path's retry rules (__GFP_NORETRY, __GFP_RETRY_MAYFAIL, __GFP_NOFAIL, costly
orders, compaction as a counted step, GFP_NOIO/GFP_NOFS limits, GFP_ATOMIC never reclaiming)."""
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import kmemsim
from kmemsim import PG, KernelBug, UsageError, gfp
from kmemsim.gfp import GFP_ATOMIC, GFP_KERNEL, GFP_NOFS, GFP_NOIO, GFP_NOWAIT
from kmemsim.mm.vmscan import SHRINK_EMPTY, SHRINK_STOP

NOWARN = getattr(gfp, "__GFP_NOWARN")
NORETRY = getattr(gfp, "__GFP_NORETRY")
RETRY_MAYFAIL = getattr(gfp, "__GFP_RETRY_MAYFAIL")
NOFAIL = getattr(gfp, "__GFP_NOFAIL")
FS = getattr(gfp, "__GFP_FS")


def machine(mode="manual", **kw):
    k = kmemsim.boot(ram="128M", **kw)
    k.vmscan.kswapd_mode = mode
    return k


def ev(k, name):
    return k.page_alloc.vm_events.get(name, 0)


def vmstat(k):
    return {line.split()[0]: int(line.split()[1]) for line in k.proc("vmstat").splitlines()}


def meminfo(k):
    return {line.split(":")[0]: int(line.split()[1]) for line in k.proc("meminfo").splitlines()}


def dma32(k):
    return next(z for z in k.page_alloc.zones if z.name == "DMA32")


def until_kswapd_woken(k):
    """Allocate GFP_KERNEL pages until the fast path fails the low watermark in every zone of
    the zonelist and the slow path wakes kswapd (DMA32 first, then DMA down to low + its
    lowmem_reserve)."""
    wakeups = k.page_alloc.kswapd_wakeups
    n = 0
    while k.page_alloc.kswapd_wakeups == wakeups:
        assert k.get_free_pages(GFP_KERNEL, 0)
        n += 1
    return n


def exhaust(k, mask, order=0):
    n = 0
    while k.get_free_pages(k.gfp.mask(mask) | k.gfp.bits.nowarn, order):
        n += 1
    return n


# --------------------------------------------------------------------------- the page cache
def test_page_cache_pages_are_lru_pages_with_counters_and_flags():
    k = machine()
    assert k.page_cache_add("clean.txt", 300) == 300
    assert k.page_cache_add("dirty.log", 200, dirty=True) == 200
    f = k.find_file("dirty.log")
    assert f.nrpages == 200
    page = k.pfn_to_page(f.pages[0].pfn)
    assert page.flags & PG.lru and page.flags & PG.dirty and not page.flags & PG.active
    assert k.page_zone(page) in ("DMA32", "DMA")
    m, v = meminfo(k), vmstat(k)
    assert m["Cached"] == 500 * 4 and m["Dirty"] == 200 * 4 and m["Inactive(file)"] == 500 * 4
    assert v["nr_file_pages"] == 500 and v["nr_dirty"] == 200 and v["nr_dirtied"] == 200
    assert v["nr_zone_write_pending"] == 200 and v["nr_zone_inactive_file"] == 500
    zoneinfo = k.proc("zoneinfo")
    assert "nr_zone_inactive_file" in zoneinfo and "nr_zone_write_pending" in zoneinfo
    assert k.sync() == 200 and meminfo(k)["Dirty"] == 0 and vmstat(k)["nr_written"] == 200
    assert k.truncate_file("clean.txt") == 300 and k.node_stat("nr_file_pages") == 200
    assert k.unlink_file("dirty.log") == 200 and k.find_file("dirty.log") is None
    with pytest.raises(UsageError):
        k.page_cache_add("x", -1)
    with pytest.raises(UsageError):
        k.mark_page_accessed("nosuchfile")
    k.check()


def test_second_access_activates_a_page():
    k = machine()
    k.page_cache_add("f", 10)
    assert k.mark_page_accessed("f", 3) == 1
    folio = k.find_file("f").pages[3]
    assert folio.flags & int(PG.referenced) and not folio.flags & int(PG.active)
    k.mark_page_accessed("f", 3)
    assert folio.flags & int(PG.active) and meminfo(k)["Active(file)"] == 4
    assert ev(k, "pgactivate") == 1
    k.check()


def test_memavailable_counts_the_reclaimable_page_cache():
    k = machine()
    before = meminfo(k)
    k.page_cache_add("f", 5000)
    after = meminfo(k)
    assert after["MemFree"] == pytest.approx(before["MemFree"] - 20000, abs=1000)
    # si_mem_available(): page cache less min(half, the low watermarks) counts as available
    assert after["MemAvailable"] > after["MemFree"] + 10000


# --------------------------------------------------------------------------- kswapd
def test_kswapd_is_woken_below_low_and_reclaims_to_high():
    k = machine("manual")
    z = dma32(k)
    k.page_cache_add("big", 15000)
    until_kswapd_woken(k)
    assert z.free_pages <= z.wmark(1)
    assert k.vmscan.kswapd_state == 2 and k.page_alloc.kswapd_wakeups == 1  # woken, not yet run
    assert k.run_kswapd()
    assert z.free_pages >= z.wmark(2)  # balance_pgdat: above high
    assert ev(k, "pageoutrun") == 1 and ev(k, "pgscan_kswapd") > 0 and ev(k, "pgsteal_kswapd") > 0
    assert ev(k, "pgscan_direct") == 0 and ev(k, "allocstall_normal") == 0
    assert not k.run_kswapd()  # asleep again
    v = vmstat(k)
    assert v["pgsteal_kswapd"] == ev(k, "pgsteal_kswapd") and v["pgsteal_file"] == v["pgsteal_kswapd"]
    k.check()


def test_kswapd_low_and_high_wmark_hit_quickly():
    k = machine("manual")
    k.page_cache_add("big", 15000)
    until_kswapd_woken(k)
    k.run_kswapd()  # balanced: a short sleep (HZ/10)
    until_kswapd_woken(k)  # woken again within the same jiffies: premature
    k.run_kswapd()
    assert ev(k, "kswapd_low_wmark_hit_quickly") == 1
    # nothing left to reclaim: kswapd cannot balance and does not sleep
    k.truncate_file("big")
    while True:  # the fallback's watermark boost stops us early: take it away until we reach min
        for z in k.page_alloc.zones:
            z.watermark_boost = 0
            z.refresh_fast_marks()
        if not exhaust(k, GFP_KERNEL | NORETRY):
            break
    k.vmscan.kswapd_state = 2
    k.run_kswapd()
    assert ev(k, "kswapd_high_wmark_hit_quickly") > 0
    assert k.vmscan.kswapd_failures == 16  # MAX_RECLAIM_RETRIES: kswapd gives the node up
    assert "node_unreclaimable:  1" in k.proc("zoneinfo")


def test_kswapd_on_another_cpu_keeps_allocations_out_of_direct_reclaim():
    k = machine("cpu")
    k.page_cache_add("big", 15000)
    n = exhaust(k, GFP_KERNEL)
    assert n > 15000 and k.node_stat("nr_file_pages") < 100
    assert ev(k, "pgsteal_kswapd") > 14000 and ev(k, "pgsteal_direct") < 1000


def test_kswapd_as_a_scheduled_kthread():
    k = machine("sched")
    z = dma32(k)
    k.page_cache_add("big", 15000)
    until_kswapd_woken(k)
    assert k.vmscan.kswapd_task in k.sched.runq
    k.run()  # the caller lets the other tasks run: kswapd0 balances the node
    assert z.free_pages >= z.wmark(2) and ev(k, "pageoutrun") == 1


def test_boosted_watermark_is_reclaimed_and_reset_by_kswapd():
    k = machine("manual")
    z = dma32(k)
    k.page_cache_add("big", 3000)
    z.watermark_boost = 512
    z.refresh_fast_marks()
    k.wakeup_kswapd(0)
    assert k.run_kswapd()
    assert z.watermark_boost == 0 and ev(k, "pageoutrun") == 1


# --------------------------------------------------------------------------- direct reclaim
def test_direct_reclaim_of_clean_page_cache():
    k = machine()
    k.page_cache_add("big", 15000)
    n = exhaust(k, GFP_KERNEL)
    assert n > 15000
    assert ev(k, "allocstall_normal") > 0 and ev(k, "pgscan_direct") >= ev(k, "pgsteal_direct") > 14000
    assert ev(k, "pgscan_kswapd") == 0
    v = vmstat(k)
    assert v["allocstall_normal"] == ev(k, "allocstall_normal") and v["pgsteal_direct"] == ev(k, "pgsteal_direct")
    k.check()


def test_dirty_pages_wait_for_the_flusher():
    k = machine()
    k.page_cache_add("dirty", 15000, dirty=True)
    n = exhaust(k, GFP_KERNEL)
    assert n > 15000 and k.node_stat("nr_file_pages") < 100
    # reclaim never writes file pages in 6.18: it marked them PG_reclaim, woke the flusher, and
    # freed them once the writes completed and they rotated to the inactive tail
    assert k.node_stat("nr_vmscan_immediate_reclaim") > 0 and ev(k, "pgrotated") > 0
    assert k.node_stat("nr_written") == k.node_stat("nr_dirtied") and k.node_stat("nr_vmscan_write") == 0
    k.check()


def test_mapped_pages_survive_one_more_pass():
    k = machine()
    p = k.spawn_process("app", 0, file="4M")
    folios = list(p.file_maps)
    got = k.try_to_free_pages(GFP_KERNEL)
    kept = [f for f in folios if f in p.file_maps]
    # the first scan finds young ptes: FOLIOREF_KEEP and PG_referenced; only folios a later
    # priority pass scans again (referenced, no longer young) go
    assert all(f.flags & int(PG.referenced) for f in kept)
    assert len(folios) - len(kept) == got < len(folios) // 8
    k.check()


def test_anonymous_memory_needs_swap_and_gfp_io():
    k = machine()
    p = k.spawn_process("anon", "20M")
    assert k.try_to_free_pages(GFP_KERNEL) == 0  # no swap: anon is not even scanned
    k.swapon("64M")
    assert meminfo(k)["SwapTotal"] == 65532 and meminfo(k)["SwapFree"] == 65532
    for _ in range(3):
        assert k.try_to_free_pages(GFP_NOIO) == 0  # swapping out is I/O
    assert ev(k, "pswpout") == 0
    got = sum(k.try_to_free_pages(GFP_KERNEL) for _ in range(3))
    assert got > 0 and ev(k, "pswpout") == got == p.nr_swapents
    assert meminfo(k)["SwapFree"] == 65532 - 4 * got
    assert p.rss_anon == 5120 - got
    k.check()


def test_swapped_pages_keep_their_bytes():
    k = machine()
    k.swapon("64M")
    p = k.spawn_process("anon", "256K")
    for i, folio in p.anon.items():
        k.write(k.va(folio.pfn << 12), f"page {i:04d}".encode())
    while p.anon:
        k.try_to_free_pages(GFP_KERNEL)
    assert p.nr_swapents == 64
    assert k.process_swapin(p) == 64 and ev(k, "pswpin") == 64 and p.nr_swapents == 0
    for i, folio in p.anon.items():
        assert k.read(k.va(folio.pfn << 12), 9) == f"page {i:04d}".encode()
    assert meminfo(k)["SwapFree"] == meminfo(k)["SwapTotal"]
    assert k.swapoff() == 0 and meminfo(k)["SwapTotal"] == 0
    k.check()


def test_shmem_is_swap_backed_and_needs_gfp_fs():
    k = machine()
    k.swapon("64M")
    p = k.spawn_process("db", 0, shmem="2M")
    assert meminfo(k)["Shmem"] == 2048 and meminfo(k)["Inactive(anon)"] == 2048
    assert meminfo(k)["Dirty"] == 0  # shmem pages are dirty but not NR_FILE_DIRTY
    for _ in range(3):
        k.try_to_free_pages(GFP_NOFS)
    assert ev(k, "pswpout") == 0  # shmem_writeout needs __GFP_FS (may_enter_fs)
    while k.node_stat("nr_shmem"):
        k.try_to_free_pages(GFP_KERNEL)
    assert ev(k, "pswpout") == 512 and p.rss_shmem == 0 and k.vmscan.swap.inuse == 512
    k.kill_process(p)
    assert k.vmscan.swap.inuse == 0
    k.check()


# --------------------------------------------------------------------------- shrinkers
class DcacheLike:
    """A dentry-cache-like reclaimable cache: a SLAB_RECLAIM_ACCOUNT kmem_cache, an LRU of
    unused objects, and a shrinker that, like super_cache_scan(), refuses to run without
    __GFP_FS."""

    def __init__(self, k, n):
        self.k = k
        self.cache = k.kmem_cache_create("dentry_like", 192, 0, kmemsim.SLAB_RECLAIM_ACCOUNT)
        self.unused = [k.kmem_cache_alloc(self.cache, GFP_KERNEL) for _ in range(n)]
        self.shrinker = k.register_shrinker("dentry_like", self.count, self.scan)
        self.calls = 0

    def count(self, shrinker, sc):
        return len(self.unused) or SHRINK_EMPTY

    def scan(self, shrinker, sc):
        self.calls += 1
        if not sc.gfp_mask & self.k.gfp.bits.fs:
            return SHRINK_STOP
        n = min(sc.nr_to_scan, len(self.unused))
        for _ in range(n):
            self.k.kmem_cache_free(self.cache, self.unused.pop())
        return n


def test_slab_reclaim_through_a_shrinker():
    k = machine()
    d = DcacheLike(k, 20000)
    m = meminfo(k)
    assert m["SReclaimable"] > 3000 and m["KReclaimable"] == m["SReclaimable"]
    for _ in range(5):
        k.try_to_free_pages(GFP_NOFS)
    assert len(d.unused) == 20000 and d.calls > 0  # asked, but no __GFP_FS: SHRINK_STOP
    assert k.try_to_free_pages(GFP_KERNEL) > 0  # the freed slab pages count as reclaimed
    assert len(d.unused) < 20000 and ev(k, "slabs_scanned") > 0
    k.drop_caches(2)
    assert not d.unused and meminfo(k)["SReclaimable"] < 200
    assert "insmod (1000): drop_caches: 2" in k.dmesg() and vmstat(k)["drop_slab"] == 1
    k.shrinker_free(d.shrinker)
    assert k.shrink_slab(GFP_KERNEL) == 0
    k.check()


def test_shrinker_api_checks_its_arguments():
    k = machine()
    s = k.shrinker_alloc("x", lambda s, sc: 0, lambda s, sc: 0)
    k.shrinker_register(s)
    with pytest.raises(UsageError):
        k.shrinker_register(s)
    with pytest.raises(UsageError):
        k.shrinker_alloc("y", 1, 2)
    with pytest.raises(UsageError):
        k.shrinker_register(object())
    k.unregister_shrinker(s)


def test_drop_caches_keeps_dirty_and_mapped_pages():
    k = machine()
    k.page_cache_add("clean", 100)
    k.page_cache_add("dirty", 50, dirty=True)
    k.spawn_process("app", 0, file="64K")
    k.drop_caches(1)
    assert k.node_stat("nr_file_pages") == 50 + 16 and vmstat(k)["drop_pagecache"] == 1
    with pytest.raises(UsageError):
        k.drop_caches(4)
    k.check()


# --------------------------------------------------------------------------- the slow path's rules
def test_gfp_atomic_never_reclaims_and_nowait_stops_earlier_silently():
    k = machine()
    k.page_cache_add("cache", 15000)
    n_nowait = exhaust(k, GFP_NOWAIT)
    left_nowait = dma32(k).free_pages
    mark = len(k.log)
    n_atomic = exhaust(k, GFP_ATOMIC)
    assert n_atomic > 0 and dma32(k).free_pages < left_nowait  # below min, where GFP_NOWAIT stopped
    assert k.get_free_pages(GFP_ATOMIC, 0) == 0
    log = k.log.dmesg(since=mark)
    assert "insmod: page allocation failure: order:0, mode:0x820(GFP_ATOMIC), nodemask=(null),cpuset=/," \
           "mems_allowed=0" in log
    assert k.node_stat("nr_file_pages") == 15000  # never reclaimed for them
    assert ev(k, "allocstall_normal") == 0 and ev(k, "pgscan_direct") == 0
    assert k.vmscan.kswapd_state == 2  # but kswapd was woken for them
    assert n_nowait > 0


def test_noretry_is_one_attempt_and_retry_mayfail_keeps_trying_without_oom():
    k = machine()
    k.spawn_process("victim", "20M")
    exhaust(k, GFP_KERNEL | NORETRY)
    stalls = ev(k, "allocstall_normal")
    assert k.get_free_pages(GFP_KERNEL | NORETRY, 0) == 0
    assert ev(k, "allocstall_normal") == stalls + 2  # one try_to_free_pages (it walks the memcgs twice)
    k.clock.advance(11 * 10**9)  # past warn_alloc's rate limit
    assert k.get_free_pages(GFP_KERNEL | RETRY_MAYFAIL, 0) == 0
    assert "mode:0x4cc0(GFP_KERNEL|__GFP_RETRY_MAYFAIL)" in k.dmesg()
    assert ev(k, "oom_kill") == 0 and k.processes[0].alive


def test_retry_mayfail_retries_while_reclaim_progresses():
    k = machine()
    k.page_cache_add("cache", 10000)
    exhaust(k, GFP_KERNEL | NORETRY)  # takes some cache, leaves more
    assert exhaust(k, GFP_KERNEL | RETRY_MAYFAIL) > 0
    assert k.node_stat("nr_file_pages") < 100 and ev(k, "oom_kill") == 0


def test_costly_orders_compact_then_fail_without_oom():
    k = machine()
    k.spawn_process("victim", "4M")
    k.drain_all_pages()
    pages = []
    while True:
        a = k.get_free_pages(GFP_ATOMIC | getattr(gfp, "__GFP_MEMALLOC") | NOWARN, 0)  # every free page
        if not a:
            break
        pages.append(a)
    pages.sort()
    for a in pages[::2]:  # free every other page: plenty free, nothing of order 4
        k.free_pages(a, 0)
    k.drain_all_pages()
    mark = len(k.log)
    assert k.get_free_pages(GFP_KERNEL, 4) == 0
    assert ev(k, "compact_stall") >= 1 and ev(k, "compact_fail") == ev(k, "compact_stall")
    assert ev(k, "compact_success") == 0 and ev(k, "oom_kill") == 0
    assert "page allocation failure: order:4, mode:0xcc0(GFP_KERNEL)" in k.log.dmesg(since=mark)
    assert vmstat(k)["compact_stall"] == ev(k, "compact_stall")


def test_nofail_warns_above_order_1_and_cannot_loop_forever():
    k = machine()
    exhaust(k, GFP_KERNEL)
    with pytest.raises(KernelBug) as e:
        for _ in range(1000):
            k.get_free_pages(GFP_KERNEL | NOFAIL, 2)
    assert e.value.kind == "alloc_livelock"
    log = k.dmesg()
    assert log.count("WARNING: CPU: 0 PID: 1000 at __alloc_pages_slowpath") == 1
    assert "WARNING: CPU: 0 PID: 1000 at __alloc_pages_may_oom" in log  # WARN_ON_ONCE_GFP: no OOM kill possible
    assert "kmemsim: insmod would loop forever in __alloc_pages_slowpath (order:2" in log


def test_nofail_gets_the_reserves_when_the_oom_killer_cannot_help():
    k = machine()
    exhaust(k, GFP_KERNEL)
    assert k.get_free_pages(GFP_KERNEL | NOFAIL | NOWARN, 0) != 0  # ALLOC_NO_WATERMARKS fallback


def test_2_6_24_profile_reclaims_too():
    k = kmemsim.boot("linux-2.6-i386", ram="64M")
    k.vmscan.kswapd_mode = "manual"
    f26 = gfp.FLAGS_2_6
    k.page_cache_add("cache", 8000)
    n = exhaust(k, f26["GFP_KERNEL"])
    assert n > 8000 and ev(k, "pgsteal_direct") > 0
    assert k.vmscan.pagecache.gfp == f26["GFP_HIGHUSER_MOVABLE"]
    k.check()


# --------------------------------------------------------------------------- features, parts
def test_reclaim_features_by_release():
    from kmemsim.features import Features

    names = ("movable_user_pages", "pagecache_folios", "anon_folios", "oom_score_adj")
    want = {"2.6.11": (False, False, False, False), "2.6.24": (True, False, False, False),
            "6.6": (True, True, True, True), "6.18": (True, True, True, True)}
    for version, flags in want.items():
        f = Features(version)
        assert tuple(getattr(f, n) for n in names) == flags, version


def test_gfp_of_user_pages_follows_the_features():
    k = machine()
    b = k.gfp.bits
    assert k.vmscan.pagecache.gfp == b.highuser_movable | b.comp  # filemap_alloc_folio()
    assert k.vmscan.procs.gfp_anon == b.highuser_movable | b.comp | b.zero  # vma_alloc_zeroed_movable_folio()
    old = kmemsim.boot("linux-2.6-i386", ram="64M")
    f26 = gfp.FLAGS_2_6
    assert old.vmscan.procs.gfp_anon == f26["GFP_HIGHUSER_MOVABLE"] | f26["__GFP_ZERO"]  # no folios, no __GFP_COMP


def test_reclaim_holds_its_parts_and_a_constructor_registers_nothing():
    from kmemsim.mm.filemap import PageCache
    from kmemsim.mm.oom_kill import OomKillerBadness, OomKillerScoreAdj, Processes
    from kmemsim.mm.swap import Swap
    from kmemsim.mm.vmscan import Lruvec, Reclaim

    k = machine()
    rc = k.vmscan
    assert isinstance(rc.lru, Lruvec) and isinstance(rc.pagecache, PageCache) and isinstance(rc.swapfile, Swap)
    assert isinstance(rc.procs, Processes) and isinstance(rc.oom, OomKillerScoreAdj)
    assert isinstance(kmemsim.boot("linux-2.6-i386", ram="64M").vmscan.oom, OomKillerBadness)
    assert {"vmscan", "filemap", "processes", "swap"} <= set(k.checks.names())
    checks, counters, tasks = k.checks.names(), k.node_stats.names(), len(k.sched.tasks)
    other = Reclaim(k)  # a second instance, built plainly: no checks, counters or kswapd thread of its own
    assert other.kswapd_task is None
    assert (k.checks.names(), k.node_stats.names(), len(k.sched.tasks)) == (checks, counters, tasks)
    k.swapon("4M")
    assert rc.swap is rc.swapfile.si and rc.swap.pages == 1023 and other.swap is None
    p = k.spawn_process("p", "1M")
    assert rc.processes == [p] and rc.files is rc.pagecache.files and rc.nr_lru is rc.lru.nr_lru
    rc.sysctl_panic_on_oom = 1  # the documented sysctls are the OOM killer's
    assert rc.oom.sysctl_panic_on_oom == 1
    rc.sysctl_panic_on_oom = 0
    k.check()


# --------------------------------------------------------------------------- stateful
class ReclaimMachine(RuleBasedStateMachine):
    """Random page cache, processes, allocations, frees, swap and reclaim; k.check() after each."""

    def __init__(self):
        super().__init__()
        self.files = 0
        self.boot()

    def boot(self):
        self.k = kmemsim.boot(ram="128M", on_bug="report")
        self.k.vmscan.kswapd_mode = "manual"
        self.pages: list[int] = []

    def alive(self):
        return True

    @precondition(alive)
    @rule(n=st.integers(1, 3000), dirty=st.booleans())
    def cache(self, n, dirty):
        self.files += 1
        self.guard(lambda: self.k.page_cache_add(f"f{self.files % 7}", n, dirty))

    @precondition(alive)
    @rule(mb=st.integers(0, 24), adj=st.sampled_from([-1000, 0, 0, 500]), file=st.integers(0, 2),
          shmem=st.integers(0, 2), d_state=st.booleans())
    def spawn(self, mb, adj, file, shmem, d_state):
        self.guard(lambda: self.k.spawn_process(f"p{len(self.k.processes)}", f"{mb}M", file=f"{file}M",
                                                shmem=f"{shmem}M", oom_score_adj=adj, d_state=d_state))

    @precondition(lambda self: self.alive() and self.k.processes)
    @rule(i=st.integers(0, 50), mb=st.integers(1, 8))
    def fault(self, i, mb):
        p = self.k.processes[i % len(self.k.processes)]
        self.guard(lambda: self.k.process_fault(p, f"{mb}M"))

    @precondition(lambda self: self.alive() and self.k.processes)
    @rule(i=st.integers(0, 50))
    def kill(self, i):
        self.k.kill_process(self.k.processes[i % len(self.k.processes)])

    @precondition(lambda self: self.alive() and self.k.processes)
    @rule(i=st.integers(0, 50))
    def swapin(self, i):
        self.guard(lambda: self.k.process_swapin(self.k.processes[i % len(self.k.processes)], 500))

    @precondition(alive)
    @rule(n=st.integers(1, 4000), mask=st.sampled_from([GFP_KERNEL, GFP_KERNEL | NORETRY, GFP_NOIO, GFP_ATOMIC]))
    def alloc(self, n, mask):
        def go():
            for _ in range(n):
                a = self.k.get_free_pages(mask | NOWARN, 0)
                if not a:
                    break
                self.pages.append(a)
        self.guard(go)

    @precondition(lambda self: self.alive() and self.pages)
    @rule(n=st.integers(1, 4000))
    def free(self, n):
        for _ in range(min(n, len(self.pages))):
            self.k.free_pages(self.pages.pop(), 0)

    @precondition(lambda self: self.alive() and self.k.vmscan.swap is None)
    @rule(mb=st.integers(4, 64))
    def swapon(self, mb):
        self.k.swapon(f"{mb}M")

    @precondition(alive)
    @rule(mask=st.sampled_from([GFP_KERNEL, GFP_NOFS, GFP_NOIO]))
    def reclaim(self, mask):
        self.k.try_to_free_pages(mask)

    @precondition(lambda self: self.k.vmscan.swap is not None)
    @rule()
    def swapoff(self):
        try:
            self.k.swapoff()
        except UsageError:
            pass  # -ENOMEM: swap stays on

    @precondition(alive)
    @rule()
    def kswapd(self):
        self.k.wakeup_kswapd()
        self.k.run_kswapd()

    @precondition(alive)
    @rule(what=st.sampled_from(["sync", "writeback", "drop1", "drop3", "touch"]))
    def misc(self, what):
        k = self.k
        if what == "sync":
            k.sync()
        elif what == "writeback":
            k.wakeup_flusher_threads()
        elif what == "touch" and k.processes:
            k.process_touch(k.processes[0])
        elif what.startswith("drop"):
            k.drop_caches(int(what[-1]))

    def guard(self, fn):
        try:
            fn()
        except KernelBug as e:  # the machine is deadlocked on memory, or would spin forever
            assert e.kind in ("panic", "alloc_livelock"), e.kind
            if e.kind == "panic":
                assert "System is deadlocked on memory" in e.report
                self.k.check()  # consistent even so
                self.boot()

    @invariant()
    def consistent(self):
        self.k.check()
        rc = self.k.vmscan
        for p in self.k.processes:
            assert p.rss == len(p.anon) + len(p.file_maps) + len(p.shmem_maps)
        if rc.swap is not None:
            used = sum(p.nr_swapents for p in self.k.processes) + sum(len(f.swapped) for f in rc.files.values())
            assert rc.swap.inuse == used


TestReclaimMachine = ReclaimMachine.TestCase
TestReclaimMachine.settings = settings(max_examples=12, stateful_step_count=14, deadline=None)


def test_pf_memalloc_belongs_to_the_reclaiming_task():
    """A shrinker that sleeps lets other tasks run; they must not inherit the reclaimer's
    PF_MEMALLOC (access to the reserves, no reclaim recursion)."""
    k = kmemsim.boot()
    pa, rc = k.page_alloc, k.vmscan
    wq, inscan, seen = k.waitqueue(), [], []

    def scan(s, sc):
        inscan.append(k.current.comm)
        k.wake_up(wq)
        k.msleep(5)
        return 10

    k.register_shrinker("sleepy", lambda s, sc: 1000, scan)

    def other():
        k.wait_event(wq, lambda: bool(inscan))
        seen.append((rc.memalloc, pa._pfmemalloc_flags(k.gfp.GFP_KERNEL)))

    def reclaimer():
        ctx = pa.prepare(k.gfp.GFP_KERNEL)
        rc.perform_reclaim(ctx.zonelist, 0, k.gfp.GFP_KERNEL, ctx.highest_zoneidx)
        seen.append(("after", rc.memalloc))

    k.kthread_run(other, "other")
    k.kthread_run(reclaimer, "reclaimer")
    k.run()
    assert set(inscan) == {"reclaimer"} and seen[0] == (False, 0) and seen[-1] == ("after", False)
    k.shutdown()
