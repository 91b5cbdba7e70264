"""``kmemsim snapshot -o DIR [--tar] [--force]``: capture this host's memory-management views.

Registered in ``kmemsim.cli.main`` with ``main.add_command(snapshot)``.  The work
is done by :func:`kmemsim.capture.take`; see that module for what a snapshot
holds and how it is written, and :func:`kmemsim.snapshot.load` for reading one back.
"""
from __future__ import annotations

from pathlib import Path

import click

from kmemsim.errors import KmemsimError


@click.command("snapshot")
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path),
    metavar="DIR",
    help="Directory to create (must not exist, or be empty; see --force).",
)
@click.option(
    "--tar",
    "make_tar",
    is_flag=True,
    help="Also write DIR.tar.gz: one file that --host SNAPSHOT (kmemsim proc, replay, compare), "
    "kmemsim.boot(host=...) and kmemsim.snapshot.load() read like DIR.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace DIR if it holds an earlier snapshot, and DIR.tar.gz if it exists "
    "(never a symlink, nor a directory that is not a snapshot).",
)
@click.option("--root", default="/", show_default=True, hidden=True, help="Root of the host to copy from (tests).")
def snapshot(out_dir: Path, make_tar: bool, force: bool, root: str) -> None:
    """Copy /proc and /sys memory views of this host (run as root) into DIR.

    zoneinfo and the vm sysctls are read first, back to back; then buddyinfo,
    pagetypeinfo, meminfo, vmstat, slabinfo, vmallocinfo, iomem, the online
    CPUs and the whole /sys/kernel/slab tree.  DIR (and DIR.tar.gz) appear only
    when complete: they are written under temporary names and renamed.
    """
    from kmemsim.capture import check_snapshot_dir, iter_snapshot_paths, make_tarball, take, tarball_path
    from kmemsim.fileio import check_output
    from kmemsim.snapshot import SNAPSHOT_FILE

    try:
        check_snapshot_dir(out_dir, force)  # both outputs are checked before the host is read
        if make_tar:
            check_output(tarball_path(out_dir), force=force)
        path = take(out_dir, root=root, force=force)
        paths = list(iter_snapshot_paths(path))
        links = sum(1 for p in paths if p.is_symlink())
        files = len(paths) - links
        tarball = make_tarball(path, force=force) if make_tar else None
    except (KmemsimError, OSError) as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"wrote {files} files and {links} symlinks to {path} (see {path / SNAPSHOT_FILE})")
    if tarball is not None:
        click.echo(f"wrote {tarball} ({tarball.stat().st_size} bytes)")
