"""``kmemsim stat --json`` and ``--csv``: the report as data, schema ``kmemsim-stat/1``.

The numbers are the text report's, computed by the same methods of
:class:`~kmemsim.trace.stat.KmemStat` (``slab_summary``, ``slab_table``, ``page_summary``,
``page_table``, ``beyond_summary``, ``waste_table``, ``lifetime_table``, ``leaks_table``);
``docs/traces.md`` documents every key.  The schema's version changes when a key changes
meaning or goes away; new keys may be added within a version.

``--csv`` writes the same document flattened into rows ``section,row,field,value`` (one
value a row: a long table any spreadsheet or ``pandas.pivot`` turns back into wide tables).
"""
from __future__ import annotations

import csv
import io
import json
from typing import Any

from .parse import ParseStats
from .stat import KmemStat

__all__ = ["SCHEMA", "stat_document", "to_json", "to_csv"]

#: the schema's name and version
SCHEMA = "kmemsim-stat/1"


def trace_section(ps: ParseStats | None, source: str | None) -> dict[str, Any] | None:
    """What the reader saw: the ``trace`` key of ``kmemsim-stat/1`` (and of replay's and
    compare's documents)."""
    if ps is None:
        return None
    return {
        "file": source,
        "format": ps.format,
        "compression": ps.compression or None,
        "lines": ps.lines,
        "events": dict(sorted(ps.events.items())),
        "unknown_events": dict(sorted(ps.unknown.items())),
        "lost_events": ps.lost_events,
        "lost_markers": ps.lost_markers,
        "overwritten": ps.overwritten,
        "malformed_lines": ps.malformed,
        "malformed_examples": [{"line": n, "reason": r} for n, r in ps.malformed_examples],
        "damage": ps.damage,
    }


def stat_document(st: KmemStat, parse_stats: ParseStats | None = None, source: str | None = None) -> dict[str, Any]:
    """The report of ``st`` as a JSON-able dict (see the module's doc and docs/traces.md)."""
    o = st.opts
    doc: dict[str, Any] = {"schema": SCHEMA}
    if parse_stats is not None:
        doc["trace"] = trace_section(parse_stats, source)
    doc["options"] = {
        "slab": o.slab, "page": o.page, "caller": o.caller, "alloc": o.alloc, "live": o.live,
        "slab_caller_sort": o.slab_caller_sort, "slab_alloc_sort": o.slab_alloc_sort,
        "page_caller_sort": o.page_caller_sort, "page_alloc_sort": o.page_alloc_sort,
        "caller_lines": o.caller_lines, "alloc_lines": o.alloc_lines,
        "time_ns": list(o.time), "page_size": o.page_size, "cpu_nodes": {str(k): v for k, v in o.cpu_nodes.items()},
        "migratetypes": o.migratetypes, "perf_only": o.perf_only,
    }  # fmt: skip
    if o.slab:
        slab: dict[str, Any] = {"summary": st.slab_summary()}
        for caller, name in ((True, "callers"), (False, "allocations")):
            if (o.caller if caller else o.alloc):
                rows, more = st.slab_table(caller)
                for r in rows:
                    r.pop("label", None)
                slab[name] = {"rows": rows, "more": more}
        doc["slab"] = slab
    if o.page:
        page: dict[str, Any] = {"summary": st.page_summary()}
        if o.caller or o.alloc:
            page["gfp_flags"] = st.gfp_flags()
        for caller, name in ((True, "callers"), (False, "allocations")):
            if (o.caller if caller else o.alloc):
                rows, more = st.page_table(caller)
                page[name] = {"rows": rows, "more": more}
        doc["page"] = page
    if not o.perf_only:
        beyond = st.beyond_summary()
        if o.slab and o.waste:
            beyond["waste"] = st.waste_table()
        if o.slab and o.lifetime:
            beyond["lifetime"] = st.lifetime_table()
        if o.slab and o.leaks:
            beyond["leaks"] = st.leaks_table()
        doc["beyond_perf"] = beyond
    return doc


def to_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2) + "\n"


def _flatten(section: str, value: Any, rows: list[tuple[str, str, str, Any]], row: str = "") -> None:
    if isinstance(value, dict):
        if set(value) == {"columns", "rows"}:  # the order x migratetype table: a row per order
            for order, *counts in value["rows"]:
                for col, n in zip(value["columns"], counts, strict=True):
                    rows.append((section, str(order), col, n))
            return
        if set(value) == {"rows", "more"} and isinstance(value["rows"], list):
            for i, r in enumerate(value["rows"]):
                _flatten(section, r, rows, row=str(i))
            rows.append((section, "", "more", value["more"]))
            return
        for k, v in value.items():
            if isinstance(v, dict) and not row:
                _flatten(f"{section}.{k}" if section else k, v, rows)
            elif isinstance(v, list) and v and isinstance(v[0], dict):
                for i, r in enumerate(v):
                    _flatten(f"{section}.{k}" if section else k, r, rows, row=str(i))
            elif isinstance(v, dict):
                for k2, v2 in v.items():
                    rows.append((section, row, f"{k}.{k2}", v2))
            else:
                rows.append((section, row, k, ";".join(map(str, v)) if isinstance(v, list) else v))
        return
    rows.append((section, row, "value", value))


def to_csv(doc: dict[str, Any]) -> str:
    """The document as ``section,row,field,value`` rows (lists of frames or numbers joined by ``;``)."""
    rows: list[tuple[str, str, str, Any]] = []
    for key, value in doc.items():
        if key == "schema":
            rows.append(("", "", "schema", value))
        else:
            _flatten(key, value, rows)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(("section", "row", "field", "value"))
    for section, row, fld, value in rows:
        if isinstance(value, bool):
            value = "true" if value else "false"
        w.writerow((section, row, fld, "" if value is None else value))
    return buf.getvalue()
