"""Fault injection: failslab and fail_page_alloc, with the kernel's debugfs knobs.

Models Linux 6.18 (read from 6.17-rc3 sources; lib/fault-inject.c did not change in 6.18):

* ``lib/fault-inject.c`` -- ``struct fault_attr``, ``should_fail_ex()`` (the order of its
  checks: fail-nth, probability 0, task-filter, times, the stack filter, space, interval,
  the draw), ``fail_dump()``, ``setup_fault_attr()``, ``fault_create_debugfs_attr()`` and
  ``fault_prandom_u32_below_100()`` (a per-CPU prandom state, ``% 100``);
* ``include/linux/fault-inject.h`` -- ``FAULT_ATTR_INITIALIZER`` (interval 1, times 1,
  require_end ULONG_MAX, stacktrace_depth 32, verbose 2, ratelimit disabled: interval 0,
  burst ``DEFAULT_RATELIMIT_BURST`` 10);
* ``mm/failslab.c`` -- ``should_failslab()``: not for ``__GFP_NOFAIL``, not for blocking
  allocations while ``ignore-gfp-wait`` (default Y), only SLAB_FAILSLAB caches while
  ``cache-filter``; ``__GFP_NOWARN`` silences ``fail_dump`` (FAULT_NOWARN); size is
  ``s->object_size``.  Called from ``slab_pre_alloc_hook()`` (mm/slub.c), so a failed
  allocation is NULL with no "SLUB: Unable to allocate memory" report;
* ``mm/fail_page_alloc.c`` -- ``should_fail_alloc_page()``: not below ``min-order``
  (default 1), not for ``__GFP_NOFAIL``, ``ignore-gfp-highmem`` and ``ignore-gfp-wait``
  (both default Y); size ``1 << order``.  Called from ``prepare_alloc_pages()``, whose
  failure makes ``__alloc_frozen_pages_noprof()`` return NULL at once: no warn_alloc, no
  ``mm_page_alloc`` event;
* ``lib/random32.c`` -- ``prandom_u32_state()`` (LFSR113) and ``prandom_seed_full_state()``,
  seeded here from the machine's seed instead of get_random_bytes(), so the same seed
  gives the same failures;
* ``lib/ratelimit.c`` -- ``___ratelimit()`` (the 6.16+ form) for ``verbose_ratelimit_*``
  (the "_ms" knob holds the raw ``ratelimit_state.interval``, which is in jiffies);
* ``fs/libfs.c`` ``simple_attr_write_xsigned()``, ``fs/debugfs/file.c``, ``lib/kstrtox.c`` --
  how the knobs print and parse (``%llu``/``%lld``/``0x%016llx``/``Y``; ``kstrtoull``/
  ``kstrtoll`` on at most 23 bytes, ``kstrtobool`` on at most 3);
* ``fs/proc/base.c`` -- ``/proc/<pid>/make-it-fail`` and ``/proc/<pid>/fail-nth``;
* ``mm/slub.c`` -- ``/sys/kernel/slab/<cache>/failslab`` (``-EINVAL`` for a merged cache).

linux-2.6-i386 (2.6.24): fail_page_alloc exists (``should_fail()`` of 2.6.24: no fail-nth,
no early return for probability 0 -- space and the interval count move even then -- the
stack filter last, ``task->make_it_fail`` outside interrupts; ``fail_dump`` prints only
"FAULT_INJECTION: forcing a failure"; no ratelimit knobs; ``simple_attr_write`` takes
``simple_strtol()`` of anything and a bool ignores a first character it does not know;
the draw is ``random32() % 100``, the 3-word taus88).  failslab does not: in 2.6.24 it
lived in mm/slab.c, and the profile runs SLUB, which gained failslab only in 2.6.31.

Each difference between these kernels is a feature of the machine's kernel
(:mod:`kmemsim.features`), read once at boot: ``fail_page_alloc`` (2.6.20: the framework;
2.6.11 has none), ``failslab_slub`` (2.6.31), ``fault_prob0_shortcut`` (the early return for
probability 0), ``fault_inject_fail_nth`` (fail-nth; fail_task() uses in_task() from then),
``fault_stacktrace_early`` and ``should_fail_ex`` (6.1: the stack filter's place, FAULT_NOWARN),
``fault_inject_ratelimit`` (the ratelimit knobs and fail_dump()'s long notice),
``fault_attr_xul`` (hex ranges), ``debugfs_strict_parse`` (kstrto* parsing) and
``prandom_lfsr113`` (the generator).  6.6 reads as 6.18 here (lib/fault-inject.c,
mm/failslab.c, mm/fail_page_alloc.c checked) except that its draw is
``get_random_u32_below(100)``, which no seed reproduces: the model draws from the seeded
prandom state, and its ratelimit follows 6.16's ___ratelimit().

Simplified, and said so:

* the model's ``SLAB_*`` values follow the reference host's config, where CONFIG_FAILSLAB
  is off and SLAB_FAILSLAB is 0 (with it on, SLAB_FAILSLAB is 0x2000 and the later flags
  move up).  A cache's SLAB_FAILSLAB mark is kept beside ``s->flags`` in
  ``k.slab_impl.failslab_caches`` and set through the sysfs attribute only (``slab_debug=A``
  and a SLAB_FAILSLAB ``kmem_cache_create`` flag do nothing); a marked cache is not merged;
* should_failslab()'s exemption of the bootstrap ``kmem_cache`` cache has nothing to
  exempt: the model allocates no kmem_cache structures from a slab;
* CONFIG_FAULT_INJECTION_STACKTRACE_FILTER's knobs are kept and print as the kernel's,
  but the model's call stacks hold no kernel text addresses: ``fail_stacktrace()`` sees an
  empty trace, so a require range makes the attribute never fire and a reject range
  never matches (exactly the kernel's rule on an empty trace);
* while an attribute cannot fire (6.18: probability 0 or times 0, and no task has
  fail-nth set) the hook is absent and the allocation fast paths run; the kernel's
  ``should_fail_ex`` returns false at once then, with no side effect, so nothing differs
  but the ``calls`` count, which counts the calls made while the attribute could fire.
"""
from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..fault_attr import kstrtobool, kstrtoll, kstrtoull, parse_setup_fault_attr, vsscanf_fault
from ..printk import KERN_NOTICE, KERN_WARNING
from ..records import Record
from ..registry import DirHandler
from ..sched import HARDIRQ_MASK, NMI_MASK, SOFTIRQ_OFFSET

