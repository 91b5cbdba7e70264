"""/proc/meminfo's DirectMap lines and /proc/vmstat's dirty thresholds, computed as the kernel
does (arch/x86/mm/init.c and init_64.c / init_32.c; mm/page-writeback.c), checked against the
captured host snapshot (tests/data/host-6.18), the QEMU 6.6 boots of tests/data/classic and,
marked ``host``, this host's own /proc."""
import re
import subprocess
import tarfile
from pathlib import Path

import pytest

import kmemsim
from kmemsim.arch.direct_map import init_mem_mapping
from kmemsim.views.procfs import direct_map, dirty_limits, global_dirty_limits

DATA = Path(__file__).parent / "data"
HOST = DATA / "host-6.18"
SNAPSHOT = HOST / "snapshot.tar.gz"
QEMU = DATA / "classic" / "linux-6.6-x86_64"


def e820_memory(dmesg: str) -> list[tuple[int, int]]:
    """memblock.memory from a boot log's BIOS-e820 lines: the usable ranges, the first page
    taken away (e820: update [mem 0x00000000-0x00000fff] usable ==> reserved)."""
    out = []
    for m in re.finditer(r"BIOS-e820: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\] usable", dmesg):
        s, e = int(m.group(1), 16), int(m.group(2), 16) + 1
        out.append((max(s, 0x1000), e))
    return out


def ramdisk(dmesg: str) -> list[tuple[int, int]]:
    m = re.search(r"RAMDISK: \[mem 0x([0-9a-f]+)-0x([0-9a-f]+)\]", dmesg)
    return [(int(m.group(1), 16), int(m.group(2), 16) + 1)] if m else []


