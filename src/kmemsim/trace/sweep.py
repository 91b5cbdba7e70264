"""Replay many traces under a grid of settings, in parallel on Dask: ``kmemsim sweep``.

    >>> from kmemsim.trace.sweep import sweep, parse_grid
    >>> res = sweep(["a.txt.gz", "b.txt.gz"],                               # doctest: +SKIP
    ...             parse_grid(["profile=linux-6.18-x86_64", "slab_nomerge=0,1", "cpus=2,8"]),
    ...             workers=2)
    >>> print(res.table())                                                 # doctest: +SKIP

A *grid* is a list of axes, ``NAME=V1,V2,...`` each: ``profile``, ``ram``, ``cpus`` or any
tunable of ``kmemsim profiles`` (under its kernel name or an alias, e.g. ``slub_debug``).
The settings are every combination of one value per axis, the first axis varying
slowest; each trace is replayed once per setting, on a fresh machine booted with it
(``kmemsim.trace.replay.boot_machine``, ``on_bug="report"``, seed 0) -- or from a host
snapshot (``host``), whose zones, CPUs and sysctls the setting then modifies.  A value
that holds a comma is written in double quotes, as in CSV: ``failslab="1,100,0,2",0``.

Every (trace, setting) is one task on a Dask cluster: a ``distributed.LocalCluster`` of
``workers`` processes (one thread each: the replay is pure Python) or, with
``scheduler``, an existing cluster at that address, whose workers must import the same
kmemsim and read the same paths.  Each task boots, replays with
:func:`kmemsim.trace.replay.replay`, runs ``k.check()`` and sends back one row (a flat
dict, :data:`COLUMNS`) built from the replay engine's own summary
(``kmemsim.trace.replay_output.replay_body``, what ``kmemsim replay --json`` prints); a
task whose machine cannot boot or whose trace cannot be read gives a row with ``status``
``"error"`` and the message, and the sweep goes on.

The grid, the traces, the host snapshot and the scheduler are checked before any work
starts: a malformed axis, an unknown name, a value its tunable refuses for a profile of
the grid, a missing file, an unreachable scheduler (after ``timeout`` seconds) are a
:class:`~kmemsim.errors.ConfigError` naming the input.  Without Dask the sweep is a
ConfigError naming the extra to install: ``pip install 'kmemsim[sweep]'``.

The result (:class:`SweepResult`) prints as a table, and as JSON or CSV of schema
:data:`SCHEMA` (``docs/performance.md`` documents every column).
"""
from __future__ import annotations

import csv
import io
import itertools
import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, cast

from ..errors import ConfigError, KmemsimError

__all__ = ["SCHEMA", "COLUMNS", "Axis", "Task", "SweepResult", "parse_grid", "settings", "check_grid", "run_task",
           "sweep"]

#: the schema's name and version: a column that changes meaning or goes away makes version 2
SCHEMA = "kmemsim-sweep/1"

#: the axes that choose the machine rather than a tunable
MACHINE_AXES = ("profile", "ram", "cpus")

#: the columns of a row after the trace and the grid's axes, in order (docs/performance.md)
COLUMNS: tuple[str, ...] = (
    "status", "error", "profile", "ram_mib", "cpus",
    "events", "replayed", "trace_seconds",
    "bytes_alloc_mismatches", "preexisting_frees", "trace_failed", "model_failed", "not_placed",
    "implied_frees", "duplicates", "kernel_reports", "slab_pages_allocated_trace", "slab_pages_allocated_model",
    "slab_pages", "slab_kib", "slab_caches", "slab_objects", "slab_objects_active", "slab_utilisation_percent",
    "large_kmalloc_pages", "replay_pages", "footprint_pages", "footprint_kib", "peak_slab_pages",
    "free_pages", "managed_pages",
    "free_blocks_pageblock_plus", "unusable_index_3", "unusable_index_pageblock", "extfrag_index_pageblock",
    "check", "seconds",
)  # fmt: skip

#: the columns of the table, with their headings
_TABLE = (
    ("events", "events"), ("bytes_alloc_mismatches", "mismatch"), ("slab_pages", "slab pg"),
    ("slab_utilisation_percent", "util %"), ("footprint_pages", "footprint"), ("peak_slab_pages", "peak slab"),
    ("unusable_index_3", "unus[3]"), ("extfrag_index_pageblock", "extfrag[pb]"), ("check", "check"),
    ("seconds", "s"),
)  # fmt: skip


