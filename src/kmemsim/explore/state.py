"""A booted machine as a plain, JSON-able snapshot: what the explorer's views draw.

This is the one module of :mod:`kmemsim.explore` that reads the model's internals (the
zones' free lists, the memmap, SLUB's slabs and freelists, the vmalloc areas, the page
tables, the page cache).  Everything else -- the HTML page, the Jupyter displays, the
timeline of a replay -- works on the snapshot :func:`snapshot` returns, so when the
model's internals move, this file alone changes.  ``docs/explore.md`` documents the
schema (``kmemsim-explore/1``); the short form:

``machine``
    profile, kernel version, arch, RAM, CPUs, page size, max_pfn, the slab allocator.
``layout``
    the named boundaries (hex strings: 64-bit addresses do not fit a JavaScript number)
    and the regions of the virtual address space ``[start, end, name, note, kind]``.
``zones``
    per zone: span, present/managed pages, free pages, watermarks, lowmem_reserve,
    ``free[order][migratetype]`` block counts, the per-CPU lists' counts.
``pages``
    every pfn below max_pfn, run-length coded: ``runs`` is a flat list
    ``start, length, kind, detail, ...`` (``kinds`` names the kinds; ``detail`` is the
    buddy order | migratetype << 4 of a free block, the cache id of a slab, the area id
    of a vmalloc page, the order of an allocated block ...), one run per free or
    allocated block; ``fields`` holds the struct page fields (flags, refcount,
    mapcount, private) as ``start, length, value`` runs.
``slab``
    ``allocator`` ("SLUB"; SLAB and SLOB are further producers, see
    :data:`SLAB_PRODUCERS`) and its caches; each cache has its object layout and its
    slabs on named lists (``cpu 0``, ``cpu 0 partial``, ``node partial``, ``full``),
    each slab the indices of its free objects in freelist order.
``vmalloc``
    every vm area: address, size, flags, caller, and its pages as pfn runs.
``summary``
    pages per kind, and the counters of /proc/meminfo the views print.
``dmesg``
    the last lines of the kernel log.

Ids (cache ids, vmalloc area ids, reserved-region ids) come from a :class:`Names` table,
which a timeline shares between its samples so that an id means the same thing in each.
"""
from __future__ import annotations

import gc
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import KmemsimError
from ..mm.page import PG, Owner

if TYPE_CHECKING:  # pragma: no cover
    from ..kernel import Kernel
    from ..layout import Layout

__all__ = [
    "SCHEMA", "KINDS", "Names", "snapshot", "zone_state", "layout_state", "cache_state", "slab_state",
    "vm_area_state", "page_state", "machine_of", "remember", "SLAB_PRODUCERS",
]

SCHEMA = "kmemsim-explore/1"

#: What a page is, in the order of ``pages.kinds`` (the runs' ``kind`` is the index).
KINDS = ("hole", "reserved", "free", "pcp", "slab", "kmalloc-large", "vmalloc", "pagetable",
         "pagecache", "anon", "allocated", "unaccounted")
HOLE, RESERVED, FREE, PCP, SLAB, LARGE, VMALLOC, PAGETABLE, PAGECACHE, ANON, ALLOCATED, UNACCOUNTED = range(len(KINDS))

#: the struct page fields the views show (MemMap field names)
PAGE_FIELDS = ("flags", "refcount", "mapcount", "private")

_JS_SAFE = (1 << 53) - 1


def _num(v: int) -> int | str:
    """An int JavaScript can hold exactly, else its hex string."""
    return v if -_JS_SAFE <= v <= _JS_SAFE else hex(v)


def _hex(v: int | None) -> str | None:
    return None if v is None else hex(v)


