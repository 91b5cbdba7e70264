"""The OOM killer: victim selection by oom_badness, the report line by line, memory coming back.

The golden format test compares the model's report with a real Linux 6.18 memcg OOM report
captured on the reference host (tests/data/host-6.18/oom-memcg.txt, see its header): the lines
common to a memcg and a global OOM must have the host's exact text with only the numbers and
names free; the global-only "Mem-Info:" block is checked against 6.18's format strings
(mm/show_mem.c, mm/swap_state.c, mm/hugetlb.c) turned into regular expressions.
"""
import re

import pytest
from conftest import DATA

import kmemsim
from kmemsim import KernelBug, UsageError, gfp
from kmemsim.gfp import FLAGS_2_6, GFP_DMA32, GFP_HIGHUSER_MOVABLE, GFP_KERNEL, GFP_NOFS

NOWARN = getattr(gfp, "__GFP_NOWARN")
NORETRY = getattr(gfp, "__GFP_NORETRY")
RETRY_MAYFAIL = getattr(gfp, "__GFP_RETRY_MAYFAIL")
TS = re.compile(r"^\[\s*\d+\.\d{6}\] ")


def machine(**kw):
    k = kmemsim.boot(ram="128M", **kw)
    k.vmscan.kswapd_mode = "manual"
    return k


def log_lines(k, since=0):
    return [TS.sub("", line) for line in k.log.dmesg(since=since).splitlines()]


def free_total(k):
    return sum(z.free_pages + z.pcp_count for z in k.page_alloc.zones)


# --------------------------------------------------------------------------- selection
def test_oom_badness_is_the_618_formula():
    k = machine()
    k.swapon("32M")
    p = k.spawn_process("a", "8M", swap="2M", oom_score_adj=300)
    totalpages = sum(z.managed_pages for z in k.page_alloc.zones) + k.vmscan.swap.pages
    pgtables = p.pgtables_bytes(k)
    assert p.rss == 2048 and p.nr_swapents == 512 and p.total_vm == 2560
    assert k.oom_badness(p) == 2048 + 512 + pgtables // 4096 + 300 * (totalpages // 1000)
    q = k.spawn_process("b", "1M", oom_score_adj=-1000)
    assert k.oom_badness(q) == -(1 << 63)  # LONG_MIN: OOM_SCORE_ADJ_MIN is never chosen
    with pytest.raises(UsageError):
        k.spawn_process("c", "1M", oom_score_adj=1001)
    k.check()


def test_oom_sequence_kills_the_biggest_and_the_memory_comes_back():
    k = machine()
    k.page_cache_add("logfile", 2000)
    small = k.spawn_process("small", "4M")
    big = k.spawn_process("big", "30M")
    shy = k.spawn_process("shy", "20M", oom_score_adj=-1000)
    assert all(p.alive for p in (small, big, shy))
    mark = len(k.log)
    hog = k.spawn_process("hog", "40M")  # does not fit: reclaim takes the page cache, then the OOM killer
    assert k.node_stat("nr_file_pages") == 0  # the page cache went first
    lines = log_lines(k, mark)
    assert lines[0].startswith("hog invoked oom-killer: gfp_mask=0x140dca(GFP_HIGHUSER_MOVABLE|__GFP_ZERO|__GFP_COMP), "
                               "order=0, oom_score_adj=0")
    assert any(line.startswith("CPU: 0 UID: 0 PID: ") and " Comm: hog " in line for line in lines)
    assert "Mem-Info:" in lines and "Tasks state (memory values in pages):" in lines
    victim = next(line for line in lines if line.startswith("oom-kill:"))
    assert victim.endswith(f",global_oom,task_memcg=/,task=big,pid={big.pid},uid=0")
    killed = next(line for line in lines if "Killed process" in line)
    assert killed == (f"Out of memory: Killed process {big.pid} (big) total-vm:30720kB, anon-rss:30720kB, "
                      f"file-rss:0kB, shmem-rss:0kB, UID:0 pgtables:{big.pgtables_bytes(k) >> 10}kB oom_score_adj:0")
    assert not big.alive and big not in k.processes and big.rss == 0
    assert small.alive and shy.alive and hog.alive and hog.rss_anon == 10240  # it got its memory
    assert k.page_alloc.vm_events["oom_kill"] == 1
    assert "oom_kill 1\n" in k.proc("vmstat")
    k.check()


