"""Traces: parse and parse+stat of a generated 1,000,000-line ftrace kmem trace (events/s).

The trace is generated (seeded) in the Linux 6.18 ftrace text format with the mix of
the reference host's real trace (tests/data/host-6.18/kmem-trace.txt.gz): about
26% kmalloc, 28% kfree, 17% kmem_cache_alloc, 14% kmem_cache_free, 8% mm_page_alloc,
7% mm_page_free, pointers reused as a slab reuses objects, two CPUs.  It is written
to a temporary file and read back through the gzip-transparent reader, as a user's
trace would be.  Target: parse+stat >= 300,000 events/s.

Beside it, when ``perf`` and the captured recording are there
(tests/data/trace/perf-kmem.data.xz, see its README), ``perf kmem stat`` and
``kmemsim stat`` on the same recording (perf reads perf.data, kmemsim its
``perf script`` text), as a ratio.  As root with perf, a fresh recording of
about 140,000 events is made in the same run (``perf kmem --slab --page record``
of a directory walk, a tar | gzip and ``ls -R /proc/sys``) and the two are timed on
it too: perf as a whole process, kmemsim in-process (parse + stat) and as the
``kmemsim stat`` command; without root or perf that part is skipped.

Replay (``kmemsim.trace.replay``): events/s of the replay alone (the events parsed
beforehand) and of parse + replay, on 200,000 events of the generated trace on a
fresh 4 GiB machine (sampling every 1000 events), and on the real capture with the
snapshot of its host.  Target: replay >= 300,000 events/s.
"""
from __future__ import annotations

import lzma
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO / "tests" / "data" / "trace"
N_LINES = 1_000_000

SITES_KMALLOC = [f"func_{i}+0x{(i * 37) % 0x200:x}/0x{0x200 + i:x}" for i in range(120)]
SITES_CACHE = [f"cache_user_{i}+0x{(i * 11) % 0x100:x}/0x{0x180 + i:x}" for i in range(60)]
SITES_FREE = [f"free_site_{i}+0x{(i * 13) % 0x100:x}/0x{0x140 + i:x}" for i in range(80)]
CACHES = [("maple_node", 256, 256), ("vm_area_struct", 192, 192), ("filp", 184, 192), ("dentry", 192, 192),
          ("buffer_head", 104, 104), ("names_cache", 4096, 4096)]  # fmt: skip
KMALLOC_SIZES = [(8, 8), (13, 16), (32, 32), (50, 64), (64, 64), (100, 128), (192, 192), (200, 256),
                 (500, 512), (1000, 1024), (3000, 4096)]  # fmt: skip
GFPS = ["GFP_KERNEL", "GFP_KERNEL|__GFP_ZERO", "GFP_KERNEL_ACCOUNT", "GFP_NOWAIT", "GFP_ATOMIC|__GFP_NOWARN"]
PAGE_GFPS = ["GFP_HIGHUSER_MOVABLE|__GFP_COMP", "GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP", "GFP_NOWAIT"]
COMMS = [("sh", 31488), ("python3", 31502), ("tar", 31577), ("gzip", 31578), ("kworker/1:2", 88)]


