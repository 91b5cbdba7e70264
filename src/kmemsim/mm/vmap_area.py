"""vmap areas: the kernel virtual address allocator behind vmalloc, vmap and ioremap.

Models mm/vmalloc.c of Linux 6.18 ("Global kva allocator" and "vmap nodes"; read in
the 6.17-rc3 tree, where these parts are the same as 6.18) and lib/rbtree.c with
include/linux/rbtree_augmented.h, and, for the linux-2.6-i386 profile, the sorted
``vmlist`` of 2.6.24 (:class:`Vmlist`).

What 6.18 keeps, and this module keeps the same way::

    free_vmap_area_root   augmented red-black tree of FREE ranges, keyed by address,
    free_vmap_area_list   each node holding subtree_max_size = the largest free range
                          below it; the list gives O(1) neighbours for merging
    vmap_nodes[i].busy    per vmap node: plain rb tree + list of allocated areas
    vmap_nodes[i].lazy    per vmap node: freed but not yet purged areas ("unpurged vm_area")
    vmap_nodes[i].pool[]  per vmap node: size-segregated LIFO lists of purged areas
                          (<= 256 pages each), reused before the free tree is searched
    ne_fit_preload_node   per CPU: a spare vmap_area for the "no edge" split

``nr_vmap_nodes = clamp(num_possible_cpus, 1, 128)`` on 64-bit, one node on 32-bit;
an address belongs to node ``(addr / vmap_zone_size) % nr_vmap_nodes`` with 64 KiB
zones when there is more than one node.

Before the vmap nodes (6.9, ``vmap_nodes=False``; 6.6 mm/vmalloc.c) there was one busy
tree, one purge list merged back in address order and no pools: the allocator then runs
with a single node, which has no pools, and purges in list order.  The failure message
of alloc_vmap_area() names the address range from 6.11 (``range_fail_msg``).

The red-black tree is lib/rbtree.c translated line by line (insert, erase with the
successor, the same rotations and the same augment callbacks of
``RB_DECLARE_CALLBACKS_MAX``), so the tree has the kernel's shape after the same
sequence of operations and find_vmap_lowest_match() visits the same nodes, which
matters for alignments above PAGE_SIZE.  Every operation is O(log n).

Simplified, and said so:
  * single-threaded: the locks are gone, and the purge work and its helper workers
    run inline in vmap node order when scheduled (``schedule_work`` hook);
  * vmap_area objects are Python objects; when an ``obj_alloc`` hook is given each
    one also owns a real object of the "vmap_area" slab cache (for slabinfo), but its
    fields are not written into that object's bytes;
  * no KASAN shadow, no vmap_block (vm_map_ram) sub-allocator, no pcpu_get_vm_areas.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from ..errors import InvariantError, UsageError

if TYPE_CHECKING:  # pragma: no cover
    from .vmalloc import VmStruct

__all__ = [
    "VmapArea", "VmapAllocator", "VmapTreeCorrupt", "Vmlist", "RBRoot", "RBList", "VMAP_RAM", "VMAP_BLOCK",
    "NOTHING_FIT", "FL_FIT_TYPE", "LE_FIT_TYPE", "RE_FIT_TYPE", "NE_FIT_TYPE", "inorder", "rb_erase",
    "rb_insert_color", "rb_link_node", "rb_next", "rb_first",
]

LEFT, RIGHT = 0, 1

#: va->flags low bits (mm/vmalloc.c)
VMAP_RAM = 0x1
VMAP_BLOCK = 0x2
VMAP_FLAGS_MASK = 0x3
BITS_PER_BYTE = 8
#: "A fast size storage contains VAs up to 1M size": pool index = pages - 1 < 256
MAX_VA_SIZE_PAGES = 256

# enum fit_type
NOTHING_FIT, FL_FIT_TYPE, LE_FIT_TYPE, RE_FIT_TYPE, NE_FIT_TYPE = range(5)


class VmapTreeCorrupt(InvariantError):
    """The vmap area trees or lists are inconsistent (a kmemsim bug or deliberate corruption)."""

    def __init__(self, message: str):
        super().__init__("vmap_area", message)


class VmapArea:
    """``struct vmap_area``: [va_start, va_end) with its rb node and list links.

    In the kernel ``subtree_max_size`` (free tree) and ``vm`` (busy tree) share a
    union; they are two fields here.  ``obj`` is the address of the slab object that
    backs it (0 when no allocation hook is wired).
    """

    __slots__ = ("va_start", "va_end", "rb_parent", "rb_left", "rb_right", "rb_red",
                 "subtree_max_size", "vm", "flags", "prev", "next", "obj")

    def __init__(self, va_start: int = 0, va_end: int = 0, obj: int = 0):
        self.va_start = va_start
        self.va_end = va_end
        self.rb_parent: VmapArea | None = self  # RB_CLEAR_NODE: parent points at itself
        self.rb_left: VmapArea | None = None
        self.rb_right: VmapArea | None = None
        self.rb_red = True
        self.subtree_max_size = 0
        self.vm: VmStruct | None = None
        self.flags = 0
        self.prev: VmapArea | _ListHead = self  # INIT_LIST_HEAD
        self.next: VmapArea | _ListHead = self
        self.obj = obj

    @property
    def size(self) -> int:
        """va_size()."""
        return self.va_end - self.va_start

    def __repr__(self) -> str:
        return f"<vmap_area {self.va_start:#x}-{self.va_end:#x} {self.va_end - self.va_start}>"


class _ListHead:
    """A ``struct list_head`` used as a list's sentinel."""

    __slots__ = ("prev", "next")

    def __init__(self) -> None:
        self.prev: VmapArea | _ListHead = self
        self.next: VmapArea | _ListHead = self

    def empty(self) -> bool:
        return self.next is self

    def __iter__(self) -> Iterator[VmapArea]:
        n = self.next
        while n is not self:
            nxt = n.next
            yield n  # type: ignore[misc]
            n = nxt


class RBRoot:
    """``struct rb_root``."""

    __slots__ = ("rb_node",)

    def __init__(self) -> None:
        self.rb_node: VmapArea | None = None


def _list_add(new: VmapArea, head: VmapArea | _ListHead) -> None:
    """list_add(new, head): insert ``new`` right after ``head``."""
    nxt = head.next
    nxt.prev = new
    new.next = nxt
    new.prev = head
    head.next = new


def _list_del_init(e: VmapArea) -> None:
    e.prev.next = e.next
    e.next.prev = e.prev
    e.prev = e.next = e


# =====================================================================================
# lib/rbtree.c and include/linux/rbtree_augmented.h, translated.
#
# The node colour is a bool (rb_red) and the parent a pointer, where the kernel packs
# both into __rb_parent_color.  The only augmentation in use is the free tree's
# RB_DECLARE_CALLBACKS_MAX(subtree_max_size, va_size); ``aug`` selects it.
# =====================================================================================

def _compute_max(node: VmapArea, exit_: bool) -> bool:
    """RBNAME_compute_max(): subtree_max_size = max(va_size, children's); True if unchanged."""
    m = node.va_end - node.va_start
    c = node.rb_left
    if c is not None and c.subtree_max_size > m:
        m = c.subtree_max_size
    c = node.rb_right
    if c is not None and c.subtree_max_size > m:
        m = c.subtree_max_size
    if exit_ and node.subtree_max_size == m:
        return True
    node.subtree_max_size = m
    return False


