#!/usr/bin/env python3
"""One entry point for every developer task, needing nothing but Python 3.11.

    python3 dev.py tour         # set up .venv if needed, run `kmemsim tour`
    python3 dev.py test         # set up .venv if needed, run the whole test suite
    python3 dev.py test-slow    # also the tests marked slow
    python3 dev.py slow         # only the tests marked slow (CI runs them after `test`)
    python3 dev.py lint         # ruff, mypy and the import layers (lint-imports)
    python3 dev.py bench        # print every benchmark's figures
    python3 dev.py kmemsim ...  # run the CLI from the project's venv

The virtual environment lives in `.venv` beside this file.  It is (re)installed
whenever `pyproject.toml`, `setup.py` or the C scanner's source is newer than the last
install, so a fresh clone needs only these commands.
"""
from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".kmemsim-installed"


def ensure_venv() -> None:
    # not outdated: dev.py runs under whatever python3 is on PATH, before the venv exists,
    # so it must refuse an interpreter older than requires-python itself
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"kmemsim needs Python >= 3.11 (this is {sys.version.split()[0]})")
    if not PY.exists():
        print(f"dev.py: creating {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    # what the install is made from: the metadata and the optional compiled scanner (an
    # editable install does not rebuild a changed _kmemscan.c by itself)
    trace = ROOT / "src" / "kmemsim" / "trace"
    inputs = [ROOT / "pyproject.toml", ROOT / "setup.py", trace / "_kmemscan.c", trace / "_kmemreplay.c",
              trace / "_kmemevents.h"]
    newest = max(p.stat().st_mtime for p in inputs if p.exists())
    if STAMP.exists() and STAMP.stat().st_mtime >= newest:
        return
    print("dev.py: installing kmemsim and its test dependencies", file=sys.stderr)
    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["install", "--upgrade", "pip"], check=True)
    subprocess.run(pip + ["install", "-e", f"{ROOT}[test]"], check=True)
    STAMP.write_text("ok\n")


def run(argv: list[str]) -> int:
    return subprocess.call(argv, cwd=ROOT)


def main(args: list[str]) -> int:
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    cmd, rest = args[0], args[1:]
    ensure_venv()
    if cmd == "tour":
        return run([str(BIN / "kmemsim"), "tour", *rest])
    if cmd == "test":
        return run([str(PY), "-m", "pytest", "-n", "2", "-q", *rest])
    if cmd == "test-slow":
        return run([str(PY), "-m", "pytest", "-n", "2", "-q", "-m", "slow or not slow", *rest])
    if cmd == "slow":
        return run([str(PY), "-m", "pytest", "-n", "2", "-q", "-m", "slow", *rest])
    if cmd == "lint":
        rc = run([str(BIN / "ruff"), "check", "."])
        rc |= run([str(BIN / "mypy")])  # files and options: pyproject [tool.mypy]
        rc |= run([str(BIN / "lint-imports"), "--no-cache"])  # pyproject [tool.importlinter]
        return rc
    if cmd == "bench":
        return run([str(PY), str(ROOT / "benchmarks" / "run.py"), *rest])
    if cmd == "kmemsim":
        return run([str(BIN / "kmemsim"), *rest])
    if cmd == "setup":
        return 0
    print(f"dev.py: unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
