"""I/O memory resources: the ``iomem_resource`` tree, request_mem_region and /proc/iomem.

Models kernel/resource.c and include/linux/ioport.h of Linux 6.18 (read in the 6.17-rc3
tree, where these functions are as in 6.18): ``__request_resource``,
``__release_resource``, ``__insert_resource`` (``insert_resource``,
``insert_resource_expand_to_fit``, ``remove_resource``), ``__request_region`` /
``__release_region`` with their nesting rule (a conflict with a resource that is not
``IORESOURCE_BUSY`` is descended into; a busy conflict fails), ``find_next_iomem_res`` /
``walk_mem_res`` / ``walk_system_ram_range``, ``iomem_map_sanity_check``,
``reserve_region_with_split`` and ``r_show`` (the /proc/iomem line).

The tree a machine boots with follows the order in which the kernel fills it:

* linux-6.18-x86_64 (arch/x86/kernel/setup.c, probe_roms.c, e820.c, apic/io_apic.c,
  the ACPI PCI host bridge of the reference host, a Firecracker guest): "System ROM";
  the kernel image resources ("Kernel code", "Kernel rodata", "Kernel data",
  "Kernel bss"); ``e820__reserve_resources()`` inserting the busy e820 ranges
  ("System RAM", "Reserved" below 1 MiB) so that they adopt the resources already
  there; the host bridge windows "PCI Bus 0000:00"; "PCI ECAM 0000 [bus 00-00]";
  "IOAPIC 0"; then ``e820__reserve_resources_late()``: the non-busy "Reserved"
  ranges with ``insert_resource_expand_to_fit`` and the "RAM buffer" after each RAM
  range.  With ``ram="24G"`` this is the reference host's /proc/iomem less its
  firmware device (AMZNC10C:00) and its PCI devices (add those with
  ``k.add_device``).
* linux-2.6-i386 (2.6.24 arch/x86/kernel/e820_32.c ``init_iomem_resources``,
  setup_32.c): "System ROM", then each e820 range below 4 GiB requested at the top
  level ("System RAM" / "reserved", busy), the kernel's "Kernel code",
  "Kernel data", "Kernel bss" requested inside the RAM range that holds them,
  then "Video RAM area".  2.6.24's ``__request_region`` took no flags argument and
  set only ``IORESOURCE_BUSY``; its release warning printed ``<%016llx-%016llx>``.

Which kernel a machine runs is asked of its features, never of a version string:
``e820_reserve_resources_late`` chooses the boot tree (the first list above, or the second,
which also fits 2.6.11 but for its missing "Kernel bss": ``iomem_kernel_bss``);
``iomem_exclusive`` (2.6.26) the flags of ``__request_region``; ``iores_sysram`` (4.6) how
System RAM is known and what a requested region inherits; ``iomem_hide_unprivileged``
(4.15) the zeros; ``resource_size_t`` and ``release_region_pa`` the release warning
(2.6.11: ``<%08lx-%08lx>``).  The width of ``resource_size_t`` is the architecture's.

/proc/iomem is ``r_show`` for both: ``"%*s%0*llx-%0*llx : %s\\n"`` with two spaces
per level (at most ``MAX_IORES_LEVEL`` = 5), width 4 when the root ends below
0x10000 and 8 otherwise, longer values printed in full.  The formats are the same
for root; 6.x also prints zeros for readers without CAP_SYS_ADMIN
(``proc_iomem(cap_sys_admin=False)``), 2.6.24 did not hide anything.

Simplified, and said so:
  * no /proc/ioports (``ioport_resource`` exists, empty); no IORESOURCE_MUXED waits
    (a muxed request that would sleep is a UsageError: nobody else runs to wake it);
  * ROMs are not scanned (no "Video ROM"/"Adapter ROM": the model has no ROM bytes),
    2.6.24's Local APIC and IO-APIC resources are not listed;
  * resources a driver requests are kzalloc'ed (kmalloc-64 on x86_64, kmalloc-32 on
    i386) so slabinfo sees them; boot-time resources are static or memblock memory
    and cost nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..errors import InvariantError, UsageError
from ..printk import KERN_INFO, KERN_WARNING

if TYPE_CHECKING:  # pragma: no cover
    from ..machine import Machine as Kernel

# include/linux/ioport.h (6.18; the low bits are the same in 2.6.24)
IORESOURCE_BITS = 0x000000FF
IORESOURCE_TYPE_BITS = 0x00001F00
IORESOURCE_IO = 0x00000100
IORESOURCE_MEM = 0x00000200
IORESOURCE_REG = 0x00000300
IORESOURCE_IRQ = 0x00000400
IORESOURCE_DMA = 0x00000800
IORESOURCE_BUS = 0x00001000
IORESOURCE_PREFETCH = 0x00002000
IORESOURCE_READONLY = 0x00004000
IORESOURCE_CACHEABLE = 0x00008000
IORESOURCE_MEM_64 = 0x00100000
IORESOURCE_WINDOW = 0x00200000
IORESOURCE_MUXED = 0x00400000
IORESOURCE_EXT_TYPE_BITS = 0x01000000
IORESOURCE_SYSRAM = 0x01000000
IORESOURCE_EXCLUSIVE = 0x08000000
IORESOURCE_DISABLED = 0x10000000
IORESOURCE_UNSET = 0x20000000
IORESOURCE_BUSY = 0x80000000
IORESOURCE_SYSTEM_RAM = IORESOURCE_MEM | IORESOURCE_SYSRAM

IORES_DESC_NONE = 0
IORES_DESC_CRASH_KERNEL = 1
IORES_DESC_ACPI_TABLES = 2
IORES_DESC_ACPI_NV_STORAGE = 3
IORES_DESC_PERSISTENT_MEMORY = 4
IORES_DESC_PERSISTENT_MEMORY_LEGACY = 5
IORES_DESC_DEVICE_PRIVATE_MEMORY = 6
IORES_DESC_RESERVED = 7
IORES_DESC_SOFT_RESERVED = 8
IORES_DESC_CXL = 9

IORES_MAP_SYSTEM_RAM = 1 << 0
IORES_MAP_ENCRYPTED = 1 << 1

MAX_IORES_LEVEL = 5
EBUSY, EINVAL = 16, 22

#: sizeof(struct resource): 64 on x86_64 (8 words); 28 on 2.6.24 i386 with a 32-bit
#: resource_size_t (start, end, name, flags, parent, sibling, child)
RESOURCE_SIZE = {64: 64, 32: 28}


class Resource:
    """``struct resource``: ``[start, end]`` (end inclusive), a name, flags and the tree
    links (``parent``, the first ``child``, the next ``sibling``), as the kernel keeps them."""

    __slots__ = ("start", "end", "name", "flags", "desc", "parent", "sibling", "child", "obj")

    def __init__(self, start: int = 0, end: int = 0, name: str | None = None, flags: int = IORESOURCE_MEM,
                 desc: int = IORES_DESC_NONE):
        self.start = start
        self.end = end
        self.name = name
        self.flags = flags
        self.desc = desc
        self.parent: Resource | None = None
        self.sibling: Resource | None = None
        self.child: Resource | None = None
        self.obj = 0  # the kzalloc'ed struct resource, for requested regions

    def resource_size(self) -> int:
        return self.end - self.start + 1

    def children(self) -> Iterator[Resource]:
        c = self.child
        while c is not None:
            yield c
            c = c.sibling

    def __repr__(self) -> str:
        return f"<resource {pR(self)} {self.name!r}>"


def resource_type(res: Resource) -> int:
    return res.flags & IORESOURCE_TYPE_BITS


def pR(res: Resource) -> str:
    """``%pR``: "[mem 0xfec00000-0xfec003ff window]" (lib/vsprintf.c resource_string, decoded)."""
    if res.flags & IORESOURCE_IO:
        kind, width = "io  ", 6
    elif res.flags & IORESOURCE_MEM:
        kind, width = "mem ", 10
    elif res.flags & IORESOURCE_BUS:
        kind, width = "bus ", 4
    else:
        kind, width = "??? ", 10

    def num(v: int) -> str:
        return f"0x{v:0{width - 2}x}"

    out = f"[{kind}{num(res.start)}"
    if res.start != res.end:
        out += f"-{num(res.end)}"
    for bit, word in ((IORESOURCE_MEM_64, " 64bit"), (IORESOURCE_PREFETCH, " pref"), (IORESOURCE_WINDOW, " window"),
                      (IORESOURCE_DISABLED, " disabled")):
        if res.flags & bit:
            out += word
    return out + "]"


def pa(v: int) -> str:
    """``%pa`` of a 64-bit phys_addr_t: 0x and 16 hex digits."""
    return f"0x{v:016x}"


# ------------------------------------------------------------------ the tree (kernel/resource.c)
def _request_resource(root: Resource, new: Resource) -> Resource | None:
    """__request_resource(): link ``new`` among ``root``'s children; the conflicting resource, or None."""
    start, end = new.start, new.end
    if end < start or start < root.start or end > root.end:
        return root
    prev = None
    tmp = root.child
    while True:
        if tmp is None or tmp.start > end:
            new.sibling = tmp
            if prev is None:
                root.child = new
            else:
                prev.sibling = new
            new.parent = root
            return None
        if tmp.end < start:
            prev, tmp = tmp, tmp.sibling
            continue
        return tmp


