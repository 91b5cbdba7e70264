"""The firmware memory map (e820) a machine boots with, and how each kernel prints it.

Models arch/x86/kernel/e820.c (6.18) and arch/x86/kernel/e820_32.c (2.6.24).

The map is built from the machine's RAM size the way the reference host's
hypervisor (Firecracker, which the 6.18 profile mirrors) and a PC BIOS (the
2.6 profile) lay it out:

* the first 639 KiB usable, then the ISA hole (``0x9fc00-0xfffff``) reserved,
* RAM from 1 MiB up to at most 3 GiB,
* the 32-bit PCI hole up to 4 GiB (reserved firmware/MMIO ranges inside it),
* the rest of RAM from 4 GiB up ("RAM remapped above 4G").

So ``ram="24G"`` reproduces the reference host's e820 exactly:
``[mem 0x0000000100000000-0x000000063fffffff] usable`` and so on.  The ``e820="qemu"``
tunable gives QEMU's map with SeaBIOS instead, as the classic kernels were captured
(tests/data/classic): ``ram="1G"`` is then 262112 usable pages up to 0x3ffe0000.
"""
from __future__ import annotations

from ..records import FrozenRecord

E820_RAM = "usable"
E820_RESERVED = "reserved"

ISA_HOLE_START = 0x9FC00
ISA_END = 0x100000
LOW_RAM_LIMIT = 3 << 30  # RAM below the 32-bit PCI hole
FOUR_G = 1 << 32


class E820Entry(FrozenRecord):
    """One range of the firmware memory map: ``[start, end)`` and its e820 type."""

    __match_args__ = ("start", "end", "type")
    start: int
    end: int  # exclusive
    type: str

    def __init__(self, start: int, end: int, type: str) -> None:
        vars(self).update(start=start, end=end, type=type)

    @property
    def size(self) -> int:
        return self.end - self.start


#: QEMU's pc machine (i440FX) with SeaBIOS, as the classic captures ran (tests/data/classic):
#: RAM below 4 GiB up to 3.5 GiB, else 3 GiB (the rest above 4 GiB); SeaBIOS keeps the top
#: 128 KiB of low RAM for its tables (e820 "reserved"); the BIOS flash below 4 GiB; and on
#: x86_64 (qemu64, 40 physical address bits) QEMU reserves 0xfd00000000-0xffffffffff.
QEMU_HIGH_SPLIT = 0xE0000000
QEMU_LOW_RAM = 0xC0000000
SEABIOS_RESERVED = 0x20000


def build_e820_qemu(arch: str, ram: int) -> list[E820Entry]:
    """The map QEMU and SeaBIOS give a guest of ``ram`` bytes (the captures' firmware)."""
    low = ram if ram < QEMU_HIGH_SPLIT else QEMU_LOW_RAM
    high = ram - low
    m = [E820Entry(0, ISA_HOLE_START, E820_RAM), E820Entry(ISA_HOLE_START, 0xA0000, E820_RESERVED),
         E820Entry(0xF0000, ISA_END, E820_RESERVED)]
    if low - SEABIOS_RESERVED > ISA_END:
        m.append(E820Entry(ISA_END, low - SEABIOS_RESERVED, E820_RAM))
    m.append(E820Entry(low - SEABIOS_RESERVED, low, E820_RESERVED))
    m.append(E820Entry(0xFFFC0000, FOUR_G, E820_RESERVED))
    if high:
        m.append(E820Entry(FOUR_G, FOUR_G + high, E820_RAM))
    if arch == "x86_64":
        m.append(E820Entry(0xFD00000000, 0x10000000000, E820_RESERVED))
    return m


def build_e820(arch: str, ram: int, firmware: str = "default") -> list[E820Entry]:
    """The firmware's map for ``ram`` bytes of RAM on ``arch`` (``firmware="qemu"``: QEMU's)."""
    if firmware == "qemu":
        return build_e820_qemu(arch, ram)
    low = min(ram, LOW_RAM_LIMIT)
    high = ram - low
    m = [E820Entry(0, ISA_HOLE_START, E820_RAM)]
    if arch == "x86_64":
        # Firecracker: one reserved range over the ISA hole and BIOS area.
        m.append(E820Entry(ISA_HOLE_START, ISA_END, E820_RESERVED))
    else:
        # A PC BIOS: EBDA, then the BIOS ROM; VGA/option ROMs are not listed.
        m.append(E820Entry(ISA_HOLE_START, 0xA0000, E820_RESERVED))
        m.append(E820Entry(0xF0000, ISA_END, E820_RESERVED))
    if low > ISA_END:
        m.append(E820Entry(ISA_END, low, E820_RAM))
    if arch == "x86_64":
        m.append(E820Entry(0xEEC00000, 0xFEC00000, E820_RESERVED))  # PCI ECAM and firmware
    else:
        m.append(E820Entry(0xFEC00000, 0xFEC01000, E820_RESERVED))  # IO-APIC
        m.append(E820Entry(0xFEE00000, 0xFEE01000, E820_RESERVED))  # local APIC
        m.append(E820Entry(0xFFFC0000, FOUR_G, E820_RESERVED))  # BIOS flash
    if high:
        m.append(E820Entry(FOUR_G, FOUR_G + high, E820_RAM))
    return m


def format_e820(entries: list[E820Entry], mem_format: bool) -> list[str]:
    """The boot log's "BIOS-provided physical RAM map" lines; ``mem_format``: the
    ``[mem 0x...-0x...]`` form (features.e820_mem_format), else 2.6's ``start - end (type)``."""
    lines = ["BIOS-provided physical RAM map:"]
    for e in entries:
        if not mem_format:
            # 2.6.24 arch/x86/kernel/e820_32.c: print_memory_map()
            lines.append(f" BIOS-e820: {e.start:016x} - {e.end:016x} ({e.type})")
        else:
            # 6.18 arch/x86/kernel/e820.c: e820__print_table() / e820_print_type()
            lines.append(f"BIOS-e820: [mem {e.start:#018x}-{e.end - 1:#018x}] {e.type}")
    return lines


def ram_ranges(entries: list[E820Entry]) -> list[tuple[int, int]]:
    """Usable RAM as sorted [start, end) byte ranges."""
    return [(e.start, e.end) for e in entries if e.type == E820_RAM]
