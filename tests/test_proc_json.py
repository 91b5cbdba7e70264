"""kmemsim proc --json / --csv (docs/proc-json.md) and the directory listings of k.proc(),
k.sysfs(), k.debugfs()."""
from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from conftest import DATA

import kmemsim
from kmemsim.cli.main import main
from kmemsim.cli.proc_data import SCHEMA, document

SNAP = DATA / "host-6.18" / "snapshot.tar.gz"


@pytest.mark.parametrize("profile", ["linux-6.18-x86_64", "linux-2.6-i386"])
def test_every_file_parses_and_the_numbers_agree(profile: str):
    k = kmemsim.boot(profile)
    for name in k.procfs.walk():
        try:
            text = k.proc(name)
        except kmemsim.errors.KmemsimError:
            continue
        doc = document(name, text, profile, k.profile.kernel_version)
        assert doc["schema"] == SCHEMA and doc["file"] == f"/proc/{name}"
        json.dumps(doc)
    buddy = document("buddyinfo", k.proc("buddyinfo"), profile, "")
    free = sum(n << int(c[5:]) for r in buddy["rows"] for c, n in r.items() if c.startswith("order"))
    assert free == sum(z.free_pages for z in k.page_alloc.zones)
    if profile.startswith("linux-6"):  # 2.6.24's meminfo is not modelled yet
        mem = document("meminfo", k.proc("meminfo"), profile, "")
        assert mem["units"]["MemTotal"] == "kB" and mem["values"]["MemTotal"] > 0
    zi = document("zoneinfo", k.proc("zoneinfo"), profile, "")
    zones = {z.name: z for z in k.page_alloc.zones}
    assert {z["zone"] for z in zi["zones"]} >= {n for n, z in zones.items() if z.managed_pages}
    for z in zi["zones"]:
        managed = z["values"].get("managed", z["values"].get("present"))
        assert managed in (zones[z["zone"]].managed_pages, zones[z["zone"]].present_pages)


def test_json_and_csv_from_the_command_line():
    r = CliRunner().invoke(main, ["proc", "slabinfo", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.output)
    assert doc["kind"] == "table" and doc["version"] == "2.1"
    assert {row["name"] for row in doc["rows"]} >= {"kmalloc-64", "kmalloc-8k"}
    r = CliRunner().invoke(main, ["proc", "buddyinfo", "--csv"])
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert rows[0]["zone"] == "DMA" and "order10" in rows[0]
    r = CliRunner().invoke(main, ["proc", "meminfo", "--host", str(SNAP), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["values"]["MemTotal"] > 0


def test_proc_host_takes_tunables():
    r = CliRunner().invoke(main, ["proc", "slabinfo", "--host", str(SNAP), "--set", "slab_nomerge=1"])
    assert r.exit_code == 0, r.output


def test_the_filesystems_list_their_directories():
    k = kmemsim.boot()
    assert "buddyinfo" in k.proc().split()
    assert "slab" in k.sysfs("kernel").split()
    assert "kmalloc-64" in k.sysfs("kernel/slab").split()
    assert "order" in k.sysfs("kernel/slab/kmalloc-64").split()
    assert {"extfrag", "failslab", "fail_page_alloc"} <= set(k.debugfs().split())
    assert "probability" in k.debugfs("failslab").split()