request_resource_conflict = _request_resource


def request_resource(root: Resource, new: Resource) -> int:
    """request_resource(root, new): 0, or -EBUSY on a conflict."""
    return -EBUSY if _request_resource(root, new) is not None else 0


def _release_resource(old: Resource, release_child: bool) -> int:
    parent = old.parent
    if parent is None:
        return -EINVAL
    prev = None
    tmp = parent.child
    while tmp is not None:
        if tmp is old:
            if release_child or tmp.child is None:
                nxt = tmp.sibling
            else:
                chd = tmp.child
                while True:
                    chd.parent = parent
                    if chd.sibling is None:
                        break
                    chd = chd.sibling
                chd.sibling = tmp.sibling
                nxt = tmp.child
                tmp.child = None
            if prev is None:
                parent.child = nxt
            else:
                prev.sibling = nxt
            old.parent = None
            old.sibling = None
            return 0
        prev, tmp = tmp, tmp.sibling
    return -EINVAL


def release_resource(old: Resource) -> int:
    """release_resource(old): unlink it with its children; 0 or -EINVAL."""
    return _release_resource(old, True)


def remove_resource(old: Resource) -> int:
    """remove_resource(old): unlink it, its children move up to its place."""
    return _release_resource(old, False)


def _insert_resource(parent: Resource, new: Resource) -> Resource | None:
    while True:
        first = _request_resource(parent, new)
        if first is None:
            return None
        if first is parent or first is new:
            return first
        if first.start > new.start or first.end < new.end:
            break
        if first.start == new.start and first.end == new.end:
            break
        parent = first
    nxt = first
    while True:
        if nxt.start < new.start or nxt.end > new.end:
            return nxt  # partial overlap: bad, and unfixable
        if nxt.sibling is None or nxt.sibling.start > new.end:
            break
        nxt = nxt.sibling
    new.parent = parent
    new.sibling = nxt.sibling
    new.child = first
    nxt.sibling = None
    c: Resource | None = first
    while c is not None:
        c.parent = new
        c = c.sibling
    if parent.child is first:
        parent.child = new
    else:
        p = parent.child
        while p.sibling is not first:  # type: ignore[union-attr]
            p = p.sibling  # type: ignore[union-attr]
        p.sibling = new  # type: ignore[union-attr]
    return None


