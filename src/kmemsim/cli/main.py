"""The ``kmemsim`` command line.

    kmemsim tour [CHAPTER...]                   the guided run on the default machine
    kmemsim profiles                            profiles and the tunable table
    kmemsim features [--profile P] [--json]     what each kernel has, by named feature
    kmemsim layout [--profile P] [--ram SIZE]   the address-space map, as a textbook figure
    kmemsim dmesg [--profile P] [--ram SIZE]    the boot log of a machine
    kmemsim proc NAME | --list                  a /proc (or debugfs) file of a machine
    kmemsim snapshot -o DIR [--tar]             this host's memory views (as root)
    kmemsim record / stat / replay / compare    kmem traces (kmemsim.cli.trace_cmd)
    kmemsim sweep TRACE... --grid NAME=V1,V2    replays under a grid of settings, on Dask
    kmemsim explore [-o OUT.html] [--trace F]   the machine drawn in one page (kmemsim.cli.explore_cmd)
    kmemsim quiz [--seed N] [-c]                predict-then-reveal exercises (kmemsim.cli.quiz_cmd)
    kmemsim example [NAME]                      where the shipped sample files are

Every command that boots a machine takes ``--profile``, ``--ram``, ``--cpus``
and ``--set NAME=VALUE`` for any tunable of the profile.  ``kmemsim --help``
lists the commands in :data:`ORDER`, each with its one-line :data:`SHORT_HELP`.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

import click

import kmemsim
from kmemsim.errors import KmemsimError

#: the command list of ``kmemsim --help``: this order, and a whole line for each
ORDER = ("tour", "profiles", "features", "layout", "dmesg", "proc", "snapshot", "record", "stat", "replay", "compare",
         "sweep", "explore", "quiz", "example")
SHORT_HELP = {
    "tour": "The guided tour; --profile P: the driver books' story on P.",
    "profiles": "List the profiles and every tunable.",
    "features": "Which kernel behaviours each profile has, by name.",
    "layout": "Draw the kernel's virtual address map, user space to the top.",
    "dmesg": "Print the boot log of a machine.",
    "proc": "Print a /proc or debugfs file of a machine (--list: all).",
    "snapshot": "Copy this host's memory views into a snapshot (as root).",
    "record": "Record the kmem events of a command into a trace (as root).",
    "stat": "perf kmem stat's report of a kmem trace, and more.",
    "replay": "Replay a kmem trace in the model; --report: an HTML page.",
    "compare": "Replay a kmem trace on machines A and B; show B - A.",
    "sweep": "Replay traces under a grid of settings, in parallel on Dask.",
    "explore": "Write an interactive HTML page of a machine (--trace: a replay).",
    "quiz": "Predict-then-reveal exercises on the allocators (-c: answers).",
    "example": "Print the paths of the sample trace and snapshot.",
}

EPILOG = """\b
Try, with the sample trace and snapshot that come with kmemsim:
  kmemsim stat --example
  kmemsim replay --example --report replay.html
  kmemsim compare --example --a-set slab_nomerge=0 --b-set slab_nomerge=1
  kmemsim proc --list
  kmemsim proc zoneinfo --host "$(kmemsim example snapshot)"
"""


#: The commands defined in other modules: name -> (module, attribute), imported when the command
#: is looked up, so that ``kmemsim replay`` loads the trace commands' module and not the
#: snapshot's, explorer's, quiz's or sweep's (``kmemsim --help`` and a mistyped name load them all).
LAZY_COMMANDS = {
    "snapshot": ("kmemsim.cli.snapshot_cmd", "snapshot"),
    "record": ("kmemsim.cli.trace_cmd", "record"),
    "stat": ("kmemsim.cli.trace_cmd", "stat"),
    "replay": ("kmemsim.cli.trace_cmd", "replay"),
    "compare": ("kmemsim.cli.trace_cmd", "compare"),
    "sweep": ("kmemsim.cli.sweep_cmd", "sweep"),
    "explore": ("kmemsim.cli.explore_cmd", "explore"),
    "quiz": ("kmemsim.cli.quiz_cmd", "quiz"),
    "example": ("kmemsim.cli.example", "example"),
}


class _Commands(click.Group):
    """The kmemsim group: commands in :data:`ORDER`, then any others; those of
    :data:`LAZY_COMMANDS` are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = {*self.commands, *LAZY_COMMANDS}
        return [n for n in ORDER if n in names] + sorted(n for n in names if n not in ORDER)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            # a name of none: every command, so that click's "Did you mean" sees them all
            for name in [cmd_name] if cmd_name in LAZY_COMMANDS else list(LAZY_COMMANDS):
                if name not in self.commands:
                    module, attr = LAZY_COMMANDS[name]
                    self.add_command(getattr(importlib.import_module(module), attr), name)
        return self.commands.get(cmd_name)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(cmd, name)
        short = SHORT_HELP.get(name or cmd.name or "")
        if short:
            cmd.short_help = short


