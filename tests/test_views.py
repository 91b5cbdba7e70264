"""/proc views: exact kernel layout (against the host's captured files) and host-snapshot boots."""
import re

import pytest
from conftest import DATA

import kmemsim
from kmemsim import UsageError
from kmemsim import snapshot as snapmod
from kmemsim.gfp import GFP_KERNEL
from kmemsim.views.procfs import fragmentation_index, unusable_free_index

SNAP = DATA / "host-6.18" / "snapshot.tar.gz"


@pytest.fixture(scope="module")
def host():
    return snapmod.load(SNAP)


@pytest.fixture(scope="module")
def hk():
    return kmemsim.boot(host=str(SNAP))


def shape(text):
    """Each line with every number replaced and runs of blanks folded: the layout."""
    return [re.sub(r" +", " ", re.sub(r"-?\d+", "#", line)) for line in text.split("\n")]


@pytest.mark.parametrize("name", ["buddyinfo", "pagetypeinfo", "zoneinfo", "vmstat", "meminfo"])
def test_views_have_the_host_layout(hk, host, name):
    model = hk.proc(name)
    real = host.raw(f"proc/{name}")
    assert shape(model) == shape(real)


@pytest.mark.parametrize("name", ["buddyinfo", "pagetypeinfo", "zoneinfo"])
def test_views_parse_with_the_strict_host_parsers(hk, name):
    parser = {"buddyinfo": snapmod.parse_buddyinfo, "pagetypeinfo": snapmod.parse_pagetypeinfo,
              "zoneinfo": snapmod.parse_zoneinfo}[name]
    parser(hk.proc(name))


def test_host_boot_reproduces_zoneinfo_lines(hk, host):
    """min/low/high/promo, spanned/present/managed, protection, batch/high_min/high_max and the
    stat threshold equal the host's, line for line."""
    keep = re.compile(r"^\s+(min|low|high|promo|spanned|present|managed|cma) |"
                      r"^\s+(protection|batch|high_min|high_max):|"
                      r"^Node|^  vm stats threshold|^  start_pfn|^    cpu:")
    model = [line for line in hk.proc("zoneinfo").splitlines() if keep.match(line)]
    real = [line for line in host.raw("proc/zoneinfo").splitlines() if keep.match(line)]
    assert model == real
    assert len(model) > 60


def test_host_boot_takes_cpus_and_sysctls(hk, host):
    assert len(hk.cpus) == len(host.cpus_online)
    assert hk.page_alloc.min_free_kbytes == host.sysctl["min_free_kbytes"]


def test_host_boot_errors(tmp_path):
    with pytest.raises(kmemsim.ConfigError, match="ram"):
        kmemsim.boot(host=str(SNAP), ram="1G")
    with pytest.raises(kmemsim.ConfigError):
        kmemsim.boot(host=str(tmp_path / "missing"))


def test_buddyinfo_tracks_split_and_merge():
    k = kmemsim.boot(ram="1G")
    before = k.proc("buddyinfo")
    addr = k.get_free_pages(GFP_KERNEL, 5)
    mid = k.proc("buddyinfo")
    assert mid != before
    k.free_pages(addr, 5)
    assert k.proc("buddyinfo") == before


def test_pagetypeinfo_counts_match_buddyinfo_and_blocks(hk):
    k = kmemsim.boot(ram="2G")
    for _ in range(50):
        k.get_free_pages(GFP_KERNEL, 4)
    pt = snapmod.parse_pagetypeinfo(k.proc("pagetypeinfo"))[0]
    bi = snapmod.parse_buddyinfo(k.proc("buddyinfo"))[0]
    for zone, counts in bi.items():
        assert pt.free_by_order(zone) == counts
    assert pt.blocks["DMA32"]["Unmovable"] >= 1  # the fallback claimed pageblocks
    assert sum(pt.blocks["DMA32"].values()) == (2 << 30) // 4096 // 512 - 8  # DMA32 starts at 16 MiB


