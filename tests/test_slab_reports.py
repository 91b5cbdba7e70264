"""What real data showed about slab_debug reports (issue 12, item 7), checked against the
source the model follows (6.18's mm/slub.c and mm/slab_common.c; the reference host cannot
turn slab_debug on without a boot parameter):

* the kmalloc request size kept after the two tracks is an ``unsigned long`` (b85f369b81ae, in
  the stable kernels: the host's 6.18.44, the 6.12.y that the report came from), so the
  Padding section of an FZPU kmalloc-1k report starts 8 bytes after the tracks, not 4;
* a slab on a node's partial list carries SL_partial = PG_workingset, which ``%pGp`` prints;
* alloc_traces/free_traces merge tracks as add_location() does (a never-set track adds no
  age, pid or CPU to its location) and order the locations with lib/sort.c's heapsort;
* WARNING lines name 6.18's mm/slub.c (or mm/slab_common.c) line of the WARN;
* kmem_cache_free() of something that is not a slab object is 6.18's virt_to_cache() WARN_ONCE.
"""
import random
import re

import pytest

import kmemsim
from kmemsim import SLAB_CONSISTENCY_CHECKS, SLAB_NO_MERGE, SLAB_POISON, SLAB_RED_ZONE, SLAB_STORE_USER
from kmemsim.gfp import GFP_KERNEL
from kmemsim.mm.slub_debug import kernel_sort

FZPU = SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_POISON | SLAB_STORE_USER


def boot(**kw):
    kw.setdefault("on_bug", "report")
    kw.setdefault("slab_freelist_random", False)
    return kmemsim.boot(**kw)


def lines_after(k, before):
    return [re.sub(r"^\[\s*[\d.]+\] ", "", line) for line in k.dmesg().splitlines()[before:]]


def mark(k):
    return len(k.dmesg().splitlines())


# --------------------------------------------------------------------------- orig_size: unsigned long
def test_fzpu_kmalloc_1k_padding_starts_after_an_unsigned_long_orig_size():
    k = boot(slab_debug="FZPU,kmalloc-1k")
    s = k.find_cache("kmalloc-1k")
    # calculate_sizes(): object 1024, red zone word -> inuse 1032; free pointer after it -> 1040
    # (get_info_end); two 32-byte tracks -> 1104; orig_size, sizeof(unsigned long) -> 1112;
    # left red zone ALIGN(8, 1024) = 1024 -> 3072 (the same as with a 4-byte orig_size)
    assert (s.inuse, s.offset, s.red_left_pad, s.size) == (1032, 1032, 1024, 3072)
    p = k.kmalloc(1000, GFP_KERNEL)
    assert k.read_u64(p + 1104) == 1000  # 8 bytes: the upper half is not left as padding
    k.write_u8(p + 1024, 0x11)  # the right red zone
    m = mark(k)
    k.kfree(p)
    out = lines_after(k, m)
    pad = [x for x in out if x.startswith("Padding  ")]
    assert pad[0].startswith(f"Padding  {p + 1112:016x}: 5a 5a 5a 5a 5a 5a 5a 5a")
    # 2048 - 1112 = 936 bytes of padding: 58 full lines and one of 8
    assert len(pad) == 59 and pad[-1].startswith(f"Padding  {p + 1112 + 58 * 16:016x}: ")
    k.check()


def test_orig_size_is_four_bytes_on_i386():
    k = boot(profile="linux-2.6-i386", slab_debug="FZPU,kmalloc-1024")
    s = k.find_cache("kmalloc-1024")  # 2.6.24's name (feature slub_kmalloc_half_page)
    p = k.kmalloc(1000, GFP_KERNEL)
    info_end = s.geometry.info_end
    tracks = 2 * 20  # sizeof(struct track) on i386
    assert k.read_u32(p + info_end + tracks) == 1000
    assert k.slub.dbg.get_orig_size(s, p) == 1000
    k.kfree(p)
    k.check()


def test_padding_check_starts_after_the_whole_orig_size():
    """check_pad_bytes() skips sizeof(unsigned long) too: the stored size's upper half (zero) is
    no "Object padding overwritten", the first byte after it is padding."""
    k = boot(slab_debug="FZPU,kmalloc-128")
    s = k.find_cache("kmalloc-128")
    pad = s.geometry.info_end + 2 * 32 + 8
    p = k.kmalloc(100, GFP_KERNEL)
    m = mark(k)
    k.kfree(p)
    assert "BUG" not in "\n".join(lines_after(k, m))
    p = k.kmalloc(100, GFP_KERNEL)
    k.write_u8(p + pad, 0x00)
    m = mark(k)
    k.kfree(p)
    out = lines_after(k, m)
    at = p + pad
    offset = at - k.slub.object_of(p)[0].addr
    assert out[0] == f"[Object padding overwritten] {at:#x}-{at:#x} @offset={offset}. First byte 0x0 instead of 0x5a"
    k.check()


