"""The machine a user holds: :class:`Kernel` = the machine core, the boot sequence, the API.

``kmemsim.boot()`` builds one; nothing lives in module globals, so machines can run
side by side.  Three things are here and nothing else:

* :data:`BOOT`, the boot sequence: one ordered table of init steps, as the kernel's
  ``start_kernel()`` and its initcalls are.  Each step builds one subsystem and
  registers what it owns with the machine -- its invariant checks, its /proc, /sys
  and debugfs files, its node counters -- so that no subsystem waits for another to
  be wired in later (see ``docs/architecture.md``);
* the public API: every kernel function a caller may use, declared once as a forward
  to the subsystem that implements it (``vmalloc = forward("vmalloc_impl", Vmalloc.vmalloc)``),
  plus the few methods that belong to the machine as a whole (``proc``, ``sysfs``, ...);
* the dispatch slot of each hot entry point (``kmalloc``, ``kfree``, ``kmem_cache_alloc``,
  ``kmem_cache_free``, ``get_free_pages``, ``free_pages``): every machine is an instance
  of its own subclass of ``Kernel`` whose attributes are the slots
  (:mod:`kmemsim.dispatch`), so a fast path runs with no indirection and the
  ``Kernel`` method -- the general path -- shows through when it is suspended.

The machine's state and services (memory access, translations, reports, registries)
are :class:`kmemsim.machine.Machine`; the on_bug policy is :mod:`kmemsim.report`'s.
"""
from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from .args import RANGES, int_arg, obj_arg, range_arg
from .errors import ConfigError, UsageError
from .machine import NULL, ZERO_SIZE_PTR, Machine
from .mm.dma import DmaMapping, dma_init
from .mm.fault_inject import fault_inject_init
from .mm.highmem import Highmem, highmem_init
from .mm.ioremap import Ioremap, ioremap_init
from .mm.mempool import MempoolSubsys, mempool_init_subsys
from .mm.oom_kill import Process
from .mm.page_api import PageAPI, page_alloc_init
from .mm.resource import IoResources, Resource, iomem_init
from .mm.slab_common import SlabCommon, kmem_cache_init
from .mm.slub import Slub
from .mm.util import MmUtil, util_init
from .mm.vmalloc import Vmalloc, vmalloc_init
from .mm.vmscan import Reclaim, Shrinker, kswapd_init
from .profiles import DEFAULT_PROFILE, get_profile, resolve_tunables
from .records import FrozenRecord
from .registry import PseudoFS
from .sched import Rcu, Sched, sched_init
from .start_kernel import check_ram, cmdline, from_snapshot, mem_init, mm_core_init, setup_arch
from .tracepoints.kmem import Tracepoints, tracepoints_init
from .units import human, memparse
from .views.procfs import proc_init

__all__ = ["Kernel", "BOOT", "InitStep", "NULL", "ZERO_SIZE_PTR", "forward"]

P = ParamSpec("P")
R = TypeVar("R")


# ============================================================================ the boot sequence
class InitStep(FrozenRecord):
    """One step of the boot: ``init(machine)`` builds and registers one part."""

    __match_args__ = ("name", "init", "what")
    name: str
    init: Callable[[Machine], None]
    what: str

    def __init__(self, name: str, init: Callable[[Machine], None], what: str) -> None:
        vars(self).update(name=name, init=init, what=what)


#: The boot sequence, in order (init/main.c start_kernel(), mm_core_init() and the initcalls).
BOOT: tuple[InitStep, ...] = (
    InitStep("setup_arch", setup_arch, "the banner, the firmware map, max_pfn, lowmem, the layout, memblock"),
    InitStep("mm_core_init", mm_core_init, "struct pages, physical memory, free and reserved pages"),
    InitStep("sched_init", sched_init, "calling contexts, the run queue, the caller's task (insmod/1000)"),
    InitStep("tracepoints", tracepoints_init, "the kmem tracepoints, off"),
    InitStep("page_alloc_init", page_alloc_init, "zones, buddy free lists, watermarks, pcp lists, fast paths"),
    InitStep("kswapd_init", kswapd_init, "reclaim, kswapd, swap, the page cache, the OOM killer"),
    InitStep("kmem_cache_init", kmem_cache_init, "SLUB, the kmalloc caches, /proc/slabinfo, /sys/kernel/slab"),
    InitStep("mm_util", util_init, "mm/util.c: kmemdup, kstrdup, kvmalloc ..."),
    InitStep("vmalloc_init", vmalloc_init, "vmap areas, the kernel page tables, /proc/vmallocinfo"),
    InitStep("iomem_init", iomem_init, "the iomem resource tree, /proc/iomem"),
    InitStep("ioremap_init", ioremap_init, "ioremap, MMIO accessors, devices"),
    InitStep("highmem_init", highmem_init, "kmap, kmap_atomic, kmap_local"),
    InitStep("dma_init", dma_init, "the DMA mapping API and dma-debug"),
    InitStep("mempool", mempool_init_subsys, "mempools"),
    InitStep("fault_inject_init", fault_inject_init, "failslab and fail_page_alloc, their debugfs knobs"),
    InitStep("proc_init", proc_init, "/proc buddyinfo, pagetypeinfo, zoneinfo, vmstat, meminfo; debugfs extfrag"),
    InitStep("mem_init", mem_init, 'the "Memory:" line; the core invariants'),
)


