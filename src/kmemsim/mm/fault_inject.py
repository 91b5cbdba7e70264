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

Simplified, and said so:

* the model's ``SLAB_*`` values follow the reference host's config, where CONFIG_FAILSLAB
  is off and SLAB_FAILSLAB is 0 (with it on, SLAB_FAILSLAB is 0x2000 and the later flags
  move up).  A cache's SLAB_FAILSLAB mark is kept beside ``s->flags`` in
  ``k.slub.failslab_caches`` and set through the sysfs attribute only (``slab_debug=A``
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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..registry import DirHandler
from ..errors import ConfigError, UsageError
from ..printk import KERN_NOTICE, KERN_WARNING

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

__all__ = [
    "FaultAttr", "FailSlab", "FailPageAlloc", "FaultInject", "RateLimitState", "get",
    "parse_setup_fault_attr", "prandom_u32_state", "kstrtoull", "kstrtoll", "kstrtobool",
]

MAX_STACK_TRACE_DEPTH = 32
DEFAULT_RATELIMIT_BURST = 10
_U32 = 0xFFFFFFFF
_U64 = (1 << 64) - 1


def _s32(v: int) -> int:
    v &= _U32
    return v - (1 << 32) if v & 0x80000000 else v


# ===================================================================== lib/kstrtox.c
def _parse_integer(s: str, base: int) -> tuple[int, int, bool]:
    """_parse_integer_fixup_radix + _parse_integer: (value mod 2^64, chars used, overflow)."""
    if base == 0:
        if s[:1] == "0":
            base = 16 if s[1:2].lower() == "x" and s[2:3] and s[2:3] in "0123456789abcdefABCDEF" else 8
        else:
            base = 10
    if base == 16 and s[:1] == "0" and s[1:2].lower() == "x":
        s = s[2:]
        skipped = 2
    else:
        skipped = 0
    res, n, over = 0, 0, False
    for c in s:
        lc = c.lower()
        if "0" <= c <= "9":
            val = ord(c) - 48
        elif "a" <= lc <= "f":
            val = ord(lc) - 87
        else:
            break
        if val >= base:
            break
        if res & (_U64 << 60) & _U64 and res > (_U64 - val) // base:
            over = True
        res = (res * base + val) & _U64
        n += 1
    return res, n + skipped if n else 0, over


def _kstrtoull(s: str, base: int) -> int:
    res, n, over = _parse_integer(s, base)
    if over:
        raise _Errno("ERANGE")
    if n == 0:
        raise _Errno("EINVAL")
    rest = s[n:]
    if rest[:1] == "\n":
        rest = rest[1:]
    if rest:
        raise _Errno("EINVAL")
    return res


class _Errno(Exception):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"-{name}")


def kstrtoull(s: str, base: int = 0) -> int:
    """kstrtoull(): an optional '+', digits in ``base`` (0: 0x hex, 0 octal, else decimal),
    an optional single newline, nothing else.  Raises ValueError("-EINVAL"/"-ERANGE")."""
    try:
        return _kstrtoull(s[1:] if s[:1] == "+" else s, base)
    except _Errno as e:
        raise ValueError(f"-{e.name}") from None


def kstrtoll(s: str, base: int = 0) -> int:
    """kstrtoll(): as kstrtoull with an optional '-' and the range of long long."""
    try:
        if s[:1] == "-":
            tmp = _kstrtoull(s[1:], base)
            if tmp > 1 << 63:
                raise _Errno("ERANGE")
            return -tmp
        tmp = _kstrtoull(s[1:] if s[:1] == "+" else s, base)
        if tmp >= 1 << 63:
            raise _Errno("ERANGE")
        return tmp
    except _Errno as e:
        raise ValueError(f"-{e.name}") from None


def kstrtobool(s: str) -> bool:
    """kstrtobool() (6.x): y/Y/t/T/e/E/1 and on are true, n/N/f/F/d/D/0 and off are false."""
    c = s[:1]
    if c and c in "eEyYtT1":
        return True
    if c and c in "dDnNfF0":
        return False
    if c and c in "oO":
        c2 = s[1:2]
        if c2 and c2 in "nN":
            return True
        if c2 and c2 in "fF":
            return False
    raise ValueError("-EINVAL")


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


