"""The classic profiles against the real kernels booted under QEMU (tests/data/classic).

Each test names the capture its golden values come from: a run directory
``tests/data/classic/<kernel>/<alloc>-<ram>-smp<n>[-oom|-pafail]`` (its README says how it
was made).  The model boots the same memory map (``e820="qemu"``: QEMU's pc machine with
SeaBIOS), RAM and CPU count.

What must be equal (the README's "identical across boots"): the zone boot lines, every
zone's spanned/present pages, watermarks, lowmem_reserve (protection) and per-CPU marks,
min_free_kbytes, and the layouts of /proc/meminfo, /proc/vmstat, /proc/zoneinfo and
/proc/buddyinfo (field names, order and spacing).  What is compared with a named tolerance:
free page counts, which depend on what the real kernel and its init allocated before the
file was read, and which the model does not run.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

import kmemsim
from kmemsim.mm.oom_kill import show_mem_lines

DATA = Path(__file__).parent / "data" / "classic"


def _runs(kernel: str, *, plain: bool = True) -> list[Path]:
    out = []
    for d in sorted((DATA / kernel).iterdir()):
        if not d.is_dir():
            continue
        if plain and (d.name.endswith("-oom") or d.name.endswith("-pafail")):
            continue
        out.append(d)
    return out


def _boot(kernel: str, run: Path) -> kmemsim.Kernel:
    """The model booted as the run was: its RAM, its CPU count, QEMU's memory map."""
    m = re.match(r"(slab|slub|slob)-(1g|160m)-smp(\d)", run.name)
    assert m, run
    ram = {"1g": "1G", "160m": "160M"}[m.group(2)]
    return kmemsim.boot(kernel, ram=ram, cpus=int(m.group(3)), e820="qemu")


_BOOT_LINE = re.compile(
    r"(On node 0 totalpages|  \w+ zone: |Built 1 zonelists|Entering add_active_range|Zone PFN ranges"
    r"|  (DMA|Normal|HighMem) +\d+ ->|Movable zone start PFN|early_node_map|    0: +0 ->)")


def _real_boot_lines(run: Path) -> list[str]:
    text = (run / "dmesg.txt").read_text()
    lines = [re.sub(r"^<\d>", "", line) for line in text.splitlines()]
    return [line for line in lines if _BOOT_LINE.match(line)]


def _model_boot_lines(k: kmemsim.Kernel) -> list[str]:
    lines = [re.sub(r"^\[ *\d+\.\d+\] ", "", line) for line in k.dmesg().splitlines()]
    return [line for line in lines if _BOOT_LINE.match(line)]


CLASSIC_RUNS = [("linux-2.6.11-i386", r) for r in _runs("linux-2.6.11-i386")] + [
    ("linux-2.6.24-i386", r) for r in _runs("linux-2.6.24-i386")]


@pytest.mark.parametrize(("kernel", "run"), CLASSIC_RUNS, ids=lambda v: v.name if isinstance(v, Path) else v)
def test_zone_boot_lines_are_the_real_kernels(kernel, run):
    """free_area_init_core()'s zone lines (2.6.11 mm/page_alloc.c:1640-1641; 2.6.24 the PFN
    ranges, the memmap and LIFO lines of mm/page_alloc.c:3350-3366) and build_all_zonelists()'s
    line, as each capture's dmesg.txt has them: the zones' sizes, present pages less the
    memmap (2.6.24), the pcp batch, and 2.6.24's nr_free_pagecache_pages()."""
    k = _boot(kernel, run)
    assert _model_boot_lines(k) == _real_boot_lines(run)
    k.check()