def boot_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a tunable (repeatable).")(fn)
    fn = click.option("--cpus", type=int, default=None, help="Number of CPUs (default: the profile's).")(fn)
    fn = click.option("--ram", default=None, help="RAM size, e.g. 1G, 160M (default: the profile's).")(fn)
    fn = click.option(
        "--profile",
        default=kmemsim.DEFAULT_PROFILE,
        show_default=True,
        type=click.Choice(kmemsim.profiles.profile_names()),
        help="Kernel and architecture (or an alias of one: kmemsim profiles).",
    )(fn)
    return fn


def _boot(profile: str, ram: str | None, cpus: int | None, sets: tuple[str, ...],
          host: str | None = None) -> kmemsim.Kernel:
    """Boot the machine of the command line; ``--set cpus=N`` and ``--set ram=SIZE`` are
    ``--cpus`` and ``--ram`` (as for replay and compare).  With ``host`` (a snapshot) RAM,
    CPUs and the profile come from it: giving them too is an error, not ignored."""
    tunables: dict[str, Any] = {}
    for s in sets:
        name, eq, value = s.partition("=")
        name, value = name.strip(), value.strip()
        if not eq or not name:
            raise click.BadParameter(f"{s!r}: expected NAME=VALUE", param_hint="--set")
        if name == "cpus":
            try:
                cpus = int(value)
            except ValueError:
                raise click.BadParameter(f"{s!r}: cpus must be a number", param_hint="--set") from None
        elif name == "ram":
            ram = value
        else:
            tunables[name] = value
    try:
        if host is not None:
            return kmemsim.boot(profile, ram=ram, cpus=cpus, host=host, **tunables)
        return kmemsim.boot(profile, ram=ram, cpus=cpus, **tunables)
    except KmemsimError as e:
        raise click.ClickException(str(e)) from None


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EPILOG)
@click.version_option(kmemsim.__version__, prog_name="kmemsim")
def main() -> None:
    """kmemsim: the Linux kernel's memory allocators, executable."""


@main.command()
@click.argument("chapters", nargs=-1)
@click.option("--profile", default=None, type=click.Choice(kmemsim.profiles.profile_names()),
              help="Tell the driver books' story (kmalloc, slab caches, get_free_pages, vmalloc, GFP flags and "
                   "contexts, mempool, ioremap) on a 160 MB machine of this profile instead.")
def tour(chapters: tuple[str, ...], profile: str | None) -> None:
    """The guided tour on the built-in default machine (--profile P: the books' story on P)."""
    from kmemsim import tour as tour_mod

    if profile is not None:
        if chapters:
            raise click.UsageError("--profile runs the whole story: give no chapters with it")
        from kmemsim.tour import story

        try:
            story.run(click.echo, profile)
        except KmemsimError as e:
            raise click.ClickException(str(e)) from None
        return
    try:
        tour_mod.run(click.echo, list(chapters) or None)
    except ValueError as e:
        raise click.ClickException(str(e)) from None


@main.command()
@boot_options
@click.option("--min-hole", default="0", show_default=True, help="Hide unused holes smaller than this size.")
@click.option("--fields", is_flag=True, help="Also list the layout's named boundaries.")
def layout(profile: str, ram: str | None, cpus: int | None, sets: tuple[str, ...], min_hole: str, fields: bool) -> None:
    """Draw the kernel virtual address map, from user space to the top."""
    from kmemsim.layout import draw
    from kmemsim.units import memparse

    k = _boot(profile, ram, cpus, sets)
    try:
        hide = memparse(min_hole, "--min-hole")
    except KmemsimError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"{k.profile.name}, {kmemsim.units.human(k.ram)} RAM ({k.cmdline})")
    click.echo(draw(k.layout, min_size=hide))
    if fields:
        click.echo("")
        width = k.layout.bits // 4
        for name, value in k.layout.fields().items():
            click.echo(f"{name:<22} 0x{value:0{width}x}")


