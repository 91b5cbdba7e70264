"""SLAB's debugging (CONFIG_DEBUG_SLAB, the ``debug_slab`` tunable) and SLAB's reports.

Follows the ``#if DEBUG`` parts of mm/slab.c of 2.6.11, 2.6.24 and 6.6: FORCED_DEBUG
gives every cache red zones and the last user where they do not push the object past
the next power of two, and poisoning unless SLAB_DESTROY_BY_RCU; STATS adds the
"(statistics)" columns to /proc/slabinfo; the limit of every array is capped at 32.

Object layout with SLAB_RED_ZONE | SLAB_STORE_USER (2.6.24 and 6.6; 2.6.11's red zone
and user words are unsigned longs, 4 bytes on i386, and the object is word aligned)::

    objp ─> | red zone 1 (u64) | the object (obj_size)      | red zone 2 (u64) | pad | last user |
            ^                  ^ objp + obj_offset: what the caller gets
            RED_INACTIVE 0x09f911029d74e35b while free, RED_ACTIVE 0xd84156c5635688c0 in use
            (2.6.11: 0x5a2cf071 / 0x170fc2a5); the object is POISON_FREE (0x6b ... 0xa5) while
            free, POISON_INUSE (0x5a) when handed out

Checks, and their reports (each version's own text):

* alloc (cache_alloc_debugcheck_after): the poison must be intact ("Slab corruption:
  ..." with a hex dump of the bad lines and of the neighbours), both red zones inactive
  ("slab error in cache_alloc_debugcheck_after(): cache `x': double free, or memory
  outside object was overwritten");
* free (cache_free_debugcheck): the object's cache (2.6.24, 6.6: BUG_ON; 2.6.11:
  "mismatch in kmem_cache_free" and a WARN), both red zones active (2.6.24: "double free
  detected" when both are inactive, else "memory outside object was overwritten");
* free_block / slab_put_obj: an object already free ("slab: double free detected in
  cache ..." and BUG());
* check_slabp (2.6): the slab's free chain ("slab: Internal list corruption detected");
* slab_destroy and cache_init_objs: the red zones of free objects and of constructed ones.

The last user is a symbol address of kmemsim's own table naming the Python call site,
stored in the object's last word as the kernel stores __builtin_return_address(0).
"""
from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from ..report import user_frames

if TYPE_CHECKING:  # pragma: no cover
    from .slab import ClassicSlab, SlabAllocator, SlabCache

__all__ = ["SlabDebug", "POISON_INUSE", "POISON_FREE", "POISON_END"]

POISON_INUSE = 0x5A
POISON_FREE = 0x6B
POISON_END = 0xA5
#: 2.6.11 mm/slab.c: unsigned long red zone words
RED_INACTIVE_32 = 0x5A2CF071
RED_ACTIVE_32 = 0x170FC2A5
#: include/linux/poison.h of 2.6.24 (and 6.6): unsigned long long red zones
RED_INACTIVE_64 = 0x09F911029D74E35B
RED_ACTIVE_64 = 0xD84156C5635688C0


