"""Real procps clients read the model's /proc files (bind-mounted in a private mount namespace).

Needs root, unshare and the procps tools; skipped cleanly anywhere else.
"""
import os
import shutil
import subprocess

import pytest

import kmemsim
from kmemsim.gfp import GFP_KERNEL

pytestmark = pytest.mark.host


def _bind_run(tmp_path, name, text, cmd):
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which(cmd[0]):
        pytest.skip("needs root, unshare and procps")
    f = tmp_path / name
    f.write_text(text)
    script = f"mount --bind {f} /proc/{name} && {' '.join(cmd)}"
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip(f"bind mount not possible here: {r.stderr.strip()}")
    return r.stdout


def test_slabtop_reads_the_model_slabinfo(tmp_path):
    k = kmemsim.boot()
    c = k.kmem_cache_create("widget", 200)
    for _ in range(500):
        k.kmem_cache_alloc(c, GFP_KERNEL)
    out = _bind_run(tmp_path, "slabinfo", k.proc("slabinfo"), ["slabtop", "--once"])
    slabs = sum(s.nr_slabs for s in k.slub.caches)  # widget's and vmalloc_init's vmap_area slab
    assert f"Active / Total Slabs (% used)      : {slabs} / {slabs}" in out
    assert "widget" in out and f"{c.total_objects}" in out


def test_free_reads_the_model_meminfo(tmp_path):
    k = kmemsim.boot()
    out = _bind_run(tmp_path, "meminfo", k.proc("meminfo"), ["free"])
    total = sum(z.managed_pages for z in k.page_alloc.zones) * 4
    assert out.splitlines()[1].split()[1] == str(total)
