"""``kmemsim quiz``: predict-then-reveal exercises on the allocators, in the terminal.

    kmemsim quiz [--seed N] [-c] [--profile P] [--ram SIZE] [-n COUNT] [--topic T ...] [--ask]

As OSTEP's simulators do: the same seed gives the same questions; ``-c`` prints the
answers, computed by running each scenario on the model, with why; ``--ask`` asks
each question, reads a prediction and checks it against the model.  The exercises
are :mod:`kmemsim.explore.exercises` (the labs of ``notebooks/`` use the same).
"""
from __future__ import annotations

import click

import kmemsim
from kmemsim.errors import KmemsimError

__all__ = ["quiz"]


@click.command("quiz")
@click.option("--seed", "-s", type=int, default=0, show_default=True,
              help="Which questions: the same seed, the same quiz.")
@click.option("-c", "--compute", "answers", is_flag=True, help="Show the answers (computed by the model) and why.")
@click.option("--profile", default=kmemsim.DEFAULT_PROFILE, show_default=True,
              type=click.Choice(kmemsim.profiles.profile_names()), help="Kernel and architecture.")
@click.option("--ram", default=None, help="RAM size, e.g. 1G, 160M (default: the profile's).")
@click.option("-n", "--count", type=int, default=6, show_default=True, help="Number of questions.")
@click.option("--topic", "topics", multiple=True, type=click.Choice(["addresses", "buddy", "slab", "gfp"]),
              help="Only these topics (repeatable; default: all of them in turn).")
@click.option("--ask", is_flag=True, help="Ask each question, read your answer, and check it against the model.")
def quiz(seed: int, answers: bool, profile: str, ram: str | None, count: int, topics: tuple[str, ...],
         ask: bool) -> None:
    """Predict-then-reveal exercises on the address layout, the buddy allocator, slab
    caches and GFP flags, generated from --seed on any profile; -c shows the answers."""
    from kmemsim.explore.exercises import quiz as make

    if count < 1:
        raise click.BadParameter("must be >= 1", param_hint="--count")
    try:
        qs = make(seed, profile, count, topics, ram=ram)
    except KmemsimError as e:
        raise click.ClickException(str(e)) from None
    machine = f"{profile}" + (f", ram={ram}" if ram else "")
    click.echo(f"kmemsim quiz --seed {seed} ({machine}): {len(qs)} questions"
               + ("" if answers or ask else "; -c shows the answers") + "\n")
    right = 0
    for i, q in enumerate(qs, 1):
        click.echo(q.text(i, answers=answers and not ask))
        if ask:
            while True:
                given = click.prompt("    Your answer", default="", show_default=False)
                if not given.strip():
                    click.echo("    " + str(q.reveal()).replace("\n", "\n    "))
                    break
                try:
                    res = q.check(given)
                except KmemsimError as e:
                    click.echo(f"    {e}")
                    continue
                right += res.correct
                click.echo("    " + str(res).replace("\n", "\n    "))
                break
        click.echo("")
    if ask:
        click.echo(f"{right} of {len(qs)} right.")
