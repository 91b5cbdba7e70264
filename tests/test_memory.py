"""k.read / k.write and friends, and the kernel's oops for unmapped addresses."""
import pytest

import kmemsim
from kmemsim import KernelBug, Oops, UsageError


def test_read_write_round_trip_and_cross_page(k):
    base = k.va(0x400000)
    data = bytes(range(256)) * 40  # 10240 bytes: spans three pages
    k.write(base + 4000, data)
    assert k.read(base + 4000, len(data)) == data
    assert k.read(base + 4095, 2) == data[95:97]
    assert k.read(base, 0) == b""


def test_typed_helpers_are_little_endian(k):
    a = k.va(0x500000)
    k.write_u32(a, 0x11223344)
    assert k.read(a, 4) == b"\x44\x33\x22\x11"
    assert k.read_u16(a) == 0x3344 and k.read_u8(a + 3) == 0x11
    k.write_u64(a + 4094, 0x0102030405060708)  # straddles a page boundary
    assert k.read_u64(a + 4094) == 0x0102030405060708
    k.write_u8(a, 0xFF)
    k.write_u16(a + 2, 0xBEEF)
    assert k.read_u32(a) == 0xBEEF3344 | 0xFF
    with pytest.raises(UsageError, match="does not fit in u8"):
        k.write_u8(a, 256)
    with pytest.raises(UsageError):
        k.write_u32(a, -1)


def test_memset_memcpy_memcmp(k):
    a, b = k.va(0x600000), k.va(0x700000)
    assert k.memset(a, 0xAB, 5000) == a
    assert k.read(a, 5000) == b"\xab" * 5000
    assert k.memcpy(b, a, 5000) == b
    assert k.memcmp(a, b, 5000) == 0
    k.write_u8(b + 10, 0xAC)
    assert k.memcmp(a, b, 5000) < 0


def test_both_aliases_of_the_kernel_image_see_the_same_bytes(k):
    k.write(k.layout.kernel_text + 8, b"same page")
    assert k.read(k.va(0x1000008), 9) == b"same page"


def test_i386_lowmem_access_and_highmem_is_not_in_the_direct_map(k32):
    a = k32.va(0x200000)
    k32.write(a, b"lowmem")
    assert k32.read(a, 6) == b"lowmem"
    with pytest.raises(Oops, match="unable to handle kernel paging request at virtual address f8800000"):
        k32.read(k32.layout.vmalloc_start, 4)


def test_page_fault_report_x86_64(k):
    addr = k.layout.vmalloc_start + 0x2000
    with pytest.raises(Oops) as e:
        k.write(addr, b"x")
    text = e.value.report
    lines = text.splitlines()
    assert lines[0] == f"BUG: unable to handle page fault for address: {addr:016x}"
    assert lines[1] == "#PF: supervisor write access in kernel mode"
    assert lines[2] == "#PF: error_code(0x0002) - not-present page"
    assert lines[3] == "Oops: Oops: 0002 [#1] SMP NOPTI"
    assert lines[4] == "CPU: 0 UID: 0 PID: 1000 Comm: insmod Not tainted 6.18.0-kmemsim #1 PREEMPT(none) "
    assert f"CR2: {addr:016x}" in lines
    assert lines[-1] == "---[ end trace 0000000000000000 ]---"
    # the call trace names this test function, innermost first
    assert " <TASK>" in lines and any("test_page_fault_report_x86_64 test_memory.py:" in line for line in lines)
    assert text in k.dmesg().replace("[    1.000000] ", "")


def test_null_pointer_dereference(k):
    with pytest.raises(Oops, match="BUG: kernel NULL pointer dereference, address: 0000000000000010"):
        k.read_u64(kmemsim.ZERO_SIZE_PTR)


def test_second_oops_is_tainted_and_numbered(k):
    for _ in range(2):
        with pytest.raises(Oops):
            k.read(0, 1)
    log = k.dmesg()
    assert "Oops: Oops: 0000 [#2] SMP NOPTI" in log
    assert "Comm: insmod Tainted: G      D             6.18.0-kmemsim #1" in log
    assert "] Tainted: [D]=DIE\n" in log
    # the machine carries on
    k.write(k.va(0x300000), b"alive")
    assert k.read(k.va(0x300000), 5) == b"alive"
    k.check()


