/*
 * kmemsim.trace._kmemreplay: the compiled replay core.
 *
 * Optional, as the scanner is: kmemsim.trace.replay uses it when it was built (and the
 * machine runs SLUB with its fast paths installed) and runs its pure-Python loop
 * otherwise; both give the same replay, number for number (tests/test_replay_core.py).
 *
 * What it models.  The common events of a replay, on the SAME Python state the Python
 * loop and the model use (no copy): Replay.objs (traced pointer -> model pointer), its
 * Counters, and the model's SLUB structures -- KmemCache.cpu_slab[cpu].freelist and
 * .slab, Slab.freelist/.inuse, the free pointers in the object bytes of k.phys.frames
 * (XOR-encoded when CONFIG_SLAB_FREELIST_HARDENED).  These are Linux 6.18's SLUB fast
 * paths (mm/slub.c), as mm/fastpath.py models them (install_slab() and its docstring):
 *
 *   slab_alloc_node(): the lockless pop of c->freelist, the next free pointer read from the
 *       object with get_freepointer_safe() (freelist_ptr_decode(): ptr ^ s->random ^
 *       swab(address of the free pointer));
 *   do_slab_free(): the push onto c->freelist when the object's slab is the CPU slab
 *       (set_freepointer(), freelist_ptr_encode()), and __slab_free() without a list change
 *       (another CPU's slab, a CPU partial slab, a node partial slab that keeps an object in
 *       use): the push onto slab->freelist with slab->inuse - 1.
 *
 * And the replay's page events (mm_page_alloc, mm_page_free) in the common cases, on
 * Replay.pages (traced pfn -> model pfn << 4 | order), _held, _claimed and _page_failed: a
 * page allocation that no slab allocation was served from (the look-ahead of
 * _slab_page_of() over the next 64 events, with real pointers) goes to the model's page
 * allocator, a page free of a block the replay holds at that order goes back to it -- by
 * calling the functions _run() calls (pa_alloc, free_pages, pa.free) -- except where those are
 * the pcp fast paths' closures (mm/fastpath.py: install_pages(), k.pages.pcp_state) and the call
 * is one of their common cases: alloc_pfn() without __GFP_ZERO (and without __GFP_COMP above
 * order 0) from a pcp list of a zone above its watermark, and free_pages() of an order-0 page
 * that goes on a pcp list without a drain (Linux 6.18.2 rmqueue_pcplist(),
 * free_frozen_page_commit()).  Those the core does itself on the closures' state, in their order.
 *
 * Which Python function each part mirrors (a change to one must be made in the other):
 *
 *   Core_run()            Replay._run() (trace/replay.py), the loop: event counts, n,
 *                         last_ts, the sample points, the per-kind branches below
 *   do_free()             _run()'s kfree / kmem_cache_free branch
 *   do_kmalloc()          _run()'s kmalloc / kmalloc_node branch
 *   do_cache_alloc()      _run()'s kmem_cache_alloc / kmem_cache_alloc_node branch
 *   do_page_alloc()       _run()'s mm_page_alloc branch
 *   no_slab_page()        Replay._slab_page_of() (the look-ahead, _claimed) and the real-pointer
 *                         test of Replay._page_serves()
 *   is_obj_exts()         Replay._is_obj_exts()
 *   do_page_free()        _run()'s mm_page_free branch (without _page_free_slow())
 *   bind_page_fns()       the top of _run(): pa_alloc, pa_free, free_pages
 *                         (Replay._core_page_fns() binds them the same way)
 *   implied_free()        Replay._implied_free()
 *   caught_bug()          _run()'s except (KernelBug, Oops) clause
 *   sample()              _run()'s sample point after an event (Replay._sample(), in Python)
 *   fast_pop()            fastpath.install_slab(): kmalloc() and kmem_cache_alloc()
 *   refill_pop()          mm/slub.py Slub._slab_alloc_slow(): the CPU slab's freelist, or the
 *                         last CPU partial slab (___slab_alloc()'s load_freelist and
 *                         slub_percpu_partial branches), when the CPU freelist is empty
 *   fast_kfree()          fastpath.install_slab(): kfree() (Replay frees both free kinds
 *                         with k.kfree)
 *   free_to_slab()        fastpath.install_slab(): free_to_slab(); and of a full slab,
 *                         Slub._slab_free_slow() and _put_cpu_partial() without a drain
 *   pcp_alloc_c()         fastpath.install_pages(): alloc_pfn()
 *   pcp_free_c()          fastpath.install_pages(): free_pages(), its order-0 branch
 *
 * The model's slow paths stay in Python but for the two most common (refill_pop(), and a full
 * slab going on the CPU partial list: with Linux 6.18's cpu_partial_slabs they are most of the
 * slow calls, 6,500 of 7,000 in a 411k-line replay): where fast_pop() or fast_kfree() would hand
 * the call to the general path (the node partial list, a new slab, a CPU partial list to drain,
 * an empty slab discarded, __GFP_ZERO, a kind of kmalloc other than normal, an NMI probe ...),
 * the core calls the same Python function _run() calls -- kmalloc's fast path, Replay._kfree,
 * Replay._cache_alloc, which go on to the general path -- with k.cpu set to the event's CPU
 * (call_model()).  The replay's own decisions it takes in C only in the common cases.
 *
 * The rule that keeps the two engines equal: for each event the core first decides,
 * without changing anything, whether it can do the whole event; if not -- a gfp text or
 * cache met for the first time, a bytes_alloc mismatch, a large kmalloc, a duplicate, the
 * seeding reserve (_top_up), the early-free machinery (_make_room, _doom), the pre-existing
 * frees seeding serves (_free_preexisting), a free of what the model failed, a page
 * allocation a slab allocation may have been served from (a candidate of _slab_page_of()
 * inside the block: _slab_page(); with hashed pointers, or before _ptrs_real() knows, any
 * candidate with a pointer: _page_serves() reads the flags), a page allocation over a
 * block the replay holds (an implied free), a page free _page_free_slow() does (an unknown
 * pfn, another order), an order above 15, lost markers, the first timestamp, anything of an
 * unexpected type -- it writes its counts back into the Replay and
 * calls run_at(cur, i, j, nxt), which runs that event (and the events after it that the
 * core never does: lost markers, mm_page_free_batched ...) with Replay._run(), then reads
 * back what Python may have changed (n, the timestamps, the next sample point, kmalloc's
 * dispatch slot, _real_ptrs).  So every event is done once, in trace order, by exactly one
 * of the engines, and an event's Python path is the same code the pure-Python loop runs.
 *
 * Counts (and the change to Replay._held) are kept in C per kind and added to the Counters
 * before any Python runs and at the end of each run(); a key a Counter lacks is inserted (0) at the event that first
 * counts it, so the Counters' key order is the Python loop's.
 *
 * Core(replay, run_at, spec)
 *   spec: a dict (see Replay._core_spec() in trace/replay.py) of the state and constants
 * .run(cur, nxt)   replay the events of cur, a list of records or an EventBuf of packed events
 *                  (_kmemevents.h; nxt: the next chunk, for the look-ahead; each is read through
 *                  an Ev: ev_at(), ev_i64(), ev_u64(), ev_obj()); binds the page allocator's
 *                  functions first (Replay._core_page_fns())
 * .usable()        True when kmalloc's fast path is in its dispatch slot now (the core does
 *                  kmalloc events only then)
 * .slab_sample(caches)  Replay.sample()'s sums of slab_usage() over SLUB's caches, or None
 * .stats()         {"c": events done in C, "py": events handed to Python, "model_calls": calls
 *                  of the model's Python functions from C, "pcp_c": pcp allocations and frees done
 *                  in C instead of calling the closures, "slow_c": SLUB slow paths done in C (refill_pop(), a full
 *                  slab's free onto the CPU partial list)}
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#include "_kmemevents.h"

#define REPLAY_CORE_API 4

enum {
    K_KFREE,
    K_CACHE_FREE,
    K_KMALLOC,
    K_KMALLOC_NODE,
    K_CACHE_ALLOC,
    K_CACHE_ALLOC_NODE,
    K_PAGE_ALLOC,
    K_PAGE_FREE,
    NKINDS
};
static const char *KIND_NAMES[NKINDS] = {"kfree",        "kmem_cache_free",  "kmalloc",
                                         "kmalloc_node", "kmem_cache_alloc", "kmem_cache_alloc_node",
                                         "mm_page_alloc", "mm_page_free"};

/* the record fields (tracepoints/events.py: SlabAlloc, SlabFree; PageAlloc, PageFree) */
enum { F_KIND = 0, F_TS = 1, F_CPU = 2, F_SITE = 5, F_PTR = 6, F_REQ = 7, F_ALLOC = 8, F_GFP = 9, F_NAME = 11 };
enum { F_PFN = 5, F_ORDER = 6, F_PGFP = 8 };

/* An event as the core reads it: a record (a tuple: a list's item, or a boxed event of an EventBuf)
 * or a packed one (_kmemevents.h), read field by field as the record would be -- ev_i64() and
 * ev_u64() without making objects, ev_obj() an object where one is needed (a dict key, an
 * argument), made for a packed event and kept until ev_done(). */
typedef struct {
    PyObject *rec; /* the record (borrowed), or NULL */
    PEv *p;        /* the packed event, or NULL */
    PyObject *tmp[4];
    int ntmp;
} Ev;

/* the record's length, by shape */
static const Py_ssize_t PEV_SIZE[4] = {13, 8, 10, 7};

static inline Py_ssize_t ev_size(const Ev *e) { return e->rec != NULL ? PyTuple_GET_SIZE(e->rec) : PEV_SIZE[e->p->shape]; }

static inline void ev_done(Ev *e)
{
    for (int i = 0; i < e->ntmp; i++) Py_DECREF(e->tmp[i]);
    e->ntmp = 0;
}

/* a packed event's int field f (as its record holds it) -> 1, or 0 (not an int field) */
static inline int pev_int(const PEv *p, int f, int64_t *v, int *is_unsigned)
{
    *is_unsigned = 0;
    switch (f) {
    case F_TS: *v = p->ts; return 1;
    case F_CPU: *v = p->cpu; return 1;
    case 3: if (p->pid_o != NULL) return 0; *v = p->pid; return 1;
    default: break;
    }
    if (p->shape == SHAPE_PAGE_FREE) {
        if (f == F_PFN) *v = (int64_t)p->ptr;
        else if (f == F_ORDER) *v = p->req;
        else return 0;
        return 1;
    }
    if (f == F_PTR) {
        *v = (int64_t)p->ptr;
        *is_unsigned = 1;
        return 1;
    }
    if (p->shape == SHAPE_SLAB_ALLOC) {
        if (f == F_REQ) *v = p->req;
        else if (f == F_ALLOC) *v = p->alloc;
        else if (f == 10 && p->has_node) *v = p->node;
        else return 0;
        return 1;
    }
    return 0;
}

static int i64_of(PyObject *o, int64_t *out);
static int u64_of(PyObject *o, uint64_t *out);

/* field f as an int64 (an exact int that fits) -> 1, else 0 */
static inline int ev_i64(const Ev *e, int f, int64_t *v)
{
    if (e->rec != NULL) return f < PyTuple_GET_SIZE(e->rec) && i64_of(PyTuple_GET_ITEM(e->rec, f), v);
    int u;
    if (!pev_int(e->p, f, v, &u)) return 0;
    return !u || *v >= 0;
}

/* field f as a uint64 (an exact int in [0, 2^64)) -> 1, else 0 */
static inline int ev_u64(const Ev *e, int f, uint64_t *v)
{
    if (e->rec != NULL) return f < PyTuple_GET_SIZE(e->rec) && u64_of(PyTuple_GET_ITEM(e->rec, f), v);
    int64_t x;
    int u;
    if (!pev_int(e->p, f, &x, &u) || (!u && x < 0)) return 0;
    *v = (uint64_t)x;
    return 1;
}

/* field f (< ev_size()) as an object, borrowed (kept by e): NULL with an error set when it cannot be made */
static PyObject *ev_obj(Ev *e, int f)
{
    if (e->rec != NULL) return PyTuple_GET_ITEM(e->rec, f);
    PEv *p = e->p;
    switch (f) {
    case F_KIND: return p->kind;
    case 3: if (p->pid_o != NULL) return p->pid_o; break;
    case 4: return p->comm;
    default: break;
    }
    if (p->shape != SHAPE_PAGE_FREE) {
        if (f == F_SITE) return p->site;
        if (f == (p->shape == SHAPE_SLAB_ALLOC ? F_NAME : 7)) return p->name != NULL ? p->name : Py_None;
        if (p->shape == SHAPE_SLAB_ALLOC) {
            if (f == F_GFP) return p->gfp;
            if (f == 10 && !p->has_node) return Py_None;
            if (f == 12) return p->accounted < 0 ? Py_None : p->accounted ? Py_True : Py_False;
        }
    }
    int64_t v;
    int u;
    if (!pev_int(p, f, &v, &u) || e->ntmp == 4) {
        PyErr_SetString(PyExc_SystemError, "Core: a packed event's field out of range");
        return NULL;
    }
    PyObject *o = u ? PyLong_FromUnsignedLongLong((uint64_t)v) : PyLong_FromLongLong(v);
    if (o != NULL) e->tmp[e->ntmp++] = o;
    return o;
}

/* the i-th event of seq (a list of records, or an EventBuf) into *e: 1, or 0 when it is no record
 * the core reads (not a tuple, or too short to have a ptr) */
static inline int ev_at(PyObject *seq, Py_ssize_t i, Ev *e)
{
    e->ntmp = 0;
    e->p = NULL;
    if (PyList_CheckExact(seq)) {
        e->rec = PyList_GET_ITEM(seq, i);
    } else {
        PEv *p = &((EventBuf *)seq)->ev[i];
        e->rec = p->obj;
        if (e->rec == NULL) {
            e->p = p;
            return 1;
        }
    }
    return PyTuple_Check(e->rec) && PyTuple_GET_SIZE(e->rec) > F_PTR;
}

static inline Py_ssize_t seq_len(PyObject *seq)
{
    return PyList_CheckExact(seq) ? PyList_GET_SIZE(seq) : ((EventBuf *)seq)->n;
}

/* Replay._run()'s look-ahead for a page allocation's slab (_LOOKAHEAD in trace/replay.py) */
#define LOOKAHEAD 64
/* the largest order the core does (a block's order is the low 4 bits of its Replay.pages value) */
#define MAX_PAGE_ORDER 15

/* where a slot of a __slots__ class lives in its instances */
typedef struct {
    PyTypeObject *type;
    Py_ssize_t off;
} Slot;

