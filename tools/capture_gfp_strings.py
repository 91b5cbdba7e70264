#!/usr/bin/env python3
"""Capture the distinct gfp_flags strings the running kernel prints, for kmemsim's tests.

Run as root on the reference host (Linux 6.18 x86_64)::

    sudo python3 tools/capture_gfp_strings.py [-o tests/data/host-6.18/gfp-strings.txt]

What it does:

1. finds tracefs, mounting it if need be and unmounting it at the end
   (tools/tracefs_util.py);
2. creates a private trace instance ``instances/kmemsim-gfp-<pid>``, or falls
   back to the global buffer and restores ``buffer_size_kb``, ``tracing_on``
   and every event ``enable`` and ``filter`` it changed;
3. enables kmem/kmalloc, kmem/kmem_cache_alloc, kmem/mm_page_alloc,
   kmem/mm_page_free and every other event whose print format uses the GFP
   name table (vmscan, compaction, percpu, dma ...);
4. runs a varied workload in phases (file-system walk, /proc reads, anonymous
   and THP memory, page-cache writes and O_DIRECT reads, tar+gzip, tmpfs,
   sockets, pipes, exec storms, sync).  After each phase tracing stops, the
   text ``trace`` is read for ``gfp_flags=`` / ``gfp_mask=`` strings, then the
   same events are consumed from ``per_cpu/cpu*/trace_pipe_raw`` to get their
   numeric masks (so each phase starts with an empty buffer);
   after each phase an event filter makes the kernel drop every mask already
   seen, so rare masks are not overwritten by common ones, and the whole
   workload runs a second time under that filter;
5. writes the sorted distinct strings, one a line, after ``#`` header lines
   saying how and when they were made, the name table in the order of the
   kernel's print format, and the distinct numeric masks of the same events.

Everything it changed is restored in a ``finally`` block, also on Ctrl-C.
Temporary files live under /tmp/kmemsim-gfp-<pid>/ and are removed.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import errno
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tracefs_util, also when run as a script
from tracefs_util import Tracing, require_linux, require_root  # noqa: E402

from kmemsim.fileio import write_text  # noqa: E402  (tracefs_util put src/ on the path)

BASE_EVENTS = ("kmem/kmalloc", "kmem/kmem_cache_alloc", "kmem/mm_page_alloc", "kmem/mm_page_free")
GFP_FIELDS = ("gfp_flags", "gfp_mask", "gfp")
TEXT_RE = re.compile(r"\bgfp_(?:flags|mask)=(\S+)")
TABLE_NAME_RE = re.compile(r'"((?:__)?GFP_[A-Z0-9_]+)"\s*\}')
REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "tests" / "data" / "host-6.18" / "gfp-strings.txt"


def die(msg: str) -> None:
    print(f"capture_gfp_strings: {msg}", file=sys.stderr)
    sys.exit(2)


# --------------------------------------------------------------------------- event formats


class EventFormat:
    """ID and gfp field (offset, size) of one event, from its tracefs ``format`` file."""

    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.id = int(re.search(r"^ID:\s*(\d+)", text, re.M).group(1))  # type: ignore[union-attr]
        self.gfp: tuple[int, int] | None = None
        self.gfp_field = ""
        for m in re.finditer(r"field:[^;]*?\b(\w+);\s*offset:(\d+);\s*size:(\d+);", text):
            if m.group(1) in GFP_FIELDS:
                self.gfp = (int(m.group(2)), int(m.group(3)))
                self.gfp_field = m.group(1)
                break
        pf = text.split("print fmt:", 1)[-1]
        self.table = TABLE_NAME_RE.findall(pf)
        self.prints_gfp_names = "GFP_TRANSHUGE" in pf


def discover_events(t: Tracing) -> dict[int, EventFormat]:
    """The base kmem events plus every event whose print format uses the GFP name table."""
    names = list(BASE_EVENTS)
    for fmt in sorted((t.top / "events").glob("*/*/format")):
        ev = f"{fmt.parent.parent.name}/{fmt.parent.name}"
        if ev not in names and ev.split("/")[0] != "btrfs" and '"GFP_TRANSHUGE"' in fmt.read_text():
            names.append(ev)
    out: dict[int, EventFormat] = {}
    for ev in names:
        f = t.root / "events" / ev / "format"
        if f.exists():
            e = EventFormat(ev, f.read_text())
            out[e.id] = e
    missing = [ev for ev in BASE_EVENTS if all(e.name != ev for e in out.values())]
    if missing:
        die(f"kernel lacks trace events {', '.join(missing)}")
    return out


# --------------------------------------------------------------------------- raw ring buffer

_COMMIT_MASK = (1 << 27) - 1  # low bits of the sub-buffer's commit word: bytes of data
_PAD, _TIME_EXTEND, _TIME_STAMP = 29, 30, 31


def raw_masks(t: Tracing, formats: dict[int, EventFormat], counts: dict[str, int]) -> set[int]:
    """Consume per_cpu/cpu*/trace_pipe_raw and return the gfp masks of the events in it.

    Sub-buffer layout (events/header_page, events/header_event): u64 timestamp,
    u64 commit, data; each event starts with a u32 {type_len:5, time_delta:27}.
    type_len 1..28: 4*type_len data bytes follow; 0: a u32 length (counting
    itself) then data; 29 padding (time_delta 0: end of page); 30/31: 8-byte
    time records.
    """
    header = (t.top / "events" / "header_page").read_text()
    if not re.search(r"commit;\s*offset:8;\s*size:8;", header) or not re.search(r"data;\s*offset:16;", header):
        die("unexpected ring-buffer header_page layout:\n" + header)
    subbuf = 4096
    sz = t.root / "buffer_subbuf_size_kb"
    if sz.exists():
        subbuf = int(sz.read_text().split()[0]) * 1024
    masks: set[int] = set()
    for cpu in t.cpus():
        fd = os.open(t.root / "per_cpu" / f"cpu{cpu}" / "trace_pipe_raw", os.O_RDONLY | os.O_NONBLOCK)
        try:
            while True:
                try:
                    page = os.read(fd, subbuf)
                except OSError as e:
                    if e.errno == errno.EAGAIN:
                        break
                    raise
                if not page:
                    break
                _parse_subbuf(page, formats, masks, counts)
        finally:
            os.close(fd)
    return masks


def _parse_subbuf(page: bytes, formats: dict[int, EventFormat], masks: set[int], counts: dict[str, int]) -> None:
    (commit,) = struct.unpack_from("<Q", page, 8)
    end = 16 + (commit & _COMMIT_MASK)
    off = 16
    while off + 4 <= min(end, len(page)):
        (hdr,) = struct.unpack_from("<I", page, off)
        type_len, delta = hdr & 0x1F, hdr >> 5
        if type_len == _PAD:
            if delta == 0:
                break
            (length,) = struct.unpack_from("<I", page, off + 4)
            off += 4 + length
            continue
        if type_len in (_TIME_EXTEND, _TIME_STAMP):
            off += 8
            continue
        if type_len == 0:
            (length,) = struct.unpack_from("<I", page, off + 4)
            data, off = page[off + 8 : off + 4 + length], off + 4 + length
        else:
            data, off = page[off + 4 : off + 4 + 4 * type_len], off + 4 + 4 * type_len
        if len(data) < 2:
            continue
        ev = formats.get(struct.unpack_from("<H", data, 0)[0])
        if ev is None or ev.gfp is None:
            continue
        o, n = ev.gfp
        masks.add(int.from_bytes(data[o : o + n], "little"))
        counts[ev.name] = counts.get(ev.name, 0) + 1


# --------------------------------------------------------------------------- workload

PY_ANON = r"""
import mmap, os
b = bytearray(256 << 20)                       # anonymous faults, zeroed pages
for i in range(0, len(b), 4096): b[i] = 1
m = mmap.mmap(-1, 64 << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
if hasattr(m, "madvise") and hasattr(mmap, "MADV_HUGEPAGE"):
    m.madvise(mmap.MADV_HUGEPAGE)              # THP (enabled=madvise)
for i in range(0, len(m), 4096): m[i] = 1
pids = []
for _ in range(40):                            # fork + COW + exit
    pid = os.fork()
    if pid == 0:
        b[4096 * 7] = 2; os._exit(0)
    pids.append(pid)
for p in pids: os.waitpid(p, 0)
"""

PY_NET = r"""
import os, socket, threading, select, selectors
data = os.urandom(1 << 20)
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen()
def sink():
    c, _ = srv.accept()
    while c.recv(1 << 16): pass
threading.Thread(target=sink, daemon=True).start()
cl = socket.create_connection(srv.getsockname())
for _ in range(48): cl.sendall(data)
cl.close()
u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u1.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(2000): u2.sendto(data[:1400], u1.getsockname())
a, b = socket.socketpair()
for _ in range(500): a.send(data[:30000]); b.recv(65536)
r, w = os.pipe()
for _ in range(500): os.write(w, data[:60000]); os.read(r, 65536)
try:
    s6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); s6.close()
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0); nl.close()
except OSError: pass
ep = select.epoll(); ep.register(r, select.EPOLLIN); ep.poll(0); ep.close()
if hasattr(os, "eventfd"):
    e = os.eventfd(0); os.eventfd_write(e, 1); os.close(e)
