"""What a replay's process imports: not the modules only other commands use, and few dataclasses
(each compiles its methods at import).  Import time is most of what ``kmemsim replay`` costs
beyond the replay itself (docs/performance.md), so these keep the cuts from coming back."""
from __future__ import annotations

import subprocess
import sys

#: what ``kmemsim replay`` imports for its command line, the machine and the replay
REPLAY_START = ("import kmemsim.cli.main as m; m.main.get_command(None, 'replay'); "
                "import kmemsim.trace.replay, kmemsim.kernel, kmemsim.start_kernel, kmemsim.trace.parse")


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_a_replay_does_not_import_the_other_commands_or_trace_stat():
    out = _run(REPLAY_START + "; import sys; print(' '.join(sorted(sys.modules)))").split()
    assert "kmemsim.cli.trace_cmd" in out
    unwanted = {"kmemsim.cli.snapshot_cmd", "kmemsim.cli.explore_cmd", "kmemsim.cli.quiz_cmd",
                "kmemsim.cli.sweep_cmd", "kmemsim.trace.stat", "kmemsim.trace.report", "numpy"}
    assert unwanted.isdisjoint(out)


def test_the_general_path_s_regexes_are_not_compiled_at_import():
    code = REPLAY_START + """
import sys
p = sys.modules["kmemsim.trace.parse"]
lazy = [v for v in vars(p).values() if type(v) is p._LazyRe]
compiled = 0
for v in lazy:
    try:
        p._LazyRe.rx.__get__(v, p._LazyRe)  # the slot itself: no __getattr__, no compiling
        compiled += 1
    except AttributeError:
        pass
print(len(lazy), compiled)
"""
    n, compiled = map(int, _run(code).split())
    assert n >= 16 and compiled == 0


def test_a_replay_makes_no_dataclass():
    """The records of kmemsim.records (Record, FrozenRecord) give a class what @dataclass would,
    without compiling its methods at import: a replay's process does not even import dataclasses."""
    assert _run(REPLAY_START + "; import sys; print('dataclasses' in sys.modules)").split() == ["False"]
    # nor does booting from a host snapshot, seeding its caches and checking the machine
    booted = ("; from kmemsim.examples import example_path; r = kmemsim.trace.replay.Replay("
              "kmemsim.trace.replay.boot_machine(host=example_path('snapshot'))); r.k.check()")
    assert _run(REPLAY_START + booted + "; import sys; print('dataclasses' in sys.modules)").split() == ["False"]
