"""The text of fault attributes: lib/kstrtox.c and setup_fault_attr()'s sscanf.

``failslab=`` and ``fail_page_alloc=`` are boot parameters: :mod:`kmemsim.profiles` checks
them (:func:`parse_setup_fault_attr`) when it resolves a machine's tunables, before any
subsystem exists, and :mod:`kmemsim.mm.fault_inject` applies them at boot
(``setup_fault_attr()``) and parses its debugfs knobs with the same ``kstrto*`` functions.
This module is that shared parsing, with no import of either, so neither imports the other.

Models lib/kstrtox.c (``_parse_integer_fixup_radix``, ``_parse_integer``, ``kstrtoull``,
``kstrtoll``; ``kstrtobool`` of 6.x) and lib/vsprintf.c's ``sscanf("%lu,%lu,%d,%d")`` as
``setup_fault_attr()`` (lib/fault-inject.c) calls it.
"""
from __future__ import annotations

from typing import Any

from .errors import ConfigError

__all__ = ["parse_integer", "kstrtoull", "kstrtoll", "kstrtobool", "vsscanf_fault", "parse_setup_fault_attr"]

_U64 = (1 << 64) - 1


# ===================================================================== lib/kstrtox.c
def parse_integer(s: str, base: int) -> tuple[int, int, bool]:
    """_parse_integer_fixup_radix + _parse_integer: (value mod 2^64, chars used, overflow)."""
    if base == 0:
        if s[:1] == "0":
            base = 16 if s[1:2].lower() == "x" and s[2:3] and s[2:3] in "0123456789abcdefABCDEF" else 8
        else:
            base = 10
    if base == 16 and s[:1] == "0" and s[1:2].lower() == "x":
        s = s[2:]
        skipped = 2
    else:
        skipped = 0
    res, n, over = 0, 0, False
    for c in s:
        lc = c.lower()
        if "0" <= c <= "9":
            val = ord(c) - 48
        elif "a" <= lc <= "f":
            val = ord(lc) - 87
        else:
            break
        if val >= base:
            break
        if res & (_U64 << 60) & _U64 and res > (_U64 - val) // base:
            over = True
        res = (res * base + val) & _U64
        n += 1
    return res, n + skipped if n else 0, over


def _kstrtoull(s: str, base: int) -> int:
    res, n, over = parse_integer(s, base)
    if over:
        raise _Errno("ERANGE")
    if n == 0:
        raise _Errno("EINVAL")
    rest = s[n:]
    if rest[:1] == "\n":
        rest = rest[1:]
    if rest:
        raise _Errno("EINVAL")
    return res


class _Errno(Exception):
    def __init__(self, name: str):
        self.name = name
        super().__init__(f"-{name}")


def kstrtoull(s: str, base: int = 0) -> int:
    """kstrtoull(): an optional '+', digits in ``base`` (0: 0x hex, 0 octal, else decimal),
    an optional single newline, nothing else.  Raises ValueError("-EINVAL"/"-ERANGE")."""
    try:
        return _kstrtoull(s[1:] if s[:1] == "+" else s, base)
    except _Errno as e:
        raise ValueError(f"-{e.name}") from None


def kstrtoll(s: str, base: int = 0) -> int:
    """kstrtoll(): as kstrtoull with an optional '-' and the range of long long."""
    try:
        if s[:1] == "-":
            tmp = _kstrtoull(s[1:], base)
            if tmp > 1 << 63:
                raise _Errno("ERANGE")
            return -tmp
        tmp = _kstrtoull(s[1:] if s[:1] == "+" else s, base)
        if tmp >= 1 << 63:
            raise _Errno("ERANGE")
        return tmp
    except _Errno as e:
        raise ValueError(f"-{e.name}") from None


def kstrtobool(s: str) -> bool:
    """kstrtobool() (6.x): y/Y/t/T/e/E/1 and on are true, n/N/f/F/d/D/0 and off are false."""
    c = s[:1]
    if c and c in "eEyYtT1":
        return True
    if c and c in "dDnNfF0":
        return False
    if c and c in "oO":
        c2 = s[1:2]
        if c2 and c2 in "nN":
            return True
        if c2 and c2 in "fF":
            return False
    raise ValueError("-EINVAL")


# ===================================================================== setup_fault_attr()
def vsscanf_fault(text: str) -> tuple[int, int, int, int] | None:
    """sscanf(str, "%lu,%lu,%d,%d") as lib/vsprintf.c does it: spaces before each number are
    skipped, a '-' only for %d, a ',' must follow exactly; what follows the fourth is ignored.
    None if fewer than four fields convert."""
    out: list[int] = []
    i, n = 0, len(text)
    for idx, signed in enumerate((False, False, True, True)):
        if idx:
            if i >= n or text[i] != ",":
                return None
            i += 1
        while i < n and text[i] in " \t\n\r\f\v":
            i += 1
        neg = False
        if signed and text[i:i + 1] == "-":
            neg = True
            i += 1
        if i >= n or not text[i].isdigit() or not text[i].isascii():
            return None
        res, used, _ = parse_integer(text[i:], 10)  # simple_strntoull(), base 10
        i += used
        out.append(-res if neg else res)
    return out[0], out[1], out[2], out[3]


def parse_setup_fault_attr(name: str, value: Any) -> str:
    """The ``failslab=`` / ``fail_page_alloc=`` boot parameter: "<interval>,<probability>,
    <space>,<times>".  What the kernel's sscanf rejects (it prints "FAULT_INJECTION: failed
    to parse arguments" and keeps the defaults) is a ConfigError here."""
    if not isinstance(value, str) or vsscanf_fault(value) is None:
        raise ConfigError(
            f"tunable {name}: expected \"<interval>,<probability>,<space>,<times>\" such as "
            f"\"1,100,0,-1\", got {value!r} (the kernel would print \"FAULT_INJECTION: failed "
            f"to parse arguments\" and ignore it)"
        )
    return value