def test_kill_gives_the_memory_back():
    k = machine()
    before = free_total(k)
    p = k.spawn_process("app", "6M", file="1M", shmem="512K")
    assert (p.rss_anon, p.rss_file, p.rss_shmem) == (1536, 256, 128)
    assert k.node_stat("nr_mapped") == 384 and k.node_stat("nr_shmem") == 128
    assert k.kill_process(p.pid) == 1536 + 128  # anon and shmem freed; the file pages stay cached
    assert k.node_stat("nr_file_pages") == 256 and k.node_stat("nr_mapped") == 0
    assert free_total(k) == before - 256
    with pytest.raises(UsageError):
        k.kill_process(p)
    k.check()


def test_only_unkillable_tasks_left_panics_as_618_does():
    k = machine()
    k.spawn_process("init-like", "30M", oom_score_adj=-1000)
    with pytest.raises(KernelBug) as e:
        k.spawn_process("greedy", "80M", oom_score_adj=-1000)
    assert e.value.kind == "panic"
    log = k.dmesg()
    assert "Out of memory and no killable processes..." in log
    assert "Kernel panic - not syncing: System is deadlocked on memory" in log
    assert "greedy invoked oom-killer:" in log  # dump_header came first


def test_panic_on_oom():
    k = machine()
    k.vmscan.sysctl_panic_on_oom = 1
    with pytest.raises(KernelBug, match="panic_on_oom is enabled"):
        k.spawn_process("a", "90M")
    assert "Kernel panic - not syncing: Out of memory: system-wide panic_on_oom is enabled" in k.dmesg()


def test_oom_kill_allocating_task():
    k = machine()
    big = k.spawn_process("big", "40M")
    k.vmscan.sysctl_oom_kill_allocating_task = 1
    me = k.spawn_process("me", "60M")
    assert not me.alive and big.alive
    assert "Out of memory (oom_kill_allocating_task): Killed process" in k.dmesg()


def test_a_victim_in_d_state_is_reaped_and_skipped():
    k = machine()
    stuck = k.spawn_process("stuck", "30M", file="1M", d_state=True)
    other = k.spawn_process("other", "20M")
    k.spawn_process("hog", "40M")
    log = k.dmesg()
    kb_file = stuck.rss_file * 4
    assert (f"oom_reaper: reaped process {stuck.pid} (stuck), now anon-rss:0kB, file-rss:{kb_file}kB, "
            "shmem-rss:0kB") in log
    assert stuck.alive and stuck.oom_skip and stuck.rss_anon == 0  # it cannot exit, but its memory came back
    assert other.alive
    k.check()
    k.kill_process(stuck)  # it wakes and exits
    k.check()


@pytest.mark.parametrize("case", ["costly", "noretry", "retry_mayfail", "lowmem", "no_userspace"])
def test_when_the_oom_killer_is_not_invoked(case):
    k = machine()
    if case != "no_userspace":
        p = k.spawn_process("victim", "20M")
    mask, order = GFP_KERNEL, 0
    if case == "costly":
        order = 4
    elif case == "noretry":
        mask |= NORETRY
    elif case == "retry_mayfail":
        mask |= RETRY_MAYFAIL
    elif case == "lowmem":
        mask = GFP_KERNEL | GFP_DMA32  # highest_zoneidx below ZONE_NORMAL
    while k.get_free_pages(mask | NOWARN, order):
        pass
    assert k.get_free_pages(mask, order) == 0
    assert "invoked oom-killer" not in k.dmesg()
    assert f"page allocation failure: order:{order}, mode:{k.gfp.mask(mask):#x}(" in k.dmesg()
    if case != "no_userspace":
        assert p.alive
    k.check()


def test_gfp_nofs_loops_where_the_oom_killer_cannot_help():
    """out_of_memory() returns true without killing for an allocation without __GFP_FS, so a
    real GFP_NOFS allocation spins until another task frees memory; with nothing else to run
    the model raises instead of looping."""
    k = machine()
    p = k.spawn_process("victim", "20M")
    with pytest.raises(KernelBug) as e:
        while k.get_free_pages(GFP_NOFS | NOWARN, 0):
            pass
    assert e.value.kind == "alloc_livelock"
    assert "would loop forever in __alloc_pages_slowpath" in str(e.value)
    assert p.alive and "invoked oom-killer" not in k.dmesg()


def test_nofail_oom_kills_then_succeeds():
    k = machine()
    p = k.spawn_process("victim", "40M")
    nofail = getattr(gfp, "__GFP_NOFAIL")
    while k.get_free_pages(GFP_KERNEL | NORETRY | NOWARN, 0):  # __GFP_NORETRY never OOM-kills
        pass
    assert p.alive
    assert k.get_free_pages(GFP_KERNEL | nofail, 0) != 0  # the OOM killer made room
    assert not p.alive and "Out of memory: Killed process" in k.dmesg()