class Names:
    """Stable small ids for names (caches, vmalloc areas, reserved regions) across samples."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, int]] = {}

    def id(self, table: str, name: str) -> int:
        t = self.tables.setdefault(table, {})
        i = t.get(name)
        if i is None:
            i = t[name] = len(t)
        return i

    def to_json(self) -> dict[str, list[str]]:
        return {table: list(t) for table, t in self.tables.items()}


# ============================================================================ the machine registry
_MACHINES: weakref.WeakSet[Any] = weakref.WeakSet()


def remember(k: Kernel) -> None:
    """Note a machine so that :func:`machine_of` finds it for its caches, slabs and zones."""
    _MACHINES.add(k)


def machine_of(obj: Any) -> Kernel | None:
    """The booted machine an object of the model belongs to (a zone, a kmem_cache, a slab),
    or None.  Machines this package has seen are asked first; then every live machine."""
    from ..machine import Machine

    own = getattr(obj, "_k", None)  # a Page, a vm_struct: they hold their machine
    if isinstance(own, Machine):
        return own  # type: ignore[return-value]

    def owns(k: Any) -> bool:
        try:
            if any(z is obj for z in k.page_alloc.zones):
                return True
            cache = getattr(obj, "cache", obj)  # a slab names its cache
            return any(c is cache for c in k.slab_impl.caches)
        except AttributeError:
            return False

    for k in list(_MACHINES):
        if owns(k):
            return k
    for k in gc.get_objects():
        if isinstance(k, Machine) and owns(k):
            remember(k)  # type: ignore[arg-type]
            return k  # type: ignore[return-value]
    return None


# ============================================================================ machine, layout
def machine_state(k: Kernel) -> dict[str, Any]:
    p = k.profile
    return {
        "profile": p.name, "description": p.description, "kernel_version": p.kernel_version, "arch": p.arch,
        "ram": k.ram, "cpus": len(k.cpus), "page_size": k.page_size, "page_shift": k.page_shift,
        "max_pfn": k.max_pfn, "max_low_pfn": k.max_low_pfn, "bits": k.layout.bits,
        "page_offset": hex(k.layout.page_offset), "slab_allocator": slab_allocator(k),
        "pageblock_order": k.page_alloc.pageblock_order, "max_order": k.page_alloc.max_order,
        "struct_page": _hex(k.arch.page_struct_addr(0)), "struct_page_size": k.arch.page_struct_addr(1)
        - k.arch.page_struct_addr(0), "cmdline": k.cmdline,
    }


def layout_state(layout: Layout) -> dict[str, Any]:
    """The address layout: its named boundaries and its regions (addresses as hex strings)."""
    return {
        "arch": layout.arch, "bits": layout.bits,
        "fields": {n: hex(v) for n, v in layout.fields().items()},
        "regions": [[hex(r.start), hex(r.end), r.name, r.note, r.kind] for r in layout.regions],
    }


# ============================================================================ zones
def migratetype_names(k: Kernel | None) -> list[str]:
    """The names of the free lists' migratetypes in the page allocator's numbering."""
    names = ["Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"]
    if k is not None and not k.features.highatomic:
        names[3] = "Reserve"  # 2.6.24's MIGRATE_RESERVE in the slot 4.4 gave MIGRATE_HIGHATOMIC
    return names


def zone_state(z: Any, mt_names: list[str] | None = None, pcp_order: dict[int, int] | None = None) -> dict[str, Any]:
    """One zone: span, counters, watermarks, free blocks per order and migratetype, pcp counts."""
    mts = z.nr_migratetypes
    free = [[len(z.free_list[o][mt]) for mt in range(mts)] for o in range(z.max_order + 1)]
    pcp = []
    for p in z.pcp:
        per_order: dict[int, int] = {}
        if pcp_order is not None:
            for pi, lst in enumerate(p.lists):
                if lst:
                    o = pcp_order.get(pi, 0)
                    per_order[o] = per_order.get(o, 0) + len(lst)
        pcp.append({"cpu": p.cpu, "count": p.count, "high": p.high, "batch": p.batch,
                    "orders": {str(o): n for o, n in sorted(per_order.items())}})
    return {
        "name": z.name, "idx": z.idx, "start_pfn": z.zone_start_pfn, "spanned": z.spanned_pages,
        "present": z.present_pages, "managed": z.managed_pages, "free_pages": z.free_pages,
        "watermark": {"min": z.watermark[0], "low": z.watermark[1], "high": z.watermark[2],
                      "promo": z.watermark[3]},
        "boost": z.watermark_boost, "lowmem_reserve": list(z.lowmem_reserve),
        "nr_free": list(z.nr_free), "free": free, "migratetypes": (mt_names or migratetype_names(None))[:mts],
        "pcp": pcp, "pcp_count": sum(p.count for p in z.pcp), "highatomic": z.nr_reserved_highatomic,
        "pageblock_order": z.pageblock_order,
    }


def free_blocks(z: Any) -> dict[int, tuple[int, int]]:
    """A zone's free blocks: head pfn -> (order, migratetype)."""
    return dict(z.buddy)


