"""SLUB debugging (CONFIG_SLUB_DEBUG): red zones, poisoning, user tracking and the
consistency checks, with the kernel's reports.

Follows mm/slub.c of Linux 6.18 (the report text of 6.15+: ``[Right Redzone
overwritten] ...`` then ``BUG <cache> (<taint>): Object corrupt``).

Object layout of a debug cache (``calculate_sizes()``; the byte values are
include/linux/poison.h)::

    slab base ──> ┌──────────────────────┐
                  │ left red zone        │ red_left_pad bytes   0xbb free / 0xcc in use
    object ─────> ├──────────────────────┤
                  │ object bytes         │ object_size          0x6b .. 0x6b 0xa5 when free (P)
                  ├──────────────────────┤
                  │ right red zone       │ up to inuse          0xbb / 0xcc (Z)
    + inuse ────> ├──────────────────────┤
                  │ free pointer         │ one word, when it cannot live inside the object
                  │ track[ALLOC]         │ struct track (U): addr, handle, cpu, pid, when
                  │ track[FREE]          │
                  │ orig_size            │ unsigned long, kmalloc caches with U
                  │ padding              │ 0x5a (P)
    + size ─────> └──────────────────────┘

A debug cache (any of ``SLAB_DEBUG_FLAGS``) never uses the per-CPU slab: every
allocation takes one object from a node partial slab (``alloc_single_from_partial``)
or a new slab (``alloc_single_from_new_slab``) and every free goes through
``free_to_partial_list``, so the checks below run on each of them:

    alloc_debug_processing (F)   check_slab, check_valid_pointer, check_object(0xbb)
                                 then set_orig_size, init_object(0xcc); U: set_track(ALLOC)
    free_debug_processing        F: check_slab, the inuse count, free_consistency_checks
                                 (valid pointer, on_freelist -> "Object already free",
                                 check_object(0xcc), the slab's cache);
                                 U: set_track(FREE); init_object(0xbb)
    validate_slab_cache          every partial slab (and, with U, every full one):
                                 check_slab, on_freelist(NULL), check_object of each object

Each finding prints the kernel's report and repairs what it found (the FIX lines),
so the machine stays consistent.  Inside :meth:`SlubDebug.kunit` the reports are
counted instead of printed, as lib/tests/slub_kunit.c counts them.

Tracks are stored in the object's metadata bytes as the kernel stores them; ``addr``
is a symbol address of kmemsim's own table that names the Python call site, and
``handle`` indexes the stack depot of Python call traces.
"""
from __future__ import annotations

import bisect
import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from ..errors import KernelBug
from ..records import FrozenRecord, Record
from . import slub_geometry as geo

if TYPE_CHECKING:  # pragma: no cover
    from .slub import KmemCache, Slab, Slub

# include/linux/poison.h
POISON_INUSE = 0x5A
POISON_FREE = 0x6B
POISON_END = 0xA5
SLUB_RED_INACTIVE = 0xBB
SLUB_RED_ACTIVE = 0xCC

TRACK_ALLOC, TRACK_FREE = 0, 1

#: The WARN_ON(1) of each report function, as 6.18's mm/slub.c numbers its lines (read in the
#: 6.18 tree of /work/classic-build: object_err() and __slab_err())
WARN_LINES = {"object_err": 1232, "__slab_err": 1257}

#: include/linux/page-flags.h (6.18): PG_head is bit 6, PG_workingset bit 9; mm/slub.c
#: enum slab_flags: SL_partial = PG_workingset ("historical reasons"), set by __add_partial()
#: and cleared by remove_partial() while a slab is on a node's partial list (6.8, absent in 6.6)
PG_HEAD = 1 << 6
PG_WORKINGSET = 1 << 9

#: The base of kmemsim's symbol addresses for Python call sites (in the x86_64
#: kernel text range; on i386 the low 32 bits).
_SYMBOL_BASE = 0xFFFFFFFF81000000


class Track(FrozenRecord):
    """struct track (mm/slub.c), decoded from the object's metadata bytes."""

    __match_args__ = ("addr", "handle", "cpu", "pid", "when")
    addr: int
    handle: int
    cpu: int
    pid: int
    when: int

    def __init__(self, addr: int, handle: int, cpu: int, pid: int, when: int) -> None:
        vars(self).update(addr=addr, handle=handle, cpu=cpu, pid=pid, when=when)


class KunitErrors:
    """The "slab_errors" kunit resource: reports counted instead of printed."""

    def __init__(self) -> None:
        self.count = 0

    def __repr__(self) -> str:
        return f"<slab_errors {self.count}>"