def test_oom_report_is_rate_limited_but_kills_go_on():
    k = machine()
    procs = [k.spawn_process(f"p{i}", "1M") for i in range(14)]
    mark = len(k.log)
    with pytest.raises(KernelBug, match="System is deadlocked on memory"):
        while k.get_free_pages(GFP_KERNEL | NOWARN, 0):  # kernel memory eats the whole machine
            pass
    assert not any(p.alive for p in procs)
    log = k.log.dmesg(since=mark)
    assert log.count("Killed process") == k.page_alloc.vm_events["oom_kill"] == 14
    assert log.count("invoked oom-killer") == 10 + 1  # oom_rs: 10 reports per 5 s; the panic's own dump_header


# --------------------------------------------------------------------------- the golden format test
def host_report():
    text = (DATA / "host-6.18" / "oom-memcg.txt").read_text()
    return [TS.sub("", line) for line in text.splitlines() if line and not line.startswith("#")]


MEMCG_ONLY = re.compile(r"^(memory: |memory\+swap: |kmem: |Memory cgroup stats for |[a-z_]+ \d+$)")
ROW = "[{:7d}] {:5d} {:5d} {:8d} {:8d} {:8d} {:8d} {:9d} {:8d} {:8d}         {:5d} {}"


def tokens(lines):
    """The report's structure: one token per line (frames collapsed, the memory dump one token)."""
    out, in_trace, in_mem = [], False, False
    for line in lines:
        if line == " <TASK>":
            in_trace = True
            out.append("<TASK>")
            continue
        if line == " </TASK>":
            in_trace = False
            out.append("</TASK>")
            continue
        if in_trace:
            if out[-1] != "frames":
                out.append("frames")
            continue
        if line.startswith("Hardware name: "):
            continue  # the reference host has no DMI: dump_stack prints no such line there
        if line == "Mem-Info:" or MEMCG_ONLY.match(line):
            if not in_mem:
                out.append("memory dump")
                in_mem = True
            continue
        in_mem = in_mem and not line.startswith("Tasks state")
        if in_mem:
            continue
        for name, rx in (
            ("invoked", r"^\S+ invoked oom-killer: gfp_mask=0x[0-9a-f]+\([A-Za-z0-9_|]*\), order=\d+, "
                        r"oom_score_adj=-?\d+$"),
            ("cpu", r"^CPU: \d+ UID: \d+ PID: \d+ Comm: \S+ (Not tainted|Tainted: [A-Z ]+) \S+ #1 PREEMPT\(none\) $"),
            ("call trace", r"^Call Trace:$"),
            ("tasks", r"^Tasks state \(memory values in pages\):$"),
            ("header", r"^\[  pid  \]   uid  tgid total_vm      rss rss_anon rss_file rss_shmem pgtables_bytes "
                       r"swapents oom_score_adj name$"),
            ("row", r"^\[ *\d+\] +\d+ +\d+ +\d+ +\d+ +\d+ +\d+ +\d+ +\d+ +\d+ +-?\d+ \S+$"),
            ("oom-kill", r"^oom-kill:constraint=CONSTRAINT_(NONE|MEMCG),nodemask=\(null\),cpuset=/,mems_allowed=0,"
                         r"(global_oom|oom_memcg=\S+),task_memcg=\S+,task=\S+,pid=\d+,uid=\d+$"),
            ("killed", r"^(Out of memory|Memory cgroup out of memory): Killed process \d+ \(\S+\) total-vm:\d+kB, "
                       r"anon-rss:\d+kB, file-rss:\d+kB, shmem-rss:\d+kB, UID:\d+ pgtables:\d+kB oom_score_adj:-?\d+$"),
        ):
            if re.match(rx, line):
                if name != "row" or out[-1] != "rows":
                    out.append("rows" if name == "row" else name)
                break
        else:
            out.append(f"?? {line}")
    return out


