"""The phases of one replay process, timed: imports, boot, Replay(), feed, finish (k.check()).

    python benchmarks/phases.py RECORDING SNAPSHOT               one process, one line
    python benchmarks/phases.py RECORDING SNAPSHOT --rounds 5    best of 5 fresh processes per phase

Time bytecode-cached imports (``env -u PYTHONDONTWRITEBYTECODE``: with that variable set every
import compiles from source).  ``fixed`` is everything but the events: imports + boot +
Replay() + finish.  ``parse`` is the trace read alone, after the replay (for scale).  The
snapshot cache (kmemsim.snapshot.cache_dir) is warm after the first round; KMEMSIM_CACHE=0
times the parse of the archive.
"""
import subprocess
import sys
import time


def one(rec: str, snap: str) -> None:
    t0 = time.perf_counter()
    from kmemsim.trace.parse import TraceReader
    from kmemsim.trace.replay import Replay, ReplayOptions, boot_machine
    t1 = time.perf_counter()
    k = boot_machine(host=snap)
    t2 = time.perf_counter()
    r = Replay(k, options=ReplayOptions(sample_every=0))
    t3 = time.perf_counter()
    r.feed(TraceReader(rec))
    t4 = time.perf_counter()
    r.finish()
    t5 = time.perf_counter()
    n = 0
    for b in TraceReader(rec).batches():
        n += len(b)
    t6 = time.perf_counter()
    print(f"imports {t1 - t0:.4f} boot {t2 - t1:.4f} init {t3 - t2:.4f} feed {t4 - t3:.4f} "
          f"finish {t5 - t4:.4f} parse {t6 - t5:.4f}")


def best(rec: str, snap: str, rounds: int) -> None:
    rows = []
    for _ in range(rounds):
        out = subprocess.run([sys.executable, __file__, rec, snap], capture_output=True, text=True, check=True).stdout
        f = out.split()
        rows.append({f[i]: float(f[i + 1]) for i in range(0, len(f), 2)})
    b = {key: min(r[key] for r in rows) for key in rows[0]}
    fixed = b["imports"] + b["boot"] + b["init"] + b["finish"]
    print(" ".join(f"{key} {v:.3f}" for key, v in b.items()) + f"  fixed {fixed:.3f}  (best of {rounds})")


if __name__ == "__main__":
    if "--rounds" in sys.argv:
        i = sys.argv.index("--rounds")
        best(sys.argv[1], sys.argv[2], int(sys.argv[i + 1]))
    else:
        one(sys.argv[1], sys.argv[2])
