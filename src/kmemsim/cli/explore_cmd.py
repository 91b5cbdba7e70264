"""``kmemsim explore``: one self-contained interactive HTML page of a machine.

    kmemsim explore [-o OUT.html] [--force] [--profile P] [--ram R] [--cpus N] [--set NAME=VALUE]
    kmemsim explore --trace FILE [--host SNAPSHOT] [--every N] [-o OUT.html]
    kmemsim explore --example                      the sample trace, on the snapshot of its host

Without a trace the page shows a freshly booted machine; with one, the machine the
trace rebuilds (kmemsim.trace.replay) and a timeline with a scrubber over samples taken
every N events.  The page works offline: its script, style and data are inside it.
"""
from __future__ import annotations

from pathlib import Path

import click

import kmemsim
from kmemsim.errors import KmemsimError

__all__ = ["explore"]


@click.command("explore")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=Path("explore.html"), show_default=True,
              metavar="OUT.html", help="The page to write (refused if it exists, unless --force).")
@click.option("--force", is_flag=True, help="Replace OUT.html if it exists (never through a symlink).")
@click.option("--profile", default=None, type=click.Choice(kmemsim.profiles.profile_names()),
              help=f"Kernel and architecture (default: {kmemsim.DEFAULT_PROFILE}).")
@click.option("--ram", default=None, help="RAM size, e.g. 1G, 160M (default: the profile's).")
@click.option("--cpus", type=int, default=None, help="Number of CPUs (default: the profile's).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a tunable (repeatable).")
@click.option("--trace", "trace", type=click.Path(dir_okay=False, allow_dash=True), default=None, metavar="FILE",
              help="Replay this kmem trace (ftrace, perf script or trace-cmd text) and show a timeline.")
@click.option("--host", default=None, metavar="SNAPSHOT", help="With --trace: boot from this host snapshot.")
@click.option("--every", type=int, default=None, metavar="N",
              help="With --trace: a sample every N events (default: about 100 samples, at least every 100).")
@click.option("--max-samples", type=int, default=200, show_default=True,
              help="With --trace: at most this many samples.")
@click.option("--format", "fmt", type=click.Choice(["auto", "ftrace", "perf-script", "trace-cmd"]), default="auto",
              show_default=True, help="With --trace: the trace's text format.")
@click.option("--example", is_flag=True,
              help="Replay the sample trace shipped with kmemsim, on the snapshot of its host.")
def explore(output: Path, force: bool, profile: str | None, ram: str | None, cpus: int | None, sets: tuple[str, ...],
            trace: str | None, host: str | None, every: int | None, max_samples: int, fmt: str, example: bool) -> None:
    """Write one self-contained interactive HTML page of a machine: physical memory by
    owner (zoom to one page), the buddy free lists and watermarks, the slab caches with
    their slabs and objects, the vmalloc areas and the address layout.  With --trace, the
    machine the trace rebuilds and a timeline to scrub through the replay."""
    from kmemsim import explore as ex
    from kmemsim.fileio import check_output
    from kmemsim.trace.replay import boot_machine, parse_sets

    if every is not None and every <= 0:
        raise click.BadParameter("must be > 0", param_hint="--every")
    if max_samples < 2:
        raise click.BadParameter("must be >= 2", param_hint="--max-samples")
    if example:
        if trace is not None:
            raise click.UsageError(f"give --trace ({trace}) or --example, not both")
        from kmemsim.examples import example_path

        trace = str(example_path("trace"))
        if host is None and profile is None and ram is None and cpus is None:
            host = str(example_path("snapshot"))
    if host is not None and trace is None:
        raise click.UsageError("--host needs --trace (the snapshot the trace's machine boots from)")
    try:
        check_output(output, force=force)
        tun, mach = parse_sets(sets)
        ram = mach.get("ram", ram)
        cpus = mach.get("cpus", cpus)
        profile = mach.get("profile", profile)
        if trace is None:
            k = kmemsim.boot(profile or kmemsim.DEFAULT_PROFILE, ram=ram, cpus=cpus, **tun)
            text = ex.page_of(k)
            what = f"a fresh {k.profile.name} machine, {k.ram >> 20} MiB"
        else:
            from kmemsim.trace import TraceReader

            events = list(TraceReader(trace, fmt=fmt))
            k = boot_machine(host=host, profile=profile, ram=ram, cpus=cpus, tunables=tun)
            step = every or max(100, -(-len(events) // 100))
            text, r = ex.replay_page(k, events, source=Path(trace).name if trace != "-" else "stdin", every=step,
                                     max_samples=max_samples)
            what = f"{r.n:,} events replayed on {k.profile.name}, {k.ram >> 20} MiB"
            if r.check_error:
                click.echo(f"kmemsim explore: k.check() failed after the replay: {r.check_error}", err=True)
        ex.write_page(output, text, force=force)
    except (KmemsimError, OSError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"kmemsim explore: {what}: {output} ({len(text.encode()) / 1e6:.1f} MB)", err=True)