class Axis(NamedTuple):
    """One ``--grid NAME=V1,V2``: the name (a tunable under its canonical name) and its values."""

    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Task:
    """One replay of a sweep: what a worker needs (plain data: it crosses processes)."""

    trace: str  # the path the worker reads (absolute)
    label: str  # the trace as the user named it
    setting: tuple[tuple[str, str], ...]  # (axis, value) in the grid's order
    host: str | None = None


# ---------------------------------------------------------------------------- the grid


def _known_names() -> dict[str, str]:
    """Every name an axis may have -> its canonical name."""
    from ..profiles import TUNABLES

    names = {n: n for n in MACHINE_AXES}
    for t in TUNABLES.values():
        names[t.name] = t.name
        for a in t.aliases:
            names[a] = t.name
    return names


def parse_grid(specs: Iterable[str]) -> list[Axis]:
    """``NAME=V1,V2,...`` strings (``--grid``) -> the axes; a ConfigError names a bad one."""
    names = _known_names()
    axes: list[Axis] = []
    for spec in specs:
        text = str(spec)
        name, eq, rest = text.partition("=")
        name = name.strip()
        if not eq or not name:
            raise ConfigError(f"--grid {text!r}: expected NAME=V1,V2,... (e.g. slab_nomerge=0,1)")
        canon = names.get(name)
        if canon is None:
            from ..profiles import TUNABLES

            raise ConfigError(f"--grid {text!r}: unknown name {name!r}; an axis is profile, ram, cpus or a tunable "
                              f"(kmemsim profiles): {', '.join(sorted(TUNABLES))}")  # fmt: skip
        try:
            values = next(csv.reader([rest], skipinitialspace=True))
        except (csv.Error, StopIteration):
            values = []
        values = [v.strip() for v in values]
        if not values or any(v == "" for v in values):
            raise ConfigError(f"--grid {text!r}: every value must be non-empty (NAME=V1,V2; a value with a comma "
                              f"in double quotes)")  # fmt: skip
        dup = sorted({v for v in values if values.count(v) > 1})
        if dup:
            raise ConfigError(f"--grid {text!r}: {', '.join(dup)} listed twice")
        if any(a.name == canon for a in axes):
            raise ConfigError(f"--grid {text!r}: {canon} is already an axis; give its values in one --grid")
        axes.append(Axis(canon, tuple(values)))
    return axes


def settings(axes: Sequence[Axis]) -> list[tuple[tuple[str, str], ...]]:
    """Every combination of one value per axis, the first axis varying slowest (one empty
    setting when there is no axis: each trace replayed once on the default machine)."""
    return [tuple(zip((a.name for a in axes), combo, strict=True))
            for combo in itertools.product(*(a.values for a in axes))]  # fmt: skip


