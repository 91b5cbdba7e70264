"""Progress of a long read, on a terminal: for the trace tools (stat now; replay and compare can
use it the same way).

    with reading_progress("trace.txt.gz", stream=sys.stderr) as progress:
        reader = TraceReader(path, progress=progress)       # called with (bytes read, file size)
        ...

On a terminal it shows rich's progress bar, driven by the bytes of the file read so far (of a
gzip file: its compressed bytes, so the bar is exact), with the rate and the time remaining;
when the stream is not a terminal (a pipe, a file, a test) it shows nothing and costs nothing:
rich is not even imported.  A file smaller than ``min_bytes`` shows nothing either (it is read
before a bar could help).
"""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

__all__ = ["reading_progress", "Progress"]

#: a callback ``(bytes read, total or None)``
Progress = Callable[[int, "int | None"], None]


def _noop(_done: int, _total: int | None) -> None:
    return None


@contextlib.contextmanager
def reading_progress(
    path: str | Path | None,
    *,
    stream: IO[str] | None = None,
    enabled: bool | None = None,
    description: str = "reading",
    min_bytes: int = 8 << 20,
) -> Iterator[Progress]:
    """A progress callback for reading ``path`` (None or ``-``: standard input, size unknown);
    ``enabled`` forces it on or off (default: on when ``stream`` is a terminal)."""
    stream = stream if stream is not None else sys.stderr
    if enabled is None:
        enabled = bool(getattr(stream, "isatty", lambda: False)())
    size: int | None = None
    if path is not None and str(path) != "-":
        try:
            size = os.stat(path).st_size
        except OSError:
            size = None
    if not enabled or (size is not None and size < min_bytes):
        yield _noop
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import (
        Progress as RichProgress,
    )

    columns: list[Any] = [TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn()]
    if size is not None:
        columns.append(TimeRemainingColumn())
    with RichProgress(*columns, console=Console(file=stream), transient=True) as bar:
        label = f"{description} {Path(str(path)).name}" if path is not None and str(path) != "-" else description
        task = bar.add_task(label, total=size)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total if total is not None else size)

        yield update
