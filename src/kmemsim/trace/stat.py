"""The statistics of ``perf kmem stat``, with perf's definitions and text, and more.

Follows ``tools/perf/builtin-kmem.c`` of perf 6.1 (the perf of the reference
host, 6.1.187; it carries the 6.1 stable fix "perf kmem: Support field "node" in
evsel__process_alloc_event() coping with recent tracepoint restructuring"):

Slab (``--slab``), per event, in trace order:

- an allocation (``kmalloc``, ``kmem_cache_alloc`` and the pre-6.1 ``*_node``
  events) adds ``bytes_req``/``bytes_alloc`` to the totals, to its pointer's
  entry (``--alloc``: hit, bytes, and "last allocation" = this ``bytes_alloc``,
  its call site and CPU) and to its call site's entry (``--caller``);
- "Cross CPU allocations" counts allocations whose event has a ``node`` field
  that is neither NUMA_NO_NODE (-1) nor the node of the CPU that traced it
  (cross-*node*, despite the name), out of all allocations;
- a free (``kfree``, ``kmem_cache_free``) of a pointer never allocated in the
  trace is ignored; otherwise it adds the pointer's *last allocation*'s
  ``bytes_alloc`` to "Total bytes freed" and, when the freeing CPU differs
  from the pointer's recorded CPU, counts a ping-pong for the pointer and its
  call site; then the recorded CPU becomes -1, so a second free of the same
  pointer counts again (perf's definition, kept);
- Frag% is ``100 - 100 * req / alloc``; tables sort by ``-s`` keys, biggest
  first, equal rows in pointer or call-site address order.

Page (``--page``): ``mm_page_alloc``/``mm_page_free`` keyed by pfn; a failed
allocation counts in the totals and the failures; a free of a pfn with no live
allocation is "free-only"; "alloc-only" is all allocation requests (failures
included) minus the matched frees; the order x migratetype table counts
successful allocations (``--live``: minus their frees).

perf 6.1 labels migratetypes with the pre-4.4 enum (Unmovable, Reclaimable,
Movable, Reserved, CMA/Isolated); since 4.4 (and on every 6.x kernel) the enum
is MIGRATE_UNMOVABLE, MIGRATE_MOVABLE, MIGRATE_RECLAIMABLE, MIGRATE_HIGHATOMIC,
then MIGRATE_CMA (with CONFIG_CMA) and MIGRATE_ISOLATE, so perf's
"Reclaimable" column is really Movable and its "Movable" column Reclaimable.
kmemsim prints the traced kernel's names (``migratetypes="4.4+"``, the default,
or ``"pre-4.4"`` for a trace of an older kernel); ``perf_only=True`` prints
exactly what perf 6.1 prints, its labels included.

Beyond perf (printed after perf's report unless ``perf_only``):

- frees on another CPU than their allocation, among frees matched to an
  allocation still live in the trace (true ping-pong);
- pre-existing frees: frees of pointers never allocated in the trace (objects
  allocated before it began), per event; ``kfree(NULL)``; frees of an already
  freed pointer; allocations over a live pointer (a free event was missed);
- ``waste``: trace-cmd mem's table per function (``tracecmd/trace-mem.c``):
  live waste (alloc - req), live alloc and req, totals, peaks of live alloc and
  of live req, and the peak of live waste.  trace-cmd prints MaxAlloc - MaxReq
  as "MaxWaste", which is not a peak of anything when the two peaks happen at
  different times; kmemsim's MaxWaste is the true peak of live waste;
- ``lifetime``: a log2 histogram of object lifetimes (allocation to free);
- ``leaks``: objects still live at the end of the trace, per call site.
"""
from __future__ import annotations

import itertools
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..tracepoints.events import NUMA_NO_NODE, SLAB_ALLOC_EVENTS, SLAB_FREE_EVENTS, Event

__all__ = [
    "StatOptions",
    "KmemStat",
    "SLAB_SORT_KEYS",
    "PAGE_SORT_KEYS",
    "DEFAULT_SLAB_SORT",
    "DEFAULT_PAGE_SORT",
    "parse_time_range",
    "parse_sort_keys",
    "load_kallsyms",
    "GFP_COMPACT_TABLE",
]

#: ``-s`` keys (perf's ``slab_sorts[]`` and ``page_sorts[]``)
SLAB_SORT_KEYS = ("ptr", "callsite", "hit", "bytes", "frag", "pingpong")
PAGE_SORT_KEYS = ("page", "callsite", "hit", "bytes", "order", "migtype", "gfp")
DEFAULT_SLAB_SORT = "frag,hit,bytes"
DEFAULT_PAGE_SORT = "bytes,hit"

#: perf's ``graph_dotted_line``, printed ``%.105s``
DOTS = "-" * 105

#: perf 6.1's ``gfp_compact_table`` (see include/trace/events/mmflags.h); flags
#: missing here (``__GFP_NO_OBJ_EXT``, ``__GFP_ZEROTAGS``, ...) are left out of
#: the compact string, as perf does.
GFP_COMPACT_TABLE: dict[str, str] = {
    "GFP_TRANSHUGE": "THP",
    "GFP_TRANSHUGE_LIGHT": "THL",
    "GFP_HIGHUSER_MOVABLE": "HUM",
    "GFP_HIGHUSER": "HU",
    "GFP_USER": "U",
    "GFP_KERNEL_ACCOUNT": "KAC",
    "GFP_KERNEL": "K",
    "GFP_NOFS": "NF",
    "GFP_ATOMIC": "A",
    "GFP_NOIO": "NI",
    "GFP_NOWAIT": "NW",
    "GFP_DMA": "D",
    "__GFP_HIGHMEM": "HM",
    "GFP_DMA32": "D32",
    "__GFP_HIGH": "H",
    "__GFP_ATOMIC": "_A",
    "__GFP_IO": "I",
    "__GFP_FS": "F",
    "__GFP_COLD": "CO",
    "__GFP_NOWARN": "NWR",
    "__GFP_RETRY_MAYFAIL": "R",
    "__GFP_NOFAIL": "NF",
    "__GFP_NORETRY": "NR",
    "__GFP_COMP": "C",
    "__GFP_ZERO": "Z",
    "__GFP_NOMEMALLOC": "NMA",
    "__GFP_MEMALLOC": "MA",
    "__GFP_HARDWALL": "HW",
    "__GFP_THISNODE": "TN",
    "__GFP_RECLAIMABLE": "RC",
    "__GFP_MOVABLE": "M",
    "__GFP_ACCOUNT": "AC",
    "__GFP_NOTRACK": "NT",
    "__GFP_WRITE": "WR",
    "__GFP_RECLAIM": "R",
    "__GFP_DIRECT_RECLAIM": "DR",
    "__GFP_KSWAPD_RECLAIM": "KR",
}

#: (column label of the order table, 8-character label of the Mig.type column)
#: per migratetype number.  Since 4.4 (commit 016c13daa5c9 "mm, page_alloc: use
#: masks and shifts when converting GFP flags to migrate types", and
#: MIGRATE_HIGHATOMIC replacing MIGRATE_RESERVE): include/linux/mmzone.h.
MIGRATETYPES_4_4 = (
    ("Unmovable", "UNMOVABL"),
    ("Movable", "MOVABLE"),
    ("Reclaimable", "RECLAIM"),
    ("HighAtomic", "HIGHATOM"),
    ("CMA/Isolate", "CMA/ISLT"),
    ("Isolate", "ISOLATE"),
)
#: Before 4.4 (and perf kmem's labels to this day, ``migrate_type_str[]``).
MIGRATETYPES_PRE_4_4 = (
    ("Unmovable", "UNMOVABL"),
    ("Reclaimable", "RECLAIM"),
    ("Movable", "MOVABLE"),
    ("Reserved", "RESERVED"),
    ("CMA/Isolated", "CMA/ISLT"),
    ("", "UNKNOWN"),
)
#: perf's fixed table size: ``MAX_PAGE_ORDER 11`` orders, 5 printed migratetypes.
PERF_MAX_PAGE_ORDER = 11
PERF_PRINTED_MIGRATETYPES = 5