def _aug_propagate(node: VmapArea | None, stop: VmapArea | None) -> None:
    """RBNAME_propagate(): recompute upwards until a node's value does not change."""
    while node is not stop:
        if _compute_max(node, True):  # type: ignore[arg-type]
            break
        node = node.rb_parent  # type: ignore[union-attr]


def _aug_rotate(old: VmapArea, new: VmapArea) -> None:
    new.subtree_max_size = old.subtree_max_size
    _compute_max(old, False)


def _change_child(old: VmapArea, new: VmapArea | None, parent: VmapArea | None, root: RBRoot) -> None:
    if parent is not None:
        if parent.rb_left is old:
            parent.rb_left = new
        else:
            parent.rb_right = new
    else:
        root.rb_node = new


def _rotate_set_parents(old: VmapArea, new: VmapArea, root: RBRoot, red: bool) -> None:
    parent = old.rb_parent
    new.rb_parent = parent
    new.rb_red = old.rb_red
    old.rb_parent = new
    old.rb_red = red
    _change_child(old, new, parent, root)


def rb_link_node(node: VmapArea, parent: VmapArea | None, side: int | None, root: RBRoot) -> None:
    """rb_link_node(): attach ``node`` as a red leaf at the link found by the search."""
    node.rb_parent = parent
    node.rb_red = True
    node.rb_left = node.rb_right = None
    if parent is None:
        root.rb_node = node
    elif side == LEFT:
        parent.rb_left = node
    else:
        parent.rb_right = node


def rb_insert_color(node: VmapArea, root: RBRoot, aug: bool) -> None:
    """__rb_insert(): rebalance after rb_link_node (rb_insert_color / rb_insert_augmented)."""
    parent = node.rb_parent
    while True:
        if parent is None:
            node.rb_parent = None
            node.rb_red = False
            break
        if not parent.rb_red:
            break
        gparent = parent.rb_parent
        tmp = gparent.rb_right  # type: ignore[union-attr]
        if parent is not tmp:  # parent == gparent->rb_left
            if tmp is not None and tmp.rb_red:
                # Case 1 - node's uncle is red (color flips).
                tmp.rb_parent, tmp.rb_red = gparent, False
                parent.rb_parent, parent.rb_red = gparent, False
                node = gparent  # type: ignore[assignment]
                parent = node.rb_parent
                node.rb_red = True
                continue
            tmp = parent.rb_right
            if node is tmp:
                # Case 2 - left rotate at parent
                tmp = node.rb_left
                parent.rb_right = tmp
                node.rb_left = parent
                if tmp is not None:
                    tmp.rb_parent, tmp.rb_red = parent, False
                parent.rb_parent, parent.rb_red = node, True
                if aug:
                    _aug_rotate(parent, node)
                parent = node
                tmp = node.rb_right
            # Case 3 - right rotate at gparent
            gparent.rb_left = tmp  # type: ignore[union-attr]
            parent.rb_right = gparent
            if tmp is not None:
                tmp.rb_parent, tmp.rb_red = gparent, False
            _rotate_set_parents(gparent, parent, root, True)  # type: ignore[arg-type]
            if aug:
                _aug_rotate(gparent, parent)  # type: ignore[arg-type]
            break
        else:
            tmp = gparent.rb_left  # type: ignore[union-attr]
            if tmp is not None and tmp.rb_red:
                # Case 1 - color flips
                tmp.rb_parent, tmp.rb_red = gparent, False
                parent.rb_parent, parent.rb_red = gparent, False
                node = gparent  # type: ignore[assignment]
                parent = node.rb_parent
                node.rb_red = True
                continue
            tmp = parent.rb_left
            if node is tmp:
                # Case 2 - right rotate at parent
                tmp = node.rb_right
                parent.rb_left = tmp
                node.rb_right = parent
                if tmp is not None:
                    tmp.rb_parent, tmp.rb_red = parent, False
                parent.rb_parent, parent.rb_red = node, True
                if aug:
                    _aug_rotate(parent, node)
                parent = node
                tmp = node.rb_left
            # Case 3 - left rotate at gparent
            gparent.rb_right = tmp  # type: ignore[union-attr]
            parent.rb_left = gparent
            if tmp is not None:
                tmp.rb_parent, tmp.rb_red = gparent, False
            _rotate_set_parents(gparent, parent, root, True)  # type: ignore[arg-type]
            if aug:
                _aug_rotate(gparent, parent)  # type: ignore[arg-type]
            break


def _erase_color(parent: VmapArea, root: RBRoot, aug: bool) -> None:
    """____rb_erase_color(): restore the black height after removing a black node."""
    node = None
    while True:
        sibling = parent.rb_right
        if node is not sibling:  # node == parent->rb_left
            if sibling.rb_red:  # type: ignore[union-attr]
                # Case 1 - left rotate at parent
                tmp1 = sibling.rb_left  # type: ignore[union-attr]
                parent.rb_right = tmp1
                sibling.rb_left = parent  # type: ignore[union-attr]
                tmp1.rb_parent, tmp1.rb_red = parent, False  # type: ignore[union-attr]
                _rotate_set_parents(parent, sibling, root, True)  # type: ignore[arg-type]
                if aug:
                    _aug_rotate(parent, sibling)  # type: ignore[arg-type]
                sibling = tmp1
            tmp1 = sibling.rb_right  # type: ignore[union-attr]
            if tmp1 is None or not tmp1.rb_red:
                tmp2 = sibling.rb_left  # type: ignore[union-attr]
                if tmp2 is None or not tmp2.rb_red:
                    # Case 2 - sibling color flip
                    sibling.rb_parent, sibling.rb_red = parent, True  # type: ignore[union-attr]
                    if parent.rb_red:
                        parent.rb_red = False
                    else:
                        node = parent
                        parent = node.rb_parent  # type: ignore[assignment]
                        if parent is not None:
                            continue
                    break
                # Case 3 - right rotate at sibling
                tmp1 = tmp2.rb_right
                sibling.rb_left = tmp1  # type: ignore[union-attr]
                tmp2.rb_right = sibling
                parent.rb_right = tmp2
                if tmp1 is not None:
                    tmp1.rb_parent, tmp1.rb_red = sibling, False
                if aug:
                    _aug_rotate(sibling, tmp2)  # type: ignore[arg-type]
                tmp1 = sibling
                sibling = tmp2
            # Case 4 - left rotate at parent + color flips
            tmp2 = sibling.rb_left  # type: ignore[union-attr]
            parent.rb_right = tmp2
            sibling.rb_left = parent  # type: ignore[union-attr]
            tmp1.rb_parent, tmp1.rb_red = sibling, False  # type: ignore[union-attr]
            if tmp2 is not None:
                tmp2.rb_parent = parent
            _rotate_set_parents(parent, sibling, root, False)  # type: ignore[arg-type]
            if aug:
                _aug_rotate(parent, sibling)  # type: ignore[arg-type]
            break
        else:
            sibling = parent.rb_left
            if sibling.rb_red:  # type: ignore[union-attr]
                # Case 1 - right rotate at parent
                tmp1 = sibling.rb_right  # type: ignore[union-attr]
                parent.rb_left = tmp1
                sibling.rb_right = parent  # type: ignore[union-attr]
                tmp1.rb_parent, tmp1.rb_red = parent, False  # type: ignore[union-attr]
                _rotate_set_parents(parent, sibling, root, True)  # type: ignore[arg-type]
                if aug:
                    _aug_rotate(parent, sibling)  # type: ignore[arg-type]
                sibling = tmp1
            tmp1 = sibling.rb_left  # type: ignore[union-attr]
            if tmp1 is None or not tmp1.rb_red:
                tmp2 = sibling.rb_right  # type: ignore[union-attr]
                if tmp2 is None or not tmp2.rb_red:
                    # Case 2 - sibling color flip
                    sibling.rb_parent, sibling.rb_red = parent, True  # type: ignore[union-attr]
                    if parent.rb_red:
                        parent.rb_red = False
                    else:
                        node = parent
                        parent = node.rb_parent  # type: ignore[assignment]
                        if parent is not None:
                            continue
                    break
                # Case 3 - left rotate at sibling
                tmp1 = tmp2.rb_left
                sibling.rb_right = tmp1  # type: ignore[union-attr]
                tmp2.rb_left = sibling
                parent.rb_left = tmp2
                if tmp1 is not None:
                    tmp1.rb_parent, tmp1.rb_red = sibling, False
                if aug:
                    _aug_rotate(sibling, tmp2)  # type: ignore[arg-type]
                tmp1 = sibling
                sibling = tmp2
            # Case 4 - right rotate at parent + color flips
            tmp2 = sibling.rb_right  # type: ignore[union-attr]
            parent.rb_left = tmp2
            sibling.rb_right = parent  # type: ignore[union-attr]
            tmp1.rb_parent, tmp1.rb_red = sibling, False  # type: ignore[union-attr]
            if tmp2 is not None:
                tmp2.rb_parent = parent
            _rotate_set_parents(parent, sibling, root, False)  # type: ignore[arg-type]
            if aug:
                _aug_rotate(parent, sibling)  # type: ignore[arg-type]
            break