if TYPE_CHECKING:  # pragma: no cover
    from ..features import Features
    from ..machine import Machine as Kernel

__all__ = [
    "FaultAttr", "FailSlab", "FailPageAlloc", "FaultInject", "RateLimitState", "fault_inject_init", "knobs_for",
    "parse_setup_fault_attr", "prandom_u32_state", "kstrtoull", "kstrtoll", "kstrtobool",
]

MAX_STACK_TRACE_DEPTH = 32
DEFAULT_RATELIMIT_BURST = 10
_U32 = 0xFFFFFFFF
_U64 = (1 << 64) - 1


def _s32(v: int) -> int:
    v &= _U32
    return v - (1 << 32) if v & 0x80000000 else v


def _simple_strtol(s: str, bits: int) -> int:
    """2.6.24 simple_strtol(s, NULL, 0) on a ``bits``-bit long: whatever digits lead, never an error."""
    neg = s[:1] == "-"
    if neg:
        s = s[1:]
    base = 10
    if s[:1] == "0":
        base, s = 8, s[1:]
        if s[:1] in ("x", "X") and s[1:2] and s[1:2] in "0123456789abcdefABCDEF":
            base, s = 16, s[1:]
    mask = (1 << bits) - 1
    res = 0
    for c in s:
        v = int(c, 16) if c in "0123456789abcdefABCDEF" else 99
        if v >= base:
            break
        res = (res * base + v) & mask
    if neg:
        res = (-res) & mask
    return res - (1 << bits) if res >> (bits - 1) else res  # a signed long


# ===================================================================== lib/random32.c
def _taus(s: int, a: int, b: int, c: int, d: int) -> int:
    return (((s & c) << d) & _U32) ^ ((((s << a) & _U32) ^ s) >> b)


def prandom_u32_state(state: list[int]) -> int:
    """prandom_u32_state(): one step of the LFSR113 Tausworthe generator (state s1..s4)."""
    s1, s2, s3, s4 = state
    s1 = _taus(s1, 6, 13, 4294967294, 18)
    s2 = _taus(s2, 2, 27, 4294967288, 2)
    s3 = _taus(s3, 13, 21, 4294967280, 7)
    s4 = _taus(s4, 3, 12, 4294967168, 13)
    state[:] = [s1, s2, s3, s4]
    return s1 ^ s2 ^ s3 ^ s4


def _random32_26(state: list[int]) -> int:
    """2.6.24 __random32(): the 3-word taus88 generator."""
    s1, s2, s3 = state
    s1 = _taus(s1, 13, 19, 4294967294, 12)
    s2 = _taus(s2, 2, 25, 4294967288, 4)
    s3 = _taus(s3, 3, 11, 4294967280, 17)
    state[:] = [s1, s2, s3]
    return s1 ^ s2 ^ s3


def _seed(x: int, m: int) -> int:
    return x + m if x < m else x


def prandom_seed_state(seeds: tuple[int, int, int, int]) -> list[int]:
    """prandom_seed_full_state() for one CPU: __seed() each word, then prandom_warmup()."""
    st = [_seed(seeds[0], 2), _seed(seeds[1], 8), _seed(seeds[2], 16), _seed(seeds[3], 128)]
    for _ in range(10):
        prandom_u32_state(st)
    return st


