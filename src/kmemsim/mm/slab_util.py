"""What the slab allocators share: the helpers of mm/slab.h and mm/slab_common.c that
SLAB (mm/slab.py), SLUB (mm/slub_common.py) and SLOB (mm/slob.py) all use, below the
common API (mm/slab_common.py) so that none of them imports it."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import KmemsimError, UsageError
from ..slab_flags import ZERO_SIZE_PTR

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

__all__ = ["SLABINFO_HEADER", "ctor_caller", "reraise_ctor_error", "soft_lockup", "krealloc_ksize", "cache_line_size",
           "SLAB_CTOR_CONSTRUCTOR", "SLAB_CTOR_ATOMIC", "SLAB_CTOR_VERIFY"]

#: /proc/slabinfo's first two lines, the same in 2.6.11, 2.6.24, 6.6 and 6.18 without statistics
#: (mm/slab.c s_start()/print_slabinfo_header(), mm/slab_common.c print_slabinfo_header()).
SLABINFO_HEADER = (
    "slabinfo - version: 2.1\n"
    "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables "
    "<limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
)

#: 2.6.11 include/linux/slab.h: the flags a constructor is called with.
SLAB_CTOR_CONSTRUCTOR = 0x001
SLAB_CTOR_ATOMIC = 0x002
SLAB_CTOR_VERIFY = 0x004


def cache_line_size(k: Kernel) -> int:
    """cache_line_size() = L1_CACHE_BYTES of the machine: 32 on the i386 profiles (M686,
    X86_L1_CACHE_SHIFT 5: the 2.6.24 SLUB capture's "HWalign=32"), 64 on x86_64 (6.6's
    "HWalign=64")."""
    return 32 if k.profile.arch == "i386" else 64


def soft_lockup(k: Kernel) -> None:
    """A loop the kernel would never leave (a free chain or list corrupted into a cycle): the
    soft-lockup watchdog's report (2.6.24 kernel/softlockup.c, 6.x kernel/watchdog.c; 2.6.11
    had no detector and just hung -- kmemsim reports it in the 2.6.24 form rather than
    hanging), then the on_bug policy; the operation is abandoned."""
    cur = k.current
    prefix = "watchdog: " if k.features.dumpstack_6x else ""
    line = f"{prefix}BUG: soft lockup - CPU#{k.cpu} stuck for {22 if prefix else 11}s! [{cur.comm}:{cur.pid}]"
    k.report.bug([line] + k.report.dump_stack_lines(), kind="soft_lockup")


def ctor_caller(k: Kernel) -> Callable[[Callable[..., Any], Any, int, int], None]:
    """How the machine's kernel calls a slab constructor: ``call(ctor, cache, obj, gfp)``.

    2.6.11: ``ctor(obj, cache, flags)`` with SLAB_CTOR_CONSTRUCTOR (| SLAB_CTOR_ATOMIC when
    ``gfp`` may not sleep); 2.6.24: ``ctor(cache, obj)``; 6.x: ``ctor(obj)``."""
    f = k.features
    wait = k.gfp.bits.direct_reclaim
    if f.slab_ctor_flags:
        def call_flags(ctor: Callable[..., Any], cache: Any, obj: int, gfp: int) -> None:
            ctor(obj, cache, SLAB_CTOR_CONSTRUCTOR | (0 if gfp & wait else SLAB_CTOR_ATOMIC))
        return call_flags
    if f.slab_ctor_cache_first:
        def call_cache_first(ctor: Callable[..., Any], cache: Any, obj: int, gfp: int) -> None:
            ctor(cache, obj)
        return call_cache_first

    def call(ctor: Callable[..., Any], cache: Any, obj: int, gfp: int) -> None:
        ctor(obj)
    return call


def reraise_ctor_error(cache_name: str, ctor: Any, e: BaseException, undone: str) -> None:
    """After a constructor raised and the allocation was undone: a kmemsim error (or a
    KeyboardInterrupt ...) goes on as it is, any other exception becomes a UsageError naming
    the cache, chained to it -- the policy of docs/api-names.md "Constructors", the same
    for SLUB, SLAB and SLOB."""
    if isinstance(e, KmemsimError) or not isinstance(e, Exception):
        raise e
    raise UsageError(f"kmem_cache_alloc({cache_name}): the constructor {getattr(ctor, '__name__', ctor)!s} "
                     f"raised {e!r}; {undone}") from e


def krealloc_ksize(impl: Any, k: Kernel, obj: int, new_size: int, gfp: int) -> int:
    """krealloc() of 2.6.24's mm/util.c (and, but for KASAN, 6.6's __do_krealloc): keep p when
    ksize(p) >= new_size, else kmalloc, copy min(ks, new_size) bytes, kfree(p)."""
    if new_size == 0:
        impl.kfree(obj)
        return ZERO_SIZE_PTR
    ks = impl.ksize(obj) if obj > ZERO_SIZE_PTR else 0
    if ks >= new_size:
        return obj
    new = impl.kmalloc(new_size, gfp)
    if new > ZERO_SIZE_PTR and obj > ZERO_SIZE_PTR:
        k.memcpy(new, obj, min(ks, new_size))
        impl.kfree(obj)
    return int(new)
