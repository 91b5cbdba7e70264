import sys, time
t0 = time.perf_counter()
from kmemsim.trace.replay import Replay, ReplayOptions, boot_machine
from kmemsim.trace.parse import TraceReader
t1 = time.perf_counter()
k = boot_machine(host=sys.argv[2])
t2 = time.perf_counter()
r = Replay(k, options=ReplayOptions(sample_every=0))
t3 = time.perf_counter()
r.feed(TraceReader(sys.argv[1]))
t4 = time.perf_counter()
r.finish()
t5 = time.perf_counter()
n = 0
for b in TraceReader(sys.argv[1]).batches():
    n += len(b)
t6 = time.perf_counter()
print("imports %.3f boot %.3f init %.3f feed %.3f finish %.3f parse %.3f" % (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5))