class SlubDebug:
    """The debug side of one machine's SLUB."""

    def __init__(self, slub: Slub):
        self.slub = slub
        self.k = slub.k
        self.word = slub.word
        self.track_size = geo.track_size(self.word)
        # struct track offsets: addr, handle (u32), cpu, pid, when (unsigned long)
        self._t_when = -(-(self.word + 12) // self.word) * self.word
        self.symbols: list[str] = []  # symbol address index -> "%pS" text
        self._sym_ids: dict[str, int] = {}
        self.stacks: list[tuple[str, ...]] = []  # depot handle - 1 -> frames
        self._stack_ids: dict[tuple[str, ...], int] = {}
        self.kunit_errors: KunitErrors | None = None
        self.pending: list[str] = []  # reports of the current operation, for on_bug="raise"
        self._lock_debugging_off = False

    # ================================================================ small helpers
    def read(self, addr: int, n: int) -> bytes:
        return self.k.phys.read(addr - self.k.layout.page_offset, n)

    def fill(self, addr: int, value: int, n: int) -> None:
        if n > 0:
            self.k.phys.fill(addr - self.k.layout.page_offset, value, n)

    def jiffies(self) -> int:
        return self.k.jiffies

    def symbol(self, text: str) -> int:
        i = self._sym_ids.get(text)
        if i is None:
            i = self._sym_ids[text] = len(self.symbols)
            self.symbols.append(text)
        return (_SYMBOL_BASE + 0x100 * (i + 1)) & ((1 << (8 * self.word)) - 1)

    def symbol_text(self, addr: int) -> str | None:
        base = _SYMBOL_BASE & ((1 << (8 * self.word)) - 1)
        i, r = divmod(addr - base, 0x100)
        if r or not 1 <= i <= len(self.symbols):
            return None
        return self.symbols[i - 1]

    def caller(self) -> tuple[int, int]:
        """_RET_IP_ and a stack depot handle for the Python call site."""
        from ..report import user_frames

        frames = tuple(f"{fn}+0x0/0x0 [{loc}]" for fn, loc in user_frames())
        top = frames[0] if frames else "kmemsim+0x0/0x0"
        h = self._stack_ids.get(frames)
        if h is None and frames:
            self.stacks.append(frames)
            h = self._stack_ids[frames] = len(self.stacks)
        return self.symbol(top), h or 0

    @staticmethod
    def orig_size_kept(s: KmemCache) -> bool:
        """slub_debug_orig_size(): kmalloc caches with SLAB_STORE_USER keep the request size."""
        return s.geometry.orig_size

    @staticmethod
    def info_end(s: KmemCache) -> int:
        """get_info_end(): the end of the free pointer (when outside the object)."""
        return s.geometry.info_end

    def size_from_object(self, s: KmemCache) -> int:
        return s.size - s.red_left_pad if s.flags & geo.SLAB_RED_ZONE else s.size

    def check_valid_pointer(self, s: KmemCache, slab: Slab, obj: int) -> bool:
        """check_valid_pointer(): NULL, or the start of one of the slab's objects."""
        if not obj:
            return True
        o = obj - s.red_left_pad if s.flags & geo.SLAB_RED_ZONE else obj
        return slab.addr <= o < slab.addr + slab.objects * s.size and (o - slab.addr) % s.size == 0

    # ================================================================ orig_size / tracks
    # orig_size is an unsigned long: b85f369b81ae ("mm/slab: use unsigned long for orig_size to
    # ensure proper metadata align", 2026, Cc: stable, Fixes: 6edf2576a6cc of 6.1) widened it from
    # unsigned int so that KASAN's metadata after it stays word aligned; the stable kernels carry it
    # (6.18.y, as the reference host's 6.18.44, and 6.12.y), 6.18.0's mm/slub.c stored 4 bytes.
    # On x86_64 that moves the Padding of a report 4 bytes on; s->size is the same (it is aligned to
    # at least a word either way); on i386 both are 4 bytes.
    def set_orig_size(self, s: KmemCache, obj: int, orig_size: int) -> None:
        """set_orig_size(): the kmalloc request size, an unsigned long after the two tracks."""
        if not self.orig_size_kept(s):
            return
        w = self.word
        at = obj + self.info_end(s) + 2 * self.track_size
        self.k.phys.write(at - self.k.layout.page_offset, (orig_size & ((1 << (8 * w)) - 1)).to_bytes(w, "little"))

    def get_orig_size(self, s: KmemCache, obj: int) -> int:
        """get_orig_size(): the stored request size (s->object_size when none is kept)."""
        if not self.orig_size_kept(s):
            return s.object_size
        at = obj + self.info_end(s) + 2 * self.track_size
        return int.from_bytes(self.read(at, self.word), "little")

    def _track_addr(self, s: KmemCache, obj: int, which: int) -> int:
        return obj + self.info_end(s) + which * self.track_size

    def set_track(self, s: KmemCache, obj: int, which: int, addr: int, handle: int) -> None:
        """set_track_update(): addr, handle, cpu, pid, when into the object's metadata."""
        w = self.word
        buf = bytearray(self.track_size)
        buf[0:w] = addr.to_bytes(w, "little")
        buf[w : w + 4] = handle.to_bytes(4, "little")
        buf[w + 4 : w + 8] = self.k.cpu.to_bytes(4, "little")
        buf[w + 8 : w + 12] = self.k.current.pid.to_bytes(4, "little", signed=True)
        buf[self._t_when : self._t_when + w] = (self.jiffies() & ((1 << (8 * w)) - 1)).to_bytes(w, "little")
        self.k.phys.write(self._track_addr(s, obj, which) - self.k.layout.page_offset, bytes(buf))

    def get_track(self, s: KmemCache, obj: int, which: int) -> Track:
        w = self.word
        b = self.read(self._track_addr(s, obj, which), self.track_size)
        return Track(
            addr=int.from_bytes(b[0:w], "little"),
            handle=int.from_bytes(b[w : w + 4], "little"),
            cpu=int.from_bytes(b[w + 4 : w + 8], "little"),
            pid=int.from_bytes(b[w + 8 : w + 12], "little", signed=True),
            when=int.from_bytes(b[self._t_when : self._t_when + w], "little"),
        )

    def init_tracking(self, s: KmemCache, obj: int) -> None:
        if s.flags & geo.SLAB_STORE_USER:
            self.fill(self._track_addr(s, obj, TRACK_ALLOC), 0, 2 * self.track_size)

    def _pS(self, addr: int) -> str:
        text = self.symbol_text(addr)
        return text if text is not None else f"0x{addr:x}"

    def print_track(self, label: str, t: Track, pr_time: int) -> list[str]:
        if not t.addr:
            return []
        mask = (1 << (8 * self.word)) - 1
        out = [f"{label} in {self._pS(t.addr)} age={(pr_time - t.when) & mask} cpu={t.cpu} pid={t.pid}"]
        if 1 <= t.handle <= len(self.stacks):
            out += [f" {f}" for f in self.stacks[t.handle - 1]]  # stack_depot_print()
        else:
            out.append("object allocation/free stack trace missing")
        return out

    def print_tracking(self, s: KmemCache, obj: int) -> list[str]:
        if not s.flags & geo.SLAB_STORE_USER:
            return []
        now = self.jiffies()
        return (self.print_track("Allocated", self.get_track(s, obj, TRACK_ALLOC), now)
                + self.print_track("Freed", self.get_track(s, obj, TRACK_FREE), now))

    # ================================================================ object init
    def init_object(self, s: KmemCache, obj: int, val: int) -> None:
        """init_object(): red zones := val; poison 0x6b..0x6b 0xa5 (P, not for ctor/RCU caches)."""
        poison_size = s.object_size
        if s.flags & geo.SLAB_RED_ZONE:
            self.fill(obj - s.red_left_pad, val, s.red_left_pad)
            if self.orig_size_kept(s) and val == SLUB_RED_ACTIVE:
                poison_size = self.get_orig_size(s, obj)
        if s.flags & geo.SLAB_OBJECT_POISON:
            self.fill(obj, POISON_FREE, poison_size - 1)
            self.fill(obj + poison_size - 1, POISON_END, 1)
        if s.flags & geo.SLAB_RED_ZONE:
            self.fill(obj + poison_size, val, s.inuse - poison_size)

    def setup_slab_debug(self, s: KmemCache, slab: Slab) -> None:
        """setup_slab_debug(): with SLAB_POISON the whole slab starts as 0x5a."""
        if s.flags & geo.SLAB_POISON:
            self.fill(slab.addr, POISON_INUSE, self.k.page_size << slab.order)

    def setup_object_debug(self, s: KmemCache, obj: int) -> None:
        if s.flags & (geo.SLAB_STORE_USER | geo.SLAB_RED_ZONE | geo.SLAB_OBJECT_POISON):
            self.init_object(s, obj, SLUB_RED_INACTIVE)
            self.init_tracking(s, obj)

    # ================================================================ reports
    def _emit(self, lines: list[str]) -> None:
        self.k.printk("\n".join(lines), 3)  # pr_err

    def _count(self) -> bool:
        """slab_add_kunit_errors(): inside a kunit test, count instead of printing."""
        if self.kunit_errors is not None:
            self.kunit_errors.count += 1
            return True
        return False

    def _taint_warn(self, where: str) -> None:
        """add_taint(TAINT_BAD_PAGE, LOCKDEP_NOW_UNRELIABLE); WARN_ON(1), whose WARNING line names
        the file and line of the WARN_ON (``__warn()``: "at %s:%d %pS")."""
        k = self.k
        k.taint.add("B")
        if not self._lock_debugging_off:
            self._lock_debugging_off = True
            k.printk("Disabling lock debugging due to kernel taint", 4)
        k.report.warn(f"mm/slub.c:{WARN_LINES[where]} {where}+0x0/0x0")

    def slab_bug_lines(self, s: KmemCache | None, message: str) -> list[str]:
        name = s.name if s is not None else "<unknown>"
        self.pending.append(f"BUG {name}: {message}")
        return [
            "=============================================================================",
            f"BUG {name} ({self.k.report.taint_str()}): {message}",
            "-----------------------------------------------------------------------------",
            "",
        ]

    def slab_info_line(self, slab: Slab) -> str:
        """print_slab_info(): "Slab 0x%p objects=%u used=%u fp=0x%p flags=%pGp".  %pGp prints the
        set flags in mmflags.h's order (workingset before head), then node= and zone=; a slab on
        a node's partial list carries SL_partial, which is PG_workingset."""
        k = self.k
        zone = k.page_alloc.zone_of(slab.pfn).idx
        flags = 0
        names = ""
        if slab.where == "node_partial":
            flags |= PG_WORKINGSET
            names += "workingset|"
        if slab.order:
            flags |= PG_HEAD
            names += "head|"
        names += f"node=0|zone={zone}"
        top = 62 if self.word == 8 else 30
        return (f"Slab {k.arch.page_struct_addr(slab.pfn):#x} objects={slab.objects} used={slab.inuse} "
                f"fp={slab.freelist:#x} flags={(zone << top) | flags:#x}({names})")

    def hex_dump(self, label: str, addr: int, length: int) -> list[str]:
        """print_hex_dump(KERN_ERR, label, DUMP_PREFIX_ADDRESS, 16, 1, addr, length, 1)."""
        out = []
        data = self.read(addr, length) if length > 0 else b""
        width = 2 * self.word
        for i in range(0, len(data), 16):
            row = data[i : i + 16]
            hexpart = " ".join(f"{b:02x}" for b in row)
            asc = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
            out.append(f"{label}{addr + i:0{width}x}: {hexpart.ljust(49)}{asc}")
        return out

    def print_trailer(self, s: KmemCache, slab: Slab, p: int) -> list[str]:
        out = self.print_tracking(s, p)
        out.append(self.slab_info_line(slab))
        out.append(f"Object {p:#x} @offset={p - slab.addr} fp={self.slub.get_freepointer(s, p):#x}")
        out.append("")
        if s.flags & geo.SLAB_RED_ZONE:
            out += self.hex_dump("Redzone  ", p - s.red_left_pad, s.red_left_pad)
        elif p > slab.addr + 16:
            out += self.hex_dump("Bytes b4 ", p - 16, 16)
        out += self.hex_dump("Object   ", p, min(s.object_size, self.k.page_size))
        if s.flags & geo.SLAB_RED_ZONE:
            out += self.hex_dump("Redzone  ", p + s.object_size, s.inuse - s.object_size)
        off = self.info_end(s)
        if s.flags & geo.SLAB_STORE_USER:
            off += 2 * self.track_size
        if self.orig_size_kept(s):
            off += self.word  # sizeof(unsigned long)
        if off != self.size_from_object(s):
            out += self.hex_dump("Padding  ", p + off, self.size_from_object(s) - off)
        return out

    def object_err(self, s: KmemCache, slab: Slab, obj: int, reason: str) -> None:
        if self._count():
            return
        lines = self.slab_bug_lines(s, reason)
        if not obj or not self.check_valid_pointer(s, slab, obj):
            lines.append(self.slab_info_line(slab))
            lines.append(f"Invalid pointer {obj:#x}")
        else:
            lines += self.print_trailer(s, slab, obj)
        self._emit(lines)
        self._taint_warn("object_err")

    def slab_err(self, s: KmemCache | None, slab: Slab, message: str) -> None:
        if self._count():
            return
        lines = self.slab_bug_lines(s, message)
        lines.append(self.slab_info_line(slab))  # __slab_err()
        self._emit(lines)
        self._taint_warn("__slab_err")

    def slab_fix(self, s: KmemCache, message: str) -> None:
        if self._count():
            return
        self.k.printk(f"FIX {s.name}: {message}", 3)

    def restore_bytes(self, s: KmemCache, what: str, value: int, start: int, end: int) -> None:
        self.slab_fix(s, f"Restoring {what} {start:#x}-{end - 1:#x}={value:#x}")
        self.fill(start, value, end - start)

    # ================================================================ checks
    def check_bytes_and_report(self, s: KmemCache, slab: Slab, obj: int, what: str, start: int,
                               value: int, nbytes: int, print_obj: bool) -> bool:
        if nbytes <= 0:
            return True
        data = self.read(start, nbytes)
        stripped = data.lstrip(bytes([value]))
        if not stripped:
            return True
        fault = start + (nbytes - len(stripped))
        end = start + len(data.rstrip(bytes([value])))
        if not self._count():
            self.k.printk(
                f"[{what} overwritten] {fault:#x}-{end - 1:#x} @offset={fault - slab.addr}. "
                f"First byte {data[fault - start]:#x} instead of {value:#x}", 3)
            if print_obj:
                self.object_err(s, slab, obj, "Object corrupt")
        self.restore_bytes(s, what, value, fault, end)
        return False

    def check_pad_bytes(self, s: KmemCache, slab: Slab, p: int) -> bool:
        off = self.info_end(s)
        if s.flags & geo.SLAB_STORE_USER:
            off += 2 * self.track_size
            if s.flags & geo.SLAB_KMALLOC:
                off += self.word  # sizeof(unsigned long)
        if self.size_from_object(s) == off:
            return True
        return self.check_bytes_and_report(s, slab, p, "Object padding", p + off, POISON_INUSE,
                                           self.size_from_object(s) - off, True)

    def slab_pad_check(self, s: KmemCache, slab: Slab) -> None:
        """slab_pad_check(): the bytes after the last object stay 0x5a (P)."""
        if not s.flags & geo.SLAB_POISON:
            return
        length = self.k.page_size << slab.order
        remainder = length % s.size
        if not remainder:
            return
        pad = slab.addr + length - remainder
        data = self.read(pad, remainder)
        stripped = data.lstrip(bytes([POISON_INUSE]))
        if not stripped:
            return
        fault = pad + (remainder - len(stripped))
        end = pad + len(data.rstrip(bytes([POISON_INUSE])))
        if not self._count():
            lines = self.slab_bug_lines(s, f"Padding overwritten. {fault:#x}-{end - 1:#x} @offset={fault - slab.addr}")
            lines += self.hex_dump("Padding ", pad, remainder)
            lines.append(self.slab_info_line(slab))
            self._emit(lines)
            self._taint_warn("__slab_err")
        self.restore_bytes(s, "slab padding", POISON_INUSE, fault, end)

    def check_object(self, s: KmemCache, slab: Slab, obj: int, val: int) -> bool:
        ok = True
        endobject = obj + s.object_size
        if s.flags & geo.SLAB_RED_ZONE:
            if not self.check_bytes_and_report(s, slab, obj, "Left Redzone", obj - s.red_left_pad, val,
                                               s.red_left_pad, ok):
                ok = False
            if not self.check_bytes_and_report(s, slab, obj, "Right Redzone", endobject, val,
                                               s.inuse - s.object_size, ok):
                ok = False
            if self.orig_size_kept(s) and val == SLUB_RED_ACTIVE:
                orig = self.get_orig_size(s, obj)
                if s.object_size > orig and not self.check_bytes_and_report(
                        s, slab, obj, "kmalloc Redzone", obj + orig, val, s.object_size - orig, ok):
                    ok = False
        elif s.flags & geo.SLAB_POISON and s.object_size < s.inuse:
            if not self.check_bytes_and_report(s, slab, obj, "Alignment padding", endobject, POISON_INUSE,
                                               s.inuse - s.object_size, ok):
                ok = False
        if s.flags & geo.SLAB_POISON:
            if val != SLUB_RED_ACTIVE and s.flags & geo.SLAB_OBJECT_POISON:
                if s.object_size > 1 and not self.check_bytes_and_report(
                        s, slab, obj, "Poison", obj, POISON_FREE, s.object_size - 1, ok):
                    ok = False
                if not self.check_bytes_and_report(s, slab, obj, "End Poison", obj + s.object_size - 1,
                                                   POISON_END, 1, ok):
                    ok = False
            if not self.check_pad_bytes(s, slab, obj):
                ok = False
        if (s.offset >= s.inuse or val != SLUB_RED_ACTIVE) and \
                not self.check_valid_pointer(s, slab, self.slub.get_freepointer(s, obj)):
            self.object_err(s, slab, obj, "Freepointer corrupt")
            # no choice but to zap it and lose the rest of the slab's free objects
            self.slub.set_freepointer(s, obj, 0)
            ok = False
        return ok

    def check_slab(self, s: KmemCache, slab: Slab) -> bool:
        maxobj = (self.k.page_size << slab.order) // s.size
        if slab.objects > maxobj:
            self.slab_err(s, slab, f"objects {slab.objects} > max {maxobj}")
            return False
        if slab.inuse > slab.objects:
            self.slab_err(s, slab, f"inuse {slab.inuse} > max {slab.objects}")
            return False
        if slab.frozen:
            self.slab_err(s, slab, "Slab disabled since SLUB metadata consistency check failed")
            return False
        self.slab_pad_check(s, slab)
        return True

    def on_freelist(self, s: KmemCache, slab: Slab, search: int) -> bool:
        """on_freelist(): is ``search`` free?  Walks and repairs the slab's freelist;
        with search 0 it checks the counters (validate)."""
        nr = 0
        fp = slab.freelist
        obj = 0
        while fp and nr <= slab.objects:
            if fp == search:
                return True
            if not self.check_valid_pointer(s, slab, fp):
                if obj:
                    self.object_err(s, slab, obj, "Freechain corrupt")
                    self.slub.set_freepointer(s, obj, 0)
                    break
                self.slab_err(s, slab, "Freepointer corrupt")
                slab.freelist = 0
                slab.inuse = slab.objects
                self.slab_fix(s, "Freelist cleared")
                return False
            obj = fp
            fp = self.slub.get_freepointer(s, obj)
            nr += 1
        if nr > slab.objects:
            self.slab_err(s, slab, "Freelist cycle detected")
            slab.freelist = 0
            slab.inuse = slab.objects
            self.slab_fix(s, "Freelist cleared")
            return False
        max_objects = min((self.k.page_size << slab.order) // s.size, 32767)  # MAX_OBJS_PER_PAGE
        if slab.objects != max_objects:
            self.slab_err(s, slab, f"Wrong number of objects. Found {slab.objects} but should be {max_objects}")
            slab.objects = max_objects
            self.slab_fix(s, "Number of objects adjusted")
        if slab.inuse != slab.objects - nr:
            self.slab_err(s, slab, f"Wrong object count. Counter is {slab.inuse} but counted were {slab.objects - nr}")
            slab.inuse = slab.objects - nr
            self.slab_fix(s, "Object count adjusted")
        return search == 0

    def trace(self, s: KmemCache, slab: Slab, obj: int, alloc: bool) -> None:
        """SLAB_TRACE (T): a line per alloc and free, the object's bytes on free, a stack dump."""
        if not s.flags & geo.SLAB_TRACE:
            return
        k = self.k
        k.printk(f"TRACE {s.name} {'alloc' if alloc else 'free'} {obj:#x} inuse={slab.inuse} fp={slab.freelist:#x}", 6)
        lines = [] if alloc else self.hex_dump("Object ", obj, s.object_size)
        k.printk("\n".join(lines + k.report.dump_stack_lines()), 6)

    # ================================================================ alloc / free processing
    def alloc_debug_processing(self, s: KmemCache, slab: Slab, obj: int, orig_size: int) -> bool:
        if s.flags & geo.SLAB_CONSISTENCY_CHECKS:
            ok = self.check_slab(s, slab)
            if ok and not self.check_valid_pointer(s, slab, obj):
                self.object_err(s, slab, obj, "Freelist Pointer check fails")
                ok = False
            if ok and not self.check_object(s, slab, obj, SLUB_RED_INACTIVE):
                ok = False
            if not ok:
                # isolate the slab: all objects used, frozen so that nothing touches it again
                self.slab_fix(s, "Marking all objects used")
                slab.inuse = slab.objects
                slab.freelist = 0
                slab.frozen = True
                slab.where = "isolated"
                return False
        self.trace(s, slab, obj, True)
        self.set_orig_size(s, obj, orig_size)
        self.init_object(s, obj, SLUB_RED_ACTIVE)
        return True

    def free_consistency_checks(self, s: KmemCache, slab: Slab, obj: int) -> bool:
        if not self.check_valid_pointer(s, slab, obj):
            self.slab_err(s, slab, f"Invalid object pointer {obj:#x}")
            return False
        if self.on_freelist(s, slab, obj):
            self.object_err(s, slab, obj, "Object already free")
            return False
        if not self.check_object(s, slab, obj, SLUB_RED_ACTIVE):
            return False
        if s is not slab.cache:
            self.object_err(s, slab, obj, "page slab pointer corrupt.")
            return False
        return True

    def free_debug_processing(self, s: KmemCache, slab: Slab, obj: int, addr: int, handle: int) -> bool:
        ok = False
        if not (s.flags & geo.SLAB_CONSISTENCY_CHECKS and not self.check_slab(s, slab)):
            if slab.inuse < 1:
                self.slab_err(s, slab, "Slab has 0 allocated objects but 1 are to be freed\n")
            elif not (s.flags & geo.SLAB_CONSISTENCY_CHECKS and not self.free_consistency_checks(s, slab, obj)):
                if s.flags & geo.SLAB_STORE_USER:
                    self.set_track(s, obj, TRACK_FREE, addr, handle)
                self.trace(s, slab, obj, False)
                self.init_object(s, obj, SLUB_RED_INACTIVE)
                ok = True
        if not ok:
            self.slab_fix(s, f"Object at {obj:#x} not freed")
        return ok

    def list_slab_objects(self, s: KmemCache, slab: Slab) -> None:
        """list_slab_objects(): kmem_cache_destroy() found objects still allocated."""
        lines: list[str] = []
        if not self._count():
            lines = self.slab_bug_lines(s, "Objects remaining on __kmem_cache_shutdown()")
        free = self._free_set(s, slab)
        for i in range(slab.objects):
            p = slab.addr + i * s.size + s.red_left_pad
            if p in free or self._count():
                continue
            lines.append(f"Object {p:#x} @offset={p - slab.addr}")
            lines += self.print_tracking(s, p)
        if self.kunit_errors is not None:  # __slab_err(): nothing inside a kunit test
            return
        lines.append(self.slab_info_line(slab))
        self._emit(lines)
        self._taint_warn("__slab_err")

    def _free_set(self, s: KmemCache, slab: Slab) -> set[int]:
        """__fill_map(): the objects on the slab's freelist."""
        free: set[int] = set()
        p = slab.freelist
        while p and len(free) <= slab.objects:
            free.add(p)
            p = self.slub.get_freepointer(s, p)
        return free

    # ================================================================ validate
    def validate_slab(self, s: KmemCache, slab: Slab) -> None:
        if not self.check_slab(s, slab) or not self.on_freelist(s, slab, 0):
            return
        free = self._free_set(s, slab)
        for i in range(slab.objects):
            p = slab.addr + i * s.size + s.red_left_pad
            if not self.check_object(s, slab, p, SLUB_RED_INACTIVE if p in free else SLUB_RED_ACTIVE):
                break

    def validate_slab_cache(self, s: KmemCache) -> int:
        """validate_slab_cache(): flush the CPU slabs, then check every slab on the node lists
        (full slabs are listed only with SLAB_STORE_USER).  Returns the slabs checked."""
        self.slub.flush_cpu_slabs(s)
        count = 0
        for slab in list(s.partial):
            self.validate_slab(s, slab)
            count += 1
        if count != len(s.partial):
            self.k.printk(f"SLUB {s.name}: {count} partial slabs counted but counter={len(s.partial)}", 3)
            self._count()
        if s.flags & geo.SLAB_STORE_USER:
            for slab in list(s.full):
                self.validate_slab(s, slab)
                count += 1
            if count != s.nr_slabs:
                self.k.printk(f"SLUB: {s.name} {count} slabs counted but counter={s.nr_slabs}", 3)
                self._count()
        return count

    # ================================================================ policy
    @contextlib.contextmanager
    def kunit(self) -> Iterator[KunitErrors]:
        """Count reports instead of printing them (lib/tests/slub_kunit.c's "slab_errors")."""
        old = self.kunit_errors
        self.kunit_errors = errs = KunitErrors()
        try:
            yield errs
        finally:
            self.kunit_errors = old

    def finish(self) -> None:
        """At the end of an API call: under on_bug="raise", a report raises KernelBug
        (after the kernel's repairs, so the machine stays consistent)."""
        if not self.pending:
            return
        first, self.pending = self.pending[0], []
        if self.k.on_bug == "raise" and self.kunit_errors is None:
            raise KernelBug("slab_corruption", first)

    # ================================================================ alloc_traces / free_traces
    def traces(self, s: KmemCache, which: int) -> str:
        """/sys/kernel/debug/slab/<cache>/alloc_traces (free_traces): the tracks of the objects in
        use on the node lists (mm/slub.c of 6.18: slab_debug_trace_open() walks the partial then
        the full list, process_slab() each object in use, add_location() merges them by (addr,
        handle, waste) in a sorted array, sort() by count, slab_debugfs_show() prints).

        As add_location() does, a location takes its age, pid and CPU from the track that made
        it, and a track merged into it later counts but adds no age, pid or CPU when it was
        never set (``when`` 0: the free track of an object never freed): so the
        ``<not-available>`` line of free_traces shows the age since jiffies 0, pid 0 and CPU 0
        once, however many objects it counts.  The ages are the kernel's types: ``age`` is an
        unsigned long, min/max ``long`` and the sum ``long long``."""
        now = self.jiffies()
        bits = 8 * self.word
        mask = (1 << bits) - 1

        def signed(v: int) -> int:  # an unsigned long stored into a long
            v &= mask
            return v - (1 << bits) if v >> (bits - 1) else v

        locs: list[_Location] = []
        keys: list[tuple[int, int, int]] = []
        for slab in [*s.partial, *s.full]:
            free = self._free_set(s, slab)
            for i in range(slab.objects):
                p = slab.addr + i * s.size + s.red_left_pad
                if p in free:
                    continue
                t = self.get_track(s, p, which)
                orig = self.get_orig_size(s, p) if which == TRACK_ALLOC else s.object_size
                waste = (s.object_size - orig) & 0xFFFFFFFF  # unsigned int
                age = (now - t.when) & mask
                key = (t.addr, t.handle, waste)
                pos = bisect.bisect_left(keys, key)
                if pos < len(keys) and keys[pos] == key:
                    loc = locs[pos]
                    loc.count += 1
                    if t.when:
                        loc.sum_time += age
                        if age < (loc.min_time & mask):  # unsigned long against long: C's conversion
                            loc.min_time = signed(age)
                        if age > (loc.max_time & mask):
                            loc.max_time = signed(age)
                        loc.min_pid = min(loc.min_pid, t.pid)
                        loc.max_pid = max(loc.max_pid, t.pid)
                        loc.cpus.add(t.cpu)
                    continue
                keys.insert(pos, key)
                locs.insert(pos, _Location(t.addr, t.handle, waste, 1, age, signed(age), signed(age), t.pid, t.pid,
                                           {t.cpu}))
        if not locs:
            return "No data\n"
        kernel_sort(locs, lambda a, b: (b.count > a.count) - (b.count < a.count))  # cmp_loc_by_count
        out = []
        for loc in locs:
            line = f"{loc.count:7d} " + (self._pS(loc.addr) if loc.addr else "<not-available>")
            if loc.waste:
                line += f" waste={(loc.count * loc.waste) & mask}/{loc.waste}"
            if loc.sum_time != loc.min_time:
                line += f" age={loc.min_time}/{loc.sum_time // loc.count}/{loc.max_time}"  # div_u64
            else:
                line += f" age={loc.min_time}"
            if loc.min_pid != loc.max_pid:
                line += f" pid={loc.min_pid}-{loc.max_pid}"
            else:
                line += f" pid={loc.min_pid}"
            if len(self.k.cpus) > 1 and loc.cpus:
                line += f" cpus={_bitmap_list(loc.cpus)}"
            out.append(line)
            if 1 <= loc.handle <= len(self.stacks):
                out.append("\n" + "".join(f"        {f}\n" for f in self.stacks[loc.handle - 1]))
            out.append("\n")
        return "".join(out)


class _Location(Record):
    """struct location (mm/slub.c)."""

    __match_args__ = ("addr", "handle", "waste", "count", "sum_time", "min_time", "max_time", "min_pid", "max_pid",
                       "cpus")

    addr: int
    handle: int
    waste: int
    count: int
    sum_time: int  # long long
    min_time: int  # long
    max_time: int  # long
    min_pid: int
    max_pid: int
    cpus: set[int]

    def __init__(self, addr: int, handle: int, waste: int, count: int, sum_time: int, min_time: int, max_time: int,
                 min_pid: int, max_pid: int, cpus: set[int]) -> None:
        vars(self).update(addr=addr, handle=handle, waste=waste, count=count, sum_time=sum_time, min_time=min_time,
                          max_time=max_time, min_pid=min_pid, max_pid=max_pid, cpus=cpus)


def kernel_sort(items: list, cmp: Callable[[Any, Any], int]) -> None:
    """lib/sort.c sort(): the kernel's bottom-up heapsort, in place (not stable: equal elements
    end in the order this algorithm leaves them, which is what a kernel's listing shows)."""
    n = len(items)
    a = (n // 2)
    if not a:  # num < 2
        return
    shift = 0

    def parent(i: int) -> int:  # parent(i, lsbit, size) with size 1
        i -= 1
        i -= i & 1
        return i // 2

    while True:
        if a:  # building the heap: sift down a
            a -= 1 << shift
        elif n > 3:  # sorting: extract the two largest elements
            n -= 1
            items[0], items[n] = items[n], items[0]
            shift = 1 if cmp(items[1], items[2]) <= 0 else 0
            a = 1 << shift
            n -= 1
            items[a], items[n] = items[n], items[a]
        else:  # sort complete
            break
        b = a
        while True:
            c = 2 * b + 1
            d = c + 1
            if d >= n:
                break
            b = c if cmp(items[c], items[d]) > 0 else d
        if d == n:  # the last leaf with no sibling
            b = c
        while b != a and cmp(items[a], items[b]) >= 0:
            b = parent(b)
        c = b
        while b != a:
            b = parent(b)
            items[b], items[c] = items[c], items[b]
    n -= 1
    items[0], items[n] = items[n], items[0]
    if n == 2 and cmp(items[0], items[1]) > 0:
        items[0], items[1] = items[1], items[0]


def _bitmap_list(bits: set[int]) -> str:
    """%*pbl: ranges like 0-1,3."""
    out: list[list[int]] = []
    for b in sorted(bits):
        if out and out[-1][1] == b - 1:
            out[-1][1] = b
        else:
            out.append([b, b])
    return ",".join(f"{a}" if a == b else f"{a}-{b}" for a, b in out)
