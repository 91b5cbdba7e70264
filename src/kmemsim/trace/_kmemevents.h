/*
 * kmemsim.trace: packed events, from the compiled scanner (_kmemscan.c, which makes them) to the
 * compiled replay core (_kmemreplay.c, which reads them).
 *
 * A replay read by both compiled parts never makes the records of its common events: the scanner
 * writes each slab allocation, slab free and page free of a block into an EventBuf as a PEv (the
 * values the record would hold, its strings as references), and the core reads the PEvs.  A record
 * is made only where Python must see the event (the core hands it to Replay._run(), or a caller
 * indexes the EventBuf): EventBuf[i] and EventBuf[i:j] give the same records the scanner gives
 * into a list (tests/test_replay_core.py compares the two).  Everything else -- the lines Python
 * reads, the page allocations (which wait for their callchain), lost markers -- is kept "boxed":
 * the record itself, in .obj.
 *
 * Making a record (a NamedTuple: a GC allocation) and its ints, appending it to a list, reading
 * its fields back and freeing it all were about a sixth of a replay (Linux 6.18 traces, 411k
 * lines: docs/performance.md).
 *
 * EventBuf is _kmemscan's type; the core takes it from the replay's spec ("eventbuf") and checks
 * KMEM_EVENTS_ABI, so that both parts read this one layout.
 */
#ifndef KMEMSIM_KMEMEVENTS_H
#define KMEMSIM_KMEMEVENTS_H

#include <Python.h>
#include <stdint.h>

#define KMEM_EVENTS_ABI 1

/* the record shapes (parse.py: _SHAPE_FIELDS; tracepoints/events.py) */
enum { SHAPE_SLAB_ALLOC = 0, SHAPE_SLAB_FREE = 1, SHAPE_PAGE_ALLOC = 2, SHAPE_PAGE_FREE = 3 };

typedef struct {
    PyObject *obj;  /* the record of a boxed event, else NULL (then the fields below) */
    PyObject *kind; /* the event's name: "kmalloc", "kfree", "mm_page_free" ... */
    PyObject *comm;
    PyObject *site; /* call_site (slab events) */
    PyObject *gfp;  /* gfp_flags (allocations) */
    PyObject *name; /* the cache's name, NULL for None (slab events) */
    PyObject *pid_o; /* the pid as the task column gave it (ftrace, trace-cmd), else NULL: pid */
    int64_t ts, pid;
    int64_t req, alloc; /* bytes_req, bytes_alloc; a page free: req is the order */
    int64_t node;
    uint64_t ptr; /* a slab event's ptr; a page free's pfn (an int64) */
    int32_t cpu;
    int8_t shape;     /* SHAPE_* */
    int8_t has_node;  /* node is an int (else None) */
    int8_t accounted; /* -1 None, 0 False, 1 True */
} PEv;

typedef struct {
    PyObject_HEAD
    PEv *ev;
    Py_ssize_t n, cap;
    PyObject *classes; /* (SlabAlloc, SlabFree, PageAlloc, PageFree): the records' classes */
    Py_ssize_t busy;   /* runs of the core reading it (it may not change meanwhile) */
} EventBuf;

#endif
