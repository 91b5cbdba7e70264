"""Traces: kmemsim stat beside perf kmem stat (whole processes, same recording, same run); RSS; replay.

Every figure is printed with its anchor, ``perf kmem stat``, measured in the same run:

- As root with perf, two recordings are made now (``perf kmem --slab --page record`` of a
  directory walk and a tar | gzip, system-wide: about 137,000 events, and the same three times
  over: 400,000+; the workload alone, in a cgroup of its own, as tools/capture_corpus.py
  records), turned into text with ``perf script -F comm,tid,cpu,time,event,trace``,
  and timed: ``perf kmem -i F --slab --page stat`` against ``kmemsim stat --slab --page TEXT``
  (the compiled engine, and the pure-Python fallback), whole processes, best of 5 interleaved
  rounds, wall and CPU time, peak RSS; the SUMMARY lines must be perf's.  Without root or perf
  (or with KMEMSIM_BENCH_QUICK=1) that part says so and the rest still runs.
- Start-up: ``kmemsim stat`` of a one-event trace, and whether it loaded numpy or the Kernel.
- Generated traces of 1,000,000 and 4,000,000 events in perf script text, their mix that of real
  traces (25% page events, as the corpus's real traces have 21-29%; pointers reused as SLUB does):
  the whole ``kmemsim stat`` process's time per event and peak RSS, against perf's on the
  400k recording.  In-process rates (parse, parse + stat) of both engines on the 1M trace.
- Subprocesses run with bytecode caching on (a user's installed kmemsim has its .pyc files).

Replay (``kmemsim.trace.replay``): events/s of the replay alone (the events parsed
beforehand) and of parse + replay, on 200,000 events of the generated ftrace trace on a
fresh 4 GiB machine (sampling every 1000 events), and on the real capture with the
snapshot of its host.  Target: replay >= 300,000 events/s.
"""
from __future__ import annotations

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



# --------------------------------------------------------------------------- real-shaped traces

#: the event mix of real traces (the corpus of real captures: 21-29% page events)
REAL_MIX = (("kmalloc", 14), ("kfree", 20), ("kmem_cache_alloc", 24), ("kmem_cache_free", 17),
            ("mm_page_alloc", 13), ("mm_page_free", 12))  # fmt: skip
PERF_COMMS = [("perf", 13254), ("find", 13260), ("tar", 13262), ("gzip", 13263), ("kworker/1:2", 88)]


def generate_real_shaped(path: Path, n: int, seed: int = 5) -> int:
    """An n-event ``perf script`` text of the real mix (REAL_MIX), pointers and pfns reused as the
    kernel reuses them (a free list per size, LIFO); returns the byte size."""
    rng = random.Random(seed)
    kinds = [k for k, w in REAL_MIX for _ in range(w)]
    free_lists: dict[int, list[int]] = {}
    live: list[tuple[int, str, int]] = []
    live_pages: list[tuple[int, int]] = []
    free_pfns: list[int] = []
    next_ptr, next_pfn = 0xFFFF888100000000, 0x100000
    ts = 1_074_000_000_000
    caches = list(CACHES)
    with open(path, "w") as f:
        out = []
        for _ in range(n):
            ts += rng.randrange(1, 12) * 1000
            comm, tid = PERF_COMMS[rng.randrange(len(PERF_COMMS))]
            stamp = f"{ts // 1_000_000_000:5d}.{ts % 1_000_000_000 // 1000:06d}"
            head = f"{comm:>16} {tid:5d} [{rng.randrange(2):03d}] {stamp}: "
            kind = kinds[rng.randrange(len(kinds))]
            if kind in ("kfree", "kmem_cache_free") and not live:
                kind = "kmalloc"
            if kind == "mm_page_free" and not live_pages:
                kind = "mm_page_alloc"
            if kind in ("kmalloc", "kmem_cache_alloc"):
                if kind == "kmalloc":
                    req, alloc = KMALLOC_SIZES[rng.randrange(len(KMALLOC_SIZES))]
                    name = ""
                else:
                    cname, req, alloc = caches[rng.randrange(len(caches))]
                    name = f" name={cname}"
                fl = free_lists.get(alloc)
                if fl and rng.random() < 0.95:
                    ptr = fl.pop()
                else:
                    next_ptr += alloc
                    ptr = next_ptr
                site = (SITES_KMALLOC if kind == "kmalloc" else SITES_CACHE)[rng.randrange(60)].split("/")[0]
                out.append(f"{head}{'kmem:' + kind + ':':>22} call_site={site} ptr={ptr:#x}{name} bytes_req={req} "
                           f"bytes_alloc={alloc} gfp_flags={GFPS[rng.randrange(5)]} node=-1 accounted=false\n")
                live.append((ptr, kind, alloc))
            elif kind in ("kfree", "kmem_cache_free"):
                i = len(live) - 1 - min(int(rng.expovariate(0.02)), len(live) - 1)
                live[i], live[-1] = live[-1], live[i]
                ptr, akind, alloc = live.pop()
                free_lists.setdefault(alloc, []).append(ptr)
                site = SITES_FREE[rng.randrange(len(SITES_FREE))].split("/")[0]
                ev = "kfree" if akind == "kmalloc" else "kmem_cache_free"
                out.append(f"{head}{'kmem:' + ev + ':':>22} call_site={site} ptr={ptr:#x}\n")
            elif kind == "mm_page_alloc":
                order = 0 if rng.random() < 0.85 else rng.randrange(1, 4)
                if free_pfns and order == 0 and rng.random() < 0.9:
                    pfn = free_pfns.pop()
                else:
                    next_pfn += 1 << order
                    pfn = next_pfn
                out.append(f"{head}{'kmem:mm_page_alloc:':>22} page={pfn:#x} pfn={pfn:#x} order={order} "
                           f"migratetype={rng.randrange(3)} gfp_flags={PAGE_GFPS[rng.randrange(3)]}\n")
                live_pages.append((pfn, order))
            else:
                pfn, order = live_pages.pop(rng.randrange(len(live_pages)))
                if order == 0:
                    free_pfns.append(pfn)
                out.append(f"{head}{'kmem:mm_page_free:':>22} page={pfn:#x} pfn={pfn:#x} order={order}\n")
            if len(out) >= 20000:
                f.writelines(out)
                out.clear()
        f.writelines(out)
    return path.stat().st_size


