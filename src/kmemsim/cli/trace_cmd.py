"""``kmemsim stat`` and ``kmemsim record``: kmem traces, perf kmem's way.

    kmemsim stat [--slab] [--page] [--caller] [--alloc] [-s KEYS] [-l N]
                 [--time START,STOP] [--live] [--lenient] FILE
    kmemsim record [-o FILE] [--force] [--slab] [--page] [-e EVENT...] [-g] [-p PID] [--tree]
                   [--comm NAME] [--buffer-kb N] -- COMMAND...
    kmemsim replay FILE [--host SNAPSHOT] [--profile P] [--set NAME=VALUE] [--report OUT.html]
    kmemsim compare FILE [--host SNAPSHOT] [--profile A [--profile B]] [--set NAME=VALUE]
                    [--a-set NAME=VALUE] [--b-set NAME=VALUE] [--report OUT.html]

``register(group)`` adds stat and record to a click group (the ``kmemsim`` command),
``register_replay(group)`` replay and compare.

As in ``perf kmem``, ``-s`` and ``-l`` apply to the table named last before
them: ``--page`` after ``--slab`` (or ``--page`` alone) makes ``-s`` a page key
list, and ``--caller`` after ``--alloc`` (or ``--caller`` alone) makes ``-s``
and ``-l`` the caller table's.  Without ``--slab`` or ``--page`` kmemsim
reports each allocator the trace has events of (perf: ``--slab``).
"""
from __future__ import annotations

import contextlib
import gc
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

import kmemsim
from kmemsim.cli.example import with_example
from kmemsim.errors import KmemsimError

__all__ = ["stat", "record", "replay", "compare", "register", "register_replay"]


# ---------------------------------------------------------------------------- perf's option order


def _order(ctx: click.Context) -> dict[str, Any]:
    fresh = {"slab": 0, "page": 0, "caller": 0, "alloc": 0, "sorts": {}, "lines": {}}
    return ctx.meta.setdefault("kmemsim.stat", fresh)


