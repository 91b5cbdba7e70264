"""Help and discovery: the command list, ``proc --list``, the README's examples, and the
packaging facts a pip user depends on (LICENSE, metadata, package data).  The built
sdist and wheel themselves are tried by .ci/wheel_smoke.py."""
from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

import kmemsim
from kmemsim.cli.main import ORDER, SHORT_HELP, main, proc_files

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "kmemsim"


def run(*args: str):
    return CliRunner().invoke(main, list(args), terminal_width=80)


# ---------------------------------------------------------------------------- kmemsim --help


def test_command_list_has_every_command_with_its_whole_description():
    res = run("--help")
    assert res.exit_code == 0
    listing = res.output.split("Commands:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in listing] == list(ORDER) == list(main.list_commands(None))  # type: ignore[arg-type]
    for line in listing:
        name = line.split()[0]
        assert line.split(None, 1)[1] == SHORT_HELP[name]  # whole, on one line of 80 columns
        assert "..." not in line and len(line) <= 80
    assert set(SHORT_HELP) == set(main.list_commands(None)) == set(main.commands)  # type: ignore[arg-type]


def test_help_ends_with_examples_that_work():
    text = run("--help").output
    examples = [line.strip() for line in text.split("Try, with the sample")[1].splitlines()[1:] if line.strip()]
    assert "kmemsim stat --example" in examples and "kmemsim proc --list" in examples
    for ex in examples:
        if "$(" in ex or "--report" in ex:
            continue
        res = run(*shlex.split(ex)[1:])
        assert res.exit_code == 0, (ex, res.output)


@pytest.mark.parametrize("name", ORDER)
def test_every_command_has_help(name):
    res = run(name, "--help")
    assert res.exit_code == 0 and res.output.startswith(f"Usage: main {name}")


# ---------------------------------------------------------------------------- proc


@pytest.mark.parametrize("profile", sorted(kmemsim.PROFILES))
def test_proc_lists_every_file_it_can_show(profile):
    res = run("proc", "--list", "--profile", profile)
    assert res.exit_code == 0
    files = res.output.split()
    assert "slabinfo" in files and "buddyinfo" in files and "extfrag/unusable_index" in files
    assert files == proc_files(kmemsim.boot(profile))
    for name in files:
        shown = run("proc", name, "--profile", profile)
        assert shown.exit_code == 0, (name, shown.output)
    # and nothing the machine cannot show
    if profile.endswith("-i386"):  # 2.6: no /proc/vmallocinfo (2.6.26)
        assert "vmallocinfo" not in files and {"meminfo", "vmstat", "iomem"} <= set(files)
    else:
        assert {"vmallocinfo", "meminfo", "vmstat", "iomem"} <= set(files)


def test_proc_error_names_the_input_and_every_file():
    res = run("proc", "nonesuch")
    assert res.exit_code == 1
    assert "nonesuch: no such file" in res.output
    assert ", ".join(proc_files(kmemsim.boot())) in res.output and "slabinfo" in res.output
    res = run("proc")
    assert res.exit_code == 2 and "Missing argument 'NAME': one of buddyinfo" in res.output


def test_proc_takes_kernel_paths_and_a_snapshot():
    assert run("proc", "/proc/slabinfo").output.startswith("slabinfo - version: 2.1")
    assert run("proc", "/sys/kernel/debug/extfrag/unusable_index").output.startswith("Node 0, zone")
    snap = str(ROOT / "tests" / "data" / "host-6.18" / "snapshot.tar.gz")
    res = run("proc", "--list", "--host", snap)
    assert res.exit_code == 0 and "slabinfo" in res.output.split()


def test_set_cpus_and_ram_on_commands_that_boot():
    res = run("dmesg", "--set", "cpus=3", "--set", "ram=512M")
    assert res.exit_code == 0, res.output
    assert "Memory:" in res.output and "/523896K available" in res.output


# ---------------------------------------------------------------------------- the README's examples


def readme_commands() -> list[str]:
    """The ``kmemsim ...`` lines of the README's code blocks, without their comments."""
    out, inside = [], False
    for line in (ROOT / "README.md").read_text().splitlines():
        if line.startswith("```"):
            inside = not inside
        elif inside and line.startswith("kmemsim "):
            out.append(line.split("  #")[0].strip())
    return out


def test_readme_examples_are_kmemsim_commands_that_need_no_checkout():
    cmds = readme_commands()
    assert len(cmds) >= 10
    for c in cmds:
        assert "tests/data" not in c and "dev.py" not in c, c  # they work from a pip install
    assert "kmemsim replay --example --report replay.html" in cmds


def test_readme_examples_run(tmp_path, monkeypatch):
    """Every README example but those that copy or trace this host as root, and those that read
    what they wrote (.ci/wheel_smoke.py runs them, as root, from the installed wheel)."""
    monkeypatch.chdir(tmp_path)
    for c in readme_commands():
        if "snapshot" in c or "host-snap" in c or " record " in c or "s.tar.gz" in c:
            continue
        res = run(*shlex.split(c)[1:])
        assert res.exit_code == 0, (c, res.output)
    assert (tmp_path / "replay.html").read_text().startswith("<!DOCTYPE html>")


# ---------------------------------------------------------------------------- packaging


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_mit_in_a_file_and_as_spdx():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "THE SOFTWARE IS PROVIDED \"AS IS\"" in text
    proj = pyproject()["project"]
    assert proj["license"] == "MIT" and proj["license-files"] == ["LICENSE"]
    assert not any(c.startswith("License ::") for c in proj.get("classifiers", []))  # PEP 639: not both
    req = pyproject()["build-system"]["requires"]
    assert any(re.fullmatch(r"setuptools>=(\d+)", r) and int(r.split(">=")[1]) >= 77 for r in req)


def test_package_data_holds_the_report_assets_and_the_samples():
    data = pyproject()["tool"]["setuptools"]["package-data"]
    for pkg, pattern in (("kmemsim.trace", "report_assets/*"), ("kmemsim.examples", "*.gz")):
        assert pattern in data[pkg]
    assets = sorted(p.name for p in (SRC / "trace" / "report_assets").iterdir())
    assert assets == ["report.css", "report.js"]
    assert sorted(p.name for p in (SRC / "examples").glob("*.gz")) == ["kmem-trace.txt.gz", "snapshot.tar.gz"]
    assert sum(p.stat().st_size for p in (SRC / "examples").glob("*.gz")) < 600_000


def test_dependencies_are_used():
    proj = pyproject()["project"]
    deps = {re.split(r"[<>=!~ \[]", d)[0] for d in proj["dependencies"]}
    assert deps == {"numpy", "click", "rich"}
    code = "\n".join(p.read_text() for p in SRC.rglob("*.py"))
    assert re.search(r"^\s*(import numpy|from numpy)", code, re.M) and re.search(r"^import click", code, re.M)
    assert "matplotlib" not in code and "plot" not in proj.get("optional-dependencies", {})


# ---------------------------------------------------------------------------- kmemsim features


def test_features_matrix_marks_what_each_profile_has():
    from kmemsim.features import FEATURES, Features

    res = run("features")
    assert res.exit_code == 0, res.output
    rows = {line.split()[0]: line.split()[2:] for line in res.output.splitlines()[1:] if line and line[0] != "("}
    assert list(rows) == [f.name for f in FEATURES]
    profs = list(kmemsim.PROFILES.values())
    for f in FEATURES:
        want = ["yes" if getattr(Features(p.kernel_version), f.name) else "-" for p in profs]
        assert rows[f.name] == want, f.name
    # the classic kernel lacks what came later, and the host kernel has it
    assert rows["pcp_high_order"][[p.kernel_version for p in profs].index("2.6.24")] == "-"


def test_features_of_one_profile_and_as_json():
    import json

    res = run("features", "--profile", "linux-2.6-i386")
    assert res.exit_code == 0
    assert res.output.splitlines()[0].startswith("linux-2.6.24-i386 (Linux 2.6.24): ")
    assert any(line.startswith(" -  pcp_high_order ") for line in res.output.splitlines())
    assert any(line.startswith("yes migratetypes ") and "[b2a0ac8875a0]" in line for line in res.output.splitlines())
    data = json.loads(run("features", "--json").output)
    by = {d["name"]: d for d in data}
    assert by["highatomic"]["profiles"] == {"linux-6.18-x86_64": True, "linux-6.6-x86_64": True,
                                            "linux-2.6.24-i386": False, "linux-2.6.11-i386": False}
    assert by["highatomic"]["since"] == "4.4" and by["highatomic"]["source"] == "0aaa29a56e4f"
    bad = run("features", "--profile", "linux-9.9")
    assert bad.exit_code == 2 and "linux-9.9" in bad.output
