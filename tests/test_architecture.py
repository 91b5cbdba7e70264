"""The structure the project keeps: layers, the boot table, dispatch, features, a thin facade."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

import kmemsim
from kmemsim import dispatch, features, kernel, machine
from kmemsim.dispatch import ALLOC_ENTRY_POINTS, HOT_ENTRY_POINTS
from kmemsim.errors import KernelBug

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "kmemsim"


# ------------------------------------------------------------------------------ layers
def test_no_module_is_in_a_run_time_import_cycle():
    """Imports inside functions count; TYPE_CHECKING ones do not (grimp, as import-linter sees it)."""
    grimp = pytest.importorskip("grimp")
    g = grimp.build_graph("kmemsim", exclude_type_checking_imports=True)
    mods = sorted(m for m in g.modules if m.startswith("kmemsim"))
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in g.find_modules_directly_imported_by(v):
            if not w.startswith("kmemsim"):
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for m in mods:
        if m not in index:
            visit(m)
    assert cycles == []


def test_the_facade_is_thin():
    assert len((SRC / "kernel.py").read_text().splitlines()) <= 800


# ------------------------------------------------------------------------------ boot
def test_the_boot_table_builds_every_subsystem_the_machine_declares():
    names = [s.name for s in kernel.BOOT]
    assert names[:3] == ["setup_arch", "mm_core_init", "sched_init"] and names[-1] == "mem_init"
    assert len(set(names)) == len(names)
    for profile in ("linux-6.18-x86_64", "linux-2.6-i386"):
        k = kmemsim.boot(profile, ram="160M")
        for attr in machine.Machine.__annotations__:
            assert getattr(k, attr, None) is not None or attr == "host", (profile, attr)
        assert {"page_alloc", "slub", "sched", "vmalloc", "memmap", "physmem", "layout"} <= set(k.checks.names())
        assert "slabinfo" in k.proc() and "buddyinfo" in k.proc()
        k.check()


def test_each_machine_has_its_own_class_and_nothing_callable_in_the_instance():
    a, b = kmemsim.boot(), kmemsim.boot("linux-2.6-i386")
    assert type(a) is not type(b) and isinstance(a, kmemsim.Kernel) and type(a).__name__ == "Kernel"
    for k in (a, b):
        assert not [n for n, v in vars(k).items() if callable(v)]


@pytest.mark.parametrize("profile", ["linux-6.18-x86_64", "linux-2.6-i386"])
def test_no_callable_in_the_instance_with_tracing_fault_injection_and_atomic_context(profile):
    k = kmemsim.boot(profile, ram="256M", on_bug="report")
    g = k.gfp
    if k.features.kmem_tracepoints:
        k.trace_start([])
    k.debugfs("fail_page_alloc/probability", 100)
    k.debugfs("fail_page_alloc/times", 2)
    with k.atomic():
        k.kfree(k.kmalloc(64, g.GFP_ATOMIC))
        assert not [n for n, v in vars(k).items() if callable(v)]
    k.get_free_pages(g.GFP_KERNEL, 0)
    assert not [n for n, v in vars(k).items() if callable(v)]
    k.trace_stop()
    k.debugfs("fail_page_alloc/times", 0)
    assert not [n for n, v in vars(k).items() if callable(v)]
    k.check()


# ------------------------------------------------------------------------------ dispatch
def test_the_dispatch_slots_follow_who_needs_every_call():
    k = kmemsim.boot()
    assert k.dispatch.state() == dict.fromkeys(HOT_ENTRY_POINTS, "fast")
    with k.atomic():  # might_alloc must see allocations; frees stay fast
        st = k.dispatch.state()
        assert all(st[n] == "general (atomic)" for n in ALLOC_ENTRY_POINTS)
        assert all(st[n] == "fast" for n in set(HOT_ENTRY_POINTS) - set(ALLOC_ENTRY_POINTS))
        with k.tracing([]):  # the tracepoints are in the general paths: everything goes there
            assert set(k.dispatch.state().values()) == {"general (atomic, tracing)", "general (tracing)"}
        assert k.dispatch.reasons == {"atomic"}
    assert k.dispatch.state() == dict.fromkeys(HOT_ENTRY_POINTS, "fast")
    k.debugfs("failslab/probability", 100)
    k.debugfs("failslab/times", 1)
    assert k.dispatch.state()["kmalloc"] == "general (failslab)" and k.dispatch.active("kfree") == "fast"
    assert k.kmalloc(64, k.gfp.GFP_ATOMIC) == 0  # should_failslab saw it
    assert k.dispatch.active("kmalloc") == "fast"  # times ran out: the hook is gone, the fast path back


def test_a_fast_path_and_its_general_path_give_the_same_machine():
    """The same calls through the fast paths and, on a twin, with the fast paths suspended."""
    a, b = kmemsim.boot(seed=5), kmemsim.boot(seed=5)
    b.dispatch.suspend("test")
    for k in (a, b):
        g = k.gfp
        held = [k.kmalloc(n, g.GFP_KERNEL) for n in (8, 64, 100, 300, 4000) * 40]
        pages = [k.get_free_pages(g.GFP_KERNEL, 0) for _ in range(50)]
        for p in held[::3]:
            k.kfree(p)
        for p in pages[::2]:
            k.free_pages(p, 0)
    assert a.proc("slabinfo") == b.proc("slabinfo") and a.proc("zoneinfo") == b.proc("zoneinfo")
    assert a.dispatch.active("kmalloc") == "fast" and b.dispatch.active("kmalloc") == "general"


def test_a_wrong_call_names_the_kernel_api():
    k = kmemsim.boot()
    with pytest.raises(TypeError, match=r"Kernel\.kmalloc\(\) missing 1 required positional argument"):
        k.kmalloc(100)  # type: ignore[call-arg]
    k.dispatch.suspend("test")
    with pytest.raises(TypeError, match=r"Kernel\.kmalloc\(\) missing 1 required positional argument"):
        k.kmalloc(100)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="not a hot entry point"):
        k.dispatch.install("vmalloc", lambda self, size: 0)


# ------------------------------------------------------------------------------ features
def test_features_are_named_resolved_once_and_fixed():
    names = [f.name for f in features.FEATURES]
    assert len(set(names)) == len(names)
    f618, f26 = features.Features("6.18"), features.Features("2.6.24")
    assert f618.vmap_area and not f26.vmap_area and f26.migratetypes and not f26.kmem_tracepoints
    assert all(re.fullmatch(r"\d+(\.\d+)+", f.since) for f in features.FEATURES)
    with pytest.raises(AttributeError):
        f618.vmap_area = False  # type: ignore[misc]
    with pytest.raises(AttributeError):
        _ = f618.no_such_feature


def test_every_feature_the_code_asks_for_exists():
    asked = set()
    for path in SRC.rglob("*.py"):
        asked |= set(re.findall(r"\bfeatures\.([a-z_][a-z0-9_]*)\b", path.read_text()))
    asked -= {"items", "version", "FEATURES", "Features", "Feature", "parse_version"}
    assert asked <= {f.name for f in features.FEATURES}


def test_no_subsystem_compares_kernel_version_strings():
    """Behaviour that changed between kernels asks k.features (features.py), never the version."""
    # where a kernel's version is *resolved* (once per machine), or only printed
    allowed = {"profiles.py", "features.py", "gfp.py", "slab_flags.py", "flags.py", "machine.py", "cli/main.py"}
    offenders = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        if rel in allowed:
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(r"kernel_version\s*(==|!=|<|>|in\b)|kernel_version\.startswith|startswith\(\"2\.|"
                         r"\.classic\b|\bclassic\s*=[^=]",
                         line) and not line.lstrip().startswith("#"):
                offenders.append(f"{rel}:{i}: {line.strip()}")
    assert offenders == []


def test_dispatch_and_report_modules_stay_small_and_separate():
    assert dispatch.Dispatch.__module__ == "kmemsim.dispatch"
    k = kmemsim.boot(on_bug="report")
    k.report.bug(["BUG: test"], kind="test")
    with pytest.raises(KernelBug):
        kmemsim.boot().report.bug(["BUG: test"], kind="test")
    assert not hasattr(k, "warn_once") and not hasattr(k, "register_check") and not hasattr(k, "fastpath_suspend")
