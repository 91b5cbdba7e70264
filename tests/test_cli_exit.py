"""The console script's quick exit (kmemsim.cli.main.run, quick_exit): the same output and exit
codes as click's own exit, and the interpreter's normal teardown whenever something needs it."""
from __future__ import annotations

import atexit
import gc
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from kmemsim.cli import main as cli_main


def script() -> list[str]:
    exe = Path(sys.executable).parent / "kmemsim"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from kmemsim.cli.main import run; run()"]


@pytest.fixture
def exits(monkeypatch):
    """os._exit recorded instead of taken; no atexit callbacks (pytest's own aside)."""
    calls: list[int] = []
    monkeypatch.setattr(cli_main.os, "_exit", calls.append)
    monkeypatch.setattr(atexit, "_ncallbacks", lambda: 0)
    monkeypatch.setattr(sys, "getprofile", lambda: None)  # (pytest under coverage traces)
    monkeypatch.setattr(sys, "gettrace", lambda: None)
    return calls


@pytest.mark.parametrize("code, status", [(None, 0), (0, 0), (1, 1), (2, 2)])
def test_a_number_ends_the_process_at_once(exits, code, status):
    cli_main.quick_exit(code)
    assert exits == [status]


def test_a_message_is_left_to_system_exit(exits):
    with pytest.raises(SystemExit) as e:
        cli_main.quick_exit("Error: something")
    assert e.value.code == "Error: something" and exits == []


def test_an_atexit_callback_gets_the_normal_exit(exits, monkeypatch):
    monkeypatch.setattr(atexit, "_ncallbacks", lambda: 1)
    with pytest.raises(SystemExit) as e:
        cli_main.quick_exit(0)
    assert e.value.code == 0 and exits == []


@pytest.mark.parametrize("hook", ["getprofile", "gettrace"])
def test_a_profiler_or_tracer_gets_the_normal_exit(exits, monkeypatch, hook):
    """python -m cProfile writes its figures after the command returns; a debugger stops there."""
    monkeypatch.setattr(sys, hook, lambda: print)
    with pytest.raises(SystemExit):
        cli_main.quick_exit(0)
    assert exits == []


def test_cprofile_of_the_module_writes_its_figures(tmp_path):
    out = tmp_path / "p.prof"
    p = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), "-m", "kmemsim.cli.main", "profiles"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert out.stat().st_size > 0


def test_a_live_thread_gets_the_normal_exit(exits):
    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        with pytest.raises(SystemExit):
            cli_main.quick_exit(0)
    finally:
        stop.set()
        t.join()
    assert exits == []


def test_a_failed_flush_gets_the_normal_exit(exits, monkeypatch):
    class Closed:
        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", Closed())
    with pytest.raises(SystemExit) as e:
        cli_main.quick_exit(0)
    assert e.value.code == 0 and exits == []


@pytest.mark.parametrize("args, status", [
    (["replay", "--example"], 0),
    (["stat", "--example", "--json"], 0),
    (["proc", "nope"], 1),
    (["replay", "--no-such-option"], 2),
])  # fmt: skip
def test_the_script_prints_what_click_prints(args, status):
    """The whole output reaches the pipe (flushed before os._exit), with click's exit status."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    p = subprocess.run(script() + args, capture_output=True, text=True, timeout=120, env=env)
    ref = CliRunner().invoke(cli_main.main, args, prog_name="kmemsim")
    assert p.returncode == ref.exit_code == status, p.stderr
    assert p.stdout == ref.stdout
    assert p.stderr == ref.stderr


def test_an_atexit_callback_still_runs_from_the_script(tmp_path):
    """A command that registers a callback (as Dask's clusters do) gets it run at exit."""
    mark = tmp_path / "ran"
    code = ("import atexit, pathlib, sys; from kmemsim.cli.main import run; "
            f"atexit.register(pathlib.Path({str(mark)!r}).write_text, 'yes'); "
            "sys.argv = ['kmemsim', 'profiles']; run()")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert mark.read_text() == "yes"


# ---------------------------------------------------------------------------- the cyclic collector
def _replay_cli(args: list[str]) -> str:
    result = CliRunner().invoke(cli_main.main, ["replay", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_replay_builds_its_machine_without_the_collector_and_leaves_it_as_it_was(monkeypatch):
    from kmemsim.examples import example_path
    from kmemsim.trace import replay as replay_mod

    seen: list = []
    real = replay_mod.Replay.feed

    def feed(self, events):  # the collector as the replay's loop finds it
        seen.append((gc.isenabled(), gc.get_freeze_count() > 0))
        return real(self, events)

    monkeypatch.setattr(replay_mod.Replay, "feed", feed)
    args = [str(example_path("trace")), "--host", str(example_path("snapshot"))]
    assert gc.isenabled() and gc.get_freeze_count() == 0
    out = _replay_cli(args)
    assert seen == [(True, True)]  # on again for the trace, with the machine frozen
    assert gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()  # the caller's choice is kept: nothing frozen, nothing turned on
    try:
        seen.clear()
        assert _replay_cli(args) == out
        assert seen == [(False, False)] and not gc.isenabled() and gc.get_freeze_count() == 0
    finally:
        gc.enable()
