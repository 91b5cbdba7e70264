/*
 * kmemsim.trace._kmemscan: the compiled scanner of the common kmem trace lines.
 *
 * Optional: kmemsim.trace.parse uses it when it was built and falls back to its
 * pure-Python fast path otherwise; both give the same events.  It reads the lines the
 * pure fast path reads, with the same grammar (parse.py: FAST_GRAMMAR and the head
 * rules of TraceReader._run_python), and hands every other line back to Python
 * (scan() returns status 1 with the line's offset): headers, the first line of each
 * layout (which teaches the layout: set_layouts()), unusual lines, anything with a
 * byte outside printable ASCII and tab.  It may hand back more lines than the pure
 * fast path does (the general path reads them the same), never read one otherwise.
 *
 * Scanner(tokens, classes, task_fn, alloc_fn, task_cache)
 *   tokens:     {b"kmalloc:": ("kmalloc", shape), b"kmem:kmalloc:": (...), ...}
 *   classes:    (SlabAlloc, SlabFree, PageAlloc, PageFree), the records' NamedTuples
 *   task_fn:    str -> (comm, pid) for an ftrace/trace-cmd task column
 *   alloc_fn:   str -> bool: a page-allocator frame to skip in a callchain
 *   task_cache: the dict TraceReader shares with its Python paths
 * .fmt        -1 (hand every line back), 0 ftrace, 1 perf script, 2 trace-cmd
 * .pending, .pending_site   the mm_page_alloc waiting for its callchain, its caller
 * .set_layouts(event, [((key, slot), ...), ...])
 * .scan(block, pos, out) -> (pos, lines, status, end): appends events to the list out; status 1:
 *             the line at pos (ending at end) is Python's
 * .take_counts() -> {event: n}, .take_callchain_lines() -> n, .note_ts(ts), .take_unordered() -> n
 *
 * EventBuf(classes): a list-like buffer that scan() packs the slab events and page frees into
 * (_kmemevents.h) instead of making their records; len(), [i] and [i:j] (records, made then),
 * .append(record), .extend(other EventBuf).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#include "_kmemevents.h"

#define MAX_EVENTS 16
#define MAX_LAYOUTS 4
#define MAX_KEYS 24
#define MAX_TOKENS 64
#define INTERN_MAX 200000
/* a direct-mapped front cache of the intern dict, keyed by the bytes (interned()) */
#define ICACHE_BITS 12
#define ICACHE_SIZE (1 << ICACHE_BITS)

/* the record fields of each shape, by slot (parse.py: _SHAPE_FIELDS) */
enum { G_ANY, G_PTR, G_BYTES, G_ORDER, G_INT, G_PFN, G_BOOL, G_NAME, G_GFP };
static const int SHAPE_NFIELDS[4] = {8, 3, 5, 2};
static const int SHAPE_GRAMMAR[4][8] = {
    /* call_site, ptr, name, bytes_req, bytes_alloc, gfp_flags, node, accounted */
    {G_ANY, G_PTR, G_NAME, G_BYTES, G_BYTES, G_GFP, G_INT, G_BOOL},
    /* call_site, ptr, name */
    {G_ANY, G_PTR, G_NAME, 0, 0, 0, 0, 0},
    /* page, pfn, order, migratetype, gfp_flags */
    {G_PTR, G_PFN, G_ORDER, G_INT, G_GFP, 0, 0, 0},
    /* pfn, order */
    {G_PFN, G_ORDER, 0, 0, 0, 0, 0, 0},
};

typedef struct {
    int nkeys;
    char *keys[MAX_KEYS];
    Py_ssize_t keylen[MAX_KEYS];
    int slot[MAX_KEYS];
} Layout;

typedef struct {
    PyObject *name; /* the event's name (str) */
    int shape;
    int nlayouts;
    Layout layouts[MAX_LAYOUTS];
    Py_ssize_t count;
} EventInfo;

typedef struct {
    char *tok; /* "kmalloc:" or "kmem:kmalloc:" */
    Py_ssize_t len;
    int ev;
} Token;

typedef struct {
    PyObject_HEAD
    int fmt;
    int nevents;
    EventInfo ev[MAX_EVENTS];
    int ntokens;
    Token tokens[2 * MAX_EVENTS];
    PyObject *classes[4];
    PyObject *task_fn;
    PyObject *alloc_fn;
    PyObject *task_cache;
    PyObject *alloc_cache; /* func -> bool */
    PyObject *intern;      /* str -> the same str: call sites, gfp strings, names, comms */
    PyObject *icache[ICACHE_SIZE]; /* strs of the intern dict by a hash of their bytes, or NULL */
    uint32_t ihash[ICACHE_SIZE];
    PyObject *pending;
    PyObject *pending_site;
    Py_ssize_t callchain_lines;
    PyObject *core;              /* a SlabCore fed the slab events directly, or NULL */
    int core_kind[MAX_EVENTS];   /* event -> the core's code (-1: not a slab event) */
    int has_max;                 /* out of order events (perf: "N out of order events recorded.") */
    int64_t max_ts;              /* the latest timestamp read so far */
    Py_ssize_t unordered;        /* events with a timestamp before max_ts */
} Scanner;

/* an event's timestamp, in trace order: before the latest one so far, it is out of order */
static inline void scanner_note_ts(Scanner *self, int64_t ts)
{
    if (ts < 0) return;
    if (self->has_max && ts < self->max_ts) {
        self->unordered++;
        return;
    }
    self->max_ts = ts;
    self->has_max = 1;
}

/* ------------------------------------------------------------------ small parsers */

static inline int is_digit(char c) { return c >= '0' && c <= '9'; }

static inline int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* [0-9]{1,maxd} -> value; 0 on a mismatch */
static int parse_dec(const char *s, Py_ssize_t n, int maxd, int64_t *out)
{
    if (n < 1 || n > maxd) return 0;
    int64_t v = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!is_digit(s[i])) return 0;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 1;
}

/* -?[0-9]{1,9} */
static int parse_int(const char *s, Py_ssize_t n, int64_t *out)
{
    int neg = 0;
    if (n > 0 && s[0] == '-') {
        neg = 1;
        s++;
        n--;
    }
    if (!parse_dec(s, n, 9, out)) return 0;
    if (neg) *out = -*out;
    return 1;
}

/* [0-9a-fA-F]{1,maxd} */
static int parse_hex(const char *s, Py_ssize_t n, int maxd, uint64_t *out)
{
    if (n < 1 || n > maxd) return 0;
    uint64_t v = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int h = hexval(s[i]);
        if (h < 0) return 0;
        v = (v << 4) | (uint64_t)h;
    }
    *out = v;
    return 1;
}

/* (?:0[xX])?[0-9a-fA-F]{1,16}|\(null\)|\(nil\)|NULL */
static int parse_ptr(const char *s, Py_ssize_t n, uint64_t *out)
{
    if ((n == 6 && memcmp(s, "(null)", 6) == 0) || (n == 5 && memcmp(s, "(nil)", 5) == 0) ||
        (n == 4 && memcmp(s, "NULL", 4) == 0)) {
        *out = 0;
        return 1;
    }
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && parse_hex(s + 2, n - 2, 16, out)) return 1;
    return parse_hex(s, n, 16, out);
}

/* 0[xX][0-9a-fA-F]{1,13}|[0-9]{1,15} */
static int parse_pfn(const char *s, Py_ssize_t n, int64_t *out)
{
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        uint64_t v;
        if (!parse_hex(s + 2, n - 2, 13, &v)) return 0;
        *out = (int64_t)v;
        return 1;
    }
    return parse_dec(s, n, 15, out);
}

/* 1[0-5]|[0-9] */
static int parse_order(const char *s, Py_ssize_t n, int64_t *out)
{
    if (n == 1 && is_digit(s[0])) {
        *out = s[0] - '0';
        return 1;
    }
    if (n == 2 && s[0] == '1' && s[1] >= '0' && s[1] <= '5') {
        *out = 10 + (s[1] - '0');
        return 1;
    }
    return 0;
}

/* the fast path's timestamp: [0-9]+(\.[0-9]+)? then ':' (seconds: at most 9 digits here) */
static int parse_ts(const char *s, Py_ssize_t n, int64_t *out)
{
    if (n < 2 || s[n - 1] != ':') return 0;
    n--;
    Py_ssize_t dot = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (dot >= 0) return 0;
            dot = i;
        } else if (!is_digit(s[i])) {
            return 0;
        }
    }
    int64_t sec;
    if (dot < 0) {
        if (!parse_dec(s, n, 9, &sec)) return 0;
        *out = sec * 1000000000LL;
        return 1;
    }
    if (dot == 0 || dot == n - 1) return 0;
    if (!parse_dec(s, dot, 9, &sec)) return 0;
    Py_ssize_t nf = n - dot - 1;
    if (nf > 9) nf = 9;
    int64_t frac = 0;
    for (Py_ssize_t i = 0; i < nf; i++) frac = frac * 10 + (s[dot + 1 + i] - '0');
    for (Py_ssize_t i = nf; i < 9; i++) frac *= 10;
    *out = sec * 1000000000LL + frac;
    return 1;
}

/* the value matches its grammar: 1, and (numbers) the value in *v */
static int check_grammar(int g, const char *s, Py_ssize_t n, uint64_t *v)
{
    int64_t i;
    int r;
    switch (g) {
    case G_ANY: return 1;
    case G_PTR: return parse_ptr(s, n, v);
    case G_BYTES: r = parse_dec(s, n, 18, &i); break;
    case G_ORDER: r = parse_order(s, n, &i); break;
    case G_INT: r = parse_int(s, n, &i); break;
    case G_PFN: r = parse_pfn(s, n, &i); break;
    case G_BOOL: return (n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0);
    case G_NAME: return n >= 1;
    case G_GFP: /* no hex token: (?:[!-/1-~]|0(?![xX]))* */
        for (Py_ssize_t k = 0; k + 1 < n; k++)
            if (s[k] == '0' && (s[k + 1] == 'x' || s[k + 1] == 'X')) return 0;
        return 1;
    default: return 0;
    }
    if (r) *v = (uint64_t)i;
    return r;
}

/* ------------------------------------------------------------------ objects */

/* a cheap hash of a field's bytes for the front cache: its length and three 8-byte windows
 * (start, middle, end); a collision only costs a miss (the bytes are compared) */
static inline uint32_t icache_hash(const char *s, Py_ssize_t n)
{
    uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ULL, w = 0;
    Py_ssize_t k = n < 8 ? n : 8;
    memcpy(&w, s, (size_t)k);
    h ^= w * 0xC2B2AE3D27D4EB4FULL;
    if (n > 8) {
        w = 0;
        memcpy(&w, s + n - k, (size_t)k);
        h = (h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ULL ^ w;
        w = 0;
        memcpy(&w, s + (n - k) / 2, (size_t)k);
        h = (h ^ (h >> 31)) * 0x94D049BB133111EBULL ^ w;
    }
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    return (uint32_t)(h ^ (h >> 32));
}

/* str of ASCII bytes, shared through the intern dict (new reference).  The front cache answers
 * most calls (a trace repeats a few hundred call sites, gfp strings and names) without decoding
 * the bytes into a new str and hashing it for the dict: the same objects either way. */
static PyObject *interned(Scanner *self, const char *s, Py_ssize_t n)
{
    uint32_t h = icache_hash(s, n);
    size_t slot = h & (ICACHE_SIZE - 1);
    PyObject *c = self->icache[slot];
    if (c != NULL && self->ihash[slot] == h && PyUnicode_GET_LENGTH(c) == n &&
        memcmp(PyUnicode_1BYTE_DATA(c), s, (size_t)n) == 0)
        return Py_NewRef(c);
    PyObject *o = PyUnicode_DecodeASCII(s, n, NULL);
    if (o == NULL) return NULL;
    if (PyDict_GET_SIZE(self->intern) >= INTERN_MAX) return o;
    PyObject *got = PyDict_SetDefault(self->intern, o, o);
    if (got == NULL) {
        Py_DECREF(o);
        return NULL;
    }
    Py_INCREF(got);
    Py_DECREF(o);
    if (PyUnicode_IS_COMPACT_ASCII(got)) {
        Py_XSETREF(self->icache[slot], Py_NewRef(got));
        self->ihash[slot] = h;
    }
    return got;
}

static void icache_clear(Scanner *self)
{
    for (int i = 0; i < ICACHE_SIZE; i++) Py_CLEAR(self->icache[i]);
}

/* a record (a NamedTuple subclass of tuple) from n new references; steals them.  A record of
 * ints, strs, None and bools cannot be part of a reference cycle: it is untracked by the
 * collector at once (CPython does the same for plain tuples, lazily), so that the collections a
 * stream of records sets off do not walk every record still held (a replay's chunks). */
static PyObject *record(PyObject *cls, PyObject **items, Py_ssize_t n)
{
    PyTypeObject *tp = (PyTypeObject *)cls;
    PyObject *t = tp->tp_alloc(tp, n);
    if (t == NULL) {
        for (Py_ssize_t i = 0; i < n; i++) Py_XDECREF(items[i]);
        return NULL;
    }
    int atomic = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = items[i];
        PyTuple_SET_ITEM(t, i, x);
        if (!(PyLong_CheckExact(x) || PyUnicode_CheckExact(x) || x == Py_None || PyBool_Check(x))) atomic = 0;
    }
    if (atomic && PyObject_IS_GC(t)) PyObject_GC_UnTrack(t);
    return t;
}


