"""Predict, then reveal: exercises whose answers come from the model.

Each :class:`Exercise` holds a question, the model's answer (computed by running the
scenario on a machine), and an explanation.  ``ex.check(answer)`` compares a student's
prediction with the model's (``Result``: right or wrong, and why); ``ex.reveal()`` shows
the answer.  The labs of ``notebooks/`` build exercises with chosen parameters
(:func:`pa_of`, :func:`buddyinfo_after`, :func:`cache_geometry` ...); ``kmemsim quiz``
draws them from a seed (:func:`quiz`), as OSTEP's simulators do: the same seed gives the
same questions, ``-c`` prints the answers.

Topics: ``addresses`` (__pa, __va, zones, lowmem and highmem, the layout), ``buddy``
(splits, buddies, buddyinfo after a sequence of allocations and frees), ``slab``
(size classes, strides, objects per slab, orders), ``gfp`` (which allocations may
sleep, which fail or dip into the reserves in which context).
"""
from __future__ import annotations

import html
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import kmemsim

from ..errors import UsageError
from ..profiles import get_profile
from . import state

if TYPE_CHECKING:  # pragma: no cover
    from ..kernel import Kernel

__all__ = ["Exercise", "Result", "TOPICS", "quiz", "pa_of", "va_of", "zone_of_phys", "layout_boundary",
           "split_order", "buddy_of", "buddyinfo_after", "kmalloc_class", "cache_geometry", "may_sleep",
           "in_context", "below_min", "overwrite_report", "mempool_exhausted", "Machines"]

TOPICS = ("addresses", "buddy", "slab", "gfp")


# ============================================================================ exercises and answers
@dataclass
class Result:
    """The outcome of :meth:`Exercise.check`."""

    correct: bool
    given: Any
    expected: Any
    message: str

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        color = "#1a7f37" if self.correct else "#c62828"
        return (f'<div style="border-left:4px solid {color};padding:.3em .7em;margin:.3em 0;white-space:pre-wrap;'
                f'font-family:system-ui,sans-serif">{html.escape(self.message)}</div>')


@dataclass
class Exercise:
    """One question with the model's answer.  ``kind`` says how an answer is read:
    ``int`` (a number, decimal or 0x hex), ``ints`` (a list of numbers, e.g. a buddyinfo
    line), ``choice`` (one of ``choices``, by text or letter), ``bool`` (yes/no)."""

    topic: str
    question: str
    answer: Any
    kind: str
    explanation: str
    choices: list[str] = field(default_factory=list)
    hex: bool = False  # show int answers in hex
    #: what the scenario did, for checks of the exercise itself (buddyinfo_after: (op, pfn, order))
    trace: list[Any] = field(default_factory=list, repr=False)

    def shown_answer(self) -> str:
        a = self.answer
        if self.kind == "int":
            return hex(a) if self.hex else str(a)
        if self.kind == "ints":
            return " ".join(str(x) for x in a)
        if self.kind == "bool":
            return "yes" if a else "no"
        return str(a)

    def text(self, number: int | None = None, answers: bool = False) -> str:
        """The question as text (``answers``: with the answer and why)."""
        head = f"Q{number}. " if number is not None else ""
        lines = [f"{head}[{self.topic}] {self.question}"]
        for i, c in enumerate(self.choices):
            lines.append(f"    ({chr(97 + i)}) {c}")
        if answers:
            lines.append(f"    Answer: {self.shown_answer()}")
            lines.extend(f"    {line}" for line in self.explanation.splitlines())
        return "\n".join(lines)

    def parse(self, given: Any) -> Any:
        """The answer ``given`` (text or a value) as this exercise's kind of value."""
        try:
            if self.kind == "int":
                if isinstance(given, str):
                    return int(given.strip().replace("_", "").replace(",", ""), 0)
                return int(given)
            if self.kind == "ints":
                if isinstance(given, str):
                    parts = given.replace(",", " ").split()
                    # a whole buddyinfo line: keep the numbers after the zone name
                    if "zone" in parts:
                        parts = parts[parts.index("zone") + 2:]
                    return [int(p, 0) for p in parts]
                return [int(x) for x in given]
            if self.kind == "bool":
                if isinstance(given, str):
                    t = given.strip().lower()
                    if t in ("y", "yes", "true", "1"):
                        return True
                    if t in ("n", "no", "false", "0"):
                        return False
                    raise ValueError(given)
                return bool(given)
            if self.kind == "choice":
                t = str(given).strip()
                if len(t) == 1 and t.isalpha() and ord(t.lower()) - 97 < len(self.choices):
                    return self.choices[ord(t.lower()) - 97]
                for c in self.choices:
                    if c.lower() == t.lower():
                        return c
                raise ValueError(given)
        except (ValueError, TypeError):
            pass
        raise UsageError(f"{given!r} is not an answer to this question ({self._form()})")

    def _form(self) -> str:
        return {"int": "a number, e.g. 42 or 0x2a", "ints": "numbers, e.g. [0, 1, 2] or '0 1 2'",
                "bool": "yes or no", "choice": "one of " + ", ".join(
                    f"({chr(97 + i)}) {c}" for i, c in enumerate(self.choices))}.get(self.kind, "an answer")

    def check(self, given: Any) -> Result:
        """Compare a prediction with the model's answer (``...`` or None: not answered yet)."""
        if given is Ellipsis or given is None:
            return Result(False, None, self.answer, f"Write your prediction in place of ... ({self._form()}), "
                          "then run the cell again; .reveal() shows the model's answer.")
        value = self.parse(given)
        ok = value == self.answer
        if self.kind == "int" and self.hex:
            shown = hex(value)
        elif self.kind == "bool":
            shown = "yes" if value else "no"
        elif self.kind == "ints":
            shown = " ".join(str(x) for x in value)
        else:
            shown = str(value)
        if ok:
            msg = f"Right: {shown}.\n{self.explanation}"
        else:
            msg = f"Not quite: you said {shown}; the model says {self.shown_answer()}.\n{self.explanation}"
        return Result(ok, value, self.answer, msg)

    def reveal(self) -> Result:
        """The answer, as the model computed it, and why."""
        return Result(True, None, self.answer, f"Answer: {self.shown_answer()}\n{self.explanation}")

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        items = "".join(f"<li>({chr(97 + i)}) {html.escape(c)}</li>" for i, c in enumerate(self.choices))
        choices = f"<ul style=list-style:none>{items}</ul>" if items else ""
        return (f'<div style="border:1px solid #d9dce0;border-radius:6px;padding:.5em .8em;font-family:system-ui,'
                f'sans-serif"><b>[{html.escape(self.topic)}]</b> <span style="white-space:pre-wrap">'
                f'{html.escape(self.question)}</span>{choices}'
                f'<div style="color:#5f6368;font-size:.85em">Answer with .check(...) ({html.escape(self._form())}); '
                f".reveal() shows the model's answer.</div></div>")


