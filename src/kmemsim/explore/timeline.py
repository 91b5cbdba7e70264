"""A replay as a timeline: the machine's snapshot every N events, stored as patches.

:func:`record` replays a kmem trace with :class:`kmemsim.trace.replay.Replay` and takes a
:func:`kmemsim.explore.state.snapshot` at each of the replay's own samples (every
``every`` events, thinned as the replay thins its samples).  The first sample is whole;
each later one is a patch against the one before (:func:`diff`), so a long replay of a
machine that changes a little at a time stays small: runs of pages, struct page fields,
caches and vmalloc areas are keyed (by pfn, by id) and only the changed ones are stored.
:func:`apply` undoes :func:`diff` (the page's script does the same in JavaScript).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .state import Names, snapshot

if TYPE_CHECKING:  # pragma: no cover
    from ..kernel import Kernel
    from ..trace.replay import Replay

__all__ = ["diff", "apply", "record", "Timeline"]

#: sections of a snapshot that never change during a replay (kept in the first sample only)
CONSTANT = ("schema", "machine", "layout")


def _rows(flat: list[Any], width: int) -> dict[Any, list[Any]]:
    return {flat[i]: flat[i:i + width] for i in range(0, len(flat), width)}


def _keyed_diff(old: dict[Any, Any], new: dict[Any, Any]) -> dict[str, Any] | None:
    dels = [key for key in old if key not in new]
    puts = [v for key, v in new.items() if old.get(key) != v]
    if not dels and not puts:
        return None
    return {"del": dels, "put": puts}


def _canon(v: Any) -> str:
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The patch that turns snapshot ``old`` into ``new`` (see the module docstring)."""
    p: dict[str, Any] = {}
    for key in ("zones", "summary", "dmesg"):
        if old.get(key) != new.get(key):
            p[key] = new.get(key)
    d = _keyed_diff(_rows(old["pages"]["runs"], 4), _rows(new["pages"]["runs"], 4))
    if d:
        p["runs"] = {"del": d["del"], "put": [x for row in d["put"] for x in row]}
    fields = {}
    for f, flat in new["pages"]["fields"].items():
        d = _keyed_diff(_rows(old["pages"]["fields"].get(f, []), 3), _rows(flat, 3))
        if d:
            fields[f] = {"del": d["del"], "put": [x for row in d["put"] for x in row]}
    if fields:
        p["fields"] = fields
    oc = {c["id"]: _canon(c) for c in old["slab"]["caches"]}
    nc = {c["id"]: c for c in new["slab"]["caches"]}
    dels = [i for i in oc if i not in nc]
    puts = [c for i, c in nc.items() if oc.get(i) != _canon(c)]
    if dels or puts:
        p["caches"] = {"del": dels, "put": puts, "order": list(nc)}
    ov = {a["id"]: a for a in old["vmalloc"]["areas"]}
    nv = {a["id"]: a for a in new["vmalloc"]["areas"]}
    d = _keyed_diff(ov, nv)
    if d or list(ov) != list(nv):
        p["areas"] = {"del": d["del"] if d else [], "put": d["put"] if d else [], "order": list(nv)}
    if old["vmalloc"].get("page_tables") != new["vmalloc"].get("page_tables"):
        p["page_tables"] = new["vmalloc"].get("page_tables")
    return p


def _apply_rows(flat: list[Any], patch: dict[str, Any], width: int) -> list[Any]:
    rows = _rows(flat, width)
    for key in patch["del"]:
        rows.pop(key, None)
    put = patch["put"]
    for i in range(0, len(put), width):
        rows[put[i]] = put[i:i + width]
    return [x for key in sorted(rows) for x in rows[key]]


