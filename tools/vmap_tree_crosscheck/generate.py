import gzip
import random
import subprocess
import sys

PS = 4096
rnd = random.Random(7)
V0 = 0xffffc90000000000
p = subprocess.Popen(["./harness"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
ops, outs, live = [], [], []
for i in range(2000):
    if live and rnd.random() < 0.45:
        s, e = live.pop(rnd.randrange(len(live)))
        line = f"F {s:x} {e:x}"
        p.stdin.write(line + "\n")
        ops.append(line)
    else:
        size = rnd.randint(1, 32) * PS
        align = rnd.choice([1, PS, 2*PS, 4*PS, 16*PS, 64*PS])
        if rnd.random() < 0.3:
            lo = V0 + rnd.randint(0, 4096) * PS
            hi = lo + rnd.randint(1, 512) * PS
        else:
            lo, hi = V0, V0 + (32 << 40) - 1
        line = f"A {size:x} {align:x} {lo:x} {hi:x}"
        p.stdin.write(line + "\n")
        p.stdin.flush()
        ops.append(line)
        r = int(p.stdout.readline(), 16)
        outs.append(f"{r:x}")
        if r:
            live.append((r, r + size))
    if i % 250 == 249:
        p.stdin.write("D\n")
        p.stdin.flush()
        ops.append("D")
        outs.append(p.stdout.readline().strip())
p.stdin.close()
p.wait()
with gzip.open(sys.argv[1], "wt") as f:
    f.write("# kmemsim: ops fed to the kernel's own free-tree code "
            "(6.12 mm/vmalloc.c find_va_links..__alloc_vmap_area\n")
    f.write("# with tools/lib/rbtree.c, compiled by tools/vmap_tree_crosscheck), then its answers after '=== OUT'\n")
    f.write("\n".join(ops) + "\n=== OUT\n" + "\n".join(outs) + "\n")