@main.command()
@boot_options
def dmesg(profile: str, ram: str | None, cpus: int | None, sets: tuple[str, ...]) -> None:
    """Print the boot log of a machine."""
    k = _boot(profile, ram, cpus, sets)
    sys.stdout.write(k.dmesg())


def proc_files(k: kmemsim.Kernel) -> list[str]:
    """Every file ``kmemsim proc`` can show on machine ``k``, from its registries: the /proc
    files, then the debugfs ones (each tried on ``k``: a file the machine registers but its
    kernel's layout of which is not modelled yet is left out)."""
    out = []
    for n in k.procfs.walk():
        try:
            k.proc(n)
        except KmemsimError:
            continue
        out.append(n)
    for n in k.debugfs_fs.walk():
        try:
            k.debugfs(n)
        except KmemsimError:
            continue
        out.append(n)
    return out


@main.command()
@boot_options
@click.option("--host", "host", default=None, metavar="SNAPSHOT", help="Boot from a host snapshot (kmemsim snapshot).")
@click.option("--list", "list_files", is_flag=True, help="List every file this machine can show, one a line.")
@click.option("--json", "as_json", is_flag=True,
              help="The file as data: schema kmemsim-proc/1 (docs/proc-json.md).")
@click.option("--csv", "as_csv", is_flag=True,
              help="A table-shaped file (buddyinfo, pagetypeinfo, slabinfo, vmallocinfo, iomem, meminfo, vmstat) "
                   "as CSV.")
@click.argument("name", required=False)
def proc(
    profile: str,
    ram: str | None,
    cpus: int | None,
    sets: tuple[str, ...],
    host: str | None,
    list_files: bool,
    as_json: bool,
    as_csv: bool,
    name: str | None,
) -> None:
    """Print the file /proc/NAME of a freshly booted machine (buddyinfo, zoneinfo,
    slabinfo, ...), or a debugfs file given by its path under /sys/kernel/debug
    (extfrag/unusable_index, ...).  --list prints every file the machine has;
    --json and --csv print it as data (docs/proc-json.md)."""
    if as_json and as_csv:
        raise click.UsageError("give --json or --csv, not both")
    if list_files and (as_json or as_csv):
        raise click.UsageError("--list prints names; --json and --csv take one file NAME")
    if host is not None and profile != kmemsim.DEFAULT_PROFILE:
        raise click.UsageError(f"--host boots the snapshot's machine ({kmemsim.DEFAULT_PROFILE}); "
                               f"--profile {profile} cannot be given with it")
    k = _boot(profile, ram, cpus, sets, host)
    if list_files:
        if name:
            raise click.UsageError(f"give NAME ({name}) or --list, not both")
        click.echo("\n".join(proc_files(k)))
        return
    if not name:
        raise click.UsageError(f"Missing argument 'NAME': one of {', '.join(proc_files(k))}")
    rel = name.removeprefix("/proc/").removeprefix("/sys/kernel/debug/")
    try:
        text = k.proc(rel) if "/" not in rel else k.debugfs(rel)
    except KmemsimError as e:
        has = f"{k.profile.name} has: {', '.join(proc_files(k))} (kmemsim proc --list)"
        if rel.split("/")[0] in {*k.procfs.listdir(), *k.debugfs_fs.listdir()}:
            raise click.ClickException(f"{e}\n{has}") from None  # a file of another kernel, or a bad knob
        raise click.ClickException(f"{name}: no such file; {has}") from None
    if as_json or as_csv:
        import json

        from kmemsim.cli.proc_data import document, to_csv

        try:
            doc = document(rel, text or "", k.profile.name, k.profile.kernel_version)
            sys.stdout.write(json.dumps(doc, indent=1) + "\n" if as_json else to_csv(doc))
        except KmemsimError as e:
            raise click.ClickException(str(e)) from None
        return
    sys.stdout.write(text or "")


