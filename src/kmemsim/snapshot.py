"""Snapshots of a live host's memory-management views, and strict parsers for them.

A *snapshot* is a directory (or a ``.tar.gz`` of one) that holds copies of the
host files listed in :data:`FILES`, each kept at its path relative to ``/``
(``proc/zoneinfo``, ``sys/kernel/slab/kmalloc-64/order``, ...), plus a
``SNAPSHOT`` file naming the date, the kernel release (``uname -r``) and how the
copy was made.  :func:`take` makes one on a live host (as root);
:func:`load` reads one back into a :class:`HostSnapshot` with every text view
parsed.

Parsing is strict: the parsers follow the kernel's own ``seq_printf`` formats
(named in each docstring) and reject anything they do not recognise with a
:class:`~kmemsim.errors.ConfigError` naming the file and the line, so that a
snapshot from a kernel with a different format fails loudly instead of being
half-read.

Consistency of the views: each file is a separate read, so counters that move
(free pages, per-cpu lists) are not from one instant.  The zone geometry and
the inputs of the watermark computation are: :func:`take` reads
``/proc/zoneinfo`` and the vm sysctls first, back to back, and re-reads
zoneinfo to check that ``managed`` and the watermarks did not change meanwhile
(on a host with lazily deferred memory init, Normal's ``managed`` grows after
boot and the kernel recomputes the watermarks).

Only node 0 is kept in the parsed views (the model has one node); other nodes'
lines are still checked for format, and every file stays available through
:meth:`HostSnapshot.raw`.

Limits: a snapshot is untrusted input (an archive from someone else's host), so
:func:`load` refuses, with a :class:`~kmemsim.errors.ConfigError` naming the file
(and the line), anything beyond what a real host produces, before reading it into
memory:

- at most :data:`MAX_ENTRIES` (100,000) files, directories and symlinks (a host
  with 235 slab caches has about 7,500);
- at most :data:`MAX_FILE_BYTES` (32 MiB) per file and :data:`MAX_TOTAL_BYTES`
  (256 MiB) in all (the largest file, ``vmallocinfo``, is a few MiB on big hosts);
  an archive's member sizes are checked from its headers, so a huge member is
  never decompressed, and a tar header (pax, GNU long name) may not exceed 1 MiB;
- at most :data:`MAX_PATH_CHARS` (4096) characters in a path or a symlink target;
- only regular files, directories and symlinks: no hard links, devices, FIFOs or
  sparse members; no absolute paths or ``..`` components; no path twice; every
  member under the one top directory that holds ``SNAPSHOT``; symlink targets
  relative and inside the snapshot;
- no number of more than :data:`MAX_DIGITS` (20) decimal digits in any file
  (2^64 - 1 has 20): such a run is an error naming the file and the line;
- CPU numbers below :data:`MAX_CPUS` (8192, x86_64's largest ``NR_CPUS``), checked
  before a CPU list such as ``0-99999999`` is expanded.

An archive that was read is kept, its files parsed and checked, in kmemsim's cache
(``$XDG_CACHE_HOME/kmemsim/snapshots``, by default ``~/.cache/kmemsim``; ``KMEMSIM_CACHE=0``
turns it off), keyed by its bytes, this reader and kmemsim's version: the next boot from the
same archive does not parse it again.  A missing, stale, damaged or unwritable cache only means
parsing again (see :func:`cache_dir`).
"""
from __future__ import annotations

import io
import marshal
import os
import posixpath
import re
import stat
import sys
import zlib
from itertools import chain
from pathlib import Path, PurePosixPath
from typing import IO, Any, NamedTuple

try:
    from _blake2 import blake2b  # hashlib's BLAKE2 itself, without loading OpenSSL (_hashlib: 3 ms)
except ImportError:  # pragma: no cover - a Python built without _blake2
    from hashlib import blake2b

from .errors import ConfigError
from .records import Record

__all__ = [
    "FILES",
    "MAX_CPUS",
    "MAX_DIGITS",
    "MAX_ENTRIES",
    "MAX_FILE_BYTES",
    "MAX_PATH_CHARS",
    "MAX_TOTAL_BYTES",
    "SLAB_DIR",
    "SNAPSHOT_FILE",
    "SYSCTLS",
    "HostSnapshot",
    "PageTypeInfo",
    "Pageset",
    "ZoneInfo",
    "load",
    "parse_buddyinfo",
    "parse_cpulist",
    "parse_meminfo",
    "parse_pagetypeinfo",
    "parse_sysctl",
    "parse_vmstat",
    "parse_zoneinfo",
]

#: The vm sysctls a snapshot holds (``/proc/sys/vm/<name>``).
SYSCTLS: tuple[str, ...] = (
    "min_free_kbytes",
    "watermark_scale_factor",
    "lowmem_reserve_ratio",
    "percpu_pagelist_high_fraction",
)

#: The slab tree: every cache directory's readable attributes; aliases are symlinks.
SLAB_DIR = "sys/kernel/slab"

#: The metadata file written by :func:`take` at the top of a snapshot.
SNAPSHOT_FILE = "SNAPSHOT"

_SYSCTL_FILES = tuple(f"proc/sys/vm/{n}" for n in SYSCTLS)

#: Every path a snapshot holds, relative to ``/``, in the order :func:`take`
#: reads them: zoneinfo and the sysctls first, then the free-list views right
#: after so that they are close in time to zoneinfo.  An entry ending in ``/``
#: is a whole tree (the slab caches of ``/sys/kernel/slab``).
FILES: list[str] = [
    "proc/zoneinfo",
    *_SYSCTL_FILES,
    "proc/buddyinfo",
    "proc/pagetypeinfo",
    "proc/vmstat",
    "proc/meminfo",
    "proc/slabinfo",
    "proc/vmallocinfo",
    "proc/iomem",
    "sys/devices/system/cpu/online",
    SLAB_DIR + "/",
]

_PLAIN_FILES = [f for f in FILES if not f.endswith("/")]

# Limits on what load() accepts (see the module docstring).
#: Files, directories and symlinks of a snapshot.
MAX_ENTRIES = 100_000
#: Bytes of one file.
MAX_FILE_BYTES = 32 << 20
#: Bytes of all files together.
MAX_TOTAL_BYTES = 256 << 20
#: Characters of a path or a symlink target (PATH_MAX).
MAX_PATH_CHARS = 4096
#: Decimal digits of a number (2^64 - 1 has 20).
MAX_DIGITS = 20
#: CPU numbers are below this (CONFIG_NR_CPUS is at most 8192 on x86_64).
MAX_CPUS = 8192
# The largest single read of a tar archive's stream: header blocks, pax and GNU
# long-name headers (a legitimate one is a few hundred bytes) and data chunks.
_MAX_READ = 1 << 20
_READ_CHUNK = 256 << 10
_LONG_NUMBER = rb"\d{" + str(MAX_DIGITS + 1).encode() + b",}"



# --------------------------------------------------------------------------------------
# Parsed views
# --------------------------------------------------------------------------------------


class Pageset(NamedTuple):
    """One CPU's ``struct per_cpu_pages`` of a zone, as ``/proc/zoneinfo`` prints it."""

    cpu: int
    count: int  # type: ignore[assignment]  # shadows tuple.count, as the kernel names it
    high: int
    batch: int
    high_min: int
    high_max: int


