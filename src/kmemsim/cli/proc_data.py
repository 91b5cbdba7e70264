"""``kmemsim proc --json`` and ``--csv``: the /proc files as data (schema ``kmemsim-proc/1``).

The parsers read the *text* of a file as the kernel prints it, so they serve a booted
machine and a host snapshot alike.  ``docs/proc-json.md`` documents the schema; a change
to it that is not an addition raises :data:`SCHEMA`'s version.

Every document is ``{"schema": "kmemsim-proc/1", "file": "/proc/NAME", "profile": ...,
"kernel": ..., "kind": KIND, ...}`` with, by kind:

* ``"keyvalue"`` (meminfo, vmstat): ``"values"`` {name: int} and, for meminfo, ``"units"``
  {name: "kB"} for the fields the kernel prints in kB;
* ``"table"`` (buddyinfo, pagetypeinfo's free lists, slabinfo, vmallocinfo, iomem):
  ``"columns"`` and ``"rows"`` (a list of objects with those keys);
* ``"zones"`` (zoneinfo): ``"zones"``, one object per zone: ``node``, ``zone``,
  ``per_node_stats`` (the node's counters, printed in its first zone), ``values``
  {name: int}, ``protection`` [int], ``pagesets`` [{cpu, count, high, batch, ...}];
* ``"text"`` (any other file): ``"lines"``.

``--csv`` writes the ``"table"`` kinds (and meminfo/vmstat as name,value[,unit] rows).
"""
from __future__ import annotations

import csv
import io
import re
from typing import Any

from kmemsim.errors import UsageError

SCHEMA = "kmemsim-proc/1"

_ZONE = re.compile(r"^Node\s+(\d+),\s+zone\s+(\S+)")


def _num(s: str) -> int | str:
    try:
        return int(s, 0) if s.startswith("0x") else int(s)
    except ValueError:
        return s


def parse(name: str, text: str) -> dict[str, Any]:
    """The document of /proc/``name`` (or a debugfs path) from its ``text``."""
    fn = _PARSERS.get(name)
    if fn is None:
        return {"kind": "text", "lines": text.splitlines()}
    try:
        return fn(text)
    except (ValueError, IndexError) as e:
        raise UsageError(f"/proc/{name}: cannot parse its text ({e})") from None


def _meminfo(text: str) -> dict[str, Any]:
    values: dict[str, int | str] = {}
    units: dict[str, str] = {}
    for line in text.splitlines():
        key, colon, rest = line.partition(":")
        if not colon:
            continue
        parts = rest.split()
        values[key.strip()] = _num(parts[0]) if parts else ""
        if len(parts) > 1:
            units[key.strip()] = parts[1]
    return {"kind": "keyvalue", "values": values, "units": units}


