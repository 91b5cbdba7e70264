"""kmemsim sweep: how its time scales with the workers of a local Dask cluster (1, then 2).

Eight replays (two traces of the corpus under a grid of four settings, slab_nomerge x
cpus), swept three ways in this run: in this process one after another (no Dask: the
anchor), then on a local cluster of 1 worker and of 2 workers.  Each figure is wall time
(the workers are other processes) and a ratio to the anchor: the cluster's startup (its
processes, the imports on each worker) apart, then the replays themselves; the speedup
of 2 workers over 1 on the replays is the scaling (the machine has os.cpu_count() CPUs;
load from other processes slows every figure).  Skipped without Dask (the sweep extra).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import peak_rss_mib  # noqa: E402

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus"
TRACES = [CORPUS / "compile" / "perf-script.txt.gz", CORPUS / "git" / "perf-script.txt.gz"]
GRID = ["slab_nomerge=0,1", "cpus=2,4"]


def main(out) -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        out("skipped: Dask is not installed (pip install 'kmemsim[sweep]')")
        return
    from kmemsim.trace.sweep import Task, parse_grid, run_task, settings, sweep

    axes = parse_grid(GRID)
    tasks = [Task(str(t), t.name, s) for t in TRACES for s in settings(axes)]
    run_task(tasks[0])  # imports, as the cluster's workers get before their tasks
    t = time.perf_counter()
    serial = [run_task(task) for task in tasks]
    t_serial = time.perf_counter() - t
    out(f"{len(tasks)} replays ({sum(r['events'] for r in serial):,} events), {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.1f}")
    out(f"anchor: in this process, one after another   {t_serial:7.2f} s")
    replays = {}
    for n in (1, 2):
        res = sweep([str(p) for p in TRACES], axes, workers=n)
        start = res.cluster["startup_seconds"]
        replays[n] = res.wall_seconds - start
        assert [r["slab_pages"] for r in res.rows] == [r["slab_pages"] for r in serial]
        out(f"local cluster of {n} worker{'s' if n > 1 else ' '}: startup {start:6.2f} s, replays {replays[n]:6.2f} s "
            f"= {replays[n] / t_serial:5.2f} x the anchor; in all {res.wall_seconds / t_serial:5.2f} x")
    out(f"2 workers against 1, replays: {replays[1] / replays[2]:5.2f} x as fast")
    out(f"peak RSS of this process                   {peak_rss_mib():7.1f} MiB")


if __name__ == "__main__":
    main(print)