# ===================================================================== lib/ratelimit.c
class RateLimitState(Record):
    """struct ratelimit_state (interval and burst as the u32 bits debugfs writes)."""

    __match_args__ = ("interval", "burst", "n_left", "missed", "initialized", "begin")

    interval: int = 0  # RATELIMIT_STATE_INIT_DISABLED
    burst: int = DEFAULT_RATELIMIT_BURST
    n_left: int = 0
    missed: int = 0
    initialized: bool = False
    begin: int = 0

    def __init__(self, interval: int = 0, burst: int = DEFAULT_RATELIMIT_BURST, n_left: int = 0, missed: int = 0,
                 initialized: bool = False, begin: int = 0) -> None:
        vars(self).update(interval=interval, burst=burst, n_left=n_left, missed=missed, initialized=initialized,
                          begin=begin)

    def ratelimit(self, k: Kernel, func: str) -> bool:
        """___ratelimit(rs, func): may the caller print?  Reports the suppressed count
        ("<func>: N callbacks suppressed") when a new interval begins."""
        interval, burst = _s32(self.interval), _s32(self.burst)
        if interval <= 0 or burst <= 0:
            if interval < 0 or burst < 0:
                k.report.warn_once(f"ratelimit negative {id(self)}", "___ratelimit+0x0/0x0",
                            f"Negative interval ({interval}) or burst ({burst}): Uninitialized "
                            "ratelimit_state structure?")
            ret = interval == 0 or burst > 0
            if self.initialized and (interval or burst):
                self.initialized = False  # force re-initialization once re-enabled
            if not ret:
                self.missed += 1
            return ret
        bits = k.layout.bits
        mask = (1 << bits) - 1
        now = k.jiffies
        if not self.initialized:
            self.begin = now
            self.initialized = True
            self.n_left = burst
        diff = (self.begin + interval - now) & mask  # time_is_before_jiffies(begin + interval)
        if diff >> (bits - 1):
            self.n_left = burst
            self.begin = now
            m, self.missed = self.missed, 0
            if m:
                k.printk(f"{func}: {m} callbacks suppressed", KERN_WARNING)
        if self.n_left > 0:
            self.n_left -= 1
            return True
        self.missed += 1
        return False


# ===================================================================== struct fault_attr
class FaultAttr(Record):
    """struct fault_attr, plus the model's counts (``calls``, ``failures``)."""

    __match_args__ = ("name", "ulong_max", "probability", "interval", "times", "space", "verbose", "task_filter",
                       "stacktrace_depth", "require_start", "require_end", "reject_start", "reject_end", "count",
                       "ratelimit_state", "calls", "failures")

    name: str  # the debugfs directory: attr->dname, printed by %pd
    ulong_max: int
    probability: int = 0
    interval: int = 1
    times: int = 1
    space: int = 0
    verbose: int = 2
    task_filter: bool = False
    stacktrace_depth: int = MAX_STACK_TRACE_DEPTH
    require_start: int = 0
    require_end: int = -1  # ULONG_MAX, set in __post_init__
    reject_start: int = 0
    reject_end: int = 0
    count: int = 0
    ratelimit_state: RateLimitState
    #: should_fail_ex() calls made while the attribute could fire, and the failures injected
    calls: int = 0
    failures: int = 0

    def __init__(self, name: str, ulong_max: int, probability: int = 0, interval: int = 1, times: int = 1,
                 space: int = 0, verbose: int = 2, task_filter: bool = False,
                 stacktrace_depth: int = MAX_STACK_TRACE_DEPTH, require_start: int = 0, require_end: int = -1,
                 reject_start: int = 0, reject_end: int = 0, count: int = 0,
                 ratelimit_state: RateLimitState | None = None, calls: int = 0, failures: int = 0) -> None:
        vars(self).update(name=name, ulong_max=ulong_max, probability=probability, interval=interval, times=times,
                          space=space, verbose=verbose, task_filter=task_filter, stacktrace_depth=stacktrace_depth,
                          require_start=require_start, require_end=require_end, reject_start=reject_start,
                          reject_end=reject_end, count=count,
                          ratelimit_state=RateLimitState() if ratelimit_state is None else ratelimit_state,
                          calls=calls, failures=failures)
        self.__post_init__()

    def __post_init__(self) -> None:
        if self.require_end == -1:
            self.require_end = self.ulong_max

    def fail_stacktrace(self) -> bool:
        """fail_stacktrace() on the model's stack, which has no kernel text addresses:
        true unless a require range is set."""
        return self.require_start == 0 and self.require_end == self.ulong_max


