"""The optional compiled parts of kmemsim: the kmem trace line scanner and the replay core (C).

Everything else is in pyproject.toml.  Without a C compiler (or Python headers) the
extension is skipped (``optional=True``) and kmemsim uses its pure-Python parser,
which gives the same events (``kmemsim.trace.parse``).  Set KMEMSIM_NO_EXT=1 to skip it.

``pip install`` (and ``python3 dev.py``) builds in an isolated environment with the
setuptools that pyproject.toml asks for (>= 77: its ``license`` is an SPDX expression).
``python setup.py build_ext --inplace`` under an older setuptools, which cannot read that
``license``, builds the extension alone without reading pyproject.toml (it needs none of
its metadata); other commands under an older setuptools say to use pip.
"""
import os
import sys

import setuptools
from setuptools import Extension, setup


def _ext(name: str) -> Extension:
    # (depends: rebuilt when the shared header changes, and shipped in the sdist)
    return Extension(f"kmemsim.trace.{name}", [f"src/kmemsim/trace/{name}.c"], optional=True,
                     depends=["src/kmemsim/trace/_kmemevents.h"],
                     extra_compile_args=["-O2"] if os.name != "nt" else [])


ext_modules = []
if os.environ.get("KMEMSIM_NO_EXT") != "1":
    ext_modules.append(_ext("_kmemscan"))
    if sys.byteorder == "little":  # the core reads the model's free pointers as little-endian words
        ext_modules.append(_ext("_kmemreplay"))

def _old_setuptools() -> bool:
    try:
        return int(setuptools.__version__.split(".")[0]) < 77
    except ValueError:
        return False


def _build_ext_alone() -> None:
    """build_ext without pyproject.toml's metadata (an older setuptools rejects its license)."""
    commands = [a for a in sys.argv[1:] if not a.startswith("-")]
    if not commands or any(c != "build_ext" for c in commands):
        sys.exit(f"setuptools {setuptools.__version__} cannot read pyproject.toml (it needs >= 77): "
                 "install with pip (`pip install .`), which builds with a recent setuptools; "
                 "`setup.py build_ext` alone works here")
    dist = setuptools.Distribution({"name": "kmemsim", "package_dir": {"": "src"}, "ext_modules": ext_modules})
    dist.script_name = os.path.basename(sys.argv[0])
    dist.script_args = sys.argv[1:]
    dist.parse_command_line()
    dist.run_commands()


if __name__ == "__main__" and _old_setuptools():
    _build_ext_alone()
else:
    setup(ext_modules=ext_modules)
