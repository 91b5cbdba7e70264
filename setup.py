"""The optional compiled part of kmemsim: the kmem trace line scanner (C).

Everything else is in pyproject.toml.  Without a C compiler (or Python headers) the
extension is skipped (``optional=True``) and kmemsim uses its pure-Python parser,
which gives the same events (``kmemsim.trace.parse``).  Set KMEMSIM_NO_EXT=1 to skip it.
"""
import os

from setuptools import Extension, setup

ext_modules = []
if os.environ.get("KMEMSIM_NO_EXT") != "1":
    ext_modules.append(
        Extension(
            "kmemsim.trace._kmemscan",
            ["src/kmemsim/trace/_kmemscan.c"],
            optional=True,
            extra_compile_args=["-O2"] if os.name != "nt" else [],
        )
    )

setup(ext_modules=ext_modules)