# ============================================================================ machines
class Machines:
    """Freshly booted machines, one per (profile, ram, tunables), booted when first asked."""

    def __init__(self, profile: str = kmemsim.DEFAULT_PROFILE, ram: str | None = None) -> None:
        get_profile(profile)  # a bad name fails now, naming the profiles
        self.profile = profile
        self.ram = ram

    def fresh(self, ram: str | None = None, **kw: Any) -> Kernel:
        return kmemsim.boot(self.profile, ram=ram or self.ram, **kw)


def _ram(k: Kernel) -> str:
    mib = k.ram >> 20
    return f"{mib >> 10} GiB" if mib % 1024 == 0 else f"{mib} MiB"


def _mach(k: Kernel) -> str:
    return f"{k.profile.name} with {_ram(k)} of RAM"


# ============================================================================ addresses
def pa_of(k: Kernel, vaddr: int) -> Exercise:
    """__pa() of a direct-map (or kernel text) address."""
    return Exercise("addresses", f"On {_mach(k)} (PAGE_OFFSET {k.layout.page_offset:#x}), what is __pa({vaddr:#x})?",
                    k.pa(vaddr), "int",
                    f"The direct map is linear: __pa(v) = v - PAGE_OFFSET = {vaddr:#x} - {k.layout.page_offset:#x} "
                    f"= {k.pa(vaddr):#x} (on x86_64 a kernel-text address subtracts __START_KERNEL_map "
                    "and adds phys_base instead).", hex=True)


def va_of(k: Kernel, paddr: int) -> Exercise:
    """__va() of a physical address in lowmem."""
    return Exercise("addresses", f"On {_mach(k)}, what is __va({paddr:#x}), the direct-map address of that "
                    "physical byte?", k.va(paddr), "int",
                    f"__va(p) = p + PAGE_OFFSET = {paddr:#x} + {k.layout.page_offset:#x} = {k.va(paddr):#x}; it "
                    "holds for lowmem only (below high_memory's physical address).", hex=True)


