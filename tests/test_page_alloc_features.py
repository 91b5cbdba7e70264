"""The page allocator and its /proc views choose their behaviour by kernel features.

The two profiles fix the version; to see the other choices, a machine is booted with the
features of another release (its GFP set and layout stay the profile's): what the page
allocator and /proc then do follows that release's sources (kmemsim.features cites them).
"""
import pytest

import kmemsim
import kmemsim.machine
from kmemsim.features import Features
from kmemsim.gfp import GFP_ATOMIC, GFP_KERNEL


def boot_as(monkeypatch, version, profile="linux-6.18-x86_64", **kw):
    """A machine of ``profile`` whose features are those of Linux ``version``."""
    monkeypatch.setattr(kmemsim.machine, "Features", lambda _v: Features(version))
    k = kmemsim.boot(profile, **kw)
    monkeypatch.undo()
    return k


def zone(k, name):
    return next(z for z in k.page_alloc.zones if z.name == name)


def test_the_profiles_choose_as_their_releases():
    pa = kmemsim.boot().page_alloc
    assert pa.zone_watermark_ok.__name__ == "_watermark_ok_order0"
    assert pa.slowpath.__name__ == "_slowpath_retry"
    assert pa.migratetype_map == (0, 1, 2, 3, 4)
    old = kmemsim.boot("linux-2.6-i386", ram="1G").page_alloc
    assert old.zone_watermark_ok.__name__ == "_watermark_ok_per_order"
    assert old.slowpath.__name__ == "_slowpath_26"
    # 2.6.24: UNMOVABLE, RECLAIMABLE, MOVABLE, RESERVE, ISOLATE in the engine's numbering
    assert old.migratetype_map == (0, 2, 1, 3, 4)


def test_6_6_pcp_high_zoneinfo_and_highatomic(monkeypatch):
    k = boot_as(monkeypatch, "6.6", ram="2G")
    dma32 = zone(k, "DMA32")
    pcp = dma32.pcp[0]
    assert pcp.high_min == pcp.high_max  # one high before 6.7's auto-tuning: zone_highsize(zone, batch, 0)
    assert pcp.high_min == max(dma32.wmark(1) // len(k.cpus), 4 * pcp.batch)
    zi = k.proc("zoneinfo")
    assert "\n        promo    " not in zi  # printed from 6.12
    assert "high_min" not in zi and "\n              count: " in zi
    assert "\n  per-node stats" in zi
    assert not dma32.free_highatomic_unusable  # before 6.12 every reserved highatomic block is set aside
    for _ in range(50):
        assert k.get_free_pages(GFP_ATOMIC, 2)
    k.check()


def test_5_x_has_6_batch_pcp_high_and_4_19_the_old_report(monkeypatch):
    k = boot_as(monkeypatch, "5.10", ram="2G")
    pcp = zone(k, "DMA32").pcp[0]
    assert pcp.high_min == pcp.high_max == 6 * pcp.batch
    k = boot_as(monkeypatch, "4.19", ram="2G")
    assert k.page_alloc.min_free_kbytes <= 65536
    k.page_alloc.warn_alloc(k.gfp.GFP_KERNEL, 3)
    assert "page allocation failure. order:3, mode:0xcc0\n" in k.dmesg()


def test_before_node_vmstat_the_2_6_layouts(monkeypatch):
    k = boot_as(monkeypatch, "2.6.30", profile="linux-2.6-i386", ram="1G")
    zi = k.proc("zoneinfo")
    assert "\n    cpu: 0\n              count: " in zi  # no cold list since 2.6.25
    assert " pcp: 1" not in zi
    with pytest.raises(kmemsim.UsageError, match="not modelled yet"):
        k.proc("vmstat")


def test_2_6_11_has_no_zoneinfo_no_batch_clamp_and_5_4_watermarks(monkeypatch):
    k = boot_as(monkeypatch, "2.6.11", profile="linux-2.6-i386", ram="2G")
    assert "zoneinfo" not in k.proc() and "pagetypeinfo" not in k.proc() and "buddyinfo" in k.proc()
    normal = zone(k, "Normal")
    # zone_batchsize(): present / 1024 pages, at most 256 KiB, a quarter: 16, not clamped to 2^n - 1
    assert normal.pcp[0].batch == min(normal.present_pages >> 10, 64) // 4 == 16
    wm = normal.watermark
    assert (wm[1], wm[2]) == (wm[0] * 5 // 4, wm[0] * 6 // 4)
    highmem = zone(k, "HighMem")
    assert highmem.watermark[1] == highmem.watermark[0] * 5 // 4  # the capped min, not the share
    for _ in range(100):
        assert k.get_free_pages(GFP_KERNEL, 1)
    k.check()
