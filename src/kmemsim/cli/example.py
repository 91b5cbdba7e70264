"""``--example`` for the commands that read a trace, and the ``kmemsim example`` command.

:func:`with_example` adds ``--example`` to a click command whose argument is ``file``:
the command then runs on the sample trace shipped with kmemsim
(:mod:`kmemsim.examples`) and, for commands that boot a machine (``host=True``), on
the snapshot of the host it was recorded on unless the command line chooses a
machine itself.  It changes nothing else of the command.
"""

from __future__ import annotations

import functools
from typing import Any

import click

from kmemsim.examples import EXAMPLES, example_path

__all__ = ["with_example", "example"]

#: options that choose the machine: with any of them, --example does not add --host
_MACHINE_OPTIONS = ("host", "profile", "profiles", "ram", "cpus")
_MACHINE_SETS = ("cpus=", "ram=", "profile=")


def _machine_given(kw: dict[str, Any]) -> bool:
    if any(kw.get(k) not in (None, (), "") for k in _MACHINE_OPTIONS):
        return True
    sets = [s for k in ("sets", "a_sets", "b_sets") for s in (kw.get(k) or ())]
    return any(str(s).strip().startswith(_MACHINE_SETS) for s in sets)


def with_example(*, host: bool = False) -> Any:
    """Decorate a click command (above ``@click.command``) with ``--example``."""

    def deco(cmd: click.Command) -> click.Command:
        for p in cmd.params:
            if p.name == "file":
                p.required = False
        what = "the sample trace shipped with kmemsim (kmemsim example) instead of FILE"
        if host:
            what += "; with no --host, --profile, --ram or --cpus, on the snapshot of the host it was recorded on"
        cmd.params.append(click.Option(["--example"], is_flag=True, help=what[0].upper() + what[1:] + "."))
        callback = cmd.callback
        assert callback is not None

        @functools.wraps(callback)
        def run(*args: Any, example: bool = False, **kw: Any) -> Any:
            if example:
                if kw.get("file") is not None:
                    raise click.UsageError(f"give FILE ({kw['file']}) or --example, not both")
                kw["file"] = str(example_path("trace"))
                if host and not _machine_given(kw):
                    kw["host"] = str(example_path("snapshot"))
            elif kw.get("file") is None:
                raise click.UsageError("Missing argument 'FILE' (or --example: the sample trace kmemsim ships)")
            return callback(*args, **kw)

        cmd.callback = run
        return cmd

    return deco


@click.command("example")
@click.argument("name", required=False, metavar="[NAME]", type=click.Choice(sorted(EXAMPLES)))
def example(name: str | None) -> None:
    """Print where the sample files shipped with kmemsim are: NAME alone prints its path
    (for ``$(kmemsim example snapshot)``); without NAME, every sample and what it is."""
    if name:
        click.echo(str(example_path(name)))
        return
    for n, (_f, what) in EXAMPLES.items():
        click.echo(f"{n:<9} {example_path(n)}\n{'':<9} {what}")