# ===================================================================== setup_fault_attr()
def _vsscanf_fault(text: str) -> tuple[int, int, int, int] | None:
    """sscanf(str, "%lu,%lu,%d,%d") as lib/vsprintf.c does it: spaces before each number are
    skipped, a '-' only for %d, a ',' must follow exactly; what follows the fourth is ignored.
    None if fewer than four fields convert."""
    out: list[int] = []
    i, n = 0, len(text)
    for idx, signed in enumerate((False, False, True, True)):
        if idx:
            if i >= n or text[i] != ",":
                return None
            i += 1
        while i < n and text[i] in " \t\n\r\f\v":
            i += 1
        neg = False
        if signed and text[i:i + 1] == "-":
            neg = True
            i += 1
        if i >= n or not text[i].isdigit() or not text[i].isascii():
            return None
        res, used, _ = _parse_integer(text[i:], 10)  # simple_strntoull(), base 10
        i += used
        out.append(-res if neg else res)
    return out[0], out[1], out[2], out[3]


def parse_setup_fault_attr(name: str, value: Any) -> str:
    """The ``failslab=`` / ``fail_page_alloc=`` boot parameter: "<interval>,<probability>,
    <space>,<times>".  What the kernel's sscanf rejects (it prints "FAULT_INJECTION: failed
    to parse arguments" and keeps the defaults) is a ConfigError here."""
    if not isinstance(value, str) or _vsscanf_fault(value) is None:
        raise ConfigError(
            f"tunable {name}: expected \"<interval>,<probability>,<space>,<times>\" such as "
            f"\"1,100,0,-1\", got {value!r} (the kernel would print \"FAULT_INJECTION: failed "
            f"to parse arguments\" and ignore it)"
        )
    return value


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
@dataclass
class RateLimitState:
    """struct ratelimit_state (interval and burst as the u32 bits debugfs writes)."""

    interval: int = 0  # RATELIMIT_STATE_INIT_DISABLED
    burst: int = DEFAULT_RATELIMIT_BURST
    n_left: int = 0
    missed: int = 0
    initialized: bool = False
    begin: int = 0

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
@dataclass
class FaultAttr:
    """struct fault_attr, plus the model's counts (``calls``, ``failures``)."""

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
    ratelimit_state: RateLimitState = field(default_factory=RateLimitState)
    #: should_fail_ex() calls made while the attribute could fire, and the failures injected
    calls: int = 0
    failures: int = 0

    def __post_init__(self) -> None:
        if self.require_end == -1:
            self.require_end = self.ulong_max

    def fail_stacktrace(self) -> bool:
        """fail_stacktrace() on the model's stack, which has no kernel text addresses:
        true unless a require range is set."""
        return self.require_start == 0 and self.require_end == self.ulong_max


@dataclass
class FailSlab(FaultAttr):
    """mm/failslab.c ``failslab``: the attr, ignore-gfp-wait (default Y), cache-filter (N)."""

    ignore_gfp_reclaim: bool = True
    cache_filter: bool = False


@dataclass
class FailPageAlloc(FaultAttr):
    """mm/fail_page_alloc.c ``fail_page_alloc``: ignore-gfp-wait, ignore-gfp-highmem (Y), min-order (1)."""

    ignore_gfp_reclaim: bool = True
    ignore_gfp_highmem: bool = True
    min_order: int = 1