def pcp_orders(k: Kernel) -> tuple[int, ...]:
    """The orders the per-CPU lists hold (an allocation of another order goes to the buddy lists)."""
    return tuple(k.page_alloc.pcp_orders)


def kmalloc_sizes(k: Kernel) -> list[int]:
    """The object sizes of the kmalloc-<size> caches, ascending."""
    # kmalloc-<n> (SLUB, 6.6 SLAB) or size-<n> (2.6 SLAB); SLOB has none
    return sorted({c.object_size for c in k.slab_impl.caches
                   if (c.name.startswith("kmalloc-") and c.name[8:9].isdigit())
                   or (c.name.startswith("size-") and c.name[5:].isdigit())})


def lone_zone(z: Any) -> dict[str, Any]:
    """A snapshot of a zone whose machine is not known: its free blocks are all it tells."""
    runs: list[int] = []
    for pfn, (order, mt) in sorted(z.buddy.items()):
        runs.extend((pfn, 1 << order, FREE, order | mt << 4))
    machine = {"page_size": 4096, "max_pfn": z.zone_end_pfn, "max_order": z.max_order, "max_low_pfn": 0,
               "page_offset": "0x0"}
    return {"schema": SCHEMA, "machine": machine, "zones": [zone_state(z)],
            "pages": {"kinds": list(KINDS), "runs": runs, "fields": {}},
            "slab": {"caches": []}, "vmalloc": {"areas": []}, "summary": {"pages": {}}}


def _pcp_orders(k: Kernel) -> dict[int, int]:
    """pcp list index -> order (page_alloc's pindex table)."""
    pa = k.page_alloc
    table = getattr(pa, "_pindex_order", None)
    if isinstance(table, dict):
        return dict(table)
    return dict.fromkeys(range(3), 0)


def free_area_state(z: Any, order: int, mt_names: list[str] | None = None, limit: int = 4096) -> dict[str, Any]:
    """One free_area: its lists per migratetype, head first (the blocks' pfns)."""
    names = mt_names or migratetype_names(None)
    lists = []
    for mt, lst in enumerate(z.free_list[order]):
        pfns = list(lst)
        lists.append({"migratetype": names[mt] if mt < len(names) else str(mt), "count": len(pfns),
                      "pfns": pfns[:limit]})
    return {"zone": z.name, "order": order, "nr_free": z.nr_free[order], "lists": lists,
            "start_pfn": z.zone_start_pfn, "spanned": z.spanned_pages}


# ============================================================================ pages
def _vm_areas(k: Kernel) -> list[Any]:
    vm: Any = k.vmalloc_impl
    return list(vm.areas())


def _area_key(vm: Any) -> str:
    return f"{vm.addr:x}+{vm.size:x}"


