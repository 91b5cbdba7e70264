"""Argument checks at the API boundary, the way the kernel's C types would constrain them.

A C caller cannot pass a string where a ``size_t`` goes; a Python caller can.  Every
public entry point checks its arguments before anything changes, and a bad one is a
:class:`~kmemsim.errors.UsageError` that names the function and the argument -- never a
Python exception from deep inside the model.

Most checks are generated: :func:`kmemsim.kernel.forward` reads each target's
annotations and parameter names and writes the checks into the Kernel method it makes
(``docs/api-names.md``, "Arguments"):

* a parameter annotated ``int`` must be an int (an int subclass such as an IntEnum
  passes; ``bool``, ``float``, ``None``, ``str`` do not); ``int | None`` also takes None;
* a parameter named in :data:`RANGES` must also be in that range (the C type's: a
  ``size_t`` is 0 .. 2^BITS_PER_LONG - 1; an ``unsigned int`` order 0 .. 2^32 - 1; a node
  id is NUMA_NO_NODE (-1) or a node of the machine, which has one, node 0; a pointer
  (``obj``, ``addr`` ...) 0 .. 2^BITS_PER_LONG - 1).  What the
  kernel itself does with a value its type allows (an order above MAX_PAGE_ORDER: a WARN
  and NULL; a size above KMALLOC_MAX_SIZE: NULL) stays the kernel's;
* a parameter named ``gfp`` or ``gfp_mask`` goes through ``k.gfp.mask`` (the machine's
  ints, symbolic ``kmemsim.gfp`` flags, a string of names);
* a parameter annotated with a kmemsim class (``Page``, ``KmemCache`` ...) must be one.

The helpers below are what the generated code calls when a value fails the quick test,
and what hand-written entry points (``Machine.read``, ``memset`` ...) use.
"""
from __future__ import annotations

from .errors import UsageError

__all__ = ["check_addr", "check_int", "check_size", "check_order", "int_arg", "range_arg", "obj_arg", "RANGES",
           "UINT_MAX"]

UINT_MAX = (1 << 32) - 1

#: Parameter name -> (lowest, highest, the C type); highest None is the machine's
#: SIZE_MAX (2^BITS_PER_LONG - 1).  Applied by forward() to parameters annotated ``int``.
RANGES: dict[str, tuple[int, int | None, str]] = {
    "size": (0, None, "size_t"),
    "new_size": (0, None, "size_t"),
    "n": (0, None, "size_t"),
    "max_len": (0, None, "size_t"),
    "min_nr": (0, (1 << 31) - 1, "int (a count)"),
    "order": (0, UINT_MAX, "unsigned int"),
    "node": (-1, 0, "a node id: NUMA_NO_NODE (-1) or 0, the machine's one node"),
    "nid": (-1, 0, "a node id: NUMA_NO_NODE (-1) or 0, the machine's one node"),
    # pointers (void *, unsigned long addresses): the address space, 0 .. 2^BITS_PER_LONG - 1
    "obj": (0, None, "a pointer"),
    "addr": (0, None, "a pointer"),
    "cpu_addr": (0, None, "a pointer"),
    "src": (0, None, "a pointer"),
    "to": (0, None, "a pointer"),
}


def int_arg(value: object, what: str) -> int:
    """``value`` if it is an int (not a bool), else a UsageError naming ``what``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    hint = ""
    if hasattr(value, "pfn") and hasattr(value, "refcount"):  # a kmemsim.Page
        hint = " (a struct page, not an address: k.page_address(page) is its address"
        hint += "; free_pages_struct() frees a page)" if "free" in what else ")"
    raise UsageError(f"{what}={value!r}: expected an integer, got {type(value).__name__}{hint}")


def range_arg(value: object, what: str, lo: int, hi: int, ctype: str) -> int:
    """An int in ``lo..hi`` (the C type ``ctype``), else a UsageError naming ``what``."""
    if ctype == "a pointer" and not (isinstance(value, int) and not isinstance(value, bool)) \
            and not hasattr(value, "pfn"):
        raise UsageError(f"{what}={value!r:.60}: not an address (a pointer is an integer), got {type(value).__name__}")
    v = int_arg(value, what)
    if not lo <= v <= hi:
        shown = f"{v:#x}" if abs(v) > 0xFFFF else str(v)
        raise UsageError(f"{what}={shown}: out of range for {ctype} ({lo}..{hi:#x})" if hi > 0xFFFF
                         else f"{what}={shown}: out of range for {ctype} ({lo}..{hi})")
    return v


def obj_arg(value: object, what: str, cls: type, optional: bool = False) -> object:
    """An instance of ``cls`` (or None when ``optional``), else a UsageError naming ``what``."""
    if isinstance(value, cls) or (optional and value is None):
        return value
    label = _LABELS.get(cls.__name__, f"a {cls.__name__}")
    raise UsageError(f"{what}={value!r:.60}: not {label}" + (" or None" if optional else "")
                     + f", got {type(value).__name__}")


#: how the kernel's C type of a kmemsim class reads in an error
_LABELS = {
    "Page": "a struct page (kmemsim.Page)",
    "KmemCache": "a cache made by kmem_cache_create()",
    "VmStruct": "a struct vm_struct (get_vm_area())",
}


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
