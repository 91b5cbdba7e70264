"""The kernel's reports: BUG, oops (die), WARN, dump_stack, panic, and the on_bug policy.

One place prints what the kernel prints when something is wrong (lib/bug.c
``report_bug()``, kernel/panic.c ``__warn()``/``panic()``/``print_tainted()``,
arch/x86/kernel/dumpstack.c ``die()``/``__die()``, arch/x86/mm/fault.c's page-fault
oops), for every subsystem: ``m.report.bug(...)``, ``m.report.warn(...)``.

The on_bug policy
-----------------
``on_bug="raise"`` (default): a report the kernel prints as a BUG, oops or
detected corruption goes to dmesg and then raises :class:`~kmemsim.errors.KernelBug`.
``on_bug="report"``: the machine carries on as a real kernel does after the
report.  An oops still raises :class:`~kmemsim.errors.Oops` in both modes, because
the kernel kills the task that faulted and the Python caller *is* that task; the
machine itself stays usable, tainted ``D`` (the next oops is ``[#2]``).

Call traces are the Python caller's frames (:func:`user_frames`): kmemsim's own
frames are "the kernel" and left out; the trace ends at the first library frame.
The text follows the machine's kernel: ``features.dumpstack_6x`` selects 6.x's
``Oops:``/``CPU:``/``RIP:``/``<TASK>`` format, otherwise 2.6.24's i386 ``die()``.
"""
from __future__ import annotations

import os
import re
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import KernelBug, KmemsimError, Oops
from .printk import KERN_ALERT, KERN_WARNING

if TYPE_CHECKING:  # pragma: no cover
    from .machine import Machine

__all__ = ["Reports", "user_frames", "call_site"]

_PKG_DIR = os.path.dirname(os.path.abspath(__file__))


