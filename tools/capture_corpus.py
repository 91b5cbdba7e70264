#!/usr/bin/env python3
"""Capture a corpus of real kmem traces of varied workloads (golden test data).

Run as root on the reference host (Linux 6.18 x86_64, perf 6.1)::

    sudo python3 tools/capture_corpus.py                   # every workload of the corpus
    sudo python3 tools/capture_corpus.py compile git       # some of them
    sudo python3 tools/capture_corpus.py --big             # the two big recordings (not committed)
    python3 tools/capture_corpus.py --list                 # the workloads
    python3 tools/capture_corpus.py --readme               # rewrite tests/data/corpus/README.md
    python3 tools/capture_corpus.py --check [--replay] [NAME...]   # kmemsim stat against perf's goldens

Each workload is one shell script (``command.txt`` of its directory holds it) run in
a scratch directory under /tmp, and recorded *once*, by two tracers at the same time:

- ftrace: a private trace instance ``instances/kmemsim-corpus-<pid>`` with the six
  kmem events kmalloc, kfree, kmem_cache_alloc, kmem_cache_free, mm_page_alloc,
  mm_page_free (plus mm_page_alloc_zone_locked and mm_page_pcpu_drain unless
  ``--no-extra-events``), limited to the workload's process tree with
  ``set_event_pid`` + ``options/event-fork`` (or every task for the workloads
  marked system-wide), read back from the instance's ``trace`` file (its header
  included) at the end, with the instance's ``trace_clock`` set to ``perf``;
- perf: ``perf kmem --slab --page record -G CGROUP`` (which runs ``perf record -a
  -R -c 1 -e kmem:... -g``), CGROUP a new cgroup on the perf_event hierarchy (here
  cgroup2) into which the workload's gate shell is moved, so that perf records
  the same process tree (no ``-G`` for the system-wide workloads).  ``perf record
  -p PID`` would not do: on 6.18 ``perf_event_exit_task()`` runs before
  ``exit_mm()``, so a per-task recording loses every exiting task's teardown
  (exit_mmap, the files, ...), while a cgroup event stays on to the end.
  perf starts disabled (``-D -1``) and is switched through its ``--control`` fifo.

The workload waits at a gate (a shell blocked in the ``read`` builtin) while the
tracers are set up; then a ``kmemsim snapshot`` of the host is read (into memory:
``kmemsim.capture.read``), ftrace is switched on, perf enabled, and the gate opened.
The workload's files are made before (untraced); the snapshot is the last thing
before the recording, and its files are written after it (``capture.write``):
writing them before would use the very slab objects it had counted as free.

What a workload directory ``tests/data/corpus/<name>/`` holds:

- ``snapshot.tar.gz``: the host snapshot taken just before the recording;
- ``trace.txt.gz``: the ftrace text (header, then ``# kmemsim:`` lines saying
  what was kept, then the event lines);
- ``perf-script.txt.gz``: ``perf script -F comm,tid,cpu,time,event,trace`` of the
  perf recording, after ``# kmemsim:`` lines;
- ``perf-stat.txt``, ``perf-stat-slab.txt``, ``perf-stat-caller.txt``:
  ``LC_ALL=C perf kmem -i perf.data OPTIONS stat`` with ``--slab --page``,
  ``--slab`` and ``--slab --caller -l 30`` (the options in ``meta.json``);
- ``kallsyms.txt``: the /proc/kallsyms lines of the call sites' symbols;
- ``command.txt``: the workload script; ``notes.txt``: how it was recorded;
  ``meta.json``: the same as data; some workloads add files (``dmesg-oom.txt``).

Trimming: a recording with more ftrace event lines than the workload's limit
(``--max-events``) is cut at a time T in a gap of at least 10 us between events
near the limit; both texts keep the events up to T and the perf goldens are made
with ``--time START,T`` over the whole perf.data, so they count exactly the
events of perf-script.txt.gz.  The ``# kmemsim:`` lines say so.

Not committed (``--big-dir``, default /work/corpus-big): every perf.data
(xz-compressed) and untrimmed ftrace text, and the big recordings.

Everything the script changes is undone in ``finally`` blocks, also on Ctrl-C:
the trace instance is removed (tracefs unmounted again if it mounted it), perf is
stopped, the memory cgroup removed, loop devices detached, mounts and network
namespaces it made deleted, the scratch directory removed.
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import gzip
import json
import lzma
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tracefs_util, also when run as a script
from tracefs_util import Tracing, require_linux, require_root

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "tests" / "data" / "corpus"
DEFAULT_BIG = Path("/work/corpus-big")
EVENTS = ("kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "mm_page_alloc", "mm_page_free")
EXTRA_EVENTS = ("mm_page_alloc_zone_locked", "mm_page_pcpu_drain")
#: what perf kmem --slab --page record runs (tools/perf/builtin-kmem.c __cmd_record)
PERF_KMEM_RECORD = "perf record -a -R -c 1 " + " ".join(f"-e kmem:{e}" for e in EVENTS) + " -g"
PERF_SCRIPT_F = ["-F", "comm,tid,cpu,time,event,trace"]
GOLDENS = [
    ("perf-stat.txt", ["--slab", "--page"]),
    ("perf-stat-slab.txt", ["--slab"]),
    ("perf-stat-caller.txt", ["--slab", "--caller", "-l", "30"]),
]
#: "<comm>-<pid> [<cpu>] <flags> <timestamp>: <event>:" (comm may hold spaces)
FTRACE_RE = re.compile(r"^\s*.+-\d+\s+(?:\(\s*[-\d]+\)\s+)?\[\d+\]\s+\S+\s+(\d+\.\d+):\s+(\w+):")
#: "<comm> <tid> [<cpu>] <timestamp>:  kmem:<event>:"
PERF_RE = re.compile(r"^.*?\s\[\d+\]\s+(\d+\.\d+):\s+kmem:(\w+):")
GAP = 10e-6  # seconds between the last kept and the first cut event, in both recordings
WORK_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else os.path.realpath(sys.executable)
NAME_PREFIX = "kmemsim-corpus"


def die(msg: str) -> None:
    print(f"capture_corpus: {msg}", file=sys.stderr)
    sys.exit(2)


def log(msg: str) -> None:
    print(f"[capture_corpus] {msg}", file=sys.stderr, flush=True)


def sh(cmd: list[str] | str, **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C", LANG="C", PATH=WORK_PATH)
    check = kw.pop("check", True)
    return subprocess.run(cmd, env=env, shell=isinstance(cmd, str), check=check, **kw)


# =========================================================================== workload files

C_MMAP = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#define PG 4096UL
static void touch(char *p, size_t n) { for (size_t i = 0; i < n; i += PG) p[i] = (char)(i >> 12); }
int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 300;
    static const size_t pages[] = {1, 3, 16, 64, 5, 33, 2, 128};
    for (int r = 0; r < rounds; r++) {                       /* anonymous map, touch, churn */
        size_t sz = pages[r % 8] * PG;
        char *p = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return 1;
        touch(p, sz);
        if (r % 3 == 0 && sz > PG) mprotect(p, sz / 2 & ~(PG - 1), PROT_READ);
        if (r % 4 == 0) {
            char *q = mremap(p, sz, sz * 2, MREMAP_MAYMOVE);
            if (q != MAP_FAILED) { p = q; touch(p + sz, sz); sz *= 2; }
        }
        if (r % 5 == 0) madvise(p, sz, MADV_DONTNEED);
        if (r % 7 == 0 && sz > 2 * PG) munmap(p + PG, PG);  /* a hole: the VMA splits */
        munmap(p, sz);
    }
    for (int r = 0; r < rounds / 10; r++) {                  /* MAP_POPULATE */
        char *p = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p != MAP_FAILED) munmap(p, 64 * PG);
    }
    int fd = open("mapfile", O_RDWR | O_CREAT | O_TRUNC, 0600);  /* shared file mappings */
    if (fd < 0 || ftruncate(fd, 256 * PG)) return 2;
    for (int r = 0; r < rounds / 20; r++) {
        char *p = mmap(NULL, 256 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        if (p == MAP_FAILED) return 3;
        touch(p, 256 * PG);
        msync(p, 256 * PG, r % 5 == 0 ? MS_SYNC : MS_ASYNC);
        munmap(p, 256 * PG);
    }
    close(fd);
    unlink("mapfile");
    char *many[400];                                         /* many small VMAs (maple tree) */
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < 400; i++) {
            many[i] = mmap(NULL, PG, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (many[i] != MAP_FAILED && i % 2 == 0) many[i][0] = 1;
        }
        for (int i = 0; i < 400; i++) if (many[i] != MAP_FAILED) munmap(many[i], PG);
    }
    return 0;
}
"""

