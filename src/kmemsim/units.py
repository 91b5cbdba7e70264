"""Sizes as the kernel parses and prints them.

``memparse`` follows lib/cmdline.c: an integer (decimal, 0x hex or 0 octal)
followed by an optional K, M, G, T, P or E suffix (case-insensitive, powers of
1024).  Unlike the kernel, which silently stops at the first bad character,
anything left over is an error here, because a typo in a machine description
should not boot a different machine.  A trailing "B" or "iB" ("1GiB", "64MB")
is accepted as a convenience.
"""
from __future__ import annotations

import re

from .errors import ConfigError

_SHIFT = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40, "P": 50, "E": 60}
_SIZE_RE = re.compile(r"^\s*(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)\s*([kKmMgGtTpPeE]?)(i?[bB])?\s*$")


def memparse(value: str | int, what: str = "size") -> int:
    """Parse a kernel-style size ("1G", "160M", "0x1000", 4096) into bytes."""
    if isinstance(value, bool):
        raise ConfigError(f"{what}: expected a size, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(f"{what}: size must not be negative, got {value}")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{what}: expected a size such as '1G', got {value!r}")
    m = _SIZE_RE.match(value)
    if not m:
        raise ConfigError(
            f"{what}: malformed size {value!r} (expected a number with an optional "
            "K, M, G, T, P or E suffix, e.g. '1G' or '160M')"
        )
    digits, suffix, _ = m.groups()
    if digits.lower().startswith("0x"):
        number = int(digits, 0)
    else:
        number = int(digits, 8 if len(digits) > 1 and digits[0] == "0" else 10)
    return number << _SHIFT[suffix.upper()]


def human(n: int) -> str:
    """Bytes as the shortest exact binary unit: 4096 -> '4K', 3<<30 -> '3G'."""
    for suffix, shift in (("E", 60), ("P", 50), ("T", 40), ("G", 30), ("M", 20), ("K", 10)):
        if n and n % (1 << shift) == 0:
            return f"{n >> shift}{suffix}"
    return f"{n}"


def human_approx(n: int) -> str:
    """Bytes in the largest unit that keeps one decimal: 1610612736 -> '1.5 GiB'."""
    for suffix, shift in (("EiB", 60), ("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            v = n / (1 << shift)
            return f"{v:.0f} {suffix}" if v == int(v) else f"{v:.1f} {suffix}"
    return f"{n} B"