class ZoneInfo(Record):
    """One zone's block of ``/proc/zoneinfo`` (mm/vmstat.c ``zoneinfo_show_print``).

    ``min``/``low``/``high``/``promo`` are ``wmark_pages()``, i.e. they include
    ``boost``.  ``protection`` is ``lowmem_reserve[]`` (``MAX_NR_ZONES`` entries).
    Unpopulated zones (``present == 0``) stop after ``protection``: their
    ``stats``, ``pagesets`` are empty and ``start_pfn``, ``node_unreclaimable``
    and ``vm_stats_threshold`` are ``None``.  ``stats`` holds the zone counters
    (``nr_free_pages``, ``nr_zone_*``, ``nr_mlock``, ...) and the NUMA events
    (``numa_hit``, ...), not the per-node stats (those are in
    :attr:`HostSnapshot.node_stats`).
    """

    __match_args__ = ("node", "name", "pages_free", "boost", "min", "low", "high", "promo", "spanned", "present",
                       "managed", "cma", "protection", "start_pfn", "node_unreclaimable", "stats", "pagesets",
                       "vm_stats_threshold", "vm_stats_thresholds", "reserved_highatomic", "free_highatomic")

    node: int
    name: str
    pages_free: int
    boost: int
    min: int
    low: int
    high: int
    promo: int
    spanned: int
    present: int
    managed: int
    cma: int
    protection: list[int]
    start_pfn: int | None = None
    node_unreclaimable: int | None = None
    stats: dict[str, int]
    pagesets: list[Pageset]
    #: The per-cpu ``stat_threshold`` (the same for every CPU of a zone; the
    #: largest one if a read raced a recomputation).
    vm_stats_threshold: int | None = None
    #: ``stat_threshold`` per CPU, in :attr:`pagesets` order.
    vm_stats_thresholds: list[int]
    #: Printed only by kernels newer than 6.18 (``nr_reserved_highatomic``).
    reserved_highatomic: int | None = None
    #: Printed only by kernels newer than 6.18 (``nr_free_highatomic``).
    free_highatomic: int | None = None

    def __init__(self, node: int, name: str, pages_free: int, boost: int, min: int, low: int, high: int, promo: int,
                 spanned: int, present: int, managed: int, cma: int, protection: list[int],
                 start_pfn: int | None = None, node_unreclaimable: int | None = None,
                 stats: dict[str, int] | None = None, pagesets: list[Pageset] | None = None,
                 vm_stats_threshold: int | None = None, vm_stats_thresholds: list[int] | None = None,
                 reserved_highatomic: int | None = None, free_highatomic: int | None = None) -> None:
        vars(self).update(node=node, name=name, pages_free=pages_free, boost=boost, min=min, low=low, high=high,
                          promo=promo, spanned=spanned, present=present, managed=managed, cma=cma,
                          protection=protection, start_pfn=start_pfn, node_unreclaimable=node_unreclaimable,
                          stats={} if stats is None else stats, pagesets=[] if pagesets is None else pagesets,
                          vm_stats_threshold=vm_stats_threshold,
                          vm_stats_thresholds=[] if vm_stats_thresholds is None else vm_stats_thresholds,
                          reserved_highatomic=reserved_highatomic, free_highatomic=free_highatomic)

    @property
    def populated(self) -> bool:
        """``populated_zone()``: the zone has present pages."""
        return self.present != 0

    @property
    def pcp_count(self) -> int:
        """Pages on this zone's per-cpu lists, summed over the online CPUs."""
        return sum(p.count for p in self.pagesets)


class PageTypeInfo(Record):
    """``/proc/pagetypeinfo`` of one node (mm/vmstat.c ``pagetypeinfo_show``).

    ``free[zone][migratetype]`` is the number of free *blocks* (not pages) on
    each order's list (``pagetypeinfo_showfree_print``).  The kernel stops
    counting a list at 100000 and prints ``>100000``; such entries hold 100000
    and are listed in ``free_capped`` as ``(zone, migratetype, order)``.
    ``blocks[zone][migratetype]`` is the number of pageblocks of each type
    (``pagetypeinfo_showblockcount_print``); ``mixed_blocks`` the PAGE_OWNER
    table of mixed blocks when the kernel prints it, else ``None``.
    """

    __match_args__ = ("pageblock_order", "pages_per_block", "migratetypes", "free", "blocks", "free_capped",
                       "mixed_blocks")

    pageblock_order: int
    pages_per_block: int
    migratetypes: list[str]
    free: dict[str, dict[str, list[int]]]
    blocks: dict[str, dict[str, int]]
    free_capped: set[tuple[str, str, int]]
    mixed_blocks: dict[str, dict[str, int]] | None = None

    def __init__(self, pageblock_order: int, pages_per_block: int, migratetypes: list[str],
                 free: dict[str, dict[str, list[int]]], blocks: dict[str, dict[str, int]],
                 free_capped: set[tuple[str, str, int]] | None = None,
                 mixed_blocks: dict[str, dict[str, int]] | None = None) -> None:
        vars(self).update(pageblock_order=pageblock_order, pages_per_block=pages_per_block, migratetypes=migratetypes,
                          free=free, blocks=blocks, free_capped=set() if free_capped is None else free_capped,
                          mixed_blocks=mixed_blocks)

    @property
    def nr_orders(self) -> int:
        """``NR_PAGE_ORDERS`` (``MAX_PAGE_ORDER + 1``) as printed in the header."""
        return len(next(iter(next(iter(self.free.values())).values()))) if self.free else 0

    def free_by_order(self, zone: str) -> list[int]:
        """Free blocks per order of ``zone`` summed over the migratetypes (= buddyinfo)."""
        rows = list(self.free[zone].values())
        return [sum(col) for col in zip(*rows, strict=False)]


#: ``/sys/kernel/slab`` read: cache directory -> attribute -> text (:func:`_slab_tree`)
SlabTree = dict[str, dict[str, str]]


class HostSnapshot(Record):
    """A loaded snapshot: the parsed views of node 0 plus every file's raw text."""

    __match_args__ = ("source", "meta", "cpus_online", "sysctl", "zones", "node_stats", "buddyinfo", "pagetypeinfo",
                       "meminfo", "vmstat", "_files", "_links", "_dirs")
    _no_repr = _no_compare = ("_files", "_links", "_dirs")

    source: str
    #: The ``SNAPSHOT`` file: ``date``, ``uname -r``, ``note``, ... (key -> value).
    meta: dict[str, str]
    #: ``/sys/devices/system/cpu/online``, expanded ("0-1,4" -> [0, 1, 4]).
    cpus_online: list[int]
    #: The vm sysctls: ``lowmem_reserve_ratio`` is a list, the other three ints;
    #: any other ``proc/sys/vm`` file in the snapshot is kept as stripped text.
    sysctl: dict[str, str | int | list[int]]
    #: All zones of node 0 in zoneinfo order, including unpopulated ones.
    zones: list[ZoneInfo]
    #: Node 0's "per-node stats" block of zoneinfo.
    node_stats: dict[str, int]
    #: ``/proc/buddyinfo`` of node 0: zone -> nr_free per order (populated zones).
    buddyinfo: dict[str, list[int]]
    #: ``/proc/pagetypeinfo`` of node 0.
    pagetypeinfo: PageTypeInfo
    #: ``/proc/meminfo``: values in kB, except the ``HugePages_*`` counts.
    meminfo: dict[str, int]
    #: ``/proc/vmstat``.
    vmstat: dict[str, int]
    _files: dict[str, bytes]
    _links: dict[str, str]
    _dirs: set[str]

    def __init__(self, source: str, meta: dict[str, str], cpus_online: list[int],
                 sysctl: dict[str, str | int | list[int]], zones: list[ZoneInfo], node_stats: dict[str, int],
                 buddyinfo: dict[str, list[int]], pagetypeinfo: PageTypeInfo, meminfo: dict[str, int],
                 vmstat: dict[str, int], _files: dict[str, bytes] | None = None, _links: dict[str, str] | None = None,
                 _dirs: set[str] | None = None) -> None:
        vars(self).update(source=source, meta=meta, cpus_online=cpus_online, sysctl=sysctl, zones=zones,
                          node_stats=node_stats, buddyinfo=buddyinfo, pagetypeinfo=pagetypeinfo, meminfo=meminfo,
                          vmstat=vmstat, _files={} if _files is None else _files,
                          _links={} if _links is None else _links, _dirs=set() if _dirs is None else _dirs)

    # -- access ------------------------------------------------------------------------

    def zone(self, name: str) -> ZoneInfo:
        """The node-0 zone called ``name`` ("DMA", "DMA32", "Normal", ...)."""
        for z in self.zones:
            if z.name == name:
                return z
        raise ConfigError(f"{self.source}: no zone {name!r} (zones: {', '.join(z.name for z in self.zones)})")

    def files(self) -> list[str]:
        """Every regular file of the snapshot (relative paths, sorted)."""
        return sorted(self._files)

    def raw(self, relpath: str) -> str:
        """The text of any file of the snapshot, e.g. ``raw("proc/slabinfo")``.

        A leading ``/`` is ignored and symlinks inside the snapshot (slab
        aliases) are followed.
        """
        rel = self._resolve(relpath)
        try:
            data = self._files[rel]
        except KeyError:
            raise ConfigError(f"{self.source}/{relpath.lstrip('/')}: no such file in the snapshot") from None
        return data.decode("utf-8", errors="replace")

    def slab_caches(self) -> dict[str, dict[str, str]]:
        """``/sys/kernel/slab``: cache directory name -> attribute -> raw text.

        Only real cache directories; alias symlinks are in :meth:`slab_aliases`.
        Attributes the kernel would not let :func:`take` read are absent.
        """
        return {name: dict(attrs) for name, attrs in self._slab_tree().items()}

    def _slab_tree(self) -> SlabTree:
        """:func:`_slab_tree` of this snapshot, kept (not to be changed) while the snapshot's
        file and directory tables stay the same (slab_caches() and slab_aliases() both need
        it); :func:`load` gives the one kept with a cached archive."""
        memo = self.__dict__.get("_slab_memo")
        if memo is not None and memo[0] == self._slab_key():
            return memo[1]
        tree = _slab_tree(self.source, self._files, self._dirs)
        self._keep_slab_tree(tree)
        return tree

    def _slab_key(self) -> tuple[int, int, int, int]:
        return (id(self._files), len(self._files), id(self._dirs), len(self._dirs))

    def _keep_slab_tree(self, tree: SlabTree) -> None:
        self.__dict__["_slab_memo"] = (self._slab_key(), tree)

    def slab_aliases(self) -> dict[str, str]:
        """Alias name -> the cache directory it is a symlink to (``:0000064`` style)."""
        prefix = SLAB_DIR + "/"
        caches = self._slab_tree()
        out: dict[str, str] = {}
        for rel, target in sorted(self._links.items()):
            if not rel.startswith(prefix):
                continue
            name = rel[len(prefix):]
            dest = posix_normpath(f"{SLAB_DIR}/{target}")
            cache = dest[len(prefix):] if dest.startswith(prefix) else ""
            if "/" in name or not cache or "/" in cache or cache not in caches:
                raise ConfigError(
                    f"{self.source}/{rel}: slab alias points to {target!r}, which is not a cache of the snapshot"
                )
            out[name] = cache
        return out

    def _resolve(self, relpath: str) -> str:
        rel = posix_normpath(relpath.lstrip("/"))
        for _ in range(40):
            parts = rel.split("/")
            for i in range(1, len(parts) + 1):
                prefix = "/".join(parts[:i])
                if prefix in self._links:
                    base = posix_normpath(os.path.join(os.path.dirname(prefix), self._links[prefix]))
                    rel = posix_normpath("/".join([base, *parts[i:]]))
                    break
            else:
                return rel
        raise ConfigError(f"{self.source}/{relpath}: too many levels of symbolic links")