C_EPOLL = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>
#define NF 200
#define NP 128
#define NE 32
#define NT 8
static char buf[1 << 16];
static int drain_inotify(int in) { int n = 0; while (read(in, buf, sizeof buf) > 0) n++; return n; }
int main(void) {
    char name[64];
    int wds[NF];
    mkdir("watched", 0700);                                  /* inotify: a directory and its files */
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    inotify_add_watch(in, "watched", IN_ALL_EVENTS);
    for (int i = 0; i < NF; i++) {
        snprintf(name, sizeof name, "watched/f%d", i);
        int fd = open(name, O_CREAT | O_WRONLY, 0600);
        write(fd, "x", 1);
        close(fd);
        wds[i] = inotify_add_watch(in, name, IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF);
    }
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < NF; i++) {
            snprintf(name, sizeof name, "watched/f%d", i);
            int fd = open(name, O_WRONLY | O_APPEND);
            write(fd, "y", 1);
            close(fd);
            if (i % 10 == 0) chmod(name, 0640);
        }
        drain_inotify(in);
    }
    for (int i = 0; i < NF; i++) {
        if (i % 2) inotify_rm_watch(in, wds[i]);
        snprintf(name, sizeof name, "watched/f%d", i);
        unlink(name);
    }
    drain_inotify(in);
    rmdir("watched");
    close(in);

    int ep = epoll_create1(EPOLL_CLOEXEC);                   /* epoll over pipes, eventfds, timerfds */
    int p[NP][2], sp[NP / 4][2], ef[NE], tf[NT];
    struct epoll_event ev, evs[64];
    for (int i = 0; i < NP; i++) {
        pipe2(p[i], O_NONBLOCK);
        ev.events = EPOLLIN; ev.data.fd = p[i][0];
        epoll_ctl(ep, EPOLL_CTL_ADD, p[i][0], &ev);
    }
    for (int i = 0; i < NP / 4; i++) {
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sp[i]);
        ev.events = EPOLLIN | EPOLLET; ev.data.fd = sp[i][1];
        epoll_ctl(ep, EPOLL_CTL_ADD, sp[i][1], &ev);
    }
    for (int i = 0; i < NE; i++) {
        ef[i] = eventfd(0, EFD_NONBLOCK);
        ev.events = EPOLLIN; ev.data.fd = ef[i];
        epoll_ctl(ep, EPOLL_CTL_ADD, ef[i], &ev);
    }
    for (int i = 0; i < NT; i++) {
        tf[i] = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
        struct itimerspec its = {{0, 1000000 + i * 100000}, {0, 1000000}};
        timerfd_settime(tf[i], 0, &its, NULL);
        ev.events = EPOLLIN; ev.data.fd = tf[i];
        epoll_ctl(ep, EPOLL_CTL_ADD, tf[i], &ev);
    }
    uint64_t one = 1;
    for (int r = 0; r < 1500; r++) {
        write(p[r % NP][1], "z", 1);
        write(sp[r % (NP / 4)][0], buf, 1 + (r * 37) % 3000);
        write(ef[r % NE], &one, sizeof one);
        int n = epoll_wait(ep, evs, 64, r % 100 == 0 ? 2 : 0);
        for (int k = 0; k < n; k++) while (read(evs[k].data.fd, buf, sizeof buf) > 0) {}
        if (r % 50 == 0) {
            int fd = p[(r / 50) % NP][0];
            epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
            ev.events = EPOLLIN | EPOLLONESHOT; ev.data.fd = fd;
            epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
    }
    for (int i = 0; i < NP; i++) { close(p[i][0]); close(p[i][1]); }
    for (int i = 0; i < NP / 4; i++) { close(sp[i][0]); close(sp[i][1]); }
    for (int i = 0; i < NE; i++) close(ef[i]);
    for (int i = 0; i < NT; i++) close(tf[i]);
    close(ep);
    for (int r = 0; r < 300; r++) {                          /* epoll instances come and go */
        int e = epoll_create1(0), q[2];
        pipe(q);
        ev.events = EPOLLIN; ev.data.fd = q[0];
        epoll_ctl(e, EPOLL_CTL_ADD, q[0], &ev);
        close(q[0]); close(q[1]); close(e);
    }
    return 0;
}
"""

PY_NET = r"""
import os, selectors, socket, sys
n_short = int(sys.argv[1]) if len(sys.argv) > 1 else 300
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(512)
addr = srv.getsockname()
server = os.fork()
if server == 0:                                   # one process, a selector over every connection
    sel = selectors.DefaultSelector()
    sel.register(srv, selectors.EVENT_READ)
    stop = False
    while not stop:
        for key, _ in sel.select():
            s = key.fileobj
            if s is srv:
                c, _ = srv.accept()
                c.setblocking(False)
                sel.register(c, selectors.EVENT_READ)
                continue
            try:
                d = s.recv(1 << 18)
            except (BlockingIOError, ConnectionResetError):
                continue
            if not d:
                sel.unregister(s); s.close()
                continue
            if d.startswith(b"QUIT"):
                stop = True
            try:
                s.send(b"ok %d\n" % len(d))
            except OSError:
                pass
    os._exit(0)
srv.close()
for i in range(n_short):                          # many short connections
    s = socket.create_connection(addr)
    s.sendall(b"x" * (64 + (i * 131) % 4000))
    s.recv(100)
    s.close()
longs = []
for k in range(2):                                # two long ones in parallel, 16 MiB each
    pid = os.fork()
    if pid == 0:
        s = socket.create_connection(addr)
        chunk = bytes(range(256)) * 256
        for j in range(256):
            s.sendall(chunk)
            try:
                s.recv(1 << 16, socket.MSG_DONTWAIT)
            except BlockingIOError:
                pass
        s.shutdown(socket.SHUT_WR)
        while s.recv(1 << 16):
            pass
        s.close()
        os._exit(0)
    longs.append(pid)
u1 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u1.bind(("127.0.0.1", 0))
u2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for n in range(300):                              # and datagrams
    u2.sendto(b"u" * (1 + (n * 97) % 9000), u1.getsockname())
    u1.recv(1 << 16)
u1.close(); u2.close()
for pid in longs:
    os.waitpid(pid, 0)
q = socket.create_connection(addr); q.sendall(b"QUIT"); q.recv(100); q.close()
os.waitpid(server, 0)
"""

PY_HEAP = r"""
import gc, sys
mb = int(sys.argv[1]) if len(sys.argv) > 1 else 48
def touch(b):
    b[::4096] = b"\x01" * len(range(0, len(b), 4096))
for rnd in range(2):
    big = []
    for i in range(mb):                           # 1 MiB buffers: mmap'ed by malloc
        b = bytearray(1 << 20); touch(b); big.append(b)
    small = [("%d" % i) * 8 for i in range(100_000)]   # small objects: the brk heap grows
    d = {i: [i] * 4 for i in range(40_000)}
    del big[::2]                                  # free half, grow again, free all
    for i in range(mb // 4):
        b = bytearray(1 << 19); touch(b); big.append(b)
    del small, d
    gc.collect()
    big.clear()
"""

PY_FADVISE = r"""
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
os.fdatasync(fd)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
os.close(fd)
"""

PY_OOM = r"""
import sys
bufs = []
for i in range(400):                              # 400 MiB, far above the group's limit
    b = bytearray(1 << 20)
    b[::4096] = b"\x01" * 256
    bufs.append(b)
print("not killed", file=sys.stderr)
"""


def gen_compile(wd: Path, n: int = 100) -> None:
    src = wd / "proj"
    src.mkdir()
    (src / "common.h").write_text("#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\n"
                                  + "".join(f"int f{i}_main(int);\n" for i in range(n)))
    for i in range(n):
        funcs = []
        for j in range(12):
            funcs.append(
                f"static int g{j}(int x) {{ char b[64]; int s = 0; snprintf(b, sizeof b, \"%d-{i}-{j}\", x);\n"
                f"  for (size_t k = 0; k < strlen(b); k++) s = s * 31 + b[k] + {j};\n"
                f"  return s ^ (x << {j % 7}); }}\n")
        body = " + ".join(f"g{j}(x + {j})" for j in range(12))
        (src / f"f{i:03d}.c").write_text('#include "common.h"\n' + "".join(funcs)
                                         + f"int f{i}_main(int x) {{ return {body}; }}\n")
    (src / "main.c").write_text('#include "common.h"\nint main(void) { long s = 0;\n'
                                + "".join(f"  s += f{i}_main({i});\n" for i in range(n))
                                + '  printf("%ld\\n", s); return 0; }\n')
    (src / "Makefile").write_text(
        "SRCS := $(sort $(wildcard f*.c)) main.c\nOBJS := $(SRCS:.c=.o)\n"
        "prog: $(OBJS)\n\tgcc -o $@ $(OBJS)\n"
        "%.o: %.c common.h\n\tgcc -O1 -c $< -o $@\n"
        "clean:\n\trm -f $(OBJS) prog\n")


def gen_git(wd: Path) -> None:
    src = wd / "src"
    env = dict(os.environ, LC_ALL="C", PATH=WORK_PATH, HOME=str(wd), GIT_AUTHOR_NAME="k", GIT_AUTHOR_EMAIL="k@e",
               GIT_COMMITTER_NAME="k", GIT_COMMITTER_EMAIL="k@e", GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
               GIT_COMMITTER_DATE="2026-01-01T00:00:00Z")
    subprocess.run(["git", "init", "-q", "-b", "main", str(src)], check=True, env=env)
    for d in range(4):
        (src / f"d{d}").mkdir()
    for c in range(6):
        for f in range(0, 32, 1 if c == 0 else 7):
            p = src / f"d{f % 4}" / f"file{f}.txt"
            p.write_text("".join(f"line {k} of file {f}, commit {c}: {'abcdefgh' * (k % 9)}\n" for k in range(60)))
        subprocess.run(["git", "-C", str(src), "add", "-A"], check=True, env=env)
        subprocess.run(["git", "-C", str(src), "commit", "-q", "-m", f"commit {c}"], check=True, env=env)

PY_UNIX = r"""
import os, socket, sys
n = int(sys.argv[1]) if len(sys.argv) > 1 else 150
path = "srv.sock"
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(128)
pid = os.fork()
if pid == 0:                                      # a forked server: accept, echo, close
    for i in range(n):
        c, _ = srv.accept()
        d = c.recv(1 << 16)
        c.sendall(d[:100])
        c.close()
    os._exit(0)
srv.close()
for i in range(n):                                # short stream connections
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"m" * (32 + (i * 211) % 6000))
    s.recv(200)
    s.close()
