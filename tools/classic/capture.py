#!/usr/bin/env python3
"""Boot an already-built kernel image under QEMU with our capture init and split
the serial console log into files.  (It builds nothing: the kernel images are
made outside this repository, see tests/data/classic/README.md.)

    capture.py --kernel bzImage --initrd init.cpio.gz --out DIR
               [--qemu qemu-system-i386] [--cpu pentium3] [--mem 1G] [--smp 2]
               [--append "extra kernel args"] [--timeout 600]
    capture.py --split console.txt.gz --out DIR     # only split a saved log

DIR gets console.txt.gz (the whole serial log, CRs removed), qemu.txt (the exact
command line) and one file per section of the log:

    ==== BEGIN <phase> <path> ====  ...  ==== END <phase> <path> ====

/proc/slabinfo of phase boot -> slabinfo.txt, of phase after -> slabinfo.after.txt;
/proc/sys/vm/min_free_kbytes -> sys.vm.min_free_kbytes.txt; /sys/kernel/slab ->
sys.kernel.slab.txt; the kernel log -> dmesg.txt (boot) and dmesg.final.txt.
"""
import argparse
import gzip
import os
import re
import shlex
import subprocess
import sys

SEC = re.compile(r"^==== (BEGIN|END|ABSENT) (\S+) (\S+) ====$")


def fname(phase, path):
    if path.startswith("/proc/"):
        base = path[len("/proc/"):]
    elif path.startswith("/"):
        base = path[1:]
    else:
        base = path
    base = base.replace("/", ".")
    return base + ("" if phase == "boot" else "." + phase) + ".txt"


def split(text, out):
    lines = text.split("\n")
    cur = None
    body = []
    written = []
    absent = []
    for ln in lines:
        m = SEC.match(ln)
        if m and m.group(1) == "BEGIN" and cur is None:
            cur = (m.group(2), m.group(3))
            body = []
        elif m and m.group(1) == "END" and cur == (m.group(2), m.group(3)):
            # init prints "\n==== END" after the file's own text: drop that one blank line
            if body and body[-1] == "":
                body.pop()
            fn = fname(*cur)
            with open(os.path.join(out, fn), "w") as f:
                f.write("\n".join(body) + ("\n" if body else ""))
            written.append(fn)
            cur = None
        elif m and m.group(1) == "ABSENT" and cur is None:
            absent.append(f"{m.group(2)} {m.group(3)}")
        elif cur is not None:
            body.append(ln)
    if absent:
        with open(os.path.join(out, "absent.txt"), "w") as f:
            f.write("\n".join(absent) + "\n")
    return written


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kernel")
    ap.add_argument("--initrd")
    ap.add_argument("--out", required=True)
    ap.add_argument("--qemu", default="qemu-system-i386")
    ap.add_argument("--cpu", default="pentium3")
    ap.add_argument("--mem", default="1G")
    ap.add_argument("--smp", type=int, default=2)
    ap.add_argument("--append", default="")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--split")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.split:
        op = gzip.open if a.split.endswith(".gz") else open
        with op(a.split, "rt", errors="replace") as f:
            text = f.read()
        print(" ".join(split(text, a.out)))
        return
    cmd = [a.qemu, "-cpu", a.cpu, "-m", a.mem]
    if a.smp > 1:
        cmd += ["-smp", f"{a.smp},sockets={a.smp},cores=1"]
    cmd += ["-nographic", "-no-reboot", "-kernel", os.path.basename(a.kernel),
            "-initrd", os.path.basename(a.initrd),
            "-append", ("console=ttyS0 " + a.append).strip()]
    run = list(cmd)
    run[run.index("-kernel") + 1] = a.kernel
    run[run.index("-initrd") + 1] = a.initrd
    try:
        p = subprocess.run(run, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=a.timeout)
        raw = p.stdout
    except subprocess.TimeoutExpired as e:
        raw = (e.stdout or b"") + f"\n[capture.py: QEMU killed after {a.timeout} s]\n".encode()
    text = raw.decode("latin-1").replace("\r", "")
    with gzip.open(os.path.join(a.out, "console.txt.gz"), "wt", encoding="latin-1") as f:
        f.write(text)
    with open(os.path.join(a.out, "qemu.txt"), "w") as f:
        f.write(shlex.join(cmd) + "\n")
    if "==== KMEMSIM CAPTURE END ====" not in text:
        print("capture incomplete (no CAPTURE END)", file=sys.stderr)
        sys.exit(1)
    print(" ".join(split(text, a.out)))


if __name__ == "__main__":
    main()