#: debugfs file -> (field, kind) for fault_create_debugfs_attr() of 6.18 ...
_KNOBS_6 = {
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
#: ... and of 2.6.24 (init_fault_attr_dentries: no ratelimit; the ranges as decimal ulongs)
_KNOBS_26 = {n: (f, "ulong" if kind == "xul" else kind) for n, (f, kind) in _KNOBS_6.items()
             if not n.startswith("verbose_ratelimit")}
_EXTRA = {
    "failslab": {"ignore-gfp-wait": ("ignore_gfp_reclaim", "bool"), "cache-filter": ("cache_filter", "bool")},
    "fail_page_alloc": {"ignore-gfp-wait": ("ignore_gfp_reclaim", "bool"),
                        "ignore-gfp-highmem": ("ignore_gfp_highmem", "bool"), "min-order": ("min_order", "u32")},
}
_EXPECT = {
    "ulong": "an unsigned integer", "u32": "an unsigned 32-bit integer", "atomic_t": "an integer",
    "bool": "Y/N, 1/0, on/off", "xul": "an unsigned integer (0x for hex)", "depth": "an unsigned integer",
}


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
    """The fault-injection state of one machine (``k.fault_inject``)."""

    def __init__(self, k: Kernel):
        self.k = k
        self.classic = k.profile.kernel_version.startswith("2.")
        self.bits = k.layout.bits
        self.ulong_max = (1 << self.bits) - 1
        g = k.gfp
        self.GFP_NOFAIL = g.value("__GFP_NOFAIL")
        self.GFP_NOWARN = g.value("__GFP_NOWARN")
        self.GFP_HIGHMEM = g.value("__GFP_HIGHMEM")
        self.GFP_DIRECT_RECLAIM = g.value(g.blocking_flag)  # __GFP_WAIT on 2.6.24
        self.failslab: FailSlab | None = None if self.classic else FailSlab("failslab", self.ulong_max)
        self.fail_page_alloc = FailPageAlloc("fail_page_alloc", self.ulong_max)
        self.attrs: dict[str, FaultAttr] = {"fail_page_alloc": self.fail_page_alloc}
        if self.failslab is not None:
            self.attrs = {"failslab": self.failslab, "fail_page_alloc": self.fail_page_alloc}
        self.knobs = _KNOBS_26 if self.classic else _KNOBS_6
        #: task -> make_it_fail / fail_nth (/proc/<pid>/make-it-fail, /proc/<pid>/fail-nth)
        self.make_it_fail: dict[Any, int] = {}
        self.fail_nth: dict[Any, int] = {}
        # the per-CPU fault_rnd_state, seeded from the machine's seed (prandom_init_once)
        rng = random.Random(k.seed ^ 0xFA17_1A7E)
        if self.classic:
            self._rnd = [[_seed(rng.getrandbits(32), 1), _seed(rng.getrandbits(32), 7),
                          _seed(rng.getrandbits(32), 15)] for _ in k.cpus]
            self._draw = _random32_26
        else:
            self._rnd = [prandom_seed_state(tuple(rng.getrandbits(32) for _ in range(4))) for _ in k.cpus]
            self._draw = prandom_u32_state

    # ------------------------------------------------------------------ arming
    def armed(self, attr: FaultAttr) -> bool:
        """Could should_fail_ex() fire (or change state) for ``attr`` now?"""
        if self.classic:
            return attr.times != 0
        return (attr.probability != 0 and attr.times != 0) or any(self.fail_nth.values())

    def _rearm(self) -> None:
        """Install or remove the hooks after a knob changed: an attribute that cannot fire
        costs its allocation paths nothing."""
        k = self.k
        for name, attr in self.attrs.items():
            on = self.armed(attr)
            if name == "failslab":
                k.slub.should_failslab = self.should_failslab if on else None
                fast: tuple[str, ...] = ("kmalloc", "kmem_cache_alloc")
            else:
                k.page_alloc.should_fail_alloc_page = self.should_fail_alloc_page if on else None
                on = on and attr.min_order == 0  # the fast path serves order 0 only
                fast = ("get_free_pages",)
            if on:
                k.dispatch.suspend(name, fast)  # should_fail*() must see every call
            else:
                k.dispatch.resume(name)

    def setup_fault_attr(self, name: str, text: str) -> None:
        """setup_fault_attr(attr, "<interval>,<probability>,<space>,<times>")."""
        attr = self._attr(name)
        parsed = _vsscanf_fault(text) if isinstance(text, str) else None
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
            raise UsageError(f"{name}: no such fault-injection attribute on {self.k.profile.name} "
                             f"(known: {', '.join(self.attrs)})")
        return attr

    # ------------------------------------------------------------------ the hooks
    def should_failslab(self, s: Any, gfp: int) -> bool:
        """should_failslab(s, gfpflags) (mm/failslab.c); true: slab_pre_alloc_hook fails."""
        fs = self.failslab
        assert fs is not None
        if gfp & self.GFP_NOFAIL:
            return False
        if fs.ignore_gfp_reclaim and gfp & self.GFP_DIRECT_RECLAIM:
            return False
        if fs.cache_filter and s not in self.k.slub.failslab_caches:
            return False
        return self.should_fail_ex(fs, s.object_size, bool(gfp & self.GFP_NOWARN))

    def should_fail_alloc_page(self, gfp: int, order: int) -> bool:
        """should_fail_alloc_page(gfp_mask, order) (mm/fail_page_alloc.c); true:
        prepare_alloc_pages fails and the allocation returns NULL."""
        fpa = self.fail_page_alloc
        if order < fpa.min_order:
            return False
        if gfp & self.GFP_NOFAIL:
            return False
        if fpa.ignore_gfp_highmem and gfp & self.GFP_HIGHMEM:
            return False
        if fpa.ignore_gfp_reclaim and gfp & self.GFP_DIRECT_RECLAIM:
            return False
        return self.should_fail_ex(fpa, 1 << order, bool(gfp & self.GFP_NOWARN) and not self.classic)

    # ------------------------------------------------------------------ lib/fault-inject.c
    def _in_task(self) -> bool:
        sched = getattr(self.k, "sched", None)
        return sched.in_task() if sched is not None else True

    def _in_interrupt(self) -> bool:
        sched = getattr(self.k, "sched", None)
        return sched.in_interrupt() if sched is not None else False

    def should_fail_ex(self, attr: FaultAttr, size: int, nowarn: bool = False) -> bool:
        """should_fail_ex(attr, size, flags): the kernel's order of checks (6.18, or
        should_fail() of 2.6.24 on the classic profile)."""
        attr.calls += 1
        k = self.k
        if self.classic:
            if attr.task_filter and not (not self._in_interrupt() and self.make_it_fail.get(k.current, 0)):
                return False
            if attr.times == 0:
                return False
            if attr.space > size:
                attr.space = _s32(attr.space - size)
                return False
            if attr.interval > 1:
                attr.count = (attr.count + 1) & self.ulong_max
                if attr.count % attr.interval:
                    return False
            if attr.probability <= self._draw(self._rnd[k.cpu]) % 100:
                return False
            if not attr.fail_stacktrace():
                return False
            return self._fail(attr, nowarn)
        stack_checked = False
        if self._in_task():
            cur = k.current
            nth = self.fail_nth.get(cur, 0)
            if nth:
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
        if attr.probability == 0:
            return False
        if attr.task_filter and not (self._in_task() and self.make_it_fail.get(k.current, 0)):
            return False
        if attr.times == 0:
            return False
        if not stack_checked and not attr.fail_stacktrace():
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
        """fail_dump(): the notice (rate limited by verbose_ratelimit_*), and the stack when verbose > 1."""
        k = self.k
        if self.classic:
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
            raise UsageError(f"debugfs {rel}: no such file ({self.k.profile.name} has no {parts[0]}: "
                             "2.6.24 SLUB had no failslab)")
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
            raise UsageError(f"debugfs {name}: no such directory ({self.k.profile.name} has no {name}: "
                             "2.6.24 SLUB had no failslab)")
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
        if self.classic:
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
        if name == "make-it-fail":
            return f"{self.make_it_fail.get(task, 0)}\n"
        if name == "fail-nth" and not self.classic:
            return f"{self.fail_nth.get(task, 0)}\n"
        raise UsageError(f"/proc/<pid>/{name}: not a fault-injection file of {self.k.profile.name}")

    def write_proc(self, name: str, value: Any, task: Any = None) -> None:
        """Write /proc/<pid>/make-it-fail (0 or 1, kstrtoint) or /proc/<pid>/fail-nth
        (kstrtouint: the task's n-th should_fail from now fails, then it is 0 again)."""
        task = self.k.current if task is None else task
        text = ("1" if value else "0") if isinstance(value, bool) else str(value) if isinstance(value, int) else value
        if not isinstance(text, str):
            raise UsageError(f"/proc/<pid>/{name}: write {value!r}: expected text or an int")
        if name == "make-it-fail":
            try:
                v = kstrtoll(text[:12].strip())  # PROC_NUMBUF, strstrip(), kstrtoint
            except ValueError as e:
                raise UsageError(f"/proc/{task.pid}/make-it-fail: write {value!r}: {e.args[0]}") from None
            if v not in (0, 1):
                raise UsageError(f"/proc/{task.pid}/make-it-fail: write {value!r}: -EINVAL (0 or 1)")
            self.make_it_fail[task] = v
            return
        if name == "fail-nth" and not self.classic:
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
        return f"{int(s in self.k.slub.failslab_caches)}\n"

    def failslab_store(self, s: Any, value: Any) -> None:
        """failslab_store(): -EINVAL for a merged cache (refcount > 1); '1' sets SLAB_FAILSLAB,
        anything else clears it."""
        text = ("1" if value else "0") if isinstance(value, bool) else str(value)
        if s.refcount > 1:
            raise UsageError(f"/sys/kernel/slab/{s.name}/failslab: -EINVAL (the cache is merged: "
                             f"refcount {s.refcount})")
        if text[:1] == "1":
            self.k.slub.failslab_caches.add(s)
        else:
            self.k.slub.failslab_caches.discard(s)


def fault_inject_init(k: Kernel) -> None:
    """The fault-injection attributes (``k.fault_inject``) and the ``failslab=`` /
    ``fail_page_alloc=`` boot parameters (setup_fault_attr), once slab and the page
    allocator exist; the debugfs knobs under failslab/ and fail_page_alloc/."""
    fi = k.fault_inject = FaultInject(k)
    for name in ("failslab", "fail_page_alloc"):
        if k.tunables.get(name) is not None:
            fi.setup_fault_attr(name, k.tunables[name])
    for name in ("failslab", "fail_page_alloc"):
        k.debugfs_fs.create_dir(name, DirHandler(lambda rel, n=name: fi.debugfs_list(n, rel),
                                                 lambda rel, n=name: fi.debugfs(f"{n}/{rel}") or "",
                                                 lambda rel, v, n=name: fi.debugfs(f"{n}/{rel}", v) and None))