typedef struct {
    PyObject_HEAD
    PyObject *replay;
    PyObject *run_at;
    PyObject *kinds[NKINDS];
    /* the Replay's state */
    PyObject *objs, *placed, *events, *preexisting, *trace_failed, *model_failed, *bugs, *implied_by;
    PyObject *kinfo, *kcaches, *gfps, *caches, *reserve, *pending, *doomed, *fillers, *last_ptr;
    /* the model's */
    PyObject *slab_of, *frames, *by_size;
    PyObject *k, *kfree, *cache_alloc, *cache_of; /* the machine; Replay._kfree, _cache_alloc; slab_impl.cache_of */
    PyObject *bug_types;                          /* (KernelBug, Oops) */
    PyObject *kmalloc_what;                       /* "kmalloc": _implied_free()'s name of the kmalloc caches */
    PyObject *kcls;                  /* type(k): its dispatch slots */
    PyObject *fast, *slot_name; /* kmalloc's fast path, and "kmalloc" */
    int usable;                 /* kmalloc's fast path is in its slot */
    /* constants */
    uint64_t page_offset;
    int hardened, word;
    long ncpu;
    int64_t max_cache;    /* the traced kernel's KMALLOC_MAX_CACHE_SIZE (Replay.max_cache) */
    int64_t fp_max_cache; /* the fast path's (fastpath.install_slab: max_cache) */
    uint64_t kind_flags, not_word_ok, zero_flag;
    PyTypeObject *cache_t, *cpu_t, *slab_t;
    Slot c_cpu_slab, c_offset, c_random, c_size, c_partial, c_debug;
    Slot c_name, c_order, c_nr_slabs, c_total; /* (slab_sample()) */
    Slot c_cpu_partial, c_cpu_partial_slabs;
    Slot cc_freelist, cc_slab, cc_partial;
    Slot s_cache, s_freelist, s_frozen, s_inuse, s_where, s_objects;
    PyObject *where_node_partial, *where_rcu_free, *where_full, *where_cpu, *where_cpu_partial;
    PyObject *slub; /* k.slub: its nmi_probe (reload()) */
    int nmi_ok;     /* slub.nmi_probe is None: the slow paths below may run in C */
    /* the page events' state: Replay.pages, _claimed, _page_failed; "lost", "alloc_slab_obj_exts" */
    PyObject *pages, *claimed, *page_failed, *lost_kind, *obj_exts_site;
    /* the page allocator's functions _run() binds (Replay._core_page_fns(), at each run()) */
    PyObject *pa_alloc, *pa_free, *free_pages;
    uint64_t lowmem; /* Replay.lowmem (clamped to 2^64 - 1) */
    /* the pcp fast paths' state (spec["pcp"]: fastpath.install_pages()'s k.pages.pcp_state), or NULL;
     * pcp_alloc / pcp_free: the bound pa_alloc / free_pages are its closures (bind_page_fns()) */
    PyObject *pcp, *pcp_fast0, *pcp_high_orders, *pcp_pindex, *pcp_refarr, *pcp_allocated, *pcp_zone_chunk,
        *pcp_pbmt;
    int pcp_alloc, pcp_free;
    int pcp_pb_order, pcp_shift;
    uint64_t pcp_lowmem, pcp_mask;
    PyTypeObject *zone_t, *pcpu_t;
    Slot z_free_pages, z_fast_high, z_free_list, z_pcp, z_pgalloc, z_pgfree, z_below_high;
    Slot p_lists, p_count, p_free_count, p_alloc_factor, p_free_high, p_batch, p_high;
    long long stat_pcp_c, stat_slow_c; /* (slow_c: refill_pop() and to_slab 2 commits) */
    int page_shift;
    int real_ptrs; /* Replay._real_ptrs is True */
    struct KCache *frames_cache, *slab_of_cache; /* (cached_get_u64()) */
    PyTypeObject *eventbuf_t; /* _kmemscan.EventBuf (spec["eventbuf"]), or NULL: lists only */
    /* the loop's state, between Python's turns */
    long long n, last_ts, first_ts, next_at, interval;
    long long d_events[NKINDS], d_placed[NKINDS], d_pre[NKINDS], d_failed[NKINDS], d_mfailed[NKINDS], d_null;
    long long d_implied, d_held;
    long long stat_c, stat_py, stat_calls;
} Core;

/* the error the core raises for what goes wrong in it (spec["error"]: replay.ReplayCoreError, a
 * KmemsimError); until a Core is made, RuntimeError */
static PyObject *CoreError;

/* interned attribute names of the Replay */
static PyObject *S_n, *S_last_ts, *S_first_ts, *S_interval, *S_next_ts, *S_next_n, *S_null_frees, *S_implied, *S_cpu;
static PyObject *S_held, *S_real_ptrs, *S_page_fns, *S_nmi_probe, *S_sample;

/* ------------------------------------------------------------------ helpers */

static int find_slot(PyObject *type, const char *name, Slot *out)
{
    PyObject *d = PyObject_GetAttrString(type, name);
    if (d == NULL) return -1;
    if (Py_TYPE(d) != &PyMemberDescr_Type) {
        Py_DECREF(d);
        PyErr_Format(CoreError, "Core: %s.%s is not a slot", ((PyTypeObject *)type)->tp_name, name);
        return -1;
    }
    PyMemberDef *m = ((PyMemberDescrObject *)d)->d_member;
    if (m->type != T_OBJECT_EX || (m->flags & READONLY)) {
        Py_DECREF(d);
        PyErr_Format(CoreError, "Core: %s.%s is not a writable object slot", ((PyTypeObject *)type)->tp_name,
                     name);
        return -1;
    }
    out->type = (PyTypeObject *)type;
    out->off = m->offset;
    Py_DECREF(d);
    return 0;
}

/* the slot's value (borrowed), NULL when obj is not exactly of the slot's class or the slot is empty */
static inline PyObject *get_slot(PyObject *obj, const Slot *s)
{
    if (Py_TYPE(obj) != s->type) return NULL;
    return *(PyObject **)((char *)obj + s->off);
}

/* set the slot (obj already checked by get_slot); steals v */
static inline void set_slot(PyObject *obj, const Slot *s, PyObject *v)
{
    PyObject **p = (PyObject **)((char *)obj + s->off);
    PyObject *old = *p;
    *p = v;
    Py_XDECREF(old);
}

/* an exact int in [0, 2^64) -> 1 and *out; 0 otherwise (no error left set).  On CPython 3.11
 * the digits are read directly (a kernel pointer is three 30-bit digits, and
 * PyLong_AsUnsignedLongLong() takes those through _PyLong_AsByteArray(): 1.7% of a replay) */