insert_resource_conflict = _insert_resource


def insert_resource(parent: Resource, new: Resource) -> int:
    """insert_resource(parent, new): like request_resource, but resources that fit entirely
    inside ``new`` become its children.  0 or -EBUSY."""
    return -EBUSY if _insert_resource(parent, new) is not None else 0


def next_resource(p: Resource, skip_children: bool, subtree_root: Resource | None) -> Resource | None:
    if not skip_children and p.child is not None:
        return p.child
    while p.sibling is None and p.parent is not None:
        p = p.parent
        if p is subtree_root:
            return None
    return p.sibling


def for_each_resource(root: Resource, skip_children: bool = False) -> Iterator[Resource]:
    """Pre-order over the subtree under ``root`` (root excluded), as /proc/iomem lists it."""
    p = root.child
    while p is not None:
        yield p
        p = next_resource(p, skip_children, root)


def r_show(root: Resource, r: Resource, *, cap_sys_admin: bool = True) -> str:
    """One /proc/iomem (or /proc/ioports) line: r_show() of kernel/resource.c."""
    width = 4 if root.end < 0x10000 else 8
    depth = 0
    p = r
    while depth < MAX_IORES_LEVEL:
        if p.parent is root:
            break
        depth += 1
        p = p.parent  # type: ignore[assignment]
    start, end = (r.start, r.end) if cap_sys_admin else (0, 0)
    name = r.name if r.name is not None else "<BAD>"
    return f"{'':{depth * 2}}{start:0{width}x}-{end:0{width}x} : {name}\n"