def _slab_tree(source: str, files: dict[str, bytes], dirs: set[str]) -> SlabTree:
    """The slab tree: its caches (its directories, and the directories of its files), sorted,
    each with its attributes (file name -> text) in path order; a file not at
    ``<cache>/<attribute>`` is an error naming the first such in path order."""
    prefix = SLAB_DIR + "/"
    n = len(prefix)
    names = {d[n:] for d in dirs if d.startswith(prefix) and "/" not in d[n:]}
    entries: list[tuple[str, str, str]] = []
    for rel in sorted(rel for rel in files if rel.startswith(prefix)):
        cache, sep, attr = rel[n:].partition("/")
        if not sep or "/" in attr:  # the first in path order
            raise ConfigError(f"{source}/{rel}: unexpected file in the slab tree")
        entries.append((rel, cache, attr))
    names.update(cache for _, cache, _ in entries)
    caches: dict[str, dict[str, str]] = {name: {} for name in sorted(names)}
    for rel, cache, attr in entries:
        caches[cache][attr] = files[rel].decode("utf-8", errors="replace")
    return caches


def posix_normpath(p: str) -> str:
    """``os.path.normpath`` on '/'-separated relative paths, without a leading './'."""
    if p and os.sep == "/" and p[0] not in "./" and p[-1] != "/" and "//" not in p and "/." not in p:
        return p  # already normal: no empty, '.' or '..' component, no leading or trailing '/'
    n = str(PurePosixPath(os.path.normpath(p.replace(os.sep, "/")))).replace(os.sep, "/")
    return "" if n == "." else n


# --------------------------------------------------------------------------------------
# Strict line parsing helpers
# --------------------------------------------------------------------------------------


def _err(where: str, lineno: int, msg: str, line: str | None = None) -> ConfigError:
    text = f"{where}:{lineno}: {msg}"
    if line is not None:
        text += f": {line!r}"
    return ConfigError(text)


_LONG_NUMBER_TEXT = r"\d{" + str(MAX_DIGITS + 1) + ",}"


def _long_number_error(where: str, lineno: int, digits: int) -> ConfigError:
    return ConfigError(
        f"{where}:{lineno}: a number of {digits} digits (at most {MAX_DIGITS}: no kernel counter is wider than 64 bits)"
    )


def _check_numbers(text: str, where: str) -> None:
    m = re.search(_LONG_NUMBER_TEXT, text)
    if m:
        raise _long_number_error(where, text.count("\n", 0, m.start()) + 1, len(m.group()))


class _Lines:
    """The lines of a /proc file with 1-based numbers; the file must end in a newline."""

    def __init__(self, text: str, where: str, numbers: bool = True):
        self.where = where
        if not text:
            raise ConfigError(f"{where}: empty file")
        if numbers:
            _check_numbers(text, where)
        lines = text.split("\n")
        if lines[-1] != "":
            raise _err(where, len(lines), "last line has no newline (truncated file?)", lines[-1])
        self.lines = lines[:-1]
        self.i = 0

    @property
    def eof(self) -> bool:
        return self.i >= len(self.lines)

    @property
    def lineno(self) -> int:
        """Number of the next line (one past the end at EOF)."""
        return self.i + 1

    def peek(self) -> str | None:
        return None if self.eof else self.lines[self.i]

    def next(self, expected: str) -> str:
        if self.eof:
            raise _err(self.where, self.lineno, f"unexpected end of file (truncated?), expected {expected}")
        line = self.lines[self.i]
        self.i += 1
        return line

    def expect(self, pattern: str, expected: str) -> re.Match[str]:
        line = self.next(expected)
        m = re.fullmatch(pattern, line)
        if not m:
            raise _err(self.where, self.i, f"expected {expected}", line)
        return m

    def error(self, msg: str, line: str | None = None, back: int = 1) -> ConfigError:
        return _err(self.where, self.i + 1 - back, msg, line)


# --------------------------------------------------------------------------------------
# /proc/zoneinfo
# --------------------------------------------------------------------------------------

_ZONE_HDR = r"Node (\d+), zone +(\S+)"
_COUNTER = r"      (\S+) +(\d+)"  # "\n      %-12s %lu"
_PAGES_FREE = r"  pages free +(\d+)"
_ZONE_FIELD = r"        (\w+) +(\d+)"
_PROTECTION = r"        protection: \((-?\d+(?:, -?\d+)*)\)"
_CPU = r"    cpu: (\d+)"
_PCP_FIELD = r"              (\w+): +(-?\d+)"
_THRESHOLD = r"  vm stats threshold: (-?\d+)"
_TAIL_FIELD = r"  (\w+): +(\d+)"

_ZONE_FIELDS = ("boost", "min", "low", "high", "promo", "spanned", "present", "managed", "cma")
_PCP_FIELDS = ("count", "high", "batch", "high_min", "high_max")
_TAIL_FIELDS = ("node_unreclaimable", "start_pfn")
_OPTIONAL_TAIL_FIELDS = ("reserved_highatomic", "free_highatomic")


