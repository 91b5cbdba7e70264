"""kmemsim.trace.tracefs: the session undoes what it did, even when a signal comes at the worst
moment; it touches only its own instance.  A plain directory stands in for tracefs (its
``instances/`` accepts mkdir and rmdir like the real one); the live tests need root."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kmemsim.trace import tracefs
from kmemsim.trace.tracefs import TracefsError, TraceSession, signals_deferred, stale_instances


@pytest.fixture
def top(tmp_path) -> Path:
    t = tmp_path / "tracing"
    for rel, text in {"trace": "", "tracing_on": "1\n", "buffer_size_kb": "1408\n"}.items():
        (t / rel).parent.mkdir(parents=True, exist_ok=True)
        (t / rel).write_text(text)
    (t / "instances").mkdir()
    return t


def test_an_instance_is_made_and_removed(top):
    t = TraceSession("kmemsim-test", (top,))
    assert t.instance == top / "instances" / f"kmemsim-test-{os.getpid()}" and t.instance.is_dir()
    assert t.restore() == [] and not t.instance.exists()
    assert t.restore() == []  # once only


def test_make_instance_later(top):
    t = TraceSession("kmemsim-test", (top,), make_instance=False)
    assert t.instance is None and list((top / "instances").iterdir()) == []
    t.make_instance()
    assert t.instance is not None and t.instance.is_dir()
    t.restore()
    assert list((top / "instances").iterdir()) == []


def test_an_interrupt_while_making_the_instance_leaves_nothing(top, monkeypatch):
    real = TraceSession._mkdir

    def mkdir_then_interrupt(self):
        real(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(TraceSession, "_mkdir", mkdir_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        TraceSession("kmemsim-test", (top,))
    assert list((top / "instances").iterdir()) == []


def test_a_signal_during_a_deferred_section_comes_after_it():
    done = []
    with pytest.raises(KeyboardInterrupt):
        with signals_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # a handler would run here
            done.append("the whole section ran")
    assert done == ["the whole section ran"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_deferred_signal_with_the_default_action_exits_through_finally(top, monkeypatch):
    old = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        real = TraceSession._mkdir

        def mkdir_then_term(self):
            real(self)
            os.kill(os.getpid(), signal.SIGTERM)

        monkeypatch.setattr(TraceSession, "_mkdir", mkdir_then_term)
        with pytest.raises(SystemExit) as ei:
            TraceSession("kmemsim-test", (top,))
        assert ei.value.code == 128 + signal.SIGTERM
        assert list((top / "instances").iterdir()) == []  # undone before exiting
    finally:
        signal.signal(signal.SIGTERM, old)


def test_global_buffer_values_are_saved_and_restored(top):
    (top / "instances").rmdir()  # a kernel without instances
    t = TraceSession("kmemsim-test", (top,))
    assert t.instance is None and t.instance_error is not None
    t.write("tracing_on", "0")
    t.write("buffer_size_kb", "8192")
    t.write("trace", "")
    assert (top / "buffer_size_kb").read_text() == "8192\n"
    assert t.restore() == []
    assert (top / "tracing_on").read_text() == "1\n" and (top / "buffer_size_kb").read_text() == "1408\n"


def test_a_refused_write_names_the_file_and_value(top):
    t = TraceSession("kmemsim-test", (top,))
    try:
        with pytest.raises(TracefsError, match=r"kmemsim-test-\d+/nodir/x: cannot write '1': No such file"):
            t.write("nodir/x", "1")
    finally:
        t.restore()


def test_stale_instances_are_listed_not_touched(top):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for name in (f"kmemsim-record-{dead.pid}", f"kmemsim-record-{os.getpid()}", "kmemsim-record-1",
                 f"other-{dead.pid}", "kmemsim-record-x"):  # fmt: skip
        (top / "instances" / name).mkdir()
    assert stale_instances(top, "kmemsim-record") == [top / "instances" / f"kmemsim-record-{dead.pid}"]
    assert len(list((top / "instances").iterdir())) == 5


def test_busy_instance_rmdir_is_retried_then_reported(top, monkeypatch):
    t = TraceSession("kmemsim-test", (top,))
    calls = []
    real_rmdir = Path.rmdir

    def busy(self):
        calls.append(self)
        if len(calls) < 3:
            raise OSError(16, "Device or resource busy")
        real_rmdir(self)

    monkeypatch.setattr(Path, "rmdir", busy)
    monkeypatch.setattr(tracefs.time, "sleep", lambda s: None)
    assert t.restore() == [] and len(calls) == 3
    t2 = TraceSession("kmemsim-test2", (top,))
    calls.clear()
    monkeypatch.setattr(Path, "rmdir", lambda self: (_ for _ in ()).throw(OSError(16, "Device or resource busy")))
    (errs,) = t2.restore()
    assert "Device or resource busy (remove it with: rmdir" in errs


@pytest.mark.host
def test_a_bad_filter_is_explained_by_the_kernel():
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or tracefs.find_tracefs() is None:
        pytest.skip("needs root and a mounted tracefs")
    t = TraceSession("kmemsim-test")
    try:
        if t.instance is None:
            pytest.skip("no trace instances")
        with pytest.raises(TracefsError, match="events/kmem/kmalloc/filter: cannot write .*Invalid argument.*"):
            t.write("events/kmem/kmalloc/filter", "common_comm == \"x\"")
    finally:
        t.restore()
    assert not (tracefs.find_tracefs() / "instances" / f"kmemsim-test-{os.getpid()}").exists()
