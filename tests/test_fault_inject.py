"""Fault injection: failslab and fail_page_alloc (kmemsim.mm.fault_inject).

The reference host runs a 6.18 kernel without CONFIG_FAULT_INJECTION (no
/sys/kernel/debug/failslab, no /sys/kernel/slab/*/failslab), so the defaults below come
from the sources: FAULT_ATTR_INITIALIZER (include/linux/fault-inject.h), the initialisers
of mm/failslab.c and mm/fail_page_alloc.c, RATELIMIT_STATE_INIT_DISABLED, and the print
formats of fs/debugfs/file.c; the prandom vectors are lib/random32.c's own selftest.
"""
from __future__ import annotations

import pytest

import kmemsim
from kmemsim.errors import ConfigError, UsageError
from kmemsim.gfp import __GFP_HIGHMEM, __GFP_NOFAIL, __GFP_NOWARN, GFP_ATOMIC, GFP_KERNEL, GFP_NOWAIT
from kmemsim.mm.fault_inject import _seed, kstrtobool, kstrtoll, kstrtoull, prandom_u32_state

ATOMIC_QUIET = GFP_ATOMIC | __GFP_NOWARN


# ===================================================================== defaults and formats
DEFAULTS_6_18 = {
    "probability": "0\n", "interval": "1\n", "times": "1\n", "space": "0\n", "verbose": "2\n",
    "verbose_ratelimit_interval_ms": "0\n", "verbose_ratelimit_burst": "10\n", "task-filter": "N\n",
    "stacktrace-depth": "32\n", "require-start": "0x0000000000000000\n",
    "require-end": "0xffffffffffffffff\n", "reject-start": "0x0000000000000000\n",
    "reject-end": "0x0000000000000000\n",
}


def test_default_knobs_as_the_kernel_prints_them(k):
    for d in ("failslab", "fail_page_alloc"):
        for knob, text in DEFAULTS_6_18.items():
            assert k.debugfs(f"{d}/{knob}") == text, (d, knob)
        assert k.debugfs(f"/sys/kernel/debug/{d}/ignore-gfp-wait") == "Y\n"
    assert k.debugfs("failslab/cache-filter") == "N\n"
    assert k.debugfs("fail_page_alloc/ignore-gfp-highmem") == "Y\n"
    assert k.debugfs("fail_page_alloc/min-order") == "1\n"
    assert k.sysfs("kernel/slab/kmalloc-64/failslab") == "0\n"
    with pytest.raises(UsageError, match="no such file"):
        k.debugfs("failslab/min-order")
    # nothing armed, nothing changed: the fast paths are in place
    assert k.slub.should_failslab is None and k.page_alloc.should_fail_alloc_page is None
    assert k.dispatch.active("kmalloc") == "fast"


def test_writes_parse_as_the_kernel_does_and_bad_ones_change_nothing(k):
    k.debugfs("failslab/probability", "0x10\n")
    assert k.debugfs("failslab/probability") == "16\n"
    k.debugfs("failslab/interval", "010")  # base 0: octal
    assert k.debugfs("failslab/interval") == "8\n"
    k.debugfs("failslab/verbose", "+1")
    assert k.debugfs("failslab/verbose") == "1\n"
    k.debugfs("failslab/times", -1)
    assert k.debugfs("failslab/times") == "-1\n"
    k.debugfs("failslab/space", "4294967295")  # atomic_set() of an int: -1
    assert k.debugfs("failslab/space") == "-1\n"
    k.debugfs("fail_page_alloc/min-order", "4294967298")  # a u32: 2
    assert k.debugfs("fail_page_alloc/min-order") == "2\n"
    k.debugfs("failslab/stacktrace-depth", 100)  # min(val, MAX_STACK_TRACE_DEPTH)
    assert k.debugfs("failslab/stacktrace-depth") == "32\n"
    k.debugfs("failslab/require-start", "0xffffffff81000000")
    assert k.debugfs("failslab/require-start") == "0xffffffff81000000\n"
    for text, want in (("Y", "Y\n"), ("off", "N\n"), ("on", "Y\n"), ("0", "N\n"), ("true", "Y\n"),
                       ("e", "Y\n"), ("d", "N\n"), (True, "Y\n"), (False, "N\n")):
        k.debugfs("failslab/task-filter", text)
        assert k.debugfs("failslab/task-filter") == want, text
    for knob, bad, err in (("probability", "-1", "EINVAL"), ("probability", "abc", "EINVAL"),
                           ("probability", "5 ", "EINVAL"), ("probability", "18446744073709551616", "ERANGE"),
                           ("times", "9223372036854775808", "ERANGE"), ("interval", "08", "EINVAL"),
                           ("task-filter", "x", "EINVAL"), ("task-filter", "", "EINVAL"),
                           ("require-end", "ffff", "EINVAL"), ("probability", 1.5, "expected")):
        before = k.debugfs(f"failslab/{knob}")
        with pytest.raises(UsageError, match=f"failslab/{knob}.*{err}"):
            k.debugfs(f"failslab/{knob}", bad)
        assert k.debugfs(f"failslab/{knob}") == before
    with pytest.raises(UsageError, match="not writable"):
        k.debugfs("extfrag/extfrag_index", "1")