def parse_zoneinfo(
    text: str, where: str = "proc/zoneinfo"
) -> tuple[dict[int, list[ZoneInfo]], dict[int, dict[str, int]]]:
    """Parse ``/proc/zoneinfo`` (mm/vmstat.c ``zoneinfo_show_print``, 6.7+ format).

    Returns ``(zones by node, per-node stats by node)``.  Every zone of every
    node is printed, populated or not; the first populated zone of a node
    carries the node's "per-node stats" block.  A node must list as many zones
    as ``protection`` has entries (``MAX_NR_ZONES``), which also catches a file
    cut at a zone boundary.
    """
    lines = _Lines(text, where)
    nodes: dict[int, list[ZoneInfo]] = {}
    node_stats: dict[int, dict[str, int]] = {}
    while not lines.eof:
        m = lines.expect(_ZONE_HDR, "'Node N, zone NAME'")
        node, name = int(m.group(1)), m.group(2)
        hdr_line = lines.i
        if node in nodes and any(z.name == name for z in nodes[node]):
            raise lines.error(f"zone {name} of node {node} listed twice")
        had_node_stats = False
        if lines.peek() == "  per-node stats":
            lines.next("per-node stats")
            if node in node_stats:
                raise lines.error(f"second 'per-node stats' block for node {node}")
            node_stats[node] = _read_counters(lines)
            if not node_stats[node]:
                raise _err(where, lines.lineno, "empty 'per-node stats' block", lines.peek())
            had_node_stats = True
        pages_free = int(lines.expect(_PAGES_FREE, "'  pages free N'").group(1))
        values: dict[str, Any] = {}
        for key in _ZONE_FIELDS:
            fm = lines.expect(_ZONE_FIELD, f"'        {key} N'")
            if fm.group(1) != key:
                raise lines.error(f"expected '{key}', found '{fm.group(1)}'", lines.lines[lines.i - 1])
            values[key] = int(fm.group(2))
        protection = [int(v) for v in lines.expect(_PROTECTION, "'        protection: (...)'").group(1).split(", ")]
        zone = ZoneInfo(node=node, name=name, pages_free=pages_free, protection=protection, **values)
        if zone.populated:
            zone.stats = _read_counters(lines)
            if not zone.stats:
                raise _err(where, lines.lineno, f"zone {name}: expected the zone counters", lines.peek())
            lines.expect(r"  pagesets", "'  pagesets'")
            while lines.peek() is not None and re.fullmatch(_CPU, lines.peek() or ""):
                cpu = int(lines.expect(_CPU, "'    cpu: N'").group(1))
                pcp: dict[str, int] = {}
                for key in _PCP_FIELDS:
                    pm = lines.expect(_PCP_FIELD, f"'              {key}: N'")
                    if pm.group(1) != key:
                        raise lines.error(f"expected '{key}:', found '{pm.group(1)}:'", lines.lines[lines.i - 1])
                    pcp[key] = int(pm.group(2))
                zone.pagesets.append(Pageset(cpu=cpu, **pcp))
                tm = re.fullmatch(_THRESHOLD, lines.peek() or "")
                if tm:
                    lines.next("vm stats threshold")
                    zone.vm_stats_thresholds.append(int(tm.group(1)))
            if not zone.pagesets:
                raise _err(where, lines.lineno, f"zone {name}: no per-cpu pagesets", lines.peek())
            if zone.vm_stats_thresholds:
                if len(zone.vm_stats_thresholds) != len(zone.pagesets):
                    raise _err(where, lines.lineno, f"zone {name}: 'vm stats threshold' missing for some CPUs")
                zone.vm_stats_threshold = max(zone.vm_stats_thresholds)
            tail: dict[str, int] = {}
            for key in _TAIL_FIELDS:
                tm2 = lines.expect(_TAIL_FIELD, f"'  {key}: N'")
                if tm2.group(1) != key:
                    raise lines.error(f"expected '{key}:', found '{tm2.group(1)}:'", lines.lines[lines.i - 1])
                tail[key] = int(tm2.group(2))
            zone.node_unreclaimable = tail["node_unreclaimable"]
            zone.start_pfn = tail["start_pfn"]
            for key in _OPTIONAL_TAIL_FIELDS:
                om = re.fullmatch(_TAIL_FIELD, lines.peek() or "")
                if om and om.group(1) == key:
                    lines.next(key)
                    setattr(zone, key, int(om.group(2)))
        elif had_node_stats:
            raise _err(where, hdr_line, f"per-node stats printed for the unpopulated zone {name}")
        if not lines.eof and not re.fullmatch(_ZONE_HDR, lines.peek() or ""):
            raise _err(where, lines.lineno, f"unexpected line after zone {name}", lines.peek())
        nodes.setdefault(node, []).append(zone)
    end = len(lines.lines)
    for node, zones in nodes.items():
        nr = {len(z.protection) for z in zones}
        if len(nr) != 1:
            raise _err(where, end, f"node {node}: protection lists of different lengths {sorted(nr)}")
        (max_nr_zones,) = nr
        if len(zones) != max_nr_zones:
            raise _err(
                where,
                end,
                f"node {node} lists {len(zones)} zones but protection has {max_nr_zones} entries "
                "(MAX_NR_ZONES): truncated file?",
            )
        if any(z.populated for z in zones) and node not in node_stats:
            raise _err(where, end, f"node {node}: no 'per-node stats' block")
    if not nodes:
        raise _err(where, 1, "no zones")
    return nodes, node_stats


def _read_counters(lines: _Lines) -> dict[str, int]:
    out: dict[str, int] = {}
    while not lines.eof:
        m = re.fullmatch(_COUNTER, lines.peek() or "")
        if not m:
            break
        lines.next("counter")
        if m.group(1) in out:
            raise lines.error(f"counter {m.group(1)} listed twice", lines.lines[lines.i - 1])
        out[m.group(1)] = int(m.group(2))
    return out


# --------------------------------------------------------------------------------------
# /proc/buddyinfo, /proc/pagetypeinfo
# --------------------------------------------------------------------------------------

_BUDDY_LINE = r"Node (\d+), zone +(\S+)((?: +\d+)+) ?"


def parse_buddyinfo(text: str, where: str = "proc/buddyinfo") -> dict[int, dict[str, list[int]]]:
    """Parse ``/proc/buddyinfo`` (mm/vmstat.c ``frag_show_print``): node -> zone -> nr_free per order.

    ``"Node %d, zone %8s "`` then ``"%6lu "`` per order, populated zones only.
    Every line must list the same number of orders.
    """
    lines = _Lines(text, where)
    out: dict[int, dict[str, list[int]]] = {}
    nr_orders: int | None = None
    while not lines.eof:
        m = lines.expect(_BUDDY_LINE, "'Node N, zone NAME' and one count per order")
        node, name = int(m.group(1)), m.group(2)
        counts = [int(v) for v in m.group(3).split()]
        if nr_orders is None:
            nr_orders = len(counts)
        elif len(counts) != nr_orders:
            raise lines.error(f"{len(counts)} orders, the first line has {nr_orders}", lines.lines[lines.i - 1])
        if name in out.setdefault(node, {}):
            raise lines.error(f"zone {name} of node {node} listed twice", lines.lines[lines.i - 1])
        out[node][name] = counts
    return out


_PB_ORDER = r"Page block order: (\d+)"
_PB_PAGES = r"Pages per block: +(\d+)"
_FREE_HDR = r"Free pages count per migrate type at order((?: +\d+)+) ?"
_FREE_ROW = r"Node +(\d+), zone +(\S+), type +(\S+)((?: +>?\d+)+) ?"
_BLOCKS_HDR = r"Number of blocks type((?: +\S+)+) ?"
_MIXED_HDR = r"Number of mixed blocks((?: +\S+)+) ?"
_BLOCKS_ROW = r"Node (\d+), zone +(\S+)((?: +\d+)+) ?"
_EMPTY = r""


def parse_pagetypeinfo(text: str, where: str = "proc/pagetypeinfo") -> dict[int, PageTypeInfo]:
    """Parse ``/proc/pagetypeinfo`` (mm/vmstat.c ``pagetypeinfo_show``): node -> :class:`PageTypeInfo`.

    Per node with memory: ``"Page block order: %d"``, ``"Pages per block:  %lu"``,
    a blank line, the free-list table (``pagetypeinfo_showfree``: one row per
    populated zone and migratetype, ``"%s%6lu "`` per order with a ``>`` when
    the count was capped at 100000), a blank line, the block-count table
    (``pagetypeinfo_showblockcount``) and, with PAGE_OWNER enabled at boot, the
    mixed-block table (``pagetypeinfo_showmixedcount``).
    """
    lines = _Lines(text, where)
    out: dict[int, PageTypeInfo] = {}
    while not lines.eof:
        order = int(lines.expect(_PB_ORDER, "'Page block order: N'").group(1))
        per_block = int(lines.expect(_PB_PAGES, "'Pages per block: N'").group(1))
        if per_block != 1 << order:
            raise lines.error(f"pages per block {per_block} is not 2^{order}", lines.lines[lines.i - 1])
        lines.expect(_EMPTY, "an empty line")
        hdr = lines.expect(_FREE_HDR, "the 'Free pages count per migrate type at order' header")
        orders = [int(v) for v in hdr.group(1).split()]
        if orders != list(range(len(orders))):
            raise lines.error("orders in the header are not 0, 1, 2, ...", lines.lines[lines.i - 1])
        free: dict[str, dict[str, list[int]]] = {}
        capped: set[tuple[str, str, int]] = set()
        node: int | None = None
        while lines.peek() is not None and (lines.peek() or "").startswith("Node"):
            m = lines.expect(_FREE_ROW, "'Node N, zone NAME, type TYPE' and one count per order")
            row_node, zone, mt = int(m.group(1)), m.group(2), m.group(3)
            if node is None:
                node = row_node
            elif row_node != node:
                raise lines.error(f"node {row_node} in the table of node {node}", lines.lines[lines.i - 1])
            tokens = m.group(4).split()
            if len(tokens) != len(orders):
                raise lines.error(f"{len(tokens)} counts for {len(orders)} orders", lines.lines[lines.i - 1])
            counts = []
            for o, tok in enumerate(tokens):
                if tok.startswith(">"):
                    capped.add((zone, mt, o))
                counts.append(int(tok.lstrip(">")))
            if mt in free.setdefault(zone, {}):
                raise lines.error(f"zone {zone} type {mt} listed twice", lines.lines[lines.i - 1])
            free[zone][mt] = counts
        if node is None:
            raise _err(
                where, lines.lineno, "expected free-list rows ('Node N, zone NAME, type TYPE ...')", lines.peek()
            )
        lines.expect(_EMPTY, "an empty line")
        types = lines.expect(_BLOCKS_HDR, "the 'Number of blocks type' header").group(1).split()
        blocks = _read_block_rows(lines, node, types)
        mixed: dict[str, dict[str, int]] | None = None
        if lines.peek() == "" and lines.i + 1 < len(lines.lines) and re.fullmatch(_MIXED_HDR, lines.lines[lines.i + 1]):
            lines.next("an empty line")
            mtypes = lines.expect(_MIXED_HDR, "the 'Number of mixed blocks' header").group(1).split()
            if mtypes != types:
                raise lines.error("migratetypes differ from the block table's", lines.lines[lines.i - 1])
            mixed = _read_block_rows(lines, node, types)
        for zone, rows in free.items():
            if list(rows) != types:
                raise _err(
                    where, lines.i, f"zone {zone}: free-list types {list(rows)} differ from the block table's {types}"
                )
        if list(free) != list(blocks):
            raise _err(
                where, lines.i, f"zones of the free table {list(free)} differ from the block table's {list(blocks)}"
            )
        if node in out:
            raise _err(where, lines.i, f"node {node} listed twice")
        if not lines.eof and not re.fullmatch(_PB_ORDER, lines.peek() or ""):
            raise _err(where, lines.lineno, "unexpected line", lines.peek())
        out[node] = PageTypeInfo(
            pageblock_order=order,
            pages_per_block=per_block,
            migratetypes=types,
            free=free,
            blocks=blocks,
            free_capped=capped,
            mixed_blocks=mixed,
        )
    return out


