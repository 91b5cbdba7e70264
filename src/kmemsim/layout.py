"""The kernel virtual address layout of a booted machine.

``Kernel.layout`` is a :class:`Layout`: the named boundaries the kernel computes
at boot (``PAGE_OFFSET``, ``high_memory``, ``VMALLOC_START`` ...), as plain ints
under their kernel names in lower case, plus :attr:`Layout.regions`, the whole
address space from 0 to the top cut into named pieces, which the
``kmemsim layout`` drawing and the tour print.

The arch modules (``kmemsim.arch.x86_64``, ``kmemsim.arch.i386``) compute it;
this module only holds it and draws it.
"""
from __future__ import annotations

from collections.abc import Iterable

from .records import FrozenRecord
from .units import human_approx


class Region(FrozenRecord):
    """One piece of the virtual address space, ``[start, end)``."""

    __match_args__ = ("start", "end", "name", "note", "kind")
    start: int
    end: int
    name: str
    note: str = ""
    kind: str = "kernel"  # user | hole | direct | vmalloc | kernel | guard

    def __init__(self, start: int, end: int, name: str, note: str = "", kind: str = "kernel") -> None:
        vars(self).update(start=start, end=end, name=name, note=note, kind=kind)

    @property
    def size(self) -> int:
        return self.end - self.start


class Layout(FrozenRecord):
    """Named address-space boundaries; ``None`` where the architecture has none.

    Ends are the kernel's own values: ``vmalloc_end`` on x86_64 is the kernel's
    inclusive ``VMALLOC_END`` (start + 32 TiB - 1) while on i386 it is the first
    address past the area; ``is_vmalloc_addr`` is ``start <= addr < vmalloc_end``
    on both, exactly as in mm/vmalloc.c.
    """

    __match_args__ = ("arch", "bits", "task_size", "page_offset", "high_memory", "direct_map_end", "vmalloc_start",
                       "vmalloc_end", "kernel_text", "kernel_end", "kernel_map", "modules", "modules_end",
                       "fixaddr_start", "fixaddr_top", "vmalloc_offset", "pkmap_base", "last_pkmap", "vmemmap_base",
                       "mem_map", "cpu_entry_area_base", "ldt_base", "espfix_base", "efi_va_start", "efi_va_end",
                       "vsyscall", "regions")
    _no_repr = ("regions",)
    arch: str
    bits: int
    task_size: int  # end of user space (TASK_SIZE / TASK_SIZE_MAX)
    page_offset: int  # PAGE_OFFSET: start of the direct map
    high_memory: int  # end of the directly mapped RAM
    direct_map_end: int  # end of the range reserved for the direct map
    vmalloc_start: int
    vmalloc_end: int
    kernel_text: int  # virtual address of _text
    kernel_end: int  # virtual address of _end
    kernel_map: int  # __START_KERNEL_map (x86_64) or PAGE_OFFSET (i386)
    modules: int  # MODULES_VADDR
    modules_end: int
    fixaddr_start: int
    fixaddr_top: int
    vmalloc_offset: int | None = None  # i386: the 8 MB gap
    pkmap_base: int | None = None  # i386 HIGHMEM: persistent kmap window
    last_pkmap: int | None = None
    vmemmap_base: int | None = None  # x86_64: struct page array
    mem_map: int | None = None  # i386 FLATMEM: address of mem_map[]
    cpu_entry_area_base: int | None = None
    ldt_base: int | None = None
    espfix_base: int | None = None
    efi_va_start: int | None = None
    efi_va_end: int | None = None
    vsyscall: int | None = None
    regions: tuple[Region, ...] = ()

    def __init__(self, arch: str, bits: int, task_size: int, page_offset: int, high_memory: int, direct_map_end: int,
                 vmalloc_start: int, vmalloc_end: int, kernel_text: int, kernel_end: int, kernel_map: int,
                 modules: int, modules_end: int, fixaddr_start: int, fixaddr_top: int,
                 vmalloc_offset: int | None = None, pkmap_base: int | None = None, last_pkmap: int | None = None,
                 vmemmap_base: int | None = None, mem_map: int | None = None, cpu_entry_area_base: int | None = None,
                 ldt_base: int | None = None, espfix_base: int | None = None, efi_va_start: int | None = None,
                 efi_va_end: int | None = None, vsyscall: int | None = None, regions: tuple[Region, ...] = ()) -> None:
        vars(self).update(arch=arch, bits=bits, task_size=task_size, page_offset=page_offset, high_memory=high_memory,
                          direct_map_end=direct_map_end, vmalloc_start=vmalloc_start, vmalloc_end=vmalloc_end,
                          kernel_text=kernel_text, kernel_end=kernel_end, kernel_map=kernel_map, modules=modules,
                          modules_end=modules_end, fixaddr_start=fixaddr_start, fixaddr_top=fixaddr_top,
                          vmalloc_offset=vmalloc_offset, pkmap_base=pkmap_base, last_pkmap=last_pkmap,
                          vmemmap_base=vmemmap_base, mem_map=mem_map, cpu_entry_area_base=cpu_entry_area_base,
                          ldt_base=ldt_base, espfix_base=espfix_base, efi_va_start=efi_va_start, efi_va_end=efi_va_end,
                          vsyscall=vsyscall, regions=regions)

    @property
    def top(self) -> int:
        return 1 << self.bits

    def region_of(self, addr: int) -> Region | None:
        for r in self.regions:
            if r.start <= addr < r.end:
                return r
        return None

    def _repr_html_(self) -> str | None:
        """Jupyter's rich display, drawn by kmemsim.explore (a tool above this layer: imported by name)."""
        import importlib

        return importlib.import_module("kmemsim.explore.jupyter").repr_html(self)

    def fields(self) -> dict[str, int]:
        """The named boundaries that apply to this architecture."""
        out = {}
        for name in self.__match_args__:
            v = getattr(self, name)
            if isinstance(v, int) and not isinstance(v, bool) and name not in {"bits"}:
                out[name] = v
        return out


def fill_holes(regions: Iterable[Region], top: int) -> tuple[Region, ...]:
    """Sort ``regions`` and cover the gaps between them with 'unused' holes."""
    out: list[Region] = []
    pos = 0
    for r in sorted(regions, key=lambda r: r.start):
        if r.start > pos:
            out.append(Region(pos, r.start, "unused hole", kind="hole"))
        if r.start < pos:
            raise ValueError(f"overlapping layout regions at {r.name} {r.start:#x} < {pos:#x}")
        if r.end > r.start:
            out.append(r)
        pos = max(pos, r.end)
    if pos < top:
        out.append(Region(pos, top, "unused hole", kind="hole"))
    return tuple(out)


def draw(layout: Layout, *, min_size: int = 0) -> str:
    """A textbook figure of the address space, top of memory first.

    Each region is a box line: its start and end address, size and name.
    ``min_size`` hides holes smaller than that (they stay in the numbers).
    """
    width = 16 if layout.bits == 64 else 8
    out = [f"{'end':>{width}}   {'start':>{width}}  {'size':>10}  region"]
    out.append("-" * (width * 2 + 40))
    for r in reversed(layout.regions):
        if r.kind == "hole" and r.size < min_size:
            continue
        mark = {"user": "U", "hole": " ", "direct": "D", "vmalloc": "V", "kernel": "K", "guard": "g"}.get(r.kind, "?")
        note = f"  ({r.note})" if r.note else ""
        out.append(
            f"{r.end - 1:0{width}x} - {r.start:0{width}x}  {human_approx(r.size):>10}  [{mark}] {r.name}{note}"
        )
    return "\n".join(out)
