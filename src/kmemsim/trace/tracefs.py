"""A tracefs session whose every change is undone: the one implementation behind
``kmemsim record`` and the capture scripts in tools/.

:class:`TraceSession` finds tracefs (/sys/kernel/tracing, then
/sys/kernel/debug/tracing), mounting it on /sys/kernel/tracing when nothing is
mounted and unmounting it again in :meth:`TraceSession.restore`.  It traces into a
private instance ``instances/<prefix>-<pid>`` (its own ring buffer and event
switches, so the global tracing state is not touched) or, on a kernel without
instances, into the global buffer -- then every control file it writes is saved
first and written back by ``restore()``, which also clears ``trace``.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from kmemsim.errors import KmemsimError

TRACEFS_CANDIDATES = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))


class TracefsError(KmemsimError):
    """No tracefs here, and it cannot be mounted."""


def find_tracefs(candidates: tuple[Path, ...] = TRACEFS_CANDIDATES) -> Path | None:
    """The first mounted tracefs among ``candidates``, or None."""
    for p in candidates:
        if (p / "trace").exists():
            return p
    return None


class TraceSession:
    """A trace buffer (instance or global) whose every change is undone by restore()."""

    def __init__(self, instance_prefix: str, candidates: tuple[Path, ...] = TRACEFS_CANDIDATES) -> None:
        self.mounted_by_us: Path | None = None
        top = find_tracefs(candidates)
        if top is None:
            target = candidates[0]
            if not target.is_dir():
                raise TracefsError(f"no tracefs: {target} does not exist (is CONFIG_TRACING built into this kernel?)")
            r = subprocess.run(["mount", "-t", "tracefs", "nodev", str(target)], capture_output=True, text=True)
            if r.returncode != 0 or not (target / "trace").exists():
                raise TracefsError(f"no tracefs mounted, and `mount -t tracefs nodev {target}` failed: "
                                   f"{r.stderr.strip()}")
            self.mounted_by_us = top = target
        self.top = top
        self.root = top
        self.instance: Path | None = None
        self.saved: list[tuple[Path, str]] = []  # (file, old value), restored in reverse
        self.enabled: list[str] = []
        self.instance_error: OSError | None = None
        inst = top / "instances" / f"{instance_prefix}-{os.getpid()}"
        try:
            inst.mkdir()
            self.instance = self.root = inst
        except OSError as e:
            self.instance_error = e

    def read(self, rel: str) -> str:
        return (self.root / rel).read_text()

    def write(self, rel: str, value: str) -> None:
        """Write a control file, remembering its old value the first time (global buffer only)."""
        path = self.root / rel
        if self.instance is None and rel != "trace" and all(p != path for p, _ in self.saved):
            self.saved.append((path, self._restorable(rel, path.read_text())))
        path.write_text(value + "\n")

    @staticmethod
    def _restorable(rel: str, old: str) -> str:
        old = old.strip()
        if rel.endswith("/filter"):
            return "0" if old in ("", "none") else old  # writing 0 clears a filter
        if rel == "set_event_pid":
            return " ".join(old.split())  # one pid a line; "" (a truncating write) clears it
        if rel == "buffer_size_kb":
            m = re.search(r"expanded:\s*(\d+)", old)  # "7 (expanded: 1408)": not yet allocated
            return m.group(1) if m else old.split()[0]
        return old.split()[0] if old else "0"

    def enable(self, event: str) -> None:
        """Enable ``system/event``."""
        self.write(f"events/{event}/enable", "1")
        self.enabled.append(event)

    def cpus(self) -> list[int]:
        return sorted(int(p.name[3:]) for p in (self.root / "per_cpu").glob("cpu[0-9]*"))

    def overrun(self) -> int:
        """Events overwritten before being read, summed over CPUs."""
        total = 0
        for st in (self.root / "per_cpu").glob("cpu[0-9]*/stats"):
            m = re.search(r"overrun:\s*(\d+)", st.read_text())
            total += int(m.group(1)) if m else 0
        return total

    def restore(self) -> list[str]:
        """Undo everything; returns what could not be undone."""
        errors: list[str] = []
        try:
            (self.root / "tracing_on").write_text("0\n")
        except OSError as e:
            errors.append(f"tracing_on: {e}")
        if self.instance is not None:
            for ev in self.enabled:
                try:
                    (self.root / "events" / ev / "enable").write_text("0\n")
                except OSError as e:
                    errors.append(f"{ev}: {e}")
            try:
                self.instance.rmdir()
            except OSError as e:
                errors.append(f"rmdir {self.instance}: {e}")
        else:
            for path, old in reversed(self.saved):
                try:
                    path.write_text(old + "\n")
                except OSError as e:
                    errors.append(f"{path}: {e}")
            try:
                (self.top / "trace").write_text("\n")  # drop our events from the global buffer
            except OSError as e:
                errors.append(f"trace: {e}")
        if self.mounted_by_us is not None:
            r = subprocess.run(["umount", str(self.mounted_by_us)], capture_output=True, text=True)
            if r.returncode != 0:
                errors.append(f"umount {self.mounted_by_us}: {r.stderr.strip()}")
        return errors