# --------------------------------------------------------------------------- Slab line: workingset
def slab_line(out):
    return next(x for x in out if x.startswith("Slab 0x"))


def test_slab_line_shows_workingset_for_a_node_partial_slab():
    k = boot()
    s = k.kmem_cache_create("wsflag", 64, 0, SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE)
    a = k.kmem_cache_alloc(s, GFP_KERNEL)
    b = k.kmem_cache_alloc(s, GFP_KERNEL)
    slab, _ = k.slub.object_of(a)
    assert slab.where == "node_partial" and slab.order == 0
    k.write_u8(b + 64, 0x77)
    m = mark(k)
    k.kmem_cache_free(s, b)
    line = slab_line(lines_after(k, m))
    assert line.endswith(" flags=0x4000000000000200(workingset|node=0|zone=1)")
    k.kmem_cache_free(s, a)
    k.check()


def test_slab_line_of_a_full_slab_has_no_workingset():
    k = boot()
    s = k.kmem_cache_create("wsfull", 2048, 0, SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE | SLAB_STORE_USER)
    objs = [k.kmem_cache_alloc(s, GFP_KERNEL) for _ in range(64)]
    slab, _ = k.slub.object_of(objs[0])
    full = [o for o in objs if k.slub.object_of(o)[0].where == "full"]
    assert full, "the cache should have filled a slab"
    victim = full[0]
    vslab, _ = k.slub.object_of(victim)
    k.write_u8(victim + 2048, 0x55)
    m = mark(k)
    k.kmem_cache_free(s, victim)
    line = slab_line(lines_after(k, m))
    head = "head|" if vslab.order else ""
    flags = 0x4000000000000000 | (0x40 if vslab.order else 0)
    assert line.endswith(f" flags={flags:#x}({head}node=0|zone=1)")
    for o in objs:
        if o != victim:
            k.kmem_cache_free(s, o)
    k.check()


# --------------------------------------------------------------------------- alloc_traces / free_traces
def test_free_traces_of_never_freed_objects_add_no_age_pid_or_cpu():
    """add_location(): the first track of a location sets its age, pid and CPU; a track merged
    later adds them only when it was set (track->when != 0).  Never-freed objects have all-zero
    free tracks: one location, the age since jiffies 0 once (min == sum: "age=N"), pid 0, CPU 0."""
    k = boot(slab_debug="U,kmalloc-96", cpus=2)
    objs = [k.kmalloc(80, GFP_KERNEL) for _ in range(5)]
    k.run(ms=40)  # time passes: the ages are not 0
    text = k.debugfs("slab/kmalloc-96/free_traces")
    assert text == f"      5 <not-available> age={k.jiffies} pid=0 cpus=0\n"
    for o in objs:
        k.kfree(o)


def test_alloc_traces_merge_ages_of_one_call_stack():
    k = boot(slab_debug="U,kmalloc-96", cpus=2)

    def make(n):
        out = []
        for _ in range(n):
            out.append(k.kmalloc(70, GFP_KERNEL))
        return out

    objs = []
    for _ in range(3):  # one call stack (the same lines), three times 100 ms apart
        objs += make(1)
        k.run(ms=100)
    s = k.find_cache("kmalloc-96")
    ages = sorted(k.jiffies - k.slub.dbg.get_track(s, o, 0).when for o in objs)
    assert ages[0] < ages[1] < ages[2]
    text = k.debugfs("slab/kmalloc-96/alloc_traces").splitlines()
    assert re.match(rf"^      3 make\+0x0/0x0 \[test_slab_reports.py:\d+\] waste=78/26 "
                    rf"age={ages[0]}/{sum(ages) // 3}/{ages[2]} pid=1000 cpus=0$", text[0])
    for o in objs:
        k.kfree(o)