def _flag(name: str, other: str):
    """perf's parse_{slab,page,caller,alloc}_opt: this flag = the other one + 1."""

    def cb(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            o = _order(ctx)
            o[name] = o[other] + 1
        return value

    return cb


def _sort_cb(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """perf's parse_sort_opt: the keys go to the table the flags given so far name."""
    if value is None:
        return None
    from kmemsim.trace.stat import parse_sort_keys

    o = _order(ctx)
    page = o["page"] > o["slab"]
    try:
        parse_sort_keys(value, page=page)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    table = "caller" if o["caller"] > o["alloc"] else "alloc"
    o["sorts"][("page" if page else "slab", table)] = value
    return value


def _line_cb(ctx: click.Context, _param: click.Parameter, value: int | None) -> int | None:
    """perf's parse_line_opt: the count goes to the caller or the alloc table."""
    if value is None:
        return None
    o = _order(ctx)
    o["lines"]["caller" if o["caller"] > o["alloc"] else "alloc"] = value
    return value


def _cpu_nodes(text: str | None) -> dict[int, int]:
    """``0-3:0,4-7:1`` -> {0: 0, ..., 7: 1}; CPUs below MAX_CPUS, nodes below 1024 (MAX_NUMNODES)."""
    from kmemsim.trace.parse import MAX_CPUS

    out: dict[int, int] = {}
    if not text:
        return out
    for part in text.split(","):
        cpus, colon, node_s = part.partition(":")
        lo_s, dash, hi_s = cpus.partition("-")
        try:
            lo, hi, node = int(lo_s), int(hi_s if dash else lo_s), int(node_s)
        except ValueError:
            raise click.BadParameter(f"{part!r}: expected CPUS:NODE, like 0-3:0", param_hint="--cpu-nodes") from None
        if not colon:
            raise click.BadParameter(f"{part!r}: expected CPUS:NODE, like 0-3:0", param_hint="--cpu-nodes")
        if not 0 <= lo <= hi < MAX_CPUS:
            raise click.BadParameter(
                f"{part!r}: CPUs must be FIRST-LAST with 0 <= FIRST <= LAST < {MAX_CPUS}", param_hint="--cpu-nodes"
            )
        if not 0 <= node < 1024:
            raise click.BadParameter(f"{part!r}: the node must be 0..1023 (MAX_NUMNODES)", param_hint="--cpu-nodes")
        for c in range(lo, hi + 1):
            out[c] = node
    return out


def _page_size(_ctx: click.Context, _param: click.Parameter, value: int) -> int:
    if value < 1024 or value > 1 << 18 or value & (value - 1):
        raise click.BadParameter(f"{value}: a page size is a power of two from 1024 to 262144 (4096 on x86)")
    return value


def _kallsyms(path: Path) -> dict[str, int]:
    """A /proc/kallsyms text: a clear error for a binary or empty file."""
    from kmemsim.trace.stat import load_kallsyms

    try:
        data = path.read_bytes()
    except OSError as e:
        raise click.BadParameter(f"{path}: {e.strerror or e}", param_hint="--kallsyms") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise click.BadParameter(
            f"{path}: not a /proc/kallsyms text (binary data at byte {e.start})", param_hint="--kallsyms"
        ) from None
    if "\0" in text:
        raise click.BadParameter(f"{path}: not a /proc/kallsyms text (a NUL byte)", param_hint="--kallsyms")
    syms = load_kallsyms(text)
    if not syms:
        raise click.BadParameter(
            f"{path}: no 'ADDRESS TYPE SYMBOL' line (a /proc/kallsyms text?)", param_hint="--kallsyms"
        )
    return syms


def _line_opt(ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
    if value is not None and value < 0:
        raise click.BadParameter(f"{value}: must be 0 or more")
    return _line_cb(ctx, param, value)


def _at_least(low: int):
    def cb(_ctx: click.Context, param: click.Parameter, value: int | None) -> int | None:
        if value is not None and value < low:
            raise click.BadParameter(f"{value}: must be {low} or more")
        return value

    return cb


# ---------------------------------------------------------------------------- stat


@with_example()
@click.command("stat")
@click.option("--slab", is_flag=True, callback=_flag("slab", "page"), help="Analyze the slab allocator.")
@click.option("--page", is_flag=True, callback=_flag("page", "slab"), help="Analyze the page allocator.")
@click.option("--caller", is_flag=True, callback=_flag("caller", "alloc"), help="Per-callsite statistics.")
@click.option("--alloc", is_flag=True, callback=_flag("alloc", "caller"), help="Per-allocation statistics.")
@click.option(
    "-s", "--sort", "sort_keys", metavar="KEY[,KEY...]", callback=_sort_cb,
    help="Sort keys: ptr, callsite, bytes, hit, pingpong, frag (slab); page, callsite, bytes, hit, order, "
    "migtype, gfp (page).",
)  # fmt: skip
@click.option("-l", "--line", "n_lines", type=int, metavar="N", callback=_line_opt, help="Show N lines.")
@click.option("--time", "time_range", metavar="START,STOP", help="Only events in this time span (seconds).")
@click.option("--live", is_flag=True, help="Page: live pages instead of totals.")
@click.option("--raw-ip", is_flag=True, help="Call sites as addresses (needs --kallsyms for symbolic traces).")
@click.option("--lenient", is_flag=True, help="Count and skip malformed lines (and survive damaged gzip data).")
@click.option(
    "--format", "fmt", type=click.Choice(["auto", "ftrace", "perf-script", "trace-cmd"]), default="auto",
    show_default=True, help="Trace text format.",
)  # fmt: skip
@click.option("--kallsyms", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A /proc/kallsyms of the traced boot: call sites sort by address as perf's do.")  # fmt: skip
@click.option("--page-size", type=int, default=4096, show_default=True, callback=_page_size,
              help="Bytes in a page of the traced machine.")  # fmt: skip
@click.option("--cpu-nodes", metavar="CPUS:NODE,...", help="NUMA node of each CPU (default: all on node 0).")
@click.option("--old-migratetypes", is_flag=True,
              help="The trace is of a kernel before 4.4 (the old migratetype enum).")  # fmt: skip
@click.option("--perf-only", is_flag=True, help="Print exactly what perf kmem stat (6.1) prints, nothing more.")
@click.option("--waste", is_flag=True, help="Beyond perf: trace-cmd mem's waste table (per stack with stacks).")
@click.option("--lifetime", is_flag=True, help="Beyond perf: histogram of object lifetimes.")
@click.option("--leaks", is_flag=True,
              help="Beyond perf: objects live at the end, per call site (per stack with stacks).")  # fmt: skip
@click.option("--top", type=int, default=20, show_default=True, callback=_at_least(-1),
              help="Rows of the beyond-perf tables (-1: all).")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="The report as JSON (schema kmemsim-stat/1, docs/traces.md).")
@click.option("--csv", "as_csv", is_flag=True, help="The report as CSV rows: section,row,field,value.")
@click.option("--folded", type=click.Path(dir_okay=False, path_type=Path), metavar="OUT",
              help="Write the allocations' stacks folded for flame graphs (the trace must have stacks).")  # fmt: skip
@click.option("--engine", type=click.Choice(["auto", "compiled", "python"]), default="auto", show_default=True,
              help="The compiled parser and core (when built) or the pure-Python ones (same output).")  # fmt: skip
@click.option("--progress/--no-progress", default=None,
              help="A progress bar on stderr (default: when stderr is a terminal).")  # fmt: skip
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False))
@click.pass_context
def stat(
    ctx: click.Context,
    slab: bool,
    page: bool,
    caller: bool,
    alloc: bool,
    sort_keys: str | None,
    n_lines: int | None,
    time_range: str | None,
    live: bool,
    raw_ip: bool,
    lenient: bool,
    fmt: str,
    kallsyms: Path | None,
    page_size: int,
    cpu_nodes: str | None,
    old_migratetypes: bool,
    perf_only: bool,
    waste: bool,
    lifetime: bool,
    leaks: bool,
    top: int,
    as_json: bool,
    as_csv: bool,
    folded: Path | None,
    engine: str,
    progress: bool | None,
    file: str,
) -> None:
    """perf kmem stat's report of a kmem trace FILE (ftrace text, perf script, trace-cmd
    report; gzip or not; - for stdin), then what perf does not tell."""
    from kmemsim.trace.parse import TraceReader, sniff_stacks
    from kmemsim.trace.progress import reading_progress
    from kmemsim.trace.stat import DEFAULT_PAGE_SORT, DEFAULT_SLAB_SORT, KmemStat, StatOptions, parse_time_range

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    o = _order(ctx)
    try:
        window = parse_time_range(time_range)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--time") from None
    sorts = o["sorts"]
    stacks = folded is not None or ((waste or leaks) and sniff_stacks(file))
    opts = StatOptions(
        slab=slab,
        page=page,
        caller=caller,
        alloc=alloc,
        slab_caller_sort=sorts.get(("slab", "caller"), DEFAULT_SLAB_SORT),
        slab_alloc_sort=sorts.get(("slab", "alloc"), DEFAULT_SLAB_SORT),
        page_caller_sort=sorts.get(("page", "caller"), DEFAULT_PAGE_SORT),
        page_alloc_sort=sorts.get(("page", "alloc"), DEFAULT_PAGE_SORT),
        caller_lines=o["lines"].get("caller", -1),
        alloc_lines=o["lines"].get("alloc", -1),
        raw_ip=raw_ip,
        live=live,
        time=window,
        page_size=page_size,
        cpu_nodes=_cpu_nodes(cpu_nodes),
        migratetypes="pre-4.4" if old_migratetypes else "4.4+",
        kallsyms=_kallsyms(kallsyms) if kallsyms else None,
        perf_only=perf_only,
        waste=waste,
        lifetime=lifetime,
        leaks=leaks,
        top=top,
        stacks=stacks,
        engine="python" if stacks else engine,
    )
    try:
        st = KmemStat(opts)
        with reading_progress(file, enabled=progress, description="kmemsim stat") as bar:
            reader = TraceReader(file, fmt=fmt, lenient=lenient, engine="auto" if engine == "auto" else engine,
                                 progress=bar)  # fmt: skip
            st.process(reader)
    except (KmemsimError, OSError, ValueError) as e:
        raise click.ClickException(str(e)) from None
    if not slab and not page:
        if perf_only:
            # perf kmem: "if (kmem_slab == 0 && kmem_page == 0)" the default, kmem.default = slab
            opts.slab, opts.page = True, False
            slab = True
        else:
            opts.slab = st.has_slab_events or not st.has_page_events
            opts.page = st.has_page_events
    errmsg = "No {0} allocation events found.  Have you run 'perf kmem record --{0}'?"
    if opts.slab and slab and not st.has_slab_events:
        raise click.ClickException(errmsg.format("slab"))
    if opts.page and page and not st.has_page_events:
        raise click.ClickException(errmsg.format("page"))
    if folded is not None:
        if not st.has_stacks:
            raise click.ClickException(
                f"{file}: no stacks in the trace for --folded (record them: perf kmem record with -g and "
                "perf script -F comm,tid,cpu,time,event,trace,ip,sym; or ftrace's options/stacktrace)"
            )
        try:
            folded.write_text("".join(line + "\n" for line in st.folded_stacks()))
        except OSError as e:
            raise click.ClickException(f"{folded}: {e.strerror or e}") from None
    ps = reader.stats
    if as_json or as_csv:
        from kmemsim.trace.stat_output import stat_document, to_csv, to_json

        doc = stat_document(st, ps, source=file)
        sys.stdout.write(to_json(doc) if as_json else to_csv(doc))
        return
    if ps.unordered:
        # perf_session__warn_order() through ui__warning() (stdio): on stderr, after the events
        sys.stderr.write(f"Warning:\n{ps.unordered} out of order events recorded.\n")
    sys.stdout.write(st.report())
    if not perf_only:
        sys.stdout.write(f"\nTrace: {ps.summary()}\n")
        if ps.malformed:
            for lineno, reason in ps.malformed_examples:
                sys.stdout.write(f"  skipped line {lineno}: {reason}\n")


# ---------------------------------------------------------------------------- record


@click.command("record", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-o", "--output", default="trace.txt.gz", show_default=True,
              type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Trace file to write: gzip when it ends in .gz (stat, replay and compare read both).")  # fmt: skip
@click.option("--force", is_flag=True, help="Replace FILE if it exists (never through a symlink).")
@click.option("--slab", is_flag=True, help="The slab events (perf kmem record --slab's).")
@click.option("--page", is_flag=True, help="The page events (perf kmem record --page's).")
@click.option("-e", "--event", "events", multiple=True, metavar="EVENT",
              help="Another event: kmem/NAME, NAME (of kmem) or SYSTEM/NAME (repeatable).")  # fmt: skip
@click.option("-g", "--stacktrace", is_flag=True,
              help="A kernel stack trace after every event (tracefs options/stacktrace), so that call sites "
                   "are known; several times the bytes: consider a larger --buffer-kb.")  # fmt: skip
@click.option("-p", "--pid", "pids", multiple=True, metavar="PID[,PID...]",
              help="Trace only these processes (all their threads) and what they start from now on "
                   "(set_event_pid, options/event-fork); with a COMMAND, while it runs, else until they "
                   "exit or Ctrl-C.")  # fmt: skip
@click.option("--tree", is_flag=True,
              help="Trace only COMMAND and the processes it starts (by default every task is traced, "
                   "as perf kmem record -a does).")  # fmt: skip
@click.option("--comm", "comms", multiple=True, metavar="NAME",
              help="Trace only tasks of this name (an event filter comm == NAME; *, ? and [ make a glob; "
                   "repeatable).")  # fmt: skip
@click.option("--buffer-kb", type=int, default=8192, show_default=True, metavar="KIB",
              help="Per-CPU ring buffer size.")  # fmt: skip
@click.option("--snapshot", "snapshot", default=None, type=click.Path(path_type=Path), metavar="PATH",
              help="Also a host snapshot (kmemsim snapshot's), read just before tracing starts and written "
                   "after the recording, for replay --host PATH: PATH.tar.gz is one archive, else a "
                   "directory.")  # fmt: skip
@click.option("--snapshot-root", default="/", hidden=True, help="Root of the host to snapshot (tests).")
@click.option("--hash-ptr", is_flag=True,
              help="Keep ftrace's hashed pointers (by default they are printed as they are, as perf kmem "
                   "record's: replay then knows which slab a page became).")  # fmt: skip
@click.argument("command", nargs=-1, required=False, type=click.UNPROCESSED, metavar="[--] COMMAND [ARG]...")
def record(output: Path, force: bool, slab: bool, page: bool, events: tuple[str, ...], stacktrace: bool,
           pids: tuple[str, ...], tree: bool, comms: tuple[str, ...], buffer_kb: int, snapshot: Path | None,
           snapshot_root: str, hash_ptr: bool, command: tuple[str, ...]) -> None:  # fmt: skip
    """Trace the kmem events of COMMAND into FILE (as root): both slab and page events
    unless --slab, --page or -e choose.

    The tracing state is restored however kmemsim ends (the command's end,
    Ctrl-C, SIGTERM, SIGHUP, an error); the command runs in its own process
    group, which is stopped with it.  The exit status is the command's (128+N
    when kmemsim was stopped by signal N).

    With --snapshot, the host's memory views are read once the trace buffer is
    set up, just before tracing starts, and written after the recording: a
    snapshot written before tracing would use up (in its 7,000 files' inodes
    and dentries) the free objects it has just counted."""
    from kmemsim.trace.record import RecordError, RecordResult
    from kmemsim.trace.record import record as do_record

    tty = sys.stderr.isatty()

    def progress(r: RecordResult) -> None:
        if tty:
            click.echo(f"\rkmemsim record: {r.events} events, {r.bytes} bytes", nl=False, err=True)

    try:
        res = do_record(list(command), output, slab=slab, page=page, events=events, buffer_kb=buffer_kb,
                        stacktrace=stacktrace, pids=pids, comms=comms, tree=tree, force=force,
                        progress=progress, snapshot=snapshot, snapshot_root=snapshot_root,
                        hash_ptr=hash_ptr)  # fmt: skip
    except RecordError as e:
        msg = str(e)
        if msg.endswith("command not found") or ": command not found (" in msg or msg.endswith(": no such file"):
            raise _NotFound(msg) from None
        if msg.endswith(": not an executable file") or msg.endswith(": permission denied"):
            raise _NotExecutable(msg) from None
        raise click.ClickException(msg) from None
    try:
        if tty:
            click.echo("", err=True)
        for note in res.notices:
            click.echo(f"kmemsim record: note: {note}", err=True)
        lost = f", {res.lost_markers} lost-event markers" if res.lost_markers else ""
        over = f", {res.overrun} events overwritten" if res.overrun else ""
        left = f", stopped {res.leftover} processes left in the command's group" if res.leftover else ""
        if res.signal is not None and res.seconds == 0 and not res.bytes and res.returncode is None:
            click.echo(f"kmemsim record: interrupted ({_signame(res.signal)}) before recording; nothing written",
                       err=True)  # fmt: skip
        else:
            click.echo(
                f"kmemsim record: {res.events} events, {res.bytes} bytes in {res.seconds:.1f}s{lost}{over}{left}"
                f" -> {output}" + (f" (interrupted by {_signame(res.signal)})" if res.signal else ""),
                err=True,
            )
        if res.snapshot is not None:
            click.echo(f"kmemsim record: host snapshot (read before tracing) -> {res.snapshot}", err=True)
    except OSError:
        pass  # the terminal went away (SIGHUP): the trace is written all the same
    if res.signal is not None:
        sys.exit(128 + res.signal)
    if res.returncode:
        sys.exit(res.returncode if res.returncode > 0 else 128 - res.returncode)


class _NotFound(click.ClickException):
    """A command that does not exist: exit status 127, as a shell's."""

    exit_code = 127


class _NotExecutable(click.ClickException):
    """A command that cannot be executed: exit status 126, as a shell's."""

    exit_code = 126


def _signame(signum: int) -> str:
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


# ---------------------------------------------------------------------------- replay and compare


def _replay_options(fn):
    fn = click.option("--no-seed", is_flag=True,
                      help="Start the trace's caches empty, not where the host snapshot's were.")(fn)  # fmt: skip
    fn = click.option("--top", type=int, default=15, show_default=True,
                      help="Rows of the per-cache tables (-1: all).")(fn)  # fmt: skip
    fn = click.option("--report", "report", type=click.Path(dir_okay=False, path_type=Path), metavar="OUT.html",
                      help="Also write a self-contained HTML page (charts, sortable tables, the summary; "
                      "opens offline); checked before the replay.")(fn)  # fmt: skip
    fn = click.option("--interval", type=float, metavar="SECONDS",
                      help="Sample the machine every SECONDS of trace time (instead of --every).")(fn)  # fmt: skip
    fn = click.option("--every", type=int, default=1000, show_default=True, metavar="N",
                      help="Sample the machine every N events.")(fn)  # fmt: skip
    fn = click.option("--lenient", is_flag=True, help="Count and skip malformed lines instead of stopping.")(fn)
    fn = click.option(
        "--format", "fmt", type=click.Choice(["auto", "ftrace", "perf-script", "trace-cmd"]), default="auto",
        show_default=True, help="Trace text format.",
    )(fn)  # fmt: skip
    fn = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE",
                      help="A tunable of the machine (repeatable); also cpus=N, ram=SIZE.")(fn)  # fmt: skip
    fn = click.option("--cpus", type=int, default=None, help="Number of CPUs (default: the profile's).")(fn)
    fn = click.option("--ram", default=None, help="RAM size, e.g. 4G (default: the profile's).")(fn)
    fn = click.option("--host", "host", default=None, metavar="SNAPSHOT",
                      help="Boot from a host snapshot (kmemsim snapshot): its zones, CPUs, vm sysctls and, for "
                      "the trace's caches, /sys/kernel/slab geometry.")(fn)  # fmt: skip
    return fn


def _options(every: int, interval: float | None, no_seed: bool = False):
    from kmemsim.trace.replay import ReplayOptions

    if every < 0:
        raise click.BadParameter("must be >= 0", param_hint="--every")
    if interval is not None and not (math.isfinite(interval) and interval > 0):
        raise click.BadParameter(f"must be > 0 and finite, not {interval}", param_hint="--interval")
    return ReplayOptions(sample_every=every, sample_interval=interval, seed=not no_seed)


def _side(host, profile, ram, cpus, sets, what="--set") -> dict[str, Any]:
    from kmemsim.trace.replay import parse_sets

    try:
        tun, mach = parse_sets(sets, what)
    except KmemsimError as e:
        raise click.BadParameter(str(e), param_hint=what) from None
    side: dict[str, Any] = {"host": host, "profile": mach.get("profile", profile), "ram": mach.get("ram", ram),
                            "cpus": mach.get("cpus", cpus), "tunables": tun}  # fmt: skip
    return side


def _report_path(report: Path | None) -> None:
    """Fail now, not after the replay, when the report cannot be written."""
    if report is not None:
        from kmemsim.trace.report import check_report_path

        try:
            check_report_path(report)
        except KmemsimError as e:
            raise click.BadParameter(str(e).removeprefix("--report "), param_hint="--report") from None


def _write_report(report: Path, page: str, what: str) -> None:
    from kmemsim.trace.report import write_report

    try:
        write_report(report, page)
    except KmemsimError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"kmemsim {what}: report written to {report}", err=True)