def zone_of_phys(k: Kernel, paddr: int) -> Exercise:
    """Which zone holds a physical address."""
    pfn = paddr >> k.page_shift
    zones = [z for z in k.page_alloc.zones if z.present_pages]
    z = k.page_alloc.zone_of(pfn)
    spans = "; ".join(f"{x.name} {x.zone_start_pfn << k.page_shift:#x}-{x.zone_end_pfn << k.page_shift:#x}"
                      for x in zones)
    high = ""
    if z.name == "HighMem":
        high = (" HighMem has no permanent kernel address: page_address() is NULL until kmap(). Lowmem ends at "
                f"{k.max_low_pfn << k.page_shift:#x} (896 MiB less the vmalloc area and fixmap on i386).")
    return Exercise("addresses", f"On {_mach(k)}, which zone holds the page at physical address {paddr:#x}?",
                    z.name, "choice", f"The zones cut physical memory: {spans}.{high}", [x.name for x in zones])


def layout_boundary(k: Kernel, name: str) -> Exercise:
    """A named boundary of the layout (vmalloc_start, high_memory ...)."""
    value = k.layout.fields()[name]
    why = {
        "high_memory": "high_memory = PAGE_OFFSET + the lowmem the direct map covers.",
        "vmalloc_start": ("i386: VMALLOC_START = high_memory + VMALLOC_OFFSET (8 MiB), aligned up to 8 MiB; "
                          "x86_64: a fixed 32 TiB area at 0xffffc90000000000 (no KASLR)."),
    }.get(name, "")
    return Exercise("addresses", f"On {_mach(k)}, what is {name.upper()}?", value, "int",
                    f"{name.upper()} = {value:#x}. {why}".strip(), hex=True)


# ============================================================================ the buddy allocator
def split_order(k: Kernel, zone: str, order: int) -> Exercise:
    """Which order's block the buddy allocator splits for an allocation of ``order``."""
    z = _zone(k, zone)
    src = next((o for o in range(order, z.max_order + 1) if z.nr_free[o]), -1)
    line = _buddyinfo_line(k, z)
    return Exercise("buddy", f"{_mach(k)}, zone {zone}:\n{line}\nAn allocation of order {order} comes to this zone's "
                    "free lists. Which order's free block does __rmqueue_smallest() take (and split, if larger)?",
                    src, "int", f"The smallest order >= {order} with a free block: {src}"
                    + (f"; it is split into halves down to order {order}, the high halves go back to the free "
                       f"lists of orders {order}..{src - 1}." if src > order else "; no split is needed."))


def buddy_of(k: Kernel, pfn: int, order: int) -> Exercise:
    """The buddy of a block: pfn ^ (1 << order)."""
    b = pfn ^ (1 << order)
    return Exercise("buddy", f"A free block of order {order} starts at pfn {pfn:#x}. At which pfn does its buddy, "
                    "the block it merges with, start?", b, "int",
                    f"__find_buddy_pfn(): pfn ^ (1 << order) = {pfn:#x} ^ {1 << order:#x} = {b:#x}; if that block "
                    f"is free and of order {order}, the two merge into an order-{order + 1} block at {min(pfn, b):#x}.",
                    hex=True)


def _zone(k: Kernel, name: str) -> Any:
    for z in k.page_alloc.zones:
        if z.name == name and z.present_pages:
            return z
    raise UsageError(f"no zone {name!r} with memory on {_mach(k)}; zones: "
                     + ", ".join(z.name for z in k.page_alloc.zones if z.present_pages))


def _buddyinfo_line(k: Kernel, z: Any) -> str:
    for line in k.proc("buddyinfo").splitlines():
        if f"zone {z.name:>8}" in line:
            return line.rstrip()
    return f"Node 0, zone {z.name:>8} " + " ".join(f"{n:6d}" for n in z.nr_free)


def zone_gfp(k: Kernel, zone: str) -> tuple[int, str]:
    """A movable GFP mask whose allocations the buddy allocator serves from ``zone``."""
    g = k.gfp
    z = _zone(k, zone)
    for name in ("GFP_DMA", "GFP_DMA32", "GFP_KERNEL", "GFP_HIGHUSER"):
        try:
            mask = g.value(name) | g.value("__GFP_MOVABLE")
        except Exception:  # noqa: BLE001 - a kernel without that flag
            continue
        if g.zone(mask) == z.idx:
            return mask, f"{name}|__GFP_MOVABLE"
    raise UsageError(f"no GFP mask targets zone {zone} on {k.profile.name}")