def rb_erase(node: VmapArea, root: RBRoot, aug: bool) -> None:
    """rb_erase() / rb_erase_augmented(): __rb_erase_augmented + __rb_erase_color.

    A node with two children is replaced by its successor (the leftmost node of its
    right subtree), which takes its place and colour, as lib/rbtree.c does.
    """
    child = node.rb_right
    tmp = node.rb_left
    if tmp is None:
        # Case 1: node to erase has no more than 1 child (easy!)
        parent = node.rb_parent
        _change_child(node, child, parent, root)
        if child is not None:
            child.rb_parent, child.rb_red = parent, node.rb_red
            rebalance = None
        else:
            rebalance = parent if not node.rb_red else None
        tmp = parent
    elif child is None:
        # Still case 1, but this time the child is node->rb_left
        parent = node.rb_parent
        tmp.rb_parent, tmp.rb_red = parent, node.rb_red
        _change_child(node, tmp, parent, root)
        rebalance = None
        tmp = parent
    else:
        successor = child
        tmp = child.rb_left
        if tmp is None:
            # Case 2: node's successor is its right child
            parent = successor
            child2 = successor.rb_right
            if aug:
                successor.subtree_max_size = node.subtree_max_size  # augment->copy
        else:
            # Case 3: node's successor is leftmost under node's right child subtree
            while tmp is not None:
                parent = successor
                successor = tmp
                tmp = tmp.rb_left
            child2 = successor.rb_right
            parent.rb_left = child2  # type: ignore[union-attr]
            successor.rb_right = child
            child.rb_parent = successor
            if aug:
                successor.subtree_max_size = node.subtree_max_size  # augment->copy
                _aug_propagate(parent, successor)
        tmp = node.rb_left
        successor.rb_left = tmp
        tmp.rb_parent = successor  # type: ignore[union-attr]
        gp = node.rb_parent
        _change_child(node, successor, gp, root)
        if child2 is not None:
            child2.rb_parent, child2.rb_red = parent, False
            rebalance = None
        else:
            rebalance = parent if not successor.rb_red else None
        successor.rb_parent, successor.rb_red = gp, node.rb_red
        tmp = successor
    if aug:
        _aug_propagate(tmp, None)
    if rebalance is not None:
        _erase_color(rebalance, root, aug)


def rb_next(node: VmapArea) -> VmapArea | None:
    if node.rb_right is not None:
        node = node.rb_right
        while node.rb_left is not None:
            node = node.rb_left
        return node
    parent = node.rb_parent
    while parent is not None and node is parent.rb_right:
        node, parent = parent, parent.rb_parent
    return parent


def rb_first(root: RBRoot) -> VmapArea | None:
    n = root.rb_node
    if n is None:
        return None
    while n.rb_left is not None:
        n = n.rb_left
    return n


def inorder(root: RBRoot) -> Iterator[VmapArea]:
    """The nodes of a tree in address order (an iterative in-order walk)."""
    stack: list[VmapArea] = []
    n = root.rb_node
    while stack or n is not None:
        while n is not None:
            stack.append(n)
            n = n.rb_left
        n = stack.pop()
        yield n
        n = n.rb_right


class RBList:
    """``struct rb_list``: a tree and its address-sorted list, kept together."""

    __slots__ = ("root", "head")

    def __init__(self) -> None:
        self.root = RBRoot()
        self.head = _ListHead()