def _stat_for_report(events):
    from kmemsim.trace import KmemStat, StatOptions

    st = KmemStat(StatOptions(slab=True, page=True, caller=True, caller_lines=20, waste=True, leaks=True, top=20))
    st.process(events)
    if not st.has_page_events:
        st.opts.page = False
    if not st.has_slab_events:
        st.opts.slab = False
    return st


def _output_options(fn):
    fn = click.option("--progress/--no-progress", default=None,
                      help="A progress bar on stderr (default: when stderr is a terminal).")(fn)  # fmt: skip
    fn = click.option("--csv", "as_csv", is_flag=True, help="The report as CSV rows: section,row,field,value.")(fn)
    fn = click.option("--json", "as_json", is_flag=True,
                      help="The report as JSON (docs/traces.md: schema kmemsim-replay/1, kmemsim-compare/1).")(fn)
    return fn


@contextlib.contextmanager
def _collector_spares_setup() -> Iterator[Callable[[], None]]:
    """Run a command with Python's cyclic collector off until the machine is built; the
    ``built()`` it gives freezes what exists then (gc.freeze()) and turns the collector on.

    Importing the model, booting a machine and seeding it make some hundred thousand objects
    that live as long as the machine, and hardly a cycle to collect: every collection during
    setup walked them again, and so would the replay's (5 ms of a 411k-line replay).  Frozen
    objects are never walked; they are unfrozen when the command ends (a test runs many).
    Nothing is done when the collector was off already (the caller's choice)."""
    if not gc.isenabled():
        yield lambda: None
        return
    frozen = False

    def built() -> None:
        nonlocal frozen
        if not frozen:
            gc.freeze()
            frozen = True
            gc.enable()

    gc.disable()
    try:
        yield built
    finally:
        gc.enable()
        if frozen:
            gc.unfreeze()