class Reports:
    """The reports of one machine, and what they leave behind: taint flags, the oops
    counter, the WARN_ON_ONCE keys already used."""

    def __init__(self, m: Machine) -> None:
        self.m = m
        self.taint: set[str] = set()
        self.die_counter = 0
        self.halted = False
        self._warned: set[str] = set()

    # ------------------------------------------------------------------ BUG / oops
    def bug(self, lines: list[str], *, kind: str, oops: bool = False, oops_str: str = "Oops", err: int = 0,
            addr: int | None = None) -> None:
        """Print a kernel report and apply the on_bug policy.

        ``oops=True`` is :meth:`oops` (always raises :class:`Oops`); otherwise the report
        raises :class:`KernelBug` under ``on_bug="raise"`` and returns under "report".
        """
        if oops:
            self.oops(lines, kind=kind, oops_str=oops_str, err=err, addr=addr)
        text = "\n".join(lines)
        self.m.printk(text, KERN_ALERT)
        if self.m.on_bug == "raise":
            raise KernelBug(kind, text)

    def oops(self, lines: list[str], *, kind: str, oops_str: str = "Oops", err: int = 0,
             addr: int | None = None) -> NoReturn:
        """die(): ``lines``, then the die() header, CPU line, call trace and trailer; the task
        that faulted dies, so this always raises :class:`Oops`."""
        text = "\n".join([*lines, *self._die_lines(oops_str, err, addr)])
        self.m.printk(text, KERN_ALERT)
        raise Oops(kind, text)

    def _die_lines(self, oops_str: str, err: int, addr: int | None) -> list[str]:
        m = self.m
        self.die_counter += 1
        frames = user_frames()
        modern = m.features.dumpstack_6x
        if not modern:
            self.taint.add("D")  # 2.6 die() taints before printing the header
        rip = frames[0][0] if frames else "kmemsim_entry"
        if oops_str == "invalid opcode" and m.features.trap6_invalid_operand:
            oops_str = "invalid operand"  # BUG()'s ud2 is trap 6, named so in 2.6.11's traps.c
        if not modern:
            out = [f"{oops_str}: {err & 0xFFFF:04x} [#{self.die_counter}] SMP ", "Modules linked in:"]
            out += self.cpu_lines()
            out.append(f"EIP is at {rip}")
            out.append(f"Process {m.current.comm} (pid: {m.current.pid}, ti=00000000 task=00000000 task.ti=00000000)")
            out.append("Call Trace:")
            out += [f" [<00000000>] {fn} {loc}" for fn, loc in frames]
            out.append("=======================")
            out.append(f"---[ end trace {m.seed & 0xFFFFFFFFFFFFFFFF:016x} ]---")
        else:
            out = [f"Oops: {oops_str}: {err & 0xFFFF:04x} [#{self.die_counter}] SMP NOPTI"]
            out += self.cpu_lines()
            out += [f"RIP: 0010:{rip}", "Call Trace:", " <TASK>"]
            out += [f" {fn} {loc}" for fn, loc in frames]
            out += [" </TASK>", "Modules linked in:"]
            if addr is not None:
                out.append(f"CR2: {addr:016x}")
            out.append("---[ end trace 0000000000000000 ]---")
        self.taint.add("D")  # 6.x oops_end() taints after the dump
        return out

    def page_fault(self, addr: int, *, write: bool) -> NoReturn:
        """A kernel-mode page fault at ``addr`` that no mapping resolves: the oops.  A write
        to a present read-only page is a protection fault (X86_PF_PROT)."""
        m = self.m
        prot = False
        if write and m.arch.direct_phys(addr) is None:
            try:
                e, _level = m.vmalloc_impl.pt.lookup_address(addr)
            except KmemsimError:
                e = None
            prot = bool(e and e & 1)  # _PAGE_PRESENT
        err = (0x2 if write else 0x0) | (0x1 if prot else 0x0)  # X86_PF_WRITE, X86_PF_PROT; supervisor
        ps = m.page_size
        if not m.features.dumpstack_6x:
            what = "NULL pointer dereference" if addr < ps else "paging request"
            lines = [
                f"BUG: unable to handle kernel {what} at virtual address {addr:08x}",
                "printing eip: 00000000 *pde = 00000000 ",
            ]
        else:
            if addr < ps:
                first = f"BUG: kernel NULL pointer dereference, address: {addr:016x}"
            else:
                first = f"BUG: unable to handle page fault for address: {addr:016x}"
            lines = [
                first,
                f"#PF: supervisor {'write' if write else 'read'} access in kernel mode",
                f"#PF: error_code(0x{err:04x}) - {'permissions violation' if prot else 'not-present page'}",
            ]
        self.oops(lines, kind="page_fault", oops_str="Oops", err=err, addr=addr)

    def general_protection(self, addr: int) -> NoReturn:
        """x86_64: an access to a non-canonical address is a #GP, not a page fault."""
        self.oops([], kind="general_protection",
                  oops_str=f"general protection fault, probably for non-canonical address {addr:#x}", err=0)

    # ------------------------------------------------------------------ WARN, dump_stack, panic
    def cpu_lines(self) -> list[str]:
        """dump_stack_print_info(): the CPU line (and the taint and hardware lines)."""
        m = self.m
        if not m.features.dumpstack_6x:
            return [f"Pid: {m.current.pid}, comm: {m.current.comm} {self.taint_str()} ({m.profile.release} #1)"]
        out = [
            f"CPU: {m.cpu} UID: {m.current.uid} PID: {m.current.pid} Comm: {m.current.comm[:20]} "
            f"{self.taint_str()} {m.profile.release} #1 PREEMPT(none) "
        ]
        if self.taint:
            names = {"D": "DIE", "B": "BAD_PAGE", "W": "WARN"}
            out.append("Tainted: " + ", ".join(f"[{t}]={names[t]}" for t in "BWD" if t in self.taint))
        out.append(f"Hardware name: kmemsim {m.profile.name}, BIOS kmemsim")
        return out

    def dump_stack_lines(self) -> list[str]:
        """dump_stack(): the CPU line and the call trace of the Python caller (2.6.24 i386:
        'Pid: p, comm: c <taint> <release> #1', the trace, ' ======================='; 2.6.11:
        the trace alone, features.dump_stack_header)."""
        frames = user_frames()
        if not self.m.features.dumpstack_6x:
            trace = [" [<00000000>] " + f"{fn} {loc}" for fn, loc in frames]
            if not self.m.features.dump_stack_header:
                return trace
            m = self.m
            return ([f"Pid: {m.current.pid}, comm: {m.current.comm[:20]} {self.taint_str()} {m.profile.release} #1"]
                    + trace + [" ======================="])
        return self.cpu_lines() + ["Call Trace:", " <TASK>"] + [f" {fn} {loc}" for fn, loc in frames] + [" </TASK>"]

    def warn(self, where: str, message: str = "") -> None:
        """WARN() / WARN_ON(): the kernel's WARNING report (__warn); taint W afterwards."""
        m = self.m
        if not m.features.dumpstack_6x:
            self._warn_26(where, message)
            return
        lines = ["------------[ cut here ]------------"]
        if message:
            lines.append(message)
        lines.append(f"WARNING: CPU: {m.cpu} PID: {m.current.pid} at {where}")
        lines.append("Modules linked in:")
        lines += self.dump_stack_lines()
        lines.append("---[ end trace 0000000000000000 ]---")
        self.taint.add("W")
        m.printk("\n".join(lines), KERN_WARNING)

    def _warn_26(self, where: str, message: str) -> None:
        """WARN_ON() of 2.6 (include/asm-generic/bug.h): 2.6.24 'WARNING: at file:line func()',
        2.6.11 'Badness in func at file:line', then dump_stack(); no taint (TAINT_WARN is 2.6.26's).
        ``where`` is 'file:line func+0x0/0x0' (or a bare function)."""
        m = self.m
        hit = re.match(r"(?:(\S+):(\d+) )?([\w.]+)", where)
        at, func = (f"{hit.group(1)}:{hit.group(2)}" if hit.group(1) else "", hit.group(3)) if hit else ("", where)
        lines = [message] if message else []
        if m.features.warn_on_warning_at:  # a site the model knows no line of: the function alone
            lines.append(f"WARNING: at {at} {func}()" if at else f"WARNING: at {func}()")
        else:
            lines.append(f"Badness in {func} at {at}" if at else f"Badness in {func}")
        lines += self.dump_stack_lines()
        m.printk("\n".join(lines), KERN_WARNING)

    def warn_once(self, key: str, where: str, message: str = "") -> None:
        """WARN_ON_ONCE(): the first time for ``key``, the kernel's WARNING report; taint W."""
        if key in self._warned:
            return
        self._warned.add(key)
        self.warn(where, message)

    def taint_str(self) -> str:
        """print_tainted(): "Not tainted", or one column per taint flag."""
        if not self.taint:
            return "Not tainted"
        if not self.m.features.dumpstack_6x:
            cols = ["G"] + [" "] * 9  # 2.6.24 kernel/panic.c: 10 columns, D is the 8th
        else:
            cols = ["G"] + [" "] * 19  # 6.18 kernel/panic.c: TAINT_FLAGS_COUNT (20) columns, not trimmed
        for letter, bit in (("B", 5), ("D", 7), ("W", 9)):  # TAINT_BAD_PAGE, TAINT_DIE, TAINT_WARN
            if letter in self.taint and bit < len(cols):
                cols[bit] = letter
        return "Tainted: " + "".join(cols)

    def panic(self, message: str) -> NoReturn:
        """panic(): "Kernel panic - not syncing: ..."; the machine stops (always raises)."""
        lines = [f"Kernel panic - not syncing: {message}"] + self.dump_stack_lines()
        lines.append(f"---[ end Kernel panic - not syncing: {message} ]---")
        text = "\n".join(lines)
        self.m.printk(text, KERN_ALERT)
        self.halted = True
        raise KernelBug("panic", text)