def test_report_matches_the_real_618_report_line_by_line():
    host = host_report()
    k = machine()
    k.spawn_process("holder", "6M", vm="8M", oom_score_adj=500)
    mark = len(k.log)
    k.spawn_process("oomhog", "100M", file="1M")
    model = log_lines(k, mark)
    model = model[: next(i for i, line in enumerate(model) if "Killed process" in line) + 1]
    assert tokens(host) == tokens(model) == [
        "invoked", "cpu", "call trace", "<TASK>", "frames", "</TASK>", "memory dump", "tasks", "header", "rows",
        "oom-kill", "killed"]
    # the task table: the host's rows re-printed with dump_task()'s format are the host's rows
    for line in host + model:
        if re.match(r"^\[ *\d+\] ", line) and "pid" not in line:
            f = line[1:].replace("]", " ").split()
            assert ROW.format(*map(int, f[:11]), f[11]) == line
    # the kill line: the host's numbers re-printed with __oom_kill_process()'s format
    fmt = ("{}: Killed process {} ({}) total-vm:{}kB, anon-rss:{}kB, file-rss:{}kB, shmem-rss:{}kB, "
           "UID:{} pgtables:{}kB oom_score_adj:{}")
    for line in (host[-1], model[-1]):
        m = re.match(r"^(.*): Killed process (\d+) \((\S+)\) total-vm:(\d+)kB, anon-rss:(\d+)kB, file-rss:(\d+)kB, "
                     r"shmem-rss:(\d+)kB, UID:(\d+) pgtables:(\d+)kB oom_score_adj:(-?\d+)$", line)
        assert m and fmt.format(*m.groups()) == line
    assert model[-1].startswith("Out of memory: Killed process")


def c_format_to_regex(fmt):
    """A printk format string as a regex: %lu/%ld/%u/%d numbers, %s a word."""
    out = re.escape(fmt)
    for spec, rx in ((r"%lu", r"\d+"), (r"%ld", r"-?\d+"), (r"%u", r"\d+"), (r"%d", r"-?\d+"), (r"%s", r"\S+")):
        out = out.replace(re.escape(spec), rx)
    return re.compile("^" + out + "$")


# mm/show_mem.c show_free_areas() and __show_mem(), 6.18, CONFIG_TRANSPARENT_HUGEPAGE=y, no SHADOW_CALL_STACK,
# no CMA, no MEMORY_FAILURE; mm/hugetlb.c hugetlb_show_meminfo_node(); mm/swap_state.c show_swap_cache_info()
SHOW_MEM_618 = [
    "Mem-Info:",
    "active_anon:%lu inactive_anon:%lu isolated_anon:%lu",
    " active_file:%lu inactive_file:%lu isolated_file:%lu",
    " unevictable:%lu dirty:%lu writeback:%lu",
    " slab_reclaimable:%lu slab_unreclaimable:%lu",
    " mapped:%lu shmem:%lu pagetables:%lu",
    " sec_pagetables:%lu bounce:%lu",
    " kernel_misc_reclaimable:%lu",
    " free:%lu free_pcp:%lu free_cma:%lu",
    "Node %d active_anon:%lukB inactive_anon:%lukB active_file:%lukB inactive_file:%lukB unevictable:%lukB "
    "isolated(anon):%lukB isolated(file):%lukB mapped:%lukB dirty:%lukB writeback:%lukB shmem:%lukB "
    "shmem_thp:%lukB shmem_pmdmapped:%lukB anon_thp:%lukB kernel_stack:%lukB pagetables:%lukB "
    "sec_pagetables:%lukB all_unreclaimable? %s Balloon:%lukB",
]
ZONE_LINE = ("Node %d %s free:%lukB boost:%lukB min:%lukB low:%lukB high:%lukB reserved_highatomic:%luKB "
             "free_highatomic:%luKB active_anon:%lukB inactive_anon:%lukB active_file:%lukB inactive_file:%lukB "
             "unevictable:%lukB writepending:%lukB present:%lukB managed:%lukB mlocked:%lukB bounce:%lukB "
             "free_pcp:%lukB local_pcp:%ukB free_cma:%lukB")
TAIL_618 = [
    "Node %d hugepages_total=%u hugepages_free=%u hugepages_surp=%u hugepages_size=%lukB",
    "Node %d hugepages_total=%u hugepages_free=%u hugepages_surp=%u hugepages_size=%lukB",
    "%ld total pagecache pages",
    "%lu pages in swap cache",
    "Free swap  = %ldkB",
    "Total swap = %lukB",
    "%lu pages RAM",
    "%lu pages HighMem/MovableOnly",
    "%lu pages reserved",
]


