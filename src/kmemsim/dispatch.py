"""One dispatch slot per hot entry point: fast paths, and who may take them away.

The allocation entry points a program calls millions of times (``kmalloc``,
``kfree``, ``kmem_cache_alloc``, ``kmem_cache_free``, ``get_free_pages``,
``free_pages``) each have two implementations: the *general path*, a method of
:class:`~kmemsim.kernel.Kernel` that does everything (argument checks, might_alloc,
fault injection, tracepoints, debug checks, the slow paths), and optionally a *fast
path*, a closure over the allocator's structures that handles the common case in a
few Python operations and hands every other case to the general path.  As
CPython's ``PyMem_SetAllocator`` lets debug hooks wrap the current allocator, this
module is the one place that decides which implementation a machine's entry point
runs:

* an owner installs a fast path with :meth:`Dispatch.install` (the page allocator
  and SLUB at their init);
* anything that needs to see every call -- atomic context (might_alloc), tracing
  (the tracepoints live in the general paths), fault injection (should_failslab),
  a debug hook -- *suspends* the fast paths for a reason with :meth:`Dispatch.suspend`
  and resumes them with :meth:`Dispatch.resume`; they run again when no reason is left;
* :meth:`Dispatch.state` says, per entry point, what runs and why.

How the slot works: every machine is an instance of its own subclass of ``Kernel``
(made in ``Kernel.__new__``); the slot is that subclass's attribute.  Installing a
fast path sets it, suspending deletes it so that the ``Kernel`` method (the general
path) shows through.  Nothing is ever written into the machine instance itself, and
a lookup of ``k.kmalloc`` costs what any method lookup costs (measured: 47 ns for a
call through the class slot against 63 ns for the old instance attribute and 93 ns
for a method that forwards to a slot object).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Dispatch", "HOT_ENTRY_POINTS", "ALLOC_ENTRY_POINTS"]

#: The entry points that have a slot.
HOT_ENTRY_POINTS: tuple[str, ...] = (
    "kmalloc", "kfree", "kmem_cache_alloc", "kmem_cache_free", "get_free_pages", "free_pages",
)
#: The allocating ones: what atomic context (might_alloc) and fault injection must see.
ALLOC_ENTRY_POINTS: tuple[str, ...] = ("kmalloc", "kmem_cache_alloc", "get_free_pages")


class Dispatch:
    """The slots of one machine (``k.dispatch``)."""

    def __init__(self, machine_class: type) -> None:
        self._cls = machine_class
        self._fast: dict[str, Callable[..., Any]] = {}
        self._reasons: dict[str, frozenset[str]] = {}  # reason -> the entry points it suspends

    def install(self, name: str, fn: Callable[..., Any]) -> None:
        """Give entry point ``name`` a fast path ``fn(self, *args)``: it runs unless suspended."""
        if name not in HOT_ENTRY_POINTS:
            raise ValueError(f"{name!r} is not a hot entry point ({', '.join(HOT_ENTRY_POINTS)})")
        general = getattr(self._cls.__mro__[1], name)
        fn.__name__ = name
        fn.__qualname__ = f"Kernel.{name}"
        fn.__doc__ = general.__doc__
        self._fast[name] = fn
        self._refresh(name)

    def fast_path(self, name: str) -> Callable[..., Any] | None:
        """The fast path installed for entry point ``name`` (running or suspended), or None:
        what the compiled replay core checks the slot against (kmemsim.trace.replay)."""
        return self._fast.get(name)

    def general(self, name: str, machine: object) -> Callable[..., Any]:
        """The general path of entry point ``name`` bound to ``machine``: the ``Kernel`` method,
        with its generated argument checks (kmemsim.args).  A fast path hands every case it
        does not serve to this, so a bad argument gets the same error on either path."""
        fn: Callable[..., Any] = getattr(self._cls.__mro__[1], name).__get__(machine)
        return fn

    def _suspended_by(self, name: str) -> list[str]:
        return sorted(r for r, names in self._reasons.items() if name in names)

    def _refresh(self, name: str) -> None:
        fn = self._fast.get(name)
        want = fn is not None and not self._suspended_by(name)
        if want:
            if self._cls.__dict__.get(name) is not fn:
                setattr(self._cls, name, fn)
        elif name in self._cls.__dict__:
            delattr(self._cls, name)

    def suspend(self, reason: str, entry_points: tuple[str, ...] = HOT_ENTRY_POINTS) -> None:
        """Route ``entry_points`` (all by default) through their general paths while ``reason``
        holds; suspending again for the same reason replaces its set."""
        self._reasons[reason] = frozenset(entry_points)
        for name in HOT_ENTRY_POINTS:
            self._refresh(name)

    def resume(self, reason: str) -> None:
        """``reason`` no longer holds; a fast path comes back when no reason covers it."""
        if self._reasons.pop(reason, None) is not None:
            for name in HOT_ENTRY_POINTS:
                self._refresh(name)

    @property
    def reasons(self) -> frozenset[str]:
        """Why fast paths are suspended (empty: they all run)."""
        return frozenset(self._reasons)

    def active(self, name: str) -> str:
        """``"fast"`` if entry point ``name`` runs its fast path now, else ``"general"``."""
        return "fast" if name in self._cls.__dict__ else "general"

    def state(self) -> dict[str, str]:
        """Per hot entry point: ``"fast"``, ``"general"`` (no fast path), or
        ``"general (reason, ...)"`` when fast paths are suspended."""
        out = {}
        for name in HOT_ENTRY_POINTS:
            why = self._suspended_by(name)
            if self.active(name) == "fast":
                out[name] = "fast"
            else:
                out[name] = "general" + (f" ({', '.join(why)})" if why and name in self._fast else "")
        return out

    def __repr__(self) -> str:
        return f"<Dispatch {self.state()}>"
