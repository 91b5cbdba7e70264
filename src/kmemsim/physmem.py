"""Physical memory: real bytes, stored only where touched.

Each 4 KiB frame that has been read or written is a ``bytearray`` in a dict
keyed by pfn, so a 1 TiB machine costs what its touched pages cost.  A frame
that was never touched reads as the machine's *stale* contents: deterministic
bytes derived from the machine's seed and the pfn (RAM is never clean after
firmware and earlier use), or zeros with ``stale_memory=False``.  kmalloc hands
these bytes out as they are; kzalloc and ``__GFP_ZERO`` clear them.

This layer knows nothing about virtual addresses: ``Kernel.read``/``write``
translate first.  Only frames backed by memory (RAM, or the legacy ISA range
that the kernel maps) can be stored; the caller checks :meth:`backed`.
"""
from __future__ import annotations

import bisect
import random


class PhysMem:
    """Sparse byte-addressable physical memory for one machine."""

    __slots__ = ("page_shift", "page_size", "frames", "_starts", "_ends", "_stale", "_stale_span")

    STALE_POOL = 1 << 18  # 256 KiB of seeded noise that untouched frames are cut from

    def __init__(self, backed_ranges: list[tuple[int, int]], *, page_shift: int, seed: int, stale: bool):
        self.page_shift = page_shift
        self.page_size = 1 << page_shift
        #: pfn -> bytearray(page_size): every frame that has been touched.
        self.frames: dict[int, bytearray] = {}
        ranges = sorted((s >> page_shift, (e + self.page_size - 1) >> page_shift) for s, e in backed_ranges)
        self._starts = [s for s, _ in ranges]
        self._ends = [e for _, e in ranges]
        if stale:
            self._stale: bytes | None = random.Random(seed ^ 0x5EED_F00D).randbytes(self.STALE_POOL)
        else:
            self._stale = None
        self._stale_span = (self.STALE_POOL - self.page_size) // 8

    # ----------------------------------------------------------------- frames
    def backed(self, pfn: int) -> bool:
        """Whether ``pfn`` is memory that can hold bytes."""
        i = bisect.bisect_right(self._starts, pfn) - 1
        return i >= 0 and pfn < self._ends[i]

    def frame(self, pfn: int) -> bytearray:
        """The frame's bytes, materialising it on first touch (caller checked ``backed``)."""
        f = self.frames.get(pfn)
        if f is None:
            f = self.frames[pfn] = self._fresh(pfn)
        return f

    def _fresh(self, pfn: int) -> bytearray:
        if self._stale is None:
            return bytearray(self.page_size)
        # A multiplicative hash picks an 8-byte-aligned window of the pool.
        off = ((pfn * 0x9E3779B1) % self._stale_span) * 8
        return bytearray(self._stale[off : off + self.page_size])

    def peek(self, pfn: int) -> bytes:
        """A frame's bytes without materialising it (for views and dumps)."""
        f = self.frames.get(pfn)
        return bytes(f) if f is not None else bytes(self._fresh(pfn))

    # ------------------------------------------------------------ byte access
    def read(self, paddr: int, n: int) -> bytes:
        """``n`` bytes at physical ``paddr``; every frame covered must be backed."""
        shift, size = self.page_shift, self.page_size
        off = paddr & (size - 1)
        if off + n <= size:
            f = self.frames.get(paddr >> shift) or self.frame(paddr >> shift)
            return bytes(f[off : off + n])
        out = bytearray()
        while n > 0:
            chunk = min(n, size - off)
            f = self.frame(paddr >> shift)
            out += f[off : off + chunk]
            paddr += chunk
            n -= chunk
            off = 0
        return bytes(out)

    def write(self, paddr: int, data: bytes | bytearray | memoryview) -> None:
        shift, size = self.page_shift, self.page_size
        off = paddr & (size - 1)
        n = len(data)
        if off + n <= size:
            f = self.frames.get(paddr >> shift) or self.frame(paddr >> shift)
            f[off : off + n] = data
            return
        view = memoryview(bytes(data))
        pos = 0
        while pos < n:
            chunk = min(n - pos, size - off)
            self.frame(paddr >> shift)[off : off + chunk] = view[pos : pos + chunk]
            paddr += chunk
            pos += chunk
            off = 0

    def fill(self, paddr: int, value: int, n: int) -> None:
        """memset on physical memory; whole frames are replaced, not patched."""
        shift, size = self.page_shift, self.page_size
        while n > 0:
            off = paddr & (size - 1)
            chunk = min(n, size - off)
            if chunk == size:
                self.frames[paddr >> shift] = bytearray([value]) * size
            else:
                self.frame(paddr >> shift)[off : off + chunk] = bytes([value]) * chunk
            paddr += chunk
            n -= chunk

    def touched_bytes(self) -> int:
        return len(self.frames) * self.page_size