class FailSlab(FaultAttr):
    """mm/failslab.c ``failslab``: the attr, ignore-gfp-wait (default Y), cache-filter (N)."""

    __match_args__ = ("name", "ulong_max", "probability", "interval", "times", "space", "verbose", "task_filter",
                       "stacktrace_depth", "require_start", "require_end", "reject_start", "reject_end", "count",
                       "ratelimit_state", "calls", "failures", "ignore_gfp_reclaim", "cache_filter")

    ignore_gfp_reclaim: bool = True
    cache_filter: bool = False

    def __init__(self, name: str, ulong_max: int, probability: int = 0, interval: int = 1, times: int = 1,
                 space: int = 0, verbose: int = 2, task_filter: bool = False,
                 stacktrace_depth: int = MAX_STACK_TRACE_DEPTH, require_start: int = 0, require_end: int = -1,
                 reject_start: int = 0, reject_end: int = 0, count: int = 0,
                 ratelimit_state: RateLimitState | None = None, calls: int = 0, failures: int = 0,
                 ignore_gfp_reclaim: bool = True, cache_filter: bool = False) -> None:
        vars(self).update(name=name, ulong_max=ulong_max, probability=probability, interval=interval, times=times,
                          space=space, verbose=verbose, task_filter=task_filter, stacktrace_depth=stacktrace_depth,
                          require_start=require_start, require_end=require_end, reject_start=reject_start,
                          reject_end=reject_end, count=count,
                          ratelimit_state=RateLimitState() if ratelimit_state is None else ratelimit_state,
                          calls=calls, failures=failures, ignore_gfp_reclaim=ignore_gfp_reclaim,
                          cache_filter=cache_filter)
        self.__post_init__()


class FailPageAlloc(FaultAttr):
    """mm/fail_page_alloc.c ``fail_page_alloc``: ignore-gfp-wait, ignore-gfp-highmem (Y), min-order (1)."""

    __match_args__ = ("name", "ulong_max", "probability", "interval", "times", "space", "verbose", "task_filter",
                       "stacktrace_depth", "require_start", "require_end", "reject_start", "reject_end", "count",
                       "ratelimit_state", "calls", "failures", "ignore_gfp_reclaim", "ignore_gfp_highmem", "min_order")

    ignore_gfp_reclaim: bool = True
    ignore_gfp_highmem: bool = True
    min_order: int = 1

    def __init__(self, name: str, ulong_max: int, probability: int = 0, interval: int = 1, times: int = 1,
                 space: int = 0, verbose: int = 2, task_filter: bool = False,
                 stacktrace_depth: int = MAX_STACK_TRACE_DEPTH, require_start: int = 0, require_end: int = -1,
                 reject_start: int = 0, reject_end: int = 0, count: int = 0,
                 ratelimit_state: RateLimitState | None = None, calls: int = 0, failures: int = 0,
                 ignore_gfp_reclaim: bool = True, ignore_gfp_highmem: bool = True, min_order: int = 1) -> None:
        vars(self).update(name=name, ulong_max=ulong_max, probability=probability, interval=interval, times=times,
                          space=space, verbose=verbose, task_filter=task_filter, stacktrace_depth=stacktrace_depth,
                          require_start=require_start, require_end=require_end, reject_start=reject_start,
                          reject_end=reject_end, count=count,
                          ratelimit_state=RateLimitState() if ratelimit_state is None else ratelimit_state,
                          calls=calls, failures=failures, ignore_gfp_reclaim=ignore_gfp_reclaim,
                          ignore_gfp_highmem=ignore_gfp_highmem, min_order=min_order)
        self.__post_init__()


#: debugfs file -> (field, kind) of fault_create_debugfs_attr(), in the kernel's order (6.18).
#: Without ``fault_inject_ratelimit`` the verbose_ratelimit_* files are absent; without
#: ``fault_attr_xul`` the ranges are decimal ulongs (``debugfs_create_ul``).
_KNOBS = {
    "probability": ("probability", "ulong"),
    "interval": ("interval", "ulong"),
    "times": ("times", "atomic_t"),
    "space": ("space", "atomic_t"),
    "verbose": ("verbose", "ulong"),
    "verbose_ratelimit_interval_ms": ("ratelimit_state.interval", "u32"),
    "verbose_ratelimit_burst": ("ratelimit_state.burst", "u32"),
    "task-filter": ("task_filter", "bool"),
    "stacktrace-depth": ("stacktrace_depth", "depth"),
    "require-start": ("require_start", "xul"),
    "require-end": ("require_end", "xul"),
    "reject-start": ("reject_start", "xul"),
    "reject-end": ("reject_end", "xul"),
}
_EXTRA = {
    "failslab": {"ignore-gfp-wait": ("ignore_gfp_reclaim", "bool"), "cache-filter": ("cache_filter", "bool")},
    "fail_page_alloc": {"ignore-gfp-wait": ("ignore_gfp_reclaim", "bool"),
                        "ignore-gfp-highmem": ("ignore_gfp_highmem", "bool"), "min-order": ("min_order", "u32")},
}
_EXPECT = {
    "ulong": "an unsigned integer", "u32": "an unsigned 32-bit integer", "atomic_t": "an integer",
    "bool": "Y/N, 1/0, on/off", "xul": "an unsigned integer (0x for hex)", "depth": "an unsigned integer",
}


def knobs_for(features: Features) -> dict[str, tuple[str, str]]:
    """The debugfs files of a fault attribute on a kernel with ``features``: name -> (field, kind)."""
    out = {}
    for name, (fld, kind) in _KNOBS.items():
        if name.startswith("verbose_ratelimit") and not features.fault_inject_ratelimit:
            continue
        if kind == "xul" and not features.fault_attr_xul:
            kind = "ulong"
        out[name] = (fld, kind)
    return out