static int u64_of(PyObject *o, uint64_t *out)
{
    if (!PyLong_CheckExact(o)) return 0;
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000 && PYLONG_BITS_IN_DIGIT == 30
    {
        Py_ssize_t size = Py_SIZE(o);
        const digit *d = ((PyLongObject *)o)->ob_digit;
        if (size >= 0 && size <= 3) {
            uint64_t v = 0;
            switch (size) {
            case 3:
                if (d[2] >> 4) return 0; /* 2^64 or more */
                v = (uint64_t)d[2] << 60;
                /* fall through */
            case 2:
                v |= (uint64_t)d[1] << 30;
                /* fall through */
            case 1:
                v |= d[0];
            }
            *out = v;
            return 1;
        }
        if (size < 0) return 0;
    }
#endif
    unsigned long long v = PyLong_AsUnsignedLongLong(o);
    if (v == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    *out = v;
    return 1;
}

/* an exact int that fits in int64 -> 1 */
static int i64_of(PyObject *o, int64_t *out)
{
    if (!PyLong_CheckExact(o)) return 0;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    *out = v;
    return 1;
}

/* a dict look-up by an integer key: borrowed value, NULL if absent; -1 in *err on an error */
static inline PyObject *dict_get_u64(PyObject *d, uint64_t key, int *err)
{
    PyObject *k = PyLong_FromUnsignedLongLong(key);
    if (k == NULL) {
        *err = 1;
        return NULL;
    }
    PyObject *v = PyDict_GetItemWithError(d, k);
    Py_DECREF(k);
    if (v == NULL && PyErr_Occurred()) *err = 1;
    return v;
}

/* A small cache in front of the two dicts every event looks a pfn up in, k.phys.frames and
 * slub.slab_of: (pfn, the dict's version, the value).  A dict's version (ma_version_tag, CPython
 * 3.11) changes whenever that dict changes, so an entry of the same version is the dict's value
 * now, and alive (the dict holds it): the look-up makes no int key and probes no dict.  Frames
 * change at a zeroed page (fill()), slab_of at a new or discarded slab: most look-ups hit. */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
#define KCACHE_SIZE 1024
struct KCache {
    uint64_t key, ver;
    PyObject *val; /* borrowed, valid while the dict's version is ver */
};

static inline PyObject *cached_get_u64(PyObject *d, struct KCache *cache, uint64_t key, int *err)
{
    uint64_t ver = ((PyDictObject *)d)->ma_version_tag;
    struct KCache *e = &cache[(key ^ (key >> 10)) & (KCACHE_SIZE - 1)];
    if (e->val != NULL && e->key == key && e->ver == ver) return e->val;
    PyObject *v = dict_get_u64(d, key, err);
    if (v != NULL) {
        e->key = key;
        e->ver = ver;
        e->val = v;
    }
    return v;
}
#define GET_U64(d, cache, key, err) ((cache) != NULL ? cached_get_u64((d), (cache), (key), (err)) : dict_get_u64((d), (key), (err)))
#else
struct KCache {
    int unused;
};
#define KCACHE_SIZE 0
#define GET_U64(d, cache, key, err) dict_get_u64((d), (key), (err))
#endif

/* swab_ptr() of a free pointer's address: freelist_ptr_encode()'s (fastpath.install_slab: swab()) */
static inline uint64_t swab_ptr(uint64_t a, int word)
{
    return word == 8 ? __builtin_bswap64(a) : (uint64_t)__builtin_bswap32((uint32_t)a);
}

/* the word at offset fp of the frames (a bytearray per pfn): 1 read, 0 not readable here */
static inline int frame_of(Core *c, uint64_t fp, char **where, int *err)
{
    PyObject *frame = GET_U64(c->frames, c->frames_cache, fp >> 12, err);
    if (frame == NULL || !PyByteArray_CheckExact(frame)) return 0;
    Py_ssize_t at = (Py_ssize_t)(fp & 4095);
    if (at + c->word > PyByteArray_GET_SIZE(frame)) return 0;
    *where = PyByteArray_AS_STRING(frame) + at;
    return 1;
}

static inline uint64_t load_word(const char *p, int word)
{
    if (word == 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        return v; /* little-endian hosts only: setup.py builds the core there ("<Q" in fastpath.py) */
    }
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline void store_word(char *p, uint64_t v, int word)
{
    if (word == 8) {
        memcpy(p, &v, 8);
    } else {
        uint32_t w = (uint32_t)v;
        memcpy(p, &w, 4);
    }
}

/* an exact int slot of a __slots__ record -> 1 */
static inline int slot_i64(PyObject *obj, const Slot *s, int64_t *out)
{
    PyObject *v = get_slot(obj, s);
    return v != NULL && i64_of(v, out);
}

/* ------------------------------------------------------------------ the fast paths
 *
 * Each returns 1 when it would serve the call, with what it would write in *plan (so
 * the event's other conditions can still send it to Python before anything changes),
 * 0 when fastpath.py would hand the call to the general path, -1 on an error.
 */

typedef struct {
    PyObject *cpu;   /* KmemCacheCpu (alloc, free to the CPU slab) or Slab (free_to_slab) */
    char *at;        /* where the free pointer is written (free) */
    uint64_t val;    /* the new freelist (alloc) or the encoded pointer written (free) */
    uint64_t obj;    /* the object */
    int to_slab;     /* free: onto slab->freelist (free_to_slab); 2: a full slab, then put_cpu_partial() */
    int64_t inuse;   /* free_to_slab: slab->inuse before */
    PyObject *cc;    /* to_slab 2: the KmemCacheCpu whose partial list takes the slab */
    int refill;      /* alloc: ___slab_alloc() first: 1 the CPU slab's freelist, 2 a CPU partial slab */
    PyObject *slab;  /* refill: the slab whose freelist is taken */
    PyObject *old;   /* refill 2: the CPU slab given up (Py_None: none) */
} Plan;

/* where the free pointer of the object at obj_off (from PAGE_OFFSET) of `cache` lies (*at: fp =
 * obj_off + cache.offset, in a frame), and what freelist_ptr_encode()/decode() XOR it with (*mask:
 * s->random ^ swab(its address) when CONFIG_SLAB_FREELIST_HARDENED, else 0).  1; 0 when the general
 * path must decide (not in a frame); -1 an error.  Both directions use it: read_fp(), freeptr_slot(). */
static int freeptr_at(Core *c, PyObject *cache, __int128 obj_off, char **at, uint64_t *fp, uint64_t *mask)
{
    int64_t offset;
    PyObject *o = get_slot(cache, &c->c_offset);
    if (o == NULL || !i64_of(o, &offset)) return 0;
    __int128 f = obj_off + offset;
    if (f < 0 || f >= ((__int128)1 << 64)) return 0;
    *fp = (uint64_t)f;
    int err = 0;
    if (!frame_of(c, *fp, at, &err)) return err ? -1 : 0;
    *mask = 0;
    if (c->hardened) {
        uint64_t rnd;
        PyObject *r = get_slot(cache, &c->c_random);
        if (r == NULL || !u64_of(r, &rnd)) return 0;
        *mask = rnd ^ swab_ptr(*fp + c->page_offset, c->word);
    }
    return 1;
}

/* get_freepointer(cache, obj): the next free object after obj, read from its bytes (decoded when
 * hardened); 1, 0 when the general path must read it (the word is in no frame), -1 an error */
static int read_fp(Core *c, PyObject *cache, uint64_t obj, uint64_t *nxt)
{
    char *at;
    uint64_t fp, mask;
    int r = freeptr_at(c, cache, (__int128)obj - (__int128)c->page_offset, &at, &fp, &mask);
    if (r == 1) *nxt = load_word(at, c->word) ^ mask;
    return r;
}

/* a Slab's freelist and objects, when it is a Slab whose freelist is an int -> 1 */
static inline int slab_fl(Core *c, PyObject *sl, uint64_t *fl, int64_t *objects)
{
    PyObject *f = get_slot(sl, &c->s_freelist);
    return f != NULL && u64_of(f, fl) && slot_i64(sl, &c->s_objects, objects) && *objects >= 0;
}

/* slub.py _slab_alloc_slow() (___slab_alloc()) when the CPU freelist is empty, in its two common
 * cases, decided without changing anything: the CPU slab's own freelist (objects other CPUs
 * freed) becomes the CPU freelist (refill 1); or, that being empty, the CPU slab is given up as
 * full and the last CPU partial slab becomes the CPU slab (refill 2).  The first object is then
 * popped as the fast path pops it.  0 (Python's) for everything else: the node partial list, a
 * new slab, an NMI probe, a value the core does not read. */
static int refill_pop(Core *c, PyObject *cache, PyObject *cc, PyObject *sl, Plan *plan)
{
    if (!c->nmi_ok) return 0;
    uint64_t fl;
    int64_t objects;
    if (sl != Py_None) {
        if (!slab_fl(c, sl, &fl, &objects)) return 0;
        if (fl) {
            plan->refill = 1;
            plan->slab = sl;
            plan->old = Py_None;
            plan->obj = fl;
            plan->inuse = objects;
            return read_fp(c, cache, fl, &plan->val);
        }
    }
    PyObject *partial = get_slot(cc, &c->cc_partial);
    if (partial == NULL || !PyList_CheckExact(partial) || !PyList_GET_SIZE(partial)) return 0;
    PyObject *next = PyList_GET_ITEM(partial, PyList_GET_SIZE(partial) - 1);
    if (!slab_fl(c, next, &fl, &objects) || !fl) return 0;
    if (sl != Py_None && !slot_i64(sl, &c->s_objects, &plan->inuse)) return 0;
    plan->refill = 2;
    plan->slab = next;
    plan->old = sl;
    plan->obj = fl;
    return read_fp(c, cache, fl, &plan->val);
}

/* cache->cpu_slab[cpu]: the KmemCacheCpu (*cc), its freelist (*head) and slab (*sl, None or a Slab)
 * -> 1; 0 when they are not what the core reads */
static inline int cpu_freelist(Core *c, PyObject *cache, long cpu, PyObject **cc, uint64_t *head, PyObject **sl)
{
    PyObject *cpu_slab = get_slot(cache, &c->c_cpu_slab);
    if (cpu_slab == NULL || !PyList_CheckExact(cpu_slab) || cpu >= PyList_GET_SIZE(cpu_slab)) return 0;
    *cc = PyList_GET_ITEM(cpu_slab, cpu);
    PyObject *fl = get_slot(*cc, &c->cc_freelist);
    *sl = get_slot(*cc, &c->cc_slab);
    return fl != NULL && *sl != NULL && u64_of(fl, head);
}

/* fastpath.install_slab(): kmem_cache_alloc() / kmalloc() after their argument tests: pop
 * cache->cpu_slab[cpu].freelist (refilled first by refill_pop() when it is empty) */
static int fast_pop(Core *c, PyObject *cache, long cpu, uint64_t gfp, Plan *plan)
{
    plan->refill = 0;
    if (gfp & c->zero_flag) return 0; /* __GFP_ZERO: fill() (the replay strips it by default) */
    PyObject *cc, *sl;
    uint64_t obj;
    if (!cpu_freelist(c, cache, cpu, &cc, &obj, &sl)) return 0;
    plan->cpu = cc;
    if (obj == 0) return refill_pop(c, cache, cc, sl, plan);
    if (sl == Py_None) return 0;
    plan->obj = obj;
    return read_fp(c, cache, obj, &plan->val);
}

/* set_freepointer() of the object at `off` (from PAGE_OFFSET) of `cache`: where its free
 * pointer lies (*at) and *val encoded for it (freelist_ptr_encode() when hardened).  1: it can be
 * stored; 0: the general path must decide (the word is not in a frame, or put_word would fail);
 * -1: an error.  Both frees use it (fastpath.install_slab(): kfree() and free_to_slab()). */
static int freeptr_slot(Core *c, PyObject *cache, uint64_t off, uint64_t *val, char **at)
{
    uint64_t fp, mask;
    int r = freeptr_at(c, cache, (__int128)off, at, &fp, &mask);
    if (r != 1) return r;
    if ((fp & 4095) > (uint64_t)(4096 - c->word)) return 0; /* (put_word at a page's end) */
    *val ^= mask;
    if (c->word == 4 && *val >> 32) return 0; /* struct.error in put_word */
    return 1;
}

/* fastpath.install_slab(): free_to_slab(); and slub.py _slab_free_slow() (__slab_free()) of an
 * object of a full slab: another CPU's (frozen: no list change), or one that put_cpu_partial()
 * puts on the partial list of cc (the freeing CPU's) without a drain (to_slab 2) */
static int free_to_slab(Core *c, PyObject *cache, PyObject *cc, PyObject *slab, uint64_t obj, uint64_t off,
                        Plan *plan)
{
    PyObject *pr = get_slot(slab, &c->s_freelist);
    uint64_t prior;
    if (pr == NULL || !u64_of(pr, &prior) || prior == obj) return 0;
    PyObject *frozen = get_slot(slab, &c->s_frozen);
    PyObject *inuse_o = get_slot(slab, &c->s_inuse);
    PyObject *where = get_slot(slab, &c->s_where);
    int64_t inuse;
    if (frozen == NULL || inuse_o == NULL || where == NULL || !i64_of(inuse_o, &inuse)) return 0;
    int fz = PyObject_IsTrue(frozen);
    if (fz < 0) return -1;
    int to_slab = 1; /* (2: then put_cpu_partial()) */
    if (!prior) {    /* the slab was full */
        if (!c->nmi_ok || !PyUnicode_CheckExact(where) || where == c->where_rcu_free ||
            PyUnicode_Compare(where, c->where_rcu_free) == 0)
            return 0;
        if (!fz) {
            int64_t cpu_partial, cps;
            PyObject *partial = get_slot(cc, &c->cc_partial);
            if (!slot_i64(cache, &c->c_cpu_partial, &cpu_partial) || cpu_partial <= 0 ||
                !slot_i64(cache, &c->c_cpu_partial_slabs, &cps) || partial == NULL || !PyList_CheckExact(partial) ||
                (PyList_GET_SIZE(partial) && PyList_GET_SIZE(partial) >= cps))
                return 0; /* the node partial list, or a drain: Python's */
            to_slab = 2;
        }
    } else if (!fz && inuse <= 1) {
        if (!PyUnicode_CheckExact(where)) return 0;
        int ok = PyUnicode_Compare(where, c->where_node_partial) != 0 && PyUnicode_Compare(where, c->where_rcu_free) != 0;
        if (PyErr_Occurred()) return -1;
        if (!ok) return 0;
    }
    char *at;
    int r = freeptr_slot(c, cache, off, &prior, &at);
    if (r <= 0) return r;
    plan->cpu = slab;
    plan->at = at;
    plan->val = prior;
    plan->obj = obj;
    plan->to_slab = to_slab;
    plan->inuse = inuse;
    plan->cc = cc;
    return 1;
}

/* fastpath.install_slab(): kfree() (obj > 16) */
static int fast_kfree(Core *c, long cpu, uint64_t obj, Plan *plan)
{
    plan->to_slab = 0;
    if (obj < c->page_offset) return 0; /* slab_of has no negative pfn */
    uint64_t off = obj - c->page_offset;
    int err = 0;
    PyObject *slab = GET_U64(c->slab_of, c->slab_of_cache, off >> 12, &err);
    if (slab == NULL) return err ? -1 : 0;
    PyObject *cache = get_slot(slab, &c->s_cache);
    if (cache == NULL) return 0;
    PyObject *cc, *csl;
    uint64_t head;
    if (!cpu_freelist(c, cache, cpu, &cc, &head, &csl)) return 0;
    if (slab == csl) {
        if (c->hardened && head == obj) return 0;
        char *at;
        int r = freeptr_slot(c, cache, off, &head, &at);
        if (r <= 0) return r;
        plan->cpu = cc;
        plan->at = at;
        plan->val = head;
        plan->obj = obj;
        return 1;
    }
    PyObject *dbg = get_slot(cache, &c->c_debug);
    if (dbg == NULL) return 0;
    int d = PyObject_IsTrue(dbg);
    if (d < 0) return -1;
    if (d) return 0;
    return free_to_slab(c, cache, cc, slab, obj, off, plan);
}

/* carry out a free planned by fast_kfree() */
static int commit_free(Core *c, Plan *plan)
{
    PyObject *o = PyLong_FromUnsignedLongLong(plan->obj);
    if (o == NULL) return -1;
    store_word(plan->at, plan->val, c->word);
    if (plan->to_slab) {
        PyObject *ni = PyLong_FromLongLong(plan->inuse - 1);
        if (ni == NULL) {
            Py_DECREF(o);
            return -1;
        }
        set_slot(plan->cpu, &c->s_freelist, o);
        set_slot(plan->cpu, &c->s_inuse, ni);
        if (plan->to_slab == 2) { /* put_cpu_partial(): unfrozen, at the end of the CPU partial list */
            c->stat_slow_c++;
            set_slot(plan->cpu, &c->s_frozen, Py_NewRef(Py_False));
            set_slot(plan->cpu, &c->s_where, Py_NewRef(c->where_cpu_partial));
            if (PyList_Append(get_slot(plan->cc, &c->cc_partial), plan->cpu) < 0) return -1;
        }
    } else {
        set_slot(plan->cpu, &c->cc_freelist, o);
    }
    return 0;
}

/* carry out a pop planned by fast_pop(), after refill_pop()'s changes (as _slab_alloc_slow() makes
 * them: get_freelist() leaves a slab all in use) */
static int commit_pop(Core *c, Plan *plan)
{
    PyObject *v = PyLong_FromUnsignedLongLong(plan->val);
    if (v == NULL) return -1;
    if (plan->refill) {
        c->stat_slow_c++;
        PyObject *zero = PyLong_FromLong(0), *sl = plan->slab;
        int64_t objects;
        PyObject *n = slot_i64(sl, &c->s_objects, &objects) ? PyLong_FromLongLong(objects) : NULL;
        PyObject *old_n = plan->refill == 2 && plan->old != Py_None ? PyLong_FromLongLong(plan->inuse) : NULL;
        if (zero == NULL || n == NULL || (plan->refill == 2 && plan->old != Py_None && old_n == NULL)) {
            Py_XDECREF(zero);
            Py_XDECREF(n);
            Py_XDECREF(old_n);
            Py_DECREF(v);
            if (!PyErr_Occurred()) PyErr_SetString(CoreError, "Core: a slab changed under the refill");
            return -1;
        }
        if (plan->refill == 2) {
            PyObject *partial = get_slot(plan->cpu, &c->cc_partial);
            Py_ssize_t last = PyList_GET_SIZE(partial) - 1;
            Py_INCREF(sl);
            if (PyList_SetSlice(partial, last, last + 1, NULL) < 0) {
                Py_DECREF(sl);
                Py_DECREF(zero);
                Py_DECREF(n);
                Py_XDECREF(old_n);
                Py_DECREF(v);
                return -1;
            }
            if (plan->old != Py_None) { /* the CPU slab, its freelist empty: get_freelist(), then full */
                set_slot(plan->old, &c->s_inuse, old_n);
                set_slot(plan->old, &c->s_frozen, Py_NewRef(Py_False));
                set_slot(plan->old, &c->s_where, Py_NewRef(c->where_full));
            }
            set_slot(sl, &c->s_frozen, Py_NewRef(Py_True));
            set_slot(sl, &c->s_where, Py_NewRef(c->where_cpu));
            set_slot(plan->cpu, &c->cc_slab, sl); /* (the reference taken above) */
        }
        set_slot(sl, &c->s_freelist, zero);
        set_slot(sl, &c->s_inuse, n);
    }
    set_slot(plan->cpu, &c->cc_freelist, v);
    return 0;
}

/* ------------------------------------------------------------------ counts */

/* Counter[key] exists (0 inserted when missing: the first count of a kind is in trace order) */
static inline int counter_touch(PyObject *ctr, PyObject *key)
{
    int has = PyDict_Contains(ctr, key);
    if (has < 0) return -1;
    if (!has) {
        PyObject *zero = PyLong_FromLong(0);
        if (zero == NULL) return -1;
        int r = PyDict_SetItem(ctr, key, zero);
        Py_DECREF(zero);
        return r;
    }
    return 0;
}

static inline int count(long long *d, PyObject *ctr, PyObject *key)
{
    if ((*d)++ == 0) return counter_touch(ctr, key);
    return 0;
}

static int counter_add(PyObject *ctr, PyObject *key, long long d)
{
    PyObject *old = PyDict_GetItemWithError(ctr, key);
    if (old == NULL && PyErr_Occurred()) return -1;
    PyObject *dv = PyLong_FromLongLong(d);
    if (dv == NULL) return -1;
    PyObject *nv = old != NULL ? PyNumber_Add(old, dv) : Py_NewRef(dv);
    Py_DECREF(dv);
    if (nv == NULL) return -1;
    int r = PyDict_SetItem(ctr, key, nv);
    Py_DECREF(nv);
    return r;
}

static int set_ll(PyObject *o, PyObject *name, long long v)
{
    PyObject *x = PyLong_FromLongLong(v);
    if (x == NULL) return -1;
    int r = PyObject_SetAttr(o, name, x);
    Py_DECREF(x);
    return r;
}

static int get_ll(PyObject *o, PyObject *name, long long *v)
{
    PyObject *x = PyObject_GetAttr(o, name);
    if (x == NULL) return -1;
    int overflow = 0;
    *v = PyLong_AsLongLongAndOverflow(x, &overflow);
    Py_DECREF(x);
    if (overflow) {
        PyErr_SetString(CoreError, "Core: a replay count out of range");
        return -1;
    }
    return (*v == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* write the C side's counts and position into the Replay (before Python runs, and at the end) */
static int flush(Core *c)
{
    for (int k = 0; k < NKINDS; k++) {
        PyObject *key = c->kinds[k];
        if (c->d_placed[k] && counter_add(c->placed, key, c->d_placed[k]) < 0) return -1;
        if (c->d_pre[k] && counter_add(c->preexisting, key, c->d_pre[k]) < 0) return -1;
        if (c->d_failed[k] && counter_add(c->trace_failed, key, c->d_failed[k]) < 0) return -1;
        if (c->d_mfailed[k] && counter_add(c->model_failed, key, c->d_mfailed[k]) < 0) return -1;
        if (c->d_events[k] && counter_add(c->events, key, c->d_events[k]) < 0) return -1;
        c->d_placed[k] = c->d_pre[k] = c->d_failed[k] = c->d_mfailed[k] = c->d_events[k] = 0;
    }
    if (c->d_null) {
        long long v;
        if (get_ll(c->replay, S_null_frees, &v) < 0 || set_ll(c->replay, S_null_frees, v + c->d_null) < 0) return -1;
        c->d_null = 0;
    }
    if (c->d_implied) {
        long long v;
        if (get_ll(c->replay, S_implied, &v) < 0 || set_ll(c->replay, S_implied, v + c->d_implied) < 0) return -1;
        c->d_implied = 0;
    }
    if (c->d_held) {
        long long v;
        if (get_ll(c->replay, S_held, &v) < 0 || set_ll(c->replay, S_held, v + c->d_held) < 0) return -1;
        c->d_held = 0;
    }
    if (set_ll(c->replay, S_n, c->n) < 0 || set_ll(c->replay, S_last_ts, c->last_ts) < 0) return -1;
    return 0;
}

/* is kmalloc's fast path in its dispatch slot (kmemsim.dispatch)?  Replay._run() looks k.kmalloc up
 * for each run; it binds kfree and kmem_cache_alloc once, when the Replay is made (Replay._kfree,
 * _cache_alloc: Replay._core_spec() makes no core unless those are the fast paths) */
static int check_usable(Core *c)
{
    PyObject *f = PyObject_GetAttr(c->kcls, c->slot_name);
    if (f == NULL) return -1;
    c->usable = f == c->fast;
    Py_DECREF(f);
    return 0;
}

/* read back what Python may have changed: the position, the sample point, the dispatch slots */
static int reload(Core *c)
{
    if (get_ll(c->replay, S_n, &c->n) < 0 || get_ll(c->replay, S_last_ts, &c->last_ts) < 0 ||
        get_ll(c->replay, S_first_ts, &c->first_ts) < 0 || get_ll(c->replay, S_interval, &c->interval) < 0)
        return -1;
    if (get_ll(c->replay, c->interval ? S_next_ts : S_next_n, &c->next_at) < 0) return -1;
    PyObject *rp = PyObject_GetAttr(c->replay, S_real_ptrs);
    if (rp == NULL) return -1;
    c->real_ptrs = rp == Py_True;
    Py_DECREF(rp);
    PyObject *nmi = PyObject_GetAttr(c->slub, S_nmi_probe);
    if (nmi == NULL) return -1;
    c->nmi_ok = nmi == Py_None;
    Py_DECREF(nmi);
    return check_usable(c);
}

/* the page allocator's functions, as _run() binds them at its top: pa_alloc (the pcp fast path's
 * alloc_pfn while get_free_pages runs fast, else pa.alloc), pa.free, k.free_pages */
static int bind_page_fns(Core *c)
{
    PyObject *t = PyObject_CallMethodNoArgs(c->replay, S_page_fns);
    if (t == NULL) return -1;
    if (!PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) != 3) {
        Py_DECREF(t);
        PyErr_SetString(CoreError, "Core: Replay._core_page_fns() must give (pa_alloc, pa_free, free_pages)");
        return -1;
    }
    Py_XSETREF(c->pa_alloc, Py_NewRef(PyTuple_GET_ITEM(t, 0)));
    Py_XSETREF(c->pa_free, Py_NewRef(PyTuple_GET_ITEM(t, 1)));
    Py_XSETREF(c->free_pages, Py_NewRef(PyTuple_GET_ITEM(t, 2)));
    Py_DECREF(t);
    /* the pcp fast paths in C only where the functions bound are their closures: alloc_pfn itself,
     * and k.free_pages the free_pages closure of the dispatch slot bound to the machine */
    c->pcp_alloc = c->pcp_free = 0;
    if (c->pcp != NULL) {
        c->pcp_alloc = c->pa_alloc == PyTuple_GET_ITEM(c->pcp, 0);
        c->pcp_free = PyMethod_Check(c->free_pages) && PyMethod_GET_FUNCTION(c->free_pages) == PyTuple_GET_ITEM(c->pcp, 1) &&
                      PyMethod_GET_SELF(c->free_pages) == c->k;
    }
    return 0;
}

/* ------------------------------------------------------------------ the events
 *
 * Each returns 1 done, 0 for Python (nothing changed), -1 error.
 */

/* Replay._run()'s except clause: a KernelBug or Oops the model raised is counted by its kind
 * (self.bugs[getattr(e, "kind", None) or type(e).__name__] += 1) and the event ends there;
 * 1 when it was one (counted), -1 for any other error (left set) */
static int caught_bug(Core *c)
{
    if (!PyErr_ExceptionMatches(c->bug_types)) return -1;
    PyObject *et, *ev, *tb;
    PyErr_Fetch(&et, &ev, &tb);
    PyErr_NormalizeException(&et, &ev, &tb);
    PyObject *key = ev != NULL ? PyObject_GetAttrString(ev, "kind") : NULL;
    if (key == NULL) PyErr_Clear();
    int t = key != NULL ? PyObject_IsTrue(key) : 0;
    if (t <= 0) {
        PyErr_Clear();
        Py_XSETREF(key, PyObject_GetAttrString(ev != NULL ? (PyObject *)Py_TYPE(ev) : et, "__name__"));
    }
    int r = key != NULL && counter_add(c->bugs, key, 1) == 0 ? 1 : -1;
    Py_XDECREF(key);
    Py_XDECREF(et);
    Py_XDECREF(ev);
    Py_XDECREF(tb);
    return r;
}

/* a call of the model's Python (the slow paths, through the functions _run() calls: Replay._kfree,
 * Replay._cache_alloc, kmalloc's fast path) on the event's CPU, as _run() makes it with k.cpu set:
 * a new reference; NULL with *bug set when it raised a KernelBug (counted); NULL on an error */
static PyObject *call_model(Core *c, long mcpu, PyObject *fn, PyObject *const *args, size_t nargs, int *bug)
{
    *bug = 0;
    PyObject *cpu = PyLong_FromLong(mcpu);
    if (cpu == NULL) return NULL;
    int r = PyObject_SetAttr(c->k, S_cpu, cpu);
    Py_DECREF(cpu);
    if (r < 0) return NULL;
    c->stat_calls++;
    PyObject *res = PyObject_Vectorcall(fn, args, nargs, NULL);
    if (res == NULL && caught_bug(c) == 1) *bug = 1;
    return res;
}

/* the model's kfree(p), as _run() calls Replay._kfree: fastpath.kfree() in C when it serves the
 * object, else the Python function; 1 done, 2 a KernelBug ended the event, -1 error */
static int model_kfree(Core *c, long mcpu, PyObject *p, uint64_t mp)
{
    Plan plan = {0};
    int r = fast_kfree(c, mcpu, mp, &plan);
    if (r < 0) return -1;
    if (r == 1) return commit_free(c, &plan) < 0 ? -1 : 1;
    int bug;
    PyObject *res = call_model(c, mcpu, c->kfree, &p, 1, &bug);
    if (res == NULL) return bug ? 2 : -1;
    Py_DECREF(res);
    return 1;
}

/* _run(): kfree / kmem_cache_free; 1 done, 0 for Python, -1 error */
static int do_free(Core *c, Ev *ev, int kind, long mcpu)
{
    uint64_t tp;
    if (!ev_u64(ev, F_PTR, &tp)) return 0;
    if (!tp) {
        c->d_null++;
        return 1;
    }
    PyObject *ptr = ev_obj(ev, F_PTR);
    if (ptr == NULL) return -1;
    PyObject *p = PyDict_GetItemWithError(c->objs, ptr);
    if (p == NULL) {
        if (PyErr_Occurred()) return -1;
        /* SlabFree's field 7 is the cache's name */
        if (kind == K_CACHE_FREE && ev_size(ev) > 7 && ev_obj(ev, 7) != Py_None && PyDict_GET_SIZE(c->fillers))
            return 0; /* _free_preexisting() */
        return count(&c->d_pre[kind], c->preexisting, c->kinds[kind]) < 0 ? -1 : 1;
    }
    uint64_t mp;
    if (!u64_of(p, &mp) || mp == 0) return 0; /* 0: "the model had failed the allocation" */
    Py_INCREF(p);
    int r = PyDict_DelItem(c->objs, ptr); /* objs.pop(ptr) */
    if (r == 0 && mp > 16) r = model_kfree(c, mcpu, p, mp);
    else if (r == 0) r = 1; /* ZERO_SIZE_PTR: nothing to free */
    Py_DECREF(p);
    if (r < 0) return -1;
    if (r == 2) return 1; /* the KernelBug ended the event */
    return count(&c->d_placed[kind], c->placed, c->kinds[kind]) < 0 ? -1 : 1;
}

/* Replay._make_room()'s first test: does cache kc have a free object for CPU mcpu (a CPU freelist
 * or a CPU slab with free objects, a CPU or node partial slab)?  Then it returns at once. */
static int has_room(Core *c, PyObject *kc, long mcpu)
{
    PyObject *cpu_slab = get_slot(kc, &c->c_cpu_slab);
    PyObject *partial = get_slot(kc, &c->c_partial);
    if (cpu_slab == NULL || partial == NULL || !PyList_CheckExact(cpu_slab) || !PyList_CheckExact(partial) ||
        mcpu >= PyList_GET_SIZE(cpu_slab))
        return 0;
    PyObject *cc = PyList_GET_ITEM(cpu_slab, mcpu);
    PyObject *sl = get_slot(cc, &c->cc_slab), *fl = get_slot(cc, &c->cc_freelist);
    if (sl == NULL || fl == NULL) return 0;
    PyObject *cp = PyObject_GetAttrString(cc, "partial");
    if (cp == NULL) return -1;
    int r = PyObject_IsTrue(cp);
    Py_DECREF(cp);
    if (r) return r;
    if (PyList_GET_SIZE(partial)) return 1;
    if (sl == Py_None) return 0;
    r = PyObject_IsTrue(fl);
    if (r) return r;
    PyObject *sfl = get_slot(sl, &c->s_freelist);
    return sfl == NULL ? 0 : PyObject_IsTrue(sfl);
}

/* the early frees (ReplayOptions.early_untraced_frees) of _run(): 1 when this allocation (event
 * number n, of cache kc, on CPU mcpu; over a live pointer when has_old) needs Python -- its cache
 * has doomed objects pending and no room (_make_room() would free some; with an implied free
 * first, always), or it is itself doomed (doomed.pop(n) -> _doom()) -- 0 when they do nothing
 * here, -1 error */
static int early_frees(Core *c, PyObject *kc, long long n, long mcpu, int has_old)
{
    if (PyDict_GET_SIZE(c->pending)) {
        if (kc == NULL) return 1;
        PyObject *id = PyLong_FromVoidPtr(kc);
        if (id == NULL) return -1;
        PyObject *heap = PyDict_GetItemWithError(c->pending, id);
        Py_DECREF(id);
        if (heap == NULL && PyErr_Occurred()) return -1;
        if (heap != NULL) {
            /* an empty heap: _make_room() deletes it (and it never is: _doom() pushes as it makes one) */
            if (has_old || !PyList_CheckExact(heap) || !PyList_GET_SIZE(heap)) return 1;
            int room = has_room(c, kc, mcpu);
            if (room <= 0) return room < 0 ? -1 : 1;
        }
    }
    if (PyDict_GET_SIZE(c->doomed)) {
        PyObject *key = PyLong_FromLongLong(n);
        if (key == NULL) return -1;
        int in = PyDict_Contains(c->doomed, key);
        Py_DECREF(key);
        return in;
    }
    return 0;
}

/* the reserve test of _run(): cache kc in Replay._reserve with fewer than 2 node partial slabs */
static int needs_top_up(Core *c, PyObject *kc)
{
    if (!PyDict_GET_SIZE(c->reserve)) return 0;
    PyObject *id = PyLong_FromVoidPtr(kc);
    if (id == NULL) return -1;
    int in = PyDict_Contains(c->reserve, id);
    Py_DECREF(id);
    if (in <= 0) return in;
    PyObject *partial = get_slot(kc, &c->c_partial);
    if (partial == NULL || !PyList_CheckExact(partial)) return 1;
    return PyList_GET_SIZE(partial) < 2;
}

/* Replay._implied_free(ptr, old): an allocation over a live traced pointer; 1 done, 2 a KernelBug
 * ended the event, -1 error */
static int implied_free(Core *c, PyObject *old, long mcpu)
{
    uint64_t mp;
    c->d_implied++;
    PyObject *what = Py_NewRef(c->kmalloc_what);
    if (!u64_of(old, &mp)) mp = 0; /* not an int: fails "old > 16" only if <= 16; checked by Python */
    if (mp > 16) {
        int bug;
        PyObject *kc = call_model(c, mcpu, c->cache_of, &old, 1, &bug);
        if (kc == NULL) {
            Py_DECREF(what);
            return bug ? 2 : -1;
        }
        if (kc != Py_None) {
            PyObject *km = PyObject_GetAttrString(kc, "kmalloc");
            int t = km != NULL ? PyObject_IsTrue(km) : -1;
            Py_XDECREF(km);
            if (t == 0) Py_XSETREF(what, PyObject_GetAttrString(kc, "name"));
            if (t < 0 || what == NULL) {
                Py_DECREF(kc);
                Py_XDECREF(what);
                return -1;
            }
        }
        Py_DECREF(kc);
        int r = model_kfree(c, mcpu, old, mp);
        if (r != 1) {
            Py_DECREF(what);
            return r;
        }
    }
    int r = counter_add(c->implied_by, what, 1);
    Py_DECREF(what);
    return r < 0 ? -1 : 1;
}

/* the rest of an allocation once the model gave p (a new reference, stolen): objs, counts, last pointer */
static int finish_alloc(Core *c, PyObject *ptr, int kind, long mcpu, PyObject *p)
{
    int r = PyDict_SetItem(c->objs, ptr, p);
    int t = r < 0 ? -1 : PyObject_IsTrue(p);
    Py_DECREF(p);
    if (t < 0) return -1;
    if (t ? count(&c->d_placed[kind], c->placed, c->kinds[kind]) < 0
          : count(&c->d_mfailed[kind], c->model_failed, c->kinds[kind]) < 0)
        return -1;
    Py_INCREF(ptr);
    PyObject *prev = PyList_GET_ITEM(c->last_ptr, mcpu);
    PyList_SET_ITEM(c->last_ptr, mcpu, ptr);
    Py_DECREF(prev);
    return 1;
}

/* the model's allocation: the popped object when fast_pop() served it (cache non-NULL), else
 * the Python function fn(args); a new reference, or NULL with *bug set (counted) or an error */
static PyObject *model_alloc(Core *c, long mcpu, PyObject *cache, uint64_t mask, PyObject *fn, PyObject *const *args,
                             size_t nargs, int *bug)
{
    *bug = 0;
    if (cache != NULL) {
        Plan plan = {0};
        int r = fast_pop(c, cache, mcpu, mask, &plan);
        if (r < 0) return NULL;
        if (r == 1) {
            PyObject *p = PyLong_FromUnsignedLongLong(plan.obj);
            if (p == NULL || commit_pop(c, &plan) < 0) {
                Py_XDECREF(p);
                return NULL;
            }
            return p;
        }
    }
    return call_model(c, mcpu, fn, args, nargs, bug);
}

/* _run(): kmalloc / kmalloc_node; 1 done, 0 for Python, -1 error */
static int do_kmalloc(Core *c, Ev *ev, int kind, long mcpu)
{
    if (ev_size(ev) <= F_GFP) return 0;
    PyObject *info = PyDict_GetItemWithError(c->kinfo, ev_obj(ev, F_GFP));
    if (info == NULL) return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_CheckExact(info) || PyTuple_GET_SIZE(info) != 2) return 0;
    PyObject *mask_o = PyTuple_GET_ITEM(info, 0), *table = PyTuple_GET_ITEM(info, 1);
    int64_t req, alloc, model;
    if (!ev_i64(ev, F_REQ, &req) || req < 0 || req > c->max_cache) return 0;
    if (!PyList_CheckExact(table) || req >= PyList_GET_SIZE(table)) return 0;
    if (!i64_of(PyList_GET_ITEM(table, req), &model)) return 0;
    if (!ev_i64(ev, F_ALLOC, &alloc) || (model != alloc && req)) return 0; /* _mismatch() */
    uint64_t tp;
    if (!ev_u64(ev, F_PTR, &tp)) return 0;
    if (!tp) return count(&c->d_failed[kind], c->trace_failed, c->kinds[kind]) < 0 ? -1 : 1;
    PyObject *ptr = ev_obj(ev, F_PTR), *req_o = ev_obj(ev, F_REQ);
    if (ptr == NULL || req_o == NULL) return -1;
    uint64_t mask;
    if (!u64_of(mask_o, &mask)) return 0;
    /* (borrowed: nothing below runs Python before the implied free takes its reference) */
    PyObject *old = PyDict_GetItemWithError(c->objs, ptr);
    if (old == NULL && PyErr_Occurred()) return -1;
    int has_old = old != NULL;
    if (PyDict_GET_SIZE(c->reserve) || PyDict_GET_SIZE(c->pending)) {
        PyObject *kcs = PyDict_GetItemWithError(c->kcaches, mask_o);
        if (kcs == NULL) return PyErr_Occurred() ? -1 : 0; /* _kmalloc_cache_for() makes the table */
        if (!PyList_CheckExact(kcs) || req >= PyList_GET_SIZE(kcs)) return 0;
        PyObject *kc = PyList_GET_ITEM(kcs, req);
        int t = needs_top_up(c, kc);
        if (t) return t < 0 ? -1 : 0; /* _top_up() */
        t = early_frees(c, kc, c->n + 1, mcpu, has_old);
        if (t) return t < 0 ? -1 : 0;
    } else {
        int t = early_frees(c, NULL, c->n + 1, mcpu, has_old);
        if (t) return t < 0 ? -1 : 0;
    }
    Py_INCREF(info); /* its mask outlives the Python the implied free may run */
    if (old != NULL) { /* _implied_free() (a duplicate needs req > max_cache: Python's) */
        Py_INCREF(old);
        int r = implied_free(c, old, mcpu);
        Py_DECREF(old);
        if (r != 1) {
            Py_DECREF(info);
            return r < 0 ? -1 : 1;
        }
    }
    /* fastpath.install_slab(): kmalloc(size, gfp_mask), in C when it serves the call */
    PyObject *cache = NULL;
    if (req > 0 && req <= c->fp_max_cache && !(mask & c->kind_flags)) {
        cache = PyList_GET_ITEM(c->by_size, req);
        if (Py_TYPE(cache) != c->cache_t) cache = NULL;
    }
    int bug;
    PyObject *args[3] = {c->k, req_o, mask_o};
    PyObject *p = model_alloc(c, mcpu, cache, mask, c->fast, args, 3, &bug);
    Py_DECREF(info);
    if (p == NULL) return bug ? 1 : -1;
    return finish_alloc(c, ptr, kind, mcpu, p);
}

/* _run(): kmem_cache_alloc / kmem_cache_alloc_node; 1 done, 0 for Python, -1 error */
static int do_cache_alloc(Core *c, Ev *ev, int kind, long mcpu)
{
    if (ev_size(ev) <= F_NAME) return 0;
    PyObject *name = ev_obj(ev, F_NAME);
    if (name == Py_None) return 0; /* a (bytes_req, bytes_alloc) key */
    PyObject *cache = PyDict_GetItemWithError(c->caches, name);
    if (cache == NULL) return PyErr_Occurred() ? -1 : 0; /* cache_for() makes it */
    PyObject *g = PyDict_GetItemWithError(c->gfps, ev_obj(ev, F_GFP));
    if (g == NULL) return PyErr_Occurred() ? -1 : 0;
    uint64_t mask;
    if (!u64_of(g, &mask)) return 0; /* None: not this machine's (an int: the gfps dict holds it) */
    PyObject *size = get_slot(cache, &c->c_size);
    if (size == NULL) return 0;
    int eq;
    if (ev->rec != NULL) {
        eq = PyObject_RichCompareBool(size, PyTuple_GET_ITEM(ev->rec, F_ALLOC), Py_EQ);
    } else { /* (a packed bytes_alloc is an int: size == it, as ints compare) */
        int64_t sz, alloc;
        if (!i64_of(size, &sz) || !ev_i64(ev, F_ALLOC, &alloc)) return 0;
        eq = sz == alloc;
    }
    if (eq <= 0) return eq; /* _mismatch() */
    int t = needs_top_up(c, cache);
    if (t) return t < 0 ? -1 : 0;
    uint64_t tp;
    if (!ev_u64(ev, F_PTR, &tp)) return 0;
    if (!tp) return count(&c->d_failed[kind], c->trace_failed, c->kinds[kind]) < 0 ? -1 : 1;
    PyObject *ptr = ev_obj(ev, F_PTR);
    if (ptr == NULL) return -1;
    /* (borrowed: nothing below runs Python before the implied free takes its reference) */
    PyObject *old = PyDict_GetItemWithError(c->objs, ptr);
    if (old == NULL && PyErr_Occurred()) return -1;
    t = early_frees(c, cache, c->n + 1, mcpu, old != NULL);
    if (t) return t < 0 ? -1 : 0;
    Py_INCREF(cache); /* the implied free runs Python: hold what the allocation then uses */
    Py_INCREF(g);
    int r = 1;
    if (old != NULL) {
        Py_INCREF(old);
        r = implied_free(c, old, mcpu);
        Py_DECREF(old);
    }
    if (r != 1) {
        Py_DECREF(cache);
        Py_DECREF(g);
        return r < 0 ? -1 : 1;
    }
    /* fastpath.install_slab(): kmem_cache_alloc(cache, gfp_mask), in C when it serves the call */
    int fast = Py_TYPE(cache) == c->cache_t && !(mask & ~c->not_word_ok);
    int bug;
    PyObject *args[2] = {cache, g};
    PyObject *p = model_alloc(c, mcpu, fast ? cache : NULL, mask, c->cache_alloc, args, 2, &bug);
    Py_DECREF(cache);
    Py_DECREF(g);
    if (p == NULL) return bug ? 1 : -1;
    return finish_alloc(c, ptr, kind, mcpu, p);
}

static inline int kind_of(Core *c, PyObject *k)
{
    for (int i = 0; i < NKINDS; i++)
        if (k == c->kinds[i]) return i;
    if (!PyUnicode_CheckExact(k)) return -1;
    for (int i = 0; i < NKINDS; i++)
        if (PyUnicode_Compare(k, c->kinds[i]) == 0) return i;
    PyErr_Clear();
    return -1;
}

/* Replay._is_obj_exts(e) of a slab allocation of kind wk: 1, 0, or -1 when Python must tell (a
 * call site that is not a str) */
static int is_obj_exts(Core *c, Ev *e, int wk)
{
    if (wk != K_KMALLOC) return 0;
    if (ev_size(e) <= F_SITE) return -1;
    PyObject *site = ev_obj(e, F_SITE);
    if (!PyUnicode_CheckExact(site)) return -1;
    Py_ssize_t r = PyUnicode_Tailmatch(site, c->obj_exts_site, 0, PY_SSIZE_T_MAX, -1);
    if (r < 0) {
        PyErr_Clear();
        return -1;
    }
    return (int)r;
}

/* Replay._slab_page_of(ev, window, failed, base) for the page allocation cur[i] (event number
 * n + 1; the window is the 64 events after it, in cur then nxt, as _run() builds it) of the
 * traced block [lo, hi) on CPU cpu, as far as C can tell it without changing anything: 1 no slab
 * allocation is served by the page (the candidates' pointers lie outside it: real pointers only),
 * 0 Python must tell (a candidate served, hashed pointers or not known yet, an unexpected record) */
static int no_slab_page(Core *c, PyObject *cur, Py_ssize_t i, PyObject *nxt, int64_t cpu, int64_t lo, int64_t hi)
{
    Ev cands[2];
    int ncands = 0, pages = 0;
    Py_ssize_t ncur = seq_len(cur), nnxt = seq_len(nxt);
    long long base = c->n + 2; /* the event number of window[0] */
    for (Py_ssize_t j = 0; j < LOOKAHEAD; j++) {
        Py_ssize_t at = i + 1 + j;
        Ev ev, *e = &ev;
        if (at < ncur)
            ev_at(cur, at, e);
        else if (at - ncur < nnxt)
            ev_at(nxt, at - ncur, e);
        else
            break;
        if (e->rec != NULL && (!PyTuple_Check(e->rec) || PyTuple_GET_SIZE(e->rec) <= F_CPU)) return 0;
        PyObject *ko = ev_obj(e, F_KIND); /* (a packed event's needs no object: ev_done() not needed) */
        if (!PyUnicode_CheckExact(ko)) return 0;
        int wk = kind_of(c, ko);
        int64_t v;
        if (wk == K_PAGE_FREE) {
            if (ev_size(e) <= F_PFN || !ev_i64(e, F_PFN, &v)) return 0;
            if (lo <= v && v < hi) break; /* the page went back before an allocation took from it */
        }
        if (!ev_i64(e, F_CPU, &v)) return 0;
        if (v != cpu) continue;
        if (wk >= K_KMALLOC && wk <= K_CACHE_ALLOC_NODE) {
            int oe = is_obj_exts(c, e, wk);
            if (oe < 0) return 0;
            if (PyDict_GET_SIZE(c->claimed)) {
                PyObject *key = PyLong_FromLongLong(base + j);
                if (key == NULL) return -1;
                int in = PyDict_Contains(c->claimed, key);
                Py_DECREF(key);
                if (in < 0) return -1;
                if (in) {
                    if (oe) continue;
                    return 1; /* the allocation has its page: None */
                }
            }
            cands[ncands++] = ev;
            if (!oe || ncands == 2) break;
        } else if (wk == K_PAGE_ALLOC) {
            if (ev_size(e) <= F_PFN || !ev_i64(e, F_PFN, &v)) return 0;
            if (++pages > 2 || v == lo) break;
        } else if (wk < 0) {
            int lost = ko == c->lost_kind || PyUnicode_Compare(ko, c->lost_kind) == 0;
            if (lost) break;
        }
    }
    /* Replay._page_serves() of each candidate: with real pointers, is it inside the block? */
    for (int k = 0; k < ncands; k++) {
        Ev *e = &cands[k];
        uint64_t ptr;
        if (ev_size(e) <= F_PTR || !ev_u64(e, F_PTR, &ptr)) return 0;
        if (!ptr) continue;
        if (!c->real_ptrs) return 0; /* hashed (or not known yet): the flags tell, in Python */
        __int128 pfn = ((__int128)ptr - (__int128)c->page_offset) >> c->page_shift;
        if (lo <= pfn && pfn < hi) return 0; /* a slab's page: Replay._slab_page() */
    }
    return 1;
}

/* ------------------------------------------------------------------ the pcp fast paths
 *
 * fastpath.install_pages()'s alloc_pfn() and free_pages() (order 0), in their common cases, on the
 * closures' own state (k.pages.pcp_state).  Each decides first, changing nothing, and returns 0
 * for everything else: the caller then calls the Python closure, which does the whole call. */


/* set an int slot (obj checked by get_slot); -1 on an error */
static inline int slot_set_i64(PyObject *obj, const Slot *s, int64_t v)
{
    PyObject *o = PyLong_FromLongLong(v);
    if (o == NULL) return -1;
    set_slot(obj, s, o);
    return 0;
}

/* a non-empty dict (an OrderedDict of free_list) -> 1, empty -> 0, anything else -> -1 */
static inline int nonempty_dict(PyObject *d)
{
    if (!PyDict_Check(d)) return -1;
    return PyDict_GET_SIZE(d) > 0;
}

/* alloc_pfn(g, order): 1 done (*out: the pfn, a new reference), 0 for the closure, -1 error */
static int pcp_alloc_c(Core *c, PyObject *g, PyObject *order_o, int64_t order, long mcpu, PyObject **out)
{
    if (order < 0 || order > MAX_PAGE_ORDER) return 0;
    PyObject *f = PyDict_GetItemWithError(c->pcp_fast0, g);
    if (f == NULL) return PyErr_Occurred() ? -1 : 0;
    if (!PyTuple_CheckExact(f) || PyTuple_GET_SIZE(f) != 5) return 0;
    PyObject *z = PyTuple_GET_ITEM(f, 0), *zero = PyTuple_GET_ITEM(f, 3), *comp = PyTuple_GET_ITEM(f, 4);
    /* __GFP_ZERO and __GFP_COMP above order 0 call the model (fill, compound): the closure */
    if (zero != Py_False || (order && comp != Py_False)) return 0;
    if (order) {
        int has = PyDict_Contains(c->pcp_high_orders, order_o);
        if (has <= 0) return has;
    }
    int64_t hz, mt, free_pages, high;
    if (!i64_of(PyTuple_GET_ITEM(f, 1), &hz) || !i64_of(PyTuple_GET_ITEM(f, 2), &mt) || hz < 0 || mt < 0) return 0;
    if (!slot_i64(z, &c->z_free_pages, &free_pages)) return 0;
    PyObject *fh = get_slot(z, &c->z_fast_high);
    if (fh == NULL || !PyList_CheckExact(fh) || hz >= PyList_GET_SIZE(fh) || !i64_of(PyList_GET_ITEM(fh, hz), &high))
        return 0;
    if (!(free_pages - ((int64_t)1 << order) + 1 > high)) return 0;
    if (order) {
        PyObject *fls = get_slot(z, &c->z_free_list);
        if (fls == NULL || !PyList_CheckExact(fls)) return 0;
        int found = 0;
        for (Py_ssize_t o = order; o < PyList_GET_SIZE(fls) && !found; o++) {
            PyObject *fl = PyList_GET_ITEM(fls, o);
            if (!PyList_CheckExact(fl) || PyList_GET_SIZE(fl) < 3) return 0;
            for (int m = 0; m < 3; m++) {
                int r = nonempty_dict(PyList_GET_ITEM(fl, m));
                if (r < 0) return 0;
                if (r) {
                    found = 1;
                    break;
                }
            }
        }
        if (!found) return 0;
    }
    PyObject *pcps = get_slot(z, &c->z_pcp);
    if (pcps == NULL || !PyList_CheckExact(pcps) || mcpu >= PyList_GET_SIZE(pcps)) return 0;
    PyObject *pcp = PyList_GET_ITEM(pcps, mcpu);
    PyObject *pi = PyDict_GetItemWithError(c->pcp_pindex, order_o);
    if (pi == NULL) return PyErr_Occurred() ? -1 : 0;
    int64_t idx;
    if (!PyTuple_CheckExact(pi) || mt >= PyTuple_GET_SIZE(pi) || !i64_of(PyTuple_GET_ITEM(pi, mt), &idx) || idx < 0)
        return 0;
    PyObject *lists = get_slot(pcp, &c->p_lists);
    if (lists == NULL || !PyList_CheckExact(lists) || idx >= PyList_GET_SIZE(lists)) return 0;
    PyObject *lst = PyList_GET_ITEM(lists, idx);
    if (!PyList_CheckExact(lst) || PyList_GET_SIZE(lst) == 0) return 0;
    Py_ssize_t n = PyList_GET_SIZE(lst);
    PyObject *pfn_o = PyList_GET_ITEM(lst, n - 1);
    int64_t pfn, count, free_count, pgalloc;
    if (!i64_of(pfn_o, &pfn) || pfn < 0) return 0;
    if (!slot_i64(pcp, &c->p_count, &count) || !slot_i64(pcp, &c->p_free_count, &free_count) ||
        !slot_i64(z, &c->z_pgalloc, &pgalloc))
        return 0;
    int err = 0;
    PyObject *ra = dict_get_u64(c->pcp_refarr, (uint64_t)pfn >> c->pcp_shift, &err);
    if (ra == NULL) return err ? -1 : 0;
    /* the closure's updates, in its order */
    Py_INCREF(pfn_o);
    Py_INCREF(ra);
    int r = PyList_SetSlice(lst, n - 1, n, NULL); /* lst.pop() */
    PyObject *one = NULL;
    if (r == 0) {
        one = PyLong_FromLong(1);
        r = one != NULL ? PySequence_SetItem(ra, (Py_ssize_t)((uint64_t)pfn & c->pcp_mask), one) : -1;
        Py_XDECREF(one);
    }
    Py_DECREF(ra);
    if (r == 0) r = slot_set_i64(pcp, &c->p_count, count - ((int64_t)1 << order));
    if (r == 0 && free_count) r = slot_set_i64(pcp, &c->p_free_count, free_count >> 1);
    if (r == 0) r = slot_set_i64(z, &c->z_pgalloc, pgalloc + ((int64_t)1 << order));
    if (r == 0) r = PyDict_SetItem(c->pcp_allocated, pfn_o, order_o);
    if (r < 0) {
        Py_DECREF(pfn_o);
        return -1;
    }
    c->stat_pcp_c++;
    *out = pfn_o;
    return 1;
}

/* free_pages(k, page_offset + (mp << 12), 0): 1 done, 0 for the closure, -1 error */
static int pcp_free_c(Core *c, int64_t mp, long mcpu)
{
    uint64_t off = (uint64_t)mp << 12;
    if (mp <= 0 || mp >= ((int64_t)1 << 50) || !(off < c->pcp_lowmem)) return 0;
    int err = 0;
    PyObject *ra = dict_get_u64(c->pcp_refarr, (uint64_t)mp >> c->pcp_shift, &err);
    if (ra == NULL) return err ? -1 : 0;
    PyObject *z = dict_get_u64(c->pcp_zone_chunk, (uint64_t)mp >> 12, &err);
    if (z == NULL) return err ? -1 : 0;
    Py_ssize_t ri = (Py_ssize_t)((uint64_t)mp & c->pcp_mask);
    PyObject *rv = PySequence_GetItem(ra, ri);
    if (rv == NULL) {
        PyErr_Clear();
        return 0;
    }
    int64_t refc;
    int ok = i64_of(rv, &refc);
    Py_DECREF(rv);
    if (!ok || refc != 1) return 0;
    if (!PyByteArray_CheckExact(c->pcp_pbmt)) return 0;
    uint64_t bi = (uint64_t)mp >> c->pcp_pb_order;
    if (bi >= (uint64_t)PyByteArray_GET_SIZE(c->pcp_pbmt)) return 0;
    int mt = (unsigned char)PyByteArray_AS_STRING(c->pcp_pbmt)[bi];
    PyObject *pcps = get_slot(z, &c->z_pcp);
    if (pcps == NULL || !PyList_CheckExact(pcps) || mcpu >= PyList_GET_SIZE(pcps)) return 0;
    PyObject *pcp = PyList_GET_ITEM(pcps, mcpu);
    if (mt >= 3 || get_slot(z, &c->z_below_high) != Py_False) return 0;
    int64_t count, high, alloc_factor, free_count, batch, pgfree;
    if (!slot_i64(pcp, &c->p_count, &count) || !slot_i64(pcp, &c->p_high, &high) || !(count + 1 < high)) return 0;
    PyObject *a = dict_get_u64(c->pcp_allocated, (uint64_t)mp, &err);
    if (a == NULL) return err ? -1 : 0;
    int64_t ao;
    if (!i64_of(a, &ao) || ao != 0) return 0;
    PyObject *fhi = get_slot(pcp, &c->p_free_high);
    if (!slot_i64(pcp, &c->p_alloc_factor, &alloc_factor) || !slot_i64(pcp, &c->p_free_count, &free_count) ||
        !slot_i64(pcp, &c->p_batch, &batch) || batch < 0 || batch >= ((int64_t)1 << 40) ||
        !slot_i64(z, &c->z_pgfree, &pgfree) || (fhi != Py_False && fhi != Py_True))
        return 0;
    PyObject *lists = get_slot(pcp, &c->p_lists);
    if (lists == NULL || !PyList_CheckExact(lists) || mt >= PyList_GET_SIZE(lists) ||
        !PyList_CheckExact(PyList_GET_ITEM(lists, mt)))
        return 0;
    /* the closure's updates, in its order */
    PyObject *pfn_o = PyLong_FromLongLong(mp);
    if (pfn_o == NULL) return -1;
    Py_INCREF(ra);
    int r = PyDict_DelItem(c->pcp_allocated, pfn_o);
    if (r == 0) {
        PyObject *zero = PyLong_FromLong(0);
        r = zero != NULL ? PySequence_SetItem(ra, ri, zero) : -1;
        Py_XDECREF(zero);
    }
    Py_DECREF(ra);
    if (r == 0 && alloc_factor) r = slot_set_i64(pcp, &c->p_alloc_factor, alloc_factor >> 1);
    if (r == 0 && fhi == Py_True) set_slot(pcp, &c->p_free_high, Py_NewRef(Py_False));
    if (r == 0 && free_count < batch << 5) r = slot_set_i64(pcp, &c->p_free_count, free_count + 1);
    if (r == 0) r = PyList_Append(PyList_GET_ITEM(lists, mt), pfn_o);
    if (r == 0) r = slot_set_i64(pcp, &c->p_count, count + 1);
    if (r == 0) r = slot_set_i64(z, &c->z_pgfree, pgfree + 1);
    Py_DECREF(pfn_o);
    if (r < 0) return -1;
    c->stat_pcp_c++;
    return 1;
}

/* _run(): mm_page_alloc (cur[i]); 1 done, 0 for Python, -1 error */
static int do_page_alloc(Core *c, PyObject *cur, Py_ssize_t i, PyObject *nxt, Ev *e, int64_t cpu, long mcpu)
{
    PyObject *ev = e->rec; /* (the scanner packs no page allocation: they wait for their callchain) */
    if (ev == NULL || PyTuple_GET_SIZE(ev) <= F_PGFP || !PyList_CheckExact(c->page_failed) ||
        mcpu >= PyList_GET_SIZE(c->page_failed))
        return 0;
    PyObject *pfn_o = PyTuple_GET_ITEM(ev, F_PFN), *order_o = PyTuple_GET_ITEM(ev, F_ORDER);
    int64_t pfn, order;
    if (!i64_of(pfn_o, &pfn)) return 0;
    if (pfn < 0) { /* a failed allocation */
        if (count(&c->d_failed[K_PAGE_ALLOC], c->trace_failed, c->kinds[K_PAGE_ALLOC]) < 0) return -1;
        PyObject *prev = PyList_GET_ITEM(c->page_failed, mcpu);
        PyList_SET_ITEM(c->page_failed, mcpu, Py_NewRef(Py_True));
        Py_DECREF(prev);
        return 1;
    }
    if (!i64_of(order_o, &order) || order < 0 || order > MAX_PAGE_ORDER) return 0;
    int r = no_slab_page(c, cur, i, nxt, cpu, pfn, pfn + ((int64_t)1 << order));
    if (r <= 0) return r;
    PyObject *g = PyDict_GetItemWithError(c->gfps, PyTuple_GET_ITEM(ev, F_PGFP));
    if (g == NULL) return PyErr_Occurred() ? -1 : 0; /* Replay.gfp() reads it */
    if (!PyLong_CheckExact(g)) return 0;             /* None: not this machine's */
    int has = PyDict_Contains(c->pages, pfn_o);
    if (has) return has < 0 ? -1 : 0; /* a block there: its free was not traced (implied) */
    /* all the tests passed: the event is the core's */
    PyObject *prev = PyList_GET_ITEM(c->page_failed, mcpu);
    PyList_SET_ITEM(c->page_failed, mcpu, Py_NewRef(Py_False));
    Py_DECREF(prev);
    Py_INCREF(g);
    int bug = 0;
    PyObject *mp = NULL;
    r = c->pcp_alloc ? pcp_alloc_c(c, g, order_o, order, mcpu, &mp) : 0;
    if (r == 0) {
        PyObject *args[2] = {g, order_o};
        PyObject *fn = Py_NewRef(c->pa_alloc);
        mp = call_model(c, mcpu, fn, args, 2, &bug);
        Py_DECREF(fn);
    }
    Py_DECREF(g);
    if (mp == NULL) return bug ? 1 : -1;
    int64_t m;
    if (!i64_of(mp, &m) || m >= ((int64_t)1 << 58)) {
        Py_DECREF(mp);
        PyErr_SetString(CoreError, "Core: the page allocator gave a pfn out of range");
        return -1;
    }
    Py_DECREF(mp);
    if (m < 0) return count(&c->d_mfailed[K_PAGE_ALLOC], c->model_failed, c->kinds[K_PAGE_ALLOC]) < 0 ? -1 : 1;
    PyObject *val = PyLong_FromLongLong(m << 4 | order);
    if (val == NULL) return -1;
    r = PyDict_SetItem(c->pages, pfn_o, val);
    Py_DECREF(val);
    if (r < 0) return -1;
    c->d_held += (long long)1 << order;
    return count(&c->d_placed[K_PAGE_ALLOC], c->placed, c->kinds[K_PAGE_ALLOC]) < 0 ? -1 : 1;
}

/* _run(): mm_page_free of a block the replay holds at that order (else Replay._page_free_slow(),
 * Python's); 1 done, 0 for Python, -1 error */
static int do_page_free(Core *c, Ev *ev, long mcpu)
{
    int64_t order, v;
    if (!ev_i64(ev, F_ORDER, &order) || order < 0 || order > MAX_PAGE_ORDER) return 0;
    PyObject *pfn_o = ev_obj(ev, F_PFN), *order_o = ev_obj(ev, F_ORDER);
    if (pfn_o == NULL || order_o == NULL) return -1;
    PyObject *vo = PyDict_GetItemWithError(c->pages, pfn_o);
    if (vo == NULL) return PyErr_Occurred() ? -1 : 0;
    if (!i64_of(vo, &v) || v < 0 || (v & 15) != order) return 0;
    int64_t mp = v >> 4;
    __int128 off = (__int128)mp << c->page_shift;
    int low = order == 0 && off < (__int128)c->lowmem;
    if (low && off + c->page_offset >= ((__int128)1 << 64)) return 0;
    PyObject *args[2];
    args[0] = low ? PyLong_FromUnsignedLongLong((uint64_t)(off + c->page_offset)) : PyLong_FromLongLong(mp);
    if (args[0] == NULL) return -1;
    args[1] = low ? PyLong_FromLong(0) : Py_NewRef(order_o);
    if (args[1] == NULL) {
        Py_DECREF(args[0]);
        return -1;
    }
    Py_INCREF(pfn_o);
    int r = PyDict_DelItem(c->pages, pfn_o); /* pages.pop(pfn) */
    Py_DECREF(pfn_o);
    if (r == 0) {
        int bug = 0;
        PyObject *res = NULL;
        int done = low && c->pcp_free ? pcp_free_c(c, mp, mcpu) : 0;
        if (done == 1)
            res = Py_NewRef(Py_None);
        else if (done == 0) {
            PyObject *fn = Py_NewRef(low ? c->free_pages : c->pa_free);
            res = call_model(c, mcpu, fn, args, 2, &bug);
            Py_DECREF(fn);
        }
        if (res == NULL)
            r = bug ? 1 : -1;
        else {
            Py_DECREF(res);
            c->d_held -= (long long)1 << order;
            r = count(&c->d_placed[K_PAGE_FREE], c->placed, c->kinds[K_PAGE_FREE]) < 0 ? -1 : 1;
        }
    } else {
        r = -1;
    }
    Py_DECREF(args[0]);
    Py_DECREF(args[1]);
    return r;
}

/* an event the core never does, whatever the state: not a slab event (page events, lost markers,
 * the others), or not a record it reads */
static int never_c(Core *c, PyObject *seq, Py_ssize_t i)
{
    Ev e;
    if (!ev_at(seq, i, &e)) return 1;
    return e.rec != NULL && kind_of(c, PyTuple_GET_ITEM(e.rec, F_KIND)) < 0;
}

/* hand cur[i] to Python, with the events after it that the core never does: Replay._run_at(cur,
 * i, j, nxt) runs cur[i:j] with Replay._run(); returns j, or -1 */
static Py_ssize_t to_python(Core *c, PyObject *cur, Py_ssize_t i, PyObject *nxt)
{
    Py_ssize_t j = i + 1;
    while (j < seq_len(cur) && never_c(c, cur, j)) j++;
    c->stat_py += j - i;
    if (flush(c) < 0) return -1;
    PyObject *pi = PyLong_FromSsize_t(i), *pj = PyLong_FromSsize_t(j);
    PyObject *r = pi && pj ? PyObject_CallFunctionObjArgs(c->run_at, cur, pi, pj, nxt, NULL) : NULL;
    Py_XDECREF(pi);
    Py_XDECREF(pj);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return reload(c) < 0 ? -1 : j;
}

/* _run()'s sample point after an event: the counts written back, Replay._sample(), the next point
 * read back */
static int sample(Core *c)
{
    if (flush(c) < 0) return -1;
    PyObject *r = PyObject_CallMethodNoArgs(c->replay, S_sample);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return reload(c);
}

/* Replay._run(cur, nxt), event by event */
/* run(cur, nxt)'s arguments: lists, or EventBufs (then marked busy: nothing may move their entries) */
static int seq_ok(Core *c, PyObject *seq)
{
    if (PyList_CheckExact(seq)) return 1;
    if (c->eventbuf_t != NULL && Py_TYPE(seq) == c->eventbuf_t) return 1;
    PyErr_SetString(PyExc_TypeError, "Core.run: cur and nxt must be lists (or EventBufs)");
    return 0;
}

static void seq_busy(PyObject *seq, int d)
{
    if (!PyList_CheckExact(seq)) ((EventBuf *)seq)->busy += d;
}

static PyObject *Core_run(Core *c, PyObject *args)
{
    PyObject *cur, *nxt;
    if (!PyArg_ParseTuple(args, "OO", &cur, &nxt) || !seq_ok(c, cur) || !seq_ok(c, nxt)) return NULL;
    if (reload(c) < 0 || bind_page_fns(c) < 0) return NULL;
    Py_INCREF(cur);
    Py_INCREF(nxt);
    seq_busy(cur, 1);
    seq_busy(nxt, 1);
    PyObject *ret = NULL;
    for (Py_ssize_t i = 0; i < seq_len(cur);) {
        Ev e, *ev = &e;
        int done = 0;
        int64_t ts, cpu;
        int kind;
        PyObject *rec = ev_at(cur, i, ev) ? ev->rec : NULL;
        Py_XINCREF(rec);
        if ((ev->p != NULL || rec != NULL) && (kind = kind_of(c, ev_obj(ev, F_KIND))) >= 0 &&
            ev_i64(ev, F_TS, &ts) && ev_i64(ev, F_CPU, &cpu) && !(ts >= 0 && c->first_ts < 0)) {
            long mcpu = cpu >= 0 ? (long)(cpu % c->ncpu) : 0;
            if (kind <= K_CACHE_FREE)
                done = do_free(c, ev, kind, mcpu);
            else if (kind <= K_KMALLOC_NODE)
                done = c->usable ? do_kmalloc(c, ev, kind, mcpu) : 0;
            else if (kind <= K_CACHE_ALLOC_NODE)
                done = do_cache_alloc(c, ev, kind, mcpu);
            else if (kind == K_PAGE_ALLOC)
                done = do_page_alloc(c, cur, i, nxt, ev, cpu, mcpu);
            else
                done = do_page_free(c, ev, mcpu);
            if (done > 0) {
                c->stat_c++;
                c->n++;
                if (ts >= 0) c->last_ts = ts;
                if (count(&c->d_events[kind], c->events, c->kinds[kind]) < 0) done = -1;
                else if (c->next_at >= 0 && (c->interval ? ts : c->n) >= c->next_at && sample(c) < 0)
                    done = -1;
            }
        }
        ev_done(ev);
        Py_XDECREF(rec);
        if (done < 0) goto out;
        if (done) {
            i++;
        } else if ((i = to_python(c, cur, i, nxt)) < 0) {
            goto out;
        }
    }
    if (flush(c) < 0) goto out;
    ret = Py_NewRef(Py_None);
out:
    if (ret == NULL) {
        /* keep the Replay's counts whole: what C did is counted even when Python raised */
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        if (flush(c) < 0) PyErr_Clear();
        PyErr_Restore(et, ev, tb);
    }
    seq_busy(cur, -1);
    seq_busy(nxt, -1);
    Py_DECREF(cur);
    Py_DECREF(nxt);
    return ret;
}

static PyObject *Core_usable(Core *c, PyObject *Py_UNUSED(ignored))
{
    if (check_usable(c) < 0) return NULL;
    return PyBool_FromLong(c->usable);
}

static PyObject *Core_stats(Core *c, PyObject *Py_UNUSED(ignored))
{
    return Py_BuildValue("{s:L,s:L,s:L,s:L,s:L}", "c", c->stat_c, "py", c->stat_py, "model_calls", c->stat_calls,
                         "pcp_c", c->stat_pcp_c, "slow_c", c->stat_slow_c);
}

/* the free objects of the slabs of list l (sl.objects - sl.inuse each) added to *free; 0 when l or a
 * slab is not what the core reads */
static int partial_free(Core *c, PyObject *l, int64_t *free)
{
    if (l == NULL || !PyList_CheckExact(l)) return 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(l); i++) {
        PyObject *sl = PyList_GET_ITEM(l, i);
        int64_t objects, inuse;
        if (!slot_i64(sl, &c->s_objects, &objects) || !slot_i64(sl, &c->s_inuse, &inuse) || objects > 1 << 20 ||
            inuse > objects)
            return 0;
        *free += objects - inuse;
    }
    return 1;
}

/* Replay.sample()'s slab figures (trace/replay.py), as slab_usage() gives them for SLUB: over the
 * caches with slabs, (pages, objects, objects in use, bytes in use, {name: pages}), the free
 * objects being those of the node and CPU partial slabs.  None when a cache is not what the core
 * reads (a subclass, a value out of range): the caller then sums slab_usage() in Python.  A
 * replay samples every thousand events, and this was most of a sample's time in Python. */
static PyObject *Core_slab_sample(Core *c, PyObject *caches)
{
    if (!PyList_CheckExact(caches)) Py_RETURN_NONE;
    PyObject *per = PyDict_New();
    if (per == NULL) return NULL;
    Py_INCREF(caches);
    long long pages = 0, objs = 0, active = 0, used = 0;
    int ok = 1;
    for (Py_ssize_t i = 0; ok == 1 && i < PyList_GET_SIZE(caches); i++) {
        PyObject *kc = PyList_GET_ITEM(caches, i);
        int64_t nr, order, total, size, free = 0;
        ok = 0;
        if (!slot_i64(kc, &c->c_nr_slabs, &nr) || nr < 0 || nr > (int64_t)1 << 32) break;
        ok = 1;
        if (!nr) continue;
        ok = 0;
        PyObject *name = get_slot(kc, &c->c_name), *cpu_slab = get_slot(kc, &c->c_cpu_slab);
        if (name == NULL || !PyUnicode_CheckExact(name) || !slot_i64(kc, &c->c_order, &order) || order > 16 ||
            !slot_i64(kc, &c->c_total, &total) || total > (int64_t)1 << 40 || !slot_i64(kc, &c->c_size, &size) ||
            size > (int64_t)1 << 22 || !partial_free(c, get_slot(kc, &c->c_partial), &free) || cpu_slab == NULL ||
            !PyList_CheckExact(cpu_slab))
            break;
        Py_ssize_t n = PyList_GET_SIZE(cpu_slab), j;
        for (j = 0; j < n && partial_free(c, get_slot(PyList_GET_ITEM(cpu_slab, j), &c->cc_partial), &free); j++) {}
        if (j < n) break;
        long long act = total - free, pg = (long long)nr << order;
        PyObject *v = PyLong_FromLongLong(pg);
        ok = v == NULL || PyDict_SetItem(per, name, v) < 0 ? -1 : 1;
        Py_XDECREF(v);
        pages += pg;
        objs += total;
        active += act;
        used += act * size;
    }
    Py_DECREF(caches);
    if (ok != 1) {
        Py_DECREF(per);
        if (ok < 0) return NULL;
        Py_RETURN_NONE;
    }
    return Py_BuildValue("LLLLN", pages, objs, active, used, per);
}

/* ------------------------------------------------------------------ the type */

static PyObject *spec_get(PyObject *spec, const char *key)
{
    PyObject *v = PyDict_GetItemString(spec, key);
    if (v == NULL) {
        if (!PyErr_Occurred()) PyErr_Format(CoreError, "Core: the spec has no %s", key);
        return NULL;
    }
    return v;
}

static int spec_obj(PyObject *spec, const char *key, PyObject **out, PyTypeObject *type)
{
    PyObject *v = spec_get(spec, key);
    if (v == NULL) return -1;
    if (type != NULL && !PyObject_TypeCheck(v, type)) {
        PyErr_Format(CoreError, "Core: spec[%s] must be a %s", key, type->tp_name);
        return -1;
    }
    Py_XSETREF(*out, Py_NewRef(v));
    return 0;
}

static int spec_u64(PyObject *spec, const char *key, uint64_t *out)
{
    PyObject *v = spec_get(spec, key);
    if (v == NULL) return -1;
    *out = PyLong_AsUnsignedLongLongMask(v);
    return PyErr_Occurred() ? -1 : 0;
}

static int spec_i64(PyObject *spec, const char *key, int64_t *out)
{
    PyObject *v = spec_get(spec, key);
    if (v == NULL) return -1;
    *out = PyLong_AsLongLong(v);
    return PyErr_Occurred() ? -1 : 0;
}

/* spec["pcp"]: None, or (alloc_pfn, free_pages, fast0, high_orders, pindex, refarr, allocated,
 * zone_chunk, pageblock_mt, pageblock_order, lowmem_bytes, section shift, Zone, PerCpuPages) */
static int init_pcp(Core *c, PyObject *spec)
{
    Py_CLEAR(c->pcp);
    c->pcp_alloc = c->pcp_free = 0;
    PyObject *t = spec_get(spec, "pcp");
    if (t == NULL) return -1;
    if (t == Py_None) return 0;
    if (!PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) != 14) {
        PyErr_SetString(CoreError, "Core: spec[pcp] must be None or the pcp fast paths' 14-tuple");
        return -1;
    }
    PyObject *dicts[5] = {PyTuple_GET_ITEM(t, 2), PyTuple_GET_ITEM(t, 3), PyTuple_GET_ITEM(t, 4),
                          PyTuple_GET_ITEM(t, 5), PyTuple_GET_ITEM(t, 6)};
    for (int i = 0; i < 5; i++)
        if (!PyDict_CheckExact(dicts[i])) {
            PyErr_SetString(CoreError, "Core: spec[pcp]: fast0, high_orders, pindex, refarr, allocated must be dicts");
            return -1;
        }
    PyObject *zc = PyTuple_GET_ITEM(t, 7), *pb = PyTuple_GET_ITEM(t, 8);
    PyObject *zt = PyTuple_GET_ITEM(t, 12), *pt = PyTuple_GET_ITEM(t, 13);
    if (!PyDict_CheckExact(zc) || !PyByteArray_CheckExact(pb) || !PyType_Check(zt) || !PyType_Check(pt)) {
        PyErr_SetString(CoreError, "Core: spec[pcp]: zone_chunk, pageblock_mt or the types");
        return -1;
    }
    int64_t pbo, shift;
    uint64_t lowmem;
    if (!i64_of(PyTuple_GET_ITEM(t, 9), &pbo) || !i64_of(PyTuple_GET_ITEM(t, 11), &shift) || pbo < 0 || pbo > 40 ||
        shift < 1 || shift > 40 || !u64_of(PyTuple_GET_ITEM(t, 10), &lowmem)) {
        PyErr_SetString(CoreError, "Core: spec[pcp]: a constant out of range");
        return -1;
    }
    if (find_slot(zt, "free_pages", &c->z_free_pages) < 0 || find_slot(zt, "fast_high", &c->z_fast_high) < 0 ||
        find_slot(zt, "free_list", &c->z_free_list) < 0 || find_slot(zt, "pcp", &c->z_pcp) < 0 ||
        find_slot(zt, "pgalloc", &c->z_pgalloc) < 0 || find_slot(zt, "pgfree", &c->z_pgfree) < 0 ||
        find_slot(zt, "below_high", &c->z_below_high) < 0 || find_slot(pt, "lists", &c->p_lists) < 0 ||
        find_slot(pt, "count", &c->p_count) < 0 || find_slot(pt, "free_count", &c->p_free_count) < 0 ||
        find_slot(pt, "alloc_factor", &c->p_alloc_factor) < 0 || find_slot(pt, "free_high", &c->p_free_high) < 0 ||
        find_slot(pt, "batch", &c->p_batch) < 0 || find_slot(pt, "high", &c->p_high) < 0)
        return -1;
    c->pcp = Py_NewRef(t);
    c->pcp_fast0 = dicts[0];
    c->pcp_high_orders = dicts[1];
    c->pcp_pindex = dicts[2];
    c->pcp_refarr = dicts[3];
    c->pcp_allocated = dicts[4];
    c->pcp_zone_chunk = zc;
    c->pcp_pbmt = pb;
    c->pcp_pb_order = (int)pbo;
    c->pcp_shift = (int)shift;
    c->pcp_mask = ((uint64_t)1 << shift) - 1;
    c->pcp_lowmem = lowmem;
    return 0;
}