@contextlib.contextmanager
def _spooled(file: str, needed: bool) -> Iterator[str]:
    """``file``, or (``-`` when it must be read twice) standard input copied to a temporary file."""
    if file != "-" or not needed:
        yield file
        return
    import shutil  # only for a trace on standard input: not at import (tempfile, shutil: 3 ms)
    import tempfile

    with tempfile.NamedTemporaryFile(prefix="kmemsim-stdin-", suffix=".trace") as tmp:
        shutil.copyfileobj(sys.stdin.buffer, tmp, 1 << 20)
        tmp.flush()
        yield tmp.name


@with_example(host=True)
@click.command("replay")
@click.option("--profile", default=None, type=click.Choice(kmemsim.profiles.profile_names()),
              help="Kernel and architecture (default: linux-6.18-x86_64).")  # fmt: skip
@_replay_options
@_output_options
@click.option("--no-check", is_flag=True, help="Do not run k.check() at the end.")
@click.option("--engine", type=click.Choice(["auto", "compiled", "python"]), default="auto", show_default=True,
              help="The replay loop: the compiled core where it was built and the machine runs SLUB (auto), "
                   "or the Python loop; both give the same replay.")  # fmt: skip
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False))
def replay(profile, host, ram, cpus, sets, fmt, lenient, every, interval, report, top, no_seed, as_json, as_csv,
           progress, no_check, engine, file) -> None:
    """Replay the kmem trace FILE into a booted machine and report its state: every
    event on the CPU that traced it, pointers mapped to the model's objects; prints
    `bytes_alloc mismatches: N`, `slab pages allocated: trace N, model M` and the slab
    footprint, buddy free lists and fragmentation at the end (see docs/traces.md)."""
    with _collector_spares_setup() as built:
        _replay(profile, host, ram, cpus, sets, fmt, lenient, every, interval, report, top, no_seed, as_json, as_csv,
                progress, no_check, engine, file, built)


