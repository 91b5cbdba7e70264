"""The import layers of docs/architecture.md hold (the contracts in pyproject.toml).

Runs import-linter in process on the source tree.  A second check feeds the same contract a
deliberately upward import, so the test would notice a contract that no longer checks anything.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

importlinter_cli = pytest.importorskip("importlinter.cli")

ROOT = Path(__file__).resolve().parents[1]


def test_layer_contracts_are_kept(capsys):
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        rc = importlinter_cli.lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True,
                                           no_logo=True)
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "2 kept, 0 broken" in out


def test_the_layer_contract_rejects_an_upward_import():
    """The configured layers, applied to grimp's graph of the package: no direct upward import
    now, and one added edge machine -> kernel is seen (so the contract is live, not vacuous)."""
    import tomllib

    import grimp

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers_contract = next(c for c in cfg["contracts"] if c["type"] == "layers")
    layers = [[m.strip() for m in entry.replace("|", ":").split(":")] for entry in layers_contract["layers"]]
    g = grimp.build_graph("kmemsim", cache_dir=None, exclude_type_checking_imports=True)
    for spec in layers_contract.get("ignore_imports", []):
        a, b = (s.strip() for s in spec.split("->"))
        g.remove_import(importer=a, imported=b)

    def layer_of(mod):
        for i, group in enumerate(layers):
            if any(mod == m or mod.startswith(m + ".") for m in group):
                return i
        return None

    def direct_upward():
        bad = []
        for m in g.modules:
            lm = layer_of(m)
            if lm is None:
                continue
            for d in g.find_modules_directly_imported_by(m):
                ld = layer_of(d)
                if ld is not None and ld < lm:
                    bad.append((m, d))
        return bad

    assert direct_upward() == []
    g.add_import(importer="kmemsim.machine", imported="kmemsim.kernel")
    assert ("kmemsim.machine", "kmemsim.kernel") in direct_upward()
