"""``kmemsim replay --json``/``--csv`` and ``kmemsim compare --json``/``--csv``: the
reports as data, schemas ``kmemsim-replay/1`` and ``kmemsim-compare/1``.

The numbers are the text report's: the same attributes and methods of
:class:`~kmemsim.trace.replay.Replay` (``events``, ``placed``, ``mismatches``,
``slab_pages_table``, ``model_slab_pages``, ``final`` ...) and of
:class:`~kmemsim.trace.replay.Comparison`.  ``docs/traces.md`` documents every key.  A
schema's version changes when a key changes meaning or goes away; new keys may come
within a version.  ``--csv`` is the same document as rows ``section,row,field,value``
(:func:`kmemsim.trace.stat_output.to_csv`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .stat_output import to_csv, to_json, trace_section

if TYPE_CHECKING:  # pragma: no cover
    from .parse import ParseStats
    from .replay import Comparison, Replay, Sample

__all__ = ["REPLAY_SCHEMA", "COMPARE_SCHEMA", "replay_document", "compare_document", "to_json", "to_csv"]

REPLAY_SCHEMA = "kmemsim-replay/1"
COMPARE_SCHEMA = "kmemsim-compare/1"


def _state(s: Sample, page_shift: int) -> dict[str, Any]:
    return {
        "slab_pages": s.slab_pages,
        "slab_kib": s.slab_pages << (page_shift - 10),
        "slab_caches": len(s.caches),
        "slab_objects": s.slab_objects,
        "slab_active": s.slab_active,
        "utilisation": round(s.utilisation, 6),
        "large_kmalloc_pages": s.large_pages,
        "replay_pages": s.replay_pages,
        "free_blocks": list(s.free_blocks),
        "extfrag_index": {z: list(v) for z, v in s.extfrag.items()},
        "unusable_index": {z: list(v) for z, v in s.unusable.items()},
        "cache_pages": dict(sorted(s.caches.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def _machine(r: Replay) -> dict[str, Any]:
    k = r.k
    return {
        "profile": k.profile.name,
        "ram_mib": k.ram >> 20,
        "cpus": len(k.cpus),
        "host_snapshot": r.host.source if r.host is not None else None,
        "managed_pages": sum(z.managed_pages for z in k.page_alloc.zones),
        "min_free_kbytes": k.page_alloc.min_free_kbytes,
    }


def replay_body(r: Replay, top: int = 15) -> dict[str, Any]:
    """One replay as data (everything but the schema and the trace)."""
    span = (r.last_ts - r.first_ts) / 1e9 if r.first_ts >= 0 else 0.0
    tr = sum(r.trace_slab_pages.values())
    mo = sum(r.model_slab_pages().values())
    final = r.final
    return {
        "machine": _machine(r),
        "events": {
            "total": r.n,
            "trace_seconds": round(span, 9),
            "by_kind": {kind: {"seen": r.events[kind], "replayed": r.placed.get(kind, 0)} for kind in sorted(r.events)},
        },
        "bytes_alloc_mismatches": r.mismatches,
        "mismatch_examples": [
            {"kind": m.kind, "ts_ns": m.ts, "cpu": m.cpu, "call_site": m.call_site, "name": m.name,
             "bytes_req": m.bytes_req, "gfp_flags": m.gfp_flags, "traced": m.traced, "model": m.model}
            for m in r.mismatch_examples
        ],  # fmt: skip
        "preexisting_frees": dict(sorted(r.preexisting.items())),
        "preexisting_frees_of_seeded_objects": r.preexisting_freed,
        "trace_failed": dict(sorted(r.trace_failed.items())),
        "model_failed": dict(sorted(r.model_failed.items())),
        "ignored": dict(sorted(r.ignored.items())),
        "null_frees": r.null_frees,
        "duplicate_kmallocs": r.duplicates,
        "implied_frees": {"total": r.implied_frees, "by": dict(r.implied_by.most_common())},
        "lost_events": r.lost_events,
        "lost_markers": r.lost_markers,
        "not_placed": [{"kind": kind, "reason": why, "count": n}
                       for (kind, why), n in sorted(r.unplaced.items(), key=lambda kv: (-kv[1], kv[0]))],
        "kernel_reports": dict(sorted(r.bugs.items())),
        "slab_pages": {
            "trace": tr,
            "model": mo,
            "ratio": round(mo / tr, 6) if tr else None,
            "caches": [{"cache": n, "trace": a, "model": b} for n, a, b in r.slab_pages_table(top)],
            "trace_large_kmalloc_pages": r.trace_large_pages,
            "trace_obj_exts_pages": r.obj_exts_pages,
            "trace_page_allocations_skipped": r.slab_pages_skipped,
            "trace_page_frees_skipped": r.slab_page_frees,
            "seeded_pages": r.seeded_pages,
        },
        "final": _state(final, r.k.page_shift),
        "samples": [
            {"events": s.events, "ts_ns": s.ts, "slab_pages": s.slab_pages, "large_kmalloc_pages": s.large_pages,
             "slab_objects": s.slab_objects, "slab_active": s.slab_active, "utilisation": round(s.utilisation, 6),
             "replay_pages": s.replay_pages}
            for s in r.samples
        ],  # fmt: skip
        "caches_made": dict(sorted(r.caches_made.items())),
        "check": {"ran": r.checked, "error": r.check_error},
    }


def replay_document(r: Replay, parse_stats: ParseStats | None = None, source: str | None = None,
                    top: int = 15) -> dict[str, Any]:
    """``kmemsim replay --json``: schema ``kmemsim-replay/1``."""
    doc: dict[str, Any] = {"schema": REPLAY_SCHEMA}
    t = trace_section(parse_stats, source)
    if t is not None:
        doc["trace"] = t
    doc.update(replay_body(r, top))
    return doc


def compare_document(c: Comparison, source: str | None = None, top: int = 15) -> dict[str, Any]:
    """``kmemsim compare --json``: schema ``kmemsim-compare/1``: both replays and B - A."""
    doc: dict[str, Any] = {"schema": COMPARE_SCHEMA}
    t = trace_section(c.parse_stats, source)
    if t is not None:
        doc["trace"] = t
    a, b = replay_body(c.a, top), replay_body(c.b, top)
    fa, fb = a["final"], b["final"]
    doc["labels"] = {"a": c.labels[0], "b": c.labels[1]}
    doc["a"] = a
    doc["b"] = b
    doc["difference"] = {
        key: (fb[key] - fa[key]) for key in ("slab_pages", "slab_kib", "slab_caches", "slab_objects", "slab_active",
                                             "large_kmalloc_pages", "replay_pages")
    }  # fmt: skip
    doc["difference"]["utilisation_points"] = round(100 * (fb["utilisation"] - fa["utilisation"]), 6)
    doc["differences"] = c.differences()
    doc["notes"] = list(c.notes)
    return doc