def test_zoneinfo_pcp_state_moves(hk):
    k = kmemsim.boot(ram="8G")
    k.drain_all_pages()
    hit0 = next(z for z in snapmod.parse_zoneinfo(k.proc("zoneinfo"))[0][0] if z.name == "Normal").stats["numa_hit"]
    k.get_free_pages(GFP_KERNEL, 0)
    zi = snapmod.parse_zoneinfo(k.proc("zoneinfo"))[0][0]
    normal = next(z for z in zi if z.name == "Normal")
    assert normal.pagesets[0].count > 0 and normal.pagesets[0].high >= normal.pagesets[0].high_min
    assert normal.pagesets[1].high == 0  # never used: prints 0
    assert normal.stats["numa_hit"] == hit0 + 1


def test_vmstat_and_meminfo_values():
    k = kmemsim.boot(ram="1G")
    vm0 = snapmod.parse_vmstat(k.proc("vmstat"))
    a = k.get_free_pages(GFP_KERNEL, 3)
    k.free_pages(a, 3)
    vm = snapmod.parse_vmstat(k.proc("vmstat"))
    assert vm["pgalloc_dma32"] - vm0["pgalloc_dma32"] == 8 and vm["pgfree"] - vm0["pgfree"] == 8
    assert vm["nr_free_pages"] == k.nr_free_pages()
    mi = snapmod.parse_meminfo(k.proc("meminfo"))
    assert mi["MemTotal"] == sum(z.managed_pages for z in k.page_alloc.zones) * 4
    assert mi["MemFree"] == k.nr_free_pages() * 4
    assert mi["MemAvailable"] == (k.nr_free_pages() - k.page_alloc.totalreserve_pages) * 4
    assert mi["VmallocTotal"] == 34359738367
    assert sum(v for key, v in mi.items() if key.startswith("DirectMap")) == sum(
        e - s for s, e in k.arch.setup.mapped) // 1024


def test_extfrag_formulas_on_a_known_free_area():
    k = kmemsim.boot(ram="1G")
    z = k.page_alloc.zones[0]
    # DMA of the reference host: 1*order8, 1*order9, 3*order10 = 3840 pages
    assert z.nr_free == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]
    assert [unusable_free_index(z, o) for o in (0, 8, 9, 10)] == [0, 0, 66, 200]
    assert fragmentation_index(z, 10) == -1000
    text = k.debugfs("extfrag/unusable_index").splitlines()[0]
    assert text == "Node 0, zone      DMA 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.000 0.066 0.200 "
    assert k.debugfs("extfrag/extfrag_index").splitlines()[0].startswith("Node 0, zone      DMA -1.000 -1.000")


def test_fragmentation_index_without_a_suitable_block():
    k = kmemsim.boot(ram="1G")
    z = k.page_alloc.zones[0]
    z.nr_free[:] = [10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]  # ten single pages (a view-only test)
    # 1000 - (1000 + 10*1000/2) / 10 = 400 for order 1
    assert fragmentation_index(z, 1) == 400
    assert "Node 0, zone      DMA -1.000  0.400  0.650" in k.debugfs("extfrag/extfrag_index")


def test_unknown_views_and_classic_profile():
    k = kmemsim.boot()
    with pytest.raises(UsageError, match="known: buddyinfo"):
        k.proc("slabinfo2")
    old = kmemsim.boot("linux-2.6-i386", ram="1G")
    assert old.proc("buddyinfo").startswith("Node 0, zone      DMA ")
    assert "zone      DMA, type      Reserve" in old.proc("pagetypeinfo")
    assert old.proc("meminfo").startswith("MemTotal:      1038340 kB\n")  # 2.6.24's layout, its slub build
    zi = old.proc("zoneinfo")
    # mem_init() freed highmem one page at a time through CPU 0's hot list: 36 pages stay there
    assert "Node 0, zone  HighMem\n  pages free     32732\n" in zi
    assert "\n    cpu: 0 pcp: 0\n              count: 36\n              high:  42\n" in zi
    assert "\n    cpu: 1 pcp: 1\n              count: 0\n" in zi
    assert "\n  all_unreclaimable: 0\n  prev_priority:     12\n  start_pfn:         229376\n" in zi
    assert "Movable" not in zi  # 2.6.24 walks populated zones only