def page_runs(k: Kernel, names: Names) -> list[int]:
    """Every pfn below max_pfn as flat ``start, length, kind, detail`` runs (one per block)."""
    pa = k.page_alloc
    mm = k.memmap
    marks: list[tuple[int, int, int, int]] = []
    pindex = _pcp_orders(k)
    for z in pa.zones:
        for pfn, (order, mt) in z.buddy.items():
            marks.append((pfn, 1 << order, FREE, order | mt << 4))
        for p in z.pcp:
            for pi, lst in enumerate(p.lists):
                o = pindex.get(pi, 0)
                for pfn in lst:
                    marks.append((pfn, 1 << o, PCP, p.cpu | o << 8))
    slab_of = _slab_pages(k)
    shift = k.page_shift
    po = k.layout.page_offset
    large = {(addr - po) >> shift for addr in k.slab.large}
    vm_pfn: dict[int, int] = {}
    for vm in _vm_areas(k):
        aid = names.id("vmalloc", _area_key(vm))
        for pfn in vm.pfns:
            vm_pfn[pfn] = aid
    tables = k.vmalloc_impl.pt.tables
    folios = _folios(k)
    for head, order in pa.allocated.items():
        n = 1 << order
        sl = slab_of.get(head)
        if sl is not None:
            marks.append((head, n, SLAB, names.id("cache", sl)))
        elif head in large:
            marks.append((head, n, LARGE, order))
        elif head in vm_pfn:
            marks.append((head, n, VMALLOC, vm_pfn[head]))
        elif head in tables:
            marks.append((head, n, PAGETABLE, tables[head]))
        elif head in folios:
            marks.append((head, n, ANON if folios[head] else PAGECACHE, order))
        else:
            marks.append((head, n, ALLOCATED, order))
    marks.sort()
    reserved = [(r.start >> shift, -(-r.end >> shift), names.id("reserved", r.name)) for r in k.arch.setup.reserved]
    out: list[int] = []
    pos = 0
    mi = 0
    nm = len(marks)

    def emit(s: int, n: int, kind: int, detail: int) -> None:
        if n <= 0:
            return
        if out and kind in (HOLE, RESERVED, UNACCOUNTED) and out[-2] == kind and out[-1] == detail \
                and out[-4] + out[-3] == s:
            out[-3] += n
            return
        out.extend((s, n, kind, detail))

    def reserved_id(pfn: int) -> int:
        for a, b, rid in reserved:
            if a <= pfn < b:
                return rid
        return -1

    end_all = k.max_pfn
    for s, e, owner in mm.runs("owner", 0, end_all):
        if s > pos:
            emit(pos, s - pos, HOLE, 0)  # no struct page: not present
        if owner == Owner.MANAGED:
            while mi < nm and marks[mi][0] < s:
                mi += 1
            cur = s
            while mi < nm and marks[mi][0] < e:
                ms, mn, kind, detail = marks[mi]
                if ms > cur:
                    emit(cur, ms - cur, UNACCOUNTED, 0)
                emit(ms, min(mn, e - ms), kind, detail)
                cur = max(cur, ms + mn)
                mi += 1
            if cur < e:
                emit(cur, e - cur, UNACCOUNTED, 0)
        elif owner == Owner.RESERVED:
            # cut at memblock regions so that each run names its region
            cur = s
            while cur < e:
                rid = reserved_id(cur)
                nxt = e
                for a, b, _ in reserved:
                    if a > cur:
                        nxt = min(nxt, a)
                    if a <= cur < b:
                        nxt = min(nxt, b)
                emit(cur, nxt - cur, RESERVED, rid)
                cur = nxt
        else:
            emit(s, e - s, HOLE, 0)
        pos = e
    if pos < end_all:
        emit(pos, end_all - pos, HOLE, 0)
    return out


def _folios(k: Kernel) -> dict[int, bool]:
    """pfn -> anonymous? of every page-cache and anonymous page (the LRU's folios)."""
    rc: Any = k.vmscan
    lru = getattr(rc, "lru", None)  # the LRU's own object since reclaim was split by composition
    folios = getattr(lru, "folios", None) or getattr(rc, "folios", None) or {}
    return {pfn: bool(f.anon) for pfn, f in folios.items()}


def field_runs(k: Kernel) -> dict[str, list[int | str]]:
    """The struct page fields as flat ``start, length, value`` runs."""
    out: dict[str, list[int | str]] = {}
    for f in PAGE_FIELDS:
        flat: list[int | str] = []
        for s, e, v in k.memmap.runs(f, 0, k.max_pfn):
            flat.extend((s, e - s, _num(v)))
        out[f] = flat
    return out


def page_flag_names() -> list[list[Any]]:
    """[bit value, name] of every PG_ flag."""
    return [[int(f.value), f.name] for f in PG if f.name]


def page_state(k: Kernel, pfn: int) -> dict[str, Any]:
    """One struct page: its fields, where it is (zone, block, slab, area) and its addresses."""
    mm = k.memmap
    info: dict[str, Any] = {"pfn": pfn, "phys": hex(pfn << k.page_shift), "valid": mm.pfn_valid(pfn)}
    if not info["valid"]:
        return info
    for f in PAGE_FIELDS:
        info[f] = _num(mm.get(pfn, f))
    info["flag_names"] = [f.name for f in PG if f.name and mm.get(pfn, "flags") & f]
    info["owner"] = Owner(mm.get(pfn, "owner")).name
    info["struct_page"] = hex(k.arch.page_struct_addr(pfn))
    if pfn < k.max_low_pfn:
        info["virt"] = hex(k.layout.page_offset + (pfn << k.page_shift))
    try:
        z = k.page_alloc.zone_of(pfn)
        info["zone"] = z.name
        info["pageblock_migratetype"] = migratetype_names(k)[z.get_pageblock_migratetype(pfn)]
    except KeyError:
        pass
    return info


