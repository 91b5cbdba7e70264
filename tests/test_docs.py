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
    k = kmemsim.boot()
    page = k.pfn_to_page(0x1000)
    text = (DOCS / "api-names.md").read_text()
    names = re.findall(r"`(k|page|kmemsim|k\.layout)\.([a-z_A-Z0-9]+)", text)
    assert len(names) > 30
    for owner, name in names:
        obj = {"k": k, "page": page, "kmemsim": kmemsim, "k.layout": k.layout}[owner]
        assert hasattr(obj, name), f"{owner}.{name}"
