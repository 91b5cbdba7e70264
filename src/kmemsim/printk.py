"""printk, the kernel log buffer, and the machine clock.

Models kernel/printk/printk.c as far as its output goes: each record has a
timestamp from the machine's clock (``local_clock()``, nanoseconds since boot)
and a log level; ``dmesg()`` renders ``[%5lu.%06lu] text`` lines as
``dmesg`` does (and the console with ``printk.time=1``).  A message with
embedded newlines becomes one record per line with the same timestamp.

The clock is deterministic: it moves only when the machine says so (boot
phases, the scheduler of later issues), never with the host's wall time.
"""
from __future__ import annotations

from collections import deque

from .records import FrozenRecord

KERN_EMERG, KERN_ALERT, KERN_CRIT, KERN_ERR, KERN_WARNING, KERN_NOTICE, KERN_INFO, KERN_DEBUG = range(8)
KERN_DEFAULT = KERN_WARNING  # CONFIG_MESSAGE_LOGLEVEL_DEFAULT=4


class Clock:
    """Machine time in nanoseconds since boot."""

    __slots__ = ("ns",)

    def __init__(self) -> None:
        self.ns = 0

    def advance(self, ns: int) -> None:
        if ns < 0:
            raise ValueError("the clock cannot go backwards")
        self.ns += ns


class Record(FrozenRecord):
    """One message of the log: its time (ns since boot), level and text."""

    __match_args__ = ("ts_ns", "level", "text")
    ts_ns: int
    level: int
    text: str

    def __init__(self, ts_ns: int, level: int, text: str) -> None:
        vars(self).update(ts_ns=ts_ns, level=level, text=text)

    def format(self) -> str:
        sec, ns = divmod(self.ts_ns, 1_000_000_000)
        return f"[{sec:5d}.{ns // 1000:06d}] {self.text}"


class LogBuffer:
    """The kernel ring buffer; the oldest records go when it is full."""

    def __init__(self, clock: Clock, max_records: int = 100_000):
        self.clock = clock
        self.records: deque[Record] = deque(maxlen=max_records)
        self.sink = None  # optional callable(Record): a live console

    def printk(self, text: str, level: int = KERN_INFO) -> None:
        for line in text.rstrip("\n").split("\n"):
            rec = Record(self.clock.ns, level, line)
            self.records.append(rec)
            if self.sink is not None:
                self.sink(rec)

    def dmesg(self, *, level: int | None = None, since: int = 0) -> str:
        """The log as ``dmesg`` prints it; ``level`` keeps records at or above that priority."""
        recs = list(self.records)[since:]
        if level is not None:
            recs = [r for r in recs if r.level <= level]
        return "".join(r.format() + "\n" for r in recs)

    def __len__(self) -> int:
        return len(self.records)