def _split(setting: Iterable[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(machine: profile/ram/cpus, tunables) of one setting."""
    mach: dict[str, Any] = {}
    tun: dict[str, Any] = {}
    for name, value in setting:
        if name == "cpus":
            mach["cpus"] = int(value)
        elif name in MACHINE_AXES:
            mach[name] = value
        else:
            tun[name] = value
    return mach, tun


def describe(setting: Iterable[tuple[str, str]]) -> str:
    """A setting as ``name=value name=value`` (``(default machine)`` when empty)."""
    text = " ".join(f"{n}={v}" for n, v in setting)
    return text or "(default machine)"


def check_grid(axes: Sequence[Axis], host: str | None = None) -> None:
    """Every setting of the grid names a machine kmemsim can boot, as far as can be told
    without booting: known profiles, sizes and CPU counts that parse, and each tunable's
    value accepted by its parser for the setting's profile (the boot itself may still refuse
    a machine, e.g. too little RAM: that row is then an error)."""
    import kmemsim

    from ..profiles import canonical_name, get_profile, profile_names, resolve_tunables
    from ..units import memparse

    for axis in axes:
        for v in axis.values:
            if axis.name == "profile" and v not in profile_names():  # names and aliases
                raise ConfigError(f"--grid profile={v}: unknown profile; known: {', '.join(profile_names())}")
            if axis.name == "profile" and host is not None and canonical_name(v) != kmemsim.DEFAULT_PROFILE:
                raise ConfigError(f"--grid profile={v}: --host boots {kmemsim.DEFAULT_PROFILE} (the snapshot's "
                                  "kernel); drop --host to sweep profiles")  # fmt: skip
            if axis.name == "cpus":
                try:
                    if int(v) < 1:
                        raise ValueError
                except ValueError:
                    raise ConfigError(f"--grid cpus={v}: expected a number of CPUs (1 or more)") from None
            if axis.name == "ram":
                memparse(v, f"--grid ram={v}")
    for setting in settings(axes):
        mach, tun = _split(setting)
        profile = get_profile(mach.get("profile", kmemsim.DEFAULT_PROFILE))
        try:
            resolve_tunables(profile, tun)
        except ConfigError as e:
            raise ConfigError(f"--grid: the setting {describe(setting)}: {e}") from None


# ---------------------------------------------------------------------------- one task


class _Blocks(NamedTuple):
    nr_free: tuple[int, ...]  # what mm/vmstat's indices read of a zone


def _indices(free_blocks: tuple[int, ...], pageblock_order: int) -> dict[str, float | int]:
    """Machine-wide fragmentation: the free blocks of all zones as one zone (mm/vmstat.c's
    unusable_free_index and __fragmentation_index, as /sys/kernel/debug/extfrag prints them)."""
    from ..mm.vmstat import fragmentation_index, unusable_free_index

    z = cast(Any, _Blocks(tuple(free_blocks)))
    return {
        "free_blocks_pageblock_plus": sum(free_blocks[pageblock_order:]),
        "unusable_index_3": unusable_free_index(z, 3) / 1000,
        "unusable_index_pageblock": unusable_free_index(z, pageblock_order) / 1000,
        "extfrag_index_pageblock": fragmentation_index(z, pageblock_order) / 1000,
    }


def row_of(r: Any) -> dict[str, Any]:
    """The result columns of a finished :class:`~kmemsim.trace.replay.Replay`, from the replay
    engine's own summary (``kmemsim.trace.replay_output.replay_body``: the numbers of ``kmemsim
    replay --json``) and the machine's NR_FREE_PAGES."""
    from .replay_output import replay_body

    body = replay_body(r, top=0)
    m, ev, f = body["machine"], body["events"], body["final"]
    shift = r.k.page_shift - 10
    footprint = f["slab_pages"] + f["large_kmalloc_pages"] + f["replay_pages"]
    row: dict[str, Any] = {
        "profile": m["profile"],
        "ram_mib": m["ram_mib"],
        "cpus": m["cpus"],
        "events": ev["total"],
        "replayed": sum(v["replayed"] for v in ev["by_kind"].values()),
        "trace_seconds": ev["trace_seconds"],
        "bytes_alloc_mismatches": body["bytes_alloc_mismatches"],
        "preexisting_frees": sum(body["preexisting_frees"].values()),
        "trace_failed": sum(body["trace_failed"].values()),
        "model_failed": sum(body["model_failed"].values()),
        "not_placed": sum(x["count"] for x in body["not_placed"]),
        "implied_frees": body["implied_frees"]["total"],
        "duplicates": body["duplicate_kmallocs"],
        "kernel_reports": sum(body["kernel_reports"].values()),
        "slab_pages_allocated_trace": body["slab_pages"]["trace"],
        "slab_pages_allocated_model": body["slab_pages"]["model"],
        "slab_pages": f["slab_pages"],
        "slab_kib": f["slab_kib"],
        "slab_caches": f["slab_caches"],
        "slab_objects": f["slab_objects"],
        "slab_objects_active": f["slab_active"],
        "slab_utilisation_percent": round(100 * f["utilisation"], 2),
        "large_kmalloc_pages": f["large_kmalloc_pages"],
        "replay_pages": f["replay_pages"],
        "footprint_pages": footprint,
        "footprint_kib": footprint << shift,
        "peak_slab_pages": max((x["slab_pages"] for x in body["samples"]), default=f["slab_pages"]),
        "free_pages": r.k.nr_free_pages(),
        "managed_pages": m["managed_pages"],
    }
    row.update(_indices(tuple(f["free_blocks"]), r.k.page_alloc.pageblock_order))
    return row