def _replay(profile, host, ram, cpus, sets, fmt, lenient, every, interval, report, top, no_seed, as_json, as_csv,
            progress, no_check, engine, file, built: Callable[[], None]) -> None:
    """The replay command, ``built()`` called once its machine is booted and seeded."""
    from kmemsim.trace import TraceReader
    from kmemsim.trace.progress import reading_progress
    from kmemsim.trace.replay import Replay, ReplayInputError, boot_machine, located

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    opts = _options(every, interval, no_seed)
    _report_path(report)
    side = _side(host, profile, ram, cpus, sets)
    with _spooled(file, bool(report)) as path:
        try:
            k = boot_machine(**side)
            r = Replay(k, options=opts)
            built()
            r.engine = engine
            with reading_progress(path, enabled=progress, description="kmemsim replay", min_bytes=1 << 20) as bar:
                reader = TraceReader(path, fmt=fmt, lenient=lenient, progress=bar)
                r.feed(reader)
        except ReplayInputError as e:
            raise click.ClickException(str(located(e, path if file != "-" else "<stdin>"))) from None
        except (KmemsimError, OSError) as e:
            raise click.ClickException(str(e)) from None
        check_failed = None
        try:
            r.finish(check=not no_check)
        except KmemsimError as e:
            check_failed = str(e)
        r.parse_stats = reader.stats
        text = r.summary(top=top, parse_stats=reader.stats)
        if as_json or as_csv:
            from kmemsim.trace.replay_output import replay_document, to_csv, to_json

            doc = replay_document(r, reader.stats, None if file == "-" else file, top=top)
            sys.stdout.write(to_json(doc) if as_json else to_csv(doc))
        else:
            sys.stdout.write(text)
        if report:
            from kmemsim.trace.report import html_report

            # a second pass over the file: the report's statistics stream too (bounded memory)
            try:
                st = _stat_for_report(TraceReader(path, fmt=fmt, lenient=lenient))
            except (KmemsimError, OSError) as e:
                raise click.ClickException(str(e)) from None
            page = html_report([("replay", r)], stat=st, title=f"kmemsim replay of {file}",
                               summaries=[("Replay", text)], parse_stats=reader.stats)  # fmt: skip
            _write_report(report, page, "replay")
    if check_failed:
        raise click.ClickException(f"k.check() failed after the replay: {check_failed}")


