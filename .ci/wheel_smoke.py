#!/usr/bin/env python3
"""CI: build the sdist and the wheel, install each into a clean virtualenv, and run the
README's examples with the installed ``kmemsim``, outside the checkout.

    python3 .ci/wheel_smoke.py [--keep DIR]

- ``python -m build`` (in a virtualenv of its own) makes the sdist, then the wheel from
  the sdist; any warning of the project's own (a setuptools deprecation, a license or
  package-data complaint) fails the run;
- each artifact is installed into a new virtualenv with nothing else;
- from an empty directory: ``kmemsim --version`` and ``--help``, every ``kmemsim ...``
  line of the README's code blocks (the snapshot pair only as root, which CI is), and the
  README's Python example, each statement marked ``# raises X`` expected to raise X;
  the report the README writes must be a self-contained page.

Needs the package index (PyPI) for build, setuptools and the dependencies.
"""
from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: setuptools/pip output that is the project's fault (deprecated or ignored configuration)
OWN_WARNINGS = re.compile(r"Warning:|!!\s*$|deprecat|is not a valid|would be ignored|license", re.I)
#: harmless lines of the environment (PYTHONDONTWRITEBYTECODE) and of the license *files* list
NOT_OURS = re.compile(r"byte-compiling is disabled|adding license file|copying LICENSE|LICENSE ->|licenses/LICENSE")


def sh(cmd: list[str], cwd: Path | None = None, env: dict | None = None, check: bool = True) -> str:
    print("+", " ".join(shlex.quote(c) for c in cmd), flush=True)
    t = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    out = p.stdout + p.stderr
    if check and p.returncode:
        sys.stdout.write(out)
        raise SystemExit(f"wheel_smoke: exit status {p.returncode}: {' '.join(cmd)}")
    print(f"  ({time.monotonic() - t:.1f}s)", flush=True)
    return out


def expect(ok: bool, what: str) -> None:
    if not ok:
        raise SystemExit(f"wheel_smoke: failed: {what}")


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def new_venv(path: Path) -> Path:
    sh([sys.executable, "-m", "venv", str(path)])
    return path / "bin"


def readme() -> tuple[list[str], str]:
    """The README's ``kmemsim ...`` command lines and its Python example."""
    cmds, pyblock, inside, lang, cur = [], "", False, "", []
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            if inside and lang == "python" and not pyblock:
                pyblock = "\n".join(cur)
            inside, lang, cur = not inside, line[3:].strip(), []
        elif inside:
            cur.append(line)
            if line.startswith("kmemsim "):
                cmds.append(line.split("  #")[0].strip())
    return cmds, pyblock


RUN_PY = r'''
import re, sys
src = open(sys.argv[1]).read()
ns = {}
for n, line in enumerate(src.splitlines(), 1):
    if not line.strip() or line.lstrip().startswith("#"):
        continue
    m = re.search(r"#\s*raises\s+([\w.]+)", line)
    code = line.split("#")[0] if m else line
    try:
        exec(compile(code, f"README.md python line {n}", "exec"), ns)
    except Exception as e:
        if m and type(e).__name__ == m.group(1).split(".")[-1]:
            continue
        raise
    else:
        if m:
            raise SystemExit(f"README python line {n}: expected {m.group(1)}")
print("README python example: ok")
'''


def smoke(kind: str, artifact: Path, work: Path) -> int:
    bin_ = new_venv(work / f"venv-{kind}")
    env = clean_env()
    sh([str(bin_ / "pip"), "install", "-q", str(artifact)], env=env)
    run = work / f"run-{kind}"
    run.mkdir()
    km = str(bin_ / "kmemsim")
    n = 0
    expect("version 0." in sh([km, "--version"], cwd=run, env=env), "kmemsim --version")
    expect("compare" in sh([km, "--help"], cwd=run, env=env), "kmemsim --help lists compare")
    cmds, pyblock = readme()
    expect(len(cmds) >= 10, f"the README's kmemsim commands: {cmds}")
    root = os.geteuid() == 0 and Path("/sys/kernel/slab").is_dir()
    for c in cmds:
        if ("snapshot -o" in c or "host-snap" in c or " record " in c or "s.tar.gz" in c) and not root:
            print(f"  skipped (needs root): {c}")
            continue
        sh([km, *shlex.split(c)[1:]], cwd=run, env=env)
        n += 1
    page = (run / "replay.html").read_text()
    expect(page.startswith("<!DOCTYPE html>") and "<svg" in page and "https://" not in page, "a self-contained page")
    expect("kmem-trace.txt.gz" in page and "bytes_alloc mismatches" in page, "the report of the sample trace")
    (run / "readme_example.py").write_text(pyblock)
    (run / "run_readme.py").write_text(RUN_PY)
    print(sh([str(bin_ / "python"), "run_readme.py", "readme_example.py"], cwd=run, env=env).strip())
    return n + 3


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="kmemsim-wheel-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        src = work / "src"
        # a copy of the tracked files: the build sees what a clone has, and writes nothing into the checkout
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        for rel in filter(None, files.decode().split("\0")):
            if (ROOT / rel).is_file():
                (src / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / rel, src / rel)
        bin_ = new_venv(work / "venv-build")
        sh([str(bin_ / "pip"), "install", "-q", "build"], env=clean_env())
        dist = work / "dist"
        log = sh([str(bin_ / "python"), "-m", "build", "--outdir", str(dist), str(src)], env=clean_env())
        own = [ln for ln in log.splitlines() if OWN_WARNINGS.search(ln) and not NOT_OURS.search(ln)]
        if own:
            print("\n".join(own))
            raise SystemExit(f"wheel_smoke: the build printed {len(own)} warning lines of the project's own")
        sdist = next(dist.glob("kmemsim-*.tar.gz"))
        wheel = next(dist.glob("kmemsim-*.whl"))
        print(f"built {sdist.name} ({sdist.stat().st_size:,} bytes), {wheel.name} ({wheel.stat().st_size:,} bytes)")
        passed = smoke("wheel", wheel, work) + smoke("sdist", sdist, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"wheel_smoke: {passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