def columns(axis_names: Iterable[str]) -> list[str]:
    """The columns of a sweep's rows: the trace, the axes (their values as given), then
    :data:`COLUMNS` less those an axis already is (``profile``, ``cpus``)."""
    names = list(axis_names)
    return ["trace", *names, *(c for c in COLUMNS if c not in names)]


def _error_row(e: BaseException, t0: float) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(status="error", error=f"{type(e).__name__}: {e}", seconds=round(time.perf_counter() - t0, 3))
    return row


def run_task(task: Task) -> dict[str, Any]:
    """Boot the task's machine, replay its trace, check: the row (runs on a worker).  A
    machine that cannot boot, a trace that cannot be read (or anything else the replay
    raises) gives an error row; a failed ``k.check()`` is the ``check`` column."""
    from .replay import ReplayOptions, boot_machine, replay

    t0 = time.perf_counter()
    mach, tun = _split(task.setting)
    try:
        k = boot_machine(host=task.host, tunables=tun, **mach)
        r = replay(task.trace, k=k, options=ReplayOptions(), check=False)
        try:
            r.finish(check=True)
        except KmemsimError:
            pass  # kept in r.check_error
        row = {"status": "ok", "error": None, **row_of(r),
               "check": "clean" if r.check_error is None else f"FAILED: {r.check_error}",
               "seconds": round(time.perf_counter() - t0, 3)}  # fmt: skip
    except Exception as e:  # noqa: BLE001 - one bad task is one error row; the sweep goes on
        row = _error_row(e, t0)
    row.update({"trace": task.label, **dict(task.setting)})
    return {c: row.get(c) for c in columns(n for n, _ in task.setting)}


# ---------------------------------------------------------------------------- the sweep


