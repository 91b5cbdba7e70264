#!/usr/bin/env python3
"""Capture a real ``perf kmem`` recording and its golden outputs for kmemsim's trace tests.

Run as root on the reference host (Linux 6.18 x86_64, perf 6.1, trace-cmd 3.1)::

    sudo python3 tools/capture_perf_kmem.py [-o tests/data/trace]

What it writes into the output directory (every text file gzip-compressed unless
named otherwise, everything small):

1. ``perf-kmem.data.xz``: ``perf kmem --slab --page record`` (system-wide, with
   callchains, as perf kmem records) of a short workload;
2. ``perf-script.txt.gz``: ``perf script -F comm,tid,cpu,time,event,trace`` of
   it, the text kmemsim reads (real pointers, call sites as ``sym+0xoff``);
3. ``perf-script-callchain.txt.gz``: the first events again with ``ip,sym``
   (callchain lines), for the parser;
4. ``golden/*.txt``: ``perf kmem ... stat`` with the options in
   ``golden/COMMANDS`` (one ``name<TAB>options`` line each), run with
   ``LC_ALL=C``;
5. ``kallsyms.txt``: the /proc/kallsyms lines of the symbols the call sites
   name (perf orders call sites by address; with this file kmemsim can too);
6. ``trace-cmd-report.txt.gz`` and ``trace-cmd-report-l.txt.gz``: ``trace-cmd
   report`` (and ``-l``) of a kmem trace of ``ls /usr/share``, made from the raw
   per-CPU buffers of a private trace instance with ``trace-cmd restore``
   (``trace-cmd record`` cannot enable ftrace on this VM);
7. ``ftrace-tgid-stack.txt.gz``: tracefs ``trace`` text with the
   ``record-tgid`` and ``stacktrace`` options (the tgid column and
   ``<stack trace>`` blocks);
8. ``README.md``: how and when all this was made, with the event counts.

Tracing state: perf restores what it changes itself; the tracefs captures use a
private instance (``instances/kmemsim-perfkmem-<pid>``) removed at the end, and
tracefs is unmounted again if this script mounted it.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import lzma
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tracefs_util import Tracing, require_linux, require_root  # noqa: E402

from kmemsim.fileio import write_bytes, write_text  # noqa: E402  (tracefs_util put src/ on the path)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "data" / "trace"
EVENTS = ("kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "mm_page_alloc", "mm_page_free")

#: a few thousand events: a directory walk, small pipelines, sync
WORKLOAD = (
    "ls -R /usr/share/doc/perl* > /dev/null 2>&1; "
    "cat /etc/services /etc/protocols > /dev/null; "
    "printf 'a\\nb\\nc\\n' | sort | uniq -c > /dev/null; "
    "sync"
)

#: (golden name, perf kmem options); the time window is filled in at run time
GOLDENS = [
    ("slab-page", ["--slab", "--page"]),
    ("slab-caller", ["--slab", "--caller"]),
    ("slab-alloc-l20", ["--slab", "--alloc", "-l", "20"]),
    ("slab-caller-s-hit-bytes-l30", ["--slab", "--caller", "-s", "hit,bytes", "-l", "30"]),
    ("slab-caller-s-pingpong-l15", ["--slab", "--caller", "-s", "pingpong,hit", "-l", "15"]),
    ("slab-alloc-s-bytes-ptr-l25", ["--slab", "--alloc", "-s", "bytes,ptr", "-l", "25"]),
    ("page-caller", ["--page", "--caller"]),
    ("page-alloc-l20", ["--page", "--alloc", "-l", "20"]),
    ("page-alloc-s-order-migtype-gfp-l20", ["--page", "--alloc", "-s", "order,migtype,gfp", "-l", "20"]),
    ("page-live-alloc-l15", ["--page", "--live", "--alloc", "-l", "15"]),
    ("slab-page-caller-alloc-l10", ["--slab", "--page", "--caller", "--alloc", "-l", "10"]),
]


def die(msg: str) -> None:
    print(f"capture_perf_kmem: {msg}", file=sys.stderr)
    sys.exit(2)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C", LANG="C")
    return subprocess.run(cmd, env=env, check=True, **kw)


def gz_write(path: Path, text: str) -> None:
    write_bytes(path, gzip.compress(text.encode(), compresslevel=9, mtime=0), force=True)


def pick_time_window(script: str) -> str:
    """START,STOP between events a third and two thirds in, each in a gap of at least
    3 us, so perf (ns) and the text (us) put every event on the same side."""
    times = [float(m.group(1)) for m in re.finditer(r"\] +(\d+\.\d{6}):", script)]
    times.sort()

    def gap_after(i: int) -> str:
        for j in range(i, len(times) - 1):
            if times[j + 1] - times[j] >= 3e-6:
                return f"{times[j] + 1e-6:.6f}"
        return f"{times[i]:.6f}"

    return f"{gap_after(len(times) // 3)},{gap_after(2 * len(times) // 3)}"


def kallsyms_subset(script: str) -> str:
    syms = set(re.findall(r"call_site=([^+ ]+)\+", script))
    out = []
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] in syms and not parts[0].strip("0") == "":
                out.append(line)
    return "".join(out)


def tracefs_captures(out: Path, tmp: Path, notes: list[str]) -> None:
    t = Tracing("kmemsim-perfkmem", die)
    try:
        t.write("tracing_on", "0")
        t.write("buffer_size_kb", "4096")
        t.write("trace", "")
        # -- raw buffers for trace-cmd report
        for e in EVENTS:
            t.enable(f"kmem/{e}")
        t.write("tracing_on", "1")
        subprocess.run(["ls", "/usr/share"], stdout=subprocess.DEVNULL, check=False)
        t.write("tracing_on", "0")
        raws = []
        for cpu in t.cpus():
            raw = tmp / f"raw{cpu}"
            fd = os.open(t.root / "per_cpu" / f"cpu{cpu}" / "trace_pipe_raw", os.O_RDONLY | os.O_NONBLOCK)
            with open(raw, "wb") as f:
                while True:
                    try:
                        chunk = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    if not chunk:
                        break
                    f.write(chunk)
            os.close(fd)
            raws.append(str(raw))
        tc = shutil.which("trace-cmd")
        if tc:
            run([tc, "restore", "-c", "-o", str(tmp / "head.dat")], capture_output=True)
            run([tc, "restore", "-i", str(tmp / "head.dat"), "-o", str(tmp / "trace.dat"), *raws], capture_output=True)
            for name, extra in (("trace-cmd-report.txt.gz", []), ("trace-cmd-report-l.txt.gz", ["-l"])):
                rep = run([tc, "report", *extra, "-i", str(tmp / "trace.dat")], capture_output=True, text=True).stdout
                lines = rep.splitlines(keepends=True)
                keep = 400 if not extra else 60
                gz_write(out / name, "".join(lines[:keep]))
            res = subprocess.run([tc, "--version"], capture_output=True, text=True, check=False)  # exits 255
            ver = next((ln.strip() for ln in (res.stdout + res.stderr).splitlines() if "version" in ln), "trace-cmd")
            notes.append(f"trace-cmd-report*.txt.gz: {ver}; first 400 lines (-l: 60)")
        else:
            notes.append("trace-cmd report: not captured (trace-cmd is not installed)")
        # -- ftrace text with the tgid column and stack traces of mm_page_alloc
        t.write("trace", "")
        t.write("options/record-tgid", "1")
        t.write("options/stacktrace", "1")
        t.write("tracing_on", "1")
        subprocess.run(["cat", "/etc/hostname"], stdout=subprocess.DEVNULL, check=False)
        t.write("tracing_on", "0")
        t.write("options/stacktrace", "0")
        text = (t.root / "trace").read_text(errors="replace")
        lines = text.splitlines(keepends=True)
        gz_write(out / "ftrace-tgid-stack.txt.gz", "".join(lines[:300]))
        notes.append("ftrace-tgid-stack: tracefs trace with options/record-tgid and options/stacktrace, "
                     "first 300 lines")
    finally:
        t.restore()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--max-xz", type=int, default=160_000, help="largest perf.data.xz kept (bytes)")
    args = ap.parse_args()
    require_linux(die)
    require_root(die)
    perf = shutil.which("perf")
    if not perf:
        die("perf is not installed")
    out: Path = args.output
    (out / "golden").mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"kmemsim-perfkmem-{os.getpid()}-"))
    notes: list[str] = []
    try:
        data = tmp / "perf.data"
        t0 = time.monotonic()
        run([perf, "kmem", "--slab", "--page", "record", "-o", str(data), "--", "sh", "-c", WORKLOAD],
            capture_output=True)  # fmt: skip
        seconds = time.monotonic() - t0
        script = run([perf, "script", "-i", str(data), "-F", "comm,tid,cpu,time,event,trace"],
                     capture_output=True, text=True).stdout  # fmt: skip
        gz_write(out / "perf-script.txt.gz", script)
        chain = run([perf, "script", "-i", str(data), "-F", "comm,tid,cpu,time,event,trace,ip,sym"],
                    capture_output=True, text=True).stdout  # fmt: skip
        blocks = re.split(r"\n(?=\S|\s+\S+\s+\d+ \[)", chain)
        gz_write(out / "perf-script-callchain.txt.gz", "\n".join(blocks[:400]) + "\n")
        window = pick_time_window(script)
        goldens = [*GOLDENS, ("slab-page-time", ["--slab", "--page", "--time", window]),
                   ("slab-caller-time-l20", ["--slab", "--caller", "-l", "20", "--time", window])]  # fmt: skip
        commands = []
        for name, opts in goldens:
            res = run([perf, "kmem", "-i", str(data), *opts, "stat"], capture_output=True, text=True)
            write_text(out / "golden" / f"{name}.txt", res.stdout, force=True)
            commands.append(f"{name}\t{' '.join(opts)}\n")
        write_text(out / "golden" / "COMMANDS", "".join(commands), force=True)
        write_text(out / "kallsyms.txt", kallsyms_subset(script), force=True)
        xz = lzma.compress(data.read_bytes(), preset=9 | lzma.PRESET_EXTREME)
        if len(xz) <= args.max_xz:
            write_bytes(out / "perf-kmem.data.xz", xz, force=True)
            notes.append(f"perf-kmem.data.xz: the recording itself ({len(xz)} bytes compressed)")
        else:
            notes.append(f"perf.data not kept: {len(xz)} bytes compressed > {args.max_xz}")
        tracefs_captures(out, tmp, notes)
        counts: dict[str, int] = {}
        for m in re.finditer(r" kmem:(\w+):", script):
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
        pv = run([perf, "version"], capture_output=True, text=True).stdout.strip()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    u = os.uname()
    when = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    readme = f"""# Real perf kmem / trace-cmd / ftrace captures (made by tools/capture_perf_kmem.py)