def generate(path: Path, n: int = N_LINES, seed: int = 7) -> int:
    """Write an n-event 6.18 ftrace text trace to ``path``; returns the byte size."""
    rng = random.Random(seed)
    live_slab: list[tuple[int, str, int]] = []  # (ptr, cache or "kfree", size class)
    free_lists: dict[int, list[int]] = {}  # size class -> freed addresses, reused LIFO as SLUB does
    live_pages: list[int] = []
    next_ptr = 0xFFFF888100000000
    next_pfn = 0x100000
    ts = 5_430_000_000_000

    def new_ptr(size: int) -> int:
        nonlocal next_ptr
        fl = free_lists.get(size)
        if fl and rng.random() < 0.9:
            return fl.pop()
        next_ptr += size
        return next_ptr

    with open(path, "w") as f:
        f.write("# tracer: nop\n#\n")
        out = []
        for _ in range(n):
            ts += rng.randrange(1, 40) * 1000
            cpu = rng.randrange(2)
            comm, pid = COMMS[rng.randrange(len(COMMS))]
            head = (f"{comm + '-' + str(pid):>16} [{cpu:03d}] ..... "
                    f"{ts // 1_000_000_000}.{ts % 1_000_000_000 // 1000:06d}: ")
            r = rng.random()
            if r < 0.43 or (r < 0.85 and not live_slab):
                if rng.random() < 0.6:
                    req, alloc = KMALLOC_SIZES[rng.randrange(len(KMALLOC_SIZES))]
                    ptr = new_ptr(alloc)
                    site = SITES_KMALLOC[rng.randrange(len(SITES_KMALLOC))]
                    out.append(f"{head}kmalloc: call_site={site} ptr={ptr & 0xFFFFFFFF:016x} bytes_req={req} "
                               f"bytes_alloc={alloc} gfp_flags={GFPS[rng.randrange(5)]} node=-1 accounted=false\n")
                    live_slab.append((ptr, "kfree", alloc))
                else:
                    name, req, alloc = CACHES[rng.randrange(len(CACHES))]
                    ptr = new_ptr(alloc)
                    site = SITES_CACHE[rng.randrange(len(SITES_CACHE))]
                    out.append(f"{head}kmem_cache_alloc: call_site={site} ptr={ptr & 0xFFFFFFFF:016x} name={name} "
                               f"bytes_req={req} bytes_alloc={alloc} gfp_flags=GFP_KERNEL node=-1 accounted=true\n")
                    live_slab.append((ptr, name, alloc))
            elif r < 0.85:
                i = len(live_slab) - 1 - min(int(rng.expovariate(0.05)), len(live_slab) - 1)  # mostly recent
                live_slab[i], live_slab[-1] = live_slab[-1], live_slab[i]
                ptr, kind, size = live_slab.pop()
                free_lists.setdefault(size, []).append(ptr)
                site = SITES_FREE[rng.randrange(len(SITES_FREE))]
                if kind == "kfree":
                    out.append(f"{head}kfree: call_site={site} ptr={ptr & 0xFFFFFFFF:016x}\n")
                else:
                    out.append(f"{head}kmem_cache_free: call_site={site} ptr={ptr & 0xFFFFFFFF:016x} name={kind}\n")
            elif r < 0.93 or not live_pages:
                order = 0 if rng.random() < 0.9 else rng.randrange(1, 4)
                next_pfn += 1 << order
                out.append(f"{head}mm_page_alloc: page={0xFFFFEA0000000000 + next_pfn * 64:016x} "
                           f"pfn=0x{next_pfn:x} order={order} migratetype={rng.randrange(3)} "
                           f"gfp_flags={PAGE_GFPS[rng.randrange(3)]}\n")
                live_pages.append(next_pfn)
            else:
                pfn = live_pages.pop(rng.randrange(len(live_pages)))
                out.append(f"{head}mm_page_free: page={0xFFFFEA0000000000 + pfn * 64:016x} pfn=0x{pfn:x} order=0\n")
            if len(out) >= 10000:
                f.writelines(out)
                out.clear()
        f.writelines(out)
    return path.stat().st_size