/* ------------------------------------------------------------------ EventBuf (_kmemevents.h) */

static PyTypeObject EventBufType;

static void pev_clear(PEv *e)
{
    Py_CLEAR(e->obj);
    Py_CLEAR(e->kind);
    Py_CLEAR(e->comm);
    Py_CLEAR(e->site);
    Py_CLEAR(e->gfp);
    Py_CLEAR(e->name);
    Py_CLEAR(e->pid_o);
}

/* a zeroed entry at the end of b, or NULL (no memory) */
static PEv *eb_new(EventBuf *b)
{
    if (b->n == b->cap) {
        Py_ssize_t cap = b->cap ? 2 * b->cap : 1024;
        PEv *ev = PyMem_Realloc(b->ev, (size_t)cap * sizeof(PEv));
        if (ev == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        b->ev = ev;
        b->cap = cap;
    }
    PEv *e = &b->ev[b->n++];
    memset(e, 0, sizeof *e);
    return e;
}

/* -1 with an error when the replay core is reading b (its entries may not move) */
static int eb_busy(EventBuf *b)
{
    if (!b->busy) return 0;
    PyErr_SetString(PyExc_RuntimeError, "EventBuf: the replay core is reading it");
    return -1;
}

static int eb_append_obj(EventBuf *b, PyObject *obj)
{
    if (eb_busy(b) < 0) return -1;
    PEv *e = eb_new(b);
    if (e == NULL) return -1;
    e->obj = Py_NewRef(obj);
    e->shape = -1;
    return 0;
}

/* the records' classes (SlabAlloc, SlabFree, PageAlloc, PageFree): 0, or -1 with an error */
static int record_classes_check(PyObject *classes)
{
    if (PyTuple_GET_SIZE(classes) != 4) {
        PyErr_SetString(PyExc_ValueError, "classes: expected 4 record classes");
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        PyObject *c = PyTuple_GET_ITEM(classes, i);
        if (!PyType_Check(c) || !PyType_IsSubtype((PyTypeObject *)c, &PyTuple_Type)) {
            PyErr_SetString(PyExc_TypeError, "classes: expected tuple subclasses");
            return -1;
        }
    }
    return 0;
}

/* the record (of class cls) that the packed event e stands for, a new reference: the one record
 * layout of slab events and page frees, for lists and EventBufs alike */
static PyObject *pev_make_record(PyObject *cls, PEv *e)
{
    PyObject *items[13];
    int ni = 0;
    items[ni++] = Py_NewRef(e->kind);
    items[ni++] = PyLong_FromLongLong(e->ts);
    items[ni++] = PyLong_FromLong(e->cpu);
    items[ni++] = e->pid_o != NULL ? Py_NewRef(e->pid_o) : PyLong_FromLongLong(e->pid);
    items[ni++] = Py_NewRef(e->comm);
    if (e->shape == SHAPE_PAGE_FREE) {
        items[ni++] = PyLong_FromLongLong((int64_t)e->ptr);
        items[ni++] = PyLong_FromLongLong(e->req);
    } else {
        items[ni++] = Py_NewRef(e->site);
        items[ni++] = PyLong_FromUnsignedLongLong(e->ptr);
        if (e->shape == SHAPE_SLAB_ALLOC) {
            items[ni++] = PyLong_FromLongLong(e->req);
            items[ni++] = PyLong_FromLongLong(e->alloc);
            items[ni++] = Py_NewRef(e->gfp);
            items[ni++] = e->has_node ? PyLong_FromLongLong(e->node) : Py_NewRef(Py_None);
        }
        items[ni++] = Py_NewRef(e->name != NULL ? e->name : Py_None);
        if (e->shape == SHAPE_SLAB_ALLOC)
            items[ni++] = Py_NewRef(e->accounted < 0 ? Py_None : e->accounted ? Py_True : Py_False);
    }
    for (int i = 0; i < ni; i++) {
        if (items[i] == NULL) {
            for (int j = 0; j < ni; j++) Py_XDECREF(items[j]);
            return NULL;
        }
    }
    return record(cls, items, ni);
}

/* the record of b's entry e (a new reference): the boxed one, or made from the packed values */
static PyObject *pev_record(EventBuf *b, PEv *e)
{
    if (e->obj != NULL) return Py_NewRef(e->obj);
    if (b->classes == NULL) { /* (EventBuf.__new__() without __init__()) */
        PyErr_SetString(PyExc_TypeError, "EventBuf: not initialised with its record classes");
        return NULL;
    }
    return pev_make_record(PyTuple_GET_ITEM(b->classes, e->shape), e);
}

static int EventBuf_init(EventBuf *b, PyObject *args, PyObject *kwds)
{
    PyObject *classes;
    if ((kwds != NULL && PyDict_GET_SIZE(kwds)) || !PyArg_ParseTuple(args, "O!", &PyTuple_Type, &classes)) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "EventBuf() takes no keyword arguments");
        return -1;
    }
    if (record_classes_check(classes) < 0 || eb_busy(b) < 0) return -1;
    for (Py_ssize_t i = 0; i < b->n; i++) pev_clear(&b->ev[i]);
    b->n = 0;
    Py_XSETREF(b->classes, Py_NewRef(classes));
    return 0;
}

static int EventBuf_traverse(EventBuf *b, visitproc visit, void *arg)
{
    Py_VISIT(b->classes);
    for (Py_ssize_t i = 0; i < b->n; i++) Py_VISIT(b->ev[i].obj);
    return 0;
}

static int EventBuf_clear(EventBuf *b)
{
    Py_CLEAR(b->classes);
    for (Py_ssize_t i = 0; i < b->n; i++) pev_clear(&b->ev[i]);
    b->n = 0;
    return 0;
}

static void EventBuf_dealloc(EventBuf *b)
{
    PyObject_GC_UnTrack(b);
    EventBuf_clear(b);
    PyMem_Free(b->ev);
    Py_TYPE(b)->tp_free((PyObject *)b);
}

static Py_ssize_t EventBuf_len(EventBuf *b) { return b->n; }

static PyObject *EventBuf_item(EventBuf *b, Py_ssize_t i)
{
    if (i < 0 || i >= b->n) {
        PyErr_SetString(PyExc_IndexError, "EventBuf index out of range");
        return NULL;
    }
    return pev_record(b, &b->ev[i]);
}

static PyObject *EventBuf_subscript(EventBuf *b, PyObject *key)
{
    if (PySlice_Check(key)) {
        Py_ssize_t start, stop, step;
        if (PySlice_Unpack(key, &start, &stop, &step) < 0) return NULL;
        Py_ssize_t len = PySlice_AdjustIndices(b->n, &start, &stop, step);
        PyObject *l = PyList_New(len);
        if (l == NULL) return NULL;
        for (Py_ssize_t k = 0, i = start; k < len; k++, i += step) {
            PyObject *r = pev_record(b, &b->ev[i]);
            if (r == NULL) {
                Py_DECREF(l);
                return NULL;
            }
            PyList_SET_ITEM(l, k, r);
        }
        return l;
    }
    Py_ssize_t i = PyNumber_AsSsize_t(key, PyExc_IndexError);
    if (i == -1 && PyErr_Occurred()) return NULL;
    if (i < 0) i += b->n;
    return EventBuf_item(b, i);
}

static PyObject *EventBuf_append(EventBuf *b, PyObject *obj)
{
    if (eb_append_obj(b, obj) < 0) return NULL;
    Py_RETURN_NONE;
}

/* b.extend(other): other's events after b's (other is left as it was) */
static PyObject *EventBuf_extend(EventBuf *b, PyObject *other)
{
    if (!PyObject_TypeCheck(other, &EventBufType)) {
        PyErr_SetString(PyExc_TypeError, "EventBuf.extend: expected an EventBuf");
        return NULL;
    }
    EventBuf *o = (EventBuf *)other;
    if (eb_busy(b) < 0) return NULL;
    Py_ssize_t n = o->n;
    for (Py_ssize_t i = 0; i < n; i++) {
        PEv *e = eb_new(b);
        if (e == NULL) return NULL;
        *e = o->ev[i];
        Py_XINCREF(e->obj);
        Py_XINCREF(e->kind);
        Py_XINCREF(e->comm);
        Py_XINCREF(e->site);
        Py_XINCREF(e->gfp);
        Py_XINCREF(e->name);
        Py_XINCREF(e->pid_o);
    }
    Py_RETURN_NONE;
}

static PySequenceMethods EventBuf_as_sequence = {
    .sq_length = (lenfunc)EventBuf_len,
    .sq_item = (ssizeargfunc)EventBuf_item,
};

static PyMappingMethods EventBuf_as_mapping = {
    .mp_length = (lenfunc)EventBuf_len,
    .mp_subscript = (binaryfunc)EventBuf_subscript,
};

static PyMethodDef EventBuf_methods[] = {
    {"append", (PyCFunction)EventBuf_append, METH_O, "append(record): a boxed event"},
    {"extend", (PyCFunction)EventBuf_extend, METH_O, "extend(other EventBuf): its events after these"},
    {NULL},
};

static PyTypeObject EventBufType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kmemsim.trace._kmemscan.EventBuf",
    .tp_basicsize = sizeof(EventBuf),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Events of a block, packed for the compiled replay core; indexing makes their records.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)EventBuf_init,
    .tp_dealloc = (destructor)EventBuf_dealloc,
    .tp_traverse = (traverseproc)EventBuf_traverse,
    .tp_clear = (inquiry)EventBuf_clear,
    .tp_as_sequence = &EventBuf_as_sequence,
    .tp_as_mapping = &EventBuf_as_mapping,
    .tp_methods = EventBuf_methods,
};

/* out.append(ev) for a list or an EventBuf */
static int out_append(PyObject *out, PyObject *ev)
{
    if (Py_TYPE(out) == &EventBufType) return eb_append_obj((EventBuf *)out, ev);
    return PyList_Append(out, ev);
}

static int core_feed_any(PyObject *core, PyObject *ev, PyObject *rest);

/* append the pending page allocation (with its caller) to out, or (fused, with the page
 * summary in the core) give it to the core now, in trace order */
static int flush_pending(Scanner *self, PyObject *out)
{
    if (self->pending == NULL || self->pending == Py_None) return 0;
    PyObject *ev = self->pending;
    self->pending = Py_NewRef(Py_None);
    if (self->pending_site != NULL && self->pending_site != Py_None) {
        PyObject *items[10];
        for (int i = 0; i < 9; i++) items[i] = Py_NewRef(PyTuple_GET_ITEM(ev, i));
        items[9] = self->pending_site;
        self->pending_site = Py_NewRef(Py_None);
        PyObject *with = record(self->classes[2], items, 10);
        Py_DECREF(ev);
        if (with == NULL) return -1;
        ev = with;
    }
    int r = self->core != NULL ? core_feed_any(self->core, ev, out) : out_append(out, ev);
    Py_DECREF(ev);
    return r;
}

/* ------------------------------------------------------------------ SlabCore
 *
 * The slab half of KmemStat._process_py, in C, with the same definitions (stat.py is the
 * reference; tests/test_trace_engines.py compares the two): perf's totals, ping-pongs and
 * second frees, the per-call-site and per-pointer tables, kmemsim's matched, remote,
 * pre-existing, NULL and double frees, allocations over a live pointer, lifetimes and
 * trace-cmd mem's waste per function.  Per pointer it keeps one 48-byte entry: the live
 * object, or once freed only what perf's second-free rule needs (its call site and size).
 */

typedef __int128 i128;

typedef struct {
    uint64_t ptr;
    uint64_t alloc; /* bytes_alloc of the last allocation */
    uint64_t req;   /* bytes_req of the last allocation */
    int64_t ts;     /* its time */
    uint32_t cs;    /* its call site */
    int32_t cpu;    /* its CPU */
    uint8_t state;  /* 0 empty, 1 live, 2 freed */
} PtrEntry;

typedef struct {
    uint64_t ptr;
    i128 req, alloc;
    uint64_t hit, pp;
    uint8_t used;
} PtrStat;

typedef struct {
    uint64_t hash;
    char *s;
    Py_ssize_t n;
    uint32_t index;
    uint8_t used;
} StrEntry;

typedef struct {
    StrEntry *t;
    size_t cap, n;
} StrTable;

typedef struct {
    i128 req, alloc;
    uint64_t hit, pp;
    uint8_t used;
} CallerStat;

typedef struct {
    i128 cur_alloc, cur_req, tot_alloc, tot_req, max_alloc, max_req, peak;
    uint64_t hits;
} Waste;

#define NODE_CPUS 8192

typedef struct {
    int64_t pfn;
    int32_t order; /* the first allocation's, as perf's page_stat__findnew_page keeps */
    int32_t mt;
    uint8_t used;
} PageEntry;

typedef struct {
    int64_t order, mt;
    int64_t n;
} OrderStat;

enum { K_PAGE_ALLOC = 100, K_PAGE_FREE, K_PAGE_FREE_BATCHED };

