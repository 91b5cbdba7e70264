"""Tracefs setup and teardown for the capture scripts in tools/.

- :func:`require_root` and :func:`require_linux`: the host checks;
- :class:`Tracing`: :class:`kmemsim.trace.tracefs.TraceSession` (the one tracefs
  session of the project, also behind ``kmemsim record``) with each script's ``die``
  for errors (a control file that refuses a value included) and restore problems
  printed as warnings.  Making one also makes SIGTERM and SIGHUP raise
  ``KeyboardInterrupt`` like Ctrl-C, so that the scripts' ``finally: t.restore()``
  runs for them too; the session itself is made and undone with those signals
  deferred, so none can fall between creating the instance and remembering it.

Each script passes its own ``die`` (which prints the script's name and exits with 2).
"""
from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))  # kmemsim, also without the venv
from kmemsim.trace.tracefs import TracefsError, TraceSession, raise_on_termination  # noqa: E402

Die = Callable[[str], None]


def require_root(die: Die) -> None:
    if os.geteuid() != 0:
        die("must run as root (tracefs control files are root-only); try: sudo python3 " + sys.argv[0])


def require_linux(die: Die) -> None:
    if platform.system() != "Linux":
        die("needs a Linux host")


class Tracing(TraceSession):
    """A TraceSession that reports through the script's ``die`` and warns on restore."""

    def __init__(self, instance_prefix: str, die: Die) -> None:
        self.die = die
        raise_on_termination()
        try:
            super().__init__(instance_prefix)
        except TracefsError as e:
            die(str(e))
        if self.instance_error is not None:
            print(f"note: no trace instance ({self.instance_error}); using the global buffer and restoring it",
                  file=sys.stderr)  # fmt: skip

    def write(self, rel: str, value: str) -> None:
        try:
            super().write(rel, value)
        except TracefsError as e:
            self.die(str(e))  # exits: the script's finally restores

    def restore(self) -> list[str]:
        errors = super().restore()
        for e in errors:
            print(f"warning: could not restore {e}", file=sys.stderr)
        return errors