def meminfo_direct(text: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^DirectMap(\w+):\s+(\d+) kB$", text, re.M)}


def snapshot_file(name: str) -> str:
    with tarfile.open(SNAPSHOT) as t:
        f = t.extractfile(f"snapshot/{name}")
        assert f is not None
        return f.read().decode()


def splits(boot: dict[str, int], later: dict[str, int]) -> tuple[int, int]:
    """(2M -> 4k splits, 1G -> 2M splits) that turn the boot-time counts into ``later``'s:
    set_memory_*() after boot splits big pages and keeps the total."""
    assert sum(boot.values()) == sum(later.values())
    a, r = divmod(later["4k"] - boot["4k"], 2048)
    assert r == 0 and a >= 0
    b = 0
    if "1G" in boot:
        b, r = divmod(boot["1G"] - later["1G"], 1 << 20)
        assert r == 0 and b >= 0
    assert later["2M"] == boot["2M"] - 2048 * a + (1 << 20) * b
    return a, b


# --------------------------------------------------------------------------- DirectMap
def test_direct_map_of_the_reference_hosts_e820_at_boot():
    """Worked by hand from init_mem_mapping() for the host's map: [0, 1M) and [1M, 2M) in 4k
    pages, [2M, 1G) in 2M pages, [1G, 3G) and [4G, 24G) in 1G pages; the 1G page [24G, 25G) is
    counted three times (by the top-down steps [25G-2M, 25G) and [24.5G, 25G-2M), and by the
    tail of [4G, 24.5G)): 26 GiB of pages for 24 GiB of RAM."""
    dmesg = (HOST / "dmesg-memory.txt").read_text()
    got = init_mem_mapping(e820_memory(dmesg), [(0, 1 << 20), (0x1000000, 0x3C58000)] + ramdisk(dmesg),
                           0x640000)
    assert got == {"4k": 2048, "2M": 1046528, "1G": 26214400}


def test_snapshot_direct_map_is_the_boot_map_after_whole_page_splits():
    snap = meminfo_direct(snapshot_file("proc/meminfo"))
    assert snap == {"4k": 28672, "2M": 2068480, "1G": 25165824}
    k = kmemsim.boot(host=str(SNAPSHOT))
    model = meminfo_direct(k.proc("meminfo"))
    assert model == {"4k": 2048, "2M": 1046528, "1G": 26214400}
    # the host then split one 1G page and 13 2M pages (the kernel image's aliases ...)
    assert splits(model, snap) == (13, 1)


@pytest.mark.parametrize("run", ["slub-1g-smp2", "slub-160m-smp2", "slab-1g-smp1"])
def test_qemu_6_6_direct_map_is_the_boot_map_after_five_splits(run):
    """QEMU's qemu64 CPU has no GB pages; its initrd sits at the top of RAM."""
    d = QEMU / run
    dmesg = (d / "dmesg.txt").read_text()
    assert "Using GB pages" not in dmesg
    mem = e820_memory(dmesg)
    max_pfn = max(e for _, e in mem) >> 12
    got = init_mem_mapping(mem, [(0, 1 << 20), (0x1000000, 0x2000000)] + ramdisk(dmesg), max_pfn, gbpages=False)
    assert "1G" not in got
    assert splits(got, meminfo_direct((d / "meminfo.txt").read_text())) == (5, 0)


def test_model_meminfo_direct_map_lines():
    k = kmemsim.boot(ram="4G")
    lines = [x for x in k.proc("meminfo").splitlines() if x.startswith("DirectMap")]
    # e820 of the model's 4G: [1M, 3G) and [4G, 5G): 1G pages for [1G, 3G) and for [4G, 5G),
    # which counts three times (the top-down steps [5G-2M, 5G) and [4.5G, 5G-2M), the tail
    # [4G, 4.5G) of the last step: each is upgraded to the 1G page, which then exists)
    assert lines == ["DirectMap4k:        2048 kB", "DirectMap2M:     1046528 kB",
                     "DirectMap1G:     5242880 kB"]
    assert direct_map(k) == {"4k": 2048, "2M": 1046528, "1G": 5242880}


def test_i386_direct_map_uses_4m_pages_above_the_first_4m():
    k = kmemsim.boot("linux-2.6-i386", ram="1G")
    # split_mem_range() of 32-bit: the first 4M (pfn 0) in 4k pages, lowmem up to 896M in 4M pages
    assert direct_map(k) == {"4k": 4096, "4M": 892 << 10}


@pytest.mark.host
def test_this_hosts_direct_map_is_its_boot_map_after_whole_page_splits():
    try:
        dmesg = subprocess.run(["dmesg"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("dmesg is not readable")
    mem = e820_memory(dmesg)
    if not mem or "Using GB pages for direct mapping" not in dmesg:
        pytest.skip("the boot log has no e820 map or no GB pages")
    got = init_mem_mapping(mem, [(0, 1 << 20), (0x1000000, 0x3C58000)] + ramdisk(dmesg), max(e for _, e in mem) >> 12)
    live = meminfo_direct(Path("/proc/meminfo").read_text())
    a, b = splits(got, live)
    assert a < 64 and b < 4


# --------------------------------------------------------------------------- dirty thresholds
def test_dirty_limits_of_the_snapshot_are_the_kernels():
    """The snapshot's own numbers: MemFree (NR_FREE_PAGES), totalreserve_pages from zoneinfo's
    high watermarks and protection, the file LRU of vmstat -> its nr_dirty_threshold and
    nr_dirty_background_threshold exactly."""
    meminfo = snapshot_file("proc/meminfo")
    vmstat = dict(line.split() for line in snapshot_file("proc/vmstat").splitlines())
    free = int(re.search(r"^MemFree:\s+(\d+) kB", meminfo, re.M).group(1)) // 4
    reserve = 0
    for block in snapshot_file("proc/zoneinfo").split("Node 0, zone")[1:]:
        managed = int(re.search(r"\n\s+managed\s+(\d+)", block).group(1))
        high = int(re.search(r"\n\s+high\s+(\d+)", block).group(1))
        prot = [int(x) for x in re.search(r"protection: \(([\d, ]+)\)", block).group(1).split(",")]
        reserve += min(max(prot) + high, managed)  # calculate_totalreserve_pages()
    assert reserve == 30894
    file_pages = int(vmstat["nr_inactive_file"]) + int(vmstat["nr_active_file"])
    assert dirty_limits(free, reserve, file_pages, 0, 4096) == (
        int(vmstat["nr_dirty_background_threshold"]), int(vmstat["nr_dirty_threshold"]))
    assert (int(vmstat["nr_dirty_background_threshold"]), int(vmstat["nr_dirty_threshold"])) == (588455, 1178350)


def vmstat_of(k):
    return dict(line.split() for line in k.proc("vmstat").splitlines())


def test_model_vmstat_dirty_thresholds_follow_free_and_file_pages():
    k = kmemsim.boot(ram="2G")
    v = vmstat_of(k)
    pa = k.page_alloc
    avail = k.nr_free_pages() - min(k.nr_free_pages(), pa.totalreserve_pages) + 1
    assert int(v["nr_dirty_threshold"]) == 819 * avail // 4096 > 0
    assert int(v["nr_dirty_background_threshold"]) == 409 * avail // 4096
    k.page_cache_add("data", 4096)  # 16 MiB of file pages: free pages go, file LRU pages come
    file_pages = k.node_stat("nr_inactive_file") + k.node_stat("nr_active_file")
    assert file_pages == 4096
    avail = k.nr_free_pages() - min(k.nr_free_pages(), pa.totalreserve_pages) + file_pages + 1
    after = vmstat_of(k)
    assert int(after["nr_dirty_threshold"]) == 819 * avail // 4096  # the page cache is dirtyable
    assert global_dirty_limits(k) == (int(after["nr_dirty_background_threshold"]), int(after["nr_dirty_threshold"]))


def test_dirty_tunables():
    k = kmemsim.boot(dirty_ratio=40, dirty_background_ratio=5)
    bg, th = global_dirty_limits(k)
    avail = k.nr_free_pages() - min(k.nr_free_pages(), k.page_alloc.totalreserve_pages) + 1
    assert (bg, th) == (204 * avail // 4096, 1638 * avail // 4096)
    k = kmemsim.boot(dirty_bytes=100 << 20, dirty_background_bytes=(1 << 20) + 1)
    assert global_dirty_limits(k) == (257, 25600)  # DIV_ROUND_UP(bytes, PAGE_SIZE)
    k = kmemsim.boot(dirty_ratio=10, dirty_background_ratio=10)
    bg, th = global_dirty_limits(k)
    assert bg == th // 2  # bg_thresh >= thresh: half of thresh
    with pytest.raises(kmemsim.ConfigError, match="dirty_ratio"):
        kmemsim.boot(dirty_ratio=101)


@pytest.mark.host
def test_this_hosts_dirty_thresholds():
    """The live host's values move between reads: within a tenth of a percent."""
    vm = dict(line.split() for line in Path("/proc/vmstat").read_text().splitlines())
    meminfo = Path("/proc/meminfo").read_text()
    free = int(re.search(r"^MemFree:\s+(\d+) kB", meminfo, re.M).group(1)) // 4
    reserve = 0
    for block in Path("/proc/zoneinfo").read_text().split("Node 0, zone")[1:]:
        managed = int(re.search(r"\n\s+managed\s+(\d+)", block).group(1))
        high = int(re.search(r"\n\s+high\s+(\d+)", block).group(1))
        prot = [int(x) for x in re.search(r"protection: \(([\d, ]+)\)", block).group(1).split(",")]
        reserve += min(max(prot) + high, managed)
    ratio = int(Path("/proc/sys/vm/dirty_ratio").read_text())
    bg_ratio = int(Path("/proc/sys/vm/dirty_background_ratio").read_text())
    bg, th = dirty_limits(free, reserve, int(vm["nr_inactive_file"]) + int(vm["nr_active_file"]), 0, 4096,
                          ratio, bg_ratio)
    assert abs(th - int(vm["nr_dirty_threshold"])) <= int(vm["nr_dirty_threshold"]) // 1000
    assert abs(bg - int(vm["nr_dirty_background_threshold"])) <= int(vm["nr_dirty_background_threshold"]) // 1000