def _zoneinfo_static(text: str) -> list[tuple[str, ...]]:
    """Per zone: its name, spanned, present, min, low, high, protection and the pagesets'
    high and batch (2.6.24 zoneinfo_show()), leaving out the counts that move."""
    out = []
    for block in text.split("Node 0, zone")[1:]:
        name = block.split()[0]
        fields = tuple(re.findall(r"^ +(?:min|low|high|spanned|present) +(\d+)$", block, re.M))
        prot = re.search(r"protection: \(([^)]*)\)", block)
        pcp = tuple(re.findall(r"^ +(?:high|batch): +(\d+)$", block, re.M))
        out.append((name, *fields, prot.group(1) if prot else "", *pcp))
    return out


ZONEINFO_RUNS = [("linux-2.6.24-i386", r) for r in _runs("linux-2.6.24-i386") if (r / "zoneinfo.txt").exists()]


@pytest.mark.parametrize(("kernel", "run"), ZONEINFO_RUNS, ids=lambda v: v.name if isinstance(v, Path) else v)
def test_zoneinfo_static_fields_are_the_real_kernels(kernel, run):
    """/proc/zoneinfo of 2.6.24 (mm/vmstat.c zoneinfo_show()) read right after boot: spanned,
    present (less the memmap), min/low/high (setup_per_zone_pages_min() with min_free_kbytes
    from nr_free_buffer_pages()), protection (lowmem_reserve_ratio 256 32) and every
    pageset's high and batch (setup_pageset(): hot 6*batch, cold 2*batch, batch/2)."""
    k = _boot(kernel, run)
    assert _zoneinfo_static(k.proc("zoneinfo")) == _zoneinfo_static((run / "zoneinfo.txt").read_text())


def _layout(text: str) -> list[str]:
    return [re.sub(r" *\d+", " N", line) for line in text.splitlines()]


LAYOUT_CASES = [(kernel, run, name) for kernel, run in CLASSIC_RUNS
                for name in ("meminfo", "vmstat", "zoneinfo", "buddyinfo") if (run / f"{name}.txt").exists()]


@pytest.mark.parametrize(("kernel", "run", "name"), LAYOUT_CASES,
                         ids=lambda v: v.name if isinstance(v, Path) else v)
def test_proc_layouts_are_the_real_kernels(kernel, run, name):
    """Every field of /proc/<name>, in the real kernel's order and words (numbers aside):
    2.6.11 fs/proc/proc_misc.c meminfo_read_proc() and mm/page_alloc.c vmstat_show() (the
    page_state counters, the per-zone events highest zone first); 2.6.24 the same files of its
    own (zone counters first, SReclaimable, NFS_Unstable, Bounce; per-zone events lowest zone
    first); 2.6.24's zoneinfo with both pcp lists per CPU; buddyinfo's populated zones."""
    k = _boot(kernel, run)
    assert _layout(k.proc(name)) == _layout((run / f"{name}.txt").read_text())


@pytest.mark.parametrize(("kernel", "run"), CLASSIC_RUNS, ids=lambda v: v.name if isinstance(v, Path) else v)
def test_meminfo_totals_are_near_the_real_kernels(kernel, run):
    """/proc/meminfo right after boot: HighTotal and VmallocTotal equal the real kernel's;
    MemTotal and MemFree within 0.2% and 2%: the real kernel also reserved its hash tables, its
    per-CPU areas (for NR_CPUS=8) and a few page tables from bootmem, freed its init sections,
    and had made its boot-time slab caches and run init before the file was read (2.6.11's
    slabs took 2.4 MB: Slab: in the captures), which the model's boot does not do."""
    k = _boot(kernel, run)

    def fields(text: str) -> dict[str, int]:
        return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+):\s+(\d+) kB$", text, re.M)}

    mine, real = fields(k.proc("meminfo")), fields((run / "meminfo.txt").read_text())
    assert mine["HighTotal"] == real["HighTotal"] and mine["VmallocTotal"] == real["VmallocTotal"]
    assert abs(mine["MemTotal"] - real["MemTotal"]) <= real["MemTotal"] * 0.002
    assert abs(mine["MemFree"] - real["MemFree"]) <= real["MemFree"] * 0.02