def buddyinfo_after(k: Kernel, zone: str, ops: Sequence[tuple[str, int]]) -> Exercise:
    """Predict a zone's /proc/buddyinfo line after allocations and frees.

    ``ops``: ``("alloc", order)`` allocates a block of that order from the zone;
    ``("free", i)`` frees the i-th allocation.  The machine ``k`` is changed (the
    blocks stay allocated at the end, as the question says); orders the per-CPU lists
    cache (0-3 and the pageblock order on 6.x, 0 on 2.6) are refused, since they would
    not reach the buddy lists."""
    z = _zone(k, zone)
    pcp = set(state.pcp_orders(k))
    mask, mask_name = zone_gfp(k, zone)
    before = _buddyinfo_line(k, z)
    held: list[tuple[int, int] | None] = []
    steps = []
    trace: list[tuple[str, int, int]] = []
    for op, arg in ops:
        if op == "alloc":
            if arg in pcp:
                raise UsageError(f"order {arg} goes through the per-CPU lists on {k.profile.name} "
                                 f"(orders {sorted(pcp)}): choose another")
            addr = k.get_free_pages(mask, arg)
            if not addr or k.page_zone(k.virt_to_page(addr)) != zone:
                raise UsageError(f"the allocation of order {arg} did not come from zone {zone}")
            held.append((addr, arg))
            trace.append(("alloc", k.pa(addr) >> k.page_shift, arg))
            steps.append(f"a{len(held) - 1} = get_free_pages({mask_name}, {arg})")
        elif op == "free":
            got = held[arg] if 0 <= arg < len(held) else None
            if got is None:
                raise UsageError(f"free {arg}: there is no allocation a{arg} to free")
            k.free_pages(got[0], got[1])
            trace.append(("free", k.pa(got[0]) >> k.page_shift, got[1]))
            held[arg] = None
            steps.append(f"free_pages(a{arg}, {got[1]})")
        else:
            raise UsageError(f"{op!r}: expected 'alloc' or 'free'")
    after = list(z.nr_free)
    q = (f"{_mach(k)}. Zone {zone} before:\n{before}\nThen, in this order:\n  " + "\n  ".join(steps)
         + f"\nWhat does /proc/buddyinfo show for zone {zone} now (free blocks of orders 0..{z.max_order})?")
    return Exercise("buddy", q, after, "ints",
                    "Each allocation takes the smallest free block of at least its order and splits it, the high "
                    "halves going back one order at a time; each free merges the block with its buddy "
                    "(pfn ^ (1 << order)) while that buddy is free, and climbs an order each time.\n"
                    f"After: {_buddyinfo_line(k, z)}", trace=trace)


def _pure_buddy(free: dict[int, int], ops: list[tuple[str, int, int]], max_order: int) -> list[int] | None:
    """The textbook buddy allocator on a copy of a zone's free blocks (pfn -> order):
    ``("alloc", pfn, order)`` must take a block of the smallest available order (None if
    the model took another); ``("free", pfn, order)`` merges."""
    free = dict(free)
    for op, pfn, order in ops:
        if op == "alloc":
            src = min((o for o in free.values() if o >= order), default=None)
            if src is None:
                return None
            head = next((p for p, o in free.items() if o == src and p <= pfn < p + (1 << o)), None)
            if head is None:
                return None
            del free[head]
            o = src
            while o > order:  # expand(): keep the half holding pfn, free the other
                o -= 1
                half = 1 << o
                if pfn >= head + half:
                    free[head] = o
                    head += half
                else:
                    free[head + half] = o
            if head != pfn:
                return None
        else:
            while order < max_order:
                b = pfn ^ (1 << order)
                if free.get(b) != order:
                    break
                del free[b]
                pfn &= b
                order += 1
            free[pfn] = order
    counts = [0] * (max_order + 1)
    for o in free.values():
        counts[o] += 1
    return counts


# ============================================================================ slab
def kmalloc_class(k: Kernel, size: int) -> Exercise:
    """Which kmalloc cache serves kmalloc(size, GFP_KERNEL)."""
    g = k.gfp
    s = k.slab.kmalloc_cache_for(size, g.GFP_KERNEL)
    ladder = state.kmalloc_sizes(k)
    return Exercise("slab", f"On {_mach(k)}, kmalloc({size}, GFP_KERNEL) is served by which cache "
                    "(its object size, i.e. ksize() of the result)?", s.object_size, "int",
                    f"{s.name}: the smallest kmalloc size class >= {size}. The ladder here: "
                    + ", ".join(str(x) for x in ladder) + f"; {s.object_size - size} bytes are wasted.")


