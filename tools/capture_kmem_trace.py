#!/usr/bin/env python3
"""Capture a real kmem tracepoint log (ftrace text) of a short workload, for kmemsim's tests.

Run as root on the reference host (Linux 6.18 x86_64)::

    sudo python3 tools/capture_kmem_trace.py [-o tests/data/host-6.18/kmem-trace.txt.gz]

What it does:

1. sets up tracefs with tools/tracefs_util.py (mounted if need be, and
   unmounted at the end);
2. traces into a private instance ``instances/kmemsim-kmem-<pid>``, or, if
   instances are unavailable, into the global buffer, every control file it
   changes restored at the end;
3. enables kmem/kmalloc, kmem/kfree, kmem/kmem_cache_alloc,
   kmem/kmem_cache_free, kmem/mm_page_alloc and kmem/mm_page_free, limited
   (``set_event_pid`` + ``options/event-fork``) to the workload's own process
   tree, so whatever else runs on the host stays out of the log
   (``--all-tasks`` records every task instead);
4. runs a short varied workload (a few seconds): ``ls -R /proc/sys``,
   python3 allocating (anonymous memory, pipes, sockets, epoll, /proc reads,
   a few forks), ``find /usr -maxdepth 3``,
   ``tar cf - /usr/share/doc | gzip``, ``sync``;
5. reads the instance's text ``trace`` file (the ftrace header, then one line
   an event) and writes it gzip-compressed, trimmed to the header plus the
   first N event lines so that the file stays within ``--max-bytes``
   (300 000 by default).  Right after the header come ``# kmemsim:`` lines:
   how many events were kept and how many lost (cut by the trimming, or
   overwritten in the ring buffer before they were read), per event type, and
   how and when the file was made.

Everything it changed is restored in a ``finally`` block, also on Ctrl-C.
Temporary files live under /tmp/kmemsim-kmem-<pid>-*/ and are removed.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import gzip
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tracefs_util, also when run as a script
from tracefs_util import Tracing, require_linux, require_root  # noqa: E402

from kmemsim.fileio import write_bytes  # noqa: E402  (tracefs_util put src/ on the path)

EVENTS = ("kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "mm_page_alloc", "mm_page_free")
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "tests" / "data" / "host-6.18" / "kmem-trace.txt.gz"
#: "<comm>-<pid> [<cpu>] <flags> <timestamp>: <event>: ..." (comm may hold spaces)
EVENT_RE = re.compile(r"^\s*.+-\d+\s+(?:\(\s*[-\d]+\)\s+)?\[\d+\]\s+\S+\s+\d+\.\d+:\s+(\w+):")
ENTRIES_RE = re.compile(r"entries-in-buffer/entries-written:\s*(\d+)/(\d+)")


def die(msg: str) -> None:
    print(f"capture_kmem_trace: {msg}", file=sys.stderr)
    sys.exit(2)


# --------------------------------------------------------------------------- workload

PY_ALLOC = r"""
import os, select, socket, mmap
bufs = [bytearray(n) for n in (256 << 10, 1 << 20)]                # anonymous faults
for b in bufs:
    for i in range(0, len(b), 4096):
        b[i] = 1
m = mmap.mmap(-1, 1 << 20)
for i in range(0, len(m), 4096):
    m[i] = 1
m.close()
objs = [bytes(n) for n in range(0, 20000, 97)]                   # user-space malloc, brk/mmap
for n in (16, 100, 1000, 5000, 30000, 60000):                    # pipes and socket buffers
    r, w = os.pipe(); os.write(w, b"x" * n); os.read(r, n); os.close(r); os.close(w)
    a, b = socket.socketpair(); a.send(b"y" * n); b.recv(65536); a.close(); b.close()
u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u1.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in (1, 64, 500, 1400, 9000):
    u2.sendto(b"z" * n, u1.getsockname()); u1.recv(65536)