typedef struct {
    PyObject_HEAD
    int caller, alloc_table, waste;
    int filter_start, filter_stop;
    int64_t tstart, tstop;
    int has_last;
    int64_t last_ts;
    int node_of[NODE_CPUS];
    PyObject *cpu_nodes; /* for CPUs outside 0..NODE_CPUS-1 */
    PyObject *kinds;     /* event name -> code: 0..n_alloc-1 allocations, then frees */
    int n_alloc, n_free;
    PyObject *free_names; /* tuple of str */
    /* pointers */
    PtrEntry *ptrs;
    size_t ptr_cap, ptr_n, n_live;
    i128 live_alloc, live_req;
    PtrStat *pstats;
    size_t ps_cap, ps_n;
    /* call sites and functions */
    StrTable sites, funcs;
    PyObject *site_strs; /* list: index -> str */
    PyObject *func_strs;
    uint32_t *func_of; /* site index -> function index */
    size_t func_of_cap;
    CallerStat *callers;
    size_t callers_cap;
    Waste *wastes;
    size_t wastes_cap;
    /* the page allocator's summary (pages: not with the per-page tables, which Python keeps) */
    int pages, live;
    int64_t page_size;
    PageEntry *pg;
    size_t pg_cap, pg_n;
    i128 live_pages;
    OrderStat *orders;
    size_t orders_n, orders_cap;
    uint64_t nr_page_allocs, nr_page_frees, nr_page_fails, nr_page_nomatch, page_free_batched;
    i128 page_alloc_bytes, page_free_bytes, page_fail_bytes, page_nomatch_bytes;
    /* counters */
    i128 total_requested, total_allocated, total_freed;
    uint64_t nr_allocs, nr_cross, nr_frees, matched, remote, preexisting, nulls, doubles, realloc_live;
    uint64_t frees_by_kind[MAX_EVENTS], preexisting_by_kind[MAX_EVENTS];
    uint64_t hist[64];
} SlabCore;

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static uint64_t hash_bytes(const char *s, Py_ssize_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return mix64(h ^ (uint64_t)n);
}

static PyObject *long_from_i128(i128 v)
{
    if (v >= INT64_MIN && v <= INT64_MAX) return PyLong_FromLongLong((long long)v);
    int neg = v < 0;
    unsigned __int128 u = neg ? (unsigned __int128)(-v) : (unsigned __int128)v;
    PyObject *hi = PyLong_FromUnsignedLongLong((unsigned long long)(u >> 64));
    PyObject *lo = PyLong_FromUnsignedLongLong((unsigned long long)u);
    PyObject *sh = PyLong_FromLong(64);
    PyObject *r = NULL, *t = NULL;
    if (hi && lo && sh && (t = PyNumber_Lshift(hi, sh)) != NULL) r = PyNumber_Or(t, lo);
    Py_XDECREF(hi);
    Py_XDECREF(lo);
    Py_XDECREF(sh);
    Py_XDECREF(t);
    if (r != NULL && neg) {
        PyObject *m = PyNumber_Negative(r);
        Py_DECREF(r);
        r = m;
    }
    return r;
}

/* index of a string (registering it); -1 on error */
static int64_t str_index(StrTable *t, PyObject *strs, const char *s, Py_ssize_t n)
{
    if (t->n * 10 >= t->cap * 7) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        StrEntry *nt = PyMem_Calloc(ncap, sizeof(StrEntry));
        if (nt == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->t[i].used) continue;
            size_t j = t->t[i].hash & (ncap - 1);
            while (nt[j].used) j = (j + 1) & (ncap - 1);
            nt[j] = t->t[i];
        }
        PyMem_Free(t->t);
        t->t = nt;
        t->cap = ncap;
    }
    uint64_t h = hash_bytes(s, n);
    size_t j = h & (t->cap - 1);
    while (t->t[j].used) {
        if (t->t[j].hash == h && t->t[j].n == n && memcmp(t->t[j].s, s, n) == 0) return t->t[j].index;
        j = (j + 1) & (t->cap - 1);
    }
    PyObject *str = PyUnicode_DecodeUTF8(s, n, "replace");
    if (str == NULL) return -1;
    int r = PyList_Append(strs, str);
    Py_DECREF(str);
    if (r < 0) return -1;
    char *copy = PyMem_Malloc(n + 1);
    if (copy == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(copy, s, n);
    copy[n] = 0;
    t->t[j].hash = h;
    t->t[j].s = copy;
    t->t[j].n = n;
    t->t[j].index = (uint32_t)t->n;
    t->t[j].used = 1;
    t->n++;
    return t->t[j].index;
}

static void str_table_free(StrTable *t)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->t[i].used) PyMem_Free(t->t[i].s);
    PyMem_Free(t->t);
    t->t = NULL;
    t->cap = t->n = 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) return 0;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need) ncap *= 2;
    void *np = PyMem_Realloc(*p, ncap * size);
    if (np == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset((char *)np + *cap * size, 0, (ncap - *cap) * size);
    *p = np;
    *cap = ncap;
    return 0;
}

/* the call site's index (and its function's, for the waste table) */
static int64_t core_site(SlabCore *c, const char *s, Py_ssize_t n)
{
    size_t before = c->sites.n;
    int64_t i = str_index(&c->sites, c->site_strs, s, n);
    if (i < 0) return -1;
    if (c->sites.n != before) {
        if (grow((void **)&c->func_of, &c->func_of_cap, c->sites.n, sizeof(uint32_t)) < 0) return -1;
        if (c->caller && grow((void **)&c->callers, &c->callers_cap, c->sites.n, sizeof(CallerStat)) < 0) return -1;
        if (c->waste) {
            Py_ssize_t fn = 0;
            while (fn < n && s[fn] != '+') fn++;
            size_t fb = c->funcs.n;
            int64_t f = str_index(&c->funcs, c->func_strs, s, fn);
            if (f < 0) return -1;
            if (c->funcs.n != fb && grow((void **)&c->wastes, &c->wastes_cap, c->funcs.n, sizeof(Waste)) < 0) return -1;
            c->func_of[i] = (uint32_t)f;
        }
    }
    return i;
}

static PtrEntry *ptr_find(SlabCore *c, uint64_t ptr, int insert)
{
    if (insert && c->ptr_n * 10 >= c->ptr_cap * 7) {
        size_t ncap = c->ptr_cap ? c->ptr_cap * 2 : 1024;
        PtrEntry *nt = PyMem_Calloc(ncap, sizeof(PtrEntry));
        if (nt == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        for (size_t i = 0; i < c->ptr_cap; i++) {
            if (!c->ptrs[i].state) continue;
            size_t j = mix64(c->ptrs[i].ptr) & (ncap - 1);
            while (nt[j].state) j = (j + 1) & (ncap - 1);
            nt[j] = c->ptrs[i];
        }
        PyMem_Free(c->ptrs);
        c->ptrs = nt;
        c->ptr_cap = ncap;
    }
    if (c->ptr_cap == 0) return NULL;
    size_t j = mix64(ptr) & (c->ptr_cap - 1);
    while (c->ptrs[j].state) {
        if (c->ptrs[j].ptr == ptr) return &c->ptrs[j];
        j = (j + 1) & (c->ptr_cap - 1);
    }
    if (!insert) return NULL;
    c->ptrs[j].ptr = ptr;
    c->ptr_n++;
    return &c->ptrs[j]; /* state 0: the caller fills it */
}

static PtrStat *pstat_find(SlabCore *c, uint64_t ptr, int insert)
{
    if (insert && c->ps_n * 10 >= c->ps_cap * 7) {
        size_t ncap = c->ps_cap ? c->ps_cap * 2 : 1024;
        PtrStat *nt = PyMem_Calloc(ncap, sizeof(PtrStat));
        if (nt == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        for (size_t i = 0; i < c->ps_cap; i++) {
            if (!c->pstats[i].used) continue;
            size_t j = mix64(c->pstats[i].ptr) & (ncap - 1);
            while (nt[j].used) j = (j + 1) & (ncap - 1);
            nt[j] = c->pstats[i];
        }
        PyMem_Free(c->pstats);
        c->pstats = nt;
        c->ps_cap = ncap;
    }
    if (c->ps_cap == 0) return NULL;
    size_t j = mix64(ptr) & (c->ps_cap - 1);
    while (c->pstats[j].used) {
        if (c->pstats[j].ptr == ptr) return &c->pstats[j];
        j = (j + 1) & (c->ps_cap - 1);
    }
    if (!insert) return NULL;
    c->pstats[j].ptr = ptr;
    c->pstats[j].used = 1;
    c->ps_n++;
    return &c->pstats[j];
}

/* the time window and the end of the trace: 0 when the event is outside the window */
static inline int core_window(SlabCore *c, int64_t ts)
{
    if (ts < 0) return 1;
    if ((c->filter_start && ts < c->tstart) || (c->filter_stop && ts > c->tstop)) return 0;
    if (!c->has_last || ts > c->last_ts) {
        c->last_ts = ts;
        c->has_last = 1;
    }
    return 1;
}

static int core_node_of(SlabCore *c, long cpu, long *node)
{
    if (cpu >= 0 && cpu < NODE_CPUS) {
        *node = c->node_of[cpu];
        return 0;
    }
    PyObject *k = PyLong_FromLong(cpu);
    if (k == NULL) return -1;
    PyObject *v = PyDict_GetItemWithError(c->cpu_nodes, k);
    Py_DECREF(k);
    if (v == NULL) {
        if (PyErr_Occurred()) return -1;
        *node = 0;
        return 0;
    }
    *node = PyLong_AsLong(v);
    return (*node == -1 && PyErr_Occurred()) ? -1 : 0;
}

static inline void waste_add(Waste *w, uint64_t alloc, uint64_t req, int first)
{
    if (first) {
        w->cur_alloc = w->tot_alloc = w->max_alloc = alloc;
        w->cur_req = w->tot_req = w->max_req = req;
        w->peak = (i128)alloc - (i128)req;
        w->hits = 1;
        return;
    }
    w->cur_alloc += alloc;
    w->cur_req += req;
    w->tot_alloc += alloc;
    w->tot_req += req;
    w->hits++;
    if (w->cur_alloc > w->max_alloc) w->max_alloc = w->cur_alloc;
    if (w->cur_req > w->max_req) w->max_req = w->cur_req;
    if (w->cur_alloc - w->cur_req > w->peak) w->peak = w->cur_alloc - w->cur_req;
}


/* page_live: pfn -> the live allocation (linear probing, deletion by backward shift) */
static PageEntry *page_slot(SlabCore *c, int64_t pfn, int insert)
{
    if (insert && c->pg_n * 10 >= c->pg_cap * 7) {
        size_t ncap = c->pg_cap ? c->pg_cap * 2 : 1024;
        PageEntry *nt = PyMem_Calloc(ncap, sizeof(PageEntry));
        if (nt == NULL) {
            PyErr_NoMemory();
            return NULL;
        }
        for (size_t i = 0; i < c->pg_cap; i++) {
            if (!c->pg[i].used) continue;
            size_t j = mix64((uint64_t)c->pg[i].pfn) & (ncap - 1);
            while (nt[j].used) j = (j + 1) & (ncap - 1);
            nt[j] = c->pg[i];
        }
        PyMem_Free(c->pg);
        c->pg = nt;
        c->pg_cap = ncap;
    }
    if (c->pg_cap == 0) return NULL;
    size_t j = mix64((uint64_t)pfn) & (c->pg_cap - 1);
    while (c->pg[j].used) {
        if (c->pg[j].pfn == pfn) return &c->pg[j];
        j = (j + 1) & (c->pg_cap - 1);
    }
    if (!insert) return NULL;
    c->pg[j].pfn = pfn;
    c->pg[j].used = 2; /* new: the caller fills it */
    c->pg_n++;
    return &c->pg[j];
}

static void page_remove(SlabCore *c, PageEntry *e)
{
    size_t mask = c->pg_cap - 1;
    size_t i = (size_t)(e - c->pg);
    size_t j = i;
    c->pg[i].used = 0;
    c->pg_n--;
    for (;;) {
        j = (j + 1) & mask;
        if (!c->pg[j].used) return;
        size_t k = mix64((uint64_t)c->pg[j].pfn) & mask;
        /* move j back to i unless its home k lies cyclically in (i, j] */
        if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
            c->pg[i] = c->pg[j];
            c->pg[j].used = 0;
            i = j;
        }
    }
}

static int order_add(SlabCore *c, int64_t order, int64_t mt, int64_t d)
{
    for (size_t i = 0; i < c->orders_n; i++) {
        if (c->orders[i].order == order && c->orders[i].mt == mt) {
            c->orders[i].n += d;
            return 0;
        }
    }
    if (grow((void **)&c->orders, &c->orders_cap, c->orders_n + 1, sizeof(OrderStat)) < 0) return -1;
    c->orders[c->orders_n].order = order;
    c->orders[c->orders_n].mt = mt;
    c->orders[c->orders_n].n = d;
    c->orders_n++;
    return 0;
}

static int core_page_alloc(SlabCore *c, int64_t pfn, int64_t order, int64_t mt)
{
    if (order < 0 || order > 62) {
        PyErr_Format(PyExc_ValueError, "mm_page_alloc: order %lld is outside 0..62", (long long)order);
        return -1;
    }
    i128 nbytes = (i128)c->page_size << order;
    c->nr_page_allocs++;
    c->page_alloc_bytes += nbytes;
    if (pfn == -1) {
        c->nr_page_fails++;
        c->page_fail_bytes += nbytes;
        return 0;
    }
    PageEntry *e = page_slot(c, pfn, 1);
    if (e == NULL) return -1;
    if (e->used == 2) {
        e->used = 1;
        e->order = (int32_t)order;
        e->mt = (int32_t)mt;
        c->live_pages += (i128)1 << order;
    }
    return order_add(c, order, mt, 1);
}

static int core_page_free(SlabCore *c, int64_t pfn, int64_t order)
{
    if (order < 0 || order > 62) {
        PyErr_Format(PyExc_ValueError, "mm_page_free: order %lld is outside 0..62", (long long)order);
        return -1;
    }
    i128 nbytes = (i128)c->page_size << order;
    c->nr_page_frees++;
    c->page_free_bytes += nbytes;
    PageEntry *e = page_slot(c, pfn, 0);
    if (e == NULL) {
        if (PyErr_Occurred()) return -1;
        c->nr_page_nomatch++;
        c->page_nomatch_bytes += nbytes;
        return 0;
    }
    int64_t mt = e->mt;
    c->live_pages -= (i128)1 << e->order;
    page_remove(c, e);
    if (c->live) return order_add(c, order, mt, -1);
    return 0;
}

/* an allocation (already in the window) */
static int core_alloc(SlabCore *c, int64_t ts, long cpu, uint32_t cs, uint64_t ptr, uint64_t req, uint64_t alloc,
                      int has_node, long node)
{
    PtrEntry *e = ptr_find(c, ptr, 1);
    if (e == NULL) return -1;
    if (e->state == 1) { /* still live: a free was missed */
        c->realloc_live++;
        c->live_alloc -= e->alloc;
        c->live_req -= e->req;
        c->n_live--;
        if (c->waste) {
            Waste *w = &c->wastes[c->func_of[e->cs]];
            w->cur_alloc -= e->alloc;
            w->cur_req -= e->req;
        }
    }
    e->state = 1;
    e->cs = cs;
    e->alloc = alloc;
    e->req = req;
    e->ts = ts;
    e->cpu = (int32_t)cpu;
    c->n_live++;
    c->live_alloc += alloc;
    c->live_req += req;
    if (c->alloc_table) {
        PtrStat *p = pstat_find(c, ptr, 1);
        if (p == NULL) return -1;
        p->req += req;
        p->alloc += alloc;
        p->hit++;
    }
    if (c->caller) {
        CallerStat *cl = &c->callers[cs];
        cl->req += req;
        cl->alloc += alloc;
        cl->hit++;
        cl->used = 1;
    }
    c->total_requested += req;
    c->total_allocated += alloc;
    c->nr_allocs++;
    if (has_node && node != -1) {
        long nn;
        if (core_node_of(c, cpu, &nn) < 0) return -1;
        if (node != nn) c->nr_cross++;
    }
    if (c->waste) {
        uint32_t f = c->func_of[cs];
        Waste *w = &c->wastes[f];
        waste_add(w, alloc, req, w->hits == 0);
    }
    return 0;
}

/* a free (already in the window); kind: index among the free events */
static int core_free(SlabCore *c, int kind, int64_t ts, long cpu, uint64_t ptr)
{
    c->nr_frees++;
    c->frees_by_kind[kind]++;
    PtrEntry *e = ptr_find(c, ptr, 0);
    if (e == NULL || e->state == 0) {
        if (PyErr_Occurred()) return -1;
        if (ptr == 0)
            c->nulls++;
        else {
            c->preexisting++;
            c->preexisting_by_kind[kind]++;
        }
        return 0;
    }
    uint32_t cs = e->cs;
    if (e->state == 1) {
        c->matched++;
        if (cpu != e->cpu) c->remote++;
        int64_t d = ts - e->ts;
        int b = 0;
        if (d > 0) {
            uint64_t lt = (uint64_t)(d / 1000);
            while (lt) {
                b++;
                lt >>= 1;
            }
        }
        c->hist[b]++;
        if (c->waste) {
            Waste *w = &c->wastes[c->func_of[cs]];
            w->cur_alloc -= e->alloc;
            w->cur_req -= e->req;
        }
        c->total_freed += e->alloc;
        c->n_live--;
        c->live_alloc -= e->alloc;
        c->live_req -= e->req;
        e->state = 2;
        if (cpu == e->cpu) return 0;
    } else {
        c->doubles++;
        c->total_freed += e->alloc;
        if (cpu == -1) return 0;
    }
    if (c->alloc_table) {
        PtrStat *p = pstat_find(c, ptr, 0);
        if (p != NULL) p->pp++;
    }
    if (c->caller) c->callers[cs].pp++;
    return 0;
}

static int as_u64(PyObject *o, uint64_t *out, const char *what)
{
    if (!PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s: expected an int", what);
        return -1;
    }
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s is outside 0..2**64-1", what);
        return -1;
    }
    *out = v;
    return 0;
}