def apply(old: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    """The snapshot ``p`` (a :func:`diff` of ``old``) describes."""
    new = dict(old)
    for key in ("zones", "summary", "dmesg"):
        if key in p:
            new[key] = p[key]
    pages = dict(old["pages"])
    if "runs" in p:
        pages["runs"] = _apply_rows(old["pages"]["runs"], p["runs"], 4)
    if "fields" in p:
        fields = dict(old["pages"]["fields"])
        for f, fp in p["fields"].items():
            fields[f] = _apply_rows(fields.get(f, []), fp, 3)
        pages["fields"] = fields
    new["pages"] = pages
    slab = dict(old["slab"])
    if "caches" in p:
        cs = {c["id"]: c for c in old["slab"]["caches"]}
        for i in p["caches"]["del"]:
            cs.pop(i, None)
        for c in p["caches"]["put"]:
            cs[c["id"]] = c
        slab["caches"] = [cs[i] for i in p["caches"]["order"]]
    new["slab"] = slab
    vm = dict(old["vmalloc"])
    if "areas" in p:
        a = {x["id"]: x for x in old["vmalloc"]["areas"]}
        for i in p["areas"]["del"]:
            a.pop(i, None)
        for x in p["areas"]["put"]:
            a[x["id"]] = x
        vm["areas"] = [a[i] for i in p["areas"]["order"]]
    if "page_tables" in p:
        vm["page_tables"] = p["page_tables"]
    new["vmalloc"] = vm
    return new


class Timeline:
    """The samples of one replay: ``(events so far, trace time, last events, snapshot)``."""

    def __init__(self) -> None:
        self.names = Names()
        self.samples: list[tuple[int, int, list[str], dict[str, Any]]] = []

    def to_json(self, replay: Replay | None = None, source: str = "", summary: str = "") -> dict[str, Any]:
        """The first snapshot whole, the others as patches; the replay's series for the chart."""
        out: list[dict[str, Any]] = []
        prev: dict[str, Any] | None = None
        for n, ts, events, snap in self.samples:
            item: dict[str, Any] = {"n": n, "ts": ts, "events": events}
            if prev is None:
                item["state"] = snap
            else:
                item["patch"] = diff(prev, snap)
            out.append(item)
            prev = snap
        series: dict[str, list[Any]] = {"n": [], "free": [], "slab": [], "allocated": [], "pcp": []}
        for n, _ts, _ev, snap in self.samples:
            pages = snap["summary"]["pages"]
            series["n"].append(n)
            series["free"].append(pages["free"])
            series["pcp"].append(pages["pcp"])
            series["slab"].append(pages["slab"] + pages["kmalloc-large"])
            series["allocated"].append(pages["allocated"] + pages["vmalloc"] + pages["pagetable"]
                                       + pages["pagecache"] + pages["anon"])
        return {"source": source, "events": replay.n if replay is not None else (self.samples[-1][0] if
                self.samples else 0), "samples": out, "series": series, "names": self.names.to_json(),
                "summary": summary}


def record(k: Kernel, events: Iterable[Any], *, every: int = 1000, max_samples: int = 200,
           last: int = 6, host: Any = None, check: bool = True) -> tuple[Replay, Timeline]:
    """Replay ``events`` (parsed records) into ``k`` and sample it every ``every`` events
    (at most ``max_samples`` samples: past it every other one is dropped and the
    interval doubles, as the replay does); each sample keeps the ``last`` events before it
    as ftrace text.  Returns the replay (finished; ``k.check()`` run when ``check``, its
    error kept in ``check_error``) and the timeline."""
    from ..errors import KmemsimError
    from ..trace.replay import Replay, ReplayOptions

    tl = Timeline()
    evs = events if isinstance(events, list) else list(events)

    def take(n: int, ts: int) -> None:
        if not tl.samples or tl.samples[-1][0] != n:
            tl.samples.append((n, ts, _lines(evs[max(0, n - last):n]), snapshot(k, names=tl.names)))

    class _Sampled(Replay):
        """The replay, taking an explorer snapshot at each of its samples."""

        def sample(self) -> Any:
            s = super().sample()
            if not self.finished:
                take(self.n, self.last_ts)
            return s

    r = _Sampled(k, host=host, options=ReplayOptions(sample_every=max(1, every), max_samples=max_samples))
    take(0, -1)
    r.feed(evs)
    r.finish(check=False)
    take(r.n, r.last_ts)
    keep = {s.events for s in r.samples} | {0, r.n}
    tl.samples = [s for s in tl.samples if s[0] in keep]
    if check:
        try:
            r.finish(check=True)
        except KmemsimError:
            pass  # kept in r.check_error
    return r, tl


def _lines(evs: list[Any]) -> list[str]:
    from ..tracepoints.emit import ftrace_line

    out = []
    for ev in evs:
        try:
            out.append(ftrace_line(ev))
        except (TypeError, ValueError):
            out.append(repr(ev))
    return out