class VmapPool:
    """``struct vmap_pool``: one size class of a vmap node's pool (LIFO at the head)."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: deque[VmapArea] = deque()

    @property
    def len(self) -> int:
        return len(self.items)


class VmapNode:
    """``struct vmap_node``: busy and lazy trees and the per-size pools of one node."""

    __slots__ = ("id", "pool", "skip_populate", "busy", "lazy", "purge_list", "nr_purged")

    def __init__(self, id_: int):
        self.id = id_
        self.pool: dict[int, VmapPool] = {}  # index (pages - 1) -> pool, made on first use
        self.skip_populate = False
        self.busy = RBList()
        self.lazy = RBList()
        self.purge_list: list[VmapArea] = []
        self.nr_purged = 0


# =====================================================================================
# The 6.18 allocator
# =====================================================================================

class VmapAllocator:
    """The global kva allocator of one machine (free tree, vmap nodes, lazy purge).

    Hooks (all optional, so the allocator runs standalone in tests):

    ``obj_alloc() -> int`` / ``obj_free(addr)``
        kmem_cache_alloc/free of the "vmap_area" cache; ``obj_alloc`` returning 0
        is an allocation failure (-ENOMEM).
    ``warn(where, message)``
        WARN()/WARN_ON_ONCE() reports (overlaps, bad pools).
    ``pr_warn(text)``
        the "vmalloc_node_range for size ... failed" line.
    ``flush_tlb_kernel_range(start, end)``
        called once per purge over the union of the purged ranges.
    ``schedule_work(fn)``
        how the drain work runs; the default runs it at once.
    ``cpu() -> int``
        raw_smp_processor_id().

    ``vmap_nodes=False`` is the allocator before 6.9 (one node, no pools, purges merged in
    address order); ``range_fail_msg=False`` the failure message before 6.11.
    """

    def __init__(
        self,
        *,
        page_shift: int = 12,
        bits: int = 64,
        vmalloc_start: int,
        vmalloc_end: int,
        nr_possible_cpus: int = 1,
        nr_online_cpus: int | None = None,
        obj_alloc: Callable[[], int] | None = None,
        obj_free: Callable[[int], None] | None = None,
        warn: Callable[[str, str], None] | None = None,
        pr_warn: Callable[[str], None] | None = None,
        flush_tlb_kernel_range: Callable[[int, int], None] | None = None,
        schedule_work: Callable[[Callable[[], None]], None] | None = None,
        cpu: Callable[[], int] | None = None,
        vmap_nodes: bool = True,
        range_fail_msg: bool = True,
    ):
        self.page_shift = page_shift
        self.page_size = 1 << page_shift
        self.bits = bits
        self.ulong_max = (1 << bits) - 1
        self.vmalloc_start = vmalloc_start
        self.vmalloc_end = vmalloc_end
        self.nr_cpus = nr_possible_cpus
        self.nr_online_cpus = nr_possible_cpus if nr_online_cpus is None else nr_online_cpus
        self._obj_alloc = obj_alloc
        self._obj_free = obj_free
        self._warn = warn
        self._pr_warn = pr_warn
        self._flush = flush_tlb_kernel_range
        self.schedule_work = schedule_work or (lambda fn: fn())
        self._cpu = cpu or (lambda: 0)
        self.warnings: list[str] = []  # what was reported without a warn hook
        self._warned_once: set[str] = set()
        self.vmap_nodes = vmap_nodes
        self.range_fail_msg = range_fail_msg

        # vmap_init_nodes(): 64-bit only; 16-page zones when there is more than one node
        n = max(1, min(nr_possible_cpus, 128)) if bits == 64 and vmap_nodes else 1
        self.nr_vmap_nodes = n
        self.vmap_zone_size = (16 * self.page_size) if n > 1 else 1
        self.nodes = [VmapNode(i) for i in range(n)]

        self.free_root = RBRoot()
        self.free_head = _ListHead()
        self.ne_fit_preload_node: list[VmapArea | None] = [None] * max(1, nr_possible_cpus)
        self.vmap_lazy_nr = 0  # pages in the lazy trees
        self.nr_purges = 0
        self.tlb_flushes = 0
        self.objects = 0  # vmap_area objects alive (slab accounting)
        self.vmap_init_free_space()

    # ------------------------------------------------------------------ helpers
    def lazy_max_pages(self) -> int:
        """lazy_max_pages() = fls(num_online_cpus()) * (32 MB / PAGE_SIZE)."""
        return self.nr_online_cpus.bit_length() * ((32 << 20) >> self.page_shift)

    def addr_to_node_id(self, addr: int) -> int:
        return (addr // self.vmap_zone_size) % self.nr_vmap_nodes

    def encode_vn_id(self, node_id: int) -> int:
        if node_id < self.nr_vmap_nodes:
            return (node_id + 1) << BITS_PER_BYTE
        self._warn_once("encode_vn_id", "encode_vn_id+0x0/0x0", f"Encode wrong node id ({node_id})")
        return 0

    def decode_vn_id(self, val: int) -> int:
        node_id = ((val >> BITS_PER_BYTE) - 1) & 0xFFFFFFFF
        if node_id < self.nr_vmap_nodes:
            return node_id
        if node_id != 0xFFFFFFFF:
            self._warn_once("decode_vn_id", "decode_vn_id+0x0/0x0", f"Decode wrong node id ({node_id})")
        return self.nr_vmap_nodes

    def _report(self, where: str, message: str) -> None:
        if self._warn is not None:
            self._warn(where, message)
        else:
            self.warnings.append(message)

    def _warn_once(self, key: str, where: str, message: str) -> None:
        if key in self._warned_once:
            return
        self._warned_once.add(key)
        self._report(where, message)

    def _new_va(self) -> VmapArea | None:
        """kmem_cache_alloc(vmap_area_cachep, ...); None on failure."""
        obj = 0
        if self._obj_alloc is not None:
            obj = self._obj_alloc()
            if not obj:
                return None
        self.objects += 1
        return VmapArea(obj=obj)

    def _free_va(self, va: VmapArea) -> None:
        """kmem_cache_free(vmap_area_cachep, va)."""
        self.objects -= 1
        if self._obj_free is not None and va.obj:
            self._obj_free(va.obj)
        va.obj = 0

    # ------------------------------------------------------------------ init
    def vmap_init_free_space(self) -> None:
        """vmap_init_free_space(): the whole KVA space [1, ULONG_MAX) is one free block
        (there are no early vmlist entries on the modelled x86_64 config)."""
        free = self._new_va()
        if free is None:  # pragma: no cover - boot-time allocation
            raise UsageError("vmap_init_free_space: no vmap_area object")
        free.va_start, free.va_end = 1, self.ulong_max
        self.insert_vmap_area_augment(free, None, self.free_root, self.free_head)

    # ------------------------------------------------------------------ tree/list glue
    def find_va_links(self, va: VmapArea, root: RBRoot | None,
                      from_: VmapArea | None) -> tuple[VmapArea | None, int] | None:
        """find_va_links(): (parent, side) where ``va`` would be linked; None on overlap.

        An overlap is the kernel's WARN "vmalloc bug: ..."; the insertion is declined.
        """
        if root is not None:
            node = root.rb_node
            if node is None:
                return None, LEFT
        else:
            node = from_
        parent = None
        side = LEFT
        s, e = va.va_start, va.va_end
        while node is not None:
            if e <= node.va_start:
                parent, side, node = node, LEFT, node.rb_left
            elif s >= node.va_end:
                parent, side, node = node, RIGHT, node.rb_right
            else:
                self._report(
                    "find_va_links+0x0/0x0",
                    f"vmalloc bug: 0x{s:x}-0x{e:x} overlaps with 0x{node.va_start:x}-0x{node.va_end:x}",
                )
                return None
        return parent, side

    @staticmethod
    def _link_va(va: VmapArea, root: RBRoot, parent: VmapArea | None, side: int, head: _ListHead,
                 augment: bool) -> None:
        """__link_va(): rb_link_node + insert colour + address-sorted list_add."""
        if parent is not None:
            h = parent if side == RIGHT else parent.prev
        else:
            h = head
        rb_link_node(va, parent, side, root)
        if augment:
            rb_insert_color(va, root, True)
            # "we set subtree_max_size to zero after insertion, to let
            # __augment_tree_propagate_from() puts everything to the correct order"
            va.subtree_max_size = 0
        else:
            rb_insert_color(va, root, False)
        _list_add(va, h)

    def _unlink_va(self, va: VmapArea, root: RBRoot, augment: bool) -> None:
        """__unlink_va(): erase from the tree, list_del_init, RB_CLEAR_NODE."""
        if va.rb_parent is va:
            self._report("__unlink_va+0x0/0x0", "")  # WARN_ON(RB_EMPTY_NODE(&va->rb_node))
            return
        rb_erase(va, root, augment)
        _list_del_init(va)
        va.rb_parent = va

    def insert_vmap_area(self, va: VmapArea, rbl: RBList) -> None:
        """insert_vmap_area(): plain insert into a busy or lazy tree."""
        link = self.find_va_links(va, rbl.root, None)
        if link is not None:
            self._link_va(va, rbl.root, link[0], link[1], rbl.head, False)

    def insert_vmap_area_augment(self, va: VmapArea, from_: VmapArea | None, root: RBRoot, head: _ListHead) -> None:
        """insert_vmap_area_augment(): insert into the free tree and propagate the maxima."""
        link = self.find_va_links(va, None if from_ is not None else root, from_)
        if link is not None:
            self._link_va(va, root, link[0], link[1], head, True)
            _aug_propagate(va, None)

    # ------------------------------------------------------------------ merge on free
    # __merge_or_add_vmap_area(): a freed range is inserted where it belongs, and if
    # it touches its list neighbours it is merged into them instead:
    #
    #     |<------VA------>|<-----Next----->|     next->va_start == va->va_end:
    #                                              next grows down, va is freed
    #     |<-----Prev----->|<------VA------>|     prev->va_end == va->va_start:
    #                                              prev grows up (when both merge,
    #                                              "next" is unlinked first)
    #
    # The augmented variant then propagates subtree_max_size from the surviving node.
    def merge_or_add_vmap_area(self, va: VmapArea, root: RBRoot, head: _ListHead, augment: bool) -> VmapArea | None:
        link = self.find_va_links(va, root, None)
        if link is None:
            return None
        parent, side = link
        merged = False
        if parent is not None:
            nxt = parent.next if side == RIGHT else parent
            if nxt is not head:
                sib = nxt
                if sib.va_start == va.va_end:  # type: ignore[union-attr]
                    sib.va_start = va.va_start  # type: ignore[union-attr]
                    self._free_va(va)
                    va = sib  # type: ignore[assignment]
                    merged = True
            prv = nxt.prev
            if prv is not head:
                sib = prv
                if sib.va_end == va.va_start:  # type: ignore[union-attr]
                    if merged:
                        self._unlink_va(va, root, augment)
                    sib.va_end = va.va_end  # type: ignore[union-attr]
                    self._free_va(va)
                    va = sib  # type: ignore[assignment]
                    merged = True
        if not merged:
            self._link_va(va, root, parent, side, head, augment)
        return va

    def merge_or_add_vmap_area_augment(self, va: VmapArea) -> VmapArea | None:
        """merge_or_add_vmap_area_augment() into the global free tree."""
        va2 = self.merge_or_add_vmap_area(va, self.free_root, self.free_head, True)
        if va2 is not None:
            _aug_propagate(va2, None)
        return va2

    # ------------------------------------------------------------------ lowest match
    @staticmethod
    def is_within_this_va(va: VmapArea, size: int, align: int, vstart: int) -> bool:
        s = va.va_start if va.va_start > vstart else vstart
        nva = (s + align - 1) & -align
        # "Can be overflowed due to big size or alignment." (unsigned long arithmetic)
        if nva < vstart:
            return False
        return nva + size <= va.va_end

    # find_vmap_lowest_match(): the lowest-addressed free block that fits.
    #
    # Go left while the left subtree has a block of at least ``length`` and vstart is
    # below this node; otherwise test this node, then go right if the right subtree
    # has a block that long; when neither works, climb back up testing each parent and
    # descending into the first right subtree that can hold ``length``, moving vstart
    # past the parent so the left side just checked is not entered again.  ``length``
    # is size + align - 1 when the alignment is above PAGE_SIZE (worst-case waste), so
    # subtrees are pruned on that while the nodes visited are tested exactly.
    def find_vmap_lowest_match(self, size: int, align: int, vstart: int, adjust_search_size: bool) -> VmapArea | None:
        node = self.free_root.rb_node
        length = size + align - 1 if adjust_search_size else size
        within = self.is_within_this_va
        while node is not None:
            va = node
            left = node.rb_left
            if left is not None and left.subtree_max_size >= length and vstart < va.va_start:
                node = left
                continue
            if within(va, size, align, vstart):
                return va
            right = node.rb_right
            if right is not None and right.subtree_max_size >= length:
                node = right
                continue
            # roll back up and find the first right subtree that satisfies the search
            while True:
                node = node.rb_parent
                if node is None:
                    break
                va = node
                if within(va, size, align, vstart):
                    return va
                right = node.rb_right
                if right is not None and right.subtree_max_size >= length and vstart <= va.va_start:
                    vstart = va.va_start + 1
                    node = right
                    break
        return None

    @staticmethod
    def classify_va_fit_type(va: VmapArea, nva_start: int, size: int) -> int:
        if nva_start < va.va_start or nva_start + size > va.va_end:
            return NOTHING_FIT
        if va.va_start == nva_start:
            return FL_FIT_TYPE if va.va_end == nva_start + size else LE_FIT_TYPE
        if va.va_end == nva_start + size:
            return RE_FIT_TYPE
        return NE_FIT_TYPE

    # va_clip(): carve [nva_start, nva_start + size) out of the free block ``va``:
    #
    #   FL  |<------NVA------>|          the block fits exactly: unlink and free it
    #   LE  |<--NVA-->|<--R-->|          left edge: va_start moves up
    #   RE  |<--L-->|<--NVA-->|          right edge: va_end moves down
    #   NE  |<-L->|<-NVA->|<-R->|        no edge: va keeps R, a new node (the CPU's
    #                                    preloaded spare) takes L and is inserted below va
    #
    # After LE/RE/NE the maxima are propagated from va.
    def va_clip(self, va: VmapArea, nva_start: int, size: int) -> int:
        typ = self.classify_va_fit_type(va, nva_start, size)
        lva = None
        if typ == FL_FIT_TYPE:
            self._unlink_va(va, self.free_root, True)
            self._free_va(va)
        elif typ == LE_FIT_TYPE:
            va.va_start += size
        elif typ == RE_FIT_TYPE:
            va.va_end = nva_start
        elif typ == NE_FIT_TYPE:
            cpu = self._cpu()
            lva = self.ne_fit_preload_node[cpu]
            self.ne_fit_preload_node[cpu] = None
            if lva is None:
                lva = self._new_va()  # kmem_cache_alloc(vmap_area_cachep, GFP_NOWAIT)
                if lva is None:
                    return -12  # -ENOMEM
            lva.va_start = va.va_start
            lva.va_end = nva_start
            va.va_start = nva_start + size
        else:
            return -22  # -EINVAL
        if typ != FL_FIT_TYPE:
            _aug_propagate(va, None)
            if lva is not None:
                self.insert_vmap_area_augment(lva, va, self.free_root, self.free_head)
        return 0

    def va_alloc(self, va: VmapArea, size: int, align: int, vstart: int, vend: int) -> int | None:
        s = va.va_start if va.va_start > vstart else vstart
        nva = (s + align - 1) & -align
        if nva + size > vend:
            return None  # -ERANGE
        ret = self.va_clip(va, nva, size)
        if ret:
            self._warn_once("va_alloc", "va_alloc+0x0/0x0", "")  # WARN_ON_ONCE(ret)
            return None
        return nva

    def _alloc_range(self, size: int, align: int, vstart: int, vend: int) -> int | None:
        """__alloc_vmap_area(): the start of the new range, or None."""
        adjust = not (align <= self.page_size or (vend - vstart) == size)
        va = self.find_vmap_lowest_match(size, align, vstart, adjust)
        if va is None:
            return None
        return self.va_alloc(va, size, align, vstart, vend)

    # ------------------------------------------------------------------ pools
    def size_to_va_pool(self, vn: VmapNode, size: int) -> VmapPool | None:
        idx = (size - 1) >> self.page_shift
        if idx < MAX_VA_SIZE_PAGES:
            p = vn.pool.get(idx)
            if p is None:
                p = vn.pool[idx] = VmapPool()
            return p
        return None

    def node_pool_add_va(self, vn: VmapNode, va: VmapArea) -> bool:
        vp = self.size_to_va_pool(vn, va.va_end - va.va_start)
        if vp is None:
            return False
        vp.items.appendleft(va)  # list_add(): at the head
        return True

    def node_pool_del_va(self, vn: VmapNode, size: int, align: int, vstart: int, vend: int) -> VmapArea | None:
        idx = (size - 1) >> self.page_shift
        vp = vn.pool.get(idx) if idx < MAX_VA_SIZE_PAGES else None
        if vp is None or not vp.items:
            return None
        va = vp.items[0]
        if va.va_start & (align - 1) == 0:
            err = (va.va_end - va.va_start != size) or va.va_start < vstart or va.va_end > vend
            if err:
                self._warn_once("node_pool_del_va", "node_pool_del_va+0x0/0x0", "")
                return None
            vp.items.popleft()
            return va
        vp.items.rotate(-1)  # list_move_tail(): the misaligned head goes to the tail
        return None

    def node_alloc(self, size: int, align: int, vstart: int, vend: int) -> tuple[VmapArea | None, int | None, int]:
        """node_alloc(): (va or None, addr or None, encoded vn_id)."""
        if vstart != self.vmalloc_start or vend != self.vmalloc_end or self.nr_vmap_nodes == 1:
            return None, None, 0
        vn_id = self._cpu() % self.nr_vmap_nodes
        va = self.node_pool_del_va(self.nodes[vn_id], size, align, vstart, vend)
        enc = self.encode_vn_id(vn_id)
        return va, (va.va_start if va is not None else None), enc

    def decay_va_pool_node(self, vn: VmapNode, full_decay: bool) -> None:
        """decay_va_pool_node(): ~25% of each pool (all with full_decay) back to the free
        tree, merged among themselves first in a private tree."""
        decay_root, decay_head = RBRoot(), _ListHead()
        for i in sorted(vn.pool):
            items = vn.pool[i].items
            if not items:
                continue
            n_decay = len(items)
            if not full_decay:
                n_decay >>= 2
            for _ in range(n_decay):
                va = items.popleft()
                self.merge_or_add_vmap_area(va, decay_root, decay_head, False)
        self.reclaim_list_global(list(decay_head))

    def reclaim_list_global(self, vas: list[VmapArea]) -> None:
        for va in vas:
            self.merge_or_add_vmap_area_augment(va)

    # ------------------------------------------------------------------ alloc / free
    # alloc_vmap_area(): a pool hit of this CPU's node first (plain vmalloc range only),
    # else the lowest match in the free tree.  On failure: purge every lazy area (full
    # pool decay) and retry once, then warn and fail.  The new area goes into the busy
    # tree of the node its address belongs to.
    def alloc_vmap_area(self, size: int, align: int, vstart: int, vend: int, *, va_flags: int = 0,
                        vm: VmStruct | None = None, nowarn: bool = False) -> VmapArea | None:
        ps = self.page_size
        if isinstance(size, bool) or not isinstance(size, int) or size <= 0 or size & (ps - 1):
            raise UsageError(f"alloc_vmap_area: size {size!r} must be a positive multiple of PAGE_SIZE (-EINVAL)")
        if isinstance(align, bool) or not isinstance(align, int) or align <= 0 or align & (align - 1):
            raise UsageError(f"alloc_vmap_area: align {align!r} must be a power of two (-EINVAL)")
        va, addr, vn_id = self.node_alloc(size, align, vstart, vend)
        if va is None:
            va = self._new_va()
            if va is None:
                return None  # -ENOMEM
        purged = False
        while True:
            if addr is None:
                self.preload_this_cpu()
                addr = self._alloc_range(size, align, vstart, vend)
            if addr is not None:
                break
            if not purged:
                self.reclaim_and_purge_vmap_areas()
                purged = True
                continue
            # blocking_notifier_call_chain(&vmap_notify_list): no notifiers registered
            if not nowarn and self._pr_warn is not None:
                if self.range_fail_msg:
                    self._pr_warn(
                        f"vmalloc_node_range for size {size} failed: Address range restricted to "
                        f"{vstart:#x} - {vend:#x}"
                    )
                else:
                    self._pr_warn(f"vmap allocation for size {size} failed: use vmalloc=<size> to increase size")
            self._free_va(va)
            return None
        va.va_start = addr
        va.va_end = addr + size
        va.vm = vm
        va.flags = va_flags | vn_id
        self.insert_vmap_area(va, self.nodes[self.addr_to_node_id(addr)].busy)
        if addr & (align - 1) or addr < vstart or va.va_end > vend:
            raise VmapTreeCorrupt(f"alloc_vmap_area: {va!r} breaks align {align:#x} or [{vstart:#x}, {vend:#x})")
        return va

    def preload_this_cpu(self) -> None:
        """preload_this_cpu_lock(): make sure this CPU has a spare vmap_area for NE splits."""
        cpu = self._cpu()
        if self.ne_fit_preload_node[cpu] is None:
            self.ne_fit_preload_node[cpu] = self._new_va()

    def find_vmap_area(self, addr: int) -> VmapArea | None:
        """find_vmap_area(): the busy area containing ``addr`` (any node)."""
        nr = self.nr_vmap_nodes
        i = j = self.addr_to_node_id(addr)
        while True:
            n = self.nodes[i].busy.root.rb_node
            while n is not None:
                if addr < n.va_start:
                    n = n.rb_left
                elif addr >= n.va_end:
                    n = n.rb_right
                else:
                    return n
            i = (i + nr - 1) % nr
            if i == j:
                return None

    def find_unlink_vmap_area(self, addr: int) -> VmapArea | None:
        """find_unlink_vmap_area(): find the busy area containing ``addr`` and unlink it."""
        nr = self.nr_vmap_nodes
        i = j = self.addr_to_node_id(addr)
        while True:
            vn = self.nodes[i]
            n = vn.busy.root.rb_node
            while n is not None:
                if addr < n.va_start:
                    n = n.rb_left
                elif addr >= n.va_end:
                    n = n.rb_right
                else:
                    self._unlink_va(n, vn.busy.root, False)
                    return n
            i = (i + nr - 1) % nr
            if i == j:
                return None

    def free_vmap_area(self, va: VmapArea) -> None:
        """free_vmap_area(): busy -> free tree at once (no lazy stage)."""
        vn = self.nodes[self.addr_to_node_id(va.va_start)]
        self._unlink_va(va, vn.busy.root, False)
        va.vm = None
        self.merge_or_add_vmap_area_augment(va)

    def free_vmap_area_noflush(self, va: VmapArea) -> None:
        """free_vmap_area_noflush(): the (already unlinked and unmapped) area goes to the
        lazy tree of its node; past lazy_max_pages() the drain work is scheduled."""
        if va.next is not va:
            self._warn_once("free_vmap_area_noflush", "free_vmap_area_noflush+0x0/0x0", "")
            return
        nr_lazy_max = self.lazy_max_pages()
        self.vmap_lazy_nr += (va.va_end - va.va_start) >> self.page_shift
        nr_lazy = self.vmap_lazy_nr
        vn_id = self.decode_vn_id(va.flags)
        vn = self.nodes[vn_id % self.nr_vmap_nodes] if vn_id < self.nr_vmap_nodes else \
            self.nodes[self.addr_to_node_id(va.va_start)]
        va.vm = None
        self.insert_vmap_area(va, vn.lazy)
        if nr_lazy > nr_lazy_max:
            self.schedule_work(self.drain_vmap_area_work)

    # ------------------------------------------------------------------ purge
    def drain_vmap_area_work(self) -> None:
        self.purge_vmap_area_lazy(self.ulong_max, 0, False)

    def reclaim_and_purge_vmap_areas(self) -> None:
        """reclaim_and_purge_vmap_areas(): (no vmap blocks) + a purge with full pool decay."""
        self.purge_vmap_area_lazy(self.ulong_max, 0, True)

    # __purge_vmap_area_lazy(): every node first gives back part of its pools (all of
    # them with full_pool_decay), then its lazy list becomes its purge list; one TLB
    # flush covers the union of all purged ranges; each purged area goes to its node's
    # pool (if it was tagged with a node and fits a pool) or back to the free tree.
    def purge_vmap_area_lazy(self, start: int, end: int, full_pool_decay: bool) -> bool:
        nr_purged_areas = 0
        purge_nodes = []
        for vn in self.nodes:
            vn.purge_list = []
            vn.skip_populate = full_pool_decay
            self.decay_va_pool_node(vn, full_pool_decay)
            if vn.lazy.root.rb_node is None:
                continue
            vn.purge_list = list(vn.lazy.head)
            vn.lazy = RBList()
            start = min(start, vn.purge_list[0].va_start)
            end = max(end, vn.purge_list[-1].va_end)
            purge_nodes.append(vn)
        if purge_nodes:
            self.tlb_flushes += 1
            if self._flush is not None:
                self._flush(start, end)
            for vn in purge_nodes:
                self.purge_vmap_node(vn)
                nr_purged_areas += vn.nr_purged
        self.nr_purges += 1
        return nr_purged_areas > 0

    def purge_vmap_node(self, vn: VmapNode) -> None:
        vn.nr_purged = 0
        nr_purged_pages = 0
        local: list[VmapArea] = []
        for va in vn.purge_list:
            va.prev = va.next = va  # list_del_init
            nr_purged_pages += (va.va_end - va.va_start) >> self.page_shift
            vn.nr_purged += 1
            vn_id = self.decode_vn_id(va.flags)
            if vn_id < self.nr_vmap_nodes and not vn.skip_populate:
                if self.node_pool_add_va(vn, va):
                    continue
            local.append(va)
        vn.purge_list = []
        self.vmap_lazy_nr -= nr_purged_pages
        if self.vmap_nodes:
            local.reverse()  # list_add(&va->list, &local_list) pushes at the head
        # (before 6.9 __purge_vmap_area_lazy() merged the purge list in its address order)
        self.reclaim_list_global(local)

    # ------------------------------------------------------------------ views
    def busy_areas(self) -> Iterator[VmapArea]:
        """Busy areas as vmalloc_info_show walks them: node by node, address order."""
        for vn in self.nodes:
            yield from vn.busy.head

    def lazy_areas(self) -> Iterator[VmapArea]:
        for vn in self.nodes:
            yield from vn.lazy.head

    def pooled_areas(self) -> Iterator[VmapArea]:
        for vn in self.nodes:
            for i in sorted(vn.pool):
                yield from vn.pool[i].items

    def free_areas(self) -> Iterator[VmapArea]:
        yield from self.free_head

    def largest_free(self, vstart: int, vend: int) -> int:
        """The largest free range inside [vstart, vend) (for 2.6-style VmallocChunk)."""
        best = 0
        for va in self.free_head:
            s, e = max(va.va_start, vstart), min(va.va_end, vend)
            if e - s > best:
                best = e - s
        return best

    # ------------------------------------------------------------------ invariants
    def check(self) -> None:
        """Every invariant; raises :class:`VmapTreeCorrupt`.

        Red-black properties (root black, no red-red edge, equal black heights, parent
        pointers), address order without overlap, list order equal to tree order, the
        free tree's subtree_max_size equal to the recomputed maximum, busy areas in the
        node of their address and lazy ones in the node of their tag, pools by size,
        vmap_lazy_nr, and: free + busy + lazy + pooled ranges tile [1, ULONG_MAX).
        """
        spans: list[tuple[int, int, str]] = []
        self._check_tree(self.free_root, self.free_head, True, "free")
        spans += [(va.va_start, va.va_end, "free") for va in self.free_head]
        lazy_pages = 0
        for vn in self.nodes:
            self._check_tree(vn.busy.root, vn.busy.head, False, f"busy[{vn.id}]")
            self._check_tree(vn.lazy.root, vn.lazy.head, False, f"lazy[{vn.id}]")
            for va in vn.busy.head:
                if self.addr_to_node_id(va.va_start) != vn.id:
                    raise VmapTreeCorrupt(f"busy {va!r} is in node {vn.id}, its address belongs to "
                                          f"node {self.addr_to_node_id(va.va_start)}")
                spans.append((va.va_start, va.va_end, f"busy[{vn.id}]"))
            for va in vn.lazy.head:
                vid = self.decode_vn_id(va.flags)
                want = vid if vid < self.nr_vmap_nodes else self.addr_to_node_id(va.va_start)
                if want != vn.id:
                    raise VmapTreeCorrupt(f"lazy {va!r} is in node {vn.id}, expected node {want}")
                lazy_pages += (va.va_end - va.va_start) >> self.page_shift
                spans.append((va.va_start, va.va_end, f"lazy[{vn.id}]"))
            for idx, pool in vn.pool.items():
                for va in pool.items:
                    if (va.va_end - va.va_start - 1) >> self.page_shift != idx:
                        raise VmapTreeCorrupt(f"{va!r} is in pool {idx} of node {vn.id}")
                    spans.append((va.va_start, va.va_end, f"pool[{vn.id}]"))
        if lazy_pages != self.vmap_lazy_nr:
            raise VmapTreeCorrupt(f"vmap_lazy_nr is {self.vmap_lazy_nr} but the lazy trees hold {lazy_pages} pages")
        spans.sort()
        pos = 1
        for s, e, what in spans:
            if e <= s:
                raise VmapTreeCorrupt(f"empty or inverted {what} range {s:#x}-{e:#x}")
            if s < pos:
                raise VmapTreeCorrupt(f"{what} range {s:#x}-{e:#x} overlaps the range before it (ending {pos:#x})")
            if s > pos:
                raise VmapTreeCorrupt(f"{pos:#x}-{s:#x} is neither free, busy, lazy nor pooled")
            pos = e
        if pos != self.ulong_max:
            raise VmapTreeCorrupt(f"{pos:#x}-{self.ulong_max:#x} is neither free, busy, lazy nor pooled")
        n_objs = len(spans) + sum(1 for v in self.ne_fit_preload_node if v is not None)
        if n_objs != self.objects:
            raise VmapTreeCorrupt(f"{self.objects} vmap_area objects allocated, {n_objs} in use")

    def _check_tree(self, root: RBRoot, head: _ListHead, aug: bool, name: str) -> None:
        r = root.rb_node
        if r is not None:
            if r.rb_parent is not None:
                raise VmapTreeCorrupt(f"{name}: root has a parent")
            if r.rb_red:
                raise VmapTreeCorrupt(f"{name}: root is red")
        # iterative post-order: black heights and maxima
        black: dict[int, int] = {}
        stack: list[tuple[VmapArea, bool]] = [(r, False)] if r is not None else []
        while stack:
            n, done = stack.pop()
            if not done:
                stack.append((n, True))
                for c in (n.rb_left, n.rb_right):
                    if c is not None:
                        if c.rb_parent is not n:
                            raise VmapTreeCorrupt(f"{name}: {c!r} does not point back at its parent {n!r}")
                        if n.rb_red and c.rb_red:
                            raise VmapTreeCorrupt(f"{name}: red {n!r} has a red child {c!r}")
                        stack.append((c, False))
                continue
            hl = black[id(n.rb_left)] if n.rb_left is not None else 1
            hr = black[id(n.rb_right)] if n.rb_right is not None else 1
            if hl != hr:
                raise VmapTreeCorrupt(f"{name}: black heights {hl} and {hr} differ under {n!r}")
            black[id(n)] = hl + (0 if n.rb_red else 1)
            if aug:
                m = n.va_end - n.va_start
                for c in (n.rb_left, n.rb_right):
                    if c is not None and c.subtree_max_size > m:
                        m = c.subtree_max_size
                if m != n.subtree_max_size:
                    raise VmapTreeCorrupt(f"{name}: {n!r} has subtree_max_size {n.subtree_max_size}, expected {m}")
        order = list(inorder(root))
        listed = list(head)
        if len(order) != len(listed) or any(a is not b for a, b in zip(order, listed, strict=True)):
            raise VmapTreeCorrupt(f"{name}: the list ({len(listed)} areas) is not the tree in order ({len(order)})")
        for a, b in zip(order, order[1:], strict=False):
            if b.va_start < a.va_end:
                raise VmapTreeCorrupt(f"{name}: {a!r} and {b!r} overlap or are out of order")
        for e in listed:
            if e.next.prev is not e or e.prev.next is not e:
                raise VmapTreeCorrupt(f"{name}: list links of {e!r} are broken")


# =====================================================================================
# The 2.6.24 allocator: the sorted vmlist
# =====================================================================================

class _Span(Protocol):
    """What the vmlist needs of an entry: its start and its size (guard page included)."""

    addr: int
    size: int


_S = TypeVar("_S", bound=_Span)


class Vmlist(Generic[_S]):
    """``vmlist``: 2.6.24's address-sorted singly linked list of vm_structs.

    Each entry needs ``addr`` and ``size`` (size includes the guard page).  Search is
    __get_vm_area_node()'s first-fit walk, O(n) as in the kernel; there are no trees,
    no lazy freeing and no pools before 2.6.28.
    """

    def __init__(self, *, page_shift: int = 12, bits: int = 32):
        self.page_shift = page_shift
        self.mask = (1 << bits) - 1
        self.areas: list[_S] = []  # sorted by addr: the list order

    # __get_vm_area_node()'s walk (2.6.24), with its overflow checks in unsigned long:
    #
    #   for each area tmp, in address order:
    #       below addr: if it reaches addr, move addr past it (aligned); continue
    #       the hole [addr, tmp->addr) fits: found (insert before tmp)
    #       else addr = ALIGN(end of tmp); out if addr > end - size
    #   after the list: out if addr + size overflows or addr > end - size
    def find_slot(self, size: int, align: int, start: int, end: int) -> tuple[int, int] | None:
        """(list index, address) of the first fit, or None ("out")."""
        mask = self.mask
        addr = (start + align - 1) & -align & mask
        idx = 0
        for idx, tmp in enumerate(self.areas):
            if tmp.addr < addr:
                if tmp.addr + tmp.size >= addr:
                    addr = ((tmp.size + tmp.addr) + align - 1) & -align & mask
                continue
            if (size + addr) & mask < addr:
                return None
            if size + addr <= tmp.addr:
                return idx, addr
            addr = ((tmp.size + tmp.addr) + align - 1) & -align & mask
            if addr > (end - size) & mask:
                return None
        else:
            idx = len(self.areas)
        if (size + addr) & mask < addr:
            return None
        if addr > (end - size) & mask:
            return None
        return idx, addr

    def insert(self, idx: int, area: _S) -> None:
        self.areas.insert(idx, area)

    def find(self, addr: int) -> _S | None:
        """__find_vm_area(): the area starting exactly at ``addr``."""
        for tmp in self.areas:
            if tmp.addr == addr:
                return tmp
        return None

    def remove(self, addr: int) -> _S | None:
        """__remove_vm_area()'s unlink: the area starting exactly at ``addr``, or None."""
        for i, tmp in enumerate(self.areas):
            if tmp.addr == addr:
                del self.areas[i]
                return tmp
        return None

    def __iter__(self) -> Iterator[_S]:
        return iter(self.areas)

    def __len__(self) -> int:
        return len(self.areas)

    def get_vmalloc_info(self, vstart: int, vend: int) -> tuple[int, int]:
        """2.6.24 fs/proc/mmu.c get_vmalloc_info(): (used bytes incl. guard pages,
        largest free chunk) inside [VMALLOC_START, VMALLOC_END)."""
        if not self.areas:
            return 0, vend - vstart
        used = largest = 0
        prev_end = vstart
        for vma in self.areas:
            addr = vma.addr
            if addr < vstart:
                continue
            if addr >= vend:
                break
            used += vma.size
            largest = max(largest, addr - prev_end)
            prev_end = vma.size + addr
        largest = max(largest, vend - prev_end)
        return used, largest

    def check(self, vstart: int, vend: int) -> None:
        prev = None
        for a in self.areas:
            if a.size <= 0 or a.size & ((1 << self.page_shift) - 1):
                raise VmapTreeCorrupt(f"vmlist: area at {a.addr:#x} has size {a.size}")
            if prev is not None and a.addr < prev.addr + prev.size:
                raise VmapTreeCorrupt(f"vmlist: {prev.addr:#x}+{prev.size:#x} overlaps {a.addr:#x}")
            if not (vstart <= a.addr and a.addr + a.size <= vend):
                raise VmapTreeCorrupt(f"vmlist: area {a.addr:#x}+{a.size:#x} is outside [{vstart:#x}, {vend:#x})")
            prev = a