# ---------------------------------------------------------------------- call traces

_CORE_SKIP = tuple(os.path.join(_PKG_DIR, d) + os.sep for d in ("tour", "cli"))
_LIB_DIRS = tuple(
    {os.path.dirname(os.__file__) + os.sep,
     *(p + os.sep for p in sys.path if p.endswith(("site-packages", "dist-packages")))}
)

#: code object -> ("core" | "lib" | "user", file name), so that a call trace costs
#: one dict lookup per frame (slab_debug=U takes one per allocation).
_CODE_KINDS: dict[Any, tuple[str, str]] = {}


def user_frames(limit: int = 16) -> list[tuple[str, str]]:
    """The caller's Python frames as a call trace, innermost first: (function, file:line).

    kmemsim's own core frames are skipped (they are "the kernel"); the trace
    ends at the first library frame (stdlib, site-packages, pytest, click) once
    a caller frame was seen, so traces do not depend on the test runner.
    """
    out: list[tuple[str, str]] = []
    f = sys._getframe(1)
    kinds = _CODE_KINDS
    while f is not None and len(out) < limit:
        code = f.f_code
        kind = kinds.get(code)
        if kind is None:
            fname = os.path.abspath(code.co_filename)
            core = fname.startswith(_PKG_DIR + os.sep) and not fname.startswith(_CORE_SKIP)
            lib = not fname.startswith(_PKG_DIR + os.sep) and (fname.startswith(_LIB_DIRS) or fname.startswith("<"))
            kind = kinds[code] = ("core" if core else "lib" if lib else "user", os.path.basename(fname))
        if kind[0] == "lib" and out:
            break
        if kind[0] == "user":
            out.append((code.co_name, f"{kind[1]}:{f.f_lineno}"))
        f = f.f_back  # type: ignore[assignment]
    return out


def user_frames_top() -> str | None:
    """The innermost caller frame's function name (the model's %pS of _RET_IP_)."""
    f = user_frames(1)
    return f[0][0] if f else None


def call_site() -> str:
    """``%pS`` of the caller as the model prints it: ``func+0x0/0x0`` (``kmemsim+0x0/0x0``
    when only kmemsim's own code is on the stack)."""
    f = user_frames(1)
    return f"{f[0][0]}+0x0/0x0" if f else "kmemsim+0x0/0x0"
