"""replay and compare as data (--json, --csv: schemas kmemsim-replay/1, kmemsim-compare/1,
the text's numbers), their checks before the replay starts, damaged input, and the
progress display (silent when not a terminal)."""
from __future__ import annotations

import csv
import gzip
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA

from kmemsim.cli.main import main
from kmemsim.errors import KmemsimError, UsageError
from kmemsim.trace.replay import Replay, ReplayOptions, compare, locate, replay

CORPUS = DATA / "corpus"
TRACE = CORPUS / "sqlite" / "trace.txt.gz"
SNAP = CORPUS / "sqlite" / "snapshot.tar.gz"

LINE = ("           sh-7     [000] .....   100.{t:06d}: kmalloc: call_site=f+0x1/0x10 ptr={p:016x} bytes_req=8 "
        "bytes_alloc=8 gfp_flags={g} node=-1 accounted=false\n")


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def text_and_json():
    text = run("replay", str(TRACE), "--host", str(SNAP))
    js = run("replay", str(TRACE), "--host", str(SNAP), "--json")
    assert text.exit_code == 0 and js.exit_code == 0, (text.output, js.output)
    return text.output, json.loads(js.output)


def test_replay_json_has_the_texts_numbers(text_and_json):
    text, doc = text_and_json
    assert doc["schema"] == "kmemsim-replay/1"
    assert doc["trace"]["file"] == str(TRACE) and doc["trace"]["compression"] == "gzip"
    assert f"\nbytes_alloc mismatches: {doc['bytes_alloc_mismatches']}\n" in text
    sp = doc["slab_pages"]
    assert re.search(rf"^slab pages allocated: trace {sp['trace']}, model {sp['model']}", text, re.M)
    for row in sp["caches"][:5]:
        assert re.search(rf"^  {re.escape(row['cache'][:28])}\s+{row['trace']}\s+{row['model']}$", text, re.M)
    assert f"events: {doc['events']['total']} over" in text
    for kind, v in doc["events"]["by_kind"].items():
        assert re.search(rf"^  {kind}\s+{v['seen']}\s+replayed\s+{v['replayed']}$", text, re.M)
    assert doc["check"] == {"ran": True, "error": None}
    assert doc["final"]["slab_pages"] == int(re.search(r"^Slab: (\d+) pages", text, re.M).group(1))
    assert doc["samples"] and doc["samples"][-1]["events"] == doc["events"]["total"]


def test_replay_csv_is_the_same_document():
    res = run("replay", str(TRACE), "--host", str(SNAP), "--csv")
    assert res.exit_code == 0, res.output
    rows = list(csv.DictReader(io.StringIO(res.output)))
    assert rows[0] == {"section": "", "row": "", "field": "schema", "value": "kmemsim-replay/1"}
    got = {(r["section"], r["row"], r["field"]): r["value"] for r in rows}
    assert got[("slab_pages", "", "trace")].isdigit() and ("bytes_alloc_mismatches", "", "value") in got
    assert run("replay", str(TRACE), "--json", "--csv").exit_code != 0


def test_compare_json(tmp_path: Path):
    small = tmp_path / "small.txt"
    small.write_text("".join(gzip.open(TRACE, "rt").readlines()[:3000]))
    res = run("compare", str(small), "--a-set", "slab_nomerge=0", "--b-set", "slab_nomerge=1", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["schema"] == "kmemsim-compare/1"
    assert doc["difference"]["slab_pages"] == doc["b"]["final"]["slab_pages"] - doc["a"]["final"]["slab_pages"]
    assert doc["a"]["check"]["error"] is None and doc["labels"]["b"].endswith("slab_nomerge=1")
    text = run("compare", str(small), "--a-set", "slab_nomerge=0", "--b-set", "slab_nomerge=1").output
    assert f"Differences: {doc['differences']}\n" in text


def test_bad_interval_and_report_path_fail_before_the_replay(tmp_path: Path):
    for v in ("nan", "inf", "-1", "0"):
        res = run("replay", str(TRACE), "--interval", v)
        assert res.exit_code == 2 and "--interval" in res.output
    res = run("replay", str(TRACE), "--report", str(tmp_path / "no" / "such" / "r.html"))
    assert res.exit_code == 2 and "--report" in res.output and "Replay on" not in res.output
    with pytest.raises(UsageError):
        Replay.__new__(Replay).__init__(None, options=ReplayOptions(sample_interval=float("nan")))  # type: ignore


def test_unknown_gfp_bits_name_the_file_and_line(tmp_path: Path):
    t = tmp_path / "t.txt"
    t.write_text(LINE.format(t=1, p=0x1000, g="GFP_KERNEL") + LINE.format(t=2, p=0x2000, g="GFP_KERNEL")
                 + LINE.format(t=3, p=0x3000, g="GFP_KERNEL|0x8000000"))
    res = run("replay", str(t))
    assert res.exit_code == 1
    assert f"{t}:3: gfp_flags=GFP_KERNEL|0x8000000 has bits 0x8000000 that are not gfp flags of linux-6.18" \
        in res.output
    with pytest.raises(KmemsimError, match=r":3: gfp_flags=GFP_KERNEL\|0x8000000"):
        replay(t)
    with pytest.raises(KmemsimError, match=r":3: gfp_flags="):
        compare(t, {"profile": None}, {"cpus": 4})
    assert locate(t, "GFP_KERNEL") == 1 and locate(t, "nothing") == 0


def test_damaged_gzip_is_named_and_lenient_uses_the_events_before(tmp_path: Path):
    data = TRACE.read_bytes()
    cut = tmp_path / "cut.txt.gz"
    cut.write_bytes(data[: len(data) // 2])
    res = run("replay", str(cut))
    assert res.exit_code == 1 and f"{cut}: truncated gzip data" in res.output and "complete lines" in res.output
    res = run("replay", str(cut), "--lenient")
    assert res.exit_code == 0, res.output
    assert "DAMAGED INPUT: truncated gzip data" in res.output and "bytes_alloc mismatches: 0" in res.output
    bad = tmp_path / "bad.txt.gz"
    bad.write_bytes(data[:5000] + bytes(b ^ 0x55 for b in data[5000:9000]) + data[9000:])
    res = run("compare", str(bad), "--b-set", "cpus=4")
    assert res.exit_code == 1 and str(bad) in res.output


def test_no_progress_display_when_not_a_terminal():
    res = CliRunner().invoke(main, ["replay", str(TRACE), "--every", "0"])
    assert res.exit_code == 0 and res.stderr == ""


def test_progress_display_when_asked(monkeypatch):
    import contextlib

    import kmemsim.trace.progress as progress

    seen: list = []

    @contextlib.contextmanager
    def fake(path, *, stream=None, enabled=None, description="", min_bytes=0):
        calls: list = []
        seen.append((str(path), enabled, description, calls))
        yield lambda done, total: calls.append(done)

    monkeypatch.setattr(progress, "reading_progress", fake)
    res = run("replay", str(TRACE), "--every", "0", "--progress")
    assert res.exit_code == 0, res.output
    (path, enabled, description, calls), = seen
    assert (path, enabled, description) == (str(TRACE), True, "kmemsim replay") and calls
    seen.clear()
    res = run("compare", str(TRACE), "--b-set", "cpus=4", "--every", "0", "--no-progress")
    assert res.exit_code == 0 and seen[0][1] is False and seen[0][2] == "kmemsim compare"