def _get_field(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def _set_field(obj: Any, path: str, value: Any) -> None:
    *head, last = path.split(".")
    for part in head:
        obj = getattr(obj, part)
    setattr(obj, last, value)


# ===================================================================== the machine's state
class FaultInject:
    """The fault-injection state of one machine (``k.fault_inject``), built by
    :func:`fault_inject_init`.

    What the machine's kernel has is read once from its features: ``fail_page_alloc``
    (2.6.20) and ``failslab_slub`` (SLUB's failslab, 2.6.31) say which attributes exist;
    the others (``fault_prob0_shortcut``, ``fault_inject_fail_nth``,
    ``fault_stacktrace_early``, ``should_fail_ex``, ``fault_inject_ratelimit``,
    ``fault_attr_xul``, ``debugfs_strict_parse``, ``prandom_lfsr113``) shape
    should_fail(), fail_dump() and the knobs."""

    def __init__(self, k: Kernel):
        self.k = k
        f = k.features
        self.bits = k.layout.bits  # unsigned long
        self.ulong_max = (1 << self.bits) - 1
        self.gfp_bits = k.gfp.bits
        #: what should_fail() of this kernel does (lib/fault-inject.c)
        self.prob0_shortcut = f.fault_prob0_shortcut
        self.has_fail_nth = f.fault_inject_fail_nth
        self.stacktrace_early = f.fault_stacktrace_early
        self.nowarn = f.should_fail_ex  # FAULT_NOWARN: __GFP_NOWARN fails silently
        self.ratelimit = f.fault_inject_ratelimit
        self.strict_parse = f.debugfs_strict_parse
        self.failslab: FailSlab | None = FailSlab("failslab", self.ulong_max) if f.failslab_slub else None
        self.fail_page_alloc: FailPageAlloc | None = (
            FailPageAlloc("fail_page_alloc", self.ulong_max) if f.fail_page_alloc else None)
        self.attrs: dict[str, FaultAttr] = {}
        if self.failslab is not None:
            self.attrs["failslab"] = self.failslab
        if self.fail_page_alloc is not None:
            self.attrs["fail_page_alloc"] = self.fail_page_alloc
        self.knobs = knobs_for(f)
        #: task -> make_it_fail / fail_nth (/proc/<pid>/make-it-fail, /proc/<pid>/fail-nth)
        self.make_it_fail: dict[Any, int] = {}
        self.fail_nth: dict[Any, int] = {}
        # the per-CPU fault_rnd_state, seeded from the machine's seed (prandom_init_once)
        rng = random.Random(k.seed ^ 0xFA17_1A7E)
        self._rnd: list[list[int]]
        self._draw: Callable[[list[int]], int]
        if f.prandom_lfsr113:
            self._rnd = []
            for _ in k.cpus:
                s1, s2, s3, s4 = (rng.getrandbits(32) for _ in range(4))
                self._rnd.append(prandom_seed_state((s1, s2, s3, s4)))
            self._draw = prandom_u32_state
        else:
            self._rnd = [[_seed(rng.getrandbits(32), 1), _seed(rng.getrandbits(32), 7),
                          _seed(rng.getrandbits(32), 15)] for _ in k.cpus]
            self._draw = _random32_26

    def _absent(self, name: str) -> str:
        """Why this machine's kernel has no attribute ``name``."""
        if name == "failslab":
            why = "SLUB calls should_failslab() from 2.6.31 on; 2.6.24 SLUB had no failslab"
        else:
            why = "fault injection came in 2.6.20"
        return f"{self.k.profile.name} has no {name}: {why}"

    # ------------------------------------------------------------------ arming
    def armed(self, attr: FaultAttr) -> bool:
        """Could should_fail_ex() fire (or change state) for ``attr`` now?"""
        live = attr.times != 0 and (attr.probability != 0 or not self.prob0_shortcut)
        return live or (self.has_fail_nth and any(self.fail_nth.values()))

    def _rearm(self) -> None:
        """Install or remove the hooks after a knob changed: an attribute that cannot fire
        costs its allocation paths nothing."""
        k = self.k
        fast: tuple[str, ...]
        if self.failslab is not None:
            on = self.armed(self.failslab)
            k.slab_impl.should_failslab = self.should_failslab if on else None
            self._fast_paths("failslab", on, ("kmalloc", "kmem_cache_alloc"))
        fpa = self.fail_page_alloc
        if fpa is not None:
            on = self.armed(fpa)
            k.page_alloc.should_fail_alloc_page = self.should_fail_alloc_page if on else None
            fast = ("get_free_pages",)
            # the fast path serves the orders of the pcp lists (kmemsim.mm.fastpath): a min-order
            # above them all leaves it nothing should_fail_alloc_page() could fail
            self._fast_paths("fail_page_alloc", on and fpa.min_order <= max(k.page_alloc.pcp_orders), fast)

    def _fast_paths(self, name: str, on: bool, fast: tuple[str, ...]) -> None:
        if on:
            self.k.dispatch.suspend(name, fast)  # should_fail*() must see every call
        else:
            self.k.dispatch.resume(name)

    def setup_fault_attr(self, name: str, text: str) -> None:
        """setup_fault_attr(attr, "<interval>,<probability>,<space>,<times>")."""
        attr = self._attr(name)
        parsed = vsscanf_fault(text) if isinstance(text, str) else None
        if parsed is None:
            raise UsageError(f"{name}={text!r}: expected \"<interval>,<probability>,<space>,<times>\"")
        interval, probability, space, times = parsed
        attr.probability = probability & self.ulong_max
        attr.interval = interval & self.ulong_max
        attr.times = _s32(times)
        attr.space = _s32(space)
        self._rearm()

    def _attr(self, name: str) -> FaultAttr:
        attr = self.attrs.get(name)
        if attr is None:
            if name in _EXTRA:
                raise UsageError(f"{name}: no such fault-injection attribute: {self._absent(name)}")
            raise UsageError(f"{name}: no such fault-injection attribute on {self.k.profile.name} "
                             f"(known: {', '.join(self.attrs)})")
        return attr

    # ------------------------------------------------------------------ the hooks
    def should_failslab(self, s: Any, gfp: int) -> bool:
        """should_failslab(s, gfpflags) (mm/failslab.c); true: slab_pre_alloc_hook fails."""
        fs = self.failslab
        assert fs is not None
        b = self.gfp_bits
        if gfp & b.nofail:
            return False
        if fs.ignore_gfp_reclaim and gfp & b.direct_reclaim:
            return False
        if fs.cache_filter and s not in self.k.slab_impl.failslab_caches:
            return False
        return self.should_fail_ex(fs, s.object_size, bool(gfp & b.nowarn) and self.nowarn)

    def should_fail_alloc_page(self, gfp: int, order: int) -> bool:
        """should_fail_alloc_page(gfp_mask, order) (mm/fail_page_alloc.c); true:
        prepare_alloc_pages fails and the allocation returns NULL."""
        fpa = self.fail_page_alloc
        assert fpa is not None
        b = self.gfp_bits
        if order < fpa.min_order:
            return False
        if gfp & b.nofail:
            return False
        if fpa.ignore_gfp_highmem and gfp & b.highmem:
            return False
        if fpa.ignore_gfp_reclaim and gfp & b.direct_reclaim:  # __GFP_WAIT on 2.6.24
            return False
        return self.should_fail_ex(fpa, 1 << order, bool(gfp & b.nowarn) and self.nowarn)

    # ------------------------------------------------------------------ lib/fault-inject.c
    def _in_task(self) -> bool:
        """in_task(): not in NMI, hard interrupt or softirq-serving context."""
        return not self.k.sched.pc[self.k.cpu] & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET)

    def _fail_task(self) -> bool:
        """fail_task(): the current task asked for failures (make-it-fail), in task context
        (in_task() since fail-nth's kernels; !in_interrupt() before)."""
        ok = self._in_task() if self.has_fail_nth else not self.k.sched.in_interrupt()
        return ok and bool(self.make_it_fail.get(self.k.current, 0))

    def should_fail_ex(self, attr: FaultAttr, size: int, nowarn: bool = False) -> bool:
        """should_fail_ex(attr, size, flags) (should_fail() before 6.1): the checks in the
        order of the machine's kernel -- 6.18: fail-nth, probability 0, task-filter, times,
        the stack filter, space, interval, the draw; 2.6.24: task-filter, times, space,
        interval, the draw, the stack filter."""
        attr.calls += 1
        k = self.k
        stack_checked = False
        if self.has_fail_nth and self._in_task():
            cur = k.current
            nth = self.fail_nth.get(cur, 0)
            if nth:
                if self.stacktrace_early:
                    if not attr.fail_stacktrace():
                        return False
                    stack_checked = True
                nth -= 1
                self.fail_nth[cur] = nth
                if not nth:
                    del self.fail_nth[cur]
                    self._rearm()
                    return self._fail(attr, nowarn)
                return False
        if self.prob0_shortcut and attr.probability == 0:
            return False
        if attr.task_filter and not self._fail_task():
            return False
        if attr.times == 0:
            return False
        if self.stacktrace_early and not stack_checked and not attr.fail_stacktrace():
            return False
        if attr.space > size:
            attr.space = _s32(attr.space - size)
            return False
        if attr.interval > 1:
            attr.count = (attr.count + 1) & self.ulong_max
            if attr.count % attr.interval:
                return False
        if attr.probability <= self._draw(self._rnd[k.cpu]) % 100:  # fault_prandom_u32_below_100()
            return False
        if not self.stacktrace_early and not attr.fail_stacktrace():
            return False
        return self._fail(attr, nowarn)

    def _fail(self, attr: FaultAttr, nowarn: bool) -> bool:
        if not nowarn:
            self.fail_dump(attr)
        if attr.times != -1 and attr.times != 0:  # atomic_dec_not_zero()
            attr.times = _s32(attr.times - 1)
            if attr.times == 0:
                self._rearm()
        attr.failures += 1
        return True

    def fail_dump(self, attr: FaultAttr) -> None:
        """fail_dump(): the notice (rate limited by verbose_ratelimit_*, with the attribute's
        name and state, since fault_inject_ratelimit), and the stack when verbose > 1."""
        k = self.k
        if not self.ratelimit:
            if attr.verbose > 0:
                k.printk("FAULT_INJECTION: forcing a failure", KERN_NOTICE)
            if attr.verbose > 1:
                k.printk("\n".join(k.report.dump_stack_lines()), KERN_WARNING)
            return
        if attr.verbose > 0 and attr.ratelimit_state.ratelimit(k, "fail_dump"):
            k.printk(
                "FAULT_INJECTION: forcing a failure.\n"
                f"name {attr.name}, interval {attr.interval}, probability {attr.probability}, "
                f"space {attr.space}, times {attr.times}",
                KERN_NOTICE,
            )
            if attr.verbose > 1:
                k.printk("\n".join(k.report.dump_stack_lines()), KERN_WARNING)  # dump_stack(): KERN_DEFAULT

    # ------------------------------------------------------------------ debugfs
    def _knob(self, rel: str) -> tuple[FaultAttr, str, str, str]:
        parts = rel.split("/")
        if len(parts) != 2 or parts[0] not in ("failslab", "fail_page_alloc"):
            raise UsageError(f"debugfs {rel}: no such file")
        attr = self.attrs.get(parts[0])
        if attr is None:
            raise UsageError(f"debugfs {rel}: no such file ({self._absent(parts[0])})")
        table = {**self.knobs, **_EXTRA[parts[0]]}
        if parts[1] not in table:
            raise UsageError(f"debugfs {rel}: no such file; {parts[0]}/ holds {', '.join(table)}")
        fld, kind = table[parts[1]]
        return attr, parts[1], fld, kind

    def debugfs_list(self, name: str, rel: str) -> list[str]:
        """The knobs of debugfs ``name``/ (failslab or fail_page_alloc)."""
        if rel:
            raise UsageError(f"debugfs {name}/{rel}: no such directory")
        if name not in self.attrs:
            raise UsageError(f"debugfs {name}: no such directory ({self._absent(name)})")
        return sorted({**self.knobs, **_EXTRA[name]})

    def debugfs(self, rel: str, value: Any = None) -> str | None:
        """Read /sys/kernel/debug/<rel> (``value`` None) or write ``value`` to it."""
        attr, knob, fld, kind = self._knob(rel)
        if value is None:
            return self._show(attr, fld, kind)
        self._store(rel, attr, fld, kind, value)
        return None

    def _show(self, attr: FaultAttr, fld: str, kind: str) -> str:
        v = _get_field(attr, fld)
        if kind == "bool":
            return "Y\n" if v else "N\n"
        if kind == "atomic_t":
            return f"{_s32(v)}\n"
        if kind == "xul":
            return f"0x{v:016x}\n" if self.bits == 64 else f"0x{v:08x}\n"
        return f"{v}\n"

    def _store(self, rel: str, attr: FaultAttr, fld: str, kind: str, value: Any) -> None:
        if isinstance(value, bool):
            text = "1" if value else "0"
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, str):
            text = value
        else:
            raise UsageError(f"debugfs {rel}: write {value!r}: expected text or an int")
        if not self.strict_parse:
            new = self._parse_26(text, kind)
            if new is None:
                return  # 2.6.24 write_file_bool(): a first character it does not know changes nothing
        else:
            try:
                new = self._parse_6(text, kind)
            except ValueError as e:
                raise UsageError(f"debugfs {rel}: write {value!r}: {e.args[0]} "
                                 f"(expected {_EXPECT[kind]})") from None
        _set_field(attr, fld, new)
        self._rearm()

    def _parse_6(self, text: str, kind: str) -> Any:
        """simple_attr_write_xsigned() and kstrtobool_from_user() (debugfs_strict_parse)."""
        if kind == "bool":
            return kstrtobool(text[:3])  # kstrtobool_from_user: buf[4]
        buf = text[:23]  # simple_attr_write: set_buf[24]
        if kind == "atomic_t":
            return _s32(kstrtoll(buf))
        v = kstrtoull(buf)
        if kind == "u32":
            return v & _U32
        if kind == "depth":
            return min(v, MAX_STACK_TRACE_DEPTH) & self.ulong_max
        return v & self.ulong_max

    def _parse_26(self, text: str, kind: str) -> Any:
        """2.6.24 simple_attr_write() (simple_strtol) and write_file_bool(); None: ignored."""
        if kind == "bool":
            c = text[:1]
            if c and c in "yY1":
                return True
            if c and c in "nN0":
                return False
            return None
        v = _simple_strtol(text[:23], self.bits)  # a long, sign-extended to u64 by the setter
        if kind == "atomic_t":
            return _s32(v)
        if kind == "u32":
            return v & _U32
        if kind == "depth":
            v &= _U64
            return min(v, MAX_STACK_TRACE_DEPTH) & self.ulong_max
        return v & self.ulong_max

    def files(self, name: str) -> list[str]:
        """The files of /sys/kernel/debug/<name>/."""
        self._attr(name)
        return [*self.knobs, *_EXTRA[name]]

    # ------------------------------------------------------------------ /proc/<pid>/...
    def read_proc(self, name: str, task: Any = None) -> str:
        """/proc/<pid>/make-it-fail ("%i\\n") or /proc/<pid>/fail-nth ("%u\\n") of ``task``
        (default: current)."""
        task = self.k.current if task is None else task
        if name == "make-it-fail" and self.fail_page_alloc is not None:
            return f"{self.make_it_fail.get(task, 0)}\n"
        if name == "fail-nth" and self.has_fail_nth:
            return f"{self.fail_nth.get(task, 0)}\n"
        raise UsageError(f"/proc/<pid>/{name}: not a fault-injection file of {self.k.profile.name}")

    def write_proc(self, name: str, value: Any, task: Any = None) -> None:
        """Write /proc/<pid>/make-it-fail (0 or 1, kstrtoint) or /proc/<pid>/fail-nth
        (kstrtouint: the task's n-th should_fail from now fails, then it is 0 again)."""
        task = self.k.current if task is None else task
        text = ("1" if value else "0") if isinstance(value, bool) else str(value) if isinstance(value, int) else value
        if not isinstance(text, str):
            raise UsageError(f"/proc/<pid>/{name}: write {value!r}: expected text or an int")
        if name == "make-it-fail" and self.fail_page_alloc is not None:
            try:
                v = kstrtoll(text[:12].strip())  # PROC_NUMBUF, strstrip(), kstrtoint
            except ValueError as e:
                raise UsageError(f"/proc/{task.pid}/make-it-fail: write {value!r}: {e.args[0]}") from None
            if v not in (0, 1):
                raise UsageError(f"/proc/{task.pid}/make-it-fail: write {value!r}: -EINVAL (0 or 1)")
            self.make_it_fail[task] = v
            return
        if name == "fail-nth" and self.has_fail_nth:
            try:
                v = kstrtoull(text[:34])  # kstrtouint_from_user
            except ValueError as e:
                raise UsageError(f"/proc/{task.pid}/fail-nth: write {value!r}: {e.args[0]}") from None
            if v > _U32:
                raise UsageError(f"/proc/{task.pid}/fail-nth: write {value!r}: -ERANGE")
            if v:
                self.fail_nth[task] = v
            else:
                self.fail_nth.pop(task, None)
            self._rearm()
            return
        raise UsageError(f"/proc/<pid>/{name}: not a fault-injection file of {self.k.profile.name}")

    # ------------------------------------------------------------------ /sys/kernel/slab/<cache>/failslab
    def failslab_show(self, s: Any) -> str:
        """failslab_show(): "%d\\n" of !!(s->flags & SLAB_FAILSLAB)."""
        return f"{int(s in self.k.slab_impl.failslab_caches)}\n"

    def failslab_store(self, s: Any, value: Any) -> None:
        """failslab_store(): -EINVAL for a merged cache (refcount > 1); '1' sets SLAB_FAILSLAB,
        anything else clears it."""
        text = ("1" if value else "0") if isinstance(value, bool) else str(value)
        if s.refcount > 1:
            raise UsageError(f"/sys/kernel/slab/{s.name}/failslab: -EINVAL (the cache is merged: "
                             f"refcount {s.refcount})")
        if text[:1] == "1":
            self.k.slab_impl.failslab_caches.add(s)
        else:
            self.k.slab_impl.failslab_caches.discard(s)


def _debugfs_dir(fi: FaultInject, name: str) -> DirHandler:
    """/sys/kernel/debug/<name>/ (fault_create_debugfs_attr()), served by ``fi``."""

    def read(rel: str) -> str:
        return fi.debugfs(f"{name}/{rel}") or ""

    def write(rel: str, value: str) -> None:
        fi.debugfs(f"{name}/{rel}", value)

    return DirHandler(lambda rel: fi.debugfs_list(name, rel), read, write)


def fault_inject_init(k: Kernel) -> None:
    """The fault-injection attributes (``k.fault_inject``) and the ``failslab=`` /
    ``fail_page_alloc=`` boot parameters (setup_fault_attr), once slab and the page
    allocator exist; the debugfs knobs under failslab/ and fail_page_alloc/."""
    fi = k.fault_inject = FaultInject(k)
    for name in ("failslab", "fail_page_alloc"):
        if k.tunables.get(name) is not None:
            fi.setup_fault_attr(name, k.tunables[name])
    for name in ("failslab", "fail_page_alloc"):
        k.debugfs_fs.create_dir(name, _debugfs_dir(fi, name))
