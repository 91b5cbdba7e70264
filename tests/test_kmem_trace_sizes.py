"""Allocation sizes of a real 6.18 kmem trace against the model.

``tests/data/host-6.18/kmem-trace.txt.gz`` is ftrace text of the kmem tracepoints
(kmalloc, kfree, kmem_cache_alloc, kmem_cache_free, mm_page_alloc, mm_page_free)
recorded on the reference host by ``tools/capture_kmem_trace.py`` during a short
workload (ls -R /proc/sys, python3 allocating, find, tar | gzip, sync); the header is
followed by ``# kmemsim:`` lines saying how many events were kept.

- every ``kmalloc`` event: ``kmalloc_size_roundup(bytes_req) == bytes_alloc``, and a
  real ``kmalloc(bytes_req, gfp)`` on a booted machine has ``ksize == bytes_alloc``
  (the kernel traces ``s->size`` of the kmalloc cache the flags pick, or
  ``PAGE_SIZE << order`` above 8 KiB);
- every ``kmem_cache_alloc`` event: ``bytes_alloc`` is the host snapshot's
  ``slab_size`` of that cache (an alias resolved to its merged ``:``-directory) and the
  stride ``calculate_geometry`` gives from the cache's sysfs object_size, align and
  flags with 2 CPUs.

The identical (bytes_req, gfp) pairs and (cache, bytes_req, bytes_alloc) triples are
checked once each.
"""
from __future__ import annotations

import gzip
import re
from collections import Counter

import pytest
from conftest import DATA
from slabhost import host_geometry

import kmemsim
from kmemsim import gfp as G
from kmemsim.errors import KmemsimError
from kmemsim.snapshot import load

TRACE = DATA / "host-6.18" / "kmem-trace.txt.gz"
TEXT = gzip.open(TRACE, "rt", encoding="utf-8").read()
HOST = load(DATA / "host-6.18" / "snapshot.tar.gz")
CACHES = HOST.slab_caches()
ALIASES = HOST.slab_aliases()
NR_CPUS = 2

#: "<comm>-<pid> [cpu] flags timestamp: <event>: fields"
EVENT_RE = re.compile(r"^\s*.+-\d+\s+\[\d+\]\s+\S+\s+\d+\.\d+:\s+(\w+):", re.M)
KMALLOC_RE = re.compile(
    r"\skmalloc: call_site=\S+ ptr=\S+ bytes_req=(\d+) bytes_alloc=(\d+) gfp_flags=(\S+) "
    r"node=(-?\d+) accounted=(true|false)$",
    re.M,
)
CACHE_ALLOC_RE = re.compile(
    r"\skmem_cache_alloc: call_site=\S+ ptr=\S+ name=(\S+) bytes_req=(\d+) bytes_alloc=(\d+) "
    r"gfp_flags=(\S+) node=(-?\d+) accounted=(true|false)$",
    re.M,
)
KEPT_RE = re.compile(r"^# kmemsim: kept per event: (.*)$", re.M)

KMALLOC = [(int(r), int(a), g, acc == "true") for r, a, g, _node, acc in KMALLOC_RE.findall(TEXT)]
CACHE_ALLOC = [(n, int(r), int(a)) for n, r, a, *_ in CACHE_ALLOC_RE.findall(TEXT)]

#: (bytes_req, gfp string) -> the bytes_alloc values the host traced for it
KMALLOC_PAIRS: dict[tuple[int, str], set[int]] = {}
for _req, _alloc, _gfp, _acc in KMALLOC:
    KMALLOC_PAIRS.setdefault((_req, _gfp), set()).add(_alloc)
CACHE_TRIPLES = Counter(CACHE_ALLOC)


# --------------------------------------------------------------------------------------
# The file
# --------------------------------------------------------------------------------------