def test_kstrtox_helpers():
    assert kstrtoull("0x1F") == 31 and kstrtoull("+7\n") == 7 and kstrtoull("0") == 0
    assert kstrtoll("-9223372036854775808") == -(1 << 63)
    with pytest.raises(ValueError, match="ERANGE"):
        kstrtoll("-9223372036854775809")
    with pytest.raises(ValueError, match="EINVAL"):
        kstrtoull("0x")
    with pytest.raises(ValueError, match="EINVAL"):
        kstrtoull("1\n\n")
    assert kstrtobool("ON") is True and kstrtobool("oF") is False
    with pytest.raises(ValueError):
        kstrtobool("o")


# ===================================================================== the RNG: lib/random32.c's selftest
def _selftest_state(seed: int) -> list[int]:
    lcg = lambda x: (x * 69069) & 0xFFFFFFFF  # noqa: E731 - prandom_state_selftest_seed's LCG
    s1 = _seed(lcg(seed), 2)
    s2 = _seed(lcg(s1), 8)
    s3 = _seed(lcg(s2), 16)
    s4 = _seed(lcg(s3), 128)
    st = [s1, s2, s3, s4]
    for _ in range(10):  # prandom_warmup
        prandom_u32_state(st)
    return st


@pytest.mark.parametrize("seed,result", [(1, 3484351685), (2, 2623130059), (3, 3125133893), (4, 984847254)])
def test_prandom_seed_boundary_vectors(seed, result):
    assert prandom_u32_state(_selftest_state(seed)) == result


@pytest.mark.parametrize("seed,iteration,result", [(931557656, 959, 2975593782), (1339693295, 876, 3887776532),
                                                   (1967883163, 508, 10734624), (407983964, 921, 728767059)])
def test_prandom_taus113_vectors(seed, iteration, result):
    st = _selftest_state(seed)
    for _ in range(iteration - 1):
        prandom_u32_state(st)
    assert prandom_u32_state(st) == result


# ===================================================================== failslab
def test_kmalloc_fails_times_then_works_again(k):
    k.debugfs("failslab/probability", 100)
    k.debugfs("failslab/times", 3)
    got = [k.kmalloc(64, GFP_ATOMIC) for _ in range(5)]
    assert got[:3] == [0, 0, 0] and all(got[3:])
    assert k.debugfs("failslab/times") == "0\n"
    fs = k.fault_inject.failslab
    assert (fs.calls, fs.failures) == (3, 3)  # times reached 0: the hook is gone
    assert k.slub.should_failslab is None and k.dispatch.active("kmalloc") == "fast"  # fast paths back
    log = k.dmesg()
    assert log.count("FAULT_INJECTION: forcing a failure.") == 3
    assert "SLUB: Unable to allocate" not in log and "page allocation failure" not in log
    for p in got[3:]:
        k.kfree(p)
    k.check()