def _slab_pages(k: Kernel) -> dict[int, str]:
    """pfn of a slab's first page -> the name its slab run carries (the cache's; SLOB's
    pages belong to no cache: "slob")."""
    impl: Any = k.slab_impl
    if impl.name == "slob":
        return dict.fromkeys(impl.pages, "slob")
    slab_of = k.slub.slab_of if impl.name == "slub" else impl.slab_of
    return {pfn: sl.cache.name for pfn, sl in slab_of.items() if sl.pfn == pfn}


# ============================================================================ slab (SLUB)
def slab_allocator(k: Kernel) -> str:
    """Which slab allocator the machine runs: "SLUB", "SLAB" or "SLOB"."""
    return str(k.slab.allocator).upper()


def slab_flag_names(k: Kernel, flags: int) -> list[str]:
    """The SLAB_* names of a cache's flags."""
    return _flag_names(k, flags)


def _flag_names(k: Kernel, flags: int) -> list[str]:
    try:
        return list(k.slub.geo.slab_flag_names(flags))
    except Exception:  # noqa: BLE001 - a name table that moved: show the value
        return [hex(flags)]


def _walk(k: Kernel, s: Any, slab: Any, head: int, limit: int) -> tuple[list[int], str | None]:
    """Object indices of a freelist from ``head``, read from memory as SLUB reads it;
    stops (and says why) at a pointer outside the slab's objects or a cycle."""
    base = slab.addr + s.red_left_pad
    end = base + slab.objects * s.size
    idx: list[int] = []
    seen: set[int] = set()
    slub: Any = k.slub
    while head:
        if head in seen:
            return idx, f"freelist cycle at {head:#x}"
        if not (base <= head < end) or (head - base) % s.size:
            return idx, f"free pointer {head:#x} is outside the slab's objects"
        if len(idx) >= limit:
            return idx, "freelist longer than the slab"
        seen.add(head)
        idx.append((head - base) // s.size)
        try:
            head = slub.get_freepointer(s, head)
        except KmemsimError as e:
            return idx, f"reading the free pointer faulted: {str(e).splitlines()[0]}"
    return idx, None


def slab_state(k: Kernel, s: Any, slab: Any, where: str, cpu_freelist: int = 0,
               redzones: bool = False) -> dict[str, Any]:
    """One slab: its pages, objects, and free objects in freelist order (``cfree``: the
    CPU's lockless freelist of a CPU slab, taken first; ``free``: the slab's own)."""
    d: dict[str, Any] = {"pfn": slab.pfn, "order": slab.order, "n": slab.objects, "inuse": slab.inuse,
                         "where": where, "addr": hex(slab.addr)}
    free, bad = _walk(k, s, slab, slab.freelist, slab.objects)
    d["free"] = free
    if cpu_freelist:
        cfree, bad2 = _walk(k, s, slab, cpu_freelist, slab.objects)
        d["cfree"] = cfree
        bad = bad or bad2
    if bad:
        d["bad"] = bad
    if redzones:
        rz = _redzone_damage(k, s, slab, set(free) | set(d.get("cfree", ())))
        if rz:
            d["rz_bad"] = rz
    return d


def _redzone_damage(k: Kernel, s: Any, slab: Any, free: set[int]) -> list[int]:
    """Objects whose red zones do not hold SLUB's pattern (0xbb free, 0xcc in use)."""
    bad = []
    base = slab.addr + s.red_left_pad
    for i in range(slab.objects):
        obj = base + i * s.size
        want = 0xBB if i in free else 0xCC
        spans = [(obj - s.red_left_pad, s.red_left_pad)]
        right = s.inuse - s.object_size  # calculate_sizes() gives a red-zoned object a word at least
        if right > 0:
            spans.append((obj + s.object_size, right))
        try:
            if any(n and any(b != want for b in k.read(a, n)) for a, n in spans):
                bad.append(i)
        except KmemsimError:
            bad.append(i)
    return bad


def cache_layout(k: Kernel, s: Any) -> list[list[Any]]:
    """The bytes of one object slot (stride ``s.size``) as ``[offset, length, kind]``:
    red zones, the object, the free pointer, the debug tracks, padding."""
    geo = k.slub.geo
    word = k.slub.word
    rlp = s.red_left_pad
    segs: list[list[Any]] = []
    if rlp:
        segs.append([0, rlp, "redzone"])
    segs.append([rlp, s.object_size, "object"])
    pos = rlp + s.object_size
    if s.inuse > s.object_size:
        segs.append([pos, s.inuse - s.object_size, "redzone" if s.flags & geo.SLAB_RED_ZONE else "align"])
    pos = rlp + s.inuse
    if s.offset >= s.inuse:
        segs.append([rlp + s.offset, word, "freeptr"])
        pos = max(pos, rlp + s.offset + word)
    if s.flags & geo.SLAB_STORE_USER:
        tsize = getattr(getattr(s, "geometry", None), "track_size", 2 * word + 16)
        segs.append([pos, 2 * tsize, "track"])
        pos += 2 * tsize
        if s.flags & geo.SLAB_KMALLOC:
            segs.append([pos, 4, "orig_size"])
            pos += 4
    if pos < s.size:
        segs.append([pos, s.size - pos, "padding"])
    return segs


def cache_state(k: Kernel, s: Any, names: Names, slabs: list[Any] | None = None,
                objects: bool = True) -> dict[str, Any]:
    """One SLUB cache: geometry, layout and counters, and its slabs on their lists."""
    geo = k.slub.geo
    if slabs is None:
        slabs = _slabs_by_cache(k).get(id(s), [])
    redzones = bool(s.flags & geo.SLAB_RED_ZONE)
    lists: list[dict[str, Any]] = []
    placed: set[int] = set()

    def add(name: str, kind: str, items: Iterable[tuple[Any, int]]) -> None:
        out = []
        for sl, cfl in items:
            placed.add(id(sl))
            out.append(slab_state(k, s, sl, kind, cfl, redzones) if objects else _slab_brief(sl, kind))
        if out:
            lists.append({"name": name, "kind": kind, "slabs": out})

    for cpu, c in enumerate(s.cpu_slab):
        if c.slab is not None:
            add(f"cpu {cpu}", "cpu", [(c.slab, c.freelist)])
        add(f"cpu {cpu} partial", "cpu_partial", [(sl, 0) for sl in reversed(c.partial)])  # head is the end
    add("node partial", "partial", [(sl, 0) for sl in s.partial])
    rest = sorted((sl for sl in slabs if id(sl) not in placed), key=lambda sl: sl.pfn)
    add("full", "full", [(sl, 0) for sl in rest if sl.where == "full"])
    add("other", "other", [(sl, 0) for sl in rest if sl.where != "full"])
    free = sum(len(sl.get("free", ())) + len(sl.get("cfree", ())) for li in lists for sl in li["slabs"]) \
        if objects else sum(sl.objects - sl.inuse for sl in slabs)
    return {
        "id": names.id("cache", s.name), "name": s.name, "object_size": s.object_size, "stride": s.size,
        "align": s.align, "inuse": s.inuse, "offset": s.offset, "red_left_pad": s.red_left_pad,
        "order": s.order, "per_slab": s.objects, "min_order": s.min_order, "min_partial": s.min_partial,
        "cpu_partial": s.cpu_partial, "flags": _flag_names(k, s.flags), "aliases": list(s.aliases),
        "refcount": s.refcount, "kmalloc": bool(s.kmalloc), "debug": bool(s.debug), "ctor": s.ctor is not None,
        "nr_slabs": s.nr_slabs, "total_objects": s.total_objects, "active_objects": s.total_objects - free,
        "pages": s.nr_slabs << s.order, "layout": cache_layout(k, s),
        "slab_bytes": k.page_size << s.order, "lists": lists,
    }


def _slab_brief(sl: Any, where: str) -> dict[str, Any]:
    return {"pfn": sl.pfn, "order": sl.order, "n": sl.objects, "inuse": sl.inuse, "where": where}


def _slabs_by_cache(k: Kernel) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    for pfn, sl in k.slub.slab_of.items():
        if sl.pfn == pfn:
            out.setdefault(id(sl.cache), []).append(sl)
    return out


def slub_state(k: Kernel, names: Names, objects: bool = True) -> dict[str, Any]:
    by_cache = _slabs_by_cache(k)
    caches = [cache_state(k, s, names, by_cache.get(id(s), []), objects) for s in reversed(k.slub.caches)]
    return {"allocator": "SLUB", "caches": caches, "word": k.slub.word}


def _classic_free(impl: Any, c: Any, sl: Any) -> list[int]:
    """A SLAB slab's free object indices, head first: 2.6's kmem_bufctl_t chain from
    slabp->free; 6.6's freelist[active..num-1] (mm/slab.c slab_get_obj())."""
    if impl.idx:
        return list(sl.bufctl[sl.inuse:c.num])
    out: list[int] = []
    i = sl.free
    while 0 <= i < c.num and len(out) < c.num:
        out.append(i)
        i = sl.bufctl[i]
    return out


def classic_cache_state(k: Kernel, c: Any, names: Names, objects: bool = True) -> dict[str, Any]:
    """One SLAB cache in the schema of a SLUB one: its own lists (slabs_partial, slabs_full,
    slabs_free) and per-CPU array caches; SLUB-only fields are 0."""
    impl: Any = k.slab_impl
    n = c.node
    lists: list[dict[str, Any]] = []
    for name, kind, lst in (("slabs_partial", "partial", n.slabs_partial), ("slabs_full", "full", n.slabs_full),
                            ("slabs_free", "other", n.slabs_free)):
        slabs = []
        for sl in lst:
            d: dict[str, Any] = {"pfn": sl.pfn, "order": c.gfporder, "n": c.num, "inuse": sl.inuse,
                                 "where": kind, "addr": hex(sl.addr)}
            if objects:
                d["free"] = _classic_free(impl, c, sl)
            slabs.append(d)
        if slabs:
            lists.append({"name": name, "kind": kind, "slabs": slabs})
    active, total, _ = impl.cache_usage(c)
    nr_slabs = total // c.num if c.num else 0
    layout: list[list[Any]] = []
    if c.obj_offset:
        layout.append([0, c.obj_offset, "redzone"])
    layout.append([c.obj_offset, c.object_size, "object"])
    if c.buffer_size > c.obj_offset + c.object_size:
        layout.append([c.obj_offset + c.object_size, c.buffer_size - c.obj_offset - c.object_size,
                       "redzone" if c.obj_offset else "padding"])
    return {
        "id": names.id("cache", c.name), "name": c.name, "object_size": c.object_size, "stride": c.buffer_size,
        "align": c.align, "inuse": c.object_size, "offset": 0, "red_left_pad": c.obj_offset,
        "order": c.gfporder, "per_slab": c.num, "min_order": c.gfporder, "min_partial": 0, "cpu_partial": 0,
        "flags": [f for f, v in k.slab_flags.flags.items() if v and c.flags & v == v and f.startswith("SLAB_")],
        "aliases": [], "refcount": c.refcount, "kmalloc": bool(c.kmalloc), "debug": bool(impl.debug),
        "ctor": c.ctor is not None, "nr_slabs": nr_slabs, "total_objects": total, "active_objects": active,
        "pages": nr_slabs << c.gfporder, "slab_bytes": k.page_size << c.gfporder, "layout": layout,
        "lists": lists, "colour": c.colour, "colour_off": c.colour_off, "off_slab": c.off_slab,
        "tunables": [c.limit, c.batchcount, c.shared],
        "array": [{"cpu": i, "avail": len(ac.entry), "limit": ac.limit, "batchcount": ac.batchcount}
                  for i, ac in enumerate(c.array) if ac is not None],
    }


def slab_classic_state(k: Kernel, names: Names, objects: bool = True) -> dict[str, Any]:
    impl: Any = k.slab_impl
    caches = [classic_cache_state(k, c, names, objects) for c in reversed(impl.caches)]
    return {"allocator": "SLAB", "caches": caches, "word": impl.word}


def slob_state(k: Kernel, names: Names, objects: bool = True) -> dict[str, Any]:
    """SLOB: its caches (a size and an alignment: SLOB counts nothing per cache) and its
    pages with their free units (2.6.24 mm/slob.c struct slob_page)."""
    impl: Any = k.slab_impl
    names.id("cache", "slob")
    caches = [{"id": names.id("cache", c.name), "name": c.name, "object_size": c.size, "stride": c.size,
               "align": c.align, "ctor": c.ctor is not None, "lists": []} for c in reversed(impl.caches)]
    pages = [{"pfn": sp.pfn, "addr": hex(sp.addr), "free_units": sp.units, "on_list": sp.on_list}
             for sp in sorted(impl.pages.values(), key=lambda sp: sp.pfn)]
    return {"allocator": "SLOB", "caches": caches, "pages": pages, "word": impl.word}


#: allocator name -> producer of the ``slab`` section: ``{"allocator": NAME, "caches": [...]}``
#: in the schema of docs/explore.md.
SLAB_PRODUCERS: dict[str, Callable[[Any, Names, bool], dict[str, Any]]] = {
    "SLUB": slub_state, "SLAB": slab_classic_state, "SLOB": slob_state}


def slab_section(k: Kernel, names: Names, objects: bool = True) -> dict[str, Any]:
    producer = SLAB_PRODUCERS.get(slab_allocator(k), slub_state)
    return producer(k, names, objects)


# ============================================================================ vmalloc
def _vm_flag_table(k: Kernel) -> dict[str, int]:
    from ..mm import vmalloc as vm

    return vm.VM_FLAG_NAMES_6_18 if k.features.vmap_area else vm.VM_FLAG_NAMES_2_6


def vm_area_state(k: Kernel, vm: Any, names: Names) -> dict[str, Any]:
    """One vm_struct: its range, flags, caller and the pfns behind it as runs ``[start, count]``."""
    runs: list[list[int]] = []
    for pfn in vm.pfns:
        if runs and runs[-1][0] + runs[-1][1] == pfn:
            runs[-1][1] += 1
        else:
            runs.append([pfn, 1])
    table = _vm_flag_table(k)
    return {
        "id": names.id("vmalloc", _area_key(vm)), "addr": hex(vm.addr), "size": vm.size,
        "flags": [n for n, bit in table.items() if vm.flags & bit], "caller": vm.caller or "",
        "nr_pages": vm.nr_pages, "phys_addr": hex(vm.phys_addr) if vm.phys_addr else None,
        "requested": vm.requested_size, "pages": runs,
    }


def vmalloc_section(k: Kernel, names: Names) -> dict[str, Any]:
    v = k.vmalloc_impl
    return {"start": hex(v.VMALLOC_START), "end": hex(v.VMALLOC_END),
            "areas": [vm_area_state(k, vm, names) for vm in _vm_areas(k)],
            "page_tables": len(v.pt.tables)}


# ============================================================================ the snapshot
def summary(k: Kernel, runs: list[int]) -> dict[str, Any]:
    pages = [0] * len(KINDS)
    for i in range(0, len(runs), 4):
        pages[runs[i + 2]] += runs[i + 1]
    return {"pages": dict(zip(KINDS, pages, strict=True)),
            "nr_free_pages": sum(z.free_pages for z in k.page_alloc.zones),
            "managed": sum(z.managed_pages for z in k.page_alloc.zones),
            "slab_caches": len(k.slab_impl.caches)}


def snapshot(k: Kernel, *, names: Names | None = None, objects: bool = True, fields: bool = True,
             dmesg_lines: int = 60) -> dict[str, Any]:
    """The machine now, as the explorer draws it (schema :data:`SCHEMA`, docs/explore.md).

    ``objects=False`` leaves out each slab's freelists (counts only); ``fields=False``
    the struct page field runs.  ``names`` is the id table (a new one if None)."""
    remember(k)
    own = names is None
    nm = names if names is not None else Names()
    mt = migratetype_names(k)
    pcp_order = _pcp_orders(k)
    runs = page_runs(k, nm)
    snap: dict[str, Any] = {
        "schema": SCHEMA,
        "machine": machine_state(k),
        "layout": layout_state(k.layout),
        "zones": [zone_state(z, mt, pcp_order) for z in k.page_alloc.zones],
        "pages": {"kinds": list(KINDS), "runs": runs,
                  "fields": field_runs(k) if fields else {},
                  "flag_names": page_flag_names(),
                  "reserved": [[r.start >> k.page_shift, -(-r.end >> k.page_shift), r.name]
                               for r in k.arch.setup.reserved]},
        "slab": slab_section(k, nm, objects),
        "vmalloc": vmalloc_section(k, nm),
        "summary": summary(k, runs),
        "dmesg": k.dmesg().splitlines()[-dmesg_lines:] if dmesg_lines else [],
    }
    if own:
        snap["names"] = nm.to_json()
    return snap
