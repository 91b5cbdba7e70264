"""Argument checks at the API boundary, the way the kernel's C types would constrain them.

A C caller cannot pass a string where a ``size_t`` goes; a Python caller can.  Every
public entry point checks its arguments with these helpers before anything changes,
and a bad one is a :class:`~kmemsim.errors.UsageError` that names the function and the
argument -- never a Python exception from deep inside the model.
"""
from __future__ import annotations

from .errors import UsageError

__all__ = ["check_addr", "check_int", "check_size", "check_order"]


def check_addr(addr: object, what: str, bits: int) -> int:
    """A kernel virtual (or physical) address: an int inside the ``bits``-bit address space."""
    if isinstance(addr, bool) or not isinstance(addr, int):
        raise UsageError(f"{what}={addr!r}: expected an integer address")
    if not 0 <= addr < (1 << bits):
        raise UsageError(f"{what}={addr:#x}: outside the {bits}-bit address space")
    return addr


def check_int(value: object, what: str, lo: int | None = None, hi: int | None = None) -> int:
    """An int (not a bool) in ``lo..hi`` (either bound may be open)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UsageError(f"{what}={value!r}: expected an integer")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "" if lo is None else str(lo)
        hi_s = "" if hi is None else str(hi)
        raise UsageError(f"{what}={value}: out of range {lo_s}..{hi_s}")
    return value


def check_size(value: object, what: str, bits: int) -> int:
    """A ``size_t``: a non-negative int below 2^bits."""
    return check_int(value, what, 0, (1 << bits) - 1)


def check_order(value: object, what: str = "order") -> int:
    """A page order: a non-negative int (the allocator itself says what is too large)."""
    return check_int(value, what, 0, 63)