static int as_i64(PyObject *o, int64_t *out, const char *what)
{
    if (!PyLong_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s: expected an int", what);
        return -1;
    }
    long long v = PyLong_AsLongLong(o);
    if (v == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        PyErr_Format(PyExc_ValueError, "%s is outside 64 bits", what);
        return -1;
    }
    *out = v;
    return 0;
}

/* one event record: a slab (or, with pages, page) event into the core; any other kind appended
 * to rest when it lies in the window (rest NULL: dropped) */
static int core_feed(SlabCore *c, PyObject *ev, PyObject *rest)
{
    if (!PyTuple_Check(ev) || PyTuple_GET_SIZE(ev) < 2) {
        PyErr_SetString(PyExc_TypeError, "process: an event is a kmem record (a tuple)");
        return -1;
    }
    int64_t ts;
    if (as_i64(PyTuple_GET_ITEM(ev, 1), &ts, "ts") < 0) return -1;
    if (!core_window(c, ts)) return 0;
    PyObject *code_o = PyDict_GetItemWithError(c->kinds, PyTuple_GET_ITEM(ev, 0));
    if (code_o == NULL) {
        if (PyErr_Occurred()) return -1;
        return rest != NULL ? PyList_Append(rest, ev) : 0;
    }
    long code = PyLong_AsLong(code_o);
    int64_t cpu;
    uint64_t ptr;
    if (code >= K_PAGE_ALLOC) {
        int64_t pfn, order = 0, mt = 0;
        if (code == K_PAGE_FREE_BATCHED) {
            c->page_free_batched++;
            return 0;
        }
        Py_ssize_t need = code == K_PAGE_ALLOC ? 8 : 7;
        if (PyTuple_GET_SIZE(ev) < need) {
            PyErr_SetString(PyExc_TypeError, "process: a page event with too few fields");
            return -1;
        }
        if (as_i64(PyTuple_GET_ITEM(ev, 5), &pfn, "pfn") < 0 || as_i64(PyTuple_GET_ITEM(ev, 6), &order, "order") < 0)
            return -1;
        if (code == K_PAGE_ALLOC) {
            if (as_i64(PyTuple_GET_ITEM(ev, 7), &mt, "migratetype") < 0) return -1;
            return core_page_alloc(c, pfn, order, mt);
        }
        return core_page_free(c, pfn, order);
    }
    if (code < c->n_alloc) {
        if (PyTuple_GET_SIZE(ev) < 13) {
            PyErr_SetString(PyExc_TypeError, "process: a slab allocation has 13 fields");
            return -1;
        }
        uint64_t req, alloc;
        if (as_i64(PyTuple_GET_ITEM(ev, 2), &cpu, "cpu") < 0 || as_u64(PyTuple_GET_ITEM(ev, 6), &ptr, "ptr") < 0 ||
            as_u64(PyTuple_GET_ITEM(ev, 7), &req, "bytes_req") < 0 ||
            as_u64(PyTuple_GET_ITEM(ev, 8), &alloc, "bytes_alloc") < 0)
            return -1;
        PyObject *cs_o = PyTuple_GET_ITEM(ev, 5);
        Py_ssize_t csn;
        const char *css = PyUnicode_Check(cs_o) ? PyUnicode_AsUTF8AndSize(cs_o, &csn) : NULL;
        if (css == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "call_site: expected a str");
            return -1;
        }
        int64_t cs = core_site(c, css, csn);
        if (cs < 0) return -1;
        PyObject *node_o = PyTuple_GET_ITEM(ev, 10);
        int64_t node = 0;
        if (node_o != Py_None && as_i64(node_o, &node, "node") < 0) return -1;
        return core_alloc(c, ts, (long)cpu, (uint32_t)cs, ptr, req, alloc, node_o != Py_None, (long)node);
    }
    if (PyTuple_GET_SIZE(ev) < 7) {
        PyErr_SetString(PyExc_TypeError, "process: a slab free has 8 fields");
        return -1;
    }
    if (as_i64(PyTuple_GET_ITEM(ev, 2), &cpu, "cpu") < 0 || as_u64(PyTuple_GET_ITEM(ev, 6), &ptr, "ptr") < 0) return -1;
    return core_free(c, (int)(code - c->n_alloc), ts, (long)cpu, ptr);
}

static int core_feed_any(PyObject *core, PyObject *ev, PyObject *rest) { return core_feed((SlabCore *)core, ev, rest); }

/* process(events) -> the events that are not slab events, in the window */
static PyObject *SlabCore_process(SlabCore *c, PyObject *arg)
{
    if (!PyList_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "process: expected a list of events");
        return NULL;
    }
    PyObject *rest = PyList_New(0);
    if (rest == NULL) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(arg);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (core_feed(c, PyList_GET_ITEM(arg, i), rest) < 0) {
            Py_DECREF(rest);
            return NULL;
        }
    }
    return rest;
}

static int SlabCore_init(SlabCore *c, PyObject *args, PyObject *kwds)
{
    int caller, alloc_table, waste, pages = 0, live = 0;
    long long page_size = 4096;
    PyObject *t0, *t1, *cpu_nodes, *alloc_names, *free_names;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "SlabCore() takes no keyword arguments");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "pppOOO!O!O!|ppL", &caller, &alloc_table, &waste, &t0, &t1, &PyDict_Type, &cpu_nodes,
                          &PyTuple_Type, &alloc_names, &PyTuple_Type, &free_names, &pages, &live, &page_size))
        return -1;
    if (page_size <= 0) {
        PyErr_SetString(PyExc_ValueError, "page_size must be positive");
        return -1;
    }
    c->pages = pages;
    c->live = live;
    c->page_size = page_size;
    c->caller = caller;
    c->alloc_table = alloc_table;
    c->waste = waste;
    c->filter_start = t0 != Py_None;
    c->filter_stop = t1 != Py_None;
    if (c->filter_start && as_i64(t0, &c->tstart, "time start") < 0) return -1;
    if (c->filter_stop && as_i64(t1, &c->tstop, "time stop") < 0) return -1;
    memset(c->node_of, 0, sizeof(c->node_of));
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(cpu_nodes, &pos, &k, &v)) {
        long cpu = PyLong_AsLong(k), node = PyLong_AsLong(v);
        if (PyErr_Occurred()) return -1;
        if (cpu >= 0 && cpu < NODE_CPUS) c->node_of[cpu] = (int)node;
    }
    Py_XSETREF(c->cpu_nodes, Py_NewRef(cpu_nodes));
    Py_XSETREF(c->kinds, PyDict_New());
    Py_XSETREF(c->free_names, Py_NewRef(free_names));
    Py_XSETREF(c->site_strs, PyList_New(0));
    Py_XSETREF(c->func_strs, PyList_New(0));
    if (c->kinds == NULL || c->site_strs == NULL || c->func_strs == NULL) return -1;
    c->n_alloc = (int)PyTuple_GET_SIZE(alloc_names);
    c->n_free = (int)PyTuple_GET_SIZE(free_names);
    if (c->n_alloc + c->n_free > MAX_EVENTS) {
        PyErr_SetString(PyExc_ValueError, "too many event names");
        return -1;
    }
    for (int i = 0; i < c->n_alloc + c->n_free; i++) {
        PyObject *name = i < c->n_alloc ? PyTuple_GET_ITEM(alloc_names, i) : PyTuple_GET_ITEM(free_names, i - c->n_alloc);
        PyObject *code = PyLong_FromLong(i);
        if (code == NULL || PyDict_SetItem(c->kinds, name, code) < 0) {
            Py_XDECREF(code);
            return -1;
        }
        Py_DECREF(code);
    }
    if (pages) {
        static const char *names[3] = {"mm_page_alloc", "mm_page_free", "mm_page_free_batched"};
        for (int i = 0; i < 3; i++) {
            PyObject *code = PyLong_FromLong(K_PAGE_ALLOC + i);
            if (code == NULL || PyDict_SetItemString(c->kinds, names[i], code) < 0) {
                Py_XDECREF(code);
                return -1;
            }
            Py_DECREF(code);
        }
    }
    return 0;
}

static int SlabCore_traverse(SlabCore *c, visitproc visit, void *arg)
{
    Py_VISIT(c->cpu_nodes);
    Py_VISIT(c->kinds);
    Py_VISIT(c->free_names);
    Py_VISIT(c->site_strs);
    Py_VISIT(c->func_strs);
    return 0;
}

static int SlabCore_clear(SlabCore *c)
{
    Py_CLEAR(c->cpu_nodes);
    Py_CLEAR(c->kinds);
    Py_CLEAR(c->free_names);
    Py_CLEAR(c->site_strs);
    Py_CLEAR(c->func_strs);
    return 0;
}

