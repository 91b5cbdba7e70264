"""Bad invocations of every command: each gets a kmemsim error that names the bad input,
a non-zero exit status and no Python traceback.

Each row is (arguments, text the error must contain).  ``{T}`` is a directory of bad
input files (see ``bad``), ``{SNAP}`` the host snapshot.  A row that still ends in a
traceback, or is accepted, in code this test's authors do not own is marked xfail
with the reason and the file to change; the row then passes by itself once fixed
(strict xfail) and the mark must go.
"""
from __future__ import annotations

import gzip
import io
import os
import shlex
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import DATA

from kmemsim.cli.main import main

SNAP = DATA / "host-6.18" / "snapshot.tar.gz"


def xfail(reason: str, **kw) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=reason, **kw)


ROWS: list = [
    # ---- the group
    ("nosuchcommand", "No such command 'nosuchcommand'"),
    ("--nosuchoption", "No such option '--nosuchoption'"),
    # ---- tour
    ("tour nosuchchapter", "no tour chapter 'nosuchchapter'"),
    ("tour 99", "no tour chapter '99'"),
    ("tour --bogus", "No such option '--bogus'"),
    # ---- layout (and the boot options every booting command shares)
    ("layout --profile nope", "'nope' is not one of"),
    ("layout --ram nope", "malformed size 'nope'"),
    ("layout --ram -1G", "malformed size '-1G'"),
    ("layout --ram 0", "ram='0'"),
    ("layout --ram 1P", "ram='1P'"),
    ("layout --ram 1k", "ram='1k'"),
    ("layout --ram ''", "ram"),
    ("layout --cpus 0", "cpus=0"),
    ("layout --cpus -3", "cpus=-3"),
    ("layout --cpus abc", "'abc' is not a valid integer"),
    ("layout --cpus 100000", "cpus=100000"),
    ("layout --set nonsense", "'nonsense': expected NAME=VALUE"),
    ("layout --set =1", "'=1': expected NAME=VALUE"),
    ("layout --set no_such_tunable=1", "unknown tunable 'no_such_tunable'"),
    ("layout --set min_free_kbytes=abc", "min_free_kbytes"),
    ("layout --set min_free_kbytes=-5", "min_free_kbytes"),
    ("layout --set cpus=abc", "'cpus=abc': cpus must be a number"),
    ("layout --set ram=lots", "malformed size 'lots'"),
    ("layout --min-hole lots", "--min-hole: malformed size 'lots'"),
    ("layout --min-hole -4K", "--min-hole: malformed size '-4K'"),
    ("layout --profile linux-2.6-i386 --ram 100G", "ram='100G'"),
    ("layout --profile linux-2.6-i386 --cpus 1000", "cpus=1000"),
    ("layout extra", "unexpected extra argument (extra)"),
    # ---- dmesg
    ("dmesg --ram 1", "ram='1'"),
    ("dmesg --ram 4X", "malformed size '4X'"),
    ("dmesg --set slab_nomerge=maybe", "slab_nomerge"),
    ("dmesg --set watermark_scale_factor=-1", "watermark_scale_factor"),
    ("dmesg --set cpus=abc", "'cpus=abc'"),
    ("dmesg --set cpus=0", "cpus=0"),
    ("dmesg extra-arg", "unexpected extra argument (extra-arg)"),
    # ---- profiles
    ("profiles extra-arg", "unexpected extra argument (extra-arg)"),
    # ---- proc
    ("proc", "Missing argument 'NAME'"),
    ("proc nope", "nope: no such file"),
    ("proc /proc/nope", "/proc/nope: no such file"),
    ("proc vmallocinfo --profile linux-2.6-i386", "vmallocinfo"),
    ("proc meminfo --profile linux-2.6-i386", "meminfo"),
    ("proc vmstat --profile linux-2.6-i386", "vmstat"),
    ("proc extfrag/nope", "extfrag/nope: no such file"),
    ("proc failslab/nope", "failslab/nope"),
    ("proc failslab/probability --profile linux-2.6-i386", "linux-2.6.24-i386 has no failslab"),
    ("proc slab/nope/alloc_traces", "slab/nope/alloc_traces"),
    ("proc zoneinfo --host {T}/nonexistent.tar.gz", "nonexistent.tar.gz: no such snapshot"),
    ("proc zoneinfo --host {T}/empty.txt", "empty.txt"),
    ("proc zoneinfo --host {T}/bad.tar.gz", "bad.tar.gz"),
    ("proc zoneinfo --host {T}/other.tar.gz", "other.tar.gz: not a kmemsim snapshot"),
    ("proc zoneinfo --host {T}/dir", "dir/SNAPSHOT"),
    ("proc zoneinfo --host {T}/garbage.bin", "garbage.bin"),
    ("proc --list zoneinfo", "give NAME (zoneinfo) or --list"),
    ("proc zoneinfo --ram nope", "malformed size 'nope'"),
    ("proc zoneinfo --profile nope", "'nope' is not one of"),
    # proc --host: RAM, CPUs and the profile come from the snapshot (no longer silently ignored)
    ("proc meminfo --host {SNAP} --ram 1G", "RAM and CPUs come from the snapshot"),
    ("proc meminfo --host {SNAP} --cpus 2", "RAM and CPUs come from the snapshot"),
    ("proc meminfo --host {SNAP} --set cpus=2", "RAM and CPUs come from the snapshot"),
    ("proc meminfo --host {SNAP} --set ram=1G", "RAM and CPUs come from the snapshot"),
    ("proc meminfo --host {SNAP} --set no_such_tunable=1", "unknown tunable 'no_such_tunable'"),
    ("proc meminfo --host {SNAP} --set nonsense", "'nonsense': expected NAME=VALUE"),
    ("proc meminfo --host {SNAP} --profile linux-2.6-i386", "--profile linux-2.6-i386 cannot be given"),
    # proc --json / --csv
    ("proc meminfo --json --csv", "give --json or --csv, not both"),
    ("proc --list --json", "--list prints names"),
    ("proc --list --csv", "--list prints names"),
    ("proc zoneinfo --csv", "/proc/zoneinfo is not table-shaped"),
    ("proc extfrag/extfrag_index --csv", "is not table-shaped"),
    ("proc nope --json", "nope: no such file"),
    ("proc --json", "Missing argument 'NAME'"),
    # tunables every booting command shares, through proc and dmesg
    ("dmesg --set slab_debug=QQQ", "slab_debug='QQQ': unknown option 'Q'"),
    ("proc slabinfo --set slab_debug=FZQ,kmalloc-64", "unknown option 'Q'"),
    ("dmesg --profile linux-2.6-i386 --set vmalloc=8M", "vmalloc=8388608 is too small"),
    ("dmesg --profile linux-2.6-i386 --set vmalloc=1M", "vmalloc=1048576 is too small"),
    ("dmesg --profile linux-2.6-i386 --set vmalloc=16M", "vmalloc=16777216 is too small"),
    ("dmesg --profile linux-2.6-i386 --set vmalloc=lots", "vmalloc"),
    ("dmesg --set vmalloc=200M", "unknown tunable 'vmalloc'"),
    ("dmesg --set slub_max_order=99", "slub_max_order"),
    ("dmesg --set slab_nomerge=2", "slab_nomerge"),
    ("layout --cpus 1.5", "'1.5' is not a valid integer"),
    ("features --profile nope", "'nope' is not one of"),
    ("features extra", "unexpected extra argument (extra)"),
    ("profiles --json", "No such option '--json'"),
    # ---- snapshot (fails before reading the host)
    ("snapshot", "Missing option '-o'"),
    ("snapshot -o {T}/empty.txt", "empty.txt: exists and is not a directory"),
    ("snapshot -o {T}/notempty", "notempty: exists and is not an empty directory"),
    # ---- record (fails before touching tracefs)
    ("record", "no command to run"),
    ("record -o {T}/out.txt", "no command to run"),
    ("record -o {T}/empty.txt -- true", "empty.txt: already exists (use --force to replace it)"),
    ("record -o {T}/dir -- true", "'{T}/dir' is a directory"),
    ("record -o {T}/out.txt --buffer-kb abc -- true", "'abc' is not a valid integer"),
    ("record -o {T}/out.txt --buffer-kb -1 -- true", "--buffer-kb"),
    # ---- stat
    ("stat", "Missing argument 'FILE'"),
    ("stat {T}/nonexistent.txt", "nonexistent.txt"),
    ("stat {T}/dir", "'{T}/dir' is a directory"),
    ("stat {T}/empty.txt --slab", "No slab allocation events found"),
    ("stat {T}/empty.txt --page", "No page allocation events found"),
    ("stat {T}/garbage.bin", "garbage.bin:1:"),
    ("stat {T}/notrace.txt", "notrace.txt:1: not a trace event line"),
    ("stat {T}/trunc.gz", "trunc.gz"),
    ("stat {T}/badfield.txt", "badfield.txt:1:"),
    ("stat {T}/utf.txt", "utf.txt:1:"),
    ("stat --example -s nope", "'nope'"),
    ("stat --example --page -s frag", "'frag'"),
    ("stat --example -l abc", "'abc' is not a valid integer"),
    ("stat --example --time abc", "--time 'abc'"),
    ("stat --example --time 5,1", "--time '5,1': stop is before start"),
    ("stat --example --format nope", "'nope' is not one of"),
    ("stat --example --format perf-script", "expected perf-script text"),
    ("stat --example --kallsyms {T}/nonexistent", "'{T}/nonexistent' does not exist"),
    ("stat --example --kallsyms {T}/garbage.bin", "garbage.bin"),
    ("stat --example --page-size 0", "--page-size"),
    ("stat --example --page-size -4096", "--page-size"),
    ("stat --example --cpu-nodes nope", "'nope': expected CPUS:NODE"),
    ("stat --example --cpu-nodes 0-x:0", "'0-x:0': expected CPUS:NODE"),
    ("stat --example --cpu-nodes 3-1:0", "3-1"),
    ("stat --example --top abc", "'abc' is not a valid integer"),
    ("stat --example --page-size 3000", "--page-size"),
    ("stat --example --page-size 1k", "'1k' is not a valid integer"),
    ("stat --example --page-size 1073741824", "--page-size"),
    ("stat --example --cpu-nodes 5-1:0", "'5-1:0': CPUs must be FIRST-LAST"),
    ("stat --example --cpu-nodes 0-3", "'0-3': expected CPUS:NODE"),
    ("stat --example --cpu-nodes 0-3:2000", "the node must be 0..1023"),
    ("stat --example --cpu-nodes 0-99999:0", "CPUs must be FIRST-LAST"),
    ("stat --example --kallsyms {T}/nul.txt", "not a /proc/kallsyms text (a NUL byte)"),
    ("stat --example --kallsyms {T}/empty.txt", "no 'ADDRESS TYPE SYMBOL' line"),
    ("stat --example --kallsyms {T}/dir", "'{T}/dir' is a directory"),
    ("stat --page {T}/order_neg.txt", "order_neg.txt:2: mm_page_alloc: order=-1 is outside"),
    ("stat --page {T}/order_huge.txt", "order_huge.txt:2: mm_page_alloc: order=4000000000 is outside"),
    ("stat --page {T}/order_abc.txt", "order_abc.txt:2: mm_page_alloc:"),
    ("replay {T}/order_neg.txt", "order_neg.txt:2: mm_page_alloc: order=-1 is outside"),
    ("replay {T}/order_huge.txt", "order_huge.txt:2:"),
    ("stat --example {T}/empty.txt", "give FILE ({T}/empty.txt) or --example, not both"),
    ("stat --bogus", "No such option '--bogus'"),
    # ---- replay
    ("replay", "Missing argument 'FILE'"),
    ("replay {T}/nonexistent.txt", "nonexistent.txt"),
    ("replay {T}/dir", "'{T}/dir' is a directory"),
    ("replay {T}/garbage.bin", "garbage.bin:1:"),
    ("replay {T}/notrace.txt", "notrace.txt:1: not a trace event line"),
    ("replay {T}/trunc.gz", "trunc.gz"),
    ("replay {T}/badfield.txt", "badfield.txt:1:"),
    ("replay {T}/utf.txt", "utf.txt:1:"),
    ("replay --example --every -1", "--every: must be >= 0"),
    ("replay --example --every abc", "'abc' is not a valid integer"),
    ("replay --example --interval 0", "--interval: must be > 0"),
    ("replay --example --interval -1", "--interval: must be > 0"),
    ("replay --example --interval abc", "'abc' is not a valid float"),
    ("replay --example --top abc", "'abc' is not a valid integer"),
    ("replay --example --report {T}/dir", "'{T}/dir' is a directory"),
    ("replay --example --report {T}/nodir/r.html", "{T}/nodir/r.html: no such directory {T}/nodir"),
    ("replay --example --report {T}/empty.txt/r.html", "{T}/empty.txt/r.html: no such directory"),
    ("replay --example --host {T}/nonexistent.tar.gz", "nonexistent.tar.gz: no such snapshot"),
    ("replay --example --host {T}/empty.txt", "empty.txt"),
    ("replay --example --host {T}/bad.tar.gz", "bad.tar.gz"),
    ("replay --example --host {T}/other.tar.gz", "other.tar.gz: not a kmemsim snapshot"),
    ("replay --example --profile nope", "'nope' is not one of"),
    ("replay --example --host {SNAP} --profile linux-2.6-i386", "cannot boot linux-2.6-i386"),
    ("replay --example --host {SNAP} --ram 1G", "RAM and CPUs come from the snapshot"),
    ("replay --example --set nonsense", "'nonsense': expected NAME=VALUE"),
    ("replay --example --set no_such_tunable=1", "unknown tunable 'no_such_tunable'"),
    ("replay --example --set cpus=abc", "'cpus=abc': cpus must be a number"),
    ("replay --example --set ram=lots", "malformed size 'lots'"),
    ("replay --example --set cpus=0", "cpus=0"),
    ("replay --example --set profile=nope", "unknown profile 'nope'"),
    ("replay --example --ram 1", "ram='1'"),
    ("replay --example --cpus 0", "cpus=0"),
    ("replay --example --format nope", "'nope' is not one of"),
    ("replay --example --format perf-script", "expected perf-script text"),
    ("replay --example {T}/empty.txt", "give FILE ({T}/empty.txt) or --example, not both"),
    # ---- compare
    ("compare", "Missing argument 'FILE'"),
    ("compare {T}/empty.txt", "machines A and B are the same"),
    ("compare {T}/nonexistent.txt --b-set cpus=2", "nonexistent.txt"),
    ("compare {T}/garbage.bin --b-set cpus=2", "garbage.bin:1:"),
    ("compare {T}/notrace.txt --b-set cpus=2", "notrace.txt:1:"),
    ("compare --example --b-set nonsense", "--b-set 'nonsense': expected NAME=VALUE"),
    ("compare --example --a-set nonsense", "--a-set 'nonsense': expected NAME=VALUE"),
    ("compare --example --b-set cpus=abc", "'cpus=abc': cpus must be a number"),
    ("compare --example --b-set ram=lots", "malformed size 'lots'"),
    ("compare --example --b-set profile=nope", "unknown profile 'nope'"),
    ("compare --example --b-set no_such_tunable=1", "unknown tunable 'no_such_tunable'"),
    ("compare --example --profile nope", "'nope' is not one of"),
    ("compare --example --profile linux-6.18-x86_64 --profile linux-2.6-i386 --profile linux-6.18-x86_64",
     "give at most two profiles"),
    ("compare --example --b-set cpus=2 --every -1", "--every: must be >= 0"),
    ("compare --example --b-set cpus=2 --interval 0", "--interval: must be > 0"),
    ("compare --example --b-set cpus=2 --report {T}/dir", "'{T}/dir' is a directory"),
    ("compare --example --b-set cpus=2 --report {T}/nodir/c.html", "{T}/nodir/c.html: no such directory"),
    ("compare --example --host {T}/empty.txt --b-set slab_nomerge=1", "empty.txt"),
    ("compare --example --host {SNAP} --b-set cpus=4", "RAM and CPUs come from the snapshot"),
    ("compare --example --b-set cpus=0", "cpus=0"),
    ("compare --example --b-set ram=1", "ram='1'"),
    ("compare --example {T}/empty.txt", "give FILE ({T}/empty.txt) or --example, not both"),
    # ---- example
    ("example nope", "'nope' is not one of 'snapshot', 'trace'"),
    ("example trace extra", "unexpected extra argument (extra)"),
]


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> Path:
    """A directory of bad inputs: files that are not what the commands expect."""
    t = tmp_path_factory.mktemp("bad")
    (t / "empty.txt").write_text("")
    (t / "garbage.bin").write_bytes(bytes(range(256)) * 10)
    (t / "notrace.txt").write_text("hello world\nthis is not a trace\n")
    (t / "trunc.gz").write_bytes(gzip.compress(b"x" * 10000)[:50])
    (t / "dir").mkdir()
    (t / "nul.txt").write_text("ffffffff81000000 T _text\n\0\0\n")
    page_line = ("              sh-31488   [000] .....  5430.231555: mm_page_alloc: page=00000000d9e0d432 "
                 "pfn=0x238f11 order={} migratetype=0 gfp_flags=GFP_KERNEL\n")
    for name, order in (("order_neg", "-1"), ("order_huge", "4000000000"), ("order_abc", "abc")):
        (t / f"{name}.txt").write_text(page_line.format(0) + page_line.format(order))
    (t / "notempty").mkdir()
    (t / "notempty" / "f").write_text("x")
    (t / "bad.tar.gz").write_bytes(gzip.compress(b"not a tar"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        ti = tarfile.TarInfo("x/y")
        ti.size = 5
        tf.addfile(ti, io.BytesIO(b"hello"))
    (t / "other.tar.gz").write_bytes(buf.getvalue())
    (t / "badfield.txt").write_text(
        " sh-7 [000] ..... 100.000001: kmalloc: call_site=f+0x1/0x10 ptr=000000000000a0 bytes_req=abc "
        "bytes_alloc=128 gfp_flags=GFP_KERNEL\n"
    )
    (t / "utf.txt").write_bytes(b"\xff\xfe\x00garbage\n")
    return t


def args_of(line: str, t: Path) -> list[str]:
    return shlex.split(line.format(T=t, SNAP=SNAP))


def test_the_table_is_big_enough():
    assert len(ROWS) >= 100
    commands = {(r.values if hasattr(r, "values") else r)[0].split()[0] for r in ROWS}
    assert {"tour", "layout", "dmesg", "profiles", "proc", "snapshot", "record", "stat", "replay", "compare",
            "example"} <= commands  # fmt: skip


@pytest.mark.parametrize("line, names", ROWS)
def test_bad_invocation_is_a_clear_error(line: str, names: str, bad: Path):
    res = CliRunner().invoke(main, args_of(line, bad), catch_exceptions=True)
    exc = res.exception
    assert exc is None or isinstance(exc, SystemExit), f"traceback: {exc!r}"
    assert res.exit_code not in (0, None), res.output
    assert "Traceback" not in res.output
    assert "Error" in res.output
    assert names.format(T=bad, SNAP=SNAP) in res.output, res.output


def kmemsim_exe() -> list[str]:
    exe = Path(sys.executable).parent / "kmemsim"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "kmemsim.cli.main"]


@pytest.mark.parametrize("line, names", [
    ("proc nope", "nope: no such file"),
    ("dmesg --set cpus=abc", "'cpus=abc'"),
    ("replay {T}/garbage.bin", "garbage.bin:1:"),
    ("replay --example --report {T}/nodir/r.html", "{T}/nodir/r.html: no such directory"),
    ("compare --example --b-set nonsense", "--b-set 'nonsense'"),
    ("stat {T}/nonexistent.txt", "nonexistent.txt"),
])  # fmt: skip
def test_bad_invocation_of_the_real_command(line: str, names: str, bad: Path):
    """The installed entry point, in a process of its own: stderr has the error, no traceback."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    p = subprocess.run(kmemsim_exe() + args_of(line, bad), capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode in (1, 2), (p.returncode, p.stderr)
    assert "Traceback" not in p.stderr and p.stderr.startswith(("Error: ", "Usage: "))
    assert names.format(T=bad) in p.stderr