os.waitpid(pid, 0)
os.unlink(path)
pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM) for _ in range(64)]
for r in range(20):                               # datagrams over socketpairs, fds passed over them
    for a, b in pairs:
        a.send(b"d" * (1 + (r * 53) % 2000))
        b.recv(4096)
    a, b = pairs[r]
    socket.send_fds(a, [b"fd"], [os.open("/dev/null", os.O_RDONLY)])
    msg, fds, _, _ = socket.recv_fds(b, 16, 4)
    for f in fds:
        os.close(f)
for a, b in pairs:
    a.close(); b.close()
"""

C_THREADS = r"""
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter;
static void *work(void *arg) {
    long k = (long)arg;
    char *p = malloc(64 * 1024 + k * 512);              /* per-thread arenas and heaps */
    memset(p, 1, 64 * 1024);
    for (int i = 0; i < 200; i++) {
        pthread_mutex_lock(&mu);
        counter += k;
        if (i % 50 == 0) pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
    free(p);
    return NULL;
}
int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 20;
    pthread_t t[16];
    for (int r = 0; r < rounds; r++) {                  /* waves of 16 threads: clone, stacks, exit */
        for (long i = 0; i < 16; i++) pthread_create(&t[i], NULL, work, (void *)i);
        for (int i = 0; i < 16; i++) pthread_join(t[i], NULL);
    }
    return counter == 0;
}
"""


def gen_c(wd: Path, name: str, text: str, flags: tuple[str, ...] = ()) -> None:
    (wd / f"{name}.c").write_text(text)
    sh(["gcc", "-O2", "-o", str(wd / name), str(wd / f"{name}.c"), *flags], cwd=wd)


# =========================================================================== workloads


@dataclass
class Workload:
    name: str
    title: str
    script: str
    setup: Callable[[Path, dict], None] | None = None
    cleanup: Callable[[Path, dict], None] | None = None
    system_wide: bool = False
    memcg_limit: int | None = None  # bytes: run in a new memory cgroup of that limit
    dmesg: bool = False  # keep the kernel log lines written during the recording
    timeout: int = 600
    max_events: int | None = None  # None: --max-events
    big: bool = False  # a big recording: out of git (under --big-dir)
    note: str = ""


def _setup_compile(wd: Path, ctx: dict) -> None:
    gen_compile(wd)


def _setup_git(wd: Path, ctx: dict) -> None:
    gen_git(wd)


def _setup_tar(wd: Path, ctx: dict) -> None:
    (wd / "tree").mkdir()
    sh(f"cp -a /usr/include/linux/*.h {wd / 'tree'}/")


def _setup_files(name: str, text: str) -> Callable[[Path, dict], None]:
    def setup(wd: Path, ctx: dict) -> None:
        (wd / name).write_text(text)
    return setup


def _setup_cprog(name: str, text: str, flags: tuple[str, ...] = ()) -> Callable[[Path, dict], None]:
    def setup(wd: Path, ctx: dict) -> None:
        gen_c(wd, name, text, flags)
    return setup


def _setup_loop(wd: Path, ctx: dict) -> None:
    img = wd / "disk.img"
    sh(["truncate", "-s", "128M", str(img)])
    sh(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0", str(img)])
    dev = sh(["losetup", "--find", "--show", str(img)], capture_output=True, text=True).stdout.strip()
    ctx["DEV"] = dev
    (wd / "mnt").mkdir()


def _cleanup_loop(wd: Path, ctx: dict) -> None:
    mnt = wd / "mnt"
    if mnt.exists() and os.path.ismount(mnt):
        sh(["umount", str(mnt)], check=False)
    if ctx.get("DEV"):
        sh(["losetup", "-d", ctx["DEV"]], check=False)


def _cleanup_netns(wd: Path, ctx: dict) -> None:
    out = sh(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(NAME_PREFIX):
            sh(["ip", "netns", "del", name], check=False)


def _setup_drop_dentries(wd: Path, ctx: dict) -> None:
    """Cold dentry and inode caches for the walk (system-wide, untraced: before the snapshot)."""
    sh("sync")
    Path("/proc/sys/vm/drop_caches").write_text("2\n")


NETNS_ROUND = ("  n=kmemsim-corpus-$i\n  ip netns add $n\n  ip -n $n link set lo up\n"
               "  ip -n $n link add v0 type veth peer name v1\n  ip -n $n addr add 10.99.$i.1/24 dev v0\n"
               "  ip -n $n link set v0 up\n  ip netns del $n\n")


def _setup_mixed(wd: Path, ctx: dict) -> None:
    gen_compile(wd, 12)
    gen_git(wd)
    (wd / "heap.py").write_text(PY_HEAP)
    (wd / "net.py").write_text(PY_NET)


def _setup_sqlite(wd: Path, ctx: dict) -> None:
    (wd / "load.sql").write_text("""PRAGMA journal_mode=WAL;
CREATE TABLE t(id INTEGER PRIMARY KEY, a TEXT, b INTEGER);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
  INSERT INTO t SELECT x, hex(randomblob(24)), x % 97 FROM c;