def _best(fn, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(out) -> None:
    sys.path.insert(0, str(REPO / "src"))
    from kmemsim.trace import KmemStat, StatOptions, TraceReader

    tmp = Path(tempfile.mkdtemp(prefix="kmemsim-bench-trace-"))
    try:
        path = tmp / "trace.txt"
        size = generate(path)
        n_events = sum(1 for _ in TraceReader(path))

        def parse_only() -> None:
            for _ in TraceReader(path):
                pass

        def parse_stat() -> None:
            KmemStat(StatOptions(slab=True, page=True)).process(TraceReader(path)).report()

        def parse_stat_all() -> None:
            opts = StatOptions(slab=True, page=True, caller=True, alloc=True, waste=True, lifetime=True, leaks=True)
            KmemStat(opts).process(TraceReader(path)).report()

        t_parse = _best(parse_only)
        t_stat = _best(parse_stat)
        t_all = _best(parse_stat_all, repeat=1)
        out(f"generated trace: {n_events:,} events, {size / 1e6:.0f} MB of ftrace text")
        out(f"parse                                     {n_events / t_parse:12,.0f} events/s")
        out(f"parse + stat (--slab --page)              {n_events / t_stat:12,.0f} events/s  (target 300,000)")
        out(f"parse + stat, every table and --waste     {n_events / t_all:12,.0f} events/s")
        _replay(out, tmp)
        _perf_beside(out, tmp, KmemStat, StatOptions, TraceReader)
        _perf_fresh(out, tmp, KmemStat, StatOptions, TraceReader)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _perf_beside(out, tmp: Path, KmemStat, StatOptions, TraceReader) -> None:  # noqa: N803
    data = DATA / "perf-kmem.data.xz"
    script = DATA / "perf-script.txt.gz"
    perf = shutil.which("perf")
    if not (perf and data.exists() and script.exists()):
        out("perf kmem stat beside: skipped (needs perf and tests/data/trace/perf-kmem.data.xz)")
        return
    pdata = tmp / "perf.data"
    pdata.write_bytes(lzma.decompress(data.read_bytes()))
    os.chmod(pdata, 0o600)
    cmd = [perf, "kmem", "-i", str(pdata), "--slab", "--page", "stat"]
    env = dict(os.environ, LC_ALL="C")

    def run_perf() -> None:
        subprocess.run(cmd, capture_output=True, check=True, env=env)

    def run_kmemsim() -> None:
        KmemStat(StatOptions(slab=True, page=True)).process(TraceReader(script)).report()

    try:
        run_perf()
    except (subprocess.CalledProcessError, OSError) as e:
        out(f"perf kmem stat beside: skipped ({e})")
        return
    n = sum(1 for _ in TraceReader(script))
    t_perf = _best(run_perf)
    t_ours = _best(run_kmemsim)
    out(f"same recording ({n:,} events): perf kmem stat {t_perf * 1e3:.0f} ms (whole process), "
        f"kmemsim {t_ours * 1e3:.0f} ms (parse + stat): {t_perf / t_ours:.2f}x perf's speed")


def _replay(out, tmp: Path) -> None:
    import kmemsim
    from kmemsim.trace import TraceReader
    from kmemsim.trace.replay import Replay

    path = tmp / "replay.txt"
    generate(path, n=200_000, seed=11)
    events = list(TraceReader(path))

    def run(evs) -> float:
        k = kmemsim.boot(ram="4G", on_bug="report")
        r = Replay(k)
        t = time.perf_counter()
        r.feed(evs)
        dt = time.perf_counter() - t
        r.finish()
        return dt

    t_replay = min(run(events) for _ in range(3))
    t_both = min(run(TraceReader(path)) for _ in range(2))
    out(f"replay (events parsed beforehand)         {len(events) / t_replay:12,.0f} events/s  (target 300,000)")
    out(f"parse + replay                            {len(events) / t_both:12,.0f} events/s")
    trace = REPO / "tests" / "data" / "host-6.18" / "kmem-trace.txt.gz"
    snap = REPO / "tests" / "data" / "host-6.18" / "snapshot.tar.gz"
    if trace.exists() and snap.exists():
        real = list(TraceReader(trace))
        best = float("inf")
        for _ in range(3):
            k = kmemsim.boot(host=str(snap), on_bug="report")
            r = Replay(k)
            t = time.perf_counter()
            r.feed(real)
            best = min(best, time.perf_counter() - t)
            r.finish()
        out(f"replay of the real capture ({len(real):,} events, host snapshot, bytes_alloc mismatches "
            f"{r.mismatches}): {len(real) / best:,.0f} events/s")


def _perf_fresh(out, tmp: Path, KmemStat, StatOptions, TraceReader) -> None:  # noqa: N803
    """A ~140,000-event perf kmem recording made now: perf kmem stat beside kmemsim stat."""
    perf = shutil.which("perf")
    if not perf or os.geteuid() != 0:
        out("fresh ~140,000-event recording: skipped (needs root and perf)")
        return
    pdata = tmp / "fresh.data"
    workload = ("find /usr -maxdepth 4 > /dev/null 2>&1; tar cf - /usr/share/doc/p* 2>/dev/null | gzip -1 > /dev/null; "
                "ls -R /proc/sys > /dev/null 2>&1")  # fmt: skip
    env = dict(os.environ, LC_ALL="C")
    try:
        subprocess.run([perf, "kmem", "--slab", "--page", "record", "-o", str(pdata), "--", "sh", "-c", workload],
                       capture_output=True, check=True, env=env, timeout=120)  # fmt: skip
        script = tmp / "fresh.txt"
        with open(script, "w") as f:
            subprocess.run([perf, "script", "-i", str(pdata), "-F", "comm,tid,cpu,time,event,trace"], stdout=f,
                           stderr=subprocess.DEVNULL, check=True, env=env, timeout=120)  # fmt: skip
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        out(f"fresh ~140,000-event recording: skipped ({e})")
        return
    cmd = [perf, "kmem", "-i", str(pdata), "--slab", "--page", "stat"]
    n = sum(1 for _ in TraceReader(script))

    def run_perf() -> None:
        subprocess.run(cmd, capture_output=True, check=True, env=env)

    def run_kmemsim() -> None:
        KmemStat(StatOptions(slab=True, page=True)).process(TraceReader(script)).report()

    kmemsim_cmd = [sys.executable, "-m", "kmemsim.cli.main", "stat", "--slab", "--page", str(script)]

    def run_kmemsim_cmd() -> None:
        subprocess.run(kmemsim_cmd, capture_output=True, check=True, env=dict(env, PYTHONPATH=str(REPO / "src")))

    t_perf = _best(run_perf)
    t_ours = _best(run_kmemsim)
    t_cmd = _best(run_kmemsim_cmd, repeat=2)
    perf_sum = subprocess.run(cmd, capture_output=True, text=True, env=env).stdout
    ours = KmemStat(StatOptions(slab=True, page=True, perf_only=True)).process(TraceReader(script)).report()
    same = _summary(perf_sum) == _summary(ours)
    out(f"fresh recording ({n:,} events): perf kmem stat {t_perf * 1e3:.0f} ms (whole process); kmemsim "
        f"{t_ours * 1e3:.0f} ms parse + stat ({t_perf / t_ours:.2f}x perf's speed), {t_cmd * 1e3:.0f} ms as the "
        f"kmemsim stat command; SUMMARY lines {'the same' if same else 'DIFFERENT'}")


def _summary(text: str) -> list[str]:
    """The SUMMARY blocks' lines of a perf kmem stat report."""
    keep, out = False, []
    for line in text.splitlines():
        if line.startswith("SUMMARY"):
            keep = True
        elif keep and not line.strip():
            keep = False
        if keep:
            out.append(line)
    return out


if __name__ == "__main__":
    main(print)
