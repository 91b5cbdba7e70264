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
 * .scan(block, pos, out) -> (pos, lines, status): appends events to the list out
 * .take_counts() -> {event: n}, .take_callchain_lines() -> n
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_EVENTS 16
#define MAX_LAYOUTS 4
#define MAX_KEYS 24
#define MAX_TOKENS 64
#define INTERN_MAX 200000

/* the record fields of each shape, by slot (parse.py: _SHAPE_FIELDS) */
enum { G_ANY, G_PTR, G_BYTES, G_ORDER, G_INT, G_PFN, G_BOOL, G_NAME };
static const int SHAPE_NFIELDS[4] = {8, 3, 5, 2};
static const int SHAPE_GRAMMAR[4][8] = {
    /* call_site, ptr, name, bytes_req, bytes_alloc, gfp_flags, node, accounted */
    {G_ANY, G_PTR, G_NAME, G_BYTES, G_BYTES, G_ANY, G_INT, G_BOOL},
    /* call_site, ptr, name */
    {G_ANY, G_PTR, G_NAME, 0, 0, 0, 0, 0},
    /* page, pfn, order, migratetype, gfp_flags */
    {G_PTR, G_PFN, G_ORDER, G_INT, G_ANY, 0, 0, 0},
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
    PyObject *pending;
    PyObject *pending_site;
    Py_ssize_t callchain_lines;
} Scanner;

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

static int check_grammar(int g, const char *s, Py_ssize_t n)
{
    int64_t i;
    uint64_t u;
    switch (g) {
    case G_ANY: return 1;
    case G_PTR: return parse_ptr(s, n, &u);
    case G_BYTES: return parse_dec(s, n, 18, &i);
    case G_ORDER: return parse_order(s, n, &i);
    case G_INT: return parse_int(s, n, &i);
    case G_PFN: return parse_pfn(s, n, &i);
    case G_BOOL: return (n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0);
    case G_NAME: return n >= 1;
    }
    return 0;
}

/* ------------------------------------------------------------------ objects */

/* str of ASCII bytes, shared through the intern dict (new reference) */
static PyObject *interned(Scanner *self, const char *s, Py_ssize_t n)
{
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
    return got;
}

/* a record (a NamedTuple subclass of tuple) from n new references; steals them */
static PyObject *record(PyObject *cls, PyObject **items, Py_ssize_t n)
{
    PyTypeObject *tp = (PyTypeObject *)cls;
    PyObject *t = tp->tp_alloc(tp, n);
    if (t == NULL) {
        for (Py_ssize_t i = 0; i < n; i++) Py_XDECREF(items[i]);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) PyTuple_SET_ITEM(t, i, items[i]);
    return t;
}

/* append the pending page allocation (with its caller) to out */
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
    int r = PyList_Append(out, ev);
    Py_DECREF(ev);
    return r;
}

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
    Py_CLEAR(self->pending);
    Py_CLEAR(self->pending_site);
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
    if (!PyArg_ParseTuple(args, "O!O!OOO!", &PyDict_Type, &tokens, &PyTuple_Type, &classes, &task_fn, &alloc_fn,
                          &PyDict_Type, &task_cache))
        return -1;
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
        Py_XSETREF(self->classes[i], Py_NewRef(c));
    }
    Py_XSETREF(self->task_fn, Py_NewRef(task_fn));
    Py_XSETREF(self->alloc_fn, Py_NewRef(alloc_fn));
    Py_XSETREF(self->task_cache, Py_NewRef(task_cache));
    Py_XSETREF(self->alloc_cache, PyDict_New());
    Py_XSETREF(self->intern, PyDict_New());
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
} Fields;

