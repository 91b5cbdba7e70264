"""Tracefs setup and teardown shared by the capture scripts in tools/.

- :func:`require_root` and :func:`require_linux`: the host checks;
- :class:`Tracing`: finds tracefs (mounting it on /sys/kernel/tracing if nothing is
  mounted there, and unmounting it again in :meth:`Tracing.restore`), creates a private
  trace instance ``instances/<prefix>-<pid>`` with its own ring buffer, or, if instances
  are unavailable, falls back to the global buffer, saving every control file it changes
  and restoring it (and clearing ``trace``) in :meth:`Tracing.restore`.

Each script passes its own ``die`` (which prints the script's name and exits with 2).
"""
from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

TRACEFS_CANDIDATES = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))

Die = Callable[[str], None]


def require_root(die: Die) -> None:
    if os.geteuid() != 0:
        die("must run as root (tracefs control files are root-only); try: sudo python3 " + sys.argv[0])


def require_linux(die: Die) -> None:
    if platform.system() != "Linux":
        die("needs a Linux host")


class Tracing:
    """A trace buffer (instance or global) whose every change is undone by restore()."""

    def __init__(self, instance_prefix: str, die: Die) -> None:
        self.die = die
        self.mounted_by_us: Path | None = None
        self.top = self._find_tracefs()
        self.instance: Path | None = None
        self.saved: list[tuple[Path, str]] = []  # (file, old value), restored in reverse
        self.enabled: list[str] = []
        self.root = self.top
        inst = self.top / "instances" / f"{instance_prefix}-{os.getpid()}"
        try:
            inst.mkdir()
            self.instance = self.root = inst
        except OSError as e:
            print(f"note: no trace instance ({e}); using the global buffer and restoring it", file=sys.stderr)

    def _find_tracefs(self) -> Path:
        for p in TRACEFS_CANDIDATES:
            if (p / "trace").exists():
                return p
        target = TRACEFS_CANDIDATES[0]
        if not target.is_dir():
            self.die(f"{target} does not exist: is tracefs (CONFIG_TRACING) built into this kernel?")
        r = subprocess.run(["mount", "-t", "tracefs", "nodev", str(target)], capture_output=True, text=True)
        if r.returncode != 0 or not (target / "trace").exists():
            self.die(f"no tracefs found and `mount -t tracefs nodev {target}` failed: {r.stderr.strip()}")
        self.mounted_by_us = target
        return target

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

    def enable(self, events: list[str]) -> None:
        for ev in events:
            self.write(f"events/{ev}/enable", "1")
            self.enabled.append(ev)

    def restore(self) -> None:
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
        for e in errors:
            print(f"warning: could not restore {e}", file=sys.stderr)

    def cpus(self) -> list[int]:
        return sorted(int(p.name[3:]) for p in (self.root / "per_cpu").glob("cpu[0-9]*"))

    def overrun(self) -> int:
        """Events overwritten before being read, summed over CPUs."""
        total = 0
        for st in (self.root / "per_cpu").glob("cpu[0-9]*/stats"):
            m = re.search(r"overrun:\s*(\d+)", st.read_text())
            total += int(m.group(1)) if m else 0
        return total