def test_blocking_allocations_are_spared_until_ignore_gfp_wait_is_off(k):
    k.debugfs("failslab/probability", 100)
    k.debugfs("failslab/times", -1)
    p = k.kmalloc(128, GFP_KERNEL)
    assert p and k.fault_inject.failslab.calls == 0
    assert k.kmalloc(128, GFP_NOWAIT) == 0  # no direct reclaim: not spared
    k.debugfs("failslab/ignore-gfp-wait", "N")
    assert k.kmalloc(128, GFP_KERNEL) == 0
    c = k.kmem_cache_create("fi_dev", 40)
    assert k.kmem_cache_alloc(c, GFP_KERNEL) == 0 and k.kmem_cache_zalloc(c, GFP_KERNEL) == 0
    assert k.fault_inject.failslab.times == -1  # -1: never used up
    k.kfree(p)


def test_nofail_is_never_failed(k):
    for d in ("failslab", "fail_page_alloc"):
        k.debugfs(f"{d}/probability", 100)
        k.debugfs(f"{d}/times", -1)
        k.debugfs(f"{d}/ignore-gfp-wait", "N")
    k.debugfs("fail_page_alloc/min-order", 0)
    fpa = k.fault_inject.fail_page_alloc
    assert k.get_free_pages(GFP_KERNEL | __GFP_NOFAIL, 1)
    assert k.kmalloc(64 << 10, GFP_KERNEL | __GFP_NOFAIL)  # kmalloc_large: the page allocator
    assert fpa.calls == 0  # a NOFAIL call never reaches should_fail_ex
    for size in (64, 1000, 4096):
        assert k.kmalloc(size, GFP_KERNEL | __GFP_NOFAIL)
    assert k.fault_inject.failslab.calls == 0
    # allocate_slab() drops __GFP_NOFAIL for its first try, which may fail; the fallback keeps it
    assert fpa.failures == fpa.calls > 0
    assert k.kmalloc(64, GFP_KERNEL) == 0


def test_interval_fails_every_nth_call(k):
    k.debugfs("failslab/probability", 100)
    k.debugfs("failslab/interval", 3)
    k.debugfs("failslab/times", -1)
    got = [bool(k.kmalloc(32, ATOMIC_QUIET)) for _ in range(9)]
    assert got == [True, True, False] * 3


def test_space_lets_that_many_bytes_through_first(k):
    k.debugfs("failslab/probability", 100)
    k.debugfs("failslab/space", 200)
    got = [bool(k.kmalloc(64, ATOMIC_QUIET)) for _ in range(5)]  # kmalloc-64: object_size 64
    assert got == [True, True, True, False, True]  # 200 -> 136 -> 72 -> 8, then 8 <= 64: fail; times 1
    assert k.debugfs("failslab/space") == "8\n" and k.debugfs("failslab/times") == "0\n"


def test_probability_is_deterministic_with_the_seed():
    def run(seed):
        k = kmemsim.boot(seed=seed)
        k.debugfs("failslab/probability", 30)
        k.debugfs("failslab/times", -1)
        k.debugfs("failslab/verbose", 0)
        return [k.kmalloc(64, GFP_ATOMIC) != 0 for _ in range(300)]

    a, b, c = run(7), run(7), run(8)
    assert a == b and a != c
    assert 150 < sum(a) < 270  # about 70 % succeed


def test_verbose_levels_and_the_report_text(k):
    k.debugfs("failslab/probability", 100)
    k.debugfs("failslab/times", 5)
    n = len(k.log)
    k.debugfs("failslab/verbose", 0)
    assert k.kmalloc(64, GFP_ATOMIC) == 0 and len(k.log) == n
    k.debugfs("failslab/verbose", 1)
    assert k.kmalloc(64, GFP_ATOMIC) == 0
    new = [r.text for r in list(k.log.records)[n:]]
    assert new == ["FAULT_INJECTION: forcing a failure.",
                   "name failslab, interval 1, probability 100, space 0, times 4"]
    assert list(k.log.records)[n].level == 5  # KERN_NOTICE
    n = len(k.log)
    k.debugfs("failslab/verbose", 2)
    assert k.kmalloc(64, GFP_ATOMIC) == 0
    new = [r.text for r in list(k.log.records)[n:]]
    assert new[1] == "name failslab, interval 1, probability 100, space 0, times 3"
    assert "Call Trace:" in new and new[2].startswith("CPU: 0 UID: 0 PID: 1000 Comm: insmod")
    n = len(k.log)
    assert k.kmalloc(64, ATOMIC_QUIET) == 0 and len(k.log) == n  # __GFP_NOWARN: FAULT_NOWARN


