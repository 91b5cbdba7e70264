"""Records: what ``@dataclass`` gives a class, written once (:class:`Record`, :class:`FrozenRecord`).

The data classes on a replay's import path derive from these instead of being decorated with
``@dataclass``, which compiles each class's methods from source at import (about 0.5 ms a class
on a slow machine: a third of a replay's imports).  ``tests/test_record_classes.py`` holds each
record to the dataclass it replaced; ``tests/test_lazy_imports.py`` checks that a replay process
makes no dataclass and does not import :mod:`dataclasses`.
"""
from __future__ import annotations

from operator import attrgetter
from reprlib import recursive_repr
from typing import Any, ClassVar

__all__ = ["Record", "FrozenRecord"]


class Record:
    """What ``@dataclass`` gives a class, written once instead of compiled for each class at import.

    ``@dataclass`` compiles the source of a class's ``__init__``, ``__repr__``, ``__eq__`` (and
    a frozen one's ``__hash__``, ``__setattr__``, ``__delattr__``) when its module is imported:
    about 0.5 ms a class on a slow machine, and the dataclasses of a replay's modules were a
    third of its import time.  The records on that path derive from this (or
    :class:`FrozenRecord`) instead.  Each lists its fields in ``__match_args__`` (in order, as
    the dataclass set it: ``__init__``'s parameters, checked when the class is made) and writes
    its ``__init__``, setting them with ``vars(self).update(...)`` (one assignment each for a
    record with ``__slots__``, as a ``@dataclass(slots=True)`` had); a field the dataclass made
    with ``default_factory`` takes None for "a new one".  The rest is the dataclass's behaviour:

    * ``repr(r)`` is ``Name(field=value, ...)``, every field but those in ``_no_repr`` (its
      ``field(repr=False)``), ``...`` for a record met again inside itself;
    * ``class R(Record)`` has ``==`` comparing the fields (but those in ``_no_compare``) of
      two records of the same class (anything else: NotImplemented) and is unhashable, as
      ``@dataclass``;
      ``class R(Record, eq=False)`` keeps identity, as ``@dataclass(eq=False)``.

    What a record lacks is the dataclass machinery (``dataclasses.fields()``, ``replace()``,
    ``asdict()``).  ``tests/test_record_classes.py`` holds each to the dataclass it replaced.
    """

    __slots__ = ()
    __match_args__: ClassVar[tuple[str, ...]] = ()
    #: fields left out of ``repr()`` and of ``==`` (a dataclass's ``field(repr=False)``,
    #: ``field(compare=False)``)
    _no_repr: ClassVar[tuple[str, ...]] = ()
    _no_compare: ClassVar[tuple[str, ...]] = ()
    _repr_names: ClassVar[tuple[str, ...]] = ()
    #: the fields' values as a tuple (an ``operator.attrgetter``, made once per class)
    _astuple: ClassVar[Any] = staticmethod(lambda self: ())

    def __init_subclass__(cls, eq: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:  # FrozenRecord
            return
        names = cls.__match_args__
        code = cls.__init__.__code__
        if names != code.co_varnames[1 : code.co_argcount]:
            raise TypeError(f"{cls.__qualname__}: __match_args__ {names} are not __init__'s parameters")
        compared = tuple(n for n in names if n not in cls._no_compare)
        if len(compared) > 1:
            cls._astuple = attrgetter(*compared)
        elif compared:
            one = attrgetter(compared[0])
            cls._astuple = staticmethod(lambda self: (one(self),))
        cls._repr_names = tuple(n for n in names if n not in cls._no_repr)
        if eq:
            cls.__eq__ = Record._fields_eq  # type: ignore[method-assign,assignment]
            cls.__hash__ = None  # type: ignore[assignment]

    @recursive_repr()
    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr_names)
        return f"{self.__class__.__qualname__}({fields})"

    def _fields_eq(self, other: object) -> bool:
        if other.__class__ is self.__class__:
            return bool(self._astuple(self) == self._astuple(other))
        return NotImplemented


class FrozenRecord(Record):
    """What ``@dataclass(frozen=True)`` gives a class (see :class:`Record`): ``==`` over the
    fields, ``hash(r)`` the hash of the tuple of them, and assigning or deleting any attribute
    raises :class:`dataclasses.FrozenInstanceError` (an ``AttributeError``) with the
    dataclass's message (for a class nobody derives from).  Instances have a ``__dict__``, as a
    frozen dataclass's without slots: ``__init__`` sets the fields with ``vars(self).update()``."""

    __slots__ = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(eq=False, **kwargs)  # this class's own __eq__ and __hash__

    __eq__ = Record._fields_eq

    def __hash__(self) -> int:
        return hash(self._astuple(self))

    def __setattr__(self, name: str, value: Any) -> None:
        from dataclasses import FrozenInstanceError  # here: a process need not import dataclasses

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")
