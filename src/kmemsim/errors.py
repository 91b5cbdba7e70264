"""Exceptions raised by kmemsim.

Two families, kept apart on purpose:

* ``ConfigError`` (a ``ValueError``): bad input from the *user* of kmemsim -- an
  unknown profile or tunable, a malformed size, an impossible machine.  Raised
  before any state changes, with the offending input named in the message.

* ``KernelBug``: something the *modelled kernel* would report as a BUG, an oops
  or a detected corruption.  The report has already been written to the
  machine's dmesg in the kernel's format; the exception carries the same text.
  ``Oops`` is the subclass for reports after which the current task cannot
  continue (a real kernel kills it), so it is raised under either ``on_bug``
  policy.

* ``InvariantError`` (an ``AssertionError``): ``Kernel.check()`` found the
  model's own bookkeeping inconsistent.  That is a kmemsim bug or the result of
  deliberate corruption by a test; the message names the structure.
"""
from __future__ import annotations


class KmemsimError(Exception):
    """Base class of every kmemsim exception."""


class ConfigError(KmemsimError, ValueError):
    """Invalid user input: profile, tunable, size, or an impossible machine."""


class KernelBug(KmemsimError):
    """The modelled kernel reported a bug; ``report`` is the dmesg text."""

    def __init__(self, kind: str, report: str):
        self.kind = kind
        self.report = report
        first = report.splitlines()[0] if report else kind
        super().__init__(first)


class Oops(KernelBug):
    """A fault that kills the current task in a real kernel (page fault, BUG())."""


class InvariantError(KmemsimError, AssertionError):
    """``Kernel.check()`` found the machine's bookkeeping inconsistent."""

    def __init__(self, subsystem: str, message: str):
        self.subsystem = subsystem
        super().__init__(f"{subsystem}: {message}")


class UsageError(KmemsimError, ValueError):
    """A call with arguments no kernel API accepts (negative size, address out of range)."""
