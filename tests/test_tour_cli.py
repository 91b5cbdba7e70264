"""The tour's output (golden) and the command line."""
import re

import pytest
from click.testing import CliRunner
from conftest import golden

import kmemsim
from kmemsim.cli.main import main


def run(*args):
    r = CliRunner().invoke(main, list(args))
    return r


def _no_line_numbers(text):
    """Call traces name Python frames as ``file.py:LINE``; the line numbers of the tour's
    own source are not what the tour teaches, so the golden comparison leaves them out."""
    return re.sub(r"(\w+\.py):\d+", r"\1:N", text)


def test_tour_output_is_the_golden_text():
    r = run("tour")
    assert r.exit_code == 0, r.output
    assert _no_line_numbers(r.output) == _no_line_numbers(golden("tour.txt", r.output))


def test_tour_facts():
    out = run("tour", "addresses").output
    assert "VMALLOC_START = 0xca800000" in out
    assert "k.read(_text, 13)        = b'hello, kernel'" in out
    assert "BUG: unable to handle page fault for address: ffffc90000001000" in out


def test_tour_unknown_chapter():
    r = run("tour", "nosuch")
    assert r.exit_code != 0 and "no tour chapter 'nosuch'" in r.output


def test_layout_i386_160m():
    r = run("layout", "--profile", "linux-2.6-i386", "--ram", "160M", "--fields")
    assert r.exit_code == 0, r.output
    assert "ff7fdfff - ca800000" in r.output and "[V] vmalloc/ioremap/modules" in r.output
    assert "vmalloc_start          0xca800000" in r.output


def test_layout_with_tunable_and_hidden_holes():
    r = run("layout", "--profile", "linux-2.6-i386", "--ram", "2G", "--set", "vmalloc=256M", "--min-hole", "1G")
    assert r.exit_code == 0, r.output
    assert "mem=2G vmalloc=256M" in r.output
    assert "f07fffff - f0000000" in r.output  # the 8 MB gap after 768 MB of lowmem


def test_bad_inputs_give_clear_errors():
    r = run("layout", "--ram", "12Q")
    assert r.exit_code == 1 and "malformed size '12Q'" in r.output
    r = run("layout", "--set", "nosuch=1")
    assert r.exit_code == 1 and "unknown tunable 'nosuch'" in r.output
    r = run("layout", "--set", "novalue")
    assert r.exit_code == 2 and "NAME=VALUE" in r.output
    r = run("layout", "--profile", "vax")
    assert r.exit_code == 2


def test_dmesg_and_profiles():
    r = run("dmesg", "--ram", "24G")
    assert "BIOS-e820: [mem 0x0000000100000000-0x000000063fffffff] usable" in r.output
    r = run("profiles")
    assert "linux-2.6-i386" in r.output and "`vmalloc`" in r.output


# ---------------------------------------------------------------------------- kmemsim tour --profile P
@pytest.mark.parametrize("profile", ["linux-2.6.11-i386"])
def test_the_books_story_on_their_kernel_is_the_golden_text(profile):
    """``kmemsim tour --profile linux-2.6.11-i386``: the seeds' story (/work/shared/seeds) in
    their order on their kernel, 160 MB: PAGE_OFFSET 0xc0000000, high_memory 0xca000000 and
    VMALLOC_START 8 MB above it (seed 000's 160 MB example), the kmalloc ladder and what
    happens above 128 KB, kzalloc/kcalloc, a cache with SLAB_* flags and a constructor and
    2.6.11's dtor argument, __get_free_pages and get_zeroed_page (order 11 >= MAX_ORDER is
    NULL), vmalloc and vmalloc_32, 2.6.11's GFP values with __GFP_COLD taking the cold list,
    GFP_KERNEL in a timer reported with 2.6.11's "Debug: sleeping function called from invalid
    context", mempool, ioremap; then k.check()."""
    r = run("tour", "--profile", profile)
    assert r.exit_code == 0, r.output
    assert _no_line_numbers(r.output) == _no_line_numbers(golden(f"tour-{profile}.txt", r.output))
    out = r.output
    assert "high_memory 0xca000000 (160 MB)" in out and "VMALLOC_START 0xca800000" in out
    assert "kmem_cache_create(name, size, align, flags, ctor, dtor)" in out  # 2.6.11's signature
    assert "GFP_KERNEL=0xd0" in out and "__GFP_COLD=0x100" in out and "order 11 (>= MAX_ORDER) = 0x0: NULL" in out
    assert "Debug: sleeping function called from invalid context at mm/slab.c:2082" in out
    assert out.rstrip().splitlines()[-1].startswith("k.check(): clean")


@pytest.mark.parametrize("profile", sorted(kmemsim.PROFILES))
def test_the_books_story_runs_on_every_profile(profile):
    r = run("tour", "--profile", profile)
    assert r.exit_code == 0, r.output
    assert "9. ioremap" in r.output and "k.check(): clean" in r.output


def test_tour_profile_errors():
    r = run("tour", "--profile", "linux-2.6.11-i386", "slab")
    assert r.exit_code == 2 and "give no chapters" in r.output
    r = run("tour", "--profile", "linux-2.4")
    assert r.exit_code == 2 and "Invalid value for '--profile'" in r.output
    assert run("tour", "--profile", "linux-2.6-i386").exit_code == 0  # an alias