def cache_geometry(k: Kernel, size: int, align: int = 0, flags: Sequence[str] = (), what: str = "objects",
                   name: str = "quiz_cache") -> Exercise:
    """kmem_cache_create(name, size, align, flags): its stride (``what="stride"``),
    objects per slab (``"objects"``) or slab order (``"order"``)."""
    sf = k.slab_flags
    bits = 0
    for f in flags:
        bits |= sf.value(f)
    c = k.kmem_cache_create(name, size, align, bits)
    if c is None:
        raise UsageError(f"kmem_cache_create({name!r}, {size}, {align}, {'|'.join(flags) or 0}) failed")
    if k.slab.allocator == "slab":
        return _slab_geometry(k, c, name, size, align, flags, what)
    value = {"stride": c.size, "objects": c.objects, "order": c.order}[what]
    ask = {"stride": "the object stride s->size (bytes from one object to the next)",
           "objects": "the number of objects in one slab (objs_per_slab)", "order": "the slab order"}[what]
    fl = "|".join(flags) or "0"
    expl = (f"stride {c.size}: object {size} rounded up to the word, then to the alignment"
            + (" (SLAB_HWCACHE_ALIGN: a cache line, halved while the object fits twice)"
               if "SLAB_HWCACHE_ALIGN" in flags else "")
            + (f", with red zones (left pad {c.red_left_pad})" if "SLAB_RED_ZONE" in flags else "")
            + (", a free pointer outside the object" if c.offset >= c.inuse else "")
            + f"; order {c.order}: calculate_order() takes the smallest order whose leftover is small enough "
              f"(1/16 of the slab at best) for at least min_objects; {c.objects} objects of {c.size} bytes in "
              f"{k.page_size << c.order} bytes leave {(k.page_size << c.order) - c.objects * c.size}.")
    k.kmem_cache_destroy(c)
    return Exercise("slab", f"On {_mach(k)}, kmem_cache_create(\"{name}\", {size}, {align}, {fl}, NULL): what is "
                    f"{ask}?", value, "int", expl)


def _slab_geometry(k: Kernel, c: Any, name: str, size: int, align: int, flags: Sequence[str],
                   what: str) -> Exercise:
    """cache_geometry() on a SLAB machine: buffer_size, num and gfporder (mm/slab.c
    kmem_cache_create(): the word, then the alignment; cache_estimate() with the management
    on or off the slab; calculate_slab_order() stops once the leftover is at most 1/8)."""
    value = {"stride": c.buffer_size, "objects": c.num, "order": c.gfporder}[what]
    ask = {"stride": "the object stride (cachep->buffer_size: bytes from one object to the next)",
           "objects": "the number of objects in one slab (cachep->num)", "order": "the slab order (gfporder)"}[what]
    fl = "|".join(flags) or "0"
    slab_bytes = k.page_size << c.gfporder
    where = ("off the slab (a kmem_bufctl_t array in a size-N/kmalloc cache)" if c.off_slab
             else "at the start of the slab")
    expl = (f"stride {c.buffer_size}: object {size} rounded up to the word, then to the alignment {c.align}"
            + (" (SLAB_HWCACHE_ALIGN: a cache line, halved while the object fits twice)"
               if "SLAB_HWCACHE_ALIGN" in flags else "")
            + f"; order {c.gfporder}: SLAB takes the smallest order whose leftover is at most 1/8 of the slab; "
              f"{c.num} objects of {c.buffer_size} bytes with the slab management {where} fill "
              f"{slab_bytes} bytes, the rest is colour ({c.colour} colours of {c.colour_off} bytes).")
    k.kmem_cache_destroy(c)
    return Exercise("slab", f"On {_mach(k)} (SLAB), kmem_cache_create(\"{name}\", {size}, {align}, {fl}, NULL): "
                    f"what is {ask}?", value, "int", expl)


# ============================================================================ GFP and contexts
_CONTEXTS = {
    "process context": None,
    "an interrupt handler (hardirq)": "hardirq",
    "a softirq (tasklet, timer)": "softirq",
    "code holding a spinlock": "spinlock",
}


def may_sleep(k: Kernel, flags: str) -> Exercise:
    """Whether an allocation with ``flags`` may sleep (direct reclaim)."""
    mask = k.gfp.mask(flags, "flags")
    sleeps = bool(mask & k.gfp.bits.direct_reclaim)
    bit = "__GFP_DIRECT_RECLAIM" if k.features.reclaim_flags_split else "__GFP_WAIT"
    return Exercise("gfp", f"On {k.profile.name}, may an allocation with {flags} sleep (enter direct reclaim "
                    "and wait)?", sleeps, "bool",
                    f"{flags} = {k.gfp.format(mask)}: {bit} is {'set' if sleeps else 'clear'}, so it "
                    + ("may sleep: never use it in atomic context." if sleeps else "never sleeps: it is safe in "
                       "interrupts and under spinlocks (and fails sooner)."))