static int Core_init(Core *c, PyObject *args, PyObject *kwds)
{
    PyObject *replay, *run_at, *spec;
    static char *kwlist[] = {"replay", "run_at", "spec", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!", kwlist, &replay, &run_at, &PyDict_Type, &spec)) return -1;
    PyObject *err = PyDict_GetItemString(spec, "error");
    if (err != NULL && PyType_Check(err) && PyType_IsSubtype((PyTypeObject *)err, (PyTypeObject *)PyExc_Exception))
        Py_XSETREF(CoreError, Py_NewRef(err));
    Py_XSETREF(c->replay, Py_NewRef(replay));
    Py_XSETREF(c->run_at, Py_NewRef(run_at));
    for (int i = 0; i < NKINDS; i++) {
        PyObject *s = PyUnicode_InternFromString(KIND_NAMES[i]);
        if (s == NULL) return -1;
        Py_XSETREF(c->kinds[i], s);
    }
    if (spec_obj(spec, "objs", &c->objs, &PyDict_Type) < 0 || spec_obj(spec, "placed", &c->placed, &PyDict_Type) < 0 ||
        spec_obj(spec, "events", &c->events, &PyDict_Type) < 0 ||
        spec_obj(spec, "preexisting", &c->preexisting, &PyDict_Type) < 0 ||
        spec_obj(spec, "trace_failed", &c->trace_failed, &PyDict_Type) < 0 ||
        spec_obj(spec, "model_failed", &c->model_failed, &PyDict_Type) < 0 ||
        spec_obj(spec, "bugs", &c->bugs, &PyDict_Type) < 0 ||
        spec_obj(spec, "implied_by", &c->implied_by, &PyDict_Type) < 0 || spec_obj(spec, "k", &c->k, NULL) < 0 ||
        spec_obj(spec, "kfree", &c->kfree, NULL) < 0 || spec_obj(spec, "cache_alloc", &c->cache_alloc, NULL) < 0 ||
        spec_obj(spec, "cache_of", &c->cache_of, NULL) < 0 ||
        spec_obj(spec, "bug_types", &c->bug_types, &PyTuple_Type) < 0 ||
        spec_obj(spec, "kinfo", &c->kinfo, &PyDict_Type) < 0 ||
        spec_obj(spec, "kcaches", &c->kcaches, &PyDict_Type) < 0 || spec_obj(spec, "gfps", &c->gfps, &PyDict_Type) < 0 ||
        spec_obj(spec, "caches", &c->caches, &PyDict_Type) < 0 ||
        spec_obj(spec, "reserve", &c->reserve, &PyDict_Type) < 0 ||
        spec_obj(spec, "pending", &c->pending, &PyDict_Type) < 0 ||
        spec_obj(spec, "doomed", &c->doomed, &PyDict_Type) < 0 ||
        spec_obj(spec, "fillers", &c->fillers, &PyDict_Type) < 0 ||
        spec_obj(spec, "last_ptr", &c->last_ptr, &PyList_Type) < 0 ||
        spec_obj(spec, "slab_of", &c->slab_of, &PyDict_Type) < 0 ||
        spec_obj(spec, "frames", &c->frames, &PyDict_Type) < 0 ||
        spec_obj(spec, "by_size", &c->by_size, &PyList_Type) < 0 || spec_obj(spec, "kcls", &c->kcls, &PyType_Type) < 0 ||
        spec_obj(spec, "pages", &c->pages, &PyDict_Type) < 0 || spec_obj(spec, "claimed", &c->claimed, &PyDict_Type) < 0 ||
        spec_obj(spec, "page_failed", &c->page_failed, &PyList_Type) < 0)
        return -1;
    if (!PyList_CheckExact(c->last_ptr) || !PyList_CheckExact(c->by_size)) {
        PyErr_SetString(CoreError, "Core: last_ptr and by_size must be lists");
        return -1;
    }
    if (spec_obj(spec, "fast_kmalloc", &c->fast, NULL) < 0) return -1;
    Py_XSETREF(c->slot_name, PyUnicode_InternFromString("kmalloc"));
    if (c->slot_name == NULL) return -1;
    uint64_t hardened, word, ncpu, page_shift;
    int64_t max_cache, fp_max_cache;
    if (spec_u64(spec, "page_offset", &c->page_offset) < 0 || spec_u64(spec, "hardened", &hardened) < 0 ||
        spec_u64(spec, "word", &word) < 0 || spec_u64(spec, "ncpu", &ncpu) < 0 ||
        spec_i64(spec, "max_cache", &max_cache) < 0 || spec_i64(spec, "fp_max_cache", &fp_max_cache) < 0 ||
        spec_u64(spec, "kind_flags", &c->kind_flags) < 0 || spec_u64(spec, "zero_flag", &c->zero_flag) < 0 ||
        spec_u64(spec, "lowmem", &c->lowmem) < 0 || spec_u64(spec, "page_shift", &page_shift) < 0)
        return -1;
    if ((word != 4 && word != 8) || ncpu < 1 || page_shift < 9 || page_shift > 20 || PyList_GET_SIZE(c->by_size) != fp_max_cache + 1 ||
        PyList_GET_SIZE(c->last_ptr) != (Py_ssize_t)ncpu) {
        PyErr_SetString(CoreError, "Core: a spec value out of range");
        return -1;
    }
    c->hardened = hardened != 0;
    c->page_shift = (int)page_shift;
    c->word = (int)word;
    c->ncpu = (long)ncpu;
    c->max_cache = max_cache;
    c->fp_max_cache = fp_max_cache;
    c->not_word_ok = 0xffffffffULL; /* gfp_t: a mask with a bit above 31 takes the general path */
    PyObject *types = spec_get(spec, "types");
    if (types == NULL) return -1;
    if (!PyTuple_Check(types) || PyTuple_GET_SIZE(types) != 3) {
        PyErr_SetString(CoreError, "Core: spec[types] must be (KmemCache, KmemCacheCpu, Slab)");
        return -1;
    }
    PyObject *ct = PyTuple_GET_ITEM(types, 0), *cct = PyTuple_GET_ITEM(types, 1), *st = PyTuple_GET_ITEM(types, 2);
    if (!PyType_Check(ct) || !PyType_Check(cct) || !PyType_Check(st)) {
        PyErr_SetString(CoreError, "Core: spec[types] must hold classes");
        return -1;
    }
    c->cache_t = (PyTypeObject *)ct;
    c->cpu_t = (PyTypeObject *)cct;
    c->slab_t = (PyTypeObject *)st;
    if (find_slot(ct, "cpu_slab", &c->c_cpu_slab) < 0 || find_slot(ct, "offset", &c->c_offset) < 0 ||
        find_slot(ct, "random", &c->c_random) < 0 || find_slot(ct, "size", &c->c_size) < 0 ||
        find_slot(ct, "partial", &c->c_partial) < 0 || find_slot(ct, "debug", &c->c_debug) < 0 ||
        find_slot(cct, "freelist", &c->cc_freelist) < 0 || find_slot(cct, "slab", &c->cc_slab) < 0 ||
        find_slot(st, "cache", &c->s_cache) < 0 || find_slot(st, "freelist", &c->s_freelist) < 0 ||
        find_slot(st, "frozen", &c->s_frozen) < 0 || find_slot(st, "inuse", &c->s_inuse) < 0 ||
        find_slot(st, "where", &c->s_where) < 0 || find_slot(ct, "name", &c->c_name) < 0 ||
        find_slot(ct, "order", &c->c_order) < 0 || find_slot(ct, "nr_slabs", &c->c_nr_slabs) < 0 ||
        find_slot(ct, "total_objects", &c->c_total) < 0 || find_slot(cct, "partial", &c->cc_partial) < 0 ||
        find_slot(st, "objects", &c->s_objects) < 0 || find_slot(ct, "cpu_partial", &c->c_cpu_partial) < 0 ||
        find_slot(ct, "cpu_partial_slabs", &c->c_cpu_partial_slabs) < 0)
        return -1;
    /* the slots must belong to the classes themselves (no subclass shares them) */
    Py_XSETREF(c->where_node_partial, PyUnicode_InternFromString("node_partial"));
    Py_XSETREF(c->where_rcu_free, PyUnicode_InternFromString("rcu_free"));
    Py_XSETREF(c->where_full, PyUnicode_InternFromString("full"));
    Py_XSETREF(c->where_cpu, PyUnicode_InternFromString("cpu"));
    Py_XSETREF(c->where_cpu_partial, PyUnicode_InternFromString("cpu_partial"));
    if (c->where_node_partial == NULL || c->where_rcu_free == NULL || c->where_full == NULL || c->where_cpu == NULL ||
        c->where_cpu_partial == NULL)
        return -1;
    if (spec_obj(spec, "slub", &c->slub, NULL) < 0) return -1;
    if (KCACHE_SIZE && c->frames_cache == NULL) {
        c->frames_cache = PyMem_Calloc(2 * (KCACHE_SIZE ? KCACHE_SIZE : 1), sizeof(struct KCache));
        if (c->frames_cache == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        c->slab_of_cache = c->frames_cache + KCACHE_SIZE;
    }
    /* the scanner's EventBuf (None: not built, or of another layout): packed events */
    PyObject *eb = spec_get(spec, "eventbuf");
    if (eb == NULL) return -1;
    if (eb != Py_None && (!PyType_Check(eb) || ((PyTypeObject *)eb)->tp_basicsize != (Py_ssize_t)sizeof(EventBuf))) {
        PyErr_SetString(CoreError, "Core: spec[eventbuf] is not an EventBuf of this layout");
        return -1;
    }
    Py_XSETREF(c->eventbuf_t, eb == Py_None ? NULL : (PyTypeObject *)Py_NewRef(eb));
    memset(c->d_events, 0, sizeof c->d_events);
    memset(c->d_placed, 0, sizeof c->d_placed);
    memset(c->d_pre, 0, sizeof c->d_pre);
    memset(c->d_failed, 0, sizeof c->d_failed);
    memset(c->d_mfailed, 0, sizeof c->d_mfailed);
    c->d_null = c->d_implied = c->d_held = 0;
    c->stat_c = c->stat_py = c->stat_calls = c->stat_pcp_c = c->stat_slow_c = 0;
    if (init_pcp(c, spec) < 0) return -1;
    Py_XSETREF(c->kmalloc_what, PyUnicode_InternFromString("kmalloc"));
    Py_XSETREF(c->lost_kind, PyUnicode_InternFromString("lost"));
    Py_XSETREF(c->obj_exts_site, PyUnicode_InternFromString("alloc_slab_obj_exts"));
    if (c->kmalloc_what == NULL || c->lost_kind == NULL || c->obj_exts_site == NULL) return -1;
    return check_usable(c);
}

static int Core_traverse(Core *c, visitproc visit, void *arg)
{
    Py_VISIT(c->replay);
    Py_VISIT(c->run_at);
    Py_VISIT(c->objs);
    Py_VISIT(c->placed);
    Py_VISIT(c->events);
    Py_VISIT(c->preexisting);
    Py_VISIT(c->trace_failed);
    Py_VISIT(c->model_failed);
    Py_VISIT(c->bugs);
    Py_VISIT(c->implied_by);
    Py_VISIT(c->k);
    Py_VISIT(c->slub);
    Py_VISIT(c->eventbuf_t);
    Py_VISIT(c->kfree);
    Py_VISIT(c->cache_alloc);
    Py_VISIT(c->cache_of);
    Py_VISIT(c->bug_types);
    Py_VISIT(c->kinfo);
    Py_VISIT(c->kcaches);
    Py_VISIT(c->gfps);
    Py_VISIT(c->caches);
    Py_VISIT(c->reserve);
    Py_VISIT(c->pending);
    Py_VISIT(c->doomed);
    Py_VISIT(c->fillers);
    Py_VISIT(c->last_ptr);
    Py_VISIT(c->slab_of);
    Py_VISIT(c->frames);
    Py_VISIT(c->by_size);
    Py_VISIT(c->kcls);
    Py_VISIT(c->fast);
    Py_VISIT(c->pages);
    Py_VISIT(c->claimed);
    Py_VISIT(c->page_failed);
    Py_VISIT(c->pa_alloc);
    Py_VISIT(c->pa_free);
    Py_VISIT(c->free_pages);
    Py_VISIT(c->pcp);
    return 0;
}

static int Core_clear(Core *c)
{
    Py_CLEAR(c->replay);
    Py_CLEAR(c->run_at);
    Py_CLEAR(c->objs);
    Py_CLEAR(c->placed);
    Py_CLEAR(c->events);
    Py_CLEAR(c->preexisting);
    Py_CLEAR(c->trace_failed);
    Py_CLEAR(c->model_failed);
    Py_CLEAR(c->bugs);
    Py_CLEAR(c->implied_by);
    Py_CLEAR(c->k);
    Py_CLEAR(c->kfree);
    Py_CLEAR(c->cache_alloc);
    Py_CLEAR(c->cache_of);
    Py_CLEAR(c->bug_types);
    Py_CLEAR(c->kmalloc_what);
    Py_CLEAR(c->kinfo);
    Py_CLEAR(c->kcaches);
    Py_CLEAR(c->gfps);
    Py_CLEAR(c->caches);
    Py_CLEAR(c->reserve);
    Py_CLEAR(c->pending);
    Py_CLEAR(c->doomed);
    Py_CLEAR(c->fillers);
    Py_CLEAR(c->last_ptr);
    Py_CLEAR(c->slab_of);
    Py_CLEAR(c->frames);
    Py_CLEAR(c->by_size);
    Py_CLEAR(c->kcls);
    Py_CLEAR(c->fast);
    Py_CLEAR(c->slot_name);
    for (int i = 0; i < NKINDS; i++) Py_CLEAR(c->kinds[i]);
    Py_CLEAR(c->where_node_partial);
    Py_CLEAR(c->where_rcu_free);
    Py_CLEAR(c->where_full);
    Py_CLEAR(c->where_cpu);
    Py_CLEAR(c->where_cpu_partial);
    Py_CLEAR(c->slub);
    Py_CLEAR(c->eventbuf_t);
    Py_CLEAR(c->pages);
    Py_CLEAR(c->claimed);
    Py_CLEAR(c->page_failed);
    Py_CLEAR(c->lost_kind);
    Py_CLEAR(c->obj_exts_site);
    Py_CLEAR(c->pa_alloc);
    Py_CLEAR(c->pa_free);
    Py_CLEAR(c->free_pages);
    Py_CLEAR(c->pcp);
    return 0;
}

static void Core_dealloc(Core *c)
{
    PyObject_GC_UnTrack(c);
    Core_clear(c);
    PyMem_Free(c->frames_cache);
    Py_TYPE(c)->tp_free((PyObject *)c);
}

static PyMethodDef Core_methods[] = {
    {"run", (PyCFunction)Core_run, METH_VARARGS, "run(cur, nxt): replay the records of cur (Replay._run)"},
    {"usable", (PyCFunction)Core_usable, METH_NOARGS, "is kmalloc's fast path in its dispatch slot now?"},
    {"stats", (PyCFunction)Core_stats, METH_NOARGS, "{'c': events done in C, 'py': events handed to Python}"},
    {"slab_sample", (PyCFunction)Core_slab_sample, METH_O,
     "slab_sample(caches): (pages, objects, in use, bytes in use, {name: pages}) of SLUB's caches, or None"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "kmemsim.trace._kmemreplay.Core",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The compiled replay core: Replay._run() and SLUB's fast paths for the common events",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Core_init,
    .tp_traverse = (traverseproc)Core_traverse,
    .tp_clear = (inquiry)Core_clear,
    .tp_dealloc = (destructor)Core_dealloc,
    .tp_methods = Core_methods,
};

static struct PyModuleDef kmemreplay_module = {
    PyModuleDef_HEAD_INIT, "_kmemreplay", "The compiled replay core of kmemsim (optional).", -1, NULL, NULL, NULL, NULL,
    NULL,
};

PyMODINIT_FUNC PyInit__kmemreplay(void)
{
    if (PyType_Ready(&CoreType) < 0) return NULL;
    CoreError = Py_NewRef(PyExc_RuntimeError);
#define INTERN(var, s) if ((var = PyUnicode_InternFromString(s)) == NULL) return NULL
    INTERN(S_n, "n");
    INTERN(S_last_ts, "last_ts");
    INTERN(S_first_ts, "first_ts");
    INTERN(S_interval, "_interval_ns");
    INTERN(S_next_ts, "_next_sample_ts");
    INTERN(S_next_n, "_next_sample_n");
    INTERN(S_null_frees, "null_frees");
    INTERN(S_implied, "implied_frees");
    INTERN(S_cpu, "cpu");
    INTERN(S_held, "_held");
    INTERN(S_real_ptrs, "_real_ptrs");
    INTERN(S_page_fns, "_core_page_fns");
    INTERN(S_nmi_probe, "nmi_probe");
    INTERN(S_sample, "_sample");
#undef INTERN
    PyObject *m = PyModule_Create(&kmemreplay_module);
    if (m == NULL) return NULL;
    if (PyModule_AddIntConstant(m, "REPLAY_CORE_API", REPLAY_CORE_API) < 0 ||
        PyModule_AddIntConstant(m, "KMEM_EVENTS_ABI", KMEM_EVENTS_ABI) < 0 ||
        PyModule_AddObjectRef(m, "Core", (PyObject *)&CoreType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