_MEMORY = re.compile(r"Memory: (\d+)k/(\d+)k available \((\d+)k kernel code, (\d+)k reserved, (\d+)k data, "
                     r"(\d+)k init, (\d+)k highmem\)")


MEMORY_RUNS = [(kn, r) for kn, r in CLASSIC_RUNS if not r.name.startswith("slob-")]


@pytest.mark.parametrize(("kernel", "run"), MEMORY_RUNS, ids=lambda v: v.name if isinstance(v, Path) else v)
def test_the_memory_line_is_the_real_kernels(kernel, run):
    """mem_init()'s line (2.6.11 arch/i386/mm/init.c mem_init(); 2.6.24 arch/x86/mm/init_32.c):
    num_physpages, the image's code, data and init sizes (the captured builds' System.map:
    2.6.11-slab, 2.6.24-slub; 2.6.24-slab's differ by a few KB) and highmem are the real
    kernel's; the free pages within 1200 KB and the reserved ones within 8%: the model reserves
    the kernel image and mem_map but not the bootmem hash tables, per-CPU areas and page
    tables the real kernel also took, and counts the ISA hole's pages as reserved."""
    k = _boot(kernel, run)
    mine = _MEMORY.search(k.dmesg())
    real = _MEMORY.search((run / "dmesg.txt").read_text())
    assert mine and real
    m, r = (list(map(int, x.groups())) for x in (mine, real))
    assert m[1] == r[1] and m[6] == r[6]
    if kernel == "linux-2.6.11-i386" or "slub-" in run.name:
        assert (m[2], m[4], m[5]) == (r[2], r[4], r[5])
    assert abs(m[0] - r[0]) <= 1200 and abs(m[3] - r[3]) <= r[3] * 0.08


def test_min_free_kbytes_and_lowmem_reserve_ratio_are_the_real_kernels():
    """/proc/sys/vm/min_free_kbytes and lowmem_reserve_ratio of the slab-1g-smp2 runs:
    2.6.11 3831 and '256 32' (tests/data/classic/linux-2.6.11-i386/slab-1g-smp2), 2.6.24 its
    own (tests/data/classic/linux-2.6.24-i386/slab-1g-smp2)."""
    for kernel in ("linux-2.6.11-i386", "linux-2.6.24-i386"):
        run = DATA / kernel / "slab-1g-smp2"
        k = _boot(kernel, run)
        assert k.page_alloc.min_free_kbytes == int((run / "sys.vm.min_free_kbytes.txt").read_text())
        ratio = [int(x) for x in (run / "sys.vm.lowmem_reserve_ratio.txt").read_text().split()]
        assert k.tunables["lowmem_reserve_ratio"][: len(ratio)] == ratio


OOM_RUNS = [(kernel, r) for kernel in ("linux-2.6.11-i386", "linux-2.6.24-i386")
            for r in sorted((DATA / kernel).glob("*-oom"))]
_STATIC_MEMINFO = re.compile(
    r"^(\w+ per-cpu:$|cpu \d (hot|cold): |CPU +\d: Hot: |lowmem_reserve\[\]: |\d+ pages of (RAM|HIGHMEM)$)")


def _oom_static(lines: list[str]) -> list[str]:
    """The Mem-info lines that do not move: the per-CPU marks (2.6.11 low/high/batch; 2.6.24
    hi/btch without the used count), each zone's min/low/high/present, lowmem_reserve and the
    page counts of RAM."""
    out = []
    for line in lines:
        if _STATIC_MEMINFO.match(line):
            out.append(re.sub(r"usd: +\d+", "usd: N", line))
        m = re.match(r"(\w+) free:\d+kB (min:\d+kB low:\d+kB high:\d+kB) .*(present:\d+kB)", line)
        if m:
            out.append(" ".join(m.groups()))
    return out