# ============================================================================ declared forwards
_KINDS = inspect.Parameter


def _param_check(p: inspect.Parameter, ann: object, fname: str, mod_globals: dict[str, Any],
                 ns: dict[str, Any]) -> str | None:
    """The check forward() writes for one parameter (a statement), or None.

    ``int`` (and ``int | None``): an int, not a bool, and in :data:`kmemsim.args.RANGES`
    for the parameter's name; a kmemsim class (``Page``, ``KmemCache`` ... and ``X | None``):
    an instance.  The quick test is inline; the helper that raises is called only on failure."""
    name = p.name
    what = f"{fname}: {name}"
    if not isinstance(ann, str):
        return None
    parts = [a.strip() for a in ann.split("|")]
    optional = "None" in parts
    parts = [a for a in parts if a != "None"]
    if len(parts) != 1:
        return None
    t = parts[0]
    none_ok = f"{name} is not None and " if optional else ""
    if t == "int":
        rng = RANGES.get(name)
        if rng is None:
            return f"    if {none_ok}type({name}) is not int: _int({name}, {what!r})\n"
        lo, hi, ctype = rng
        hi_s = "self.SIZE_MAX" if hi is None else str(hi)
        return (f"    if {none_ok}(type({name}) is not int or not {lo} <= {name} <= {hi_s}): "
                f"_range({name}, {what!r}, {lo}, {hi_s}, {ctype!r})\n")
    cls = mod_globals.get(t)
    if isinstance(cls, type) and cls.__module__.startswith("kmemsim.") and not issubclass(cls, (int, str)):
        key = f"_cls_{cls.__name__}"
        ns[key] = cls
        return (f"    if type({name}) is not {key} and {none_ok}not isinstance({name}, {key}): "
                f"_obj({name}, {what!r}, {key}, {optional})\n")
    return None


class _Forward:
    """A declared forward until its first use: then :func:`_generate` makes the method and it
    replaces this in the class, so that a machine calls the generated function itself.  The
    ~250 forwards are not compiled at import; a process compiles those it uses."""

    __slots__ = ("attr", "meth", "name", "owner")

    def __init__(self, attr: str, meth: Callable[..., Any], name: str | None) -> None:
        self.attr = attr
        self.meth = meth
        self.name = name or meth.__name__
        self.owner: type | None = None

    def __set_name__(self, owner: type, name: str) -> None:
        if name != self.name:
            raise TypeError(f"forward {self.name!r} declared as {name!r}")
        self.owner = owner

    def __get__(self, obj: Any, cls: type | None = None) -> Any:
        fn = self.function()
        return fn if obj is None else fn.__get__(obj, cls)

    def function(self) -> Callable[..., Any]:
        """The generated method, made once and put in the class in place of this."""
        owner = self.owner
        current = owner.__dict__.get(self.name) if owner is not None else None
        if callable(current) and current is not self:
            return current  # made already (by another thread, or looked up through another machine)
        fn = _generate(self.attr, self.meth, self.name)
        if owner is not None:
            setattr(owner, self.name, fn)
        return fn


def forward(attr: str, meth: Callable[Concatenate[Any, P], R],
            name: str | None = None) -> Callable[Concatenate[Any, P], R]:
    """A Kernel method ``name`` (default: ``meth``'s name) that calls ``self.<attr>.<meth>``
    with the same parameters, defaults and docstring; generated, so that a call costs
    one Python frame and a wrong call names ``Kernel.<name>``.

    The arguments are checked on the way in, from the target's annotations and parameter
    names (:mod:`kmemsim.args`): ``int`` parameters must be ints (in range for the names
    in ``args.RANGES``: sizes, orders, node ids), kmemsim classes instances of them, and a
    parameter named ``gfp_mask`` or ``gfp`` is turned into the machine's bits
    (``k.gfp.mask``: its ints, symbolic flags, or a string of its names).

    The method is generated on first use (looking it up on the class or a machine, as
    ``getattr`` or a call does), not at import: see :class:`_Forward`."""
    return cast("Callable[Concatenate[Any, P], R]", _Forward(attr, meth, name))


