"""``kmemsim record`` (kmemsim.trace.record, the record command of kmemsim.cli.trace_cmd).

Most tests run anywhere: a fake tracefs directory without ``instances/`` (so that
record takes the global-buffer path, saving and restoring every file it writes)
whose ``trace_pipe`` is a plain file of real trace lines.  Tests marked ``host``
trace the live kernel: they need root and tracefs, skip cleanly elsewhere, and
look only at the instances their own recorders made."""
from __future__ import annotations

import gzip
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import DATA

from kmemsim.cli.trace_cmd import register
from kmemsim.trace import TraceReader
from kmemsim.trace import record as record_mod

EVENTS = ("kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "mm_page_alloc", "mm_page_free")
SRC = Path(__file__).resolve().parent.parent / "src"


@click.group()
def cli() -> None:
    pass


register(cli)


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def pipe_lines(n: int = 40) -> str:
    with gzip.open(DATA / "host-6.18" / "kmem-trace.txt.gz", "rt") as f:
        lines = [ln for ln in f if not ln.startswith("#")]
    return "".join(lines[:n])


def make_fake_tracefs(root: Path) -> Path:
    """A tracefs as a plain directory: no instances/, so record uses (and restores) the top."""
    files = {
        "trace": "# tracer: nop\n",
        "trace_pipe": pipe_lines(),
        "tracing_on": "1\n",
        "buffer_size_kb": "1408\n",
        "set_event_pid": "",
        "set_event_notrace_pid": "",
        "options/stacktrace": "0\n",
        "options/event-fork": "0\n",
        "options/hash-ptr": "1\n",
        "per_cpu/cpu0/stats": "entries: 0\noverrun: 0\n",
        "per_cpu/cpu1/stats": "entries: 0\noverrun: 3\n",
    }
    for e in EVENTS:
        files[f"events/kmem/{e}/enable"] = "0\n"
        files[f"events/kmem/{e}/filter"] = "none\n"
    files["events/sched/sched_switch/enable"] = "0\n"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def state(root: Path) -> dict[str, str]:
    """Every file's text; a filter written "0" reads "none", as the kernel's does after that write."""
    out = {p.relative_to(root).as_posix(): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}
    for k, v in out.items():
        if k.endswith("/filter") and v == "0\n":
            out[k] = "none\n"
        elif k.endswith("_pid") and not v.strip():
            out[k] = ""  # an empty pid list reads as nothing
    return out


@pytest.fixture
def fake(tmp_path, monkeypatch) -> Path:
    top = make_fake_tracefs(tmp_path / "tracing")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(record_mod, "TRACEFS_CANDIDATES", (top,))
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.chdir(out)
    return top


def restored(before: dict[str, str], after: dict[str, str]) -> bool:
    """The fake as it was, but for ``trace``, which restore clears (global buffer)."""
    b, a = dict(before), dict(after)
    b.pop("trace")
    return a.pop("trace") == "\n" and a == b


# -------------------------------------------------------------------------- with a fake tracefs


def test_records_gzip_by_default_and_restores_everything(fake):
    before = state(fake)
    r = run("record", "--", "sh", "-c", "exit 0")
    assert r.exit_code == 0, r.output
    out = Path("trace.txt.gz")
    assert out.read_bytes()[:2] == b"\x1f\x8b"
    text = gzip.decompress(out.read_bytes()).decode()
    assert text.startswith("# tracer: nop\n#\n# kmemsim-record: command: sh -c exit 0\n")
    assert "# kmemsim-record: tasks: all\n" in text
    assert "# kmemsim-record: overrun: 3 events overwritten" in text
    assert pipe_lines() in text
    rd = TraceReader(out)
    assert len(list(rd)) == 40 and rd.stats.malformed == 0
    assert "kmemsim record: 40 events" in r.output and "-> trace.txt.gz" in r.output
    assert restored(before, state(fake))
    assert sorted(os.listdir(".")) == ["trace.txt.gz"]  # no temporary file left


def test_filters_and_stack_traces_are_set_while_recording_and_restored(fake):
    before = state(fake)
    seen = Path("seen").resolve()
    script = (f"cat {fake}/options/stacktrace {fake}/options/event-fork {fake}/set_event_pid "
              f"{fake}/events/kmem/kmalloc/filter {fake}/events/kmem/kmalloc/enable > {seen}")  # fmt: skip
    r = run("record", "-g", "--pid", f"{os.getpid()}", "--comm", "ls", "--comm", "py*", "-o", "t.txt",
            "--", "sh", "-c", script)  # fmt: skip
    assert r.exit_code == 0, r.output
    got = seen.read_text().split("\n")
    # the process and its threads, by tid (after the pids wrap, a thread may come before it)
    assert got[:2] == ["1", "1"] and str(os.getpid()) in got[2].split()
    assert 'comm == "ls" || comm ~ "py*"' in seen.read_text() and got[-2] == "1"
    head = Path("t.txt").read_text()
    assert "# kmemsim-record: stack traces: options/stacktrace" in head
    tasks = re.search(r"^# kmemsim-record: tasks: pids ([\d ]+) and what they fork", head, re.M)
    assert tasks is not None and str(os.getpid()) in tasks.group(1).split() and 'comm == "ls"' in head
    assert restored(before, state(fake))


def test_tree_the_command_adds_itself_before_exec(fake):
    seen = Path("seen").resolve()
    r = run("record", "--tree", "-o", "t.txt", "--", "sh", "-c", f"echo $$ > {seen}; cat {fake}/set_event_pid "
            f"{fake}/tracing_on {fake}/options/event-fork >> {seen}")  # fmt: skip
    assert r.exit_code == 0, r.output
    pid, *rest = seen.read_text().split()
    assert rest == [pid, "1", "1"]  # set_event_pid holds the command itself, which turned tracing on


def test_without_a_filter_kmemsim_leaves_itself_out(fake):
    seen = Path("seen").resolve()
    r = run("record", "-o", "t.txt", "--", "sh", "-c", f"cat {fake}/set_event_notrace_pid > {seen}")
    assert r.exit_code == 0, r.output
    assert seen.read_text().split() == [str(os.getpid())]
    assert (fake / "set_event_notrace_pid").read_text() == "\n"


def test_the_commands_status_is_kmemsims(fake):
    r = run("record", "-o", "t.txt", "--", "sh", "-c", "exit 3")
    assert r.exit_code == 3
    r = run("record", "-o", "u.txt", "--", "sh", "-c", "kill -KILL $$")
    assert r.exit_code == 128 + 9


def test_force_replaces_an_existing_output(fake):
    Path("t.txt.gz").write_bytes(b"old")
    r = run("record", "-o", "t.txt.gz", "--", "true")
    assert r.exit_code == 1 and "t.txt.gz: already exists (use --force to replace it)" in r.output
    assert Path("t.txt.gz").read_bytes() == b"old"
    r = run("record", "-o", "t.txt.gz", "--force", "--", "true")
    assert r.exit_code == 0, r.output
    assert gzip.decompress(Path("t.txt.gz").read_bytes()).startswith(b"# tracer: nop")


@pytest.mark.parametrize(
    "args, message, code",
    [
        (["--buffer-kb", "0", "--", "true"], "--buffer-kb 0: must be a whole number of KiB, at least 1", 1),
        (["--buffer-kb", str(1 << 40), "--", "true"], "is more than half of the memory available", 1),
        (["-e", "nosuch", "--", "true"], "no trace event kmem/nosuch; kmem has: kfree, kmalloc", 1),
        (["-e", "sched/../../x", "--", "true"], "not an event name", 1),
        (["-e", "nosys/x", "--", "true"], "no trace event nosys/x (no system nosys)", 1),
        (["--pid", "999999999", "--", "true"], "--pid 999999999: no such process", 1),
        (["--pid", "abc"], "--pid 'abc': not a process id", 1),
        (["--comm", 'a"b', "--", "true"], "without quotes", 1),
        (["--comm", "averyveryverylongname", "--", "true"], "the kernel keeps only the first 15", 1),
        (["--tree"], "--tree traces a COMMAND", 1),
        ([], "no command to run", 1),
        (["--bogus", "--", "true"], "unknown option '--bogus'", 1),
        (["--", "no-such-command-kmemsim"], "no-such-command-kmemsim: command not found", 127),
        (["--", "./not-executable"], "./not-executable: not an executable file", 126),
        (["-o", "nodir/t.txt", "--", "true"], "nodir/t.txt: directory nodir does not exist", 1),
        (["-o", "link", "--", "true"], "link: is a symbolic link", 1),
        (["-o", "link", "--force", "--", "true"], "link: is a symbolic link", 1),
    ],
)
def test_bad_options_change_nothing(fake, args, message, code):
    Path("not-executable").write_text("#!/bin/sh\n")
    Path("link").symlink_to(fake.parent / "victim")
    before, files = state(fake), sorted(os.listdir("."))
    r = run("record", *args)
    assert r.exit_code == code and message in r.output, r.output
    assert "Traceback" not in r.output
    assert state(fake) == before  # not even tracing_on or trace was written
    assert sorted(os.listdir(".")) == files and not (fake.parent / "victim").exists()


def test_an_unwritable_output_is_a_clear_error(fake, monkeypatch):
    before = state(fake)

    def unwritable(path, force=False):
        raise record_mod.OutputError(path, "directory . is not writable")  # as fileio says it (test_fileio)

    monkeypatch.setattr(record_mod, "check_output", unwritable)
    r = run("record", "-o", "t.txt", "--", "true")
    assert r.exit_code == 1 and "t.txt: directory . is not writable" in r.output
    assert state(fake) == before


def test_a_kernel_refusing_the_buffer_size_restores_everything(fake, monkeypatch):
    before = state(fake)
    real = record_mod.TraceSession.write

    def refuse(self, rel, value):
        if rel == "buffer_size_kb":
            raise record_mod.TracefsError(f"{self.root / rel}: cannot write {value!r}: Cannot allocate memory")
        real(self, rel, value)

    monkeypatch.setattr(record_mod.TraceSession, "write", refuse)
    r = run("record", "-o", "t.txt", "--", "true")
    assert r.exit_code == 1 and "--buffer-kb 8192: the kernel refused it" in r.output
    assert "Cannot allocate memory" in r.output
    assert restored(before, state(fake))
    assert os.listdir(".") == []


# -------------------------------------------------------------------------- --snapshot


@pytest.fixture
def host_root(tmp_path) -> Path:
    """A fake host root: the committed 6.18 snapshot's files at their host paths."""
    import tarfile

    with tarfile.open(DATA / "host-6.18" / "snapshot.tar.gz") as tf:
        tf.extractall(tmp_path / "x", filter="tar")
    (top,) = list((tmp_path / "x").iterdir())
    (top / "SNAPSHOT").unlink()
    (top / "proc/sys/kernel").mkdir(parents=True, exist_ok=True)
    (top / "proc/sys/kernel/osrelease").write_text("6.18.0-fake\n")
    return top


@pytest.mark.parametrize("name", ["snap.tar.gz", "snapdir"])
def test_snapshot_is_read_before_the_command_and_written_after(fake, host_root, name):
    """The host is read just before tracing starts (the command's change to it is not in the
    snapshot) and written only after the command ended (it never saw the snapshot)."""
    from kmemsim.snapshot import load

    before = state(fake)
    meminfo = host_root / "proc" / "meminfo"
    original = meminfo.read_text()
    seen = Path("seen").resolve()
    script = (f"test -e {name} && echo exists > {seen}; "
              f"sed -i 's/^MemFree:.*/MemFree:               1 kB/' {meminfo}")  # fmt: skip
    r = run("record", "-o", "t.txt", "--snapshot", name, "--snapshot-root", str(host_root), "--", "sh", "-c", script)
    assert r.exit_code == 0, r.output
    assert not seen.exists()  # the snapshot did not exist while the command ran
    assert meminfo.read_text() != original  # the command did change the host ...
    snap = load(Path(name))  # ... after the snapshot was read
    assert snap.meminfo["MemFree"] == int(re.search(r"^MemFree:\s+(\d+)", original, re.M).group(1))
    assert "read by kmemsim record once its trace instance was set up" in snap.meta["note"]
    assert f"kmemsim record: host snapshot (read before tracing) -> {name}" in r.output
    assert f"# kmemsim-record: host snapshot: {name} (read just before tracing started" in Path("t.txt").read_text()
    assert restored(before, state(fake))
    assert sorted(p for p in os.listdir(".") if p.startswith(".")) == []  # no temporary directory left


@pytest.mark.parametrize("case", ["exists", "same-as-trace", "bad-root"])
def test_snapshot_problems_are_clear_errors_and_change_nothing(fake, host_root, tmp_path, case):
    before = state(fake)
    args = ["record", "-o", "t.txt", "--snapshot-root", str(host_root)]
    if case == "exists":
        Path("s.tar.gz").write_bytes(b"keep")
        args += ["--snapshot", "s.tar.gz"]
        want = "--snapshot s.tar.gz: "
    elif case == "same-as-trace":
        args += ["--snapshot", "t.txt"]
        want = "--snapshot t.txt: the same path as the trace file"
    else:
        (host_root / "proc" / "zoneinfo").unlink()
        args += ["--snapshot", "s.tar.gz"]
        want = "--snapshot: "
    r = run(*args, "--", "true")
    assert r.exit_code != 0 and want in r.output and "Traceback" not in r.output, r.output
    assert restored(before, state(fake)) if case == "bad-root" else state(fake) == before
    assert not Path("t.txt").exists()
    if case == "exists":
        assert Path("s.tar.gz").read_bytes() == b"keep"
    else:
        assert not Path("s.tar.gz").exists()


@pytest.mark.parametrize("flag, want", [((), "0"), (("--hash-ptr",), "1")])
def test_pointers_are_real_unless_hash_ptr(fake, flag, want):
    """options/hash-ptr is off while recording (pointers as perf prints them) unless --hash-ptr;
    then it is as it was."""
    before = state(fake)
    seen = Path("seen").resolve()
    r = run("record", *flag, "-o", "t.txt", "--", "sh", "-c", f"cat {fake}/options/hash-ptr > {seen}")
    assert r.exit_code == 0, r.output
    assert seen.read_text().strip() == want
    assert restored(before, state(fake))


def test_api_without_root(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(record_mod.RecordError, match="recording needs root"):
        record_mod.record(["true"], tmp_path / "t.txt")
    assert not (tmp_path / "t.txt").exists()


def test_without_tracefs(monkeypatch, tmp_path):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(record_mod, "TRACEFS_CANDIDATES", (tmp_path / "no" / "tracing",))
    r = run("record", "-o", str(tmp_path / "t.txt"), "--", "true")
    assert r.exit_code != 0 and "no tracefs" in r.output


# -------------------------------------------------------------------------- signals, fake tracefs

RUNNER = """
import os, sys
from pathlib import Path
sys.path.insert(0, {src!r})
os.geteuid = lambda: 0
from kmemsim.trace import record as r
r.TRACEFS_CANDIDATES = (Path({top!r}),)
from kmemsim.cli.trace_cmd import record
record.main(args=sys.argv[1:], prog_name="kmemsim record")
"""


def _procs_in_group(pgid: int) -> list[int]:
    return record_mod._group_members(pgid, exclude=-1)


def _wait_for(path: Path, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return True
        time.sleep(0.02)
    return False


def _spawn_recorder(argv: list[str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def _check_stopped_cleanly(proc: subprocess.Popen[bytes], cwd: Path) -> str:
    out = proc.communicate(timeout=30)[0].decode(errors="replace")
    child = cwd / "child.pid"
    if child.exists() and child.read_text().strip():
        pgid = int(child.read_text())
        assert _procs_in_group(pgid) == [], f"the command's group survived: {out}"
    return out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_stops_the_command_group_and_keeps_the_trace(fake, sig):
    before = state(fake)
    cwd = Path.cwd()
    script = "echo $$ > child.pid; sleep 60 & echo $! > grandchild.pid; wait"
    proc = _spawn_recorder([sys.executable, "-c", RUNNER.format(src=str(SRC), top=str(fake)),
                            "-o", "t.txt.gz", "--", "sh", "-c", script], cwd)  # fmt: skip
    assert _wait_for(cwd / "grandchild.pid"), proc.communicate(timeout=30)[0]
    grandchild = int((cwd / "grandchild.pid").read_text())
    proc.send_signal(sig)
    out = _check_stopped_cleanly(proc, cwd)
    assert proc.returncode == 128 + sig, out
    assert f"(interrupted by {signal.Signals(sig).name})" in out and "Traceback" not in out
    assert not Path(f"/proc/{grandchild}").exists() or "Z" in Path(f"/proc/{grandchild}/stat").read_text().split()[2]
    assert restored(before, state(fake))
    text = gzip.decompress((cwd / "t.txt.gz").read_bytes()).decode()
    assert pipe_lines() in text and f"# kmemsim-record: stopped by {signal.Signals(sig).name}" in text
    assert sorted(os.listdir(cwd)) == ["child.pid", "grandchild.pid", "t.txt.gz"]


def _kill_at_random_moments(n: int, seed: int, fake: Path) -> None:
    rnd = random.Random(seed)
    before = state(fake)
    for i in range(n):
        cwd = fake.parent / f"run{i}"
        cwd.mkdir()
        proc = _spawn_recorder([sys.executable, "-c", RUNNER.format(src=str(SRC), top=str(fake)),
                                "-o", "t.txt", "--", "sh", "-c", "echo $$ > child.pid; sleep 60"], cwd)  # fmt: skip
        time.sleep(rnd.uniform(0, 1.5))
        sig = rnd.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
        proc.send_signal(sig)
        out = _check_stopped_cleanly(proc, cwd)
        assert proc.returncode != 0, out
        after = state(fake)
        assert after == before or restored(before, after), (i, sig, out)
        assert [p for p in os.listdir(cwd) if p.endswith(".part")] == [], out


def test_killed_at_random_moments_fake_tracefs(fake):
    _kill_at_random_moments(4, 1, fake)


@pytest.mark.slow
def test_killed_at_many_random_moments_fake_tracefs(fake):
    _kill_at_random_moments(30, 2, fake)


# -------------------------------------------------------------------------- the live host


def _need_live_tracefs() -> Path:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("needs root")
    top = record_mod.find_tracefs()
    if top is None:
        if not Path("/sys/kernel/tracing").is_dir():
            pytest.skip("no tracefs on this kernel")
        top = Path("/sys/kernel/tracing")
    if not (top / "events" / "kmem").is_dir() and top.exists() and (top / "trace").exists():
        pytest.skip("no kmem trace events")
    return top


def _global_state(top: Path) -> tuple[str, ...]:
    return tuple((top / f).read_text() for f in ("tracing_on", "events/kmem/kmalloc/enable", "set_event_pid",
                                                  "options/stacktrace", "buffer_size_kb"))  # fmt: skip


def _mine(top: Path, pid: int) -> list[str]:
    return [p.name for p in (top / "instances").glob(f"kmemsim-record-{pid}")]


@pytest.mark.host
def test_record_for_real(tmp_path):
    """Record twice, mounting tracefs if it is not mounted; the state is the same after."""
    top = _need_live_tracefs()
    before = _global_state(top) if (top / "trace").exists() else None
    out = tmp_path / "rec.txt.gz"
    r = run("record", "-o", str(out), "--slab", "--", "sh", "-c", "ls / > /dev/null")
    if r.exit_code != 0 and "no tracefs" in r.output:
        pytest.skip(r.output.strip())
    assert r.exit_code == 0, r.output
    assert "kmemsim record:" in r.output and " events, " in r.output
    assert _mine(top, os.getpid()) == []
    if before is not None:
        assert _global_state(top) == before
    rd = TraceReader(out)
    events = list(rd)
    assert rd.stats.format == "ftrace" and events
    assert {e.kind for e in events} <= {"kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free"}
    r = run("record", "-o", str(tmp_path / "x.txt"), "-e", "nosuch", "--", "true")
    assert r.exit_code != 0 and "no trace event kmem/nosuch" in r.output
    r = run("record", "-o", str(tmp_path / "y.txt"), "--page", "--", "sh", "-c", "exit 3")
    assert r.exit_code == 3 and _mine(top, os.getpid()) == []
    if before is not None:
        assert _global_state(top) == before


@pytest.mark.host
def test_record_with_a_snapshot_for_real_replays(tmp_path):
    """record --snapshot on the live host, then replay --host of that snapshot: the trace runs to
    the end with no bytes_alloc mismatch and a slab-page count."""
    from kmemsim.trace.replay import replay

    top = _need_live_tracefs()
    out, snap = tmp_path / "rec.txt.gz", tmp_path / "snap.tar.gz"
    r = run("record", "-o", str(out), "--tree", "--snapshot", str(snap), "--",
            "sh", "-c", f"ls -R /usr/lib/python3* > /dev/null; tar cf - /etc 2>/dev/null | gzip > {tmp_path}/e.tgz")
    if r.exit_code != 0 and "no tracefs" in r.output:
        pytest.skip(r.output.strip())
    assert r.exit_code == 0, r.output
    assert _mine(top, os.getpid()) == []
    rp = replay(out, host=snap)
    text = rp.summary()
    assert rp.mismatches == 0 and "slab pages allocated: trace " in text


@pytest.mark.host
def test_stack_traces_tree_and_comm_for_real(tmp_path):
    top = _need_live_tracefs()
    out = tmp_path / "g.txt.gz"
    r = run("record", "-g", "--tree", "-o", str(out), "--", "sh", "-c", "ls / > /dev/null; cat /etc/hostname")
    assert r.exit_code == 0, r.output
    text = gzip.decompress(out.read_bytes()).decode()
    assert "<stack trace>" in text and "\n => " in text
    comms = {ln.split()[0].rsplit("-", 1)[0] for ln in text.splitlines() if ln and ln[0] != "#" and " => " not in ln}
    # the child turns tracing on itself just before exec: until then it bears this process's name
    own = Path("/proc/self/comm").read_text().strip()
    assert comms and comms <= {"sh", "ls", "cat", "<...>", own}, comms
    rd = TraceReader(out)
    assert list(rd) and rd.stats.callchain_lines > 0
    out2 = tmp_path / "c.txt.gz"
    r = run("record", "--comm", "ls", "-o", str(out2), "--", "sh", "-c", "ls / > /dev/null; cat /etc/hostname")
    assert r.exit_code == 0, r.output
    lines = [ln for ln in gzip.decompress(out2.read_bytes()).decode().splitlines() if ln and ln[0] != "#"]
    # "<...>": ftrace's comm cache (saved_cmdlines) had lost the pid's name by the time it printed
    assert lines and {ln.split()[0].rsplit("-", 1)[0] for ln in lines} <= {"ls", "<...>"}
    assert _mine(top, os.getpid()) == []


@pytest.mark.host
def test_pid_for_real(tmp_path):
    top = _need_live_tracefs()
    work = subprocess.Popen([sys.executable, "-c", "import os, time\nt = time.time()\n"
                             "while time.time() - t < 20:\n    os.close(os.open('/etc/hostname', os.O_RDONLY))\n"
                             "    time.sleep(0.005)\n"])  # fmt: skip
    try:
        out = tmp_path / "p.txt.gz"
        r = run("record", "-p", str(work.pid), "-o", str(out), "--", "sleep", "1")
        assert r.exit_code == 0, r.output
        lines = [ln for ln in gzip.decompress(out.read_bytes()).decode().splitlines() if ln and ln[0] != "#"]
        assert lines and {int(ln.split()[0].rsplit("-", 1)[1]) for ln in lines} == {work.pid}
    finally:
        work.kill()
        work.wait()
    assert _mine(top, os.getpid()) == []


def _kill_live_at_random_moments(n: int, seed: int, tmp_path: Path) -> None:
    """Start `kmemsim record`, send SIGINT, SIGTERM or SIGHUP at a random moment (from its
    start-up to the middle of the recording), and check that it left no instance, the global
    state as it was and no process of the command's group."""
    top = _need_live_tracefs()
    if not (top / "trace").exists():
        pytest.skip("tracefs is not mounted (the test compares its state)")
    rnd = random.Random(seed)
    before = _global_state(top)
    for i in range(n):
        cwd = tmp_path / f"run{i}"
        cwd.mkdir()
        proc = _spawn_recorder([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv.pop(1)); "
                                "from kmemsim.cli.main import main; main()", str(SRC), "record", "-o", "t.txt.gz",
                                "--buffer-kb", "1024", "--", "sh", "-c", "echo $$ > child.pid; sleep 60 & wait"],
                               cwd)  # fmt: skip
        time.sleep(rnd.uniform(0, 2.0))
        sig = rnd.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
        proc.send_signal(sig)
        out = _check_stopped_cleanly(proc, cwd)
        assert _mine(top, proc.pid) == [], (i, sig, out)
        assert _global_state(top) == before, (i, sig, out)
        assert [p for p in os.listdir(cwd) if p.endswith(".part")] == [], (i, sig, out)


@pytest.mark.host
def test_killed_at_random_moments_for_real(tmp_path):
    _kill_live_at_random_moments(5, 11, tmp_path)


@pytest.mark.host
@pytest.mark.slow
def test_killed_at_many_random_moments_for_real(tmp_path):
    _kill_live_at_random_moments(40, 12, tmp_path)
