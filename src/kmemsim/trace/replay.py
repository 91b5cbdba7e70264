"""Replay a kmem trace into a booted machine, and compare two machines on one trace.

    >>> from kmemsim.trace.replay import replay
    >>> r = replay("tests/data/host-6.18/kmem-trace.txt.gz",              # doctest: +SKIP
    ...            host="tests/data/host-6.18/snapshot.tar.gz")
    >>> print(r.summary())                                               # doctest: +SKIP
    >>> r.k.check()                                                      # doctest: +SKIP

:class:`Replay` feeds every event of a parsed trace (:mod:`kmemsim.trace.parse`)
into a :class:`~kmemsim.kernel.Kernel`, on the CPU that traced it (what
``with k.on_cpu(cpu)`` does; a CPU the machine lacks runs on ``cpu % nr_cpus``):

==========================  ========================================================
event                       what the machine does
==========================  ========================================================
``kmalloc``                 ``kmalloc(bytes_req, gfp)``; the traced pointer now names
                            the model's object
``kmem_cache_alloc``        ``kmem_cache_alloc`` on the cache ``name=`` names: the
                            machine's own (``kmalloc-64``, ``vmap_area``), else one
                            made by ``kmem_cache_create`` from the host snapshot's
                            ``/sys/kernel/slab`` geometry (object_size, align, the
                            flags its attributes show, a constructor when it has
                            one), else from ``bytes_req``/``bytes_alloc`` alone
                            (the first of a few usual layouts whose stride is
                            ``bytes_alloc``); without ``name=`` (before 6.18) one
                            cache per (bytes_req, bytes_alloc)
``kfree``, ``kmem_cache_free``  ``kfree`` of the model's object
``mm_page_alloc``           ``alloc_pages(gfp, order)`` -- unless the allocation is
                            a slab's own page or a large kmalloc's, which the model's
                            SLUB makes itself (below)
``mm_page_free``            the model's block is freed (a smaller order inside a
                            non-compound block splits it first, as split_page())
others                      counted: ``mm_page_free_batched`` repeats ``mm_page_free``
                            on 6.x; ``mm_page_alloc_zone_locked``,
                            ``mm_page_pcpu_drain`` and ``mm_page_alloc_extfrag`` are
                            consequences the model computes itself
==========================  ========================================================

Which page allocations are a slab's own: in the kernel, ``new_slab()`` (and a large
kmalloc) traces ``mm_page_alloc`` just before the ``kmalloc``/``kmem_cache_alloc``
it serves, on the same CPU.  The replay looks ahead (64 events) to the next
allocation event of that CPU.  With real pointers (perf script, the model's own
traces) the page is the slab's when that object lies inside it (read with the
machine's direct-map base: the traced x86_64 kernel is taken to be without KASLR's
randomised ``page_offset_base``, as the reference host and the model are).  With ftrace's
hashed ``%p`` it is the slab's when the flags fit 6.18's ``new_slab()``
(``flags & (GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK)`` plus ``s->allocflags``: never
``__GFP_ZERO``, ``__GFP_ACCOUNT`` or a movable migratetype, the object's ``__GFP_IO``
and ``__GFP_FS`` kept) and the order is the cache's order or its minimum order; a
large kmalloc's is the page of ``get_order(bytes_req)`` before a kmalloc above 8 KiB.
Such pages are skipped, and so are their frees later.

What the replay counts rather than does:

- frees of objects and pages allocated before the trace began (**pre-existing**, not
  errors), ``kfree(NULL)``;
- allocations the traced kernel failed (NULL, pfn -1) and the model's own failures;
- a second ``kmalloc`` event for the same pointer right after the first on that CPU:
  6.18 traces a variable-size kmalloc above 8 KiB twice (``__kmalloc_large_node_noprof``
  and ``__do_kmalloc_node``): counted as **duplicates**;
- an allocation over a pointer still live: a free was lost; the old object is freed
  first (**implied frees**);
- ``bytes_alloc mismatches``: events whose ``bytes_alloc`` is not what the model's own
  tracepoint would print (the kmalloc cache's ``s->size``, ``PAGE_SIZE << order`` above
  8 KiB, the cache's ``s->size``), with the first examples;
- events it cannot place (a page free of an order larger than the block, a cache
  that cannot be made, gfp flags the machine lacks ...), by kind and reason.  Nothing
  in a trace makes the replay raise except a malformed line (the parser's
  :class:`~kmemsim.tracepoints.events.TraceFormatError`).

``__GFP_ZERO`` is dropped from every replayed allocation: zeroing changes bytes, not
allocator state, and it is most of the cost of a page allocation.  The machine
should be booted with ``on_bug="report"`` (:func:`replay` does): a BUG the model
reports (it should not) is then logged, counted, and the replay goes on.

Time series (:class:`Sample`), every ``sample_every`` events or every
``sample_interval`` seconds of trace time: slab pages in all and per cache, slab
objects and utilisation (objects on the CPU freelists count as in use, as
/proc/slabinfo counts them), pages the replay holds for page events, large-kmalloc
pages, buddy free blocks per order (all zones), and per zone the fragmentation index
and the unusable free index of every order as /sys/kernel/debug/extfrag computes
them (mm/vmstat.c).

:func:`compare` replays one trace on two machines and prints them side by side.

Follows Linux 6.18: include/trace/events/kmem.h, mm/slub.c (allocate_slab,
new_slab, calculate_sizes' allocflags), mm/slab_common.c (__do_kmalloc_node,
__kmalloc_large_node_noprof), mm/page_alloc.c (split_page), mm/vmstat.c (extfrag).
Simplified: one node; the traced machine's objects that existed before the trace
are not recreated (their frees are counted, the model starts from a fresh boot); a
merged cache is known only by its target's name, so replaying with merging off
separates what the trace names apart, no more.
"""
from __future__ import annotations

import gc
import importlib
import math
import os
import random
import threading
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from heapq import heappop, heappush
from itertools import chain, groupby, islice
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import IO, TYPE_CHECKING, Any, NamedTuple, cast

from ..errors import KernelBug, KmemsimError, Oops, UsageError
from ..records import Record
from ..tracepoints.events import SLAB_ALLOC_EVENTS, SLAB_FREE_EVENTS, Event

if TYPE_CHECKING:  # pragma: no cover
    from ..kernel import Kernel
    from ..snapshot import HostSnapshot
    from .parse import ParseStats

__all__ = [
    "ReplayOptions",
    "Sample",
    "Mismatch",
    "Replay",
    "replay",
    "boot_machine",
    "Comparison",
    "compare",
    "parse_sets",
    "ReplayInputError",
    "ReplayCoreError",
    "locate",
    "ENGINES",
    "compiled_core",
]

#: the replay loop's engines: ``auto`` (the compiled core when it was built and the machine
#: allows it, else python), ``compiled`` (an error when it cannot run), ``python`` (the
#: pure-Python loop, :meth:`Replay._run`); all give the same replay
ENGINES = ("auto", "compiled", "python")
#: the version of the compiled core's interface this module speaks (_kmemreplay.c: REPLAY_CORE_API)
REPLAY_CORE_API = 4


def _load_core() -> ModuleType | None:
    """The compiled replay core (``kmemsim.trace._kmemreplay``, built by setup.py; optional), or
    None: not built, KMEMSIM_NO_EXT=1, or built from another kmemsim (a warning then)."""
    if os.environ.get("KMEMSIM_NO_EXT") == "1":
        return None
    try:
        mod = importlib.import_module("kmemsim.trace._kmemreplay")  # an extension module
    except ImportError:  # pragma: no cover - depends on the build
        return None
    if getattr(mod, "REPLAY_CORE_API", None) != REPLAY_CORE_API:
        from .parse import StaleScannerWarning

        warnings.warn(
            f"kmemsim: the compiled replay core {getattr(mod, '__file__', '?')} was built from another "
            "kmemsim; using the pure-Python replay loop (same output, slower). Rebuild it: pip install -e .",
            StaleScannerWarning, stacklevel=2)
        return None
    return mod


_kmemreplay: ModuleType | None = _load_core()


def compiled_core() -> bool:
    """Was the compiled replay core built (and is it this kmemsim's)?"""
    return _kmemreplay is not None


def _eventbuf() -> Any:
    """The compiled scanner's EventBuf when the core reads its layout (_kmemevents.h), else None:
    the core then takes lists of records."""
    from .parse import compiled_scanner

    scan = compiled_scanner()
    if _kmemreplay is None or scan is None or getattr(scan, "KMEM_EVENTS_ABI", None) != getattr(
            _kmemreplay, "KMEM_EVENTS_ABI", -1):
        return None
    return scan.EventBuf

#: sysfs boolean attribute -> the SLAB flag it shows (mm/slub.c *_show()).
SYSFS_FLAG_ATTRS = {
    "hwcache_align": "SLAB_HWCACHE_ALIGN",
    "reclaim_account": "SLAB_RECLAIM_ACCOUNT",
    "cache_dma": "SLAB_CACHE_DMA",
    "red_zone": "SLAB_RED_ZONE",
    "poison": "SLAB_POISON",
    "store_user": "SLAB_STORE_USER",
    "sanity_checks": "SLAB_CONSISTENCY_CHECKS",
    "trace": "SLAB_TRACE",
    "destroy_by_rcu": "SLAB_TYPESAFE_BY_RCU",
}

#: kmem_cache_create() arguments of 6.18 caches that sysfs does not show
#: (mm/vma_init.c: vm_area_struct's free pointer lives at offsetof(vm_freeptr) = 0).
HOST_CREATE_ARGS: dict[str, dict[str, int]] = {"vm_area_struct": {"freeptr_offset": 0}}

#: gfp flag names that differ between the profiles' kernels (6.18 <-> 2.6.24).
_GFP_RENAMES = {
    "__GFP_DIRECT_RECLAIM": "__GFP_WAIT",
    "__GFP_WAIT": "__GFP_DIRECT_RECLAIM",
    "__GFP_RETRY_MAYFAIL": "__GFP_REPEAT",
    "__GFP_REPEAT": "__GFP_RETRY_MAYFAIL",
}

_LOOKAHEAD = 64
_CHUNK = 4096
#: full sheaves a node's barn is taken to hold when a snapshot was taken (of MAX_FULL_SHEAVES, 10)
SHEAF_BARN_FULL = 5
#: events read ahead of the one being replayed, to learn which objects the trace allocates
#: over later without a traced free (:meth:`Replay._prescan`)
_DOOM_WINDOW = 1 << 16
#: the cyclic collector's youngest-generation threshold while a replay runs: the loop makes
#: few cycles but many short-lived tuples, and every collection walks the young objects
_GC_GEN0 = 50_000
_gc_lock = threading.Lock()
_gc_state: list[Any] = [0, None]  # feeds running (any thread), the threshold before the first


def _chunks(it: Iterator[Any]) -> Iterator[list]:
    """The events of ``it`` in lists of :data:`_CHUNK` (the last one shorter)."""
    while True:
        chunk = list(islice(it, _CHUNK))
        if not chunk:
            return
        yield chunk


def _rechunk(batches: Iterable[list]) -> Iterator[list]:
    """The same lists as :func:`_chunks` gives, from events that come in lists of any length."""
    buf: list = []
    for b in batches:
        buf += b
        if len(buf) >= _CHUNK:
            n = len(buf) - len(buf) % _CHUNK
            for i in range(0, n, _CHUNK):
                yield buf[i : i + _CHUNK]
            del buf[:n]
    if buf:
        yield buf


def _rebuf(batches: Iterable[Any]) -> Iterator[Any]:
    """The batches of a packed read (TraceReader.batches(packed=True)) as the compiled core takes
    them: EventBufs, small ones merged so that each but the last holds at least _LOOKAHEAD events
    (a page allocation's look-ahead reaches into the next chunk only: _run_at(), no_slab_page());
    the list of the reader's last events appended to them.  Lists throughout (no compiled scanner
    read the trace): :func:`_rechunk`'s chunks."""
    it = iter(batches)
    acc: Any = None
    for b in it:
        if not len(b):
            continue
        if acc is None and type(b) is list:
            yield from _rechunk(chain([b], it))
            return
        if type(b) is list:  # the pending page allocation, after the last block
            for ev in b:
                acc.append(ev)
        elif acc is None:
            acc = b
        else:
            acc.extend(b)
        if len(acc) >= _LOOKAHEAD:
            yield acc
            acc = None
    if acc is not None:
        yield acc