def format_resources(root: Resource, *, cap_sys_admin: bool = True) -> str:
    """The whole file: every resource under ``root`` in pre-order."""
    return "".join(r_show(root, r, cap_sys_admin=cap_sys_admin) for r in for_each_resource(root))


def parse_resources(text: str, root_end: int = (1 << 64) - 1, name: str = "PCI mem") -> Resource:
    """A resource tree from /proc/iomem text (the nesting from the indentation).

    For tests and host snapshots: ``format_resources(parse_resources(t)) == t``."""
    root = Resource(0, root_end, name, IORESOURCE_MEM)
    stack: list[Resource] = [root]
    last_child: dict[int, Resource] = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip(" ")
        indent = len(line) - len(stripped)
        head, sep, rname = stripped.partition(" : ")
        a, dash, b = head.partition("-")
        if indent % 2 or not sep or not dash:
            raise UsageError(f"iomem line {lineno}: {line!r} is not 'start-end : name'")
        try:
            start, end = int(a, 16), int(b, 16)
        except ValueError:
            raise UsageError(f"iomem line {lineno}: {line!r}: bad hex range") from None
        depth = indent // 2
        if depth > len(stack) - 1:
            raise UsageError(f"iomem line {lineno}: indented deeper than its parent")
        del stack[depth + 1:]
        parent = stack[depth]
        res = Resource(start, end, rname, IORESOURCE_MEM)
        res.parent = parent
        prev = last_child.get(id(parent))
        if prev is None:
            parent.child = res
        else:
            prev.sibling = res
        last_child[id(parent)] = res
        stack.append(res)
    return root


def check_tree(root: Resource, limit: int = 1 << 20) -> list[str]:
    """Well nested and sorted: each resource inside its parent, siblings in address order
    without overlap, the links consistent, no cycles."""
    errs: list[str] = []
    seen = 0
    stack = [root]
    while stack:
        node = stack.pop()
        prev = None
        for c in node.children():
            seen += 1
            if seen > limit:
                return errs + ["the tree has a cycle"]
            if c.parent is not node:
                errs.append(f"{c!r} is linked under {node!r} but its parent is {c.parent!r}")
            if c.end < c.start:
                errs.append(f"{c!r} ends before it starts")
            if c.start < node.start or c.end > node.end:
                errs.append(f"{c!r} is not inside its parent {node!r}")
            if prev is not None and c.start <= prev.end:
                errs.append(f"{c!r} overlaps or precedes its sibling {prev!r}")
            prev = c
            stack.append(c)
    return errs