static void SlabCore_dealloc(SlabCore *c)
{
    PyObject_GC_UnTrack(c);
    PyMem_Free(c->ptrs);
    PyMem_Free(c->pstats);
    PyMem_Free(c->func_of);
    PyMem_Free(c->callers);
    PyMem_Free(c->wastes);
    PyMem_Free(c->pg);
    PyMem_Free(c->orders);
    str_table_free(&c->sites);
    str_table_free(&c->funcs);
    SlabCore_clear(c);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static PyObject *SlabCore_counters(SlabCore *c, PyObject *Py_UNUSED(ignored))
{
    PyObject *last = c->has_last ? PyLong_FromLongLong(c->last_ts) : Py_NewRef(Py_None);
    PyObject *a = long_from_i128(c->total_requested), *b = long_from_i128(c->total_allocated),
             *d = long_from_i128(c->total_freed);
    PyObject *r = NULL;
    if (last && a && b && d)
        r = Py_BuildValue("(OOOKKKKKKKKKO)", a, b, d, (unsigned long long)c->nr_allocs, (unsigned long long)c->nr_cross,
                          (unsigned long long)c->nr_frees, (unsigned long long)c->matched,
                          (unsigned long long)c->remote, (unsigned long long)c->preexisting,
                          (unsigned long long)c->nulls, (unsigned long long)c->doubles,
                          (unsigned long long)c->realloc_live, last);
    Py_XDECREF(last);
    Py_XDECREF(a);
    Py_XDECREF(b);
    Py_XDECREF(d);
    return r;
}

static PyObject *kind_counts(SlabCore *c, uint64_t *counts)
{
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    for (int i = 0; i < c->n_free; i++) {
        if (!counts[i]) continue;
        PyObject *v = PyLong_FromUnsignedLongLong(counts[i]);
        if (v == NULL || PyDict_SetItem(d, PyTuple_GET_ITEM(c->free_names, i), v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
    }
    return d;
}

static PyObject *SlabCore_frees_by_kind(SlabCore *c, PyObject *Py_UNUSED(i)) { return kind_counts(c, c->frees_by_kind); }

static PyObject *SlabCore_preexisting_by_kind(SlabCore *c, PyObject *Py_UNUSED(i))
{
    return kind_counts(c, c->preexisting_by_kind);
}

static PyObject *SlabCore_caller_stat(SlabCore *c, PyObject *Py_UNUSED(ignored))
{
    PyObject *d = PyDict_New();
    if (d == NULL || !c->caller) return d;
    for (size_t i = 0; i < c->sites.n; i++) {
        CallerStat *cl = &c->callers[i];
        if (!cl->used) continue;
        PyObject *row = Py_BuildValue("[NNKK]", long_from_i128(cl->req), long_from_i128(cl->alloc),
                                      (unsigned long long)cl->hit, (unsigned long long)cl->pp);
        if (row == NULL || PyDict_SetItem(d, PyList_GET_ITEM(c->site_strs, i), row) < 0) {
            Py_XDECREF(row);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(row);
    }
    return d;
}

static PyObject *SlabCore_ptr_stat(SlabCore *c, PyObject *Py_UNUSED(ignored))
{
    PyObject *d = PyDict_New();
    if (d == NULL || !c->alloc_table) return d;
    for (size_t i = 0; i < c->ps_cap; i++) {
        PtrStat *p = &c->pstats[i];
        if (!p->used) continue;
        PtrEntry *e = ptr_find(c, p->ptr, 0);
        if (e == NULL) continue;
        PyObject *k = PyLong_FromUnsignedLongLong(p->ptr);
        PyObject *row = Py_BuildValue("[ONNKK]", PyList_GET_ITEM(c->site_strs, e->cs), long_from_i128(p->req),
                                      long_from_i128(p->alloc), (unsigned long long)p->hit, (unsigned long long)p->pp);
        if (k == NULL || row == NULL || PyDict_SetItem(d, k, row) < 0) {
            Py_XDECREF(k);
            Py_XDECREF(row);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(k);
        Py_DECREF(row);
    }
    return d;
}

static PyObject *SlabCore_live_objects(SlabCore *c, PyObject *Py_UNUSED(ignored))
{
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    for (size_t i = 0; i < c->ptr_cap; i++) {
        PtrEntry *e = &c->ptrs[i];
        if (e->state != 1) continue;
        PyObject *k = PyLong_FromUnsignedLongLong(e->ptr);
        PyObject *row = Py_BuildValue("(OKKLl)", PyList_GET_ITEM(c->site_strs, e->cs), (unsigned long long)e->alloc,
                                      (unsigned long long)e->req, (long long)e->ts, (long)e->cpu);
        if (k == NULL || row == NULL || PyDict_SetItem(d, k, row) < 0) {
            Py_XDECREF(k);
            Py_XDECREF(row);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(k);
        Py_DECREF(row);
    }
    return d;
}

static PyObject *SlabCore_live_totals(SlabCore *c, PyObject *Py_UNUSED(ignored))
{
    return Py_BuildValue("(KNN)", (unsigned long long)c->n_live, long_from_i128(c->live_alloc),
                         long_from_i128(c->live_req));
}

static PyObject *SlabCore_waste(SlabCore *c, PyObject *Py_UNUSED(ignored))
{
    PyObject *d = PyDict_New();
    if (d == NULL || !c->waste) return d;
    for (size_t i = 0; i < c->funcs.n; i++) {
        Waste *w = &c->wastes[i];
        if (w->hits == 0) continue;
        PyObject *row = Py_BuildValue("[NNNNNNNK]", long_from_i128(w->cur_alloc), long_from_i128(w->cur_req),
                                      long_from_i128(w->tot_alloc), long_from_i128(w->tot_req),
                                      long_from_i128(w->max_alloc), long_from_i128(w->max_req),
                                      long_from_i128(w->peak), (unsigned long long)w->hits);
        if (row == NULL || PyDict_SetItem(d, PyList_GET_ITEM(c->func_strs, i), row) < 0) {
            Py_XDECREF(row);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(row);
    }
    return d;
}

static PyObject *SlabCore_lifetime_hist(SlabCore *c, PyObject *Py_UNUSED(ignored))
{
    PyObject *l = PyList_New(64);
    if (l == NULL) return NULL;
    for (int i = 0; i < 64; i++) {
        PyObject *v = PyLong_FromUnsignedLongLong(c->hist[i]);
        if (v == NULL) {
            Py_DECREF(l);
            return NULL;
        }
        PyList_SET_ITEM(l, i, v);
    }
    return l;
}

static PyObject *SlabCore_page_counters(SlabCore *c, PyObject *Py_UNUSED(ignored))
{
    return Py_BuildValue("(KKKKNNNNKnN)", (unsigned long long)c->nr_page_allocs, (unsigned long long)c->nr_page_frees,
                         (unsigned long long)c->nr_page_fails, (unsigned long long)c->nr_page_nomatch,
                         long_from_i128(c->page_alloc_bytes), long_from_i128(c->page_free_bytes),
                         long_from_i128(c->page_fail_bytes), long_from_i128(c->page_nomatch_bytes),
                         (unsigned long long)c->page_free_batched, (Py_ssize_t)c->pg_n, long_from_i128(c->live_pages));
}

static PyObject *SlabCore_order_stats(SlabCore *c, PyObject *Py_UNUSED(ignored))
{
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    for (size_t i = 0; i < c->orders_n; i++) {
        PyObject *k = Py_BuildValue("(LL)", (long long)c->orders[i].order, (long long)c->orders[i].mt);
        PyObject *v = PyLong_FromLongLong(c->orders[i].n);
        if (k == NULL || v == NULL || PyDict_SetItem(d, k, v) < 0) {
            Py_XDECREF(k);
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(k);
        Py_DECREF(v);
    }
    return d;
}

static PyObject *SlabCore_page_live(SlabCore *c, PyObject *Py_UNUSED(ignored))
{
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    for (size_t i = 0; i < c->pg_cap; i++) {
        if (c->pg[i].used != 1) continue;
        PyObject *k = PyLong_FromLongLong(c->pg[i].pfn);
        PyObject *v = Py_BuildValue("(ii)", (int)c->pg[i].order, (int)c->pg[i].mt);
        if (k == NULL || v == NULL || PyDict_SetItem(d, k, v) < 0) {
            Py_XDECREF(k);
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(k);
        Py_DECREF(v);
    }
    return d;
}

static PyObject *SlabCore_memory(SlabCore *c, PyObject *Py_UNUSED(ignored))
{
    size_t n = c->ptr_cap * sizeof(PtrEntry) + c->ps_cap * sizeof(PtrStat) + c->callers_cap * sizeof(CallerStat) +
               c->pg_cap * sizeof(PageEntry) + c->orders_cap * sizeof(OrderStat) +
               c->wastes_cap * sizeof(Waste) + c->func_of_cap * sizeof(uint32_t) +
               (c->sites.cap + c->funcs.cap) * sizeof(StrEntry);
    return PyLong_FromSize_t(n);
}

static PyMethodDef SlabCore_methods[] = {
    {"process", (PyCFunction)SlabCore_process, METH_O, "process(events) -> the events that are not slab events"},
    {"counters", (PyCFunction)SlabCore_counters, METH_NOARGS, "the scalar figures, in KmemStat._sync's order"},
    {"frees_by_kind", (PyCFunction)SlabCore_frees_by_kind, METH_NOARGS, "{event: frees}"},
    {"preexisting_by_kind", (PyCFunction)SlabCore_preexisting_by_kind, METH_NOARGS, "{event: pre-existing frees}"},
    {"caller_stat", (PyCFunction)SlabCore_caller_stat, METH_NOARGS, "{call_site: [req, alloc, hit, pingpong]}"},
    {"ptr_stat", (PyCFunction)SlabCore_ptr_stat, METH_NOARGS, "{ptr: [call_site, req, alloc, hit, pingpong]}"},
    {"live_objects", (PyCFunction)SlabCore_live_objects, METH_NOARGS, "{ptr: (call_site, alloc, req, ts, cpu)}"},
    {"live_totals", (PyCFunction)SlabCore_live_totals, METH_NOARGS, "(objects, bytes allocated, bytes requested)"},
    {"waste", (PyCFunction)SlabCore_waste, METH_NOARGS, "{function: trace-cmd mem's 8 figures}"},
    {"lifetime_hist", (PyCFunction)SlabCore_lifetime_hist, METH_NOARGS, "64 log2 buckets of lifetimes (us)"},
    {"memory", (PyCFunction)SlabCore_memory, METH_NOARGS, "bytes of the core's own tables"},
    {"page_counters", (PyCFunction)SlabCore_page_counters, METH_NOARGS, "the page allocator's summary figures"},
    {"order_stats", (PyCFunction)SlabCore_order_stats, METH_NOARGS, "{(order, migratetype): allocations}"},
    {"page_live", (PyCFunction)SlabCore_page_live, METH_NOARGS, "{pfn: (order, migratetype)} of live allocations"},
    {NULL},
};

static PyTypeObject SlabCoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kmemsim.trace._kmemscan.SlabCore",
    .tp_basicsize = sizeof(SlabCore),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The slab figures of kmemsim stat, compiled (stat.py's _process_py is the reference).",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)SlabCore_init,
    .tp_dealloc = (destructor)SlabCore_dealloc,
    .tp_traverse = (traverseproc)SlabCore_traverse,
    .tp_clear = (inquiry)SlabCore_clear,
    .tp_methods = SlabCore_methods,
};

/* ------------------------------------------------------------------ Scanner */

static void clear_layouts(EventInfo *e)
{
    for (int l = 0; l < e->nlayouts; l++)
        for (int k = 0; k < e->layouts[l].nkeys; k++) PyMem_Free(e->layouts[l].keys[k]);
    e->nlayouts = 0;
}

static int Scanner_traverse(Scanner *self, visitproc visit, void *arg)
{
    for (int i = 0; i < 4; i++) Py_VISIT(self->classes[i]);
    Py_VISIT(self->task_fn);
    Py_VISIT(self->alloc_fn);
    Py_VISIT(self->task_cache);
    Py_VISIT(self->alloc_cache);
    Py_VISIT(self->intern);
    Py_VISIT(self->pending);
    Py_VISIT(self->pending_site);
    Py_VISIT(self->core);
    for (int i = 0; i < self->nevents; i++) Py_VISIT(self->ev[i].name);
    return 0;
}

static int Scanner_clear(Scanner *self)
{
    for (int i = 0; i < 4; i++) Py_CLEAR(self->classes[i]);
    Py_CLEAR(self->task_fn);
    Py_CLEAR(self->alloc_fn);
    Py_CLEAR(self->task_cache);
    Py_CLEAR(self->alloc_cache);
    Py_CLEAR(self->intern);
    icache_clear(self);
    Py_CLEAR(self->pending);
    Py_CLEAR(self->pending_site);
    Py_CLEAR(self->core);
    for (int i = 0; i < self->nevents; i++) Py_CLEAR(self->ev[i].name);
    return 0;
}

static void Scanner_dealloc(Scanner *self)
{
    PyObject_GC_UnTrack(self);
    for (int i = 0; i < self->nevents; i++) clear_layouts(&self->ev[i]);
    for (int i = 0; i < self->ntokens; i++) PyMem_Free(self->tokens[i].tok);
    Scanner_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Scanner_init(Scanner *self, PyObject *args, PyObject *kwds)
{
    PyObject *tokens, *classes, *task_fn, *alloc_fn, *task_cache;
    if (kwds != NULL && PyDict_GET_SIZE(kwds)) {
        PyErr_SetString(PyExc_TypeError, "Scanner() takes no keyword arguments");
        return -1;
    }
    if (!PyArg_ParseTuple(args, "O!O!OOO!", &PyDict_Type, &tokens, &PyTuple_Type, &classes, &task_fn, &alloc_fn,
                          &PyDict_Type, &task_cache))
        return -1;
    if (record_classes_check(classes) < 0) return -1;
    for (int i = 0; i < 4; i++) Py_XSETREF(self->classes[i], Py_NewRef(PyTuple_GET_ITEM(classes, i)));
    Py_XSETREF(self->task_fn, Py_NewRef(task_fn));
    Py_XSETREF(self->alloc_fn, Py_NewRef(alloc_fn));
    Py_XSETREF(self->task_cache, Py_NewRef(task_cache));
    Py_XSETREF(self->alloc_cache, PyDict_New());
    Py_XSETREF(self->intern, PyDict_New());
    icache_clear(self); /* its strs are the former intern dict's */
    Py_XSETREF(self->pending, Py_NewRef(Py_None));
    Py_XSETREF(self->pending_site, Py_NewRef(Py_None));
    if (self->alloc_cache == NULL || self->intern == NULL) return -1;
    self->fmt = -1;
    self->nevents = 0;
    self->ntokens = 0;
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(tokens, &pos, &key, &value)) {
        PyObject *name;
        int shape;
        if (!PyBytes_Check(key) || !PyArg_ParseTuple(value, "Ui", &name, &shape) || shape < 0 || shape > 3) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "tokens: expected {bytes: (str, shape 0..3)}");
            return -1;
        }
        int e;
        for (e = 0; e < self->nevents; e++)
            if (PyUnicode_Compare(self->ev[e].name, name) == 0) break;
        if (e == self->nevents) {
            if (self->nevents == MAX_EVENTS) {
                PyErr_SetString(PyExc_ValueError, "tokens: too many events");
                return -1;
            }
            self->ev[e].name = Py_NewRef(name);
            self->ev[e].shape = shape;
            self->ev[e].nlayouts = 0;
            self->ev[e].count = 0;
            self->nevents++;
        }
        if (self->ntokens == 2 * MAX_EVENTS) {
            PyErr_SetString(PyExc_ValueError, "tokens: too many tokens");
            return -1;
        }
        Token *t = &self->tokens[self->ntokens];
        t->len = PyBytes_GET_SIZE(key);
        t->tok = PyMem_Malloc(t->len + 1);
        if (t->tok == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        memcpy(t->tok, PyBytes_AS_STRING(key), t->len + 1);
        t->ev = e;
        self->ntokens++;
    }
    return 0;
}

static PyObject *Scanner_set_layouts(Scanner *self, PyObject *args)
{
    PyObject *name, *layouts;
    if (!PyArg_ParseTuple(args, "UO!", &name, &PyList_Type, &layouts)) return NULL;
    int e;
    for (e = 0; e < self->nevents; e++)
        if (PyUnicode_Compare(self->ev[e].name, name) == 0) break;
    if (e == self->nevents) Py_RETURN_NONE;
    EventInfo *ev = &self->ev[e];
    clear_layouts(ev);
    Py_ssize_t nl = PyList_GET_SIZE(layouts);
    for (Py_ssize_t l = 0; l < nl && ev->nlayouts < MAX_LAYOUTS; l++) {
        PyObject *spec = PyList_GET_ITEM(layouts, l);
        if (!PyTuple_Check(spec)) {
            PyErr_SetString(PyExc_TypeError, "a layout is a tuple of (key, slot)");
            return NULL;
        }
        Py_ssize_t nk = PyTuple_GET_SIZE(spec);
        if (nk > MAX_KEYS) continue; /* never matched here: the general path reads those lines */
        Layout *lay = &ev->layouts[ev->nlayouts];
        lay->nkeys = 0;
        int ok = 1;
        for (Py_ssize_t k = 0; k < nk; k++) {
            PyObject *key;
            int slot;
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(spec, k), "Ui", &key, &slot)) {
                for (int j = 0; j < lay->nkeys; j++) PyMem_Free(lay->keys[j]);
                return NULL;
            }
            Py_ssize_t len;
            const char *s = PyUnicode_AsUTF8AndSize(key, &len);
            if (s == NULL) {
                for (int j = 0; j < lay->nkeys; j++) PyMem_Free(lay->keys[j]);
                return NULL;
            }
            for (Py_ssize_t i = 0; i < len; i++)
                if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) ok = 0;
            if (slot >= SHAPE_NFIELDS[ev->shape]) ok = 0;
            char *copy = PyMem_Malloc(len + 1);
            if (copy == NULL) {
                for (int j = 0; j < lay->nkeys; j++) PyMem_Free(lay->keys[j]);
                PyErr_NoMemory();
                return NULL;
            }
            memcpy(copy, s, len + 1);
            lay->keys[lay->nkeys] = copy;
            lay->keylen[lay->nkeys] = len;
            lay->slot[lay->nkeys] = slot;
            lay->nkeys++;
        }
        if (!ok) { /* a key only non-ASCII lines can have: such lines go to Python anyway */
            for (int j = 0; j < lay->nkeys; j++) PyMem_Free(lay->keys[j]);
            continue;
        }
        ev->nlayouts++;
    }
    Py_RETURN_NONE;
}

/* the values of the record's fields: pointers into the line, len -1 when the layout lacks it */
typedef struct {
    const char *s[8];
    Py_ssize_t n[8];
    uint64_t v[8]; /* the numbers, parsed by check_grammar */
} Fields;

/* a line cut into its head (split at runs of spaces and tabs, as str.split(None, n)) and its
 * body (split at single spaces, as the layouts' regexes join their fields) */
typedef struct {
    const char *head[6];
    Py_ssize_t hlen[6];
    const char *tok[MAX_TOKENS];
    Py_ssize_t tlen[MAX_TOKENS];
    int nt;
    Py_ssize_t len; /* the line's length, without its newline */
    int nl;         /* 1 when a newline ends it */
} Lex;

/* byte classes: 0 printable non-space, 1 space, 2 tab, 3 newline, 4 anything else */
static unsigned char CLS[256];

static void init_classes(void)
{
    for (int c = 0; c < 256; c++) CLS[c] = 4;
    for (int c = 0x21; c <= 0x7e; c++) CLS[c] = 0;
    CLS[' '] = 1;
    CLS['\t'] = 2;
    CLS['\n'] = 3;
}

/* tokens of the body b[0:n] at single spaces: 0 when it holds a tab or too many tokens */
static int lex_body(Lex *lx, const char *b, Py_ssize_t n)
{
    int nt = 0;
    Py_ssize_t a = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (i == n || b[i] == ' ') {
            if (nt == MAX_TOKENS) return 0;
            lx->tok[nt] = b + a;
            lx->tlen[nt] = i - a;
            nt++;
            a = i + 1;
        } else if (b[i] == '\t') {
            return 0;
        }
    }
    lx->nt = nt;
    return 1;
}

/* one pass over a line: 1 when every byte is printable ASCII (or a tab in the head), the head has
 * nsplit tokens and a body follows; then lx->len is the line's length */
static int lex_line(const char *s, Py_ssize_t avail, int nsplit, Lex *lx)
{
    const unsigned char *u = (const unsigned char *)s;
    Py_ssize_t i = 0;
    unsigned char c = 0;
    for (int t = 0; t < nsplit; t++) {
        while (i < avail && ((c = CLS[u[i]]) == 1 || c == 2)) i++;
        if (i == avail || c != 0) return 0;
        Py_ssize_t a = i;
        while (i < avail && CLS[u[i]] == 0) i++;
        lx->head[t] = s + a;
        lx->hlen[t] = i - a;
        if (i == avail || CLS[u[i]] > 2) return 0; /* the line ends (or goes bad) inside the head */
    }
    while (i < avail && ((c = CLS[u[i]]) == 1 || c == 2)) i++;
    if (i == avail || c != 0) return 0;
    Py_ssize_t b = i;
    int nt = 0;
    Py_ssize_t a = i;
    for (;;) {
        c = i < avail ? CLS[u[i]] : 3;
        if (c == 0) {
            i++;
            continue;
        }
        if (c == 1 || c == 3) {
            if (nt == MAX_TOKENS) return 0;
            lx->tok[nt] = s + a;
            lx->tlen[nt] = i - a;
            nt++;
            if (c == 3) break;
            i++;
            a = i;
            continue;
        }
        return 0; /* a tab in the body, or a byte that is not printable ASCII */
    }
    lx->nt = nt;
    lx->len = i;
    lx->nl = i < avail;
    lx->head[nsplit] = s + b;
    lx->hlen[nsplit] = i - b;
    return 1;
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* the spaces and the bytes outside printable ASCII (0x20..0x7e) of s[0:64], as bit masks; n < 64:
 * only s[0:n] is read, and the bits from n up are clear */
static inline void line_masks(const char *s, Py_ssize_t n, uint64_t *sp, uint64_t *bad)
{
    char pad[64];
    if (n < 64) {
        memset(pad, 'x', sizeof pad);
        memcpy(pad, s, (size_t)n);
        s = pad;
    }
    const __m128i space = _mm_set1_epi8(' '), low = _mm_set1_epi8(0x20), high = _mm_set1_epi8(0x7e);
    uint64_t a = 0, b = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(s + 16 * k));
        /* signed: a byte from 0x80 up is below 0x20 too */
        __m128i out = _mm_or_si128(_mm_cmpgt_epi8(low, x), _mm_cmpgt_epi8(x, high));
        a |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x, space)) << (16 * k);
        b |= (uint64_t)(uint16_t)_mm_movemask_epi8(out) << (16 * k);
    }
    if (n < 64) {
        uint64_t keep = ((uint64_t)1 << n) - 1;
        a &= keep;
        b &= keep;
    }
    *sp = a;
    *bad = b;
}

/* lex_line for the usual line, faster: the newline by memchr, then 64 bytes at a time the masks of
 * its spaces and of any byte outside printable ASCII, the tokens cut at the spaces' bits: the head
 * at runs of spaces, the body at each one.  A line with a tab or any other byte goes to lex_line
 * (returns -1 then); 0 when the line is not head and body, as lex_line. */
static int lex_line_fast(const char *s, Py_ssize_t avail, int nsplit, Lex *lx)
{
    const char *nl = memchr(s, '\n', avail);
    Py_ssize_t len = nl ? nl - s : avail;
    int t = 0, nt = 0;
    int body = 0;          /* the body has begun */
    Py_ssize_t start = 0;  /* where the token being cut begins */
    for (Py_ssize_t base = 0; base < len; base += 64) {
        uint64_t m, bad;
        line_masks(s + base, len - base < 64 ? len - base : 64, &m, &bad);
        if (bad) return -1;
        while (m) {
            Py_ssize_t q = base + __builtin_ctzll(m);
            m &= m - 1;
            if (body) {
                if (nt == MAX_TOKENS) return 0;
                lx->tok[nt] = s + start;
                lx->tlen[nt++] = q - start;
            } else if (q != start) { /* (a run of spaces in the head: nothing between) */
                if (t < nsplit) {
                    lx->head[t] = s + start;
                    lx->hlen[t++] = q - start;
                } else { /* the body's first space */
                    body = 1;
                    lx->head[nsplit] = s + start;
                    lx->hlen[nsplit] = len - start;
                    lx->tok[nt] = s + start;
                    lx->tlen[nt++] = q - start;
                }
            }
            start = q + 1;
        }
    }
    if (!body) {
        if (t < nsplit || start >= len) return 0; /* the line ends in the head, or no body */
        lx->head[nsplit] = s + start;
        lx->hlen[nsplit] = len - start;
    }
    if (nt == MAX_TOKENS) return 0;
    lx->tok[nt] = s + start;
    lx->tlen[nt++] = len - start;
    lx->nt = nt;
    lx->len = len;
    lx->nl = nl != NULL;
    return 1;
}
#else
/* the first space in s[0:n] (eight bytes at a time), or NULL */
static inline const char *find_space(const char *s, Py_ssize_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL, spaces = ones * ' ';
    Py_ssize_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        x ^= spaces;
        uint64_t t = (x - ones) & ~x & highs; /* the lowest flagged byte is the first space */
        if (t) return s + i + (__builtin_ctzll(t) >> 3);
    }
    for (; i < n; i++)
        if (s[i] == ' ') return s + i;
    return NULL;
}

