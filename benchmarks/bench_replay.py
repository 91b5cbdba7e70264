"""Replay: the whole `kmemsim replay --host` process beside `perf kmem stat` on the same recording; peak RSS.

- As root with perf: a workload (bench_trace's: a directory walk and a tar | gzip, about 137,000
  events; and three times over, 400,000+) is recorded now with ``perf kmem --slab --page record``
  just after a ``kmemsim snapshot`` of the host; then ``perf kmem -i F --slab --page stat`` and
  ``kmemsim replay TEXT --host SNAPSHOT`` (its ``perf script`` text) are timed as whole processes,
  best of 3 interleaved rounds: wall, CPU, peak RSS, and the ratio.  Without root or perf (or with
  KMEMSIM_BENCH_QUICK=1) that part says so.
- The stored recordings of /work/corpus-big (big-137k, big-mixed; not in git) and, always, the
  largest committed corpus trace: the replay's whole process (wall, CPU, peak RSS), booted from the
  recording's own snapshot.
- ``replay --report`` of a 2,000,000-event trace (the corpus traces concatenated, the time stamps
  moved on): peak RSS (target: under 300 MB; the events stream, they are not kept).
"""
from __future__ import annotations

import gzip
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CORPUS = REPO / "tests" / "data" / "corpus"
BIG = Path(os.environ.get("KMEMSIM_CORPUS_BIG", "/work/corpus-big"))


def _bench_trace():
    spec = importlib.util.spec_from_file_location("bench_trace", HERE / "bench_trace.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _fmt(r: tuple[float, float, int]) -> str:
    return f"{r[0]:.2f} s wall, {r[1]:.2f} s CPU, {r[2] / 1e6:.0f} MB"


def main(out) -> None:
    bt = _bench_trace()
    env = bt._env()
    km = bt._kmemsim_cmd()
    with tempfile.TemporaryDirectory(prefix="kmemsim-bench-replay-") as td:
        tmp = Path(td)
        _live(out, bt, env, km, tmp)
        _stored(out, bt, env, km)
        _report_rss(out, bt, env, km, tmp)


def _live(out, bt, env, km, tmp: Path) -> None:
    if os.environ.get("KMEMSIM_BENCH_QUICK") == "1" or os.geteuid() != 0 or not shutil.which("perf"):
        out("replay vs perf kmem stat on a fresh recording: skipped (needs root and perf; KMEMSIM_BENCH_QUICK unset)")
        return
    for label, times in (("~137k", 1), ("400k+", 3)):
        snap = tmp / f"snap-{times}"
        try:
            subprocess.run([*km, "snapshot", "-o", str(snap), "--tar"], env=env, check=True, capture_output=True,
                           timeout=600)  # fmt: skip
            data, text, n = bt._record(tmp, f"rep{times}", "; ".join([bt.WORKLOAD] * times), env)
        except (subprocess.SubprocessError, OSError, AssertionError) as e:
            out(f"replay vs perf kmem stat ({label}): recording failed: {e}")
            return
        perf = shutil.which("perf")
        cmds = {"perf": [perf, "kmem", "-i", str(data), "--slab", "--page", "stat"],
                "replay": [*km, "replay", str(text), "--host", f"{snap}.tar.gz", "--every", "0"]}  # fmt: skip
        try:
            got = bt._rounds(cmds, env, 3)
        except RuntimeError as e:
            out(f"replay vs perf kmem stat ({label}): {e}")
            return
        p, r = got["perf"], got["replay"]
        out(f"{n:,} lines ({label}): perf kmem stat {_fmt(p)}; kmemsim replay --host {_fmt(r)}; "
            f"ratio {r[0] / p[0]:.1f}x wall, {r[1] / p[1]:.1f}x CPU, {r[2] / p[2]:.2f}x RSS (target: 2x wall)")


def _stored(out, bt, env, km) -> None:
    runs = []
    for name in ("big-137k", "big-mixed"):
        d = BIG / name
        if (d / "trace.txt.gz").exists() and (d / "snapshot.tar.gz").exists():
            runs.append((name, d))
    if not runs:
        out(f"stored big recordings: none in {BIG}")
    runs.append(("corpus memcg-oom", CORPUS / "memcg-oom"))
    for name, d in runs:
        res = bt._run([*km, "replay", str(d / "trace.txt.gz"), "--host", str(d / "snapshot.tar.gz"), "--every", "0"],
                      env)  # fmt: skip
        with gzip.open(d / "trace.txt.gz", "rb") as f:
            n = sum(1 for ln in f if not ln.startswith(b"#"))
        out(f"{name}: {n:,} events, kmemsim replay --host: {_fmt(res)} ({n / res[0]:,.0f} events/s whole process)")


def _report_rss(out, bt, env, km, tmp: Path, target: int = 2_000_000) -> None:
    """Concatenate the corpus's ftrace texts (time stamps shifted so they keep rising) to ``target`` events."""
    big = tmp / "2m.txt"
    n = 0
    shift = 0.0
    ts = re.compile(rb"(\] [.\w]{4,5}\s+)(\d+\.\d+)(: )")
    with open(big, "wb") as f:
        while n < target:
            for d in sorted(CORPUS.iterdir()):
                tr = d / "trace.txt.gz"
                if not tr.exists() or n >= target:
                    continue
                last = 0.0
                with gzip.open(tr, "rb") as g:
                    for ln in g:
                        if ln.startswith(b"#"):
                            continue
                        m = ts.search(ln)
                        if m is None:
                            continue
                        t = float(m.group(2)) + shift
                        last = t
                        f.write(ln[: m.start(2)] + f"{t:.6f}".encode() + ln[m.end(2):])
                        n += 1
                        if n >= target:
                            break
                shift = last + 1.0
    report = tmp / "r.html"
    res = bt._run([*km, "replay", str(big), "--report", str(report), "--every", "2000"], env)
    ok = "under" if res[2] < 300e6 else "OVER"
    out(f"replay --report of {n:,} events (the corpus concatenated, fresh boot): {_fmt(res)}; peak RSS {ok} 300 MB")


if __name__ == "__main__":
    main(print)
    sys.exit(0)
