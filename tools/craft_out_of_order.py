"""Make a perf.data whose events perf finds out of order, from a real perf kmem recording.

    perf kmem --slab record -m 128 -o rec.data -- sh -c 'ls / >/dev/null; ls /etc >/dev/null'
    python3 tools/craft_out_of_order.py rec.data ooo.data 3

The recording's PERF_RECORD_SAMPLEs (sample_type IP|TID|TIME|CPU|PERIOD|RAW|IDENTIFIER, as perf
kmem record makes them: the time is the fourth u64 after the header) are counted in rounds
(PERF_RECORD_FINISHED_ROUND); N samples spread over the rounds after the second get a time just
after the recording's first sample.  perf's ordered-events queue has flushed past that time when
they arrive, so perf kmem stat, perf script and perf report say "Warning:" / "N out of order events
recorded." and deliver them anyway, each at the head of the next flush (so perf script prints
its time going backwards).  Only the time fields change: the events, their data and the file's
layout stay as recorded.  tests/data/trace/out-of-order/ was made this way (see its README).
"""
from __future__ import annotations

import struct
import sys

PERF_RECORD_SAMPLE = 9
PERF_RECORD_FINISHED_ROUND = 68
TIME_OFFSET = 32  # perf_event_header (8), id (8), ip (8), pid/tid (8)


def main(src: str, dst: str, n: int) -> int:
    data = bytearray(open(src, "rb").read())
    if data[:8] != b"PERFILE2":
        print(f"{src}: not a perf.data file (magic {bytes(data[:8])!r})", file=sys.stderr)
        return 2
    data_off, data_size = struct.unpack_from("<QQ", data, 40)  # perf_file_header.data
    pos, end = data_off, data_off + data_size
    samples: list[tuple[int, int, int]] = []
    rounds = 0
    while pos < end:
        typ, _misc, size = struct.unpack_from("<IHH", data, pos)
        if size == 0:
            print(f"{src}: a record of size 0 at {pos}", file=sys.stderr)
            return 2
        if typ == PERF_RECORD_SAMPLE:
            samples.append((pos, struct.unpack_from("<Q", data, pos + TIME_OFFSET)[0], rounds))
        elif typ == PERF_RECORD_FINISHED_ROUND:
            rounds += 1
        pos += size
    late = [s for s in samples if s[2] >= 2]
    if len(late) < n + 1:
        print(f"{src}: {rounds} rounds, {len(late)} samples after the second: record more", file=sys.stderr)
        return 1
    first = min(t for _, t, _ in samples)
    step = len(late) // (n + 1)
    for i in range(n):
        at, t, r = late[(i + 1) * step]
        struct.pack_into("<Q", data, at + TIME_OFFSET, first + 1000 * (i + 1))
        print(f"sample at {at} (round {r}): time {t} -> {first + 1000 * (i + 1)}")
    open(dst, "wb").write(data)
    print(f"{len(samples)} samples in {rounds} rounds; wrote {dst}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