def _gc_enter() -> None:
    """The first of the running feeds raises gen 0's threshold (if it is lower and not 0)."""
    with _gc_lock:
        if not _gc_state[0]:
            saved = gc.get_threshold()
            _gc_state[1] = saved if saved[0] and saved[0] < _GC_GEN0 else None
            if _gc_state[1] is not None:
                gc.set_threshold(_GC_GEN0, *saved[1:])
        _gc_state[0] += 1


def _gc_exit() -> None:
    """The last of the running feeds puts the threshold back (unless someone else changed it)."""
    with _gc_lock:
        _gc_state[0] -= 1
        saved = _gc_state[1]
        if not _gc_state[0] and saved is not None:
            if gc.get_threshold()[0] == _GC_GEN0:
                gc.set_threshold(*saved)
            _gc_state[1] = None


class ReplayInputError(KmemsimError, ValueError):
    """An event the replay cannot take: a numeric ``gfp_flags`` with bits the machine's
    kernel lacks.  :func:`replay`, :func:`compare` and the commands name the file and the
    first line with it (:func:`locate`)."""

    def __init__(self, needle: str, message: str):
        super().__init__(message)
        self.needle = needle
        self.message = message


def locate(source: str | Path, needle: str, what: str = "gfp_flags=") -> int:
    """The number of the first line of the trace file ``source`` that holds
    ``what + needle`` followed by a space or the line's end (0: none, or unreadable)."""
    from .source import open_source

    key = (what + needle).encode()
    n = 0
    try:
        src = open_source(source, lenient=True)
        for block in src.blocks():
            data = bytes(block)
            pos = data.find(key)
            while pos >= 0:
                end = pos + len(key)
                if end >= len(data) or data[end:end + 1] in (b" ", b"\n", b"\r"):
                    return n + data.count(b"\n", 0, pos) + 1
                pos = data.find(key, end)
            n += data.count(b"\n")
    except (OSError, KmemsimError):
        return 0
    return 0


class ReplayCoreError(KmemsimError, RuntimeError):
    """Something went wrong inside the compiled replay core (a bug: the Python loop,
    ``engine="python"``, replays the same trace)."""


def located(e: ReplayInputError, source: str | Path) -> KmemsimError:
    """``e`` as an error naming the file and the line."""
    line = locate(source, e.needle)
    where = f"{source}:{line}" if line else str(source)
    return ReplayInputError(e.needle, f"{where}: {e.message}")


def _noop_ctor(*_args: object) -> None:
    """Stands for a host cache's constructor: it only changes the layout (any kernel's
    signature: ``ctor(obj)`` in 6.x, ``ctor(cache, obj)`` in 2.6.24, ``ctor(obj, cache,
    flags)`` in 2.6.11)."""


class ReplayOptions(Record):
    """How a :class:`Replay` samples and reports."""

    __match_args__ = ("sample_every", "sample_interval", "max_samples", "examples", "strip_zero", "seed",
                       "early_untraced_frees", "sheaves")

    #: take a :class:`Sample` every this many events (0: never, except at the end)
    sample_every: int = 1000
    #: or every this many seconds of trace time (overrides ``sample_every``)
    sample_interval: float | None = None
    #: at most this many samples are kept: past it, every other one is dropped and
    #: the interval doubles
    max_samples: int = 2000
    #: examples of bytes_alloc mismatches kept
    examples: int = 5
    #: drop __GFP_ZERO from replayed allocations (bytes, not allocator state)
    strip_zero: bool = True
    #: start the caches the trace uses where the host snapshot's were (partial, CPU and full slabs)
    seed: bool = True
    #: free an object the trace allocates over later without a traced free (so the kernel freed
    #: it untraced: kfree_rcu, bulk frees, a context the filter left out) as soon as its cache
    #: has no free object left, instead of growing a slab while it is still live in the model
    early_untraced_frees: bool = False
    #: seeding: free the objects a cache with sheaves is taken to hold in them (:data:`SHEAF_BARN_FULL`)
    sheaves: bool = True

    def __init__(self, sample_every: int = 1000, sample_interval: float | None = None, max_samples: int = 2000,
                 examples: int = 5, strip_zero: bool = True, seed: bool = True, early_untraced_frees: bool = False,
                 sheaves: bool = True) -> None:
        vars(self).update(sample_every=sample_every, sample_interval=sample_interval, max_samples=max_samples,
                          examples=examples, strip_zero=strip_zero, seed=seed,
                          early_untraced_frees=early_untraced_frees, sheaves=sheaves)


class Sample(NamedTuple):
    """The machine's state at one moment of a replay."""

    #: events replayed so far, and the trace time (ns) of the last one (-1 if none)
    events: int
    ts: int
    #: pages of slabs, all caches (and of large kmallocs)
    slab_pages: int
    large_pages: int
    #: objects in all slabs, and those in use (CPU freelists count as in use)
    slab_objects: int
    slab_active: int
    #: bytes of the objects in use / bytes of the slab pages
    utilisation: float
    #: pages the replay holds for the trace's page allocations
    replay_pages: int
    #: free blocks per order, all zones (buddyinfo summed)
    free_blocks: tuple[int, ...]
    #: per populated zone: fragmentation index x1000 and unusable free index x1000 per order
    extfrag: dict[str, tuple[int, ...]]
    unusable: dict[str, tuple[int, ...]]
    #: pages of slabs per cache, caches with any
    caches: dict[str, int]


class Mismatch(NamedTuple):
    """An event whose bytes_alloc is not the model's."""

    kind: str
    ts: int
    cpu: int
    call_site: str
    name: str | None
    bytes_req: int
    gfp_flags: str
    traced: int
    model: int

    def __str__(self) -> str:
        what = f"name={self.name} " if self.name else ""
        return (
            f"{self.kind} {what}bytes_req={self.bytes_req} gfp_flags={self.gfp_flags}: traced bytes_alloc="
            f"{self.traced}, the model gives {self.model} (call_site={self.call_site}, cpu {self.cpu}, "
            f"t={self.ts / 1e9:.6f})"
        )


