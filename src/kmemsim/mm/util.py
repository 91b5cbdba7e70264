"""mm/util.c: the helpers built on kmalloc and vmalloc (kmemdup, kstrdup, kvmalloc, kvfree ...).

Follows Linux 6.18: ``kvmalloc`` is ``__kvmalloc_node_noprof`` (kmalloc first, without
warnings, without ``__GFP_NOFAIL`` and, above a page, without direct reclaim unless
``__GFP_RETRY_MAYFAIL``; then vmalloc for requests above a page that may block);
``kvfree`` frees by address range; ``kfree_sensitive`` zeroes ``ksize()`` bytes first.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..args import check_int
from ..errors import UsageError

if TYPE_CHECKING:  # pragma: no cover
    from ..flags import FlagArg
    from ..machine import Machine

__all__ = ["MmUtil", "util_init"]


def _text(s: object, who: str) -> bytes:
    if isinstance(s, str):
        return s.encode()
    if isinstance(s, (bytes, bytearray, memoryview)):
        return bytes(s)
    raise UsageError(f"{who}: {s!r} is not a string (str or bytes)")


class MmUtil:
    """mm/util.c for one machine (``k.util``)."""

    def __init__(self, k: Machine) -> None:
        self.k = k
        self.api = k  # k.kmalloc, k.kfree ...: the machine's dispatch slots

    def kmemdup(self, src: int, size: int, gfp_mask: FlagArg) -> int:
        """kmemdup(src, len, gfp)."""
        p = self.api.kmalloc(size, gfp_mask)
        if p and size:
            self.k.memcpy(p, src, size)
        return p

    def kstrdup(self, s: str | bytes, gfp_mask: FlagArg) -> int:
        """kstrdup(s, gfp): a NUL-terminated copy in kmalloc memory (s is Python text here)."""
        data = _text(s, "kstrdup")
        p = self.api.kmalloc(len(data) + 1, gfp_mask)
        if p:
            self.k.write(p, data + b"\0")
        return p

    def kstrndup(self, s: str | bytes, max_len: int, gfp_mask: FlagArg) -> int:
        """kstrndup(s, max, gfp)."""
        data = _text(s, "kstrndup")
        check_int(max_len, "kstrndup: max", 0)
        return self.kstrdup(data[:max_len], gfp_mask)

    def kfree_sensitive(self, obj: int) -> None:
        """kfree_sensitive(p): zero ksize(p) bytes, then kfree."""
        n = self.k.slab.ksize(obj)
        if n:
            self.k.memset(obj, 0, n)
        self.api.kfree(obj)

    def kvmalloc(self, size: int, gfp_mask: FlagArg) -> int:
        """kvmalloc(size, gfp) (6.18 __kvmalloc_node_noprof): kmalloc first -- above a page
        without direct reclaim (unless __GFP_RETRY_MAYFAIL), without warnings and without
        __GFP_NOFAIL -- then vmalloc for requests above a page that may block."""
        check_int(size, "kvmalloc: size", 0)
        b = self.k.gfp.bits
        gfp = self.k.gfp.mask(gfp_mask, "kvmalloc: gfp_mask")
        flags = gfp
        if size > self.k.page_size:
            flags |= b.nowarn
            if not flags & b.retry_mayfail:
                flags &= ~b.direct_reclaim
            flags &= ~b.nofail
        p = self.api.kmalloc(size, flags)
        if p or size <= self.k.page_size:
            return p
        if not gfp & b.direct_reclaim:
            return 0  # non-sleeping allocations are not supported by vmalloc
        if size > 0x7FFFFFFF:
            if not gfp & b.nowarn:
                self.k.report.warn_once("kvmalloc INT_MAX", "__kvmalloc_node_noprof+0x0/0x0")
            return 0
        vm = self.k.vmalloc_impl
        return vm.vmalloc_node_range(size, 1, vm.VMALLOC_START, vm.VMALLOC_END, gfp, None, 0, -1, None)

    def kvfree(self, obj: int) -> None:
        """kvfree(p): vfree for a vmalloc address, else kfree."""
        if self.k.is_vmalloc_addr(obj):
            self.k.vmalloc_impl.vfree(obj)
        else:
            self.api.kfree(obj)


def util_init(k: Machine) -> None:
    """mm/util.c has no state: the helpers, nothing to register."""
    k.util = MmUtil(k)