def _read_block_rows(lines: _Lines, node: int, types: list[str]) -> dict[str, dict[str, int]]:
    rows: dict[str, dict[str, int]] = {}
    while lines.peek() is not None and (lines.peek() or "").startswith("Node"):
        m = lines.expect(_BLOCKS_ROW, "'Node N, zone NAME' and one count per migratetype")
        if int(m.group(1)) != node:
            raise lines.error(f"node {m.group(1)} in the table of node {node}", lines.lines[lines.i - 1])
        counts = [int(v) for v in m.group(3).split()]
        if len(counts) != len(types):
            raise lines.error(f"{len(counts)} counts for {len(types)} migratetypes", lines.lines[lines.i - 1])
        if m.group(2) in rows:
            raise lines.error(f"zone {m.group(2)} listed twice", lines.lines[lines.i - 1])
        rows[m.group(2)] = dict(zip(types, counts, strict=True))
    if not rows:
        raise _err(lines.where, lines.lineno, "expected block-count rows ('Node N, zone NAME ...')", lines.peek())
    return rows


# --------------------------------------------------------------------------------------
# /proc/meminfo, /proc/vmstat, sysctls, cpu lists
# --------------------------------------------------------------------------------------

_MEMINFO_LINE = r"([A-Za-z0-9_()]+): +(\d+)( kB)?"
_VMSTAT_LINE = r"([a-z0-9_]+) (\d+)"


def parse_meminfo(text: str, where: str = "proc/meminfo") -> dict[str, int]:
    """Parse ``/proc/meminfo`` (fs/proc/meminfo.c ``meminfo_proc_show``, ``show_val_kb``).

    Values are in kB; the ``HugePages_*`` lines, printed without a unit, are counts.
    """
    lines = _Lines(text, where)
    out: dict[str, int] = {}
    while not lines.eof:
        m = lines.expect(_MEMINFO_LINE, "'Name:   N kB'")
        if m.group(1) in out:
            raise lines.error(f"{m.group(1)} listed twice", lines.lines[lines.i - 1])
        out[m.group(1)] = int(m.group(2))
    return out


def parse_vmstat(text: str, where: str = "proc/vmstat") -> dict[str, int]:
    """Parse ``/proc/vmstat`` (mm/vmstat.c ``vmstat_show``: ``"%s %lu\\n"`` per item)."""
    lines = _Lines(text, where)
    out: dict[str, int] = {}
    while not lines.eof:
        m = lines.expect(_VMSTAT_LINE, "'name N'")
        if m.group(1) in out:
            raise lines.error(f"{m.group(1)} listed twice", lines.lines[lines.i - 1])
        out[m.group(1)] = int(m.group(2))
    return out


def parse_cpulist(text: str, where: str = "sys/devices/system/cpu/online") -> list[int]:
    """Parse a cpulist ("0-1,4\\n", lib/vsprintf.c ``%*pbl`` via drivers/base/cpu.c) into CPU numbers."""
    lines = _Lines(text, where)
    line = lines.next("a CPU list")
    if not lines.eof:
        raise _err(where, 2, "expected a single line", lines.peek())
    cpus: list[int] = []
    for part in line.split(","):
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise _err(where, 1, f"malformed CPU range {part!r}", line)
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi >= MAX_CPUS:
            raise _err(
                where, 1, f"CPU {hi} out of range (CPU numbers are below {MAX_CPUS}, x86_64's largest NR_CPUS)", line
            )
        if hi < lo or (cpus and lo <= cpus[-1]):
            raise _err(where, 1, f"CPU range {part!r} out of order", line)
        cpus.extend(range(lo, hi + 1))
    return cpus


def parse_sysctl(name: str, text: str, where: str | None = None) -> str | int | list[int]:
    """Parse one ``/proc/sys/vm`` file (kernel/sysctl.c ``proc_dointvec*``: one line).

    ``lowmem_reserve_ratio`` (an int vector, tab-separated) becomes a list; the
    other :data:`SYSCTLS` become ints; any other sysctl is returned as stripped text.
    """
    where = where or f"proc/sys/vm/{name}"
    lines = _Lines(text, where)
    line = lines.next("a value")
    if not lines.eof:
        raise _err(where, 2, "expected a single line", lines.peek())
    if name == "lowmem_reserve_ratio":
        if not re.fullmatch(r"-?\d+(?:\s+-?\d+)*", line):
            raise _err(where, 1, "expected integers", line)
        return [int(v) for v in line.split()]
    if name in SYSCTLS:
        if not re.fullmatch(r"-?\d+", line):
            raise _err(where, 1, "expected an integer", line)
        return int(line)
    return line.strip()


def _parse_meta(text: str, where: str) -> dict[str, str]:
    lines = _Lines(text, where, numbers=False)
    first = lines.next("the title")
    if first != "kmemsim host snapshot":
        raise _err(where, 1, "expected 'kmemsim host snapshot'", first)
    meta: dict[str, str] = {}
    while not lines.eof:
        line = lines.next("key: value")
        m = re.fullmatch(r"([A-Za-z][\w -]*): (.*)", line)
        if not m:
            raise _err(where, lines.i, "expected 'key: value'", line)
        key, value = m.group(1), m.group(2)
        meta[key] = f"{meta[key]}\n{value}" if key in meta else value
    return meta


# --------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------


def load(path: str | os.PathLike[str]) -> HostSnapshot:
    """Load a snapshot directory or a ``.tar.gz`` of one and parse its views.

    Every fixed file of :data:`FILES` and the ``SNAPSHOT`` file must be present;
    a missing or malformed file raises :class:`ConfigError` naming it (and the
    line).  The views are cross-checked: buddyinfo and pagetypeinfo must list
    exactly zoneinfo's populated zones of node 0, with the same number of orders.
    """
    p = Path(path)
    src = str(p)
    tree = views = None
    if p.is_dir():
        files, links, dirs = _read_dir(p)
        _check_files_numbers(src, files)
    elif p.is_file():
        files, links, dirs, tree, views = _read_archive(p)
    else:
        raise ConfigError(f"{p}: no such snapshot (expected a directory or a .tar.gz made by `kmemsim snapshot`)")
    if views is None:
        views = _parse_views(src, files, dirs)
    snap = HostSnapshot(source=src, **views, _files=files, _links=links, _dirs=dirs)
    if tree is not None:
        snap._keep_slab_tree(tree)
    return snap


def _parse_views(src: str, files: dict[str, bytes], dirs: set[str]) -> dict[str, Any]:
    """:func:`load`'s parsed views of a snapshot's files (HostSnapshot's fields but the source
    and the file tables), checked; ``src`` names the snapshot in the errors."""

    def text(rel: str) -> str:
        if rel not in files:
            raise ConfigError(f"{src}/{rel}: missing from the snapshot")
        return files[rel].decode("utf-8", errors="replace")

    def where(rel: str) -> str:
        return f"{src}/{rel}"

    meta = _parse_meta(text(SNAPSHOT_FILE), where(SNAPSHOT_FILE))
    for rel in _PLAIN_FILES:
        text(rel)
    if SLAB_DIR not in dirs:
        raise ConfigError(f"{src}/{SLAB_DIR}: missing from the snapshot")

    zones_by_node, node_stats = parse_zoneinfo(text("proc/zoneinfo"), where("proc/zoneinfo"))
    if 0 not in zones_by_node:
        raise ConfigError(f"{where('proc/zoneinfo')}: no zones of node 0")
    zones = zones_by_node[0]
    populated = [z.name for z in zones if z.populated]

    buddy = parse_buddyinfo(text("proc/buddyinfo"), where("proc/buddyinfo")).get(0, {})
    if list(buddy) != populated:
        raise ConfigError(
            f"{where('proc/buddyinfo')}: zones {list(buddy)} differ from zoneinfo's populated zones {populated}"
        )
    ptis = parse_pagetypeinfo(text("proc/pagetypeinfo"), where("proc/pagetypeinfo"))
    if 0 not in ptis:
        raise ConfigError(f"{where('proc/pagetypeinfo')}: no table for node 0")
    pti = ptis[0]
    if list(pti.free) != populated:
        raise ConfigError(
            f"{where('proc/pagetypeinfo')}: zones {list(pti.free)} differ from zoneinfo's populated zones {populated}"
        )
    nr_orders = {len(v) for v in buddy.values()}
    if nr_orders and nr_orders != {pti.nr_orders}:
        raise ConfigError(f"{where('proc/pagetypeinfo')}: {pti.nr_orders} orders but buddyinfo has {sorted(nr_orders)}")

    sysctl: dict[str, str | int | list[int]] = {}
    for rel in sorted(rel for rel in files if rel.startswith("proc/sys/vm/")):
        if rel.count("/") == 3:
            name = rel.rsplit("/", 1)[1]
            sysctl[name] = parse_sysctl(name, text(rel), where(rel))

    return {
        "meta": meta,
        "cpus_online": parse_cpulist(text("sys/devices/system/cpu/online"), where("sys/devices/system/cpu/online")),
        "sysctl": sysctl,
        "zones": zones,
        "node_stats": node_stats.get(0, {}),
        "buddyinfo": buddy,
        "pagetypeinfo": pti,
        "meminfo": parse_meminfo(text("proc/meminfo"), where("proc/meminfo")),
        "vmstat": parse_vmstat(text("proc/vmstat"), where("proc/vmstat")),
    }