@pytest.mark.parametrize(("kernel", "run"), OOM_RUNS, ids=lambda v: v.name if isinstance(v, Path) else v)
def test_mem_info_static_lines_are_the_real_oom_reports(kernel, run):
    """The Mem-info block of each -oom run's report (dmesg.final.txt: 2.6.11 show_free_areas()
    after 'oom-killer: gfp_mask=0x80d2'; 2.6.24 show_mem() after 'Mem-info:') against the
    model's show_mem for the same machine: every per-CPU mark, watermark, present size and
    lowmem_reserve line."""
    k = _boot(kernel, run.parent / run.name.removesuffix("-oom"))
    text = (run / "dmesg.final.txt").read_text()
    report = text[text.index("oom-killer"):]
    real = [re.sub(r"^<\d>", "", line) for line in report.splitlines()]
    mine = show_mem_lines(k)
    assert _oom_static(mine) == _oom_static(real)
    assert len(_oom_static(real)) >= 10


# ---------------------------------------------------------------------------- misuse: what each kernel printed
PAFAIL_RUNS = sorted((DATA / "linux-2.6.24-i386").glob("*-pafail"))


@pytest.mark.parametrize("run", PAFAIL_RUNS, ids=lambda r: r.name)
def test_page_allocation_failure_is_the_real_2_6_24_report(run):
    """The -pafail runs' report (dmesg.final.txt): select() kmallocs an order-8 block
    (mode 0x40d0, GFP_KERNEL|__GFP_COMP; 0xd0 under SLOB) below every zone's watermark.  2.6.24's __alloc_pages()
    nopage: prints '%s: page allocation failure. order:%d, mode:0x%x', dump_stack() with its
    'Pid: ..., comm: ...' header and ' =======================' end, then show_mem().  The model,
    made to fail the same request, prints the same lines (the trace and the numbers that depend
    on the workload aside)."""
    k = _boot("linux-2.6.24-i386", run.parent / run.name.removesuffix("-pafail"))
    held = []
    while a := k.get_free_pages(k.gfp.GFP_ATOMIC | k.gfp.__GFP_NOWARN, 8):
        held.append(a)
    mark = len(k.log)
    assert k.get_free_pages(0x40D0, 8) == 0
    mine = [re.sub(r"^\[ *\d+\.\d+\] ", "", line) for line in k.log.dmesg(since=mark).splitlines()]
    text = (run / "dmesg.final.txt").read_text()
    real = [re.sub(r"^<\d>", "", line) for line in text[text.index("page allocation failure") - 6:].splitlines()]
    real = real[: next(i for i, line in enumerate(real) if line.endswith("pages pagetables")) + 1]
    assert mine[0] == "insmod: page allocation failure. order:8, mode:0x40d0"
    # SLOB's big kmalloc asks without __GFP_COMP (slob_new_page(), 2.6.24 mm/slob.c): mode 0xd0
    assert re.fullmatch(r"init: page allocation failure\. order:8, mode:0x(40)?d0", real[0])
    assert re.fullmatch(r"Pid: 1000, comm: insmod Not tainted 2\.6\.24-kmemsim #1", mine[1])
    assert re.fullmatch(r"Pid: 1, comm: init Not tainted 2\.6\.24 #\d+", real[1])

    def after_trace(lines: list[str]) -> list[str]:
        i = lines.index(" =======================")
        return _layout("\n".join(lines[i:]))

    assert after_trace(mine) == after_trace(real)  # Mem-info: every line, in order, numbers aside
    assert _oom_static(mine) == _oom_static(real)  # and the static ones with their numbers
    for a in held:
        k.free_pages(a, 8)
    k.check()


OOM_2_6_11 = sorted((DATA / "linux-2.6.11-i386").glob("*-oom"))


