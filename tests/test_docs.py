"""The docs say what the code does."""
import re
from pathlib import Path

import kmemsim
from kmemsim.features import feature_table
from kmemsim.profiles import tunable_table

DOCS = Path(__file__).parent.parent / "docs"


def test_profile_doc_has_the_current_tunable_table():
    text = (DOCS / "profiles.md").read_text()
    table = text.split("<!-- tunable-table -->\n")[1].split("\n<!-- /tunable-table -->")[0]
    assert table == tunable_table()


def test_profile_doc_has_the_current_feature_table():
    import kmemsim

    text = (DOCS / "profiles.md").read_text()
    table = text.split("<!-- feature-table -->\n")[1].split("\n<!-- /feature-table -->")[0]
    assert table == feature_table([(p.name, p.kernel_version) for p in kmemsim.PROFILES.values()])
    for name in kmemsim.PROFILES:
        assert f"`{name}`" in text


def test_every_python_name_in_the_api_table_exists():
    """Every dotted name of docs/api-names.md resolves, whole: ``k.gfp.zone``,
    ``kmemsim.gfp.GFP_KERNEL``, ``k.report.warn`` ... (a call's arguments are not part of it)."""
    import importlib

    k = kmemsim.boot()
    page = k.pfn_to_page(0x1000)
    text = (DOCS / "api-names.md").read_text()
    names = re.findall(r"`(k|page|kmemsim)((?:\.[A-Za-z_][A-Za-z_0-9]*)+)", text)
    assert len(names) > 30
    for owner, path in names:
        obj: object = {"k": k, "page": page, "kmemsim": kmemsim}[owner]
        done = owner
        for part in path.split(".")[1:]:
            if not hasattr(obj, part) and owner == "kmemsim":
                try:  # a submodule not yet imported (kmemsim loads them lazily)
                    obj = importlib.import_module(f"{done}.{part}")
                    done += "." + part
                    continue
                except ImportError:
                    pass
            assert hasattr(obj, part), f"{done}.{part} (in {owner}{path})"
            obj = getattr(obj, part)
            done += "." + part


def test_readme_module_table_covers_every_module_and_names_real_tests():
    """README's "How it is built" table: every module and package of src/kmemsim is in it,
    and every test it names exists (a glob like ``test_slub*`` must match a file)."""
    import fnmatch
    import re

    root = DOCS.parent
    text = (root / "README.md").read_text()
    table = text.split("## How it is built")[1].split("\n\n`tests/`")[0]
    rows = [r for r in table.splitlines() if r.startswith("| `")]
    named_modules, named_tests = set(), set()
    for r in rows:
        cells = [c.strip() for c in r.strip("|").split("|")]
        named_modules |= set(re.findall(r"`([^`]+)`", cells[0]))
        named_tests |= set(re.findall(r"`([^`]+)`", cells[2]))
    src = root / "src" / "kmemsim"
    covered = set()
    for m in named_modules:
        covered |= {str(p.relative_to(src)) for p in src.glob(m.rstrip("/") + ("/*.py" if m.endswith("/") else ""))}
        if m.endswith("/"):
            covered.add(m)
    every = {str(p.relative_to(src)) for p in src.glob("*.py")} | {
        str(p.relative_to(src)) for p in src.glob("mm/*.py") if p.name != "__init__.py"}
    packages = {p.name + "/" for p in src.iterdir() if p.is_dir() and (p / "__init__.py").exists() and p.name != "mm"}
    missing = sorted((every - covered) | (packages - named_modules))
    assert not missing, f"README's module table lacks {missing}"
    tests = [p.stem for p in (root / "tests").glob("test_*.py")]
    for t in named_tests:
        assert fnmatch.filter(tests, t), f"README names {t}, which matches no test file"
