#!/usr/bin/env python3
"""The fast paths of two source trees, before and after: interleaved runs, medians.

    python3 benchmarks/compare_trees.py BEFORE_SRC [AFTER_SRC] [--rounds N]

e.g. ``git worktree add --detach /tmp/base 94f4fa7`` then
``python3 benchmarks/compare_trees.py /tmp/base/src`` (AFTER_SRC defaults to this
checkout's ``src``).  Each round starts one fresh interpreter per tree, BEFORE then AFTER
(the order alternates from round to round), importing kmemsim from that tree only; each
measures, interleaved in-process and best of 5 (CPU time), pairs per second of:
kmalloc(64)/kfree, order-0 and order-3 get_free_pages/free_pages, and the anchor, a
minimal Python free list.  The report gives each figure's median over the rounds, for
each tree, as pairs/s and as a ratio to the free list of its own process, and the
after/before ratio of the medians.  The GFP mask is the machine's int (``k.gfp.GFP_KERNEL``
where the tree has it, else ``kmemsim.gfp.GFP_KERNEL``): the same call on both trees.
Not run by ``dev.py bench`` (it needs a second tree).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from common import floor_fn
import kmemsim
k = kmemsim.boot(ram="4G")
g = getattr(getattr(k, "gfp", None), "GFP_KERNEL", None)
if not isinstance(g, int):
    import kmemsim.gfp
    g = kmemsim.gfp.GFP_KERNEL
kmalloc, kfree, get, free = k.kmalloc, k.kfree, k.get_free_pages, k.free_pages
def kpair(n):
    for _ in range(n):
        kfree(kmalloc(64, g))
def o0(n):
    for _ in range(n):
        free(get(g, 0), 0)
def o3(n):
    for _ in range(n):
        free(get(g, 3), 3)
fns = {"floor": (floor_fn(), 400_000), "kmalloc64": (kpair, 40_000), "order0": (o0, 40_000), "order3": (o3, 40_000)}
for name, (fn, n) in fns.items():
    fn(1000)
best = dict.fromkeys(fns, float("inf"))
for _ in range(5):
    for name, (fn, n) in fns.items():
        t = time.process_time()
        fn(n)
        best[name] = min(best[name], time.process_time() - t)
k.check()
print(json.dumps({name: fns[name][1] / best[name] for name in fns}))
"""

FIGURES = (("kmalloc64", "kmalloc(64)/kfree"), ("order0", "order-0 get/free_pages"),
           ("order3", "order-3 get/free_pages"))


def measure(src: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(src))
    r = subprocess.run([sys.executable, "-c", CHILD, str(HERE)], env=env, capture_output=True, text=True, check=True,
                       cwd=str(src.parent))  # fmt: skip
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path, help="the src directory of the tree before")
    ap.add_argument("after", type=Path, nargs="?", default=HERE.parent / "src", help="the src directory after")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args(argv)
    runs: dict[str, list[dict[str, float]]] = {"before": [], "after": []}
    for i in range(a.rounds):
        order = (("before", a.before), ("after", a.after)) if i % 2 == 0 else (("after", a.after), ("before", a.before))
        for name, src in order:
            runs[name].append(measure(src.resolve()))
        print(f"round {i + 1}/{a.rounds} done", file=sys.stderr)
    med = {side: {f: statistics.median(r[f] for r in rs) for f in ("floor", *(f for f, _ in FIGURES))}
           for side, rs in runs.items()}  # fmt: skip
    rel = {side: {f: statistics.median(r[f] / r["floor"] for r in rs) for f, _ in FIGURES} for side, rs in runs.items()}
    print(f"before: {a.before}\nafter:  {a.after}\nmedians of {a.rounds} interleaved rounds (fresh interpreters; "
          "in each, best of 5, CPU time)\n")
    print(f"{'':<26} {'before':>12} {'after':>12} {'after/before':>13}   {'x free list: before':>20} {'after':>7}")
    print(f"{'free list (anchor)':<26} {med['before']['floor']:12,.0f} {med['after']['floor']:12,.0f} "
          f"{med['after']['floor'] / med['before']['floor']:13.2f}")
    for f, label in FIGURES:
        b, af = med["before"][f], med["after"][f]
        print(f"{label:<26} {b:12,.0f} {af:12,.0f} {af / b:13.2f}   {rel['before'][f]:20.4f} {rel['after'][f]:7.4f}")
    print(f"\norder-3 / order-0: before {statistics.median(r['order3'] / r['order0'] for r in runs['before']):.3f}, "
          f"after {statistics.median(r['order3'] / r['order0'] for r in runs['after']):.3f} (medians of the per-run "
          "ratios)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
