"""The kmem events: their records, their text, and the model's own tracepoints.

- :mod:`.events`: one record type per kmem event (include/trace/events/kmem.h);
- :mod:`.emit`: the text of a record as ftrace, perf script and trace-cmd print it;
- :mod:`.kmem`: the model's tracepoints, which write those events as a machine runs.

The offline tools that read traces (parse, stat, replay, record) are :mod:`kmemsim.trace`.
"""
