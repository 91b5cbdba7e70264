"""A real host's slab caches as the model sees them: flags rebuilt from the captured
``/sys/kernel/slab`` attributes, plus the creation arguments sysfs does not show.

Shared by test_slub_geometry.py and test_kmem_trace_sizes.py.
"""
from __future__ import annotations

from kmemsim.mm import slub_geometry as g

#: sysfs boolean attribute -> the flag it prints (mm/slub.c *_show()).
SYSFS_FLAG_ATTRS = {
    "hwcache_align": g.SLAB_HWCACHE_ALIGN,
    "reclaim_account": g.SLAB_RECLAIM_ACCOUNT,
    "cache_dma": g.SLAB_CACHE_DMA,
    "red_zone": g.SLAB_RED_ZONE,
    "poison": g.SLAB_POISON,
    "store_user": g.SLAB_STORE_USER,
    "sanity_checks": g.SLAB_CONSISTENCY_CHECKS,
    "trace": g.SLAB_TRACE,
    "destroy_by_rcu": g.SLAB_TYPESAFE_BY_RCU,
}

#: Creation arguments the kernel passes that sysfs does not show (6.18 source).
#: Without them exactly these two caches differ (checked in test_slub_geometry.py).
CREATE_ARGS: dict[str, dict[str, int]] = {
    # mm/vma_init.c: SLAB_TYPESAFE_BY_RCU with .use_freeptr_offset, .freeptr_offset =
    # offsetof(struct vm_area_struct, vm_freeptr) = 0 (a union with vm_start), so the free
    # pointer stays inside the 192-byte object (outside it would make the stride 256);
    # .sheaf_capacity = 32.
    "vm_area_struct": {"freeptr_offset": 0, "sheaf_capacity": 32},
    # lib/maple_tree.c: .sheaf_capacity = 32 (only shows in sysfs sheaf_capacity).
    "maple_node": {"sheaf_capacity": 32},
}


def host_flags(name: str, attrs: dict[str, str]) -> int:
    """The flags of the cache directory ``name`` as far as its sysfs attributes tell them."""
    flags = 0
    for attr, flag in SYSFS_FLAG_ATTRS.items():
        if attrs[attr].strip() == "1":
            flags |= flag
    if name.startswith(("kmalloc-", "dma-kmalloc-")):
        flags |= g.SLAB_KMALLOC
    # No "account" attribute in 6.18 sysfs: SLAB_ACCOUNT shows only in the kmalloc-cg- names
    # and the ':'-ids of merged caches (create_unique_id's 'A').
    if name.startswith("kmalloc-cg-") or (name.startswith(":") and "A" in name.split("-")[0]):
        flags |= g.SLAB_ACCOUNT
    return flags


def host_geometry(
    name: str, attrs: dict[str, str], nr_cpus: int, *, create_args: bool = True, blind_align: bool = False
) -> g.CacheGeometry:
    """calculate_geometry() of the cache directory ``name`` from its sysfs object_size,
    align (0 with ``blind_align``), flags and ctor, with CREATE_ARGS unless told not to."""
    return g.calculate_geometry(
        int(attrs["object_size"]),
        0 if blind_align else int(attrs["align"]),
        host_flags(name, attrs),
        nr_cpus=nr_cpus,
        has_ctor=bool(attrs["ctor"].strip()),
        **(CREATE_ARGS.get(name, {}) if create_args else {}),
    )