def test_non_canonical_address_is_a_general_protection_fault(k):
    with pytest.raises(Oops) as e:
        k.read(0xDEAD000000000100, 8)
    assert e.value.report.startswith(
        "Oops: general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP NOPTI"
    )


def test_a_faulting_write_changes_nothing(k):
    """A write that runs off the end of RAM faults before it stores a byte."""
    end = k.layout.high_memory
    before = k.read(end - 8, 8)
    with pytest.raises(Oops):
        k.write(end - 8, b"0123456789abcdef")
    assert k.read(end - 8, 8) == before


def test_access_to_pci_hole_faults():
    k = kmemsim.boot(ram="4G")
    with pytest.raises(Oops):
        k.read(k.va(0xD0000000), 1)
    assert k.read(k.va(0x100000000), 1)  # remapped RAM is fine


def test_i386_null_report(k32):
    with pytest.raises(Oops) as e:
        k32.write_u32(0x4, 1)
    lines = e.value.report.splitlines()
    assert lines[0] == "BUG: unable to handle kernel NULL pointer dereference at virtual address 00000004"
    assert lines[2] == "Oops: 0002 [#1] SMP "


@pytest.mark.parametrize(
    "call",
    [
        lambda k: k.read(-1, 4),
        lambda k: k.read(k.va(0x1000), -4),
        lambda k: k.read("addr", 4),
        lambda k: k.write(k.va(0x1000), "text"),
        lambda k: k.read((1 << 64) - 2, 4),
        lambda k: k.memset(k.va(0x1000), "x", 4),
    ],
)
def test_bad_arguments_are_usage_errors(k, call):
    with pytest.raises(UsageError):
        call(k)
    k.check()


def test_report_mode_still_raises_oops_for_faults():
    k = kmemsim.boot(on_bug="report")
    with pytest.raises(Oops):
        k.read(0, 1)


def test_report_mode_continues_after_a_bug():
    k = kmemsim.boot(on_bug="report")
    k.report.bug(["BUG: something the kernel survives"], kind="test")
    assert "BUG: something the kernel survives" in k.dmesg()
    strict = kmemsim.boot()
    with pytest.raises(KernelBug, match="something"):
        strict.report.bug(["BUG: something the kernel survives"], kind="test")


def test_on_cpu(k):
    assert k.cpu == 0
    with k.on_cpu(1) as c:
        assert c.id == 1 and k.smp_processor_id() == 1
        with pytest.raises(Oops):
            k.read(0, 1)
    assert k.cpu == 0
    assert "CPU: 1 UID: 0" in k.dmesg()
    with pytest.raises(UsageError, match="CPUs 0..1"):
        with k.on_cpu(2):
            pass


def test_dmesg_format_and_clock(k):
    lines = k.dmesg().splitlines()
    assert lines[0] == "[    0.000000] Linux version 6.18.0-kmemsim (kmemsim@kmemsim) (kmemsim) #1 SMP PREEMPT_DYNAMIC"
    k.clock.advance(12_345_678_901)
    k.printk("hello\nworld")
    tail = k.dmesg().splitlines()[-2:]
    assert tail == ["[   13.345678] hello", "[   13.345678] world"]
    with pytest.raises(ValueError):
        k.clock.advance(-1)


def test_memory_cost_grows_with_pages_touched_not_ram():
    k = kmemsim.boot(ram="1T")
    small = kmemsim.boot(ram="1G")
    # boot touches only what the kernel writes at boot (the vmalloc page tables), not RAM
    boot_frames = len(k.phys.frames)
    assert boot_frames == len(small.phys.frames) and boot_frames <= 80
    assert k.memmap.materialised_sections() <= 4
    for i in range(10):
        k.write(k.va((1 << 39) + i * (1 << 30)), b"x")
    assert len(k.phys.frames) == boot_frames + 10