def in_context(m: Machines, context: str, flags: str) -> Exercise:
    """What kmalloc(64, flags) does in a calling context: fine, or the might_sleep BUG."""
    if context not in _CONTEXTS:
        raise UsageError(f"context {context!r}: one of {', '.join(_CONTEXTS)}")
    k = m.fresh(on_bug="report")
    mark = len(k.log)
    how = _CONTEXTS[context]
    mask = k.gfp.mask(flags, "flags")
    if how is None:
        p = k.kmalloc(64, mask)
    elif how == "spinlock":
        lock = k.spinlock("quiz_lock")
        k.spin_lock(lock)
        p = k.kmalloc(64, mask)
        k.spin_unlock(lock)
    else:
        with getattr(k, how)():
            p = k.kmalloc(64, mask)
    log = k.log.dmesg(since=mark)
    bug = "BUG: sleeping function called from invalid context" in log
    choices = ["it allocates, silently", "BUG: sleeping function called from invalid context"]
    answer = choices[1] if bug else choices[0]
    if p:
        k.kfree(p)
    return Exercise("gfp", f"On {k.profile.name}, in {context}, kmalloc(64, {flags}) with CONFIG_DEBUG_ATOMIC_SLEEP: "
                    "what happens (memory is plentiful)?", answer, "choice",
                    ("might_alloc() -> might_sleep(): the flags allow direct reclaim, and this context may not "
                     "sleep, so the kernel reports it at once, even though no sleep was needed."
                     if bug else "Either the flags never sleep, or this context may sleep: nothing to report."),
                    choices)


def below_min(m: Machines, flags: str, ram: str | None = None) -> Exercise:
    """Whether an allocation with ``flags`` still succeeds when the zone is at its min
    watermark (GFP_KERNEL|__GFP_NORETRY has taken everything above it)."""
    k = m.fresh(ram=ram or _small_ram(m.profile), on_bug="report")
    g = k.gfp
    drain = g.GFP_KERNEL | g.__GFP_NORETRY | g.__GFP_NOWARN
    held = []
    while a := k.get_free_pages(drain, 0):
        held.append(a)
    mask = k.gfp.mask(flags, "flags") | g.__GFP_NOWARN
    got = k.get_free_pages(mask, 0)
    z = max((z for z in k.page_alloc.zones if z.present_pages), key=lambda z: z.managed_pages)
    high = bool(mask & g.bits.high)
    return Exercise("gfp", f"On {_mach(k)}, GFP_KERNEL|__GFP_NORETRY allocations have taken every page above the "
                    f"min watermark ({z.name}: {z.free_pages} free, min {z.watermark[0]}). Does "
                    f"get_free_pages({flags}, 0) succeed now?", bool(got), "bool",
                    f"{flags} = {g.format(k.gfp.mask(flags, 'flags'))}: "
                    + ("__GFP_HIGH lets it go below min (ALLOC_MIN_RESERVE: to min/2, less for atomic), so it "
                       "succeeds." if got and high else
                       "it succeeded." if got else
                       "without __GFP_HIGH (or the right to reclaim and retry) it stops at min and fails: the "
                       "reserve below min is kept for atomic allocations and the reclaimers themselves."))


def overwrite_report(k: Kernel, cache: Any, offset: int, value: bytes = b"A") -> Exercise:
    """Write ``value`` at ``offset`` from the start of an object of a debug ``cache`` (its
    object_size: the first byte past it; -1: the byte before it), free the object, and ask
    which report the kernel prints.  ``k`` should be booted with ``on_bug="report"``."""
    g = k.gfp
    obj = k.kmem_cache_alloc(cache, g.GFP_KERNEL)
    if not obj:
        raise UsageError(f"kmem_cache_alloc({cache.name}) failed")
    mark = len(k.log)
    k.write(obj + offset, value)
    try:
        k.kmem_cache_free(cache, obj)
    except kmemsim.KernelBug:
        pass  # on_bug="raise": the report is in dmesg all the same
    lines = [line.split("] ", 1)[-1] for line in k.log.dmesg(since=mark).splitlines()]
    choices = ["Right Redzone overwritten", "Left Redzone overwritten", "Poison overwritten",
               "kmalloc Redzone overwritten", "no report"]
    first = next((line for line in lines if line.startswith("[") and "overwritten]" in line), "")
    answer = next((c for c in choices if f"[{c}]" in first), "no report")
    where = "past the end of" if offset >= cache.object_size else "before" if offset < 0 else "inside"
    report = "\n".join(lines[:4])
    flags = "|".join(state.slab_flag_names(k, cache.flags))
    return Exercise("slab", f"A debug cache {cache.name} (flags {flags}): an object "
                    f"of {cache.object_size} bytes gets {len(value)} byte(s) written at offset {offset} ({where} "
                    "the object), then kmem_cache_free(). Which report does SLUB print?", answer, "choice",
                    "free_debug_processing() -> check_object() compares the red zones (0xcc while the object is "
                    "in use) and the padding with their patterns; the first wrong byte names the region.\n"
                    + (report or "(nothing in dmesg)"), choices)