/* lex_line for the usual line, faster: the newline by memchr, one vectorisable pass to check that
 * every byte is printable ASCII or a space, then the tokens by memchr.  A line with a tab or any
 * other byte goes to lex_line (returns -1 then). */
static int lex_line_fast(const char *s, Py_ssize_t avail, int nsplit, Lex *lx)
{
    const char *nl = memchr(s, '\n', avail);
    Py_ssize_t len = nl ? nl - s : avail;
    const unsigned char *u = (const unsigned char *)s;
    /* eight bytes at a time: a byte below 0x20 or above 0x7e sets its high bit in bad */
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t bad = 0;
    Py_ssize_t j = 0;
    for (; j + 8 <= len; j += 8) {
        uint64_t x;
        memcpy(&x, u + j, 8);
        bad |= ((x - ones * 0x20) & ~x) | (x + ones * (0x7f - 0x7e)) | x;
    }
    if (bad & highs) return -1;
    for (; j < len; j++)
        if ((unsigned char)(u[j] - 0x20) > 0x5e) return -1;
    Py_ssize_t i = 0;
    for (int t = 0; t < nsplit; t++) {
        while (i < len && s[i] == ' ') i++;
        if (i == len) return 0;
        const char *p = find_space(s + i, len - i);
        if (p == NULL) return 0;
        lx->head[t] = s + i;
        lx->hlen[t] = (p - s) - i;
        i = p - s;
    }
    while (i < len && s[i] == ' ') i++;
    if (i == len) return 0;
    lx->head[nsplit] = s + i;
    lx->hlen[nsplit] = len - i;
    int nt = 0;
    for (;;) {
        if (nt == MAX_TOKENS) return 0;
        const char *p = find_space(s + i, len - i);
        lx->tok[nt] = s + i;
        if (p == NULL) {
            lx->tlen[nt++] = len - i;
            break;
        }
        lx->tlen[nt++] = (p - s) - i;
        i = (p - s) + 1;
    }
    lx->nt = nt;
    lx->len = len;
    lx->nl = nl != NULL;
    return 1;
}