@pytest.mark.parametrize("run", OOM_2_6_11, ids=lambda r: r.name)
def test_the_2_6_11_oom_report_is_the_real_kernels(run):
    """The -oom runs of 2.6.11 (dmesg.final.txt): a process touching memory until the OOM
    killer takes it.  2.6.11's out_of_memory() prints 'oom-killer: gfp_mask=0x80d2' (the
    anonymous fault's GFP_HIGHUSER|__GFP_ZERO), show_free_areas() and 'Out of Memory: Killed
    process N (comm).' (mm/oom_kill.c:192, 275-276): the model's report has every line of the
    real one, in order (numbers aside: what the processes held; and all_unreclaimable, the
    verdict of the real kernel's page scanning, which the model's reclaim does not keep)."""
    k = _boot("linux-2.6.11-i386", run.parent / run.name.removesuffix("-oom"))
    k.vmscan.kswapd_mode = "manual"
    mark = len(k.log)
    p = k.spawn_process("init", "1M")
    while p in k.processes:
        k.process_fault(p, "8M")
    mine = [re.sub(r"^\[ *\d+\.\d+\] ", "", line) for line in k.log.dmesg(since=mark).splitlines()]
    text = (run / "dmesg.final.txt").read_text()
    real = [re.sub(r"^<\d>", "", line) for line in text[text.index("oom-killer") - 3:].splitlines()]
    real = real[: next(i for i, line in enumerate(real) if line.startswith("Out of Memory")) + 1]
    assert mine[0] == real[0] == "oom-killer: gfp_mask=0x80d2"

    def shape(lines: list[str]) -> list[str]:  # all_unreclaimable is the real reclaim's verdict
        return _layout(re.sub(r"all_unreclaimable\? (yes|no)", "all_unreclaimable? X", "\n".join(lines)))

    assert shape(mine) == shape(real)
    assert _oom_static(mine) == _oom_static(real)
    k.check()


OOM_2_6_24 = sorted((DATA / "linux-2.6.24-i386").glob("*-oom"))


@pytest.mark.parametrize("run", OOM_2_6_24, ids=lambda r: r.name)
def test_the_2_6_24_oom_report_is_the_real_kernels(run):
    """The -oom runs of 2.6.24 (dmesg.final.txt): '<comm> invoked oom-killer: gfp_mask=0x1280d2,
    order=0, oomkilladj=0' (the anonymous fault's GFP_HIGHUSER_MOVABLE|__GFP_ZERO), dump_stack()
    with its 'Pid:' header, show_mem() and 'Out of memory: kill process N (comm) score S or a
    child' / 'Killed process N (comm)' (mm/oom_kill.c of 2.6.24): the same lines after the stack
    trace, in order (numbers aside; all_unreclaimable is the real reclaim's verdict)."""
    k = _boot("linux-2.6.24-i386", run.parent / run.name.removesuffix("-oom"))
    k.vmscan.kswapd_mode = "manual"
    mark = len(k.log)
    p = k.spawn_process("init", "1M")
    while p in k.processes:
        k.process_fault(p, "8M")
    mine = [re.sub(r"^\[ *\d+\.\d+\] ", "", line) for line in k.log.dmesg(since=mark).splitlines()]
    text = (run / "dmesg.final.txt").read_text()
    real = [re.sub(r"^<\d>", "", line) for line in text[text.index("init invoked oom-killer"):].splitlines()]
    real = real[: next(i for i, line in enumerate(real) if line.startswith("Killed process")) + 1]
    assert mine[0] == real[0] == "init invoked oom-killer: gfp_mask=0x1280d2, order=0, oomkilladj=0"

    def after_trace(lines: list[str]) -> list[str]:
        i = lines.index(" =======================")
        text = re.sub(r"all_unreclaimable\? (yes|no)", "all_unreclaimable? X", "\n".join(lines[i:]))
        return _layout(re.sub(r"\((\w+)\)", "(comm)", text))

    assert after_trace(mine) == after_trace(real)
    assert _oom_static(mine) == _oom_static(real)
    k.check()
