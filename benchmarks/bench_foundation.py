"""Boot time and memory for 1 GiB, 64 GiB and 1 TiB machines; read/write throughput.

Boot figures come from a fresh interpreter per size, so RSS is not shared:
"RSS +" is what booting added to an interpreter that had already imported
kmemsim.  Throughput is measured beside the floor of what Python can do: the
same slices of one bytearray with no translation at all.
"""
from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
def rss_kb():
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4
import kmemsim
kmemsim.boot(ram='128M')  # warm imports
before = rss_kb()
t = time.perf_counter()
k = kmemsim.boot(ram=sys.argv[1])
dt = time.perf_counter() - t
k.check()
print(json.dumps({"boot_s": dt, "rss_kb": rss_kb() - before, "max_pfn": k.max_pfn}))
"""


def boot_figures(out) -> None:
    for ram in ("1G", "64G", "1T"):
        r = subprocess.run([sys.executable, "-c", CHILD, ram], capture_output=True, text=True, check=True)
        d = json.loads(r.stdout)
        out(f"boot ram={ram:<4} {d['boot_s'] * 1000:8.1f} ms   "
            f"RSS +{d['rss_kb'] / 1024:7.1f} MiB   max_pfn={d['max_pfn']:#x}")


sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import rate  # noqa: E402  (best of 5 runs)


def throughput(out) -> None:
    import kmemsim

    k = kmemsim.boot(ram="1G")
    base = k.va(0x10000000)
    npages = 256
    k.memset(base, 0, npages * 4096)  # touch the pages first
    rnd = random.Random(1)
    offs8 = [rnd.randrange(0, npages * 4096 - 8) & ~7 for _ in range(4096)]
    offs4k = [rnd.randrange(0, npages) * 4096 for _ in range(1024)]
    data8, data4k = b"12345678", bytes(4096)
    read, write = k.read, k.write

    def r8(n):
        for i in range(n):
            read(base + offs8[i & 4095], 8)

    def w8(n):
        for i in range(n):
            write(base + offs8[i & 4095], data8)

    def r4k(n):
        for i in range(n):
            read(base + offs4k[i & 1023], 4096)

    def w4k(n):
        for i in range(n):
            write(base + offs4k[i & 1023], data4k)

    flat = bytearray(npages * 4096)

    def floor_r8(n):
        for i in range(n):
            o = offs8[i & 4095]
            bytes(flat[o : o + 8])

    def floor_w8(n):
        for i in range(n):
            o = offs8[i & 4095]
            flat[o : o + 8] = data8

    fr, fw = rate(floor_r8, 300_000), rate(floor_w8, 300_000)
    a, b = rate(r8, 300_000), rate(w8, 300_000)
    out(f"read  8 B    {a / 1e6:6.2f} M ops/s   floor (bare bytearray) {fr / 1e6:6.2f} M/s   ratio {a / fr:.2f}")
    out(f"write 8 B    {b / 1e6:6.2f} M ops/s   floor (bare bytearray) {fw / 1e6:6.2f} M/s   ratio {b / fw:.2f}")
    c, d = rate(r4k, 50_000), rate(w4k, 50_000)
    out(f"read  4 KiB  {c * 4096 / 2**20:8.0f} MiB/s ({c / 1e3:.0f} k pages/s)")
    out(f"write 4 KiB  {d * 4096 / 2**20:8.0f} MiB/s ({d / 1e3:.0f} k pages/s)")
    big = bytes(1 << 20)
    t = time.perf_counter()
    for _ in range(50):
        write(base, big)
        read(base, 1 << 20)
    dt = time.perf_counter() - t
    out(f"1 MiB write+read  {100 / dt:8.0f} MiB/s (page-by-page translation)")


def main(out) -> None:
    boot_figures(out)
    throughput(out)


if __name__ == "__main__":
    main(print)