def _generate(attr: str, meth: Callable[..., Any], name: str) -> Callable[..., Any]:
    """The source of a forward (:func:`forward`), compiled."""
    target = meth.__name__
    name = name or target
    params = list(inspect.signature(meth).parameters.values())[1:]
    anns = getattr(meth, "__annotations__", {})
    mod_globals = vars(sys.modules[meth.__module__])
    ns: dict[str, Any] = {"_int": int_arg, "_range": range_arg, "_obj": obj_arg}
    defs: list[str] = []
    call: list[str] = []
    checks: list[str] = []
    star = False
    for p in params:
        if p.kind in (_KINDS.POSITIONAL_ONLY, _KINDS.POSITIONAL_OR_KEYWORD, _KINDS.KEYWORD_ONLY):
            if p.name in ("gfp_mask", "gfp"):
                masked = f'self.gfp.mask({p.name}, "{name}: {p.name}")'
                arg = f"(None if {p.name} is None else {masked})" if p.default is None else masked
            else:
                arg = p.name
                check = _param_check(p, anns.get(p.name), name, mod_globals, ns)
                if check:
                    checks.append(check)
        if p.kind in (_KINDS.POSITIONAL_ONLY, _KINDS.POSITIONAL_OR_KEYWORD):
            defs.append(p.name)
            call.append(arg)
        elif p.kind is _KINDS.VAR_POSITIONAL:
            defs.append("*" + p.name)
            call.append("*" + p.name)
            star = True
        elif p.kind is _KINDS.KEYWORD_ONLY:
            if not star:
                defs.append("*")
                star = True
            defs.append(p.name)
            call.append(f"{p.name}={arg}")
        else:
            defs.append("**" + p.name)
            call.append("**" + p.name)
    src = (f"def {name}(self, {', '.join(defs)}):\n" + "".join(checks)
           + f"    return self.{attr}.{target}({', '.join(call)})\n")
    # compiled as this file's code, so that call traces count it as kmemsim's own frames
    exec(compile(src, __file__, "exec"), ns)  # noqa: S102 - the source is made from a signature above
    fn: Callable[..., Any] = ns[name]
    fn.__defaults__ = getattr(meth, "__defaults__", None)
    fn.__kwdefaults__ = getattr(meth, "__kwdefaults__", None)
    fn.__doc__ = meth.__doc__
    fn.__qualname__ = f"Kernel.{name}"
    fn.__module__ = __name__
    fn.__annotations__ = {k: v for k, v in anns.items() if k != "self"}
    fn.__kmemsim_source__ = src  # type: ignore[attr-defined]  # what was generated, for the docs and tests
    return fn