@main.command()
def profiles() -> None:
    """List the profiles and every tunable."""
    for p in kmemsim.PROFILES.values():
        click.echo(f"{p.name:<20} {p.description}")
        click.echo(f"{'':<20} defaults: ram={p.default_ram} cpus={p.default_cpus}; NR_CPUS={p.nr_cpus}, HZ={p.hz}")
        for a in p.aliases:
            click.echo(f"{'':<20} alias: {a} (boots this profile)")
    click.echo("")
    click.echo(kmemsim.profiles.tunable_table())


@main.command()
@click.option("--profile", default=None, type=click.Choice(kmemsim.profiles.profile_names()),
              help="One profile: its features with what each is and the source followed.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable: one object per feature.")
def features(profile: str | None, as_json: bool) -> None:
    """The named kernel behaviours (kmemsim.features) and which profiles have them.

    Without --profile: one row per feature, a column per profile (yes or -).  With it: that
    kernel's features, present or not, each with what it is and the commit or source it follows."""
    import json

    from kmemsim.features import FEATURES, Features

    profs = [kmemsim.profiles.get_profile(profile)] if profile else list(kmemsim.PROFILES.values())
    have = {p.name: Features(p.kernel_version) for p in profs}
    if as_json:
        out = [{"name": f.name, "since": f.since, "until": f.until, "doc": f.doc, "source": f.commit,
                "profiles": {n: bool(getattr(fs, f.name)) for n, fs in have.items()}} for f in FEATURES]
        click.echo(json.dumps(out, indent=1))
        return
    if profile:
        p = profs[0]
        click.echo(f"{p.name} (Linux {p.kernel_version}): {sum(1 for f in FEATURES if getattr(have[p.name], f.name))}"
                   f" of {len(FEATURES)} features")
        for f in FEATURES:
            mark = "yes" if getattr(have[p.name], f.name) else " - "
            span = f.since + (f"-{f.until}" if f.until else "+")
            click.echo(f"{mark} {f.name:<28} {span:<10} {f.doc}" + (f" [{f.commit}]" if f.commit else ""))
        return
    width = max(len(f.name) for f in FEATURES)
    cols = [p.kernel_version for p in profs]
    click.echo(f"{'feature':<{width}}  {'kernels':<10} " + " ".join(f"{c:>7}" for c in cols))
    for f in FEATURES:
        span = f.since + (f"-{f.until}" if f.until else "+")
        marks = " ".join(f"{'yes' if getattr(have[p.name], f.name) else '-':>7}" for p in profs)
        click.echo(f"{f.name:<{width}}  {span:<10} {marks}")
    click.echo("\n(profiles: " + ", ".join(f"{p.kernel_version} = {p.name}" for p in profs)
               + "; kmemsim features --profile P explains each)")


def run() -> None:
    """The ``kmemsim`` console script (pyproject.toml): :func:`main`, then :func:`quick_exit`."""
    try:
        main(prog_name="kmemsim")
    except SystemExit as e:
        quick_exit(e.code)


def quick_exit(code: object) -> None:
    """End the process with ``code`` (SystemExit's), skipping the interpreter's teardown when
    nothing needs it: a replay leaves a machine of some ten thousand objects and the loaded
    modules, and Py_FinalizeEx()'s collections and module clearing took 5% of a 411k-line
    replay (20 ms) to free memory the kernel frees anyway.  The normal exit runs instead when
    something registered to run at exit (atexit, weakref.finalize: Dask's clusters, coverage),
    a profiler or tracer is on (``python -m cProfile``, pdb: they write or stop when the command
    returns), a thread other than the main one is alive, the code is not a number (SystemExit
    prints a message), or flushing standard output fails (a closed pipe: Python reports it as
    it always does)."""
    if (code is not None and not isinstance(code, int)) or sys.getprofile() is not None or sys.gettrace() is not None:
        raise SystemExit(code)
    threading = sys.modules.get("threading")
    ncallbacks = getattr(atexit, "_ncallbacks", None)
    if ncallbacks is None or ncallbacks() or (threading is not None and threading.active_count() > 1):
        raise SystemExit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    run()