#endif

/* match the body's tokens against the event's layouts (exactly as their regexes would) */
static int match_layouts(EventInfo *ev, Lex *lx, Fields *f)
{
    int nt = lx->nt;
    for (int l = 0; l < ev->nlayouts; l++) {
        Layout *lay = &ev->layouts[l];
        if (lay->nkeys != nt) continue;
        int nf = SHAPE_NFIELDS[ev->shape];
        for (int i = 0; i < nf; i++) f->n[i] = -1;
        int k;
        for (k = 0; k < nt; k++) {
            Py_ssize_t kl = lay->keylen[k];
            const char *t = lx->tok[k];
            if (lx->tlen[k] <= kl || t[kl] != '=' || t[0] != lay->keys[k][0] || memcmp(t, lay->keys[k], kl) != 0) break;
            const char *v = t + kl + 1;
            Py_ssize_t vn = lx->tlen[k] - kl - 1;
            int slot = lay->slot[k];
            if (slot >= 0) {
                if (!check_grammar(SHAPE_GRAMMAR[ev->shape][slot], v, vn, &f->v[slot])) break;
                f->s[slot] = v;
                f->n[slot] = vn;
            }
        }
        if (k == nt) return 1;
    }
    return 0;
}

/* (comm, pid) of an ftrace/trace-cmd task column: the shared cache, else task_fn */
static PyObject *task_of(Scanner *self, const char *s, Py_ssize_t n)
{
    PyObject *key = PyUnicode_DecodeASCII(s, n, NULL);
    if (key == NULL) return NULL;
    PyObject *tp = PyDict_GetItemWithError(self->task_cache, key);
    if (tp != NULL) {
        Py_DECREF(key);
        return Py_NewRef(tp);
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    tp = PyObject_CallOneArg(self->task_fn, key);
    if (tp == NULL || !PyTuple_Check(tp) || PyTuple_GET_SIZE(tp) != 2) {
        if (tp != NULL && !PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "task_fn must return (comm, pid)");
        Py_XDECREF(tp);
        Py_DECREF(key);
        return NULL;
    }
    if (PyDict_GET_SIZE(self->task_cache) < 65536 && PyDict_SetItem(self->task_cache, key, tp) < 0) {
        Py_DECREF(tp);
        Py_DECREF(key);
        return NULL;
    }
    Py_DECREF(key);
    return tp;
}

/* a callchain line of the pending page allocation: its first frame outside the allocator */
static int callchain(Scanner *self, const char *s, Py_ssize_t n)
{
    self->callchain_lines++;
    if (self->pending == Py_None || self->pending_site != Py_None) return 0;
    const char *sym;
    Py_ssize_t sn;
    if (s[0] == '\t') { /* ^\s*[0-9a-fA-F]+\s+(\S+) */
        Py_ssize_t i = 0;
        while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
        Py_ssize_t a = i;
        while (i < n && hexval(s[i]) >= 0) i++;
        if (i == a) return 0;
        Py_ssize_t w = i;
        while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i == w) return 0;
        sym = s + i;
        while (i < n && s[i] != ' ' && s[i] != '\t') i++;
        sn = (s + i) - sym;
        if (sn == 0) return 0;
    } else { /* " => sym": line[4:].strip() */
        Py_ssize_t i = 4, j = n;
        while (i < j && (s[i] == ' ' || s[i] == '\t')) i++;
        while (j > i && (s[j - 1] == ' ' || s[j - 1] == '\t')) j--;
        sym = s + i;
        sn = j - i;
    }
    Py_ssize_t fn = 0;
    while (fn < sn && sym[fn] != '+') fn++;
    if (fn == 0 || (fn == 9 && memcmp(sym, "[unknown]", 9) == 0)) return 0;
    PyObject *func = interned(self, sym, fn);
    if (func == NULL) return -1;
    PyObject *is_alloc = PyDict_GetItemWithError(self->alloc_cache, func);
    if (is_alloc == NULL) {
        if (PyErr_Occurred()) {
            Py_DECREF(func);
            return -1;
        }
        PyObject *r = PyObject_CallOneArg(self->alloc_fn, func);
        if (r == NULL) {
            Py_DECREF(func);
            return -1;
        }
        int t = PyObject_IsTrue(r);
        Py_DECREF(r);
        if (t < 0 || PyDict_SetItem(self->alloc_cache, func, t ? Py_True : Py_False) < 0) {
            Py_DECREF(func);
            return -1;
        }
        is_alloc = t ? Py_True : Py_False;
    }
    if (is_alloc == Py_False)
        Py_SETREF(self->pending_site, func);
    else
        Py_DECREF(func);
    return 0;
}

/* the values of a slab event's or page free's record, read from the line's fields, into the zeroed
 * e: 0, or -1 on an error (e then holds what it got: pev_clear() it) */
static int fill_pev(Scanner *self, PEv *e, EventInfo *ev, Fields *f, int64_t ts, int cpu, int64_t pid,
                    const char *task, Py_ssize_t task_n, const char *comm, Py_ssize_t comm_n)
{
    int shape = ev->shape;
    e->shape = (int8_t)shape;
    e->kind = Py_NewRef(ev->name);
    e->ts = ts;
    e->cpu = cpu;
    e->accounted = -1;
    if (self->fmt == 1) {
        e->pid = pid;
        e->comm = interned(self, comm, comm_n);
    } else {
        PyObject *tp = task_of(self, task, task_n);
        if (tp == NULL) return -1;
        e->pid_o = Py_NewRef(PyTuple_GET_ITEM(tp, 1));
        e->comm = Py_NewRef(PyTuple_GET_ITEM(tp, 0));
        Py_DECREF(tp);
    }
    if (shape == SHAPE_PAGE_FREE) {
        e->ptr = (uint64_t)(int64_t)f->v[0];
        e->req = f->n[1] > 0 ? (int64_t)f->v[1] : 0;
    } else {
        e->site = interned(self, f->n[0] >= 0 ? f->s[0] : "", f->n[0] >= 0 ? f->n[0] : 0);
        e->ptr = f->n[1] >= 0 ? f->v[1] : 0;
        if (f->n[2] > 0 && (e->name = interned(self, f->s[2], f->n[2])) == NULL) return -1;
        if (shape == SHAPE_SLAB_ALLOC) {
            e->req = (int64_t)f->v[3];
            e->alloc = (int64_t)f->v[4];
            e->gfp = interned(self, f->n[5] >= 0 ? f->s[5] : "", f->n[5] >= 0 ? f->n[5] : 0);
            if (f->n[6] > 0) {
                e->has_node = 1;
                e->node = (int64_t)f->v[6];
            }
            if (f->n[7] > 0) e->accounted = f->s[7][0] == 't';
            if (e->gfp == NULL) return -1;
        }
        if (e->site == NULL) return -1;
    }
    return e->comm == NULL ? -1 : 0;
}

/* scan_event() of a slab event or page free into an EventBuf: its values, packed (1, or -1 on an
 * error) */
static int pack_event(Scanner *self, EventBuf *out, EventInfo *ev, Fields *f, int64_t ts, int cpu, int64_t pid,
                      const char *task, Py_ssize_t task_n, const char *comm, Py_ssize_t comm_n)
{
    if (flush_pending(self, (PyObject *)out) < 0) return -1;
    PEv *e = eb_new(out);
    if (e == NULL || fill_pev(self, e, ev, f, ts, cpu, pid, task, task_n, comm, comm_n) < 0) return -1;
    ev->count++;
    return 1;
}

/* the record of an mm_page_alloc line (a new reference, or NULL): page allocations are never packed,
 * they wait for their callchain's caller (flush_pending()) */
static PyObject *page_alloc_record(Scanner *self, EventInfo *ev, Fields *f, int64_t ts, int cpu, int64_t pid,
                                   const char *task, Py_ssize_t task_n, const char *comm, Py_ssize_t comm_n)
{
    PyObject *items[10];
    int ni = 0;
    items[ni++] = Py_NewRef(ev->name);
    items[ni++] = PyLong_FromLongLong(ts);
    items[ni++] = PyLong_FromLong(cpu);
    if (self->fmt == 1) {
        items[ni++] = PyLong_FromLongLong(pid);
        items[ni++] = interned(self, comm, comm_n);
    } else {
        PyObject *tp = task_of(self, task, task_n);
        if (tp == NULL) {
            for (int i = 0; i < ni; i++) Py_XDECREF(items[i]);
            return NULL;
        }
        items[ni++] = Py_NewRef(PyTuple_GET_ITEM(tp, 1));
        items[ni++] = Py_NewRef(PyTuple_GET_ITEM(tp, 0));
        Py_DECREF(tp);
    }
    int64_t pfn = (int64_t)f->v[1];
    if (pfn == 0 && (f->n[0] <= 0 || f->v[0] == 0)) pfn = -1; /* a failed allocation */
    items[ni++] = PyLong_FromLongLong(pfn);
    items[ni++] = PyLong_FromLongLong((int64_t)f->v[2]);
    items[ni++] = PyLong_FromLongLong((int64_t)f->v[3]);
    items[ni++] = interned(self, f->n[4] >= 0 ? f->s[4] : "", f->n[4] >= 0 ? f->n[4] : 0);
    items[ni++] = Py_NewRef(Py_None);
    for (int i = 0; i < ni; i++) {
        if (items[i] == NULL) {
            for (int j = 0; j < ni; j++) Py_XDECREF(items[j]);
            return NULL;
        }
    }
    return record(self->classes[SHAPE_PAGE_ALLOC], items, ni);
}

/* one event line, cut by lex_line: 1 read (appended to out, made pending, or fed to the core),
 * 0 not for the fast path, -1 error */