def test_equal_counts_come_in_the_kernels_heapsort_order():
    k = boot(slab_debug="U,kmalloc-32")
    sites = []
    for i in range(7):  # seven call sites (functions site0 .. site6), one object each
        ns = {"k": k, "GFP_KERNEL": GFP_KERNEL}
        exec(f"def site{i}():\n    return k.kmalloc(20, GFP_KERNEL)\n", ns)  # noqa: S102
        sites.append(ns[f"site{i}"]())
    text = k.debugfs("slab/kmalloc-32/alloc_traces").splitlines()
    names = [re.match(r"^\s+1 (\w+)\+", x).group(1) for x in text if re.match(r"^\s+1 \w+\+", x)]
    # add_location() keeps them sorted by address (the model's symbols are in first-use order),
    # then sort() by count: with equal counts, the order the heapsort leaves
    order = list(range(7))
    kernel_sort(order, lambda a, b: 0)
    assert names == [f"site{i}" for i in order]
    assert order != list(range(7))  # the kernel's listing is not the insertion order
    for p in sites:
        k.kfree(p)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 8, 13, 64, 100])
def test_kernel_sort_sorts(n):
    rng = random.Random(n)
    items = [rng.randrange(50) for _ in range(n)]
    got = list(items)
    kernel_sort(got, lambda a, b: (a > b) - (a < b))
    assert got == sorted(items)


# --------------------------------------------------------------------------- WARNING lines
def test_object_err_and_slab_err_warnings_name_mm_slub_c_lines():
    k = boot(slab_debug="FZ,kmalloc-64")
    p = k.kmalloc(64, GFP_KERNEL)
    m = mark(k)
    k.kfree(p + 8)  # Invalid object pointer: slab_err() -> __slab_err()
    out = lines_after(k, m)
    assert "WARNING: CPU: 0 PID: 1000 at mm/slub.c:1257 __slab_err+0x0/0x0" in out
    k.write_u8(p + 64, 0x1)  # red zone: object_err()
    m = mark(k)
    k.kfree(p)
    out = lines_after(k, m)
    assert "WARNING: CPU: 0 PID: 1000 at mm/slub.c:1232 object_err+0x0/0x0" in out
    k.check()


def test_kmem_cache_destroy_warning_names_slab_common_c():
    k = boot()
    s = k.kmem_cache_create("leaks", 64, 0, SLAB_NO_MERGE)
    k.kmem_cache_alloc(s, GFP_KERNEL)
    m = mark(k)
    k.kmem_cache_destroy(s)
    out = lines_after(k, m)
    # list_slab_objects()'s __slab_err() WARN first, then kmem_cache_destroy()'s WARN(err, ...)
    assert "WARNING: CPU: 0 PID: 1000 at mm/slub.c:1257 __slab_err+0x0/0x0" in out
    i = next(n for n, x in enumerate(out) if x.startswith("kmem_cache_destroy leaks: Slab cache still has objects"))
    assert out[i - 1] == "------------[ cut here ]------------"
    assert out[i + 1] == "WARNING: CPU: 0 PID: 1000 at mm/slab_common.c:531 kmem_cache_destroy+0x0/0x0"


def test_wrong_cache_warning_is_cache_from_objs_inlined_into_kmem_cache_free():
    k = boot()
    a = k.kmem_cache_create("wa", 64, 0, SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE)
    b = k.kmem_cache_create("wb", 64, 0, SLAB_CONSISTENCY_CHECKS | SLAB_RED_ZONE)
    p = k.kmem_cache_alloc(a, GFP_KERNEL)
    m = mark(k)
    k.kmem_cache_free(b, p)
    out = lines_after(k, m)
    i = out.index("cache_from_obj: Wrong slab cache. wb but object is from wa")
    assert out[i + 1] == "WARNING: CPU: 0 PID: 1000 at mm/slub.c:6731 kmem_cache_free+0x0/0x0"
    k.check()


def test_not_a_slab_page_is_virt_to_caches_warn_once():
    k = boot()
    s = k.kmem_cache_create("nots", 64, 0, 0)
    page = k.get_free_page(GFP_KERNEL)
    events = []
    with k.tracing(events):
        m = mark(k)
        k.kmem_cache_free(s, page)
        k.kmem_cache_free(s, page + 64)
    out = lines_after(k, m)
    assert out.count("virt_to_cache: Object is not a Slab page!") == 1  # WARN_ONCE: one site, once
    i = out.index("virt_to_cache: Object is not a Slab page!")
    assert out[i - 1] == "------------[ cut here ]------------"
    assert out[i + 1] == "WARNING: CPU: 0 PID: 1000 at mm/slub.c:6717 kmem_cache_free+0x0/0x0"
    assert events == []  # cache_from_obj() returned NULL: no kmem_cache_free event
    k.free_page(page)
    k.check()