# ============================================================================ the Kernel
class Kernel(Machine):
    """A booted machine.  Make one with :func:`kmemsim.boot`."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Kernel:
        # each machine gets its own subclass: its attributes are the dispatch slots
        sub = type(cls.__name__, (cls,), {"__module__": cls.__module__, "__qualname__": cls.__qualname__,
                                          "__doc__": cls.__doc__})
        return super().__new__(sub)

    def __init__(
        self,
        profile: str = DEFAULT_PROFILE,
        ram: str | int | None = None,
        cpus: int | None = None,
        *,
        seed: int = 0,
        on_bug: str = "raise",
        host: str | None = None,
        **tunables: Any,
    ):
        snap = None
        if host is not None:
            snap, ram, cpus, tunables = from_snapshot(host, profile, ram, cpus, tunables)
        prof = get_profile(profile)
        tun = resolve_tunables(prof, tunables)
        ram_bytes = memparse(prof.default_ram if ram is None else ram, "ram")
        ncpu = prof.default_cpus if cpus is None else cpus
        if isinstance(ncpu, bool) or not isinstance(ncpu, int) or not 1 <= ncpu <= prof.nr_cpus:
            raise ConfigError(f"cpus={ncpu!r}: {prof.name} supports 1 to {prof.nr_cpus} CPUs (NR_CPUS)")
        if on_bug not in ("raise", "report"):
            raise ConfigError(f"on_bug={on_bug!r}: expected 'raise' or 'report'")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed={seed!r}: expected an integer")
        check_ram(prof, ram_bytes, ram)
        super().__init__(prof, tun, ram_bytes, ncpu, seed=seed, on_bug=on_bug)
        self.host = snap
        for step in BOOT:
            step.init(self)

    # ================================================================ the machine as a whole
    def __repr__(self) -> str:
        return (f"<Kernel {self.profile.name} ram={human(self.ram)} cpus={len(self.cpus)} "
                f"max_pfn={self.max_pfn:#x}>")

    def _repr_html_(self) -> str | None:
        """Jupyter's rich display, drawn by kmemsim.explore (a tool above this layer: imported by name)."""
        import importlib

        return importlib.import_module("kmemsim.explore.jupyter").repr_html(self)

    @property
    def cmdline(self) -> str:
        """The kernel command line this machine was booted with (boot tunables only)."""
        return cmdline(self)

    @property
    def HZ(self) -> int:  # noqa: N802 - kernel name
        """CONFIG_HZ of the profile."""
        return self.profile.hz

    def proc(self, name: str = "") -> str:
        """The text of /proc/<name> as this machine's kernel prints it (``k.proc("buddyinfo")``);
        ``k.proc()`` lists the files there are, one a line."""
        return _read_or_list(self.procfs, name)

    def sysfs(self, path: str = "") -> str:
        """The text of /sys/<path>, e.g. ``k.sysfs("kernel/slab/kmalloc-64/order")``; a directory
        (``k.sysfs("kernel/slab")``) gives its entries, one a line."""
        return _read_or_list(self.sysfs_fs, path)

    def sysfs_write(self, path: str, value: str) -> None:
        """Write ``value`` to /sys/<path>: ``kernel/slab/<c>/validate`` (1 runs
        validate_slab_cache), ``kernel/slab/<c>/shrink`` (1 runs kmem_cache_shrink),
        ``kernel/slab/<c>/failslab``."""
        self.sysfs_fs.write(path, value)

    def debugfs(self, path: str = "", value: Any = None) -> str | None:
        """The text of /sys/kernel/debug/<path> (``k.debugfs("extfrag/extfrag_index")``); with
        ``value``, write it as ``echo value >`` would (the fault-injection knobs:
        ``k.debugfs("failslab/probability", 100)``); a directory gives its entries, one a line."""
        if value is not None:
            self.debugfs_fs.write(path, value)
            return None
        return _read_or_list(self.debugfs_fs, path)

    def node_stat(self, name: str) -> int:
        """A node_stat_item counter (nr_slab_reclaimable, nr_page_table_pages ...); 0 for one
        no subsystem keeps."""
        return self.node_stats.get(name)

    def panic(self, message: str) -> None:
        """panic(): "Kernel panic - not syncing: ..."; the machine stops (always raises)."""
        self.report.panic(message)

    # ---- tracing (kmemsim.tracepoints.kmem)
    def trace_start(self, sink: Any, events: Any = None) -> Tracepoints:
        """Turn the kmem tracepoints on: every kmalloc, kfree, kmem_cache_alloc/free and page
        allocator event is written to ``sink`` in Linux 6.18's ftrace text (a text stream or a
        callable taking each line) or, for a list, as event records; ``events`` limits them to
        some names.  Returns the tracepoints (``.counts``)."""
        return self.tp.start(sink, events)

    def trace_stop(self) -> Tracepoints | None:
        """Turn the kmem tracepoints off again; returns them if they were on."""
        was = self.tp.active
        self.tp.stop()
        return self.tp if was else None

    def tracing(self, sink: Any, events: Any = None) -> Any:
        """``with k.tracing(sink) as tr:`` -- the kmem tracepoints on inside the block."""
        return self.tp.tracing(sink, events)

    # ---- the calling conveniences of reclaim and the OOM killer (kmemsim.mm.vmscan, oom_kill)
    def find_file(self, name: str) -> Any:
        """The page cache's AddressSpace of ``name`` (``.nrpages``, ``.pages``), or None."""
        return self.vmscan.files.get(name)

    def wakeup_flusher_threads(self) -> int:
        """wakeup_flusher_threads(): start writeback of every dirty page (the writes complete at
        the next reclaim pass or k.run_writeback()); returns the writes queued."""
        return self.vmscan.wakeup_flusher_threads("sync")

    @property
    def processes(self) -> list[Process]:
        """The simulated user processes, in creation order (for_each_process)."""
        return list(self.vmscan.processes)

    def oom_badness(self, proc: Any) -> int:
        """oom_badness(p, totalpages): the points the OOM killer gives the process."""
        rc = self.vmscan
        return rc.oom_badness(rc.process(proc), rc.totalpages())

    def out_of_memory(self) -> bool:
        """SysRq-f (moom_callback): out_of_memory() with GFP_KERNEL and order -1 -- the report
        and a kill, never a panic; False ("OOM request ignored. No task eligible") if none."""
        gfp = self.gfp.bits.kernel
        if not self.vmscan.out_of_memory(gfp, -1, min(self.gfp.zone(gfp), len(self.page_alloc.zones) - 1)):
            self.printk("OOM request ignored. No task eligible")
            return False
        return True

    def try_to_free_pages(self, gfp_mask: int, order: int = 0) -> int:
        """try_to_free_pages(): one direct-reclaim call for an allocation of ``gfp_mask``;
        returns the pages reclaimed."""
        gfp = self.gfp.mask(gfp_mask, "try_to_free_pages: gfp_mask")
        ctx = self.page_alloc.prepare(gfp)
        return self.vmscan.try_to_free_pages(ctx.zonelist, order, gfp, ctx.highest_zoneidx)

    def wakeup_kswapd(self, order: int = 0, highest_zoneidx: int | None = None) -> None:
        """wakeup_kswapd(zone, GFP_KERNEL, order, highest_zoneidx): record the request and wake
        kswapd if its node is not balanced."""
        pa = self.page_alloc
        hz = len(pa.zones) - 1 if highest_zoneidx is None else highest_zoneidx
        z = next(z for z in reversed(pa.zones) if z.managed_pages and z.idx <= hz)
        self.vmscan.wakeup_kswapd(z, self.gfp.bits.kernel, order, hz)

    def balance_pgdat(self, order: int = 0, highest_zoneidx: int | None = None) -> int:
        """balance_pgdat(pgdat, order, highest_zoneidx) as kswapd runs it; the order reached."""
        rc = self.vmscan
        hz = len(self.page_alloc.zones) - 1 if highest_zoneidx is None else highest_zoneidx
        prev = rc.memalloc
        rc.memalloc = True
        try:
            return rc.balance_pgdat(order, hz)
        finally:
            rc.memalloc = prev

    def register_shrinker(self, name: str, count_objects: Callable[..., int], scan_objects: Callable[..., int],
                          **kw: Any) -> Shrinker:
        """register_shrinker() (the API before 6.7): shrinker_alloc + shrinker_register."""
        s = self.vmscan.shrinker_alloc(name, count_objects, scan_objects, **kw)
        self.vmscan.shrinker_register(s)
        return s

    @property
    def iomem_resource(self) -> Resource:
        """iomem_resource: the root of the I/O memory resource tree (a Resource)."""
        return self.resources.iomem_resource

    # ================================================================ the page allocator (mm/page_api.py)
    nr_free_pages = forward("pages", PageAPI.nr_free_pages)
    alloc_pages = forward("pages", PageAPI.alloc_pages)
    alloc_page = forward("pages", PageAPI.alloc_page)
    get_free_pages = forward("pages", PageAPI.get_free_pages)  # hot: a dispatch slot
    get_free_page = forward("pages", PageAPI.get_free_page)
    get_zeroed_page = forward("pages", PageAPI.get_zeroed_page)
    get_dma_pages = forward("pages", PageAPI.get_dma_pages)
    free_pages = forward("pages", PageAPI.free_pages)  # hot: a dispatch slot
    free_page = forward("pages", PageAPI.free_page)
    free_pages_struct = forward("pages", PageAPI.free_pages_struct)
    free_page_struct = forward("pages", PageAPI.free_page_struct)
    get_page = forward("pages", PageAPI.get_page)
    put_page = forward("pages", PageAPI.put_page)
    split_page = forward("pages", PageAPI.split_page)
    alloc_pages_exact = forward("pages", PageAPI.alloc_pages_exact)
    free_pages_exact = forward("pages", PageAPI.free_pages_exact)
    drain_all_pages = forward("pages", PageAPI.drain_all_pages)
    page_zone = forward("pages", PageAPI.page_zone)

    # ================================================================ slab (mm/slab_common.py)
    kmem_cache_create = forward("slab", SlabCommon.kmem_cache_create)
    kmem_cache_alloc = forward("slab", SlabCommon.kmem_cache_alloc)  # hot: a dispatch slot
    kmem_cache_zalloc = forward("slab", SlabCommon.kmem_cache_zalloc)
    kmem_cache_free = forward("slab", SlabCommon.kmem_cache_free)  # hot: a dispatch slot
    kmem_cache_destroy = forward("slab", SlabCommon.kmem_cache_destroy)
    kmem_cache_shrink = forward("slab", SlabCommon.kmem_cache_shrink)
    kmalloc = forward("slab", SlabCommon.kmalloc)  # hot: a dispatch slot
    kzalloc = forward("slab", SlabCommon.kzalloc)
    kmalloc_node = forward("slab", SlabCommon.kmalloc_node)
    kmalloc_array = forward("slab", SlabCommon.kmalloc_array)
    kcalloc = forward("slab", SlabCommon.kcalloc)
    kfree = forward("slab", SlabCommon.kfree)  # hot: a dispatch slot
    ksize = forward("slab", SlabCommon.ksize)
    kmalloc_size_roundup = forward("slab", SlabCommon.kmalloc_size_roundup)
    krealloc = forward("slab", SlabCommon.krealloc)
    kmalloc_cache = forward("slab", SlabCommon.kmalloc_cache)
    validate_slab_cache = forward("slab", SlabCommon.validate_slab_cache)
    slab_errors = forward("slab", SlabCommon.slab_errors)
    find_cache = forward("slab", SlabCommon.find_cache)
    # ---- mm/slub.py: bulk frees, kfree_rcu() batching, the nolock pair (none of them traced)
    kmem_cache_free_bulk = forward("slub", Slub.kmem_cache_free_bulk)
    kfree_bulk = forward("slub", Slub.kfree_bulk)
    kfree_rcu = forward("slub", Slub.kfree_rcu)
    kvfree_rcu = forward("slub", Slub.kvfree_rcu)
    kvfree_rcu_barrier = forward("slub", Slub.kvfree_rcu_barrier)
    kmalloc_nolock = forward("slub", Slub.kmalloc_nolock)
    kfree_nolock = forward("slub", Slub.kfree_nolock)

    # ================================================================ mm/util.c (mm/util.py)
    kmemdup = forward("util", MmUtil.kmemdup)
    kstrdup = forward("util", MmUtil.kstrdup)
    kstrndup = forward("util", MmUtil.kstrndup)
    kfree_sensitive = forward("util", MmUtil.kfree_sensitive)
    kvmalloc = forward("util", MmUtil.kvmalloc)
    kvfree = forward("util", MmUtil.kvfree)

    # ================================================================ vmalloc (mm/vmalloc.py)
    vmalloc = forward("vmalloc_impl", Vmalloc.vmalloc)
    vzalloc = forward("vmalloc_impl", Vmalloc.vzalloc)
    vmalloc_node = forward("vmalloc_impl", Vmalloc.vmalloc_node)
    vzalloc_node = forward("vmalloc_impl", Vmalloc.vzalloc_node)
    vmalloc_user = forward("vmalloc_impl", Vmalloc.vmalloc_user)
    vmalloc_32 = forward("vmalloc_impl", Vmalloc.vmalloc_32)
    vmalloc_32_user = forward("vmalloc_impl", Vmalloc.vmalloc_32_user)
    vmalloc_gfp = forward("vmalloc_impl", Vmalloc.vmalloc_gfp)
    vmalloc_node_range = forward("vmalloc_impl", Vmalloc.vmalloc_node_range)
    vfree = forward("vmalloc_impl", Vmalloc.vfree)
    vfree_atomic = forward("vmalloc_impl", Vmalloc.vfree_atomic)
    vmap = forward("vmalloc_impl", Vmalloc.vmap)
    vunmap = forward("vmalloc_impl", Vmalloc.vunmap)
    get_vm_area = forward("vmalloc_impl", Vmalloc.get_vm_area)
    find_vm_area = forward("vmalloc_impl", Vmalloc.find_vm_area)
    free_vm_area = forward("vmalloc_impl", Vmalloc.free_vm_area)
    vmalloc_to_page = forward("vmalloc_impl", Vmalloc.vmalloc_to_page)
    vmalloc_to_pfn = forward("vmalloc_impl", Vmalloc.vmalloc_to_pfn)
    lookup_address = forward("vmalloc_impl", Vmalloc.lookup_address)
    purge_vmap_area_lazy = forward("vmalloc_impl", Vmalloc.purge_vmap_area_lazy)

    # ================================================================ contexts, tasks, time (sched.py)
    preempt_count = forward("sched", Sched.preempt_count)
    in_interrupt = forward("sched", Sched.in_interrupt)
    in_atomic = forward("sched", Sched.in_atomic)
    in_task = forward("sched", Sched.in_task)
    in_hardirq = forward("sched", Sched.in_hardirq)
    in_softirq = forward("sched", Sched.in_softirq)
    in_serving_softirq = forward("sched", Sched.in_serving_softirq)
    in_nmi = forward("sched", Sched.in_nmi)
    irqs_disabled = forward("sched", Sched.irqs_disabled)
    hardirq = forward("sched", Sched.hardirq)
    softirq = forward("sched", Sched.softirq)
    nmi = forward("sched", Sched.nmi)
    atomic = forward("sched", Sched.atomic)
    preempt_disable = forward("sched", Sched.preempt_disable)
    preempt_enable = forward("sched", Sched.preempt_enable)
    local_irq_disable = forward("sched", Sched.local_irq_disable)
    local_irq_enable = forward("sched", Sched.local_irq_enable)
    local_irq_save = forward("sched", Sched.local_irq_save)
    local_irq_restore = forward("sched", Sched.local_irq_restore)
    local_bh_disable = forward("sched", Sched.local_bh_disable)
    local_bh_enable = forward("sched", Sched.local_bh_enable)
    spinlock = forward("sched", Sched.spinlock)
    spin_lock = forward("sched", Sched.spin_lock)
    spin_unlock = forward("sched", Sched.spin_unlock)
    spin_lock_irq = forward("sched", Sched.spin_lock_irq)
    spin_unlock_irq = forward("sched", Sched.spin_unlock_irq)
    spin_lock_irqsave = forward("sched", Sched.spin_lock_irqsave)
    spin_unlock_irqrestore = forward("sched", Sched.spin_unlock_irqrestore)
    spin_lock_bh = forward("sched", Sched.spin_lock_bh)
    spin_unlock_bh = forward("sched", Sched.spin_unlock_bh)
    mutex = forward("sched", Sched.mutex)
    mutex_lock = forward("sched", Sched.mutex_lock)
    mutex_unlock = forward("sched", Sched.mutex_unlock)
    might_sleep = forward("sched", Sched.might_sleep)
    cond_resched = forward("sched", Sched.cond_resched)
    schedule = forward("sched", Sched.schedule)
    set_current_state = forward("sched", Sched.set_current_state)
    schedule_timeout = forward("sched", Sched.schedule_timeout)
    schedule_timeout_uninterruptible = forward("sched", Sched.schedule_timeout_uninterruptible)
    schedule_timeout_interruptible = forward("sched", Sched.schedule_timeout_interruptible)
    msleep = forward("sched", Sched.msleep)
    mdelay = forward("sched", Sched.mdelay)
    udelay = forward("sched", Sched.udelay)
    msecs_to_jiffies = forward("sched", Sched.msecs_to_jiffies)
    kthread_create = forward("sched", Sched.kthread_create)
    kthread_run = forward("sched", Sched.kthread_run)
    kthread_should_stop = forward("sched", Sched.kthread_should_stop)
    kthread_stop = forward("sched", Sched.kthread_stop)
    wake_up_process = forward("sched", Sched.wake_up_process)
    waitqueue = forward("sched", Sched.waitqueue)
    wait_event = forward("sched", Sched.wait_event)
    wait_event_timeout = forward("sched", Sched.wait_event_timeout)
    prepare_to_wait = forward("sched", Sched.prepare_to_wait)
    prepare_to_wait_exclusive = forward("sched", Sched.prepare_to_wait_exclusive)
    finish_wait = forward("sched", Sched.finish_wait)
    wake_up = forward("sched", Sched.wake_up)
    wake_up_all = forward("sched", Sched.wake_up_all)
    timer_setup = forward("sched", Sched.timer_setup)
    mod_timer = forward("sched", Sched.mod_timer)
    add_timer = forward("sched", Sched.add_timer)
    del_timer = forward("sched", Sched.del_timer)
    tasklet_setup = forward("sched", Sched.tasklet_setup)
    tasklet_schedule = forward("sched", Sched.tasklet_schedule)
    schedule_work = forward("sched", Sched.schedule_work)
    run = forward("sched", Sched.run)
    shutdown = forward("sched", Sched.shutdown)
    irq_work_queue = forward("sched", Sched.irq_work_queue)
    # ---- workqueues (kernel/workqueue.c)
    alloc_workqueue = forward("sched", Sched.alloc_workqueue)
    destroy_workqueue = forward("sched", Sched.destroy_workqueue)
    init_work = forward("sched", Sched.init_work)
    init_delayed_work = forward("sched", Sched.init_delayed_work)
    queue_work = forward("sched", Sched.queue_work_on_wq, "queue_work")
    flush_work = forward("sched", Sched.flush_work)
    flush_workqueue = forward("sched", Sched.flush_workqueue)
    queue_delayed_work = forward("sched", Sched.queue_delayed_work)
    mod_delayed_work = forward("sched", Sched.mod_delayed_work)
    cancel_delayed_work_sync = forward("sched", Sched.cancel_delayed_work_sync)
    delayed_work_pending = forward("sched", Sched.delayed_work_pending)
    queue_rcu_work = forward("sched", Sched.queue_rcu_work)
    flush_rcu_work = forward("sched", Sched.flush_rcu_work)
    # ---- RCU (kernel/rcu/tree.c, in sched.py)
    rcu_read_lock = forward("sched.rcu", Rcu.rcu_read_lock)
    rcu_read_unlock = forward("sched.rcu", Rcu.rcu_read_unlock)
    rcu_read_lock_held = forward("sched.rcu", Rcu.rcu_read_lock_held)
    call_rcu = forward("sched.rcu", Rcu.call_rcu)
    synchronize_rcu = forward("sched.rcu", Rcu.synchronize_rcu)
    rcu_barrier = forward("sched.rcu", Rcu.rcu_barrier)
    get_state_synchronize_rcu = forward("sched.rcu", Rcu.get_state_synchronize_rcu)
    start_poll_synchronize_rcu = forward("sched.rcu", Rcu.start_poll_synchronize_rcu)
    poll_state_synchronize_rcu = forward("sched.rcu", Rcu.poll_state_synchronize_rcu)

    # ================================================================ mempool (mm/mempool.py)
    mempool_create = forward("mempool_impl", MempoolSubsys.mempool_create)
    mempool_create_node = forward("mempool_impl", MempoolSubsys.mempool_create_node)
    mempool_init = forward("mempool_impl", MempoolSubsys.mempool_init)
    mempool_exit = forward("mempool_impl", MempoolSubsys.mempool_exit)
    mempool_destroy = forward("mempool_impl", MempoolSubsys.mempool_destroy)
    mempool_alloc = forward("mempool_impl", MempoolSubsys.mempool_alloc)
    mempool_alloc_preallocated = forward("mempool_impl", MempoolSubsys.mempool_alloc_preallocated)
    mempool_free = forward("mempool_impl", MempoolSubsys.mempool_free)
    mempool_resize = forward("mempool_impl", MempoolSubsys.mempool_resize)
    mempool_alloc_slab = forward("mempool_impl", MempoolSubsys.mempool_alloc_slab)
    mempool_free_slab = forward("mempool_impl", MempoolSubsys.mempool_free_slab)
    mempool_kmalloc = forward("mempool_impl", MempoolSubsys.mempool_kmalloc)
    mempool_kfree = forward("mempool_impl", MempoolSubsys.mempool_kfree)
    mempool_alloc_pages = forward("mempool_impl", MempoolSubsys.mempool_alloc_pages)
    mempool_free_pages = forward("mempool_impl", MempoolSubsys.mempool_free_pages)
    mempool_create_slab_pool = forward("mempool_impl", MempoolSubsys.mempool_create_slab_pool)
    mempool_create_kmalloc_pool = forward("mempool_impl", MempoolSubsys.mempool_create_kmalloc_pool)
    mempool_create_kvmalloc_pool = forward("mempool_impl", MempoolSubsys.mempool_create_kvmalloc_pool)
    mempool_create_page_pool = forward("mempool_impl", MempoolSubsys.mempool_create_page_pool)

    # ================================================================ highmem (mm/highmem.py)
    kmap = forward("highmem_impl", Highmem.kmap)
    kunmap = forward("highmem_impl", Highmem.kunmap)
    kmap_atomic = forward("highmem_impl", Highmem.kmap_atomic)
    kunmap_atomic = forward("highmem_impl", Highmem.kunmap_atomic)
    kmap_local_page = forward("highmem_impl", Highmem.kmap_local_page)
    kunmap_local = forward("highmem_impl", Highmem.kunmap_local)
    kmap_to_page = forward("highmem_impl", Highmem.kmap_to_page)
    kmap_flush_unused = forward("highmem_impl", Highmem.kmap_flush_unused)

    # ================================================================ iomem, ioremap, devices
    request_mem_region = forward("resources", IoResources.request_mem_region)
    request_mem_region_exclusive = forward("resources", IoResources.request_mem_region_exclusive)
    release_mem_region = forward("resources", IoResources.release_mem_region)
    request_resource = forward("resources", IoResources.request_resource)
    insert_resource = forward("resources", IoResources.insert_resource)
    release_resource = forward("resources", IoResources.release_resource)
    add_device = forward("ioremap_impl", Ioremap.add_device)
    remove_device = forward("ioremap_impl", Ioremap.remove_device)
    ioremap = forward("ioremap_impl", Ioremap.ioremap)
    ioremap_uc = forward("ioremap_impl", Ioremap.ioremap_uc)
    ioremap_wc = forward("ioremap_impl", Ioremap.ioremap_wc)
    ioremap_cache = forward("ioremap_impl", Ioremap.ioremap_cache)
    ioremap_nocache = forward("ioremap_impl", Ioremap.ioremap_nocache)
    iounmap = forward("ioremap_impl", Ioremap.iounmap)
    readb = forward("ioremap_impl", Ioremap.readb)
    readw = forward("ioremap_impl", Ioremap.readw)
    readl = forward("ioremap_impl", Ioremap.readl)
    readq = forward("ioremap_impl", Ioremap.readq)
    writeb = forward("ioremap_impl", Ioremap.writeb)
    writew = forward("ioremap_impl", Ioremap.writew)
    writel = forward("ioremap_impl", Ioremap.writel)
    writeq = forward("ioremap_impl", Ioremap.writeq)
    ioread8 = forward("ioremap_impl", Ioremap.ioread8)
    ioread16 = forward("ioremap_impl", Ioremap.ioread16)
    ioread32 = forward("ioremap_impl", Ioremap.ioread32)
    iowrite8 = forward("ioremap_impl", Ioremap.iowrite8)
    iowrite16 = forward("ioremap_impl", Ioremap.iowrite16)
    iowrite32 = forward("ioremap_impl", Ioremap.iowrite32)
    ioport_map = forward("ioremap_impl", Ioremap.ioport_map)
    memcpy_fromio = forward("ioremap_impl", Ioremap.memcpy_fromio)
    memcpy_toio = forward("ioremap_impl", Ioremap.memcpy_toio)
    memset_io = forward("ioremap_impl", Ioremap.memset_io)

    # ================================================================ DMA (mm/dma.py)
    dma_device = forward("dma_impl", DmaMapping.dma_device)
    dma_map_single = forward("dma_impl", DmaMapping.dma_map_single)
    dma_unmap_single = forward("dma_impl", DmaMapping.dma_unmap_single)
    dma_map_page = forward("dma_impl", DmaMapping.dma_map_page)
    dma_unmap_page = forward("dma_impl", DmaMapping.dma_unmap_page)
    dma_mapping_error = forward("dma_impl", DmaMapping.dma_mapping_error)
    dma_set_mask = forward("dma_impl", DmaMapping.dma_set_mask)
    dma_set_coherent_mask = forward("dma_impl", DmaMapping.dma_set_coherent_mask)
    dma_set_mask_and_coherent = forward("dma_impl", DmaMapping.dma_set_mask_and_coherent)
    dma_alloc_coherent = forward("dma_impl", DmaMapping.dma_alloc_coherent)
    dma_free_coherent = forward("dma_impl", DmaMapping.dma_free_coherent)
    device_release_driver = forward("dma_impl", DmaMapping.device_release_driver)

    # ================================================================ reclaim, swap, OOM (mm/vmscan.py)
    page_cache_add = forward("vmscan", Reclaim.page_cache_add)
    mark_page_accessed = forward("vmscan", Reclaim.mark_page_accessed)
    set_page_dirty = forward("vmscan", Reclaim.set_page_dirty)
    truncate_file = forward("vmscan", Reclaim.truncate, "truncate_file")
    unlink_file = forward("vmscan", Reclaim.unlink, "unlink_file")
    sync = forward("vmscan", Reclaim.sync)
    run_writeback = forward("vmscan", Reclaim.run_writeback)
    drop_caches = forward("vmscan", Reclaim.drop_caches)
    swapon = forward("vmscan", Reclaim.swapon)
    swapoff = forward("vmscan", Reclaim.swapoff)
    spawn_process = forward("vmscan", Reclaim.spawn_process)
    process_fault = forward("vmscan", Reclaim.process_fault)
    process_swapin = forward("vmscan", Reclaim.process_swapin)
    process_touch = forward("vmscan", Reclaim.process_touch)
    kill_process = forward("vmscan", Reclaim.kill_process)
    run_kswapd = forward("vmscan", Reclaim.run_kswapd)
    shrinker_alloc = forward("vmscan", Reclaim.shrinker_alloc)
    shrinker_register = forward("vmscan", Reclaim.shrinker_register)
    shrinker_free = forward("vmscan", Reclaim.shrinker_free)
    unregister_shrinker = forward("vmscan", Reclaim.shrinker_free, "unregister_shrinker")
    shrink_slab = forward("vmscan", Reclaim.shrink_slab)


def _read_or_list(fs: PseudoFS, path: str) -> str:
    """A file's text, or for a directory its entries one a line (as ``ls -1`` prints them)."""
    rel = fs._rel(path)
    if rel == "" or fs.is_dir(rel):
        return "".join(f"{n}\n" for n in fs.listdir(rel))
    try:
        return fs.read(rel)
    except UsageError as err:
        try:
            names = fs.listdir(rel)  # a directory of a handler-served tree (kernel/slab/<cache>)
        except UsageError:
            raise err from None  # the file's own error
        return "".join(f"{n}\n" for n in names)