class Replay:
    """Feeds kmem events into ``k`` and keeps what happened.

    ``k``: a booted machine (best with ``on_bug="report"``); ``host``: the host
    snapshot the trace's caches are made from (default: the one ``k`` was booted
    from, if any).  Call :meth:`feed` with events (any number of times), then
    :meth:`finish`.
    """

    def __init__(self, k: Kernel, host: HostSnapshot | None = None, options: ReplayOptions | None = None):
        self.k = k
        self.host = host if host is not None else getattr(k, "host", None)
        # its own copy: thinning the samples doubles opts.sample_every (_sample()), and the
        # caller's options may serve another replay (compare's two machines, a sweep)
        self.opts = ReplayOptions(**vars(options)) if options is not None else ReplayOptions()
        iv = self.opts.sample_interval
        if iv is not None and not (math.isfinite(iv) and iv > 0):
            raise UsageError(f"sample_interval {iv!r}: must be a finite number of seconds above 0")
        if self.opts.sample_every < 0:
            raise UsageError(f"sample_every {self.opts.sample_every!r}: must be >= 0")
        self.events: Counter = Counter()  # every event seen, by kind
        self.placed: Counter = Counter()  # events the machine carried out, by kind
        self.preexisting: Counter = Counter()  # frees of what the trace did not allocate, by kind
        self.unplaced: Counter = Counter()  # (kind, reason) the machine could not carry out
        self.trace_failed: Counter = Counter()  # allocations the traced kernel failed
        self.model_failed: Counter = Counter()  # allocations the model failed
        self.ignored: Counter = Counter()  # events with nothing to do (moves, extfrag, batched frees)
        self.null_frees = 0
        self.duplicates = 0
        self.implied_frees = 0
        self.implied_by: Counter = Counter()  # cache name ("kmalloc": kmalloc caches, "pages") -> implied frees
        self.slab_pages_skipped = 0  # mm_page_alloc of a slab's (or large kmalloc's) own pages
        #: pages of the traced kernel's new slabs, by the model's cache they are for (N per cache)
        self.trace_slab_pages: Counter = Counter()
        self.trace_large_pages = 0  # pages of the traced kernel's large kmallocs
        self.obj_exts_pages = 0  # of trace_slab_pages: slabs made for an obj_exts vector
        self.slab_page_frees = 0
        self.lost_events = 0
        self.lost_markers = 0
        self.mismatches = 0
        self.mismatch_examples: list[Mismatch] = []
        self.bugs: Counter = Counter()  # KernelBug / Oops the model raised, by kind
        self.caches_made: dict[str, str] = {}  # trace name -> how its cache was made
        self.samples: list[Sample] = []
        self.first_ts = -1
        self.last_ts = -1
        self.n = 0
        self.finished = False
        self.checked = False  # k.check() ran at finish()
        self.check_error: str | None = None
        #: the reader's statistics when :func:`replay` parsed the trace
        self.parse_stats: ParseStats | None = None
        # traced pointer -> model pointer (0: the model failed it; 16: ZERO_SIZE_PTR)
        self.objs: dict[int, int] = {}
        # traced pfn -> model pfn << 4 | order
        self.pages: dict[int, int] = {}
        self._held = 0  # pages of the blocks in self.pages
        # traced pfn -> order of the slab (and large kmalloc) pages skipped
        self.slab_page_pfns: dict[int, int] = {}
        self.seeded_pages = 0  # pages of the slabs made to start caches from the snapshot
        self.preexisting_freed = 0  # pre-existing kmem_cache_frees carried out on a seeded object
        self.sheaf_objects = 0  # seeded objects freed as held in the host's sheaves
        self._init_machine()
        if self.host is not None and self.opts.seed and self.allocator == "slub":
            self._seed_kmalloc_caches()  # seeding rebuilds SLUB's lists (SLAB and SLOB start empty)

    # ------------------------------------------------------------------ setup
    def _init_machine(self) -> None:
        k = self.k
        self.pa = k.page_alloc
        self.gs = k.gfp
        self.ncpu = len(k.cpus)
        from ..mm import slub_geometry as geo  # 6.18's: the traced kernel's cache layouts

        self.geo = geo
        #: "slub", "slab" or "slob": the machine's slab allocator (the trace is 6.18's SLUB)
        self.allocator = k.slab.allocator
        # the traced kernel's: kmalloc above it went to the page allocator (and SLAB's 6.6 too;
        # 2.6's SLAB general caches go higher, which the bytes_alloc check does not follow)
        self.max_cache = geo.KMALLOC_MAX_CACHE_SIZE
        self._shadow: dict[int, Any] = {}  # id(cache) -> 6.18 SLUB geometry of a SLAB/SLOB cache
        # SLOB's kfree() reads a kmalloc header a kmem_cache object lacks (2.6.24 mm/slob.c
        # kfree()): the replay frees those with kmem_cache_free(), so it keeps their caches
        self._slob_objs: dict[int, Any] = {}
        self._kfree: Callable[[int], None] = k.kfree
        self._cache_alloc: Callable[[Any, int], int] = k.kmem_cache_alloc
        if self.allocator == "slob":
            self._kfree = self._slob_kfree
            self._cache_alloc = self._slob_cache_alloc
        self.page_shift = k.page_shift
        self.page_offset = k.layout.page_offset
        self.lowmem = k.arch.lowmem_bytes
        self.zero = k.gfp.bits.zero
        bits = self.pa.bits
        self._keep_bits = bits.io | bits.fs
        self._first_try = bits.nowarn | bits.noretry
        self._nofail = bits.nofail
        self._slab_keep = bits.reclaim_mask | bits.constraint_mask
        self._comp = bits.comp
        self._direct = bits.direct_reclaim
        self._nomemalloc = bits.nomemalloc
        self._reclaim = bits.reclaim
        # id(cache) -> its alloc_slab_pages when the replay began (or seeding ended)
        self._slab_base: dict[int, int] = {id(c): _alloc_slab_pages(c) for c in k.slab_impl.caches}
        self._seeded: set[str] = set()  # host cache directories the model's caches were seeded from
        self._fillers: dict[int, list[int]] = {}  # id(cache) -> objects seeding holds (the host's in use)
        self._unmade_full: dict[int, int] = {}  # id(cache) -> the host's full slabs not made yet
        self._reserve: dict[int, list] = {}  # id(cache) -> [cache, node partial slabs not made yet, their objects used]
        self._seed_rng = random.Random(self.k.seed ^ 0x5EED)
        self._sheaf_rng = random.Random(self.k.seed ^ 0x5EEF)  # apart: the other choices stay as they were
        self._claimed: dict[int, None] = {}  # event numbers of slab allocations a traced page was matched to
        self._page_failed = [False] * self.ncpu  # the CPU's last page allocation failed
        self._kmalloc_info: dict[str, tuple[int, list[int]] | None] = {}
        self._kmalloc_caches: dict[int, list[Any]] = {}  # gfp mask -> the kmalloc cache of every size
        self._kruns: list[tuple[int, int, int]] | None = None  # (_kindex_runs())
        #: zone name -> (its nr_free, orders, zone_indices()) at the last sample (sample())
        self._zone_indices: dict[str, tuple[tuple[int, ...], int, tuple[tuple[int, ...], tuple[int, ...]]]] = {}
        self._gfp: dict[str, int | None] = {}
        self._gfp_raw: dict[str, int | None] = {}
        self._caches: dict[Any, Any] = {}  # trace name (or (req, alloc)) -> model cache
        self._host_caches = self.host.slab_caches() if self.host is not None else {}
        self._host_aliases = self.host.slab_aliases() if self.host is not None else {}
        self._real_ptrs: bool | None = None  # see _ptrs_real()
        self._real_seen = 0
        self._next_sample_n = self.opts.sample_every if self.opts.sample_every > 0 else -1
        self._interval_ns = int(self.opts.sample_interval * 1e9) if self.opts.sample_interval else 0
        self._next_sample_ts = -1
        self._last_alloc_ptr = [0] * self.ncpu
        # the read-ahead (_prescan): traced pointer -> the event number of its last allocation,
        # while no free of it was read; event number of an allocation -> that of the allocation
        # over its pointer (a "doomed" object: the kernel freed it without a traced free)
        self._open_allocs: dict[int, int] = {}
        self._doomed: dict[int, int] = {}
        self._scanned = 0  # events read ahead so far (the event number of the last one)
        # id(cache) -> heap of (event number of the allocation over it, model pointer, traced pointer)
        self._doom_pending: dict[int, list[tuple[int, int, int]]] = {}
        self.early_frees = 0  # of implied_frees: freed when the cache had no room, before the reuse

    # ------------------------------------------------------------------ gfp
    def gfp(self, text: str) -> int | None:
        """The machine's mask for a traced gfp_flags string (``__GFP_ZERO`` dropped when
        the options say so); flags of the other profile's kernel are translated by name
        and dropped when the machine has none; None when the text is no gfp string."""
        v = self._gfp.get(text, -1)
        if v == -1:
            v = self._raw_gfp(text)
            if v is not None and self.opts.strip_zero:
                v &= ~self.zero
            self._gfp[text] = v
        return v

    def _raw_gfp(self, text: str) -> int | None:
        """:meth:`gfp` with __GFP_ZERO kept (telling slab pages needs it)."""
        v = self._gfp_raw.get(text, -1)
        if v != -1:
            return v
        from .. import gfp as gfpmod

        mask: int | None
        try:
            mask = self.gs.parse(text)
        except (KmemsimError, ValueError):
            mask = None
            for other in (gfpmod.GFP_6_18, gfpmod.GFP_2_6):
                if other is self.gs or other.name == self.gs.name:
                    continue
                try:
                    src = other.parse(text)
                except (KmemsimError, ValueError):
                    continue
                mask = 0
                for name, bit in other.flags.items():
                    if name.startswith("__GFP_") and bit and bit & (bit - 1) == 0 and src & bit:
                        tname = name if name in self.gs.flags else _GFP_RENAMES.get(name, name)
                        mask |= self.gs.flags.get(tname, 0)  # a flag the machine's kernel lacks is dropped
                break
        if mask is not None and mask & ~self.gs.bits.valid:
            raise ReplayInputError(
                text, f"gfp_flags={text} has bits {mask & ~self.gs.bits.valid:#x} that are not gfp flags of "
                f"{self.k.profile.name}")
        self._gfp_raw[text] = mask
        return mask

    def _kmalloc_gfp(self, text: str) -> tuple[int, list[int]] | None:
        """(mask, bytes_alloc of kmalloc(size) for every size up to 8 KiB) for a gfp string."""
        info = self._kmalloc_info.get(text, ())
        if info != ():
            return info  # type: ignore[return-value]
        mask = self.gfp(text)
        if mask is None:
            self._kmalloc_info[text] = None
            return None
        # the table is the mask's: gfp texts of one mask (they differ in __GFP_ZERO, which the
        # replay strips, or in spelling) share it; each costs a pass over 8 KiB of sizes
        if self._kmalloc_tables is None:
            self._kmalloc_tables = {}
        table = self._kmalloc_tables.get(mask)
        if table is not None:
            info = (mask, table)
            self._kmalloc_info[text] = info
            return info
        slab = self.k.slab
        if self.allocator == "slub" and getattr(self.k.slab_impl, "max_cache", 0) == self.max_cache:
            table = []
            for idx, first, n in self._kindex_runs():  # (size 0: 0)
                table += [slab.kmalloc_cache_for(first, mask).size if idx else 0] * n
        else:  # the machine's own ladder (SLAB: kmalloc-32 first on 6.6); SLOB: no general caches
            table = [0] * (self.max_cache + 1)
            for size in range(1, self.max_cache + 1):
                kc = slab.kmalloc_cache_for(size, mask)
                table[size] = kc.size if kc is not None else 0
        self._kmalloc_tables[mask] = table
        info = (mask, table)
        self._kmalloc_info[text] = info
        return info

    def _kmalloc_cache_for(self, size: int, mask: int) -> Any:
        """``k.slab.kmalloc_cache_for(size, mask)``, through a table per mask (the kmalloc caches
        are made at boot: the table never goes stale)."""
        kcs = self._kmalloc_caches.get(mask)
        if kcs is None:
            slab = self.k.slab
            kcs = []
            for _idx, first, n in self._kindex_runs():
                kcs += [slab.kmalloc_cache_for(first, mask)] * n
            self._kmalloc_caches[mask] = kcs
        return kcs[size]

    def _kindex_runs(self) -> list[tuple[int, int, int]]:
        """The sizes 0 .. max_cache as runs of one kmalloc_index(): (index, first size, sizes),
        in size order -- some fifteen runs, each a kmalloc cache's sizes (a per-mask table is
        then made a run at a time: 8 KiB of sizes one by one were a millisecond a mask)."""
        if self._kruns is None:
            runs: list[tuple[int, int, int]] = []
            size = 0
            for idx, group in groupby(self.geo.kmalloc_indexes(self.max_cache)):
                n = sum(1 for _ in group)
                runs.append((idx, size, n))
                size += n
            self._kruns = runs
        return self._kruns

    def _large_size(self, size: int) -> int:
        return 1 << max(self.page_shift, (size - 1).bit_length())

    # ------------------------------------------------------------------ caches
    def cache_for(self, name: str | None, bytes_req: int, bytes_alloc: int) -> Any:
        """The model's cache for a traced ``kmem_cache_alloc`` (made on first use), or None."""
        key: Any = name if name is not None else (bytes_req, bytes_alloc)
        c = self._caches.get(key)
        if c is not None:
            return c
        k = self.k
        if name is not None:
            c = k.find_cache(name)
            if c is not None:
                self.caches_made[name] = "the machine's own"
        if c is None:
            c = self._create_cache(name, bytes_req, bytes_alloc)
        if c is not None:
            self._caches[key] = c
            if name is not None and self.opts.seed and self.allocator == "slub":
                self._seed(c, self._host_aliases.get(name, name))
        return c

    # ------------------------------------------------------------------ the snapshot's slab state
    def _seed_kmalloc_caches(self) -> None:
        """Every kmalloc cache starts where the host's was (see :meth:`_seed`)."""
        for row in self.k.slab.kmalloc_caches.values():
            for c in row:
                if c is not None:
                    self._seed(c, self._host_aliases.get(c.name, c.name))

    def _seed(self, c: Any, d: str) -> None:
        """Start the model's cache ``c`` where the host's cache directory ``d`` was when the
        snapshot was taken (/sys/kernel/slab/<d>: ``slabs``, ``partial``, ``objects_partial``,
        ``cpu_slabs``, ``slabs_cpu_partial``): its node partial slabs with the objects in
        use spread evenly, each CPU's partial slabs and CPU slabs half used (what 6.18's
        slabs_cpu_partial_show() itself estimates: sysfs counts the objects of CPU slabs
        as in use), and the full slabs, which are made only when the trace frees an object
        of the cache that it did not allocate (a pre-existing free: the model frees one of
        the objects the seeding holds, so the kernel's room is the model's).  The slabs'
        pages come from the model's page allocator and are not counted as the replay's."""
        if d in self._seeded or c.debug:
            return
        self._seeded.add(d)
        attrs = self._host_caches.get(d)
        if attrs is None:
            return

        def num(key: str) -> int:
            text = attrs.get(key, "").split()
            try:
                return max(0, int(text[0])) if text else 0
            except ValueError:
                return 0

        slabs, partial, cpu_slabs = num("slabs"), num("partial"), num("cpu_slabs")
        per_cpu: Counter = Counter()
        for tok in attrs.get("slabs_cpu_partial", "").split()[1:]:
            cpu, _, val = tok.partition("=")
            if cpu.startswith("C") and "(" in val:
                try:
                    per_cpu[int(cpu[1:]) % self.ncpu] += int(val[val.index("(") + 1:val.index(")")])
                except ValueError:
                    continue
        active = max(0, cpu_slabs - sum(per_cpu.values()))
        full = max(0, slabs - partial - cpu_slabs)
        before = c.alloc_slab_pages
        k = self.k
        saved = k.cpu
        fillers = self._fillers.setdefault(id(c), [])
        try:
            if partial:
                # the node partial slabs are made a few at a time, as the replay comes to need
                # them (:meth:`_top_up`): a host may have thousands (buffer_head after a sync)
                self._reserve[id(c)] = [c, partial, num("objects_partial")]
            for cpu, nr in sorted(per_cpu.items()):
                for _ in range(nr):
                    if not self._seed_slab(c, c.objects // 2, "cpu_partial", cpu, fillers):
                        return
            for i in range(active):
                if not self._seed_slab(c, c.objects // 2, "cpu", i % self.ncpu, fillers):
                    return
            self._unmade_full[id(c)] = self._unmade_full.get(id(c), 0) + full
        finally:
            k.cpu = saved
            self._slab_base[id(c)] = self._slab_base.get(id(c), 0) + c.alloc_slab_pages - before
            self.seeded_pages += c.alloc_slab_pages - before
        self._top_up(c)
        cap = num("sheaf_capacity")
        if cap and self.opts.sheaves:
            self._seed_sheaves(c, cap)

    def _seed_sheaves(self, c: Any, cap: int) -> None:
        """A cache with sheaves (6.18: ``sheaf_capacity``, maple_node and vm_area_struct) holds
        objects in per-CPU sheaves and the node's barn that sysfs counts as in use (they left
        their slabs' freelists when the sheaf was filled) but that serve the next allocations:
        free them.  How many is not shown; taken as half of each CPU's main sheaf (the same
        estimate slabs_cpu_partial_show() makes of CPU partial slabs) and :data:`SHEAF_BARN_FULL`
        full sheaves in the barn.  Which objects: any of the seeded ones, at random."""
        held = self.ncpu * cap // 2 + SHEAF_BARN_FULL * cap
        saved = self.k.cpu
        try:
            for i in range(held):
                self.k.cpu = i % self.ncpu
                if not self._free_seeded(c, self._sheaf_rng):
                    break
                self.sheaf_objects += 1
        finally:
            self.k.cpu = saved

    def _top_up(self, c: Any) -> None:
        """Keep a few of the host's node partial slabs on the model's node partial list
        while the snapshot had more (their objects in use spread evenly)."""
        res = self._reserve.get(id(c))
        if res is None or len(c.partial) >= 2:
            return
        _, left, used = res
        before = c.alloc_slab_pages
        saved = self.k.cpu
        fillers = self._fillers.setdefault(id(c), [])
        try:
            for _ in range(min(4, left)):
                u = used // left
                if not self._seed_slab(c, min(max(u, 1), c.objects - 1), "node_partial", 0, fillers):
                    left = 0
                    break
                left -= 1
                used -= u
        finally:
            self.k.cpu = saved
            self._slab_base[id(c)] = self._slab_base.get(id(c), 0) + c.alloc_slab_pages - before
            self.seeded_pages += c.alloc_slab_pages - before
        if left:
            res[1], res[2] = left, used
        else:
            del self._reserve[id(c)]

    def _seed_slab(self, c: Any, used: int, where: str, cpu: int, fillers: list[int]) -> bool:
        """One slab of ``c`` with ``used`` objects taken (kept in ``fillers``), put where the
        host had it; False when the page allocator has no page for it."""
        slub: Any = self.k.slub  # the allocator itself (mm/slub.py), beyond its interface
        gfp = self.gs.bits.kernel
        slab = slub._new_slab(c, gfp, fillers, used)  # the first `used` objects go to fillers
        if slab is None:
            return False
        used = min(used, slab.objects)
        slab.inuse = used
        cc = c.cpu_slab[cpu]
        if where == "cpu" and cc.slab is None and slab.freelist:
            cc.freelist, slab.freelist = slab.freelist, 0
            slab.inuse = slab.objects
            slab.frozen = True
            slab.where = "cpu"
            cc.slab = slab
        elif used == slab.objects:
            slab.where = "full"
        elif where == "cpu_partial":
            slab.where = "cpu_partial"
            cc.partial.append(slab)
        else:
            slab.where = "node_partial"
            c.partial.append(slab)
        return True

    def _free_preexisting(self, name: str) -> bool:
        """A traced kmem_cache_free of an object allocated before the trace: free one of the
        objects seeding holds in that cache (a full slab is made first if none is left)."""
        c = self._caches.get(name)
        if c is None:
            d = self._host_aliases.get(name, name)
            if d not in self._host_caches:
                return False
            c = self.cache_for(name, 0, 0)
            if c is None:
                return False
        return self._free_seeded(c, self._seed_rng)

    def _free_seeded(self, c: Any, rng: random.Random) -> bool:
        """Free one of the objects seeding holds in ``c``, at random (making one of the host's
        full slabs first when none is left); False when there is none."""
        fillers = self._fillers.get(id(c))
        if fillers is None:
            return False
        if not fillers:
            if not self._unmade_full.get(id(c)):
                return False
            self._unmade_full[id(c)] -= 1
            before = c.alloc_slab_pages
            ok = self._seed_slab(c, c.objects, "full", 0, fillers)
            self._slab_base[id(c)] = self._slab_base.get(id(c), 0) + c.alloc_slab_pages - before
            self.seeded_pages += c.alloc_slab_pages - before
            if not ok:
                return False
        i = rng.randrange(len(fillers))
        fillers[i], fillers[-1] = fillers[-1], fillers[i]
        self.k.kfree(fillers.pop())
        return True

    def _create_cache(self, name: str | None, req: int, alloc: int) -> Any:
        k = self.k
        geo = self.geo
        label = name if name is not None else f"replay-{req}-{alloc}"
        d = self._host_aliases.get(name, name) if name is not None else None
        attrs = self._host_caches.get(d) if d is not None else None
        try:
            if attrs is not None:
                assert d is not None  # attrs come from the host cache named d
                flags = 0
                for attr, flag in SYSFS_FLAG_ATTRS.items():
                    if attrs.get(attr, "0").strip() == "1":
                        flags |= geo.SLAB_FLAGS[flag]
                if d.startswith(":") and "A" in d.split("-")[0]:  # create_unique_id()'s 'A': SLAB_ACCOUNT
                    flags |= geo.SLAB_ACCOUNT
                if not d.startswith(":"):
                    # sysfs names a cache by its own name only when it cannot be merged: the host
                    # had a reason sysfs does not show (sheaves, usercopy, SLAB_NO_MERGE ...)
                    flags |= geo.SLAB_NO_MERGE
                has_ctor = bool(attrs.get("ctor", "").strip())
                extra: dict[str, Any] = dict(HOST_CREATE_ARGS.get(d, {}))
                usersize = int(attrs.get("usersize", "0").strip() or 0)
                if usersize:
                    extra["usersize"] = usersize
                if self.allocator != "slub":
                    extra = {}  # usersize and the other kmem_cache_args are SLUB's (6.x)
                c = k.kmem_cache_create(label, int(attrs["object_size"]), int(attrs["align"]),
                                        self._machine_flags(flags), _noop_ctor if has_ctor else None, **extra)
                how = f"from the host's /sys/kernel/slab/{d}"
            else:
                size, align, flags, ctor, extra = self._infer_layout(req, alloc)
                c = k.kmem_cache_create(label, size, align, self._machine_flags(flags), _noop_ctor if ctor else None,
                                        **extra)
                how = f"inferred from bytes_req={req} bytes_alloc={alloc}"
        except (KmemsimError, ValueError, KeyError) as e:
            self.unplaced[("kmem_cache_alloc", f"cache {label} cannot be made: {e}")] += 1
            return None
        if c is None:
            self.unplaced[("kmem_cache_alloc", f"cache {label} cannot be made")] += 1
            return None
        if c.name != label:
            how += f", merged into {c.name}"
        self.caches_made[label] = how
        return c

    def _machine_flags(self, flags: int) -> int:
        """6.18's SLAB_* bits (the host's sysfs, the inferred layouts) as the machine's own,
        by name (a flag the machine's kernel lacks is dropped)."""
        sf = self.k.slab_flags
        out = 0
        for name, v in self.geo.SLAB_FLAGS.items():
            if v and flags & v == v:
                out |= sf.value_or_zero(name)
        return out

    def _infer_layout(self, req: int, alloc: int) -> tuple[int, int, int, bool, dict[str, Any]]:
        """(size, align, flags, ctor, extra) of the first usual layout whose stride is alloc."""
        geo = self.geo
        k = self.k
        rcu = geo.SLAB_FLAGS["SLAB_TYPESAFE_BY_RCU"]
        for align, flags, ctor in ((0, 0, False), (0, geo.SLAB_HWCACHE_ALIGN, False), (0, 0, True),
                                   (0, geo.SLAB_HWCACHE_ALIGN, True), (0, rcu, False), (8, 0, False)):  # fmt: skip
            try:
                g = geo.calculate_geometry(req, align, flags, nr_cpus=len(k.cpus), word=k.layout.bits // 8,
                                           has_ctor=ctor)
            except (KmemsimError, ValueError):
                continue
            if g is not None and g.size == alloc:
                return req, align, flags, ctor, {}
        return max(req, alloc), 0, 0, False, {}

    # ------------------------------------------------------------------ slab pages
    def _consumer_cache(self, ev: Any) -> Any:
        """The model's cache a traced slab allocation is served from (None: a large kmalloc
        or no cache)."""
        if ev[0] in ("kmem_cache_alloc", "kmem_cache_alloc_node"):
            return self.cache_for(ev[11], ev[7], ev[8])
        info = self._kmalloc_gfp(ev[9])
        if info is None or not 0 < ev[7] <= self.max_cache:
            return None
        return self.k.slab.kmalloc_cache_for(ev[7], info[0])

    def _slab_gfp_fits(self, pg: int, order: int, sg: int, c: Any, failed: bool) -> bool:
        """Is ``pg`` at ``order`` what 6.18's new_slab()/allocate_slab() asks for a slab of
        ``c`` when the object is allocated with ``sg``?  mm/slub.c:3286 keeps ``sg &
        (GFP_RECLAIM_MASK | GFP_CONSTRAINT_MASK)``, :3215 adds ``s->allocflags`` (__GFP_COMP,
        and __GFP_RECLAIMABLE or GFP_DMA by the cache's flags), :3224 the first try adds
        __GFP_NOWARN|__GFP_NORETRY and drops __GFP_NOFAIL (and direct reclaim above the
        minimum order); the retry at the minimum order (:3236) keeps the flags as they are.
        The page allocator prints the mask after current_gfp_context() (a memalloc_nofs or
        noio scope clears __GFP_FS and __GFP_IO), so those two may be missing."""
        if self.allocator != "slub":
            c = self._trace_geometry(c)
        flags = (sg & self._slab_keep) | c.allocflags | self._comp
        if order == c.order:
            exp = (flags | self._first_try) & ~self._nofail
            if c.order > c.min_order and exp & self._direct:
                exp = (exp | self._nomemalloc) & ~self._reclaim
            if (pg ^ exp) & ~self._keep_bits == 0 and pg & ~exp == 0:
                return True
        if order == c.min_order and failed:
            exp = flags
            if (pg ^ exp) & ~self._keep_bits == 0 and pg & ~exp == 0:
                return True
        return False

    def _slob_cache_alloc(self, c: Any, gfp: int) -> int:
        p = int(self.k.kmem_cache_alloc(c, gfp))
        if p:
            self._slob_objs[p] = c
        return p

    def _slob_kfree(self, p: int) -> None:
        c = self._slob_objs.pop(p, None)
        if c is None:
            self.k.kfree(p)
        else:
            self.k.kmem_cache_free(c, p)

    def _trace_geometry(self, c: Any) -> Any:
        """What 6.18's SLUB (the traced kernel) would make of a SLAB or SLOB cache ``c``: its
        order, min_order and allocflags, to recognise the trace's slab page requests."""
        g = self._shadow.get(id(c))
        if g is None:
            geo = self.geo
            sf = self.k.slab_flags
            flags = 0
            for name in ("SLAB_HWCACHE_ALIGN", "SLAB_CACHE_DMA", "SLAB_RECLAIM_ACCOUNT"):
                if sf.value_or_zero(name) and c.flags & sf.value_or_zero(name):
                    flags |= geo.SLAB_FLAGS[name]
            try:
                cg = geo.calculate_geometry(c.object_size, 0, flags, nr_cpus=self.ncpu, word=self.k.layout.bits // 8,
                                            has_ctor=c.ctor is not None)
                alloc = (self.pa.bits.dma if flags & geo.SLAB_CACHE_DMA else 0) | (
                    self.pa.bits.reclaimable if flags & geo.SLAB_RECLAIM_ACCOUNT else 0)
                g = SimpleNamespace(order=cg.order, min_order=cg.min_order, allocflags=alloc)
            except (KmemsimError, ValueError):
                g = SimpleNamespace(order=-1, min_order=-1, allocflags=0)
            self._shadow[id(c)] = g
        return g

    def _page_serves(self, pa_ev: Any, ev: Any, failed: bool) -> bool:
        """Is the traced page allocation ``pa_ev`` the slab page (or large kmalloc) that
        the slab allocation ``ev`` of the same CPU was served from?  (The compiled core does the
        real-pointer test in C, _kmemreplay.c: no_slab_page(): a change to one must be made in
        the other.)"""
        ptr = ev[6]
        if not ptr:
            return False
        order = pa_ev[6]
        if self._real_ptrs is not False and self._ptrs_real(ptr):
            pfn = (ptr - self.page_offset) >> self.page_shift
            return pa_ev[5] <= pfn < pa_ev[5] + (1 << order)
        # hashed pointers: the flags 6.18 asks with, and the cache's orders
        pg = self._raw_gfp(pa_ev[8])
        sg = self._raw_gfp(ev[9])
        if pg is None or sg is None:
            return False
        if ev[0] in ("kmalloc", "kmalloc_node") and ev[7] > self.max_cache:
            # __kmalloc_large_node(): flags | __GFP_COMP at get_order(size) (mm/slub.c:5588)
            return order == max(0, (ev[7] - 1).bit_length() - self.page_shift) and \
                (pg ^ (sg | self._comp)) & ~self._keep_bits == 0
        c = self._consumer_cache(ev)
        if c is None:
            return False
        return self._slab_gfp_fits(pg, order, sg, c, failed)

    def _slab_page(self, ev: Any, served: Any) -> None:
        """A traced page allocation that was a slab's (or a large kmalloc's): the model's SLUB
        makes its own, so it is counted, per cache, not replayed; so is its free later."""
        self.slab_pages_skipped += 1
        self.slab_page_pfns[ev[5]] = ev[6]
        pages = 1 << ev[6]
        if served[0] in ("kmalloc", "kmalloc_node") and served[7] > self.max_cache:
            self.trace_large_pages += pages
            return
        c = self._consumer_cache(served)
        name = c.name if c is not None else "?"
        self.trace_slab_pages[name] += pages
        if self._is_obj_exts(served):
            self.obj_exts_pages += pages

    @staticmethod
    def _is_obj_exts(e: Any) -> bool:
        """A kmalloc of a slab's obj_exts vector (6.18 alloc_slab_obj_exts(), mm/slub.c: a new
        slab of a SLAB_ACCOUNT cache, account_slab() at :3186, or the first __GFP_ACCOUNT object
        of a slab): it comes between a new slab's page and the object taken from it.  (Also in
        C: _kmemreplay.c: is_obj_exts().)"""
        return e[0] == "kmalloc" and e[5].startswith("alloc_slab_obj_exts")

    def _slab_page_of(self, ev: Any, window: list, failed: bool, base: int) -> Any:
        """The slab allocation the page allocation ``ev`` served, or None.  6.18 traces a
        new slab's mm_page_alloc, then (SLAB_ACCOUNT caches, memcg on) the kmalloc of its
        obj_exts vector from alloc_slab_obj_exts() -- itself maybe after a page of its own
        kmalloc cache -- then the object.  So the candidates are the next two slab
        allocations of the same CPU when the first is an obj_exts kmalloc, else the next one;
        other page allocations in between are passed over (at most two).  ``base`` is the
        event number of ``window[0]`` (an allocation is matched to one page at most).  The
        compiled core runs the same look-ahead (_kmemreplay.c: no_slab_page()) and hands the
        event here when a candidate may be served: a change to one must be made in the other."""
        cpu = ev[2]
        cands: list = []
        pages = 0
        claimed = self._claimed
        lo, hi = ev[5], ev[5] + (1 << ev[6])
        for j, e in enumerate(window):
            kind = e[0]
            if kind == "mm_page_free" and lo <= e[5] < hi:
                break  # the page went back (on any CPU) before an allocation took from it
            if e[2] != cpu:
                continue
            if kind in SLAB_ALLOC_EVENTS:
                if base + j in claimed:
                    if self._is_obj_exts(e):
                        continue
                    return None
                cands.append((base + j, e))
                if not self._is_obj_exts(e) or len(cands) == 2:
                    break
            elif kind == "mm_page_alloc":
                pages += 1
                if pages > 2 or e[5] == ev[5]:
                    break
            elif kind == "lost":
                break
        for n, e in cands:
            if self._page_serves(ev, e, failed):
                claimed[n] = None
                if len(claimed) > 4 * _LOOKAHEAD:
                    for key in list(claimed)[: 2 * _LOOKAHEAD]:
                        del claimed[key]
                return e
        return None

    def _ptrs_real(self, ptr: int) -> bool:
        """Does the trace print real pointers (perf script, trace-cmd, the model's own
        traces) rather than ftrace's hashed ``%p`` (32-bit hashes since 4.15)?  On a 64-bit
        machine one kernel-half pointer tells; on a 32-bit one, where a hash can look like
        a lowmem address, eight in a row must lie at or above PAGE_OFFSET."""
        if self._real_ptrs is not None:
            return self._real_ptrs
        if self.page_offset >= 1 << 32:
            self._real_ptrs = ptr >= 1 << 63
            return self._real_ptrs
        if not self.page_offset <= ptr < 1 << 32:
            self._real_ptrs = False
            return False
        self._real_seen += 1
        if self._real_seen >= 8:
            self._real_ptrs = True
        return True

    # ------------------------------------------------------------------ the loop
    def feed(self, events: Iterable[Any]) -> Replay:
        """Replay ``events`` (records of :mod:`kmemsim.tracepoints.events`)."""
        if self.finished:
            raise UsageError("Replay.feed: the replay is finished")
        k = self.k
        early = self.opts.early_untraced_frees
        window = _DOOM_WINDOW if early else _CHUNK
        run = self._run
        core = self._core() if self.engine != "python" else None
        # a TraceReader gives its events in lists: cut those into chunks (not one event at a time);
        # to the compiled core, packed (no records: _kmemevents.h) unless the early frees read them
        from .parse import TraceReader

        batches = getattr(events, "batches", None)
        if core is not None and not early and isinstance(events, TraceReader) and _eventbuf() is not None:
            chunks = _rebuf(events.batches(packed=True))
        else:
            chunks = _rechunk(batches()) if callable(batches) else _chunks(iter(events))
        if core is not None:
            run = core.run
        elif self.engine == "compiled":
            why = ("is not built (no C compiler at install, or KMEMSIM_NO_EXT=1)" if _kmemreplay is None
                   else f"models SLUB's fast paths; this machine runs {self.allocator.upper()}"
                   if self.allocator != "slub" else "cannot run here: SLUB's fast paths are not installed")
            raise UsageError(f"Replay.feed: the compiled replay core {why} (engine='compiled'; 'auto' runs "
                             "the Python loop)")
        ahead: deque[list] = deque()  # chunks read (and pre-scanned), not replayed yet
        n_ahead = 0
        done = False
        saved_cpu = k.cpu
        _gc_enter()
        try:
            while True:
                # read ahead until the window past the chunk to replay is full (or the events end)
                while not done and n_ahead - (len(ahead[0]) if ahead else 0) < window:
                    chunk = next(chunks, None)
                    if not chunk:
                        done = True
                        break
                    if early:
                        self._prescan(chunk)
                    ahead.append(chunk)
                    n_ahead += len(chunk)
                if not ahead:
                    break
                cur = ahead.popleft()
                n_ahead -= len(cur)
                try:
                    run(cur, ahead[0] if ahead else [])
                except (KernelBug, Oops) as e:  # pragma: no cover - the loop catches them per event
                    self.bugs[getattr(e, "kind", type(e).__name__)] += 1
        finally:
            k.cpu = saved_cpu
            _gc_exit()
        return self

    def _prescan(self, chunk: list) -> None:
        """Read ahead: an allocation at a traced pointer that an earlier allocation still holds
        (no free of it came between) means the kernel freed the earlier object without tracing
        it (kfree_rcu and the bulk frees of 6.18, frees in a context the trace's filter left
        out, lost events).  Remember the earlier allocation's event number with the later one's
        (:attr:`_doomed`), so that :meth:`_run` can free the object when its cache needs room
        (:meth:`_make_room`) rather than only at the later allocation."""
        open_ = self._open_allocs
        doomed = self._doomed
        allocs = SLAB_ALLOC_EVENTS
        frees = SLAB_FREE_EVENTS
        pop = open_.pop
        n0 = self._scanned + 1
        for n, ev in enumerate(chunk, n0):
            kind = ev[0]
            if kind in allocs:
                ptr = ev[6]
                if ptr > 16:
                    old = pop(ptr, 0)
                    if old:
                        doomed[old] = n
                    open_[ptr] = n
            elif kind in frees:
                pop(ev[6], 0)
        self._scanned = n0 - 1 + len(chunk)

    def _doom(self, p: int, ptr: int, until: int) -> None:
        """The model's object ``p`` (traced ``ptr``) is allocated over at event ``until``."""
        sl, _ = self.k.slub.object_of(p)
        if sl is None or sl.cache.debug:
            return
        heap = self._doom_pending.get(id(sl.cache))
        if heap is None:
            heap = self._doom_pending[id(sl.cache)] = []
        heappush(heap, (until, p, ptr))

    def _make_room(self, c: Any, n: int) -> None:
        """Cache ``c`` is about to be allocated from at event ``n``: if it has no free object for
        this CPU (no CPU freelist or CPU slab with free objects, no CPU or node partial slab),
        ___slab_alloc() would make a new slab.  The kernel would have freed some of the doomed
        objects by now (those the trace allocates over later without a traced free): free them,
        the one reused soonest first, until there is room or none is left."""
        heap = self._doom_pending[id(c)]
        cc = c.cpu_slab[self.k.cpu]
        objs = self.objs
        while heap:
            sl = cc.slab
            if (sl is not None and (cc.freelist or sl.freelist)) or cc.partial or c.partial:
                return
            until, p, ptr = heappop(heap)
            if until <= n or objs.get(ptr) != p:
                continue  # already allocated over (and freed then)
            del objs[ptr]
            self.early_frees += 1
            self._implied_free(ptr, p)
        del self._doom_pending[id(c)]

    #: the loop's engine (:data:`ENGINES`): set on an instance before :meth:`feed`
    engine = "auto"
    #: gfp mask -> bytes_alloc of kmalloc(size) for every size (:meth:`_kmalloc_gfp`)
    _kmalloc_tables: dict[int, list[int]] | None = None
    _core_obj: Any = None

    def _core(self) -> Any:
        """The compiled core for this replay (made on first use), or None when it cannot run:
        not built, a SLAB or SLOB machine, SLUB's fast paths not installed."""
        if self._core_obj is None:
            spec = self._core_spec() if _kmemreplay is not None else None
            self._core_obj = False if spec is None else _kmemreplay.Core(self, self._run_at, spec)  # type: ignore[union-attr]
        return self._core_obj or None

    def _core_spec(self) -> dict[str, Any] | None:
        """The state and constants the compiled core works on: the Replay's own dicts and
        Counters, and what mm/fastpath.install_slab()'s closures hold (computed the same way)."""
        from ..flags import WORD_MASK
        from ..mm.fastpath import kmalloc_by_size
        from ..mm.mmzone import PerCpuPages, Zone
        from ..mm.slub import KmemCache, KmemCacheCpu, Slab

        k = self.k
        fast = [k.dispatch.fast_path(name) for name in ("kmalloc", "kfree", "kmem_cache_alloc")]
        # _run() calls the kfree and kmem_cache_alloc bound when the Replay was made: the core
        # runs only where those are SLUB's fast paths (kmalloc's slot it checks itself)
        if (self.allocator != "slub" or fast[0] is None or type(k.phys.frames) is not dict
                or getattr(self._kfree, "__func__", None) is not fast[1]
                or getattr(self._kfree, "__self__", None) is not k
                or getattr(self._cache_alloc, "__func__", None) is not fast[2]
                or getattr(self._cache_alloc, "__self__", None) is not k):
            return None
        slub = k.slub
        # as install_slab(): the kmalloc cache of every size, the gfp bits it tests
        max_cache, by_size = kmalloc_by_size(k)
        bits = k.gfp.bits
        kind_flags = (bits.dma | bits.reclaimable | bits.account | ~WORD_MASK) & ((1 << 64) - 1)
        # the pcp fast paths' closures and their state (fastpath.install_pages()): the core does their
        # common cases while the page events call them (_core_page_fns(), at each run), where it
        # makes the addresses they are given the same way (page_offset, 4 KiB pages)
        pcp = k.pages.pcp_state
        if pcp is not None and (pcp[-1] != self.page_offset or self.page_shift != 12
                                or not 0 <= pcp[10] < 1 << 64):
            pcp = None
        if pcp is not None:
            pcp = (*pcp[:-1], Zone, PerCpuPages)
        return {
            "objs": self.objs, "placed": self.placed, "events": self.events, "preexisting": self.preexisting,
            "trace_failed": self.trace_failed, "model_failed": self.model_failed, "bugs": self.bugs,
            "implied_by": self.implied_by, "k": k, "kfree": self._kfree, "cache_alloc": self._cache_alloc,
            "cache_of": k.slab_impl.cache_of, "bug_types": (KernelBug, Oops), "kinfo": self._kmalloc_info,
            "kcaches": self._kmalloc_caches,
            "gfps": self._gfp, "caches": self._caches, "reserve": self._reserve, "pending": self._doom_pending,
            "doomed": self._doomed, "fillers": self._fillers, "last_ptr": self._last_alloc_ptr,
            "slab_of": slub.slab_of, "slub": slub, "frames": k.phys.frames, "eventbuf": _eventbuf(),
            "by_size": by_size, "kcls": type(k),
            "fast_kmalloc": fast[0],
            "page_offset": self.page_offset, "hardened": int(bool(slub.hardened)), "word": slub.word,
            "ncpu": self.ncpu, "max_cache": self.max_cache, "fp_max_cache": max_cache, "kind_flags": kind_flags,
            "zero_flag": bits.zero, "types": (KmemCache, KmemCacheCpu, Slab), "error": ReplayCoreError,
            "pages": self.pages, "claimed": self._claimed, "page_failed": self._page_failed,
            "lowmem": min(self.lowmem, (1 << 64) - 1), "page_shift": self.page_shift, "pcp": pcp,
        }

    def _core_page_fns(self) -> tuple[Callable[[int, int], int], Callable[[int, int], None], Callable[[int, int], Any]]:
        """The page allocator's functions the page events call: pa_alloc, pa.free, k.free_pages
        (:meth:`_run` binds them at its top, the compiled core at each run).  pa_alloc is
        ``k.pages.alloc_pfn`` -- the same allocation with the pcp fast path in front -- while
        get_free_pages' fast path is in its dispatch slot, else the general ``pa.alloc``."""
        k = self.k
        pa_alloc: Callable[[int, int], int] = self.pa.alloc
        if k.pages.alloc_pfn is not None and k.dispatch.active("get_free_pages") == "fast":
            pa_alloc = k.pages.alloc_pfn
        return pa_alloc, self.pa.free, k.free_pages

    def _run_at(self, cur: list, i: int, j: int, nxt: list) -> None:
        """The events ``cur[i:j]`` by :meth:`_run` (the compiled core hands over every event it
        does not do itself), with the look-ahead _run would give them: the events after them."""
        tail = cur[j : j + _LOOKAHEAD]
        if len(tail) < _LOOKAHEAD:
            tail += nxt[: _LOOKAHEAD - len(tail)]
        self._run(cur[i:j], tail)

    def core_stats(self) -> dict[str, int] | None:
        """Events the compiled core did itself (``c``) and handed to :meth:`_run` (``py``), or
        None when it did not run."""
        return self._core_obj.stats() if self._core_obj else None

    def _run(self, cur: list, nxt: list) -> None:
        k = self.k
        kmalloc = k.kmalloc
        kfree = self._kfree
        cache_alloc = self._cache_alloc
        pa_alloc, pa_free, free_pages = self._core_page_fns()  # (the compiled core's too)
        objs = self.objs
        pages = self.pages
        placed = self.placed
        events = self.events
        max_cache = self.max_cache
        kinfo = self._kmalloc_info
        kcaches = self._kmalloc_caches
        gfps = self._gfp
        caches = self._caches
        last_ptr = self._last_alloc_ptr
        reserve = self._reserve
        doomed = self._doomed
        pending = self._doom_pending
        ncpu = self.ncpu
        po = self.page_offset
        shift = self.page_shift
        lowmem = self.lowmem
        interval = self._interval_ns
        # the next sample: at this event count, or (interval) at this trace time; -1: none
        next_at = self._next_sample_ts if interval else self._next_sample_n
        n = self.n
        first_ts = self.first_ts
        last_ts = self.last_ts
        cpu_now = -2
        mcpu = k.cpu
        n_chunk = len(cur)
        for i in range(n_chunk):
            ev = cur[i]
            kind = ev[0]
            n += 1
            ts = ev[1]
            if ts >= 0:
                if first_ts < 0:
                    first_ts = self.first_ts = ts
                    if interval:
                        next_at = ts + interval
                last_ts = ts
            c = ev[2]
            if c != cpu_now:
                cpu_now = c
                mcpu = k.cpu = c % ncpu if c >= 0 else 0
            try:
                if kind == "kfree" or kind == "kmem_cache_free":
                    ptr = ev[6]
                    if not ptr:
                        self.null_frees += 1
                    else:
                        p = objs.pop(ptr, None)
                        if p is None:
                            self.preexisting[kind] += 1
                            if kind == "kmem_cache_free" and ev[7] is not None and self._fillers:
                                if self._free_preexisting(ev[7]):
                                    self.preexisting_freed += 1
                        elif p > 16:
                            kfree(p)
                            placed[kind] += 1
                        elif p:
                            placed[kind] += 1  # ZERO_SIZE_PTR: nothing to free
                        else:
                            self.unplaced[(kind, "the model had failed the allocation")] += 1
                elif kind == "kmalloc" or kind == "kmalloc_node":
                    ptr = ev[6]
                    req = ev[7]
                    info = kinfo.get(ev[9])
                    if info is None:
                        info = self._kmalloc_gfp(ev[9])
                        if info is None:
                            self.unplaced[(kind, f"gfp_flags={ev[9]} are not this machine's")] += 1
                            events[kind] += 1
                            continue
                    if req <= max_cache:
                        model = info[1][req]
                    else:
                        model = 1 << max(shift, (req - 1).bit_length())
                    if model != ev[8] and req:
                        self._mismatch(ev, model)
                    if not ptr:
                        self.trace_failed[kind] += 1
                    else:
                        if reserve and req <= max_cache:
                            kcs = kcaches.get(info[0])
                            kc = kcs[req] if kcs is not None else self._kmalloc_cache_for(req, info[0])
                            if id(kc) in reserve and len(kc.partial) < 2:
                                self._top_up(kc)
                        old = objs.get(ptr)
                        if old is not None:
                            if last_ptr[mcpu] == ptr and req > max_cache:
                                self.duplicates += 1
                                events[kind] += 1
                                continue
                            self._implied_free(ptr, old)
                        if pending and req <= max_cache:
                            kcs = kcaches.get(info[0])
                            kc = kcs[req] if kcs is not None else self._kmalloc_cache_for(req, info[0])
                            if id(kc) in pending:
                                self._make_room(kc, n)
                        p = kmalloc(req, info[0])
                        objs[ptr] = p
                        if p:
                            placed[kind] += 1
                            if doomed:
                                until = doomed.pop(n, 0)
                                if until and p > 16 and req <= max_cache:
                                    self._doom(p, ptr, until)
                        else:
                            self.model_failed[kind] += 1
                        last_ptr[mcpu] = ptr
                elif kind == "kmem_cache_alloc" or kind == "kmem_cache_alloc_node":
                    ptr = ev[6]
                    name = ev[11]
                    c = caches.get(name if name is not None else (ev[7], ev[8]))
                    if c is None:
                        c = self.cache_for(name, ev[7], ev[8])
                        if c is None:
                            events[kind] += 1
                            continue
                    g = gfps.get(ev[9], -1)
                    if g == -1:
                        g = self.gfp(ev[9])
                    if g is None:
                        self.unplaced[(kind, f"gfp_flags={ev[9]} are not this machine's")] += 1
                        events[kind] += 1
                        continue
                    if c.size != ev[8]:
                        self._mismatch(ev, c.size)
                    if reserve and id(c) in reserve and len(c.partial) < 2:
                        self._top_up(c)
                    if not ptr:
                        self.trace_failed[kind] += 1
                    else:
                        old = objs.get(ptr)
                        if old is not None:
                            self._implied_free(ptr, old)
                        if pending and id(c) in pending:
                            self._make_room(c, n)
                        p = cache_alloc(c, g)
                        objs[ptr] = p
                        if p:
                            placed[kind] += 1
                            if doomed:
                                until = doomed.pop(n, 0)
                                if until:
                                    self._doom(p, ptr, until)
                        else:
                            self.model_failed[kind] += 1
                        last_ptr[mcpu] = ptr
                elif kind == "mm_page_alloc":
                    # the compiled core does this branch too (_kmemreplay.c: do_page_alloc(), with
                    # _slab_page_of()'s look-ahead in no_slab_page()): a change to one must be
                    # made in the other
                    pfn = ev[5]
                    if pfn < 0:
                        self.trace_failed[kind] += 1
                        self._page_failed[mcpu] = True
                    else:
                        window = cur[i + 1 : i + 1 + _LOOKAHEAD]
                        if len(window) < _LOOKAHEAD:
                            window += nxt[: _LOOKAHEAD - len(window)]
                        served = self._slab_page_of(ev, window, self._page_failed[mcpu], n + 1)
                        self._page_failed[mcpu] = False
                        if served is not None:
                            self._slab_page(ev, served)
                        else:
                            g = gfps.get(ev[8], -1)
                            if g == -1:
                                g = self.gfp(ev[8])
                            if g is None:
                                self.unplaced[(kind, f"gfp_flags={ev[8]} are not this machine's")] += 1
                            else:
                                old = pages.pop(pfn, None)
                                if old is not None:
                                    self.implied_frees += 1
                                    self.implied_by["pages"] += 1
                                    self._free_block(old >> 4, old & 15)
                                mp = pa_alloc(g, ev[6])
                                if mp >= 0:
                                    pages[pfn] = mp << 4 | ev[6]
                                    self._held += 1 << ev[6]
                                    placed[kind] += 1
                                else:
                                    self.model_failed[kind] += 1
                elif kind == "mm_page_free":
                    # and this one (_kmemreplay.c: do_page_free()); a change to one must be made
                    # in the other
                    pfn = ev[5]
                    v = pages.pop(pfn, None)
                    if v is not None and v & 15 == ev[6]:
                        mp = v >> 4
                        if ev[6] == 0 and (mp << shift) < lowmem:
                            free_pages(po + (mp << shift), 0)
                        else:
                            pa_free(mp, ev[6])
                        self._held -= 1 << ev[6]
                        placed[kind] += 1
                    else:
                        self._page_free_slow(ev, v)
                elif kind == "lost":
                    self.lost_markers += 1
                    if ev[5] > 0:
                        self.lost_events += ev[5]
                else:
                    self.ignored[kind] += 1
            except (KernelBug, Oops) as e:
                self.bugs[getattr(e, "kind", None) or type(e).__name__] += 1
            events[kind] += 1
            if next_at >= 0 and (ts if interval else n) >= next_at:
                self.n = n
                self.last_ts = last_ts
                self._next_sample_ts = next_at
                self._sample()
                interval = self._interval_ns
                next_at = self._next_sample_ts if interval else self._next_sample_n
        self.n = n
        self.last_ts = last_ts
        if interval:
            self._next_sample_ts = next_at

    # ------------------------------------------------------------------ slow cases
    def _mismatch(self, ev: Any, model: int) -> None:
        self.mismatches += 1
        if len(self.mismatch_examples) < self.opts.examples:
            self.mismatch_examples.append(
                Mismatch(ev[0], ev[1], ev[2], ev[5], ev[11], ev[7], ev[9], ev[8], model)
            )

    def _implied_free(self, ptr: int, old: int) -> None:
        """An allocation over a live traced pointer: its free was lost (not traced: kfree_rcu's
        and the bulk frees, lost events); free the old object."""
        self.implied_frees += 1
        what = "kmalloc"
        if old > 16:
            c = self.k.slab_impl.cache_of(old)
            if c is not None and not c.kmalloc:
                what = c.name
            self._kfree(old)
        self.implied_by[what] += 1

    def _free_block(self, mp: int, order: int) -> None:
        self._held -= 1 << order
        self.pa.free(mp, order)

    def _page_free_slow(self, ev: Any, v: int | None) -> None:
        kind = ev[0]
        pfn = ev[5]
        order = ev[6]
        if v is not None:
            # a block freed with another order than it was allocated with
            mp, ao = v >> 4, v & 15
            if order < ao and self._split(pfn, mp, ao):
                v2 = self.pages.pop(pfn, None)
                if v2 is not None:
                    self._page_free_slow(ev, v2) if (v2 & 15) != order else self._free_exact(v2 >> 4, order, kind)
                return
            self.pages[pfn] = v
            self.unplaced[(kind, f"order {order} free of a block allocated with order {ao}")] += 1
            return
        so = self.slab_page_pfns.pop(pfn, None)
        if so is not None:
            self.slab_page_frees += 1
            return
        # inside a known block (a split page freed one page at a time)?
        for o in range(1, self.pa.max_order + 1):
            head = pfn & ~((1 << o) - 1)
            hv = self.pages.get(head)
            if hv is not None and (hv & 15) >= o and head != pfn:
                mp, ao = hv >> 4, hv & 15
                if self._split(head, mp, ao):
                    v2 = self.pages.pop(pfn, None)
                    if v2 is not None and (v2 & 15) == order:
                        self._free_exact(v2 >> 4, order, kind)
                        return
                self.unplaced[(kind, "a page inside a block the model cannot split")] += 1
                return
        self.preexisting[kind] += 1

    def _free_exact(self, mp: int, order: int, kind: str) -> None:
        self._held -= 1 << order
        self.pa.free(mp, order)
        self.placed[kind] += 1

    def _split(self, tpfn: int, mp: int, order: int) -> bool:
        """split_page() of the model's block behind the traced block at tpfn."""
        pa = self.pa
        if mp in pa.compound or pa.allocated.get(mp) != order:
            return False
        pa.split_page(mp, order)
        for i in range(1 << order):
            self.pages[tpfn + i] = (mp + i) << 4
        return True

    # ------------------------------------------------------------------ samples
    def _sample(self) -> None:
        self.samples.append(self.sample())
        if self._interval_ns:
            nxt = self._next_sample_ts
            while nxt <= self.last_ts:
                nxt += self._interval_ns
            self._next_sample_ts = nxt
        else:
            self._next_sample_n = self.n + self.opts.sample_every
        if len(self.samples) > self.opts.max_samples:
            self.samples = self.samples[::2]
            if self._interval_ns:
                self._interval_ns *= 2
            else:
                self.opts.sample_every *= 2
                self._next_sample_n = self.n + self.opts.sample_every

    def sample(self) -> Sample:
        """The machine's state now."""
        from ..mm.vmstat import zone_indices

        k = self.k
        # the compiled core's sums where it runs (SLUB), else slab_usage()'s, the same numbers
        core = self._core_obj
        got = core.slab_sample(k.slub.caches) if core else None
        per: dict[str, int]
        if got is not None:
            total_pages, objs, active, used_bytes, per = got
        else:
            total_pages = objs = active = used_bytes = 0
            per = {}
            for name, _slabs, pg, n, a, _size, used in slab_usage(k):
                total_pages += pg
                per[name] = pg
                objs += n
                active += a
                used_bytes += used
        large = sum(1 << o for o in k.slab.large.values())
        held = self._held
        zones = [z for z in self.pa.zones if z.populated]
        nord = self.pa.max_order + 1
        blocks = tuple(map(sum, zip(*[z.nr_free[:nord] for z in zones], strict=True))) if zones else (0,) * nord
        ext: dict[str, tuple[int, ...]] = {}
        unu: dict[str, tuple[int, ...]] = {}
        # the indices are a function of the free counts: a zone's from its last sample while those
        # have not changed (the DMA zones' never do in a replay)
        last = self._zone_indices
        for z in zones:
            counts = tuple(z.nr_free)
            got_z = last.get(z.name)
            if got_z is None or got_z[0] != counts or got_z[1] != nord:
                got_z = last[z.name] = (counts, nord, zone_indices(z, nord))
            ext[z.name], unu[z.name] = got_z[2]
        util = used_bytes / (total_pages << self.page_shift) if total_pages else 0.0
        return Sample(self.n, self.last_ts, total_pages, large, objs, active, util, held, blocks, ext, unu, per)

    # ------------------------------------------------------------------ the end
    def finish(self, check: bool = True) -> Replay:
        """Take the last sample and run ``k.check()`` (its error is kept in
        :attr:`check_error` and re-raised)."""
        if not self.finished:
            self.finished = True
            if not self.samples or self.samples[-1].events != self.n:
                self.samples.append(self.sample())
        if check:
            self.checked = True
            try:
                self.k.check()
                self.check_error = None
            except KmemsimError as e:
                self.check_error = str(e)
                raise
        return self

    @property
    def final(self) -> Sample:
        return self.samples[-1] if self.samples else self.sample()

    def summary(self, top: int = 15, parse_stats: ParseStats | None = None) -> str:
        """The replay's report: what was replayed, what was not and why, the
        bytes_alloc mismatches, and the machine's final state."""
        out: list[str] = []
        k = self.k
        src = "host snapshot " + self.host.source if self.host is not None else "a fresh boot"
        out.append(f"Replay on {k.profile.name}, {k.ram >> 20} MiB, {len(k.cpus)} CPUs ({src})\n")
        if parse_stats is not None:
            out.append(f"Trace: {parse_stats.summary()}\n")
        span = (self.last_ts - self.first_ts) / 1e9 if self.first_ts >= 0 else 0.0
        out.append(f"events: {self.n} over {span:.6f} s of trace time\n")
        for kind in sorted(self.events):
            out.append(f"  {kind:<28} {self.events[kind]:9d}  replayed {self.placed.get(kind, 0):9d}\n")
        out.append(f"bytes_alloc mismatches: {self.mismatches}\n")
        for m in self.mismatch_examples:
            out.append(f"  {m}\n")
        notes = [
            ("pre-existing frees (allocated before the trace)", sum(self.preexisting.values()), self.preexisting),
            ("allocations the traced kernel failed", sum(self.trace_failed.values()), self.trace_failed),
            ("allocations the model failed", sum(self.model_failed.values()), self.model_failed),
            ("events with nothing to replay", sum(self.ignored.values()), self.ignored),
        ]
        for label, total, per in notes:
            if total:
                out.append(f"{label}: {total} (" + ", ".join(f"{kk} {v}" for kk, v in sorted(per.items())) + ")\n")
        if self.null_frees:
            out.append(f"kfree(NULL): {self.null_frees}\n")
        out.append(
            f"slab and large-kmalloc pages (the model's SLUB makes its own): {self.slab_pages_skipped} allocations, "
            f"{self.slab_page_frees} frees\n"
        )
        out.append(self.slab_pages_report(top))
        if self.duplicates:
            out.append(f"duplicate kmalloc events (6.18 traces a large __kmalloc twice): {self.duplicates}\n")
        if self.implied_frees:
            top5 = ", ".join(f"{kk} {v}" for kk, v in self.implied_by.most_common(5))
            out.append(f"allocations over a live pointer (an untraced or lost free, freed now): {self.implied_frees}"
                       + (f" ({top5})" if top5 else "") + "\n")
        if self.lost_markers:
            out.append(f"lost events: {self.lost_events} in {self.lost_markers} markers\n")
        if self.unplaced:
            out.append(f"events not placed: {sum(self.unplaced.values())}\n")
            for (kind, why), v in sorted(self.unplaced.items(), key=lambda kv: (-kv[1], kv[0])):
                out.append(f"  {kind}: {why}: {v}\n")
        if self.bugs:
            out.append("kernel reports during the replay: "
                       + ", ".join(f"{kk} {v}" for kk, v in sorted(self.bugs.items())) + "\n")
        out.append("\n" + self.state_report(top))
        if self.caches_made:
            out.append("\nCaches made for the trace:\n")
            for name, how in sorted(self.caches_made.items()):
                out.append(f"  {name:<28} {how}\n")
        if self.checked:
            out.append("\nk.check(): "
                       + ("clean" if self.check_error is None else f"FAILED: {self.check_error}") + "\n")
        return "".join(out)

    def model_slab_pages(self) -> Counter:
        """Pages the model's SLUB took from its page allocator for new slabs during the
        replay, by cache (M per cache): new_slab()'s count since the replay began (or the
        cache was made), less what seeding from the snapshot made."""
        out: Counter = Counter()
        base = self._slab_base
        for c in self.k.slab_impl.caches:
            v = _alloc_slab_pages(c) - base.get(id(c), 0)
            if v:
                out[c.name] += v
        return out

    def slab_pages_table(self, top: int = 15) -> list[tuple[str, int, int]]:
        """(cache, trace N, model M) rows, the largest first (by the larger of the two)."""
        tr = self.trace_slab_pages
        mo = self.model_slab_pages()
        names = set(tr) | set(mo)
        rows = sorted(((n, tr.get(n, 0), mo.get(n, 0)) for n in names), key=lambda r: (-max(r[1], r[2]), r[0]))
        return rows[:top] if top >= 0 else rows

    def slab_pages_report(self, top: int = 15) -> str:
        """``slab pages allocated: trace N, model M`` and the largest caches with both numbers."""
        n = sum(self.trace_slab_pages.values())
        m = sum(self.model_slab_pages().values())
        ratio = f" (model/trace {m / n:.2f})" if n else ""
        out = [f"slab pages allocated: trace {n}, model {m}{ratio}\n"]
        rows = self.slab_pages_table(-1)
        if rows:
            out.append(f"  {'cache':<28} {'trace':>7} {'model':>7}\n")
            for name, a, b in rows[:top]:
                out.append(f"  {name[:28]:<28} {a:7d} {b:7d}\n")
            if len(rows) > top:
                out.append(f"  ... {len(rows) - top} more caches\n")
        if self.trace_large_pages or self.k.slab.large:
            out.append(f"large kmalloc pages allocated: trace {self.trace_large_pages}\n")
        if self.obj_exts_pages:
            out.append(f"  (of the trace's, {self.obj_exts_pages} pages of kmalloc slabs made for obj_exts vectors)\n")
        return "".join(out)

    def state_report(self, top: int = 15) -> str:
        """The machine's slab footprint, buddy free lists and fragmentation now."""
        s = self.sample()
        k = self.k
        ps = 1 << self.page_shift
        out = [
            f"Slab: {s.slab_pages} pages ({s.slab_pages * ps >> 10} KiB) in {sum(1 for _ in s.caches)} caches, "
            f"{s.slab_active}/{s.slab_objects} objects in use, utilisation {100 * s.utilisation:.1f}%; "
            f"large kmalloc {s.large_pages} pages; pages held for page events {s.replay_pages}\n",
            f"{'cache':<28} {'slabs':>7} {'pages':>7} {'objs':>8} {'active':>8} {'objsize':>7}\n",
        ]
        rows = [(pg, name, slabs, n, a, size) for name, slabs, pg, n, a, size, _ in slab_usage(k)]
        rows.sort(key=lambda r: (-r[0], r[1]))
        for pg, name, slabs, objs, act, size in rows[:top] if top >= 0 else rows:
            out.append(f"{name[:28]:<28} {slabs:7d} {pg:7d} {objs:8d} {act:8d} {size:7d}\n")
        if top >= 0 and len(rows) > top:
            out.append(f"... {len(rows) - top} more caches\n")
        out.append("\nBuddy free blocks per order (/proc/buddyinfo)\n")
        out.append(k.proc("buddyinfo"))
        out.append("\nFragmentation index per order (/sys/kernel/debug/extfrag/extfrag_index)\n")
        out.append(k.debugfs("extfrag/extfrag_index") or "")
        out.append("\nUnusable free index per order (/sys/kernel/debug/extfrag/unusable_index)\n")
        out.append(k.debugfs("extfrag/unusable_index") or "")
        return "".join(out)


# ---------------------------------------------------------------------------- machines
def _alloc_slab_pages(c: Any) -> int:
    """Pages the allocator took for new slabs of cache ``c`` since it was made: SLUB's
    new_slab() count; SLAB's cache_grow() count (grown) times its slab's pages; SLOB: 0."""
    if hasattr(c, "alloc_slab_pages"):
        return int(c.alloc_slab_pages)
    if hasattr(c, "grown"):
        return int(c.grown) << int(c.gfporder)
    return 0


def slab_usage(k: Any) -> list[tuple[str, int, int, int, int, int, int]]:
    """(cache, slabs, pages, objects, objects in use, stride, bytes in use) of every cache
    with slabs, for any slab allocator.  SLUB: objects on partial lists are the free ones;
    SLAB: s_show()'s count (objects in the per-CPU arrays count as in use, as
    /proc/slabinfo shows them); SLOB: one row, "slob", for its pages (no per-cache slabs,
    no object counts): the bytes not in free blocks are in use."""
    impl = k.slab_impl
    out = []
    if impl.name == "slub":
        for c in k.slub.caches:
            if c.nr_slabs:
                # plain loops: a replay samples every thousand events, and sum() over generators
                # was half of a sample's time
                free = 0
                for sl in c.partial:
                    free += sl.objects - sl.inuse
                for cc in c.cpu_slab:
                    for sl in cc.partial:
                        free += sl.objects - sl.inuse
                act = c.total_objects - free
                out.append((c.name, c.nr_slabs, c.nr_slabs << c.order, c.total_objects, act, c.size, act * c.size))
    elif impl.name == "slab":
        for c in impl.caches:
            active, num, _act_slabs, num_slabs = impl.slab_counts(c)
            if num_slabs:
                out.append((c.name, num_slabs, num_slabs << c.gfporder, num, active, c.buffer_size,
                            active * c.buffer_size))
    else:
        pages = list(impl.pages.values())
        if pages:
            total = len(pages) * k.page_size
            free = sum(sp.units for sp in pages) * 2  # SLOB_UNIT bytes
            out.append(("slob", len(pages), len(pages), 0, 0, 0, total - free))
    return out



def parse_sets(sets: Iterable[str], what: str = "--set") -> tuple[dict[str, Any], dict[str, Any]]:
    """``NAME=VALUE`` strings -> (tunables, machine) where machine holds ``cpus``, ``ram``
    and ``profile`` when given that way."""
    tun: dict[str, Any] = {}
    mach: dict[str, Any] = {}
    for s in sets:
        name, eq, value = str(s).partition("=")
        name = name.strip()
        if not eq or not name:
            raise UsageError(f"{what} {s!r}: expected NAME=VALUE")
        value = value.strip()
        if name == "cpus":
            try:
                mach["cpus"] = int(value)
            except ValueError:
                raise UsageError(f"{what} {s!r}: cpus must be a number") from None
        elif name in ("ram", "profile"):
            mach[name] = value
        else:
            tun[name] = value
    return tun, mach


def boot_machine(
    *,
    host: str | Path | None = None,
    profile: str | None = None,
    ram: str | int | None = None,
    cpus: int | None = None,
    tunables: dict[str, Any] | None = None,
    seed: int = 0,
) -> Kernel:
    """A machine to replay on: from a host snapshot, or a profile (``on_bug="report"``)."""
    import kmemsim

    tun = dict(tunables or {})
    if host is not None:
        if profile not in (None, kmemsim.DEFAULT_PROFILE):
            raise UsageError(f"--host boots {kmemsim.DEFAULT_PROFILE}; a host snapshot cannot boot {profile}")
        return kmemsim.boot(host=str(host), ram=ram, cpus=cpus, seed=seed, on_bug="report", **tun)
    return kmemsim.boot(profile or kmemsim.DEFAULT_PROFILE, ram=ram, cpus=cpus, seed=seed, on_bug="report", **tun)


def replay(
    source: str | Path | IO[str] | IO[bytes] | Iterable[Any],
    *,
    k: Kernel | None = None,
    host: str | Path | None = None,
    profile: str | None = None,
    ram: str | int | None = None,
    cpus: int | None = None,
    tunables: dict[str, Any] | None = None,
    options: ReplayOptions | None = None,
    fmt: str = "auto",
    lenient: bool = False,
    check: bool = True,
    engine: str = "auto",
) -> Replay:
    """Boot a machine (or use ``k``) and replay ``source`` into it: a trace file (any
    format :class:`~kmemsim.trace.parse.TraceReader` reads), a stream, or event
    records.  ``r.parse_stats`` holds the reader's statistics (None for records).  ``engine``:
    the replay loop's (:data:`ENGINES`; all give the same replay)."""
    from .parse import TraceReader

    if k is None:
        k = boot_machine(host=host, profile=profile, ram=ram, cpus=cpus, tunables=tunables)
    if engine not in ENGINES:
        raise UsageError(f"engine {engine!r}: one of {', '.join(ENGINES)}")
    r = Replay(k, options=options)
    r.engine = engine
    reader = None
    if isinstance(source, (str, Path)) or hasattr(source, "read"):
        reader = TraceReader(source, fmt=fmt, lenient=lenient)
        events: Iterable[Any] = reader
    elif isinstance(source, list) and source and isinstance(source[0], str):
        reader = TraceReader(source, fmt=fmt, lenient=lenient)
        events = reader
    else:
        events = source
    try:
        r.feed(events)
    except ReplayInputError as e:
        if isinstance(source, (str, Path)):
            raise located(e, source) from None
        raise
    r.parse_stats = reader.stats if reader is not None else None
    r.finish(check=check)
    return r


# ---------------------------------------------------------------------------- compare


class Comparison(Record):
    """One trace replayed on two machines (:func:`compare`)."""

    __match_args__ = ("a", "b", "labels", "parse_stats", "notes")

    a: Replay
    b: Replay
    labels: tuple[str, str]
    parse_stats: Any = None
    notes: list[str]

    def __init__(self, a: Replay, b: Replay, labels: tuple[str, str], parse_stats: Any = None,
                 notes: list[str] | None = None) -> None:
        vars(self).update(a=a, b=b, labels=labels, parse_stats=parse_stats, notes=[] if notes is None else notes)

    def report(self, top: int = 15) -> str:
        """The two machines side by side: footprint, slab counts, fragmentation, differences."""
        a, b = self.a, self.b
        sa, sb = a.final, b.final
        la, lb = self.labels
        w = 12
        out = [f"Compare: the same trace ({a.n} events) on two machines\n",
               f"  A: {la}\n  B: {lb}\n"]  # fmt: skip
        if self.parse_stats is not None:
            out.append(f"Trace: {self.parse_stats.summary()}\n")
        out.append("\n")

        def row(label: str, va: Any, vb: Any, fmt_: str = "d", diff: bool = True) -> None:
            if isinstance(va, float):
                d = f"{vb - va:+.1f}" if diff else ""
                out.append(f"{label:<36} {va:>{w}.1f} {vb:>{w}.1f} {d:>12}\n")
            else:
                d = f"{vb - va:+d}" if diff and isinstance(va, int) else ""
                out.append(f"{label:<36} {va:>{w}} {vb:>{w}} {d:>12}\n")

        out.append(f"{'':<36} {'A':>{w}} {'B':>{w}} {'B - A':>12}\n")
        ka, kb = a.k, b.k
        row("CPUs", len(ka.cpus), len(kb.cpus))
        row("managed pages", sum(z.managed_pages for z in ka.page_alloc.zones),
            sum(z.managed_pages for z in kb.page_alloc.zones))  # fmt: skip
        row("min_free_kbytes", ka.page_alloc.min_free_kbytes, kb.page_alloc.min_free_kbytes)
        row("slab caches in use", len(sa.caches), len(sb.caches))
        row("slab pages", sa.slab_pages, sb.slab_pages)
        row("slab KiB", sa.slab_pages << (ka.page_shift - 10), sb.slab_pages << (kb.page_shift - 10))
        row("slab allocator", ka.slab.allocator.upper(), kb.slab.allocator.upper(), diff=False)
        row("slabs", sum(r[1] for r in slab_usage(ka)), sum(r[1] for r in slab_usage(kb)))
        row("slab objects", sa.slab_objects, sb.slab_objects)
        row("slab objects in use", sa.slab_active, sb.slab_active)
        row("slab utilisation %", 100 * sa.utilisation, 100 * sb.utilisation)
        row("large kmalloc pages", sa.large_pages, sb.large_pages)
        row("pages held for page events", sa.replay_pages, sb.replay_pages)
        row("free pages", ka.nr_free_pages(), kb.nr_free_pages())
        row("bytes_alloc mismatches", a.mismatches, b.mismatches)
        row("allocations the model failed", sum(a.model_failed.values()), sum(b.model_failed.values()))
        peak_a = max((s.slab_pages for s in a.samples), default=0)
        peak_b = max((s.slab_pages for s in b.samples), default=0)
        row("peak slab pages (sampled)", peak_a, peak_b)
        nord = max(len(sa.free_blocks), len(sb.free_blocks))
        out.append("\nFree blocks per order (all zones)\n")
        for o in range(nord):
            va = sa.free_blocks[o] if o < len(sa.free_blocks) else 0
            vb = sb.free_blocks[o] if o < len(sb.free_blocks) else 0
            row(f"  order {o}", va, vb)
        out.append("\nFragmentation (x1000; extfrag index at the pageblock order, "
                   "unusable index at order 3 and the pageblock order)\n")
        pba, pbb = ka.page_alloc.pageblock_order, kb.page_alloc.pageblock_order
        for zn in sorted(set(sa.extfrag) | set(sb.extfrag)):
            ea, eb = sa.extfrag.get(zn), sb.extfrag.get(zn)
            ua, ub = sa.unusable.get(zn), sb.unusable.get(zn)
            if ea is None or eb is None or ua is None or ub is None:
                out.append(f"  {zn}: only on {'A' if ea is not None else 'B'}\n")
                continue
            row(f"  {zn} extfrag[{pba}]/[{pbb}]", ea[pba], eb[pbb])
            row(f"  {zn} unusable[3]", ua[3], ub[3])
            row(f"  {zn} unusable[{pba}]/[{pbb}]", ua[pba], ub[pbb])
        out.append("\nPages per cache (the largest, and those that differ most)\n")
        names = set(sa.caches) | set(sb.caches)
        rows = sorted(names, key=lambda n: (-max(sa.caches.get(n, 0), sb.caches.get(n, 0)), n))
        diff = sorted(names, key=lambda n: (-abs(sb.caches.get(n, 0) - sa.caches.get(n, 0)), n))
        shown = []
        for n in rows[:top] + diff[:top]:
            if n not in shown:
                shown.append(n)
        out.append(f"{'cache':<36} {'A':>{w}} {'B':>{w}} {'B - A':>12}\n")
        for n in shown:
            row(f"  {n[:34]}", sa.caches.get(n, 0), sb.caches.get(n, 0))
        if len(names) > len(shown):
            out.append(f"  ... {len(names) - len(shown)} more caches\n")
        merged_a = {c.name: len(c.aliases) for c in ka.slab_impl.caches if getattr(c, "aliases", None)}
        merged_b = {c.name: len(c.aliases) for c in kb.slab_impl.caches if getattr(c, "aliases", None)}
        if merged_a != merged_b:
            out.append(f"\nMerged caches: A {sum(merged_a.values())} aliases in {len(merged_a)} caches, "
                       f"B {sum(merged_b.values())} aliases in {len(merged_b)} caches\n")  # fmt: skip
        out.append("\nDifferences: " + self.differences() + "\n")
        for note in self.notes:
            out.append(note + "\n")
        for name, r in (("A", a), ("B", b)):
            status = "clean" if r.check_error is None else f"FAILED: {r.check_error}"
            out.append(f"{name}: k.check() {status}\n")
        return "".join(out)

    def differences(self) -> str:
        sa, sb = self.a.final, self.b.final
        parts = []
        d = sb.slab_pages - sa.slab_pages
        if d:
            pct = f" ({100 * d / sa.slab_pages:+.1f}%)" if sa.slab_pages else ""
            parts.append(f"B uses {abs(d)} {'more' if d > 0 else 'fewer'} slab pages{pct}")
        ca, cb = len(sa.caches), len(sb.caches)
        if ca != cb:
            parts.append(f"B has {cb} slab caches in use where A has {ca}")
        du = 100 * (sb.utilisation - sa.utilisation)
        if abs(du) >= 0.05:
            parts.append(f"slab utilisation {du:+.1f} points")
        fa = sum(1 for z in sa.unusable.values() for v in z if v > 0)
        fb = sum(1 for z in sb.unusable.values() for v in z if v > 0)
        hi_a = sum(sa.free_blocks[self.a.pa.pageblock_order:])
        hi_b = sum(sb.free_blocks[self.b.pa.pageblock_order:])
        if hi_a != hi_b:
            parts.append(f"free blocks of pageblock order and above: A {hi_a}, B {hi_b}")
        if fa != fb:
            parts.append(f"orders with unusable free memory: A {fa}, B {fb}")
        return "; ".join(parts) if parts else "none in footprint, slab counts or fragmentation"


def compare(
    source: str | Path | Iterable[Any],
    a: dict[str, Any],
    b: dict[str, Any],
    *,
    options: ReplayOptions | None = None,
    fmt: str = "auto",
    lenient: bool = False,
    progress: Any = None,
) -> Comparison:
    """Replay one trace on machine ``a`` and on machine ``b``: each a dict of
    :func:`boot_machine` keywords (``host``, ``profile``, ``ram``, ``cpus``,
    ``tunables``), or ``{"k": kernel}``.  A trace file is read once per machine (so
    memory does not grow with the trace); records are kept in a list.  ``progress``:
    the reader's progress callback."""
    from .parse import TraceReader

    stats = None
    events: Any = None
    if isinstance(source, (str, Path)):
        if str(source) == "-":
            raise UsageError("compare reads its trace twice: give a file, not standard input")
    else:
        events = list(cast("Iterable[Event]", source))
    reps = []
    for side in (a, b):
        side = dict(side)
        k = side.pop("k", None) or boot_machine(**side)
        r = Replay(k, options=options)
        if events is None:
            # a file is read once per machine: memory stays bounded by the replay, not the trace
            reader = TraceReader(cast("str | Path", source), fmt=fmt, lenient=lenient, progress=progress)
            try:
                r.feed(reader)
            except ReplayInputError as e:
                raise located(e, cast("str | Path", source)) from None
            if stats is None:
                stats = reader.stats
        else:
            r.feed(events)
        try:
            r.finish()
        except KmemsimError:
            pass  # kept in r.check_error and reported
        reps.append(r)
    return Comparison(reps[0], reps[1], (describe(a), describe(b)), stats)


def describe(side: dict[str, Any]) -> str:
    """A one-line label of a machine given as :func:`boot_machine` keywords."""
    import kmemsim

    k = side.get("k")
    if k is not None:
        return f"{k.profile.name}, {len(k.cpus)} CPUs, {k.ram >> 20} MiB"
    parts = []
    if side.get("host"):
        parts.append(f"host snapshot {side['host']}")
    else:
        parts.append(side.get("profile") or kmemsim.DEFAULT_PROFILE)
    if side.get("ram"):
        parts.append(f"ram={side['ram']}")
    if side.get("cpus"):
        parts.append(f"cpus={side['cpus']}")
    for kk, v in sorted((side.get("tunables") or {}).items()):
        parts.append(f"{kk}={v}")
    return ", ".join(parts)