@dataclass
class SweepResult:
    """The rows of a sweep, in trace-then-setting order, and how they were made."""

    axes: list[Axis]
    traces: list[str]
    host: str | None
    rows: list[dict[str, Any]]
    cluster: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0

    @property
    def columns(self) -> list[str]:
        return columns(a.name for a in self.axes)

    def document(self) -> dict[str, Any]:
        """The sweep as a JSON-able dict, schema :data:`SCHEMA`."""
        import kmemsim

        return {
            "schema": SCHEMA,
            "kmemsim_version": kmemsim.__version__,
            "traces": list(self.traces),
            "host": self.host,
            "grid": [{"name": a.name, "values": list(a.values)} for a in self.axes],
            "cluster": dict(self.cluster),
            "wall_seconds": round(self.wall_seconds, 3),
            "columns": self.columns,
            "rows": self.rows,
        }

    def to_json(self) -> str:
        return json.dumps(self.document(), indent=2) + "\n"

    def to_csv(self) -> str:
        """One line per row, the columns of :attr:`columns` (null is empty)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        cols = self.columns
        w.writerow(cols)
        for r in self.rows:
            w.writerow(["" if r.get(c) is None else r.get(c) for c in cols])
        return buf.getvalue()

    def table(self) -> str:
        """The rows as a text table: the trace, the axes, the headline columns (an error row:
        its message after the axes)."""
        head = ["trace", *(a.name for a in self.axes), *(h for _, h in _TABLE)]
        nleft = 1 + len(self.axes)
        body: list[tuple[list[str], str | None]] = []
        for r in self.rows:
            cells = [Path(str(r["trace"])).name, *(str(r.get(a.name)) for a in self.axes)]
            if r.get("status") != "ok":
                body.append((cells, f"error: {r.get('error')}"))
                continue
            for key, _ in _TABLE:
                v = r.get(key)
                if key == "check":
                    v = "clean" if v == "clean" else "FAILED"
                elif isinstance(v, float):
                    v = f"{v:.3f}" if key.startswith(("unusable", "extfrag")) else f"{v:.1f}"
                cells.append(str(v))
            body.append((cells, None))
        widths = [len(h) for h in head]
        for cells, _ in body:
            for i, c in enumerate(cells):
                widths[i] = max(widths[i], len(c))
        out = []
        for cells, error in [(head, None), *body]:
            parts = [c.ljust(widths[i]) if i < nleft else c.rjust(widths[i]) for i, c in enumerate(cells)]
            out.append("  ".join(parts + ([error] if error else [])).rstrip())
        n_err = sum(1 for r in self.rows if r.get("status") != "ok")
        n_bad = sum(1 for r in self.rows if r.get("status") == "ok" and r.get("check") != "clean")
        nw = self.cluster.get("workers")
        where = self.cluster.get("scheduler") or f"a local cluster of {nw} worker{'s' * (nw != 1)}"
        nt, ns = len(self.traces), len(settings(self.axes))
        out.append(f"\n{len(self.rows)} replays ({nt} trace{'s' * (nt != 1)} x {ns} setting{'s' * (ns != 1)}) "
                   f"in {self.wall_seconds:.1f} s on {where}"
                   + (f"; {n_err} could not run" if n_err else "") + (f"; {n_bad} failed k.check()" if n_bad else ""))
        return "\n".join(out) + "\n"


def _warm() -> None:
    """Import what a task uses (on every worker, before the tasks): a row's seconds are then its replay's."""
    import kmemsim.kernel  # noqa: F401
    import kmemsim.trace.parse  # noqa: F401
    import kmemsim.trace.replay  # noqa: F401


def _dask() -> Any:
    """The Dask pieces a sweep uses, or a ConfigError naming the extra that brings them."""
    try:
        import distributed
    except ImportError as e:
        raise ConfigError(
            f"kmemsim sweep runs on Dask, which is not installed ({e.msg}): pip install 'kmemsim[sweep]' "
            "(dask and distributed)") from None
    return distributed


def sweep(
    traces: Sequence[str | Path],
    axes: Sequence[Axis],
    *,
    host: str | Path | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float = 10.0,
    progress: Callable[[int, int, dict[str, Any]], None] | None = None,
) -> SweepResult:
    """Replay every trace under every setting of ``axes`` on Dask (see the module's doc):
    a local cluster of ``workers`` processes (default: the CPUs, at most one per task), or
    the cluster whose scheduler is at ``scheduler``.  ``progress(done, total, row)`` is
    called as rows come in."""
    if not traces:
        raise ConfigError("kmemsim sweep: give at least one trace")
    if scheduler is not None and workers is not None:
        raise ConfigError("--workers starts a local cluster; --scheduler uses an existing one: give one of them")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers}: expected 1 or more")
    if timeout <= 0:
        raise ConfigError(f"--timeout {timeout}: expected a number of seconds above 0")
    paths = []
    for t in traces:
        p = Path(t)
        if not p.is_file():
            raise ConfigError(f"trace {t}: no such file")
        paths.append((str(p.resolve()), str(t)))
    host_path = None
    if host is not None:
        hp = Path(host)
        if not hp.exists():
            raise ConfigError(f"--host {host}: no such snapshot (a kmemsim snapshot directory or .tar.gz)")
        host_path = str(hp.resolve())
    check_grid(axes, host_path)
    tasks = [Task(path, label, s, host_path) for path, label in paths for s in settings(axes)]
    distributed = _dask()
    t0 = time.perf_counter()
    cluster_info: dict[str, Any]
    cluster = None
    if scheduler is not None:
        try:
            client = distributed.Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as e:
            raise ConfigError(f"--scheduler {scheduler}: no Dask scheduler answered within {timeout:g} s ({e})") \
                from None
        cluster_info = {"scheduler": scheduler, "workers": len(client.scheduler_info().get("workers", {}))}
    else:
        import logging

        n = workers if workers is not None else min(os.cpu_count() or 1, len(tasks))
        cluster = distributed.LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)  # fmt: skip
        client = distributed.Client(cluster)
        cluster_info = {"scheduler": None, "workers": n}
    try:
        client.run(_warm)
        cluster_info["startup_seconds"] = round(time.perf_counter() - t0, 3)
        futures = client.map(run_task, tasks, pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        rows: list[dict[str, Any] | None] = [None] * len(tasks)
        for done, fut in enumerate(distributed.as_completed(futures), 1):
            i = index[fut.key]
            try:
                row = fut.result()
            except Exception as e:  # noqa: BLE001 - the worker died (KilledWorker ...): an error row
                failed = tasks[i]
                row = {**_error_row(e, t0), "seconds": None, "trace": failed.label, **dict(failed.setting)}
                row = {c: row.get(c) for c in columns(n for n, _ in failed.setting)}
            rows[i] = row
            if progress is not None:
                progress(done, len(tasks), row)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return SweepResult(list(axes), [label for _, label in paths], str(host) if host is not None else None,
                       [r for r in rows if r is not None], cluster_info, time.perf_counter() - t0)  # fmt: skip
