"""Kernel flag words by name: symbolic flags that each machine's kernel turns into its own bits.

GFP masks and SLAB_* flags are bit words whose bits moved between kernels (``__GFP_ZERO``
is 0x8000 in 2.6.24 and 0x100 in 6.18; 6.18's ``GFP_KERNEL`` bits, 0xcc0, read on 2.6.24
as ``__GFP_IO|__GFP_FS|__GFP_REPEAT|__GFP_NOFAIL``).  So kmemsim has two kinds of flag
value, and never confuses them:

* a **plain int** is the machine's own bits (``k.gfp.GFP_KERNEL``, ``k.gfp.value(name)``,
  what the machine's tracepoints print), taken as is by that machine;
* a **symbolic flag** (:class:`Flags`: ``kmemsim.gfp.GFP_KERNEL``,
  ``kmemsim.SLAB_HWCACHE_ALIGN``) is an expression over kernel *names*
  (``GFP_KERNEL | __GFP_ZERO``, ``GFP_KERNEL & ~__GFP_IO``).  A machine resolves it with
  its own kernel's values (:meth:`FlagSet.mask`), so the same expression means the same
  thing on every kernel.  A name the kernel does not have is translated where that
  kernel has the same meaning under another name (its :attr:`FlagSet.translations`,
  following the kernel's own renames: 2.6's ``__GFP_WAIT`` is 6.18's ``__GFP_RECLAIM``)
  and refused otherwise, with a :class:`~kmemsim.errors.UsageError` that names the
  kernel and what became of the flag.

A symbolic flag is not an int: it cannot be mixed with plain ints, tested for truth or
used as a number, because every one of those would have to pick a kernel silently.
``FlagSet.mask()`` is the one place where a value becomes bits.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias

from .errors import UsageError

__all__ = ["Flags", "FlagSet", "FlagArg"]

#: gfp_t and slab_flags_t are unsigned int: 32 bits on every kernel modelled.
WORD_MASK = (1 << 32) - 1

_Node: TypeAlias = "tuple[str, str] | tuple[str, Flags, Flags] | tuple[str, Flags]"


class Flags:
    """A flag expression over kernel names, of one kind ("gfp" or "slab").

    Build them with the module constants (``kmemsim.gfp.GFP_KERNEL | kmemsim.gfp.__GFP_ZERO``)
    and hand them to any machine; ``k.gfp.mask(f)`` shows the bits that machine uses.
    """

    __slots__ = ("kind", "node", "_hash")

    def __init__(self, kind: str, node: _Node) -> None:
        self.kind = kind
        self.node = node
        self._hash = hash((kind, node))

    @classmethod
    def name(cls, kind: str, name: str) -> Flags:
        return cls(kind, ("name", name))

    # -- operators: only between symbolic flags of the same kind
    def _other(self, other: object, op: str, reflected: bool = False) -> Flags:
        if isinstance(other, Flags) and other.kind == self.kind:
            return other
        if isinstance(other, int) and not isinstance(other, bool):
            expr = f"{other:#x} {op} {self!r}" if reflected else f"{self!r} {op} {other:#x}"
            raise UsageError(
                f"{expr}: a symbolic {self.kind} flag cannot be combined with a plain int, "
                f"whose bits belong to one kernel; use names throughout (kmemsim.{self.kind} constants), "
                f"or the machine's own values throughout (k.{self.kind}.value(...))"
            )
        raise UsageError(f"{self!r} {op} {other!r}: expected a {self.kind} flag")

    def __or__(self, other: object) -> Flags:
        return Flags(self.kind, ("or", self, self._other(other, "|")))

    def __ror__(self, other: object) -> Flags:
        return Flags(self.kind, ("or", self._other(other, "|", True), self))

    def __and__(self, other: object) -> Flags:
        return Flags(self.kind, ("and", self, self._other(other, "&")))

    def __rand__(self, other: object) -> Flags:
        return Flags(self.kind, ("and", self._other(other, "&", True), self))

    def __invert__(self) -> Flags:
        return Flags(self.kind, ("not", self))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Flags) and other.kind == self.kind and other.node == self.node

    def __hash__(self) -> int:
        return self._hash

    def __bool__(self) -> bool:
        raise UsageError(
            f"{self!r} has no truth value before a kernel gives it bits: test k.{self.kind}.mask(...) instead"
        )

    def __int__(self) -> int:
        raise UsageError(f"{self!r} is a name, not a number: k.{self.kind}.mask(...) gives a machine's bits")

    __index__ = __int__

    def __repr__(self) -> str:
        return self._text(top=True)

    def _text(self, top: bool = False) -> str:
        n = self.node
        if n[0] == "name":
            return str(n[1])
        if n[0] == "not":
            inner = n[1]
            assert isinstance(inner, Flags)
            return "~" + inner._text()
        a, b = n[1], n[2]  # type: ignore[misc]
        assert isinstance(a, Flags) and isinstance(b, Flags)
        text = f"{a._text()}{'|' if n[0] == 'or' else '&'}{b._text()}"
        return text if top else f"({text})"

    def names(self) -> list[str]:
        """Every kernel name the expression uses."""
        n = self.node
        if n[0] == "name":
            return [str(n[1])]
        return [name for part in n[1:] if isinstance(part, Flags) for name in part.names()]


#: What the public API takes for a flag word (gfp, SLAB_* flags): the machine's own bits
#: (an int), a symbolic :class:`Flags` expression, or a string of names -- whatever
#: :meth:`FlagSet.mask` (``k.gfp.mask()``, ``k.slab_flags.mask()``) accepts.
FlagArg: TypeAlias = "int | Flags | str"


class FlagSet:
    """The flag names and values of one kernel, for one kind of flag word.

    ``flags`` holds every macro of the kernel (0 for a configured-out bit);
    ``translations`` maps a name of another kernel to an expression over this kernel's
    names with the same meaning (or to ``""`` for "no bits here, same behaviour");
    ``history`` explains, for a name this kernel lacks and cannot translate, what
    became of it (or what it replaced).
    """

    kind = "flags"

    def __init__(self, *, kernel_version: str, flags: Mapping[str, int],
                 translations: Mapping[str, str] | None = None,
                 history: Mapping[str, str] | None = None) -> None:
        self.kernel_version = kernel_version
        self.flags: dict[str, int] = dict(flags)
        self.translations: dict[str, str] = dict(translations or {})
        self.history: dict[str, str] = dict(history or {})
        #: symbolic expression -> this kernel's bits, filled by :meth:`resolve` (the fast paths read it)
        self.resolved: dict[Flags, int] = {}

    # ------------------------------------------------------------------ names
    def value_or_zero(self, name: str) -> int:
        """The value of the kernel macro ``name``, or 0 for a flag this kernel does not have."""
        return self.flags.get(name, 0)

    def value(self, name: str) -> int:
        """The value of this kernel's macro ``name``; a :class:`UsageError` naming the flag and,
        for a name of another era, what became of it."""
        if not isinstance(name, str):
            raise UsageError(f"{self.kind.upper()} flag name must be a string, got {name!r}")
        try:
            return self.flags[name]
        except KeyError:
            pass
        raise UsageError(self._unknown(name))

    def _unknown(self, name: str) -> str:
        label = "GFP" if self.kind == "gfp" else "SLAB"
        if name in self.history:
            return f"{name} is not a Linux {self.kernel_version} {label} flag: {self.history[name]}"
        import difflib  # only for this message: not at import (1.5 ms)

        close = difflib.get_close_matches(name, list(self.flags), n=3, cutoff=0.75)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        return f"unknown {label} flag {name!r} for Linux {self.kernel_version}{hint}"

    def __getattr__(self, name: str) -> int:
        # k.gfp.GFP_KERNEL, k.gfp.__GFP_ZERO (outside a class body): the machine's bits
        flags = self.__dict__.get("flags")
        if flags is not None and name in flags:
            return flags[name]
        raise AttributeError(f"{type(self).__name__} of Linux {self.__dict__.get('kernel_version')} "
                             f"has no flag {name!r}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.flags))

    # ------------------------------------------------------------------ symbolic flags
    def resolve(self, f: Flags) -> int:
        """The bits of a symbolic expression on this kernel (cached)."""
        v = self.resolved.get(f)
        if v is None:
            if f.kind != self.kind:
                raise UsageError(f"{f!r} is a {f.kind} flag, not a {self.kind} flag")
            v = self.resolved[f] = self._eval(f)
        return v

    def _eval(self, f: Flags) -> int:
        n = f.node
        op = n[0]
        if op == "name":
            return self._name_bits(str(n[1]))
        if op == "not":
            inner = n[1]
            assert isinstance(inner, Flags)
            return ~self._eval(inner) & WORD_MASK
        a, b = n[1], n[2]  # type: ignore[misc]
        assert isinstance(a, Flags) and isinstance(b, Flags)
        return self._eval(a) | self._eval(b) if op == "or" else self._eval(a) & self._eval(b)

    def _name_bits(self, name: str) -> int:
        if name in self.flags:
            return self.flags[name]
        if name in self.translations:
            expr = self.translations[name]
            return self.parse_names(expr) if expr else 0
        raise UsageError(self._unknown(name))

    def parse_names(self, text: str) -> int:
        """``"A|B"`` of this kernel's own names."""
        mask = 0
        for token in text.split("|"):
            mask |= self.value(token.strip())
        return mask

    # ------------------------------------------------------------------ the boundary
    def mask(self, value: object, what: str = "flags") -> int:
        """The machine's bits for ``value``: a plain int (this kernel's bits, 0 .. 2^32-1), a
        symbolic :class:`Flags` expression, or a string of this kernel's names as its
        printer writes them.  Anything else is a :class:`UsageError` naming ``what``."""
        if type(value) is int:
            if 0 <= value <= WORD_MASK:
                return value
            label = "GFP" if self.kind == "gfp" else "SLAB"
            raise UsageError(f"{what}={value:#x}: unknown {label} flags (not a 32-bit flag word)")
        try:
            if isinstance(value, Flags):
                return self.resolve(value)
            if isinstance(value, str):
                return self.parse_text(value)
        except UsageError as e:
            raise UsageError(f"{what}: {e}") from None
        raise UsageError(f"{what}={value!r}: expected {self.kind} flags (k.{self.kind}.X, kmemsim.{self.kind}.X, "
                         f"or a string of names), got {type(value).__name__}")

    def parse_text(self, text: str) -> int:
        return self.parse_names(text)


def symbols(kind: str, names: list[str] | tuple[str, ...]) -> dict[str, Flags]:
    """One symbolic flag per name (the module constants of kmemsim.gfp and the SLAB_* ones)."""
    return {n: Flags.name(kind, n) for n in names}
