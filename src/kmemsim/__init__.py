"""kmemsim: the Linux kernel's memory allocators, executable in Python.

    >>> import kmemsim
    >>> k = kmemsim.boot()                      # linux-6.18-x86_64, 1 GiB, 2 CPUs
    >>> hex(k.layout.page_offset)
    '0xffff888000000000'
    >>> k.pa(k.va(0x1000)) == 0x1000
    True

One :class:`Kernel` holds a whole machine; see ``docs/`` for the profile table
and the table of kernel API names.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import gfp, profiles, units
from .errors import ConfigError, InvariantError, KernelBug, KmemsimError, Oops, UsageError
from .profiles import DEFAULT_PROFILE, PROFILES, TUNABLES
from .slab_flags import SYMBOLS as _SLAB_SYMBOLS
from .slab_flags import ZERO_SIZE_PTR

if TYPE_CHECKING:  # pragma: no cover
    from .kernel import Kernel
    from .layout import Layout, Region
    from .mm.dma import DMA_BIDIRECTIONAL, DMA_BIT_MASK, DMA_FROM_DEVICE, DMA_MAPPING_ERROR, DMA_NONE, DMA_TO_DEVICE
    from .mm.mempool import Mempool
    from .mm.page import PG, Owner, Page
    from .sched import TASK_INTERRUPTIBLE, TASK_RUNNING, TASK_UNINTERRUPTIBLE

globals().update(_SLAB_SYMBOLS)  # kmemsim.SLAB_PANIC ...: symbolic flags each machine resolves (kmemsim.flags)

NULL = 0

#: The public names that need the machine's modules, imported on first use (PEP 562), so that
#: tools that never boot a machine (``kmemsim stat``) load neither numpy nor the Kernel.
_LAZY: dict[str, str] = {
    "Kernel": "kernel",
    "Layout": "layout", "Region": "layout",
    "Page": "mm.page", "PG": "mm.page", "Owner": "mm.page",
    "Mempool": "mm.mempool",
    "TASK_RUNNING": "sched", "TASK_INTERRUPTIBLE": "sched", "TASK_UNINTERRUPTIBLE": "sched",
    **dict.fromkeys(("DMA_BIDIRECTIONAL", "DMA_TO_DEVICE", "DMA_FROM_DEVICE", "DMA_NONE", "DMA_MAPPING_ERROR",
                     "DMA_BIT_MASK"), "mm.dma"),
}


def __getattr__(name: str) -> Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'kmemsim' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"

__all__ = [
    "boot",
    "gfp",
    "profiles",
    "units",
    "Kernel",
    "KernelBug",
    "Oops",
    "ConfigError",
    "UsageError",
    "InvariantError",
    "KmemsimError",
    "Layout",
    "Region",
    "Page",
    "PG",
    "Owner",
    "Mempool",
    "TASK_RUNNING",
    "TASK_INTERRUPTIBLE",
    "TASK_UNINTERRUPTIBLE",
    "PROFILES",
    "TUNABLES",
    "DEFAULT_PROFILE",
    "NULL",
    "ZERO_SIZE_PTR",
    "DMA_BIDIRECTIONAL",
    "DMA_TO_DEVICE",
    "DMA_FROM_DEVICE",
    "DMA_NONE",
    "DMA_MAPPING_ERROR",
    "DMA_BIT_MASK",
    *sorted(_SLAB_SYMBOLS),
]


def boot(
    profile: str = DEFAULT_PROFILE,
    ram: str | int | None = None,
    cpus: int | None = None,
    *,
    seed: int = 0,
    on_bug: str = "raise",
    host: str | None = None,
    **tunables: Any,
) -> Kernel:
    """Boot a machine and return its :class:`Kernel`.

    ``profile`` names the kernel and architecture (``kmemsim.PROFILES``);
    ``ram`` is a size such as ``"1G"`` or ``"160M"`` (the profile's default
    when omitted); ``cpus`` the number of CPUs; ``seed`` makes everything
    random reproducible; ``on_bug`` is ``"raise"`` or ``"report"``; every other
    keyword is a tunable of the profile under its kernel name
    (``kmemsim.TUNABLES``), e.g. ``boot("linux-2.6-i386", ram="512M", vmalloc="256M")``.

    ``host=DIR`` (a ``kmemsim snapshot`` directory or .tar.gz) boots a machine whose CPUs,
    zones (present and managed pages) and vm sysctls are the snapshot's, so its
    watermarks, protection and pcp sizes are the host's.
    """
    from .kernel import Kernel

    return Kernel(profile, ram, cpus, seed=seed, on_bug=on_bug, host=host, **tunables)