@dataclass
class StatOptions:
    """What to compute and print; the defaults are ``perf kmem stat``'s."""

    slab: bool = True
    page: bool = False
    caller: bool = False
    alloc: bool = False
    slab_caller_sort: str = DEFAULT_SLAB_SORT
    slab_alloc_sort: str = DEFAULT_SLAB_SORT
    page_caller_sort: str = DEFAULT_PAGE_SORT
    page_alloc_sort: str = DEFAULT_PAGE_SORT
    #: (``caller`` and ``alloc`` must be set before :meth:`KmemStat.process`: the
    #: tables are gathered only when asked for.)
    #: ``-l``: rows of the caller and alloc tables (-1: all)
    caller_lines: int = -1
    alloc_lines: int = -1
    #: ``--raw-ip``: call sites as addresses (needs ``kallsyms`` for symbolic traces)
    raw_ip: bool = False
    #: ``--live`` (page): live pages instead of totals
    live: bool = False
    #: ``--time``: (start, stop) in ns, either None
    time: tuple[int | None, int | None] = (None, None)
    page_size: int = 4096
    #: CPU -> NUMA node (perf reads the host's topology); missing CPUs are on node 0
    cpu_nodes: Mapping[int, int] = field(default_factory=dict)
    #: "4.4+" (every 6.x kernel) or "pre-4.4": the traced kernel's migratetype enum
    migratetypes: str = "4.4+"
    #: symbol -> address (a /proc/kallsyms of the traced boot): call sites then sort
    #: in address order exactly as perf's do, and hex call sites resolve to symbols
    kallsyms: Mapping[str, int] | None = None
    #: print exactly perf 6.1's report (its migratetype labels included), nothing more
    perf_only: bool = False
    #: beyond perf: the tables (the summary lines are always printed unless perf_only)
    waste: bool = False
    lifetime: bool = False
    leaks: bool = False
    #: rows of the beyond-perf tables (-1: all)
    top: int = 20
    #: keep each event's stack (ftrace ``<stack trace>``, perf script callchains): ``--folded``,
    #: and leaks and waste per stack; the pure-Python path reads such traces
    stacks: bool = False
    #: "auto" (the compiled core when it was built), "compiled" or "python"
    engine: str = "auto"


def parse_time_range(text: str | None) -> tuple[int | None, int | None]:
    """perf's ``--time START,STOP`` (seconds with up to 9 decimals; either may be
    empty) -> nanoseconds.  Raises ValueError with the reason."""
    if text is None or text.strip() == "":
        return (None, None)
    if "," not in text:
        raise ValueError(f"--time {text!r}: expected START,STOP (seconds; either may be empty)")
    a, _, b = text.partition(",")

    def one(s: str) -> int | None:
        s = s.strip()
        if not s:
            return None
        if not re.fullmatch(r"\d+(?:\.\d{1,9})?", s):
            raise ValueError(f"--time {text!r}: {s!r} is not a time in seconds (like 5430.231547)")
        sec, _, frac = s.partition(".")
        return int(sec) * 1_000_000_000 + (int(frac.ljust(9, "0")) if frac else 0)

    start, stop = one(a), one(b)
    if start is not None and stop is not None and stop < start:
        raise ValueError(f"--time {text!r}: stop is before start")
    return (start, stop)


def parse_sort_keys(text: str, page: bool) -> list[str]:
    """``-s key[,key...]`` checked against perf's keys; ValueError names a bad key."""
    keys = PAGE_SORT_KEYS if page else SLAB_SORT_KEYS
    out = text.split(",")
    for k in out:
        if k not in keys:
            kind = "page" if page else "slab"
            raise ValueError(f"Unknown {kind} --sort key: {k!r} (one of {', '.join(keys)})")
    return out


def load_kallsyms(text: str) -> dict[str, int]:
    """symbol -> address from /proc/kallsyms text (the first address of a name wins)."""
    out: dict[str, int] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            try:
                addr = int(parts[0], 16)
            except ValueError:
                continue
            out.setdefault(parts[2], addr)
    return out


def _compiled() -> Any:
    """The compiled module (``kmemsim.trace._kmemscan``: scanner and slab core), or None."""
    from .parse import compiled_scanner  # checked there against what kmemsim uses of it

    return compiled_scanner()


def _fragmentation(req: int, alloc: int) -> float:
    """perf's fragmentation(): 100 - 100 * req / alloc (0 when nothing was allocated)."""
    if alloc == 0:
        return 0.0
    return 100.0 - (100.0 * req / alloc)


_SITE_RE = re.compile(r"^(?P<sym>.+?)\+0x(?P<off>[0-9a-fA-F]+)(?:/0x[0-9a-fA-F]+)?(?: \[[^\]]*\])?$")
_HEX_RE = re.compile(r"^(?:0x)?[0-9a-fA-F]+$")


class _Sites:
    """Call sites as text: perf's ``sym+off`` spelling and perf's address order."""

    def __init__(self, kallsyms: Mapping[str, int] | None, raw_ip: bool) -> None:
        self.kallsyms = kallsyms or {}
        self.raw_ip = raw_ip
        self._cache: dict[str, tuple[str, tuple]] = {}
        if self.kallsyms:
            items = sorted((a, s) for s, a in self.kallsyms.items())
            self._addrs = [a for a, _ in items]
            self._names = [s for _, s in items]
        else:
            self._addrs, self._names = [], []

    def resolve(self, site: str) -> tuple[str, tuple]:
        """(perf's spelling, sort key) of a call site as printed in a trace."""
        got = self._cache.get(site)
        if got is not None:
            return got
        m = _SITE_RE.match(site)
        addr: int | None = None
        if m is not None:
            sym, off = m.group("sym"), int(m.group("off"), 16)
        elif _HEX_RE.match(site):
            addr = int(site, 16)
            sym, off = "", 0
            if self._addrs:
                i = bisect_right(self._addrs, addr) - 1
                if i >= 0:
                    sym, off = self._names[i], addr - self._addrs[i]
        else:
            sym, off = site, 0
        if addr is None and sym in self.kallsyms:
            addr = self.kallsyms[sym] + off
        if self.raw_ip and addr is not None:
            text = f"{addr:#x}"
        elif sym:
            text = f"{sym}+{off:x}"
        else:
            text = f"{addr:#x}" if addr is not None else site
        key = (0, addr, "", 0) if addr is not None else (1, 0, sym, off)
        got = (text, key)
        self._cache[site] = got
        return got


def _gfp_mask(text: str) -> int:
    """The gfp_t value of a printed flag string (6.18 names, then 2.6.24 ones; a
    name neither knows counts 0)."""
    from kmemsim import gfp as G
    from kmemsim.errors import KmemsimError

    for gs in (G.GFP_6_18, G.GFP_2_6):
        try:
            return gs.parse(text)
        except KmemsimError:
            pass
    mask = 0
    for tok in text.split("|"):
        for gs in (G.GFP_6_18, G.GFP_2_6):
            try:
                mask |= gs.parse(tok)
                break
            except KmemsimError:
                pass
    return mask


def _compact_gfp(text: str) -> str:
    """perf's compact_gfp_flags(): each ``|`` token through the table, unknown ones dropped."""
    return "|".join(GFP_COMPACT_TABLE[t] for t in text.split("|") if t in GFP_COMPACT_TABLE)