ep = select.epoll(); r, w = os.pipe(); ep.register(r, select.EPOLLIN); ep.poll(0); ep.close()
for name in os.listdir("/proc/self"):
    try:
        with open(f"/proc/self/{name}", "rb") as f:
            f.read(1 << 16)
    except OSError:
        pass
pids = []
for _ in range(4):                                               # fork + COW + exit
    pid = os.fork()
    if pid == 0:
        bufs[0][4096 * 3] = 2
        os._exit(0)
    pids.append(pid)
for p in pids:
    os.waitpid(p, 0)
"""


def workload_script(tmp: Path) -> str:
    py = tmp / "alloc.py"
    py.write_text(PY_ALLOC)
    return "\n".join([
        "ls -R /proc/sys > /dev/null 2>&1",
        f"{shlex.quote(sys.executable)} {shlex.quote(str(py))}",
        "find /usr -maxdepth 3 > /dev/null 2>&1",
        "tar cf - /usr/share/doc 2>/dev/null | gzip > /dev/null",
        "sync",
        "",
    ])  # fmt: skip


def run_workload(t: Tracing, script: Path, timeout: int, all_tasks: bool) -> float:
    """Start the workload held at a gate, point the tracer at it, open the gate; return seconds."""
    # `read` is a shell builtin: the gate shell forks nothing before the pid filter is set.
    proc = subprocess.Popen(
        ["/bin/sh", "-c", 'read _gate; exec /bin/sh "$1"', "sh", str(script)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        if not all_tasks:
            t.write("set_event_pid", str(proc.pid))
            t.write("options/event-fork", "1")
        t.write("tracing_on", "1")
        start = time.monotonic()
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            print(f"  (workload cut off after {timeout}s)", file=sys.stderr)
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        elapsed = time.monotonic() - start
    finally:
        t.write("tracing_on", "0")
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return elapsed


# --------------------------------------------------------------------------- output


def read_trace(t: Tracing, keep_max: int) -> tuple[list[str], list[str], int, dict[str, int]]:
    """(header lines, up to keep_max first body lines, body line count, events per type in
    the whole buffer) of the text ``trace`` file."""
    header: list[str] = []
    body: list[str] = []
    n_body = 0
    total: dict[str, int] = {}
    with open(t.root / "trace", encoding="utf-8", errors="replace") as f:
        for line in f:
            if n_body == 0 and line.startswith("#"):
                header.append(line)
                continue
            n_body += 1
            m = EVENT_RE.match(line)
            ev = m.group(1) if m else "(other)"
            total[ev] = total.get(ev, 0) + 1
            if len(body) < keep_max:
                body.append(line)
    return header, body, n_body, total


def count_events(lines: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in lines:
        m = EVENT_RE.match(line)
        ev = m.group(1) if m else "(other)"
        out[ev] = out.get(ev, 0) + 1
    return out


def fmt_counts(c: dict[str, int]) -> str:
    order = [*EVENTS, *sorted(set(c) - set(EVENTS))]
    return " ".join(f"{e}={c.get(e, 0)}" for e in order if e in c or e in EVENTS)


def compose(header: list[str], body: list[str], n: int, meta: dict[str, object], total: dict[str, int]) -> bytes:
    kept = body[:n]
    kc = count_events(kept)
    n_total = sum(total.values())
    trimmed = n_total - n
    overrun = int(meta["overrun"])  # type: ignore[call-overload]
    info = [
        f"# kmemsim: kept={n} lost={trimmed + overrun} trimmed={trimmed} overrun={overrun} "
        f"read={n_total} (event lines kept; lost = cut here to keep the file small + overwritten "
        f"in the ring buffer)\n",
        f"# kmemsim: kept per event: {fmt_counts(kc)}\n",
        f"# kmemsim: read per event: {fmt_counts(total)}\n",
        f"# kmemsim: made by tools/capture_kmem_trace.py on {meta['when']} on Linux {meta['release']} "
        f"{meta['machine']} ({meta['ncpu']} CPUs), as root, in {meta['where']}, {meta['tasks']}; "
        f"workload {meta['seconds']:.1f}s: ls -R /proc/sys, python3 allocating, find /usr -maxdepth 3, "
        f"tar cf - /usr/share/doc | gzip, sync; per-CPU buffer {meta['buffer_kb']} KB\n",
    ]
    text = "".join(header) + "".join(info) + "".join(kept)
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def fit(header: list[str], body: list[str], max_bytes: int, meta: dict[str, object],
        total: dict[str, int]) -> tuple[int, bytes]:  # fmt: skip
    """The largest N whose file (header + first N lines) compresses to at most max_bytes."""
    data = compose(header, body, len(body), meta, total)
    if len(data) <= max_bytes:
        return len(body), data
    lo, hi = 0, len(body)  # compose(lo) fits, compose(hi) does not
    best = compose(header, body, 0, meta, total)
    if len(best) > max_bytes:
        die(f"even the bare header compresses to {len(best)} bytes > {max_bytes}")
    while hi - lo > 1:
        mid = (lo + hi) // 2
        d = compose(header, body, mid, meta, total)
        if len(d) <= max_bytes:
            lo, best = mid, d
        else:
            hi = mid
    return lo, best


# --------------------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    ap.add_argument("--buffer-kb", type=int, default=65536, help="per-CPU ring buffer size (default 65536)")
    ap.add_argument("--max-bytes", type=int, default=300_000, help="compressed size limit (default 300000)")
    ap.add_argument("--timeout", type=int, default=120, help="seconds the workload may run (default 120)")
    ap.add_argument("--all-tasks", action="store_true", help="trace every task, not only the workload's")
    args = ap.parse_args()

    require_linux(die)
    require_root(die)

    tmp = Path(tempfile.mkdtemp(prefix=f"kmemsim-kmem-{os.getpid()}-"))
    t = Tracing("kmemsim-kmem", die)
    try:
        missing = [e for e in EVENTS if not (t.root / "events" / "kmem" / e / "enable").exists()]
        if missing:
            die(f"kernel lacks trace events kmem/{', kmem/'.join(missing)}")
        if not args.all_tasks and not (t.root / "set_event_pid").exists():
            die("this tracefs has no set_event_pid; use --all-tasks")
        t.write("tracing_on", "0")
        t.write("buffer_size_kb", str(args.buffer_kb))
        t.write("trace", "")
        for e in EVENTS:
            t.enable(f"kmem/{e}")
        script = tmp / "workload.sh"
        script.write_text(workload_script(tmp))
        print("running the workload ...", file=sys.stderr)
        seconds = run_workload(t, script, args.timeout, args.all_tasks)
        overrun = t.overrun()
        # Keep at most this many lines in memory: an event line never compresses below
        # ~8 bytes (its hashed pointer and timestamp alone are more), so this is ample.
        header, body, n_body, total = read_trace(t, keep_max=max(1000, args.max_bytes // 4))
    finally:
        t.restore()
        shutil.rmtree(tmp, ignore_errors=True)

    if not body:
        die("no events were recorded")
    uname = os.uname()
    meta: dict[str, object] = {
        "when": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "release": uname.release,
        "machine": uname.machine,
        "ncpu": os.cpu_count(),
        "where": "a private trace instance" if t.instance is not None else "the global trace buffer (restored after)",
        "tasks": "every task" if args.all_tasks else "the workload's processes only (set_event_pid, event-fork)",
        "seconds": seconds,
        "buffer_kb": args.buffer_kb,
        "overrun": overrun,
    }
    n, data = fit(header, body, args.max_bytes, meta, total)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_bytes(args.output, data, force=True)  # replaced by rename, never through a symlink
    print(f"{n_body} event lines read ({fmt_counts(total)}), {overrun} overwritten;", file=sys.stderr)
    print(f"kept the first {n} ({fmt_counts(count_events(body[:n]))}) -> {args.output} "
          f"({len(data)} bytes)", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
