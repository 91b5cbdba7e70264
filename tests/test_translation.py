"""__pa/__va, virt_to_page, page_address, virt_addr_valid, is_vmalloc_addr on both profiles."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

import kmemsim
from kmemsim import Oops, UsageError

K64 = kmemsim.boot(ram="4G")
K32 = kmemsim.boot("linux-2.6-i386", ram="1G")


def memory_pfns(k):
    ranges = [(s >> 12, e >> 12) for s, e in k.arch.setup.memory]
    return st.sampled_from(ranges).flatmap(lambda r: st.integers(r[0], r[1] - 1))


@given(st.data())
def test_pa_va_round_trip_x86_64(data):
    pfn = data.draw(memory_pfns(K64))
    off = data.draw(st.integers(0, 4095))
    phys = (pfn << 12) | off
    v = K64.va(phys)
    assert v == 0xFFFF888000000000 + phys
    assert K64.pa(v) == phys
    assert K64.virt_to_phys(v) == phys and K64.phys_to_virt(phys) == v
    page = K64.virt_to_page(v)
    assert page.pfn == pfn == K64.page_to_pfn(page) == K64.virt_to_pfn(v)
    assert K64.pfn_to_page(pfn) == page
    assert K64.page_address(page) == v - off
    assert K64.page_to_phys(page) == phys - off
    assert K64.phys_to_page(phys) == page
    assert K64.virt_addr_valid(v)
    assert not K64.is_vmalloc_addr(v)
    assert page.ptr == 0xFFFFEA0000000000 + 64 * pfn


@given(st.data())
def test_pa_va_round_trip_i386_lowmem(data):
    pfn = data.draw(memory_pfns(K32).filter(lambda p: p < K32.max_low_pfn))
    v = K32.va(pfn << 12)
    assert K32.pa(v) == pfn << 12
    assert K32.page_address(K32.virt_to_page(v)) == v
    assert K32.virt_addr_valid(v)
    assert v < K32.layout.high_memory
    assert K32.virt_to_page(v).ptr == K32.layout.mem_map + 32 * pfn


def test_kernel_text_alias_x86_64():
    text = K64.layout.kernel_text
    assert K64.pa(text) == 0x1000000
    assert K64.pa(text + 0x1234) == 0x1001234
    assert K64.virt_addr_valid(text)
    assert K64.virt_to_page(text).pfn == 0x1000
    # beyond KERNEL_IMAGE_SIZE the image mapping is not valid
    assert not K64.virt_addr_valid(K64.layout.kernel_map + (1 << 30))


def test_highmem_pages_have_no_address_until_kmapped():
    hp = K32.pfn_to_page(K32.max_low_pfn)
    assert K32.PageHighMem(hp)
    assert K32.page_address(hp) == kmemsim.NULL
    assert not K32.PageHighMem(K32.pfn_to_page(K32.max_low_pfn - 1))


def test_virt_addr_valid_x86_64_rejects_non_direct_addresses():
    k = K64
    assert not k.virt_addr_valid(k.layout.vmalloc_start)
    assert not k.virt_addr_valid(0x1000)  # user space
    assert not k.virt_addr_valid(k.layout.high_memory)  # past the end of RAM
    assert not k.virt_addr_valid(k.va(0xC0000000 + 0x100000))  # inside the PCI hole: no struct page
    assert k.virt_addr_valid(k.va(0x100000000))  # RAM remapped above 4G
    assert not k.virt_addr_valid(k.layout.vmemmap_base)


def test_virt_addr_valid_i386_is_2_6_24s_weak_test():
    """2.6.24's virt_addr_valid is pfn_valid(__pa(x)): a vmalloc address can pass it."""
    v = K32.layout.vmalloc_start + 0x1000
    assert K32.is_vmalloc_addr(v)
    assert K32.virt_addr_valid(v)  # __pa lands in highmem pfns, which have struct pages
    small = kmemsim.boot("linux-2.6-i386", ram="160M")
    assert not small.virt_addr_valid(small.layout.vmalloc_start)  # beyond max_pfn there
    assert not small.virt_addr_valid(0x08048000)  # user: __pa wraps past max_pfn


def test_is_vmalloc_addr_bounds():
    for k in (K64, K32):
        assert k.is_vmalloc_addr(k.layout.vmalloc_start)
        assert not k.is_vmalloc_addr(k.layout.vmalloc_start - 1)
        assert not k.is_vmalloc_addr(k.layout.vmalloc_end)
        assert k.is_vmalloc_addr(k.layout.vmalloc_end - 1)


def test_pa_of_vmalloc_address_is_garbage_like_the_kernel():
    v = K64.layout.vmalloc_start
    assert K64.pa(v) == v - 0xFFFF888000000000  # ~64.5 TB: not a RAM address


def test_debug_virtual_turns_a_bad_pa_into_a_bug():
    k = kmemsim.boot(debug_virtual=True)
    assert k.pa(k.va(0x5000)) == 0x5000
    assert k.pa(k.layout.kernel_text) == 0x1000000
    with pytest.raises(Oops) as e:
        k.pa(0x400000)  # a user address: x < PAGE_OFFSET sets the carry
    assert "kernel BUG at arch/x86/mm/physaddr.c:28!" in e.value.report
    assert "Oops: invalid opcode: 0000 [#1] SMP NOPTI" in k.dmesg()
    with pytest.raises(Oops) as e:
        k.pa(k.layout.modules)  # past KERNEL_IMAGE_SIZE of the image mapping
    assert "kernel BUG at arch/x86/mm/physaddr.c:23!" in e.value.report
    # With the reference CPU's 48 physical bits a vmalloc address's __pa is < 2^48,
    # so DEBUG_VIRTUAL lets it through, exactly as on the host.
    assert k.pa(k.layout.vmalloc_start) == k.layout.vmalloc_start - k.layout.page_offset
    # without the option nothing is checked
    assert kmemsim.boot().pa(0x400000) == (0x400000 - 0xFFFF888000000000) % (1 << 64)


@pytest.mark.parametrize("bad", [-1, 1 << 64, "0x10", 1.5, None])
def test_translation_rejects_non_addresses(bad):
    with pytest.raises(UsageError):
        K64.pa(bad)
    with pytest.raises(UsageError):
        K64.virt_addr_valid(bad)


def test_page_handle_fields_and_identity():
    p = K64.virt_to_page(K64.layout.kernel_text)
    assert p.PageReserved() and p.refcount == 1 and p.owner == kmemsim.Owner.RESERVED
    assert p.flags.format() == "0x2000(reserved)"
    assert p + 1 == K64.pfn_to_page(0x1001) and (p + 1) - 1 == p
    assert len({p, K64.pfn_to_page(0x1000)}) == 1
    free = K64.pfn_to_page(0x20000)
    assert free.owner == kmemsim.Owner.MANAGED and free.refcount == 0 and free.mapcount == 0


def test_struct_page_of_a_hole_faults_when_read():
    k = kmemsim.boot(ram="4G")
    ghost = k.pfn_to_page(0xD0000)  # in the PCI hole: no struct page
    assert not k.pfn_valid(0xD0000)
    with pytest.raises(Oops, match="unable to handle page fault"):
        _ = ghost.flags