CREATE INDEX ib ON t(b);
SELECT b, count(*), sum(length(a)) FROM t GROUP BY b ORDER BY 2 DESC LIMIT 5;
UPDATE t SET a = upper(a) WHERE b < 20;
DELETE FROM t WHERE b > 80;
VACUUM;
""")


WORKLOADS: list[Workload] = [
    Workload("compile", "make -j2 of 100 generated C files (gcc -O1, 12 functions each) and the link; the committed "
             "text is the first ~40,000 events (the start of the parallel build)",
             "cd proj\nmake -j2 -s prog\n./prog > /dev/null\n", _setup_compile),
    Workload("git", "git clone of a local 6-commit, 32-file repository, checkouts, log -p, gc, fsck",
             "git clone -q src clone\ncd clone\ngit checkout -q -b old HEAD~3\ngit checkout -q main\n"
             "git log -p > /dev/null\ngit gc -q\ngit fsck --no-progress\ngit status --short > /dev/null\n",
             _setup_git),
    Workload("tar-gzip", "tar | gzip of a 544-file tree (a copy of /usr/include/linux/*.h), untar, rm -r",
             "tar cf - tree | gzip -6 > tree.tgz\nmkdir out\ntar xzf tree.tgz -C out\nrm -rf out tree.tgz\n",
             _setup_tar),
    Workload("net-loopback", "Python TCP server on 127.0.0.1 (one process, selectors): 200 short connections, "
             "2 parallel 16 MiB streams, 300 UDP datagrams",
             '"$PY" net.py 200\n', _setup_files("net.py", PY_NET)),
    Workload("fork-exec", "sh loops: 40 x /bin/true, 15 x sh -c 'echo x | cat', 5 x env true",
             "i=0; while [ $i -lt 40 ]; do /bin/true; i=$((i+1)); done\n"
             "i=0; while [ $i -lt 15 ]; do sh -c 'echo x | cat > /dev/null'; i=$((i+1)); done\n"
             "i=0; while [ $i -lt 5 ]; do env true; i=$((i+1)); done\n"),
    Workload("python-heap", "Python grows and frees heaps: 2 rounds of 12 x 1 MiB buffers (mmap), 100k small "
             "strings and a 40k dict (brk), frees half, grows 3 x 512 KiB, frees all",
             '"$PY" heap.py 12\n', _setup_files("heap.py", PY_HEAP)),
    Workload("tmpfs-pagecache", "tmpfs (/dev/shm): 300 small files, a 16 MiB dd, cat, rm; ext4: a 16 MiB file "
             "written (fsync), dropped from the page cache (fadvise DONTNEED), read back, deleted",
             'd=/dev/shm/kmemsim-corpus-$$\nmkdir $d\n'
             'i=0; while [ $i -lt 300 ]; do echo "file $i" > $d/f$i; i=$((i+1)); done\n'
             'dd if=/dev/zero of=$d/big bs=1M count=16 status=none\ncat $d/* > /dev/null\nrm -rf $d\n'
             'dd if=/dev/urandom of=disk.bin bs=1M count=16 conv=fsync status=none\n"$PY" fadvise.py disk.bin\n'
             'cat disk.bin > /dev/null\nrm disk.bin\n', _setup_files("fadvise.py", PY_FADVISE)),
    Workload("mmap-churn", "a C program: 250 anonymous mmap/touch/mprotect/mremap/madvise/munmap rounds, "
             "MAP_POPULATE, MAP_SHARED file mappings with msync, 3 x 400 one-page VMAs",
             "./mmapchurn 250\n", _setup_cprog("mmapchurn", C_MMAP)),
    Workload("epoll-inotify", "a C program: inotify on a directory and 200 files (modify, chmod, unlink), epoll "
             "over 128 pipes, 32 socketpairs, 32 eventfds, 8 timerfds (1500 rounds), 300 epoll instances",
             "./epollino\n", _setup_cprog("epollino", C_EPOLL)),
    Workload("namespaces", "3 rounds of unshare -n/-m/-u/-i/-p -f/-U/-C true and ip netns add, lo up, a veth "
             "pair, ip netns del",
             "i=0\nwhile [ $i -lt 3 ]; do\n" + NETNS_ROUND + "  unshare -n true; unshare -m true; unshare -u true\n"
             "  unshare -i true; unshare -p -f true; unshare -U true; unshare -C true\n  i=$((i+1))\ndone\n",
             cleanup=_cleanup_netns,
             note="the net namespaces' teardown (cleanup_net) runs on a kworker, outside the pid filter: "
             "see netns-systemwide"),
    Workload("netns-systemwide", "2 rounds of ip netns add, lo up, a veth pair, ip netns del, then 1.5 s for the "
             "deferred cleanup_net work; recorded system-wide",
             "i=0\nwhile [ $i -lt 2 ]; do\n" + NETNS_ROUND + "  i=$((i+1))\ndone\nsleep 1.5\n",
             cleanup=_cleanup_netns, system_wide=True,
             note="system-wide: net namespaces are torn down by cleanup_net on a kworker (and RCU), which a pid "
             "filter misses; so this trace also holds everything else that ran on the host then, perf's own "
             "writing of its recording included (as with any perf kmem record)"),
    Workload("memcg-oom", "in a new memory cgroup limited to 64 MiB: 16 MiB of page cache (dd conv=fsync, cat), "
             "then Python allocates 1 MiB buffers until memcg reclaim fails and the OOM killer kills it",
             "dd if=/dev/zero of=cache.bin bs=1M count=16 conv=fsync status=none\ncat cache.bin > /dev/null\n"
             '"$PY" oom.py\necho "allocator exit status: $?" >&2\nrm -f cache.bin\n',
             _setup_files("oom.py", PY_OOM), memcg_limit=64 << 20, dmesg=True, max_events=70_000),
    Workload("blockdev-loop", "a loop device over a 128 MiB ext4 image: buffered read of the block device "
             "(16 MiB), mount, cp of 138 headers, sync, read back, rm, umount, read the device again",
             'dd if="$DEV" of=/dev/null bs=1M count=16 status=none\nmount -t ext4 "$DEV" mnt\n'
             "mkdir mnt/inc\ncp /usr/include/linux/[a-f]*.h mnt/inc/\nsync -f mnt\ncat mnt/inc/* > /dev/null\n"
             'rm -rf mnt/inc\nsync -f mnt\numount mnt\ndd if="$DEV" of=/dev/null bs=4k count=1024 status=none\n',
             _setup_loop, _cleanup_loop,
             note="the loop driver's own I/O to the image runs on its kworker, outside the pid filter; the "
             "block device's page cache and ext4's buffer_heads are allocated by the traced tasks"),
    Workload("sqlite", "sqlite3 on ext4: WAL, 20k-row insert, index, group by, update, delete, vacuum; "
             "then 10 separate sqlite3 processes of one insert each",
             "sqlite3 db.sqlite < load.sql > /dev/null\n"
             "i=0; while [ $i -lt 10 ]; do sqlite3 db.sqlite \"INSERT INTO t(a, b) VALUES('r$i', $i);\"; "
             "i=$((i+1)); done\nrm -f db.sqlite*\n", _setup_sqlite),
    Workload("find-du", "with cold dentry and inode caches (echo 2 > drop_caches before the snapshot): "
             "find /usr/share/zoneinfo /usr/share/perl5, du -s /usr/include/linux, ls -lR /usr/share/doc/p*",
             "find /usr/share/zoneinfo /usr/share/perl5 -xdev > /dev/null 2>&1\ndu -s /usr/include/linux > /dev/null\n"
             "ls -lR /usr/share/doc/p* > /dev/null 2>&1\n", _setup_drop_dentries),
    # ---- held out: captured before the slab-page model was tuned, to measure it on data it was not fitted to
    Workload("ext4-metadata", "ext4 metadata: 40 directories of 12 files, renames, hard and symbolic links, "
             "chmod, stat of every file, rm -r",
             "i=0; while [ $i -lt 40 ]; do mkdir -p t/d$i; j=0; while [ $j -lt 12 ]; do "
             "echo $i.$j > t/d$i/f$j; j=$((j+1)); done; i=$((i+1)); done\n"
             "i=0; while [ $i -lt 40 ]; do mv t/d$i/f0 t/d$i/g0; ln t/d$i/f1 t/d$i/h1; ln -s f2 t/d$i/s2; "
             "i=$((i+1)); done\n"
             "chmod -R go-w t\nfind t -type f -exec stat -c %s {} + > /dev/null\nrm -rf t\n"),
    Workload("unix-sockets", "Python over AF_UNIX: a forked server taking 150 short stream connections, "
             "64 datagram socketpairs (20 rounds), file descriptors passed with SCM_RIGHTS",
             '"$PY" unix.py 150\n', _setup_files("unix.py", PY_UNIX)),
    Workload("threads", "a C program: 20 waves of 16 pthreads (clone, stacks, per-thread malloc arenas, "
             "a mutex and a condition variable), joined",
             "./threads 20\n", _setup_cprog("threads", C_THREADS, ("-pthread",))),
    Workload("text-pipeline", "a shell pipeline over 200k generated lines: seq | awk | sort | uniq -c | "
             "sort -n, split into 50 files, xz and zstd of them, cat, rm",
             "seq 200000 | awk '{print $1 % 9973, $1 * 7}' | sort -k1,1n | uniq -c -w4 | sort -n > out.txt\n"
             "split -n 50 out.txt part.\nxz -k part.a*\nzstd -q part.b*\ncat part.* > /dev/null\n"
             "rm -f part.* out.txt\n"),
    # ---- the big ones, out of git
    Workload("big-mixed", "a mixed workload: make -j2 of 12 C files, git clone/log/gc, tar | gzip of "
             "/usr/share/doc/[a-f]*, find /usr/lib, Python heap, loopback network, fork/exec loop",
             "(cd proj && make -j2 -s prog)\ngit clone -q src clone\n"
             "(cd clone && git log -p > /dev/null && git gc -q)\n"
             "tar cf - /usr/share/doc/[a-f]* 2>/dev/null | gzip -1 > /dev/null\nfind /usr/lib -xdev > /dev/null 2>&1\n"
             '"$PY" heap.py 24\n"$PY" net.py 200\n'
             "i=0; while [ $i -lt 50 ]; do sh -c 'echo x | cat > /dev/null'; i=$((i+1)); done\n",
             _setup_mixed, big=True, max_events=10**9, timeout=1200),
    Workload("big-137k", "about 137,000 events: find /usr -maxdepth 4 and tar | gzip -1 of /usr/share/doc/p* "
             "(benchmarks/bench_trace.py's workload without its ls -R /proc/sys), dentry cache warm",
             "find /usr -maxdepth 4 > /dev/null 2>&1\n"
             "tar cf - /usr/share/doc/p* 2>/dev/null | gzip -1 > /dev/null\n",
             big=True, max_events=10**9),
]
BY_NAME = {w.name: w for w in WORKLOADS}


# =========================================================================== the recording


def memcg_create(limit: int) -> tuple[Path, str]:
    """A new memory cgroup (v2 if its memory controller is there, else v1): (dir, procs file)."""
    name = f"{NAME_PREFIX}-{os.getpid()}"
    for root in (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified")):
        ctl = root / "cgroup.controllers"
        if ctl.exists() and "memory" in ctl.read_text().split():
            sub = (root / "cgroup.subtree_control").read_text().split()
            if "memory" not in sub:
                raise RuntimeError(f"{root}: memory is not enabled in cgroup.subtree_control")
            d = root / name
            d.mkdir()
            (d / "memory.max").write_text(str(limit))
            (d / "memory.swap.max").write_text("0") if (d / "memory.swap.max").exists() else None
            return d, "cgroup.procs"
    v1 = Path("/sys/fs/cgroup/memory")
    if (v1 / "memory.limit_in_bytes").exists():
        d = v1 / name
        d.mkdir()
        (d / "memory.limit_in_bytes").write_text(str(limit))
        return d, "cgroup.procs"
    raise RuntimeError("no memory cgroup controller (v2 or v1) found")


def memcg_remove(d: Path) -> None:
    """Kill what is left in cgroup ``d`` and remove it."""
    for _ in range(50):
        try:
            procs = (d / "cgroup.procs").read_text().split()
        except OSError:
            return
        if not procs:
            break
        for p in procs:
            try:
                os.kill(int(p), signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.1)
    for _ in range(50):
        try:
            d.rmdir()
            return
        except OSError:
            time.sleep(0.1)
    print(f"warning: could not remove {d}", file=sys.stderr)


def dmesg_lines() -> list[str]:
    r = subprocess.run(["dmesg"], capture_output=True, text=True, check=False)
    return r.stdout.splitlines(keepends=True)


@dataclass
class Recording:
    seconds: float = 0.0
    returncode: int | None = None
    header: list[str] = field(default_factory=list)
    body: list[str] = field(default_factory=list)
    overrun: int = 0
    perf_data: Path | None = None
    perf_stderr: str = ""
    snapshot: Path | None = None
    dmesg: list[str] = field(default_factory=list)
    started: str = ""
    tracefs_where: str = ""


def perf_bin() -> str:
    p = shutil.which("perf")
    if not p:
        die("perf is not installed")
    return p


def perf_cgroup_create(tag: str) -> tuple[Path, str]:
    """A new cgroup on the hierarchy perf_event cgroups live on (v1 perf_event, else the cgroup2
    mount, where perf_event is implicit): (dir, name relative to that mount for perf -G)."""
    mounts = [ln.split() for ln in Path("/proc/mounts").read_text().splitlines()]
    v1 = [m[1] for m in mounts if m[2] == "cgroup" and "perf_event" in m[3].split(",")]
    v2 = [m[1] for m in mounts if m[2] == "cgroup2"]
    roots = v1 or v2
    if not roots:
        raise RuntimeError("no perf_event cgroup hierarchy (v1 perf_event or cgroup2) is mounted")
    name = f"{NAME_PREFIX}-{os.getpid()}-{tag}"
    d = Path(roots[0]) / name
    d.mkdir()
    return d, name


def record(w: Workload, wd: Path, ctx: dict, args: argparse.Namespace) -> Recording:
    """Run the workload once, recorded by ftrace and perf; see the module docstring."""
    rec = Recording()
    perf = perf_bin()
    script = wd / "workload.sh"
    script.write_text(w.script)
    env = dict(os.environ, LC_ALL="C", LANG="C", PATH=WORK_PATH, HOME=str(wd), PY=PY, WD=str(wd),
               GIT_AUTHOR_NAME="k", GIT_AUTHOR_EMAIL="k@e", GIT_COMMITTER_NAME="k", GIT_COMMITTER_EMAIL="k@e",
               **{k: str(v) for k, v in ctx.items()})
    env.pop("PYTHONPATH", None)
    events = list(EVENTS) + ([] if args.no_extra_events else list(EXTRA_EVENTS))
    t = Tracing(NAME_PREFIX, die)
    gate: subprocess.Popen | None = None
    perf_proc: subprocess.Popen | None = None
    memcg: Path | None = None
    pcg: Path | None = None
    fifo_dir = Path(tempfile.mkdtemp(prefix=f"{NAME_PREFIX}-perfctl-"))
    ctl_fd = ack_fd = None
    try:
        t.write("tracing_on", "0")
        if t.instance is not None:  # (the global buffer's clock is left alone)
            t.write("trace_clock", "perf")  # perf's clock (local_clock): one time axis for both texts
        t.write("buffer_size_kb", str(args.buffer_kb))
        t.write("trace", "")
        for e in events:
            t.enable(f"kmem/{e}")
        # `read` is a shell builtin: the gate shell forks nothing before the filters are set
        with open(wd / "stderr.txt", "wb") as gate_err:  # the child keeps its own descriptor
            gate = subprocess.Popen(["/bin/sh", "-c", 'read _gate; exec /bin/sh "$1"', "sh", str(script)],
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=gate_err,
                                    cwd=wd, env=env, start_new_session=True)  # fmt: skip
        if w.memcg_limit:
            memcg, procs = memcg_create(w.memcg_limit)
            (memcg / procs).write_text(str(gate.pid))
        perf_cmd = [perf, "kmem", "--slab", "--page", "record", "-m", str(args.perf_mmap_pages), "-D", "-1"]
        if not w.system_wide:
            t.write("set_event_pid", str(gate.pid))
            t.write("options/event-fork", "1")
            pcg, pcg_name = perf_cgroup_create(w.name)
            (pcg / "cgroup.procs").write_text(str(gate.pid))
            perf_cmd += ["-G", pcg_name]
        ctl, ack = fifo_dir / "ctl", fifo_dir / "ack"
        os.mkfifo(ctl)
        os.mkfifo(ack)
        ctl_fd = os.open(ctl, os.O_RDWR)
        ack_fd = os.open(ack, os.O_RDWR | os.O_NONBLOCK)
        rec.perf_data = wd / "perf.data"
        perf_cmd += ["--control", f"fifo:{ctl},{ack}", "-o", str(rec.perf_data)]
        perf_err = wd / "perf-record.err"
        with open(perf_err, "wb") as f:
            perf_proc = subprocess.Popen(perf_cmd, stdout=f, stderr=f, stdin=subprocess.DEVNULL,
                                         env=dict(os.environ, LC_ALL="C"))  # fmt: skip
        time.sleep(1.5)  # perf opens its events (disabled) and the control fifo
        if perf_proc.poll() is not None:
            raise RuntimeError(f"perf record exited early: {perf_err.read_text(errors='replace')}")
        rec.snapshot = wd / "snapshot"
        from kmemsim import capture

        # read now, written after the recording: writing the snapshot's 7,000 files here would
        # use the free ext4 inodes, dentries, extent_status and radix_tree_node objects the
        # snapshot has just counted, so that the trace would start with less room than it shows
        host = capture.read(note=f"taken by tools/capture_corpus.py just before recording the workload {w.name}; "
                            "read into memory and written after the recording")
        before = dmesg_lines() if w.dmesg else []
        rec.started = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        t.write("tracing_on", "1")
        os.write(ctl_fd, b"enable\n")
        r, _, _ = select.select([ack_fd], [], [], 15)
        if not r or b"ack" not in os.read(ack_fd, 100):
            raise RuntimeError("perf did not acknowledge 'enable'")
        t0 = time.monotonic()
        assert gate.stdin is not None
        gate.stdin.write(b"go\n")
        gate.stdin.close()
        try:
            rec.returncode = gate.wait(timeout=w.timeout)
        except subprocess.TimeoutExpired:
            log(f"{w.name}: workload cut off after {w.timeout}s")
            os.killpg(gate.pid, signal.SIGKILL)
            rec.returncode = gate.wait()
        rec.seconds = time.monotonic() - t0
        t.write("tracing_on", "0")
        os.write(ctl_fd, b"disable\n")
        r, _, _ = select.select([ack_fd], [], [], 15)
        if r:
            os.read(ack_fd, 100)
        perf_proc.send_signal(signal.SIGINT)
        try:
            perf_proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            perf_proc.send_signal(signal.SIGINT)
            perf_proc.wait(timeout=60)
        rec.perf_stderr = perf_err.read_text(errors="replace")
        rec.overrun = t.overrun()
        rec.tracefs_where = "a private trace instance" if t.instance is not None else "the global buffer (restored)"
        with open(t.root / "trace", encoding="utf-8", errors="replace") as f:
            for line in f:
                if not rec.body and line.startswith("#"):
                    rec.header.append(line)
                else:
                    rec.body.append(line)
        if w.dmesg:
            after = dmesg_lines()
            rec.dmesg = after[len(before):] if after[: len(before)] == before else after[-200:]
        capture.write(host, rec.snapshot)
        capture.make_tarball(rec.snapshot, wd / "snapshot.tar.gz")
    finally:
        if gate is not None and gate.poll() is None:
            try:
                os.killpg(gate.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            gate.wait()
        if gate is not None:  # whatever the workload left running in its session
            try:
                os.killpg(gate.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if perf_proc is not None and perf_proc.poll() is None:
            perf_proc.send_signal(signal.SIGINT)
            try:
                perf_proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                perf_proc.kill()
                perf_proc.wait()
        for fd in (ctl_fd, ack_fd):
            if fd is not None:
                os.close(fd)
        shutil.rmtree(fifo_dir, ignore_errors=True)
        t.restore()
        for cg in (memcg, pcg):
            if cg is not None:
                memcg_remove(cg)
    return rec


# =========================================================================== output


def count(lines: list[str], rx: re.Pattern[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in lines:
        m = rx.match(line)
        if m:
            out[m.group(2)] = out.get(m.group(2), 0) + 1
        elif line.strip() and not line.startswith("#"):
            out["(other)"] = out.get("(other)", 0) + 1
    return out


def fmt_counts(c: dict[str, int]) -> str:
    order = [e for e in (*EVENTS, *EXTRA_EVENTS) if e in c] + sorted(set(c) - set(EVENTS) - set(EXTRA_EVENTS))
    return " ".join(f"{e}={c[e]}" for e in order)


def times(lines: list[str], rx: re.Pattern[str]) -> list[float | None]:
    out: list[float | None] = []
    for line in lines:
        m = rx.match(line)
        out.append(float(m.group(1)) if m else None)
    return out


def cut_time(ts: list[float | None], limit: int) -> float | None:
    """A time T after the event at most ``limit`` events in and before the next one,
    in a gap of at least GAP; None when no cut is needed."""
    evs = [t for t in ts if t is not None]
    if len(evs) <= limit:
        return None
    for i in range(limit, 1, -1):
        if evs[i] - evs[i - 1] >= GAP:
            return evs[i - 1] + GAP / 2
    return None


def keep_until(lines: list[str], rx: re.Pattern[str], cut: float) -> list[str]:
    out = []
    for line in lines:
        m = rx.match(line)
        if m and float(m.group(1)) > cut:
            break
        out.append(line)
    return out


def gz(text: str) -> bytes:
    return gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)


def kallsyms_subset(script: str) -> str:
    syms = set(re.findall(r"call_site=([^+ ]+)\+", script))
    out = []
    with open("/proc/kallsyms") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] in syms and parts[0].strip("0") != "":
                out.append(line)
    return "".join(out)


def perf_run(args: list[str], **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ, LC_ALL="C", LANG="C")
    return subprocess.run([perf_bin(), *args], env=env, capture_output=True, text=True, check=False, **kw)


def write_outputs(w: Workload, wd: Path, rec: Recording, args: argparse.Namespace) -> dict:
    out = (args.big_dir if w.big else args.output) / w.name
    big = args.big_dir / "full" / w.name
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    big.mkdir(parents=True, exist_ok=True)
    assert rec.perf_data is not None
    ps = perf_run(["script", "-i", str(rec.perf_data), *PERF_SCRIPT_F])
    if ps.returncode != 0:
        raise RuntimeError(f"perf script failed: {ps.stderr}")
    perf_lines = ps.stdout.splitlines(keepends=True)
    perf_warn = "".join(ln for ln in ps.stderr.splitlines(keepends=True) if ln.strip())
    limit = w.max_events or args.max_events
    ft_total = count(rec.body, FTRACE_RE)
    pf_total = count(perf_lines, PERF_RE)
    cut = cut_time(times(rec.body, FTRACE_RE), limit)
    if cut is not None:
        body = keep_until(rec.body, FTRACE_RE, cut)
        plines = keep_until(perf_lines, PERF_RE, cut)
    else:
        body, plines = rec.body, perf_lines
    ft_kept = count(body, FTRACE_RE)
    pf_kept = count(plines, PERF_RE)
    pt = [t for t in times(plines, PERF_RE) if t is not None]
    window = f"{pt[0]:.6f},{cut:.6f}" if cut is not None and pt else None
    u = os.uname()
    pv = perf_run(["version"]).stdout.strip()
    filt = ("every task (system-wide): ftrace without a pid filter, perf kmem record without a cgroup"
            if w.system_wide else "the workload's process tree: ftrace set_event_pid + options/event-fork, "
            "perf kmem record -G of a new cgroup holding only the workload (children stay in it)")
    n_ft = sum(v for k, v in ft_kept.items() if k != "(other)")
    n_pf = sum(pf_kept.values())
    trim_note = (f"trimmed at t={cut:.6f} (in a gap of >= {GAP * 1e6:.0f} us near the first {limit} ftrace "
                 f"events): ftrace kept {n_ft} of {sum(ft_total.values())} lines, perf kept {n_pf} of "
                 f"{sum(pf_total.values())} events; perf goldens made with --time {window}"
                 if cut is not None else "not trimmed: every recorded event is kept")
    common = [
        f"# kmemsim: corpus trace {w.name}: {w.title}\n",
        (f"# kmemsim: made by tools/capture_corpus.py on {rec.started} on Linux {u.release} {u.machine} "
         f"({os.cpu_count()} CPUs), as root; workload {rec.seconds:.1f}s, exit status {rec.returncode}\n"),
        f"# kmemsim: recorded: {filt}; ftrace and perf recorded the same run at once\n",
        f"# kmemsim: {trim_note}\n",
    ]
    ft_info = common + [
        f"# kmemsim: ftrace kept per event: {fmt_counts(ft_kept)}\n",
        (f"# kmemsim: ftrace read per event: {fmt_counts(ft_total)}; overrun {rec.overrun}; "
         f"per-CPU buffer {args.buffer_kb} KB in {rec.tracefs_where}\n"),
    ]
    pf_info = common + [
        (f"# kmemsim: perf script -F comm,tid,cpu,time,event,trace of perf kmem --slab --page record"
         f"{'' if w.system_wide else ' -G CGROUP'} "
         f"({PERF_KMEM_RECORD}{'' if w.system_wide else ' -G CGROUP'}; {pv})\n"),
        f"# kmemsim: perf kept per event: {fmt_counts(pf_kept)}\n",
        f"# kmemsim: perf read per event: {fmt_counts(pf_total)}\n",
    ]
    (out / "trace.txt.gz").write_bytes(gz("".join(rec.header) + "".join(ft_info) + "".join(body)))
    (out / "perf-script.txt.gz").write_bytes(gz("".join(pf_info) + "".join(plines)))
    goldens = {}
    for fname, opts in GOLDENS:
        o = [*opts, "--time", window] if window else opts
        r = perf_run(["kmem", "-i", str(rec.perf_data), *o, "stat"])
        (out / fname).write_text(r.stdout)
        goldens[fname] = "perf kmem -i perf.data " + " ".join(o) + " stat"
    (out / "kallsyms.txt").write_text(kallsyms_subset("".join(plines)))
    (out / "command.txt").write_text(w.script)
    tar = wd / "snapshot.tar.gz"
    shutil.copyfile(tar, out / "snapshot.tar.gz")
    if rec.dmesg:
        (out / "dmesg-oom.txt").write_text("".join(rec.dmesg))
    # out of git: perf.data and the untrimmed ftrace text
    (big / "perf.data.xz").write_bytes(lzma.compress(rec.perf_data.read_bytes(), preset=6))
    if cut is not None:
        (big / "trace-full.txt.gz").write_bytes(gzip.compress("".join(rec.header + rec.body).encode(), 6, mtime=0))
    stderr = (wd / "stderr.txt").read_text(errors="replace") if (wd / "stderr.txt").exists() else ""
    meta = {
        "name": w.name,
        "title": w.title,
        "date": rec.started,
        "kernel": f"{u.release} {u.machine}",
        "cpus": os.cpu_count(),
        "perf": pv,
        "seconds": round(rec.seconds, 2),
        "exit_status": rec.returncode,
        "filter": "system-wide" if w.system_wide else "pid tree",
        "ftrace_events": list(EVENTS) + ([] if args.no_extra_events else list(EXTRA_EVENTS)),
        "ftrace_kept": ft_kept,
        "ftrace_recorded": ft_total,
        "ftrace_overrun": rec.overrun,
        "perf_kept": pf_kept,
        "perf_recorded": pf_total,
        "trimmed_at": f"{cut:.6f}" if cut is not None else None,
        "perf_time_window": window,
        "goldens": goldens,
        "perf_warnings": (rec.perf_stderr.strip() + "\n" + perf_warn).strip(),
        "note": w.note,
        "memcg_limit": w.memcg_limit,
        "big": w.big,
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    memcg_note = (f"Memory cgroup: a new group limited to {w.memcg_limit >> 20} MiB, the workload moved into it "
                  "before the gate opened; dmesg-oom.txt: the kernel log lines written during the recording."
                  if w.memcg_limit else "")
    notes = f"""{w.name}: {w.title}