#: The fields of :func:`_parse_views` in a cache entry's order (:func:`_plain_views`).
_VIEWS = ("meta", "cpus_online", "sysctl", "zones", "node_stats", "buddyinfo", "pagetypeinfo", "meminfo", "vmstat")


def _plain_views(views: dict[str, Any]) -> tuple[Any, ...]:
    """:func:`_parse_views`'s result in values marshal writes: each ZoneInfo and the
    PageTypeInfo as the tuple of its fields, each Pageset as a plain tuple."""
    plain = dict(views)
    plain["zones"] = [tuple([list(map(tuple, z.pagesets)) if f == "pagesets" else getattr(z, f)
                             for f in ZoneInfo.__match_args__]) for z in views["zones"]]
    pti = views["pagetypeinfo"]
    plain["pagetypeinfo"] = tuple(getattr(pti, f) for f in PageTypeInfo.__match_args__)
    return tuple(plain[f] for f in _VIEWS)


def _views_from_plain(plain: Any) -> dict[str, Any] | None:
    """:func:`_plain_views` undone, or None for a value of another shape."""
    if type(plain) is not tuple or len(plain) != len(_VIEWS):
        return None
    views = dict(zip(_VIEWS, plain, strict=True))
    try:
        zones = []
        for values in views["zones"]:
            fields = dict(zip(ZoneInfo.__match_args__, values, strict=True))
            fields["pagesets"] = [Pageset(*p) for p in fields["pagesets"]]
            zones.append(ZoneInfo(**fields))
        views["zones"] = zones
        views["pagetypeinfo"] = PageTypeInfo(*views["pagetypeinfo"])
    except (TypeError, ValueError):
        return None
    return views