class SlabDebug:
    """The debug checks and reports of one machine's SLAB (``impl.dbg``)."""

    def __init__(self, impl: SlabAllocator) -> None:
        self.impl = impl
        self.k = impl.k
        self.e11 = not impl.numa  # 2.6.11's texts and layout
        self.e66 = impl.idx  # 6.6's texts
        w = impl.word
        self.rz = w if self.e11 else 8  # sizeof(unsigned long) / sizeof(unsigned long long)
        self.redzone_align = max(w, 8)  # REDZONE_ALIGN
        self.inactive = RED_INACTIVE_32 if self.e11 else RED_INACTIVE_64
        self.active = RED_ACTIVE_32 if self.e11 else RED_ACTIVE_64
        self._rz_fmt = struct.Struct("<I" if self.rz == 4 else "<Q")
        self._symbols: dict[str, int] = {}

    # ------------------------------------------------------------------ printing helpers
    def _p(self, addr: int) -> str:
        """%p (2.6: the address in hex, 8 digits on i386) / %px (6.6: 16 digits)."""
        return f"{addr:0{self.k.layout.bits // 4}x}"

    def _rzv(self, v: int) -> str:
        return f"0x{v:x}"

    def _err(self, lines: list[str]) -> None:
        self.k.printk("\n".join(lines), 3)

    def slab_error(self, c: SlabCache, function: str, msg: str) -> None:
        """slab_error(): "slab error in <function>(): cache `<name>': <msg>" and a stack dump
        (6.6: and taint B)."""
        k = self.k
        self._err([f"slab error in {function}(): cache `{c.name}': {msg}"] + k.report.dump_stack_lines())
        if self.e66:
            k.report.taint.add("B")

    def _bug(self, line: int, before: list[str]) -> None:
        self.impl._bug(line, before=before)

    def symbol(self, where: str) -> int:
        """kmemsim's symbol address for a Python call site (kernel text, 0xc01... on i386)."""
        base = 0xC0100000 if self.k.layout.bits == 32 else 0xFFFFFFFF81000000
        v = self._symbols.get(where)
        if v is None:
            v = self._symbols[where] = base + 0x40 * (len(self._symbols) + 1)
        return v

    def symbol_text(self, addr: int) -> str | None:
        for name, v in self._symbols.items():
            if v == addr:
                return name
        return None

    def caller(self) -> int:
        frames = user_frames(2)
        return self.symbol(frames[0][0] if frames else "kmemsim_caller")

    # ------------------------------------------------------------------ memory helpers
    def _rd(self, addr: int) -> int:
        return int(self._rz_fmt.unpack(self.impl._read(addr, self.rz))[0])

    def _wr(self, addr: int, v: int) -> None:
        self.impl._write(addr, self._rz_fmt.pack(v))

    def redzone1(self, c: SlabCache, objp: int) -> int:
        return objp + c.obj_offset - self.rz

    def redzone2(self, c: SlabCache, objp: int) -> int:
        if c.flags & self.impl.F_STORE_USER:
            return objp + c.buffer_size - self.rz - (self.impl.word if self.e11 else self.redzone_align)
        return objp + c.buffer_size - self.rz

    def userword(self, c: SlabCache, objp: int) -> int:
        return objp + c.buffer_size - self.impl.word

    # ------------------------------------------------------------------ cache creation
    def forced_debug_flags(self, size: int, flags: int) -> int:
        """FORCED_DEBUG: red zones and the last user unless the object would grow past the
        next power of two; poisoning unless SLAB_DESTROY_BY_RCU."""
        i = self.impl
        extra = 3 * i.word if self.e11 else self.redzone_align + 16
        if size < 4096 or (size - 1).bit_length() == (size - 1 + extra).bit_length():
            flags |= i.F_RED_ZONE | i.F_STORE_USER
        if not flags & i.F_RCU:
            flags |= i.F_POISON
        return flags

    def debug_ralign(self, ralign: int, size: int, flags: int, align: int) -> tuple[int, int, int]:
        """kmem_cache_create()'s alignment with DEBUG (2.6.11 / 2.6.24)."""
        i = self.impl
        w = i.word
        if self.e11:
            if ralign < align:
                ralign = align
                if ralign > w:
                    flags &= ~(i.F_RED_ZONE | i.F_STORE_USER)
            return ralign, size, flags
        if flags & i.F_STORE_USER:
            ralign = w
        if flags & i.F_RED_ZONE:
            ralign = self.redzone_align
            size = -(-size // self.redzone_align) * self.redzone_align
        ralign = max(ralign, align)
        if ralign > 8:  # __alignof__(unsigned long long)
            flags &= ~(i.F_RED_ZONE | i.F_STORE_USER)
        return ralign, size, flags

    def debug_layout(self, c: SlabCache, size: int, align: int, flags: int) -> tuple[int, int]:
        """The debug words around the object: obj_offset, obj_size, the grown size."""
        i = self.impl
        c.object_size = size if not self.e66 else c.object_size
        c.obj_offset = 0
        if self.e11:
            if flags & i.F_RED_ZONE:
                align = i.word
                c.obj_offset += i.word
                size += 2 * i.word
            if flags & i.F_STORE_USER:
                align = i.word
                size += i.word
            return size, align
        if flags & i.F_RED_ZONE:
            c.obj_offset += 8
            size += 16
        if flags & i.F_STORE_USER:
            size += self.redzone_align if flags & i.F_RED_ZONE else i.word
        return size, align

    # ------------------------------------------------------------------ poison
    def poison_obj(self, c: SlabCache, objp: int, val: int) -> None:
        size = c.object_size
        addr = objp + c.obj_offset
        self.impl._fill(addr, val, size)
        self.impl._write(addr + size - 1, bytes([POISON_END]))

    def _dump_line(self, data: bytes, offset: int, limit: int) -> list[str]:
        row = data[offset:offset + limit]
        if self.e66:  # print_hex_dump(KERN_CONT, "", DUMP_PREFIX_NONE, 16, 1, ..., ascii)
            hexpart = " ".join(f"{b:02x}" for b in row)
            asc = "".join(chr(b) if 32 <= b < 127 else "." for b in row)
            line = f"{offset:03x}: " + hexpart.ljust(49) + asc
        else:
            line = f"{offset:03x}:" + "".join(f" {b:02x}" for b in row)
        out = [line]
        if not self.e11:
            bad = [b for b in row if b != POISON_FREE]
            if len(bad) == 1:
                err = bad[0] ^ POISON_FREE
                if not err & (err - 1):
                    out += ["Single bit error detected. Probably bad RAM.",
                            "Run memtest86+ or a similar memory test tool."]
        return out

    def print_objinfo(self, c: SlabCache, objp: int, lines: int) -> list[str]:
        i = self.impl
        out = []
        if c.flags & i.F_RED_ZONE:
            dot = "" if self.e66 else "."
            out.append(f"Redzone: {self._rzv(self._rd(self.redzone1(c, objp)))}/"
                       f"{self._rzv(self._rd(self.redzone2(c, objp)))}{dot}")
        if c.flags & i.F_STORE_USER:
            user = int.from_bytes(self.impl._read(self.userword(c, objp), i.word), "little")
            name = self.symbol_text(user)
            sym = f"{name}+0x0/0x40" if name else f"0x{user:x}"
            out.append(f"Last user: ({sym})" if self.e66 else f"Last user: [<{self._p(user)}>]({sym})")
        data = self.impl._read(objp + c.obj_offset, c.object_size)
        pos = 0
        while pos < c.object_size and lines:
            out += self._dump_line(data, pos, min(16, c.object_size - pos))
            pos += 16
            lines -= 1
        return out

    def check_poison_obj(self, c: SlabCache, objp: int) -> None:
        """check_poison_obj(): every byte POISON_FREE but the last, POISON_END."""
        size = c.object_size
        real = objp + c.obj_offset
        data = self.impl._read(real, size)
        lines = 0
        out: list[str] = []
        pos = 0
        while pos < size:
            exp = POISON_END if pos == size - 1 else POISON_FREE
            if data[pos] != exp:
                if not lines:
                    if self.e66:
                        taint = self.k.report.taint_str()
                        head = f"Slab corruption ({taint}): {c.name} start={self._p(real)}, len={size}"
                    elif self.e11:
                        head = f"Slab corruption: start={self._p(real)}, len={size}"
                    else:
                        head = f"Slab corruption: {c.name} start={self._p(real)}, len={size}"
                    out.append(head)
                    out += self.print_objinfo(c, objp, 0)
                pos = pos // 16 * 16
                out += self._dump_line(data, pos, min(16, size - pos))
                pos += 16
                lines += 1
                if lines > 5:
                    break
                continue
            pos += 1
        if not lines:
            return
        slab = self.impl._virt_to_slab(objp)
        if slab is not None:
            objnr = (objp - slab.s_mem) // c.buffer_size
            for label, nr in (("Prev", objnr - 1), ("Next", objnr + 1)):
                if 0 <= nr < c.num:
                    o = slab.s_mem + nr * c.buffer_size
                    out.append(f"{label} obj: start={self._p(o + c.obj_offset)}, len={size}")
                    out += self.print_objinfo(c, o, 2)
        self._err(out)

    # ------------------------------------------------------------------ slab life
    def init_objs(self, c: SlabCache, slab: ClassicSlab, gfp: int) -> None:
        """cache_init_objs()'s debug part: poison, last user NULL, red zones inactive, the
        constructor (when not poisoning), and the red zones checked after it."""
        i = self.impl
        for n in range(c.num):
            objp = slab.s_mem + n * c.buffer_size
            if c.flags & i.F_POISON and not self.e66:
                self.poison_obj(c, objp, POISON_FREE)
            if c.flags & i.F_STORE_USER:
                self.impl._write(self.userword(c, objp), bytes(i.word))
            if c.flags & i.F_RED_ZONE:
                self._wr(self.redzone1(c, objp), self.inactive)
                self._wr(self.redzone2(c, objp), self.inactive)
            if c.ctor is not None and not c.flags & i.F_POISON:
                i.call_ctor(c.ctor, c, objp + c.obj_offset, gfp)
            if c.flags & i.F_RED_ZONE:
                if self._rd(self.redzone2(c, objp)) != self.inactive:
                    self.slab_error(c, "cache_init_objs", "constructor overwrote the end of an object")
                if self._rd(self.redzone1(c, objp)) != self.inactive:
                    self.slab_error(c, "cache_init_objs", "constructor overwrote the start of an object")
            if c.flags & i.F_POISON and self.e66:
                self.poison_obj(c, objp, POISON_FREE)

    def destroy_objs(self, c: SlabCache, slab: ClassicSlab) -> None:
        """slab_destroy()'s debug part: each object's poison and red zones (and 2.6.11's dtor)."""
        i = self.impl
        fn = "slab_destroy_debugcheck" if self.e66 else ("slab_destroy" if self.e11 else "slab_destroy_objs")
        for n in range(c.num):
            objp = slab.s_mem + n * c.buffer_size
            if c.flags & i.F_POISON:
                if self.e66 and c.objfreelist and slab.objfreelist == objp + c.obj_offset:
                    self.poison_obj(c, objp, POISON_FREE)  # the freelist's object
                self.check_poison_obj(c, objp)
            if c.flags & i.F_RED_ZONE:
                if self._rd(self.redzone1(c, objp)) != self.inactive:
                    self.slab_error(c, fn, "start of a freed object was overwritten")
                if self._rd(self.redzone2(c, objp)) != self.inactive:
                    self.slab_error(c, fn, "end of a freed object was overwritten")
            if c.dtor is not None and not c.flags & i.F_POISON:
                c.dtor(objp + c.obj_offset, c, 0)

    # ------------------------------------------------------------------ alloc and free
    def alloc_debugcheck_after(self, c: SlabCache, gfp: int, objp: int) -> int:
        """cache_alloc_debugcheck_after(): poison checked then POISON_INUSE, the caller as the
        last user, red zones checked then active; returns the caller's pointer."""
        if not objp:
            return objp
        i = self.impl
        if c.flags & i.F_POISON:
            self.check_poison_obj(c, objp)
            self.poison_obj(c, objp, POISON_INUSE)
        if c.flags & i.F_STORE_USER:
            self.impl._write(self.userword(c, objp), self.caller().to_bytes(i.word, "little"))
        if c.flags & i.F_RED_ZONE:
            r1, r2 = self._rd(self.redzone1(c, objp)), self._rd(self.redzone2(c, objp))
            if r1 != self.inactive or r2 != self.inactive:
                self.slab_error(c, "cache_alloc_debugcheck_after",
                                "double free, or memory outside object was overwritten")
                if self.e11:
                    self._err([f"{self._p(objp)}: redzone 1: {self._rzv(r1)}, redzone 2: {self._rzv(r2)}."])
                else:
                    self._err([f"{self._p(objp)}: redzone 1:{self._rzv(r1)}, redzone 2:{self._rzv(r2)}"])
            self._wr(self.redzone1(c, objp), self.active)
            self._wr(self.redzone2(c, objp), self.active)
        obj = objp + c.obj_offset
        if c.ctor is not None and c.flags & i.F_POISON:
            i.call_ctor(c.ctor, c, obj, gfp)
        c.node_allocs += 0
        return obj

    def free_debugcheck(self, c: SlabCache, obj: int) -> int:
        """cache_free_debugcheck(): the object's cache, red zones (active, then inactive), the
        last user, the object's index, the poison; returns the buffer's start."""
        i = self.impl
        k = self.k
        real = i.cache_of(obj)
        if not self.e11 and real is not c:
            if real is None:
                i._not_a_slab_object(obj)
            self._bug(i._line(0, 2884, 2671), [])
        objp = obj - c.obj_offset
        if self.e11:
            if real is None:
                self._err([f"kfree_debugcheck: bad ptr {objp:x}h."])
                self._bug(1881, [])
            if real is not c:
                assert real is not None
                self._err([f"mismatch in kmem_cache_free: expected cache {self._p(real.addr)}, got {self._p(c.addr)}",
                           f"{self._p(c.addr)} is {c.name}.", f"{self._p(real.addr)} is {real.name}."])
                self._err(["Badness in cache_free_debugcheck at mm/slab.c:1900"] + k.report.dump_stack_lines())
        if c.flags & i.F_RED_ZONE:
            r1, r2 = self._rd(self.redzone1(c, objp)), self._rd(self.redzone2(c, objp))
            if self.e11:
                if r1 != self.active or r2 != self.active:
                    self.slab_error(c, "cache_free_debugcheck", "double free, or memory outside object was overwritten")
                    self._err([f"{self._p(objp)}: redzone 1: {self._rzv(r1)}, redzone 2: {self._rzv(r2)}."])
            elif not (r1 == self.active and r2 == self.active):
                if r1 == self.inactive and r2 == self.inactive:
                    self.slab_error(c, "verify_redzone_free", "double free detected")
                else:
                    self.slab_error(c, "verify_redzone_free", "memory outside object was overwritten")
                dot = "" if self.e66 else "."
                self._err([f"{self._p(objp)}: redzone 1:{self._rzv(r1)}, redzone 2:{self._rzv(r2)}{dot}"])
            self._wr(self.redzone1(c, objp), self.inactive)
            self._wr(self.redzone2(c, objp), self.inactive)
        if c.flags & i.F_STORE_USER:
            self.impl._write(self.userword(c, objp), self.caller().to_bytes(i.word, "little"))
        slab = i._virt_to_slab(objp)
        if slab is not None:
            objnr = (objp - slab.s_mem) // c.buffer_size
            if objnr >= c.num or objnr < 0:
                self._bug(i._line(1919, 2902, 2687), [])
            if objp != slab.s_mem + objnr * c.buffer_size:
                self._bug(i._line(1920, 2903, 2688), [])
        if c.flags & i.F_POISON and c.dtor is not None:
            c.dtor(obj, c, 0)
        if c.flags & i.F_POISON:
            self.poison_obj(c, objp, POISON_FREE)
        return objp

    def double_free_2_6(self, c: SlabCache, slab: ClassicSlab, obj: int, objnr: int) -> None:
        """free_block()'s (2.6.11) / slab_put_obj()'s (2.6.24) double-free test on the bufctl."""
        i = self.impl
        v = slab.bufctl[objnr] if 0 <= objnr < len(slab.bufctl) else i.BUFCTL_END
        if self.e11:
            if v != i.BUFCTL_FREE:
                self._bug(2185, [f"slab: double free detected in cache '{c.name}', objp {self._p(obj)}."])
            return
        mask = (1 << (8 * i.bufctl_size)) - 1
        if (v + 1) & mask <= i.SLAB_LIMIT + 1:
            self._bug(2724, [f"slab: double free detected in cache '{c.name}', objp {self._p(obj)}"])

    def double_free_6_6(self, c: SlabCache, slab: ClassicSlab, obj: int, objnr: int) -> None:
        """slab_put_obj() (6.6): the object must not be among freelist[active..num-1]."""
        if objnr in slab.bufctl[max(slab.inuse, 0):c.num]:
            self._bug(2507, [f"slab: double free detected in cache '{c.name}', objp {self._p(obj)}"])

    def check_slabp(self, c: SlabCache, slab: ClassicSlab) -> None:
        """check_slabp(): the free chain has num - inuse entries, all in range."""
        i = self.impl
        entries = 0
        n = slab.free
        bad = False
        while n != i.BUFCTL_END:
            entries += 1
            if entries > c.num or not 0 <= n < c.num:
                bad = True
                break
            n = slab.bufctl[n]
        if not bad and entries == c.num - slab.inuse:
            return
        hexdump = " ".join(f"{b & 0xFF:02x}" for v in slab.bufctl[:16] for b in v.to_bytes(i.bufctl_size, "little"))
        self._bug(i._line(1974, 2948, 0), [
            f"slab: Internal list corruption detected in cache '{c.name}'({c.num}), slabp "
            f"{self._p(slab.mgmt or slab.addr + slab.colouroff - c.slab_size)}({slab.inuse}). Hexdump:",
            "", f"000: {hexdump}"])

    # ------------------------------------------------------------------ 6.6 helpers (also without DEBUG)
    def kmalloc_fix_flags(self, flags: int, mask: int) -> int:
        """kmalloc_fix_flags() (6.6): the invalid bits reported and dropped."""
        k = self.k
        bad = flags & mask
        flags &= ~mask
        k.printk("\n".join([f"Unexpected gfp: {bad:#x} ({k.gfp.format(bad)}). Fixing up to gfp: {flags:#x} "
                            f"({k.gfp.format(flags)}). Fix your code!"] + k.report.dump_stack_lines()), 4)
        return flags

    def slab_out_of_memory(self, c: SlabCache, gfp: int) -> None:
        """slab_out_of_memory() (6.6 with DEBUG)."""
        k = self.k
        if gfp & k.gfp.bits.nowarn:
            return
        n = c.node
        k.printk("\n".join([
            f"SLAB: Unable to allocate memory on node 0, gfp={gfp:#x}({k.gfp.format(gfp)})",
            f"  cache: {c.name}, object size: {c.buffer_size}, order: {c.gfporder}",
            f"  node 0: slabs: {n.total_slabs - n.free_slabs}/{n.total_slabs}, objs: "
            f"{n.total_slabs * c.num - n.free_objects}/{n.total_slabs * c.num}"]), 4)

    # ------------------------------------------------------------------ STATS: /proc/slabinfo
    def slabinfo_header(self) -> str:
        head = ("slabinfo - version: 2.1 (statistics)\n"
                "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables "
                "<limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>")
        if self.e11:
            head += (" : globalstat <listallocs> <maxobjs> <grown> <reaped> <error> <maxfreeable> <freelimit> "
                     "<nodeallocs>")
        else:
            head += (" : globalstat <listallocs> <maxobjs> <grown> <reaped> <error> <maxfreeable> <nodeallocs> "
                     "<remotefrees> <alienoverflow>")
        return head + " : cpustat <allochit> <allocmiss> <freehit> <freemiss>\n"

    def slabinfo_stats(self, c: SlabCache) -> str:
        if self.e11:
            g = (f" : globalstat {c.num_allocations:7d} {c.high_mark:6d} {c.grown:5d} {c.reaped:4d} {c.errors:4d} "
                 f"{c.max_freeable:4d} {c.node.free_limit:4d} {c.node_allocs:4d}")
        elif self.e66:
            g = (f" : globalstat {c.num_allocations:7d} {c.high_mark:6d} {c.grown:5d} {c.reaped:4d} {c.errors:4d} "
                 f"{c.max_freeable:4d} {c.node_allocs:4d} {c.node_frees:4d} {c.node_overflow:4d}")
        else:  # 2.6.24: the format string continues on a new source line after a backslash, keeping
            #    the next line's four tabs (mm/slab.c:4230-4231)
            g = (f" : globalstat {c.num_allocations:7d} {c.high_mark:6d} {c.grown:5d} {c.reaped:4d} \t\t\t\t"
                 f"{c.errors:4d} {c.max_freeable:4d} {c.node_allocs:4d} {c.node_frees:4d} {c.node_overflow:4d}")
        return g + f" : cpustat {c.allochit:6d} {c.allocmiss:6d} {c.freehit:6d} {c.freemiss:6d}"