def test_verbose_ratelimit(k):
    k.debugfs("failslab/probability", 100)
    k.debugfs("failslab/times", -1)
    k.debugfs("failslab/verbose", 1)
    k.debugfs("failslab/verbose_ratelimit_interval_ms", 250)  # ratelimit_state.interval: jiffies (HZ 250)
    k.debugfs("failslab/verbose_ratelimit_burst", 2)
    for _ in range(5):
        assert k.kmalloc(64, GFP_ATOMIC) == 0
    assert k.dmesg().count("forcing a failure.") == 2
    k.clock.advance(1_100_000_000)  # past the interval
    assert k.kmalloc(64, GFP_ATOMIC) == 0
    log = k.dmesg()
    assert "fail_dump: 3 callbacks suppressed" in log and log.count("forcing a failure.") == 3
    k.debugfs("failslab/verbose_ratelimit_burst", 0)  # interval > 0, burst 0: never print
    k.kmalloc(64, GFP_ATOMIC)
    assert k.dmesg().count("forcing a failure.") == 3


def test_task_filter_and_make_it_fail(k):
    fi = k.fault_inject
    k.debugfs("failslab/probability", 100)
    k.debugfs("failslab/times", -1)
    k.debugfs("failslab/task-filter", "Y")
    assert fi.read_proc("make-it-fail") == "0\n"
    assert k.kmalloc(64, ATOMIC_QUIET)
    fi.write_proc("make-it-fail", 1)
    assert fi.read_proc("make-it-fail") == "1\n"
    assert k.kmalloc(64, ATOMIC_QUIET) == 0
    with k.hardirq():  # fail_task(): in_task() && make_it_fail
        assert k.kmalloc(64, ATOMIC_QUIET)
    with pytest.raises(UsageError, match="EINVAL"):
        fi.write_proc("make-it-fail", 2)
    assert fi.read_proc("make-it-fail") == "1\n"


def test_fail_nth_fails_the_nth_call_even_with_probability_zero(k):
    fi = k.fault_inject
    fi.write_proc("fail-nth", 3)
    assert k.slub.should_failslab is not None  # armed by fail-nth alone
    got = [bool(k.kmalloc(64, GFP_ATOMIC)) for _ in range(4)]
    assert got == [True, True, False, True]
    assert fi.read_proc("fail-nth") == "0\n"
    assert k.debugfs("failslab/times") == "0\n"  # the goto fail path uses times up too
    assert k.slub.should_failslab is None
    with pytest.raises(UsageError, match="ERANGE"):
        fi.write_proc("fail-nth", 1 << 32)


def test_cache_filter_and_the_sysfs_failslab_attribute(k):
    a = k.kmem_cache_create("fi_a", 200, 0, kmemsim.SLAB_HWCACHE_ALIGN)
    b = k.kmem_cache_create("fi_b", 72)
    assert b.refcount > 1  # merged into an existing cache
    with pytest.raises(UsageError, match="EINVAL"):
        k.sysfs_write(f"kernel/slab/{b.name}/failslab", "1")
    k.sysfs_write(f"kernel/slab/{a.name}/failslab", "1")
    assert k.sysfs(f"kernel/slab/{a.name}/failslab") == "1\n"
    k.debugfs("failslab/probability", 100)
    k.debugfs("failslab/times", -1)
    k.debugfs("failslab/cache-filter", "Y")
    assert k.kmem_cache_alloc(a, ATOMIC_QUIET) == 0
    p, q = k.kmem_cache_alloc(b, ATOMIC_QUIET), k.kmalloc(64, ATOMIC_QUIET)
    assert p and q
    # a SLAB_FAILSLAB cache is never merged (SLAB_NEVER_MERGE)
    c = k.kmem_cache_create("fi_c", 200, 0, kmemsim.SLAB_HWCACHE_ALIGN)
    assert c is not a
    k.sysfs_write(f"kernel/slab/{a.name}/failslab", "0")
    assert k.kmem_cache_alloc(a, ATOMIC_QUIET)