# --------------------------------------------------------------------------- whole processes


def _env() -> dict[str, str]:
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(REPO / "src"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed kmemsim has its .pyc files
    return env


def _kmemsim_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "kmemsim"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "kmemsim.cli.main"]


def _run(cmd: list[str], env: dict[str, str], stdout=subprocess.DEVNULL) -> tuple[float, float, int]:
    """(wall s, CPU s, peak RSS bytes) of a whole process."""
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.DEVNULL, env=env)
    _pid, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status:
        raise RuntimeError(f"{' '.join(cmd)}: exit status {status}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss * 1024


def _rounds(cmds: dict[str, list[str]], env: dict[str, str], n: int) -> dict[str, tuple[float, float, int]]:
    """Best wall, best CPU and the largest peak RSS of each command over n interleaved rounds."""
    got: dict[str, list[tuple[float, float, int]]] = {k: [] for k in cmds}
    for _ in range(n):
        for k, cmd in cmds.items():
            got[k].append(_run(cmd, env))
    return {k: (min(r[0] for r in v), min(r[1] for r in v), max(r[2] for r in v)) for k, v in got.items()}


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB"


def _perf_cgroup(tag: str) -> tuple[Path, str] | None:
    """A new cgroup where perf -G finds it (v1 perf_event, else the cgroup2 mount): (dir, name for -G),
    or None: the recording is then system-wide (and catches what else runs on the machine)."""
    try:
        mounts = [ln.split() for ln in Path("/proc/mounts").read_text().splitlines()]
        v1 = [m[1] for m in mounts if m[2] == "cgroup" and "perf_event" in m[3].split(",")]
        v2 = [m[1] for m in mounts if m[2] == "cgroup2"]
        roots = v1 or v2
        if not roots:
            return None
        name = f"kmemsim-bench-{os.getpid()}-{tag}"
        d = Path(roots[0]) / name
        d.mkdir()
        return d, name
    except OSError:
        return None


def _record(tmp: Path, name: str, workload: str, env: dict[str, str]) -> tuple[Path, Path, int]:
    """perf kmem --slab --page record of the workload alone (its cgroup: -G, as tools/capture_corpus.py
    records), or system-wide without one; then its perf script text.  (path, text, events)"""
    perf = shutil.which("perf")
    assert perf
    data, text = tmp / f"{name}.data", tmp / f"{name}.txt"
    cg = _perf_cgroup(name)
    try:
        if cg is not None:
            cmd = [perf, "kmem", "--slab", "--page", "record", "-o", str(data), "-G", cg[1], "--", "sh", "-c",
                   f'echo $$ > {cg[0] / "cgroup.procs"} && exec sh -c "$0"', workload]  # fmt: skip
        else:
            cmd = [perf, "kmem", "--slab", "--page", "record", "-o", str(data), "--", "sh", "-c", workload]
        subprocess.run(cmd, capture_output=True, check=True, env=env, timeout=600)
    finally:
        if cg is not None:
            try:
                cg[0].rmdir()
            except OSError:
                pass
    with open(text, "w") as f:
        subprocess.run([perf, "script", "-i", str(data), "-F", "comm,tid,cpu,time,event,trace"], stdout=f,
                       stderr=subprocess.DEVNULL, check=True, env=env, timeout=600)  # fmt: skip
    with open(text, "rb") as f:
        n = sum(1 for _ in f)
    return data, text, n


WORKLOAD = ("find /usr -maxdepth 4 > /dev/null 2>&1; tar cf - /usr/share/doc/p* 2>/dev/null | gzip -1 > /dev/null")


def main(out) -> None:
    sys.path.insert(0, str(REPO / "src"))
    tmp = Path(tempfile.mkdtemp(prefix="kmemsim-bench-trace-"))
    try:
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "src" / "kmemsim")],
                       capture_output=True, env=_env())  # fmt: skip
        anchor = _stat_vs_perf(out, tmp)
        _startup(out, tmp, anchor)
        _generated(out, tmp, anchor)
        if os.environ.get("KMEMSIM_BENCH_QUICK") != "1":
            _replay(out, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _stat_vs_perf(out, tmp: Path) -> dict | None:
    """perf kmem stat and kmemsim stat on fresh recordings of ~137k and 400k+ events."""
    from kmemsim.trace.parse import compiled_scanner

    perf = shutil.which("perf")
    if not perf or os.geteuid() != 0 or os.environ.get("KMEMSIM_BENCH_QUICK") == "1":
        out("perf kmem stat beside kmemsim stat: skipped (needs root and perf; KMEMSIM_BENCH_QUICK unset)")
        return None
    env = _env()
    engine = "compiled" if compiled_scanner() is not None else "python (the compiled engine was not built)"
    out(f"kmemsim stat's engine: {engine}; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    anchor = None
    big = "; ".join([WORKLOAD] * 4)
    for name, workload, low in (("~137k", WORKLOAD, 100_000), ("400k+", big, 400_000)):
        try:
            data, text, n = _record(tmp, name.strip("~+"), workload, env)
            if n < low:  # a quiet machine: more of the same
                data, text, n = _record(tmp, name.strip("~+"), f"{workload}; {workload}", env)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
            out(f"recording {name}: skipped ({e})")
            continue
        perf_cmd = [perf, "kmem", "-i", str(data), "--slab", "--page", "stat"]
        ours = [*_kmemsim_cmd(), "stat", "--slab", "--page", str(text)]
        cmds = {"perf": perf_cmd, "kmemsim": [*ours, "--engine", "auto"]}
        r = _rounds(cmds, env, 5)
        py = _rounds({"python": [*ours, "--engine", "python"]}, env, 1)["python"]
        perf_text = subprocess.run(perf_cmd, capture_output=True, text=True, env=env).stdout
        our_text = subprocess.run([*ours, "--perf-only"], capture_output=True, text=True, env=env).stdout
        same = _summary(perf_text) == _summary(our_text)
        pw, pc, prss = r["perf"]
        kw, kc, krss = r["kmemsim"]
        out(f"recording {name}: {n:,} events, perf.data {_mb(data.stat().st_size)}, perf script text "
            f"{_mb(text.stat().st_size)}; SUMMARY lines {'the same as perf' if same else 'DIFFERENT from perf'}")
        out(f"  perf kmem stat (anchor)      wall {pw * 1e3:6.0f} ms  CPU {pc * 1e3:6.0f} ms  peak RSS {_mb(prss)}")
        out(f"  kmemsim stat                 wall {kw / pw:6.2f}x     CPU {kc / pc:6.2f}x     peak RSS "
            f"{krss / prss:.2f}x  ({kw * 1e3:.0f} ms, {kc * 1e3:.0f} ms, {_mb(krss)})")
        out(f"  kmemsim stat --engine python wall {py[0] / pw:6.2f}x     CPU {py[1] / pc:6.2f}x     peak RSS "
            f"{py[2] / prss:.2f}x  ({py[0] * 1e3:.0f} ms, {py[1] * 1e3:.0f} ms, {_mb(py[2])})")
        anchor = {"events": n, "cpu": pc, "wall": pw, "rss": prss, "name": name, "text": text}
    return anchor


def _startup(out, tmp: Path, anchor: dict | None) -> None:
    """kmemsim stat of a one-event trace: the fixed cost, and what it imports."""
    env = _env()
    tiny = tmp / "tiny.txt"
    tiny.write_text("            perf 13254 [000]  1074.187105:            kmem:kfree: call_site=f+0x1 ptr=0xff\n")
    r = _rounds({"python": [sys.executable, "-c", "pass"], "stat": [*_kmemsim_cmd(), "stat", str(tiny)]}, env, 5)
    probe = ("import sys; from kmemsim.cli.main import main\n"
             f"try:\n    main(['stat', {str(tiny)!r}], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
             "mods = ('numpy', 'kmemsim.kernel', 'rich')\n"
             "print(' '.join(m for m in mods if m in sys.modules) or 'none')")  # fmt: skip
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env).stdout.split("\n")
    loaded_mods = loaded[-2] if len(loaded) > 1 else "?"
    line = (f"start-up: kmemsim stat of a one-event trace wall {r['stat'][0] * 1e3:.0f} ms, CPU "
            f"{r['stat'][1] * 1e3:.0f} ms (bare python: {r['python'][0] * 1e3:.0f} ms); loads numpy, the Kernel or "
            f"rich: {loaded_mods}")
    if anchor:
        line += f"; {r['stat'][0] / anchor['wall']:.2f}x perf's whole run on the {anchor['name']} recording"
    out(line)


def _generated(out, tmp: Path, anchor: dict | None) -> None:
    """1M and 4M generated events: whole-process time per event and peak RSS; in-process rates."""
    from kmemsim.trace import KmemStat, StatOptions, TraceReader
    from kmemsim.trace.parse import compiled_scanner

    env = _env()
    sizes = (1_000_000,) if os.environ.get("KMEMSIM_BENCH_QUICK") == "1" else (1_000_000, 4_000_000)
    base = f" (perf: {anchor['cpu'] / anchor['events'] * 1e6:.2f} us/event, {_mb(anchor['rss'])} peak RSS at " \
           f"{anchor['events']:,} events)" if anchor else " (no perf anchor in this run)"  # fmt: skip
    out(f"generated perf script traces of real traces' mix (25% page events){base}:")
    for n in sizes:
        path = tmp / f"gen-{n}.txt"
        size = generate_real_shaped(path, n)
        for engine in ("auto", "python") if n == sizes[0] else ("auto",):
            w, c, rss = _rounds({"k": [*_kmemsim_cmd(), "stat", "--slab", "--page", "--engine", engine, str(path)]},
                                env, 1)["k"]  # fmt: skip
            per = c / n * 1e6
            rel = f"{per / (anchor['cpu'] / anchor['events'] * 1e6):.2f}x perf's CPU per event, peak RSS " \
                  f"{rss / anchor['rss']:.2f}x perf's at {anchor['events']:,}" if anchor else ""  # fmt: skip
            out(f"  {n:>9,} events ({_mb(size)}), kmemsim stat --engine {engine:<6}: {per:.2f} us/event CPU, "
                f"{w:.1f} s wall, peak RSS {_mb(rss)}; {rel}")
        if n != sizes[0]:
            path.unlink()
            continue
        # in-process rates on the 1M trace
        rates = []
        for engine in (["compiled"] if compiled_scanner() is not None else []) + ["python"]:
            t = time.process_time()
            for _ in TraceReader(path, engine=engine):
                pass
            t_parse = time.process_time() - t
            t = time.process_time()
            st = KmemStat(StatOptions(slab=True, page=True, engine=engine))
            st.process(TraceReader(path, engine=engine)).report()
            t_stat = time.process_time() - t
            rates.append(f"{engine}: parse {n / t_parse:,.0f} events/s, parse + stat {n / t_stat:,.0f} events/s")
            if anchor:
                rates[-1] += f" ({anchor['events'] / anchor['cpu'] / (n / t_stat):.2f}x perf's time per event)"
        out("  in-process, 1M events: " + "; ".join(rates))
        path.unlink()


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