@with_example()
@click.command("compare")
@click.option("--profile", "profiles", multiple=True, type=click.Choice(kmemsim.profiles.profile_names()),
              help="Kernel and architecture; give it twice for A and B, once for both.")  # fmt: skip
@_replay_options
@_output_options
@click.option("--a-set", "a_sets", multiple=True, metavar="NAME=VALUE",
              help="A tunable of machine A only; also cpus=, ram=, profile=.")  # fmt: skip
@click.option("--b-set", "b_sets", multiple=True, metavar="NAME=VALUE",
              help="A tunable of machine B only; also cpus=, ram=, profile=.")  # fmt: skip
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False))
def compare(profiles, host, ram, cpus, sets, fmt, lenient, every, interval, report, top, no_seed, as_json, as_csv,
            progress, a_sets, b_sets, file) -> None:
    """Replay the kmem trace FILE on two machines, A and B, and print them side by side:
    footprint, slab counts, fragmentation and the differences.  The machines differ by
    --profile given twice and/or by --a-set/--b-set (e.g. --b-set slab_nomerge=1,
    --b-set min_free_kbytes=65536, --b-set cpus=4); --set applies to both."""
    from kmemsim.trace import TraceReader
    from kmemsim.trace.progress import reading_progress
    from kmemsim.trace.replay import compare as do_compare

    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    if len(profiles) > 2:
        raise click.BadParameter("give at most two profiles (A and B)", param_hint="--profile")
    pa = profiles[0] if profiles else None
    pb = profiles[1] if len(profiles) > 1 else pa
    a = _side(host, pa, ram, cpus, tuple(sets) + tuple(a_sets), "--a-set")
    b = _side(host, pb, ram, cpus, tuple(sets) + tuple(b_sets), "--b-set")
    if a == b:
        raise click.UsageError("machines A and B are the same: give --profile twice, or --a-set / --b-set")
    opts = _options(every, interval, no_seed)
    _report_path(report)
    with _spooled(file, True) as path:
        try:
            with reading_progress(path, enabled=progress, description="kmemsim compare", min_bytes=1 << 20) as bar:
                c = do_compare(path, a, b, options=opts, fmt=fmt, lenient=lenient, progress=bar)
        except (KmemsimError, OSError) as e:
            raise click.ClickException(str(e)) from None
        text = c.report(top=top)
        if as_json or as_csv:
            from kmemsim.trace.replay_output import compare_document, to_csv, to_json

            doc = compare_document(c, None if file == "-" else file, top=top)
            sys.stdout.write(to_json(doc) if as_json else to_csv(doc))
        else:
            sys.stdout.write(text)
        if report:
            from kmemsim.trace.report import html_report

            try:
                st = _stat_for_report(TraceReader(path, fmt=fmt, lenient=lenient))
            except (KmemsimError, OSError) as e:
                raise click.ClickException(str(e)) from None
            page = html_report([("A", c.a), ("B", c.b)], stat=st, title=f"kmemsim compare of {file}",
                               summaries=[("Compare", text), ("Machine A", c.a.summary(top=top)),
                                          ("Machine B", c.b.summary(top=top))], comparison=c)  # fmt: skip
            _write_report(report, page, "compare")
    bad = [n for n, r in (("A", c.a), ("B", c.b)) if r.check_error]
    if bad:
        raise click.ClickException(f"k.check() failed after the replay on {' and '.join(bad)}")


def register(group: click.Group) -> None:
    """Add ``stat`` and ``record`` to the ``kmemsim`` click group."""
    group.add_command(stat)
    group.add_command(record)


def register_replay(group: click.Group) -> None:
    """Add ``replay`` and ``compare`` to the ``kmemsim`` click group."""
    group.add_command(replay)
    group.add_command(compare)