class KmemStat:
    """Accumulate kmem events and render perf kmem stat's report (and more).

    >>> from kmemsim.trace import parse
    >>> lines = [
    ...   " a-1 [000] ..... 1.000001: kmalloc: call_site=f+0x1/0x9 ptr=000000000000a0 bytes_req=100"
    ...   " bytes_alloc=128 gfp_flags=GFP_KERNEL node=-1 accounted=false",
    ...   " a-1 [001] ..... 1.000002: kfree: call_site=g+0x2/0x9 ptr=000000000000a0"]
    >>> st = KmemStat().process(parse(lines))
    >>> st.total_requested, st.total_allocated, st.total_freed, st.remote_frees
    (100, 128, 128, 1)
    """

    def __init__(self, options: StatOptions | None = None) -> None:
        self.opts = o = options or StatOptions()
        if o.migratetypes not in ("4.4+", "pre-4.4"):
            raise ValueError(f"migratetypes={o.migratetypes!r}: expected '4.4+' or 'pre-4.4'")
        if o.engine not in ("auto", "compiled", "python"):
            raise ValueError(f"engine={o.engine!r}: expected 'auto', 'compiled' or 'python'")
        self.sites = _Sites(o.kallsyms, o.raw_ip)
        # the per-call-site and per-page tables are gathered only when asked for
        self._caller_tables = o.caller
        self._page_alloc_table = o.alloc and not o.live
        # ---- perf, slab (the compiled core keeps these itself when it is used: see _sync)
        #: ptr -> [call_site, bytes_alloc, bytes_req, time, alloc_cpu] of the objects live now
        self._live: dict[int, list] = {}
        #: ptr -> (call_site, bytes_alloc) of its last allocation, for pointers whose last event
        #: was a free: perf counts a second free again (a pair shared by all such pointers)
        self._dead: dict[int, tuple[str, int]] = {}
        self._pairs: dict[tuple[str, int], tuple[str, int]] = {}
        #: (--alloc) ptr -> [bytes_req, bytes_alloc, hit, pingpong]: perf's alloc_stat totals
        self._ptr_stat: dict[int, list] = {}
        #: call_site -> [bytes_req, bytes_alloc, hit, pingpong]
        self._caller_stat: dict[str, list] = {}
        self.total_requested = 0
        self.total_allocated = 0
        self.total_freed = 0
        self.nr_allocs = 0
        self.nr_cross_allocs = 0
        # ---- perf, page
        self.nr_page_allocs = 0
        self.nr_page_frees = 0
        self.nr_page_fails = 0
        self.nr_page_nomatch = 0
        self.total_page_alloc_bytes = 0
        self.total_page_free_bytes = 0
        self.total_page_fail_bytes = 0
        self.total_page_nomatch_bytes = 0
        #: pfn -> [order, gfp, migratetype, callsite, nr_alloc, alloc_bytes]
        self.page_live: dict[int, list] = {}
        #: (pfn, order, migratetype, gfp) -> [callsite, nr_alloc, alloc_bytes, nr_free, free_bytes]
        self.page_alloc: dict[tuple, list] = {}
        #: (callsite, order, migratetype, gfp) -> [nr_alloc, alloc_bytes, nr_free, free_bytes]
        self.page_caller: dict[tuple, list] = {}
        #: (order, migratetype) -> allocations
        self.order_stats: dict[tuple[int, int], int] = {}
        #: gfp mask -> (the flag string, perf's compact string)
        self.gfps: dict[int, tuple[str, str]] = {}
        self._gfp_cache: dict[str, int] = {}
        self.max_gfp_len = 0
        # ---- beyond perf
        self.nr_frees = 0
        self.frees_by_kind: dict[str, int] = {}
        self.matched_frees = 0
        self.remote_frees = 0
        self.preexisting_frees = 0
        self.preexisting_by_kind: dict[str, int] = {}
        self.null_frees = 0
        self.double_frees = 0
        self.realloc_live = 0
        #: function (or stack) -> [cur_alloc, cur_req, tot_alloc, tot_req, max_alloc, max_req, peak_waste, hits]
        self._waste: dict[str, list] = {}
        self._func: dict[str, str] = {}
        #: log2 buckets of lifetimes in microseconds (bucket i: [2**(i-1), 2**i) us; 0: < 1 us)
        self._lifetime_hist: list[int] = [0] * 64
        self.lost_events = 0
        self.lost_markers = 0
        self.page_free_batched = 0
        self.page_moves: dict[str, int] = {}
        self.extfrag = 0
        self.extfrag_fragmenting = 0
        #: the latest timestamp of an event in the window (the end of the trace, for ages)
        self.last_ts: int | None = None
        #: with stacks (ftrace stacktrace, perf script -g): stack -> [allocations, bytes] (``--folded``),
        #: the live objects' stacks, and whether the trace had any
        self.folded: dict[str, list] = {}
        self._live_stack: dict[int, str] = {}
        self.has_stacks = False
        self._stacks_seen = 0
        self._core: Any = None
        self._core_pages = False
        if o.engine != "python" and not o.stacks:
            core_mod = _compiled()
            if core_mod is None:
                if o.engine == "compiled":
                    raise ValueError("engine='compiled': the compiled core was not built (no C compiler at install)")
            else:
                t0, t1 = o.time
                # the page summary too, unless per-page tables may be printed (Python keeps those)
                self._core_pages = not ((o.caller or o.alloc) and (o.page or not o.slab))
                self._core = core_mod.SlabCore(
                    bool(o.caller), bool(o.alloc), bool(o.waste), t0, t1, dict(o.cpu_nodes),
                    tuple(sorted(SLAB_ALLOC_EVENTS)), tuple(sorted(SLAB_FREE_EVENTS)),
                    self._core_pages, bool(o.live), o.page_size,
                )  # fmt: skip

    # ------------------------------------------------------------------ the tables, wherever they are kept

    @property
    def engine(self) -> str:
        """"compiled" when the compiled core keeps the slab figures, else "python"."""
        return "compiled" if self._core is not None else "python"

    @property
    def caller_stat(self) -> dict[str, list]:
        """call_site -> [bytes_req, bytes_alloc, hit, pingpong] (with ``caller``)."""
        return self._core.caller_stat() if self._core is not None else self._caller_stat

    @property
    def waste(self) -> dict[str, list]:
        """function -> [cur_alloc, cur_req, tot_alloc, tot_req, max_alloc, max_req, peak_waste, hits]
        (trace-cmd mem's table, with ``waste``; per stack when the trace has stacks)."""
        return self._core.waste() if self._core is not None else self._waste

    @property
    def lifetime_hist(self) -> list[int]:
        return self._core.lifetime_hist() if self._core is not None else self._lifetime_hist

    def ptr_stat(self) -> dict[int, list]:
        """(with ``alloc``) ptr -> [call_site of the last allocation, bytes_req, bytes_alloc, hit,
        pingpong]: perf's alloc_stat."""
        if self._core is not None:
            return self._core.ptr_stat()
        out = {}
        for ptr, (req, alloc, hit, pp) in self._ptr_stat.items():
            a = self._live.get(ptr)
            cs = a[0] if a is not None else self._dead[ptr][0]
            out[ptr] = [cs, req, alloc, hit, pp]
        return out

    def live_objects(self) -> dict[int, tuple[str, int, int, int, int]]:
        """ptr -> (call_site, bytes_alloc, bytes_req, allocation time, cpu) of the
        objects allocated in the trace and not freed by its end."""
        if self._core is not None:
            return self._core.live_objects()
        return {ptr: (a[0], a[1], a[2], a[3], a[4]) for ptr, a in self._live.items()}

    def live_totals(self) -> tuple[int, int, int]:
        """(objects, bytes allocated, bytes requested) live at the end."""
        if self._core is not None:
            return self._core.live_totals()
        return len(self._live), sum(a[1] for a in self._live.values()), sum(a[2] for a in self._live.values())

    def _sync(self) -> None:
        """The compiled core's counters into the attributes the report reads."""
        c = self._core
        (
            self.total_requested, self.total_allocated, self.total_freed, self.nr_allocs, self.nr_cross_allocs,
            self.nr_frees, self.matched_frees, self.remote_frees, self.preexisting_frees, self.null_frees,
            self.double_frees, self.realloc_live, self.last_ts,
        ) = c.counters()  # fmt: skip
        self.frees_by_kind = c.frees_by_kind()
        self.preexisting_by_kind = c.preexisting_by_kind()
        if self._core_pages:
            (
                self.nr_page_allocs, self.nr_page_frees, self.nr_page_fails, self.nr_page_nomatch,
                self.total_page_alloc_bytes, self.total_page_free_bytes, self.total_page_fail_bytes,
                self.total_page_nomatch_bytes, self.page_free_batched, _n, _pages,
            ) = c.page_counters()  # fmt: skip
            self.order_stats = c.order_stats()

    def page_live_totals(self) -> tuple[int, int]:
        """(allocations, pages) of the page allocations live at the end."""
        if self._core_pages:
            counters = self._core.page_counters()
            return counters[9], counters[10]
        return len(self.page_live), sum(1 << p[0] for p in self.page_live.values())

    # ------------------------------------------------------------------ input

    def process(self, events: Iterable[Event]) -> KmemStat:
        """Feed every event (in trace order); returns self.  A :class:`~kmemsim.trace.parse.TraceReader`
        is read in batches (with the compiled core, its slab events never become records)."""
        from .parse import TraceReader

        if isinstance(events, TraceReader):
            return self._process_reader(events)
        if self._core is None:
            self._process_py(events, None)
            return self
        page_event = self._page_event
        core = self._core
        it = iter(events)
        try:
            while True:
                batch = events if isinstance(events, list) else list(itertools.islice(it, 4096))
                if not batch:
                    break
                for ev in core.process(batch):
                    page_event(ev)
                if batch is events:
                    break
        finally:
            self._sync()
        return self

    def _process_reader(self, reader: Any) -> KmemStat:
        o = self.opts
        if o.stacks:
            reader.stacks = True
            for batch in reader.batches():
                self._process_py(batch, reader.batch_stacks)
            return self
        core = self._core
        if core is None:
            for batch in reader.batches():
                self._process_py(batch, None)
            return self
        page_event = self._page_event
        reader._core = core  # the compiled scanner feeds the slab events to the core directly
        try:
            for batch in reader.batches():
                for ev in core.process(batch):
                    page_event(ev)
        finally:
            reader._core = None
            self._sync()
        return self

    def _process_py(self, events: Iterable[Any], stacks: list | None) -> None:  # noqa: C901
        """The pure-Python core: perf's definitions, then kmemsim's; ``stacks``: the stack of
        each event (``stacks`` option) for ``--folded`` and the per-stack leaks and waste."""
        o = self.opts
        tstart, tstop = o.time
        cpu_nodes = o.cpu_nodes
        live = self._live
        dead = self._dead
        pairs = self._pairs
        ptr_stat = self._ptr_stat
        track_ptrs = o.alloc
        caller_stat = self._caller_stat
        waste = self._waste
        func_of = self._func
        hist = self._lifetime_hist
        preexisting_by_kind = self.preexisting_by_kind
        frees_by_kind = self.frees_by_kind
        total_requested = self.total_requested
        total_allocated = self.total_allocated
        total_freed = self.total_freed
        nr_allocs = self.nr_allocs
        nr_cross = self.nr_cross_allocs
        last_ts = -1 if self.last_ts is None else self.last_ts
        nr_frees = self.nr_frees
        matched = self.matched_frees
        remote = self.remote_frees
        page_event = self._page_event
        slab_allocs = SLAB_ALLOC_EVENTS
        slab_frees = SLAB_FREE_EVENTS
        filtering = tstart is not None or tstop is not None
        track_waste = o.waste
        track_callers = self._caller_tables
        folded = self.folded
        live_stack = self._live_stack
        n_kfree = 0
        i = -1
        try:
            for ev in events:
                i += 1
                kind = ev[0]
                ts = ev[1]
                if ts >= 0:
                    if filtering and ((tstart is not None and ts < tstart) or (tstop is not None and ts > tstop)):
                        continue
                    if ts > last_ts:
                        last_ts = ts
                if kind in slab_allocs:
                    _k, _ts, cpu, _pid, comm, cs, ptr, req, alloc, _gfp, node, _name, _acc = ev
                    # perf: insert_alloc_stat, insert_caller_stat, totals, cross-node
                    a = live.get(ptr)
                    if a is not None:  # beyond perf: still live, so a free was missed
                        self.realloc_live += 1
                        if track_waste:
                            w = waste[live_stack.pop(ptr, "") or func_of[a[0]]]
                            w[0] -= a[1]
                            w[1] -= a[2]
                    elif dead:
                        dead.pop(ptr, None)
                    live[ptr] = [cs, alloc, req, ts, cpu]
                    if track_ptrs:
                        p = ptr_stat.get(ptr)
                        if p is None:
                            ptr_stat[ptr] = [req, alloc, 1, 0]
                        else:
                            p[0] += req
                            p[1] += alloc
                            p[2] += 1
                    if track_callers:
                        c = caller_stat.get(cs)
                        if c is None:
                            caller_stat[cs] = [req, alloc, 1, 0]
                        else:
                            c[0] += req
                            c[1] += alloc
                            c[2] += 1
                    total_requested += req
                    total_allocated += alloc
                    nr_allocs += 1
                    if node is not None and node != NUMA_NO_NODE and node != cpu_nodes.get(cpu, 0):
                        nr_cross += 1
                    key: str | None = None
                    if stacks is not None:
                        stk = stacks[i]
                        if stk is not None:
                            self._stacks_seen += 1
                            key = ";".join((comm or "[unknown]", *reversed(stk)))
                            f = folded.get(key)
                            if f is None:
                                folded[key] = [1, alloc]
                            else:
                                f[0] += 1
                                f[1] += alloc
                            live_stack[ptr] = key
                    if not track_waste:
                        continue
                    # beyond perf: trace-cmd mem's waste per function (per stack when there are stacks)
                    fn = key
                    if fn is None:
                        fn = func_of.get(cs)
                        if fn is None:
                            fn = func_of[cs] = cs.partition("+")[0]
                    wf = waste.get(fn)
                    if wf is None:
                        waste[fn] = [alloc, req, alloc, req, alloc, req, alloc - req, 1]
                    else:
                        wf[0] += alloc
                        wf[1] += req
                        wf[2] += alloc
                        wf[3] += req
                        wf[7] += 1
                        if wf[0] > wf[4]:
                            wf[4] = wf[0]
                        if wf[1] > wf[5]:
                            wf[5] = wf[1]
                        if wf[0] - wf[1] > wf[6]:
                            wf[6] = wf[0] - wf[1]
                elif kind in slab_frees:
                    cpu = ev[2]
                    ptr = ev[6]
                    nr_frees += 1
                    if kind == "kfree":
                        n_kfree += 1
                    else:
                        frees_by_kind[kind] = frees_by_kind.get(kind, 0) + 1
                    a = live.pop(ptr, None)
                    if a is not None:
                        # beyond perf: a free matched to a live allocation
                        matched += 1
                        if cpu != a[4]:
                            remote += 1
                        lt = (ts - a[3]) // 1000
                        hist[lt.bit_length() if lt > 0 else 0] += 1
                        stk_key = live_stack.pop(ptr, None) if live_stack else None
                        if track_waste:
                            w = waste[stk_key or func_of[a[0]]]
                            w[0] -= a[1]
                            w[1] -= a[2]
                        # perf: evsel__process_free_event
                        total_freed += a[1]
                        pair = (a[0], a[1])
                        dead[ptr] = pairs.setdefault(pair, pair)
                        if cpu == a[4]:
                            continue
                        cs = a[0]
                    else:
                        d = dead.get(ptr)
                        if d is None:
                            # perf ignores it; kmemsim tells kfree(NULL) from pre-existing objects
                            if ptr == 0:
                                self.null_frees += 1
                            else:
                                self.preexisting_frees += 1
                                preexisting_by_kind[kind] = preexisting_by_kind.get(kind, 0) + 1
                            continue
                        self.double_frees += 1
                        total_freed += d[1]
                        if cpu == -1:  # perf recorded CPU -1 at the first free
                            continue
                        cs = d[0]
                    # perf: a ping-pong for the pointer and its call site
                    if track_ptrs:
                        ptr_stat[ptr][3] += 1
                    if track_callers:
                        caller_stat[cs][3] += 1
                else:
                    page_event(ev)
                    if stacks is not None and kind == "mm_page_alloc" and ev[5] != -1 and stacks[i] is not None:
                        self._stacks_seen += 1
                        key = ";".join((ev[4] or "[unknown]", *reversed(stacks[i])))
                        f = folded.get(key)
                        if f is None:
                            folded[key] = [1, o.page_size << ev[6]]
                        else:
                            f[0] += 1
                            f[1] += o.page_size << ev[6]
        finally:
            self.total_requested = total_requested
            self.total_allocated = total_allocated
            self.total_freed = total_freed
            self.nr_allocs = nr_allocs
            self.nr_cross_allocs = nr_cross
            self.last_ts = None if last_ts < 0 else last_ts
            self.nr_frees = nr_frees
            if n_kfree:
                frees_by_kind["kfree"] = frees_by_kind.get("kfree", 0) + n_kfree
            self.matched_frees = matched
            self.remote_frees = remote
            if self._stacks_seen:
                self.has_stacks = True

    def feed(self, ev: Event) -> None:
        """One event (see :meth:`process`)."""
        self.process([ev])

    def _gfp(self, text: str) -> int:
        mask = self._gfp_cache.get(text)
        if mask is None:
            mask = self._gfp_cache[text] = _gfp_mask(text)
        return mask

    def _page_event(self, ev: Any) -> None:
        kind = ev[0]
        page_size = self.opts.page_size
        if kind == "mm_page_alloc":
            _k, _ts, _cpu, _pid, _comm, pfn, order, mt, gfp_text, site = ev
            nbytes = page_size << order
            self.nr_page_allocs += 1
            self.total_page_alloc_bytes += nbytes
            if pfn == -1:
                self.nr_page_fails += 1
                self.total_page_fail_bytes += nbytes
                return
            gfp = self._gfp(gfp_text)
            if gfp not in self.gfps:
                compact = _compact_gfp(gfp_text)
                self.gfps[gfp] = (gfp_text, compact)
                if len(compact) > self.max_gfp_len:
                    self.max_gfp_len = len(compact)
            cs = site or ""
            p = self.page_live.get(pfn)
            if p is None:
                # perf: page_stat__findnew_page keeps the first order/gfp/migratetype
                p = self.page_live[pfn] = [order, gfp, mt, cs, 0, 0]
            p[4] += 1
            p[5] += nbytes
            p[3] = cs
            if self._page_alloc_table:
                key = (pfn, order, mt, gfp)
                a = self.page_alloc.get(key)
                if a is None:
                    a = self.page_alloc[key] = [cs, 0, 0, 0, 0]
                a[0] = cs
                a[1] += 1
                a[2] += nbytes
            if self._caller_tables:
                ckey = (cs, order, mt, gfp)
                c = self.page_caller.get(ckey)
                if c is None:
                    c = self.page_caller[ckey] = [0, 0, 0, 0]
                c[0] += 1
                c[1] += nbytes
            self.order_stats[(order, mt)] = self.order_stats.get((order, mt), 0) + 1
        elif kind == "mm_page_free":
            pfn, order = ev[5], ev[6]
            nbytes = page_size << order
            self.nr_page_frees += 1
            self.total_page_free_bytes += nbytes
            p = self.page_live.pop(pfn, None)
            if p is None:
                self.nr_page_nomatch += 1
                self.total_page_nomatch_bytes += nbytes
                return
            _o, gfp, mt, cs = p[0], p[1], p[2], p[3]
            if self.opts.live:
                k2 = (order, mt)
                self.order_stats[k2] = self.order_stats.get(k2, 0) - 1
            elif self._page_alloc_table:
                a = self.page_alloc.get((pfn, order, mt, gfp))
                if a is not None:  # perf fails (-ENOMEM) when the free's order differs
                    a[3] += 1
                    a[4] += nbytes
            c = self.page_caller.get((cs, order, mt, gfp))
            if c is None:
                return
            c[2] += 1
            c[3] += nbytes
            if self.opts.live:
                c[0] -= 1
                c[1] -= nbytes
                if c[0] == 0:
                    del self.page_caller[(cs, order, mt, gfp)]
        elif kind == "mm_page_free_batched":
            self.page_free_batched += 1
        elif kind == "lost":
            self.lost_markers += 1
            if ev[5] > 0:
                self.lost_events += ev[5]
        elif kind == "mm_page_alloc_extfrag":
            self.extfrag += 1
            if ev[11] == 1:
                self.extfrag_fragmenting += 1
        else:
            self.page_moves[kind] = self.page_moves.get(kind, 0) + 1

    # ------------------------------------------------------------------ perf's report

    @property
    def has_slab_events(self) -> bool:
        return bool(self.nr_allocs or self.nr_frees)

    @property
    def has_page_events(self) -> bool:
        return bool(self.nr_page_allocs or self.nr_page_frees)

    def _migratetype_labels(self) -> tuple[tuple[str, str], ...]:
        if self.opts.perf_only or self.opts.migratetypes == "pre-4.4":
            return MIGRATETYPES_PRE_4_4
        return MIGRATETYPES_4_4

    def _slab_rows(self, caller: bool) -> list[tuple]:
        """(label, bytes_alloc, bytes_req, hit, pingpong, sort fields...) in perf's order."""
        o = self.opts
        keys = parse_sort_keys(o.slab_caller_sort if caller else o.slab_alloc_sort, page=False)
        rows = []
        if caller:
            for cs, (req, alloc, hit, pp) in self.caller_stat.items():
                text, skey = self.sites.resolve(cs)
                rows.append((skey, text, 0, skey, req, alloc, hit, pp))
        else:
            for ptr, (cs, req, alloc, hit, pp) in self.ptr_stat().items():
                _text, skey = self.sites.resolve(cs)
                rows.append(((ptr,), f"{ptr:#x}", ptr, skey, req, alloc, hit, pp))
        rows.sort(key=lambda r: r[0])  # the rb-tree order perf inserts from: ptr or call_site

        def sort_key(r: tuple) -> tuple:
            out = []
            for k in keys:
                if k == "ptr":
                    out.append(r[2])
                elif k == "callsite":
                    out.append(r[3])
                elif k == "hit":
                    out.append(r[6])
                elif k == "bytes":
                    out.append(r[5])
                elif k == "frag":
                    out.append(_fragmentation(r[4], r[5]))
                else:  # pingpong
                    out.append(r[7])
            return tuple(out)

        rows.sort(key=sort_key, reverse=True)  # stable: equal rows keep the tree order
        return rows

    # ------------------------------------------------------------------ the figures, once for text and JSON

    @staticmethod
    def _limited(rows: list, n_lines: int) -> tuple[list, bool]:
        """perf's ``-l``: the rows shown, and whether perf prints its ``...`` line (it does when
        rows were left out, and, as perf does, for an empty table without ``-l``)."""
        if n_lines < 0:
            return rows, not rows and n_lines == -1
        return rows[:n_lines], len(rows) > n_lines

    def slab_table(self, caller: bool) -> tuple[list[dict], bool]:
        """perf's ``--caller`` (or ``--alloc``) slab table: its rows, in its order, as ``-s``
        and ``-l`` make it, and whether the ``...`` line follows."""
        o = self.opts
        rows, more = self._limited(self._slab_rows(caller), o.caller_lines if caller else o.alloc_lines)
        out = []
        for _k, text, ptr, _s, req, alloc, hit, pp in rows:
            out.append({
                ("callsite" if caller else "ptr"): text if caller else ptr, "label": text,
                "total_alloc": alloc, "per_alloc": alloc // hit, "total_req": req, "per_req": req // hit,
                "hit": hit, "pingpong": pp, "frag_percent": _fragmentation(req, alloc),
            })  # fmt: skip
        return out, more

    def _print_slab_result(self, out: list[str], caller: bool, n_lines: int) -> None:
        out.append(f"{DOTS}\n")
        out.append(f" {'Callsite' if caller else 'Alloc Ptr':<34} |")
        out.append(" Total_alloc/Per | Total_req/Per   | Hit      | Ping-pong | Frag\n")
        out.append(f"{DOTS}\n")
        rows, more = self.slab_table(caller)
        for r in rows:
            out.append(
                f" {r['label']:<34} | {r['total_alloc']:9d}/{r['per_alloc']:<5d} |"
                f" {r['total_req']:9d}/{r['per_req']:<5d} | {r['hit']:8d} | {r['pingpong']:9d} |"
                f" {r['frag_percent']:6.3f}%\n"
            )
        if more:
            out.append(f" {'...':<34} | ...             | ...             | ...      | ...       | ...   \n")
        out.append(f"{DOTS}\n")

    def slab_summary(self) -> dict:
        """perf's SUMMARY (SLAB allocator) figures (``net_total_bytes_allocated``: None when perf
        does not print it, as allocated <= freed)."""
        return {
            "total_bytes_requested": self.total_requested,
            "total_bytes_allocated": self.total_allocated,
            "total_bytes_freed": self.total_freed,
            "net_total_bytes_allocated": (
                self.total_allocated - self.total_freed if self.total_allocated > self.total_freed else None
            ),
            "total_bytes_wasted": self.total_allocated - self.total_requested,
            "internal_fragmentation_percent": _fragmentation(self.total_requested, self.total_allocated),
            "cross_cpu_allocations": self.nr_cross_allocs,
            "allocations": self.nr_allocs,
        }

    def _print_slab_summary(self, out: list[str]) -> None:
        s = self.slab_summary()
        out.append("\nSUMMARY (SLAB allocator)")
        out.append("\n========================\n")
        out.append(f"Total bytes requested: {s['total_bytes_requested']}\n")
        out.append(f"Total bytes allocated: {s['total_bytes_allocated']}\n")
        out.append(f"Total bytes freed:     {s['total_bytes_freed']}\n")
        if s["net_total_bytes_allocated"] is not None:
            out.append(f"Net total bytes allocated: {s['net_total_bytes_allocated']}\n")
        out.append(f"Total bytes wasted on internal fragmentation: {s['total_bytes_wasted']}\n")
        out.append(f"Internal fragmentation: {s['internal_fragmentation_percent']:f}%\n")
        out.append(f"Cross CPU allocations: {s['cross_cpu_allocations']}/{s['allocations']}\n")

    def _page_sort(self, rows: list[tuple], keys: list[str]) -> list[tuple]:
        # rows: (page, callsite sort key, nr_alloc, alloc_bytes, order, mt, gfp, ...)
        idx = {"page": 0, "callsite": 1, "hit": 2, "bytes": 3, "order": 4, "migtype": 5, "gfp": 6}
        rows.sort(key=lambda r: tuple(r[idx[k]] for k in keys), reverse=True)
        return rows

    def _site_label(self, cs: str) -> tuple[str, tuple]:
        if not cs:
            return "[unknown]", (2, 0, "", 0)
        return cs, self.sites.resolve(cs)[1]

    def gfp_flags(self) -> list[dict]:
        """perf's ``# GFP flags`` legend: mask, compact string, flags, by mask."""
        return [{"mask": m, "compact": self.gfps[m][1], "flags": self.gfps[m][0]} for m in sorted(self.gfps)]

    def _print_gfp_flags(self, out: list[str]) -> None:
        out.append("#\n# GFP flags\n# ---------\n")
        for g in self.gfp_flags():
            out.append(f"# {g['mask']:08x}: {g['compact']:>{self.max_gfp_len}}: {g['flags']}\n")

    def _mt_label(self, mt: int) -> str:
        labels = self._migratetype_labels()
        return labels[mt][1] if 0 <= mt < len(labels) else "UNKNOWN"

    def page_table(self, caller: bool) -> tuple[list[dict], bool]:
        """perf's page ``--caller`` (or ``--alloc``) table: rows in its order, and the ``...`` flag."""
        o = self.opts
        rows = []
        if caller:
            for (cs, order, mt, gfp), (nr_alloc, alloc_bytes, _nf, _fb) in self.page_caller.items():
                label, skey = self._site_label(cs)
                rows.append((0, skey, nr_alloc, alloc_bytes, order, mt, gfp, label))
            rows.sort(key=lambda r: (r[1], r[4], r[5], r[6]))  # perf's "callsite,order,migtype,gfp" tree
            rows = self._page_sort(rows, parse_sort_keys(o.page_caller_sort, page=True))
        else:
            if o.live:
                for pfn, (order, gfp, mt, cs, nr_alloc, alloc_bytes) in self.page_live.items():
                    label, skey = self._site_label(cs)
                    rows.append((pfn, skey, nr_alloc, alloc_bytes, order, mt, gfp, label))
                # perf's page_live_tree compares "data->page - pstat->page" and goes left when
                # negative: it holds pages in descending order, which equal rows keep
                rows.sort(key=lambda r: -r[0])
            else:
                for (pfn, order, mt, gfp), (cs, nr_alloc, alloc_bytes, _nf, _fb) in self.page_alloc.items():
                    label, skey = self._site_label(cs)
                    rows.append((pfn, skey, nr_alloc, alloc_bytes, order, mt, gfp, label))
                rows.sort(key=lambda r: (r[0], r[4], r[5], r[6]))  # perf's "page,order,migtype,gfp" tree
            rows = self._page_sort(rows, parse_sort_keys(o.page_alloc_sort, page=True))
        shown, more = self._limited(rows, o.caller_lines if caller else o.alloc_lines)
        out = []
        for pfn, _s, nr_alloc, alloc_bytes, order, mt, gfp, label in shown:
            row = {} if caller else {"pfn": pfn}
            row.update(
                kb=alloc_bytes // 1024, bytes=alloc_bytes, hits=nr_alloc, order=order, migratetype=self._mt_label(mt),
                gfp=self.gfps.get(gfp, ("", ""))[1], callsite=label,
            )  # fmt: skip
            out.append(row)
        return out, more

    def _print_page_caller_result(self, out: list[str], n_lines: int) -> None:
        o = self.opts
        gfp_len = max(len("GFP flags"), self.max_gfp_len)
        out.append(f"\n{DOTS}\n")
        out.append(
            f" {'Live' if o.live else 'Total':>5} alloc (KB) | Hits      | Order | Mig.type |"
            f" {'GFP flags':<{gfp_len}} | Callsite\n"
        )
        out.append(f"{DOTS}\n")
        rows, more = self.page_table(caller=True)
        for r in rows:
            out.append(
                f" {r['kb']:16d} | {r['hits']:9d} | {r['order']:5d} | {r['migratetype']:>8} |"
                f" {r['gfp']:<{gfp_len}} | {r['callsite']}\n"
            )
        if more:
            out.append(f" ...              | ...       | ...   | ...      | {'...':<{gfp_len}} | ...\n")
        out.append(f"{DOTS}\n")

    def _print_page_alloc_result(self, out: list[str], n_lines: int) -> None:
        o = self.opts
        gfp_len = max(len("GFP flags"), self.max_gfp_len)
        out.append(f"\n{DOTS}\n")
        out.append(
            f" {'PFN':<16} | {'Live' if o.live else 'Total':>5} alloc (KB) | Hits      | Order | Mig.type |"
            f" {'GFP flags':<{gfp_len}} | Callsite\n"
        )
        out.append(f"{DOTS}\n")
        rows, more = self.page_table(caller=False)
        for r in rows:
            out.append(
                f" {r['pfn']:16d} | {r['kb']:16d} | {r['hits']:9d} | {r['order']:5d} | {r['migratetype']:>8} |"
                f" {r['gfp']:<{gfp_len}} | {r['callsite']}\n"
            )
        if more:
            dots = f"{'...':<16}"
            out.append(f" {dots} | {dots} | ...       | ...   | ...      | {'...':<{gfp_len}} | ...\n")
        out.append(f"{DOTS}\n")

    def page_summary(self) -> dict:
        """perf's SUMMARY (page allocator): each line's requests and bytes (the text prints KB =
        bytes // 1024), and the order x migratetype table (columns: the migratetype labels)."""
        nr_alloc_freed = self.nr_page_frees - self.nr_page_nomatch
        alloc_freed_bytes = self.total_page_free_bytes - self.total_page_nomatch_bytes
        lines = {
            "total_allocation_requests": (self.nr_page_allocs, self.total_page_alloc_bytes),
            "total_free_requests": (self.nr_page_frees, self.total_page_free_bytes),
            "total_alloc_freed_requests": (nr_alloc_freed, alloc_freed_bytes),
            "total_alloc_only_requests": (
                self.nr_page_allocs - nr_alloc_freed, self.total_page_alloc_bytes - alloc_freed_bytes
            ),
            "total_free_only_requests": (self.nr_page_nomatch, self.total_page_nomatch_bytes),
            "total_allocation_failures": (self.nr_page_fails, self.total_page_fail_bytes),
        }
        out: dict[str, Any] = {k: {"requests": n, "bytes": b, "kb": b // 1024} for k, (n, b) in lines.items()}
        labels = self._migratetype_labels()
        max_order = max([PERF_MAX_PAGE_ORDER - 1, *(o for o, _m in self.order_stats)])
        out["order_table"] = {
            "columns": [labels[m][0] for m in range(PERF_PRINTED_MIGRATETYPES)],
            "rows": [
                [order, *(self.order_stats.get((order, m), 0) for m in range(PERF_PRINTED_MIGRATETYPES))]
                for order in range(max_order + 1)
            ],
        }
        return out

    def _print_page_summary(self, out: list[str]) -> None:
        s = self.page_summary()

        def line(label: str, key: str) -> str:
            return f"{label:<30}: {s[key]['requests']:16d}   [ {s[key]['kb']:16d} KB ]\n"

        out.append("\nSUMMARY (page allocator)")
        out.append("\n========================\n")
        out.append(line("Total allocation requests", "total_allocation_requests"))
        out.append(line("Total free requests", "total_free_requests"))
        out.append("\n")
        out.append(line("Total alloc+freed requests", "total_alloc_freed_requests"))
        out.append(line("Total alloc-only requests", "total_alloc_only_requests"))
        out.append(line("Total free-only requests", "total_free_only_requests"))
        out.append("\n")
        out.append(line("Total allocation failures", "total_allocation_failures"))
        out.append("\n")
        table = s["order_table"]
        out.append(f"{'Order':>5}" + "".join(f"  {h:>12}" for h in table["columns"]) + "\n")
        out.append(f"{DOTS[:5]}" + "".join(f"  {DOTS[:12]}" for _ in table["columns"]) + "\n")
        for order, *counts in table["rows"]:
            out.append(f"{order:5d}" + "".join(f"  {n:12d}" if n else f"  {'.':>12}" for n in counts) + "\n")

    def perf_report(self) -> str:
        """What ``perf kmem stat`` prints (perf 6.1), for the options given."""
        o = self.opts
        out: list[str] = []
        if o.slab:
            if o.caller:
                self._print_slab_result(out, True, o.caller_lines)
            if o.alloc:
                self._print_slab_result(out, False, o.alloc_lines)
            self._print_slab_summary(out)
        if o.page:
            if o.caller or o.alloc:
                self._print_gfp_flags(out)
            if o.caller:
                self._print_page_caller_result(out, o.caller_lines)
            if o.alloc:
                self._print_page_alloc_result(out, o.alloc_lines)
            self._print_page_summary(out)
        return "".join(out)

    # ------------------------------------------------------------------ beyond perf

    def beyond_report(self) -> str:
        """kmemsim's figures that perf kmem does not give."""
        o = self.opts
        out: list[str] = []
        if o.slab:
            title = "SUMMARY (kmemsim: beyond perf kmem, SLAB allocator)"
            out.append(f"\n{title}\n{'=' * len(title)}\n")
            kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.frees_by_kind.items()))
            out.append(
                f"Allocations: {self.nr_allocs}   Frees: {self.nr_frees}" + (f" ({kinds})" if kinds else "") + "\n"
            )
            pct = f" ({100.0 * self.remote_frees / self.matched_frees:.1f}%)" if self.matched_frees else ""
            out.append(
                f"Frees on another CPU than the allocation (ping-pong): {self.remote_frees}/{self.matched_frees}"
                f" matched frees{pct}\n"
            )
            pk = ", ".join(f"{k} {n}" for k, n in sorted(self.preexisting_by_kind.items()))
            out.append(
                f"Pre-existing frees (allocated before the trace began): {self.preexisting_frees}"
                + (f" ({pk})" if pk else "")
                + "\n"
            )
            out.append(f"kfree(NULL) and other frees of NULL: {self.null_frees}\n")
            out.append(f"Frees of an already freed pointer: {self.double_frees}\n")
            out.append(f"Allocations over a live pointer (a free was missed): {self.realloc_live}\n")
            n_live, live_alloc, live_req = self.live_totals()
            out.append(
                f"Live at the end (leak candidates): {n_live} objects, {live_alloc} bytes allocated,"
                f" {live_req} requested\n"
            )
        if o.page:
            title = "SUMMARY (kmemsim: beyond perf kmem, page allocator)"
            out.append(f"\n{title}\n{'=' * len(title)}\n")
            n_live, live_pages = self.page_live_totals()
            out.append(f"Live at the end: {n_live} allocations, {live_pages} pages\n")
            out.append(f"mm_page_free_batched events (not counted by perf): {self.page_free_batched}\n")
            for k in sorted(self.page_moves):
                out.append(f"{k} events: {self.page_moves[k]}\n")
            if self.extfrag:
                out.append(
                    f"mm_page_alloc_extfrag events: {self.extfrag} ({self.extfrag_fragmenting} fragmenting)\n"
                )
            era = "before 4.4" if o.migratetypes == "pre-4.4" else "since 4.4"
            out.append(f"Migratetype names: the kernel's enum {era} (perf 6.1 prints the pre-4.4 names)\n")
        if self.lost_markers:
            out.append(
                f"\nLost events: {self.lost_events} in {self.lost_markers} markers: figures that pair "
                "allocations with frees are incomplete\n"
            )
        if o.slab and o.waste:
            self._print_waste(out)
        if o.slab and o.lifetime:
            self._print_lifetime(out)
        if o.slab and o.leaks:
            self._print_leaks(out)
        return "".join(out)

    def _limit(self, rows: list) -> list:
        return rows if self.opts.top < 0 else rows[: self.opts.top]

    def beyond_summary(self) -> dict:
        """kmemsim's figures beyond perf (the text's SUMMARY (kmemsim ...) blocks)."""
        n_live, live_alloc, live_req = self.live_totals()
        n_pages_live, live_pages = self.page_live_totals()
        return {
            "slab": {
                "allocations": self.nr_allocs,
                "frees": self.nr_frees,
                "frees_by_event": dict(sorted(self.frees_by_kind.items())),
                "matched_frees": self.matched_frees,
                "remote_frees": self.remote_frees,
                "preexisting_frees": self.preexisting_frees,
                "preexisting_frees_by_event": dict(sorted(self.preexisting_by_kind.items())),
                "null_frees": self.null_frees,
                "double_frees": self.double_frees,
                "allocations_over_live_pointer": self.realloc_live,
                "live_objects": n_live,
                "live_bytes_allocated": live_alloc,
                "live_bytes_requested": live_req,
            },
            "page": {
                "live_allocations": n_pages_live,
                "live_pages": live_pages,
                "mm_page_free_batched": self.page_free_batched,
                "other_events": dict(sorted(self.page_moves.items())),
                "mm_page_alloc_extfrag": self.extfrag,
                "mm_page_alloc_extfrag_fragmenting": self.extfrag_fragmenting,
                "migratetypes": self.opts.migratetypes,
            },
            "lost_events": self.lost_events,
            "lost_markers": self.lost_markers,
        }

    @staticmethod
    def _stack_frames(key: str) -> list[str]:
        """The frames of a folded stack key ("comm;root;...;leaf"), innermost first."""
        return key.split(";")[1:][::-1]

    def waste_table(self) -> list[dict]:
        """trace-cmd mem's table, the most live waste first (``top`` rows); per stack with stacks."""
        rows = sorted(self.waste.items(), key=lambda kv: (-(kv[1][0] - kv[1][1]), -kv[1][6], kv[0]))
        out = []
        for key, (ca, cr, ta, tr, ma, mr, pw, hits) in self._limit(rows):
            row: dict[str, Any] = {"function": key} if not self.has_stacks else {"stack": self._stack_frames(key)}
            row.update(
                waste=ca - cr, alloc=ca, req=cr, total_alloc=ta, total_req=tr, max_alloc=ma, max_req=mr, max_waste=pw,
                allocations=hits,
            )  # fmt: skip
            out.append(row)
        return out

    def _print_waste(self, out: list[str]) -> None:
        rows = self.waste_table()
        if self.has_stacks:
            out.append("\nWaste per stack (trace-cmd mem's figures; MaxWaste is the true peak of live waste)\n")
            for r in rows:
                out.append(
                    f"\t{r['waste']} bytes wasted live ({r['alloc']} allocated, {r['req']} requested; peak"
                    f" {r['max_waste']}; {r['total_alloc']} allocated in all) in {r['allocations']} allocations"
                    " from stack\n"
                )
                out.extend(f"\t\t{f}\n" for f in r["stack"])
            return
        out.append("\nWaste per function (trace-cmd mem's table; MaxWaste is the true peak of live waste)\n")
        out.append(
            f"{'Function':>40} {'Waste':>10} {'Alloc':>10} {'Req':>10} {'TotAlloc':>12} {'TotReq':>12}"
            f" {'MaxAlloc':>10} {'MaxReq':>10} {'MaxWaste':>10}\n"
        )
        for r in rows:
            out.append(
                f"{r['function'][-40:]:>40} {r['waste']:10d} {r['alloc']:10d} {r['req']:10d} {r['total_alloc']:12d}"
                f" {r['total_req']:12d} {r['max_alloc']:10d} {r['max_req']:10d} {r['max_waste']:10d}\n"
            )

    def lifetime_table(self) -> list[dict]:
        """The log2 histogram of lifetimes: buckets [lo, hi] microseconds, up to the last non-empty."""
        hist = self.lifetime_hist
        last = max((i for i, n in enumerate(hist) if n), default=-1)
        return [
            {"lo_us": 0 if i == 0 else 1 << (i - 1), "hi_us": (1 << i) - 1 if i else 0, "count": hist[i]}
            for i in range(last + 1)
        ]

    def _print_lifetime(self, out: list[str]) -> None:
        out.append("\nObject lifetime, allocation to free (frees matched in the trace)\n")
        out.append(f"{'usecs':>24} : {'count':<9} distribution\n")
        rows = self.lifetime_table()
        peak = max((r["count"] for r in rows), default=0) or 1
        for r in rows:
            bar = "*" * round(40 * r["count"] / peak)
            out.append(f"{r['lo_us']:>10} -> {r['hi_us']:<10} : {r['count']:<9} |{bar:<40}|\n")

    def leaks_table(self) -> list[dict]:
        """Objects live at the end, per call site (per stack with stacks): the most bytes first."""
        per: dict[str, list] = {}
        stacks = self._live_stack
        for ptr, (cs, alloc, req, ts, _cpu) in self.live_objects().items():
            key = stacks.get(ptr, cs) if self.has_stacks else cs
            p = per.get(key)
            if p is None:
                per[key] = [1, alloc, req, ts]
            else:
                p[0] += 1
                p[1] += alloc
                p[2] += req
                if ts < p[3]:
                    p[3] = ts
        end = self.last_ts or 0
        rows = sorted(per.items(), key=lambda kv: (-kv[1][1], -kv[1][0], kv[0]))
        out = []
        for key, (n, alloc, req, ts) in self._limit(rows):
            row: dict[str, Any] = (
                {"stack": self._stack_frames(key)} if self.has_stacks and ";" in key
                else {"callsite": self.sites.resolve(key)[0]}
            )  # fmt: skip
            row.update(objects=n, bytes=alloc, req=req, oldest_seconds=(end - ts) / 1e9)
            out.append(row)
        return out

    def _print_leaks(self, out: list[str]) -> None:
        rows = self.leaks_table()
        if self.has_stacks:
            out.append("\nLive at the end of the trace, per stack (leak candidates)\n")
            for r in rows:
                out.append(
                    f"\t{r['bytes']} bytes in {r['objects']} allocations ({r['req']} requested, the oldest"
                    f" {r['oldest_seconds']:.6f} s) from " + ("stack\n" if "stack" in r else f"{r['callsite']}\n")
                )
                out.extend(f"\t\t{f}\n" for f in r.get("stack", ()))
            return
        out.append("\nLive at the end of the trace, per call site (leak candidates)\n")
        out.append(f"{'Callsite':<40} {'Objects':>9} {'Bytes':>12} {'Req':>12} {'Oldest (s)':>12}\n")
        for r in rows:
            out.append(
                f"{r['callsite'][:40]:<40} {r['objects']:9d} {r['bytes']:12d} {r['req']:12d}"
                f" {r['oldest_seconds']:12.6f}\n"
            )

    def folded_stacks(self) -> list[str]:
        """``comm;root;...;leaf bytes`` lines (Brendan Gregg's folded format, for flamegraph.pl and
        speedscope): the bytes allocated from each stack, slab and page allocations."""
        return [f"{key} {nbytes}" for key, (_n, nbytes) in sorted(self.folded.items())]

    def report(self) -> str:
        """perf's report, then (unless ``perf_only``) kmemsim's."""
        text = self.perf_report()
        if not self.opts.perf_only:
            text += self.beyond_report()
        return text