# ------------------------------------------------------------------ the machine's iomem
class IoResources:
    """``iomem_resource`` (and an empty ``ioport_resource``) of one machine, built at boot by
    :func:`iomem_init` (which registers the "iomem" invariant check and /proc/iomem).

    What differs between kernels is read once from the machine's features: the boot tree
    (``e820_reserve_resources_late``: the x86 e820 code's two passes, else i386's
    legacy_init_iomem_resources), ``iomem_kernel_bss``, ``iomem_exclusive``, ``iores_sysram``,
    ``iomem_hide_unprivileged`` and the format of the release warning (``resource_size_t``,
    ``release_region_pa``).  ``resource_size_t`` is as wide as the physical address: 32 bits
    on non-PAE i386 (2.6.24 without CONFIG_RESOURCES_64BIT), 64 on x86_64.
    """

    def __init__(self, k: Kernel):
        self.k = k
        f = k.features
        self.bits = k.layout.bits  # resource_size_t
        self.mask = (1 << self.bits) - 1
        self.iomem_resource = Resource(0, self.mask, "PCI mem", IORESOURCE_MEM)
        self.ioport_resource = Resource(0, 0xFFFF, "PCI IO", IORESOURCE_IO)
        self.kernel_resources: list[Resource] = []
        self.gfp_bits = k.gfp.bits
        self.exclusive = f.iomem_exclusive
        self.sysram = f.iores_sysram
        self.hide_unprivileged = f.iomem_hide_unprivileged
        self.linux = "linux-" + ".".join(map(str, f.version))  # "linux-2.6.24", for messages
        if f.release_region_pa:
            self._release_fmt = "<{pa_start}-{pa_end}>"
        elif f.resource_size_t:
            self._release_fmt = "<{start:016x}-{end:016x}>"
        else:
            self._release_fmt = "<{start:08x}-{end:08x}>"
        #: the e820 table as the kernel keeps it after setup_arch() (the first page reserved
        #: by the e820 code that builds the two-pass tree)
        self.first_page_reserved = f.e820_reserve_resources_late
        if f.e820_reserve_resources_late:
            self._boot_e820_two_pass()
        else:
            self._boot_legacy(f.iomem_kernel_bss)

    # ---------------------------------------------------------------- the API (kernel names)
    def request_resource(self, root: Resource, new: Resource) -> int:
        """request_resource(root, new): 0 or -EBUSY."""
        return request_resource(root, new)

    def insert_resource(self, parent: Resource, new: Resource) -> int:
        """insert_resource(parent, new): 0 or -EBUSY; resources inside ``new`` become its children."""
        return insert_resource(parent, new)

    def release_resource(self, old: Resource) -> int:
        """release_resource(old): 0 or -EINVAL."""
        return release_resource(old)

    # ---------------------------------------------------------------- boot
    def kernel_e820(self) -> list[tuple[int, int, str]]:
        """The kernel's e820 table after setup_arch(): (start, end exclusive, type).
        6.x turns the first page into "reserved" (e820: update ... usable ==> reserved)."""
        out = []
        for e in self.k.e820:
            if self.first_page_reserved and e.type == "usable" and e.start == 0:
                ps = self.k.page_size
                out.append((0, ps, "reserved"))
                out.append((ps, e.end, e.type))
            else:
                out.append((e.start, e.end, e.type))
        return out

    def _image(self, names: tuple[str, ...], flags: int) -> list[Resource]:
        img = self.k.arch.setup.kernel_image
        out = []
        for n in names:
            if n not in img:
                continue  # a section the architecture's image layout does not have (i386: no rodata)
            a, b = img[n]
            out.append(Resource(a, b - 1, n, flags))
        self.kernel_resources = out
        return out

    def _boot_e820_two_pass(self) -> None:
        """6.18 (and 6.6): setup_arch(), e820__reserve_resources(), the PCI host bridge,
        e820__reserve_resources_late()."""
        root = self.iomem_resource
        sysram = IORESOURCE_SYSTEM_RAM if self.sysram else IORESOURCE_MEM
        # probe_roms(): the system ROM is always requested (no ROM scanning here)
        request_resource(root, Resource(0xF0000, 0xFFFFF, "System ROM",
                                        IORESOURCE_BUSY | IORESOURCE_READONLY | IORESOURCE_MEM))
        # setup_arch(): the kernel image, before the e820 ranges that will adopt it
        for r in self._image(("Kernel code", "Kernel rodata", "Kernel data", "Kernel bss"),
                             IORESOURCE_BUSY | sysram):
            insert_resource(root, r)
        # e820__reserve_resources(): busy ranges now, the rest after PCI
        late = []
        table = self.kernel_e820()
        for start, end, typ in table:
            ram = typ == "usable"
            res = Resource(start, end - 1, "System RAM" if ram else "Reserved",
                           sysram if ram else IORESOURCE_MEM,
                           IORES_DESC_NONE if ram else IORES_DESC_RESERVED)
            if ram or start < (1 << 20):  # do_mark_busy()
                res.flags |= IORESOURCE_BUSY
                insert_resource(root, res)
            else:
                late.append(res)
        # the ACPI host bridge windows of the reference host, then its ECAM and IO-APIC
        ram_top = max(end for _start, end, typ in table if typ == "usable")
        windows = [(0xC0001000, 0xEEBFFFFF), (0xEEC00000, 0xEECFFFFF)]
        if ram_top <= 0x4000000000:
            windows.append((0x4000000000, 0x7FFFFFFFFF))
        for a, b in windows:
            insert_resource(root, Resource(a, b, "PCI Bus 0000:00", IORESOURCE_MEM | IORESOURCE_WINDOW))
        insert_resource(root, Resource(0xEEC00000, 0xEECFFFFF, "PCI ECAM 0000 [bus 00-00]",
                                       IORESOURCE_MEM | IORESOURCE_BUSY))
        insert_resource(root, Resource(0xFEC00000, 0xFEC003FF, "IOAPIC 0", IORESOURCE_MEM | IORESOURCE_BUSY))
        # e820__reserve_resources_late()
        for res in late:
            self.insert_resource_expand_to_fit(root, res)
        for _start, end, typ in table:
            if typ != "usable":
                continue
            mb = end >> 20
            align = 64 << 10 if not mb else (1 << 20) if mb < 16 else 64 << 20  # ram_alignment()
            stop = ((end + align - 1) // align) * align - 1
            if end < stop:  # (its KERN_DEBUG "e820: reserve RAM buffer" line is not logged)
                self.reserve_region_with_split(root, end, stop, "RAM buffer")

    def _boot_legacy(self, bss: bool) -> None:
        """i386 (2.6.24 arch/x86/kernel/e820_32.c, 2.6.11 arch/i386/kernel/setup.c)
        legacy_init_iomem_resources() and request_standard_resources(); "Kernel bss" with
        ``iomem_kernel_bss``."""
        root = self.iomem_resource
        request_resource(root, Resource(0xF0000, 0xFFFFF, "System ROM",
                                        IORESOURCE_BUSY | IORESOURCE_READONLY | IORESOURCE_MEM))
        names = ("Kernel code", "Kernel data", "Kernel bss") if bss else ("Kernel code", "Kernel data")
        kernel = self._image(names, IORESOURCE_BUSY | IORESOURCE_MEM)
        for start, end, typ in self.kernel_e820():
            if end > 1 << 32:  # !CONFIG_RESOURCES_64BIT
                continue
            res = Resource(start, end - 1, "System RAM" if typ == "usable" else "reserved",
                           IORESOURCE_MEM | IORESOURCE_BUSY)
            if request_resource(root, res):
                continue
            if typ == "usable":
                for kr in kernel:
                    request_resource(res, kr)
        request_resource(root, Resource(0xA0000, 0xBFFFF, "Video RAM area", IORESOURCE_BUSY | IORESOURCE_MEM))

    def insert_resource_expand_to_fit(self, root: Resource, new: Resource) -> None:
        """insert_resource_expand_to_fit(): grow ``new`` over whatever it partly overlaps."""
        if new.parent is not None:
            return
        while True:
            conflict = _insert_resource(root, new)
            if conflict is None or conflict is root:
                break
            new.start = min(new.start, conflict.start)
            new.end = max(new.end, conflict.end)
            self.k.printk(f"Expanded resource {new.name} due to conflict with {conflict.name}", KERN_INFO)

    def reserve_region_with_split(self, root: Resource, start: int, end: int, name: str) -> None:
        """__reserve_region_with_split(): reserve [start, end] around whatever is already there."""
        typ = resource_type(root)
        res: Resource | None = Resource(start, end, name, typ | IORESOURCE_BUSY)
        parent = root
        next_res: Resource | None = None
        while res is not None:
            conflict = _request_resource(parent, res)
            if conflict is None:
                res, next_res = next_res, None
                continue
            if conflict.start <= res.start and conflict.end >= res.end:
                break  # the conflict covers the whole area
            if conflict.start > res.start:
                e = res.end
                res.end = conflict.start - 1
                if conflict.end < e:
                    next_res = Resource(conflict.end + 1, e, name, typ | IORESOURCE_BUSY)
            else:
                res.start = conflict.end + 1

    # ---------------------------------------------------------------- regions
    def _kzalloc(self) -> int:
        b = self.gfp_bits
        return self.k.slab.kmalloc(RESOURCE_SIZE[self.bits], b.kernel | b.zero)

    def _check_range(self, start: int, n: int, what: str) -> None:
        for v, label in ((start, "start"), (n, "n")):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise UsageError(f"{what}: {label} {v!r} must be a non-negative integer (resource_size_t)")
            if v > self.mask:
                raise UsageError(f"{what}: {label} {v:#x} does not fit in a {self.bits}-bit resource_size_t")

    def request_region(self, parent: Resource, start: int, n: int, name: str, flags: int = 0) -> Resource | None:
        """``__request_region(parent, start, n, name, flags)``: a new busy resource nested under
        whatever non-busy resource holds it, or None (NULL) if a busy one is in the way."""
        self._check_range(start, n, "__request_region")
        if flags and not self.exclusive:
            raise UsageError(f"__request_region: {self.linux} took no flags (no "
                             "_exclusive or _muxed variants before 2.6.26)")
        obj = self._kzalloc()
        if not obj:
            return None
        res = Resource(start, (start + n - 1) & self.mask, name, 0)
        res.obj = obj
        while True:
            if self.sysram:  # the parent's type, ext type and descriptor
                res.flags = resource_type(parent) | (parent.flags & IORESOURCE_EXT_TYPE_BITS)
                res.flags |= IORESOURCE_BUSY | flags
                res.desc = parent.desc
            else:
                res.flags = IORESOURCE_BUSY | flags
            conflict = _request_resource(parent, res)
            if conflict is None:
                return res
            if conflict is not parent and not conflict.flags & IORESOURCE_BUSY:
                parent = conflict
                continue
            if conflict.flags & flags & IORESOURCE_MUXED:
                self.k.slab.kfree(obj)
                raise UsageError(f"request_mem_region_muxed: {conflict.name} holds the range; the caller would "
                                 "sleep until it is released, and nobody else runs in this model")
            self.k.slab.kfree(obj)
            return None

    def release_region(self, parent: Resource, start: int, n: int) -> None:
        """``__release_region(parent, start, n)``: the busy region must match exactly."""
        self._check_range(start, n, "__release_region")
        end = (start + n - 1) & self.mask
        prev: Resource | None = None
        owner = parent
        res = parent.child
        while res is not None:
            if res.start <= start and res.end >= end:
                if not res.flags & IORESOURCE_BUSY:
                    owner, prev, res = res, None, res.child
                    continue
                if res.start != start or res.end != end:
                    break
                if prev is None:
                    owner.child = res.sibling
                else:
                    prev.sibling = res.sibling
                res.parent = res.sibling = None
                if res.obj:
                    self.k.slab.kfree(res.obj)
                    res.obj = 0
                return
            prev, res = res, res.sibling
        where = self._release_fmt.format(start=start, end=end, pa_start=pa(start), pa_end=pa(end))
        self.k.printk(f"Trying to free nonexistent resource {where}", KERN_WARNING)

    def request_mem_region(self, start: int, n: int, name: str) -> Resource | None:
        """request_mem_region(start, n, name) = __request_region(&iomem_resource, ...)."""
        return self.request_region(self.iomem_resource, start, n, name, 0)

    def request_mem_region_exclusive(self, start: int, n: int, name: str) -> Resource | None:
        """request_mem_region_exclusive(): IORESOURCE_EXCLUSIVE (user space may not map it)."""
        if not self.exclusive:
            raise UsageError(f"request_mem_region_exclusive() was added in 2.6.26; "
                             f"{self.linux} has request_mem_region()")
        return self.request_region(self.iomem_resource, start, n, name, IORESOURCE_EXCLUSIVE)

    def release_mem_region(self, start: int, n: int) -> None:
        """release_mem_region(start, n) = __release_region(&iomem_resource, start, n)."""
        self.release_region(self.iomem_resource, start, n)

    # ---------------------------------------------------------------- queries
    def find_next_iomem_res(self, start: int, end: int, flags: int, desc: int) -> Resource | None:
        """The lowest resource (pre-order) that covers part of [start, end] and has ``flags``
        (and ``desc`` unless IORES_DESC_NONE), clipped to the range; None for -ENODEV."""
        if start >= end:
            return None
        for p in for_each_resource(self.iomem_resource):
            if p.start > end:
                return None
            if p.end < start:
                continue
            if (p.flags & flags) == flags and (desc == IORES_DESC_NONE or desc == p.desc):
                r = Resource(max(start, p.start), min(end, p.end), p.name, p.flags, p.desc)
                r.parent = p.parent
                return r
        return None

    def walk_iomem_res(self, start: int, end: int, flags: int, fn: Callable[[Resource], int]) -> int:
        """__walk_iomem_res_desc() with IORES_DESC_NONE; walk_mem_res() is flags MEM|BUSY."""
        ret = -EINVAL
        while start < end:
            res = self.find_next_iomem_res(start, end, flags, IORES_DESC_NONE)
            if res is None:
                break
            ret = fn(res)
            if ret:
                break
            start = res.end + 1
        return ret

    def walk_mem_res(self, start: int, end: int, fn: Callable[[Resource], int]) -> int:
        return self.walk_iomem_res(start, end, IORESOURCE_MEM | IORESOURCE_BUSY, fn)

    def system_ram_ranges(self) -> list[tuple[int, int]]:
        """The top-level "System RAM" resources as [start, end) byte ranges."""
        return [(r.start, r.end + 1) for r in self.iomem_resource.children() if self.is_system_ram(r)]

    def is_system_ram(self, r: Resource) -> bool:
        """A System RAM resource: by its IORESOURCE_SYSRAM flag, or by its name before
        ``iores_sysram`` (the kernel's walk_system_ram_range() then matched "System RAM")."""
        if not self.sysram:
            return r.name == "System RAM"
        return (r.flags & IORESOURCE_SYSTEM_RAM) == IORESOURCE_SYSTEM_RAM

    def pagerange_is_ram(self, start: int, end: int) -> int:
        """pat_pagerange_is_ram(start, end) (6.18 arch/x86/mm/pat/memtype.c): 1 if the pages
        are System RAM, 0 if not, -1 if a gap precedes RAM in the range (the legacy ISA
        region below 1 MiB counts as not RAM)."""
        s = self.k.page_shift
        start_pfn, end_pfn = start >> s, (end + (1 << s) - 1) >> s
        start_pfn = max(start_pfn, 0x100000 >> s)
        if start_pfn >= end_pfn:
            return 0
        state = {"cur": start_pfn, "ram": False, "not_ram": False}

        def cb(res: Resource) -> int:  # walk_system_ram_range() + pagerange_is_ram_callback()
            pfn, stop = (res.start + (1 << s) - 1) >> s, (res.end + 1) >> s
            if stop <= pfn:
                return 0
            state["not_ram"] |= pfn > state["cur"]
            state["ram"] = True
            state["cur"] = stop
            return int(state["ram"] and state["not_ram"])

        ret = self.walk_iomem_res(start_pfn << s, (end_pfn << s) - 1, IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, cb)
        return -1 if ret > 0 else (1 if state["ram"] else 0)

    def iomem_map_sanity_check(self, addr: int, size: int) -> int:
        """iomem_map_sanity_check(): -1 (with its pr_warn) if [addr, addr+size) spans more
        than one non-busy resource slot, else 0."""
        end = addr + size - 1
        s = self.k.page_shift
        for p in for_each_resource(self.iomem_resource):
            if p.start > end or p.end < addr:
                continue
            if (p.start >> s) <= (addr >> s) and (p.end >> s) >= (end >> s):
                continue
            if p.flags & IORESOURCE_BUSY:
                continue
            self.k.printk(f"resource sanity check: requesting [mem {pa(addr)}-{pa(end)}], which spans more than "
                          f"{p.name} {pR(p)}", KERN_WARNING)
            return -1
        return 0

    def region_intersects_ram(self, start: int, size: int) -> bool:
        """Whether [start, start+size) overlaps a System RAM resource."""
        end = start + size - 1
        return any(a <= end and start < b for a, b in self.system_ram_ranges())

    # ---------------------------------------------------------------- views
    def proc_iomem(self, cap_sys_admin: bool = True) -> str:
        """/proc/iomem as root reads it (``cap_sys_admin=False``: zeros since 4.15)."""
        return format_resources(self.iomem_resource, cap_sys_admin=cap_sys_admin or not self.hide_unprivileged)

    def check(self) -> None:
        for root in (self.iomem_resource, self.ioport_resource):
            errs = check_tree(root)
            if errs:
                raise InvariantError("iomem", "; ".join(errs[:5]))


def iomem_init(k: Kernel) -> None:
    """e820__reserve_resources() and the kernel's own resources: the iomem tree (``k.resources``),
    its "iomem" invariant check and /proc/iomem."""
    res = IoResources(k)
    k.resources = res
    k.checks.register("iomem", res.check)
    k.procfs.create("iomem", res.proc_iomem)