Captured on {when} on Linux {u.release} {u.machine} ({os.cpu_count()} CPUs, one NUMA node), as root,
with {pv}, by `sudo python3 tools/capture_perf_kmem.py` (its docstring says what each file is).

- Workload ({seconds:.1f}s, recorded system-wide as perf kmem records): `{WORKLOAD}`
- `perf-script.txt.gz`: `perf script -F comm,tid,cpu,time,event,trace` of the recording:
  {sum(counts.values())} events ({', '.join(f'{k} {v}' for k, v in sorted(counts.items()))}).
- `golden/NAME.txt`: `LC_ALL=C perf kmem -i perf.data OPTIONS stat`, NAME and OPTIONS in `golden/COMMANDS`;
  the `--time` window ({window}) lies in gaps between events of at least 3 us.
- `kallsyms.txt`: the /proc/kallsyms lines of the call sites' symbols in that boot.
""" + "".join(f"- {n}\n" for n in notes) + """
perf 6.1 names migratetypes with the pre-4.4 enum: in these 6.18 recordings its "Reclaimable"
column and `RECLAIM` label are MIGRATE_MOVABLE, its "Movable"/`MOVABLE` are MIGRATE_RECLAIMABLE.
perf 6.1 cannot resolve the page allocator's callchains on this kernel: its page call sites are one
unresolved address.
"""
    write_text(out / "README.md", readme, force=True)
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"wrote {out} ({total} bytes): {sum(counts.values())} events", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