def mempool_exhausted(m: Machines) -> Exercise:
    """A pool whose elements are all in use while memory is exhausted: what does
    mempool_alloc(pool, GFP_KERNEL) do, when another task frees an element 30 ms later?"""
    k = m.fresh(ram=_small_ram(m.profile))
    g = k.gfp
    c = k.kmem_cache_create("my_request", 192)
    pool = k.mempool_create_slab_pool(2, c) if c is not None else None
    if pool is None:
        raise UsageError(f"mempool_exhausted: no pool could be made on {_mach(k)}")
    held = []
    for mask in (g.GFP_KERNEL | g.__GFP_NORETRY, g.GFP_ATOMIC):
        while a := k.get_free_pages(mask | g.__GFP_NOWARN, 0):
            held.append(a)
    taken = []
    while e := k.mempool_alloc(pool, g.GFP_ATOMIC):
        taken.append(e)

    def completion() -> None:
        k.msleep(30)
        k.mempool_free(taken.pop(), pool)

    k.kthread_run(completion, "io_done")
    j = k.jiffies
    e = k.mempool_alloc(pool, g.GFP_KERNEL)
    waited = k.jiffies - j
    choices = ["returns NULL at once", "sleeps until an element is freed, then returns it",
               "BUG: sleeping function called from invalid context"]
    answer = choices[1] if e and waited > 0 else choices[0] if not e else "returns an element at once"
    if answer not in choices:
        choices.append(answer)
    return Exercise("gfp", f"On {_mach(k)} memory is exhausted and all {len(taken)} elements a driver took from its "
                    "mempool (min_nr 2, over a slab cache) are in use; GFP_ATOMIC gets NULL. Another task will "
                    "mempool_free() one element 30 ms from now. In process context, what does "
                    "mempool_alloc(pool, GFP_KERNEL) do?", answer, "choice",
                    f"mempool_alloc() with __GFP_DIRECT_RECLAIM never fails: when the allocator and the reserve "
                    f"are both empty it waits on the pool's wait queue (state D) until mempool_free() refills the "
                    f"reserve. Here it slept {waited} jiffies (HZ={k.HZ}).", choices)


def _small_ram(profile: str) -> str:
    return "64M" if get_profile(profile).arch == "i386" else "128M"


# ============================================================================ the quiz
def _q_addresses(rng: random.Random, m: Machines) -> Exercise:
    k = m.fresh()
    kind = rng.choice(["pa", "va", "zone", "boundary"])
    lowmem = k.max_low_pfn << k.page_shift
    if kind == "pa":
        return pa_of(k, k.layout.page_offset + rng.randrange(0x100000, lowmem, 0x1000) + rng.randrange(0, 0x1000, 8))
    if kind == "va":
        return va_of(k, rng.randrange(0x100000, lowmem, 0x1000) + rng.randrange(0, 0x1000, 16))
    if kind == "zone":
        zones = [z for z in k.page_alloc.zones if z.present_pages]
        z = rng.choice(zones)
        pfn = rng.randrange(max(z.zone_start_pfn, 1), z.zone_end_pfn)
        return zone_of_phys(k, (pfn << k.page_shift) + rng.randrange(0, k.page_size, 64))
    return layout_boundary(k, rng.choice(["vmalloc_start", "high_memory"]))


