"""``kmemsim sweep``: many traces replayed under a grid of settings, in parallel on Dask
(:mod:`kmemsim.trace.sweep`)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from kmemsim.errors import KmemsimError

__all__ = ["sweep"]


@click.command("sweep")
@click.option("--grid", "grids", multiple=True, metavar="NAME=V1,V2",
              help="An axis of the grid: profile, ram, cpus or a tunable (kmemsim profiles), with its values; "
              "repeat for more axes (every combination is replayed).  A value with a comma goes in double "
              "quotes.")  # fmt: skip
@click.option("--host", default=None, metavar="SNAPSHOT",
              help="Boot every machine from this host snapshot (kmemsim snapshot); the grid changes it.")
@click.option("--workers", type=int, default=None, metavar="N",
              help="Processes of the local Dask cluster (default: the CPUs, at most one per replay).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run on the existing Dask cluster whose scheduler is at ADDRESS (tcp://host:port) instead; "
              "its workers must import this kmemsim and read the same paths.")  # fmt: skip
@click.option("--timeout", type=float, default=10.0, show_default=True, metavar="SECONDS",
              help="How long to wait for --scheduler to answer.")
@click.option("--json", "as_json", is_flag=True, help="The rows as JSON (schema kmemsim-sweep/1, docs/performance.md).")
@click.option("--csv", "as_csv", is_flag=True, help="The rows as CSV, one line per trace and setting.")
@click.option("--progress/--no-progress", default=None,
              help="A line on stderr per finished replay (default: when stderr is a terminal).")
@click.argument("traces", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="TRACE...")
def sweep(grids: tuple[str, ...], host: str | None, workers: int | None, scheduler: str | None, timeout: float,
          as_json: bool, as_csv: bool, progress: bool | None, traces: tuple[str, ...]) -> None:
    """Replay every TRACE under every combination of the --grid values, in parallel on Dask
    (pip install 'kmemsim[sweep]'), and print one row per trace and setting: footprint,
    slab pages and utilisation, fragmentation, bytes_alloc mismatches, the replay's counts
    and k.check().  Example: kmemsim sweep a.txt.gz b.txt.gz --grid slab_nomerge=0,1
    --grid cpus=2,8 --workers 2."""
    from kmemsim.trace.sweep import parse_grid
    from kmemsim.trace.sweep import sweep as run_sweep

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    show = sys.stderr.isatty() if progress is None else progress

    def report(done: int, total: int, row: dict[str, Any]) -> None:
        what = " ".join(f"{k}={v}" for k, v in row.items() if k not in ("trace",) and k in axis_names)
        status = row.get("status") if row.get("status") != "ok" else f"{row.get('seconds')} s"
        click.echo(f"kmemsim sweep: {done}/{total} {Path(str(row['trace'])).name} {what} ({status})", err=True)

    try:
        axes = parse_grid(grids)
        axis_names = {a.name for a in axes}
        res = run_sweep(traces, axes, host=host, workers=workers, scheduler=scheduler, timeout=timeout,
                        progress=report if show else None)  # fmt: skip
    except KmemsimError as e:
        raise click.ClickException(str(e)) from None
    if as_json:
        sys.stdout.write(res.to_json())
    elif as_csv:
        sys.stdout.write(res.to_csv())
    else:
        sys.stdout.write(res.table())
