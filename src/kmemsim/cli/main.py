"""The ``kmemsim`` command line.

    kmemsim tour [CHAPTER...]                   the guided run on the default machine
    kmemsim layout [--profile P] [--ram SIZE]   the address-space map, as a textbook figure
    kmemsim dmesg [--profile P] [--ram SIZE]    the boot log of a machine
    kmemsim profiles                            profiles and the tunable table

Every command that boots a machine takes ``--profile``, ``--ram``, ``--cpus``
and ``--set NAME=VALUE`` for any tunable of the profile.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

import kmemsim
from kmemsim.errors import KmemsimError


def boot_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Set a tunable (repeatable).")(fn)
    fn = click.option("--cpus", type=int, default=None, help="Number of CPUs (default: the profile's).")(fn)
    fn = click.option("--ram", default=None, help="RAM size, e.g. 1G, 160M (default: the profile's).")(fn)
    fn = click.option(
        "--profile",
        default=kmemsim.DEFAULT_PROFILE,
        show_default=True,
        type=click.Choice(sorted(kmemsim.PROFILES)),
        help="Kernel and architecture.",
    )(fn)
    return fn


def _boot(profile: str, ram: str | None, cpus: int | None, sets: tuple[str, ...]) -> kmemsim.Kernel:
    tunables: dict[str, str] = {}
    for s in sets:
        name, eq, value = s.partition("=")
        if not eq or not name:
            raise click.BadParameter(f"{s!r}: expected NAME=VALUE", param_hint="--set")
        tunables[name.strip()] = value.strip()
    try:
        return kmemsim.boot(profile, ram=ram, cpus=cpus, **tunables)
    except KmemsimError as e:
        raise click.ClickException(str(e)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(kmemsim.__version__, prog_name="kmemsim")
def main() -> None:
    """kmemsim: the Linux kernel's memory allocators, executable."""


@main.command()
@click.argument("chapters", nargs=-1)
def tour(chapters: tuple[str, ...]) -> None:
    """The guided tour on the built-in default machine."""
    from kmemsim import tour as tour_mod

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


@main.command()
@boot_options
@click.option("--host", "host", default=None, metavar="SNAPSHOT", help="Boot from a host snapshot (kmemsim snapshot).")
@click.argument("name")
def proc(profile: str, ram: str | None, cpus: int | None, sets: tuple[str, ...], host: str | None, name: str) -> None:
    """Print a /proc view (buddyinfo, pagetypeinfo, zoneinfo, meminfo, vmstat) of a fresh machine,
    or a debugfs one given as extfrag/extfrag_index or extfrag/unusable_index."""
    if host:
        try:
            k = kmemsim.boot(host=host)
        except KmemsimError as e:
            raise click.ClickException(str(e)) from None
    else:
        k = _boot(profile, ram, cpus, sets)
    try:
        text = k.debugfs(name) if name.startswith("extfrag/") else k.proc(name)
    except KmemsimError as e:
        raise click.ClickException(str(e)) from None
    sys.stdout.write(text)


@main.command()
def profiles() -> None:
    """List the profiles and every tunable."""
    for p in kmemsim.PROFILES.values():
        click.echo(f"{p.name:<20} {p.description}")
        click.echo(f"{'':<20} defaults: ram={p.default_ram} cpus={p.default_cpus}; NR_CPUS={p.nr_cpus}, HZ={p.hz}")
    click.echo("")
    click.echo(kmemsim.profiles.tunable_table())


from kmemsim.cli.snapshot_cmd import snapshot  # noqa: E402

main.add_command(snapshot)

from kmemsim.cli.trace_cmd import register as register_trace  # noqa: E402
from kmemsim.cli.trace_cmd import register_replay  # noqa: E402

register_trace(main)
register_replay(main)

if __name__ == "__main__":  # pragma: no cover
    main()