def _q_buddy(rng: random.Random, m: Machines) -> Exercise:
    kind = rng.choice(["after", "after", "split", "buddy"])
    k = m.fresh()
    zones = [z for z in k.page_alloc.zones if z.present_pages]
    if kind == "buddy":
        order = rng.randrange(0, 10)
        pfn = rng.randrange(1, max(2, k.max_pfn >> order)) << order
        return buddy_of(k, pfn, order)
    pcp = set(state.pcp_orders(k))
    orders = [o for o in range(1, k.page_alloc.max_order) if o not in pcp]
    if kind == "split":
        z = rng.choice(zones)
        order = rng.choice(orders)
        if not any(z.nr_free[o] for o in range(order, z.max_order + 1)):
            order = next(o for o in range(z.max_order + 1) if z.nr_free[o])
        return split_order(k, z.name, order)
    for _attempt in range(20):
        k = m.fresh()
        z = min(zones, key=lambda z: z.managed_pages)  # the small zone: short lines, a few blocks
        z = _zone(k, z.name)
        ops: list[tuple[str, int]] = []
        n_alloc = rng.randrange(2, 4)
        for _ in range(n_alloc):
            ops.append(("alloc", rng.choice(orders[: max(2, len(orders) // 2 + 1)])))
        frees = rng.sample(range(n_alloc), rng.randrange(1, n_alloc))  # one block at least stays allocated
        for i in frees:
            ops.insert(rng.randrange(i + 1, len(ops) + 1) if i + 1 <= len(ops) else len(ops), ("free", i))
        ops = _valid_order(ops)
        start = {p: o for p, (o, mt) in state.free_blocks(z).items() if mt != 4}
        try:
            pure_ops, ex = _run_traced(k, z.name, ops)
        except UsageError:
            continue
        if _pure_buddy(start, pure_ops, z.max_order) == ex.answer:
            return ex
    return split_order(m.fresh(), zones[0].name, orders[0])


def _valid_order(ops: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Frees after their allocation: reorder so that free i comes after alloc i."""
    out: list[tuple[str, int]] = []
    pending: list[int] = []
    n = 0
    for op, arg in ops:
        if op == "alloc":
            out.append((op, arg))
            n += 1
            for i in [p for p in pending if p < n]:
                out.append(("free", i))
                pending.remove(i)
        elif arg < n:
            out.append((op, arg))
        else:
            pending.append(arg)
    out.extend(("free", i) for i in pending)
    return out


def _run_traced(k: Kernel, zone: str, ops: list[tuple[str, int]]) -> tuple[list[tuple[str, int, int]], Exercise]:
    """buddyinfo_after, and the (op, pfn, order) steps the textbook check replays."""
    ex = buddyinfo_after(k, zone, ops)
    return ex.trace, ex


def _q_slab(rng: random.Random, m: Machines) -> Exercise:
    k = m.fresh()
    kind = rng.choice(["kmalloc", "geometry", "geometry"])
    if kind == "kmalloc":
        top = max(state.kmalloc_sizes(k))  # kmalloc-8k; 2.6.24 SLUB: kmalloc-2048
        return kmalloc_class(k, rng.choice([rng.randrange(1, 64), rng.randrange(65, 256), rng.randrange(257, top)]))
    size = rng.choice([rng.randrange(8, 128), rng.randrange(100, 700), rng.randrange(600, 3000)])
    flags = rng.choice([(), ("SLAB_HWCACHE_ALIGN",), ("SLAB_RED_ZONE",), ("SLAB_HWCACHE_ALIGN", "SLAB_RED_ZONE")])
    if k.slab.allocator != "slub":
        flags = tuple(f for f in flags if f != "SLAB_RED_ZONE")  # SLAB without DEBUG refuses it (BUG)
    align = rng.choice([0, 0, 8, 64])
    return cache_geometry(k, size, align, flags, rng.choice(["stride", "objects", "order"]))


def _known(k: Kernel, choices: list[str]) -> list[str]:
    """The flag expressions of ``choices`` this kernel has (2.6.11 has no GFP_NOWAIT)."""
    out = []
    for c in choices:
        try:
            k.gfp.mask(c, "flags")
        except UsageError:
            continue
        out.append(c)
    return out


def _q_gfp(rng: random.Random, m: Machines) -> Exercise:
    kind = rng.choice(["sleep", "context", "context", "reserve"])
    k = m.fresh()
    flags = rng.choice(_known(k, ["GFP_KERNEL", "GFP_ATOMIC", "GFP_NOWAIT", "GFP_NOIO", "GFP_NOFS", "GFP_USER"]))
    if kind == "sleep":
        return may_sleep(k, flags)
    if kind == "context":
        return in_context(m, rng.choice(list(_CONTEXTS)), rng.choice(_known(k, ["GFP_KERNEL", "GFP_ATOMIC",
                                                                                "GFP_NOWAIT"])))
    return below_min(m, rng.choice(_known(k, ["GFP_ATOMIC", "GFP_NOWAIT", "GFP_KERNEL|__GFP_NORETRY",
                                              "GFP_NOWAIT|__GFP_HIGH"])))


_MAKERS: dict[str, Callable[[random.Random, Machines], Exercise]] = {
    "addresses": _q_addresses, "buddy": _q_buddy, "slab": _q_slab, "gfp": _q_gfp}


def quiz(seed: int = 0, profile: str = kmemsim.DEFAULT_PROFILE, n: int = 6, topics: Sequence[str] = (),
         ram: str | None = None) -> list[Exercise]:
    """``n`` exercises drawn from ``seed`` on ``profile``: the same seed, profile and RAM give
    the same questions with the same answers (the model is deterministic)."""
    for t in topics:
        if t not in TOPICS:
            raise UsageError(f"topic {t!r}: one of {', '.join(TOPICS)}")
    if n < 1:
        raise UsageError(f"n={n}: ask for at least one question")
    m = Machines(profile, ram)
    rng = random.Random(f"kmemsim-quiz/{seed}/{profile}/{ram}")
    chosen = list(topics) or list(TOPICS)
    out = []
    for i in range(n):
        topic = chosen[i % len(chosen)] if i < len(chosen) else rng.choice(chosen)
        out.append(_MAKERS[topic](rng, m))
    return out