if hasattr(os, "memfd_create"):
    fd = os.memfd_create("kmemsim-gfp"); os.write(fd, data * 8); os.close(fd)
"""

PY_FILEMAP = r"""
import mmap, os, socket, sys
path = os.path.join(sys.argv[1], "map")
with open(path, "wb") as f: f.truncate(32 << 20)
with open(path, "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    for i in range(0, len(m), 4096): m[i] = 1      # shared file faults, dirtying pages
    m.flush(); m.close()
a, b = socket.socketpair()
with open(path, "rb") as f:
    os.sendfile(a.fileno(), f.fileno(), 0, 1 << 16); b.recv(1 << 17)
os.setxattr(path, "user.kmemsim", b"x" * 100) if hasattr(os, "setxattr") else None
os.unlink(path)
"""


def workload(tmp: Path) -> list[tuple[str, list[str] | str]]:
    """Phases: (label, argv or shell command)."""
    py = sys.executable
    d = str(tmp)
    return [
        ("fs walk", "find / -xdev -printf '%s %m %u\\n' > /dev/null 2>&1; ls -lR /usr/lib > /dev/null 2>&1"),
        ("proc+sys", "cat /proc/*/status /proc/*/maps /proc/*/smaps_rollup > /dev/null 2>&1; "
         "ls -lR /proc/sys /sys/kernel/mm /sys/devices/system > /dev/null 2>&1; "
         "cat /proc/slabinfo /proc/zoneinfo /proc/vmstat /proc/meminfo > /dev/null 2>&1"),
        ("anon+thp+fork", [py, "-c", PY_ANON]),
        ("page-cache write", f"dd if=/dev/urandom of={d}/dd bs=1M count=96 conv=fsync status=none; "
         f"dd if={d}/dd of=/dev/null bs=1M iflag=direct status=none; cat {d}/dd > /dev/null"),
        ("tar+gzip", f"tar czf {d}/doc.tgz /usr/share/doc 2>/dev/null; mkdir -p {d}/x && "
         f"tar xzf {d}/doc.tgz -C {d}/x && rm -rf {d}/x; sync"),
        ("tmpfs", f"dd if=/dev/zero of=/dev/shm/kmemsim-gfp-{os.getpid()} bs=1M count=64 status=none; "
         f"rm -f /dev/shm/kmemsim-gfp-{os.getpid()}"),
        ("sockets+pipes", [py, "-c", PY_NET]),
        ("block read", "for dev in /dev/vda /dev/sda /dev/nvme0n1; do [ -b $dev ] && "
         "dd if=$dev of=/dev/null bs=1M count=64 iflag=direct status=none && break; done; true"),
        ("exec storm", "for i in $(seq 200); do /bin/true; done; for i in $(seq 50); do sh -c 'ls / | wc -l' "
         "> /dev/null; done"),
        ("python imports", [py, "-c", "import json, email, http.client, asyncio, sqlite3, xml.dom.minidom, "
                            "decimal, unittest; import sqlite3 as s; c = s.connect(':memory:'); "
                            "c.execute('create table t(x)'); c.executemany('insert into t values (?)', "
                            "[(i,) for i in range(100000)])"]),
        ("direct write+fallocate", f"dd if=/dev/zero of={d}/dw bs=1M count=32 oflag=direct status=none; "
         f"fallocate -l 64M {d}/fa; truncate -s 1M {d}/fa; cp -a /etc {d}/etc; chmod -R go-w {d}/etc; "
         f"rm -rf {d}/etc {d}/dw {d}/fa"),
        ("file mmap+sendfile", [py, "-c", PY_FILEMAP, d]),
        ("namespaces", "unshare -n true; unshare -u true; unshare -i true; unshare -U true; "
         "unshare -p -f --mount-proc true; unshare -m sh -c 'mount -t tmpfs none /mnt && "
         "dd if=/dev/zero of=/mnt/f bs=1M count=8 status=none'; true"),
        ("perf", "perf stat -e task-clock,page-faults -- ls -R /usr/include > /dev/null 2>&1; true"),
        ("sync", f"rm -f {d}/dd {d}/doc.tgz; sync"),
    ]


def run_phase(cmd: list[str] | str, timeout: int) -> None:
    try:
        subprocess.run(cmd, shell=isinstance(cmd, str), timeout=timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        print(f"  (phase cut off after {timeout}s)", file=sys.stderr)


# --------------------------------------------------------------------------- main


def total_overrun(t: Tracing) -> int:
    """Events overwritten before being read, summed over CPUs (cumulative per buffer)."""
    total = 0
    for cpu in t.cpus():
        st = (t.root / "per_cpu" / f"cpu{cpu}" / "stats").read_text()
        m = re.search(r"overrun:\s*(\d+)", st)
        total += int(m.group(1)) if m else 0
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    ap.add_argument("--buffer-kb", type=int, default=65536, help="per-CPU ring buffer size (default 65536)")
    ap.add_argument("--timeout", type=int, default=90, help="seconds per workload phase (default 90)")
    args = ap.parse_args()

    require_root(die)
    require_linux(die)

    tmp = Path(tempfile.mkdtemp(prefix=f"kmemsim-gfp-{os.getpid()}-"))
    t = Tracing("kmemsim-gfp", die)
    strings: dict[str, int] = {}
    masks: set[int] = set()
    raw_counts: dict[str, int] = {}
    overruns = 0
    try:
        formats = discover_events(t)
        table = next(e.table for e in formats.values() if e.name == "kmem/kmalloc")
        t.write("tracing_on", "0")
        t.write("buffer_size_kb", str(args.buffer_kb))
        t.write("trace", "")
        for e in formats.values():
            t.enable(e.name)
        gfp_events = [e for e in formats.values() if e.gfp is not None]
        for pass_no in (1, 2):
            for label, cmd in workload(tmp):
                print(f"pass {pass_no} phase: {label}", file=sys.stderr)
                before = total_overrun(t)
                t.write("tracing_on", "1")
                run_phase(cmd, args.timeout)
                t.write("tracing_on", "0")
                overruns += total_overrun(t) - before
                with open(t.root / "trace") as f:
                    for line in f:
                        for m in TEXT_RE.finditer(line):
                            strings[m.group(1)] = strings.get(m.group(1), 0) + 1
                masks |= raw_masks(t, formats, raw_counts)
                # The common masks flood the buffer and overwrite rare ones: from
                # now on the kernel drops every mask already seen (an event filter),
                # so later phases record only new ones.  mm_page_free, which has no
                # gfp field, is switched off for the same reason.
                if masks:
                    t.write("events/kmem/mm_page_free/enable", "0")
                    for e in gfp_events:
                        expr = " && ".join(f"{e.gfp_field} != {hex(m)}" for m in sorted(masks))
                        t.write(f"events/{e.name}/filter", expr)
            print(f"after pass {pass_no}: {len(strings)} strings, {len(masks)} masks", file=sys.stderr)
    finally:
        t.restore()
        shutil.rmtree(tmp, ignore_errors=True)

    if not strings:
        die("no gfp_flags strings were captured")
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    uname = os.uname()
    where = "a private trace instance" if t.instance is not None else "the global trace buffer (restored after)"
    per_event = ", ".join(f"{n} {c}" for n, c in sorted(raw_counts.items()))
    header = [
        "# Distinct gfp_flags strings printed by the running kernel's show_gfp_flags() in tracefs text.",
        f"# Made by tools/capture_gfp_strings.py on {now} on Linux {uname.release} {uname.machine}, as root,",
        f"# in {where}, from a workload of file-system walks, /proc reads, anonymous/THP",
        "# memory, page-cache writes, O_DIRECT reads, tar+gzip, tmpfs, sockets, pipes and exec storms.",
        "# The workload ran twice; after each phase an event filter dropped every mask already seen.",
        f"# Events read (raw): {per_event}; events overwritten unread: {overruns}.",
        f"# table: {' '.join(table)}",
        "#   (the GFP name table in the order of the kernel's print fmt of kmem/kmalloc)",
        f"# masks: {' '.join(hex(m) for m in sorted(masks))}",
        "#   (every distinct numeric gfp mask of the same events, from per_cpu/cpu*/trace_pipe_raw)",
    ]
    body = sorted(strings)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    write_text(args.output, "\n".join(header + body) + "\n", force=True)
    print(f"{len(body)} distinct gfp strings, {len(masks)} distinct masks -> {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