def test_mem_info_block_follows_618_show_mem():
    k = machine()
    k.swapon("16M")
    k.page_cache_add("f", 100, dirty=True)
    k.spawn_process("a", "60M")
    mark = len(k.log)
    k.spawn_process("b", "60M")
    lines = log_lines(k, mark)
    start = lines.index("Mem-Info:")
    end = lines.index("Tasks state (memory values in pages):")
    block = lines[start:end]
    zones = [z for z in k.page_alloc.zones if z.populated]  # gfp_zone(GFP_HIGHUSER_MOVABLE): all of them
    expect = SHOW_MEM_618 + [ZONE_LINE, "lowmem_reserve[]:" + " %ld" * 5] * len(zones)
    expect += ["Node %d %s: " + "%lu*%lukB (?:\\(U?M?E?H?I?\\) )?" * 11 + "= %lukB"] * len(zones) + TAIL_618
    assert len(block) == len(expect)
    for line, fmt in zip(block, expect, strict=True):
        if "(?:" in fmt:
            rx = re.compile("^" + fmt.replace("%d", r"\d+").replace("%s", r"\S+").replace("%lu", r"\d+").replace(
                "*", r"\*") + "$")
            assert rx.match(line), (fmt, line)
        else:
            assert c_format_to_regex(fmt).match(line), (fmt, line)
    assert block[-6] == "0 pages in swap cache" and block[-4] == "Total swap = 16380kB"
    assert "Node 0 hugepages_total=0 hugepages_free=0 hugepages_surp=0 hugepages_size=2048kB" in block


def test_mem_info_of_a_gfp_kernel_oom_shows_zones_up_to_normal():
    k = kmemsim.boot(ram="5G")
    k.vmscan.kswapd_mode = "manual"
    lines = k.page_alloc.show_mem_lines(k.gfp.zone(GFP_DMA32))
    assert any(line.startswith("Node 0 DMA32 free:") for line in lines)
    assert not any(line.startswith("Node 0 Normal free:") for line in lines)
    lines = k.page_alloc.show_mem_lines(k.gfp.zone(GFP_HIGHUSER_MOVABLE))
    assert any(line.startswith("Node 0 Normal free:") for line in lines)


# --------------------------------------------------------------------------- 2.6.24
def test_2_6_24_oom_messages_and_badness():
    k = kmemsim.boot("linux-2.6-i386", ram="64M")
    k.vmscan.kswapd_mode = "manual"
    root = k.spawn_process("rootd", "12M")
    user = k.spawn_process("userd", "8M", uid=1000)  # badness: total_vm, root's divided by 4
    assert k.oom_badness(root) == 3072 // 4 and k.oom_badness(user) == 2048  # 2.6.24: badness()
    with pytest.raises(UsageError):
        k.spawn_process("x", "1M", oom_score_adj=100)  # 2.6.24's oomkilladj is -16..15 or -17
    mark = len(k.log)
    k.spawn_process("hog", "44M", uid=1000)  # 64M less the 2.6.24-slub image
    log = "\n".join(log_lines(k, mark))
    assert "hog invoked oom-killer: gfp_mask=0x1200d2, order=0, oomkilladj=0" in log or \
           re.search(r"hog invoked oom-killer: gfp_mask=0x[0-9a-f]+, order=0, oomkilladj=0", log)
    assert re.search(r"Out of memory: kill process \d+ \(\w+\) score \d+ or a child\nKilled process \d+ \(\w+\)", log)
    hog = k.processes[-1] if k.processes and k.processes[-1].comm == "hog" else None
    assert hog is None  # the hog had the most total_vm (and is not root): it was the one killed
    assert root.alive and user.alive
    k.check()


def test_2_6_24_gfp_kernel_machine_without_processes_still_fails_with_the_old_message():
    k = kmemsim.boot("linux-2.6-i386", ram="64M")
    mask = FLAGS_2_6["GFP_KERNEL"]
    while k.get_free_pages(mask | FLAGS_2_6["__GFP_NOWARN"], 0):
        pass
    assert k.get_free_pages(mask, 0) == 0
    assert f"insmod: page allocation failure. order:0, mode:{k.gfp.mask(mask):#x}" in k.dmesg()


def test_sysrq_f_kills_without_panicking():
    k = machine()
    assert k.out_of_memory() is False  # no user space: nothing eligible, no panic
    assert "Out of memory and no killable processes..." in k.dmesg()
    assert "OOM request ignored. No task eligible" in k.dmesg()
    p = k.spawn_process("a", "4M")
    assert k.out_of_memory() is True and not p.alive
    assert "insmod invoked oom-killer: gfp_mask=0xcc0(GFP_KERNEL), order=-1, oom_score_adj=0" in k.dmesg()
    k.check()