def test_stack_filter_require_range_means_never(k):
    k.debugfs("failslab/probability", 100)
    k.debugfs("failslab/times", -1)
    k.debugfs("failslab/require-start", "0xffffffff81000000")
    assert k.kmalloc(64, ATOMIC_QUIET)  # the model's stacks hold no kernel text addresses
    k.debugfs("failslab/require-start", 0)
    k.debugfs("failslab/reject-start", "0xffffffff81000000")
    k.debugfs("failslab/reject-end", "0xffffffffa0000000")
    assert k.kmalloc(64, ATOMIC_QUIET) == 0


# ===================================================================== fail_page_alloc
def test_fail_page_alloc_min_order_and_no_warn_alloc(k):
    k.debugfs("fail_page_alloc/probability", 100)
    k.debugfs("fail_page_alloc/times", -1)
    assert k.get_free_pages(GFP_ATOMIC, 0)  # below min-order 1
    assert k.get_free_pages(GFP_ATOMIC, 1) == 0
    assert k.alloc_pages(GFP_ATOMIC, 3) is None
    assert k.get_free_pages(GFP_KERNEL, 1)  # ignore-gfp-wait
    assert k.kmalloc(16 << 10, GFP_ATOMIC) == 0  # kmalloc_large: order 2
    k.debugfs("fail_page_alloc/min-order", 0)
    assert k.dispatch.state()["get_free_pages"] == "general (fail_page_alloc)"  # the fast path steps aside
    assert k.get_free_pages(GFP_ATOMIC, 0) == 0
    log = k.dmesg()
    assert "page allocation failure" not in log and "name fail_page_alloc, interval 1" in log
    assert k.page_alloc.vm_events["pgalloc_fail"] == 0
    k.debugfs("fail_page_alloc/probability", 0)
    assert k.dispatch.active("get_free_pages") == "fast" and k.get_free_pages(GFP_ATOMIC, 0)
    k.check()


def test_fail_page_alloc_ignore_gfp_highmem_and_space_in_pages(k):
    k.debugfs("fail_page_alloc/probability", 100)
    k.debugfs("fail_page_alloc/times", -1)
    assert k.alloc_pages(GFP_ATOMIC | __GFP_HIGHMEM, 1) is not None
    k.debugfs("fail_page_alloc/ignore-gfp-highmem", "N")
    assert k.alloc_pages(GFP_ATOMIC | __GFP_HIGHMEM, 1) is None
    k.debugfs("fail_page_alloc/space", 5)  # counted in pages (1 << order)
    assert k.alloc_pages(ATOMIC_QUIET, 2) is not None  # 5 > 4: 1 left
    assert k.alloc_pages(ATOMIC_QUIET, 1) is None


def test_failed_slab_page_falls_back_to_the_minimum_order(k):
    """allocate_slab() asks for the cache's order without direct reclaim, then its minimum
    order with the caller's flags: fail_page_alloc hits only the first try."""
    c = k.kmem_cache_create("fi_big", 1000)
    assert c.order > c.min_order
    k.debugfs("fail_page_alloc/probability", 100)
    k.debugfs("fail_page_alloc/times", 1)
    assert k.kmem_cache_alloc(c, GFP_KERNEL)
    assert k.fault_inject.fail_page_alloc.failures == 1
    assert k.slub.slabs(c)[0].order == c.min_order


# ===================================================================== boot parameters, the classic profile
def test_boot_parameters():
    k = kmemsim.boot(failslab="1,100,0,2", fail_page_alloc=" 2, 100, 0, -1 ")
    assert "failslab=1,100,0,2" in k.cmdline
    assert [bool(k.kmalloc(64, ATOMIC_QUIET)) for _ in range(3)] == [False, False, True]
    assert k.debugfs("fail_page_alloc/interval") == "2\n" and k.debugfs("fail_page_alloc/times") == "-1\n"
    assert [k.get_free_pages(ATOMIC_QUIET, 1) != 0 for _ in range(4)] == [True, False, True, False]
    for bad in ("1,100,0", "1,-100,0,1", "x", "1 ,100,0,1"):
        with pytest.raises(ConfigError, match="failed to parse arguments"):
            kmemsim.boot(failslab=bad)
    with pytest.raises(ConfigError, match="unknown tunable 'failslab'"):
        kmemsim.boot("linux-2.6-i386", failslab="1,100,0,1")


