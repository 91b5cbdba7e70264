#!/usr/bin/env python3
"""Write a gzip'd cpio (newc) initramfs holding only our capture init.

    mkinitramfs.py INIT_BINARY OUT.cpio.gz

Entries: /dev, /dev/console (char 5:1), /proc, /sys, /tmp, /init.  Fixed
mtimes and inode numbers, so the same init gives the same archive.
"""
import gzip
import sys


def entry(ino, name, mode, data=b"", rdev=(0, 0), nlink=1):
    name_b = name.encode() + b"\0"
    hdr = "070701" + "".join(
        f"{v:08x}"
        for v in (ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0)
    )
    out = hdr.encode() + name_b
    out += b"\0" * (-len(out) % 4)
    out += data
    out += b"\0" * (-len(out) % 4)
    return out


def main():
    init, out = sys.argv[1], sys.argv[2]
    data = open(init, "rb").read()
    arc = b"".join(
        [
            entry(1, "dev", 0o040755, nlink=2),
            entry(2, "dev/console", 0o020600, rdev=(5, 1)),
            entry(3, "proc", 0o040555, nlink=2),
            entry(4, "sys", 0o040555, nlink=2),
            entry(5, "tmp", 0o041777, nlink=2),
            entry(6, "init", 0o100755, data),
            entry(0, "TRAILER!!!", 0),
        ]
    )
    arc += b"\0" * (-len(arc) % 512)
    with open(out, "wb") as f:
        f.write(gzip.compress(arc, mtime=0))


if __name__ == "__main__":
    main()
