#!/usr/bin/env python3
"""Run every benchmark and print its figures: ``python3 dev.py bench``.

Each ``bench_*.py`` beside this file has ``main(out)`` that prints lines
through ``out``.  Pass names to run some: ``python3 dev.py bench boot``.
"""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    files = sorted(HERE.glob("bench_*.py"))
    if argv:
        files = [f for f in files if f.stem.removeprefix("bench_") in argv]
        if not files:
            print(f"no benchmark named {' '.join(argv)}", file=sys.stderr)
            return 2
    for f in files:
        spec = importlib.util.spec_from_file_location(f.stem, f)
        mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(mod)  # type: ignore[union-attr]
        print(f"== {f.stem.removeprefix('bench_')}: {mod.__doc__.strip().splitlines()[0]}")
        mod.main(print)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