def test_trace_file_header_and_counts():
    assert TRACE.stat().st_size <= 310_000
    assert TEXT.startswith("# tracer: nop\n")
    m = KEPT_RE.search(TEXT)
    assert m, "no '# kmemsim: kept per event:' line"
    kept = {k: int(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    seen = Counter(EVENT_RE.findall(TEXT))
    assert dict(seen) == {k: v for k, v in kept.items() if v}
    # the local regexes catch every kmalloc / kmem_cache_alloc line
    assert len(KMALLOC) == kept["kmalloc"] > 500
    assert len(CACHE_ALLOC) == kept["kmem_cache_alloc"] > 500
    assert set(seen) == {"kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "mm_page_alloc", "mm_page_free"}


def test_accounted_is_gfp_account():
    # 6.18 prints accounted=true exactly when the flags hold __GFP_ACCOUNT (CONFIG_MEMCG on)
    for _req, _alloc, gfp, accounted in KMALLOC:
        assert accounted == bool(G.GFP_6_18.parse(gfp) & G.FLAGS_6_18["__GFP_ACCOUNT"]), gfp


# --------------------------------------------------------------------------------------
# kmalloc: size classes and ksize on a booted machine
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def machine() -> kmemsim.Kernel:
    return kmemsim.boot()


def model_kmalloc(k: kmemsim.Kernel, size: int, gfp: int) -> tuple[int, int]:
    """(ksize, the mask used) of kmalloc(size, gfp) on k; freed again.

    Should the model refuse a traced mask, __GFP_NOFAIL and then __GFP_DIRECT_RECLAIM are
    dropped (neither changes the kmalloc cache); no mask of the current file needs it."""
    nofail, direct = G.FLAGS_6_18["__GFP_NOFAIL"], G.FLAGS_6_18["__GFP_DIRECT_RECLAIM"]
    for mask in (gfp, gfp & ~nofail, gfp & ~(nofail | direct)):
        try:
            p = k.kmalloc(size, mask)
        except KmemsimError:
            continue
        if p:
            try:
                return k.ksize(p), mask
            finally:
                k.kfree(p)
    raise AssertionError(f"the model refuses kmalloc({size}, {G.GFP_6_18.format(gfp)})")


def test_kmalloc_every_event(machine):
    checked = 0
    bad: list[tuple[int, str, set[int], int, int]] = []
    adjusted: list[tuple[int, str]] = []
    for (req, gfp_text), allocs in sorted(KMALLOC_PAIRS.items()):
        gfp = G.GFP_6_18.parse(gfp_text)
        roundup = machine.kmalloc_size_roundup(req)
        ksize, used = model_kmalloc(machine, req, gfp)
        if used != gfp:
            adjusted.append((req, gfp_text))
        if allocs != {roundup} or ksize != roundup:
            bad.append((req, gfp_text, allocs, roundup, ksize))
        checked += 1
    assert bad == []
    assert adjusted == []
    events = sum(1 for _ in KMALLOC)
    assert checked == len(KMALLOC_PAIRS) > 50
    assert events > 500


@pytest.mark.parametrize(
    "req, gfp_text", sorted(KMALLOC_PAIRS), ids=[f"{r}-{g}" for r, g in sorted(KMALLOC_PAIRS)]
)  # fmt: skip
def test_kmalloc_pair(machine, req, gfp_text):
    (alloc,) = KMALLOC_PAIRS[(req, gfp_text)]  # one bytes_alloc per (bytes_req, gfp)
    assert machine.kmalloc_size_roundup(req) == alloc
    ksize, _ = model_kmalloc(machine, req, G.GFP_6_18.parse(gfp_text))
    assert ksize == alloc


def test_kmalloc_sizes_cover_several_classes():
    allocs = {a for _r, a, _g, _acc in KMALLOC}
    assert len(allocs) >= 6


# --------------------------------------------------------------------------------------
# kmem_cache_alloc: the host's slab_size and the model's geometry
# --------------------------------------------------------------------------------------

def cache_dir(name: str) -> str:
    return ALIASES.get(name, name)


def model_stride(directory: str) -> int:
    """The stride of the cache from its sysfs attributes and creation arguments (slabhost)."""
    return host_geometry(directory, CACHES[directory], NR_CPUS).size


def test_snapshot_is_the_trace_host():
    assert len(HOST.cpus_online) == NR_CPUS
    assert HOST.meta["uname -r"].startswith("6.18.")


def test_kmem_cache_alloc_every_event():
    missing = sorted({n for n, _r, _a in CACHE_TRIPLES if cache_dir(n) not in CACHES})
    assert missing == []
    bad = []
    for (name, req, alloc), _count in sorted(CACHE_TRIPLES.items()):
        d = cache_dir(name)
        slab_size = int(CACHES[d]["slab_size"])
        stride = model_stride(d)
        if not alloc == slab_size == stride:
            bad.append((name, d, req, alloc, slab_size, stride))
        # bytes_req is s->object_size (a merged cache keeps the largest of its users)
        if req != int(CACHES[d]["object_size"]):
            bad.append((name, d, "object_size", req, CACHES[d]["object_size"].strip()))
    assert bad == []
    assert sum(CACHE_TRIPLES.values()) == len(CACHE_ALLOC) > 500
    assert len({n for n, _r, _a in CACHE_TRIPLES}) > 10


@pytest.mark.parametrize("name", sorted({n for n, _r, _a in CACHE_TRIPLES}))
def test_kmem_cache_alloc_cache(name):
    d = cache_dir(name)
    allocs = {a for n, _r, a in CACHE_TRIPLES if n == name}
    assert allocs == {int(CACHES[d]["slab_size"])} == {model_stride(d)}
