"""The text the tools print for a kmem event record: the inverse of the parsers.

- :func:`ftrace_line`: a line of tracefs ``trace``/``trace_pipe`` as Linux 6.18
  prints it (``kernel/trace/trace_output.c``: ``comm-pid [cpu] flags sec.usec:
  event: fields``, the fields in each event's ``TP_printk`` order, pointers as
  16 hex digits), or with ``era="5.x"`` (5.19..6.0: no ``node=`` on ``kmalloc``,
  ``kmem_cache_alloc`` without ``name=``) and ``era="2.6"`` (2.6.32..5.4:
  ``call_site=%lx``, ``pfn=%lu``, no ``accounted=``, ``kmem_cache_free``
  without ``name=``);
- :func:`perf_script_line`: ``perf script -F comm,tid,cpu,time,event,trace``;
- :func:`trace_cmd_line`: ``trace-cmd report`` (with libtraceevent's kmem plugin).

Used by the tests (round trips), the benchmark's generated trace, and the
model's own tracepoints.
"""
from __future__ import annotations

from .events import Event, ExtFrag, Lost, PageAlloc, PageFree, PageMove, SlabAlloc, SlabFree

__all__ = ["ftrace_line", "perf_script_line", "trace_cmd_line", "FTRACE_HEADER"]

#: The header tracefs prints above the events of ``trace`` (6.18, 2 CPUs).
FTRACE_HEADER = """\
# tracer: nop
#
# entries-in-buffer/entries-written: {n}/{n}   #P:{cpus}
#
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
"""


def _ts(ns: int) -> str:
    return f"{ns // 1_000_000_000}.{ns % 1_000_000_000 // 1000:06d}"


def _fields(ev: Event, era: str, ptr_fmt: str) -> str:
    def p(v: int) -> str:
        return ptr_fmt.format(v)

    if isinstance(ev, SlabAlloc):
        cs = ev.call_site
        parts = [f"call_site={cs}", f"ptr={p(ev.ptr)}"]
        if ev.name is not None and era == "6.18":
            parts.append(f"name={ev.name}")
        parts += [f"bytes_req={ev.bytes_req}", f"bytes_alloc={ev.bytes_alloc}", f"gfp_flags={ev.gfp_flags}"]
        if ev.node is not None and (era == "6.18" or ev.kind.endswith("_node")):
            parts.append(f"node={ev.node}")
        if ev.accounted is not None and era != "2.6":
            parts.append(f"accounted={'true' if ev.accounted else 'false'}")
        return " ".join(parts)
    if isinstance(ev, SlabFree):
        s = f"call_site={ev.call_site} ptr={p(ev.ptr)}"
        if ev.name is not None and era != "2.6":
            s += f" name={ev.name}"
        return s
    pfn = (lambda v: f"{v}") if era == "2.6" else (lambda v: f"0x{v:x}")
    if isinstance(ev, PageAlloc):
        ok = ev.pfn != -1
        page = p(0x10000000 + ev.pfn) if ok else p(0)
        return (
            f"page={page} pfn={pfn(ev.pfn if ok else 0)} order={ev.order} migratetype={ev.migratetype}"
            f" gfp_flags={ev.gfp_flags}"
        )
    if isinstance(ev, PageFree):
        if ev.kind == "mm_page_free_batched":
            return f"page={p(0x10000000 + ev.pfn)} pfn={pfn(ev.pfn)} order=0"
        return f"page={p(0x10000000 + ev.pfn)} pfn={pfn(ev.pfn)} order={ev.order}"
    if isinstance(ev, PageMove):
        s = f"page={p(0x10000000 + ev.pfn)} pfn={pfn(ev.pfn)} order={ev.order} migratetype={ev.migratetype}"
        if ev.percpu_refill is not None:
            s += f" percpu_refill={ev.percpu_refill}"
        return s
    if isinstance(ev, ExtFrag):
        return (
            f"page={p(0x10000000 + ev.pfn)} pfn={pfn(ev.pfn)} alloc_order={ev.alloc_order}"
            f" fallback_order={ev.fallback_order} pageblock_order={ev.pageblock_order}"
            f" alloc_migratetype={ev.alloc_migratetype} fallback_migratetype={ev.fallback_migratetype}"
            f" fragmenting={ev.fragmenting} change_ownership={ev.change_ownership}"
        )
    raise TypeError(f"no text for {ev!r}")


def ftrace_line(ev: Event, era: str = "6.18") -> str:
    """One line of tracefs ``trace`` text (no newline)."""
    if era not in ("6.18", "5.x", "2.6"):
        raise ValueError(f"era {era!r}: expected 6.18, 5.x or 2.6")
    if isinstance(ev, Lost):
        return f"CPU:{ev.cpu} [LOST {ev.count} EVENTS]"
    task = f"{ev.comm}-{ev.pid}"
    ptr_fmt = "{:08x}" if era == "2.6" else "{:016x}"
    return f"{task:>16} [{ev.cpu:03d}] ..... {_ts(ev.ts)}: {ev.kind}: {_fields(ev, era, ptr_fmt)}"


def perf_script_line(ev: Event) -> str:
    """One line of ``perf script -F comm,tid,cpu,time,event,trace`` (perf 6.1)."""
    if isinstance(ev, Lost):
        raise TypeError("perf script prints no lost-event markers")
    name = f"kmem:{ev.kind}:"
    return f"{ev.comm:>16} {ev.pid:>5} [{ev.cpu:03d}] {_ts(ev.ts)}: {name:>22} {_fields(ev, '6.18', '{:#x}')}"


def trace_cmd_line(ev: Event) -> str:
    """One line of ``trace-cmd report`` (3.x, libtraceevent's kmem plugin)."""
    if isinstance(ev, Lost):
        return f"CPU:{ev.cpu} [{ev.count} EVENTS DROPPED]"
    task = f"{ev.comm}-{ev.pid}"
    fields = _fields(ev, "6.18", "{:#x}")
    if isinstance(ev, (SlabAlloc, SlabFree)):
        fields = f"({ev.call_site}) {fields}"
    return f"{task:>16} [{ev.cpu:03d}] {_ts(ev.ts)}: {ev.kind + ':':<21} {fields}"