static int scan_event(Scanner *self, Lex *lx, PyObject *out)
{
    int fmt = self->fmt;
    const char **tok = lx->head;
    Py_ssize_t *tlen = lx->hlen;
    const char *task, *cpu_s, *ts_s, *etok, *comm = NULL;
    Py_ssize_t task_n, cpu_n, ts_n, etok_n, comm_n = 0;
    if (fmt == 0) {
        task = tok[0], task_n = tlen[0], cpu_s = tok[1], cpu_n = tlen[1];
        ts_s = tok[3], ts_n = tlen[3], etok = tok[4], etok_n = tlen[4];
    } else if (fmt == 1) {
        comm = tok[0], comm_n = tlen[0], task = tok[1], task_n = tlen[1], cpu_s = tok[2], cpu_n = tlen[2];
        ts_s = tok[3], ts_n = tlen[3], etok = tok[4], etok_n = tlen[4];
    } else {
        task = tok[0], task_n = tlen[0], cpu_s = tok[1], cpu_n = tlen[1];
        ts_s = tok[2], ts_n = tlen[2], etok = tok[3], etok_n = tlen[3];
        const char *body = tok[4];
        Py_ssize_t body_n = tlen[4];
        if (body[0] == '(') { /* body.partition(") ")[2] */
            Py_ssize_t i;
            for (i = 0; i + 1 < body_n; i++)
                if (body[i] == ')' && body[i + 1] == ' ') break;
            if (i + 1 >= body_n) return 0; /* an empty body: no layout */
            if (!lex_body(lx, body + i + 2, body_n - i - 2)) return 0;
        }
    }
    /* the event */
    int e = -1;
    for (int t = 0; t < self->ntokens; t++) {
        if (self->tokens[t].len == etok_n && memcmp(self->tokens[t].tok, etok, etok_n) == 0) {
            e = self->tokens[t].ev;
            break;
        }
    }
    if (e < 0) return 0;
    /* the CPU: "[ddd]", below 256 */
    if (cpu_n != 5 || cpu_s[0] != '[' || cpu_s[4] != ']' || !is_digit(cpu_s[1]) || !is_digit(cpu_s[2]) ||
        !is_digit(cpu_s[3]))
        return 0;
    int cpu = (cpu_s[1] - '0') * 100 + (cpu_s[2] - '0') * 10 + (cpu_s[3] - '0');
    if (cpu >= 256) return 0;
    int64_t ts;
    if (!parse_ts(ts_s, ts_n, &ts)) return 0;
    EventInfo *ev = &self->ev[e];
    Fields f;
    if (!match_layouts(ev, lx, &f)) return 0;
    int64_t pid = 0;
    if (fmt == 1 && !parse_dec(task, task_n, 18, &pid)) return 0;
    scanner_note_ts(self, ts);

    if (self->core != NULL && ev->shape >= 2 && self->core_kind[e] >= K_PAGE_ALLOC) { /* fused page events */
        SlabCore *c = (SlabCore *)self->core;
        if (flush_pending(self, out) < 0) return -1;
        ev->count++;
        if (!core_window(c, ts)) return 1;
        int kind = self->core_kind[e];
        if (kind == K_PAGE_FREE_BATCHED) {
            c->page_free_batched++;
            return 1;
        }
        int64_t pfn = 0, order = 0, mt = 0;
        if (kind == K_PAGE_ALLOC) {
            pfn = (int64_t)f.v[1];
            if (pfn == 0) {
                uint64_t pg = 0;
                if (f.n[0] > 0) pg = f.v[0];
                if (pg == 0) pfn = -1;
            }
            order = (int64_t)f.v[2];
            mt = (int64_t)f.v[3];
            return core_page_alloc(c, pfn, order, mt) < 0 ? -1 : 1;
        }
        pfn = (int64_t)f.v[0];
        if (f.n[1] > 0) order = (int64_t)f.v[1];
        return core_page_free(c, pfn, order) < 0 ? -1 : 1;
    }
    if (self->core != NULL && ev->shape <= 1) { /* fused: straight into the slab core */
        SlabCore *c = (SlabCore *)self->core;
        if (flush_pending(self, out) < 0) return -1;
        ev->count++;
        if (!core_window(c, ts)) return 1;
        uint64_t ptr = 0;
        if (f.n[1] >= 0) ptr = f.v[1];
        if (ev->shape == 1) return core_free(c, self->core_kind[e] - c->n_alloc, ts, cpu, ptr) < 0 ? -1 : 1;
        int64_t cs = core_site(c, f.n[0] >= 0 ? f.s[0] : "", f.n[0] >= 0 ? f.n[0] : 0);
        if (cs < 0) return -1;
        int64_t req = 0, alloc = 0, node = 0;
        req = (int64_t)f.v[3];
        alloc = (int64_t)f.v[4];
        if (f.n[6] > 0) node = (int64_t)f.v[6];
        return core_alloc(c, ts, cpu, (uint32_t)cs, ptr, (uint64_t)req, (uint64_t)alloc, f.n[6] > 0, (long)node) < 0
                   ? -1
                   : 1;
    }

    if (Py_TYPE(out) == &EventBufType && ev->shape != SHAPE_PAGE_ALLOC) /* packed (_kmemevents.h) */
        return pack_event(self, (EventBuf *)out, ev, &f, ts, cpu, pid, task, task_n, comm, comm_n);

    int shape = ev->shape;
    PyObject *rec;
    if (shape != SHAPE_PAGE_ALLOC) { /* the record of the values an EventBuf would pack */
        PEv pe;
        memset(&pe, 0, sizeof pe);
        int r = fill_pev(self, &pe, ev, &f, ts, cpu, pid, task, task_n, comm, comm_n);
        rec = r < 0 ? NULL : pev_make_record(self->classes[shape], &pe);
        pev_clear(&pe);
    } else {
        rec = page_alloc_record(self, ev, &f, ts, cpu, pid, task, task_n, comm, comm_n);
    }
    if (rec == NULL) return -1;
    if (flush_pending(self, out) < 0) {
        Py_DECREF(rec);
        return -1;
    }
    ev->count++;
    if (shape == SHAPE_PAGE_ALLOC) { /* it waits for its callchain */
        Py_SETREF(self->pending, rec);
        Py_SETREF(self->pending_site, Py_NewRef(Py_None));
        return 1;
    }
    int r = out_append(out, rec);
    Py_DECREF(rec);
    return r < 0 ? -1 : 1;
}

static PyObject *Scanner_scan(Scanner *self, PyObject *args)
{
    Py_buffer buf;
    Py_ssize_t pos;
    PyObject *out;
    if (!PyArg_ParseTuple(args, "y*nO", &buf, &pos, &out)) return NULL;
    if (!PyList_CheckExact(out) && Py_TYPE(out) != &EventBufType) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_TypeError, "scan: out must be a list or an EventBuf");
        return NULL;
    }
    const char *data = buf.buf;
    Py_ssize_t n = buf.len;
    Py_ssize_t lines = 0;
    int status = 0;
    if (pos < 0 || pos > n) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "pos outside the block");
        return NULL;
    }
    int nsplit = self->fmt == 2 ? 4 : 5;
    Lex lx;
    while (pos < n) {
        if (self->fmt < 0) {
            status = 1;
            break;
        }
        const char *s = data + pos;
        Py_ssize_t avail = n - pos;
        int chain = s[0] == '\t' || (avail >= 4 && memcmp(s, " => ", 4) == 0); /* callchain lines first */
        int lexed = chain ? 0 : lex_line_fast(s, avail, nsplit, &lx);
        if (lexed < 0) lexed = lex_line(s, avail, nsplit, &lx);
        if (lexed) {
            int r = scan_event(self, &lx, out);
            if (r < 0) {
                PyBuffer_Release(&buf);
                return NULL;
            }
            if (r == 1) {
                lines++;
                pos += lx.len + lx.nl;
                continue;
            }
        }
        /* not an event line the fast path reads: a callchain line, or Python's */
        const char *nl = memchr(s, '\n', avail);
        Py_ssize_t len = nl ? nl - s : avail;
        Py_ssize_t i;
        for (i = 0; i < len; i++) {
            unsigned char c = CLS[(unsigned char)s[i]];
            if (c > 2) break;
        }
        Py_ssize_t blank = 0;
        while (blank < len && (s[blank] == ' ' || s[blank] == '\t')) blank++;
        if (blank == len && !chain) { /* an empty line: the general path skips it too */
            lines++;
            pos += len + (nl ? 1 : 0);
            continue;
        }
        if (i < len || !chain) {
            status = 1;
            break;
        }
        if (callchain(self, s, len) < 0) {
            PyBuffer_Release(&buf);
            return NULL;
        }
        lines++;
        pos += len + (nl ? 1 : 0);
    }
    Py_ssize_t end = n;
    if (status == 1) {
        const char *nl = memchr(data + pos, '\n', n - pos);
        if (nl) end = nl - data;
    }
    PyBuffer_Release(&buf);
    return Py_BuildValue("nnin", pos, lines, status, end);
}

static PyObject *Scanner_attach(Scanner *self, PyObject *core)
{
    if (core == Py_None) {
        Py_CLEAR(self->core);
        Py_RETURN_NONE;
    }
    if (!PyObject_TypeCheck(core, &SlabCoreType)) {
        PyErr_SetString(PyExc_TypeError, "attach: a SlabCore or None");
        return NULL;
    }
    SlabCore *c = (SlabCore *)core;
    for (int e = 0; e < self->nevents; e++) {
        PyObject *code = PyDict_GetItemWithError(c->kinds, self->ev[e].name);
        if (code == NULL && PyErr_Occurred()) return NULL;
        self->core_kind[e] = code ? (int)PyLong_AsLong(code) : -1;
        if (self->ev[e].shape <= 1 && self->core_kind[e] < 0) {
            PyErr_SetString(PyExc_ValueError, "attach: the core does not know a slab event of the scanner");
            return NULL;
        }
    }
    Py_XSETREF(self->core, Py_NewRef(core));
    Py_RETURN_NONE;
}

static PyObject *Scanner_take_counts(Scanner *self, PyObject *Py_UNUSED(ignored))
{
    PyObject *d = PyDict_New();
    if (d == NULL) return NULL;
    for (int e = 0; e < self->nevents; e++) {
        if (self->ev[e].count == 0) continue;
        PyObject *v = PyLong_FromSsize_t(self->ev[e].count);
        if (v == NULL || PyDict_SetItem(d, self->ev[e].name, v) < 0) {
            Py_XDECREF(v);
            Py_DECREF(d);
            return NULL;
        }
        Py_DECREF(v);
        self->ev[e].count = 0;
    }
    return d;
}

static PyObject *Scanner_take_callchain_lines(Scanner *self, PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t n = self->callchain_lines;
    self->callchain_lines = 0;
    return PyLong_FromSsize_t(n);
}

/* note_ts(ts): an event the Python side read (the general path), in trace order */
static PyObject *Scanner_note_ts(Scanner *self, PyObject *arg)
{
    long long ts = PyLong_AsLongLong(arg);
    if (ts == -1 && PyErr_Occurred()) return NULL;
    scanner_note_ts(self, (int64_t)ts);
    Py_RETURN_NONE;
}

static PyObject *Scanner_take_unordered(Scanner *self, PyObject *Py_UNUSED(ignored))
{
    Py_ssize_t n = self->unordered;
    self->unordered = 0;
    return PyLong_FromSsize_t(n);
}

static PyObject *Scanner_get_obj(Scanner *self, void *which)
{
    PyObject *o = which ? self->pending_site : self->pending;
    return Py_NewRef(o ? o : Py_None);
}

static int Scanner_set_obj(Scanner *self, PyObject *value, void *which)
{
    if (value == NULL) value = Py_None;
    if (which)
        Py_XSETREF(self->pending_site, Py_NewRef(value));
    else {
        if (value != Py_None && !PyTuple_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "pending: a PageAlloc or None");
            return -1;
        }
        Py_XSETREF(self->pending, Py_NewRef(value));
    }
    return 0;
}

static PyObject *Scanner_get_fmt(Scanner *self, void *Py_UNUSED(c)) { return PyLong_FromLong(self->fmt); }

static int Scanner_set_fmt(Scanner *self, PyObject *value, void *Py_UNUSED(c))
{
    long v = value ? PyLong_AsLong(value) : -1;
    if (v == -1 && PyErr_Occurred()) return -1;
    if (v < -1 || v > 2) {
        PyErr_SetString(PyExc_ValueError, "fmt: -1, 0, 1 or 2");
        return -1;
    }
    self->fmt = (int)v;
    return 0;
}

static PyGetSetDef Scanner_getset[] = {
    {"pending", (getter)Scanner_get_obj, (setter)Scanner_set_obj, "the mm_page_alloc awaiting its callchain", NULL},
    {"pending_site", (getter)Scanner_get_obj, (setter)Scanner_set_obj, "its caller from the callchain", (void *)1},
    {"fmt", (getter)Scanner_get_fmt, (setter)Scanner_set_fmt, "-1 off, 0 ftrace, 1 perf script, 2 trace-cmd", NULL},
    {NULL},
};

static PyMethodDef Scanner_methods[] = {
    {"scan", (PyCFunction)Scanner_scan, METH_VARARGS, "scan(block, pos, out) -> (pos, lines, status)"},
    {"set_layouts", (PyCFunction)Scanner_set_layouts, METH_VARARGS, "set_layouts(event, [((key, slot), ...)])"},
    {"take_counts", (PyCFunction)Scanner_take_counts, METH_NOARGS, "events read per name since the last call"},
    {"attach", (PyCFunction)Scanner_attach, METH_O, "attach(core or None): feed the slab events to a SlabCore"},
    {"take_callchain_lines", (PyCFunction)Scanner_take_callchain_lines, METH_NOARGS, "callchain lines read"},
    {"note_ts", (PyCFunction)Scanner_note_ts, METH_O, "note_ts(ts): an event read elsewhere, in trace order"},
    {"take_unordered", (PyCFunction)Scanner_take_unordered, METH_NOARGS,
     "events whose timestamp came before an earlier event's, since the last call"},
    {NULL},
};

static PyTypeObject ScannerType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kmemsim.trace._kmemscan.Scanner",
    .tp_basicsize = sizeof(Scanner),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The compiled scanner of the common kmem trace lines.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Scanner_init,
    .tp_dealloc = (destructor)Scanner_dealloc,
    .tp_traverse = (traverseproc)Scanner_traverse,
    .tp_clear = (inquiry)Scanner_clear,
    .tp_methods = Scanner_methods,
    .tp_getset = Scanner_getset,
};

static struct PyModuleDef kmemscan_module = {
    PyModuleDef_HEAD_INIT, "_kmemscan", "The compiled scanner of kmem trace lines (optional).", -1, NULL, NULL, NULL,
    NULL, NULL,
};

PyMODINIT_FUNC PyInit__kmemscan(void)
{
    init_classes();
    if (PyType_Ready(&ScannerType) < 0 || PyType_Ready(&EventBufType) < 0) return NULL;
    PyObject *m = PyModule_Create(&kmemscan_module);
    if (m == NULL) return NULL;
    if (PyType_Ready(&SlabCoreType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    if (PyModule_AddObjectRef(m, "Scanner", (PyObject *)&ScannerType) < 0 ||
        PyModule_AddObjectRef(m, "SlabCore", (PyObject *)&SlabCoreType) < 0 ||
        PyModule_AddObjectRef(m, "EventBuf", (PyObject *)&EventBufType) < 0 ||
        PyModule_AddIntConstant(m, "KMEM_EVENTS_ABI", KMEM_EVENTS_ABI) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