/* match body[0:n] against the event's layouts (exactly as their regexes would) */
static int match_layouts(EventInfo *ev, const char *body, Py_ssize_t n, Fields *f)
{
    const char *tok[MAX_TOKENS];
    Py_ssize_t tlen[MAX_TOKENS];
    int nt = 0;
    Py_ssize_t start = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (i == n || body[i] == ' ') {
            if (nt == MAX_TOKENS) return 0;
            tok[nt] = body + start;
            tlen[nt] = i - start;
            nt++;
            start = i + 1;
        } else if (body[i] == '\t') {
            return 0;
        }
    }
    for (int l = 0; l < ev->nlayouts; l++) {
        Layout *lay = &ev->layouts[l];
        if (lay->nkeys != nt) continue;
        int nf = SHAPE_NFIELDS[ev->shape];
        for (int i = 0; i < nf; i++) f->n[i] = -1;
        int k;
        for (k = 0; k < nt; k++) {
            Py_ssize_t kl = lay->keylen[k];
            if (tlen[k] <= kl || tok[k][kl] != '=' || memcmp(tok[k], lay->keys[k], kl) != 0) break;
            const char *v = tok[k] + kl + 1;
            Py_ssize_t vn = tlen[k] - kl - 1;
            int slot = lay->slot[k];
            if (slot >= 0) {
                if (!check_grammar(SHAPE_GRAMMAR[ev->shape][slot], v, vn)) break;
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

/* split like str.split(None, maxsplit) for lines of printable ASCII and tabs */
static int split_head(const char *s, Py_ssize_t n, int nsplit, const char **tok, Py_ssize_t *tlen)
{
    Py_ssize_t i = 0;
    for (int t = 0; t < nsplit; t++) {
        while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
        if (i == n) return 0;
        Py_ssize_t a = i;
        while (i < n && s[i] != ' ' && s[i] != '\t') i++;
        tok[t] = s + a;
        tlen[t] = i - a;
    }
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    if (i == n) return 0;
    tok[nsplit] = s + i;
    tlen[nsplit] = n - i;
    return 1;
}

/* one event line: 1 read (appended to out or made pending), 0 not for the fast path, -1 error */
static int scan_event(Scanner *self, const char *s, Py_ssize_t n, PyObject *out)
{
    const char *tok[6];
    Py_ssize_t tlen[6];
    int fmt = self->fmt;
    int nsplit = fmt == 2 ? 4 : 5;
    if (!split_head(s, n, nsplit, tok, tlen)) return 0;
    const char *task, *cpu_s, *ts_s, *etok, *body, *comm = NULL;
    Py_ssize_t task_n, cpu_n, ts_n, etok_n, body_n, comm_n = 0;
    if (fmt == 0) {
        task = tok[0], task_n = tlen[0], cpu_s = tok[1], cpu_n = tlen[1];
        ts_s = tok[3], ts_n = tlen[3], etok = tok[4], etok_n = tlen[4], body = tok[5], body_n = tlen[5];
    } else if (fmt == 1) {
        comm = tok[0], comm_n = tlen[0], task = tok[1], task_n = tlen[1], cpu_s = tok[2], cpu_n = tlen[2];
        ts_s = tok[3], ts_n = tlen[3], etok = tok[4], etok_n = tlen[4], body = tok[5], body_n = tlen[5];
    } else {
        task = tok[0], task_n = tlen[0], cpu_s = tok[1], cpu_n = tlen[1];
        ts_s = tok[2], ts_n = tlen[2], etok = tok[3], etok_n = tlen[3], body = tok[4], body_n = tlen[4];
        if (body[0] == '(') { /* body.partition(") ")[2] */
            Py_ssize_t i;
            for (i = 0; i + 1 < body_n; i++)
                if (body[i] == ')' && body[i + 1] == ' ') break;
            if (i + 1 >= body_n) {
                body += body_n;
                body_n = 0;
            } else {
                body += i + 2;
                body_n -= i + 2;
            }
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
    if (!match_layouts(ev, body, body_n, &f)) return 0;
    int64_t pid = 0;
    if (fmt == 1 && !parse_dec(task, task_n, 18, &pid)) return 0;

    /* the record */
    PyObject *items[13];
    int ni = 0;
    PyObject *tp = NULL;
    items[ni++] = Py_NewRef(ev->name);
    items[ni++] = PyLong_FromLongLong(ts);
    items[ni++] = PyLong_FromLong(cpu);
    if (fmt == 1) {
        items[ni++] = PyLong_FromLongLong(pid);
        items[ni++] = interned(self, comm, comm_n);
    } else {
        tp = task_of(self, task, task_n);
        if (tp == NULL) goto fail;
        items[ni++] = Py_NewRef(PyTuple_GET_ITEM(tp, 1));
        items[ni++] = Py_NewRef(PyTuple_GET_ITEM(tp, 0));
        Py_CLEAR(tp);
    }
    int shape = ev->shape;
    int64_t iv;
    uint64_t uv;
    if (shape == 0 || shape == 1) {
        items[ni++] = interned(self, f.n[0] >= 0 ? f.s[0] : "", f.n[0] >= 0 ? f.n[0] : 0); /* call_site */
        uv = 0;
        if (f.n[1] >= 0) parse_ptr(f.s[1], f.n[1], &uv);
        items[ni++] = PyLong_FromUnsignedLongLong(uv);
        if (shape == 1) {
            items[ni++] = f.n[2] > 0 ? interned(self, f.s[2], f.n[2]) : Py_NewRef(Py_None);
        } else {
            PyObject *name = f.n[2] > 0 ? interned(self, f.s[2], f.n[2]) : Py_NewRef(Py_None);
            parse_dec(f.s[3], f.n[3], 18, &iv);
            items[ni++] = PyLong_FromLongLong(iv);
            parse_dec(f.s[4], f.n[4], 18, &iv);
            items[ni++] = PyLong_FromLongLong(iv);
            items[ni++] = interned(self, f.n[5] >= 0 ? f.s[5] : "", f.n[5] >= 0 ? f.n[5] : 0);
            if (f.n[6] > 0) {
                parse_int(f.s[6], f.n[6], &iv);
                items[ni++] = PyLong_FromLongLong(iv);
            } else {
                items[ni++] = Py_NewRef(Py_None);
            }
            items[ni++] = name;
            items[ni++] = f.n[7] > 0 ? Py_NewRef(f.s[7][0] == 't' ? Py_True : Py_False) : Py_NewRef(Py_None);
        }
    } else if (shape == 2) {
        int64_t pfn = 0;
        parse_pfn(f.s[1], f.n[1], &pfn);
        if (pfn == 0) {
            uv = 0;
            if (f.n[0] > 0) parse_ptr(f.s[0], f.n[0], &uv);
            if (uv == 0) pfn = -1; /* a failed allocation */
        }
        items[ni++] = PyLong_FromLongLong(pfn);
        parse_order(f.s[2], f.n[2], &iv);
        items[ni++] = PyLong_FromLongLong(iv);
        parse_int(f.s[3], f.n[3], &iv);
        items[ni++] = PyLong_FromLongLong(iv);
        items[ni++] = interned(self, f.n[4] >= 0 ? f.s[4] : "", f.n[4] >= 0 ? f.n[4] : 0);
        items[ni++] = Py_NewRef(Py_None);
    } else {
        int64_t pfn = 0;
        parse_pfn(f.s[0], f.n[0], &pfn);
        items[ni++] = PyLong_FromLongLong(pfn);
        iv = 0;
        if (f.n[1] > 0) parse_order(f.s[1], f.n[1], &iv);
        items[ni++] = PyLong_FromLongLong(iv);
    }
    for (int i = 0; i < ni; i++)
        if (items[i] == NULL) goto fail;
    PyObject *rec = record(self->classes[shape], items, ni);
    ni = 0;
    if (rec == NULL) return -1;
    if (flush_pending(self, out) < 0) {
        Py_DECREF(rec);
        return -1;
    }
    ev->count++;
    if (shape == 2) {
        Py_SETREF(self->pending, rec);
        Py_SETREF(self->pending_site, Py_NewRef(Py_None));
        return 1;
    }
    int r = PyList_Append(out, rec);
    Py_DECREF(rec);
    return r < 0 ? -1 : 1;
fail:
    Py_XDECREF(tp);
    for (int i = 0; i < ni; i++) Py_XDECREF(items[i]);
    return -1;
}

static PyObject *Scanner_scan(Scanner *self, PyObject *args)
{
    Py_buffer buf;
    Py_ssize_t pos;
    PyObject *out;
    if (!PyArg_ParseTuple(args, "y*nO!", &buf, &pos, &PyList_Type, &out)) return NULL;
    const char *data = buf.buf;
    Py_ssize_t n = buf.len;
    Py_ssize_t lines = 0;
    int status = 0;
    if (pos < 0 || pos > n) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_ValueError, "pos outside the block");
        return NULL;
    }
    while (pos < n) {
        if (self->fmt < 0) {
            status = 1;
            break;
        }
        const char *s = data + pos;
        const char *nl = memchr(s, '\n', n - pos);
        Py_ssize_t len = nl ? nl - s : n - pos;
        /* printable ASCII and tabs only; anything else is Python's */
        Py_ssize_t i;
        for (i = 0; i < len; i++) {
            unsigned char c = (unsigned char)s[i];
            if ((c < 0x20 && c != '\t') || c > 0x7e) break;
        }
        if (i < len || len == 0) {
            status = 1;
            break;
        }
        int r = scan_event(self, s, len, out);
        if (r < 0) {
            PyBuffer_Release(&buf);
            return NULL;
        }
        if (r == 0) {
            if (s[0] == '\t' || (len >= 4 && memcmp(s, " => ", 4) == 0)) {
                if (callchain(self, s, len) < 0) {
                    PyBuffer_Release(&buf);
                    return NULL;
                }
            } else {
                status = 1;
                break;
            }
        }
        lines++;
        pos += len + (nl ? 1 : 0);
    }
    PyBuffer_Release(&buf);
    return Py_BuildValue("nni", pos, lines, status);
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
    {"take_callchain_lines", (PyCFunction)Scanner_take_callchain_lines, METH_NOARGS, "callchain lines read"},
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
    PyModuleDef_HEAD_INIT, "_kmemscan", "The compiled scanner of kmem trace lines (optional).", -1, NULL,
};

PyMODINIT_FUNC PyInit__kmemscan(void)
{
    if (PyType_Ready(&ScannerType) < 0) return NULL;
    PyObject *m = PyModule_Create(&kmemscan_module);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "Scanner", (PyObject *)&ScannerType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