def test_linux_2_6_has_fail_page_alloc_only(k32):
    with pytest.raises(UsageError, match="no failslab"):
        k32.debugfs("failslab/probability")
    with pytest.raises(UsageError, match="not modelled"):
        k32.sysfs("kernel/slab/kmalloc-64/failslab")
    with pytest.raises(UsageError, match="no such file"):
        k32.debugfs("fail_page_alloc/verbose_ratelimit_burst")
    assert k32.debugfs("fail_page_alloc/require-end") == "4294967295\n"  # 2.6.24: a decimal ulong
    atomic = k32.gfp.value("GFP_ATOMIC")
    k32.debugfs("fail_page_alloc/probability", "100abc")  # simple_strtol: no error in 2.6.24
    assert k32.debugfs("fail_page_alloc/probability") == "100\n"
    k32.debugfs("fail_page_alloc/ignore-gfp-wait", "x")  # write_file_bool ignores it
    assert k32.debugfs("fail_page_alloc/ignore-gfp-wait") == "Y\n"
    assert k32.get_free_pages(atomic, 1) == 0
    assert k32.dmesg().count("FAULT_INJECTION: forcing a failure\n") == 1  # 2.6.24: one line, no name
    assert k32.debugfs("fail_page_alloc/times") == "0\n"
    with pytest.raises(UsageError, match="fail-nth"):
        k32.fault_inject.write_proc("fail-nth", 1)


def test_classic_space_moves_even_with_probability_zero(k32):
    k32.debugfs("fail_page_alloc/space", 10)  # 2.6.24 should_fail() has no early return for 0
    assert k32.get_free_pages(k32.gfp.value("GFP_ATOMIC"), 1)
    assert k32.debugfs("fail_page_alloc/space") == "8\n"


# ===================================================================== other kernels, by their features
def _fi(k, version):
    """A FaultInject built plainly on ``k`` with another release's features (nothing registered,
    no hook installed until a knob changes)."""
    from kmemsim.features import Features
    from kmemsim.mm.fault_inject import FaultInject

    k.features = Features(version)
    return FaultInject(k)


def test_2_6_11_has_no_fault_injection(k32):
    fi = _fi(k32, "2.6.11")
    assert fi.attrs == {}
    with pytest.raises(UsageError, match="2.6.20"):
        fi.debugfs_list("fail_page_alloc", "")
    with pytest.raises(UsageError, match="make-it-fail"):
        fi.read_proc("make-it-fail")


def test_the_knobs_follow_the_kernel():
    from kmemsim.features import Features
    from kmemsim.mm.fault_inject import knobs_for

    old, mid, new = (knobs_for(Features(v)) for v in ("2.6.24", "4.14", "6.6"))
    assert "verbose_ratelimit_burst" not in old and "verbose_ratelimit_burst" in mid
    assert old["require-end"][1] == mid["require-end"][1] == "ulong" and new["require-end"][1] == "xul"


def test_4_14_checks_the_stack_filter_last_and_dumps_nowarn_failures(k):
    fi = _fi(k, "4.14")
    attr = fi.fail_page_alloc
    attr.probability, attr.space, attr.require_start = 100, 10, 1  # a require range: the filter refuses
    assert not fi.should_fail_ex(attr, 4)
    assert attr.space == 6  # space moved before the (last) stack filter
    mine = k.fault_inject.fail_page_alloc  # the machine's own (6.18): the filter comes before space
    mine.probability, mine.space, mine.require_start = 100, 10, 1
    assert not k.fault_inject.should_fail_ex(mine, 4)
    assert mine.space == 10
    attr.space, attr.require_start = 0, 0
    assert fi.should_fail_alloc_page(k.gfp.mask(GFP_ATOMIC | __GFP_NOWARN), 1)  # no FAULT_NOWARN before 6.1
    assert "FAULT_INJECTION: forcing a failure." in k.dmesg() and "name fail_page_alloc, interval 1," in k.dmesg()