class _Budget:
    """Counts entries and bytes of one snapshot against the limits."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.entries = 0
        self.bytes = 0

    def entry(self, rel: str) -> None:
        self.entries += 1
        if self.entries > MAX_ENTRIES:
            raise ConfigError(
                f"{self.where}: more than {MAX_ENTRIES} files, directories and symlinks (not a snapshot?)"
            )
        if len(rel) > MAX_PATH_CHARS:
            raise ConfigError(
                f"{self.where}: a path of {len(rel)} characters (at most {MAX_PATH_CHARS}): {rel[:80]!r}..."
            )

    def data(self, rel: str, size: int) -> None:
        if size > MAX_FILE_BYTES:
            raise ConfigError(
                f"{self.where}/{rel}: {size} bytes, more than a snapshot file may hold ({MAX_FILE_BYTES >> 20} MiB)"
            )
        self.bytes += size
        if self.bytes > MAX_TOTAL_BYTES:
            raise ConfigError(
                f"{self.where}: more than {MAX_TOTAL_BYTES >> 20} MiB of files (at {rel}); not a snapshot?"
            )


def _check_link(where: str, rel: str, target: str, shown: str | None = None) -> None:
    """A symlink must stay inside the snapshot: relative, and not above its top.
    ``rel`` is its path in the snapshot, ``shown`` the name to print (an archive member's)."""
    where = f"{where}/{shown or rel}"
    if not target:
        raise ConfigError(f"{where}: symlink with an empty target")
    if len(target) > MAX_PATH_CHARS:
        raise ConfigError(f"{where}: symlink target of {len(target)} characters (at most {MAX_PATH_CHARS})")
    if target.startswith("/"):
        raise ConfigError(f"{where}: symlink to an absolute path {target!r} (a snapshot's links are relative)")
    dest = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
    if dest == ".." or dest.startswith("../"):
        raise ConfigError(f"{where}: symlink {target!r} points outside the snapshot")


def _check_file_numbers(where: str, rel: str, data: bytes) -> None:
    m = re.search(_LONG_NUMBER, data)
    if m:
        raise _long_number_error(f"{where}/{rel}", data.count(b"\n", 0, m.start()) + 1, len(m.group()))


def _check_files_numbers(where: str, files: dict[str, bytes]) -> None:
    """:func:`_check_file_numbers` of every file, in order: one search of them all joined by
    newlines first (a run of digits never spans two of them), each file's own only when that
    finds a number too long."""
    if re.search(_LONG_NUMBER, b"\n".join(files.values())):
        for rel, data in files.items():
            _check_file_numbers(where, rel, data)


def _read_dir(root: Path) -> tuple[dict[str, bytes], dict[str, str], set[str]]:
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    dirs: set[str] = set()
    budget = _Budget(str(root))

    def walk_error(e: OSError) -> None:
        raise e

    try:
        for dirpath, dirnames, filenames in os.walk(root, onerror=walk_error):
            base = Path(dirpath)
            rel_base = base.relative_to(root).as_posix()
            rel_base = "" if rel_base == "." else rel_base
            for name in list(dirnames) + filenames:
                full = base / name
                rel = f"{rel_base}/{name}" if rel_base else name
                budget.entry(rel)
                st = os.lstat(full)
                if stat.S_ISLNK(st.st_mode):
                    target = os.readlink(full)
                    _check_link(str(root), rel, target)
                    links[rel] = target
                elif stat.S_ISDIR(st.st_mode):
                    dirs.add(rel)
                elif stat.S_ISREG(st.st_mode):
                    budget.data(rel, st.st_size)
                    files[rel] = _read_regular(full, root, rel)
                else:
                    raise ConfigError(f"{root}/{rel}: not a regular file, directory or symlink")
    except OSError as e:
        raise ConfigError(f"{root}: cannot read the snapshot: {e}") from None
    return files, links, dirs


def _read_regular(full: Path, root: Path, rel: str) -> bytes:
    """Read a regular file without following a link or blocking on a FIFO put there meanwhile."""
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ConfigError(f"{root}/{rel}: not a regular file")
        chunks = []
        size = 0
        while True:
            b = os.read(fd, _READ_CHUNK)
            if not b:
                break
            size += len(b)
            if size > MAX_FILE_BYTES:
                raise ConfigError(f"{root}/{rel}: more than a snapshot file may hold ({MAX_FILE_BYTES >> 20} MiB)")
            chunks.append(b)
        return b"".join(chunks)
    finally:
        os.close(fd)


class _GuardedStream(io.RawIOBase):
    """A decompressed archive stream that refuses oversized reads (a huge pax or long-name
    header) and more than ``limit`` bytes in all (data skipped by seeking counts)."""

    def __init__(self, f: IO[bytes], where: str, limit: int) -> None:
        super().__init__()
        self.f = f
        self.where = where
        self.limit = limit
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0 or n > _MAX_READ:
            raise ConfigError(
                f"{self.where}: an archive header or read of more than {_MAX_READ >> 20} MiB (not a snapshot?)"
            )
        self._reach(self.pos + n)
        data = self.f.read(n)
        self.pos += len(data)
        return data

    def readinto(self, b: Any) -> int:
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_CUR:
            offset += self.pos
        elif whence != io.SEEK_SET:
            raise io.UnsupportedOperation("seek from the end")
        self._reach(offset)
        self.pos = self.f.seek(offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def _reach(self, pos: int) -> None:
        if pos > self.limit:
            raise ConfigError(f"{self.where}: more than {self.limit >> 20} MiB of archive data (not a snapshot?)")


def _open_archive(path: Path, data: bytes | None = None) -> Any:
    """The decompressed stream of a snapshot archive (gzip, bzip2, xz or none): of the file,
    or of ``data``, its bytes already read."""
    import bz2
    import gzip
    import lzma

    raw: IO[bytes] = open(path, "rb") if data is None else io.BytesIO(data)
    magic = raw.read(6)
    raw.seek(0)
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    if magic.startswith(b"BZh"):
        return bz2.BZ2File(raw)
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.LZMAFile(raw)
    return raw


def _nts(b: bytes) -> str | None:
    """A tar header's NUL-terminated ASCII field (None: not ASCII: tarfile's own path decodes it)."""
    b = b.split(b"\0", 1)[0]
    return b.decode("ascii") if b.isascii() else None


def _octal(b: bytes) -> int | None:
    """A header's octal number field, or None (base-256, not ASCII, not octal: tarfile's own path;
    int() of bytes strips only ASCII whitespace, so it accepts a subset of what tarfile does)."""
    try:
        return int(b.split(b"\0", 1)[0] or b"0", 8)
    except ValueError:
        return None


#: the one-pass reader holds the archive in memory, compressed and not: up to this many bytes
#: (a host's snapshot is about 7 MiB); a larger archive streams through tarfile
_FAST_TAR_BYTES = 64 << 20

_TAR_MAGICS = (b"ustar\x0000", b"ustar  \x00")


def _fast_tar_members(
    path: Path, limit: int, data: bytes | None = None
) -> list[tuple[str, str, int, bytes | str | None]] | None:
    """The members of a gzip'd (or plain) tar archive made of plain files, directories and symlinks,
    in one pass over the decompressed bytes: (name as tarfile gives it, kind, data size, data or link
    target).  None for anything else (another compression, base-256 or pax headers, hard links,
    devices, a bad checksum, truncation, more than ``limit`` bytes): :func:`_read_tar` then reads
    the archive with :mod:`tarfile`, which accepts or refuses it with its own messages.  ``data``:
    the archive's bytes, already read (else the file is read)."""
    if data is not None:
        raw = data
    else:
        try:
            with open(path, "rb") as f:
                raw = f.read(limit + 1)
        except OSError:
            return None
    if len(raw) > limit:
        return None
    if raw[:2] == b"\x1f\x8b":
        d = zlib.decompressobj(31)
        try:
            buf = d.decompress(raw, limit + 1)
        except zlib.error:
            return None
        if len(buf) > limit or not d.eof or d.unused_data or d.unconsumed_tail:
            return None
    elif raw[:3] == b"BZh" or raw[:6] == b"\xfd7zXZ\x00":
        return None
    else:
        buf = raw
    out: list[tuple[str, str, int, bytes | str | None]] = []
    zero = bytes(512)
    pos, end = 0, len(buf)
    longname: str | None = None
    longlink: str | None = None
    while True:
        if pos + 512 > end:
            return None
        hdr = buf[pos : pos + 512]
        if hdr == zero:
            return out if out and longname is None and longlink is None else None
        if hdr[257:265] not in _TAR_MAGICS:
            return None
        chk = _octal(hdr[148:156])
        if chk is None or chk != sum(hdr) - sum(hdr[148:156]) + 256:
            return None
        size = _octal(hdr[124:136])
        name = _nts(hdr[0:100])
        prefix = _nts(hdr[345:500]) if hdr[345] else ""
        if size is None or name is None or prefix is None:
            return None
        typ = hdr[156:157]
        pos += 512
        data_end = pos + size
        if data_end > end:
            return None
        if typ in (b"L", b"K"):
            if longname is not None or longlink is not None:
                return None
            text = _nts(buf[pos:data_end])
            if text is None:
                return None
            if typ == b"L":
                longname = text
            else:
                longlink = text
            pos += -(-size // 512) * 512
            continue
        if typ == b"\0" and name.endswith("/"):
            typ = b"5"
        if typ == b"5":
            name = name.rstrip("/")
        if prefix:
            name = prefix + "/" + name
        if longname is not None:
            if typ == b"5" and longname.endswith("/"):
                return None
            name = longname
        if typ in (b"0", b"\0"):
            if longlink is not None:
                return None
            out.append((name, "file", size, buf[pos:data_end]))
            pos += -(-size // 512) * 512
        elif typ == b"5":
            if longlink is not None:
                return None
            out.append((name, "dir", 0, None))
        elif typ == b"2":
            link = longlink if longlink is not None else _nts(hdr[157:257])
            if link is None:
                return None
            out.append((name, "link", 0, link))
        else:
            return None
        longname = longlink = None


def _add_member(
    entries: dict[str, tuple[str, bytes | str | None]], budget: _Budget, where: str, name: str
) -> str | None:
    """The checks every archive member passes; its normalised name, or None for the archive's top."""
    budget.entry(name)
    if name.startswith("/"):
        raise ConfigError(f"{where}: member {name!r} has an absolute path")
    if ".." in name.split("/"):
        raise ConfigError(f"{where}: member {name!r} has a '..' component")
    n = posix_normpath(name)
    if n == "":
        return None  # "." or "./": the archive's own top
    if n in entries:
        raise ConfigError(f"{where}: member {n!r} appears twice")
    return n


#: The form of a cached archive (:func:`_read_archive`): bump it when what is cached changes.
_CACHE_FORMAT = "snapshot-files 3"


def _version() -> str:
    """kmemsim's version (the package's ``__version__``; looked up, not imported: the package
    imports the machine, which imports this module)."""
    return str(getattr(sys.modules.get("kmemsim"), "__version__", ""))


def _reader_stamp() -> bytes:
    """This module's source: a changed reader (its checks, its limits) never uses an entry an
    older one made.  Empty if the source cannot be read (an entry is then keyed by the version)."""
    try:
        with open(__file__, "rb") as f:
            return f.read()
    except (OSError, NameError):
        return b""


def _read_archive(
    path: Path,
) -> tuple[dict[str, bytes], dict[str, str], set[str], SlabTree | None, dict[str, Any] | None]:
    """:func:`_read_tar` and the number check of every file, through kmemsim's cache
    (:func:`cache_dir`): an archive read before, byte for byte, by this kmemsim, is not
    parsed again.  Only an archive that was read without error is kept, so an entry is always
    what the reader would return; every error comes from the reader itself.  The entry keeps
    the archive's :func:`_slab_tree` and :func:`_parse_views` too (None when they have an
    error: the snapshot reports it when asked, or load() when it parses the views), as a hit
    returns them: decoding the seven thousand slab files took 5 ms a boot, parsing the views 2."""
    src = str(path)
    data: bytes | None = None
    name = ""
    if cache_enabled():
        try:
            with open(path, "rb") as f:
                data = f.read(_FAST_TAR_BYTES + 1)
        except OSError:
            data = None  # the reader reports it
        if data is not None and len(data) <= _FAST_TAR_BYTES:
            limits = (MAX_ENTRIES, MAX_FILE_BYTES, MAX_TOTAL_BYTES, MAX_PATH_CHARS, _LONG_NUMBER, _MAX_READ)
            name = _cache_key(_CACHE_FORMAT, _version(), _reader_stamp(), repr(limits), data)
            hit = _cache_get("snapshots", name)
            if _valid_entry(hit):
                files, links, dirs, tree, plain = hit
                return files, links, set(dirs), tree, None if plain is None else _views_from_plain(plain)
        else:
            data = None
    files, links, dirs = _read_tar(path, data)
    _check_files_numbers(src, files)
    tree = views = None
    if name:
        try:
            tree = _slab_tree(src, files, dirs)
        except ConfigError:
            tree = None
        try:
            views = _parse_views(src, files, dirs)
        except ConfigError:
            views = None
        entry = _shared_values(files, links, sorted(dirs), tree)
        _cache_put("snapshots", name, (*entry, None if views is None else _plain_views(views)))
    return files, links, dirs, tree, views


def _shared_values(files: dict[str, bytes], links: dict[str, str], dirs: list[str],
                   tree: SlabTree | None) -> tuple[Any, ...]:
    """A cache entry with equal file bodies, attribute names and texts made one object each:
    marshal writes an object referred to twice once, and a hit then makes it once (the seven
    thousand slab files of a host hold some 500 different texts under some 60 names)."""
    one: dict[Any, Any] = {}
    files = {rel: one.setdefault(body, body) for rel, body in files.items()}
    if tree is not None:
        tree = {cache: {one.setdefault(a, a): one.setdefault(t, t) for a, t in attrs.items()}
                for cache, attrs in tree.items()}
    return files, links, dirs, tree


def _valid_entry(v: Any) -> bool:
    """A cache entry of the right shape: (files: str -> bytes, links: str -> str, dirs: [str],
    the slab tree: None or str -> (str -> str), the views: None or a tuple)."""
    if not (type(v) is tuple and len(v) == 5 and (v[4] is None or type(v[4]) is tuple)):
        return False
    files, links, dirs, tree, _ = v
    if not (type(files) is dict and type(links) is dict and type(dirs) is list
            and set(map(type, files)) <= {str} and set(map(type, files.values())) <= {bytes}
            and set(map(type, links)) <= {str} and set(map(type, links.values())) <= {str}
            and set(map(type, dirs)) <= {str}):
        return False
    if tree is None:
        return True
    if type(tree) is not dict or not set(map(type, tree)) <= {str} or not set(map(type, tree.values())) <= {dict}:
        return False
    attrs = list(chain.from_iterable(tree.values()))  # every cache's attribute names
    texts = list(chain.from_iterable(map(dict.values, tree.values())))
    return set(map(type, attrs)) <= {str} and set(map(type, texts)) <= {str}


def _read_tar(path: Path, raw: bytes | None = None) -> tuple[dict[str, bytes], dict[str, str], set[str]]:
    """The files, symlinks and directories of a snapshot archive, every member checked; ``raw``:
    the archive's bytes, already read (at most ``_FAST_TAR_BYTES``), else the file is read."""
    where = str(path)
    budget = _Budget(where)
    entries: dict[str, tuple[str, bytes | str | None]] = {}  # name -> (kind, data or link target)
    limit = MAX_TOTAL_BYTES + 2048 * MAX_ENTRIES
    fast = _fast_tar_members(path, min(limit, _FAST_TAR_BYTES), raw)
    if fast is not None:
        for name, kind, size, payload in fast:
            n = _add_member(entries, budget, where, name)
            if n is None:
                continue
            if kind == "file":
                budget.data(n, size)
            entries[n] = (kind, payload)
    else:
        _read_tar_slow(path, where, budget, entries, limit, raw)
    tops = [n for n in entries if n == SNAPSHOT_FILE or (n.count("/") == 1 and n.endswith("/" + SNAPSHOT_FILE))]
    if len(tops) != 1:
        raise ConfigError(
            f"{path}: not a kmemsim snapshot archive "
            f"({'no' if not tops else 'more than one'} {SNAPSHOT_FILE} file at its top)"
        )
    prefix = tops[0][: -len(SNAPSHOT_FILE)]
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    dirs: set[str] = set()
    for n, (kind, data) in entries.items():
        if n == prefix.rstrip("/"):
            if kind != "dir":
                raise ConfigError(f"{where}: member {n!r} should be the snapshot's directory")
            continue
        if not n.startswith(prefix):
            raise ConfigError(f"{where}: member {n!r} is outside the snapshot's directory {prefix.rstrip('/')!r}")
        rel = n[len(prefix):]
        if kind == "dir":
            dirs.add(rel)
        elif kind == "link":
            assert isinstance(data, str)
            _check_link(where, rel, data, shown=n)
            links[rel] = data
        else:
            assert isinstance(data, bytes)
            files[rel] = data
    # Parent directories of files, in case the archive omits directory entries.
    for rel in list(files) + list(links):
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d in files or d in links:
                raise ConfigError(f"{where}: {prefix}{d} is both a file (or symlink) and a directory")
            dirs.add(d)
    return files, links, dirs


def _read_tar_slow(
    path: Path, where: str, budget: _Budget, entries: dict[str, tuple[str, bytes | str | None]], limit: int,
    data: bytes | None = None,
) -> None:
    # tarfile and the decompressors only for the archives the one-pass reader leaves (not a
    # replay's: 4 ms of imports)
    import lzma
    import tarfile

    stream: Any = None
    try:
        stream = _open_archive(path, data)
        guarded = _GuardedStream(stream, where, limit)
        with tarfile.open(fileobj=guarded, mode="r:") as tf:
            for m in tf:
                name = m.name
                n = _add_member(entries, budget, where, name)
                if n is None:
                    continue
                if m.isdir():
                    entries[n] = ("dir", None)
                elif m.issym():
                    entries[n] = ("link", m.linkname)
                elif m.type in (tarfile.REGTYPE, tarfile.AREGTYPE):
                    budget.data(n, m.size)
                    f = tf.extractfile(m)
                    assert f is not None
                    chunks = []
                    while True:
                        b = f.read(_READ_CHUNK)
                        if not b:
                            break
                        chunks.append(b)
                    entries[n] = ("file", b"".join(chunks))
                else:
                    kind = (
                        "a hard link" if m.islnk() else "a device" if m.ischr() or m.isblk() else
                        "a FIFO" if m.isfifo() else "a sparse file" if m.issparse() else f"of type {m.type!r}"
                    )  # fmt: skip
                    raise ConfigError(f"{where}: member {name!r} is {kind}, not a file, directory or symlink")
    except ConfigError:
        raise
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read the snapshot archive: {e}") from None
    finally:
        if stream is not None:
            stream.close()


# --------------------------------------------------------------------------------------
# kmemsim's on-disk cache
# --------------------------------------------------------------------------------------
# Values kmemsim can always compute again, kept on disk to save the time: the files of each
# snapshot archive read (:func:`_read_archive`).
#
# A cache is never required.  A missing, unreadable, unwritable, stale or corrupt entry only
# means the value is computed again (and, where the directory is writable, stored again); no
# error of the cache ever reaches the user.  ``KMEMSIM_CACHE=0`` turns it off.
#
# Where: ``$XDG_CACHE_HOME/kmemsim`` (an absolute ``XDG_CACHE_HOME``, as the XDG base
# directory specification asks), else ``~/.cache/kmemsim``.  Each kind of value has its own
# subdirectory (``snapshots/``: the archives' files).
#
# An entry is a file named by the hex digest of its key: the caller puts into the key
# everything the value depends on (the input's bytes, the format of the entry, kmemsim's
# version, the code that computes it), so a changed input or kmemsim never finds an old
# entry.  The file is the magic line, the BLAKE2b digest of the payload and the payload
# (:mod:`marshal` data: plain values only, never code or objects); an entry whose digest
# does not match -- truncated, overwritten, damaged -- is a miss.  Entries are written to a
# temporary file and renamed into place, so a reader never sees half of one.

_CACHE_MAGIC = b"kmemsim-cache 1\n"
_CACHE_DIGEST = 32


def cache_enabled() -> bool:
    """False when ``KMEMSIM_CACHE=0`` (or ``off``, ``no``, ``false``)."""
    return os.environ.get("KMEMSIM_CACHE", "1").strip().lower() not in ("0", "off", "no", "false")


def cache_dir(kind: str) -> Path | None:
    """The directory of one kind of entry (it may not exist yet), or None when the cache is off
    or there is no home directory to put it under."""
    if not cache_enabled():
        return None
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return Path(base) / "kmemsim" / kind


def _cache_key(*parts: bytes | str) -> str:
    """The hex digest naming an entry: of every part, each length-prefixed (so no two lists of
    parts give the same key), with the Python that reads the marshal data."""
    h = blake2b(digest_size=20)
    for p in (sys.implementation.cache_tag or "", str(marshal.version), *parts):
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


def _cache_get(kind: str, name: str) -> Any:
    """The value stored under ``name``, or None (no cache, no entry, or a damaged one)."""
    d = cache_dir(kind)
    if d is None:
        return None
    try:
        with open(d / name, "rb") as f:
            blob = f.read()
    except (OSError, ValueError):
        return None
    head = len(_CACHE_MAGIC) + _CACHE_DIGEST
    if len(blob) < head or not blob.startswith(_CACHE_MAGIC):
        return None
    payload = memoryview(blob)[head:]
    if blake2b(payload, digest_size=_CACHE_DIGEST).digest() != blob[len(_CACHE_MAGIC):head]:
        return None
    try:
        value = marshal.loads(payload)
    except (ValueError, EOFError, TypeError):
        return None
    try:
        os.utime(d / name)  # recently used: the last to be pruned (_cache_prune)
    except OSError:
        pass
    return value


#: Entries kept per kind (about 0.5 MB each for a host snapshot): the least recently used go.
CACHE_MAX_ENTRIES = 64


def _cache_prune(d: Path, keep: str) -> None:
    """Remove the least recently used entries of ``d`` beyond :data:`CACHE_MAX_ENTRIES`
    (a hit refreshes an entry's mtime); errors (a file removed meanwhile) are ignored."""
    try:
        entries = [(e.stat().st_mtime, e.name, e) for e in os.scandir(d) if e.is_file() and not e.name.startswith(".")]
    except OSError:
        return
    if len(entries) <= CACHE_MAX_ENTRIES:
        return
    entries.sort()
    for _, ename, e in entries[: len(entries) - CACHE_MAX_ENTRIES]:
        if ename != keep:
            try:
                os.unlink(e.path)
            except OSError:
                pass


def _cache_put(kind: str, name: str, value: Any) -> bool:
    """Store ``value`` (plain values: what :mod:`marshal` writes) under ``name``; True if stored.
    An unwritable directory or a full disk is not an error: the entry is simply not kept."""
    d = cache_dir(kind)
    if d is None:
        return False
    try:
        payload = marshal.dumps(value)
    except ValueError:
        return False
    blob = _CACHE_MAGIC + blake2b(payload, digest_size=_CACHE_DIGEST).digest() + payload
    tmp = None
    try:
        d.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = str(d / f".{name}.{os.getpid()}.{id(blob):x}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(blob)
        os.replace(tmp, d / name)
        tmp = None
        _cache_prune(d, name)
        return True
    except OSError:
        return False
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
