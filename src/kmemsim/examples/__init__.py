"""Sample files shipped with kmemsim, so that its trace tools can be tried without a
checkout or a machine to trace (``kmemsim example``, ``kmemsim stat --example``,
``kmemsim replay --example``, ``kmemsim compare --example``).

Both are real captures of the reference host (Linux 6.18.44 x86_64, 24 GiB, 2 CPUs),
byte for byte the files of ``tests/data/host-6.18/`` in the repository (a test checks
that they stay equal):

- ``kmem-trace.txt.gz``: an ftrace text kmem trace of a small workload (35,576
  events: kmalloc, kfree, kmem_cache_alloc/free, mm_page_alloc/free);
- ``snapshot.tar.gz``: a ``kmemsim snapshot`` of the same host and boot (its
  /proc views, vm sysctls, CPUs and the whole /sys/kernel/slab tree).

    >>> from kmemsim.examples import example_path
    >>> example_path("trace").name
    'kmem-trace.txt.gz'
"""

from __future__ import annotations

from pathlib import Path

from ..errors import UsageError

__all__ = ["EXAMPLES", "example_path"]

#: name -> (file, what it is)
EXAMPLES: dict[str, tuple[str, str]] = {
    "trace": ("kmem-trace.txt.gz", "an ftrace kmem trace of the reference host (Linux 6.18.44 x86_64), 35,576 events"),
    "snapshot": ("snapshot.tar.gz", "a kmemsim snapshot of the same host and boot (24 GiB, 2 CPUs, 235 slab caches)"),
}


def example_path(name: str) -> Path:
    """The path of a shipped sample file (``"trace"`` or ``"snapshot"``)."""
    if name not in EXAMPLES:
        raise UsageError(f"example {name!r}: no such sample; there are {', '.join(EXAMPLES)}")
    from importlib import resources  # here, not at import: 9 ms for every command that never asks

    path = Path(str(resources.files(__name__).joinpath(EXAMPLES[name][0])))
    if not path.is_file():  # pragma: no cover - a broken install
        raise UsageError(f"example {name!r}: {path} is missing from this installation of kmemsim")
    return path