Recorded {rec.started} on Linux {u.release} {u.machine} ({os.cpu_count()} CPUs), as root, by
`sudo python3 tools/capture_corpus.py {w.name}`; workload {rec.seconds:.1f} s, exit status {rec.returncode}.
Filtering: {filt}.
{('Note: ' + w.note + '.') if w.note else ''}
{memcg_note}
One run, recorded by both tracers at once: ftrace (private instance, per-CPU buffer {args.buffer_kb} KB,
trace_clock perf, events {', '.join(meta['ftrace_events'])}) and perf kmem --slab --page record
{'' if w.system_wide else '-G CGROUP '}({pv}; it runs {PERF_KMEM_RECORD}{'' if w.system_wide else ' -G CGROUP'}).
{trim_note}.

ftrace (trace.txt.gz), kept: {fmt_counts(ft_kept)}
ftrace, recorded: {fmt_counts(ft_total)}; ring-buffer overrun: {rec.overrun}
perf (perf-script.txt.gz), kept: {fmt_counts(pf_kept)}
perf, recorded: {fmt_counts(pf_total)}
Goldens (LC_ALL=C): {'; '.join(f'{k}: {v}' for k, v in goldens.items())}
snapshot.tar.gz: kmemsim snapshot taken just before tracing was switched on (after the workload's files were made).
perf warnings: {meta['perf_warnings'] or 'none'}
workload stderr (first lines): {''.join(stderr.splitlines(keepends=True)[:10]).strip() or 'none'}
"""
    (out / "notes.txt").write_text(notes)
    return meta


# =========================================================================== README and check


def snapshot_written_after(d: Path) -> bool:
    """Whether the snapshot of corpus directory ``d`` was read before and written after its
    recording (its ``SNAPSHOT`` note says so), rather than written before it."""
    import tarfile

    with tarfile.open(d / "snapshot.tar.gz") as tf:
        for member in tf:
            if member.name.endswith("/SNAPSHOT") or member.name == "SNAPSHOT":
                f = tf.extractfile(member)
                return f is not None and b"written after the recording" in f.read()
    return False


def _names(names: list[str]) -> str:
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1] if names else "none"


def write_readme(out: Path, big_dir: Path) -> None:
    metas = []
    for d in sorted(out.iterdir()) if out.exists() else []:
        if (d / "meta.json").exists():
            metas.append(json.loads((d / "meta.json").read_text()))
    order = {w.name: i for i, w in enumerate(WORKLOADS)}
    metas.sort(key=lambda m: order.get(m["name"], 999))
    after = [m["name"] for m in metas if snapshot_written_after(out / m["name"])]
    before = [m["name"] for m in metas if m["name"] not in after]
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    rows = []
    for m in metas:
        k = m["ftrace_kept"]
        p = m["perf_kept"]
        size = sum(f.stat().st_size for f in (out / m["name"]).iterdir())
        rows.append(
            f"| `{m['name']}` | {m['seconds']:.1f} | {m['filter']} | "
            + " | ".join(f"{k.get(e, 0)}/{p.get(e, 0)}" for e in EVENTS)
            + f" | {sum(v for e, v in k.items() if e in EXTRA_EVENTS)} | "
            + ("yes" if m["trimmed_at"] else "no") + f" | {size // 1024} |")
    lines = [
        "# A corpus of real kmem traces (made by tools/capture_corpus.py)",
        "",
        "Golden test data: real kmem traces of varied workloads on the reference host, each with a",
        "`kmemsim snapshot` taken just before it and perf kmem's own statistics of it.  Remade with",
        "`sudo python3 tools/capture_corpus.py [NAME...]` (its docstring says exactly how);",
        "`python3 tools/capture_corpus.py --check` runs `kmemsim stat --perf-only` against the goldens.",
        "",
        "Each directory `<name>/` holds:",
        "",
        "- `snapshot.tar.gz`: `kmemsim snapshot` of the host taken just before the recording (after the",
        "  workload's input files were made, with the trace buffers already allocated), read just before and",
        *((f"  written after the recording (its `SNAPSHOT` says so): {_names(after)};",
           f"  written before it: {_names(before)}; those 7,000 files used ext4 inodes, dentries and the like",
           "  that the snapshot had counted as free (docs/traces.md, \"The snapshot's own writes\");")
          if before else
          ("  written after the recording (its `SNAPSHOT` says so): writing its 7,000 files before would use",
           "  ext4 inodes, dentries and the like that it had counted as free (docs/traces.md, \"The snapshot's",
           "  own writes\");")),
        "- `trace.txt.gz`: ftrace text of a private trace instance's `trace` file: its header, then",
        "  `# kmemsim:` lines (what the workload was, how it was filtered, what was kept or trimmed, event",
        "  counts), then the event lines: kmalloc, kfree, kmem_cache_alloc, kmem_cache_free, mm_page_alloc,",
        "  mm_page_free and also mm_page_alloc_zone_locked, mm_page_pcpu_drain;",
        "- `perf-script.txt.gz`: `perf script -F comm,tid,cpu,time,event,trace` of a perf recording of the",
        "  *same run* (both tracers were on at once), after `# kmemsim:` lines; the recording was",
        "  `perf kmem --slab --page record -G CGROUP` (system-wide: without `-G`), CGROUP a cgroup2 group",
        "  holding only the workload's processes;",
        "- `perf-stat.txt`, `perf-stat-slab.txt`, `perf-stat-caller.txt`: `LC_ALL=C perf kmem -i perf.data",
        "  {--slab --page | --slab | --slab --caller -l 30} stat` of that recording (with `--time START,T` when",
        "  trimmed: exactly the events of perf-script.txt.gz);",
        "- `kallsyms.txt`: the /proc/kallsyms lines of the call sites' symbols (for `kmemsim stat --kallsyms`);",
        "- `command.txt`: the workload, a `/bin/sh` script run in a scratch directory (`$PY` is /usr/bin/python3,",
        "  `$DEV` the loop device); `notes.txt`: how it was made and the counts; `meta.json`: the same as data;",
        "  `memcg-oom/dmesg-oom.txt`: the kernel log of the memory cgroup's OOM kill.",
        "",
        "Filtering: 'pid tree' = only the workload's own processes (ftrace `set_event_pid` + `options/event-fork`",
        "on the gate shell; perf `-G` of a cgroup the gate shell was moved into, which every child inherits);",
        "interrupts and softirqs that hit while one of them runs are in, kworkers and RCU callbacks run",
        "elsewhere are out.  'system-wide' = every task on the host (other work ran on it at the time).",
        "(`perf record -p PID` would not do: on 6.18 `perf_event_exit_task()` runs before `exit_mm()`, so a",
        "per-task perf recording loses every exiting task's teardown.)  ftrace's instance used `trace_clock`",
        "`perf`, so both texts share one time axis.",
        "",
        "Trimming: a trace with more event lines than its limit (40,000 by default) is cut at a time T lying in a",
        "gap of at least 10 us between events near the limit; both texts keep the events up to T (the",
        "`# kmemsim:` lines say where and how many were cut), and the perf goldens are `perf kmem ... --time",
        "START,T stat` over the whole recording.  The ftrace header's entries-in-buffer/entries-written",
        "line is the whole buffer's (it only tells of ring-buffer overruns).",
        "The ftrace and perf texts of one trace are of one run, nearly event for event (ftrace also has the",
        "two pcp events; the per-type counts of both are in the table).",
        "",
        ("| trace | s | filter | kmalloc | kfree | kmem_cache_alloc | kmem_cache_free | mm_page_alloc | mm_page_free "
         "| zone_locked+pcpu_drain | trimmed | KiB |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Counts are `ftrace/perf` of the kept events.  `unix-sockets`, `threads` and `text-pipeline` are",
        "held-out workloads (first recorded before the replay's seeding learnt about 6.18's sheaves, and not",
        "looked at while choosing how: docs/traces.md, \"Slab pages: the kernel's and the model's\";",
        "all three were recorded again since, with the snapshot written after the recording).  Workloads:",
        "",
    ]
    for m in metas:
        cmd = (out / m["name"] / "command.txt").read_text().strip()
        lines += [
            f"### {m['name']}",
            "",
            (f"{m['title']}.  Recorded {m['date']}, Linux {m['kernel']}, {m['cpus']} CPUs, {m['perf']}; "
             f"{m['seconds']:.1f} s, {m['filter']}, exit status {m['exit_status']}"
             + (f"; trimmed at t={m['trimmed_at']} (perf --time {m['perf_time_window']})" if m["trimmed_at"] else "")
             + ".  " + (m["note"] + "." if m.get("note") else "")),
            "",
            "```sh",
            cmd,
            "```",
            "",
            (f"ftrace recorded {fmt_counts(m['ftrace_recorded'])} (overrun {m['ftrace_overrun']}); "
             f"perf recorded {fmt_counts(m['perf_recorded'])}."),
            "",
        ]
    bigs = []
    for w in WORKLOADS:
        mf = big_dir / w.name / "meta.json"
        if w.big and mf.exists():
            m = json.loads(mf.read_text())
            size = sum(f.stat().st_size for f in (big_dir / w.name).iterdir())
            bigs.append(f"- `{w.name}` ({m['title']}; {m['date']}, {m['seconds']:.1f} s, {m['filter']}): "
                        f"ftrace {sum(m['ftrace_recorded'].values()):,} event lines, perf "
                        f"{sum(m['perf_recorded'].values()):,} events ({fmt_counts(m['perf_recorded'])}); "
                        f"{size:,} bytes in {big_dir / w.name}, perf.data.xz in {big_dir / 'full' / w.name}")
    lines += [
        f"Total size of this directory: {total:,} bytes.",
        "",
        f"Not committed (too big), on the capture host under {big_dir}: `full/<name>/perf.data.xz` (the perf",
        "recording of every trace) and `full/<name>/trace-full.txt.gz` (the untrimmed ftrace text of each",
        "trimmed trace), and two big recordings made the same way (same files as a corpus directory), for",
        "speed benchmarks against perf:",
        "",
        *(bigs or ["- (not captured yet: `sudo python3 tools/capture_corpus.py --big`)"]),
        "",
        "perf 6.1 names migratetypes with the pre-4.4 enum: in these 6.18 recordings its \"Reclaimable\"",
        "column is MIGRATE_MOVABLE and its \"Movable\" is MIGRATE_RECLAIMABLE (see docs/traces.md).",
        "",
    ]
    (out / "README.md").write_text("\n".join(lines))


def replay_outcome(kmemsim: list[str], env: dict, trace: Path, snapshot: Path) -> str:
    """``kmemsim replay TRACE --host SNAPSHOT``: 'runs, bytes_alloc mismatches: N' or where it failed."""
    t0 = time.monotonic()
    r = subprocess.run([*kmemsim, "replay", str(trace), "--host", str(snapshot)], capture_output=True, text=True,
                       env=env, check=False)  # fmt: skip
    dt = time.monotonic() - t0
    if r.returncode == 0:
        m = re.search(r"bytes_alloc mismatches: (\d+)", r.stdout)
        return f"runs, bytes_alloc mismatches: {m.group(1) if m else '?'} ({dt:.1f} s)"
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    frames = [ln.strip() for ln in lines if ln.strip().startswith('File "') and "/kmemsim/" in ln]
    where = re.sub(r'^File ".*/src/(kmemsim/.*)", line (\d+), in (\S+)$', r"\1:\2 \3", frames[-1]) if frames else ""
    return f"fails (exit {r.returncode}): {lines[-1] if lines else '?'}" + (f" at {where}" if where else "")


def check(out: Path, names: list[str], replay: bool) -> int:
    kmemsim = [sys.executable, "-m", "kmemsim.cli.main"]
    env = dict(os.environ, LC_ALL="C", PYTHONPATH=str(REPO / "src"))
    bad = 0
    for d in sorted(out.iterdir()):
        if not (d / "meta.json").exists() or (names and d.name not in names):
            continue
        meta = json.loads((d / "meta.json").read_text())
        for fname, cmd in meta["goldens"].items():
            opts = cmd.split(" -i perf.data ", 1)[1].rsplit(" stat", 1)[0].split()
            if "--time" in opts:  # perf-script.txt.gz holds exactly the window
                i = opts.index("--time")
                del opts[i:i + 2]
            extra = ["--kallsyms", str(d / "kallsyms.txt")] if "--caller" in opts else []
            r = subprocess.run([*kmemsim, "stat", "--perf-only", *opts, *extra, str(d / "perf-script.txt.gz")],
                               capture_output=True, text=True, env=env, check=False)  # fmt: skip
            same = r.returncode == 0 and r.stdout == (d / fname).read_text()
            bad += not same
            print(f"{d.name:18s} stat {fname:22s} {'same' if same else 'DIFFERS'}"
                  + ("" if r.returncode == 0 else f" (exit {r.returncode}: {r.stderr.strip()[-200:]})"), flush=True)
        if replay:
            for trace in ("trace.txt.gz", "perf-script.txt.gz"):
                print(f"{d.name:18s} replay {trace:20s} "
                      f"{replay_outcome(kmemsim, env, d / trace, d / 'snapshot.tar.gz')}",
                      flush=True)
    return 1 if bad else 0


# =========================================================================== main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="workloads to capture (default: every one but the big ones)")
    ap.add_argument("-o", "--output", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--big-dir", type=Path, default=DEFAULT_BIG, help="out-of-git files (default /work/corpus-big)")
    ap.add_argument("--big", action="store_true", help="capture the big recordings (into --big-dir)")
    ap.add_argument("--max-events", type=int, default=40_000, help="ftrace event lines kept per trace")
    ap.add_argument("--buffer-kb", type=int, default=131072, help="per-CPU ftrace buffer (KB)")
    ap.add_argument("--perf-mmap-pages", type=int, default=4096, help="perf record -m")
    ap.add_argument("--no-extra-events", action="store_true", help="ftrace: only the six events")
    ap.add_argument("--system-wide", action="store_true",
                    help="record every task, not the workload's process tree, for every workload: the frees "
                         "RCU callbacks, timers and kworkers make for it run outside that tree")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--readme", action="store_true", help="only rewrite the README from the meta.json files")
    ap.add_argument("--check", action="store_true", help="kmemsim stat --perf-only against the goldens")
    ap.add_argument("--replay", action="store_true", help="with --check: also kmemsim replay each trace")
    args = ap.parse_args()
    if args.list:
        for w in WORKLOADS:
            print(f"{w.name:16s} {'(big) ' if w.big else ''}{w.title}")
        return 0
    if args.readme:
        write_readme(args.output, args.big_dir)
        return 0
    if args.check:
        return check(args.output, args.names, args.replay)
    for n in args.names:
        if n not in BY_NAME:
            die(f"no workload {n!r}; --list shows them")
    todo = [BY_NAME[n] for n in args.names] if args.names else [w for w in WORKLOADS if w.big == args.big]
    if args.system_wide:
        todo = [dataclasses.replace(w, system_wide=True) for w in todo]
    require_linux(die)
    require_root(die)
    perf_bin()
    tmp = Path(tempfile.mkdtemp(prefix=f"{NAME_PREFIX}-{os.getpid()}-"))
    try:
        for w in todo:
            wd = tmp / w.name
            wd.mkdir()
            ctx: dict = {}
            log(f"{w.name}: setting up")
            try:
                if w.setup:
                    w.setup(wd, ctx)
                log(f"{w.name}: recording")
                rec = record(w, wd, ctx, args)
            finally:
                if w.cleanup:
                    w.cleanup(wd, ctx)
            meta = write_outputs(w, wd, rec, args)
            log(f"{w.name}: {rec.seconds:.1f}s, ftrace kept {fmt_counts(meta['ftrace_kept'])}; "
                f"perf kept {fmt_counts(meta['perf_kept'])}; trimmed at {meta['trimmed_at']}")
            shutil.rmtree(wd, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_readme(args.output, args.big_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