def _vmstat(text: str) -> dict[str, Any]:
    values: dict[str, int | str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2:
            values[parts[0]] = _num(parts[1])
    return {"kind": "keyvalue", "values": values}


def _buddyinfo(text: str) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    width = 0
    for line in text.splitlines():
        m = _ZONE.match(line)
        if not m:
            continue
        counts = [int(x) for x in line[m.end():].split()]
        width = max(width, len(counts))
        rows.append({"node": int(m.group(1)), "zone": m.group(2), **{f"order{i}": n for i, n in enumerate(counts)}})
    return {"kind": "table", "columns": ["node", "zone", *(f"order{i}" for i in range(width))], "rows": rows}


def _pagetypeinfo(text: str) -> dict[str, Any]:
    rows = []
    blocks = []
    out: dict[str, Any] = {"kind": "table"}
    width = 0
    types: list[str] = []
    for line in text.splitlines():
        if line.startswith("Page block order:"):
            out["pageblock_order"] = int(line.split(":")[1])
        elif line.startswith("Pages per block:"):
            out["pages_per_block"] = int(line.split(":")[1])
        elif line.startswith("Number of blocks type"):
            types = line.split()[4:]
        elif line.startswith("Node"):
            m = re.match(r"^Node\s+(\d+),\s+zone\s+(\S+),\s+type\s+(\S+)\s+(.*)$", line)
            if m:
                counts = [int(x) for x in m.group(4).split()]
                width = max(width, len(counts))
                rows.append({"node": int(m.group(1)), "zone": m.group(2), "type": m.group(3),
                             **{f"order{i}": n for i, n in enumerate(counts)}})
                continue
            m = _ZONE.match(line)
            if m and types:
                counts = [int(x) for x in line[m.end():].split()]
                blocks.append({"node": int(m.group(1)), "zone": m.group(2), **dict(zip(types, counts, strict=False))})
    out["columns"] = ["node", "zone", "type", *(f"order{i}" for i in range(width))]
    out["rows"] = rows
    out["blocks"] = {"columns": ["node", "zone", *types], "rows": blocks}
    return out


def _zoneinfo(text: str) -> dict[str, Any]:
    zones: list[dict[str, Any]] = []
    z: dict[str, Any] | None = None
    section = "values"
    pageset: dict[str, Any] | None = None
    for line in text.splitlines():
        m = _ZONE.match(line)
        if m:
            z = {"node": int(m.group(1)), "zone": m.group(2), "per_node_stats": {}, "values": {},
                 "protection": [], "pagesets": []}
            zones.append(z)
            section, pageset = "values", None
            continue
        if z is None or not line.strip():
            continue
        s = line.strip()
        if s == "per-node stats":
            section = "per_node_stats"
            continue
        if s == "pagesets":
            section = "pagesets"
            continue
        if s.startswith("protection:"):
            z["protection"] = [int(x) for x in s.partition(":")[2].strip(" ()").split(",") if x.strip()]
            section = "values"
            continue
        if s.startswith("pages free"):
            z["values"]["pages_free"] = int(s.split()[2])
            section = "values"
            continue
        key, colon, value = s.partition(":")
        if section == "pagesets" and colon and key == "cpu":
            parts = value.split()  # 2.6: "cpu: 0 pcp: 1" (the hot and the cold list)
            pageset = {"cpu": int(parts[0])}
            if len(parts) == 3 and parts[1] == "pcp:":
                pageset["pcp"] = int(parts[2])
            z["pagesets"].append(pageset)
            continue
        if section == "pagesets" and pageset is not None and colon and line.startswith("    "):
            if key.strip() in ("count", "high", "batch", "high_min", "high_max", "vm stats threshold"):
                pageset[key.strip().replace(" ", "_")] = _num(value.strip())
                continue
        if colon and not key.strip().count(" "):
            z["values"][key.strip()] = _num(value.strip())
            section = "values" if section == "pagesets" else section
            continue
        parts = s.split()
        if len(parts) == 2:
            target = z["per_node_stats"] if section == "per_node_stats" else z["values"]
            target[parts[0]] = _num(parts[1])
    return {"kind": "zones", "zones": zones}


def _slabinfo(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    version = lines[0].partition(":")[2].strip() if lines else ""
    columns = ["name", "active_objs", "num_objs", "objsize", "objperslab", "pagesperslab", "limit", "batchcount",
               "sharedfactor", "active_slabs", "num_slabs", "sharedavail"]
    rows = []
    for line in lines[1:]:
        if line.startswith("#") or not line.strip():
            continue
        parts = line.replace(":", " ").split()
        name = parts[0]
        nums = [p for p in parts[1:] if p not in ("tunables", "slabdata")]
        rows.append({"name": name, **dict(zip(columns[1:], (_num(x) for x in nums), strict=False))})
    return {"kind": "table", "version": version, "columns": columns, "rows": rows}


def _vmallocinfo(text: str) -> dict[str, Any]:
    rows = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 2 or "-" not in parts[0]:
            continue
        start, _, end = parts[0].partition("-")
        rows.append({"start": start, "end": end, "size": _num(parts[1]),
                     "caller": parts[2] if len(parts) > 2 else "", "flags": " ".join(parts[3:])})
    return {"kind": "table", "columns": ["start", "end", "size", "caller", "flags"], "rows": rows}


def _iomem(text: str) -> dict[str, Any]:
    rows = []
    for line in text.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        span, _, name = line.strip().partition(" : ")
        start, _, end = span.partition("-")
        rows.append({"start": start, "end": end, "name": name, "depth": depth})
    return {"kind": "table", "columns": ["start", "end", "name", "depth"], "rows": rows}


_PARSERS = {
    "meminfo": _meminfo,
    "vmstat": _vmstat,
    "buddyinfo": _buddyinfo,
    "pagetypeinfo": _pagetypeinfo,
    "zoneinfo": _zoneinfo,
    "slabinfo": _slabinfo,
    "vmallocinfo": _vmallocinfo,
    "iomem": _iomem,
}


def document(name: str, text: str, profile: str, kernel: str) -> dict[str, Any]:
    """The whole ``--json`` document."""
    path = name if name.startswith("/") else (f"/proc/{name}" if "/" not in name else f"/sys/kernel/debug/{name}")
    return {"schema": SCHEMA, "file": path, "profile": profile, "kernel": kernel, **parse(name, text)}


def to_csv(doc: dict[str, Any]) -> str:
    """The rows of a table-shaped document as CSV (a header line first)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    if doc["kind"] == "table":
        w.writerow(doc["columns"])
        for r in doc["rows"]:
            w.writerow([r.get(c, "") for c in doc["columns"]])
    elif doc["kind"] == "keyvalue":
        units = doc.get("units")
        w.writerow(["name", "value", "unit"] if units is not None else ["name", "value"])
        for k, v in doc["values"].items():
            w.writerow([k, v, units.get(k, "")] if units is not None else [k, v])
    else:
        raise UsageError(f"{doc['file']} is not table-shaped; --json gives it as data "
                         "(--csv takes buddyinfo, pagetypeinfo, slabinfo, vmallocinfo, iomem, meminfo, vmstat)")
    return out.getvalue()
